/* mg_notify: alerts to Alertmanager's v2 API over evhttp.
 *
 * An alert is rendered to its JSON object once, when queued, and shared by
 * every Alertmanager's queue (a refcounted item with one list link per
 * Alertmanager). Each Alertmanager sends one batch at a time over its one
 * connection; a batch leaves the queue when it goes out and is retried with
 * backoff until it is accepted, refused (4xx), superseded or pushed out by
 * the queue bound. */
#include "mg_notify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>

#include "mg_buf.h"
#include "mg_common.h"
#include "mg_json.h"
#include "mg_log.h"
#include "mg_stats.h"

#define API_PATH "/api/v2/alerts"
#define MAX_RESPONSE_BODY (1u << 20)
#define MAX_RESPONSE_HEADERS (64u << 10)
#define MAX_BATCH 100000
#define MAX_TABLE (1u << 16)

struct item;

struct link {
    struct item *prev, *next;
    int on; /* in that Alertmanager's queue */
};

/* One queued alert. While it is the newest alert with its label set it
 * sits in the supersede table; a newer one marks it superseded and takes
 * it out of every queue (a batch drops it before its next attempt). */
struct item {
    struct item *hnext;
    uint64_t hash;             /* of the labels object */
    uint32_t refs;             /* queues and batches holding it */
    unsigned superseded : 1;
    unsigned in_table : 1;
    uint32_t lab_off, lab_len; /* the labels object within json */
    size_t len;
    const char *json;
    struct link q[];           /* one per Alertmanager, then the JSON */
};

enum am_state {
    AM_IDLE,    /* nothing to send, or no event_base */
    AM_KICKED,  /* the timer fires at once to send */
    AM_SENDING, /* a request is out; the timer is its deadline */
    AM_BACKOFF  /* the last attempt failed; the timer is the retry */
};

struct am {
    struct mg_notify *n;
    size_t idx;
    char *url, *host, *hosthdr, *path;
    int port;
    int tls;                   /* https: a fresh connection each request */
    int named;                 /* the host is a name, resolved with evdns */
    struct evhttp_connection *conn;
    struct event timer;
    enum am_state state;
    struct evhttp_request *req;
    int err, sock_err;         /* from the error callback; err -1: none */
    struct item *head, *tail;
    size_t nqueued;
    struct item **batch;       /* oldest first, out of the queue */
    size_t nbatch;
    double backoff;
    unsigned failures;         /* attempts failed in a row */
    struct mg_log_limit lim;
};

struct mg_notify {
    struct event_base *base;
    struct evdns_base *dns;
    struct mg_stats *stats;
    struct mg_notify_config cfg;
    struct am *ams;
    size_t nams;
    struct item **tab;
    size_t tabmask;
    struct mg_label *scratch;
    size_t scratch_cap;
    struct mg_buf render;
    char *authorization;       /* the header's value, or NULL */
};

/* ---- items and the supersede table ---- */

static void table_remove(struct mg_notify *n, struct item *it)
{
    for (struct item **p = &n->tab[it->hash & n->tabmask]; *p; p = &(*p)->hnext) {
        if (*p == it) {
            *p = it->hnext;
            it->hnext = NULL;
            it->in_table = 0;
            return;
        }
    }
    mg_require(0);
}

static void item_unref(struct mg_notify *n, struct item *it)
{
    mg_require(it->refs > 0);
    if (--it->refs)
        return;
    if (it->in_table)
        table_remove(n, it);
    free(it);
}

static void q_push(struct am *am, struct item *it)
{
    struct link *l = &it->q[am->idx];
    l->prev = am->tail;
    l->next = NULL;
    l->on = 1;
    if (am->tail)
        am->tail->q[am->idx].next = it;
    else
        am->head = it;
    am->tail = it;
    am->nqueued++;
    it->refs++;
}

/* Takes it out of the queue; the caller gets the queue's reference. */
static void q_unlink(struct am *am, struct item *it)
{
    struct link *l = &it->q[am->idx];
    if (l->prev)
        l->prev->q[am->idx].next = l->next;
    else
        am->head = l->next;
    if (l->next)
        l->next->q[am->idx].prev = l->prev;
    else
        am->tail = l->prev;
    memset(l, 0, sizeof(*l));
    am->nqueued--;
}

static void supersede(struct mg_notify *n, struct item *old)
{
    old->superseded = 1;
    old->refs++; /* hold it while it leaves the queues */
    for (size_t i = 0; i < n->nams; i++) {
        if (old->q[i].on) {
            q_unlink(&n->ams[i], old);
            item_unref(n, old);
        }
    }
    item_unref(n, old);
}

/* Makes it the newest alert of its label set. Alertmanager keeps one alert
 * per label set and the newest state wins, so an older copy still waiting
 * (Alertmanager down, the rules re-sending every minute) is only a
 * duplicate taking room in the queue. */
static void table_put(struct mg_notify *n, struct item *it)
{
    struct item **head = &n->tab[it->hash & n->tabmask];
    for (struct item *o = *head; o; o = o->hnext) {
        if (o->hash == it->hash && o->lab_len == it->lab_len &&
            memcmp(o->json + o->lab_off, it->json + it->lab_off, it->lab_len) == 0) {
            table_remove(n, o);
            supersede(n, o);
            break;
        }
    }
    it->hnext = *head;
    *head = it;
    it->in_table = 1;
}

/* ---- rendering: one postableAlert object ---- */

/* RFC 3339 in UTC with milliseconds, as Go's strfmt.DateTime writes it. */
static int fmt_time(char *out, size_t len, int64_t ms)
{
    int64_t s = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        s--;
    }
    time_t t = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
        return -1;
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    return 0;
}

/* Writes a label set as a JSON object sorted by name, so equal sets render
 * equal; empty values and repeated names (the first wins) are left out.
 * Returns the number of pairs written, or -ENOMEM. */
static long render_set(struct mg_notify *n, const struct mg_label *v, size_t cnt,
                       int skip_empty)
{
    if (cnt > n->scratch_cap) {
        struct mg_label *s = realloc(n->scratch, cnt * sizeof(*s));
        if (!s)
            return -ENOMEM;
        n->scratch = s;
        n->scratch_cap = cnt;
    }
    if (cnt)
        memcpy(n->scratch, v, cnt * sizeof(*v));
    mg_labels_sort(n->scratch, cnt);
    struct mg_buf *b = &n->render;
    long written = 0;
    mg_buf_addc(b, '{');
    for (size_t i = 0; i < cnt; i++) {
        const struct mg_label *l = &n->scratch[i];
        if (skip_empty && l->vlen == 0)
            continue;
        if (i && l->nlen == l[-1].nlen && memcmp(l->name, l[-1].name, l->nlen) == 0)
            continue;
        if (written++)
            mg_buf_addc(b, ',');
        mg_json_str(b, l->name, l->nlen);
        mg_buf_addc(b, ':');
        mg_json_str(b, l->value, l->vlen);
    }
    mg_buf_addc(b, '}');
    return written;
}

/* Renders a into a new item. Returns 0, 1 when Alertmanager would refuse
 * the alert, or -ENOMEM. */
static int item_new(struct mg_notify *n, const struct mg_notify_alert *a,
                    struct item **out)
{
    struct mg_buf *b = &n->render;
    char ts[40];
    *out = NULL;
    if (a->starts_at_ms && a->ends_at_ms && a->ends_at_ms < a->starts_at_ms)
        return 1; /* "start time must be before end time" */
    mg_buf_reset(b);
    mg_buf_adds(b, "{\"labels\":");
    size_t lab_off = b->len;
    long nl = render_set(n, a->labels, a->nlabels, 1);
    if (nl < 0)
        return -ENOMEM;
    if (nl == 0)
        return 1; /* "at least one label pair required" */
    size_t lab_len = b->len - lab_off;
    mg_buf_adds(b, ",\"annotations\":");
    if (render_set(n, a->annotations, a->nannotations, 0) < 0)
        return -ENOMEM;
    if (a->starts_at_ms && fmt_time(ts, sizeof(ts), a->starts_at_ms) == 0) {
        mg_buf_adds(b, ",\"startsAt\":\"");
        mg_buf_adds(b, ts);
        mg_buf_addc(b, '"');
    }
    if (a->ends_at_ms && fmt_time(ts, sizeof(ts), a->ends_at_ms) == 0) {
        mg_buf_adds(b, ",\"endsAt\":\"");
        mg_buf_adds(b, ts);
        mg_buf_addc(b, '"');
    }
    if (a->generator_url && *a->generator_url) {
        mg_buf_adds(b, ",\"generatorURL\":");
        mg_json_cstr(b, a->generator_url);
    }
    mg_buf_addc(b, '}');
    if (b->failed || lab_len > UINT32_MAX)
        return -ENOMEM;
    size_t links = n->nams * sizeof(struct link);
    struct item *it = calloc(1, sizeof(*it) + links + b->len);
    if (!it)
        return -ENOMEM;
    char *json = (char *)(it->q + n->nams);
    memcpy(json, b->p, b->len);
    it->json = json;
    it->len = b->len;
    it->lab_off = (uint32_t)lab_off;
    it->lab_len = (uint32_t)lab_len;
    it->hash = mg_hash_bytes(json + lab_off, lab_len, 0);
    *out = it;
    return 0;
}

/* ---- the queue bound ---- */

static void count_drop(struct mg_notify *n, const char *reason, size_t k)
{
    if (n->stats && k)
        mg_stats_map_add(&n->stats->notify_dropped, reason, strlen(reason), (double)k);
}

static void batch_release(struct am *am, size_t k)
{
    for (size_t i = 0; i < k; i++)
        item_unref(am->n, am->batch[i]);
    memmove(am->batch, am->batch + k, (am->nbatch - k) * sizeof(*am->batch));
    am->nbatch -= k;
}

/* Drops the oldest alerts past the capacity. A batch waiting for its retry
 * is the oldest and counts; one in flight cannot be recalled, so it does
 * not (the bound is then exceeded by at most one batch). */
static void enforce_bound(struct am *am)
{
    struct mg_notify *n = am->n;
    size_t held = am->state == AM_SENDING ? 0 : am->nbatch;
    size_t cap = n->cfg.queue_capacity;
    if (am->nqueued + held <= cap)
        return;
    size_t excess = am->nqueued + held - cap, dropped = excess;
    size_t k = excess < held ? excess : held;
    batch_release(am, k);
    excess -= k;
    while (excess--) {
        struct item *it = am->head;
        q_unlink(am, it);
        item_unref(n, it);
    }
    count_drop(n, "queue_full", dropped);
    if (mg_log_allow(&am->lim, 5)) {
        char num[24];
        snprintf(num, sizeof(num), "%zu", dropped);
        mg_log(MG_LOG_WARN, "alert queue full, dropping the oldest", "alertmanager",
               am->url, "dropped", num, NULL);
    }
}

/* ---- sending ---- */

static struct timeval to_tv(double seconds)
{
    struct timeval tv;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    return tv;
}

static void timer_in(struct am *am, double seconds)
{
    struct timeval tv = to_tv(seconds);
    evtimer_add(&am->timer, &tv);
}

static void kick(struct am *am)
{
    if (am->conn && am->state == AM_IDLE && am->nqueued) {
        /* from the loop, not here: the caller may be queueing more */
        am->state = AM_KICKED;
        timer_in(am, 0);
    }
}

static void fail(struct am *am, const char *what)
{
    struct mg_notify *n = am->n;
    double delay = am->backoff;
    am->failures++;
    am->state = AM_BACKOFF;
    enforce_bound(am);
    am->backoff = fmin(am->backoff * 2, n->cfg.backoff_max);
    timer_in(am, delay);
    if (am->failures == 1 || mg_log_allow(&am->lim, 5)) {
        char num[24], retry[32], tries[24];
        snprintf(num, sizeof(num), "%zu", am->nbatch + am->nqueued);
        snprintf(retry, sizeof(retry), "%.3gs", delay);
        snprintf(tries, sizeof(tries), "%u", am->failures);
        mg_log(MG_LOG_WARN, "sending alerts failed, will retry", "alertmanager", am->url,
               "err", what, "pending", num, "attempts", tries, "retry_in", retry, NULL);
    }
}

/* The batch got an answer that ends it (2xx or a refusal): the server is
 * there, so the next batch goes at once and backoff starts over. */
static void settle(struct am *am)
{
    if (am->failures)
        mg_log(MG_LOG_INFO, "alertmanager reachable again", "alertmanager", am->url, NULL);
    am->failures = 0;
    am->backoff = am->n->cfg.backoff_min;
    batch_release(am, am->nbatch);
    am->state = AM_IDLE;
    kick(am);
}

const char *mg_http_error_text(int err, int sock_err, char *buf, size_t len)
{
    switch (err) {
    case EVREQ_HTTP_TIMEOUT:
        return "timeout";
    case EVREQ_HTTP_EOF:
        return "connection closed before a response";
    case EVREQ_HTTP_INVALID_HEADER:
        return "invalid response";
    case EVREQ_HTTP_DATA_TOO_LONG:
        return "response too large";
    case EVREQ_HTTP_BUFFER_ERROR:
        if (sock_err) {
            snprintf(buf, len, "connection error: %s", strerror(sock_err));
            return buf;
        }
        return "connection error";
    default:
        return "connection failed"; /* a refused connect reports no error type */
    }
}

static const char *err_text(const struct am *am, char *buf, size_t len)
{
    return mg_http_error_text((int)am->err, am->sock_err, buf, len);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
    struct am *am = arg;
    am->err = (int)e;
    am->sock_err = errno;
}

static void on_done(struct evhttp_request *req, void *arg)
{
    struct am *am = arg;
    struct mg_notify *n = am->n;
    char buf[160];
    evtimer_del(&am->timer);
    am->req = NULL;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code >= 200 && code < 300) {
        if (n->stats)
            n->stats->notifications_sent += am->nbatch;
        settle(am);
        return;
    }
    if (code == 0) {
        fail(am, err_text(am, buf, sizeof(buf)));
        return;
    }
    /* 5xx is the server's trouble and may pass; 408 and 429 say "later",
     * not "wrong", though they are 4xx. */
    if (code >= 500 || code == 408 || code == 429) {
        snprintf(buf, sizeof(buf), "HTTP %d", code);
        fail(am, buf);
        return;
    }
    /* Anything else will not get better by sending it again: Alertmanager
     * answers 400 when an alert fails validation (it stored the valid ones
     * of the batch, but does not say which). */
    count_drop(n, "rejected", am->nbatch);
    if (mg_log_allow(&am->lim, 5)) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        ev_ssize_t got = evbuffer_copyout(in, buf, sizeof(buf) - 1);
        buf[got > 0 ? (size_t)got : 0] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        char num[24], st[16];
        snprintf(num, sizeof(num), "%zu", am->nbatch);
        snprintf(st, sizeof(st), "%d", code);
        mg_log(MG_LOG_WARN, "alertmanager refused alerts, dropping them", "alertmanager",
               am->url, "status", st, "dropped", num, "response", buf, NULL);
    }
    settle(am);
}

/* Drops superseded alerts from the batch, then tops it up from the queue. */
static void fill_batch(struct am *am)
{
    struct mg_notify *n = am->n;
    size_t k = 0;
    for (size_t i = 0; i < am->nbatch; i++) {
        if (am->batch[i]->superseded)
            item_unref(n, am->batch[i]);
        else
            am->batch[k++] = am->batch[i];
    }
    am->nbatch = k;
    while (am->nbatch < n->cfg.batch_size && am->head) {
        struct item *it = am->head;
        q_unlink(am, it);
        am->batch[am->nbatch++] = it;
    }
}

static int conn_new(struct am *am);

static void start(struct am *am)
{
    fill_batch(am);
    if (!am->nbatch) {
        am->state = AM_IDLE;
        return;
    }
    /* evhttp cannot reconnect a TLS bufferevent whose session ended: each
     * request gets its own connection */
    if (am->tls && conn_new(am)) {
        fail(am, "cannot make a TLS connection");
        return;
    }
    struct evhttp_request *req = evhttp_request_new(on_done, am);
    if (!req) {
        fail(am, "out of memory");
        return;
    }
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    /* evhttp adds no Host, and Go's server refuses HTTP/1.1 without one */
    int rc = evhttp_add_header(h, "Host", am->hosthdr);
    rc |= evhttp_add_header(h, "Content-Type", "application/json");
    rc |= evhttp_add_header(h, "User-Agent", "moongate/" MG_VERSION);
    if (am->n->authorization)
        rc |= evhttp_add_header(h, "Authorization", am->n->authorization);
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    rc |= evbuffer_add(out, "[", 1);
    for (size_t i = 0; i < am->nbatch; i++) {
        if (i)
            rc |= evbuffer_add(out, ",", 1);
        rc |= evbuffer_add(out, am->batch[i]->json, am->batch[i]->len);
    }
    rc |= evbuffer_add(out, "]", 1);
    if (rc) {
        evhttp_request_free(req);
        fail(am, "out of memory");
        return;
    }
    am->state = AM_SENDING;
    am->req = req;
    am->err = -1;
    am->sock_err = 0;
    /* A connect refused at once runs on_done from inside this call. */
    if (evhttp_make_request(am->conn, req, EVHTTP_REQ_POST, am->path) != 0) {
        /* libevent freed req, or dropped it after socket() failed */
        am->req = NULL;
        fail(am, "cannot start a request");
        return;
    }
    if (am->state == AM_SENDING)
        timer_in(am, am->n->cfg.timeout);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct am *am = arg;
    if (am->state == AM_SENDING) {
        /* The deadline of the whole request, which evhttp's per-read
         * timeout is not: cancelling resets the connection and runs no
         * callback. */
        struct evhttp_request *req = am->req;
        am->req = NULL;
        evhttp_cancel_request(req);
        fail(am, "timeout");
        return;
    }
    start(am);
}

/* ---- construction ---- */

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Splits url into host, port, path and the Host header. 1 when the host is
 * a name to resolve, 0 for an address, -1 with why on a bad URL. */
static int parse_url(struct am *am, const char *url, char *why, size_t whylen)
{
    struct evhttp_uri *u = evhttp_uri_parse(url);
    int rc = -1;
    if (!u) {
        snprintf(why, whylen, "alertmanager %s: not a URL", url);
        return -1;
    }
    const char *scheme = evhttp_uri_get_scheme(u);
    const char *host = evhttp_uri_get_host(u);
    const char *path = evhttp_uri_get_path(u);
    int port = evhttp_uri_get_port(u);
    am->tls = scheme && strcasecmp(scheme, "https") == 0;
    if (am->tls && !am->n->cfg.tls_bev) {
        snprintf(why, whylen, "alertmanager %s: https needs the daemon's TLS client", url);
        goto out;
    }
    if (!scheme || (strcasecmp(scheme, "http") != 0 && !am->tls)) {
        snprintf(why, whylen, "alertmanager %s: only http:// URLs are supported", url);
        goto out;
    }
    if (!host || !*host || strlen(host) > 255 || port == 0) {
        snprintf(why, whylen, "alertmanager %s: no host, or a bad one, or port 0", url);
        goto out;
    }
    if (evhttp_uri_get_userinfo(u) || evhttp_uri_get_query(u) ||
        evhttp_uri_get_fragment(u)) {
        snprintf(why, whylen, "alertmanager %s: user info, a query or a fragment "
                 "is not supported", url);
        goto out;
    }
    size_t hl = strlen(host);
    am->host = host[0] == '[' && hl > 2 ? dup_range(host + 1, hl - 2) : strdup(host);
    am->port = port < 0 ? (am->tls ? 443 : 80) : port;
    char hdr[300];
    if (port < 0)
        snprintf(hdr, sizeof(hdr), "%s", host);
    else
        snprintf(hdr, sizeof(hdr), "%s:%d", host, port);
    am->hosthdr = strdup(hdr);
    /* path.Join(prefix, "/api/v2/alerts"), as Prometheus's postPath; a URL
     * already naming the endpoint is taken as it is */
    size_t pl = path ? strlen(path) : 0;
    while (pl && path[pl - 1] == '/')
        pl--;
    size_t al = strlen(API_PATH);
    int full = pl >= al && memcmp(path + pl - al, API_PATH, al) == 0;
    am->path = malloc(pl + al + 2);
    if (am->path) {
        if (pl && path[0] != '/')
            snprintf(am->path, pl + al + 2, "/%.*s%s", (int)pl, path, full ? "" : API_PATH);
        else
            snprintf(am->path, pl + al + 2, "%.*s%s", (int)pl, path ? path : "",
                     full ? "" : API_PATH);
    }
    if (!am->host || !am->hosthdr || !am->path) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    unsigned char addr[16];
    rc = inet_pton(AF_INET, am->host, addr) == 1 || inet_pton(AF_INET6, am->host, addr) == 1
             ? 0 : 1;
out:
    evhttp_uri_free(u);
    return rc;
}

static int check_config(struct mg_notify_config *c, const struct mg_notify_config *in,
                        char *why, size_t whylen)
{
    *c = (struct mg_notify_config){.queue_capacity = 10000, .batch_size = 64,
                                   .timeout = 10, .backoff_min = 0.5, .backoff_max = 30};
    if (in) {
        c->tls_bev = in->tls_bev;
        c->tls_ctx = in->tls_ctx;
        if (in->queue_capacity)
            c->queue_capacity = in->queue_capacity;
        if (in->batch_size)
            c->batch_size = in->batch_size;
        if (in->timeout != 0)
            c->timeout = in->timeout;
        if (in->backoff_min != 0)
            c->backoff_min = in->backoff_min;
        if (in->backoff_max != 0)
            c->backoff_max = in->backoff_max;
    }
    if (!(c->timeout > 0 && c->timeout < 1e6) || !(c->backoff_min > 0 && c->backoff_min < 1e6) ||
        !(c->backoff_max >= c->backoff_min && c->backoff_max < 1e6)) {
        snprintf(why, whylen, "notify: timeout and backoff must be positive seconds, "
                 "backoff_max at least backoff_min");
        return -EINVAL;
    }
    if (c->batch_size > c->queue_capacity)
        c->batch_size = c->queue_capacity;
    if (c->batch_size > MAX_BATCH)
        c->batch_size = MAX_BATCH;
    return 0;
}

/* (Re)makes am's connection: plain, or over a new TLS bufferevent. */
static int conn_new(struct am *am)
{
    struct mg_notify *nt = am->n;
    struct evdns_base *dns = am->named ? nt->dns : NULL;
    if (am->conn)
        evhttp_connection_free(am->conn);
    am->conn = NULL;
    if (am->tls) {
        struct bufferevent *bev = nt->cfg.tls_bev(nt->cfg.tls_ctx, nt->base, am->host);
        if (bev)
            am->conn = evhttp_connection_base_bufferevent_new(nt->base, dns, bev, am->host,
                                                              (unsigned short)am->port);
        else
            return -1;
    } else {
        am->conn = evhttp_connection_base_new(nt->base, dns, am->host, (unsigned short)am->port);
    }
    if (!am->conn)
        return -1;
    struct timeval tv = to_tv(nt->cfg.timeout);
    /* covers connect and each read; the whole request is on our timer */
    evhttp_connection_set_timeout_tv(am->conn, &tv);
    evhttp_connection_set_max_body_size(am->conn, MAX_RESPONSE_BODY);
    evhttp_connection_set_max_headers_size(am->conn, MAX_RESPONSE_HEADERS);
    return 0;
}

int mg_notify_set_authorization(struct mg_notify *n, const char *value)
{
    char *v = value ? strdup(value) : NULL;
    if (value && !v)
        return -ENOMEM;
    free(n->authorization);
    n->authorization = v;
    return 0;
}

struct mg_notify *mg_notify_new(struct event_base *base, const char *const *urls, size_t n,
                                const struct mg_notify_config *cfg, struct mg_stats *stats,
                                char *why, size_t whylen)
{
    struct mg_notify *nt = calloc(1, sizeof(*nt));
    if (!nt)
        goto enomem;
    if (check_config(&nt->cfg, cfg, why, whylen))
        goto fail;
    nt->base = base;
    nt->stats = stats;
    size_t tab = 64;
    while (tab < nt->cfg.queue_capacity && tab < MAX_TABLE)
        tab *= 2;
    nt->tab = calloc(tab, sizeof(*nt->tab));
    nt->tabmask = tab - 1;
    nt->ams = calloc(n ? n : 1, sizeof(*nt->ams));
    if (!nt->tab || !nt->ams)
        goto enomem;
    nt->nams = n;
    for (size_t i = 0; i < n; i++) {
        struct am *am = &nt->ams[i];
        am->n = nt;
        am->idx = i;
        am->backoff = nt->cfg.backoff_min;
        am->url = strdup(urls[i]);
        am->batch = calloc(nt->cfg.batch_size, sizeof(*am->batch));
        if (!am->url || !am->batch)
            goto enomem;
        int named = parse_url(am, urls[i], why, whylen);
        if (named < 0)
            goto fail;
        if (!base)
            continue;
        if (named && !nt->dns) {
            /* evhttp resolves names with a blocking getaddrinfo unless given
             * an evdns base; this one reads /etc/hosts and resolv.conf once */
            nt->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                               EVDNS_BASE_DISABLE_WHEN_INACTIVE);
            if (!nt->dns)
                goto enomem;
        }
        am->named = named;
        if (conn_new(am))
            goto enomem;
        event_assign(&am->timer, base, -1, 0, on_timer, am);
    }
    return nt;
enomem:
    snprintf(why, whylen, "out of memory");
fail:
    mg_notify_free(nt);
    return NULL;
}

void mg_notify_free(struct mg_notify *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nams; i++) {
        struct am *am = &n->ams[i];
        if (am->req)
            evhttp_cancel_request(am->req);
        if (am->conn) {
            event_del(&am->timer);
            evhttp_connection_free(am->conn);
        }
        count_drop(n, "shutdown", am->nqueued + am->nbatch);
        if (am->batch)
            batch_release(am, am->nbatch);
        while (am->head) {
            struct item *it = am->head;
            q_unlink(am, it);
            item_unref(n, it);
        }
        free(am->batch);
        free(am->url);
        free(am->host);
        free(am->hosthdr);
        free(am->path);
    }
    if (n->dns)
        evdns_base_free(n->dns, 1);
    free(n->ams);
    free(n->authorization);
    free(n->tab);
    free(n->scratch);
    mg_buf_fini(&n->render);
    free(n);
}

int mg_notify_send(struct mg_notify *n, const struct mg_notify_alert *alerts, size_t count)
{
    int rc = 0;
    size_t rejected = 0;
    if (!n->nams)
        return 0;
    for (size_t i = 0; i < count; i++) {
        struct item *it;
        int r = item_new(n, &alerts[i], &it);
        if (r > 0) {
            rejected++;
            continue;
        }
        if (r < 0) {
            rc = r;
            break;
        }
        table_put(n, it);
        for (size_t k = 0; k < n->nams; k++) {
            q_push(&n->ams[k], it);
            enforce_bound(&n->ams[k]);
        }
    }
    /* counted per Alertmanager, as sent and dropped are */
    count_drop(n, "rejected", rejected * n->nams);
    if (rejected && mg_log_allow(&n->ams[0].lim, 5))
        mg_log(MG_LOG_WARN, "alert without labels or ending before it starts, not sent", NULL);
    for (size_t k = 0; k < n->nams; k++)
        kick(&n->ams[k]);
    return rc;
}

size_t mg_notify_queued(const struct mg_notify *n, size_t am)
{
    return am < n->nams ? n->ams[am].nqueued + n->ams[am].nbatch : 0;
}

size_t mg_notify_count(const struct mg_notify *n)
{
    return n->nams;
}

const char *mg_notify_url(const struct mg_notify *n, size_t am)
{
    return am < n->nams ? n->ams[am].url : NULL;
}
