/* mg_kcount: counts by string key (a cap's admitted metric names or label
 * values). Owns its keys: each is an entry (count, length, the bytes) from
 * its own slab, and one pointer in an open-addressing table kept at most
 * 3/4 full. A 6-byte key costs 16 + 8/load bytes, where a name map slot and
 * a malloc'd entry cost 24/load + 32. Used on the new-series path only. */
#ifndef MG_KCOUNT_H
#define MG_KCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "mg_slab.h"

struct mg_kcount_entry {
    uint32_t count;
    uint32_t len;
    char key[];
};

struct mg_kcount {
    struct mg_kcount_entry **slot;
    size_t mask, n;
    struct mg_slab slab;
};

void mg_kcount_init(struct mg_kcount *k);
void mg_kcount_fini(struct mg_kcount *k);
/* The entry of key, or NULL. Borrowed until the next mg_kcount_add. */
const struct mg_kcount_entry *mg_kcount_find(const struct mg_kcount *k,
                                             const char *key, size_t len);
/* Adds delta to key's count: a key comes at its first +1 and goes when
 * its count reaches 0 (a -1 for an absent key does nothing). 0 or -ENOMEM
 * (nothing changed). */
int mg_kcount_add(struct mg_kcount *k, const char *key, size_t len, int delta);
/* The entries in no order: *pos starts at 0; NULL at the end. */
const struct mg_kcount_entry *mg_kcount_next(const struct mg_kcount *k,
                                             size_t *pos);

#endif
