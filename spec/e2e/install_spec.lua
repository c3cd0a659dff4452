-- `cmake --install` lays out a usable system: the daemon runs, the module
-- loads from Lua 5.4's C module directory, the default scripts and rules,
-- the man pages render, and the systemd unit is valid and hardened.
local gw = require "support.gateway"

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return rc, out:gsub("rc=%d+%s*$", "")
end

local function exists(p) return gw.read_file(p) ~= nil end

local function have(tool)
  return run("command -v " .. tool .. " >/dev/null") == 0
end

describe("cmake --install", function()
  local prefix, cmod

  setup(function()
    prefix = gw.tmpdir()
    local rc, out = run("env -u LD_PRELOAD cmake --install " .. gw.quote(gw.build) .. " --prefix " .. gw.quote(prefix))
    assert.are.equal(0, rc, out)
    -- where the module went: the cache says (pkg-config's INSTALL_CMOD
    -- relative to its prefix, else lib/lua/5.4)
    local cache = gw.read_file(gw.build .. "/CMakeCache.txt")
    cmod = prefix .. "/" .. cache:match("MG_INSTALL_CMOD:STRING=([^\n]+)")
  end)

  teardown(function()
    if prefix then os.execute("rm -rf " .. gw.quote(prefix)) end
  end)

  it("puts the module where pkg-config's INSTALL_CMOD says, below the prefix", function()
    local rc, abs = run("pkg-config --variable=INSTALL_CMOD lua5.4")
    local want = "lib/lua/5.4"
    if rc == 0 and abs:match("^/usr/") then want = abs:gsub("^/usr/", ""):gsub("%s+$", "") end
    assert.are.equal(prefix .. "/" .. want, cmod)
    assert.is_true(exists(cmod .. "/moongate.so"))
  end)

  it("installs a daemon that runs", function()
    local rc, out = run(gw.quote(prefix .. "/bin/moongate") .. " version")
    assert.are.equal(0, rc, out)
    assert.truthy(out:match("^moongate %d+%.%d+"), out)
  end)

  it("installs a module that Lua 5.4 loads", function()
    local code = ("package.cpath = %q .. package.cpath; local m = require 'moongate'; "
      .. "local g = m.new{}; local a = g:push{metrics={{name='up',value=1}}}; io.write(a)")
      :format(cmod .. "/?.so;")
    local rc, out = run("cd / && lua5.4 -e " .. gw.quote(code))
    assert.are.equal(0, rc, out)
    assert.are.equal("1", out)
  end)

  it("installs the default scripts and rules, which check", function()
    local share = prefix .. "/share/moongate"
    for _, f in ipairs({ "scripts/10-workspaces.lua", "scripts/20-status-classes.lua",
                         "scripts/30-units.lua", "rules/10-gateway.lua" }) do
      assert.is_true(exists(share .. "/" .. f), f)
    end
    local rc, out = run(gw.quote(prefix .. "/bin/moongate") .. " check --scripts "
      .. gw.quote(share .. "/scripts") .. " --rules " .. gw.quote(share .. "/rules"))
    assert.are.equal(0, rc, out)
  end)

  it("installs man pages that render without warnings", function()
    for _, page in ipairs({ "man1/moongate.1", "man7/moongate-lua.7" }) do
      local path = prefix .. "/share/man/" .. page
      assert.is_true(exists(path), page)
      local rc, out = run("env -u LD_PRELOAD groff -man -Tutf8 -ww -z " .. gw.quote(path))
      assert.are.equal(0, rc, out)
      assert.are.equal("", out)
      local _, text = run("env -u LD_PRELOAD groff -man -Tutf8 " .. gw.quote(path))
      text = text:gsub("\27%[[%d;]*m", ""):gsub(".\8", "")   -- bold and underline
      assert.truthy(text:find("NAME", 1, true) and text:find("SEE ALSO", 1, true), page)
    end
  end)

  it("installs a systemd unit that verifies and is hardened", function()
    local unit = prefix .. "/lib/systemd/system/moongate.service"
    local text = assert(gw.read_file(unit), "no unit installed")
    local keys = {}
    for k, v in text:gmatch("\n([%w]+)=([^\n]*)") do keys[k] = v end
    assert.are.equal(prefix .. "/bin/moongate --config /etc/moongate/moongate.conf.lua --data-dir /var/lib/moongate",
                     keys.ExecStart)
    assert.are.equal("/bin/kill -HUP $MAINPID", keys.ExecReload)
    local want = { DynamicUser = "yes", ProtectSystem = "strict", ProtectHome = "yes",
                   PrivateTmp = "yes", NoNewPrivileges = "yes", StateDirectory = "moongate",
                   CapabilityBoundingSet = "", RestrictAddressFamilies = "AF_INET AF_INET6 AF_UNIX",
                   SystemCallFilter = "@system-service", LimitNOFILE = "65536",
                   MemoryDenyWriteExecute = "no" }
    for k, v in pairs(want) do assert.are.equal(v, keys[k], k) end
    -- systemd's own check, where systemd-analyze is on the machine; the
    -- parse above holds either way
    if have("systemd-analyze") then
      local rc, out = run("env -u LD_PRELOAD systemd-analyze verify --man=no " .. gw.quote(unit))
      assert.are.equal(0, rc, out)
      assert.is_nil(out:find("Unknown", 1, true), out)
    end
  end)
end)
