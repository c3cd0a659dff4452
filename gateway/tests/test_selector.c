/* test_selector: mg_selector against Prometheus's ParseMetricSelector: every
 * form, PromQL's string literals and escapes, whitespace and comments, the
 * refusals with their line:col, PromQL's matching rules (absent labels read
 * as "", regexes anchored), the name and equality accessors, a pathological
 * regex that stops at its limit, and every prefix of valid selectors.
 * Exits non-zero and names each failed case. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_selector.h"
#include "mg_test.h"

static struct mg_rematch *m;


/* String literals may hold NUL, so their length comes from sizeof. */
#define P(s) parse_ok(__LINE__, s, sizeof(s) - 1)
#define R(s, pos, want) refuse_case(__LINE__, s, sizeof(s) - 1, pos, want)
#define V(s, label, want) value_case(__LINE__, s, label, want, sizeof(want) - 1)
#define M(s, name, labels, want) match_case(__LINE__, s, name, labels, want)
#define N(s, want) name_case(__LINE__, s, want)

static struct mg_selector *parse(int line, const char *s, size_t n)
{
    char why[160] = "";
    struct mg_selector *sel = (struct mg_selector *)1;
    int rc = mg_selector_parse(s, n, &sel, why, sizeof(why));
    if (rc != 0) {
        FAIL_AT(line, "%.*s: refused (%d): %s", (int)n, s, rc, why);
        if (sel)
            FAIL_AT(line, "refused but *out is not NULL");
        return NULL;
    }
    if (!sel)
        FAIL_AT(line, "%.*s: 0 without a selector", (int)n, s);
    return sel;
}

static void parse_ok(int line, const char *s, size_t n)
{
    MG_TEST_CASE();
    mg_selector_free(parse(line, s, n));
}

/* pos is the "line:col: " the message must start with. */
static void refuse_case(int line, const char *s, size_t n, const char *pos,
                        const char *want)
{
    char why[160] = "";
    char prefix[32];
    struct mg_selector *sel = (struct mg_selector *)1;
    MG_TEST_CASE();
    int rc = mg_selector_parse(s, n, &sel, why, sizeof(why));
    snprintf(prefix, sizeof(prefix), "%s: parse error: ", pos);
    if (rc != -EINVAL)
        FAIL_AT(line, "%.*s: want -EINVAL, got %d", (int)n, s, rc);
    else if (strncmp(why, prefix, strlen(prefix)) != 0 || !strstr(why, want))
        FAIL_AT(line, "%.*s: want \"%s...%s\", got \"%s\"", (int)n, s, prefix,
             want, why);
    if (sel) {
        FAIL_AT(line, "refused but *out is not NULL");
        if (rc == 0)
            mg_selector_free(sel);
    }
}

/* The value of the one equality matcher on label. */
static void value_case(int line, const char *s, const char *label,
                       const char *want, size_t wlen)
{
    struct mg_label eq[8];
    MG_TEST_CASE();
    struct mg_selector *sel = parse(line, s, strlen(s));
    if (!sel)
        return;
    size_t k = mg_selector_equalities(sel, eq, 8), i;
    for (i = 0; i < k && i < 8; i++) {
        if (eq[i].nlen == strlen(label) &&
            memcmp(eq[i].name, label, eq[i].nlen) == 0)
            break;
    }
    if (i == k || i == 8)
        FAIL_AT(line, "%s: no equality on %s", s, label);
    else if (eq[i].vlen != wlen || memcmp(eq[i].value, want, wlen) != 0)
        FAIL_AT(line, "%s: %s is \"%.*s\" (%u bytes), want %zu bytes", s, label,
             (int)eq[i].vlen, eq[i].value, eq[i].vlen, wlen);
    mg_selector_free(sel);
}

/* labels: "a=1,b=,c=x" (an entry "b=" is present with an empty value). */
static size_t split_labels(char *buf, struct mg_label *v, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *e = strtok_r(buf, ",", &save); e && n < max;
         e = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(e, '=');
        v[n].name = e;
        v[n].nlen = (uint32_t)(eq - e);
        v[n].value = eq + 1;
        v[n].vlen = (uint32_t)strlen(eq + 1);
        n++;
    }
    return n;
}

static void match_case(int line, const char *s, const char *name,
                       const char *labels, int want)
{
    char buf[256], why[160] = "";
    struct mg_label v[16];
    MG_TEST_CASE();
    struct mg_selector *sel = parse(line, s, strlen(s));
    if (!sel)
        return;
    snprintf(buf, sizeof(buf), "%s", labels);
    size_t n = split_labels(buf, v, 16);
    int rc = mg_selector_match(sel, m, name, name ? strlen(name) : 0, v, n,
                               why, sizeof(why));
    if (rc != want)
        FAIL_AT(line, "%s over %s{%s}: %d, want %d %s", s, name ? name : "-",
             labels, rc, want, rc < 0 ? why : "");
    mg_selector_free(sel);
}

static void name_case(int line, const char *s, const char *want)
{
    size_t nlen = 99;
    MG_TEST_CASE();
    struct mg_selector *sel = parse(line, s, strlen(s));
    if (!sel)
        return;
    const char *name = mg_selector_name(sel, &nlen);
    if (!want && (name || nlen != 0))
        FAIL_AT(line, "%s: name \"%.*s\", want none", s, (int)nlen, name);
    else if (want && (!name || nlen != strlen(want) ||
                      memcmp(name, want, nlen) != 0))
        FAIL_AT(line, "%s: name %.*s, want %s", s, name ? (int)nlen : 4,
             name ? name : "NULL", want);
    mg_selector_free(sel);
}

static void test_forms(void)
{
    P("up");
    P("up{}");
    P("up{job=\"api\"}");
    P("{job=\"api\"}");
    P("{__name__=\"up\"}");
    P("{__name__=~\"up|down\"}");
    P("up{job=\"a\",env!='prod',x=~`a.*`,y!~\"b\"}");
    P("up{job=\"a\",}");
    P("{job=\"a\",env=\"b\",}");
    P("  up  {  job = \"api\" , env != 'prod' , x =~ `a.*` , y !~ \"b\" , }  ");
    P("up\n{\n\tjob\r\n=\n\"a\"\n,\n}\n");
    P("up{job=\"a\" # the job\n} # a comment to the end");
    P("# leading comment\nup");
    P("foo:bar_baz{a=\"b\"}");
    P(":foo");
    P("_x1:2");
    /* Inside braces every word is a label name, keywords too. */
    P("up{by=\"x\",on=\"y\",offset=\"z\",bool=\"w\",__x__=\"v\"}");
    /* Keywords PromQL's grammar takes as metric names. */
    P("sum");
    P("offset{a=\"b\"}");
    P("by");
    P("Count{a=\"b\"}");
    P("information");
    /* Prometheus 3's quoted names, held to our name rules. */
    P("{\"up\", job=\"a\"}");
    P("{\"job\"=\"a\"}");
    P("up{\"job\"=~\"a|b\"}");
    /* Duplicates are allowed, as in PromQL. */
    P("up{a=\"1\",a=\"2\"}");
    P("{a=\"\",b=\"x\"}");
    P("{a!=\"\"}");
    P("{a=~\".+\"}");
    P("{a!~\".*\"}");
    /* n, not a NUL, ends the input. */
    parse_ok(__LINE__, "up{a=\"b\"}garbage", 9);
    parse_ok(__LINE__, "up{a=\"b\"}\0", 9);
}

static void test_strings(void)
{
    V("up{a=\"plain\"}", "a", "plain");
    V("up{a=\"a\\nb\\tc\"}", "a", "a\nb\tc");
    V("up{a=\"\\a\\b\\f\\r\\v\"}", "a", "\a\b\f\r\v");
    V("up{a=\"back\\\\slash\"}", "a", "back\\slash");
    V("up{a=\"say \\\"hi\\\"\"}", "a", "say \"hi\"");
    V("up{a='it\\'s'}", "a", "it's");
    V("up{a='say \"hi\"'}", "a", "say \"hi\"");
    V("up{a=\"it's\"}", "a", "it's");
    V("up{a=\"\\x41\\x7a\"}", "a", "Az");
    V("up{a=\"\\xff\"}", "a", "\xff");
    V("up{a=\"\\101\\040\\377\"}", "a", "A \xff");
    V("up{a=\"\\000\"}", "a", "\0");
    V("up{a=\"\\u00e9\\u4e2d\"}", "a", "\xc3\xa9\xe4\xb8\xad");
    V("up{a=\"\\U0001F600\"}", "a", "\xf0\x9f\x98\x80");
    V("up{a=\"\\U0010FFFF\"}", "a", "\xf4\x8f\xbf\xbf");
    V("up{a=\"caf\xc3\xa9\"}", "a", "caf\xc3\xa9");
    V("up{a=\"#not a comment\"}", "a", "#not a comment");
    V("up{a=`raw \\n \\q \"'`}", "a", "raw \\n \\q \"'");
    V("up{a=`two\nlines`}", "a", "two\nlines");
    V("up{a='\\t'}", "a", "\t");
    V("up{a=\"\\r\"}", "a", "\r");
    V("up{a=\"x\ry\"}", "a", "x\ry");
}

static void test_refusals(void)
{
    /* No name: at least one matcher that "" fails. */
    R("{}", "1:1", "vector selector must contain at least one non-empty "
                   "matcher");
    R("{a=\"\"}", "1:1", "non-empty matcher");
    R("{a=~\".*\"}", "1:1", "non-empty matcher");
    R("{a!~\".+\"}", "1:1", "non-empty matcher");
    R("{a!=\"x\"}", "1:1", "non-empty matcher");
    R("{a=\"\", b=~\"x*\"}", "1:1", "non-empty matcher");
    R("  {}", "1:3", "non-empty matcher");
    /* Nothing, or nothing a selector starts with. */
    R("", "1:1", "unexpected end of input, expected a metric name or \"{\"");
    R("   ", "1:4", "unexpected end of input");
    R("# only a comment", "1:17", "unexpected end of input");
    R("1up", "1:1", "unexpected character '1'");
    R("\"up\"", "1:1", "unexpected character '\"'");
    R("-up", "1:1", "unexpected character '-'");
    R("}", "1:1", "unexpected character '}'");
    /* Keywords the grammar does not take as a metric name. */
    R("bool", "1:1", "\"bool\" is a PromQL keyword");
    R("ON{a=\"b\"}", "1:1", "\"ON\" is a PromQL keyword");
    R("ignoring", "1:1", "keyword");
    R("group_left", "1:1", "keyword");
    R("atan2", "1:1", "keyword");
    R("inf", "1:1", "keyword");
    R("NaN{a=\"b\"}", "1:1", "keyword");
    /* After the selector. */
    R("up bar", "1:4", "unexpected identifier \"bar\" after the selector");
    R("up{job=\"a\"}}", "1:12", "unexpected character '}' after the "
                               "selector");
    R("up[5m]", "1:3", "unexpected character '['");
    R("up{a=\"b\"}{c=\"d\"}", "1:10", "unexpected \"{\" after the selector");
    R("up{a=\"b\"} offset 5m", "1:11", "unexpected identifier \"offset\"");
    R("up + 1", "1:4", "unexpected character '+'");
    /* Inside the braces: the lexer. */
    R("up{job=\"a\"", "1:11", "unexpected end of input inside braces");
    R("up{", "1:4", "unexpected end of input inside braces");
    R("up{job=\"a\",  ", "1:14", "unexpected end of input inside braces");
    R("up{job<\"a\"}", "1:7", "unexpected character inside braces: '<'");
    R("up{job~\"a\"}", "1:7", "unexpected character inside braces: '~'");
    R("up{job!\"a\"}", "1:7",
      "unexpected character after '!' inside braces: '\"'");
    R("up{job!", "1:7", "unexpected end of input after '!'");
    R("up{a.b=\"c\"}", "1:5", "unexpected character inside braces: '.'");
    R("up{a:b=\"c\"}", "1:5", "unexpected character inside braces: ':'");
    R("up{a-b=\"c\"}", "1:5", "unexpected character inside braces: '-'");
    R("up{1a=\"c\"}", "1:4", "unexpected character inside braces: '1'");
    R("up{{", "1:4", "unexpected left brace '{'");
    R("up{a=\"b\";c=\"d\"}", "1:9", "unexpected character inside braces: "
                                  "';'");
    R("up{\xc3\xa9=\"b\"}", "1:4", "unexpected character inside braces: "
                                 "'\xc3\xa9'");
    R("up{\x01}", "1:4", "unexpected character inside braces: '\\x01'");
    R("up{\t\v}", "1:5", "unexpected character inside braces: '\\v'");
    /* Inside the braces: the grammar. */
    R("up{job==\"a\"}", "1:8", "unexpected \"=\" in label matching, "
                               "expected string");
    R("up{job=}", "1:8", "unexpected \"}\" in label matching, expected "
                         "string");
    R("up{job=a}", "1:8", "unexpected identifier \"a\" in label matching, "
                          "expected string");
    R("up{job}", "1:7", "unexpected \"}\" in label matching, expected label "
                        "matching operator");
    R("up{job \"a\"}", "1:8", "expected label matching operator");
    R("up{job=\"a\" env=\"b\"}", "1:12", "unexpected identifier \"env\" in "
                                       "label matching, expected \",\" or "
                                       "\"}\"");
    R("up{job=\"a\"=\"b\"}", "1:11", "unexpected \"=\" in label matching, "
                                   "expected \",\" or \"}\"");
    R("up{,}", "1:4", "unexpected \",\" in label matching, expected label "
                      "name or \"}\"");
    R("up{job=\"a\",,}", "1:12", "unexpected \",\"");
    R("up{=\"a\"}", "1:4", "unexpected \"=\" in label matching");
    R("up{\"a\" \"b\"}", "1:8", "unexpected string \"b\" in label matching, "
                              "expected \",\" or \"}\"");
    R("up\n{\n  job=\"a\",\n  env}", "4:6", "expected label matching "
                                          "operator");
    R("{\"foo.bar\"=\"x\"}", "1:2", "invalid label name \"foo.bar\"");
    R("{\"foo.bar\"}", "1:2", "invalid metric name \"foo.bar\"");
    R("{\"\"}", "1:2", "invalid metric name");
    /* The name, twice. */
    R("up{__name__=\"x\"}", "1:1", "metric name must not be set twice: "
                                   "\"up\" or \"x\"");
    R("  up{a=\"b\",__name__=~\"x.*\"}", "1:3", "set twice");
    R("up{\"x\"}", "1:1", "set twice");
    /* Strings. */
    R("up{job=\"a}", "1:8", "unterminated quoted string");
    R("up{job='a}", "1:8", "unterminated quoted string");
    R("up{job=\"a\nb\"}", "1:8", "unterminated quoted string");
    R("up{job=`abc}", "1:8", "unterminated raw string");
    R("up{a=\"\\q\"}", "1:7", "unknown escape sequence U+0071 'q'");
    R("up{a=\"\\'\"}", "1:7", "unknown escape sequence U+0027 '''");
    R("up{a='\\\"'}", "1:7", "unknown escape sequence U+0022 '\"'");
    R("up{a=\"x\\\ny\"}", "1:8", "unknown escape sequence U+000A");
    R("up{a=\"\\x4g\"}", "1:7", "illegal character U+0067 'g' in escape "
                              "sequence");
    R("up{a=\"\\x4\"}", "1:7", "illegal character U+0022 '\"'");
    R("up{a=\"\\18\"}", "1:7", "illegal character U+0038 '8'");
    R("up{a=\"\\u12\"}", "1:7", "illegal character");
    R("up{a=\"\\uD800\"}", "1:7", "escape sequence is an invalid Unicode "
                                "code point");
    R("up{a=\"\\U00110000\"}", "1:7", "invalid Unicode code point");
    R("up{a=\"\\400\"}", "1:7", "invalid Unicode code point");
    R("up{a=\"\\", "1:7", "escape sequence not terminated");
    R("up{a=\"\\x4", "1:7", "escape sequence not terminated");
    R("up{a=\"\xff\"}", "1:7", "invalid UTF-8 rune");
    R("up{a=\"ok\xc3\"}", "1:9", "invalid UTF-8 rune");
    R("up{a=`\xed\xa0\x80`}", "1:7", "invalid UTF-8 rune");
    R("up{a=\"x\",\n b=\"\\z\"}", "2:5", "unknown escape sequence");
    /* Regexes: checked alone, then anchored. */
    R("up{a=~\"(\"}", "1:4", "invalid regex \"(\"");
    R("up{a=~\"a)|(b\"}", "1:4", "invalid regex");
    R("up{a=~\"(?=x)\"}", "1:4", "invalid regex");
    R("up{a=~\"x**\"}", "1:4", "invalid regex");
    R("up{a=\"b\",\n  c!~\"[z-a]\"}", "2:3", "invalid regex");
    R("up{a=~\"\\xff\"}", "1:4", "invalid regex");
}

static void test_matching(void)
{
    M("up", "up", "", 1);
    M("up", "upx", "", 0);
    M("up", "u", "", 0);
    M("up{job=\"api\"}", "up", "job=api", 1);
    M("up{job=\"api\"}", "up", "job=api-2", 0);
    M("up{job=\"api\"}", "up", "", 0);
    M("up{job=\"api\"}", "down", "job=api", 0);
    /* l="" matches series without l; a present empty value reads the same. */
    M("up{job=\"\"}", "up", "", 1);
    M("up{job=\"\"}", "up", "env=x", 1);
    M("up{job=\"\"}", "up", "job=x", 0);
    M("up{job=\"\"}", "up", "job=", 1);
    M("up{job!=\"\"}", "up", "", 0);
    M("up{job!=\"\"}", "up", "job=x", 1);
    M("up{job!=\"\"}", "up", "job=", 0);
    M("up{job!=\"api\"}", "up", "", 1);
    M("up{job!=\"api\"}", "up", "job=api", 0);
    M("up{job!=\"api\"}", "up", "job=web", 1);
    /* Regexes are anchored at both ends. */
    M("up{job=~\"api\"}", "up", "job=api", 1);
    M("up{job=~\"api\"}", "up", "job=api-2", 0);
    M("up{job=~\"api\"}", "up", "job=xapi", 0);
    M("up{job=~\"api\"}", "up", "", 0);
    M("up{job=~\"api|web\"}", "up", "job=web", 1);
    M("up{job=~\"api|web\"}", "up", "job=webapi", 0);
    M("up{job=~\"a.*\"}", "up", "job=a\nb", 1);
    M("up{job=~\".*\"}", "up", "", 1);
    M("up{job=~\".+\"}", "up", "", 0);
    M("up{job=~\".+\"}", "up", "job=", 0);
    M("up{job=~\"API\"}", "up", "job=api", 0);
    M("up{job=~\"(?i)API\"}", "up", "job=api", 1);
    M("up{job=~\"a$|b\"}", "up", "job=a", 1);
    M("up{job!~\"api\"}", "up", "", 1);
    M("up{job!~\"api\"}", "up", "job=api", 0);
    M("up{job!~\"api\"}", "up", "job=api-2", 1);
    M("up{job!~\".*\"}", "up", "", 0);
    M("up{job=~\"\\\\d+\"}", "up", "job=123", 1);
    M("up{job=~`\\d+`}", "up", "job=12a", 0);
    /* __name__ reads the name, or a __name__ label when there is none. */
    M("{__name__=~\"up|down\"}", "up", "", 1);
    M("{__name__=~\"up|down\"}", "down", "", 1);
    M("{__name__=~\"up|down\"}", "upx", "", 0);
    M("{__name__=~\"up|down\"}", NULL, "__name__=down", 1);
    M("{__name__=\"up\"}", NULL, "a=1,__name__=up", 1);
    M("{__name__=\"up\"}", NULL, "a=1", 0);
    M("{__name__!=\"up\",job=\"a\"}", "down", "job=a", 1);
    M("{__name__!=\"up\",job=\"a\"}", "up", "job=a", 0);
    M("{__name__=\"up\"}", "up", "__name__=down", 1);
    M("{\"up\"}", "up", "", 1);
    /* Every matcher must match; labels need not be sorted. */
    M("up{a=\"1\",b=~\"2|3\",c!=\"x\"}", "up", "c=y,b=3,a=1", 1);
    M("up{a=\"1\",b=~\"2|3\",c!=\"x\"}", "up", "c=x,b=3,a=1", 0);
    M("up{a=\"1\",b=~\"2|3\",c!=\"x\"}", "up", "b=4,a=1", 0);
    M("up{a=\"1\",a=\"2\"}", "up", "a=1", 0);
    M("up{a=\"1\",a=~\"1|2\"}", "up", "a=1", 1);
    /* The first of two entries with one name counts. */
    M("up{a=\"1\"}", "up", "a=1,a=2", 1);
    M("up{a=\"\\u00e9\"}", "up", "a=\xc3\xa9", 1);
}

static void test_accessors(void)
{
    N("up", "up");
    N("up{job=\"a\"}", "up");
    N("{__name__=\"up\"}", "up");
    N("{job=\"a\",__name__=\"up\"}", "up");
    N("{\"up\",job=\"a\"}", "up");
    N("{__name__=~\"up\"}", NULL);
    N("{__name__!=\"up\",job=\"a\"}", NULL);
    N("{__name__=\"\",job=\"a\"}", NULL);
    N("{job=\"a\"}", NULL);

    struct mg_label eq[4];
    char why[160];
    struct mg_selector *sel;
    const char *s = "up{b=\"2\",a=\"1\",c=~\"x\",d!=\"y\",e=\"\",f=\"3\"}";
    MG_TEST_CASE();
    if (mg_selector_parse(s, strlen(s), &sel, why, sizeof(why)) != 0) {
        FAIL_AT(__LINE__, "refused: %s", why);
        return;
    }
    size_t k = mg_selector_equalities(sel, eq, 4);
    if (k != 3 || eq[0].nlen != 1 || eq[0].name[0] != 'b' ||
        eq[0].vlen != 1 || eq[0].value[0] != '2' || eq[1].name[0] != 'a' ||
        eq[2].name[0] != 'f' || eq[2].value[0] != '3')
        FAIL_AT(__LINE__, "equalities: %zu", k);
    memset(eq, 0, sizeof(eq));
    if (mg_selector_equalities(sel, eq, 1) != 3 || eq[0].name[0] != 'b' ||
        eq[1].name != NULL)
        FAIL_AT(__LINE__, "equalities into room for one");
    if (mg_selector_equalities(sel, NULL, 0) != 3)
        FAIL_AT(__LINE__, "equalities counted");
    mg_selector_free(sel);
    mg_selector_free(NULL);
}

/* (a|aa)+ backtracks exponentially in PCRE2 where Go's RE2 is linear: the
 * match limit must stop it, and quickly. */
static void test_limits(void)
{
    char value[64], why[160] = "";
    struct mg_selector *sel;
    const char *s = "up{x=~\"(a|aa)+\"}";
    struct timespec t0, t1;

    MG_TEST_CASE();
    memset(value, 'a', 40);
    value[40] = 'b';
    struct mg_label l = {"x", value, 1, 41};
    if (mg_selector_parse(s, strlen(s), &sel, why, sizeof(why)) != 0) {
        FAIL_AT(__LINE__, "refused: %s", why);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = mg_selector_match(sel, m, "up", 2, &l, 1, why, sizeof(why));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc != -1 || !strstr(why, "match limit"))
        FAIL_AT(__LINE__, "(a|aa)+ over a...ab: %d %s", rc, why);
    if (secs > 5)
        FAIL_AT(__LINE__, "(a|aa)+ over a...ab took %.1f s", secs);
    /* The scratch still serves the next match. */
    l.vlen = 40;
    rc = mg_selector_match(sel, m, "up", 2, &l, 1, why, sizeof(why));
    if (rc != 1)
        FAIL_AT(__LINE__, "(a|aa)+ over a...a: %d %s", rc, why);
    mg_selector_free(sel);

    /* An equality that refuses the series spares the regex. */
    MG_TEST_CASE();
    s = "up{x=~\"(a|aa)+\",job=\"api\"}";
    if (mg_selector_parse(s, strlen(s), &sel, why, sizeof(why)) != 0) {
        FAIL_AT(__LINE__, "refused: %s", why);
        return;
    }
    struct mg_label two[2] = {{"x", value, 1, 41}, {"job", "web", 3, 3}};
    rc = mg_selector_match(sel, m, "up", 2, two, 2, why, sizeof(why));
    if (rc != 0)
        FAIL_AT(__LINE__, "job=web with a costly regex: %d %s", rc, why);
    /* A selector without regexes needs no scratch. */
    mg_selector_free(sel);
    s = "up{job=\"web\"}";
    if (mg_selector_parse(s, strlen(s), &sel, why, sizeof(why)) != 0) {
        FAIL_AT(__LINE__, "refused: %s", why);
        return;
    }
    if (mg_selector_match(sel, NULL, "up", 2, two + 1, 1, why,
                          sizeof(why)) != 1)
        FAIL_AT(__LINE__, "without scratch");
    mg_selector_free(sel);
}

/* Every prefix of valid selectors parses or is refused with a position, and
 * nothing reads past n (the sanitizer build checks that: each prefix is
 * copied to a buffer of exactly its length). */
static void test_prefixes(void)
{
    static const char *const valid[] = {
        "up{job=\"a\\u00e9\\x41\\101\",env!='p\\'q',x=~`a.*`,y!~\"b|c\",}",
        "  foo:bar # c\n { \"le\" = \"0.5\" , x !~ \"y\" }  ",
        "{\"up\",a=\"\\U0001F600\"}",
    };
    for (size_t k = 0; k < sizeof(valid) / sizeof(valid[0]); k++) {
        size_t len = strlen(valid[k]);
        for (size_t n = 0; n <= len; n++) {
            char why[160] = "";
            struct mg_selector *sel = NULL;
            char *copy = malloc(n ? n : 1);
            memcpy(copy, valid[k], n);
            MG_TEST_CASE();
            int rc = mg_selector_parse(copy, n, &sel, why, sizeof(why));
            if (n == len && rc != 0)
                FAIL_AT(__LINE__, "%s: refused: %s", valid[k], why);
            if (rc != 0 && (rc != -EINVAL || why[0] < '1' || why[0] > '9'))
                FAIL_AT(__LINE__, "%s[:%zu]: %d \"%s\"", valid[k], n, rc, why);
            mg_selector_free(sel);
            free(copy);
        }
    }
    /* A small why is cut, not overrun; a zero one is left alone. */
    char small[8];
    struct mg_selector *sel;
    MG_TEST_CASE();
    if (mg_selector_parse("{}", 2, &sel, small, sizeof(small)) != -EINVAL ||
        strlen(small) != 7)
        FAIL_AT(__LINE__, "small why: \"%s\"", small);
    if (mg_selector_parse("{}", 2, &sel, NULL, 0) != -EINVAL)
        FAIL_AT(__LINE__, "no why");
}

int main(void)
{
    m = mg_rematch_new();
    if (!m)
        return 2;
    test_forms();
    test_strings();
    test_refusals();
    test_matching();
    test_accessors();
    test_limits();
    test_prefixes();
    mg_rematch_free(m);
    return mg_test_summary("test_selector");
}
