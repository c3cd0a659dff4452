/* test_web_json: the web pages' JSON reader takes what the API writes
 * (nesting, escapes, numbers) and refuses, without reading past its
 * input, what a query string may carry: bad syntax, trailing bytes,
 * nesting past its bound. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_web_json.h"

static int failures;
#define CHECK(c)                                                           \
    do {                                                                   \
        if (!(c)) {                                                        \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);        \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static int parses(const char *s)
{
    struct mg_jdoc d;
    /* a copy exactly as long as s: a read past its end is a sanitizer's */
    size_t n = strlen(s);
    char *p = malloc(n ? n : 1);
    memcpy(p, s, n);
    int rc = mg_jdoc_parse(&d, p, n);
    if (rc == 0)
        mg_jdoc_fini(&d);
    free(p);
    return rc == 0;
}

int main(void)
{
    struct mg_jdoc d;
    const char *doc = "{\"status\":\"success\",\"data\":{\"groups\":[{\"name\":\"a\\\"b\\u00e9\\ud83d\\ude00\","
                      "\"n\":-1.5e3,\"t\":true,\"f\":false,\"z\":null,\"e\":[],\"o\":{}}]}}";
    CHECK(mg_jdoc_parse(&d, doc, strlen(doc)) == 0);
    int data = mg_jget(&d, 0, "data"), groups = mg_jget(&d, data, "groups");
    CHECK(mg_jlen(&d, groups) == 1);
    int g = d.v[groups].first;
    CHECK(strcmp(mg_jstr(&d, mg_jget(&d, g, "name")), "a\"b\xc3\xa9\xf0\x9f\x98\x80") == 0);
    CHECK(mg_jnum(&d, mg_jget(&d, g, "n")) == -1500);
    CHECK(d.v[mg_jget(&d, g, "t")].type == MG_JTRUE);
    CHECK(d.v[mg_jget(&d, g, "f")].type == MG_JFALSE);
    CHECK(d.v[mg_jget(&d, g, "z")].type == MG_JNULL);
    CHECK(mg_jlen(&d, mg_jget(&d, g, "e")) == 0 && mg_jlen(&d, mg_jget(&d, g, "o")) == 0);
    CHECK(mg_jget(&d, g, "missing") == -1);
    CHECK(strcmp(mg_jstr(&d, -1), "") == 0 && mg_jnum(&d, -1) == 0 && mg_jlen(&d, -1) == 0);
    CHECK(strcmp(mg_jstr(&d, mg_jget(&d, g, "n")), "-1.5e3") == 0 ||
          d.v[mg_jget(&d, g, "n")].type == MG_JNUM);
    mg_jdoc_fini(&d);

    CHECK(parses("{\"a\":\"b\"}"));
    CHECK(parses(" [1, 2 ,3] "));
    CHECK(parses("\"\""));
    static const char *const bad[] = {
        "", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":\"b\",}", "[1,]", "[1 2]", "{a:1}",
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"a\nb\"", "tru", "nul", "1 2", "{} x", "--1",
        "1e", "[", "{\"a\":\"b\"", "\"\\", "'a'",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parses(bad[i])) {
            fprintf(stderr, "parsed: %s\n", bad[i]);
            failures++;
        }
    /* nesting: 32 levels are read, 33 are refused */
    char deep[80];
    memset(deep, '[', 33);
    memset(deep + 33, ']', 33);
    deep[66] = 0;
    CHECK(!parses(deep));
    memset(deep, '[', 32);
    memset(deep + 32, ']', 32);
    deep[64] = 0;
    CHECK(parses(deep));
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
