/* mg_template: the part of Prometheus's alert templates rules use:
 * {{ $labels.name }}, {{ $value }}, {{ .Labels.name }}, {{ .Value }},
 * {{ $externalLabels.name }} (empty), and the filters humanize,
 * humanize1024, humanizePercentage, humanizeDuration, as in
 * `{{ $value | humanizePercentage }}`. Owns nothing. */
#ifndef MG_TEMPLATE_H
#define MG_TEMPLATE_H

#include <stddef.h>

#include "mg_labels.h"

/* Expands tmpl with the alert's labels (n, borrowed) and value into out
 * (len bytes, always NUL-terminated). Returns 0, or -1 when the template
 * does not parse: out then holds "<error expanding template: ...>", as
 * Prometheus shows it. */
int mg_template_expand(const char *tmpl, const struct mg_label *labels,
                       size_t n, double value, char *out, size_t len);

/* Prometheus's humanize filters, into buf (at least 64 bytes). */
void mg_humanize(double v, char *buf, size_t len);
void mg_humanize1024(double v, char *buf, size_t len);
void mg_humanize_percentage(double v, char *buf, size_t len);
void mg_humanize_duration(double v, char *buf, size_t len);

#endif
