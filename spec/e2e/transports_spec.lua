-- Every transport of docs/wire.md against a real daemon: TCP (acks),
-- UDP, unix socket (acks), HTTP push; source, ttl and dropped keys.
local gw = require "support.gateway"
local socket = require "socket"

describe("transports", function()
  local g, sock

  setup(function()
    sock = gw.tmpdir() .. "/ingest.sock"
    g = gw.start({ "--ingest", "127.0.0.1:0", "--ingest", "unix:" .. sock })
  end)
  teardown(function() g:stop() end)

  it("TCP: a message with ack is answered and its metrics exposed", function()
    local c = gw.connect(g.tcp)
    c:send { ack = 41, source = { job = "tcp" }, metrics = {
      { name = "tcp_requests_total", type = "counter", value = 3, labels = { code = "200" } },
      { name = "tcp_temp", type = "gauge", value = 21.5 },
    } }
    local r = c:receive()
    c:close()
    assert.are.same({ ack = 41, accepted = 2, rejected = 0, dropped = 0, errors = {}, drops = {} }, r)
    assert.are.equal(3, g:value('tcp_requests_total{code="200",job="tcp"}'))
    assert.are.equal(21.5, g:value('tcp_temp{job="tcp"}'))
  end)

  it("TCP: messages back to back, split across writes, are decoded as a stream", function()
    local moongate = require "moongate"
    local bytes = ""
    for i = 1, 50 do
      bytes = bytes .. moongate.encode { metrics = { { name = "stream_total", type = "counter", value = i } } }
    end
    bytes = bytes .. moongate.encode { ack = 1, metrics = {} }
    local c = gw.connect(g.tcp)
    -- odd-sized pieces so that messages straddle writes
    for i = 1, #bytes, 7 do c:send(bytes:sub(i, i + 6)) end
    local r = c:receive()
    c:close()
    assert.are.equal(1, r.ack)
    assert.are.equal(50, g:value("stream_total"))
  end)

  it("TCP: only messages that ask for an ack are answered", function()
    local c = gw.connect(g.tcp)
    c:send { metrics = { { name = "quiet", value = 1 } } }
    c:send { ack = 2, metrics = { { name = "quiet", value = 2 } } }
    local r = c:receive()
    c:close()
    assert.are.equal(2, r.ack)
  end)

  it("UDP: one message a datagram, on the TCP address", function()
    assert.are.equal(g.tcp, g.udp)
    gw.udp_send(g.udp, { source = { job = "udp" }, metrics = { { name = "udp_gauge", type = "gauge", value = 7 } } })
    gw.wait_for(function() return g:value('udp_gauge{job="udp"}') == 7 end, 5, "the datagram")
  end)

  it("unix socket: acks like TCP", function()
    local c = gw.connect("unix:" .. sock)
    c:send { ack = 9, metrics = { { name = "unix_gauge", type = "gauge", value = 1.25 } } }
    local r = c:receive()
    c:close()
    assert.are.equal(9, r.ack)
    assert.are.equal(1, r.accepted)
    assert.are.equal(1.25, g:value("unix_gauge"))
  end)

  it("HTTP: POST /api/v1/push answers JSON", function()
    local code, r = g:push_http { metrics = {
      { name = "http_pushed", type = "gauge", value = 5, labels = { a = "b" } },
      { name = "bad-name", value = 1 },
    } }
    assert.are.equal(200, code)
    assert.are.equal(1, r.accepted)
    assert.are.equal(1, r.rejected)
    assert.are.equal("invalid_metric_name", r.errors[1].reason)
    assert.are.equal(1, r.errors[1].index)
    assert.are.equal(5, g:value('http_pushed{a="b"}'))
  end)

  it("HTTP: several messages in one body", function()
    local moongate = require "moongate"
    local body = moongate.encode { metrics = { { name = "multi_a", value = 1 } } }
              .. moongate.encode { metrics = { { name = "multi_b", value = 2 } } }
    local code, r = g:push_http(body)
    assert.are.equal(200, code)
    assert.are.equal(2, r.accepted)
  end)

  -- HTTP/1.1 pipelining: requests sent back to back on one connection are
  -- answered in order. The middle one's body (about 1.5 MB) takes more than
  -- one wake-up's reads and shares its last read with the next request.
  it("HTTP: pipelined POSTs on one connection, a large body among them", function()
    local moongate = require "moongate"
    local cjson = require "cjson"
    local function msg(prefix, n)
      local m = {}
      for i = 1, n do
        m[i] = { name = prefix, type = "gauge", value = i, labels = { i = tostring(i) } }
      end
      return moongate.encode { metrics = m }
    end
    local function post(body)
      return "POST /api/v1/push HTTP/1.1\r\nHost: moongate\r\n"
             .. "Content-Type: application/msgpack\r\nContent-Length: " .. #body
             .. "\r\n\r\n" .. body
    end
    local big = {}
    for k = 1, 3 do big[k] = msg("pipelined_big_" .. k, 10000) end
    big = table.concat(big)
    assert.is_true(#big > 1500000, #big)
    local bodies = { msg("pipelined_a", 3), big, msg("pipelined_c", 2) }
    local want = { 3, 30000, 2 }
    local h, port = g.http:match("^(.*):(%d+)$")
    local c = assert(socket.connect(h, tonumber(port)))
    c:settimeout(10)
    assert(c:send(post(bodies[1]) .. post(bodies[2]) .. post(bodies[3])))
    for k = 1, 3 do
      local status = assert(c:receive("*l"))
      assert.are.equal("HTTP/1.1 200 OK", status)
      local len
      repeat
        local line = assert(c:receive("*l"))
        len = len or tonumber(line:lower():match("^content%-length:%s*(%d+)"))
      until line == ""
      local body = assert(c:receive(len))
      local r = cjson.decode(body)
      assert.are.equal(want[k], r.accepted)
    end
    c:close()
    assert.are.equal(2, g:value('pipelined_c{i="2"}'))
    assert.are.equal(9999, g:value('pipelined_big_3{i="9999"}'))
  end)

  it("source labels win and the metric's own becomes exported_", function()
    g:push_http { source = { job = "src", instance = "i1" }, metrics = {
      { name = "clash", value = 1, labels = { job = "mine" } } } }
    assert.are.equal(1, g:value('clash{exported_job="mine",instance="i1",job="src"}'))
  end)

  it("dropped: producer-side drops are added per reason", function()
    g:push_http { dropped = { buffer_full = 5, timeout = 2 }, metrics = {} }
    g:push_http { dropped = { buffer_full = 1 }, metrics = {} }
    assert.are.equal(6, g:value('moongate_client_dropped_total{reason="buffer_full"}'))
    assert.are.equal(2, g:value('moongate_client_dropped_total{reason="timeout"}'))
  end)

  it("counts what each transport received", function()
    local body = g:scrape()
    assert.is_true(gw.value(body, 'moongate_samples_received_total{transport="tcp"}') >= 2)
    assert.is_true(gw.value(body, 'moongate_samples_received_total{transport="udp"}') >= 1)
    assert.is_true(gw.value(body, 'moongate_samples_received_total{transport="unix"}') >= 1)
    assert.is_true(gw.value(body, 'moongate_samples_received_total{transport="http"}') >= 2)
  end)

  it("ttl: a series pushed with a 1 s ttl leaves the scrape", function()
    g:push_http { ttl = 1, metrics = { { name = "short_lived", type = "gauge", value = 1 } } }
    assert.are.equal(1, g:value("short_lived"))
    gw.wait_for(function() return g:value("short_lived") == nil end, 5, "expiry")
  end)
end)
