/* mg_bigalloc: the allocator of the few arrays that grow with the number
 * of series: the store's pools and indexes, the caps' counters and the
 * label-set slab's chunks. Past 2 MiB each is a mapping of its own, 2 MiB
 * aligned and marked MADV_HUGEPAGE. At a million series every lookup in
 * those arrays is a random probe; in 4 KiB pages most probes also miss the
 * TLB, and growing them faults once per 4 KiB. Smaller blocks come from
 * malloc. A header before each block says which, so freeing takes no size.
 * The failure seam of mg_alloc.h applies. */
#ifndef MG_BIGALLOC_H
#define MG_BIGALLOC_H

#include <stddef.h>

/* Blocks of at least this many bytes are mappings. */
#define MG_BIG_MAP_MIN ((size_t)2 << 20)

/* n * size zeroed bytes, 16-byte aligned (2 MiB when mapped); NULL on
 * overflow or ENOMEM. */
void *mg_big_calloc(size_t n, size_t size);
/* p (NULL or from mg_big_*) resized to n bytes, contents kept up to the
 * smaller size, the rest not zeroed; NULL on ENOMEM with p untouched. */
void *mg_big_realloc(void *p, size_t n);
void mg_big_free(void *p);
/* Faults in the pages of the first n bytes of p (from mg_big_calloc) in
 * one call: for a hash table, which random writes touch all over within
 * its first few thousand entries, where each page's first write would
 * have cost an exception (dear in a VM). Advice only: nothing happens
 * where the kernel lacks MADV_POPULATE_WRITE. */
void mg_big_populate(void *p, size_t n);

#endif
