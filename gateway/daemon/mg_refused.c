/* mg_refused: refusal log lines, limited per reason. */
#include "mg_refused.h"

#include <stdio.h>

#include "mg_log.h"

static struct mg_log_reasons limits = {
    .burst = MG_REFUSED_BURST,
    .window = MG_REFUSED_WINDOW,
    .msg = "input refused lines",
};

void mg_refused_log(const char *msg, enum mg_transport t, const char *peer,
                    enum mg_reason r, int32_t index, const char *detail)
{
    if (!mg_log_reason_allow(&limits, r))
        return;
    char ix[16];
    snprintf(ix, sizeof(ix), "%d", (int)index);
    mg_log(MG_LOG_WARN, msg, "transport", mg_transport_name(t), "peer", peer ? peer : "?",
           "reason", mg_reason_name(r), "index", ix, "detail", detail ? detail : "", NULL);
}

void mg_refused_result(enum mg_transport t, const char *peer,
                       const struct mg_push_result *res)
{
    uint64_t seen = 0; /* reasons already logged for this push */
    for (uint32_t i = 0; i < res->nerr; i++) {
        const struct mg_push_error *e = &res->err[i];
        if (e->reason == MG_OK || e->reason >= MG_REASON_COUNT_REJECT ||
            (seen & (1ull << e->reason)))
            continue;
        seen |= 1ull << e->reason;
        mg_refused_log("input refused", t, peer, e->reason, e->index, e->detail);
    }
}

void mg_refused_flush(void)
{
    mg_log_reasons_flush(&limits);
}
