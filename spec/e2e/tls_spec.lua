-- TLS end to end: a CA and certificates made here with openssl; curl and
-- Python's ssl module as clients; a wrong CA refused; client certificates
-- required when so configured and bound to a producer's labels; the
-- certificate swapped under SIGHUP while a TLS producer stays connected;
-- the real Prometheus scraping over HTTPS with a bearer token. Everything
-- on 127.0.0.1; every wait bounded.
local gw = require "support.gateway"
local moongate = require "moongate"
local prometheus = require "support.prometheus"

local PY = "/usr/bin/python3"
local CLIENT = gw.root .. "/spec/support/tls_client.py"

local function run(cmd)
  local p = io.popen("{ " .. cmd .. "; } 2>&1; echo rc=$?")
  local out = p:read("*a")
  p:close()
  return out, tonumber(out:match("rc=(%d+)%s*$"))
end

-- A CA, and name.crt/name.key signed by it (EC keys: quick to make).
local function make_ca(dir, name)
  local o, rc = run(("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes " ..
    "-keyout %s.key -out %s.crt -days 2 -subj /CN=%s"):format(gw.quote(dir), name, name, name))
  assert(rc == 0, o)
end
local function make_cert(dir, ca, name, cn, san)
  gw.write_file(dir .. "/" .. name .. ".ext", san and ("subjectAltName=" .. san .. "\n") or "basicConstraints=CA:FALSE\n")
  local o, rc = run(("cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes " ..
    "-keyout %s.key -out %s.csr -subj /CN=%s && openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key " ..
    "-CAcreateserial -out %s.crt -days 2 -extfile %s.ext"):format(gw.quote(dir), name, name, cn, name, ca, ca, name, name))
  assert(rc == 0, o)
end

local function hex(s) return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) end
local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end

-- Python's ssl client against addr: its lines, parsed.
local function py(addr, ca, msgs, opts)
  opts = opts or {}
  local host, port = addr:match("^(.*):(%d+)$")
  local cmd = { PY, CLIENT, host, port, ca }
  if opts.cert then
    cmd[#cmd + 1] = "--cert"; cmd[#cmd + 1] = opts.cert; cmd[#cmd + 1] = opts.key
  end
  if opts.hold then cmd[#cmd + 1] = "--hold"; cmd[#cmd + 1] = opts.hold end
  for _, m in ipairs(msgs or {}) do cmd[#cmd + 1] = hex(moongate.encode(m)) end
  for i, a in ipairs(cmd) do cmd[i] = gw.quote(a) end
  local line = table.concat(cmd, " ")
  if opts.background then
    gw.sh(line .. " > " .. gw.quote(opts.background) .. " 2>&1 &")
    return
  end
  return (run(line))
end

local function parse(out)
  local r = { replies = {} }
  r.cert, r.version = out:match("cert (%x+) (%S+)")
  r.error = out:match("error ([^\n]*)")
  for h in out:gmatch("reply (%x+)") do r.replies[#r.replies + 1] = (moongate.decode(unhex(h))) end
  return r
end

describe("TLS", function()
  local dir, g

  setup(function()
    dir = gw.tmpdir()
    make_ca(dir, "ca")
    make_ca(dir, "evil")
    make_cert(dir, "ca", "gw", "localhost", "IP:127.0.0.1,DNS:localhost")
    make_cert(dir, "ca", "producer", "producer-a")
    make_cert(dir, "ca", "stranger", "nobody-bound")
    make_cert(dir, "evil", "forger", "producer-a")
    gw.write_file(dir .. "/push.tokens", "ptok tenant=t\ncn:producer-a tenant=a\n")
    gw.write_file(dir .. "/read.tokens", "rtok\n")
    gw.write_file(dir .. "/rtok", "rtok\n")
    g = gw.start_with_config(([[return {
      tls = { cert_file = "%s/gw.crt", key_file = "%s/gw.key", client_ca_file = "%s/ca.crt",
              client_auth_type = "VerifyClientCertIfGiven" },
      auth = { push = { tokens_file = "%s/push.tokens" }, read = { tokens_file = "%s/read.tokens" } },
    }]]):format(dir, dir, dir, dir, dir), { cacert = dir .. "/ca.crt" })
  end)
  teardown(function()
    if g then g:stop() end
    gw.sh("rm -rf " .. gw.quote(dir))
  end)

  local function curl(path, args)
    local a = { "--cacert", dir .. "/ca.crt" }
    for _, x in ipairs(args or {}) do a[#a + 1] = x end
    return gw.curl(g.url .. path, a)
  end
  local function scrape()
    local code, body = curl("/metrics", { "-H", "Authorization: Bearer rtok" })
    assert.are.equal(200, code)
    return body
  end

  describe("HTTPS", function()
    it("curl with the CA and a read token: 200; without the token: 401", function()
      assert.are.equal(200, (curl("/metrics", { "-H", "Authorization: Bearer rtok" })))
      assert.are.equal(401, (curl("/metrics")))
    end)
    it("curl against another CA is refused (the certificate does not verify)", function()
      local code, _, rc = gw.curl(g.url .. "/metrics", { "--cacert", dir .. "/evil.crt" })
      assert.are.equal(0, code)
      assert.are.equal(60, rc)
    end)
    it("plain HTTP on the HTTPS port gets no answer", function()
      local code = gw.curl("http://" .. g.http .. "/metrics", { "-H", "Authorization: Bearer rtok" })
      assert.are_not.equal(200, code)
    end)
    it("TLS below 1.2 is refused", function()
      local code = curl("/-/ready", { "--tlsv1.1", "--tls-max", "1.1" })
      assert.are.equal(0, code)
    end)
    it("a bound client certificate stands in for the push token and names the producer", function()
      local body = moongate.encode({ metrics = { { name = "https_cert_push", type = "gauge", value = 5 } } })
      gw.write_file(dir .. "/body", body)
      local code = curl("/api/v1/push", { "--cert", dir .. "/producer.crt", "--key", dir .. "/producer.key",
        "-H", "Content-Type: application/msgpack", "--data-binary", "@" .. dir .. "/body" })
      assert.are.equal(200, code)
      assert.are.equal(5, gw.value(scrape(), 'https_cert_push{tenant="a"}'))
      -- a verified certificate bound to nothing is no credential
      local code2 = curl("/api/v1/push", { "--cert", dir .. "/stranger.crt", "--key", dir .. "/stranger.key",
        "-H", "Content-Type: application/msgpack", "--data-binary", "@" .. dir .. "/body" })
      assert.are.equal(401, code2)
    end)
  end)

  describe("the TCP ingest with Python's ssl", function()
    it("a push token over TLS 1.2+: acked and stored", function()
      local r = parse(py(g.tcp, dir .. "/ca.crt",
        { { ack = 1, token = "ptok", metrics = { { name = "tls_tcp_token", type = "gauge", value = 3 } } } }))
      assert.is_nil(r.error)
      assert.is_truthy(r.version == "TLSv1.2" or r.version == "TLSv1.3")
      assert.are.equal(1, r.replies[1].accepted)
      assert.are.equal(3, gw.value(scrape(), 'tls_tcp_token{tenant="t"}'))
    end)
    it("a bound client certificate names the producer; it cannot claim another tenant", function()
      local r = parse(py(g.tcp, dir .. "/ca.crt", {
        { ack = 1, metrics = { { name = "tls_tcp_cert", type = "gauge", value = 4 } } },
        { ack = 2, source = { tenant = "b" }, metrics = { { name = "tls_tcp_cert_forged", value = 1 } } },
      }, { cert = dir .. "/producer.crt", key = dir .. "/producer.key" }))
      assert.is_nil(r.error)
      assert.are.equal(1, r.replies[1].accepted)
      assert.are.equal(0, r.replies[2].accepted)
      assert.are.equal("unauthorized", r.replies[2].errors[1].reason)
      local body = scrape()
      assert.are.equal(4, gw.value(body, 'tls_tcp_cert{tenant="a"}'))
      assert.is_nil(body:find("tls_tcp_cert_forged", 1, true))
    end)
    it("a client certificate from another CA is refused, and counted", function()
      local before = gw.value(scrape(), 'moongate_unauthorized_total{transport="tcp"}')
      local r = parse(py(g.tcp, dir .. "/ca.crt",
        { { ack = 1, metrics = { { name = "tls_forger", type = "gauge", value = 1 } } } },
        { cert = dir .. "/forger.crt", key = dir .. "/forger.key" }))
      assert.is_truthy(r.error or #r.replies == 0 or r.replies[1] == nil)
      local body = scrape()
      assert.is_nil(body:find("tls_forger", 1, true))
      assert.are.equal(before + 1, gw.value(body, 'moongate_unauthorized_total{transport="tcp"}'))
    end)
    it("without a token or a certificate: refused in the ack", function()
      local r = parse(py(g.tcp, dir .. "/ca.crt", { { ack = 1, metrics = { { name = "tls_anon", value = 1 } } } }))
      assert.are.equal("unauthorized", r.replies[1].errors[1].reason)
    end)
  end)

  it("SIGHUP swaps the certificate; a connected TLS producer keeps going on the old one", function()
    local hold = gw.tmpdir()
    local out = hold .. "/out"
    py(g.tcp, dir .. "/ca.crt", {
      { ack = 1, token = "ptok", metrics = { { name = "tls_swap", type = "gauge", value = 1 } } },
      { ack = 2, token = "ptok", metrics = { { name = "tls_swap", type = "gauge", value = 2 } } },
    }, { hold = hold, background = out })
    gw.wait_for(function() return gw.read_file(hold .. "/step") end, 10, "the first ack")
    local old = parse(gw.read_file(out)).cert
    assert.is_truthy(old)
    -- a new key and certificate for the same name, in place
    make_cert(dir, "ca", "gw", "localhost", "IP:127.0.0.1,DNS:localhost")
    gw.sh("kill -HUP " .. g.pid)
    local new = gw.wait_for(function()
      local c = parse(py(g.tcp, dir .. "/ca.crt", {})).cert
      return c ~= old and c
    end, 10, "new connections to get the new certificate")
    assert.are_not.equal(old, new)
    gw.write_file(hold .. "/go", "")
    local r = gw.wait_for(function()
      local p = parse(gw.read_file(out) or "")
      return #p.replies == 2 and p
    end, 10, "the second ack on the old connection")
    assert.are.equal(old, r.cert)
    assert.are.equal(2, r.replies[2].ack)
    assert.are.equal(1, r.replies[2].accepted)
    assert.are.equal(2, gw.value(scrape(), 'tls_swap{tenant="t"}'))
    gw.sh("rm -rf " .. gw.quote(hold))
  end)

  it("the real Prometheus scrapes over HTTPS with a bearer token", function()
    local p = prometheus.start(g.http, "tls_gw", { ca_file = dir .. "/ca.crt", bearer_file = dir .. "/rtok" })
    local ok, err = pcall(function()
      p.await_value('up{job="tls_gw"}', function(v) return v == 1 end, 20)
      p.await_value('moongate_build_info{job="tls_gw"}', function(v) return v == 1 end, 20)
    end)
    p.stop()
    assert(ok, err)
  end)
end)

describe("Alertmanager over HTTPS with basic auth", function()
  local alertmanager = require "support.alertmanager"
  local dir, am, g
  local RULES = [[
alert "TlsAmHigh" {
  expr = function(q)
    local out = {}
    for _, s in ipairs(q.series("tls_am_gauge")) do
      if s.value > 0 then out[#out + 1] = s end
    end
    return out
  end,
}
]]
  setup(function()
    dir = gw.tmpdir()
    make_ca(dir, "ca")
    make_cert(dir, "ca", "am", "localhost", "IP:127.0.0.1,DNS:localhost")
    local hash = io.popen(PY .. " -W ignore -c " .. gw.quote(
      "import crypt; print(crypt.crypt('am-pw', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))")):read("*l")
    am = alertmanager.start(nil, {
      web_config = ("tls_server_config:\n  cert_file: %s/am.crt\n  key_file: %s/am.key\n" ..
                    "basic_auth_users:\n  moongate: '%s'\n"):format(dir, dir, hash),
      curl_args = { "--cacert", dir .. "/ca.crt", "-u", "moongate:am-pw" },
    })
    assert(gw.sh("mkdir " .. gw.quote(dir .. "/rules")) == 0)
    gw.write_file(dir .. "/rules/am.lua", RULES)
    gw.write_file(dir .. "/am.pw", "am-pw\n")
    g = gw.start_with_config(([[return { rule_interval = 1, alertmanagers = { "%s" },
      alertmanager_tls = { ca_file = "%s/ca.crt", username = "moongate", password_file = "%s/am.pw" } }]])
      :format(am.url, dir, dir), nil, { "--rules", dir .. "/rules" })
  end)
  teardown(function()
    if g then g:stop() end
    if am then am.stop() end
    gw.sh("rm -rf " .. gw.quote(dir))
  end)
  it("receives the alert", function()
    assert.is_truthy(am.url:match("^https://"))
    -- without the password Alertmanager refuses: the auth is real
    assert.are.equal(401, (gw.curl(am.url .. "/api/v2/alerts", { "--cacert", dir .. "/ca.crt" })))
    local code = g:push_http { metrics = { { name = "tls_am_gauge", type = "gauge", value = 1 } } }
    assert.are.equal(200, code)
    gw.wait_for(function() return am.received("firing") >= 1 end, 20, "the alert in Alertmanager")
    assert.is_truthy(g:value("moongate_notifications_sent_total") >= 1)
  end)
end)

describe("TLS with RequireAnyClientCert", function()
  local dir, g
  setup(function()
    dir = gw.tmpdir()
    make_ca(dir, "ca")
    make_ca(dir, "evil")
    make_cert(dir, "ca", "gw", "localhost", "IP:127.0.0.1,DNS:localhost")
    make_cert(dir, "evil", "forger", "producer-a")
    gw.write_file(dir .. "/push.tokens", "cn:producer-a tenant=a\n")
    g = gw.start_with_config(([[return {
      tls = { cert_file = "%s/gw.crt", key_file = "%s/gw.key", client_auth_type = "RequireAnyClientCert" },
      auth = { push = { tokens_file = "%s/push.tokens" } } }]]):format(dir, dir, dir),
      { cacert = dir .. "/ca.crt", curl_args = { "--cacert", dir .. "/ca.crt", "--cert", dir .. "/forger.crt",
                                                 "--key", dir .. "/forger.key" } })
  end)
  teardown(function()
    if g then g:stop() end
    gw.sh("rm -rf " .. gw.quote(dir))
  end)
  it("wants some certificate, but one it does not verify names no producer", function()
    assert.are.equal(0, (gw.curl(g.url .. "/-/ready", { "--cacert", dir .. "/ca.crt" })))
    local r = parse(py(g.tcp, dir .. "/ca.crt", { { ack = 1, metrics = { { name = "any_cert", value = 1 } } } },
                       { cert = dir .. "/forger.crt", key = dir .. "/forger.key" }))
    assert.is_nil(r.error)
    assert.are.equal(0, r.replies[1].accepted)
    assert.are.equal("unauthorized", r.replies[1].errors[1].reason)
  end)
end)

describe("TLS with RequireAndVerifyClientCert", function()
  local dir, g
  setup(function()
    dir = gw.tmpdir()
    make_ca(dir, "ca")
    make_cert(dir, "ca", "gw", "localhost", "IP:127.0.0.1,DNS:localhost")
    make_cert(dir, "ca", "client", "reader")
    g = gw.start_with_config(([[return {
      tls = { cert_file = "%s/gw.crt", key_file = "%s/gw.key", client_ca_file = "%s/ca.crt",
              client_auth_type = "RequireAndVerifyClientCert" } }]]):format(dir, dir, dir),
      -- readiness needs a client certificate too
      { cacert = dir .. "/ca.crt", curl_args = { "--cacert", dir .. "/ca.crt", "--cert", dir .. "/client.crt",
                                                 "--key", dir .. "/client.key" } })
  end)
  teardown(function()
    if g then g:stop() end
    gw.sh("rm -rf " .. gw.quote(dir))
  end)
  it("refuses a client without a certificate and serves one with", function()
    local code = gw.curl(g.url .. "/metrics", { "--cacert", dir .. "/ca.crt" })
    assert.are.equal(0, code)
    local code2 = gw.curl(g.url .. "/metrics", { "--cacert", dir .. "/ca.crt", "--cert", dir .. "/client.crt",
                                                "--key", dir .. "/client.key" })
    assert.are.equal(200, code2)
  end)
end)

describe("UDP", function()
  it("can be turned off (it has no TLS): udp = false opens TCP only", function()
    local g = gw.start_with_config("return { udp = false }\n")
    local log = gw.read_file(g.log)
    g:stop()
    assert.is_truthy(log:find("transport=tcp", 1, true))
    assert.is_nil(log:find("transport=udp", 1, true))
  end)
end)

describe("TLS that cannot load", function()
  it("refuses to start with one clear line; check --config says why", function()
    local dir = gw.tmpdir()
    make_ca(dir, "ca")
    make_cert(dir, "ca", "gw", "localhost", "IP:127.0.0.1")
    make_cert(dir, "ca", "other", "other")
    gw.write_file(dir .. "/c.lua", ('return { tls = { cert_file = "%s/gw.crt", key_file = "%s/other.key" } }')
      :format(dir, dir))
    local out, rc = run(("timeout 10 %s --config %s --http 127.0.0.1:0 --ingest 127.0.0.1:0"):format(
      gw.quote(gw.bin), gw.quote(dir .. "/c.lua")))
    assert.are.equal(1, rc)
    assert.is_truthy(out:find("moongate: cannot start with TLS: [^\n]*other.key: the key does not match", 1), out)
    local out2, rc2 = run(("%s check --config %s"):format(gw.quote(gw.bin), gw.quote(dir .. "/c.lua")))
    assert.are.equal(1, rc2)
    assert.is_truthy(out2:find("the key does not match", 1, true), out2)
    gw.sh("rm -rf " .. gw.quote(dir))
  end)
end)
