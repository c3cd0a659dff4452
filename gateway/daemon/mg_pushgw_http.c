/* mg_pushgw_http: requests in, mg_pushgw calls, replies out. */
#include "mg_pushgw_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event_struct.h>
#include <event2/keyvalq_struct.h>
#include <zlib.h>

#include "mg_http_auth.h"
#include "mg_log.h"
#include "mg_pbfmt.h"
#include "mg_pushgw_snap.h"
#include "mg_refused.h"

struct mg_pushgw_http {
    struct mg_pushgw *pg;
    struct mg_gateway *gw;
    const struct mg_config *cfg;
    struct event sweep;
    struct mg_buf body, reply;
};

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct mg_pushgw_http *ph = arg;
    mg_pushgw_sweep(ph->pg);
}

struct mg_pushgw_http *mg_pushgw_http_new(struct event_base *base,
                                          struct mg_gateway *gw,
                                          const struct mg_config *cfg,
                                          char *why, size_t whylen)
{
    struct mg_pushgw_http *ph = calloc(1, sizeof(*ph));
    if (!ph) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    ph->gw = gw;
    ph->cfg = cfg;
    ph->pg = mg_pushgw_new(gw, cfg, why, whylen);
    if (!ph->pg) {
        free(ph);
        return NULL;
    }
    /* snapshots hold the groups; a restored one gives them back now */
    mg_gateway_set_pushgw(gw, ph->pg);
    char rwhy[128];
    if (mg_pushgw_snap_restore(ph->pg, rwhy, sizeof(rwhy)))
        mg_log(MG_LOG_WARN, "Pushgateway groups restored in part", "err", rwhy, NULL);
    /* groups expire within a sweep interval of their TTL */
    double t = cfg->sweep_interval > 0 ? cfg->sweep_interval : 1;
    struct timeval tv = {(time_t)t, (suseconds_t)((t - (double)(time_t)t) * 1e6)};
    event_assign(&ph->sweep, base, -1, EV_PERSIST, on_sweep, ph);
    if (cfg->npushgw_ttl)
        event_add(&ph->sweep, &tv);
    return ph;
}

void mg_pushgw_http_free(struct mg_pushgw_http *ph)
{
    if (!ph)
        return;
    if (ph->cfg->npushgw_ttl)
        event_del(&ph->sweep);
    if (mg_gateway_pushgw(ph->gw) == ph->pg)
        mg_gateway_set_pushgw(ph->gw, NULL);
    mg_pushgw_free(ph->pg);
    mg_buf_fini(&ph->body);
    mg_buf_fini(&ph->reply);
    free(ph);
}

static void reply(struct evhttp_request *req, int code, const char *ctype,
                  const struct mg_buf *b)
{
    static const struct {
        int code;
        const char *reason;
    } reasons[] = {{200, "OK"}, {202, "Accepted"}, {400, "Bad Request"},
                   {401, "Unauthorized"}, {405, "Method Not Allowed"},
                   {413, "Payload Too Large"}, {415, "Unsupported Media Type"},
                   {500, "Internal Server Error"}};
    const char *reason = "Error";
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].code == code)
            reason = reasons[i].reason;
    if (b && b->len)
        evbuffer_add(evhttp_request_get_output_buffer(req), b->p, b->len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code, reason, NULL);
}

static void reply_text(struct mg_pushgw_http *ph, struct evhttp_request *req,
                       int code, const char *text)
{
    mg_buf_reset(&ph->reply);
    mg_buf_adds(&ph->reply, text);
    reply(req, code, "text/plain; charset=utf-8", &ph->reply);
}

/* Inflates a gzip body into ph->body, at most max bytes: 0, or the HTTP
 * status to refuse it with. */
static int gunzip(struct mg_pushgw_http *ph, const unsigned char *p, size_t len,
                  size_t max)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return 500;
    mg_buf_reset(&ph->body);
    z.next_in = (unsigned char *)p;
    z.avail_in = (uInt)len;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (ph->body.len > max) {
            inflateEnd(&z);
            return 413;
        }
        if (mg_buf_reserve(&ph->body, 65536)) {
            inflateEnd(&z);
            return 500;
        }
        z.next_out = (unsigned char *)ph->body.p + ph->body.len;
        z.avail_out = (uInt)(ph->body.cap - ph->body.len);
        rc = inflate(&z, Z_NO_FLUSH);
        ph->body.len = ph->body.cap - z.avail_out;
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&z);
            return 400;
        }
        if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
            inflateEnd(&z);
            return 400; /* truncated */
        }
    }
    inflateEnd(&z);
    return ph->body.len > max ? 413 : 0;
}

/* The body format Content-Type names: protobuf only as Pushgateway reads
 * it (delimited MetricFamily), everything else as text, as Pushgateway
 * does (curl's form default, none at all). -1: a protobuf it cannot read. */
static int format_of(const char *ct)
{
    size_t n = strlen(MG_PB_CONTENT_TYPE);
    if (!ct || strncasecmp(ct, MG_PB_CONTENT_TYPE, n) != 0)
        return MG_PUSHGW_TEXT;
    if (strstr(ct, "proto=io.prometheus.client.MetricFamily") &&
        strstr(ct, "encoding=delimited"))
        return MG_PUSHGW_PROTO;
    return -1;
}

/* Logs a refused body with the peer's address; text is the reply's
 * first line. */
static void log_refused(struct evhttp_request *req, enum mg_reason r, const char *text)
{
    char peer[80], detail[MG_WHY_LEN];
    size_t n = strcspn(text, "\n");
    snprintf(detail, sizeof(detail), "%.*s", (int)n, text);
    mg_refused_log("input refused", MG_TRANSPORT_PUSHGATEWAY,
                   mg_http_peer(req, peer, sizeof(peer)), r, -1, detail);
}

static void on_push(struct mg_pushgw_http *ph, struct evhttp_request *req,
                    const char *path)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    enum mg_pushgw_method m = cmd == EVHTTP_REQ_PUT    ? MG_PUSHGW_PUT
                              : cmd == EVHTTP_REQ_POST ? MG_PUSHGW_POST
                                                       : MG_PUSHGW_DELETE;
    if (cmd != EVHTTP_REQ_PUT && cmd != EVHTTP_REQ_POST && cmd != EVHTTP_REQ_DELETE) {
        reply_text(ph, req, 405, "method not allowed: PUT, POST or DELETE\n");
        return;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    /* who may push or delete was decided with the route's role (mg_http_auth) */
    int f = format_of(evhttp_find_header(in, "Content-Type"));
    const char *ce = evhttp_find_header(in, "Content-Encoding");
    int gz = ce && strcasecmp(ce, "gzip") == 0;
    if (f < 0 || (ce && !gz && strcasecmp(ce, "identity") != 0)) {
        const char *text = f < 0 ? "protobuf bodies must be delimited MetricFamily\n"
                                 : "Content-Encoding must be gzip or identity\n";
        mg_gateway_reject(ph->gw, NULL, -1, MG_REASON_DECODE_ERROR, 1, NULL);
        log_refused(req, MG_REASON_DECODE_ERROR, text);
        reply_text(ph, req, 415, text);
        return;
    }
    struct evbuffer *eb = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(eb), max = ph->cfg->max_http_body_bytes;
    const char *p = len ? (const char *)evbuffer_pullup(eb, -1) : "";
    int code = len > max ? 413 : gz ? gunzip(ph, (const unsigned char *)p, len, max) : 0;
    if (code) {
        enum mg_reason r = code == 413 ? MG_REASON_TOO_LARGE : MG_REASON_DECODE_ERROR;
        const char *text = code == 413 ? "body larger than max_http_body_bytes\n"
                                       : "body is not valid gzip\n";
        mg_gateway_reject(ph->gw, NULL, -1, r, 1, NULL);
        log_refused(req, r, text);
        reply_text(ph, req, code, text);
        return;
    }
    if (gz) {
        p = ph->body.p ? ph->body.p : "";
        len = ph->body.len;
    }
    code = mg_pushgw_request(ph->pg, m, path, (enum mg_pushgw_format)f, p, len, &ph->reply);
    enum mg_reason r = mg_pushgw_last_reason(ph->pg);
    if (r != MG_OK) {
        /* the reply's first line names the line and the reason, past the
         * heading of a list of refused series */
        const char *text = "";
        if (mg_buf_reserve(&ph->reply, 1) == 0) {
            ph->reply.p[ph->reply.len] = '\0';
            text = ph->reply.p;
        }
        const char *list = "some series were refused:\n";
        if (strncmp(text, list, strlen(list)) == 0)
            text += strlen(list);
        log_refused(req, r, text);
    }
    reply(req, code, "text/plain; charset=utf-8", &ph->reply);
}

int mg_pushgw_http_route(struct mg_pushgw_http *ph,
                         struct evhttp_request *req, const char *path)
{
    if (strncmp(path, "/metrics/job", 12) == 0 && (path[12] == '/' || path[12] == '@')) {
        on_push(ph, req, path + 8);
        return 1;
    }
    int metrics = strcmp(path, "/api/v1/metrics") == 0;
    if (!metrics && strcmp(path, "/api/v1/status") != 0)
        return 0;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        reply_text(ph, req, 405, "method not allowed\n");
        return 1;
    }
    mg_buf_reset(&ph->reply);
    if (metrics)
        mg_pushgw_metrics_json(ph->pg, &ph->reply);
    else
        mg_pushgw_status_json(ph->pg, &ph->reply);
    reply(req, 200, "application/json", &ph->reply);
    return 1;
}

struct mg_pushgw *mg_pushgw_http_groups(struct mg_pushgw_http *ph)
{
    return ph->pg;
}
