/* test_regex: mg_regex and mg_re2: where Go's RE2 and PCRE2 read a pattern
 * differently RE2 wins, what RE2 refuses is refused, Go's Expand and
 * ReplaceAllString corner cases, and limits that stop a pathological
 * pattern without tripping on a legitimate one. Patterns are wrapped as
 * Prometheus wraps relabel regexes, ^(?s:RE)$, unless a case says not.
 * Exits non-zero and names each failed case. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_regex.h"
#include "mg_test.h"

static struct mg_rematch *m;


/* String literals may hold NUL, so their length comes from sizeof. */
#define M(re, s, want) match_case(__LINE__, re, s, sizeof(s) - 1, want)
#define R(re, want) refuse_case(__LINE__, re, want)
#define E(re, s, tmpl, want) expand_case(__LINE__, re, s, tmpl, want)

static struct mg_regex *compile_wrapped(int line, const char *re, char *why,
                                        size_t whylen, int *rc)
{
    char w[4096];
    struct mg_regex *out = NULL;
    int n = snprintf(w, sizeof(w), "^(?s:%s)$", re);
    *rc = mg_regex_compile(w, (size_t)n, &out, why, whylen);
    if (*rc == 0 && !out)
        FAIL_AT(line, "compile returned 0 without a regex");
    if (*rc != 0 && out)
        FAIL_AT(line, "compile failed but returned a regex");
    return out;
}

static void match_case(int line, const char *re, const char *s, size_t n,
                       int want)
{
    char why[160];
    int rc;
    MG_TEST_CASE();
    struct mg_regex *r = compile_wrapped(line, re, why, sizeof(why), &rc);
    if (!r) {
        FAIL_AT(line, "%s: refused: %s", re, why);
        return;
    }
    rc = mg_regex_match(r, m, s, n, 0, why, sizeof(why));
    if (rc != want)
        FAIL_AT(line, "%s: match returned %d, want %d %s", re, rc, want,
             rc < 0 ? why : "");
    mg_regex_free(r);
}

static void refuse_case(int line, const char *re, const char *want)
{
    char why[160] = "";
    int rc;
    MG_TEST_CASE();
    struct mg_regex *r = compile_wrapped(line, re, why, sizeof(why), &rc);
    if (rc != -EINVAL)
        FAIL_AT(line, "%s: want -EINVAL, got %d", re, rc);
    else if (!strstr(why, want))
        FAIL_AT(line, "%s: want a message containing \"%s\", got \"%s\"", re,
             want, why);
    mg_regex_free(r);
}

static void expand_case(int line, const char *re, const char *s,
                        const char *tmpl, const char *want)
{
    char why[160];
    int rc;
    struct mg_retmpl *t = NULL;
    struct mg_rebuf out = {0};
    MG_TEST_CASE();
    struct mg_regex *r = compile_wrapped(line, re, why, sizeof(why), &rc);
    if (!r) {
        FAIL_AT(line, "%s: refused: %s", re, why);
        return;
    }
    if (mg_regex_match(r, m, s, strlen(s), 0, why, sizeof(why)) != 1)
        FAIL_AT(line, "%s: does not match \"%s\"", re, s);
    else if (mg_retmpl_compile(tmpl, strlen(tmpl), r, &t) != 0)
        FAIL_AT(line, "template compile failed");
    else if (mg_retmpl_expand(t, m, s, &out) != 0)
        FAIL_AT(line, "expand failed");
    else if (out.len != strlen(want) || memcmp(out.p, want, out.len) != 0)
        FAIL_AT(line, "%s with \"%s\": got \"%.*s\", want \"%s\"", re, tmpl,
             (int)out.len, out.p ? out.p : "", want);
    mg_rebuf_fini(&out);
    mg_retmpl_free(t);
    mg_regex_free(r);
}

/* ReplaceAllString over an unwrapped pattern. */
static void replace_case(int line, const char *re, const char *s,
                         const char *tmpl, const char *want, int nmatch)
{
    char why[160];
    struct mg_regex *r;
    struct mg_retmpl *t = NULL;
    struct mg_rebuf out = {0};
    MG_TEST_CASE();
    if (mg_regex_compile(re, strlen(re), &r, why, sizeof(why)) != 0) {
        FAIL_AT(line, "%s: refused: %s", re, why);
        return;
    }
    int rc = -2;
    if (mg_retmpl_compile(tmpl, strlen(tmpl), r, &t) != 0)
        FAIL_AT(line, "template compile failed");
    else if ((rc = mg_regex_replace_all(r, m, s, strlen(s), t, &out, why,
                                        sizeof(why))) != nmatch)
        FAIL_AT(line, "%s: %d matches, want %d", re, rc, nmatch);
    else if (out.len != strlen(want) || memcmp(out.p, want, out.len) != 0)
        FAIL_AT(line, "%s over \"%s\": got \"%.*s\", want \"%s\"", re, s,
             (int)out.len, out.p ? out.p : "", want);
    mg_rebuf_fini(&out);
    mg_retmpl_free(t);
    mg_regex_free(r);
}

static void test_dialect(void)
{
    /* Prometheus compiles ^(?s:RE)$ as one string, so a ) in RE closes the
     * wrapper: "x)|(o" is ^(?s:x)|(o)$, which finds the "o" ending "foo". */
    M("x)|(o", "foo", 1);
    M("f|o", "foo", 0);
    M("(?i)abc", "ABC", 1);
    M("a(?i:b)c", "aBc", 1);
    M("a(?i:b)c", "aBC", 0);
    /* \s is [\t\n\f\r ] in RE2; PCRE2's also has \v. */
    M("\\s", "\v", 0);
    M("\\s", "\t", 1);
    M("[\\s]", "\v", 0);
    M("\\S", "\v", 1);
    M("[^\\S]", "\v", 0);
    M("[^\\S]", " ", 1);
    M("[\\S]+", "a\xc3\xa9\v", 1);
    /* \v is the vertical tab, not a class. */
    M("\\v", "\v", 1);
    M("\\v", "\n", 0);
    /* $ is the end of text, never before a final newline. */
    M("a", "a\n", 0);
    M("a$", "a\n", 0);
    M("a\\z", "a", 1);
    M("(?m)a$", "a", 1);
    M("(?m)a$\\n", "a\n", 1);
    /* Octal and hex escapes, and NUL. */
    M("\\101\\x42\\x{43}", "ABC", 1);
    M("\\0101", "\b1", 1);
    M("a\\0", "a\0", 1);
    M("\\x{e9}", "\xc3\xa9", 1);
    /* A { that does not start a valid repeat is a literal. */
    M("a{,2}", "a{,2}", 1);
    M("a{01}", "a{01}", 1);
    M("a{", "a{", 1);
    M("a{1,2", "a{1,2", 1);
    M("a{2}", "aa", 1);
    M("a{2,}", "aaaa", 1);
    M("a{0}b", "b", 1);
    M("(a{10}){100}", "a", 0);
    /* RE2 may repeat an assertion; PCRE2 only inside a group. */
    M("^*a", "a", 1);
    M("a\\b?", "a", 1);
    M("(?:a$)*", "", 1);
    M("\\Qa.b\\E", "a.b", 1);
    M("\\Qa.b\\E", "axb", 0);
    M("\\Qa.b\\Ec+", "a.bcc", 1);
    M("[[:alpha:]]+", "abc", 1);
    M("[[:^digit:]]+", "abc", 1);
    M("[[:word:][:space:]]+", "a_ b", 1);
    /* Outside a class, [:alpha:] is a class of ':', 'a', 'l', 'p', 'h'. */
    M("[:alpha:]", "h", 1);
    M("[:alpha:]", "x", 0);
    M("[]a]", "]", 1);
    M("[^]a]", "b", 1);
    M("[a-]", "-", 1);
    M("[-a]", "-", 1);
    M("[a-c-e]", "-", 1);
    M("[[.a.]]", ".]", 1);
    M("[[=a=]]", "=]", 1);
    M("[\\d-z]", "-", 1);
    M("\\pL+", "h\xc3\xa9llo", 1);
    M("\\p{Greek}", "\xce\xb1", 1);
    M("\\P{Greek}", "\xce\xb1", 0);
    M("\\p{^Greek}", "a", 1);
    M("\\p{Any}+", "a\n", 1);
    M("\\p{Old_Italic}\\p{Zs}\\p{Han}", "\xf0\x90\x8c\x80 \xe4\xb8\xad", 1);
    M("\\pN\\p{Nd}\\PL", "12-", 1);
    M("[\\p{Lu}\\d]+", "A1", 1);
    M(".", "\n", 1);
    M("(?-s).", "\n", 0);
    M("a.c", "a\xc3\xa9" "c", 1);
    M("(?U)a+", "aaa", 1);
    M("a*?b", "aab", 1);
    M("(?P<n>a)(?<m>b)", "ab", 1);
    M("(?P<1>a)", "a", 1);
    M("(?P<n>a)(?P<n>b)", "ab", 1);
    M("(?)a", "a", 1);
    M("(?i-s:a.)", "A\n", 0);
    M("#a b", "#a b", 1);
    M("\\_\\#\\ ", "_# ", 1);
    M("\\w+", "\xc3\xa9", 0); /* \w is ASCII in RE2 */
    M("\\bx\\b", "x", 1);
}

static void test_refusals(void)
{
    R("(?=a)", "lookahead `(?=` is not supported");
    R("a(?!b)", "lookahead");
    R("(?<=a)b", "lookbehind `(?<=` is not supported");
    R("(?<!a)b", "lookbehind");
    R("(a)\\1", "backreferences `\\1` are not supported");
    R("(?P<n>a)\\k<n>", "backreferences");
    R("(?P<n>a)\\g1", "backreferences");
    R("(?P<n>a)(?P=n)", "backreferences `(?P=`");
    R("\\8", "backreferences");
    R("(?>a)", "atomic groups");
    R("a++", "invalid nested repetition operator: `++` (possessive");
    R("a*+", "possessive");
    R("a?+", "possessive");
    R("a{2}+", "possessive");
    R("a**", "invalid nested repetition operator: `**`");
    R("a*??", "invalid nested repetition operator");
    R("a{2}{3}", "invalid nested repetition");
    R("(a)(?R)", "recursion");
    R("(a)(?1)", "recursion");
    R("(a)(?-1)", "recursion");
    R("(?P<n>a)(?&n)", "recursion");
    R("(?P<n>a)(?P>n)", "recursion");
    R("(?(1)a|b)", "conditionals");
    R("(?|a)", "branch reset");
    R("a(?#c)", "comments");
    R("(?'n'a)", "named groups as `(?'name'`");
    R("\\C", "invalid escape sequence: `\\C`");
    R("a\\Z", "invalid escape sequence: `\\Z`");
    R("\\e", "invalid escape sequence: `\\e`");
    R("\\K", "invalid escape sequence");
    R("\\G", "invalid escape sequence");
    R("\\R", "invalid escape sequence");
    R("\\h", "invalid escape sequence");
    R("\\N", "invalid escape sequence");
    R("\\cA", "invalid escape sequence");
    R("\\E", "invalid escape sequence");
    R("\\\xc3\xa9", "invalid escape sequence");
    R("[\\b]", "invalid escape sequence");
    R("[\\Q]", "invalid escape sequence");
    R("\\x{110000}", "invalid escape sequence");
    R("\\x{}", "invalid escape sequence");
    R("\\xZ1", "invalid escape sequence");
    R("\\p{greek}", "invalid character class range");
    R("\\p{Lu", "invalid character class range");
    R("\\pq", "invalid character class range");
    R("\\p{Xan}", "invalid character class range: `\\p{Xan}`");
    R("\\p{L&}", "invalid character class range");
    R("\\p{Alphabetic}", "invalid character class range");
    R("\\p{Cn}", "invalid character class range");
    R("(?x)a", "invalid or unsupported Perl syntax: `(?x`");
    R("(?i-)a", "invalid or unsupported Perl syntax");
    R("(?-)a", "invalid or unsupported Perl syntax");
    R("(?i--s)a", "invalid or unsupported Perl syntax");
    R("(?P<a-b>x)", "invalid named capture");
    R("(?P<>x)", "invalid named capture");
    R("*a", "missing argument to repetition operator: `*`");
    R("a|*", "missing argument");
    R("(*ACCEPT)", "missing argument");
    R("(?i)*", "missing argument");
    R("a{1001}", "invalid repeat count: `{1001}`");
    R("a{2,1}", "invalid repeat count");
    R("a{1000000000}", "invalid repeat count");
    R("(a{500}){3}", "invalid repeat count");
    R("((a{10}){10}){11}", "invalid repeat count");
    R("abc(def", "missing closing )");
    R("a)", "unexpected )");
    /* \Q and a final \ swallow the wrapper's ")$", as in Prometheus. */
    R("\\Qa.b", "missing closing )");
    R("a\\", "missing closing )");
    R("[a", "missing closing ]");
    R("[z-a]", "invalid character class range: `z-a`");
    R("[[:foo:]]", "invalid character class range: `[:foo:]`");
    R("a\xff", "invalid UTF-8");
}

static void test_nesting(void)
{
    char re[2100];
    /* 999 groups inside the wrapper make 1000: Go's limit. */
    memset(re, '(', 999);
    memset(re + 999, ')', 999);
    re[1998] = '\0';
    match_case(__LINE__, re, "", 0, 1);
    memset(re, '(', 1000);
    memset(re + 1000, ')', 1000);
    re[2000] = '\0';
    refuse_case(__LINE__, re, "expression nests too deeply");
}

/* Go's regexp.Expand. */
static void test_expand(void)
{
    const char *re = "(a)(b)(?P<rest>c)";
    E(re, "abc", "[$$]", "[$]");
    E(re, "abc", "x$1x", "x");
    E(re, "abc", "x${1}x", "xax");
    E(re, "abc", "[${1", "[${1");
    E(re, "abc", "[$", "[$");
    E(re, "abc", "$", "$");
    E(re, "abc", "[$-]", "[$-]");
    E(re, "abc", "[${}]", "[${}]");
    E(re, "abc", "[${-1}]", "[${-1}]");
    E(re, "abc", "[$10]", "[]");
    E(re, "abc", "[$0]", "[abc]");
    E(re, "abc", "[$rest]", "[c]");
    E(re, "abc", "[${rest}]", "[c]");
    E(re, "abc", "[$restx]", "[]");
    E(re, "abc", "[$01]", "[]");
    E(re, "abc", "[${01}]", "[]");
    E(re, "abc", "[$1-$2.$3]", "[a-b.c]");
    E(re, "abc", "[$$1]", "[$1]");
    E(re, "abc", "[$$$1]", "[$a]");
    E(re, "abc", "[$123456789]", "[]");
    /* A name runs over Unicode letters and digits: $1é names "1é"; € is a
     * symbol, so it ends the name. */
    E(re, "abc", "[$1\xc3\xa9]", "[]");
    E(re, "abc", "[$1\xe2\x82\xac]", "[a\xe2\x82\xac]");
    /* An unmatched group expands to nothing. */
    E("(a)?(b)", "b", "[$1|$2]", "[|b]");
    /* A name used twice: the first group that matched. */
    E("(?P<x>a)?(?P<x>b)", "b", "[$x]", "[b]");
    E("(?P<x>a)?(?P<x>b)", "ab", "[$x]", "[a]");
    /* A group named "1" is group 2 by number; $1 is group 1. */
    E("(a)(?P<1>b)", "ab", "[$1]", "[a]");
    E("(?P<n1>a)", "a", "[$n1]", "[a]");
}

/* Go's ReplaceAllString, including its rule against replacing an empty
 * match right after a match. */
static void test_replace_all(void)
{
    replace_case(__LINE__, "a*", "baaac", "X", "XbXcX", 4);
    replace_case(__LINE__, "x*", "abc", "-", "-a-b-c-", 4);
    replace_case(__LINE__, "a(b)", "abab", "<$1>", "<b><b>", 2);
    replace_case(__LINE__, "z", "abc", "X", "abc", 0);
    replace_case(__LINE__, "", "\xc3\xa9", "X", "X\xc3\xa9X", 2);
    replace_case(__LINE__, "^(?s:__meta_(.*))$", "__meta_x", "$1", "x", 1);
    /* A wrapped pattern opened by ")|(" matches more than once. */
    replace_case(__LINE__, "^(?s:x)|(o)$", "foo", "[$1]", "fo[o]", 1);
}

static void test_limits(void)
{
    char why[160];
    struct mg_regex *r;
    size_t n = 64 * 1024;
    char *s = malloc(n + 1);

    /* A group repeated over 64 KiB needs more than JIT's default stack. */
    for (size_t i = 0; i < n; i++)
        s[i] = "ab"[i & 1];
    MG_TEST_CASE();
    if (mg_regex_compile("^(?s:(?:a|b)*)$", 15, &r, why, sizeof(why)) != 0) {
        FAIL_AT(__LINE__, "refused: %s", why);
    } else {
        int rc = mg_regex_match(r, m, s, n, 0, why, sizeof(why));
        if (rc != 1)
            FAIL_AT(__LINE__, "(?:a|b)* over 64 KiB: %d %s", rc, why);
        mg_regex_free(r);
    }
    /* Exponential backtracking stops at the match limit. */
    memset(s, 'a', 40);
    s[40] = 'b';
    MG_TEST_CASE();
    if (mg_regex_compile("^(?s:(a|aa)+$)$", 15, &r, why, sizeof(why)) != 0) {
        FAIL_AT(__LINE__, "refused: %s", why);
    } else {
        int rc = mg_regex_match(r, m, s, 41, 0, why, sizeof(why));
        if (rc != -1 || !strstr(why, "match limit"))
            FAIL_AT(__LINE__, "(a|aa)+$ over a...ab: %d %s", rc, why);
        mg_regex_free(r);
    }
    /* The match scratch serves patterns with more groups than it has. */
    MG_TEST_CASE();
    if (mg_regex_compile("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)",
                         51, &r, why, sizeof(why)) != 0) {
        FAIL_AT(__LINE__, "refused: %s", why);
    } else {
        size_t so, eo;
        int rc = mg_regex_match(r, m, "abcdefghijklmnopq", 17, 0, why,
                                sizeof(why));
        if (rc != 1 || !mg_rematch_group(m, 17, &so, &eo) || so != 16 ||
            eo != 17)
            FAIL_AT(__LINE__, "group 17: %d", rc);
        if (mg_rematch_group(m, 18, &so, &eo))
            FAIL_AT(__LINE__, "group 18 should not exist");
        mg_regex_free(r);
    }
    free(s);
}

static void test_utf8(void)
{
    uint32_t cp;
    MG_TEST_CASE();
    if (mg_utf8_next("\xc3\xa9", 2, &cp) != 2 || cp != 0xe9)
        FAIL_AT(__LINE__, "é");
    if (mg_utf8_next("\xf0\x9f\x98\x80", 4, &cp) != 4 || cp != 0x1f600)
        FAIL_AT(__LINE__, "emoji");
    if (mg_utf8_next("\xff", 1, &cp) != 1 || cp != 0xfffd)
        FAIL_AT(__LINE__, "invalid byte");
    if (mg_utf8_next("\xc3", 1, &cp) != 1 || cp != 0xfffd)
        FAIL_AT(__LINE__, "truncated");
    if (mg_utf8_next("\xed\xa0\x80", 3, &cp) != 1 || cp != 0xfffd)
        FAIL_AT(__LINE__, "surrogate");
    if (mg_utf8_next("", 0, &cp) != 0)
        FAIL_AT(__LINE__, "empty");
}

int main(void)
{
    m = mg_rematch_new();
    if (!m)
        return 2;
    test_dialect();
    test_refusals();
    test_nesting();
    test_expand();
    test_replace_all();
    test_limits();
    test_utf8();
    mg_rematch_free(m);
    mg_regex_free(NULL);
    mg_retmpl_free(NULL);
    mg_rematch_free(NULL);
    return mg_test_summary("test_regex");
}
