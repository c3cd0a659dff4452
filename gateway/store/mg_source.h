/* mg_source: input series per producer, for limits{max_input_series_per_source}.
 * A producer is its source label set: the labels a message's `source` gave,
 * as the input's label set marks them (no source is one producer too).
 * Owns a hash map from that set to its count of live inputs, changed only
 * when an input is created or removed, never on an update. */
#ifndef MG_SOURCE_H
#define MG_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "mg_labels.h"

struct mg_source_slot;
struct mg_sources {
    struct mg_source_slot *slot;
    size_t mask, n;
};

void mg_sources_init(struct mg_sources *m);
void mg_sources_fini(struct mg_sources *m);
/* Live inputs whose source labels are exactly v (sorted). */
uint32_t mg_sources_count(const struct mg_sources *m, const struct mg_label *v,
                          size_t n);
/* Counts an input (label set ls, its source labels marked) coming (delta
 * 1) or going (-1). 0 or -ENOMEM (that input then goes uncounted). */
int mg_sources_add(struct mg_sources *m, const struct mg_labelset *ls, int delta);
/* The same for the sorted labels v a set is being made from, bit i of mask
 * set where label i is a source label (as mg_labelset_new_src marks them):
 * no walk of the set. v is borrowed for the call. */
int mg_sources_add_marked(struct mg_sources *m, const struct mg_label *v,
                          size_t n, uint64_t mask, int delta);
/* The count of the fullest producer. */
uint32_t mg_sources_max(const struct mg_sources *m);

#endif
