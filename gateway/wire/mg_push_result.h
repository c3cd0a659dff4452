/* mg_push_result: what a push did, as acks and HTTP replies report it:
 * counts, and at most MG_PUSH_MAX_ERRORS errors with their index, reason
 * and detail. Owns nothing beyond the struct. */
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

/* What a push did, for the reply. */
struct mg_push_result {
    uint32_t accepted, rejected, dropped;
    uint32_t nerr;
    struct mg_push_error err[MG_PUSH_MAX_ERRORS];
    uint64_t ack;
    int has_ack;
    int fatal; /* the stream cannot be decoded further */
    double retry_after; /* > 0: over a producer's budget, seconds to wait */
};

void mg_push_result_reset(struct mg_push_result *res);
void mg_push_result_error(struct mg_push_result *res, int32_t index,
                          enum mg_reason r, const char *why);

#endif
