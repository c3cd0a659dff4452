/* mg_loadgen_opts: moongate-bench's command line: the usage text, the
 * flags parsed and checked into struct mg_bench_opts, and the split of
 * --target's HOST:PORT that open_target uses again. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getopt_long; CMake does not define it for this target */
#endif

#include "mg_loadgen_opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mg_bench_split_hostport(const char *s, char *host, size_t hn, char *port,
                            size_t pn)
{
    const char *colon;
    size_t len;

    if (s[0] == '[') {          /* [v6]:port */
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return -EINVAL;
        len = (size_t)(end - s - 1);
        colon = end + 1;
        s++;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -EINVAL;
        len = (size_t)(colon - s);
    }
    if (len == 0 || len >= hn || strlen(colon + 1) == 0 || strlen(colon + 1) >= pn)
        return -EINVAL;
    memcpy(host, s, len);
    host[len] = '\0';
    snprintf(port, pn, "%s", colon + 1);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: moongate-bench --target HOST:PORT [options]\n"
"\n"
"Pushes msgpack messages (docs/wire.md) to a moongate ingest listener as\n"
"fast as it can: first every series once (phase=create), then updates to the\n"
"known series (phase=update). Prints one key=value line per phase.\n"
"\n"
"  -t, --target HOST:PORT   ingest address (TCP unless --udp)\n"
"  -u, --udp                one datagram per message (needs a small --batch; no --ack)\n"
"      --http               POST each message to /api/v1/push on one kept-alive\n"
"                           connection (--target is the HTTP address), each reply\n"
"                           read before the next request unless --pipeline\n"
"      --pipeline N         with --http: up to N requests in flight (HTTP/1.1\n"
"                           pipelining), replies read in order (default 1)\n"
"  -n, --series N           distinct series (default 100000; counts take k, M, G)\n"
"  -k, --labels K           labels per series (default 5: job, instance, zone,\n"
"                           shard, id; more add l5.. with widening value sets)\n"
"  -b, --batch B            metrics per message (default 1000)\n"
"  -m, --metrics M          distinct metric names (default 1)\n"
"  -o, --offset O           first series id, to create new series on a gateway\n"
"                           that already holds some (default 0)\n"
"  -s, --samples S          samples in the update phase, rounded up to whole\n"
"                           messages; 0 = create only (default 20000000)\n"
"  -T, --seconds T          run the update phase for T seconds instead (with\n"
"                           --samples too, whichever ends first)\n"
"  -y, --type TYPE          gauge | counter | histogram (default gauge)\n"
"  -a, --ack                end each phase with an ack request and wait for the\n"
"                           reply, so the time covers processing, not only writes\n"
"  -p, --name-prefix P      metric name prefix (default bench_metric)\n"
"  -r, --rate R             pace both phases to R samples/s (per message; default\n"
"                           unpaced: as fast as the socket takes them)\n"
"  -w, --timeout SEC        connect, stalled write and ack wait limit (default 120)\n"
"  -L, --latency R          update phase: R acked messages per second, one at a\n"
"                           time, for --seconds (default 10); prints\n"
"                           phase=latency with the round trips' p50_ms p99_ms max_ms\n"
"      --token T            a token key in every message (push auth)\n"
"      --tls CA             TLS to the gateway's TCP ingest, verified with CA\n"
"  -h, --help               this text\n"
"\n"
"A histogram sample is one metric map (5 buckets, sum, count). Counters get a\n"
"_total suffix. Output keys: phase transport type series labels batch messages\n"
"samples bytes seconds samples_per_second mib_per_second cpu_seconds acked\n"
"[ack_accepted ack_rejected ack_dropped] (the reply's counts, which are those of\n"
"the last message only).\n");
}

/* A number with an optional k, M or G suffix: 1e6, 1M and 1000000 alike. */
static int parse_num(const char *s, double *out)
{
    char *end;
    double d;

    errno = 0;
    d = strtod(s, &end);
    if (errno || end == s)
        return -EINVAL;
    if (*end == 'k' || *end == 'K')
        d *= 1e3, end++;
    else if (*end == 'M')
        d *= 1e6, end++;
    else if (*end == 'G')
        d *= 1e9, end++;
    if (*end || !(d >= 0) || d > 1e18)
        return -EINVAL;
    *out = d;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    double d;

    if (parse_num(s, &d) < 0 || d != floor(d))
        return -EINVAL;
    *out = (uint64_t)d;
    return 0;
}

int mg_bench_parse_opts(struct mg_bench_opts *o, int argc, char **argv)
{
    static const struct option lopts[] = {
        { "target", required_argument, NULL, 't' },
        { "udp", no_argument, NULL, 'u' },
        { "http", no_argument, NULL, 'P' },
        { "pipeline", required_argument, NULL, 'Q' },
        { "series", required_argument, NULL, 'n' },
        { "labels", required_argument, NULL, 'k' },
        { "batch", required_argument, NULL, 'b' },
        { "metrics", required_argument, NULL, 'm' },
        { "offset", required_argument, NULL, 'o' },
        { "samples", required_argument, NULL, 's' },
        { "seconds", required_argument, NULL, 'T' },
        { "type", required_argument, NULL, 'y' },
        { "ack", no_argument, NULL, 'a' },
        { "name-prefix", required_argument, NULL, 'p' },
        { "timeout", required_argument, NULL, 'w' },
        { "rate", required_argument, NULL, 'r' },
        { "latency", required_argument, NULL, 'L' },
        { "token", required_argument, NULL, 'K' },
        { "tls", required_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char host[256], port[32];
    uint64_t v;
    int c;

    o->series = 100000;
    o->labels = 5;
    o->batch = 1000;
    o->metrics = 1;
    o->samples = 20000000;
    o->prefix = "bench_metric";
    o->timeout = 120;
    o->pipeline = 1;
    while ((c = getopt_long(argc, argv, "t:un:k:b:m:o:s:T:y:ap:w:r:L:h", lopts, NULL)) != -1) {
        switch (c) {
        case 't': o->target = optarg; break;
        case 'u': o->udp = 1; break;
        case 'P': o->http = 1; break;
        case 'a': o->ack = 1; break;
        case 'p': o->prefix = optarg; break;
        case 'K': o->token = optarg; break;
        case 'S': o->tls_ca = optarg; break;
        case 'h': usage(stdout); exit(0);
        case 'y':
            if (strcmp(optarg, "gauge") == 0)
                o->type = MG_BENCH_GAUGE;
            else if (strcmp(optarg, "counter") == 0)
                o->type = MG_BENCH_COUNTER;
            else if (strcmp(optarg, "histogram") == 0)
                o->type = MG_BENCH_HISTOGRAM;
            else
                goto bad;
            break;
        case 'T':
        case 'w':
        case 'L':
        case 'r': {
            double d;
            if (parse_num(optarg, &d) < 0 || !(d > 0) || (c != 'r' && d > 1e6))
                goto bad;
            if (c == 'T')
                o->seconds = d;
            else if (c == 'w')
                o->timeout = d;
            else if (c == 'L')
                o->latency = d;
            else
                o->rate = d;
            break;
        }
        case 'n': case 'k': case 'b': case 'm': case 'o': case 's': case 'Q':
            if (parse_u64(optarg, &v) < 0)
                goto bad;
            if (c == 'n') o->series = v;
            if (c == 'o') o->offset = v;
            if (c == 's') { o->samples = v; o->samples_set = 1; }
            if ((c == 'k' && v > 64) || (c == 'b' && (v == 0 || v > 1000000)) ||
                (c == 'm' && (v == 0 || v > 1000000)))
                goto bad;
            if (c == 'k') o->labels = (unsigned)v;
            if (c == 'b') o->batch = (unsigned)v;
            if (c == 'm') o->metrics = (unsigned)v;
            if (c == 'Q' && (v == 0 || v > 1024))
                goto bad;
            if (c == 'Q') o->pipeline = (unsigned)v;
            break;
        default:
            usage(stderr);
            return -EINVAL;
        }
        continue;
bad:
        fprintf(stderr, "moongate-bench: bad value for -%c: '%s'\n", c, optarg);
        return -EINVAL;
    }
    if (optind != argc || !o->target) {
        fprintf(stderr, "moongate-bench: %s\n", optind != argc ?
                "unexpected arguments" : "--target HOST:PORT is required");
        usage(stderr);
        return -EINVAL;
    }
    if (mg_bench_split_hostport(o->target, host, sizeof(host), port, sizeof(port)) < 0) {
        fprintf(stderr, "moongate-bench: --target wants HOST:PORT, got '%s'\n",
                o->target);
        return -EINVAL;
    }
    if (o->series == 0 || o->series > 100000000) {
        fprintf(stderr, "moongate-bench: --series must be 1..100000000\n");
        return -EINVAL;
    }
    if (o->http && (o->udp || o->latency > 0)) {
        fprintf(stderr, "moongate-bench: --http goes alone (no --udp, no --latency)\n");
        return -EINVAL;
    }
    if (o->udp && (o->ack || o->latency > 0)) {
        fprintf(stderr, "moongate-bench: --ack needs TCP (UDP has no reply)\n");
        return -EINVAL;
    }
    return 0;
}
