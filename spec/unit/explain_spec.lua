-- gw:explain: the steps that shaped an input series, and its output or why
-- it feeds nothing.
local moongate = require "moongate"

local fx = "spec/unit/fixtures/"

describe("explain", function()
  it("lists each step with file:line and the series after it, then the output", function()
    local gw = moongate.new { scripts = { fx .. "status_class.lua", fx .. "transform_ms.lua" } }
    gw:push { metrics = {
      { name = "http_requests_total", type = "counter", value = 1, labels = { status = "503", path = "/api/users/3" } },
      { name = "http_requests_total", type = "counter", value = 2, labels = { status = "504", path = "/api/users/4" } },
    } }
    local r = assert(gw:explain('http_requests_total{status="503"}'))
    assert.are.equal(1, #r)
    local e = r[1]
    assert.are.equal('http_requests_total{path="/api/users/3",status="503"}', e.input)
    assert.are.equal(2, #e.steps)
    assert.are.same({ step = "relabel", at = fx .. "status_class.lua:2",
                      result = 'http_requests_total{route="/api/users",status="5xx"}' }, e.steps[1])
    assert.are.equal("transform", e.steps[2].step)
    assert.are.equal(fx .. "transform_ms.lua:1", e.steps[2].at)
    assert.are.equal('http_requests_total{route="/api/users",status="5xx"}', e.output)
    assert.are.equal(2, e.inputs)
    assert.is_nil(e.dropped)
  end)

  it("says why a series was dropped and by which step", function()
    local gw = moongate.new { scripts = { fx .. "drops.lua" } }
    gw:push { metrics = { { name = "debug_x", value = 1, labels = { env = "dev" } } } }
    local e = assert(gw:explain("debug_x"))[1]
    assert.are.equal("rule", e.dropped)
    assert.is_nil(e.output)
    assert.are.same({ step = "drop", at = fx .. "drops.lua:2", result = "dropped" }, e.steps[2])
  end)

  it("names a cap that dropped a series, with its use and limit", function()
    local gw = moongate.new { scripts = { fx .. "caps/per_workspace.lua" } }
    local m = {}
    for i = 1, 12 do m[i] = { name = "g", type = "gauge", value = 1, labels = { workspace_id = "w", k = "k" .. i } } end
    gw:push { metrics = m }
    local e = assert(gw:explain('g{k="k12"}'))[1]
    assert.are.equal("cardinality_cap", e.dropped)
    assert.are.equal("per-workspace: 10 of 10", e.caps)
  end)

  it("refuses a selector Prometheus would refuse", function()
    local r, err = moongate.new():explain('up{job=}')
    assert.is_nil(r)
    assert.truthy(err:find("parse error", 1, true))
  end)
end)
