/* mg_slab: size classes every 8 bytes up to 512, bump-allocated chunks.
 * Every 8 rather than 16: a 5-label set is 51 bytes, 56 in a class of 8
 * and 64 in one of 16. */
#include "mg_slab.h"

#include "mg_alloc.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK (64 * 1024)
#define GRAIN 8

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
        free(c);
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
        struct mg_slab_chunk *ch = mg_malloc(CHUNK);
        if (!ch)
            return NULL;
        ch->next = s->chunks;
        s->chunks = ch;
        s->cur = (char *)ch + GRAIN;
        s->left = CHUNK - GRAIN;
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
