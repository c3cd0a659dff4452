-- Replies that say why (docs/wire.md): TCP acks and HTTP JSON list each
-- dropped metric with its index and reason (script_error, rule,
-- cardinality_cap, limit) beside the count. Everything on 127.0.0.1, every
-- wait bounded.
local gw = require "support.gateway"
local pgw = require "support.pushgw"
local socket = require "socket"

local FIX = gw.root .. "/spec/e2e/fixtures/replies/"

-- Log lines of g that contain every one of the plain strings in `want`.
local function log_lines(g, want)
  local out = {}
  for line in (gw.read_file(g.log) or ""):gmatch("[^\n]+") do
    local all = true
    for _, w in ipairs(want) do all = all and line:find(w, 1, true) ~= nil end
    if all then out[#out + 1] = line end
  end
  return out
end

-- Polls g's log until a line holds every string of want; returns it.
local function wait_log(g, want, seconds)
  return gw.wait_for(function() return log_lines(g, want)[1] end, seconds or 10,
                     "a log line with " .. table.concat(want, " "))
end

-- The drops of a reply as "index:reason" strings, in order.
local function drops(r)
  local out = {}
  for _, d in ipairs(r.drops or {}) do out[#out + 1] = ("%d:%s"):format(d.index, d.reason) end
  return out
end

describe("push replies name each drop", function()
  local g, dir

  setup(function()
    dir = gw.tmpdir()
    assert(gw.sh("mkdir " .. gw.quote(dir .. "/scripts")) == 0)
    gw.write_file(dir .. "/scripts/drops.lua", assert(gw.read_file(FIX .. "drops.lua")))
    g = gw.start { "--scripts", dir .. "/scripts" }
  end)
  teardown(function()
    g:stop()
    gw.sh("rm -rf " .. gw.quote(dir))
  end)

  -- Pushes the metrics make(prefix) returns, from producer `prefix`, over
  -- TCP (with an ack) and over HTTP; each transport gets its own names.
  local function both(make)
    local replies = {}
    for _, t in ipairs { "tcp", "http" } do
      local p = gw.uniq("rp_" .. t)
      local msg = { source = { producer = p }, metrics = make(p) }
      if t == "tcp" then
        local r, err = g:push_tcp(msg)
        assert.is_table(r, "no ack: " .. tostring(err))
        replies.tcp = r
      else
        local code, r = g:push_http(msg)
        assert.are.equal(200, code)
        replies.http = r
      end
    end
    return replies
  end

  it("script_error: a transform that errors, on the new series and again when known", function()
    local make = function(p)
      return { { name = "rp_ok_" .. p, type = "gauge", value = 1 },
               { name = "rp_err_" .. p, type = "gauge", value = 2 } }
    end
    for _, r in pairs(both(make)) do
      assert.are.equal(2, r.accepted)
      assert.are.equal(0, r.rejected)
      assert.are.equal(1, r.dropped)
      assert.are.same({ "1:script_error" }, drops(r))
      assert.are.same({}, r.errors)
    end
    -- the same series again takes the known-series path: still named
    local p = gw.uniq("rp_known")
    local msg = { source = { producer = p }, metrics = make(p) }
    g:push_tcp(msg)
    local r = g:push_tcp(msg)
    assert.are.same({ "1:script_error" }, drops(r))
    assert.are.equal(1, r.dropped)
  end)

  it("rule: a drop relabel", function()
    for _, r in pairs(both(function(p)
      return { { name = "rp_rule_" .. p, type = "counter", value = 1 },
               { name = "rp_kept_" .. p, type = "counter", value = 1 },
               { name = "rp_rule_b_" .. p, type = "counter", value = 1 } }
    end)) do
      assert.are.equal(3, r.accepted)
      assert.are.equal(2, r.dropped)
      assert.are.same({ "0:rule", "2:rule" }, drops(r))
    end
  end)

  it("cardinality_cap: a path past the cap's one value", function()
    for _, r in pairs(both(function(p)
      return { { name = "rp_cap_" .. p, type = "counter", value = 1, labels = { path = "/a" } },
               { name = "rp_cap_" .. p, type = "counter", value = 1, labels = { path = "/b" } } }
    end)) do
      assert.are.equal(2, r.accepted)
      assert.are.equal(1, r.dropped)
      assert.are.same({ "1:cardinality_cap" }, drops(r))
    end
  end)

  it("limit: a producer's fourth input series past max_input_series_per_source", function()
    for _, r in pairs(both(function(p)
      local m = {}
      for i = 1, 4 do m[i] = { name = "rp_lim_" .. i .. "_" .. p, type = "gauge", value = i } end
      return m
    end)) do
      assert.are.equal(4, r.accepted)
      assert.are.equal(1, r.dropped)
      assert.are.same({ "3:limit" }, drops(r))
    end
  end)

  it("indexes count across an HTTP body; the list stops at 16, the count does not", function()
    local moongate = require "moongate"
    local p = gw.uniq("rp_many")
    local body = { moongate.encode { source = { producer = p },
                                     metrics = { { name = "rp_ok_" .. p, type = "gauge", value = 1 } } } }
    -- a producer a message, each under its own max_input_series_per_source
    for i = 1, 20 do
      body[#body + 1] = moongate.encode { source = { producer = p .. "_" .. i }, metrics = {
        { name = "rp_rule_" .. p, type = "gauge", value = i } } }
    end
    local code, r = g:push_http(table.concat(body))
    assert.are.equal(200, code)
    assert.are.equal(21, r.accepted)
    assert.are.equal(20, r.dropped)
    assert.are.equal(16, #r.drops)
    local want = {}
    for i = 1, 16 do want[i] = i .. ":rule" end
    assert.are.same(want, drops(r))
  end)
end)
