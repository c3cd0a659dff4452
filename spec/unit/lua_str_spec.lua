-- The scripts' string library is its own (metered) copy of Lua's: whatever
-- shortcut it takes must give what stock Lua gives. Each case runs in this
-- busted's Lua and, as an assert in a script, inside a gateway.
local moongate = require "moongate"

local path = os.tmpname() .. ".lua"
teardown(function() os.remove(path) end)

local function lit(v)
  if v == nil then return "nil" end
  return type(v) == "string" and ("%q"):format(v) or tostring(v)
end

-- A script asserting that fn(s, p, init) returns what stock Lua returns.
local function check(fn, cases)
  local lines = {}
  for _, c in ipairs(cases) do
    local want = table.pack(string[fn](c[1], c[2], c[3]))
    local got = ("table.pack(string.%s(%s, %s, %s))"):format(fn, lit(c[1]), lit(c[2]), lit(c[3]))
    lines[#lines + 1] = ("do local r = %s; assert(r.n == %d, %q)"):format(got, want.n, c[2])
    for i = 1, want.n do
      lines[#lines + 1] = ("  assert(r[%d] == %s, %q)"):format(i, lit(want[i]), fn .. " " .. c[2])
    end
    lines[#lines + 1] = "end"
  end
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  local ok, err = pcall(moongate.new, { scripts = { path } })
  assert(ok, tostring(err))
end

describe("the scripts' string.match and string.find", function()
  local cases = {
    { "bench_ms", "_ms$" }, { "bench_ms", "^bench_ms$" }, { "bench_ms", "^_ms$" },
    { "bench_seconds", "_ms$" }, { "ms", "_ms$" }, { "", "$" }, { "abc", "$" },
    { "abc", "^$" }, { "", "^$" }, { "a_ms_ms", "_ms$" }, { "x_ms", "_ms$", 3 },
    { "x_ms", "_ms$", 2 }, { "x_ms", "_ms$", -3 }, { "x_ms", "_ms$", 10 },
    { "x_ms", "^_ms$", 2 }, { "x.ms", ".ms$" }, { "x%ms", "%%ms$" }, { "a$", "a%$" },
    { "a\0b", "\0b$" }, { "total", "tal$", 1 }, { "x_ms", "s$", 0 },
  }
  it("match as stock Lua does, suffix patterns included", function()
    check("match", cases)
  end)
  it("find as stock Lua does, suffix patterns included", function()
    check("find", cases)
  end)
end)
