-- Hostile peers against a real daemon, on 127.0.0.1, each bounded in count
-- and time: a producer that never reads its acks (CPU, idle_timeout, and
-- SIGTERM's drain deadline), running out of file descriptors, connections
-- past max_connections, unfinished HTTP bodies, methods no route answers,
-- and slowloris on HTTP and on TCP ingest. Throughout each, a good producer
-- on its own connections must be answered within a second: its latencies
-- (p50 and max) and the daemon's peak resident memory are printed per case.
local gw = require "support.gateway"
local moongate = require "moongate"
local socket = require "socket"

local HZ = 100 -- clock ticks per second in /proc/<pid>/stat (getconf CLK_TCK)
do
  local p = io.popen("getconf CLK_TCK")
  HZ = tonumber(p:read("*l")) or HZ
  p:close()
end

-- ---- the daemon ----

-- Starts moongate with `config` (Lua source); with `nofile`, under
-- `ulimit -n nofile`. Listens on TCP, and on a unix socket g.unix. The
-- exit status lands in g.dir/rc.
local function start(config, nofile)
  local g = { dir = gw.tmpdir() }
  g.log = g.dir .. "/stderr.log"
  g.unix = "unix:" .. g.dir .. "/ingest.sock"
  gw.write_file(g.dir .. "/moongate.conf.lua", config)
  local cmd = table.concat({ gw.quote(gw.bin), "--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0",
                             "--ingest", gw.quote(g.unix),
                             "--config", gw.quote(g.dir .. "/moongate.conf.lua") }, " ")
  local script = (nofile and ("ulimit -n " .. nofile .. "; ") or "") .. cmd .. " 2>" .. g.log
                 .. " & echo $! > " .. g.dir .. "/pid; wait $!; echo $? > " .. g.dir .. "/rc"
  gw.sh("sh -c " .. gw.quote(script) .. " </dev/null >/dev/null 2>&1 &")
  g.pid = gw.wait_for(function()
    local p = gw.read_file(g.dir .. "/pid")
    return p and p:match("%d+")
  end, 5, "the daemon's pid")
  gw.wait_for(function()
    local log = gw.read_file(g.log) or ""
    if log:match("msg=ready") then return true end
    if gw.read_file(g.dir .. "/rc") then error("moongate exited at start:\n" .. log) end
  end, 10, "moongate to log ready")
  local log = gw.read_file(g.log)
  g.http = log:match("transport=http addr=(%S+)")
  g.tcp = log:match("transport=tcp addr=(%S+)")
  g.url = "http://" .. g.http
  return setmetatable(g, { __index = gw.gateway })
end

-- Stops g whatever state a failed test left it in.
local function finish(g)
  if not g or not g.pid then return end
  if not pcall(g.stop, g) and g.pid then
    gw.sh("kill -KILL " .. g.pid .. " 2>/dev/null")
    gw.sh("rm -rf " .. gw.quote(g.dir))
  end
end

local function cpu_seconds(g)
  local stat = assert(gw.read_file("/proc/" .. g.pid .. "/stat"))
  local rest = stat:match("%) (.*)$")
  local f = {}
  for w in rest:gmatch("%S+") do f[#f + 1] = w end
  -- utime and stime are fields 14 and 15; rest starts at field 3
  return (tonumber(f[12]) + tonumber(f[13])) / HZ
end

local function rss_kb(g)
  local status = gw.read_file("/proc/" .. g.pid .. "/status") or ""
  return tonumber(status:match("VmRSS:%s*(%d+)")) or 0
end

local function host_port(addr)
  local h, p = addr:match("^(.*):(%d+)$")
  return h, tonumber(p)
end

-- ---- raw HTTP/1.1, so connections stay open and requests stay unfinished ----

local function http_conn(g, timeout)
  local h, p = host_port(g.http)
  local s = socket.tcp()
  s:settimeout(timeout or 5)
  local ok, err = s:connect(h, p)
  if not ok then
    s:close()
    return nil, err
  end
  return s
end

-- Reads one response: status, body, headers (lower-case names); nil and the
-- error when the connection ends first.
local function read_response(s)
  local line, err = s:receive("*l")
  if not line then return nil, err end
  local code = tonumber(line:match("^HTTP/1%.%d (%d+)"))
  local hdr = {}
  while true do
    local l, e = s:receive("*l")
    if not l then return nil, e end
    if l == "" then break end
    local k, v = l:match("^([^:]+):%s*(.*)$")
    if k then hdr[k:lower()] = v end
  end
  local body = ""
  if (hdr["transfer-encoding"] or ""):lower() == "chunked" then
    -- /metrics streams its body in chunks
    local parts = {}
    while true do
      local size = s:receive("*l")
      if not size then return nil, "closed" end
      local n = tonumber(size:match("^%x+"), 16)
      if not n then return nil, "bad chunk" end
      if n == 0 then
        s:receive("*l")
        break
      end
      parts[#parts + 1] = s:receive(n) or ""
      s:receive("*l")
    end
    body = table.concat(parts)
  elseif hdr["content-length"] then
    body = s:receive(tonumber(hdr["content-length"])) or ""
  elseif (hdr.connection or ""):lower() == "close" then
    body = s:receive("*a") or ""
  end
  return code, body, hdr
end

local function request(method, path, body)
  local r = method .. " " .. path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
  if body then
    r = r .. "Content-Type: application/msgpack\r\nContent-Length: " .. #body .. "\r\n"
  end
  return r .. "\r\n" .. (body or "")
end

local function http_do(s, method, path, body)
  assert(s:send(request(method, path, body)))
  return read_response(s)
end

-- The connection's next event: "closed", a status code, or "open" when
-- nothing comes within `wait` seconds.
local function outcome(s, wait)
  s:settimeout(wait)
  local code, err = read_response(s)
  if code then return code end
  if err == "timeout" then return "open" end
  return "closed"
end

-- ---- the good producer: a kept-alive HTTP connection and a TCP one ----

local function producer(g)
  local p = { g = g, lat = {}, rss_max = 0, name = gw.uniq("hostile_good") }
  p.http = assert(http_conn(g))
  p.tcp = gw.connect(g.tcp)
  p.tcp.sock:settimeout(5)
  -- One push each way, timed; both must be answered within a second.
  function p:probe()
    local body = moongate.encode { metrics = { { name = self.name, type = "gauge", value = 1 } } }
    local t0 = socket.gettime()
    local code = http_do(self.http, "POST", "/api/v1/push", body)
    local t1 = socket.gettime()
    assert.are.equal(200, code, "the good producer's HTTP push was not answered")
    self.tcp:send { ack = 1, metrics = { { name = self.name, type = "gauge", value = 2 } } }
    local r = self.tcp:receive()
    local t2 = socket.gettime()
    assert.is_table(r, "the good producer's TCP push was not acknowledged")
    assert.are.equal(1, r.accepted)
    self.lat[#self.lat + 1] = t1 - t0
    self.lat[#self.lat + 1] = t2 - t1
    self.rss_max = math.max(self.rss_max, rss_kb(self.g))
  end
  -- Probes every 100 ms for `seconds`, calling each() between probes.
  function p:probe_for(seconds, each)
    local deadline = socket.gettime() + seconds
    repeat
      self:probe()
      if each then each() end
      socket.sleep(0.1)
    until socket.gettime() >= deadline
  end
  function p:value(series)
    local code, body = http_do(self.http, "GET", "/metrics")
    assert.are.equal(200, code)
    return gw.value(body, series) or 0
  end
  -- Prints and checks the latencies and the peak RSS.
  function p:report(case, rss_bound_kb)
    table.sort(self.lat)
    local p50 = self.lat[math.max(1, math.ceil(#self.lat / 2))]
    local max = self.lat[#self.lat]
    print(("hostile_net %-28s good producer p50 %6.1f ms, max %6.1f ms over %d pushes; "
           .. "peak RSS %d kB (bound %d kB)"):format(case, p50 * 1000, max * 1000, #self.lat,
                                                     self.rss_max, rss_bound_kb))
    assert.is_true(max < 1.0 * gw.time_scale, ("the good producer waited %.3f s"):format(max))
    rss_bound_kb = rss_bound_kb * gw.mem_scale
    assert.is_true(self.rss_max < rss_bound_kb,
                   ("peak RSS %d kB, bound %d kB"):format(self.rss_max, rss_bound_kb))
  end
  function p:close()
    self.http:close()
    self.tcp:close()
  end
  return p
end

local function closed(p, reason)
  return p:value(('moongate_connections_closed_total{reason="%s"}'):format(reason))
end

-- A TCP producer asking for acks that it never reads, with a small receive
-- buffer: pushes until the gateway stops taking its bytes (or 16 MB, or
-- 5 s). On TCP unless `unix`. Returns the socket, when the gateway stopped
-- taking bytes, and how many it took.
local function never_reading_client(g, p, unix)
  local c
  if unix then
    c = assert(require("socket.unix")())
    assert(c:connect(g.unix:sub(6)))
  else
    local h, port = host_port(g.tcp)
    c = socket.tcp()
    c:setoption("recv-buffer-size", 4096)
    assert(c:connect(h, port))
  end
  c:settimeout(0)
  local batch = moongate.encode { ack = 1, metrics = { { name = "hostile_slow_reader", type = "gauge", value = 1 } } }
  batch = batch:rep(1000)
  local pending, sent, t0, last_probe = batch, 0, socket.gettime(), 0
  local stalled
  while sent < 16e6 and socket.gettime() - t0 < 5 do
    local n, _, partial = c:send(pending)
    local k = n or partial or 0
    sent = sent + k
    if k == #pending then
      pending, stalled = batch, nil
    else
      pending = pending:sub(k + 1)
      if k == 0 then
        stalled = stalled or socket.gettime()
        if socket.gettime() - stalled > 0.5 then break end
        socket.sleep(0.01)
      else
        stalled = nil
      end
    end
    if p and socket.gettime() - last_probe > 0.1 then
      p:probe()
      last_probe = socket.gettime()
    end
  end
  return c, stalled or socket.gettime(), sent
end

-- ---- the cases ----

describe("a producer that asks for acks and never reads them", function()
  local g
  setup(function() g = start("return { limits = { idle_timeout = 2 } }") end)
  teardown(function() finish(g) end)

  it("costs no CPU while it waits and is closed at idle_timeout as a slow reader", function()
    local p = producer(g)
    p:probe()
    local c, stalled, sent = never_reading_client(g, p)
    assert.is_true(sent > 0)
    -- The gateway waits on the peer: CPU time over 1.5 s stays low (a
    -- read event left armed spins a core: 1.5 s of 1.5 s).
    local cpu0, t0 = cpu_seconds(g), socket.gettime()
    p:probe_for(1.5)
    local used = cpu_seconds(g) - cpu0
    local window = socket.gettime() - t0
    print(("hostile_net slow reader: %.0f kB pushed; daemon CPU %.2f s over %.2f s")
          :format(sent / 1024, used, window))
    assert.is_true(used < 0.2 * window, ("the daemon used %.2f s of CPU in %.2f s"):format(used, window))
    -- Closed within idle_timeout (2 s) of its stall, counted.
    gw.wait_for(function() return closed(p, "slow_reader") >= 1 end, 2.5,
                "the slow reader to be closed")
    assert.is_true(socket.gettime() - stalled < 2 + 1.5)
    c:close()
    p:probe()
    p:report("slow reader", 32 * 1024)
    p:close()
  end)
end)

describe("SIGTERM with a never-reading producer connected", function()
  it("exits 0 within drain_timeout", function()
    local g = start("return { drain_timeout = 1, limits = { idle_timeout = 30 } }")
    local ok, err = pcall(function()
      -- On a unix socket, whose small buffers (no autotuning as on
      -- loopback TCP) leave the drain with replies it cannot write, and
      -- fewer than the 1 MiB after which it gives up on the reader: the
      -- drain ends at its deadline.
      local c = never_reading_client(g, nil, true)
      local t0 = socket.gettime()
      gw.sh("kill -TERM " .. g.pid)
      gw.wait_for(function() return gw.read_file(g.dir .. "/rc") end, 1 + 2,
                  "moongate to exit after SIGTERM")
      local took = socket.gettime() - t0
      print(("hostile_net drain: exited %.2f s after SIGTERM (drain_timeout 1 s)"):format(took))
      assert.is_true(took >= 0.9, "the drain did not wait for the reader")
      assert.are.equal("0", gw.read_file(g.dir .. "/rc"):match("%d+"))
      assert.is_truthy(gw.read_file(g.log):match("msg=stopped"))
      c:close()
      g.pid = nil
      gw.sh("rm -rf " .. gw.quote(g.dir))
    end)
    finish(g)
    assert(ok, err)
  end)
end)

describe("out of file descriptors (ulimit -n 64)", function()
  local g
  setup(function() g = start("return { limits = { header_timeout = 5 } }", 64) end)
  teardown(function() finish(g) end)

  it("keeps serving, pauses the listener, logs a line a second, counts the failures", function()
    assert.is_truthy(gw.read_file(g.log):match("does not fit the open%-files limit"),
                     "no warning that max_connections exceeds the limit")
    local p = producer(g)
    p:probe()
    local log0 = #gw.read_file(g.log)
    local flood = {}
    for _ = 1, 120 do
      local s = http_conn(g, 1)
      if not s then break end
      flood[#flood + 1] = s
    end
    p:probe_for(2)
    local errors = p:value("moongate_accept_errors_total")
    local grown = #gw.read_file(g.log) - log0
    print(("hostile_net EMFILE: %d connections opened, %d accept errors, log grew %d bytes")
          :format(#flood, errors, grown))
    assert.is_true(#flood > 64, "the flood did not pass the descriptor limit")
    assert.is_true(errors >= 1, "accept failures are not counted")
    assert.is_true(grown < 4096, "the log grew " .. grown .. " bytes in 2 s")
    for _, s in ipairs(flood) do s:close() end
    -- A new producer once the flood is gone: answered within a second of
    -- its connect (the paused listener resumes within 0.5 s).
    local t0 = socket.gettime()
    local s = assert(http_conn(g))
    local code = http_do(s, "GET", "/-/ready")
    local took = socket.gettime() - t0
    s:close()
    print(("hostile_net EMFILE: a new connection after the flood answered in %.1f ms"):format(took * 1000))
    assert.are.equal(200, code)
    assert.is_true(took < 1.0 * gw.time_scale)
    p:probe()
    p:report("out of descriptors", 32 * 1024)
    p:close()
  end)
end)

describe("HTTP past max_connections = 4", function()
  local g
  setup(function() g = start("return { limits = { max_connections = 4, header_timeout = 5 } }") end)
  teardown(function() finish(g) end)

  it("answers each connection over the cap 503 and closes it, counts every connection", function()
    local p = producer(g)
    p:probe()
    local idle = {}
    for i = 1, 3 do idle[i] = assert(http_conn(g)) end
    gw.wait_for(function() return p:value('moongate_connections_open{transport="http"}') == 4 end,
                2, "four open HTTP connections")
    local refused0 = closed(p, "refused")
    -- A flood past the cap, each sending its request at once: the answer
    -- is 503 and a close, never the request's.
    local n503 = 0
    local flood = 100
    for i = 1, flood do
      local s = assert(http_conn(g))
      s:send(request("GET", "/-/ready"))
      local code, _, hdr = read_response(s)
      if code == 503 and (hdr.connection or ""):lower() == "close" and outcome(s, 1) == "closed" then
        n503 = n503 + 1
      end
      s:close()
      if i % 10 == 0 then p:probe() end
    end
    assert.are.equal(flood, n503)
    assert.are.equal(refused0 + flood, closed(p, "refused"))
    -- Closing the idle ones frees their places.
    for _, s in ipairs(idle) do s:close() end
    gw.wait_for(function() return p:value('moongate_connections_open{transport="http"}') == 1 end,
                2, "the closed connections to be counted out")
    local s = assert(http_conn(g))
    assert.are.equal(200, (http_do(s, "GET", "/-/ready")))
    s:close()
    p:probe()
    p:report("flood past max_connections", 32 * 1024)
    p:close()
  end)
end)

describe("unfinished HTTP bodies", function()
  local g
  setup(function()
    g = start("return { limits = { max_http_buffered_bytes = 4194304, header_timeout = 2 } }")
  end)
  teardown(function() finish(g) end)

  local function start_body(declared, send)
    local s = assert(http_conn(g))
    local head = "POST /api/v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/msgpack\r\n"
                 .. "Content-Length: " .. declared .. "\r\n\r\n"
    s:send(head)
    s:send(("\0"):rep(send))
    return s
  end

  it("bounds the bytes in flight across connections (503) and the time a body may take (408)", function()
    local p = producer(g)
    p:probe()
    local conns = {}
    for i = 1, 8 do
      conns[i] = start_body(3 << 20, 1 << 20)
      p:probe()
    end
    p:probe_for(0.3)
    local full = closed(p, "buffer_full")
    assert.is_true(full >= 4, "only " .. full .. " connections cut at max_http_buffered_bytes")
    -- The rest have their bodies cut at header_timeout (2 s) with a 408.
    local n408, nclosed = 0, 0
    p:probe_for(2.2)
    for _, s in ipairs(conns) do
      local o = outcome(s, 0.5)
      if o == 408 then n408 = n408 + 1 end
      if o ~= "open" then nclosed = nclosed + 1 end
      s:close()
    end
    print(("hostile_net bodies: %d cut at the buffered bound, %d at the deadline (408)"):format(full, n408))
    assert.are.equal(8, nclosed)
    assert.is_true(n408 >= 1)
    assert.is_true(closed(p, "request_timeout") >= n408)
    p:report("unfinished bodies", 32 * 1024)
    p:close()
  end)

  it("gives a kept-alive connection's later request the same deadline", function()
    local s = assert(http_conn(g))
    assert.are.equal(200, (http_do(s, "GET", "/-/ready")))
    s:send("POST /api/v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/msgpack\r\n"
           .. "Content-Length: 100\r\n\r\nonly a part")
    local t0 = socket.gettime()
    assert.are.equal(408, outcome(s, 4))
    assert.is_true(socket.gettime() - t0 < 2 + 1)
    s:close()
  end)

  it("answers CONNECT and other methods no route takes 405 with Allow", function()
    for _, m in ipairs { "CONNECT 127.0.0.1:443", "OPTIONS /metrics", "TRACE /", "PATCH /api/v1/push" } do
      local s = assert(http_conn(g, 3))
      s:send(m .. " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
      local code, _, hdr = read_response(s)
      assert.are.equal(405, code, m)
      assert.are.equal("GET, HEAD, POST, PUT, DELETE", hdr.allow)
      s:close()
    end
  end)
end)

describe("slowloris", function()
  local g
  setup(function() g = start("return { limits = { header_timeout = 2 } }") end)
  teardown(function() finish(g) end)

  -- Sends `text` a byte per 100 ms on each of `n` connections for at most
  -- 3.5 s, probing the good producer between rounds; returns how many
  -- connections the gateway cut.
  local function trickle(p, conns, text)
    local cut = {}
    local i = 0
    p:probe_for(3.5, function()
      i = i + 1
      for k, s in ipairs(conns) do
        if not cut[k] then
          s:settimeout(0)
          local _, err = s:send(text:sub(i, i))
          local got, rerr = s:receive(1)
          if err == "closed" or got or rerr == "closed" then cut[k] = true end
        end
      end
    end)
    local n = 0
    for k, s in ipairs(conns) do
      if cut[k] then n = n + 1 end
      s:close()
    end
    return n
  end

  it("on HTTP: headers a byte at a time are cut at header_timeout", function()
    local p = producer(g)
    p:probe()
    local before = closed(p, "request_timeout")
    local conns = {}
    for i = 1, 20 do conns[i] = assert(http_conn(g)) end
    local header = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " .. ("a"):rep(200)
    local cut = trickle(p, conns, header)
    assert.are.equal(20, cut)
    assert.is_true(closed(p, "request_timeout") - before >= 20)
    p:report("slowloris HTTP", 32 * 1024)
    p:close()
  end)

  it("on TCP ingest: a message a byte at a time is cut at header_timeout", function()
    local p = producer(g)
    p:probe()
    local before = closed(p, "request_timeout")
    local conns = {}
    for i = 1, 20 do conns[i] = gw.connect(g.tcp).sock end
    local msg = moongate.encode { metrics = { { name = "hostile_slowloris", type = "gauge", value = 1,
                                                labels = { pad = ("p"):rep(100) } } } }
    local cut = trickle(p, conns, msg)
    assert.are.equal(20, cut)
    assert.is_true(closed(p, "request_timeout") - before >= 20)
    p:report("slowloris TCP", 32 * 1024)
    p:close()
  end)
end)
