/* mg_lua_int: a Lua state's bookkeeping (struct mg_lua) and the running
 * call, shared by mg_lua.c (the states, allocator, budget and calls) and
 * mg_lua_sandbox.c (the allow-listed environment). Nothing else includes
 * it. */
#ifndef MG_LUA_INT_H
#define MG_LUA_INT_H

#include "mg_lua.h"
#include "mg_lua_diag.h"

#include <stdint.h>

/* A table slot costs at least 16 bytes, so a library loop over more slots
 * than the cap could hold is walking a sparse border or a made-up length. */
#define SLOT_BYTES 16
#define WHERE_LEN (LUA_IDSIZE + 24)

enum { LIB_STRING, LIB_TABLE, LIB_MATH, LIB_UTF8, LIB_OS, NLIBS };

struct mg_lua {
    lua_State *L;
    size_t used;                /* bytes allocated now */
    size_t cap;
    uint64_t instructions;
    double seconds;
    int busy;                   /* inside mg_lua_call: refuse re-entry */
    struct mg_call *call;       /* the running call, for the allocator */
    int refused;                /* the cap refused an allocation */
    int ref_env_mt;             /* metatable of every file's _ENV */
    int ref_load;               /* the real load; only l_load calls it */
    int ref_proxy_mt[NLIBS];    /* metatables of the library proxies */
    struct mg_lua_diag diag;    /* what a load collects */
};

/* The running call, kept in lua_getextraspace while mg_lua_call runs. */
struct mg_call {
    uint64_t used;
    uint64_t budget;
    uint64_t clock_at;          /* read the clock once used reaches this */
    double deadline;            /* 0 until the clock is first read */
    double seconds;
    int step;
    const char *tripped;        /* set once a limit trips; then sticky */
    /* Where the script was at the last hook: a memory error carries no
     * position and unwinds the stack before mg_lua_call sees it. */
    char where[WHERE_LEN];
};

/* What mg_lua_setup builds the sandbox from: the state, the DSL functions
 * (each given ctx as upvalue) and their context. */
struct mg_lua_setup {
    struct mg_lua *st;
    const luaL_Reg *dsl;
    void *ctx;
};

/* The running call, kept in lua_getextraspace while mg_lua_call runs. */
static inline struct mg_call *mg_lua_current(lua_State *L)
{
    return *(struct mg_call **)lua_getextraspace(L);
}

/* Builds the sandbox: a lua_CFunction run under lua_pcall with a struct
 * mg_lua_setup as light userdata 1. */
int mg_lua_setup(lua_State *L);

/* Pushes a fresh _ENV for one file. */
void mg_lua_push_env(lua_State *L, struct mg_lua *st);

/* 1 when name is in the NULL-ended names. */
int mg_lua_listed(const char *const *names, const char *name);

#endif
