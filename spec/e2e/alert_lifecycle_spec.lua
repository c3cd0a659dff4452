-- The alert lifecycle end to end, a real daemon and a real Alertmanager
-- (spec/support/alertmanager.lua): alerts arrive with generatorURL built
-- from external_url and with the external labels; a reload that removes
-- an alert rule resolves its firing alert in Alertmanager at once, not
-- when its endsAt (four minutes ahead) passes; a rule that stays keeps its
-- alert active. Everything on 127.0.0.1.
local gw = require "support.gateway"
local alertmanager = require "support.alertmanager"

local quote = gw.quote

local GONE = [[
alert "LifecycleGone" {
  expr = function(q) local v = q.value("lifecycle_gauge") if v and v > 0 then return v end end,
  labels = { severity = "page" },
  annotations = { summary = "{{ $externalLabels.cluster }} at {{ $externalURL }}" },
}
]]
local STAYS = [[

alert "LifecycleStays" {
  expr = function(q) local v = q.value("lifecycle_gauge") if v and v > 0 then return v end end,
}
]]

-- Go's url.QueryEscape of s.
local function query_escape(s)
  return (s:gsub("[^%w%-_%.~ ]", function(c) return ("%%%02X"):format(c:byte()) end):gsub(" ", "+"))
end

describe("the alert lifecycle with a real Alertmanager", function()
  local am, g, dir

  setup(function()
    am = alertmanager.start()
    dir = gw.tmpdir()
    assert(gw.sh("mkdir " .. quote(dir .. "/rules")) == 0)
    gw.write_file(dir .. "/rules/10-gone.lua", GONE)
    gw.write_file(dir .. "/rules/20-stays.lua", STAYS)
    gw.write_file(dir .. "/moongate.conf.lua", ([[
return {
  rule_interval = 1,
  alertmanagers = { %q },
  external_url = "http://moongate.example:9477/",
  external_labels = { cluster = "e2e-1" },
}
]]):format(am.url))
    g = gw.start({ "--config", dir .. "/moongate.conf.lua", "--rules", dir .. "/rules" })
    local code = g:push_http { ttl = 0, metrics = { { name = "lifecycle_gauge", type = "gauge", value = 3 } } }
    assert.are.equal(200, code)
  end)

  teardown(function()
    if g then g:stop() end
    if am then am.stop() end
    if dir then gw.sh("rm -rf " .. quote(dir)) end
  end)

  it("alerts arrive with generatorURL from external_url and the external labels", function()
    local a = gw.wait_for(function() return am.alerts("LifecycleGone")[1] end, 15,
      "LifecycleGone in Alertmanager")
    assert.are.same({ alertname = "LifecycleGone", severity = "page", cluster = "e2e-1" }, a.labels)
    assert.are.equal("e2e-1 at http://moongate.example:9477/", a.annotations.summary)
    local where = dir .. "/rules/10-gone.lua:1"
    assert.are.equal("http://moongate.example:9477/graph?g0.expr=" .. query_escape(where) .. "&g0.tab=1",
      a.generatorURL)
    assert.are.equal(0, am.invalid())
    -- ALERTS on /metrics does not carry the external labels
    local text = g:scrape()
    assert.truthy(text:find('ALERTS{alertname="LifecycleGone",alertstate="firing",severity="page"} 1', 1, true), text)
  end)

  it("a reload that removes the rule resolves its alert in Alertmanager at once", function()
    gw.wait_for(function() return am.alerts("LifecycleStays")[1] end, 15, "LifecycleStays in Alertmanager")
    local a = am.alerts("LifecycleGone")[1]
    assert.is_not_nil(a)
    local resolved = am.received("resolved")
    assert(os.remove(dir .. "/rules/10-gone.lua"))
    assert.are.equal(0, gw.sh("kill -HUP " .. g.pid))
    -- gone from GET /api/v2/alerts once its endsAt (now) has passed; its
    -- own endsAt was four minutes ahead
    gw.wait_for(function() return #am.alerts("LifecycleGone") == 0 end, 10,
      "LifecycleGone resolved in Alertmanager")
    assert.truthy(am.received("resolved") > resolved)
    assert.are.equal(1, #am.alerts("LifecycleStays"))
    gw.wait_for(function() return not g:scrape():find('alertname="LifecycleGone"', 1, true) end, 10,
      "LifecycleGone out of ALERTS")
  end)
end)
