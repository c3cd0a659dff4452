/* test_alloc: out-of-memory stepped through store inserts and rule
 * evaluation with the mg_alloc seam. Allocation n and every later one
 * fail, for each n until a run completes: no crash, no leak under ASan,
 * every refused insert says why, and the store frees cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_alloc.h"
#include "mg_series.h"

static int failures;
#define CHECK(c)                                                           \
    do {                                                                   \
        if (!(c)) {                                                        \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);        \
            failures++;                                                    \
        }                                                                  \
    } while (0)

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

int main(void)
{
    test_store_inserts();
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
