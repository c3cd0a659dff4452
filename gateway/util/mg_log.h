/* mg_log: structured logs to stderr, logfmt or JSON, with a per-call-site
 * rate limit for messages that bad input can repeat. Owns only the format
 * setting. */
#ifndef MG_LOG_H
#define MG_LOG_H

#include "mg_common.h"

enum mg_log_format { MG_LOG_LOGFMT, MG_LOG_JSON };
enum mg_log_level { MG_LOG_DEBUG, MG_LOG_INFO, MG_LOG_WARN, MG_LOG_ERROR };

void mg_log_set_format(enum mg_log_format f);
void mg_log_set_level(enum mg_log_level l);
/* Logs msg with key/value pairs: mg_log(MG_LOG_INFO, "listening",
 * "transport", "tcp", "addr", a, NULL). Values are quoted as needed. */
void mg_log(enum mg_log_level level, const char *msg, ...);
/* Lines lost because stderr would have blocked (or failed). */
unsigned long mg_log_dropped(void);

/* A limiter for one call site: at most `burst` lines per 10 s window; the
 * lines it held back are reported as suppressed=N on the next one. */
struct mg_log_limit {
    double window_start;
    unsigned count, suppressed;
};
/* 1 when this line may be logged now. */
int mg_log_allow(struct mg_log_limit *lim, unsigned burst);
/* At most one line per `interval` seconds: 1 when this one may be logged,
 * with *suppressed set to how many were held back since the last one (for
 * a suppressed=N field). A flood of the same failure logs a line a second,
 * not a line per failure. */
int mg_log_every(struct mg_log_limit *lim, double interval, unsigned *suppressed);

/* Limiters keyed by reason, for lines a flood of bad input repeats: at
 * most `burst` lines of a reason per `window` seconds. A window that ended
 * with lines held back is reported once, as msg="<msg> suppressed"
 * reason=R suppressed=K, before the next line of that reason or by
 * mg_log_reasons_flush, whichever comes first. Zeroed, then burst, window
 * and msg set. */
struct mg_log_reasons {
    unsigned burst;
    double window;
    const char *msg;
    struct mg_log_limit lim[MG_REASON_COUNT];
};
/* 1 when a line of reason r may be logged now. */
int mg_log_reason_allow(struct mg_log_reasons *lr, enum mg_reason r);
/* Writes the suppression lines of the windows that have ended: a timer
 * calls it, so the count appears even when the flood stopped. */
void mg_log_reasons_flush(struct mg_log_reasons *lr);

#endif
