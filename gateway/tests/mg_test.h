/* mg_test: the harness every C test shares. Owns the two counters (checks
 * or cases run, failures), the failure line "file:line: what: why" and the
 * summary line and exit status; each test is one translation unit, so the
 * counters are static here. Knows nothing of what is tested. */
#ifndef MG_TEST_H
#define MG_TEST_H

#include <stdarg.h>
#include <stdio.h>

static int mg_test_failures, mg_test_cases;

static void mg_test_fail(const char *file, int line, const char *what,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void mg_test_fail(const char *file, int line, const char *what,
                         const char *fmt, ...)
{
    va_list ap;
    mg_test_failures++;
    fprintf(stderr, "%s:%d:", file, line);
    if (what)
        fprintf(stderr, " %s:", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* One check: counted, and on failure the condition's text and, when given,
 * a printf-style message. The " " before the message keeps a check without
 * one from being an empty format. */
#define CHECK(c, ...)                                                       \
    do {                                                                    \
        mg_test_cases++;                                                    \
        if (!(c))                                                           \
            mg_test_fail(__FILE__, __LINE__, #c, " " __VA_ARGS__);          \
    } while (0)

/* A failure found by a helper that was told its caller's line. */
#define FAIL_AT(line, ...) mg_test_fail(__FILE__, (line), NULL, " " __VA_ARGS__)

/* A case that is not one CHECK (a helper that checks several things). */
#define MG_TEST_CASE() (mg_test_cases++)

/* The last line of a test and its exit status: 0 when nothing failed. */
static int mg_test_summary(const char *name)
{
    if (mg_test_failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, mg_test_failures,
                mg_test_cases);
        return 1;
    }
    printf("%s: %d checks passed\n", name, mg_test_cases);
    return 0;
}

#endif
