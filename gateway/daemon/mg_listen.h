/* mg_listen: what the daemon's listeners share when accept() fails: a
 * pause with back-off instead of libevent's retry on every loop turn, a
 * counter, and one log line per second. Owns one timer per listener; the
 * listener stays its owner's. */
#ifndef MG_LISTEN_H
#define MG_LISTEN_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>

#include "mg_log.h"
#include "mg_stats.h"

struct mg_listen_guard {
    struct evconnlistener *lev; /* borrowed */
    struct mg_stats *stats;     /* borrowed */
    const char *transport;
    struct event resume;
    double pause;               /* seconds; doubles up to MG_LISTEN_PAUSE_MAX */
    struct mg_log_limit log_limit;
    int armed;
};

#define MG_LISTEN_PAUSE_MIN 0.1
#define MG_LISTEN_PAUSE_MAX 0.5

/* Installs the error callback on lev. */
void mg_listen_guard_init(struct mg_listen_guard *g, struct event_base *base,
                          struct evconnlistener *lev, struct mg_stats *stats,
                          const char *transport);
/* Call on every accepted connection: the back-off starts over. */
void mg_listen_guard_ok(struct mg_listen_guard *g);
void mg_listen_guard_fini(struct mg_listen_guard *g);

#endif
