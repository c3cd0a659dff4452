/* mg_expose: text and OpenMetrics rendering, gzip. */
#include "mg_expose.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#define DEFAULT_HELP "Pushed to moongate without HELP."

int mg_accepts(const char *header, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= tl && strncasecmp(p, token, tl) == 0 &&
            (len == tl || p[tl] == ';' || p[tl] == ' ')) {
            /* acceptable unless a q parameter says 0 */
            const char *q = p + tl;
            while ((q = strstr(q, "q=")) && q < p + len) {
                if (strtod(q + 2, NULL) <= 0)
                    return 0;
                q += 2;
            }
            return 1;
        }
        p = end;
    }
    return 0;
}

enum mg_format mg_expose_negotiate(const char *accept)
{
    if (mg_accepts(accept, "application/openmetrics-text"))
        return MG_FORMAT_OPENMETRICS;
    return MG_FORMAT_TEXT;
}

static size_t fmt_int(char *buf, int64_t v)
{
    char tmp[24];
    size_t n = 0, k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[k++] = '-';
    while (n)
        buf[k++] = tmp[--n];
    buf[k] = '\0';
    return k;
}

/* Integers print as integers without snprintf (most counters); others as
 * %.15g, or %.17g when that does not read back as the same double. */
size_t mg_format_double(char *buf, double v)
{
    if (isnan(v))
        return (size_t)sprintf(buf, "NaN");
    if (isinf(v))
        return (size_t)sprintf(buf, v > 0 ? "+Inf" : "-Inf");
    /* range first: (int64_t)v of a double past int64 is undefined */
    if (fabs(v) < 1e15 && v == (double)(int64_t)v) {
        if (v == 0 && signbit(v))
            return (size_t)sprintf(buf, "-0");
        return fmt_int(buf, (int64_t)v);
    }
    int n = snprintf(buf, 32, "%.15g", v);
    if (strtod(buf, NULL) != v)
        n = snprintf(buf, 32, "%.17g", v);
    return (size_t)n;
}

static void add_double(struct mg_buf *b, double v)
{
    if (mg_buf_reserve(b, 32))
        return;
    b->len += mg_format_double(b->p + b->len, v);
}

static void add_escaped(struct mg_buf *b, const char *s, size_t n, int quote)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != '\\' && c != '\n' && !(quote && c == '"'))
            continue;
        mg_buf_add(b, s + start, i - start);
        mg_buf_add(b, c == '\n' ? "\\n" : c == '"' ? "\\\"" : "\\\\", 2);
        start = i + 1;
    }
    mg_buf_add(b, s + start, n - start);
}

/* name{labels[,extra="val"]} */
static void add_series(struct mg_buf *b, const char *name, size_t nlen,
                       const char *suffix, const struct mg_labelset *ls,
                       const char *extra, const char *extra_val)
{
    mg_buf_add(b, name, nlen);
    if (suffix)
        mg_buf_adds(b, suffix);
    if (ls->n == 0 && !extra)
        return;
    mg_buf_addc(b, '{');
    size_t pos = 0;
    struct mg_label l;
    int first = 1;
    while (mg_labelset_next(ls, &pos, &l)) {
        if (!first)
            mg_buf_addc(b, ',');
        first = 0;
        mg_buf_add(b, l.name, l.nlen);
        mg_buf_add(b, "=\"", 2);
        add_escaped(b, l.value, l.vlen, 1);
        mg_buf_addc(b, '"');
    }
    if (extra) {
        if (!first)
            mg_buf_addc(b, ',');
        mg_buf_adds(b, extra);
        mg_buf_add(b, "=\"", 2);
        mg_buf_adds(b, extra_val);
        mg_buf_addc(b, '"');
    }
    mg_buf_addc(b, '}');
}

struct ctx {
    struct mg_buf *b;
    enum mg_format f;
    int64_t ts; /* ms, 0 = none */
};

static void end_sample(struct ctx *c, double v)
{
    mg_buf_addc(c->b, ' ');
    add_double(c->b, v);
    if (c->ts) {
        char tmp[40];
        int n = c->f == MG_FORMAT_OPENMETRICS
                    ? snprintf(tmp, sizeof(tmp), " %lld.%03lld",
                               (long long)(c->ts / 1000), (long long)(c->ts % 1000))
                    : snprintf(tmp, sizeof(tmp), " %lld", (long long)c->ts);
        mg_buf_add(c->b, tmp, (size_t)n);
    }
    mg_buf_addc(c->b, '\n');
}

static void family_header(struct ctx *c, const struct mg_family *fam,
                          const char *name, size_t nlen)
{
    static const char *const om_types[] = {"unknown", "counter", "gauge",
                                           "histogram", "summary"};
    mg_buf_add(c->b, "# HELP ", 7);
    mg_buf_add(c->b, name, nlen);
    mg_buf_addc(c->b, ' ');
    if (fam->help)
        add_escaped(c->b, fam->help, strlen(fam->help),
                    c->f == MG_FORMAT_OPENMETRICS);
    else
        mg_buf_adds(c->b, DEFAULT_HELP);
    mg_buf_add(c->b, "\n# TYPE ", 8);
    mg_buf_add(c->b, name, nlen);
    mg_buf_addc(c->b, ' ');
    mg_buf_adds(c->b, c->f == MG_FORMAT_OPENMETRICS ? om_types[fam->type]
                                                    : mg_type_name(fam->type));
    mg_buf_addc(c->b, '\n');
}

static void expose_hist(struct mg_store *st, struct ctx *c,
                        const struct mg_family *fam, const struct mg_output *o)
{
    const struct mg_hvals *q;
    double qscale;
    const struct mg_hvals *h = mg_output_hvals(st, o, &q, &qscale);
    char le[32];
    if (fam->type == MG_HISTOGRAM) {
        for (uint32_t i = 0; i < h->layout->n; i++) {
            mg_format_double(le, h->layout->bound[i]);
            add_series(c->b, fam->name, fam->nlen, "_bucket", o->ls, "le", le);
            end_sample(c, h->v[i]);
        }
    } else if (q) {
        for (uint32_t i = 0; i < q->layout->n; i++) {
            mg_format_double(le, q->layout->bound[i]);
            add_series(c->b, fam->name, fam->nlen, NULL, o->ls, "quantile", le);
            end_sample(c, mg_scale_apply(qscale, q->v[i]));
        }
    }
    add_series(c->b, fam->name, fam->nlen, "_sum", o->ls, NULL, NULL);
    end_sample(c, h->sum);
    add_series(c->b, fam->name, fam->nlen, "_count", o->ls, NULL, NULL);
    end_sample(c, h->count);
}

static void expose_family(struct mg_store *st, struct ctx *c,
                          const struct mg_family *fam, const uint32_t *order,
                          size_t n, int honor_ts)
{
    /* OpenMetrics names a counter family without _total and its samples
     * with it. */
    size_t fnlen = fam->nlen;
    const char *suffix = NULL;
    if (c->f == MG_FORMAT_OPENMETRICS && fam->type == MG_COUNTER) {
        if (fnlen > 6 && memcmp(fam->name + fnlen - 6, "_total", 6) == 0)
            fnlen -= 6;
        suffix = "_total";
    }
    family_header(c, fam, fam->name, fnlen);
    for (size_t i = 0; i < n; i++) {
        const struct mg_output *o = mg_store_output_at(st, order[i]);
        c->ts = honor_ts ? mg_store_output_ts(st, order[i]) : 0;
        if (fam->type == MG_HISTOGRAM || fam->type == MG_SUMMARY) {
            expose_hist(st, c, fam, o);
            continue;
        }
        add_series(c->b, fam->name, fnlen, suffix, o->ls, NULL, NULL);
        end_sample(c, mg_output_value(st, o));
    }
}

int mg_expose(struct mg_store *st, enum mg_format f, int honor_ts,
              struct mg_buf *out)
{
    struct mg_family **fams;
    size_t nfam;
    uint32_t *order, *start;
    if (mg_store_group(st, &fams, &nfam, &order, &start))
        return -ENOMEM;
    struct ctx c = {out, f, 0};
    for (size_t i = 0; i < nfam; i++)
        expose_family(st, &c, fams[i], order + start[i],
                      start[i + 1] - start[i], honor_ts);
    if (f == MG_FORMAT_OPENMETRICS)
        mg_buf_add(out, "# EOF\n", 6);
    return out->failed ? -ENOMEM : 0;
}

int mg_gzip(const struct mg_buf *in, struct mg_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* 15 + 16: a gzip wrapper; level 1: a scrape is cheap before small */
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    mg_buf_reset(out);
    size_t bound = deflateBound(&z, in->len);
    if (mg_buf_reserve(out, bound)) {
        deflateEnd(&z);
        return -ENOMEM;
    }
    z.next_in = (Bytef *)in->p;
    z.avail_in = (uInt)in->len;
    z.next_out = (Bytef *)out->p;
    z.avail_out = (uInt)out->cap;
    int rc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -ENOMEM;
}
