/* mg_common: the invariant check, reason names, clocks. */
#include "mg_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void mg_panic(const char *file, int line, const char *expr)
{
    fprintf(stderr, "moongate: invariant failed at %s:%d: %s\n", file, line,
            expr);
    abort();
}

static const char *const reason_names[MG_REASON_COUNT] = {
    [MG_OK] = "ok",
    [MG_REASON_DECODE_ERROR] = "decode_error",
    [MG_REASON_INVALID_METRIC_NAME] = "invalid_metric_name",
    [MG_REASON_INVALID_LABEL_NAME] = "invalid_label_name",
    [MG_REASON_INVALID_LABEL_VALUE] = "invalid_label_value",
    [MG_REASON_INVALID_VALUE] = "invalid_value",
    [MG_REASON_TYPE_CONFLICT] = "type_conflict",
    [MG_REASON_NAME_COLLISION] = "name_collision",
    [MG_REASON_DUPLICATE_LABEL] = "duplicate_label",
    [MG_REASON_TOO_MANY_LABELS] = "too_many_labels",
    [MG_REASON_TOO_MANY_METRICS] = "too_many_metrics",
    [MG_REASON_TOO_LARGE] = "too_large",
    [MG_REASON_UNAUTHORIZED] = "unauthorized",
    [MG_REASON_LIMIT] = "limit",
    [MG_REASON_OVER_BUDGET] = "over_budget",
    [MG_DROP_RULE] = "rule",
    [MG_DROP_CARDINALITY_CAP] = "cardinality_cap",
    [MG_DROP_SCRIPT_ERROR] = "script_error",
    [MG_DROP_QUEUE_FULL] = "queue_full",
    [MG_DROP_LIMIT] = "limit",
};

const char *mg_reason_name(enum mg_reason r)
{
    if ((unsigned)r >= MG_REASON_COUNT || !reason_names[r])
        return "unknown";
    return reason_names[r];
}

int64_t mg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double mg_mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
