-- examples/http_api_alerts: an HTTP API's alerting as moongate rules. Each
-- alert is driven through pending, firing and resolved by a simulated
-- service and its agents on the virtual clock, with its labels and
-- templated annotations checked at each state.
--
-- This drives the real rules engine (the C core, loaded as a Lua module):
-- no daemon, no sockets, no sleeping; hours pass in milliseconds. From the
-- repository root:
--   lua5.4 /usr/bin/busted --cpath=build/gateway/?.so examples/http_api_alerts/http_api_alerts_spec.lua
local moongate = require "moongate"
local lfs = require "lfs"

local DIR = "examples/http_api_alerts"

-- The daemon loads every *.lua file of its rules dir in name order; so
-- does the spec, with the config the daemon runs, so it tests exactly what
-- `moongate --config examples/http_api_alerts/moongate.conf.lua` runs.
local function rule_files()
  local files = {}
  for f in lfs.dir(DIR .. "/rules") do
    if f:match("^[^.].*%.lua$") then files[#files + 1] = DIR .. "/rules/" .. f end
  end
  table.sort(files)
  return files
end

local CONFIG = dofile(DIR .. "/moongate.conf.lua")
local STEP = CONFIG.rule_interval -- the service and the agents push once per evaluation

-- What the service does in one 15 s step: requests answered 200, 500 and
-- 429 (refused by the rate limiter), how many of them were slow (4 s; the
-- rest take 50 ms), commands running; and the agents that stay silent.
local HEALTHY = { ok = 990, err = 10, limited = 0, slow = 0, commands = 2, silent = {} }

local function with(changes)
  local t = {}
  for k, v in pairs(HEALTHY) do t[k] = v end
  for k, v in pairs(changes) do t[k] = v end
  return t
end

-- Prometheus's humanizePercentage and humanizeDuration (under a minute).
local function pct(v) return ("%.4g%%"):format(v * 100) end
local function secs(v) return ("%.4gs"):format(v) end

local World = {}
World.__index = World

-- A gateway with the example's rules and config, and the counters the
-- service has counted so far. `expect` names the one alert the test is
-- about: any other alert showing up fails the test.
local function world(expect)
  local w = setmetatable({ expect = expect, last_beat = {},
                           c = { ok = 0, err = 0, limited = 0, fast = 0, slow = 0 } }, World)
  w.gw = moongate.new { rules = rule_files(), config = CONFIG }
  return w
end

function World:push(msg)
  local _, rejected, errors = self.gw:push(msg)
  assert.are.equal(0, rejected, errors and errors[1] and errors[1].detail)
end

-- One step: the service pushes its counters (cumulative, as a Prometheus
-- client library keeps them) and gauges, each agent not silent pushes its
-- heartbeat, then the clock moves 15 s and the rules run.
function World:step(t)
  local c = self.c
  c.ok, c.err, c.limited = c.ok + t.ok, c.err + t.err, c.limited + t.limited
  c.slow = c.slow + t.slow
  c.fast = c.fast + t.ok + t.err + t.limited - t.slow
  local fast, all = c.fast, c.fast + c.slow
  self:push { source = { job = "api", instance = "api-1" }, ttl = 60, metrics = {
    { name = "http_requests_total", type = "counter", value = c.ok, labels = { code = "200" } },
    { name = "http_requests_total", type = "counter", value = c.err, labels = { code = "500" } },
    { name = "http_requests_total", type = "counter", value = c.limited, labels = { code = "429" } },
    { name = "http_ratelimited_total", type = "counter", value = c.limited },
    { name = "http_request_duration_seconds", type = "histogram",
      buckets = { [0.1] = fast, [0.25] = fast, [0.5] = fast, [1] = fast, [2.5] = fast,
                  [5] = all, ["+Inf"] = all },
      sum = fast * 0.05 + c.slow * 4, count = all },
    { name = "api_active_commands", type = "gauge", value = t.commands },
  } }
  for _, job in ipairs { "billing-agent", "export-agent" } do
    if not t.silent[job] then
      self:push { source = { job = job }, ttl = 60,
                  metrics = { { name = "agent_heartbeat", type = "gauge", value = 1 } } }
      self.last_beat[job] = self.gw:now()
    end
  end
  self.gw:advance(STEP)
  for _, a in ipairs(self.gw:alerts()) do
    assert.are.equal(self.expect, a.name, "an alert this test does not expect: " .. a.name)
  end
end

function World:run(seconds, t)
  for _ = 1, seconds // STEP do self:step(t) end
end

-- The alert of this test (nil when none); there is at most one.
function World:alert()
  local found
  for _, a in ipairs(self.gw:alerts()) do
    assert.is_nil(found, "two alerts named " .. a.name)
    found = a
  end
  return found
end

-- Steps until the alert is in `state`; the seconds it took. Fails after
-- `limit` seconds.
function World:until_state(state, t, limit)
  local took = 0
  while true do
    local a = self:alert()
    if a and a.state == state then return took, a end
    assert.truthy(took < limit, ("%s not %s after %ds"):format(self.expect, state, limit))
    self:step(t)
    took = took + STEP
  end
end

-- Asserts the alert goes pending -> firing exactly `for` later (not a step
-- earlier) and keeps its active_at; returns the firing alert.
function World:fires_after(for_s, t)
  local a = self:alert()
  assert.are.equal("pending", a.state)
  local active = a.active_at
  assert.are.equal(self.gw:now(), active) -- pending since the evaluation that saw it
  self:run(for_s - STEP, t)
  assert.are.equal("pending", self:alert().state)
  self:step(t)
  a = self:alert()
  assert.are.equal("firing", a.state)
  assert.are.equal(active, a.active_at)
  assert.are.equal(active + for_s, a.fired_at)
  return a
end

-- The value of one sample line of the exposition, or nil.
local function exposed(text, series)
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, #series + 1) == series .. " " then return tonumber(line:sub(#series + 2)) end
  end
end

describe("examples/http_api_alerts", function()
  it("every rule loads, and healthy traffic fires nothing for an hour", function()
    local w = world("none")
    w:run(3600, HEALTHY)
    assert.are.same({}, w.gw:alerts())
  end)

  it("HttpApiHighErrorRatio: over 5% of 5xx for 5 minutes is critical; at 1% it resolves", function()
    local name = "HttpApiHighErrorRatio"
    local w = world(name)
    local bad = with { ok = 900, err = 100 } -- 10% of requests fail
    w:run(600, HEALTHY) -- 1% of 5xx for 10 minutes: below 5%
    assert.is_nil(w:alert())

    local took, a = w:until_state("pending", bad, 300)
    assert.truthy(took > 0 and took < 300, took) -- the 5m window crosses 5% before it is all at 10%
    assert.are.same({ alertname = name, job = "api", severity = "critical" }, a.labels)
    assert.truthy(a.value > 0.05 and a.value < 0.1, a.value)
    assert.are.equal("api answers " .. pct(a.value) .. " of its requests with a 5xx", a.annotations.summary)

    a = w:fires_after(300, bad)
    -- by now the whole 5m window is at 10%
    assert.are.same({ alertname = name, job = "api", severity = "critical" }, a.labels)
    assert.are.same({
      summary = "api answers 10% of its requests with a 5xx",
      description = "Over 5% of the requests to api failed with a 5xx, "
        .. "measured over 5 minutes, for the last 5 minutes.",
    }, a.annotations)
    local text = w.gw:expose()
    assert.are.equal(1, exposed(text, 'ALERTS{alertname="HttpApiHighErrorRatio",alertstate="firing",job="api",severity="critical"}'))

    took, a = w:until_state("inactive", HEALTHY, 300)
    assert.truthy(took > 0, took) -- the window still holds the bad minutes at first
    assert.are.equal(w.gw:now(), a.resolved_at)
    assert.is_nil(exposed(w.gw:expose(), 'ALERTS{alertname="HttpApiHighErrorRatio",alertstate="firing",job="api",severity="critical"}'))
    -- a resolved alert is remembered 15 minutes (to tell Alertmanager), then goes
    w:run(900, HEALTHY)
    assert.is_nil(w:alert())
  end)

  it("HttpApiSlowRequests: p99 over 2s for 5 minutes is a warning; fast again it resolves", function()
    local name = "HttpApiSlowRequests"
    local w = world(name)
    local slow = with { slow = 30 } -- 3% of requests take 4 s
    w:run(600, HEALTHY)
    assert.is_nil(w:alert())

    local _, a = w:until_state("pending", slow, 300)
    assert.are.same({ alertname = name, job = "api", severity = "warning" }, a.labels)
    assert.truthy(a.value > 2, a.value)
    assert.are.equal("p99 latency of api is " .. secs(a.value), a.annotations.summary)

    a = w:fires_after(300, slow)
    -- all 5 minutes at 3% slow: rank 0.99 falls in (2.5, 5], 20 of its 30:
    -- 2.5 + 2.5 * 20/30 = 4.1667
    assert.truthy(math.abs(a.value - 4.1666667) < 1e-6, a.value)
    assert.are.same({
      summary = "p99 latency of api is 4.167s",
      description = "1% of the requests to api take longer than 4.167s (over 2s for 5 minutes).",
    }, a.annotations)

    local took
    took, a = w:until_state("inactive", HEALTHY, 300)
    assert.truthy(took > 0, took)
    assert.are.equal(w.gw:now(), a.resolved_at)
  end)

  it("HttpApiTooManyActiveCommands: over 4 for 5 minutes is a warning; a shorter burst never fires", function()
    local name = "HttpApiTooManyActiveCommands"
    local w = world(name)
    local busy = with { commands = 6 }
    w:run(300, HEALTHY)
    -- a 2-minute burst: pending, then gone without firing
    local took, a = w:until_state("pending", busy, 15)
    assert.are.equal(STEP, took) -- a gauge: the first evaluation that sees 6
    w:run(120 - STEP, busy)
    assert.are.equal("pending", w:alert().state)
    w:step(HEALTHY)
    assert.is_nil(w:alert())

    took, a = w:until_state("pending", busy, 15)
    assert.are.same({ alertname = name, instance = "api-1", job = "api", severity = "warning" }, a.labels)
    assert.are.equal(6, a.value)
    a = w:fires_after(300, busy)
    assert.are.same({ alertname = name, instance = "api-1", job = "api", severity = "warning" }, a.labels)
    assert.are.same({
      summary = "api-1 of api runs 6 commands at once",
      description = "More than 4 commands have been running at once on api-1 for 5 minutes.",
    }, a.annotations)

    took, a = w:until_state("inactive", HEALTHY, 15)
    assert.are.equal(STEP, took)
    assert.are.equal(a.fired_at + STEP, a.resolved_at)
  end)

  it("HttpApiRateLimited: over 10% refused for 10 minutes is a warning, and no 5xx alert", function()
    local name = "HttpApiRateLimited"
    local w = world(name)
    local limited = with { ok = 790, limited = 200 } -- 20% answered 429
    w:run(600, HEALTHY)
    assert.is_nil(w:alert())

    local _, a = w:until_state("pending", limited, 300)
    assert.are.same({ alertname = name, job = "api", severity = "warning" }, a.labels)
    assert.truthy(a.value > 0.1 and a.value < 0.2, a.value)
    assert.are.equal("api refuses " .. pct(a.value) .. " of its requests (rate limit)", a.annotations.summary)

    a = w:fires_after(600, limited)
    assert.are.same({
      summary = "api refuses 20% of its requests (rate limit)",
      description = "Clients of api hit its rate limit: raise the limit or find the client.",
    }, a.annotations)

    local took
    took, a = w:until_state("inactive", HEALTHY, 300)
    assert.truthy(took > 0, took)
    assert.are.equal(w.gw:now(), a.resolved_at)
  end)

  it("ProducerSilent: an agent whose heartbeat expired for 1 minute is critical; its next push resolves it", function()
    local name = "ProducerSilent"
    local w = world(name)
    local export_down = with { silent = { ["export-agent"] = true } }
    w:run(300, HEALTHY)
    assert.is_nil(w:alert())

    local _, a = w:until_state("pending", export_down, 120)
    -- its series expired 60 s (its ttl) after its last push
    assert.are.equal(w.last_beat["export-agent"] + 60, a.active_at)
    assert.are.same({ alertname = name, job = "export-agent", severity = "critical" }, a.labels)
    assert.are.equal(1, a.value)

    a = w:fires_after(60, export_down)
    assert.are.same({ alertname = name, job = "export-agent", severity = "critical" }, a.labels)
    assert.are.same({
      summary = "export-agent stopped pushing",
      description = "No agent_heartbeat from export-agent for over 2 minutes (60 s of ttl, then 1m of for).",
    }, a.annotations)

    local took
    took, a = w:until_state("inactive", HEALTHY, 15)
    assert.are.equal(STEP, took) -- the first evaluation after its next push
  end)

  it("ProducerSilent: after a restart, producers that push within a minute never fire", function()
    local w = world("ProducerSilent")
    -- a fresh gateway (a restart) whose agents push only on their next beat
    w:step(with { silent = { ["billing-agent"] = true, ["export-agent"] = true } })
    local pending = {}
    for _, a in ipairs(w.gw:alerts()) do
      assert.are.equal("pending", a.state)
      pending[a.labels.job] = true
    end
    assert.are.same({ ["billing-agent"] = true, ["export-agent"] = true }, pending)
    w:step(HEALTHY)
    assert.are.same({}, w.gw:alerts())
  end)
end)
