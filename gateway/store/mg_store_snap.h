/* mg_store_snap: the store's sections of a snapshot (outputs, inputs, the
 * clock). */
#ifndef MG_STORE_SNAP_H
#define MG_STORE_SNAP_H

#include "mg_labels.h"
#include "mg_snapfile.h"

/* ---- the sections each module owns ---- */

struct mg_store;
struct mg_rules;
/* The store's sections: STORE, OUTPUTS (the gateway's own series left
 * out), INPUTS. */
void mg_store_snap_write(struct mg_store *st, struct mg_snap_w *w);
/* Rebuilds them into an empty store: inputs routed as they were, output
 * values and input clocks as they were. Records that do not fit (a type
 * now taken by an own family) are skipped and counted in *skipped.
 * 0, -EINVAL (a malformed section, why) or -ENOMEM. */
int mg_store_snap_read(struct mg_store *st, const struct mg_snap *s,
                       size_t *skipped, char *why, size_t whylen);
/* The value of the gateway's own series name{labels}; 0 or -ENOENT. */
int mg_store_own_get(struct mg_store *st, const char *name, size_t nlen,
                     const struct mg_label *labels, size_t n, double *v);

#endif
