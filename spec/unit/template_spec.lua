-- Alert templates: the Go text/template subset real alert rules use,
-- through annotations on the module's virtual clock. Expected strings are
-- what Prometheus's template package gives for the same input.
local moongate = require "moongate"

local scratch = require "support.scratch"
teardown(scratch.cleanup)
local rules_file = scratch.file

local function lua_string(s)
  return ("%q"):format(s)
end

-- The annotations the templates expand to, for one alert whose result has
-- labels and value.
local function expand(templates, opts)
  opts = opts or {}
  local lines = {}
  for k, v in pairs(templates) do lines[#lines + 1] = ("    [%q] = %s,"):format(k, lua_string(v)) end
  local labels = opts.labels or { instance = "node-1.example.com:9100", job = "node" }
  local lab = {}
  for k, v in pairs(labels) do lab[#lab + 1] = ("%s = %q"):format(k, v) end
  local path = rules_file(([[
alert "T" {
  expr = function(q) return { { labels = { %s }, value = %s } } end,
  labels = { severity = "page" },
  annotations = {
%s
  },
}
]]):format(table.concat(lab, ", "), opts.value or "0.123456", table.concat(lines, "\n")))
  local gw = moongate.new { rules = { path }, config = { rule_interval = 15, external_url = "https://prom.example.com",
    external_labels = { cluster = "eu-1" } } }
  gw:advance(15)
  return gw:alerts()[1].annotations
end

local function one(t, opts)
  return expand({ x = t }, opts).x
end

describe("templates", function()
  it("values, fields and the predefined variables", function()
    local got = expand {
      a = "{{ $labels.job }} {{ .Labels.instance }} {{ $value }} {{ .Value }}",
      b = "{{ $externalLabels.cluster }} {{ .ExternalLabels.cluster }} {{ $externalURL }}",
      c = "[{{ $labels.missing }}]",
      d = "{{ $labels.severity }}|{{ $labels.alertname }}",
    }
    assert.are.equal("node node-1.example.com:9100 0.123456 0.123456", got.a)
    assert.are.equal("eu-1 eu-1 https://prom.example.com", got.b)
    assert.are.equal("[]", got.c)
    assert.are.equal("|", got.d) -- the result's labels, not the alert's
  end)

  it("numbers print as Go's %v does", function()
    assert.are.equal("1.234567e+06", one("{{ $value }}", { value = "1234567" }))
    assert.are.equal("100000", one("{{ $value }}", { value = "100000" }))
    assert.are.equal("1e-05", one("{{ $value }}", { value = "0.00001" }))
    assert.are.equal("42", one("{{ 42 }}"))
    assert.are.equal("+Inf", one("{{ $value }}", { value = "math.huge" }))
  end)

  it("if, else if, else, with and comparisons", function()
    local t = '{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}mid{{ else }}low{{ end }}'
    assert.are.equal("high", one(t, { value = "0.9" }))
    assert.are.equal("mid", one(t, { value = "0.2" }))
    assert.are.equal("low", one(t, { value = "0.01" }))
    assert.are.equal("yes", one('{{ if eq $labels.job "db" "node" }}yes{{ end }}'))
    assert.are.equal("true false true true", one('{{ ne 1 2 }} {{ lt 2 1 }} {{ le "a" "b" }} {{ ge 2 2 }}'))
    assert.are.equal("node", one('{{ with $labels.job }}{{ . }}{{ else }}none{{ end }}'))
    assert.are.equal("none", one('{{ with $labels.nope }}{{ . }}{{ else }}none{{ end }}'))
    assert.are.equal("ok", one('{{ if and (gt $value 0.1) (not (eq $labels.job "db")) }}ok{{ end }}'))
    assert.are.equal("node", one('{{ or $labels.nope $labels.job }}'))
  end)

  it("range over $labels in key order, with . and with $k, $v", function()
    assert.are.equal("node-1.example.com:9100,node,", one("{{ range $labels }}{{ . }},{{ end }}"))
    assert.are.equal("instance=node-1.example.com:9100 job=node ",
      one("{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}"))
  end)

  it("variables, pipelines, parentheses and trim markers", function()
    assert.are.equal("NODE!", one('{{ $j := $labels.job | toUpper }}{{ $j }}!'))
    assert.are.equal("a:b", one('{{ $x := "a" }}{{ if true }}{{ $x = "b" }}{{ end }}a:{{ $x }}'))
    assert.are.equal("12.35%", one("{{ $value | humanizePercentage }}"))
    assert.are.equal("x|y", one("x {{- \"|\" -}}   y"))
    assert.are.equal("kept", one("{{/* a comment */}}kept"))
    assert.are.equal("4", one("{{ len (printf \"%s\" $labels.job) | print }}"))
  end)

  it("printf's verbs", function()
    assert.are.equal("0.12 0.123456 12 node \"node\" 0.123456 ff true 50%",
      one('{{ printf "%.2f %f %d %s %q %v %x %t %d%%" $value $value 12 $labels.job $labels.job $value 255 true 50 }}'))
    assert.are.equal("[   node] [node   ] [  3.14]", one('{{ printf "[%7s] [%-7s] [%6.2f]" "node" "node" 3.14159 }}'))
    assert.are.equal("%!d(float64=0.123456) %!s(MISSING)", one('{{ printf "%d %s" $value }}'))
  end)

  it("the humanize family, as Prometheus's", function()
    local got = expand {
      h = "{{ 1234567 | humanize }} {{ 0.00123 | humanize }} {{ 0 | humanize }}",
      k = "{{ 1048576 | humanize1024 }} {{ 1536 | humanize1024 }}",
      p = "{{ 0.5 | humanizePercentage }}",
      d = "{{ 90061 | humanizeDuration }} {{ 0.25 | humanizeDuration }} {{ \"45\" | humanizeDuration }}",
      t = "{{ 1700000000 | humanizeTimestamp }} {{ 1700000000.5 | humanizeTimestamp }}",
    }
    assert.are.equal("1.235M 1.23m 0", got.h)
    assert.are.equal("1Mi 1.5ki", got.k)
    assert.are.equal("50%", got.p)
    assert.are.equal("1d 1h 1m 1s 250ms 45s", got.d)
    assert.are.equal("2023-11-14 22:13:20 +0000 UTC 2023-11-14 22:13:20.5 +0000 UTC", got.t)
  end)

  it("strings and regexes", function()
    local got = expand {
      a = '{{ title "hello big-world" }} {{ toUpper "ab" }} {{ toLower "AB" }}',
      b = '{{ reReplaceAll "(.*):(.*)" "$1 port $2" $labels.instance }}',
      c = '{{ if match "^node-[0-9]" $labels.instance }}matched{{ end }}',
      d = '{{ $labels.instance | stripPort }} {{ $labels.instance | stripDomain }} {{ stripDomain "10.0.0.1:80" }}',
      e = '{{ index $labels "job" }}',
    }
    assert.are.equal("Hello Big-World AB ab", got.a)
    assert.are.equal("node-1.example.com port 9100", got.b)
    assert.are.equal("matched", got.c)
    assert.are.equal("node-1.example.com node-1:9100 10.0.0.1:80", got.d)
    assert.are.equal("node", got.e)
  end)

  it("errors while expanding show in the value, as Prometheus shows them", function()
    assert.truthy(one('{{ humanize "abc" }}'):find("^<error expanding template: error calling humanize: strconv.ParseFloat"))
    assert.truthy(one('{{ lt 1 "a" }}'):find("incompatible types for comparison", 1, true))
  end)

  it("label templates too, with the result's labels", function()
    local path = rules_file([[
alert "L" {
  expr = function(q) return { { labels = { job = "api" }, value = 3 } } end,
  labels = { team = "{{ if eq $labels.job \"api\" }}backend{{ else }}ops{{ end }}" },
}
]])
    local gw = moongate.new { rules = { path }, config = { rule_interval = 15 } }
    gw:advance(15)
    assert.are.equal("backend", gw:alerts()[1].labels.team)
  end)

  it("not in a recording rule's labels, which are written as they are", function()
    local path = rules_file('record "r" { expr = function(q) return 1 end, labels = { t = "{{ nope }}" } }')
    local gw = moongate.new { rules = { path }, config = { rule_interval = 15 } }
    gw:advance(15)
    assert.truthy(gw:expose():find('r{t="{{ nope }}"} 1', 1, true))
  end)

  for _, case in ipairs {
    { '{{ query "up" }}', 'function "query" not defined' },
    { "{{ $value | nosuch }}", 'function "nosuch" not defined' },
    { "{{ $nope }}", 'undefined variable "$nope"' },
    { "{{ if true }}x", "unexpected EOF" },
    { "{{ end }}", "unexpected {{end}}" },
    { "{{ $value ", "unclosed action" },
    { '{{ template "x" }}', "not supported" },
  } do
    it("refuses at load, with file:line: " .. case[1], function()
      local path = rules_file(([[

alert "Bad" {
  expr = function(q) return 1 end,
  annotations = { summary = %s },
}
]]):format(lua_string(case[1])))
      local ok, err = pcall(moongate.new, { rules = { path } })
      assert.is_false(ok)
      err = tostring(err)
      assert.truthy(err:find(path .. ":2: annotations: summary: template: 1: ", 1, true), err)
      assert.truthy(err:find(case[2], 1, true), err)
    end)
  end
end)
