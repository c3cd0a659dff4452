/* mg_selector: PromQL instant-vector selectors (`name`, `name{matchers}`,
 * `{matchers}`) parsed as Prometheus's ParseMetricSelector reads them, with
 * its string literals, its refusals and its line:col positions; regexes are
 * anchored as PromQL anchors them, ^(?s:RE)$, and compiled once. Matches a
 * metric name and an unsorted label array. Owns the parsed selector and its
 * regexes; knows nothing of series stores, families or Lua. */
#ifndef MG_SELECTOR_H
#define MG_SELECTOR_H

#include <stddef.h>

#include "mg_labels.h"
#include "mg_regex.h"

struct mg_selector;

/* Parses s (n bytes, borrowed; need not be NUL-terminated). Returns 0 with
 * *out owned by the caller (free with mg_selector_free); -EINVAL when
 * Prometheus would refuse the selector, with "line:col: parse error: ..."
 * in why (whylen bytes, NUL-terminated; col counts bytes from 1), e.g.
 * "1:12: parse error: unexpected character inside braces: '.'"; -ENOMEM.
 * *out is NULL on failure. Never raises or asserts on bad input. */
int mg_selector_parse(const char *s, size_t n, struct mg_selector **out,
                      char *why, size_t whylen);
/* NULL is a no-op. */
void mg_selector_free(struct mg_selector *sel);

/* Runs every matcher over one series, as PromQL does: a label that is absent
 * (or present with an empty value) reads as "", so l="" matches series
 * without l, l!="" those with it, and a regex sees "". The __name__ matchers
 * read name (nlen bytes) when name is not NULL, else a __name__ entry of
 * labels. labels (n entries, borrowed) need not be sorted; when a name
 * appears twice the first entry counts. m is match scratch (mg_rematch_new),
 * borrowed and used by one thread at a time; it may be NULL only when the
 * selector holds no regex matcher. Returns 1 when every matcher matches, 0
 * when one does not, -1 when a regex hit its match limit or a value is not
 * UTF-8, with the reason in why. */
int mg_selector_match(const struct mg_selector *sel, struct mg_rematch *m,
                      const char *name, size_t nlen,
                      const struct mg_label *labels, size_t n, char *why,
                      size_t whylen);

/* The metric name the selector fixes (the name before the braces, or the
 * first non-empty __name__="x" matcher), else NULL; *nlen gets its length
 * (0 with NULL). Borrowed from sel, valid until mg_selector_free. A caller
 * that looks up that one family must still run mg_selector_match: other
 * matchers, a second __name__ matcher among them, may refuse a series. */
const char *mg_selector_name(const struct mg_selector *sel, size_t *nlen);

/* The equality matchers l="v" with a non-empty value and l other than
 * __name__ (see mg_selector_name), in the order written: the labels a series
 * must carry exactly. Fills out with up to max of them and returns how many
 * there are (more than max when out is too small). The strings are borrowed
 * from sel, valid until mg_selector_free; a value may hold any byte a \x or
 * octal escape gave it, so it is not always UTF-8; a name may repeat. */
size_t mg_selector_equalities(const struct mg_selector *sel,
                              struct mg_label *out, size_t max);

#endif
