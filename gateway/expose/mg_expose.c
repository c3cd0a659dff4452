/* mg_expose: text and OpenMetrics rendering, gzip. */
#include "mg_expose.h"
#include "mg_fmt.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "mg_store.h"

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

static void add_double(struct mg_buf *b, double v)
{
    if (mg_buf_reserve(b, 32))
        return;
    b->len += mg_format_double(b->p + b->len, v);
}

/* Bit 1: escaped everywhere (HELP text too); bit 2: in label values only. */
static const unsigned char esc_class[256] = {['\\'] = 1, ['\n'] = 1, ['"'] = 2};

static void add_escaped(struct mg_buf *b, const char *s, size_t n, int quote)
{
    /* one table load a byte: values are mostly plain and read whole */
    unsigned mask = quote ? 3 : 1;
    const unsigned char *u = (const unsigned char *)s;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(esc_class[u[i]] & mask))
            continue;
        char c = s[i];
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
    size_t pos = 0, k;
    struct mg_label v[16];
    int first = 1;
    while ((k = mg_labelset_read(ls, &pos, v, 16)) > 0) {
        for (size_t i = 0; i < k; i++) {
            if (!first)
                mg_buf_addc(b, ',');
            first = 0;
            mg_buf_add(b, v[i].name, v[i].nlen);
            mg_buf_add(b, "=\"", 2);
            add_escaped(b, v[i].value, v[i].vlen, 1);
            mg_buf_addc(b, '"');
        }
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

/* The name a family's header and samples print: OpenMetrics names a
 * counter family without _total and its samples with it. */
static size_t family_name(const struct ctx *c, const struct mg_family *fam,
                          const char **suffix)
{
    size_t fnlen = fam->nlen;
    *suffix = NULL;
    if (c->f == MG_FORMAT_OPENMETRICS && fam->type == MG_COUNTER) {
        if (fnlen > 6 && memcmp(fam->name + fnlen - 6, "_total", 6) == 0)
            fnlen -= 6;
        *suffix = "_total";
    }
    return fnlen;
}

struct mg_scrape {
    struct mg_store *st;
    enum mg_format f;
    int honor_ts;
    /* The families, in name order when the scrape began, by name: a family
     * removed since is looked up and skipped, never touched. */
    char *names;             /* NUL-terminated, back to back */
    size_t *name_off;        /* nfam + 1 */
    size_t nfam, ifam;       /* the next family to begin */
    int in_family;           /* cur walks family ifam - 1 */
    struct mg_store_cursor cur;
    int done;                /* every byte is rendered */
    int gzip;
    z_stream z;
    struct mg_buf plain;     /* a slice before deflate */
};

struct mg_scrape *mg_scrape_new(struct mg_store *st, enum mg_format f,
                                int honor_ts, int gzip)
{
    struct mg_family **fams;
    size_t nfam, bytes = 0;
    if (mg_store_families_sorted(st, &fams, &nfam))
        return NULL;
    for (size_t i = 0; i < nfam; i++)
        bytes += fams[i]->nlen + 1;
    struct mg_scrape *s = calloc(1, sizeof(*s));
    if (!s || !(s->names = malloc(bytes + 1)) ||
        !(s->name_off = malloc((nfam + 1) * sizeof(size_t))))
        goto fail;
    size_t off = 0;
    for (size_t i = 0; i < nfam; i++) {
        s->name_off[i] = off;
        memcpy(s->names + off, fams[i]->name, fams[i]->nlen + 1);
        off += fams[i]->nlen + 1;
    }
    s->name_off[nfam] = off;
    s->nfam = nfam;
    s->st = st;
    s->f = f;
    s->honor_ts = honor_ts;
    /* 15 + 16: a gzip wrapper; level 1: a scrape is cheap before small */
    if (gzip && deflateInit2(&s->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        goto fail;
    s->gzip = gzip;
    mg_store_cursor_open(st, &s->cur, MG_NIL);
    return s;
fail:
    if (s) {
        free(s->names);
        free(s->name_off);
    }
    free(s);
    return NULL;
}

void mg_scrape_free(struct mg_scrape *s)
{
    if (!s)
        return;
    mg_store_cursor_close(s->st, &s->cur);
    if (s->gzip)
        deflateEnd(&s->z);
    mg_buf_fini(&s->plain);
    free(s->names);
    free(s->name_off);
    free(s);
}

static struct mg_family *family_at(struct mg_scrape *s, size_t i)
{
    return mg_store_family_find(s->st, s->names + s->name_off[i],
                                s->name_off[i + 1] - s->name_off[i] - 1);
}

/* Renders series until about budget bytes are added to b or the last
 * family ends. A family's series follow its one header whatever the
 * slices; a histogram's lines come in one piece. */
static void render(struct mg_scrape *s, struct mg_buf *b, size_t budget)
{
    struct ctx c = {b, s->f, 0};
    size_t stop = b->len + budget;
    while (b->len < stop && !b->failed) {
        struct mg_family *fam;
        if (!s->in_family) {
            if (s->ifam == s->nfam) {
                if (s->f == MG_FORMAT_OPENMETRICS)
                    mg_buf_add(b, "# EOF\n", 6);
                s->done = 1;
                return;
            }
            fam = family_at(s, s->ifam++);
            if (!fam || !fam->nseries)
                continue;
            const char *suffix;
            family_header(&c, fam, fam->name, family_name(&c, fam, &suffix));
            s->in_family = 1;
            s->cur.next = mg_store_family_head(fam);
        } else if (!(fam = family_at(s, s->ifam - 1))) {
            /* gone with all its series: the cursor is at the end */
            s->in_family = 0;
            continue;
        }
        const char *suffix;
        size_t fnlen = family_name(&c, fam, &suffix);
        int hist = fam->type == MG_HISTOGRAM || fam->type == MG_SUMMARY;
        while (s->cur.next != MG_NIL && b->len < stop) {
            uint32_t idx = s->cur.next;
            const struct mg_output *o = mg_store_output_at(s->st, idx);
            s->cur.next = mg_store_output_next(s->st, idx);
            c.ts = s->honor_ts ? mg_store_output_ts(s->st, idx) : 0;
            if (hist) {
                expose_hist(s->st, &c, fam, o);
                continue;
            }
            add_series(b, fam->name, fnlen, suffix, o->ls, NULL, NULL);
            end_sample(&c, mg_output_value(s->st, o));
        }
        if (s->cur.next == MG_NIL)
            s->in_family = 0;
    }
}

/* Deflates in onto out; finish: the stream's last bytes. */
static int deflate_into(z_stream *z, const struct mg_buf *in, struct mg_buf *out,
                        int finish)
{
    z->next_in = (Bytef *)in->p;
    z->avail_in = (uInt)in->len;
    for (;;) {
        if (mg_buf_reserve(out, in->len / 2 + 4096))
            return -ENOMEM;
        z->next_out = (Bytef *)out->p + out->len;
        z->avail_out = (uInt)(out->cap - out->len);
        int rc = deflate(z, finish ? Z_FINISH : Z_NO_FLUSH);
        out->len = out->cap - z->avail_out;
        if (rc == Z_STREAM_END)
            return 0;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return -ENOMEM;
        if (z->avail_in == 0 && !finish)
            return 0;
    }
}

int mg_scrape_next(struct mg_scrape *s, struct mg_buf *out, size_t budget)
{
    if (s->done)
        return 0;
    if (!s->gzip) {
        render(s, out, budget);
        return out->failed ? -ENOMEM : !s->done;
    }
    mg_buf_reset(&s->plain);
    render(s, &s->plain, budget);
    if (s->plain.failed || deflate_into(&s->z, &s->plain, out, s->done))
        return -ENOMEM;
    return !s->done;
}

int mg_expose(struct mg_store *st, enum mg_format f, int honor_ts,
              struct mg_buf *out)
{
    struct mg_scrape *s = mg_scrape_new(st, f, honor_ts, 0);
    if (!s)
        return -ENOMEM;
    int rc;
    while ((rc = mg_scrape_next(s, out, SIZE_MAX / 2)) > 0)
        ;
    mg_scrape_free(s);
    return rc;
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
