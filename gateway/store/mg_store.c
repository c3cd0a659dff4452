/* mg_store: families, input and output pools, their hash indexes, values,
 * aggregation and expiry. */
#include "mg_store.h"

#include "mg_alloc.h"
#include "mg_bigalloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_family.h"
#include "mg_itab.h"
#include "mg_names.h"
#include "mg_store_int.h"
#include "mg_slab.h"

struct mg_store *mg_store_new(void)
{
    struct mg_store *st = mg_calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->freein = st->freeout = MG_NIL;
    st->scales[0] = 1.0;
    st->nscales = 1;
    st->epoch_ms = -1;
    mg_slab_init(&st->slab);
    mg_families_init(&st->infams, 0);
    mg_families_init(&st->outfams, 1);
    mg_sources_init(&st->sources);
    return st;
}

static void layout_unref(struct mg_store *st, struct mg_layout *l)
{
    if (!l || --l->refs)
        return;
    struct mg_layout **p = &st->layouts[l->hash & 255];
    while (*p != l)
        p = &(*p)->next;
    *p = l->next;
    free(l);
}

static void hvals_free(struct mg_store *st, struct mg_hvals *h)
{
    if (!h)
        return;
    layout_unref(st, h->layout);
    free(h);
}

static int is_hist(enum mg_type t)
{
    return t == MG_HISTOGRAM || t == MG_SUMMARY;
}

void mg_store_free(struct mg_store *st)
{
    if (!st)
        return;
    for (uint32_t i = 0; i < st->nin; i++) {
        struct mg_input *in = &st->in[i];
        if (!(in->flags & F_LIVE))
            continue;
        mg_labelset_unref(&st->slab, in->ls);
        if (is_hist(INFAM(st, in)->type))
            hvals_free(st, in->v.h);
    }
    for (uint32_t i = 0; i < st->nout; i++) {
        struct mg_output *o = &st->out[i];
        if (!(o->flags & F_LIVE))
            continue;
        mg_labelset_unref(&st->slab, o->ls);
        if (is_hist(OUTFAM(st, o)->type))
            hvals_free(st, o->v.h);
    }
    mg_families_fini(&st->infams);
    mg_families_fini(&st->outfams);
    mg_sources_fini(&st->sources);
    mg_slab_fini(&st->slab);
    mg_big_free(st->ts);
    mg_big_free(st->in);
    mg_big_free(st->out);
    mg_big_free(st->intab.s);
    mg_big_free(st->outtab.s);
    free(st->gfams);
    free(st->gorder);
    free(st->gstart);
    free(st);
}

/* ---- clocks: inputs keep deciseconds since the store's first write, so
 * 32 bits last 13 years ---- */

static uint32_t store_time(struct mg_store *st, int64_t now_ms)
{
    if (st->epoch_ms < 0)
        st->epoch_ms = now_ms;
    int64_t ds = (now_ms - st->epoch_ms) / 100;
    return ds < 0 ? 0 : (uint32_t)ds;
}

static uint32_t ttl_ds(int64_t ttl_ms)
{
    if (ttl_ms <= 0)
        return 0;
    int64_t ds = (ttl_ms + 99) / 100;
    return ds > UINT32_MAX ? UINT32_MAX : (uint32_t)ds;
}

static int input_expired(const struct mg_input *in, uint32_t now)
{
    return in->ttl && now - in->seen >= in->ttl && now >= in->seen;
}

double mg_scale_apply(double scale, double v)
{
    if (scale == 1)
        return v;
    double inv = 1.0 / scale;
    return scale < 1 && inv == nearbyint(inv) ? v / inv : v * scale;
}

/* ---- layouts and histogram values ---- */

static struct mg_layout *layout_get(struct mg_store *st, const double *b,
                                    size_t n, double scale)
{
    double tmp[n ? n : 1];
    for (size_t i = 0; i < n; i++)
        tmp[i] = mg_scale_apply(scale, b[i]);
    uint64_t h = mg_hash_bytes(tmp, n * sizeof(double), n);
    for (struct mg_layout *l = st->layouts[h & 255]; l; l = l->next) {
        if (l->hash == h && l->n == n &&
            memcmp(l->bound, tmp, n * sizeof(double)) == 0) {
            l->refs++;
            return l;
        }
    }
    struct mg_layout *l = mg_malloc(sizeof(*l) + n * sizeof(double));
    if (!l)
        return NULL;
    l->hash = h;
    l->refs = 1;
    l->n = (uint32_t)n;
    memcpy(l->bound, tmp, n * sizeof(double));
    l->next = st->layouts[h & 255];
    st->layouts[h & 255] = l;
    return l;
}

static struct mg_hvals *hvals_new(struct mg_store *st, const double *b,
                                  size_t n, double scale)
{
    struct mg_hvals *h = mg_calloc(1, sizeof(*h) + n * sizeof(double));
    if (!h)
        return NULL;
    h->layout = layout_get(st, b, n, scale);
    if (!h->layout) {
        free(h);
        return NULL;
    }
    return h;
}

static int layout_is(const struct mg_layout *l, const double *b, size_t n,
                     double scale)
{
    if (l->n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (l->bound[i] != mg_scale_apply(scale, b[i]))
            return 0;
    return 1;
}

/* ---- pools ---- */

/* A pool fills from the front: the next 2 MiB past the fill is faulted
 * in one call as the fill reaches it, where each page's first write would
 * have cost an exception (dear in a VM). At most that much is resident
 * ahead of use. */
#define FAULT_AHEAD ((size_t)2 << 20)

static void fault_ahead(void *base, size_t used, size_t cap, size_t *faulted)
{
    if (used < *faulted)
        return;
    size_t end = cap - used > FAULT_AHEAD ? used + FAULT_AHEAD : cap;
    mg_big_populate((char *)base + used, end - used);
    *faulted = end;
}

static uint32_t input_alloc(struct mg_store *st)
{
    if (st->freein != MG_NIL) {
        uint32_t i = st->freein;
        st->freein = st->in[i].next;
        return i;
    }
    if (st->nin == st->capin) {
        uint32_t cap = st->capin ? st->capin * 2 : 1024;
        struct mg_input *n = mg_big_realloc(st->in, (size_t)cap * sizeof(*n));
        if (!n)
            return MG_NIL;
        st->in = n;
        st->in_faulted = (size_t)st->capin * sizeof(*n); /* kept or copied */
        st->capin = cap;
    }
    fault_ahead(st->in, (size_t)st->nin * sizeof(*st->in),
                (size_t)st->capin * sizeof(*st->in), &st->in_faulted);
    return st->nin++;
}

static uint32_t output_alloc(struct mg_store *st)
{
    /* a free output's `first` links the free list */
    if (st->freeout != MG_NIL) {
        uint32_t i = st->freeout;
        st->freeout = st->out[i].first;
        return i;
    }
    if (st->nout == st->capout) {
        uint32_t cap = st->capout ? st->capout * 2 : 1024;
        struct mg_output *n = mg_big_realloc(st->out, (size_t)cap * sizeof(*n));
        if (!n)
            return MG_NIL;
        st->out = n;
        st->out_faulted = (size_t)st->capout * sizeof(*n); /* kept or copied */
        if (st->ts) {
            int64_t *nts = mg_big_realloc(st->ts, (size_t)cap * sizeof(int64_t));
            if (!nts)
                return MG_NIL;
            memset(nts + st->capout, 0, (size_t)(cap - st->capout) * sizeof(int64_t));
            st->ts = nts;
        }
        st->capout = cap;
    }
    fault_ahead(st->out, (size_t)st->nout * sizeof(*st->out),
                (size_t)st->capout * sizeof(*st->out), &st->out_faulted);
    return st->nout++;
}

/* ---- lookups ---- */

uint64_t mg_store_input_hash(const char *name, size_t nlen,
                             const struct mg_label *labels, size_t n)
{
    return mg_hash_mix(mg_names_hash(name, nlen), mg_labels_hash(labels, n));
}

struct mg_input *mg_store_input_find(struct mg_store *st,
                                     const struct mg_sample *s, uint64_t hash)
{
    if (!st->intab.s)
        return NULL;
    uint32_t tag = (uint32_t)hash, i = tag & st->intab.mask;
    for (;; i = (i + 1) & st->intab.mask) {
        const struct islot *sl = &st->intab.s[i];
        if (!sl->idx1)
            return NULL;
        if (sl->tag != tag)
            continue;
        struct mg_input *in = &st->in[sl->idx1 - 1];
        if (INFAM(st, in)->nlen == s->nlen &&
            mg_label_bytes_eq(INFAM(st, in)->name, s->name, s->nlen) &&
            mg_labelset_equal(in->ls, s->labels, s->nlabels))
            return in;
    }
}

uint32_t mg_store_output_find(struct mg_store *st, const char *name, size_t nlen,
                            const struct mg_label *labels, size_t n,
                            uint64_t hash)
{
    if (!st->outtab.s)
        return MG_NIL;
    uint32_t tag = (uint32_t)hash, i = tag & st->outtab.mask;
    for (;; i = (i + 1) & st->outtab.mask) {
        const struct islot *sl = &st->outtab.s[i];
        if (!sl->idx1)
            return MG_NIL;
        if (sl->tag != tag)
            continue;
        struct mg_output *o = &st->out[sl->idx1 - 1];
        if (OUTFAM(st, o)->nlen == nlen && mg_label_bytes_eq(OUTFAM(st, o)->name, name, nlen) &&
            mg_labelset_equal(o->ls, labels, n))
            return sl->idx1 - 1;
    }
}

/* ---- outputs ---- */

static void output_remove(struct mg_store *st, uint32_t idx)
{
    struct mg_output *o = &st->out[idx];
    st->generation++;
    if (st->on_output && !(o->flags & F_OWN))
        st->on_output(st->hook_ctx, OUTFAM(st, o), o->ls, NULL, 0, -1);
    struct mg_family *fam = OUTFAM(st, o);
    for (struct mg_store_cursor *c = st->cursors; c; c = c->link)
        if (c->next == idx)
            c->next = o->fnext;
    if (o->fprev != MG_NIL)
        st->out[o->fprev].fnext = o->fnext;
    else
        fam->head = o->fnext;
    if (o->fnext != MG_NIL)
        st->out[o->fnext].fprev = o->fprev;
    mg_itab_remove(&st->outtab, idx, o->ls->hash);
    if (is_hist(OUTFAM(st, o)->type))
        hvals_free(st, o->v.h);
    mg_labelset_unref(&st->slab, o->ls);
    struct mg_family *f = OUTFAM(st, o);
    f->nseries--;
    o->flags = 0;
    o->first = st->freeout;
    st->freeout = idx;
    st->liveout--;
    mg_families_release(&st->outfams, f);
}

/* Finds or creates the output of route r for an input of type t (its
 * histogram layout in b/nb, already scaled). ls_hint is the input's label
 * set, shared when equal to r's labels and their hashes agree; hint_v the
 * array it was made from (or NULL), whose strings r's labels may share;
 * known, r's hash when the caller has it (NULL: r's, or computed here). */
static uint32_t output_get(struct mg_store *st, const struct mg_route *r,
                           enum mg_type t, const double *b, size_t nb,
                           double scale, struct mg_labelset *ls_hint,
                           const struct mg_label *hint_v,
                           const uint64_t *known, const char *help,
                           size_t hlen, enum mg_reason *rs,
                           char why[MG_WHY_LEN])
{
    uint64_t h = known       ? *known
                 : r->hashed ? r->hash
                             : mg_store_input_hash(r->name, r->nlen, r->labels, r->nlabels);
    uint32_t idx = mg_store_output_find(st, r->name, r->nlen, r->labels, r->nlabels, h);
    if (idx != MG_NIL) {
        struct mg_output *o = &st->out[idx];
        if (o->flags & F_OWN) {
            snprintf(why, MG_WHY_LEN, "%.*s is one of the gateway's own series",
                     (int)r->nlen, r->name);
            *rs = MG_REASON_NAME_COLLISION;
            return MG_NIL;
        }
        if (OUTFAM(st, o)->type != t) {
            snprintf(why, MG_WHY_LEN, "%.*s is a %s, not a %s", (int)r->nlen,
                     r->name, mg_type_name(OUTFAM(st, o)->type), mg_type_name(t));
            *rs = MG_REASON_TYPE_CONFLICT;
            return MG_NIL;
        }
        if (t == MG_HISTOGRAM && !layout_is(o->v.h->layout, b, nb, scale)) {
            snprintf(why, MG_WHY_LEN,
                     "bucket bounds differ from the series %.*s aggregates",
                     (int)r->nlen, r->name);
            *rs = MG_REASON_INVALID_VALUE;
            return MG_NIL;
        }
        mg_family_set_help(OUTFAM(st, o), help, hlen);
        if (r->pin_help)
            mg_family_pin_help(OUTFAM(st, o), r->help, r->hlen);
        return idx;
    }
    struct mg_family *f =
        mg_families_get(&st->outfams, r->name, r->nlen, t, r->agg, rs, why);
    if (!f)
        return MG_NIL;
    *rs = MG_REASON_LIMIT;
    snprintf(why, MG_WHY_LEN, "out of memory");
    /* the input's set, when r's labels are its own (known) or equal to
     * them: the 32 bits of hash a set keeps cannot tell that alone. The
     * set's hash must be the output's too, the outputs' index finds and
     * removes by it: a renamed output has a set of its own. */
    struct mg_labelset *ls =
        ls_hint && ls_hint->hash == (uint32_t)h &&
                (known || mg_labelset_equal(ls_hint, r->labels, r->nlabels))
            ? mg_labelset_ref(ls_hint) : NULL;
    /* r's labels for the hook when ls is made from them */
    const struct mg_label *made_v = NULL;
    if (!ls) {
        ls = mg_labelset_new_like(&st->slab, r->labels, r->nlabels, h,
                                  ls_hint, hint_v);
        made_v = r->labels;
    }
    if (!ls)
        goto fail;
    struct mg_hvals *hv = NULL;
    if (t == MG_HISTOGRAM || t == MG_SUMMARY) {
        hv = t == MG_HISTOGRAM ? hvals_new(st, b, nb, scale)
                               : hvals_new(st, NULL, 0, 1.0);
        if (!hv)
            goto fail_ls;
    }
    idx = output_alloc(st);
    if (idx == MG_NIL)
        goto fail_hv;
    if (mg_itab_insert(&st->outtab, idx, h)) {
        /* a fresh slot holds stale bytes: it must not read as live */
        st->out[idx].flags = 0;
        st->out[idx].first = st->freeout;
        st->freeout = idx;
        goto fail_hv;
    }
    struct mg_output *o = &st->out[idx];
    memset(o, 0, sizeof(*o));
    o->ls = ls;
    o->fam = f->id;
    if (hv)
        o->v.h = hv;
    o->first = MG_NIL;
    o->flags = F_LIVE;
    o->fprev = MG_NIL;
    o->fnext = f->head;
    if (f->head != MG_NIL)
        st->out[f->head].fprev = idx;
    f->head = idx;
    f->nseries++;
    st->liveout++;
    st->generation++;
    if (st->on_output && !st->creating_own)
        st->on_output(st->hook_ctx, f, ls, made_v, made_v ? r->nlabels : 0, 1);
    mg_family_set_help(f, help, hlen);
    if (r->pin_help)
        mg_family_pin_help(f, r->help, r->hlen);
    *rs = MG_OK;
    return idx;
fail_hv:
    hvals_free(st, hv);
fail_ls:
    mg_labelset_unref(&st->slab, ls);
fail:
    mg_families_release(&st->outfams, f);
    return MG_NIL;
}

/* ---- values ---- */

/* Pushed timestamps are rare (honor_timestamps), so they live beside the
 * outputs, allocated when the first one arrives. */
static void set_ts(struct mg_store *st, uint32_t oidx, int64_t ts)
{
    if (!st->ts) {
        st->ts = mg_big_calloc(st->capout, sizeof(int64_t));
        if (!st->ts)
            return;
    }
    st->ts[oidx] = ts;
}

int64_t mg_store_output_ts(const struct mg_store *st, uint32_t idx)
{
    return st->ts && idx < st->capout ? st->ts[idx] : 0;
}

static enum mg_reason write_hist(struct mg_store *st, struct mg_input *in,
                                 const struct mg_sample *s, char *why)
{
    struct mg_hvals *h = in->v.h;
    struct mg_output *o = in->out != MG_NIL ? &st->out[in->out] : NULL;
    double scale = scale_of(st, in);
    if (!layout_is(h->layout, s->bound, s->nb, 1.0)) {
        /* A producer restarted with other buckets or quantiles: take the
         * new layout when nothing else shares the output. */
        if (o && s->type == MG_HISTOGRAM && o->ninputs > 1) {
            snprintf(why, MG_WHY_LEN,
                     "bucket bounds changed while other inputs feed %.*s",
                     (int)OUTFAM(st, o)->nlen, OUTFAM(st, o)->name);
            return MG_REASON_INVALID_VALUE;
        }
        struct mg_hvals *nh = hvals_new(st, s->bound, s->nb, 1.0);
        struct mg_hvals *no = NULL;
        if (nh && o && s->type == MG_HISTOGRAM) {
            no = hvals_new(st, s->bound, s->nb, scale);
            if (!no) {
                hvals_free(st, nh);
                nh = NULL;
            }
        }
        if (!nh) {
            snprintf(why, MG_WHY_LEN, "out of memory");
            return MG_REASON_LIMIT;
        }
        if (no) {
            no->sum = o->v.h->sum;
            no->count = o->v.h->count;
            hvals_free(st, o->v.h);
            o->v.h = no;
        }
        nh->sum = h->sum;
        nh->count = h->count;
        hvals_free(st, h);
        in->v.h = h = nh;
        memset(h->v, 0, h->layout->n * sizeof(double));
    }
    int add = s->op == MG_OP_ADD;
    int reset = !add && (s->count < h->count);
    for (size_t i = 0; !add && !reset && s->type == MG_HISTOGRAM && i < s->nb; i++)
        reset = s->bval[i] < h->v[i];
    double dsum = add || reset ? s->sum : s->sum - h->sum;
    double dcount = add || reset ? s->count : s->count - h->count;
    if (o) {
        o->v.h->sum += scaled(st, in->scale, dsum);
        o->v.h->count += dcount;
    }
    h->sum = add ? h->sum + s->sum : s->sum;
    h->count = add ? h->count + s->count : s->count;
    for (size_t i = 0; i < s->nb; i++) {
        if (s->type == MG_HISTOGRAM) {
            double d = add || reset ? s->bval[i] : s->bval[i] - h->v[i];
            if (o)
                o->v.h->v[i] += d;
            h->v[i] = add ? h->v[i] + s->bval[i] : s->bval[i];
        } else {
            h->v[i] = s->bval[i];
        }
    }
    return MG_OK;
}

static enum mg_reason write_value(struct mg_store *st, struct mg_input *in,
                                  const struct mg_sample *s, char *why)
{
    if (is_hist(s->type))
        return write_hist(st, in, s, why);
    struct mg_output *o = in->out != MG_NIL ? &st->out[in->out] : NULL;
    double v = s->value;
    if (s->type == MG_COUNTER) {
        double delta;
        if (s->op == MG_OP_ADD) {
            if (!(v >= 0)) {
                snprintf(why, MG_WHY_LEN, "counter %.*s: add of %g",
                         (int)s->nlen, s->name, v);
                return MG_REASON_INVALID_VALUE;
            }
            delta = v;
            in->v.last += v;
        } else {
            /* A decrease is a reset: the new value is all new counts. */
            delta = v < in->v.last ? v : v - in->v.last;
            in->v.last = v;
        }
        if (o)
            o->v.acc += scaled(st, in->scale, delta);
        return MG_OK;
    }
    in->v.last = s->op == MG_OP_ADD ? in->v.last + v : v;
    if (o && OUTFAM(st, o)->agg == MG_AGG_LAST)
        o->v.acc = scaled(st, in->scale, in->v.last);
    return MG_OK;
}

enum mg_reason mg_store_write(struct mg_store *st, struct mg_input *in,
                              const struct mg_sample *s, int64_t now_ms,
                              char why[MG_WHY_LEN])
{
    if (INFAM(st, in)->type != s->type) {
        snprintf(why, MG_WHY_LEN, "%.*s was pushed as a %s, now as a %s",
                 (int)s->nlen, s->name, mg_type_name(INFAM(st, in)->type),
                 mg_type_name(s->type));
        return MG_REASON_TYPE_CONFLICT;
    }
    in->seen = store_time(st, now_ms);
    if (!(in->flags & F_TTL_FIXED))
        in->ttl = ttl_ds(s->ttl_ms);
    if (in->out != MG_NIL && s->ts)
        set_ts(st, in->out, s->ts);
    return write_value(st, in, s, why);
}

static int scale_index(struct mg_store *st, double scale)
{
    for (uint32_t i = 0; i < st->nscales; i++)
        if (st->scales[i] == scale)
            return (int)i;
    if (st->nscales > MAX_SCALES)
        return -1;
    st->scales[st->nscales] = scale;
    double inv = 1.0 / scale;
    st->divisors[st->nscales] = scale < 1 && inv == nearbyint(inv) ? inv : 0;
    return (int)st->nscales++;
}


/* Links input idx into output oidx's input list. */
static void attach(struct mg_store *st, uint32_t idx, uint32_t oidx)
{
    struct mg_output *o = &st->out[oidx];
    st->in[idx].out = oidx;
    st->in[idx].next = o->first;
    o->first = idx;
    o->ninputs++;
}

static void recompute_last(struct mg_store *st, struct mg_output *o)
{
    uint32_t best = MG_NIL;
    for (uint32_t i = o->first; i != MG_NIL; i = st->in[i].next)
        if (best == MG_NIL || st->in[i].seen > st->in[best].seen)
            best = i;
    if (best != MG_NIL)
        o->v.acc = scaled(st, st->in[best].scale, st->in[best].v.last);
}

/* Unlinks input idx from its output; removes the output when it was the
 * last input. */
static void detach(struct mg_store *st, uint32_t idx)
{
    struct mg_input *in = &st->in[idx];
    if (in->out == MG_NIL)
        return;
    struct mg_output *o = &st->out[in->out];
    uint32_t *p = &o->first;
    while (*p != idx)
        p = &st->in[*p].next;
    *p = in->next;
    uint32_t oidx = in->out;
    in->out = MG_NIL;
    if (--o->ninputs == 0)
        output_remove(st, oidx);
    else if (OUTFAM(st, o)->agg == MG_AGG_LAST && !is_hist(OUTFAM(st, o)->type))
        recompute_last(st, o);
}

/* The route's output for input idx: attach, and give the output the
 * input's current raw value as its first contribution. known: r's hash,
 * or NULL; in_v: the labels the input's set was made from, or NULL. */
static enum mg_reason route_input(struct mg_store *st, uint32_t idx,
                                  const struct mg_route *r,
                                  const uint64_t *known,
                                  const struct mg_label *in_v,
                                  const char *help, size_t hlen,
                                  char why[MG_WHY_LEN])
{
    struct mg_input *in = &st->in[idx];
    in->drop = (uint8_t)r->drop;
    in->out = MG_NIL;
    if (r->drop != MG_OK)
        return MG_OK;
    int si = scale_index(st, r->scale);
    if (si < 0) {
        snprintf(why, MG_WHY_LEN, "more than %d distinct scale factors",
                 MAX_SCALES);
        return MG_REASON_LIMIT;
    }
    in->scale = (uint8_t)si;
    enum mg_type t = INFAM(st, in)->type;
    const double *b = NULL;
    size_t nb = 0;
    if (t == MG_HISTOGRAM) {
        b = in->v.h->layout->bound;
        nb = in->v.h->layout->n;
    }
    enum mg_reason rs;
    uint32_t oidx = output_get(st, r, t, b, nb, r->scale, in->ls, in_v,
                               known, help, hlen, &rs, why);
    if (oidx == MG_NIL)
        return rs;
    attach(st, idx, oidx);
    struct mg_output *o = &st->out[oidx];
    if (t == MG_COUNTER) {
        o->v.acc += scaled(st, in->scale, in->v.last);
    } else if (is_hist(t)) {
        o->v.h->sum += scaled(st, in->scale, in->v.h->sum);
        o->v.h->count += in->v.h->count;
        for (size_t i = 0; t == MG_HISTOGRAM && i < nb; i++)
            o->v.h->v[i] += in->v.h->v[i];
    } else if (OUTFAM(st, o)->agg == MG_AGG_LAST) {
        o->v.acc = scaled(st, in->scale, in->v.last);
    }
    return MG_OK;
}

static void input_remove(struct mg_store *st, uint32_t idx)
{
    struct mg_input *in = &st->in[idx];
    if (in->owner && st->on_owner_gone)
        st->on_owner_gone(st->owner_ctx, in->owner);
    in->owner = 0;
    detach(st, idx);
    mg_itab_remove(&st->intab, idx, in->ls->hash);
    if (is_hist(INFAM(st, in)->type))
        hvals_free(st, in->v.h);
    mg_sources_add(&st->sources, in->ls, -1);
    mg_labelset_unref(&st->slab, in->ls);
    struct mg_family *f = INFAM(st, in);
    f->nseries--;
    mg_families_release(&st->infams, f);
    in->flags = 0;
    in->next = st->freein;
    st->freein = idx;
    st->livein--;
}

enum mg_reason mg_store_input_add(struct mg_store *st,
                                  const struct mg_sample *s, uint64_t hash,
                                  const struct mg_route *r, int64_t now_ms,
                                  char why[MG_WHY_LEN])
{
    enum mg_reason fr;
    struct mg_family *f = mg_families_get(&st->infams, s->name, s->nlen,
                                          s->type, MG_AGG_SUM, &fr, why);
    if (!f)
        return fr;
    /* mark which labels the source gave, so a reload can tell them apart */
    uint64_t srcmask = 0;
    for (size_t i = 0; s->nsource && i < s->nlabels && i < 64; i++)
        for (size_t k = 0; k < s->nsource; k++)
            if (s->labels[i].value == s->source[k].value &&
                s->labels[i].name == s->source[k].name)
                srcmask |= (uint64_t)1 << i;
    struct mg_labelset *ls = mg_labelset_new_src(&st->slab, s->labels, s->nlabels, hash, srcmask);
    struct mg_hvals *hv = NULL;
    if (!ls)
        goto fail;
    if (is_hist(s->type) && !(hv = hvals_new(st, s->bound, s->nb, 1.0)))
        goto fail;
    uint32_t idx = input_alloc(st);
    if (idx == MG_NIL)
        goto fail;
    if (mg_itab_insert(&st->intab, idx, hash)) {
        /* a fresh slot holds stale bytes: it must not read as live */
        st->in[idx].flags = 0;
        st->in[idx].next = st->freein;
        st->freein = idx;
        goto fail;
    }
    struct mg_input *in = &st->in[idx];
    memset(in, 0, sizeof(*in));
    in->ls = ls;
    in->fam = f->id;
    if (hv)
        in->v.h = hv;
    in->flags = F_LIVE;
    in->out = MG_NIL;
    in->next = MG_NIL;
    f->nseries++;
    st->livein++;
    /* a new input only: a known input's update never comes here */
    mg_sources_add_marked(&st->sources, s->labels, s->nlabels, srcmask, 1);
    in->seen = store_time(st, now_ms);
    if (r->ttl_ms >= 0) {
        in->flags |= F_TTL_FIXED;
        in->ttl = ttl_ds(r->ttl_ms);
    } else {
        in->ttl = ttl_ds(s->ttl_ms);
    }
    /* Write the raw value first, then route: the output takes the input's
     * whole value as its first contribution. */
    enum mg_reason rs = write_value(st, in, s, why);
    /* a route that kept the sample's name and labels (no scripts) has its
     * hash: the same strings, not copies, so no need to compare them */
    int same = r->name == s->name && r->nlen == s->nlen &&
               r->labels == s->labels && r->nlabels == s->nlabels;
    if (rs == MG_OK)
        rs = route_input(st, idx, r, same ? &hash : NULL, s->labels,
                         r->help && !r->pin_help ? r->help : s->help,
                         r->help && !r->pin_help ? r->hlen : s->hlen, why);
    if (rs != MG_OK) {
        input_remove(st, idx);
        return rs;
    }
    if (in->out != MG_NIL && s->ts)
        set_ts(st, in->out, s->ts);
    return MG_OK;
fail:
    snprintf(why, MG_WHY_LEN, "out of memory");
    hvals_free(st, hv);
    mg_labelset_unref(&st->slab, ls);
    mg_families_release(&st->infams, f);
    return MG_REASON_LIMIT;
}

enum mg_reason mg_store_input_reroute(struct mg_store *st, uint32_t idx,
                                      const struct mg_route *r,
                                      char why[MG_WHY_LEN])
{
    struct mg_input *in = &st->in[idx];
    if (in->out != MG_NIL) {
        struct mg_output *o = &st->out[in->out];
        uint64_t h = mg_store_input_hash(r->name, r->nlen, r->labels,
                                         r->nlabels);
        if (r->drop == MG_OK && o->ls->hash == (uint32_t)h &&
            st->scales[in->scale] == r->scale &&
            OUTFAM(st, o)->nlen == r->nlen &&
            mg_label_bytes_eq(OUTFAM(st, o)->name, r->name, r->nlen) &&
            mg_labelset_equal(o->ls, r->labels, r->nlabels)) {
            if (r->pin_help) /* a reload: the scripts' HELP holds anyway */
                mg_family_pin_help(OUTFAM(st, o), r->help, r->hlen);
            return MG_OK; /* same output: nothing moves */
        }
    }
    detach(st, idx);
    if (r->ttl_ms >= 0) {
        in->flags |= F_TTL_FIXED;
        in->ttl = ttl_ds(r->ttl_ms);
    } else {
        in->flags &= (uint8_t)~F_TTL_FIXED;
    }
    return route_input(st, idx, r, NULL, NULL, r->pin_help ? NULL : r->help,
                       r->help && !r->pin_help ? r->hlen : 0, why);
}

void mg_store_help_unpin(struct mg_store *st)
{
    for (uint32_t id = 0; id < st->outfams.n; id++) {
        struct mg_family *f = mg_families_at(&st->outfams, id);
        if (f)
            mg_family_unpin_help(f);
    }
}

uint32_t mg_store_input_index(const struct mg_store *st,
                              const struct mg_input *in)
{
    return (uint32_t)(in - st->in);
}

void mg_store_input_remove(struct mg_store *st, uint32_t idx)
{
    if (idx < st->nin && (st->in[idx].flags & F_LIVE))
        input_remove(st, idx);
}

const struct mg_family *mg_store_input_family_find(struct mg_store *st,
                                                   const char *name,
                                                   size_t nlen)
{
    return mg_families_find(&st->infams, name, nlen);
}

size_t mg_store_sweep(struct mg_store *st, int64_t now_ms)
{
    uint32_t now = store_time(st, now_ms);
    size_t n = 0;
    for (uint32_t i = 0; i < st->nin; i++) {
        struct mg_input *in = &st->in[i];
        if ((in->flags & F_LIVE) && input_expired(in, now)) {
            input_remove(st, i);
            n++;
        }
    }
    return n;
}

/* ---- the gateway's own series ---- */

static struct mg_output *own_get(struct mg_store *st, const char *name,
                                 enum mg_type t, const char *help,
                                 const struct mg_label *labels, size_t n,
                                 const double *b, size_t nb)
{
    size_t nlen = strlen(name);
    uint64_t h = mg_store_input_hash(name, nlen, labels, n);
    uint32_t idx = mg_store_output_find(st, name, nlen, labels, n, h);
    if (idx != MG_NIL)
        return OUTFAM(st, &st->out[idx])->type == t ? &st->out[idx] : NULL;
    struct mg_route r = {.name = name, .nlen = (uint32_t)nlen,
                         .labels = labels, .nlabels = n, .scale = 1};
    enum mg_reason rs;
    char why[MG_WHY_LEN];
    st->creating_own = 1; /* our own series are nobody's cardinality */
    idx = output_get(st, &r, t, b, nb, 1.0, NULL, NULL, NULL, help, strlen(help),
                     &rs, why);
    st->creating_own = 0;
    if (idx == MG_NIL)
        return NULL;
    struct mg_output *o = &st->out[idx];
    o->flags |= F_OWN;
    OUTFAM(st, o)->own = 1;
    return o;
}

int mg_store_own_set(struct mg_store *st, const char *name, enum mg_type t,
                     const char *help, const struct mg_label *labels,
                     size_t n, double value)
{
    struct mg_output *o = own_get(st, name, t, help, labels, n, NULL, 0);
    if (!o)
        return -ENOMEM;
    o->v.acc = value;
    return 0;
}

int mg_store_own_set_at(struct mg_store *st, const char *name, enum mg_type t,
                        const char *help, const struct mg_label *labels,
                        size_t n, double value, uint32_t *idx)
{
    struct mg_output *o = own_get(st, name, t, help, labels, n, NULL, 0);
    if (!o)
        return -ENOMEM;
    o->v.acc = value;
    *idx = (uint32_t)(o - st->out);
    return 0;
}

uint32_t mg_store_source_count(const struct mg_store *st,
                               const struct mg_label *source, size_t n)
{
    /* as the input keeps them: an empty value is no label */
    struct mg_label v[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 64; i++)
        if (source[i].vlen)
            v[k++] = source[i];
    return mg_sources_count(&st->sources, v, k);
}

uint32_t mg_store_source_max(const struct mg_store *st)
{
    return mg_sources_max(&st->sources);
}

int mg_store_own_remove(struct mg_store *st, const char *name, size_t nlen,
                        const struct mg_label *labels, size_t n)
{
    uint64_t h = mg_store_input_hash(name, nlen, labels, n);
    uint32_t idx = mg_store_output_find(st, name, nlen, labels, n, h);
    if (idx == MG_NIL || !(st->out[idx].flags & F_OWN))
        return -ENOENT;
    output_remove(st, idx);
    return 0;
}

int mg_store_own_hist(struct mg_store *st, const char *name,
                      const char *help, const double *bounds,
                      const double *cumulative, size_t nb, double sum,
                      double count)
{
    struct mg_output *o =
        own_get(st, name, MG_HISTOGRAM, help, NULL, 0, bounds, nb);
    if (!o || o->v.h->layout->n != nb)
        return -ENOMEM;
    memcpy(o->v.h->v, cumulative, nb * sizeof(double));
    o->v.h->sum = sum;
    o->v.h->count = count;
    return 0;
}

