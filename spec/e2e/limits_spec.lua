-- The configured limits against a real daemon: each one refused with its
-- counted reason and a clear error, the good traffic beside it served; slow
-- HTTP clients cut at header_timeout; max_connections on TCP ingest; and
-- SIGTERM with unacknowledged writes in flight exits 0.
local gw = require "support.gateway"
local moongate = require "moongate"
local socket = require "socket"

local CONFIG = [[
return {
  limits = {
    max_message_bytes = 65536,
    max_depth = 4,
    max_metrics = 10,
    max_labels = 4,
    max_name_len = 32,
    max_value_len = 16,
    max_http_body_bytes = 65536,
    header_timeout = 1,
    max_connections = 4,
  },
}
]]

-- ---- helpers ----

local uniq, mp = gw.uniq, gw.mp
local assert_fatal_reply = gw.assert_fatal_reply
local assert_serves_good_producer = gw.assert_serves_good_producer

-- One message: `good` (a list of metrics that must land) and `bad` at index
-- #good; checks the reply, the counter, the neighbours.
local function check_rejects(g, transport, reason, bad, good, detail)
  local metrics = {}
  for i, m in ipairs(good) do metrics[i] = m end
  table.insert(metrics, 2, bad)
  local before = g:rejected(reason)
  local r, err
  if transport == "http" then
    local code
    code, r = g:push_http { metrics = metrics }
    assert.are.equal(200, code)
  else
    r, err = g:push_tcp { metrics = metrics }
    assert.is_table(r, "no ack: " .. tostring(err))
  end
  assert.are.equal(#good, r.accepted)
  assert.are.equal(1, r.rejected)
  assert.are.equal(reason, r.errors[1].reason)
  assert.are.equal(1, r.errors[1].index)
  if detail then
    assert.is_truthy(r.errors[1].detail:find(detail, 1, true),
                     "detail does not name " .. detail .. ": " .. r.errors[1].detail)
  end
  assert.are.equal(before + 1, g:rejected(reason))
  assert_serves_good_producer(g)
  return r
end

-- ---- the limits ----

describe("limits", function()
  local g

  setup(function() g = gw.start_with_config(CONFIG) end)
  teardown(function() g:stop() end)

  describe("max_message_bytes = 65536", function()
    it("TCP: a message declaring a 70000-byte string is refused from its header", function()
      local good = uniq("before_big")
      local before = g:rejected("too_large")
      local c = gw.connect(g.tcp)
      c.sock:settimeout(5) -- the refusal must not wait for the 70000 bytes
      c:send(moongate.encode { metrics = { { name = good, type = "gauge", value = 1 } } })
      c:send(mp.map(2) .. mp.str("ack") .. moongate.encode(1) .. mp.str("metrics") .. mp.arr(1)
             .. mp.map(3) .. mp.str("name") .. mp.str(uniq("big")) .. mp.str("value") .. moongate.encode(1)
             .. mp.str("help") .. mp.str32_header(70000) .. "only the start")
      local r = assert_fatal_reply(c, "too_large")
      c:close()
      assert.is_truthy(r.errors[1].detail:find("max_message_bytes", 1, true))
      assert.are.equal(before + 1, g:rejected("too_large"))
      assert.are.equal(1, g:value(good))
      assert_serves_good_producer(g)
    end)

    it("TCP: a 60000-byte message is accepted", function()
      local name = uniq("just_under")
      local r = g:push_tcp { metrics = { { name = name, type = "gauge", value = 2, help = ("h"):rep(60000) } } }
      assert.are.equal(1, r.accepted)
      assert.are.equal(2, g:value(name))
    end)
  end)

  describe("max_http_body_bytes = 65536", function()
    it("a 70000-byte body answers 413 with a JSON error, counted as too_large", function()
      local name = uniq("big_body")
      local body = moongate.encode { metrics = { { name = name, value = 1, help = ("h"):rep(70000) } } }
      local before = g:rejected("too_large")
      local code, r = g:push_http(body)
      assert.are.equal(413, code)
      assert.is_table(r, "a JSON reply, not: " .. tostring(r))
      assert.are.equal("too_large", r.errors[1].reason)
      assert.are.equal(before + 1, g:rejected("too_large"))
      assert.is_nil(g:value(name))
      assert_serves_good_producer(g)
    end)

    it("a 60000-byte body is accepted", function()
      local name = uniq("body_under")
      local code, r = g:push_http { metrics = { { name = name, type = "gauge", value = 3, help = ("h"):rep(60000) } } }
      assert.are.equal(200, code)
      assert.are.equal(1, r.accepted)
      assert.are.equal(3, g:value(name))
    end)
  end)

  describe("max_depth = 4", function()
    -- message map (1) > metrics array (2) > metric map (3) > labels map (4)
    it("HTTP: a label value that is a map is nested too deep: 400, the message before it counted", function()
      local good, deep = uniq("depth_four"), uniq("depth_five")
      local body = moongate.encode { metrics = { { name = good, type = "gauge", value = 4, labels = { a = "b" } } } }
          .. moongate.encode { metrics = { { name = deep, value = 5, labels = { a = { b = "c" } } } } }
      local before = g:rejected("decode_error")
      local code, r = g:push_http(body)
      assert.are.equal(400, code)
      assert.are.equal(1, r.accepted)
      assert.are.equal("decode_error", r.errors[1].reason)
      assert.is_truthy(r.errors[1].detail:find("max_depth", 1, true))
      assert.are.equal(before + 1, g:rejected("decode_error"))
      assert.are.equal(4, g:value(good .. '{a="b"}'))
      assert.is_nil(g:value(deep))
      assert_serves_good_producer(g)
    end)

    it("TCP: nesting deeper than max_depth: an error reply, then the close", function()
      local before = g:rejected("decode_error")
      local c = gw.connect(g.tcp)
      c:send { ack = 1, metrics = { { name = uniq("deep"), value = 1, labels = { a = { { { "x" } } } } } } }
      local r = assert_fatal_reply(c, "decode_error")
      c:close()
      assert.is_truthy(r.errors[1].detail:find("max_depth", 1, true))
      assert.are.equal(before + 1, g:rejected("decode_error"))
      assert_serves_good_producer(g)
    end)
  end)

  describe("max_metrics = 10", function()
    local function metrics(prefix, n)
      local t = {}
      for i = 1, n do t[i] = { name = prefix, type = "gauge", value = i, labels = { i = tostring(i) } } end
      return t
    end

    it("HTTP: 11 metrics in a message are refused, 10 in the next one land", function()
      local over, ok = uniq("eleven"), uniq("ten")
      local body = moongate.encode { metrics = metrics(over, 11) } .. moongate.encode { metrics = metrics(ok, 10) }
      local before = g:rejected("too_many_metrics")
      local code, r = g:push_http(body)
      assert.are.equal(200, code)
      assert.are.equal(10, r.accepted)
      assert.are.equal("too_many_metrics", r.errors[1].reason)
      assert.is_truthy(r.errors[1].detail:find("max_metrics", 1, true))
      -- every refused metric is counted (docs/wire.md), as unauthorized ones are
      assert.are.equal(11, r.rejected)
      assert.are.equal(before + 11, g:rejected("too_many_metrics"))
      local scrape = g:scrape()
      assert.is_nil(gw.value(scrape, over .. '{i="1"}'))
      assert.are.equal(10, gw.value(scrape, ok .. '{i="10"}'))
      assert_serves_good_producer(g)
    end)

    it("TCP: a message of 11 metrics asking for an ack gets one naming too_many_metrics", function()
      local before = g:rejected("too_many_metrics")
      local r, err = g:push_tcp { ack = 77, metrics = metrics(uniq("eleven_tcp"), 11) }
      assert.is_table(r, "no ack: " .. tostring(err))
      assert.are.equal(77, r.ack)
      assert.are.equal(0, r.accepted)
      assert.are.equal("too_many_metrics", r.errors[1].reason)
      assert.is_true(g:rejected("too_many_metrics") > before)
      assert_serves_good_producer(g)
    end)
  end)

  describe("max_labels = 4", function()
    it("5 labels are refused, 4 land (HTTP)", function()
      local n4 = uniq("four_labels")
      check_rejects(g, "http", "too_many_labels",
                    { name = uniq("five_labels"), value = 1, labels = { a = "1", b = "2", c = "3", d = "4", e = "5" } },
                    { { name = n4, type = "gauge", value = 4, labels = { a = "1", b = "2", c = "3", d = "4" } },
                      { name = uniq("no_labels"), value = 1 } },
                    "max_labels")
      assert.are.equal(4, g:value(n4 .. '{a="1",b="2",c="3",d="4"}'))
    end)

    it("3 labels and 2 source labels are refused (TCP)", function()
      local before = g:rejected("too_many_labels")
      local ok = uniq("with_source_ok")
      local r = g:push_tcp { source = { job = "j", instance = "i" }, metrics = {
        { name = uniq("with_source_over"), value = 1, labels = { a = "1", b = "2", c = "3" } },
        { name = ok, type = "gauge", value = 2, labels = { a = "1", b = "2" } },
      } }
      assert.are.equal(1, r.accepted)
      assert.are.equal(1, r.rejected)
      assert.are.equal("too_many_labels", r.errors[1].reason)
      assert.are.equal(before + 1, g:rejected("too_many_labels"))
      assert.are.equal(2, g:value(ok .. '{a="1",b="2",instance="i",job="j"}'))
    end)
  end)

  describe("max_name_len = 32", function()
    it("a 33-character metric name is refused, 32 lands (TCP)", function()
      local n32 = ("m"):rep(28) .. string.format("%04d", gw.seq + 1000)
      assert.are.equal(32, #n32)
      check_rejects(g, "tcp", "invalid_metric_name", { name = ("x"):rep(33), value = 1 },
                    { { name = n32, type = "gauge", value = 32 }, { name = uniq("short"), value = 1 } })
      assert.are.equal(32, g:value(n32))
    end)

    it("a 33-character label name is refused, 32 lands (HTTP)", function()
      local name = uniq("label_len")
      check_rejects(g, "http", "invalid_label_name",
                    { name = name, value = 1, labels = { [("l"):rep(33)] = "v" } },
                    { { name = name, type = "gauge", value = 32, labels = { [("l"):rep(32)] = "v" } },
                      { name = uniq("short"), value = 1 } })
      assert.are.equal(32, g:value(name .. "{" .. ("l"):rep(32) .. '="v"}'))
    end)
  end)

  describe("max_value_len = 16", function()
    it("a 17-byte label value is refused, 16 lands (HTTP)", function()
      local name = uniq("value_len")
      check_rejects(g, "http", "invalid_label_value",
                    { name = name, value = 1, labels = { v = ("x"):rep(17) } },
                    { { name = name, type = "gauge", value = 16, labels = { v = ("x"):rep(16) } },
                      { name = uniq("short"), value = 1 } },
                    "max_value_len")
      assert.are.equal(16, g:value(name .. '{v="' .. ("x"):rep(16) .. '"}'))
      assert.is_nil(g:value(name .. '{v="' .. ("x"):rep(17) .. '"}'))
    end)
  end)

  describe("header_timeout = 1", function()
    local function raw_http()
      local h, p = g.http:match("^(.*):(%d+)$")
      local s = assert(socket.connect(h, tonumber(p)))
      s:settimeout(0)
      return s
    end
    -- true once the server has closed s (EOF or reset; a 408 before it is
    -- read through), without blocking
    local function closed(s)
      local data, err = s:receive("*a")
      return data ~= nil or err ~= "timeout"
    end

    it("a client that sends a request line and stalls is disconnected; scrapes go on", function()
      local s = raw_http()
      local t0 = socket.gettime()
      assert(s:send("GET /metrics HTTP/1.1\r\n"))
      assert.is_truthy(g:scrape():find("moongate_samples_received_total", 1, true))
      gw.wait_for(function() return closed(s) end, 5, "the server to close the stalled connection")
      local took = socket.gettime() - t0
      s:close()
      assert.is_true(took >= 0.9, ("closed after %.2f s, before header_timeout"):format(took))
      assert.is_true(took < 3 * gw.time_scale, ("closed after %.2f s"):format(took))
      assert.is_truthy(g:scrape():find("moongate_samples_received_total", 1, true))
    end)

    it("a client that trickles its headers one byte at a time is disconnected at the deadline", function()
      local s = raw_http()
      local t0 = socket.gettime()
      assert(s:send("GET /metrics HTTP/1.1\r\n"))
      local header, i = "X-Slow: " .. ("a"):rep(200), 0
      -- one byte each poll (every 50 ms): never idle, never whole
      gw.wait_for(function()
        i = i + 1
        local ok = s:send(header:sub(i, i))
        return not ok or closed(s)
      end, 5, "the server to close the trickling connection")
      local took = socket.gettime() - t0
      s:close()
      assert.is_true(i > 10, "only " .. i .. " bytes were sent")
      assert.is_true(took >= 0.9, ("closed after %.2f s, before header_timeout"):format(took))
      assert.is_true(took < 3 * gw.time_scale, ("closed after %.2f s"):format(took))
      assert.are.equal(200, (gw.http_request("GET", g.url .. "/-/ready")))
      assert_serves_good_producer(g)
    end)
  end)

  describe("max_connections = 4", function()
    -- A TCP connection the gateway serves: it answers an ack. Retried
    -- (bounded) while connections closed by earlier tests are reaped.
    local function served(id)
      return gw.wait_for(function()
        local c = gw.connect(g.tcp)
        c.sock:settimeout(2)
        c.sock:send(moongate.encode { ack = id, metrics = {} })
        local r = c:receive()
        if r and r.ack == id then return c end
        c:close()
      end, 5, "a served connection")
    end

    it("TCP: the 5th connection is closed at once; a freed slot is taken again", function()
      local conns = {}
      for i = 1, 4 do conns[i] = served(i) end
      local fifth = gw.connect(g.tcp)
      fifth.sock:settimeout(2)
      local t0 = socket.gettime()
      local data, err = fifth.sock:receive(1)
      local took = socket.gettime() - t0
      fifth:close()
      assert.is_nil(data)
      assert.are.equal("closed", err)
      assert.is_true(took < 1 * gw.time_scale, ("closed after %.2f s"):format(took))
      assert.is_truthy(gw.read_file(g.log):find("max_connections reached", 1, true))
      -- the four are still served
      for i = 1, 4 do
        conns[i]:send { ack = 10 + i, metrics = {} }
        assert.are.equal(10 + i, conns[i]:receive().ack)
      end
      conns[1]:close()
      conns[1] = served(5)
      for i = 1, 4 do conns[i]:close() end
      assert_serves_good_producer(g)
    end)
  end)
end)

-- ---- SIGTERM: the exit status, through a wrapper that records it ----

describe("SIGTERM", function()
  local g, sdir

  setup(function()
    sdir = gw.tmpdir()
    local wrapper = sdir .. "/moongate.sh"
    gw.write_file(wrapper, table.concat({
      "#!/bin/sh",
      gw.quote(gw.bin) .. ' "$@" &',
      "echo $! > " .. gw.quote(sdir .. "/pid"),
      "wait $!",
      "echo $? > " .. gw.quote(sdir .. "/status"),
    }, "\n") .. "\n")
    assert.are.equal(0, gw.sh("chmod +x " .. gw.quote(wrapper)))
    local real = gw.bin
    gw.bin = wrapper
    local ok, started = pcall(gw.start, {})
    gw.bin = real
    assert(ok, started)
    g = started
    g.pid = gw.read_file(sdir .. "/pid"):match("%d+") -- the daemon, not the wrapper
  end)
  teardown(function()
    if g and g.pid then g:stop() end
    gw.sh("rm -rf " .. gw.quote(sdir))
  end)

  it("with a client that just wrote messages without an ack, the daemon exits 0", function()
    local c = gw.connect(g.tcp)
    local bytes = {}
    for i = 1, 200 do
      bytes[i] = moongate.encode { metrics = { { name = "term_total", type = "counter", value = i } } }
    end
    c:send(table.concat(bytes))
    local half = moongate.encode { metrics = { { name = "term_half", value = 1 } } }
    c:send(half:sub(1, 10))
    gw.sh("kill -TERM " .. g.pid)
    local status = gw.wait_for(function()
      local s = gw.read_file(sdir .. "/status")
      return s and tonumber(s:match("%d+"))
    end, 10, "the daemon's exit status")
    local log = gw.read_file(g.log) or ""
    assert.are.equal(0, status, log)
    assert.is_truthy(log:find("msg=draining", 1, true), log)
    assert.is_truthy(log:find("msg=stopped", 1, true), log)
    c.sock:settimeout(5)
    local data, err = c.sock:receive(1)
    c:close()
    assert.is_nil(data)
    assert.are.equal("closed", err)
    g.pid = nil
    gw.sh("rm -rf " .. gw.quote(g.dir))
  end)
end)
