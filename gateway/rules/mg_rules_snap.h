/* mg_rules_snap: the rules' and the query layer's sections of a snapshot
 * (alert states, written series, histories). */
#ifndef MG_RULES_SNAP_H
#define MG_RULES_SNAP_H

#include "mg_snapfile.h"
#include "mg_store_snap.h"

struct mg_store;
struct mg_rules;
struct mg_query;
/* ALERTS and WRITTEN. */
void mg_rules_snap_write(const struct mg_rules *r, struct mg_store *st,
                         struct mg_snap_w *w);
/* Gives the rules of the same name their alert instances back and takes
 * the written series as theirs (rewritten into the store; removed at the
 * first evaluation that does not write them again). 0, -EINVAL, -ENOMEM. */
int mg_rules_snap_read(struct mg_rules *r, struct mg_store *st,
                       const struct mg_snap *s, char *why, size_t whylen);

struct mg_query;
/* QUERY: the selectors rules asked ranges of, and every history's points. */
void mg_query_snap_write(const struct mg_query *q, struct mg_snap_w *w);
/* Puts the histories back, then registers the selectors (which samples
 * them at now_ms). 0, -EINVAL, -ENOMEM. */
int mg_query_snap_read(struct mg_query *q, struct mg_store *st,
                       const struct mg_snap *s, int64_t now_ms, char *why,
                       size_t whylen);

#endif
