/* mg_lua_sandbox: the allow-listed environment every script runs in: the
 * names a script can reach, the library functions replaced to keep one
 * script from reaching past its budget or into another (collectgarbage,
 * setmetatable, xpcall, table.move/insert/remove, load), the read-only
 * per-file library proxies and the _ENV each file gets. */
#include "mg_lua_int.h"
#include "mg_common.h"
#include "mg_lua_lib.h"
#include "mg_lua_str.h"

#include <string.h>

#include <lualib.h>

static int l_collectgarbage(lua_State *L);
static int l_setmetatable(lua_State *L);
static int l_tab_insert(lua_State *L);
static int l_tab_move(lua_State *L);
static int l_tab_remove(lua_State *L);
static int l_xpcall(lua_State *L);

/* The allow-lists: every name a script can reach, and nothing else. Each
 * table is built from its list and checked against it at state creation. */
static const char *const base_names[] = {
    "_VERSION", "assert", "collectgarbage", "error", "getmetatable",
    "ipairs", "next", "pairs", "pcall", "print", "rawequal", "rawget",
    "rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring",
    "type", "xpcall", NULL};
/* Each file's own globals: _G is the file's _ENV, load defaults to it. */
static const char *const env_names[] = {
    "_G", "load", "string", "table", "math", "utf8", "os", NULL};
/* No dump: it would hand out bytecode, and load refuses that anyway. */
static const char *const string_names[] = {
    "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower",
    "match", "pack", "packsize", "rep", "reverse", "sub", "unpack", "upper",
    NULL};
static const char *const table_names[] = {
    "concat", "insert", "move", "pack", "remove", "sort", "unpack", NULL};
static const char *const math_names[] = {
    "abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor",
    "fmod", "huge", "log", "max", "maxinteger", "min", "mininteger", "modf",
    "pi", "rad", "random", "randomseed", "sin", "sqrt", "tan", "tointeger",
    "type", "ult", NULL};
static const char *const utf8_names[] = {
    "char", "charpattern", "codepoint", "codes", "len", "offset", NULL};
static const char *const os_names[] = {"clock", "date", "time", NULL};

/* Replacements: each gets the library's original as upvalue 1. */
static const luaL_Reg base_own[] = {
    {"collectgarbage", l_collectgarbage},
    {"setmetatable", l_setmetatable},
    {"xpcall", l_xpcall},
    {NULL, NULL}};
static const luaL_Reg table_own[] = {
    {"insert", l_tab_insert},
    {"move", l_tab_move},
    {"remove", l_tab_remove},
    {NULL, NULL}};

struct lib {
    const char *name;
    lua_CFunction open;
    const char *const *names;
    const luaL_Reg *own;
    const luaL_Reg *metered;    /* mg_lua_lib's, charged by size */
};

static const struct lib libs[NLIBS] = {
    [LIB_STRING] = {LUA_STRLIBNAME, luaopen_string, string_names, NULL,
                    mg_lua_lib_string},
    [LIB_TABLE] = {LUA_TABLIBNAME, luaopen_table, table_names, table_own,
                   mg_lua_lib_table},
    [LIB_MATH] = {LUA_MATHLIBNAME, luaopen_math, math_names, NULL, NULL},
    [LIB_UTF8] = {LUA_UTF8LIBNAME, luaopen_utf8, utf8_names, NULL,
                  mg_lua_lib_utf8},
    [LIB_OS] = {LUA_OSLIBNAME, luaopen_os, os_names, NULL, NULL},
};

static lua_Integer max_slots(lua_State *L)
{
    void *ud;

    lua_getallocf(L, &ud);
    return (lua_Integer)(((struct mg_lua *)ud)->cap / SLOT_BYTES);
}

/* ---- replaced library functions -------------------------------------- */

/* Only "count": the rest would let one script stop or retune the
 * collector for every script sharing the state. */
static int l_collectgarbage(lua_State *L)
{
    const char *opt = luaL_optstring(L, 1, "collect");

    if (strcmp(opt, "count") != 0)
        return luaL_error(L, "collectgarbage(\"%s\") is not allowed; only "
                             "\"count\" is", opt);
    lua_pushnumber(L, (lua_Number)lua_gc(L, LUA_GCCOUNT, 0) +
                      (lua_Number)lua_gc(L, LUA_GCCOUNTB, 0) / 1024);
    return 1;
}

/* setmetatable without finalizers: a __gc would run user code inside any
 * later allocation, outside every budget, even in lua_close. Any non-nil
 * __gc marks the table (a later function value would then run), so all are
 * refused. */
static int l_setmetatable(lua_State *L)
{
    int t = lua_type(L, 2);

    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "__gc metamethods are not allowed");
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* xpcall's handler goes through this one. The budget error is raised from
 * inside the count hook, where Lua has switched hooks off until the error
 * reaches a pcall; a script's handler run then would loop unbudgeted, so
 * once the call has tripped the error passes through untouched. */
static int l_xpcall_handler(lua_State *L)
{
    struct mg_call *c = mg_lua_current(L);

    if (c != NULL && c->tripped != NULL)
        return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int l_xpcall(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, l_xpcall_handler, 1);
    lua_replace(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* table.move, insert and remove loop in C over a range or a length the
 * script chooses (a sparse table's border can be 2^62): bound the range
 * by what the cap could hold and charge it to the budget. */
static void bound(lua_State *L, lua_Integer from, lua_Integer to,
                  const char *what)
{
    lua_Unsigned n;

    if (to < from)
        return;
    n = (lua_Unsigned)to - (lua_Unsigned)from;
    if (n >= (lua_Unsigned)max_slots(L))
        luaL_error(L, "%s: too many elements (%I)", what, (lua_Integer)n);
    mg_lua_charge(L, (uint64_t)n);
}

static int l_tab_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);

    bound(L, f, e, "table.move");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* As ltablib.c's tinsert, reading the length once so a __len cannot
 * answer the bound check and the loop differently. */
static int l_tab_insert(lua_State *L)
{
    lua_Integer e, pos;

    luaL_checktype(L, 1, LUA_TTABLE);
    e = luaL_len(L, 1);
    e = (lua_Integer)((lua_Unsigned)e + 1u);   /* first empty element */
    switch (lua_gettop(L)) {
    case 2:
        pos = e;
        break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2,
                      "position out of bounds");
        bound(L, pos, e, "table.insert");
        for (lua_Integer i = e; i > pos; i--) {
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
        }
        break;
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

/* As ltablib.c's tremove, with the same bound. */
static int l_tab_remove(lua_State *L)
{
    lua_Integer size, pos;

    luaL_checktype(L, 1, LUA_TTABLE);
    size = luaL_len(L, 1);
    pos = luaL_optinteger(L, 2, size);
    if (pos != size)
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2,
                      "position out of bounds");
    bound(L, pos, size, "table.remove");
    lua_geti(L, 1, pos);
    for (; pos < size; pos++) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

/* load, bound to one file's _ENV (upvalue 2): text only, and the chunk
 * sees that _ENV unless the script passes one; never the real globals. */
static int l_load(lua_State *L)
{
    int t = lua_type(L, 1);
    int has_env = lua_gettop(L) >= 4;

    luaL_argexpected(L, t == LUA_TSTRING || t == LUA_TNUMBER ||
                     t == LUA_TFUNCTION, 1, "string or function");
    lua_settop(L, 4);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "t");
    lua_pushvalue(L, has_env ? 4 : lua_upvalueindex(2));
    lua_call(L, 4, LUA_MULTRET);
    return lua_gettop(L) - 4;
}

/* The proxies' __newindex; upvalue 1 is the library's name. */
static int l_readonly(lua_State *L)
{
    return luaL_error(L, "attempt to modify read-only table '%s'",
                      lua_tostring(L, lua_upvalueindex(1)));
}

/* pairs() on a proxy walks the hidden table without handing it out: the
 * iterator keeps it as an upvalue and the state value is nil. */
static int l_proxy_next(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_next(L, lua_upvalueindex(1)))
        return 2;
    lua_pushnil(L);
    return 1;
}

static int l_proxy_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushnil(L);
    lua_pushnil(L);
    return 3;
}

/* ---- building the sandbox -------------------------------------------- */

static const luaL_Reg *find_reg(const luaL_Reg *r, const char *name)
{
    for (; r != NULL && r->name != NULL; r++)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

int mg_lua_listed(const char *const *names, const char *name)
{
    for (; *names != NULL; names++)
        if (strcmp(*names, name) == 0)
            return 1;
    return 0;
}

/* 1 when the table's raw keys are exactly names. */
static int keys_exactly(lua_State *L, int t, const char *const *names)
{
    size_t want = 0, have = 0;

    t = lua_absindex(L, t);
    for (; names[want] != NULL; want++) {
        lua_pushstring(L, names[want]);
        if (lua_rawget(L, t) == LUA_TNIL)
            return 0;
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        have++;
    }
    return have == want;
}

/* Fills dst with exactly names, each taken from src or replaced from own
 * (the replacement gets the original as upvalue 1). A name src lacks is
 * our bug: the allow-list must match the Lua we link. */
static void fill(lua_State *L, int src, int dst, const char *const *names,
                 const luaL_Reg *own, const luaL_Reg *metered)
{
    src = lua_absindex(L, src);
    dst = lua_absindex(L, dst);
    for (const char *const *n = names; *n != NULL; n++) {
        const luaL_Reg *r = find_reg(own, *n);

        if (r == NULL)
            r = find_reg(metered, *n);

        lua_pushstring(L, *n);
        mg_require(lua_rawget(L, src) != LUA_TNIL);
        if (r != NULL)
            lua_pushcclosure(L, r->func, 1);
        lua_setfield(L, dst, *n);
    }
    mg_require(keys_exactly(L, dst, names));
}

/* Pushes a fresh _ENV for one file: its own _G, load and library proxies,
 * falling through to the shared sandbox globals. */
void mg_lua_push_env(lua_State *L, struct mg_lua *st)
{
    lua_createtable(L, 0, 8);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->ref_load);
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, l_load, 2);
    lua_setfield(L, -2, "load");
    /* Proxies per file: rawset on a shared one would reach every file. */
    for (int i = 0; i < NLIBS; i++) {
        lua_createtable(L, 0, 0);
        lua_rawgeti(L, LUA_REGISTRYINDEX, st->ref_proxy_mt[i]);
        lua_setmetatable(L, -2);
        lua_setfield(L, -2, libs[i].name);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->ref_env_mt);
    lua_setmetatable(L, -2);
}

/* A miss in a hidden table (the globals, a library's copy) goes to
 * mg_lua_diag_removed: a removed name raises and says so, others read nil.
 * Hits never get here, so the hot path is unchanged. */
static void refuse_removed(lua_State *L, int t, const char *lib)
{
    t = lua_absindex(L, t);
    lua_createtable(L, 0, 1);
    lua_pushstring(L, lib);
    lua_pushcclosure(L, mg_lua_diag_removed, 1);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, t);
}

/* The hidden copy of a library (its allow-listed names) and the metatable
 * its proxies share: reads fall through, writes raise, getmetatable says
 * false, pairs walks the copy. */
static void build_lib(lua_State *L, struct mg_lua *st, int i)
{
    const struct lib *lib = &libs[i];
    int real, copy;

    luaL_requiref(L, lib->name, lib->open, 0);
    real = lua_gettop(L);
    /* The metered matcher replaces upstream's in the hidden real table as
     * well, so the copy takes it from there and an argument error names it
     * "string.find" as plain Lua does. */
    if (i == LIB_STRING)
        luaL_setfuncs(L, mg_lua_str_funcs, 0);
    lua_createtable(L, 0, 32);
    copy = lua_gettop(L);
    fill(L, real, copy, lib->names, lib->own, lib->metered);
    refuse_removed(L, copy, lib->name);
    if (i == LIB_STRING) {
        /* ("").dump and friends go through the string metatable: point it
         * at the copy, and keep getmetatable("") from handing it out. */
        lua_pushliteral(L, "");
        mg_require(lua_getmetatable(L, -1));
        lua_pushvalue(L, copy);
        lua_setfield(L, -2, "__index");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 2);
    }
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, copy);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, lib->name);
    lua_pushcclosure(L, l_readonly, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, copy);
    lua_pushcclosure(L, l_proxy_next, 1);
    lua_pushcclosure(L, l_proxy_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    st->ref_proxy_mt[i] = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, real - 1);
}

/* Runs under lua_pcall so running out of memory here is an error, not a
 * panic. */
int mg_lua_setup(lua_State *L)
{
    struct mg_lua_setup *su = lua_touserdata(L, 1);
    struct mg_lua *st = su->st;
    int real, sandbox;

    /* The real globals hold the base library; they are never exposed. */
    luaL_requiref(L, LUA_GNAME, luaopen_base, 0);
    real = lua_gettop(L);
    lua_getfield(L, real, "load");
    st->ref_load = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, 0, 32);
    sandbox = lua_gettop(L);
    fill(L, real, sandbox, base_names, base_own, mg_lua_lib_base);
    for (const luaL_Reg *r = su->dsl; r != NULL && r->name != NULL; r++) {
        mg_require(r->func != NULL);
        mg_require(!mg_lua_listed(base_names, r->name));
        mg_require(!mg_lua_listed(env_names, r->name));
        lua_pushlightuserdata(L, su->ctx);
        mg_lua_push_dsl(L, r->func, 1);
        lua_setfield(L, sandbox, r->name);
    }
    refuse_removed(L, sandbox, "");
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, sandbox);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    st->ref_env_mt = luaL_ref(L, LUA_REGISTRYINDEX);
    for (int i = 0; i < NLIBS; i++)
        build_lib(L, st, i);
    mg_lua_push_env(L, st);
    mg_require(keys_exactly(L, -1, env_names));
    return 0;
}
