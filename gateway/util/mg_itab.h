/* mg_itab: a hash index from 64-bit hashes to uint32 slots of a pool (the
 * input and output series). Each slot keeps the index + 1 and the low 32
 * bits of the hash, so a probe rejects most non-matches without touching
 * the pool. The caller compares keys; the table owns only its slots. */
#ifndef MG_ITAB_H
#define MG_ITAB_H

#include <stdint.h>

struct islot {
    uint32_t idx1; /* index + 1; 0 = empty */
    uint32_t tag;  /* the hash's low half; its home slot is tag & mask */
};

struct itab {
    struct islot *s;
    uint32_t mask, n;
};

/* Adds idx under hash (at most 3/4 full, then doubles). 0 or -ENOMEM. */
int mg_itab_insert(struct itab *t, uint32_t idx, uint64_t hash);
/* Removes idx, which must be present under hash. */
void mg_itab_remove(struct itab *t, uint32_t idx, uint64_t hash);

#endif
