/* mg_pushgw_http: the Pushgateway API over evhttp: PUT, POST and DELETE on
 * /metrics/job/..., GET /api/v1/metrics and /api/v1/status. Picks the body
 * format from Content-Type, inflates gzip bodies within
 * max_http_body_bytes, asks for the push token where one is configured,
 * and sweeps TTL'd groups on a timer. Owns the group table (mg_pushgw). */
#ifndef MG_PUSHGW_HTTP_H
#define MG_PUSHGW_HTTP_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "mg_pushgw.h"

struct mg_pushgw_http;

/* NULL with why (a bad TTL rule, out of memory). gw and cfg are borrowed. */
struct mg_pushgw_http *mg_pushgw_http_new(struct event_base *base,
                                          struct mg_gateway *gw,
                                          const struct mg_config *cfg,
                                          char *why, size_t whylen);
/* NULL is a no-op. */
void mg_pushgw_http_free(struct mg_pushgw_http *ph);
/* Answers req and returns 1 when path (the request's, still escaped) is
 * the API's; 0 leaves req to the other routes. */
int mg_pushgw_http_route(struct mg_pushgw_http *ph,
                         struct evhttp_request *req, const char *path);
/* The group table, for the status page (owned by ph). */
struct mg_pushgw *mg_pushgw_http_groups(struct mg_pushgw_http *ph);

#endif
