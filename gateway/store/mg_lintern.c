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

/* The id of the entry of name id nid (0 for names) whose key is s, or -1.
 * Inlined by force: a new series's labels miss the pair cache about half
 * the time, and the call cost a third of the search. */
static inline __attribute__((always_inline)) int64_t
tab_find(const struct tab *t, uint64_t h, uint32_t nid, const char *s, uint32_t len)
{
    if (!t->nb)
        return -1;
    for (uint32_t i = t->bucket[h & (t->nb - 1)]; i; i = t->link[i - 1]) {
        const struct mg_lintern *e = t->v[i - 1];
        if (e->hash == h && e->klen == len && e->nid == nid &&
            mg_label_bytes_eq(e->key, s, len))
            return i - 1;
    }
    return -1;
}

/* A new entry for key s with refs = 1: its id, or -ENOMEM. */
static int64_t tab_add(struct tab *t, uint64_t h, uint32_t nid, const char *s,
                       uint32_t len)
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
    struct mg_lintern *e = mg_malloc(sizeof(*e) + len);
    if (!e)
        return -ENOMEM;
    memset(e, 0, sizeof(*e));
    e->refs = 1;
    e->klen = len;
    e->hash = h;
    e->nid = nid;
    memcpy(e->key, s, len);
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

/* Label names are few and asked for again with every new series: a
 * direct-mapped cache by length and end bytes finds most of them without
 * the hash and the chain. A slot holds an id + 1, checked before use (an
 * id may have gone, or been given to another name, since). */
#define NAME_CACHE 64
static uint32_t name_cache[NAME_CACHE];

static unsigned name_slot(const char *s, uint32_t len)
{
    if (!len)
        return 0;
    unsigned a = (unsigned char)s[0], z = (unsigned char)s[len - 1];
    return (a * 7 + z * 3 + len * 16) & (NAME_CACHE - 1);
}

/* The id of name s with one more reference: 0 or -ENOMEM. Inlined by
 * force into mg_lintern_label_get, one call where two were: the compiler
 * left it out of line. */
static inline __attribute__((always_inline)) int
name_get(const char *s, uint32_t len, uint32_t *id)
{
    unsigned slot = name_slot(s, len);
    uint32_t c = name_cache[slot];
    if (c && c <= names.n && names.v[c - 1]) {
        struct mg_lintern *e = names.v[c - 1];
        if (e->klen == len && mg_label_bytes_eq(e->key, s, len)) {
            e->refs++;
            *id = c - 1;
            return 0;
        }
    }
    uint64_t h = mg_hash_bytes(s, len, 0x6c6e);
    int64_t i = tab_find(&names, h, 0, s, len);
    if (i >= 0) {
        names.v[i]->refs++;
        name_cache[slot] = (uint32_t)i + 1;
        *id = (uint32_t)i;
        return 0;
    }
    if ((i = tab_add(&names, h, 0, s, len)) < 0)
        return (int)i;
    struct mg_lintern *e = names.v[i];
    e->label.name = e->key;
    e->label.nlen = len;
    name_cache[slot] = (uint32_t)i + 1;
    *id = (uint32_t)i;
    return 0;
}

void mg_lintern_name_put(uint32_t id)
{
    if (--names.v[id]->refs == 0)
        tab_del(&names, id);
}

/* The id of the pair (name id, v) with one more reference: 1; 0 when
 * the name has MG_LINTERN_VALUES_MAX pairs already and v is not the pair
 * last asked for; -ENOMEM. The caller holds a reference to name id. */
static inline __attribute__((always_inline)) int
pair_get(uint32_t name, const char *v, uint32_t vlen, uint32_t *id)
{
    struct mg_lintern *ln = names.v[name];
    /* series come in runs that share most values: the last one first */
    if (ln->last) {
        struct mg_lintern *e = pairs.v[ln->last - 1];
        if (e->klen == vlen && mg_label_bytes_eq(e->key, v, vlen)) {
            e->refs++;
            *id = ln->last - 1;
            return 1;
        }
    }
    if (ln->npairs >= MG_LINTERN_VALUES_MAX)
        return 0;
    /* inline, the same value as mg_hash_bytes: values are short */
    uint64_t h = mg_hash_bytes_inline(v, vlen, 0x6c70 + (uint64_t)name);
    int64_t i = tab_find(&pairs, h, name, v, vlen);
    if (i >= 0) {
        pairs.v[i]->refs++;
    } else {
        if ((i = tab_add(&pairs, h, name, v, vlen)) < 0)
            return (int)i;
        struct mg_lintern *e = pairs.v[i];
        e->label = (struct mg_label){ln->label.name, e->key, ln->label.nlen, vlen};
        ln->refs++;
        ln->npairs++;
    }
    ln->last = (uint32_t)i + 1;
    *id = (uint32_t)i;
    return 1;
}

/* Both lookups in one call, where a label set's every label made two, and
 * a found pair's name keeps its count: the name reference taken for the
 * pair lookup is given back by hand, as the pair holds one of its own. */
int mg_lintern_label_get(const char *name, uint32_t nlen, const char *v,
                         uint32_t vlen, uint32_t *id)
{
    uint32_t nid = 0, pid = 0;
    if (name_get(name, nlen, &nid))
        return -ENOMEM;
    int rc = pair_get(nid, v, vlen, &pid);
    if (rc == 0) {
        *id = nid;
        return 0;
    }
    if (rc < 0) {
        mg_lintern_name_put(nid);
        return rc;
    }
    names.v[nid]->refs--; /* never the last: the pair holds one */
    *id = pid;
    return 1;
}

void mg_lintern_pair_put(uint32_t id)
{
    struct mg_lintern *e = pairs.v[id];
    if (--e->refs)
        return;
    struct mg_lintern *ln = names.v[e->nid];
    uint32_t name = e->nid;
    if (ln->last == id + 1)
        ln->last = 0;
    ln->npairs--;
    tab_del(&pairs, id);
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
