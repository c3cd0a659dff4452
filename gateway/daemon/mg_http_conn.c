/* mg_http_conn: the HTTP listener's connections, their deadlines and
 * bytes in flight. */
#include "mg_http_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "mg_tls.h"

/* libevent 2.1 reads a socket at most 4096 bytes at a time (its
 * EVBUFFER_MAX_READ, fixed), a trip through the loop and an ioctl each: a
 * 100 kB push took 27 of them. A read that fills those 4096 bytes is
 * followed at once by reads of PULL_BYTES (the TCP ingest's read size) while
 * they come back full, up to PULL_MAX bytes a wake-up. */
#define LIBEVENT_READ 4096
#define PULL_BYTES 65536
#define PULL_MAX (1u << 20)

/* One connection. libevent's own timeout only measures idle time, so a
 * client sending one byte a second would hold a connection forever: each
 * request must arrive whole within header_timeout of its first byte (the
 * first, of the connect). */
struct mg_http_track {
    struct event ev;              /* the request deadline, or an action to take */
    struct bufferevent *bev;      /* a reference of ours */
    struct evbuffer_cb_entry *cb; /* on the input: counts request bytes */
    struct mg_http_conns *cs;
    struct mg_http_track *next, *prev;
    size_t inflight;              /* bytes of the request being read */
    int reading;                  /* a request has begun and not been dispatched */
    int pull;                     /* plain socket: on_input may read on (not TLS) */
    int pulling;                  /* on_input is reading: its own adds re-enter */
    enum mg_close action;         /* why ev was made active; normal = deadline */
};

static struct timeval secs(double t)
{
    return (struct timeval){(time_t)t, (suseconds_t)((t - (double)(time_t)t) * 1e6)};
}

static void track_release(struct mg_http_track *t, enum mg_close why)
{
    struct mg_http_conns *cs = t->cs;
    struct mg_stats *stats = mg_gateway_stats(cs->gw);
    event_del(&t->ev);
    evbuffer_remove_cb_entry(bufferevent_get_input(t->bev), t->cb);
    if (t->prev)
        t->prev->next = t->next;
    else
        cs->tracks = t->next;
    if (t->next)
        t->next->prev = t->prev;
    cs->n--;
    cs->inflight -= t->inflight;
    stats->open[MG_TRANSPORT_HTTP]--;
    stats->closed[why]++;
    bufferevent_decref(t->bev);
    free(t);
}

/* evhttp frees a connection without telling us (2.1 has no hook for a
 * connection it accepted), but clears its callbacks and closes its socket,
 * which our reference lets us see. */
static int track_gone(struct mg_http_track *t)
{
    bufferevent_event_cb ecb = NULL;
    bufferevent_getcb(t->bev, NULL, NULL, &ecb, NULL);
    return ecb == NULL || bufferevent_getfd(t->bev) < 0;
}

static void sweep_closed(struct mg_http_conns *cs)
{
    struct mg_http_track *next;
    for (struct mg_http_track *t = cs->tracks; t; t = next) {
        next = t->next;
        if (track_gone(t))
            track_release(t, MG_CLOSE_NORMAL);
    }
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sweep_closed(arg);
}

/* Answers on the socket itself (evhttp has no request to answer with
 * before one is whole), then fails the connection as evhttp fails a
 * broken one. */
static void track_fired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct mg_http_track *t = arg;
    struct mg_http_conns *cs = t->cs;
    enum mg_close why = t->action ? t->action : MG_CLOSE_REQUEST_TIMEOUT;
    if (track_gone(t)) {
        track_release(t, MG_CLOSE_NORMAL);
        return;
    }
    static const char *const answers[MG_CLOSE_COUNT] = {
        [MG_CLOSE_REFUSED] = "503 Service Unavailable\r\nRetry-After: 1",
        [MG_CLOSE_REQUEST_TIMEOUT] = "408 Request Timeout",
        [MG_CLOSE_BUFFER_FULL] = "503 Service Unavailable\r\nRetry-After: 1"};
    static const char *const bodies[MG_CLOSE_COUNT] = {
        [MG_CLOSE_REFUSED] = "max_connections reached\n",
        [MG_CLOSE_REQUEST_TIMEOUT] = "the request was not whole within header_timeout\n",
        [MG_CLOSE_BUFFER_FULL] = "unfinished requests hold max_http_buffered_bytes\n"};
    if (answers[why] && evbuffer_get_length(bufferevent_get_output(t->bev)) == 0) {
        char msg[256];
        int n = snprintf(msg, sizeof(msg),
                         "HTTP/1.1 %s\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                         "Content-Length: %zu\r\n\r\n%s",
                         answers[why], strlen(bodies[why]), bodies[why]);
        /* a few bytes into an empty socket buffer; if they do not fit, the
         * close says enough */
        if (send(bufferevent_getfd(t->bev), msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            (void)0;
    }
    if (mg_log_allow(&cs->log_limit, 10))
        mg_log(MG_LOG_WARN, why == MG_CLOSE_REFUSED ? "HTTP connection refused: max_connections reached"
                            : why == MG_CLOSE_BUFFER_FULL
                                ? "closing an HTTP connection: max_http_buffered_bytes reached"
                                : "closing an HTTP connection past header_timeout",
               NULL);
    bufferevent_trigger_event(t->bev, BEV_EVENT_ERROR | BEV_EVENT_READING, 0);
    track_release(t, why);
}

/* The connection is to be answered and closed in this pass. Its bytes stop
 * counting now: until then another connection's request would find them
 * still held and be cut for them. */
static void track_act(struct mg_http_track *t, enum mg_close why)
{
    if (t->action)
        return;
    t->action = why;
    t->cs->inflight -= t->inflight;
    t->inflight = 0;
    event_active(&t->ev, EV_TIMEOUT, 0);
}

/* Reads what else waits in the socket into buf, in slices of PULL_BYTES,
 * while they come back full (a short one says the socket is empty, without
 * the EAGAIN a further read would cost), and no further than
 * max_http_buffered_bytes leaves: libevent's next read crosses that line,
 * by at most its 4096 bytes as before. An error or the end of the stream
 * is left for libevent's next read to find and report. Each commit runs
 * on_input again, which counts the bytes. */
static void pull_rest(struct mg_http_track *t, struct evbuffer *buf)
{
    struct mg_http_conns *cs = t->cs;
    int fd = bufferevent_getfd(t->bev);
    for (size_t got = 0; got < PULL_MAX;) {
        if (t->action || cs->inflight + PULL_BYTES > cs->cfg->max_http_buffered_bytes)
            return;
        struct evbuffer_iovec v[2];
        struct iovec iov[2];
        int n = evbuffer_reserve_space(buf, PULL_BYTES, v, 2);
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++)
            iov[i] = (struct iovec){v[i].iov_base, v[i].iov_len};
        ssize_t r = readv(fd, iov, n);
        if (r <= 0)
            return;
        size_t left = (size_t)r;
        for (int i = 0; i < n; i++) {
            v[i].iov_len = left < v[i].iov_len ? left : v[i].iov_len;
            left -= v[i].iov_len;
        }
        evbuffer_commit_space(buf, v, n);
        got += (size_t)r;
        if ((size_t)r < PULL_BYTES)
            return;
    }
}

/* Bytes arriving on a connection: the start of a request arms its deadline;
 * all of them count against the bytes in flight until it is dispatched. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct mg_http_track *t = arg;
    struct mg_http_conns *cs = t->cs;
    if (!info->n_added || t->action)
        return;
    if (!t->reading) {
        t->reading = 1;
        struct timeval tv = secs(cs->cfg->header_timeout);
        evtimer_add(&t->ev, &tv);
    }
    t->inflight += info->n_added;
    cs->inflight += info->n_added;
    if (cs->inflight > cs->cfg->max_http_buffered_bytes)
        track_act(t, MG_CLOSE_BUFFER_FULL);
    if (t->pull && !t->pulling && info->n_added == LIBEVENT_READ) {
        t->pulling = 1;
        pull_rest(t, buf);
        t->pulling = 0;
    }
}

/* Counts and tracks the connection and arms the deadline of its first
 * request. Over max_connections, it is answered 503 and closed before
 * anything is read from it: the action is made active now, so it runs in
 * this turn of the loop, ahead of any read. */
struct bufferevent *mg_http_conns_accept(struct mg_http_conns *cs, struct event_base *base)
{
    if (cs->n >= cs->cfg->max_connections)
        sweep_closed(cs); /* places freed since the last sweep */
    struct bufferevent *bev = cs->tls ? mg_tls_bufferevent(base, cs->tls)
                                    : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct mg_http_track *t = bev ? calloc(1, sizeof(*t)) : NULL;
    if (!t)
        return bev;
    t->cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, t);
    if (!t->cb) {
        free(t);
        return bev;
    }
    bufferevent_incref(bev);
    t->bev = bev;
    t->cs = cs;
    t->pull = !cs->tls;
    t->next = cs->tracks;
    if (cs->tracks)
        cs->tracks->prev = t;
    cs->tracks = t;
    int over_cap = cs->n >= cs->cfg->max_connections;
    cs->n++;
    struct mg_stats *stats = mg_gateway_stats(cs->gw);
    stats->connections[MG_TRANSPORT_HTTP]++;
    stats->open[MG_TRANSPORT_HTTP]++;
    evtimer_assign(&t->ev, base, track_fired, t);
    if (over_cap) {
        track_act(t, MG_CLOSE_REFUSED);
        return bev;
    }
    t->reading = 1;
    struct timeval tv = secs(cs->cfg->header_timeout);
    evtimer_add(&t->ev, &tv);
    return bev;
}

int mg_http_conns_dispatched(struct mg_http_conns *cs, struct evhttp_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    for (struct mg_http_track *t = cs->tracks; bev && t; t = t->next)
        if (t->bev == bev) {
            if (t->action)
                return 0;
            event_del(&t->ev);
            cs->inflight -= t->inflight;
            t->inflight = 0;
            t->reading = 0;
            return 1;
        }
    return 1;
}

void mg_http_conns_init(struct mg_http_conns *cs, struct event_base *base,
                        struct mg_gateway *gw, const struct mg_config *cfg)
{
    memset(cs, 0, sizeof(*cs));
    cs->base = base;
    cs->gw = gw;
    cs->cfg = cfg;
    event_assign(&cs->sweep, base, -1, EV_PERSIST, on_sweep, cs);
    struct timeval sweep_tv = {0, 100000};
    event_add(&cs->sweep, &sweep_tv);
}

void mg_http_conns_fini(struct mg_http_conns *cs)
{
    if (event_initialized(&cs->sweep))
        event_del(&cs->sweep);
    while (cs->tracks)
        track_release(cs->tracks, MG_CLOSE_SHUTDOWN);
}
