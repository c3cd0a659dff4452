-- examples/workspaces: 200 workspaces' agent metrics become one series per
-- owner and template with exact totals; a stopped workspace leaves the
-- gauges two minutes after its agent's last push, and its counts stay.
--
-- This drives the real pipeline (the C core, loaded as a Lua module) on a
-- virtual clock: no daemon, no sockets, no sleeping. From the repository
-- root:
--   lua5.4 /usr/bin/busted --cpath=build/gateway/?.so examples/workspaces/workspaces_spec.lua
local moongate = require "moongate"
local lfs = require "lfs"

local SCRIPTS = "examples/workspaces/scripts"

-- The daemon loads every *.lua file of --scripts in name order; so does the
-- spec, so it tests exactly what `moongate --scripts DIR` runs.
local function scripts(dir)
  local files = {}
  for f in lfs.dir(dir) do
    if f:match("^[^.].*%.lua$") then files[#files + 1] = dir .. "/" .. f end
  end
  table.sort(files)
  return files
end

-- The series of one family in a text exposition: { {labels, value}, ... }.
local function series(text, name)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    local n, ls, v = line:match("^([%w_:]+)(%b{}) (%S+)")
    if not n then
      n, v = line:match("^([%w_:]+) (%S+)")
      ls = ""
    end
    if n == name then
      local labels = {}
      for k, lv in ls:gmatch('([%w_]+)="([^"]*)"') do labels[k] = lv end
      out[#out + 1] = { labels = labels, value = tonumber(v) }
    end
  end
  return out
end

local function has_labels(got, want, exact)
  for k, v in pairs(want) do
    if got[k] ~= v then return false end
  end
  if exact then
    for k in pairs(got) do
      if want[k] == nil then return false end
    end
  end
  return true
end

-- The value of the series with exactly these labels, or nil.
local function value(text, name, labels)
  for _, s in ipairs(series(text, name)) do
    if has_labels(s.labels, labels or {}, true) then return s.value end
  end
  return nil -- a value even when none: assert.are.equal then reports the mismatch
end

-- The sum over every series of name that has these labels (among others).
local function total(text, name, labels)
  local sum = 0
  for _, s in ipairs(series(text, name)) do
    if has_labels(s.labels, labels or {}) then sum = sum + s.value end
  end
  return sum
end

local OWNERS = { "alice", "bob", "carol", "dave", "erin" }
local TEMPLATES = { "python", "go", "rust" }

-- A workspace's agent. Its counters are cumulative since the agent started;
-- `commands_done` and `cpu_done` are what it really did since we met it,
-- restarts included: what the per-template totals must add up to.
local function workspace(i, owner, template)
  local ws = {
    id = ("ws-%03d"):format(i), owner = owner, template = template,
    commands = math.random(100, 1000), -- running for a while already
    cpu = math.random(400, 4000) * 0.25, -- quarters: exact in binary
    memory = math.random(1, 64) * 2 ^ 26,
  }
  ws.commands_done, ws.cpu_done = ws.commands, ws.cpu
  return ws
end

local function fleet(n)
  local f = {}
  for i = 1, n do
    f[i] = workspace(i, OWNERS[i % #OWNERS + 1], TEMPLATES[i % #TEMPLATES + 1])
  end
  return f
end

-- Work between two pushes; a restarted agent counts again from zero.
local function work(ws, restart)
  local dc, dcpu = math.random(0, 50), math.random(0, 80) * 0.25
  ws.commands = (restart and 0 or ws.commands) + dc
  ws.cpu = (restart and 0 or ws.cpu) + dcpu
  ws.commands_done = ws.commands_done + dc
  ws.cpu_done = ws.cpu_done + dcpu
  ws.memory = math.random(1, 64) * 2 ^ 26
end

-- One agent's push, as the agent sends it.
local function report(gw, ws)
  local accepted, rejected = gw:push {
    source = { workspace_id = ws.id, owner = ws.owner, agent = "main" },
    metrics = {
      { name = "agent_commands_total", type = "counter", value = ws.commands,
        labels = { template = ws.template } },
      { name = "agent_cpu_seconds_total", type = "counter", value = ws.cpu,
        labels = { template = ws.template } },
      { name = "workspace_up", type = "gauge", value = 1, labels = { template = ws.template } },
      { name = "agent_memory_bytes", type = "gauge", value = ws.memory,
        labels = { template = ws.template } },
    },
  }
  assert.are.equal(4, accepted)
  assert.are.equal(0, rejected)
end

local function gateway()
  -- An hour's default_ttl, for the batch jobs on the same gateway: the two
  -- minutes of a workspace's series must come from the scripts.
  return moongate.new { scripts = scripts(SCRIPTS), config = { default_ttl = 3600 } }
end

describe("examples/workspaces", function()
  it("keeps exact per-owner, per-template totals over 200 workspaces, through agent restarts", function()
    math.randomseed(42)
    local gw = gateway()
    local ws = fleet(200)
    local restarted = 0
    for round = 1, 4 do
      for i, w in ipairs(ws) do
        -- every 9th agent restarts before the third push: its counters
        -- fall back to a few counts, which is a reset, not a decrease
        local restart = round == 3 and i % 9 == 0
        if restart then restarted = restarted + 1 end
        if round > 1 then work(w, restart) end
        report(gw, w)
      end
      gw:advance(30)
    end
    assert.are.equal(22, restarted)

    local text = gw:expose()
    local grand_commands, grand_cpu = 0, 0
    for _, owner in ipairs(OWNERS) do
      for _, template in ipairs(TEMPLATES) do
        local commands, cpu, up, mem = 0, 0, 0, 0
        for _, w in ipairs(ws) do
          if w.owner == owner and w.template == template then
            commands, cpu, up = commands + w.commands_done, cpu + w.cpu_done, up + 1
            mem = math.max(mem, w.memory)
          end
        end
        local l = { owner = owner, template = template }
        assert.are.equal(commands, value(text, "agent_commands_total", l))
        assert.are.equal(cpu, value(text, "agent_cpu_seconds_total", l))
        assert.are.equal(up, value(text, "workspace_up", l))
        assert.are.equal(mem, value(text, "agent_memory_bytes", l))
        grand_commands, grand_cpu = grand_commands + commands, grand_cpu + cpu
      end
    end
    -- 5 owners x 3 templates, and nothing else: no workspace, no agent
    for _, name in ipairs { "agent_commands_total", "agent_cpu_seconds_total",
                            "workspace_up", "agent_memory_bytes" } do
      assert.are.equal(15, #series(text, name), name)
    end
    assert.is_nil(text:find("workspace_id=", 1, true))
    assert.is_nil(text:find('agent="', 1, true))
    assert.are.equal(grand_commands, total(text, "agent_commands_total"))
    assert.are.equal(grand_cpu, total(text, "agent_cpu_seconds_total"))
    assert.are.equal(200, total(text, "workspace_up"))
  end)

  it("takes a stopped workspace out of the gauges two minutes after its last push; its counts stay", function()
    math.randomseed(7)
    local gw = gateway()
    local ws = fleet(200)
    local stopped = ws[20] -- owner alice, template rust, with 13 others
    local lonely = workspace(999, "zoe", "go") -- zoe's only workspace
    local function push_running()
      for _, w in ipairs(ws) do
        if w ~= stopped then
          work(w)
          report(gw, w)
        end
      end
    end
    local group = { owner = stopped.owner, template = stopped.template }
    local in_group, in_template = 0, 0
    for _, w in ipairs(ws) do
      if w.template == stopped.template then
        in_template = in_template + 1
        if w.owner == stopped.owner then in_group = in_group + 1 end
      end
    end
    assert.are.equal(14, in_group)

    -- t = 0: everyone reports, and a batch job with the default ttl
    for _, w in ipairs(ws) do report(gw, w) end
    report(gw, lonely)
    gw:push { source = { job = "backup" }, metrics = {
      { name = "backup_last_success_timestamp_seconds", type = "gauge", value = 1700000000 } } }
    -- then the two agents stop; the others report every minute
    gw:advance(60)
    push_running()
    gw:advance(59)

    -- t = 119: the stopped workspaces still count
    local text = gw:expose()
    assert.are.equal(in_group, value(text, "workspace_up", group))
    assert.are.equal(in_template, total(text, "workspace_up", { template = stopped.template }))
    assert.are.equal(1, value(text, "workspace_up", { owner = "zoe", template = "go" }))

    gw:advance(1)
    push_running()
    gw:advance(1)

    -- t = 121: two minutes after their last push, their gauges are gone
    text = gw:expose()
    assert.are.equal(in_group - 1, value(text, "workspace_up", group))
    assert.are.equal(in_template - 1, total(text, "workspace_up", { template = stopped.template }))
    assert.are.equal(200 - 1, total(text, "workspace_up"))
    -- the counters keep the stopped workspace's counts in the total
    local commands, cpu = 0, 0
    for _, w in ipairs(ws) do
      if w.owner == stopped.owner and w.template == stopped.template then
        commands, cpu = commands + w.commands_done, cpu + w.cpu_done
      end
    end
    assert.are.equal(commands, value(text, "agent_commands_total", group))
    assert.are.equal(cpu, value(text, "agent_cpu_seconds_total", group))
    -- an output fed by no running workspace goes with its last input
    for _, name in ipairs { "workspace_up", "agent_memory_bytes",
                            "agent_commands_total", "agent_cpu_seconds_total" } do
      assert.is_nil(value(text, name, { owner = "zoe", template = "go" }), name)
    end
    assert.are.equal(8, value(text, "moongate_series_expired_total"))
    -- series without a workspace keep the gateway's default_ttl
    assert.are.equal(1700000000, value(text, "backup_last_success_timestamp_seconds", { job = "backup" }))
  end)
end)
