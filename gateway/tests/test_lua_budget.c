/* test_lua_budget: what mg_lua.c bounds a call by: the instruction
 * budget, the deadline, C library work charged by size, the metered
 * pattern matcher (bounded, and giving the results plain Lua gives) and
 * the memory cap. Prints each failing case; exits 1 if any failed. */
#include "mg_lua_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lualib.h>

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- budget, deadline, memory ------------------------------------------ */

static void budget_case(const char *name, const char *code)
{
    struct probe p;
    struct mg_lua *st = state(&p, 0, 0, 30);
    char why[512];
    double t0 = mono();

    start(name);
    want_error(name, run(st, "loop.lua", code, why, sizeof why), why,
               "loop.lua:", "instruction budget exceeded");
    if (mono() - t0 > 5)
        fail(name, "took %.1f s", mono() - t0);
    if (run(st, "next.lua", "assert(1 + 1 == 2)", why, sizeof why) != 0)
        fail(name, "the next call failed: %s", why);
    mg_lua_free(st);
}

static void test_budget(void)
{
    budget_case("an infinite loop trips the budget", "while true do end");
    budget_case("pcall cannot swallow the budget",
                "while true do pcall(function() while true do end end) end");
    budget_case("xpcall's handler cannot swallow the budget",
                "while true do\n"
                "  xpcall(function() while true do end end,\n"
                "         function() while true do end end)\n"
                "end");
    ok_case("xpcall's handler still runs for ordinary errors",
            "local ok, e = xpcall(error, function(m) return 'handled ' .. m "
            "end, 'x', 0)\n"
            "assert(not ok and e == 'handled x', e)\n"
            "local ok2, a, b = xpcall(function(x) return x, 2 end, print, 1)\n"
            "assert(ok2 and a == 1 and b == 2)");
    budget_case("a looping xpcall handler for an ordinary error",
                "xpcall(error, function() while true do end end)");
    budget_case("a tripped loop in __close cannot swallow the budget",
                "while true do\n"
                "  pcall(function()\n"
                "    local c <close> = setmetatable({}, {__close = "
                "function() while true do end end})\n"
                "    while true do end\n"
                "  end)\n"
                "end");
    budget_case("table.insert's shifting counts against the budget",
                "local t = {}\n"
                "for i = 1, 100000 do t[i] = i end\n"
                "while true do table.insert(t, 1, 0) table.remove(t, 1) end");
    ok_case("string.rep of an empty string is bounded",
            "assert(string.rep('', math.maxinteger) == '')\n"
            "assert(('').rep('', 1e15, '') == '')");
    ok_case("table.move over a huge range is refused",
            "assert(not pcall(table.move, {}, 1, math.maxinteger - 1, 1))");
    ok_case("table.insert under a huge __len is refused",
            "local t = setmetatable({}, {__len = function() "
            "return math.maxinteger - 1 end})\n"
            "assert(not pcall(table.insert, t, 1, 0))\n"
            "assert(not pcall(table.remove, t, 1))");
    ok_case("table.insert into a sparse border is refused",
            "local s, i = 'return {true, true, true, true, [5] = true', 8\n"
            "while i < 2^62 do s = s .. ', [' .. i .. '] = true'; "
            "i = i * 2 end\n"
            "local t = load(s .. '}')()\n"
            "assert(#t > 2^60, 'the border is only ' .. #t)\n"
            "assert(not pcall(table.insert, t, 1, 0))\n"
            "assert(not pcall(table.remove, t, 1))\n"
            "assert(not pcall(table.move, t, 1, #t, 2))");
    ok_case("table.insert and remove still work",
            "local t = {1, 2, 3}\n"
            "table.insert(t, 1, 0); table.insert(t, 4)\n"
            "assert(table.concat(t, ',') == '0,1,2,3,4')\n"
            "assert(table.remove(t, 1) == 0 and table.remove(t) == 4)\n"
            "assert(table.concat(t, ',') == '1,2,3')\n"
            "assert(table.concat(table.move({1, 2}, 1, 2, 2), ',') == "
            "'1,1,2')");

    {
        struct probe p;
        struct mg_lua *st = state(&p, 0, 1000000000000000ull, 0.2);
        char why[512];
        double t0 = mono(), dt;

        start("a deadline trips a slow loop under a huge budget");
        want_error("a deadline trips a slow loop under a huge budget",
                   run(st, "slow.lua", "local x = 0\nwhile true do x = x + 1 "
                       "end", why, sizeof why),
                   why, "slow.lua:2:", "deadline exceeded");
        dt = mono() - t0;
        if (dt < 0.15 || dt > 2)
            fail("a deadline trips a slow loop under a huge budget",
                 "took %.3f s", dt);
        mg_lua_free(st);
    }
}

/* ---- C library work charged by size ------------------------------------ */

static void test_charged(void)
{
    ok_case("a result past the call's budget is refused, and not sticky",
            "local ok, e = pcall(string.rep, 'x', 30e6)\n"
            "assert(not ok and e:find(\"string.rep: result too large for "
            "the call's budget\", 1, true), e)\n"
            "assert(#string.rep('x', 1000) == 1000)");
    ok_case("elements past the call's budget are refused",
            "local t = setmetatable({}, {__len = function() return 1e9 "
            "end})\n"
            "local ok, e = pcall(table.sort, t)\n"
            "assert(not ok and e:find(\"table.sort: too many elements for "
            "the call's budget\", 1, true), e)");
    ok_case("a loop of small string.rep calls pays for their bytes",
            "local n = 0\n"
            "local ok, e = pcall(function()\n"
            "  while true do local _ = string.rep('x', 100000); n = n + 1 end\n"
            "end)\n"
            "assert(not ok and e == \"case.lua:3: string.rep: result too "
            "large for the call's budget\", e)\n"
            "assert(n >= 90 and n <= 100, n)");
    ok_case("the charged functions answer as upstream's",
            "assert(string.rep('ab', 3, ',') == 'ab,ab,ab')\n"
            "assert(string.rep('', 3, ',') == ',,')\n"
            "assert(string.rep('abc', 1) == 'abc' and "
            "string.rep('x', 0) == '')\n"
            "local r = string.rep('0123456789', 20000, '-')\n"
            "assert(#r == 219999 and r:sub(-21) == '0123456789-"
            "0123456789'\n"
            "       and not r:find('--', 1, true))\n"
            "assert(('aBc'):upper() == 'ABC' and ('aBc'):lower() == 'abc')\n"
            "assert(('abc'):reverse() == 'cba' and (''):reverse() == '')\n"
            "assert(table.concat({1, 'b', 3.5}, ', ') == '1, b, 3.5')\n"
            "assert(table.concat({'a', 'b', 'c'}, '', 2, 3) == 'bc')\n"
            "assert(table.concat({}, 'x') == '')\n"
            "assert(not pcall(table.concat, {1, {}, 3}))\n"
            "assert(('hello'):sub(2, -2) == 'ell' and "
            "('hello'):byte(-1) == 111)\n"
            "assert(select('#', ('hello'):byte(1, -1)) == 5)\n"
            "assert(string.format('%s=%5.1f', 'k', 2) == 'k=  2.0')\n"
            "assert(select(3, table.unpack({1, 2, 3})) == 3)\n"
            "local t = {3, 1, 2}; table.sort(t, function(a, b) return a > b "
            "end)\n"
            "assert(table.concat(t) == '321')\n"
            "assert(utf8.len('h\\u{e9}') == 2 and utf8.char(233, 104) == "
            "'\\u{e9}h')\n"
            "assert(utf8.codepoint('h\\u{e9}', 1, -1) == 104)");

    {
        struct probe p;
        struct mg_lua *st = state(&p, 0, 1000000000000000ull, 0.2);
        char why[512];
        double t0 = mono(), dt;

        /* A big '..' is one VM instruction: its allocation reads the clock
         * and the refusal says deadline, not memory. */
        start("a loop of big '..' stops at the deadline");
        want_error("a loop of big '..' stops at the deadline",
                   run(st, "cat.lua", "local b = string.rep('x', 4e6)\n"
                       "while true do local _ = b .. 'y' end", why,
                       sizeof why),
                   why, "cat.lua:", "deadline exceeded");
        dt = mono() - t0;
        if (dt > 2)
            fail("a loop of big '..' stops at the deadline", "took %.3f s",
                 dt);
        mg_lua_free(st);
    }
}

/* ---- the metered pattern matcher ---------------------------------------- */

/* Backtracks about 40^12 times in plain Lua: hours inside one C call. */
#define PATHO "local s, p = ('a'):rep(40), ('a*'):rep(12) .. 'b'\n"

static void test_patterns_budget(void)
{
    budget_case("a backtracking string.find trips the budget",
                "string.find(('a'):rep(40), ('a*'):rep(12) .. 'b')");
    budget_case("pcall cannot swallow a pattern's budget",
                PATHO "while true do pcall(string.find, s, p) end");
    budget_case("pcall around a method call in a loop still fails",
                PATHO "for i = 1, 1e9 do\n"
                "  local ok = pcall(function() return s:find(p) end)\n"
                "  assert(not ok)\n"
                "end");
    budget_case("a backtracking string.match trips the budget",
                PATHO "return s:match('(' .. p .. ')')");
    budget_case("a backtracking gmatch trips the budget",
                PATHO "for x in s:gmatch(p) do end");
    budget_case("gmatch in pcall in a loop still fails",
                PATHO "local it = s:gmatch(p)\n"
                "while true do pcall(it) end");
    budget_case("a backtracking gsub trips the budget",
                PATHO "s:gsub(p, 'x')");
    budget_case("gsub with a function replacement in pcall still fails",
                PATHO "while true do\n"
                "  pcall(string.gsub, s, p, function(m) return m end)\n"
                "end");
    budget_case("%b over an unbalanced string trips the budget",
                "(('('):rep(1e6)):find('%b()')");
    budget_case("a long class tried at every byte trips the budget",
                "(('a'):rep(1e5)):find('[' .. ('b'):rep(1e5) .. ']')");
    budget_case("a plain find with a long near-miss needle trips the budget",
                "local n = ('a'):rep(2e6) .. 'b'\n"
                "(('a'):rep(4e6)):find(n, 1, true)");
    budget_case("gsub with many empty captures per match trips the budget",
                "(('a'):rep(1e5)):gsub('(b*)', ('%1'):rep(1e5))");

    {
        struct probe p;
        struct mg_lua *st = state(&p, 0, 1000000000000000ull, 0.2);
        char why[512];
        double t0 = mono(), dt;

        start("a deadline trips a backtracking find under a huge budget");
        want_error("a deadline trips a backtracking find under a huge budget",
                   run(st, "slow.lua", PATHO "return s:find(p)", why,
                       sizeof why),
                   why, "slow.lua:2:", "deadline exceeded");
        dt = mono() - t0;
        if (dt < 0.15 || dt > 2)
            fail("a deadline trips a backtracking find under a huge budget",
                 "took %.3f s", dt);
        if (run(st, "next.lua", "assert(('ab'):find('b') == 2)", why,
                sizeof why) != 0)
            fail("a deadline trips a backtracking find under a huge budget",
                 "the next call failed: %s", why);
        mg_lua_free(st);
    }
}

static void test_patterns_results(void)
{
    ok_case("string.find and the string metatable share the matcher",
            "assert(string.find == ('').find)\n"
            "assert(string.gsub == ('').gsub)");
    ok_case("find gives Lua's results",
            "local a, b = ('hello world'):find('o w')\n"
            "assert(a == 5 and b == 7)\n"
            "local a, b, c = ('key = val'):find('(%w+)%s*=')\n"
            "assert(a == 1 and b == 5 and c == 'key')\n"
            "assert(('a.b'):find('.', 1, true) == 2)\n"
            "assert(('a.b'):find('%.') == 2)\n"
            "assert(('abcabc'):find('b', -3) == 5)\n"
            "assert(('abc'):find('', 4) == 4)\n"
            "assert(('abc'):find('', 10) == nil)\n"
            "assert(('abc'):find('x') == nil)\n"
            "assert(select('#', ('abc'):find('b')) == 2)");
    ok_case("match gives Lua's results with anchors and captures",
            "assert(('  x  '):match('^%s*(.-)%s*$') == 'x')\n"
            "assert(('abc'):match('^b') == nil)\n"
            "assert(('abc'):match('c$') == 'c')\n"
            "assert(('a$b'):match('$b') == '$b')\n"
            "assert(('2024-01-02'):match('(%d+)-(%d+)-(%d+)') == '2024')\n"
            "local y, m, d = ('2024-01-02'):match('(%d+)-(%d+)-(%d+)')\n"
            "assert(m == '01' and d == '02')\n"
            "local p1, w, p2 = ('hello'):match('()(ll)()')\n"
            "assert(p1 == 3 and w == 'll' and p2 == 5)\n"
            "assert(('f(a(b)c) d'):match('%b()') == '(a(b)c)')\n"
            "assert(('THE (quick) fox'):match('%f[%a]%a+', 5) == 'quick')\n"
            "assert(('xyyx'):match('(x)(y+)%1') == 'x')\n"
            "assert(('[x]'):match('[%]]') == ']')\n"
            "assert(('a-z'):match('[a%-]+') == 'a-')");
    ok_case("gmatch gives Lua's results",
            "local t = {}\n"
            "for w in ('THE (quick) fox'):gmatch('%f[%a]%a+') do\n"
            "  t[#t + 1] = w end\n"
            "assert(table.concat(t, ',') == 'THE,quick,fox')\n"
            "t = {}\n"
            "for k, v in ('a=1, b=2'):gmatch('(%w+)=(%w+)') do\n"
            "  t[#t + 1] = k .. v end\n"
            "assert(table.concat(t, ',') == 'a1,b2')\n"
            "t = {}\n"
            "for c in ('abc'):gmatch('.', 2) do t[#t + 1] = c end\n"
            "assert(table.concat(t) == 'bc')\n"
            "local n = 0\n"
            "for x in ('abc'):gmatch('x*') do n = n + 1 end\n"
            "assert(n == 4)\n"
            "t = {}\n"
            "for p in ('aXbX'):gmatch('()X') do t[#t + 1] = p end\n"
            "assert(t[1] == 2 and t[2] == 4)");
    ok_case("gsub gives Lua's results",
            "local s, n = ('hello world'):gsub('o', '0')\n"
            "assert(s == 'hell0 w0rld' and n == 2)\n"
            "assert(('hello world'):gsub('(%w+) (%w+)', '%2 %1') == "
            "'world hello')\n"
            "assert(('abc'):gsub('%w', '%0%0') == 'aabbcc')\n"
            "assert(('a'):gsub('a', '%%') == '%')\n"
            "assert(('abc'):gsub('b', 5) == 'a5c')\n"
            "assert(('$name is $age'):gsub('%$(%w+)', {name = 'Ann', "
            "age = 3}) == 'Ann is 3')\n"
            "assert(('$x $y'):gsub('%$(%w+)', {x = '1'}) == '1 $y')\n"
            "assert(('abc'):gsub('%w', function(c) return c:upper() .. '.' "
            "end) == 'A.B.C.')\n"
            "s, n = ('abc'):gsub('%w', function(c) if c == 'b' then "
            "return false end return 'x' end)\n"
            "assert(s == 'xbx' and n == 3)\n"
            "s, n = ('aaa'):gsub('a', 'b', 2)\n"
            "assert(s == 'bba' and n == 2)\n"
            "assert(('aaa'):gsub('^a', 'b') == 'baa')\n"
            "s, n = ('abc'):gsub('', '-')\n"
            "assert(s == '-a-b-c-' and n == 4)\n"
            "assert(('x = 1'):gsub('()=()', '%1%2') == 'x 34 1')");
    ok_case("pattern errors are Lua's",
            "local function err(...)\n"
            "  local ok, e = pcall(...)\n"
            "  assert(not ok) return e\n"
            "end\n"
            "assert(err(string.find, 'a', '%'):find('ends with', 1, true))\n"
            "assert(err(string.find, 'a', '[a'):find(\"missing ']'\", 1, "
            "true))\n"
            "assert(err(string.gsub, 'a', 'a', '%2'):find('invalid capture "
            "index %2', 1, true))\n"
            "assert(err(string.gsub, 'a', 'a', true):find(\"bad argument #3 "
            "to 'string.gsub'\", 1, true))\n"
            "assert(err(string.gsub, 'a', 'a', function() return {} end)"
            ":find('invalid replacement value (a table)', 1, true))\n"
            "assert(err(string.match, ('a'):rep(300), ('a?'):rep(300))"
            ":find('pattern too complex', 1, true))\n"
            "assert(err(string.match, 'a', ('()'):rep(33))"
            ":find('too many captures', 1, true))\n"
            "assert(err(string.find, 'a', '%f'):find(\"missing '['\", 1, "
            "true))\n"
            "assert(err(string.find, 'a', '(a'):find('unfinished capture', "
            "1, true))");
}

/* The same script through plain Lua's lstrlib and through the sandbox must
 * give the same text, errors included. */
static const char diff_script[] =
    "local cases = {\n"
    "  {'find', 'hello world', 'o w'}, {'find', 'hello', 'l+'},\n"
    "  {'find', 'a+b', '+', 1, true}, {'find', 'abc', 'b', -1},\n"
    "  {'find', 'abc', '', 4}, {'find', 'abc', '', 5},\n"
    "  {'find', 'a\\0b', '\\0'}, {'find', 'a\\0b', '%z'},\n"
    "  {'find', 'key=val', '(%w+)=(%w*)'}, {'find', 'x', '()'},\n"
    "  {'match', ' pad ', '^%s*(.-)%s*$'}, {'match', 'abc', '^(b)'},\n"
    "  {'match', 'f(a(b)c)', '%b()'}, {'match', 'THE (quick)', "
    "'%f[%l]%a+'},\n"
    "  {'match', 'aXa', '(a)X%1'}, {'match', 'x1y22', '%a(%d-)%a'},\n"
    "  {'match', '  ', '^%s*$'}, {'match', 'A1_b', '[%w_]+'},\n"
    "  {'match', 'hello', '()ll()'}, {'match', 'x', '[^%a]'},\n"
    "  {'match', 'a]b', '[]]'}, {'match', 'caab', 'a-b'},\n"
    "  {'match', 'a', '%'}, {'match', 'a', '(()'},\n"
    "  {'match', 'a', '%1'}, {'match', ('a'):rep(300), ('a?'):rep(300)},\n"
    "  {'gmatch', 'one two  three', '%a+'}, {'gmatch', 'k=v, x=y', "
    "'(%w+)=(%w+)'},\n"
    "  {'gmatch', 'abc', ''}, {'gmatch', 'abc', '.', -2},\n"
    "  {'gmatch', 'aaa', 'a*'}, {'gmatch', 'ab', '()'},\n"
    "  {'gsub', 'hello world', 'o', '0'}, {'gsub', 'abc', '', '-'},\n"
    "  {'gsub', 'abc', '%w', '%0%0'}, {'gsub', 'abc', '(%w)', '%1 '},\n"
    "  {'gsub', 'abc', 'b', '%2'}, {'gsub', 'abc', 'b', '%x'},\n"
    "  {'gsub', 'aaa', 'a', 'b', 2}, {'gsub', 'aaa', '^a', 'b'},\n"
    "  {'gsub', 'a b', '%w', {a = 1, b = true}}, {'gsub', 'abc', 'b', "
    "false},\n"
    "  {'gsub', 'x = 1', '()=()', '%1%2'}, {'gsub', 'abc', 'x*', '-'},\n"
    "}\n"
    "local out = {}\n"
    "local function ser(...)\n"
    "  local t = table.pack(...)\n"
    "  for i = 1, t.n do t[i] = tostring(t[i]) end\n"
    "  return t.n .. ':' .. table.concat(t, '|', 1, t.n)\n"
    "end\n"
    "local up = function(c) return c:upper() end\n"
    "cases[#cases + 1] = {'gsub', 'abc', '%w', up}\n"
    "for _, c in ipairs(cases) do\n"
    "  local f = string[c[1]]\n"
    "  if c[1] == 'gmatch' then\n"
    "    out[#out + 1] = ser(pcall(function()\n"
    "      local acc = {}\n"
    "      for a, b in f(c[2], c[3], c[4]) do\n"
    "        acc[#acc + 1] = tostring(a) .. ',' .. tostring(b)\n"
    "      end\n"
    "      return table.concat(acc, ';')\n"
    "    end))\n"
    "  else\n"
    "    out[#out + 1] = ser(pcall(f, table.unpack(c, 2, 5)))\n"
    "  end\n"
    "end\n"
    "return table.concat(out, '\\n')\n";

static void test_patterns_differential(void)
{
    const char *name = "the matcher agrees with plain Lua's";
    lua_State *plain = luaL_newstate();
    struct probe p;
    struct mg_lua *st = state(&p, 0, 0, 0);
    char code[sizeof diff_script + 32];
    char why[512];
    const char *want, *got;

    start(name);
    luaL_openlibs(plain);
    if (luaL_loadstring(plain, diff_script) != LUA_OK ||
        lua_pcall(plain, 0, 1, 0) != LUA_OK) {
        fail(name, "plain Lua: %s", lua_tostring(plain, -1));
        goto done;
    }
    want = lua_tostring(plain, -1);
    snprintf(code, sizeof code, "keep(function()\n%s\nend)", diff_script);
    if (run(st, "diff.lua", code, why, sizeof why) != 0) {
        fail(name, "%s", why);
        goto done;
    }
    lua_rawgeti(mg_lua_state(st), LUA_REGISTRYINDEX, p.ref);
    if (mg_lua_call(st, 0, 1, why, sizeof why) != 0) {
        fail(name, "%s", why);
        goto done;
    }
    got = lua_tostring(mg_lua_state(st), -1);
    if (got == NULL || strcmp(want, got) != 0)
        fail(name, "plain Lua gave\n%s\nthe sandbox gave\n%s", want,
             got != NULL ? got : "(not a string)");
    if (verbose)
        printf("%s\n", want);
    lua_settop(mg_lua_state(st), 0);

done:
    mg_lua_free(st);
    lua_close(plain);
}

static void test_memory(void)
{
    size_t cap = (size_t)8 << 20;
    struct probe p;
    struct mg_lua *st = state(&p, cap, 0, 30);
    char why[512];

    start("the memory cap fails the call");
    want_error("the memory cap fails the call",
               run(st, "mem.lua", "local t = {}\nfor i = 1, 1e8 do t[i] = i end",
                   why, sizeof why),
               why, "mem.lua:2:", "not enough memory");
    if (mg_lua_memory(st) > cap)
        fail("the memory cap fails the call", "usage %zu over the cap",
             mg_lua_memory(st));
    if (mg_lua_memory(st) > cap / 2)
        fail("memory is given back after a memory error", "usage %zu",
             mg_lua_memory(st));
    if (run(st, "after.lua", "local t = {}\nfor i = 1, 1000 do t[i] = i end\n"
            "probe(#t)", why, sizeof why) != 0 || p.value != 1000)
        fail("the state is usable after a memory error", "%s", why);

    /* Refused before it allocates, with the cap in the message. */
    start("string.rep over the cap fails the call");
    want_error("string.rep over the cap fails the call",
               run(st, "rep.lua", "local s = string.rep('x', 2^30)", why,
                   sizeof why),
               why, "rep.lua:1:", "string.rep: result too large for the "
               "state's memory cap");
    /* Under the cap alone but not beside what is held: the allocator's
     * refusal, with the cap in the message. */
    start("string.rep past what is left of the cap fails the call");
    want_error("string.rep past what is left of the cap fails the call",
               run(st, "rep2.lua", "local a = string.rep('x', 5e6)\n"
                   "local b = string.rep('y', 5e6)", why, sizeof why),
               why, "rep2.lua:", "not enough memory (the state's cap");

    start("a memory error caught by pcall leaves the state usable");
    if (run(st, "caught.lua",
            "local ok, e = pcall(function()\n"
            "  local t = {}\n"
            "  for i = 1, 1e8 do t[i] = i end\n"
            "end)\n"
            "assert(not ok and e == 'not enough memory', e)\n"
            "local t = {}\n"
            "for i = 1, 1000 do t[i] = i end", why, sizeof why) != 0)
        fail("a memory error caught by pcall leaves the state usable", "%s",
             why);

    start("collectgarbage allows only count");
    if (run(st, "count.lua",
            "local kb = collectgarbage('count')\n"
            "assert(type(kb) == 'number' and kb > 0)\n"
            "assert(not pcall(collectgarbage))\n"
            "assert(not pcall(collectgarbage, 'stop'))\n"
            "assert(not pcall(collectgarbage, 'generational'))",
            why, sizeof why) != 0)
        fail("collectgarbage allows only count", "%s", why);
    mg_lua_free(st);

    start("a cap too small for the sandbox gives NULL");
    {
        struct mg_lua_limits tiny = {1024, 0, 0};
        struct mg_lua *t = mg_lua_new(&tiny, NULL, NULL);

        if (t != NULL) {
            fail("a cap too small for the sandbox gives NULL", "got a state");
            mg_lua_free(t);
        }
    }
}

int main(void)
{
    verbose = getenv("MG_TEST_VERBOSE") != NULL;
    setvbuf(stdout, NULL, _IONBF, 0);
    test_budget();
    test_charged();
    test_patterns_budget();
    test_patterns_results();
    test_patterns_differential();
    test_memory();
    return mg_test_summary("test_lua_budget");
}
