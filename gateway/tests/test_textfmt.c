/* test_textfmt: the text format 0.0.4 parser (mg_textfmt) and the push
 * body built on it (mg_pushbody): every type, escapes in label values and
 * HELP, NaN and infinities, comments and blank lines; and each malformed
 * input refused with its named error and line number. Exits non-zero and
 * names each failed case. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_pushbody.h"
#include "mg_textfmt.h"

static int failures, cases;

#define FAIL(line, ...)                                                     \
    do {                                                                    \
        failures++;                                                         \
        fprintf(stderr, "test_textfmt.c:%d: ", line);                       \
        fprintf(stderr, __VA_ARGS__);                                       \
        fputc('\n', stderr);                                                \
    } while (0)

struct parsed {
    struct mg_tf_sample s[16];
    char scratch[4096];
    struct mg_label labels[16][9];
    int n;
    enum mg_reason r;
    char why[MG_WHY_LEN];
    int rc;
};

/* Parses text whole; each sample keeps a copy of its labels. */
static void parse(const char *text, struct parsed *p)
{
    struct mg_textfmt tf;
    struct mg_label labels[9];
    memset(p, 0, sizeof(*p));
    mg_textfmt_init(&tf, text, strlen(text), p->scratch, labels, 8);
    while (p->n < 16 && (p->rc = mg_textfmt_next(&tf, &p->s[p->n], &p->r, p->why)) == 1) {
        memcpy(p->labels[p->n], labels, sizeof(labels));
        p->s[p->n].labels = p->labels[p->n];
        p->n++;
    }
}

static int label_is(const struct mg_tf_sample *s, const char *name,
                    const char *value)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (s->labels[i].nlen == strlen(name) &&
            memcmp(s->labels[i].name, name, s->labels[i].nlen) == 0)
            return s->labels[i].vlen == strlen(value) &&
                   memcmp(s->labels[i].value, value, s->labels[i].vlen) == 0;
    return 0;
}

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* text yields n samples; sample k has the given family, type, kind, value. */
#define OK(text, n) ok_case(__LINE__, text, n)
static struct parsed P;
static void ok_case(int line, const char *text, int n)
{
    cases++;
    parse(text, &P);
    if (P.rc != 0)
        FAIL(line, "refused: %s", P.why);
    else if (P.n != n)
        FAIL(line, "%d samples, want %d", P.n, n);
}

#define SAMPLE(k, fam, type, kind, value) sample_case(__LINE__, k, fam, type, kind, value)
static void sample_case(int line, int k, const char *fam, enum mg_type t,
                        enum mg_tf_kind kind, double v)
{
    cases++;
    const struct mg_tf_sample *s = &P.s[k];
    if (k >= P.n)
        FAIL(line, "no sample %d", k);
    else if (s->fnlen != strlen(fam) || memcmp(s->fname, fam, s->fnlen) != 0)
        FAIL(line, "family %.*s, want %s", (int)s->fnlen, s->fname, fam);
    else if (s->type != t || s->kind != kind || !same(s->value, v))
        FAIL(line, "type %d kind %d value %g, want %d %d %g", s->type, s->kind, s->value, t,
             kind, v);
}

/* text is refused with reason r and a message starting with want. */
#define BAD(text, r, want) bad_case(__LINE__, text, r, want)
static void bad_case(int line, const char *text, enum mg_reason r,
                     const char *want)
{
    cases++;
    parse(text, &P);
    if (P.rc != -1)
        FAIL(line, "accepted %s", text);
    else if (P.r != r)
        FAIL(line, "reason %s, want %s (%s)", mg_reason_name(P.r), mg_reason_name(r), P.why);
    else if (strncmp(P.why, want, strlen(want)) != 0)
        FAIL(line, "message \"%s\", want \"%s...\"", P.why, want);
}

/* The same through mg_pushbody: whole-series checks. */
#define BODY_BAD(text, r, want) body_case(__LINE__, text, r, want)
static void body_case(int line, const char *text, enum mg_reason r,
                      const char *want)
{
    struct mg_wire_limits lim;
    struct mg_pushbody b;
    enum mg_reason got;
    char why[MG_WHY_LEN];
    cases++;
    mg_wire_limits_default(&lim);
    int rc = mg_pushbody_text(&b, text, strlen(text), &lim, &got, why);
    if (r == MG_OK) {
        if (rc != 0)
            FAIL(line, "refused: %s", why);
    } else if (rc == 0) {
        FAIL(line, "accepted %s", text);
    } else if (got != r || strncmp(why, want, strlen(want)) != 0) {
        FAIL(line, "%s \"%s\", want %s \"%s...\"", mg_reason_name(got), why,
             mg_reason_name(r), want);
    }
    mg_pushbody_fini(&b);
}

static void test_types(void)
{
    OK("# HELP c_total Requests.\n# TYPE c_total counter\nc_total{code=\"200\"} 3\n"
       "# TYPE g gauge\ng -1.5e3\n"
       "# TYPE u untyped\nu 7\nplain 8\n"
       "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.7\nh_count 2\n"
       "# TYPE s summary\ns{quantile=\"0.99\"} 4\ns_sum 9\ns_count 3\n",
       11);
    SAMPLE(0, "c_total", MG_COUNTER, MG_TF_VALUE, 3);
    SAMPLE(1, "g", MG_GAUGE, MG_TF_VALUE, -1500);
    SAMPLE(2, "u", MG_UNTYPED, MG_TF_VALUE, 7);
    SAMPLE(3, "plain", MG_UNTYPED, MG_TF_VALUE, 8);
    SAMPLE(4, "h", MG_HISTOGRAM, MG_TF_BUCKET, 1);
    SAMPLE(5, "h", MG_HISTOGRAM, MG_TF_BUCKET, 2);
    SAMPLE(6, "h", MG_HISTOGRAM, MG_TF_SUM, 0.7);
    SAMPLE(7, "h", MG_HISTOGRAM, MG_TF_COUNT, 2);
    SAMPLE(8, "s", MG_SUMMARY, MG_TF_QUANTILE, 4);
    SAMPLE(9, "s", MG_SUMMARY, MG_TF_SUM, 9);
    SAMPLE(10, "s", MG_SUMMARY, MG_TF_COUNT, 3);
    cases++;
    if (P.s[0].hlen != 9 || memcmp(P.s[0].help, "Requests.", 9) != 0)
        FAIL(__LINE__, "HELP of c_total");
    if (!label_is(&P.s[0], "code", "200"))
        FAIL(__LINE__, "label code");
    if (P.s[5].bound != INFINITY || P.s[4].bound != 0.5 || P.s[8].bound != 0.99)
        FAIL(__LINE__, "le or quantile bound");
    if (P.s[4].nlabels != 0 || P.s[8].nlabels != 0)
        FAIL(__LINE__, "le or quantile left among the labels");
}

static void test_values_and_escapes(void)
{
    OK("a NaN\nb +Inf\nc -Inf\nd 1e-3\ne 0x1p-2\n", 5);
    SAMPLE(0, "a", MG_UNTYPED, MG_TF_VALUE, NAN);
    SAMPLE(1, "b", MG_UNTYPED, MG_TF_VALUE, INFINITY);
    SAMPLE(2, "c", MG_UNTYPED, MG_TF_VALUE, -INFINITY);
    SAMPLE(3, "d", MG_UNTYPED, MG_TF_VALUE, 0.001);
    SAMPLE(4, "e", MG_UNTYPED, MG_TF_VALUE, 0.25);
    OK("x{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\",d=\"héllo ☃\",} 1\n", 1);
    cases++;
    if (!label_is(&P.s[0], "a", "q\"uote") || !label_is(&P.s[0], "b", "back\\slash") ||
        !label_is(&P.s[0], "c", "new\nline") || !label_is(&P.s[0], "d", "héllo ☃"))
        FAIL(__LINE__, "escaped label values");
    OK("# HELP x Line one\\nback \\\\ slash \"quotes\" stay\nx 1\n", 1);
    cases++;
    const char *want = "Line one\nback \\ slash \"quotes\" stay";
    if (P.s[0].hlen != strlen(want) || memcmp(P.s[0].help, want, P.s[0].hlen) != 0)
        FAIL(__LINE__, "HELP escapes: %.*s", (int)P.s[0].hlen, P.s[0].help);
    OK("x 1 1700000000000\n", 1);
    cases++;
    if (!P.s[0].has_ts || P.s[0].ts != 1700000000000LL)
        FAIL(__LINE__, "timestamp");
}

static void test_layout(void)
{
    OK("\n   \n# a comment\n#\n# HELPER is a comment too\n\t x  {  a = \"1\" }\t2\n\n"
       "# TYPE y gauge\n# HELP y After TYPE.\ny 3", 2);
    SAMPLE(0, "x", MG_UNTYPED, MG_TF_VALUE, 2);
    SAMPLE(1, "y", MG_GAUGE, MG_TF_VALUE, 3);
    cases++;
    if (P.s[0].line != 6 || P.s[1].line != 10)
        FAIL(__LINE__, "line numbers %u %u", P.s[0].line, P.s[1].line);
    OK("", 0);
    OK("# only comments\n", 0);
    OK("x{} 1\n", 1);
}

static void test_errors(void)
{
    BAD("ok 1\n1x 2\n", MG_REASON_INVALID_METRIC_NAME, "line 2: invalid metric name \"1x\"");
    BAD("x-y 1\n", MG_REASON_INVALID_METRIC_NAME, "line 1: invalid metric name");
    BAD("x{1a=\"b\"} 1\n", MG_REASON_INVALID_LABEL_NAME, "line 1: invalid label name \"1a");
    BAD("x{__a=\"b\"} 1\n", MG_REASON_INVALID_LABEL_NAME, "line 1: label name __a is reserved");
    BAD("x{a \"b\"} 1\n", MG_REASON_DECODE_ERROR, "line 1: expected '=' after label name a");
    BAD("x{a=b} 1\n", MG_REASON_INVALID_LABEL_VALUE, "line 1: expected '\"' to start the value");
    BAD("x{a=\"b} 1\n", MG_REASON_INVALID_LABEL_VALUE, "line 1: value of label a is not terminated");
    BAD("x{a=\"\\t\"} 1\n", MG_REASON_INVALID_LABEL_VALUE, "line 1: invalid escape \\t");
    BAD("x{a=\"\xff\"} 1\n", MG_REASON_INVALID_LABEL_VALUE, "line 1: value of label a is not UTF-8");
    BAD("x{a=\"1\",a=\"2\"} 1\n", MG_REASON_DUPLICATE_LABEL, "line 1: label a appears twice");
    BAD("x{a=\"1\" b=\"2\"} 1\n", MG_REASON_DECODE_ERROR, "line 1: expected ',' or '}'");
    BAD("x{a=\"1\"\n", MG_REASON_DECODE_ERROR, "line 1: label set is not closed");
    BAD("x{a=\"1\",\n", MG_REASON_DECODE_ERROR, "line 1: label set is not closed");
    BAD("x{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\",f=\"6\",g=\"7\",h=\"8\",i=\"9\",j=\"10\"} 1\n",
        MG_REASON_TOO_MANY_LABELS, "line 1: more than 8 labels");
    BAD("x\n", MG_REASON_INVALID_VALUE, "line 1: x has no value");
    BAD("x one\n", MG_REASON_INVALID_VALUE, "line 1: value \"one\" is not a float");
    BAD("x nan(1)\n", MG_REASON_INVALID_VALUE, "line 1: value \"nan(1)\" is not a float");
    BAD("x 1 2.5\n", MG_REASON_INVALID_VALUE, "line 1: timestamp \"2.5\" is not an integer");
    BAD("x 1 2 3\n", MG_REASON_DECODE_ERROR, "line 1: text after the timestamp");
    BAD("# TYPE x gauge\n# TYPE x counter\nx 1\n", MG_REASON_TYPE_CONFLICT,
        "line 2: second TYPE line for x");
    BAD("x 1\n# TYPE x gauge\n", MG_REASON_TYPE_CONFLICT, "line 2: TYPE line for x after its samples");
    BAD("# TYPE x gaugeish\n", MG_REASON_DECODE_ERROR, "line 1: unknown metric type \"gaugeish\"");
    BAD("# TYPE\n", MG_REASON_INVALID_METRIC_NAME, "line 1: TYPE line without a metric name");
    BAD("# HELP x a\n# HELP x b\n", MG_REASON_DECODE_ERROR, "line 2: second HELP line for x");
    BAD("# HELP x bad \\q\n", MG_REASON_DECODE_ERROR, "line 1: invalid escape \\q in HELP of x");
    BAD("# TYPE h histogram\nh_bucket 1\n", MG_REASON_INVALID_LABEL_NAME,
        "line 2: h_bucket has no le label");
    BAD("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", MG_REASON_INVALID_LABEL_VALUE,
        "line 2: le=\"x\" is not a number");
    BAD("# TYPE h histogram\nh 1\n", MG_REASON_INVALID_METRIC_NAME,
        "line 2: histogram h has no sample named h");
    BAD("# TYPE s summary\ns 1\n", MG_REASON_INVALID_LABEL_NAME, "line 2: s has no quantile label");
    BAD("x 1\ny \n", MG_REASON_INVALID_VALUE, "line 2: y has no value");
}

static void test_bodies(void)
{
    BODY_BAD("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 3\n",
             MG_OK, "");
    BODY_BAD("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 3\n", MG_OK, "");
    BODY_BAD("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\n", MG_REASON_INVALID_VALUE,
             "line 2: h: a histogram needs _count or a +Inf bucket");
    BODY_BAD("# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"2\"} 3\nh_count 5\n",
             MG_REASON_INVALID_VALUE, "line 2: h: buckets are not cumulative");
    BODY_BAD("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 5\nh_count 4\n", MG_REASON_INVALID_VALUE,
             "line 2: h: _count 4 differs from the +Inf bucket 5");
    BODY_BAD("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 1\n",
             MG_REASON_NAME_COLLISION, "line 3: a bucket of h given twice");
    BODY_BAD("# TYPE s summary\ns{quantile=\"2\"} 1\ns_count 1\n", MG_REASON_INVALID_VALUE,
             "line 2: s: quantile 2 is outside [0, 1]");
    BODY_BAD("# TYPE c counter\nc NaN\n", MG_REASON_INVALID_VALUE,
             "line 2: c: counter value nan is NaN or negative");
    BODY_BAD("a{x=\"1\"} 1\nb 2\na{x=\"1\"} 3\n", MG_REASON_NAME_COLLISION,
             "line 3: the value of a{x=\"1\"} given twice");
    BODY_BAD("# TYPE a gauge\na 1\nb 2\n# TYPE a counter\na{x=\"1\"} 3\n", MG_REASON_TYPE_CONFLICT,
             "line 5: a is counter here but gauge at line 2");
    BODY_BAD("# TYPE s summary\ns_sum 1\ns_count 1\n# TYPE s_count gauge\ns_count 2\n",
             MG_REASON_NAME_COLLISION, "line 5: gauge s_count collides with the summary s");
    BODY_BAD("s_count 2\n# TYPE s summary\ns_sum 1\ns_count 1\n", MG_REASON_NAME_COLLISION,
             "line 1: untyped s_count collides with the summary s");
}

int main(void)
{
    test_types();
    test_values_and_escapes();
    test_layout();
    test_errors();
    test_bodies();
    if (failures) {
        fprintf(stderr, "test_textfmt: %d of %d cases failed\n", failures, cases);
        return 1;
    }
    printf("test_textfmt: %d cases passed\n", cases);
    return 0;
}
