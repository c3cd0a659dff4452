-- The pipeline sets a family's HELP (docs/lua.md, HELP): s.help in a
-- transform, help { metric = RE, text = ... }. It wins over any HELP a
-- producer pushes, whichever came first, survives a later push with other
-- HELP, follows a reload, and gives the pushed HELP back when the scripts
-- stop setting one. Against a real daemon, in both exposition formats.
local gw = require "support.gateway"

local quote = gw.quote
-- A scripts dir holding pipeline.lua = src; returns the dir and the path.
local scripts_dir = gw.scripts_dir

local function replace(path, src)
  gw.write_file(path .. ".new", src)
  assert(os.rename(path .. ".new", path))
end

local function reload(g)
  local code, body = gw.http_request("POST", g.url .. "/-/reload", "", { ["content-length"] = "0" })
  assert.are.equal(200, code, body)
end

-- One counter from a producer of version ver, pushing its own HELP.
local function push(g, name, ver, help)
  local code, r = g:push_http { source = { job = "agent", version = ver }, metrics = {
    { name = name, type = "counter", value = 1, help = help } } }
  assert.are.equal(200, code)
  assert.are.equal(1, r.accepted, require("cjson").encode(r))
end

-- The HELP line of family name in a scrape (OpenMetrics names a counter's
-- family without _total).
local function help_of(body, name)
  return body:match("\n# HELP " .. name:gsub("%p", "%%%0") .. " ([^\n]*)")
      or body:match("^# HELP " .. name:gsub("%p", "%%%0") .. " ([^\n]*)")
end

local OM = { accept = "application/openmetrics-text; version=1.0.0" }

local TRANSFORM = [[
transform(function(s)
  if s.name == "agent_requests_total" then s.help = "Requests the agent served." end
  return s
end)
]]

local HELP_RULE = [[
help { metric = "agent_.*_total", text = "Counted by agents, any version." }
]]

describe("HELP from the pipeline", function()
  local g

  after_each(function()
    if g then g:stop() end
    g = nil
    gw.cleanup_dirs()
  end)

  for _, case in ipairs {
    { what = "s.help in a transform", src = TRANSFORM, name = "agent_requests_total",
      want = "Requests the agent served." },
    { what = "help{}", src = HELP_RULE, name = "agent_errors_total",
      want = "Counted by agents, any version." },
  } do
    for _, order in ipairs { { "v1", "v2" }, { "v2", "v1" } } do
      it(case.what .. " wins over pushed HELP, " .. order[1] .. " pushing first", function()
        local dir = scripts_dir(case.src)
        g = gw.start { "--scripts", dir }
        push(g, case.name, order[1], "HELP of " .. order[1])
        push(g, case.name, order[2], "HELP of " .. order[2])
        local body = g:scrape()
        assert.are.equal(case.want, help_of(body, case.name), body)
        local om = g:scrape(OM)
        assert.are.equal(case.want, help_of(om, case.name:gsub("_total$", "")), om)
        -- a known series pushing yet another HELP changes nothing
        push(g, case.name, order[1], "HELP of a v3")
        assert.are.equal(case.want, help_of(g:scrape(), case.name))
      end)
    end
  end

  it("a family the scripts do not name keeps the first pushed HELP", function()
    local dir = scripts_dir(HELP_RULE)
    g = gw.start { "--scripts", dir }
    push(g, "other_total", "v1", "first")
    push(g, "other_total", "v2", "second")
    assert.are.equal("first", help_of(g:scrape(), "other_total"))
  end)

  it("a reload gives families the new scripts' HELP, and the pushed one back when they stop", function()
    local dir, path = scripts_dir("-- no HELP yet\n")
    g = gw.start { "--scripts", dir, "--enable-lifecycle" }
    push(g, "agent_requests_total", "v1", "pushed by v1")
    push(g, "agent_requests_total", "v2", "pushed by v2")
    assert.are.equal("pushed by v1", help_of(g:scrape(), "agent_requests_total"))

    replace(path, TRANSFORM)
    reload(g)
    assert.are.equal("Requests the agent served.", help_of(g:scrape(), "agent_requests_total"))

    replace(path, HELP_RULE)
    reload(g)
    assert.are.equal("Counted by agents, any version.", help_of(g:scrape(), "agent_requests_total"))
    -- a new producer version pushing its own HELP after the reload
    push(g, "agent_requests_total", "v3", "pushed by v3")
    assert.are.equal("Counted by agents, any version.", help_of(g:scrape(), "agent_requests_total"))

    replace(path, "-- HELP no longer set\n")
    reload(g)
    assert.are.equal("pushed by v1", help_of(g:scrape(), "agent_requests_total"))
  end)

  it("a restart from a snapshot keeps the scripts' HELP over the pushed one, which it keeps too", function()
    local dir, path = scripts_dir(TRANSFORM)
    local data = gw.scratch_dir()
    g = gw.start { "--scripts", dir, "--data-dir", data }
    push(g, "agent_requests_total", "v1", "pushed by v1")
    assert.are.equal("Requests the agent served.", help_of(g:scrape(), "agent_requests_total"))
    g:stop()
    g = gw.start { "--scripts", dir, "--data-dir", data }
    assert.are.equal("Requests the agent served.", help_of(g:scrape(), "agent_requests_total"))
    g:stop()
    replace(path, "-- HELP no longer set\n")
    g = gw.start { "--scripts", dir, "--data-dir", data }
    assert.are.equal("pushed by v1", help_of(g:scrape(), "agent_requests_total"))
  end)

  it("moongate check refuses a bad help{} and a bad s.help is a script error", function()
    local dir, path = scripts_dir('help { metric = "agent_.*", text = 7 }\n')
    local d = gw.scratch_dir()
    local code = gw.sh(quote(gw.bin) .. " check " .. quote(path) .. " 2>" .. d .. "/err")
    assert.are_not.equal(0, code)
    assert.is_truthy(gw.read_file(d .. "/err"):find("help: text must be a string", 1, true))
    replace(path, 'help { metric = "agent_.*", text = "ok", colour = "red" }\n')
    code = gw.sh(quote(gw.bin) .. " check " .. quote(path) .. " 2>" .. d .. "/err")
    assert.are_not.equal(0, code)
    assert.is_truthy(gw.read_file(d .. "/err"):find("colour", 1, true))
    replace(path, 'help { metric = "agent_.*", text = "ok" }\n')
    assert.are.equal(0, gw.sh(quote(gw.bin) .. " check " .. quote(path) .. " >/dev/null 2>&1"))

    replace(path, "transform(function(s) s.help = 42; return s end)\n")
    g = gw.start { "--scripts", dir }
    local _, r = g:push_http { metrics = { { name = "x_total", type = "counter", value = 1 } } }
    assert.are.equal(1, r.dropped)
    assert.is_truthy(g:value('moongate_samples_dropped_total{reason="script_error"}') >= 1)
    assert.is_truthy(gw.read_file(g.log):find("help must be a string", 1, true))
  end)
end)
