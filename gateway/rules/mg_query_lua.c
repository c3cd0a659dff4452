/* mg_query_lua: the q table. Each function reads its arguments with raw
 * access, walks the store or the histories through mg_query.c into rows
 * (a key and a value each, in q's scratch), sorts and groups them, and
 * builds its answer on a checked stack. Work is charged to the running
 * call's budget; errors are Lua errors naming the function. */
#include "mg_query_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "mg_vec.h"
#include "mg_lua.h"
#include "mg_promql_eval.h"

#define MAX_BY 64          /* labels in opts.by */
#define MAX_ELEM_LABELS 256 /* labels of one vector element q.ratio reads */
#define CLIP 60            /* bytes of a selector quoted in a message */

/* One series or group on its way to an answer. Keys are label pairs, each
 * string as a 4-byte length and its bytes, compared pair by pair as
 * Prometheus compares label sets. */
struct qrow {
    size_t off, len; /* the key, in q->keys */
    const char *k;   /* the same, once q->keys stops growing */
    double v, le;
    size_t seq;      /* the order rows came in, to keep sorts stable */
};

static int qerror(lua_State *L, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* luaL_error's formats lack %.*s and %g; build the message here. */
static int qerror(lua_State *L, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return luaL_error(L, "%s", buf);
}

static struct mg_query *ctx(lua_State *L, const char *fname)
{
    struct mg_query *q = lua_touserdata(L, lua_upvalueindex(1));
    if (!q->st)
        qerror(L, "%s: no store bound to q", fname);
    /* about 8 slots: vector, element, key, labels, name, value */
    luaL_checkstack(L, 8, fname);
    return q;
}

/* ---- keys and rows ---- */

static int kput(struct mg_rebuf *b, const char *s, size_t n)
{
    uint32_t l = (uint32_t)n;
    return mg_rebuf_add(b, &l, sizeof(l)) || mg_rebuf_add(b, s, n) ? -ENOMEM
                                                                   : 0;
}

static const char *kget(const char *p, const char **s, uint32_t *n)
{
    memcpy(n, p, sizeof(*n));
    *s = p + sizeof(*n);
    return *s + *n;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    const char *ea = a + an, *eb = b + bn;
    while (a < ea && b < eb) {
        const char *sa, *sb;
        uint32_t la, lb;
        a = kget(a, &sa, &la);
        b = kget(b, &sb, &lb);
        int c = bytes_cmp(sa, la, sb, lb);
        if (c)
            return c;
    }
    return (a < ea) - (b < eb);
}

static int row_cmp(const void *x, const void *y)
{
    const struct qrow *a = x, *b = y;
    int c = key_cmp(a->k, a->len, b->k, b->len);
    if (c)
        return c;
    if (a->le != b->le)
        return a->le < b->le ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static void rows_reset(struct mg_query *q)
{
    q->nrows = 0;
    q->keys.len = 0;
}

/* A row whose key is q->keys from off to the end. */
static int row_add(struct mg_query *q, size_t off, double v, double le)
{
    if (MG_GROW(q->rows, q->caprows, q->nrows + 1))
        return -ENOMEM;
    q->rows[q->nrows] = (struct qrow){off, q->keys.len - off, NULL, v, le,
                                      q->nrows};
    q->nrows++;
    return 0;
}

static void rows_fix(struct mg_query *q, size_t from)
{
    /* all keys empty (no by labels): q->keys may never have allocated */
    static const char none[1];
    const char *base = q->keys.p ? q->keys.p : none;
    for (size_t i = from; i < q->nrows; i++)
        q->rows[i].k = base + q->rows[i].off;
}

static void rows_sort(struct qrow *r, size_t n)
{
    if (n > 1)
        qsort(r, n, sizeof(*r), row_cmp);
}

static int same_key(const struct qrow *a, const struct qrow *b)
{
    return a->len == b->len && memcmp(a->k, b->k, a->len) == 0;
}

/* Every label of a sample, __name__ in its sorted place. */
static int key_full(struct mg_query *q, const char *name, size_t nlen,
                    const struct mg_label *l, size_t n)
{
    static const char nm[] = "__name__";
    int placed = 0, rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!placed && bytes_cmp(nm, 8, l[i].name, l[i].nlen) < 0) {
            rc = kput(&q->keys, nm, 8) || kput(&q->keys, name, nlen);
            placed = 1;
        }
        rc = rc || kput(&q->keys, l[i].name, l[i].nlen) ||
             kput(&q->keys, l[i].value, l[i].vlen);
    }
    if (!placed)
        rc = rc || kput(&q->keys, nm, 8) || kput(&q->keys, name, nlen);
    return rc ? -ENOMEM : 0;
}

/* The by labels of a sample, "" where absent; __name__ reads the name
 * only with keep_name (range functions drop it, as PromQL's do). */
static int key_by(struct mg_query *q, const char *name, size_t nlen,
                  int keep_name, const struct mg_label *l, size_t n,
                  const struct mg_label *by, size_t nby)
{
    for (size_t j = 0; j < nby; j++) {
        const char *v = "";
        size_t vl = 0;
        if (by[j].nlen == 8 && memcmp(by[j].name, "__name__", 8) == 0) {
            if (keep_name) {
                v = name;
                vl = nlen;
            }
        } else {
            for (size_t i = 0; i < n; i++)
                if (l[i].nlen == by[j].nlen &&
                    memcmp(l[i].name, by[j].name, by[j].nlen) == 0) {
                    v = l[i].value;
                    vl = l[i].vlen;
                    break;
                }
        }
        if (kput(&q->keys, by[j].name, by[j].nlen) || kput(&q->keys, v, vl))
            return -ENOMEM;
    }
    return 0;
}

/* ---- answers ---- */

/* {labels = {...}, value = v}: the labels are the key's pairs with a
 * value. */
static void push_element(lua_State *L, const char *k, size_t klen, double v)
{
    const char *p = k, *e = k + klen;
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "labels");
    lua_newtable(L);
    while (p < e) {
        const char *n, *val;
        uint32_t nl, vl;
        p = kget(p, &n, &nl);
        p = kget(p, &val, &vl);
        if (!vl)
            continue;
        lua_pushlstring(L, n, nl);
        lua_pushlstring(L, val, vl);
        lua_rawset(L, -3);
    }
    lua_rawset(L, -3);
    lua_pushliteral(L, "value");
    lua_pushnumber(L, v);
    lua_rawset(L, -3);
}

/* The rows summed per key (Kahan, in row order): a vector in key order
 * with by, else one number (nil without rows). */
static void push_result(lua_State *L, struct mg_query *q, int has_by)
{
    double sum = 0, c = 0;
    if (!has_by) {
        if (!q->nrows) {
            lua_pushnil(L);
            return;
        }
        for (size_t i = 0; i < q->nrows; i++)
            sum = mg_kahan_inc(q->rows[i].v, sum, &c);
        lua_pushnumber(L, sum + c);
        return;
    }
    rows_sort(q->rows, q->nrows);
    lua_newtable(L);
    lua_Integer n = 0;
    for (size_t i = 0, j; i < q->nrows; i = j) {
        sum = c = 0;
        for (j = i; j < q->nrows && same_key(&q->rows[j], &q->rows[i]); j++)
            sum = mg_kahan_inc(q->rows[j].v, sum, &c);
        push_element(L, q->rows[i].k, q->rows[i].len, sum + c);
        lua_rawseti(L, -2, ++n);
    }
}

/* ---- arguments ---- */

static struct qsel *arg_sel(lua_State *L, struct mg_query *q, int idx,
                            const char *fname, int range)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        qerror(L, "%s: argument #%d: the selector must be a string, not %s%s",
              fname, idx, luaL_typename(L, idx),
              lua_istable(L, idx) ? " (call q.f(...), not q:f(...))" : "");
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    char why[MG_WHY_LEN];
    int err;
    struct qsel *sel = mg_query_sel_get(q, s, n, range, &err, why, sizeof(why));
    if (!sel)
        qerror(L, "%s: selector '%.*s%s': %s", fname,
              (int)(n > CLIP ? CLIP : n), s, n > CLIP ? "..." : "", why);
    return sel;
}

static int64_t arg_window(lua_State *L, int idx, const char *fname)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        qerror(L, "%s: argument #%d: the window must be a duration such as "
                 "\"5m\", not %s", fname, idx, luaL_typename(L, idx));
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    char why[MG_WHY_LEN];
    int64_t ms;
    if (mg_duration_parse(s, n, &ms, why, sizeof(why)))
        qerror(L, "%s: window: %s", fname, why);
    if (ms <= 0)
        qerror(L, "%s: the window must be longer than 0", fname);
    return ms;
}

/* opts at idx (nil or {by = {...}}) into by (MAX_BY entries; the strings
 * stay in opts, on the stack for the call). Returns how many, -1 when
 * there is no by. Labels named skip (NULL: none) are left out. */
static int arg_opts(lua_State *L, int idx, const char *fname,
                    struct mg_label *by, const char *skip)
{
    int t = lua_type(L, idx);
    if (t == LUA_TNONE || t == LUA_TNIL)
        return -1;
    if (t != LUA_TTABLE)
        qerror(L, "%s: argument #%d: options must be a table, not %s", fname,
              idx, luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING ||
            strcmp(lua_tostring(L, -2), "by") != 0)
            qerror(L, "%s: unknown option %s%s%s (the one option is by)",
                  fname, lua_type(L, -2) == LUA_TSTRING ? "'" : "a ",
                  lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
                                                 : luaL_typename(L, -2),
                  lua_type(L, -2) == LUA_TSTRING ? "'" : " key");
        lua_pop(L, 1);
    }
    lua_pushliteral(L, "by");
    t = lua_rawget(L, idx);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return -1;
    }
    if (t != LUA_TTABLE)
        qerror(L, "%s: opts.by must be a list of label names, not %s", fname,
              luaL_typename(L, -1));
    lua_Unsigned len = lua_rawlen(L, -1);
    if (len > MAX_BY)
        qerror(L, "%s: opts.by lists more than %d labels", fname, MAX_BY);
    int n = 0;
    for (lua_Unsigned i = 1; i <= len; i++) {
        size_t l;
        if (lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING)
            qerror(L, "%s: opts.by[%d] must be a label name, not %s", fname,
                  (int)i, luaL_typename(L, -1));
        const char *s = lua_tolstring(L, -1, &l);
        if (!mg_label_name_valid(s, l))
            qerror(L, "%s: opts.by[%d]: '%.*s' is not a label name", fname,
                  (int)i, (int)(l > CLIP ? CLIP : l), s);
        if (!skip || strcmp(s, skip) != 0)
            by[n++] = (struct mg_label){s, "", (uint32_t)l, 0};
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return n;
}

/* ---- instant reads: q.series, q.value, q.sum ---- */

enum { KEY_NONE, KEY_FULL, KEY_BY };

struct icol {
    struct mg_query *q;
    int mode;
    const struct mg_label *by;
    size_t nby;
};

static int instant_row(void *p, const struct qsample *s)
{
    struct icol *c = p;
    struct mg_query *q = c->q;
    size_t off = q->keys.len;
    int rc = 0;
    if (c->mode == KEY_FULL)
        rc = key_full(q, s->name, s->nlen, s->labels, s->n);
    else if (c->mode == KEY_BY)
        rc = key_by(q, s->name, s->nlen, 1, s->labels, s->n, c->by, c->nby);
    return rc ? rc : row_add(q, off, s->value, 0);
}

static void collect_instant(lua_State *L, struct mg_query *q, struct qsel *s,
                            int mode, const struct mg_label *by, size_t nby,
                            const char *fname)
{
    struct icol c = {q, mode, by, nby};
    char why[MG_WHY_LEN];
    size_t visited = 0;
    rows_reset(q);
    int rc = mg_query_sel_each(q, q->st, s->sel, instant_row, &c, &visited, why,
                     sizeof(why));
    mg_lua_charge(L, 4 * (uint64_t)visited + 8 * (uint64_t)q->nrows);
    if (rc == -EINVAL)
        qerror(L, "%s: %s", fname, why);
    if (rc)
        qerror(L, "%s: out of memory", fname);
    rows_fix(q, 0);
}

static int l_series(lua_State *L)
{
    struct mg_query *q = ctx(L, "q.series");
    struct qsel *s = arg_sel(L, q, 1, "q.series", 0);
    collect_instant(L, q, s, KEY_FULL, NULL, 0, "q.series");
    rows_sort(q->rows, q->nrows);
    lua_createtable(L, q->nrows < 1u << 20 ? (int)q->nrows : 0, 0);
    for (size_t i = 0; i < q->nrows; i++) {
        push_element(L, q->rows[i].k, q->rows[i].len, q->rows[i].v);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int l_value(lua_State *L)
{
    struct mg_query *q = ctx(L, "q.value");
    struct qsel *s = arg_sel(L, q, 1, "q.value", 0);
    collect_instant(L, q, s, KEY_FULL, NULL, 0, "q.value");
    if (!q->nrows) {
        lua_pushnil(L);
        return 1;
    }
    size_t first = 0;
    for (size_t i = 1; i < q->nrows; i++)
        if (row_cmp(&q->rows[i], &q->rows[first]) < 0)
            first = i;
    lua_pushnumber(L, q->rows[first].v);
    return 1;
}

static int l_sum(lua_State *L)
{
    struct mg_label by[MAX_BY];
    struct mg_query *q = ctx(L, "q.sum");
    struct qsel *s = arg_sel(L, q, 1, "q.sum", 0);
    int nby = arg_opts(L, 2, "q.sum", by, NULL);
    collect_instant(L, q, s, nby < 0 ? KEY_NONE : KEY_BY, by,
                    nby < 0 ? 0 : (size_t)nby, "q.sum");
    push_result(L, q, nby >= 0);
    return 1;
}

/* ---- range functions ---- */

enum fn { F_RATE, F_INCREASE, F_AVG, F_MAX, F_QUANTILE };

/* The bucket bound of h: its histogram's, else its le label's as
 * strconv.ParseFloat reads it; NAN when it has none. */
static double hist_le(const struct qhist *h)
{
    if (!isnan(h->le))
        return h->le;
    size_t pos = 0;
    struct mg_label l;
    while (mg_labelset_next(h->ls, &pos, &l)) {
        if (l.nlen != 2 || memcmp(l.name, "le", 2) != 0)
            continue;
        char buf[64], *end;
        if (l.vlen == 0 || l.vlen >= sizeof(buf))
            return NAN;
        memcpy(buf, l.value, l.vlen);
        buf[l.vlen] = '\0';
        double v = strtod(buf, &end);
        return *end ? NAN : v;
    }
    return NAN;
}

/* Rows for fn over the histories s matched, with keys of the by labels. */
static void collect_range(lua_State *L, struct mg_query *q, struct qsel *s,
                          enum fn fn, int64_t win, const struct mg_label *by,
                          int nby, const char *fname)
{
    uint64_t work = 0;
    rows_reset(q);
    for (size_t k = 0; k < s->nmem; k++) {
        const struct qhist *h = s->mem[k];
        size_t n = qh_window(q, h, q->now, win);
        double v = 0, le = 0;
        work += 4 + n;
        switch (fn) {
        case F_RATE:
        case F_INCREASE:
        case F_QUANTILE:
            if (fn == F_QUANTILE && isnan(le = hist_le(h)))
                continue;
            if (!mg_promql_rate(q->pts, n, q->now, win, 1, fn != F_INCREASE,
                                &v))
                continue;
            break;
        case F_AVG:
        case F_MAX:
            if (!n)
                continue;
            v = fn == F_AVG ? mg_promql_avg_over_time(q->pts, n)
                            : mg_promql_max_over_time(q->pts, n);
            break;
        }
        size_t off = q->keys.len;
        if (nby > 0) {
            if (mg_query_reserve_labels(q, h->ls->n))
                qerror(L, "%s: out of memory", fname);
            size_t nl = mg_labelset_unpack(h->ls, q->lab);
            if (key_by(q, h->name, h->nlen, 0, q->lab, nl, by, (size_t)nby))
                qerror(L, "%s: out of memory", fname);
        }
        if (row_add(q, off, v, le))
            qerror(L, "%s: out of memory", fname);
    }
    mg_lua_charge(L, work + 8 * (uint64_t)q->nrows);
    rows_fix(q, 0);
}

/* histogram_quantile over the rows: per key, the rates summed by le
 * (Kahan), then bucketQuantile. */
static void push_quantiles(lua_State *L, struct mg_query *q, double phi,
                           int has_by, const char *fname)
{
    if (!q->nrows) {
        if (has_by)
            lua_newtable(L);
        else
            lua_pushnil(L);
        return;
    }
    rows_sort(q->rows, q->nrows);
    if (has_by)
        lua_newtable(L);
    lua_Integer out = 0;
    for (size_t i = 0, j; i < q->nrows; i = j) {
        size_t nb = 0;
        double c = 0;
        for (j = i; j < q->nrows && same_key(&q->rows[j], &q->rows[i]); j++) {
            const struct qrow *r = &q->rows[j];
            if (nb && q->bk[nb - 1].upper == r->le) {
                q->bk[nb - 1].count = mg_kahan_inc(r->v, q->bk[nb - 1].count, &c);
                continue;
            }
            if (nb)
                q->bk[nb - 1].count += c;
            if (MG_GROW(q->bk, q->capbk, nb + 1))
                qerror(L, "%s: out of memory", fname);
            q->bk[nb++] = (struct mg_bucket){r->le, r->v};
            c = 0;
        }
        q->bk[nb - 1].count += c;
        double v = mg_promql_bucket_quantile(phi, q->bk, nb);
        if (!has_by) {
            lua_pushnumber(L, v);
            return;
        }
        push_element(L, q->rows[i].k, q->rows[i].len, v);
        lua_rawseti(L, -2, ++out);
    }
}

static int range_fn(lua_State *L, enum fn fn, const char *fname)
{
    struct mg_label by[MAX_BY];
    struct mg_query *q = ctx(L, fname);
    int base = fn == F_QUANTILE ? 2 : 1;
    double phi = fn == F_QUANTILE ? luaL_checknumber(L, 1) : 0;
    struct qsel *s = arg_sel(L, q, base, fname, 1);
    int64_t win = arg_window(L, base + 1, fname);
    /* histogram_quantile groups by le itself */
    int nby = arg_opts(L, base + 2, fname, by, fn == F_QUANTILE ? "le" : NULL);
    char why[MG_WHY_LEN];
    int rc = mg_query_sel_range(q, q->st, s, win, q->now, why, sizeof(why));
    if (rc)
        qerror(L, "%s: %s", fname, rc == -ENOMEM ? "out of memory" : why);
    collect_range(L, q, s, fn, win, by, nby, fname);
    if (fn == F_QUANTILE)
        push_quantiles(L, q, phi, nby >= 0, fname);
    else
        push_result(L, q, nby >= 0);
    return 1;
}

static int l_rate(lua_State *L)
{
    return range_fn(L, F_RATE, "q.rate");
}

static int l_increase(lua_State *L)
{
    return range_fn(L, F_INCREASE, "q.increase");
}

static int l_avg_over_time(lua_State *L)
{
    return range_fn(L, F_AVG, "q.avg_over_time");
}

static int l_max_over_time(lua_State *L)
{
    return range_fn(L, F_MAX, "q.max_over_time");
}

static int l_histogram_quantile(lua_State *L)
{
    return range_fn(L, F_QUANTILE, "q.histogram_quantile");
}

/* ---- q.ratio ---- */

/* Reads element i of the vector at vidx: its value, and its labels (not
 * __name__, not empty ones) as a key appended to q->keys. */
static double elem_key(lua_State *L, struct mg_query *q, int vidx,
                       lua_Integer i, const char *side)
{
    if (lua_rawgeti(L, vidx, i) != LUA_TTABLE)
        qerror(L, "q.ratio: %s vector: element %d is not a table", side,
              (int)i);
    lua_pushliteral(L, "value");
    if (lua_rawget(L, -2) != LUA_TNUMBER)
        qerror(L, "q.ratio: %s vector: element %d has no numeric value", side,
              (int)i);
    double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    lua_pushliteral(L, "labels");
    int t = lua_rawget(L, -2);
    size_t n = 0;
    if (t != LUA_TTABLE && t != LUA_TNIL)
        qerror(L, "q.ratio: %s vector: element %d: labels must be a table",
              side, (int)i);
    if (t == LUA_TTABLE) {
        int lt = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, lt)) {
            size_t kl, vl;
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                qerror(L, "q.ratio: %s vector: element %d: labels must map "
                         "strings to strings", side, (int)i);
            if (n >= MAX_ELEM_LABELS || mg_query_reserve_labels(q, n + 1))
                qerror(L, "q.ratio: %s vector: element %d has too many labels",
                      side, (int)i);
            /* the strings live in the vector, on the stack for the call */
            const char *k = lua_tolstring(L, -2, &kl);
            const char *val = lua_tolstring(L, -1, &vl);
            if (vl && !(kl == 8 && memcmp(k, "__name__", 8) == 0))
                q->lab[n++] = (struct mg_label){k, val, (uint32_t)kl,
                                                (uint32_t)vl};
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 2);
    mg_labels_sort(q->lab, n);
    for (size_t k = 0; k < n; k++)
        if (kput(&q->keys, q->lab[k].name, q->lab[k].nlen) ||
            kput(&q->keys, q->lab[k].value, q->lab[k].vlen))
            qerror(L, "q.ratio: out of memory");
    return v;
}

/* A row per element of the vector at idx, keyed by its labels. */
static void ratio_rows(lua_State *L, struct mg_query *q, int idx,
                       const char *side)
{
    lua_Unsigned n = lua_rawlen(L, idx);
    mg_lua_charge(L, 16 * (uint64_t)n);
    for (lua_Unsigned i = 1; i <= n; i++) {
        size_t off = q->keys.len;
        double v = elem_key(L, q, idx, (lua_Integer)i, side);
        if (row_add(q, off, v, 0))
            qerror(L, "q.ratio: out of memory");
    }
}

/* Sorts rows [from, to) by labels; raises on a duplicate. */
static void ratio_sort(lua_State *L, struct mg_query *q, size_t from,
                       size_t to, const char *side)
{
    if (to - from < 2)
        return;
    struct qrow *r = q->rows + from;
    size_t n = to - from;
    rows_sort(r, n);
    for (size_t i = 1; i < n; i++)
        if (same_key(&r[i - 1], &r[i]))
            qerror(L, "q.ratio: %s vector holds two elements with the same "
                     "labels", side);
}

static const struct qrow *ratio_find(const struct qrow *r, size_t n,
                                     const struct qrow *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(r[mid].k, r[mid].len, key->k, key->len);
        if (c == 0)
            return &r[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int l_ratio(lua_State *L)
{
    struct mg_query *q = ctx(L, "q.ratio");
    int ta = lua_type(L, 1), tb = lua_type(L, 2);
    for (int i = 1; i <= 2; i++) {
        int t = i == 1 ? ta : tb;
        if (t != LUA_TNONE && t != LUA_TNIL && t != LUA_TNUMBER &&
            t != LUA_TTABLE)
            qerror(L, "q.ratio: argument #%d must be a number, a vector or "
                     "nil, not %s", i, luaL_typename(L, i));
    }
    if (ta == LUA_TNONE || ta == LUA_TNIL || tb == LUA_TNONE ||
        tb == LUA_TNIL) {
        lua_pushnil(L);
        return 1;
    }
    if (ta == LUA_TNUMBER && tb == LUA_TNUMBER) {
        double b = lua_tonumber(L, 2);
        if (b == 0)
            lua_pushnil(L);
        else
            lua_pushnumber(L, lua_tonumber(L, 1) / b);
        return 1;
    }
    rows_reset(q);
    lua_newtable(L);
    int res = lua_gettop(L);
    lua_Integer out = 0;
    if (ta == LUA_TNUMBER || tb == LUA_TNUMBER) {
        /* a vector and a number: each element against the number */
        int vec = ta == LUA_TTABLE ? 1 : 2;
        double x = lua_tonumber(L, vec == 1 ? 2 : 1);
        ratio_rows(L, q, vec, vec == 1 ? "first" : "second");
        rows_fix(q, 0);
        ratio_sort(L, q, 0, q->nrows, vec == 1 ? "first" : "second");
        for (size_t i = 0; i < q->nrows; i++) {
            const struct qrow *r = &q->rows[i];
            double d = vec == 1 ? x : r->v;
            if (d == 0)
                continue;
            push_element(L, r->k, r->len, vec == 1 ? r->v / d : x / d);
            lua_rawseti(L, res, ++out);
        }
        return 1;
    }
    ratio_rows(L, q, 2, "second");
    size_t nb = q->nrows;
    ratio_rows(L, q, 1, "first");
    rows_fix(q, 0);
    ratio_sort(L, q, 0, nb, "second");
    ratio_sort(L, q, nb, q->nrows, "first");
    for (size_t i = nb; i < q->nrows; i++) {
        const struct qrow *a = &q->rows[i];
        const struct qrow *b = ratio_find(q->rows, nb, a);
        if (!b || b->v == 0)
            continue;
        push_element(L, a->k, a->len, a->v / b->v);
        lua_rawseti(L, res, ++out);
    }
    return 1;
}

/* ---- q.promql ---- */

/* The labels of one element as a table, __name__ included. */
static void push_pq_elem(lua_State *L, const struct mg_pqe_elem *x)
{
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "labels");
    lua_createtable(L, 0, (int)x->n);
    for (uint32_t i = 0; i < x->n; i++) {
        lua_pushlstring(L, x->l[i].name, x->l[i].nlen);
        lua_pushlstring(L, x->l[i].value, x->l[i].vlen);
        lua_rawset(L, -3);
    }
    lua_rawset(L, -3);
    lua_pushliteral(L, "value");
    lua_pushnumber(L, x->v);
    lua_rawset(L, -3);
}

/* q.promql(expr): the expression parsed once per text (cached in q), then
 * evaluated at q's time: a number for a scalar, a vector for a vector. */
static int l_promql(lua_State *L)
{
    struct mg_query *q = ctx(L, "q.promql");
    if (lua_type(L, 1) != LUA_TSTRING)
        qerror(L, "q.promql: argument #1: the expression must be a string, "
                 "not %s%s", luaL_typename(L, 1),
               lua_istable(L, 1) ? " (call q.promql(...), not q:promql(...))"
                                 : "");
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    char why[MG_PQ_WHY];
    int err = 0;
    if (!q->pqe && !(q->pqe = mg_pqe_new()))
        qerror(L, "q.promql: out of memory");
    const struct mg_pq *pq = mg_pqe_get(q->pqe, s, n, &err, why, sizeof(why));
    if (!pq)
        qerror(L, "promql: %s", why);
    struct mg_pqe_value v;
    uint64_t work = 0;
    err = mg_pqe_eval(q->pqe, q, q->st, pq, q->now, &v, &work, why,
                      sizeof(why));
    mg_lua_charge(L, 4 * work + (err ? 0 : 8 * (uint64_t)v.n));
    if (err)
        qerror(L, "q.promql: %s", why);
    if (v.type == MG_PQ_SCALAR) {
        lua_pushnumber(L, v.s);
        return 1;
    }
    lua_createtable(L, v.n < 1u << 20 ? (int)v.n : 0, 0);
    for (size_t i = 0; i < v.n; i++) {
        push_pq_elem(L, &v.e[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int l_promql_rule(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushliteral(L, "promql");
    lua_rawget(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 1, 1);
    return 1;
}

void mg_query_promql_expr(lua_State *L)
{
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    char why[MG_PQ_WHY];
    if (!s)
        luaL_error(L, "promql must be a string");
    if (mg_pqe_check(s, n, why, sizeof(why)))
        luaL_error(L, "promql: %s", why);
    lua_pushcclosure(L, l_promql_rule, 1);
}

/* ---- the table ---- */

/* q.now(): the evaluation's time in seconds (the group's query_offset
 * back from the tick). */
static int l_qnow(lua_State *L)
{
    struct mg_query *q = lua_touserdata(L, lua_upvalueindex(1));
    lua_pushnumber(L, (lua_Number)q->now / 1000.0);
    return 1;
}

void mg_query_push(lua_State *L, struct mg_query *q, struct mg_store *st,
                   int64_t now_ms)
{
    static const luaL_Reg fns[] = {
        {"series", l_series},
        {"value", l_value},
        {"sum", l_sum},
        {"rate", l_rate},
        {"increase", l_increase},
        {"avg_over_time", l_avg_over_time},
        {"max_over_time", l_max_over_time},
        {"histogram_quantile", l_histogram_quantile},
        {"ratio", l_ratio},
        {"now", l_qnow},
        {"promql", l_promql},
        {NULL, NULL},
    };
    q->st = st;
    q->now = now_ms;
    luaL_checkstack(L, 3, "q");
    lua_createtable(L, 0, 10);
    lua_pushlightuserdata(L, q);
    luaL_setfuncs(L, fns, 1);
}
