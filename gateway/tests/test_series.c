/* test_series: the store's many-inputs-to-one-output semantics, driven
 * with explicit routes (the pipeline's job later): counter totals exact
 * through resets and expiry, gauge aggregation rules, histogram merging,
 * type conflicts, a known update allocating nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_alloc.h"
#include "mg_store.h"
#include "mg_test.h"


/* Pushes name{ws=<ws>} = v of type t at now, routed to name{} (the
 * labeldrop of ws a pipeline would do). */
static enum mg_reason push(struct mg_store *st, enum mg_type t, const char *ws,
                           double v, uint32_t ttl_ms, int64_t now,
                           enum mg_agg agg)
{
    struct mg_label l = {"ws", ws, 2, (uint32_t)strlen(ws)};
    struct mg_sample s = {.name = "m", .nlen = 1, .type = t, .labels = &l,
                          .nlabels = 1, .value = v, .ttl_ms = ttl_ms};
    char why[MG_WHY_LEN];
    uint64_t h = mg_store_input_hash("m", 1, &l, 1);
    struct mg_input *in = mg_store_input_find(st, &s, h);
    if (in)
        return mg_store_write(st, in, &s, now, why);
    struct mg_route r = {.name = "m", .nlen = 1, .scale = 1, .ttl_ms = -1,
                         .agg = agg};
    return mg_store_input_add(st, &s, h, &r, now, why);
}

static double out_value(struct mg_store *st)
{
    struct mg_family *f = mg_store_family_find(st, "m", 1);
    if (!f)
        return NAN;
    for (uint32_t i = 0;; i++) {
        struct mg_output *o = mg_store_output_at(st, i);
        if (o && mg_store_output_family(st, o) == f)
            return mg_output_value(st, o);
        if (i > 1000)
            return NAN;
    }
}

static void test_counter_sum_exact(void)
{
    struct mg_store *st = mg_store_new();
    char ws[16];
    double total = 0;
    /* 1,000 workspaces, each counting up, half of them resetting */
    for (int round = 1; round <= 3; round++)
        for (int i = 0; i < 1000; i++) {
            snprintf(ws, sizeof(ws), "w%d", i);
            double v = (i % 2 && round == 3) ? 1 : round * 10 + i;
            push(st, MG_COUNTER, ws, v, 60000, round * 1000, MG_AGG_SUM);
        }
    for (int i = 0; i < 1000; i++)
        total += (i % 2) ? (20 + i) + 1 : 30 + i;
    CHECK(out_value(st) == total);
    CHECK(mg_store_output_count(st) == 1);
    CHECK(mg_store_input_count(st) == 1000);
    /* every input expires: the output goes with the last one */
    CHECK(mg_store_sweep(st, 3000 + 59000) == 0);
    CHECK(mg_store_sweep(st, 3000 + 60000) == 1000);
    CHECK(mg_store_output_count(st) == 0);
    mg_store_free(st);
}

static void test_counter_contribution_stays(void)
{
    struct mg_store *st = mg_store_new();
    push(st, MG_COUNTER, "a", 5, 10000, 0, MG_AGG_SUM);
    push(st, MG_COUNTER, "b", 7, 60000, 0, MG_AGG_SUM);
    mg_store_sweep(st, 20000); /* a expires; its 5 stays while b lives */
    CHECK(mg_store_input_count(st) == 1);
    CHECK(out_value(st) == 12);
    push(st, MG_COUNTER, "b", 8, 60000, 21000, MG_AGG_SUM);
    CHECK(out_value(st) == 13);
    mg_store_free(st);
}

static void test_gauge_rules(void)
{
    static const enum mg_agg aggs[] = {MG_AGG_SUM, MG_AGG_MAX, MG_AGG_MIN,
                                       MG_AGG_AVG, MG_AGG_LAST};
    static const double want[] = {6, 3, 1, 2, 2};
    for (int k = 0; k < 5; k++) {
        struct mg_store *st = mg_store_new();
        push(st, MG_GAUGE, "a", 1, 10000, 0, aggs[k]);
        push(st, MG_GAUGE, "b", 3, 60000, 0, aggs[k]);
        push(st, MG_GAUGE, "c", 2, 60000, 0, aggs[k]);
        CHECK(out_value(st) == want[k]);
        /* a gauge's contribution leaves with its input */
        mg_store_sweep(st, 20000);
        CHECK(out_value(st) == (k == 0 ? 5 : k == 1 ? 3 : k == 2 ? 2 : k == 3 ? 2.5 : 2));
        mg_store_free(st);
    }
}

static void test_type_conflict(void)
{
    struct mg_store *st = mg_store_new();
    CHECK(push(st, MG_COUNTER, "a", 1, 0, 0, MG_AGG_SUM) == MG_OK);
    CHECK(push(st, MG_GAUGE, "b", 1, 0, 0, MG_AGG_SUM) == MG_REASON_TYPE_CONFLICT);
    CHECK(push(st, MG_GAUGE, "a", 1, 0, 0, MG_AGG_SUM) == MG_REASON_TYPE_CONFLICT);
    CHECK(mg_store_input_count(st) == 1);
    mg_store_free(st);
}

/* A family that went with its last series is not found again through the
 * store's memory of the family last used: the name comes back new, of
 * any type. */
static void test_family_gone_comes_back(void)
{
    struct mg_store *st = mg_store_new();
    CHECK(push(st, MG_COUNTER, "a", 1, 1000, 0, MG_AGG_SUM) == MG_OK);
    CHECK(push(st, MG_COUNTER, "b", 1, 1000, 0, MG_AGG_SUM) == MG_OK);
    CHECK(mg_store_sweep(st, 5000) == 2);
    CHECK(mg_store_family_find(st, "m", 1) == NULL, "the family went");
    CHECK(push(st, MG_GAUGE, "a", 7, 0, 6000, MG_AGG_SUM) == MG_OK,
          "back as a gauge");
    CHECK(out_value(st) == 7);
    CHECK(push(st, MG_COUNTER, "c", 1, 0, 6000, MG_AGG_SUM) ==
          MG_REASON_TYPE_CONFLICT);
    mg_store_free(st);
}

static void test_reroute(void)
{
    struct mg_store *st = mg_store_new();
    push(st, MG_COUNTER, "a", 5, 0, 0, MG_AGG_SUM);
    /* route the input somewhere else: the old output leaves, the new one
     * starts from the input's value */
    struct mg_route r = {.name = "moved", .nlen = 5, .scale = 2, .ttl_ms = -1};
    char why[MG_WHY_LEN];
    CHECK(mg_store_input_reroute(st, 0, &r, why) == MG_OK);
    CHECK(mg_store_family_find(st, "m", 1) == NULL);
    struct mg_family *f = mg_store_family_find(st, "moved", 5);
    CHECK(f != NULL);
    CHECK(mg_output_value(st, mg_store_output_at(st, 0)) == 10);
    mg_store_free(st);
}

/* A cursor on a family's outputs moves past the output removed under it,
 * as a scrape in slices needs: never left on a freed (or reused) slot. */
static void test_cursor_survives_removal(void)
{
    struct mg_store *st = mg_store_new();
    char why[MG_WHY_LEN];
    for (int i = 0; i < 3; i++) {
        char v[4];
        snprintf(v, sizeof(v), "%d", i);
        struct mg_label l = {"i", v, 1, 1};
        struct mg_sample s = {.name = "c", .nlen = 1, .type = MG_GAUGE,
                              .labels = &l, .nlabels = 1, .value = i};
        struct mg_route r = {.name = "c", .nlen = 1, .labels = &l, .nlabels = 1,
                             .scale = 1, .ttl_ms = -1};
        CHECK(mg_store_input_add(st, &s, mg_store_input_hash("c", 1, &l, 1), &r, 0,
                                 why) == MG_OK);
    }
    struct mg_family *f = mg_store_family_find(st, "c", 1);
    uint32_t head = mg_store_family_head(f);
    uint32_t second = mg_store_output_next(st, head);
    uint32_t third = mg_store_output_next(st, second);
    struct mg_store_cursor c;
    mg_store_cursor_open(st, &c, second);
    /* input k made output k: remove the one the cursor names */
    mg_store_input_remove(st, second);
    CHECK(c.next == third);
    mg_store_input_remove(st, third);
    CHECK(c.next == MG_NIL);
    mg_store_cursor_close(st, &c);
    /* closed: a removal no longer writes to it */
    c.next = head;
    mg_store_input_remove(st, head);
    CHECK(c.next == head);
    mg_store_free(st);
}

/* The hot path allocates nothing: count malloc, calloc and realloc calls
 * around updates (not under a sanitizer, which owns malloc itself).
 * test_hot_alloc does the same through the whole ingest path. */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_MALLOC 0
#else
#define COUNT_MALLOC 1
static size_t mallocs;
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
void *malloc(size_t n)
{
    mallocs++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    mallocs++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    mallocs++;
    return __libc_realloc(p, n);
}
#endif

static void test_known_update_allocates_nothing(void)
{
    if (!COUNT_MALLOC)
        return;
    struct mg_store *st = mg_store_new();
    push(st, MG_COUNTER, "a", 1, 0, 0, MG_AGG_SUM);
#if COUNT_MALLOC
    size_t before = mallocs;
    for (int i = 0; i < 10000; i++)
        push(st, MG_COUNTER, "a", i, 0, i, MG_AGG_SUM);
    CHECK(mallocs == before);
#endif
    mg_store_free(st);
}

/* HELP: the first pushed wins among pushes; a route's pinned HELP (the
 * scripts') wins over every push, before or after; unpinning gives the
 * first pushed back; a reroute to the same output pins too (a reload). */
static void test_help_pin(void)
{
    struct mg_store *st = mg_store_new();
    struct mg_label l = {"ws", "a", 2, 1};
    struct mg_sample s = {.name = "h", .nlen = 1, .type = MG_COUNTER, .labels = &l,
                          .nlabels = 1, .value = 1, .help = "pushed a", .hlen = 8};
    struct mg_route r = {.name = "h", .nlen = 1, .scale = 1, .ttl_ms = -1};
    char why[MG_WHY_LEN];
    CHECK(mg_store_input_add(st, &s, mg_store_input_hash("h", 1, &l, 1), &r, 0, why) == MG_OK);
    struct mg_family *f = mg_store_family_find(st, "h", 1);
    CHECK(f && strcmp(f->help, "pushed a") == 0);
    struct mg_label l2 = {"ws", "b", 2, 1};
    s.labels = &l2;
    s.help = "pushed b";
    r.help = "scripts";
    r.hlen = 7;
    r.pin_help = 1;
    CHECK(mg_store_input_add(st, &s, mg_store_input_hash("h", 1, &l2, 1), &r, 0, why) == MG_OK);
    CHECK(strcmp(f->help, "scripts") == 0);
    struct mg_label l3 = {"ws", "c", 2, 1};
    s.labels = &l3;
    s.help = "pushed c";
    struct mg_route plain = {.name = "h", .nlen = 1, .scale = 1, .ttl_ms = -1};
    CHECK(mg_store_input_add(st, &s, mg_store_input_hash("h", 1, &l3, 1), &plain, 0, why) == MG_OK);
    CHECK(strcmp(f->help, "scripts") == 0, "a later push does not change it");
    CHECK(strcmp(mg_family_pushed_help(f), "pushed a") == 0);
    mg_store_help_unpin(st);
    CHECK(strcmp(f->help, "pushed a") == 0, "unpinned: the first pushed");
    r.help = "new scripts";
    r.hlen = 11;
    CHECK(mg_store_input_reroute(st, 0, &r, why) == MG_OK);
    CHECK(strcmp(f->help, "new scripts") == 0, "same output re-routed pins");
    mg_store_free(st);
}

/* Label names are interned: two sets share one copy of each name, which
 * lives until the last set using it goes; the source marks and values
 * come back as given; a failed allocation part-way leaves nothing held. */
static void test_labelset_names_shared(void)
{
    struct mg_label a[2] = {{"instance", "x", 8, 1}, {"job", "j1", 3, 2}};
    struct mg_label b[2] = {{"instance", "y", 8, 1}, {"zone", "z", 4, 1}};
    struct mg_labelset *la = mg_labelset_new_src(NULL, a, 2, 1, 2);
    struct mg_labelset *lb = mg_labelset_new(b, 2, 2);
    CHECK(la && lb);
    if (!la || !lb)
        return;
    struct mg_label va[2], vb[2];
    CHECK(mg_labelset_unpack(la, va) == 2 && mg_labelset_unpack(lb, vb) == 2);
    CHECK(va[0].name == vb[0].name, "one copy of \"instance\"");
    CHECK(va[1].vlen == 2 && memcmp(va[1].value, "j1", 2) == 0);
    CHECK(mg_labelset_srcmask(la) == 2 && mg_labelset_srcmask(lb) == 0);
    CHECK(mg_labelset_equal(la, a, 2) && !mg_labelset_equal(la, b, 2));
    mg_labelset_unref(NULL, la);
    /* "instance" outlives the first set: the second still reads it */
    CHECK(mg_labelset_equal(lb, b, 2));
    for (long k = 0; k < 4; k++) {
        struct mg_label c[2] = {{"fresh", "1", 5, 1}, {"new", "2", 3, 1}};
        mg_alloc_fail_after(k);
        struct mg_labelset *lc = mg_labelset_new(c, 2, 3);
        mg_alloc_fail_after(-1);
        if (lc) {
            CHECK(mg_labelset_equal(lc, c, 2));
            mg_labelset_unref(NULL, lc);
        }
    }
    mg_labelset_unref(NULL, lb);
}

/* Every type's name parses back to it; a near miss parses to nothing. */
static void test_type_names(void)
{
    for (int t = MG_UNTYPED; t <= MG_SUMMARY; t++) {
        const char *name = mg_type_name((enum mg_type)t);
        size_t n = strlen(name);
        CHECK(mg_type_parse(name, n) == t, "%s", name);
        CHECK(mg_type_parse(name, n - 1) == -1, "%.*s", (int)(n - 1), name);
        char x[16];
        memcpy(x, name, n);
        x[n - 1] ^= 0x20;
        CHECK(mg_type_parse(x, n) == -1, "%.*s", (int)n, x);
    }
    CHECK(mg_type_parse("", 0) == -1);
    CHECK(mg_type_parse("counters", 8) == -1);
}

/* An output whose hash agrees with its input's in the 32 bits a label set
 * keeps, its labels different: it gets its own labels, not the input's
 * set. The pair is found by a birthday search over m{a=i} and m{b=j}. */
static void test_output_hash_collision(void)
{
    enum { NIN = 1 << 17 };
    uint32_t *tag = calloc(2 * NIN, sizeof(*tag)); /* open addressing: low bits */
    uint32_t *who = calloc(2 * NIN, sizeof(*who));
    char a[16], b[16];
    CHECK(tag && who);
    for (uint32_t i = 1; i <= NIN && tag; i++) {
        int n = snprintf(a, sizeof(a), "%u", i);
        struct mg_label l = {"a", a, 1, (uint32_t)n};
        uint32_t h = (uint32_t)mg_store_input_hash("m", 1, &l, 1), k = h & (2 * NIN - 1);
        while (who[k])
            k = (k + 1) & (2 * NIN - 1);
        tag[k] = h;
        who[k] = i;
    }
    uint32_t in_i = 0, out_j = 0;
    for (uint32_t j = 1; j < 64 * NIN && !in_i && tag; j++) {
        int n = snprintf(b, sizeof(b), "%u", j);
        struct mg_label l = {"b", b, 1, (uint32_t)n};
        uint32_t h = (uint32_t)mg_store_input_hash("m", 1, &l, 1), k = h & (2 * NIN - 1);
        for (; who[k] && !in_i; k = (k + 1) & (2 * NIN - 1))
            if (tag[k] == h) {
                in_i = who[k];
                out_j = j;
            }
    }
    free(tag);
    free(who);
    CHECK(in_i != 0);
    if (!in_i)
        return;
    int na = snprintf(a, sizeof(a), "%u", in_i), nb = snprintf(b, sizeof(b), "%u", out_j);
    struct mg_label la = {"a", a, 1, (uint32_t)na}, lb = {"b", b, 1, (uint32_t)nb};
    struct mg_sample s = {.name = "m", .nlen = 1, .type = MG_GAUGE, .labels = &la,
                          .nlabels = 1, .value = 1};
    struct mg_route r = {.name = "m", .nlen = 1, .labels = &lb, .nlabels = 1,
                         .scale = 1, .ttl_ms = -1};
    struct mg_store *st = mg_store_new();
    char why[MG_WHY_LEN];
    CHECK(mg_store_input_add(st, &s, mg_store_input_hash("m", 1, &la, 1), &r, 0, why) == MG_OK);
    struct mg_output *o = mg_store_output_at(st, 0);
    struct mg_label got;
    CHECK(o && mg_labelset_get(o->ls, "b", 1, &got) && got.vlen == (uint32_t)nb &&
          memcmp(got.value, b, (size_t)nb) == 0);
    CHECK(o && !mg_labelset_get(o->ls, "a", 1, &got));
    mg_store_free(st);
}

int main(void)
{
    test_type_names();
    test_counter_sum_exact();
    test_counter_contribution_stays();
    test_gauge_rules();
    test_type_conflict();
    test_family_gone_comes_back();
    test_reroute();
    test_cursor_survives_removal();
    test_known_update_allocates_nothing();
    test_help_pin();
    test_labelset_names_shared();
    test_output_hash_collision();
    return mg_test_summary("test_series");
}
