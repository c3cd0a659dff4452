/* mg_lua: the embedded Lua states, their capped allocator, the budget and
 * the one lua_pcall; the allow-listed sandbox is mg_lua_sandbox.c's. Each file runs in an _ENV of its own that
 * falls through to shared, hidden sandbox globals; library tables are seen
 * only through per-file read-only proxies, so nothing one file does (not
 * even rawset) changes what another file sees. */
#include "mg_lua_int.h"
#include "mg_alloc.h"
#include "mg_common.h"
#include "mg_lua_lib.h"
#include "mg_lua_str.h"
#include "mg_lua_diag.h"
#include "mg_suggest.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lualib.h>

#define DEFAULT_MEMORY ((size_t)64 << 20)
#define DEFAULT_INSTRUCTIONS 10000000u
#define DEFAULT_SECONDS 1.0
#define HOOK_EVERY 1000
/* An allocation this big inside a call reads the clock first: `..` and
 * the like copy big strings in one VM instruction the hook counts once. */
#define BIG_ALLOC ((size_t)64 << 10)
/* What C work is assumed to cost when predicting whether it would end
 * past the deadline: generous for memcpy-like work, so a big step is
 * refused a little early rather than run late. */
#define SECONDS_PER_BYTE 5e-9
#define SECONDS_PER_ELEMENT 10e-9

static void say(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The call's deadline, its clock started at the first read: most calls
 * end before their first hook and never read the clock (in a VM a read
 * costs as much as a small transform's field access). A call reaches its
 * first read within one hook step or one charged unit of big work, so
 * its seconds run from there. */
static double deadline_of(struct mg_call *c, double now)
{
    if (c->deadline == 0)
        c->deadline = now + c->seconds;
    return c->deadline;
}

/* 1 when the call has tripped a limit, or when work of this size started
 * now would end past the deadline (then it trips). */
static int late(struct mg_call *c, uint64_t elements, uint64_t bytes)
{
    double cost = (double)elements * SECONDS_PER_ELEMENT +
                  (double)bytes * SECONDS_PER_BYTE;
    double now = mono();

    if (c->tripped == NULL && now + cost >= deadline_of(c, now))
        c->tripped = "deadline exceeded";
    return c->tripped != NULL;
}

/* The allocator, as ltests.c's debug_realloc: the cap is checked before
 * anything is allocated, in a form that cannot overflow (used <= cap
 * always holds), and usage is tracked exactly. */
static void *mg_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct mg_lua *st = ud;
    void *p;

    if (ptr == NULL)
        osize = 0;      /* then osize is the kind of object, not a size */
    if (nsize == 0) {
        free(ptr);
        st->used -= osize;
        return NULL;
    }
    /* Nothing here may look at the Lua stack: Lua can be in the middle of
     * moving it (5.4.6 holds offsets, not pointers, while it grows it). */
    if (nsize > osize && nsize - osize > st->cap - st->used) {
        st->refused = 1;
        return NULL;
    }
    if (st->call != NULL && nsize > osize && nsize - osize >= BIG_ALLOC &&
        late(st->call, 0, nsize - osize))
        return NULL;
    p = realloc(ptr, nsize);
    if (p == NULL) {
        /* Lua assumes a shrink never fails; the old block still fits. */
        if (nsize <= osize) {
            st->used -= osize - nsize;
            return ptr;
        }
        return NULL;
    }
    st->used = st->used - osize + nsize;
    return p;
}

static int l_panic(lua_State *L)
{
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                     : "non-string error";

    /* Only our own unprotected call can get here: that is our bug. */
    mg_panic(__FILE__, __LINE__, msg);
    return 0;
}

const char *mg_lua_where(lua_State *L, char *buf, size_t len)
{
    lua_Debug ar;

    if (len == 0)
        return "?";
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(buf, len, "%s:%d", ar.short_src, ar.currentline);
            return buf;
        }
    }
    snprintf(buf, len, "?");
    return buf;
}

/* "name:12:" on the first line, as luaL_where and the parser write it. */
static int has_position(const char *msg)
{
    for (const char *p = msg; *p != '\0' && *p != '\n'; p++) {
        const char *q = p + 1;

        if (*p != ':' || p == msg || !isdigit((unsigned char)*q))
            continue;
        while (isdigit((unsigned char)*q))
            q++;
        if (*q == ':')
            return 1;
    }
    return 0;
}

/* ---- budget ---------------------------------------------------------- */

static void hook(lua_State *L, lua_Debug *ar);

static struct mg_lua *state_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

struct mg_lua_diag *mg_lua_diag_of(lua_State *L)
{
    return &state_of(L)->diag;
}

const char *mg_lua_warnings(const struct mg_lua *st)
{
    return st && st->diag.warns.len ? st->diag.warns.p : "";
}

static int trip(lua_State *L, struct mg_call *c)
{
    char where[WHERE_LEN];

    /* Re-arm at count 1: a pcall in the script would catch a one-shot
     * error, so every further instruction raises it again. */
    lua_sethook(L, hook, LUA_MASKCOUNT, 1);
    lua_pushfstring(L, "%s: %s", mg_lua_where(L, where, sizeof where),
                    c->tripped);
    return lua_error(L);
}

/* Adds n to the work done; raises once a limit trips, and from then on at
 * every check. The clock is read once per HOOK_EVERY units, not per check:
 * library functions charge small amounts often (every string.find), and
 * each hook still crosses the mark since it charges a whole step. */
static void check(lua_State *L, struct mg_call *c, uint64_t n)
{
    if (c->tripped == NULL) {
        c->used = c->used + n < c->used ? UINT64_MAX : c->used + n;
        if (c->used >= c->budget) {
            c->tripped = "instruction budget exceeded";
        } else if (c->used >= c->clock_at) {
            c->clock_at = c->used + HOOK_EVERY;
            double now = mono();
            if (now >= deadline_of(c, now))
                c->tripped = "deadline exceeded";
        }
        if (c->tripped == NULL)
            return;
    }
    trip(L, c);
}

static void hook(lua_State *L, lua_Debug *ar)
{
    struct mg_call *c = mg_lua_current(L);

    if (c == NULL)
        return;
    check(L, c, (uint64_t)c->step);
    if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
        snprintf(c->where, sizeof c->where, "%s:%d", ar->short_src,
                 ar->currentline);
}

/* The count hook sees VM instructions only: without this, one library
 * call could loop in C for as long as its arguments say. */
void mg_lua_charge(lua_State *L, uint64_t n)
{
    struct mg_call *c = mg_lua_current(L);

    if (c != NULL)
        check(L, c, n);
}

void mg_lua_charge_work(lua_State *L, const char *what, uint64_t elements,
                        uint64_t bytes)
{
    struct mg_call *c = mg_lua_current(L);
    void *ud;
    struct mg_lua *st;
    uint64_t n = elements + bytes < elements ? UINT64_MAX : elements + bytes;

    lua_getallocf(L, &ud);
    st = ud;
    if (bytes > st->cap)
        luaL_error(L, "%s: result too large for the state's memory cap "
                   "(%I bytes)", what, (lua_Integer)st->cap);
    if (c == NULL)
        return;
    if (c->tripped != NULL)
        trip(L, c);
    /* Refused before anything is spent, so not sticky: a smaller one may
     * still fit. */
    if (n > c->budget - c->used)
        luaL_error(L, "%s: %s for the call's budget", what,
                   bytes > 0 ? "result too large" : "too many elements");
    if (n < HOOK_EVERY) {
        check(L, c, n);
        return;
    }
    c->used += n;
    c->clock_at = c->used + HOOK_EVERY;
    /* The position for a big allocation refused later in this work: that
     * error unwinds before anything can ask where it was. */
    mg_lua_where(L, c->where, sizeof c->where);
    if (late(c, elements, bytes))
        trip(L, c);
}

void mg_lua_tick(lua_State *L, size_t bytes)
{
    struct mg_call *c = mg_lua_current(L);

    if (c != NULL && late(c, 0, bytes))
        trip(L, c);
}

/* Every DSL function runs through this (upvalue 1 is the real one): while
 * files load, an error in one entry is collected and the file goes on, so
 * a load reports every bad entry, not only the first. Running out of
 * memory or budget still stops the file. */
static int l_dsl(lua_State *L)
{
    struct mg_lua *st = state_of(L);
    struct mg_call *c = mg_lua_current(L);
    int n = lua_gettop(L);
    lua_Debug ar;

    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    int rc = lua_pcall(L, n, LUA_MULTRET, 0);
    if (rc == LUA_OK)
        return lua_gettop(L);
    if (rc == LUA_ERRMEM || (c && c->tripped) || lua_type(L, -1) != LUA_TSTRING)
        return lua_error(L);
    /* called from C, the real function has no name for luaL_argerror:
     * this frame has the one the script used */
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name) {
        lua_pushfstring(L, "to '%s'", ar.name);
        luaL_gsub(L, lua_tostring(L, -2), "to '?'", lua_tostring(L, -1));
    }
    const char *msg = lua_tostring(L, -1);
    if (!st->diag.collecting)
        return lua_error(L);
    /* a message placed in this file already ("file:12: ...") keeps its
     * place; others ("promql: 1:11: ...") get the calling line */
    char where[WHERE_LEN];
    mg_lua_where(L, where, sizeof where);
    size_t flen = (size_t)(strrchr(where, ':') ? strrchr(where, ':') - where : 0);
    if (flen && has_position(msg) && strncmp(msg, where, flen + 1) == 0)
        mg_lua_diag_add(&st->diag, 0, "", msg);
    else
        mg_lua_report(L, 0, 0, "%s", msg);
    return 0;
}

void mg_lua_push_dsl(lua_State *L, lua_CFunction f, int nup)
{
    lua_pushcclosure(L, f, nup);
    lua_pushcclosure(L, l_dsl, 1);
}

struct mg_lua *mg_lua_new(const struct mg_lua_limits *lim,
                          const luaL_Reg *dsl, void *ctx)
{
    struct mg_lua *st = calloc(1, sizeof *st);
    struct mg_lua_setup su = {st, dsl, ctx};

    if (st == NULL)
        return NULL;
    st->cap = lim != NULL && lim->memory_bytes ? lim->memory_bytes
                                               : DEFAULT_MEMORY;
    st->instructions = lim != NULL && lim->instructions ? lim->instructions
                                                        : DEFAULT_INSTRUCTIONS;
    st->seconds = lim != NULL && lim->seconds > 0 ? lim->seconds
                                                  : DEFAULT_SECONDS;
    st->L = lua_newstate(mg_lua_alloc, st);
    if (st->L == NULL)
        goto fail;
    lua_atpanic(st->L, l_panic);
    *(struct mg_call **)lua_getextraspace(st->L) = NULL;
    lua_pushcfunction(st->L, mg_lua_setup);
    lua_pushlightuserdata(st->L, &su);
    if (lua_pcall(st->L, 1, 0, 0) != LUA_OK)
        goto fail;
    return st;

fail:
    if (st->L != NULL)
        lua_close(st->L);
    free(st);
    return NULL;
}

void mg_lua_free(struct mg_lua *st)
{
    if (st == NULL)
        return;
    lua_close(st->L);
    mg_lua_diag_fini(&st->diag);
    free(st);
}

lua_State *mg_lua_state(struct mg_lua *st)
{
    return st->L;
}

size_t mg_lua_memory(const struct mg_lua *st)
{
    return st->used;
}

/* ---- calling --------------------------------------------------------- */

/* As lua.c's msghandler, except that __tostring is never called: it is
 * user code, and a handler has no budget of its own to spend. */
static int l_msghandler(lua_State *L)
{
    char where[WHERE_LEN];
    const char *msg;
    int t = lua_type(L, 1);

    if (t == LUA_TSTRING || t == LUA_TNUMBER) {
        msg = lua_tostring(L, 1);
        if (!has_position(msg))
            msg = lua_pushfstring(L, "%s: %s",
                                  mg_lua_where(L, where, sizeof where), msg);
    } else {
        msg = lua_pushfstring(L, "%s: (error object is a %s value)",
                              mg_lua_where(L, where, sizeof where),
                              luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Writes the error on top of the stack into why. Reads it only if it is a
 * string already: converting anything else could allocate, unprotected. */
static void error_to_why(struct mg_lua *st, int rc, const char *where,
                         char *why, size_t whylen)
{
    lua_State *L = st->L;
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                     : NULL;

    if (rc == LUA_ERRMEM && st->refused)
        say(why, whylen, "%s: not enough memory (the state's cap of %zu "
            "bytes was reached)", where, st->cap);
    else if (msg == NULL)
        say(why, whylen, "%s: error object is not a string", where);
    else if (has_position(msg))
        say(why, whylen, "%s", msg);
    else
        say(why, whylen, "%s: %s", where, msg);
}

int mg_lua_call(struct mg_lua *st, int nargs, int nres, char *why,
                size_t whylen)
{
    lua_State *L = st->L;
    int base = lua_gettop(L) - nargs;   /* the function */
    struct mg_call c;
    lua_Debug ar;
    char where[WHERE_LEN];
    int rc;

    mg_require(nargs >= 0 && base >= 1);
    if (st->busy) {
        lua_settop(L, base - 1);
        say(why, whylen, "?: re-entrant call into Lua refused");
        return -1;
    }
    if (!lua_checkstack(L, 3)) {
        lua_settop(L, base - 1);
        say(why, whylen, "?: Lua stack exhausted");
        return -1;
    }
    /* A copy of the function stays below the handler: where it was
     * defined is the position for errors that carry none (memory, errors
     * in the handler) if no hook has run yet, looked up only on an error. */
    lua_pushvalue(L, base);
    lua_pushcfunction(L, l_msghandler);
    lua_rotate(L, base, 2);

    c.used = 0;
    c.budget = st->instructions;
    c.step = st->instructions < HOOK_EVERY ? (int)st->instructions
                                           : HOOK_EVERY;
    c.clock_at = (uint64_t)c.step;
    c.deadline = 0; /* from the first clock read: deadline_of */
    c.seconds = st->seconds;
    c.tripped = NULL;
    c.where[0] = '\0';
    *(struct mg_call **)lua_getextraspace(L) = &c;
    lua_sethook(L, hook, LUA_MASKCOUNT, c.step);
    st->call = &c;
    st->busy = 1;
    st->refused = 0;

    rc = lua_pcall(L, nargs, nres, base + 1);

    lua_sethook(L, NULL, 0, 0);
    *(struct mg_call **)lua_getextraspace(L) = NULL;
    st->call = NULL;
    st->busy = 0;
    if (rc == LUA_OK) {
        /* function copy and handler to the top, then off: one stack shift
         * where two lua_removes would make two */
        lua_rotate(L, base, -2);
        lua_pop(L, 2);
        return 0;
    }
    if (c.where[0] != '\0') {
        snprintf(where, sizeof where, "%s", c.where);
    } else {
        lua_pushvalue(L, base); /* the third slot checked above */
        lua_getinfo(L, ">S", &ar);
        snprintf(where, sizeof where, "%s:%d", ar.short_src,
                 ar.linedefined > 0 ? ar.linedefined : 1);
    }
    lua_remove(L, base);
    lua_remove(L, base);
    /* A big allocation refused at the deadline is a memory error with no
     * word of why: say the limit that tripped instead. */
    if (rc == LUA_ERRMEM && c.tripped != NULL)
        say(why, whylen, "%s: %s", where, c.tripped);
    else
        error_to_why(st, rc, where, why, whylen);
    lua_pop(L, 1);
    /* Give the failed call's garbage back now, so the next call does not
     * start at the cap. */
    if (rc == LUA_ERRMEM)
        lua_gc(L, LUA_GCCOLLECT);
    return -1;
}

/* Sets the function's _ENV (argument 1) to a fresh env; under lua_pcall. */
static int l_setenv(lua_State *L)
{
    struct mg_lua *st = lua_touserdata(L, 2);

    lua_settop(L, 1);
    mg_lua_push_env(L, st);
    /* A main chunk's one upvalue is its _ENV. */
    mg_require(lua_setupvalue(L, 1, 1) != NULL);
    return 1;
}

int mg_lua_run_buffer(struct mg_lua *st, const char *buf, size_t len,
                      const char *name, char *why, size_t whylen)
{
    lua_State *L = st->L;
    char *chunkname;
    char where[WHERE_LEN];
    int rc;

    if (name == NULL)
        name = "?";
    if (st->busy) {
        say(why, whylen, "%s:1: re-entrant call into Lua refused", name);
        return -1;
    }
    if (!lua_checkstack(L, 3)) {
        say(why, whylen, "%s:1: Lua stack exhausted", name);
        return -1;
    }
    chunkname = malloc(strlen(name) + 2);
    if (chunkname == NULL) {
        say(why, whylen, "%s:1: %s", name, strerror(ENOMEM));
        return -1;
    }
    chunkname[0] = '@';
    strcpy(chunkname + 1, name);
    st->refused = 0;
    /* lua_load is protected itself; "t" refuses bytecode. */
    rc = luaL_loadbufferx(L, buf, len, chunkname, "t");
    free(chunkname);
    if (rc == LUA_OK) {
        lua_pushcfunction(L, l_setenv);
        lua_insert(L, -2);
        lua_pushlightuserdata(L, st);
        rc = lua_pcall(L, 2, 1, 0);
    }
    if (rc != LUA_OK) {
        snprintf(where, sizeof where, "%s:1", name);
        error_to_why(st, rc, where, why, whylen);
        lua_pop(L, 1);
        if (rc == LUA_ERRMEM)
            lua_gc(L, LUA_GCCOLLECT);
        return -1;
    }
    st->diag.src = buf;
    st->diag.srclen = len;
    rc = mg_lua_call(st, 0, 0, why, whylen);
    st->diag.src = NULL;
    st->diag.srclen = 0;
    return rc;
}

int mg_lua_run_file(struct mg_lua *st, const char *path, char *why,
                    size_t whylen)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    char *buf = NULL;
    size_t n;
    int rc = -1;

    if (f == NULL) {
        say(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &sb) != 0) {
        say(why, whylen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    /* A file bigger than the cap could never load; don't read it. */
    if (sb.st_size < 0 || (uintmax_t)sb.st_size > st->cap) {
        say(why, whylen, "%s: larger than the state's memory cap", path);
        goto fail;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (buf == NULL) {
        say(why, whylen, "%s: %s", path, strerror(ENOMEM));
        goto fail;
    }
    n = fread(buf, 1, (size_t)sb.st_size + 1, f);
    if (ferror(f)) {
        say(why, whylen, "%s: read error", path);
        goto fail;
    }
    rc = mg_lua_run_buffer(st, buf, n, path, why, whylen);

fail:
    free(buf);
    fclose(f);
    return rc;
}

void mg_lua_whole_path(char *msg, size_t len, const char *path)
{
    if (!path || strncmp(msg, "...", 3) != 0)
        return;
    const char *colon = strchr(msg + 3, ':');
    if (!colon)
        return;
    size_t tail = (size_t)(colon - (msg + 3)), plen = strlen(path);
    if (tail > plen || memcmp(path + plen - tail, msg + 3, tail) != 0)
        return;
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s%s", path, colon);
    snprintf(msg, len, "%s", tmp);
}

int mg_lua_run_files(struct mg_lua *st, const char *const *files, size_t nfiles,
                     char **paths, size_t *npaths, const char **loading,
                     char *why, size_t whylen)
{
    int rc = 0;

    mg_lua_diag_begin(&st->diag);
    for (size_t i = 0; i < nfiles; i++) {
        if (!(paths[*npaths] = mg_strdup(files[i]))) {
            say(why, whylen, "out of memory");
            rc = -1;
            break;
        }
        *loading = st->diag.path = paths[(*npaths)++];
        /* a file that stops (syntax, a runtime error) is one more error;
         * the next file still loads, so one check reports them all */
        if (mg_lua_run_file(st, files[i], why, whylen)) {
            why[strcspn(why, "\n")] = '\0'; /* file:line: message */
            mg_lua_whole_path(why, whylen, files[i]);
            mg_lua_diag_add(&st->diag, 0, "", why);
        }
    }
    *loading = NULL;
    if (mg_lua_diag_end(&st->diag, rc ? NULL : why, whylen))
        rc = -1;
    return rc;
}

int mg_lua_check_keys(lua_State *L, int idx, const char *const *allowed,
                      const char *what, char *why, size_t whylen)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            say(why, whylen, "%s: field names must be strings, got %s", what,
                luaL_typename(L, -1));
            lua_pop(L, 1);
            return -EINVAL;
        }
        if (!mg_lua_listed(allowed, lua_tostring(L, -1))) {
            size_t kl;
            const char *k = lua_tolstring(L, -1, &kl);
            char msg[160];
            say(why, whylen, "%s: %s", what,
                mg_suggest_unknown(msg, sizeof(msg), k, kl, allowed));
            lua_pop(L, 1);
            return -EINVAL;
        }
    }
    return 0;
}
