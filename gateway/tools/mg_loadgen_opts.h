/* mg_loadgen_opts: moongate-bench's command line: what a run is asked to
 * do (struct mg_bench_opts), the usage text and the parsing of the flags
 * into it, the --target HOST:PORT split included. */
#ifndef MG_LOADGEN_OPTS_H
#define MG_LOADGEN_OPTS_H

#include <stddef.h>
#include <stdint.h>

enum mg_bench_type { MG_BENCH_GAUGE, MG_BENCH_COUNTER, MG_BENCH_HISTOGRAM };

struct mg_bench_opts {
    const char *target;      /* HOST:PORT */
    int udp;                 /* datagrams instead of a TCP stream */
    int http;                /* POST /api/v1/push, one message a request */
    unsigned pipeline;       /* HTTP requests in flight at once (1: each
                              * reply read before the next request) */
    uint64_t series;
    unsigned labels;
    unsigned batch;
    unsigned metrics;        /* distinct metric names */
    uint64_t offset;         /* first series id */
    uint64_t samples;        /* update phase; 0 = create only */
    double seconds;          /* update phase by time; 0 = by samples */
    int samples_set;
    enum mg_bench_type type;
    int ack;
    const char *prefix;
    double timeout;          /* connect, blocked write, ack wait */
    double rate;             /* samples per second; 0 = as fast as possible */
    const char *token;       /* the token key in every message, or NULL */
    const char *tls_ca;      /* TLS to the gateway, checked against this CA */
    double latency;          /* acked messages per second in the update
                              * phase, each round trip timed; 0 = off */
};

/* Fills o from argv (defaults first); prints usage and exits on --help.
 * 0, or -EINVAL after saying on stderr what is wrong. */
int mg_bench_parse_opts(struct mg_bench_opts *o, int argc, char **argv);

/* Splits HOST:PORT or [V6]:PORT into host (hn bytes) and port (pn).
 * 0 or -EINVAL. */
int mg_bench_split_hostport(const char *s, char *host, size_t hn, char *port,
                            size_t pn);

#endif
