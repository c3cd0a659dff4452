/* mg_ingest: the push listeners: TCP and UDP on one address, unix sockets.
 * Owns the sockets, each connection's buffer (from a freelist, grown to the
 * message cap), framing with mg_wire_scan, acks and error replies, idle and
 * connection limits, and draining at shutdown. Hands whole messages to the
 * gateway; knows nothing of series. */
#ifndef MG_INGEST_H
#define MG_INGEST_H

#include <event2/event.h>

#include "mg_gateway.h"

struct mg_ingest;

/* Listens on addr ("host:port" opens TCP and UDP on the same port, port 0
 * picks one; "unix:PATH"). Logs each bound address. NULL with why. */
struct mg_ingest *mg_ingest_new(struct event_base *base,
                                struct mg_gateway *gw,
                                const struct mg_config *cfg, const char *addr,
                                char *why, size_t whylen);
struct mg_tls;
/* TCP connections accepted from now on speak TLS on tls (borrowed); UDP
 * and unix sockets stay plain. */
void mg_ingest_set_tls(struct mg_ingest *ing, struct mg_tls *tls);
/* Stops accepting, processes what each connection has buffered and what
 * its socket still holds, and flushes replies without blocking. Returns
 * how many connections still have replies to write; they close once
 * written, or at mg_ingest_free. */
size_t mg_ingest_drain(struct mg_ingest *ing);
/* Connections open now. */
size_t mg_ingest_open(const struct mg_ingest *ing);
/* Closes what is still open (counted as shutdown). NULL is a no-op. */
void mg_ingest_free(struct mg_ingest *ing);

#endif
