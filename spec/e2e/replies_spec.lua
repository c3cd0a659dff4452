-- Replies and logs that say why (docs/wire.md, docs/security.md): TCP acks
-- and HTTP JSON list each dropped metric with its index and reason
-- (script_error, rule, cardinality_cap, limit) beside the count; refused
-- input on every transport logs a line with the transport, the peer
-- address and the reason, at most 10 a reason per 10 s, then one line with
-- how many were held back. Everything on 127.0.0.1, every wait bounded.
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

describe("refused input is logged with its peer", function()
  local g

  before_each(function() g = gw.start() end)
  after_each(function() g:stop() end)

  it("a UDP garbage datagram: transport, peer address and reason", function()
    local h, port = g.udp:match("^(.*):(%d+)$")
    local u = assert(socket.udp())
    assert(u:setsockname("127.0.0.1", 0))
    local _, mine = u:getsockname()
    assert(u:sendto("\xc1 not msgpack", h, tonumber(port)))
    u:close()
    local line = wait_log(g, { 'msg="input refused"', "transport=udp",
                               "peer=127.0.0.1:" .. mine .. " ", "reason=decode_error" })
    assert.truthy(line:find("detail=", 1, true), line)
  end)

  it("a bad HTTP body, a refused TCP metric and a bad Pushgateway body", function()
    local code = g:push_http("\xc1\xc1\xc1")
    assert.are.equal(400, code)
    local line = wait_log(g, { 'msg="input refused"', "transport=http", "reason=decode_error" })
    assert.truthy(line:match("peer=127%.0%.0%.1:%d+ "), line)

    local c = gw.connect(g.tcp)
    local _, mine = c.sock:getsockname()
    c:send { ack = 1, metrics = { { name = "1bad name", type = "gauge", value = 1 } } }
    local r = c:receive()
    c:close()
    assert.are.equal(1, r.rejected)
    wait_log(g, { 'msg="input refused"', "transport=tcp", "peer=127.0.0.1:" .. mine .. " ",
                  "reason=invalid_metric_name", "index=0" })

    local pcode = pgw.put(g.url, "/metrics/job/rp", "rp_line not_a_number\n")
    assert.are.equal(400, pcode)
    line = wait_log(g, { 'msg="input refused"', "transport=pushgateway", "reason=invalid_value" })
    assert.truthy(line:match("peer=127%.0%.0%.1:%d+ "), line)
    assert.truthy(line:find("text format parsing error", 1, true), line)
  end)

  it("a flood of 1,000 bad datagrams logs at most 10 lines, then how many it held back", function()
    local h, port = g.udp:match("^(.*):(%d+)$")
    local u = assert(socket.udp())
    -- in batches the daemon takes before the next, so the kernel drops none
    for batch = 1, 10 do
      for _ = 1, 100 do assert(u:sendto("\xc1", h, tonumber(port))) end
      gw.wait_for(function() return g:rejected("decode_error") >= batch * 100 end, 10,
                  "batch " .. batch .. " to be counted")
    end
    u:close()
    assert.are.equal(1000, g:rejected("decode_error"))
    local want = { 'msg="input refused"', "transport=udp", "reason=decode_error" }
    local lines = #log_lines(g, want)
    assert.is_true(lines >= 1 and lines <= 10, lines .. " lines")
    -- the window (10 s) ends; the sweep timer writes the count
    local supp = { 'msg="input refused lines suppressed"', "reason=decode_error" }
    wait_log(g, supp, 20)
    local held = 0
    local n = log_lines(g, supp)
    for _, l in ipairs(n) do held = held + tonumber(l:match("suppressed=(%d+)")) end
    lines = #log_lines(g, want)
    -- every refusal is either a line or in a count; a window holds at most 10 lines
    assert.are.equal(1000, lines + held)
    assert.is_true(lines <= 10 * (#n + 1), lines .. " lines in " .. #n .. " windows")
    if gw.time_scale == 1 then assert.are.equal(1, #n) end
  end)
end)
