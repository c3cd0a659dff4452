-- The role model end to end: push, read and admin, each with its own
-- credentials, on every transport; a right credential of one role is
-- refused on another; producer identity (bound source labels) and each
-- producer's own budget. Everything on 127.0.0.1; every wait bounded.
local gw = require "support.gateway"
local socket = require "socket"
local cjson = require "cjson"

-- bcrypt through Debian's Python (libxcrypt underneath), written as
-- Prometheus's web config writes them: $2y$. Python runs without the
-- sanitized build's preloaded ASan runtime: its crypt interceptor cannot
-- find libcrypt, which Python loads later, and crashes.
local function bcrypt(pw)
  local p = io.popen("env -u LD_PRELOAD /usr/bin/python3 -W ignore -c " .. gw.quote(
    "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))")
    .. " " .. gw.quote(pw))
  local h = p:read("*l")
  p:close()
  assert(h and h:match("^%$2b%$"), "no bcrypt hash from python3")
  return (h:gsub("^%$2b%$", "$2y$"))
end

local RIGHT = { push = "ptok-plain", read = "rtok-1", admin = "atok-1" }

local function write_tokens(dir, extra)
  gw.write_file(dir .. "/push.tokens", table.concat({
    "# producers: TOKEN [label=value ...] [max_series=N] [rate=N/s]",
    "ptok-plain",
    "ptok-a tenant=a team=x",
    "ptok-b tenant=b rate=1/s burst=5",  -- slow to refill: no race with the clock
    "ptok-c tenant=c max_series=3",
    "ptok-d tenant=d",
    extra or "",
  }, "\n"))
end

local function start_secured()
  local dir = gw.tmpdir()
  write_tokens(dir)
  gw.write_file(dir .. "/read.tokens", RIGHT.read .. "\n")
  gw.write_file(dir .. "/admin.tokens", RIGHT.admin .. "\n")
  local cfg = ([[return {
    auth = {
      push = { tokens_file = "%s/push.tokens" },
      read = { tokens_file = "%s/read.tokens", basic_auth_users = { alice = "%s" } },
      admin = { tokens_file = "%s/admin.tokens", basic_auth_users = { root = "%s" } },
    },
  }]]):format(dir, dir, bcrypt("alice-pw"), dir, bcrypt("root-pw"))
  local g = gw.start_with_config(cfg, nil, { "--ingest", "127.0.0.1:0", "--ingest", "unix:" .. dir .. "/in.sock" })
  g.tokens_dir = dir
  g.unix = "unix:" .. dir .. "/in.sock"
  return g
end

local function bearer(t) return { authorization = "Bearer " .. t } end
local function basic(u, p)
  local b64 = io.popen("printf %s " .. gw.quote(u .. ":" .. p) .. " | base64 -w0"):read("*a")
  return { authorization = "Basic " .. b64 }
end

-- The credentials a request can carry, per role under test.
local function creds(role)
  local other = role == "read" and "admin" or "read"
  return {
    { what = "none", headers = nil, code = 401 },
    { what = "a wrong token", headers = bearer("nope"), code = 401 },
    { what = "a malformed header", headers = { authorization = "Digest abc" }, code = 401 },
    { what = "a malformed basic header", headers = { authorization = "Basic !!notbase64" }, code = 401 },
    { what = "the right token with a control byte inside",
      headers = bearer(RIGHT[role]:sub(1, 2) .. "\1" .. RIGHT[role]:sub(3)), code = 401 },
    { what = "the right token", headers = bearer(RIGHT[role]), code = 200 },
    { what = "the " .. other .. " token", headers = bearer(RIGHT[other]), code = 403 },
  }
end

describe("auth", function()
  local g

  setup(function() g = start_secured() end)
  teardown(function()
    g:stop()
    gw.sh("rm -rf " .. gw.quote(g.tokens_dir))
  end)

  local function scrape()
    local code, body = gw.http_request("GET", g.url .. "/metrics", nil, bearer(RIGHT.read))
    assert.are.equal(200, code)
    return body
  end
  local function unauthorized(t)
    return gw.value(scrape(), ('moongate_unauthorized_total{transport="%s"}'):format(t)) or 0
  end
  local function value(series) return gw.value(scrape(), series) end

  describe("read: GET of /metrics, the /api/v1 reads, explain and the page", function()
    local paths = { "/metrics", "/api/v1/rules", "/api/v1/alerts", "/api/v1/status/cardinality",
                    "/api/v1/explain?series=up", "/" }
    for _, c in ipairs(creds("read")) do
      it("with " .. c.what .. " answers " .. c.code, function()
        local before = unauthorized("http")
        for _, p in ipairs(paths) do
          local code = gw.http_request("GET", g.url .. p, nil, c.headers)
          assert.are.equal(c.code, code, p)
        end
        assert.are.equal(before + (c.code == 200 and 0 or #paths), unauthorized("http"))
      end)
    end
    it("basic auth: alice's password 200, a wrong one 401, the admin user 403", function()
      assert.are.equal(200, (gw.http_request("GET", g.url .. "/metrics", nil, basic("alice", "alice-pw"))))
      assert.are.equal(401, (gw.http_request("GET", g.url .. "/metrics", nil, basic("alice", "wrong"))))
      assert.are.equal(401, (gw.http_request("GET", g.url .. "/metrics", nil, basic("mallory", "alice-pw"))))
      assert.are.equal(403, (gw.http_request("GET", g.url .. "/metrics", nil, basic("root", "root-pw"))))
    end)
    it("401 says how to authenticate", function()
      local code, _, h = gw.http_request("GET", g.url .. "/metrics")
      assert.are.equal(401, code)
      assert.is_truthy(h["www-authenticate"])
    end)
    it("the probes stay open", function()
      assert.are.equal(200, (gw.http_request("GET", g.url .. "/-/healthy")))
      assert.are.equal(200, (gw.http_request("GET", g.url .. "/-/ready")))
    end)
  end)

  describe("admin: POST /-/reload", function()
    local function reload(h)
      local hh = { ["content-length"] = "0" }
      for k, v in pairs(h or {}) do hh[k] = v end
      return (gw.http_request("POST", g.url .. "/-/reload", "", hh))
    end
    for _, c in ipairs(creds("admin")) do
      it("with " .. c.what .. " answers " .. c.code, function()
        assert.are.equal(c.code, reload(c.headers))
      end)
    end
    it("with the push token answers 403; root's basic auth 200, alice's 403", function()
      assert.are.equal(403, reload(bearer(RIGHT.push)))
      assert.are.equal(200, reload(basic("root", "root-pw")))
      assert.are.equal(403, reload(basic("alice", "alice-pw")))
    end)
    it("a state-changing method elsewhere is admin too", function()
      assert.are.equal(401, (gw.http_request("DELETE", g.url .. "/metrics/job/x")))
    end)
  end)

  describe("push over HTTP", function()
    local function push(headers, v)
      return g:push_http({ metrics = { { name = gw.uniq("auth_http"), type = "gauge", value = v or 1 } } }, headers)
    end
    for _, c in ipairs(creds("push")) do
      if c.what ~= "the read token" then
        it("with " .. c.what .. " answers " .. c.code, function()
          local before = unauthorized("http")
          local code, r = push(c.headers)
          assert.are.equal(c.code, code)
          if c.code == 200 then
            assert.are.equal(1, r.accepted)
          else
            assert.are.equal("unauthorized", r.errors[1].reason)
            assert.are.equal(before + 1, unauthorized("http"))
          end
        end)
      end
    end
    it("with the read or admin token answers 403", function()
      assert.are.equal(403, (push(bearer(RIGHT.read))))
      assert.are.equal(403, (push(bearer(RIGHT.admin))))
    end)
    it("a token key inside the body does not stand in for the header", function()
      local code = g:push_http({ token = RIGHT.push, metrics = { { name = gw.uniq("in_body"), value = 1 } } })
      assert.are.equal(401, code)
    end)
  end)

  -- TCP and unix answer in the ack; UDP only counts.
  for _, t in ipairs({ "tcp", "unix" }) do
    describe("push over " .. t, function()
      local function push(token)
        local c = gw.connect(t == "tcp" and g.tcp or g.unix)
        local name = gw.uniq("auth_" .. t)
        c:send({ ack = 1, token = token, metrics = { { name = name, type = "gauge", value = 7 } } })
        local r = c:receive()
        c:close()
        return r, name
      end
      local cases = {
        { what = "no token", token = nil, detail = "a push token is required" },
        { what = "a wrong token", token = "nope", detail = "bad push token" },
        { what = "a token with a control byte", token = "ptok-pl\1ain", detail = "malformed credential" },
        { what = "a token with a NUL", token = "ptok-plain\0", detail = "malformed credential" },
        { what = "the read token", token = RIGHT.read, detail = "this credential is not allowed here" },
        { what = "the admin token", token = RIGHT.admin, detail = "this credential is not allowed here" },
      }
      for _, c in ipairs(cases) do
        it("with " .. c.what .. ": refused in the ack and counted", function()
          local before = unauthorized(t)
          local r, name = push(c.token)
          assert.are.equal(0, r.accepted)
          assert.are.equal(1, r.rejected)
          assert.are.equal("unauthorized", r.errors[1].reason)
          assert.are.equal(c.detail, r.errors[1].detail)
          assert.are.equal(before + 1, unauthorized(t))
          assert.is_nil(value(name))
        end)
      end
      it("with the right token: accepted", function()
        local r, name = push(RIGHT.push)
        assert.are.equal(1, r.accepted)
        assert.are.equal(7, value(name))
      end)
    end)
  end

  describe("push over UDP", function()
    for _, c in ipairs({ { "no token", nil }, { "a wrong token", "nope" }, { "a control byte", "a\1b" },
                         { "the read token", RIGHT.read } }) do
      it("with " .. c[1] .. ": counted, not stored", function()
        local before = unauthorized("udp")
        local name = gw.uniq("auth_udp")
        gw.udp_send(g.udp, { token = c[2], metrics = { { name = name, value = 1 } } })
        gw.wait_for(function() return unauthorized("udp") == before + 1 end, 5, "the count")
        assert.is_nil(value(name))
      end)
    end
    it("with the right token: stored", function()
      local name = gw.uniq("auth_udp")
      gw.udp_send(g.udp, { token = RIGHT.push, metrics = { { name = name, type = "gauge", value = 2 } } })
      gw.wait_for(function() return value(name) == 2 end, 5, "the datagram")
    end)
  end)

  describe("producer identity", function()
    it("a bound token's labels are set on what it pushes", function()
      local name = gw.uniq("ident")
      local code = g:push_http({ metrics = { { name = name, type = "gauge", value = 1 } } }, bearer("ptok-a"))
      assert.are.equal(200, code)
      assert.are.equal(1, value(('%s{team="x",tenant="a"}'):format(name)))
    end)
    it("a message claiming another tenant's source labels is refused and counted", function()
      local name = gw.uniq("forged")
      local before = unauthorized("http")
      local code, r = g:push_http({ source = { tenant = "b" }, metrics = { { name = name, value = 1 } } },
                                  bearer("ptok-a"))
      assert.are.equal(403, code)
      assert.are.equal("unauthorized", r.errors[1].reason)
      assert.is_truthy(r.errors[1].detail:find("tenant", 1, true))
      assert.are.equal(before + 1, unauthorized("http"))
      assert.is_nil(value(name))
      -- the same over TCP, answered in the ack
      local a = g:push_tcp { token = "ptok-a", source = { tenant = "b" }, metrics = { { name = name, value = 1 } } }
      assert.are.equal(0, a.accepted)
      assert.are.equal("unauthorized", a.errors[1].reason)
      -- its own value, and other source labels, are fine
      local ok = g:push_tcp { token = "ptok-a", source = { tenant = "a", host = "h1" },
                              metrics = { { name = name, type = "gauge", value = 2 } } }
      assert.are.equal(1, ok.accepted)
      assert.are.equal(2, value(('%s{host="h1",team="x",tenant="a"}'):format(name)))
    end)
    it("a metric label of a bound name cannot pass for it: it becomes exported_", function()
      local name = gw.uniq("relabelled")
      local a = g:push_tcp { token = "ptok-a", metrics = { { name = name, type = "gauge", value = 3,
                                                             labels = { tenant = "b" } } } }
      assert.are.equal(1, a.accepted)
      assert.are.equal(3, value(('%s{exported_tenant="b",team="x",tenant="a"}'):format(name)))
    end)
  end)

  describe("each producer's own budget", function()
    it("max_series: new series past it are refused, known ones still update, others unaffected", function()
      local m = {}
      local names = {}
      for i = 1, 5 do
        names[i] = gw.uniq("budget")
        m[i] = { name = names[i], type = "gauge", value = i }
      end
      local code, r = g:push_http({ metrics = m }, bearer("ptok-c"))
      assert.are.equal(200, code)
      assert.are.equal(3, r.accepted)
      assert.are.equal(2, r.rejected)
      assert.are.equal("over_budget", r.errors[1].reason)
      -- only new series: 429 with Retry-After
      local code2, r2, h2 = gw.http_request("POST", g.url .. "/api/v1/push",
        require("moongate").encode({ metrics = { { name = gw.uniq("budget_new"), value = 1 } } }),
        { authorization = "Bearer ptok-c", ["content-type"] = "application/msgpack" })
      assert.are.equal(429, code2)
      assert.is_truthy(tonumber(h2["retry-after"]))
      assert.are.equal("over_budget", cjson.decode(r2).errors[1].reason)
      -- the three it has still update
      local code3, r3 = g:push_http({ metrics = { { name = names[1], type = "gauge", value = 10 } } }, bearer("ptok-c"))
      assert.are.equal(200, code3)
      assert.are.equal(1, r3.accepted)
      assert.are.equal(10, value(('%s{tenant="c"}'):format(names[1])))
      -- another tenant is not affected
      local m4 = {}
      for i = 1, 5 do m4[i] = { name = gw.uniq("other_tenant"), type = "gauge", value = i } end
      local code4, r4 = g:push_http({ metrics = m4 }, bearer("ptok-d"))
      assert.are.equal(200, code4)
      assert.are.equal(5, r4.accepted)
    end)

    it("rate: past the bucket, 429 with Retry-After on HTTP and an ack error on TCP; others unaffected", function()
      local function five(prefix)
        local m = {}
        for i = 1, 5 do m[i] = { name = gw.uniq(prefix), type = "gauge", value = i } end
        return { metrics = m }
      end
      local code, r = g:push_http(five("rate_b"), bearer("ptok-b"))
      assert.are.equal(200, code)
      assert.are.equal(5, r.accepted)
      local body = require("moongate").encode(five("rate_b"))
      local code2, r2, h2 = gw.http_request("POST", g.url .. "/api/v1/push", body,
        { authorization = "Bearer ptok-b", ["content-type"] = "application/msgpack" })
      assert.are.equal(429, code2)
      assert.is_truthy(tonumber(h2["retry-after"]) >= 1)
      assert.are.equal("over_budget", cjson.decode(r2).errors[1].reason)
      local msg = five("rate_b")
      msg.token = "ptok-b"
      local a = g:push_tcp(msg)
      assert.are.equal(0, a.accepted)
      assert.are.equal("over_budget", a.errors[1].reason)
      assert.is_truthy(a.errors[1].detail:find("rate", 1, true))
      -- tenant d pushes at once, in full
      local code3, r3 = g:push_http(five("rate_d"), bearer("ptok-d"))
      assert.are.equal(200, code3)
      assert.are.equal(5, r3.accepted)
    end)
  end)

  it("SIGHUP re-reads the tokens files: a new token works, a removed one is refused", function()
    gw.write_file(g.tokens_dir .. "/push.tokens", "ptok-new tenant=n\n" .. RIGHT.push .. "\n")
    gw.sh("kill -HUP " .. g.pid)
    gw.wait_for(function()
      local r = g:push_tcp { token = "ptok-new", metrics = { { name = "after_hup", type = "gauge", value = 1 } } }
      return r and r.accepted == 1
    end, 5, "the new token")
    assert.are.equal(1, value('after_hup{tenant="n"}'))
    local r = g:push_tcp { token = "ptok-a", metrics = { { name = "after_hup", value = 1 } } }
    assert.are.equal("unauthorized", r.errors[1].reason)
    write_tokens(g.tokens_dir)
    gw.sh("kill -HUP " .. g.pid)
    gw.wait_for(function()
      local r2 = g:push_tcp { token = "ptok-a", metrics = { { name = "after_hup2", type = "gauge", value = 1 } } }
      return r2 and r2.accepted == 1
    end, 5, "the old tokens back")
  end)

  it("no token or password ever reaches the log", function()
    local log = gw.read_file(g.log)
    for _, s in ipairs({ "ptok", "rtok", "atok", "alice-pw", "root-pw", "nope" }) do
      assert.is_nil(log:find(s, 1, true), s)
    end
  end)
end)

describe("admin endpoints by default", function()
  it("are off without an admin credential: 403; SIGHUP still reloads", function()
    local g = gw.start({})
    assert.are.equal(403, (gw.http_request("POST", g.url .. "/-/reload", "", { ["content-length"] = "0" })))
    gw.sh("kill -HUP " .. g.pid)
    gw.wait_for(function() return (gw.read_file(g.log) or ""):find("msg=reloaded", 1, true) end, 5, "the reload")
    g:stop()
  end)
  it("are open with enable_lifecycle = true", function()
    local g = gw.start_with_config("return { enable_lifecycle = true }\n")
    assert.are.equal(200, (gw.http_request("POST", g.url .. "/-/reload", "", { ["content-length"] = "0" })))
    g:stop()
  end)
end)

describe("moongate check --config", function()
  local function check(cfg)
    local dir = gw.tmpdir()
    gw.write_file(dir .. "/c.lua", cfg:gsub("DIR", dir))
    gw.write_file(dir .. "/ok.tokens", "tok-1 tenant=a\n")
    gw.write_file(dir .. "/bad.tokens", "tok-1 tenant=a max_series=zero\n")
    local p = io.popen(gw.quote(gw.bin) .. " check --config " .. gw.quote(dir .. "/c.lua") .. " 2>&1; echo rc=$?")
    local out = p:read("*a")
    p:close()
    gw.sh("rm -rf " .. gw.quote(dir))
    return out
  end
  it("passes a good config", function()
    assert.is_truthy(check('return { auth = { push = { tokens_file = "DIR/ok.tokens" } } }'):find("rc=0", 1, true))
  end)
  it("names a missing tokens file", function()
    local out = check('return { auth = { push = { tokens_file = "DIR/missing.tokens" } } }')
    assert.is_truthy(out:find("missing.tokens: No such file", 1, true), out)
    assert.is_truthy(out:find("rc=1", 1, true))
  end)
  it("names the line of a bad tokens file, without the token", function()
    local out = check('return { auth = { push = { tokens_file = "DIR/bad.tokens" } } }')
    assert.is_truthy(out:find("bad.tokens:1: max_series", 1, true), out)
    assert.is_nil(out:find("tok-1", 1, true))
  end)
  it("refuses a token mode without credentials", function()
    local out = check('return { auth = { read = { mode = "token" } } }')
    assert.is_truthy(out:find("auth.read", 1, true), out)
  end)
end)
