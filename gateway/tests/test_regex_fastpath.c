/* test_regex_fastpath: an anchored regex that is a literal prefix and a
 * simple tail (.*, .+, \d*, \d+, bare or as group 1) is matched without
 * PCRE2, and a literal prefix rejects before it. Each generated pattern is
 * matched against every short value both ways: as written, where the fast
 * path may answer, and inside (?:...), which hides its shape and leaves
 * PCRE2 to answer. The results and groups 0 and 1 must agree. */
#include <stdio.h>
#include <string.h>

#include "mg_regex.h"
#include "mg_test.h"

static const char *const prefixes[] = {"", "a", "ab", "a-b", "x y", "ab:c", "1"};
static const char *const middles[] = {"", "b*", "b?", "b+", "b{2}", "[ab]",
                                      "\\.", ".", "(?i)B", "a|b"};
static const char *const tails[] = {"", ".*", ".+", "\\d*", "\\d+", "(.*)",
                                    "(.+)", "(\\d*)", "(\\d+)", "(a)", "()",
                                    "(.*)x", ".*(b)"};
static const char alphabet[] = "ab-1x \nB:.y";

static struct mg_rematch *m;

static struct mg_regex *compile(const char *pat)
{
    char why[256];
    struct mg_regex *re = NULL;
    if (mg_regex_compile_anchored(pat, strlen(pat), &re, why, sizeof(why)) != 0)
        return NULL;
    return re;
}

/* rc and groups 0 and 1 of one match, as one comparable record. */
struct outcome {
    int rc, g[2];
    size_t so[2], eo[2];
};

static struct outcome run(const struct mg_regex *re, const char *s, size_t n)
{
    char why[256];
    struct outcome o;
    memset(&o, 0, sizeof(o));
    o.rc = mg_regex_match(re, m, s, n, 0, why, sizeof(why));
    for (int i = 0; o.rc == 1 && i < 2; i++)
        o.g[i] = mg_rematch_group(m, (uint32_t)i, &o.so[i], &o.eo[i]);
    return o;
}

static int same(const struct outcome *a, const struct outcome *b)
{
    if (a->rc != b->rc)
        return 0;
    for (int i = 0; a->rc == 1 && i < 2; i++)
        if (a->g[i] != b->g[i] ||
            (a->g[i] && (a->so[i] != b->so[i] || a->eo[i] != b->eo[i])))
            return 0;
    return 1;
}

/* Every value of up to 3 characters of the alphabet against pat. */
static void compare(const char *pat)
{
    char hidden[160];
    snprintf(hidden, sizeof(hidden), "(?:%s)", pat);
    struct mg_regex *fast = compile(pat), *slow = compile(hidden);
    CHECK((fast == NULL) == (slow == NULL));
    if (!fast || !slow) {
        mg_regex_free(fast);
        mg_regex_free(slow);
        return;
    }
    size_t k = sizeof(alphabet) - 1, bad = 0;
    char v[4];
    for (size_t len = 0; len <= 3; len++) {
        size_t count = 1;
        for (size_t i = 0; i < len; i++)
            count *= k;
        for (size_t c = 0; c < count; c++) {
            size_t x = c;
            for (size_t i = 0; i < len; i++, x /= k)
                v[i] = alphabet[x % k];
            struct outcome a = run(fast, v, len), b = run(slow, v, len);
            if (!same(&a, &b) && bad++ == 0)
                CHECK(0, "%s on \"%.*s\": %d against PCRE2's %d", pat,
                          (int)len, v, a.rc, b.rc);
        }
    }
    CHECK(bad == 0);
    mg_regex_free(fast);
    mg_regex_free(slow);
}

int main(void)
{
    m = mg_rematch_new();
    CHECK(m != NULL);
    char pat[128];
    for (size_t p = 0; p < sizeof(prefixes) / sizeof(*prefixes); p++)
        for (size_t i = 0; i < sizeof(middles) / sizeof(*middles); i++)
            for (size_t t = 0; t < sizeof(tails) / sizeof(*tails); t++) {
                snprintf(pat, sizeof(pat), "%s%s%s", prefixes[p], middles[i], tails[t]);
                compare(pat);
            }
    mg_rematch_free(m);
    return mg_test_summary("test_regex_fastpath");
}
