/* mg_labels: validation, hashing, label sets and the scratch builder. */
#include "mg_labels.h"
#include "mg_json.h"
#include "mg_hash.h"
#include "mg_slab.h"
#include "mg_utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_alpha_(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

int mg_metric_name_valid(const char *s, size_t n)
{
    if (n == 0 || !(is_alpha_((unsigned char)s[0]) || s[0] == ':'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alpha_(c) && !is_digit(c) && c != ':')
            return 0;
    }
    return 1;
}

int mg_label_name_valid(const char *s, size_t n)
{
    if (n == 0 || !is_alpha_((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alpha_(c) && !is_digit(c))
            return 0;
    }
    return 1;
}

static int name_cmp(const struct mg_label *a, const struct mg_label *b)
{
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

struct mg_labelset *mg_labelset_new(const struct mg_label *v, size_t n,
                                    uint64_t hash)
{
    return mg_labelset_new_src(NULL, v, n, hash, 0);
}

struct mg_labelset *mg_labelset_new_src(struct mg_slab *slab,
                                        const struct mg_label *v, size_t n,
                                        uint64_t hash, uint64_t srcmask)
{
    size_t size = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].nlen > MG_LABEL_NAME_MAX)
            return NULL;
        size += 1 + v[i].nlen + varint_len(v[i].vlen) + v[i].vlen;
    }
    if (size > UINT16_MAX || n > UINT16_MAX)
        return NULL;
    struct mg_labelset *ls = mg_slab_alloc(slab, sizeof(*ls) + size);
    if (!ls)
        return NULL;
    ls->hash = hash;
    ls->refs = 1;
    ls->n = (uint16_t)n;
    ls->size = (uint16_t)size;
    unsigned char *p = ls->data;
    for (size_t i = 0; i < n; i++) {
        /* bit 7 of the length byte marks a label that came from source */
        *p++ = (unsigned char)(v[i].nlen | (i < 64 && (srcmask >> i) & 1 ? 0x80 : 0));
        memcpy(p, v[i].name, v[i].nlen);
        p += v[i].nlen;
        p += varint_put(p, v[i].vlen);
        memcpy(p, v[i].value, v[i].vlen);
        p += v[i].vlen;
    }
    return ls;
}

void mg_labelset_unref(struct mg_slab *slab, struct mg_labelset *ls)
{
    if (ls && --ls->refs == 0)
        mg_slab_free(slab, ls, sizeof(*ls) + ls->size);
}

int mg_labelset_next(const struct mg_labelset *ls, size_t *pos,
                     struct mg_label *out)
{
    if (*pos >= ls->size)
        return 0;
    const unsigned char *p = ls->data + *pos;
    out->nlen = *p++ & 0x7f;
    out->name = (const char *)p;
    p += out->nlen;
    p += varint_get(p, &out->vlen);
    out->value = (const char *)p;
    p += out->vlen;
    *pos = (size_t)(p - ls->data);
    return 1;
}

uint64_t mg_labelset_srcmask(const struct mg_labelset *ls)
{
    uint64_t mask = 0;
    size_t pos = 0, i = 0;
    struct mg_label l;
    while (pos < ls->size) {
        if (ls->data[pos] & 0x80 && i < 64)
            mask |= (uint64_t)1 << i;
        mg_labelset_next(ls, &pos, &l);
        i++;
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
        uint32_t nlen = *p++ & 0x7f, vlen;
        if (nlen != v[i].nlen || memcmp(p, v[i].name, nlen) != 0)
            return 0;
        p += nlen;
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
