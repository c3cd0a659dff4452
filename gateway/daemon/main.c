/* main: the moongate daemon's CLI, signals and wiring; nothing else. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "mg_config.h"
#include "mg_gateway.h"
#include "mg_http.h"
#include "mg_ingest.h"
#include "mg_log.h"
#include "mg_notify.h"
#include "mg_pipeline.h"
#include "mg_remote.h"
#include "mg_rules.h"

#define DEFAULT_HTTP "127.0.0.1:9477"
#define DEFAULT_INGEST "127.0.0.1:9478"

struct daemon {
    struct event_base *base;
    struct mg_config cfg;
    struct mg_gateway *gw;
    struct mg_http *http;
    struct mg_ingest *ingest[MG_MAX_INGEST];
    size_t ningest;
    struct event *sig_term, *sig_int, *sig_hup, *sweep, *rule_tick;
    struct mg_notify *notify;
    struct mg_remote *remote;
};

static void usage(FILE *f)
{
    fputs("usage: moongate [--config FILE] [--scripts DIR] [--rules DIR]\n"
          "                [--http ADDR] [--ingest ADDR]... [--log-format logfmt|json]\n"
          "       moongate check FILE|DIR...\n"
          "       moongate version\n"
          "\n"
          "  --config FILE      Lua file returning a table of settings\n"
          "  --scripts DIR      pipeline scripts (*.lua, loaded in name order)\n"
          "  --rules DIR        recording and alert rules (*.lua)\n"
          "  --http ADDR        HTTP listen address (default " DEFAULT_HTTP ")\n"
          "  --ingest ADDR      msgpack push address: host:port for TCP and UDP,\n"
          "                     unix:PATH for a unix socket; repeatable\n"
          "                     (default " DEFAULT_INGEST ")\n"
          "  --log-format F     logfmt (default) or json\n",
          f);
}

/* Loads the scripts and rules directories into the gateway: all files or
 * none. */
static int load_scripts(struct daemon *d, char *why, size_t whylen)
{
    size_t ns = 0, nr = 0;
    char **scripts = NULL, **rules = NULL;
    int rc = -1;
    if (d->cfg.scripts && !(scripts = mg_pipeline_files(d->cfg.scripts, &ns, why, whylen)))
        goto out;
    if (d->cfg.rules && !(rules = mg_pipeline_files(d->cfg.rules, &nr, why, whylen)))
        goto out;
    rc = mg_gateway_load(d->gw, (const char *const *)scripts, ns,
                         (const char *const *)rules, nr, why, whylen);
    if (rc == 0)
        mg_log(MG_LOG_INFO, "scripts and rules loaded", "scripts",
               d->cfg.scripts ? d->cfg.scripts : "", "rules",
               d->cfg.rules ? d->cfg.rules : "", NULL);
out:
    mg_pipeline_files_free(scripts);
    mg_pipeline_files_free(rules);
    return rc;
}

static int reload(void *ctx, char *why, size_t whylen)
{
    struct daemon *d = ctx;
    int rc = load_scripts(d, why, whylen);
    if (rc < 0) {
        mg_gateway_stats(d->gw)->reload_ok = 0;
        mg_log(MG_LOG_ERROR, "reload failed; the previous scripts and rules stay", "err",
               why, NULL);
    } else {
        mg_log(MG_LOG_INFO, "reloaded", NULL);
    }
    return rc;
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct daemon *d = arg;
    mg_log(MG_LOG_INFO, "draining", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    mg_http_set_ready(d->http, 0);
    for (size_t i = 0; i < d->ningest; i++)
        mg_ingest_drain(d->ingest[i]);
    event_base_loopexit(d->base, NULL);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    char why[512];
    reload(arg, why, sizeof(why));
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct daemon *d = arg;
    mg_gateway_sweep(d->gw);
}

static void on_rule_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct daemon *d = arg;
    mg_gateway_rule_tick(d->gw);
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
        case 's':
            mg_config_set_str(&d->cfg.scripts, optarg);
            break;
        case 'r':
            mg_config_set_str(&d->cfg.rules, optarg);
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
    char why[512];
    d->base = event_base_new();
    if (!d->base)
        return -1;
    d->gw = mg_gateway_new(&d->cfg, 0, 0, why, sizeof(why));
    if (!d->gw)
        goto fail;
    if (d->cfg.nalertmanagers) {
        struct mg_notify_config nc = {.queue_capacity = d->cfg.notify_queue,
                                      .batch_size = d->cfg.notify_batch,
                                      .timeout = d->cfg.notify_timeout};
        d->notify = mg_notify_new(d->base, (const char *const *)d->cfg.alertmanagers,
                                  d->cfg.nalertmanagers, &nc, mg_gateway_stats(d->gw), why,
                                  sizeof(why));
        if (!d->notify)
            goto fail;
        mg_gateway_set_notify(d->gw, d->notify);
    }
    if (load_scripts(d, why, sizeof(why)) < 0) {
        fprintf(stderr, "%s\n", why); /* file:line: message */
        return -1;
    }
    if (d->cfg.nremote &&
        !(d->remote = mg_remote_new(d->base, d->gw, &d->cfg, why, sizeof(why))))
        goto fail;
    d->http = mg_http_new(d->base, d->gw, &d->cfg, d->cfg.http, reload, d, why,
                          sizeof(why));
    if (!d->http)
        goto fail;
    for (size_t i = 0; i < d->cfg.ningest; i++) {
        d->ingest[i] = mg_ingest_new(d->base, d->gw, &d->cfg, d->cfg.ingest[i],
                                     why, sizeof(why));
        if (!d->ingest[i])
            goto fail;
        d->ningest++;
    }
    d->sig_term = evsignal_new(d->base, SIGTERM, on_stop, d);
    d->sig_int = evsignal_new(d->base, SIGINT, on_stop, d);
    d->sig_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
    d->sweep = event_new(d->base, -1, EV_PERSIST, on_sweep, d);
    d->rule_tick = event_new(d->base, -1, EV_PERSIST, on_rule_tick, d);
    if (!d->sig_term || !d->sig_int || !d->sig_hup || !d->sweep || !d->rule_tick)
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
    mg_notify_free(d->notify);
    mg_remote_free(d->remote);
    mg_gateway_free(d->gw);
    if (d->base)
        event_base_free(d->base);
    mg_config_fini(&d->cfg);
}

/* moongate check: each file loads as pipeline scripts, or, when it uses
 * record or alert, as rules; "file:line: message" for each failure. */
static int check(const char *const *paths, size_t n)
{
    int failed = 0;
    struct mg_lua_limits lim = {0};
    for (size_t i = 0; i < n; i++) {
        char why[512];
        size_t nf;
        char **files = mg_pipeline_files(paths[i], &nf, why, sizeof(why));
        if (!files) {
            fprintf(stderr, "%s\n", why);
            failed++;
            continue;
        }
        for (size_t k = 0; k < nf; k++) {
            const char *one[1] = {files[k]};
            struct mg_pipeline *p = mg_pipeline_new(one, 1, &lim, why, sizeof(why));
            if (!p && (strstr(why, "global 'record'") || strstr(why, "global 'alert'"))) {
                struct mg_rules *r = mg_rules_new(one, 1, &lim, why, sizeof(why));
                if (r) {
                    mg_rules_free(r);
                    continue;
                }
            }
            if (!p) {
                fprintf(stderr, "%s\n", why);
                failed++;
            }
            mg_pipeline_free(p);
        }
        mg_pipeline_files_free(files);
    }
    return failed;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "version") == 0) {
        printf("moongate %s\n", MG_VERSION);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "check") == 0) {
        if (argc < 3) {
            usage(stderr);
            return 2;
        }
        int failed = check((const char *const *)argv + 2, (size_t)argc - 2);
        if (!failed)
            printf("moongate check: %d path(s) OK\n", argc - 2);
        return failed ? 1 : 0;
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
    if (start(&d)) {
        stop(&d);
        return 1;
    }
    mg_log(MG_LOG_INFO, "ready", "version", MG_VERSION, NULL);
    event_base_dispatch(d.base);
    stop(&d);
    mg_log(MG_LOG_INFO, "stopped", NULL);
    return 0;
}
