/* mg_wire: the msgpack wire format. Frames a byte stream into messages with
 * a bounded scanner (nothing is decoded before its counts are checked
 * against the bytes and the limits), decodes a frame with mg_unpack
 * (mg_unpack.h) into a reused zone, and turns each metric map into
 * a validated struct mg_sample. Owns no series; allocates only its scratch,
 * once. Encodes ack replies. */
#ifndef MG_WIRE_H
#define MG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "mg_common.h"
#include "mg_labels.h"
#include "mg_push_result.h"
#include "mg_store.h"

#define MG_WIRE_MAX_DEPTH 32

struct mg_wire_limits {
    size_t max_message_bytes; /* one message */
    unsigned max_depth;       /* nesting of maps and arrays */
    size_t max_objects;       /* msgpack objects in one message */
    size_t max_metrics;       /* metric maps in one message */
    size_t max_labels;        /* labels of one series, source included */
    size_t max_name_len;      /* metric and label names */
    size_t max_value_len;     /* label values */
    size_t max_buckets;       /* histogram buckets, summary quantiles */
    uint32_t default_ttl_ms;
};

/* The documented defaults. */
void mg_wire_limits_default(struct mg_wire_limits *lim);

/* The longest TTL a message can carry, UINT32_MAX ms (about 49.7 days). */
#define MG_TTL_MAX_S 4294967.295
/* Seconds (finite, >= 0: the caller refuses the rest) to milliseconds,
 * clamped to MG_TTL_MAX_S so a long TTL never wraps into a short one. */
static inline uint32_t mg_ttl_ms(double seconds)
{
    return seconds >= MG_TTL_MAX_S ? UINT32_MAX : (uint32_t)(seconds * 1000.0);
}

/* A resumable scan of one message: zero it before the first byte. */
struct mg_scan {
    size_t off;
    size_t objects;
    unsigned depth;
    uint32_t left[MG_WIRE_MAX_DEPTH + 1];
};

/* Scans p[0..len), the bytes of one message so far. Returns 1 when the
 * message is complete (it is p[0..sc->off)), 0 when more bytes are needed
 * (call again with the same p and a larger len), or -1 with the reason in
 * *r (MG_REASON_TOO_LARGE, MG_REASON_DECODE_ERROR) and detail in why. */
int mg_wire_scan(struct mg_scan *sc, const char *p, size_t len,
                 const struct mg_wire_limits *lim, enum mg_reason *r,
                 char why[MG_WHY_LEN]);

/* The message-level keys of one decoded message. Borrowed from the frame
 * and the zone. */
struct mg_message {
    const msgpack_object *metrics; /* the array's items */
    size_t nmetrics;
    const msgpack_object_map *dropped;
    struct mg_label *source; /* sorted; in the scratch */
    size_t nsource;
    uint64_t ack;
    int has_ack;
    const char *token;
    size_t token_len;
    uint32_t ttl_ms;
    int not_a_map; /* the top-level value is not a map: not a message */
};

/* Scratch that lives as long as its decoder: labels, renamed names,
 * buckets. Sized from the limits once. */
struct mg_wire_scratch;
struct mg_wire_scratch *mg_wire_scratch_new(const struct mg_wire_limits *lim);
void mg_wire_scratch_free(struct mg_wire_scratch *ws);

/* Reads the top-level map of a decoded message. Returns MG_OK or why the
 * whole message is refused. */
enum mg_reason mg_wire_message(const msgpack_object *root,
                               const struct mg_wire_limits *lim,
                               struct mg_wire_scratch *ws,
                               struct mg_message *m, char why[MG_WHY_LEN]);

/* Decodes metric i of m into s, borrowing from the frame and ws until the
 * next call. Checks the structure and the values (types, NaN or negative
 * counters, cumulative buckets, count against +Inf, duplicate labels, the
 * label count) but not the names: see mg_wire_check_identity. */
enum mg_reason mg_wire_metric(const struct mg_message *m, size_t i,
                              const struct mg_wire_limits *lim,
                              struct mg_wire_scratch *ws, struct mg_sample *s,
                              char why[MG_WHY_LEN]);

/* The series a producer's reported drops land in: name, one counter per
 * (producer, reason), added to by each report. */
#define MG_CLIENT_DROPPED "moongate_client_dropped_total"

/* Makes s an input series of MG_CLIENT_DROPPED{source labels, reason}:
 * a counter the count adds to, with m's source and TTL, borrowing from m,
 * reason and ws until the next call. reason is not checked here: its
 * value goes through mg_wire_check_identity like any label's. */
enum mg_reason mg_wire_client_drop(const struct mg_message *m, const char *reason,
                                   size_t rlen, double count,
                                   const struct mg_wire_limits *lim,
                                   struct mg_wire_scratch *ws, struct mg_sample *s,
                                   char why[MG_WHY_LEN]);

/* The checks a series needs only when it is new: the metric name, label
 * names and values, their lengths. A known series passed them already. */
enum mg_reason mg_wire_check_identity(const struct mg_sample *s,
                                      const struct mg_wire_limits *lim,
                                      char why[MG_WHY_LEN]);

/* Encodes the ack reply {ack, accepted, rejected, dropped, errors, drops}
 * (or, with has_ack unset, an error message {error, ..., errors} for a
 * stream about to be closed) into sb. 0 or -ENOMEM. */
int mg_wire_encode_reply(const struct mg_push_result *res, msgpack_sbuffer *sb);

#endif
