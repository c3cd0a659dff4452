/* mg_stats: the gateway's own counters, kept as plain C fields the hot path
 * bumps, and published into the store as the moongate_* and process_*
 * series before each scrape or rule tick. Owns the counters and the
 * bounded maps of producer- and script-named labels. */
#ifndef MG_STATS_H
#define MG_STATS_H

#include <stdint.h>

#include "mg_common.h"
#include "mg_store.h"

enum mg_transport {
    MG_TRANSPORT_TCP,
    MG_TRANSPORT_UDP,
    MG_TRANSPORT_UNIX,
    MG_TRANSPORT_HTTP,
    MG_TRANSPORT_PUSHGATEWAY,
    MG_TRANSPORT_LUA,
    MG_TRANSPORT_COUNT
};

const char *mg_transport_name(enum mg_transport t);

/* Why the gateway closed or refused a connection (ingest and HTTP). */
enum mg_close {
    MG_CLOSE_NORMAL,         /* the peer hung up, or a request ended it */
    MG_CLOSE_IDLE,           /* silent past idle_timeout */
    MG_CLOSE_SLOW_READER,    /* its acks were not read within idle_timeout */
    MG_CLOSE_DECODE_ERROR,   /* a stream that cannot be decoded */
    MG_CLOSE_REFUSED,        /* over max_connections */
    MG_CLOSE_REQUEST_TIMEOUT, /* a request not whole within its deadline */
    MG_CLOSE_BUFFER_FULL,    /* bodies in flight past max_http_buffered_bytes */
    MG_CLOSE_SHUTDOWN,       /* still flushing at the drain deadline */
    MG_CLOSE_COUNT
};
const char *mg_close_name(enum mg_close r);

/* A label value -> count map with a bound on distinct values: past it,
 * counts go to "other", so a producer cannot grow our own cardinality.
 * The last slot is kept for "other"; a key that is no valid label value
 * (empty, over 128 bytes, not UTF-8, a control byte or NUL) is counted
 * there too. Keys match by their exact bytes and length. */
#define MG_STATS_MAX_KEYS 64
struct mg_stats_map {
    char *key[MG_STATS_MAX_KEYS];
    uint32_t klen[MG_STATS_MAX_KEYS];
    double val[MG_STATS_MAX_KEYS];
    unsigned n;
    uint64_t folded; /* adds counted as "other" instead of their own key */
};
void mg_stats_map_add(struct mg_stats_map *m, const char *key, size_t klen,
                      double v);
void mg_stats_map_fini(struct mg_stats_map *m);

#define MG_RULE_BUCKETS 13 /* +Inf last */

struct mg_stats {
    uint64_t received[MG_TRANSPORT_COUNT];
    uint64_t reasons[MG_REASON_COUNT]; /* rejected, then dropped */
    uint64_t expired;
    uint64_t pipeline_runs;
    uint64_t notifications_sent;
    struct mg_stats_map script_errors;   /* by file */
    struct mg_stats_map cap_hits;        /* by cap */
    struct mg_stats_map rule_failures;   /* by rule */
    struct mg_stats_map notify_dropped;  /* by reason */
    uint64_t connections[MG_TRANSPORT_COUNT];
    uint64_t closed[MG_CLOSE_COUNT];
    uint64_t accept_errors;          /* accept() failures, EMFILE mostly */
    int64_t open[MG_TRANSPORT_COUNT]; /* connections open now */
    uint64_t unauthorized[MG_TRANSPORT_COUNT]; /* refused credentials */
    double rule_eval_buckets[MG_RULE_BUCKETS];
    double rule_eval_sum, rule_eval_count;
    int reload_ok;
    double reload_success_ts;
    double scrape_seconds;
    double start_time;
    /* snapshots, published only when a data directory is set */
    int snapshot_enabled;
    struct mg_stats_map snapshot_failures; /* by reason */
    double snapshot_success_ts, snapshot_bytes, snapshot_seconds;
};

void mg_stats_init(struct mg_stats *s);
void mg_stats_fini(struct mg_stats *s);
void mg_stats_observe_rule_eval(struct mg_stats *s, double seconds);
/* Writes every counter into st as the gateway's own series. 0 or -ENOMEM. */
int mg_stats_publish(const struct mg_stats *s, struct mg_store *st);

#endif
