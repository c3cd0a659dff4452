/* mg_regex: regular expressions in Go's RE2 syntax (the dialect Prometheus
 * accepts) run by PCRE2. mg_re2 checks a pattern by RE2's grammar and
 * rewrites it where PCRE2 would read it differently; PCRE2 compiles the
 * result once (JIT where available) and matches run under match, depth and
 * heap limits. Also Go's regexp.Expand templates and ReplaceAllString.
 * Owns compiled patterns, templates and match scratch; knows nothing of
 * labels or Lua. */
#ifndef MG_REGEX_H
#define MG_REGEX_H

#include <stddef.h>
#include <stdint.h>

#include "mg_rebuf.h"
#include "mg_utf8.h"

struct mg_regex;
struct mg_rematch;
struct mg_retmpl;

/* Compiles pat (n bytes of UTF-8, Go syntax) as written: no anchors are
 * added. Returns 0 with *out owned by the caller; -EINVAL with the reason in
 * why ("invalid escape sequence: `\k`", "lookahead `(?=` is not supported");
 * -ENOMEM. pat is borrowed. */
int mg_regex_compile(const char *pat, size_t n, struct mg_regex **out,
                     char *why, size_t whylen);
/* Compiles pat as ^(?s:pat)$, the anchoring relabel and the DSL use (a
 * ")" in pat closes the wrapper too, as in Prometheus). An error message
 * quotes pat as written, never the wrapper. As mg_regex_compile
 * otherwise. */
int mg_regex_compile_anchored(const char *pat, size_t n,
                              struct mg_regex **out, char *why,
                              size_t whylen);
/* NULL is a no-op. */
void mg_regex_free(struct mg_regex *re);

/* Match scratch: the match data, the limits and a JIT stack. Any regex can
 * use it (it grows to the largest group count on first use); one thread at
 * a time. NULL on ENOMEM. */
struct mg_rematch *mg_rematch_new(void);
/* NULL is a no-op. */
void mg_rematch_free(struct mg_rematch *m);

/* Searches s (n bytes, borrowed) from byte offset start for the leftmost
 * match, as Go's regexp does. Returns 1 with the groups readable from m until
 * its next use, 0 when nothing matches, -1 when a limit was hit (a pattern
 * that backtracks too much), s is not UTF-8, or memory ran out; the reason is
 * in why. */
int mg_regex_match(const struct mg_regex *re, struct mg_rematch *m,
                   const char *s, size_t n, size_t start, char *why,
                   size_t whylen);
/* Group i of m's last match: 1 with its bytes at [*so, *eo) of the subject,
 * 0 when the group did not take part. Group 0 is the whole match. */
int mg_rematch_group(const struct mg_rematch *m, uint32_t i, size_t *so,
                     size_t *eo);

/* Compiles the template t (n bytes, borrowed) against re as Go's
 * Regexp.Expand reads it: $1 ${1} $name ${name} $$; a name is the longest
 * run of letters, digits and _; an unknown or unmatched group expands to
 * nothing; a malformed $ is copied. Every template is valid, so the only
 * error is -ENOMEM. *out is owned by the caller. */
int mg_retmpl_compile(const char *t, size_t n, const struct mg_regex *re,
                      struct mg_retmpl **out);
/* NULL is a no-op. */
void mg_retmpl_free(struct mg_retmpl *t);
/* Appends the expansion of t for m's last match over the subject s to out.
 * Returns 0 or -ENOMEM. */
int mg_retmpl_expand(const struct mg_retmpl *t, const struct mg_rematch *m,
                     const char *s, struct mg_rebuf *out);

/* Go's ReplaceAllString: sets out to s with every match of re replaced by
 * the expansion of t. Returns the number of matches (0 leaves out equal to
 * s) or -1 as mg_regex_match does. */
int mg_regex_replace_all(const struct mg_regex *re, struct mg_rematch *m,
                         const char *s, size_t n, const struct mg_retmpl *t,
                         struct mg_rebuf *out, char *why, size_t whylen);

#endif
