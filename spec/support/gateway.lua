-- Starts and stops a real moongate daemon for end-to-end specs: on
-- 127.0.0.1, port 0, its bound addresses read from its own log, readiness
-- awaited on GET /-/ready. Also small clients for every transport, and the
-- helpers the specs that push bad input share.
local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"
local luassert = require "luassert"
local moongate = require "moongate"
local exposition = require "support.exposition"

local M = {}

M.build = os.getenv("MOONGATE_BUILD") or "build"
M.root = os.getenv("MOONGATE_ROOT") or "."
M.bin = M.build .. "/gateway/moongate"
-- The binary's absolute path, for specs that run it from another dir.
M.bin_abs = M.bin
if M.bin:sub(1, 1) ~= "/" then
  local h = io.popen("pwd")
  M.bin_abs = h:read("*l") .. "/" .. M.bin
  h:close()
end
-- Sanitized builds run slower: ctest sets MG_TIME_SCALE there, and every
-- wall-clock limit of the specs is multiplied by it.
M.time_scale = tonumber(os.getenv("MG_TIME_SCALE")) or 1
-- Under AddressSanitizer a daemon's resident size is a multiple of what it
-- allocates: ctest sets MG_MEM_SCALE there, and memory bounds scale by it.
M.mem_scale = tonumber(os.getenv("MG_MEM_SCALE")) or 1

local function sh(cmd)
  local ok, _, code = os.execute(cmd)
  return ok and 0 or code
end
M.sh = sh

-- s quoted for sh, as one word.
function M.quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

function M.tmpdir()
  local p = io.popen("mktemp -d /tmp/moongate-spec.XXXXXX")
  local d = p:read("*l")
  p:close()
  return d
end

-- Scratch dirs a test makes with M.scratch_dir, removed by M.cleanup_dirs
-- (call it from after_each).
local scratch_dirs = {}

function M.scratch_dir()
  local d = M.tmpdir()
  scratch_dirs[#scratch_dirs + 1] = d
  return d
end

function M.cleanup_dirs()
  for _, d in ipairs(scratch_dirs) do sh("rm -rf " .. M.quote(d)) end
  scratch_dirs = {}
end

-- A fresh scripts dir (in a scratch dir) holding pipeline.lua = src;
-- returns the dir and the file's path.
function M.scripts_dir(src)
  local d = M.scratch_dir() .. "/scripts"
  assert(sh("mkdir " .. M.quote(d)) == 0)
  local path = d .. "/pipeline.lua"
  M.write_file(path, src)
  return d, path
end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.write_file(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- Polls fn every 50 ms until it returns a truthy value or `seconds` pass
-- (times the time scale).
function M.wait_for(fn, seconds, what)
  local deadline = socket.gettime() + (seconds or 10) * M.time_scale
  while socket.gettime() < deadline do
    local v = fn()
    if v then return v end
    socket.sleep(0.05)
  end
  error("timed out waiting for " .. (what or "a condition"), 2)
end

function M.http_request(method, url, body, headers)
  local chunks = {}
  local ok, code, resp_headers = http.request {
    url = url, method = method, headers = headers or {},
    source = body and ltn12.source.string(body) or nil,
    sink = ltn12.sink.table(chunks),
  }
  if not ok then return nil, code end
  return code, table.concat(chunks), resp_headers
end

-- A gateway process. args: extra CLI arguments (a list). opts.env: a
-- table of environment variables for the process.
function M.start(args, opts)
  opts = opts or {}
  local g = { dir = M.tmpdir() }
  g.log = g.dir .. "/stderr.log"
  local cmd = { M.bin, "--http", "127.0.0.1:0" }
  if not opts.no_ingest then
    cmd[#cmd + 1] = "--ingest"
    cmd[#cmd + 1] = "127.0.0.1:0"
  end
  for _, a in ipairs(args or {}) do cmd[#cmd + 1] = a end
  for i, a in ipairs(cmd) do cmd[i] = M.quote(a) end
  -- a sanitized daemon checks its own leaks, unlike the interpreter
  local env = os.getenv("MG_DAEMON_ASAN_OPTIONS")
  if env then table.insert(cmd, 1, "ASAN_OPTIONS=" .. env) end
  for k, v in pairs(opts.env or {}) do table.insert(cmd, 1, k .. "=" .. M.quote(v)) end
  sh(table.concat(cmd, " ") .. " 2>" .. g.log .. " & echo $! > " .. g.dir .. "/pid")
  g.pid = M.read_file(g.dir .. "/pid"):match("%d+")
  M.wait_for(function()
    local log = M.read_file(g.log) or ""
    if log:match("msg=ready") then return true end
    if sh("kill -0 " .. g.pid .. " 2>/dev/null") ~= 0 then
      error("moongate exited at start:\n" .. log)
    end
  end, 10, "moongate to log ready")
  local log = M.read_file(g.log)
  g.http = log:match("transport=http addr=(%S+)")
  g.tcp = log:match("transport=tcp addr=(%S+)")
  g.udp = log:match("transport=udp addr=(%S+)")
  if opts.cacert then -- an HTTPS gateway: curl checks it against the CA
    -- (opts.curl_args: what else readiness needs, a client certificate)
    g.url = "https://" .. g.http
    g.cacert = opts.cacert
    M.wait_for(function()
      return M.curl(g.url .. "/-/ready", opts.curl_args or { "--cacert", opts.cacert }) == 200
    end, 10, "/-/ready over HTTPS")
    return setmetatable(g, { __index = M.gateway })
  end
  g.url = "http://" .. g.http
  M.wait_for(function()
    return M.http_request("GET", g.url .. "/-/ready") == 200
  end, 10, "/-/ready")
  return setmetatable(g, { __index = M.gateway })
end

-- curl (bounded to 5 s): the HTTP status (0 when no answer), the body and
-- curl's exit code. args: extra curl arguments (a list).
function M.curl(url, args)
  local d = M.tmpdir()
  -- curl hangs at start under the sanitized build's ASan preload: never give it
  local cmd = { "env", "-u", "LD_PRELOAD", "curl", "-s", "--max-time", "5", "-o", d .. "/body",
                "-w", "%{http_code}" }
  for _, a in ipairs(args or {}) do cmd[#cmd + 1] = a end
  cmd[#cmd + 1] = url
  for i, a in ipairs(cmd) do cmd[i] = M.quote(a) end
  local p = io.popen(table.concat(cmd, " ") .. " 2>/dev/null; echo \" $?\"")
  local out = p:read("*a")
  p:close()
  local body = M.read_file(d .. "/body") or ""
  os.remove(d .. "/body")
  os.remove(d)
  local code, rc = out:match("^(%d*)%s+(%d+)")
  return tonumber(code) or 0, body, tonumber(rc)
end

-- A gateway started with `config` (Lua source) as its --config file; the
-- file's temp dir goes with g:stop(). opts as for M.start.
function M.start_with_config(config, opts, args)
  local dir = M.tmpdir()
  M.write_file(dir .. "/moongate.conf.lua", config)
  local a = { "--config", dir .. "/moongate.conf.lua" }
  for _, x in ipairs(args or {}) do a[#a + 1] = x end
  local g = M.start(a, opts)
  g.config_dir = dir
  return g
end

M.gateway = {}

-- A process that has exited but is not reaped yet counts as gone.
function M.gateway:alive()
  local stat = M.read_file("/proc/" .. self.pid .. "/stat")
  return stat ~= nil and not stat:match("^%d+ %b() [ZX]")
end

-- SIGTERM, then wait for the exit; returns the exit status.
function M.gateway:stop()
  if not self.pid then return end
  sh("kill -TERM " .. self.pid .. " 2>/dev/null")
  M.wait_for(function() return not self:alive() end, 15, "moongate to exit")
  self.pid = nil
  -- a sanitized daemon reports leaks and errors on stderr at exit: any
  -- report fails the spec that started it
  local log = self.log and M.read_file(self.log) or ""
  sh("rm -rf " .. M.quote(self.dir))
  if self.config_dir then sh("rm -rf " .. M.quote(self.config_dir)) end
  if log:find("Sanitizer", 1, true) or log:find("runtime error:", 1, true) then
    error("moongate's sanitizers reported:\n" .. log, 2)
  end
end

function M.gateway:scrape(headers)
  local code, body, h = M.http_request("GET", self.url .. "/metrics", nil, headers)
  assert(code == 200, "scrape answered " .. tostring(code))
  return body, h
end

M.value = exposition.value

function M.gateway:value(series)
  return M.value(self:scrape(), series)
end

local function host_port(addr)
  local h, p = addr:match("^(.*):(%d+)$")
  return h, tonumber(p)
end

-- A TCP (or unix) connection speaking msgpack.
function M.connect(addr)
  local c
  if addr:match("^unix:") then
    c = assert(require("socket.unix")())
    assert(c:connect(addr:sub(6)))
  else
    local h, p = host_port(addr)
    c = assert(socket.connect(h, p))
  end
  c:settimeout(10)
  local conn = { sock = c, buf = "" }
  function conn:send(msg)
    local bytes = type(msg) == "table" and moongate.encode(msg) or msg
    return assert(self.sock:send(bytes))
  end
  -- Reads one msgpack reply.
  function conn:receive()
    while true do
      if #self.buf > 0 then
        local v, n = moongate.decode(self.buf)
        if v then
          self.buf = self.buf:sub(n + 1)
          return v
        end
      end
      local data, err, partial = self.sock:receive(1)
      data = data or partial
      if not data or #data == 0 then return nil, err end
      self.buf = self.buf .. data
    end
  end
  function conn:close() self.sock:close() end
  return conn
end

function M.udp_send(addr, msg)
  local h, p = host_port(addr)
  local u = assert(socket.udp())
  assert(u:sendto(type(msg) == "table" and moongate.encode(msg) or msg, h, p))
  u:close()
end

function M.gateway:push_http(msg, headers)
  headers = headers or {}
  local body = type(msg) == "table" and moongate.encode(msg) or msg
  headers["content-type"] = headers["content-type"] or "application/msgpack"
  headers["content-length"] = tostring(#body)
  local code, resp = M.http_request("POST", self.url .. "/api/v1/push", body, headers)
  local json = require "cjson"
  local ok, decoded = pcall(json.decode, resp or "")
  return code, ok and decoded or resp
end

-- Pushes over TCP with an ack on a fresh connection; returns the reply, or
-- nil and why when none comes within 3 s.
function M.gateway:push_tcp(msg)
  local c = M.connect(self.tcp)
  c.sock:settimeout(3)
  if type(msg) == "table" then msg.ack = msg.ack or 1 end
  c:send(msg)
  local r, err = c:receive()
  c:close()
  return r, err
end

-- moongate_samples_rejected_total{reason} as scraped now, 0 when absent.
function M.gateway:rejected(reason)
  return self:value(('moongate_samples_rejected_total{reason="%s"}'):format(reason)) or 0
end

-- Names unique within a spec file: prefix_1, prefix_2, ...; M.seq is the
-- last number given.
M.seq = 0
function M.uniq(prefix)
  M.seq = M.seq + 1
  return prefix .. "_" .. M.seq
end

function M.auth(token)
  return token and { authorization = "Bearer " .. token } or nil
end

-- Msgpack bytes written by hand, for what a Lua table cannot say.
M.mp = {}
function M.mp.str(s) return moongate.encode(s) end
function M.mp.map(n) assert(n < 16); return string.char(0x80 + n) end
function M.mp.arr(n) assert(n < 16); return string.char(0x90 + n) end
function M.mp.str32_header(n) return "\xdb" .. string.pack(">I4", n) end

-- An error reply on a TCP stream, then the connection closed by the server.
function M.assert_fatal_reply(c, reason)
  local r = c:receive()
  luassert.is_table(r, "no error reply before the close")
  luassert.are.equal("string", type(r.error))
  luassert.are.equal(1, #r.errors)
  luassert.are.equal(reason, r.errors[1].reason)
  local more, err = c:receive()
  luassert.is_nil(more)
  luassert.are.equal("closed", err)
  return r
end

-- A good producer is still served, over HTTP and over TCP (with `token`
-- when the gateway wants one).
function M.assert_serves_good_producer(g, token)
  local name = M.uniq("good_after")
  local code, r = g:push_http({ metrics = { { name = name .. "_http", type = "gauge", value = 1 } } },
                              M.auth(token))
  luassert.are.equal(200, code)
  luassert.are.equal(1, r.accepted)
  local a, err = g:push_tcp { token = token, metrics = { { name = name .. "_tcp", type = "gauge", value = 2 } } }
  luassert.is_table(a, "no ack: " .. tostring(err))
  luassert.are.equal(1, a.accepted)
  local body = g:scrape()
  luassert.are.equal(1, M.value(body, name .. "_http"))
  luassert.are.equal(2, M.value(body, name .. "_tcp"))
end

return M
