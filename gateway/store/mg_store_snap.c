/* mg_store_snap: the store's snapshot sections. Writes every input with
 * its raw value, route, clock and TTL, and every output (the gateway's own
 * left out) with its accumulated value; reads them back into an empty
 * store, the inputs on the routes they had, so that a reload afterwards
 * moves them exactly as it would have moved them had the gateway stayed
 * up. Outputs are written because a counter's accumulated value holds
 * contributions the inputs no longer carry (resets, inputs gone). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mg_bigalloc.h"
#include "mg_store_int.h"
#include "mg_store_snap.h"

#define MAX_LABELS 255
#define MAX_BUCKETS 4096
#define MAX_STR 65535

static int is_hist(enum mg_type t)
{
    return t == MG_HISTOGRAM || t == MG_SUMMARY;
}

static void put_labels(struct mg_snap_w *w, const struct mg_labelset *ls)
{
    size_t pos = 0;
    struct mg_label l;
    mg_snap_v(w, ls->n);
    while (mg_labelset_next(ls, &pos, &l)) {
        mg_snap_str(w, l.name, l.nlen);
        mg_snap_str(w, l.value, l.vlen);
    }
}

static void put_hvals(struct mg_snap_w *w, const struct mg_hvals *h)
{
    uint32_t n = h->layout->n;
    mg_snap_v(w, n);
    for (uint32_t i = 0; i < n; i++)
        mg_snap_f64(w, h->layout->bound[i]);
    mg_snap_f64(w, h->sum);
    mg_snap_f64(w, h->count);
    for (uint32_t i = 0; i < n; i++)
        mg_snap_f64(w, h->v[i]);
}

/* Numbers families in the order first met; map[id] = number + 1. */
static uint32_t fam_number(uint32_t *map, uint32_t id, uint32_t *nfam)
{
    if (!map[id])
        map[id] = ++*nfam;
    return map[id] - 1;
}

static void write_outputs(struct mg_store *st, struct mg_snap_w *w,
                          uint32_t *outmap, uint32_t *fmap)
{
    uint32_t nfam = 0, nout = 0;
    for (uint32_t i = 0; i < st->nout; i++) {
        const struct mg_output *o = &st->out[i];
        outmap[i] = MG_NIL;
        if ((o->flags & F_LIVE) && !(o->flags & F_OWN)) {
            fam_number(fmap, o->fam, &nfam);
            outmap[i] = nout++;
        }
    }
    mg_snap_sec_begin(w, MG_SNAP_OUTPUTS);
    mg_snap_v(w, nfam);
    for (uint32_t id = 0; id < st->outfams.n; id++) {
        if (!fmap[id])
            continue;
        const struct mg_family *f = mg_families_at(&st->outfams, id);
        mg_snap_v(w, fmap[id] - 1);
        mg_snap_str(w, f->name, f->nlen);
        mg_snap_u8(w, (uint8_t)f->type);
        mg_snap_u8(w, (uint8_t)f->agg);
        /* the pushed HELP: the scripts pin theirs again at load */
        const char *help = mg_family_pushed_help(f);
        mg_snap_u8(w, help != NULL);
        if (help)
            mg_snap_str(w, help, strlen(help));
    }
    mg_snap_v(w, nout);
    for (uint32_t i = 0; i < st->nout; i++) {
        const struct mg_output *o = &st->out[i];
        if (outmap[i] == MG_NIL)
            continue;
        mg_snap_v(w, fmap[o->fam] - 1);
        /* an output with its one input's label set (no pipeline changed
         * them) takes its labels from that input: a third of the bytes */
        int shared = o->ninputs == 1 && o->first != MG_NIL && st->in[o->first].ls == o->ls;
        mg_snap_u8(w, (uint8_t)shared);
        if (!shared)
            put_labels(w, o->ls);
        mg_snap_u64(w, (uint64_t)mg_store_output_ts(st, i));
        if (is_hist(OUTFAM(st, o)->type))
            put_hvals(w, o->v.h);
        else
            mg_snap_f64(w, o->v.acc);
    }
    mg_snap_sec_end(w);
    w->counts[1] = nout;
}

static void write_inputs(struct mg_store *st, struct mg_snap_w *w,
                         const uint32_t *outmap, uint32_t *fmap)
{
    uint32_t nfam = 0;
    for (uint32_t i = 0; i < st->nin; i++)
        if (st->in[i].flags & F_LIVE)
            fam_number(fmap, st->in[i].fam, &nfam);
    mg_snap_sec_begin(w, MG_SNAP_INPUTS);
    mg_snap_v(w, nfam);
    for (uint32_t id = 0; id < st->infams.n; id++) {
        if (!fmap[id])
            continue;
        const struct mg_family *f = mg_families_at(&st->infams, id);
        mg_snap_v(w, fmap[id] - 1);
        mg_snap_str(w, f->name, f->nlen);
        mg_snap_u8(w, (uint8_t)f->type);
    }
    mg_snap_v(w, st->livein);
    for (uint32_t i = 0; i < st->nin; i++) {
        const struct mg_input *in = &st->in[i];
        if (!(in->flags & F_LIVE))
            continue;
        mg_snap_v(w, fmap[in->fam] - 1);
        put_labels(w, in->ls);
        mg_snap_v(w, mg_labelset_srcmask(in->ls));
        mg_snap_v(w, in->seen);
        mg_snap_v(w, in->ttl);
        mg_snap_u8(w, (in->flags & F_TTL_FIXED) ? 1 : 0);
        mg_snap_u8(w, in->drop);
        mg_snap_v(w, in->out == MG_NIL ? 0 : (uint64_t)outmap[in->out] + 1);
        mg_snap_f64(w, st->scales[in->scale]);
        if (is_hist(INFAM(st, in)->type))
            put_hvals(w, in->v.h);
        else
            mg_snap_f64(w, in->v.last);
    }
    mg_snap_sec_end(w);
    w->counts[0] = st->livein;
}

void mg_store_snap_write(struct mg_store *st, struct mg_snap_w *w)
{
    mg_snap_sec_begin(w, MG_SNAP_STORE);
    mg_snap_u64(w, (uint64_t)st->epoch_ms);
    mg_snap_sec_end(w);
    uint32_t nf = st->outfams.n > st->infams.n ? st->outfams.n : st->infams.n;
    uint32_t *outmap = malloc(((size_t)st->nout + 1) * sizeof(*outmap));
    uint32_t *fmap = calloc((size_t)nf + 1, sizeof(*fmap));
    if (!outmap || !fmap) {
        if (!w->err)
            w->err = -ENOMEM;
        goto out;
    }
    write_outputs(st, w, outmap, fmap);
    memset(fmap, 0, ((size_t)nf + 1) * sizeof(*fmap));
    write_inputs(st, w, outmap, fmap);
out:
    free(outmap);
    free(fmap);
}

/* ---- reading ---- */

struct sfam {
    const char *name, *help;
    size_t nlen, hlen;
    enum mg_type type;
    enum mg_agg agg;
};

struct sout {
    uint32_t fam;
    const unsigned char *labels; /* where its labels start in the file;
                                  * NULL: those of its one input */
    uint32_t idx;                /* the output restored, MG_NIL: none */
};

/* Labels at r into v (room for MAX_LABELS): checked, sorted, no
 * duplicates. Returns how many, -1 on a malformed record. */
static int get_labels(struct mg_snap_r *r, struct mg_label *v)
{
    uint64_t n = mg_snap_get_v(r);
    if (n > MAX_LABELS) {
        r->err = 1;
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        size_t nl, vl;
        const char *name = mg_snap_get_str(r, &nl, MG_LABEL_NAME_MAX);
        const char *val = mg_snap_get_str(r, &vl, MAX_STR);
        if (r->err || !mg_label_name_valid(name, nl) || !mg_utf8_valid(val, vl) || !vl) {
            r->err = 1;
            return -1;
        }
        v[i] = (struct mg_label){name, val, (uint32_t)nl, (uint32_t)vl};
    }
    mg_labels_sort(v, (size_t)n);
    if (mg_labels_have_duplicate(v, (size_t)n)) {
        r->err = 1;
        return -1;
    }
    return (int)n;
}

/* Histogram or summary values; bounds and vals point at scratch. */
static size_t get_hvals(struct mg_snap_r *r, double *bounds, double *vals,
                        double *sum, double *count)
{
    uint64_t n = mg_snap_get_v(r);
    if (n > MAX_BUCKETS) {
        r->err = 1;
        return 0;
    }
    for (uint64_t i = 0; i < n; i++)
        bounds[i] = mg_snap_get_f64(r);
    *sum = mg_snap_get_f64(r);
    *count = mg_snap_get_f64(r);
    for (uint64_t i = 0; i < n; i++)
        vals[i] = mg_snap_get_f64(r);
    return (size_t)n;
}

static int read_fams(struct mg_snap_r *r, struct sfam **out, uint64_t *n,
                     int outputs)
{
    *n = mg_snap_get_v(r);
    if (r->err || *n > (uint64_t)(r->end - r->p))
        return -EINVAL;
    struct sfam *f = calloc(*n ? (size_t)*n : 1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    for (uint64_t i = 0; i < *n && !r->err; i++) {
        uint64_t k = mg_snap_get_v(r);
        struct sfam x = {0};
        x.name = mg_snap_get_str(r, &x.nlen, MAX_STR);
        uint8_t t = mg_snap_get_u8(r);
        x.type = (enum mg_type)t;
        if (outputs) {
            uint8_t a = mg_snap_get_u8(r);
            x.agg = (enum mg_agg)a;
            if (mg_snap_get_u8(r))
                x.help = mg_snap_get_str(r, &x.hlen, MAX_STR);
            if (a > MG_AGG_AVG)
                r->err = 1;
        }
        if (k >= *n || t > MG_SUMMARY || !mg_metric_name_valid(x.name, x.nlen) ||
            (x.help && !mg_utf8_valid(x.help, x.hlen)))
            r->err = 1;
        else
            f[k] = x;
    }
    for (uint64_t i = 0; i < *n && !r->err; i++)
        if (!f[i].name)
            r->err = 1; /* a number no family took */
    *out = f;
    return r->err ? -EINVAL : 0;
}

struct rctx {
    struct mg_store *st;
    struct sfam *ofam, *ifam;
    uint64_t nofam, nifam;
    struct sout *outs;
    uint64_t nout;
    struct mg_label lab[MAX_LABELS], src[MAX_LABELS], olab[MAX_LABELS];
    double bounds[MAX_BUCKETS], vals[MAX_BUCKETS];
    size_t skipped;
};

static int read_outputs(struct rctx *c, struct mg_snap_r *r)
{
    int rc = read_fams(r, &c->ofam, &c->nofam, 1);
    if (rc)
        return rc;
    c->nout = mg_snap_get_v(r);
    if (r->err || c->nout > (uint64_t)(r->end - r->p))
        return -EINVAL;
    c->outs = calloc(c->nout ? (size_t)c->nout : 1, sizeof(*c->outs));
    if (!c->outs)
        return -ENOMEM;
    for (uint64_t i = 0; i < c->nout && !r->err; i++) {
        struct sout *o = &c->outs[i];
        uint64_t f = mg_snap_get_v(r);
        o->idx = MG_NIL;
        if (f >= c->nofam) {
            r->err = 1;
            break;
        }
        o->fam = (uint32_t)f;
        uint8_t shared = mg_snap_get_u8(r);
        o->labels = shared ? NULL : r->p;
        if (shared > 1)
            r->err = 1;
        else if (!shared)
            get_labels(r, c->lab);
        mg_snap_get_u64(r);
        if (is_hist(c->ofam[f].type)) {
            double s, n;
            get_hvals(r, c->bounds, c->vals, &s, &n);
        } else {
            mg_snap_get_f64(r);
        }
    }
    return r->err ? -EINVAL : 0;
}

/* One input record: rebuilt through mg_store_input_add on the route it
 * had, then its clock and TTL as they were. */
static int read_input(struct rctx *c, struct mg_snap_r *r)
{
    struct mg_store *st = c->st;
    uint64_t f = mg_snap_get_v(r);
    if (r->err || f >= c->nifam)
        return -EINVAL;
    const struct sfam *fam = &c->ifam[f];
    int n = get_labels(r, c->lab);
    uint64_t mask = mg_snap_get_v(r);
    uint64_t seen = mg_snap_get_v(r), ttl = mg_snap_get_v(r);
    uint8_t fixed = mg_snap_get_u8(r), drop = mg_snap_get_u8(r);
    uint64_t out = mg_snap_get_v(r);
    double scale = mg_snap_get_f64(r);
    struct mg_sample s = {.name = fam->name, .nlen = (uint32_t)fam->nlen,
                          .type = fam->type, .op = MG_OP_SET};
    if (is_hist(fam->type))
        s.nb = get_hvals(r, c->bounds, c->vals, &s.sum, &s.count);
    else
        s.value = mg_snap_get_f64(r);
    if (r->err || n < 0 || out > c->nout || seen > UINT32_MAX || ttl > UINT32_MAX ||
        drop >= MG_REASON_COUNT || !(scale > 0) || scale > 1e300)
        return -EINVAL;
    s.bound = c->bounds;
    s.bval = c->vals;
    s.labels = c->lab;
    s.nlabels = (size_t)n;
    s.source = c->src;
    /* the labelset's order is the sorted order the marks refer to */
    for (int i = 0; i < n && i < 64; i++)
        if ((mask >> i) & 1)
            c->src[s.nsource++] = c->lab[i];
    struct mg_route rt = {.drop = (enum mg_reason)drop, .scale = scale,
                          .ttl_ms = fixed ? (int64_t)ttl * 100 : -1};
    if (out) {
        struct sout *o = &c->outs[out - 1];
        const struct sfam *of = &c->ofam[o->fam];
        int on = n;
        const struct mg_label *ol = c->lab;
        if (o->labels) {
            struct mg_snap_r lr = {o->labels, r->end, 0};
            on = get_labels(&lr, c->olab);
            ol = c->olab;
            if (lr.err || on < 0)
                return -EINVAL;
        }
        rt.drop = MG_OK;
        rt.name = of->name;
        rt.nlen = (uint32_t)of->nlen;
        rt.labels = ol;
        rt.nlabels = (size_t)on;
        rt.agg = of->agg;
        rt.help = of->help;
        rt.hlen = (uint32_t)of->hlen;
    } else if (drop == MG_OK) {
        rt.drop = MG_DROP_RULE; /* unrouted without a reason: keep it dropped */
    }
    uint64_t h = mg_store_input_hash(s.name, s.nlen, s.labels, s.nlabels);
    char why[MG_WHY_LEN];
    /* the slot input_add takes: the free list's head, else the next */
    uint32_t idx = st->freein != MG_NIL ? st->freein : st->nin;
    if (mg_store_input_find(st, &s, h) ||
        mg_store_input_add(st, &s, h, &rt, st->epoch_ms, why) != MG_OK) {
        c->skipped++;
        return 0;
    }
    struct mg_input *in = &st->in[idx];
    mg_require((in->flags & F_LIVE) && in->ls->hash == (uint32_t)h);
    in->seen = (uint32_t)seen;
    in->ttl = (uint32_t)ttl;
    if (out && in->out != MG_NIL)
        c->outs[out - 1].idx = in->out;
    return 0;
}

static int set_ts(struct mg_store *st, uint32_t idx, int64_t ts)
{
    if (!st->ts && !(st->ts = mg_big_calloc(st->capout, sizeof(int64_t))))
        return -ENOMEM;
    st->ts[idx] = ts;
    return 0;
}

/* Second pass over the outputs: the values they had, over what the inputs
 * just gave them. */
static int restore_values(struct rctx *c, const struct mg_snap *s)
{
    struct mg_snap_r r;
    mg_snap_section(s, MG_SNAP_OUTPUTS, &r);
    uint64_t nf;
    struct sfam *tmp = NULL;
    read_fams(&r, &tmp, &nf, 1);
    free(tmp);
    mg_snap_get_v(&r);
    for (uint64_t i = 0; i < c->nout && !r.err; i++) {
        mg_snap_get_v(&r);
        if (!mg_snap_get_u8(&r))
            get_labels(&r, c->lab);
        int64_t ts = (int64_t)mg_snap_get_u64(&r);
        uint32_t idx = c->outs[i].idx;
        struct mg_output *o = idx != MG_NIL ? &c->st->out[idx] : NULL;
        if (is_hist(c->ofam[c->outs[i].fam].type)) {
            double sum, count;
            size_t n = get_hvals(&r, c->bounds, c->vals, &sum, &count);
            if (o && is_hist(OUTFAM(c->st, o)->type) && o->v.h->layout->n == n) {
                o->v.h->sum = sum;
                o->v.h->count = count;
                memcpy(o->v.h->v, c->vals, n * sizeof(double));
            }
        } else {
            double v = mg_snap_get_f64(&r);
            if (o && !is_hist(OUTFAM(c->st, o)->type) &&
                (OUTFAM(c->st, o)->type == MG_COUNTER || OUTFAM(c->st, o)->agg == MG_AGG_LAST))
                o->v.acc = v;
        }
        if (o && ts && set_ts(c->st, idx, ts))
            return -ENOMEM;
    }
    return r.err ? -EINVAL : 0;
}

/* An index with room for n more entries under its 3/4 load bound, so a
 * restore never rehashes; what it holds is re-homed by tag, as its own
 * growth does. */
static int itab_reserve(struct itab *t, uint64_t n)
{
    n += t->n;
    uint64_t size = 1024;
    while (size * 3 / 4 <= n)
        size *= 2;
    if (size > ((uint64_t)1 << 31) || (t->s && size <= (uint64_t)t->mask + 1))
        return 0;
    struct islot *ns = mg_big_calloc((size_t)size, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (uint32_t i = 0; t->s && i <= t->mask; i++) {
        if (!t->s[i].idx1)
            continue;
        uint32_t j = t->s[i].tag & (uint32_t)(size - 1);
        while (ns[j].idx1)
            j = (j + 1) & (uint32_t)(size - 1);
        ns[j] = t->s[i];
    }
    mg_big_free(t->s);
    t->s = ns;
    t->mask = (uint32_t)size - 1;
    return 0;
}

/* Room for the counts the header gives, in an empty store: the pools and
 * their indexes sized once instead of doubled twenty times. */
static int reserve(struct mg_store *st, uint64_t nin, uint64_t nout)
{
    if (st->nin || nin > UINT32_MAX / 2 || nout > UINT32_MAX / 2)
        return 0;
    if (nin > st->capin) {
        struct mg_input *v = mg_big_realloc(st->in, (size_t)nin * sizeof(*v));
        if (!v)
            return -ENOMEM;
        st->in = v;
        st->capin = (uint32_t)nin;
    }
    if (nout + 256 > st->capout && !st->ts) {
        /* own series are already there: keep their room */
        uint64_t cap = nout + st->capout;
        struct mg_output *v = mg_big_realloc(st->out, (size_t)cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        st->out = v;
        st->capout = (uint32_t)cap;
    }
    if (itab_reserve(&st->intab, nin) || itab_reserve(&st->outtab, nout))
        return -ENOMEM;
    return 0;
}

int mg_store_snap_read(struct mg_store *st, const struct mg_snap *s,
                       size_t *skipped, char *why, size_t whylen)
{
    struct mg_snap_r r;
    int rc = 0;
    struct rctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->st = st;
    if (mg_snap_section(s, MG_SNAP_STORE, &r) == 0) {
        int64_t epoch = (int64_t)mg_snap_get_u64(&r);
        if (r.err) {
            snprintf(why, whylen, "malformed store section");
            rc = -EINVAL;
            goto out;
        }
        st->epoch_ms = epoch;
    }
    if (mg_snap_section(s, MG_SNAP_OUTPUTS, &r) == 0 && (rc = read_outputs(c, &r))) {
        snprintf(why, whylen, "malformed outputs section");
        goto out;
    }
    /* the header's counts are a hint: a file that lies only wastes memory,
     * bounded by its own size (every record takes bytes) */
    if (s->counts[0] <= s->len && s->counts[1] <= s->len &&
        (rc = reserve(st, s->counts[0], s->counts[1]))) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    if (mg_snap_section(s, MG_SNAP_INPUTS, &r) == 0) {
        if ((rc = read_fams(&r, &c->ifam, &c->nifam, 0)))
            goto bad_inputs;
        uint64_t n = mg_snap_get_v(&r);
        for (uint64_t i = 0; i < n && !rc; i++)
            rc = read_input(c, &r);
        if (rc || r.err)
            goto bad_inputs;
    }
    if (c->nout && (rc = restore_values(c, s)))
        snprintf(why, whylen, "malformed outputs section");
    *skipped = c->skipped;
    goto out;
bad_inputs:
    rc = rc ? rc : -EINVAL;
    snprintf(why, whylen, "malformed inputs section");
out:
    free(c->ofam);
    free(c->ifam);
    free(c->outs);
    free(c);
    return rc;
}

int mg_store_own_get(struct mg_store *st, const char *name, size_t nlen,
                     const struct mg_label *labels, size_t n, double *v)
{
    uint64_t h = mg_store_input_hash(name, nlen, labels, n);
    uint32_t idx = mg_store_output_find(st, name, nlen, labels, n, h);
    if (idx == MG_NIL || !(st->out[idx].flags & F_OWN) ||
        is_hist(OUTFAM(st, &st->out[idx])->type))
        return -ENOENT;
    *v = st->out[idx].v.acc;
    return 0;
}
