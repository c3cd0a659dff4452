-- Persistence (docs/persistence.md): --data-dir keeps a snapshot of the store,
-- alert states, written series and own counters; a restart restores it
-- before /-/ready; SIGTERM writes it after the drain; kill -9 loses only
-- what came after the last snapshot; bad files are moved aside; failed
-- writes keep the previous file, are counted and retried;
-- `moongate snapshot inspect`.
local gw = require "support.gateway"
local pgw = require "support.pushgw"
local cjson = require "cjson"

local quote = gw.quote
local FIX = gw.root .. "/spec/e2e/fixtures/reload/"

local dirs = {}
local function tmpdir()
  local d = gw.tmpdir()
  dirs[#dirs + 1] = d
  return d
end

local running = {}

-- A gateway on data dir `data`, with a config file of extra settings.
local function start(data, extra, opts)
  local cdir = tmpdir()
  local conf = { ("data_dir = %q"):format(data) }
  for k, v in pairs(extra or {}) do
    conf[#conf + 1] = ("%s = %s"):format(k, type(v) == "string" and ("%q"):format(v) or tostring(v))
  end
  gw.write_file(cdir .. "/moongate.conf.lua", "return { " .. table.concat(conf, ", ") .. " }\n")
  local g = gw.start({ "--config", cdir .. "/moongate.conf.lua" }, opts)
  running[#running + 1] = g
  return g
end

-- SIGTERM and wait; returns the log.
local function term(g)
  local log_path = g.log
  gw.sh("kill -TERM " .. g.pid)
  gw.wait_for(function() return not g:alive() end, 15, "moongate to exit")
  local log = gw.read_file(log_path)
  g.pid = nil
  return log
end

local function kill9(g)
  gw.sh("kill -KILL " .. g.pid)
  gw.wait_for(function() return not g:alive() end, 15, "moongate to die")
  g.pid = nil
end

after_each(function()
  for _, g in ipairs(running) do
    if g.pid then g:stop() end
  end
  running = {}
  for _, d in ipairs(dirs) do gw.sh("rm -rf " .. quote(d)) end
  dirs = {}
end)

-- Families a restart may change: the process's own, durations, times,
-- connection counts (scrapes and probes open connections).
local VOLATILE = { "^process_", "^moongate_scrape_duration_seconds",
  "^moongate_snapshot_", "^moongate_config_last_reload_success_timestamp_seconds",
  "^moongate_connections_", "^moongate_rule_evaluation_duration_seconds" }

local function stable_lines(body)
  local t = {}
  for line in body:gmatch("[^\n]+") do
    local name = line:match("^# %u+ (%S+)") or line:match("^([%w_:]+)")
    local skip = false
    for _, p in ipairs(VOLATILE) do
      if name and name:match(p) then skip = true end
    end
    if not skip then t[#t + 1] = line end
  end
  table.sort(t)
  return t
end

local function push(g, msg)
  local code, r = g:push_http(msg)
  assert.are.equal(200, code)
  assert.are.equal(0, r.rejected)
  return r
end

local function ls(dir)
  local p = io.popen("ls " .. quote(dir))
  local t = {}
  for l in p:lines() do t[#t + 1] = l end
  p:close()
  return table.concat(t, " ")
end

local function scripts_dir(src)
  local d = tmpdir()
  gw.write_file(d .. "/pipeline.lua", src)
  return d
end

local RULES = [[
record "job:requests:sum" {
  expr = function(q) return q.sum("requests_total", { by = { "job" } }) end,
}
alert "QueueTooLong" {
  expr = function(q)
    local v = q.value('queue_length{queue="jobs"}')
    if v and v > 10 then return v end
  end,
  ["for"] = "4s",
  annotations = { summary = "queue at {{ $value }}" },
}
]]

describe("a restart with --data-dir", function()
  it("after SIGTERM, serves the same /metrics, aggregated counters and all", function()
    local data = tmpdir() .. "/data"
    local scripts = scripts_dir(gw.read_file(FIX .. "drop_workspace.lua"))
    local rules = scripts_dir(RULES)
    local settings = { scripts = scripts, rules = rules, rule_interval = 0.2 }
    local g = start(data, settings)
    push(g, { source = { job = "agent", workspace_id = "a" }, metrics = {
      { name = "requests_total", type = "counter", value = 10, labels = { status = "200" } } } })
    push(g, { source = { job = "agent", workspace_id = "b" }, metrics = {
      { name = "requests_total", type = "counter", value = 5, labels = { status = "200" } } } })
    -- a producer reset: the output keeps what came before it
    push(g, { source = { job = "agent", workspace_id = "b" }, metrics = {
      { name = "requests_total", type = "counter", value = 2, labels = { status = "200" } } } })
    push(g, { ttl = 0, metrics = {
      { name = "queue_length", type = "gauge", value = 50, labels = { queue = "jobs" } },
      { name = "temp", type = "untyped", value = 21.5 },
      { name = "latency_seconds", type = "histogram",
        buckets = { [0.1] = 90, [1] = 99, ["+Inf"] = 100 }, sum = 12.5, count = 100 },
      { name = "rpc_seconds", type = "summary", quantiles = { [0.5] = 0.2, [0.99] = 0.9 },
        sum = 40, count = 100 } } })
    local agg = 'requests_total{job="agent",status="200"}'
    assert.are.equal(17, g:value(agg))
    gw.wait_for(function() return g:value('ALERTS{alertname="QueueTooLong",alertstate="pending"}') end,
      5, "the alert to be pending")
    local before = stable_lines(g:scrape())
    local log = term(g)
    assert.truthy(log:match("msg=\"snapshot written\"") or log:match("msg=snapshot written"), log)
    assert.truthy(log:match("msg=stopped"))
    assert.truthy(ls(data):match("moongate%.snap"))

    local g2 = start(data, settings)
    local after = stable_lines(g2:scrape())
    assert.are.same(before, after)
    -- counters continue: producer a goes on, producer b restarts from 1
    push(g2, { source = { job = "agent", workspace_id = "a" }, metrics = {
      { name = "requests_total", type = "counter", value = 12, labels = { status = "200" } } } })
    push(g2, { source = { job = "agent", workspace_id = "b" }, metrics = {
      { name = "requests_total", type = "counter", value = 1, labels = { status = "200" } } } })
    assert.are.equal(17 + 2 + 1, g2:value(agg))
  end)

  it("routes restored inputs through scripts that changed while it was down", function()
    local data = tmpdir() .. "/data"
    local g = start(data)
    for ws, v in pairs({ a = 10, b = 5 }) do
      push(g, { source = { job = "agent", workspace_id = ws }, metrics = {
        { name = "requests_total", type = "counter", value = v, labels = { status = "200" } } } })
    end
    assert.are.equal(10, g:value('requests_total{job="agent",status="200",workspace_id="a"}'))
    term(g)
    local scripts = scripts_dir(gw.read_file(FIX .. "drop_workspace.lua"))
    local g2 = start(data, { scripts = scripts })
    -- as a reload would: the new output starts from the inputs' raw values
    assert.is_nil(g2:value('requests_total{job="agent",status="200",workspace_id="a"}'))
    local agg = 'requests_total{job="agent",status="200"}'
    assert.are.equal(15, g2:value(agg))
    push(g2, { source = { job = "agent", workspace_id = "a" }, metrics = {
      { name = "requests_total", type = "counter", value = 12, labels = { status = "200" } } } })
    assert.are.equal(17, g2:value(agg))
  end)

  it("without --data-dir forgets everything (the default)", function()
    local g = gw.start()
    running[#running + 1] = g
    push(g, { metrics = { { name = "x_total", type = "counter", value = 3 } } })
    term(g)
    local g2 = gw.start()
    running[#running + 1] = g2
    assert.is_nil(g2:value("x_total"))
  end)

  it("a Pushgateway group survives a restart", function()
    local data = tmpdir() .. "/data"
    local g = start(data)
    local path = "/metrics/job/batch/instance/a"
    local code, body = pgw.put(g.url, path, "# TYPE done_total counter\ndone_total 3\nqueue_depth 7\n")
    assert.are.equal(200, code, body)
    local pt = 'push_time_seconds{instance="a",job="batch"}'
    local t = g:value(pt)
    assert.truthy(t and t > 0)
    term(g)

    local g2 = start(data)
    local text = g2:scrape()
    assert.are.equal(3, gw.value(text, 'done_total{instance="a",job="batch"}'))
    assert.are.equal(7, gw.value(text, 'queue_depth{instance="a",job="batch"}'))
    assert.are.equal(t, gw.value(text, pt))
    local jcode, json = gw.http_request("GET", g2.url .. "/api/v1/metrics")
    assert.are.equal(200, jcode)
    local groups = cjson.decode(json).data
    assert.are.equal(1, #groups)
    assert.are.same({ job = "batch", instance = "a" }, groups[1].labels)
    assert.truthy(groups[1].done_total)
    local jt = tonumber(groups[1].push_time_seconds.metrics[1].value)
    assert.is_true(math.abs(jt - t) < 0.001, tostring(jt))

    -- the group owns its restored inputs: a PUT replaces them all
    code, body = pgw.put(g2.url, path, "queue_depth 9\n")
    assert.are.equal(200, code, body)
    text = g2:scrape()
    assert.is_nil(gw.value(text, 'done_total{instance="a",job="batch"}'))
    assert.are.equal(9, gw.value(text, 'queue_depth{instance="a",job="batch"}'))
  end)

  it("after kill -9, has everything up to the last snapshot", function()
    local data = tmpdir() .. "/data"
    local g = start(data, { snapshot_interval = 0.3 })
    push(g, { metrics = { { name = "x_total", type = "counter", value = 3 } } })
    -- the timestamp is when the snapshot's state was taken: past the push
    local t = require("socket").gettime()
    gw.wait_for(function()
      return (g:value("moongate_snapshot_last_success_timestamp_seconds") or 0) > t
    end, 10, "a snapshot after the push")
    assert.truthy(g:value("moongate_snapshot_size_bytes") > 64)
    kill9(g)
    local g2 = start(data, { snapshot_interval = 0.3 })
    assert.are.equal(3, g2:value("x_total"))
  end)

  it("removes series that expired while it was down, as if it had stayed up", function()
    local data = tmpdir() .. "/data"
    local g = start(data)
    push(g, { ttl = 1, metrics = { { name = "short_lived", type = "gauge", value = 1 } } })
    push(g, { ttl = 0, metrics = { { name = "long_lived", type = "gauge", value = 2 } } })
    term(g)
    local deadline = require("socket").gettime() + 1.2
    gw.wait_for(function() return require("socket").gettime() > deadline end, 3, "the TTL to pass")
    local g2 = start(data)
    assert.is_nil(g2:value("short_lived"))
    assert.are.equal(2, g2:value("long_lived"))
  end)

  it("keeps the histories rules read, so a rate goes on without a gap", function()
    local data = tmpdir() .. "/data"
    local rules = scripts_dir([[
record "x:rate30s" { expr = function(q) return q.rate("x_total", "30s") end }
]])
    local settings = { rules = rules, rule_interval = 1 }
    local g = start(data, settings)
    push(g, { ttl = 0, metrics = { { name = "x_total", type = "counter", value = 10 } } })
    gw.wait_for(function() return g:value("x:rate30s") end, 10, "a rate")
    term(g)
    local g2 = start(data, settings)
    local evals = "moongate_rule_evaluation_duration_seconds_count"
    local before = g2:value(evals)
    gw.wait_for(function() return g2:value(evals) > before end, 10, "an evaluation")
    -- the first evaluation after the restart has the points from before it:
    -- without them a rate needs two evaluations again and this one has none
    assert.are.equal(0, g2:value("x:rate30s"))
  end)

  it("fires an alert pending across the restart at its original activeAt + for", function()
    local data = tmpdir() .. "/data"
    local rules = scripts_dir(RULES)
    local settings = { rules = rules, rule_interval = 0.2 }
    local g = start(data, settings)
    push(g, { ttl = 0, metrics = {
      { name = "queue_length", type = "gauge", value = 50, labels = { queue = "jobs" } } } })
    local active = gw.wait_for(function()
      return g:value('ALERTS_FOR_STATE{alertname="QueueTooLong"}')
    end, 5, "the alert to be pending")
    term(g)
    local g2 = start(data, settings)
    assert.are.equal(active, g2:value('ALERTS_FOR_STATE{alertname="QueueTooLong"}'))
    gw.wait_for(function()
      return g2:value('ALERTS{alertname="QueueTooLong",alertstate="firing"}')
    end, 10, "the alert to fire")
    local now = require("socket").gettime()
    -- fired no earlier than activeAt + for, and not `for` after the restart
    assert.truthy(now >= active + 4, "fired early")
    assert.truthy(now < active + 4 + 5, "fired late: " .. (now - active))
    assert.are.equal(active, g2:value('ALERTS_FOR_STATE{alertname="QueueTooLong"}'))
  end)
end)

-- CRC-32 (zlib's), to forge a header that checks.
local function crc32(s)
  local c = 0xffffffff
  for i = 1, #s do
    c = c ~ s:byte(i)
    for _ = 1, 8 do
      c = (c & 1) ~= 0 and ((c >> 1) ~ 0xedb88320) or (c >> 1)
    end
  end
  return c ~ 0xffffffff
end

describe("a snapshot that does not check", function()
  -- a data dir holding one good snapshot of x_total = 7
  local function good(data)
    local g = start(data)
    push(g, { metrics = { { name = "x_total", type = "counter", value = 7 } } })
    term(g)
    return gw.read_file(data .. "/moongate.snap")
  end

  local cases = {
    ["zero-length"] = function() return "" end,
    ["truncated"] = function(s) return s:sub(1, #s - 9) end,
    ["corrupt"] = function(s)
      local i = #s // 2
      return s:sub(1, i - 1) .. string.char(s:byte(i) ~ 0xff) .. s:sub(i + 1)
    end,
    ["of a future version"] = function(s)
      local h = s:sub(1, 8) .. string.pack("<I2", 9) .. s:sub(11, 60)
      return h .. string.pack("<I4", crc32(h)) .. s:sub(65)
    end,
    ["not a snapshot"] = function() return "hello\n" end,
  }
  for what, mangle in pairs(cases) do
    it(what .. " is moved aside; the gateway starts from the previous generation or empty", function()
      local data = tmpdir() .. "/data"
      local s = good(data)
      gw.write_file(data .. "/moongate.snap", mangle(s))
      local g = start(data)
      assert.is_nil(g:value("x_total")) -- no previous generation: empty
      assert.truthy(ls(data):match("moongate%.snap%.bad%-%d+"))
      assert.truthy(gw.read_file(g.log):match("snapshot does not check"))
      push(g, { metrics = { { name = "y_total", type = "counter", value = 1 } } })
      term(g)
      -- now two generations: y_total in the newest, spoil it, get the older
      local g2 = start(data)
      push(g2, { metrics = { { name = "z_total", type = "counter", value = 1 } } })
      term(g2)
      gw.write_file(data .. "/moongate.snap", mangle(gw.read_file(data .. "/moongate.snap")))
      local g3 = start(data)
      assert.are.equal(1, g3:value("y_total"))
      assert.is_nil(g3:value("z_total"))
    end)
  end
end)

describe("a snapshot write that fails", function()
  it("leaves the previous snapshot intact, is counted and retried", function()
    local data = tmpdir() .. "/data"
    local g = start(data)
    push(g, { metrics = { { name = "x_total", type = "counter", value = 1 } } })
    term(g)
    local prev = gw.read_file(data .. "/moongate.snap")
    -- a directory where the temporary file should go: root cannot write it
    assert(gw.sh("mkdir " .. quote(data .. "/moongate.snap.tmp")) == 0)
    local g2 = start(data, { snapshot_interval = 0.2 })
    push(g2, { metrics = { { name = "x_total", type = "counter", value = 5 } } })
    gw.wait_for(function()
      return (g2:value('moongate_snapshot_failures_total{reason="io"}') or 0) >= 2
    end, 10, "failures to be counted")
    assert.are.equal(prev, gw.read_file(data .. "/moongate.snap"))
    assert.are.equal(0, g2:value("moongate_snapshot_last_success_timestamp_seconds"))
    assert.truthy(g2:alive())
    -- the fault goes: the next try succeeds
    assert(gw.sh("rmdir " .. quote(data .. "/moongate.snap.tmp")) == 0)
    gw.wait_for(function()
      return (g2:value("moongate_snapshot_last_success_timestamp_seconds") or 0) > 0
    end, 10, "a retry to succeed")
    kill9(g2)
    local g3 = start(data)
    assert.are.equal(5, g3:value("x_total"))
  end)

  it("on a full disk counts reason enospc", function()
    local data = tmpdir() .. "/data"
    local g = start(data, { snapshot_interval = 0.2 }, { env = { MG_SNAPSHOT_FAIL = "enospc" } })
    push(g, { metrics = { { name = "x_total", type = "counter", value = 1 } } })
    gw.wait_for(function()
      return (g:value('moongate_snapshot_failures_total{reason="enospc"}') or 0) >= 1
    end, 10, "an enospc failure")
    assert.is_nil(gw.read_file(data .. "/moongate.snap"))
    assert.is_nil(gw.read_file(data .. "/moongate.snap.tmp"))
    term(g)
  end)

  it("on a real full disk (a 64 KiB tmpfs) counts enospc and keeps the last good file", function()
    local mnt = tmpdir() .. "/small"
    assert(gw.sh("mkdir " .. quote(mnt)) == 0)
    if gw.sh("mount -t tmpfs -o size=64k tmpfs " .. quote(mnt) .. " 2>/dev/null") ~= 0 then
      pending("mount -t tmpfs is not permitted here; MG_SNAPSHOT_FAIL covers the path")
      return
    end
    local ok, err = pcall(function()
      local g = start(mnt, { snapshot_interval = 0.2 })
      push(g, { metrics = { { name = "x_total", type = "counter", value = 1 } } })
      local t = require("socket").gettime()
      gw.wait_for(function()
        return (g:value("moongate_snapshot_last_success_timestamp_seconds") or 0) > t
      end, 10, "a snapshot that fits")
      -- 2,000 series of long labels in one message (no snapshot between
      -- parts of it): far past 64 KiB
      local m = {}
      for i = 1, 2000 do
        m[i] = { name = "big", type = "gauge", value = i,
                 labels = { id = ("%06d-"):format(i) .. ("x"):rep(60) } }
      end
      push(g, { metrics = m })
      gw.wait_for(function()
        return (g:value('moongate_snapshot_failures_total{reason="enospc"}') or 0) >= 1
      end, 10, "an enospc failure")
      -- the last file that fitted is still there, whole
      local p = io.popen(quote(gw.bin) .. " snapshot inspect " .. quote(mnt .. "/moongate.snap"))
      local out = p:read("*a")
      p:close()
      assert.truthy(out:match("checksum: OK"), out)
      assert.truthy(out:match("inputs: 1\n"), out)
      assert.is_nil(gw.read_file(mnt .. "/moongate.snap.tmp"))
      kill9(g)
    end)
    gw.sh("umount " .. quote(mnt))
    assert(ok, err)
  end)

  it("with a file where the data directory should be, serves on and counts", function()
    local base = tmpdir()
    gw.write_file(base .. "/data", "not a directory")
    local g = start(base .. "/data", { snapshot_interval = 0.2 })
    push(g, { metrics = { { name = "x_total", type = "counter", value = 1 } } })
    gw.wait_for(function()
      return (g:value('moongate_snapshot_failures_total{reason="io"}') or 0) >= 1
    end, 10, "a failure to be counted")
    assert.are.equal(1, g:value("x_total"))
    term(g)
  end)
end)

describe("the append-only log", function()
  local function add(g, n)
    push(g, { metrics = { { name = "adds_total", type = "counter", op = "add", value = n } } })
  end

  it("after kill -9, restores what came after the last snapshot, once", function()
    local data = tmpdir() .. "/data"
    local settings = { append_log = true, snapshot_interval = 0.5 }
    local g = start(data, settings)
    add(g, 1)
    local t = require("socket").gettime()
    gw.wait_for(function()
      return (g:value("moongate_snapshot_last_success_timestamp_seconds") or 0) > t
    end, 10, "a snapshot")
    add(g, 10)
    add(g, 100)
    -- past one sync of the log (every second), before the next snapshot
    -- could be relied on: the log is what restores these
    local s = require "socket"
    local deadline = s.gettime() + 1.3
    gw.wait_for(function() return s.gettime() > deadline end, 3, "a log sync")
    kill9(g)
    local g2 = start(data, settings)
    assert.are.equal(111, g2:value("adds_total"))
    -- and the snapshot it writes next covers the log: nothing twice
    kill9(g2)
    local g3 = start(data, settings)
    assert.are.equal(111, g3:value("adds_total"))
    add(g3, 1000)
    term(g3)
    local g4 = start(data, settings)
    assert.are.equal(1111, g4:value("adds_total"))
  end)

  it("without it, kill -9 loses what came after the last snapshot", function()
    local data = tmpdir() .. "/data"
    local g = start(data, { snapshot_interval = 3600 })
    add(g, 1)
    local s = require "socket"
    local deadline = s.gettime() + 1.3
    gw.wait_for(function() return s.gettime() > deadline end, 3, "a second")
    kill9(g)
    local g2 = start(data)
    assert.is_nil(g2:value("adds_total"))
  end)
end)

describe("moongate snapshot inspect", function()
  local function inspect(path)
    local p = io.popen(quote(gw.bin) .. " snapshot inspect " .. quote(path) .. " 2>&1; echo rc=$?")
    local out = p:read("*a")
    p:close()
    return out
  end

  it("prints the header, the counts and the checksum verdict", function()
    local data = tmpdir() .. "/data"
    local g = start(data)
    push(g, { metrics = { { name = "x_total", type = "counter", value = 1 },
                          { name = "y", type = "gauge", value = 2 } } })
    term(g)
    local out = inspect(data .. "/moongate.snap")
    assert.truthy(out:match("format: moongate snapshot 1%.0"), out)
    assert.truthy(out:match("inputs: 2\n"), out)
    assert.truthy(out:match("outputs: 2\n"), out)
    assert.truthy(out:match("checksum: OK"), out)
    assert.truthy(out:match("rc=0"), out)
    local s = gw.read_file(data .. "/moongate.snap")
    gw.write_file(data .. "/bad", s:sub(1, #s - 3))
    out = inspect(data .. "/bad")
    assert.truthy(out:match("checksum: FAILED %(truncated"), out)
    assert.truthy(out:match("rc=1"), out)
  end)
end)
