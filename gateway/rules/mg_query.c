/* mg_query: the selector cache, the walk over a store's samples as PromQL
 * names them, the histories and their ticks. The q table's Lua functions
 * live in mg_query_lua.c, the arithmetic in mg_promql.c. */
#include "mg_query_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_vec.h"
#include "mg_fmt.h"
#include "mg_promql_eval.h"

/* A cached selector no call used for this many ticks, and that no range
 * registration holds, is freed. */
#define SEL_IDLE_TICKS 16
/* A registration survives at least this many unasked ticks, so a rule that
 * fails once or asks only every other tick keeps its history. */
#define MIN_KEEP_TICKS 3
#define MAX_POINTS_LIMIT (1u << 24)

int mg_query_reserve_labels(struct mg_query *q, size_t n)
{
    if (q->caplab >= n)
        return 0;
    size_t cap = q->caplab;
    if (mg_grow((void **)&q->lab, &cap, n, sizeof(*q->lab)))
        return -ENOMEM;
    cap = q->caplab;
    if (mg_grow((void **)&q->srt, &cap, n, sizeof(*q->srt)))
        return -ENOMEM;
    q->caplab = cap;
    return 0;
}

/* ---- the query object ---- */

struct mg_query *mg_query_new(size_t max_points)
{
    struct mg_query *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    if (max_points == 0)
        max_points = MG_QUERY_DEFAULT_POINTS;
    /* two points make a rate; the ring's indices are 32 bits */
    if (max_points < 2)
        max_points = 2;
    if (max_points > MAX_POINTS_LIMIT)
        max_points = MAX_POINTS_LIMIT;
    q->max_points = max_points;
    q->gen = 1;
    q->pts = malloc(max_points * sizeof(*q->pts));
    q->m = mg_rematch_new();
    if (!q->pts || !q->m) {
        mg_query_free(q);
        return NULL;
    }
    return q;
}

static void qsel_free(struct qsel *s)
{
    if (!s)
        return;
    mg_selector_free(s->sel);
    free(s->text);
    free(s->w);
    free(s->mem);
    free(s);
}

static void qhist_free(struct qhist *h)
{
    if (!h)
        return;
    mg_labelset_unref(NULL, h->ls);
    free(h->p);
    free(h);
}

void mg_query_free(struct mg_query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->nsel; i++)
        qsel_free(q->sel[i]);
    free(q->sel);
    qsel_free(q->tmp);
    for (size_t i = 0; i < q->nh; i++)
        qhist_free(q->h[i]);
    free(q->h);
    free(q->slot);
    mg_rematch_free(q->m);
    mg_query_index_free(&q->ix);
    free(q->lab);
    free(q->srt);
    mg_rebuf_fini(&q->name);
    free(q->pts);
    mg_rebuf_fini(&q->keys);
    free(q->rows);
    free(q->bk);
    mg_pqe_free(q->pqe);
    free(q);
}

size_t mg_query_series_count(const struct mg_query *q)
{
    return q->nh;
}

size_t mg_query_range_count(const struct mg_query *q)
{
    return q->nranges;
}

/* ---- selectors ---- */

static struct qsel *qsel_new(const char *text, size_t n, uint64_t hash,
                             int *err, char *why, size_t whylen)
{
    struct qsel *s = calloc(1, sizeof(*s));
    if (!s || !(s->text = malloc(n ? n : 1))) {
        free(s);
        *err = -ENOMEM;
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    memcpy(s->text, text, n);
    s->len = n;
    s->hash = hash;
    s->sampled_ms = INT64_MIN;
    *err = mg_selector_parse(text, n, &s->sel, why, whylen);
    if (*err) {
        qsel_free(s);
        return NULL;
    }
    return s;
}

static int qsel_is(const struct qsel *s, const char *text, size_t n,
                   uint64_t hash)
{
    return s->hash == hash && s->len == n && memcmp(s->text, text, n) == 0;
}

struct qsel *mg_query_sel_get(struct mg_query *q, const char *text, size_t n,
                    int range, int *err, char *why, size_t whylen)
{
    uint64_t hash = mg_hash_bytes(text, n, 0x5e1ec7);
    for (size_t i = 0; i < q->nsel; i++)
        if (qsel_is(q->sel[i], text, n, hash)) {
            q->sel[i]->idle = 0;
            return q->sel[i];
        }
    if (q->nsel >= MG_QUERY_MAX_SELECTORS) {
        if (range) {
            *err = -ENOSPC;
            snprintf(why, whylen, "more than %d distinct selectors in use",
                     MG_QUERY_MAX_SELECTORS);
            return NULL;
        }
        if (q->tmp && qsel_is(q->tmp, text, n, hash))
            return q->tmp;
        qsel_free(q->tmp);
        q->tmp = qsel_new(text, n, hash, err, why, whylen);
        return q->tmp;
    }
    if (mg_grow((void **)&q->sel, &q->capsel, q->nsel + 1, sizeof(*q->sel))) {
        *err = -ENOMEM;
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    struct qsel *s = qsel_new(text, n, hash, err, why, whylen);
    if (s)
        q->sel[q->nsel++] = s;
    return s;
}

/* ---- walking the store's samples ---- */

enum { K_OWN = -1, K_ALL = -2, K_BUCKET = 1, K_SUM, K_COUNT };

struct walk {
    struct mg_query *q;
    const struct mg_selector *sel;
    qs_fn fn;
    void *ctx;
    char *why;
    size_t whylen;
    size_t n; /* the current output's labels, in q->lab */
    uint32_t oidx; /* the current output */
};

static int name_cmp(const struct mg_label *a, const struct mg_label *b)
{
    size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
    int c = memcmp(a->name, b->name, n);
    return c ? c : (a->nlen > b->nlen) - (a->nlen < b->nlen);
}

/* Offers one sample, named f's name + suffix, with the extra label (le or
 * quantile, NULL for none) merged into its sorted place. */
static int offer(struct walk *w, const struct mg_family *f, const char *suffix,
                 const char *extra, const char *xval, double v, double le)
{
    struct mg_query *q = w->q;
    q->name.len = 0;
    if (mg_rebuf_add(&q->name, f->name, f->nlen) ||
        (suffix && mg_rebuf_add(&q->name, suffix, strlen(suffix))))
        return -ENOMEM;
    const struct mg_label *labels = q->lab;
    size_t n = w->n;
    if (extra) {
        struct mg_label x = {extra, xval, (uint32_t)strlen(extra),
                             (uint32_t)strlen(xval)};
        size_t k = 0;
        int placed = 0;
        /* before a same-named label: the sample's own le is the one a
         * selector reads when a series carries an le of its own */
        for (size_t i = 0; i < n; i++) {
            if (!placed && name_cmp(&x, &q->lab[i]) <= 0) {
                q->srt[k++] = x;
                placed = 1;
            }
            q->srt[k++] = q->lab[i];
        }
        if (!placed)
            q->srt[k++] = x;
        labels = q->srt;
        n = k;
    }
    int rc = mg_selector_match(w->sel, q->m, q->name.p, q->name.len, labels,
                               n, w->why, w->whylen);
    if (rc < 0)
        return -EINVAL;
    if (rc == 0)
        return 0;
    struct qsample s = {q->name.p, q->name.len, labels, n, v, le, w->oidx};
    return w->fn(w->ctx, &s);
}

/* The samples of one output: which is K_ALL (every sample), K_OWN (those
 * named as the family: a counter's, gauge's or untyped's value, a
 * summary's quantiles) or one of K_BUCKET, K_SUM, K_COUNT. */
static int offer_output(struct walk *w, struct mg_store *st,
                        const struct mg_output *o, const struct mg_family *f,
                        int which)
{
    int all = which == K_ALL, own = all || which == K_OWN, rc;
    char buf[32];
    if (f->type != MG_HISTOGRAM && f->type != MG_SUMMARY)
        return own ? offer(w, f, NULL, NULL, NULL, mg_output_value(st, o), NAN)
                   : 0;
    const struct mg_hvals *qv;
    double qscale;
    const struct mg_hvals *h = mg_output_hvals(st, o, &qv, &qscale);
    if (f->type == MG_HISTOGRAM && (all || which == K_BUCKET))
        for (uint32_t i = 0; i < h->layout->n; i++) {
            double le = h->layout->bound[i];
            mg_format_double(buf, le);
            if ((rc = offer(w, f, "_bucket", "le", buf, h->v[i], le)))
                return rc;
        }
    if (f->type == MG_SUMMARY && own && qv)
        for (uint32_t i = 0; i < qv->layout->n; i++) {
            mg_format_double(buf, qv->layout->bound[i]);
            rc = offer(w, f, NULL, "quantile", buf,
                       mg_scale_apply(qscale, qv->v[i]), NAN);
            if (rc)
                return rc;
        }
    if ((all || which == K_SUM) &&
        (rc = offer(w, f, "_sum", NULL, NULL, h->sum, NAN)))
        return rc;
    if (all || which == K_COUNT)
        return offer(w, f, "_count", NULL, NULL, h->count, NAN);
    return 0;
}

/* One output series offered to a walk. */
static int visit(struct walk *w, struct mg_store *st, uint32_t i, int which,
                 size_t *visited)
{
    const struct mg_output *o = mg_store_output_at(st, i);
    if (!o)
        return 0;
    (*visited)++;
    if (mg_query_reserve_labels(w->q, (size_t)o->ls->n + 1))
        return -ENOMEM;
    w->n = mg_labelset_unpack(o->ls, w->q->lab);
    w->oidx = i;
    return offer_output(w, st, o, mg_store_output_family(st, o), which);
}

int mg_query_sel_each(struct mg_query *q, struct mg_store *st,
            const struct mg_selector *sel, qs_fn fn, void *ctx,
            size_t *visited, char *why, size_t whylen)
{
    static const struct {
        const char *s;
        size_t n;
        int which;
    } sfx[] = {{"_bucket", 7, K_BUCKET}, {"_sum", 4, K_SUM},
               {"_count", 6, K_COUNT}};
    size_t nlen;
    const char *name = mg_selector_name(sel, &nlen);
    const struct mg_family *f1 = NULL, *f2 = NULL;
    int which2 = K_ALL;
    *visited = 0;
    /* A named selector reads at most two families: the one of that name,
     * and the histogram or summary whose _bucket, _sum or _count it is. */
    if (name) {
        f1 = mg_store_family_find(st, name, nlen);
        for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
            if (nlen <= sfx[i].n ||
                memcmp(name + nlen - sfx[i].n, sfx[i].s, sfx[i].n) != 0)
                continue;
            const struct mg_family *b =
                mg_store_family_find(st, name, nlen - sfx[i].n);
            if (b && (b->type == MG_HISTOGRAM ||
                      (b->type == MG_SUMMARY && sfx[i].which != K_BUCKET))) {
                f2 = b;
                which2 = sfx[i].which;
            }
            break;
        }
        if (!f1 && !f2)
            return 0;
    }
    struct walk w = {q, sel, fn, ctx, why, whylen, 0, 0};
    if (!name) {
        size_t cap = mg_store_output_capacity(st);
        for (uint32_t i = 0; i < cap; i++) {
            int rc = visit(&w, st, i, K_ALL, visited);
            if (rc)
                return rc;
        }
        return 0;
    }
    /* A named selector walks its families only; with an equality matcher,
     * only the series carrying that value (a posting list per tick). */
    struct mg_label eq;
    int have_eq = mg_selector_equalities(sel, &eq, 1) >= 1 &&
                  !(eq.nlen == 2 && memcmp(eq.name, "le", 2) == 0) &&
                  !(eq.nlen == 8 && memcmp(eq.name, "quantile", 8) == 0);
    const struct mg_family *fams[2] = {f1, f2};
    const int whiches[2] = {K_OWN, which2};
    for (int k = 0; k < 2; k++) {
        if (!fams[k])
            continue;
        size_t n;
        int err = 0;
        const uint32_t *post = have_eq ? mg_query_index_lookup(&q->ix, st, fams[k], q->gen, &eq, &n, &err)
                                       : NULL;
        if (err)
            return -ENOMEM;
        if (have_eq) {
            for (size_t j = 0; j < n; j++) {
                int rc = visit(&w, st, post[j], whiches[k], visited);
                if (rc)
                    return rc;
            }
            continue;
        }
        for (uint32_t i = mg_store_family_head(fams[k]); i != MG_NIL;) {
            uint32_t next = mg_store_output_next(st, i);
            int rc = visit(&w, st, i, whiches[k], visited);
            if (rc)
                return rc;
            i = next;
        }
    }
    return 0;
}

/* ---- histories ---- */

static void slot_put(struct mg_query *q, size_t i)
{
    size_t mask = q->nslot - 1, k = q->h[i]->hash & mask;
    while (q->slot[k])
        k = (k + 1) & mask;
    q->slot[k] = (uint32_t)i + 1;
}

/* Sizes the table for q->nh + extra entries at most half full and refills
 * it. Shrinking is best effort. 0 or -ENOMEM (the table is unchanged). */
static int slots_rebuild(struct mg_query *q, size_t extra)
{
    size_t want = 16;
    while (want < 2 * (q->nh + extra))
        want *= 2;
    if (want > q->nslot || want < q->nslot / 4) {
        uint32_t *ns = calloc(want, sizeof(*ns));
        if (!ns && want > q->nslot)
            return -ENOMEM;
        if (ns) {
            free(q->slot);
            q->slot = ns;
            q->nslot = want;
        }
    }
    memset(q->slot, 0, q->nslot * sizeof(*q->slot));
    for (size_t i = 0; i < q->nh; i++)
        slot_put(q, i);
    return 0;
}

struct qhist *qhist_get(struct mg_query *q, const struct qsample *s,
                        int *err)
{
    uint64_t hash = mg_store_input_hash(s->name, s->nlen, s->labels, s->n);
    if (q->nslot) {
        size_t mask = q->nslot - 1;
        for (size_t k = hash & mask; q->slot[k]; k = (k + 1) & mask) {
            struct qhist *h = q->h[q->slot[k] - 1];
            if (h->hash == hash && h->nlen == s->nlen &&
                memcmp(h->name, s->name, s->nlen) == 0 &&
                mg_labelset_equal(h->ls, s->labels, s->n))
                return h;
        }
    }
    if (q->nh >= MG_QUERY_MAX_SERIES) {
        *err = -ENOSPC;
        return NULL;
    }
    *err = -ENOMEM;
    if (mg_grow((void **)&q->h, &q->caph, q->nh + 1, sizeof(*q->h)) ||
        (2 * (q->nh + 1) > q->nslot && slots_rebuild(q, 1)))
        return NULL;
    struct qhist *h = calloc(1, sizeof(*h) + s->nlen + 1);
    if (!h)
        return NULL;
    h->ls = mg_labelset_new(s->labels, s->n, hash);
    if (!h->ls) {
        free(h);
        return NULL;
    }
    h->hash = hash;
    h->le = s->le;
    h->gen = q->gen - 1;
    h->nlen = (uint32_t)s->nlen;
    memcpy(h->name, s->name, s->nlen);
    q->h[q->nh] = h;
    slot_put(q, q->nh++);
    return h;
}

/* Appends (t, v) unless the newest point is as recent; past max_points the
 * oldest point goes. 0 or -ENOMEM. */
int qhist_push(struct mg_query *q, struct qhist *h, int64_t t, double v)
{
    if (h->len && h->p[(h->head + h->len - 1) % h->cap].t >= t)
        return 0;
    if (h->len == h->cap) {
        if (h->cap >= q->max_points) {
            h->head = (h->head + 1) % h->cap;
            h->len--;
        } else {
            /* grow by doubling: most windows never need max_points */
            size_t nc = h->cap ? (size_t)h->cap * 2 : 4;
            if (nc > q->max_points)
                nc = q->max_points;
            struct mg_point *np = malloc(nc * sizeof(*np));
            if (!np)
                return -ENOMEM;
            for (uint32_t i = 0; i < h->len; i++)
                np[i] = h->p[(h->head + i) % h->cap];
            free(h->p);
            h->p = np;
            h->cap = (uint32_t)nc;
            h->head = 0;
        }
    }
    h->p[(h->head + h->len) % h->cap] = (struct mg_point){t, v};
    h->len++;
    return 0;
}

/* Drops the points no window asking for h can see any more. */
static void qhist_trim(struct qhist *h, int64_t now)
{
    while (h->len && h->p[h->head].t <= now - h->win) {
        h->head = (h->head + 1) % h->cap;
        h->len--;
    }
}

size_t qh_window(struct mg_query *q, const struct qhist *h, int64_t end,
                 int64_t range)
{
    size_t n = 0;
    for (uint32_t i = 0; i < h->len; i++) {
        const struct mg_point *p = &h->p[(h->head + i) % h->cap];
        if (p->t > end - range && p->t <= end)
            q->pts[n++] = *p;
    }
    return n;
}

/* ---- sampling ---- */

struct sampler {
    struct mg_query *q;
    struct qsel *s;
    int64_t win, now;
    int err;
};

static int sample_one(void *ctx, const struct qsample *smp)
{
    struct sampler *sp = ctx;
    struct mg_query *q = sp->q;
    struct qsel *s = sp->s;
    int err = 0;
    /* a series that cannot get a history is left out; the walk goes on */
    struct qhist *h = qhist_get(q, smp, &err);
    if (!h || mg_grow((void **)&s->mem, &s->capmem, s->nmem + 1, sizeof(*s->mem))) {
        sp->err = h ? -ENOMEM : err;
        return 0;
    }
    if (h->gen != q->gen) {
        h->gen = q->gen;
        h->win = sp->win;
    } else if (h->win < sp->win) {
        h->win = sp->win;
    }
    if (qhist_push(q, h, sp->now, smp->value))
        sp->err = -ENOMEM;
    s->mem[s->nmem++] = h;
    return 0;
}

static int64_t qsel_window(const struct qsel *s)
{
    int64_t w = 0;
    for (uint32_t i = 0; i < s->nw; i++)
        if (s->w[i].ms > w)
            w = s->w[i].ms;
    return w;
}

/* Samples every series s matches at now into its history; s->mem becomes
 * that set. Returns the walk's error (-EINVAL with why, -ENOMEM); *partial
 * gets -ENOMEM or -ENOSPC when some series were left out. */
static int qsel_sample(struct mg_query *q, struct mg_store *st, struct qsel *s,
                       int64_t now, int *partial, char *why, size_t whylen)
{
    struct sampler sp = {q, s, qsel_window(s), now, 0};
    size_t visited;
    s->nmem = 0;
    int rc = mg_query_sel_each(q, st, s->sel, sample_one, &sp, &visited, why, whylen);
    /* a walk a regex stopped is redone by the next call */
    s->sampled_ms = rc ? INT64_MIN : now;
    *partial = sp.err;
    return rc;
}

int mg_query_sel_range(struct mg_query *q, struct mg_store *st, struct qsel *s,
             int64_t win_ms, int64_t now, char *why, size_t whylen)
{
    struct qwin *w = NULL;
    for (uint32_t i = 0; i < s->nw && !w; i++)
        if (s->w[i].ms == win_ms)
            w = &s->w[i];
    if (!w) {
        if (q->nranges >= MG_QUERY_MAX_RANGES) {
            snprintf(why, whylen,
                     "more than %d (selector, window) pairs asked for",
                     MG_QUERY_MAX_RANGES);
            return -ENOSPC;
        }
        size_t capw = s->capw;
        if (mg_grow((void **)&s->w, &capw, (size_t)s->nw + 1, sizeof(*s->w))) {
            snprintf(why, whylen, "out of memory");
            return -ENOMEM;
        }
        s->capw = (uint32_t)capw;
        w = &s->w[s->nw++];
        w->ms = win_ms;
        q->nranges++;
        /* already sampled at now for a shorter window: keep more */
        if (s->sampled_ms == now)
            for (size_t k = 0; k < s->nmem; k++)
                if (s->mem[k]->win < win_ms)
                    s->mem[k]->win = win_ms;
    }
    w->idle = 0;
    if (s->sampled_ms == now)
        return 0;
    int partial;
    return qsel_sample(q, st, s, now, &partial, why, whylen);
}

/* How many unasked ticks a registration of win survives: its window's
 * worth, at least MIN_KEEP_TICKS, at most max_points. */
static uint32_t keep_ticks(const struct mg_query *q, int64_t win)
{
    int64_t k = q->interval > 0 ? (win + q->interval - 1) / q->interval : 0;
    if (k < MIN_KEEP_TICKS)
        k = MIN_KEEP_TICKS;
    if (k > (int64_t)q->max_points)
        k = (int64_t)q->max_points;
    return (uint32_t)k;
}

int mg_query_tick(struct mg_query *q, struct mg_store *st, int64_t now_ms)
{
    int err = 0;
    if (q->last_tick && now_ms > q->last_tick)
        q->interval = now_ms - q->last_tick;
    q->last_tick = now_ms;
    q->gen++;
    size_t j = 0;
    for (size_t i = 0; i < q->nsel; i++) {
        struct qsel *s = q->sel[i];
        uint32_t k = 0;
        s->idle++;
        for (uint32_t x = 0; x < s->nw; x++) {
            if (++s->w[x].idle > keep_ticks(q, s->w[x].ms)) {
                q->nranges--;
                continue;
            }
            s->w[k++] = s->w[x];
        }
        s->nw = k;
        if (!s->nw) {
            s->nmem = 0;
            s->sampled_ms = INT64_MIN;
            if (s->idle > SEL_IDLE_TICKS) {
                qsel_free(s);
                continue;
            }
        } else {
            char why[MG_WHY_LEN];
            int partial = 0;
            int rc = qsel_sample(q, st, s, now_ms, &partial, why, sizeof(why));
            if (!err)
                err = rc ? rc : partial;
        }
        q->sel[j++] = s;
    }
    q->nsel = j;
    /* the histories no live selector matched go; the rest keep what their
     * longest window can still see */
    j = 0;
    for (size_t i = 0; i < q->nh; i++) {
        struct qhist *h = q->h[i];
        if (h->gen != q->gen) {
            qhist_free(h);
            continue;
        }
        qhist_trim(h, now_ms);
        q->h[j++] = h;
    }
    q->nh = j;
    slots_rebuild(q, 0);
    return err;
}
