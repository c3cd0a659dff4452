-- Starts and stops a real Alertmanager (Debian's
-- /usr/bin/prometheus-alertmanager 0.25, or $ALERTMANAGER) for end-to-end
-- specs, and reads its v2 API. Everything on 127.0.0.1: no gossip
-- (--cluster.listen-address=""), a temp storage dir, and a config whose one
-- receiver has no integrations, so a notification goes nowhere; the route
-- groups by alertname with group_wait 0s and group_interval 1s.
--
-- What GET /api/v2/alerts answers (api/v2/api.go, alertFilter): an alert
-- whose endsAt has passed is left out whatever the query says, so a
-- resolved alert disappears from it; alertmanager_alerts_received_total
-- {status="firing"|"resolved"} on /metrics counts what the POSTs carried.
local gw = require "support.gateway"
local socket = require "socket"
local cjson = require "cjson"

local M = {}

M.bin = os.getenv("ALERTMANAGER") or "/usr/bin/prometheus-alertmanager"

local q = gw.quote

M.CONFIG = table.concat({
  "route:",
  "  receiver: blackhole",
  "  group_by: [alertname]",
  "  group_wait: 0s",
  "  group_interval: 1s",
  "  repeat_interval: 1h",
  "receivers:",
  "  - name: blackhole",
  "",
}, "\n")

-- Binds 127.0.0.1:0 to learn a free port, then gives it back.
function M.free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

-- A process that has exited but is not reaped yet counts as gone.
local function alive(pid)
  local stat = gw.read_file("/proc/" .. pid .. "/stat")
  return stat ~= nil and not stat:match("^%d+ %b() [ZX]")
end

-- An Alertmanager listening on 127.0.0.1:port (a free one when nil);
-- readiness awaited on GET /-/ready. opts.dir reuses the dir of a stopped
-- one (a restart: its storage, silences and notification log) and takes
-- it over; the dir goes with am.stop(). opts.web_config: the YAML of
-- --web.config.file (TLS, basic auth); opts.curl_args: what curl needs to
-- reach it then (readiness and am.get use curl).
function M.start(port, opts)
  opts = opts or {}
  local am = { port = port or M.free_port() }
  am.dir = opts.dir or gw.tmpdir()
  am.url = (opts.web_config and opts.web_config:find("tls_server_config", 1, true) and "https" or "http")
           .. "://127.0.0.1:" .. am.port
  am.log = am.dir .. "/alertmanager.log"
  gw.write_file(am.dir .. "/alertmanager.yml", M.CONFIG)
  local web = ""
  if opts.web_config then
    gw.write_file(am.dir .. "/web.yml", opts.web_config)
    web = q("--web.config.file=" .. am.dir .. "/web.yml")
  end
  -- GET path: the status and the body
  function am.get(path)
    if opts.curl_args then return gw.curl(am.url .. path, opts.curl_args) end
    return gw.http_request("GET", am.url .. path)
  end
  local cmd = table.concat({
    M.bin,
    web,
    q("--config.file=" .. am.dir .. "/alertmanager.yml"),
    q("--storage.path=" .. am.dir .. "/data"),
    q("--web.listen-address=127.0.0.1:" .. am.port),
    "--cluster.listen-address=",
    "--log.level=info",
  }, " ")
  gw.sh(cmd .. " >>" .. q(am.log) .. " 2>&1 & echo $! > " .. q(am.dir .. "/pid"))
  am.pid = gw.read_file(am.dir .. "/pid"):match("%d+")
  local ok, err = pcall(gw.wait_for, function()
    if not alive(am.pid) then
      error("alertmanager exited at start:\n" .. (gw.read_file(am.log) or ""), 0)
    end
    return am.get("/-/ready") == 200
  end, 15, "alertmanager /-/ready")
  if not ok then
    -- no caller holds it yet to stop it: do it here
    gw.sh("kill -KILL " .. am.pid .. " 2>/dev/null")
    gw.sh("rm -rf " .. q(am.dir))
    error(err, 2)
  end

  -- GET a path of the v2 API; the decoded JSON, or nil and why.
  function am.api(path)
    local code, body = gw.http_request("GET", am.url .. "/api/v2" .. path)
    if code ~= 200 then return nil, tostring(code) .. " " .. tostring(body) end
    local ok, doc = pcall(cjson.decode, body)
    if not ok then return nil, body end
    return doc
  end

  -- The alerts GET /api/v2/alerts lists (active, silenced, inhibited and
  -- unprocessed alike; never the ones whose endsAt passed) whose
  -- alertname is `name`, sorted by fingerprint.
  function am.alerts(name)
    local all = assert(am.api("/alerts"))
    local out = {}
    for _, a in ipairs(all) do
      if a.labels.alertname == name then out[#out + 1] = a end
    end
    return out
  end

  -- Alertmanager's own /metrics.
  function am.scrape()
    local code, body = am.get("/metrics")
    assert(code == 200, "alertmanager /metrics answered " .. tostring(code))
    return body
  end

  -- alertmanager_alerts_received_total{status} of the v2 API, 0 when
  -- absent.
  function am.received(status)
    return gw.value(am.scrape(), ('alertmanager_alerts_received_total{status="%s",version="v2"}')
                                  :format(status)) or 0
  end

  function am.invalid()
    return gw.value(am.scrape(), 'alertmanager_alerts_invalid_total{version="v2"}') or 0
  end

  -- SIGTERM (SIGKILL after 15 s). keep_dir leaves the storage dir for a
  -- restart with M.start(am.port, {dir = am.dir}).
  function am.stop(keep_dir)
    if am.pid then
      gw.sh("kill -TERM " .. am.pid .. " 2>/dev/null")
      local ok = pcall(gw.wait_for, function() return not alive(am.pid) end, 15,
                       "alertmanager to exit")
      if not ok then gw.sh("kill -KILL " .. am.pid .. " 2>/dev/null") end
      am.pid = nil
    end
    if not keep_dir and am.dir then
      gw.sh("rm -rf " .. q(am.dir))
      am.dir = nil
    end
  end

  return am
end

return M
