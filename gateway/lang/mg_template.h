/* mg_template: Prometheus's alert templates, a subset of Go's text/template
 * compiled once to an AST and evaluated per alert. The language: text and
 * {{ actions }} with {{- -}} trimming and Go comments; pipelines
 * `x | f y`; string ("...", `raw`), number, true/false/nil constants;
 * . and .Labels.x .Value .ExternalLabels.x .ExternalURL; $labels.x $value
 * $externalLabels.x $externalURL and $; variables ($x := ..., $x = ...);
 * if/else if/else/end, with/else/end, range over a label map (with . or
 * $k, $v :=) /else/end; parentheses. Functions: eq ne lt le gt ge and or
 * not len index print printf (%s %d %f %e %g %v %q %x %t %%, width and
 * precision) humanize humanize1024 humanizePercentage humanizeDuration
 * humanizeTimestamp title toUpper toLower reReplaceAll match stripPort
 * stripDomain. An unknown function or variable is an error when the
 * template compiles; an evaluation error expands to
 * "<error expanding template: ...>", as Prometheus shows it. Missing
 * labels are "" (Prometheus's missingkey=zero). Owns compiled templates. */
#ifndef MG_TEMPLATE_H
#define MG_TEMPLATE_H

#include <stddef.h>

#include "mg_labels.h"

struct mg_tmpl;

/* What a template sees; all borrowed. */
struct mg_tmpl_data {
    const struct mg_label *labels;          /* $labels */
    size_t nlabels;
    const struct mg_label *external_labels; /* $externalLabels */
    size_t nexternal_labels;
    const char *external_url;               /* $externalURL; NULL: "" */
    double value;                           /* $value */
};

/* Compiles src (n bytes). 0 with *out owned by the caller, -EINVAL with
 * "template: <line>: <message>" in why, or -ENOMEM. */
int mg_tmpl_compile(const char *src, size_t n, struct mg_tmpl **out, char *why,
                    size_t whylen);
/* NULL is a no-op. */
void mg_tmpl_free(struct mg_tmpl *t);
/* Expands t into out (len bytes, always NUL-terminated, cut at len - 1).
 * 0, or -1 with "<error expanding template: ...>" in out. */
int mg_tmpl_expand(const struct mg_tmpl *t, const struct mg_tmpl_data *d,
                   char *out, size_t len);

/* Compile, expand with labels and value, free: for one-off expansions.
 * A template that does not compile expands to its error, as above. */
int mg_template_expand(const char *tmpl, const struct mg_label *labels,
                       size_t n, double value, char *out, size_t len);

/* Prometheus's humanize filters, into buf (at least 64 bytes). */
void mg_humanize(double v, char *buf, size_t len);
void mg_humanize1024(double v, char *buf, size_t len);
void mg_humanize_percentage(double v, char *buf, size_t len);
void mg_humanize_duration(double v, char *buf, size_t len);

#endif
