/* mg_explain: the dry run: what the pipeline, the caps and the store do
 * with a live input series (mg_gateway_explain, for a selector) or with
 * a sample not pushed (mg_gateway_explain_sample), traced step by step
 * and changing nothing. */
#include "mg_gateway_int.h"

#include <stdio.h>
#include <string.h>

#include "mg_regex.h"
#include "mg_selector.h"

/* Explains one live input: the pipeline again, traced (it is a pure
 * function of the series), then what the store holds for it. */
static void explain_one(struct mg_gateway *gw, struct mg_input *in,
                        struct mg_explain *e)
{
    struct mg_sample s;
    struct mg_route r;
    mg_gateway_input_sample(gw, in, &s);
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
        mg_gateway_input_sample(gw, in, &s);
        char mwhy[MG_WHY_LEN];
        if (mg_selector_match(sel, m, s.name, s.nlen, s.labels, s.nlabels, mwhy,
                              sizeof(mwhy)) == 1)
            explain_one(gw, in, &out[(*n)++]);
    }
    mg_rematch_free(m);
    mg_selector_free(sel);
    return 0;
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
