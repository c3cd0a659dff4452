-- C library work is charged by size: a call that loops in string.rep,
-- table.concat, string.upper, table.sort or gsub fails at its deadline, not
-- seconds later, and the next series is served. The bound is correctness
-- (the deadline holds), not speed: deadline + 50 ms, scaled by
-- MG_TIME_SCALE under sanitizers.
local moongate = require "moongate"
local socket = require "socket"
local value = require("support.exposition").value

local dir = "spec/unit/fixtures/"
local deadline = 0.2
local scale = tonumber(os.getenv("MG_TIME_SCALE") or "") or 1

-- Seconds this thread has spent runnable but waiting for a CPU (0 where
-- schedstat is missing). On a loaded machine the thread runs only part of
-- the time, before and after the deadline alike; the bound is on the work
-- done past the deadline, so the overshoot counts at the share of the call
-- the thread was running. On an idle machine that share is 1.
local function waited()
  local f = io.open("/proc/thread-self/schedstat")
  if not f then return 0 end
  local _, wait = f:read("a"):match("^(%d+) (%d+)")
  f:close()
  return (tonumber(wait) or 0) / 1e9
end

describe("sandbox budget", function()
  local gw
  before_each(function()
    -- an instruction budget too big to matter: only the deadline stops these
    gw = moongate.new { scripts = { dir .. "budget_hogs.lua" },
      config = { lua = { seconds = deadline, instructions = 1000000000000 } } }
  end)

  for _, kind in ipairs { "rep", "concat", "upper", "sort", "gsub", "cat" } do
    it(kind .. " in a loop fails that call within its deadline + 50 ms", function()
      local w0, t0 = waited(), socket.gettime()
      gw:push { metrics = { { name = "hog_" .. kind, value = 1, labels = { [kind] = "1" } } } }
      local took, wait = socket.gettime() - t0, waited() - w0
      local running = took > 0 and 1 - wait / took or 1
      assert.is_true((took - deadline) * running < 0.05 * scale,
        string.format("%s took %.1f ms (%.1f ms of it waiting for a CPU) against a %.0f ms deadline",
          kind, took * 1000, wait * 1000, deadline * 1000))
      local text = gw:expose()
      assert.are.equal(1, value(text, 'moongate_samples_dropped_total{reason="script_error"}'))
      -- the next series is served
      gw:push { metrics = { { name = "after_" .. kind, value = 2 } } }
      assert.are.equal(2, value(gw:expose(), "after_" .. kind))
    end)
  end

  it("a result bigger than the memory cap is refused before any work", function()
    local t0 = socket.gettime()
    gw:push { metrics = { { name = "huge", value = 1, labels = { huge = "1" } } } }
    assert.is_true(socket.gettime() - t0 < 0.05 * scale)
    assert.are.equal(1, value(gw:expose(), 'moongate_samples_dropped_total{reason="script_error"}'))
  end)
end)
