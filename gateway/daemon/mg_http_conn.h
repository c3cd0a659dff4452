/* mg_http_conn: what the HTTP listener keeps of each connection evhttp
 * accepts, from its bufferevent to its close: the count against
 * max_connections (one over it is answered 503 before anything is read),
 * each request's deadline (whole within header_timeout of its first byte),
 * the bytes of unfinished requests across connections against
 * max_http_buffered_bytes, and reads past libevent 2.1's 4096 bytes.
 * Knows nothing of routes. */
#ifndef MG_HTTP_CONN_H
#define MG_HTTP_CONN_H

#include <event2/event_struct.h>
#include <event2/http.h>

#include "mg_gateway.h"
#include "mg_log.h"

struct mg_tls;
struct mg_http_track;

struct mg_http_conns {
    struct event_base *base;
    struct mg_gateway *gw;           /* borrowed: its counters */
    const struct mg_config *cfg;     /* borrowed: the limits */
    struct mg_tls *tls;              /* NULL: plain sockets */
    struct mg_http_track *tracks;    /* one per open connection */
    size_t n;                        /* open connections */
    size_t inflight;                 /* bytes of unfinished requests, all connections */
    struct event sweep;              /* finds the connections evhttp has freed */
    struct mg_log_limit log_limit;
};

/* Starts the sweep on base; gw and cfg are borrowed for the listener's life. */
void mg_http_conns_init(struct mg_http_conns *cs, struct event_base *base,
                        struct mg_gateway *gw, const struct mg_config *cfg);
/* After evhttp_free has closed them all: counts each as closed at shutdown. */
void mg_http_conns_fini(struct mg_http_conns *cs);

/* The bufferevent for a connection evhttp accepts (its bevcb, the one hook
 * 2.1 gives per connection), counted and tracked; over max_connections it
 * is answered 503 and closed in this turn of the loop. NULL when out of
 * memory. */
struct bufferevent *mg_http_conns_accept(struct mg_http_conns *cs, struct event_base *base);

/* req is whole: its deadline and its bytes in flight end. 0 when its
 * connection is being refused (answer it 503 and close). */
int mg_http_conns_dispatched(struct mg_http_conns *cs, struct evhttp_request *req);

#endif
