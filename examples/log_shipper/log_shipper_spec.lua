-- examples/log_shipper: log shippers report their own drops in the
-- message's `dropped` key; moongate adds them up per shipper and reason,
-- drops the debug and trace line counters by rule and counts what each
-- loss was.
--
-- This drives the real pipeline (the C core, loaded as a Lua module) on a
-- virtual clock: no daemon, no sockets. From the repository root:
--   lua5.4 /usr/bin/busted --cpath=build/gateway/?.so examples/log_shipper/log_shipper_spec.lua
local moongate = require "moongate"
local lfs = require "lfs"

local SCRIPTS = "examples/log_shipper/scripts"

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

-- The value of the series with exactly these labels, or nil.
local function value(text, name, labels)
  labels = labels or {}
  for _, s in ipairs(series(text, name)) do
    local same = true
    for k, v in pairs(labels) do same = same and s.labels[k] == v end
    for k in pairs(s.labels) do same = same and labels[k] ~= nil end
    if same then return s.value end
  end
  return nil -- a value even when none: assert.are.equal then reports the mismatch
end

local function gateway()
  return moongate.new { scripts = scripts(SCRIPTS) }
end

-- Three shippers; each spells its levels its own way.
local SHIPPERS = {
  { instance = "node-1", levels = { "trace", "debug", "info", "warn", "error" } },
  { instance = "node-2", levels = { "DEBUG", "INFO", "WARN", "ERROR" } },
  { instance = "node-3", levels = { "debug", "info", "warn", "error" }, oversized = true },
}
local DROPPED_BY_RULE = { trace = true, debug = true, DEBUG = true }

describe("examples/log_shipper", function()
  it("adds the shippers' own drops up per shipper and reason across reports, and drops debug lines by rule", function()
    math.randomseed(99)
    local gw = gateway()
    local client_drops = {} -- instance -> reason -> what the shipper reported, in all
    local debug_samples = 0
    for _, sh in ipairs(SHIPPERS) do
      sh.lines, sh.bytes = {}, 0
      for _, level in ipairs(sh.levels) do sh.lines[level] = 0 end
    end
    for report = 1, 20 do
      for _, sh in ipairs(SHIPPERS) do
        -- drops since the last report; reasons with none are left out, and
        -- a report may have no drops at all (an empty map)
        local dropped = {}
        client_drops[sh.instance] = client_drops[sh.instance] or {}
        local mine = client_drops[sh.instance]
        local function drop(reason, n)
          if n > 0 then
            dropped[reason] = n
            mine[reason] = (mine[reason] or 0) + n
          end
        end
        drop("buffer_full", math.random(0, 5))
        drop("rate_limited", math.random(0, 3))
        if sh.oversized then drop("oversized_line", math.random(0, 2)) end

        local metrics = {}
        for _, level in ipairs(sh.levels) do
          sh.lines[level] = sh.lines[level] + math.random(0, 500)
          metrics[#metrics + 1] = { name = "log_lines_total", type = "counter",
            value = sh.lines[level], labels = { level = level } }
          if DROPPED_BY_RULE[level] then debug_samples = debug_samples + 1 end
        end
        sh.bytes = sh.bytes + math.random(0, 1e6)
        metrics[#metrics + 1] = { name = "log_shipped_bytes_total", type = "counter", value = sh.bytes }
        metrics[#metrics + 1] = { name = "log_buffer_usage_ratio", type = "gauge",
          value = math.random(0, 100) / 100 }
        local accepted, rejected = gw:push {
          source = { job = "log-shipper", instance = sh.instance },
          dropped = dropped, metrics = metrics }
        assert.are.equal(#metrics, accepted)
        assert.are.equal(0, rejected)
      end
      gw:advance(10)
    end
    -- a shipper whose only news is drops: a message without metrics
    gw:push { source = { job = "log-shipper", instance = "node-3" },
      dropped = { buffer_full = 1000 }, metrics = {} }
    client_drops["node-3"].buffer_full = client_drops["node-3"].buffer_full + 1000

    local text = gw:expose()
    -- the producers' drops, per shipper and reason, exactly as reported
    local pairs_seen = 0
    for instance, reasons in pairs(client_drops) do
      for reason, n in pairs(reasons) do
        pairs_seen = pairs_seen + 1
        assert.are.equal(n, value(text, "moongate_client_dropped_total",
          { job = "log-shipper", instance = instance, reason = reason }), instance .. " " .. reason)
      end
    end
    assert.are.equal(7, pairs_seen) -- two reasons each, and node-3's oversized_line
    assert.are.equal(pairs_seen, #series(text, "moongate_client_dropped_total"))
    -- the gateway's drops by rule: one per debug or trace sample pushed
    assert.are.equal(80, debug_samples)
    assert.are.equal(debug_samples, value(text, "moongate_samples_dropped_total", { reason = "rule" }))
    -- the other levels are exposed, exact; the dropped ones are not
    for _, sh in ipairs(SHIPPERS) do
      for level, n in pairs(sh.lines) do
        local got = value(text, "log_lines_total",
          { job = "log-shipper", instance = sh.instance, level = level })
        if DROPPED_BY_RULE[level] then
          assert.is_nil(got, level)
        else
          assert.are.equal(n, got, level)
        end
      end
      assert.are.equal(sh.bytes, value(text, "log_shipped_bytes_total",
        { job = "log-shipper", instance = sh.instance }))
    end
    assert.are.equal(9, #series(text, "log_lines_total"))

    -- a shipper's drops are its series: they expire with the others; the
    -- gateway's own counters do not
    gw:advance(3600)
    text = gw:expose()
    assert.is_nil(value(text, "log_shipped_bytes_total", { job = "log-shipper", instance = "node-1" }))
    assert.are.equal(0, #series(text, "moongate_client_dropped_total"))
    assert.are.equal(debug_samples, value(text, "moongate_samples_dropped_total", { reason = "rule" }))
  end)

  it("tells apart where samples were lost: at the shipper, refused by the gateway, dropped by a rule", function()
    local gw = gateway()
    -- the shipper lost 3 lines' worth of records to a full buffer, and a
    -- bug makes it report a negative counter, which the gateway refuses
    local accepted, rejected, errors = gw:push {
      source = { job = "log-shipper", instance = "node-1" },
      dropped = { buffer_full = 3 },
      metrics = {
        { name = "log_lines_total", type = "counter", value = 120, labels = { level = "info" } },
        { name = "log_lines_total", type = "counter", value = 4000, labels = { level = "debug" } },
        { name = "log_retries_total", type = "counter", value = -1 },
      } }
    assert.are.equal(2, accepted)
    assert.are.equal(1, rejected)
    assert.are.equal("invalid_value", errors[1].reason)
    assert.are.equal(3, errors[1].index)
    gw:advance(10)
    gw:push { source = { job = "log-shipper", instance = "node-1" },
      dropped = { buffer_full = 2, rate_limited = 7 },
      metrics = {
        { name = "log_lines_total", type = "counter", value = 150, labels = { level = "info" } },
        { name = "log_lines_total", type = "counter", value = 4900, labels = { level = "debug" } },
      } }

    local text = gw:expose()
    -- at the shipper, by its reasons
    local node1 = { job = "log-shipper", instance = "node-1" }
    node1.reason = "buffer_full"
    assert.are.equal(5, value(text, "moongate_client_dropped_total", node1))
    node1.reason = "rate_limited"
    assert.are.equal(7, value(text, "moongate_client_dropped_total", node1))
    -- refused by the gateway, by what was wrong
    assert.are.equal(1, value(text, "moongate_samples_rejected_total", { reason = "invalid_value" }))
    -- dropped by the pipeline's rule: both debug samples
    assert.are.equal(2, value(text, "moongate_samples_dropped_total", { reason = "rule" }))
    -- and what was kept
    assert.are.equal(150, value(text, "log_lines_total",
      { job = "log-shipper", instance = "node-1", level = "info" }))
    assert.is_nil(value(text, "log_lines_total",
      { job = "log-shipper", instance = "node-1", level = "debug" }))
  end)
end)
