-- examples/http_service: 10,000 random paths and 50 status codes become a
-- handful of series with exact totals; *_ms histograms and gauges become
-- *_seconds.
--
-- This drives the real pipeline (the C core, loaded as a Lua module) on a
-- virtual clock: no daemon, no sockets. From the repository root:
--   lua5.4 /usr/bin/busted --cpath=build/gateway/?.so examples/http_service/http_service_spec.lua
local moongate = require "moongate"
local lfs = require "lfs"

local SCRIPTS = "examples/http_service/scripts"

-- The daemon loads every *.lua file of --scripts in name order; so does the
-- spec, so it tests exactly what `moongate --scripts DIR` runs.
local function scripts(dir)
  local files = {}
  for f in lfs.dir(dir) do
    if f:match("^[^.].*%.lua$") then files[#files + 1] = dir .. "/" .. f end
  end
  table.sort(files)
  return files
end

-- The series of one family in a text exposition: { {labels, value}, ... }.
local function series(text, name)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    local n, ls, v = line:match("^([%w_:]+)(%b{}) (%S+)")
    if not n then
      n, v = line:match("^([%w_:]+) (%S+)")
      ls = ""
    end
    if n == name then
      local labels = {}
      for k, lv in ls:gmatch('([%w_]+)="([^"]*)"') do labels[k] = lv end
      out[#out + 1] = { labels = labels, value = tonumber(v) }
    end
  end
  return out
end

-- The value of the series with exactly these labels, or nil.
local function value(text, name, labels)
  labels = labels or {}
  for _, s in ipairs(series(text, name)) do
    local same = true
    for k, v in pairs(labels) do same = same and s.labels[k] == v end
    for k in pairs(s.labels) do same = same and labels[k] ~= nil end
    if same then return s.value end
  end
  return nil -- a value even when none: assert.are.equal then reports the mismatch
end

-- 50 distinct codes: the standard ones a service sends, and two that
-- broken proxies and clients do.
local CODES = {
  "100", "101", "102", "103",
  "200", "201", "202", "203", "204", "205", "206", "207", "208", "226",
  "300", "301", "302", "303", "304", "305", "307", "308",
  "400", "401", "402", "403", "404", "405", "406", "407", "408", "409",
  "410", "411", "412", "413", "414", "415", "416", "417", "421", "422", "429",
  "500", "501", "502", "503", "504",
  "0", "999",
}

local function class(code)
  local d = code:match("^([1-5])%d%d$")
  return d and d .. "xx" or "other"
end

local function hex(n)
  local t = {}
  for i = 1, n do t[i] = ("%x"):format(math.random(0, 15)) end
  return table.concat(t)
end

-- The i-th of 10,000 distinct paths, and the route it must end up under.
local function path(i)
  local k = i % 8
  if k == 0 then return "/api/users/" .. i, "/api/users/:id" end
  if k == 1 then return "/api/users/" .. hex(8) .. i .. "?expand=orders", "/api/users/:id" end
  if k == 2 then return "/api/orders/" .. i, "/api/orders/:id" end
  if k == 3 then return "/api/orders/" .. hex(12) .. "-" .. i, "/api/orders/:id" end
  if k == 4 then return "/api/users/" .. i .. "/avatar", "unknown" end -- not a known route
  if k == 5 then return "/wp-login.php?u=" .. hex(6) .. i, "unknown" end
  if k == 6 then return "/static/app." .. hex(10) .. i .. ".js", "unknown" end
  if i % 16 == 7 then return "/healthz/" .. i, "unknown" end -- only /healthz itself
  return "/HEALTHZ/" .. i, "unknown" -- routes are case-sensitive
end

local function gateway()
  return moongate.new { scripts = scripts(SCRIPTS) }
end

describe("examples/http_service", function()
  it("turns 10,000 random paths and 50 status codes into a few series with exact totals", function()
    math.randomseed(2024)
    local gw = gateway()
    local inputs, expected, seen_codes = {}, {}, {}
    for i = 1, 10000 do
      local p, route = path(i)
      local code = CODES[i % #CODES + 1]
      seen_codes[code] = true
      inputs[i] = { path = p, status = code, route = route, value = math.random(1, 1000) }
    end
    -- and the one health check path, answering 200 and sometimes 503
    inputs[#inputs + 1] = { path = "/healthz", status = "200", route = "/healthz", value = 5000 }
    inputs[#inputs + 1] = { path = "/healthz", status = "503", route = "/healthz", value = 7 }

    local function push_all()
      for first = 1, #inputs, 1000 do
        local metrics = {}
        for i = first, math.min(first + 999, #inputs) do
          local s = inputs[i]
          metrics[#metrics + 1] = { name = "http_requests_total", type = "counter", value = s.value,
            labels = { path = s.path, status = s.status } }
        end
        local accepted, rejected = gw:push {
          source = { job = "shop", instance = "web-1" }, metrics = metrics }
        assert.are.equal(#metrics, accepted)
        assert.are.equal(0, rejected)
      end
    end
    push_all()
    gw:advance(15)
    -- the next scrape of the service: a third of the series moved on
    for i = 1, #inputs, 3 do inputs[i].value = inputs[i].value + math.random(0, 100) end
    push_all()

    local distinct_paths = {}
    for _, s in ipairs(inputs) do
      distinct_paths[s.path] = true
      local key = s.route .. " " .. class(s.status)
      expected[key] = (expected[key] or 0) + s.value
    end
    local npaths, ncodes, nexpected = 0, 0, 0
    for _ in pairs(distinct_paths) do npaths = npaths + 1 end
    for _ in pairs(seen_codes) do ncodes = ncodes + 1 end
    for _ in pairs(expected) do nexpected = nexpected + 1 end
    assert.are.equal(10001, npaths)
    assert.are.equal(50, ncodes)
    -- 3 routes x 6 classes (1xx-5xx, other), and /healthz's 2xx and 5xx
    assert.are.equal(20, nexpected)

    local text = gw:expose()
    local out = series(text, "http_requests_total")
    assert.are.equal(20, #out)
    local routes = { ["/api/users/:id"] = true, ["/api/orders/:id"] = true,
                     ["/healthz"] = true, unknown = true }
    local classes = { ["1xx"] = true, ["2xx"] = true, ["3xx"] = true, ["4xx"] = true,
                      ["5xx"] = true, other = true }
    for _, s in ipairs(out) do
      assert.is_nil(s.labels.path)
      assert.is_true(routes[s.labels.route], s.labels.route)
      assert.is_true(classes[s.labels.status], s.labels.status)
    end
    for key, want in pairs(expected) do
      local route, status = key:match("^(%S+) (%S+)$")
      assert.are.equal(want, value(text, "http_requests_total",
        { job = "shop", instance = "web-1", route = route, status = status }), key)
    end
  end)

  it("exposes *_ms histograms and gauges as *_seconds, scaled on every update", function()
    local gw = gateway()
    local function duration(p, status, b, sum)
      return { name = "http_request_duration_ms", type = "histogram",
        labels = { path = p, status = status },
        buckets = { [5] = b[1], [25] = b[2], [100] = b[3], [250] = b[4], [1000] = b[5], ["+Inf"] = b[6] },
        sum = sum, count = b[6] }
    end
    local accepted = gw:push { source = { job = "shop" }, metrics = {
      duration("/api/users/1", "200", { 1, 3, 6, 8, 9, 10 }, 1250),
      duration("/api/users/2", "201", { 0, 2, 2, 4, 4, 4 }, 3500),
      duration("/api/users/3", "404", { 5, 5, 5, 5, 5, 5 }, 10),
      { name = "db_query_latency_ms", type = "gauge", value = 1500, labels = { query = "select_user" } },
    } }
    assert.are.equal(4, accepted)
    local text = gw:expose()
    local l = { job = "shop", route = "/api/users/:id", status = "2xx" }
    local function bucket(le)
      return value(text, "http_request_duration_seconds_bucket",
        { job = l.job, route = l.route, status = l.status, le = le })
    end
    -- bounds in seconds; counts added across the two 2xx inputs, unscaled
    assert.are.equal(1, bucket("0.005"))
    assert.are.equal(5, bucket("0.025"))
    assert.are.equal(8, bucket("0.1"))
    assert.are.equal(12, bucket("0.25"))
    assert.are.equal(13, bucket("1"))
    assert.are.equal(14, bucket("+Inf"))
    assert.are.equal(14, value(text, "http_request_duration_seconds_count", l))
    assert.are.equal(4.75, value(text, "http_request_duration_seconds_sum", l))
    assert.are.equal(0.01, value(text, "http_request_duration_seconds_sum",
      { job = "shop", route = "/api/users/:id", status = "4xx" }))
    assert.are.equal(1.5, value(text, "db_query_latency_seconds", { job = "shop", query = "select_user" }))
    assert.truthy(text:find("# TYPE http_request_duration_seconds histogram", 1, true))

    -- later updates take the native path and are scaled the same way
    gw:advance(15)
    gw:push { source = { job = "shop" }, metrics = {
      duration("/api/users/1", "200", { 1, 3, 6, 8, 9, 20 }, 21250),
      { name = "db_query_latency_ms", type = "gauge", value = 250, labels = { query = "select_user" } },
    } }
    text = gw:expose()
    assert.are.equal(24, value(text, "http_request_duration_seconds_count", l))
    assert.are.equal(24.75, value(text, "http_request_duration_seconds_sum", l))
    assert.are.equal(0.25, value(text, "db_query_latency_seconds", { job = "shop", query = "select_user" }))
    -- no millisecond family is left
    assert.is_nil(text:find("_ms", 1, true))
  end)
end)
