-- moongate's PromQL against Prometheus's, expression by expression. A real
-- Prometheus (Debian's, spec/support/prometheus.lua: honor_labels, 1 s
-- scrapes) scrapes a real gateway (rule ticks every 1 s) while the spec
-- pushes a fixed sequence for about 40 s: counters rising 1, 2, 3 per
-- second, a gauge rising 0.5 per second, constant gauges, an info metric
-- and a histogram whose buckets rise 1, 3, 4, 4 per second. Then the pushes
-- stop, both sides see the frozen values, and each expression is evaluated
-- by GET /api/v1/query on moongate, whose answer carries its evaluation
-- time t, and by Prometheus's /api/v1/query at that same t.
--
-- Instant values and windows over constant data must agree to 1e-9.
-- Windows over moving data sit in the pushing phase (offset 15s) and may
-- differ by the sampling: Prometheus samples at its scrapes, moongate at
-- its rule ticks, each seeing the last push (every 0.1 s) before it, so
-- rates get a relative tolerance (5%, 60% for the two-point irate and
-- idelta: each side reads the last two samples it took, which on a busy
-- machine may be one push apart on one side and two on the other).
local gw = require "support.gateway"
local prometheus = require "support.prometheus"
local cjson = require "cjson"
local socket = require "socket"

local EXACT, RATE, TWO_POINT = 1e-9, 0.05, 0.6

-- { expression, tolerance (relative) }
local CASES = {
  -- selectors, instant and with offset
  { 'pd_requests_total', EXACT },
  { 'pd_temp{job="api"}', EXACT },
  { 'pd_temp{instance=~"1|2", job!="web"}', EXACT },
  -- range functions over the pushing phase
  { 'rate(pd_requests_total[20s] offset 15s)', RATE },
  { 'sum by (job) (rate(pd_requests_total[20s] offset 15s))', RATE },
  { 'increase(pd_requests_total{job="web"}[20s] offset 15s)', RATE },
  { 'irate(pd_requests_total[20s] offset 15s)', TWO_POINT },
  { 'idelta(pd_queue[20s] offset 15s)', TWO_POINT },
  { 'delta(pd_queue[20s] offset 15s)', RATE },
  { 'deriv(pd_queue[20s] offset 15s)', RATE },
  { 'avg_over_time(pd_queue[20s] offset 15s)', 0.02 },
  { 'max_over_time(pd_queue[20s] offset 15s)', 0.02 },
  { 'min_over_time(pd_queue[20s] offset 15s)', 0.02 },
  { 'histogram_quantile(0.5, sum by (le) (rate(pd_latency_seconds_bucket[20s] offset 15s)))', RATE },
  -- range functions over constant data
  { 'avg_over_time(pd_temp[10s])', EXACT },
  { 'max_over_time(pd_temp[10s])', EXACT },
  { 'min_over_time(pd_temp[10s])', EXACT },
  { 'last_over_time(pd_temp[10s])', EXACT },
  { 'present_over_time(pd_temp[10s])', EXACT },
  { 'stddev_over_time(pd_temp[10s])', EXACT },
  { 'stdvar_over_time(pd_temp[10s])', EXACT },
  { 'quantile_over_time(0.9, pd_temp[10s])', EXACT },
  { 'sum_over_time(pd_temp[10s]) / count_over_time(pd_temp[10s])', EXACT },
  { 'count_over_time(pd_temp[10s]) > bool 3', EXACT },
  { 'absent_over_time(pd_nope{job="x"}[10s])', EXACT },
  { 'absent_over_time(pd_temp[10s])', EXACT },
  -- aggregations
  { 'sum(pd_requests_total)', EXACT },
  { 'sum by (job) (pd_requests_total)', EXACT },
  { 'avg by (job) (pd_temp)', EXACT },
  { 'min(pd_temp)', EXACT },
  { 'max(pd_temp) by (job)', EXACT },
  { 'count without (instance) (pd_temp)', EXACT },
  { 'group by (job) (pd_temp)', EXACT },
  { 'stddev(pd_temp)', EXACT },
  { 'stdvar by (job) (pd_temp)', EXACT },
  { 'topk(2, pd_temp)', EXACT },
  { 'bottomk by (job) (1, pd_temp)', EXACT },
  { 'quantile(0.5, pd_temp)', EXACT },
  { 'histogram_quantile(0.9, pd_latency_seconds_bucket)', EXACT },
  -- operators
  { '(pd_temp + 1) * 3 - 2 ^ 3 ^ 2 / 64', EXACT },
  { '-pd_temp % 7', EXACT },
  { 'pd_temp > 15', EXACT },
  { '30 > pd_temp', EXACT },
  { 'pd_temp > bool 15', EXACT },
  { 'pd_temp == bool 20', EXACT },
  { '1 < bool 2', EXACT },
  { 'pd_temp / on(job) group_left sum by (job) (pd_temp)', EXACT },
  { 'pd_temp * on(job) group_left(team) pd_info', EXACT },
  { 'pd_info * on(job) group_right(team) pd_temp', EXACT },
  { 'pd_temp - ignoring(instance) group_left avg by (job) (pd_temp)', EXACT },
  { 'pd_temp and on(job) pd_info{team="core"}', EXACT },
  { 'pd_temp or pd_info', EXACT },
  { 'pd_temp unless on(job) pd_info{team="edge"}', EXACT },
  -- functions
  { 'abs(-pd_temp)', EXACT },
  { 'ceil(pd_temp / 3) + floor(pd_temp / 3)', EXACT },
  { 'round(pd_temp / 3, 0.5)', EXACT },
  { 'sqrt(pd_temp) * exp(pd_temp / 10) + ln(pd_temp)', EXACT },
  { 'clamp(pd_temp, 12, 30)', EXACT },
  { 'clamp_min(pd_temp, 15) + clamp_max(pd_temp, 15)', EXACT },
  { 'label_replace(pd_temp, "svc", "s-$1", "job", "(a.*)")', EXACT },
  { 'vector(1) + scalar(sum(pd_temp))', EXACT },
  { 'absent(pd_nope{job="x"})', EXACT },
  { 'absent(pd_temp)', EXACT },
  { 'time()', EXACT },
}

-- many-to-many matching fails on both sides, with Prometheus's words
local FAILING = {
  { 'pd_temp / on() pd_temp',
    'found duplicate series for the match group {} on the right hand-side of the operation' },
  { 'sum by (job) (pd_temp) / on(job) pd_temp',
    'found duplicate series for the match group {job="api"} on the right hand-side' },
}

local function key(metric)
  local names = {}
  for k in pairs(metric) do names[#names + 1] = k end
  table.sort(names)
  local parts = {}
  for _, k in ipairs(names) do parts[#parts + 1] = k .. "=" .. metric[k] end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function num(s)
  if s == "NaN" then return 0 / 0 end
  if s == "+Inf" then return math.huge end
  if s == "-Inf" then return -math.huge end
  return tonumber(s)
end

-- {key = value} from a data object of either side.
local function samples(data)
  local out = {}
  if data.resultType == "scalar" then
    out["scalar"] = num(data.result[2])
    return out
  end
  for _, r in ipairs(data.result) do out[key(r.metric)] = num(r.value[2]) end
  return out
end

local function close(a, b, tol)
  if a ~= a or b ~= b then return a ~= a and b ~= b end
  if a == b then return true end
  return math.abs(a - b) <= tol * math.max(math.abs(a), math.abs(b), 1e-9)
end

local function get(url)
  local code, body = gw.http_request("GET", url)
  local ok, doc = pcall(cjson.decode, body or "")
  return code, ok and doc or nil, body
end

describe("PromQL on moongate against Prometheus", function()
  local g, prom, dir

  setup(function()
    dir = gw.tmpdir()
    gw.write_file(dir .. "/config.lua", "return { rule_interval = 1 }\n")
    os.execute("mkdir -p " .. gw.quote(dir .. "/rules"))
    -- recording rules keep every range's history registered from the start
    local rules = {}
    for i, c in ipairs(CASES) do
      if c[1]:find("[", 1, true) then
        rules[#rules + 1] = ("record \"pd:e%d\" { promql = %q }"):format(i, c[1])
      end
    end
    gw.write_file(dir .. "/rules/diff.lua", table.concat(rules, "\n") .. "\n")
    g = gw.start { "--config", dir .. "/config.lua", "--rules", dir .. "/rules" }
    prom = prometheus.start(g.http, "moongate")
    prom.await_value('up{job="moongate"}', function(v) return v == 1 end, 20)
  end)

  teardown(function()
    if prom then prom.stop() end
    if g then g:stop() end
    if dir then os.execute("rm -rf " .. gw.quote(dir)) end
  end)

  local function push_at(t)
    local inst = { { "api", "1", 1, 10 }, { "api", "2", 2, 20 }, { "web", "1", 3, 35 } }
    local m = {}
    for _, s in ipairs(inst) do
      local labels = { job = s[1], instance = s[2] }
      m[#m + 1] = { name = "pd_requests_total", type = "counter", value = s[3] * t, labels = labels }
      m[#m + 1] = { name = "pd_temp", type = "gauge", value = s[4], labels = labels }
    end
    m[#m + 1] = { name = "pd_queue", type = "gauge", value = 100 + 0.5 * t,
                  labels = { job = "api", instance = "1" } }
    m[#m + 1] = { name = "pd_info", type = "gauge", value = 1,
                  labels = { job = "api", instance = "1", team = "core" } }
    m[#m + 1] = { name = "pd_info", type = "gauge", value = 1,
                  labels = { job = "web", instance = "1", team = "edge" } }
    m[#m + 1] = { name = "pd_latency_seconds", type = "histogram",
                  labels = { job = "api", instance = "1" },
                  buckets = { [0.1] = 1 * t, [0.5] = 3 * t, [1] = 4 * t, ["+Inf"] = 4 * t },
                  sum = 2 * t, count = 4 * t }
    local code = g:push_http { metrics = m }
    assert.are.equal(200, code)
  end

  it("answers every expression as Prometheus does", function()
    -- about 42 s of pushes, every 0.1 s, on the wall clock
    local t0 = socket.gettime()
    local pushes = 0
    while socket.gettime() - t0 < 42 and pushes < 600 do
      push_at(socket.gettime() - t0)
      pushes = pushes + 1
      socket.sleep(0.1)
    end
    -- both sides hold the frozen values once Prometheus has scraped after
    -- the last push and moongate has ticked
    local frozen = prom.query('pd_requests_total{job="web"}')
    local want = g:value('pd_requests_total{instance="1",job="web"}')
    gw.wait_for(function()
      frozen = prom.query('pd_requests_total{job="web"}')
      return #frozen == 1 and tonumber(frozen[1].value[2]) == want
    end, 10, "Prometheus to scrape the last push")
    socket.sleep(1.5)

    local failures, compared = {}, 0
    for _, c in ipairs(CASES) do
      local expr, tol = c[1], c[2]
      local code, mine, body = get(g.url .. "/api/v1/query?query=" .. prometheus.urlencode(expr))
      if code ~= 200 or not mine then
        failures[#failures + 1] = expr .. ": moongate " .. tostring(code) .. " " .. tostring(body)
      else
        local t = mine.data.resultType == "scalar" and mine.data.result[1] or
                  (mine.data.result[1] and mine.data.result[1].value[1])
        t = t or (socket.gettime())
        local theirs, why = prom.api("/api/v1/query?time=" .. ("%.3f"):format(t) ..
                                     "&query=" .. prometheus.urlencode(expr))
        if not theirs then
          failures[#failures + 1] = expr .. ": prometheus: " .. tostring(why)
        else
          local a, b = samples(mine.data), samples(theirs)
          for k, v in pairs(b) do
            compared = compared + 1
            if a[k] == nil then
              failures[#failures + 1] = ("%s: moongate lacks %s (%s)"):format(expr, k, v)
            elseif not close(a[k], v, tol) then
              failures[#failures + 1] = ("%s: %s moongate %.17g, prometheus %.17g"):format(expr, k, a[k], v)
            end
          end
          for k, v in pairs(a) do
            if b[k] == nil then
              failures[#failures + 1] = ("%s: prometheus lacks %s (%s)"):format(expr, k, v)
            end
          end
        end
      end
    end
    for _, c in ipairs(FAILING) do
      local code, mine = get(g.url .. "/api/v1/query?query=" .. prometheus.urlencode(c[1]))
      local pcode, theirs = get(prom.url .. "/api/v1/query?query=" .. prometheus.urlencode(c[1]))
      if code ~= 422 or not mine or not tostring(mine.error):find(c[2], 1, true) then
        failures[#failures + 1] = c[1] .. ": moongate " .. tostring(code) .. " " .. cjson.encode(mine or {})
      end
      if pcode ~= 422 or not theirs or not tostring(theirs.error):find(c[2], 1, true) then
        failures[#failures + 1] = c[1] .. ": prometheus " .. tostring(pcode) .. " " .. cjson.encode(theirs or {})
      end
    end
    assert.are.same({}, failures)
    -- the comparisons were made: most cases answer several series
    assert.is_true(compared >= 120, "only " .. compared .. " samples compared")
  end)
end)
