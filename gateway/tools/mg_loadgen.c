/* mg_loadgen: moongate-bench, a load generator for the msgpack ingest
 * (docs/wire.md). It encodes every message once, up front, with each value a
 * fixed-width float64 it can patch in place, so sending is a few stores and a
 * write per message and the generator stays far faster than the gateway.
 * Two phases: create (every series once) and update (known series again);
 * each prints one key=value line. Owns its socket and buffers; links only
 * msgpack-c (for the ack reply) and libm. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getopt_long; CMake does not define it for this target */
#endif

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "mg_loadgen_http.h"
#include "mg_loadgen_opts.h"
#include "mg_loadgen_tls.h"

#define MG_UDP_MAX 65507           /* largest IPv4 UDP payload */
#define MG_HIST_BUCKETS 5          /* histogram bounds, +Inf included */
#define MG_MAX_FIELDS (MG_HIST_BUCKETS + 2) /* buckets, sum, count */

/* All messages, back to back in one buffer. Message m spans
 * [msg_off[m], msg_off[m+1]); the offsets of its patchable float64 payloads
 * (the 8 bytes after each 0xcb, relative to the message start) are
 * val_off[val_first[m] .. val_first[m+1]), nfields per metric in order. */
struct mg_bench {
    struct mg_bench_opts o;
    msgpack_sbuffer buf;
    size_t nmsg;
    size_t *msg_off;         /* nmsg + 1 */
    uint32_t *msg_metrics;   /* metrics in message m */
    uint32_t *val_off;       /* relative to the message start */
    size_t *val_first;       /* nmsg + 1: index into val_off */
    unsigned nfields;
    int oom;                 /* the packer's buffer could not grow */
    double mult[MG_MAX_FIELDS]; /* value of field f in round r = r * mult[f] */
    int fd;
    SSL *ssl;                /* with --tls */
    msgpack_unpacker unp;
    int unp_ready;
    struct mg_bench_http rx; /* with --http: replies read so far */
    unsigned http_inflight;  /* requests sent, replies not yet read */
};

static const char *type_name(enum mg_bench_type t)
{
    switch (t) {
    case MG_BENCH_COUNTER: return "counter";
    case MG_BENCH_HISTOGRAM: return "histogram";
    default: return "gauge";
    }
}

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
    pack_str(pk, s, strlen(s));
}

/* Packs a float64 and records where its 8 payload bytes are. msgpack-c always
 * packs a double as 0xcb + 8 bytes, which is what makes patching possible;
 * the check keeps that an invariant rather than a hope. */
static int pack_slot(struct mg_bench *b, msgpack_packer *pk, size_t msg_start,
                     size_t *nval, double v)
{
    msgpack_pack_double(pk, v);
    if (b->oom)
        return -ENOMEM;
    size_t at = b->buf.size - 8;
    if ((unsigned char)b->buf.data[at - 1] != 0xcb)
        return -EPROTO;
    if (at - msg_start > UINT32_MAX)
        return -E2BIG;
    b->val_off[(*nval)++] = (uint32_t)(at - msg_start);
    return 0;
}

/* Label k of series i, a realistic mix: values shared by all (job,
 * instance), low cardinality (zone 16, shard 256) and unique (id); labels past
 * five cycle through widening value sets (2 .. 4096 values). With fewer than
 * five, id is always among them so series stay distinct. */
static void label_kv(const struct mg_bench_opts *o, unsigned k, uint64_t i,
                     char *name, size_t nn, char *val, size_t vn)
{
    static const unsigned mods[] = { 2, 8, 64, 512, 4096 };
    unsigned slot;

    if (o->labels < 5)
        slot = (k + 1 == o->labels) ? 4 : k;
    else
        slot = k;
    switch (slot) {
    case 0:
        snprintf(name, nn, "job");
        snprintf(val, vn, "bench");
        break;
    case 1:
        snprintf(name, nn, "instance");
        snprintf(val, vn, "bench-0");
        break;
    case 2:
        snprintf(name, nn, "zone");
        snprintf(val, vn, "z%u", (unsigned)(i % 16));
        break;
    case 3:
        snprintf(name, nn, "shard");
        snprintf(val, vn, "s%u", (unsigned)(i % 256));
        break;
    case 4:
        snprintf(name, nn, "id");
        snprintf(val, vn, "%llu", (unsigned long long)i);
        break;
    default:
        snprintf(name, nn, "l%u", slot);
        snprintf(val, vn, "v%u", (unsigned)(i % mods[(slot - 5) % 5]));
        break;
    }
}

static void metric_name(const struct mg_bench_opts *o, uint64_t i, char *out,
                        size_t n)
{
    const char *suffix = o->type == MG_BENCH_COUNTER ? "_total" : "";

    /* without labels only the name tells series apart */
    if (o->labels == 0)
        snprintf(out, n, "%s_%llu%s", o->prefix, (unsigned long long)i, suffix);
    else if (o->metrics <= 1)
        snprintf(out, n, "%s%s", o->prefix, suffix);
    else
        snprintf(out, n, "%s_%u%s", o->prefix, (unsigned)(i % o->metrics), suffix);
}

/* One metric map; values as for round 1, patched later. */
static int encode_metric(struct mg_bench *b, msgpack_packer *pk,
                         size_t msg_start, size_t *nval, uint64_t i)
{
    static const double bounds[MG_HIST_BUCKETS - 1] = { 0.005, 0.05, 0.5, 5 };
    const struct mg_bench_opts *o = &b->o;
    char name[256], ln[64], lv[64];
    int rc;

    metric_name(o, i, name, sizeof(name));
    /* name, type, labels, then value or buckets, sum, count */
    msgpack_pack_map(pk, o->type == MG_BENCH_HISTOGRAM ? 6 : 4);
    pack_cstr(pk, "name");
    pack_cstr(pk, name);
    pack_cstr(pk, "type");
    pack_cstr(pk, type_name(o->type));
    pack_cstr(pk, "labels");
    msgpack_pack_map(pk, o->labels);
    for (unsigned k = 0; k < o->labels; k++) {
        label_kv(o, k, i, ln, sizeof(ln), lv, sizeof(lv));
        pack_cstr(pk, ln);
        pack_cstr(pk, lv);
    }
    if (o->type != MG_BENCH_HISTOGRAM) {
        pack_cstr(pk, "value");
        return pack_slot(b, pk, msg_start, nval, b->mult[0]);
    }
    pack_cstr(pk, "buckets");
    msgpack_pack_map(pk, MG_HIST_BUCKETS);
    for (unsigned f = 0; f < MG_HIST_BUCKETS; f++) {
        if (f + 1 < MG_HIST_BUCKETS)
            msgpack_pack_double(pk, bounds[f]);
        else
            pack_cstr(pk, "+Inf");
        if ((rc = pack_slot(b, pk, msg_start, nval, b->mult[f])) < 0)
            return rc;
    }
    pack_cstr(pk, "sum");
    if ((rc = pack_slot(b, pk, msg_start, nval, b->mult[MG_HIST_BUCKETS])) < 0)
        return rc;
    pack_cstr(pk, "count");
    return pack_slot(b, pk, msg_start, nval, b->mult[MG_HIST_BUCKETS + 1]);
}

/* The packer's sink: msgpack_sbuffer_write, remembering a failed realloc so
 * one check per message replaces one per pack call. */
static int sbuf_write(void *data, const char *buf, size_t len)
{
    struct mg_bench *b = data;

    if (msgpack_sbuffer_write(&b->buf, buf, len) < 0) {
        b->oom = 1;
        return -1;
    }
    return 0;
}

/* Encodes every message once. Each is {"metrics": [...]} with a fixmap
 * header (0x81) as its first byte, which send_ack_msg relies on. */
static int encode_all(struct mg_bench *b)
{
    const struct mg_bench_opts *o = &b->o;
    msgpack_packer pk;
    size_t nval = 0;
    int rc;

    b->nfields = o->type == MG_BENCH_HISTOGRAM ? MG_MAX_FIELDS : 1;
    if (o->type == MG_BENCH_HISTOGRAM) {
        /* cumulative buckets, count = +Inf bucket, so every round is valid */
        for (unsigned f = 0; f < MG_HIST_BUCKETS; f++)
            b->mult[f] = f + 1;
        b->mult[MG_HIST_BUCKETS] = 7.5;
        b->mult[MG_HIST_BUCKETS + 1] = MG_HIST_BUCKETS;
    } else {
        b->mult[0] = 1;
    }
    b->nmsg = (size_t)((o->series + o->batch - 1) / o->batch);
    b->msg_off = calloc(b->nmsg + 1, sizeof(*b->msg_off));
    b->msg_metrics = calloc(b->nmsg, sizeof(*b->msg_metrics));
    b->val_first = calloc(b->nmsg + 1, sizeof(*b->val_first));
    b->val_off = calloc((size_t)o->series * b->nfields, sizeof(*b->val_off));
    if (!b->msg_off || !b->msg_metrics || !b->val_first || !b->val_off)
        return -ENOMEM;

    msgpack_sbuffer_init(&b->buf);
    msgpack_packer_init(&pk, b, sbuf_write);
    for (size_t m = 0; m < b->nmsg; m++) {
        uint64_t first = (uint64_t)m * o->batch;
        uint64_t n = o->series - first < o->batch ? o->series - first : o->batch;
        size_t start = b->buf.size;

        b->msg_off[m] = start;
        b->val_first[m] = nval;
        b->msg_metrics[m] = (uint32_t)n;
        msgpack_pack_map(&pk, o->token ? 2 : 1);
        if (o->token) { /* checked once per message by the gateway */
            pack_cstr(&pk, "token");
            pack_cstr(&pk, o->token);
        }
        pack_cstr(&pk, "metrics");
        msgpack_pack_array(&pk, (size_t)n);
        for (uint64_t j = 0; j < n; j++)
            if ((rc = encode_metric(b, &pk, start, &nval, o->offset + first + j)) < 0)
                return rc;
        if (b->oom)
            return -ENOMEM;
        if (o->udp && b->buf.size - start > MG_UDP_MAX) {
            fprintf(stderr, "moongate-bench: message of %zu bytes exceeds a UDP "
                    "datagram (%d); lower --batch\n", b->buf.size - start, MG_UDP_MAX);
            return -EMSGSIZE;
        }
    }
    b->msg_off[b->nmsg] = b->buf.size;
    b->val_first[b->nmsg] = nval;
    return 0;
}

/* Big-endian float64 payload, as msgpack wants it. */
static void be_double(unsigned char out[8], double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    for (int k = 7; k >= 0; k--) {
        out[k] = (unsigned char)u;
        u >>= 8;
    }
}

/* Sets message m's values for round r: one 8-byte store per slot. */
static void patch_msg(struct mg_bench *b, size_t m, const unsigned char enc[][8])
{
    unsigned char *base = (unsigned char *)b->buf.data + b->msg_off[m];
    size_t lo = b->val_first[m], hi = b->val_first[m + 1];
    unsigned nf = b->nfields;

    if (nf == 1) {
        for (size_t v = lo; v < hi; v++)
            memcpy(base + b->val_off[v], enc[0], 8);
        return;
    }
    for (size_t v = lo, f = 0; v < hi; v++) {
        memcpy(base + b->val_off[v], enc[f], 8);
        if (++f == nf)
            f = 0;
    }
}

static void round_values(const struct mg_bench *b, uint64_t r,
                         unsigned char enc[][8])
{
    for (unsigned f = 0; f < b->nfields; f++)
        be_double(enc[f], (double)r * b->mult[f]);
}

/* Connects (TCP or a connected UDP socket). Blocking writes give up after
 * the timeout so a gateway that stops reading cannot hang the bench. */
static int open_target(struct mg_bench *b)
{
    struct addrinfo hints = { 0 }, *res = NULL, *ai;
    char host[256], port[32];
    int rc, fd = -1, err = ECONNREFUSED;

    if (mg_bench_split_hostport(b->o.target, host, sizeof(host), port, sizeof(port)) < 0) {
        fprintf(stderr, "moongate-bench: --target wants HOST:PORT, got '%s'\n",
                b->o.target);
        return -EINVAL;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = b->o.udp ? SOCK_DGRAM : SOCK_STREAM;
    if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
        fprintf(stderr, "moongate-bench: %s: %s\n", b->o.target, gai_strerror(rc));
        return -EHOSTUNREACH;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        struct timeval tv;
        int one = 1;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        tv.tv_sec = (time_t)b->o.timeout;
        tv.tv_usec = (suseconds_t)((b->o.timeout - (double)tv.tv_sec) * 1e6);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            /* the ack message is small and last: Nagle would hold it back */
            if (!b->o.udp)
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "moongate-bench: connect %s: %s\n", b->o.target, strerror(err));
        return -err;
    }
    b->fd = fd;
    if (b->o.tls_ca && !(b->ssl = mg_bench_tls_connect(fd, b->o.tls_ca, b->o.target)))
        return -EPROTO;
    return 0;
}

/* One message: a TCP write or a datagram. A full socket buffer on UDP is the
 * kernel telling us to slow down, not a failure: retry briefly. */
static int send_msg(struct mg_bench *b, const char *p, size_t n)
{
    if (!b->o.udp)
        return mg_bench_write_all(b->ssl, b->fd, p, n);
    for (;;) {
        ssize_t w = send(b->fd, p, n, 0);
        if (w >= 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == ENOBUFS) {
            struct timespec ts = { 0, 50000 };
            nanosleep(&ts, NULL);
            continue;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
    }
}

/* Sends message m with "ack": id added in front of its "metrics": the first
 * byte (fixmap of 1) becomes a fixmap of 2 and the rest follows as is. The
 * id is a fixed-width uint64 (0xcf), valid msgpack and simpler than picking
 * the shortest form. Returns the bytes written beyond message m's own, or
 * -errno. */
static int send_ack_msg(struct mg_bench *b, size_t m, uint64_t id)
{
    unsigned char head[14] = { 0x82, 0xa3, 'a', 'c', 'k', 0xcf };
    const char *p = b->buf.data + b->msg_off[m];
    head[0] = (unsigned char)(p[0] + 1); /* a fixmap of one more key */
    size_t n = b->msg_off[m + 1] - b->msg_off[m];
    int rc;

    for (int k = 13; k >= 6; k--) {
        head[k] = (unsigned char)id;
        id >>= 8;
    }
    if ((rc = mg_bench_write_all(b->ssl, b->fd, (const char *)head, sizeof(head))) < 0)
        return rc;
    if ((rc = mg_bench_write_all(b->ssl, b->fd, p + 1, n - 1)) < 0)
        return rc;
    return (int)sizeof(head) - 1;
}

static int key_is(const msgpack_object *k, const char *s)
{
    size_t n = strlen(s);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, s, n) == 0;
}

static int obj_u64(const msgpack_object *v, uint64_t *out)
{
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *out = v->via.u64;
        return 1;
    }
    if (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32) {
        *out = (uint64_t)v->via.f64;
        return 1;
    }
    return 0;
}

struct mg_bench_ack {
    uint64_t accepted, rejected, dropped;
    char first_error[256];
    char first_drop[128];
};

/* Prints the first error of a reply: {index, reason, detail} in the HTTP
 * reply's shape (docs/wire.md), or whatever the gateway put there. */
static void first_error(const msgpack_object *errs, char *out, size_t n)
{
    out[0] = '\0';
    if (errs->type != MSGPACK_OBJECT_ARRAY || errs->via.array.size == 0)
        return;
    msgpack_object_print_buffer(out, n, errs->via.array.ptr[0]);
}

static int unpacker_ready(struct mg_bench *b)
{
    if (!b->unp_ready) {
        if (!msgpack_unpacker_init(&b->unp, 4096))
            return -ENOMEM;
        b->unp_ready = 1;
    }
    return 0;
}

/* After a failed send: print what the gateway said before closing, if the
 * kernel still holds it (docs/wire.md: an undecodable stream gets an error message). */
static void show_pending(struct mg_bench *b)
{
    msgpack_unpacked res;
    ssize_t n;

    if (b->o.udp || unpacker_ready(b) < 0)
        return;
    msgpack_unpacked_init(&res);
    for (;;) {
        if (!msgpack_unpacker_reserve_buffer(&b->unp, 4096))
            break;
        n = recv(b->fd, msgpack_unpacker_buffer(&b->unp),
                 msgpack_unpacker_buffer_capacity(&b->unp), MSG_DONTWAIT);
        if (n <= 0)
            break;
        msgpack_unpacker_buffer_consumed(&b->unp, (size_t)n);
    }
    while (msgpack_unpacker_next(&b->unp, &res) == MSGPACK_UNPACK_SUCCESS) {
        fprintf(stderr, "moongate-bench: the gateway said: ");
        msgpack_object_print(stderr, res.data);
        fputc('\n', stderr);
    }
    msgpack_unpacked_destroy(&res);
}

/* Reads replies until the one carrying our ack id, within the timeout. Any
 * other object (an error message before a close) is printed and skipped. */
static int wait_ack(struct mg_bench *b, uint64_t id, struct mg_bench_ack *ack)
{
    double deadline = now_mono() + b->o.timeout;
    msgpack_unpacked res;
    int rc = -ETIMEDOUT;

    if ((rc = unpacker_ready(b)) < 0)
        return rc;
    rc = -ETIMEDOUT;
    msgpack_unpacked_init(&res);
    for (;;) {
        msgpack_unpack_return ur;
        while ((ur = msgpack_unpacker_next(&b->unp, &res)) == MSGPACK_UNPACK_SUCCESS) {
            const msgpack_object *o = &res.data;
            uint64_t got = 0;
            int have = 0;

            if (o->type != MSGPACK_OBJECT_MAP) {
                fprintf(stderr, "moongate-bench: unexpected reply: ");
                msgpack_object_print(stderr, *o);
                fputc('\n', stderr);
                continue;
            }
            memset(ack, 0, sizeof(*ack));
            for (uint32_t k = 0; k < o->via.map.size; k++) {
                const msgpack_object *key = &o->via.map.ptr[k].key;
                const msgpack_object *val = &o->via.map.ptr[k].val;
                if (key_is(key, "ack"))
                    have = obj_u64(val, &got);
                else if (key_is(key, "accepted"))
                    obj_u64(val, &ack->accepted);
                else if (key_is(key, "rejected"))
                    obj_u64(val, &ack->rejected);
                else if (key_is(key, "dropped"))
                    obj_u64(val, &ack->dropped);
                else if (key_is(key, "errors"))
                    first_error(val, ack->first_error, sizeof(ack->first_error));
                else if (key_is(key, "drops")) /* {index, reason}, same shape */
                    first_error(val, ack->first_drop, sizeof(ack->first_drop));
            }
            if (have && got == id) {
                rc = 0;
                goto done;
            }
            fprintf(stderr, "moongate-bench: reply without our ack %llu: ",
                    (unsigned long long)id);
            msgpack_object_print(stderr, *o);
            fputc('\n', stderr);
        }
        if (ur == MSGPACK_UNPACK_PARSE_ERROR) {
            fprintf(stderr, "moongate-bench: reply is not msgpack\n");
            rc = -EPROTO;
            goto done;
        }
        double left = deadline - now_mono();
        if (left <= 0) {
            fprintf(stderr, "moongate-bench: no ack %llu within %.0f s\n",
                    (unsigned long long)id, b->o.timeout);
            goto done;
        }
        struct pollfd pfd = { b->fd, POLLIN, 0 };
        int pr = b->ssl && SSL_pending(b->ssl) ? 1 : poll(&pfd, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno != EINTR) {
            rc = -errno;
            goto done;
        }
        if (pr <= 0)
            continue;
        if (!msgpack_unpacker_reserve_buffer(&b->unp, 4096)) {
            rc = -ENOMEM;
            goto done;
        }
        ssize_t n = mg_bench_read(b->ssl, b->fd, msgpack_unpacker_buffer(&b->unp),
                                  msgpack_unpacker_buffer_capacity(&b->unp));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            fprintf(stderr, "moongate-bench: connection %s while waiting for ack %llu\n",
                    n == 0 ? "closed" : strerror(errno), (unsigned long long)id);
            rc = n == 0 ? -ECONNRESET : -errno;
            goto done;
        }
        msgpack_unpacker_buffer_consumed(&b->unp, (size_t)n);
    }
done:
    msgpack_unpacked_destroy(&res);
    return rc;
}

struct mg_bench_phase {
    const char *name;
    uint64_t samples, messages, bytes;
    double seconds, cpu;
    int acked;
    struct mg_bench_ack ack;
};

static void report(const struct mg_bench *b, const struct mg_bench_phase *p)
{
    const struct mg_bench_opts *o = &b->o;
    double s = p->seconds > 0 ? p->seconds : 1e-9;

    printf("phase=%s transport=%s type=%s series=%llu labels=%u batch=%u "
           "messages=%llu samples=%llu bytes=%llu seconds=%.3f "
           "samples_per_second=%.0f mib_per_second=%.1f cpu_seconds=%.3f acked=%d",
           p->name, o->udp ? "udp" : o->http ? "http" : "tcp", type_name(o->type),
           (unsigned long long)o->series, o->labels, o->batch,
           (unsigned long long)p->messages, (unsigned long long)p->samples,
           (unsigned long long)p->bytes, p->seconds, (double)p->samples / s,
           (double)p->bytes / s / 1048576.0, p->cpu, p->acked);
    if (o->http)
        printf(" pipeline=%u", o->pipeline);
    if (p->acked)
        printf(" ack_accepted=%llu ack_rejected=%llu ack_dropped=%llu",
               (unsigned long long)p->ack.accepted,
               (unsigned long long)p->ack.rejected,
               (unsigned long long)p->ack.dropped);
    putchar('\n');
    fflush(stdout);
    if (p->acked && p->ack.rejected)
        fprintf(stderr, "moongate-bench: %s: the gateway rejected %llu of the "
                "last message's metrics; first error: %s\n", p->name,
                (unsigned long long)p->ack.rejected, p->ack.first_error);
    if (p->acked && p->ack.dropped)
        fprintf(stderr, "moongate-bench: %s: the gateway dropped %llu of the "
                "last message's metrics; first drop: %s\n", p->name,
                (unsigned long long)p->ack.dropped, p->ack.first_drop);
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sleeps until the monotonic time due, if it is still ahead. */
static void pace(double due)
{
    double d = due - now_mono();
    struct timespec ts;

    if (d <= 0)
        return;
    ts.tv_sec = (time_t)d;
    ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Reads the reply to the oldest request in flight; its counts are kept as
 * the phase's ack (the last reply read is the last message's). */
static int http_reply(struct mg_bench *b, struct mg_bench_phase *p)
{
    char reply[512];
    int status = 0;
    int rc = mg_bench_http_reply(b->ssl, b->fd, &b->rx, &status, reply, sizeof(reply),
                                 b->o.timeout);
    if (rc < 0)
        return rc;
    b->http_inflight--;
    if (status != 200) {
        fprintf(stderr, "moongate-bench: HTTP %d: %s\n", status, reply);
        return -EPROTO;
    }
    const char *k;
    memset(&p->ack, 0, sizeof(p->ack));
    if ((k = strstr(reply, "\"accepted\":")))
        p->ack.accepted = strtoull(k + 11, NULL, 10);
    if ((k = strstr(reply, "\"rejected\":")))
        p->ack.rejected = strtoull(k + 11, NULL, 10);
    if ((k = strstr(reply, "\"dropped\":")))
        p->ack.dropped = strtoull(k + 10, NULL, 10);
    p->acked = 1;
    return 0;
}

/* Message m as one HTTP request. Up to --pipeline requests are in flight:
 * a reply is read before a request beyond them is sent, and after the
 * phase's last request every reply is. Returns the bytes sent beyond the
 * message's own (not counted), or -errno. */
static int http_msg(struct mg_bench *b, size_t m, struct mg_bench_phase *p, int last)
{
    int rc = 0;
    while (b->http_inflight >= b->o.pipeline && rc == 0)
        rc = http_reply(b, p);
    if (rc == 0)
        rc = mg_bench_http_send(b->ssl, b->fd, b->buf.data + b->msg_off[m],
                                b->msg_off[m + 1] - b->msg_off[m]);
    if (rc == 0)
        b->http_inflight++;
    while (last && b->http_inflight && rc == 0)
        rc = http_reply(b, p);
    return rc;
}

/* One phase. Create sends each message once, as encoded (round 1). Update
 * cycles through the messages from the first, patching values for the round
 * (one round = one pass over all series), until --samples or --seconds says
 * stop. With --ack the last message carries the ack id and the phase ends when
 * its reply is in, so the time covers the gateway's processing. */
static int run_phase(struct mg_bench *b, struct mg_bench_phase *p, uint64_t ack_id,
                     uint64_t *round, int create)
{
    const struct mg_bench_opts *o = &b->o;
    unsigned char enc[MG_MAX_FIELDS][8];
    double t0 = now_mono(), c0 = cpu_seconds();
    double stop_at = (!create && o->seconds > 0) ? t0 + o->seconds : 0;
    uint64_t want = o->samples;
    size_t m = 0;
    int rc;

    if (create)
        want = o->series;
    else if (o->seconds > 0 && !o->samples_set)
        want = UINT64_MAX;     /* by time only */

    round_values(b, *round, enc);
    for (;;) {
        size_t n = b->msg_off[m + 1] - b->msg_off[m];
        int last = p->samples + b->msg_metrics[m] >= want ||
                   (create && m + 1 == b->nmsg) ||
                   (stop_at > 0 && now_mono() >= stop_at);

        if (!create)
            patch_msg(b, m, (const unsigned char (*)[8])enc);
        if (o->http)
            rc = http_msg(b, m, p, last);
        else if (last && o->ack)
            rc = send_ack_msg(b, m, ack_id);
        else
            rc = send_msg(b, b->buf.data + b->msg_off[m], n);
        if (rc < 0) {
            fprintf(stderr, "moongate-bench: %s: send: %s\n", p->name, strerror(-rc));
            show_pending(b);
            return rc;
        }
        p->samples += b->msg_metrics[m];
        p->messages++;
        p->bytes += n + (size_t)rc;
        if (last)
            break;
        if (o->rate > 0)
            pace(t0 + (double)p->samples / o->rate);
        if (++m == b->nmsg) {
            m = 0;
            round_values(b, ++*round, enc);
        }
    }
    if (o->ack && !o->http) {
        if ((rc = wait_ack(b, ack_id, &p->ack)) < 0)
            return rc;
        p->acked = 1;
    }
    p->seconds = now_mono() - t0;
    p->cpu = cpu_seconds() - c0;
    ++*round;
    return 0;
}

/* The update phase with --latency: one acked message at a time, sent at the
 * given rate on this one connection, each round trip (send to ack) timed.
 * A reply late past its slot delays the next send rather than piling up
 * requests. Prints p50, p99 and max in milliseconds. */
static int run_latency(struct mg_bench *b, uint64_t *round)
{
    const struct mg_bench_opts *o = &b->o;
    unsigned char enc[MG_MAX_FIELDS][8];
    double t0 = now_mono(), c0 = cpu_seconds();
    double stop_at = t0 + (o->seconds > 0 ? o->seconds : 10);
    size_t cap = 1024, n = 0, m = 0;
    double *rtt = malloc(cap * sizeof(*rtt));
    uint64_t id = 3, samples = 0;
    struct mg_bench_ack ack;
    int rc = 0;

    if (!rtt)
        return -ENOMEM;
    round_values(b, *round, enc);
    while (now_mono() < stop_at) {
        /* timed from the slot, not the send: a producer on a fixed
         * schedule waits for every slot a stall swallows, and a loader
         * that timed only its sends would report a burst of quick catch-up
         * pushes instead (coordinated omission) */
        double s0 = t0 + (double)n / o->latency;
        pace(s0);
        patch_msg(b, m, (const unsigned char (*)[8])enc);
        if ((rc = send_ack_msg(b, m, id)) < 0 || (rc = wait_ack(b, id, &ack)) < 0) {
            fprintf(stderr, "moongate-bench: latency: %s\n", strerror(-rc));
            goto out;
        }
        if (n == cap) {
            double *g = realloc(rtt, 2 * cap * sizeof(*rtt));
            if (!g) {
                rc = -ENOMEM;
                goto out;
            }
            rtt = g;
            cap *= 2;
        }
        rtt[n++] = now_mono() - s0;
        samples += b->msg_metrics[m];
        id++;
        if (++m == b->nmsg) {
            m = 0;
            round_values(b, ++*round, enc);
        }
    }
    qsort(rtt, n, sizeof(*rtt), dbl_cmp);
    double secs = now_mono() - t0;
    printf("phase=latency transport=tcp series=%llu batch=%u requests=%zu "
           "samples=%llu seconds=%.3f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
           "cpu_seconds=%.3f\n", (unsigned long long)o->series, o->batch, n,
           (unsigned long long)samples, secs,
           n ? rtt[n / 2] * 1e3 : 0.0, n ? rtt[(size_t)((double)n * 0.99)] * 1e3 : 0.0,
           n ? rtt[n - 1] * 1e3 : 0.0, cpu_seconds() - c0);
    fflush(stdout);
    rc = 0;
out:
    free(rtt);
    return rc;
}

int main(int argc, char **argv)
{
    struct mg_bench b;
    struct mg_bench_phase create = { .name = "create" };
    struct mg_bench_phase update = { .name = "update" };
    uint64_t round = 1;
    double t0, c0;
    int rc;

    memset(&b, 0, sizeof(b));
    b.fd = -1;
    if (mg_bench_parse_opts(&b.o, argc, argv) < 0)
        return 2;
    /* a gateway closing on us is reported by write's EPIPE, not a signal */
    signal(SIGPIPE, SIG_IGN);

    t0 = now_mono();
    c0 = cpu_seconds();
    if ((rc = encode_all(&b)) < 0) {
        fprintf(stderr, "moongate-bench: encode: %s\n", strerror(-rc));
        return 1;
    }
    printf("phase=encode series=%llu messages=%zu bytes=%zu bytes_per_sample=%.1f "
           "seconds=%.3f cpu_seconds=%.3f\n", (unsigned long long)b.o.series,
           b.nmsg, b.buf.size, (double)b.buf.size / (double)b.o.series,
           now_mono() - t0, cpu_seconds() - c0);
    fflush(stdout);

    if ((rc = open_target(&b)) < 0)
        goto out;
    if ((rc = run_phase(&b, &create, 1, &round, 1)) < 0)
        goto out;
    report(&b, &create);
    if (b.o.latency > 0) {
        rc = run_latency(&b, &round);
        goto out;
    }
    if (b.o.samples > 0 || (b.o.seconds > 0 && !b.o.samples_set)) {
        if ((rc = run_phase(&b, &update, 2, &round, 0)) < 0)
            goto out;
        report(&b, &update);
    }
out:
    if (b.fd >= 0)
        close(b.fd);
    if (b.unp_ready)
        msgpack_unpacker_destroy(&b.unp);
    msgpack_sbuffer_destroy(&b.buf);
    free(b.msg_off);
    free(b.msg_metrics);
    free(b.val_off);
    free(b.val_first);
    return rc < 0 ? 1 : 0;
}
