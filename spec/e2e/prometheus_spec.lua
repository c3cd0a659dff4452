-- A real Prometheus server (Debian's /usr/bin/prometheus) scrapes a real
-- gateway: what producers pushed comes back through PromQL. Everything on
-- 127.0.0.1; spec/support/prometheus.lua starts Prometheus with a generated
-- config (one static target, honor_labels, 1 s interval), a temp TSDB and a
-- port picked free.
local gw = require "support.gateway"
local prometheus = require "support.prometheus"
local cjson = require "cjson"

local start_prometheus = prometheus.start

local function equals(want)
  return function(v) return v == want end
end

local function near(want, eps)
  return function(v) return v and math.abs(v - want) <= (eps or 1e-9) end
end

local PROM_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
  .. "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

local ESCAPED = 'quote " backslash \\ newline \n utf8 héllo ☃'

describe("Prometheus 2.42 scraping the gateway", function()
  local g, prom

  setup(function()
    g = gw.start({})
    local code, r = g:push_http { source = { job = "app", instance = "w1" }, metrics = {
      { name = "pm_requests_total", type = "counter", value = 42, help = "Requests served.",
        labels = { code = "200" } },
      { name = "pm_temperature_celsius", type = "gauge", value = 21.5, help = "Room temperature.",
        labels = { room = "lab" } },
      { name = "pm_latency_seconds", type = "histogram", help = "Request latency.",
        buckets = { [0.1] = 10, [0.25] = 30, [0.5] = 70, [1] = 90, ["+Inf"] = 100 },
        sum = 40, count = 100 },
      { name = "pm_rpc_duration_seconds", type = "summary", help = "RPC latency.",
        quantiles = { [0.5] = 0.2, [0.99] = 0.9 }, sum = 12.5, count = 30 },
      { name = "pm_escaped_info", type = "gauge", value = 1, help = "Escaping.",
        labels = { v = ESCAPED } },
    } }
    assert(code == 200 and r.accepted == 5, "push: " .. cjson.encode(r))
    prom = start_prometheus(g.http, "moongate")
  end)

  teardown(function()
    if prom then prom.stop() end
    if g then g:stop() end
  end)

  it("sees the target up", function()
    -- the scrape manager applies discovered targets every 5 s, so the first
    -- scrape comes 5-6 s after start
    prom.await_value('up{job="moongate"}', equals(1))
  end)

  it("/api/v1/targets reports the target healthy, with no lastError", function()
    local t = gw.wait_for(function()
      local data = prom.api("/api/v1/targets?state=active")
      local t = data and data.activeTargets and data.activeTargets[1]
      if t and t.health ~= "unknown" then return t end
    end, 15, "a first scrape of the target")
    assert.are.equal(1, #prom.api("/api/v1/targets?state=active").activeTargets)
    assert.are.equal("up", t.health, "lastError: " .. tostring(t.lastError))
    assert.are.equal("", t.lastError)
    assert.are.equal(g.url .. "/metrics", t.scrapeUrl)
    assert.are.equal("moongate", t.labels.job)
  end)

  it("answers Prometheus 2.42's own Accept header with OpenMetrics 1.0.0", function()
    -- The scrape manager's default header, as found in the binary
    -- (strings /usr/bin/prometheus | grep openmetrics-text).
    local body, h = g:scrape { accept = PROM_ACCEPT, ["accept-encoding"] = "identity" }
    assert.are.equal("application/openmetrics-text; version=1.0.0; charset=utf-8",
                     h["content-type"])
    assert.are.equal("# EOF\n", body:sub(-6))
  end)

  it("negotiates OpenMetrics: counter metadata is keyed by the family name without _total", function()
    -- Prometheus 2.42 sends Accept: application/openmetrics-text first; its
    -- OpenMetrics parser records a counter's metadata under the family name
    -- (pm_requests), the text parser under the sample name.
    local md = gw.wait_for(function()
      local data = prom.api("/api/v1/metadata?metric=pm_requests")
      return data and data.pm_requests
    end, 15, "metadata of pm_requests")
    assert.are.equal("counter", md[1].type)
    assert.are.equal("Requests served.", md[1].help)
    local total = prom.api("/api/v1/metadata?metric=pm_requests_total")
    assert.is_nil(total.pm_requests_total)
  end)

  it("a pushed counter comes back with the producer's job (honor_labels)", function()
    local r = prom.await_value('pm_requests_total{job="app",instance="w1",code="200"}', equals(42))
    assert.is_nil(r.metric.exported_job)
    assert.are.same({}, prom.query('pm_requests_total{exported_job!=""}'))
  end)

  it("a pushed gauge comes back", function()
    prom.await_value('pm_temperature_celsius{job="app",room="lab"}', equals(21.5))
  end)

  it("histogram_quantile over the pushed buckets", function()
    -- rank 50 falls in (0.25, 0.5] holding 30..70: 0.25 + 0.25 * 20/40
    prom.await_value('histogram_quantile(0.5, sum by (le) (pm_latency_seconds_bucket{job="app"}))',
                     near(0.375))
    -- rank 95 falls in (1, +Inf]: the highest finite bound
    prom.await_value('histogram_quantile(0.95, sum by (le) (pm_latency_seconds_bucket{job="app"}))',
                     near(1))
    prom.await_value('pm_latency_seconds_count{job="app"}', equals(100))
    prom.await_value('pm_latency_seconds_sum{job="app"}', equals(40))
    prom.await_value('count(pm_latency_seconds_bucket{job="app"})', equals(5))
  end)

  it("summary quantiles, sum and count come back", function()
    prom.await_value('pm_rpc_duration_seconds{job="app",quantile="0.99"}', near(0.9))
    prom.await_value('pm_rpc_duration_seconds{job="app",quantile="0.5"}', near(0.2))
    prom.await_value('pm_rpc_duration_seconds_sum{job="app"}', equals(12.5))
    prom.await_value('pm_rpc_duration_seconds_count{job="app"}', equals(30))
  end)

  it("a label value needing escapes survives the exposition byte for byte", function()
    local r = prom.await_value('pm_escaped_info{job="app"}', equals(1))
    assert.are.equal(ESCAPED, r.metric.v)
  end)

  it("a later push reaches Prometheus on a following scrape", function()
    prom.await_value('pm_requests_total{job="app",code="200"}', equals(42))
    local code = g:push_http { source = { job = "app", instance = "w1" }, metrics = {
      { name = "pm_requests_total", type = "counter", value = 50, labels = { code = "200" } },
      { name = "pm_temperature_celsius", type = "gauge", value = -3.25, labels = { room = "lab" } },
    } }
    assert.are.equal(200, code)
    prom.await_value('pm_requests_total{job="app",code="200"}', equals(50))
    prom.await_value('pm_temperature_celsius{job="app",room="lab"}', equals(-3.25))
    -- no reset seen: the increase over the window is 8 or more (extrapolated)
    prom.await_value('resets(pm_requests_total{job="app",code="200"}[1m])', equals(0))
  end)

  it("sees the gateway's own metrics under the scrape job", function()
    local r = prom.await_value('moongate_samples_received_total{job="moongate",transport="http"}',
                               function(v) return v and v >= 5 end)
    assert.are.equal(g.http, r.metric.instance)
    prom.await_value('moongate_series{job="moongate",kind="input"}', function(v) return v and v >= 5 end)
    prom.await_value('process_start_time_seconds{job="moongate"}', function(v) return v and v > 0 end)
  end)

  it("scrapes without duplicate, out-of-order or failed samples", function()
    prom.await_value('scrape_samples_scraped{job="moongate"}', function(v) return v and v > 0 end)
    local _, body = gw.http_request("GET", prom.url .. "/metrics")
    for _, name in ipairs {
      "prometheus_target_scrapes_sample_duplicate_timestamp_total",
      "prometheus_target_scrapes_sample_out_of_order_total",
      "prometheus_target_scrapes_sample_out_of_bounds_total",
      "prometheus_target_scrapes_exceeded_sample_limit_total",
    } do
      assert.are.equal(0, gw.value(body, name), name)
    end
    assert.are.same({}, prom.query('up{job="moongate"} == 0'))
  end)
end)
