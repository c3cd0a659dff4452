-- Alerts from a real daemon to a real Alertmanager (Debian's
-- prometheus-alertmanager 0.25, docs/rules.md): a rule over a
-- pushed gauge fires, Alertmanager's own v2 API shows the alert with its
-- labels and templated annotations, and shows it gone once resolved;
-- moongate's /api/v1/alerts and /api/v1/rules answer in Prometheus's
-- shapes. With Alertmanager down, moongate queues, retries, and delivers
-- everything once it is up on the same port. Everything on 127.0.0.1;
-- spec/support/alertmanager.lua starts Alertmanager without gossip, with a
-- receiver that sends nowhere and a temp storage dir.
local gw = require "support.gateway"
local alertmanager = require "support.alertmanager"
local cjson = require "cjson"
local socket = require "socket"

local quote = gw.quote

-- Seconds since the epoch of an RFC 3339 UTC time ("...T10:14:02.582Z"),
-- as Alertmanager (strfmt.DateTime) and moongate write them.
local function epoch(s)
  local y, mo, d, h, mi, sec, frac =
    tostring(s):match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.?(%d*)Z$")
  assert(y, "not an RFC 3339 UTC time: " .. tostring(s))
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * ((mo + 9) % 12) + 2) // 5 + d - 1
  local days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
    + (frac ~= "" and tonumber("0." .. frac) or 0)
end

-- A daemon with `rules` ({[file] = source}) in a rules dir given by
-- --rules, and `config` (Lua source) as its --config; both dirs go with
-- g:stop().
local function start_moongate(rules, config)
  local dir = gw.tmpdir()
  assert(gw.sh("mkdir " .. quote(dir .. "/rules")) == 0)
  for file, src in pairs(rules) do gw.write_file(dir .. "/rules/" .. file, src) end
  gw.write_file(dir .. "/moongate.conf.lua", config)
  local g = gw.start({ "--config", dir .. "/moongate.conf.lua", "--rules", dir .. "/rules" })
  g.config_dir = dir
  return g
end

-- GET a moongate /api/v1 path: its data, after checking Prometheus's
-- envelope.
local function api(g, path)
  local code, body, h = gw.http_request("GET", g.url .. path)
  assert.are.equal(200, code)
  assert.truthy(tostring(h["content-type"]):match("^application/json"), h["content-type"])
  local doc = cjson.decode(body)
  assert.are.equal("success", doc.status)
  return doc.data
end

local function sent(g)
  return g:value("moongate_notifications_sent_total") or 0
end

local function dropped(g, reason)
  return g:value(('moongate_notifications_dropped_total{reason="%s"}'):format(reason)) or 0
end

-- How many times the daemon's log says `msg`.
local function logged(g, msg)
  local n = 0
  for _ in (gw.read_file(g.log) or ""):gmatch((msg:gsub("%p", "%%%0"))) do n = n + 1 end
  return n
end

local GAUGE_RULES = {
  ["10-gauge.lua"] = [[
alert "AmE2eGaugeHigh" {
  expr = function(q)
    local out = {}
    for _, s in ipairs(q.series("am_e2e_gauge")) do
      if s.value > 0 then out[#out + 1] = s end
    end
    return out
  end,
  ["for"] = "1s",
  labels = { severity = "page", team = "{{ $labels.room }}-ops" },
  annotations = {
    summary = "{{ $labels.instance }} reads {{ $value }}",
    description = "the gauge of {{ $labels.room }} is above 0",
  },
}
]],
  ["20-more.lua"] = [[
record "am_e2e:gauge:sum" {
  expr = function(q) return q.sum("am_e2e_gauge") end,
}
alert "AmE2eBroken" {
  expr = function(q) error("broken on purpose") end,
}
]],
}

local GAUGE_LABELS = {
  alertname = "AmE2eGaugeHigh", instance = "w1", job = "e2e", room = "lab",
  severity = "page", team = "lab-ops",
}
local GAUGE_ANNOTATIONS = {
  summary = "w1 reads 7", description = "the gauge of lab is above 0",
}

describe("moongate sending to a real Alertmanager", function()
  local am, g

  local function gauge(v)
    local code, r = g:push_http { source = { job = "e2e", instance = "w1" }, ttl = 0, metrics = {
      { name = "am_e2e_gauge", type = "gauge", value = v, labels = { room = "lab" } } } }
    assert(code == 200 and r.accepted == 1, "push: " .. cjson.encode(r))
  end

  setup(function()
    am = alertmanager.start()
    g = start_moongate(GAUGE_RULES, ([[
return { rule_interval = 1, alertmanagers = { %q } }
]]):format(am.url))
    gauge(7)
  end)

  teardown(function()
    if g then g:stop() end
    if am then am.stop() end
  end)

  it("a firing alert shows in Alertmanager's API with its labels and templated annotations", function()
    local a = gw.wait_for(function()
      return am.alerts("AmE2eGaugeHigh")[1]
    end, 15, "AmE2eGaugeHigh in Alertmanager's GET /api/v2/alerts")
    assert.are.equal(1, #am.alerts("AmE2eGaugeHigh"))
    assert.are.same(GAUGE_LABELS, a.labels)
    assert.are.same(GAUGE_ANNOTATIONS, a.annotations)
    assert.are.equal("active", a.status.state)
    assert.are.same({}, a.status.silencedBy)
    assert.are.same({}, a.status.inhibitedBy)
    assert.are.same({ { name = "blackhole" } }, a.receivers)
    -- endsAt is moongate's valid-until, 4 x max(resend delay 1m, interval)
    -- after it sent, as Prometheus sends: not Alertmanager's resolve_timeout
    local now = socket.gettime()
    assert.truthy(epoch(a.startsAt) <= now + 1, a.startsAt)
    assert.truthy(epoch(a.endsAt) > now + 180 and epoch(a.endsAt) <= now + 241, a.endsAt)
    assert.are.equal(0, am.invalid())
  end)

  it("/api/v1/alerts lists it firing, in Prometheus's shape", function()
    local alerts = gw.wait_for(function()
      local data = api(g, "/api/v1/alerts")
      if data.alerts[1] and data.alerts[1].state == "firing" then return data.alerts end
    end, 10, "a firing alert in /api/v1/alerts")
    assert.are.equal(1, #alerts)
    local a = alerts[1]
    assert.are.same(GAUGE_LABELS, a.labels)
    assert.are.same(GAUGE_ANNOTATIONS, a.annotations)
    assert.are.equal("string", type(a.value)) -- Prometheus sends the value as a string
    assert.are.equal(7, tonumber(a.value))
    assert.truthy(epoch(a.activeAt) <= socket.gettime() + 1, a.activeAt)
    assert.is_nil(a.keepFiringSince)
  end)

  it("/api/v1/rules: one group a file, each rule's health, lastError, evaluationTime and type", function()
    local data = gw.wait_for(function()
      local d = api(g, "/api/v1/rules")
      local r = d.groups[1] and d.groups[1].rules[1]
      if r and r.state == "firing" then return d end
    end, 10, "AmE2eGaugeHigh firing in /api/v1/rules")
    assert.are.equal(2, #data.groups)
    local g1, g2 = data.groups[1], data.groups[2]
    assert.truthy(g1.file:match("/rules/10%-gauge%.lua$"), g1.file)
    assert.truthy(g2.file:match("/rules/20%-more%.lua$"), g2.file)
    for _, grp in ipairs(data.groups) do
      assert.are.equal("string", type(grp.name))
      assert.are.equal("number", type(grp.evaluationTime))
      assert.truthy(epoch(grp.lastEvaluation) > socket.gettime() - 5, grp.lastEvaluation)
    end

    assert.are.equal(1, #g1.rules)
    local r = g1.rules[1]
    assert.are.equal("AmE2eGaugeHigh", r.name)
    assert.are.equal("alerting", r.type)
    assert.are.equal("ok", r.health)
    assert.is_nil(r.lastError) -- Prometheus leaves it out when empty
    assert.are.equal("number", type(r.evaluationTime))
    assert.truthy(r.evaluationTime >= 0 and r.evaluationTime < 1, r.evaluationTime)
    assert.are.equal("string", type(r.query))
    assert.are.equal(1, r.duration)
    assert.are.equal(0, r.keepFiringFor)
    assert.are.same({ severity = "page", team = "{{ $labels.room }}-ops" }, r.labels)
    assert.are.same({ summary = "{{ $labels.instance }} reads {{ $value }}",
                      description = "the gauge of {{ $labels.room }} is above 0" }, r.annotations)
    assert.are.equal(1, #r.alerts)
    assert.are.equal("firing", r.alerts[1].state)
    assert.are.same(GAUGE_LABELS, r.alerts[1].labels)

    assert.are.equal(2, #g2.rules)
    local rec, broken = g2.rules[1], g2.rules[2]
    assert.are.equal("am_e2e:gauge:sum", rec.name)
    assert.are.equal("recording", rec.type)
    assert.are.equal("ok", rec.health)
    assert.is_nil(rec.lastError)
    assert.are.equal("number", type(rec.evaluationTime))
    assert.are.equal("AmE2eBroken", broken.name)
    assert.are.equal("alerting", broken.type)
    assert.are.equal("err", broken.health)
    assert.truthy(tostring(broken.lastError):find("broken on purpose", 1, true), broken.lastError)
    assert.are.equal("inactive", broken.state)
    assert.are.same({}, broken.alerts)
    -- the recording rule wrote its series; the broken one is counted
    assert.are.equal(7, g:value("am_e2e:gauge:sum"))
    assert.truthy(g:value('moongate_rule_evaluation_failures_total{rule="AmE2eBroken"}') >= 1)
  end)

  it("/api/v1/rules: each group has its evaluation interval in seconds, as Prometheus's", function()
    -- Prometheus's RuleGroup is {name, file, rules, interval, limit,
    -- evaluationTime, lastEvaluation}
    for _, grp in ipairs(api(g, "/api/v1/rules").groups) do
      assert.are.equal(1, grp.interval, "interval of group " .. tostring(grp.name))
    end
  end)

  it("moongate_notifications_sent_total counts what Alertmanager received", function()
    gw.wait_for(function() return am.received("firing") >= 1 end, 10, "Alertmanager to count a firing alert")
    local n = sent(g)
    assert.truthy(n >= 1, "moongate_notifications_sent_total " .. n)
    assert.truthy(n <= am.received("firing") + am.received("resolved"))
    for _, reason in ipairs { "queue_full", "rejected", "shutdown" } do
      assert.are.equal(0, dropped(g, reason), reason)
    end
  end)

  it("once resolved, the alert leaves moongate's alerts and Alertmanager's", function()
    gauge(0)
    gw.wait_for(function() return #api(g, "/api/v1/alerts").alerts == 0 end, 10,
                "/api/v1/alerts to empty")
    -- Alertmanager lists no alert whose endsAt passed: the resolution,
    -- not its 4-minute endsAt, takes it out
    gw.wait_for(function() return #am.alerts("AmE2eGaugeHigh") == 0 end, 10,
                "AmE2eGaugeHigh to leave Alertmanager's GET /api/v2/alerts")
    assert.are.equal(1, am.received("resolved"))
    local r = api(g, "/api/v1/rules").groups[1].rules[1]
    assert.are.equal("inactive", r.state)
    assert.are.same({}, r.alerts)
    assert.are.equal(0, am.invalid())
  end)

  it("fires again as a new alert, and /api/v1/alerts gives its value with every digit", function()
    -- Prometheus writes it with strconv.FormatFloat(v, 'e', -1, 64):
    -- the shortest string that reads back as the same float
    local v = 0.1234567891
    gauge(v)
    local a = gw.wait_for(function()
      local x = api(g, "/api/v1/alerts").alerts[1]
      if x and x.state == "firing" then return x end
    end, 10, "the alert firing again in /api/v1/alerts")
    assert.are.equal("w1 reads 0.1234567891", a.annotations.summary)
    assert.are.equal(v, tonumber(a.value), "value " .. a.value)
    local r = api(g, "/api/v1/rules").groups[1].rules[1]
    assert.are.equal(v, tonumber(r.alerts[1].value), "value " .. r.alerts[1].value)
    local back = gw.wait_for(function()
      return am.alerts("AmE2eGaugeHigh")[1]
    end, 10, "the alert back in Alertmanager")
    assert.are.equal("w1 reads 0.1234567891", back.annotations.summary)
  end)
end)

local QUEUE_RULES = {
  ["10-queue.lua"] = [[
alert "AmE2eQueueBacklog" {
  expr = function(q)
    local out = {}
    for _, s in ipairs(q.series("am_e2e_queue_depth")) do
      if s.value > 0 then out[#out + 1] = s end
    end
    return out
  end,
  labels = { severity = "ticket" },
  annotations = { summary = "queue {{ $labels.queue }} holds {{ $value }}" },
}
]],
}

local NQUEUES = 20

describe("moongate with Alertmanager down", function()
  local port, am, g

  local function depths(v)
    local m = {}
    for i = 1, NQUEUES do
      m[i] = { name = "am_e2e_queue_depth", type = "gauge", value = v and v(i) or 0,
               labels = { queue = ("q%02d"):format(i) } }
    end
    local code, r = g:push_http { source = { job = "e2e" }, ttl = 0, metrics = m }
    assert(code == 200 and r.accepted == NQUEUES, "push: " .. cjson.encode(r))
  end

  -- Waits until Alertmanager lists every queue's alert, and checks each.
  local function assert_all_in(a)
    local got = gw.wait_for(function()
      local l = a.alerts("AmE2eQueueBacklog")
      if #l >= NQUEUES then return l end
    end, 20, NQUEUES .. " alerts in Alertmanager")
    assert.are.equal(NQUEUES, #got)
    local seen = {}
    for _, x in ipairs(got) do
      local i = tonumber(x.labels.queue:match("^q(%d%d)$"))
      assert.are.same({ alertname = "AmE2eQueueBacklog", job = "e2e", queue = x.labels.queue,
                        severity = "ticket" }, x.labels)
      assert.are.same({ summary = ("queue %s holds %d"):format(x.labels.queue, 10 + i) }, x.annotations)
      assert.are.equal("active", x.status.state)
      seen[i] = true
    end
    for i = 1, NQUEUES do assert.truthy(seen[i], "queue " .. i .. " missing") end
  end

  setup(function()
    -- a port nothing listens on yet; Alertmanager gets it later
    port = alertmanager.free_port()
    g = start_moongate(QUEUE_RULES, ([[
return {
  rule_interval = 1,
  alertmanagers = { "http://127.0.0.1:%d" },
  notifications = { queue_capacity = 32 },
}
]]):format(port))
  end)

  teardown(function()
    if g then g:stop() end
    if am then am.stop() end
  end)

  it("queues while Alertmanager is not up yet, and delivers every alert when it comes up", function()
    depths(function(i) return 10 + i end)
    gw.wait_for(function()
      local n = 0
      for _, a in ipairs(api(g, "/api/v1/alerts").alerts) do
        if a.state == "firing" then n = n + 1 end
      end
      return n == NQUEUES
    end, 10, NQUEUES .. " firing alerts in /api/v1/alerts")
    gw.wait_for(function() return logged(g, "sending alerts failed") >= 1 end, 10,
                "moongate to log a failed send")
    assert.are.equal(0, sent(g))

    am = alertmanager.start(port)
    assert_all_in(am)
    assert.are.equal(NQUEUES, am.received("firing"))
    assert.are.equal(0, am.invalid())
    gw.wait_for(function() return sent(g) == NQUEUES end, 5, "sent_total to reach " .. NQUEUES)
    assert.are.equal(0, dropped(g, "queue_full"))
    assert.are.equal(0, dropped(g, "rejected"))
    gw.wait_for(function() return logged(g, "alertmanager reachable again") >= 1 end, 5,
                "moongate to log the Alertmanager back")
  end)

  it("resolutions made while Alertmanager is stopped arrive when it is back on the same port", function()
    assert.is_truthy(am, "needs the previous test's Alertmanager")
    local failures = logged(g, "sending alerts failed")
    local dir = am.dir
    am.stop(true)
    am = nil
    depths(nil) -- every queue drains: every alert resolves
    gw.wait_for(function() return #api(g, "/api/v1/alerts").alerts == 0 end, 10,
                "/api/v1/alerts to empty")
    gw.wait_for(function() return logged(g, "sending alerts failed") > failures end, 10,
                "moongate to log a failed send to the stopped Alertmanager")
    assert.are.equal(NQUEUES, sent(g))

    am = alertmanager.start(port, { dir = dir })
    gw.wait_for(function() return am.received("resolved") >= NQUEUES end, 20,
                NQUEUES .. " resolved alerts received by the restarted Alertmanager")
    assert.are.equal(NQUEUES, am.received("resolved"))
    assert.are.equal(0, am.received("firing"))
    assert.are.same({}, am.alerts("AmE2eQueueBacklog"))
    gw.wait_for(function() return sent(g) == 2 * NQUEUES end, 5, "sent_total to reach " .. 2 * NQUEUES)
    assert.are.equal(0, dropped(g, "queue_full"))
    assert.are.equal(0, dropped(g, "rejected"))
  end)
end)
