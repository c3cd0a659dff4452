-- q.promql and the promql = "..." rule form through the module, on the
-- virtual clock: each answer checked against PromQL's, computed by hand.
local moongate = require "moongate"
local value = require("support.exposition").value

local function near(want, got, what)
  assert.is_number(got, what)
  assert.is_true(math.abs(want - got) < 1e-9, ("%s: want %s, got %s"):format(what, want, got))
end

describe("q.promql", function()
  local gw, text

  setup(function()
    gw = moongate.new { rules = { "spec/unit/fixtures/rules/promql/queries.lua" },
                        config = { rule_interval = 15, default_ttl = 0 } }
    -- counters growing 1/s (job a) and 3/s (job b) every 15 s; a gauge 10,
    -- 20, 30, 40 repeating; a histogram whose observations all fall in
    -- (0.1, 1], 4 a second
    for step = 0, 8 do
      local t = step * 15
      gw:push { metrics = {
        { name = "c_total", type = "counter", value = t, labels = { job = "a" } },
        { name = "c_total", type = "counter", value = 3 * t, labels = { job = "b" } },
        { name = "g", type = "gauge", value = 10 * (step % 4 + 1) },
        { name = "lat_seconds", type = "histogram", buckets = { [0.1] = 0, [1] = 4 * t },
          sum = 2 * t, count = 4 * t },
      } }
      gw:advance(15)
    end
    text = gw:expose()
  end)

  it("range functions: rate, increase, irate, deriv, *_over_time", function()
    near(1, value(text, 'pq:rate{job="a"}'), "rate")
    near(1, value(text, 'pq:sum_rate_by{job="a"}'), "sum by rate a")
    near(3, value(text, 'pq:sum_rate_by{job="b"}'), "sum by rate b")
    near(180, value(text, 'pq:increase{job="b"}'), "increase")
    near(4, value(text, 'pq:irate'), "irate summed")
    -- the last four gauge samples in (now - 1m, now]: 20, 30, 40, 10
    near(25, value(text, 'pq:avg_ot'), "avg_over_time")
    near(40, value(text, 'pq:max_ot'), "max_over_time")
    near(17.5, value(text, 'pq:q_ot'), "quantile_over_time 0.25")
    -- least squares over (0,20) (15,30) (30,40) (45,10): -150 / 1125
    near(-2 / 15, value(text, 'pq:deriv'), "deriv")
  end)

  it("an offset reads the history at now - offset", function()
    -- now is 135 s: the tick at 105 s sampled step 6's 30
    near(30, value(text, 'pq:offset'), "offset")
  end)

  it("histogram_quantile over summed bucket rates", function()
    near(0.55, value(text, 'pq:p50'), "p50")
  end)

  it("vector matching, arithmetic and comparison", function()
    near(0.25, value(text, 'pq:ratio{job="a"}'), "ratio a")
    near(0.75, value(text, 'pq:ratio{job="b"}'), "ratio b")
    near(0.75, value(text, 'pq:share{job="b"}'), "share b")
    near(25, value(text, 'pq:arith'), "arithmetic")
    near(360, value(text, 'pq:cmp{job="b"}'), "comparison keeps the value")
    assert.is_nil(value(text, 'pq:cmp{job="a"}'))
    near(0, value(text, 'pq:bool{job="a"}'), "bool false")
    near(1, value(text, 'pq:bool{job="b"}'), "bool true")
  end)

  it("aggregations and functions", function()
    near(360, value(text, 'pq:topk{job="b"}'), "topk")
    assert.is_nil(value(text, 'pq:topk{job="a"}'))
    near(1, value(text, 'pq:absent{job="x"}'), "absent")
    assert.is_nil(text:find("\npq:present", 1, true))
    near(10, value(text, 'pq:clamp'), "clamp_max")
    near(360, value(text, 'pq:replace{job="b",team="t-b"}'), "label_replace")
    near(2 * (120 + 360), value(text, 'pq:scalar'), "scalar")
  end)

  it("promql = \"...\" records and alerts: each element of the vector is an alert", function()
    near(4, value(text, 'pq:short'), "record shorthand")
    local alerts = gw:alerts()
    assert.are.equal(1, #alerts)
    assert.are.equal("PqHigh", alerts[1].name)
    assert.are.equal("firing", alerts[1].state)
    assert.are.equal("b", alerts[1].labels.job)
    assert.are.equal("page", alerts[1].labels.severity)
    near(3, alerts[1].value, "alert value")
  end)

  it("many-to-many matching fails the rule with Prometheus's message, the others run", function()
    assert.is_nil(text:find("\npq:many", 1, true))
    assert.is_true((value(text, 'moongate_rule_evaluation_failures_total{rule="pq:many"}') or 0) >= 1)
    near(4, value(text, 'pq:short'), "other rules still evaluate")
  end)
end)

describe("q.promql refusals at load", function()
  it("an unsupported function in a literal fails the rule file with file:line", function()
    local ok, err = pcall(moongate.new, { rules = { "spec/unit/fixtures/rules/promql/unsupported.lua" } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find(
      "unsupported.lua:3: promql: function `predict_linear` is not supported", 1, true), err)
  end)

  it("a bad promql = field fails the file with the parser's position", function()
    local ok, err = pcall(moongate.new, { rules = { "spec/unit/fixtures/rules/promql/bad_short.lua" } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("bad_short.lua:", 1, true), err)
    assert.truthy(tostring(err):find("promql: 1:11: parse error: unexpected end of input", 1, true), err)
  end)
end)
