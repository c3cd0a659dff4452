/* mg_query_snap: the query histories' snapshot section: the selectors
 * rules asked ranges of (text and windows) and the sampled points of every
 * history, so that rate() and the like see the points from before a
 * restart and go on without a gap of one window. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mg_query_int.h"
#include "mg_rules_snap.h"

#define MAX_LABELS 255
#define MAX_STR 65535

void mg_query_snap_write(const struct mg_query *q, struct mg_snap_w *w)
{
    mg_snap_sec_begin(w, MG_SNAP_QUERY);
    mg_snap_u64(w, (uint64_t)q->interval);
    size_t nsel = 0;
    for (size_t i = 0; i < q->nsel; i++)
        nsel += q->sel[i]->nw > 0;
    mg_snap_v(w, nsel);
    for (size_t i = 0; i < q->nsel; i++) {
        const struct qsel *s = q->sel[i];
        if (!s->nw)
            continue;
        mg_snap_str(w, s->text, s->len);
        mg_snap_v(w, s->nw);
        for (uint32_t k = 0; k < s->nw; k++)
            mg_snap_u64(w, (uint64_t)s->w[k].ms);
    }
    mg_snap_v(w, q->nh);
    for (size_t i = 0; i < q->nh; i++) {
        const struct qhist *h = q->h[i];
        mg_snap_str(w, h->name, h->nlen);
        size_t pos = 0;
        struct mg_label l;
        mg_snap_v(w, h->ls->n);
        while (mg_labelset_next(h->ls, &pos, &l)) {
            mg_snap_str(w, l.name, l.nlen);
            mg_snap_str(w, l.value, l.vlen);
        }
        mg_snap_f64(w, h->le);
        mg_snap_u64(w, (uint64_t)h->win);
        mg_snap_v(w, h->len);
        for (uint32_t k = 0; k < h->len; k++) {
            const struct mg_point *p = &h->p[(h->head + k) % h->cap];
            mg_snap_u64(w, (uint64_t)p->t);
            mg_snap_f64(w, p->v);
        }
    }
    mg_snap_sec_end(w);
}

static int read_hist(struct mg_query *q, struct mg_snap_r *r, struct mg_label *lab)
{
    struct qsample smp = {0};
    smp.name = mg_snap_get_str(r, &smp.nlen, MAX_STR);
    uint64_t n = mg_snap_get_v(r);
    if (r->err || n > MAX_LABELS || !mg_metric_name_valid(smp.name, smp.nlen))
        return -EINVAL;
    for (uint64_t i = 0; i < n; i++) {
        size_t nl, vl;
        const char *name = mg_snap_get_str(r, &nl, MG_LABEL_NAME_MAX);
        const char *val = mg_snap_get_str(r, &vl, MAX_STR);
        if (r->err || !mg_label_name_valid(name, nl) || !mg_utf8_valid(val, vl))
            return -EINVAL;
        lab[i] = (struct mg_label){name, val, (uint32_t)nl, (uint32_t)vl};
    }
    mg_labels_sort(lab, (size_t)n);
    if (mg_labels_have_duplicate(lab, (size_t)n))
        return -EINVAL;
    smp.labels = lab;
    smp.n = (size_t)n;
    smp.le = mg_snap_get_f64(r);
    int64_t win = (int64_t)mg_snap_get_u64(r);
    uint64_t np = mg_snap_get_v(r);
    if (r->err || np > (uint64_t)(r->end - r->p) / 16)
        return -EINVAL;
    int err = 0;
    struct qhist *h = qhist_get(q, &smp, &err);
    for (uint64_t k = 0; k < np; k++) {
        int64_t t = (int64_t)mg_snap_get_u64(r);
        double v = mg_snap_get_f64(r);
        if (h && qhist_push(q, h, t, v))
            return -ENOMEM;
    }
    if (h && win > h->win)
        h->win = win;
    return r->err ? -EINVAL : 0; /* a history that would not fit is left out */
}

int mg_query_snap_read(struct mg_query *q, struct mg_store *st,
                       const struct mg_snap *s, int64_t now_ms, char *why,
                       size_t whylen)
{
    struct mg_snap_r r;
    if (mg_snap_section(s, MG_SNAP_QUERY, &r))
        return 0;
    int64_t interval = (int64_t)mg_snap_get_u64(&r);
    if (!q->interval && interval > 0)
        q->interval = interval;
    /* selectors first only to step over them: the histories go in before
     * the selectors sample, so that sampling appends to them */
    const unsigned char *sels = r.p;
    uint64_t nsel = mg_snap_get_v(&r);
    for (uint64_t i = 0; i < nsel && !r.err; i++) {
        size_t n;
        mg_snap_get_str(&r, &n, MAX_STR);
        uint64_t nw = mg_snap_get_v(&r);
        for (uint64_t k = 0; k < nw && !r.err; k++)
            mg_snap_get_u64(&r);
    }
    uint64_t nh = mg_snap_get_v(&r);
    struct mg_label *lab = malloc(MAX_LABELS * sizeof(*lab));
    if (!lab)
        return -ENOMEM;
    int rc = r.err ? -EINVAL : 0;
    for (uint64_t i = 0; i < nh && !rc; i++)
        rc = read_hist(q, &r, lab);
    free(lab);
    if (rc) {
        snprintf(why, whylen, "%s in the query section",
                 rc == -ENOMEM ? "out of memory" : "malformed record");
        return rc;
    }
    struct mg_snap_r sr = {sels, r.end, 0};
    nsel = mg_snap_get_v(&sr);
    for (uint64_t i = 0; i < nsel && !sr.err; i++) {
        size_t n;
        const char *text = mg_snap_get_str(&sr, &n, MAX_STR);
        uint64_t nw = mg_snap_get_v(&sr);
        int err = 0;
        char swhy[MG_WHY_LEN];
        struct qsel *sel = sr.err ? NULL : mg_query_sel_get(q, text, n, 1, &err, swhy, sizeof(swhy));
        for (uint64_t k = 0; k < nw && !sr.err; k++) {
            int64_t ms = (int64_t)mg_snap_get_u64(&sr);
            if (sel && ms > 0)
                mg_query_sel_range(q, st, sel, ms, now_ms, swhy, sizeof(swhy));
        }
    }
    return 0;
}
