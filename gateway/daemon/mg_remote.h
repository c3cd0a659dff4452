/* mg_remote: Prometheus remote write 1.0 out, one sender per remote_write
 * destination on the daemon's event loop. Owns each destination's bounded
 * queue of compressed WriteRequests, its lanes and HTTP connections, its
 * retry clocks and its counters (published as moongate_remote_write_*).
 * Reads the store through the gateway; knows nothing of how series got
 * there.
 *
 * Every interval a pass walks the output series in slices (a zero timer
 * between slices, so pushes and scrapes keep being served) and encodes
 * each into the open batch of its lane: series are hashed onto max_shards
 * lanes, a lane sends one batch at a time and retries it before the next,
 * so a series' samples reach the store in timestamp order. How many lanes
 * send at once (the shards) grows by one each pass the queue did not drain
 * and shrinks by one each pass it did, between min_shards and max_shards.
 * 5xx, 429 (after its Retry-After) and connection errors are retried with
 * doubling back-off; other 4xx are not (counted failed). Past capacity the
 * oldest batches not in flight are dropped and counted (queue_full). */
#ifndef MG_REMOTE_H
#define MG_REMOTE_H

#include <stddef.h>

struct event_base;
struct mg_gateway;
struct mg_config;
struct mg_remote;

/* One sender per cfg->remote[i]; base, gw and cfg are borrowed and must
 * outlive the result. NULL with why on a bad URL, an unreadable
 * credentials file or ENOMEM. */
struct mg_remote *mg_remote_new(struct event_base *base, struct mg_gateway *gw,
                                const struct mg_config *cfg, char *why,
                                size_t whylen);
/* Cancels what is in flight; samples still queued are not sent, and their
 * count is logged. NULL is a no-op. */
void mg_remote_free(struct mg_remote *r);

#endif
