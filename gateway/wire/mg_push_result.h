/* mg_push_result: what a push did, as acks and HTTP replies report it:
 * counts, at most MG_PUSH_MAX_ERRORS errors with their index, reason and
 * detail, and at most MG_PUSH_MAX_DROPS drops with their index and reason.
 * Owns nothing beyond the struct. */
#ifndef MG_PUSH_RESULT_H
#define MG_PUSH_RESULT_H

#include <stdint.h>

#include "mg_common.h"

/* One rejected metric, as acks and HTTP replies report it. */
struct mg_push_error {
    int32_t index; /* the metric's position; -1: the message itself */
    enum mg_reason reason;
    char detail[MG_WHY_LEN];
};

#define MG_PUSH_MAX_ERRORS 16

/* One accepted metric that feeds no output, and why (a drop reason:
 * rule, script_error, cardinality_cap, limit). */
struct mg_push_drop {
    int32_t index;
    enum mg_reason reason;
};

#define MG_PUSH_MAX_DROPS 16

/* What a push did, for the reply. */
struct mg_push_result {
    uint32_t accepted, rejected, dropped;
    uint32_t nerr;
    struct mg_push_error err[MG_PUSH_MAX_ERRORS];
    uint32_t ndrop; /* the first MG_PUSH_MAX_DROPS of dropped */
    struct mg_push_drop drop[MG_PUSH_MAX_DROPS];
    uint64_t ack;
    int has_ack;
    int fatal; /* the stream cannot be decoded further */
    double retry_after; /* > 0: over a producer's budget, seconds to wait */
};

void mg_push_result_reset(struct mg_push_result *res);
void mg_push_result_error(struct mg_push_result *res, int32_t index,
                          enum mg_reason r, const char *why);

/* Counts one dropped metric and lists it while there is room: a store
 * into the result, no allocation, for the hot path's known dropped
 * series. */
static inline void mg_push_result_drop(struct mg_push_result *res, int32_t index,
                                       enum mg_reason r)
{
    res->dropped++;
    if (res->ndrop < MG_PUSH_MAX_DROPS)
        res->drop[res->ndrop++] = (struct mg_push_drop){index, r};
}

struct mg_buf;
/* The HTTP reply's JSON: {"accepted":N,"rejected":M,"dropped":D,
 * "errors":[{index,reason,detail}],"drops":[{index,reason}]} and a
 * newline, appended to b. */
void mg_push_result_json(const struct mg_push_result *res, struct mg_buf *b);

#endif
