/* mg_http: the HTTP endpoints on evhttp: /metrics, /api/v1/push, the -/
 * the status page. Owns the evhttp instance and, through mg_http_conn, what
 * it keeps of each connection (the count against max_connections, each
 * request's deadline, the bytes of unfinished requests); routes only, every
 * behaviour lives in the gateway. */
#ifndef MG_HTTP_H
#define MG_HTTP_H

#include <event2/event.h>

#include "mg_gateway.h"

struct mg_http;

/* Called for POST /-/reload; returns 0 or -1 with why. */
typedef int (*mg_reload_fn)(void *ctx, char *why, size_t whylen);

/* Listens on addr ("host:port"; port 0 picks one) and logs it. NULL with
 * why. */
struct mg_http *mg_http_new(struct event_base *base, struct mg_gateway *gw,
                            const struct mg_config *cfg, const char *addr,
                            mg_reload_fn reload, void *reload_ctx, char *why,
                            size_t whylen);
struct mg_tls;
/* Serves HTTPS on tls (borrowed; reloads swap its context) from the next
 * connection on. */
void mg_http_set_tls(struct mg_http *h, struct mg_tls *tls);
/* Marks the gateway not ready (/-/ready answers 503) while draining. */
void mg_http_set_ready(struct mg_http *h, int ready);
/* NULL is a no-op. */
void mg_http_free(struct mg_http *h);

#endif
