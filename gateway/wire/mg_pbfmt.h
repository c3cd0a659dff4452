/* mg_pbfmt: length-delimited io.prometheus.client.MetricFamily messages,
 * the Go client's push format, decoded by protobuf-c with the code CMake
 * generates from proto/metrics.proto. Each declared length is checked
 * against the bytes left and a cap before protobuf-c sees it, and the
 * varint that declares it may be at most 10 bytes. Owns the decoded
 * messages; knows nothing of series or groups. */
#ifndef MG_PBFMT_H
#define MG_PBFMT_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.pb-c.h"
#include "mg_common.h"

typedef Io__Prometheus__Client__MetricFamily mg_pb_family;
typedef Io__Prometheus__Client__Metric mg_pb_metric;

#define MG_PB_CONTENT_TYPE "application/vnd.google.protobuf"

struct mg_pbfmt {
    const uint8_t *p, *end, *start;
    size_t max_message;  /* bytes of one message */
    uint32_t index;      /* messages read so far */
    mg_pb_family **kept; /* every message read, freed by fini */
    size_t nkept, capkept;
};

/* Reads buf[0..len), borrowed for the reads; one message may be at most
 * max_message bytes. */
void mg_pbfmt_init(struct mg_pbfmt *pb, const void *buf, size_t len,
                   size_t max_message);
/* The next family into *mf: 1, 0 at the end, or -1 with the reason in *r
 * and "message N at byte B: what is wrong" in why. *mf belongs to pb and
 * stays valid until mg_pbfmt_fini. */
int mg_pbfmt_next(struct mg_pbfmt *pb, const mg_pb_family **mf,
                  enum mg_reason *r, char why[MG_WHY_LEN]);
/* Frees every message read. */
void mg_pbfmt_fini(struct mg_pbfmt *pb);

#endif
