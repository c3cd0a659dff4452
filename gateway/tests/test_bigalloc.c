/* test_bigalloc: blocks below 2 MiB come from malloc, larger ones are
 * 2 MiB-aligned mappings marked for huge pages; both read as zero from
 * mg_big_calloc, keep their bytes across mg_big_realloc in either
 * direction, fault in at once through mg_big_populate, and fail cleanly
 * through the allocation seam. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mg_alloc.h"
#include "mg_bigalloc.h"
#include "mg_test.h"

#define MIB ((size_t)1 << 20)

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void fill(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + 3);
}

static int filled(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 7 + 3))
            return 0;
    return 1;
}

/* 1 when the mapping holding p carries MADV_HUGEPAGE ("hg" in VmFlags). */
static int advised_huge(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return 0;
    char line[512];
    int in = 0, hg = 0;
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            in = a >= lo && a < hi;
        else if (in && strncmp(line, "VmFlags:", 8) == 0)
            hg = strstr(line, " hg") != NULL;
    }
    fclose(f);
    return hg;
}

static void test_small_is_malloc(void)
{
    unsigned char *p = mg_big_calloc(1000, 8);
    CHECK(p && all_zero(p, 8000));
    CHECK(((uintptr_t)p & 15) == 0);
    fill(p, 8000);
    p = mg_big_realloc(p, 16000);
    CHECK(p && filled(p, 8000));
    p = mg_big_realloc(p, 100);
    CHECK(p && filled(p, 100));
    mg_big_free(p);
    mg_big_free(NULL);
}

static void test_large_is_huge_mapping(void)
{
    unsigned char *p = mg_big_calloc(5, MIB);
    CHECK(p && ((uintptr_t)p & (2 * MIB - 1)) == 0);
    CHECK(all_zero(p, 5 * MIB));
    CHECK(advised_huge(p));
    fill(p, 5 * MIB);
    mg_big_free(p);
}

static void test_realloc_across_the_threshold(void)
{
    unsigned char *p = mg_big_realloc(NULL, MIB);
    CHECK(p != NULL);
    fill(p, MIB);
    p = mg_big_realloc(p, 3 * MIB); /* malloc to mapping */
    CHECK(p && filled(p, MIB) && advised_huge(p));
    fill(p, 3 * MIB);
    unsigned char *q = mg_big_realloc(p, 3 * MIB - 4096); /* in place */
    CHECK(q == p && filled(q, 3 * MIB - 4096));
    p = mg_big_realloc(q, 9 * MIB); /* mapping to a larger one */
    CHECK(p && filled(p, 3 * MIB - 4096) && advised_huge(p + 8 * MIB));
    p = mg_big_realloc(p, 1000); /* back to malloc */
    CHECK(p && filled(p, 1000));
    mg_big_free(p);
}

static void test_failures(void)
{
    CHECK(mg_big_calloc(SIZE_MAX / 2, 4) == NULL);
    unsigned char *p = mg_big_calloc(1, 3 * MIB);
    CHECK(p != NULL);
    fill(p, 3 * MIB);
    mg_alloc_fail_after(0);
    CHECK(mg_big_calloc(1, 64) == NULL);
    CHECK(mg_big_calloc(1, 4 * MIB) == NULL);
    CHECK(mg_big_realloc(p, 8 * MIB) == NULL);
    mg_alloc_fail_after(-1);
    CHECK(filled(p, 3 * MIB)); /* untouched by the refusal */
    mg_big_free(p);
}

/* Pages of p resident now, by mincore. */
static size_t resident_pages(void *p, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), np = n / page, got = 0;
    unsigned char *vec = malloc(np);
    if (!vec || mincore(p, n, vec) != 0) {
        free(vec);
        return 0;
    }
    for (size_t i = 0; i < np; i++)
        got += vec[i] & 1;
    free(vec);
    return got;
}

/* A mapping's pages are not there until written; mg_big_populate faults
 * them all in at once (kernels without MADV_POPULATE_WRITE: skipped). */
static void test_populate(void)
{
#ifdef MADV_POPULATE_WRITE
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *p = mg_big_calloc(4, MIB);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK(resident_pages(p, 4 * MIB) < 4 * MIB / page);
    mg_big_populate(p, 4 * MIB);
    if (madvise(p, page, MADV_POPULATE_WRITE) == 0) /* the kernel has it */
        CHECK(resident_pages(p, 4 * MIB) == 4 * MIB / page);
    CHECK(all_zero(p, 4 * MIB));
    mg_big_free(p);
#endif
}

int main(void)
{
    test_small_is_malloc();
    test_populate();
    test_large_is_huge_mapping();
    test_realloc_across_the_threshold();
    test_failures();
    return mg_test_summary("test_bigalloc");
}
