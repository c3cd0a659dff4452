/* moongate-create-bench: the new-series create path in process, with no
 * socket and no loader, so instruction counts (valgrind --tool=callgrind
 * --toggle-collect=mg_gateway_push_message) and CPU time per new series
 * measure the gateway alone. Series carry the loader's labels (job,
 * instance, zone, shard, id), 1000 to a message. With -u every message is
 * pushed once more: the known-series update path, which callgrind counts
 * alone with --toggle-collect='push_known*'; with -s the series are then
 * rendered once as a text scrape (--toggle-collect='scrape_once*').
 * Prints key=value lines. */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_config.h"
#include "mg_gateway.h"
#include "mg_push_result.h"

#define BATCH 1000

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* One message of series [first, first + n). */
static void pack_msg(msgpack_sbuffer *sb, unsigned long first, unsigned long n)
{
    msgpack_packer pk;
    char v[32];
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "metrics");
    msgpack_pack_array(&pk, n);
    for (unsigned long i = first; i < first + n; i++) {
        msgpack_pack_map(&pk, 4);
        pack_str(&pk, "name");
        pack_str(&pk, "bench_metric");
        pack_str(&pk, "type");
        pack_str(&pk, "gauge");
        pack_str(&pk, "labels");
        msgpack_pack_map(&pk, 5);
        pack_str(&pk, "job");
        pack_str(&pk, "bench");
        pack_str(&pk, "instance");
        pack_str(&pk, "bench-0");
        pack_str(&pk, "zone");
        snprintf(v, sizeof(v), "z%lu", i % 16);
        pack_str(&pk, v);
        pack_str(&pk, "shard");
        snprintf(v, sizeof(v), "s%lu", i % 256);
        pack_str(&pk, v);
        pack_str(&pk, "id");
        snprintf(v, sizeof(v), "%lu", i);
        pack_str(&pk, v);
        pack_str(&pk, "value");
        msgpack_pack_double(&pk, 1.0);
    }
}

/* Its own function, so callgrind can count the update pass alone. */
__attribute__((noinline)) static void push_known(struct mg_gateway *gw,
                                                 const msgpack_sbuffer *m,
                                                 struct mg_push_result *res)
{
    mg_gateway_push_message(gw, m->data, m->size, MG_TRANSPORT_TCP, NULL, res);
}

/* Its own function, so callgrind can count the scrape alone. */
__attribute__((noinline)) static size_t scrape_once(struct mg_gateway *gw)
{
    struct mg_buf b = {0};
    int rc = mg_expose(mg_gateway_store(gw), MG_FORMAT_TEXT, 0, &b);
    size_t n = rc ? 0 : b.len;
    mg_buf_fini(&b);
    return n;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int known = 0, scrape = 0;
    for (; argc > 1 && argv[1][0] == '-'; argc--, argv++) {
        known |= strcmp(argv[1], "-u") == 0;
        scrape |= strcmp(argv[1], "-s") == 0;
    }
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: moongate-create-bench [-u] [-s] SERIES [SCRIPTS_DIR]\n");
        return 2;
    }
    unsigned long n = strtoul(argv[1], NULL, 10);
    const char *scripts = argc == 3 ? argv[2] : NULL;
    struct mg_config cfg;
    char why[256];
    mg_config_init(&cfg);
    struct mg_gateway *gw = mg_gateway_new(&cfg, 1, (int64_t)1700000000 * 1000, why, sizeof(why));
    mg_config_fini(&cfg);
    if (!gw || (scripts && mg_gateway_load_dirs(gw, scripts, NULL, why, sizeof(why)))) {
        fprintf(stderr, "moongate-create-bench: %s\n", why);
        return 1;
    }
    /* every message encoded first: the timed loop is the gateway's alone */
    size_t nmsg = (n + BATCH - 1) / BATCH;
    msgpack_sbuffer *msgs = calloc(nmsg ? nmsg : 1, sizeof(*msgs));
    struct mg_push_result *res = malloc(sizeof(*res));
    if (!msgs || !res)
        return 1;
    for (size_t m = 0; m < nmsg; m++) {
        unsigned long first = (unsigned long)m * BATCH;
        msgpack_sbuffer_init(&msgs[m]);
        pack_msg(&msgs[m], first, n - first < BATCH ? n - first : BATCH);
    }
    unsigned long accepted = 0, dropped = 0, rejected = 0;
    double t0 = cpu_now();
    for (size_t m = 0; m < nmsg; m++) {
        mg_push_result_reset(res);
        mg_gateway_push_message(gw, msgs[m].data, msgs[m].size, MG_TRANSPORT_TCP, NULL, res);
        accepted += res->accepted;
        dropped += res->dropped;
        rejected += res->rejected;
    }
    double t1 = cpu_now();
    printf("series=%lu accepted=%lu dropped=%lu rejected=%lu cpu_seconds=%.3f "
           "new_series_per_cpu_second=%.0f\n", n, accepted, dropped, rejected, t1 - t0,
           t1 > t0 ? (double)n / (t1 - t0) : 0.0);
    if (known) {
        unsigned long updated = 0;
        for (size_t m = 0; m < nmsg; m++) {
            mg_push_result_reset(res);
            push_known(gw, &msgs[m], res);
            updated += res->accepted;
            rejected += res->rejected;
        }
        double t2 = cpu_now();
        printf("known_updates=%lu cpu_seconds=%.3f known_updates_per_cpu_second=%.0f\n",
               updated, t2 - t1, t2 > t1 ? (double)updated / (t2 - t1) : 0.0);
    }
    if (scrape) {
        double t3 = cpu_now();
        size_t bytes = scrape_once(gw);
        double t4 = cpu_now();
        printf("scrape_bytes=%zu cpu_seconds=%.3f\n", bytes, t4 - t3);
    }
    for (size_t m = 0; m < nmsg; m++)
        msgpack_sbuffer_destroy(&msgs[m]);
    free(msgs);
    free(res);
    mg_gateway_free(gw);
    return rejected ? 1 : 0;
}
