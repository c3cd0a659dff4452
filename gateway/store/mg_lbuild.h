/* mg_lbuild: the scratch label set the pipeline edits: get, set, delete by
 * name, then sort into a label array the store turns into a set. Owns its
 * chunks of copied strings; knows nothing of series. */
#ifndef MG_LBUILD_H
#define MG_LBUILD_H

#include <stddef.h>

#include "mg_labels.h"

/* Set copies its strings into chunks that never move, so every pointer the
 * builder hands out stays valid until the next reset. */
struct mg_lbuild_chunk;
struct mg_lbuild {
    struct mg_label *v;
    size_t n, cap;
    struct mg_lbuild_chunk *chunks;
    int failed; /* an allocation failed since the last reset */
};

void mg_lbuild_init(struct mg_lbuild *lb);
void mg_lbuild_fini(struct mg_lbuild *lb);
void mg_lbuild_reset(struct mg_lbuild *lb);
/* Sets name to value, replacing an existing label; an empty value deletes.
 * Copies both strings. Returns 0 or -ENOMEM. */
int mg_lbuild_set(struct mg_lbuild *lb, const char *name, size_t nlen,
                  const char *value, size_t vlen);
/* As set, without copying: name and value are borrowed and must stay valid
 * until the next reset (the pipeline's input sample does). */
int mg_lbuild_set_ref(struct mg_lbuild *lb, const char *name, size_t nlen,
                      const char *value, size_t vlen);
/* mg_lbuild_append_ref when the array may need to grow. */
int mg_lbuild_append_grow(struct mg_lbuild *lb, const char *name, size_t nlen,
                          const char *value, size_t vlen);
/* As set_ref, for a caller that knows name is not in the set yet (the
 * labels of one sample: unique), so nothing is looked up. Inline: every
 * label of every new series comes through here, and the call cost more
 * than the store. */
static inline int mg_lbuild_append_ref(struct mg_lbuild *lb, const char *name,
                                       size_t nlen, const char *value,
                                       size_t vlen)
{
    if (vlen == 0 || lb->n >= lb->cap)
        return mg_lbuild_append_grow(lb, name, nlen, value, vlen);
    lb->v[lb->n++] = (struct mg_label){name, value, (uint32_t)nlen, (uint32_t)vlen};
    return 0;
}
/* Label i (an index into lb->v, found by the caller) takes value, borrowed
 * as for set_ref; vlen is not 0. */
void mg_lbuild_set_ref_at(struct mg_lbuild *lb, size_t i, const char *value,
                          size_t vlen);
/* Appends name = value, copying both, for a caller that knows name is not
 * in the set yet (keys of one Lua table); an empty value adds nothing.
 * Returns 0 or -ENOMEM. */
int mg_lbuild_add(struct mg_lbuild *lb, const char *name, size_t nlen,
                  const char *value, size_t vlen);
/* Borrowed, valid until the next set, del or reset; NULL when absent. */
const struct mg_label *mg_lbuild_get(const struct mg_lbuild *lb,
                                     const char *name, size_t nlen);
void mg_lbuild_del(struct mg_lbuild *lb, const char *name, size_t nlen);
/* Deletes label i (an index into lb->v, below lb->n, found by the caller):
 * the labels after it move down one. */
void mg_lbuild_del_at(struct mg_lbuild *lb, size_t i);
/* Copies n bytes into the builder's chunks; NULL on ENOMEM. */
char *mg_lbuild_strdup(struct mg_lbuild *lb, const char *s, size_t n);
void mg_lbuild_sort(struct mg_lbuild *lb);

#endif
