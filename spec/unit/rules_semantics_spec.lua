-- The alert rules' semantics checked against Prometheus's, and their
-- lifecycle, on the module's virtual clock: each case names the rule of
-- Prometheus's it follows.
local moongate = require "moongate"
local value = require("support.exposition").value

local scratch = require "support.scratch"
-- A rules file with this text; removed after the run.
local rules_file = scratch.file
teardown(scratch.cleanup)

local function gw_with(paths, config)
  config = config or {}
  config.rule_interval = config.rule_interval or 15
  return moongate.new { rules = paths, config = config }
end

local function alert(gw, name)
  for _, a in ipairs(gw:alerts()) do
    if a.name == name then return a end
  end
end

local function rule(gw, name)
  for _, g in ipairs(gw:rules()) do
    for _, r in ipairs(g.rules) do
      if r.name == name then return r, g end
    end
  end
end

local function high(gw, v)
  gw:push { ttl = 0, metrics = { { name = "load", type = "gauge", value = v, labels = { host = "a" } } } }
end

local function threshold(for_)
  return ([[
alert "High" {
  expr = function(q) local v = q.value("load") if v and v > 10 then return v end end,
  ["for"] = %q,
  labels = { severity = "page" },
}
]]):format(for_)
end

describe("a reload that raises for", function()
  it("sends a firing alert younger than the new for back to pending, to fire again after it", function()
    local gw = gw_with({ rules_file(threshold("15s")) })
    local t0 = gw:now()
    high(gw, 50)
    gw:evaluate_at(t0 + 15)
    gw:evaluate_at(t0 + 30)
    local a = alert(gw, "High")
    assert.are.equal("firing", a.state)
    assert.are.equal(1, #gw:notifications())
    assert.is_true(gw:load { rules = { rules_file(threshold("1h")) } })
    gw:evaluate_at(t0 + 45)
    a = alert(gw, "High")
    assert.are.equal("pending", a.state)
    assert.is_nil(a.fired_at)
    assert.are.equal(t0 + 15, a.active_at)
    assert.are.same({}, gw:notifications())
    assert.truthy(gw:expose():find('ALERTS{alertname="High",alertstate="pending",severity="page"} 1', 1, true))
    gw:evaluate_at(t0 + 15 + 3599)
    assert.are.equal("pending", alert(gw, "High").state)
    gw:evaluate_at(t0 + 15 + 3600)
    a = alert(gw, "High")
    assert.are.equal("firing", a.state)
    assert.are.equal(t0 + 15 + 3600, a.fired_at)
    local sent = gw:notifications()
    assert.are.equal(1, #sent)
    assert.are.equal(t0 + 15 + 3600, sent[1].starts_at)
  end)
end)

describe("duplicate label sets", function()
  local dup = rules_file([[
alert "Dup" {
  expr = function(q)
    return { { labels = { host = "a" }, value = 1 }, { labels = { host = "b" }, value = 2 } }
  end,
  labels = { host = "all" },
}
record "dup:sum" {
  expr = function(q)
    return { { labels = { host = "a" }, value = 1 }, { labels = { host = "b" }, value = 2 } }
  end,
  labels = { host = "all" },
}
record "fine" { expr = function(q) return 7 end }
]])

  it("fail the alert rule's evaluation: counted, lastError, no alert", function()
    local gw = gw_with({ dup })
    gw:advance(15)
    local r = rule(gw, "Dup")
    assert.are.equal("err", r.health)
    assert.are.equal("vector contains metrics with the same labelset after applying alert labels", r.last_error)
    assert.is_nil(alert(gw, "Dup"))
    assert.are.equal(1, value(gw:expose(), 'moongate_rule_evaluation_failures_total{rule="Dup"}'))
    assert.is_nil(gw:expose():find("ALERTS{", 1, true))
  end)

  it("include results that differ only in __name__, which alerts and records drop", function()
    local gw = gw_with({ rules_file([[
alert "ByName" {
  expr = function(q)
    return { { labels = { __name__ = "a", host = "x" }, value = 1 }, { labels = { __name__ = "b", host = "x" }, value = 2 } }
  end,
}
]]) })
    gw:advance(15)
    assert.are.equal("vector contains metrics with the same labelset after applying alert labels",
      rule(gw, "ByName").last_error)
  end)

  it("fail a recording rule's evaluation, which writes nothing", function()
    local gw = gw_with({ dup })
    gw:advance(15)
    local r = rule(gw, "dup:sum")
    assert.are.equal("err", r.health)
    assert.are.equal("vector contains metrics with the same labelset after applying rule labels", r.last_error)
    local text = gw:expose()
    assert.is_nil(text:find("\ndup:sum{", 1, true))
    assert.are.equal(1, value(text, 'moongate_rule_evaluation_failures_total{rule="dup:sum"}'))
    assert.are.equal("ok", rule(gw, "fine").health)
    assert.are.equal(7, value(text, "fine"))
  end)
end)

describe("rule labels", function()
  for _, name in ipairs { "__name__", "__meta_x", "0bad", "a-b" } do
    it(name .. " is refused at load with file:line", function()
      local path = rules_file(([[

alert "X" {
  expr = function(q) return 1 end,
  labels = { [%q] = "x" },
}
]]):format(name))
      local ok, err = pcall(gw_with, { path })
      assert.is_false(ok)
      assert.truthy(tostring(err):find(path .. ":2: labels: " .. name, 1, true), err)
    end)
  end
end)

describe("health", function()
  it("is unknown before the first evaluation, then ok", function()
    local gw = gw_with({ rules_file(threshold("1m")) })
    local r = rule(gw, "High")
    assert.are.equal("unknown", r.health)
    assert.is_nil(r.last_evaluation)
    assert.are.equal("inactive", r.state)
    gw:advance(15)
    r = rule(gw, "High")
    assert.are.equal("ok", r.health)
    assert.are.equal(gw:now(), r.last_evaluation)
  end)
end)

describe("resends", function()
  it("are due once lastSentAt + resend_delay is strictly before the evaluation", function()
    local gw = gw_with({ rules_file(threshold("0s")) }, { resend_delay = 60 })
    local t0 = gw:now()
    high(gw, 50)
    gw:evaluate_at(t0 + 15)
    assert.are.equal(1, #gw:notifications())
    gw:evaluate_at(t0 + 15 + 60)
    assert.are.same({}, gw:notifications())
    gw:evaluate_at(t0 + 15 + 60.001)
    assert.are.equal(1, #gw:notifications())
  end)

  it("follow resend_delay, and endsAt is 4 resend delays ahead", function()
    local gw = gw_with({ rules_file(threshold("0s")) }, { resend_delay = 30 })
    local t0 = gw:now()
    high(gw, 50)
    gw:evaluate_at(t0 + 15)
    local sent = gw:notifications()
    assert.are.equal(t0 + 15 + 120, sent[1].ends_at)
    gw:evaluate_at(t0 + 30)
    gw:evaluate_at(t0 + 45)
    assert.are.same({}, gw:notifications())
    gw:evaluate_at(t0 + 60)
    assert.are.equal(1, #gw:notifications())
  end)
end)

describe("a reload that removes or renames an alert rule", function()
  for _, case in ipairs { { "removes", "" }, { "renames", (threshold("0s"):gsub('"High"', '"Higher"')) } } do
    it(case[1] .. ": its firing alerts are sent resolved at once and leave ALERTS", function()
      local gw = gw_with({ rules_file(threshold("0s")) })
      local t0 = gw:now()
      high(gw, 50)
      gw:evaluate_at(t0 + 15)
      assert.are.equal(1, #gw:notifications())
      gw:evaluate_at(t0 + 20)
      assert.is_true(gw:load { rules = { rules_file(case[2] .. "\nrecord \"other\" { expr = function(q) return 1 end }\n") } })
      local sent = gw:notifications()
      assert.are.equal(1, #sent)
      assert.are.equal("High", sent[1].labels.alertname)
      assert.are.equal(t0 + 20, sent[1].ends_at)
      assert.are.equal(t0 + 15, sent[1].starts_at)
      assert.is_nil(alert(gw, "High"))
      gw:evaluate_at(t0 + 25)
      local text = gw:expose()
      assert.is_nil(text:find('alertname="High"', 1, true))
    end)
  end

  it("keeps the alerts of a rule that stays, without resolving them", function()
    local gw = gw_with({ rules_file(threshold("0s")) })
    high(gw, 50)
    gw:advance(15)
    gw:notifications()
    assert.is_true(gw:load { rules = { rules_file(threshold("0s")) } })
    assert.are.same({}, gw:notifications())
    assert.are.equal("firing", alert(gw, "High").state)
  end)
end)

describe("what alerts carry", function()
  it("a generatorURL from external_url and the external labels, which ALERTS does not get", function()
    local path = rules_file(threshold("0s"))
    local gw = gw_with({ path }, { external_url = "https://prom.example.com:9090/", external_labels = { cluster = "eu-1", severity = "ignored" } })
    high(gw, 50)
    gw:advance(15)
    local sent = gw:notifications()
    assert.are.equal(1, #sent)
    assert.are.same({ alertname = "High", severity = "page", cluster = "eu-1" }, sent[1].labels)
    local expr = (path .. ":1"):gsub("[^%w%-_%.~]", function(c) return ("%%%02X"):format(c:byte()) end)
    assert.are.equal("https://prom.example.com:9090/graph?g0.expr=" .. expr .. "&g0.tab=1", sent[1].generator_url)
    assert.is_nil(gw:expose():find("cluster=", 1, true))
  end)

  it("a generatorURL on http://<hostname> when no external_url is set", function()
    local gw = gw_with({ rules_file(threshold("0s")) })
    high(gw, 50)
    gw:advance(15)
    assert.truthy(gw:notifications()[1].generator_url:match("^http://[^/]+/graph%?g0%.expr=.+&g0%.tab=1$"))
  end)

  it("external_labels must be valid, unreserved label names", function()
    assert.has_error(function() gw_with({}, { external_labels = { __x = "a" } }) end)
    assert.has_error(function() gw_with({}, { external_labels = { ["a-b"] = "a" } }) end)
  end)
end)

describe("group {}", function()
  it("evaluates its file's rules on its own interval", function()
    local gw = gw_with({ rules_file([[
group { interval = "30s" }
record "slow" { expr = function(q) return q.now() end }
]]), rules_file([[record "fast" { expr = function(q) return q.now() end }]]) })
    local t0 = gw:now()
    gw:advance(15)
    assert.are.equal(t0 + 15, value(gw:expose(), "slow"))
    gw:advance(15)
    local text = gw:expose()
    assert.are.equal(t0 + 15, value(text, "slow"))
    assert.are.equal(t0 + 30, value(text, "fast"))
    gw:advance(15)
    assert.are.equal(t0 + 45, value(gw:expose(), "slow"))
    local groups = gw:rules()
    assert.are.equal(30, groups[1].interval)
    assert.are.equal(0, groups[2].interval)
  end)

  it("query_offset moves the queries' time back", function()
    local gw = gw_with({ rules_file([[
group { query_offset = "1m" }
record "at" { expr = function(q) return q.now() end }
]]) })
    local t0 = gw:now()
    gw:advance(15)
    assert.are.equal(t0 + 15 - 60, value(gw:expose(), "at"))
    assert.are.equal(60, gw:rules()[1].query_offset)
  end)

  it("limit: an evaluation past it fails and keeps nothing", function()
    local gw = gw_with({ rules_file([[
group { limit = 2 }
alert "Many" {
  expr = function(q)
    local out = {}
    for i = 1, q.value("n") or 0 do out[i] = { labels = { i = tostring(i) }, value = i } end
    return out
  end,
}
record "many" {
  expr = function(q)
    local out = {}
    for i = 1, q.value("n") or 0 do out[i] = { labels = { i = tostring(i) }, value = i } end
    return out
  end,
}
]]) })
    local function n(v) gw:push { ttl = 0, metrics = { { name = "n", type = "gauge", value = v } } } end
    n(2)
    gw:advance(15)
    assert.are.equal(2, #gw:alerts())
    assert.are.equal("ok", rule(gw, "Many").health)
    n(3)
    gw:advance(15)
    assert.are.equal(0, #gw:alerts())
    assert.are.equal("exceeded limit of 2 with 3 alerts", rule(gw, "Many").last_error)
    assert.are.equal("exceeded limit of 2 with 3 series", rule(gw, "many").last_error)
    assert.is_nil(gw:expose():find('many{i="3"}', 1, true))
    assert.are.equal(2, gw:rules()[1].limit)
  end)

  it("is refused after a rule, twice, or with an unknown field", function()
    for _, text in ipairs {
      'record "a" { expr = function(q) return 1 end }\ngroup { interval = "1m" }',
      'group { interval = "1m" }\ngroup { limit = 1 }',
      'group { intervall = "1m" }',
      'group { limit = -1 }',
    } do
      local ok, err = pcall(gw_with, { rules_file(text) })
      assert.is_false(ok)
      assert.truthy(tostring(err):find("group: ", 1, true), err)
    end
  end)
end)

describe("q.now()", function()
  it("is the evaluation's time", function()
    local gw = gw_with({ rules_file('record "t" { expr = function(q) return q.now() end }') })
    gw:evaluate_at(gw:now() + 7)
    assert.are.equal(gw:now(), value(gw:expose(), "t"))
  end)
end)
