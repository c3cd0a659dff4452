/* mg_promql_eval: a tree walk over the AST. Every intermediate vector lives
 * in one arena that the next evaluation reuses; label arrays are shared
 * where an operator keeps them and copied where it changes them. */
#include "mg_promql_eval_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_buf.h"
#include "mg_fmt.h"
#include "mg_hash.h"
#include "mg_json.h"

#define CHUNK (64 * 1024)
#define MAX_OUT_LABELS 1024 /* a label set an operator builds */

struct pqc {
    char *text;
    size_t len;
    uint64_t hash;
    struct mg_pq *pq;
};

struct mg_pqe {
    /* the arena: one block, grown to the largest evaluation's need */
    char *mem;
    size_t cap, used;
    char **extra;            /* overflow blocks of this evaluation */
    size_t nextra, capextra, extra_bytes;
    /* the cache */
    struct pqc *c;
    size_t nc, capc;
};

static const char NAME[] = "__name__";

/* ---- the arena ---- */

void *pqe_mem(struct pqe_ev *e, size_t n)
{
    struct mg_pqe *pe = e->pe;
    n = (n + 15) & ~(size_t)15;
    if (pe->used + n <= pe->cap) {
        void *p = pe->mem + pe->used;
        pe->used += n;
        return p;
    }
    if (pe->nextra == pe->capextra) {
        size_t cap = pe->capextra ? pe->capextra * 2 : 8;
        char **nx = realloc(pe->extra, cap * sizeof(*nx));
        if (!nx)
            return NULL;
        pe->extra = nx;
        pe->capextra = cap;
    }
    char *p = malloc(n);
    if (!p)
        return NULL;
    pe->extra[pe->nextra++] = p;
    pe->extra_bytes += n;
    return p;
}

/* Frees this evaluation's overflow and grows the block to hold it all next
 * time, so a steady rule set allocates nothing per evaluation. */
static void arena_reset(struct mg_pqe *pe)
{
    size_t want = pe->used + pe->extra_bytes;
    for (size_t i = 0; i < pe->nextra; i++)
        free(pe->extra[i]);
    pe->nextra = 0;
    pe->extra_bytes = 0;
    pe->used = 0;
    if (want > pe->cap || !pe->mem) {
        size_t cap = pe->cap ? pe->cap : CHUNK;
        while (cap < want)
            cap *= 2;
        char *m = malloc(cap);
        if (m) {
            free(pe->mem);
            pe->mem = m;
            pe->cap = cap;
        }
    }
}

struct mg_pqe *mg_pqe_new(void)
{
    return calloc(1, sizeof(struct mg_pqe));
}

void mg_pqe_free(struct mg_pqe *pe)
{
    if (!pe)
        return;
    arena_reset(pe);
    free(pe->mem);
    free(pe->extra);
    for (size_t i = 0; i < pe->nc; i++) {
        free(pe->c[i].text);
        mg_pq_free(pe->c[i].pq);
    }
    free(pe->c);
    free(pe);
}

/* ---- the cache ---- */

const struct mg_pq *mg_pqe_get(struct mg_pqe *pe, const char *text, size_t n,
                               int *err, char *why, size_t whylen)
{
    uint64_t h = mg_hash_bytes(text, n, 0x9e3779b9);
    for (size_t i = 0; i < pe->nc; i++)
        if (pe->c[i].hash == h && pe->c[i].len == n &&
            memcmp(pe->c[i].text, text, n) == 0)
            return pe->c[i].pq;
    struct mg_pq *pq;
    if ((*err = mg_pq_parse(text, n, &pq, why, whylen)))
        return NULL;
    int type = mg_pq_root(pq)->type;
    if (type != MG_PQ_SCALAR && type != MG_PQ_VECTOR) {
        mg_pq_free(pq);
        *err = mg_pqe_check(text, n, why, whylen);
        return NULL;
    }
    if (pe->nc >= MG_PQE_MAX_CACHED) {
        /* full: the oldest entry goes (rules keep calling theirs) */
        free(pe->c[0].text);
        mg_pq_free(pe->c[0].pq);
        memmove(pe->c, pe->c + 1, (pe->nc - 1) * sizeof(*pe->c));
        pe->nc--;
    }
    if (pe->nc == pe->capc) {
        size_t cap = pe->capc ? pe->capc * 2 : 16;
        struct pqc *nc = realloc(pe->c, cap * sizeof(*nc));
        if (!nc)
            goto nomem;
        pe->c = nc;
        pe->capc = cap;
    }
    char *t = malloc(n ? n : 1);
    if (!t)
        goto nomem;
    memcpy(t, text, n);
    pe->c[pe->nc++] = (struct pqc){t, n, h, pq};
    return pq;
nomem:
    mg_pq_free(pq);
    *err = -ENOMEM;
    snprintf(why, whylen, "out of memory");
    return NULL;
}

/* ---- labels ---- */

static int bcmp_(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int lname_is(const struct mg_label *l, const char *s, size_t n)
{
    return l->nlen == n && memcmp(l->name, s, n) == 0;
}

int pqe_is_name(const struct mg_label *l)
{
    return lname_is(l, NAME, 8);
}

static int labels_cmp(const struct mg_label *a, size_t an,
                      const struct mg_label *b, size_t bn)
{
    for (size_t i = 0; i < an && i < bn; i++) {
        int c = bcmp_(a[i].name, a[i].nlen, b[i].name, b[i].nlen);
        if (!c)
            c = bcmp_(a[i].value, a[i].vlen, b[i].value, b[i].vlen);
        if (c)
            return c;
    }
    return (an > bn) - (an < bn);
}

static uint64_t labels_hash(const struct mg_label *l, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h = mg_hash_bytes(l[i].name, l[i].nlen, h);
        h = mg_hash_bytes(l[i].value, l[i].vlen, h ^ 0xff);
    }
    return h;
}

const struct mg_label *pqe_label_find(const pqe_elem *x, const char *name,
                                         size_t nlen)
{
    for (uint32_t i = 0; i < x->n; i++)
        if (lname_is(&x->l[i], name, nlen))
            return &x->l[i];
    return NULL;
}

/* Copies of labels a..n into the arena, with the name inserted (name may
 * be NULL) in its sorted place and the strings copied when deep. */
static struct mg_label *labels_copy(struct pqe_ev *e, const struct mg_label *a,
                                    size_t n, const char *name, size_t nlen,
                                    int deep, uint32_t *outn)
{
    struct mg_label *o = pqe_mem(e, (n + 1) * sizeof(*o));
    if (!o)
        return NULL;
    size_t k = 0;
    int placed = name == NULL;
    for (size_t i = 0; i <= n; i++) {
        if (!placed && (i == n || bcmp_(NAME, 8, a[i].name, a[i].nlen) < 0)) {
            o[k++] = (struct mg_label){NAME, name, 8, (uint32_t)nlen};
            placed = 1;
        }
        if (i < n)
            o[k++] = a[i];
    }
    if (deep)
        for (size_t i = 0; i < k; i++) {
            char *nm = pqe_mem(e, o[i].nlen + o[i].vlen + 2);
            if (!nm)
                return NULL;
            memcpy(nm, o[i].name, o[i].nlen);
            nm[o[i].nlen] = '\0';
            memcpy(nm + o[i].nlen + 1, o[i].value, o[i].vlen);
            nm[o[i].nlen + 1 + o[i].vlen] = '\0';
            o[i].name = nm;
            o[i].value = nm + o[i].nlen + 1;
        }
    *outn = (uint32_t)k;
    return o;
}

/* x without __name__ (a fresh array when it had one). */
int pqe_drop_name(struct pqe_ev *e, pqe_elem *x)
{
    for (uint32_t i = 0; i < x->n; i++) {
        if (!pqe_is_name(&x->l[i]))
            continue;
        struct mg_label *o = pqe_mem(e, (x->n ? x->n : 1) * sizeof(*o));
        if (!o)
            return -ENOMEM;
        memcpy(o, x->l, i * sizeof(*o));
        memcpy(o + i, x->l + i + 1, (x->n - i - 1) * sizeof(*o));
        x->l = o;
        x->n--;
        return 0;
    }
    return 0;
}

/* x's labels with name set to v (removed when vlen is 0). */
int pqe_label_set(struct pqe_ev *e, pqe_elem *x, const char *name, size_t nlen,
                     const char *v, size_t vlen)
{
    struct mg_label *o = pqe_mem(e, (x->n + 1) * sizeof(*o));
    if (!o)
        return -ENOMEM;
    uint32_t k = 0;
    int placed = vlen == 0;
    for (uint32_t i = 0; i <= x->n; i++) {
        int c = i < x->n ? bcmp_(name, nlen, x->l[i].name, x->l[i].nlen) : -1;
        if (!placed && c <= 0) {
            o[k++] = (struct mg_label){name, v, (uint32_t)nlen, (uint32_t)vlen};
            placed = 1;
        }
        if (i < x->n && c != 0)
            o[k++] = x->l[i];
    }
    x->l = o;
    x->n = k;
    return 0;
}

/* The label set {a="b", ...} as Prometheus prints it, into buf. */
const char *pqe_labels_str(const struct mg_label *l, size_t n, char *buf,
                              size_t len)
{
    size_t k = 0;
    k += (size_t)snprintf(buf, len, "{");
    for (size_t i = 0; i < n && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%.*s=\"%.*s\"",
                              i ? ", " : "", (int)l[i].nlen, l[i].name,
                              (int)l[i].vlen, l[i].value);
    if (k < len)
        snprintf(buf + k, len - k, "}");
    return buf;
}

/* ---- a map from label sets to indices, in the arena ---- */

int pqe_lmap_init(struct pqe_ev *e, struct pqe_lmap *m, size_t want)
{
    size_t cap = 16;
    while (cap < 2 * want + 2)
        cap *= 2;
    m->slot = pqe_mem(e, cap * sizeof(*m->slot));
    m->k = pqe_mem(e, (want + 1) * sizeof(*m->k));
    m->kn = pqe_mem(e, (want + 1) * sizeof(*m->kn));
    m->h = pqe_mem(e, (want + 1) * sizeof(*m->h));
    if (!m->slot || !m->k || !m->kn || !m->h)
        return -ENOMEM;
    memset(m->slot, 0, cap * sizeof(*m->slot));
    m->mask = cap - 1;
    m->n = 0;
    return 0;
}

/* The index of l, or -1; with add, l is added (it must stay valid) and its
 * new index returned. The map holds at most the want given to init. */
long pqe_lmap_get(struct pqe_lmap *m, struct mg_label *l, size_t n, int add)
{
    uint64_t h = labels_hash(l, n);
    size_t i = h & m->mask;
    for (; m->slot[i]; i = (i + 1) & m->mask) {
        uint32_t x = m->slot[i] - 1;
        if (m->h[x] == h && labels_cmp(m->k[x], m->kn[x], l, n) == 0)
            return x;
    }
    if (!add)
        return -1;
    m->k[m->n] = l;
    m->kn[m->n] = (uint32_t)n;
    m->h[m->n] = h;
    m->slot[i] = (uint32_t)++m->n;
    return (long)m->n - 1;
}

/* ---- vectors ---- */

int pqe_vec_alloc(struct pqe_ev *e, pqe_value *v, size_t n)
{
    v->type = MG_PQ_VECTOR;
    v->n = 0;
    v->e = pqe_mem(e, (n ? n : 1) * sizeof(*v->e));
    return v->e ? 0 : -ENOMEM;
}

/* Appends to a vector whose capacity is tracked by *cap (doubling). */
static int vec_push(struct pqe_ev *e, pqe_value *v, size_t *cap, pqe_elem x)
{
    if (v->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        pqe_elem *ne = pqe_mem(e, nc * sizeof(*ne));
        if (!ne)
            return -ENOMEM;
        if (v->n)
            memcpy(ne, v->e, v->n * sizeof(*ne));
        v->e = ne;
        *cap = nc;
    }
    v->e[v->n++] = x;
    return 0;
}

static int elem_cmp(const void *a, const void *b)
{
    const pqe_elem *x = a, *y = b;
    return labels_cmp(x->l, x->n, y->l, y->n);
}

/* ---- selectors ---- */

struct icol {
    struct pqe_ev *e;
    pqe_value *v;
    size_t cap;
};

static int instant_one(void *p, const struct qsample *s)
{
    struct icol *c = p;
    /* Prometheus's lookback: a series not written for 5 m is stale */
    if (mg_store_output_seen(c->e->st, s->oidx) <= c->e->now - MG_PQE_LOOKBACK_MS)
        return 0;
    pqe_elem x;
    x.v = s->value;
    if (!(x.l = labels_copy(c->e, s->labels, s->n, s->name, s->nlen, 1, &x.n)))
        return -ENOMEM;
    return vec_push(c->e, c->v, &c->cap, x);
}

/* The labels of a history, __name__ included, in the arena. */
static int hist_labels(struct pqe_ev *e, const struct qhist *h, pqe_elem *x)
{
    struct mg_query *q = e->q;
    if (mg_query_reserve_labels(q, h->ls->n + 1))
        return -ENOMEM;
    size_t n = mg_labelset_unpack(h->ls, q->lab);
    x->l = labels_copy(e, q->lab, n, h->name, h->nlen, 0, &x->n);
    return x->l ? 0 : -ENOMEM;
}

/* Registers the selector's window (range + offset) and returns its cache
 * entry, its histories sampled at now. */
static struct qsel *range_sel(struct pqe_ev *e, const struct mg_pq_node *n,
                              int64_t win, int *rc)
{
    struct qsel *s = mg_query_sel_get(e->q, n->text, n->len, 1, rc, e->why, e->whylen);
    if (!s)
        return NULL;
    *rc = mg_query_sel_range(e->q, e->st, s, win + n->offset_ms, e->now, e->why,
                   e->whylen);
    return *rc ? NULL : s;
}

static int eval_selector(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *out)
{
    size_t cap = 0;
    out->type = MG_PQ_VECTOR;
    out->n = 0;
    out->e = NULL;
    if (!n->offset_ms) {
        /* now: the store's current samples */
        struct icol c = {e, out, 0};
        size_t visited = 0;
        int rc = mg_query_sel_each(e->q, e->st, n->sel, instant_one, &c, &visited,
                         e->why, e->whylen);
        e->work += visited;
        return rc;
    }
    int rc;
    struct qsel *s = range_sel(e, n, MG_PQE_LOOKBACK_MS, &rc);
    if (!s)
        return rc;
    int64_t end = e->now - n->offset_ms;
    for (size_t k = 0; k < s->nmem; k++) {
        size_t np = qh_window(e->q, s->mem[k], end, MG_PQE_LOOKBACK_MS);
        e->work += 4 + np;
        if (!np)
            continue;
        pqe_elem x;
        x.v = e->q->pts[np - 1].v;
        if ((rc = hist_labels(e, s->mem[k], &x)) || (rc = vec_push(e, out, &cap, x)))
            return rc;
    }
    return 0;
}

/* ---- range functions ---- */

static double kahan_sum(const struct mg_point *p, size_t n)
{
    double s = 0, c = 0;
    for (size_t i = 0; i < n; i++)
        s = mg_kahan_inc(p[i].v, s, &c);
    return s + c;
}

static double variance(const double *v, size_t n, size_t stride)
{
    double mean = 0, m2 = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i * stride], d = x - mean;
        mean += d / (double)(i + 1);
        m2 += d * (x - mean);
    }
    return m2 / (double)n;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x))
        return isnan(y) ? 0 : -1;
    if (isnan(y))
        return 1;
    return (x > y) - (x < y);
}

/* Prometheus's quantile over v (n values, sorted here). */
double pqe_quantile(double phi, double *v, size_t n)
{
    if (!n || isnan(phi))
        return NAN;
    if (phi < 0)
        return -INFINITY;
    if (phi > 1)
        return INFINITY;
    qsort(v, n, sizeof(*v), dbl_cmp);
    double rank = phi * (double)(n - 1);
    size_t lo = (size_t)floor(rank), hi = lo + 1 < n ? lo + 1 : n - 1;
    double w = rank - floor(rank);
    return v[lo] * (1 - w) + v[hi] * w;
}

/* Prometheus's deriv: the slope of the least-squares line. */
static double deriv(const struct mg_point *p, size_t n)
{
    double sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    int64_t t0 = p[0].t;
    int const_x = 1;
    for (size_t i = 0; i < n; i++) {
        double x = (double)(p[i].t - t0) / 1000.0;
        if (p[i].t != t0)
            const_x = 0;
        sx = mg_kahan_inc(x, sx, &cx);
        sy = mg_kahan_inc(p[i].v, sy, &cy);
        sxy = mg_kahan_inc(x * p[i].v, sxy, &cxy);
        sx2 = mg_kahan_inc(x * x, sx2, &cx2);
    }
    if (const_x)
        return 0;
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    double nn = (double)n;
    return (sxy - sx * sy / nn) / (sx2 - sx * sx / nn);
}

/* f over one series' window; 0 when it yields nothing. */
static int range_apply(int f, double phi, const struct mg_point *p, size_t n,
                       int64_t end, int64_t range, double *scratch, double *out)
{
    double *tmp;
    switch (f) {
    case MG_PQF_RATE:
    case MG_PQF_INCREASE:
    case MG_PQF_DELTA:
        return mg_promql_rate(p, n, end, range, f != MG_PQF_DELTA,
                              f == MG_PQF_RATE, out);
    case MG_PQF_IRATE:
    case MG_PQF_IDELTA: {
        if (n < 2)
            return 0;
        double last = p[n - 1].v, prev = p[n - 2].v;
        if (f == MG_PQF_IDELTA) {
            *out = last - prev;
            return 1;
        }
        double d = last < prev ? last : last - prev;
        *out = d / ((double)(p[n - 1].t - p[n - 2].t) / 1000.0);
        return 1;
    }
    case MG_PQF_DERIV:
        if (n < 2)
            return 0;
        *out = deriv(p, n);
        return 1;
    default:
        break;
    }
    if (!n)
        return 0;
    switch (f) {
    case MG_PQF_AVG_OT: *out = mg_promql_avg_over_time(p, n); break;
    case MG_PQF_MAX_OT: *out = mg_promql_max_over_time(p, n); break;
    case MG_PQF_MIN_OT:
        *out = p[0].v;
        for (size_t i = 1; i < n; i++)
            if (p[i].v < *out || isnan(*out))
                *out = p[i].v;
        break;
    case MG_PQF_SUM_OT: *out = kahan_sum(p, n); break;
    case MG_PQF_COUNT_OT: *out = (double)n; break;
    case MG_PQF_LAST_OT: *out = p[n - 1].v; break;
    case MG_PQF_PRESENT_OT: *out = 1; break;
    case MG_PQF_STDDEV_OT:
    case MG_PQF_STDVAR_OT:
        /* the values sit every other double in the points */
        *out = variance(&p[0].v, n, sizeof(*p) / sizeof(double));
        if (f == MG_PQF_STDDEV_OT)
            *out = sqrt(*out);
        break;
    case MG_PQF_QUANTILE_OT:
        tmp = scratch; /* arena room for n values, sorted in place */
        for (size_t i = 0; i < n; i++)
            tmp[i] = p[i].v;
        *out = pqe_quantile(phi, tmp, n);
        break;
    default:
        return 0;
    }
    return 1;
}

/* absent()'s labels: the selector's equality matchers, a name matched
 * twice left out, as Prometheus builds them. */
static int absent_labels(struct pqe_ev *e, const struct mg_pq_node *arg, pqe_elem *x)
{
    struct mg_label eq[64];
    x->l = NULL;
    x->n = 0;
    x->v = 1;
    if (arg->kind != MG_PQ_SEL)
        return 0;
    size_t n = mg_selector_equalities(arg->sel, eq, 64);
    if (n > 64)
        n = 64;
    struct mg_label *o = pqe_mem(e, (n ? n : 1) * sizeof(*o));
    if (!o)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            if (j != i && eq[j].nlen == eq[i].nlen &&
                memcmp(eq[j].name, eq[i].name, eq[i].nlen) == 0)
                dup = 1;
        if (!dup)
            o[k++] = eq[i];
    }
    mg_labels_sort(o, k);
    x->l = o;
    x->n = (uint32_t)k;
    return 0;
}

static int eval_range_call(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *out)
{
    const struct mg_pq_node *m = n->args[n->nargs - 1];
    double phi = 0;
    int rc;
    if (n->op == MG_PQF_QUANTILE_OT) {
        pqe_value pv;
        if ((rc = pqe_eval(e, n->args[0], &pv)))
            return rc;
        phi = pv.s;
    }
    struct qsel *s = range_sel(e, m, m->range_ms, &rc);
    if (!s)
        return rc;
    int64_t end = e->now - m->offset_ms;
    size_t cap = 0;
    out->type = MG_PQ_VECTOR;
    out->n = 0;
    out->e = NULL;
    int any = 0;
    for (size_t k = 0; k < s->nmem; k++) {
        size_t np = qh_window(e->q, s->mem[k], end, m->range_ms);
        e->work += 4 + np;
        if (np)
            any = 1;
        if (n->op == MG_PQF_ABSENT_OT)
            continue;
        pqe_elem x;
        double *scratch = NULL;
        if (n->op == MG_PQF_QUANTILE_OT && np &&
            !(scratch = pqe_mem(e, np * sizeof(*scratch))))
            return -ENOMEM;
        rc = range_apply(n->op, phi, e->q->pts, np, end, m->range_ms, scratch,
                         &x.v);
        if (rc < 0)
            return rc;
        if (!rc)
            continue;
        if ((rc = hist_labels(e, s->mem[k], &x)))
            return rc;
        if (n->op != MG_PQF_LAST_OT && (rc = pqe_drop_name(e, &x)))
            return rc;
        if ((rc = vec_push(e, out, &cap, x)))
            return rc;
    }
    if (n->op == MG_PQF_ABSENT_OT && !any) {
        pqe_elem x;
        if ((rc = absent_labels(e, m, &x)) || (rc = vec_push(e, out, &cap, x)))
            return rc;
    }
    return 0;
}

/* ---- instant functions ---- */

static double round_to(double v, double to)
{
    double inv = 1.0 / to;
    return floor(v * inv + 0.5) / inv;
}

static int label_replace(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *v)
{
    const struct mg_pq_node *dst = n->args[1], *src = n->args[3];
    struct mg_rebuf out = {0};
    int rc = 0;
    for (size_t i = 0; i < v->n && !rc; i++) {
        pqe_elem *x = &v->e[i];
        const struct mg_label *sl = pqe_label_find(x, src->text, src->len);
        const char *sv = sl ? sl->value : "";
        size_t svl = sl ? sl->vlen : 0;
        int m = mg_regex_match(n->re, e->q->m, sv, svl, 0, e->why, e->whylen);
        if (m < 0) {
            rc = -EINVAL;
            break;
        }
        if (!m)
            continue;
        out.len = 0;
        if (mg_retmpl_expand(n->tmpl, e->q->m, sv, &out)) {
            rc = -ENOMEM;
            break;
        }
        char *val = pqe_mem(e, out.len + 1);
        if (!val) {
            rc = -ENOMEM;
            break;
        }
        if (out.len)
            memcpy(val, out.p, out.len);
        val[out.len] = '\0';
        rc = pqe_label_set(e, x, dst->text, dst->len, val, out.len);
    }
    mg_rebuf_fini(&out);
    return rc;
}

/* histogram_quantile: buckets grouped by their labels without le and
 * __name__, each group's bucketQuantile. */
static int histogram_quantile(struct pqe_ev *e, double phi, pqe_value *v, pqe_value *out)
{
    struct pqe_lmap m;
    int rc;
    if ((rc = pqe_lmap_init(e, &m, v->n)) || (rc = pqe_vec_alloc(e, out, v->n)))
        return rc;
    long *grp = pqe_mem(e, (v->n + 1) * sizeof(*grp));
    double *le = pqe_mem(e, (v->n + 1) * sizeof(*le));
    if (!grp || !le)
        return -ENOMEM;
    for (size_t i = 0; i < v->n; i++) {
        pqe_elem x = v->e[i];
        const struct mg_label *l = pqe_label_find(&x, "le", 2);
        grp[i] = -1;
        char buf[64], *end;
        if (!l || !l->vlen || l->vlen >= sizeof(buf))
            continue;
        memcpy(buf, l->value, l->vlen);
        buf[l->vlen] = '\0';
        le[i] = strtod(buf, &end);
        if (*end)
            continue;
        if ((rc = pqe_drop_name(e, &x)) || (rc = pqe_label_set(e, &x, "le", 2, "", 0)))
            return rc;
        grp[i] = pqe_lmap_get(&m, x.l, x.n, 1);
    }
    struct mg_bucket *b = pqe_mem(e, (v->n + 1) * sizeof(*b));
    if (!b)
        return -ENOMEM;
    for (size_t g = 0; g < m.n; g++) {
        size_t nb = 0;
        for (size_t i = 0; i < v->n; i++)
            if (grp[i] == (long)g)
                b[nb++] = (struct mg_bucket){le[i], v->e[i].v};
        e->work += nb;
        out->e[out->n++] = (pqe_elem){m.k[g], m.kn[g],
                                  mg_promql_bucket_quantile(phi, b, nb)};
    }
    return 0;
}

static int eval_call(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *out)
{
    int rc, f = n->op;
    if (f <= MG_PQF_ABSENT_OT)
        return eval_range_call(e, n, out);
    if (f == MG_PQF_TIME) {
        out->type = MG_PQ_SCALAR;
        out->s = (double)e->now / 1000.0;
        return 0;
    }
    pqe_value a[3];
    for (size_t i = 0; i < n->nargs && i < 3; i++)
        if (n->args[i]->type != MG_PQ_STRING && (rc = pqe_eval(e, n->args[i], &a[i])))
            return rc;
    switch (f) {
    case MG_PQF_VECTOR:
        if ((rc = pqe_vec_alloc(e, out, 1)))
            return rc;
        out->e[out->n++] = (pqe_elem){NULL, 0, a[0].s};
        return 0;
    case MG_PQF_SCALAR:
        out->type = MG_PQ_SCALAR;
        out->s = a[0].n == 1 ? a[0].e[0].v : NAN;
        return 0;
    case MG_PQF_ABSENT:
        if ((rc = pqe_vec_alloc(e, out, 1)) || a[0].n)
            return rc;
        if ((rc = absent_labels(e, n->args[0], &out->e[0])))
            return rc;
        out->n = 1;
        return 0;
    case MG_PQF_HISTOGRAM_QUANTILE:
        return histogram_quantile(e, a[0].s, &a[1], out);
    case MG_PQF_LABEL_REPLACE:
        *out = a[0];
        return label_replace(e, n, out);
    default:
        break;
    }
    *out = a[0];
    if (f == MG_PQF_CLAMP && a[2].s < a[1].s) {
        out->n = 0;
        return 0;
    }
    for (size_t i = 0; i < out->n; i++) {
        pqe_elem *x = &out->e[i];
        double v = x->v;
        switch (f) {
        case MG_PQF_ABS: v = fabs(v); break;
        case MG_PQF_CEIL: v = ceil(v); break;
        case MG_PQF_FLOOR: v = floor(v); break;
        case MG_PQF_ROUND: v = round_to(v, n->nargs > 1 ? a[1].s : 1); break;
        case MG_PQF_SQRT: v = sqrt(v); break;
        case MG_PQF_EXP: v = exp(v); break;
        case MG_PQF_LN: v = log(v); break;
        case MG_PQF_LOG2: v = log2(v); break;
        case MG_PQF_LOG10: v = log10(v); break;
        case MG_PQF_CLAMP: v = fmax(a[1].s, fmin(a[2].s, v)); break;
        case MG_PQF_CLAMP_MIN: v = fmax(a[1].s, v); break;
        case MG_PQF_CLAMP_MAX: v = fmin(a[1].s, v); break;
        default: break;
        }
        x->v = v;
        if ((rc = pqe_drop_name(e, x)))
            return rc;
    }
    return 0;
}

/* ---- the walk ---- */

int pqe_eval(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *out)
{
    int rc;
    switch (n->kind) {
    case MG_PQ_NUM:
        out->type = MG_PQ_SCALAR;
        out->s = n->num;
        return 0;
    case MG_PQ_SEL:
        return eval_selector(e, n, out);
    case MG_PQ_CALL:
        return eval_call(e, n, out);
    case MG_PQ_AGG:
        return pqe_agg(e, n, out);
    case MG_PQ_BIN:
        return pqe_binary(e, n, out);
    case MG_PQ_NEG:
        if ((rc = pqe_eval(e, n->lhs, out)))
            return rc;
        if (out->type == MG_PQ_SCALAR) {
            out->s = -out->s;
            return 0;
        }
        for (size_t i = 0; i < out->n; i++) {
            out->e[i].v = -out->e[i].v;
            if ((rc = pqe_drop_name(e, &out->e[i])))
                return rc;
        }
        return 0;
    default:
        snprintf(e->why, e->whylen, "a string is not a value");
        return -EINVAL;
    }
}

int mg_pqe_eval(struct mg_pqe *pe, struct mg_query *q, struct mg_store *st,
                const struct mg_pq *pq, int64_t now_ms,
                struct mg_pqe_value *out, uint64_t *work, char *why,
                size_t whylen)
{
    arena_reset(pe);
    struct pqe_ev e = {pe, q, st, now_ms, 0, why, whylen};
    int rc = pqe_eval(&e, mg_pq_root(pq), out);
    *work = e.work;
    if (rc == -ENOMEM)
        snprintf(why, whylen, "out of memory");
    if (!rc && out->type == MG_PQ_VECTOR && out->n > 1)
        qsort(out->e, out->n, sizeof(*out->e), elem_cmp);
    return rc;
}

/* [t,"v"] as Prometheus writes a sample: seconds with milliseconds, the
 * value as a string ("NaN", "+Inf"). */
static void json_point(struct mg_buf *b, int64_t t, double v)
{
    char num[64], ts[48];
    if (isnan(v))
        snprintf(num, sizeof(num), "NaN");
    else if (isinf(v))
        snprintf(num, sizeof(num), "%sInf", v > 0 ? "+" : "-");
    else
        mg_format_double(num, v);
    snprintf(ts, sizeof(ts), "[%lld.%03lld,\"", (long long)(t / 1000),
             (long long)(t % 1000));
    mg_buf_adds(b, ts);
    mg_buf_adds(b, num);
    mg_buf_adds(b, "\"]");
}

int mg_pqe_query_json(struct mg_query *q, struct mg_store *st,
                      const char *expr, size_t n, int64_t now_ms,
                      struct mg_buf *out, char *why, size_t whylen)
{
    int err = 0;
    if (!q->pqe && !(q->pqe = mg_pqe_new())) {
        snprintf(why, whylen, "out of memory");
        return -ERANGE;
    }
    const struct mg_pq *pq = mg_pqe_get(q->pqe, expr, n, &err, why, whylen);
    if (!pq)
        return err == -EINVAL ? -EINVAL : -ERANGE;
    struct mg_pqe_value v;
    uint64_t work;
    if (mg_pqe_eval(q->pqe, q, st, pq, now_ms, &v, &work, why, whylen))
        return -ERANGE;
    mg_buf_adds(out, "{\"status\":\"success\",\"data\":{\"resultType\":");
    if (v.type == MG_PQ_SCALAR) {
        mg_buf_adds(out, "\"scalar\",\"result\":");
        json_point(out, now_ms, v.s);
        mg_buf_adds(out, "}}\n");
        return 0;
    }
    mg_buf_adds(out, "\"vector\",\"result\":[");
    for (size_t i = 0; i < v.n; i++) {
        mg_buf_adds(out, i ? ",{\"metric\":{" : "{\"metric\":{");
        for (uint32_t j = 0; j < v.e[i].n; j++) {
            const struct mg_label *l = &v.e[i].l[j];
            if (j)
                mg_buf_addc(out, ',');
            mg_json_str(out, l->name, l->nlen);
            mg_buf_addc(out, ':');
            mg_json_str(out, l->value, l->vlen);
        }
        mg_buf_adds(out, "},\"value\":");
        json_point(out, now_ms, v.e[i].v);
        mg_buf_addc(out, '}');
    }
    mg_buf_adds(out, "]}}\n");
    return 0;
}
