-- Errors a person can act on, through the module: each DSL entry's own
-- line, the regex as written, every error of a load at once, "did you
-- mean" for a misspelt key, sandbox refusals that name what was removed,
-- checked writes to s in a transform, and warnings for relabel traps.
local moongate = require "moongate"
local value = require("support.exposition").value

local scratch = require "support.scratch"
-- A file with this text; removed after the run.
local function file(text) return scratch.file(text, ".lua") end
teardown(scratch.cleanup)

-- The load error of scripts (paths) and rules, as one string.
local function load_error(scripts, rules, config)
  local ok, err = pcall(moongate.new, { scripts = scripts, rules = rules, config = config })
  assert.is_false(ok, "the load should fail")
  return tostring(err)
end

local function has(s, needle)
  assert.truthy(s:find(needle, 1, true), ("%q not in:\n%s"):format(needle, s))
end

local function lacks(s, needle)
  assert.falsy(s:find(needle, 1, true), ("%q in:\n%s"):format(needle, s))
end

describe("load errors", function()
  it("name the line of the relabel entry, not of the relabel call", function()
    local p = file([[
relabel {
  { source_labels = { "a" }, target_label = "b" },
  -- a comment with a { brace, and a string with one: "{"
  { source_labels = { "a" },
    regex = "(", target_label = "c" },
}
]])
    local err = load_error { p }
    has(err, p .. ":4: relabel[2].regex")
    lacks(err, p .. ":1:")
  end)

  it("quote the regex as written, never the ^(?s:...)$ wrapper", function()
    local p = file([[
relabel { { source_labels = { "a" }, regex = "a)b", target_label = "c" } }
drop { name = "x(" }
]])
    local err = load_error { p }
    has(err, p .. ':1: relabel[1].regex: "a)b": ')
    has(err, p .. ':2: drop: name "x(": ')
    lacks(err, "(?s:")
  end)

  it("are every error of every file, each as file:line: message", function()
    local a = file([[
relabel { { source_labels = { "a" }, target_label = "b", action = "frobnicate" } }
drop { name = "ok" }
cap { metric = "x.*", max_series = -1 }
aggregate { metric = "y", gauge = "median" }
]])
    local b = file('local t = nil\nlocal x = t.field\n')
    local err = load_error { a, b }
    local lines = {}
    for l in err:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal(4, #lines, err)
    has(lines[1], a .. ":1: relabel[1].action: unknown relabel action")
    has(lines[2], a .. ":3: cap")
    has(lines[3], a .. ":4: aggregate: gauge must be")
    has(lines[4], b .. ":2: attempt to index")
  end)

  it("are every error of a rules file, a bad rule name included", function()
    local p = file([[
record "not a name" { expr = function(q) return 1 end }
record "job:ok" { expr = function(q) return 1 end, labels = { ["bad-label"] = "x" } }
alert "" { expr = function(q) return 1 end }
]])
    local err = load_error(nil, { p })
    has(err, p .. ":1: record: not a name is not a valid metric name")
    has(err, p .. ":2: labels: bad-label is not a valid label name")
    has(err, p .. ":3: alert: a name is required")
    lacks(err, "nil value")
  end)

  it("name the DSL function a wrong argument went to", function()
    local p = file('relabel "x"\ntransform(5)\n')
    local err = load_error { p }
    has(err, p .. ":1: bad argument #1 to 'relabel' (table expected, got string)")
    has(err, p .. ":2: bad argument #1 to 'transform' (function expected, got number)")
  end)

  it("say did you mean for a relabel config's key", function()
    local p = file('relabel { { sourc_labels = { "a" }, target_label = "b" } }\n')
    has(load_error { p },
        p .. ":1: relabel[1]: unknown key 'sourc_labels' (did you mean 'source_labels'?)")
  end)

  it("say did you mean for a cap's and a limits' key", function()
    local p = file('cap { metric = "a.*", max_serie = 3 }\nlimits { max_seris = 10 }\n')
    local err = load_error { p }
    has(err, p .. ":1: cap: unknown key 'max_serie' (did you mean 'max_series'?)")
    has(err, p .. ":2: limits: unknown key 'max_seris' (did you mean 'max_series'?)")
  end)

  it("say did you mean for drop's and aggregate's keys", function()
    local p = file('drop { nmae = "x" }\naggregate { metirc = "x", gauge = "max" }\n')
    local err = load_error { p }
    has(err, p .. ":1: drop: unknown key 'nmae' (did you mean 'name'?)")
    has(err, p .. ":2: aggregate: unknown key 'metirc' (did you mean 'metric'?)")
  end)

  it("say did you mean for a rule's, an alert's and a group's key", function()
    local p = file([[
group { intervall = "1m" }
record "job:up:sum" { exrp = function(q) return 1 end }
alert "Down" { expr = function(q) return 1 end, fro = "5m" }
]])
    local err = load_error(nil, { p })
    has(err, p .. ":1: group: unknown key 'intervall' (did you mean 'interval'?)")
    has(err, p .. ":2: record job:up:sum: unknown key 'exrp' (did you mean 'expr'?)")
    has(err, p .. ":3: alert Down: unknown key 'fro' (did you mean 'for'?)")
  end)

  it("say did you mean for a config key, and nothing when no key is near", function()
    local ok, err = pcall(moongate.new, { config = { rule_intervall = 5 } })
    assert.is_false(ok)
    has(tostring(err), "unknown key 'rule_intervall' (did you mean 'rule_interval'?)")
    ok, err = pcall(moongate.new, { config = { zzzzzzzz = 5 } })
    assert.is_false(ok)
    has(tostring(err), "unknown key 'zzzzzzzz'")
    lacks(tostring(err), "did you mean")
  end)
end)

describe("sandbox refusals", function()
  for _, case in ipairs {
    { code = "local f = io.open", says = "io is not available in moongate scripts" },
    { code = "os.execute('true')", says = "os.execute is not available in moongate scripts" },
    { code = "os.exit(1)", says = "os.exit is not available in moongate scripts" },
    { code = "local m = require 'x'", says = "require is not available in moongate scripts" },
    { code = "local d = debug.getinfo", says = "debug is not available in moongate scripts" },
    { code = "local f = string.dump", says = "string.dump is not available in moongate scripts" },
    { code = "local f = dofile", says = "dofile is not available in moongate scripts" },
  } do
    it("name what is not available: " .. case.code, function()
      local p = file("\n" .. case.code .. "\n")
      local err = load_error { p }
      has(err, p .. ":2: " .. case.says)
      lacks(err, "nil value")
    end)
  end

  it("leave any other unknown global nil, so `if x then` still works", function()
    local p = file("if no_such_thing then error('set') end\nassert(rawget(_G, 'io') == nil)\n")
    assert.truthy(moongate.new { scripts = { p } })
  end)
end)

describe("a transform's s", function()
  -- One series through a transform whose body starts on line 2; the
  -- explain of that series (its one step's result) and the exposition.
  local function through(body)
    local p = file("transform(function(s)\n" .. body .. "\nreturn s\nend)\n")
    local gw = moongate.new { scripts = { p } }
    gw:push { metrics = { { name = "m", type = "gauge", value = 1, labels = { a = "1" } } } }
    local e = assert(gw:explain("m"))
    return e[1].steps[1].result, gw:expose(), p
  end

  it("refuses an unknown field, with did you mean, at the assignment's line", function()
    local result, text, p = through("local x = 1\ns.lables = { b = '2' }")
    has(result, p .. ":3: transform: s: unknown key 'lables' (did you mean 'labels'?)")
    assert.are.equal(1, value(text, 'moongate_samples_dropped_total{reason="script_error"}'))
    assert.are.equal(1, value(text, ('moongate_script_errors_total{file="%s"}'):format(p)))
  end)

  it("refuses s.value, saying where values change", function()
    local result, _, p = through("s.value = 'x'")
    has(result, p .. ":2: transform: s.value cannot be set: a transform runs once per new series, "
        .. "on_sample changes values")
  end)

  for _, case in ipairs {
    { body = "s.labels = 5", says = "s.labels must be a table, got number" },
    { body = "s.name = 5", says = "s.name must be a string, got number" },
    { body = "s.scale = 'x'", says = "s.scale must be a number, got string" },
    { body = "s.help = 3", says = "s.help must be a string, got number" },
  } do
    it("refuses a wrong type: " .. case.body, function()
      local result, text, p = through(case.body)
      has(result, p .. ":2: transform: " .. case.says)
      assert.are.equal(1, value(text, 'moongate_samples_dropped_total{reason="script_error"}'))
    end)
  end

  it("refuses a label value that is not a string, naming the label, at the assignment's line", function()
    local result, _, p = through("s.labels.b = 5")
    has(result, p .. ":2: transform: s.labels.b must be a string, got number")
  end)

  it("checks the labels of a table the script assigns when s comes back", function()
    local result, _, p = through("s.labels = { b = 5 }")
    has(result, p .. ":1: transform: s.labels.b must be a string, got number")
  end)

  it("still reads, walks and sets the fields it has", function()
    local _, text = through([[
local n = 0
for k in pairs(s) do n = n + 1 end
s.labels.n = tostring(n)
s.name = s.name .. "_x"
s.help = nil]])
    assert.are.equal(1, value(text, 'm_x{a="1",n="4"}'))
  end)

  it("walks s.labels while the script clears what it walks", function()
    local _, text = through([[
s.labels.b = "2"
for k, v in pairs(s.labels) do s.labels[k] = nil; s.labels["x_" .. k] = v end]])
    assert.are.equal(1, value(text, 'm{x_a="1",x_b="2"}'))
  end)

  it("refuses an s kept past its call, failing that call and no other", function()
    -- s and s.labels show the series of their own call only: a script that
    -- keeps one gets an error saying so, never another series' fields
    local p = file([[
local prev, prev_labels
transform(function(s)
  assert(getmetatable(s) == false)
  if s.name == "m2" then local _ = prev.name end
  if s.name == "m3" then prev_labels.x = "1" end
  prev, prev_labels = s, s.labels
  return s
end)
]])
    local gw = moongate.new { scripts = { p } }
    for _, name in ipairs { "m1", "m2", "m3", "m4" } do
      gw:push { metrics = { { name = name, type = "gauge", value = 1 } } }
    end
    local text = gw:expose()
    assert.are.equal(1, value(text, "m1"))
    assert.is_nil(value(text, "m2"))
    assert.is_nil(value(text, "m3"))
    assert.are.equal(1, value(text, "m4"))
    assert.are.equal(2, value(text, 'moongate_samples_dropped_total{reason="script_error"}'))
    local e = assert(gw:explain("m2"))
    has(e[1].steps[1].result, p .. ":4: transform: this s is from a transform call that has returned")
    e = assert(gw:explain("m3"))
    has(e[1].steps[1].result, p .. ":5: transform: this s.labels is from a transform call that has returned")
  end)

  it("refuses rawset on s, which would bypass the checks", function()
    local result = through("rawset(s, 'lables', {})")
    has(result, "bad argument #1 to 'rawset' (table expected, got light userdata)")
  end)
end)

describe("relabel trap warnings", function()
  local function warnings(text)
    local p = file(text)
    local gw = moongate.new { scripts = { p } }
    return table.concat(gw:warnings(), "\n"), p
  end

  it("warn of drop on source_labels with the default regex, which drops every series", function()
    local w, p = warnings('relabel {\n  { source_labels = { "env" }, action = "drop" },\n}\n')
    has(w, p .. ":2: warning: relabel[1]: drop with source_labels and the default regex (.*)")
    has(w, "drops every series")
  end)

  it("warn of keep with a regex but no source_labels", function()
    local w, p = warnings('relabel { { action = "keep", regex = "up" } }\n')
    has(w, p .. ":1: warning: relabel[1]: keep with a regex but no source_labels")
  end)

  it("warn of labeldrop with the default regex, which drops every label", function()
    local w, p = warnings('relabel { { action = "labeldrop" } }\n')
    has(w, p .. ":1: warning: relabel[1]: labeldrop with the default regex (.*) drops every label")
  end)

  it("say nothing of a config that does what it says", function()
    local w = warnings('relabel { { source_labels = { "env" }, regex = "dev", action = "drop" } }\n')
    assert.are.equal("", w)
  end)
end)
