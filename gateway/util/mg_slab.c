/* mg_slab: size classes every 8 bytes up to 512, bump-allocated chunks.
 * Every 8 rather than 16: a 5-label set is 51 bytes, 56 in a class of 8
 * and 64 in one of 16. */
#include "mg_slab.h"

#include "mg_alloc.h"
#include "mg_bigalloc.h"

#include <stdlib.h>
#include <string.h>

#define GRAIN 8
/* A slab starts in 64 KiB chunks, so a small store stays small; once it
 * holds 2 MiB it takes chunks of 2 MiB, each one huge page. */
#define SMALL_CHUNK ((size_t)64 * 1024)
#define SMALL_CHUNKS 32
#define BIG_CHUNK MG_BIG_MAP_MIN

struct mg_slab_chunk {
    struct mg_slab_chunk *next;
};

void mg_slab_init(struct mg_slab *s)
{
    memset(s, 0, sizeof(*s));
}

void mg_slab_fini(struct mg_slab *s)
{
    struct mg_slab_chunk *c = s->chunks;
    while (c) {
        struct mg_slab_chunk *next = c->next;
        mg_big_free(c);
        c = next;
    }
    memset(s, 0, sizeof(*s));
}

static size_t class_of(size_t n)
{
    return (n + GRAIN - 1) / GRAIN - 1;
}

void *mg_slab_alloc(struct mg_slab *s, size_t n)
{
    if (!s || n > MG_SLAB_MAX)
        return mg_malloc(n);
    size_t c = class_of(n ? n : 1), size = (c + 1) * GRAIN;
    if (s->free[c]) {
        void *p = s->free[c];
        memcpy(&s->free[c], p, sizeof(void *));
        return p;
    }
    if (s->left < size) {
        /* the rest of the old chunk is lost: at most 511 bytes in 64 KiB */
        size_t len = s->nchunks < SMALL_CHUNKS ? SMALL_CHUNK : BIG_CHUNK;
        struct mg_slab_chunk *ch = mg_big_realloc(NULL, len);
        if (!ch)
            return NULL;
        /* filled from the front at once: its pages faulted in one call */
        mg_big_populate(ch, len);
        ch->next = s->chunks;
        s->chunks = ch;
        s->nchunks++;
        s->cur = (char *)ch + GRAIN;
        s->left = len - GRAIN;
    }
    void *p = s->cur;
    s->cur += size;
    s->left -= size;
    return p;
}

void mg_slab_free(struct mg_slab *s, void *p, size_t n)
{
    if (!p)
        return;
    if (!s || n > MG_SLAB_MAX) {
        free(p);
        return;
    }
    size_t c = class_of(n ? n : 1);
    memcpy(p, &s->free[c], sizeof(void *));
    s->free[c] = p;
}
