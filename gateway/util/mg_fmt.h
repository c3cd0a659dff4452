/* mg_fmt: numbers as Prometheus's text formats print them. Owns no state. */
#ifndef MG_FMT_H
#define MG_FMT_H

#include <stddef.h>

/* Formats v as Prometheus does (+Inf, -Inf, NaN, shortest round-trip) into
 * buf (at least 32 bytes); returns the length. */
size_t mg_format_double(char *buf, double v);

#endif
