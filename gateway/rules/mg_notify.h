/* mg_notify: delivery of alerts to Alertmanagers (POST /api/v2/alerts):
 * one bounded queue, one reused evhttp connection and one retry clock per
 * Alertmanager, all on the caller's event_base, no threads. Owns copies of
 * the queued alerts; knows nothing of rules or of when an alert is due
 * (mg_rules decides that, as Prometheus's needsSending).
 *
 * A batch is retried with doubling backoff on connection errors, timeouts,
 * 5xx, 408 and 429 until it is accepted; it is dropped on any other status
 * (counted "rejected"); an alert leaves a queue early only when a newer
 * alert with the same labels is queued (superseded: Alertmanager keeps the
 * newest state per label set anyway; not counted as dropped) or when the
 * queue is full (the oldest go first, counted "queue_full"). Counters
 * count per Alertmanager: an alert sent to two counts twice, as
 * Prometheus's sum over its alertmanager label would. */
#ifndef MG_NOTIFY_H
#define MG_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "mg_labels.h"

struct event_base;
struct mg_stats;
struct mg_notify;

/* One alert to send. Everything is borrowed for the mg_notify_send call
 * only: the module renders it to JSON at once. Labels and annotations need
 * not be sorted; labels with an empty value are absent (Prometheus's rule). */
struct mg_notify_alert {
    const struct mg_label *labels;
    size_t nlabels;
    const struct mg_label *annotations;
    size_t nannotations;
    int64_t starts_at_ms, ends_at_ms; /* ms since the epoch; 0: omitted */
    const char *generator_url;        /* NULL or "": omitted */
};

/* Zero fields take the defaults in brackets. */
struct mg_notify_config {
    size_t queue_capacity; /* alerts per Alertmanager [10000] */
    size_t batch_size;     /* alerts per POST [64] */
    double timeout;        /* seconds, a whole request [10] */
    double backoff_min;    /* seconds before the first retry [0.5] */
    double backoff_max;    /* doubling stops here [30] */
    /* https:// URLs: a bufferevent that speaks TLS to host (the daemon's
     * mg_tls client), made for each request; NULL refuses https URLs. */
    struct bufferevent *(*tls_bev)(void *ctx, struct event_base *base, const char *host);
    void *tls_ctx;
};

/* urls: n strings "http[s]://host[:port][/prefix]" (the path /api/v2/alerts is
 * appended unless the URL already ends with it); copied. cfg: NULL for the
 * defaults; copied. base: borrowed, must outlive the result; NULL keeps the
 * queues without sending anything (the Lua module's virtual clock). stats:
 * borrowed, must outlive the result, may be NULL; it gets
 * notifications_sent and notify_dropped{queue_full|rejected|shutdown}.
 * Returns NULL with a message in why on a bad URL or config, or ENOMEM. */
struct mg_notify *mg_notify_new(struct event_base *base,
                                const char *const *urls, size_t n,
                                const struct mg_notify_config *cfg,
                                struct mg_stats *stats, char *why,
                                size_t whylen);
/* The Authorization header of every request from now on ("Bearer ...",
 * "Basic ..."; copied), NULL for none. 0 or -ENOMEM. */
int mg_notify_set_authorization(struct mg_notify *n, const char *value);
/* Cancels what is in flight; alerts still queued are counted as dropped
 * with reason "shutdown". NULL is a no-op. */
void mg_notify_free(struct mg_notify *n);

/* Queues a copy of each alert for every Alertmanager, in order; sending
 * happens later from the event loop. An alert with no labels, or ending
 * before it starts, is one Alertmanager refuses: it is counted as
 * "rejected" here rather than sent to fail a whole batch. Returns 0, or
 * -ENOMEM (the alerts before the one that failed are queued). */
int mg_notify_send(struct mg_notify *n, const struct mg_notify_alert *alerts,
                   size_t count);

/* Alerts not yet delivered to Alertmanager am (queued, waiting for a retry
 * or in flight); 0 for an am out of range. */
size_t mg_notify_queued(const struct mg_notify *n, size_t am);
/* The number of Alertmanagers, and the URL of one as given (borrowed). */
size_t mg_notify_count(const struct mg_notify *n);
const char *mg_notify_url(const struct mg_notify *n, size_t am);

/* What an evhttp request error (enum evhttp_request_error) and the
 * socket's errno say, for logs: static text, or buf. Shared by the
 * outbound clients (Alertmanager here, remote write in the daemon). */
const char *mg_http_error_text(int err, int sock_err, char *buf, size_t len);

#endif
