-- Starts and stops a real Prometheus server (Debian's /usr/bin/prometheus,
-- or $PROMETHEUS) for end-to-end specs, and queries its HTTP API.
-- Everything on 127.0.0.1: Prometheus gets a generated config (one static
-- target, honor_labels, 1 s interval; no remote write, no Alertmanager, no
-- service discovery; nothing in 2.42 phones home), a temp TSDB and a port
-- picked free.
local gw = require "support.gateway"
local socket = require "socket"
local cjson = require "cjson"

local M = {}

M.bin = os.getenv("PROMETHEUS") or "/usr/bin/prometheus"

local q = gw.quote

-- Binds 127.0.0.1:0 to learn a free port, then gives it back.
function M.free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

function M.urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function alive(pid)
  return gw.sh("kill -0 " .. pid .. " 2>/dev/null") == 0
end

-- A Prometheus process scraping `target` (host:port) as job `job`, every
-- second; readiness awaited on GET /-/ready. opts.ca_file: scrape over
-- HTTPS checked against that CA; opts.bearer_file: send that token.
function M.start(target, job, opts)
  opts = opts or {}
  local p = { dir = gw.tmpdir(), port = M.free_port(), job = job }
  p.url = "http://127.0.0.1:" .. p.port
  p.log = p.dir .. "/prometheus.log"
  local security = {}
  if opts.ca_file then
    security[#security + 1] = "    scheme: https"
    security[#security + 1] = "    tls_config:"
    security[#security + 1] = "      ca_file: " .. opts.ca_file
    security[#security + 1] = "      server_name: localhost"
  end
  if opts.bearer_file then
    security[#security + 1] = "    authorization:"
    security[#security + 1] = "      type: Bearer"
    security[#security + 1] = "      credentials_file: " .. opts.bearer_file
  end
  gw.write_file(p.dir .. "/prometheus.yml", table.concat({
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 1s",
    "  evaluation_interval: 1s",
    "scrape_configs:",
    "  - job_name: " .. job,
    "    honor_labels: true",
    "    metrics_path: /metrics",
    table.concat(security, "\n"),
    "    static_configs:",
    "      - targets: ['" .. target .. "']",
    "",
  }, "\n"):gsub("\n\n", "\n"))
  local cmd = table.concat({
    M.bin,
    q("--config.file=" .. p.dir .. "/prometheus.yml"),
    q("--storage.tsdb.path=" .. p.dir .. "/data"),
    q("--web.listen-address=127.0.0.1:" .. p.port),
    "--log.level=info",
  }, " ")
  gw.sh(cmd .. " >" .. q(p.log) .. " 2>&1 & echo $! > " .. q(p.dir .. "/pid"))
  p.pid = gw.read_file(p.dir .. "/pid"):match("%d+")
  gw.wait_for(function()
    if not alive(p.pid) then
      error("prometheus exited at start:\n" .. (gw.read_file(p.log) or ""))
    end
    return gw.http_request("GET", p.url .. "/-/ready") == 200
  end, 20, "prometheus /-/ready")

  -- GET an /api/v1 path; the decoded JSON body, or nil and why.
  function p.api(path)
    local code, body = gw.http_request("GET", p.url .. path)
    if code ~= 200 then return nil, tostring(code) .. " " .. tostring(body) end
    local ok, doc = pcall(cjson.decode, body)
    if not ok or doc.status ~= "success" then return nil, body end
    return doc.data
  end

  -- An instant query; its result vector (a list of {metric=, value=}).
  function p.query(expr)
    local data, why = p.api("/api/v1/query?query=" .. M.urlencode(expr))
    assert(data, "query " .. expr .. " failed: " .. tostring(why))
    assert(data.resultType == "vector", "not a vector: " .. expr)
    return data.result
  end

  -- The value of an instant query returning one sample, nil when it
  -- returns none.
  function p.scalar(expr)
    local r = p.query(expr)
    assert(#r <= 1, "more than one sample: " .. expr)
    return r[1] and tonumber(r[1].value[2])
  end

  -- Waits until `expr` returns exactly one sample and `pred(value)` holds.
  function p.await_value(expr, pred, seconds)
    local last
    local ok, res = pcall(gw.wait_for, function()
      last = p.query(expr)
      if #last == 1 and pred(tonumber(last[1].value[2])) then return last[1] end
    end, seconds or 15, expr)
    if not ok then
      error(tostring(res) .. "; last result: " .. cjson.encode(last or {}), 2)
    end
    return res
  end

  -- SIGTERM (SIGKILL after 15 s), then the temp dir goes.
  function p.stop()
    if not p.pid then return end
    gw.sh("kill -TERM " .. p.pid .. " 2>/dev/null")
    local ok = pcall(gw.wait_for, function() return not alive(p.pid) end, 15,
                     "prometheus to exit")
    if not ok then gw.sh("kill -KILL " .. p.pid .. " 2>/dev/null") end
    p.pid = nil
    gw.sh("rm -rf " .. q(p.dir))
  end

  return p
end

return M
