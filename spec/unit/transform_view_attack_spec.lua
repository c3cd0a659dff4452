-- A hostile script against the transform's views (s and s.labels over the
-- label builder) and the scripts' suffix fast path in string.match/find:
-- whatever a script does, the gateway keeps serving, the bad series is a
-- script_error placed at a file:line, and the other series are untouched.
local moongate = require "moongate"
local value = require("support.exposition").value

local scratch = require "support.scratch"
local function file(text) return scratch.file(text, ".lua") end
teardown(scratch.cleanup)

local function has(s, needle)
  assert.truthy(s and s:find(needle, 1, true), ("%q not in:\n%s"):format(needle, tostring(s)))
end

local DROPPED = 'moongate_samples_dropped_total{reason="script_error"}'

-- Pushes gauges m1..mN (labels a = "1") through a scripts file; returns the
-- gateway, its exposition and the file's path.
local function run(src, n, config)
  local p = file(src)
  local gw = moongate.new { scripts = { p }, config = config }
  for i = 1, n or 2 do
    gw:push { metrics = { { name = "m" .. i, type = "gauge", value = i, labels = { a = "1" } } } }
  end
  return gw, gw:expose(), p
end

-- The result of series name's step i in explain.
local function result(gw, name, i)
  local e = assert(gw:explain(name))
  return e[1].steps[i or 1].result
end

-- m1 fails with says at p:line; m2 is fine (series want, default m2{a="1"},
-- of value wantv, default 2).
local function fails_first(src, line, says, want, wantv)
  local gw, text, p = run(src)
  assert.is_nil(value(text, 'm1{a="1"}'))
  assert.are.equal(1, value(text, DROPPED))
  has(result(gw, "m1"), ("%s:%d: %s"):format(p, line, says))
  assert.are.equal(wantv or 2, value(text, want or 'm2{a="1"}'))
  return gw, text, p
end

describe("a transform's views used past their call", function()
  it("refuse s kept for on_sample, which keeps running for other series", function()
    local _, text = run([[
local prev
transform(function(s) prev = s; return s end)
on_sample(function(s, v)
  if s.name == "m2" then return prev.name and v end
  return v
end)
]], 3)
    assert.are.equal(1, value(text, 'm1{a="1"}'))
    assert.is_nil(value(text, 'm2{a="1"}'))
    assert.are.equal(3, value(text, 'm3{a="1"}'))
  end)

  it("keep s.source usable: it is a plain table of the producer's labels", function()
    local _, text = run([[
local prev
transform(function(s)
  if prev then prev.x = "y"; s.labels.prev = prev.x .. tostring(next(prev, "x")) end
  prev = s.source
  return s
end)
]])
    assert.are.equal(2, value(text, 'm2{a="1",prev="ynil"}'))
    assert.are.equal(0, value(text, DROPPED))
  end)

  it("refuse a stale s returned, placed at the transform", function()
    local gw, text, p = run([[
local prev
transform(function(s)
  if s.name == "m2" then return prev end
  prev = s
  return s
end)
]], 3)
    assert.are.equal(1, value(text, 'm1{a="1"}'))
    assert.is_nil(value(text, 'm2{a="1"}'))
    assert.are.equal(3, value(text, 'm3{a="1"}'))
    assert.are.equal(1, value(text, DROPPED))
    has(result(gw, "m2"), p .. ":2: transform: this s is from a transform call that has returned")
  end)

  it("refuse a table whose labels is a stale s.labels, not a series with no labels", function()
    local gw, text, p = run([[
local prev
transform(function(s)
  if prev then return { name = s.name, type = s.type, labels = prev } end
  prev = s.labels
  return s
end)
]], 3)
    assert.are.equal(1, value(text, 'm1{a="1"}'))
    assert.is_nil(value(text, "m2"))
    assert.is_nil(value(text, 'm2{a="1"}'))
    has(result(gw, "m2"), p .. ":2: transform: this s.labels is from a transform call that has returned")
  end)

  it("refuse s assigned to s.labels, at the assignment's line", function()
    fails_first([[
transform(function(s)
  if s.name == "m1" then s.labels = s end
  return s
end)
]], 2, "transform: s.labels must be a table of labels, not a view of s")
  end)

  it("refuse the iterator of a walk called on anything but its snapshot", function()
    fails_first([[
transform(function(s)
  local walk = pairs(s)
  if s.name == "m1" then walk(1, nil) end
  return s
end)
]], 3, "bad argument #1")
    fails_first([[
transform(function(s)
  local walk = pairs(s.labels)
  if s.name == "m1" then walk(nil) end
  return s
end)
]], 3, "bad argument #1")
  end)
end)

describe("a transform's views and the raw functions", function()
  it("are no tables for them to reach, with guarded metatables, and a pcall'd setmetatable changes nothing", function()
    local _, text = run([[
transform(function(s)
  local l = s.labels
  assert(type(s) == "userdata" and type(l) == "userdata")
  assert(not pcall(rawget, s, "name") and not pcall(next, s))
  assert(not pcall(rawget, l, "a") and not pcall(next, l))
  assert(getmetatable(s) == false and getmetatable(l) == false)
  assert(not pcall(setmetatable, s, {}))
  assert(not pcall(setmetatable, l, nil))
  s.labels.b = l.a .. "2"
  return s
end)
]])
    assert.are.equal(1, value(text, 'm1{a="1",b="12"}'))
    assert.are.equal(0, value(text, DROPPED))
  end)

  it("work as keys, compare by call, and refuse what a table would have allowed", function()
    local _, text = run([[
local seen, last = {}, nil
transform(function(s)
  local l = s.labels
  assert(s == s and l == s.labels and s ~= l and s ~= last)
  seen[s] = true
  assert(seen[s] and tostring(s):match("^userdata"))
  assert(not pcall(function() return #s end))
  assert(not pcall(function() return s .. "" end))
  assert(not pcall(table.concat, { s }))
  for k, v in ipairs(l) do error("ipairs found " .. tostring(k)) end
  last = s
  s.labels.b = "2"
  return s
end)
]])
    assert.are.equal(1, value(text, 'm1{a="1",b="2"}'))
    assert.are.equal(2, value(text, 'm2{a="1",b="2"}'))
    assert.are.equal(0, value(text, DROPPED))
  end)

  it("refuse a stale s.labels assigned to s.labels, at the assignment's line", function()
    local gw, text, p = run([[
local prev
transform(function(s)
  if prev then s.labels = prev end
  prev = s.labels
  return s
end)
]])
    assert.are.equal(1, value(text, 'm1{a="1"}'))
    assert.is_nil(value(text, 'm2{a="1"}'))
    has(result(gw, "m2"), p .. ":3: transform: this s.labels is from a transform call that has returned")
  end)

  it("refuse rawset on s and s.labels: no write bypasses the checks", function()
    fails_first([[
transform(function(s)
  if s.name == "m1" then rawset(s.labels, "b", "2") end
  return s
end)
]], 2, "bad argument #1 to 'rawset' (table expected, got light userdata)")
    fails_first([[
transform(function(s)
  if s.name == "m1" then rawset(s, "lables", {}) end
  return { name = s.name, type = s.type, labels = s.labels }
end)
]], 2, "bad argument #1 to 'rawset' (table expected, got light userdata)")
  end)

  it("read a returned table's labels = s.labels as the series' labels", function()
    local _, text = run([[
transform(function(s)
  s.labels.b = "2"
  return { name = s.name, type = s.type, labels = s.labels }
end)
]])
    assert.are.equal(1, value(text, 'm1{a="1",b="2"}'))
    assert.are.equal(0, value(text, DROPPED))
  end)

  it("refuse s.labels returned as the series", function()
    fails_first([[
transform(function(s)
  if s.name == "m1" then return s.labels end
  return s
end)
]], 1, "transform: must return s or a table of the series, not s.labels")
  end)

  it("read a returned table raw: an __index that errors or loops is not run", function()
    fails_first([[
transform(function(s)
  if s.name == "m1" then
    return setmetatable({}, { __index = function(_, k) error("boom " .. k) end })
  end
  return s
end)
]], 1, "transform: name must be a string")
    fails_first([[
transform(function(s)
  if s.name == "m1" then
    local a, b = {}, {}
    setmetatable(a, { __index = b }); setmetatable(b, { __index = a })
    return a
  end
  return s
end)
]], 1, "transform: name must be a string")
  end)

  it("take the labels proxy back after a table was assigned to s.labels", function()
    local _, text = run([[
transform(function(s)
  local l = s.labels
  s.labels = { z = "9" }
  s.labels = l
  l.b = "2"
  return s
end)
]], 1)
    assert.are.equal(1, value(text, 'm1{a="1",b="2"}'))
  end)
end)

describe("a transform walking and writing its labels", function()
  it("fails the series of an error raised mid-walk, and only that one", function()
    fails_first([[
transform(function(s)
  for k, v in pairs(s.labels) do
    if s.name == "m1" then error("mid-walk " .. k) end
  end
  return s
end)
]], 3, "mid-walk a")
  end)

  it("keeps what was written before an error a pcall caught, and the writes after", function()
    local _, text = run([[
transform(function(s)
  assert(not pcall(function() s.labels.x = "1"; s.scale = -1 end))
  assert(not pcall(function() s.labels.y = "\xff" end))
  for k in pairs(s) do pcall(error, k) end
  s.scale = 2
  return s
end)
]], 1)
    assert.are.equal(2, value(text, 'm1{a="1",x="1"}'))
  end)

  it("deletes with nil and with \"\", and refuses __name__ as a label", function()
    local _, text = run([[
transform(function(s)
  s.labels.b, s.labels.c = "2", "3"
  for k in pairs(s.labels) do if k ~= "b" then s.labels[k] = "" end end
  s.labels.b = nil
  s.labels.d = "4"
  assert(s.labels.__name__ == nil)
  return s
end)
]], 1)
    assert.are.equal(1, value(text, 'm1{d="4"}'))
    fails_first([[
transform(function(s)
  if s.name == "m1" then s.labels.__name__ = nil end
  return s
end)
]], 2, "transform: __name__ is not a valid label name")
  end)

  for _, case in ipairs {
    { body = 's.labels.b = "\\xc3\\x28"', line = 2, says = "transform: label b is not UTF-8" },
    { body = 's.labels[("n"):rep(300)] = "x"', line = 2, says = "transform: nnnnnnnnnnnnnnnnnnnn" },
    { body = 's.labels = { ["b"] = "\\xff" }', line = 1, says = "transform: label b is not UTF-8" },
    { body = 's.labels = { [1] = "x" }', line = 1, says = "transform: s.labels must map strings to strings, not a number key" },
    { body = 's.help = ("h"):rep(4097)', line = 2, says = "transform: help longer than 4096 bytes" },
    { body = 's.help = ""', line = 2, says = "transform: help must not be empty" },
    { body = 's.help = "a\\0b"', line = 2, says = "transform: help holds a NUL byte" },
    { body = 's.scale = 0/0', line = 2, says = "transform: scale must be a positive number" },
    { body = 's.scale = math.huge', line = 2, says = "transform: scale must be a positive number" },
    { body = 's.scale = -1', line = 2, says = "transform: scale must be a positive number" },
    { body = 's.ttl = -1', line = 2, says = "transform: ttl must be seconds >= 0" },
    { body = 's.ttl = 1e300', line = 2, says = "transform: ttl must be seconds >= 0" },
    { body = 's.ttl = 0/0', line = 2, says = "transform: ttl must be seconds >= 0" },
    { body = 's.name = "bad name"', line = 2, says = "transform: bad name is not a valid metric name" },
    { body = 's.type = "counter"', line = 2, says = "transform: cannot change a series' type" },
    { body = 's[true] = 1', line = 2, says = "transform: s has no boolean keys" },
  } do
    it("fails the one series of: " .. case.body, function()
      fails_first("transform(function(s)\nif s.name == 'm1' then " .. case.body
                  .. " end\nreturn s\nend)\n", case.line, case.says)
    end)
  end

  it("takes help of 4096 bytes, a big label value, and thousands of labels", function()
    local _, text = run([[
transform(function(s)
  s.help = ("h"):rep(4096)
  s.labels.big = ("v"):rep(10000)
  for i = 1, 2000 do s.labels["l" .. i] = "x" end
  return s
end)
]], 1)
    assert.truthy(text:find("# HELP m1 " .. ("h"):rep(4096) .. "\n", 1, true))
    assert.truthy(text:find('l2000="x"', 1, true))
    assert.are.equal(0, value(text, DROPPED))
  end)

  it("pays label bytes from the call's budget: a series cannot hold gigabytes of them", function()
    -- the builder is outside the state's memory cap: 200 MB of labels
    -- once went through, and the call ran past its deadline
    local gw, text, p = run([[
transform(function(s)
  if s.name == "m1" then
    local big = ("v"):rep(100000)
    for i = 1, 2000 do s.labels["l" .. i] = big .. i end
  end
  return s
end)
]])
    assert.is_nil(value(text, 'm1{a="1"}'))
    assert.are.equal(1, value(text, DROPPED))
    has(result(gw, "m1"), p .. ":4: s.labels: result too large for the call's budget")
    assert.are.equal(2, value(text, 'm2{a="1"}'))
    assert.truthy(#text < 100000)
  end)

  it("pays a walk's snapshot from the call's budget", function()
    local gw, text, p = run([[
transform(function(s)
  if s.name == "m1" then
    for i = 1, 200 do s.labels["l" .. i] = "x" end
    for i = 1, 1e7 do local _ = pairs(s.labels) end
  end
  return s
end)
]], 2, { lua = { instructions = 100000 } })
    assert.are.equal(1, value(text, DROPPED))
    has(result(gw, "m1"), p .. ":4: pairs: too many elements for the call's budget")
    assert.are.equal(2, value(text, 'm2{a="1"}'))
  end)

  it("fails a series whose script outgrows the memory cap, and serves the next", function()
    local gw, text = run([[
local keep = {}
transform(function(s)
  if s.name == "m1" then
    for i = 1, 100 do keep[i] = ("v"):rep(100000) .. i; s.labels["l" .. i] = "x" end
  end
  return s
end)
]], 2, { lua = { memory_bytes = 4 * 1024 * 1024 } })
    assert.is_nil(value(text, 'm1{a="1"}'))
    assert.are.equal(1, value(text, DROPPED))
    has(result(gw, "m1"), "memory")
    assert.are.equal(2, value(text, 'm2{a="1"}'))
  end)
end)

describe("transforms in a row", function()
  it("see what the one before left, its staged fields applied only when s came back", function()
    local _, text = run([[
relabel { { target_label = "r", replacement = "1" } }
transform(function(s)
  s.labels.b = s.labels.r .. "2"
  s.scale, s.ttl, s.help = 2, 60, "first"
  if s.name == "m1" then return s end
  return { name = s.name, type = s.type, labels = s.labels, scale = 3 }
end)
transform(function(s)
  if s.name == "m1" then
    assert(s.scale == 2 and s.ttl == 60 and s.help == "first", "m1 staged")
  else
    assert(s.scale == 3 and s.ttl == nil and s.help == nil, "m2 staged")
  end
  s.labels.c = s.labels.b
  return s
end)
]])
    assert.are.equal(2, value(text, 'm1{a="1",b="12",c="12",r="1"}'))
    assert.are.equal(6, value(text, 'm2{a="1",b="12",c="12",r="1"}'))
    assert.are.equal(0, value(text, DROPPED))
  end)

  it("leave nothing a failing call staged to the next series", function()
    fails_first([[
transform(function(s)
  assert(s.scale == nil and s.help == nil, "leaked")
  s.scale, s.help = 5, "x"
  if s.name == "m1" then error("no") end
  return s
end)
]], 4, "no", 'm2{a="1"}', 10)
  end)
end)

describe("the scripts' suffix fast path", function()
  -- Each case as in stock Lua (this busted's): the same results, or an error
  -- where stock raises one.
  local function lit(v)
    if v == nil then return "nil" end
    return type(v) == "string" and ("%q"):format(v) or tostring(v)
  end

  local cases = {
    { "a)", "a)$" }, { "xa)", "a)$" }, { "zzz", "a)$" }, { "a]", "a]$" },
    { "a%", "a%$" }, { "a$", "a%$" }, { "50%", "0%%$" }, { "x", "%$" },
    { "a\0", "\0$" }, { "a\0b", "^a\0b$" }, { "a\0b", "a\0$" },
    { "abc", "c$", -1 }, { "abc", "c$", -10 }, { "abc", "c$", 4 }, { "abc", "$", 4 },
    { "abc", "$", 5 }, { "abc", "^$", 4 }, { "", "$", 0 }, { "", "^$", -1 },
    { "$", "$$" }, { "a$", "$$" }, { "^", "^^$" }, { "ab", "^b$", 2 }, { "ab", "b$", 3 },
    { "abab", "ab$", 2 }, { "ab", "ab$", 0 }, { "x", "^" }, { "x", "" },
  }

  local function script(fn)
    local lines = {}
    for i, c in ipairs(cases) do
      local want = table.pack(pcall(string[fn], c[1], c[2], c[3]))
      local call = ("pcall(string.%s, %s, %s, %s)"):format(fn, lit(c[1]), lit(c[2]), lit(c[3]))
      lines[#lines + 1] = ("do local r = table.pack(%s); local w = %q"):format(call, fn .. " case " .. i)
      lines[#lines + 1] = ("  assert(r[1] == %s, w)"):format(tostring(want[1]))
      if want[1] then
        lines[#lines + 1] = ("  assert(r.n == %d, w)"):format(want.n)
        for j = 2, want.n do
          lines[#lines + 1] = ("  assert(r[%d] == %s, w)"):format(j, lit(want[j]))
        end
      else
        lines[#lines + 1] = ("  assert(r[2]:find(%q, 1, true), w .. ': ' .. r[2])"):format(want[2])
      end
      lines[#lines + 1] = "end"
    end
    return table.concat(lines, "\n") .. "\n"
  end

  for _, fn in ipairs { "match", "find" } do
    it(fn .. " gives what stock Lua gives, errors included", function()
      local ok, err = pcall(moongate.new, { scripts = { file(script(fn)) } })
      assert(ok, tostring(err))
    end)
  end

  it("leaves find with plain = true a plain search", function()
    local ok, err = pcall(moongate.new, { scripts = { file([[
assert(string.find("a$", "a$", 1, true) == 1)
assert(string.find("xa$", "a$", 1, false) == nil)
assert(string.find("xa", "a$", 1, false) == 2)
]]) } })
    assert(ok, tostring(err))
  end)
end)
