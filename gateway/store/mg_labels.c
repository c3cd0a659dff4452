/* mg_labels: validation, hashing, label sets and the scratch builder. */
#include "mg_labels.h"
#include "mg_json.h"
#include "mg_hash.h"
#include "mg_slab.h"
#include "mg_alloc.h"
#include "mg_utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bit 1: may start a label name; bit 2: may follow; bit 4 and 8: the same
 * for a metric name (':' too). One load a byte, where the checks were a
 * chain of compares. */
static const unsigned char name_class[256] = {
    [':'] = 4 | 8,
    ['_'] = 1 | 2 | 4 | 8,
#define R(c) [c] = 1 | 2 | 4 | 8
    R('a'), R('b'), R('c'), R('d'), R('e'), R('f'), R('g'), R('h'), R('i'),
    R('j'), R('k'), R('l'), R('m'), R('n'), R('o'), R('p'), R('q'), R('r'),
    R('s'), R('t'), R('u'), R('v'), R('w'), R('x'), R('y'), R('z'),
    R('A'), R('B'), R('C'), R('D'), R('E'), R('F'), R('G'), R('H'), R('I'),
    R('J'), R('K'), R('L'), R('M'), R('N'), R('O'), R('P'), R('Q'), R('R'),
    R('S'), R('T'), R('U'), R('V'), R('W'), R('X'), R('Y'), R('Z'),
#undef R
#define D(c) [c] = 2 | 8
    D('0'), D('1'), D('2'), D('3'), D('4'), D('5'), D('6'), D('7'), D('8'), D('9'),
#undef D
};

static int name_valid(const char *s, size_t n, unsigned first, unsigned rest)
{
    if (n == 0 || !(name_class[(unsigned char)s[0]] & first))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(name_class[(unsigned char)s[i]] & rest))
            return 0;
    return 1;
}

int mg_metric_name_valid(const char *s, size_t n)
{
    return name_valid(s, n, 4, 8);
}

int mg_label_name_valid(const char *s, size_t n)
{
    return name_valid(s, n, 1, 2);
}

static int name_cmp(const struct mg_label *a, const struct mg_label *b)
{
    /* names mostly differ at their first byte: no call for those */
    if (a->nlen && b->nlen && a->name[0] != b->name[0])
        return (unsigned char)a->name[0] - (unsigned char)b->name[0];
    size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
    int c = memcmp(a->name, b->name, n);
    if (c)
        return c;
    return (a->nlen > b->nlen) - (a->nlen < b->nlen);
}

void mg_labels_sort(struct mg_label *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct mg_label x = v[i];
        size_t j = i;
        while (j > 0 && name_cmp(&v[j - 1], &x) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

int mg_labels_have_duplicate(const struct mg_label *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (name_cmp(&v[i - 1], &v[i]) == 0)
            return 1;
    return 0;
}

uint64_t mg_labels_hash(const struct mg_label *v, size_t n)
{
    uint64_t h = 0x6d6f6f6e67617465ULL;
    for (size_t i = 0; i < n; i++) {
        h = mg_hash_bytes(v[i].name, v[i].nlen, h);
        h = mg_hash_bytes(v[i].value, v[i].vlen, h ^ 0xff);
    }
    return h;
}

static size_t varint_put(unsigned char *p, uint32_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        p[i++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[i++] = (unsigned char)v;
    return i;
}

static size_t varint_get(const unsigned char *p, uint32_t *v)
{
    uint32_t r = 0;
    size_t i = 0;
    int shift = 0;
    for (;;) {
        r |= (uint32_t)(p[i] & 0x7f) << shift;
        if (!(p[i++] & 0x80))
            break;
        shift += 7;
    }
    *v = r;
    return i;
}

static size_t varint_len(uint32_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* ---- interned label names ----
 *
 * A set's blob names each label by an id into this table, so "instance"
 * is kept once for the process rather than once per series (a 5-label
 * set is 35 bytes of blob instead of 57). Every label set holds one
 * reference per label; a name goes when its last set does, and the table
 * itself when it holds no name, so a gateway's life ends with nothing
 * left here. Label sets are used by one thread (the event loop's). */
struct lname {
    uint32_t refs;
    uint32_t len;
    uint64_t hash;
    char s[];
};

static struct {
    struct lname **v;  /* by id; NULL: free */
    uint32_t *link;    /* live: the next id + 1 in its bucket; free: the next free id + 1 */
    uint32_t *bucket;  /* first id + 1 of each chain */
    uint32_t n, cap;   /* ids handed out so far, room in v and link */
    uint32_t nb, live; /* buckets (a power of two), live names */
    uint32_t free1;    /* first free id + 1 */
} names;

static void names_reset(void)
{
    free(names.v);
    free(names.link);
    free(names.bucket);
    memset(&names, 0, sizeof(names));
}

static int names_rehash(uint32_t nb)
{
    uint32_t *b = mg_calloc(nb, sizeof(*b));
    if (!b)
        return -ENOMEM;
    for (uint32_t id = 0; id < names.n; id++) {
        struct lname *ln = names.v[id];
        if (!ln)
            continue;
        uint32_t h = (uint32_t)ln->hash & (nb - 1);
        names.link[id] = b[h];
        b[h] = id + 1;
    }
    free(names.bucket);
    names.bucket = b;
    names.nb = nb;
    return 0;
}

/* The id of name s (one more reference), 0 or -ENOMEM. */
static int name_get(const char *s, uint32_t len, uint32_t *id)
{
    uint64_t h = mg_hash_bytes(s, len, 0x6c6e);
    if (names.nb) {
        for (uint32_t i = names.bucket[h & (names.nb - 1)]; i; i = names.link[i - 1]) {
            struct lname *ln = names.v[i - 1];
            if (ln->hash == h && ln->len == len && memcmp(ln->s, s, len) == 0) {
                ln->refs++;
                *id = i - 1;
                return 0;
            }
        }
    }
    if (names.live >= names.nb && names_rehash(names.nb ? names.nb * 2 : 64))
        return -ENOMEM;
    if (!names.free1 && names.n == names.cap) {
        uint32_t cap = names.cap ? names.cap * 2 : 64;
        struct lname **v = mg_realloc(names.v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        names.v = v;
        uint32_t *link = mg_realloc(names.link, cap * sizeof(*link));
        if (!link)
            return -ENOMEM;
        names.link = link;
        names.cap = cap;
    }
    struct lname *ln = mg_malloc(sizeof(*ln) + len);
    if (!ln)
        return -ENOMEM;
    ln->refs = 1;
    ln->len = len;
    ln->hash = h;
    memcpy(ln->s, s, len);
    uint32_t i;
    if (names.free1) {
        i = names.free1 - 1;
        names.free1 = names.link[i];
    } else {
        i = names.n++;
    }
    names.v[i] = ln;
    uint32_t b = (uint32_t)h & (names.nb - 1);
    names.link[i] = names.bucket[b];
    names.bucket[b] = i + 1;
    names.live++;
    *id = i;
    return 0;
}

static void name_put(uint32_t id)
{
    struct lname *ln = names.v[id];
    if (--ln->refs)
        return;
    uint32_t *p = &names.bucket[ln->hash & (names.nb - 1)];
    while (*p != id + 1)
        p = &names.link[*p - 1];
    *p = names.link[id];
    free(ln);
    names.v[id] = NULL;
    names.link[id] = names.free1;
    names.free1 = id + 1;
    if (--names.live == 0)
        names_reset();
}

struct mg_labelset *mg_labelset_new(const struct mg_label *v, size_t n,
                                    uint64_t hash)
{
    return mg_labelset_new_src(NULL, v, n, hash, 0);
}

/* Each label in the blob: varint (name id << 1 | came from source),
 * varint value length, the value. */
struct mg_labelset *mg_labelset_new_src(struct mg_slab *slab,
                                        const struct mg_label *v, size_t n,
                                        uint64_t hash, uint64_t srcmask)
{
    if (n > UINT16_MAX)
        return NULL;
    uint32_t idbuf[32], *ids = idbuf;
    if (n > 32 && !(ids = mg_malloc(n * sizeof(*ids))))
        return NULL;
    struct mg_labelset *ls = NULL;
    size_t size = 0, got = 0;
    for (; got < n; got++) {
        if (v[got].nlen > MG_LABEL_NAME_MAX ||
            name_get(v[got].name, v[got].nlen, &ids[got]))
            goto done;
        int src = got < 64 && (srcmask >> got) & 1;
        size += varint_len(ids[got] << 1 | (uint32_t)src) +
                varint_len(v[got].vlen) + v[got].vlen;
    }
    if (size > UINT16_MAX || !(ls = mg_slab_alloc(slab, sizeof(*ls) + size)))
        goto done;
    ls->hash = (uint32_t)hash;
    ls->refs = 1;
    ls->n = (uint16_t)n;
    ls->size = (uint16_t)size;
    unsigned char *p = ls->data;
    for (size_t i = 0; i < n; i++) {
        int src = i < 64 && (srcmask >> i) & 1;
        p += varint_put(p, ids[i] << 1 | (uint32_t)src);
        p += varint_put(p, v[i].vlen);
        memcpy(p, v[i].value, v[i].vlen);
        p += v[i].vlen;
    }
done:
    if (!ls)
        while (got)
            name_put(ids[--got]);
    if (ids != idbuf)
        free(ids);
    return ls;
}

void mg_labelset_unref(struct mg_slab *slab, struct mg_labelset *ls)
{
    if (!ls || --ls->refs)
        return;
    const unsigned char *p = ls->data, *end = ls->data + ls->size;
    while (p < end) {
        uint32_t id, vlen;
        p += varint_get(p, &id);
        p += varint_get(p, &vlen);
        p += vlen;
        name_put(id >> 1);
    }
    mg_slab_free(slab, ls, sizeof(*ls) + ls->size);
}

int mg_labelset_next(const struct mg_labelset *ls, size_t *pos,
                     struct mg_label *out)
{
    if (*pos >= ls->size)
        return 0;
    const unsigned char *p = ls->data + *pos;
    uint32_t id;
    p += varint_get(p, &id);
    const struct lname *ln = names.v[id >> 1];
    out->name = ln->s;
    out->nlen = ln->len;
    p += varint_get(p, &out->vlen);
    out->value = (const char *)p;
    p += out->vlen;
    *pos = (size_t)(p - ls->data);
    return 1;
}

uint64_t mg_labelset_srcmask(const struct mg_labelset *ls)
{
    uint64_t mask = 0;
    const unsigned char *p = ls->data, *end = ls->data + ls->size;
    for (size_t i = 0; p < end; i++) {
        uint32_t id, vlen;
        p += varint_get(p, &id);
        p += varint_get(p, &vlen);
        p += vlen;
        if (id & 1 && i < 64)
            mask |= (uint64_t)1 << i;
    }
    return mask;
}

size_t mg_labelset_unpack(const struct mg_labelset *ls, struct mg_label *v)
{
    size_t pos = 0, i = 0;
    while (mg_labelset_next(ls, &pos, &v[i]))
        i++;
    return i;
}

int mg_labelset_equal(const struct mg_labelset *ls, const struct mg_label *v,
                      size_t n)
{
    if (ls->n != n)
        return 0;
    const unsigned char *p = ls->data;
    for (size_t i = 0; i < n; i++) {
        uint32_t id, vlen;
        p += varint_get(p, &id);
        const struct lname *ln = names.v[id >> 1];
        if (ln->len != v[i].nlen || memcmp(ln->s, v[i].name, ln->len) != 0)
            return 0;
        p += varint_get(p, &vlen);
        if (vlen != v[i].vlen || memcmp(p, v[i].value, vlen) != 0)
            return 0;
        p += vlen;
    }
    return 1;
}

void mg_labels_render(char *buf, size_t len, const char *name, size_t nlen,
                      const struct mg_label *labels, size_t n)
{
    size_t k = (size_t)snprintf(buf, len, "%.*s{", (int)nlen, name);
    for (size_t i = 0; i < n && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%.*s=\"%.*s\"", i ? "," : "",
                              (int)labels[i].nlen, labels[i].name,
                              (int)labels[i].vlen, labels[i].value);
    if (k < len)
        snprintf(buf + k, len - k, "}");
}

void mg_labels_json(struct mg_buf *b, const struct mg_label *v, size_t n)
{
    mg_buf_addc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            mg_buf_addc(b, ',');
        mg_json_str(b, v[i].name, v[i].nlen);
        mg_buf_addc(b, ':');
        mg_json_str(b, v[i].value, v[i].vlen);
    }
    mg_buf_addc(b, '}');
}
