-- GET /api/v1/explain?series=SELECTOR against the daemon.
local gw = require "support.gateway"
local json = require "cjson"

local function get(g, sel)
  local url = g.url .. "/api/v1/explain?series=" .. sel:gsub("[^%w]", function(c)
    return ("%%%02X"):format(c:byte())
  end)
  local code, body = gw.http_request("GET", url)
  return code, json.decode(body)
end

describe("explain over HTTP", function()
  local g
  setup(function()
    g = gw.start({ "--scripts", gw.root .. "/spec/unit/fixtures/status_class.lua" })
    g:push_http { metrics = {
      { name = "http_requests_total", type = "counter", value = 1, labels = { status = "404", path = "/x" } } } }
  end)
  teardown(function() g:stop() end)

  it("answers the steps and the output as JSON", function()
    local code, r = get(g, 'http_requests_total{status=~"4.."}')
    assert.are.equal(200, code)
    assert.are.equal("success", r.status)
    local e = r.data[1]
    assert.are.equal('http_requests_total{path="/x",status="404"}', e.input)
    assert.are.equal("relabel", e.steps[1].step)
    assert.truthy(e.steps[1].at:find("status_class.lua:2", 1, true))
    assert.are.equal('http_requests_total{route="unknown",status="4xx"}', e.output)
    assert.are.equal(json.null, e.dropped)
  end)

  it("answers 400 with Prometheus's error shape for a bad selector", function()
    local code, r = get(g, "up{")
    assert.are.equal(400, code)
    assert.are.equal("error", r.status)
    assert.are.equal("bad_data", r.errorType)
    assert.truthy(r.error:find("parse error", 1, true))
  end)

  it("answers an empty list when nothing matches", function()
    local code, r = get(g, "nothing_here")
    assert.are.equal(200, code)
    assert.are.same({}, r.data)
  end)
end)
