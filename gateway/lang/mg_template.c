/* mg_template: {{ }} expansion and the humanize filters. */
#include "mg_template.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_fmt.h"

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

static const char *trim(const char *s, const char *end, const char **e)
{
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *e = end;
    return s;
}

static int is_word(const char *s, const char *end, const char *w)
{
    size_t n = strlen(w);
    return (size_t)(end - s) == n && memcmp(s, w, n) == 0;
}

/* One {{ action }}: a value, then filters. Writes into buf. 0 or -1. */
static int action(const char *s, const char *end, const struct mg_label *labels,
                  size_t n, double value, char *buf, size_t len, char *err,
                  size_t errlen)
{
    const char *pipe = memchr(s, '|', (size_t)(end - s));
    const char *vend;
    const char *v = trim(s, pipe ? pipe : end, &vend);
    int is_value = 0;
    buf[0] = '\0';
    if (is_word(v, vend, "$value") || is_word(v, vend, ".Value")) {
        is_value = 1;
        mg_format_double(buf, value);
    } else if ((vend - v > 8 && memcmp(v, "$labels.", 8) == 0) ||
               (vend - v > 8 && memcmp(v, ".Labels.", 8) == 0)) {
        const char *name = v + 8;
        size_t nl = (size_t)(vend - name);
        for (size_t i = 0; i < n; i++)
            if (labels[i].nlen == nl && memcmp(labels[i].name, name, nl) == 0) {
                snprintf(buf, len, "%.*s", (int)labels[i].vlen, labels[i].value);
                break;
            }
    } else if (vend - v > 16 && memcmp(v, "$externalLabels.", 16) == 0) {
        /* a gateway has no external labels */
    } else if (vend > v && (isdigit((unsigned char)*v) || *v == '-' || *v == '.')) {
        char num[64], *e;
        snprintf(num, sizeof(num), "%.*s", (int)(vend - v), v);
        value = strtod(num, &e);
        if (*e) {
            snprintf(err, errlen, "bad number syntax: %s", num);
            return -1;
        }
        is_value = 1;
        mg_format_double(buf, value);
    } else {
        snprintf(err, errlen, "function \"%.*s\" not defined", (int)(vend - v), v);
        return -1;
    }
    while (pipe) {
        s = pipe + 1;
        pipe = memchr(s, '|', (size_t)(end - s));
        const char *fend;
        const char *f = trim(s, pipe ? pipe : end, &fend);
        double x = value;
        if (!is_value) {
            char *e;
            x = strtod(buf, &e);
            if (e == buf) {
                snprintf(err, errlen, "%.*s: not a number", (int)(fend - f), f);
                return -1;
            }
        }
        if (is_word(f, fend, "humanize"))
            mg_humanize(x, buf, len);
        else if (is_word(f, fend, "humanize1024"))
            mg_humanize1024(x, buf, len);
        else if (is_word(f, fend, "humanizePercentage"))
            mg_humanize_percentage(x, buf, len);
        else if (is_word(f, fend, "humanizeDuration"))
            mg_humanize_duration(x, buf, len);
        else {
            snprintf(err, errlen, "function \"%.*s\" not defined", (int)(fend - f), f);
            return -1;
        }
        is_value = 0;
    }
    return 0;
}

int mg_template_expand(const char *tmpl, const struct mg_label *labels,
                       size_t n, double value, char *out, size_t len)
{
    size_t k = 0;
    const char *p = tmpl;
    char err[160];
    out[0] = '\0';
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            k += (size_t)snprintf(out + (k < len ? k : len - 1), k < len ? len - k : 1, "%s", p);
            break;
        }
        k += (size_t)snprintf(out + (k < len ? k : len - 1), k < len ? len - k : 1, "%.*s",
                              (int)(open - p), p);
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            snprintf(out, len, "<error expanding template: unclosed action>");
            return -1;
        }
        const char *s = open + 2, *e = close;
        if (s < e && *s == '-')
            s++; /* {{- trims in Go; the space is ours to keep */
        if (e > s && e[-1] == '-')
            e--;
        char buf[512];
        if (action(s, e, labels, n, value, buf, sizeof(buf), err, sizeof(err))) {
            snprintf(out, len, "<error expanding template: %s>", err);
            return -1;
        }
        k += (size_t)snprintf(out + (k < len ? k : len - 1), k < len ? len - k : 1, "%s", buf);
        p = close + 2;
    }
    return 0;
}
