/* mg_web_int: what mg_web.c (routing, overview, status, the /api/v1
 * twins) shares with mg_web_pages.c (alerts, rules, cardinality,
 * explain): the HTML writers and the page frame. */
#ifndef MG_WEB_INT_H
#define MG_WEB_INT_H

#include <stddef.h>

#include <event2/http.h>

#include "mg_buf.h"
#include "mg_gateway.h"
#include "mg_history.h"
#include "mg_web_json.h"

struct mg_web {
    struct event_base *base;
    struct mg_gateway *gw;
    const struct mg_config *cfg;
    struct mg_pushgw *pushgw;  /* borrowed; NULL: none */
    struct mg_history hist;
    struct event *sampler;
    struct mg_buf page;        /* reused by every page */
    struct mg_buf scratch;     /* the JSON a page renders from */
};

/* HTML-escapes n bytes of s (& < > " ') into b: label values,
 * annotations and errors are the producers' and the rule writers'. */
void mg_web_esc(struct mg_buf *b, const char *s, size_t n);
void mg_web_escs(struct mg_buf *b, const char *s);
/* printf into b; for numbers and our own words only. */
void mg_web_addf(struct mg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The page's start (title escaped) and end. */
void mg_web_head(struct mg_buf *b, const char *title);
void mg_web_foot(struct mg_buf *b);
/* Each member of object i of d as a name="value" chip. */
void mg_web_labels(struct mg_buf *b, const struct mg_jdoc *d, int i);
/* A time as server text (UTC) the script turns local: RFC 3339 text or
 * seconds since the epoch. */
void mg_web_time(struct mg_buf *b, double secs);
double mg_web_rfc3339(const char *s);
/* Sends b (reset after) as text/html or application/json. */
void mg_web_send(struct evhttp_request *req, int code, const char *ctype,
                 struct mg_buf *b);
/* The query parameter name of req, copied into out (len bytes); 0 when
 * present. */
int mg_web_param(struct evhttp_request *req, const char *name, char *out,
                 size_t len);

void mg_web_page_alerts(struct mg_web *w, struct evhttp_request *req);
void mg_web_page_rules(struct mg_web *w, struct evhttp_request *req);
void mg_web_page_cardinality(struct mg_web *w, struct evhttp_request *req);
void mg_web_page_explain(struct mg_web *w, struct evhttp_request *req);
/* GET /api/v1/explain?name=..., or POST of {name,type,labels,source}. */
void mg_web_api_explain(struct mg_web *w, struct evhttp_request *req);

#endif
