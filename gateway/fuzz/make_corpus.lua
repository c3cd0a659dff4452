-- Writes the seed corpora of the fuzz targets into gateway/fuzz/corpus/:
-- messages encoded with the module's own moongate.encode, real selectors,
-- the relabel configs of scripts/ and examples/, real rule files and
-- templates. Run from the repository root after a build:
--   lua5.4 gateway/fuzz/make_corpus.lua build
-- Seeds are small and meaningful; crash regressions (issue_*, crash_*) are
-- added by hand and never rewritten here.
local build = arg[1] or "build"
package.cpath = build .. "/gateway/?.so;" .. package.cpath
local moongate = require "moongate"

local root = "gateway/fuzz/corpus/"

local function write(target, name, bytes)
  os.execute("mkdir -p " .. root .. target)
  local f = assert(io.open(root .. target .. "/" .. name, "wb"))
  f:write(bytes)
  f:close()
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- Messages: the wire-only decoder and the whole push path share them.
local messages = {
  counter = { metrics = { { name = "http_requests_total", type = "counter", value = 1027,
                            labels = { code = "200", path = "/api" } } } },
  gauge_ttl = { ttl = 30, metrics = { { name = "queue_depth", type = "gauge", value = 3 } } },
  untyped_help = { metrics = { { name = "temperature_celsius", value = 21.5,
                                 help = "Room temperature." } } },
  histogram = { metrics = { { name = "latency_seconds", type = "histogram",
                              buckets = { [0.1] = 90, [1] = 99, ["+Inf"] = 100 },
                              sum = 12.5, count = 100 } } },
  summary = { metrics = { { name = "rpc_seconds", type = "summary",
                            quantiles = { [0.5] = 0.2, [0.99] = 1.5 }, sum = 40, count = 100 } } },
  ack_source_dropped = { ack = 7, source = { job = "api", workspace_id = "ws-1" },
                         dropped = { buffer_full = 3 },
                         metrics = { { name = "up", type = "gauge", value = 1 } } },
  op_add = { metrics = { { name = "jobs_done_total", type = "counter", op = "add", value = 5 } } },
  ms_scaled = { metrics = { { name = "request_latency_ms", type = "gauge", value = 700,
                              labels = { status = "503", workspace_id = "ws-9" } } } },
  timestamp = { metrics = { { name = "last_run", type = "gauge", value = 1, ts = 1700000000000 } } },
  token = { token = "secret", metrics = { { name = "up", value = 1 } } },
  bad_values = { metrics = { { name = "neg_total", type = "counter", value = -1 },
                             { name = "0bad", value = 1 },
                             { name = "ok", labels = { ["bad-label"] = "x" }, value = 1 } } },
  collision = { metrics = { { name = "x", type = "histogram", buckets = { ["+Inf"] = 1 }, sum = 1 },
                            { name = "x_count", type = "gauge", value = 1 } } },
}
local names = {}
for k in pairs(messages) do names[#names + 1] = k end
table.sort(names)
for _, k in ipairs(names) do
  local bytes = moongate.encode(messages[k])
  write("msgpack", k .. ".bin", bytes)
  write("wire", k .. ".bin", bytes)
end
-- two messages back to back, as a stream carries them
write("wire", "two_messages.bin", moongate.encode(messages.counter) .. moongate.encode(messages.gauge_ttl))
write("msgpack", "two_messages.bin", moongate.encode(messages.histogram) .. moongate.encode(messages.op_add))

-- Selectors, as GET /api/v1/explain?series= takes them.
local selectors = {
  name = "http_requests_total",
  eq = 'http_requests_total{status="503"}',
  neq = 'up{job!="api"}',
  re = 'http_requests_total{status=~"5..",path!~"/internal/.*"}',
  braces_only = '{__name__=~"latency_.*",job="api"}',
  empty_value = 'up{instance=""}',
  escapes = 'x{a="\\x41\\u00e9\\101\\n\\"",b=\'single\',c=`raw\\`}',
  utf8_name = '{"http.requests.total","le"="+Inf"}',
  trailing_comma = 'up{job="api",}',
  bad_unclosed = 'up{job="api"',
  bad_char = 'up{job.x="a"}',
  bad_regex = 'up{job=~"(a"}',
}
for k, s in pairs(selectors) do write("selector", k .. ".txt", s) end

-- Scripts with relabel configs: the repository's own, and a regex and a
-- replacement split by a NUL for the direct mg_relabel path.
local scripts = {
  "scripts/10-workspaces.lua", "scripts/20-status-classes.lua", "scripts/30-units.lua",
  "examples/http_service/scripts/10-status-class.lua",
  "examples/http_service/scripts/20-routes.lua",
  "examples/http_service/scripts/30-seconds.lua",
  "examples/log_shipper/scripts/10-drop-debug.lua",
  "examples/workspaces/scripts/10-workspace-ttl.lua",
  "examples/workspaces/scripts/20-per-template.lua",
}
for _, p in ipairs(scripts) do
  write("relabel", (p:gsub("/", "_")), slurp(p))
end
write("relabel", "re_status_class.bin", "([1-5])\\d\\d\0${1}xx")
write("relabel", "re_named_group.bin", "(?P<code>\\d+)/(.*)\0${code}-$2")
write("relabel", "re_classes.bin", "[[:alpha:]]+\\p{L}*|\\x{41}\0$0")
write("relabel", "cap_on_sample.lua", [[
cap { name = "per_path", metric = "http_.*", by = { "path" }, max = 2 }
on_sample(function(s, v) if v > 100 then return nil end return v * 2 end)
relabel { { action = "hashmod", source_labels = { "path" }, modulus = 4, target_label = "shard" },
          { action = "keepequal", source_labels = { "status" }, target_label = "status" } }
]])

-- Rule files: the repository's own and the example's.
local rules = {
  "rules/10-gateway.lua",
  "examples/http_api_alerts/rules/10-error-ratio.lua",
  "examples/http_api_alerts/rules/20-latency.lua",
  "examples/http_api_alerts/rules/30-active-commands.lua",
  "examples/http_api_alerts/rules/40-rate-limit.lua",
  "examples/http_api_alerts/rules/50-producer-silent.lua",
}
for _, p in ipairs(rules) do write("rules", (p:gsub("/", "_")), slurp(p)) end
write("rules", "record_sum.lua", [[
record "job:http_requests:rate1m" {
  expr = function(q) return q.rate("http_requests_total", "1m", { by = { "status" } }) end,
}
]])
write("rules", "alert_now.lua", [[
alert "Always" {
  expr = function(q) return q.series('http_requests_total{status="503"}') end,
  labels = { severity = "page" },
  annotations = { summary = "{{ $labels.path }} at {{ $value | humanize }}" },
}
]])

write("rules", "quantile_value.lua", [[
record "latency:p90" {
  expr = function(q) return q.histogram_quantile(0.9, "latency_seconds", "1m") end,
}
alert "Slow" {
  expr = function(q) local v = q.value("latency:p90") return v and v > 0.4 and v or nil end,
  ["for"] = "2s",
  annotations = { description = "p90 {{ $value | humanizeDuration }}" },
}
]])
write("rules", "over_time.lua", [[
record "queue:max" { expr = function(q) return q.max_over_time("request_latency_ms", "5m") end }
record "queue:avg" { expr = function(q) return q.avg_over_time("request_latency_ms", "5m", { by = { "job" } }) end }
record "total" { expr = function(q) return q.sum("http_requests_total", { by = { "path" } }) end }
record "inc" { expr = function(q) return q.increase("http_requests_total", "1m") end }
]])
write("rules", "bad_duration.lua", [[
alert "Bad" { expr = function(q) return 1 end, ["for"] = "5 minutes" }
]])
write("rules", "runaway.lua", [[
alert "Loop" { expr = function(q) while true do end end }
]])

-- Templates, as rules' annotations use them.
local templates = {
  labels = "{{ $labels.job }} on {{ $labels.instance }}",
  value = "value {{ $value }}",
  dot = "{{ .Labels.status }} = {{ .Value }}",
  humanize = "{{ $value | humanize }}",
  humanize1024 = "{{ $value | humanize1024 }}B",
  percentage = "{{ $value | humanizePercentage }} failed",
  duration = "for {{ $value | humanizeDuration }}",
  external = "{{ $externalLabels.cluster }}",
  missing_label = "{{ $labels.nope }}!",
  unclosed = "{{ $labels.job ",
  bad_filter = "{{ $value | shout }}",
  plain = "no template here {",
}
for k, s in pairs(templates) do write("template", k .. ".txt", s) end
