-- The pipeline's HELP through the module: what help{} and s.help accept,
-- and which HELP a family shows (docs/lua.md, the pipeline).
local moongate = require "moongate"
local value = require("support.exposition").value

local scratch = require "support.scratch"
local script = scratch.file

local function help_of(text, name)
  return text:match("# HELP " .. name:gsub("%p", "%%%0") .. " ([^\n]*)")
end

describe("pipeline HELP", function()
  after_each(scratch.cleanup)

  for _, bad in ipairs {
    { 'help { metric = "x" }', "help: text must be a string" },
    { 'help { text = "t" }', "help: metric must be a regex string" },
    { 'help { metric = "x", text = "" }', "help: text must not be empty" },
    { 'help { metric = "x", text = "a\\0b" }', "help: text holds a NUL byte" },
    { 'help { metric = "x", text = "\\xff" }', "help: text is not UTF-8" },
    { 'help { metric = "x", text = ("a"):rep(4097) }', "help: text longer than 4096 bytes" },
    { 'help { metric = "(", text = "t" }', "help: metric" },
    { 'help { metric = "x", text = "t", texts = "u" }', "texts" },
  } do
    it("refuses at load: " .. bad[1], function()
      local gw = moongate.new()
      local ok, err = gw:load { scripts = { script(bad[1] .. "\n") } }
      assert.is_false(ok)
      assert.truthy(err:find(bad[2], 1, true), err)
      assert.truthy(err:find(":1:", 1, true), err)
    end)
  end

  for _, bad in ipairs {
    { "42", "help must be a string" },
    { '""', "help must not be empty" },
    { '"a\\0b"', "help holds a NUL byte" },
    { '("a"):rep(4097)', "help longer than 4096 bytes" },
  } do
    it("s.help = " .. bad[1] .. " is a script error for that series only", function()
      local path = script("transform(function(s) if s.name == 'bad_total' then s.help = " .. bad[1] ..
        " end return s end)\n")
      local gw = moongate.new { scripts = { path } }
      gw:push { metrics = { { name = "bad_total", type = "counter", value = 1 },
                            { name = "good_total", type = "counter", value = 2 } } }
      local text = gw:expose()
      assert.are.equal(1, value(text, 'moongate_samples_dropped_total{reason="script_error"}'))
      assert.are.equal(2, value(text, "good_total"))
    end)
  end

  it("s.help wins over help{}, the first matching help{} over later ones, and an earlier transform's s.help is seen", function()
    local path = script([[
help { metric = "a_.*", text = "first rule" }
help { metric = "a_b_total", text = "second rule" }
transform(function(s) if s.name == "a_c_total" then s.help = "from a transform" end return s end)
transform(function(s) if s.help then s.help = s.help .. ", seen" end return s end)
]])
    local gw = moongate.new { scripts = { path } }
    gw:push { metrics = {
      { name = "a_b_total", type = "counter", value = 1, help = "pushed b" },
      { name = "a_c_total", type = "counter", value = 1, help = "pushed c" },
      { name = "z_total", type = "counter", value = 1, help = "pushed z" } } }
    local text = gw:expose()
    assert.are.equal("first rule", help_of(text, "a_b_total"))
    assert.are.equal("from a transform, seen", help_of(text, "a_c_total"))
    assert.are.equal("pushed z", help_of(text, "z_total"))
  end)
end)
