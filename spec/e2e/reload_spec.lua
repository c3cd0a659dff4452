-- Reloading pipeline scripts against a real daemon (docs/lua.md, Reload):
-- POST /-/reload and SIGHUP re-route live series at once, a bad set leaves
-- the old one in place and drops moongate_config_last_reload_successful to
-- 0; a broken scripts dir stops start-up; `moongate check`; a transform
-- that fails for some series drops only those.
local gw = require "support.gateway"

local FIX = gw.root .. "/spec/e2e/fixtures/reload/"

local OK_NAME = "moongate_config_last_reload_successful"
local TS_NAME = "moongate_config_last_reload_success_timestamp_seconds"

local function fixture(name)
  return assert(gw.read_file(FIX .. name), "missing fixture " .. name)
end

local quote = gw.quote

-- Temp dirs made by a test, removed after it.
local tmpdir = gw.scratch_dir

-- A fresh scripts dir holding pipeline.lua = the fixture; returns the dir
-- and the file's path.
local function scripts_dir(name)
  return gw.scripts_dir(fixture(name))
end

-- Replaces the file at path by the fixture the way an editor or a
-- deployment would: written aside (not *.lua, so never loaded half-written),
-- then renamed over it.
local function replace(path, name)
  gw.write_file(path .. ".new", fixture(name))
  assert(os.rename(path .. ".new", path))
end

local BIN = gw.bin_abs

-- Runs the moongate binary directly (in cwd when given), bounded by
-- timeout(1) so that a daemon that fails to exit cannot hang the spec (and
-- is killed). Returns the exit status, stdout and stderr.
local function run(args, cwd)
  local d = tmpdir()
  local cmd = { "timeout", "5", quote(BIN) }
  for _, a in ipairs(args) do cmd[#cmd + 1] = quote(a) end
  local line = table.concat(cmd, " ") .. " >" .. d .. "/out 2>" .. d .. "/err"
  if cwd then line = "cd " .. quote(cwd) .. " && " .. line end
  local code = gw.sh(line)
  return code, gw.read_file(d .. "/out") or "", gw.read_file(d .. "/err") or ""
end

-- `moongate check` on fixtures, named relative to their dir: the messages
-- then do not depend on where the tree is checked out (paths past 60 bytes
-- have their own test below).
local function check(...)
  return run({ "check", ... }, FIX)
end

local function post_reload(g)
  return gw.http_request("POST", g.url .. "/-/reload", "", { ["content-length"] = "0" })
end

-- One counter sample per workspace, as a workspace agent would push it.
local function push_ws(g, ws, value)
  local code, r = g:push_http { source = { job = "agent", workspace_id = ws }, metrics = {
    { name = "requests_total", type = "counter", value = value, labels = { status = "200" } } } }
  assert.are.equal(200, code)
  assert.are.equal(1, r.accepted)
  return r
end

local AGG = 'requests_total{job="agent",status="200"}'
local function per_ws(ws)
  return 'requests_total{job="agent",status="2xx",workspace_id="' .. ws .. '"}'
end

-- requests_total sample lines of a scrape.
local function requests_lines(body)
  local t = {}
  for line in body:gmatch("[^\n]+") do
    if line:match("^requests_total[{ ]") then t[#t + 1] = line end
  end
  return t
end

local function assert_aggregate_only(body, total)
  assert.are.equal(total, gw.value(body, AGG))
  assert.are.same({ AGG .. " " .. total }, requests_lines(body))
end

describe("reload", function()
  local g

  after_each(function()
    if g then g:stop() end
    g = nil
    gw.cleanup_dirs()
  end)

  it("a labeldrop of workspace_id: the scrape shows the aggregate", function()
    local dir = scripts_dir("drop_workspace.lua")
    g = gw.start { "--scripts", dir, "--enable-lifecycle" }
    push_ws(g, "ws-1", 1)
    push_ws(g, "ws-2", 2)
    push_ws(g, "ws-3", 4)
    local body = g:scrape()
    assert_aggregate_only(body, 7)
    assert.are.equal(1, gw.value(body, OK_NAME))
  end)

  it("POST /-/reload: the very next scrape re-routes live series by the new rules", function()
    local dir, path = scripts_dir("drop_workspace.lua")
    g = gw.start { "--scripts", dir, "--enable-lifecycle" }
    push_ws(g, "ws-1", 1)
    push_ws(g, "ws-2", 2)
    push_ws(g, "ws-3", 4)
    local before = g:scrape()
    assert_aggregate_only(before, 7)
    local ts0 = gw.value(before, TS_NAME)
    assert.is_number(ts0)

    replace(path, "status_class.lua")
    local code, body = post_reload(g)
    assert.are.equal(200, code, body)

    -- no new push: the live inputs moved to their new outputs
    local after = g:scrape()
    assert.are.equal(1, gw.value(after, per_ws("ws-1")))
    assert.are.equal(2, gw.value(after, per_ws("ws-2")))
    assert.are.equal(4, gw.value(after, per_ws("ws-3")))
    assert.are.equal(3, #requests_lines(after), table.concat(requests_lines(after), "\n"))
    assert.is_nil(gw.value(after, AGG))
    assert.are.equal(1, gw.value(after, OK_NAME))
    assert.is_true(gw.value(after, TS_NAME) > ts0)

    -- and new pushes follow the new rules too
    push_ws(g, "ws-4", 8)
    assert.are.equal(8, g:value(per_ws("ws-4")))
  end)

  for _, bad in ipairs {
    { what = "a syntax error", file = "bad_syntax.lua", line = 4, says = "'}' expected" },
    { what = "hashmod without modulus", file = "bad_hashmod.lua", line = 4, says = "modulus" },
  } do
    it("POST /-/reload with " .. bad.what .. ": 500 naming file:line, the old rules stay, a fix restores", function()
      local dir, path = scripts_dir("drop_workspace.lua")
      g = gw.start { "--scripts", dir, "--enable-lifecycle" }
      push_ws(g, "ws-1", 1)
      push_ws(g, "ws-2", 2)
      local ts0 = g:value(TS_NAME)

      replace(path, bad.file)
      local code, body = post_reload(g)
      assert.are.equal(500, code)
      assert.is_truthy(body:find(path .. ":" .. bad.line .. ":", 1, true), body)
      assert.is_truthy(body:find(bad.says, 1, true), body)

      local scrape = g:scrape()
      assert.are.equal(0, gw.value(scrape, OK_NAME))
      assert.are.equal(ts0, gw.value(scrape, TS_NAME))
      assert_aggregate_only(scrape, 3)
      -- a new workspace still goes through the old labeldrop
      push_ws(g, "ws-3", 4)
      assert_aggregate_only(g:scrape(), 7)

      replace(path, "status_class.lua")
      code, body = post_reload(g)
      assert.are.equal(200, code, body)
      scrape = g:scrape()
      assert.are.equal(1, gw.value(scrape, OK_NAME))
      assert.is_true(gw.value(scrape, TS_NAME) > ts0)
      assert.are.equal(1, gw.value(scrape, per_ws("ws-1")))
      assert.are.equal(4, gw.value(scrape, per_ws("ws-3")))
    end)
  end

  it("POST /-/reload is all files or none: a good change beside a bad file applies nothing", function()
    local dir, path = scripts_dir("drop_workspace.lua")
    local second = dir .. "/zz_second.lua"
    gw.write_file(second, "-- nothing yet\n")
    g = gw.start { "--scripts", dir, "--enable-lifecycle" }
    push_ws(g, "ws-1", 1)
    push_ws(g, "ws-2", 2)

    replace(path, "status_class.lua")   -- good on its own
    replace(second, "bad_syntax.lua")
    local code, body = post_reload(g)
    assert.are.equal(500, code)
    assert.is_truthy(body:find(second .. ":4:", 1, true), body)
    local scrape = g:scrape()
    assert.are.equal(0, gw.value(scrape, OK_NAME))
    assert_aggregate_only(scrape, 3)   -- neither the status classes nor the workspaces
    push_ws(g, "ws-3", 4)
    assert_aggregate_only(g:scrape(), 7)
  end)

  it("SIGHUP reloads as POST /-/reload does, good and bad", function()
    local dir, path = scripts_dir("drop_workspace.lua")
    g = gw.start { "--scripts", dir, "--enable-lifecycle" }
    push_ws(g, "ws-1", 1)
    push_ws(g, "ws-2", 2)
    local ts0 = g:value(TS_NAME)
    assert_aggregate_only(g:scrape(), 3)

    replace(path, "status_class.lua")
    assert.are.equal(0, gw.sh("kill -HUP " .. g.pid))
    local body = gw.wait_for(function()
      local b = g:scrape()
      return gw.value(b, per_ws("ws-1")) == 1 and b
    end, 5, "SIGHUP to apply the new rules")
    assert.are.equal(2, gw.value(body, per_ws("ws-2")))
    assert.is_nil(gw.value(body, AGG))
    assert.are.equal(1, gw.value(body, OK_NAME))
    local ts1 = gw.value(body, TS_NAME)
    assert.is_true(ts1 > ts0)

    replace(path, "bad_syntax.lua")
    assert.are.equal(0, gw.sh("kill -HUP " .. g.pid))
    body = gw.wait_for(function()
      local b = g:scrape()
      return gw.value(b, OK_NAME) == 0 and b
    end, 5, "SIGHUP with a bad script to fail the reload")
    assert.are.equal(ts1, gw.value(body, TS_NAME))
    local log = gw.read_file(g.log)
    assert.is_truthy(log:find(path .. ":4:", 1, true), log)
    -- the previous (status class) rules stay, for new series too
    push_ws(g, "ws-3", 4)
    assert.are.equal(4, g:value(per_ws("ws-3")))
    assert.are.equal(1, g:value(per_ws("ws-1")))
    assert.is_true(g:alive())
  end)

  it("start-up with a broken scripts dir exits 1 with file:line: message on stderr", function()
    local dir, path = scripts_dir("drop_workspace.lua")
    gw.write_file(dir .. "/20_broken.lua", fixture("check_mixed/20_broken.lua"))
    local code, out, err = run { "--scripts", dir, "--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0" }
    assert.are.equal(1, code, err)
    assert.are.equal("", out)
    local first = err:match("[^\n]*")
    assert.is_truthy(first:find("^" .. (dir .. "/20_broken.lua:4: "):gsub("%p", "%%%0")), err)
    assert.is_truthy(first:find("'}' expected", 1, true), err)
    assert.is_nil(err:find("msg=ready", 1, true), err)
    assert.is_nil(err:find(path, 1, true), err)
  end)

  describe("moongate check", function()
    it("a good file: exit 0", function()
      local code, out, err = check("status_class.lua")
      assert.are.equal(0, code, err)
      assert.are.equal("", err)
      assert.is_truthy(out:find("OK", 1, true), out)
    end)

    it("several good files: exit 0", function()
      local code, _, err = check("drop_workspace.lua", "status_class.lua", "transform_error.lua")
      assert.are.equal(0, code, err)
      assert.are.equal("", err)
    end)

    it("a dir with one bad file among good ones: exit 1, file:line: for the bad one only", function()
      local code, _, err = check("check_mixed")
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find("check_mixed/20_broken.lua:4: ", 1, true), err)
      assert.is_nil(err:find("10_drop_workspace", 1, true), err)
      assert.is_nil(err:find("30_status_class", 1, true), err)
    end)

    it("a relabel config Prometheus refuses: exit 1 with file:line:", function()
      local code, _, err = check("bad_hashmod.lua")
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find("bad_hashmod.lua:4: ", 1, true), err)
      assert.is_truthy(err:find("modulus", 1, true), err)
    end)

    it("io.open at load time: exit 1 naming file:line and io", function()
      local code, _, err = check("io_at_load.lua")
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find("io_at_load.lua:3: ", 1, true), err)
      assert.is_truthy(err:find("io is not available in moongate scripts", 1, true), err)
    end)

    -- one `it` per escape: each is refused while the file loads
    for _, esc in ipairs {
      { code = 'os.execute("true")', names = "execute" },
      { code = 'require("os")', names = "require" },
      { code = 'dofile("/etc/passwd")', names = "dofile" },
      { code = 'loadfile("/etc/passwd")', names = "loadfile" },
      { code = 'string.dump(print)', names = "dump" },
      { code = 'debug.getregistry()', names = "debug" },
      { code = 'assert(load(string.char(27) .. "Lua"))', names = "binary" },
    } do
      it("refused at load time: " .. esc.code, function()
        local path = tmpdir() .. "/escape.lua"
        gw.write_file(path, "-- tries an escape on line 2\n" .. esc.code .. "\n")
        local code, _, err = run { "check", path }
        assert.are.equal(1, code, err)
        assert.is_truthy(err:find(path .. ":2: ", 1, true), err)
        assert.is_truthy(err:find(esc.names, 1, true), err)
      end)
    end

    -- Lua shortens chunk names past LUA_IDSIZE (60) to "...<tail>"; an
    -- error must still name the whole file (e.g. a ConfigMap mounted under
    -- /var/lib/kubelet/pods/<uid>/volumes/...).
    it("a path longer than 60 bytes is named whole, by check and at start-up", function()
      local dir = tmpdir() .. "/a-deployment-directory/mounted/deep/enough/scripts"
      assert(gw.sh("mkdir -p " .. quote(dir)) == 0)
      local path = dir .. "/bad_syntax.lua"
      assert.is_true(#path > 60)
      gw.write_file(path, fixture("bad_syntax.lua"))
      local code, _, err = run { "check", path }
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find(path .. ":4: ", 1, true), err)
      code, _, err = run { "--scripts", dir, "--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0" }
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find(path .. ":4: ", 1, true), err)
    end)

    -- Which DSL a file speaks is said by the flag before it, never guessed
    -- from the text of its errors.
    it("--rules: rule files load as rules, and only after it", function()
      local code, out, err = check("status_class.lua", "--rules", "rules_good.lua")
      assert.are.equal(0, code, err)
      assert.are.equal("", err)
      assert.is_truthy(out:find("2 path(s) OK", 1, true), out)
      code, _, err = check("rules_good.lua")
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find("rules_good.lua:2: ", 1, true), err)
      code, _, err = check("--rules", "status_class.lua")
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find("status_class.lua:", 1, true), err)
      code, _, err = check("--rules", "rules_bad_field.lua")
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find("rules_bad_field.lua:2: record job:up:sum: unknown key 'bogus'", 1, true), err)
      code, _, err = check("--bogus", "status_class.lua")
      assert.are.equal(2, code, err)
    end)

    it("a rules file under a path longer than 60 bytes is named whole, by check and at start-up", function()
      local dir = tmpdir() .. "/a-deployment-directory/mounted/deep/enough/rules"
      assert(gw.sh("mkdir -p " .. quote(dir)) == 0)
      local path = dir .. "/rules_bad_field.lua"
      assert.is_true(#path > 60)
      gw.write_file(path, fixture("rules_bad_field.lua"))
      local code, _, err = run { "check", "--rules", path }
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find(path .. ":2: ", 1, true), err)
      code, _, err = run { "--rules", dir, "--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0" }
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find(path .. ":2: ", 1, true), err)
    end)

    -- every DSL table's keys go through one check (mg_lua_check_keys)
    it("a DSL table with a key that is not a field name: exit 1 naming the key's type", function()
      local path = tmpdir() .. "/numeric_key.lua"
      gw.write_file(path, 'drop { name = "x", [1] = "y" }\n')
      local code, _, err = run { "check", path }
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find(path .. ":1: drop: field names must be strings, got number", 1, true), err)
      gw.write_file(path, 'cap { metric = "x", max_series = 5, [true] = 1 }\n')
      code, _, err = run { "check", path }
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find(path .. ":1: cap: field names must be strings, got boolean", 1, true), err)
    end)

    it("a non-existent path: exit 1 naming it", function()
      local path = tmpdir() .. "/no/such/file.lua"
      local code, _, err = run { "check", path }
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find(path, 1, true), err)
    end)

    it("a non-existent path among good ones: still exit 1", function()
      local code, _, err = check("status_class.lua", "no_such_dir")
      assert.are.equal(1, code, err)
      assert.is_truthy(err:find("no_such_dir", 1, true), err)
    end)
  end)

  it("a transform that errors for some series drops those; the rest pass and the gateway serves on", function()
    local dir, path = scripts_dir("transform_error.lua")
    g = gw.start { "--scripts", dir, "--enable-lifecycle" }
    local failing = { "boom", "nilidx", "badret", "spin" }
    local function push_all(v)
      local metrics = { { name = "work_items", type = "gauge", value = v, labels = { kind = "ok" } } }
      for _, l in ipairs(failing) do
        metrics[#metrics + 1] = { name = "work_items", type = "gauge", value = v,
                                  labels = { kind = l, [l] = "1" } }
      end
      local code, r = g:push_http { source = { job = "agent" }, metrics = metrics }
      assert.are.equal(200, code)
      return r
    end

    local r = push_all(1)
    assert.are.equal(1 + #failing, r.accepted)
    assert.are.equal(0, r.rejected)
    assert.are.equal(#failing, r.dropped)
    local body = g:scrape()
    assert.are.equal(1, gw.value(body, 'work_items{job="agent",kind="ok"}'))
    for _, l in ipairs(failing) do
      assert.is_nil(body:find('kind="' .. l .. '"', 1, true), l)
    end
    assert.are.equal(#failing, gw.value(body, 'moongate_samples_dropped_total{reason="script_error"}'))
    assert.are.equal(#failing, gw.value(body, 'moongate_script_errors_total{file="' .. path .. '"}'))

    -- the same series again: dropped again, the good one updated
    r = push_all(2)
    assert.are.equal(#failing, r.dropped)
    body = g:scrape()
    assert.are.equal(2, gw.value(body, 'work_items{job="agent",kind="ok"}'))
    assert.are.equal(2 * #failing, gw.value(body, 'moongate_samples_dropped_total{reason="script_error"}'))

    -- still serving: health, readiness, a new series
    assert.are.equal(200, (gw.http_request("GET", g.url .. "/-/healthy")))
    assert.are.equal(200, (gw.http_request("GET", g.url .. "/-/ready")))
    local code = g:push_http { metrics = { { name = "after_errors", type = "gauge", value = 5 } } }
    assert.are.equal(200, code)
    assert.are.equal(5, g:value("after_errors"))
    assert.is_true(g:alive())
  end)

  it("series a failing transform dropped come back when a reload fixes the script", function()
    local dir, path = scripts_dir("transform_error.lua")
    g = gw.start { "--scripts", dir, "--enable-lifecycle" }
    local function push_boom(v)
      local code, r = g:push_http { source = { job = "agent" }, metrics = {
        { name = "jobs_total", type = "counter", value = v, labels = { boom = "1" } } } }
      assert.are.equal(200, code)
      return r
    end
    assert.are.equal(1, push_boom(3).dropped)
    local series = 'jobs_total{boom="1",job="agent"}'
    assert.is_nil(g:value(series))

    replace(path, "status_class.lua")
    local code, body = post_reload(g)
    assert.are.equal(200, code, body)
    -- the live input is re-routed at once, with the value it was last sent
    assert.are.equal(3, g:value(series))
    assert.are.equal(0, push_boom(5).dropped)
    assert.are.equal(5, g:value(series))
  end)
end)
