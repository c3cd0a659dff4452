/* mg_gateway: push, route, render, tick. A message's envelope is
 * mg_message.c's, the dry run mg_explain.c's. */
#include "mg_gateway_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mg_auth.h"
#include "mg_aof.h"
#include "mg_cap.h"
#include "mg_log.h"
#include "mg_pipeline.h"
#include "mg_promql_eval.h"
#include "mg_query.h"
#include "mg_rules.h"

static void owner_gone(void *ctx, uint8_t owner)
{
    struct mg_gateway *gw = ctx;
    if (gw->owner_series[owner])
        gw->owner_series[owner]--;
}

/* What mg_gateway_new built, when a later part fails. */
static void free_alert_config(struct mg_gateway *gw);

static void free_parts(struct mg_gateway *gw)
{
    msgpack_zone_destroy(&gw->zone);
    mg_caps_free(gw->caps);
    mg_query_free(gw->query);
    free(gw->rl_labels);
    free(gw->rl_source);
    free(gw->bound_src);
    free_alert_config(gw);
    mg_store_free(gw->store);
    for (int i = 0; i < AHEAD; i++)
        mg_wire_scratch_free(gw->ring[i]);
    mg_stats_fini(&gw->stats);
    free(gw);
}

/* Gives each push principal a budget slot: the one it had before a reload
 * (mg_auth_carry), or one no current principal holds and no live series
 * still counts against. */
static void assign_owners(struct mg_gateway *gw)
{
    unsigned char held[256] = {0};
    struct mg_principal *p;
    for (size_t i = 0; (p = mg_auth_principal(gw->auth, i)); i++)
        held[p->owner] = 1;
    unsigned next = 1;
    for (size_t i = 0; (p = mg_auth_principal(gw->auth, i)); i++) {
        if (p->owner || p->role != MG_ROLE_PUSH)
            continue;
        while (next < 256 && (held[next] || gw->owner_series[next]))
            next++;
        if (next == 256)
            break; /* past 255 producers, budgets of series are not kept */
        p->owner = (uint8_t)next;
        held[next] = 1;
    }
}

void mg_gateway_set_auth(struct mg_gateway *gw, struct mg_auth *auth)
{
    mg_auth_carry(auth, gw->auth);
    mg_auth_free(gw->auth);
    gw->auth = auth;
    assign_owners(gw);
}

int mg_gateway_reload_auth(struct mg_gateway *gw, const struct mg_config *cfg,
                           char *why, size_t whylen)
{
    struct mg_auth *a = mg_auth_new(cfg, why, whylen);
    if (!a)
        return -1;
    mg_gateway_set_auth(gw, a);
    return 0;
}

struct mg_auth *mg_gateway_auth(struct mg_gateway *gw)
{
    return gw->auth;
}

/* Prometheus's default external URL is http://<hostname>:<its port>. */
static char *default_external_url(const char *http)
{
    char host[256], url[512];
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    const char *port = http ? strrchr(http, ':') : NULL;
    snprintf(url, sizeof(url), "http://%s%s", host, port ? port : "");
    return strdup(url);
}

static int copy_alert_config(struct mg_gateway *gw, const struct mg_config *cfg)
{
    gw->external_url = cfg->external_url ? strdup(cfg->external_url)
                                         : default_external_url(cfg->http);
    if (!gw->external_url)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->nexternal; i++) {
        const char *k = cfg->external_names[i], *v = cfg->external_values[i];
        char *kc = strdup(k), *vc = strdup(v);
        gw->ext[gw->next++] = (struct mg_label){kc, vc, (uint32_t)strlen(k),
                                                (uint32_t)strlen(v)};
        if (!kc || !vc)
            return -ENOMEM;
    }
    gw->cfg.external_url = NULL;
    return 0;
}

static void free_alert_config(struct mg_gateway *gw)
{
    free(gw->external_url);
    for (size_t i = 0; i < gw->next; i++) {
        free((char *)gw->ext[i].name);
        free((char *)gw->ext[i].value);
    }
}

static struct mg_rules_env rules_env(struct mg_gateway *gw, struct mg_notify *n)
{
    return (struct mg_rules_env){
        .store = gw->store, .query = gw->query, .stats = &gw->stats, .notify = n,
        .interval = gw->cfg.rule_interval,
        .resend_ms = (int64_t)(gw->cfg.resend_delay * 1000),
        .external_url = gw->external_url,
        .external_labels = gw->ext, .nexternal_labels = gw->next,
        .sent = gw->sent, .sent_arg = gw->sent_arg};
}

struct mg_gateway *mg_gateway_new(const struct mg_config *cfg,
                                  int virtual_clock, int64_t start_ms,
                                  char *why, size_t whylen)
{
    struct mg_gateway *gw = calloc(1, sizeof(*gw));
    if (!gw) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    gw->cfg = *cfg;
    mg_stats_init(&gw->stats);
    gw->virtual_clock = virtual_clock;
    gw->clock_ms = start_ms;
    /* One zone for every message: cleared, not freed, so its first chunk
     * is reused and a steady stream of messages allocates nothing. */
    if (!msgpack_zone_init(&gw->zone, 1u << 20))
        goto fail;
    gw->store = mg_store_new();
    for (int i = 0; i < AHEAD; i++)
        gw->ring[i] = mg_wire_scratch_new(&cfg->wire);
    gw->ws = gw->ring[0];
    gw->rl_labels = calloc(cfg->wire.max_labels + 1, sizeof(struct mg_label));
    gw->rl_source = calloc(cfg->wire.max_labels + 1, sizeof(struct mg_label));
    gw->bound_src = calloc(cfg->wire.max_labels + 1, sizeof(struct mg_label));
    gw->caps = mg_caps_new();
    gw->query = mg_query_new(cfg->history_points);
    mg_lbuild_init(&gw->cap_lb);
    if (!gw->store || !gw->ring[0] || !gw->ring[1] || !gw->ring[2] || !gw->ring[3] ||
        !gw->rl_labels || !gw->rl_source || !gw->bound_src || !gw->caps ||
        !gw->query)
        goto fail_zone;
    mg_store_set_output_hook(gw->store, mg_caps_on_output, gw->caps);
    mg_store_set_owner_hook(gw->store, owner_gone, gw);
    char awhy[MG_WHY_LEN * 2];
    struct mg_auth *auth = mg_auth_new(cfg, awhy, sizeof(awhy));
    if (!auth) {
        free_parts(gw);
        snprintf(why, whylen, "%s", awhy);
        return NULL;
    }
    mg_gateway_set_auth(gw, auth);
    /* the strings stay the caller's: nothing here may free or keep them */
    memset(gw->cfg.auth, 0, sizeof(gw->cfg.auth));
    memset(&gw->cfg.tls, 0, sizeof(gw->cfg.tls));
    memset(&gw->cfg.am_tls, 0, sizeof(gw->cfg.am_tls));
    if (copy_alert_config(gw, cfg))
        goto fail_zone;
    gw->cfg.http = gw->cfg.scripts = gw->cfg.rules = gw->cfg.data_dir = NULL;
    memset(gw->cfg.alertmanagers, 0, sizeof(gw->cfg.alertmanagers));
    memset(gw->cfg.ingest, 0, sizeof(gw->cfg.ingest));
    /* the daemon owns the remote_write settings and external labels */
    memset(gw->cfg.remote, 0, sizeof(gw->cfg.remote));
    memset(gw->cfg.external_names, 0, sizeof(gw->cfg.external_names));
    memset(gw->cfg.external_values, 0, sizeof(gw->cfg.external_values));
    gw->cfg.nremote = gw->cfg.nexternal = 0;
    gw->next_sweep_ms = mg_gateway_now(gw);
    gw->next_tick_ms = mg_gateway_now(gw) + (int64_t)(cfg->rule_interval * 1000);
    /* Our own families exist from the start, so no push can take their
     * names with another type before the first scrape. */
    mg_stats_publish(&gw->stats, gw->store);
    return gw;
fail_zone:
    free_parts(gw);
    snprintf(why, whylen, "out of memory");
    return NULL;
fail:
    mg_stats_fini(&gw->stats);
    free(gw);
    snprintf(why, whylen, "out of memory");
    return NULL;
}

void mg_gateway_free(struct mg_gateway *gw)
{
    if (!gw)
        return;
    msgpack_zone_destroy(&gw->zone);
    mg_store_free(gw->store); /* calls no hook: the caps may go after it */
    for (int i = 0; i < AHEAD; i++)
        mg_wire_scratch_free(gw->ring[i]);
    mg_stats_fini(&gw->stats);
    mg_pipeline_free(gw->pipe);
    mg_caps_free(gw->caps);
    mg_rules_free(gw->rules);
    mg_query_free(gw->query);
    mg_lbuild_fini(&gw->cap_lb);
    free(gw->rl_labels);
    free(gw->rl_source);
    free(gw->bound_src);
    mg_auth_free(gw->auth);
    free_alert_config(gw);
    free(gw->pushgw_snap);
    free(gw);
}

int64_t mg_gateway_now(const struct mg_gateway *gw)
{
    if (gw->replay_ms)
        return gw->replay_ms;
    return gw->virtual_clock ? gw->clock_ms : mg_now_ms();
}

struct mg_stats *mg_gateway_stats(struct mg_gateway *gw)
{
    return &gw->stats;
}

struct mg_store *mg_gateway_store(struct mg_gateway *gw)
{
    return gw->store;
}

const struct mg_config *mg_gateway_config(const struct mg_gateway *gw)
{
    return &gw->cfg;
}

void mg_gateway_sweep(struct mg_gateway *gw)
{
    gw->stats.expired += mg_store_sweep(gw->store, mg_gateway_now(gw));
}

void mg_gateway_advance(struct mg_gateway *gw, double seconds)
{
    if (!gw->virtual_clock || !(seconds > 0))
        return;
    int64_t end = gw->clock_ms + (int64_t)(seconds * 1000.0 + 0.5);
    int64_t step = (int64_t)(gw->cfg.sweep_interval * 1000);
    if (step <= 0)
        step = 1000;
    int64_t tick = (int64_t)(gw->cfg.rule_interval * 1000);
    while (gw->clock_ms < end) {
        int64_t next = gw->next_sweep_ms > gw->clock_ms ? gw->next_sweep_ms : gw->clock_ms + step;
        if (gw->rules && gw->next_tick_ms < next)
            next = gw->next_tick_ms;
        gw->clock_ms = next < end ? next : end;
        if (gw->clock_ms >= gw->next_sweep_ms) {
            mg_gateway_sweep(gw);
            gw->next_sweep_ms = gw->clock_ms + step;
        }
        if (gw->clock_ms >= gw->next_tick_ms) {
            mg_gateway_rule_tick(gw);
            gw->next_tick_ms = gw->clock_ms + (tick > 0 ? tick : 15000);
        }
    }
}

void mg_gateway_reject(struct mg_gateway *gw, struct mg_push_result *res,
                       int32_t index, enum mg_reason r, uint32_t n,
                       const char *why)
{
    gw->stats.reasons[r] += n;
    if (!res)
        return;
    res->rejected += n;
    mg_push_result_error(res, index, r, why);
}

static void reject(struct mg_gateway *gw, struct mg_push_result *res,
                   int32_t index, enum mg_reason r, const char *why)
{
    mg_gateway_reject(gw, res, index, r, 1, why);
}

static void script_error(struct mg_gateway *gw, const char *file,
                         const char *why)
{
    const char *f = file ? file : "?";
    mg_stats_map_add(&gw->stats.script_errors, f, strlen(f), 1);
    if (gw->script_err)
        gw->script_err(gw->script_err_arg, f, why);
    if (mg_log_allow(&gw->script_log, 20))
        mg_log(MG_LOG_WARN, "script error", "file", f, "err", why, NULL);
}

/* The route of a new series: the pipeline runs once, here. */
static void route(struct mg_gateway *gw, const struct mg_sample *s,
                  struct mg_route *r)
{
    const char *file;
    char why[MG_WHY_LEN];
    gw->stats.pipeline_runs++;
    mg_pipeline_route(gw->pipe, s, r, &file, why, sizeof(why));
    if (r->drop == MG_DROP_SCRIPT_ERROR)
        script_error(gw, file, why);
}

/* A new output series meets the caps: they may fold its labels or drop
 * it. Returns the cap that acted, for the producer's reply. */
static const char *admit(struct mg_gateway *gw, struct mg_route *r,
                         enum mg_type t)
{
    if (r->drop != MG_OK)
        return NULL;
    return mg_caps_admit(gw->caps, gw->store, r, t, &gw->cap_lb, &gw->stats);
}

/* Tells the producer which cap acted on its series (not a rejection). */
static void cap_note(struct mg_push_result *res, int32_t index,
                     const struct mg_route *r, const char *cap)
{
    char why[MG_WHY_LEN];
    snprintf(why, sizeof(why), "cap %s %s the series", cap,
             r->drop == MG_OK ? "folded" : "dropped");
    mg_push_result_error(res, index,
                         r->drop == MG_DROP_LIMIT ? MG_DROP_LIMIT : MG_DROP_CARDINALITY_CAP,
                         why);
}

/* on_sample, the documented slow path: MG_OK keep (value in s), else the
 * drop reason (rule, script_error), counted. */
static enum mg_reason on_sample(struct mg_gateway *gw, struct mg_sample *s)
{
    if (s->type == MG_HISTOGRAM || s->type == MG_SUMMARY)
        return MG_OK;
    const char *file;
    char why[MG_WHY_LEN];
    int rc = mg_pipeline_on_sample(gw->pipe, s, &s->value, &file, why, sizeof(why));
    enum mg_reason r = rc > 0 ? MG_OK : rc < 0 ? MG_DROP_SCRIPT_ERROR : MG_DROP_RULE;
    if (rc < 0)
        script_error(gw, file, why);
    if (r != MG_OK)
        gw->stats.reasons[r]++;
    return r;
}

void mg_gateway_push_metric(struct mg_gateway *gw, struct mg_ahead *a, int32_t index,
                            int64_t now, struct mg_push_result *res)
{
    char why[MG_WHY_LEN];
    struct mg_sample s = a->s;
    enum mg_reason r = a->r;
    if (r != MG_OK) {
        reject(gw, res, index, r, a->why);
        return;
    }
    if (mg_pipeline_has_on_sample(gw->pipe) && (r = on_sample(gw, &s)) != MG_OK) {
        res->accepted++;
        mg_push_result_drop(res, index, r);
        return;
    }
    uint64_t h = a->h;
    struct mg_input *in = mg_store_input_find(gw->store, &s, h);
    if (in) {
        /* the hot path: a known series never enters Lua */
        r = mg_store_write(gw->store, in, &s, now, why);
        if (r != MG_OK) {
            reject(gw, res, index, r, why);
        } else if (in->out == MG_NIL) {
            gw->stats.reasons[in->drop]++;
            res->accepted++;
            mg_push_result_drop(res, index, (enum mg_reason)in->drop);
            if (in->drop == MG_DROP_CARDINALITY_CAP || in->drop == MG_DROP_LIMIT)
                mg_push_result_error(res, index, (enum mg_reason)in->drop,
                                     in->drop == MG_DROP_LIMIT
                                         ? "a limit dropped this series when it was new"
                                         : "a cardinality cap dropped this series when it was new");
        } else {
            res->accepted++;
        }
        return;
    }
    r = mg_wire_check_identity(&s, &gw->cfg.wire, why);
    if (r != MG_OK) {
        reject(gw, res, index, r, why);
        return;
    }
    const struct mg_principal *who = gw->who;
    if (who && who->max_series && who->owner &&
        gw->owner_series[who->owner] >= who->max_series) {
        snprintf(why, sizeof(why), "over this producer's max_series (%llu)",
                 (unsigned long long)who->max_series);
        reject(gw, res, index, MG_REASON_OVER_BUDGET, why);
        if (res->retry_after < 1)
            res->retry_after = 1;
        return;
    }
    const char *cap;
    if (mg_caps_inputs_full(gw->caps, mg_store_input_count(gw->store), &gw->stats, &cap) ||
        mg_caps_source_full(gw->caps, gw->store, s.source, s.nsource, &gw->stats, &cap)) {
        /* not even cached: max_input_series bounds memory */
        gw->stats.reasons[MG_DROP_LIMIT]++;
        res->accepted++;
        mg_push_result_drop(res, index, MG_DROP_LIMIT);
        struct mg_route none = {.drop = MG_DROP_LIMIT};
        cap_note(res, index, &none, cap);
        return;
    }
    struct mg_route rt;
    route(gw, &s, &rt);
    cap = admit(gw, &rt, s.type);
    if (cap)
        cap_note(res, index, &rt, cap);
    /* the output's index slot and the caps' count slots are random lines
     * of big tables: asked for now, they arrive while the input is made */
    mg_store_prefetch_output(gw->store, &rt);
    mg_caps_prefetch(gw->caps, &rt);
    r = mg_store_input_add(gw->store, &s, h, &rt, now, why);
    if (r != MG_OK) {
        reject(gw, res, index, r, why);
        return;
    }
    if (who && who->owner) {
        struct mg_input *added = mg_store_input_find(gw->store, &s, h);
        if (added) {
            added->owner = who->owner;
            gw->owner_series[who->owner]++;
        }
    }
    res->accepted++;
    if (rt.drop != MG_OK) {
        gw->stats.reasons[rt.drop]++;
        mg_push_result_drop(res, index, (enum mg_reason)rt.drop);
    }
}

uint32_t mg_gateway_push_sample(struct mg_gateway *gw,
                                const struct mg_sample *s, int32_t index,
                                struct mg_push_result *res)
{
    struct mg_ahead a = {.s = *s, .r = MG_OK};
    a.h = mg_store_input_hash(s->name, s->nlen, s->labels, s->nlabels);
    uint32_t rejected = res->rejected;
    mg_gateway_push_metric(gw, &a, index, mg_gateway_now(gw), res);
    if (res->rejected != rejected)
        return MG_NIL;
    struct mg_input *in = mg_store_input_find(gw->store, s, a.h);
    return in ? mg_store_input_index(gw->store, in) : MG_NIL;
}

void mg_gateway_publish(struct mg_gateway *gw)
{
    mg_gateway_sweep(gw);
    if (mg_stats_publish(&gw->stats, gw->store) || mg_caps_publish(gw->caps, gw->store))
        mg_log(MG_LOG_WARN, "could not publish every own metric", NULL);
}

int mg_gateway_render(struct mg_gateway *gw, enum mg_format f,
                      struct mg_buf *out)
{
    double t0 = mg_mono_seconds();
    mg_gateway_sweep(gw);
    if (mg_stats_publish(&gw->stats, gw->store) || mg_caps_publish(gw->caps, gw->store))
        mg_log(MG_LOG_WARN, "could not publish every own metric", NULL);
    mg_buf_reset(out);
    int rc = mg_expose(gw->store, f, gw->cfg.honor_timestamps, out);
    gw->stats.scrape_seconds = mg_mono_seconds() - t0;
    return rc;
}

/* Rebuilds the sample a live input was created from: its name, type,
 * labels and which of them the source gave. */
void mg_gateway_input_sample(struct mg_gateway *gw, struct mg_input *in,
                             struct mg_sample *s)
{
    memset(s, 0, sizeof(*s));
    const struct mg_family *f = mg_store_input_family(gw->store, in);
    s->name = f->name;
    s->nlen = f->nlen;
    s->type = f->type;
    s->labels = gw->rl_labels;
    s->nlabels = mg_labelset_unpack(in->ls, gw->rl_labels);
    uint64_t mask = mg_labelset_srcmask(in->ls);
    s->source = gw->rl_source;
    for (size_t i = 0; i < s->nlabels; i++)
        if (i < 64 && (mask >> i) & 1)
            gw->rl_source[s->nsource++] = gw->rl_labels[i];
}

/* Each "file:line: message" line of a load's warnings, logged once. */
static void log_warnings(const char *w)
{
    while (*w) {
        size_t n = strcspn(w, "\n");
        char line[640];
        snprintf(line, sizeof(line), "%.*s", (int)n, w);
        mg_log(MG_LOG_WARN, "script warning", "warning", line, NULL);
        w += n + (w[n] == '\n');
    }
}

const char *mg_gateway_warnings(const struct mg_gateway *gw)
{
    return mg_pipeline_warnings(gw->pipe);
}

static int load(struct mg_gateway *gw, const char *const *files,
                size_t nfiles, const char *const *rules, size_t nrules,
                char *why, size_t whylen)
{
    struct mg_pipeline *p = mg_pipeline_new(files, nfiles, &gw->cfg.lua, why, whylen);
    if (!p)
        return -1;
    struct mg_rules *nr = NULL;
    if (nrules && !(nr = mg_rules_new(rules, nrules, &gw->cfg.lua, why, whylen))) {
        mg_pipeline_free(p);
        return -1;
    }
    size_t ncaps;
    struct mg_cap_def *const *defs = mg_pipeline_caps(p, &ncaps);
    if (mg_caps_set(gw->caps, defs, ncaps, gw->store)) {
        mg_pipeline_free(p);
        mg_rules_free(nr);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    mg_pipeline_free(gw->pipe);
    gw->pipe = p;
    log_warnings(mg_pipeline_warnings(p));
    struct mg_rules_env env = rules_env(gw, gw->notify);
    if (nr) {
        mg_rules_adopt(nr, gw->rules);
        /* alerts of removed or renamed rules resolve now, not at endsAt */
        mg_rules_retire(gw->rules, &env, mg_gateway_now(gw));
    } else if (gw->rules) {
        /* no rules any more: what they wrote goes at once */
        nr = mg_rules_new(NULL, 0, &gw->cfg.lua, why, whylen);
        if (nr) {
            mg_rules_adopt(nr, gw->rules);
            mg_rules_retire(gw->rules, &env, mg_gateway_now(gw));
            mg_rules_eval(nr, &env, mg_gateway_now(gw));
            mg_rules_free(nr);
            nr = NULL;
        }
    }
    mg_rules_free(gw->rules);
    gw->rules = nr;
    /* Re-map every live input at once, so the next scrape shows the new
     * rules; the event loop runs nothing else meanwhile, so no scrape sees
     * half of it. HELP the old scripts pinned goes back to the pushed one
     * first: the new scripts pin theirs again as their series re-route. */
    mg_store_help_unpin(gw->store);
    size_t n = mg_store_input_capacity(gw->store);
    for (uint32_t i = 0; i < n; i++) {
        struct mg_input *in = mg_store_input_at(gw->store, i);
        if (!in)
            continue;
        struct mg_sample s;
        struct mg_route r;
        char rwhy[MG_WHY_LEN];
        mg_gateway_input_sample(gw, in, &s);
        route(gw, &s, &r);
        admit(gw, &r, s.type);
        if (mg_store_input_reroute(gw->store, i, &r, rwhy) != MG_OK) {
            struct mg_route drop = r;
            drop.drop = MG_DROP_LIMIT;
            mg_store_input_reroute(gw->store, i, &drop, rwhy);
            if (mg_log_allow(&gw->script_log, 20))
                mg_log(MG_LOG_WARN, "series dropped at reload", "err", rwhy, NULL);
        }
    }
    return 0;
}

/* The one place a load's outcome reaches the reload metrics. */
static int loaded(struct mg_gateway *gw, int rc)
{
    gw->stats.reload_ok = rc == 0;
    if (rc == 0)
        gw->stats.reload_success_ts = (double)mg_now_ms() / 1000.0;
    return rc;
}

int mg_gateway_load(struct mg_gateway *gw, const char *const *files,
                    size_t nfiles, const char *const *rules, size_t nrules,
                    char *why, size_t whylen)
{
    return loaded(gw, load(gw, files, nfiles, rules, nrules, why, whylen));
}

int mg_gateway_load_dirs(struct mg_gateway *gw, const char *scripts,
                         const char *rules, char *why, size_t whylen)
{
    size_t ns = 0, nr = 0;
    char **sf = NULL, **rf = NULL;
    int rc = -1;
    if (scripts && !(sf = mg_pipeline_files(scripts, &ns, why, whylen)))
        goto out;
    if (rules && !(rf = mg_pipeline_files(rules, &nr, why, whylen)))
        goto out;
    rc = load(gw, (const char *const *)sf, ns, (const char *const *)rf, nr, why, whylen);
out:
    mg_pipeline_files_free(sf);
    mg_pipeline_files_free(rf);
    return loaded(gw, rc);
}

const struct mg_caps *mg_gateway_caps(const struct mg_gateway *gw)
{
    return gw->caps;
}

struct mg_pipeline *mg_gateway_pipeline(struct mg_gateway *gw)
{
    return gw->pipe;
}

void mg_gateway_set_script_error_hook(struct mg_gateway *gw,
                                      void (*fn)(void *arg, const char *file,
                                                 const char *why),
                                      void *arg)
{
    gw->script_err = fn;
    gw->script_err_arg = arg;
}

int mg_gateway_query(struct mg_gateway *gw, const char *expr, size_t len,
                     int64_t time_ms, struct mg_buf *out, char *why,
                     size_t whylen)
{
    int64_t now = mg_gateway_now(gw);
    if (time_ms && (time_ms > now + MG_GATEWAY_QUERY_SKEW_MS ||
                    time_ms < now - MG_GATEWAY_QUERY_SKEW_MS)) {
        snprintf(why, whylen, "time must be within %ds of now: moongate keeps "
                 "histories, not past values of every series",
                 MG_GATEWAY_QUERY_SKEW_MS / 1000);
        return -EINVAL;
    }
    mg_gateway_sweep(gw);
    return mg_pqe_query_json(gw->query, gw->store, expr, len,
                             time_ms ? time_ms : now, out, why, whylen);
}

void mg_gateway_set_notify(struct mg_gateway *gw, struct mg_notify *n)
{
    gw->notify = n;
}

void mg_gateway_rule_tick(struct mg_gateway *gw)
{
    if (!gw->rules)
        return;
    int64_t now = mg_gateway_now(gw);
    /* rules read the series a scrape would show, our own included */
    mg_gateway_sweep(gw);
    mg_stats_publish(&gw->stats, gw->store);
    mg_caps_publish(gw->caps, gw->store);
    mg_query_tick(gw->query, gw->store, now);
    struct mg_rules_env env = rules_env(gw, gw->notify);
    mg_rules_eval(gw->rules, &env, now);
}

void mg_gateway_set_sent_hook(struct mg_gateway *gw,
                              void (*fn)(void *arg, const struct mg_notify_alert *a,
                                         size_t n),
                              void *arg)
{
    gw->sent = fn;
    gw->sent_arg = arg;
}

int mg_gateway_evaluate_at(struct mg_gateway *gw, int64_t ms)
{
    if (!gw->virtual_clock || ms < gw->clock_ms)
        return -EINVAL;
    gw->clock_ms = ms;
    mg_gateway_rule_tick(gw);
    gw->next_tick_ms = ms + (int64_t)(gw->cfg.rule_interval * 1000);
    return 0;
}

const struct mg_rules *mg_gateway_rules(const struct mg_gateway *gw)
{
    return gw->rules;
}

struct mg_query *mg_gateway_query_state(struct mg_gateway *gw)
{
    return gw->query;
}

struct mg_rules *mg_gateway_rules_rw(struct mg_gateway *gw)
{
    return gw->rules;
}

void mg_gateway_set_aof(struct mg_gateway *gw, struct mg_aof *a)
{
    gw->aof = a;
}

struct mg_aof *mg_gateway_aof(const struct mg_gateway *gw)
{
    return gw->aof;
}

void mg_gateway_set_pushgw(struct mg_gateway *gw, struct mg_pushgw *pg)
{
    gw->pushgw = pg;
}

struct mg_pushgw *mg_gateway_pushgw(const struct mg_gateway *gw)
{
    return gw->pushgw;
}

int mg_gateway_keep_pushgw_snap(struct mg_gateway *gw, const void *p, size_t n)
{
    void *c = n ? malloc(n) : NULL;
    if (n && !c)
        return -ENOMEM;
    if (n)
        memcpy(c, p, n);
    free(gw->pushgw_snap);
    gw->pushgw_snap = c;
    gw->pushgw_snap_len = n;
    return 0;
}

void *mg_gateway_take_pushgw_snap(struct mg_gateway *gw, size_t *n)
{
    void *p = gw->pushgw_snap;
    *n = gw->pushgw_snap_len;
    gw->pushgw_snap = NULL;
    gw->pushgw_snap_len = 0;
    return p;
}

void mg_gateway_replay(struct mg_gateway *gw, const char *p, size_t len,
                       enum mg_transport t, int64_t ms)
{
    struct mg_push_result res;
    mg_push_result_reset(&res);
    gw->replay_ms = ms > 0 ? ms : 1;
    mg_gateway_push_message(gw, p, len,
                            (unsigned)t < MG_TRANSPORT_COUNT ? t : MG_TRANSPORT_TCP, NULL,
                            &res);
    gw->replay_ms = 0;
}
