/* test_hash: the frozen hash gives what logs on disk were checked with,
 * and the table hash spreads short keys (the overlapping reads of the last
 * bytes) without collisions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_hash.h"
#include "mg_test.h"

static const char *const inputs[] = {"", "a", "job", "bench-0", "bench_metric",
                                     "a longer value of 23 b"};

/* Computed by the hash the first logs were written with: never change. */
static const uint64_t frozen[] = {0x8ad7c377e0e3133fULL, 0xec58ef326de80ae6ULL,
                                  0x26ad2f2aeded395fULL, 0x62d666ae535ce9a7ULL,
                                  0x43bf5a2ce15fe4e2ULL, 0x372a7b71d7c6c3abULL};

static void test_frozen_vectors(void)
{
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
        CHECK(mg_hash_frozen(inputs[i], strlen(inputs[i]), 0x616f66) == frozen[i]);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Distinct short keys of the benchmark's shapes (ids, shard values,
 * names of 1 to 12 bytes): no two share a 64-bit hash. */
static void test_short_keys_spread(void)
{
    enum { N = 60000 };
    static uint64_t h[N];
    char b[32];
    size_t n = 0;
    for (unsigned i = 0; i < N / 3; i++) {
        int l = snprintf(b, sizeof(b), "%u", i);
        h[n++] = mg_hash_bytes(b, (size_t)l, 1);
        l = snprintf(b, sizeof(b), "s%uz", i);
        h[n++] = mg_hash_bytes(b, (size_t)l, 1);
        l = snprintf(b, sizeof(b), "%0*u", (int)(6 + i % 7), i);
        h[n++] = mg_hash_bytes(b, (size_t)l, 1);
    }
    qsort(h, n, sizeof(h[0]), cmp_u64);
    size_t dup = 0;
    for (size_t i = 1; i < n; i++)
        dup += h[i] == h[i - 1];
    CHECK(dup == 0, "%zu collisions", dup);
    /* the same bytes at another address hash the same; a length apart not */
    char c[16] = "bench-0", d[16] = "xbench-0";
    CHECK(mg_hash_bytes(c, 7, 5) == mg_hash_bytes(d + 1, 7, 5));
    CHECK(mg_hash_bytes(c, 7, 5) != mg_hash_bytes(c, 6, 5));
}

int main(void)
{
    test_frozen_vectors();
    test_short_keys_spread();
    return mg_test_summary("test_hash");
}
