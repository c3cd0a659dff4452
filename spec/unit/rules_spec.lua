-- Alert and recording rules through the module, on the virtual clock:
-- Prometheus's states, templating, ALERTS, recording series, failures.
local moongate = require "moongate"
local value = require("support.exposition").value

local fx = "spec/unit/fixtures/rules/"

local function gw_with(file, config)
  config = config or {}
  config.rule_interval = config.rule_interval or 15
  return moongate.new { rules = { fx .. file }, config = config }
end

local function alert(gw, name)
  for _, a in ipairs(gw:alerts()) do
    if a.name == name then return a end
  end
end

local function queue(gw, v)
  gw:push { ttl = 0, metrics = { { name = "queue_length", type = "gauge", value = v, labels = { queue = "jobs" } } } }
end

describe("alert rules", function()
  it("go inactive -> pending -> firing after for -> resolved", function()
    local gw = gw_with("threshold.lua")
    queue(gw, 5)
    gw:advance(15)
    assert.is_nil(alert(gw, "QueueTooLong"))
    queue(gw, 25)
    gw:advance(15)
    local a = alert(gw, "QueueTooLong")
    assert.are.equal("pending", a.state)
    assert.are.equal(25, a.value)
    local active = a.active_at
    gw:advance(45) -- 45 s pending: not yet 1m
    assert.are.equal("pending", alert(gw, "QueueTooLong").state)
    gw:advance(15)
    a = alert(gw, "QueueTooLong")
    assert.are.equal("firing", a.state)
    assert.are.equal(active, a.active_at)
    queue(gw, 3)
    gw:advance(15)
    assert.are.equal("inactive", alert(gw, "QueueTooLong").state)
  end)

  it("a pending alert that stops before for never fires", function()
    local gw = gw_with("threshold.lua")
    queue(gw, 25)
    gw:advance(15)
    assert.are.equal("pending", alert(gw, "QueueTooLong").state)
    queue(gw, 1)
    gw:advance(15)
    assert.is_nil(alert(gw, "QueueTooLong"))
  end)

  it("templates labels and annotations, with humanize", function()
    local gw = gw_with("threshold.lua")
    queue(gw, 12345)
    gw:advance(15)
    local a = alert(gw, "QueueTooLong")
    assert.are.same({ alertname = "QueueTooLong", severity = "critical", team = "ops" }, a.labels)
    assert.are.equal("queue is at 12345 (12.35k)", a.annotations.summary)
  end)

  it("the filters humanizePercentage and humanizeDuration", function()
    local gw = gw_with("filters.lua")
    gw:advance(15)
    local a = alert(gw, "Filters")
    assert.are.equal("5.23%", a.annotations.pct)
    assert.are.equal("1h 2m 5s", a.annotations.dur)
    -- $labels is the result's labels, as in Prometheus: no alertname there
    assert.are.equal(" 0.0523", a.annotations.big)
  end)

  it("one alert per label set a vector returns", function()
    local gw = gw_with("vector.lua")
    gw:push { ttl = 0, metrics = {
      { name = "up", type = "gauge", value = 0, labels = { job = "api", instance = "a" } },
      { name = "up", type = "gauge", value = 0, labels = { job = "api", instance = "b" } },
      { name = "up", type = "gauge", value = 1, labels = { job = "api", instance = "c" } },
    } }
    gw:advance(15)
    local firing = {}
    for _, a in ipairs(gw:alerts()) do
      assert.are.equal("firing", a.state) -- no for: firing at once
      firing[a.labels.instance] = a.annotations.summary
    end
    assert.are.same({ a = "a of api is down", b = "b of api is down" }, firing)
    local text = gw:expose()
    assert.are.equal(1, value(text, 'ALERTS{alertname="InstanceDown",alertstate="firing",instance="a",job="api",severity="page"}'))
    assert.truthy(value(text, 'ALERTS_FOR_STATE{alertname="InstanceDown",instance="b",job="api",severity="page"}') > 1.7e9)
    -- b comes back: its alert resolves and leaves ALERTS
    gw:push { ttl = 0, metrics = { { name = "up", type = "gauge", value = 1, labels = { job = "api", instance = "b" } } } }
    gw:advance(15)
    text = gw:expose()
    assert.is_nil(value(text, 'ALERTS{alertname="InstanceDown",alertstate="firing",instance="b",job="api",severity="page"}'))
    assert.are.equal(1, value(text, 'ALERTS{alertname="InstanceDown",alertstate="firing",instance="a",job="api",severity="page"}'))
  end)

  it("keep_firing_for holds a firing alert after its condition clears", function()
    local gw = gw_with("keep_firing.lua")
    gw:push { ttl = 0, metrics = { { name = "flag", type = "gauge", value = 1 } } }
    gw:advance(15)
    assert.are.equal("firing", alert(gw, "Flapping").state)
    gw:push { ttl = 0, metrics = { { name = "flag", type = "gauge", value = 0 } } }
    gw:advance(60)
    assert.are.equal("firing", alert(gw, "Flapping").state)
    gw:advance(90)
    assert.are.equal("inactive", alert(gw, "Flapping").state)
  end)

  it("a refused duration is an error at load", function()
    local ok, err = pcall(gw_with, "bad_duration.lua")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("bad_duration.lua:1: for: not a duration", 1, true), err)
  end)
end)

describe("recording rules", function()
  it("write output series that later rules and /metrics see", function()
    local gw = gw_with("record.lua")
    gw:push { ttl = 0, metrics = {
      { name = "requests_total", type = "counter", value = 70, labels = { job = "api", i = "1" } },
      { name = "requests_total", type = "counter", value = 50, labels = { job = "api", i = "2" } },
      { name = "requests_total", type = "counter", value = 5, labels = { job = "web", i = "1" } },
    } }
    gw:advance(15)
    local text = gw:expose()
    assert.are.equal(120, value(text, 'job:requests:sum{job="api",source="rules"}'))
    assert.are.equal(5, value(text, 'job:requests:sum{job="web",source="rules"}'))
    assert.are.equal("firing", alert(gw, "TooManyRequests").state)
  end)

  it("series a rule no longer writes leave", function()
    local gw = gw_with("record.lua")
    gw:push { ttl = 20, metrics = { { name = "requests_total", type = "counter", value = 1, labels = { job = "web" } } } }
    gw:advance(15)
    assert.are.equal(1, value(gw:expose(), 'job:requests:sum{job="web",source="rules"}'))
    gw:advance(30)
    assert.is_nil(value(gw:expose(), 'job:requests:sum{job="web",source="rules"}'))
  end)
end)

describe("recording rules' series identity", function()
  -- the exposed lines of `name`, as series -> value
  local function lines(text, name)
    local out = {}
    for series, v in text:gmatch("\n(" .. name .. "{[^\n]*}) (%S+)") do
      out[series] = tonumber(v)
    end
    return out
  end
  local PLAIN, QUOTED = 'pair{a="x",b="y"}', 'pair{a="x\\",b=\\"y"}'
  local LONG1 = 'long{a="' .. string.rep("v", 1100) .. '1"}'
  local LONG2 = 'long{a="' .. string.rep("v", 1100) .. '2"}'

  local function mode(gw, m)
    gw:push { ttl = 0, metrics = { { name = "mode", type = "gauge", value = m } } }
    gw:advance(15)
  end

  it("are two series when their renderings collide", function()
    local gw = gw_with("collide.lua")
    mode(gw, 0)
    local text = "\n" .. gw:expose()
    assert.are.same({ [PLAIN] = 1, [QUOTED] = 2 }, lines(text, "pair"))
    assert.are.same({ [LONG1] = 1, [LONG2] = 2 }, lines(text, "long"))
  end)

  for _, case in ipairs { { 1, PLAIN, QUOTED, LONG1, LONG2 }, { 2, QUOTED, PLAIN, LONG2, LONG1 } } do
    it("leave /metrics one by one when the rule stops writing them (mode " .. case[1] .. ")", function()
      local gw = gw_with("collide.lua")
      mode(gw, 0)
      mode(gw, case[1])
      local text = "\n" .. gw:expose()
      local pair, long = lines(text, "pair"), lines(text, "long")
      assert.is_not_nil(pair[case[2]])
      assert.is_nil(pair[case[3]])
      assert.is_not_nil(long[case[4]])
      assert.is_nil(long[case[5]])
    end)
  end
end)

describe("rule failures", function()
  it("fail alone, counted, with their error; the budget holds", function()
    local gw = gw_with("failing.lua")
    gw:advance(15)
    assert.are.equal("firing", alert(gw, "Fine").state)
    local text = gw:expose()
    assert.are.equal(1, value(text, 'moongate_rule_evaluation_failures_total{rule="Broken"}'))
    assert.are.equal(1, value(text, 'moongate_rule_evaluation_failures_total{rule="Spinning"}'))
    assert.truthy(value(text, "moongate_rule_evaluation_duration_seconds_count") >= 1)
  end)
end)
