/* mg_web: the web pages (overview, alerts, rules, cardinality, explain,
 * status) and their JSON twins under /api/v1/ that no other route
 * answers: status/overview, status/config, status/flags,
 * status/buildinfo, status/runtimeinfo, and the explain dry run. Pages
 * are rendered on the server from the gateway's counters, the history
 * ring and the API's own JSON, with every user-provided string
 * HTML-escaped. Owns the history ring and the timer that samples it. */
#ifndef MG_WEB_H
#define MG_WEB_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "mg_gateway.h"
#include "mg_history.h"

struct mg_web;
struct mg_pushgw;

/* Pages over gw and cfg (borrowed); samples the history now and then
 * every MG_HISTORY_STEP seconds. NULL with why. */
struct mg_web *mg_web_new(struct event_base *base, struct mg_gateway *gw,
                          const struct mg_config *cfg, char *why,
                          size_t whylen);
/* NULL is a no-op. */
void mg_web_free(struct mg_web *w);
/* The Pushgateway API's groups, for the status page (borrowed; NULL:
 * none). */
void mg_web_set_pushgw(struct mg_web *w, struct mg_pushgw *pg);
/* Takes one history point now (the timer's work). */
void mg_web_sample(struct mg_web *w);
/* Answers req and returns 1 when path is one of the pages or twins above;
 * 0 leaves req to the other routes. */
int mg_web_route(struct mg_web *w, struct evhttp_request *req,
                 const char *path);

#endif
