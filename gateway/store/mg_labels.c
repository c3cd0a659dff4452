/* mg_labels: validation, hashing, label sets and the scratch builder. */
#include "mg_labels.h"
#include "mg_json.h"
#include "mg_lintern.h"
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
const unsigned char mg_name_class[256] = {
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

/* A string of at most 8 bytes as one word, read as mg_hash_bytes_inline
 * reads its tail: for a given length, different strings give different
 * words. */
static inline uint64_t short_word(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        return a | (uint64_t)b << 32;
    }
    if (n > 0)
        return (uint64_t)p[0] | (uint64_t)p[n >> 1] << 8 | (uint64_t)p[n - 1] << 16;
    return 0;
}

/* A label whose name and value both fit in a word each (most of them) is
 * mixed in one round, with both lengths: two rounds of the string hash
 * cost twice that. Longer ones take the string hash. In memory only, as
 * mg_hash_bytes. */
uint64_t mg_labels_hash(const struct mg_label *v, size_t n)
{
    uint64_t h = 0x6d6f6f6e67617465ULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t nl = v[i].nlen, vl = v[i].vlen;
        if (nl <= 8 && vl <= 8) {
            uint64_t x = short_word(v[i].name, nl) * 0xbf58476d1ce4e5b9ULL;
            uint64_t y = short_word(v[i].value, vl) * 0x94d049bb133111ebULL;
            h ^= (x ^ (y << 32 | y >> 32)) + (nl << 8 | vl) * 0x9e3779b97f4a7c15ULL;
            h *= 0xff51afd7ed558ccdULL;
            h ^= h >> 29;
            continue;
        }
        h = mg_hash_bytes_inline(v[i].name, nl, h);
        h = mg_hash_bytes_inline(v[i].value, vl, h ^ 0xff);
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

/* One and two bytes first: every label's tag and most lengths. */
static inline size_t varint_get(const unsigned char *p, uint32_t *v)
{
    if (p[0] < 0x80) {
        *v = p[0];
        return 1;
    }
    if (p[1] < 0x80) {
        *v = (p[0] & 0x7fu) | (uint32_t)p[1] << 7;
        return 2;
    }
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

/* ---- label sets ----
 *
 * A set's blob holds, for each label, a varint tag (x << 2 | interned << 1
 * | came from source). Interned: x is the id of the label's pair (name and
 * value, mg_lintern), so a label whose value repeats across series costs
 * one or two bytes. Inline: x is the name's id, then the value's length
 * (varint) and bytes: the values of a name with too many of them (an id)
 * are kept per set. Every label holds one reference on its name or pair. */

#define TAG_INTERNED 2u
#define TAG_SRC 1u

/* Takes the references label l needs and sets its tag: 0 or -ENOMEM. */
static int label_intern(const struct mg_label *l, uint32_t src, uint32_t *tag)
{
    uint32_t id;
    int rc = mg_lintern_label_get(l->name, l->nlen, l->value, l->vlen, &id);
    if (rc < 0)
        return rc;
    *tag = id << 2 | (rc ? TAG_INTERNED : 0) | src;
    return 0;
}

static void label_release(uint32_t tag)
{
    if (tag & TAG_INTERNED)
        mg_lintern_pair_put(tag >> 2);
    else
        mg_lintern_name_put(tag >> 2);
}

static size_t label_size(uint32_t tag, const struct mg_label *l)
{
    size_t n = varint_len(tag);
    if (!(tag & TAG_INTERNED))
        n += varint_len(l->vlen) + l->vlen;
    return n;
}

/* The tables a walk reads, loaded once: stores through the labels it
 * writes could alias the globals, so the compiler would reload them. */
struct tabs {
    struct mg_lintern *const *names, *const *pairs;
};

static inline struct tabs tabs_now(void)
{
    return (struct tabs){mg_lintern_names_v, mg_lintern_pairs_v};
}

/* Reads the label at p into out (and its tag); returns the bytes read. */
static inline size_t label_get(struct tabs t, const unsigned char *p,
                               uint32_t *tag, struct mg_label *out)
{
    size_t k = varint_get(p, tag);
    if (*tag & TAG_INTERNED) {
        *out = t.pairs[*tag >> 2]->label;
        return k;
    }
    const struct mg_lintern *e = t.names[*tag >> 2];
    out->name = e->label.name;
    out->nlen = e->label.nlen;
    k += varint_get(p + k, &out->vlen);
    out->value = (const char *)p + k;
    return k + out->vlen;
}

struct mg_labelset *mg_labelset_new(const struct mg_label *v, size_t n,
                                    uint64_t hash)
{
    return mg_labelset_new_src(NULL, v, n, hash, 0);
}

/* The tags of like's labels, in order, into tags (room for like->n). */
static void tags_read(const struct mg_labelset *like, uint32_t *tags)
{
    const unsigned char *p = like->data;
    for (size_t i = 0; i < like->n; i++) {
        p += varint_get(p, &tags[i]);
        if (!(tags[i] & TAG_INTERNED)) {
            uint32_t vlen;
            p += varint_get(p, &vlen);
            p += vlen;
        }
    }
}

/* The labels a new set may take from another one: its sorted array and the
 * tags of the set made from it. */
struct share {
    const struct mg_label *v;
    const uint32_t *tags;
    size_t n, from; /* from: labels before it are taken or passed */
};

/* When l is one of sh's labels (the same strings, so the same bytes),
 * takes a reference on its name or pair and sets *tag: 1; else 0. Both
 * arrays are sorted by name, so a match moves the search past it. */
static int label_share(struct share *sh, const struct mg_label *l,
                       uint32_t *tag)
{
    for (size_t j = sh->from; j < sh->n; j++) {
        const struct mg_label *k = &sh->v[j];
        if (k->name != l->name || k->value != l->value ||
            k->nlen != l->nlen || k->vlen != l->vlen)
            continue;
        uint32_t t = sh->tags[j] & ~TAG_SRC;
        if (t & TAG_INTERNED)
            mg_lintern_pair_ref(t >> 2);
        else
            mg_lintern_name_ref(t >> 2);
        *tag = t;
        sh->from = j + 1;
        return 1;
    }
    return 0;
}

static struct mg_labelset *labelset_build(struct mg_slab *slab,
                                          const struct mg_label *v, size_t n,
                                          uint64_t hash, uint64_t srcmask,
                                          struct share *sh)
{
    if (n > UINT16_MAX)
        return NULL;
    uint32_t tagbuf[32], *tags = tagbuf;
    if (n > 32 && !(tags = mg_malloc(n * sizeof(*tags))))
        return NULL;
    struct mg_labelset *ls = NULL;
    size_t size = 0, got = 0;
    for (; got < n; got++) {
        uint32_t src = got < 64 && (srcmask >> got) & 1 ? TAG_SRC : 0;
        if (!(sh && label_share(sh, &v[got], &tags[got])) &&
            (v[got].nlen > MG_LABEL_NAME_MAX ||
             label_intern(&v[got], src, &tags[got])))
            goto done;
        size += label_size(tags[got], &v[got]);
    }
    if (size > UINT16_MAX || !(ls = mg_slab_alloc(slab, sizeof(*ls) + size)))
        goto done;
    ls->hash = (uint32_t)hash;
    ls->refs = 1;
    ls->n = (uint16_t)n;
    unsigned char *p = ls->data;
    for (size_t i = 0; i < n; i++) {
        p += varint_put(p, tags[i]);
        if (tags[i] & TAG_INTERNED)
            continue;
        p += varint_put(p, v[i].vlen);
        memcpy(p, v[i].value, v[i].vlen);
        p += v[i].vlen;
    }
done:
    if (!ls)
        while (got)
            label_release(tags[--got]);
    if (tags != tagbuf)
        free(tags);
    return ls;
}

struct mg_labelset *mg_labelset_new_src(struct mg_slab *slab,
                                        const struct mg_label *v, size_t n,
                                        uint64_t hash, uint64_t srcmask)
{
    return labelset_build(slab, v, n, hash, srcmask, NULL);
}

struct mg_labelset *mg_labelset_new_like(struct mg_slab *slab,
                                         const struct mg_label *v, size_t n,
                                         uint64_t hash,
                                         const struct mg_labelset *like,
                                         const struct mg_label *likev)
{
    /* sets that large are rare: no room is kept for their tags */
    if (!like || !likev || like->n > 32)
        return labelset_build(slab, v, n, hash, 0, NULL);
    uint32_t tags[32];
    tags_read(like, tags);
    struct share sh = {likev, tags, like->n, 0};
    return labelset_build(slab, v, n, hash, 0, &sh);
}

struct mg_labelset *mg_labelset_ref(struct mg_labelset *ls)
{
    if (ls->refs == UINT16_MAX)
        return NULL;
    ls->refs++;
    return ls;
}

void mg_labelset_unref(struct mg_slab *slab, struct mg_labelset *ls)
{
    if (!ls || --ls->refs)
        return;
    const unsigned char *p = ls->data;
    for (size_t i = 0; i < ls->n; i++) {
        uint32_t tag;
        struct mg_label l;
        /* a release may empty a table and free it: read the tables anew */
        p += label_get(tabs_now(), p, &tag, &l);
        label_release(tag);
    }
    mg_slab_free(slab, ls, sizeof(*ls) + (size_t)(p - ls->data));
}

/* *pos: the blob's bytes read so far << 16 | the labels read (a blob is at
 * most 65535 bytes and a set at most 65535 labels). */
int mg_labelset_next(const struct mg_labelset *ls, size_t *pos,
                     struct mg_label *out)
{
    size_t i = *pos & 0xffff, off = *pos >> 16;
    if (i >= ls->n)
        return 0;
    uint32_t tag;
    off += label_get(tabs_now(), ls->data + off, &tag, out);
    *pos = off << 16 | (i + 1);
    return 1;
}

uint64_t mg_labelset_srcmask(const struct mg_labelset *ls)
{
    uint64_t mask = 0;
    const unsigned char *p = ls->data;
    struct tabs t = tabs_now();
    for (size_t i = 0; i < ls->n; i++) {
        uint32_t tag;
        struct mg_label l;
        p += label_get(t, p, &tag, &l);
        if (tag & TAG_SRC && i < 64)
            mask |= (uint64_t)1 << i;
    }
    return mask;
}

size_t mg_labelset_read(const struct mg_labelset *ls, size_t *pos,
                        struct mg_label *v, size_t max)
{
    size_t i = *pos & 0xffff, off = *pos >> 16, n = ls->n, k = 0;
    struct tabs t = tabs_now();
    for (; k < max && i < n; k++, i++) {
        uint32_t tag;
        off += label_get(t, ls->data + off, &tag, &v[k]);
    }
    *pos = off << 16 | i;
    return k;
}

int mg_labelset_get(const struct mg_labelset *ls, const char *name,
                    size_t nlen, struct mg_label *out)
{
    const unsigned char *p = ls->data;
    struct tabs t = tabs_now();
    unsigned char first = nlen ? (unsigned char)name[0] : 0;
    for (size_t i = 0; i < ls->n; i++) {
        uint32_t tag;
        struct mg_label l;
        p += label_get(t, p, &tag, &l);
        if (l.nlen && nlen && (unsigned char)l.name[0] != first) {
            /* sorted by name: past name's first byte, it is absent */
            if ((unsigned char)l.name[0] > first)
                return 0;
            continue;
        }
        if (l.nlen == nlen && mg_label_bytes_eq(l.name, name, nlen)) {
            *out = l;
            return 1;
        }
    }
    return 0;
}

size_t mg_labelset_unpack(const struct mg_labelset *ls, struct mg_label *v)
{
    size_t pos = 0;
    return mg_labelset_read(ls, &pos, v, ls->n);
}

int mg_labelset_equal(const struct mg_labelset *ls, const struct mg_label *v,
                      size_t n)
{
    if (ls->n != n)
        return 0;
    const unsigned char *p = ls->data;
    struct tabs t = tabs_now();
    for (size_t i = 0; i < n; i++) {
        uint32_t tag;
        struct mg_label l;
        p += label_get(t, p, &tag, &l);
        if (l.nlen != v[i].nlen || l.vlen != v[i].vlen ||
            !mg_label_bytes_eq(l.name, v[i].name, l.nlen) ||
            !mg_label_bytes_eq(l.value, v[i].value, l.vlen))
            return 0;
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
