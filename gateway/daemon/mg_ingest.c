/* mg_ingest: TCP, UDP and unix listeners and their connections. */
#include "mg_ingest.h"
#include "mg_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event_struct.h>
#include <event2/listener.h>

#include "mg_listen.h"
#include "mg_http_auth.h"
#include "mg_log.h"
#include "mg_refused.h"
#include "mg_tls.h"

#define READ_CHUNK 65536
#define MAX_PENDING_REPLY (1u << 20)
#define FREELIST_MAX 32
/* Bytes of messages one connection may decode in a turn. Unpacking costs
 * about the number of objects, and a message may hold one a byte: a buffer
 * of 2 MB messages of two million objects each would otherwise hold every
 * other producer for seconds within messages_per_wakeup. */
#define WAKEUP_BYTES (1u << 20)

struct conn {
    struct mg_ingest *ing;
    struct conn *next, *prev;
    int fd;
    enum mg_transport t;
    struct event ev;      /* read readiness, idle timeout */
    struct event yield;   /* the next turn, after the others' */
    struct event wev;     /* write readiness while replies are pending */
    char *buf;
    size_t len, cap;
    struct mg_scan scan;
    struct mg_buf out;    /* replies not yet written */
    int closing;          /* close once out is flushed */
    int paused;           /* not reading: replies wait for the peer to read */
    double msg_start;     /* when the unfinished message in buf began; 0 = none */
    enum mg_close why;    /* counted when closing ends in a close */
    SSL *ssl;             /* TLS on this connection, or NULL */
    char cn[128];         /* its verified client certificate's CN */
    int cn_state;         /* 0 not yet known, 1 cn holds it, -1 none */
};

struct mg_ingest {
    struct event_base *base;
    struct mg_gateway *gw;
    const struct mg_config *cfg;
    struct evconnlistener *listener;
    enum mg_transport stream_t;
    int udp_fd;
    struct event udp_ev;
    char *unix_path;
    struct conn *conns;
    size_t nconns;
    char *free_bufs[FREELIST_MAX];
    size_t nfree;
    struct mg_log_limit log_limit;
    struct mg_listen_guard guard;
    int draining;
    struct mg_tls *tls;   /* TCP connections speak TLS; NULL: plain */
};

static struct timeval secs(double t)
{
    return (struct timeval){(time_t)t, (suseconds_t)((t - (double)(time_t)t) * 1e6)};
}

/* ---- connection buffers: a freelist of READ_CHUNK-sized ones ---- */

static char *buf_get(struct mg_ingest *ing)
{
    if (ing->nfree)
        return ing->free_bufs[--ing->nfree];
    return malloc(READ_CHUNK);
}

static void buf_put(struct mg_ingest *ing, char *b, size_t cap)
{
    if (cap == READ_CHUNK && ing->nfree < FREELIST_MAX)
        ing->free_bufs[ing->nfree++] = b;
    else
        free(b);
}

static void conn_close(struct conn *c, enum mg_close why)
{
    struct mg_ingest *ing = c->ing;
    struct mg_stats *stats = mg_gateway_stats(ing->gw);
    event_del(&c->ev);
    event_del(&c->wev);
    event_del(&c->yield);
    mg_tls_close(c->ssl);
    close(c->fd);
    buf_put(ing, c->buf, c->cap);
    mg_buf_fini(&c->out);
    if (c->prev)
        c->prev->next = c->next;
    else
        ing->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    ing->nconns--;
    stats->open[c->t]--;
    stats->closed[why]++;
    free(c);
}

static void conn_idle(struct conn *c)
{
    struct timeval tv = secs(c->ing->cfg->idle_timeout);
    event_add(&c->ev, &tv);
}

/* Writes what is pending; returns -1 when the connection was closed. While
 * replies wait for a peer that does not read them, the connection reads
 * nothing more (its own input waits in the kernel, which pushes back on
 * the peer) and has idle_timeout to take them. */
static int conn_flush(struct conn *c)
{
    while (c->out.len) {
        ssize_t n = c->ssl ? mg_tls_write(c->ssl, c->out.p, c->out.len)
                           : send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->paused) {
                struct timeval tv = secs(c->ing->cfg->idle_timeout);
                event_del(&c->ev);
                event_add(&c->wev, &tv);
                c->paused = 1;
            }
            return 0;
        }
        if (n <= 0) {
            conn_close(c, MG_CLOSE_NORMAL);
            return -1;
        }
        memmove(c->out.p, c->out.p + n, c->out.len - (size_t)n);
        c->out.len -= (size_t)n;
    }
    event_del(&c->wev);
    if (c->closing) {
        conn_close(c, c->why);
        return -1;
    }
    if (c->paused) {
        c->paused = 0;
        conn_idle(c);
        if (c->len)
            event_active(&c->ev, EV_READ, 0); /* what waited behind the replies */
    }
    return 0;
}

static void reply(struct conn *c, const struct mg_push_result *res)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (mg_wire_encode_reply(res, &sb) == 0)
        mg_buf_add(&c->out, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    if (c->out.len > MAX_PENDING_REPLY || c->out.failed) {
        /* a producer that asks for acks and never reads them */
        c->out.len = 0;
        c->closing = 1;
        c->why = MG_CLOSE_SLOW_READER;
    }
}

/* A message from a TLS producer whose verified certificate is bound to a
 * push credential is that producer's; otherwise its token key decides. */
static void push_one(struct conn *c, const char *p, size_t len, struct mg_push_result *res)
{
    struct mg_principal *who;
    if (c->ssl && mg_cert_principal(c->ing->gw, c->ing->tls, c->ssl, c->cn, sizeof(c->cn),
                                    &c->cn_state, &who))
        mg_gateway_push_message_as(c->ing->gw, p, len, c->t, who, res);
    else
        mg_gateway_push_message(c->ing->gw, p, len, c->t, NULL, res);
}

/* Decodes every complete message in the buffer, at most `budget` of them
 * and, past the first, at most `max_bytes` of them. Returns
 * 1 when messages remain, 0 when the buffer holds no whole one, -1 when the
 * connection is going away. */
static int conn_process(struct conn *c, unsigned budget, size_t max_bytes)
{
    struct mg_gateway *gw = c->ing->gw;
    const struct mg_wire_limits *lim = &c->ing->cfg->wire;
    size_t start = 0;
    int more = 0;
    while (start < c->len && !c->closing) {
        if (c->paused && !c->ing->draining)
            break; /* resumed by conn_flush once the peer reads */
        if (budget-- == 0 || start >= max_bytes) {
            more = 1;
            break;
        }
        enum mg_reason r;
        char why[MG_WHY_LEN];
        int rc = mg_wire_scan(&c->scan, c->buf + start, c->len - start, lim, &r, why);
        if (rc == 0)
            break;
        struct mg_push_result res;
        mg_push_result_reset(&res);
        if (rc < 0) {
            mg_gateway_stats(gw)->received[c->t]++;
            mg_gateway_reject(gw, &res, -1, r, 1, why);
            res.fatal = 1;
            reply(c, &res);
            c->closing = 1;
            c->why = MG_CLOSE_DECODE_ERROR;
            char peer[80];
            mg_refused_log("closing a stream that cannot be decoded", c->t,
                           mg_peer_name(c->fd, peer, sizeof(peer)), r, -1, why);
            c->len = 0;
            conn_flush(c); /* closes c once the error is written */
            return -1;
        }
        push_one(c, c->buf + start, c->scan.off, &res);
        if (res.rejected) {
            char peer[80];
            mg_refused_result(c->t, mg_peer_name(c->fd, peer, sizeof(peer)), &res);
        }
        if (res.has_ack)
            reply(c, &res);
        start += c->scan.off;
        memset(&c->scan, 0, sizeof(c->scan));
    }
    if (start) {
        memmove(c->buf, c->buf + start, c->len - start);
        c->len -= start;
        c->msg_start = 0; /* what remains is a later message */
    }
    if ((c->out.len || c->closing) && conn_flush(c) < 0)
        return -1;
    return more;
}

static int conn_grow(struct conn *c)
{
    size_t limit = c->ing->cfg->wire.max_message_bytes + READ_CHUNK;
    if (c->cap >= limit)
        return -1;
    size_t cap = c->cap * 2 > limit ? limit : c->cap * 2;
    char *nb = c->cap == READ_CHUNK ? malloc(cap) : realloc(c->buf, cap);
    if (!nb)
        return -1;
    if (c->cap == READ_CHUNK) {
        memcpy(nb, c->buf, c->len);
        buf_put(c->ing, c->buf, c->cap);
    }
    c->buf = nb;
    c->cap = cap;
    return 0;
}

/* idle_timeout resets on every byte, so a peer sending a message a byte at
 * a time would hold its connection forever: a message must arrive whole
 * within header_timeout of its first byte. 1 when c was closed. */
static int msg_late(struct conn *c)
{
    if (c->len == 0) {
        c->msg_start = 0;
        return 0;
    }
    double now = mg_mono_seconds();
    if (c->msg_start == 0)
        c->msg_start = now;
    if (now - c->msg_start <= c->ing->cfg->header_timeout)
        return 0;
    if (mg_log_allow(&c->ing->log_limit, 10))
        mg_log(MG_LOG_WARN, "closing a stream whose message is not whole within header_timeout",
               "transport", mg_transport_name(c->t), NULL);
    conn_close(c, MG_CLOSE_REQUEST_TIMEOUT);
    return 1;
}

/* A zero timeout runs after the next poll, so connections that became
 * readable meanwhile go first; event_active would run this one again
 * before polling, as long as it keeps yielding. */
static void conn_yield(struct conn *c)
{
    static const struct timeval now = {0, 0};
    event_add(&c->yield, &now);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (what & EV_TIMEOUT) {
        conn_close(c, MG_CLOSE_IDLE);
        return;
    }
    unsigned budget = c->ing->cfg->messages_per_wakeup;
    if (c->closing || c->paused) {
        /* Waiting on a flush: a read event left armed would fire again at
         * once for as long as the peer has sent anything. */
        event_del(&c->ev);
        return;
    }
    /* readable again while a turn waits: the turn reads, one per poll */
    if ((what & EV_READ) && evtimer_pending(&c->yield, NULL))
        return;
    /* Process first what a yield left, then read. */
    int more = conn_process(c, budget, WAKEUP_BYTES);
    if (more < 0 || c->paused)
        return;
    if (more) {
        conn_yield(c);
        return;
    }
    if (c->cap - c->len < 4096 && conn_grow(c) < 0 && c->cap == c->len) {
        conn_close(c, MG_CLOSE_DECODE_ERROR);
        return;
    }
    ssize_t n = c->ssl ? mg_tls_read(c->ssl, c->buf + c->len, c->cap - c->len)
                       : recv(fd, c->buf + c->len, c->cap - c->len, 0);
    if (n < 0 && errno == EACCES) /* a TLS handshake refused */
        mg_gateway_stats(c->ing->gw)->unauthorized[c->t]++;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        /* the peer is done: decode what is whole, answer, then close */
        if (conn_process(c, UINT32_MAX, SIZE_MAX) < 0)
            return;
        if (c->len) {
            /* a message cut short by the end of the stream */
            struct mg_push_result res;
            mg_push_result_reset(&res);
            mg_gateway_stats(c->ing->gw)->received[c->t]++;
            mg_gateway_reject(c->ing->gw, &res, -1, MG_REASON_DECODE_ERROR, 1,
                              "the stream ended inside a message");
            res.fatal = 1;
            char peer[80];
            mg_refused_result(c->t, mg_peer_name(c->fd, peer, sizeof(peer)), &res);
            reply(c, &res);
            c->len = 0;
        }
        if (!c->closing)
            c->why = MG_CLOSE_NORMAL;
        c->closing = 1;
        conn_flush(c);
        return;
    }
    if (n > 0) {
        c->len += (size_t)n;
        more = conn_process(c, budget, WAKEUP_BYTES);
        if (more < 0)
            return;
        /* TLS may hold decrypted bytes the socket no longer signals */
        if (more || (c->ssl && SSL_pending(c->ssl)))
            conn_yield(c);
        else if (msg_late(c))
            return;
    }
}

static void on_yield(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    on_read(c->fd, 0, c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct conn *c = arg;
    if (what & EV_TIMEOUT) {
        if (mg_log_allow(&c->ing->log_limit, 10))
            mg_log(MG_LOG_WARN, "closing a connection that does not read its replies",
                   "transport", mg_transport_name(c->t), NULL);
        conn_close(c, MG_CLOSE_SLOW_READER);
        return;
    }
    conn_flush(c);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
    (void)l;
    (void)sa;
    (void)salen;
    struct mg_ingest *ing = arg;
    struct mg_stats *stats = mg_gateway_stats(ing->gw);
    stats->connections[ing->stream_t]++;
    mg_listen_guard_ok(&ing->guard);
    if (ing->nconns >= ing->cfg->max_connections) {
        stats->closed[MG_CLOSE_REFUSED]++;
        if (mg_log_allow(&ing->log_limit, 10))
            mg_log(MG_LOG_WARN, "connection refused: max_connections reached",
                   "transport", mg_transport_name(ing->stream_t), NULL);
        close(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    char *b = c ? buf_get(ing) : NULL;
    if (!b) {
        free(c);
        close(fd);
        return;
    }
    evutil_make_socket_nonblocking(fd);
    c->ing = ing;
    c->fd = fd;
    c->t = ing->stream_t;
    c->buf = b;
    c->cap = READ_CHUNK;
    if (ing->tls && ing->stream_t == MG_TRANSPORT_TCP && !(c->ssl = mg_tls_accept(ing->tls, fd))) {
        buf_put(ing, b, READ_CHUNK);
        free(c);
        close(fd);
        return;
    }
    event_assign(&c->ev, ing->base, fd, EV_READ | EV_PERSIST, on_read, c);
    event_assign(&c->wev, ing->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    evtimer_assign(&c->yield, ing->base, on_yield, c);
    c->next = ing->conns;
    if (ing->conns)
        ing->conns->prev = c;
    ing->conns = c;
    ing->nconns++;
    stats->open[c->t]++;
    conn_idle(c);
}

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct mg_ingest *ing = arg;
    static char dgram[65536];
    for (unsigned i = 0; i < ing->cfg->messages_per_wakeup; i++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, dgram, sizeof(dgram), 0, (struct sockaddr *)&from, &fl);
        if (n <= 0)
            return;
        struct mg_push_result res;
        mg_push_result_reset(&res);
        mg_gateway_push_body(ing->gw, dgram, (size_t)n, MG_TRANSPORT_UDP, NULL, &res);
        if (res.rejected) {
            char peer[80];
            mg_refused_result(MG_TRANSPORT_UDP,
                              mg_addr_name((struct sockaddr *)&from, peer, sizeof(peer)), &res);
        }
    }
}

static int bind_stream(struct mg_ingest *ing, const char *addr, char *why,
                       size_t whylen)
{
    int fd;
    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        if (strlen(addr + 5) >= sizeof(sun.sun_path)) {
            snprintf(why, whylen, "%s: path too long", addr);
            return -1;
        }
        strcpy(sun.sun_path, addr + 5);
        unlink(sun.sun_path); /* a stale socket from an earlier run */
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
            goto fail;
        ing->unix_path = strdup(sun.sun_path);
        ing->stream_t = MG_TRANSPORT_UNIX;
    } else {
        struct sockaddr_storage ss;
        int sl;
        if (mg_parse_hostport(addr, &ss, &sl)) {
            snprintf(why, whylen, "%s: not host:port", addr);
            return -1;
        }
        fd = socket(ss.ss_family, SOCK_STREAM, 0);
        int one = 1;
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (fd < 0 || bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0)
            goto fail;
        ing->stream_t = MG_TRANSPORT_TCP;
    }
    if (listen(fd, 128) < 0)
        goto fail;
    evutil_make_socket_nonblocking(fd);
    ing->listener = evconnlistener_new(ing->base, on_accept, ing,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!ing->listener)
        goto fail;
    mg_listen_guard_init(&ing->guard, ing->base, ing->listener, mg_gateway_stats(ing->gw),
                         mg_transport_name(ing->stream_t));
    return fd;
fail:
    snprintf(why, whylen, "%s: %s", addr, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

/* UDP on the port TCP got, so one address serves both. */
static int bind_udp(struct mg_ingest *ing, int tcp_fd, char *why, size_t whylen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(tcp_fd, (struct sockaddr *)&ss, &sl);
    int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        snprintf(why, whylen, "udp: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rcvbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    evutil_make_socket_nonblocking(fd);
    ing->udp_fd = fd;
    event_assign(&ing->udp_ev, ing->base, fd, EV_READ | EV_PERSIST, on_udp, ing);
    event_add(&ing->udp_ev, NULL);
    return 0;
}

struct mg_ingest *mg_ingest_new(struct event_base *base,
                                struct mg_gateway *gw,
                                const struct mg_config *cfg, const char *addr,
                                char *why, size_t whylen)
{
    struct mg_ingest *ing = calloc(1, sizeof(*ing));
    if (!ing) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    ing->base = base;
    ing->gw = gw;
    ing->cfg = cfg;
    ing->udp_fd = -1;
    int fd = bind_stream(ing, addr, why, whylen);
    if (fd < 0)
        goto fail;
    char name[128];
    if (ing->stream_t == MG_TRANSPORT_UNIX) {
        mg_log(MG_LOG_INFO, "listening", "transport", "unix", "addr", addr, NULL);
        return ing;
    }
    if (cfg->udp && bind_udp(ing, fd, why, whylen))
        goto fail;
    mg_sock_name(fd, name, sizeof(name));
    mg_log(MG_LOG_INFO, "listening", "transport", "tcp", "addr", name, NULL);
    if (cfg->udp) /* plaintext whatever tls says: udp = false turns it off */
        mg_log(MG_LOG_INFO, "listening", "transport", "udp", "addr", name, NULL);
    return ing;
fail:
    mg_ingest_free(ing);
    return NULL;
}

void mg_ingest_set_tls(struct mg_ingest *ing, struct mg_tls *tls)
{
    ing->tls = tls;
}

/* Reads what the socket holds (a bounded number of times: a peer that
 * keeps sending cannot hold the drain), decodes it all, and flushes
 * without blocking; what cannot be flushed now waits on the loop. */
static void drain_one(struct conn *c)
{
    for (int i = 0; i < 256; i++) {
        if (c->cap - c->len < 4096 && conn_grow(c) < 0)
            break;
        ssize_t n = c->ssl ? mg_tls_read(c->ssl, c->buf + c->len, c->cap - c->len)
                           : recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
        if (n <= 0)
            break;
        c->len += (size_t)n;
        if (conn_process(c, UINT32_MAX, SIZE_MAX) < 0)
            return;
    }
    if (conn_process(c, UINT32_MAX, SIZE_MAX) < 0)
        return;
    if (!c->closing)
        c->why = MG_CLOSE_NORMAL;
    c->closing = 1;
    conn_flush(c);
}

size_t mg_ingest_drain(struct mg_ingest *ing)
{
    if (!ing)
        return 0;
    ing->draining = 1;
    if (ing->listener) {
        mg_listen_guard_fini(&ing->guard);
        evconnlistener_free(ing->listener);
        ing->listener = NULL;
    }
    if (ing->udp_fd >= 0) {
        on_udp(ing->udp_fd, EV_READ, ing); /* what the kernel already holds */
        event_del(&ing->udp_ev);
        close(ing->udp_fd);
        ing->udp_fd = -1;
    }
    struct conn *next;
    for (struct conn *c = ing->conns; c; c = next) {
        next = c->next;
        if (!c->closing)
            drain_one(c);
    }
    return ing->nconns;
}

size_t mg_ingest_open(const struct mg_ingest *ing)
{
    return ing ? ing->nconns : 0;
}

void mg_ingest_free(struct mg_ingest *ing)
{
    if (!ing)
        return;
    if (!ing->draining)
        mg_ingest_drain(ing);
    while (ing->conns) /* past the drain deadline */
        conn_close(ing->conns, MG_CLOSE_SHUTDOWN);
    if (ing->unix_path) {
        unlink(ing->unix_path);
        free(ing->unix_path);
    }
    for (size_t i = 0; i < ing->nfree; i++)
        free(ing->free_bufs[i]);
    free(ing);
}
