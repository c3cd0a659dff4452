/* mg_lua_lib: size-charged string, table and utf8 functions. Upstream's
 * run inside one C call the count hook never sees: string.rep('x', 30e6)
 * copies for a third of a second, and a loop of them ran for seconds past
 * a one-second deadline. Here each call pays for the bytes it will produce
 * or the elements it will go through before starting, and the long loops
 * (rep, upper, lower, reverse, concat) are our own and read the clock
 * every CHUNK bytes, so a deadline holds to about one chunk. */
#include "mg_lua_lib.h"
#include "mg_common.h"
#include "mg_log.h"
#include "mg_lua.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Bytes (or table elements) between two reads of the clock. */
#define CHUNK ((size_t)64 << 10)
#define ELEMENT_CHUNK 4096

/* print: lines per second per state, and the length kept of each. */
#define PRINT_PER_SECOND 10
#define PRINT_MAX 1024

#define uchar(c) ((unsigned char)(c))

/* Calls upvalue 1, the library's own function, with the arguments. */
static int original(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Length of argument i if it is a string; numbers convert to short ones
 * and anything else is the original function's error to raise. */
static size_t slen(lua_State *L, int i)
{
    return lua_type(L, i) == LUA_TSTRING ? lua_rawlen(L, i) : 0;
}

/* How many positions i..j cover in a string of len bytes, with negative
 * positions counting from the end, as string.sub clips them. */
static uint64_t span(lua_Integer i, lua_Integer j, size_t len)
{
    lua_Integer l = len > (size_t)LUA_MAXINTEGER ? LUA_MAXINTEGER
                                                  : (lua_Integer)len;

    if (i < 0)
        i = i >= -l ? l + i + 1 : 1;
    else if (i == 0)
        i = 1;
    if (j < 0)
        j = j >= -l ? l + j + 1 : 0;
    else if (j > l)
        j = l;
    return i > j ? 0 : (uint64_t)(j - i) + 1;
}

static lua_Integer opt_int(lua_State *L, int i, lua_Integer def)
{
    int ok;
    lua_Integer v = lua_tointegerx(L, i, &ok);

    return ok ? v : def;
}

/* ---- own loops, chunked --------------------------------------------- */

/* string.rep: s and sep written once, then the written part copied onto
 * its end, doubling, at most CHUNK bytes a copy. */
static int l_rep(lua_State *L)
{
    size_t l, lsep, unit, total, done, step;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    luaL_Buffer b;
    char *p;

    if (n <= 0 || (l == 0 && lsep == 0)) {
        lua_pushliteral(L, "");
        return 1;
    }
    unit = l + lsep;
    if (unit < l || unit > (size_t)LUA_MAXINTEGER / (size_t)n)
        return luaL_error(L, "resulting string too large");
    total = (size_t)n * unit - lsep;
    mg_lua_charge_work(L, "string.rep", 0, total);
    p = luaL_buffinitsize(L, &b, total);
    memcpy(p, s, l);
    if (n > 1)
        memcpy(p + l, sep, lsep);
    done = n > 1 ? unit : l;
    /* p[0, done) repeats with period unit while done is a multiple of it,
     * so copying its start onto its end keeps it repeating. */
    step = unit > CHUNK ? unit : CHUNK / unit * unit;
    while (done < total) {
        size_t k = done < step ? done : step;

        if (k > total - done)
            k = total - done;
        memcpy(p + done, p, k);
        done += k;
        mg_lua_tick(L, 0);
    }
    /* The result is copied once more into a string: not past the
     * deadline either. */
    mg_lua_tick(L, total);
    luaL_pushresultsize(&b, total);
    return 1;
}

/* upper, lower and reverse: a byte loop over a buffer of the same size. */
static int map_bytes(lua_State *L, const char *what, int op)
{
    size_t l;
    const char *s = luaL_checklstring(L, 1, &l);
    luaL_Buffer b;
    char *p;

    mg_lua_charge_work(L, what, 0, l);
    p = luaL_buffinitsize(L, &b, l);
    for (size_t i = 0; i < l; i++) {
        if (op == 'u')
            p[i] = (char)toupper(uchar(s[i]));
        else if (op == 'l')
            p[i] = (char)tolower(uchar(s[i]));
        else
            p[i] = s[l - i - 1];
        if (i % CHUNK == CHUNK - 1)
            mg_lua_tick(L, 0);
    }
    mg_lua_tick(L, l);
    luaL_pushresultsize(&b, l);
    return 1;
}

static int l_upper(lua_State *L)
{
    return map_bytes(L, "string.upper", 'u');
}

static int l_lower(lua_State *L)
{
    return map_bytes(L, "string.lower", 'l');
}

static int l_reverse(lua_State *L)
{
    return map_bytes(L, "string.reverse", 'r');
}

/* table.concat, as ltablib.c's tconcat on a plain table: the elements are
 * paid for first, the bytes as they are added. */
static int l_concat(lua_State *L)
{
    luaL_Buffer b;
    size_t lsep, pending = 0;
    const char *sep;
    lua_Integer i, last;
    unsigned turns = 0;

    if (lua_type(L, 1) != LUA_TTABLE)
        return original(L);
    sep = luaL_optlstring(L, 2, "", &lsep);
    i = luaL_optinteger(L, 3, 1);
    last = luaL_opt(L, luaL_checkinteger, 4, luaL_len(L, 1));
    if (i <= last)
        mg_lua_charge_work(L, "table.concat", (uint64_t)last - (uint64_t)i + 1,
                           0);
    luaL_buffinit(L, &b);
    for (; i <= last; i++) {
        size_t l;

        if (lua_geti(L, 1, i) != LUA_TSTRING && !lua_isnumber(L, -1))
            return luaL_error(L, "invalid value (at index %I) in table for "
                              "'concat'", i);
        lua_tolstring(L, -1, &l);
        luaL_addvalue(&b);
        pending += l;
        if (i < last) {
            luaL_addlstring(&b, sep, lsep);
            pending += lsep;
        }
        if (pending >= CHUNK || ++turns % ELEMENT_CHUNK == 0) {
            mg_lua_charge_work(L, "table.concat", 0, pending);
            pending = 0;
            mg_lua_tick(L, 0);
        }
        if (i == LUA_MAXINTEGER)
            break;
    }
    mg_lua_charge_work(L, "table.concat", 0, pending);
    mg_lua_tick(L, luaL_bufflen(&b));
    luaL_pushresult(&b);
    return 1;
}

/* ---- charged first, then upstream's -------------------------------- */

static int l_byte(lua_State *L)
{
    lua_Integer i = opt_int(L, 2, 1);

    mg_lua_charge_work(L, "string.byte", span(i, opt_int(L, 3, i),
                       slen(L, 1)), 0);
    return original(L);
}

static int l_sub(lua_State *L)
{
    mg_lua_charge_work(L, "string.sub", 0, span(opt_int(L, 2, 1),
                       opt_int(L, 3, -1), slen(L, 1)));
    return original(L);
}

static int l_char(lua_State *L)
{
    mg_lua_charge_work(L, "string.char", 0, (uint64_t)lua_gettop(L));
    return original(L);
}

/* The format and every string argument, once: %s copies each, and widths
 * and precisions are at most two digits. */
static int l_format(lua_State *L)
{
    uint64_t bytes = 0;

    for (int i = 1; i <= lua_gettop(L); i++)
        bytes += slen(L, i);
    mg_lua_charge_work(L, "string.format", 0, bytes);
    return original(L);
}

/* string.pack's "s" and "z" options copy their strings. */
static int l_pack(lua_State *L)
{
    return l_format(L);
}

static int l_utf8_len(lua_State *L)
{
    mg_lua_charge_work(L, "utf8.len", span(opt_int(L, 2, 1),
                       opt_int(L, 3, -1), slen(L, 1)), 0);
    return original(L);
}

static int l_utf8_codepoint(lua_State *L)
{
    lua_Integer i = opt_int(L, 2, 1);

    mg_lua_charge_work(L, "utf8.codepoint", span(i, opt_int(L, 3, i),
                       slen(L, 1)), 0);
    return original(L);
}

static int l_utf8_char(lua_State *L)
{
    mg_lua_charge_work(L, "utf8.char", 0, 4 * (uint64_t)lua_gettop(L));
    return original(L);
}

/* Elements from i to j; j defaults to #t, which may run a __len (script
 * code, under the hook). */
static uint64_t table_span(lua_State *L, int ti, int ii, int ji)
{
    lua_Integer i, j;

    if (lua_type(L, ti) != LUA_TTABLE)
        return 0;
    i = opt_int(L, ii, 1);
    j = lua_isnoneornil(L, ji) ? luaL_len(L, ti) : opt_int(L, ji, i);
    return i > j ? 0 : (uint64_t)j - (uint64_t)i + 1;
}

static int l_unpack(lua_State *L)
{
    mg_lua_charge_work(L, "table.unpack", table_span(L, 1, 2, 3), 0);
    return original(L);
}

/* n log2 n comparisons; a comparator function is script code, charged by
 * the hook as it runs. */
static int l_sort(lua_State *L)
{
    uint64_t n = 0, log2n = 1;

    if (lua_type(L, 1) == LUA_TTABLE)
        n = (uint64_t)luaL_len(L, 1);
    for (uint64_t m = n; m > 1; m >>= 1)
        log2n++;
    mg_lua_charge_work(L, "table.sort",
                       n > UINT64_MAX / log2n ? UINT64_MAX : n * log2n, 0);
    return original(L);
}

/* ---- print ---------------------------------------------------------- */

/* print's limiter, one per state, kept in the registry under its key. */
struct print_limit {
    double window;              /* start of the current second */
    unsigned count, suppressed;
};

static const char print_key = 'p';

static struct print_limit *print_limit(lua_State *L)
{
    struct print_limit *pl;

    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &print_key) == LUA_TUSERDATA) {
        pl = lua_touserdata(L, -1);
    } else {
        pl = lua_newuserdatauv(L, sizeof *pl, 0);
        memset(pl, 0, sizeof *pl);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &print_key);
    }
    lua_pop(L, 1);
    return pl;
}

/* print writes to the gateway's log, never to stdout: a pipe nobody reads
 * would block the daemon. At most PRINT_PER_SECOND lines a second per
 * state; the rest are counted and the count logged with the first print
 * of a later second. */
static int print_allowed(struct print_limit *pl)
{
    double now = mg_mono_seconds();
    char n[24];

    if (now - pl->window >= 1.0) {
        if (pl->suppressed > 0) {
            snprintf(n, sizeof n, "%u", pl->suppressed);
            mg_log(MG_LOG_WARN, "script print lines suppressed",
                   "suppressed", n, NULL);
        }
        pl->window = now;
        pl->count = 0;
        pl->suppressed = 0;
    }
    if (pl->count >= PRINT_PER_SECOND) {
        pl->suppressed++;
        return 0;
    }
    pl->count++;
    return 1;
}

/* Appends v to line (len bytes used of PRINT_MAX), control bytes as '?'
 * so one print is one log line. */
static size_t print_add(char *line, size_t len, const char *v, size_t vlen)
{
    for (size_t i = 0; i < vlen && len < PRINT_MAX; i++) {
        unsigned char ch = (unsigned char)v[i];

        line[len++] = ch < 0x20 && ch != '\t' ? '?' : (char)ch;
    }
    return len;
}

/* As Lua's print (tab-separated, __tostring honoured: script code, under
 * the call's budget), into one log line with the caller's file and line. */
static int l_print(lua_State *L)
{
    char line[PRINT_MAX + 4], where[LUA_IDSIZE + 24], *colon;
    size_t len = 0, vlen;
    int n = lua_gettop(L);

    if (!print_allowed(print_limit(L)))
        return 0;
    for (int i = 1; i <= n; i++) {
        const char *v = luaL_tolstring(L, i, &vlen);

        if (i > 1)
            len = print_add(line, len, "\t", 1);
        len = print_add(line, len, v, vlen);
        lua_pop(L, 1);
    }
    if (len == PRINT_MAX)
        memcpy(line + len - 3, "...", 3);
    line[len] = '\0';
    mg_lua_where(L, where, sizeof where);
    colon = strrchr(where, ':');
    if (colon != NULL)
        *colon++ = '\0';
    mg_log(MG_LOG_INFO, "script print", "file", where, "line",
           colon != NULL ? colon : "?", "text", line, NULL);
    return 0;
}

const luaL_Reg mg_lua_lib_base[] = {
    {"print", l_print},
    {NULL, NULL}};

const luaL_Reg mg_lua_lib_string[] = {
    {"byte", l_byte},
    {"char", l_char},
    {"format", l_format},
    {"lower", l_lower},
    {"pack", l_pack},
    {"rep", l_rep},
    {"reverse", l_reverse},
    {"sub", l_sub},
    {"upper", l_upper},
    {NULL, NULL}};

const luaL_Reg mg_lua_lib_table[] = {
    {"concat", l_concat},
    {"sort", l_sort},
    {"unpack", l_unpack},
    {NULL, NULL}};

const luaL_Reg mg_lua_lib_utf8[] = {
    {"char", l_utf8_char},
    {"codepoint", l_utf8_codepoint},
    {"len", l_utf8_len},
    {NULL, NULL}};
