/* mg_rw_encode: Prometheus remote write 1.0 as an exposition format: the
 * protobuf WriteRequest (TimeSeries, Label, Sample, MetricMetadata) written
 * by hand straight from the store's output series into the caller's reused
 * buffer, and the series a pass derives from one output (a histogram's
 * _bucket{le}, _sum and _count, a summary's quantiles), with external
 * labels merged and an optional write relabel step. Owns its scratch
 * arrays only; knows nothing of sockets, queues or compression. */
#ifndef MG_RW_ENCODE_H
#define MG_RW_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"
#include "mg_labels.h"
#include "mg_store.h"

struct mg_relabel;

/* MetricMetadata.MetricType, as remote.proto numbers it. */
enum mg_rw_type {
    MG_RW_UNKNOWN = 0,
    MG_RW_COUNTER = 1,
    MG_RW_GAUGE = 2,
    MG_RW_HISTOGRAM = 3,
    MG_RW_GAUGEHISTOGRAM = 4,
    MG_RW_SUMMARY = 5,
    MG_RW_INFO = 6,
    MG_RW_STATESET = 7
};

enum mg_rw_type mg_rw_type_of(enum mg_type t);

/* Appends WriteRequest field 1: one TimeSeries with labels (sorted by
 * name, __name__ among them, no empty values) and one sample. 0 or
 * -ENOMEM. */
int mg_rw_add_series(struct mg_buf *out, const struct mg_label *labels,
                     size_t n, double value, int64_t ts_ms);
/* Appends WriteRequest field 3: one MetricMetadata. help and unit may be
 * NULL (the field is left out). 0 or -ENOMEM. */
int mg_rw_add_metadata(struct mg_buf *out, enum mg_rw_type type,
                       const char *name, size_t nlen, const char *help,
                       size_t hlen, const char *unit, size_t ulen);

/* How one destination sees the outputs. */
struct mg_rw_view {
    const struct mg_label *external; /* external labels, sorted; borrowed */
    size_t nexternal;
    const struct mg_relabel *relabel; /* write_relabel_configs; NULL: none */
};

/* Scratch a pass reuses for every series: nothing is allocated per sample
 * once it has grown to the widest label set. */
struct mg_rw_scratch {
    struct mg_label *v;
    size_t cap;
    struct mg_buf name;
    struct mg_lbuild lb;
    uint64_t relabel_errors; /* series a relabel step failed on, skipped */
};
void mg_rw_scratch_init(struct mg_rw_scratch *s);
void mg_rw_scratch_fini(struct mg_rw_scratch *s);

/* Appends every sample output idx of st exposes (one for a counter, gauge
 * or untyped; buckets, quantiles, _sum and _count for histograms and
 * summaries) as TimeSeries stamped ts_ms. Returns the samples written
 * (series the relabel step drops are not), or -ENOMEM. idx must name a
 * live output. */
long mg_rw_encode_output(struct mg_store *st, uint32_t idx,
                         const struct mg_rw_view *view, int64_t ts_ms,
                         struct mg_rw_scratch *s, struct mg_buf *out);

#endif
