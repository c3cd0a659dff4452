/* mg_stats: own counters and their publication as series. */
#include "mg_stats.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

static const double rule_bounds[MG_RULE_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    INFINITY};

const char *mg_transport_name(enum mg_transport t)
{
    static const char *const names[] = {"tcp", "udp", "unix", "http",
                                        "pushgateway", "lua"};
    return names[t];
}

const char *mg_close_name(enum mg_close r)
{
    static const char *const names[] = {"normal", "idle", "slow_reader", "decode_error",
                                        "refused", "request_timeout", "buffer_full",
                                        "shutdown"};
    return names[r];
}

/* A key becomes a label value: it must be one (UTF-8, no control bytes,
 * not empty, not long), else it is counted as "other". */
static int key_ok(const char *k, size_t n)
{
    if (n == 0 || n > 128 || !mg_utf8_valid(k, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
            return 0;
    return 1;
}

static int find(struct mg_stats_map *m, const char *key, size_t klen, double v)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->klen[i] == klen && memcmp(m->key[i], key, klen) == 0) {
            m->val[i] += v;
            return 1;
        }
    return 0;
}

void mg_stats_map_add(struct mg_stats_map *m, const char *key, size_t klen,
                      double v)
{
    if (!key_ok(key, klen)) {
        key = "other";
        klen = 5;
        m->folded++;
    }
    if (find(m, key, klen, v))
        return;
    /* the last slot is kept for "other", so a full map still counts */
    if (m->n >= MG_STATS_MAX_KEYS - 1 && !(klen == 5 && memcmp(key, "other", 5) == 0)) {
        key = "other";
        klen = 5;
        m->folded++;
        if (find(m, key, klen, v))
            return;
    }
    if (m->n >= MG_STATS_MAX_KEYS)
        return; /* unreachable: only "other" takes the last slot */
    char *k = malloc(klen + 1);
    if (!k)
        return;
    memcpy(k, key, klen);
    k[klen] = '\0';
    m->key[m->n] = k;
    m->klen[m->n] = (uint32_t)klen;
    m->val[m->n++] = v;
}

void mg_stats_map_fini(struct mg_stats_map *m)
{
    for (unsigned i = 0; i < m->n; i++)
        free(m->key[i]);
    m->n = 0;
}

void mg_stats_init(struct mg_stats *s)
{
    memset(s, 0, sizeof(*s));
    s->reload_ok = 1;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    s->start_time = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
    s->reload_success_ts = s->start_time;
}

void mg_stats_fini(struct mg_stats *s)
{
    mg_stats_map_fini(&s->script_errors);
    mg_stats_map_fini(&s->cap_hits);
    mg_stats_map_fini(&s->rule_failures);
    mg_stats_map_fini(&s->notify_dropped);
    mg_stats_map_fini(&s->snapshot_failures);
}

void mg_stats_observe_rule_eval(struct mg_stats *s, double seconds)
{
    for (int i = 0; i < MG_RULE_BUCKETS; i++)
        if (seconds <= rule_bounds[i])
            s->rule_eval_buckets[i]++;
    s->rule_eval_sum += seconds;
    s->rule_eval_count++;
}

static int one(struct mg_store *st, const char *name, enum mg_type t,
               const char *help, const char *lname, const char *lval,
               double v)
{
    struct mg_label l = {lname, lval, lname ? (uint32_t)strlen(lname) : 0,
                         lval ? (uint32_t)strlen(lval) : 0};
    return mg_store_own_set(st, name, t, help, &l, lname ? 1 : 0, v);
}

static int map(struct mg_store *st, const char *name, const char *help,
               const char *lname, const struct mg_stats_map *m)
{
    int rc = 0;
    for (unsigned i = 0; i < m->n; i++)
        rc |= one(st, name, MG_COUNTER, help, lname, m->key[i], m->val[i]);
    return rc;
}

static int process(const struct mg_stats *s, struct mg_store *st)
{
    int rc = 0;
    long page = sysconf(_SC_PAGESIZE);
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            size = resident = 0;
        fclose(f);
    }
    rc |= one(st, "process_resident_memory_bytes", MG_GAUGE,
              "Resident memory size in bytes.", NULL, NULL,
              (double)resident * (double)page);
    rc |= one(st, "process_virtual_memory_bytes", MG_GAUGE,
              "Virtual memory size in bytes.", NULL, NULL,
              (double)size * (double)page);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    rc |= one(st, "process_cpu_seconds_total", MG_COUNTER,
              "Total user and system CPU time spent in seconds.", NULL, NULL, cpu);
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        while (readdir(d))
            fds++;
        closedir(d);
        fds -= 3; /* ., .. and the directory's own descriptor */
    }
    rc |= one(st, "process_open_fds", MG_GAUGE, "Number of open file descriptors.",
              NULL, NULL, fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        rc |= one(st, "process_max_fds", MG_GAUGE,
                  "Maximum number of open file descriptors.", NULL, NULL,
                  (double)rl.rlim_cur);
    rc |= one(st, "process_start_time_seconds", MG_GAUGE,
              "Start time of the process since unix epoch in seconds.", NULL,
              NULL, s->start_time);
    return rc;
}

static int snapshot(const struct mg_stats *s, struct mg_store *st)
{
    int rc = map(st, "moongate_snapshot_failures_total",
                 "Snapshot writes that failed, by reason.", "reason",
                 &s->snapshot_failures);
    rc |= one(st, "moongate_snapshot_last_success_timestamp_seconds", MG_GAUGE,
              "When the state in the last snapshot written whole was taken.", NULL, NULL,
              s->snapshot_success_ts);
    rc |= one(st, "moongate_snapshot_size_bytes", MG_GAUGE,
              "Size of the last snapshot written.", NULL, NULL, s->snapshot_bytes);
    rc |= one(st, "moongate_snapshot_duration_seconds", MG_GAUGE,
              "Time the last snapshot took, from fork to the file in place.", NULL,
              NULL, s->snapshot_seconds);
    return rc;
}

int mg_stats_publish(const struct mg_stats *s, struct mg_store *st)
{
    int rc = 0;
    for (int t = 0; t < MG_TRANSPORT_COUNT; t++)
        rc |= one(st, "moongate_samples_received_total", MG_COUNTER,
                  "Metric updates received, by transport.", "transport",
                  mg_transport_name((enum mg_transport)t), (double)s->received[t]);
    for (int r = 1; r < MG_REASON_COUNT; r++) {
        int dropped = r >= MG_REASON_COUNT_REJECT;
        if (r == MG_REASON_LIMIT)
            continue; /* reported as the drop reason "limit" */
        rc |= one(st, dropped ? "moongate_samples_dropped_total"
                              : "moongate_samples_rejected_total",
                  MG_COUNTER,
                  dropped ? "Accepted updates not exposed, by reason."
                          : "Metric updates refused, by reason.",
                  "reason", mg_reason_name((enum mg_reason)r),
                  (double)s->reasons[r] +
                      (r == MG_DROP_LIMIT ? (double)s->reasons[MG_REASON_LIMIT] : 0));
    }
    rc |= one(st, "moongate_series", MG_GAUGE, "Live series, by kind.", "kind",
              "input", (double)mg_store_input_count(st));
    /* the output count includes our own series; it is read after they exist */
    rc |= one(st, "moongate_series_expired_total", MG_COUNTER,
              "Input series removed after their TTL.", NULL, NULL, (double)s->expired);
    rc |= one(st, "moongate_pipeline_runs_total", MG_COUNTER,
              "Runs of the pipeline, once per new input series.", NULL, NULL,
              (double)s->pipeline_runs);
    rc |= map(st, "moongate_script_errors_total", "Pipeline script errors, by file.",
              "file", &s->script_errors);
    rc |= map(st, "moongate_cap_hits_total", "Series a cardinality cap refused or folded.",
              "cap", &s->cap_hits);
    rc |= mg_store_own_hist(st, "moongate_rule_evaluation_duration_seconds",
                            "Duration of one rule tick.", rule_bounds,
                            s->rule_eval_buckets, MG_RULE_BUCKETS,
                            s->rule_eval_sum, s->rule_eval_count);
    rc |= map(st, "moongate_rule_evaluation_failures_total",
              "Rule evaluations that failed, by rule.", "rule", &s->rule_failures);
    rc |= one(st, "moongate_notifications_sent_total", MG_COUNTER,
              "Alerts sent to Alertmanager.", NULL, NULL, (double)s->notifications_sent);
    rc |= map(st, "moongate_notifications_dropped_total",
              "Alerts dropped before reaching Alertmanager, by reason.", "reason",
              &s->notify_dropped);
    rc |= one(st, "moongate_config_last_reload_successful", MG_GAUGE,
              "Whether the last reload of scripts and rules succeeded.", NULL, NULL,
              s->reload_ok);
    rc |= one(st, "moongate_config_last_reload_success_timestamp_seconds", MG_GAUGE,
              "Time of the last successful reload.", NULL, NULL, s->reload_success_ts);
    rc |= one(st, "moongate_scrape_duration_seconds", MG_GAUGE,
              "Time the previous /metrics rendering took.", NULL, NULL, s->scrape_seconds);
    for (int t = 0; t < MG_TRANSPORT_COUNT; t++)
        if (t != MG_TRANSPORT_LUA)
            rc |= one(st, "moongate_connections_accepted_total", MG_COUNTER,
                      "Connections accepted, by transport.", "transport",
                      mg_transport_name((enum mg_transport)t),
                      (double)s->connections[t]);
    for (int t = 0; t < MG_TRANSPORT_COUNT; t++)
        if (t == MG_TRANSPORT_TCP || t == MG_TRANSPORT_UNIX || t == MG_TRANSPORT_HTTP)
            rc |= one(st, "moongate_connections_open", MG_GAUGE,
                      "Connections open now, by transport.", "transport",
                      mg_transport_name((enum mg_transport)t), (double)s->open[t]);
    for (int r = 0; r < MG_CLOSE_COUNT; r++)
        rc |= one(st, "moongate_connections_closed_total", MG_COUNTER,
                  "Connections closed or refused, by reason.", "reason",
                  mg_close_name((enum mg_close)r), (double)s->closed[r]);
    rc |= one(st, "moongate_accept_errors_total", MG_COUNTER,
              "Failed accept() calls (out of file descriptors, mostly); each pauses "
              "the listener.", NULL, NULL, (double)s->accept_errors);
    for (int t = 0; t < MG_TRANSPORT_COUNT; t++)
        if (t != MG_TRANSPORT_LUA)
            rc |= one(st, "moongate_unauthorized_total", MG_COUNTER,
                      "Requests and messages refused for their credentials, by transport.",
                      "transport", mg_transport_name((enum mg_transport)t),
                      (double)s->unauthorized[t]);
    rc |= one(st, "moongate_build_info", MG_GAUGE, "moongate's version.",
              "version", MG_VERSION, 1);
    if (s->snapshot_enabled)
        rc |= snapshot(s, st);
    rc |= process(s, st);
    rc |= one(st, "moongate_series", MG_GAUGE, "Live series, by kind.", "kind",
              "output", (double)mg_store_output_count(st));
    return rc;
}
