/* mg_lua_diag: what a script is told when it reaches for something the
 * sandbox removed, and where in its source a DSL entry is. Owns the lists
 * of removed names; knows nothing of states, budgets or the DSL itself. */
#ifndef MG_LUA_DIAG_H
#define MG_LUA_DIAG_H

#include <stddef.h>

#include <lua.h>

/* The __index of the sandbox's hidden tables (upvalue 1: the library's
 * name, "" for the globals): a name stock Lua has there but the sandbox
 * removed raises "io is not available in moongate scripts" (or
 * "os.execute ..."); any other name reads nil, so `if x then` works. */
int mg_lua_diag_removed(lua_State *L);

/* The line of entry k (from 1) of the table constructor that is the
 * argument of the call on line call_line of src (len bytes), as in
 * `relabel {\n {..},\n {..} }`: the line of the entry's first token.
 * Strings, long strings and comments are skipped. Returns call_line when
 * the call's argument is not a constructor on that line or has fewer
 * entries. */
int mg_lua_diag_entry_line(const char *src, size_t len, int call_line,
                           size_t k);

#endif
