-- The query object's functions through recording rules, on the virtual
-- clock: each answer checked against PromQL's.
local moongate = require "moongate"
local value = require("support.exposition").value

describe("query functions", function()
  local text

  setup(function()
    local gw = moongate.new { rules = { "spec/unit/fixtures/rules/queries.lua" },
                              config = { rule_interval = 15, default_ttl = 0 } }
    -- counters growing 1/s (job a) and 3/s (job b), sampled every 15 s;
    -- a gauge 10, 20, 30, 40; a histogram whose observations all fall in
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

  local function near(want, got, what)
    assert.is_number(got, what)
    assert.is_true(math.abs(want - got) < 1e-9, ("%s: want %s, got %s"):format(what, want, got))
  end

  it("rate and increase as PromQL: per second, extrapolated to the window", function()
    near(4, value(text, 'q:rate'), "rate")
    near(240, value(text, 'q:increase'), "increase")
    near(1, value(text, 'q:rate_by{job="a"}'), "rate by job a")
    near(3, value(text, 'q:rate_by{job="b"}'), "rate by job b")
  end)

  it("avg_over_time and max_over_time over the window's samples", function()
    -- the last four samples in (now - 1m, now]: 20, 30, 40, 10
    near(25, value(text, 'q:avg'), "avg_over_time")
    near(40, value(text, 'q:max'), "max_over_time")
  end)

  it("sum, sum by, value, series", function()
    near(120 + 360, value(text, 'q:sum'), "sum")
    near(360, value(text, 'q:sum_by{job="b"}'), "sum by")
    near(120, value(text, 'q:value'), "value")
    near(2, value(text, 'q:series'), "series count")
  end)

  it("ratio of numbers and of vectors matched by labels", function()
    near(0.25, value(text, 'q:ratio'), "ratio")
    near(1, value(text, 'q:ratio_vec{job="a"}'), "ratio vector a")
    near(1, value(text, 'q:ratio_vec{job="b"}'), "ratio vector b")
  end)

  it("histogram_quantile over the rate of the buckets", function()
    -- everything in (0.1, 1]: the median interpolates to 0.55
    near(0.55, value(text, 'q:p50'), "p50")
  end)

  it("nil without data writes nothing", function()
    assert.is_nil(text:find("q:none", 1, true))
  end)
end)
