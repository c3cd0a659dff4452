/* test_lintern: label values that repeat are interned once for the
 * process and named by id in each set; a name with too many values keeps
 * the rest inline; every reference goes with the last set that held it,
 * so the tables come back empty (no bytes left) once the series expire;
 * the lookup caches never answer for a name or value that went; a failed
 * allocation part-way leaves nothing held. */
#include <stdio.h>
#include <string.h>

#include "mg_alloc.h"
#include "mg_labels.h"
#include "mg_lintern.h"
#include "mg_slab.h"
#include "mg_test.h"

#define N 5000

/* Series i of the loader's shape: id (unique), job (one value), zone (16). */
static size_t labels_of(unsigned i, char *id, char *zone, struct mg_label *v)
{
    int il = snprintf(id, 16, "%u", i), zl = snprintf(zone, 16, "z%u", i % 16);
    v[0] = (struct mg_label){"id", id, 2, (uint32_t)il};
    v[1] = (struct mg_label){"job", "bench", 3, 5};
    v[2] = (struct mg_label){"zone", zone, 4, (uint32_t)zl};
    return 3;
}

static void test_values_shared_and_returned(void)
{
    static struct mg_labelset *ls[N];
    struct mg_slab slab;
    mg_slab_init(&slab);
    struct mg_lintern_stats st;
    mg_lintern_stats(&st);
    CHECK(st.names == 0 && st.pairs == 0 && st.bytes == 0, "empty at start");
    for (unsigned i = 0; i < N; i++) {
        char id[16], zone[16];
        struct mg_label v[3];
        size_t n = labels_of(i, id, zone, v);
        ls[i] = mg_labelset_new_src(&slab, v, n, i, i & 1 ? 4 : 0);
        CHECK(ls[i] != NULL);
    }
    mg_lintern_stats(&st);
    CHECK(st.names == 3, "3 names, not %u", st.names);
    /* job's one value, zone's 16, and the first ids up to the bound */
    CHECK(st.pairs == 1 + 16 + MG_LINTERN_VALUES_MAX, "%u pairs", st.pairs);
    size_t bad = 0;
    for (unsigned i = 0; i < N; i++) {
        char id[16], zone[16];
        struct mg_label v[3], got[3];
        size_t n = labels_of(i, id, zone, v);
        if (!ls[i])
            continue;
        bad += !mg_labelset_equal(ls[i], v, n);
        bad += mg_labelset_unpack(ls[i], got) != 3 || got[0].vlen != v[0].vlen ||
               memcmp(got[0].value, id, got[0].vlen) != 0 ||
               got[2].vlen != v[2].vlen || memcmp(got[2].value, zone, got[2].vlen) != 0;
        bad += mg_labelset_srcmask(ls[i]) != (i & 1 ? 4u : 0u);
        v[1].value = "other";
        bad += mg_labelset_equal(ls[i], v, n);
    }
    CHECK(bad == 0, "%zu sets read back wrong", bad);
    /* one job value for every set: the bytes point at one copy */
    struct mg_label a[3], b[3];
    if (ls[0] && ls[N - 1]) {
        mg_labelset_unpack(ls[0], a);
        mg_labelset_unpack(ls[N - 1], b);
        CHECK(a[1].value == b[1].value, "one copy of job=\"bench\"");
    }
    for (unsigned i = 0; i < N; i += 2)
        mg_labelset_unref(&slab, ls[i]);
    mg_lintern_stats(&st);
    CHECK(st.pairs > 0 && st.pairs < 1 + 16 + MG_LINTERN_VALUES_MAX,
          "expired ids' pairs go: %u", st.pairs);
    for (unsigned i = 1; i < N; i += 2)
        mg_labelset_unref(&slab, ls[i]);
    mg_lintern_stats(&st);
    CHECK(st.names == 0 && st.pairs == 0 && st.bytes == 0,
          "every series gone: %u names, %u pairs, %llu bytes left", st.names,
          st.pairs, (unsigned long long)st.bytes);
    mg_slab_fini(&slab);
}

/* A name's bound counts live pairs: once its interned values go, new
 * values are interned again. */
static void test_bound_frees_up(void)
{
    static struct mg_labelset *ls[MG_LINTERN_VALUES_MAX + 1];
    char id[16];
    for (unsigned i = 0; i <= MG_LINTERN_VALUES_MAX; i++) {
        struct mg_label v = {"id", id, 2, (uint32_t)snprintf(id, sizeof(id), "%u", i)};
        ls[i] = mg_labelset_new(&v, 1, i);
    }
    struct mg_lintern_stats st;
    mg_lintern_stats(&st);
    CHECK(st.pairs == MG_LINTERN_VALUES_MAX);
    for (unsigned i = 0; i < MG_LINTERN_VALUES_MAX; i++)
        mg_labelset_unref(NULL, ls[i]);
    struct mg_label v = {"id", "again", 2, 5};
    struct mg_labelset *again = mg_labelset_new(&v, 1, 0);
    mg_lintern_stats(&st);
    CHECK(again && st.pairs == 1, "interned again: %u pairs", st.pairs);
    CHECK(again && mg_labelset_equal(again, &v, 1));
    mg_labelset_unref(NULL, again);
    mg_labelset_unref(NULL, ls[MG_LINTERN_VALUES_MAX]);
    mg_lintern_stats(&st);
    CHECK(st.names == 0 && st.pairs == 0 && st.bytes == 0);
}

/* A freed id given to another name or value: the caches must check. */
static void test_reused_ids(void)
{
    struct mg_label keep = {"keep", "k", 4, 1};
    struct mg_labelset *hold = mg_labelset_new(&keep, 1, 0);
    const char *names[] = {"x1", "y1", "x1", "z1", "y1"};
    const char *values[] = {"v1", "w1", "v1", "v2", "w1"};
    for (size_t i = 0; i < 5; i++) {
        struct mg_label l = {names[i], values[i], 2, 2};
        struct mg_labelset *ls = mg_labelset_new(&l, 1, i);
        struct mg_label got;
        CHECK(ls && mg_labelset_unpack(ls, &got) == 1 && got.nlen == 2 &&
                  memcmp(got.name, names[i], 2) == 0 && got.vlen == 2 &&
                  memcmp(got.value, values[i], 2) == 0,
              "set %zu reads back %s=%s", i, names[i], values[i]);
        mg_labelset_unref(NULL, ls);
    }
    /* the same name with values coming and going */
    for (unsigned i = 0; i < 50; i++) {
        char v[8];
        struct mg_label l = {"keep", v, 4, (uint32_t)snprintf(v, sizeof(v), "n%u", i % 7)};
        struct mg_labelset *ls = mg_labelset_new(&l, 1, i);
        CHECK(ls && mg_labelset_equal(ls, &l, 1));
        mg_labelset_unref(NULL, ls);
    }
    mg_labelset_unref(NULL, hold);
    struct mg_lintern_stats st;
    mg_lintern_stats(&st);
    CHECK(st.names == 0 && st.pairs == 0 && st.bytes == 0);
}

static void test_allocation_failure(void)
{
    struct mg_label held = {"job", "kept", 3, 4};
    struct mg_labelset *keep = mg_labelset_new(&held, 1, 0);
    struct mg_lintern_stats before, after;
    mg_lintern_stats(&before);
    for (long k = 0; k < 12; k++) {
        struct mg_label c[3] = {{"fresh", "1", 5, 1}, {"job", "kept", 3, 4},
                                {"new", "2", 3, 1}};
        mg_alloc_fail_after(k);
        struct mg_labelset *lc = mg_labelset_new(c, 3, 3);
        mg_alloc_fail_after(-1);
        if (lc) {
            CHECK(mg_labelset_equal(lc, c, 3));
            mg_labelset_unref(NULL, lc);
        }
        mg_lintern_stats(&after);
        CHECK(after.names == before.names && after.pairs == before.pairs,
              "step %ld: %u names, %u pairs held", k, after.names, after.pairs);
    }
    CHECK(keep && mg_labelset_equal(keep, &held, 1));
    mg_labelset_unref(NULL, keep);
}

/* A set made like another takes its ids for the very same strings: it
 * reads back equal, carries no source marks, holds its own references (the
 * tables empty only when both sets go), and a failure holds nothing. */
static void test_like_shares_ids(void)
{
    /* past the bound, so one id is kept inline */
    static struct mg_labelset *fill[MG_LINTERN_VALUES_MAX];
    char id[16];
    for (unsigned i = 0; i < MG_LINTERN_VALUES_MAX; i++) {
        struct mg_label v = {"id", id, 2, (uint32_t)snprintf(id, sizeof(id), "f%u", i)};
        fill[i] = mg_labelset_new(&v, 1, i);
    }
    char inl[] = "inline-id";
    struct mg_label in[3] = {{"id", inl, 2, 9}, {"job", "bench", 3, 5},
                             {"zone", "z1", 4, 2}};
    struct mg_labelset *ls_in = mg_labelset_new_src(NULL, in, 3, 1, 7);
    char zone2[] = "z1"; /* the same bytes, another string: looked up */
    struct mg_label out[4] = {in[0], in[1], {"origin", "o", 6, 1},
                              {"zone", zone2, 4, 2}};
    struct mg_labelset *ls_out = mg_labelset_new_like(NULL, out, 4, 2, ls_in, in);
    CHECK(ls_in && ls_out && mg_labelset_equal(ls_out, out, 4));
    CHECK(ls_out && mg_labelset_srcmask(ls_out) == 0, "no source marks");
    for (long k = 0; ls_in && k < 8; k++) {
        struct mg_lintern_stats before, after;
        mg_lintern_stats(&before);
        mg_alloc_fail_after(k);
        struct mg_labelset *ls = mg_labelset_new_like(NULL, out, 4, 2, ls_in, in);
        mg_alloc_fail_after(-1);
        mg_labelset_unref(NULL, ls);
        mg_lintern_stats(&after);
        CHECK(after.names == before.names && after.pairs == before.pairs,
              "step %ld: %u names, %u pairs held", k, after.names, after.pairs);
    }
    for (unsigned i = 0; i < MG_LINTERN_VALUES_MAX; i++)
        mg_labelset_unref(NULL, fill[i]);
    mg_labelset_unref(NULL, ls_in);
    CHECK(ls_out && mg_labelset_equal(ls_out, out, 4), "outlives the set it shared");
    struct mg_lintern_stats st;
    mg_lintern_stats(&st);
    CHECK(st.names == 4 && st.pairs == 3, "%u names, %u pairs", st.names, st.pairs);
    mg_labelset_unref(NULL, ls_out);
    mg_lintern_stats(&st);
    CHECK(st.names == 0 && st.pairs == 0 && st.bytes == 0);
}

/* mg_labelset_get finds each label, interned or inline, and no other. */
static void test_get_one_value(void)
{
    static struct mg_labelset *ls[MG_LINTERN_VALUES_MAX + 100];
    char id[16], zone[16];
    struct mg_label v[3], l;
    /* past MG_LINTERN_VALUES_MAX values of id, its values are kept inline */
    for (unsigned i = 0; i < MG_LINTERN_VALUES_MAX + 100; i++) {
        labels_of(i, id, zone, v);
        ls[i] = mg_labelset_new(v, 3, i);
        CHECK(ls[i]);
    }
    for (unsigned i = 0; i < MG_LINTERN_VALUES_MAX + 100; i++) {
        labels_of(i, id, zone, v);
        for (size_t k = 0; k < 3; k++)
            CHECK(mg_labelset_get(ls[i], v[k].name, v[k].nlen, &l) &&
                      l.nlen == v[k].nlen && l.vlen == v[k].vlen &&
                      memcmp(l.value, v[k].value, l.vlen) == 0,
                  "series %u label %zu", i, k);
        CHECK(!mg_labelset_get(ls[i], "i", 1, &l) &&
              !mg_labelset_get(ls[i], "ids", 3, &l) &&
              !mg_labelset_get(ls[i], "a", 1, &l) &&
              !mg_labelset_get(ls[i], "jobs", 4, &l) &&
              !mg_labelset_get(ls[i], "zz", 2, &l) &&
              !mg_labelset_get(ls[i], "", 0, &l));
    }
    for (unsigned i = 0; i < MG_LINTERN_VALUES_MAX + 100; i++)
        mg_labelset_unref(NULL, ls[i]);
}

int main(void)
{
    test_get_one_value();
    test_values_shared_and_returned();
    test_bound_frees_up();
    test_reused_ids();
    test_allocation_failure();
    test_like_shares_ids();
    return mg_test_summary("test_lintern");
}
