/* mg_slab: a size-class allocator for the small objects a store keeps one
 * of per series (label sets). Blocks come from chunks of its own (64 KiB,
 * then 2 MiB huge pages: mg_bigalloc.h), so
 * series stay packed together in memory whatever else the process
 * allocates (a Lua state's garbage would otherwise interleave with them and
 * cost the hot path cache misses), and carry no malloc header. Freed blocks
 * are reused by their class; chunks go back only with the slab. */
#ifndef MG_SLAB_H
#define MG_SLAB_H

#include <stddef.h>

#define MG_SLAB_CLASSES 64
#define MG_SLAB_MAX 512 /* larger blocks come from malloc */

struct mg_slab_chunk;

struct mg_slab {
    void *free[MG_SLAB_CLASSES];
    char *cur;
    size_t left;
    struct mg_slab_chunk *chunks;
    size_t nchunks;
};

void mg_slab_init(struct mg_slab *s);
/* Frees every chunk: every block of the slab is gone. */
void mg_slab_fini(struct mg_slab *s);
/* n bytes, 8-aligned; NULL on ENOMEM. s may be NULL: plain malloc. */
void *mg_slab_alloc(struct mg_slab *s, size_t n);
/* p was allocated with n bytes from s (or malloc when s is NULL). */
void mg_slab_free(struct mg_slab *s, void *p, size_t n);

#endif
