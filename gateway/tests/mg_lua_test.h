/* mg_lua_test: the fixture test_lua.c and test_lua_budget.c share: a
 * state with a small DSL (probe, keep, reenter) that records into a
 * struct probe, running a buffer as a file, and the checks of a case that
 * must run clean or fail with a given message. Each test is one
 * translation unit, so these are static here, as in mg_test.h. */
#ifndef MG_LUA_TEST_H
#define MG_LUA_TEST_H

#include "mg_common.h"
#include "mg_lua.h"
#include "mg_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int verbose;     /* MG_TEST_VERBOSE=1: name each case as it starts */

static void start(const char *name)
{
    MG_TEST_CASE();
    if (verbose)
        printf("case: %s\n", name);
}

/* A failure of the case called name, at the line that found it. */
#define fail(name, ...) mg_test_fail(__FILE__, __LINE__, (name), " " __VA_ARGS__)

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

#endif
