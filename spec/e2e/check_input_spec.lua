-- moongate check --input (docs/check.md): the built daemon runs scripts and
-- rules on sample input in each format (JSON lines, msgpack, the text
-- format) and prints each series' fate, then each rule's result. Exit 0
-- clean, 1 on a runtime error (a transform that fails, a field of s set
-- wrong, a rule's selector or template that fails), 2 on input that does
-- not decode.
local gw = require "support.gateway"
local moongate = require "moongate"

local q = gw.quote

local PIPE = [[
relabel { { action = "replace", source_labels = {"host"}, target_label = "instance" },
          { action = "labeldrop", regex = "host" } }
drop { name = "debug_.*" }
transform(function(s)
  if s.name == "gone" then return nil end
  return s
end)
cap { metric = "capped", max_series = 1 }
]]

local RULES = [[
record "job:reqs:sum" { promql = "sum by (job) (reqs_total)" }
alert "ManyReqs" { promql = "reqs_total > 5", labels = { severity = "page" },
                   annotations = { summary = "{{ $labels.job }} at {{ $value }}" } }
]]

local dir

-- Writes files (relative name -> text) into the temp dir.
local function put(files)
  for name, text in pairs(files) do
    local d = name:match("^(.*)/[^/]*$")
    if d then assert(gw.sh("mkdir -p " .. q(dir .. "/" .. d)) == 0) end
    gw.write_file(dir .. "/" .. name, text)
  end
end

-- Runs `moongate check args` in the temp dir (so messages name files
-- relative to it), bounded by timeout(1). Returns status, stdout, stderr.
local function check(args, stdin)
  local line = "cd " .. q(dir) .. " && timeout 10 " .. q(gw.bin) .. " check " .. args ..
               " >out 2>err"
  if stdin then line = line .. " <" .. q(stdin) end
  local code = gw.sh(line)
  return code, gw.read_file(dir .. "/out") or "", gw.read_file(dir .. "/err") or ""
end

-- The lines of out, without the summary line.
local function lines(out)
  local t = {}
  for l in out:gmatch("[^\n]+") do
    if not l:match("^moongate check: ") then t[#t + 1] = l end
  end
  return t
end

local function has(out, s)
  assert.is_truthy(out:find(s, 1, true), "missing: " .. s .. "\nin:\n" .. out)
end

local function jsonl(...)
  return table.concat({ ... }, "\n") .. "\n"
end

before_each(function()
  dir = gw.tmpdir()
  gw.sh("mkdir " .. q(dir) .. "/scripts " .. q(dir) .. "/rules")
  put { ["scripts/pipe.lua"] = PIPE }
end)
after_each(function() gw.sh("rm -rf " .. q(dir)) end)

describe("moongate check --input", function()
  it("prints each JSON line's series relabelled, dropped by a step, refused by a cap", function()
    put { ["in.jsonl"] = jsonl(
      '{"source":{"job":"api"},"metrics":[{"name":"reqs_total","type":"counter","value":10,"labels":{"host":"a"}},' ..
        '{"name":"debug_x","type":"gauge","value":1}]}',
      '',
      '{"metrics":[{"name":"gone","type":"gauge","value":1}]}',
      '{"metrics":[{"name":"capped","type":"gauge","value":1,"labels":{"a":"1"}},' ..
        '{"name":"capped","type":"gauge","value":2,"labels":{"a":"2"}}]}',
      '{"metrics":[{"name":"capped","type":"gauge","value":3,"labels":{"a":"2"}},' ..
        '{"name":"gone","type":"gauge","value":2}]}') }
    local code, out, err = check("scripts --input in.jsonl")
    assert.are.equal(0, code, out .. err)
    assert.are.same({
      'line 1 metric 1: reqs_total{host="a",job="api"} -> reqs_total{instance="a",job="api"}',
      'line 1 metric 2: debug_x{job="api"} -> dropped by drop at scripts/pipe.lua:3 (matched)',
      'line 3: gone{} -> dropped by transform at scripts/pipe.lua:4 (returned nil)',
      'line 4 metric 1: capped{a="1"} -> capped{a="1"}',
      'line 4 metric 2: capped{a="2"} -> refused by cap cap{metric="capped",max_series=1} ' ..
        'at scripts/pipe.lua:8',
      -- known series: the pipeline and the caps judged them when they were new
      'line 5 metric 1: capped{a="2"} -> dropped (cardinality_cap, when it was new)',
      'line 5 metric 2: gone{} -> dropped (rule, when it was new)',
    }, lines(out))
    has(out, "moongate check: 7 series, 0 runtime error(s), 0 input error(s)")
    assert.are.equal("", err)
  end)

  it("reads msgpack messages back to back, guessed from the first byte", function()
    put { ["in.bin"] = moongate.encode { source = { job = "api" }, metrics = {
            { name = "reqs_total", type = "counter", value = 3, labels = { host = "b" } } } } ..
          moongate.encode { metrics = { { name = "debug_y", type = "gauge", value = 1 } } } }
    local code, out, err = check("scripts --input in.bin")
    assert.are.equal(0, code, out .. err)
    assert.are.same({
      'message 1: reqs_total{host="b",job="api"} -> reqs_total{instance="b",job="api"}',
      'message 2: debug_y{} -> dropped by drop at scripts/pipe.lua:3 (matched)',
    }, lines(out))
  end)

  it("reads the text format, a histogram as one series, from stdin with --format", function()
    put { ["in.txt"] = table.concat({
      "# TYPE reqs_total counter",
      'reqs_total{job="api",host="c"} 7',
      "# TYPE lat_seconds histogram",
      'lat_seconds_bucket{le="1"} 2',
      'lat_seconds_bucket{le="+Inf"} 3',
      "lat_seconds_sum 4",
      "lat_seconds_count 3",
      "gone 1", "" }, "\n") }
    local code, out, err = check("scripts --input - --format text", dir .. "/in.txt")
    assert.are.equal(0, code, out .. err)
    assert.are.same({
      'line 2: reqs_total{host="c",job="api"} -> reqs_total{instance="c",job="api"}',
      'line 4: lat_seconds{} -> lat_seconds{}',
      'line 8: gone{} -> dropped by transform at scripts/pipe.lua:4 (returned nil)',
    }, lines(out))
  end)

  it("evaluates the rules once over the outputs: recorded series, alerts", function()
    put { ["rules/a.lua"] = RULES, ["in.prom"] = 'reqs_total{job="api",host="a"} 10\n' ..
          'reqs_total{job="web",host="b"} 2\n' }
    local code, out, err = check("scripts --rules rules --input in.prom")
    assert.are.equal(0, code, out .. err)
    assert.are.same({
      'line 1: reqs_total{host="a",job="api"} -> reqs_total{instance="a",job="api"}',
      'line 2: reqs_total{host="b",job="web"} -> reqs_total{instance="b",job="web"}',
      'record job:reqs:sum at rules/a.lua:1: ok',
      '  job:reqs:sum{job="api"} 10',
      '  job:reqs:sum{job="web"} 2',
      'alert ManyReqs at rules/a.lua:2: 1 active',
      '  firing {alertname="ManyReqs",instance="a",job="api",severity="page"} value 10',
    }, lines(out))
  end)

  it("exits 1 on a transform that fails, naming file:line", function()
    put { ["scripts/z.lua"] = 'transform(function(s)\n' ..
                              '  if s.labels.kind == "bad" then error("no such kind") end\n' ..
                              '  return s\nend)\n',
          ["in.jsonl"] = jsonl(
            '{"metrics":[{"name":"a","type":"gauge","value":1,"labels":{"kind":"bad"}}]}',
            '{"metrics":[{"name":"a","type":"gauge","value":1,"labels":{"kind":"good"}}]}') }
    local code, out = check("scripts --input in.jsonl")
    assert.are.equal(1, code, out)
    -- the place first; the wording after it is the script layer's
    assert.is_truthy(out:match('line 1: a{kind="bad"} %-> error: scripts/z%.lua:2: [^\n]*no such kind'),
                     out)
    has(out, 'line 2: a{kind="good"} -> a{kind="good"}\n')
    has(out, "1 runtime error(s)")
  end)

  for _, case in ipairs {
    { set = 's.value = "x"', says = "transform: s.value cannot be set" },
    { set = "s.labels = 5", says = "labels" },
    { set = 's.lables = {}', says = "unknown key 'lables' (did you mean 'labels'?)" },
    { set = 's.scale = "x"', says = "scale" },
  } do
    it("exits 1 on a field of s set wrong: " .. case.set, function()
      put { ["scripts/z.lua"] = "transform(function(s)\n  " .. case.set .. "\n  return s\nend)\n",
            ["in.jsonl"] = '{"metrics":[{"name":"a","type":"gauge","value":1}]}\n' }
      local code, out = check("scripts --input in.jsonl")
      assert.are.equal(1, code, out)
      -- the error names the line of the assignment
      local msg = out:match("line 1: a{} %-> error: scripts/z%.lua:2: ([^\n]*)")
      assert.is_truthy(msg, out)
      has(msg, case.says)
    end)
  end

  it("shows on_sample's drops and errors, series by series", function()
    put { ["hook/a.lua"] = 'on_sample(function(s, v)\n' ..
                           '  if s.name == "neg" then return nil end\n' ..
                           '  if v > 100 then error("too big") end\n' ..
                           '  return v\nend)\n',
          ["in.jsonl"] = jsonl('{"metrics":[{"name":"neg","type":"gauge","value":1}]}',
                               '{"metrics":[{"name":"a","type":"gauge","value":1}]}',
                               '{"metrics":[{"name":"a","type":"gauge","value":500}]}') }
    local code, out = check("hook --input in.jsonl")
    assert.are.equal(1, code, out)
    assert.are.same({
      "line 1: neg{} -> dropped by on_sample (returned nil)",
      "line 2: a{} -> a{}",
      "line 3: a{} -> error: hook/a.lua:3: too big",
    }, lines(out))
  end)

  it("takes the scripts, rules and limits of --config", function()
    put { ["rules/a.lua"] = RULES, ["moongate.conf.lua"] =
            'return { scripts = "scripts", rules = "rules" }\n',
          ["in.jsonl"] = '{"metrics":[{"name":"reqs_total","type":"counter","value":9,' ..
                         '"labels":{"job":"api","host":"h"}}]}\n' }
    local code, out = check("--config moongate.conf.lua --input in.jsonl")
    assert.are.equal(0, code, out)
    has(out, 'line 1: reqs_total{host="h",job="api"} -> reqs_total{instance="h",job="api"}\n')
    has(out, 'record job:reqs:sum at rules/a.lua:1: ok\n  job:reqs:sum{job="api"} 9\n')
  end)

  it("exits 1 on a rule whose selector fails, and on a template that fails", function()
    put { ["rules/bad.lua"] = [[
alert "BadSelector" { expr = function(q) return q.value('reqs_total{') end }
alert "BadTemplate" { promql = "reqs_total > 5",
                      annotations = { summary = '{{ humanize "abc" }}' } }
]], ["in.jsonl"] = '{"metrics":[{"name":"reqs_total","type":"counter","value":9}]}\n' }
    local code, out = check("scripts --rules rules --input in.jsonl")
    assert.are.equal(1, code, out)
    has(out, "alert BadSelector at rules/bad.lua:1: error: rules/bad.lua:1: q.value: " ..
             "selector 'reqs_total{'")
    has(out, "alert BadTemplate at rules/bad.lua:2: 1 active\n")
    has(out, "  error: annotation summary: <error expanding template: error calling humanize")
    has(out, "2 runtime error(s)")
  end)

  it("exits 2 on input that does not decode, naming the line or the byte", function()
    put { ["bad.jsonl"] = jsonl('{"metrics":[{"name":"a","type":"gauge","value":1}]}',
                                '{"metrics": [}',
                                '{"metrics":[{"name":"1a","type":"gauge","value":1}]}'),
          ["bad.prom"] = "a 1\nb {\n",
          ["bad.msgpack"] = moongate.encode { metrics = { { name = "a", value = 1 } } } ..
                            moongate.encode { metrics = {} }:sub(1, 3) }
    local code, out = check("scripts --input bad.jsonl")
    assert.are.equal(2, code, out)
    has(out, "line 1: a{} -> a{}\n")
    has(out, "line 2: input error: not a JSON value\n")
    has(out, "line 3: 1a{} -> input error: metric name 1a is invalid (invalid_metric_name)\n")
    code, out = check("scripts --input bad.prom")
    assert.are.equal(2, code, out)
    assert.is_truthy(out:match("^line 2: input error: [^\n]+%(decode_error%)\n"), out)
    code, out = check("scripts --input bad.msgpack")
    assert.are.equal(2, code, out)
    has(out, "message 1: a{} -> a{}\n")
    has(out, "message 2: input error: at byte ")
  end)

  it("exits 2 on a bad command line or a missing input", function()
    assert.are.equal(2, (check("scripts --input in.jsonl --format yaml")))
    assert.are.equal(2, (check("scripts --input")))
    assert.are.equal(2, (check("scripts --input /nonexistent/in.jsonl")))
  end)

  it("without --input says how to run the scripts on sample series", function()
    local code, out = check("scripts")
    assert.are.equal(0, code, out)
    has(out, "moongate check: 1 path(s) OK\n")
    has(out, "--input FILE runs them on sample series")
  end)
end)
