/* test_relabel: mg_relabel against Prometheus's model/relabel tests
 * (relabel_test.go, the relabel files of config/testdata), every action and
 * default, the config checks with the field named, and a pathological
 * regex. The regex dialect itself is test_regex.c's. Exits non-zero and
 * names each failed case. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "mg_labels.h"
#include "mg_relabel.h"
#include "mg_test.h"

static lua_State *L;


/* Label lists: name, value, name, value, ...; NULL-terminated. */
#define LABELS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})
#define DROPPED NULL

/* Evaluates the Lua expression cfg and compiles it; the Lua stack must be
 * as it was. */
static int compile(int line, const char *cfg, struct mg_relabel **rl,
                   char *why, size_t whylen)
{
    char src[8192];
    snprintf(src, sizeof(src), "return %s", cfg);
    *rl = NULL;
    why[0] = '\0';
    if (luaL_dostring(L, src) != LUA_OK) {
        FAIL_AT(line, "lua: %s", lua_tostring(L, -1));
        lua_settop(L, 0);
        return -1;
    }
    lua_pushinteger(L, 42); /* a neighbour that must survive */
    lua_insert(L, -2);
    int top = lua_gettop(L);
    int rc = mg_relabel_compile(L, -1, rl, why, whylen);
    if (lua_gettop(L) != top || lua_tointeger(L, 1) != 42)
        FAIL_AT(line, "compile changed the Lua stack");
    if (rc != 0 && *rl)
        FAIL_AT(line, "compile failed but returned a plan");
    lua_settop(L, 0);
    return rc;
}

static void fill(struct mg_lbuild *lb, const char *const *in)
{
    for (size_t i = 0; in[i]; i += 2)
        mg_lbuild_set(lb, in[i], strlen(in[i]), in[i + 1], strlen(in[i + 1]));
}

static void dump(const struct mg_lbuild *lb)
{
    fprintf(stderr, "    got {");
    for (size_t i = 0; i < lb->n; i++)
        fprintf(stderr, "%s%.*s=\"%.*s\"", i ? ", " : "", (int)lb->v[i].nlen,
                lb->v[i].name, (int)lb->v[i].vlen, lb->v[i].value);
    fprintf(stderr, "}\n");
}

/* 1 when every pair of want is in lb (and, if exact, nothing else). */
static int has_labels(const struct mg_lbuild *lb, const char *const *want,
                      int exact)
{
    size_t n = 0;
    for (size_t i = 0; want[i]; i += 2, n++) {
        const struct mg_label *l = mg_lbuild_get(lb, want[i], strlen(want[i]));
        if (!l || l->vlen != strlen(want[i + 1]) ||
            memcmp(l->value, want[i + 1], l->vlen) != 0)
            return 0;
    }
    return !exact || n == lb->n;
}

/* Compiles cfg, applies it to in, and wants exactly the labels want, or the
 * series dropped when want is DROPPED. */
static void check_subset(int line, const char *cfg, const char *const *in,
                         const char *const *want, int exact)
{
    char why[160];
    struct mg_relabel *rl;
    MG_TEST_CASE();
    if (compile(line, cfg, &rl, why, sizeof(why)) != 0) {
        FAIL_AT(line, "compile refused: %s", why);
        return;
    }
    struct mg_lbuild lb;
    mg_lbuild_init(&lb);
    fill(&lb, in);
    int rc = mg_relabel_apply(rl, &lb, why, sizeof(why));
    if (!want) {
        if (rc != 0) {
            FAIL_AT(line, "want dropped, apply returned %d (%s)", rc,
                 rc < 0 ? why : "");
            dump(&lb);
        }
    } else if (rc != 1) {
        FAIL_AT(line, "want kept, apply returned %d (%s)", rc, rc < 0 ? why : "");
    } else if (!has_labels(&lb, want, exact)) {
        FAIL_AT(line, "labels differ");
        dump(&lb);
    }
    mg_lbuild_fini(&lb);
    mg_relabel_free(rl);
}

static void check(int line, const char *cfg, const char *const *in,
                  const char *const *want)
{
    check_subset(line, cfg, in, want, 1);
}

/* The regex of a keep step matches value, or not. */
static void matches(int line, const char *regex, const char *value, int want)
{
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             "{{source_labels={'a'}, regex=%s, action='keep'}}", regex);
    check(line, cfg, LABELS("a", value), want ? LABELS("a", value) : DROPPED);
}

/* A replace over a="abc"-like input writes want into t ("" = absent). */
static void expands(int line, const char *regex, const char *value,
                    const char *repl, const char *want)
{
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             "{{source_labels={'a'}, regex=%s, target_label='t', "
             "replacement=%s}}",
             regex, repl);
    if (*want)
        check(line, cfg, LABELS("a", value), LABELS("a", value, "t", want));
    else
        check(line, cfg, LABELS("a", value), LABELS("a", value));
}

/* Compile must refuse cfg with a message containing want. */
static void refuses(int line, const char *cfg, const char *want)
{
    char why[160];
    struct mg_relabel *rl;
    MG_TEST_CASE();
    int rc = compile(line, cfg, &rl, why, sizeof(why));
    if (rc != -EINVAL) {
        FAIL_AT(line, "want -EINVAL containing \"%s\", got %d (%s)", want, rc,
             why);
        mg_relabel_free(rl);
        return;
    }
    if (!strstr(why, want))
        FAIL_AT(line, "want a message containing \"%s\", got \"%s\"", want, why);
}

static void accepts(int line, const char *cfg)
{
    char why[160];
    struct mg_relabel *rl;
    MG_TEST_CASE();
    if (compile(line, cfg, &rl, why, sizeof(why)) != 0)
        FAIL_AT(line, "want accepted, got \"%s\"", why);
    mg_relabel_free(rl);
}

static void refuses_regex(int line, const char *regex, const char *want)
{
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             "{{source_labels={'a'}, regex=%s, action='keep'}}", regex);
    refuses(line, cfg, "relabel[1].regex: ");
    refuses(line, cfg, want);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- ported from relabel_test.go TestRelabel ---- */

static void test_prometheus_relabel(void)
{
    check(__LINE__,
          "{{source_labels={'a'}, regex='f(.*)', target_label='d', "
          "separator=';', replacement='ch${1}-ch${1}', action='replace'}}",
          LABELS("a", "foo", "b", "bar", "c", "baz"),
          LABELS("a", "foo", "b", "bar", "c", "baz", "d", "choo-choo"));
    check(__LINE__,
          "{{source_labels={'a','b'}, regex='f(.*);(.*)r', target_label='a', "
          "separator=';', replacement='b${1}${2}m'},"
          " {source_labels={'c','a'}, regex='(b).*b(.*)ba(.*)', "
          "target_label='d', separator=';', replacement='$1$2$2$3'}}",
          LABELS("a", "foo", "b", "bar", "c", "baz"),
          LABELS("a", "boobam", "b", "bar", "c", "baz", "d", "boooom"));
    check(__LINE__,
          "{{source_labels={'a'}, regex='.*o.*', action='drop'},"
          " {source_labels={'a'}, regex='f(.*)', target_label='d', "
          "replacement='ch$1-ch$1'}}",
          LABELS("a", "foo"), DROPPED);
    check(__LINE__, "{{source_labels={'a'}, regex='.*o.*', action='drop'}}",
          LABELS("a", "foo", "b", "bar"), DROPPED);
    check(__LINE__,
          "{{source_labels={'a'}, regex='.*(b).*', target_label='d', "
          "replacement='$1'}}",
          LABELS("a", "abc"), LABELS("a", "abc", "d", "b"));
    check(__LINE__, "{{source_labels={'a'}, regex='no-match', action='drop'}}",
          LABELS("a", "foo"), LABELS("a", "foo"));
    /* Anchored: f|o matches neither "f" nor "o" inside "foo". */
    check(__LINE__, "{{source_labels={'a'}, regex='f|o', action='drop'}}",
          LABELS("a", "foo"), LABELS("a", "foo"));
    check(__LINE__, "{{source_labels={'a'}, regex='no-match', action='keep'}}",
          LABELS("a", "foo"), DROPPED);
    check(__LINE__, "{{source_labels={'a'}, regex='f.*', action='keep'}}",
          LABELS("a", "foo"), LABELS("a", "foo"));
    /* No replacement when nothing matches. */
    check(__LINE__,
          "{{source_labels={'a'}, regex='f', target_label='b', "
          "replacement='bar'}}",
          LABELS("a", "boo"), LABELS("a", "boo"));
    /* A blank replacement deletes the label. */
    check(__LINE__,
          "{{source_labels={'a'}, regex='(f).*', target_label='$1', "
          "replacement='$2'}}",
          LABELS("a", "foo", "f", "baz"), LABELS("a", "foo"));
    check(__LINE__,
          "{{source_labels={'c'}, target_label='d', separator=';', "
          "action='hashmod', modulus=1000}}",
          LABELS("a", "foo", "b", "bar", "c", "baz"),
          LABELS("a", "foo", "b", "bar", "c", "baz", "d", "976"));
    check(__LINE__,
          "{{source_labels={'a'}, target_label='b', action='hashmod', "
          "modulus=1000}}",
          LABELS("a", "foo\nbar"), LABELS("a", "foo\nbar", "b", "734"));
    check(__LINE__,
          "{{regex='(b.*)', replacement='bar_${1}', action='labelmap'}}",
          LABELS("a", "foo", "b1", "bar", "b2", "baz"),
          LABELS("a", "foo", "b1", "bar", "b2", "baz", "bar_b1", "bar",
                 "bar_b2", "baz"));
    check(__LINE__,
          "{{regex='__meta_(my.*)', replacement='${1}', action='labelmap'}}",
          LABELS("a", "foo", "__meta_my_bar", "aaa", "__meta_my_baz", "bbb",
                 "__meta_other", "ccc"),
          LABELS("a", "foo", "__meta_my_bar", "aaa", "__meta_my_baz", "bbb",
                 "__meta_other", "ccc", "my_bar", "aaa", "my_baz", "bbb"));
    check(__LINE__,
          "{{source_labels={'a'}, regex='some-([^-]+)-([^,]+)', "
          "action='replace', replacement='${2}', target_label='${1}'}}",
          LABELS("a", "some-name-value"),
          LABELS("a", "some-name-value", "name", "value"));
    check(__LINE__,
          "{{source_labels={'a'}, regex='some-([^-]+)-([^,]+)', "
          "action='replace', replacement='${3}', target_label='${1}'}}",
          LABELS("a", "some-name-value"), LABELS("a", "some-name-value"));
    check(__LINE__,
          "{{source_labels={'a'}, regex='some-([^-]+)-([^,]+)', "
          "replacement='${1}', target_label='${3}'},"
          " {source_labels={'a'}, regex='some-([^-]+)-([^,]+)', "
          "replacement='${1}', target_label='${3}'},"
          " {source_labels={'a'}, regex='some-([^-]+)(-[^,]+)', "
          "replacement='${1}', target_label='${3}'}}",
          LABELS("a", "some-name-0"), LABELS("a", "some-name-0"));
    check(__LINE__,
          "{{source_labels={'__meta_sd_tags'}, "
          "regex='(?:.+,|^)path:(/[^,]+).*', replacement='${1}', "
          "target_label='__metrics_path__'},"
          " {source_labels={'__meta_sd_tags'}, regex='(?:.+,|^)job:([^,]+).*',"
          " replacement='${1}', target_label='job'},"
          " {source_labels={'__meta_sd_tags'}, "
          "regex='(?:.+,|^)label:([^=]+)=([^,]+).*', replacement='${2}', "
          "target_label='${1}'}}",
          LABELS("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"),
          LABELS("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar",
                 "__metrics_path__", "/secret", "job", "some-job", "foo",
                 "bar"));
    /* prometheus/prometheus#12283 */
    check(__LINE__,
          "{{regex='^__meta_kubernetes_pod_container_port_name$', "
          "action='labeldrop'},"
          " {source_labels="
          "{'__meta_kubernetes_pod_annotation_XXX_metrics_port'},"
          " regex='(.+)', replacement='metrics', "
          "target_label='__meta_kubernetes_pod_container_port_name'},"
          " {source_labels={'__meta_kubernetes_pod_container_port_name'}, "
          "regex='^metrics$', action='keep'}}",
          LABELS("__meta_kubernetes_pod_container_port_name", "foo",
                 "__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
          LABELS("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091",
                 "__meta_kubernetes_pod_container_port_name", "metrics"));
    check(__LINE__, "{{regex='(b.*)', action='labelkeep'}}",
          LABELS("a", "foo", "b1", "bar", "b2", "baz"),
          LABELS("b1", "bar", "b2", "baz"));
    check(__LINE__, "{{regex='(b.*)', action='labeldrop'}}",
          LABELS("a", "foo", "b1", "bar", "b2", "baz"), LABELS("a", "foo"));
    check(__LINE__,
          "{{source_labels={'foo'}, action='uppercase', "
          "target_label='foo_uppercase'},"
          " {source_labels={'foo'}, action='lowercase', "
          "target_label='foo_lowercase'}}",
          LABELS("foo", "bAr123Foo"),
          LABELS("foo", "bAr123Foo", "foo_lowercase", "bar123foo",
                 "foo_uppercase", "BAR123FOO"));
    const char *const *ports = LABELS("__tmp_port", "1234", "__port1", "1234",
                                      "__port2", "5678");
    check(__LINE__,
          "{{source_labels={'__tmp_port'}, action='keepequal', "
          "target_label='__port1'}}",
          ports, ports);
    check(__LINE__,
          "{{source_labels={'__tmp_port'}, action='dropequal', "
          "target_label='__port1'}}",
          ports, DROPPED);
    check(__LINE__,
          "{{source_labels={'__tmp_port'}, action='dropequal', "
          "target_label='__port2'}}",
          ports, ports);
    check(__LINE__,
          "{{source_labels={'__tmp_port'}, action='keepequal', "
          "target_label='__port2'}}",
          ports, DROPPED);
    /* (?s): . crosses newlines. */
    check(__LINE__,
          "{{source_labels={'a'}, regex='line1.*line2', target_label='d', "
          "replacement='match${1}'}}",
          LABELS("a", "line1\nline2", "b", "bar", "c", "baz"),
          LABELS("a", "line1\nline2", "b", "bar", "c", "baz", "d", "match"));
    check(__LINE__,
          "{{source_labels={'a'}, regex='(line1).*(?<second>line2)', "
          "target_label='label1_${1}', replacement='val_${second}'},"
          " {source_labels={'a'}, regex='(line1).*(?<second>line2)', "
          "target_label='label2_$1', replacement='val_$second'}}",
          LABELS("a", "line1\nline2", "b", "bar", "c", "baz"),
          LABELS("a", "line1\nline2", "b", "bar", "c", "baz", "label1_line1",
                 "val_line2", "label2_line1", "val_line2"));
    check(__LINE__,
          "{{source_labels={'__name__'}, regex='.*_total$', "
          "target_label='__type__', replacement='counter'}}",
          LABELS("__name__", "http_requests_total"),
          LABELS("__name__", "http_requests_total", "__type__", "counter"));
    check(__LINE__,
          "{{source_labels={'__name__'}, regex='.*_bytes$', "
          "target_label='__unit__', replacement='bytes'}}",
          LABELS("__name__", "disk_usage_bytes"),
          LABELS("__name__", "disk_usage_bytes", "__unit__", "bytes"));
}

/* BenchmarkRelabel's "kubernetes" and "static label pair" configs. */
static void test_prometheus_benchmark_configs(void)
{
    static const char k8s[] =
        "{{source_labels={'__meta_kubernetes_pod_container_port_name'}, "
        "regex='.*-metrics', action='keep'},"
        " {source_labels={'__meta_kubernetes_pod_label_name'}, action='drop', "
        "regex=''},"
        " {source_labels={'__meta_kubernetes_pod_phase'}, "
        "regex='Succeeded|Failed', action='drop'},"
        " {source_labels={'__meta_kubernetes_pod_annotation_prometheus_io_"
        "scrape'}, regex='false', action='drop'},"
        " {source_labels={'__meta_kubernetes_pod_annotation_prometheus_io_"
        "scheme'}, target_label='__scheme__', regex='(https?)', "
        "replacement='$1', action='replace'},"
        " {source_labels={'__meta_kubernetes_pod_annotation_prometheus_io_"
        "path'}, target_label='__metrics_path__', regex='(.+)', "
        "replacement='$1', action='replace'},"
        " {source_labels={'__address__', "
        "'__meta_kubernetes_pod_annotation_prometheus_io_port'}, "
        "target_label='__address__', regex=[[(.+?)(\\:\\d+)?;(\\d+)]], "
        "replacement='$1:$3', action='replace'},"
        " {regex='__meta_kubernetes_pod_annotation_prometheus_io_param_(.+)', "
        "replacement='__param_$1', action='labelmap'},"
        " {regex='__meta_kubernetes_pod_label_prometheus_io_label_(.+)', "
        "action='labelmap'},"
        " {regex='__meta_kubernetes_pod_annotation_prometheus_io_label_(.+)', "
        "action='labelmap'},"
        " {source_labels={'__meta_kubernetes_namespace', "
        "'__meta_kubernetes_pod_label_name'}, separator='/', "
        "target_label='job', replacement='$1', action='replace'},"
        " {source_labels={'__meta_kubernetes_namespace'}, "
        "target_label='namespace', action='replace'},"
        " {source_labels={'__meta_kubernetes_pod_name'}, target_label='pod', "
        "action='replace'},"
        " {source_labels={'__meta_kubernetes_pod_container_name'}, "
        "target_label='container', action='replace'},"
        " {source_labels={'__meta_kubernetes_pod_name', "
        "'__meta_kubernetes_pod_container_name', "
        "'__meta_kubernetes_pod_container_port_name'}, separator=':', "
        "target_label='instance', action='replace'},"
        " {target_label='cluster', replacement='dev-us-central-0'},"
        " {source_labels={'__meta_kubernetes_namespace'}, "
        "regex='hosted-grafana', action='drop'},"
        " {source_labels={'__address__'}, target_label='__tmp_hash', "
        "modulus=%d, action='hashmod'},"
        " {source_labels={'__tmp_hash'}, regex='^0$', action='keep'},"
        " {regex='__tmp_hash', action='labeldrop'}}";
    const char *const *in = LABELS(
        "__address__", "10.132.183.40:80", "__meta_kubernetes_namespace",
        "loki-boltdb-shipper",
        "__meta_kubernetes_pod_container_name", "promtail",
        "__meta_kubernetes_pod_container_port_name", "http-metrics",
        "__meta_kubernetes_pod_label_name", "promtail-loki-boltdb-shipper",
        "__meta_kubernetes_pod_name", "promtail-loki-boltdb-shipper-jgtr7",
        "__meta_kubernetes_pod_phase", "Running", "__metrics_path__",
        "/metrics", "__scheme__", "http", "job", "kubernetes-pods");
    char cfg[4096];

    /* md5("10.132.183.40:80") mod 3 is 1: the keep on ^0$ drops it. */
    snprintf(cfg, sizeof(cfg), k8s, 3);
    check(__LINE__, cfg, in, DROPPED);
    snprintf(cfg, sizeof(cfg), k8s, 1);
    check_subset(__LINE__, cfg, in,
                 LABELS("job", "loki-boltdb-shipper/promtail-loki-boltdb-"
                               "shipper",
                        "namespace", "loki-boltdb-shipper", "pod",
                        "promtail-loki-boltdb-shipper-jgtr7", "container",
                        "promtail", "instance",
                        "promtail-loki-boltdb-shipper-jgtr7:promtail:http-"
                        "metrics",
                        "cluster", "dev-us-central-0", "__address__",
                        "10.132.183.40:80", "__scheme__", "http"),
                 0);
    check(__LINE__, "{{regex='__tmp_hash', action='labeldrop'}}",
          LABELS("__tmp_hash", "0", "x", "y"), LABELS("x", "y"));

    check(__LINE__,
          "{{replacement='wwwwww', target_label='wwwwww'},"
          " {replacement='yyyyyyyyyyyy', target_label='xxxxxxxxx'},"
          " {replacement='xxxxxxxxx', target_label='yyyyyyyyyyyy'},"
          " {source_labels={'something'}, target_label='with_source_labels', "
          "replacement='value'},"
          " {replacement='dropped', target_label='${0}'},"
          " {replacement='${0}', target_label='dropped'}}",
          LABELS("job", "foo"),
          LABELS("job", "foo", "wwwwww", "wwwwww", "xxxxxxxxx",
                 "yyyyyyyyyyyy", "yyyyyyyyyyyy", "xxxxxxxxx",
                 "with_source_labels", "value"));
}

static void test_actions_and_defaults(void)
{
    /* Defaults: replace, (.*), $1, ';'. */
    check(__LINE__, "{{source_labels={'a','b'}, target_label='c'}}",
          LABELS("a", "x", "b", "y"), LABELS("a", "x", "b", "y", "c", "x;y"));
    check(__LINE__,
          "{{source_labels={'a','b'}, separator='', target_label='c'}}",
          LABELS("a", "x", "b", "y"), LABELS("a", "x", "b", "y", "c", "xy"));
    check(__LINE__,
          "{{source_labels={'a','missing','b'}, separator='/', "
          "target_label='c'}}",
          LABELS("a", "x", "b", "y"), LABELS("a", "x", "b", "y", "c", "x//y"));
    /* Static labels and the fast path; an empty replacement deletes. */
    check(__LINE__, "{{target_label='cluster', replacement='dev'}}",
          LABELS("a", "x"), LABELS("a", "x", "cluster", "dev"));
    check(__LINE__, "{{target_label='job', replacement=''}}",
          LABELS("job", "x", "a", "y"), LABELS("a", "y"));
    /* An empty source value replaces the target with "" : deleted. */
    check(__LINE__, "{{source_labels={'missing'}, target_label='a'}}",
          LABELS("a", "x"), NONE);
    /* regex '' matches only the empty value. */
    check(__LINE__, "{{source_labels={'a'}, regex='', action='drop'}}",
          LABELS("b", "x"), DROPPED);
    check(__LINE__, "{{source_labels={'a'}, regex='', action='drop'}}",
          LABELS("a", "x"), LABELS("a", "x"));
    /* Actions are case-insensitive. */
    check(__LINE__, "{{source_labels={'a'}, regex='x', action='KeeP'}}",
          LABELS("a", "x"), LABELS("a", "x"));
    /* __name__ is an ordinary label. */
    check(__LINE__,
          "{{source_labels={'__name__'}, regex='(.*)_ms', "
          "target_label='__name__', replacement='${1}_seconds'}}",
          LABELS("__name__", "rpc_latency_ms", "job", "api"),
          LABELS("__name__", "rpc_latency_seconds", "job", "api"));
    /* keepequal with a missing target compares against "". */
    check(__LINE__,
          "{{source_labels={'missing'}, action='keepequal', "
          "target_label='also_missing'}}",
          LABELS("a", "x"), LABELS("a", "x"));
    /* A drop stops the plan: later steps do not run. */
    check(__LINE__,
          "{{source_labels={'a'}, regex='x', action='drop'},"
          " {target_label='b', replacement='c'}}",
          LABELS("a", "x"), DROPPED);
    /* labelmap reads the labels as they were before the step. */
    check(__LINE__, "{{regex='(.*)', replacement='${1}_x', action='labelmap'}}",
          LABELS("a", "1", "b", "2"),
          LABELS("a", "1", "b", "2", "a_x", "1", "b_x", "2"));
    /* ... even when it overwrites a label it has yet to visit: "a" sets
     * ax=1, then ax is mapped with its old value 2 (Builder.Range). */
    check(__LINE__,
          "{{regex='(a|ax)', replacement='${1}x', action='labelmap'}}",
          LABELS("a", "1", "ax", "2"),
          LABELS("a", "1", "ax", "1", "axx", "2"));
    /* A labelmap result that is not a label name is skipped. */
    check(__LINE__, "{{regex='l(.*)', replacement='$1', action='labelmap'}}",
          LABELS("l1", "v", "lok", "w"), LABELS("l1", "v", "lok", "w", "ok",
                                                  "w"));
    check(__LINE__, "{{regex='a|c', action='labelkeep'}}",
          LABELS("a", "1", "b", "2", "c", "3"), LABELS("a", "1", "c", "3"));
    /* Unicode case mapping, and U+FFFD for a byte that is not UTF-8, as
     * Go's strings.ToLower. */
    check(__LINE__,
          "{{source_labels={'a'}, action='lowercase', target_label='l'},"
          " {source_labels={'a'}, action='uppercase', target_label='u'}}",
          LABELS("a", "\xc3\x84rger-\xc3\xa9t\xc3\xa9"),
          LABELS("a", "\xc3\x84rger-\xc3\xa9t\xc3\xa9", "l",
                 "\xc3\xa4rger-\xc3\xa9t\xc3\xa9", "u",
                 "\xc3\x84RGER-\xc3\x89T\xc3\x89"));
    check(__LINE__,
          "{{source_labels={'a'}, action='lowercase', target_label='l'}}",
          LABELS("a", "A\xff"), LABELS("a", "A\xff", "l", "a\xef\xbf\xbd"));
    /* An empty input to lowercase deletes the target. */
    check(__LINE__,
          "{{source_labels={'missing'}, action='lowercase', target_label='l'}}",
          LABELS("l", "x"), NONE);
    /* No configs: everything is kept. */
    check(__LINE__, "{}", LABELS("a", "x"), LABELS("a", "x"));
}

static void test_hashmod(void)
{
    /* Expected values: int.from_bytes(md5(v).digest()[8:], "big") % m,
     * which is Prometheus's binary.BigEndian.Uint64(sum[8:]) % m. */
    check(__LINE__,
          "{{source_labels={'a','b'}, target_label='h', action='hashmod', "
          "modulus=16}}",
          LABELS("a", "a", "b", "b"), LABELS("a", "a", "b", "b", "h", "10"));
    check(__LINE__,
          "{{source_labels={'missing'}, target_label='h', action='hashmod', "
          "modulus=7}}",
          NONE, LABELS("h", "1"));
    check(__LINE__,
          "{{source_labels={'a'}, target_label='h', action='hashmod', "
          "modulus=math.maxinteger}}",
          LABELS("a", "x"), LABELS("a", "x", "h", "8487128391145514919"));
    check(__LINE__,
          "{{source_labels={'a'}, target_label='h', action='hashmod', "
          "modulus=3.0}}",
          LABELS("a", "10.132.183.40:80"),
          LABELS("a", "10.132.183.40:80", "h", "1"));
}

/* Regexes and templates through the config: the full tables are in
 * test_regex.c. */
static void test_regex(void)
{
    /* Prometheus compiles ^(?s:REGEX)$ as one string, so a ) in REGEX
     * closes the wrapper: "x)|(o" is ^(?s:x)|(o)$, which finds "o" at the
     * end of "foo". */
    matches(__LINE__, "'x)|(o'", "foo", 1);
    matches(__LINE__, "'(?i)abc'", "ABC", 1);
    matches(__LINE__, "[[\\s]]", "\v", 0); /* RE2's \s has no \v */
    matches(__LINE__, "'a'", "a\n", 0);   /* $ is the end of text */
    matches(__LINE__, "'a{,2}'", "a{,2}", 1);
    matches(__LINE__, "[[\\pL+]]", "h\xc3\xa9llo", 1);
    refuses_regex(__LINE__, "'(?=a)'", "lookahead");
    refuses_regex(__LINE__, "'(?<!a)b'", "lookbehind");
    refuses_regex(__LINE__, "[[(a)\\1]]", "backreferences");
    refuses_regex(__LINE__, "'(?P<n>a)(?P=n)'", "backreferences");
    refuses_regex(__LINE__, "'(?>a)'", "atomic");
    refuses_regex(__LINE__, "'a++'", "possessive");
    refuses_regex(__LINE__, "'(a)(?R)'", "recursion");
    refuses_regex(__LINE__, "[[\\C]]", "invalid escape sequence: `\\C`");
    refuses_regex(__LINE__, "'a{1001}'", "invalid repeat count");
    refuses_regex(__LINE__, "'a\\255'", "not valid UTF-8");

    const char *re = "'(a)(b)(?P<rest>c)'";
    expands(__LINE__, re, "abc", "'[$$]'", "[$]");
    expands(__LINE__, re, "abc", "'x$1x'", "x");
    expands(__LINE__, re, "abc", "'x${1}x'", "xax");
    expands(__LINE__, re, "abc", "'[${1'", "[${1");
    expands(__LINE__, re, "abc", "'[$10]'", "[]");
    expands(__LINE__, re, "abc", "'[$0|$rest|${rest}]'", "[abc|c|c]");
    expands(__LINE__, "'(a)?(b)'", "b", "'[$1|$2]'", "[|b]");
    /* Expanding to empty deletes the target. */
    check(__LINE__,
          "{{source_labels={'a'}, regex='(x)?a', target_label='t', "
          "replacement='$1'}}",
          LABELS("a", "a", "t", "old"), LABELS("a", "a"));
    /* A target that expands to an invalid name leaves everything alone. */
    check(__LINE__,
          "{{source_labels={'a'}, regex='(.*)', target_label='${1}', "
          "replacement='v'}}",
          LABELS("a", "9x"), LABELS("a", "9x"));
    check(__LINE__,
          "{{source_labels={'a'}, regex='(.*)', target_label='l_${1}', "
          "replacement='v'}}",
          LABELS("a", "9x"), LABELS("a", "9x", "l_9x", "v"));
}

/* The shortcuts that skip the regex: a plain-text regex is equality on the
 * whole string (not a substring, not a prefix), the default regex and
 * replacement copy the value, and a value outside ASCII still goes through
 * the regex (whose UTF-8 check still refuses bad bytes). */
static void test_shortcuts(void)
{
    check(__LINE__, "{{regex='shard', action='labeldrop'}}",
          LABELS("shard", "1", "shard_id", "2", "xshard", "3"),
          LABELS("shard_id", "2", "xshard", "3"));
    check(__LINE__, "{{regex='shard', action='labelkeep'}}",
          LABELS("shard", "1", "shard_id", "2"), LABELS("shard", "1"));
    check(__LINE__, "{{source_labels={'a'}, regex='b-1', action='drop'}}",
          LABELS("a", "b-1"), DROPPED);
    check(__LINE__, "{{source_labels={'a'}, regex='b-1', action='drop'}}",
          LABELS("a", "b-12"), LABELS("a", "b-12"));
    check(__LINE__, "{{source_labels={'a'}, regex='b', action='keep'}}",
          LABELS("a", "B"), DROPPED);
    check(__LINE__, "{{source_labels={'a', 'b'}, separator='/', target_label='t'}}",
          LABELS("a", "x", "b", "y"), LABELS("a", "x", "b", "y", "t", "x/y"));
    check(__LINE__, "{{source_labels={'a'}, target_label='t'}}",
          LABELS("a", "h\xc3\xa9", "t", "old"), LABELS("a", "h\xc3\xa9", "t", "h\xc3\xa9"));
    check(__LINE__, "{{source_labels={'a'}, target_label='t'}}",
          LABELS("a", "x", "t", "old"), LABELS("a", "x", "t", "x"));
    check(__LINE__, "{{source_labels={'b'}, target_label='t'}}",
          LABELS("a", "x", "t", "old"), LABELS("a", "x"));
}

/* The regex shapes matched without PCRE2 (a literal prefix, then nothing,
 * .*, .+, \d* or \d+, bare or as group 1) give what PCRE2 gives, and a
 * prefix in front of anything else only ever rejects. */
static void test_regex_shapes(void)
{
    matches(__LINE__, "'never-.*'", "never-", 1);
    matches(__LINE__, "'never-.*'", "never-x\ny", 1);
    matches(__LINE__, "'never-.*'", "neve", 0);
    matches(__LINE__, "'never-.*'", "xnever-", 0);
    matches(__LINE__, "'a.+'", "a", 0);
    matches(__LINE__, "'a.+'", "ab", 1);
    matches(__LINE__, "'(.*)'", "x", 1);
    matches(__LINE__, "'.+'", "", 0);
    matches(__LINE__, "[[z\\d+]]", "z", 0);
    matches(__LINE__, "[[z\\d+]]", "z12", 1);
    matches(__LINE__, "[[z\\d+]]", "z1x", 0);
    matches(__LINE__, "[[z\\d*]]", "z", 1);
    matches(__LINE__, "[[z\\d*]]", "zÙ£", 0); /* \d is ASCII only */
    matches(__LINE__, "'ab*'", "a", 1);   /* a quantifier takes back a char */
    matches(__LINE__, "'ab?c'", "ac", 1);
    matches(__LINE__, "'ab{0}'", "a", 1);
    matches(__LINE__, "'ab|x'", "x", 1);  /* alternation: no prefix */
    matches(__LINE__, "'ab[cd]'", "abd", 1);
    matches(__LINE__, "'ab[cd]'", "abe", 0);
    matches(__LINE__, "'a(?i)b'", "aB", 1);
    matches(__LINE__, "'s(.*)'", "sÃ©", 1);
    expands(__LINE__, "'s(.*)'", "s12", "'$1'", "12");
    expands(__LINE__, "'s(.*)'", "s", "'[$1]'", "[]");
    expands(__LINE__, "[[z(\\d+)]]", "z7", "'zone-$1'", "zone-7");
    expands(__LINE__, "[[z(\\d+)]]", "zz7", "'zone-$1'", "");
    expands(__LINE__, "'(.+)'", "abc", "'<$0|$1>'", "<abc|abc>");
    expands(__LINE__, "'s.*'", "sx", "'[$0|$1]'", "[sx|]");
    expands(__LINE__, "'s(.*)'", "sx", "'${1}'", "x");
    /* a slice of a value outlives a later step that rewrites the value */
    check(__LINE__,
          "{{source_labels={'a'}, regex='s(.*)', target_label='t', "
          "replacement='$1'}, {source_labels={'a'}, regex='s(.*)', "
          "target_label='a', replacement='$1'}, {source_labels={'b'}, "
          "target_label='a'}}",
          LABELS("a", "s12", "b", "q"), LABELS("a", "q", "b", "q", "t", "12"));
    check(__LINE__,
          "{{source_labels={'a', 'b'}, regex='(.*)', target_label='t', "
          "replacement='$1'}, {source_labels={'a'}, target_label='b'}}",
          LABELS("a", "x", "b", "y"), LABELS("a", "x", "b", "x", "t", "x;y"));
}

/* relabel_test.go TestRelabelValidate and TestTargetLabelLegacyValidity,
 * config_test.go's *.bad.yml relabel files, and the Lua-side checks. */
static void test_validation(void)
{
    refuses(__LINE__, "{{action=''}}", "relabel action cannot be empty");
    refuses(__LINE__, "{{action='replace'}}",
            "relabel[1].target_label: relabel configuration for replace action "
            "requires 'target_label' value");
    refuses(__LINE__, "{{action='lowercase'}}",
            "relabel configuration for lowercase action requires "
            "'target_label' value");
    refuses(__LINE__, "{{action='lowercase', target_label='${3}'}}",
            "relabel[1].target_label: \"${3}\" is invalid 'target_label' for "
            "lowercase action");
    accepts(__LINE__,
            "{{source_labels={'a'}, regex='some-([^-]+)-([^,]+)', "
            "replacement='${1}', target_label='${3}'}}");
    refuses(__LINE__,
            "{{source_labels={'a'}, regex='x', target_label='0${3}'}}",
            "\"0${3}\" is invalid 'target_label' for replace action");
    refuses(__LINE__,
            "{{source_labels={'a'}, regex='x', target_label='-${3}'}}",
            "is invalid 'target_label'");
    accepts(__LINE__,
            "{{regex='__meta_kubernetes_pod_label_(strimzi_io_.+)', "
            "action='labelmap', replacement='$1'}}");
    accepts(__LINE__,
            "{{regex='__meta_(.+)', action='labelmap', replacement='${1}'}}");

    static const char *const valid_targets[] = {
        "label", "label${1}", "${1}label", "${1}", "$1", "asd$2asd", "_${1}_",
        "foo${bar}foo",
    };
    static const char *const invalid_targets[] = {
        "-label", "${", "$", "${}", "foo${", "-foo${1}bar-", "bar.foo${1}bar",
    };
    char cfg[256];
    for (size_t i = 0; i < sizeof(valid_targets) / sizeof(*valid_targets);
         i++) {
        snprintf(cfg, sizeof(cfg), "{{target_label='%s'}}", valid_targets[i]);
        accepts(__LINE__, cfg);
    }
    for (size_t i = 0;
         i < sizeof(invalid_targets) / sizeof(*invalid_targets); i++) {
        snprintf(cfg, sizeof(cfg), "{{target_label='%s'}}",
                 invalid_targets[i]);
        refuses(__LINE__, cfg, "relabel[1].target_label: ");
        refuses(__LINE__, cfg, "is invalid 'target_label' for replace action");
    }

    /* The relabel files among config/testdata/NAME.bad.yml. */
    refuses(__LINE__, "{{source_labels={'abcdef'}, action='dropequal'}}",
            "relabel[1].target_label: relabel configuration for dropequal "
            "action requires 'target_label' value");
    refuses(__LINE__,
            "{{source_labels={'abcdef'}, action='dropequal', regex='foo', "
            "target_label='bar'}}",
            "relabel[1].regex: dropequal action requires only "
            "'source_labels' and `target_label`, and no other fields");
    refuses(__LINE__, "{{source_labels={'abcdef'}, action='keepequal'}}",
            "keepequal action requires 'target_label' value");
    refuses(__LINE__,
            "{{source_labels={'abcdef'}, action='keepequal', regex='foo', "
            "target_label='bar'}}",
            "keepequal action requires only 'source_labels' and "
            "`target_label`, and no other fields");
    refuses(__LINE__,
            "{{source_labels={'a'}, action='keepequal', separator=',', "
            "target_label='bar'}}",
            "relabel[1].separator: keepequal action requires only");
    refuses(__LINE__,
            "{{source_labels={'a'}, action='keepequal', modulus=2, "
            "target_label='bar'}}",
            "relabel[1].modulus: keepequal action requires only");
    refuses(__LINE__,
            "{{source_labels={'a'}, action='keepequal', replacement='x', "
            "target_label='bar'}}",
            "relabel[1].replacement: 'replacement' can not be set for "
            "keepequal action");
    static const char *const label_actions[] = {"labeldrop", "labelkeep"};
    for (int i = 0; i < 2; i++) {
        const char *a = label_actions[i];
        char want[128];
        snprintf(want, sizeof(want),
                 "%s action requires only 'regex', and no other fields", a);
        snprintf(cfg, sizeof(cfg),
                 "{{source_labels={'abcdef'}, action='%s'}}", a);
        refuses(__LINE__, cfg, "relabel[1].source_labels: ");
        refuses(__LINE__, cfg, want);
        snprintf(cfg, sizeof(cfg), "{{modulus=8, action='%s'}}", a);
        refuses(__LINE__, cfg, "relabel[1].modulus: ");
        refuses(__LINE__, cfg, want);
        snprintf(cfg, sizeof(cfg), "{{separator=',', action='%s'}}", a);
        refuses(__LINE__, cfg, "relabel[1].separator: ");
        refuses(__LINE__, cfg, want);
        snprintf(cfg, sizeof(cfg), "{{replacement='yolo-{1}', action='%s'}}",
                 a);
        refuses(__LINE__, cfg, "relabel[1].replacement: ");
        refuses(__LINE__, cfg, want);
        snprintf(cfg, sizeof(cfg), "{{target_label='yolo', action='%s'}}", a);
        refuses(__LINE__, cfg, "relabel[1].target_label: ");
        refuses(__LINE__, cfg, want);
        /* A field equal to its default counts as unset. */
        snprintf(cfg, sizeof(cfg),
                 "{{regex='x', action='%s', separator=';', replacement='$1', "
                 "modulus=0, target_label='', source_labels={}}}",
                 a);
        accepts(__LINE__, cfg);
    }
    accepts(__LINE__,
            "{{source_labels={'a'}, action='dropequal', target_label='b', "
            "regex='(.*)', separator=';', replacement='$1', modulus=0}}");
    refuses(__LINE__, "{{action='lowercase', source_labels={'__name__'}}}",
            "relabel configuration for lowercase action requires "
            "'target_label' value");
    refuses(__LINE__,
            "{{action='lowercase', source_labels={'__name__'}, "
            "target_label='__name__', replacement='bar'}}",
            "relabel[1].replacement: 'replacement' can not be set for "
            "lowercase action");
    refuses(__LINE__, "{{action='uppercase', source_labels={'__name__'}}}",
            "relabel configuration for uppercase action requires "
            "'target_label' value");
    refuses(__LINE__,
            "{{action='uppercase', source_labels={'__name__'}, "
            "target_label='__name__', replacement='bar'}}",
            "'replacement' can not be set for uppercase action");
    refuses(__LINE__, "{{regex='abcdef', action='hashmod'}}",
            "relabel[1].modulus: relabel configuration for hashmod requires "
            "non-zero modulus");
    refuses(__LINE__, "{{regex='abc(def'}}", "relabel[1].regex: ");
    refuses(__LINE__,
            "{{source_labels={'__address__'}, modulus=8, action='hashmod'}}",
            "relabel configuration for hashmod action requires "
            "'target_label' value");
    refuses(__LINE__,
            "{{source_labels={'a'}, modulus=8, action='hashmod', "
            "target_label='${1}'}}",
            "is invalid 'target_label' for hashmod action");
    refuses(__LINE__, "{{regex='abcdef'}}",
            "relabel configuration for replace action requires "
            "'target_label' value");
    refuses(__LINE__, "{{action='labelmap', replacement='-$1'}}",
            "relabel[1].replacement: \"-$1\" is invalid 'replacement' for "
            "labelmap action");
    refuses(__LINE__, "{{action='labelmap', replacement=''}}",
            "is invalid 'replacement' for labelmap action");
    refuses(__LINE__, "{{action='labelmap', replacement='\\255$1'}}",
            "relabel[1].replacement: not valid UTF-8");

    /* Types, unknown keys, the list itself; the index is the Lua one. */
    refuses(__LINE__, "{{target_label='a'}, {target_label='b', regex='('}}",
            "relabel[2].regex: \"(\": missing closing )");
    refuses(__LINE__, "{{target_label='a', foo=1}}",
            "relabel[1]: unknown key 'foo'");
    refuses(__LINE__, "{{target_label='a', [1]='x'}}",
            "relabel[1]: field names must be strings, got number");
    refuses(__LINE__, "{{target_label='a', regex=5}}",
            "relabel[1].regex: must be a string, got number");
    refuses(__LINE__, "{{target_label='a', source_labels='a'}}",
            "relabel[1].source_labels: must be a list of label names, got "
            "string");
    refuses(__LINE__, "{{target_label='a', source_labels={x='a'}}}",
            "relabel[1].source_labels: must be a list of label names");
    refuses(__LINE__, "{{target_label='a', source_labels={'a', 1}}}",
            "relabel[1].source_labels: [2] must be a string, got number");
    refuses(__LINE__, "{{target_label='a', source_labels={'a-b'}}}",
            "relabel[1].source_labels: \"a-b\" is not a valid label name");
    refuses(__LINE__, "{{target_label='a', modulus=-1}}",
            "relabel[1].modulus: must be a non-negative integer");
    refuses(__LINE__, "{{target_label='a', modulus=1.5}}",
            "relabel[1].modulus: must be a non-negative integer");
    refuses(__LINE__, "{{target_label='a', modulus='8'}}",
            "relabel[1].modulus: must be a non-negative integer, got string");
    refuses(__LINE__, "{{target_label='a', action='foo'}}",
            "relabel[1].action: unknown relabel action \"foo\"");
    refuses(__LINE__, "{{target_label={}}}",
            "relabel[1].target_label: must be a string, got table");
    refuses(__LINE__, "{{target_label='a'}, 'x'}",
            "relabel[2]: must be a table, got string");
    refuses(__LINE__, "{a={target_label='a'}}",
            "relabel: must be a list of relabel configs");
    refuses(__LINE__, "'x'", "relabel: must be a list of relabel configs");
    refuses(__LINE__, "{[1]={target_label='a'}, [3]={target_label='b'}}",
            "relabel: must be a list");
    /* Raw access only: metamethods that raise are never called. */
    refuses(__LINE__,
            "setmetatable({{target_label='a'}, 'x'}, {__index=function() "
            "error('raised') end, __len=function() error('raised') end})",
            "relabel[2]: must be a table");
    accepts(__LINE__,
            "{setmetatable({target_label='a'}, {__index=function() "
            "error('raised') end, __pairs=function() error('raised') end})}");
}

static void test_limits(void)
{
    char why[160];
    struct mg_relabel *rl;
    struct mg_lbuild lb;
    MG_TEST_CASE();
    if (compile(__LINE__,
                "{{source_labels={'a'}, target_label='b'},"
                " {source_labels={'a'}, regex='(a+)+$', action='keep'}}",
                &rl, why, sizeof(why)) != 0) {
        FAIL_AT(__LINE__, "compile: %s", why);
        return;
    }
    if (mg_relabel_count(rl) != 2)
        FAIL_AT(__LINE__, "count %zu, want 2", mg_relabel_count(rl));
    size_t n = 5000;
    char *v = malloc(n + 2);
    memset(v, 'a', n);
    v[n] = 'b';
    v[n + 1] = '\0';
    mg_lbuild_init(&lb);
    mg_lbuild_set(&lb, "a", 1, v, n + 1);
    double t0 = now();
    int rc = mg_relabel_apply(rl, &lb, why, sizeof(why));
    double dt = now() - t0;
    if (rc != -1)
        FAIL_AT(__LINE__, "(a+)+$ over a...ab: want -1, got %d", rc);
    else if (!strstr(why, "relabel[2]: regex match limit exceeded"))
        FAIL_AT(__LINE__, "why: %s", why);
    if (dt > 1.0)
        FAIL_AT(__LINE__, "(a+)+$ took %.3f s", dt);
    printf("pathological regex: %d in %.1f ms (%s)\n", rc, dt * 1e3, why);

    /* A short value of the same shape is fine. */
    mg_lbuild_reset(&lb);
    mg_lbuild_set(&lb, "a", 1, "aaaa", 4);
    if (mg_relabel_apply(rl, &lb, why, sizeof(why)) != 1)
        FAIL_AT(__LINE__, "(a+)+$ over aaaa: %s", why);
    /* A value that is not UTF-8 is an error, not a silent mismatch. */
    mg_lbuild_reset(&lb);
    mg_lbuild_set(&lb, "a", 1, "a\xff", 2);
    rc = mg_relabel_apply(rl, &lb, why, sizeof(why));
    if (rc != -1 || !strstr(why, "UTF-8"))
        FAIL_AT(__LINE__, "non-UTF-8 value: %d (%s)", rc, why);
    mg_lbuild_fini(&lb);
    mg_relabel_free(rl);
    free(v);
    mg_relabel_free(NULL);
}

/* The builder's copies: every length, short ones copied without memcpy,
 * each a NUL-terminated copy that leaves the bytes around it alone. */
static void test_lbuild_copies(void)
{
    struct mg_lbuild lb;
    mg_lbuild_init(&lb);
    char src[64];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (char)('a' + i % 26);
    char *prev = NULL;
    size_t prevn = 0;
    for (size_t n = 0; n <= 40; n++) {
        char *p = mg_lbuild_strdup(&lb, src + 1, n);
        CHECK(p && memcmp(p, src + 1, n) == 0 && p[n] == '\0', "copy of %zu", n);
        if (prev)
            CHECK(memcmp(prev, src + 1, prevn) == 0 && prev[prevn] == '\0',
                  "copy of %zu kept after %zu", prevn, n);
        prev = p;
        prevn = n;
    }
    mg_lbuild_fini(&lb);
}

int main(void)
{
    test_lbuild_copies();
    L = luaL_newstate();
    if (!L)
        return 2;
    luaL_openlibs(L);
    test_prometheus_relabel();
    test_prometheus_benchmark_configs();
    test_actions_and_defaults();
    test_hashmod();
    test_regex();
    test_shortcuts();
    test_regex_shapes();
    test_validation();
    test_limits();
    lua_close(L);
    return mg_test_summary("test_relabel");
}
