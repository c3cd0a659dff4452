-- The web pages in a real browser: Debian's chromium, headless, started on
-- 127.0.0.1 against a daemon fed by the spec. Each page is loaded with
-- --dump-dom (the DOM after its script ran, the console on stderr) and
-- screenshotted at 1280x800 and 390x844 into build/artifacts/web/.
local gw = require "support.gateway"
local pushgw = require "support.pushgw"
local json = require "cjson"

local HOSTILE = "<script>alert(1)</script>"
local ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
local artifacts = gw.build .. "/artifacts/web"
local chromium = "/usr/bin/chromium"

local function have_chromium()
  return gw.sh("test -x " .. chromium) == 0
end

local CHROME_FLAGS = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
  .. "--disable-background-networking --disable-component-update --disable-sync "
  .. "--hide-scrollbars"

local function enc(s)
  return (s:gsub("[^%w%-_.~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- Loads each page's url three times, every page at once (chromium spends
-- most of its seconds waiting, not computing): its DOM and console, and
-- two screenshots named after the page. Returns page -> {dom, err}.
local function browse_all(g, pages)
  local cmds, out = {}, {}
  local function run(url, args, o, e)
    local udd = gw.tmpdir()
    -- without the sanitized build's preloaded ASan runtime, under which
    -- chromium hangs until the timeout
    cmds[#cmds + 1] = ("(timeout 120 env -u LD_PRELOAD %s %s --user-data-dir=%s %s %s >%s 2>%s; rm -rf %s)"):format(
      chromium, CHROME_FLAGS, udd, args, gw.quote(url), o, e, udd)
  end
  for page, path in pairs(pages) do
    local d = g.dir .. "/chrome-" .. page
    run(g.url .. path, "--enable-logging=stderr --v=0 --dump-dom", d .. ".dom", d .. ".err")
    for _, size in ipairs { "1280x800", "390x844" } do
      local w, h = size:match("(%d+)x(%d+)")
      run(g.url .. path, ("--window-size=%s,%s --screenshot=%s/%s-%s.png"):format(w, h,
          artifacts, page, size), "/dev/null", "/dev/null")
    end
  end
  -- six at a time: eighteen chromiums at once starve each other on a
  -- small machine past their timeout
  for i = 1, #cmds, 6 do
    gw.sh(table.concat(cmds, " & ", i, math.min(i + 5, #cmds)) .. " & wait")
  end
  for page in pairs(pages) do
    local d = g.dir .. "/chrome-" .. page
    out[page] = { dom = gw.read_file(d .. ".dom") or "", err = gw.read_file(d .. ".err") or "" }
  end
  return out
end

-- No uncaught exception, no console message, no refused resource.
local function assert_clean_console(err)
  for line in err:gmatch("[^\n]+") do
    assert.is_nil(line:find("Uncaught", 1, true), line)
    assert.is_nil(line:find(":CONSOLE", 1, true), line)
    assert.is_nil(line:find("Content Security Policy", 1, true), line)
  end
end

-- The served HTML holds exactly one script element (ours) and the hostile
-- strings only escaped.
local function assert_escaped(body)
  local n = select(2, body:gsub("<script", ""))
  assert.are.equal(1, n, "one <script> only")
  assert.is_nil(body:find("<b>hot</b>", 1, true))
  assert.is_nil(body:find("<i>on purpose</i>", 1, true))
end

local function get(g, path)
  local code, body, headers = gw.http_request("GET", g.url .. path)
  assert.are.equal(200, code, path)
  return body, headers
end

local DRY = "/explain?name=debug_never&type=gauge&labels=" .. enc('{"env":"x"}')
  .. "&source=" .. enc('{"job":"' .. HOSTILE .. '"}')
local PAGES = { overview = "/", alerts = "/alerts", rules = "/rules",
                cardinality = "/cardinality", explain = DRY, status = "/status" }

describe("web pages", function()
  local g, inputs0, seen
  local function browse(_, _, page)
    return seen[page].dom, seen[page].err
  end
  setup(function()
    assert(have_chromium(), "chromium is missing: .ci/deps.sh installs it")
    gw.sh("mkdir -p " .. gw.quote(artifacts))
    local fx = gw.root .. "/spec/e2e/fixtures/web"
    g = gw.start_with_config(("return { rule_interval = 0.2, scripts = %q, rules = %q }")
      :format(fx .. "/scripts", fx .. "/rules"))
    -- ttl 0: chromium may take minutes on a loaded machine, and the pages
    -- must still show what was pushed
    local code = g:push_http { ttl = 0, source = { job = "agent" }, dropped = { [HOSTILE] = 2 }, metrics = {
      { name = "web_temp", type = "gauge", value = 21.5, labels = { room = HOSTILE } },
      { name = "web_temp", type = "gauge", value = 12, labels = { room = "kitchen" } },
      { name = "http_requests_total", type = "counter", value = 3, labels = { status = "404", path = "/x" } },
      { name = "debug_thing", type = "gauge", value = 1 },
    } }
    assert.are.equal(200, code)
    code = pushgw.put(g.url, "/metrics/job/webjob/room@base64/" .. pushgw.b64(HOSTILE),
      "# TYPE web_batch_last gauge\nweb_batch_last 7\n")
    assert.are.equal(200, code)
    gw.wait_for(function()
      local _, body = gw.http_request("GET", g.url .. "/api/v1/alerts")
      local r = json.decode(body)
      return #r.data.alerts == 2
    end, 10, "both WebTempHigh alerts")
    -- four msgpack series (one dropped by the pipeline, still an input),
    -- the reported drop (moongate_client_dropped_total{job,reason}), the
    -- group's series and its push_time_seconds and push_failure_time_seconds
    inputs0 = json.decode((get(g, "/api/v1/status/overview"))).data.inputSeries
    assert.are.equal(8, inputs0)
    seen = browse_all(g, PAGES)
  end)
  teardown(function() if g then g:stop() end end)

  it("the overview shows series, the drop by reason, the charts, build and uptime", function()
    local body, headers = get(g, "/")
    local csp = headers["content-security-policy"]
    assert.truthy(csp:find("default-src 'none'", 1, true))
    -- only our script runs: it carries this response's nonce
    local nonce = csp:match("script%-src 'nonce%-(%x+)'")
    assert.are.equal(32, #nonce)
    assert.truthy(body:find('<script nonce="' .. nonce .. '">', 1, true))
    assert_escaped(body)
    local dom, err = browse(g, g.url .. "/", "overview")
    assert_clean_console(err)
    assert.truthy(dom:find('data-ready="1"', 1, true), "the script ran")
    local inputs = tonumber(dom:match('id="c%-inputs".-class="v">(%d+)<'))
    assert.are.equal(inputs0, inputs)
    assert.truthy(dom:match('<td><code>rule</code></td><td>dropped</td><td class="n">1</td>'))
    assert.truthy(dom:find('id="chart-rate"', 1, true))
    assert.truthy(dom:find('id="chart-series"', 1, true))
    assert.truthy(dom:find("<polyline", 1, true))
    assert.truthy(dom:find('id="c-version"', 1, true))
    assert.truthy(dom:find('id="c-snapshot"', 1, true))
    -- the producer's drop reason is its own string: escaped, in the
    -- series the pipeline made of it
    assert.truthy(dom:find('id="client-drops"', 1, true))
    assert.truthy(dom:find('job="agent",reason="' .. ESCAPED .. '"', 1, true))
    local r = json.decode((get(g, "/api/v1/status/overview")))
    assert.are.equal("success", r.status)
    assert.are.equal(inputs0, r.data.inputSeries)
    assert.are.equal(1, r.data.dropped.rule)
    assert.is_true(#r.data.history.points >= 2)
  end)

  it("the alerts page groups by rule with state, labels, activeAt, value, annotations", function()
    assert_escaped(get(g, "/alerts"))
    local dom, err = browse(g, g.url .. "/alerts", "alerts")
    assert_clean_console(err)
    assert.truthy(dom:find("WebTempHigh", 1, true))
    assert.truthy(dom:find('class="st firing">firing', 1, true))
    assert.truthy(dom:match('id="n%-firing".-class="v">1<'))
    assert.truthy(dom:find('room="' .. ESCAPED .. '"', 1, true))
    assert.truthy(dom:find('room="kitchen"', 1, true))
    assert.truthy(dom:find("temp is 21.5 on " .. ESCAPED .. " &lt;b&gt;hot&lt;/b&gt;", 1, true))
    assert.truthy(dom:find("2.15e+01", 1, true))
    assert.truthy(dom:find("data-ts=", 1, true))
  end)

  it("the rules page shows health, the last error, evaluation time and duration", function()
    assert_escaped(get(g, "/rules"))
    local dom, err = browse(g, g.url .. "/rules", "rules")
    assert_clean_console(err)
    assert.truthy(dom:find("web:temp:sum", 1, true))
    assert.truthy(dom:find('class="st ok">ok', 1, true))
    assert.truthy(dom:find('class="st err">err', 1, true))
    assert.truthy(dom:find("broken &lt;i&gt;on purpose&lt;/i&gt;", 1, true))
    assert.truthy(dom:match('%d+%.%d%d%d ms</td>'))
  end)

  it("the cardinality page shows top metrics, labels, producers and each cap", function()
    assert_escaped(get(g, "/cardinality"))
    local dom, err = browse(g, g.url .. "/cardinality", "cardinality")
    assert_clean_console(err)
    assert.truthy(dom:match('<code>web_temp</code></td><td class="n">2</td>'))
    assert.truthy(dom:find('id="top-labels"', 1, true))
    assert.truthy(dom:find('<div class="bar"><i style="width:', 1, true))
    -- the per_label cap's producers are label values: escaped
    assert.truthy(dom:find("<code>" .. ESCAPED .. "</code>", 1, true))
    assert.truthy(dom:match('<code>rooms</code></td><td>per_label</td><td class="n">%d+ / 100</td>'))
    assert.truthy(dom:match('<code>paths</code></td><td>label</td><td class="n">1 / 50</td>'))
  end)

  it("the explain page dry-runs a never-pushed series and names the step that drops it", function()
    local q = DRY
    assert_escaped(get(g, q))
    local dom, err = browse(g, g.url .. q, "explain")
    assert_clean_console(err)
    assert.truthy(dom:find('debug_never{env="x",job="' .. ESCAPED, 1, true))
    assert.truthy(dom:match('<tr class="drop"><td>drop</td><td><code>[^<]*pipeline%.lua:6</code>'))
    assert.truthy(dom:find('class="st dropped">dropped</span> <span class="why">rule', 1, true))
    -- nothing was stored
    local r = json.decode((get(g, "/api/v1/status/overview")))
    assert.are.equal(inputs0, r.data.inputSeries)
    -- a live series through the selector form
    dom = get(g, "/explain?series=" .. enc('web_temp{room="kitchen"}'))
    assert.truthy(dom:find('output <code class="out">web_temp{job=&quot;agent&quot;,room=&quot;kitchen&quot;}', 1, true))
  end)

  it("the status page shows build, runtime, flags, config and the Pushgateway groups", function()
    assert_escaped(get(g, "/status"))
    local dom, err = browse(g, g.url .. "/status", "status")
    assert_clean_console(err)
    assert.truthy(dom:find('id="pushgw"', 1, true))
    assert.truthy(dom:find('job="webjob"', 1, true))
    assert.truthy(dom:find('room="' .. ESCAPED .. '"', 1, true))
    assert.truthy(dom:find("<code>web_batch_last</code>", 1, true))
    assert.truthy(dom:find("rule_interval: 0.2s", 1, true))
    assert.truthy(dom:find("<th>--config</th>", 1, true))
  end)

  it("every page has a JSON twin in Prometheus's shapes", function()
    local r = json.decode((get(g, "/api/v1/status/config")))
    assert.are.equal("success", r.status)
    assert.truthy(r.data.yaml:find("rule_interval: 0.2s", 1, true))
    assert.truthy(r.data.yaml:find('basic_auth_users: "<0 user(s)>"', 1, true))
    assert.is_nil(r.data.yaml:find("tokens_file: \"/", 1, true))
    r = json.decode((get(g, "/api/v1/status/flags")))
    assert.are.equal("127.0.0.1:0", r.data.http)
    assert.are.equal("logfmt", r.data["log-format"])
    r = json.decode((get(g, "/api/v1/status/buildinfo")))
    assert.are.equal(gw.read_file(gw.root .. "/CMakeLists.txt"):match("VERSION (%d+%.%d+%.%d+)"),
      r.data.version)
    for _, k in ipairs { "revision", "branch", "buildDate", "compiler", "lua", "libevent" } do
      assert.are.equal("string", type(r.data[k]), k)
    end
    r = json.decode((get(g, "/api/v1/status/runtimeinfo")))
    assert.is_true(r.data.reloadConfigSuccess)
    assert.truthy(r.data.startTime:match("^%d+%-%d+%-%d+T"))
    assert.are.equal("string", type(r.data.CWD))
    for _, p in ipairs { "/api/v1/alerts", "/api/v1/rules", "/api/v1/status/cardinality" } do
      assert.are.equal("success", json.decode((get(g, p))).status, p)
    end
  end)

  it("/api/v1/explain dry-runs a series by query or POSTed JSON, storing nothing", function()
    local r = json.decode((get(g, "/api/v1/explain?name=http_requests_total&type=counter&labels="
      .. enc('{"status":"503"}'))))
    local e = r.data[1]
    assert.are.equal("http_requests_total{status=\"503\"}", e.input)
    assert.are.equal('http_requests_total{status="5xx"}', e.output)
    assert.truthy(e.steps[1].at:find("pipeline.lua:3", 1, true))
    assert.is_true(e.dryRun)
    local body = json.encode { name = "debug_x", type = "gauge", labels = { a = "b" } }
    local code, reply = gw.http_request("POST", g.url .. "/api/v1/explain", body,
      { ["content-type"] = "application/json", ["content-length"] = tostring(#body) })
    assert.are.equal(200, code)
    e = json.decode(reply).data[1]
    assert.are.equal("rule", e.dropped)
    assert.are.equal("drop", e.steps[#e.steps].step)
    body = json.encode { name = "x", labels = { big = ("v"):rep(70000) } }
    code, reply = gw.http_request("POST", g.url .. "/api/v1/explain", body,
      { ["content-type"] = "application/json", ["content-length"] = tostring(#body) })
    assert.are.equal(400, code)
    assert.truthy(json.decode(reply).error:find("over 65536 bytes", 1, true))
    code, reply = gw.http_request("GET", g.url .. "/api/v1/explain?name=x&labels=" .. enc("[1]"))
    assert.are.equal(400, code)
    assert.are.equal("bad_data", json.decode(reply).errorType)
    code, reply = gw.http_request("GET", g.url .. "/api/v1/explain?name=" .. enc("bad name"))
    assert.are.equal(200, code)
    assert.are.equal("invalid_metric_name", json.decode(reply).data[1].dropped)
    r = json.decode((get(g, "/api/v1/status/overview")))
    assert.are.equal(inputs0, r.data.inputSeries)
  end)
end)
