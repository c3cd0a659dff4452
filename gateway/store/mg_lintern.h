/* mg_lintern: the process's interned label names and label pairs (a name
 * with one of its values), each kept once with a reference count and
 * named by a small id, so a label set stores ids instead of bytes. Owns
 * the two tables; knows nothing of label sets' layout. Used by one thread
 * (the event loop's), like the label sets that hold the references. */
#ifndef MG_LINTERN_H
#define MG_LINTERN_H

#include <stdint.h>

#include "mg_labels.h"

/* One interned string: a name, or a pair's value (the pair holds a
 * reference on its name). label is the entry as a label (a name's has no
 * value), so a set's reader copies it whole. */
struct mg_lintern {
    uint32_t refs;
    uint32_t klen;
    uint64_t hash;
    struct mg_label label;
    uint32_t nid;    /* a pair: its name's id */
    uint32_t npairs; /* a name: its live pairs */
    uint32_t last;   /* a name: the id + 1 of its pair last asked for */
    char key[];
};

/* A name interns at most this many of its values at once; the rest stay
 * inline in each set. A name with this many distinct values is an id of
 * sorts (a request id, a pod UID): its values repeat too little to pay
 * for an entry. */
#define MG_LINTERN_VALUES_MAX 1024

extern struct mg_lintern **mg_lintern_names_v, **mg_lintern_pairs_v;

static inline const struct mg_lintern *mg_lintern_name_at(uint32_t id)
{
    return mg_lintern_names_v[id];
}

static inline const struct mg_lintern *mg_lintern_pair_at(uint32_t id)
{
    return mg_lintern_pairs_v[id];
}

/* Drops one reference to name id; the name goes at zero. */
void mg_lintern_name_put(uint32_t id);
/* One more reference to name id, which the caller holds one on. */
static inline void mg_lintern_name_ref(uint32_t id)
{
    mg_lintern_names_v[id]->refs++;
}
/* The label name = v, interned: 1 and the id of the pair (name, v) with
 * one more reference; 0 and the id of name with one more reference when
 * the name has MG_LINTERN_VALUES_MAX pairs already and v is not the pair
 * last asked for (keep it inline: past the bound the table is not
 * searched, so a value may be inline in one set and interned in
 * another); -ENOMEM with nothing held. */
int mg_lintern_label_get(const char *name, uint32_t nlen, const char *v,
                         uint32_t vlen, uint32_t *id);
/* Drops one reference to pair id; the pair (and its name reference) goes
 * at zero. */
void mg_lintern_pair_put(uint32_t id);
/* One more reference to pair id, which the caller holds one on. */
static inline void mg_lintern_pair_ref(uint32_t id)
{
    mg_lintern_pairs_v[id]->refs++;
}

/* What the tables hold: live names and pairs, and their bytes (entries,
 * ids and buckets). All three are 0 when no label set is left. */
struct mg_lintern_stats {
    uint32_t names, pairs;
    uint64_t bytes;
};
void mg_lintern_stats(struct mg_lintern_stats *st);

#endif
