/* mg_template_fn: the functions templates call, as Prometheus's template
 * package defines them, and the humanize filters. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_regex.h"
#include "mg_template_int.h"

/* Go's %.4g, which C's matches for these magnitudes. */
static void g4(char *buf, size_t len, double v, const char *suffix)
{
    if (isnan(v))
        snprintf(buf, len, "NaN%s", suffix);
    else if (isinf(v))
        snprintf(buf, len, "%sInf%s", v > 0 ? "+" : "-", suffix);
    else
        snprintf(buf, len, "%.4g%s", v, suffix);
}

static void small_prefix(double v, char *buf, size_t len, const char *unit)
{
    static const char *const p[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    const char *prefix = "";
    for (int i = 0; i < 8 && fabs(v) < 1; i++) {
        prefix = p[i];
        v *= 1000;
    }
    char s[16];
    snprintf(s, sizeof(s), "%s%s", prefix, unit);
    g4(buf, len, v, s);
}

void mg_humanize(double v, char *buf, size_t len)
{
    static const char *const p[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
    if (v == 0 || isnan(v) || isinf(v)) {
        g4(buf, len, v, "");
        return;
    }
    if (fabs(v) < 1) {
        small_prefix(v, buf, len, "");
        return;
    }
    const char *prefix = "";
    for (int i = 0; i < 8 && fabs(v) >= 1000; i++) {
        prefix = p[i];
        v /= 1000;
    }
    g4(buf, len, v, prefix);
}

void mg_humanize1024(double v, char *buf, size_t len)
{
    static const char *const p[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
    if (fabs(v) <= 1 || isnan(v) || isinf(v)) {
        g4(buf, len, v, "");
        return;
    }
    const char *prefix = "";
    for (int i = 0; i < 8 && fabs(v) >= 1024; i++) {
        prefix = p[i];
        v /= 1024;
    }
    g4(buf, len, v, prefix);
}

void mg_humanize_percentage(double v, char *buf, size_t len)
{
    g4(buf, len, v * 100, "%");
}

void mg_humanize_duration(double v, char *buf, size_t len)
{
    if (v == 0 || isnan(v) || isinf(v)) {
        g4(buf, len, v, "s");
        return;
    }
    if (fabs(v) < 1) {
        small_prefix(v, buf, len, "s");
        return;
    }
    const char *sign = v < 0 ? "-" : "";
    double a = fabs(v);
    /* past int64's range the conversion is undefined: clamp */
    int64_t d = a < 0x1p63 ? (int64_t)a : INT64_MAX;
    int64_t s = d % 60, m = (d / 60) % 60, h = (d / 3600) % 24, days = d / 86400;
    if (days)
        snprintf(buf, len, "%s%lldd %lldh %lldm %llds", sign, (long long)days,
                 (long long)h, (long long)m, (long long)s);
    else if (h)
        snprintf(buf, len, "%s%lldh %lldm %llds", sign, (long long)h, (long long)m,
                 (long long)s);
    else if (m)
        snprintf(buf, len, "%s%lldm %llds", sign, (long long)m, (long long)s);
    else
        snprintf(buf, len, "%s%.4gs", sign, a);
}

/* ---- helpers ---- */

static int str_val(struct tmpl_exec *x, struct tmpl_val *out, const char *s, size_t n)
{
    char *p = tmpl_alloc(x, n ? n : 1);
    if (!p)
        return -1;
    /* an empty result may come from a buffer never grown (s NULL) */
    if (n)
        memcpy(p, s, n);
    *out = (struct tmpl_val){.t = V_STR, .s = p, .len = n};
    return 0;
}

static int cstr_val(struct tmpl_exec *x, struct tmpl_val *out, const char *s)
{
    return str_val(x, out, s, strlen(s));
}

int tmpl_float(struct tmpl_exec *x, const struct tmpl_val *v, double *out)
{
    if (v->t == V_NUM) {
        *out = v->n;
        return 0;
    }
    if (v->t == V_STR) {
        char buf[128], *e;
        snprintf(buf, sizeof(buf), "%.*s", (int)(v->len < 127 ? v->len : 127), v->s);
        *out = strtod(buf, &e);
        if (e != buf && !*e && v->len < 127)
            return 0;
        return tmpl_err(x, "strconv.ParseFloat: parsing \"%s\": invalid syntax", buf);
    }
    return tmpl_err(x, "can't convert %s to float", v->t == V_BOOL ? "bool" : "this value");
}

static int need_str(struct tmpl_exec *x, const struct tmpl_val *v, const char *what)
{
    if (v->t != V_STR)
        return tmpl_err(x, "%s must be a string", what);
    return 0;
}

/* ---- humanize ---- */

typedef void (*human_fn)(double, char *, size_t);

static int human(struct tmpl_exec *x, const struct tmpl_val *a, struct tmpl_val *out,
                 human_fn f)
{
    double v;
    char buf[96];
    if (tmpl_float(x, a, &v))
        return -1;
    f(v, buf, sizeof(buf));
    return cstr_val(x, out, buf);
}

static int f_humanize(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    return human(x, a, o, mg_humanize);
}

static int f_humanize1024(struct tmpl_exec *x, const struct tmpl_val *a, int n,
                          struct tmpl_val *o)
{
    (void)n;
    return human(x, a, o, mg_humanize1024);
}

static int f_humanize_pct(struct tmpl_exec *x, const struct tmpl_val *a, int n,
                          struct tmpl_val *o)
{
    (void)n;
    return human(x, a, o, mg_humanize_percentage);
}

static int f_humanize_dur(struct tmpl_exec *x, const struct tmpl_val *a, int n,
                          struct tmpl_val *o)
{
    (void)n;
    return human(x, a, o, mg_humanize_duration);
}

/* Go's time.Time.String() in UTC: 2006-01-02 15:04:05.999999999 +0000 UTC */
static int f_humanize_ts(struct tmpl_exec *x, const struct tmpl_val *a, int n,
                         struct tmpl_val *o)
{
    (void)n;
    double v;
    char buf[96];
    if (tmpl_float(x, a, &v))
        return -1;
    if (isnan(v) || isinf(v)) {
        snprintf(buf, sizeof(buf), isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return cstr_val(x, o, buf);
    }
    if (fabs(v) > 1e13)
        return tmpl_err(x, "timestamp out of range");
    double sec = floor(v);
    long ns = lround((v - sec) * 1e9);
    if (ns >= 1000000000L) {
        sec += 1;
        ns -= 1000000000L;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t k = strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
    if (ns) {
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, ".%09ld", ns);
        while (buf[k - 1] == '0')
            buf[--k] = '\0';
    }
    snprintf(buf + k, sizeof(buf) - k, " +0000 UTC");
    return cstr_val(x, o, buf);
}

/* ---- strings ---- */

static int f_case(struct tmpl_exec *x, const struct tmpl_val *a, struct tmpl_val *o, int mode)
{
    if (need_str(x, a, "the argument") || str_val(x, o, a->s, a->len))
        return -1;
    char *p = (char *)o->s;
    int start = 1;
    for (size_t i = 0; i < o->len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (mode == 0)
            p[i] = (char)toupper(c);
        else if (mode == 1)
            p[i] = (char)tolower(c);
        else if (start && c < 0x80)
            p[i] = (char)toupper(c);
        /* strings.Title: a word starts after anything not a letter, digit or _ */
        start = c < 0x80 && !isalnum(c) && c != '_';
    }
    return 0;
}

static int f_upper(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    return f_case(x, a, o, 0);
}

static int f_lower(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    return f_case(x, a, o, 1);
}

static int f_title(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    return f_case(x, a, o, 2);
}

/* host:port -> host, [v6]:port -> v6; anything else as it is. */
static void split_port(const char *s, size_t n, size_t *hs, size_t *hn, size_t *port)
{
    *hs = 0;
    *hn = n;
    *port = n;
    const char *colon = memchr(s, ':', n);
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close && close + 1 < s + n && close[1] == ':') {
            *hs = 1;
            *hn = (size_t)(close - s) - 1;
            *port = (size_t)(close - s) + 1;
        }
    } else if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - s) - 1)) {
        *hn = (size_t)(colon - s);
        *port = *hn;
    }
}

static int f_strip_port(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    if (need_str(x, a, "the address"))
        return -1;
    size_t hs, hn, port;
    split_port(a->s, a->len, &hs, &hn, &port);
    return str_val(x, o, a->s + hs, hn);
}

static int f_strip_domain(struct tmpl_exec *x, const struct tmpl_val *a, int n,
                          struct tmpl_val *o)
{
    (void)n;
    if (need_str(x, a, "the host"))
        return -1;
    size_t hs, hn, port;
    split_port(a->s, a->len, &hs, &hn, &port);
    int ip = hs == 1 || memchr(a->s, ':', hn) != NULL;
    size_t digits = 0;
    for (size_t i = 0; i < hn; i++)
        digits += isdigit((unsigned char)a->s[i]) || a->s[i] == '.';
    if (ip || digits == hn)
        return str_val(x, o, a->s, a->len);
    const char *dot = memchr(a->s, '.', hn);
    if (!dot)
        return str_val(x, o, a->s, a->len);
    size_t keep = (size_t)(dot - a->s), rest = a->len - port;
    char *p = tmpl_alloc(x, keep + rest + 1);
    if (!p)
        return -1;
    memcpy(p, a->s, keep);
    memcpy(p + keep, a->s + port, rest);
    *o = (struct tmpl_val){.t = V_STR, .s = p, .len = keep + rest};
    return 0;
}

static int f_len(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    if (a->t != V_STR && a->t != V_MAP)
        return tmpl_err(x, "len of this type");
    *o = (struct tmpl_val){.t = V_NUM, .isint = 1,
                           .n = (double)(a->t == V_STR ? a->len : a->mn)};
    return 0;
}

static int f_index(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    if (a[0].t != V_MAP || a[1].t != V_STR)
        return tmpl_err(x, "index of a label map by a string only");
    *o = (struct tmpl_val){.t = V_STR, .s = "", .len = 0};
    for (size_t i = 0; i < a[0].mn; i++)
        if (a[0].m[i].nlen == a[1].len && memcmp(a[0].m[i].name, a[1].s, a[1].len) == 0)
            *o = (struct tmpl_val){.t = V_STR, .s = a[0].m[i].value, .len = a[0].m[i].vlen};
    return 0;
}

/* ---- regexes ---- */

static int compile(struct tmpl_exec *x, const struct tmpl_val *pat, struct mg_regex **re,
                   struct mg_rematch **m)
{
    char why[160];
    if (need_str(x, pat, "the pattern"))
        return -1;
    if (mg_regex_compile(pat->s, pat->len, re, why, sizeof(why)))
        return tmpl_err(x, "error parsing regexp: %s", why);
    if (!(*m = mg_rematch_new())) {
        mg_regex_free(*re);
        return tmpl_err(x, "out of memory");
    }
    return 0;
}

static int f_match(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    struct mg_regex *re;
    struct mg_rematch *m;
    char why[160];
    if (need_str(x, &a[1], "the text") || compile(x, &a[0], &re, &m))
        return -1;
    int rc = mg_regex_match(re, m, a[1].s, a[1].len, 0, why, sizeof(why));
    mg_rematch_free(m);
    mg_regex_free(re);
    if (rc < 0)
        return tmpl_err(x, "%s", why);
    *o = (struct tmpl_val){.t = V_BOOL, .n = rc};
    return 0;
}

static int f_replace(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    struct mg_regex *re;
    struct mg_rematch *m;
    struct mg_retmpl *t = NULL;
    struct mg_rebuf b = {0};
    char why[160];
    if (need_str(x, &a[1], "the replacement") || need_str(x, &a[2], "the text") ||
        compile(x, &a[0], &re, &m))
        return -1;
    int rc = mg_retmpl_compile(a[1].s, a[1].len, re, &t);
    if (!rc)
        rc = mg_regex_replace_all(re, m, a[2].s, a[2].len, t, &b, why, sizeof(why));
    else
        snprintf(why, sizeof(why), "out of memory");
    if (rc == 0)
        rc = str_val(x, o, a[2].s, a[2].len);
    else if (rc > 0)
        rc = str_val(x, o, b.p, b.len);
    else
        rc = tmpl_err(x, "%s", why);
    mg_retmpl_free(t);
    mg_rebuf_fini(&b);
    mg_rematch_free(m);
    mg_regex_free(re);
    return rc;
}

/* ---- comparison and logic ---- */

/* -1, 0, 1, or 2 with an error when the kinds differ. Numbers compare as
 * numbers whether written 1 or 1.0 (Go would refuse to mix them). */
static int compare(struct tmpl_exec *x, const struct tmpl_val *a, const struct tmpl_val *b)
{
    if (a->t == V_NUM && b->t == V_NUM)
        return (a->n > b->n) - (a->n < b->n);
    if (a->t == V_STR && b->t == V_STR) {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->s, b->s, n);
        return c ? (c > 0) - (c < 0) : (a->len > b->len) - (a->len < b->len);
    }
    if (a->t == V_BOOL && b->t == V_BOOL)
        return (a->n > b->n) - (a->n < b->n);
    tmpl_err(x, "incompatible types for comparison");
    return 2;
}

static int f_eq(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    int eq = 0;
    for (int i = 1; i < n && !eq; i++) {
        int c = compare(x, &a[0], &a[i]);
        if (c == 2)
            return -1;
        eq = c == 0;
    }
    *o = (struct tmpl_val){.t = V_BOOL, .n = eq};
    return 0;
}

static int ordered(struct tmpl_exec *x, const struct tmpl_val *a, struct tmpl_val *o,
                   int lo, int hi)
{
    int c = compare(x, &a[0], &a[1]);
    if (c == 2)
        return -1;
    if (a[0].t == V_BOOL)
        return tmpl_err(x, "invalid type for comparison");
    *o = (struct tmpl_val){.t = V_BOOL, .n = c >= lo && c <= hi};
    return 0;
}

static int f_ne(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    int c = compare(x, &a[0], &a[1]);
    if (c == 2)
        return -1;
    *o = (struct tmpl_val){.t = V_BOOL, .n = c != 0};
    return 0;
}

static int f_lt(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    return ordered(x, a, o, -1, -1);
}

static int f_le(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    return ordered(x, a, o, -1, 0);
}

static int f_gt(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    return ordered(x, a, o, 1, 1);
}

static int f_ge(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)n;
    return ordered(x, a, o, 0, 1);
}

/* and: the first false argument, or the last; or: the first true one. */
static int f_and(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)x;
    int i = 0;
    while (i < n - 1 && tmpl_truth(&a[i]))
        i++;
    *o = a[i];
    return 0;
}

static int f_or(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)x;
    int i = 0;
    while (i < n - 1 && !tmpl_truth(&a[i]))
        i++;
    *o = a[i];
    return 0;
}

static int f_not(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    (void)x;
    (void)n;
    *o = (struct tmpl_val){.t = V_BOOL, .n = !tmpl_truth(a)};
    return 0;
}

/* ---- print and printf ---- */

struct sbuf {
    char p[4096];
    size_t k;
};

static void sput(struct sbuf *b, const char *s, size_t n)
{
    if (n > sizeof(b->p) - 1 - b->k)
        n = sizeof(b->p) - 1 - b->k;
    memcpy(b->p + b->k, s, n);
    b->k += n;
}

static void sputs(struct sbuf *b, const char *s)
{
    sput(b, s, strlen(s));
}

/* fmt.Sprint: operands side by side, a space between two that are not
 * strings. */
static int f_print(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    struct sbuf sb, *b = &sb;
    b->k = 0;
    for (int i = 0; i < n; i++) {
        const char *s;
        size_t len;
        if (i && a[i].t != V_STR && a[i - 1].t != V_STR)
            sput(b, " ", 1);
        if (tmpl_print(x, &a[i], &s, &len))
            return -1;
        sput(b, s, len);
    }
    return str_val(x, o, b->p, b->k);
}

/* strconv.Quote for ASCII and UTF-8 passed through. */
static void quote(struct sbuf *b, const char *s, size_t n)
{
    sput(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            sput(b, esc, 2);
        } else if (c == '\n') {
            sputs(b, "\\n");
        } else if (c == '\t') {
            sputs(b, "\\t");
        } else if (c == '\r') {
            sputs(b, "\\r");
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            sputs(b, esc);
        } else {
            sput(b, (const char *)&c, 1);
        }
    }
    sput(b, "\"", 1);
}

/* %!v(type=value), Go's note of a verb that does not fit its operand. */
static int bad_verb(struct tmpl_exec *x, struct sbuf *b, char verb, const struct tmpl_val *v)
{
    const char *s;
    size_t len;
    static const char *const types[] = {"<nil>", "string", "float64", "bool",
                                        "map[string]string", "*template.Data"};
    char head[48];
    if (tmpl_print(x, v, &s, &len))
        return -1;
    snprintf(head, sizeof(head), "%%!%c(%s=", verb, types[v->t]);
    sputs(b, head);
    sput(b, s, len);
    sput(b, ")", 1);
    return 0;
}

/* One verb with its operand; spec is the C conversion without the verb. */
static int one_verb(struct tmpl_exec *x, struct sbuf *b, const char *spec, int width,
                    int prec, char verb, const struct tmpl_val *v)
{
    char fmt[48], tmp[512];
    const char *s;
    size_t len;
    switch (verb) {
    case 'd':
    case 'x':
    case 'X':
        if (v->t == V_NUM && v->n == floor(v->n) && fabs(v->n) < 9.2e18) {
            snprintf(fmt, sizeof(fmt), "%sll%c", spec, verb);
            snprintf(tmp, sizeof(tmp), fmt, (long long)v->n);
            sputs(b, tmp);
            return 0;
        }
        if (verb != 'd' && v->t == V_STR) {
            for (size_t i = 0; i < v->len; i++) {
                snprintf(tmp, sizeof(tmp), verb == 'x' ? "%02x" : "%02X",
                         (unsigned char)v->s[i]);
                sputs(b, tmp);
            }
            return 0;
        }
        return bad_verb(x, b, verb, v);
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
        if (v->t != V_NUM)
            return bad_verb(x, b, verb, v);
        if (isnan(v->n) || isinf(v->n) || ((verb == 'g' || verb == 'G') && prec < 0)) {
            char num[64];
            tmpl_go_float(num, sizeof(num), v->n, 'g', -1);
            snprintf(tmp, sizeof(tmp), "%*s", width, num);
        } else {
            snprintf(fmt, sizeof(fmt), "%s%c", spec, verb);
            snprintf(tmp, sizeof(tmp), fmt, v->n);
        }
        sputs(b, tmp);
        return 0;
    case 't':
        if (v->t != V_BOOL)
            return bad_verb(x, b, verb, v);
        /* fall through */
    case 's':
    case 'v':
    case 'q': {
        if (tmpl_print(x, v, &s, &len))
            return -1;
        struct sbuf qb, *q = &qb;
        q->k = 0;
        if (verb == 'q')
            quote(q, s, len);
        else
            sput(q, s, len);
        if (!spec[1]) { /* no width or precision: as it is, however long */
            sput(b, q->p, q->k);
            return 0;
        }
        /* C's %s takes only - of the flags */
        if (prec >= 0)
            snprintf(fmt, sizeof(fmt), "%%%s%d.%ds", strchr(spec, '-') ? "-" : "", width, prec);
        else
            snprintf(fmt, sizeof(fmt), "%%%s%ds", strchr(spec, '-') ? "-" : "", width);
        q->p[q->k] = '\0';
        snprintf(tmp, sizeof(tmp), fmt, q->p);
        sputs(b, tmp);
        return 0;
    }
    default:
        return bad_verb(x, b, verb, v);
    }
}

static int f_printf(struct tmpl_exec *x, const struct tmpl_val *a, int n, struct tmpl_val *o)
{
    if (need_str(x, &a[0], "the format"))
        return -1;
    struct sbuf sb, *b = &sb;
    b->k = 0;
    int arg = 1;
    const char *f = a[0].s, *end = a[0].s + a[0].len;
    while (f < end) {
        if (*f != '%') {
            sput(b, f++, 1);
            continue;
        }
        char spec[32] = "%";
        size_t k = 1;
        f++;
        while (f < end && strchr("-+# 0", *f) && k < 8)
            spec[k++] = *f++;
        int width = 0, prec = -1;
        while (f < end && isdigit((unsigned char)*f) && k < 16) {
            if (width < 100000)
                width = width * 10 + (*f - '0');
            spec[k++] = *f++;
        }
        if (f < end && *f == '.') {
            spec[k++] = *f++;
            prec = 0;
            while (f < end && isdigit((unsigned char)*f) && k < 24) {
                if (prec < 100000)
                    prec = prec * 10 + (*f - '0');
                spec[k++] = *f++;
            }
        }
        spec[k] = '\0';
        if (f >= end) {
            sputs(b, "%!(NOVERB)");
            break;
        }
        char verb = *f++;
        if (verb == '%') {
            sput(b, "%", 1);
            continue;
        }
        if (arg >= n) {
            char tmp[24];
            snprintf(tmp, sizeof(tmp), "%%!%c(MISSING)", verb);
            sputs(b, tmp);
            continue;
        }
        if (width > 256 || prec > 64)
            return tmpl_err(x, "printf: width or precision too large");
        if (one_verb(x, b, spec, width, prec, verb, &a[arg++]))
            return -1;
    }
    if (arg < n) {
        sputs(b, "%!(EXTRA ");
        for (int i = arg; i < n; i++) {
            const char *s;
            size_t len;
            if (tmpl_print(x, &a[i], &s, &len))
                return -1;
            sputs(b, i > arg ? ", " : "");
            sputs(b, a[i].t == V_STR ? "string=" : a[i].t == V_NUM ? "float64=" : "");
            sput(b, s, len);
        }
        sput(b, ")", 1);
    }
    return str_val(x, o, b->p, b->k);
}

const struct tmpl_func mg_tmpl_funcs[] = {
    {"eq", 2, -1, f_eq},
    {"ne", 2, 2, f_ne},
    {"lt", 2, 2, f_lt},
    {"le", 2, 2, f_le},
    {"gt", 2, 2, f_gt},
    {"ge", 2, 2, f_ge},
    {"and", 1, -1, f_and},
    {"or", 1, -1, f_or},
    {"not", 1, 1, f_not},
    {"len", 1, 1, f_len},
    {"index", 2, 2, f_index},
    {"print", 0, -1, f_print},
    {"printf", 1, -1, f_printf},
    {"humanize", 1, 1, f_humanize},
    {"humanize1024", 1, 1, f_humanize1024},
    {"humanizePercentage", 1, 1, f_humanize_pct},
    {"humanizeDuration", 1, 1, f_humanize_dur},
    {"humanizeTimestamp", 1, 1, f_humanize_ts},
    {"title", 1, 1, f_title},
    {"toUpper", 1, 1, f_upper},
    {"toLower", 1, 1, f_lower},
    {"reReplaceAll", 3, 3, f_replace},
    {"match", 2, 2, f_match},
    {"stripPort", 1, 1, f_strip_port},
    {"stripDomain", 1, 1, f_strip_domain},
    {NULL, 0, 0, NULL}};

int mg_tmpl_func_find(const char *name, size_t n)
{
    for (int i = 0; mg_tmpl_funcs[i].name; i++)
        if (strlen(mg_tmpl_funcs[i].name) == n && memcmp(mg_tmpl_funcs[i].name, name, n) == 0)
            return i;
    return -1;
}
