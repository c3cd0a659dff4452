/* mg_rw_encode: the remote write WriteRequest, hand-encoded.
 *
 * Every message is length-prefixed, so each size is computed from the
 * string lengths first and the bytes are then written in one pass into
 * space reserved once: no intermediate objects, no allocation per sample. */
#include "mg_rw_encode.h"

#include <string.h>

#include "mg_fmt.h"
#include "mg_relabel.h"

/* Wire types: 0 varint, 1 fixed64, 2 length-delimited. */
#define TAG(field, wt) ((unsigned char)(((field) << 3) | (wt)))

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static unsigned char *put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static unsigned char *put_bytes(unsigned char *p, unsigned char tag,
                                const char *s, size_t n)
{
    *p++ = tag;
    p = put_varint(p, n);
    memcpy(p, s, n);
    return p + n;
}

/* A field holding n bytes: tag, length, bytes. */
static size_t field_len(size_t n)
{
    return 1 + varint_len(n) + n;
}

enum mg_rw_type mg_rw_type_of(enum mg_type t)
{
    switch (t) {
    case MG_COUNTER:
        return MG_RW_COUNTER;
    case MG_GAUGE:
        return MG_RW_GAUGE;
    case MG_HISTOGRAM:
        return MG_RW_HISTOGRAM;
    case MG_SUMMARY:
        return MG_RW_SUMMARY;
    default:
        return MG_RW_UNKNOWN;
    }
}

int mg_rw_add_series(struct mg_buf *out, const struct mg_label *labels,
                     size_t n, double value, int64_t ts_ms)
{
    size_t body = 0;
    for (size_t i = 0; i < n; i++)
        body += field_len(field_len(labels[i].nlen) + field_len(labels[i].vlen));
    /* Sample: 1: double (tag + 8 bytes), 2: int64 as a plain varint */
    size_t sample = 9 + 1 + varint_len((uint64_t)ts_ms);
    body += field_len(sample);
    size_t total = field_len(body);
    if (mg_buf_reserve(out, total))
        return -ENOMEM;
    unsigned char *p = (unsigned char *)out->p + out->len;
    *p++ = TAG(1, 2);
    p = put_varint(p, body);
    for (size_t i = 0; i < n; i++) {
        const struct mg_label *l = &labels[i];
        *p++ = TAG(1, 2);
        p = put_varint(p, field_len(l->nlen) + field_len(l->vlen));
        p = put_bytes(p, TAG(1, 2), l->name, l->nlen);
        p = put_bytes(p, TAG(2, 2), l->value, l->vlen);
    }
    *p++ = TAG(2, 2);
    p = put_varint(p, sample);
    *p++ = TAG(1, 1);
    uint64_t bits;
    memcpy(&bits, &value, 8);
    for (int i = 0; i < 8; i++) /* little-endian whatever the host */
        *p++ = (unsigned char)(bits >> (8 * i));
    *p++ = TAG(2, 0);
    p = put_varint(p, (uint64_t)ts_ms);
    out->len = (size_t)(p - (unsigned char *)out->p);
    return 0;
}

int mg_rw_add_metadata(struct mg_buf *out, enum mg_rw_type type,
                       const char *name, size_t nlen, const char *help,
                       size_t hlen, const char *unit, size_t ulen)
{
    /* proto3: a zero enum is the default and is not written */
    size_t body = (type ? 2 : 0) + field_len(nlen);
    if (help)
        body += field_len(hlen);
    if (unit)
        body += field_len(ulen);
    if (mg_buf_reserve(out, field_len(body)))
        return -ENOMEM;
    unsigned char *p = (unsigned char *)out->p + out->len;
    *p++ = TAG(3, 2);
    p = put_varint(p, body);
    if (type) {
        *p++ = TAG(1, 0);
        *p++ = (unsigned char)type;
    }
    p = put_bytes(p, TAG(2, 2), name, nlen);
    if (help)
        p = put_bytes(p, TAG(4, 2), help, hlen);
    if (unit)
        p = put_bytes(p, TAG(5, 2), unit, ulen);
    out->len = (size_t)(p - (unsigned char *)out->p);
    return 0;
}

void mg_rw_scratch_init(struct mg_rw_scratch *s)
{
    memset(s, 0, sizeof(*s));
    mg_lbuild_init(&s->lb);
}

void mg_rw_scratch_fini(struct mg_rw_scratch *s)
{
    free(s->v);
    mg_buf_fini(&s->name);
    mg_lbuild_fini(&s->lb);
    memset(s, 0, sizeof(*s));
}

/* One derived series of an output. */
struct derived {
    const struct mg_labelset *ls;
    const char *extra, *extra_val; /* le or quantile; NULL: none */
    size_t extra_vlen;
};

static int has_name(const struct mg_label *v, size_t n, const struct mg_label *x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].nlen == x->nlen && memcmp(v[i].name, x->name, x->nlen) == 0)
            return 1;
    return 0;
}

/* The series' labels, sorted, into s->v: the output's, __name__, the extra
 * one, then each external label the series does not already have (an
 * external label never overrides, as in Prometheus). Returns the count or
 * -ENOMEM. */
static long gather(const struct derived *d, const struct mg_rw_view *view,
                   struct mg_rw_scratch *s)
{
    size_t need = d->ls->n + 2 + view->nexternal;
    if (need > s->cap) {
        struct mg_label *v = realloc(s->v, need * sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = need;
    }
    size_t n = mg_labelset_unpack(d->ls, s->v);
    s->v[n++] = (struct mg_label){"__name__", s->name.p, 8, (uint32_t)s->name.len};
    if (d->extra)
        s->v[n++] = (struct mg_label){d->extra, d->extra_val, (uint32_t)strlen(d->extra),
                                      (uint32_t)d->extra_vlen};
    size_t own = n;
    for (size_t i = 0; i < view->nexternal; i++)
        if (!has_name(s->v, own, &view->external[i]))
            s->v[n++] = view->external[i];
    mg_labels_sort(s->v, n);
    return (long)n;
}

/* Writes one derived series: 1 when written, 0 when relabeling dropped it
 * (or failed on it: counted, skipped), -ENOMEM. */
static int emit(const struct derived *d, const struct mg_rw_view *view,
                double v, int64_t ts, struct mg_rw_scratch *s, struct mg_buf *out)
{
    long n = gather(d, view, s);
    if (n < 0)
        return -ENOMEM;
    if (!view->relabel)
        return mg_rw_add_series(out, s->v, (size_t)n, v, ts) ? -ENOMEM : 1;
    mg_lbuild_reset(&s->lb);
    for (long i = 0; i < n; i++)
        if (mg_lbuild_set(&s->lb, s->v[i].name, s->v[i].nlen, s->v[i].value,
                          s->v[i].vlen))
            return -ENOMEM;
    char why[MG_WHY_LEN];
    int keep = mg_relabel_apply(view->relabel, &s->lb, why, sizeof(why));
    if (keep < 0)
        s->relabel_errors++;
    /* Prometheus drops a series relabeled to no name */
    if (keep <= 0 || !mg_lbuild_get(&s->lb, "__name__", 8))
        return 0;
    mg_lbuild_sort(&s->lb);
    return mg_rw_add_series(out, s->lb.v, s->lb.n, v, ts) ? -ENOMEM : 1;
}

static int set_name(struct mg_rw_scratch *s, const struct mg_family *f,
                    const char *suffix)
{
    mg_buf_reset(&s->name);
    mg_buf_add(&s->name, f->name, f->nlen);
    if (suffix)
        mg_buf_adds(&s->name, suffix);
    return s->name.failed ? -ENOMEM : 0;
}

#define STEP(call)                  \
    do {                            \
        int rc_ = (call);           \
        if (rc_ < 0)                \
            return -ENOMEM;         \
        written += rc_;             \
    } while (0)

static long encode_hist(struct mg_store *st, const struct mg_output *o,
                        const struct mg_family *f, const struct mg_rw_view *view,
                        int64_t ts, struct mg_rw_scratch *s, struct mg_buf *out)
{
    const struct mg_hvals *q;
    double qscale;
    const struct mg_hvals *h = mg_output_hvals(st, o, &q, &qscale);
    long written = 0;
    char num[32];
    struct derived d = {o->ls, NULL, NULL, 0};
    if (f->type == MG_HISTOGRAM) {
        if (set_name(s, f, "_bucket"))
            return -ENOMEM;
        d.extra = "le";
        for (uint32_t i = 0; i < h->layout->n; i++) {
            d.extra_vlen = mg_format_double(num, h->layout->bound[i]);
            d.extra_val = num;
            STEP(emit(&d, view, h->v[i], ts, s, out));
        }
    } else if (q) {
        if (set_name(s, f, NULL))
            return -ENOMEM;
        d.extra = "quantile";
        for (uint32_t i = 0; i < q->layout->n; i++) {
            d.extra_vlen = mg_format_double(num, q->layout->bound[i]);
            d.extra_val = num;
            STEP(emit(&d, view, mg_scale_apply(qscale, q->v[i]), ts, s, out));
        }
    }
    d.extra = NULL;
    if (set_name(s, f, "_sum"))
        return -ENOMEM;
    STEP(emit(&d, view, h->sum, ts, s, out));
    if (set_name(s, f, "_count"))
        return -ENOMEM;
    STEP(emit(&d, view, h->count, ts, s, out));
    return written;
}

long mg_rw_encode_output(struct mg_store *st, uint32_t idx,
                         const struct mg_rw_view *view, int64_t ts_ms,
                         struct mg_rw_scratch *s, struct mg_buf *out)
{
    const struct mg_output *o = mg_store_output_at(st, idx);
    const struct mg_family *f = mg_store_output_family(st, o);
    if (f->type == MG_HISTOGRAM || f->type == MG_SUMMARY)
        return encode_hist(st, o, f, view, ts_ms, s, out);
    if (set_name(s, f, NULL))
        return -ENOMEM;
    struct derived d = {o->ls, NULL, NULL, 0};
    return emit(&d, view, mg_output_value(st, o), ts_ms, s, out);
}
