/* fuzz_promql: libFuzzer over the PromQL parser and the load-time check:
 * any bytes either parse into an AST that frees cleanly or give a message;
 * an expression that parses is evaluated over a small store, so every
 * operator the parser accepts runs. Build with -DMG_FUZZ=ON (clang); ctest
 * replays the seed corpus through fuzz/mg_fuzz_replay.c without clang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_promql_eval.h"
#include "mg_promql_parse.h"
#include "mg_query.h"
#include "mg_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mg_store *st;
static struct mg_query *q;
static struct mg_pqe *pe;

static void put(const char *name, const char *job, double v, int64_t t)
{
    char why[256];
    struct mg_label l = {"job", job, 3, (uint32_t)strlen(job)};
    struct mg_sample s = {.name = name, .nlen = (uint32_t)strlen(name),
                          .type = MG_GAUGE, .value = v, .labels = &l,
                          .nlabels = 1};
    uint64_t h = mg_store_input_hash(s.name, s.nlen, s.labels, 1);
    struct mg_input *in = mg_store_input_find(st, &s, h);
    if (in) {
        mg_store_write(st, in, &s, t, why);
        return;
    }
    struct mg_route rt = {.name = s.name, .nlen = s.nlen, .labels = s.labels,
                          .nlabels = 1, .scale = 1, .ttl_ms = -1,
                          .agg = MG_AGG_SUM};
    mg_store_input_add(st, &s, h, &rt, t, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int64_t now = 1700000000000LL;
    if (!st) {
        st = mg_store_new();
        q = mg_query_new(16);
        pe = mg_pqe_new();
        if (!st || !q || !pe)
            abort();
    }
    char why[512];
    struct mg_pq *pq;
    if (mg_pq_parse((const char *)data, size, &pq, why, sizeof(why)) == 0)
        mg_pq_free(pq);
    mg_pqe_check_source((const char *)data, size, "fuzz", why, sizeof(why));
    now += 15000;
    put("x", "a", (double)(now % 97), now);
    put("x", "b", (double)(now % 89), now);
    put("y", "a", 1, now);
    mg_query_tick(q, st, now);
    int err;
    const struct mg_pq *c = mg_pqe_get(pe, (const char *)data, size, &err, why,
                                       sizeof(why));
    if (c) {
        struct mg_pqe_value v;
        uint64_t work;
        mg_pqe_eval(pe, q, st, c, now, &v, &work, why, sizeof(why));
    }
    return 0;
}
