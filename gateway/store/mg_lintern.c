/* mg_lintern: two tables of the same shape, one of names and one of
 * pairs: entries by id, chained buckets by hash, freed ids reused. A
 * table frees itself when it holds nothing, so a gateway's life ends with
 * nothing left here. */
#include "mg_lintern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mg_alloc.h"
#include "mg_hash.h"

struct tab {
    struct mg_lintern **v; /* by id; NULL: free */
    uint32_t *link;    /* live: the next id + 1 in its bucket; free: the next free id + 1 */
    uint32_t *bucket;  /* first id + 1 of each chain */
    uint32_t n, cap;   /* ids handed out so far, room in v and link */
    uint32_t nb, live; /* buckets (a power of two), live entries */
    uint32_t free1;    /* first free id + 1 */
    uint64_t bytes;    /* in live entries */
};

static struct tab names, pairs;
struct mg_lintern **mg_lintern_names_v, **mg_lintern_pairs_v;

static void publish(void)
{
    mg_lintern_names_v = names.v;
    mg_lintern_pairs_v = pairs.v;
}

static void tab_reset(struct tab *t)
{
    free(t->v);
    free(t->link);
    free(t->bucket);
    memset(t, 0, sizeof(*t));
    publish();
}

static int tab_rehash(struct tab *t, uint32_t nb)
{
    uint32_t *b = mg_calloc(nb, sizeof(*b));
    if (!b)
        return -ENOMEM;
    for (uint32_t id = 0; id < t->n; id++) {
        struct mg_lintern *e = t->v[id];
        if (!e)
            continue;
        uint32_t h = (uint32_t)e->hash & (nb - 1);
        t->link[id] = b[h];
        b[h] = id + 1;
    }
    free(t->bucket);
    t->bucket = b;
    t->nb = nb;
    return 0;
}

/* The id of the entry whose key is pre (plen bytes) then s, or -1. */
static int64_t tab_find(const struct tab *t, uint64_t h, const void *pre,
                        uint32_t plen, const char *s, uint32_t len)
{
    if (!t->nb)
        return -1;
    for (uint32_t i = t->bucket[h & (t->nb - 1)]; i; i = t->link[i - 1]) {
        const struct mg_lintern *e = t->v[i - 1];
        if (e->hash == h && e->klen == plen + len &&
            memcmp(e->key, pre, plen) == 0 && memcmp(e->key + plen, s, len) == 0)
            return i - 1;
    }
    return -1;
}

/* A new entry for key pre + s with refs = 1: its id, or -ENOMEM. */
static int64_t tab_add(struct tab *t, uint64_t h, const void *pre,
                       uint32_t plen, const char *s, uint32_t len)
{
    if (t->live >= t->nb && tab_rehash(t, t->nb ? t->nb * 2 : 64))
        return -ENOMEM;
    if (!t->free1 && t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        struct mg_lintern **v = mg_realloc(t->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        t->v = v;
        publish();
        uint32_t *link = mg_realloc(t->link, cap * sizeof(*link));
        if (!link)
            return -ENOMEM;
        t->link = link;
        t->cap = cap;
    }
    struct mg_lintern *e = mg_malloc(sizeof(*e) + plen + len);
    if (!e)
        return -ENOMEM;
    memset(e, 0, sizeof(*e));
    e->refs = 1;
    e->klen = plen + len;
    e->hash = h;
    memcpy(e->key, pre, plen);
    memcpy(e->key + plen, s, len);
    uint32_t i;
    if (t->free1) {
        i = t->free1 - 1;
        t->free1 = t->link[i];
    } else {
        i = t->n++;
    }
    t->v[i] = e;
    uint32_t b = (uint32_t)h & (t->nb - 1);
    t->link[i] = t->bucket[b];
    t->bucket[b] = i + 1;
    t->live++;
    t->bytes += sizeof(*e) + e->klen;
    return i;
}

/* Unlinks and frees entry id, whose last reference went. */
static void tab_del(struct tab *t, uint32_t id)
{
    struct mg_lintern *e = t->v[id];
    uint32_t *p = &t->bucket[e->hash & (t->nb - 1)];
    while (*p != id + 1)
        p = &t->link[*p - 1];
    *p = t->link[id];
    t->bytes -= sizeof(*e) + e->klen;
    free(e);
    t->v[id] = NULL;
    t->link[id] = t->free1;
    t->free1 = id + 1;
    if (--t->live == 0)
        tab_reset(t);
}

int mg_lintern_name_get(const char *s, uint32_t len, uint32_t *id)
{
    uint64_t h = mg_hash_bytes(s, len, 0x6c6e);
    int64_t i = tab_find(&names, h, NULL, 0, s, len);
    if (i >= 0) {
        names.v[i]->refs++;
        *id = (uint32_t)i;
        return 0;
    }
    if ((i = tab_add(&names, h, NULL, 0, s, len)) < 0)
        return (int)i;
    struct mg_lintern *e = names.v[i];
    e->label.name = e->key;
    e->label.nlen = len;
    *id = (uint32_t)i;
    return 0;
}

void mg_lintern_name_put(uint32_t id)
{
    if (--names.v[id]->refs == 0)
        tab_del(&names, id);
}

int mg_lintern_pair_get(uint32_t name, const char *v, uint32_t vlen,
                        uint32_t *id)
{
    uint64_t h = mg_hash_bytes(v, vlen, 0x6c70 + (uint64_t)name);
    int64_t i = tab_find(&pairs, h, &name, 4, v, vlen);
    if (i >= 0) {
        pairs.v[i]->refs++;
        *id = (uint32_t)i;
        return 1;
    }
    struct mg_lintern *ln = names.v[name];
    if (ln->npairs >= MG_LINTERN_VALUES_MAX)
        return 0;
    if ((i = tab_add(&pairs, h, &name, 4, v, vlen)) < 0)
        return (int)i;
    struct mg_lintern *e = pairs.v[i];
    e->label = (struct mg_label){ln->label.name, e->key + 4, ln->label.nlen, vlen};
    ln->refs++;
    ln->npairs++;
    *id = (uint32_t)i;
    return 1;
}

void mg_lintern_pair_put(uint32_t id)
{
    struct mg_lintern *e = pairs.v[id];
    if (--e->refs)
        return;
    uint32_t name;
    memcpy(&name, e->key, 4);
    tab_del(&pairs, id);
    names.v[name]->npairs--;
    mg_lintern_name_put(name);
}

static uint64_t tab_bytes(const struct tab *t)
{
    return t->bytes + (uint64_t)t->cap * (sizeof(*t->v) + sizeof(*t->link)) +
           (uint64_t)t->nb * sizeof(*t->bucket);
}

void mg_lintern_stats(struct mg_lintern_stats *st)
{
    st->names = names.live;
    st->pairs = pairs.live;
    st->bytes = tab_bytes(&names) + tab_bytes(&pairs);
}
