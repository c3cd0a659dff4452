/* test_lua: the sandbox in mg_lua_sandbox.c, one named case per escape
 * attempt (as Redis's "Try trick global protection 1..4"), then the DSL,
 * the error messages and the file loaders; the budget, deadline and memory
 * cap are test_lua_budget.c's. Prints each failing case; exits 1 if any
 * failed. */
#include "mg_lua_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lualib.h>

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
    return mg_test_summary("test_lua");
}
