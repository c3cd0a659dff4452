-- `require "moongate"` must load the C module even where the working
-- directory holds moongate's config. Lua's package.path has ./?.lua before
-- any C path, so a config named moongate.lua would be what require returns:
-- configs are named moongate.conf.lua, and none in the repository is
-- named moongate.lua.
local gw = require "support.gateway"

local function require_in(dir)
  local cpath = gw.build .. "/gateway/?.so"
  if cpath:sub(1, 1) ~= "/" then cpath = gw.root .. "/" .. cpath end
  local code = 'package.cpath = ' .. ("%q"):format(cpath .. ";") .. ' .. package.cpath; '
    .. 'local m = require "moongate"; '
    .. 'io.write(type(m) == "table" and type(m.new) == "function" and "module" or "config")'
  local p = io.popen("cd " .. gw.quote(dir) .. " && lua5.4 -e " .. gw.quote(code) .. " 2>&1")
  local out = p:read("*a")
  p:close()
  return out
end

describe("require \"moongate\"", function()
  local dir
  before_each(function() dir = gw.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. gw.quote(dir)) end)

  it("gets the C module from a directory holding moongate.conf.lua", function()
    gw.write_file(dir .. "/moongate.conf.lua", 'return { http = "127.0.0.1:9477" }\n')
    assert.are.equal("module", require_in(dir))
  end)

  it("would get the config were it named moongate.lua (why the name matters)", function()
    gw.write_file(dir .. "/moongate.lua", 'return { http = "127.0.0.1:9477" }\n')
    assert.are.equal("config", require_in(dir))
  end)

  it("finds no config named moongate.lua in the repository", function()
    local p = io.popen("cd " .. gw.quote(gw.root) .. " && git ls-files 2>/dev/null | grep -E '(^|/)moongate\\.lua$'")
    local found = p:read("*a")
    p:close()
    assert.are.equal("", found)
  end)
end)
