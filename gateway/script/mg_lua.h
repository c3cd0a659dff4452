/* mg_lua: the embedded Lua states. Owns each state, its capped allocator,
 * the allow-listed sandbox and the one lua_pcall: every call into user code
 * runs here under an instruction budget and a monotonic deadline. Knows
 * nothing of the DSL beyond the functions a caller registers. */
#ifndef MG_LUA_H
#define MG_LUA_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>

#include "mg_lua_diag.h"

struct mg_lua;

struct mg_lua_limits {
    size_t memory_bytes;      /* cap on the state's allocations; 0 = 64 MiB */
    uint64_t instructions;    /* budget per call; 0 = 10,000,000 */
    double seconds;           /* deadline per call; 0 = 1 s */
};

/* A new sandboxed state. dsl (may be NULL) lists C functions to add to every
 * file's environment as globals beside the allow-listed libraries; each gets
 * ctx as its first upvalue. Returns NULL on ENOMEM. */
struct mg_lua *mg_lua_new(const struct mg_lua_limits *lim,
                          const luaL_Reg *dsl, void *ctx);
/* NULL is a no-op. */
void mg_lua_free(struct mg_lua *st);
/* Borrowed; valid until mg_lua_free. */
lua_State *mg_lua_state(struct mg_lua *st);

/* Loads text (never bytecode) as chunk "@name" into a fresh environment of
 * its own and runs it under the budget. Returns 0, or -1 with
 * "name:line: message" in why. */
int mg_lua_run_buffer(struct mg_lua *st, const char *buf, size_t len,
                      const char *name, char *why, size_t whylen);
/* The same for a file read from path. */
int mg_lua_run_file(struct mg_lua *st, const char *path, char *why,
                    size_t whylen);

/* The one loader for scripts and rules: runs files (paths, in order) in st,
 * one after another. Each path is copied into paths[*npaths] (an array of at
 * least nfiles the caller owns and frees, element by element, even after a
 * failure), and *loading points at the copy while its file runs, so DSL
 * functions can say which file called them; NULL afterwards. A file that
 * fails does not stop the others, nor does a bad DSL entry stop its file.
 * Returns 0, or -1 with every error as "file:line: message", one a line
 * (no newline after the last), the files named whole. */
int mg_lua_run_files(struct mg_lua *st, const char *const *files, size_t nfiles,
                     char **paths, size_t *npaths, const char **loading,
                     char *why, size_t whylen);

/* While mg_lua_run_files loads (and only then: -1 otherwise, so the
 * caller raises instead): records "file:line: message" as an error that
 * will fail the load (warning = 0) or as a warning (1), and returns 0. The
 * line is the calling line of the script, or with k > 0 the line of entry
 * k of the table constructor given to the call (relabel { {..}, {..} }).
 * Every error of a load comes back from mg_lua_run_files, one a line. */
int mg_lua_report(lua_State *L, size_t k, int warning, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The running load's collection, for mg_lua_report. */
struct mg_lua_diag *mg_lua_diag_of(lua_State *L);

/* The warnings of the last mg_lua_run_files, "file:line: message" one a
 * line, each ending in a newline; "" when none. Borrowed from st. */
const char *mg_lua_warnings(const struct mg_lua *st);

/* Pushes C function f (with the nup values on top of the stack as its
 * upvalues) as a DSL function: while files load, what it raises is
 * collected as one error at the calling line and the script goes on. */
void mg_lua_push_dsl(lua_State *L, lua_CFunction f, int nup);

/* Lua shortens chunk names over LUA_IDSIZE to "...tail": when msg starts
 * with the tail of path, puts the whole path back, so a message names a
 * file a user can find. Otherwise leaves msg alone. */
void mg_lua_whole_path(char *msg, size_t len, const char *path);

/* The key check every DSL table gets: each key of the table at idx must be
 * a string listed in allowed (NULL-terminated). Returns 0, or -EINVAL with
 * "what: unknown field k" or "what: field names must be strings, got
 * number" in why. The stack is left as it was. */
int mg_lua_check_keys(lua_State *L, int idx, const char *const *allowed,
                      const char *what, char *why, size_t whylen);

/* Calls the function below nargs arguments on the stack, under the budget
 * and deadline, through a message handler that puts "file:line:" first.
 * Returns 0 with nres results pushed, or -1 with nothing pushed and the
 * message in why. Re-entrant calls are refused with -1. */
int mg_lua_call(struct mg_lua *st, int nargs, int nres, char *why,
                size_t whylen);

/* For C functions that loop on a script's behalf (library replacements,
 * DSL functions): adds n units of work (about one VM instruction each) to
 * the running call's budget. Raises "file:line: instruction budget
 * exceeded" or "...: deadline exceeded" once a limit trips, and from then
 * on at every charge and every instruction, so a pcall in the script
 * cannot swallow it. Does nothing outside mg_lua_call. */
void mg_lua_charge(lua_State *L, uint64_t n);

/* For C functions about to do work whose size their arguments set
 * (string.rep, table.concat, table.sort...), before they do it: `what` is
 * the function's name, `elements` the elements it will go through and
 * `bytes` the bytes it will produce. Raises "what: result too large for the
 * state's memory cap" when bytes exceed the cap, "what: result too large
 * for the call's budget" (or "too many elements") when elements + bytes
 * exceed what is left of the budget; otherwise charges them, reads the
 * clock, and raises "deadline exceeded" (sticky) if the work would end
 * past the deadline. Only the cap check applies outside mg_lua_call. */
void mg_lua_charge_work(lua_State *L, const char *what, uint64_t elements,
                        uint64_t bytes);
/* Reads the clock and raises "deadline exceeded" (sticky) once the call's
 * deadline has passed, or would have before `bytes` more bytes are
 * copied: for C loops between chunks of work already paid for with
 * mg_lua_charge_work. Does nothing outside mg_lua_call. */
void mg_lua_tick(lua_State *L, size_t bytes);

/* Bytes the state has allocated now. */
size_t mg_lua_memory(const struct mg_lua *st);

/* The file:line of the innermost Lua function running now (for the DSL's
 * load-time errors); "?" outside a call. Writes into buf. */
const char *mg_lua_where(lua_State *L, char *buf, size_t len);

#endif
