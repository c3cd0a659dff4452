/* mg_selector: a lexer and a recursive-descent parser for the one rule of
 * Prometheus's grammar a metric selector needs (vector_selector, as
 * ParseMetricSelector starts it), with PromQL's lexer words in its errors;
 * matching over borrowed labels. */
#include "mg_selector.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_vec.h"
#include "mg_common.h"
#include "mg_re2.h"

/* How much of a name, value or pattern a message quotes, and the buffer
 * that holds it shown. */
#define CLIP 40
#define SHOW_LEN 96

static const char metric_label[] = "__name__";
#define METRIC_LABEL_LEN (sizeof(metric_label) - 1)

enum op { OP_EQ, OP_NEQ, OP_RE, OP_NRE };

struct matcher {
    struct mg_label l;   /* name and value, in sel->text or static */
    enum op op;
    int empty;           /* 1 when it accepts "", as an absent label reads */
    struct mg_regex *re; /* OP_RE and OP_NRE: ^(?s:value)$ */
};

struct mg_selector {
    struct matcher *m;
    size_t n, cap;
    /* Every name and decoded value, one block: each comes from its own
     * source bytes and none decodes longer, so input length is enough. */
    char *text;
};

enum tok {
    T_EOF,
    T_IDENT,
    T_STRING,
    T_LBRACE,
    T_RBRACE,
    T_COMMA,
    T_EQ,
    T_NEQ,
    T_RE,
    T_NRE,
    T_CHAR /* outside braces: any other character, for the parser to refuse */
};

struct token {
    enum tok kind;
    size_t pos, end;  /* source bytes [pos, end) */
    const char *val;  /* T_IDENT: in the source; T_STRING: decoded, in text */
    size_t vlen;
};

struct parser {
    const char *s;
    size_t n, pos;
    struct mg_selector *sel;
    size_t used;          /* bytes of sel->text taken */
    struct mg_rematch *m; /* to ask whether a regex accepts "" */
    char *why;
    size_t whylen;
};

/* Up to CLIP bytes of s for a message: whole UTF-8 sequences, control
 * characters and bytes that start none as \xHH, "..." when cut; so why
 * stays one line of UTF-8 whatever a \x escape or a raw string held. */
static const char *show(const char *s, size_t n, char *buf, size_t len)
{
    size_t i = 0, k = 0;
    uint32_t cp;

    while (i < n && i < CLIP && k + 8 < len) {
        unsigned char c = (unsigned char)s[i];
        size_t w = c < 0x80 ? 1 : mg_utf8_next(s + i, n - i, &cp);
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && w == 1)) {
            snprintf(buf + k, len - k, "\\x%02x", c);
            k += 4;
            i++;
        } else {
            memcpy(buf + k, s + i, w);
            k += w;
            i += w;
        }
    }
    if (i < n) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Prometheus's position: line and byte column of pos, both from 1. */
__attribute__((format(printf, 3, 4)))
static int fail(struct parser *p, size_t pos, const char *fmt, ...)
{
    size_t line = 1, bol = 0;
    va_list ap;

    for (size_t i = 0; i < pos; i++) {
        if (p->s[i] == '\n') {
            line++;
            bol = i + 1;
        }
    }
    int k = snprintf(p->why, p->whylen, "%zu:%zu: parse error: ", line,
                     pos - bol + 1);
    if (k >= 0 && (size_t)k < p->whylen) {
        va_start(ap, fmt);
        vsnprintf(p->why + k, p->whylen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Go's %q for the character at s (n > 0 bytes): 'x', '\n', '\x00'; a byte
 * that starts no UTF-8 sequence is shown as \xHH. */
static const char *quote_char(const char *s, size_t n, char *buf, size_t len)
{
    static const char from[] = "\a\b\f\n\r\t\v", to[] = "abfnrtv";
    unsigned char c = (unsigned char)s[0];
    const char *e = c ? strchr(from, c) : NULL;
    uint32_t cp;
    size_t w = c >= 0x80 ? mg_utf8_next(s, n, &cp) : 1;

    if (w > 1)
        snprintf(buf, len, "'%.*s'", (int)w, s);
    else if (c == '\'' || c == '\\')
        snprintf(buf, len, "'\\%c'", c);
    else if (c >= 0x20 && c < 0x7f)
        snprintf(buf, len, "'%c'", c);
    else if (e)
        snprintf(buf, len, "'\\%c'", to[e - from]);
    else
        snprintf(buf, len, "'\\x%02x'", c);
    return buf;
}

/* Go's %#U, which the lexer's escape errors use: U+0067 'g', U+000A. */
static const char *rune_u(const char *s, size_t n, char *buf, size_t len)
{
    uint32_t cp;
    size_t w = mg_utf8_next(s, n, &cp);

    if ((cp >= 0x20 && cp < 0x7f) || (w > 1 && cp >= 0xa0))
        snprintf(buf, len, "U+%04X '%.*s'", (unsigned)cp, (int)w, s);
    else
        snprintf(buf, len, "U+%04X", (unsigned)cp);
    return buf;
}

/* ---- lexing ---- */

/* Spaces and # comments, which PromQL allows between any two tokens. */
static void skip_space(struct parser *p)
{
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (is_space(c)) {
            p->pos++;
        } else if (c == '#') {
            while (p->pos < p->n && p->s[p->pos] != '\n' &&
                   p->s[p->pos] != '\r')
                p->pos++;
        } else {
            break;
        }
    }
}

static int hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 16;
}

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One escape at *ip of a string opened by q, by Go's rules as PromQL's lexer
 * and strutil.Unquote apply them: only the opening quote may be escaped, \x
 * and octal give one byte (not always UTF-8), \u and \U a code point in
 * UTF-8. Errors point at the backslash. */
static int escape(struct parser *p, char q, size_t *ip, char *out, size_t *kp)
{
    static const char from[] = "abfnrtv\\", to[] = "\a\b\f\n\r\t\v\\";
    size_t at = *ip, i = at + 1;
    uint32_t x = 0, base, max;
    int digits;
    char buf[24];

    if (i >= p->n)
        return fail(p, at, "escape sequence not terminated");
    char c = p->s[i++];
    const char *e = c ? strchr(from, c) : NULL;
    if (e || c == q) {
        out[(*kp)++] = e ? to[e - from] : q;
        *ip = i;
        return 0;
    }
    if (c >= '0' && c <= '7') {
        digits = 3, base = 8, max = 255;
        i--;
    } else if (c == 'x') {
        digits = 2, base = 16, max = 255;
    } else if (c == 'u') {
        digits = 4, base = 16, max = 0x10ffff;
    } else if (c == 'U') {
        digits = 8, base = 16, max = 0x10ffff;
    } else {
        return fail(p, at, "unknown escape sequence %s",
                    rune_u(p->s + i - 1, p->n - i + 1, buf, sizeof(buf)));
    }
    for (; digits > 0; digits--, i++) {
        if (i >= p->n)
            return fail(p, at, "escape sequence not terminated");
        uint32_t d = (uint32_t)hex_value((unsigned char)p->s[i]);
        if (d >= base)
            return fail(p, at, "illegal character %s in escape sequence",
                        rune_u(p->s + i, p->n - i, buf, sizeof(buf)));
        x = x * base + d;
    }
    if (x > max || (x >= 0xd800 && x < 0xe000))
        return fail(p, at, "escape sequence is an invalid Unicode code point");
    if (c == 'u' || c == 'U')
        *kp += utf8_put(out + *kp, x);
    else
        out[(*kp)++] = (char)x;
    *ip = i;
    return 0;
}

/* A "...", '...' or `...` string at p->pos, decoded into sel->text. */
static int lex_string(struct parser *p, struct token *t)
{
    char q = p->s[p->pos];
    char *out = p->sel->text + p->used;
    size_t i = p->pos + 1, k = 0;
    uint32_t cp;
    int rc;

    for (;;) {
        if (i >= p->n || (q != '`' && p->s[i] == '\n'))
            return fail(p, t->pos, q == '`' ? "unterminated raw string"
                                            : "unterminated quoted string");
        unsigned char c = (unsigned char)p->s[i];
        if (c == (unsigned char)q)
            break;
        if (c == '\\' && q != '`') {
            if ((rc = escape(p, q, &i, out, &k)) != 0)
                return rc;
        } else if (c >= 0x80) {
            size_t w = mg_utf8_next(p->s + i, p->n - i, &cp);
            if (w == 1)
                return fail(p, i, "invalid UTF-8 rune");
            memcpy(out + k, p->s + i, w);
            k += w;
            i += w;
        } else {
            out[k++] = (char)c;
            i++;
        }
    }
    mg_require(p->used + k <= p->n);
    p->used += k;
    p->pos = i + 1;
    t->kind = T_STRING;
    t->end = p->pos;
    t->val = out;
    t->vlen = k;
    return 0;
}

/* The next token; inside braces the lexer refuses what PromQL's
 * lexInsideBraces refuses, outside it leaves that to the parser. Identifiers
 * take ':' only outside, as metric names do. */
static int lex(struct parser *p, int inside, struct token *t)
{
    char buf[24];

    skip_space(p);
    memset(t, 0, sizeof(*t));
    t->pos = t->end = p->pos;
    if (p->pos >= p->n) {
        if (inside)
            return fail(p, p->pos, "unexpected end of input inside braces");
        t->kind = T_EOF;
        return 0;
    }
    const char *s = p->s + p->pos;
    size_t left = p->n - p->pos, w = 1;
    char c = s[0];
    if (is_alpha(c) || (!inside && c == ':')) {
        while (w < left && (is_alpha(s[w]) || is_digit(s[w]) ||
                            (!inside && s[w] == ':')))
            w++;
        t->kind = T_IDENT;
        t->val = s;
        t->vlen = w;
    } else if (!inside) {
        t->kind = c == '{' ? T_LBRACE : T_CHAR;
    } else if (c == '"' || c == '\'' || c == '`') {
        return lex_string(p, t);
    } else if (c == ',') {
        t->kind = T_COMMA;
    } else if (c == '}') {
        t->kind = T_RBRACE;
    } else if (c == '=') {
        w = left > 1 && s[1] == '~' ? 2 : 1;
        t->kind = w == 2 ? T_RE : T_EQ;
    } else if (c == '!') {
        if (left == 1)
            return fail(p, p->pos, "unexpected end of input after '!' "
                                   "inside braces");
        if (s[1] != '=' && s[1] != '~')
            return fail(p, p->pos,
                        "unexpected character after '!' inside braces: %s",
                        quote_char(s + 1, left - 1, buf, sizeof(buf)));
        w = 2;
        t->kind = s[1] == '=' ? T_NEQ : T_NRE;
    } else if (c == '{') {
        return fail(p, p->pos, "unexpected left brace '{'");
    } else {
        return fail(p, p->pos, "unexpected character inside braces: %s",
                    quote_char(s, left, buf, sizeof(buf)));
    }
    p->pos += w;
    t->end = p->pos;
    return 0;
}

/* How a parser error names a token, after Prometheus's Item.desc. */
static const char *desc(const struct parser *p, const struct token *t,
                        char *buf, size_t len)
{
    char q[SHOW_LEN];

    switch (t->kind) {
    case T_EOF:
        return "end of input";
    case T_IDENT:
        snprintf(buf, len, "identifier \"%s\"",
                 show(t->val, t->vlen, q, sizeof(q)));
        return buf;
    case T_STRING:
        snprintf(buf, len, "string %s",
                 show(p->s + t->pos, t->end - t->pos, q, sizeof(q)));
        return buf;
    case T_LBRACE:
        return "\"{\"";
    case T_RBRACE:
        return "\"}\"";
    case T_COMMA:
        return "\",\"";
    case T_EQ:
        return "\"=\"";
    case T_NEQ:
        return "\"!=\"";
    case T_RE:
        return "\"=~\"";
    case T_NRE:
        return "\"!~\"";
    case T_CHAR:
        break;
    }
    snprintf(buf, len, "character %s",
             quote_char(p->s + t->pos, p->n - t->pos, q, sizeof(q)));
    return buf;
}

/* ---- parsing ---- */

/* Copies n source bytes into sel->text. */
static const char *keep(struct parser *p, const char *s, size_t n)
{
    char *out = p->sel->text + p->used;
    mg_require(p->used + n <= p->n);
    memcpy(out, s, n);
    p->used += n;
    return out;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
}

/* Words PromQL's lexer makes keywords or numbers and its grammar does not
 * take as a metric name (sum, by, offset and the like it does take). */
static int is_keyword(const char *s, size_t n)
{
    static const char *const words[] = {"atan2",       "bool",     "group_left",
                                        "group_right", "ignoring", "inf",
                                        "nan",         "on"};
    for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
        size_t i = 0;
        if (strlen(words[k]) != n)
            continue;
        while (i < n && lower(s[i]) == words[k][i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* Compiles the pattern as Prometheus's NewFastRegexMatcher does: parsed
 * alone first, so a ")" in it cannot close the wrapper (relabel, which skips
 * that step, lets it), then run as ^(?s:RE)$. */
static int compile(struct parser *p, size_t at, struct matcher *mt)
{
    static const char pre[] = "^(?s:", post[] = ")$";
    const char *v = mt->l.value;
    size_t vlen = mt->l.vlen, wn = sizeof(pre) - 1 + vlen + sizeof(post) - 1;
    struct mg_re2 alone;
    char msg[MG_WHY_LEN], b[SHOW_LEN];
    int rc;

    memset(&alone, 0, sizeof(alone));
    rc = mg_re2_translate(v, vlen, &alone, msg, sizeof(msg));
    mg_re2_fini(&alone);
    if (rc == 0) {
        char *w = malloc(wn);
        if (!w)
            return -ENOMEM;
        memcpy(w, pre, sizeof(pre) - 1);
        memcpy(w + sizeof(pre) - 1, v, vlen);
        memcpy(w + sizeof(pre) - 1 + vlen, post, sizeof(post) - 1);
        rc = mg_regex_compile(w, wn, &mt->re, msg, sizeof(msg));
        free(w);
    }
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0)
        return fail(p, at, "invalid regex \"%s\": %s",
                    show(v, vlen, b, sizeof(b)), msg);
    if (!p->m && !(p->m = mg_rematch_new()))
        return -ENOMEM;
    /* Asked once here, so matching an absent label never runs the regex and
     * the parser can tell a selector that would match every series. */
    rc = mg_regex_match(mt->re, p->m, "", 0, 0, msg, sizeof(msg));
    if (rc < 0)
        return fail(p, at, "regex \"%s\": %s", show(v, vlen, b, sizeof(b)),
                    msg);
    mt->empty = (rc == 1) != (mt->op == OP_NRE);
    return 0;
}

/* Appends a matcher; name and value already live in sel->text (or are
 * static). at is where errors about it point. */
static int add(struct parser *p, size_t at, const char *name, size_t nlen,
               enum tok op, const char *value, size_t vlen)
{
    struct mg_selector *sel = p->sel;

    if (MG_GROW(sel->m, sel->cap, sel->n + 1))
        return -ENOMEM;
    struct matcher *mt = &sel->m[sel->n++];
    memset(mt, 0, sizeof(*mt));
    mt->l.name = name;
    mt->l.nlen = (uint32_t)nlen;
    mt->l.value = value;
    mt->l.vlen = (uint32_t)vlen;
    switch (op) {
    case T_NEQ:
        mt->op = OP_NEQ;
        mt->empty = vlen != 0;
        return 0;
    case T_RE:
        mt->op = OP_RE;
        return compile(p, at, mt);
    case T_NRE:
        mt->op = OP_NRE;
        return compile(p, at, mt);
    default:
        mt->op = OP_EQ;
        mt->empty = vlen == 0;
        return 0;
    }
}

static int is_op(enum tok k)
{
    return k == T_EQ || k == T_NEQ || k == T_RE || k == T_NRE;
}

/* The rest of `name op string` once name is read: name is an identifier,
 * or a quoted name as Prometheus 3 allows, held to our label-name rule. */
static int matcher(struct parser *p, const struct token *name,
                   const struct token *op)
{
    struct token val;
    char buf[SHOW_LEN + 32];
    const char *n = name->val;
    int rc;

    if (name->kind == T_STRING && !mg_label_name_valid(n, name->vlen))
        return fail(p, name->pos, "invalid label name \"%s\": label names "
                    "are [a-zA-Z_][a-zA-Z0-9_]*",
                    show(n, name->vlen, buf, sizeof(buf)));
    if ((rc = lex(p, 1, &val)) != 0)
        return rc;
    if (val.kind != T_STRING)
        return fail(p, val.pos, "unexpected %s in label matching, expected "
                    "string", desc(p, &val, buf, sizeof(buf)));
    if (name->kind == T_IDENT)
        n = keep(p, n, name->vlen);
    return add(p, name->pos, n, name->vlen, op->kind, val.val, val.vlen);
}

/* Inside the braces, after '{': matchers separated by commas, an optional
 * trailing comma, then '}'. */
static int parse_matchers(struct parser *p)
{
    struct token t, name, op;
    char buf[SHOW_LEN + 32];
    int rc;

    if ((rc = lex(p, 1, &t)) != 0)
        return rc;
    if (t.kind == T_RBRACE)
        return 0;
    for (;;) {
        if (t.kind != T_IDENT && t.kind != T_STRING)
            return fail(p, t.pos, "unexpected %s in label matching, expected "
                        "label name or \"}\"", desc(p, &t, buf, sizeof(buf)));
        name = t;
        if ((rc = lex(p, 1, &op)) != 0)
            return rc;
        if (is_op(op.kind)) {
            if ((rc = matcher(p, &name, &op)) != 0 ||
                (rc = lex(p, 1, &t)) != 0)
                return rc;
        } else if (name.kind == T_STRING) {
            /* {"name"}: the metric name, quoted (Prometheus 3). */
            if (!mg_metric_name_valid(name.val, name.vlen))
                return fail(p, name.pos, "invalid metric name \"%s\": "
                            "metric names are [a-zA-Z_:][a-zA-Z0-9_:]*",
                            show(name.val, name.vlen, buf, sizeof(buf)));
            if ((rc = add(p, name.pos, metric_label, METRIC_LABEL_LEN, T_EQ,
                          name.val, name.vlen)) != 0)
                return rc;
            t = op;
        } else {
            return fail(p, op.pos, "unexpected %s in label matching, expected "
                        "label matching operator",
                        desc(p, &op, buf, sizeof(buf)));
        }
        if (t.kind == T_RBRACE)
            return 0;
        if (t.kind != T_COMMA)
            return fail(p, t.pos, "unexpected %s in label matching, expected "
                        "\",\" or \"}\"", desc(p, &t, buf, sizeof(buf)));
        if ((rc = lex(p, 1, &t)) != 0)
            return rc;
        if (t.kind == T_RBRACE)
            return 0;
    }
}

static int is_metric_label(const struct mg_label *l)
{
    return l->nlen == METRIC_LABEL_LEN &&
           memcmp(l->name, metric_label, METRIC_LABEL_LEN) == 0;
}

/* vector_selector: name, name{...} or {...}, then the end of input; then
 * Prometheus's checks on the whole (checkAST). */
static int parse(struct parser *p)
{
    struct token t, name;
    char buf[SHOW_LEN + 32], b2[SHOW_LEN];
    int rc;

    memset(&name, 0, sizeof(name));
    if ((rc = lex(p, 0, &t)) != 0)
        return rc;
    size_t start = t.pos;
    if (t.kind == T_IDENT) {
        if (is_keyword(t.val, t.vlen))
            return fail(p, t.pos, "\"%.*s\" is a PromQL keyword, not a "
                        "metric name: select it with {__name__=\"%.*s\"}",
                        (int)t.vlen, t.val, (int)t.vlen, t.val);
        name = t;
        if ((rc = lex(p, 0, &t)) != 0)
            return rc;
    }
    if (t.kind == T_LBRACE) {
        if ((rc = parse_matchers(p)) != 0 || (rc = lex(p, 0, &t)) != 0)
            return rc;
    } else if (name.kind != T_IDENT) {
        return fail(p, t.pos, "unexpected %s, expected a metric name or \"{\"",
                    desc(p, &t, buf, sizeof(buf)));
    }
    if (t.kind != T_EOF)
        return fail(p, t.pos, "unexpected %s after the selector",
                    desc(p, &t, buf, sizeof(buf)));

    struct mg_selector *sel = p->sel;
    if (name.kind == T_IDENT) {
        for (size_t i = 0; i < sel->n; i++) {
            const struct mg_label *l = &sel->m[i].l;
            if (is_metric_label(l))
                return fail(p, start, "metric name must not be set twice: "
                            "\"%s\" or \"%s\"",
                            show(name.val, name.vlen, buf, sizeof(buf)),
                            show(l->value, l->vlen, b2, sizeof(b2)));
        }
        /* Last, as Prometheus appends it; an explicit name is non-empty. */
        return add(p, name.pos, metric_label, METRIC_LABEL_LEN, T_EQ,
                   keep(p, name.val, name.vlen), name.vlen);
    }
    /* Without a name, a selector that every series matches is a typo more
     * often than a wish: Prometheus refuses it, and so do we. */
    for (size_t i = 0; i < sel->n; i++) {
        if (!sel->m[i].empty)
            return 0;
    }
    return fail(p, start, "vector selector must contain at least one "
                "non-empty matcher");
}

int mg_selector_parse(const char *s, size_t n, struct mg_selector **out,
                      char *why, size_t whylen)
{
    struct parser p;
    int rc = -ENOMEM;

    *out = NULL;
    memset(&p, 0, sizeof(p));
    p.s = s;
    p.n = n;
    p.why = why;
    p.whylen = whylen;
    /* Lengths are stored as uint32_t in struct mg_label. */
    if (n > UINT32_MAX) {
        snprintf(why, whylen, "selector too long: %zu bytes", n);
        return -EINVAL;
    }
    if (!(p.sel = calloc(1, sizeof(*p.sel))) ||
        !(p.sel->text = malloc(n ? n : 1)))
        goto fail;
    if ((rc = parse(&p)) != 0)
        goto fail;
    mg_rematch_free(p.m);
    *out = p.sel;
    return 0;

fail:
    mg_rematch_free(p.m);
    mg_selector_free(p.sel);
    if (rc == -ENOMEM)
        snprintf(why, whylen, "out of memory");
    return rc;
}

void mg_selector_free(struct mg_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++)
        mg_regex_free(sel->m[i].re);
    free(sel->m);
    free(sel->text);
    free(sel);
}

/* ---- matching ---- */

static void value_of(const struct matcher *mt, const char *name, size_t nlen,
                     const struct mg_label *labels, size_t n, const char **v,
                     size_t *vlen)
{
    *v = "";
    *vlen = 0;
    if (name && is_metric_label(&mt->l)) {
        *v = name;
        *vlen = nlen;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (labels[i].nlen == mt->l.nlen &&
            memcmp(labels[i].name, mt->l.name, mt->l.nlen) == 0) {
            *v = labels[i].value;
            *vlen = labels[i].vlen;
            return;
        }
    }
}

int mg_selector_match(const struct mg_selector *sel, struct mg_rematch *m,
                      const char *name, size_t nlen,
                      const struct mg_label *labels, size_t n, char *why,
                      size_t whylen)
{
    /* Equalities first: cheap, and they refuse most series, so a regex runs
     * only where it can still change the answer. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sel->n; i++) {
            const struct matcher *mt = &sel->m[i];
            const char *v;
            size_t vlen;
            int ok;

            if ((mt->re != NULL) != pass)
                continue;
            value_of(mt, name, nlen, labels, n, &v, &vlen);
            if (vlen == 0) {
                ok = mt->empty;
            } else if (!mt->re) {
                ok = vlen == mt->l.vlen && memcmp(v, mt->l.value, vlen) == 0;
                ok ^= mt->op == OP_NEQ;
            } else {
                mg_require(m != NULL);
                ok = mg_regex_match(mt->re, m, v, vlen, 0, why, whylen);
                if (ok < 0)
                    return -1;
                ok ^= mt->op == OP_NRE;
            }
            if (!ok)
                return 0;
        }
    }
    return 1;
}

const char *mg_selector_name(const struct mg_selector *sel, size_t *nlen)
{
    for (size_t i = 0; i < sel->n; i++) {
        const struct matcher *mt = &sel->m[i];
        if (mt->op == OP_EQ && mt->l.vlen > 0 && is_metric_label(&mt->l)) {
            *nlen = mt->l.vlen;
            return mt->l.value;
        }
    }
    *nlen = 0;
    return NULL;
}

size_t mg_selector_equalities(const struct mg_selector *sel,
                              struct mg_label *out, size_t max)
{
    size_t k = 0;

    for (size_t i = 0; i < sel->n; i++) {
        const struct matcher *mt = &sel->m[i];
        if (mt->op != OP_EQ || mt->l.vlen == 0 || is_metric_label(&mt->l))
            continue;
        if (k < max)
            out[k] = mt->l;
        k++;
    }
    return k;
}
