/* mg_promql: PromQL's arithmetic as Prometheus's promql package does it,
 * for the query object: durations (model.ParseDuration), extrapolatedRate,
 * avg/max_over_time, Kahan summation and classic histograms'
 * bucketQuantile. Pure functions over caller-owned arrays; owns no state. */
#include "mg_promql.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mg_duration_parse(const char *s, size_t n, int64_t *ms, char *why,
                      size_t whylen)
{
    static const struct {
        const char *u;
        uint64_t ns;
    } units[] = {{"y", 31536000000000000ULL}, {"w", 604800000000000ULL},
                 {"d", 86400000000000ULL},    {"h", 3600000000000ULL},
                 {"m", 60000000000ULL},       {"s", 1000000000ULL},
                 {"ms", 1000000ULL}};
    int clip = n > 40 ? 40 : (int)n;
    if (n == 1 && s[0] == '0') {
        *ms = 0;
        return 0;
    }
    if (n == 0) {
        snprintf(why, whylen, "empty duration string");
        return -EINVAL;
    }
    uint64_t dur = 0;
    size_t i = 0, last = 0;
    while (i < n) {
        uint64_t v = 0;
        size_t j = i;
        for (; j < n && s[j] >= '0' && s[j] <= '9'; j++) {
            unsigned d = (unsigned)(s[j] - '0');
            if (v > (UINT64_MAX - d) / 10)
                goto bad;
            v = v * 10 + d;
        }
        if (j == i)
            goto bad;
        size_t u0 = j;
        for (; j < n && !(s[j] >= '0' && s[j] <= '9'); j++)
            ;
        if (j == u0)
            goto bad;
        size_t k = 0;
        while (k < 7 && !(strlen(units[k].u) == j - u0 &&
                          memcmp(units[k].u, s + u0, j - u0) == 0))
            k++;
        if (k == 7) {
            snprintf(why, whylen, "unknown unit \"%.*s\" in duration \"%.*s\"",
                     (int)(j - u0 > 10 ? 10 : j - u0), s + u0, clip, s);
            return -EINVAL;
        }
        /* units go from the biggest to the smallest, each once */
        if (k + 1 <= last)
            goto bad;
        last = k + 1;
        if (v > (1ULL << 63) / units[k].ns) {
            snprintf(why, whylen, "duration out of range");
            return -EINVAL;
        }
        dur += v * units[k].ns;
        if (dur > (uint64_t)INT64_MAX) {
            snprintf(why, whylen, "duration out of range");
            return -EINVAL;
        }
        i = j;
    }
    *ms = (int64_t)(dur / 1000000);
    return 0;
bad:
    snprintf(why, whylen, "not a valid duration string: \"%.*s\"", clip, s);
    return -EINVAL;
}

/* Go's time.Duration.Seconds for a whole number of ms: whole seconds plus
 * the rest in ns over 1e9, so the rounding matches Prometheus's. */
static double go_seconds(int64_t ms)
{
    return (double)(ms / 1000) + (double)((ms % 1000) * 1000000) / 1e9;
}

int mg_promql_rate(const struct mg_point *p, size_t n, int64_t end_ms,
                   int64_t range_ms, int is_counter, int is_rate,
                   double *out)
{
    if (n < 2)
        return 0;
    int64_t start_ms = end_ms - range_ms;
    double result = p[n - 1].v - p[0].v;
    if (is_counter)
        for (size_t i = 1; i < n; i++)
            if (p[i].v < p[i - 1].v)
                result += p[i - 1].v;
    double to_start = (double)(p[0].t - start_ms) / 1000;
    double to_end = (double)(end_ms - p[n - 1].t) / 1000;
    double sampled = (double)(p[n - 1].t - p[0].t) / 1000;
    double avg = sampled / (double)(n - 1);
    double threshold = avg * 1.1;
    /* Samples close enough to an edge (within 110% of the average spacing)
     * extrapolate to it; farther ones by half a spacing only. */
    if (to_start >= threshold)
        to_start = avg / 2;
    if (is_counter) {
        /* a counter does not go below zero: stop where it would reach it */
        double to_zero = to_start;
        if (result > 0 && p[0].v >= 0)
            to_zero = sampled * (p[0].v / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    if (to_end >= threshold)
        to_end = avg / 2;
    double factor = 1.0;
    if (sampled != 0)
        factor = (sampled + to_start + to_end) / sampled;
    if (is_rate)
        factor /= go_seconds(range_ms);
    *out = result * factor;
    return 1;
}

double mg_kahan_inc(double inc, double sum, double *c)
{
    double t = sum + inc;
    if (isinf(t))
        *c = 0;
    else if (fabs(sum) >= fabs(inc))
        *c += (sum - t) + inc;
    else
        *c += (inc - t) + sum;
    return t;
}

double mg_promql_avg_over_time(const struct mg_point *p, size_t n)
{
    double sum = p[0].v, count = 1, mean = 0, c = 0;
    int incremental = 0;
    for (size_t i = 1; i < n; i++) {
        count = (double)(i + 1);
        if (!incremental) {
            double nc = c, ns = mg_kahan_inc(p[i].v, sum, &nc);
            if (!isinf(ns)) {
                sum = ns;
                c = nc;
                continue;
            }
            /* the sum overflows: a running mean from here on */
            incremental = 1;
            mean = sum / (count - 1);
            c /= (count - 1);
        }
        double qf = (count - 1) / count;
        double nc = qf * c;
        mean = mg_kahan_inc(p[i].v / count, qf * mean, &nc);
        c = nc;
    }
    if (incremental)
        return mean + c;
    return sum / count + c / count;
}

double mg_promql_max_over_time(const struct mg_point *p, size_t n)
{
    double m = p[0].v;
    for (size_t i = 0; i < n; i++)
        if (p[i].v > m || isnan(m))
            m = p[i].v;
    return m;
}

static int bucket_cmp(const void *a, const void *b)
{
    double x = ((const struct mg_bucket *)a)->upper;
    double y = ((const struct mg_bucket *)b)->upper;
    return (x > y) - (x < y);
}

/* util/almost.Equal */
static int almost_equal(double a, double b, double eps)
{
    if ((isnan(a) && isnan(b)) || a == b)
        return 1;
    double abs_sum = fabs(a) + fabs(b), diff = fabs(a - b);
    if (a == 0 || b == 0 || abs_sum < DBL_MIN)
        return diff < eps * DBL_MIN;
    return diff / fmin(abs_sum, DBL_MAX) < eps;
}

double mg_promql_bucket_quantile(double phi, struct mg_bucket *b, size_t n)
{
    if (isnan(phi))
        return NAN;
    if (phi < 0)
        return -INFINITY;
    if (phi > 1)
        return INFINITY;
    if (n == 0)
        return NAN;
    qsort(b, n, sizeof(*b), bucket_cmp);
    if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
        return NAN;
    /* coalesceBuckets: equal bounds add up */
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (b[i].upper == b[k].upper) {
            b[k].count += b[i].count;
        } else {
            b[++k] = b[i];
        }
    }
    n = k + 1;
    /* ensureMonotonicAndIgnoreSmallDeltas, tolerance 1e-12 */
    double prev = b[0].count;
    for (size_t i = 1; i < n; i++) {
        double curr = b[i].count;
        if (curr == prev)
            continue;
        if (almost_equal(prev, curr, 1e-12) || curr < prev) {
            b[i].count = prev;
            continue;
        }
        prev = curr;
    }
    if (n < 2)
        return NAN;
    double obs = b[n - 1].count;
    if (obs == 0)
        return NAN;
    double rank = phi * obs;
    /* sort.Search(n - 1, count >= rank) */
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) >> 1;
        if (!(b[mid].count >= rank))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n - 1)
        return b[n - 2].upper;
    if (lo == 0 && b[0].upper <= 0)
        return b[0].upper;
    double start = 0, end = b[lo].upper, count = b[lo].count;
    if (lo > 0) {
        start = b[lo - 1].upper;
        count -= b[lo - 1].count;
        rank -= b[lo - 1].count;
    }
    return start + (end - start) * (rank / count);
}
