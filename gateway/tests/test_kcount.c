/* test_kcount: the counts a cap keeps by key: keys come at their first
 * count and go at zero, deletion keeps every other key findable, the walk
 * sees each key once, and a failed allocation changes nothing. */
#include <stdio.h>
#include <string.h>

#include "mg_alloc.h"
#include "mg_kcount.h"
#include "mg_test.h"

static size_t key(char *buf, size_t n, unsigned i)
{
    return (size_t)snprintf(buf, n, "%u", i);
}

static void test_add_remove_walk(void)
{
    struct mg_kcount k;
    mg_kcount_init(&k);
    char b[16];
    for (unsigned i = 0; i < 20000; i++) {
        size_t n = key(b, sizeof(b), i);
        CHECK(mg_kcount_add(&k, b, n, 1) == 0);
        if (i % 3 == 0)
            CHECK(mg_kcount_add(&k, b, n, 1) == 0);
    }
    CHECK(k.n == 20000);
    /* drop every odd key once: those counted once go */
    for (unsigned i = 1; i < 20000; i += 2) {
        size_t n = key(b, sizeof(b), i);
        CHECK(mg_kcount_add(&k, b, n, -1) == 0);
    }
    size_t live = 0, bad = 0;
    for (unsigned i = 0; i < 20000; i++) {
        size_t n = key(b, sizeof(b), i);
        const struct mg_kcount_entry *e = mg_kcount_find(&k, b, n);
        uint32_t want = (i % 3 == 0 ? 2 : 1) - (i % 2);
        if (want ? !e || e->count != want : e != NULL)
            bad++;
        live += want != 0;
    }
    CHECK(bad == 0, "%zu keys wrong after deletions", bad);
    CHECK(k.n == live);
    size_t pos = 0, seen = 0;
    while (mg_kcount_next(&k, &pos))
        seen++;
    CHECK(seen == live);
    /* a -1 for an absent key does nothing */
    CHECK(mg_kcount_add(&k, "absent", 6, -1) == 0 && k.n == live);
    mg_kcount_fini(&k);
}

static void test_allocation_failure(void)
{
    for (long step = 0; step < 8; step++) {
        struct mg_kcount k;
        mg_kcount_init(&k);
        char b[16];
        size_t added = 0;
        mg_alloc_fail_after(step);
        for (unsigned i = 0; i < 100; i++) {
            size_t n = key(b, sizeof(b), i);
            if (mg_kcount_add(&k, b, n, 1) == 0)
                added++;
            else
                CHECK(!mg_kcount_find(&k, b, n), "a refused key is absent");
        }
        mg_alloc_fail_after(-1);
        CHECK(k.n == added);
        mg_kcount_fini(&k);
    }
}

int main(void)
{
    test_add_remove_walk();
    test_allocation_failure();
    return mg_test_summary("test_kcount");
}
