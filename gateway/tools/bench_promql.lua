-- bench_promql.lua FORM SERIES RULES: one rule tick's cost, through the
-- module on its virtual clock, for RULES alert rules over SERIES counter
-- series (x_total{shard, job, id}, SERIES / RULES series a shard), each rule
-- `sum by (job) (rate(x_total{shard="N"}[5m])) > 10` written as FORM:
-- "promql" (q.promql with a literal) or "q" (q.rate by job, filtered in
-- Lua). The counters grow slowly, so no alert fires and the tick measures
-- the queries rather than the alert states. Prints "form=... series=... rules=... tick_ms_avg=... tick_ms_max=...".
local moongate = require "moongate"
local form, nseries, nrules = arg[1] or "promql", tonumber(arg[2] or 100000), tonumber(arg[3] or 1000)
local dir = os.getenv("TMPDIR") or "/tmp"
local path = ("%s/bench_promql_%s_%d.lua"):format(dir, form, nrules)
local f = assert(io.open(path, "w"))
for i = 0, nrules - 1 do
  if form == "promql" then
    f:write(('alert "S%d" { expr = function(q) return q.promql(\'sum by (job) (rate(x_total{shard="%d"}[5m])) > 10\') end }\n'):format(i, i))
  else
    f:write(('alert "S%d" { expr = function(q) local out = {} for _, e in ipairs(q.rate(\'x_total{shard="%d"}\', "5m", { by = { "job" } })) do if e.value > 10 then out[#out + 1] = e end end return out end }\n'):format(i, i))
  end
end
f:close()
local gw = moongate.new { rules = { path }, config = { rule_interval = 15, default_ttl = 0 } }
local per = nseries // nrules
local batch = {}
local function push_all(step)
  for i = 0, nseries - 1 do
    batch[#batch + 1] = { name = "x_total", type = "counter", value = step * (i % 7 + 1) / 100,
                          labels = { shard = tostring(i // per), job = "j" .. (i % 10), id = tostring(i) } }
    if #batch == 2000 then gw:push { metrics = batch }; batch = {} end
  end
  if #batch > 0 then gw:push { metrics = batch }; batch = {} end
end
local sum, max, n = 0, 0, 0
for step = 1, 6 do
  push_all(step * 15)
  local t0 = os.clock()
  gw:advance(15)
  local dt = (os.clock() - t0) * 1000
  if step > 2 then -- the first ticks register the ranges and fill histories
    sum, max, n = sum + dt, math.max(max, dt), n + 1
  end
end
local text = gw:expose()
local failures = 0
for v in text:gmatch("moongate_rule_evaluation_failures_total{[^}]*} (%S+)") do failures = failures + tonumber(v) end
print(("form=%s series=%d rules=%d tick_ms_avg=%.1f tick_ms_max=%.1f alerts=%d failures=%d"):format(
  form, nseries, nrules, sum / n, max, #gw:alerts(), failures))
os.remove(path)
