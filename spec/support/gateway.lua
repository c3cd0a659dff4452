-- Starts and stops a real moongate daemon for end-to-end specs: on
-- 127.0.0.1, port 0, its bound addresses read from its own log, readiness
-- awaited on GET /-/ready. Also small clients for every transport.
local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"
local moongate = require "moongate"

local M = {}

M.build = os.getenv("MOONGATE_BUILD") or "build"
M.root = os.getenv("MOONGATE_ROOT") or "."
M.bin = M.build .. "/gateway/moongate"

local function sh(cmd)
  local ok, _, code = os.execute(cmd)
  return ok and 0 or code
end
M.sh = sh

function M.tmpdir()
  local p = io.popen("mktemp -d /tmp/moongate-spec.XXXXXX")
  local d = p:read("*l")
  p:close()
  return d
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

-- Polls fn every 50 ms until it returns a truthy value or `seconds` pass.
function M.wait_for(fn, seconds, what)
  local deadline = socket.gettime() + (seconds or 10)
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

-- A gateway process. args: extra CLI arguments (a list).
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
  for i, a in ipairs(cmd) do cmd[i] = "'" .. a:gsub("'", "'\\''") .. "'" end
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
  g.url = "http://" .. g.http
  M.wait_for(function()
    return M.http_request("GET", g.url .. "/-/ready") == 200
  end, 10, "/-/ready")
  return setmetatable(g, { __index = M.gateway })
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
  sh("rm -rf '" .. self.dir .. "'")
end

function M.gateway:scrape(headers)
  local code, body, h = M.http_request("GET", self.url .. "/metrics", nil, headers)
  assert(code == 200, "scrape answered " .. tostring(code))
  return body, h
end

-- The value of one exposed sample line, e.g. 'name{a="b"}', or nil.
function M.value(body, series)
  for line in body:gmatch("[^\n]+") do
    if line:sub(1, #series + 1) == series .. " " then
      return tonumber(line:sub(#series + 2):match("^(%S+)"))
    end
  end
end

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

return M
