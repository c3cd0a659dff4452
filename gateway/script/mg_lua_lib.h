/* mg_lua_lib: library functions mg_lua's sandbox replaces. The string,
 * table and utf8 functions whose work grows with their arguments are
 * charged their bytes or elements through mg_lua_charge_work before they
 * work, and the ones that loop long (rep, upper, lower, reverse, concat)
 * read the clock as they go; print writes rate-limited lines to mg_log.
 * Owns only print's limiter (one per state, in its registry); knows
 * nothing of the sandbox beyond mg_lua_charge_work and mg_lua_tick. */
#ifndef MG_LUA_LIB_H
#define MG_LUA_LIB_H

#include <lua.h>
#include <lauxlib.h>

/* Replacements as mg_lua's fill() takes them: each gets the library's
 * original function as upvalue 1 (some call it after charging). */
extern const luaL_Reg mg_lua_lib_base[];
extern const luaL_Reg mg_lua_lib_string[];
extern const luaL_Reg mg_lua_lib_table[];
extern const luaL_Reg mg_lua_lib_utf8[];

#endif
