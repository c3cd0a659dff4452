-- Logs on stderr: logfmt by default, JSON with --log-format json, one
-- object a line with ts, level, msg and the fields of the event.
local gw = require "support.gateway"
local json = require "cjson"

describe("logs", function()
  it("--log-format json writes one JSON object a line", function()
    local dir = gw.tmpdir()
    local log = dir .. "/stderr.log"
    gw.sh(gw.bin .. " --log-format json --http 127.0.0.1:0 --ingest 127.0.0.1:0 2>" .. log
          .. " & echo $! > " .. dir .. "/pid")
    local pid = gw.read_file(dir .. "/pid"):match("%d+")
    local g = setmetatable({ pid = pid, dir = dir }, { __index = gw.gateway })
    gw.wait_for(function() return (gw.read_file(log) or ""):find('"msg":"ready"', 1, true) end, 10, "ready")
    local lines = {}
    for line in gw.read_file(log):gmatch("[^\n]+") do
      lines[#lines + 1] = json.decode(line)
    end
    assert.is_true(#lines >= 4)
    local http
    for _, l in ipairs(lines) do
      assert.is_string(l.ts)
      assert.truthy(l.ts:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"))
      assert.are.equal("info", l.level)
      if l.msg == "listening" and l.transport == "http" then http = l.addr end
    end
    assert.truthy(http and http:match("^127%.0%.0%.1:%d+$"))
    g:stop()
  end)

  it("logfmt quotes values that need it", function()
    local g = gw.start({ "--ingest", "unix:" .. gw.tmpdir() .. "/a b.sock" })
    local log = gw.read_file(g.log)
    assert.truthy(log:find('transport=unix addr="unix:/tmp/', 1, true), log)
    g:stop()
  end)
end)
