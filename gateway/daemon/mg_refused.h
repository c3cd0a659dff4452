/* mg_refused: the log lines of refused input, whatever the transport: one
 * line per refusal reason of a push, naming the transport, the peer, the
 * reason (the reason label of moongate_samples_rejected_total) and the
 * detail, at most MG_REFUSED_BURST lines per reason per MG_REFUSED_WINDOW
 * seconds, then one line with how many were held back. Owns the
 * process-wide limiter; knows nothing of sockets. */
#ifndef MG_REFUSED_H
#define MG_REFUSED_H

#include <stdint.h>

#include "mg_push_result.h"
#include "mg_stats.h"

#define MG_REFUSED_BURST 10
#define MG_REFUSED_WINDOW 10.0

/* One refusal: msg (static, "input refused" unless the event has its own
 * words), peer as mg_addr_name writes it, index the metric's position or
 * -1 for the message or request itself. */
void mg_refused_log(const char *msg, enum mg_transport t, const char *peer,
                    enum mg_reason r, int32_t index, const char *detail);
/* The refusals of one push: a line for the first listed error of each
 * rejection reason in res (drops and cap notes are not refusals). The
 * caller skips it when res->rejected is 0, so peer is formatted only then. */
void mg_refused_result(enum mg_transport t, const char *peer,
                       const struct mg_push_result *res);
/* Writes the suppression lines of windows that ended (a timer's job). */
void mg_refused_flush(void);

#endif
