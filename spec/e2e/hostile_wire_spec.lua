-- Hostile clients against the wire decoder of a real daemon: nesting far
-- past max_depth, headers that declare 4 GiB, declared sizes never sent on
-- connections left open, truncated frames, a million label values from one
-- producer. Every case is bounded in count and time and runs on 127.0.0.1.
--
-- Throughout each case a good producer on its own TCP connection pushes
-- with acks between the hostile sends; every push must be answered within
-- one second (p50 and max are printed), VmRSS of the daemon must stay within
-- the bound the case states, the hostile input must be counted, and a
-- hostile stream must be cut off by the server.
local gw = require "support.gateway"
local load = require "support.load"
local moongate = require "moongate"
local socket = require "socket"

local mp, uniq = gw.mp, gw.uniq
local IDLE = 2 -- idle_timeout of the gateway under test, seconds

local function vmrss_kb(pid)
  local s = gw.read_file("/proc/" .. pid .. "/status") or ""
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

-- The good producer of one case: a TCP connection of its own, one gauge
-- pushed with an ack per tick. Each tick also samples VmRSS.
local function probe(g, case, rss_bound_kb)
  local c = gw.connect(g.tcp)
  c.sock:settimeout(gw.time_scale)
  local p = { lat = {}, n = 0, rss0 = vmrss_kb(g.pid), rss_max = 0 }
  local name = uniq("hostile_probe")
  function p.tick()
    p.n = p.n + 1
    local t0 = socket.gettime()
    c:send { ack = p.n, metrics = { { name = name, type = "gauge", value = p.n } } }
    local r, err = c:receive()
    local dt = socket.gettime() - t0
    assert(r, ("%s: the good producer got no ack within %g s (%s)"):format(case, gw.time_scale, tostring(err)))
    assert(r.ack == p.n and r.accepted == 1, case .. ": a wrong ack for the good producer")
    p.lat[#p.lat + 1] = dt
    local rss = vmrss_kb(g.pid)
    assert(rss, case .. ": the daemon is gone")
    if rss > p.rss_max then p.rss_max = rss end
    assert(rss - p.rss0 < rss_bound_kb * gw.mem_scale,
           ("%s: VmRSS grew from %d to %d kB, over the bound of %d kB"):format(case, p.rss0, rss, rss_bound_kb))
  end
  function p.finish()
    p.tick()
    c:close()
    local p50, max = load.percentile(p.lat, 0.5), load.percentile(p.lat, 1)
    print(("\n[hostile] %-58s good producer p50 %6.2f ms  max %7.2f ms  (%d pushes)  VmRSS %d -> peak %d kB (bound +%d kB)")
          :format(case, p50 * 1000, max * 1000, #p.lat, p.rss0, p.rss_max, rss_bound_kb))
    assert.is_true(max < 1.0 * gw.time_scale, case .. ": the good producer waited over 1 s")
    assert.are.equal(p.n, g:value(name))
  end
  p.tick()
  return p
end

-- Sends `bytes` on a stream in chunks, a probe tick after each; stops
-- quietly when the server has cut the connection.
local function send_chunked(sock, bytes, chunk, tick)
  local i = 1
  while i <= #bytes do
    local n, err, partial = sock:send(bytes, i, math.min(#bytes, i + chunk - 1))
    if not n then
      if err == "timeout" then
        i = partial + 1
      else
        return err -- cut off
      end
    else
      i = n + 1
    end
    tick()
  end
end

-- Reads until the server closes the stream (or `seconds` pass); returns the
-- replies read and how it ended ("closed", or a reset the close caused when
-- unread bytes were left).
local function read_until_closed(c, seconds)
  c.sock:settimeout(seconds)
  local replies = {}
  while true do
    local r, err = c:receive()
    if not r then return replies, err end
    replies[#replies + 1] = r
  end
end

local function assert_cut_off(c, seconds, reason)
  local replies, err = read_until_closed(c, seconds)
  assert.is_truthy(err == "closed" or tostring(err):find("reset", 1, true),
                   "the server did not close the stream: " .. tostring(err))
  if reason and #replies > 0 then -- the reset of a close may overtake the reply
    local last = replies[#replies]
    assert.are.equal(reason, last.errors[#last.errors].reason)
  end
  c:close()
end

local function stream_connect(g, transport)
  return gw.connect(transport == "unix" and "unix:" .. g.sock or g.tcp)
end

-- A message whose first metric has `field` = `value_bytes` (raw msgpack).
local function metric_with(field, value_bytes)
  return mp.map(1) .. mp.str("metrics") .. mp.arr(1) .. mp.map(3)
      .. mp.str("name") .. mp.str(uniq("hostile")) .. mp.str("type") .. mp.str("gauge")
      .. mp.str(field) .. value_bytes
end

local function http_post(g, body)
  return gw.http_request("POST", g.url .. "/api/v1/push", body,
                         { ["content-type"] = "application/msgpack", ["content-length"] = tostring(#body) })
end

describe("hostile wire clients", function()
  local g

  setup(function()
    local dir = gw.tmpdir()
    gw.write_file(dir .. "/moongate.conf.lua", ("return { limits = { idle_timeout = %d } }\n"):format(IDLE))
    local sock = dir .. "/ingest.sock"
    g = gw.start({ "--config", dir .. "/moongate.conf.lua", "--ingest", "127.0.0.1:0", "--ingest", "unix:" .. sock })
    g.config_dir, g.sock = dir, sock
  end)
  teardown(function() g:stop() end)

  -- 100,000 levels of arrays as a metric's value, of maps as its labels:
  -- the scanner refuses the message at max_depth (8) without recursing.
  local DEEP = 100000
  local deep = {
    { "arrays 100k deep in a metric's value", "value", ("\x91"):rep(DEEP) .. "\x01" },
    { "maps 100k deep in a metric's labels", "labels", ("\x81\xa1k"):rep(DEEP) .. "\xa1v" },
  }
  for _, d in ipairs(deep) do
    for _, transport in ipairs { "tcp", "unix" } do
      it(transport .. ": " .. d[1] .. ": decode_error, the stream cut off", function()
        local case = transport .. ": " .. d[1]
        local p = probe(g, case, 16 * 1024)
        local before = g:rejected("decode_error")
        local c = stream_connect(g, transport)
        send_chunked(c.sock, metric_with(d[2], d[3]), 16384, p.tick)
        assert_cut_off(c, 5, "decode_error")
        assert.are.equal(before + 1, g:rejected("decode_error"))
        p.finish()
      end)
    end

    it("HTTP: " .. d[1] .. ": 400 decode_error", function()
      local p = probe(g, "HTTP: " .. d[1], 16 * 1024)
      local before = g:rejected("decode_error")
      local code, body = http_post(g, metric_with(d[2], d[3]))
      assert.are.equal(400, code)
      assert.is_truthy(body:find("max_depth", 1, true))
      p.tick()
      assert.are.equal(before + 1, g:rejected("decode_error"))
      p.finish()
    end)

    it("UDP: " .. d[1] .. " (as deep as a datagram holds): decode_error", function()
      local p = probe(g, "UDP: " .. d[1], 16 * 1024)
      local before = g:rejected("decode_error")
      local unit = d[2] == "value" and "\x91" or "\x81\xa1k"
      local n = math.floor(60000 / #unit)
      for _ = 1, 20 do
        gw.udp_send(g.udp, metric_with(d[2], unit:rep(n) .. "\x01"))
        p.tick()
      end
      gw.wait_for(function() return g:rejected("decode_error") == before + 20 end, 5, "20 counted datagrams")
      p.finish()
    end)
  end

  -- A header declaring 4 GiB (or 2^32-1 entries) with three bytes after it:
  -- refused at once as too_large, nothing allocated for the claim.
  local claims = {
    { "a str32 declaring 4 GiB", "help", "\xdb\xff\xff\xff\xff" },
    { "a bin32 declaring 4 GiB", "value", "\xc6\xff\xff\xff\xff" },
    { "an array32 declaring 2^32-1 elements", "value", "\xdd\xff\xff\xff\xff" },
    { "a map32 declaring 2^32-1 pairs", "labels", "\xdf\xff\xff\xff\xff" },
  }
  for _, transport in ipairs { "tcp", "unix", "udp", "http" } do
    it(transport .. ": headers declaring 4 GiB with 3 bytes after them: too_large", function()
      local case = transport .. ": 4 GiB headers (str32, bin32, array32, map32)"
      local p = probe(g, case, 16 * 1024)
      local before = g:rejected("too_large")
      for _, cl in ipairs(claims) do
        local bytes = metric_with(cl[2], cl[3]) .. "abc"
        if transport == "tcp" or transport == "unix" then
          local c = stream_connect(g, transport)
          c.sock:settimeout(5) -- the reply must come without any more bytes
          c:send(bytes)
          p.tick()
          local replies, err = read_until_closed(c, 5)
          c:close()
          assert.are.equal("closed", err, cl[1] .. ": the stream was not closed")
          assert.are.equal(1, #replies, cl[1] .. ": no error reply")
          assert.are.equal("too_large", replies[1].errors[1].reason)
          assert.is_truthy(replies[1].errors[1].detail:find("max_message_bytes", 1, true))
        elseif transport == "udp" then
          gw.udp_send(g.udp, bytes)
        else
          local code, body = http_post(g, bytes)
          assert.are.equal(413, code, cl[1])
          assert.is_truthy(body:find("too_large", 1, true))
        end
        p.tick()
      end
      gw.wait_for(function() return g:rejected("too_large") == before + #claims end, 5,
                  "every claim counted as too_large")
      p.finish()
    end)
  end

  -- Streams that declare 7 MiB (under max_message_bytes, 8 MiB) and send
  -- 1 KiB of it, then wait: the daemon holds what came (a 64 KiB buffer
  -- each), not what was declared, and closes each at idle_timeout.
  it("tcp, unix: 64 streams declaring 7 MiB, sending 1 KiB, left open: held small, closed at idle_timeout", function()
    local N = 64
    local p = probe(g, "64 streams declaring 7 MiB, 1 KiB sent, left open", 16 * 1024)
    local before = g:value('moongate_connections_accepted_total{transport="tcp"}')
    local before_unix = g:value('moongate_connections_accepted_total{transport="unix"}')
    local conns = {}
    for i = 1, N do
      local c = stream_connect(g, i % 2 == 0 and "unix" or "tcp")
      c:send(metric_with("help", mp.str32_header(7 << 20) .. ("x"):rep(1024)))
      conns[i] = c
      if i % 8 == 0 then p.tick() end
    end
    assert.are.equal(before + N / 2, g:value('moongate_connections_accepted_total{transport="tcp"}'))
    assert.are.equal(before_unix + N / 2, g:value('moongate_connections_accepted_total{transport="unix"}'))
    -- the good producer is served while they hang; then each is cut off
    local t_end = socket.gettime() + IDLE - 0.5
    while socket.gettime() < t_end do
      p.tick()
      socket.sleep(0.05)
    end
    for _, c in ipairs(conns) do
      local replies, err = read_until_closed(c, IDLE + 3)
      assert.are.equal("closed", err)
      assert.are.equal(0, #replies)
      c:close()
    end
    p.finish()
  end)

  -- A stream of messages within every limit that cost the most a byte to
  -- unpack (16,000 nils each, in a key the gateway ignores), after one
  -- cheap 7.5 MB message has grown the connection's buffer to the message
  -- cap. A child process keeps the socket full for 4 s, so every read finds
  -- megabytes, hundreds of messages. The connection must yield to the
  -- others after each turn, not decode on until its producer pauses.
  it("tcp: a stream of costly messages kept full by a child process: the good producer waits under a second", function()
    local p = probe(g, "a full stream of 16 KB messages of 16,000 nils", 64 * 1024)
    local name = uniq("costly")
    local function with_ignored(ignored)
      local m = moongate.encode { metrics = { { name = name, type = "counter", op = "add", value = 1 } } }
      return mp.map(2) .. m:sub(2) .. mp.str("ignored") .. ignored
    end
    local dir = gw.tmpdir()
    local big = with_ignored("\xc6" .. string.pack(">I4", 7500000) .. ("b"):rep(7500000))
    gw.write_file(dir .. "/big", big)
    gw.write_file(dir .. "/costly", with_ignored("\xdc" .. string.pack(">I2", 16000) .. ("\xc0"):rep(16000)))
    gw.write_file(dir .. "/feed.lua", [[
      local socket = require "socket"
      local function slurp(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end
      local dir, host, port = arg[1], arg[2], tonumber(arg[3])
      local big, costly = slurp(dir .. "/big"), slurp(dir .. "/costly")
      local s = assert(socket.connect(host, port))
      s:settimeout(1)
      assert(s:send(big))
      local batch, n = costly:rep(64), 0
      local t_end = socket.gettime() + 4
      while socket.gettime() < t_end do
        local ok = s:send(batch)
        if not ok then break end
        n = n + 64
      end
      s:close()
      io.write(n + 1, "\n")
    ]])
    local host, port = g.tcp:match("^(.*):(%d+)$")
    local feed = io.popen(("lua5.4 %s %s %s %s"):format(gw.quote(dir .. "/feed.lua"), gw.quote(dir),
                                                         host, port))
    local t_end = socket.gettime() + 5
    while socket.gettime() < t_end do
      p.tick()
      socket.sleep(0.02)
    end
    local sent = tonumber(feed:read("l"))
    feed:close()
    gw.sh("rm -rf " .. gw.quote(dir))
    assert.is_true(sent and sent > 64, "the child sent " .. tostring(sent) .. " messages")
    -- every whole message was decoded: the counter adds one each
    gw.wait_for(function() return g:value(name) == sent end, 20, "the costly messages decoded")
    p.finish()
  end)

  describe("truncated frames", function()
    it("tcp, unix: 100 streams each a whole message then half of one, then the end: decode_error each", function()
      local N = 100
      local p = probe(g, "100 streams ending inside a message", 16 * 1024)
      local before = g:rejected("decode_error")
      local names = {}
      for i = 1, N do
        local c = stream_connect(g, i % 2 == 0 and "unix" or "tcp")
        names[i] = uniq("before_truncation")
        local whole = moongate.encode { metrics = { { name = names[i], type = "gauge", value = i } } }
        local cut = moongate.encode { metrics = { { name = "never", type = "gauge", value = 1 } } }
        c:send(whole .. cut:sub(1, #cut // 2))
        assert(c.sock:shutdown("send"))
        assert_cut_off(c, 5, "decode_error")
        if i % 10 == 0 then p.tick() end
      end
      assert.are.equal(before + N, g:rejected("decode_error"))
      local body = g:scrape()
      for i = 1, N do assert.are.equal(i, gw.value(body, names[i])) end
      assert.is_nil(gw.value(body, "never"))
      p.finish()
    end)

    it("tcp: 32 streams cut inside a message and left open: closed at idle_timeout", function()
      local p = probe(g, "32 streams cut inside a message, left open", 16 * 1024)
      local conns = {}
      for i = 1, 32 do
        local c = stream_connect(g, "tcp")
        local m = moongate.encode { metrics = { { name = uniq("cut_open"), type = "gauge", value = 1 } } }
        c:send(m:sub(1, #m - 3))
        conns[i] = c
      end
      local t_end = socket.gettime() + IDLE - 0.5
      while socket.gettime() < t_end do
        p.tick()
        socket.sleep(0.05)
      end
      for _, c in ipairs(conns) do
        local replies, err = read_until_closed(c, IDLE + 3)
        assert.are.equal("closed", err)
        assert.are.equal(0, #replies)
        c:close()
      end
      p.finish()
    end)

    it("UDP and HTTP: truncated messages are decode_error", function()
      local p = probe(g, "UDP and HTTP truncated messages", 16 * 1024)
      local before = g:rejected("decode_error")
      local m = moongate.encode { metrics = { { name = "never_whole", type = "gauge", value = 1 } } }
      for cut = 1, 20 do
        gw.udp_send(g.udp, m:sub(1, cut))
        local code, body = http_post(g, m:sub(1, cut))
        assert.are.equal(400, code)
        assert.is_truthy(body:find("decode_error", 1, true))
        p.tick()
      end
      gw.wait_for(function() return g:rejected("decode_error") == before + 40 end, 5, "40 counted")
      assert.is_nil(g:value("never_whole"))
      p.finish()
    end)
  end)
end)

-- One producer sending a million distinct label values, against a script
-- holding `limits { max_input_series = 10000 }`: the store keeps 10,000
-- input series, every other update is dropped with reason `limit` (not
-- cached), and VmRSS stays within 32 MiB of where it started.
describe("a million label values from one producer", function()
  local g, dir
  local MAX_INPUTS, TOTAL, PER_MESSAGE = 10000, 1000000, 10000

  setup(function()
    dir = gw.tmpdir()
    gw.write_file(dir .. "/limits.lua", gw.read_file(gw.root .. "/spec/e2e/fixtures/hostile/limits.lua"))
    g = gw.start({ "--scripts", dir })
  end)
  teardown(function()
    g:stop()
    gw.sh("rm -rf " .. gw.quote(dir))
  end)

  it("is bounded by limits { max_input_series = 10000 }: the rest dropped as limit, memory flat", function()
    local RSS_BOUND = 32 * 1024
    local p = probe(g, "1M label values, max_input_series = 10000", RSS_BOUND)
    local dropped0 = g:value('moongate_samples_dropped_total{reason="limit"}') or 0
    local c = gw.connect(g.tcp)
    c.sock:settimeout(10)
    local accepted, dropped, rejected = 0, 0, 0
    for m = 1, TOTAL // PER_MESSAGE do
      local metrics = {}
      for i = 1, PER_MESSAGE do
        metrics[i] = { name = "hostile_cardinality", type = "gauge", value = i,
                       labels = { v = tostring((m - 1) * PER_MESSAGE + i) } }
      end
      c:send { ack = m, metrics = metrics }
      p.tick() -- while the gateway works through the message
      local r = assert(c:receive())
      assert.are.equal(m, r.ack)
      accepted, dropped, rejected = accepted + r.accepted, dropped + r.dropped, rejected + r.rejected
    end
    c:close()
    assert.are.equal(TOTAL, accepted + rejected)
    assert.are.equal(0, rejected)
    -- the probe's own series is an input too
    assert.are.equal(TOTAL - (MAX_INPUTS - 1), dropped)
    assert.are.equal(dropped0 + dropped, g:value('moongate_samples_dropped_total{reason="limit"}'))
    assert.are.equal(MAX_INPUTS, g:value('moongate_series{kind="input"}'))
    p.finish()
  end)
end)
