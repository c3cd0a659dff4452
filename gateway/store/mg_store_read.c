/* mg_store_read: what exposition, queries and reports read of the store:
 * families, walks, grouping, values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mg_store_int.h"
#include "mg_vec.h"

/* ---- families ---- */

struct mg_family *mg_store_family_find(struct mg_store *st, const char *name,
                                       size_t nlen)
{
    return mg_families_find(&st->outfams, name, nlen);
}

struct mg_family *mg_store_output_family(struct mg_store *st,
                                         const struct mg_output *o)
{
    return OUTFAM(st, o);
}

const struct mg_family *mg_store_input_family(struct mg_store *st,
                                              const struct mg_input *in)
{
    return INFAM(st, in);
}

void mg_family_set_agg(struct mg_family *f, enum mg_agg a)
{
    f->agg = a;
}

void mg_store_set_owner_hook(struct mg_store *st, mg_owner_hook fn, void *ctx)
{
    st->on_owner_gone = fn;
    st->owner_ctx = ctx;
}

void mg_store_set_output_hook(struct mg_store *st, mg_output_hook fn,
                              void *ctx)
{
    st->on_output = fn;
    st->hook_ctx = ctx;
}

int mg_store_output_exists(struct mg_store *st, const char *name, size_t nlen,
                           const struct mg_label *labels, size_t n)
{
    uint64_t h = mg_store_input_hash(name, nlen, labels, n);
    return mg_store_output_find(st, name, nlen, labels, n, h) != MG_NIL;
}

size_t mg_store_output_capacity(const struct mg_store *st)
{
    return st->nout;
}

uint64_t mg_store_generation(const struct mg_store *st)
{
    return st->generation;
}

uint32_t mg_store_family_head(const struct mg_family *f)
{
    return f->head;
}

uint32_t mg_store_output_next(const struct mg_store *st, uint32_t idx)
{
    return st->out[idx].fnext;
}

/* ---- walking ---- */

size_t mg_store_input_count(const struct mg_store *st)
{
    return st->livein;
}

size_t mg_store_output_count(const struct mg_store *st)
{
    return st->liveout;
}

size_t mg_store_input_capacity(const struct mg_store *st)
{
    return st->nin;
}

struct mg_input *mg_store_input_at(struct mg_store *st, uint32_t idx)
{
    return idx < st->nin && (st->in[idx].flags & F_LIVE) ? &st->in[idx] : NULL;
}

struct mg_output *mg_store_output_at(struct mg_store *st, uint32_t idx)
{
    return idx < st->nout && (st->out[idx].flags & F_LIVE) ? &st->out[idx]
                                                            : NULL;
}

int64_t mg_store_output_seen(const struct mg_store *st, uint32_t idx)
{
    if (idx >= st->nout || !(st->out[idx].flags & F_LIVE))
        return INT64_MIN;
    const struct mg_output *o = &st->out[idx];
    if (o->first == MG_NIL)
        return INT64_MAX;
    uint32_t seen = 0;
    for (uint32_t i = o->first; i != MG_NIL; i = st->in[i].next)
        if (st->in[i].seen > seen)
            seen = st->in[i].seen;
    return st->epoch_ms + (int64_t)seen * 100;
}


static int fam_cmp(const void *a, const void *b)
{
    const struct mg_family *x = *(struct mg_family *const *)a;
    const struct mg_family *y = *(struct mg_family *const *)b;
    size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

void mg_store_cursor_open(struct mg_store *st, struct mg_store_cursor *c,
                          uint32_t next)
{
    c->next = next;
    c->link = st->cursors;
    st->cursors = c;
}

void mg_store_cursor_close(struct mg_store *st, struct mg_store_cursor *c)
{
    for (struct mg_store_cursor **p = &st->cursors; *p; p = &(*p)->link)
        if (*p == c) {
            *p = c->link;
            return;
        }
}

int mg_store_families_sorted(struct mg_store *st, struct mg_family ***fams,
                             size_t *nfam)
{
    if (mg_grow((void **)&st->gfams, &st->gfams_cap, st->outfams.n + 1,
                sizeof(void *)))
        return -ENOMEM;
    size_t k = 0;
    for (uint32_t i = 0; i < st->outfams.n; i++)
        if (st->outfams.v[i] && st->outfams.v[i]->nseries)
            st->gfams[k++] = st->outfams.v[i];
    qsort(st->gfams, k, sizeof(*st->gfams), fam_cmp);
    *fams = st->gfams;
    *nfam = k;
    return 0;
}

int mg_store_group(struct mg_store *st, struct mg_family ***fams,
                   size_t *nfam, uint32_t **order, uint32_t **start)
{
    size_t nf = st->outfams.n, k;
    if (mg_grow((void **)&st->gorder, &st->gorder_cap, st->nout + 2 * (nf + 1) + 1,
                sizeof(uint32_t)) ||
        mg_store_families_sorted(st, fams, &k))
        return -ENOMEM;
    /* rank by family id, then a counting sort of the outputs */
    uint32_t *rank = st->gorder + st->nout;
    uint32_t *cnt = rank + nf + 1;
    for (size_t i = 0; i < nf; i++)
        rank[i] = MG_NIL;
    for (size_t i = 0; i < k; i++) {
        rank[st->gfams[i]->id] = (uint32_t)i;
        cnt[i] = 0;
    }
    cnt[k] = 0;
    for (uint32_t i = 0; i < st->nout; i++)
        if (st->out[i].flags & F_LIVE)
            cnt[rank[st->out[i].fam] + 1]++;
    for (size_t i = 1; i <= k; i++)
        cnt[i] += cnt[i - 1];
    /* cnt[i] is now family i's start; fill, then restore the starts */
    free(st->gstart);
    st->gstart = malloc((k + 1) * sizeof(uint32_t));
    if (!st->gstart)
        return -ENOMEM;
    memcpy(st->gstart, cnt, (k + 1) * sizeof(uint32_t));
    for (uint32_t i = 0; i < st->nout; i++)
        if (st->out[i].flags & F_LIVE)
            st->gorder[cnt[rank[st->out[i].fam]]++] = i;
    *nfam = k;
    *order = st->gorder;
    *start = st->gstart;
    return 0;
}

double mg_output_value(struct mg_store *st, const struct mg_output *o)
{
    enum mg_type t = OUTFAM(st, o)->type;
    if ((o->flags & F_OWN) || t == MG_COUNTER)
        return o->v.acc;
    if (o->ninputs == 1) {
        const struct mg_input *in = &st->in[o->first];
        return scaled(st, in->scale, in->v.last);
    }
    enum mg_agg a = OUTFAM(st, o)->agg;
    if (a == MG_AGG_LAST)
        return o->v.acc;
    double r = 0;
    int first = 1;
    for (uint32_t i = o->first; i != MG_NIL; i = st->in[i].next) {
        double v = scaled(st, st->in[i].scale, st->in[i].v.last);
        if (a == MG_AGG_SUM || a == MG_AGG_AVG)
            r += v;
        else if (first || (a == MG_AGG_MAX ? v > r : v < r))
            r = v;
        first = 0;
    }
    if (a == MG_AGG_AVG && o->ninputs)
        r /= o->ninputs;
    return r;
}

const struct mg_hvals *mg_output_hvals(struct mg_store *st,
                                       const struct mg_output *o,
                                       const struct mg_hvals **quantiles,
                                       double *scale)
{
    *quantiles = NULL;
    *scale = 1.0;
    if (OUTFAM(st, o)->type == MG_SUMMARY && o->ninputs == 1) {
        const struct mg_input *in = &st->in[o->first];
        *quantiles = in->v.h;
        *scale = scale_of(st, in);
    }
    return o->v.h;
}

void mg_store_prefetch(const struct mg_store *st, uint64_t hash)
{
    if (st->intab.s)
        __builtin_prefetch(&st->intab.s[(uint32_t)hash & st->intab.mask]);
}

void mg_store_prefetch_output(const struct mg_store *st, struct mg_route *r)
{
    if (r->drop != MG_OK)
        return;
    r->hash = mg_store_input_hash(r->name, r->nlen, r->labels, r->nlabels);
    r->hashed = 1;
    if (st->outtab.s)
        __builtin_prefetch(&st->outtab.s[(uint32_t)r->hash & st->outtab.mask]);
}

void mg_store_prefetch_input(const struct mg_store *st, uint64_t hash)
{
    if (!st->intab.s)
        return;
    const struct islot *sl = &st->intab.s[(uint32_t)hash & st->intab.mask];
    if (sl->idx1 && sl->tag == (uint32_t)hash) {
        const struct mg_input *in = &st->in[sl->idx1 - 1];
        __builtin_prefetch(in);
        __builtin_prefetch(in->ls);
    }
}
