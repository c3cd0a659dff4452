/* mg_log: logfmt and JSON lines on stderr. */
#include "mg_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mg_common.h"

static enum mg_log_format log_format = MG_LOG_LOGFMT;
static enum mg_log_level log_level = MG_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
static unsigned long lines_dropped;

void mg_log_set_format(enum mg_log_format f)
{
    log_format = f;
}

void mg_log_set_level(enum mg_log_level l)
{
    log_level = l;
}

static void put_logfmt_value(FILE *f, const char *v)
{
    int quote = *v == '\0' || strpbrk(v, " =\"\\\n\t") != NULL;
    if (!quote) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fputc('\\', f), fputc(*v, f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
    fputc('"', f);
}

static void put_json_string(FILE *f, const char *v)
{
    fputc('"', f);
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == '"' || c == '\\')
            fputc('\\', f), fputc(c, f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* One write(2) of the whole line: with stderr non-blocking (the daemon
 * makes it so when it is a pipe) a full pipe drops the line and counts it
 * instead of stopping the gateway. */
static void put_line(const char *line, size_t len)
{
    ssize_t w;

    do
        w = write(STDERR_FILENO, line, len);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)len)
        lines_dropped++;
}

void mg_log(enum mg_log_level level, const char *msg, ...)
{
    if (level < log_level)
        return;
    char ts[40];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);

    /* One buffered line, written at once, so lines never interleave. */
    char line[4096];
    FILE *f = fmemopen(line, sizeof(line), "w");
    if (!f)
        return;
    int json = log_format == MG_LOG_JSON;
    if (json) {
        fprintf(f, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts,
                level_names[level]);
        put_json_string(f, msg);
    } else {
        fprintf(f, "ts=%s level=%s msg=", ts, level_names[level]);
        put_logfmt_value(f, msg);
    }
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        if (!v)
            v = "";
        if (json) {
            fputc(',', f);
            put_json_string(f, k);
            fputc(':', f);
            put_json_string(f, v);
        } else {
            fprintf(f, " %s=", k);
            put_logfmt_value(f, v);
        }
    }
    va_end(ap);
    fputs(json ? "}\n" : "\n", f);
    long len = ftell(f);
    fclose(f);
    if (len <= 0 || (size_t)len >= sizeof(line)) {
        len = (long)strlen(line);
        if (len > 0 && line[len - 1] != '\n')
            line[len - 1] = '\n';
    }
    put_line(line, (size_t)len);
}

unsigned long mg_log_dropped(void)
{
    return lines_dropped;
}

int mg_log_allow(struct mg_log_limit *lim, unsigned burst)
{
    double now = mg_mono_seconds();
    if (now - lim->window_start >= 10.0) {
        lim->window_start = now;
        lim->count = 0;
    }
    if (lim->count < burst) {
        lim->count++;
        return 1;
    }
    lim->suppressed++;
    return 0;
}

int mg_log_every(struct mg_log_limit *lim, double interval, unsigned *suppressed)
{
    double now = mg_mono_seconds();
    if (lim->count && now - lim->window_start < interval) {
        lim->suppressed++;
        return 0;
    }
    lim->window_start = now;
    lim->count = 1;
    *suppressed = lim->suppressed;
    lim->suppressed = 0;
    return 1;
}

/* Reports a window of r that ended with lines held back, and starts over. */
static void reason_rollover(struct mg_log_reasons *lr, enum mg_reason r, double now)
{
    struct mg_log_limit *lim = &lr->lim[r];
    if (now - lim->window_start < lr->window)
        return;
    if (lim->suppressed) {
        char msg[128], n[16];
        snprintf(msg, sizeof(msg), "%s suppressed", lr->msg);
        snprintf(n, sizeof(n), "%u", lim->suppressed);
        mg_log(MG_LOG_WARN, msg, "reason", mg_reason_name(r), "suppressed", n, NULL);
        lim->suppressed = 0;
    }
    lim->count = 0;
    lim->window_start = now;
}

int mg_log_reason_allow(struct mg_log_reasons *lr, enum mg_reason r)
{
    if ((unsigned)r >= MG_REASON_COUNT)
        r = MG_OK;
    struct mg_log_limit *lim = &lr->lim[r];
    double now = mg_mono_seconds();
    if (lim->count == 0 && lim->suppressed == 0)
        lim->window_start = now; /* a quiet reason's first line */
    else
        reason_rollover(lr, r, now);
    if (lim->count < lr->burst) {
        lim->count++;
        return 1;
    }
    lim->suppressed++;
    return 0;
}

void mg_log_reasons_flush(struct mg_log_reasons *lr)
{
    double now = mg_mono_seconds();
    for (unsigned r = 0; r < MG_REASON_COUNT; r++)
        if (lr->lim[r].suppressed)
            reason_rollover(lr, (enum mg_reason)r, now);
}
