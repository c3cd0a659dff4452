/* mg_promql_lex: PromQL's tokens read one at a time where the parser asks,
 * its number and string literals, and the parse's errors and allocations. */
#include "mg_promql_parse_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_promql.h"

/* ---- allocation ---- */

void *pq_mem(struct parser *p, size_t sz)
{
    struct mg_pq *pq = p->pq;
    if (p->err)
        return NULL;
    if (pq->nmem == pq->capmem) {
        size_t cap = pq->capmem ? pq->capmem * 2 : 32;
        void **nm = realloc(pq->mem, cap * sizeof(*nm));
        if (!nm)
            goto nomem;
        pq->mem = nm;
        pq->capmem = cap;
    }
    void *m = calloc(1, sz ? sz : 1);
    if (!m)
        goto nomem;
    pq->mem[pq->nmem++] = m;
    return m;
nomem:
    p->err = -ENOMEM;
    snprintf(p->why, p->whylen, "out of memory");
    return NULL;
}

/* ---- errors ---- */

static void linecol(const struct parser *p, size_t pos, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < pos && i < p->n; i++) {
        if (p->s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* A parse error at pos, as Prometheus words them: "L:C: parse error: ...". */
void *pq_fail(struct parser *p, size_t pos, const char *fmt, ...)
{
    if (p->err)
        return NULL;
    int line, col;
    linecol(p, pos, &line, &col);
    int k = snprintf(p->why, p->whylen, "%d:%d: parse error: ", line, col);
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < p->whylen)
        vsnprintf(p->why + k, p->whylen - (size_t)k, fmt, ap);
    va_end(ap);
    p->err = -EINVAL;
    return NULL;
}

/* What moongate does not evaluate, named. */
void *pq_unsupported(struct parser *p, size_t pos, const char *what,
                         const char *name)
{
    if (p->err)
        return NULL;
    int line, col;
    linecol(p, pos, &line, &col);
    snprintf(p->why, p->whylen, "%s `%s` is not supported (at %d:%d)", what,
             name, line, col);
    p->err = -EINVAL;
    return NULL;
}

/* ---- the lexer ---- */

static const struct {
    const char *s;
    int op;
} ops[] = {
    {"==", MG_PQ_EQL}, {"!=", MG_PQ_NEQ}, {">=", MG_PQ_GTE},
    {"<=", MG_PQ_LTE}, {">", MG_PQ_GTR},  {"<", MG_PQ_LSS},
    {"+", MG_PQ_ADD},  {"-", MG_PQ_SUB},  {"*", MG_PQ_MUL},
    {"/", MG_PQ_DIV},  {"%", MG_PQ_MOD},  {"^", MG_PQ_POW},
};

static int is_ident_start(int c)
{
    return isalpha(c) || c == '_' || c == ':';
}

static int is_ident(int c)
{
    return isalnum(c) || c == '_' || c == ':';
}

static void skip_space(struct parser *p)
{
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c == '#') {
            while (p->pos < p->n && p->s[p->pos] != '\n')
                p->pos++;
        } else if (isspace((unsigned char)c)) {
            p->pos++;
        } else {
            break;
        }
    }
}

/* Reads the token at p->pos into p->t; p->pos moves past it. */
void pq_lex(struct parser *p)
{
    skip_space(p);
    p->tpos = p->pos;
    p->tlen = 0;
    if (p->pos >= p->n) {
        p->t = T_EOF;
        return;
    }
    const char *s = p->s + p->pos;
    size_t left = p->n - p->pos;
    unsigned char c = (unsigned char)s[0];
    size_t len = 1;
    if (is_ident_start(c)) {
        while (len < left && is_ident((unsigned char)s[len]))
            len++;
        p->t = T_IDENT;
    } else if (isdigit(c) || (c == '.' && left > 1 && isdigit((unsigned char)s[1]))) {
        /* digits, dots, exponents, hex and duration units: the number
         * reader decides what the run means */
        while (len < left && (isalnum((unsigned char)s[len]) || s[len] == '.' ||
                              ((s[len] == '+' || s[len] == '-') &&
                               (s[len - 1] == 'e' || s[len - 1] == 'E') &&
                               !(len > 1 && (s[1] == 'x' || s[1] == 'X')))))
            len++;
        p->t = T_NUM;
    } else if (c == '"' || c == '\'' || c == '`') {
        while (len < left && (unsigned char)s[len] != c) {
            if (s[len] == '\\' && c != '`')
                len++;
            len++;
        }
        if (len >= left) {
            p->t = T_BAD;
            pq_fail(p, p->pos, "unterminated quoted string");
            return;
        }
        len++;
        p->t = T_STR;
    } else {
        switch (c) {
        case '(': p->t = T_LPAREN; break;
        case ')': p->t = T_RPAREN; break;
        case '{': p->t = T_LBRACE; break;
        case '[': p->t = T_LBRACK; break;
        case ']': p->t = T_RBRACK; break;
        case ',': p->t = T_COMMA; break;
        case ':': p->t = T_COLON; break;
        case '@': p->t = T_AT; break;
        default:
            p->t = T_BAD;
            for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
                size_t ol = strlen(ops[i].s);
                if (ol <= left && memcmp(s, ops[i].s, ol) == 0) {
                    p->t = T_OP;
                    p->op = ops[i].op;
                    len = ol;
                    break;
                }
            }
            if (p->t == T_BAD) {
                pq_fail(p, p->pos, "unexpected character: '%c'", c);
                return;
            }
        }
    }
    p->tlen = len;
    p->pos += len;
}

int pq_tok_is(const struct parser *p, const char *word)
{
    size_t l = strlen(word);
    return p->t == T_IDENT && p->tlen == l &&
           memcmp(p->s + p->tpos, word, l) == 0;
}

static const char *tok_name(enum tok t)
{
    switch (t) {
    case T_EOF: return "end of input";
    case T_NUM: return "number";
    case T_STR: return "string";
    case T_IDENT: return "identifier";
    case T_LPAREN: return "\"(\"";
    case T_RPAREN: return "\")\"";
    case T_LBRACE: return "\"{\"";
    case T_LBRACK: return "\"[\"";
    case T_RBRACK: return "\"]\"";
    case T_COMMA: return "\",\"";
    case T_COLON: return "\":\"";
    case T_AT: return "\"@\"";
    case T_OP: return "operator";
    default: return "character";
    }
}

void *pq_unexpected(struct parser *p, const char *in)
{
    if (p->t == T_IDENT || p->t == T_NUM)
        return pq_fail(p, p->tpos, "unexpected %s \"%.*s\" in %s", tok_name(p->t),
                    (int)p->tlen, p->s + p->tpos, in);
    return pq_fail(p, p->tpos, "unexpected %s in %s", tok_name(p->t), in);
}

int pq_expect(struct parser *p, enum tok t, const char *in)
{
    if (p->err)
        return -1;
    if (p->t != t) {
        pq_unexpected(p, in);
        return -1;
    }
    pq_lex(p);
    return p->err ? -1 : 0;
}

/* ---- literals ---- */

/* A number token: float, hex, or a duration read as seconds. */
int pq_read_number(const char *s, size_t n, double *out)
{
    char buf[64], *end;
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (n > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
        *out = (double)strtoull(buf, &end, 16);
        return *end ? -1 : 0;
    }
    *out = strtod(buf, &end);
    if (!*end && end != buf)
        return 0;
    int64_t ms;
    char why[64];
    if (mg_duration_parse(s, n, &ms, why, sizeof(why)) == 0) {
        *out = (double)ms / 1000.0;
        return 0;
    }
    return -1;
}

static int hexval(int c)
{
    if (isdigit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* The current string token unescaped as Go's strconv.Unquote does. */
char *pq_read_string(struct parser *p, size_t *outlen)
{
    const char *s = p->s + p->tpos + 1;
    size_t n = p->tlen - 2;
    char q = p->s[p->tpos];
    char *o = pq_mem(p, n + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || q == '`') {
            o[k++] = s[i];
            continue;
        }
        if (++i >= n)
            return pq_fail(p, p->tpos, "invalid escape in string");
        char c = s[i];
        const char *simple = strchr("abfnrtv\\\"'", c);
        if (simple && c) {
            static const char map[] = "\a\b\f\n\r\t\v\\\"'";
            if ((c == '"' || c == '\'') && c != q)
                return pq_fail(p, p->tpos + 1 + i, "invalid escape sequence \\%c", c);
            o[k++] = map[simple - "abfnrtv\\\"'"];
        } else if (c == 'x' || c == 'u' || c == 'U') {
            int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            uint32_t v = 0;
            for (int d = 0; d < digits; d++) {
                int h = i + 1 < n ? hexval((unsigned char)s[++i]) : -1;
                if (h < 0)
                    return pq_fail(p, p->tpos, "invalid escape in string");
                v = v * 16 + (uint32_t)h;
            }
            if (c == 'x') {
                o[k++] = (char)v;
            } else {
                if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
                    return pq_fail(p, p->tpos, "invalid Unicode code point in escape");
                k += put_utf8(o + k, v);
            }
        } else if (c >= '0' && c <= '7') {
            uint32_t v = 0;
            for (int d = 0; d < 3; d++, i++) {
                if (i >= n || s[i] < '0' || s[i] > '7')
                    return pq_fail(p, p->tpos, "invalid escape in string");
                v = v * 8 + (uint32_t)(s[i] - '0');
            }
            i--;
            if (v > 255)
                return pq_fail(p, p->tpos, "invalid escape in string");
            o[k++] = (char)v;
        } else {
            return pq_fail(p, p->tpos + 1 + i, "unknown escape sequence \\%c", c);
        }
    }
    o[k] = '\0';
    *outlen = k;
    return o;
}

