-- print in a script goes to the gateway's log, rate-limited, and never to
-- stdout: a daemon whose stdout is a pipe nobody reads keeps serving.
local gw = require "support.gateway"
local socket = require "socket"

local quote = gw.quote
local SCRIPT = [[
transform(function(s)
  print("new series", s.name, string.rep("=", 200))
  return s
end)
]]

-- Starts the daemon with --scripts dir and stdout into a pipe to a sleep
-- that never reads it; returns the gateway and the sleep's pid.
local function start_unread_stdout(dir)
  local g = { dir = gw.tmpdir() }
  g.log = g.dir .. "/stderr.log"
  local cmd = { gw.bin, "--http", "127.0.0.1:0", "--scripts", dir }
  for i, a in ipairs(cmd) do cmd[i] = quote(a) end
  local pid, spid = quote(g.dir .. "/pid"), quote(g.dir .. "/sleep.pid")
  assert(gw.sh("sh -c " .. quote("echo $$ > " .. pid .. "; exec " .. table.concat(cmd, " ")
    .. " 2>" .. quote(g.log)) .. " | sh -c " .. quote("echo $$ > " .. spid .. "; exec sleep 60")
    .. " >/dev/null &") == 0)
  gw.wait_for(function()
    local log = gw.read_file(g.log) or ""
    return log:match("transport=http addr=(%S+)")
  end, 10, "moongate to log its address")
  g.pid = gw.read_file(g.dir .. "/pid"):match("%d+")
  g.sleep_pid = gw.wait_for(function()
    return (gw.read_file(g.dir .. "/sleep.pid") or ""):match("%d+")
  end, 10, "the reader to start")
  g.url = "http://" .. gw.read_file(g.log):match("transport=http addr=(%S+)")
  gw.wait_for(function() return gw.http_request("GET", g.url .. "/-/ready") == 200 end, 10, "/-/ready")
  return setmetatable(g, { __index = gw.gateway })
end

-- Runs fn, and fails unless it finishes within a second.
local function within_1s(what, fn)
  local t0 = socket.gettime()
  local r = fn()
  local took = socket.gettime() - t0
  assert.is_true(took < 1, string.format("%s took %.2f s", what, took))
  return r
end

describe("print in a script", function()
  local g, dir, path
  setup(function()
    dir = gw.tmpdir()
    assert(gw.sh("mkdir " .. quote(dir .. "/scripts")) == 0)
    path = dir .. "/scripts/print.lua"
    gw.write_file(path, SCRIPT)
    g = start_unread_stdout(dir .. "/scripts")
  end)
  teardown(function()
    if g then
      g:stop()
      gw.sh("kill " .. g.sleep_pid .. " 2>/dev/null")
    end
    gw.sh("rm -rf " .. quote(dir))
  end)

  it("never blocks the daemon when stdout is a pipe nobody reads", function()
    -- 40 x 200 new series, each printing a 230-byte line: 1.8 MB, far past
    -- the 64 KiB a pipe holds
    for batch = 1, 40 do
      local metrics = {}
      for i = 1, 200 do
        metrics[i] = { name = "printed_total", value = i, labels = { b = tostring(batch), i = tostring(i) } }
      end
      local code = within_1s("push " .. batch, function() return (g:push_http { metrics = metrics }) end)
      assert.are.equal(200, code)
      assert.are.equal(200, within_1s("/-/ready", function()
        return (gw.http_request("GET", g.url .. "/-/ready"))
      end))
    end
    local _, series = g:scrape():gsub("\nprinted_total{", "")
    assert.are.equal(8000, series)
  end)

  it("writes printed text to the log with the script's file, rate-limited", function()
    local log = gw.read_file(g.log)
    local line = log:match('[^\n]*msg="script print"[^\n]*')
    assert.truthy(line, log:sub(1, 2000))
    assert.truthy(line:find("file=" .. path .. " line=2 ", 1, true), line)
    assert.truthy(line:find('text="new series\tprinted_total\t' .. string.rep("=", 200) .. '"', 1, true), line)
    local _, printed = log:gsub('msg="script print"', "")
    assert.is_true(printed < 8000 / 2, "printed " .. printed .. " lines")
    -- the next print after the second is up reports how many were held back
    local n = 0
    local suppressed = gw.wait_for(function()
      n = n + 1
      g:push_http { metrics = { { name = "late_total", value = 1, labels = { n = tostring(n) } } } }
      return gw.read_file(g.log):match('msg="script print lines suppressed" suppressed=(%d+)')
    end, 5, "the suppressed count")
    assert.is_true(tonumber(suppressed) > 0)
  end)
end)
