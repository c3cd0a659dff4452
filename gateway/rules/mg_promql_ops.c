/* mg_promql_ops: PromQL's binary operators (vector matching, set
 * operators, bool) and aggregations, as Prometheus's engine computes them,
 * over the arena values of mg_promql_eval.c. */
#include "mg_promql_eval_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- binary operators ---- */

static int is_cmp(int op)
{
    return op >= MG_PQ_EQL && op <= MG_PQ_LTE;
}

/* Prometheus's vectorElemBinop / scalarBinop: the value and whether a
 * comparison keeps it. */
static double arith(int op, double a, double b, int *keep)
{
    *keep = 1;
    switch (op) {
    case MG_PQ_ADD: return a + b;
    case MG_PQ_SUB: return a - b;
    case MG_PQ_MUL: return a * b;
    case MG_PQ_DIV: return a / b;
    case MG_PQ_MOD: return fmod(a, b);
    case MG_PQ_POW: return pow(a, b);
    case MG_PQ_ATAN2: return atan2(a, b);
    case MG_PQ_EQL: *keep = a == b; break;
    case MG_PQ_NEQ: *keep = a != b; break;
    case MG_PQ_GTR: *keep = a > b; break;
    case MG_PQ_LSS: *keep = a < b; break;
    case MG_PQ_GTE: *keep = a >= b; break;
    case MG_PQ_LTE: *keep = a <= b; break;
    default: break;
    }
    return a;
}

/* The labels a vector match compares: on(...) keeps the listed ones,
 * ignoring(...) (or nothing) drops them and __name__. */
static struct mg_label *sig(struct pqe_ev *e, const struct mg_pq_node *n,
                            const pqe_elem *x, uint32_t *outn)
{
    struct mg_label *o = pqe_mem(e, (x->n ? x->n : 1) * sizeof(*o));
    if (!o)
        return NULL;
    uint32_t k = 0;
    for (uint32_t i = 0; i < x->n; i++) {
        int listed = 0;
        for (size_t j = 0; j < n->nlabels && !listed; j++)
            listed = x->l[i].nlen == n->labels[j].nlen &&
                     memcmp(x->l[i].name, n->labels[j].name, x->l[i].nlen) == 0;
        if (n->on ? listed : !listed && !pqe_is_name(&x->l[i]))
            o[k++] = x->l[i];
    }
    *outn = k;
    return o;
}

/* scalar op vector, vector op scalar */
static int vec_scalar(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *v,
                      double s, int swap, pqe_value *out)
{
    int rc, keep;
    size_t k = 0;
    int drop = !is_cmp(n->op) || n->bool_mod;
    for (size_t i = 0; i < v->n; i++) {
        pqe_elem x = v->e[i];
        double a = swap ? s : x.v, b = swap ? x.v : s;
        double r = arith(n->op, a, b, &keep);
        if (is_cmp(n->op)) {
            if (n->bool_mod)
                r = keep;
            else if (!keep)
                continue;
            else
                r = x.v;
        }
        x.v = r;
        if (drop && (rc = pqe_drop_name(e, &x)))
            return rc;
        v->e[k++] = x;
    }
    v->n = k;
    *out = *v;
    return 0;
}

/* and, or, unless */
static int set_op(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *a,
                  pqe_value *b, pqe_value *out)
{
    struct pqe_lmap m;
    int rc;
    size_t k = 0;
    if ((rc = pqe_lmap_init(e, &m, n->op == MG_PQ_OR ? a->n : b->n)) ||
        (rc = pqe_vec_alloc(e, out, a->n + (n->op == MG_PQ_OR ? b->n : 0))))
        return rc;
    pqe_value *idx = n->op == MG_PQ_OR ? a : b;
    for (size_t i = 0; i < idx->n; i++) {
        uint32_t sn;
        struct mg_label *s = sig(e, n, &idx->e[i], &sn);
        if (!s)
            return -ENOMEM;
        pqe_lmap_get(&m, s, sn, 1);
    }
    if (n->op == MG_PQ_OR && a->n) { /* an empty a may have no array */
        memcpy(out->e, a->e, a->n * sizeof(*a->e));
        k = a->n;
    }
    pqe_value *walk = n->op == MG_PQ_OR ? b : a;
    for (size_t i = 0; i < walk->n; i++) {
        uint32_t sn;
        struct mg_label *s = sig(e, n, &walk->e[i], &sn);
        if (!s)
            return -ENOMEM;
        int found = pqe_lmap_get(&m, s, sn, 0) >= 0;
        if (n->op == MG_PQ_AND ? found : !found)
            out->e[k++] = walk->e[i];
    }
    out->n = k;
    e->work += a->n + b->n;
    return 0;
}

/* The result's labels: the many side's, without __name__ for arithmetic
 * and bool, reduced to the match for one-to-one, plus the include labels
 * from the one side (Prometheus's resultMetric). */
static int result_labels(struct pqe_ev *e, const struct mg_pq_node *n,
                         pqe_elem *x, const pqe_elem *one)
{
    int rc;
    if ((!is_cmp(n->op) || n->bool_mod) && (rc = pqe_drop_name(e, x)))
        return rc;
    if (n->card == MG_PQ_ONE_TO_ONE) {
        if (!n->on && !n->nlabels)
            return 0;
        for (uint32_t i = 0; i < x->n;) {
            int listed = 0;
            for (size_t j = 0; j < n->nlabels && !listed; j++)
                listed = x->l[i].nlen == n->labels[j].nlen &&
                         memcmp(x->l[i].name, n->labels[j].name, x->l[i].nlen) == 0;
            if (n->on ? !listed : listed) {
                if ((rc = pqe_label_set(e, x, x->l[i].name, x->l[i].nlen, "", 0)))
                    return rc;
                continue;
            }
            i++;
        }
        return 0;
    }
    for (size_t j = 0; j < n->ninclude; j++) {
        const struct mg_label *l = pqe_label_find(one, n->include[j].name,
                                                  n->include[j].nlen);
        if ((rc = pqe_label_set(e, x, n->include[j].name, n->include[j].nlen,
                                l ? l->value : "", l ? l->vlen : 0)))
            return rc;
    }
    return 0;
}

static int match_error(struct pqe_ev *e, const char *fmt, const struct mg_label *l,
                       size_t nl)
{
    char buf[256];
    snprintf(e->why, e->whylen, fmt, pqe_labels_str(l, nl, buf, sizeof(buf)));
    return -EINVAL;
}

/* Prometheus's message for a match group with two series on the one side. */
static int dup_error(struct pqe_ev *e, const struct mg_label *s, size_t sn,
                     const pqe_elem *a, const pqe_elem *b, const char *side)
{
    char g[256], x[256], y[256];
    snprintf(e->why, e->whylen, "found duplicate series for the match group "
             "%s on the %s hand-side of the operation: [%s, %s];many-to-many "
             "matching not allowed: matching labels must be unique on one side",
             pqe_labels_str(s, sn, g, sizeof(g)), side,
             pqe_labels_str(a->l, a->n, x, sizeof(x)),
             pqe_labels_str(b->l, b->n, y, sizeof(y)));
    return -EINVAL;
}

/* vector op vector, with on/ignoring and group_left/group_right */
static int vec_vec(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *a,
                   pqe_value *b, pqe_value *out)
{
    int rc, swap = n->card == MG_PQ_ONE_TO_MANY;
    pqe_value *many = swap ? b : a, *one = swap ? a : b;
    struct pqe_lmap ones, seen;
    if ((rc = pqe_lmap_init(e, &ones, one->n)) ||
        (rc = pqe_lmap_init(e, &seen, many->n)) ||
        (rc = pqe_vec_alloc(e, out, many->n)))
        return rc;
    long *dup = pqe_mem(e, (one->n + 1) * sizeof(*dup));
    long *at = pqe_mem(e, (one->n + 1) * sizeof(*at));
    if (!dup || !at)
        return -ENOMEM;
    for (size_t i = 0; i < one->n; i++) {
        uint32_t sn;
        struct mg_label *s = sig(e, n, &one->e[i], &sn);
        if (!s)
            return -ENOMEM;
        size_t before = ones.n;
        long x = pqe_lmap_get(&ones, s, sn, 1);
        if (ones.n == before) {
            dup[x] = (long)i + 1; /* the second series of its group */
        } else {
            dup[x] = 0;
            at[x] = (long)i;
        }
    }
    for (size_t i = 0; i < many->n; i++) {
        uint32_t sn;
        struct mg_label *s = sig(e, n, &many->e[i], &sn);
        if (!s)
            return -ENOMEM;
        long x = pqe_lmap_get(&ones, s, sn, 0);
        if (x < 0)
            continue;
        if (dup[x])
            return dup_error(e, s, sn, &one->e[at[x]], &one->e[dup[x] - 1],
                             swap ? "left" : "right");
        const pqe_elem *o = &one->e[at[x]];
        double vl = swap ? o->v : many->e[i].v, vr = swap ? many->e[i].v : o->v;
        int keep;
        double r = arith(n->op, vl, vr, &keep);
        if (is_cmp(n->op))
            r = n->bool_mod ? keep : vl;
        if (is_cmp(n->op) && !n->bool_mod && !keep)
            continue;
        pqe_elem res = many->e[i];
        res.v = r;
        if ((rc = result_labels(e, n, &res, o)))
            return rc;
        /* one-to-one: each match group once; grouping: each result once */
        size_t before = seen.n;
        if (n->card == MG_PQ_ONE_TO_ONE)
            pqe_lmap_get(&seen, s, sn, 1);
        else
            pqe_lmap_get(&seen, res.l, res.n, 1);
        if (seen.n == before)
            return match_error(e, n->card == MG_PQ_ONE_TO_ONE
                ? "multiple matches for labels %s: many-to-one matching must "
                  "be explicit (group_left/group_right)"
                : "multiple matches for labels %s: grouping labels must "
                  "ensure unique matches", res.l, res.n);
        out->e[out->n++] = res;
    }
    e->work += a->n + b->n;
    return 0;
}

int pqe_binary(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *out)
{
    pqe_value a, b;
    int rc;
    if ((rc = pqe_eval(e, n->lhs, &a)) || (rc = pqe_eval(e, n->rhs, &b)))
        return rc;
    if (a.type == MG_PQ_SCALAR && b.type == MG_PQ_SCALAR) {
        int keep;
        out->type = MG_PQ_SCALAR;
        out->s = arith(n->op, a.s, b.s, &keep);
        if (is_cmp(n->op))
            out->s = keep;
        return 0;
    }
    if (a.type == MG_PQ_SCALAR)
        return vec_scalar(e, n, &b, a.s, 1, out);
    if (b.type == MG_PQ_SCALAR)
        return vec_scalar(e, n, &a, b.s, 0, out);
    if (n->op >= MG_PQ_AND)
        return set_op(e, n, &a, &b, out);
    return vec_vec(e, n, &a, &b, out);
}

/* ---- aggregations ---- */

/* The group labels of x: by's labels it has, or all but without's and
 * __name__. */
static struct mg_label *group_of(struct pqe_ev *e, const struct mg_pq_node *n,
                                 const pqe_elem *x, uint32_t *outn)
{
    struct mg_label *o = pqe_mem(e, (x->n ? x->n : 1) * sizeof(*o));
    if (!o)
        return NULL;
    uint32_t k = 0;
    for (uint32_t i = 0; i < x->n; i++) {
        int listed = 0;
        for (size_t j = 0; j < n->nlabels && !listed; j++)
            listed = x->l[i].nlen == n->labels[j].nlen &&
                     memcmp(x->l[i].name, n->labels[j].name, x->l[i].nlen) == 0;
        if (n->without ? !listed && !pqe_is_name(&x->l[i]) : listed)
            o[k++] = x->l[i];
    }
    *outn = k;
    return o;
}

struct grp {
    double v, c, mean, m2;
    size_t n;
    size_t first; /* topk/bottomk/quantile: into the member list */
};

static int k_cmp_top(const void *a, const void *b)
{
    const pqe_elem *x = a, *y = b;
    /* NaN last, larger first */
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? 1 : -1;
    return (x->v < y->v) - (x->v > y->v);
}

static int k_cmp_bottom(const void *a, const void *b)
{
    const pqe_elem *x = a, *y = b;
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? 1 : -1;
    return (x->v > y->v) - (x->v < y->v);
}

static void agg_add(int op, struct grp *g, double v)
{
    if (!g->n) {
        g->v = v;
        g->c = 0;
        g->mean = 0;
        g->m2 = 0;
        if (op == MG_PQA_SUM || op == MG_PQA_AVG)
            g->v = 0;
    }
    g->n++;
    switch (op) {
    case MG_PQA_SUM:
    case MG_PQA_AVG:
        g->v = mg_kahan_inc(v, g->v, &g->c);
        break;
    case MG_PQA_MIN:
        if (v < g->v || isnan(g->v))
            g->v = v;
        break;
    case MG_PQA_MAX:
        if (v > g->v || isnan(g->v))
            g->v = v;
        break;
    case MG_PQA_STDDEV:
    case MG_PQA_STDVAR: {
        double d = v - g->mean;
        g->mean += d / (double)g->n;
        g->m2 += d * (v - g->mean);
        break;
    }
    default:
        break;
    }
}

static double agg_result(int op, const struct grp *g)
{
    switch (op) {
    case MG_PQA_SUM: return g->v + g->c;
    case MG_PQA_AVG: return (g->v + g->c) / (double)g->n;
    case MG_PQA_COUNT: return (double)g->n;
    case MG_PQA_GROUP: return 1;
    case MG_PQA_STDVAR: return g->m2 / (double)g->n;
    case MG_PQA_STDDEV: return sqrt(g->m2 / (double)g->n);
    default: return g->v;
    }
}

/* topk, bottomk, quantile: the members of each group, then per group. */
static int agg_members(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *v,
                       long *gi, struct pqe_lmap *m, double param,
                       pqe_value *out)
{
    int rc;
    if ((rc = pqe_vec_alloc(e, out, v->n)))
        return rc;
    pqe_elem *mem = pqe_mem(e, (v->n + 1) * sizeof(*mem));
    double *vals = pqe_mem(e, (v->n + 1) * sizeof(*vals));
    if (!mem || !vals)
        return -ENOMEM;
    for (size_t g = 0; g < m->n; g++) {
        size_t k = 0;
        for (size_t i = 0; i < v->n; i++)
            if (gi[i] == (long)g)
                mem[k++] = v->e[i];
        e->work += k;
        if (n->op == MG_PQA_QUANTILE) {
            for (size_t i = 0; i < k; i++)
                vals[i] = mem[i].v;
            out->e[out->n++] = (pqe_elem){m->k[g], m->kn[g],
                                          pqe_quantile(param, vals, k)};
            continue;
        }
        double want = param;
        if (isnan(want) || want < 1)
            continue;
        size_t keep = want >= (double)k ? k : (size_t)want;
        qsort(mem, k, sizeof(*mem),
              n->op == MG_PQA_TOPK ? k_cmp_top : k_cmp_bottom);
        for (size_t i = 0; i < keep; i++)
            out->e[out->n++] = mem[i];
    }
    return 0;
}

int pqe_agg(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *out)
{
    pqe_value v, p = {0};
    int rc;
    if (n->rhs && (rc = pqe_eval(e, n->rhs, &p)))
        return rc;
    if ((rc = pqe_eval(e, n->lhs, &v)))
        return rc;
    struct pqe_lmap m;
    long *gi = pqe_mem(e, (v.n + 1) * sizeof(*gi));
    if (!gi || (rc = pqe_lmap_init(e, &m, v.n)))
        return -ENOMEM;
    for (size_t i = 0; i < v.n; i++) {
        uint32_t gn;
        struct mg_label *g = group_of(e, n, &v.e[i], &gn);
        if (!g)
            return -ENOMEM;
        gi[i] = pqe_lmap_get(&m, g, gn, 1);
    }
    e->work += v.n;
    if (n->op == MG_PQA_TOPK || n->op == MG_PQA_BOTTOMK ||
        n->op == MG_PQA_QUANTILE)
        return agg_members(e, n, &v, gi, &m, p.s, out);
    struct grp *gs = pqe_mem(e, (m.n + 1) * sizeof(*gs));
    if (!gs || (rc = pqe_vec_alloc(e, out, m.n)))
        return -ENOMEM;
    memset(gs, 0, (m.n + 1) * sizeof(*gs));
    for (size_t i = 0; i < v.n; i++)
        agg_add(n->op, &gs[gi[i]], v.e[i].v);
    for (size_t g = 0; g < m.n; g++)
        out->e[out->n++] = (pqe_elem){m.k[g], m.kn[g], agg_result(n->op, &gs[g])};
    return 0;
}
