/* mg_kcount: string keys to counts; linear probing, backward-shift delete. */
#include "mg_kcount.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mg_alloc.h"
#include "mg_hash.h"

void mg_kcount_init(struct mg_kcount *k)
{
    memset(k, 0, sizeof(*k));
    mg_slab_init(&k->slab);
}

void mg_kcount_fini(struct mg_kcount *k)
{
    free(k->slot);
    mg_slab_fini(&k->slab);
    mg_kcount_init(k);
}

static size_t hash_of(const char *key, size_t len)
{
    return (size_t)mg_hash_bytes(key, len, 0x6b636f756e74ULL);
}

/* The slot holding key, or the empty one where it would go. The entries
 * keep no hash: a probe compares lengths, then bytes. */
static size_t find(const struct mg_kcount *k, const char *key, size_t len)
{
    size_t i = hash_of(key, len) & k->mask;
    for (; k->slot[i]; i = (i + 1) & k->mask) {
        const struct mg_kcount_entry *e = k->slot[i];
        if (e->len == len && memcmp(e->key, key, len) == 0)
            break;
    }
    return i;
}

const struct mg_kcount_entry *mg_kcount_find(const struct mg_kcount *k,
                                             const char *key, size_t len)
{
    return k->slot ? k->slot[find(k, key, len)] : NULL;
}

static int grow(struct mg_kcount *k)
{
    size_t cap = k->slot ? (k->mask + 1) * 2 : 64;
    struct mg_kcount_entry **ns = mg_calloc(cap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; k->slot && i <= k->mask; i++) {
        struct mg_kcount_entry *e = k->slot[i];
        if (!e)
            continue;
        size_t j = hash_of(e->key, e->len) & (cap - 1);
        while (ns[j])
            j = (j + 1) & (cap - 1);
        ns[j] = e;
    }
    free(k->slot);
    k->slot = ns;
    k->mask = cap - 1;
    return 0;
}

static void del(struct mg_kcount *k, size_t i)
{
    struct mg_kcount_entry *e = k->slot[i];
    mg_slab_free(&k->slab, e, sizeof(*e) + e->len);
    k->n--;
    /* Backward shift: pull later entries of the run into the hole unless
     * their home lies cyclically after the hole. */
    size_t j = i;
    for (;;) {
        k->slot[i] = NULL;
        for (;;) {
            j = (j + 1) & k->mask;
            if (!k->slot[j])
                return;
            size_t home = hash_of(k->slot[j]->key, k->slot[j]->len) & k->mask;
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        k->slot[i] = k->slot[j];
        i = j;
    }
}

int mg_kcount_add(struct mg_kcount *k, const char *key, size_t len, int delta)
{
    if (len > UINT32_MAX)
        return -EINVAL;
    size_t i = k->slot ? find(k, key, len) : 0;
    struct mg_kcount_entry *e = k->slot ? k->slot[i] : NULL;
    if (e) {
        e->count += (uint32_t)delta;
        if (e->count == 0)
            del(k, i);
        return 0;
    }
    if (delta <= 0)
        return 0;
    if (!k->slot || (k->n + 1) * 4 > (k->mask + 1) * 3) {
        if (grow(k))
            return -ENOMEM;
        i = find(k, key, len);
    }
    e = mg_slab_alloc(&k->slab, sizeof(*e) + len);
    if (!e)
        return -ENOMEM;
    e->count = (uint32_t)delta;
    e->len = (uint32_t)len;
    memcpy(e->key, key, len);
    k->slot[i] = e;
    k->n++;
    return 0;
}

const struct mg_kcount_entry *mg_kcount_next(const struct mg_kcount *k,
                                             size_t *pos)
{
    for (; k->slot && *pos <= k->mask; (*pos)++)
        if (k->slot[*pos])
            return k->slot[(*pos)++];
    return NULL;
}
