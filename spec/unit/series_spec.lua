-- Series semantics through the Lua module, on the virtual clock: counter
-- resets, op=add, histograms, TTL expiry, exposition formats.
local moongate = require "moongate"
local value = require("support.exposition").value

describe("series", function()
  it("counters: a decrease is a reset, and the output never decreases", function()
    local gw = moongate.new()
    for _, v in ipairs { 10, 15, 3, 7 } do
      gw:push { metrics = { { name = "req_total", type = "counter", value = v } } }
    end
    -- 10, +5, reset to 3 (+3), +4
    assert.are.equal(22, value(gw:expose(), "req_total"))
  end)

  it("op=add increments counters and gauges; refuses a negative counter delta", function()
    local gw = moongate.new()
    for _ = 1, 3 do
      gw:push { metrics = {
        { name = "hits_total", type = "counter", op = "add", value = 2 },
        { name = "level", type = "gauge", op = "add", value = -1.5 },
      } }
    end
    local text = gw:expose()
    assert.are.equal(6, value(text, "hits_total"))
    assert.are.equal(-4.5, value(text, "level"))
    local _, rej, errs = gw:push { metrics = { { name = "hits_total", type = "counter", op = "add", value = -1 } } }
    assert.are.equal(1, rej)
    assert.are.equal("invalid_value", errs[1].reason)
  end)

  it("histograms: cumulative buckets, +Inf from count, resets per bucket", function()
    local gw = moongate.new()
    gw:push { metrics = { { name = "lat_seconds", type = "histogram",
      buckets = { [0.1] = 2, [1] = 5 }, sum = 3, count = 6 } } }
    gw:push { metrics = { { name = "lat_seconds", type = "histogram",
      buckets = { [0.1] = 3, [1] = 7, ["+Inf"] = 9 }, sum = 5, count = 9 } } }
    local text = gw:expose()
    assert.are.equal(3, value(text, 'lat_seconds_bucket{le="0.1"}'))
    assert.are.equal(7, value(text, 'lat_seconds_bucket{le="1"}'))
    assert.are.equal(9, value(text, 'lat_seconds_bucket{le="+Inf"}'))
    assert.are.equal(5, value(text, "lat_seconds_sum"))
    assert.are.equal(9, value(text, "lat_seconds_count"))
    -- a restart: counts go down, the output keeps growing
    gw:push { metrics = { { name = "lat_seconds", type = "histogram",
      buckets = { [0.1] = 1, [1] = 1 }, sum = 0.05, count = 1 } } }
    text = gw:expose()
    assert.are.equal(4, value(text, 'lat_seconds_bucket{le="0.1"}'))
    assert.are.equal(10, value(text, "lat_seconds_count"))
  end)

  it("summaries expose their quantiles", function()
    local gw = moongate.new()
    gw:push { metrics = { { name = "rpc_seconds", type = "summary",
      quantiles = { [0.5] = 0.2, [0.99] = 1.5 }, sum = 10, count = 40 } } }
    local text = gw:expose()
    assert.are.equal(0.2, value(text, 'rpc_seconds{quantile="0.5"}'))
    assert.are.equal(1.5, value(text, 'rpc_seconds{quantile="0.99"}'))
    assert.are.equal(40, value(text, "rpc_seconds_count"))
  end)

  it("TTL: a series leaves after its TTL without updates, on the virtual clock", function()
    local gw = moongate.new()
    gw:push { ttl = 30, metrics = { { name = "agent_up", type = "gauge", value = 1, labels = { ws = "a" } } } }
    gw:push { ttl = 0, metrics = { { name = "forever", type = "gauge", value = 1 } } }
    gw:advance(20)
    gw:push { ttl = 30, metrics = { { name = "agent_up", type = "gauge", value = 1, labels = { ws = "b" } } } }
    gw:advance(15)
    local text = gw:expose()
    assert.is_nil(value(text, 'agent_up{ws="a"}'))
    assert.are.equal(1, value(text, 'agent_up{ws="b"}'))
    gw:advance(3600)
    text = gw:expose()
    assert.is_nil(value(text, 'agent_up{ws="b"}'))
    assert.are.equal(1, value(text, "forever"))
    assert.are.equal(2, value(text, "moongate_series_expired_total"))
  end)

  it("TTL defaults to the configured default_ttl", function()
    local gw = moongate.new { config = { default_ttl = 5 } }
    gw:push { metrics = { { name = "m", value = 1 } } }
    gw:advance(4)
    assert.are.equal(1, value(gw:expose(), "m"))
    gw:advance(2)
    assert.is_nil(value(gw:expose(), "m"))
  end)

  it("a TTL past 2^32 ms is clamped to it, not wrapped into a short one", function()
    local gw = moongate.new { config = { default_ttl = 1e9 } }
    -- 4294968 s once wrapped to 968 ms
    gw:push { ttl = 4294968, metrics = { { name = "long", value = 1 } } }
    gw:push { metrics = { { name = "by_default", value = 1 } } }
    gw:advance(3600)
    local text = gw:expose()
    assert.are.equal(1, value(text, "long"))
    assert.are.equal(1, value(text, "by_default"))
    gw:advance(4294967 - 3600 + 1)
    assert.is_nil(value(gw:expose(), "long"))
    for _, bad in ipairs { -1, 0 / 0, math.huge, -math.huge } do
      local accepted, rejected, errors = gw:push { ttl = bad, metrics = { { name = "m", value = 1 } } }
      assert.are.equal(0, accepted)
      assert.are.equal("decode_error", errors[1].reason)
    end
  end)

  it("an expired series is never scraped, even between sweeps", function()
    local gw = moongate.new { config = { sweep_interval = 3600 } }
    gw:push { ttl = 1, metrics = { { name = "m", value = 1 } } }
    gw:advance(2)
    assert.is_nil(value(gw:expose(), "m"))
  end)

  it("counts pipeline runs once per new series, not per update", function()
    local gw = moongate.new()
    for i = 1, 100 do
      gw:push { metrics = { { name = "m", value = i }, { name = "n", value = i } } }
    end
    assert.are.equal(2, value(gw:expose(), "moongate_pipeline_runs_total"))
  end)
end)

describe("exposition", function()
  local gw
  before_each(function()
    gw = moongate.new()
    gw:push { metrics = {
      { name = "b_total", type = "counter", help = "Bs.\nSecond line \\ here", value = 1, labels = { v = 'q"uo\\te\nnl' } },
      { name = "a_gauge", type = "gauge", value = 0.1 },
      { name = "b_total", type = "counter", value = 2, labels = { v = "x" } },
      { name = "c_untyped", value = 1e21 },
    } }
  end)

  it("text 0.0.4: HELP and TYPE for every family, contiguous, escaped", function()
    local text = gw:expose("text")
    assert.truthy(text:find("# HELP b_total Bs.\\nSecond line \\\\ here\n# TYPE b_total counter\n", 1, true))
    assert.truthy(text:find('b_total{v="q\\"uo\\\\te\\nnl"} 1\n', 1, true))
    assert.truthy(text:find("# HELP a_gauge Pushed to moongate without HELP.\n# TYPE a_gauge gauge\na_gauge 0.1\n", 1, true))
    assert.truthy(text:find("# TYPE c_untyped untyped\nc_untyped 1e+21\n", 1, true))
    -- every family's samples directly follow its TYPE line
    local seen, last = {}, nil
    for line in text:gmatch("[^\n]+") do
      local fam = line:match("^# TYPE (%S+)")
      if fam then
        assert.is_nil(seen[fam], "family twice: " .. fam)
        seen[fam] = true
        last = fam
      elseif not line:match("^#") then
        local name = line:match("^([%w_:]+)")
        assert.truthy(name:sub(1, #last) == last, line .. " outside " .. last)
      end
    end
  end)

  it("OpenMetrics: counters named without _total, unknown type, # EOF", function()
    local text = gw:expose("openmetrics")
    assert.truthy(text:find("# TYPE b counter\n", 1, true))
    assert.truthy(text:find('b_total{v="x"} 2\n', 1, true))
    assert.truthy(text:find("# TYPE c_untyped unknown\n", 1, true))
    assert.are.equal("# EOF\n", text:sub(-6))
  end)

  it("formats values as Prometheus parses them", function()
    gw:push { metrics = {
      { name = "f", type = "gauge", value = 1 / 0, labels = { k = "inf" } },
      { name = "f", type = "gauge", value = -1 / 0, labels = { k = "ninf" } },
      { name = "f", type = "gauge", value = 0 / 0, labels = { k = "nan" } },
      { name = "f", type = "gauge", value = 0.1 + 0.2, labels = { k = "precise" } },
      { name = "f", type = "gauge", value = 123456789, labels = { k = "int" } },
    } }
    local text = gw:expose()
    assert.truthy(text:find('f{k="inf"} +Inf', 1, true))
    assert.truthy(text:find('f{k="ninf"} -Inf', 1, true))
    assert.truthy(text:find('f{k="nan"} NaN', 1, true))
    assert.truthy(text:find('f{k="precise"} 0.30000000000000004', 1, true))
    assert.truthy(text:find('f{k="int"} 123456789\n', 1, true))
  end)
end)
