/* mg_pushbody: families and series of one push body, from either format. */
#include "mg_pushbody.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_pipeline.h"
#include "mg_textfmt.h"

/* ---- the arena: what a body builds lives as long as the body ---- */

struct mg_pushbody_arena {
    struct mg_pushbody_arena *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

static void *arena_alloc(struct mg_pushbody *b, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct mg_pushbody_arena *a = b->arena;
    if (!a || a->cap - a->used < n) {
        size_t cap = n > (64u << 10) ? n : (64u << 10);
        a = malloc(sizeof(*a) + cap);
        if (!a)
            return NULL;
        a->used = 0;
        a->cap = cap;
        a->next = b->arena;
        b->arena = a;
    }
    void *p = a->data + a->used;
    a->used += n;
    return p;
}

const char *mg_pushbody_where(const struct mg_pushbody *b, uint32_t line,
                              char *buf, size_t len)
{
    snprintf(buf, len, "%s %u", b->proto ? "message" : "line", line);
    return buf;
}

static int fail(const struct mg_pushbody *b, uint32_t line, enum mg_reason *r,
                char *why, enum mg_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int fail(const struct mg_pushbody *b, uint32_t line, enum mg_reason *r,
                char *why, enum mg_reason reason, const char *fmt, ...)
{
    char where[32];
    int n = snprintf(why, MG_WHY_LEN, "%s: ",
                     mg_pushbody_where(b, line, where, sizeof(where)));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why + n, MG_WHY_LEN - (size_t)n, fmt, ap);
    va_end(ap);
    *r = reason;
    return -1;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 64;
    void *p = realloc(*v, c * size);
    if (!p)
        return -1;
    *v = p;
    *cap = c;
    return 0;
}

/* ---- families: one per name, the first HELP kept ---- */

static struct mg_pushbody_family *family_find(struct mg_pushbody *b,
                                              const char *name, size_t n)
{
    uintptr_t i = (uintptr_t)mg_names_get(&b->byname, name, n);
    return i ? &b->fam[i - 1] : NULL;
}

const struct mg_pushbody_family *mg_pushbody_family_find(const struct mg_pushbody *b,
                                                         const char *name, size_t n)
{
    return family_find((struct mg_pushbody *)b, name, n);
}

/* The family name of type t, added when new. -1 (after fail) when the name
 * came earlier with another type. */
static int family_get(struct mg_pushbody *b, const char *name, uint32_t n,
                      enum mg_type t, const char *help, uint32_t hlen,
                      uint32_t line, enum mg_reason *r, char *why)
{
    /* the family of the previous line comes first: bodies keep families
     * together, so this is one comparison a line */
    struct mg_pushbody_family *f = NULL;
    if (b->nfam && b->fam[b->nfam - 1].nlen == n &&
        memcmp(b->fam[b->nfam - 1].name, name, n) == 0)
        f = &b->fam[b->nfam - 1];
    else
        f = family_find(b, name, n);
    if (f) {
        if (f->type != t)
            return fail(b, line, r, why, MG_REASON_TYPE_CONFLICT,
                        "%.*s is %s here but %s at %s %u", (int)n, name, mg_type_name(t),
                        mg_type_name(f->type), b->proto ? "message" : "line", f->line);
        if (!f->help && help) {
            f->help = help;
            f->hlen = hlen;
        }
        return (int)(f - b->fam);
    }
    if (grow((void **)&b->fam, &b->capfam, b->nfam, sizeof(*b->fam)) ||
        mg_names_put(&b->byname, name, n, (void *)(uintptr_t)(b->nfam + 1)))
        return fail(b, line, r, why, MG_REASON_LIMIT, "out of memory");
    b->fam[b->nfam] = (struct mg_pushbody_family){name, n, t, help, hlen, line};
    return (int)b->nfam++;
}

/* ---- series: one per family and label set ---- */

static int table_grow(struct mg_pushbody *b)
{
    uint32_t size = b->stab ? (b->smask + 1) * 2 : 1024;
    uint32_t *t = calloc(size, sizeof(*t));
    if (!t)
        return -1;
    for (size_t i = 0; i < b->nser; i++) {
        uint32_t k = (uint32_t)b->ser[i].hash & (size - 1);
        while (t[k])
            k = (k + 1) & (size - 1);
        t[k] = (uint32_t)i + 1;
    }
    free(b->stab);
    b->stab = t;
    b->smask = size - 1;
    return 0;
}

static int same_labels(const struct mg_label *a, const struct mg_label *c,
                       size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].nlen != c[i].nlen || a[i].vlen != c[i].vlen ||
            memcmp(a[i].name, c[i].name, a[i].nlen) != 0 ||
            memcmp(a[i].value, c[i].value, a[i].vlen) != 0)
            return 0;
    return 1;
}

/* The series of family fam with the sorted labels v (copied when new).
 * NULL (after fail) when there are too many or memory ran out. */
static struct mg_pushbody_series *series_get(struct mg_pushbody *b,
                                             uint32_t fam,
                                             const struct mg_label *v,
                                             size_t n, uint32_t line,
                                             const struct mg_wire_limits *lim,
                                             enum mg_reason *r, char *why)
{
    uint64_t h = mg_hash_mix(mg_labels_hash(v, n), fam);
    if (!b->stab && table_grow(b)) {
        fail(b, line, r, why, MG_REASON_LIMIT, "out of memory");
        return NULL;
    }
    uint32_t k = (uint32_t)h & b->smask;
    for (; b->stab[k]; k = (k + 1) & b->smask) {
        struct mg_pushbody_series *s = &b->ser[b->stab[k] - 1];
        if (s->hash == h && s->fam == fam && s->nlabels == n && same_labels(s->labels, v, n))
            return s;
    }
    if (b->nser >= lim->max_metrics) {
        fail(b, line, r, why, MG_REASON_TOO_MANY_METRICS,
             "more than max_metrics (%zu) series in one push", lim->max_metrics);
        return NULL;
    }
    struct mg_label *copy = arena_alloc(b, (n ? n : 1) * sizeof(*copy));
    if (!copy || grow((void **)&b->ser, &b->capser, b->nser, sizeof(*b->ser))) {
        fail(b, line, r, why, MG_REASON_LIMIT, "out of memory");
        return NULL;
    }
    memcpy(copy, v, n * sizeof(*copy));
    struct mg_pushbody_series *s = &b->ser[b->nser];
    memset(s, 0, sizeof(*s));
    s->fam = fam;
    s->labels = copy;
    s->nlabels = n;
    s->hash = h;
    s->line = line;
    b->stab[k] = (uint32_t)++b->nser;
    if (b->nser * 2 > b->smask && table_grow(b)) {
        fail(b, line, r, why, MG_REASON_LIMIT, "out of memory");
        return NULL;
    }
    return s;
}

static void render(char *out, size_t len, const struct mg_pushbody *b,
                   const struct mg_pushbody_series *s)
{
    const struct mg_pushbody_family *f = &b->fam[s->fam];
    if (s->nlabels == 0)
        snprintf(out, len, "%.*s", (int)f->nlen, f->name);
    else
        mg_labels_render(out, len, f->name, f->nlen, s->labels, s->nlabels);
}

static int twice(const struct mg_pushbody *b, const struct mg_pushbody_series *s,
                 uint32_t line, const char *what, enum mg_reason *r, char *why)
{
    char name[96];
    render(name, sizeof(name), b, s);
    return fail(b, line, r, why, MG_REASON_NAME_COLLISION, "%s of %s given twice (first at %u)",
                what, name, s->line);
}

/* Adds bucket or quantile bound = v to s; the arrays double as needed. */
static int add_bound(struct mg_pushbody *b, struct mg_pushbody_series *s,
                     double bound, double v, uint32_t line,
                     const struct mg_wire_limits *lim, enum mg_reason *r,
                     char *why)
{
    for (size_t i = 0; i < s->nb; i++)
        if (s->bound[i] == bound)
            return twice(b, s, line, b->fam[s->fam].type == MG_HISTOGRAM ? "a bucket"
                                                                          : "a quantile", r, why);
    if (s->nb >= lim->max_buckets + 1)
        return fail(b, line, r, why, MG_REASON_TOO_LARGE, "more than max_buckets (%zu)",
                    lim->max_buckets);
    if (s->nb == s->capb) {
        size_t cap = s->capb ? s->capb * 2 : 16;
        double *nb = arena_alloc(b, 2 * (cap + 1) * sizeof(double));
        if (!nb)
            return fail(b, line, r, why, MG_REASON_LIMIT, "out of memory");
        if (s->nb) {
            memcpy(nb, s->bound, s->nb * sizeof(double));
            memcpy(nb + cap + 1, s->bval, s->nb * sizeof(double));
        }
        s->bound = nb;
        s->bval = nb + cap + 1;
        s->capb = cap;
    }
    s->bound[s->nb] = bound;
    s->bval[s->nb++] = v;
    return 0;
}

/* ---- the text format ---- */

static int text_sample(struct mg_pushbody *b, struct mg_tf_sample *t,
                       struct mg_label *labels, const struct mg_wire_limits *lim,
                       enum mg_reason *r, char *why)
{
    int fam = family_get(b, t->fname, t->fnlen, t->type, t->help, t->hlen, t->line, r, why);
    if (fam < 0)
        return -1;
    if (t->has_ts && !b->ts_line)
        b->ts_line = t->line;
    mg_labels_sort(labels, t->nlabels); /* the parser's array: ours to order */
    struct mg_pushbody_series *s = series_get(b, (uint32_t)fam, labels, t->nlabels, t->line,
                                              lim, r, why);
    if (!s)
        return -1;
    switch (t->kind) {
    case MG_TF_VALUE:
        if (s->has_value)
            return twice(b, s, t->line, "the value", r, why);
        s->value = t->value;
        s->has_value = 1;
        return 0;
    case MG_TF_SUM:
        if (s->has_sum)
            return twice(b, s, t->line, "_sum", r, why);
        s->sum = t->value;
        s->has_sum = 1;
        return 0;
    case MG_TF_COUNT:
        if (s->has_count)
            return twice(b, s, t->line, "_count", r, why);
        s->count = t->value;
        s->has_count = 1;
        return 0;
    case MG_TF_BUCKET:
    case MG_TF_QUANTILE:
        return add_bound(b, s, t->bound, t->value, t->line, lim, r, why);
    }
    return 0;
}

/* The series as text for an error message, into buf (96 bytes). */
static const char *nm(const struct mg_pushbody *b,
                      const struct mg_pushbody_series *s, char *buf)
{
    render(buf, 96, b, s);
    return buf;
}

/* ---- what every series must satisfy, whichever format it came in ---- */

static void sort_bounds(struct mg_pushbody_series *s)
{
    for (size_t i = 1; i < s->nb; i++) {
        double k = s->bound[i], v = s->bval[i];
        size_t j = i;
        for (; j > 0 && s->bound[j - 1] > k; j--) {
            s->bound[j] = s->bound[j - 1];
            s->bval[j] = s->bval[j - 1];
        }
        s->bound[j] = k;
        s->bval[j] = v;
    }
}

static int check_hist(struct mg_pushbody *b, struct mg_pushbody_series *s,
                      char *name, enum mg_reason *r, char *why)
{
    sort_bounds(s);
    size_t n = s->nb;
    for (size_t i = 0; i < n; i++) {
        if (!(s->bval[i] >= 0))
            return fail(b, s->line, r, why, MG_REASON_INVALID_VALUE,
                        "%s: bucket le=%g has count %g", nm(b, s, name), s->bound[i], s->bval[i]);
        if (i && s->bval[i] < s->bval[i - 1])
            return fail(b, s->line, r, why, MG_REASON_INVALID_VALUE,
                        "%s: buckets are not cumulative: le=%g has %g, le=%g has %g", nm(b, s, name),
                        s->bound[i - 1], s->bval[i - 1], s->bound[i], s->bval[i]);
    }
    int has_inf = n > 0 && isinf(s->bound[n - 1]) && s->bound[n - 1] > 0;
    if (!has_inf) {
        if (!s->has_count)
            return fail(b, s->line, r, why, MG_REASON_INVALID_VALUE,
                        "%s: a histogram needs _count or a +Inf bucket", nm(b, s, name));
        if (n > 0 && s->count < s->bval[n - 1])
            return fail(b, s->line, r, why, MG_REASON_INVALID_VALUE,
                        "%s: _count %g is below bucket le=%g (%g)", nm(b, s, name), s->count,
                        s->bound[n - 1], s->bval[n - 1]);
        /* the arrays keep room for one more than capb: the +Inf bucket */
        if (!s->bound) {
            double *nb = arena_alloc(b, 2 * sizeof(double));
            if (!nb)
                return fail(b, s->line, r, why, MG_REASON_LIMIT, "out of memory");
            s->bound = nb;
            s->bval = nb + 1;
        }
        s->bound[n] = INFINITY;
        s->bval[n] = s->count;
        s->nb = n + 1;
    } else if (!s->has_count) {
        s->count = s->bval[n - 1];
        s->has_count = 1;
    } else if (s->count != s->bval[n - 1]) {
        return fail(b, s->line, r, why, MG_REASON_INVALID_VALUE,
                    "%s: _count %g differs from the +Inf bucket %g", nm(b, s, name), s->count,
                    s->bval[n - 1]);
    }
    return 0;
}

static int check_series(struct mg_pushbody *b, struct mg_pushbody_series *s,
                        const struct mg_wire_limits *lim, enum mg_reason *r,
                        char *why)
{
    enum mg_type t = b->fam[s->fam].type;
    char name[96]; /* rendered only for an error */
    if (t != MG_HISTOGRAM && t != MG_SUMMARY) {
        if (t == MG_COUNTER && !(s->value >= 0))
            return fail(b, s->line, r, why, MG_REASON_INVALID_VALUE,
                        "%s: counter value %g is NaN or negative", nm(b, s, name), s->value);
        return 0;
    }
    if (s->nb > lim->max_buckets)
        return fail(b, s->line, r, why, MG_REASON_TOO_LARGE, "%s: more than max_buckets (%zu)",
                    nm(b, s, name), lim->max_buckets);
    if (isnan(s->sum) || (s->has_count && !(s->count >= 0)))
        return fail(b, s->line, r, why, MG_REASON_INVALID_VALUE,
                    "%s: _sum or _count is NaN or negative", nm(b, s, name));
    if (t == MG_HISTOGRAM)
        return check_hist(b, s, name, r, why);
    sort_bounds(s);
    for (size_t i = 0; i < s->nb; i++)
        if (!(s->bound[i] >= 0 && s->bound[i] <= 1))
            return fail(b, s->line, r, why, MG_REASON_INVALID_VALUE,
                        "%s: quantile %g is outside [0, 1]", nm(b, s, name), s->bound[i]);
    return 0;
}

/* A histogram or summary claims name_sum, name_count (and name_bucket):
 * no other family of the push may take them. */
static int check_names(struct mg_pushbody *b, enum mg_reason *r, char *why)
{
    static const char *const suffix[] = {"_sum", "_count", "_bucket"};
    for (size_t i = 0; i < b->nfam; i++) {
        const struct mg_pushbody_family *f = &b->fam[i];
        if (f->type != MG_HISTOGRAM && f->type != MG_SUMMARY)
            continue;
        for (int k = 0; k < (f->type == MG_HISTOGRAM ? 3 : 2); k++) {
            char n[600];
            if (f->nlen + 8 > sizeof(n))
                continue;
            int len = snprintf(n, sizeof(n), "%.*s%s", (int)f->nlen, f->name, suffix[k]);
            const struct mg_pushbody_family *o = family_find(b, n, (size_t)len);
            if (o)
                return fail(b, o->line, r, why, MG_REASON_NAME_COLLISION,
                            "%s %.*s collides with the %s %.*s", mg_type_name(o->type),
                            len, n, mg_type_name(f->type), (int)f->nlen, f->name);
        }
    }
    return 0;
}

static int finish(struct mg_pushbody *b, const struct mg_wire_limits *lim,
                  enum mg_reason *r, char *why)
{
    if (check_names(b, r, why))
        return -1;
    for (size_t i = 0; i < b->nser; i++)
        if (check_series(b, &b->ser[i], lim, r, why))
            return -1;
    return 0;
}

int mg_pushbody_text(struct mg_pushbody *b, const char *buf, size_t len,
                     const struct mg_wire_limits *lim, enum mg_reason *r,
                     char why[MG_WHY_LEN])
{
    memset(b, 0, sizeof(*b));
    struct mg_label *labels = malloc((lim->max_labels + 2) * sizeof(*labels));
    b->scratch = malloc(len ? len : 1);
    if (!labels || !b->scratch) {
        free(labels);
        *r = MG_REASON_LIMIT;
        snprintf(why, MG_WHY_LEN, "out of memory");
        return -1;
    }
    struct mg_textfmt tf;
    mg_textfmt_init(&tf, buf, len, b->scratch, labels, lim->max_labels + 1);
    struct mg_tf_sample t;
    int rc;
    while ((rc = mg_textfmt_next(&tf, &t, r, why)) == 1)
        if (text_sample(b, &t, labels, lim, r, why)) {
            rc = -1;
            break;
        }
    free(labels);
    if (rc < 0)
        return -1;
    return finish(b, lim, r, why);
}

/* ---- delimited protobuf ---- */

static int pb_type(int t)
{
    switch (t) {
    case IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER: return MG_COUNTER;
    case IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE: return MG_GAUGE;
    case IO__PROMETHEUS__CLIENT__METRIC_TYPE__SUMMARY: return MG_SUMMARY;
    case IO__PROMETHEUS__CLIENT__METRIC_TYPE__UNTYPED: return MG_UNTYPED;
    case IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM: return MG_HISTOGRAM;
    default: return -1;
    }
}

static int pb_labels(struct mg_pushbody *b, const mg_pb_metric *m,
                     struct mg_label *v, const struct mg_wire_limits *lim,
                     uint32_t idx, enum mg_reason *r, char *why)
{
    if (m->n_label > lim->max_labels)
        return fail(b, idx, r, why, MG_REASON_TOO_MANY_LABELS, "more than %zu labels",
                    lim->max_labels);
    for (size_t i = 0; i < m->n_label; i++) {
        const char *n = m->label[i]->name ? m->label[i]->name : "";
        const char *val = m->label[i]->value ? m->label[i]->value : "";
        size_t nl = strlen(n), vl = strlen(val);
        if (!mg_label_name_valid(n, nl) || (nl >= 2 && n[0] == '_' && n[1] == '_'))
            return fail(b, idx, r, why, MG_REASON_INVALID_LABEL_NAME,
                        "invalid label name \"%.40s\"", n);
        if (!mg_utf8_valid(val, vl))
            return fail(b, idx, r, why, MG_REASON_INVALID_LABEL_VALUE,
                        "value of label %s is not UTF-8", n);
        v[i] = (struct mg_label){n, val, (uint32_t)nl, (uint32_t)vl};
    }
    mg_labels_sort(v, m->n_label);
    if (mg_labels_have_duplicate(v, m->n_label))
        return fail(b, idx, r, why, MG_REASON_DUPLICATE_LABEL, "a label name appears twice");
    return 0;
}

/* The values of one metric of family f into s. */
static int pb_values(struct mg_pushbody *b, struct mg_pushbody_series *s,
                     enum mg_type t, const mg_pb_metric *m,
                     const struct mg_wire_limits *lim, uint32_t idx,
                     enum mg_reason *r, char *why)
{
    if (s->has_value || s->has_count || s->nb)
        return twice(b, s, idx, "a metric", r, why);
    const char *miss = NULL;
    if (t == MG_COUNTER && m->counter)
        s->value = m->counter->value;
    else if (t == MG_GAUGE && m->gauge)
        s->value = m->gauge->value;
    else if (t == MG_UNTYPED && m->untyped)
        s->value = m->untyped->value;
    else if (t == MG_SUMMARY && m->summary) {
        s->sum = m->summary->sample_sum;
        s->count = (double)m->summary->sample_count;
        s->has_sum = s->has_count = 1;
        for (size_t i = 0; i < m->summary->n_quantile; i++)
            if (add_bound(b, s, m->summary->quantile[i]->quantile,
                          m->summary->quantile[i]->value, idx, lim, r, why))
                return -1;
    } else if (t == MG_HISTOGRAM && m->histogram) {
        const Io__Prometheus__Client__Histogram *h = m->histogram;
        if (h->has_schema)
            return fail(b, idx, r, why, MG_REASON_INVALID_VALUE,
                        "native histograms are not supported");
        s->sum = h->sample_sum;
        s->count = h->sample_count_float > 0 ? h->sample_count_float : (double)h->sample_count;
        s->has_sum = s->has_count = 1;
        for (size_t i = 0; i < h->n_bucket; i++) {
            const Io__Prometheus__Client__Bucket *k = h->bucket[i];
            double c = k->cumulative_count_float > 0 ? k->cumulative_count_float
                                                     : (double)k->cumulative_count;
            if (add_bound(b, s, k->upper_bound, c, idx, lim, r, why))
                return -1;
        }
    } else {
        miss = mg_type_name(t);
    }
    if (miss)
        return fail(b, idx, r, why, MG_REASON_INVALID_VALUE, "a metric of a %s family has no %s",
                    miss, miss);
    s->has_value = t != MG_HISTOGRAM && t != MG_SUMMARY;
    return 0;
}

static int pb_family(struct mg_pushbody *b, const mg_pb_family *mf,
                     struct mg_label *v, const struct mg_wire_limits *lim,
                     enum mg_reason *r, char *why)
{
    uint32_t idx = b->pb.index;
    const char *name = mf->name ? mf->name : "";
    size_t nlen = strlen(name);
    if (!mg_metric_name_valid(name, nlen))
        return fail(b, idx, r, why, MG_REASON_INVALID_METRIC_NAME,
                    "invalid metric name \"%.40s\"", name);
    int t = pb_type(mf->type);
    if (t < 0)
        return fail(b, idx, r, why, MG_REASON_DECODE_ERROR, "%s: metric type %d is not supported",
                    name, (int)mf->type);
    const char *help = mf->help;
    if (help && !mg_utf8_valid(help, strlen(help)))
        return fail(b, idx, r, why, MG_REASON_DECODE_ERROR, "HELP of %s is not UTF-8", name);
    int fam = family_get(b, name, (uint32_t)nlen, (enum mg_type)t, help,
                         help ? (uint32_t)strlen(help) : 0, idx, r, why);
    if (fam < 0)
        return -1;
    for (size_t i = 0; i < mf->n_metric; i++) {
        const mg_pb_metric *m = mf->metric[i];
        if (m->has_timestamp_ms && !b->ts_line)
            b->ts_line = idx;
        if (pb_labels(b, m, v, lim, idx, r, why))
            return -1;
        struct mg_pushbody_series *s = series_get(b, (uint32_t)fam, v, m->n_label, idx, lim,
                                                  r, why);
        if (!s || pb_values(b, s, (enum mg_type)t, m, lim, idx, r, why))
            return -1;
    }
    return 0;
}

int mg_pushbody_proto(struct mg_pushbody *b, const char *buf, size_t len,
                      const struct mg_wire_limits *lim, enum mg_reason *r,
                      char why[MG_WHY_LEN])
{
    memset(b, 0, sizeof(*b));
    b->proto = 1;
    struct mg_label *v = malloc((lim->max_labels + 1) * sizeof(*v));
    if (!v) {
        *r = MG_REASON_LIMIT;
        snprintf(why, MG_WHY_LEN, "out of memory");
        return -1;
    }
    mg_pbfmt_init(&b->pb, buf, len, lim->max_message_bytes);
    const mg_pb_family *mf;
    int rc;
    while ((rc = mg_pbfmt_next(&b->pb, &mf, r, why)) == 1)
        if (pb_family(b, mf, v, lim, r, why)) {
            rc = -1;
            break;
        }
    free(v);
    if (rc < 0)
        return -1;
    return finish(b, lim, r, why);
}

void mg_pushbody_fini(struct mg_pushbody *b)
{
    while (b->arena) {
        struct mg_pushbody_arena *a = b->arena;
        b->arena = a->next;
        free(a);
    }
    free(b->fam);
    free(b->ser);
    free(b->stab);
    mg_names_fini(&b->byname);
    free(b->scratch);
    mg_pbfmt_fini(&b->pb);
    memset(b, 0, sizeof(*b));
}
