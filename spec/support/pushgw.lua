-- Helpers for the Pushgateway API specs: requests on /metrics/job/...,
-- delimited protobuf MetricFamily bodies encoded by hand (field numbers of
-- the Prometheus client_model schema), gzip through gzip(1), and the
-- scrape's samples and families for the pushed groups.
local gw = require "support.gateway"

local M = {}

-- METHOD base .. path with body; returns code and reply body.
function M.request(method, base, path, body, headers)
  headers = headers or {}
  body = body or ""
  headers["content-length"] = tostring(#body)
  return gw.http_request(method, base .. path, body, headers)
end

function M.put(base, path, body, headers) return M.request("PUT", base, path, body, headers) end
function M.post(base, path, body, headers) return M.request("POST", base, path, body, headers) end
function M.delete(base, path) return M.request("DELETE", base, path, "") end

-- URL-safe base64 without padding, as Pushgateway's clients write it.
function M.b64(s)
  local abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local k = c and 4 or b and 3 or 2
    for j = 1, k do
      local v = (n >> (6 * (4 - j))) & 63
      out[#out + 1] = abc:sub(v + 1, v + 1)
    end
  end
  return table.concat(out)
end

function M.gzip(s)
  local dir = gw.tmpdir()
  gw.write_file(dir .. "/b", s)
  local p = io.popen("gzip -c " .. gw.quote(dir .. "/b"))
  local z = p:read("a")
  p:close()
  gw.sh("rm -rf " .. gw.quote(dir))
  return z
end

-- ---- protobuf, by hand ----

local function varint(n)
  local t = {}
  repeat
    local b = n & 0x7f
    n = n >> 7
    t[#t + 1] = string.char(n ~= 0 and (b | 0x80) or b)
  until n == 0
  return table.concat(t)
end
M.varint = varint

local function str(num, s) return varint(num * 8 + 2) .. varint(#s) .. s end
local function dbl(num, v) return varint(num * 8 + 1) .. string.pack("<d", v) end
local function int(num, v) return varint(num * 8) .. varint(v) end

M.COUNTER, M.GAUGE, M.SUMMARY, M.UNTYPED, M.HISTOGRAM = 0, 1, 2, 3, 4

-- One metric: {labels = {k = v}, value = x} (counter, gauge, untyped),
-- {sum, count, quantiles = {{q, v}}} or {sum, count, buckets = {{le, c}}};
-- ts adds timestamp_ms.
local function metric(t, m)
  local parts = {}
  local names = {}
  for k in pairs(m.labels or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    parts[#parts + 1] = str(1, str(1, k) .. str(2, m.labels[k]))
  end
  if t == M.COUNTER then parts[#parts + 1] = str(3, dbl(1, m.value))
  elseif t == M.GAUGE then parts[#parts + 1] = str(2, dbl(1, m.value))
  elseif t == M.UNTYPED then parts[#parts + 1] = str(5, dbl(1, m.value))
  elseif t == M.SUMMARY then
    local s = int(1, m.count) .. dbl(2, m.sum)
    for _, q in ipairs(m.quantiles or {}) do s = s .. str(3, dbl(1, q[1]) .. dbl(2, q[2])) end
    parts[#parts + 1] = str(4, s)
  elseif t == M.HISTOGRAM then
    local s = int(1, m.count) .. dbl(2, m.sum)
    for _, b in ipairs(m.buckets or {}) do s = s .. str(3, int(1, b[2]) .. dbl(2, b[1])) end
    parts[#parts + 1] = str(7, s)
  end
  if m.ts then parts[#parts + 1] = int(6, m.ts) end
  return table.concat(parts)
end

-- A body of length-delimited MetricFamily messages:
-- {{name =, help =, type =, metrics = {...}}, ...}.
function M.proto(families)
  local out = {}
  for _, f in ipairs(families) do
    local msg = str(1, f.name) .. (f.help and str(2, f.help) or "") .. int(3, f.type)
    for _, m in ipairs(f.metrics) do msg = msg .. str(4, metric(f.type, m)) end
    out[#out + 1] = varint(#msg) .. msg
  end
  return table.concat(out)
end

M.PROTO_TYPE = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
  .. "encoding=delimited"

-- ---- reading a scrape ----

-- The labels of a sample's {...} as a list of {name, value}, escapes kept.
local function parse_labels(s)
  local labels, i = {}, 1
  while i <= #s do
    local k, j = s:match('^%s*([%w_]+)%s*=%s*"()', i)
    if not k then break end
    local v = {}
    i = j
    while i <= #s do
      local c = s:sub(i, i)
      if c == "\\" then
        v[#v + 1] = s:sub(i, i + 1)
        i = i + 2
      elseif c == '"' then
        i = i + 1
        break
      else
        v[#v + 1] = c
        i = i + 1
      end
    end
    labels[#labels + 1] = { k, table.concat(v) }
    i = s:match("^%s*,?()", i)
  end
  return labels
end

-- Families of an exposition text: name -> {type=, help=, samples = {line -> value}},
-- sample lines normalised: labels sorted, empty values dropped.
function M.families(text, keep)
  local fams, cur = {}, nil
  local function fam(name)
    fams[name] = fams[name] or { samples = {} }
    return fams[name]
  end
  for line in text:gmatch("[^\n]+") do
    local kind, name, rest = line:match("^# (%u+) (%S+) ?(.*)$")
    if kind == "TYPE" then
      cur = name
      fam(name).type = rest
    elseif kind == "HELP" then
      cur = name
      fam(name).help = rest
    elseif not line:match("^#") then
      local series, value = line:match("^(.-)%s+(%S+)$")
      local sname, lbl = series:match("^([^{]+){(.*)}$")
      sname = sname or series
      local labels = {}
      for _, kv in ipairs(parse_labels(lbl or "")) do
        if kv[2] ~= "" then labels[#labels + 1] = kv[1] .. '="' .. kv[2] .. '"' end
      end
      table.sort(labels)
      local key = sname .. "{" .. table.concat(labels, ",") .. "}"
      local owner = cur
      if not owner or sname:sub(1, #owner) ~= owner then owner = sname end
      if not keep or keep(owner) then fam(owner).samples[key] = tonumber(value) or value end
    end
  end
  if keep then
    for name in pairs(fams) do if not keep(name) then fams[name] = nil end end
  end
  return fams
end

-- ---- Debian's prometheus-pushgateway, for comparisons ----

M.pushgateway_bin = os.getenv("PUSHGATEWAY") or "/usr/bin/prometheus-pushgateway"

-- Starts it on 127.0.0.1 and a free port with persistence off (Debian's
-- default is a file under /var/lib/prometheus); readiness awaited on
-- GET /-/ready. Fails with what to install when it is missing.
function M.start_pushgateway()
  assert(gw.sh("test -x " .. gw.quote(M.pushgateway_bin)) == 0,
         M.pushgateway_bin .. " is missing: install prometheus-pushgateway (.ci/deps.sh does)")
  local prometheus = require "support.prometheus"
  local p = { dir = gw.tmpdir(), port = prometheus.free_port() }
  p.url = "http://127.0.0.1:" .. p.port
  p.log = p.dir .. "/pushgateway.log"
  gw.sh(gw.quote(M.pushgateway_bin) .. " " .. gw.quote("--web.listen-address=127.0.0.1:" .. p.port)
        .. " --persistence.file= --log.level=info >" .. gw.quote(p.log) .. " 2>&1 & echo $! > " .. gw.quote(p.dir .. "/pid"))
  p.pid = gw.read_file(p.dir .. "/pid"):match("%d+")
  gw.wait_for(function()
    if gw.sh("kill -0 " .. p.pid .. " 2>/dev/null") ~= 0 then
      error("prometheus-pushgateway exited at start:\n" .. (gw.read_file(p.log) or ""))
    end
    return gw.http_request("GET", p.url .. "/-/ready") == 200
  end, 15, "prometheus-pushgateway /-/ready")
  function p.stop()
    if not p.pid then return end
    gw.sh("kill -TERM " .. p.pid .. " 2>/dev/null")
    pcall(gw.wait_for, function() return gw.sh("kill -0 " .. p.pid .. " 2>/dev/null") ~= 0 end,
          10, "prometheus-pushgateway to exit")
    gw.sh("kill -KILL " .. p.pid .. " 2>/dev/null")
    p.pid = nil
    gw.sh("rm -rf " .. gw.quote(p.dir))
  end
  return p
end

return M
