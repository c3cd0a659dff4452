/* mg_pushgw_json: the groups as Pushgateway's /api/v1 shows them. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mg_expose.h"
#include "mg_json.h"
#include "mg_pushgw_int.h"

/* Go's time.Time in JSON (RFC 3339, UTC); the zero time for never. */
static void json_time(struct mg_buf *b, int64_t ms)
{
    if (ms <= 0) {
        mg_buf_adds(b, "\"0001-01-01T00:00:00Z\"");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char tmp[64];
    strftime(tmp, sizeof(tmp), "\"%Y-%m-%dT%H:%M:%S", &tm);
    mg_buf_adds(b, tmp);
    snprintf(tmp, sizeof(tmp), ".%03dZ\"", (int)(ms % 1000));
    mg_buf_adds(b, tmp);
}

static void json_num(struct mg_buf *b, double v)
{
    char tmp[40];
    size_t n = mg_format_double(tmp, v);
    mg_buf_addc(b, '"');
    mg_buf_add(b, tmp, n);
    mg_buf_addc(b, '"');
}

static const char *type_upper(enum mg_type t)
{
    static const char *const names[] = {"UNTYPED", "COUNTER", "GAUGE", "HISTOGRAM", "SUMMARY"};
    return names[t];
}

/* One input as a Pushgateway metric: labels, then value, or buckets or
 * quantiles with count and sum. */
static void json_metric(struct mg_buf *b, struct mg_input *in, enum mg_type t)
{
    struct mg_label v[in->ls->n ? in->ls->n : 1];
    size_t n = mg_labelset_unpack(in->ls, v);
    mg_buf_adds(b, "{\"labels\":");
    mg_labels_json(b, v, n);
    if (t != MG_HISTOGRAM && t != MG_SUMMARY) {
        mg_buf_adds(b, ",\"value\":");
        json_num(b, in->v.last);
        mg_buf_addc(b, '}');
        return;
    }
    const struct mg_hvals *h = in->v.h;
    mg_buf_adds(b, t == MG_HISTOGRAM ? ",\"buckets\":{" : ",\"quantiles\":{");
    for (uint32_t i = 0; i < h->layout->n; i++) {
        char tmp[40];
        size_t k = mg_format_double(tmp, h->layout->bound[i]);
        if (i)
            mg_buf_addc(b, ',');
        mg_json_str(b, tmp, k);
        mg_buf_addc(b, ':');
        json_num(b, h->v[i]);
    }
    mg_buf_adds(b, "},\"count\":");
    json_num(b, h->count);
    mg_buf_adds(b, ",\"sum\":");
    json_num(b, h->sum);
    mg_buf_addc(b, '}');
}

static void json_group(struct mg_pushgw *pg, struct mg_pushgw_group *g,
                       struct mg_buf *b)
{
    struct mg_store *st = mg_gateway_store(pg->gw);
    mg_buf_adds(b, "{\"labels\":");
    mg_labels_json(b, g->labels, g->nlabels);
    mg_buf_adds(b, g->fail_ms > g->push_ms ? ",\"last_push_successful\":false"
                                           : ",\"last_push_successful\":true");
    for (size_t i = 0; i < g->nfam; i++) {
        const struct mg_pushgw_fam *f = &g->fam[i];
        mg_buf_addc(b, ',');
        mg_json_str(b, f->name, f->nlen);
        mg_buf_adds(b, ":{\"time_stamp\":");
        json_time(b, f->ts_ms);
        mg_buf_adds(b, ",\"type\":\"");
        mg_buf_adds(b, type_upper(f->type));
        mg_buf_adds(b, "\",\"help\":");
        mg_json_cstr(b, f->help ? f->help : "");
        mg_buf_adds(b, ",\"metrics\":[");
        int first = 1;
        for (size_t k = 0; k < g->nser; k++) {
            struct mg_input *in = mg_pushgw_input(pg, &g->ser[k]);
            const struct mg_family *sf = in ? mg_store_input_family(st, in) : NULL;
            if (!sf || sf->nlen != f->nlen || memcmp(sf->name, f->name, f->nlen) != 0)
                continue;
            if (!first)
                mg_buf_addc(b, ',');
            first = 0;
            json_metric(b, in, sf->type);
        }
        mg_buf_adds(b, "]}");
    }
    mg_buf_addc(b, '}');
}

void mg_pushgw_metrics_json(struct mg_pushgw *pg, struct mg_buf *out)
{
    mg_pushgw_sweep(pg);
    mg_buf_adds(out, "{\"status\":\"success\",\"data\":[");
    int first = 1;
    for (size_t i = 0; i < pg->ngroups; i++) {
        if (!pg->groups[i])
            continue;
        if (!first)
            mg_buf_addc(out, ',');
        first = 0;
        json_group(pg, pg->groups[i], out);
    }
    mg_buf_adds(out, "]}\n");
}

void mg_pushgw_status_json(struct mg_pushgw *pg, struct mg_buf *out)
{
    size_t n = 0;
    for (size_t i = 0; i < pg->ngroups; i++)
        n += pg->groups[i] != NULL;
    char tmp[160];
    mg_buf_adds(out, "{\"status\":\"success\",\"data\":{\"build_information\":"
                     "{\"version\":\"" MG_VERSION "\",\"program\":\"moongate\"},"
                     "\"flags\":{},\"start_time\":");
    json_time(out, pg->start_ms);
    snprintf(tmp, sizeof(tmp), ",\"groups\":%zu,\"ttl_rules\":%zu}}\n", n, pg->nttl);
    mg_buf_adds(out, tmp);
}
