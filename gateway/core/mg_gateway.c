/* mg_gateway: push, route, render, tick. */
#include "mg_gateway.h"

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
#include "mg_selector.h"

/* Metrics decoded ahead of the one being stored, so the cache misses of
 * their lookups overlap (a batch of 1,000 updates to a million series
 * spends most of its time waiting on memory otherwise). */
#define AHEAD 4

struct mg_gateway {
    struct mg_config cfg; /* borrowed strings: only the numbers are used */
    struct mg_store *store;
    struct mg_stats stats;
    struct mg_wire_scratch *ws;   /* = ring[0]: a message's own keys */
    struct mg_wire_scratch *ring[AHEAD];
    msgpack_zone zone;
    int virtual_clock;
    int64_t clock_ms;
    int64_t next_sweep_ms;
    struct mg_auth *auth;         /* the role model; reloads swap it */
    struct mg_principal *who;     /* the producer of the message being pushed */
    uint32_t owner_series[256];   /* live input series per budget slot */
    struct mg_label *bound_src;   /* a message's source with bound labels */
    struct mg_pipeline *pipe;     /* NULL: every series is itself */
    struct mg_caps *caps;         /* outlives pipelines: reloads keep state */
    struct mg_rules *rules;       /* NULL: no rules */
    struct mg_query *query;
    struct mg_notify *notify;     /* borrowed from the daemon; NULL: none */
    int64_t next_tick_ms;
    struct mg_lbuild cap_lb;      /* labels a cap folded */
    struct mg_label *rl_labels;   /* scratch for re-routing at a reload */
    struct mg_label *rl_source;
    struct mg_log_limit script_log;
    /* what alerts carry: generatorURL's base and the external labels */
    char *external_url;
    struct mg_label ext[MG_MAX_EXTERNAL_LABELS];
    size_t next;
    void (*sent)(void *arg, const struct mg_notify_alert *a, size_t n);
    void *sent_arg;
    struct mg_aof *aof;           /* borrowed from the daemon; NULL: no log */
    struct mg_pushgw *pushgw;     /* borrowed from the daemon; NULL: none */
    void *pushgw_snap;            /* a restored Pushgateway section, kept */
    size_t pushgw_snap_len;       /* until the groups exist to take it */
    int64_t replay_ms;            /* replaying the log: the clock it says */
    /* hears each script error as it is counted (the dry run); NULL: none */
    void (*script_err)(void *arg, const char *file, const char *why);
    void *script_err_arg;
};

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

/* A metric decoded ahead: its sample (borrowing its ring scratch), its
 * identity hash, or why it was refused. */
struct ahead {
    struct mg_sample s;
    enum mg_reason r;
    uint64_t h;
    char why[MG_WHY_LEN];
};

static void push_metric(struct mg_gateway *gw, struct ahead *a, int32_t index,
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
    struct ahead a = {.s = *s, .r = MG_OK};
    a.h = mg_store_input_hash(s->name, s->nlen, s->labels, s->nlabels);
    uint32_t rejected = res->rejected;
    push_metric(gw, &a, index, mg_gateway_now(gw), res);
    if (res->rejected != rejected)
        return MG_NIL;
    struct mg_input *in = mg_store_input_find(gw->store, s, a.h);
    return in ? mg_store_input_index(gw->store, in) : MG_NIL;
}

/* Distinct reasons a message may report; the rest add to "other". */
#define MAX_CLIENT_REASONS 63

/* One reported drop count as an input series: pushed like a metric of the
 * message, so the pipeline, caps and budgets apply. Its outcome stays out
 * of the reply's counts, which count the message's metrics; a refusal is
 * counted and named in the reply as an error of the message. */
static void client_drop(struct mg_gateway *gw, const struct mg_message *m,
                        const char *reason, size_t rlen, double count,
                        int64_t now, struct mg_push_result *res)
{
    struct ahead a;
    struct mg_push_result scratch;
    a.r = mg_wire_client_drop(m, reason, rlen, count, &gw->cfg.wire, gw->ws, &a.s, a.why);
    if (a.r == MG_OK)
        a.h = mg_store_input_hash(a.s.name, a.s.nlen, a.s.labels, a.s.nlabels);
    mg_push_result_reset(&scratch);
    push_metric(gw, &a, -1, now, &scratch);
    for (uint32_t i = 0; i < scratch.nerr; i++) {
        char why[MG_WHY_LEN];
        snprintf(why, sizeof(why), "dropped: %s", scratch.err[i].detail);
        mg_push_result_error(res, -1, scratch.err[i].reason, why);
    }
}

/* A reported reason and its count, or why they are refused. */
static const char *client_entry(const msgpack_object *k, const msgpack_object *v,
                                double *count, enum mg_reason *r)
{
    *r = MG_REASON_INVALID_LABEL_VALUE;
    if (k->type != MSGPACK_OBJECT_STR || k->via.str.size == 0)
        return "dropped: a reason is not a non-empty string";
    if (memchr(k->via.str.ptr, '\0', k->via.str.size) ||
        !mg_utf8_valid(k->via.str.ptr, k->via.str.size))
        return "dropped: a reason holds a NUL byte or is not UTF-8";
    *r = MG_REASON_INVALID_VALUE;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *count = (double)v->via.u64;
    else if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
        *count = v->via.f64;
    else
        return "dropped: a count is not a number";
    if (!(*count >= 0) || *count > 9e15)
        return "dropped: a count is negative, NaN or too large";
    return NULL;
}

/* The message's dropped map, reason -> count: series of
 * moongate_client_dropped_total{source labels, reason}. */
static void client_drops(struct mg_gateway *gw, const struct mg_message *m,
                         int64_t now, struct mg_push_result *res)
{
    const msgpack_object_map *d = m->dropped;
    const msgpack_object *seen[MAX_CLIENT_REASONS];
    size_t nseen = 0;
    double other = 0;
    int any_other = 0;
    for (uint32_t i = 0; i < d->size; i++) {
        const msgpack_object *k = &d->ptr[i].key;
        double count;
        enum mg_reason r;
        const char *bad = client_entry(k, &d->ptr[i].val, &count, &r);
        if (bad) {
            gw->stats.reasons[r]++;
            mg_push_result_error(res, -1, r, bad);
            continue;
        }
        size_t s = 0;
        while (s < nseen && !(seen[s]->via.str.size == k->via.str.size &&
                              memcmp(seen[s]->via.str.ptr, k->via.str.ptr,
                                     k->via.str.size) == 0))
            s++;
        if (s == nseen && nseen == MAX_CLIENT_REASONS) {
            other += count;
            any_other = 1;
            continue;
        }
        if (s == nseen)
            seen[nseen++] = k;
        client_drop(gw, m, k->via.str.ptr, k->via.str.size, count, now, res);
    }
    if (any_other)
        client_drop(gw, m, "other", 5, other, now, res);
}

/* Refuses the whole message: its metrics are counted under r. */
static void refuse_message(struct mg_gateway *gw, const struct mg_message *m,
                           enum mg_reason r, const char *why,
                           struct mg_push_result *res)
{
    mg_gateway_reject(gw, res, -1, r, m->nmetrics ? (uint32_t)m->nmetrics : 1, why);
}

/* The producer's bound labels go into the message's source, whatever it
 * said; a message that claims other values for them is refused. */
static int bind_labels(struct mg_gateway *gw, const struct mg_principal *who,
                       struct mg_message *m, char *why)
{
    size_t n = 0;
    for (size_t i = 0; i < who->nlabels; i++) {
        const struct mg_label *b = &who->labels[i];
        for (size_t k = 0; k < m->nsource; k++) {
            const struct mg_label *s = &m->source[k];
            if (s->nlen == b->nlen && memcmp(s->name, b->name, b->nlen) == 0 &&
                (s->vlen != b->vlen || memcmp(s->value, b->value, b->vlen) != 0)) {
                snprintf(why, MG_WHY_LEN, "source label %.64s is bound to this producer's "
                         "credential and cannot be set to another value", b->name);
                return -1;
            }
        }
    }
    for (size_t k = 0; k < m->nsource; k++) {
        int bound = 0;
        for (size_t i = 0; i < who->nlabels && !bound; i++)
            bound = m->source[k].nlen == who->labels[i].nlen &&
                    memcmp(m->source[k].name, who->labels[i].name, who->labels[i].nlen) == 0;
        if (!bound)
            gw->bound_src[n++] = m->source[k];
    }
    for (size_t i = 0; i < who->nlabels; i++) {
        if (n == gw->cfg.wire.max_labels) {
            snprintf(why, MG_WHY_LEN, "more than max_labels source labels with the bound ones");
            return -1;
        }
        gw->bound_src[n++] = who->labels[i];
    }
    mg_labels_sort(gw->bound_src, n);
    m->source = gw->bound_src;
    m->nsource = n;
    return 0;
}

/* Who pushes this message and whether they may: the transport's principal
 * when it authenticated the sender (preauth), else the message's token
 * key. Then the producer's bound labels and its rate. 0 or -1 (refused). */
static int authorize(struct mg_gateway *gw, struct mg_message *m, enum mg_transport t,
                     int preauth, struct mg_principal *who, struct mg_push_result *res)
{
    char why[MG_WHY_LEN];
    if (!preauth) {
        struct mg_cred c = {.token = m->token, .tlen = m->token_len};
        enum mg_verdict v = mg_auth_decide(gw->auth, MG_ROLE_PUSH, &c, &who);
        if (v != MG_AUTH_OK) {
            gw->stats.unauthorized[t]++;
            refuse_message(gw, m, MG_REASON_UNAUTHORIZED,
                           v == MG_AUTH_MISSING ? "a push token is required"
                           : v == MG_AUTH_BAD   ? "bad push token"
                                                : mg_verdict_text(v), res);
            return -1;
        }
    }
    gw->who = who;
    if (!who)
        return 0;
    if (who->nlabels && bind_labels(gw, who, m, why)) {
        gw->stats.unauthorized[t]++;
        refuse_message(gw, m, MG_REASON_UNAUTHORIZED, why, res);
        return -1;
    }
    double wait;
    if (mg_auth_take(who, (double)mg_gateway_now(gw) / 1000.0, (double)m->nmetrics, &wait)) {
        snprintf(why, sizeof(why), "over this producer's rate of %g samples/s; retry in %.0f s",
                 who->rate, wait);
        refuse_message(gw, m, MG_REASON_OVER_BUDGET, why, res);
        res->retry_after = wait;
        return -1;
    }
    return 0;
}

static void push_message(struct mg_gateway *gw, const char *p, size_t len,
                         enum mg_transport t, int preauth, struct mg_principal *who,
                         struct mg_push_result *res);

void mg_gateway_push_message(struct mg_gateway *gw, const char *p, size_t len,
                             enum mg_transport t, const char *token,
                             struct mg_push_result *res)
{
    (void)token; /* the message's token key decides */
    push_message(gw, p, len, t, 0, NULL, res);
}

void mg_gateway_push_message_as(struct mg_gateway *gw, const char *p, size_t len,
                                enum mg_transport t, struct mg_principal *who,
                                struct mg_push_result *res)
{
    push_message(gw, p, len, t, 1, who, res);
}

static void push_message(struct mg_gateway *gw, const char *p, size_t len,
                         enum mg_transport t, int preauth, struct mg_principal *who,
                         struct mg_push_result *res)
{
    char why[MG_WHY_LEN];
    int32_t base = (int32_t)(res->accepted + res->rejected);
    msgpack_object root;
    gw->who = NULL; /* until this message's credential is judged */
    size_t off = 0;
    msgpack_zone_clear(&gw->zone);
    int rc = msgpack_unpack(p, len, &off, &gw->zone, &root);
    if (rc != MSGPACK_UNPACK_SUCCESS && rc != MSGPACK_UNPACK_EXTRA_BYTES) {
        gw->stats.received[t]++;
        reject(gw, res, -1, MG_REASON_DECODE_ERROR, "message is not msgpack");
        return;
    }
    struct mg_message m;
    enum mg_reason r = mg_wire_message(&root, &gw->cfg.wire, gw->ws, &m, why);
    if (m.has_ack) {
        res->has_ack = 1;
        res->ack = m.ack;
    }
    if (r != MG_OK) {
        /* every metric of a message refused whole is counted */
        uint32_t n = m.nmetrics ? (uint32_t)m.nmetrics : 1;
        gw->stats.received[t] += n;
        mg_gateway_reject(gw, res, -1, r, n, why);
        res->fatal = m.not_a_map;
        return;
    }
    gw->stats.received[t] += m.nmetrics;
    /* a replayed message passed auth when it first came */
    if (gw->replay_ms) {
        gw->who = NULL;
    } else if (authorize(gw, &m, t, preauth, who, res)) {
        return;
    }
    int64_t now = mg_gateway_now(gw); /* one clock read a message */
    if (m.dropped)
        client_drops(gw, &m, now, res);
    if (gw->aof && !gw->replay_ms)
        mg_aof_append(gw->aof, now, (int)t, p, len);
    struct ahead ring[AHEAD];
    size_t n = m.nmetrics;
    for (size_t i = 0; i < n + AHEAD - 1; i++) {
        /* store metric i - (AHEAD - 1), then decode metric i into the slot
         * it freed: the metrics between are in flight */
        if (i >= AHEAD - 1) {
            size_t k = i - (AHEAD - 1);
            if (k + 1 < n && ring[(k + 1) % AHEAD].r == MG_OK)
                mg_store_prefetch_input(gw->store, ring[(k + 1) % AHEAD].h);
            push_metric(gw, &ring[k % AHEAD], base + (int32_t)k, now, res);
        }
        if (i < n) {
            struct ahead *a = &ring[i % AHEAD];
            a->r = mg_wire_metric(&m, i, &gw->cfg.wire, gw->ring[i % AHEAD], &a->s, a->why);
            if (a->r == MG_OK) {
                a->h = mg_store_input_hash(a->s.name, a->s.nlen, a->s.labels, a->s.nlabels);
                mg_store_prefetch(gw->store, a->h);
            }
        }
    }
}

static int push_body(struct mg_gateway *gw, const char *p, size_t len,
                     enum mg_transport t, int preauth, struct mg_principal *who,
                     struct mg_push_result *res);

int mg_gateway_push_body(struct mg_gateway *gw, const char *p, size_t len,
                         enum mg_transport t, const char *token,
                         struct mg_push_result *res)
{
    (void)token; /* each message's token key decides */
    return push_body(gw, p, len, t, 0, NULL, res);
}

int mg_gateway_push_body_as(struct mg_gateway *gw, const char *p, size_t len,
                            enum mg_transport t, struct mg_principal *who,
                            struct mg_push_result *res)
{
    return push_body(gw, p, len, t, 1, who, res);
}

static int push_body(struct mg_gateway *gw, const char *p, size_t len,
                     enum mg_transport t, int preauth, struct mg_principal *who,
                     struct mg_push_result *res)
{
    size_t off = 0;
    char why[MG_WHY_LEN];
    if (len == 0) {
        reject(gw, res, -1, MG_REASON_DECODE_ERROR, "empty body");
        res->fatal = 1;
        return -1;
    }
    while (off < len) {
        struct mg_scan sc;
        memset(&sc, 0, sizeof(sc));
        enum mg_reason r;
        int rc = mg_wire_scan(&sc, p + off, len - off, &gw->cfg.wire, &r, why);
        if (rc == 0) {
            r = MG_REASON_DECODE_ERROR;
            snprintf(why, sizeof(why), "truncated message at byte %zu", off);
        }
        if (rc <= 0) {
            gw->stats.received[t]++;
            reject(gw, res, -1, r, why);
            res->fatal = 1;
            return -1;
        }
        push_message(gw, p + off, sc.off, t, preauth, who, res);
        off += sc.off;
        if (res->fatal)
            return -1; /* bytes that are not messages: the rest is noise */
    }
    return 0;
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
static void input_sample(struct mg_gateway *gw, struct mg_input *in,
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
        input_sample(gw, in, &s);
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

/* Explains one live input: the pipeline again, traced (it is a pure
 * function of the series), then what the store holds for it. */
static void explain_one(struct mg_gateway *gw, struct mg_input *in,
                        struct mg_explain *e)
{
    struct mg_sample s;
    struct mg_route r;
    input_sample(gw, in, &s);
    memset(e, 0, sizeof(*e));
    mg_labels_render(e->input, sizeof(e->input), s.name, s.nlen, s.labels, s.nlabels);
    mg_pipeline_set_trace(gw->pipe, &e->trace);
    const char *file;
    char why[MG_WHY_LEN];
    mg_pipeline_route(gw->pipe, &s, &r, &file, why, sizeof(why));
    mg_pipeline_set_trace(gw->pipe, NULL);
    e->aggregate = mg_agg_name(r.agg);
    if (r.drop == MG_OK)
        mg_caps_describe(gw->caps, gw->store, r.name, r.nlen, r.labels, r.nlabels,
                         e->caps, sizeof(e->caps));
    if (in->out == MG_NIL) {
        e->dropped = mg_reason_name((enum mg_reason)in->drop);
        return;
    }
    const struct mg_output *o = mg_store_output_at(gw->store, in->out);
    const struct mg_family *f = mg_store_output_family(gw->store, o);
    struct mg_label v[o->ls->n ? o->ls->n : 1];
    size_t n = mg_labelset_unpack(o->ls, v);
    mg_labels_render(e->output, sizeof(e->output), f->name, f->nlen, v, n);
    e->aggregate = mg_agg_name(f->agg);
    e->inputs = o->ninputs;
}

int mg_gateway_explain(struct mg_gateway *gw, const char *selector,
                       size_t len, struct mg_explain *out, size_t max,
                       size_t *n, char *why, size_t whylen)
{
    struct mg_selector *sel;
    *n = 0;
    if (mg_selector_parse(selector, len, &sel, why, whylen))
        return -1;
    struct mg_rematch *m = mg_rematch_new();
    if (!m) {
        mg_selector_free(sel);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    mg_gateway_sweep(gw);
    size_t cap = mg_store_input_capacity(gw->store);
    for (uint32_t i = 0; i < cap && *n < max; i++) {
        struct mg_input *in = mg_store_input_at(gw->store, i);
        if (!in)
            continue;
        struct mg_sample s;
        input_sample(gw, in, &s);
        char mwhy[MG_WHY_LEN];
        if (mg_selector_match(sel, m, s.name, s.nlen, s.labels, s.nlabels, mwhy,
                              sizeof(mwhy)) == 1)
            explain_one(gw, in, &out[(*n)++]);
    }
    mg_rematch_free(m);
    mg_selector_free(sel);
    return 0;
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

static void explain_step(struct mg_explain *e, const char *step, const char *result)
{
    if (e->trace.n == MG_TRACE_MAX)
        return;
    struct mg_trace_step *t = &e->trace.v[e->trace.n++];
    t->step = step;
    t->at[0] = 0;
    snprintf(t->result, sizeof(t->result), "%s", result);
}

void mg_gateway_explain_sample(struct mg_gateway *gw, const struct mg_sample *s,
                               struct mg_explain *e)
{
    char why[MG_WHY_LEN];
    memset(e, 0, sizeof(*e));
    mg_labels_render(e->input, sizeof(e->input), s->name, s->nlen, s->labels, s->nlabels);
    e->aggregate = "";
    enum mg_reason rr = mg_wire_check_identity(s, &gw->cfg.wire, why);
    if (rr != MG_OK) {
        explain_step(e, "validate", why);
        e->dropped = mg_reason_name(rr);
        return;
    }
    uint64_t h = mg_store_input_hash(s->name, s->nlen, s->labels, s->nlabels);
    int live = mg_store_input_find(gw->store, s, h) != NULL;
    /* the limits count their hits: into scratch stats, not the gateway's */
    struct mg_stats scratch;
    const char *cap = NULL;
    mg_stats_init(&scratch);
    int full = !live &&
               (mg_caps_inputs_full(gw->caps, mg_store_input_count(gw->store), &scratch, &cap) ||
                mg_caps_source_full(gw->caps, gw->store, s->source, s->nsource, &scratch, &cap));
    mg_stats_fini(&scratch);
    if (full) {
        snprintf(why, sizeof(why), "%s is full: a new input series is dropped", cap);
        explain_step(e, "limits", why);
        e->dropped = mg_reason_name(MG_DROP_LIMIT);
        return;
    }
    struct mg_route r;
    const char *file;
    char rwhy[MG_WHY_LEN];
    mg_pipeline_set_trace(gw->pipe, &e->trace);
    mg_pipeline_route(gw->pipe, s, &r, &file, rwhy, sizeof(rwhy));
    mg_pipeline_set_trace(gw->pipe, NULL);
    e->aggregate = mg_agg_name(r.agg);
    if (r.drop != MG_OK) {
        e->dropped = mg_reason_name((enum mg_reason)r.drop);
        return;
    }
    mg_labels_render(e->output, sizeof(e->output), r.name, r.nlen, r.labels, r.nlabels);
    mg_caps_describe(gw->caps, gw->store, r.name, r.nlen, r.labels, r.nlabels, e->caps,
                     sizeof(e->caps));
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
