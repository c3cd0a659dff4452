/* mg_names: a hash map from names to pointers (families, reserved sample
 * names). Open addressing with backward-shift deletion; borrows the name
 * strings from the values it maps to. Used on the new-series path only. */
#ifndef MG_NAMES_H
#define MG_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* 24 bytes: the low half of the hash is enough to place a slot and to
 * reject most others (tables are kept under 2^32 slots). */
struct mg_names_slot {
    const char *name;
    void *val;
    uint32_t hash;
    uint32_t nlen;
};

struct mg_names {
    struct mg_names_slot *slot;
    size_t mask, n;
};

void mg_names_init(struct mg_names *m);
void mg_names_fini(struct mg_names *m);
uint64_t mg_names_hash(const char *name, size_t nlen);
/* The value for name, or NULL. */
void *mg_names_get(const struct mg_names *m, const char *name, size_t nlen);
/* Maps name (borrowed; must outlive the entry) to val, replacing. 0 or
 * -ENOMEM. */
int mg_names_put(struct mg_names *m, const char *name, size_t nlen, void *val);
void mg_names_del(struct mg_names *m, const char *name, size_t nlen);

#endif
