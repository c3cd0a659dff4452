/* mg_web: routing, the page frame, the overview and status pages, and the
 * /api/v1 twins they need (the other pages are in mg_web_pages.c). */
#include "mg_web.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <lua.h>

#include "mg_json.h"
#include "mg_pushgw.h"
#include "mg_web_assets.h"
#include "mg_web_int.h"

#ifndef MG_REVISION
#define MG_REVISION "unknown"
#endif
#ifndef MG_BRANCH
#define MG_BRANCH "unknown"
#endif

void mg_web_esc(struct mg_buf *b, const char *s, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *r;
        switch (s[i]) {
        case '&': r = "&amp;"; break;
        case '<': r = "&lt;"; break;
        case '>': r = "&gt;"; break;
        case '"': r = "&quot;"; break;
        case '\'': r = "&#39;"; break;
        default: continue;
        }
        mg_buf_add(b, s + from, i - from);
        mg_buf_adds(b, r);
        from = i + 1;
    }
    mg_buf_add(b, s + from, n - from);
}

void mg_web_escs(struct mg_buf *b, const char *s)
{
    mg_web_esc(b, s, strlen(s));
}

void mg_web_addf(struct mg_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        mg_buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* The nonce of the page being rendered: only a script carrying it runs,
 * so a string that escaped escaping still could not. One page at a time:
 * the event loop is single-threaded. */
static char nonce[33];

static void new_nonce(void)
{
    unsigned char r[16];
    static const char hex[] = "0123456789abcdef";
    if (getentropy(r, sizeof(r)) != 0)
        for (size_t i = 0; i < sizeof(r); i++)
            r[i] = (unsigned char)random();
    for (size_t i = 0; i < sizeof(r); i++) {
        nonce[2 * i] = hex[r[i] >> 4];
        nonce[2 * i + 1] = hex[r[i] & 15];
    }
    nonce[32] = 0;
}

void mg_web_head(struct mg_buf *b, const char *title)
{
    new_nonce();
    mg_buf_adds(b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                   "<title>");
    mg_web_escs(b, title);
    mg_buf_adds(b, " - moongate</title><style>");
    mg_buf_adds(b, mg_web_css);
    mg_buf_adds(b, "</style></head><body><header><a class=\"brand\" href=\"/\">moongate</a><nav>"
                   "<a href=\"/\">Overview</a><a href=\"/alerts\">Alerts</a>"
                   "<a href=\"/rules\">Rules</a><a href=\"/cardinality\">Cardinality</a>"
                   "<a href=\"/explain\">Explain</a><a href=\"/status\">Status</a>"
                   "</nav></header><main><h1>");
    mg_web_escs(b, title);
    mg_buf_adds(b, "</h1>\n");
}

void mg_web_foot(struct mg_buf *b)
{
    mg_web_addf(b, "</main><script nonce=\"%s\">", nonce);
    mg_buf_adds(b, mg_web_js);
    mg_buf_adds(b, "</script></body></html>\n");
}

void mg_web_labels(struct mg_buf *b, const struct mg_jdoc *d, int i)
{
    if (i < 0 || d->v[i].type != MG_JOBJ)
        return;
    for (int c = d->v[i].first; c >= 0; c = d->v[c].next) {
        mg_buf_adds(b, "<span class=\"lbl\">");
        mg_web_escs(b, d->v[c].key);
        mg_buf_adds(b, "=&quot;");
        mg_web_escs(b, mg_jstr(d, c));
        mg_buf_adds(b, "&quot;</span>");
    }
}

void mg_web_time(struct mg_buf *b, double secs)
{
    if (secs <= 0) {
        mg_buf_adds(b, "<span class=\"muted\">never</span>");
        return;
    }
    char tmp[64];
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(tmp, sizeof(tmp), "%Y-%m-%d %H:%M:%S UTC", &tm);
    mg_web_addf(b, "<span data-ts=\"%.3f\">%s</span>", secs, tmp);
}

double mg_web_rfc3339(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return 0;
    double frac = *end == '.' ? strtod(end, NULL) : 0;
    time_t t = timegm(&tm);
    return t <= 0 ? 0 : (double)t + frac;
}

void mg_web_send(struct evhttp_request *req, int code, const char *ctype,
                 struct mg_buf *b)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (b->failed) {
        mg_buf_reset(b);
        mg_buf_adds(b, "out of memory\n");
        code = 500;
        ctype = "text/plain";
    }
    evbuffer_add(evhttp_request_get_output_buffer(req), b->p, b->len);
    evhttp_add_header(out, "Content-Type", ctype);
    /* the pages are ours alone: no frames, no foreign scripts, no sniffing */
    if (strncmp(ctype, "text/html", 9) == 0) {
        char csp[256];
        snprintf(csp, sizeof(csp), "default-src 'none'; style-src 'unsafe-inline'; "
                 "script-src 'nonce-%s'; img-src 'self' data:; form-action 'self'; "
                 "frame-ancestors 'none'", nonce);
        evhttp_add_header(out, "Content-Security-Policy", csp);
    }
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    evhttp_send_reply(req, code, code == 200 ? "OK" : code == 400 ? "Bad Request"
                                 : code == 404 ? "Not Found" : code == 405 ? "Method Not Allowed"
                                 : "Internal Server Error", NULL);
    mg_buf_reset(b);
}

int mg_web_param(struct evhttp_request *req, const char *name, char *out,
                 size_t len)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq q;
    if (!query || evhttp_parse_query_str(query, &q) != 0)
        return -1;
    const char *v = evhttp_find_header(&q, name);
    int rc = -1;
    if (v) {
        snprintf(out, len, "%s", v);
        rc = 0;
    }
    evhttp_clear_headers(&q);
    return rc;
}

/* ---- the overview ---- */

static double uptime(const struct mg_stats *s)
{
    return (double)mg_now_ms() / 1000.0 - s->start_time;
}

static void duration(char *out, size_t len, double s)
{
    if (s < 120)
        snprintf(out, len, "%.0fs", s);
    else if (s < 7200)
        snprintf(out, len, "%.0fm %.0fs", floor(s / 60), fmod(s, 60));
    else if (s < 172800)
        snprintf(out, len, "%.0fh %.0fm", floor(s / 3600), floor(fmod(s, 3600) / 60));
    else
        snprintf(out, len, "%.0fd %.0fh", floor(s / 86400), floor(fmod(s, 86400) / 3600));
}

/* The ring's points and one taken now (not kept), so a gateway younger
 * than a step still draws a line. */
static size_t points(struct mg_web *w, struct mg_history_point *v)
{
    size_t n = w->hist.n;
    for (size_t i = 0; i < n; i++)
        v[i] = *mg_history_at(&w->hist, i);
    struct mg_history now;
    mg_history_init(&now);
    mg_history_sample(&now, mg_gateway_stats(w->gw), mg_gateway_store(w->gw),
                      (double)mg_now_ms() / 1000.0);
    v[n] = now.v[0];
    return n + 1;
}

static double rate_at(const struct mg_history_point *v, size_t i)
{
    if (i == 0)
        return 0;
    double dt = v[i].t - v[i - 1].t, dv = v[i].received - v[i - 1].received;
    return dt > 0 && dv > 0 ? dv / dt : 0;
}

/* One inline SVG line chart of up to two series over the points' times. */
static void chart(struct mg_buf *b, const char *title, const char *id,
                  const struct mg_history_point *v, size_t n, int rate)
{
    const double W = 600, H = 150;
    double ymax = 0, t0 = v[0].t, t1 = v[n - 1].t;
    for (size_t i = 0; i < n; i++) {
        double a = rate ? rate_at(v, i) : v[i].inputs, c = rate ? 0 : v[i].outputs;
        ymax = fmax(ymax, fmax(a, c));
    }
    if (ymax <= 0)
        ymax = 1;
    if (t1 - t0 < 60)
        t0 = t1 - 60;
    mg_web_addf(b, "<div class=\"chart\" id=\"%s\"><div class=\"t\">%s</div>"
                   "<svg viewBox=\"0 0 %.0f %.0f\" preserveAspectRatio=\"none\" role=\"img\">"
                   "<line x1=\"0\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#dde2e7\"/>"
                   "<line x1=\"0\" y1=\"1\" x2=\"%.0f\" y2=\"1\" stroke=\"#eef1f4\"/>",
                id, title, W, H, H - 1, W, H - 1, W);
    for (int s = 0; s < (rate ? 1 : 2); s++) {
        mg_web_addf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                       "vector-effect=\"non-scaling-stroke\" points=\"",
                    s ? "#e6522c" : "#4a7fc1");
        for (size_t i = rate ? 1 : 0; i < n; i++) {
            double y = rate ? rate_at(v, i) : s ? v[i].outputs : v[i].inputs;
            mg_web_addf(b, "%.1f,%.1f ", (v[i].t - t0) / (t1 - t0) * W,
                        H - 2 - y / ymax * (H - 6));
        }
        mg_buf_adds(b, "\"/>");
    }
    mg_web_addf(b, "</svg><div class=\"l\">max %.6g%s &middot; %.0f min shown &middot; ",
                ymax, rate ? " samples/s" : " series", (t1 - t0) / 60);
    mg_buf_adds(b, rate ? "<span style=\"color:#4a7fc1\">&#9632;</span> samples/s received"
                        : "<span style=\"color:#4a7fc1\">&#9632;</span> input series "
                          "<span style=\"color:#e6522c\">&#9632;</span> output series");
    mg_buf_adds(b, "</div></div>");
}

static void card(struct mg_buf *b, const char *id, const char *k, const char *v)
{
    mg_web_addf(b, "<div class=\"card\" id=\"%s\"><div class=\"k\">%s</div><div class=\"v\">",
                id, k);
    mg_web_escs(b, v);
    mg_buf_adds(b, "</div></div>");
}

/* A bounded map of producer- or script-named keys as a table. */
static void map_table(struct mg_buf *b, const char *title, const char *id,
                      const struct mg_stats_map *m)
{
    if (!m->n)
        return;
    mg_web_addf(b, "<h2>%s</h2><div class=\"tw\"><table id=\"%s\"><thead><tr><th>key</th>"
                   "<th class=\"n\">count</th></tr></thead><tbody>", title, id);
    for (unsigned i = 0; i < m->n; i++) {
        mg_buf_adds(b, "<tr><td><code>");
        mg_web_esc(b, m->key[i], m->klen[i]);
        mg_web_addf(b, "</code></td><td class=\"n\">%.0f</td></tr>", m->val[i]);
    }
    mg_buf_adds(b, "</tbody></table></div>");
}

/* Drops producers report, one row per series as the pipeline left its
 * labels (so per producer, less what the operator dropped); at most 100. */
static void client_drops_table(struct mg_buf *b, struct mg_store *st)
{
    struct mg_family *f = mg_store_family_find(st, MG_CLIENT_DROPPED,
                                               strlen(MG_CLIENT_DROPPED));
    if (!f || f->type != MG_COUNTER || mg_store_family_head(f) == MG_NIL)
        return;
    mg_buf_adds(b, "<h2>Drops reported by producers</h2><div class=\"tw\">"
                   "<table id=\"client-drops\"><thead><tr><th>series</th>"
                   "<th class=\"n\">count</th></tr></thead><tbody>");
    int k = 0;
    for (uint32_t i = mg_store_family_head(f); i != MG_NIL && k < 100;
         i = mg_store_output_next(st, i), k++) {
        struct mg_output *o = mg_store_output_at(st, i);
        struct mg_label v[o->ls->n ? o->ls->n : 1];
        size_t n = mg_labelset_unpack(o->ls, v);
        char text[1024];
        mg_labels_render(text, sizeof(text), "", 0, v, n);
        mg_buf_adds(b, "<tr><td><code>");
        mg_web_esc(b, text, strlen(text));
        mg_web_addf(b, "</code></td><td class=\"n\">%.0f</td></tr>", mg_output_value(st, o));
    }
    mg_buf_adds(b, "</tbody></table></div>");
}

static void page_overview(struct mg_web *w, struct evhttp_request *req)
{
    struct mg_buf *b = &w->page;
    struct mg_stats *s = mg_gateway_stats(w->gw);
    struct mg_history_point v[MG_HISTORY_POINTS + 1];
    size_t n = points(w, v);
    char tmp[64];
    mg_web_head(b, "Overview");
    mg_buf_adds(b, "<div class=\"cards\">");
    snprintf(tmp, sizeof(tmp), "%.1f/s", rate_at(v, n - 1) > 0 || n < 2 ? rate_at(v, n - 1)
                                                                           : rate_at(v, n - 2));
    card(b, "c-rate", "ingest rate", tmp);
    snprintf(tmp, sizeof(tmp), "%.0f", v[n - 1].inputs);
    card(b, "c-inputs", "input series", tmp);
    snprintf(tmp, sizeof(tmp), "%.0f", v[n - 1].outputs);
    card(b, "c-outputs", "output series", tmp);
    snprintf(tmp, sizeof(tmp), "%.0f", v[n - 1].received);
    card(b, "c-received", "samples received", tmp);
    snprintf(tmp, sizeof(tmp), "%.0f / %.0f", v[n - 1].rejected, v[n - 1].dropped);
    card(b, "c-refused", "rejected / dropped", tmp);
    duration(tmp, sizeof(tmp), uptime(s));
    card(b, "c-uptime", "uptime", tmp);
    card(b, "c-version", "version", MG_VERSION);
    mg_web_addf(b, "<div class=\"card\" id=\"c-reload\"><div class=\"k\">last reload</div>"
                   "<div class=\"v\"><span class=\"st %s\">%s</span></div><div class=\"muted\">"
                   "last success ", s->reload_ok ? "ok" : "err", s->reload_ok ? "ok" : "failed");
    mg_web_time(b, s->reload_success_ts);
    /* the slot persistence fills in: the last snapshot's time, size, result */
    mg_buf_adds(b, "</div></div><div class=\"card\" id=\"c-snapshot\"><div class=\"k\">"
                   "snapshot</div><div class=\"v muted\">not configured</div></div></div>");
    mg_buf_adds(b, "<h2>Last hour</h2><div class=\"charts\">");
    chart(b, "Ingest rate", "chart-rate", v, n, 1);
    chart(b, "Series", "chart-series", v, n, 0);
    mg_buf_adds(b, "</div><h2>Rejections and drops by reason</h2><div class=\"tw\">"
                   "<table id=\"reasons\"><thead><tr><th>reason</th><th>kind</th>"
                   "<th class=\"n\">samples</th></tr></thead><tbody>");
    int any = 0;
    for (int r = MG_OK + 1; r < MG_REASON_COUNT; r++) {
        if (!s->reasons[r])
            continue;
        any = 1;
        mg_web_addf(b, "<tr><td><code>%s</code></td><td>%s</td><td class=\"n\">%llu</td></tr>",
                    mg_reason_name((enum mg_reason)r),
                    r < MG_REASON_COUNT_REJECT ? "rejected" : "dropped",
                    (unsigned long long)s->reasons[r]);
    }
    if (!any)
        mg_buf_adds(b, "<tr><td colspan=\"3\" class=\"muted\">none</td></tr>");
    mg_buf_adds(b, "</tbody></table></div><h2>Received by transport</h2><div class=\"tw\">"
                   "<table id=\"transports\"><thead><tr><th>transport</th>"
                   "<th class=\"n\">samples</th><th class=\"n\">open connections</th></tr>"
                   "</thead><tbody>");
    for (int t = 0; t < MG_TRANSPORT_COUNT; t++)
        mg_web_addf(b, "<tr><td>%s</td><td class=\"n\">%llu</td><td class=\"n\">%lld</td></tr>",
                    mg_transport_name((enum mg_transport)t),
                    (unsigned long long)s->received[t], (long long)s->open[t]);
    mg_buf_adds(b, "</tbody></table></div>");
    map_table(b, "Cap hits", "cap-hits", &s->cap_hits);
    map_table(b, "Script errors by file", "script-errors", &s->script_errors);
    map_table(b, "Rule evaluation failures", "rule-failures", &s->rule_failures);
    client_drops_table(b, mg_gateway_store(w->gw));
    mg_web_foot(b);
    mg_web_send(req, 200, "text/html; charset=utf-8", b);
}

static void api_overview(struct mg_web *w, struct evhttp_request *req)
{
    struct mg_buf *b = &w->page;
    struct mg_stats *s = mg_gateway_stats(w->gw);
    struct mg_history_point v[MG_HISTORY_POINTS + 1];
    size_t n = points(w, v);
    mg_web_addf(b, "{\"status\":\"success\",\"data\":{\"version\":\"%s\",\"startTime\":%.3f,"
                   "\"uptimeSeconds\":%.3f,\"inputSeries\":%.0f,\"outputSeries\":%.0f,"
                   "\"samplesReceived\":%.0f,\"ingestRate\":%.3f,",
                MG_VERSION, s->start_time, uptime(s), v[n - 1].inputs, v[n - 1].outputs,
                v[n - 1].received, rate_at(v, n - 1));
    mg_buf_adds(b, "\"rejected\":{");
    for (int r = MG_OK + 1, first = 1; r < MG_REASON_COUNT; r++) {
        if (r == MG_REASON_COUNT_REJECT) {
            mg_buf_adds(b, "},\"dropped\":{");
            first = 1;
        }
        mg_web_addf(b, "%s\"%s\":%llu", first ? "" : ",", mg_reason_name((enum mg_reason)r),
                    (unsigned long long)s->reasons[r]);
        first = 0;
    }
    mg_web_addf(b, "},\"reload\":{\"success\":%s,\"lastSuccess\":%.3f},\"snapshot\":null,"
                   "\"history\":{\"stepSeconds\":%g,\"capacity\":%d,\"points\":[",
                s->reload_ok ? "true" : "false", s->reload_success_ts, MG_HISTORY_STEP,
                MG_HISTORY_POINTS);
    for (size_t i = 0; i < n; i++)
        mg_web_addf(b, "%s{\"t\":%.3f,\"received\":%.0f,\"rejected\":%.0f,\"dropped\":%.0f,"
                       "\"inputs\":%.0f,\"outputs\":%.0f}", i ? "," : "", v[i].t,
                    v[i].received, v[i].rejected, v[i].dropped, v[i].inputs, v[i].outputs);
    mg_buf_adds(b, "]}}}\n");
    mg_web_send(req, 200, "application/json", b);
}

/* ---- configuration, flags, build and runtime ---- */

static void yaml_str(struct mg_buf *b, const char *key, const char *v, int indent)
{
    mg_web_addf(b, strcmp(key, "-") ? "%*s%s: " : "%*s%s ", indent, "", key);
    if (v)
        mg_json_cstr(b, v); /* a JSON string is a YAML double-quoted one */
    else
        mg_buf_adds(b, "null");
    mg_buf_addc(b, '\n');
}

/* The effective settings, as YAML, keyed as the config file is. */
static void config_yaml(const struct mg_config *c, struct mg_buf *b)
{
    yaml_str(b, "http", c->http, 0);
    mg_buf_adds(b, "ingest:\n");
    for (size_t i = 0; i < c->ningest; i++)
        yaml_str(b, "-", c->ingest[i], 2);
    yaml_str(b, "scripts", c->scripts, 0);
    yaml_str(b, "rules", c->rules, 0);
    /* never the credentials themselves: which files hold them */
    mg_buf_adds(b, "auth:\n");
    for (int r = 0; r < MG_ROLE_COUNT; r++) {
        mg_web_addf(b, "  %s:\n", mg_role_name((enum mg_role)r));
        yaml_str(b, "tokens_file", c->auth[r].tokens_file, 4);
        mg_web_addf(b, "    basic_auth_users: \"<%zu user(s)>\"\n", c->auth[r].nusers);
    }
    mg_web_addf(b, "enable_lifecycle: %s\n", c->enable_lifecycle ? "true" : "false");
    yaml_str(b, "data_dir", c->data_dir, 0);
    mg_web_addf(b, "log_format: %s\nlog_level: %s\nhonor_timestamps: %s\n",
                c->log_format == MG_LOG_JSON ? "json" : "logfmt",
                (const char *[]){"debug", "info", "warn", "error"}[c->log_level & 3],
                c->honor_timestamps ? "true" : "false");
    mg_web_addf(b, "default_ttl: %gs\nsweep_interval: %gs\nrule_interval: %gs\n"
                   "drain_timeout: %gs\n", (double)c->wire.default_ttl_ms / 1000,
                c->sweep_interval, c->rule_interval, c->drain_timeout);
    const struct mg_wire_limits *l = &c->wire;
    mg_web_addf(b, "limits:\n  max_message_bytes: %zu\n  max_depth: %u\n  max_objects: %zu\n"
                   "  max_metrics: %zu\n  max_labels: %zu\n  max_name_len: %zu\n"
                   "  max_value_len: %zu\n  max_buckets: %zu\n", l->max_message_bytes,
                l->max_depth, l->max_objects, l->max_metrics, l->max_labels, l->max_name_len,
                l->max_value_len, l->max_buckets);
    mg_web_addf(b, "  max_http_body_bytes: %zu\n  max_http_header_bytes: %zu\n"
                   "  header_timeout: %gs\n  idle_timeout: %gs\n  max_connections: %zu\n"
                   "  max_http_buffered_bytes: %zu\n"
                   "  messages_per_wakeup: %u\n  max_history_points: %zu\n",
                c->max_http_body_bytes, c->max_http_header_bytes, c->header_timeout,
                c->idle_timeout, c->max_connections, c->max_http_buffered_bytes,
                c->messages_per_wakeup, c->history_points);
    mg_buf_adds(b, c->nalertmanagers ? "alertmanagers:\n" : "alertmanagers: []\n");
    for (size_t i = 0; i < c->nalertmanagers; i++)
        yaml_str(b, "-", c->alertmanagers[i], 2);
    mg_web_addf(b, "notifications:\n  queue_capacity: %zu\n  batch_size: %zu\n"
                   "  timeout: %gs\n", c->notify_queue, c->notify_batch, c->notify_timeout);
    mg_web_addf(b, "lua:\n  memory_bytes: %zu\n  instructions: %llu\n  seconds: %g\n",
                c->lua.memory_bytes, (unsigned long long)c->lua.instructions, c->lua.seconds);
    mg_buf_adds(b, c->npushgw_ttl ? "pushgateway:\n  ttl:\n" : "pushgateway:\n  ttl: []\n");
    for (size_t i = 0; i < c->npushgw_ttl; i++) {
        yaml_str(b, "- job", c->pushgw_ttl[i].job, 4);
        mg_web_addf(b, "      ttl: %gs\n", c->pushgw_ttl[i].seconds);
    }
}

/* The --config flag as the process was started with it ("" without). */
static void config_flag(char *out, size_t len)
{
    char args[4096];
    out[0] = 0;
    FILE *f = fopen("/proc/self/cmdline", "r");
    if (!f)
        return;
    size_t n = fread(args, 1, sizeof(args) - 1, f);
    fclose(f);
    args[n] = 0;
    for (size_t i = 0; i < n; i += strlen(args + i) + 1) {
        if (strcmp(args + i, "--config") == 0 && i + 9 < n) {
            snprintf(out, len, "%s", args + i + 9);
            return;
        }
        if (strncmp(args + i, "--config=", 9) == 0) {
            snprintf(out, len, "%s", args + i + 9);
            return;
        }
    }
}

/* Every flag of the daemon with its effective value. */
struct flag {
    const char *name;
    char value[1024];
};
static size_t flags(const struct mg_config *c, struct flag *f)
{
    size_t n = 0;
    f[n].name = "config";
    config_flag(f[n++].value, sizeof(f[0].value));
    f[n].name = "scripts";
    snprintf(f[n++].value, sizeof(f[0].value), "%s", c->scripts ? c->scripts : "");
    f[n].name = "rules";
    snprintf(f[n++].value, sizeof(f[0].value), "%s", c->rules ? c->rules : "");
    f[n].name = "http";
    snprintf(f[n++].value, sizeof(f[0].value), "%s", c->http ? c->http : "");
    f[n].name = "ingest";
    f[n].value[0] = 0;
    for (size_t i = 0; i < c->ningest; i++) {
        size_t at = strlen(f[n].value);
        snprintf(f[n].value + at, sizeof(f[0].value) - at, "%s%s", i ? "," : "", c->ingest[i]);
    }
    n++;
    f[n].name = "log-format";
    snprintf(f[n++].value, sizeof(f[0].value), "%s",
             c->log_format == MG_LOG_JSON ? "json" : "logfmt");
    return n;
}
#define NFLAGS 6

static void rfc3339(struct mg_buf *b, double secs)
{
    char tmp[64];
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t k = strftime(tmp, sizeof(tmp), "\"%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(tmp + k, sizeof(tmp) - k, ".%03dZ\"", (int)((secs - (double)t) * 1000));
    mg_buf_adds(b, tmp);
}

static void api_config(struct mg_web *w, struct evhttp_request *req)
{
    struct mg_buf y = {0};
    config_yaml(w->cfg, &y);
    mg_buf_adds(&w->page, "{\"status\":\"success\",\"data\":{\"yaml\":");
    mg_json_str(&w->page, y.p ? y.p : "", y.len);
    mg_buf_adds(&w->page, "}}\n");
    w->page.failed |= y.failed;
    mg_buf_fini(&y);
    mg_web_send(req, 200, "application/json", &w->page);
}

static void api_flags(struct mg_web *w, struct evhttp_request *req)
{
    struct flag f[NFLAGS];
    size_t n = flags(w->cfg, f);
    mg_buf_adds(&w->page, "{\"status\":\"success\",\"data\":{");
    for (size_t i = 0; i < n; i++) {
        if (i)
            mg_buf_addc(&w->page, ',');
        mg_json_cstr(&w->page, f[i].name);
        mg_buf_addc(&w->page, ':');
        mg_json_cstr(&w->page, f[i].value);
    }
    mg_buf_adds(&w->page, "}}\n");
    mg_web_send(req, 200, "application/json", &w->page);
}

static void buildinfo(struct mg_buf *b)
{
    mg_buf_adds(b, "{\"version\":\"" MG_VERSION "\",\"revision\":");
    mg_json_cstr(b, MG_REVISION);
    mg_buf_adds(b, ",\"branch\":");
    mg_json_cstr(b, MG_BRANCH);
    mg_buf_adds(b, ",\"buildUser\":\"\",\"buildDate\":\"" __DATE__ " " __TIME__ "\","
                   "\"goVersion\":\"\",\"compiler\":");
    mg_json_cstr(b, __VERSION__);
    mg_buf_adds(b, ",\"lua\":\"" LUA_RELEASE "\",\"libevent\":");
    mg_json_cstr(b, event_get_version());
    mg_buf_addc(b, '}');
}

static void api_buildinfo(struct mg_web *w, struct evhttp_request *req)
{
    mg_buf_adds(&w->page, "{\"status\":\"success\",\"data\":");
    buildinfo(&w->page);
    mg_buf_adds(&w->page, "}\n");
    mg_web_send(req, 200, "application/json", &w->page);
}

static void runtimeinfo(struct mg_web *w, struct mg_buf *b)
{
    const struct mg_stats *s = mg_gateway_stats(w->gw);
    struct mg_store *st = mg_gateway_store(w->gw);
    char cwd[1024];
    if (!getcwd(cwd, sizeof(cwd)))
        snprintf(cwd, sizeof(cwd), "?");
    mg_buf_adds(b, "{\"startTime\":");
    rfc3339(b, s->start_time);
    mg_buf_adds(b, ",\"CWD\":");
    mg_json_cstr(b, cwd);
    mg_web_addf(b, ",\"reloadConfigSuccess\":%s,\"lastConfigTime\":",
                s->reload_ok ? "true" : "false");
    rfc3339(b, s->reload_success_ts);
    mg_web_addf(b, ",\"corruptionCount\":0,\"goroutineCount\":0,\"GOMAXPROCS\":%ld,"
                   "\"GOMEMLIMIT\":0,\"GOGC\":\"\",\"GODEBUG\":\"\",\"storageRetention\":",
                sysconf(_SC_NPROCESSORS_ONLN));
    char ret[64];
    if (w->cfg->wire.default_ttl_ms)
        snprintf(ret, sizeof(ret), "%gs (series TTL)",
                 (double)w->cfg->wire.default_ttl_ms / 1000);
    else
        snprintf(ret, sizeof(ret), "until a series expires or is deleted");
    mg_json_cstr(b, ret);
    mg_web_addf(b, ",\"inputSeries\":%zu,\"outputSeries\":%zu,\"uptimeSeconds\":%.3f}",
                mg_store_input_count(st), mg_store_output_count(st), uptime(s));
}

static void api_runtimeinfo(struct mg_web *w, struct evhttp_request *req)
{
    mg_buf_adds(&w->page, "{\"status\":\"success\",\"data\":");
    runtimeinfo(w, &w->page);
    mg_buf_adds(&w->page, "}\n");
    mg_web_send(req, 200, "application/json", &w->page);
}

/* A flat JSON object as a two-column table. */
static void object_table(struct mg_buf *b, const char *id, struct mg_buf *json)
{
    struct mg_jdoc d;
    mg_web_addf(b, "<div class=\"tw\"><table id=\"%s\"><tbody>", id);
    if (mg_jdoc_parse(&d, json->p, json->len) == 0) {
        for (int c = d.v[0].first; c >= 0; c = d.v[c].next) {
            mg_buf_adds(b, "<tr><th>");
            mg_web_escs(b, d.v[c].key);
            mg_buf_adds(b, "</th><td><code>");
            mg_web_escs(b, d.v[c].type == MG_JTRUE ? "true" : d.v[c].type == MG_JFALSE
                                                                  ? "false" : d.v[c].s);
            mg_buf_adds(b, "</code></td></tr>");
        }
        mg_jdoc_fini(&d);
    }
    mg_buf_adds(b, "</tbody></table></div>");
}

/* The Pushgateway's groups: grouping key, last push, families. */
static void pushgw_groups(struct mg_web *w, struct mg_buf *b)
{
    mg_buf_adds(b, "<h2>Pushgateway groups</h2>");
    if (!w->pushgw) {
        mg_buf_adds(b, "<p class=\"muted\">The Pushgateway API is not running.</p>");
        return;
    }
    struct mg_jdoc d;
    mg_buf_reset(&w->scratch);
    mg_pushgw_metrics_json(w->pushgw, &w->scratch);
    if (mg_jdoc_parse(&d, w->scratch.p, w->scratch.len) != 0) {
        mg_buf_adds(b, "<p class=\"err\">out of memory</p>");
        return;
    }
    int data = mg_jget(&d, 0, "data");
    if (!mg_jlen(&d, data))
        mg_buf_adds(b, "<p class=\"muted\" id=\"pushgw-none\">No group was pushed.</p>");
    else
        mg_buf_adds(b, "<div class=\"tw\"><table id=\"pushgw\"><thead><tr><th>grouping key</th>"
                       "<th>last push</th><th>metric families</th></tr></thead><tbody>");
    for (int g = mg_jlen(&d, data) ? d.v[data].first : -1; g >= 0; g = d.v[g].next) {
        mg_buf_adds(b, "<tr><td>");
        mg_web_labels(b, &d, mg_jget(&d, g, "labels"));
        int ok = d.v[mg_jget(&d, g, "last_push_successful")].type == MG_JTRUE;
        mg_web_addf(b, "</td><td><span class=\"st %s\">%s</span></td><td>", ok ? "ok" : "err",
                    ok ? "ok" : "failed");
        for (int f = d.v[g].first; f >= 0; f = d.v[f].next) {
            if (d.v[f].type != MG_JOBJ)
                continue;
            mg_buf_adds(b, "<div><code>");
            mg_web_escs(b, d.v[f].key);
            mg_web_addf(b, "</code> <span class=\"muted\">%s, %zu series, ",
                        mg_jstr(&d, mg_jget(&d, f, "type")),
                        mg_jlen(&d, mg_jget(&d, f, "metrics")));
            mg_web_time(b, mg_web_rfc3339(mg_jstr(&d, mg_jget(&d, f, "time_stamp"))));
            mg_buf_adds(b, "</span></div>");
        }
        mg_buf_adds(b, "</td></tr>");
    }
    if (mg_jlen(&d, data))
        mg_buf_adds(b, "</tbody></table></div>");
    mg_jdoc_fini(&d);
}

static void page_status(struct mg_web *w, struct evhttp_request *req)
{
    struct mg_buf *b = &w->page;
    mg_web_head(b, "Status");
    mg_buf_adds(b, "<h2>Build</h2>");
    mg_buf_reset(&w->scratch);
    buildinfo(&w->scratch);
    object_table(b, "buildinfo", &w->scratch);
    mg_buf_adds(b, "<h2>Runtime</h2>");
    mg_buf_reset(&w->scratch);
    runtimeinfo(w, &w->scratch);
    object_table(b, "runtimeinfo", &w->scratch);
    mg_buf_adds(b, "<h2>Flags</h2><div class=\"tw\"><table id=\"flags\"><tbody>");
    struct flag f[NFLAGS];
    size_t n = flags(w->cfg, f);
    for (size_t i = 0; i < n; i++) {
        mg_web_addf(b, "<tr><th>--%s</th><td><code>", f[i].name);
        mg_web_escs(b, f[i].value);
        mg_buf_adds(b, "</code></td></tr>");
    }
    mg_buf_adds(b, "</tbody></table></div>");
    pushgw_groups(w, b);
    mg_buf_adds(b, "<h2>Configuration</h2><div class=\"tw\"><pre id=\"config\" "
                   "style=\"margin:0;padding:10px;overflow-x:auto\">");
    mg_buf_reset(&w->scratch);
    config_yaml(w->cfg, &w->scratch);
    mg_web_esc(b, w->scratch.p, w->scratch.len);
    mg_buf_adds(b, "</pre></div>");
    mg_web_foot(b);
    mg_web_send(req, 200, "text/html; charset=utf-8", b);
}

/* ---- routing ---- */

struct page {
    const char *path;
    void (*fn)(struct mg_web *, struct evhttp_request *);
};

static const struct page pages[] = {
    {"/", page_overview},
    {"/alerts", mg_web_page_alerts},
    {"/rules", mg_web_page_rules},
    {"/cardinality", mg_web_page_cardinality},
    {"/explain", mg_web_page_explain},
    {"/status", page_status},
    {"/api/v1/status/overview", api_overview},
    {"/api/v1/status/config", api_config},
    {"/api/v1/status/flags", api_flags},
    {"/api/v1/status/buildinfo", api_buildinfo},
    {"/api/v1/status/runtimeinfo", api_runtimeinfo},
    {NULL, NULL}};

/* The dry run is ours; /api/v1/explain?series= stays mg_http's. */
static int dry_run(struct evhttp_request *req)
{
    char v[8];
    return evhttp_request_get_command(req) == EVHTTP_REQ_POST ||
           mg_web_param(req, "name", v, sizeof(v)) == 0;
}

int mg_web_route(struct mg_web *w, struct evhttp_request *req, const char *path)
{
    if (strcmp(path, "/api/v1/explain") == 0 && dry_run(req)) {
        mg_web_api_explain(w, req);
        return 1;
    }
    for (const struct page *p = pages; p->path; p++) {
        if (strcmp(path, p->path) != 0)
            continue;
        if (!(evhttp_request_get_command(req) & (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))) {
            mg_buf_adds(&w->page, "method not allowed\n");
            mg_web_send(req, 405, "text/plain", &w->page);
            return 1;
        }
        p->fn(w, req);
        return 1;
    }
    return 0;
}

void mg_web_sample(struct mg_web *w)
{
    mg_history_sample(&w->hist, mg_gateway_stats(w->gw), mg_gateway_store(w->gw),
                      (double)mg_now_ms() / 1000.0);
}

static void on_sample(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    mg_web_sample(arg);
}

struct mg_web *mg_web_new(struct event_base *base, struct mg_gateway *gw,
                          const struct mg_config *cfg, char *why, size_t whylen)
{
    struct mg_web *w = calloc(1, sizeof(*w));
    if (!w)
        goto fail;
    w->base = base;
    w->gw = gw;
    w->cfg = cfg;
    mg_history_init(&w->hist);
    w->sampler = event_new(base, -1, EV_PERSIST, on_sample, w);
    if (!w->sampler)
        goto fail;
    struct timeval tv = {(time_t)MG_HISTORY_STEP, 0};
    event_add(w->sampler, &tv);
    mg_web_sample(w);
    return w;
fail:
    snprintf(why, whylen, "out of memory");
    mg_web_free(w);
    return NULL;
}

void mg_web_set_pushgw(struct mg_web *w, struct mg_pushgw *pg)
{
    w->pushgw = pg;
}

void mg_web_free(struct mg_web *w)
{
    if (!w)
        return;
    if (w->sampler)
        event_free(w->sampler);
    mg_buf_fini(&w->page);
    mg_buf_fini(&w->scratch);
    free(w);
}
