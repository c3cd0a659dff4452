/* mg_common: what every module shares: the invariant check, the reasons a
 * sample is refused, the size of a rejection's detail, and the clock.
 * Owns no state. */
#ifndef MG_COMMON_H
#define MG_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Detail buffers for rejections and errors: the caller owns one on its stack,
 * so refusing bad input never allocates. */
#define MG_WHY_LEN 160

/* Our own invariants only; bad input is counted and reported, never asserted. */
void mg_panic(const char *file, int line, const char *expr);
#define mg_require(e) ((e) ? (void)0 : mg_panic(__FILE__, __LINE__, #e))

/* Why a metric or a message was refused (moongate_samples_rejected_total) or
 * dropped after acceptance (moongate_samples_dropped_total). 0 = accepted.
 * Names are the label values, kept in mg_reason_name(). */
enum mg_reason {
    MG_OK = 0,
    MG_REASON_DECODE_ERROR,
    MG_REASON_INVALID_METRIC_NAME,
    MG_REASON_INVALID_LABEL_NAME,
    MG_REASON_INVALID_LABEL_VALUE,
    MG_REASON_INVALID_VALUE,
    MG_REASON_TYPE_CONFLICT,
    MG_REASON_NAME_COLLISION,
    MG_REASON_DUPLICATE_LABEL,
    MG_REASON_TOO_MANY_LABELS,
    MG_REASON_TOO_MANY_METRICS,
    MG_REASON_TOO_LARGE,
    MG_REASON_UNAUTHORIZED,
    MG_REASON_LIMIT,
    MG_REASON_OVER_BUDGET,  /* a producer's own rate or series budget */
    MG_REASON_COUNT_REJECT, /* the end of the rejection reasons */
    /* drop reasons, counted in moongate_samples_dropped_total */
    MG_DROP_RULE = MG_REASON_COUNT_REJECT,
    MG_DROP_CARDINALITY_CAP,
    MG_DROP_SCRIPT_ERROR,
    MG_DROP_QUEUE_FULL,
    MG_DROP_LIMIT,
    MG_REASON_COUNT
};

/* The label value for a reason ("invalid_metric_name"); static storage. */
const char *mg_reason_name(enum mg_reason r);

/* Milliseconds since the epoch from the wall clock, and a monotonic reading
 * in seconds for durations. */
int64_t mg_now_ms(void);
double mg_mono_seconds(void);

#endif
