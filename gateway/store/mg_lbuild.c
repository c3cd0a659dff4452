/* mg_lbuild: the scratch label set the pipeline edits. */
#include "mg_lbuild.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_alloc.h"
#include "mg_vec.h"

#define CHUNK_MIN 1024

struct mg_lbuild_chunk {
    struct mg_lbuild_chunk *next;
    size_t used, size;
    char data[];
};

void mg_lbuild_init(struct mg_lbuild *lb)
{
    memset(lb, 0, sizeof(*lb));
}

void mg_lbuild_fini(struct mg_lbuild *lb)
{
    struct mg_lbuild_chunk *c = lb->chunks;
    while (c) {
        struct mg_lbuild_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(lb->v);
    memset(lb, 0, sizeof(*lb));
}

/* Keeps the newest chunk (the largest) so steady-state use allocates
 * nothing. */
void mg_lbuild_reset(struct mg_lbuild *lb)
{
    struct mg_lbuild_chunk *c = lb->chunks;
    if (c) {
        struct mg_lbuild_chunk *old = c->next;
        while (old) {
            struct mg_lbuild_chunk *next = old->next;
            free(old);
            old = next;
        }
        c->next = NULL;
        c->used = 0;
    }
    lb->n = 0;
    lb->failed = 0;
}

/* memcpy without the call for what labels mostly are, 16 bytes or less:
 * two overlapping loads and stores, which write only dst[0..n). */
static inline void copy_short(char *dst, const char *src, size_t n)
{
    if (n > 16) {
        memcpy(dst, src, n);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n) {
        char a = src[0], m = src[n >> 1], z = src[n - 1];
        dst[0] = a;
        dst[n >> 1] = m;
        dst[n - 1] = z;
    }
}

char *mg_lbuild_strdup(struct mg_lbuild *lb, const char *s, size_t n)
{
    struct mg_lbuild_chunk *c = lb->chunks;
    if (!c || c->size - c->used < n + 1) {
        size_t size = CHUNK_MIN;
        if (c && c->size * 2 > size)
            size = c->size * 2;
        while (size < n + 1)
            size *= 2;
        struct mg_lbuild_chunk *nc = malloc(sizeof(*nc) + size);
        if (!nc) {
            lb->failed = 1;
            return NULL;
        }
        nc->next = c;
        nc->used = 0;
        nc->size = size;
        lb->chunks = c = nc;
    }
    char *p = c->data + c->used;
    copy_short(p, s, n);
    p[n] = '\0';
    c->used += n + 1;
    return p;
}

static ptrdiff_t find(const struct mg_lbuild *lb, const char *name,
                      size_t nlen)
{
    /* names of one length mostly differ at the first byte: no call */
    for (size_t i = 0; i < lb->n; i++)
        if (lb->v[i].nlen == nlen && (nlen == 0 || lb->v[i].name[0] == name[0]) &&
            mg_label_bytes_eq(lb->v[i].name, name, nlen))
            return (ptrdiff_t)i;
    return -1;
}

const struct mg_label *mg_lbuild_get(const struct mg_lbuild *lb,
                                     const char *name, size_t nlen)
{
    ptrdiff_t i = find(lb, name, nlen);
    return i < 0 ? NULL : &lb->v[i];
}

void mg_lbuild_del(struct mg_lbuild *lb, const char *name, size_t nlen)
{
    ptrdiff_t i = find(lb, name, nlen);
    if (i >= 0)
        mg_lbuild_del_at(lb, (size_t)i);
}

void mg_lbuild_del_at(struct mg_lbuild *lb, size_t i)
{
    memmove(&lb->v[i], &lb->v[i + 1], (lb->n - i - 1) * sizeof(lb->v[0]));
    lb->n--;
}

int mg_lbuild_set(struct mg_lbuild *lb, const char *name, size_t nlen,
                  const char *value, size_t vlen)
{
    if (vlen == 0) {
        mg_lbuild_del(lb, name, nlen);
        return 0;
    }
    /* Copy first: value may point into a string this call replaces. */
    char *v = mg_lbuild_strdup(lb, value, vlen);
    if (!v)
        return -ENOMEM;
    ptrdiff_t i = find(lb, name, nlen);
    if (i >= 0) {
        lb->v[i].value = v;
        lb->v[i].vlen = (uint32_t)vlen;
        return 0;
    }
    char *nm = mg_lbuild_strdup(lb, name, nlen);
    if (!nm)
        return -ENOMEM;
    if (MG_GROW(lb->v, lb->cap, lb->n + 1)) {
        lb->failed = 1;
        return -ENOMEM;
    }
    lb->v[lb->n++] = (struct mg_label){nm, v, (uint32_t)nlen, (uint32_t)vlen};
    return 0;
}

int mg_lbuild_append_grow(struct mg_lbuild *lb, const char *name, size_t nlen,
                          const char *value, size_t vlen)
{
    if (vlen == 0)
        return 0;
    if (MG_GROW(lb->v, lb->cap, lb->n + 1)) {
        lb->failed = 1;
        return -ENOMEM;
    }
    lb->v[lb->n++] = (struct mg_label){name, value, (uint32_t)nlen, (uint32_t)vlen};
    return 0;
}

int mg_lbuild_set_ref(struct mg_lbuild *lb, const char *name, size_t nlen,
                      const char *value, size_t vlen)
{
    if (vlen == 0) {
        mg_lbuild_del(lb, name, nlen);
        return 0;
    }
    ptrdiff_t i = find(lb, name, nlen);
    if (i >= 0) {
        mg_lbuild_set_ref_at(lb, (size_t)i, value, vlen);
        return 0;
    }
    return mg_lbuild_append_ref(lb, name, nlen, value, vlen);
}

void mg_lbuild_set_ref_at(struct mg_lbuild *lb, size_t i, const char *value,
                          size_t vlen)
{
    lb->v[i].value = value;
    lb->v[i].vlen = (uint32_t)vlen;
}

int mg_lbuild_add(struct mg_lbuild *lb, const char *name, size_t nlen,
                  const char *value, size_t vlen)
{
    if (vlen == 0)
        return 0;
    char *v = mg_lbuild_strdup(lb, value, vlen);
    char *nm = v ? mg_lbuild_strdup(lb, name, nlen) : NULL;
    if (!nm || MG_GROW(lb->v, lb->cap, lb->n + 1)) {
        lb->failed = 1;
        return -ENOMEM;
    }
    lb->v[lb->n++] = (struct mg_label){nm, v, (uint32_t)nlen, (uint32_t)vlen};
    return 0;
}

void mg_lbuild_sort(struct mg_lbuild *lb)
{
    mg_labels_sort(lb->v, lb->n);
}
