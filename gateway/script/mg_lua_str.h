/* mg_lua_str: string.find, string.match, string.gmatch and string.gsub for
 * mg_lua's states: Lua 5.4's pattern matcher with every step of it charged
 * to the running call's budget, so a backtracking pattern trips the budget
 * or the deadline instead of holding the thread. Owns no state; knows
 * nothing of the sandbox beyond mg_lua_charge. */
#ifndef MG_LUA_STR_H
#define MG_LUA_STR_H

#include <lua.h>
#include <lauxlib.h>

/* find, match, gmatch, gsub, as lstrlib.c's; they take no upvalues. For
 * mg_lua's states only: they find the running call through the pointer
 * mg_lua keeps in lua_getextraspace. Inside mg_lua_call they raise
 * "instruction budget exceeded" or "deadline exceeded" as the count hook
 * does; outside one they run unmetered. */
extern const luaL_Reg mg_lua_str_funcs[];

#endif
