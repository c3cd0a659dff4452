/* test_rw_encode: the hand-written remote write encoder. Known byte vectors
 * for one series and one metadata entry; then a store with a counter, a
 * histogram, a summary and an own gauge encoded whole and decoded back with
 * code protoc-c generates from Prometheus's message definitions: every
 * sample present, labels sorted, __name__ right, external labels merged
 * without overriding, relabel applied. Prints the encoding rate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>
#include <snappy-c.h>

#include "mg_relabel.h"
#include "mg_rw_encode.h"
#include "mg_store.h"
#include "remote_write.pb-c.h"

static int failures;
#define CHECK(c)                                                           \
    do {                                                                   \
        if (!(c)) {                                                        \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);        \
            failures++;                                                    \
        }                                                                  \
    } while (0)

#define L(n, v) {n, v, sizeof(n) - 1, sizeof(v) - 1}

static void test_series_vector(void)
{
    struct mg_buf b = {0};
    struct mg_label l[] = {L("__name__", "up"), L("job", "a")};
    CHECK(mg_rw_add_series(&b, l, 2, 1.0, 1000) == 0);
    static const unsigned char want[] = {
        0x0a, 0x28,                                     /* timeseries, 40 */
        0x0a, 0x0e,                                     /* label, 14 */
        0x0a, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_',
        0x12, 0x02, 'u', 'p',
        0x0a, 0x08,                                     /* label, 8 */
        0x0a, 0x03, 'j', 'o', 'b', 0x12, 0x01, 'a',
        0x12, 0x0c,                                     /* sample, 12 */
        0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,             /* 1.0 */
        0x10, 0xe8, 0x07};                              /* 1000 */
    CHECK(b.len == sizeof(want));
    CHECK(b.len == sizeof(want) && memcmp(b.p, want, b.len) == 0);
    mg_buf_fini(&b);
}

static void test_metadata_vector(void)
{
    struct mg_buf b = {0};
    CHECK(mg_rw_add_metadata(&b, MG_RW_COUNTER, "x_total", 7, "X.", 2, NULL, 0) == 0);
    static const unsigned char want[] = {
        0x1a, 0x0f, 0x08, 0x01, 0x12, 0x07, 'x', '_', 't', 'o', 't', 'a', 'l',
        0x22, 0x02, 'X', '.'};
    CHECK(b.len == sizeof(want) && memcmp(b.p, want, b.len) == 0);
    mg_buf_reset(&b);
    /* UNKNOWN is proto3's default: no type field */
    CHECK(mg_rw_add_metadata(&b, MG_RW_UNKNOWN, "u", 1, NULL, 0, "s", 1) == 0);
    static const unsigned char want2[] = {0x1a, 0x06, 0x12, 0x01, 'u', 0x2a, 0x01, 's'};
    CHECK(b.len == sizeof(want2) && memcmp(b.p, want2, b.len) == 0);
    mg_buf_fini(&b);
}

static void add(struct mg_store *st, const char *name, enum mg_type t,
                struct mg_label *l, size_t n, double v, size_t nb,
                const double *bound, const double *bval)
{
    struct mg_sample s = {.name = name, .nlen = (uint32_t)strlen(name), .type = t,
                          .labels = l, .nlabels = n, .value = v, .sum = 10,
                          .count = 4, .nb = nb, .bound = bound, .bval = bval};
    char why[MG_WHY_LEN];
    uint64_t h = mg_store_input_hash(s.name, s.nlen, l, n);
    struct mg_route r = {.name = name, .nlen = s.nlen, .labels = l, .nlabels = n,
                         .scale = 1, .ttl_ms = -1};
    CHECK(mg_store_input_add(st, &s, h, &r, 1000, why) == MG_OK);
}

static const char *label(const Prometheus__TimeSeries *ts, const char *name)
{
    for (size_t i = 0; i < ts->n_labels; i++)
        if (strcmp(ts->labels[i]->name, name) == 0)
            return ts->labels[i]->value;
    return NULL;
}

static const Prometheus__TimeSeries *find(const Prometheus__WriteRequest *wr,
                                          const char *name, const char *k,
                                          const char *v)
{
    for (size_t i = 0; i < wr->n_timeseries; i++) {
        const Prometheus__TimeSeries *ts = wr->timeseries[i];
        const char *n = label(ts, "__name__");
        if (n && strcmp(n, name) == 0 && (!k || (label(ts, k) && strcmp(label(ts, k), v) == 0)))
            return ts;
    }
    return NULL;
}

static struct mg_store *fixture(void)
{
    struct mg_store *st = mg_store_new();
    struct mg_label c[] = {L("Zone", "eu"), L("job", "api"), L("region", "x")};
    add(st, "req_total", MG_COUNTER, c, 3, 7, 0, NULL, NULL);
    double hb[] = {0.1, 1, INFINITY}, hv[] = {1, 3, 4};
    struct mg_label h[] = {L("job", "api")};
    add(st, "lat_seconds", MG_HISTOGRAM, h, 1, 0, 3, hb, hv);
    double qb[] = {0.5, 0.99}, qv[] = {0.2, 0.9};
    add(st, "rpc_seconds", MG_SUMMARY, h, 1, 0, 2, qb, qv);
    struct mg_label g[] = {L("url", "u")};
    CHECK(mg_store_own_set(st, "own_gauge", MG_GAUGE, "Own.", g, 1, 5) == 0);
    return st;
}

static Prometheus__WriteRequest *encode_all(struct mg_store *st,
                                            const struct mg_rw_view *view,
                                            long *samples)
{
    struct mg_buf b = {0};
    struct mg_rw_scratch s;
    mg_rw_scratch_init(&s);
    *samples = 0;
    for (uint32_t i = 0; i < mg_store_output_capacity(st); i++)
        if (mg_store_output_at(st, i))
            *samples += mg_rw_encode_output(st, i, view, 123456, &s, &b);
    Prometheus__WriteRequest *wr =
        prometheus__write_request__unpack(NULL, b.len, (const uint8_t *)b.p);
    mg_rw_scratch_fini(&s);
    mg_buf_fini(&b);
    return wr;
}

static void test_store_decoded(void)
{
    struct mg_store *st = fixture();
    struct mg_label ext[] = {L("gateway_shard", "a"), L("job", "ext")};
    struct mg_rw_view view = {ext, 2, NULL};
    long samples;
    Prometheus__WriteRequest *wr = encode_all(st, &view, &samples);
    CHECK(wr != NULL);
    if (!wr)
        return;
    /* 1 counter + 3 buckets + sum + count + 2 quantiles + sum + count + 1 */
    CHECK(samples == 11);
    CHECK(wr->n_timeseries == 11);
    for (size_t i = 0; i < wr->n_timeseries; i++) {
        const Prometheus__TimeSeries *ts = wr->timeseries[i];
        CHECK(ts->n_samples == 1 && ts->samples[0]->timestamp == 123456);
        for (size_t k = 1; k < ts->n_labels; k++)
            CHECK(strcmp(ts->labels[k - 1]->name, ts->labels[k]->name) < 0);
        CHECK(strcmp(label(ts, "gateway_shard"), "a") == 0);
    }
    const Prometheus__TimeSeries *c = find(wr, "req_total", NULL, NULL);
    CHECK(c && c->samples[0]->value == 7);
    /* "Zone" sorts before "__name__"; the series' job wins over external */
    CHECK(c && strcmp(c->labels[0]->name, "Zone") == 0 &&
          strcmp(c->labels[1]->name, "__name__") == 0);
    CHECK(c && strcmp(label(c, "job"), "api") == 0);
    const Prometheus__TimeSeries *b = find(wr, "lat_seconds_bucket", "le", "+Inf");
    CHECK(b && b->samples[0]->value == 4);
    b = find(wr, "lat_seconds_bucket", "le", "0.1");
    CHECK(b && b->samples[0]->value == 1);
    CHECK(find(wr, "lat_seconds_sum", NULL, NULL) &&
          find(wr, "lat_seconds_sum", NULL, NULL)->samples[0]->value == 10);
    CHECK(find(wr, "lat_seconds_count", NULL, NULL));
    const Prometheus__TimeSeries *q = find(wr, "rpc_seconds", "quantile", "0.99");
    CHECK(q && fabs(q->samples[0]->value - 0.9) < 1e-12);
    CHECK(find(wr, "rpc_seconds_count", NULL, NULL));
    const Prometheus__TimeSeries *g = find(wr, "own_gauge", NULL, NULL);
    CHECK(g && g->samples[0]->value == 5 && strcmp(label(g, "job"), "ext") == 0);
    prometheus__write_request__free_unpacked(wr, NULL);
    mg_store_free(st);
}

static void test_relabel(void)
{
    struct mg_store *st = fixture();
    lua_State *Ls = luaL_newstate();
    luaL_dostring(Ls, "return { { source_labels = {'__name__'}, regex = 'lat_.*',"
                      " action = 'drop' }, { target_label = 'env', replacement = 'prod' } }");
    struct mg_relabel *rl = NULL;
    char why[256];
    CHECK(mg_relabel_compile(Ls, -1, &rl, why, sizeof(why)) == 0);
    struct mg_rw_view view = {NULL, 0, rl};
    long samples;
    Prometheus__WriteRequest *wr = encode_all(st, &view, &samples);
    CHECK(wr && samples == 6 && wr->n_timeseries == 6);
    CHECK(wr && !find(wr, "lat_seconds_bucket", NULL, NULL));
    const Prometheus__TimeSeries *c = wr ? find(wr, "req_total", NULL, NULL) : NULL;
    CHECK(c && strcmp(label(c, "env"), "prod") == 0);
    for (size_t i = 0; wr && i < wr->n_timeseries; i++)
        for (size_t k = 1; k < wr->timeseries[i]->n_labels; k++)
            CHECK(strcmp(wr->timeseries[i]->labels[k - 1]->name,
                         wr->timeseries[i]->labels[k]->name) < 0);
    if (wr)
        prometheus__write_request__free_unpacked(wr, NULL);
    mg_relabel_free(rl);
    lua_close(Ls);
    mg_store_free(st);
}

/* The rate a pass encodes at: 200k counters with four labels and two
 * external labels, timed; a figure, not a pass/fail bound (shared CI). */
static void rate(void)
{
    struct mg_store *st = mg_store_new();
    char v[32];
    size_t n = 200000;
    for (size_t i = 0; i < n; i++) {
        snprintf(v, sizeof(v), "%zu", i);
        struct mg_label l[] = {L("instance", "10.0.0.1:9100"), L("job", "node"),
                               L("mode", "idle"), {"series", v, 6, (uint32_t)strlen(v)}};
        add(st, "node_cpu_seconds_total", MG_COUNTER, l, 4, (double)i, 0, NULL, NULL);
    }
    struct mg_label ext[] = {L("gateway_shard", "a"), L("region", "eu")};
    struct mg_rw_view view = {ext, 2, NULL};
    struct mg_buf b = {0};
    struct mg_rw_scratch s;
    mg_rw_scratch_init(&s);
    struct timespec t0, t1;
    for (int round = 0; round < 2; round++) { /* the first grows the buffer */
        mg_buf_reset(&b);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (uint32_t i = 0; i < mg_store_output_capacity(st); i++)
            if (mg_store_output_at(st, i))
                mg_rw_encode_output(st, i, &view, 1, &s, &b);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    }
    double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* snappy over batches of 2000 samples, as the sender compresses them */
    size_t clen = 0, per = (size_t)b.len / n * 2000, cap = snappy_max_compressed_length(per * 2);
    char *c = malloc(cap);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t off = 0; c && off < b.len; off += per) {
        size_t len = b.len - off < per ? b.len - off : per, out = cap;
        if (snappy_compress(b.p + off, len, c, &out) == SNAPPY_OK)
            clen += out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(c);
    double zsec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("test_rw_encode: %zu samples encoded in %.1f ms (%.2fM samples/s, %.0f bytes each), "
           "snappy in %.1f ms (%.2fM samples/s, %.1f bytes each)\n",
           n, sec * 1e3, (double)n / sec / 1e6, (double)b.len / (double)n, zsec * 1e3,
           (double)n / zsec / 1e6, (double)clen / (double)n);
    mg_rw_scratch_fini(&s);
    mg_buf_fini(&b);
    mg_store_free(st);
}

int main(void)
{
    test_series_vector();
    test_metadata_vector();
    test_store_decoded();
    test_relabel();
    rate();
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("test_rw_encode: ok\n");
    return 0;
}
