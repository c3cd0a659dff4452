/* mg_web_pages: the alerts, rules, cardinality and explain pages, and the
 * explain dry run's JSON. Alerts and rules render /api/v1/rules' JSON,
 * cardinality /api/v1/status/cardinality's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mg_json.h"
#include "mg_labels.h"
#include "mg_rules.h"
#include "mg_status.h"
#include "mg_web_int.h"

#define EXPLAIN_MAX 20
#define DRY_LABELS 64
#define EXPLAIN_BODY_MAX 65536 /* one series' fields, with room to spare */

static void state_badge(struct mg_buf *b, const char *state)
{
    mg_buf_adds(b, "<span class=\"st ");
    mg_web_escs(b, state);
    mg_buf_adds(b, "\">");
    mg_web_escs(b, state);
    mg_buf_adds(b, "</span>");
}

/* Parses the rules' JSON into d; 0, or -1 with the page told why. */
static int rules_doc(struct mg_web *w, struct mg_jdoc *d)
{
    mg_buf_reset(&w->scratch);
    mg_rules_rules_json(mg_gateway_rules(w->gw), &w->scratch);
    if (!w->scratch.failed && mg_jdoc_parse(d, w->scratch.p, w->scratch.len) == 0)
        return 0;
    mg_buf_adds(&w->page, "<p class=\"err\">out of memory</p>");
    return -1;
}

static void alert_rows(struct mg_buf *b, const struct mg_jdoc *d, int alerts)
{
    mg_buf_adds(b, "<div class=\"tw\"><table class=\"alerts stack\"><thead><tr><th>state</th>"
                   "<th>labels</th><th>active since</th><th class=\"n\">value</th>"
                   "<th class=\"hide-s\">annotations</th></tr></thead><tbody>");
    for (int a = d->v[alerts].first; a >= 0; a = d->v[a].next) {
        mg_buf_adds(b, "<tr><td>");
        state_badge(b, mg_jstr(d, mg_jget(d, a, "state")));
        mg_buf_adds(b, "</td><td>");
        mg_web_labels(b, d, mg_jget(d, a, "labels"));
        mg_buf_adds(b, "</td><td>");
        mg_web_time(b, mg_web_rfc3339(mg_jstr(d, mg_jget(d, a, "activeAt"))));
        mg_buf_adds(b, "</td><td class=\"n\">");
        mg_web_escs(b, mg_jstr(d, mg_jget(d, a, "value")));
        mg_buf_adds(b, "</td><td class=\"hide-s\">");
        int an = mg_jget(d, a, "annotations");
        for (int c = an >= 0 ? d->v[an].first : -1; c >= 0; c = d->v[c].next) {
            mg_buf_adds(b, "<div><b>");
            mg_web_escs(b, d->v[c].key);
            mg_buf_adds(b, "</b>: ");
            mg_web_escs(b, mg_jstr(d, c));
            mg_buf_adds(b, "</div>");
        }
        mg_buf_adds(b, "</td></tr>");
    }
    mg_buf_adds(b, "</tbody></table></div>");
}

/* As Prometheus's page: one block a rule, firing first open. */
void mg_web_page_alerts(struct mg_web *w, struct evhttp_request *req)
{
    struct mg_buf *b = &w->page;
    struct mg_jdoc d;
    mg_web_head(b, "Alerts");
    if (rules_doc(w, &d) == 0) {
        int groups = mg_jget(&d, mg_jget(&d, 0, "data"), "groups");
        size_t count[3] = {0, 0, 0}, nrules = 0;
        static const char *const states[3] = {"firing", "pending", "inactive"};
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                mg_buf_adds(b, "<div class=\"cards\">");
                for (int s = 0; s < 3; s++)
                    mg_web_addf(b, "<div class=\"card\" id=\"n-%s\"><div class=\"k\">%s</div>"
                                   "<div class=\"v\">%zu</div></div>",
                                states[s], states[s], count[s]);
                mg_buf_adds(b, "</div><p><input class=\"filter\" placeholder=\"filter\" "
                               "data-filter=\"alert-list\"></p><div id=\"alert-list\">");
                if (!nrules)
                    mg_buf_adds(b, "<p class=\"muted\">No alerting rules.</p>");
            }
            for (int g = d.v[groups].first; groups >= 0 && g >= 0; g = d.v[g].next) {
                int rules = mg_jget(&d, g, "rules");
                for (int r = d.v[rules].first; r >= 0; r = d.v[r].next) {
                    if (strcmp(mg_jstr(&d, mg_jget(&d, r, "type")), "alerting") != 0)
                        continue;
                    const char *st = mg_jstr(&d, mg_jget(&d, r, "state"));
                    if (pass == 0) {
                        nrules++;
                        count[strcmp(st, "firing") == 0 ? 0 : strcmp(st, "pending") == 0 ? 1 : 2]++;
                        continue;
                    }
                    int alerts = mg_jget(&d, r, "alerts");
                    mg_web_addf(b, "<details class=\"rule\"%s><summary>",
                                strcmp(st, "inactive") ? " open" : "");
                    state_badge(b, st);
                    mg_buf_adds(b, " ");
                    mg_web_escs(b, mg_jstr(&d, mg_jget(&d, r, "name")));
                    mg_web_addf(b, " <span class=\"muted\">(%zu active)</span></summary><div>"
                                   "<p class=\"muted\"><code>", mg_jlen(&d, alerts));
                    mg_web_escs(b, mg_jstr(&d, mg_jget(&d, r, "query")));
                    mg_web_addf(b, "</code> &middot; for %gs</p>",
                                mg_jnum(&d, mg_jget(&d, r, "duration")));
                    if (mg_jlen(&d, alerts))
                        alert_rows(b, &d, alerts);
                    mg_buf_adds(b, "</div></details>");
                }
            }
        }
        mg_buf_adds(b, "</div>");
        mg_jdoc_fini(&d);
    }
    mg_web_foot(b);
    mg_web_send(req, 200, "text/html; charset=utf-8", b);
}

/* Each rule's health, last error, last evaluation and its duration. */
void mg_web_page_rules(struct mg_web *w, struct evhttp_request *req)
{
    struct mg_buf *b = &w->page;
    struct mg_jdoc d;
    mg_web_head(b, "Rules");
    if (rules_doc(w, &d) == 0) {
        int groups = mg_jget(&d, mg_jget(&d, 0, "data"), "groups");
        if (!mg_jlen(&d, groups))
            mg_buf_adds(b, "<p class=\"muted\">No rules are loaded.</p>");
        for (int g = mg_jlen(&d, groups) ? d.v[groups].first : -1; g >= 0; g = d.v[g].next) {
            mg_buf_adds(b, "<h2><code>");
            mg_web_escs(b, mg_jstr(&d, mg_jget(&d, g, "name")));
            mg_web_addf(b, "</code></h2><p class=\"muted\">every %gs &middot; took %.3f ms "
                           "&middot; last ", mg_jnum(&d, mg_jget(&d, g, "interval")),
                        mg_jnum(&d, mg_jget(&d, g, "evaluationTime")) * 1000);
            mg_web_time(b, mg_web_rfc3339(mg_jstr(&d, mg_jget(&d, g, "lastEvaluation"))));
            mg_buf_adds(b, "</p><div class=\"tw\"><table class=\"rules stack\"><thead><tr>"
                           "<th>rule</th><th>health</th><th>last error</th>"
                           "<th>last evaluation</th><th class=\"n\">duration</th></tr></thead>"
                           "<tbody>");
            int rules = mg_jget(&d, g, "rules");
            for (int r = d.v[rules].first; rules >= 0 && r >= 0; r = d.v[r].next) {
                mg_buf_adds(b, "<tr><td><b>");
                mg_web_escs(b, mg_jstr(&d, mg_jget(&d, r, "name")));
                mg_buf_adds(b, "</b> <span class=\"muted\">");
                mg_web_escs(b, mg_jstr(&d, mg_jget(&d, r, "type")));
                mg_buf_adds(b, "</span><div class=\"muted\"><code>");
                mg_web_escs(b, mg_jstr(&d, mg_jget(&d, r, "query")));
                mg_buf_adds(b, "</code></div>");
                mg_web_labels(b, &d, mg_jget(&d, r, "labels"));
                mg_buf_adds(b, "</td><td>");
                state_badge(b, mg_jstr(&d, mg_jget(&d, r, "health")));
                mg_buf_adds(b, "</td><td class=\"err\">");
                mg_web_escs(b, mg_jstr(&d, mg_jget(&d, r, "lastError")));
                mg_buf_adds(b, "</td><td>");
                mg_web_time(b, mg_web_rfc3339(mg_jstr(&d, mg_jget(&d, r, "lastEvaluation"))));
                mg_web_addf(b, "</td><td class=\"n\">%.3f ms</td></tr>",
                            mg_jnum(&d, mg_jget(&d, r, "evaluationTime")) * 1000);
            }
            mg_buf_adds(b, "</tbody></table></div>");
        }
        mg_jdoc_fini(&d);
    }
    mg_web_foot(b);
    mg_web_send(req, 200, "text/html; charset=utf-8", b);
}

static void bar(struct mg_buf *b, double v, double max, int hot)
{
    double pct = max > 0 ? fmin(100, v / max * 100) : 0;
    mg_web_addf(b, "<div class=\"bar%s\"><i style=\"width:%.1f%%\"></i></div>",
                hot ? " hot" : "", pct);
}

/* [{name, value}] as a table with bars against the largest. */
static void top_table(struct mg_buf *b, const struct mg_jdoc *d, int list, const char *id,
                      const char *what, const char *unit)
{
    double max = 0;
    for (int c = list >= 0 ? d->v[list].first : -1; c >= 0; c = d->v[c].next)
        max = fmax(max, mg_jnum(d, mg_jget(d, c, "value")));
    mg_web_addf(b, "<div class=\"tw\"><table id=\"%s\"><thead><tr><th>%s</th>"
                   "<th class=\"n\">%s</th><th style=\"width:35%%\"></th></tr></thead><tbody>",
                id, what, unit);
    if (!mg_jlen(d, list))
        mg_buf_adds(b, "<tr><td colspan=\"3\" class=\"muted\">none</td></tr>");
    for (int c = list >= 0 ? d->v[list].first : -1; c >= 0; c = d->v[c].next) {
        double v = mg_jnum(d, mg_jget(d, c, "value"));
        mg_buf_adds(b, "<tr><td><code>");
        mg_web_escs(b, mg_jstr(d, mg_jget(d, c, "name")));
        mg_web_addf(b, "</code></td><td class=\"n\">%.0f</td><td>", v);
        bar(b, v, max, 0);
        mg_buf_adds(b, "</td></tr>");
    }
    mg_buf_adds(b, "</tbody></table></div>");
}

void mg_web_page_cardinality(struct mg_web *w, struct evhttp_request *req)
{
    struct mg_buf *b = &w->page;
    char lim[16];
    size_t limit = 10;
    if (mg_web_param(req, "limit", lim, sizeof(lim)) == 0 && atoi(lim) > 0)
        limit = (size_t)atoi(lim) < 1000 ? (size_t)atoi(lim) : 1000;
    mg_web_head(b, "Cardinality");
    mg_buf_reset(&w->scratch);
    mg_gateway_sweep(w->gw);
    struct mg_jdoc d;
    if (mg_status_cardinality(mg_gateway_store(w->gw), mg_gateway_caps(w->gw), limit,
                              &w->scratch) ||
        mg_jdoc_parse(&d, w->scratch.p, w->scratch.len)) {
        mg_buf_adds(b, "<p class=\"err\">out of memory</p>");
        mg_web_foot(b);
        mg_web_send(req, 500, "text/html; charset=utf-8", b);
        return;
    }
    int data = mg_jget(&d, 0, "data"), head = mg_jget(&d, data, "headStats");
    mg_web_addf(b, "<div class=\"cards\"><div class=\"card\"><div class=\"k\">output series"
                   "</div><div class=\"v\">%.0f</div></div><div class=\"card\"><div class=\"k\">"
                   "input series</div><div class=\"v\">%.0f</div></div></div>",
                mg_jnum(&d, mg_jget(&d, head, "numSeries")),
                mg_jnum(&d, mg_jget(&d, head, "numInputSeries")));
    mg_buf_adds(b, "<h2>Caps</h2><div class=\"tw\"><table id=\"caps\"><thead><tr><th>cap</th>"
                   "<th>kind</th><th class=\"n\">use / limit</th><th style=\"width:25%\"></th>"
                   "<th class=\"n\">hits</th><th class=\"hide-s\">on overflow</th></tr></thead>"
                   "<tbody>");
    int caps = mg_jget(&d, data, "caps");
    if (!mg_jlen(&d, caps))
        mg_buf_adds(b, "<tr><td colspan=\"6\" class=\"muted\">no caps are defined</td></tr>");
    for (int c = mg_jlen(&d, caps) ? d.v[caps].first : -1; c >= 0; c = d.v[c].next) {
        double use = mg_jnum(&d, mg_jget(&d, c, "use")), limv = mg_jnum(&d, mg_jget(&d, c, "limit"));
        mg_buf_adds(b, "<tr><td><code>");
        mg_web_escs(b, mg_jstr(&d, mg_jget(&d, c, "name")));
        mg_buf_adds(b, "</code></td><td>");
        mg_web_escs(b, mg_jstr(&d, mg_jget(&d, c, "kind")));
        mg_web_addf(b, "</td><td class=\"n\">%.0f / %.0f</td><td>", use, limv);
        bar(b, use, limv, use >= limv);
        mg_web_addf(b, "</td><td class=\"n\">%.0f</td><td class=\"hide-s\">",
                    mg_jnum(&d, mg_jget(&d, c, "hits")));
        mg_web_escs(b, mg_jstr(&d, mg_jget(&d, c, "overflow")));
        mg_buf_adds(b, " ");
        state_badge(b, mg_jstr(&d, mg_jget(&d, c, "mode")));
        mg_buf_adds(b, "</td></tr>");
    }
    mg_buf_adds(b, "</tbody></table></div><h2>Top metrics by output series</h2>");
    top_table(b, &d, mg_jget(&d, data, "seriesCountByMetricName"), "top-metrics", "metric",
              "series");
    mg_buf_adds(b, "<h2>Top label names by distinct values</h2>");
    top_table(b, &d, mg_jget(&d, data, "labelValueCountByLabelName"), "top-labels", "label",
              "values");
    int prod = mg_jget(&d, data, "seriesCountByProducer");
    for (int p = mg_jlen(&d, prod) ? d.v[prod].first : -1; p >= 0; p = d.v[p].next) {
        mg_buf_adds(b, "<h2>Top producers by <code>");
        mg_web_escs(b, d.v[p].key);
        mg_buf_adds(b, "</code></h2>");
        top_table(b, &d, p, "top-producers", "producer", "series");
    }
    mg_jdoc_fini(&d);
    mg_web_foot(b);
    mg_web_send(req, 200, "text/html; charset=utf-8", b);
}

/* ---- explain ---- */

/* A series that need not exist, from the form's or the API's fields. */
struct dry {
    struct mg_jdoc lj, sj;
    struct mg_label labels[DRY_LABELS], source[DRY_LABELS];
    struct mg_sample s;
};

static int json_labels(const struct mg_jdoc *d, const char *what, struct mg_label *v,
                       size_t *n, char *why, size_t whylen)
{
    if (d->n == 0)
        return 0;
    if (d->v[0].type != MG_JOBJ) {
        snprintf(why, whylen, "%s must be a JSON object of strings", what);
        return -1;
    }
    for (int c = d->v[0].first; c >= 0; c = d->v[c].next) {
        if (d->v[c].type != MG_JSTR) {
            snprintf(why, whylen, "%s: the value of %.64s is not a string", what, d->v[c].key);
            return -1;
        }
        if (*n == DRY_LABELS) {
            snprintf(why, whylen, "more than %d labels", DRY_LABELS);
            return -1;
        }
        v[(*n)++] = (struct mg_label){d->v[c].key, d->v[c].s, (uint32_t)strlen(d->v[c].key),
                                      (uint32_t)d->v[c].n};
    }
    return 0;
}

/* Fills x->s from name, type ("" = untyped), labels and source (JSON
 * objects, "" = none); the source's labels win, as a push's do. 0, or -1
 * with why. */
static int dry_sample(struct dry *x, const char *name, const char *type, const char *labels,
                      const char *source, char *why, size_t whylen)
{
    size_t nl = 0, ns = 0;
    memset(x, 0, sizeof(*x));
    int t = *type ? mg_type_parse(type, strlen(type)) : MG_UNTYPED;
    if (!*name) {
        snprintf(why, whylen, "the name is required");
        return -1;
    }
    if (t < 0) {
        snprintf(why, whylen, "type is counter, gauge, histogram, summary or untyped");
        return -1;
    }
    if ((*labels && mg_jdoc_parse(&x->lj, labels, strlen(labels))) ||
        (*source && mg_jdoc_parse(&x->sj, source, strlen(source)))) {
        snprintf(why, whylen, "labels and source must be JSON objects, e.g. {\"a\":\"b\"}");
        return -1;
    }
    if (json_labels(&x->lj, "labels", x->labels, &nl, why, whylen) ||
        json_labels(&x->sj, "source", x->source, &ns, why, whylen))
        return -1;
    for (size_t i = 0; i < ns; i++) {
        size_t k = 0;
        while (k < nl && (x->labels[k].nlen != x->source[i].nlen ||
                          memcmp(x->labels[k].name, x->source[i].name, x->source[i].nlen)))
            k++;
        if (k == nl && nl == DRY_LABELS) {
            snprintf(why, whylen, "more than %d labels", DRY_LABELS);
            return -1;
        }
        x->labels[k] = x->source[i];
        nl += k == nl;
    }
    mg_labels_sort(x->labels, nl);
    mg_labels_sort(x->source, ns);
    for (size_t i = 1; i < nl; i++)
        if (x->labels[i].nlen == x->labels[i - 1].nlen &&
            memcmp(x->labels[i].name, x->labels[i - 1].name, x->labels[i].nlen) == 0) {
            snprintf(why, whylen, "duplicate label %.64s", x->labels[i].name);
            return -1;
        }
    x->s.name = name;
    x->s.nlen = (uint32_t)strlen(name);
    x->s.type = (enum mg_type)t;
    x->s.labels = x->labels;
    x->s.nlabels = nl;
    x->s.source = x->source;
    x->s.nsource = ns;
    return 0;
}

static void dry_fini(struct dry *x)
{
    mg_jdoc_fini(&x->lj);
    mg_jdoc_fini(&x->sj);
}

static void explain_json(struct mg_buf *b, const struct mg_explain *e)
{
    mg_buf_adds(b, "{\"input\":");
    mg_json_cstr(b, e->input);
    mg_buf_adds(b, ",\"steps\":[");
    for (size_t k = 0; k < e->trace.n; k++) {
        const struct mg_trace_step *t = &e->trace.v[k];
        mg_buf_adds(b, k ? ",{\"step\":" : "{\"step\":");
        mg_json_cstr(b, t->step);
        mg_buf_adds(b, ",\"at\":");
        mg_json_cstr(b, t->at);
        mg_buf_adds(b, ",\"result\":");
        mg_json_cstr(b, t->result);
        mg_buf_addc(b, '}');
    }
    mg_buf_adds(b, "],\"output\":");
    if (e->output[0])
        mg_json_cstr(b, e->output);
    else
        mg_buf_adds(b, "null");
    mg_buf_adds(b, ",\"dropped\":");
    if (e->dropped)
        mg_json_cstr(b, e->dropped);
    else
        mg_buf_adds(b, "null");
    mg_buf_adds(b, ",\"aggregate\":");
    mg_json_cstr(b, e->aggregate ? e->aggregate : "");
    mg_web_addf(b, ",\"inputs\":%u,\"caps\":", e->inputs);
    mg_json_cstr(b, e->caps);
    mg_buf_adds(b, ",\"dryRun\":true}");
}

static void api_error(struct mg_web *w, struct evhttp_request *req, const char *why)
{
    mg_buf_adds(&w->page, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":");
    mg_json_cstr(&w->page, why);
    mg_buf_adds(&w->page, "}\n");
    mg_web_send(req, 400, "application/json", &w->page);
}

/* The fields of a POSTed JSON object, or of the query. */
struct fields {
    char name[512], type[32], labels[8192], source[8192];
};

static void json_field(const struct mg_jdoc *d, const char *key, char *out, size_t len,
                       int raw)
{
    int i = mg_jget(d, 0, key);
    out[0] = 0;
    if (i < 0)
        return;
    if (!raw) {
        snprintf(out, len, "%s", mg_jstr(d, i));
        return;
    }
    /* labels and source: rebuilt as JSON text for dry_sample */
    struct mg_buf t = {0};
    mg_buf_addc(&t, '{');
    for (int c = d->v[i].type == MG_JOBJ ? d->v[i].first : -1; c >= 0; c = d->v[c].next) {
        if (c != d->v[i].first)
            mg_buf_addc(&t, ',');
        mg_json_cstr(&t, d->v[c].key);
        mg_buf_addc(&t, ':');
        if (d->v[c].type == MG_JSTR)
            mg_json_cstr(&t, d->v[c].s);
        else
            mg_buf_adds(&t, "null");
    }
    mg_buf_addc(&t, '}');
    if (!t.failed && t.len < len) {
        memcpy(out, t.p, t.len);
        out[t.len] = 0;
    }
    mg_buf_fini(&t);
}

void mg_web_api_explain(struct mg_web *w, struct evhttp_request *req)
{
    struct fields *f = calloc(1, sizeof(*f));
    struct dry *x = calloc(1, sizeof(*x));
    struct mg_explain *e = calloc(1, sizeof(*e));
    char why[256];
    if (!f || !x || !e) {
        snprintf(why, sizeof(why), "out of memory");
        goto fail;
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        if (len > EXPLAIN_BODY_MAX) {
            snprintf(why, sizeof(why), "the body is over %d bytes", EXPLAIN_BODY_MAX);
            goto fail;
        }
        const char *p = (const char *)evbuffer_pullup(in, -1);
        struct mg_jdoc d;
        if (!p || mg_jdoc_parse(&d, p, len) || d.v[0].type != MG_JOBJ) {
            if (p && d.n)
                mg_jdoc_fini(&d);
            snprintf(why, sizeof(why), "the body must be a JSON object "
                                       "{name, type, labels, source}");
            goto fail;
        }
        json_field(&d, "name", f->name, sizeof(f->name), 0);
        json_field(&d, "type", f->type, sizeof(f->type), 0);
        json_field(&d, "labels", f->labels, sizeof(f->labels), 1);
        json_field(&d, "source", f->source, sizeof(f->source), 1);
        mg_jdoc_fini(&d);
    } else {
        mg_web_param(req, "name", f->name, sizeof(f->name));
        mg_web_param(req, "type", f->type, sizeof(f->type));
        mg_web_param(req, "labels", f->labels, sizeof(f->labels));
        mg_web_param(req, "source", f->source, sizeof(f->source));
    }
    if (dry_sample(x, f->name, f->type, f->labels, f->source, why, sizeof(why)))
        goto fail;
    mg_gateway_explain_sample(w->gw, &x->s, e);
    mg_buf_adds(&w->page, "{\"status\":\"success\",\"data\":[");
    explain_json(&w->page, e);
    mg_buf_adds(&w->page, "]}\n");
    mg_web_send(req, 200, "application/json", &w->page);
    goto out;
fail:
    api_error(w, req, why);
out:
    if (x)
        dry_fini(x);
    free(f);
    free(x);
    free(e);
}

static void explain_html(struct mg_buf *b, const struct mg_explain *e)
{
    mg_buf_adds(b, "<div class=\"explain\"><h2><code>");
    mg_web_escs(b, e->input);
    mg_buf_adds(b, "</code></h2><div class=\"tw\"><table class=\"steps stack\"><thead><tr><th>step</th>"
                   "<th>at</th><th>result</th></tr></thead><tbody>");
    if (!e->trace.n)
        mg_buf_adds(b, "<tr><td colspan=\"3\" class=\"muted\">no pipeline step applies: the "
                       "series is its own output</td></tr>");
    for (size_t k = 0; k < e->trace.n; k++) {
        const struct mg_trace_step *t = &e->trace.v[k];
        int drop = strcmp(t->result, "dropped") == 0 || (e->dropped && k == e->trace.n - 1);
        mg_web_addf(b, "<tr%s><td>", drop ? " class=\"drop\"" : "");
        mg_web_escs(b, t->step);
        mg_buf_adds(b, "</td><td><code>");
        mg_web_escs(b, t->at);
        mg_buf_adds(b, drop ? "</code></td><td class=\"err\"><code>" : "</code></td><td><code>");
        mg_web_escs(b, t->result);
        mg_buf_adds(b, "</code></td></tr>");
    }
    mg_buf_adds(b, "</tbody></table></div><p>");
    if (e->dropped) {
        mg_buf_adds(b, "<span class=\"st dropped\">dropped</span> <span class=\"why\">");
        mg_web_escs(b, e->dropped);
        mg_buf_adds(b, "</span>");
    } else {
        mg_buf_adds(b, "output <code class=\"out\">");
        mg_web_escs(b, e->output);
        mg_buf_adds(b, "</code>");
        if (e->aggregate && *e->aggregate) {
            mg_buf_adds(b, " &middot; gauges combine by ");
            mg_web_escs(b, e->aggregate);
        }
        if (e->inputs)
            mg_web_addf(b, " &middot; %u input(s) feed it", e->inputs);
    }
    mg_buf_adds(b, "</p>");
    if (e->caps[0]) {
        mg_buf_adds(b, "<p>caps: <code class=\"caps\">");
        mg_web_escs(b, e->caps);
        mg_buf_adds(b, "</code></p>");
    }
    mg_buf_adds(b, "</div>");
}

static void input(struct mg_buf *b, const char *label, const char *name, const char *value,
                  const char *hint)
{
    mg_web_addf(b, "<label>%s<input name=\"%s\" placeholder=\"", label, name);
    mg_web_escs(b, hint);
    mg_buf_adds(b, "\" value=\"");
    mg_web_escs(b, value);
    mg_buf_adds(b, "\"></label>");
}

void mg_web_page_explain(struct mg_web *w, struct evhttp_request *req)
{
    struct mg_buf *b = &w->page;
    struct fields *f = calloc(1, sizeof(*f));
    char sel[2048] = "", why[256] = "";
    struct mg_explain *e = calloc(EXPLAIN_MAX, sizeof(*e));
    struct dry *x = calloc(1, sizeof(*x));
    mg_web_head(b, "Explain");
    if (!f || !e || !x) {
        mg_buf_adds(b, "<p class=\"err\">out of memory</p>");
        goto out;
    }
    mg_web_param(req, "series", sel, sizeof(sel));
    mg_web_param(req, "name", f->name, sizeof(f->name));
    mg_web_param(req, "type", f->type, sizeof(f->type));
    mg_web_param(req, "labels", f->labels, sizeof(f->labels));
    mg_web_param(req, "source", f->source, sizeof(f->source));
    mg_buf_adds(b, "<form method=\"get\" id=\"live\">");
    input(b, "Selector of live series", "series", sel, "http_requests_total{job=\"api\"}");
    mg_buf_adds(b, "<button>Explain</button></form><form method=\"get\" id=\"dry\">");
    input(b, "Name (dry run of a series never pushed)", "name", f->name, "metric_name");
    mg_buf_adds(b, "<label>Type<select name=\"type\">");
    static const char *const types[] = {"gauge", "counter", "untyped", "histogram", "summary"};
    for (size_t i = 0; i < 5; i++)
        mg_web_addf(b, "<option%s>%s</option>", strcmp(f->type, types[i]) ? "" : " selected",
                    types[i]);
    mg_buf_adds(b, "</select></label>");
    input(b, "Labels (JSON)", "labels", f->labels, "{\"path\":\"/api\"}");
    input(b, "Source (JSON)", "source", f->source, "{\"job\":\"agent\"}");
    mg_buf_adds(b, "<button>Dry run</button></form><div id=\"result\">");
    size_t n = 0;
    if (*sel) {
        if (mg_gateway_explain(w->gw, sel, strlen(sel), e, EXPLAIN_MAX, &n, why, sizeof(why)))
            n = 0;
        else if (!n)
            snprintf(why, sizeof(why), "no live input series matches the selector");
    } else if (*f->name) {
        if (dry_sample(x, f->name, f->type, f->labels, f->source, why, sizeof(why)) == 0) {
            mg_gateway_explain_sample(w->gw, &x->s, e);
            n = 1;
        }
    }
    if (why[0]) {
        mg_buf_adds(b, "<p class=\"err\" id=\"error\">");
        mg_web_escs(b, why);
        mg_buf_adds(b, "</p>");
    }
    for (size_t i = 0; i < n; i++)
        explain_html(b, &e[i]);
    mg_buf_adds(b, "</div>");
out:
    mg_web_foot(b);
    if (x)
        dry_fini(x);
    free(x);
    free(e);
    free(f);
    mg_web_send(req, 200, "text/html; charset=utf-8", b);
}
