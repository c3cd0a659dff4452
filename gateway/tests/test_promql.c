/* test_promql: the PromQL parser and evaluator against answers computed by
 * hand. A store fed with identity routes ticks every 15 s from 0 to 60 s;
 * expressions are evaluated at 60 s through mg_pqe_eval and printed as
 * "{labels} value" lines to compare with the expected text: precedence and
 * associativity, every range function, vector matching and its errors,
 * set operators, aggregations, instant functions, refusals with positions,
 * the depth bound, the expression cache and the load-time source check. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_buf.h"
#include "mg_promql_eval.h"
#include "mg_promql_parse.h"
#include "mg_query.h"
#include "mg_store.h"

static int failures;
#define CHECK(c)                                                           \
    do {                                                                   \
        if (!(c)) {                                                        \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);        \
            failures++;                                                    \
        }                                                                  \
    } while (0)

#define T0 1700000000000LL
#define S(n) (T0 + (int64_t)(n) * 1000)

static struct mg_store *st;
static struct mg_query *q;
static struct mg_pqe *pe;
static int64_t now;

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
        out[n] = (struct mg_label){p, eq + 1, (uint32_t)(eq - p),
                                   (uint32_t)(end - eq - 1)};
        n++;
        p = *end ? end + 1 : end;
    }
    mg_labels_sort(out, n);
    return n;
}

static void push(enum mg_type type, const char *name, const char *labels,
                 double v)
{
    char buf[256], why[MG_WHY_LEN];
    struct mg_label l[8];
    struct mg_sample s = {.name = name, .nlen = (uint32_t)strlen(name),
                          .type = type, .value = v};
    s.labels = l;
    s.nlabels = parse_labels(labels, buf, sizeof(buf), l);
    uint64_t h = mg_store_input_hash(s.name, s.nlen, s.labels, s.nlabels);
    struct mg_input *in = mg_store_input_find(st, &s, h);
    enum mg_reason r;
    if (in) {
        r = mg_store_write(st, in, &s, now, why);
    } else {
        struct mg_route rt = {.name = s.name, .nlen = s.nlen,
                              .labels = s.labels, .nlabels = s.nlabels,
                              .scale = 1, .ttl_ms = -1, .agg = MG_AGG_SUM};
        r = mg_store_input_add(st, &s, h, &rt, now, why);
    }
    if (r != MG_OK) {
        fprintf(stderr, "push %s: %s\n", name, why);
        failures++;
    }
}

/* The answer as text: "%.10g" for a scalar, "{a=\"b\"} v" lines for a
 * vector, "error: why" for an error. */
static const char *run(const char *expr)
{
    static char out[4096];
    char why[512];
    int err;
    const struct mg_pq *pq = mg_pqe_get(pe, expr, strlen(expr), &err, why,
                                        sizeof(why));
    if (!pq) {
        snprintf(out, sizeof(out), "error: %s", why);
        return out;
    }
    struct mg_pqe_value v;
    uint64_t work;
    if (mg_pqe_eval(pe, q, st, pq, now, &v, &work, why, sizeof(why))) {
        snprintf(out, sizeof(out), "error: %s", why);
        return out;
    }
    if (v.type == MG_PQ_SCALAR) {
        snprintf(out, sizeof(out), "%.10g", v.s);
        return out;
    }
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < v.n && k < sizeof(out); i++) {
        k += (size_t)snprintf(out + k, sizeof(out) - k, "%s{", i ? "; " : "");
        for (uint32_t j = 0; j < v.e[i].n && k < sizeof(out); j++)
            k += (size_t)snprintf(out + k, sizeof(out) - k, "%s%.*s=\"%.*s\"",
                                  j ? "," : "", (int)v.e[i].l[j].nlen,
                                  v.e[i].l[j].name, (int)v.e[i].l[j].vlen,
                                  v.e[i].l[j].value);
        if (k < sizeof(out))
            k += (size_t)snprintf(out + k, sizeof(out) - k, "} %.10g",
                                  v.e[i].v);
    }
    return out;
}

#define EXPECT(expr, want) expect_(__LINE__, expr, want)
static void expect_(int line, const char *expr, const char *want)
{
    const char *got = run(expr);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "%s:%d: %s\n  want: %s\n  got:  %s\n", __FILE__, line,
                expr, want, got);
        failures++;
    }
}

/* The answer is an error whose text holds part. */
#define EXPECT_ERR(expr, part) expect_err_(__LINE__, expr, part)
static void expect_err_(int line, const char *expr, const char *part)
{
    const char *got = run(expr);
    if (strncmp(got, "error: ", 7) != 0 || !strstr(got, part)) {
        fprintf(stderr, "%s:%d: %s\n  want an error with: %s\n  got: %s\n",
                __FILE__, line, expr, part, got);
        failures++;
    }
}

/* Ticks at 0..60 s: x grows 1, 2, 3 per second; g{job="a"} 10..50 and
 * g{job="b"} 5; info carries a team per job; b is a hand-made histogram
 * (0 in le=0.1, 10 in le=1 and +Inf). */
static void feed(void)
{
    const char *rates_x[] = {"i=1,job=a", "i=2,job=a", "i=1,job=b"};
    for (int step = 0; step <= 4; step++) {
        now = S(step * 15);
        for (int k = 0; k < 3; k++)
            push(MG_COUNTER, "x", rates_x[k], (double)((k + 1) * step * 15));
        push(MG_GAUGE, "g", "job=a", 10.0 * (step + 1));
        push(MG_GAUGE, "g", "job=b", 5);
        push(MG_GAUGE, "info", "job=a,team=t1", 1);
        push(MG_GAUGE, "info", "job=b,team=t2", 1);
        push(MG_GAUGE, "b", "le=0.1", 0);
        push(MG_GAUGE, "b", "le=1", 10);
        push(MG_GAUGE, "b", "le=+Inf", 10);
        CHECK(mg_query_tick(q, st, now) == 0);
        if (step == 0) {
            /* the range selectors register on first use, as a rule's do */
            run("rate(x[1m]) + rate(g[1m]) + rate(x[30s] offset 15s)");
            run("x offset 30s");
            run("g offset 30s");
            run("absent_over_time(nope[1m])");
        }
    }
}

static void test_literals_and_precedence(void)
{
    EXPECT("1 + 2 * 3", "7");
    EXPECT("(1 + 2) * 3", "9");
    EXPECT("2 ^ 3 ^ 2", "512");
    EXPECT("-2 ^ 2", "-4");
    EXPECT("2 ^ -1", "0.5");
    EXPECT("8 / 2 / 2", "2");
    EXPECT("5 - 3 - 1", "1");
    EXPECT("10 % 3", "1");
    EXPECT("1 < bool 2", "1");
    EXPECT("2 == bool 3", "0");
    EXPECT("0x10 + 1e1 + .5", "26.5");
    EXPECT("1m", "60");
    EXPECT("-Inf", "-inf");
    EXPECT("1 + 1 # a comment\n", "2");
    EXPECT("time()", "1700000060");
    EXPECT("vector(3)", "{} 3");
    EXPECT("scalar(g{job=\"a\"})", "50");
    EXPECT("scalar(g)", "nan");
}

static void test_range_functions(void)
{
    EXPECT("rate(x[1m])", "{i=\"1\",job=\"a\"} 1; {i=\"1\",job=\"b\"} 3; "
                          "{i=\"2\",job=\"a\"} 2");
    EXPECT("sum by (job) (rate(x[1m]))", "{job=\"a\"} 3; {job=\"b\"} 3");
    EXPECT("sum(rate(x[1m])) by (job) > 2.5", "{job=\"a\"} 3; {job=\"b\"} 3");
    EXPECT("increase(x{job=\"b\"}[1m])", "{i=\"1\",job=\"b\"} 180");
    EXPECT("irate(x{i=\"2\"}[1m])", "{i=\"2\",job=\"a\"} 2");
    EXPECT("idelta(x{i=\"2\"}[1m])", "{i=\"2\",job=\"a\"} 30");
    EXPECT("deriv(g{job=\"a\"}[1m])", "{job=\"a\"} 0.6666666667");
    EXPECT("delta(g{job=\"a\"}[1m])", "{job=\"a\"} 40");
    EXPECT("avg_over_time(g{job=\"a\"}[1m])", "{job=\"a\"} 35");
    EXPECT("min_over_time(g{job=\"a\"}[1m])", "{job=\"a\"} 20");
    EXPECT("max_over_time(g{job=\"a\"}[1m])", "{job=\"a\"} 50");
    EXPECT("sum_over_time(g{job=\"a\"}[1m])", "{job=\"a\"} 140");
    EXPECT("count_over_time(g{job=\"a\"}[1m])", "{job=\"a\"} 4");
    EXPECT("last_over_time(g{job=\"a\"}[1m])", "{__name__=\"g\",job=\"a\"} 50");
    EXPECT("present_over_time(g{job=\"a\"}[1m])", "{job=\"a\"} 1");
    EXPECT("stdvar_over_time(g{job=\"a\"}[1m])", "{job=\"a\"} 125");
    EXPECT("stddev_over_time(g{job=\"a\"}[1m])", "{job=\"a\"} 11.18033989");
    EXPECT("quantile_over_time(0.5, g{job=\"a\"}[1m])", "{job=\"a\"} 35");
    EXPECT("rate(x{i=\"1\",job=\"a\"}[30s] offset 15s)",
           "{i=\"1\",job=\"a\"} 1");
    EXPECT("x{job=\"a\"} offset 30s",
           "{__name__=\"x\",i=\"1\",job=\"a\"} 30; "
           "{__name__=\"x\",i=\"2\",job=\"a\"} 60");
    EXPECT("absent_over_time(nope{job=\"x\"}[1m])", "{job=\"x\"} 1");
    EXPECT("absent_over_time(g[1m])", "");
}

static void test_binary(void)
{
    EXPECT("g + 1", "{job=\"a\"} 51; {job=\"b\"} 6");
    EXPECT("g > 10", "{__name__=\"g\",job=\"a\"} 50");
    EXPECT("10 < g", "{__name__=\"g\",job=\"a\"} 50");
    EXPECT("g > bool 10", "{job=\"a\"} 1; {job=\"b\"} 0");
    EXPECT("-g", "{job=\"a\"} -50; {job=\"b\"} -5");
    EXPECT("g - g", "{job=\"a\"} 0; {job=\"b\"} 0");
    EXPECT("x / on(job) group_left sum by (job) (x)",
           "{i=\"1\",job=\"a\"} 0.3333333333; {i=\"1\",job=\"b\"} 1; "
           "{i=\"2\",job=\"a\"} 0.6666666667");
    EXPECT("x * on(job) group_left(team) info",
           "{i=\"1\",job=\"a\",team=\"t1\"} 60; {i=\"1\",job=\"b\",team=\"t2\"} 180; "
           "{i=\"2\",job=\"a\",team=\"t1\"} 120");
    EXPECT("info * on(job) group_right(team) x",
           "{i=\"1\",job=\"a\",team=\"t1\"} 60; {i=\"1\",job=\"b\",team=\"t2\"} 180; "
           "{i=\"2\",job=\"a\",team=\"t1\"} 120");
    EXPECT("g * ignoring(team) group_right info",
           "{job=\"a\",team=\"t1\"} 50; {job=\"b\",team=\"t2\"} 5");
    EXPECT("sum by (job) (x) / on(job) g", "{job=\"a\"} 3.6; {job=\"b\"} 36");
    EXPECT_ERR("x / on(job) sum by (job) (x)",
               "multiple matches for labels {job=\"a\"}: many-to-one matching "
               "must be explicit (group_left/group_right)");
    EXPECT_ERR("sum by (job) (x) / on(job) x",
               "found duplicate series for the match group {job=\"a\"} on the "
               "right hand-side of the operation");
    EXPECT("x and on(job) g > 10", "{__name__=\"x\",i=\"1\",job=\"a\"} 60; "
                                   "{__name__=\"x\",i=\"2\",job=\"a\"} 120");
    EXPECT("x unless on(job) g > 10", "{__name__=\"x\",i=\"1\",job=\"b\"} 180");
    EXPECT("g or vector(1)", "{} 1; {__name__=\"g\",job=\"a\"} 50; "
                             "{__name__=\"g\",job=\"b\"} 5");
    EXPECT("g and g offset 30s", "{__name__=\"g\",job=\"a\"} 50; "
                                 "{__name__=\"g\",job=\"b\"} 5");
}

static void test_aggregations(void)
{
    EXPECT("sum(x)", "{} 360");
    EXPECT("avg(x)", "{} 120");
    EXPECT("min(x)", "{} 60");
    EXPECT("max(x)", "{} 180");
    EXPECT("count(x)", "{} 3");
    EXPECT("group(x)", "{} 1");
    EXPECT("stdvar(x)", "{} 2400");
    EXPECT("stddev(x)", "{} 48.98979486");
    EXPECT("count without (i) (x)", "{job=\"a\"} 2; {job=\"b\"} 1");
    EXPECT("sum by (job) (x)", "{job=\"a\"} 180; {job=\"b\"} 180");
    EXPECT("topk(2, x)", "{__name__=\"x\",i=\"1\",job=\"b\"} 180; "
                         "{__name__=\"x\",i=\"2\",job=\"a\"} 120");
    EXPECT("bottomk(1, x)", "{__name__=\"x\",i=\"1\",job=\"a\"} 60");
    EXPECT("quantile(0.5, x)", "{} 120");
    EXPECT("quantile by (job) (0.5, x)", "{job=\"a\"} 90; {job=\"b\"} 180");
    EXPECT("sum(nothing)", "");
}

static void test_instant_functions(void)
{
    EXPECT("abs(-g)", "{job=\"a\"} 50; {job=\"b\"} 5");
    EXPECT("ceil(vector(1.2))", "{} 2");
    EXPECT("floor(vector(1.8))", "{} 1");
    EXPECT("round(vector(2.5))", "{} 3");
    EXPECT("round(vector(2.24), 0.1)", "{} 2.2");
    EXPECT("sqrt(vector(16))", "{} 4");
    EXPECT("exp(vector(0))", "{} 1");
    EXPECT("ln(vector(1))", "{} 0");
    EXPECT("clamp(g, 10, 20)", "{job=\"a\"} 20; {job=\"b\"} 10");
    EXPECT("clamp_min(g, 10)", "{job=\"a\"} 50; {job=\"b\"} 10");
    EXPECT("clamp_max(g, 10)", "{job=\"a\"} 10; {job=\"b\"} 5");
    EXPECT("clamp(g, 5, 1)", "");
    EXPECT("label_replace(g, \"dst\", \"x-$1\", \"job\", \"(a)\")",
           "{__name__=\"g\",dst=\"x-a\",job=\"a\"} 50; {__name__=\"g\",job=\"b\"} 5");
    EXPECT("absent(nope{job=\"x\",a=~\"b\"})", "{job=\"x\"} 1");
    EXPECT("absent(g)", "");
    EXPECT("histogram_quantile(0.5, b)", "{} 0.55");
    EXPECT("histogram_quantile(0.5, sum by (le) (b))", "{} 0.55");
}

static void test_refusals(void)
{
    EXPECT_ERR("predict_linear(x[5m], 60)",
               "function `predict_linear` is not supported (at 1:1)");
    EXPECT_ERR("count_values(\"v\", x)", "aggregation `count_values` is not supported");
    EXPECT_ERR("rate(x[5m:1m])", "`subquery` is not supported");
    EXPECT_ERR("x @ 100", "`@` is not supported");
    EXPECT_ERR("sum(x", "1:6: parse error: unexpected end of input");
    EXPECT_ERR("rate(x)", "expected type range vector in call to function "
                          "\"rate\", got instant vector");
    EXPECT_ERR("1 > 2", "comparisons between scalars must use BOOL modifier");
    EXPECT_ERR("x[5m]", "range vector");
    EXPECT_ERR("nosuch(x)", "unknown function with name \"nosuch\"");
    EXPECT_ERR("x{a=~\"(\"}", "parse error");
    EXPECT_ERR("label_replace(x, \"d\", \"\", \"s\", \"(\")",
               "invalid regular expression");
    EXPECT_ERR("x and 1", "set operator \"and\" not allowed");
    EXPECT_ERR("1 + on(a) x", "vector matching only allowed between instant vectors");
    EXPECT_ERR("sum(x) by (job", "unexpected end of input");
    EXPECT_ERR("x\n  + )", "2:5: parse error");
    char deep[400];
    size_t k = 0;
    for (int i = 0; i < 150; i++)
        deep[k++] = '(';
    deep[k++] = '1';
    for (int i = 0; i < 150; i++)
        deep[k++] = ')';
    deep[k] = '\0';
    EXPECT_ERR(deep, "nested deeper than");
    /* 60 levels are within the bound */
    k = 0;
    for (int i = 0; i < 60; i++)
        deep[k++] = '(';
    deep[k++] = '1';
    for (int i = 0; i < 60; i++)
        deep[k++] = ')';
    deep[k] = '\0';
    EXPECT(deep, "1");
}

static void test_cache_and_source_check(void)
{
    char why[512];
    int err;
    const struct mg_pq *a = mg_pqe_get(pe, "sum(x)", 6, &err, why, sizeof(why));
    const struct mg_pq *b = mg_pqe_get(pe, "sum(x)", 6, &err, why, sizeof(why));
    CHECK(a && a == b);
    const char *ok = "record \"r\" { expr = function(q)\n"
                     "  -- q.promql('bad[') is a comment\n"
                     "  local s = \"q.promql('bad[')\"\n"
                     "  local a = q.promql(\"sum(\" .. sel .. \")\")\n"
                     "  local promql = 'not promql ('\n"
                     "  return q.promql [[sum(rate(x[5m]))]] end }\n";
    CHECK(mg_pqe_check_source(ok, strlen(ok), "f.lua", why, sizeof(why)) == 0);
    const char *bad = "record \"r\" { expr = function(q)\n"
                      "  local a = 1\n"
                      "  return q.promql(\"holt_winters(x[5m], 0.1, 0.1)\") end }\n";
    CHECK(mg_pqe_check_source(bad, strlen(bad), "f.lua", why, sizeof(why)) ==
          -EINVAL);
    CHECK(strcmp(why, "f.lua:3: promql: function `holt_winters` is not "
                      "supported (at 1:1)") == 0);
    const char *shorthand = "alert \"A\" {\n promql = 'rate(x[5m]'\n}\n";
    CHECK(mg_pqe_check_source(shorthand, strlen(shorthand), "g.lua", why,
                              sizeof(why)) == -EINVAL);
    CHECK(strstr(why, "g.lua:2: promql: ") != NULL);
}

/* GET /api/v1/query's bodies: Prometheus's shapes, values as strings. */
static void test_json(void)
{
    struct mg_buf b = {0};
    char why[512];
    CHECK(mg_pqe_query_json(q, st, "g{job=\"a\"} / 0", 14, S(60), &b, why,
                            sizeof(why)) == 0);
    mg_buf_addc(&b, '\0');
    CHECK(b.p && strcmp(b.p, "{\"status\":\"success\",\"data\":{\"resultType\":"
                             "\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},"
                             "\"value\":[1700000060.000,\"+Inf\"]}]}}\n") == 0);
    b.len = 0;
    CHECK(mg_pqe_query_json(q, st, "0/0", 3, S(60), &b, why, sizeof(why)) == 0);
    mg_buf_addc(&b, '\0');
    CHECK(strcmp(b.p, "{\"status\":\"success\",\"data\":{\"resultType\":"
                      "\"scalar\",\"result\":[1700000060.000,\"NaN\"]}}\n") == 0);
    b.len = 0;
    CHECK(mg_pqe_query_json(q, st, "sum(", 4, S(60), &b, why, sizeof(why)) ==
          -EINVAL);
    CHECK(mg_pqe_query_json(q, st, "x / on() x", 10, S(60), &b, why,
                            sizeof(why)) == -ERANGE);
    CHECK(b.len == 0);
    mg_buf_fini(&b);
}

/* An instant selector sees a series written in the last 5 minutes only,
 * as Prometheus's lookback; the offset form reads the history. */
static void test_staleness(void)
{
    now = S(60 + 299);
    EXPECT("g", "{__name__=\"g\",job=\"a\"} 50; {__name__=\"g\",job=\"b\"} 5");
    now = S(60 + 300);
    push(MG_GAUGE, "fresh", "job=a", 1);
    EXPECT("g", "");
    EXPECT("count(g or fresh)", "{} 1");
}

int main(void)
{
    st = mg_store_new();
    q = mg_query_new(0);
    pe = mg_pqe_new();
    if (!st || !q || !pe)
        return 1;
    feed();
    test_literals_and_precedence();
    test_range_functions();
    test_binary();
    test_aggregations();
    test_instant_functions();
    test_refusals();
    test_cache_and_source_check();
    test_json();
    test_staleness();
    mg_pqe_free(pe);
    mg_query_free(q);
    mg_store_free(st);
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
