/* mg_http: evhttp routes. */
#include "mg_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mg_addr.h"
#include "mg_http_auth.h"
#include "mg_http_conn.h"
#include "mg_json.h"
#include "mg_listen.h"
#include "mg_log.h"
#include "mg_pushgw_http.h"
#include "mg_refused.h"
#include "mg_rules.h"
#include "mg_status.h"
#include "mg_web.h"

struct scrape;

/* A /metrics reply goes out in slices of about this many bytes (before
 * gzip), the next rendered once the last has left for the socket: about a
 * millisecond of rendering, so pushes on other connections wait no longer
 * than that for the loop. */
#define SCRAPE_SLICE_BYTES (128 * 1024)
/* Scrapes in flight at once; more are answered 503. Each holds a slice, a
 * copy of the family names and, with gzip, a deflate stream. */
#define SCRAPES_MAX 16

struct mg_http {
    struct event_base *base;
    struct evhttp *http;
    struct mg_gateway *gw;
    const struct mg_config *cfg;
    mg_reload_fn reload;
    void *reload_ctx;
    int ready;
    struct mg_http_conns conns;  /* deadlines, bytes in flight, max_connections */
    struct mg_listen_guard guard;
    struct mg_buf scrape, gz; /* reused by every scrape */
    struct mg_buf reply;      /* reused by every push reply */
    struct mg_pushgw_http *pushgw; /* the Pushgateway API's routes */
    struct mg_tls *tls;       /* NULL: plain HTTP */
    struct mg_principal *who; /* the request's push principal (mg_http_auth) */
    struct mg_web *web;            /* the pages and their JSON twins */
    struct scrape *scrapes;        /* in flight */
    size_t nscrapes;
};

/* A /metrics reply being sent: a chunked reply whose next slice is rendered
 * when the connection has written the last one. */
struct scrape {
    struct mg_http *h;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct mg_scrape *s;
    struct mg_buf out;
    struct evbuffer *chunk;       /* a slice on its way to the connection */
    double seconds;               /* rendering so far */
    struct scrape *next, *prev;
};

static void send_text(struct evhttp_request *req, int code, const char *reason,
                      const char *ctype, const char *body)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);
    evbuffer_add(b, body, strlen(body));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code, reason, NULL);
}

static int method_is(struct evhttp_request *req, int allowed)
{
    if (evhttp_request_get_command(req) & allowed)
        return 1;
    send_text(req, 405, "Method Not Allowed", "text/plain", "method not allowed\n");
    return 0;
}

static void scrape_free(struct scrape *sc)
{
    struct mg_http *h = sc->h;
    if (sc->prev)
        sc->prev->next = sc->next;
    else
        h->scrapes = sc->next;
    if (sc->next)
        sc->next->prev = sc->prev;
    h->nscrapes--;
    mg_scrape_free(sc->s);
    mg_buf_fini(&sc->out);
    if (sc->chunk)
        evbuffer_free(sc->chunk);
    free(sc);
}

/* The connection closes under a scrape (the client left, the write
 * timeout cut a slow reader, or shutdown). evhttp has already let go of a
 * request it was still answering: ending it frees it. */
static void scrape_closed(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    struct scrape *sc = arg;
    if (!evhttp_request_get_connection(sc->req))
        evhttp_send_reply_end(sc->req);
    scrape_free(sc);
}

static void scrape_step(struct evhttp_connection *conn, void *arg);

/* Renders and queues the next slice; the last one ends the reply. */
static void scrape_send(struct scrape *sc)
{
    double t0 = mg_mono_seconds();
    int rc;
    mg_buf_reset(&sc->out);
    do
        rc = mg_scrape_next(sc->s, &sc->out, SCRAPE_SLICE_BYTES);
    while (rc > 0 && sc->out.len == 0);
    sc->seconds += mg_mono_seconds() - t0;
    if (rc >= 0 && evbuffer_add(sc->chunk, sc->out.p, sc->out.len))
        rc = -ENOMEM;
    if (rc < 0) {
        /* out of memory mid-body: the status is sent, so only a cut
         * connection says the body is not whole; its close frees sc */
        mg_log(MG_LOG_WARN, "scrape cut: out of memory", NULL);
        bufferevent_trigger_event(evhttp_connection_get_bufferevent(sc->conn),
                                  BEV_EVENT_ERROR | BEV_EVENT_WRITING, 0);
        return;
    }
    /* moves the bytes out of sc->chunk, leaving it empty for the next */
    evhttp_send_reply_chunk_with_cb(sc->req, sc->chunk, rc > 0 ? scrape_step : NULL, sc);
    if (rc == 0) {
        evhttp_connection_set_closecb(sc->conn, NULL, NULL);
        evhttp_send_reply_end(sc->req);
        mg_gateway_stats(sc->h->gw)->scrape_seconds = sc->seconds;
        scrape_free(sc);
    }
}

/* The last slice has left for the socket. */
static void scrape_step(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    scrape_send(arg);
}

/* HEAD: the headers a GET would get, rendered whole for its length. */
static void metrics_head(struct mg_http *h, struct evhttp_request *req,
                         enum mg_format f)
{
    if (mg_gateway_render(h->gw, f, &h->scrape)) {
        send_text(req, 500, "Internal Server Error", "text/plain", "out of memory\n");
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      f == MG_FORMAT_OPENMETRICS ? MG_CONTENT_TYPE_OPENMETRICS
                                                 : MG_CONTENT_TYPE_TEXT);
    evbuffer_add(evhttp_request_get_output_buffer(req), h->scrape.p, h->scrape.len);
    evhttp_send_reply(req, 200, "OK", NULL);
}

/* GET /metrics: a chunked reply rendered in slices between other work. */
static void on_metrics(struct evhttp_request *req, void *arg)
{
    struct mg_http *h = arg;
    if (!method_is(req, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))
        return;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    enum mg_format f = mg_expose_negotiate(evhttp_find_header(in, "Accept"));
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        metrics_head(h, req, f);
        return;
    }
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    if (h->nscrapes >= SCRAPES_MAX || !conn) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        send_text(req, 503, "Service Unavailable", "text/plain",
                  "too many scrapes in flight\n");
        return;
    }
    int gz = mg_accepts(evhttp_find_header(in, "Accept-Encoding"), "gzip");
    mg_gateway_publish(h->gw);
    struct scrape *sc = calloc(1, sizeof(*sc));
    if (!sc || !(sc->chunk = evbuffer_new()) ||
        !(sc->s = mg_scrape_new(mg_gateway_store(h->gw), f, h->cfg->honor_timestamps, gz))) {
        if (sc && sc->chunk)
            evbuffer_free(sc->chunk);
        free(sc);
        send_text(req, 500, "Internal Server Error", "text/plain", "out of memory\n");
        return;
    }
    sc->h = h;
    sc->req = req;
    sc->conn = conn;
    sc->next = h->scrapes;
    if (h->scrapes)
        h->scrapes->prev = sc;
    h->scrapes = sc;
    h->nscrapes++;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", f == MG_FORMAT_OPENMETRICS
                                               ? MG_CONTENT_TYPE_OPENMETRICS
                                               : MG_CONTENT_TYPE_TEXT);
    if (gz)
        evhttp_add_header(out, "Content-Encoding", "gzip");
    evhttp_connection_set_closecb(conn, scrape_closed, sc);
    evhttp_send_reply_start(req, 200, "OK");
    scrape_send(sc);
}

/* evhttp_send_reply, written in this pass of the loop. A 2.1 socket
 * bufferevent writes only once epoll reports the socket writable: an
 * epoll_wait and two epoll_ctl a reply, on a socket that nearly always has
 * room. Its write event made active runs that same write after this
 * callback, as epoll's report would have; a full socket still waits.
 * Plain sockets only: a TLS bufferevent's write event means other things. */
static void reply_now(struct evhttp_request *req, int code, const char *reason)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    evhttp_send_reply(req, code, reason, NULL);
    if (bev && !bufferevent_openssl_get_ssl(bev))
        event_active(&bev->ev_write, EV_WRITE, 1);
}

static void push_reply(struct mg_http *h, struct evhttp_request *req, int code,
                       const char *reason, const struct mg_push_result *res)
{
    mg_buf_reset(&h->reply);
    mg_push_result_json(res, &h->reply);
    evbuffer_add(evhttp_request_get_output_buffer(req), h->reply.p, h->reply.len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    reply_now(req, code, reason);
}

/* Logs the refusals of a push, with the peer's address. */
static void log_refused(struct evhttp_request *req, const struct mg_push_result *res)
{
    if (!res->rejected)
        return;
    char peer[80];
    mg_refused_result(MG_TRANSPORT_HTTP, mg_http_peer(req, peer, sizeof(peer)), res);
}

static void on_push(struct evhttp_request *req, void *arg)
{
    struct mg_http *h = arg;
    if (!method_is(req, EVHTTP_REQ_POST))
        return;
    struct mg_push_result res;
    mg_push_result_reset(&res);
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *ct = evhttp_find_header(in, "Content-Type");
    if (!ct || (strncmp(ct, "application/msgpack", 19) != 0 &&
                strncmp(ct, "application/x-msgpack", 21) != 0)) {
        mg_gateway_reject(h->gw, &res, -1, MG_REASON_DECODE_ERROR, 1,
                          "Content-Type must be application/msgpack");
        log_refused(req, &res);
        push_reply(h, req, 415, "Unsupported Media Type", &res);
        return;
    }
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(body);
    if (len > h->cfg->max_http_body_bytes) {
        char why[MG_WHY_LEN];
        snprintf(why, sizeof(why), "body of %zu bytes, more than max_http_body_bytes (%zu)",
                 len, h->cfg->max_http_body_bytes);
        mg_gateway_reject(h->gw, &res, -1, MG_REASON_TOO_LARGE, 1, why);
        log_refused(req, &res);
        push_reply(h, req, 413, "Payload Too Large", &res);
        return;
    }
    const char *p = (const char *)evbuffer_pullup(body, -1);
    /* dispatch authorized the request: its principal pushes */
    int rc = mg_gateway_push_body_as(h->gw, p ? p : "", len, MG_TRANSPORT_HTTP, h->who, &res);
    log_refused(req, &res);
    if (mg_http_push_refused(req, &res))
        return;
    if (rc < 0 && res.accepted == 0) {
        enum mg_reason r = res.nerr ? res.err[res.nerr - 1].reason : MG_REASON_DECODE_ERROR;
        if (r == MG_REASON_TOO_LARGE)
            push_reply(h, req, 413, "Payload Too Large", &res);
        else
            push_reply(h, req, 400, "Bad Request", &res);
        return;
    }
    push_reply(h, req, rc < 0 ? 400 : 200, rc < 0 ? "Bad Request" : "OK", &res);
}

static void on_cardinality(struct evhttp_request *req, void *arg)
{
    struct mg_http *h = arg;
    if (!method_is(req, EVHTTP_REQ_GET))
        return;
    size_t limit = 10;
    struct evkeyvalq q;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (query && evhttp_parse_query_str(query, &q) == 0) {
        const char *l = evhttp_find_header(&q, "limit");
        if (l && atoi(l) > 0)
            limit = (size_t)atoi(l);
        evhttp_clear_headers(&q);
    }
    struct mg_buf out = {0};
    mg_gateway_sweep(h->gw);
    if (mg_status_cardinality(mg_gateway_store(h->gw), mg_gateway_caps(h->gw), limit, &out)) {
        mg_buf_fini(&out);
        send_text(req, 500, "Internal Server Error", "text/plain", "out of memory\n");
        return;
    }
    evbuffer_add(evhttp_request_get_output_buffer(req), out.p, out.len);
    mg_buf_fini(&out);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, 200, "OK", NULL);
}

#define EXPLAIN_MAX 20

static void explain_json(struct mg_buf *b, const struct mg_explain *e, size_t n)
{
    mg_buf_adds(b, "{\"status\":\"success\",\"data\":[");
    for (size_t i = 0; i < n; i++) {
        char tmp[64];
        mg_buf_adds(b, i ? ",{\"input\":" : "{\"input\":");
        mg_json_cstr(b, e[i].input);
        mg_buf_adds(b, ",\"steps\":[");
        for (size_t k = 0; k < e[i].trace.n; k++) {
            const struct mg_trace_step *t = &e[i].trace.v[k];
            mg_buf_adds(b, k ? ",{\"step\":" : "{\"step\":");
            mg_json_cstr(b, t->step);
            mg_buf_adds(b, ",\"at\":");
            mg_json_cstr(b, t->at);
            mg_buf_adds(b, ",\"result\":");
            mg_json_cstr(b, t->result);
            mg_buf_addc(b, '}');
        }
        mg_buf_adds(b, "],\"output\":");
        if (e[i].output[0])
            mg_json_cstr(b, e[i].output);
        else
            mg_buf_adds(b, "null");
        mg_buf_adds(b, ",\"dropped\":");
        if (e[i].dropped)
            mg_json_cstr(b, e[i].dropped);
        else
            mg_buf_adds(b, "null");
        mg_buf_adds(b, ",\"aggregate\":");
        mg_json_cstr(b, e[i].aggregate);
        snprintf(tmp, sizeof(tmp), ",\"inputs\":%u,\"caps\":", e[i].inputs);
        mg_buf_adds(b, tmp);
        mg_json_cstr(b, e[i].caps);
        mg_buf_addc(b, '}');
    }
    mg_buf_adds(b, "]}\n");
}

/* GET /api/v1/explain?series=SELECTOR: what shaped each input series the
 * selector matches (at most EXPLAIN_MAX). */
static void on_explain(struct evhttp_request *req, void *arg)
{
    struct mg_http *h = arg;
    if (!method_is(req, EVHTTP_REQ_GET))
        return;
    struct evkeyvalq q;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    const char *sel = NULL;
    int parsed = query && evhttp_parse_query_str(query, &q) == 0;
    if (parsed)
        sel = evhttp_find_header(&q, "series");
    struct mg_buf b = {0};
    struct mg_explain *e = calloc(EXPLAIN_MAX, sizeof(*e));
    char why[256];
    size_t n = 0;
    int code = 200;
    if (!e) {
        code = 500;
        snprintf(why, sizeof(why), "out of memory");
    } else if (!sel) {
        code = 400;
        snprintf(why, sizeof(why), "the series parameter is required");
    } else if (mg_gateway_explain(h->gw, sel, strlen(sel), e, EXPLAIN_MAX, &n, why,
                                  sizeof(why))) {
        code = 400;
    }
    if (code == 200) {
        explain_json(&b, e, n);
    } else {
        mg_buf_adds(&b, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":");
        mg_json_cstr(&b, why);
        mg_buf_adds(&b, "}\n");
    }
    if (parsed)
        evhttp_clear_headers(&q);
    free(e);
    evbuffer_add(evhttp_request_get_output_buffer(req), b.p, b.len);
    mg_buf_fini(&b);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, code, code == 200 ? "OK" : code == 400 ? "Bad Request"
                                                               : "Internal Server Error", NULL);
}

/* GET /api/v1/query?query=EXPR[&time=T]: the expression evaluated through
 * the rules' PromQL engine, in Prometheus's response shape. */
static void on_query(struct evhttp_request *req, void *arg)
{
    struct mg_http *h = arg;
    if (!method_is(req, EVHTTP_REQ_GET))
        return;
    struct evkeyvalq q;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    const char *expr = NULL, *ts = NULL;
    int parsed = query && evhttp_parse_query_str(query, &q) == 0;
    if (parsed) {
        expr = evhttp_find_header(&q, "query");
        ts = evhttp_find_header(&q, "time");
    }
    struct mg_buf b = {0};
    char why[512];
    int64_t t = 0;
    int rc = -EINVAL;
    char *end = NULL;
    double sec = ts ? strtod(ts, &end) : 0;
    if (!expr)
        snprintf(why, sizeof(why), "the query parameter is required");
    else if (ts && (!*ts || *end || !(sec > 0 && sec < 1e11)))
        snprintf(why, sizeof(why), "time must be a Unix time in seconds");
    else {
        t = (int64_t)(sec * 1000.0 + 0.5);
        rc = mg_gateway_query(h->gw, expr, strlen(expr), t, &b, why, sizeof(why));
    }
    if (rc) {
        b.len = 0;
        mg_buf_adds(&b, rc == -EINVAL ? "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":"
                                      : "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":");
        mg_json_cstr(&b, why);
        mg_buf_adds(&b, "}\n");
    }
    if (parsed)
        evhttp_clear_headers(&q);
    evbuffer_add(evhttp_request_get_output_buffer(req), b.p, b.len);
    mg_buf_fini(&b);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, rc == 0 ? 200 : rc == -EINVAL ? 400 : 422,
                      rc == 0 ? "OK" : rc == -EINVAL ? "Bad Request"
                                                    : "Unprocessable Entity", NULL);
}

static void send_json(struct evhttp_request *req, struct mg_buf *b)
{
    evbuffer_add(evhttp_request_get_output_buffer(req), b->p, b->len);
    mg_buf_fini(b);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void on_alerts(struct evhttp_request *req, void *arg)
{
    struct mg_http *h = arg;
    if (!method_is(req, EVHTTP_REQ_GET))
        return;
    struct mg_buf b = {0};
    mg_rules_alerts_json(mg_gateway_rules(h->gw), &b);
    send_json(req, &b);
}

static void on_rules(struct evhttp_request *req, void *arg)
{
    struct mg_http *h = arg;
    if (!method_is(req, EVHTTP_REQ_GET))
        return;
    struct mg_buf b = {0};
    mg_rules_rules_json(mg_gateway_rules(h->gw), &b);
    send_json(req, &b);
}

static void on_healthy(struct evhttp_request *req, void *arg)
{
    (void)arg;
    send_text(req, 200, "OK", "text/plain", "moongate is Healthy.\n");
}

static void on_ready(struct evhttp_request *req, void *arg)
{
    struct mg_http *h = arg;
    if (h->ready)
        send_text(req, 200, "OK", "text/plain", "moongate is Ready.\n");
    else
        send_text(req, 503, "Service Unavailable", "text/plain",
                  "moongate is not ready.\n");
}

static void on_reload(struct evhttp_request *req, void *arg)
{
    struct mg_http *h = arg;
    if (!method_is(req, EVHTTP_REQ_POST | EVHTTP_REQ_PUT))
        return;
    char why[512] = "";
    if (h->reload && h->reload(h->reload_ctx, why, sizeof(why)) < 0) {
        char body[600];
        snprintf(body, sizeof(body), "failed to reload config: %s\n", why);
        send_text(req, 500, "Internal Server Error", "text/plain", body);
        return;
    }
    send_text(req, 200, "OK", "text/plain", "");
}

static void on_root(struct evhttp_request *req, void *arg)
{
    struct mg_http *h = arg;
    const char *uri = evhttp_request_get_uri(req);
    if (strcmp(uri, "/") != 0) {
        send_text(req, 404, "Not Found", "text/plain", "404 page not found\n");
        return;
    }
    struct mg_store *st = mg_gateway_store(h->gw);
    char page[1024];
    snprintf(page, sizeof(page),
             "<!doctype html><html><head><title>moongate</title></head><body>"
             "<h1>moongate %s</h1><p>%zu input series, %zu output series.</p>"
             "<ul><li><a href=\"/metrics\">/metrics</a></li>"
             "<li><a href=\"/-/healthy\">/-/healthy</a></li>"
             "<li><a href=\"/-/ready\">/-/ready</a></li></ul></body></html>\n",
             MG_VERSION, mg_store_input_count(st), mg_store_output_count(st));
    send_text(req, 200, "OK", "text/html; charset=utf-8", page);
}

/* evhttp asks for each new connection's bufferevent. */
static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
    struct mg_http *h = arg;
    mg_listen_guard_ok(&h->guard);
    return mg_http_conns_accept(&h->conns, base);
}

/* The methods some route answers; every other one gets 405 with Allow
 * (evhttp would answer 501, or for CONNECT hold the connection). */
#define USED_METHODS (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | \
                      EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE)
#define USED_ALLOW "GET, HEAD, POST, PUT, DELETE"

struct route {
    const char *path;
    void (*fn)(struct evhttp_request *, void *);
};

static const struct route routes[] = {
    {"/metrics", on_metrics},
    {"/api/v1/push", on_push},
    {"/-/healthy", on_healthy},
    {"/-/ready", on_ready},
    {"/-/reload", on_reload},
    {"/api/v1/status/cardinality", on_cardinality},
    {"/api/v1/explain", on_explain},
    {"/api/v1/alerts", on_alerts},
    {"/api/v1/rules", on_rules},
    {"/api/v1/query", on_query},
    {NULL, NULL}};

/* The whole request arrived: disarm its deadline, then route by path. */
static void dispatch(struct evhttp_request *req, void *arg)
{
    struct mg_http *h = arg;
    if (!mg_http_conns_dispatched(&h->conns, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        send_text(req, 503, "Service Unavailable", "text/plain", "max_connections reached\n");
        return;
    }
    if (!(evhttp_request_get_command(req) & USED_METHODS)) {
        mg_gateway_reject(h->gw, NULL, -1, MG_REASON_DECODE_ERROR, 1, NULL);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", USED_ALLOW);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        send_text(req, 405, "Method Not Allowed", "text/plain", "method not allowed\n");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (mg_http_authorize(h->gw, h->tls, req, path ? path : "/", &h->who) < 0)
        return;
    if (path && mg_pushgw_http_route(h->pushgw, req, path))
        return;
    if (path && mg_web_route(h->web, req, path))
        return;
    for (const struct route *r = routes; path && r->path; r++)
        if (strcmp(path, r->path) == 0) {
            r->fn(req, h);
            return;
        }
    on_root(req, h);
}

struct mg_http *mg_http_new(struct event_base *base, struct mg_gateway *gw,
                            const struct mg_config *cfg, const char *addr,
                            mg_reload_fn reload, void *reload_ctx, char *why,
                            size_t whylen)
{
    struct mg_http *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    h->base = base;
    h->gw = gw;
    h->cfg = cfg;
    h->reload = reload;
    h->reload_ctx = reload_ctx;
    h->ready = 1;
    mg_http_conns_init(&h->conns, base, gw, cfg);
    h->http = evhttp_new(base);
    if (!h->http) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    if (!(h->pushgw = mg_pushgw_http_new(base, gw, cfg, why, whylen)))
        goto fail;
    if (!(h->web = mg_web_new(base, gw, cfg, why, whylen)))
        goto fail;
    mg_web_set_pushgw(h->web, mg_pushgw_http_groups(h->pushgw));
    /* Bodies over the limit get our counted JSON 413 (on_push); libevent
     * refuses only those over twice the limit, before reading them. */
    evhttp_set_max_body_size(h->http, (ev_ssize_t)(2 * cfg->max_http_body_bytes));
    evhttp_set_max_headers_size(h->http, (ev_ssize_t)cfg->max_http_header_bytes);
    evhttp_set_timeout(h->http, (int)cfg->idle_timeout);
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_bevcb(h->http, on_new_conn, h);
    evhttp_set_gencb(h->http, dispatch, h);
    struct sockaddr_storage ss;
    int sl;
    if (mg_parse_hostport(addr, &ss, &sl)) {
        snprintf(why, whylen, "%s: not host:port", addr);
        goto fail;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0 ||
        listen(fd, 128) < 0) {
        snprintf(why, whylen, "%s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto fail;
    }
    evutil_make_socket_nonblocking(fd);
    struct evhttp_bound_socket *bound = evhttp_accept_socket_with_handle(h->http, fd);
    if (!bound) {
        snprintf(why, whylen, "%s: cannot accept", addr);
        close(fd);
        goto fail;
    }
    mg_listen_guard_init(&h->guard, base, evhttp_bound_socket_get_listener(bound),
                         mg_gateway_stats(gw), "http");
    char name[128];
    mg_log(MG_LOG_INFO, "listening", "transport", "http", "addr",
           mg_sock_name(fd, name, sizeof(name)), NULL);
    return h;
fail:
    mg_http_free(h);
    return NULL;
}

void mg_http_set_tls(struct mg_http *h, struct mg_tls *tls)
{
    h->tls = tls;
    h->conns.tls = tls;
}

void mg_http_set_ready(struct mg_http *h, int ready)
{
    h->ready = ready;
}

void mg_http_free(struct mg_http *h)
{
    if (!h)
        return;
    mg_listen_guard_fini(&h->guard);
    if (h->http)
        evhttp_free(h->http);
    mg_http_conns_fini(&h->conns); /* evhttp_free closed them all */
    mg_pushgw_http_free(h->pushgw);
    mg_web_free(h->web);
    mg_buf_fini(&h->scrape);
    mg_buf_fini(&h->gz);
    mg_buf_fini(&h->reply);
    free(h);
}
