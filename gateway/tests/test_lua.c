/* test_lua: the sandbox in mg_lua.c, one named case per escape attempt (as
 * Redis's "Try trick global protection 1..4"), then the budget, the
 * deadline, the memory cap and the error messages. Prints each failing
 * case; exits 1 if any failed. */
#include "mg_common.h"
#include "mg_lua.h"
#include "mg_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lualib.h>

static int verbose;     /* MG_TEST_VERBOSE=1: name each case as it starts */

static void start(const char *name)
{
    MG_TEST_CASE();
    if (verbose)
        printf("case: %s\n", name);
}

/* A failure of the case called name, at the line that found it. */
#define fail(name, ...) mg_test_fail(__FILE__, __LINE__, (name), " " __VA_ARGS__)

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What the DSL functions below record; their ctx upvalue points here. */
struct probe {
    struct mg_lua *st;
    lua_Integer value;
    int calls;
    char where[64];
    int ref;
    int reenter_rc;
    char reenter_why[MG_WHY_LEN];
};

static int l_probe(lua_State *L)
{
    struct probe *p = lua_touserdata(L, lua_upvalueindex(1));

    p->value = luaL_checkinteger(L, 1);
    p->calls++;
    mg_lua_where(L, p->where, sizeof p->where);
    return 0;
}

/* keep(f): holds f in the registry for the test to call from C. */
static int l_keep(lua_State *L)
{
    struct probe *p = lua_touserdata(L, lua_upvalueindex(1));

    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    p->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int l_nothing(lua_State *L)
{
    (void)L;
    return 0;
}

static int l_reenter(lua_State *L)
{
    struct probe *p = lua_touserdata(L, lua_upvalueindex(1));

    lua_pushcfunction(L, l_nothing);
    p->reenter_rc = mg_lua_call(p->st, 0, 0, p->reenter_why,
                                sizeof p->reenter_why);
    return 0;
}

static const luaL_Reg dsl[] = {
    {"probe", l_probe},
    {"keep", l_keep},
    {"reenter", l_reenter},
    {NULL, NULL}};

static struct mg_lua *state(struct probe *p, size_t mem, uint64_t ins,
                            double secs)
{
    struct mg_lua_limits lim = {mem, ins, secs};

    memset(p, 0, sizeof *p);
    p->ref = LUA_NOREF;
    p->st = mg_lua_new(&lim, dsl, p);
    if (p->st == NULL) {
        printf("FAIL mg_lua_new returned NULL\n");
        exit(1);
    }
    return p->st;
}

static int run(struct mg_lua *st, const char *file, const char *code,
               char *why, size_t whylen)
{
    why[0] = '\0';
    return mg_lua_run_buffer(st, code, strlen(code), file, why, whylen);
}

/* A script that asserts its own conditions must run clean. */
static void ok_case(const char *name, const char *code)
{
    struct probe p;
    struct mg_lua *st = state(&p, 0, 0, 0);
    char why[512];

    start(name);
    if (run(st, "case.lua", code, why, sizeof why) != 0)
        fail(name, "%s", why);
    mg_lua_free(st);
}

/* Checks a failure's message starts with prefix and contains needle. */
static void want_error(const char *name, int rc, const char *why,
                       const char *prefix, const char *needle)
{
    if (rc == 0)
        fail(name, "succeeded; expected \"%s\"", needle);
    else if (strncmp(why, prefix, strlen(prefix)) != 0)
        fail(name, "message does not start with \"%s\": %s", prefix, why);
    else if (strstr(why, needle) == NULL)
        fail(name, "message lacks \"%s\": %s", needle, why);
}

static void fail_case(const char *name, const char *code, const char *prefix,
                      const char *needle)
{
    struct probe p;
    struct mg_lua *st = state(&p, 0, 0, 0);
    char why[512];

    start(name);
    want_error(name, run(st, "case.lua", code, why, sizeof why), why, prefix,
               needle);
    mg_lua_free(st);
}

/* File a changes what it can; file b, run next in the same state, must see
 * everything as it was. */
static void two_files(const char *name, const char *a, const char *b)
{
    struct probe p;
    struct mg_lua *st = state(&p, 0, 0, 0);
    char why[512];

    start(name);
    if (run(st, "a.lua", a, why, sizeof why) != 0)
        fail(name, "file a: %s", why);
    else if (run(st, "b.lua", b, why, sizeof why) != 0)
        fail(name, "file b: %s", why);
    mg_lua_free(st);
}

/* ---- absent and refused ----------------------------------------------- */

static void test_absent(void)
{
    /* What stock Lua has and the sandbox removed: reading it raises and
     * names it, rather than a nil that fails later as "attempt to index". */
    static const char *const refused[] = {
        "io", "require", "dofile", "loadfile", "package", "debug",
        "coroutine", "warn", "loadstring", "module", "setfenv",
        "getfenv", "os.execute", "os.exit", "os.getenv", "os.remove",
        "os.rename", "os.tmpname", "os.setlocale", "os.difftime",
        "string.dump", NULL};
    /* Names stock 5.4 lacks too: nil, as any unknown name. */
    static const char *const absent[] = {"unpack", "math.pow", "math.cosh",
                                         "no_such_global", NULL};

    for (const char *const *n = refused; *n != NULL; n++) {
        char name[64], code[256];

        snprintf(name, sizeof name, "%s is refused by name", *n);
        snprintf(code, sizeof code,
                 "local ok, e = pcall(function() return %s end) "
                 "assert(not ok, '%s is reachable') "
                 "assert(e:find('%s is not available in moongate scripts', 1, "
                 "true), e)", *n, *n, *n);
        ok_case(name, code);
    }
    for (const char *const *n = absent; *n != NULL; n++) {
        char name[64], code[128];

        snprintf(name, sizeof name, "%s is absent", *n);
        snprintf(code, sizeof code, "assert(%s == nil, '%s is reachable')",
                 *n, *n);
        ok_case(name, code);
    }
    ok_case("the allowed globals are there",
            "for _, f in ipairs{assert, error, getmetatable, ipairs, next, "
            "pairs, pcall, print, rawequal, rawget, rawlen, rawset, select, "
            "setmetatable, tonumber, tostring, type, xpcall, load, "
            "collectgarbage, os.time, os.clock, os.date, string.format, "
            "table.concat, math.floor, utf8.char} do "
            "assert(type(f) == 'function') end "
            "assert(_VERSION == 'Lua 5.4') "
            "assert(type(os.time()) == 'number') "
            "assert(type(os.date('!%Y')) == 'string')");
}

static void test_dump(void)
{
    ok_case("Try trick dump 1: string.dump",
            "assert(not pcall(function() return string.dump end))");
    ok_case("Try trick dump 2: (\"\").dump",
            "assert(not pcall(function() return (\"\").dump end))");
    ok_case("Try trick dump 3: method call on a literal",
            "assert(not pcall(function() return ('x'):dump() end))");
    ok_case("Try trick dump 4: getmetatable(\"\").__index",
            "assert(getmetatable('') == false) "
            "assert(not pcall(function() return getmetatable('').__index "
            "end))");
    ok_case("Try trick dump 5: pairs over string",
            "for k in pairs(string) do assert(k ~= 'dump') end");
    ok_case("string methods still work",
            "assert(('abc'):upper() == 'ABC') "
            "assert(('%d'):format(3) == '3') "
            "assert(('x'):rep(3, ',') == 'x,x,x') "
            "assert('10' + 1 == 11)");
}

/* A real binary chunk, made by a plain state outside the sandbox. */
struct bytes {
    char *p;
    size_t n;
};

static int writer(lua_State *L, const void *p, size_t n, void *ud)
{
    struct bytes *b = ud;
    char *q = realloc(b->p, b->n + n);

    (void)L;
    if (q == NULL)
        return 1;
    memcpy(q + b->n, p, n);
    b->p = q;
    b->n += n;
    return 0;
}

static char *bytecode(size_t *len)
{
    lua_State *L = luaL_newstate();
    struct bytes b = {NULL, 0};

    luaL_loadstring(L, "return 42");
    lua_dump(L, writer, &b, 0);
    lua_close(L);
    if (b.n < 4 || memcmp(b.p, LUA_SIGNATURE, 4) != 0) {
        printf("FAIL lua_dump made no bytecode\n");
        exit(1);
    }
    *len = b.n;
    return b.p;
}

static void test_bytecode(void)
{
    size_t len;
    char *bc = bytecode(&len);
    struct probe p;
    struct mg_lua *st;
    char why[512];
    int rc;

    start("a binary file is refused");
    st = state(&p, 0, 0, 0);
    rc = mg_lua_run_buffer(st, bc, len, "bin.lua", why, sizeof why);
    want_error("a binary file is refused", rc, why, "bin.lua:1:",
               "binary chunk");
    mg_lua_free(st);

    start("load refuses a binary chunk");
    st = state(&p, 0, 0, 0);
    rc = run(st, "load.lua",
             "keep(function(b)\n"
             "  local f, e = load(b)\n"
             "  assert(f == nil, 'load took bytecode')\n"
             "  assert(e:find('binary'), e)\n"
             "  f, e = load(b, 'x', 'b')\n"
             "  assert(f == nil, 'mode b took bytecode')\n"
             "  f, e = load(b, 'x', 'bt', _ENV)\n"
             "  assert(f == nil, 'mode bt took bytecode')\n"
             "  local parts = {b}\n"
             "  f = load(function() return table.remove(parts) end)\n"
             "  assert(f == nil, 'a reader took bytecode')\n"
             "end)\n", why, sizeof why);
    if (rc != 0) {
        fail("load refuses a binary chunk", "%s", why);
    } else {
        lua_State *L = mg_lua_state(st);

        lua_rawgeti(L, LUA_REGISTRYINDEX, p.ref);
        lua_pushlstring(L, bc, len);
        if (mg_lua_call(st, 1, 0, why, sizeof why) != 0)
            fail("load refuses a binary chunk", "%s", why);
        if (lua_gettop(L) != 0)
            fail("load refuses a binary chunk", "stack left at %d",
                 lua_gettop(L));
    }
    mg_lua_free(st);
    free(bc);
}

static void test_load(void)
{
    ok_case("load defaults to the file's own env",
            "x = 5\n"
            "assert(load('return x')() == 5)\n"
            "load('y = 7')()\n"
            "assert(y == 7)\n"
            "assert(not pcall(load('return dofile, io')))");
    ok_case("load takes an explicit env",
            "assert(load('return z', 'c', 't', {z = 3})() == 3)");
    ok_case("load with a nil env sees nothing",
            "local f = load('return string', 'c', 't', nil)\n"
            "assert(not pcall(f))");
    ok_case("load's chunk cannot reach the real globals",
            "local f = load('return _G, rawget(_G, \"require\"), "
            "rawget(_G, \"debug\")')\n"
            "local g, r, d = f()\n"
            "assert(g == _G and r == nil and d == nil)\n"
            "assert(not pcall(load('return require')))");
    fail_case("load's chunk errors carry a position",
              "load('error(\"inner\")', '=inner')()", "inner:1:", "inner");
}

static void test_metatables(void)
{
    ok_case("Try trick metatable 1: __gc refused",
            "assert(not pcall(setmetatable, {}, {__gc = function() end}))");
    ok_case("Try trick metatable 2: __gc = false refused",
            "assert(not pcall(setmetatable, {}, {__gc = false}))");
    ok_case("Try trick metatable 3: __gc added later is never marked",
            "local mt = {}\n"
            "local t = setmetatable({}, mt)\n"
            "mt.__gc = function() while true do end end\n"
            "t = nil");
    ok_case("Try trick metatable 4: proxies and _ENV are protected",
            "assert(getmetatable(string) == false)\n"
            "assert(getmetatable(math) == false)\n"
            "assert(getmetatable(_ENV) == false)\n"
            "assert(not pcall(setmetatable, string, {}))\n"
            "assert(not pcall(setmetatable, _ENV, nil))");
    ok_case("plain setmetatable still works",
            "local t = setmetatable({}, {__index = function() return 1 end})\n"
            "assert(t.x == 1)\n"
            "local p = setmetatable({}, {__metatable = 'locked'})\n"
            "assert(getmetatable(p) == 'locked')\n"
            "assert(not pcall(setmetatable, p, {}))");
}

/* ---- one file cannot change another ------------------------------------ */

static const char check_libs[] =
    "assert(string.rep('a', 3) == 'aaa', 'string.rep')\n"
    "assert(('a'):rep(2) == 'aa', 'string method')\n"
    "assert(math.floor(1.5) == 1, 'math.floor')\n"
    "assert(type(table.insert) == 'function', 'table.insert')\n"
    "assert(type(os.time) == 'function', 'os.time')\n"
    "assert(utf8.char(72) == 'H', 'utf8.char')\n"
    "assert(type(print) == 'function', 'print')\n"
    "assert(type(pairs) == 'function', 'pairs')\n"
    "assert(_G == _ENV, '_G')\n";

static void test_poison(void)
{
    two_files("Try trick global protection 1: assign to library fields",
              "assert(not pcall(function() string.rep = nil end))\n"
              "assert(not pcall(function() math.floor = function() "
              "return 42 end end))\n"
              "assert(not pcall(function() table.insert = nil end))\n"
              "assert(not pcall(function() os.time = nil end))\n"
              "assert(not pcall(function() string.evil = 1 end))\n"
              "assert(string.rep('a', 2) == 'aa')",
              check_libs);
    two_files("Try trick global protection 2: rawset on library tables",
              "rawset(string, 'rep', function() return 'pwned' end)\n"
              "rawset(math, 'floor', function() return 42 end)\n"
              "rawset(table, 'insert', false)\n"
              "rawset(utf8, 'char', nil)\n"
              "assert(string.rep('a', 3) == 'pwned')",
              check_libs);
    two_files("Try trick global protection 3: replace the globals",
              "string = {rep = function() return 'pwned' end}\n"
              "math = nil\n"
              "print = nil\n"
              "rawset(_G, 'table', {})\n"
              "pairs = function() end\n"
              "_G = {}",
              check_libs);
    two_files("Try trick global protection 4: through load and pairs",
              "for k, v in pairs(string) do\n"
              "  assert(type(v) == 'function')\n"
              "end\n"
              "local n = 0\n"
              "for k in pairs(string) do n = n + 1 end\n"
              "assert(n == 16, 'string has ' .. n .. ' names')\n"
              "local it, s = pairs(math)\n"
              "assert(s == nil, 'pairs handed out the hidden table')\n"
              "assert(not pcall(it, nil, 'no such key'))\n"
              "load('string = nil; math = nil; _G.table = nil')()\n"
              "assert(string == nil and math == nil and table == nil)",
              check_libs);
    two_files("globals defined in one file stay there",
              "secret = 1\nfunction helper() return 2 end\n",
              "assert(secret == nil and helper == nil)");
}

/* ---- the DSL ----------------------------------------------------------- */

static void test_dsl(void)
{
    struct probe p;
    struct mg_lua *st = state(&p, 0, 0, 0);
    char why[512];

    start("a DSL function sees its ctx");
    if (run(st, "dsl.lua", "local x = 40\nprobe(x + 1)\n", why,
            sizeof why) != 0)
        fail("a DSL function sees its ctx", "%s", why);
    else if (p.calls != 1 || p.value != 41)
        fail("a DSL function sees its ctx", "calls %d value %lld", p.calls,
             (long long)p.value);
    else if (strcmp(p.where, "dsl.lua:2") != 0)
        fail("mg_lua_where inside a DSL function", "got \"%s\"", p.where);

    start("re-entrant calls are refused");
    if (run(st, "re.lua", "reenter()", why, sizeof why) != 0)
        fail("re-entrant calls are refused", "%s", why);
    else if (p.reenter_rc != -1 || strstr(p.reenter_why, "re-entrant") == NULL)
        fail("re-entrant calls are refused", "rc %d: %s", p.reenter_rc,
             p.reenter_why);

    start("mg_lua_where outside a call");
    {
        char where[64];

        if (strcmp(mg_lua_where(mg_lua_state(st), where, sizeof where),
                   "?") != 0)
            fail("mg_lua_where outside a call", "got \"%s\"", where);
    }

    start("mg_lua_call passes arguments and results");
    if (run(st, "fn.lua", "keep(function(a, b) return a + b, a * b end)",
            why, sizeof why) != 0) {
        fail("mg_lua_call passes arguments and results", "%s", why);
    } else {
        lua_State *L = mg_lua_state(st);

        lua_rawgeti(L, LUA_REGISTRYINDEX, p.ref);
        lua_pushinteger(L, 3);
        lua_pushinteger(L, 4);
        if (mg_lua_call(st, 2, 2, why, sizeof why) != 0)
            fail("mg_lua_call passes arguments and results", "%s", why);
        else if (lua_gettop(L) != 2 || lua_tointeger(L, 1) != 7 ||
                 lua_tointeger(L, 2) != 12)
            fail("mg_lua_call passes arguments and results", "bad results");
        lua_settop(L, 0);
    }
    mg_lua_free(st);
}

/* ---- messages ---------------------------------------------------------- */

static void test_messages(void)
{
    fail_case("runtime errors start with file:line",
              "local a = 1\nlocal t = nil\nt.x = a\n", "case.lua:3:",
              "attempt to index");
    fail_case("error(msg) starts with file:line",
              "\nerror('boom')", "case.lua:2:", "boom");
    fail_case("error(msg, 0) still gets file:line",
              "\n\nerror('bare', 0)", "case.lua:3:", "bare");
    fail_case("error with a table object is clear",
              "error({code = 1})", "case.lua:1:",
              "(error object is a table value)");
    fail_case("error with a number", "error(42)", "case.lua:1:", "42");
    fail_case("an error object's __tostring is never called",
              "error(setmetatable({}, {__tostring = function() "
              "while true do end end}))",
              "case.lua:1:", "(error object is a table value)");
    fail_case("error from a library function", "string.rep()",
              "case.lua:1:", "bad argument #1");
    fail_case("syntax errors start with file:line", "local x = 1\nx = = 2\n",
              "case.lua:2:", "unexpected symbol");
    fail_case("the message has a traceback", "error('x')", "case.lua:1:",
              "stack traceback:");
    fail_case("deep recursion is an error",
              "local function f() return 1 + f() end\nf()", "case.lua:1:",
              "");
    fail_case("nested pcalls hit the C stack limit",
              "local function f() return pcall(f) end\n"
              "local ok = f()\nerror('done')",
              "case.lua:3:", "done");
}

static void test_files(void)
{
    char path[] = "/tmp/test_lua_XXXXXX";
    int fd = mkstemp(path);
    struct probe p;
    struct mg_lua *st = state(&p, 0, 0, 0);
    char why[512];
    static const char body[] = "probe(7)\n";

    start("mg_lua_run_file");
    if (fd < 0 || write(fd, body, sizeof body - 1) != sizeof body - 1) {
        fail("mg_lua_run_file", "cannot write %s", path);
    } else if (mg_lua_run_file(st, path, why, sizeof why) != 0) {
        fail("mg_lua_run_file", "%s", why);
    } else if (p.value != 7) {
        fail("mg_lua_run_file", "the file did not run");
    }
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    start("mg_lua_run_file on a missing file");
    if (mg_lua_run_file(st, "/nonexistent/x.lua", why, sizeof why) == 0 ||
        strncmp(why, "/nonexistent/x.lua:", 19) != 0)
        fail("mg_lua_run_file on a missing file", "%s", why);
    mg_lua_free(st);
    mg_lua_free(NULL);
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
    test_absent();
    test_dump();
    test_bytecode();
    test_load();
    test_metatables();
    test_poison();
    test_dsl();
    test_messages();
    test_files();
    test_budget();
    test_charged();
    test_patterns_budget();
    test_patterns_results();
    test_patterns_differential();
    test_memory();
    return mg_test_summary("test_lua");
}
