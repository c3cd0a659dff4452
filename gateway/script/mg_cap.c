/* mg_cap: cap definitions, their running states, admission. */
#include "mg_cap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_json.h"
#include "mg_lua.h"
#include "mg_regex.h"
#include "mg_kcount.h"

struct mg_cap_def {
    enum mg_cap_kind kind;
    char *name;          /* the name field, or the definition rendered */
    char *key;           /* the definition, to match states across reloads */
    char *metric_src;
    struct mg_regex *metric; /* NULL: every metric */
    char *label;         /* label, per_label */
    size_t label_len;
    uint64_t max;
    enum mg_overflow overflow;
    int shadow;
    char *where;         /* file:line of its cap{} or limits{}; NULL: unknown */
};

struct cap_state {
    char *key;
    const struct mg_cap_def *def;
    struct mg_kcount counts; /* admitted key (metric name, label value) -> its series */
    /* The series counted and not gone: MG_CAP_MAX_SERIES's use, and for
     * the others a bound no key's count exceeds (a count only grows with
     * total, and under memory pressure may lag it). */
    uint64_t total;
    uint64_t hits;
    /* The metric regex's verdict on the last name it saw: new series come
     * in runs of one metric, and admission and counting ask twice. */
    char memo[64];
    uint32_t memo_len; /* 0: nothing memoised */
    int memo_match;
};

struct mg_caps {
    struct cap_state **v;
    size_t n;
    struct mg_rematch *m;
};

static const char *const overflow_names[] = {"drop", "fold", "drop_label"};
static const char *const kind_names[] = {"metric", "label", "per_label",
                                         "max_series", "max_input_series",
                                         "max_input_series_per_source"};

/* ---- definitions ---- */

int mg_cap_def_set_where(struct mg_cap_def *d, const char *where)
{
    char *w = strdup(where);
    if (!w)
        return -ENOMEM;
    free(d->where);
    d->where = w;
    return 0;
}

const char *mg_caps_where(const struct mg_caps *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i]->def && strcmp(c->v[i]->def->name, name) == 0)
            return c->v[i]->def->where;
    return NULL;
}

void mg_cap_def_free(struct mg_cap_def *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->key);
    free(d->metric_src);
    mg_regex_free(d->metric);
    free(d->label);
    free(d->where);
    free(d);
}

struct fields {
    const char *name, *metric, *label, *per_label, *overflow, *mode;
    lua_Integer max_series, max_values, max_input_series, max_per_source;
};

static int read_fields(lua_State *L, int idx, int limits, struct fields *f,
                       char *why, size_t whylen)
{
    static const char *const cap_keys[] = {"name", "metric", "label", "per_label",
                                           "max_series", "max_values", "overflow",
                                           "mode", NULL};
    static const char *const limit_keys[] = {"max_series", "max_input_series",
                                             "max_input_series_per_source",
                                             "mode", "name", NULL};
    const char *const *keys = limits ? limit_keys : cap_keys;
    const char *what = limits ? "limits" : "cap";
    memset(f, 0, sizeof(*f));
    if (lua_type(L, idx) != LUA_TTABLE) {
        snprintf(why, whylen, "%s: expects a table", what);
        return -EINVAL;
    }
    idx = lua_absindex(L, idx);
    if (mg_lua_check_keys(L, idx, keys, what, why, whylen))
        return -EINVAL;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *k = lua_tostring(L, -2);
        int t = lua_type(L, -1);
        int is_count = strncmp(k, "max_", 4) == 0;
        if (is_count ? !lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0
                     : t != LUA_TSTRING) {
            snprintf(why, whylen, "%s: %s must be %s", what, k,
                     is_count ? "a positive integer" : "a string");
            lua_pop(L, 2);
            return -EINVAL;
        }
        /* strings stay alive: the table holds them while we compile */
        if (strcmp(k, "name") == 0) f->name = lua_tostring(L, -1);
        else if (strcmp(k, "metric") == 0) f->metric = lua_tostring(L, -1);
        else if (strcmp(k, "label") == 0) f->label = lua_tostring(L, -1);
        else if (strcmp(k, "per_label") == 0) f->per_label = lua_tostring(L, -1);
        else if (strcmp(k, "overflow") == 0) f->overflow = lua_tostring(L, -1);
        else if (strcmp(k, "mode") == 0) f->mode = lua_tostring(L, -1);
        else if (strcmp(k, "max_series") == 0) f->max_series = lua_tointeger(L, -1);
        else if (strcmp(k, "max_values") == 0) f->max_values = lua_tointeger(L, -1);
        else if (strcmp(k, "max_input_series") == 0) f->max_input_series = lua_tointeger(L, -1);
        else f->max_per_source = lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    return 0;
}

static struct mg_cap_def *def_new(enum mg_cap_kind kind, const struct fields *f,
                                  uint64_t max, enum mg_overflow ov, int shadow,
                                  char *why, size_t whylen)
{
    struct mg_cap_def *d = calloc(1, sizeof(*d));
    if (!d)
        goto nomem;
    d->kind = kind;
    d->max = max;
    d->overflow = ov;
    d->shadow = shadow;
    const char *label = kind == MG_CAP_LABEL ? f->label : kind == MG_CAP_PER_LABEL ? f->per_label : NULL;
    if (label && !(d->label = strdup(label)))
        goto nomem;
    d->label_len = label ? strlen(label) : 0;
    if (f->metric && kind <= MG_CAP_PER_LABEL) {
        char pat[1024];
        int n = snprintf(pat, sizeof(pat), "^(?s:%s)$", f->metric);
        if (n < 0 || (size_t)n >= sizeof(pat)) {
            snprintf(why, whylen, "cap: metric: regex too long");
            goto fail;
        }
        char rwhy[160];
        if (mg_regex_compile(pat, (size_t)n, &d->metric, rwhy, sizeof(rwhy))) {
            snprintf(why, whylen, "cap: metric: %s", rwhy);
            goto fail;
        }
        if (!(d->metric_src = strdup(f->metric)))
            goto nomem;
    }
    /* the definition rendered as written: the state's key across
     * reloads, and the cap's name unless it has one */
    char key[1200];
    size_t k = 0;
    if (kind >= MG_CAP_MAX_SERIES) {
        k += (size_t)snprintf(key, sizeof(key), "limits{%s=%llu", kind_names[kind],
                              (unsigned long long)max);
    } else {
        k += (size_t)snprintf(key, sizeof(key), "cap{");
        if (f->metric)
            k += (size_t)snprintf(key + k, sizeof(key) - k, "metric=\"%.400s\",", f->metric);
        if (label)
            k += (size_t)snprintf(key + k, sizeof(key) - k, "%s=\"%s\",",
                                  kind == MG_CAP_LABEL ? "label" : "per_label", label);
        k += (size_t)snprintf(key + k, sizeof(key) - k, "%s=%llu",
                              kind == MG_CAP_LABEL ? "max_values" : "max_series",
                              (unsigned long long)max);
        if (ov != MG_OVERFLOW_DROP)
            k += (size_t)snprintf(key + k, sizeof(key) - k, ",overflow=\"%s\"",
                                  overflow_names[ov]);
    }
    if (shadow && k < sizeof(key))
        k += (size_t)snprintf(key + k, sizeof(key) - k, ",mode=\"shadow\"");
    if (k < sizeof(key))
        snprintf(key + k, sizeof(key) - k, "}");
    d->key = strdup(key);
    d->name = strdup(f->name && kind <= MG_CAP_PER_LABEL ? f->name : key);
    if (!d->key || !d->name)
        goto nomem;
    return d;
nomem:
    snprintf(why, whylen, "out of memory");
fail:
    mg_cap_def_free(d);
    return NULL;
}

static int push_def(struct mg_cap_def ***defs, size_t *n, struct mg_cap_def *d,
                    char *why, size_t whylen)
{
    struct mg_cap_def **nd = realloc(*defs, (*n + 1) * sizeof(*nd));
    if (!nd) {
        mg_cap_def_free(d);
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    nd[(*n)++] = d;
    *defs = nd;
    return 0;
}

int mg_cap_compile(lua_State *L, int idx, int limits,
                   struct mg_cap_def ***defs, size_t *ndefs, char *why,
                   size_t whylen)
{
    struct fields f;
    if (read_fields(L, idx, limits, &f, why, whylen))
        return -EINVAL;
    int shadow = 0;
    if (f.mode) {
        if (strcmp(f.mode, "shadow") != 0 && strcmp(f.mode, "enforce") != 0) {
            snprintf(why, whylen, "%s: mode must be \"enforce\" or \"shadow\"",
                     limits ? "limits" : "cap");
            return -EINVAL;
        }
        shadow = strcmp(f.mode, "shadow") == 0;
    }
    if (limits) {
        if (!f.max_series && !f.max_input_series && !f.max_per_source) {
            snprintf(why, whylen, "limits: max_series, max_input_series or "
                                  "max_input_series_per_source is required");
            return -EINVAL;
        }
        struct mg_cap_def *d;
        if (f.max_series) {
            if (!(d = def_new(MG_CAP_MAX_SERIES, &f, (uint64_t)f.max_series,
                              MG_OVERFLOW_DROP, shadow, why, whylen)) ||
                push_def(defs, ndefs, d, why, whylen))
                return -EINVAL;
        }
        if (f.max_input_series) {
            if (!(d = def_new(MG_CAP_MAX_INPUTS, &f, (uint64_t)f.max_input_series,
                              MG_OVERFLOW_DROP, shadow, why, whylen)) ||
                push_def(defs, ndefs, d, why, whylen))
                return -EINVAL;
        }
        if (f.max_per_source) {
            if (!(d = def_new(MG_CAP_MAX_INPUTS_PER_SOURCE, &f, (uint64_t)f.max_per_source,
                              MG_OVERFLOW_DROP, shadow, why, whylen)) ||
                push_def(defs, ndefs, d, why, whylen))
                return -EINVAL;
        }
        return 0;
    }
    enum mg_cap_kind kind;
    uint64_t max;
    if (f.label && f.per_label) {
        snprintf(why, whylen, "cap: label and per_label exclude each other");
        return -EINVAL;
    }
    if (f.label) {
        kind = MG_CAP_LABEL;
        if (!f.max_values || f.max_series) {
            snprintf(why, whylen, "cap: a label cap takes max_values, not max_series");
            return -EINVAL;
        }
        max = (uint64_t)f.max_values;
    } else {
        kind = f.per_label ? MG_CAP_PER_LABEL : MG_CAP_METRIC;
        if (!f.max_series || f.max_values) {
            snprintf(why, whylen, "cap: %s takes max_series, not max_values",
                     f.per_label ? "a per_label cap" : "a metric cap");
            return -EINVAL;
        }
        if (kind == MG_CAP_METRIC && !f.metric) {
            snprintf(why, whylen, "cap: one of metric, label or per_label is required");
            return -EINVAL;
        }
        max = (uint64_t)f.max_series;
    }
    const char *lname = f.label ? f.label : f.per_label;
    if (lname && !mg_label_name_valid(lname, strlen(lname))) {
        snprintf(why, whylen, "cap: %s is not a valid label name", lname);
        return -EINVAL;
    }
    enum mg_overflow ov = MG_OVERFLOW_DROP;
    if (f.overflow) {
        int i = 0;
        while (i < 3 && strcmp(overflow_names[i], f.overflow) != 0)
            i++;
        if (i == 3) {
            snprintf(why, whylen, "cap: overflow must be drop, fold or drop_label, not %s",
                     f.overflow);
            return -EINVAL;
        }
        ov = (enum mg_overflow)i;
    }
    struct mg_cap_def *d = def_new(kind, &f, max, ov, shadow, why, whylen);
    if (!d || push_def(defs, ndefs, d, why, whylen))
        return -EINVAL;
    return 0;
}

/* ---- states ---- */

static void state_free(struct cap_state *s)
{
    if (!s)
        return;
    mg_kcount_fini(&s->counts);
    free(s->key);
    free(s);
}

struct mg_caps *mg_caps_new(void)
{
    struct mg_caps *c = calloc(1, sizeof(*c));
    if (c && !(c->m = mg_rematch_new())) {
        free(c);
        return NULL;
    }
    return c;
}

void mg_caps_free(struct mg_caps *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        state_free(c->v[i]);
    free(c->v);
    mg_rematch_free(c->m);
    free(c);
}

/* The key an output series counts under for def: the metric name, the
 * label's value, "" for the global limit; NULL when def does not apply. */
/* Whether the cap's metric regex matches name: 1, 0, or -1 on a match
 * error (not memoised). */
static int metric_matches(struct mg_caps *c, struct cap_state *s,
                          const char *name, size_t nlen)
{
    if (s->memo_len && s->memo_len == nlen && mg_label_bytes_eq(s->memo, name, nlen))
        return s->memo_match;
    char why[160];
    int rc = mg_regex_match(s->def->metric, c->m, name, nlen, 0, why, sizeof(why));
    if (rc >= 0 && nlen > 0 && nlen <= sizeof(s->memo)) {
        memcpy(s->memo, name, nlen);
        s->memo_len = (uint32_t)nlen;
        s->memo_match = rc;
    }
    return rc;
}

/* The labels are labels[0..n), or, when ls is not NULL, ls's: a set is
 * read for the one value a label cap wants, not unpacked. */
static const char *key_of(struct mg_caps *c, struct cap_state *s,
                          const char *name, size_t nlen,
                          const struct mg_label *labels, size_t n,
                          const struct mg_labelset *ls, size_t *klen)
{
    const struct mg_cap_def *d = s->def;
    if (d->kind == MG_CAP_MAX_INPUTS || d->kind == MG_CAP_MAX_INPUTS_PER_SOURCE)
        return NULL;
    if (d->kind == MG_CAP_MAX_SERIES) {
        *klen = 0;
        return "";
    }
    if (d->metric && metric_matches(c, s, name, nlen) != 1)
        return NULL;
    if (d->kind == MG_CAP_METRIC) {
        *klen = nlen;
        return name;
    }
    size_t ll = d->label_len;
    if (ls) {
        struct mg_label l;
        if (!mg_labelset_get(ls, d->label, ll, &l))
            return NULL;
        *klen = l.vlen;
        return l.value;
    }
    /* names mostly differ at their first byte: no more compared for those */
    for (size_t i = 0; i < n; i++)
        if (labels[i].nlen == ll && labels[i].name[0] == d->label[0] &&
            mg_label_bytes_eq(labels[i].name, d->label, ll)) {
            *klen = labels[i].vlen;
            return labels[i].value;
        }
    return NULL;
}

static void count(struct cap_state *s, const char *key, size_t klen, int delta)
{
    s->total += (uint64_t)(int64_t)delta;
    if (s->def->kind == MG_CAP_MAX_SERIES)
        return;
    /* under memory pressure the cap undercounts */
    (void)mg_kcount_add(&s->counts, key, klen, delta);
}

static void count_output(struct mg_caps *c, struct cap_state *s,
                         const struct mg_family *f, const struct mg_labelset *ls,
                         int delta)
{
    size_t klen;
    const char *key = key_of(c, s, f->name, f->nlen, NULL, 0, ls, &klen);
    if (key)
        count(s, key, klen, delta);
}

/* Each cap reads the one value it counts by: most caps want one label or
 * none, so unpacking the whole set for them cost more than the reads. A
 * new output's labels come as the array its set was made from: scanned
 * there, not decoded from the set. */
void mg_caps_on_output(void *ctx, const struct mg_family *f,
                       const struct mg_labelset *ls, const struct mg_label *v,
                       size_t n, int delta)
{
    struct mg_caps *c = ctx;
    if (f->own || c->n == 0)
        return;
    for (size_t i = 0; i < c->n; i++) {
        size_t klen;
        const char *key = key_of(c, c->v[i], f->name, f->nlen, v, n,
                                 v ? NULL : ls, &klen);
        if (key)
            count(c->v[i], key, klen, delta);
    }
}

/* 48 KiB of count slots: smaller tables are hit in cache anyway. */
#define PREFETCH_MIN_SLOTS 4096

void mg_caps_prefetch(struct mg_caps *c, const struct mg_route *r)
{
    if (r->drop != MG_OK)
        return;
    for (size_t i = 0; i < c->n; i++) {
        struct cap_state *s = c->v[i];
        size_t klen;
        /* a table of a few thousand keys stays in cache: not worth a key */
        if (s->def->kind == MG_CAP_MAX_SERIES || s->counts.cap < PREFETCH_MIN_SLOTS)
            continue;
        const char *key = key_of(c, s, r->name, r->nlen, r->labels, r->nlabels, NULL, &klen);
        if (key)
            mg_kcount_prefetch(&s->counts, key, klen);
    }
}

int mg_caps_set(struct mg_caps *c, struct mg_cap_def *const *defs, size_t n,
                struct mg_store *st)
{
    struct cap_state **nv = calloc(n ? n : 1, sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < c->n; k++) {
            if (c->v[k] && strcmp(c->v[k]->key, defs[i]->key) == 0) {
                nv[i] = c->v[k]; /* unchanged: keeps what it admitted */
                c->v[k] = NULL;
                break;
            }
        }
        if (!nv[i]) {
            nv[i] = calloc(1, sizeof(**nv));
            if (!nv[i] || !(nv[i]->key = strdup(defs[i]->key))) {
                if (nv[i])
                    free(nv[i]);
                nv[i] = NULL;
                for (size_t k = 0; k < n; k++)
                    state_free(nv[k]);
                free(nv);
                return -ENOMEM;
            }
            mg_kcount_init(&nv[i]->counts);
            nv[i]->def = defs[i];
            /* a new cap starts from what is already there */
            size_t cap = mg_store_output_capacity(st);
            for (uint32_t o = 0; o < cap; o++) {
                const struct mg_output *out = mg_store_output_at(st, o);
                const struct mg_family *f = out ? mg_store_output_family(st, out) : NULL;
                if (f && !f->own)
                    count_output(c, nv[i], f, out->ls, 1);
            }
        }
        nv[i]->def = defs[i];
        nv[i]->memo_len = 0; /* a reload compiled the regex anew */
    }
    for (size_t k = 0; k < c->n; k++)
        state_free(c->v[k]);
    free(c->v);
    c->v = nv;
    c->n = n;
    return 0;
}

/* ---- admission ---- */

static void hit(struct cap_state *s, struct mg_stats *stats)
{
    s->hits++;
    mg_stats_map_add(&stats->cap_hits, s->def->name, strlen(s->def->name), 1);
}

/* 0 when s cannot refuse any new series now: a label cap refuses only a
 * new value once it holds max values, and no metric's or producer's count
 * exceeds total. Most caps are far from full, and this spares them the key
 * and its lookup. */
static int may_be_full(const struct cap_state *s)
{
    const struct mg_cap_def *d = s->def;
    switch (d->kind) {
    case MG_CAP_LABEL:
        return s->counts.n >= d->max;
    case MG_CAP_METRIC:
    case MG_CAP_PER_LABEL:
    case MG_CAP_MAX_SERIES:
        return s->total >= d->max;
    default:
        return 0; /* input caps act before admission */
    }
}

static int over(const struct cap_state *s, const char *key, size_t klen)
{
    const struct mg_cap_def *d = s->def;
    if (d->kind == MG_CAP_MAX_SERIES)
        return s->total >= d->max;
    const struct mg_kcount_entry *e = mg_kcount_find(&s->counts, key, klen);
    if (d->kind == MG_CAP_LABEL)
        return !e && s->counts.n >= d->max;
    return e && e->count >= d->max;
}

/* Rewrites r's labels into lb as the cap's overflow says: fold sets the
 * offending values to __overflow__, drop_label removes them. The offending
 * labels: a label cap's label; every label of a metric cap; every label
 * but the producer's own for a per_label cap. */
static int rewrite(const struct mg_cap_def *d, struct mg_route *r,
                   struct mg_lbuild *lb)
{
    mg_lbuild_reset(lb);
    for (size_t i = 0; i < r->nlabels; i++) {
        const struct mg_label *l = &r->labels[i];
        int offending;
        if (d->kind == MG_CAP_LABEL)
            offending = strlen(d->label) == l->nlen && memcmp(d->label, l->name, l->nlen) == 0;
        else if (d->kind == MG_CAP_PER_LABEL)
            offending = !(strlen(d->label) == l->nlen && memcmp(d->label, l->name, l->nlen) == 0);
        else
            offending = 1;
        if (offending && d->overflow == MG_OVERFLOW_DROP_LABEL)
            continue;
        const char *v = offending ? MG_OVERFLOW_VALUE : l->value;
        size_t vl = offending ? strlen(MG_OVERFLOW_VALUE) : l->vlen;
        if (mg_lbuild_set(lb, l->name, l->nlen, v, vl))
            return -ENOMEM;
    }
    mg_lbuild_sort(lb);
    r->labels = lb->v;
    r->nlabels = lb->n;
    return 0;
}

const char *mg_caps_admit(struct mg_caps *c, struct mg_store *st,
                          struct mg_route *r, enum mg_type t,
                          struct mg_lbuild *lb, struct mg_stats *stats)
{
    (void)t;
    const char *acted = NULL;
    int checked = 0;
    for (size_t i = 0; c && i < c->n; i++) {
        struct cap_state *s = c->v[i];
        size_t klen;
        if (!may_be_full(s))
            continue;
        const char *key = key_of(c, s, r->name, r->nlen, r->labels, r->nlabels, NULL, &klen);
        if (!key || !over(s, key, klen))
            continue;
        /* A series joining an output that exists adds nothing a cap
         * counts; asked only once a cap is full, as most new series find
         * none full and would pay a hash and a lookup for nothing. */
        if (!checked++ &&
            mg_store_output_exists(st, r->name, r->nlen, r->labels, r->nlabels))
            return NULL;
        hit(s, stats);
        if (s->def->shadow)
            continue; /* counts what it would refuse, refuses nothing */
        acted = s->def->name;
        if (s->def->kind == MG_CAP_MAX_SERIES) {
            r->drop = MG_DROP_LIMIT;
            return acted;
        }
        if (s->def->overflow == MG_OVERFLOW_DROP) {
            r->drop = MG_DROP_CARDINALITY_CAP;
            return acted;
        }
        if (rewrite(s->def, r, lb)) {
            r->drop = MG_DROP_LIMIT;
            return acted;
        }
        /* the overflow series is the cap's one extra: once it exists,
         * everything that folds joins it */
        if (mg_store_output_exists(st, r->name, r->nlen, r->labels, r->nlabels))
            return acted;
    }
    return acted;
}

int mg_caps_inputs_full(struct mg_caps *c, size_t ninputs,
                        struct mg_stats *stats, const char **name)
{
    for (size_t i = 0; c && i < c->n; i++) {
        struct cap_state *s = c->v[i];
        if (s->def->kind != MG_CAP_MAX_INPUTS || ninputs < s->def->max)
            continue;
        hit(s, stats);
        if (s->def->shadow)
            continue;
        *name = s->def->name;
        return 1;
    }
    return 0;
}

int mg_caps_source_full(struct mg_caps *c, const struct mg_store *st,
                        const struct mg_label *source, size_t n,
                        struct mg_stats *stats, const char **name)
{
    int64_t count = -1; /* looked up once, and only with such a cap */
    for (size_t i = 0; c && i < c->n; i++) {
        struct cap_state *s = c->v[i];
        if (s->def->kind != MG_CAP_MAX_INPUTS_PER_SOURCE)
            continue;
        if (count < 0)
            count = mg_store_source_count(st, source, n);
        if ((uint64_t)count < s->def->max)
            continue;
        hit(s, stats);
        if (s->def->shadow)
            continue;
        *name = s->def->name;
        return 1;
    }
    return 0;
}

/* ---- reporting ---- */

static uint64_t use_of(const struct cap_state *s, const struct mg_store *st)
{
    const struct mg_cap_def *d = s->def;
    if (d->kind == MG_CAP_MAX_SERIES)
        return s->total;
    if (d->kind == MG_CAP_MAX_INPUTS)
        return mg_store_input_count(st);
    if (d->kind == MG_CAP_MAX_INPUTS_PER_SOURCE)
        return mg_store_source_max(st); /* the fullest producer */
    if (d->kind == MG_CAP_LABEL)
        return s->counts.n;
    uint64_t max = 0; /* the fullest metric or producer */
    size_t pos = 0;
    for (const struct mg_kcount_entry *e; (e = mg_kcount_next(&s->counts, &pos));)
        if (e->count > max)
            max = e->count;
    return max;
}

int mg_caps_publish(const struct mg_caps *c, struct mg_store *st)
{
    int rc = 0;
    for (size_t i = 0; c && i < c->n; i++) {
        const struct cap_state *s = c->v[i];
        struct mg_label l = {"cap", s->def->name, 3, (uint32_t)strlen(s->def->name)};
        rc |= mg_store_own_set(st, "moongate_cap_usage", MG_GAUGE,
                               "What a cap holds now: series, values, or the fullest metric or producer.",
                               &l, 1, (double)use_of(s, st));
        rc |= mg_store_own_set(st, "moongate_cap_limit", MG_GAUGE,
                               "A cap's limit.", &l, 1, (double)s->def->max);
    }
    return rc;
}

void mg_caps_json(const struct mg_caps *c, const struct mg_store *st,
                  struct mg_buf *out)
{
    for (size_t i = 0; c && i < c->n; i++) {
        const struct cap_state *s = c->v[i];
        const struct mg_cap_def *d = s->def;
        char tmp[256];
        if (i)
            mg_buf_addc(out, ',');
        mg_buf_adds(out, "{\"name\":");
        mg_json_cstr(out, d->name);
        snprintf(tmp, sizeof(tmp), ",\"kind\":\"%s\",\"limit\":%llu,\"use\":%llu,"
                 "\"hits\":%llu,\"overflow\":\"%s\",\"mode\":\"%s\"",
                 kind_names[d->kind], (unsigned long long)d->max,
                 (unsigned long long)use_of(s, st),
                 (unsigned long long)s->hits, overflow_names[d->overflow],
                 d->shadow ? "shadow" : "enforce");
        mg_buf_adds(out, tmp);
        if (d->label) {
            mg_buf_adds(out, ",\"label\":");
            mg_json_cstr(out, d->label);
        }
        if (d->metric_src) {
            mg_buf_adds(out, ",\"metric\":");
            mg_json_cstr(out, d->metric_src);
        }
        mg_buf_addc(out, '}');
    }
}

size_t mg_caps_per_labels(const struct mg_caps *c, const char **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; c && i < c->n && k < max; i++)
        if (c->v[i]->def->kind == MG_CAP_PER_LABEL)
            out[k++] = c->v[i]->def->label;
    return k;
}

void mg_caps_describe(struct mg_caps *c, const struct mg_store *st,
                      const char *name, size_t nlen,
                      const struct mg_label *labels, size_t n, char *buf,
                      size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; c && i < c->n && k < len; i++) {
        struct cap_state *s = c->v[i];
        size_t klen;
        if (s->def->kind != MG_CAP_MAX_INPUTS &&
            s->def->kind != MG_CAP_MAX_INPUTS_PER_SOURCE &&
            !key_of(c, s, name, nlen, labels, n, NULL, &klen))
            continue;
        k += (size_t)snprintf(buf + k, len - k, "%s%s: %llu of %llu%s", k ? "; " : "",
                              s->def->name, (unsigned long long)use_of(s, st),
                              (unsigned long long)s->def->max,
                              s->def->shadow ? " (shadow)" : "");
    }
}
