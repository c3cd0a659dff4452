/* mg_kcount: counts by string key (a cap's admitted metric names or label
 * values). Keeps no key: a key is its 64-bit hash, and two keys whose
 * hashes agree (about 2^-64 a pair; one in 37 million that any two of a
 * million keys do) share one count. Each key is one 12-byte slot (hash,
 * count) of an open-addressing table kept at most 4/5 full that grows by
 * half: about 18 bytes a key, where a key held as bytes cost 32. Used on
 * the new-series path only. */
#ifndef MG_KCOUNT_H
#define MG_KCOUNT_H

#include <stddef.h>
#include <stdint.h>

struct mg_kcount_entry {
    uint32_t hash[2]; /* two halves: a slot is 12 bytes, not 16 */
    uint32_t count;   /* 0: an empty slot */
};

struct mg_kcount {
    struct mg_kcount_entry *slot;
    size_t cap, n;
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
/* Asks for the cache line where key's slot probe starts. */
void mg_kcount_prefetch(const struct mg_kcount *k, const char *key, size_t len);
/* The entries in no order: *pos starts at 0; NULL at the end. */
const struct mg_kcount_entry *mg_kcount_next(const struct mg_kcount *k,
                                             size_t *pos);

#endif
