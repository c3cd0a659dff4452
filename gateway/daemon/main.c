/* main: the moongate daemon's CLI, signals and wiring; nothing else. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mg_aof.h"
#include "mg_auth.h"
#include "mg_check.h"
#include "mg_config.h"
#include "mg_gateway.h"
#include "mg_http.h"
#include "mg_ingest.h"
#include "mg_log.h"
#include "mg_import.h"
#include "mg_notify.h"
#include "mg_pipeline.h"
#include "mg_refused.h"
#include "mg_remote.h"
#include "mg_rules.h"
#include "mg_snapshot.h"
#include "mg_snapshot_write.h"
#include "mg_tls.h"

#define DEFAULT_HTTP "127.0.0.1:9477"
#define DEFAULT_INGEST "127.0.0.1:9478"

struct daemon {
    struct event_base *base;
    struct mg_config cfg;
    struct mg_gateway *gw;
    struct mg_http *http;
    struct mg_ingest *ingest[MG_MAX_INGEST];
    size_t ningest;
    struct event *sig_term, *sig_int, *sig_hup, *sweep, *rule_tick, *drain_check;
    struct mg_notify *notify;
    double drain_deadline; /* 0 until a signal asks us to stop */
    struct mg_tls *tls;   /* NULL: plain listeners */
    SSL_CTX *am_ctx;      /* outbound TLS to Alertmanagers */
    struct event *snap_timer, *sig_chld;
    pid_t snap_child;      /* the forked writer, 0 when none */
    struct mg_aof *aof;    /* the append-only log; NULL: off */
    struct event *aof_timer;
    double snap_started;   /* monotonic seconds at its fork */
    int64_t snap_taken_ms; /* wall clock at its fork: the state it holds */
    struct mg_remote *remote;
};

static void usage(FILE *f)
{
    fputs("usage: moongate [--config FILE] [--scripts DIR] [--rules DIR]\n"
          "                [--http ADDR] [--ingest ADDR]... [--log-format logfmt|json]\n"
          "                [--data-dir DIR] [--enable-lifecycle]\n"
          "       moongate check [--strict] [--scripts] FILE|DIR... [--rules FILE|DIR...]\n"
          "                [--input FILE|- [--format msgpack|jsonl|text] [--config FILE]]\n"
          "       moongate check --config FILE\n"
          "       moongate rules import FILE.yml   (a Prometheus rule file, to stdout)\n"
          "       moongate snapshot inspect FILE\n"
          "       moongate version\n"
          "\n"
          "  --config FILE      Lua file returning a table of settings\n"
          "  --scripts DIR      pipeline scripts (*.lua, loaded in name order)\n"
          "  --rules DIR        recording and alert rules (*.lua)\n"
          "  --http ADDR        HTTP listen address (default " DEFAULT_HTTP ")\n"
          "  --ingest ADDR      msgpack push address: host:port for TCP and UDP,\n"
          "                     unix:PATH for a unix socket; repeatable\n"
          "                     (default " DEFAULT_INGEST ")\n"
          "  --data-dir DIR     where snapshots live (default: nothing persists)\n"
          "  --log-format F     logfmt (default) or json\n"
          "  --enable-lifecycle POST /-/reload without an admin credential\n"
          "                     (config enable_lifecycle; SIGHUP always reloads)\n",
          f);
}

/* Loads the scripts and rules directories into the gateway: all files or
 * none. */
static int load_scripts(struct daemon *d, char *why, size_t whylen)
{
    int rc = mg_gateway_load_dirs(d->gw, d->cfg.scripts, d->cfg.rules, why, whylen);
    if (rc == 0)
        mg_log(MG_LOG_INFO, "scripts and rules loaded", "scripts",
               d->cfg.scripts ? d->cfg.scripts : "", "rules",
               d->cfg.rules ? d->cfg.rules : "", NULL);
    return rc;
}

/* The Authorization header to Alertmanagers, from the files named. */
static int set_am_authorization(struct daemon *d, char *why, size_t whylen)
{
    char hdr[2048], w[256];
    if (!d->notify)
        return 0;
    if (mg_client_authorization(&d->cfg.am_tls, hdr, sizeof(hdr), w, sizeof(w))) {
        snprintf(why, whylen, "alertmanager_tls: %s", w);
        return -1;
    }
    int rc = mg_notify_set_authorization(d->notify, hdr[0] ? hdr : NULL);
    OPENSSL_cleanse(hdr, sizeof(hdr));
    return rc;
}

/* The tokens files and users, and the certificate and key: each part
 * that fails keeps what it had. */
static int reload_security(struct daemon *d, char *why, size_t whylen)
{
    int rc = 0;
    if (mg_gateway_reload_auth(d->gw, &d->cfg, why, whylen) < 0) {
        mg_log(MG_LOG_ERROR, "reload of the credentials failed; the previous ones stay",
               "err", why, NULL);
        rc = -1;
    }
    char twhy[512];
    if (set_am_authorization(d, twhy, sizeof(twhy)) < 0) {
        mg_log(MG_LOG_ERROR, "reload of the Alertmanager credentials failed; the previous ones stay",
               "err", twhy, NULL);
        rc = -1;
    }
    if (d->tls && mg_tls_reload(d->tls, &d->cfg.tls, twhy, sizeof(twhy)) < 0) {
        mg_log(MG_LOG_ERROR, "reload of the TLS certificate failed; the previous one stays",
               "err", twhy, NULL);
        if (rc == 0)
            snprintf(why, whylen, "%s", twhy);
        rc = -1;
    }
    return rc;
}

static int reload(void *ctx, char *why, size_t whylen)
{
    struct daemon *d = ctx;
    int rc = load_scripts(d, why, whylen);
    if (rc == 0)
        rc = reload_security(d, why, whylen);
    if (rc < 0) {
        mg_log(MG_LOG_ERROR, "reload failed; the previous scripts and rules stay", "err",
               why, NULL);
    } else {
        mg_log(MG_LOG_INFO, "reloaded", NULL);
    }
    return rc;
}

static size_t ingest_open(struct daemon *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->ningest; i++)
        n += mg_ingest_open(d->ingest[i]);
    return n;
}

/* While draining: stop once every connection has taken its replies, or at
 * drain_timeout whatever the peers do (mg_ingest_free closes the rest). */
static void on_drain_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct daemon *d = arg;
    if (ingest_open(d) == 0 || mg_mono_seconds() >= d->drain_deadline)
        event_base_loopexit(d->base, NULL);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct daemon *d = arg;
    if (d->drain_deadline) { /* a second signal: no more waiting */
        event_base_loopexit(d->base, NULL);
        return;
    }
    mg_log(MG_LOG_INFO, "draining", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    d->drain_deadline = mg_mono_seconds() + d->cfg.drain_timeout;
    mg_http_set_ready(d->http, 0);
    size_t left = 0;
    for (size_t i = 0; i < d->ningest; i++)
        left += mg_ingest_drain(d->ingest[i]);
    if (left == 0) {
        event_base_loopexit(d->base, NULL);
        return;
    }
    struct timeval tv = {0, 50000};
    event_add(d->drain_check, &tv);
}

/* Each connection is a descriptor: take all the kernel allows, and say so
 * when the configured connections cannot fit (accept() then fails, and the
 * listeners pause, past the limit). */
static void raise_nofile(struct daemon *d)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    /* one listener per ingest address and HTTP, plus ~32 of our own */
    double need = (double)(d->cfg.ningest + 1) * (double)d->cfg.max_connections + 32;
    if (rl.rlim_cur != RLIM_INFINITY && need > (double)rl.rlim_cur) {
        char lim[32], want[32];
        snprintf(lim, sizeof(lim), "%llu", (unsigned long long)rl.rlim_cur);
        snprintf(want, sizeof(want), "%.0f", need);
        mg_log(MG_LOG_WARN, "max_connections does not fit the open-files limit; "
               "past it, listeners pause", "nofile", lim, "needed", want, NULL);
    }
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    char why[4096];
    reload(arg, why, sizeof(why));
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct daemon *d = arg;
    mg_gateway_sweep(d->gw);
    mg_refused_flush(); /* a flood's count, once it stopped */
}

static void on_rule_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct daemon *d = arg;
    mg_gateway_rule_tick(d->gw);
}

/* ---- snapshots ---- */

static void snap_arm(struct daemon *d, double seconds)
{
    struct timeval tv = {(time_t)seconds,
                         (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    event_add(d->snap_timer, &tv);
}

/* A failed write is retried sooner than the interval, at most every 5 s. */
static double snap_retry(const struct daemon *d)
{
    return d->cfg.snapshot_interval < 5 ? d->cfg.snapshot_interval : 5;
}

/* A success records when the state it holds was taken (taken_ms), so
 * that whatever was accepted before that time is in it. */
static void snap_record(struct daemon *d, int rc, double seconds, uint64_t bytes,
                        int64_t taken_ms)
{
    struct mg_stats *st = mg_gateway_stats(d->gw);
    if (rc) {
        const char *r = mg_snapshot_reason(rc);
        mg_stats_map_add(&st->snapshot_failures, r, strlen(r), 1);
        mg_log(MG_LOG_ERROR, "snapshot failed; the previous one stays", "reason", r, "err",
               strerror(-rc), NULL);
        return;
    }
    st->snapshot_success_ts = (double)taken_ms / 1000.0;
    st->snapshot_seconds = seconds;
    st->snapshot_bytes = (double)bytes;
}

static void on_snap_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct daemon *d = arg;
    if (d->snap_child > 0) {
        snap_arm(d, d->cfg.snapshot_interval);
        return;
    }
    d->snap_started = mg_mono_seconds();
    d->snap_taken_ms = mg_now_ms();
    /* the log so far goes aside: the snapshot about to be forked covers it */
    if (d->aof && mg_aof_rotate(d->aof) < 0)
        mg_log(MG_LOG_WARN, "append-only log not rotated; it goes on growing", NULL);
    pid_t pid = mg_snapshot_fork(d->gw, d->cfg.data_dir, d->snap_taken_ms);
    double stall = mg_mono_seconds() - d->snap_started;
    if (pid < 0) {
        snap_record(d, pid, 0, 0, 0);
        snap_arm(d, snap_retry(d));
        return;
    }
    d->snap_child = pid;
    /* fork() is the one stall ingest sees: the page tables are copied */
    char ms[32];
    snprintf(ms, sizeof(ms), "%.2f", stall * 1000);
    mg_log(stall > 0.1 ? MG_LOG_WARN : MG_LOG_DEBUG, "snapshot forked", "fork_ms", ms, NULL);
}

static void on_chld(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    struct daemon *d = arg;
    int status;
    if (d->snap_child <= 0 || waitpid(d->snap_child, &status, WNOHANG) != d->snap_child)
        return;
    d->snap_child = 0;
    int rc = mg_snapshot_child_result(status);
    uint64_t bytes = 0;
    if (rc == 0) {
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/" MG_SNAPSHOT_FILE, d->cfg.data_dir);
        if (stat(path, &sb) == 0)
            bytes = (uint64_t)sb.st_size;
    }
    double secs = mg_mono_seconds() - d->snap_started;
    snap_record(d, rc, secs, bytes, d->snap_taken_ms);
    if (rc == 0 && d->aof)
        mg_aof_drop_rotated(d->aof);
    if (rc == 0) {
        char b[32], t[32];
        snprintf(b, sizeof(b), "%llu", (unsigned long long)bytes);
        snprintf(t, sizeof(t), "%.3f", secs);
        mg_log(MG_LOG_DEBUG, "snapshot written", "bytes", b, "seconds", t, NULL);
    }
    snap_arm(d, rc ? snap_retry(d) : d->cfg.snapshot_interval);
}

/* At SIGTERM, after the drain: the last snapshot, in this process. */
static void snap_final(struct daemon *d)
{
    if (!d->cfg.data_dir || !d->gw)
        return;
    if (d->snap_child > 0) {
        int status;
        waitpid(d->snap_child, &status, 0);
        d->snap_child = 0;
    }
    char why[512];
    uint64_t bytes = 0;
    double t0 = mg_mono_seconds();
    int64_t taken = mg_now_ms();
    if (d->aof)
        mg_aof_sync(d->aof); /* whatever happens to the snapshot */
    int rc = mg_snapshot_save(d->gw, d->cfg.data_dir, taken, &bytes, why, sizeof(why));
    snap_record(d, rc, mg_mono_seconds() - t0, bytes, taken);
    if (rc == 0 && d->aof)
        mg_aof_reset(d->aof); /* all of it is in the snapshot */
    if (rc == 0) {
        char b[32], t[32];
        snprintf(b, sizeof(b), "%llu", (unsigned long long)bytes);
        snprintf(t, sizeof(t), "%.3f", mg_mono_seconds() - t0);
        mg_log(MG_LOG_INFO, "snapshot written", "bytes", b, "seconds", t, NULL);
    } else {
        mg_log(MG_LOG_ERROR, "final snapshot failed", "err", why, NULL);
    }
}

/* Restores the store from the newest snapshot that checks and restores;
 * one that checks but does not restore is moved aside like a corrupt one,
 * and the gateway starts again from the next or from nothing. Returns 1
 * with *s open for mg_snapshot_restore_rules, 0 when starting empty, -1
 * when the gateway could not be made. */
static int snap_restore_store(struct daemon *d, struct mg_snap *s, char *why,
                              size_t whylen)
{
    mg_gateway_stats(d->gw)->snapshot_enabled = 1;
    for (int tries = 0; tries < 2; tries++) {
        char which[4096];
        double t_open = mg_mono_seconds();
        int rc = mg_snapshot_find(d->cfg.data_dir, s, which, sizeof(which));
        if (rc < 0) {
            mg_log(MG_LOG_ERROR, "data directory unusable; starting empty", "dir",
                   d->cfg.data_dir, "err", strerror(-rc), NULL);
            return 0;
        }
        if (rc == 0)
            return 0;
        char rwhy[256] = "";
        double t0 = mg_mono_seconds();
        if (mg_snapshot_restore_store(d->gw, s, rwhy, sizeof(rwhy)) == 0) {
            char secs[32], osecs[32], cpu[32];
            struct timespec ts;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
            snprintf(osecs, sizeof(osecs), "%.3f", t0 - t_open);
            snprintf(secs, sizeof(secs), "%.3f", mg_mono_seconds() - t0);
            snprintf(cpu, sizeof(cpu), "%.3f", (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
            mg_log(MG_LOG_INFO, "restoring", "file", which, "read_seconds", osecs,
                   "store_seconds", secs, "process_cpu_seconds", cpu, NULL);
            if (rwhy[0])
                mg_log(MG_LOG_WARN, "snapshot restored in part", "err", rwhy, NULL);
            return 1;
        }
        mg_snap_close(s);
        mg_snapshot_move_aside(which, rwhy);
        /* what was half restored goes with the gateway it went into */
        mg_gateway_free(d->gw);
        d->gw = mg_gateway_new(&d->cfg, 0, 0, why, whylen);
        if (!d->gw)
            return -1;
        mg_gateway_stats(d->gw)->snapshot_enabled = 1;
    }
    return 0;
}

static void on_aof_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct daemon *d = arg;
    int rc = mg_aof_sync(d->aof);
    if (rc) {
        const char *r = rc == -ENOSPC ? "aof_enospc" : "aof_io";
        mg_stats_map_add(&mg_gateway_stats(d->gw)->snapshot_failures, r, strlen(r), 1);
    }
}

static void replay_one(void *ctx, int64_t ms, int transport, const char *msg, size_t len)
{
    struct daemon *d = ctx;
    mg_gateway_replay(d->gw, msg, len, (enum mg_transport)transport, ms);
}

/* Replays what the log holds past the snapshot (covered: its last sequence
 * number), then opens it for appends. */
static void aof_start(struct daemon *d, uint64_t covered)
{
    uint64_t last = covered;
    double t0 = mg_mono_seconds();
    long n = mg_aof_replay(d->cfg.data_dir, covered, replay_one, d, &last);
    if (n < 0)
        mg_log(MG_LOG_ERROR, "append-only log not replayed", "err", strerror((int)-n), NULL);
    if (n > 0) {
        char k[32], secs[32];
        snprintf(k, sizeof(k), "%ld", n);
        snprintf(secs, sizeof(secs), "%.3f", mg_mono_seconds() - t0);
        mg_log(MG_LOG_INFO, "append-only log replayed", "messages", k, "seconds", secs, NULL);
        mg_gateway_sweep(d->gw);
    }
    char why[512];
    d->aof = mg_aof_open(d->cfg.data_dir, last, why, sizeof(why));
    if (!d->aof) {
        mg_log(MG_LOG_ERROR, "append-only log off", "err", why, NULL);
        return;
    }
    mg_gateway_set_aof(d->gw, d->aof);
}

static int parse_args(struct daemon *d, int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"scripts", required_argument, NULL, 's'},
        {"rules", required_argument, NULL, 'r'},
        {"http", required_argument, NULL, 'H'},
        {"ingest", required_argument, NULL, 'i'},
        {"log-format", required_argument, NULL, 'l'},
        {"enable-lifecycle", no_argument, NULL, 'L'},
        {"data-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    char why[512];
    /* the config file first, so that every flag overrides it */
    for (int i = 1; i < argc - 1; i++)
        if (strcmp(argv[i], "--config") == 0 &&
            mg_config_load(&d->cfg, argv[i + 1], why, sizeof(why))) {
            fprintf(stderr, "%s\n", why);
            return -1;
        }
    const char *ingest[MG_MAX_INGEST];
    size_t ningest = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            break;
        case 'L':
            d->cfg.enable_lifecycle = 1;
            break;
        case 's':
            mg_config_set_str(&d->cfg.scripts, optarg);
            break;
        case 'r':
            mg_config_set_str(&d->cfg.rules, optarg);
            break;
        case 'd':
            mg_config_set_str(&d->cfg.data_dir, optarg);
            break;
        case 'H':
            mg_config_set_str(&d->cfg.http, optarg);
            break;
        case 'i':
            if (ningest == MG_MAX_INGEST) {
                fprintf(stderr, "moongate: at most %d --ingest\n", MG_MAX_INGEST);
                return -1;
            }
            ingest[ningest++] = optarg;
            break;
        case 'l':
            if (strcmp(optarg, "json") == 0)
                d->cfg.log_format = MG_LOG_JSON;
            else if (strcmp(optarg, "logfmt") == 0)
                d->cfg.log_format = MG_LOG_LOGFMT;
            else {
                fprintf(stderr, "moongate: --log-format is logfmt or json\n");
                return -1;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "moongate: unexpected argument %s\n", argv[optind]);
        return -1;
    }
    if (ningest) { /* flags replace the config file's list */
        for (size_t i = 0; i < d->cfg.ningest; i++)
            free(d->cfg.ingest[i]);
        d->cfg.ningest = 0;
        for (size_t i = 0; i < ningest; i++)
            mg_config_add_ingest(&d->cfg, ingest[i], why, sizeof(why));
    }
    if (!d->cfg.http)
        mg_config_set_str(&d->cfg.http, DEFAULT_HTTP);
    if (!d->cfg.ningest)
        mg_config_add_ingest(&d->cfg, DEFAULT_INGEST, why, sizeof(why));
    return 0;
}

static int start(struct daemon *d)
{
    char why[4096];
    /* A connection that yields (messages_per_wakeup) makes itself active
     * again; libevent would run it again in the same pass, before polling,
     * for as long as its peer keeps sending. Poll for the others every 16
     * callbacks, so a fast producer cannot starve them. */
    struct event_config *ec = event_config_new();
    if (!ec)
        return -1;
    event_config_set_max_dispatch_interval(ec, NULL, 16, 0);
    /* epoll learns of an event's changes once a pass, merged: an HTTP
     * request disables reading, its reply enables reading and writing, the
     * write ends it, and the pass nets no change instead of four epoll_ctl.
     * (libevent's caveat, a dup()ed descriptor in two events, does not
     * arise: each socket here has one owner.) */
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    d->base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (!d->base)
        return -1;
    if (d->cfg.data_dir && !(d->cfg.snapshot_interval > 0)) {
        snprintf(why, sizeof(why), "snapshot_interval must be more than 0 seconds");
        goto fail;
    }
    if (d->cfg.tls.cert_file || d->cfg.tls.key_file) {
        /* one clear line: a gateway told to speak TLS never serves plain */
        d->tls = mg_tls_new(&d->cfg.tls, why, sizeof(why));
        if (!d->tls) {
            fprintf(stderr, "moongate: cannot start with TLS: %s\n", why);
            return -1;
        }
    }
    d->gw = mg_gateway_new(&d->cfg, 0, 0, why, sizeof(why));
    if (!d->gw)
        goto fail;
    struct mg_snap snap;
    double t0 = mg_mono_seconds();
    int restored = d->cfg.data_dir ? snap_restore_store(d, &snap, why, sizeof(why)) : 0;
    if (restored < 0)
        goto fail;
    if (d->cfg.nalertmanagers) {
        struct mg_notify_config nc = {.queue_capacity = d->cfg.notify_queue,
                                      .batch_size = d->cfg.notify_batch,
                                      .timeout = d->cfg.notify_timeout};
        d->am_ctx = mg_tls_client_ctx(&d->cfg.am_tls, why, sizeof(why));
        if (!d->am_ctx)
            goto fail;
        nc.tls_bev = mg_tls_client_bev;
        nc.tls_ctx = d->am_ctx;
        d->notify = mg_notify_new(d->base, (const char *const *)d->cfg.alertmanagers,
                                  d->cfg.nalertmanagers, &nc, mg_gateway_stats(d->gw), why,
                                  sizeof(why));
        if (!d->notify)
            goto fail;
        mg_gateway_set_notify(d->gw, d->notify);
        if (set_am_authorization(d, why, sizeof(why)))
            goto fail;
    }
    if (load_scripts(d, why, sizeof(why)) < 0) {
        fprintf(stderr, "%s\n", why); /* file:line: message */
        if (restored)
            mg_snap_close(&snap);
        return -1;
    }
    if (restored) {
        /* the rules exist now: their alert states and written series */
        char rwhy[256];
        if (mg_snapshot_restore_rules(d->gw, &snap, rwhy, sizeof(rwhy)))
            mg_log(MG_LOG_WARN, "rule state not restored", "err", rwhy, NULL);
        char n[32], secs[32], cpu[32];
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        snprintf(n, sizeof(n), "%zu", mg_store_input_count(mg_gateway_store(d->gw)));
        snprintf(secs, sizeof(secs), "%.3f", mg_mono_seconds() - t0);
        snprintf(cpu, sizeof(cpu), "%.3f", (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
        mg_log(MG_LOG_INFO, "restored", "inputs", n, "seconds", secs, "process_cpu_seconds", cpu,
               NULL);
    }
    if (d->cfg.data_dir && d->cfg.append_log)
        aof_start(d, restored ? mg_snapshot_aof_seq(&snap) : 0);
    if (restored)
        mg_snap_close(&snap);
    if (d->cfg.nremote &&
        !(d->remote = mg_remote_new(d->base, d->gw, &d->cfg, why, sizeof(why))))
        goto fail;
    d->http = mg_http_new(d->base, d->gw, &d->cfg, d->cfg.http, reload, d, why,
                          sizeof(why));
    if (!d->http)
        goto fail;
    mg_http_set_tls(d->http, d->tls);
    for (size_t i = 0; i < d->cfg.ningest; i++) {
        d->ingest[i] = mg_ingest_new(d->base, d->gw, &d->cfg, d->cfg.ingest[i],
                                     why, sizeof(why));
        if (!d->ingest[i])
            goto fail;
        mg_ingest_set_tls(d->ingest[i], d->tls);
        d->ningest++;
    }
    int udp = 0;
    for (size_t i = 0; i < d->cfg.ningest; i++)
        udp |= d->cfg.udp && strncmp(d->cfg.ingest[i], "unix:", 5) != 0;
    if (d->tls && udp)
        mg_log(MG_LOG_WARN, "UDP ingest has no TLS: tokens in datagrams travel in the clear "
                            "(udp = false turns it off)", NULL);
    d->sig_term = evsignal_new(d->base, SIGTERM, on_stop, d);
    d->sig_int = evsignal_new(d->base, SIGINT, on_stop, d);
    d->sig_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
    d->sweep = event_new(d->base, -1, EV_PERSIST, on_sweep, d);
    d->rule_tick = event_new(d->base, -1, EV_PERSIST, on_rule_tick, d);
    d->drain_check = event_new(d->base, -1, EV_PERSIST, on_drain_check, d);
    if (!d->sig_term || !d->sig_int || !d->sig_hup || !d->sweep || !d->rule_tick ||
        !d->drain_check)
        goto fail;
    double ri = d->cfg.rule_interval > 0 ? d->cfg.rule_interval : 15;
    struct timeval rtv = {(time_t)ri, (suseconds_t)((ri - (double)(time_t)ri) * 1e6)};
    event_add(d->rule_tick, &rtv);
    event_add(d->sig_term, NULL);
    event_add(d->sig_int, NULL);
    event_add(d->sig_hup, NULL);
    double si = d->cfg.sweep_interval;
    struct timeval tv = {(time_t)si, (suseconds_t)((si - (double)(time_t)si) * 1e6)};
    event_add(d->sweep, &tv);
    if (d->cfg.data_dir) {
        d->snap_timer = evtimer_new(d->base, on_snap_timer, d);
        d->sig_chld = evsignal_new(d->base, SIGCHLD, on_chld, d);
        if (!d->snap_timer || !d->sig_chld)
            goto fail;
        event_add(d->sig_chld, NULL);
        snap_arm(d, d->cfg.snapshot_interval);
        struct mg_stats *st = mg_gateway_stats(d->gw);
        mg_stats_map_add(&st->snapshot_failures, "enospc", 6, 0);
        mg_stats_map_add(&st->snapshot_failures, "io", 2, 0);
    }
    if (d->aof) {
        d->aof_timer = event_new(d->base, -1, EV_PERSIST, on_aof_timer, d);
        if (!d->aof_timer)
            goto fail;
        struct timeval one = {1, 0}; /* appendfsync everysec */
        event_add(d->aof_timer, &one);
    }
    return 0;
fail:
    mg_log(MG_LOG_ERROR, "cannot start", "err", why, NULL);
    return -1;
}

static void stop(struct daemon *d)
{
    for (size_t i = 0; i < d->ningest; i++)
        mg_ingest_free(d->ingest[i]);
    mg_http_free(d->http);
    if (d->sig_term)
        event_free(d->sig_term);
    if (d->sig_int)
        event_free(d->sig_int);
    if (d->sig_hup)
        event_free(d->sig_hup);
    if (d->sweep)
        event_free(d->sweep);
    if (d->rule_tick)
        event_free(d->rule_tick);
    if (d->drain_check)
        event_free(d->drain_check);
    /* The snapshot and append-only log events exist only with --data-dir. */
    if (d->snap_timer)
        event_free(d->snap_timer);
    if (d->sig_chld)
        event_free(d->sig_chld);
    if (d->aof_timer)
        event_free(d->aof_timer);
    mg_notify_free(d->notify);
    mg_remote_free(d->remote);
    mg_gateway_free(d->gw);
    mg_tls_free(d->tls);
    SSL_CTX_free(d->am_ctx);
    if (d->base)
        event_base_free(d->base);
    mg_config_fini(&d->cfg);
}

/* A log line must never stop the gateway: when stderr is a pipe or a
 * socket, make writes to it non-blocking (mg_log drops and counts a line
 * that would block). A pipe is reopened through /proc first, so the
 * O_NONBLOCK lands on a file description of our own and not on one we
 * share with the shell or a supervisor. */
static void stderr_nonblocking(void)
{
    struct stat sb;
    int fd = -1, fl;

    if (fstat(STDERR_FILENO, &sb) != 0 ||
        !(S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode)))
        return;
    if (S_ISFIFO(sb.st_mode))
        fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        close(fd);
        return;
    }
    fl = fcntl(STDERR_FILENO, F_GETFL);
    if (fl >= 0)
        fcntl(STDERR_FILENO, F_SETFL, fl | O_NONBLOCK);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "version") == 0) {
        printf("moongate %s\n", MG_VERSION);
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "rules") == 0 && strcmp(argv[2], "import") == 0) {
        char why[512];
        if (argc != 4) {
            usage(stderr);
            return 2;
        }
        if (mg_rules_import(argv[3], stdout, why, sizeof(why))) {
            fprintf(stderr, "%s\n", why);
            return 1;
        }
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "check") == 0)
        return mg_check_main(argc - 2, argv + 2, usage);
    if (argc > 1 && strcmp(argv[1], "snapshot") == 0) {
        if (argc != 4 || strcmp(argv[2], "inspect") != 0) {
            usage(stderr);
            return 2;
        }
        return mg_snapshot_inspect(argv[3], stdout);
    }
    signal(SIGPIPE, SIG_IGN);
    struct daemon d;
    memset(&d, 0, sizeof(d));
    mg_config_init(&d.cfg);
    if (parse_args(&d, argc, argv)) {
        mg_config_fini(&d.cfg);
        return 1;
    }
    mg_log_set_format(d.cfg.log_format);
    mg_log_set_level(d.cfg.log_level);
    raise_nofile(&d);
    stderr_nonblocking();
    if (start(&d)) {
        stop(&d);
        return 1;
    }
    mg_log(MG_LOG_INFO, "ready", "version", MG_VERSION, NULL);
    event_base_dispatch(d.base);
    snap_final(&d);
    stop(&d);
    mg_log(MG_LOG_INFO, "stopped", NULL);
    return 0;
}
