/* mg_status: the reports behind /api/v1/status/cardinality: top metrics by
 * series, top label names by distinct values, top producers by each
 * per_label cap's label, and every cap. Reads the store and the caps; owns
 * only the scratch of one report. */
#ifndef MG_STATUS_H
#define MG_STATUS_H

#include <stddef.h>

#include "mg_buf.h"
#include "mg_cap.h"
#include "mg_store.h"

/* Appends the report as Prometheus-style JSON ({"status":"success",
 * "data":{...}}) with at most limit entries a list. 0 or -ENOMEM. */
int mg_status_cardinality(struct mg_store *st, const struct mg_caps *caps,
                          size_t limit, struct mg_buf *out);

#endif
