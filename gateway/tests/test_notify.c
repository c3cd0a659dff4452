/* test_notify: mg_notify against a fake Alertmanager, an evhttp server on
 * 127.0.0.1 (port 0) on the same event_base: the JSON shape of what it
 * receives, batching, 5xx retried with backoff, 4xx dropped and counted,
 * an Alertmanager down then up, superseded alerts, the queue bound, a
 * server that never answers, the queue-only mode and bad URLs. Every wait
 * has its own deadline. Exits non-zero and names each failed check. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mg_common.h"
#include "mg_log.h"
#include "mg_notify.h"
#include "mg_stats.h"
#include "mg_test.h"


/* ---- a small JSON reader, to inspect bodies as Alertmanager would ---- */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
struct jv {
    int t;
    char *s; /* J_STR, unescaped */
    size_t n;
    char **keys;
    struct jv *v;
};
struct jp {
    const char *p, *end;
};

static void jfree(struct jv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        jfree(&v->v[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->keys);
    free(v->v);
    free(v->s);
    memset(v, 0, sizeof(*v));
}

static void jws(struct jp *j)
{
    while (j->p < j->end && *j->p && strchr(" \t\r\n", *j->p))
        j->p++;
}

static void put_utf8(char **o, unsigned c)
{
    static const unsigned char lead[] = {0, 0xc0, 0xe0, 0xf0};
    int k = c < 0x80 ? 0 : c < 0x800 ? 1 : c < 0x10000 ? 2 : 3;
    *(*o)++ = (char)(lead[k] | c >> (6 * k));
    while (k--)
        *(*o)++ = (char)(0x80 | ((c >> (6 * k)) & 0x3f));
}

static int hex4(const char *p, unsigned *out)
{
    char tmp[5] = {0};
    for (int i = 0; i < 4; i++)
        if (!strchr("0123456789abcdefABCDEF", tmp[i] = p[i]) || !p[i])
            return -1;
    *out = (unsigned)strtoul(tmp, NULL, 16);
    return 0;
}

static char *jstr(struct jp *j)
{
    if (j->p >= j->end || *j->p != '"')
        return NULL;
    j->p++;
    char *s = malloc((size_t)(j->end - j->p) * 2 + 1), *o = s;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        if (c < 0x20)
            goto bad;
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        if (j->p >= j->end)
            goto bad;
        c = (unsigned char)*j->p++;
        const char *simple = strchr("\"\\/bfnrt", c);
        if (simple && c) {
            *o++ = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            continue;
        }
        unsigned u, lo;
        if (c != 'u' || j->end - j->p < 4 || hex4(j->p, &u))
            goto bad;
        j->p += 4;
        if (u >= 0xd800 && u < 0xdc00) {
            if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
                hex4(j->p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
                goto bad;
            j->p += 6;
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        }
        put_utf8(&o, u);
    }
    if (j->p >= j->end)
        goto bad;
    j->p++;
    *o = '\0';
    return s;
bad:
    free(s);
    return NULL;
}

static int jparse(struct jp *j, struct jv *v, int depth)
{
    memset(v, 0, sizeof(*v));
    jws(j);
    if (j->p >= j->end || depth > 32)
        return -1;
    char c = *j->p;
    if (c == '"') {
        v->t = J_STR;
        return (v->s = jstr(j)) ? 0 : -1;
    }
    if (c == '[' || c == '{') {
        v->t = c == '[' ? J_ARR : J_OBJ;
        j->p++;
        jws(j);
        if (j->p < j->end && *j->p == (c == '[' ? ']' : '}')) {
            j->p++;
            return 0;
        }
        for (;;) {
            v->v = realloc(v->v, (v->n + 1) * sizeof(*v->v));
            if (v->t == J_OBJ) {
                v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
                jws(j);
                v->keys[v->n] = jstr(j);
                memset(&v->v[v->n], 0, sizeof(*v->v));
                v->n++;
                jws(j);
                if (!v->keys[v->n - 1] || j->p >= j->end || *j->p++ != ':')
                    return -1;
                if (jparse(j, &v->v[v->n - 1], depth + 1))
                    return -1;
            } else {
                v->n++;
                if (jparse(j, &v->v[v->n - 1], depth + 1))
                    return -1;
            }
            jws(j);
            if (j->p >= j->end)
                return -1;
            char d = *j->p++;
            if (d == (c == '[' ? ']' : '}'))
                return 0;
            if (d != ',')
                return -1;
        }
    }
    static const char *const lits[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(lits[i]);
        if ((size_t)(j->end - j->p) >= l && memcmp(j->p, lits[i], l) == 0) {
            v->t = i < 2 ? J_BOOL : J_NULL;
            j->p += l;
            return 0;
        }
    }
    const char *s = j->p;
    while (j->p < j->end && *j->p && strchr("+-0123456789.eE", *j->p))
        j->p++;
    v->t = J_NUM;
    return j->p > s ? 0 : -1;
}

/* Parses all of [p, p+n): 0, or -1 on anything that is not one JSON value. */
static int jparse_all(const char *p, size_t n, struct jv *v)
{
    struct jp j = {p, p + n};
    if (jparse(&j, v, 0)) {
        jfree(v);
        return -1;
    }
    jws(&j);
    if (j.p != j.end) {
        jfree(v);
        return -1;
    }
    return 0;
}

static const struct jv *jget(const struct jv *o, const char *key)
{
    if (!o || o->t != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return &o->v[i];
    return NULL;
}

static const char *jgets(const struct jv *o, const char *key)
{
    const struct jv *v = jget(o, key);
    return v && v->t == J_STR ? v->s : NULL;
}

/* ---- the fake Alertmanager ---- */

#define MAX_SEEN 256
#define MAX_REQS 64

struct srv {
    struct event_base *base;
    struct evhttp *http;
    int port;
    int codes[16];      /* the status of request i; 200 past the script */
    size_t ncodes;
    size_t nreq;        /* requests received */
    size_t req_alerts[MAX_REQS];
    double req_at[MAX_REQS];
    size_t nseen;       /* alerts in 2xx answers, with their alertname and annotation "v" */
    char seen[MAX_SEEN][32];
    char seen_v[MAX_SEEN][32];
    int bad_bodies;
    char path[128], ctype[64], host[64];
    int method_post;
    struct jv last;     /* the last body */
};

static void on_request(struct evhttp_request *req, void *arg)
{
    struct srv *s = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = (const char *)evbuffer_pullup(in, -1);
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *ct = evhttp_find_header(h, "Content-Type");
    const char *host = evhttp_find_header(h, "Host");
    snprintf(s->path, sizeof(s->path), "%s", evhttp_request_get_uri(req));
    snprintf(s->ctype, sizeof(s->ctype), "%s", ct ? ct : "");
    snprintf(s->host, sizeof(s->host), "%s", host ? host : "");
    s->method_post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
    int code = s->nreq < s->ncodes ? s->codes[s->nreq] : 200;
    jfree(&s->last);
    size_t n = 0;
    if (jparse_all(body ? body : "", len, &s->last) || s->last.t != J_ARR)
        s->bad_bodies++;
    else
        n = s->last.n;
    if (s->nreq < MAX_REQS) {
        s->req_alerts[s->nreq] = n;
        s->req_at[s->nreq] = mg_mono_seconds();
    }
    s->nreq++;
    for (size_t i = 0; code / 100 == 2 && i < n && s->nseen < MAX_SEEN; i++) {
        const struct jv *a = &s->last.v[i];
        const char *name = jgets(jget(a, "labels"), "alertname");
        const char *v = jgets(jget(a, "annotations"), "v");
        snprintf(s->seen[s->nseen], sizeof(s->seen[0]), "%s", name ? name : "?");
        snprintf(s->seen_v[s->nseen], sizeof(s->seen_v[0]), "%s", v ? v : "");
        s->nseen++;
    }
    if (code / 100 != 2)
        evbuffer_add_printf(evhttp_request_get_output_buffer(req),
                            "{\"error\":\"scripted %d\"}\n", code);
    evhttp_send_reply(req, code, code / 100 == 2 ? "OK" : "Scripted", NULL);
}

static int srv_start(struct srv *s, struct event_base *base, int port)
{
    memset(s, 0, sizeof(*s));
    s->base = base;
    s->http = evhttp_new(base);
    evhttp_set_gencb(s->http, on_request, s);
    struct evhttp_bound_socket *bs =
        evhttp_bind_socket_with_handle(s->http, "127.0.0.1", (ev_uint16_t)port);
    if (!bs) {
        evhttp_free(s->http);
        s->http = NULL;
        return -1;
    }
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl);
    s->port = ntohs(sin.sin_port);
    return 0;
}

static void srv_stop(struct srv *s)
{
    if (s->http)
        evhttp_free(s->http);
    s->http = NULL;
    jfree(&s->last);
}

/* A port nothing listens on (bound, read, closed). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
        getsockname(fd, (struct sockaddr *)&sin, &sl)) {
        perror("free_port");
        exit(2);
    }
    close(fd);
    return ntohs(sin.sin_port);
}

/* A listener that accepts and never reads nor answers; or, trickling, that
 * starts an answer and adds a byte every 50 ms without ever ending it. */
struct hole {
    int lfd, fds[16];
    size_t n;
    double at[16];
    struct event *ev, *drip;
    int port;
};

static void on_drip(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hole *h = arg;
    for (size_t i = 0; i < h->n; i++)
        if (h->fds[i] >= 0 && send(h->fds[i], "a", 1, MSG_NOSIGNAL) < 0) {
            close(h->fds[i]);
            h->fds[i] = -1;
        }
}

static void on_hole(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct hole *h = arg;
    int c = accept(fd, NULL, NULL);
    if (c < 0)
        return;
    if (h->n < 16) {
        static const char start[] = "HTTP/1.1 200 OK\r\nX-Slow: ";
        if (h->drip && send(c, start, sizeof(start) - 1, MSG_NOSIGNAL) < 0)
            perror("hole");
        h->at[h->n] = mg_mono_seconds();
        h->fds[h->n++] = c;
    } else {
        close(c);
    }
}

static void hole_start(struct hole *h, struct event_base *base, int trickle)
{
    memset(h, 0, sizeof(*h));
    if (trickle) {
        struct timeval tv = {0, 50000};
        h->drip = event_new(base, -1, EV_PERSIST, on_drip, h);
        event_add(h->drip, &tv);
    }
    h->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    if (bind(h->lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(h->lfd, 16) ||
        getsockname(h->lfd, (struct sockaddr *)&sin, &sl)) {
        perror("hole");
        exit(2);
    }
    h->port = ntohs(sin.sin_port);
    evutil_make_socket_nonblocking(h->lfd);
    h->ev = event_new(base, h->lfd, EV_READ | EV_PERSIST, on_hole, h);
    event_add(h->ev, NULL);
}

static void hole_stop(struct hole *h)
{
    event_free(h->ev);
    if (h->drip)
        event_free(h->drip);
    close(h->lfd);
    for (size_t i = 0; i < h->n; i++)
        if (h->fds[i] >= 0)
            close(h->fds[i]);
}

/* ---- running the loop, always bounded ---- */

struct wait {
    struct event_base *base;
    int (*done)(void *);
    void *arg;
    double deadline;
};

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct wait *w = arg;
    if ((w->done && w->done(w->arg)) || mg_mono_seconds() > w->deadline)
        event_base_loopbreak(w->base);
}

/* Runs the loop until done(arg) or max_s seconds; returns done(arg). With
 * done NULL, runs for max_s. */
static int run_until(struct event_base *base, int (*done)(void *), void *arg, double max_s)
{
    struct wait w = {base, done, arg, mg_mono_seconds() + max_s};
    struct event *poll = event_new(base, -1, EV_PERSIST, on_poll, &w);
    struct timeval tv = {0, 2000};
    event_add(poll, &tv);
    event_base_loop(base, 0);
    event_free(poll);
    return done ? done(arg) : 1;
}

/* What run_until waits for: a server to have seen n alerts, a hole to have
 * accepted n connections, or every queue of a notifier to be empty (the
 * server counts an alert when the request arrives, the client only when
 * the answer does). */
struct until {
    struct srv *s;
    struct hole *h;
    struct mg_notify *nt;
    size_t n;
};
static int reached(void *arg)
{
    struct until *u = arg;
    if (u->s)
        return u->s->nseen >= u->n;
    if (u->h)
        return u->h->n >= u->n;
    for (size_t i = 0; i < mg_notify_count(u->nt); i++)
        if (mg_notify_queued(u->nt, i))
            return 0;
    return 1;
}

/* ---- helpers ---- */

static double dropped(const struct mg_stats *st, const char *reason)
{
    for (unsigned i = 0; i < st->notify_dropped.n; i++)
        if (strcmp(st->notify_dropped.key[i], reason) == 0)
            return st->notify_dropped.val[i];
    return 0;
}

#define L(n, v) {n, v, sizeof(n) - 1, sizeof(v) - 1}

/* Queues alerts named <prefix><i> for i in [from, to), annotation v. */
static void send_named(struct mg_notify *n, const char *prefix, int from, int to,
                       const char *v)
{
    for (int i = from; i < to; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%s%d", prefix, i);
        struct mg_label lab[2] = {{"alertname", name, 9, (uint32_t)strlen(name)},
                                  {"severity", "page", 8, 4}};
        struct mg_label ann[1] = {{"v", v, 1, (uint32_t)strlen(v)}};
        struct mg_notify_alert a = {lab, 2, ann, 1, 1700000000000, 1700000300000, NULL};
        int rc = mg_notify_send(n, &a, 1);
        CHECK(rc == 0, "send %s: %d", name, rc);
    }
}

static struct mg_notify *make(struct event_base *base, const int *ports, size_t n,
                              const struct mg_notify_config *cfg, struct mg_stats *st)
{
    char urls[4][64];
    const char *u[4];
    for (size_t i = 0; i < n; i++) {
        snprintf(urls[i], sizeof(urls[i]), "http://127.0.0.1:%d", ports[i]);
        u[i] = urls[i];
    }
    char why[MG_WHY_LEN] = "";
    struct mg_notify *nt = mg_notify_new(base, u, n, cfg, st, why, sizeof(why));
    if (!nt) {
        fprintf(stderr, "mg_notify_new: %s\n", why);
        exit(2);
    }
    return nt;
}

/* ---- the cases ---- */

static void test_shape(struct event_base *base)
{
    struct srv s;
    struct mg_stats st;
    mg_stats_init(&st);
    CHECK(srv_start(&s, base, 0) == 0, "server");
    char url[96], why[MG_WHY_LEN] = "";
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/prefix/", s.port);
    const char *urls[] = {url};
    struct mg_notify *n = mg_notify_new(base, urls, 1, NULL, &st, why, sizeof(why));
    CHECK(n, "new: %s", why);
    if (!n)
        return;
    static const char weird[] = "q\"b\\s/\n\t\x01 \xc3\xbc \xe2\x82\xac \xf0\x9f\x94\xa5";
    struct mg_label lab[] = {L("severity", "critical"), L("alertname", "HighErrorRate"),
                             L("empty", ""), {"weird", weird, 5, sizeof(weird) - 1}};
    struct mg_label ann[] = {L("summary", "error rate 7%"), L("runbook", "")};
    struct mg_label lab2[] = {L("alertname", "Second")};
    struct mg_label nolab[] = {L("alertname", "")};
    struct mg_notify_alert a[] = {
        {lab, 4, ann, 2, 1706933106789, 1706933406000, "http://gw:9091/graph?g0.expr=x"},
        {lab2, 1, NULL, 0, -1, 0, NULL},
        {nolab, 1, NULL, 0, 1, 0, NULL},          /* no labels: refused here */
        {lab2, 1, NULL, 0, 2000, 1000, NULL},     /* ends before it starts */
    };
    CHECK(mg_notify_send(n, a, 4) == 0, "send");
    CHECK(mg_notify_queued(n, 0) == 2, "queued %zu", mg_notify_queued(n, 0));
    CHECK(dropped(&st, "rejected") == 2, "rejected %g", dropped(&st, "rejected"));
    struct until w = {.s = &s, .n = 2};
    CHECK(run_until(base, reached, &w, 3), "delivered %zu of 2", s.nseen);
    CHECK(s.nreq == 1 && s.bad_bodies == 0, "requests %zu, bad bodies %d", s.nreq, s.bad_bodies);
    CHECK(strcmp(s.path, "/prefix/api/v2/alerts") == 0, "path %s", s.path);
    CHECK(s.method_post, "not a POST");
    CHECK(strcmp(s.ctype, "application/json") == 0, "content type %s", s.ctype);
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", s.port);
    CHECK(strcmp(s.host, host) == 0, "host %s", s.host);
    CHECK(s.last.t == J_ARR && s.last.n == 2, "body is not an array of 2");
    if (s.last.t == J_ARR && s.last.n == 2) {
        const struct jv *x = &s.last.v[0], *y = &s.last.v[1];
        const struct jv *labels = jget(x, "labels");
        CHECK(labels && labels->t == J_OBJ && labels->n == 3, "labels: 3 without the empty one");
        CHECK(labels && labels->n == 3 && strcmp(labels->keys[0], "alertname") == 0 &&
                  strcmp(labels->keys[1], "severity") == 0 && strcmp(labels->keys[2], "weird") == 0,
              "labels sorted by name");
        const char *an = jgets(labels, "alertname");
        CHECK(an && strcmp(an, "HighErrorRate") == 0, "alertname %s", an ? an : "(none)");
        CHECK(jgets(labels, "weird") && strcmp(jgets(labels, "weird"), weird) == 0,
              "escaped value round trip: %s", jgets(labels, "weird") ? jgets(labels, "weird") : "");
        const struct jv *ann1 = jget(x, "annotations");
        CHECK(ann1 && ann1->n == 2 && jgets(ann1, "summary") &&
                  strcmp(jgets(ann1, "summary"), "error rate 7%") == 0 &&
                  jgets(ann1, "runbook") && !*jgets(ann1, "runbook"),
              "annotations kept, empty ones too");
        CHECK(jgets(x, "startsAt") && strcmp(jgets(x, "startsAt"), "2024-02-03T04:05:06.789Z") == 0,
              "startsAt %s", jgets(x, "startsAt") ? jgets(x, "startsAt") : "(none)");
        CHECK(jgets(x, "endsAt") && strcmp(jgets(x, "endsAt"), "2024-02-03T04:10:06.000Z") == 0,
              "endsAt %s", jgets(x, "endsAt") ? jgets(x, "endsAt") : "(none)");
        CHECK(jgets(x, "generatorURL") &&
                  strcmp(jgets(x, "generatorURL"), "http://gw:9091/graph?g0.expr=x") == 0,
              "generatorURL");
        CHECK(x->n == 5, "5 fields, got %zu", x->n);
        const struct jv *ann2 = jget(y, "annotations");
        CHECK(ann2 && ann2->t == J_OBJ && ann2->n == 0, "annotations {} when none");
        const char *sa = jgets(y, "startsAt");
        CHECK(sa && strcmp(sa, "1969-12-31T23:59:59.999Z") == 0, "startsAt before the epoch: %s",
              sa ? sa : "(none)");
        CHECK(!jget(y, "endsAt") && !jget(y, "generatorURL"), "endsAt 0 and no URL omitted");
    }
    struct until d = {.nt = n};
    CHECK(run_until(base, reached, &d, 3), "answers reached the client");
    CHECK(st.notifications_sent == 2, "sent %llu", (unsigned long long)st.notifications_sent);
    CHECK(mg_notify_queued(n, 0) == 0, "queued after delivery");
    mg_notify_free(n);
    CHECK(dropped(&st, "shutdown") == 0, "nothing left at free");
    srv_stop(&s);
    mg_stats_fini(&st);
}

static void test_batching(struct event_base *base)
{
    struct srv s;
    struct mg_stats st;
    mg_stats_init(&st);
    srv_start(&s, base, 0);
    struct mg_notify_config cfg = {.batch_size = 3};
    struct mg_notify *n = make(base, &s.port, 1, &cfg, &st);
    send_named(n, "a", 0, 8, "");
    struct until w = {.s = &s, .n = 8};
    CHECK(run_until(base, reached, &w, 3), "delivered %zu of 8", s.nseen);
    CHECK(s.nreq == 3 && s.req_alerts[0] == 3 && s.req_alerts[1] == 3 && s.req_alerts[2] == 2,
          "batches of 3, 3, 2: %zu requests", s.nreq);
    for (int i = 0; i < 8 && (size_t)i < s.nseen; i++) {
        char name[8];
        snprintf(name, sizeof(name), "a%d", i);
        CHECK(strcmp(s.seen[i], name) == 0, "order: %s at %d", s.seen[i], i);
    }
    struct until d = {.nt = n};
    CHECK(run_until(base, reached, &d, 3), "answers reached the client");
    CHECK(st.notifications_sent == 8, "sent %llu", (unsigned long long)st.notifications_sent);
    mg_notify_free(n);
    srv_stop(&s);
    mg_stats_fini(&st);
}

static void test_retry_5xx(struct event_base *base)
{
    struct srv s;
    struct mg_stats st;
    mg_stats_init(&st);
    srv_start(&s, base, 0);
    s.codes[0] = 503;
    s.codes[1] = 500;
    s.codes[2] = 502;
    s.ncodes = 3;
    struct mg_notify_config cfg = {.backoff_min = 0.05, .backoff_max = 5};
    struct mg_notify *n = make(base, &s.port, 1, &cfg, &st);
    send_named(n, "r", 0, 5, "");
    struct until w = {.s = &s, .n = 5};
    CHECK(run_until(base, reached, &w, 3), "delivered %zu of 5", s.nseen);
    CHECK(s.nreq == 4, "4 attempts, got %zu", s.nreq);
    for (size_t i = 0; i < 4 && i < s.nreq; i++)
        CHECK(s.req_alerts[i] == 5, "attempt %zu carried %zu", i, s.req_alerts[i]);
    if (s.nreq >= 4) {
        double g1 = s.req_at[1] - s.req_at[0], g2 = s.req_at[2] - s.req_at[1],
               g3 = s.req_at[3] - s.req_at[2];
        CHECK(g1 >= 0.045 && g2 >= 0.095 && g3 >= 0.195, "backoff doubles: %.3f %.3f %.3f",
              g1, g2, g3);
    }
    struct until d = {.nt = n};
    CHECK(run_until(base, reached, &d, 3), "answers reached the client");
    CHECK(st.notifications_sent == 5 && st.notify_dropped.n == 0, "sent %llu, drops %u",
          (unsigned long long)st.notifications_sent, st.notify_dropped.n);
    mg_notify_free(n);
    srv_stop(&s);

    /* backoff_max caps the doubling */
    srv_start(&s, base, 0);
    for (int i = 0; i < 6; i++)
        s.codes[i] = 500;
    s.ncodes = 6;
    cfg = (struct mg_notify_config){.backoff_min = 0.05, .backoff_max = 0.1};
    n = make(base, &s.port, 1, &cfg, &st);
    send_named(n, "c", 0, 1, "");
    w = (struct until){.s = &s, .n = 1};
    CHECK(run_until(base, reached, &w, 4), "delivered after 6 failures");
    for (size_t i = 1; i < 7 && i < s.nreq; i++)
        CHECK(s.req_at[i] - s.req_at[i - 1] < 0.8, "gap %zu %.3f past the cap", i,
              s.req_at[i] - s.req_at[i - 1]);
    mg_notify_free(n);
    srv_stop(&s);
    mg_stats_fini(&st);
}

static void test_reject_4xx(struct event_base *base)
{
    struct srv s;
    struct mg_stats st;
    mg_stats_init(&st);
    srv_start(&s, base, 0);
    s.codes[0] = 400;
    s.codes[1] = 429; /* "later": retried */
    s.ncodes = 2;
    struct mg_notify_config cfg = {.batch_size = 2, .backoff_min = 0.05};
    struct mg_notify *n = make(base, &s.port, 1, &cfg, &st);
    send_named(n, "x", 0, 4, "");
    struct until w = {.s = &s, .n = 2};
    CHECK(run_until(base, reached, &w, 3), "delivered %zu of 2", s.nseen);
    run_until(base, NULL, NULL, 0.3); /* room for a retry that must not come */
    CHECK(s.nreq == 3, "400 once, 429 then 200: %zu requests", s.nreq);
    CHECK(s.nseen == 2 && strcmp(s.seen[0], "x2") == 0 && strcmp(s.seen[1], "x3") == 0,
          "the refused batch is gone: %zu seen", s.nseen);
    CHECK(dropped(&st, "rejected") == 2, "rejected %g", dropped(&st, "rejected"));
    CHECK(st.notifications_sent == 2, "sent %llu", (unsigned long long)st.notifications_sent);
    CHECK(mg_notify_queued(n, 0) == 0, "queued %zu", mg_notify_queued(n, 0));
    mg_notify_free(n);
    srv_stop(&s);
    mg_stats_fini(&st);
}

static void test_down_then_up(struct event_base *base)
{
    struct srv up, late;
    struct mg_stats st;
    mg_stats_init(&st);
    srv_start(&up, base, 0);
    int ports[2] = {up.port, free_port()};
    struct mg_notify_config cfg = {.backoff_min = 0.05, .backoff_max = 0.2};
    struct mg_notify *n = make(base, ports, 2, &cfg, &st);
    send_named(n, "d", 0, 3, "");
    struct until w = {.s = &up, .n = 3};
    CHECK(run_until(base, reached, &w, 3), "the live one got %zu of 3", up.nseen);
    run_until(base, NULL, NULL, 0.5); /* several refused attempts */
    CHECK(mg_notify_queued(n, 0) == 0, "live queue %zu", mg_notify_queued(n, 0));
    CHECK(mg_notify_queued(n, 1) == 3, "down queue holds %zu", mg_notify_queued(n, 1));
    CHECK(st.notify_dropped.n == 0, "nothing dropped while down");
    send_named(n, "d", 3, 5, "");
    CHECK(srv_start(&late, base, ports[1]) == 0, "late server on port %d", ports[1]);
    w = (struct until){.s = &late, .n = 5};
    CHECK(run_until(base, reached, &w, 3), "the late one got %zu of 5", late.nseen);
    for (size_t i = 0; i < late.nseen && i < 5; i++) {
        char name[8];
        snprintf(name, sizeof(name), "d%zu", i);
        CHECK(strcmp(late.seen[i], name) == 0, "order after recovery: %s", late.seen[i]);
    }
    struct until d = {.nt = n};
    CHECK(run_until(base, reached, &d, 3), "answers reached the client");
    CHECK(up.nseen == 5, "the live one got %zu of 5", up.nseen);
    CHECK(st.notifications_sent == 10 && st.notify_dropped.n == 0, "sent %llu",
          (unsigned long long)st.notifications_sent);
    mg_notify_free(n);
    srv_stop(&up);
    srv_stop(&late);
    mg_stats_fini(&st);
}

static void test_superseded(struct event_base *base)
{
    struct srv s;
    struct mg_stats st;
    mg_stats_init(&st);
    int port = free_port();
    struct mg_notify_config cfg = {.backoff_min = 0.05, .backoff_max = 0.1, .batch_size = 2};
    struct mg_notify *n = make(base, &port, 1, &cfg, &st);
    /* the rules re-send the same alerts every minute while it is down */
    send_named(n, "s", 0, 3, "1");
    run_until(base, NULL, NULL, 0.1); /* s0, s1 now a batch waiting to retry */
    send_named(n, "s", 0, 3, "2");
    send_named(n, "s", 1, 2, "3");
    CHECK(mg_notify_queued(n, 0) == 3 + 2, "newer copies queued; the batch keeps old ones: %zu",
          mg_notify_queued(n, 0));
    srv_start(&s, base, port);
    struct until w = {.s = &s, .n = 3};
    CHECK(run_until(base, reached, &w, 3), "delivered %zu", s.nseen);
    run_until(base, NULL, NULL, 0.1);
    CHECK(s.nseen == 3, "each alert once, got %zu", s.nseen);
    const char *want_v[3] = {"2", "3", "2"};
    for (size_t i = 0; i < s.nseen && i < 3; i++) {
        char name[8];
        int idx = s.seen[i][1] - '0';
        snprintf(name, sizeof(name), "s%d", idx);
        CHECK(idx >= 0 && idx < 3 && strcmp(s.seen_v[i], want_v[idx]) == 0,
              "%s carries v=%s, the newest", s.seen[i], s.seen_v[i]);
    }
    CHECK(st.notify_dropped.n == 0, "superseded is not dropped");
    mg_notify_free(n);
    srv_stop(&s);
    mg_stats_fini(&st);
}

static void test_overflow(struct event_base *base)
{
    struct srv s;
    struct mg_stats st;
    mg_stats_init(&st);
    int port = free_port();
    struct mg_notify_config cfg = {.queue_capacity = 5, .batch_size = 2, .backoff_min = 0.3,
                                   .backoff_max = 0.3};
    struct mg_notify *n = make(base, &port, 1, &cfg, &st);
    send_named(n, "o", 0, 8, "");
    CHECK(mg_notify_queued(n, 0) == 5, "queued %zu", mg_notify_queued(n, 0));
    CHECK(dropped(&st, "queue_full") == 3, "queue_full %g", dropped(&st, "queue_full"));
    run_until(base, NULL, NULL, 0.1); /* refused; o3, o4 wait for a retry */
    send_named(n, "o", 8, 10, "");
    CHECK(mg_notify_queued(n, 0) == 5, "queued %zu", mg_notify_queued(n, 0));
    CHECK(dropped(&st, "queue_full") == 5, "the waiting batch is the oldest: %g",
          dropped(&st, "queue_full"));
    srv_start(&s, base, port);
    struct until w = {.s = &s, .n = 5};
    CHECK(run_until(base, reached, &w, 3), "delivered %zu of 5", s.nseen);
    for (size_t i = 0; i < s.nseen && i < 5; i++) {
        char name[8];
        snprintf(name, sizeof(name), "o%zu", i + 5);
        CHECK(strcmp(s.seen[i], name) == 0, "the newest five: %s at %zu", s.seen[i], i);
    }
    struct until d = {.nt = n};
    CHECK(run_until(base, reached, &d, 3), "answers reached the client");
    CHECK(st.notifications_sent == 5, "sent %llu", (unsigned long long)st.notifications_sent);
    mg_notify_free(n);
    srv_stop(&s);
    mg_stats_fini(&st);
}

static void test_timeout(struct event_base *base)
{
    struct hole h;
    struct srv s;
    struct mg_stats st;
    mg_stats_init(&st);
    hole_start(&h, base, 0);
    struct mg_notify_config cfg = {.timeout = 0.2, .backoff_min = 0.05, .backoff_max = 0.05};
    struct mg_notify *n = make(base, &h.port, 1, &cfg, &st);
    send_named(n, "t", 0, 2, "");
    struct until hw = {.h = &h, .n = 2};
    double t0 = mg_mono_seconds();
    CHECK(run_until(base, reached, &hw, 3), "a second connection after the timeout: %zu",
          h.n);
    if (h.n >= 2)
        CHECK(h.at[1] - h.at[0] >= 0.2, "gave up after %.3fs, not the 0.2s timeout",
              h.at[1] - h.at[0]);
    CHECK(mg_mono_seconds() - t0 < 2, "the timeout took %.3fs", mg_mono_seconds() - t0);
    CHECK(mg_notify_queued(n, 0) == 2, "kept while timing out: %zu", mg_notify_queued(n, 0));
    int port = h.port;
    hole_stop(&h);
    CHECK(srv_start(&s, base, port) == 0, "server on the same port");
    struct until w = {.s = &s, .n = 2};
    CHECK(run_until(base, reached, &w, 3), "delivered %zu of 2", s.nseen);
    struct until d = {.nt = n};
    CHECK(run_until(base, reached, &d, 3), "answers reached the client");
    CHECK(st.notifications_sent == 2 && st.notify_dropped.n == 0, "sent %llu",
          (unsigned long long)st.notifications_sent);
    mg_notify_free(n);
    srv_stop(&s);

    /* An answer that trickles in resets evhttp's per-read timeout with
     * each byte; the deadline is for the whole request. */
    hole_start(&h, base, 1);
    cfg.timeout = 0.3;
    n = make(base, &h.port, 1, &cfg, &st);
    send_named(n, "w", 0, 1, "");
    hw = (struct until){.h = &h, .n = 2};
    CHECK(run_until(base, reached, &hw, 3), "a trickling answer never times out");
    if (h.n >= 2)
        CHECK(h.at[1] - h.at[0] >= 0.3 && h.at[1] - h.at[0] < 1.5,
              "cut after %.3fs, not the 0.3s deadline", h.at[1] - h.at[0]);
    mg_notify_free(n);
    hole_stop(&h);

    /* freed with a request in flight: cancelled, counted, nothing leaks */
    hole_start(&h, base, 0);
    cfg.timeout = 5;
    n = make(base, &h.port, 1, &cfg, &st);
    send_named(n, "f", 0, 3, "");
    hw = (struct until){.h = &h, .n = 1};
    CHECK(run_until(base, reached, &hw, 3), "connected");
    run_until(base, NULL, NULL, 0.05);
    mg_notify_free(n);
    CHECK(dropped(&st, "shutdown") == 1 + 3, "shutdown %g", dropped(&st, "shutdown"));
    run_until(base, NULL, NULL, 0.05);
    hole_stop(&h);
    mg_stats_fini(&st);
}

static void test_queue_only_and_urls(void)
{
    struct mg_stats st;
    mg_stats_init(&st);
    char why[MG_WHY_LEN];
    const char *urls[] = {"http://alertmanager.example:9093/", "http://[::1]:9093"};
    struct mg_notify_config cfg = {.queue_capacity = 3};
    struct mg_notify *n = mg_notify_new(NULL, urls, 2, &cfg, &st, why, sizeof(why));
    CHECK(n, "queue-only: %s", why);
    if (n) {
        CHECK(mg_notify_count(n) == 2 && strcmp(mg_notify_url(n, 1), urls[1]) == 0, "urls");
        send_named(n, "q", 0, 5, "");
        CHECK(mg_notify_queued(n, 0) == 3 && mg_notify_queued(n, 1) == 3, "bounded: %zu",
              mg_notify_queued(n, 0));
        CHECK(mg_notify_queued(n, 2) == 0, "out of range");
        CHECK(dropped(&st, "queue_full") == 4, "2 per Alertmanager: %g",
              dropped(&st, "queue_full"));
        mg_notify_free(n);
        CHECK(dropped(&st, "shutdown") == 6, "shutdown %g", dropped(&st, "shutdown"));
    }
    mg_notify_free(NULL);
    static const char *const bad[] = {"https://am:9093", "am:9093", "http://", "http://am:0",
                                      "http://u:p@am:9093", "http://am:9093/?x=1", "not a url"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        struct mg_notify *b = mg_notify_new(NULL, &bad[i], 1, NULL, &st, why, sizeof(why));
        CHECK(!b && why[0], "%s accepted", bad[i]);
        mg_notify_free(b);
    }
    struct mg_notify_config badcfg = {.backoff_min = 2, .backoff_max = 1};
    why[0] = '\0';
    CHECK(!mg_notify_new(NULL, urls, 1, &badcfg, &st, why, sizeof(why)) && why[0],
          "backoff_max below backoff_min accepted");
    mg_stats_fini(&st);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    mg_log_set_level(MG_LOG_ERROR);
    struct event_base *base = event_base_new();
    test_queue_only_and_urls();
    test_shape(base);
    test_batching(base);
    test_retry_5xx(base);
    test_reject_4xx(base);
    test_down_then_up(base);
    test_superseded(base);
    test_overflow(base);
    test_timeout(base);
    event_base_free(base);
    return mg_test_summary("test_notify");
}
