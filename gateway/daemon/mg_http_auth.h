/* mg_http_auth: the role model on the HTTP listener: which role each
 * route needs, the credentials a request carries (a bearer token, basic
 * auth, a verified client certificate), the 401 and 403 replies, and the
 * count of refusals. mg_auth (core) decides; this reads and answers. */
#ifndef MG_HTTP_AUTH_H
#define MG_HTTP_AUTH_H

#include <event2/http.h>

#include "mg_auth.h"
#include "mg_gateway.h"
#include "mg_tls.h"

/* The role a request needs: push for the ingest paths, admin for every
 * request that changes state (-/reload, DELETE), read for the rest. -1 for
 * the probes (/-/healthy, /-/ready), which stay open. */
int mg_http_route_role(const char *path, enum evhttp_cmd_type method);

/* Decides on req for its route. 0 with *who (the push principal, or NULL)
 * when it may go on; -1 when it was answered (401 or 403) and counted. tls
 * may be NULL. */
int mg_http_authorize(struct mg_gateway *gw, struct mg_tls *tls,
                      struct evhttp_request *req, const char *path,
                      struct mg_principal **who);

/* A push refused whole for the producer's budget (429 with Retry-After)
 * or for claiming labels bound to another producer (403): answers and
 * returns 1; otherwise 0 and nothing is sent. */
int mg_http_push_refused(struct evhttp_request *req, const struct mg_push_result *res);

/* The peer of req as logs name it (mg_addr_name); returns buf. */
const char *mg_http_peer(struct evhttp_request *req, char *buf, size_t len);

/* The push principal a TLS stream's verified client certificate is bound
 * to (a cn:NAME line): 1 with *who, else 0. cn (n bytes) and *state (0
 * at first) cache the CN for the connection. */
int mg_cert_principal(struct mg_gateway *gw, struct mg_tls *tls, SSL *ssl, char *cn,
                      size_t n, int *state, struct mg_principal **who);

#endif
