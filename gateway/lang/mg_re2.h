/* mg_re2: Go's RE2 syntax (regexp/syntax, parse.go) checked token by token
 * and rewritten as a PCRE2 pattern that means the same: what RE2 refuses is
 * refused in Go's words, what PCRE2 would read differently (\s, \v, octal,
 * a literal {, a repeated assertion, named groups) is spelt out. Owns the
 * rewritten pattern and the group names; knows nothing of PCRE2's API. */
#ifndef MG_RE2_H
#define MG_RE2_H

#include <stddef.h>
#include <stdint.h>

#include "mg_rebuf.h"

/* Go's limit on nesting; PCRE2 is told a little more, for the groups the
 * rewrite adds. */
#define MG_RE2_MAX_NEST 1000

/* A named group: the name is namebytes[off, off + len). */
struct mg_re2_name {
    uint32_t group, off, len;
};

struct mg_re2 {
    struct mg_rebuf pcre;      /* the PCRE2 pattern, for PCRE2_UTF */
    struct mg_rebuf names;     /* struct mg_re2_name, in group order */
    struct mg_rebuf namebytes;
    uint32_t ngroups;
};

/* Rewrites pat (n bytes, borrowed) into out, which the caller zeroes first
 * and releases with mg_re2_fini whatever the result. Returns 0, -EINVAL with
 * the reason in why ("invalid escape sequence: `\k`"), or -ENOMEM. */
int mg_re2_translate(const char *pat, size_t n, struct mg_re2 *out,
                     char *why, size_t whylen);
void mg_re2_fini(struct mg_re2 *r);

#endif
