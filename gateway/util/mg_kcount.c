/* mg_kcount: key hashes to counts; linear probing, backward-shift delete.
 * The table's size is any number (it grows by half, not by doubling), so
 * a hash maps to its home slot by multiplying, not by masking. */
#include "mg_kcount.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mg_bigalloc.h"
#include "mg_hash.h"

void mg_kcount_init(struct mg_kcount *k)
{
    memset(k, 0, sizeof(*k));
}

void mg_kcount_fini(struct mg_kcount *k)
{
    mg_big_free(k->slot);
    mg_kcount_init(k);
}

static uint64_t hash_of(const char *key, size_t len)
{
    return mg_hash_bytes(key, len, 0x6b636f756e74ULL);
}

static uint64_t hash_at(const struct mg_kcount_entry *e)
{
    return (uint64_t)e->hash[1] << 32 | e->hash[0];
}

static size_t home(uint64_t h, size_t cap)
{
    return (size_t)(((h >> 32) * (uint64_t)cap) >> 32);
}

/* The slot holding hash h, or the empty one where it would go. */
static size_t find(const struct mg_kcount *k, uint64_t h)
{
    size_t i = home(h, k->cap);
    while (k->slot[i].count && hash_at(&k->slot[i]) != h)
        i = i + 1 == k->cap ? 0 : i + 1;
    return i;
}

const struct mg_kcount_entry *mg_kcount_find(const struct mg_kcount *k,
                                             const char *key, size_t len)
{
    if (!k->slot)
        return NULL;
    const struct mg_kcount_entry *e = &k->slot[find(k, hash_of(key, len))];
    return e->count ? e : NULL;
}

static int grow(struct mg_kcount *k)
{
    size_t cap = k->cap ? k->cap + k->cap / 2 : 64;
    if (cap > UINT32_MAX)
        return -ENOMEM;
    struct mg_kcount_entry *ns = mg_big_calloc(cap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    /* the rehash below writes on every page: fault them in one call */
    mg_big_populate(ns, cap * sizeof(*ns));
    for (size_t i = 0; i < k->cap; i++) {
        if (!k->slot[i].count)
            continue;
        size_t j = home(hash_at(&k->slot[i]), cap);
        while (ns[j].count)
            j = j + 1 == cap ? 0 : j + 1;
        ns[j] = k->slot[i];
    }
    mg_big_free(k->slot);
    k->slot = ns;
    k->cap = cap;
    return 0;
}

/* 1 when slot j, whose home is h, may not move back to the hole at i
 * (its home lies cyclically after the hole, up to j). */
static int stays(size_t i, size_t j, size_t h)
{
    return i <= j ? (h > i && h <= j) : (h > i || h <= j);
}

static void del(struct mg_kcount *k, size_t i)
{
    k->n--;
    size_t j = i;
    for (;;) {
        k->slot[i].count = 0;
        for (;;) {
            j = j + 1 == k->cap ? 0 : j + 1;
            if (!k->slot[j].count)
                return;
            if (!stays(i, j, home(hash_at(&k->slot[j]), k->cap)))
                break;
        }
        k->slot[i] = k->slot[j];
        i = j;
    }
}

int mg_kcount_add(struct mg_kcount *k, const char *key, size_t len, int delta)
{
    uint64_t h = hash_of(key, len);
    size_t i = k->slot ? find(k, h) : 0;
    struct mg_kcount_entry *e = k->slot ? &k->slot[i] : NULL;
    if (e && e->count) {
        e->count += (uint32_t)delta;
        if (e->count == 0)
            del(k, i);
        return 0;
    }
    if (delta <= 0)
        return 0;
    if (!k->slot || (k->n + 1) * 5 > k->cap * 4) {
        if (grow(k))
            return -ENOMEM;
        i = find(k, h);
    }
    e = &k->slot[i];
    e->hash[0] = (uint32_t)h;
    e->hash[1] = (uint32_t)(h >> 32);
    e->count = (uint32_t)delta;
    k->n++;
    return 0;
}

void mg_kcount_prefetch(const struct mg_kcount *k, const char *key, size_t len)
{
    if (k->slot)
        __builtin_prefetch(&k->slot[home(hash_of(key, len), k->cap)]);
}

const struct mg_kcount_entry *mg_kcount_next(const struct mg_kcount *k,
                                             size_t *pos)
{
    for (; *pos < k->cap; (*pos)++)
        if (k->slot[*pos].count)
            return &k->slot[(*pos)++];
    return NULL;
}
