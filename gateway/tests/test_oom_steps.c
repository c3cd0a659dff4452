/* test_oom_steps: every allocation of a gateway's life fails once. The
 * process's malloc, calloc, realloc and free are replaced by counting
 * wrappers (so Lua, PCRE2, msgpack-c and zlib are stepped too), and a
 * scenario runs once per allocation N with the Nth refused: load scripts
 * and rules, push new series, push updates, tick the rules, reload,
 * explain, scrape in every format, expire, free. For every N: no crash,
 * every block freed (the wrappers count what is live), and afterwards the
 * same gateway still takes a push and shows it in a scrape.
 *
 * Not built under sanitizers: they replace malloc themselves. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "mg_config.h"
#include "mg_gateway.h"
#include "mg_log.h"

/* ---- the allocator: glibc's, behind a header that counts ---- */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

#define MAGIC 0x6d6f6f6e6f6f6d21ULL
struct hdr {
    uint64_t magic;
    uint64_t size;
};

static long fail_at = -1; /* the allocation that fails; -1: none */
static long count;        /* allocations since the step began */
static long live;         /* blocks of ours not yet freed */
static int failed;        /* the step's refusal happened */

static int refuse(void)
{
    if (fail_at < 0)
        return 0;
    if (count++ != fail_at)
        return 0;
    failed = 1;
    return 1;
}

void *malloc(size_t n)
{
    if (refuse() || n > SIZE_MAX - sizeof(struct hdr))
        return NULL;
    struct hdr *h = __libc_malloc(sizeof(*h) + n);
    if (!h)
        return NULL;
    h->magic = MAGIC;
    h->size = n;
    live++;
    return h + 1;
}

void *calloc(size_t n, size_t size)
{
    /* __libc_calloc, not malloc + memset: the compiler turns that pair
     * back into a call to calloc, this one */
    if (refuse() || (size && n > (SIZE_MAX - sizeof(struct hdr)) / size))
        return NULL;
    struct hdr *h = __libc_calloc(1, sizeof(*h) + n * size);
    if (!h)
        return NULL;
    h->magic = MAGIC;
    h->size = n * size;
    live++;
    return h + 1;
}

static struct hdr *ours(void *p)
{
    struct hdr *h = (struct hdr *)p - 1;
    return h->magic == MAGIC ? h : NULL;
}

void free(void *p)
{
    if (!p)
        return;
    struct hdr *h = ours(p);
    if (!h) {
        __libc_free(p); /* from memalign and the like: not counted */
        return;
    }
    h->magic = 0;
    live--;
    __libc_free(h);
}

void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    struct hdr *h = ours(p);
    if (!h)
        return __libc_realloc(p, n);
    if (refuse() || n > SIZE_MAX - sizeof(struct hdr))
        return NULL;
    struct hdr *nh = __libc_realloc(h, sizeof(*nh) + n);
    if (!nh)
        return NULL;
    nh->size = n;
    return nh + 1;
}

/* ---- the scenario ---- */

static int failures;
#define CHECK(c, ...)                                                       \
    do {                                                                    \
        if (!(c)) {                                                         \
            fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #c);         \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            failures++;                                                     \
        }                                                                   \
    } while (0)

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void pack_labels(msgpack_packer *pk, int i)
{
    char status[8], path[16], ws[16];
    snprintf(status, sizeof(status), "%d", 200 + (i % 4) * 100);
    snprintf(path, sizeof(path), "/p%d", i % 7);
    snprintf(ws, sizeof(ws), "ws%d", i);
    msgpack_pack_map(pk, 3);
    pack_str(pk, "status");
    pack_str(pk, status);
    pack_str(pk, "path");
    pack_str(pk, path);
    pack_str(pk, "workspace_id");
    pack_str(pk, ws);
}

/* A message of n counters, a histogram and a gauge, values scaled by v. */
static void message(msgpack_sbuffer *sb, int n, double v)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pack_str(&pk, "source");
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "job");
    pack_str(&pk, "api");
    pack_str(&pk, "ttl");
    msgpack_pack_int(&pk, 100);
    pack_str(&pk, "metrics");
    msgpack_pack_array(&pk, (size_t)n + 2);
    for (int i = 0; i < n; i++) {
        msgpack_pack_map(&pk, 4);
        pack_str(&pk, "name");
        pack_str(&pk, "requests_total");
        pack_str(&pk, "type");
        pack_str(&pk, "counter");
        pack_str(&pk, "value");
        msgpack_pack_double(&pk, v * (i + 1));
        pack_str(&pk, "labels");
        pack_labels(&pk, i);
    }
    msgpack_pack_map(&pk, 5);
    pack_str(&pk, "name");
    pack_str(&pk, "latency_ms");
    pack_str(&pk, "type");
    pack_str(&pk, "histogram");
    pack_str(&pk, "buckets");
    msgpack_pack_map(&pk, 2);
    msgpack_pack_double(&pk, 100);
    msgpack_pack_double(&pk, v);
    pack_str(&pk, "+Inf");
    msgpack_pack_double(&pk, 2 * v);
    pack_str(&pk, "sum");
    msgpack_pack_double(&pk, 150 * v);
    pack_str(&pk, "count");
    msgpack_pack_double(&pk, 2 * v);
    msgpack_pack_map(&pk, 3);
    pack_str(&pk, "name");
    pack_str(&pk, "temperature");
    pack_str(&pk, "type");
    pack_str(&pk, "gauge");
    pack_str(&pk, "value");
    msgpack_pack_double(&pk, 20 + v);
}

static void push(struct mg_gateway *gw, int n, double v)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    message(&sb, n, v);
    struct mg_push_result res;
    mg_push_result_reset(&res);
    if (sb.data) /* the buffer itself may be the refused allocation */
        mg_gateway_push_body(gw, sb.data, sb.size, MG_TRANSPORT_TCP, NULL, &res);
    msgpack_sbuffer_destroy(&sb);
}

static const char *const scripts[] = {MG_TEST_FIXTURES "/oom_pipeline.lua"};
static const char *const rules[] = {MG_TEST_FIXTURES "/oom_rules.lua"};

/* Renders (and gzips); with want, 1 when the text holds every string in it. */
static int scrape(struct mg_gateway *gw, enum mg_format f, int gz,
                  const char *const *want)
{
    struct mg_buf out = {0}, z = {0};
    int ok = mg_gateway_render(gw, f, &out) == 0;
    if (ok && gz)
        mg_gzip(&out, &z);
    for (; ok && want && *want; want++)
        ok = memmem(out.p, out.len, *want, strlen(*want)) != NULL;
    mg_buf_fini(&out);
    mg_buf_fini(&z);
    return ok;
}

/* What the scenario shows when nothing fails: every stage ran. */
static const char *const shaped[] = {
    "requests_total{job=\"api\",path=\"__overflow__\",status=\"2xx\"}",
    "latency_seconds_bucket{job=\"api\",le=\"0.1\"}",
    "job:requests:sum{job=\"api\"}",
    "ALERTS{alertname=\"ManyRequests\",alertstate=\"firing\"",
    NULL};

/* Everything a gateway does, with whatever fails failing. Returns 1 when
 * every stage showed in the scrape. */
static int life(struct mg_gateway *gw)
{
    char why[256];
    int ok = mg_gateway_load(gw, scripts, 1, rules, 1, why, sizeof(why)) == 0;
    push(gw, 12, 1);
    push(gw, 12, 2);            /* known series */
    mg_gateway_advance(gw, 16); /* a rule tick */
    push(gw, 14, 3);            /* two new ones */
    ok &= mg_gateway_load(gw, scripts, 1, rules, 1, why, sizeof(why)) == 0;
    mg_gateway_advance(gw, 15); /* a tick over the reloaded rules */
    struct mg_explain ex[2];
    size_t n;
    mg_gateway_explain(gw, "requests_total{status=\"2xx\"}", 27, ex, 2, &n, why,
                       sizeof(why));
    ok &= scrape(gw, MG_FORMAT_TEXT, 1, shaped);
    scrape(gw, MG_FORMAT_OPENMETRICS, 0, NULL);
    mg_gateway_advance(gw, 200); /* every series expires */
    scrape(gw, MG_FORMAT_TEXT, 0, NULL);
    return ok;
}

/* After the step: the gateway still takes a push and shows it. */
static int still_serves(struct mg_gateway *gw)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "metrics");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    pack_str(&pk, "name");
    pack_str(&pk, "after_the_step");
    pack_str(&pk, "value");
    msgpack_pack_double(&pk, 42);
    struct mg_push_result res;
    mg_push_result_reset(&res);
    mg_gateway_push_body(gw, sb.data, sb.size, MG_TRANSPORT_TCP, NULL, &res);
    msgpack_sbuffer_destroy(&sb);
    struct mg_buf out = {0};
    int ok = mg_gateway_render(gw, MG_FORMAT_TEXT, &out) == 0 &&
             memmem(out.p, out.len, "after_the_step 42\n", 18) != NULL;
    mg_buf_fini(&out);
    return ok;
}

/* One step: 1 when allocation n was refused (so there may be more). */
static int step(long n)
{
    struct mg_config cfg;
    mg_config_init(&cfg);
    cfg.rule_interval = 15;
    long before = live;
    count = 0;
    failed = 0;
    fail_at = n;
    char why[256];
    struct mg_gateway *gw = mg_gateway_new(&cfg, 1, 1700000000000, why, sizeof(why));
    int whole = gw && life(gw);
    fail_at = -1;
    CHECK(n >= 0 || whole, "with nothing refused, a stage did not show in the scrape");
    int refused = failed;
    if (gw) {
        CHECK(still_serves(gw), "allocation %ld refused: the gateway stopped serving", n);
        mg_gateway_free(gw);
    } else {
        CHECK(why[0] != '\0', "allocation %ld refused: no gateway and no reason", n);
    }
    mg_config_fini(&cfg);
    CHECK(live == before, "allocation %ld refused: %ld blocks leaked", n, live - before);
    return refused;
}

int main(void)
{
    mg_log_set_level((enum mg_log_level)(MG_LOG_ERROR + 1)); /* the steps log every refusal */
    step(-1); /* warm-up: what libc keeps for good is allocated here */
    long n = 0;
    while (step(n) && failures < 20)
        n++;
    printf("test_oom_steps: %ld allocations stepped, %d failures\n", n, failures);
    return failures != 0;
}
