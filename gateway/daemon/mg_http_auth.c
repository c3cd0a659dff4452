/* mg_http_auth: routes to roles, credentials out of requests. */
#include "mg_http_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>

#include "mg_addr.h"
#include "mg_json.h"
#include "mg_refused.h"

int mg_http_route_role(const char *path, enum evhttp_cmd_type method)
{
    if (strcmp(path, "/-/healthy") == 0 || strcmp(path, "/-/ready") == 0)
        return -1;
    /* the Pushgateway API pushes with PUT and POST under /metrics/job/
     * and /metrics/job@base64/; its DELETE changes state: admin */
    int pgw = strncmp(path, "/metrics/job/", 13) == 0 ||
              strncmp(path, "/metrics/job@base64/", 20) == 0;
    if (strcmp(path, "/api/v1/push") == 0 || (pgw && method != EVHTTP_REQ_DELETE))
        return MG_ROLE_PUSH;
    /* reads that take a body: a dry run, a query */
    if (strcmp(path, "/api/v1/explain") == 0 || strcmp(path, "/api/v1/query") == 0)
        return MG_ROLE_READ;
    if (strcmp(path, "/-/reload") == 0 || strncmp(path, "/-/", 3) == 0 ||
        strncmp(path, "/api/v1/admin/", 14) == 0 ||
        (method & (EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                   EVHTTP_REQ_PATCH)))
        return MG_ROLE_ADMIN;
    return MG_ROLE_READ;
}

/* "Basic base64(user:pass)" into user and pass (in buf). 0 or -1. */
static int basic(const char *b64, char *buf, size_t n, const char **user, const char **pass)
{
    size_t len = strlen(b64);
    if (len == 0 || len % 4 || (len / 4) * 3 + 1 > n)
        return -1;
    int out = EVP_DecodeBlock((unsigned char *)buf, (const unsigned char *)b64, (int)len);
    if (out < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding as bytes */
    while (len && b64[len - 1] == '=') {
        len--;
        out--;
    }
    buf[out] = 0;
    if ((int)strlen(buf) != out)
        return -1; /* a NUL inside */
    char *colon = strchr(buf, ':');
    if (!colon)
        return -1;
    *colon = 0;
    *user = buf;
    *pass = colon + 1;
    return 0;
}

static void refuse(struct evhttp_request *req, struct mg_auth *a, int role,
                   enum mg_verdict v)
{
    int code = v == MG_AUTH_WRONG_ROLE || v == MG_AUTH_DISABLED ? 403 : 401;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (code == 401) {
        int users = role != MG_ROLE_PUSH && a; /* basic auth is offered too */
        evhttp_add_header(out, "WWW-Authenticate",
                          users ? "Basic realm=\"moongate\"" : "Bearer realm=\"moongate\"");
    }
    char body[256];
    const char *text = role == MG_ROLE_PUSH && v == MG_AUTH_MISSING ? "a bearer token is required"
                       : role == MG_ROLE_PUSH && v == MG_AUTH_BAD   ? "bad push token"
                                                                    : mg_verdict_text(v);
    if (role == MG_ROLE_PUSH) {
        /* counted as a rejection, so logged as one; the push reply's
         * shape, as producers parse it */
        char peer[80];
        mg_refused_log("input refused", MG_TRANSPORT_HTTP, mg_http_peer(req, peer, sizeof(peer)),
                       MG_REASON_UNAUTHORIZED, -1, text);
        snprintf(body, sizeof(body), "{\"accepted\":0,\"rejected\":1,\"dropped\":0,\"errors\":"
                 "[{\"index\":-1,\"reason\":\"unauthorized\",\"detail\":\"%s\"}],\"drops\":[]}\n",
                 text);
    } else {
        snprintf(body, sizeof(body), "{\"status\":\"error\",\"errorType\":\"%s\",\"error\":\"%s\"}\n",
                 code == 401 ? "unauthorized" : "forbidden", text);
    }
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_send_reply(req, code, code == 401 ? "Unauthorized" : "Forbidden", NULL);
}

int mg_http_authorize(struct mg_gateway *gw, struct mg_tls *tls,
                      struct evhttp_request *req, const char *path,
                      struct mg_principal **who)
{
    *who = NULL;
    int role = mg_http_route_role(path, evhttp_request_get_command(req));
    if (role < 0)
        return 0;
    struct mg_cred c = {0};
    char userpass[512], cn[256];
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        c.token = h + 7;
        c.tlen = strlen(c.token);
    } else if (h && strncasecmp(h, "Basic ", 6) == 0) {
        c.malformed = basic(h + 6, userpass, sizeof(userpass), &c.user, &c.pass) != 0;
    } else if (h) {
        c.malformed = 1;
    }
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    SSL *ssl = tls && bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    if (ssl && mg_tls_peer_cn(tls, ssl, cn, sizeof(cn)))
        c.cn = cn;
    struct mg_auth *a = mg_gateway_auth(gw);
    enum mg_verdict v = mg_auth_decide(a, (enum mg_role)role, &c, who);
    if (c.user) /* a password was decoded into userpass */
        OPENSSL_cleanse(userpass, sizeof(userpass));
    if (v == MG_AUTH_OK)
        return 0;
    mg_gateway_stats(gw)->unauthorized[MG_TRANSPORT_HTTP]++;
    if (role == MG_ROLE_PUSH)
        mg_gateway_stats(gw)->reasons[MG_REASON_UNAUTHORIZED]++;
    refuse(req, a, role, v);
    return -1;
}

int mg_http_push_refused(struct evhttp_request *req, const struct mg_push_result *res)
{
    int forged = 0;
    for (uint32_t i = 0; i < res->nerr; i++)
        forged |= res->err[i].reason == MG_REASON_UNAUTHORIZED;
    int budget = res->retry_after > 0;
    if (res->accepted || (!budget && !forged))
        return 0;
    struct mg_buf b = {0};
    char tmp[32];
    mg_push_result_json(res, &b);
    evbuffer_add(evhttp_request_get_output_buffer(req), b.p, b.len);
    mg_buf_fini(&b);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", "application/json");
    if (forged) { /* labels bound to another producer */
        evhttp_send_reply(req, 403, "Forbidden", NULL);
        return 1;
    }
    snprintf(tmp, sizeof(tmp), "%.0f", res->retry_after < 1 ? 1.0 : res->retry_after + 0.499);
    evhttp_add_header(out, "Retry-After", tmp);
    evhttp_send_reply(req, 429, "Too Many Requests", NULL);
    return 1;
}

int mg_cert_principal(struct mg_gateway *gw, struct mg_tls *tls, SSL *ssl, char *cn,
                      size_t n, int *state, struct mg_principal **who)
{
    if (*state == 0 && SSL_is_init_finished(ssl))
        *state = mg_tls_peer_cn(tls, ssl, cn, n) ? 1 : -1;
    if (*state != 1)
        return 0;
    struct mg_cred c = {.cn = cn};
    return mg_auth_decide(mg_gateway_auth(gw), MG_ROLE_PUSH, &c, who) == MG_AUTH_OK &&
           *who != NULL;
}

const char *mg_http_peer(struct evhttp_request *req, char *buf, size_t len)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    return mg_addr_name(conn ? evhttp_connection_get_addr(conn) : NULL, buf, len);
}
