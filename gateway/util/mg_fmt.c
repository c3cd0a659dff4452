/* mg_fmt: doubles for the exposition formats. */
#include "mg_fmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static size_t fmt_int(char *buf, int64_t v)
{
    char tmp[24];
    size_t n = 0, k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[k++] = '-';
    while (n)
        buf[k++] = tmp[--n];
    buf[k] = '\0';
    return k;
}

/* Integers print as integers without snprintf (most counters); others as
 * %.15g, or %.17g when that does not read back as the same double. */
size_t mg_format_double(char *buf, double v)
{
    if (isnan(v))
        return (size_t)sprintf(buf, "NaN");
    if (isinf(v))
        return (size_t)sprintf(buf, v > 0 ? "+Inf" : "-Inf");
    /* the range first: converting a double past int64's is undefined */
    if (fabs(v) < 1e15 && v == (double)(int64_t)v) {
        if (v == 0 && signbit(v))
            return (size_t)sprintf(buf, "-0");
        return fmt_int(buf, (int64_t)v);
    }
    int n = snprintf(buf, 32, "%.15g", v);
    if (strtod(buf, NULL) != v)
        n = snprintf(buf, 32, "%.17g", v);
    return (size_t)n;
}
