/* mg_history: a fixed ring of the gateway's own counters, one point per
 * sample (the daemon samples every MG_HISTORY_STEP seconds), for the
 * overview page's charts. Owns nothing but the ring: sampling reads
 * counters and counts, never walks the store, and allocates nothing. */
#ifndef MG_HISTORY_H
#define MG_HISTORY_H

#include <stddef.h>

#include "mg_store.h"
#include "mg_stats.h"

#define MG_HISTORY_POINTS 240 /* an hour at one point every 15 s */
#define MG_HISTORY_STEP 15.0  /* seconds */

struct mg_history_point {
    double t;         /* seconds since the epoch */
    double received;  /* samples received, all transports (a counter) */
    double rejected;  /* samples rejected, all reasons (a counter) */
    double dropped;   /* samples dropped, all reasons (a counter) */
    double inputs;    /* input series held */
    double outputs;   /* output series held */
};

struct mg_history {
    struct mg_history_point v[MG_HISTORY_POINTS];
    size_t head; /* where the next point goes */
    size_t n;    /* points held, at most MG_HISTORY_POINTS */
};

void mg_history_init(struct mg_history *h);
/* Appends a point at now (seconds since the epoch), the oldest falling off
 * once the ring is full. */
void mg_history_sample(struct mg_history *h, const struct mg_stats *s,
                       const struct mg_store *st, double now);
/* The i-th point held, oldest first (i < h->n). */
const struct mg_history_point *mg_history_at(const struct mg_history *h,
                                             size_t i);

#endif
