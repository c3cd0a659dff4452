/* mg_web_json: a recursive-descent JSON reader, bounded in depth. */
#include "mg_web_json.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

struct parser {
    struct mg_jdoc *d;
    const char *p, *end;
    int oom;
};

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
                               *ps->p == '\r'))
        ps->p++;
}

static int new_node(struct parser *ps, enum mg_jtype t)
{
    struct mg_jdoc *d = ps->d;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        struct mg_jnode *v = realloc(d->v, cap * sizeof(*v));
        if (!v) {
            ps->oom = 1;
            return -1;
        }
        d->v = v;
        d->cap = cap;
    }
    struct mg_jnode *nd = &d->v[d->n];
    memset(nd, 0, sizeof(*nd));
    nd->type = t;
    nd->first = nd->next = -1;
    nd->s = "";
    return (int)d->n++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(char **o, unsigned c)
{
    char *q = *o;
    if (c < 0x80) {
        *q++ = (char)c;
    } else if (c < 0x800) {
        *q++ = (char)(0xC0 | (c >> 6));
        *q++ = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *q++ = (char)(0xE0 | (c >> 12));
        *q++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *q++ = (char)(0x80 | (c & 0x3F));
    } else {
        *q++ = (char)(0xF0 | (c >> 18));
        *q++ = (char)(0x80 | ((c >> 12) & 0x3F));
        *q++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *q++ = (char)(0x80 | (c & 0x3F));
    }
    *o = q;
}

/* A string at ps->p (past the quote) into the document's buffer; an
 * escape never grows (\uXXXX is 6 bytes for at most 4), so the buffer
 * sized to the input holds every string. */
static const char *parse_str(struct parser *ps, size_t *n)
{
    struct mg_jdoc *d = ps->d;
    char *start = d->str + d->slen, *o = start;
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p++;
        if (c < 0x20)
            return NULL;
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        if (ps->p >= ps->end)
            return NULL;
        char e = *ps->p++;
        switch (e) {
        case '"': case '\\': case '/': *o++ = e; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned u, lo;
            /* every string is NUL-terminated for its callers (names,
             * label values): a NUL inside would cut it short unseen */
            if (ps->end - ps->p < 4 || hex4(ps->p, &u) || u == 0)
                return NULL;
            ps->p += 4;
            if (u >= 0xD800 && u < 0xDC00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
                ps->p[1] == 'u' && hex4(ps->p + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                ps->p += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            } else if (u >= 0xD800 && u < 0xE000) {
                u = 0xFFFD;
            }
            put_utf8(&o, u);
            break;
        }
        default:
            return NULL;
        }
    }
    if (ps->p >= ps->end)
        return NULL;
    ps->p++;
    *o++ = 0;
    *n = (size_t)(o - start) - 1;
    d->slen += (size_t)(o - start);
    return start;
}

static int parse_value(struct parser *ps, int depth);

/* Appends child c to parent's children, after last (-1: the first). */
static void link_child(struct mg_jdoc *d, int parent, int *last, int c)
{
    if (*last < 0)
        d->v[parent].first = c;
    else
        d->v[*last].next = c;
    *last = c;
}

static int parse_container(struct parser *ps, int depth, int obj)
{
    int me = new_node(ps, obj ? MG_JOBJ : MG_JARR), last = -1;
    if (me < 0)
        return -1;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
        ps->p++;
        return me;
    }
    for (;;) {
        const char *key = NULL;
        size_t klen;
        skip_ws(ps);
        if (obj) {
            if (ps->p >= ps->end || *ps->p != '"')
                return -1;
            ps->p++;
            if (!(key = parse_str(ps, &klen)))
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return -1;
            ps->p++;
        }
        int c = parse_value(ps, depth + 1);
        if (c < 0)
            return -1;
        ps->d->v[c].key = key;
        link_child(ps->d, me, &last, c);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
            ps->p++;
            return me;
        }
        return -1;
    }
}

static int literal(struct parser *ps, const char *word, enum mg_jtype t)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return -1;
    ps->p += n;
    return new_node(ps, t);
}

static int parse_value(struct parser *ps, int depth)
{
    if (depth >= MAX_DEPTH)
        return -1;
    skip_ws(ps);
    if (ps->p >= ps->end)
        return -1;
    char c = *ps->p;
    if (c == '{' || c == '[')
        return parse_container(ps, depth, c == '{');
    if (c == '"') {
        ps->p++;
        size_t n;
        const char *s = parse_str(ps, &n);
        int me = s ? new_node(ps, MG_JSTR) : -1;
        if (me >= 0) {
            ps->d->v[me].s = s;
            ps->d->v[me].n = n;
        }
        return me;
    }
    if (c == 't')
        return literal(ps, "true", MG_JTRUE);
    if (c == 'f')
        return literal(ps, "false", MG_JFALSE);
    if (c == 'n')
        return literal(ps, "null", MG_JNULL);
    const char *start = ps->p;
    while (ps->p < ps->end && strchr("+-0123456789.eE", *ps->p) && *ps->p)
        ps->p++;
    if (ps->p == start)
        return -1;
    /* the number's text, NUL-terminated in the string buffer */
    struct mg_jdoc *d = ps->d;
    size_t n = (size_t)(ps->p - start);
    char *s = d->str + d->slen;
    memcpy(s, start, n);
    s[n] = 0;
    d->slen += n + 1;
    char *endp;
    double v = strtod(s, &endp);
    if (*endp)
        return -1;
    int me = new_node(ps, MG_JNUM);
    if (me >= 0) {
        d->v[me].s = s;
        d->v[me].n = n;
        d->v[me].num = v;
    }
    return me;
}

int mg_jdoc_parse(struct mg_jdoc *d, const char *p, size_t len)
{
    memset(d, 0, sizeof(*d));
    /* a number's text takes one byte more than it had: + 1 per byte at worst */
    d->str = malloc(len * 2 + 2);
    if (!d->str)
        return -2;
    struct parser ps = {d, p, p + len, 0};
    int root = parse_value(&ps, 0);
    skip_ws(&ps);
    if (root != 0 || ps.p != ps.end) {
        int oom = ps.oom;
        mg_jdoc_fini(d);
        return oom ? -2 : -1;
    }
    return 0;
}

void mg_jdoc_fini(struct mg_jdoc *d)
{
    free(d->v);
    free(d->str);
    memset(d, 0, sizeof(*d));
}

int mg_jget(const struct mg_jdoc *d, int i, const char *key)
{
    if (i < 0 || (size_t)i >= d->n || d->v[i].type != MG_JOBJ)
        return -1;
    for (int c = d->v[i].first; c >= 0; c = d->v[c].next)
        if (strcmp(d->v[c].key, key) == 0)
            return c;
    return -1;
}

const char *mg_jstr(const struct mg_jdoc *d, int i)
{
    if (i < 0 || (size_t)i >= d->n || d->v[i].type != MG_JSTR)
        return "";
    return d->v[i].s;
}

double mg_jnum(const struct mg_jdoc *d, int i)
{
    if (i < 0 || (size_t)i >= d->n || d->v[i].type != MG_JNUM)
        return 0;
    return d->v[i].num;
}

size_t mg_jlen(const struct mg_jdoc *d, int i)
{
    size_t n = 0;
    if (i < 0 || (size_t)i >= d->n)
        return 0;
    for (int c = d->v[i].first; c >= 0; c = d->v[c].next)
        n++;
    return n;
}
