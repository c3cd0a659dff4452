/* test_query: the q object against hand-computed PromQL answers: a store
 * fed with identity routes, ticks 15 s apart, rules run through mg_lua_call
 * as mg_rules runs them. rate and increase with a reset, extrapolation and
 * the zero point; avg/max_over_time; the max_points bound; histogram
 * quantiles over pushed buckets; sum and by vectors; ratio; nil without
 * data; the first evaluation; clear errors; history dropped when nothing
 * asks or the series goes. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_lua.h"
#include "mg_promql.h"
#include "mg_query.h"
#include "mg_store.h"
#include "mg_test.h"


#define T0 1700000000000LL
#define S(n) (T0 + (int64_t)(n) * 1000)

static struct mg_store *st;
static struct mg_query *q;
static struct mg_lua *lua;
static lua_State *L;
static int64_t now;

/* ---- feeding the store ---- */

/* "k=v,k=v" into sorted labels; the strings point into buf. */
static size_t parse_labels(const char *spec, char *buf, size_t len,
                           struct mg_label *out)
{
    size_t n = 0;
    snprintf(buf, len, "%s", spec);
    for (char *p = buf; *p;) {
        char *eq = strchr(p, '='), *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        out[n].name = p;
        out[n].nlen = (uint32_t)(eq - p);
        out[n].value = eq + 1;
        out[n].vlen = (uint32_t)(end - eq - 1);
        n++;
        p = *end ? end + 1 : end;
    }
    mg_labels_sort(out, n);
    return n;
}

/* Writes s as name{labels}, routed to itself (the pipeline's identity). */
static void store(struct mg_sample *s, int64_t t)
{
    char why[MG_WHY_LEN];
    uint64_t h = mg_store_input_hash(s->name, s->nlen, s->labels, s->nlabels);
    struct mg_input *in = mg_store_input_find(st, s, h);
    enum mg_reason r;
    if (in) {
        r = mg_store_write(st, in, s, t, why);
    } else {
        struct mg_route rt = {.name = s->name, .nlen = s->nlen,
                              .labels = s->labels, .nlabels = s->nlabels,
                              .scale = 1, .ttl_ms = -1, .agg = MG_AGG_SUM};
        r = mg_store_input_add(st, s, h, &rt, t, why);
    }
    if (r != MG_OK) {
        FAIL_AT(__LINE__, "push %s: %s", s->name, why);
    }
}

static void push(enum mg_type type, const char *name, const char *labels,
                 double v, uint32_t ttl_ms)
{
    char buf[256];
    struct mg_label l[8];
    struct mg_sample s = {.name = name, .nlen = (uint32_t)strlen(name),
                          .type = type, .value = v, .ttl_ms = ttl_ms};
    s.labels = l;
    s.nlabels = parse_labels(labels, buf, sizeof(buf), l);
    store(&s, now);
}

static const double bounds4[] = {0.1, 0.5, 1, INFINITY};

static void push_hist(const char *labels, const double *counts, double sum)
{
    char buf[256];
    struct mg_label l[8];
    struct mg_sample s = {.name = "lat", .nlen = 3, .type = MG_HISTOGRAM,
                          .nb = 4, .bound = bounds4, .bval = counts,
                          .sum = sum, .count = counts[3]};
    s.labels = l;
    s.nlabels = parse_labels(labels, buf, sizeof(buf), l);
    store(&s, now);
}

/* ---- running rules ---- */

/* Inside mg_lua_call, as mg_rules does it: f(q). */
static int l_run(lua_State *Ls)
{
    mg_query_push(Ls, q, st, now);
    lua_call(Ls, 1, 1);
    return 1;
}

/* Evaluates "return <expr>" with q in scope; the answer is left on top.
 * Returns 0, or -1 with the error in why. */
static int eval(const char *expr, char *why, size_t whylen)
{
    char code[2048];
    snprintf(code, sizeof(code), "local q = ...\nreturn %s", expr);
    lua_settop(L, 0);
    lua_pushcfunction(L, l_run);
    if (luaL_loadbufferx(L, code, strlen(code), "=rule", "t") != LUA_OK) {
        snprintf(why, whylen, "%s", lua_tostring(L, -1));
        lua_settop(L, 0);
        return -1;
    }
    return mg_lua_call(lua, 1, 1, why, whylen);
}

static int close_to(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return a == b || fabs(a - b) <= 1e-12 * fmax(fabs(a), fabs(b));
}

static void expect_num_(int line, const char *expr, double want)
{
    char why[512];
    if (eval(expr, why, sizeof(why))) {
        FAIL_AT(line, "%s: error %s", expr, why);
        return;
    }
    if (lua_type(L, -1) != LUA_TNUMBER || !close_to(lua_tonumber(L, -1), want)) {
        FAIL_AT(line, "%s: got %s %.17g, want %.17g", expr,
                luaL_typename(L, -1), lua_tonumber(L, -1), want);
    }
}
#define expect_num(e, w) expect_num_(__LINE__, e, w)

static void expect_nil_(int line, const char *expr)
{
    char why[512];
    if (eval(expr, why, sizeof(why))) {
        FAIL_AT(line, "%s: error %s", expr, why);
        return;
    }
    if (!lua_isnil(L, -1)) {
        FAIL_AT(line, "%s: got %s %.17g, want nil", expr,
                luaL_typename(L, -1), lua_tonumber(L, -1));
    }
}
#define expect_nil(e) expect_nil_(__LINE__, e)

static void expect_error_(int line, const char *expr, const char *part)
{
    char why[512];
    if (eval(expr, why, sizeof(why)) == 0) {
        FAIL_AT(line, "%s: no error, want '%s'", expr, part);
        return;
    }
    if (getenv("MG_TEST_VERBOSE"))
        printf("%s -> %s\n", expr, why);
    if (!strstr(why, part)) {
        FAIL_AT(line, "%s: error '%s', want '%s'", expr,
                why, part);
    }
}
#define expect_error(e, p) expect_error_(__LINE__, e, p)

struct ve {
    const char *labels; /* "k=v,k=v", names sorted */
    double v;
};

static int label_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The labels table on top as "k=v,k=v", names sorted. */
static void labels_str(char *out, size_t len)
{
    char *items[32], store_[32][128];
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, -2) && n < 32) {
        snprintf(store_[n], sizeof(store_[n]), "%s=%s", lua_tostring(L, -2),
                 lua_tostring(L, -1));
        items[n] = store_[n];
        n++;
        lua_pop(L, 1);
    }
    qsort(items, (size_t)n, sizeof(items[0]), label_cmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strncat(out, items[i], len - strlen(out) - 2);
        if (i + 1 < n)
            strcat(out, ",");
    }
}

static void expect_vec_(int line, const char *expr, const struct ve *want,
                        size_t n)
{
    char why[512];
    if (eval(expr, why, sizeof(why))) {
        FAIL_AT(line, "%s: error %s", expr, why);
        return;
    }
    if (!lua_istable(L, -1) || lua_rawlen(L, -1) != n) {
        FAIL_AT(line, "%s: got %s of %d, want %d elements",
                expr, luaL_typename(L, -1),
                lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : -1, (int)n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char got[512];
        lua_rawgeti(L, -1, (lua_Integer)i + 1);
        lua_getfield(L, -1, "value");
        double v = lua_tonumber(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, -1, "labels");
        labels_str(got, sizeof(got));
        lua_pop(L, 2);
        if (strcmp(got, want[i].labels) != 0 || !close_to(v, want[i].v)) {
            FAIL_AT(line, "%s: element %d is {%s} %.17g, want {%s} %.17g",
                    expr, (int)i + 1, got, v, want[i].labels, want[i].v);
        }
    }
}
/* An empty table. */
static void expect_empty_(int line, const char *expr)
{
    char why[512];
    if (eval(expr, why, sizeof(why))) {
        FAIL_AT(line, "%s: error %s", expr, why);
        return;
    }
    if (!lua_istable(L, -1) || lua_rawlen(L, -1) != 0) {
        FAIL_AT(line, "%s: got %s, want an empty vector",
                expr, luaL_typename(L, -1));
    }
}
#define expect_empty(e) expect_empty_(__LINE__, e)

#define expect_vec(e, ...)                                                 \
    do {                                                                   \
        const struct ve w_[] = {__VA_ARGS__};                              \
        expect_vec_(__LINE__, e, w_, sizeof(w_) / sizeof(w_[0]));          \
    } while (0)

static void tick(int64_t t)
{
    now = t;
    CHECK(mg_query_tick(q, st, now) == 0);
}

static void setup(size_t max_points)
{
    st = mg_store_new();
    q = mg_query_new(max_points);
    lua = mg_lua_new(NULL, NULL, NULL);
    L = mg_lua_state(lua);
    if (!st || !q || !lua) {
        fprintf(stderr, "setup: out of memory\n");
        exit(1);
    }
}

static void teardown(void)
{
    mg_lua_free(lua);
    mg_query_free(q);
    mg_store_free(st);
}

/* ---- the cases ---- */

/* An untyped series may go down (a counter output never does: the store
 * folds its inputs' resets), so it carries the reset here. */
static void test_rate_increase(void)
{
    setup(0);
    /* api: 10 20 5 15 25 at 0 15 30 45 60 s; new: 1 11 21 from 30 s */
    static const double api[] = {10, 20, 5, 15, 25};
    static const double fresh[] = {1, 11, 21};
    now = S(0);
    push(MG_UNTYPED, "req_total", "job=api", api[0], 0);
    tick(S(0));
    /* the first evaluation registers and samples: one point, no rate */
    expect_nil("q.rate('req_total', '1m')");
    expect_empty("q.increase('req_total', '1m', {by = {'job'}})");
    expect_num("q.avg_over_time('req_total', '1m')", 10);
    expect_num("q.max_over_time('req_total', '1m')", 10);
    CHECK(mg_query_range_count(q) == 1);
    CHECK(mg_query_series_count(q) == 1);

    now = S(15);
    push(MG_UNTYPED, "req_total", "job=api", api[1], 0);
    tick(S(15));
    /* 10 -> 20 over (-45 s, 15 s]: the first point is 45 s from the start,
     * beyond 1.1 x 15 s, so half a spacing (7.5 s); the zero point would
     * be 15 s back, farther; factor (15 + 7.5) / 15 */
    expect_num("q.increase('req_total', '1m')", 10 * ((15 + 7.5 + 0) / 15.0));
    expect_num("q.rate('req_total', '1m')", 10 * (((15 + 7.5 + 0) / 15.0) / 60));

    for (int i = 2; i < 5; i++) {
        now = S(15 * i);
        push(MG_UNTYPED, "req_total", "job=api", api[i], 0);
        push(MG_UNTYPED, "req_total", "job=new", fresh[i - 2], 0);
        tick(S(15 * i));
    }
    /* at 60 s over (0, 60]: api 20 5 15 25 at 15..60 s: 25 - 20 plus the
     * 20 lost at the reset = 25; 15 s to the start (< 16.5, kept); the
     * zero point 45 x 20/25 = 36 s is farther; factor (45 + 15) / 45.
     * new 1 11 21 at 30..60 s: 20; 30 s to the start, so 7.5 s; the zero
     * point 30 x 1/20 = 1.5 s is nearer and wins; factor (30 + 1.5) / 30 */
    double inc_api = 25 * ((45 + 15 + 0) / 45.0);
    double inc_new = 20 * ((30 + 1.5 + 0) / 30.0);
    double rate_api = 25 * (((45 + 15 + 0) / 45.0) / 60);
    double rate_new = 20 * (((30 + 1.5 + 0) / 30.0) / 60);
    expect_vec("q.increase('req_total', '1m', {by = {'job'}})",
               {"job=api", inc_api}, {"job=new", inc_new});
    expect_num("q.increase('req_total', '1m')", inc_api + inc_new);
    expect_vec("q.rate('req_total', '1m', {by = {'job'}})",
               {"job=api", rate_api}, {"job=new", rate_new});
    expect_num("q.rate('req_total', '1m')", rate_api + rate_new);
    /* a new selector over series that already have a history: data now */
    expect_num("q.rate('req_total{job=\"api\"}', '1m')", rate_api);
    /* range functions drop __name__ */
    expect_vec("q.rate('req_total{job=\"new\"}', '1m', {by = {'__name__'}})",
               {"", rate_new});
    /* avg and max over (0, 60]: api 20 5 15 25 */
    expect_num("q.avg_over_time('req_total{job=\"api\"}', '1m')", 65 / 4.0);
    expect_vec("q.max_over_time('req_total', '1m', {by = {}})", {"", 25 + 21});
    expect_vec("q.max_over_time('req_total', '1m', {by = {'job'}})",
               {"job=api", 25}, {"job=new", 21});
    /* a shorter window sees fewer points: (30, 60] holds api 15 25 */
    expect_num("q.avg_over_time('req_total{job=\"api\"}', '30s')", 20);
    /* rate needs two points: new over (45, 60] has one */
    expect_nil("q.rate('req_total{job=\"new\"}', '15s')");
    expect_nil("q.rate('nothing_here', '5m')");
    expect_empty("q.rate('nothing_here', '5m', {by = {'job'}})");
    teardown();
}

/* A counter output folds its input's reset: 10 20 then 5 reads 10 20 25. */
static void test_counter_output(void)
{
    setup(0);
    static const double v[] = {10, 20, 5};
    for (int i = 0; i < 3; i++) {
        now = S(15 * i);
        push(MG_COUNTER, "c_total", "", v[i], 0);
        tick(now);
        if (i == 0)
            expect_nil("q.increase('c_total', '30s')");
    }
    /* (0, 30]: 20 25 at 15 and 30 s; 15 s to the start (kept); zero point
     * 15 x 20/5 = 60 s, farther; factor (15 + 15) / 15 */
    expect_num("q.increase('c_total', '30s')", 5 * ((15 + 15 + 0) / 15.0));
    expect_num("q.value('c_total')", 25);
    teardown();
}

/* max_points = 4: a one-hour window sees the last four ticks only. */
static void test_bounded_history(void)
{
    setup(4);
    static const double v[] = {100, 2, 3, 4, 5, 1};
    for (int i = 0; i < 6; i++) {
        now = S(15 * i);
        push(MG_GAUGE, "temp", "room=a", v[i], 0);
        tick(now);
        expect_num("q.max_over_time('temp', '1h')", i < 4 ? 100 : 5);
        lua_settop(L, 0);
    }
    expect_num("q.avg_over_time('temp', '1h')", (3 + 4 + 5 + 1) / 4.0);
    expect_num("q.max_over_time('temp', '20s')", 5);
    expect_num("q.avg_over_time('temp', '20s')", 3);
    /* 3 4 5 1 at 30..75 s over (-3525, 75]: 1 - 3, plus 5 at the drop:
     * 3; 3555 s to the start, so 7.5 s; zero point 45 x 3/3 = 45 s; */
    expect_num("q.increase('temp', '1h')", 3 * ((45 + 7.5 + 0) / 45.0));
    teardown();
}

static void test_histogram_quantile(void)
{
    setup(0);
    static const double a0[] = {9, 18, 27, 35}, a1[] = {10, 20, 30, 40},
                        a2[] = {12, 26, 36, 50};
    static const double b0[] = {4, 9, 18, 18}, b1[] = {5, 10, 20, 20},
                        b2[] = {6, 14, 24, 26};
    const double *a[] = {a0, a1, a2}, *b[] = {b0, b1, b2};
    for (int i = 0; i < 3; i++) {
        now = S(15 * i);
        push_hist("job=api,instance=a", a[i], 10 * i);
        push_hist("job=api,instance=b", b[i], 5 * i);
        tick(now);
        if (i == 0)
            expect_nil("q.histogram_quantile(0.5, 'lat_bucket', '30s')");
        lua_settop(L, 0);
    }
    /* (0, 30] holds 15 s and 30 s; every bucket's first value is above
     * its increase, so each rate is 2 x delta / 30 = delta / 15. Summed by
     * le: deltas 3 10 10 16. phi 0.5: rank 8, in (0.1, 0.5]:
     * 0.1 + 0.4 x (8 - 3) / (10 - 3). */
    expect_num("q.histogram_quantile(0.5, 'lat_bucket', '30s')",
               0.1 + 0.4 * (5.0 / 7));
    expect_vec("q.histogram_quantile(0.5, 'lat_bucket', '30s', {by = {'job', 'le'}})",
               {"job=api", 0.1 + 0.4 * (5.0 / 7)});
    /* per instance: a 2 6 6 10 -> rank 5 -> 0.1 + 0.4 x 3/4; b 1 4 4 6
     * -> rank 3 -> 0.1 + 0.4 x 2/3 */
    expect_vec("q.histogram_quantile(0.5, 'lat_bucket', '30s', {by = {'instance'}})",
               {"instance=a", 0.1 + 0.4 * 0.75},
               {"instance=b", 0.1 + 0.4 * (2.0 / 3)});
    /* in the +Inf bucket: the second-highest bound */
    expect_num("q.histogram_quantile(0.99, 'lat_bucket', '30s')", 1);
    expect_num("q.histogram_quantile(2, 'lat_bucket', '30s')", INFINITY);
    /* a bucket subset without +Inf: NaN, as PromQL */
    expect_num("q.histogram_quantile(0.5, 'lat_bucket{le!=\"+Inf\"}', '30s')", NAN);
    /* instant reads of the same family */
    expect_num("q.value('lat_count{instance=\"a\"}')", 50);
    expect_num("q.sum('lat_bucket{le=\"+Inf\"}')", 76);
    expect_num("q.sum('lat_sum')", 30);
    expect_nil("q.value('lat')");
    expect_vec("q.series('lat_bucket{instance=\"b\"}')",
               {"__name__=lat_bucket,instance=b,job=api,le=+Inf", 26},
               {"__name__=lat_bucket,instance=b,job=api,le=0.1", 6},
               {"__name__=lat_bucket,instance=b,job=api,le=0.5", 14},
               {"__name__=lat_bucket,instance=b,job=api,le=1", 24});
    /* lat_count had no history: its first call has one point */
    expect_nil("q.rate('lat_count{instance=\"b\"}', '30s')");
    teardown();
}

static void test_summary(void)
{
    setup(0);
    static const double qs[] = {0.5, 0.9}, qv[] = {0.2, 0.7};
    char buf[64];
    struct mg_label l[2];
    struct mg_sample s = {.name = "rpc", .nlen = 3, .type = MG_SUMMARY,
                          .nb = 2, .bound = qs, .bval = qv, .sum = 12,
                          .count = 30};
    s.labels = l;
    s.nlabels = parse_labels("job=x", buf, sizeof(buf), l);
    now = S(0);
    store(&s, now);
    expect_num("q.value('rpc{quantile=\"0.9\"}')", 0.7);
    expect_num("q.value('rpc_count')", 30);
    expect_vec("q.series('{job=\"x\"}')",
               {"__name__=rpc,job=x,quantile=0.5", 0.2},
               {"__name__=rpc,job=x,quantile=0.9", 0.7},
               {"__name__=rpc_count,job=x", 30},
               {"__name__=rpc_sum,job=x", 12});
    teardown();
}

static void test_instant(void)
{
    setup(0);
    now = S(0);
    push(MG_GAUGE, "mem", "job=db,instance=c", 4, 0);
    push(MG_GAUGE, "mem", "job=api,instance=b", 2, 0);
    push(MG_GAUGE, "mem", "job=api,instance=a", 1, 0);
    push(MG_GAUGE, "mem", "instance=d", 8, 0);
    push(MG_COUNTER, "err", "job=api", 5, 0);
    push(MG_COUNTER, "err", "job=db", 0, 0);
    push(MG_COUNTER, "req", "job=api", 50, 0);
    push(MG_COUNTER, "req", "job=db", 0, 0);
    push(MG_COUNTER, "req", "job=web", 10, 0);
    expect_num("q.sum('mem')", 15);
    expect_vec("q.sum('mem', {by = {'job'}})", {"", 8}, {"job=api", 3},
               {"job=db", 4});
    expect_vec("q.sum('mem', {by = {}})", {"", 15});
    expect_vec("q.sum('mem', {by = {'__name__'}})", {"__name__=mem", 15});
    expect_num("q.sum('mem', {})", 15);
    /* the first in label order: instance a before b, c, d */
    expect_num("q.value('mem')", 1);
    expect_num("q.value('mem{instance=~\"[bc]\"}')", 2);
    expect_vec("q.series('mem{job=\"db\"}')", {"__name__=mem,instance=c,job=db", 4});
    expect_num("q.sum('mem{job=~\"a.*|d.*\"}')", 7);
    expect_num("q.sum('{job=\"db\"}')", 4);
    expect_num("q.sum('{__name__=~\"err|req\", job=\"api\"}')", 55);
    expect_nil("q.value('nothing')");
    expect_nil("q.sum('nothing')");
    expect_nil("q.sum('mem{job=\"none\"}')");
    expect_empty("q.sum('nothing', {by = {'job'}})");
    expect_empty("q.series('nothing')");

    /* ratio: numbers, vectors matched on labels, vector and number */
    expect_num("q.ratio(1, 4)", 0.25);
    expect_nil("q.ratio(1, 0)");
    expect_nil("q.ratio(nil, 2)");
    expect_nil("q.ratio(2, nil)");
    expect_nil("q.ratio(q.value('nothing'), q.value('mem'))");
    expect_vec("q.ratio(q.sum('err', {by = {'job'}}), q.sum('req', {by = {'job'}}))",
               {"job=api", 0.1});
    expect_vec("q.ratio({{labels = {a = '1'}, value = 3}},"
               " {{labels = {a = '1', __name__ = 'x'}, value = 4},"
               "  {labels = {a = '2'}, value = 1}})",
               {"a=1", 0.75});
    expect_vec("q.ratio(q.sum('mem', {by = {'job'}}), 2)", {"", 4},
               {"job=api", 1.5}, {"job=db", 2});
    expect_vec("q.ratio(12, q.sum('mem', {by = {'job'}}))", {"", 1.5},
               {"job=api", 4}, {"job=db", 3});
    expect_vec("q.ratio(q.series('mem{job=\"db\"}'), q.series('mem{job=\"db\"}'))",
               {"instance=c,job=db", 1});
    expect_empty("q.ratio({}, q.sum('mem', {by = {'job'}}))");
    expect_empty("q.ratio({}, {})");
    expect_empty("q.ratio({}, 2)");
    expect_empty("q.ratio(q.sum('mem', {by = {'job'}}), 0)");
    teardown();
}

static void test_errors(void)
{
    setup(0);
    now = S(0);
    push(MG_GAUGE, "up", "job=a", 1, 0);
    expect_error("q.rate('up{', '5m')", "q.rate: selector 'up{': 1:");
    expect_error("q.rate('up{', '5m')", "parse error");
    expect_error("q.value('up{job=~\"(\"}')", "q.value: selector");
    expect_error("q.rate('up', '5x')", "q.rate: window: unknown unit \"x\"");
    expect_error("q.rate('up', '5m5h')", "not a valid duration");
    expect_error("q.rate('up', 300)", "the window must be a duration");
    expect_error("q.rate('up', '0s')", "longer than 0");
    expect_error("q.sum('up', {bogus = 1})", "unknown option 'bogus'");
    expect_error("q.sum('up', {by = 'job'})", "opts.by must be a list");
    expect_error("q.sum('up', {by = {'a-b'}})", "not a label name");
    expect_error("q.sum('up', 5)", "options must be a table");
    expect_error("q:rate('up', '5m')", "not q:f(...)");
    expect_error("q.value(nil)", "the selector must be a string");
    expect_error("q.ratio('a', 1)", "q.ratio: argument #1 must be a number");
    expect_error("q.ratio({{labels = {a = '1'}, value = 1},"
                 " {labels = {a = '1'}, value = 2}}, {})",
                 "first vector holds two elements with the same labels");
    expect_error("q.ratio({{value = 'x'}}, {})", "has no numeric value");
    expect_error("q.histogram_quantile('x', 'up', '5m')", "number expected");
    /* registrations are bounded; the ones made stay usable */
    expect_error("(function() for i = 1, 1100 do q.rate('up', i .. 's') end end)()",
                 "q.rate: more than 1024 (selector, window) pairs asked for");
    CHECK(mg_query_range_count(q) == MG_QUERY_MAX_RANGES);
    CHECK(mg_query_series_count(q) == 1);
    expect_num("q.avg_over_time('up', '1s')", 1);
    /* a failed call changes nothing: the next one works */
    expect_num("q.value('up')", 1);
    teardown();
}

/* Registrations nobody asks for go, and so do the histories of series
 * that left the store. */
static void test_dropping(void)
{
    setup(0);
    now = S(0);
    push(MG_GAUGE, "g", "k=a", 1, 0);
    push(MG_GAUGE, "g", "k=b", 2, 20000);
    tick(now);
    expect_num("q.avg_over_time('g', '1m')", 3);
    CHECK(mg_query_series_count(q) == 2);
    /* b's input expires after 20 s: its output and its history go */
    for (int i = 1; i <= 2; i++) {
        now = S(15 * i);
        push(MG_GAUGE, "g", "k=a", 1, 0);
        mg_store_sweep(st, now);
        tick(now);
        expect_num("q.avg_over_time('g', '1m')", i == 1 ? 3 : 1);
    }
    CHECK(mg_query_series_count(q) == 1);
    /* 1 m at 15 s a tick: four unasked ticks are kept, the fifth drops */
    for (int i = 3; i <= 6; i++)
        tick(S(15 * i));
    CHECK(mg_query_range_count(q) == 1);
    CHECK(mg_query_series_count(q) == 1);
    tick(S(15 * 7));
    CHECK(mg_query_range_count(q) == 0);
    CHECK(mg_query_series_count(q) == 0);
    teardown();
}

static void test_arithmetic(void)
{
    char why[MG_WHY_LEN];
    int64_t ms = -1;
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {{"0", 0}, {"1ms", 1}, {"30s", 30000}, {"5m", 300000},
              {"1h30m", 5400000}, {"1d", 86400000}, {"2w", 1209600000},
              {"1y", 31536000000LL}, {"1m30s500ms", 90500}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        CHECK(mg_duration_parse(ok[i].s, strlen(ok[i].s), &ms, why,
                                sizeof(why)) == 0);
        CHECK(ms == ok[i].ms);
    }
    static const char *const bad[] = {"", "5", "m", "1.5h", "30s5m", "5m5m",
                                      "-5m", "5 m", "1mm", "99999999999y"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(mg_duration_parse(bad[i], strlen(bad[i]), &ms, why,
                                sizeof(why)) == -EINVAL);

    /* rate over 90.5 s divides by Go's Duration.Seconds() */
    struct mg_point p[] = {{1000, 0}, {11000, 10}};
    double v;
    CHECK(mg_promql_rate(p, 1, 11000, 90500, 1, 1, &v) == 0);
    CHECK(mg_promql_rate(p, 2, 11000, 10000, 1, 1, &v) == 1);
    /* 0 at the start: the zero point is right there, factor 1 */
    CHECK(close_to(v, 10 / 10.0));
    CHECK(mg_promql_rate(p, 2, 11000, 90500, 1, 1, &v) == 1);
    CHECK(close_to(v, 10 * (1 / 90.5)));
    /* a gauge-style delta, no counter rules: falls and extrapolates */
    struct mg_point g[] = {{10000, 5}, {20000, 3}};
    CHECK(mg_promql_rate(g, 2, 20000, 20000, 0, 0, &v) == 1);
    CHECK(close_to(v, -2 * ((10 + 10 + 0) / 10.0)));

    /* the sum overflows: a running mean instead */
    struct mg_point big[] = {{0, DBL_MAX}, {1, DBL_MAX}};
    CHECK(mg_promql_avg_over_time(big, 2) == DBL_MAX);
    struct mg_point nan1[] = {{0, NAN}, {1, 3}, {2, 2}};
    CHECK(mg_promql_max_over_time(nan1, 3) == 3);
    struct mg_point k[] = {{0, 1e16}, {1, 1}, {2, -1e16}};
    /* Kahan keeps the 1 a plain sum loses */
    CHECK(mg_promql_avg_over_time(k, 3) == 1 / 3.0);

    struct mg_bucket b1[] = {{INFINITY, 10}, {1, 5}, {2, 5}};
    CHECK(mg_promql_bucket_quantile(0.5, b1, 3) == 1);
    struct mg_bucket b2[] = {{1, 5}, {2, 10}};
    CHECK(isnan(mg_promql_bucket_quantile(0.5, b2, 2)));
    struct mg_bucket b3[] = {{1, 0}, {INFINITY, 0}};
    CHECK(isnan(mg_promql_bucket_quantile(0.5, b3, 2)));
    CHECK(mg_promql_bucket_quantile(-1, b3, 2) == -INFINITY);
    struct mg_bucket b4[] = {{-1, 4}, {0, 6}, {INFINITY, 8}};
    CHECK(mg_promql_bucket_quantile(0.25, b4, 3) == -1);
    /* non-monotonic counts are forced up: 2 4 3(->4) 8 */
    struct mg_bucket b5[] = {{1, 2}, {2, 4}, {3, 3}, {INFINITY, 8}};
    CHECK(close_to(mg_promql_bucket_quantile(0.5, b5, 4), 2));
    /* equal bounds coalesce: 1:2+2 */
    struct mg_bucket b6[] = {{1, 2}, {1, 2}, {2, 8}, {INFINITY, 8}};
    CHECK(close_to(mg_promql_bucket_quantile(0.75, b6, 4), 1 + (6 - 4) / 4.0));
}

int main(void)
{
    test_arithmetic();
    test_rate_increase();
    test_counter_output();
    test_bounded_history();
    test_histogram_quantile();
    test_summary();
    test_instant();
    test_errors();
    test_dropping();
    return mg_test_summary("test_query");
}
