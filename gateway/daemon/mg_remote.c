/* mg_remote: remote write senders: passes, lanes, the queue, HTTP. */
#include "mg_remote.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <snappy-c.h>

#include "mg_config.h"
#include "mg_gateway.h"
#include "mg_log.h"
#include "mg_notify.h"
#include "mg_tls.h"
#include "mg_rw_encode.h"

/* A slice of a pass ends after SLICE_OUTPUTS outputs or SLICE_SECONDS,
 * whichever comes first (the clock is read every 256 outputs), so the loop
 * turns over between slices. */
#define SLICE_OUTPUTS 4096
#define SLICE_SECONDS 0.005
#define MAX_RESPONSE_BODY 4096
#define MAX_RESPONSE_HEADERS 8192
#define MAX_RETRY_AFTER 300.0

/* One compressed WriteRequest, ready to send as it is. */
struct block {
    struct block *next;
    uint64_t seq;       /* queue order across lanes: lower is older */
    size_t nsamples;
    int64_t max_ts;     /* ms */
    size_t len;
    char data[];
};

enum lane_state { IDLE, SENDING, BACKOFF };

struct dest;

struct lane {
    struct dest *d;
    struct block *head, *tail;
    struct mg_buf open;     /* the WriteRequest being filled */
    size_t open_samples;
    int64_t open_max_ts;
    double open_since;      /* monotonic seconds */
    struct evhttp_connection *conn;
    struct evhttp_request *req;
    struct event timer;     /* request deadline, or the retry */
    enum lane_state state;
    double backoff;
    int err, sock_err;
    unsigned failures;
};

struct dest {
    struct mg_remote *m;
    const struct mg_remote_config *cfg;
    char *host, *hosthdr, *path;
    int port;
    char *auth;             /* the Authorization header, or NULL */
    SSL_CTX *tls;           /* https://: the client context; NULL: plain */
    int named;              /* the host is a name to resolve */
    struct lane *lanes;
    unsigned nlanes, shards, sending;
    size_t pending;         /* samples queued, in flight or waiting retry */
    uint64_t seq;
    struct event pass_timer, slice_timer;
    int in_pass;
    uint32_t cursor;
    int64_t pass_ts, last_ts;
    double last_meta;
    struct mg_label *ext;
    struct mg_rw_view view;
    struct mg_rw_scratch scratch;
    double sent, failed, dropped_full, dropped_oom, retried, highest_ts, passes;
    double pass_start, pass_seconds, slice_max; /* monotonic seconds */
    struct mg_log_limit lim;
};

static int lane_conn(struct lane *ln);

struct mg_remote {
    struct event_base *base;
    struct mg_gateway *gw;
    struct evdns_base *dns;
    struct dest *d;
    size_t n;
    char *snappy;           /* compression output, reused */
    size_t snappy_cap;
};

static struct timeval to_tv(double seconds)
{
    struct timeval tv;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    return tv;
}

/* ---- own metrics ---- */

static void set_own(struct dest *d, const char *name, enum mg_type t, const char *help,
                    const char *reason, double v)
{
    struct mg_store *st = mg_gateway_store(d->m->gw);
    struct mg_label l[2];
    size_t n = 0;
    if (reason)
        l[n++] = (struct mg_label){"reason", reason, 6, (uint32_t)strlen(reason)};
    l[n++] = (struct mg_label){"url", d->cfg->url, 3, (uint32_t)strlen(d->cfg->url)};
    mg_store_own_set(st, name, t, help, l, n, v);
}

#define DROPPED_HELP "Samples dropped before they were sent, by reason."

static void publish(struct dest *d)
{
    set_own(d, "moongate_remote_write_samples_sent_total", MG_COUNTER,
            "Samples a remote write destination accepted.", NULL, d->sent);
    set_own(d, "moongate_remote_write_samples_failed_total", MG_COUNTER,
            "Samples a remote write destination refused with a 4xx other than 429; "
            "not retried.", NULL, d->failed);
    set_own(d, "moongate_remote_write_samples_retried_total", MG_COUNTER,
            "Samples sent again after a 5xx, a 429 or a connection error.", NULL, d->retried);
    set_own(d, "moongate_remote_write_dropped_total", MG_COUNTER, DROPPED_HELP, "queue_full",
            d->dropped_full);
    /* the rarer reasons appear once they happen */
    if (d->scratch.relabel_errors)
        set_own(d, "moongate_remote_write_dropped_total", MG_COUNTER, DROPPED_HELP, "relabel_error",
                (double)d->scratch.relabel_errors);
    if (d->dropped_oom)
        set_own(d, "moongate_remote_write_dropped_total", MG_COUNTER, DROPPED_HELP, "out_of_memory",
                d->dropped_oom);
    set_own(d, "moongate_remote_write_pending_samples", MG_GAUGE,
            "Samples queued for a remote write destination, in flight included.", NULL,
            (double)d->pending);
    set_own(d, "moongate_remote_write_highest_sent_timestamp_seconds", MG_GAUGE,
            "The newest sample timestamp a remote write destination accepted.", NULL,
            d->highest_ts);
    set_own(d, "moongate_remote_write_passes_total", MG_COUNTER,
            "Passes over the output series, each sampling every series once.", NULL,
            d->passes);
    set_own(d, "moongate_remote_write_pass_seconds", MG_GAUGE,
            "How long the last pass over the output series took, slices and the loop "
            "turns between them included.", NULL, d->pass_seconds);
    set_own(d, "moongate_remote_write_slice_max_seconds", MG_GAUGE,
            "The longest the event loop spent in one slice of a pass.", NULL, d->slice_max);
    set_own(d, "moongate_remote_write_shards", MG_GAUGE,
            "Lanes of a remote write destination that may send at once.", NULL,
            (double)d->shards);
}

/* ---- the queue ---- */

static void lane_pop(struct lane *ln)
{
    struct block *b = ln->head;
    ln->head = b->next;
    if (!ln->head)
        ln->tail = NULL;
    ln->d->pending -= b->nsamples;
    free(b);
}

/* Past capacity, the oldest batches not in flight go first: a lane waiting
 * to retry gives up the batch it would retry. */
static void enforce_bound(struct dest *d)
{
    while (d->pending > d->cfg->capacity) {
        struct lane *victim = NULL;
        struct block **vlink = NULL;
        for (unsigned i = 0; i < d->nlanes; i++) {
            struct lane *ln = &d->lanes[i];
            struct block **link = ln->state == SENDING && ln->head ? &ln->head->next
                                                                   : &ln->head;
            if (*link && (!vlink || (*link)->seq < (*vlink)->seq)) {
                victim = ln;
                vlink = link;
            }
        }
        if (!victim)
            return; /* all in flight: the bound holds again once they end */
        struct block *b = *vlink;
        *vlink = b->next;
        if (victim->tail == b) /* its predecessor, the head, or none */
            victim->tail = vlink == &victim->head ? NULL : victim->head;
        d->pending -= b->nsamples;
        d->dropped_full += (double)b->nsamples;
        free(b);
    }
}

static void pump(struct dest *d);

/* Compresses a lane's open WriteRequest into a block at its queue's tail. */
static void seal(struct lane *ln)
{
    struct dest *d = ln->d;
    struct mg_remote *m = d->m;
    if (!ln->open.len)
        return;
    size_t max = snappy_max_compressed_length(ln->open.len);
    if (max > m->snappy_cap) {
        char *p = realloc(m->snappy, max);
        if (!p)
            goto fail;
        m->snappy = p;
        m->snappy_cap = max;
    }
    size_t clen = max;
    if (snappy_compress(ln->open.p, ln->open.len, m->snappy, &clen) != SNAPPY_OK)
        goto fail;
    struct block *b = malloc(sizeof(*b) + clen);
    if (!b)
        goto fail;
    b->next = NULL;
    b->seq = d->seq++;
    b->nsamples = ln->open_samples;
    b->max_ts = ln->open_max_ts;
    b->len = clen;
    memcpy(b->data, m->snappy, clen);
    if (ln->tail)
        ln->tail->next = b;
    else
        ln->head = b;
    ln->tail = b;
    d->pending += b->nsamples;
    enforce_bound(d);
    goto out;
fail:
    d->dropped_oom += (double)ln->open_samples;
    if (mg_log_allow(&d->lim, 5))
        mg_log(MG_LOG_ERROR, "remote write: out of memory, batch dropped", "url",
               d->cfg->url, NULL);
out:
    mg_buf_reset(&ln->open);
    ln->open_samples = 0;
    ln->open_max_ts = 0;
}

/* ---- sending ---- */

static void start(struct lane *ln);

static void pump(struct dest *d)
{
    while (d->sending < d->shards) {
        struct lane *best = NULL;
        for (unsigned i = 0; i < d->nlanes; i++) {
            struct lane *ln = &d->lanes[i];
            if (ln->state == IDLE && ln->head && (!best || ln->head->seq < best->head->seq))
                best = ln;
        }
        if (!best)
            return;
        start(best);
    }
}

static void retry(struct lane *ln, const char *what, double after)
{
    struct dest *d = ln->d;
    double delay = after > 0 ? after : ln->backoff;
    ln->failures++;
    ln->state = BACKOFF;
    ln->backoff = fmin(ln->backoff * 2, d->cfg->max_backoff);
    d->retried += (double)ln->head->nsamples;
    struct timeval tv = to_tv(delay);
    evtimer_add(&ln->timer, &tv);
    if (ln->failures == 1 || mg_log_allow(&d->lim, 5)) {
        char pend[24], in[32];
        snprintf(pend, sizeof(pend), "%zu", d->pending);
        snprintf(in, sizeof(in), "%.3gs", delay);
        mg_log(MG_LOG_WARN, "remote write failed, will retry", "url", d->cfg->url, "err",
               what, "pending", pend, "retry_in", in, NULL);
    }
}

static void settle(struct lane *ln)
{
    if (ln->failures)
        mg_log(MG_LOG_INFO, "remote write destination reachable again", "url",
               ln->d->cfg->url, NULL);
    ln->failures = 0;
    ln->backoff = ln->d->cfg->min_backoff;
    ln->state = IDLE;
    lane_pop(ln);
}

static const char *err_text(const struct lane *ln, char *buf, size_t len)
{
    return mg_http_error_text((int)ln->err, ln->sock_err, buf, len);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
    struct lane *ln = arg;
    ln->err = (int)e;
    ln->sock_err = errno;
}

/* Retry-After as seconds (an HTTP date counts as "use the back-off"). */
static double retry_after(struct evhttp_request *req)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), "Retry-After");
    if (!v)
        return 0;
    char *end;
    double s = strtod(v, &end);
    if (end == v || *end || !(s >= 0))
        return 0;
    return fmin(s, MAX_RETRY_AFTER);
}

static void on_done(struct evhttp_request *req, void *arg)
{
    struct lane *ln = arg;
    struct dest *d = ln->d;
    char buf[160];
    evtimer_del(&ln->timer);
    ln->req = NULL;
    d->sending--;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code >= 200 && code < 300) {
        d->sent += (double)ln->head->nsamples;
        if ((double)ln->head->max_ts / 1000 > d->highest_ts)
            d->highest_ts = (double)ln->head->max_ts / 1000;
        settle(ln);
    } else if (code == 0) {
        retry(ln, err_text(ln, buf, sizeof(buf)), 0);
    } else if (code >= 500 || code == 429) {
        snprintf(buf, sizeof(buf), "HTTP %d", code);
        retry(ln, buf, code == 429 ? retry_after(req) : 0);
    } else {
        /* The store says the batch is wrong: sending it again would not
         * make it right (Prometheus's rule). */
        d->failed += (double)ln->head->nsamples;
        if (mg_log_allow(&d->lim, 5)) {
            struct evbuffer *in = evhttp_request_get_input_buffer(req);
            ev_ssize_t got = evbuffer_copyout(in, buf, sizeof(buf) - 1);
            buf[got > 0 ? (size_t)got : 0] = '\0';
            buf[strcspn(buf, "\r\n")] = '\0';
            char st[16], num[24];
            snprintf(st, sizeof(st), "%d", code);
            snprintf(num, sizeof(num), "%zu", ln->head->nsamples);
            mg_log(MG_LOG_WARN, "remote write refused, not retried", "url", d->cfg->url,
                   "status", st, "samples", num, "response", buf, NULL);
        }
        settle(ln);
    }
    publish(d);
    pump(d);
}

static void start(struct lane *ln)
{
    struct dest *d = ln->d;
    struct block *b = ln->head;
    struct evhttp_request *req = evhttp_request_new(on_done, ln);
    if (!req) {
        retry(ln, "out of memory", 0); /* leaves IDLE, so pump moves on */
        return;
    }
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    int rc = evhttp_add_header(h, "Host", d->hosthdr);
    rc |= evhttp_add_header(h, "Content-Encoding", "snappy");
    rc |= evhttp_add_header(h, "Content-Type", "application/x-protobuf");
    rc |= evhttp_add_header(h, "X-Prometheus-Remote-Write-Version", "0.1.0");
    rc |= evhttp_add_header(h, "User-Agent", "moongate/" MG_VERSION);
    if (d->auth)
        rc |= evhttp_add_header(h, "Authorization", d->auth);
    /* the block stays at the lane's head until the request ends */
    rc |= evbuffer_add_reference(evhttp_request_get_output_buffer(req), b->data, b->len,
                                 NULL, NULL);
    if (rc) {
        evhttp_request_free(req);
        retry(ln, "out of memory", 0);
        return;
    }
    ln->state = SENDING;
    ln->req = req;
    ln->err = -1;
    ln->sock_err = 0;
    d->sending++;
    /* A refused connect runs on_done from inside this call. */
    if (d->tls && lane_conn(ln)) {
        evhttp_request_free(req);
        ln->req = NULL;
        d->sending--;
        retry(ln, "cannot make a TLS connection", 0);
        return;
    }
    if (evhttp_make_request(ln->conn, req, EVHTTP_REQ_POST, d->path) != 0) {
        ln->req = NULL;
        d->sending--;
        retry(ln, "cannot start a request", 0);
        return;
    }
    if (ln->state == SENDING) {
        struct timeval tv = to_tv(d->cfg->timeout);
        evtimer_add(&ln->timer, &tv);
    }
}

static void on_lane_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct lane *ln = arg;
    struct dest *d = ln->d;
    if (ln->state == SENDING) {
        /* the whole request's deadline; cancelling runs no callback */
        struct evhttp_request *req = ln->req;
        ln->req = NULL;
        d->sending--;
        evhttp_cancel_request(req);
        retry(ln, "timeout", 0);
    } else {
        ln->state = IDLE;
    }
    pump(d);
}

/* ---- passes ---- */

static void send_metadata(struct dest *d)
{
    struct mg_store *st = mg_gateway_store(d->m->gw);
    struct mg_family **fams;
    size_t nfam;
    uint32_t *order, *startv;
    if (mg_store_group(st, &fams, &nfam, &order, &startv))
        return;
    struct lane *ln = &d->lanes[0];
    seal(ln);
    for (size_t i = 0; i < nfam; i++) {
        const struct mg_family *f = fams[i];
        mg_rw_add_metadata(&ln->open, mg_rw_type_of(f->type), f->name, f->nlen, f->help,
                           f->help ? strlen(f->help) : 0, NULL, 0);
        if (ln->open.len >= 1u << 20)
            seal(ln);
    }
    seal(ln);
}

static void end_pass(struct dest *d)
{
    for (unsigned i = 0; i < d->nlanes; i++)
        seal(&d->lanes[i]);
    d->in_pass = 0;
    d->pass_seconds = mg_mono_seconds() - d->pass_start;
    publish(d);
    pump(d);
}

static void on_slice(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct dest *d = arg;
    struct mg_store *st = mg_gateway_store(d->m->gw);
    uint32_t cap = (uint32_t)mg_store_output_capacity(st);
    uint32_t end = d->cursor + SLICE_OUTPUTS < cap ? d->cursor + SLICE_OUTPUTS : cap;
    double now = mg_mono_seconds();
    uint32_t i;
    for (i = d->cursor; i < end; i++) {
        if ((i & 255) == 255 && i > d->cursor && mg_mono_seconds() - now > SLICE_SECONDS)
            break; /* output i opens the next slice */
        struct mg_output *o = mg_store_output_at(st, i);
        if (!o)
            continue;
        struct lane *ln = &d->lanes[o->ls->hash % d->nlanes];
        if (!ln->open_samples)
            ln->open_since = now;
        long n = mg_rw_encode_output(st, i, &d->view, d->pass_ts, &d->scratch, &ln->open);
        if (n < 0) {
            d->dropped_oom += 1;
            continue;
        }
        ln->open_samples += (size_t)n;
        if (n)
            ln->open_max_ts = d->pass_ts;
        if (ln->open_samples >= d->cfg->max_samples_per_send)
            seal(ln);
    }
    d->cursor = i;
    double took = mg_mono_seconds() - now;
    if (took > d->slice_max)
        d->slice_max = took;
    for (unsigned k = 0; k < d->nlanes; k++)
        if (d->lanes[k].open_samples && now - d->lanes[k].open_since >= d->cfg->batch_send_deadline)
            seal(&d->lanes[k]);
    pump(d);
    if (d->cursor >= cap) {
        end_pass(d);
        return;
    }
    struct timeval zero = {0, 0};
    evtimer_add(&d->slice_timer, &zero);
}

static void on_pass(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct dest *d = arg;
    if (d->in_pass) {
        if (mg_log_allow(&d->lim, 5))
            mg_log(MG_LOG_WARN, "remote write pass still running, interval skipped", "url",
                   d->cfg->url, NULL);
        return;
    }
    /* one more lane sends at once while the queue does not drain within an
     * interval; one fewer once it does */
    if (d->pending && d->shards < d->cfg->max_shards)
        d->shards++;
    else if (!d->pending && d->shards > d->cfg->min_shards)
        d->shards--;
    publish(d);
    mg_gateway_publish(d->m->gw);
    int64_t now = mg_now_ms();
    d->pass_ts = now > d->last_ts ? now : d->last_ts + 1;
    d->last_ts = d->pass_ts;
    double mono = mg_mono_seconds();
    if (d->cfg->send_metadata && (d->last_meta == 0 || mono - d->last_meta >= d->cfg->metadata_interval)) {
        d->last_meta = mono;
        send_metadata(d);
    }
    d->in_pass = 1;
    d->cursor = 0;
    d->passes++;
    d->pass_start = mono;
    on_slice(-1, 0, d);
}

/* ---- construction ---- */

static char *read_secret(const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (!f || ferror(f)) {
        snprintf(why, whylen, "remote_write: cannot read %s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    char *s = strdup(buf);
    if (!s)
        snprintf(why, whylen, "out of memory");
    return s;
}

static void base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* The Authorization header from authorization or basic_auth, read once at
 * start. 0, or -1 with why. */
static int make_auth(struct dest *d, char *why, size_t whylen)
{
    const struct mg_remote_config *c = d->cfg;
    if (c->bearer_file) {
        char *tok = read_secret(c->bearer_file, why, whylen);
        if (!tok)
            return -1;
        d->auth = malloc(strlen(tok) + 8);
        if (d->auth)
            sprintf(d->auth, "Bearer %s", tok);
        free(tok);
        return d->auth ? 0 : -1;
    }
    if (c->basic_user) {
        char *pw = read_secret(c->basic_password_file, why, whylen);
        if (!pw)
            return -1;
        size_t n = strlen(c->basic_user) + 1 + strlen(pw);
        char *plain = malloc(n + 1);
        d->auth = malloc(6 + (n + 2) / 3 * 4 + 1);
        if (plain && d->auth) {
            snprintf(plain, n + 1, "%s:%s", c->basic_user, pw);
            memcpy(d->auth, "Basic ", 6);
            base64((const unsigned char *)plain, n, d->auth + 6);
        }
        free(plain);
        free(pw);
        return d->auth ? 0 : -1;
    }
    return 0;
}

/* host, port, path and the Host header of an http:// URL. 1 when the host
 * is a name to resolve, 0 for an address, -1 with why. */
static int parse_url(struct dest *d, char *why, size_t whylen)
{
    const char *url = d->cfg->url;
    struct evhttp_uri *u = evhttp_uri_parse(url);
    int rc = -1;
    if (!u) {
        snprintf(why, whylen, "remote_write %s: not a URL", url);
        return -1;
    }
    const char *host = evhttp_uri_get_host(u);
    const char *path = evhttp_uri_get_path(u);
    const char *query = evhttp_uri_get_query(u);
    int port = evhttp_uri_get_port(u);
    if (!host || !*host || strlen(host) > 255 || port == 0 || evhttp_uri_get_userinfo(u)) {
        snprintf(why, whylen, "remote_write %s: no host, a bad one, port 0 or user info "
                 "(use basic_auth)", url);
        goto out;
    }
    size_t hl = strlen(host);
    d->host = host[0] == '[' && hl > 2 ? strndup(host + 1, hl - 2) : strdup(host);
    int https = strncmp(url, "https://", 8) == 0;
    d->port = port < 0 ? (https ? 443 : 80) : port;
    char hdr[300];
    if (port < 0)
        snprintf(hdr, sizeof(hdr), "%s", host);
    else
        snprintf(hdr, sizeof(hdr), "%s:%d", host, port);
    d->hosthdr = strdup(hdr);
    const char *p = path && *path ? path : "/";
    size_t len = strlen(p) + (query ? strlen(query) + 1 : 0) + 1;
    d->path = malloc(len);
    if (d->path)
        snprintf(d->path, len, "%s%s%s", p, query ? "?" : "", query ? query : "");
    if (!d->host || !d->hosthdr || !d->path) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    unsigned char addr[16];
    rc = inet_pton(AF_INET, d->host, addr) == 1 || inet_pton(AF_INET6, d->host, addr) == 1
             ? 0 : 1;
out:
    evhttp_uri_free(u);
    return rc;
}

/* (Re)makes a lane's connection: plain, or over a new TLS bufferevent
 * (libevent cannot dial an SSL bufferevent twice, so a TLS lane gets a
 * fresh one for each request). 0 or -1. */
static int lane_conn(struct lane *ln)
{
    struct dest *d = ln->d;
    struct evdns_base *dns = d->named ? d->m->dns : NULL;
    if (ln->conn)
        evhttp_connection_free(ln->conn);
    ln->conn = NULL;
    if (d->tls) {
        struct bufferevent *bev = mg_tls_client_bev(d->tls, d->m->base, d->host);
        if (bev)
            ln->conn = evhttp_connection_base_bufferevent_new(d->m->base, dns, bev, d->host,
                                                              (unsigned short)d->port);
    } else {
        ln->conn = evhttp_connection_base_new(d->m->base, dns, d->host, (unsigned short)d->port);
    }
    if (!ln->conn)
        return -1;
    struct timeval tv = to_tv(d->cfg->timeout);
    evhttp_connection_set_timeout_tv(ln->conn, &tv);
    evhttp_connection_set_max_body_size(ln->conn, MAX_RESPONSE_BODY);
    evhttp_connection_set_max_headers_size(ln->conn, MAX_RESPONSE_HEADERS);
    return 0;
}

static int dest_init(struct mg_remote *m, struct dest *d, const struct mg_remote_config *c,
                     const struct mg_config *cfg, char *why, size_t whylen)
{
    d->m = m;
    d->cfg = c;
    int named = parse_url(d, why, whylen);
    if (named < 0 || make_auth(d, why, whylen))
        return -1;
    d->named = named;
    if (strncmp(c->url, "https://", 8) == 0) {
        struct mg_client_tls_config tc = {.ca_file = c->tls_ca_file,
                                          .cert_file = c->tls_cert_file,
                                          .key_file = c->tls_key_file,
                                          .insecure_skip_verify = c->tls_insecure};
        char twhy[256];
        if (!(d->tls = mg_tls_client_ctx(&tc, twhy, sizeof(twhy)))) {
            snprintf(why, whylen, "remote_write %s: tls: %s", c->url, twhy);
            return -1;
        }
    }
    if (named && !m->dns) {
        m->dns = evdns_base_new(m->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                             EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (!m->dns)
            goto enomem;
    }
    d->ext = calloc(cfg->nexternal + 1, sizeof(*d->ext));
    if (!d->ext)
        goto enomem;
    for (size_t i = 0; i < cfg->nexternal; i++)
        d->ext[i] = (struct mg_label){cfg->external_names[i], cfg->external_values[i],
                                      (uint32_t)strlen(cfg->external_names[i]),
                                      (uint32_t)strlen(cfg->external_values[i])};
    d->view = (struct mg_rw_view){d->ext, cfg->nexternal, c->relabel};
    mg_rw_scratch_init(&d->scratch);
    d->nlanes = c->max_shards;
    d->shards = c->min_shards;
    d->lanes = calloc(d->nlanes, sizeof(*d->lanes));
    if (!d->lanes)
        goto enomem;
    for (unsigned i = 0; i < d->nlanes; i++) {
        struct lane *ln = &d->lanes[i];
        ln->d = d;
        ln->backoff = c->min_backoff;
        if (lane_conn(ln))
            goto enomem;
        evtimer_assign(&ln->timer, m->base, on_lane_timer, ln);
    }
    event_assign(&d->pass_timer, m->base, -1, EV_PERSIST, on_pass, d);
    evtimer_assign(&d->slice_timer, m->base, on_slice, d);
    struct timeval tv = to_tv(c->interval);
    event_add(&d->pass_timer, &tv);
    publish(d);
    return 0;
enomem:
    snprintf(why, whylen, "out of memory");
    return -1;
}

struct mg_remote *mg_remote_new(struct event_base *base, struct mg_gateway *gw,
                                const struct mg_config *cfg, char *why, size_t whylen)
{
    struct mg_remote *m = calloc(1, sizeof(*m));
    if (!m || !(m->d = calloc(cfg->nremote ? cfg->nremote : 1, sizeof(*m->d)))) {
        snprintf(why, whylen, "out of memory");
        free(m);
        return NULL;
    }
    m->base = base;
    m->gw = gw;
    for (size_t i = 0; i < cfg->nremote; i++) {
        m->n++;
        if (dest_init(m, &m->d[i], &cfg->remote[i], cfg, why, whylen)) {
            mg_remote_free(m);
            return NULL;
        }
    }
    return m;
}

static void dest_fini(struct dest *d)
{
    SSL_CTX_free(d->tls);
    size_t left = d->pending;
    for (unsigned i = 0; d->lanes && i < d->nlanes; i++) {
        struct lane *ln = &d->lanes[i];
        if (ln->req)
            evhttp_cancel_request(ln->req);
        if (ln->conn) {
            evtimer_del(&ln->timer);
            evhttp_connection_free(ln->conn);
        }
        while (ln->head)
            lane_pop(ln);
        mg_buf_fini(&ln->open);
    }
    if (left) {
        char num[24];
        snprintf(num, sizeof(num), "%zu", left);
        mg_log(MG_LOG_WARN, "remote write: samples not sent at shutdown", "url", d->cfg->url,
               "dropped", num, NULL);
    }
    if (d->lanes) {
        event_del(&d->pass_timer);
        event_del(&d->slice_timer);
    }
    free(d->lanes);
    mg_rw_scratch_fini(&d->scratch);
    free(d->ext);
    free(d->host);
    free(d->hosthdr);
    free(d->path);
    free(d->auth);
}

void mg_remote_free(struct mg_remote *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        dest_fini(&m->d[i]);
    if (m->dns)
        evdns_base_free(m->dns, 1);
    free(m->d);
    free(m->snappy);
    free(m);
}
