-- Remote write receivers for end-to-end specs, all on 127.0.0.1 and in
-- temp dirs removed on stop: Debian's victoria-metrics (/api/v1/write,
-- restartable on the same port and data), Debian's prometheus with its
-- remote write receiver, and a fault injector (a tiny luasocket HTTP server
-- in its own process) that answers with a scripted status and logs each
-- request it gets.
local gw = require "support.gateway"
local prometheus = require "support.prometheus"
local cjson = require "cjson"
local socket = require "socket"

local M = {}
local q = gw.quote

local function alive(pid)
  return gw.sh("kill -0 " .. pid .. " 2>/dev/null") == 0
end

local function kill(pid)
  gw.sh("kill -TERM " .. pid .. " 2>/dev/null")
  local ok = pcall(gw.wait_for, function() return not alive(pid) end, 15, "exit")
  if not ok then gw.sh("kill -KILL " .. pid .. " 2>/dev/null") end
end

-- The query helpers both stores share (Prometheus's /api/v1/query).
local function add_query(s)
  -- An instant query at `at` (seconds since the epoch; nil: now).
  function s.query_at(expr, at)
    local code, body = gw.http_request("GET", s.url .. "/api/v1/query?query=" ..
                                       prometheus.urlencode(expr) ..
                                       (at and ("&time=%.3f"):format(at) or ""))
    assert(code == 200, "query " .. expr .. ": " .. tostring(code) .. " " .. tostring(body))
    local doc = cjson.decode(body)
    assert(doc.status == "success", body)
    return doc.data.result
  end
  function s.query(expr) return s.query_at(expr) end
  -- The one sample's value, nil when there is none.
  function s.scalar(expr)
    local r = s.query(expr)
    assert(#r <= 1, "more than one sample: " .. expr .. " " .. cjson.encode(r))
    return r[1] and tonumber(r[1].value[2])
  end
  function s.await(expr, pred, seconds)
    local last
    local ok, err = pcall(gw.wait_for, function()
      last = s.scalar(expr)
      return last and pred(last)
    end, seconds or 20, expr)
    if not ok then error(tostring(err) .. "; last: " .. tostring(last), 2) end
    return last
  end
end

-- victoria-metrics with fresh data queryable at once; tls = {cert, key}
-- serves HTTPS with that certificate.
function M.victoria(tls)
  local v = { dir = gw.tmpdir(), port = prometheus.free_port() }
  v.url = (tls and "https" or "http") .. "://127.0.0.1:" .. v.port
  v.write_url = v.url .. "/api/v1/write"
  function v.start()
    local cmd = table.concat({
      "/usr/bin/victoria-metrics",
      q("-storageDataPath=" .. v.dir .. "/data"),
      q("-httpListenAddr=127.0.0.1:" .. v.port),
      "-search.latencyOffset=0s", "-search.disableCache",
      "-loggerLevel=WARN",
      tls and ("-tls " .. q("-tlsCertFile=" .. tls.cert) .. " " .. q("-tlsKeyFile=" .. tls.key)) or "",
    }, " ")
    gw.sh(cmd .. " >>" .. q(v.dir .. "/vm.log") .. " 2>&1 & echo $! > " .. q(v.dir .. "/pid"))
    v.pid = gw.read_file(v.dir .. "/pid"):match("%d+")
    gw.wait_for(function()
      if not alive(v.pid) then error("victoria-metrics exited:\n" .. (gw.read_file(v.dir .. "/vm.log") or "")) end
      if tls then
        return gw.sh("curl -skf -o /dev/null " .. q(v.url .. "/health")) == 0
      end
      return gw.http_request("GET", v.url .. "/health") == 200
    end, 20, "victoria-metrics /health")
  end
  function v.halt()
    if v.pid then kill(v.pid) end
    v.pid = nil
  end
  function v.stop()
    v.halt()
    gw.sh("rm -rf " .. q(v.dir))
  end
  add_query(v)
  v.start()
  return v
end

-- prometheus with --web.enable-remote-write-receiver and nothing to scrape.
function M.prometheus()
  local p = { dir = gw.tmpdir(), port = prometheus.free_port() }
  p.url = "http://127.0.0.1:" .. p.port
  p.write_url = p.url .. "/api/v1/write"
  gw.write_file(p.dir .. "/prometheus.yml", "global:\n  scrape_interval: 1m\n")
  local cmd = table.concat({
    prometheus.bin,
    q("--config.file=" .. p.dir .. "/prometheus.yml"),
    q("--storage.tsdb.path=" .. p.dir .. "/data"),
    q("--web.listen-address=127.0.0.1:" .. p.port),
    "--web.enable-remote-write-receiver", "--log.level=warn",
  }, " ")
  gw.sh(cmd .. " >" .. q(p.dir .. "/prom.log") .. " 2>&1 & echo $! > " .. q(p.dir .. "/pid"))
  p.pid = gw.read_file(p.dir .. "/pid"):match("%d+")
  gw.wait_for(function()
    if not alive(p.pid) then error("prometheus exited:\n" .. (gw.read_file(p.dir .. "/prom.log") or "")) end
    return gw.http_request("GET", p.url .. "/-/ready") == 200
  end, 20, "prometheus /-/ready")
  function p.stop()
    if p.pid then kill(p.pid) end
    p.pid = nil
    gw.sh("rm -rf " .. q(p.dir))
  end
  add_query(p)
  return p
end

-- The fault injector's program: answers the first `first` requests with
-- status `code` (and Retry-After when `after` is set), every later one
-- with 204; logs "time status bytes" per request. One connection at a
-- time, closed after each answer.
local SERVER = [[
local socket = require "socket"
local port, code, first, after, log = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3]), arg[4], arg[5]
local srv = assert(socket.bind("127.0.0.1", port))
local n = 0
while true do
  local c = srv:accept()
  c:settimeout(5)
  local len = 0
  local reqline = c:receive("*l")
  while reqline do
    local line = c:receive("*l")
    if not line or line == "" then break end
    local v = line:lower():match("^content%-length:%s*(%d+)")
    if v then len = tonumber(v) end
  end
  if not reqline then c:close() goto continue end
  local body = len > 0 and c:receive(len) or ""
  n = n + 1
  local st = n <= first and code or 204
  local f = io.open(log, "a")
  f:write(string.format("%.3f %d %d\n", socket.gettime(), st, #(body or "")))
  f:close()
  local extra = (st ~= 204 and after ~= "-") and ("Retry-After: " .. after .. "\r\n") or ""
  c:send("HTTP/1.1 " .. st .. " X\r\n" .. extra .. "Content-Length: 0\r\nConnection: close\r\n\r\n")
  c:close()
  ::continue::
end
]]

function M.fault(code, first, retry_after)
  local f = { dir = gw.tmpdir(), port = prometheus.free_port() }
  f.write_url = "http://127.0.0.1:" .. f.port .. "/api/v1/write"
  f.log = f.dir .. "/requests.log"
  gw.write_file(f.dir .. "/server.lua", SERVER)
  gw.sh(table.concat({ "lua5.4", q(f.dir .. "/server.lua"), tostring(f.port), tostring(code),
                       tostring(first), retry_after and tostring(retry_after) or "-", q(f.log) }, " ")
        .. " >/dev/null 2>&1 & echo $! > " .. q(f.dir .. "/pid"))
  f.pid = gw.read_file(f.dir .. "/pid"):match("%d+")
  gw.wait_for(function()
    local s = socket.connect("127.0.0.1", f.port)
    if s then s:close() return true end
  end, 10, "fault server")
  -- The requests so far: { {t=, status=, bytes=}, ... }
  function f.requests()
    local out = {}
    for line in (gw.read_file(f.log) or ""):gmatch("[^\n]+") do
      local t, st, b = line:match("(%S+) (%S+) (%S+)")
      out[#out + 1] = { t = tonumber(t), status = tonumber(st), bytes = tonumber(b) }
    end
    return out
  end
  function f.stop()
    if f.pid then kill(f.pid) end
    f.pid = nil
    gw.sh("rm -rf " .. q(f.dir))
  end
  return f
end

-- A config file's remote_write entry (Lua source) for url.
function M.dest(url, extra)
  return ('{ url = %q, %s }'):format(url, extra or "")
end

return M
