/* mg_lua_str: Lua 5.4's pattern matcher (lstrlib.c's MatchState, match(),
 * classes, captures, find, match, gmatch, gsub), metered. Upstream runs a
 * whole match inside one C call that the count hook never sees, so a
 * backtracking pattern such as ('a*'):rep(12)..'b' against 40 a's runs for
 * hours past every budget. Here each step (each call of match() and each
 * turn of its loops) and each run of bytes scanned or copied is charged
 * through mg_lua_charge, which raises the same sticky errors as the hook.
 *
 * Copied from Lua 5.4.4 (the matcher is unchanged through 5.4.7). The
 * upstream function names are kept so the code still diffs against
 * lstrlib.c; the typedefs became structs, the indentation is ours, and the
 * metering is the only change in behaviour.
 *
 * Lua's license, which covers the copied code:
 *
 * Copyright (C) 1994-2022 Lua.org, PUC-Rio.
 *
 * Permission is hereby granted, free of charge, to any person obtaining
 * a copy of this software and associated documentation files (the
 * "Software"), to deal in the Software without restriction, including
 * without limitation the rights to use, copy, modify, merge, publish,
 * distribute, sublicense, and/or sell copies of the Software, and to
 * permit persons to whom the Software is furnished to do so, subject to
 * the following conditions:
 *
 * The above copyright notice and this permission notice shall be
 * included in all copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
 * EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
 * MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
 * IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY
 * CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT,
 * TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
 * SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE. */
#include "mg_lua_str.h"
#include "mg_lua.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

/* As lstrlib.c: at most 32 captures (the count must fit an unsigned char)
 * and 200 nested match() calls before "pattern too complex". */
#define MAXCAPTURES 32
#define MAXCCALLS 200

#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define L_ESC '%'
#define SPECIALS "^$*+?.([%-"

#define uchar(c) ((unsigned char)(c))
#define unlikely(x) luai_unlikely(x)

/* Steps are handed to mg_lua_charge in batches, so the budget and the
 * clock are looked at about as often as the count hook looks at them. */
#define SETTLE_EVERY 1000
/* A run of bytes that memchr, memcmp, a class scan or a copy goes through
 * costs one step per this many: far cheaper per byte than a step of
 * match(), but a 2 MB needle compared at each of a million places (or a
 * 100 kB class tried at each byte) must still be paid for. */
#define BYTES_PER_STEP 32

struct match_state {
    const char *src_init;       /* start of the subject */
    const char *src_end;        /* its end ('\0') */
    const char *p_end;          /* end of the pattern */
    lua_State *L;
    size_t steps;               /* done, not yet charged */
    int matchdepth;             /* nested match() calls left */
    unsigned char level;        /* captures, finished or not */
    struct {
        const char *init;
        ptrdiff_t len;
    } capture[MAXCAPTURES];
};

static const char *match(struct match_state *ms, const char *s,
                         const char *p);

/* ---- metering -------------------------------------------------------- */

/* Charges what is pending; raises once the call has tripped a limit. */
static void settle(struct match_state *ms)
{
    size_t n = ms->steps;

    ms->steps = 0;
    if (n > 0)
        mg_lua_charge(ms->L, (uint64_t)n);
}

static void pay(struct match_state *ms, size_t steps)
{
    ms->steps += steps;
    if (ms->steps >= SETTLE_EVERY)
        settle(ms);
}

static void step(struct match_state *ms)
{
    pay(ms, 1);
}

static void scan(struct match_state *ms, size_t bytes)
{
    pay(ms, bytes / BYTES_PER_STEP);
}

/* ---- the matcher ----------------------------------------------------- */

/* A relative start position (negative counts back from the end), clipped
 * to [1, inf). */
static size_t posrelat(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    else if (pos == 0)
        return 1;
    else if (pos < -(lua_Integer)len)   /* inverted: -pos could overflow */
        return 1;
    return len + (size_t)pos + 1;
}

static int check_capture(struct match_state *ms, int l)
{
    l -= '1';
    if (unlikely(l < 0 || l >= ms->level ||
                 ms->capture[l].len == CAP_UNFINISHED))
        return luaL_error(ms->L, "invalid capture index %%%d", l + 1);
    return l;
}

static int capture_to_close(struct match_state *ms)
{
    int level = ms->level;

    for (level--; level >= 0; level--)
        if (ms->capture[level].len == CAP_UNFINISHED)
            return level;
    return luaL_error(ms->L, "invalid pattern capture");
}

static const char *classend(struct match_state *ms, const char *p)
{
    const char *start = p;

    switch (*p++) {
    case L_ESC:
        if (unlikely(p == ms->p_end))
            luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 1;
    case '[':
        if (*p == '^')
            p++;
        do {    /* look for a ']' */
            if (unlikely(p == ms->p_end))
                luaL_error(ms->L, "malformed pattern (missing ']')");
            if (*(p++) == L_ESC && p < ms->p_end)
                p++;    /* skip escapes (e.g. '%]') */
        } while (*p != ']');
        scan(ms, (size_t)(p - start));
        return p + 1;
    default:
        return p;
    }
}

static int match_class(int c, int cl)
{
    int res;

    switch (tolower(cl)) {
    case 'a': res = isalpha(c); break;
    case 'c': res = iscntrl(c); break;
    case 'd': res = isdigit(c); break;
    case 'g': res = isgraph(c); break;
    case 'l': res = islower(c); break;
    case 'p': res = ispunct(c); break;
    case 's': res = isspace(c); break;
    case 'u': res = isupper(c); break;
    case 'w': res = isalnum(c); break;
    case 'x': res = isxdigit(c); break;
    case 'z': res = (c == 0); break;    /* deprecated option */
    default: return cl == c;
    }
    return islower(cl) ? res : !res;
}

/* Upstream's, plus ms: a class is scanned whole at each try. */
static int matchbracketclass(struct match_state *ms, int c, const char *p,
                             const char *ec)
{
    int sig = 1;

    scan(ms, (size_t)(ec - p));
    if (*(p + 1) == '^') {
        sig = 0;
        p++;    /* skip the '^' */
    }
    while (++p < ec) {
        if (*p == L_ESC) {
            p++;
            if (match_class(c, uchar(*p)))
                return sig;
        } else if (*(p + 1) == '-' && p + 2 < ec) {
            p += 2;
            if (uchar(*(p - 2)) <= c && c <= uchar(*p))
                return sig;
        } else if (uchar(*p) == c) {
            return sig;
        }
    }
    return !sig;
}

static int singlematch(struct match_state *ms, const char *s, const char *p,
                       const char *ep)
{
    int c;

    if (s >= ms->src_end)
        return 0;
    c = uchar(*s);
    switch (*p) {
    case '.': return 1;     /* matches any char */
    case L_ESC: return match_class(c, uchar(*(p + 1)));
    case '[': return matchbracketclass(ms, c, p, ep - 1);
    default: return uchar(*p) == c;
    }
}

static const char *matchbalance(struct match_state *ms, const char *s,
                                const char *p)
{
    int b, e, cont = 1;

    if (unlikely(p >= ms->p_end - 1))
        luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (*s != *p)
        return NULL;
    b = *p;
    e = *(p + 1);
    while (++s < ms->src_end) {
        step(ms);
        if (*s == e) {
            if (--cont == 0)
                return s + 1;
        } else if (*s == b) {
            cont++;
        }
    }
    return NULL;    /* string ends out of balance */
}

static const char *max_expand(struct match_state *ms, const char *s,
                              const char *p, const char *ep)
{
    ptrdiff_t i = 0;    /* counts maximum expand for item */

    while (singlematch(ms, s + i, p, ep)) {
        step(ms);
        i++;
    }
    /* keeps trying to match with the maximum repetitions */
    while (i >= 0) {
        const char *res = match(ms, s + i, ep + 1);

        if (res != NULL)
            return res;
        i--;    /* else didn't match; reduce 1 repetition to try again */
    }
    return NULL;
}

static const char *min_expand(struct match_state *ms, const char *s,
                              const char *p, const char *ep)
{
    for (;;) {
        const char *res = match(ms, s, ep + 1);

        if (res != NULL)
            return res;
        else if (singlematch(ms, s, p, ep))
            s++;    /* try with one more repetition */
        else
            return NULL;
    }
}

static const char *start_capture(struct match_state *ms, const char *s,
                                 const char *p, int what)
{
    const char *res;
    int level = ms->level;

    if (level >= MAXCAPTURES)
        luaL_error(ms->L, "too many captures");
    ms->capture[level].init = s;
    ms->capture[level].len = what;
    ms->level = (unsigned char)(level + 1);
    if ((res = match(ms, s, p)) == NULL)    /* match failed? */
        ms->level--;    /* undo capture */
    return res;
}

static const char *end_capture(struct match_state *ms, const char *s,
                               const char *p)
{
    int l = capture_to_close(ms);
    const char *res;

    ms->capture[l].len = s - ms->capture[l].init;  /* close capture */
    if ((res = match(ms, s, p)) == NULL)    /* match failed? */
        ms->capture[l].len = CAP_UNFINISHED;    /* undo capture */
    return res;
}

static const char *match_capture(struct match_state *ms, const char *s,
                                 int l)
{
    size_t len;

    l = check_capture(ms, l);
    len = (size_t)ms->capture[l].len;
    if ((size_t)(ms->src_end - s) >= len) {
        scan(ms, len);
        if (memcmp(ms->capture[l].init, s, len) == 0)
            return s + len;
    }
    return NULL;
}

static const char *match(struct match_state *ms, const char *s,
                         const char *p)
{
    if (unlikely(ms->matchdepth-- == 0))
        luaL_error(ms->L, "pattern too complex");
init:   /* using goto to optimize tail recursion */
    /* The one change to match(): every call and every turn through init
     * is a step, so backtracking is paid for as it happens. */
    step(ms);
    if (p != ms->p_end) {   /* end of pattern? */
        switch (*p) {
        case '(':   /* start capture */
            if (*(p + 1) == ')')    /* position capture? */
                s = start_capture(ms, s, p + 2, CAP_POSITION);
            else
                s = start_capture(ms, s, p + 1, CAP_UNFINISHED);
            break;
        case ')':   /* end capture */
            s = end_capture(ms, s, p + 1);
            break;
        case '$':
            if (p + 1 != ms->p_end)     /* is '$' the last char? */
                goto dflt;  /* no; go to default */
            s = (s == ms->src_end) ? s : NULL;  /* check end of string */
            break;
        case L_ESC:     /* escaped sequences not in the format class[*+?-]? */
            switch (*(p + 1)) {
            case 'b':   /* balanced string? */
                s = matchbalance(ms, s, p + 2);
                if (s != NULL) {
                    p += 4;
                    goto init;  /* return match(ms, s, p + 4); */
                }   /* else fail (s == NULL) */
                break;
            case 'f': {     /* frontier? */
                const char *ep;
                char previous;

                p += 2;
                if (unlikely(*p != '['))
                    luaL_error(ms->L, "missing '[' after '%%f' in pattern");
                ep = classend(ms, p);   /* points to what is next */
                previous = (s == ms->src_init) ? '\0' : *(s - 1);
                if (!matchbracketclass(ms, uchar(previous), p, ep - 1) &&
                    matchbracketclass(ms, uchar(*s), p, ep - 1)) {
                    p = ep;
                    goto init;  /* return match(ms, s, ep); */
                }
                s = NULL;   /* match failed */
                break;
            }
            case '0': case '1': case '2': case '3': case '4':
            case '5': case '6': case '7': case '8': case '9':
                /* capture results (%0-%9)? */
                s = match_capture(ms, s, uchar(*(p + 1)));
                if (s != NULL) {
                    p += 2;
                    goto init;  /* return match(ms, s, p + 2) */
                }
                break;
            default:
                goto dflt;
            }
            break;
        default:
        dflt: {     /* pattern class plus optional suffix */
            const char *ep = classend(ms, p);   /* points to suffix */

            /* does not match at least once? */
            if (!singlematch(ms, s, p, ep)) {
                if (*ep == '*' || *ep == '?' || *ep == '-') {
                    p = ep + 1;     /* accept empty */
                    goto init;  /* return match(ms, s, ep + 1); */
                }
                s = NULL;   /* '+' or no suffix: fail */
                break;
            }
            switch (*ep) {  /* matched once; handle optional suffix */
            case '?': {     /* optional */
                const char *res = match(ms, s + 1, ep + 1);

                if (res != NULL) {
                    s = res;
                } else {
                    p = ep + 1;
                    goto init;  /* else return match(ms, s, ep + 1); */
                }
                break;
            }
            case '+':   /* 1 or more repetitions */
                s++;    /* 1 match already done */
                /* FALLTHROUGH */
            case '*':   /* 0 or more repetitions */
                s = max_expand(ms, s, p, ep);
                break;
            case '-':   /* 0 or more repetitions (minimum) */
                s = min_expand(ms, s, p, ep);
                break;
            default:    /* no suffix */
                s++;
                p = ep;
                goto init;  /* return match(ms, s + 1, ep); */
            }
            break;
        }
        }
    }
    ms->matchdepth++;
    return s;
}

/* Upstream's plain search, plus ms: memchr's run and memcmp's (at most l2
 * bytes) are paid at each candidate. */
static const char *lmemfind(struct match_state *ms, const char *s1,
                            size_t l1, const char *s2, size_t l2)
{
    const char *init;   /* to search for a '*s2' inside 's1' */

    if (l2 == 0)
        return s1;  /* empty strings are everywhere */
    else if (l2 > l1)
        return NULL;    /* avoids a negative 'l1' */
    l2--;   /* 1st char will be checked by 'memchr' */
    l1 = l1 - l2;   /* 's2' cannot be found after that */
    while (l1 > 0 && (init = memchr(s1, *s2, l1)) != NULL) {
        init++;     /* 1st char is already checked */
        pay(ms, 1 + ((size_t)(init - s1) + l2) / BYTES_PER_STEP);
        if (memcmp(init, s2 + 1, l2) == 0)
            return init - 1;
        l1 -= (size_t)(init - s1);  /* correct 'l1' and 's1' to try again */
        s1 = init;
    }
    scan(ms, l1);
    return NULL;    /* not found */
}

/* Information about the i-th capture. With no captures and i == 0, the
 * whole match s..e. For a string capture, returns its length and puts its
 * address in *cap; for a position, pushes it and returns CAP_POSITION. */
static ptrdiff_t get_onecapture(struct match_state *ms, int i,
                                const char *s, const char *e,
                                const char **cap)
{
    ptrdiff_t capl;

    if (i >= ms->level) {
        if (unlikely(i != 0))
            luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        *cap = s;
        return e - s;
    }
    capl = ms->capture[i].len;
    *cap = ms->capture[i].init;
    if (unlikely(capl == CAP_UNFINISHED))
        luaL_error(ms->L, "unfinished capture");
    else if (capl == CAP_POSITION)
        lua_pushinteger(ms->L, (ms->capture[i].init - ms->src_init) + 1);
    return capl;
}

static void push_onecapture(struct match_state *ms, int i, const char *s,
                            const char *e)
{
    const char *cap;
    ptrdiff_t l = get_onecapture(ms, i, s, e, &cap);

    if (l != CAP_POSITION) {
        scan(ms, (size_t)l);
        lua_pushlstring(ms->L, cap, (size_t)l);
    }   /* else the position was pushed already */
}

static int push_captures(struct match_state *ms, const char *s,
                         const char *e)
{
    int nlevels = (ms->level == 0 && s) ? 1 : ms->level;

    luaL_checkstack(ms->L, nlevels, "too many captures");
    for (int i = 0; i < nlevels; i++)
        push_onecapture(ms, i, s, e);
    return nlevels;     /* number of strings pushed */
}

/* 1 when the pattern has no special characters. */
static int nospecials(struct match_state *ms, const char *p, size_t l)
{
    size_t upto = 0;

    scan(ms, l);
    do {
        if (strpbrk(p + upto, SPECIALS))
            return 0;   /* pattern has a special character */
        upto += strlen(p + upto) + 1;   /* may have more after \0 */
    } while (upto <= l);
    return 1;
}

/* Leaves steps alone: the caller zeroes them once, before anything pays. */
static void prepstate(struct match_state *ms, lua_State *L, const char *s,
                      size_t ls, const char *p, size_t lp)
{
    ms->L = L;
    ms->matchdepth = MAXCCALLS;
    ms->src_init = s;
    ms->src_end = s + ls;
    ms->p_end = p + lp;
}

static void reprepstate(struct match_state *ms)
{
    ms->level = 0;
    lua_assert(ms->matchdepth == MAXCCALLS);
}

/* ---- find, match, gmatch, gsub --------------------------------------- */

/* 1 when p[0..l) is plain text (a NUL is plain in a pattern too). A ')'
 * is not one of SPECIALS, which serve the plain find, but the matcher
 * refuses it unopened: leave it to the matcher to raise that error. */
static int is_literal(const char *p, size_t l)
{
    for (size_t i = 0; i < l; i++)
        if (p[i] == ')' || (p[i] != '\0' && strchr(SPECIALS, p[i])))
            return 0;
    return 1;
}

/* "text$" and "^text$", the suffix tests scripts write most: only one
 * place can match, so compare it instead of trying every start. Returns
 * the results pushed, or -1 when the pattern is not of that shape. */
static int find_literal_end(struct match_state *ms, const char *s, size_t ls,
                            size_t init, const char *p, size_t lp, int find)
{
    int anchor = lp > 0 && *p == '^';
    if (lp < 1 + (size_t)anchor || p[lp - 1] != '$')
        return -1;
    const char *lit = p + anchor;
    size_t ll = lp - 1 - (size_t)anchor;
    if (!is_literal(lit, ll))
        return -1;
    scan(ms, ll);
    size_t at = ls >= ll ? ls - ll : 0;
    if (ls < ll || at < init || (anchor && at != init) || memcmp(s + at, lit, ll) != 0) {
        luaL_pushfail(ms->L);
        return 1;
    }
    if (!find) {
        lua_pushlstring(ms->L, s + at, ll);
        return 1;
    }
    lua_pushinteger(ms->L, (lua_Integer)at + 1);
    lua_pushinteger(ms->L, (lua_Integer)(at + ll));
    return 2;
}

static int str_find_aux(lua_State *L, struct match_state *ms, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = posrelat(luaL_optinteger(L, 3, 1), ls) - 1;

    if (init > ls) {    /* start after string's end? */
        luaL_pushfail(L);   /* cannot find anything */
        return 1;
    }
    prepstate(ms, L, s, ls, p, lp);
    if (!(find && lua_toboolean(L, 4))) {
        int n = find_literal_end(ms, s, ls, init, p, lp, find);
        if (n >= 0)
            return n;
    }
    /* explicit request or no special characters? */
    if (find && (lua_toboolean(L, 4) || nospecials(ms, p, lp))) {
        /* do a plain search */
        const char *s2 = lmemfind(ms, s + init, ls - init, p, lp);

        if (s2) {
            lua_pushinteger(L, (s2 - s) + 1);
            lua_pushinteger(L, (lua_Integer)((size_t)(s2 - s) + lp));
            return 2;
        }
    } else {
        const char *s1 = s + init;
        int anchor = (*p == '^');

        if (anchor) {
            p++;    /* skip anchor character; p_end stays */
            lp--;
        }
        do {
            const char *res;

            reprepstate(ms);
            if ((res = match(ms, s1, p)) != NULL) {
                if (find) {
                    lua_pushinteger(L, (s1 - s) + 1);   /* start */
                    lua_pushinteger(L, res - s);    /* end */
                    return push_captures(ms, NULL, 0) + 2;
                }
                return push_captures(ms, s1, res);
            }
        } while (s1++ < ms->src_end && !anchor);
    }
    luaL_pushfail(L);   /* not found */
    return 1;
}

/* str_find_aux, then the remainder of its steps charged. */
static int find_or_match(lua_State *L, int find)
{
    struct match_state ms;
    int n;

    ms.L = L;
    ms.steps = 0;
    n = str_find_aux(L, &ms, find);
    settle(&ms);
    return n;
}

static int l_find(lua_State *L)
{
    return find_or_match(L, 1);
}

static int l_match(lua_State *L)
{
    return find_or_match(L, 0);
}

struct gmatch_state {
    const char *src;        /* current position */
    const char *p;          /* pattern */
    const char *lastmatch;  /* end of last match */
    struct match_state ms;
};

static int gmatch_aux(lua_State *L)
{
    struct gmatch_state *gm = lua_touserdata(L, lua_upvalueindex(3));

    gm->ms.L = L;
    /* A call that raised mid-match left these behind; start clean, or
     * each trip would leave the iterator less depth to match with. */
    gm->ms.steps = 0;
    gm->ms.matchdepth = MAXCCALLS;
    for (const char *src = gm->src; src <= gm->ms.src_end; src++) {
        const char *e;

        reprepstate(&gm->ms);
        if ((e = match(&gm->ms, src, gm->p)) != NULL &&
            e != gm->lastmatch) {
            int n;

            gm->src = gm->lastmatch = e;
            n = push_captures(&gm->ms, src, e);
            settle(&gm->ms);
            return n;
        }
    }
    settle(&gm->ms);
    return 0;   /* not found */
}

static int l_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
    struct gmatch_state *gm;

    lua_settop(L, 2);   /* keep strings on closure to avoid being collected */
    gm = lua_newuserdatauv(L, sizeof *gm, 0);
    if (init > ls)  /* start after string's end? */
        init = ls + 1;  /* avoid overflows in 's + init' */
    prepstate(&gm->ms, L, s, ls, p, lp);
    gm->ms.steps = 0;
    gm->src = s + init;
    gm->p = p;
    gm->lastmatch = NULL;
    lua_pushcclosure(L, gmatch_aux, 3);
    return 1;
}

/* Upstream's, plus the metering: a replacement of many "%1" over empty
 * captures copies nothing yet scans the replacement at every match. */
static void add_s(struct match_state *ms, luaL_Buffer *b, const char *s,
                  const char *e)
{
    size_t l;
    lua_State *L = ms->L;
    const char *news = lua_tolstring(L, 3, &l);
    const char *p;

    while ((p = memchr(news, L_ESC, l)) != NULL) {
        step(ms);
        scan(ms, (size_t)(p - news));
        luaL_addlstring(b, news, (size_t)(p - news));
        p++;    /* skip ESC */
        if (*p == L_ESC) {  /* '%%' */
            luaL_addchar(b, *p);
        } else if (*p == '0') {     /* '%0' */
            scan(ms, (size_t)(e - s));
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit(uchar(*p))) {    /* '%n' */
            const char *cap;
            ptrdiff_t resl = get_onecapture(ms, *p - '1', s, e, &cap);

            if (resl == CAP_POSITION) {
                luaL_addvalue(b);   /* add position to accumulated result */
            } else {
                scan(ms, (size_t)resl);
                luaL_addlstring(b, cap, (size_t)resl);
            }
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", L_ESC);
        }
        l -= (size_t)(p + 1 - news);
        news = p + 1;
    }
    scan(ms, l);
    luaL_addlstring(b, news, l);
}

/* Adds the replacement value to b. Returns 1 if the subject changed (a
 * function or table giving nil or false keeps the original text). */
static int add_value(struct match_state *ms, luaL_Buffer *b, const char *s,
                     const char *e, int tr)
{
    lua_State *L = ms->L;

    switch (tr) {
    case LUA_TFUNCTION: {   /* call the function */
        int n;

        lua_pushvalue(L, 3);    /* push the function */
        n = push_captures(ms, s, e);    /* all captures as arguments */
        lua_call(L, n, 1);
        break;
    }
    case LUA_TTABLE:    /* index the table */
        push_onecapture(ms, 0, s, e);   /* first capture is the index */
        lua_gettable(L, 3);
        break;
    default:    /* LUA_TNUMBER or LUA_TSTRING */
        add_s(ms, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {    /* nil or false? */
        lua_pop(L, 1);
        scan(ms, (size_t)(e - s));
        luaL_addlstring(b, s, (size_t)(e - s));     /* keep original text */
        return 0;
    } else if (unlikely(!lua_isstring(L, -1))) {
        return luaL_error(L, "invalid replacement value (a %s)",
                          luaL_typename(L, -1));
    }
    luaL_addvalue(b);   /* add result to accumulator */
    return 1;
}

static int l_gsub(lua_State *L)
{
    size_t srcl, lp;
    const char *src = luaL_checklstring(L, 1, &srcl);   /* subject */
    const char *p = luaL_checklstring(L, 2, &lp);   /* pattern */
    const char *lastmatch = NULL;   /* end of last match */
    int tr = lua_type(L, 3);    /* replacement type */
    lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
    int anchor = (*p == '^');
    lua_Integer n = 0;  /* replacement count */
    int changed = 0;
    struct match_state ms;
    luaL_Buffer b;

    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING ||
                     tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                     "string/function/table");
    luaL_buffinit(L, &b);
    if (anchor) {
        p++;    /* skip anchor character */
        lp--;
    }
    prepstate(&ms, L, src, srcl, p, lp);
    ms.steps = 0;
    while (n < max_s) {
        const char *e;

        reprepstate(&ms);   /* (re)prepare state for new match */
        if ((e = match(&ms, src, p)) != NULL && e != lastmatch) {
            n++;
            changed = add_value(&ms, &b, src, e, tr) | changed;
            src = lastmatch = e;
        } else if (src < ms.src_end) {  /* otherwise skip one character */
            luaL_addchar(&b, *src++);
        } else {
            break;  /* end of subject */
        }
        if (anchor)
            break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);    /* return original string */
    } else {
        scan(&ms, (size_t)(ms.src_end - src));
        luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
        luaL_pushresult(&b);    /* create and return new string */
    }
    lua_pushinteger(L, n);  /* number of substitutions */
    settle(&ms);
    return 2;
}

const luaL_Reg mg_lua_str_funcs[] = {
    {"find", l_find},
    {"gmatch", l_gmatch},
    {"gsub", l_gsub},
    {"match", l_match},
    {NULL, NULL}};
