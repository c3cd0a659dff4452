/* test_hot_alloc: a known-series update allocates nothing, through the
 * real ingest path (msgpack decode, identity checks, pipeline routing,
 * caps, store), with no scripts and with a pipeline of relabels, a
 * transform, a cap and limits. Every allocator entry of the C library
 * (malloc, calloc, realloc, aligned_alloc, posix_memalign) is replaced by
 * a counting one, so an allocation on the path shows whichever function
 * and whichever layer makes it. Not under sanitizers: they own malloc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "mg_config.h"
#include "mg_gateway.h"
#include "mg_test.h"

static size_t allocs; /* stays 0 under a sanitizer */
#if defined(__SANITIZE_ADDRESS__)
#define COUNTING 0
#else
#define COUNTING 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n)
{
    allocs++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    allocs++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    allocs++;
    return __libc_realloc(p, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    allocs++;
    return __libc_memalign(align, n);
}

int posix_memalign(void **p, size_t align, size_t n)
{
    allocs++;
    *p = __libc_memalign(align, n);
    return *p ? 0 : 12; /* ENOMEM */
}
#endif

#define SERIES 300 /* gauges, counters and histograms, a third each */

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* One message of SERIES metrics with 5 labels each, values from v. */
static void message(msgpack_sbuffer *sb, double v)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "metrics");
    msgpack_pack_array(&pk, SERIES);
    for (int i = 0; i < SERIES; i++) {
        char id[16], status[8];
        snprintf(id, sizeof(id), "%d", i);
        snprintf(status, sizeof(status), "%d", 200 + i % 3 * 100);
        int kind = i % 3;
        msgpack_pack_map(&pk, kind == 2 ? 6 : 4);
        pack_str(&pk, "name");
        pack_str(&pk, kind == 0 ? "req_ms" : kind == 1 ? "requests_total" : "latency");
        pack_str(&pk, "type");
        pack_str(&pk, kind == 0 ? "gauge" : kind == 1 ? "counter" : "histogram");
        pack_str(&pk, "labels");
        msgpack_pack_map(&pk, 5);
        pack_str(&pk, "job");
        pack_str(&pk, "api");
        pack_str(&pk, "path");
        pack_str(&pk, i % 2 ? "/a" : "/b");
        pack_str(&pk, "status");
        pack_str(&pk, status);
        pack_str(&pk, "workspace_id");
        pack_str(&pk, id);
        pack_str(&pk, "id");
        pack_str(&pk, id);
        if (kind == 2) {
            pack_str(&pk, "buckets");
            msgpack_pack_map(&pk, 2);
            msgpack_pack_double(&pk, 0.1);
            msgpack_pack_double(&pk, v);
            pack_str(&pk, "+Inf");
            msgpack_pack_double(&pk, 2 * v);
            pack_str(&pk, "sum");
            msgpack_pack_double(&pk, 3 * v);
            pack_str(&pk, "count");
            msgpack_pack_double(&pk, 2 * v);
        } else {
            pack_str(&pk, "value");
            msgpack_pack_double(&pk, v + i);
        }
    }
}

static const char *const scripts[] = {MG_TEST_FIXTURES "/oom_pipeline.lua"};

/* Creates the series, then pushes updates to them; counts what the
 * updates allocate. */
static void run(int with_scripts)
{
    struct mg_config cfg;
    mg_config_init(&cfg);
    char why[256];
    struct mg_gateway *gw = mg_gateway_new(&cfg, 1, 1700000000000, why, sizeof(why));
    CHECK(gw != NULL);
    if (with_scripts)
        CHECK(mg_gateway_load(gw, scripts, 1, NULL, 0, why, sizeof(why)) == 0);
    msgpack_sbuffer body[4];
    for (int k = 0; k < 4; k++) {
        msgpack_sbuffer_init(&body[k]);
        message(&body[k], k + 1);
    }
    struct mg_push_result res;
    mg_push_result_reset(&res);
    mg_gateway_push_body(gw, body[0].data, body[0].size, MG_TRANSPORT_TCP, NULL, &res);
    CHECK(res.accepted == SERIES);
    size_t before = COUNTING ? allocs : 0;
    unsigned accepted = 0;
    for (int r = 0; r < 200; r++) {
        const msgpack_sbuffer *b = &body[1 + r % 3];
        mg_push_result_reset(&res);
        mg_gateway_push_body(gw, b->data, b->size, MG_TRANSPORT_TCP, NULL, &res);
        accepted += res.accepted;
    }
    size_t during = COUNTING ? allocs - before : 0;
    CHECK(accepted == 200 * SERIES);
    if (during)
        fprintf(stderr, "%s: %zu allocations in %u known-series updates\n",
                with_scripts ? "with scripts" : "no scripts", during, accepted);
    CHECK(during == 0);
    for (int k = 0; k < 4; k++)
        msgpack_sbuffer_destroy(&body[k]);
    mg_gateway_free(gw);
    mg_config_fini(&cfg);
}

int main(void)
{
    if (!COUNTING) {
        printf("test_hot_alloc: skipped under a sanitizer\n");
        return 0;
    }
    /* the counters work: one of each entry counts */
    size_t a0 = COUNTING ? allocs : 0;
    void *p = malloc(8), *q = calloc(1, 8);
    p = realloc(p, 64);
    free(p);
    free(q);
    CHECK(!COUNTING || allocs - a0 == 3);
    run(0);
    run(1);
    return mg_test_summary("test_hot_alloc");
}
