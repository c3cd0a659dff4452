/* mg_textfmt: a line at a time, each token checked where it stands. */
#include "mg_textfmt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mg_textfmt_init(struct mg_textfmt *tf, const char *buf, size_t len,
                     char *scratch, struct mg_label *labels,
                     size_t max_labels)
{
    memset(tf, 0, sizeof(*tf));
    tf->p = buf;
    tf->end = buf + len;
    tf->scratch = tf->sp = scratch;
    tf->send = scratch + len;
    tf->labels = labels;
    tf->max_labels = max_labels;
}

/* Every error names its line; the message is cut to fit MG_WHY_LEN. */
static int fail(struct mg_textfmt *tf, enum mg_reason *r, char *why,
                enum mg_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(struct mg_textfmt *tf, enum mg_reason *r, char *why,
                enum mg_reason reason, const char *fmt, ...)
{
    int n = snprintf(why, MG_WHY_LEN, "line %u: ", tf->line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why + n, MG_WHY_LEN - (size_t)n, fmt, ap);
    va_end(ap);
    *r = reason;
    return -1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_blank(const char *p, const char *e)
{
    while (p < e && is_blank(*p))
        p++;
    return p;
}

static int name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) at p; returns its end. */
static const char *metric_name(const char *p, const char *e)
{
    if (p < e && (name_start(*p) || *p == ':'))
        for (p++; p < e && (name_char(*p) || *p == ':'); p++)
            ;
    return p;
}

static const char *label_name(const char *p, const char *e)
{
    if (p < e && name_start(*p))
        for (p++; p < e && name_char(*p); p++)
            ;
    return p;
}

/* The token up to the next blank or the end of the line, shown in errors. */
static int token_len(const char *p, const char *e)
{
    const char *q = p;
    while (q < e && !is_blank(*q))
        q++;
    return (int)(q - p > 40 ? 40 : q - p);
}

/* A float as Go's strconv.ParseFloat reads one: what strtod reads, whole,
 * but no "nan(...)" payloads and no hex without an exponent. */
static int parse_float(const char *p, const char *e, double *v)
{
    char tmp[64];
    size_t n = (size_t)(e - p);
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    if (strchr(tmp, '(') || ((strstr(tmp, "0x") || strstr(tmp, "0X")) &&
                             !strchr(tmp, 'p') && !strchr(tmp, 'P')))
        return -1;
    char *end;
    errno = 0;
    *v = strtod(tmp, &end);
    if (end != tmp + n || (errno == ERANGE && !isinf(*v) && *v != 0))
        return -1;
    return 0;
}

static int parse_int64(const char *p, const char *e, int64_t *v)
{
    char tmp[32];
    size_t n = (size_t)(e - p);
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (end != tmp + n || errno == ERANGE)
        return -1;
    *v = x;
    return 0;
}

/* Unescapes p[0..n) into the scratch. HELP knows \\ and \n; label values
 * \\, \" and \n. Returns the copy, or NULL at a bad escape (*bad set). */
static const char *unescape(struct mg_textfmt *tf, const char *p, size_t n,
                            int quotes, char *bad, uint32_t *len)
{
    char *out = tf->sp, *o = out;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\') {
            char d = i + 1 < n ? p[++i] : '\0';
            if (d == 'n')
                c = '\n';
            else if (d == '\\' || (quotes && d == '"'))
                c = d;
            else {
                *bad = d;
                return NULL;
            }
        }
        *o++ = c;
    }
    tf->sp = o;
    *len = (uint32_t)(o - out);
    return out;
}

/* A new current family, untyped and without HELP until its lines say. */
static void family_start(struct mg_textfmt *tf, const char *name, uint32_t n)
{
    tf->fname = name;
    tf->fnlen = n;
    tf->type = MG_UNTYPED;
    tf->help = NULL;
    tf->hlen = 0;
    tf->has_type = tf->has_help = tf->has_samples = 0;
}

static int is_current(const struct mg_textfmt *tf, const char *n, size_t len)
{
    return tf->fname && tf->fnlen == len && memcmp(tf->fname, n, len) == 0;
}

/* "# HELP name text" or "# TYPE name type"; other comments are skipped. */
static int comment(struct mg_textfmt *tf, const char *p, const char *e,
                   enum mg_reason *r, char *why)
{
    p = skip_blank(p + 1, e);
    int help = e - p >= 4 && memcmp(p, "HELP", 4) == 0;
    int type = e - p >= 4 && memcmp(p, "TYPE", 4) == 0;
    if ((!help && !type) || (p + 4 < e && !is_blank(p[4])))
        return 0;
    const char *what = help ? "HELP" : "TYPE";
    p = skip_blank(p + 4, e);
    const char *n = p;
    p = metric_name(p, e);
    if (p == n)
        return fail(tf, r, why, MG_REASON_INVALID_METRIC_NAME, "%s line without a metric name",
                    what);
    if (p < e && !is_blank(*p))
        return fail(tf, r, why, MG_REASON_INVALID_METRIC_NAME,
                    "invalid metric name \"%.*s\" in %s line", token_len(n, e), n, what);
    uint32_t nlen = (uint32_t)(p - n);
    if (!is_current(tf, n, nlen))
        family_start(tf, n, nlen);
    p = skip_blank(p, e);
    if (help) {
        if (tf->has_help)
            return fail(tf, r, why, MG_REASON_DECODE_ERROR, "second HELP line for %.*s",
                        (int)nlen, n);
        char bad;
        tf->help = unescape(tf, p, (size_t)(e - p), 0, &bad, &tf->hlen);
        if (!tf->help)
            return fail(tf, r, why, MG_REASON_DECODE_ERROR,
                        "invalid escape \\%c in HELP of %.*s", bad ? bad : ' ', (int)nlen, n);
        if (!mg_utf8_valid(tf->help, tf->hlen))
            return fail(tf, r, why, MG_REASON_DECODE_ERROR, "HELP of %.*s is not UTF-8",
                        (int)nlen, n);
        tf->has_help = 1;
        return 0;
    }
    if (tf->has_type)
        return fail(tf, r, why, MG_REASON_TYPE_CONFLICT, "second TYPE line for %.*s",
                    (int)nlen, n);
    if (tf->has_samples)
        return fail(tf, r, why, MG_REASON_TYPE_CONFLICT, "TYPE line for %.*s after its samples",
                    (int)nlen, n);
    const char *t = p;
    while (p < e && !is_blank(*p))
        p++;
    int ty = mg_type_parse(t, (size_t)(p - t));
    if (ty < 0 || skip_blank(p, e) != e)
        return fail(tf, r, why, MG_REASON_DECODE_ERROR, "unknown metric type \"%.*s\"",
                    (int)(e - t > 40 ? 40 : e - t), t);
    tf->type = (enum mg_type)ty;
    tf->has_type = 1;
    return 0;
}

static int suffixed(const char *n, size_t nlen, const char *f, size_t flen,
                    const char *suffix)
{
    size_t sl = strlen(suffix);
    return nlen == flen + sl && memcmp(n, f, flen) == 0 &&
           memcmp(n + flen, suffix, sl) == 0;
}

/* Which line of the current family a sample name is, or -1 when the name
 * starts a family of its own. */
static int kind_of(const struct mg_textfmt *tf, const char *n, size_t nlen)
{
    if (!tf->fname)
        return -1;
    if (tf->type == MG_HISTOGRAM || tf->type == MG_SUMMARY) {
        if (suffixed(n, nlen, tf->fname, tf->fnlen, "_sum"))
            return MG_TF_SUM;
        if (suffixed(n, nlen, tf->fname, tf->fnlen, "_count"))
            return MG_TF_COUNT;
        if (tf->type == MG_HISTOGRAM && suffixed(n, nlen, tf->fname, tf->fnlen, "_bucket"))
            return MG_TF_BUCKET;
        if (tf->type == MG_SUMMARY && is_current(tf, n, nlen))
            return MG_TF_QUANTILE;
        if (is_current(tf, n, nlen))
            return MG_TF_BUCKET; /* a histogram's bare name: refused below */
        return -1;
    }
    return is_current(tf, n, nlen) ? MG_TF_VALUE : -1;
}

/* {name="value",...} at p; returns the end, or NULL after fail(). */
static const char *labels(struct mg_textfmt *tf, const char *p, const char *e,
                          struct mg_tf_sample *s, enum mg_reason *r, char *why)
{
    size_t n = 0;
    p = skip_blank(p + 1, e);
    while (p < e && *p != '}') {
        const char *ln = p;
        p = label_name(p, e);
        if (p == ln) {
            fail(tf, r, why, MG_REASON_INVALID_LABEL_NAME, "invalid label name \"%.*s\"",
                 token_len(ln, e), ln);
            return NULL;
        }
        uint32_t lnlen = (uint32_t)(p - ln);
        if (lnlen >= 2 && ln[0] == '_' && ln[1] == '_') {
            fail(tf, r, why, MG_REASON_INVALID_LABEL_NAME, "label name %.*s is reserved",
                 (int)lnlen, ln);
            return NULL;
        }
        p = skip_blank(p, e);
        if (p >= e || *p != '=') {
            fail(tf, r, why, MG_REASON_DECODE_ERROR, "expected '=' after label name %.*s",
                 (int)lnlen, ln);
            return NULL;
        }
        p = skip_blank(p + 1, e);
        if (p >= e || *p != '"') {
            fail(tf, r, why, MG_REASON_INVALID_LABEL_VALUE,
                 "expected '\"' to start the value of label %.*s", (int)lnlen, ln);
            return NULL;
        }
        const char *v = ++p;
        while (p < e && *p != '"')
            p += *p == '\\' && p + 1 < e ? 2 : 1;
        if (p >= e) {
            fail(tf, r, why, MG_REASON_INVALID_LABEL_VALUE,
                 "value of label %.*s is not terminated", (int)lnlen, ln);
            return NULL;
        }
        char bad = 0;
        uint32_t vlen;
        const char *uv = unescape(tf, v, (size_t)(p - v), 1, &bad, &vlen);
        if (!uv) {
            fail(tf, r, why, MG_REASON_INVALID_LABEL_VALUE,
                 "invalid escape \\%c in the value of label %.*s", bad, (int)lnlen, ln);
            return NULL;
        }
        if (!mg_utf8_valid(uv, vlen)) {
            fail(tf, r, why, MG_REASON_INVALID_LABEL_VALUE, "value of label %.*s is not UTF-8",
                 (int)lnlen, ln);
            return NULL;
        }
        for (size_t i = 0; i < n; i++)
            if (tf->labels[i].nlen == lnlen && memcmp(tf->labels[i].name, ln, lnlen) == 0) {
                fail(tf, r, why, MG_REASON_DUPLICATE_LABEL, "label %.*s appears twice",
                     (int)lnlen, ln);
                return NULL;
            }
        if (n > tf->max_labels) {
            fail(tf, r, why, MG_REASON_TOO_MANY_LABELS, "more than %zu labels",
                 tf->max_labels);
            return NULL;
        }
        tf->labels[n++] = (struct mg_label){ln, uv, lnlen, vlen};
        p = skip_blank(p + 1, e);
        if (p < e && *p == ',')
            p = skip_blank(p + 1, e);
        else if (p < e && *p != '}') {
            fail(tf, r, why, MG_REASON_DECODE_ERROR,
                 "expected ',' or '}' after the value of label %.*s", (int)lnlen, ln);
            return NULL;
        }
    }
    if (p >= e) {
        fail(tf, r, why, MG_REASON_DECODE_ERROR, "label set is not closed with '}'");
        return NULL;
    }
    s->labels = tf->labels;
    s->nlabels = n;
    return p + 1;
}

/* Takes le (histogram buckets) or quantile (summaries) out of the labels
 * into s->bound. */
static int take_bound(struct mg_textfmt *tf, struct mg_tf_sample *s,
                      enum mg_reason *r, char *why)
{
    const char *want = s->kind == MG_TF_BUCKET ? "le" : "quantile";
    size_t wl = strlen(want);
    for (size_t i = 0; i < s->nlabels; i++) {
        struct mg_label *l = &tf->labels[i];
        if (l->nlen != wl || memcmp(l->name, want, wl) != 0)
            continue;
        if (parse_float(l->value, l->value + l->vlen, &s->bound) || isnan(s->bound))
            return fail(tf, r, why, MG_REASON_INVALID_LABEL_VALUE,
                        "%s=\"%.*s\" is not a number", want, (int)(l->vlen > 40 ? 40 : l->vlen),
                        l->value);
        tf->labels[i] = tf->labels[--s->nlabels];
        return 0;
    }
    if (s->kind == MG_TF_BUCKET && s->nlen == tf->fnlen)
        return fail(tf, r, why, MG_REASON_INVALID_METRIC_NAME,
                    "histogram %.*s has no sample named %.*s: use _bucket, _sum or _count",
                    (int)tf->fnlen, tf->fname, (int)s->nlen, s->name);
    return fail(tf, r, why, MG_REASON_INVALID_LABEL_NAME, "%.*s has no %s label",
                (int)s->nlen, s->name, want);
}

static int sample(struct mg_textfmt *tf, const char *p, const char *e,
                  struct mg_tf_sample *s, enum mg_reason *r, char *why)
{
    memset(s, 0, sizeof(*s));
    const char *n = p;
    p = metric_name(p, e);
    if (p == n || (p < e && !is_blank(*p) && *p != '{'))
        return fail(tf, r, why, MG_REASON_INVALID_METRIC_NAME, "invalid metric name \"%.*s\"",
                    token_len(n, e), n);
    s->name = n;
    s->nlen = (uint32_t)(p - n);
    s->line = tf->line;
    int k = kind_of(tf, n, s->nlen);
    if (k < 0) {
        family_start(tf, n, s->nlen);
        k = MG_TF_VALUE;
    }
    s->kind = (enum mg_tf_kind)k;
    s->labels = tf->labels;
    p = skip_blank(p, e);
    if (p < e && *p == '{' && !(p = labels(tf, p, e, s, r, why)))
        return -1;
    if ((s->kind == MG_TF_BUCKET || s->kind == MG_TF_QUANTILE) && take_bound(tf, s, r, why))
        return -1;
    p = skip_blank(p, e);
    if (p >= e)
        return fail(tf, r, why, MG_REASON_INVALID_VALUE, "%.*s has no value", (int)s->nlen,
                    s->name);
    const char *v = p;
    while (p < e && !is_blank(*p))
        p++;
    if (parse_float(v, p, &s->value))
        return fail(tf, r, why, MG_REASON_INVALID_VALUE, "value \"%.*s\" is not a float",
                    token_len(v, e), v);
    p = skip_blank(p, e);
    if (p < e) {
        const char *t = p;
        while (p < e && !is_blank(*p))
            p++;
        if (parse_int64(t, p, &s->ts))
            return fail(tf, r, why, MG_REASON_INVALID_VALUE,
                        "timestamp \"%.*s\" is not an integer", token_len(t, e), t);
        s->has_ts = 1;
        if (skip_blank(p, e) != e)
            return fail(tf, r, why, MG_REASON_DECODE_ERROR, "text after the timestamp");
    }
    tf->has_samples = 1;
    s->fname = tf->fname;
    s->fnlen = tf->fnlen;
    s->type = tf->type;
    s->help = tf->help;
    s->hlen = tf->hlen;
    return 1;
}

int mg_textfmt_next(struct mg_textfmt *tf, struct mg_tf_sample *s,
                    enum mg_reason *r, char why[MG_WHY_LEN])
{
    while (tf->p < tf->end) {
        const char *p = tf->p, *e = memchr(p, '\n', (size_t)(tf->end - p));
        if (!e)
            e = tf->end;
        tf->p = e < tf->end ? e + 1 : e;
        tf->line++;
        p = skip_blank(p, e);
        if (p == e)
            continue;
        if (memchr(p, '\0', (size_t)(e - p)))
            return fail(tf, r, why, MG_REASON_DECODE_ERROR, "a NUL byte in the line");
        if (*p == '#') {
            if (comment(tf, p, e, r, why))
                return -1;
            continue;
        }
        return sample(tf, p, e, s, r, why);
    }
    return 0;
}
