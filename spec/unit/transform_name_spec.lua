-- s.name as a transform reads it: the string of the last read is reused
-- while the name stays the same, so these check that every read still
-- shows this series' name, whatever came before it.
local moongate = require "moongate"
local value = require("support.exposition").value

local scratch = require "support.scratch"
teardown(scratch.cleanup)

-- Pushes one gauge per name, in order, value i for the i-th, labels a = i.
local function push_all(src, names)
  local gw = moongate.new { scripts = { scratch.file(src, ".lua") } }
  for i, name in ipairs(names) do
    gw:push { metrics = { { name = name, type = "gauge", value = i,
                            labels = { a = tostring(i) } } } }
  end
  return gw:expose()
end

describe("s.name in a transform", function()
  it("is this series' name when names repeat, change and come back", function()
    local text = push_all([[
transform(function(s) s.labels.seen = s.name; return s end)
]], { "m1", "m1", "m2", "m1", "m10", "mx", "m2" })
    assert.are.equal(1, value(text, 'm1{a="1",seen="m1"}'))
    assert.are.equal(2, value(text, 'm1{a="2",seen="m1"}'))
    assert.are.equal(3, value(text, 'm2{a="3",seen="m2"}'))
    assert.are.equal(4, value(text, 'm1{a="4",seen="m1"}'))
    assert.are.equal(5, value(text, 'm10{a="5",seen="m10"}'))
    assert.are.equal(6, value(text, 'mx{a="6",seen="mx"}'))
    assert.are.equal(7, value(text, 'm2{a="7",seen="m2"}'))
  end)

  it("shows a rename by an earlier transform and by an assignment", function()
    local text = push_all([[
transform(function(s) local before = s.name; s.name = before .. "_x"; return s end)
transform(function(s)
  s.labels.seen = s.name
  s.name = "y_" .. s.name
  s.labels.after = s.name
  return s
end)
]], { "m1", "m1", "m2" })
    assert.are.equal(1, value(text, 'y_m1_x{a="1",after="y_m1_x",seen="m1_x"}'))
    assert.are.equal(2, value(text, 'y_m1_x{a="2",after="y_m1_x",seen="m1_x"}'))
    assert.are.equal(3, value(text, 'y_m2_x{a="3",after="y_m2_x",seen="m2_x"}'))
  end)

  it("is the same string as any other equal string", function()
    local text = push_all([[
local seen = {}
transform(function(s)
  local n = s.name
  s.labels.first = tostring(seen[n] == nil)
  seen[n] = true
  s.labels.eq = tostring(n == "m1" or n == "m2")
  return s
end)
]], { "m1", "m1", "m2" })
    assert.are.equal(1, value(text, 'm1{a="1",eq="true",first="true"}'))
    assert.are.equal(2, value(text, 'm1{a="2",eq="true",first="false"}'))
    assert.are.equal(3, value(text, 'm2{a="3",eq="true",first="true"}'))
  end)
end)
