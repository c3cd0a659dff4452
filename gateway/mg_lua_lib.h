/* mg_lua_lib: the string, table and utf8 functions of mg_lua's sandbox
 * whose work grows with their arguments, charged by size. Each is charged
 * its bytes or elements through mg_lua_charge_work before it works, and
 * the ones that loop long (rep, upper, lower, reverse, concat) read the
 * clock as they go. Owns no state; knows nothing of the sandbox beyond
 * mg_lua_charge_work and mg_lua_tick. */
#ifndef MG_LUA_LIB_H
#define MG_LUA_LIB_H

#include <lua.h>
#include <lauxlib.h>

/* Replacements as mg_lua's fill() takes them: each gets the library's
 * original function as upvalue 1 (some call it after charging). */
extern const luaL_Reg mg_lua_lib_string[];
extern const luaL_Reg mg_lua_lib_table[];
extern const luaL_Reg mg_lua_lib_utf8[];

#endif
