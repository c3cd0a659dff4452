/* mg_rules_json: /api/v1/alerts and /api/v1/rules in Prometheus's shapes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_json.h"
#include "mg_rules_int.h"

static void rfc3339(struct mg_buf *b, int64_t ms)
{
    char tmp[64];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(tmp, sizeof(tmp), "\"%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(tmp + n, sizeof(tmp) - n, ".%03dZ\"", (int)(ms % 1000));
    mg_buf_adds(b, tmp);
}

static const char *state_name(enum mg_alert_state s)
{
    return s == MG_ALERT_FIRING ? "firing" : s == MG_ALERT_PENDING ? "pending" : "inactive";
}

static void json_alert(struct mg_buf *b, const struct mg_alert *a)
{
    char v[40];
    mg_buf_adds(b, "{\"labels\":");
    mg_labels_json(b, a->labels, a->nlabels);
    mg_buf_adds(b, ",\"annotations\":");
    mg_labels_json(b, a->annotations, a->nannotations);
    mg_buf_adds(b, ",\"state\":\"");
    mg_buf_adds(b, state_name(a->state));
    mg_buf_adds(b, "\",\"activeAt\":");
    rfc3339(b, a->active_at);
    /* Go's FormatFloat(v, 'e', -1, 64): the shortest that reads back */
    for (int prec = 0; prec <= 17; prec++) {
        snprintf(v, sizeof(v), "%.*e", prec, a->value);
        if (strtod(v, NULL) == a->value || isnan(a->value))
            break;
    }
    mg_buf_adds(b, ",\"value\":");
    mg_json_cstr(b, v);
    mg_buf_addc(b, '}');
}

void mg_rules_alerts_json(const struct mg_rules *r, struct mg_buf *out)
{
    mg_buf_adds(out, "{\"status\":\"success\",\"data\":{\"alerts\":[");
    int first = 1;
    for (size_t i = 0; r && i < r->nrules; i++)
        for (size_t k = 0; k < r->rules[i].nalerts; k++) {
            const struct mg_alert *a = &r->rules[i].alerts[k];
            if (a->state == MG_ALERT_INACTIVE)
                continue;
            if (!first)
                mg_buf_addc(out, ',');
            first = 0;
            json_alert(out, a);
        }
    mg_buf_adds(out, "]}}\n");
}

static void json_kv(struct mg_buf *b, const struct kv *v, size_t n)
{
    mg_buf_addc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            mg_buf_addc(b, ',');
        mg_json_cstr(b, v[i].name);
        mg_buf_addc(b, ':');
        mg_json_cstr(b, v[i].value);
    }
    mg_buf_addc(b, '}');
}

static void json_rule(struct mg_buf *b, const struct rule *ru)
{
    char tmp[96];
    mg_buf_adds(b, "{\"name\":");
    mg_json_cstr(b, ru->name);
    mg_buf_adds(b, ",\"query\":");
    mg_json_cstr(b, ru->where);
    mg_buf_adds(b, ",\"labels\":");
    json_kv(b, ru->labels, ru->nlabels);
    mg_buf_adds(b, ",\"health\":\"");
    mg_buf_adds(b, !ru->evaluated ? "unknown" : ru->failed ? "err" : "ok");
    mg_buf_adds(b, "\"");
    if (ru->failed) {
        mg_buf_adds(b, ",\"lastError\":");
        mg_json_cstr(b, ru->last_error);
    }
    snprintf(tmp, sizeof(tmp), ",\"evaluationTime\":%.9f,\"lastEvaluation\":", ru->eval_seconds);
    mg_buf_adds(b, tmp);
    rfc3339(b, ru->last_eval_ms);
    if (!ru->alert) {
        mg_buf_adds(b, ",\"type\":\"recording\"}");
        return;
    }
    snprintf(tmp, sizeof(tmp), ",\"duration\":%.3f,\"keepFiringFor\":%.3f,\"annotations\":",
             (double)ru->for_ms / 1000, (double)ru->keep_firing_ms / 1000);
    mg_buf_adds(b, tmp);
    json_kv(b, ru->annotations, ru->nannotations);
    const char *state = "inactive";
    mg_buf_adds(b, ",\"alerts\":[");
    int first = 1;
    for (size_t k = 0; k < ru->nalerts; k++) {
        const struct mg_alert *a = &ru->alerts[k];
        if (a->state == MG_ALERT_INACTIVE)
            continue;
        if (a->state == MG_ALERT_FIRING || strcmp(state, "inactive") == 0)
            state = state_name(a->state);
        if (!first)
            mg_buf_addc(b, ',');
        first = 0;
        json_alert(b, a);
    }
    mg_buf_adds(b, "],\"state\":\"");
    mg_buf_adds(b, state);
    mg_buf_adds(b, "\",\"type\":\"alerting\"}");
}

void mg_rules_rules_json(const struct mg_rules *r, struct mg_buf *out)
{
    mg_buf_adds(out, "{\"status\":\"success\",\"data\":{\"groups\":[");
    /* one group a file, as Prometheus groups a rule file's rules */
    for (size_t f = 0; r && f < r->nfiles; f++) {
        char tmp[96];
        if (f)
            mg_buf_addc(out, ',');
        mg_buf_adds(out, "{\"name\":");
        mg_json_cstr(out, r->files[f]);
        mg_buf_adds(out, ",\"file\":");
        mg_json_cstr(out, r->files[f]);
        mg_buf_adds(out, ",\"rules\":[");
        int first = 1;
        for (size_t i = 0; i < r->nrules; i++) {
            if (r->rules[i].file != r->files[f])
                continue;
            if (!first)
                mg_buf_addc(out, ',');
            first = 0;
            json_rule(out, &r->rules[i]);
        }
        /* a group {} sets its own interval and limit */
        const struct group *g = &r->groups[f];
        snprintf(tmp, sizeof(tmp), "],\"interval\":%g,\"limit\":%zu,\"evaluationTime\":%.9f,"
                 "\"lastEvaluation\":",
                 g->interval_ms ? (double)g->interval_ms / 1000 : r->interval, g->limit,
                 r->eval_seconds);
        mg_buf_adds(out, tmp);
        rfc3339(out, g->last_ms ? g->last_ms : r->last_eval_ms);
        mg_buf_addc(out, '}');
    }
    mg_buf_adds(out, "]}}\n");
}
