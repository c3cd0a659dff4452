-- Cardinality caps against a real daemon started with --scripts (docs/lua.md,
-- `cap` and `limits`): a real Prometheus scraping a capped
-- gateway under churn never sees more series than the limit, and the fold
-- keeps counter totals exact; GET /api/v1/status/cardinality; push replies
-- naming the cap that acted; expiry freeing room; caps across POST
-- /-/reload. Everything on 127.0.0.1; every wait bounded.
local gw = require "support.gateway"
local prometheus = require "support.prometheus"
local cjson = require "cjson"
local socket = require "socket"

local FIX = gw.root .. "/spec/e2e/fixtures/caps/"

local function fixture(name)
  return assert(gw.read_file(FIX .. name), "missing fixture " .. name)
end

-- Temp dirs made by a test, removed after it.
local cleanup_dirs = gw.cleanup_dirs

-- A fresh scripts dir holding pipeline.lua = the fixture; returns the dir
-- and the file's path.
local function scripts_dir(name)
  return gw.scripts_dir(fixture(name))
end

-- A gateway running the fixture as its only script; also the script's path.
local function start_with_script(name)
  local dir, path = scripts_dir(name)
  return gw.start { "--scripts", dir, "--enable-lifecycle" }, path
end

-- Replaces the script the way a deployment would: written aside (not *.lua,
-- so never loaded half-written), then renamed over it.
local function replace(path, name)
  gw.write_file(path .. ".new", fixture(name))
  assert(os.rename(path .. ".new", path))
end

local function post_reload(g)
  return gw.http_request("POST", g.url .. "/-/reload", "", { ["content-length"] = "0" })
end

-- The gateway's cardinality report, decoded.
local function cardinality(g, limit)
  local code, body, h = gw.http_request("GET", g.url .. "/api/v1/status/cardinality"
                                        .. (limit and "?limit=" .. limit or ""))
  assert.are.equal(200, code, body)
  assert.truthy((h["content-type"] or ""):find("application/json", 1, true), h["content-type"])
  local ok, doc = pcall(cjson.decode, body)
  assert(ok, "not JSON: " .. tostring(body))
  return doc, body
end

-- The cap called `name` in a cardinality report.
local function cap_of(doc, name)
  for _, c in ipairs(doc.data.caps) do
    if c.name == name then return c end
  end
  error("no cap " .. name .. " in " .. cjson.encode(doc.data.caps), 2)
end

-- Sample lines of a scrape that are not the gateway's own.
local function pushed_lines(body)
  local t = {}
  for line in body:gmatch("[^\n]+") do
    if line:sub(1, 1) ~= "#" and not line:match("^moongate_") and not line:match("^process_") then
      t[#t + 1] = line
    end
  end
  return t
end

-- Lines of a scrape for metric `name`.
local function lines_of(body, name)
  local t = {}
  for line in body:gmatch("[^\n]+") do
    if line:sub(1, #name + 1) == name .. "{" or line:sub(1, #name + 1) == name .. " " then
      t[#t + 1] = line
    end
  end
  return t
end

local function has_line(body, series)
  return gw.value(body, series) ~= nil
end

-- `n` gauges name{id=prefix..i}, value 1.
local function gauges(name, prefix, n, first)
  local m = {}
  for i = first or 1, (first or 1) + n - 1 do
    m[#m + 1] = { name = name, type = "gauge", value = 1, labels = { id = prefix .. i } }
  end
  return m
end

-- Asserts an errors entry for metric `index` with `reason`, whose detail
-- names `cap` and says `verb` (folded or dropped).
local function assert_cap_note(r, index, reason, cap, verb)
  for _, e in ipairs(r.errors or {}) do
    if e.index == index then
      assert.are.equal(reason, e.reason, cjson.encode(e))
      assert.truthy(e.detail:find(cap, 1, true), "detail does not name " .. cap .. ": " .. e.detail)
      assert.truthy(e.detail:find(verb, 1, true), "detail does not say " .. verb .. ": " .. e.detail)
      return e
    end
  end
  error("no errors entry for index " .. index .. ": " .. cjson.encode(r), 2)
end

local function equals(want)
  return function(v) return v == want end
end

local function above(x)
  return function(v) return v and v > x end
end

local PATH_CAP = 'cap{label="path",max_values=50,overflow="fold"}'
local LIMIT_CAP = "limits{max_series=200}"

-- What counts against limits{max_series}: every series but the gateway's
-- own and the ones Prometheus adds.
local PUSHED = '{job="moongate",__name__!~"moongate_.*|process_.*|up|scrape_.*"}'

describe("Prometheus scraping a capped gateway under churn", function()
  local g, prom

  setup(function()
    g = start_with_script("churn.lua")
    prom = prometheus.start(g.http, "moongate")
  end)

  teardown(function()
    if prom then prom.stop() end
    if g then g:stop() end
    cleanup_dirs()
  end)

  it("never holds more than limits{max_series} series, and the fold keeps counter totals exact", function()
    -- the scrape manager applies discovered targets every 5 s
    prom.await_value('up{job="moongate"}', equals(1), 20)
    local t0 = socket.gettime()

    local WAVES, PRODUCERS, IDS, TTL = 8, 4, 60, 2
    local first = {}      -- path number -> the wave that brought it
    local npaths = 0
    local gauges_admitted = {} -- wave -> gauges admitted
    local hits_after_first

    -- Counter values a path holds at wave w: rising while it is pushed.
    local function counter_value(k, w) return (w - first[k] + 1) * (k % 5 + 1) end

    for w = 1, WAVES do
      -- counters: 60 new paths first, 10 more each wave after; every
      -- known path pushed again with a higher value. They outlive the run:
      -- the total is checked at the end.
      local new = w == 1 and 60 or 10
      for k = npaths + 1, npaths + new do first[k] = w end
      npaths = npaths + new
      local m = {}
      for k = 1, npaths do
        m[k] = { name = "churn_requests_total", type = "counter", value = counter_value(k, w),
                 labels = { path = "/p/" .. k } }
      end
      local code, r = g:push_http { ttl = 60, metrics = m }
      assert.are.equal(200, code)
      assert.are.equal(npaths, r.accepted, cjson.encode(r))
      assert.are.equal(0, r.dropped, "a counter path was dropped, not folded: " .. cjson.encode(r))

      -- gauges: each producer brings 60 new ids that live 2 s
      gauges_admitted[w] = 0
      for p = 1, PRODUCERS do
        code, r = g:push_http { ttl = TTL, source = { producer = "p" .. p },
                                metrics = gauges("churn_items", "w" .. w .. "-", IDS) }
        assert.are.equal(200, code)
        assert.are.equal(IDS, r.accepted)
        gauges_admitted[w] = gauges_admitted[w] + r.accepted - r.dropped
      end
      local pushed = socket.gettime()

      -- the gateway itself, right after the wave
      local body = g:scrape()
      local n = #pushed_lines(body)
      assert.is_true(n <= 200, "wave " .. w .. ": " .. n .. " series exposed")
      assert.is_true(gw.value(body, 'moongate_cap_usage{cap="' .. LIMIT_CAP .. '"}') <= 200)
      assert.are.equal(51, #lines_of(body, "churn_requests_total"))

      -- a scrape by Prometheus that started after this wave
      prom.await_value('timestamp(up{job="moongate"})', function(ts) return ts and ts > pushed end, 10)
      if w == 1 then
        hits_after_first = tonumber(prom.await_value('sum(moongate_cap_hits_total{job="moongate"})',
                                                     above(0)).value[2])
      end
    end

    -- the churn was real: room freed by expiry let later waves in
    local later = 0
    for w = 3, WAVES do later = later + gauges_admitted[w] end
    assert.is_true(later > 0, "no gauge admitted after wave 2: " .. cjson.encode(gauges_admitted))

    -- at every scrape over the run, at most 200 pushed series; at one, 200
    local range = ("[%ds:1s]"):format(math.ceil(socket.gettime() - t0) + 2)
    local max = prom.scalar("max_over_time(count(" .. PUSHED .. ")" .. range .. ")")
    assert.is_true(max <= 200, "Prometheus saw " .. tostring(max) .. " series at one scrape")
    assert.are.equal(200, max)
    -- and Prometheus saw room freed between the full scrapes
    local min = prom.scalar("min_over_time(count(" .. PUSHED .. ")" .. range .. ")")
    assert.is_true(min < 200, "Prometheus never saw the gauges expire")
    assert.is_true(prom.scalar('max_over_time(moongate_cap_usage{job="moongate",cap="'
                               .. LIMIT_CAP .. '"}' .. range .. ")") <= 200)
    -- the caps acted, and their hits rose over the run
    prom.await_value('sum(moongate_cap_hits_total{job="moongate"})', above(hits_after_first))
    prom.await_value("moongate_cap_hits_total{job=\"moongate\",cap='" .. PATH_CAP .. "'}", above(0))
    prom.await_value('moongate_cap_hits_total{job="moongate",cap="per-producer"}', above(0))
    prom.await_value('moongate_cap_hits_total{job="moongate",cap="' .. LIMIT_CAP .. '"}', above(0))
    prom.await_value('moongate_series_expired_total{job="moongate"}', above(0))

    -- 50 paths and the overflow series; the total exactly what was pushed
    local total = 0
    for k = 1, npaths do total = total + counter_value(k, WAVES) end
    prom.await_value('count(churn_requests_total{job="moongate"})', equals(51))
    prom.await_value('churn_requests_total{job="moongate",path="__overflow__"}', above(0))
    prom.await_value('sum(churn_requests_total{job="moongate"})', equals(total))
    prom.await_value('sum(resets(churn_requests_total{job="moongate"}' .. range .. '))', equals(0))
  end)
end)

describe("GET /api/v1/status/cardinality", function()
  local g

  setup(function()
    g = start_with_script("status.lua")
    local function push(tenant, metrics)
      local code, r = g:push_http { source = { tenant = tenant }, metrics = metrics }
      assert.are.equal(200, code)
      assert.are.equal(#metrics, r.accepted, cjson.encode(r))
      return r
    end
    -- noisy: 8 pushed, 6 admitted; mid 5; quiet 3; tiny 2
    push("noisy", gauges("st_a_total", "", 8))
    local mid = gauges("st_b", "", 4)
    mid[5] = { name = "st_a_total", type = "gauge", value = 1, labels = { id = "1" } }
    push("mid", mid)
    push("quiet", gauges("st_c", "", 3))
    push("tiny", {
      { name = "st_d", type = "gauge", value = 1, labels = { color = "red", zone = "a" } },
      { name = "st_d", type = "gauge", value = 1, labels = { color = "red", zone = "b" } },
    })
  end)

  teardown(function()
    if g then g:stop() end
    cleanup_dirs()
  end)

  it("answers valid JSON with the documented fields", function()
    local doc = cardinality(g, 3)
    assert.are.equal("success", doc.status)
    local d = doc.data
    assert.is_table(d.headStats)
    assert.are.equal(18, d.headStats.numInputSeries) -- every input, the capped ones too
    assert.is_true(d.headStats.numSeries >= 16, cjson.encode(d.headStats))
    for _, k in ipairs { "seriesCountByMetricName", "labelValueCountByLabelName" } do
      assert.is_table(d[k], k)
      for _, e in ipairs(d[k]) do
        assert.are.equal("string", type(e.name))
        assert.are.equal("number", type(e.value))
      end
    end
    assert.is_table(d.seriesCountByProducer)
    assert.is_table(d.caps)
  end)

  it("orders the top metrics by series, without the gateway's own", function()
    assert.are.same({
      { name = "st_a_total", value = 7 },
      { name = "st_b", value = 4 },
      { name = "st_c", value = 3 },
    }, cardinality(g, 3).data.seriesCountByMetricName)
  end)

  it("counts distinct values per label name, not series", function()
    -- id is on 13 series with 6 distinct values
    assert.are.same({
      { name = "id", value = 6 },
      { name = "tenant", value = 4 },
      { name = "zone", value = 2 },
    }, cardinality(g, 3).data.labelValueCountByLabelName)
  end)

  it("keys producers by the per_label cap's label, the noisiest first", function()
    local by = cardinality(g, 3).data.seriesCountByProducer
    assert.are.same({ "tenant" }, (function()
      local t = {}
      for k in pairs(by) do t[#t + 1] = k end
      return t
    end)())
    assert.are.same({
      { name = "noisy", value = 6 },
      { name = "mid", value = 5 },
      { name = "quiet", value = 3 },
    }, by.tenant)
  end)

  it("lists every cap with its kind, limit, use, hits and mode", function()
    local doc = cardinality(g, 3)
    assert.are.equal(4, #doc.data.caps) -- limit truncates the top lists, not the caps
    local t = cap_of(doc, "per-tenant")
    assert.are.same({ name = "per-tenant", kind = "per_label", label = "tenant", limit = 6,
                      use = 6, hits = 2, overflow = "drop", mode = "enforce" }, t)
    local s = cap_of(doc, 'cap{metric="st_b",max_series=2,mode="shadow"}')
    assert.are.same({ name = 'cap{metric="st_b",max_series=2,mode="shadow"}', kind = "metric",
                      metric = "st_b", limit = 2, use = 4, hits = 2, overflow = "drop",
                      mode = "shadow" }, s)
    local z = cap_of(doc, 'cap{label="zone",max_values=5}')
    assert.are.same({ name = 'cap{label="zone",max_values=5}', kind = "label", label = "zone",
                      limit = 5, use = 2, hits = 0, overflow = "drop", mode = "enforce" }, z)
    local l = cap_of(doc, "limits{max_series=1000}")
    assert.are.same({ name = "limits{max_series=1000}", kind = "max_series", limit = 1000,
                      use = 16, hits = 0, overflow = "drop", mode = "enforce" }, l)
    -- the same hits as the gateway's own counter
    assert.are.equal(2, g:value('moongate_cap_hits_total{cap="per-tenant"}'))
  end)

  it("limit=3 truncates the lists; without it they are whole", function()
    local d3 = cardinality(g, 3).data
    local d = cardinality(g).data
    assert.are.equal(3, #d3.seriesCountByMetricName)
    assert.are.equal(4, #d.seriesCountByMetricName)
    assert.are.same({ name = "st_d", value = 2 }, d.seriesCountByMetricName[4])
    assert.are.equal(3, #d3.labelValueCountByLabelName)
    assert.are.equal(4, #d.labelValueCountByLabelName)
    assert.are.same({ name = "color", value = 1 }, d.labelValueCountByLabelName[4])
    assert.are.equal(3, #d3.seriesCountByProducer.tenant)
    assert.are.same({ name = "tiny", value = 2 }, d.seriesCountByProducer.tenant[4])
    local d1 = cardinality(g, 1).data
    assert.are.same({ { name = "st_a_total", value = 7 } }, d1.seriesCountByMetricName)
    assert.are.same({ { name = "noisy", value = 6 } }, d1.seriesCountByProducer.tenant)
  end)
end)

describe("a push reply names the cap that acted", function()
  local g

  before_each(function() g = start_with_script("replies.lua") end)

  after_each(function()
    if g then g:stop() end
    g = nil
    cleanup_dirs()
  end)

  local function paths(name, list)
    local m = {}
    for i, p in ipairs(list) do
      m[i] = { name = name, type = "counter", value = i, labels = { path = p } }
    end
    return m
  end

  it("HTTP: a folded series, named and not counted as dropped", function()
    local code, r = g:push_http { metrics = paths("rp_http_total", { "/a", "/b", "/c" }) }
    assert.are.equal(200, code)
    assert.are.equal(3, r.accepted)
    assert.are.equal(0, r.rejected)
    assert.are.equal(0, r.dropped)
    assert.are.equal(1, #r.errors)
    assert_cap_note(r, 2, "cardinality_cap", "paths", "folded")
    local body = g:scrape()
    assert.are.equal(3, gw.value(body, 'rp_http_total{path="__overflow__"}'))
    assert.is_nil(gw.value(body, 'rp_http_total{path="/c"}'))
  end)

  it("HTTP: a dropped series, named", function()
    local code, r = g:push_http { source = { producer = "p1" }, metrics = gauges("rp_g", "", 4) }
    assert.are.equal(200, code)
    assert.are.equal(4, r.accepted)
    assert.are.equal(1, r.dropped)
    assert.are.equal(1, #r.errors)
    assert_cap_note(r, 3, "cardinality_cap", "per-producer", "dropped")
    assert.is_nil(g:value('rp_g{id="4",producer="p1"}'))
  end)

  it("HTTP: a series over limits{max_series}, reason limit", function()
    local code, r = g:push_http { metrics = gauges("rp_l", "", 11) }
    assert.are.equal(200, code)
    assert.are.equal(11, r.accepted)
    assert.are.equal(1, r.dropped)
    assert_cap_note(r, 10, "limit", "limits{max_series=10}", "dropped")
    assert.are.equal(10, #lines_of(g:scrape(), "rp_l"))
  end)

  it("HTTP: the entry's index counts across the messages of one body", function()
    local moongate = require "moongate"
    local body = moongate.encode { source = { producer = "p1" }, metrics = gauges("rp_b", "", 2) }
      .. moongate.encode { source = { producer = "p1" }, metrics = gauges("rp_b", "", 2, 3) }
    local code, r = g:push_http(body)
    assert.are.equal(200, code)
    assert.are.equal(4, r.accepted)
    assert.are.equal(1, r.dropped)
    assert_cap_note(r, 3, "cardinality_cap", "per-producer", "dropped")
  end)

  it("TCP ack: a folded and a dropped series, each named, the ack id echoed", function()
    local r, err = g:push_tcp { ack = 7, metrics = paths("rp_tcp_total", { "/a", "/b", "/c" }) }
    assert.is_table(r, "no ack: " .. tostring(err))
    assert.are.equal(7, r.ack)
    assert.are.equal(3, r.accepted)
    assert.are.equal(0, r.dropped)
    assert_cap_note(r, 2, "cardinality_cap", "paths", "folded")

    r, err = g:push_tcp { ack = 8, source = { producer = "p2" }, metrics = gauges("rp_t", "", 4) }
    assert.is_table(r, "no ack: " .. tostring(err))
    assert.are.equal(8, r.ack)
    assert.are.equal(4, r.accepted)
    assert.are.equal(1, r.dropped)
    assert_cap_note(r, 3, "cardinality_cap", "per-producer", "dropped")
  end)

  it("TCP ack: a series over limits{max_series}, reason limit", function()
    local r, err = g:push_tcp { ack = 9, metrics = gauges("rp_tl", "", 12) }
    assert.is_table(r, "no ack: " .. tostring(err))
    assert.are.equal(12, r.accepted)
    assert.are.equal(2, r.dropped)
    assert_cap_note(r, 10, "limit", "limits{max_series=10}", "dropped")
    assert_cap_note(r, 11, "limit", "limits{max_series=10}", "dropped")
  end)

  -- A refused series is cached as refused: pushed again it is dropped
  -- without meeting the caps, and the reply must still say why.
  it("a series refused by a cap pushed again is still answered with its reason", function()
    local _, r = g:push_http { source = { producer = "p1" }, metrics = gauges("rp_again", "", 4) }
    assert_cap_note(r, 3, "cardinality_cap", "per-producer", "dropped")
    local _, r2 = g:push_http { source = { producer = "p1" }, metrics = gauges("rp_again", "", 1, 4) }
    assert.are.equal(1, r2.dropped)
    assert.are.equal(1, #r2.errors, "no errors entry for a dropped series: " .. cjson.encode(r2))
    assert.are.equal("cardinality_cap", r2.errors[1].reason)
  end)

  it("a series refused by limits{max_series} pushed again is still answered with reason limit", function()
    local _, r3 = g:push_http { metrics = gauges("rp_again_l", "", 11) }
    assert_cap_note(r3, 10, "limit", "limits{max_series=10}", "dropped")
    local _, r4 = g:push_http { metrics = gauges("rp_again_l", "", 1, 11) }
    assert.are.equal(1, r4.dropped)
    assert.are.equal(1, #r4.errors, "no errors entry for a dropped series: " .. cjson.encode(r4))
    assert.are.equal("limit", r4.errors[1].reason)
    local r5 = g:push_tcp { metrics = gauges("rp_again_l", "", 1, 11) }
    assert.are.equal(1, r5.dropped)
    assert.are.equal(1, #r5.errors, "no errors entry in the ack: " .. cjson.encode(r5))
    assert.are.equal("limit", r5.errors[1].reason)
  end)

  it("a series admitted before is not named", function()
    local _, r = g:push_http { source = { producer = "p1" }, metrics = gauges("rp_k", "", 3) }
    assert.are.same({}, r.errors)
    local _, r2 = g:push_http { source = { producer = "p1" }, metrics = gauges("rp_k", "", 3) }
    assert.are.equal(3, r2.accepted)
    assert.are.equal(0, r2.dropped)
    assert.are.same({}, r2.errors)
  end)
end)

describe("expiry frees a cap's room", function()
  local g

  before_each(function() g = start_with_script("expiry.lua") end)

  after_each(function()
    if g then g:stop() end
    g = nil
    cleanup_dirs()
  end)

  -- Polls the scrape until none of `series` is exposed.
  local function await_gone(series)
    gw.wait_for(function()
      local body = g:scrape()
      for _, s in ipairs(series) do
        if has_line(body, s) then return false end
      end
      return true
    end, 10, "expiry of " .. table.concat(series, ", "))
  end

  it("per_label: a producer's expired series make room for new ones", function()
    local _, r = g:push_http { ttl = 1, source = { producer = "p" }, metrics = gauges("ex_p", "old", 4) }
    assert.are.equal(1, r.dropped)
    assert_cap_note(r, 3, "cardinality_cap", "per-producer", "dropped")
    -- still full: a new one is refused before the others expire
    local _, r1 = g:push_http { ttl = 1, source = { producer = "p" }, metrics = gauges("ex_p", "early", 1) }
    assert.are.equal(1, r1.dropped)
    await_gone { 'ex_p{id="old1",producer="p"}', 'ex_p{id="old2",producer="p"}',
                 'ex_p{id="old3",producer="p"}' }
    local _, r2 = g:push_http { ttl = 60, source = { producer = "p" }, metrics = gauges("ex_p", "new", 4) }
    assert.are.equal(4, r2.accepted)
    assert.are.equal(1, r2.dropped)
    assert_cap_note(r2, 3, "cardinality_cap", "per-producer", "dropped")
    local body = g:scrape()
    for i = 1, 3 do assert.are.equal(1, gw.value(body, ('ex_p{id="new%d",producer="p"}'):format(i))) end
    assert.are.equal(3, #lines_of(body, "ex_p"))
  end)

  it("label: expired values make room for new values", function()
    local m = {}
    for i, p in ipairs { "/a", "/b", "/c", "/d" } do
      m[i] = { name = "ex_l", type = "gauge", value = i, labels = { path = p } }
    end
    local _, r = g:push_http { ttl = 1, metrics = m }
    assert.are.equal(1, r.dropped)
    assert_cap_note(r, 3, "cardinality_cap", "paths", "dropped")
    await_gone { 'ex_l{path="/a"}', 'ex_l{path="/b"}', 'ex_l{path="/c"}' }
    for i, p in ipairs { "/e", "/f", "/g", "/h" } do
      m[i] = { name = "ex_l", type = "gauge", value = i, labels = { path = p } }
    end
    local _, r2 = g:push_http { ttl = 60, metrics = m }
    assert.are.equal(1, r2.dropped)
    local body = g:scrape()
    assert.are.equal(1, gw.value(body, 'ex_l{path="/e"}'))
    assert.are.equal(3, gw.value(body, 'ex_l{path="/g"}'))
    assert.is_nil(gw.value(body, 'ex_l{path="/h"}'))
  end)

  it("limits{max_series}: expired series make room under the global limit", function()
    local _, r = g:push_http { ttl = 1, metrics = gauges("ex_g", "old", 7) }
    assert.are.equal(1, r.dropped)
    assert_cap_note(r, 6, "limit", "limits{max_series=6}", "dropped")
    local old = {}
    for i = 1, 6 do old[i] = ('ex_g{id="old%d"}'):format(i) end
    await_gone(old)
    local _, r2 = g:push_http { ttl = 60, metrics = gauges("ex_g", "new", 7) }
    assert.are.equal(1, r2.dropped)
    assert_cap_note(r2, 6, "limit", "limits{max_series=6}", "dropped")
    local body = g:scrape()
    assert.are.equal(6, #lines_of(body, "ex_g"))
    assert.are.equal(1, gw.value(body, 'ex_g{id="new6"}'))
    assert.are.equal(6, cap_of(cardinality(g), "limits{max_series=6}").use)
  end)

  it("a series refused while full is admitted once it and the others expired", function()
    local _, r = g:push_http { ttl = 1, source = { producer = "q" }, metrics = gauges("ex_r", "", 4) }
    assert.are.equal(1, r.dropped)
    await_gone { 'ex_r{id="1",producer="q"}', 'ex_r{id="2",producer="q"}', 'ex_r{id="3",producer="q"}' }
    -- the refused series' own cached refusal expires with its TTL as well;
    -- id 4 comes first this time
    local m = gauges("ex_r", "", 1, 4)
    local ok = gw.wait_for(function()
      local _, r2 = g:push_http { ttl = 60, source = { producer = "q" }, metrics = m }
      return r2.dropped == 0 and r2
    end, 10, "ex_r{id=4} to be admitted")
    assert.are.same({}, ok.errors)
    assert.are.equal(1, g:value('ex_r{id="4",producer="q"}'))
  end)
end)

describe("caps across POST /-/reload", function()
  local g, path

  before_each(function() g, path = start_with_script("reload_keep.lua") end)

  after_each(function()
    if g then g:stop() end
    g = nil
    cleanup_dirs()
  end)

  -- Producer p's series, by id, as scraped now.
  local function admitted()
    local ids = {}
    for _, line in ipairs(lines_of(g:scrape(), "rl_g")) do
      ids[#ids + 1] = line:match('id="([^"]+)"')
    end
    table.sort(ids)
    return ids
  end

  local function push_ids(first, n)
    local code, r = g:push_http { source = { producer = "p" }, metrics = gauges("rl_g", "", n, first) }
    assert.are.equal(200, code)
    return r
  end

  it("an unchanged cap keeps its admitted series; a new one is still refused", function()
    local r = push_ids(1, 8)
    assert.are.equal(3, r.dropped)
    assert.are.same({ "1", "2", "3", "4", "5" }, admitted())
    local before = cap_of(cardinality(g), "per-producer")
    assert.are.equal(3, before.hits)

    -- the file edited around the cap, the cap itself unchanged
    replace(path, "reload_keep_edited.lua")
    assert.are.equal(200, (post_reload(g)))
    assert.are.equal(1, g:value("moongate_config_last_reload_successful"))
    assert.are.same({ "1", "2", "3", "4", "5" }, admitted())
    local after = cap_of(cardinality(g), "per-producer")
    assert.are.equal(5, after.use)
    assert.is_true(after.hits >= before.hits, "hits went back: " .. cjson.encode(after))

    local r2 = push_ids(9, 1)
    assert.are.equal(1, r2.dropped)
    assert_cap_note(r2, 0, "cardinality_cap", "per-producer", "dropped")
    assert.are.same({ "1", "2", "3", "4", "5" }, admitted())
    assert.are.equal(after.hits + 1, cap_of(cardinality(g), "per-producer").hits)

    -- and once more, the very same file
    assert.are.equal(200, (post_reload(g)))
    assert.are.same({ "1", "2", "3", "4", "5" }, admitted())
    assert.are.equal(1, push_ids(10, 1).dropped)
  end)

  it("a cap whose limit changed starts a new state", function()
    local r = push_ids(1, 8)
    assert.are.equal(3, r.dropped)
    assert.are.equal(3, cap_of(cardinality(g), "per-producer").hits)

    replace(path, "reload_raised.lua")
    assert.are.equal(200, (post_reload(g)))
    assert.are.equal(1, g:value("moongate_config_last_reload_successful"))
    local c = cap_of(cardinality(g), "per-producer")
    assert.are.equal(7, c.limit)
    assert.are.equal(7, g:value('moongate_cap_limit{cap="per-producer"}'))
    -- the new state counts what is there, then the reload re-routes the 3
    -- refused inputs: 2 fit, 1 is refused again; hits start over
    assert.are.equal(7, c.use)
    assert.are.equal(1, c.hits)
    local ids = admitted()
    assert.are.equal(7, #ids)
    for i = 1, 5 do assert.truthy(ids[i] == tostring(i), cjson.encode(ids)) end

    -- full at the new limit: a new series is refused
    local r2 = push_ids(9, 1)
    assert.are.equal(1, r2.dropped)
    assert_cap_note(r2, 0, "cardinality_cap", "per-producer", "dropped")
    assert.are.equal(7, #admitted())
    assert.are.equal(2, cap_of(cardinality(g), "per-producer").hits)
  end)

  it("a reload that fails keeps the cap as it was", function()
    push_ids(1, 8)
    gw.write_file(path, "cap { name = 'per-producer', per_label = 'producer', max_series = 0 }\n")
    local code = post_reload(g)
    assert.are_not.equal(200, code)
    assert.are.equal(0, g:value("moongate_config_last_reload_successful"))
    local c = cap_of(cardinality(g), "per-producer")
    assert.are.equal(5, c.limit)
    assert.are.equal(3, c.hits)
    assert.are.same({ "1", "2", "3", "4", "5" }, admitted())
    assert.are.equal(1, push_ids(9, 1).dropped)
  end)
end)
