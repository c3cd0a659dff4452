/* mg_lua_diag: what a script is told when it reaches for something the
 * sandbox removed, and where in its source a DSL entry is. Owns the lists
 * of removed names; knows nothing of states, budgets or the DSL itself. */
#ifndef MG_LUA_DIAG_H
#define MG_LUA_DIAG_H

#include <stddef.h>

#include <lua.h>

#include "mg_buf.h"

/* What one load (mg_lua_run_files) collects, embedded in its state. */
struct mg_lua_diag {
    int collecting;             /* a load runs: DSL errors are collected */
    const char *src, *path;     /* the chunk running, for entry lines */
    size_t srclen;
    struct mg_buf errs, warns;  /* "file:line: message\n"..., NUL-ended */
};

/* Starts a load: errors and warnings emptied, collecting on. */
void mg_lua_diag_begin(struct mg_lua_diag *d);
/* Appends "where: msg" (msg's first line; where may be "") and a newline
 * to the errors or the warnings. */
void mg_lua_diag_add(struct mg_lua_diag *d, int warning, const char *where,
                     const char *msg);
/* Ends a load: collecting off. With errors, writes them into why (when
 * not NULL), one a line, empties them and returns -1; otherwise 0. The
 * warnings stay for mg_lua_warnings. */
int mg_lua_diag_end(struct mg_lua_diag *d, char *why, size_t whylen);
void mg_lua_diag_fini(struct mg_lua_diag *d);

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
