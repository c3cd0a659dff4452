/* mg_lua_diag: refusals that name what was removed, and entry lines. */
#include "mg_lua_diag.h"
#include "mg_lua.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

/* What stock Lua 5.4 (and 5.1 habits) offer that the sandbox does not:
 * reading one raises instead of a later "attempt to index a nil value". */
static const char *const removed_globals[] = {
    "io", "require", "dofile", "loadfile", "debug", "package", "coroutine",
    "module", "loadstring", "setfenv", "getfenv", "newproxy", "gcinfo", "warn",
    NULL};
static const char *const removed_os[] = {
    "execute", "exit", "remove", "rename", "tmpname", "getenv", "setlocale",
    "difftime", NULL};
static const char *const removed_string[] = {"dump", NULL};

static int listed(const char *const *v, const char *s)
{
    for (; *v; v++)
        if (strcmp(*v, s) == 0)
            return 1;
    return 0;
}

int mg_lua_diag_removed(lua_State *L)
{
    const char *lib = lua_tostring(L, lua_upvalueindex(1));
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    const char *const *v = !lib || !*lib ? removed_globals
                           : strcmp(lib, "os") == 0 ? removed_os
                           : strcmp(lib, "string") == 0 ? removed_string
                           : NULL;

    if (k && v && listed(v, k)) {
        if (lib && *lib)
            return luaL_error(L, "%s.%s is not available in moongate scripts",
                              lib, k);
        return luaL_error(L, "%s is not available in moongate scripts", k);
    }
    lua_pushnil(L);
    return 1;
}

/* ---- entry lines: a scanner that knows Lua's tokens well enough to
 * count the separators of one table constructor ---- */

struct scan {
    const char *p, *end;
    int line;
};

/* Level of a long bracket at p ("[[" 0, "[==[" 2), -1 if none. */
static int long_level(const char *p, const char *end)
{
    int lv = 0;
    if (p >= end || *p != '[')
        return -1;
    for (p++; p < end && *p == '='; p++)
        lv++;
    return p < end && *p == '[' ? lv : -1;
}

static void skip_long(struct scan *s, int lv)
{
    s->p += lv + 2;
    while (s->p < s->end) {
        if (*s->p == '\n')
            s->line++;
        if (*s->p == ']') {
            const char *q = s->p + 1;
            int n = 0;
            while (q < s->end && *q == '=') {
                q++;
                n++;
            }
            if (n == lv && q < s->end && *q == ']') {
                s->p = q + 1;
                return;
            }
        }
        s->p++;
    }
}

/* Skips blanks, comments and strings at s->p; returns 1 when it skipped
 * a string (a token), 0 for blanks, comments or nothing. */
static int skip_space(struct scan *s)
{
    while (s->p < s->end) {
        char c = *s->p;
        if (c == '\n') {
            s->line++;
            s->p++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            s->p++;
        } else if (c == '-' && s->p + 1 < s->end && s->p[1] == '-') {
            int lv = long_level(s->p + 2, s->end);
            s->p += 2;
            if (lv >= 0)
                skip_long(s, lv);
            else
                while (s->p < s->end && *s->p != '\n')
                    s->p++;
        } else {
            return 0;
        }
    }
    return 0;
}

static void skip_string(struct scan *s)
{
    char q = *s->p++;
    while (s->p < s->end && *s->p != q) {
        if (*s->p == '\\' && s->p + 1 < s->end) {
            if (s->p[1] == '\n')
                s->line++;
            s->p++;
        } else if (*s->p == '\n') {
            return; /* unfinished: Lua refused the file already */
        }
        s->p++;
    }
    if (s->p < s->end)
        s->p++;
}

/* One token: updates depth for brackets; returns the character that
 * starts it, or 0 at the end. */
static char token(struct scan *s, int *depth)
{
    skip_space(s);
    if (s->p >= s->end)
        return 0;
    char c = *s->p;
    int lv;
    if (c == '"' || c == '\'') {
        skip_string(s);
    } else if (c == '[' && (lv = long_level(s->p, s->end)) >= 0) {
        skip_long(s, lv);
    } else {
        if (c == '{' || c == '(' || c == '[')
            (*depth)++;
        else if (c == '}' || c == ')' || c == ']')
            (*depth)--;
        s->p++;
    }
    return c;
}

int mg_lua_diag_entry_line(const char *src, size_t len, int call_line,
                           size_t k)
{
    struct scan s = {src, src + len, 1};
    int depth = 0;

    if (!src || call_line < 1 || k < 1)
        return call_line;
    /* to the start of the call's line: no token spans it there */
    while (s.p < s.end && s.line < call_line)
        if (*s.p++ == '\n')
            s.line++;
    /* the first '{' on that line opens the argument */
    for (;;) {
        char c = token(&s, &depth);
        if (!c || s.line != call_line)
            return call_line;
        if (c == '{')
            break;
    }
    int base = depth;
    size_t entry = 1;
    for (;;) {
        skip_space(&s);
        if (s.p >= s.end)
            return call_line;
        if (entry == k)
            return *s.p == '}' ? call_line : s.line;
        char c = token(&s, &depth);
        if (!c || depth < base)
            return call_line;
        if (depth == base && (c == ',' || c == ';'))
            entry++;
    }
}

/* ---- what a load collects ---- */

void mg_lua_diag_begin(struct mg_lua_diag *d)
{
    mg_buf_reset(&d->errs);
    mg_buf_reset(&d->warns);
    d->collecting = 1;
}

void mg_lua_diag_add(struct mg_lua_diag *d, int warning, const char *where,
                     const char *msg)
{
    struct mg_buf *b = warning ? &d->warns : &d->errs;
    char line[1024];
    /* the first line, "...tail:12:" put back to the whole path */
    snprintf(line, sizeof(line), "%s%s%.*s", where, *where ? ": " : "",
             (int)strcspn(msg, "\n"), msg);
    mg_lua_whole_path(line, sizeof(line), d->path);
    mg_buf_adds(b, line);
    mg_buf_add(b, "\n", 2); /* the NUL stays past len */
    if (!b->failed)
        b->len--;
}

int mg_lua_diag_end(struct mg_lua_diag *d, char *why, size_t whylen)
{
    int rc = 0;
    d->collecting = 0;
    d->path = NULL;
    if (d->errs.len || d->errs.failed) {
        if (why && d->errs.failed)
            snprintf(why, whylen, "out of memory");
        else if (why)
            snprintf(why, whylen, "%.*s", (int)(d->errs.len - 1), d->errs.p);
        rc = -1;
    }
    mg_buf_reset(&d->errs);
    return rc;
}

void mg_lua_diag_fini(struct mg_lua_diag *d)
{
    mg_buf_fini(&d->errs);
    mg_buf_fini(&d->warns);
}

int mg_lua_report(lua_State *L, size_t k, int warning, const char *fmt, ...)
{
    struct mg_lua_diag *d = mg_lua_diag_of(L);
    char where[LUA_IDSIZE + 64], msg[512];
    va_list ap;

    if (!d->collecting)
        return -1;
    mg_lua_where(L, where, sizeof where);
    char *colon = strrchr(where, ':');
    if (k && colon) {
        int line = atoi(colon + 1);
        snprintf(colon + 1, sizeof where - (size_t)(colon + 1 - where), "%d",
                 mg_lua_diag_entry_line(d->src, d->srclen, line, k));
    }
    mg_lua_whole_path(where, sizeof where, d->path);
    if (warning)
        strncat(where, ": warning", sizeof where - strlen(where) - 1);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mg_lua_diag_add(d, warning, where, msg);
    return 0;
}
