/* mg_rules_notify: what the alert rules hand to mg_notify (when an alert is
 * due, as Prometheus's needsSending; its generatorURL and external
 * labels), the resolution of alerts whose rule went away at a reload, and
 * the rules' health as the module reads it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_notify.h"
#include "mg_rules_int.h"

#define BATCH 64
#define URL_LEN 2048

void mg_rules_alert_free(struct mg_alert *a)
{
    for (size_t i = 0; i < a->nlabels; i++) {
        free((char *)a->labels[i].name);
        free((char *)a->labels[i].value);
    }
    for (size_t i = 0; i < a->nannotations; i++) {
        free((char *)a->annotations[i].name);
        free((char *)a->annotations[i].value);
    }
    free(a->labels);
    free(a->annotations);
}

/* Go's url.QueryEscape, which Prometheus's generatorURL uses. */
static size_t query_escape(char *out, size_t len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (; *s && k + 4 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[k++] = (char)c;
        } else if (c == ' ') {
            out[k++] = '+';
        } else {
            out[k++] = '%';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
        }
    }
    out[k] = '\0';
    return k;
}

/* <external_url>/graph?g0.expr=<expr>&g0.tab=1, as Prometheus builds it.
 * A Lua rule has no PromQL text: its expr is the rule's file:line, which
 * is where a reader finds it. */
static void generator_url(const struct rule *ru, const char *base, char *out,
                          size_t len)
{
    out[0] = '\0';
    if (!base || !*base)
        return;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    int k = snprintf(out, len, "%.*s/graph?g0.expr=", (int)bl, base);
    if (k < 0 || (size_t)k >= len)
        return;
    size_t e = query_escape(out + k, len - (size_t)k, ru->where);
    snprintf(out + k + e, len - (size_t)k - e, "&g0.tab=1");
}

/* The alert's labels and the external labels it does not have, as
 * Prometheus's notifier adds them. v holds nlabels + nexternal. */
static size_t with_external(const struct mg_alert *a, const struct mg_rules_env *env,
                            struct mg_label *v)
{
    size_t n = a->nlabels;
    memcpy(v, a->labels, n * sizeof(*v));
    for (size_t i = 0; i < env->nexternal_labels; i++) {
        const struct mg_label *e = &env->external_labels[i];
        size_t k = 0;
        while (k < a->nlabels && !(a->labels[k].nlen == e->nlen &&
                                   memcmp(a->labels[k].name, e->name, e->nlen) == 0))
            k++;
        if (k == a->nlabels)
            v[n++] = *e;
    }
    return n;
}

struct batch {
    const struct mg_rules_env *env;
    struct mg_notify_alert out[BATCH];
    struct mg_label *labels; /* BATCH * (max labels + external) */
    size_t n, stride;
};

static void flush(struct batch *b)
{
    if (!b->n)
        return;
    if (b->env->notify)
        mg_notify_send(b->env->notify, b->out, b->n);
    if (b->env->sent)
        b->env->sent(b->env->sent_arg, b->out, b->n);
    b->n = 0;
}

static void add(struct batch *b, const struct mg_alert *a, const char *url, int64_t ends)
{
    struct mg_label *v = b->labels + b->n * b->stride;
    size_t nl = with_external(a, b->env, v);
    b->out[b->n++] = (struct mg_notify_alert){
        .labels = v, .nlabels = nl,
        .annotations = a->annotations, .nannotations = a->nannotations,
        .starts_at_ms = a->fired_at ? a->fired_at : a->active_at,
        .ends_at_ms = ends, .generator_url = url};
    if (b->n == BATCH)
        flush(b);
}

static size_t max_labels(const struct rule *ru)
{
    size_t m = 0;
    for (size_t i = 0; i < ru->nalerts; i++)
        if (ru->alerts[i].nlabels > m)
            m = ru->alerts[i].nlabels;
    return m;
}

/* Firing alerts go out when they fire and again once last_sent +
 * resend_delay is strictly before now; resolved ones once resolved and on
 * the same clock while they are kept, as Prometheus's needsSending. */
void mg_rules_notify(struct rule *ru, const struct mg_rules_env *env, int64_t now)
{
    if (!env->notify && !env->sent)
        return;
    int64_t resend = env->resend_ms > 0 ? env->resend_ms : 60000;
    struct batch b = {.env = env, .stride = max_labels(ru) + env->nexternal_labels};
    b.labels = malloc(BATCH * (b.stride ? b.stride : 1) * sizeof(*b.labels));
    if (!b.labels)
        return; /* due alerts stay due: the next evaluation sends them */
    char url[URL_LEN];
    generator_url(ru, env->external_url, url, sizeof(url));
    for (size_t i = 0; i < ru->nalerts; i++) {
        struct mg_alert *a = &ru->alerts[i];
        if (a->state == MG_ALERT_PENDING)
            continue;
        if (!(a->resolved_at > a->last_sent) && !(a->last_sent + resend < now))
            continue;
        a->last_sent = now;
        add(&b, a, url, a->state == MG_ALERT_INACTIVE ? a->resolved_at : a->valid_until);
    }
    flush(&b);
    free(b.labels);
}

void mg_rules_retire(struct mg_rules *old, const struct mg_rules_env *env,
                     int64_t now_ms)
{
    if (!old)
        return;
    for (size_t i = 0; i < old->nrules; i++) {
        struct rule *ru = &old->rules[i];
        if (!ru->alerts)
            continue; /* taken over by a rule of the same name */
        for (size_t k = 0; k < ru->nalerts; k++) {
            struct mg_alert *a = &ru->alerts[k];
            if (a->state != MG_ALERT_FIRING)
                continue;
            a->state = MG_ALERT_INACTIVE;
            a->resolved_at = now_ms;
        }
        mg_rules_notify(ru, env, now_ms);
        for (size_t k = 0; k < ru->nalerts; k++)
            mg_rules_alert_free(&ru->alerts[k]);
        free(ru->alerts);
        ru->alerts = NULL;
        ru->nalerts = ru->capalerts = 0;
    }
}

size_t mg_rules_rule_count(const struct mg_rules *r)
{
    return r ? r->nrules : 0;
}

void mg_rules_rule_info(const struct mg_rules *r, size_t i, struct mg_rule_info *out)
{
    const struct rule *ru = &r->rules[i];
    memset(out, 0, sizeof(*out));
    out->name = ru->name;
    out->type = ru->alert ? "alerting" : "recording";
    out->health = !ru->evaluated ? "unknown" : ru->failed ? "err" : "ok";
    out->last_error = ru->failed ? ru->last_error : NULL;
    out->where = ru->where;
    out->group = ru->group;
    out->last_eval_ms = ru->evaluated ? ru->last_eval_ms : 0;
    out->for_ms = ru->for_ms;
    out->keep_firing_ms = ru->keep_firing_ms;
    out->state = NULL;
    if (!ru->alert)
        return;
    out->state = "inactive";
    for (size_t k = 0; k < ru->nalerts; k++) {
        enum mg_alert_state s = ru->alerts[k].state;
        if (s == MG_ALERT_INACTIVE)
            continue;
        out->nalerts++;
        if (s == MG_ALERT_FIRING)
            out->state = "firing";
        else if (strcmp(out->state, "inactive") == 0)
            out->state = "pending";
    }
}

size_t mg_rules_group_count(const struct mg_rules *r)
{
    return r ? r->nfiles : 0;
}

void mg_rules_group_info(const struct mg_rules *r, size_t i, struct mg_group_info *out)
{
    const struct group *g = &r->groups[i];
    out->file = r->files[i];
    out->interval_ms = g->interval_ms;
    out->query_offset_ms = g->offset_ms;
    out->limit = g->limit;
    out->last_eval_ms = g->last_ms;
}
