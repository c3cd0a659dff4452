/* test_alloc: out-of-memory stepped through store inserts and rule
 * evaluation with the mg_alloc seam. Allocation n and every later one
 * fail, for each n until a run completes: no crash, no leak under ASan,
 * every refused insert says why, and the store frees cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mg_alloc.h"
#include "mg_config.h"
#include "mg_gateway.h"
#include "mg_log.h"
#include "mg_rules.h"
#include "mg_store.h"
#include "mg_test.h"


#define SERIES 1100 /* past the first growth of the pools and indexes */

/* Inserts SERIES gauges (a histogram every 7th, a new output each) with
 * the seam set to n. Returns how many were refused. */
static unsigned run(long n, int *clean)
{
    struct mg_store *st = mg_store_new();
    CHECK(st != NULL);
    unsigned refused = 0, accepted = 0;
    mg_alloc_fail_after(n);
    for (unsigned i = 0; i < SERIES; i++) {
        char v[16];
        int vl = snprintf(v, sizeof(v), "%u", i);
        struct mg_label l = {"id", v, 2, (uint32_t)vl};
        double bound[2] = {1, 2};
        int hist = i % 7 == 0;
        const char *name = hist ? "h" : "g";
        struct mg_sample s = {.name = name, .nlen = 1,
                              .type = hist ? MG_HISTOGRAM : MG_GAUGE,
                              .labels = &l, .nlabels = 1, .value = 1,
                              .bound = bound, .bval = bound, .nb = 2,
                              .sum = 3, .count = 2};
        struct mg_route r = {.name = name, .nlen = 1, .labels = &l,
                             .nlabels = 1, .scale = 1, .ttl_ms = -1};
        char why[MG_WHY_LEN];
        memset(why, 0, sizeof(why));
        uint64_t h = mg_store_input_hash(name, 1, &l, 1);
        enum mg_reason rs = mg_store_input_add(st, &s, h, &r, 0, why);
        if (rs == MG_OK) {
            accepted++;
        } else {
            refused++;
            CHECK(rs == MG_REASON_LIMIT);
            CHECK(strcmp(why, "out of memory") == 0);
        }
    }
    *clean = mg_alloc_failures() == 0;
    mg_alloc_fail_after(-1);
    CHECK(mg_store_input_count(st) == accepted);
    /* a sweep and the free walk every slot: a refused one must not read
     * as live */
    CHECK(mg_store_sweep(st, 1000000000) == 0);
    mg_store_free(st);
    return refused;
}

static void test_store_inserts(void)
{
    int clean = 0;
    long n;
    for (n = 0; n < 100000 && !clean; n++) {
        unsigned refused = run(n, &clean);
        CHECK(clean ? refused == 0 : refused > 0);
    }
    CHECK(clean);
    fprintf(stderr, "store: stepped %ld failing allocations\n", n);
}

#define ALERTS 40
static const char rule_src[] =
    "alert \"Many\" {\n"
    "  expr = function(q)\n"
    "    local out = {}\n"
    "    for i = 1, 40 do out[i] = { labels = { i = tostring(i) }, value = i } end\n"
    "    return out\n"
    "  end,\n"
    "  labels = { severity = \"page\" },\n"
    "  annotations = { summary = \"{{ $labels.i }} at {{ $value }}\" },\n"
    "}\n";

/* Every alert kept is whole: its labels there, its annotations named. */
static size_t alerts_whole(const struct mg_gateway *gw)
{
    const struct mg_rules *r = mg_gateway_rules(gw);
    size_t n = mg_rules_alert_count(r);
    for (size_t i = 0; i < n; i++) {
        const struct mg_alert *a = mg_rules_alert_at(r, i);
        CHECK(a->labels != NULL && a->nlabels == 3);
        for (size_t k = 0; a->labels && k < a->nlabels; k++)
            CHECK(a->labels[k].name && a->labels[k].value);
        for (size_t k = 0; k < a->nannotations; k++)
            CHECK(a->annotations[k].name && a->annotations[k].value);
    }
    return n;
}

/* Two rule ticks with the seam set to n (the second sees the first's
 * alerts), then one without: every alert is there. */
static int rules_run(const char *path, long n)
{
    struct mg_config cfg;
    mg_config_init(&cfg);
    char why[256];
    struct mg_gateway *gw = mg_gateway_new(&cfg, 1, 1000000, why, sizeof(why));
    CHECK(gw != NULL);
    const char *rules[] = {path};
    CHECK(mg_gateway_load(gw, NULL, 0, rules, 1, why, sizeof(why)) == 0);
    mg_alloc_fail_after(n);
    mg_gateway_rule_tick(gw);
    alerts_whole(gw);
    mg_gateway_rule_tick(gw);
    alerts_whole(gw);
    int clean = mg_alloc_failures() == 0;
    mg_alloc_fail_after(-1);
    if (!clean) {
        /* the failure is reported: counted under the rule's name */
        const struct mg_stats_map *m = &mg_gateway_stats(gw)->rule_failures;
        CHECK(m->n == 1 && strcmp(m->key[0], "Many") == 0);
    }
    mg_gateway_rule_tick(gw);
    CHECK(alerts_whole(gw) == ALERTS);
    mg_gateway_free(gw);
    mg_config_fini(&cfg);
    return clean;
}

static void test_rules_eval(void)
{
    char path[] = "/tmp/test_alloc_XXXXXX.lua";
    int fd = mkstemps(path, 4);
    CHECK(fd >= 0);
    CHECK(write(fd, rule_src, sizeof(rule_src) - 1) == (ssize_t)sizeof(rule_src) - 1);
    close(fd);
    long n;
    int clean = 0;
    for (n = 0; n < 100000 && !clean; n++)
        clean = rules_run(path, n);
    CHECK(clean);
    fprintf(stderr, "rules: stepped %ld failing allocations\n", n);
    unlink(path);
}

int main(void)
{
    mg_log_set_level(MG_LOG_ERROR); /* each failed tick warns */
    test_store_inserts();
    test_rules_eval();
    return mg_test_summary("test_alloc");
}
