-- `moongate check` on a scripts dir with many mistakes: every error of
-- every file, each as file:line: message at the entry's own line, and the
-- relabel trap warnings; --strict fails on warnings (docs/lua.md, Error
-- messages).
local gw = require "support.gateway"

local FIX = gw.root .. "/spec/e2e/fixtures/errors"
local quote = gw.quote

local BIN = gw.bin_abs

-- moongate check args, run in the fixtures' dir under timeout(1): the exit
-- status and stderr's lines.
local function check(...)
  local d = gw.tmpdir()
  local cmd = { "cd", quote(FIX), "&&", "timeout", "5", quote(BIN), "check" }
  for _, a in ipairs { ... } do cmd[#cmd + 1] = quote(a) end
  local code = gw.sh(table.concat(cmd, " ") .. " >" .. d .. "/out 2>" .. d .. "/err")
  local err = gw.read_file(d .. "/err") or ""
  gw.sh("rm -rf " .. quote(d))
  local lines = {}
  for l in err:gmatch("[^\n]+") do
    if not l:find("^ts=") then lines[#lines + 1] = l end
  end
  return code, lines, err
end

describe("moongate check", function()
  it("reports every error of every file at its entry's line, and the warnings", function()
    local code, lines, err = check("10_many.lua", "20_io.lua", "30_traps.lua")
    assert.are.equal(1, code, err)
    assert.are.same({
      "10_many.lua:3: relabel[1]: unknown key 'sourc_labels' (did you mean 'source_labels'?)",
      "10_many.lua:4: relabel[2].regex: \"/api/(v1\": missing closing ): `/api/(v1`",
      "10_many.lua:7: drop: unknown key 'nmae' (did you mean 'name'?)",
      "10_many.lua:8: cap: unknown key 'max_serie' (did you mean 'max_series'?)",
      "20_io.lua:2: io is not available in moongate scripts",
      "30_traps.lua:3: warning: relabel[1]: drop with source_labels and the default "
        .. "regex (.*) matches every value, even a missing label, so it drops every "
        .. "series; set regex (\".+\" matches a label that is set)",
      "30_traps.lua:4: warning: relabel[2]: labeldrop with the default regex (.*) "
        .. "drops every label; set regex to the label names",
    }, lines)
  end)

  it("passes a file with warnings, and fails it under --strict", function()
    local code, lines, err = check("30_traps.lua")
    assert.are.equal(0, code, err)
    assert.are.equal(2, #lines, err)
    code, lines, err = check("--strict", "30_traps.lua")
    assert.are.equal(1, code, err)
    assert.are.equal(2, #lines, err)
  end)
end)
