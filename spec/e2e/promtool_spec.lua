-- The exposition checked by Prometheus's own tools and by the OpenMetrics
-- rules: every metric type pushed, label values needing escapes, then
--   * the text format through `promtool check metrics` (Debian's 2.42),
--   * the OpenMetrics format checked line by line (# EOF, # TYPE for every
--     family, counter samples _total, families contiguous, histogram and
--     summary shapes) and parsed by promtool's OpenMetrics importer,
--   * gzip: Content-Encoding and a body `gzip -dc` restores.
--
-- promtool 2.42 `check metrics` lints as well as parses, and a lint finding
-- exits 3 (a parse error exits 1); it has no flag to turn linting off. So the
-- gateway whose text scrape must pass gets names that follow the conventions
-- (HELP on every metric, counters ending _total, base units). A counter
-- pushed without _total is exposed under its pushed name in the text format,
-- which promtool flags; that case has its own gateway below, where the only
-- finding allowed is that one lint.
local gw = require "support.gateway"
local cjson = require "cjson"

local OM_ACCEPT = "application/openmetrics-text; version=1.0.0"

local q = gw.quote

-- Runs a shell command; its exit code and everything it printed.
local function run(cmd, dir)
  local out = dir .. "/cmd.out"
  local code = gw.sh(cmd .. " >" .. q(out) .. " 2>&1")
  return code, gw.read_file(out) or ""
end

local ESC = {
  quote = 'say "hi"',
  backslash = "C:\\dir\\",
  newline = "line1\nline2",
  utf8 = "héllo wörld ☃ 日本",
  mixed = '\\n is not "\n"',
}

-- What the exposition must print for a label value: \ " and newline escaped.
local function escape(v)
  return (v:gsub('[\\"\n]', { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }))
end

local function conventional_metrics()
  return {
    { name = "pt_requests_total", type = "counter", value = 1027, help = "Requests served.",
      labels = { code = "200", method = "get" } },
    { name = "pt_requests_total", type = "counter", value = 3, help = "Requests served.",
      labels = { code = "500", method = "post" } },
    { name = "pt_queue_length", type = "gauge", value = -2.5, help = "Items waiting." },
    { name = "pt_legacy_ratio", value = 0.125, help = "Pushed without a type.",
      labels = { kind = "untyped" } },
    { name = "pt_request_duration_seconds", type = "histogram", help = "Request latency.",
      labels = { path = "/api" },
      buckets = { [0.005] = 1, [0.01] = 4, [0.1] = 20, [1] = 29, [10] = 30, ["+Inf"] = 31 },
      sum = 53.25, count = 31 },
    { name = "pt_request_duration_seconds", type = "histogram", help = "Request latency.",
      labels = { path = "/health" },
      buckets = { [0.005] = 7, [0.01] = 7, [0.1] = 7, [1] = 7, [10] = 7, ["+Inf"] = 7 },
      sum = 0.01, count = 7 },
    { name = "pt_rpc_duration_seconds", type = "summary", help = "RPC latency.",
      quantiles = { [0.5] = 0.05, [0.9] = 0.2, [0.99] = 1.5 }, sum = 17.5, count = 120 },
    { name = "pt_escaped_info", type = "gauge", value = 1,
      help = 'Label values with "quotes", \\ backslashes and a\nnewline.', labels = ESC },
  }
end

local function start_with(metrics)
  local g = gw.start({})
  local code, r = g:push_http { source = { job = "promtool" }, metrics = metrics }
  assert(code == 200 and r.accepted == #metrics and r.rejected == 0,
         "push: " .. tostring(code) .. " " .. cjson.encode(r))
  return g
end

-- Parses one sample line strictly (OpenMetrics ABNF, no spaces inside the
-- braces): name, labels (a table), the label names in order, value text.
local function parse_sample(line)
  local name, pos = line:match("^([a-zA-Z_:][a-zA-Z0-9_:]*)()")
  if not name then return nil, "no metric name" end
  local labels, order = {}, {}
  if line:sub(pos, pos) == "{" then
    pos = pos + 1
    if line:sub(pos, pos) == "}" then return nil, "empty label set" end
    while true do
      local lname, p2 = line:match("^([a-zA-Z_][a-zA-Z0-9_]*)=\"()", pos)
      if not lname then return nil, "bad label at byte " .. pos end
      if labels[lname] then return nil, "label " .. lname .. " twice" end
      local buf, i = {}, p2
      while true do
        local c = line:sub(i, i)
        if c == "" then return nil, "unterminated label value" end
        if c == '"' then break end
        if c == "\\" then
          local e = line:sub(i + 1, i + 1)
          local m = ({ n = "\n", ["\\"] = "\\", ['"'] = '"' })[e]
          if not m then return nil, "bad escape \\" .. e end
          buf[#buf + 1] = m
          i = i + 2
        else
          buf[#buf + 1] = c
          i = i + 1
        end
      end
      labels[lname] = table.concat(buf)
      order[#order + 1] = lname
      pos = i + 1
      local sep = line:sub(pos, pos)
      pos = pos + 1
      if sep == "}" then break end
      if sep ~= "," then return nil, "expected , or } at byte " .. (pos - 1) end
    end
  end
  local value, ts = line:sub(pos):match("^ (%S+)( ?%S*)$")
  if not value then return nil, "bad value part" end
  if not (tonumber(value) or value == "+Inf" or value == "-Inf" or value == "NaN") then
    return nil, "bad value " .. value
  end
  if ts ~= "" and not tonumber(ts) then return nil, "bad timestamp" end
  return { name = name, labels = labels, order = order, value = value, line = line }
end

-- Sample-name suffixes each family type may use, per format.
local SUFFIXES = {
  openmetrics = {
    counter = { _total = true, _created = true },
    gauge = { [""] = true },
    unknown = { [""] = true },
    histogram = { _bucket = true, _sum = true, _count = true, _created = true },
    summary = { [""] = true, _sum = true, _count = true, _created = true },
    info = { _info = true },
    stateset = { [""] = true },
    gaugehistogram = { _bucket = true, _gsum = true, _gcount = true },
  },
  text = {
    counter = { [""] = true },
    gauge = { [""] = true },
    untyped = { [""] = true },
    histogram = { _bucket = true, _sum = true, _count = true },
    summary = { [""] = true, _sum = true, _count = true },
  },
}

-- The key of a sample's series within its family, without le/quantile.
local function series_key(s, drop)
  local parts = {}
  for _, k in ipairs(s.order) do
    if k ~= drop then parts[#parts + 1] = k .. "=" .. s.labels[k] end
  end
  table.sort(parts)
  return table.concat(parts, "\0")
end

-- Reads an exposition line by line ("openmetrics" or "text"), raising with
-- the offending line on: a malformed line, a sample outside the family its
-- last # TYPE opened, a family without # TYPE, a family in two runs, a
-- second # HELP or # TYPE. OpenMetrics also: exactly one # EOF, last; counter samples
-- end _total. Returns the families by name ({type, help, samples}) and
-- their names in order.
local function parse_exposition(body, format)
  local suffixes = SUFFIXES[format]
  if format == "openmetrics" then
    assert(body:sub(-6) == "# EOF\n", "does not end with # EOF\\n")
    local _, neof = body:gsub("# EOF\n", "")
    assert(neof == 1, "# EOF appears " .. neof .. " times")
    body = body:sub(1, -7)
  end
  assert(body:sub(-1) == "\n", "does not end with a newline")
  local fams, order = {}, {}
  local cur
  local n = 0
  for line in body:gmatch("([^\n]*)\n") do
    n = n + 1
    local where = "line " .. n .. ": " .. line
    assert(line ~= "", "blank line at " .. n)
    if line:sub(1, 1) == "#" then
      local kind, fname, rest = line:match("^# (%u+) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$")
      assert(kind == "HELP" or kind == "TYPE" or (kind == "UNIT" and format == "openmetrics"),
             "bad comment, " .. where)
      if not cur or cur.name ~= fname then
        assert(not fams[fname], "family " .. fname .. " appears in two runs, " .. where)
        cur = { name = fname, samples = {} }
        fams[fname] = cur
        order[#order + 1] = fname
      end
      if kind == "TYPE" then
        assert(not cur.type, "second # TYPE, " .. where)
        assert(suffixes[rest], "unknown type, " .. where)
        cur.type = rest
      elseif kind == "HELP" then
        assert(not cur.help, "second # HELP, " .. where)
        cur.help = rest
      end
    else
      local s, why = parse_sample(line)
      assert(s, tostring(why) .. ", " .. where)
      assert(cur and cur.type, "sample without a # TYPE for its family, " .. where)
      local suffix = s.name:sub(#cur.name + 1)
      assert(s.name:sub(1, #cur.name) == cur.name and suffixes[cur.type][suffix],
             "sample " .. s.name .. " outside its family " .. cur.name .. " (" .. cur.type .. "), " .. where)
      if cur.type == "counter" and format == "openmetrics" then
        assert(s.name:match("_total$") or s.name:match("_created$"), where)
      end
      if cur.type == "counter" then
        assert(tonumber(s.value) == nil or tonumber(s.value) >= 0, "negative counter, " .. where)
      end
      if cur.type == "histogram" and suffix == "_bucket" then
        assert(s.labels.le, "bucket without le, " .. where)
      end
      if cur.type == "summary" and suffix == "" then
        local qv = tonumber(s.labels.quantile)
        assert(qv and qv >= 0 and qv <= 1, "bad quantile, " .. where)
      end
      s.suffix = suffix
      cur.samples[#cur.samples + 1] = s
    end
  end
  for _, name in ipairs(order) do
    assert(fams[name].type, "family " .. name .. " has no # TYPE")
  end
  return fams, order
end

local function check_openmetrics(body)
  return parse_exposition(body, "openmetrics")
end

-- Histogram shape, both formats: per series le strictly increasing, counts
-- cumulative, a le="+Inf" bucket last and equal to _count. Returns the
-- problems found, one string each.
local function histogram_problems(fams, order)
  local problems = {}
  for _, name in ipairs(order) do
    local f = fams[name]
    if f.type == "histogram" then
      local by, keys = {}, {}
      for _, s in ipairs(f.samples) do
        local key = series_key(s, "le")
        if not by[key] then
          by[key] = { buckets = {} }
          keys[#keys + 1] = key
        end
        if s.suffix == "_bucket" then
          table.insert(by[key].buckets, s)
        elseif s.suffix == "_count" then
          by[key].count = tonumber(s.value)
        end
      end
      for _, key in ipairs(keys) do
        local h = by[key]
        local prev_le, prev_v = -math.huge, -math.huge
        for _, b in ipairs(h.buckets) do
          local le = b.labels.le == "+Inf" and math.huge or tonumber(b.labels.le)
          if not (le and le > prev_le) then problems[#problems + 1] = "le not increasing: " .. b.line end
          if tonumber(b.value) < prev_v then problems[#problems + 1] = "not cumulative: " .. b.line end
          prev_le, prev_v = le or prev_le, tonumber(b.value)
        end
        if prev_le ~= math.huge then
          problems[#problems + 1] = name .. ": no le=\"+Inf\" bucket"
        elseif h.count ~= prev_v then
          problems[#problems + 1] = name .. ": _count differs from the +Inf bucket"
        end
      end
    end
  end
  return problems
end

local function families_of_text(body)
  local t = {}
  for name, typ in body:gmatch("# TYPE (%S+) (%S+)\n") do t[name] = typ end
  return t
end

-- Gunzips bytes through gzip(1); its exit code and the output.
local function gunzip(bytes, dir)
  gw.write_file(dir .. "/body.gz", bytes)
  local code = gw.sh("gzip -dc " .. q(dir .. "/body.gz") .. " >" .. q(dir .. "/body") .. " 2>/dev/null")
  return code, gw.read_file(dir .. "/body")
end

describe("exposition checked by promtool and the OpenMetrics rules", function()
  local g, dir, text, om

  setup(function()
    dir = gw.tmpdir()
    g = start_with(conventional_metrics())
    text = g:scrape()
    om = g:scrape { accept = OM_ACCEPT }
    gw.write_file(dir .. "/metrics.prom", text)
    gw.write_file(dir .. "/metrics.om", om)
  end)

  teardown(function()
    if g then g:stop() end
    if dir then gw.sh("rm -rf " .. q(dir)) end
  end)

  it("promtool check metrics accepts the text scrape (exit 0, no findings)", function()
    local code, out = run("promtool check metrics < " .. q(dir .. "/metrics.prom"), dir)
    assert.are.equal(0, code, "promtool exited " .. code .. ":\n" .. out)
    assert.are.equal("", out)
  end)

  it("the text scrape is well formed and carries every pushed type", function()
    parse_exposition(text, "text")
    local t = families_of_text(text)
    assert.are.equal("counter", t.pt_requests_total)
    assert.are.equal("gauge", t.pt_queue_length)
    assert.are.equal("untyped", t.pt_legacy_ratio)
    assert.are.equal("histogram", t.pt_request_duration_seconds)
    assert.are.equal("summary", t.pt_rpc_duration_seconds)
    assert.are.equal(1027, gw.value(text, 'pt_requests_total{code="200",job="promtool",method="get"}'))
    assert.are.equal(31, gw.value(text, 'pt_request_duration_seconds_bucket{job="promtool",path="/api",le="+Inf"}'))
    assert.are.equal(1.5, gw.value(text, 'pt_rpc_duration_seconds{job="promtool",quantile="0.99"}'))
  end)

  it("label values are escaped: quote, backslash, newline; UTF-8 as is", function()
    local names = {}
    for k in pairs(ESC) do names[#names + 1] = k end
    table.sort(names)
    local parts = {}
    for _, k in ipairs(names) do
      if k == "mixed" then parts[#parts + 1] = 'job="promtool"' end
      parts[#parts + 1] = k .. '="' .. escape(ESC[k]) .. '"'
    end
    local series = "pt_escaped_info{" .. table.concat(parts, ",") .. "}"
    assert.are.equal(1, gw.value(text, series), "missing in text: " .. series)
    assert.are.equal(1, gw.value(om, series), "missing in OpenMetrics: " .. series)
    -- and they read back to the pushed strings, in both formats
    for _, body in ipairs { text, om } do
      local line = assert(body:match("\n(pt_escaped_info{[^\n]*)"))
      local s = assert(parse_sample(line))
      s.labels.job = nil
      assert.are.same(ESC, s.labels)
    end
  end)

  it("HELP is escaped per format: text escapes \\ and newline, OpenMetrics also quotes", function()
    assert.truthy(text:find('# HELP pt_escaped_info Label values with "quotes", \\\\ backslashes and a\\nnewline.\n', 1, true))
    assert.truthy(om:find('# HELP pt_escaped_info Label values with \\"quotes\\", \\\\ backslashes and a\\nnewline.\n', 1, true))
  end)

  it("the OpenMetrics scrape is well formed: # EOF, # TYPE per family, _total, contiguous", function()
    local fams = check_openmetrics(om)
    assert.are.equal("counter", fams.pt_requests.type)
    assert.is_nil(fams.pt_requests_total)
    assert.are.equal("gauge", fams.pt_queue_length.type)
    assert.are.equal("unknown", fams.pt_legacy_ratio.type)
    assert.are.equal("histogram", fams.pt_request_duration_seconds.type)
    assert.are.equal("summary", fams.pt_rpc_duration_seconds.type)
    assert.are.equal("counter", fams.moongate_samples_received.type)
    assert.are.equal(2, #fams.pt_requests.samples)
    assert.are.equal(2 * (6 + 2), #fams.pt_request_duration_seconds.samples)
    assert.are.equal(3 + 2, #fams.pt_rpc_duration_seconds.samples)
  end)

  it("every histogram, pushed or the gateway's own, ends with le=\"+Inf\" equal to _count", function()
    -- Both formats require the +Inf bucket; PromQL's histogram_quantile
    -- returns NaN for a histogram without one.
    local problems = {}
    for _, fmt in ipairs { { "text", text }, { "openmetrics", om } } do
      for _, p in ipairs(histogram_problems(parse_exposition(fmt[2], fmt[1]))) do
        problems[#problems + 1] = fmt[1] .. ": " .. p
      end
    end
    assert.are.same({}, problems)
  end)

  it("the OpenMetrics scrape answers with the OpenMetrics content type", function()
    local _, h = g:scrape { accept = OM_ACCEPT }
    assert.are.equal("application/openmetrics-text; version=1.0.0; charset=utf-8", h["content-type"])
    local _, th = g:scrape()
    assert.are.equal("text/plain; version=0.0.4; charset=utf-8", th["content-type"])
  end)

  it("promtool's OpenMetrics importer parses the scrape", function()
    -- create-blocks-from wants a timestamp on every sample: append one.
    local ts = tostring(os.time() - 3600)
    local stamped = om:sub(1, -7):gsub("([^\n]*)\n", function(l)
      if l:sub(1, 1) == "#" then return l .. "\n" end
      return l .. " " .. ts .. "\n"
    end) .. "# EOF\n"
    gw.write_file(dir .. "/stamped.om", stamped)
    local code, out = run("promtool tsdb create-blocks-from openmetrics "
                          .. q(dir .. "/stamped.om") .. " " .. q(dir .. "/blocks"), dir)
    assert.are.equal(0, code, "promtool exited " .. code .. ":\n" .. out)
  end)

  it("gzip: Accept-Encoding: gzip gives Content-Encoding: gzip and a body gzip -dc restores", function()
    local body, h = g:scrape { ["accept-encoding"] = "gzip" }
    assert.are.equal("gzip", h["content-encoding"])
    assert.are.equal("\31\139", body:sub(1, 2))
    local code, plain = gunzip(body, dir)
    assert.are.equal(0, code)
    assert.are.same(families_of_text(text), families_of_text(plain))
    gw.write_file(dir .. "/gunzipped.prom", plain)
    local pcode, out = run("promtool check metrics < " .. q(dir .. "/gunzipped.prom"), dir)
    assert.are.equal(0, pcode, "promtool exited " .. pcode .. ":\n" .. out)
  end)

  it("gzip with OpenMetrics: the gunzipped body is a well-formed OpenMetrics exposition", function()
    local body, h = g:scrape { accept = OM_ACCEPT, ["accept-encoding"] = "deflate, gzip" }
    assert.are.equal("gzip", h["content-encoding"])
    local code, plain = gunzip(body, dir)
    assert.are.equal(0, code)
    check_openmetrics(plain)
  end)

  it("without Accept-Encoding the body is not compressed", function()
    local body, h = g:scrape()
    assert.is_nil(h["content-encoding"])
    assert.are.equal("# HELP ", body:sub(1, 7))
  end)
end)

describe("a counter pushed without _total", function()
  local g, dir

  setup(function()
    dir = gw.tmpdir()
    local metrics = conventional_metrics()
    metrics[#metrics + 1] = { name = "pt_jobs_completed", type = "counter", value = 9,
                              help = "Jobs completed." }
    g = start_with(metrics)
  end)

  teardown(function()
    if g then g:stop() end
    if dir then gw.sh("rm -rf " .. q(dir)) end
  end)

  it("OpenMetrics names the family without _total and the sample with it", function()
    local om = g:scrape { accept = OM_ACCEPT }
    local fams = check_openmetrics(om)
    assert.are.equal("counter", fams.pt_jobs_completed.type)
    assert.are.equal("pt_jobs_completed_total", fams.pt_jobs_completed.samples[1].name)
    assert.are.equal(9, gw.value(om, 'pt_jobs_completed_total{job="promtool"}'))
  end)

  it("text keeps the pushed name; promtool parses it and only lints the missing _total", function()
    local text = g:scrape()
    assert.are.equal(9, gw.value(text, 'pt_jobs_completed{job="promtool"}'))
    gw.write_file(dir .. "/metrics.prom", text)
    local code, out = run("promtool check metrics < " .. q(dir .. "/metrics.prom"), dir)
    -- 3 = lint findings only; 1 would be a parse error
    assert.are.equal(3, code, "promtool exited " .. code .. ":\n" .. out)
    assert.are.equal('pt_jobs_completed counter metrics should have "_total" suffix\n', out)
  end)
end)
