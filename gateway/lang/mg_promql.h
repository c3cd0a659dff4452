/* mg_promql: PromQL's arithmetic as Prometheus's promql package does it:
 * durations (model.ParseDuration), extrapolatedRate, avg/max_over_time,
 * Kahan summation, classic histograms' bucketQuantile. Pure functions over
 * arrays the caller owns; owns no state; knows nothing of series or Lua. */
#ifndef MG_PROMQL_H
#define MG_PROMQL_H

#include <stddef.h>
#include <stdint.h>

struct mg_point {
    int64_t t; /* ms */
    double v;
};

/* Prometheus's ParseDuration (prometheus/common model): units y w d h m s
 * ms, biggest first, each at most once, "0" alone allowed. Returns 0 with
 * *ms, or -EINVAL with the reason in why. */
int mg_duration_parse(const char *s, size_t n, int64_t *ms, char *why,
                      size_t whylen);

/* extrapolatedRate over the points p[0..n) (ascending t, all in the range
 * (end_ms - range_ms, end_ms]): rate (is_rate) or increase, counter resets
 * when is_counter. Returns 1 with *out, 0 when n < 2. */
int mg_promql_rate(const struct mg_point *p, size_t n, int64_t end_ms,
                   int64_t range_ms, int is_counter, int is_rate,
                   double *out);
/* avg_over_time and max_over_time of n > 0 points. */
double mg_promql_avg_over_time(const struct mg_point *p, size_t n);
double mg_promql_max_over_time(const struct mg_point *p, size_t n);

/* One Kahan-Neumaier step, as Prometheus's kahansum.Inc: returns the new
 * sum, updates *c. The total is sum + *c. */
double mg_kahan_inc(double inc, double sum, double *c);

struct mg_bucket {
    double upper, count;
};
/* bucketQuantile: b (n entries, reordered and rewritten in place) as
 * Prometheus's BucketQuantile reads them. */
double mg_promql_bucket_quantile(double phi, struct mg_bucket *b, size_t n);

#endif
