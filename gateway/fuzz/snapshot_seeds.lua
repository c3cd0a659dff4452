-- Writes the snapshot target's seeds, gateway/fuzz/corpus/snapshot/*.snap,
-- with a real daemon of this build, so that they follow the file format
-- as it is now (rerun it after a format change):
--   empty.snap  no pipeline, nothing pushed
--   plain.snap  a pipeline and series of every type, no rules
--   full.snap   the same with rules (a pending alert, a recorded series,
--               the selectors they read) and the append-only log on
-- The rules are the ones fuzz_snapshot.c loads. Run from the repository
-- root after a build:
--   lua5.4 gateway/fuzz/snapshot_seeds.lua build
local build = arg[1] or "build"
package.path = "spec/?.lua;" .. package.path
package.cpath = build .. "/gateway/?.so;" .. package.cpath
local gw = require "support.gateway"
gw.bin = build .. "/gateway/moongate"

local out = "gateway/fuzz/corpus/snapshot/"

local RULES = [[
record "job:requests:sum" {
  expr = function(q) return q.sum("requests_total", { by = { "job" } }) end,
}
alert "QueueTooLong" {
  expr = function(q) return q.value('queue_length{queue="jobs"}') end,
  ["for"] = "4s",
}
]]

local PIPELINE = [[
-- many workspaces, one series per template: drop the workspace label
relabel {
  { action = "labeldrop", regex = "workspace_id" },
}
]]

local function dir_with(name, src)
  local d = gw.tmpdir()
  gw.write_file(d .. "/" .. name, src)
  return d
end

local function push(g, msg)
  local code, r = g:push_http(msg)
  assert(code == 200 and r.rejected == 0, "push refused")
end

local function pushes(g)
  push(g, { source = { job = "agent", workspace_id = "a" }, metrics = {
    { name = "requests_total", type = "counter", value = 10, labels = { status = "200" } } } })
  push(g, { source = { job = "agent", workspace_id = "b" }, metrics = {
    { name = "requests_total", type = "counter", value = 5, labels = { status = "200" } } } })
  push(g, { ttl = 0, metrics = {
    { name = "queue_length", type = "gauge", value = 50, labels = { queue = "jobs" } },
    { name = "temp", type = "untyped", value = 21.5, help = "Room temperature." },
    { name = "latency_seconds", type = "histogram",
      buckets = { [0.1] = 90, [1] = 99, ["+Inf"] = 100 }, sum = 12.5, count = 100 },
    { name = "rpc_seconds", type = "summary", quantiles = { [0.5] = 0.2, [0.99] = 0.9 },
      sum = 40, count = 100 } } })
end

-- A daemon on a fresh data dir with these settings; fill(g) before its
-- SIGTERM, which writes the snapshot copied to out .. name.
local function seed(name, settings, fill)
  local data = gw.tmpdir() .. "/data"
  local conf = { ("data_dir = %q"):format(data) }
  for k, v in pairs(settings) do
    conf[#conf + 1] = ("%s = %s"):format(k, type(v) == "string" and ("%q"):format(v) or tostring(v))
  end
  local g = gw.start_with_config("return { " .. table.concat(conf, ", ") .. " }\n")
  if fill then fill(g) end
  g:stop()
  local snap = assert(gw.read_file(data .. "/moongate.snap"), "no snapshot written")
  gw.write_file(out .. name, snap)
  os.execute("rm -rf " .. gw.quote(data:match("^(.*)/data$")))
  print(("%s: %d bytes"):format(name, #snap))
end

local scripts = dir_with("pipeline.lua", PIPELINE)
local rules = dir_with("rules.lua", RULES)
seed("empty.snap", {})
seed("plain.snap", { scripts = scripts }, pushes)
seed("full.snap", { scripts = scripts, rules = rules, rule_interval = 0.2, append_log = true },
  function(g)
    pushes(g)
    gw.wait_for(function()
      return g:value('ALERTS{alertname="QueueTooLong",alertstate="pending"}')
    end, 5, "the alert to be pending")
  end)
os.execute("rm -rf " .. gw.quote(scripts) .. " " .. gw.quote(rules))
