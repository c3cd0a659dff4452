/* mg_promql_check: PromQL refused at load time. A rule file's q.promql
 * calls with a literal expression (q.promql("..."), q.promql '...',
 * q.promql [[...]]) are found by a small Lua lexer (comments and other
 * strings skipped), unescaped as Lua reads them, and parsed; an expression
 * built at run time is checked when it runs. */
#include "mg_promql_eval.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE (16u << 20)

int mg_pqe_check(const char *s, size_t n, char *why, size_t whylen)
{
    struct mg_pq *pq;
    int rc = mg_pq_parse(s, n, &pq, why, whylen);
    if (rc)
        return rc;
    int t = mg_pq_root(pq)->type;
    mg_pq_free(pq);
    if (t == MG_PQ_SCALAR || t == MG_PQ_VECTOR)
        return 0;
    snprintf(why, whylen, "the expression is a %s; it must give a scalar or "
             "an instant vector (wrap a range in a function such as rate)",
             t == MG_PQ_MATRIX ? "range vector" : "string");
    return -EINVAL;
}

/* The level of a long bracket at s ([[ is 0, [=[ is 1), or -1. */
static int long_open(const char *s, const char *e)
{
    if (s >= e || *s != '[')
        return -1;
    int lvl = 0;
    for (s++; s < e && *s == '='; s++)
        lvl++;
    return s < e && *s == '[' ? lvl : -1;
}

/* The end of a long bracket of level lvl whose body starts at s. */
static const char *long_close(const char *s, const char *e, int lvl,
                              const char **body_end)
{
    for (; s < e; s++) {
        if (*s != ']')
            continue;
        const char *p = s + 1;
        int k = 0;
        while (p < e && *p == '=' && k < lvl) {
            p++;
            k++;
        }
        if (k == lvl && p < e && *p == ']') {
            *body_end = s;
            return p + 1;
        }
    }
    *body_end = e;
    return e;
}

/* A quoted Lua string at s unescaped into out (at least its length);
 * returns the end of the literal, and *ok 0 for an escape left to Lua. */
static const char *quoted(const char *s, const char *e, char *out, size_t *n,
                          int *ok)
{
    char q = *s++;
    *n = 0;
    *ok = 1;
    for (; s < e && *s != q && *s != '\n'; s++) {
        if (*s != '\\') {
            out[(*n)++] = *s;
            continue;
        }
        if (++s >= e)
            break;
        const char *m = strchr("abfnrtv\\\"'\n", *s);
        if (m && *s) {
            out[(*n)++] = "\a\b\f\n\r\t\v\\\"'\n"[m - "abfnrtv\\\"'\n"];
        } else if (isdigit((unsigned char)*s)) {
            int v = 0, k = 0;
            for (; k < 3 && s < e && isdigit((unsigned char)*s); k++, s++)
                v = v * 10 + (*s - '0');
            s--;
            out[(*n)++] = (char)v;
        } else if (*s == 'x' && s + 2 < e && isxdigit((unsigned char)s[1]) &&
                   isxdigit((unsigned char)s[2])) {
            char h[3] = {s[1], s[2], 0};
            out[(*n)++] = (char)strtol(h, NULL, 16);
            s += 2;
        } else if (*s == 'z') {
            while (s + 1 < e && isspace((unsigned char)s[1]))
                s++;
        } else {
            *ok = 0; /* \u{...} and the like: checked when it runs */
        }
    }
    return s < e ? s + 1 : e;
}

static int line_of(const char *src, const char *at)
{
    int line = 1;
    for (const char *p = src; p < at; p++)
        line += *p == '\n';
    return line;
}

int mg_pqe_check_source(const char *src, size_t len, const char *name,
                        char *why, size_t whylen)
{
    const char *s = src, *e = src + len, *after_promql = NULL;
    int after_local = 0;
    char *buf = malloc(len + 1);
    if (!buf) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    int rc = 0;
    while (s < e && !rc) {
        const char *lit = s, *be;
        size_t n = 0;
        int ok = 1, lvl, is_lit = 1;
        if (s + 1 < e && s[0] == '-' && s[1] == '-') {
            s += 2;
            if ((lvl = long_open(s, e)) >= 0)
                s = long_close(s + lvl + 2, e, lvl, &be);
            else
                while (s < e && *s != '\n')
                    s++;
            continue;
        }
        if (*s == '"' || *s == '\'') {
            s = quoted(s, e, buf, &n, &ok);
        } else if ((lvl = long_open(s, e)) >= 0) {
            const char *body = s + lvl + 2;
            if (body < e && *body == '\n')
                body++;
            s = long_close(body, e, lvl, &be);
            n = (size_t)(be - body);
            memcpy(buf, body, n);
        } else {
            is_lit = 0;
        }
        if (is_lit) {
            /* "sum(" .. sel .. ")" is built at run time: checked then */
            const char *nx = s;
            while (nx < e && isspace((unsigned char)*nx))
                nx++;
            if (nx + 1 < e && nx[0] == '.' && nx[1] == '.')
                ok = 0;
            if (after_promql && ok &&
                mg_pqe_check(buf, n, why, whylen) != 0) {
                char msg[MG_PQ_WHY];
                snprintf(msg, sizeof(msg), "%s", why);
                snprintf(why, whylen, "%s:%d: promql: %s", name,
                         line_of(src, lit), msg);
                rc = -EINVAL;
            }
            after_promql = NULL;
            continue;
        }
        if (isalpha((unsigned char)*s) || *s == '_') {
            const char *w = s;
            while (s < e && (isalnum((unsigned char)*s) || *s == '_'))
                s++;
            int prev_ok = w == src || !(isalnum((unsigned char)w[-1]) ||
                                        w[-1] == '_');
            /* local promql = "..." is a variable of the script's own */
            after_promql = prev_ok && !after_local && s - w == 6 &&
                                   memcmp(w, "promql", 6) == 0
                               ? s : NULL;
            after_local = s - w == 5 && memcmp(w, "local", 5) == 0;
            continue;
        }
        /* between the name and its literal: blanks, "(" or "=" */
        if (!(after_promql && (isspace((unsigned char)*s) || *s == '(' ||
                               *s == '=')))
            after_promql = NULL;
        s++;
    }
    free(buf);
    return rc;
}

int mg_pqe_check_file(const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0; /* the loader has already said what is wrong with it */
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        size = MAX_FILE;
    if (size > (long)MAX_FILE)
        size = MAX_FILE;
    char *buf = malloc((size_t)size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!buf) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    int rc = mg_pqe_check_source(buf, n, path, why, whylen);
    free(buf);
    return rc;
}
