/* mg_pipeline: the DSL, its plan, and routing a new series through it. */
#include "mg_pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "mg_vec.h"
#include "mg_cap.h"
#include "mg_log.h"
#include "mg_regex.h"
#include "mg_relabel.h"
#include "mg_suggest.h"
#include "mg_sview.h"

#define WHERE_LEN 512
#define MAX_DROP_LABELS 16

enum step_kind { STEP_RELABEL, STEP_DROP, STEP_TRANSFORM };

struct drop_label {
    char *name;
    struct mg_regex *re;
};

struct step {
    enum step_kind kind;
    char where[WHERE_LEN]; /* file:line of the DSL call */
    const char *file;      /* the file, for moongate_script_errors_total */
    struct mg_relabel *rl;
    struct mg_regex *name_re;
    struct drop_label labels[MAX_DROP_LABELS];
    size_t nlabels;
    int ref; /* transform's function */
};

struct agg_rule {
    struct mg_regex *re;
    enum mg_agg agg;
};

/* help { metric = RE, text = "..." } */
struct help_rule {
    struct mg_regex *re;
    char *text;
};

struct mg_pipeline {
    struct mg_lua *lua;
    struct step *steps;
    size_t nsteps, capsteps;
    struct agg_rule *aggs;
    size_t naggs;
    struct help_rule *helps;
    size_t nhelps;
    struct mg_cap_def **caps;
    size_t ncaps;
    int on_sample;
    char on_sample_where[WHERE_LEN];
    const char *on_sample_file;
    char **files; /* copies of the paths, for step->file */
    size_t nfiles;
    const char *loading; /* the file being loaded */
    struct mg_lbuild lb;
    struct mg_rematch *m;
    struct mg_sview sv; /* the s transforms see, and what they leave */
    struct mg_trace *trace; /* explain: record each step */
    char why[MG_WHY_LEN];
};

static struct mg_pipeline *ctx(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static struct step *add_step(lua_State *L, struct mg_pipeline *p,
                             enum step_kind k)
{
    if (MG_GROW(p->steps, p->capsteps, p->nsteps + 1))
        luaL_error(L, "out of memory");
    struct step *s = &p->steps[p->nsteps++];
    memset(s, 0, sizeof(*s));
    s->kind = k;
    s->ref = LUA_NOREF;
    s->file = p->loading;
    mg_lua_where(L, s->where, sizeof(s->where));
    mg_lua_whole_path(s->where, sizeof(s->where), s->file);
    return s;
}

/* An anchored regex, as relabel's are: the whole string must match. The
 * message quotes the regex as written. */
static struct mg_regex *anchored(lua_State *L, const char *pat,
                                 const char *what)
{
    char why[MG_WHY_LEN];
    struct mg_regex *re;
    if (mg_regex_compile_anchored(pat, strlen(pat), &re, why, sizeof(why)))
        luaL_error(L, "%s \"%s\": %s", what, pat, why);
    return re;
}

/* Each refused relabel config is an error at its own line; each trap a
 * warning there. */
struct rl_report {
    lua_State *L;
    int told;
};

static void rl_report(void *ctx, size_t k, int warning, const char *msg)
{
    struct rl_report *r = ctx;
    if (mg_lua_report(r->L, k, warning, "%s", msg) == 0 && !warning)
        r->told++;
}

/* relabel { {action=..., ...}, ... } */
static int l_relabel(lua_State *L)
{
    struct mg_pipeline *p = ctx(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    char why[256];
    struct rl_report rep = {L, 0};
    /* the step first: if the config fails, the load fails and frees it */
    struct step *s = add_step(L, p, STEP_RELABEL);
    if (mg_relabel_compile_each(L, 1, &s->rl, rl_report, &rep, why, sizeof(why)) &&
        !rep.told)
        return luaL_error(L, "%s", why);
    return 0;
}

/* drop { name = RE, labels = { l = RE } }: both anchored; a series whose
 * name and listed labels all match is dropped. */
static int l_drop(lua_State *L)
{
    struct mg_pipeline *p = ctx(L);
    static const char *const keys[] = {"name", "labels", NULL};
    char why[MG_WHY_LEN];
    luaL_checktype(L, 1, LUA_TTABLE);
    if (mg_lua_check_keys(L, 1, keys, "drop", why, sizeof(why)))
        return luaL_error(L, "%s", why);
    int tn = lua_getfield(L, 1, "name");
    int tl = lua_getfield(L, 1, "labels");
    if (tn == LUA_TNIL && tl == LUA_TNIL)
        return luaL_error(L, "drop: name or labels is required");
    if (tn != LUA_TNIL && tn != LUA_TSTRING)
        return luaL_error(L, "drop: name must be a regex string");
    if (tl != LUA_TNIL && tl != LUA_TTABLE)
        return luaL_error(L, "drop: labels must be a table of regexes");
    struct step *s = add_step(L, p, STEP_DROP);
    if (tn == LUA_TSTRING)
        s->name_re = anchored(L, lua_tostring(L, -2), "drop: name");
    if (tl == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "drop: labels must map names to regexes");
            if (s->nlabels == MAX_DROP_LABELS)
                return luaL_error(L, "drop: more than %d labels", MAX_DROP_LABELS);
            struct drop_label *d = &s->labels[s->nlabels];
            d->re = anchored(L, lua_tostring(L, -1), "drop: labels");
            d->name = strdup(lua_tostring(L, -2));
            s->nlabels++;
            if (!d->name)
                return luaL_error(L, "out of memory");
            lua_pop(L, 1);
        }
    }
    return 0;
}

static int l_transform(lua_State *L)
{
    struct mg_pipeline *p = ctx(L);
    luaL_checktype(L, 1, LUA_TFUNCTION);
    struct step *s = add_step(L, p, STEP_TRANSFORM);
    lua_pushvalue(L, 1);
    s->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* aggregate { metric = RE, gauge = "max" } */
static int l_aggregate(lua_State *L)
{
    struct mg_pipeline *p = ctx(L);
    static const char *const keys[] = {"metric", "gauge", NULL};
    char why[MG_WHY_LEN];
    luaL_checktype(L, 1, LUA_TTABLE);
    if (mg_lua_check_keys(L, 1, keys, "aggregate", why, sizeof(why)))
        return luaL_error(L, "%s", why);
    if (lua_getfield(L, 1, "metric") != LUA_TSTRING)
        return luaL_error(L, "aggregate: metric must be a regex string");
    if (lua_getfield(L, 1, "gauge") != LUA_TSTRING)
        return luaL_error(L, "aggregate: gauge must be sum, last, max, min or avg");
    size_t n;
    const char *g = lua_tolstring(L, -1, &n);
    int a = mg_agg_parse(g, n);
    if (a < 0)
        return luaL_error(L, "aggregate: gauge must be sum, last, max, min or avg, not %s", g);
    struct agg_rule *na = realloc(p->aggs, (p->naggs + 1) * sizeof(*na));
    if (!na)
        return luaL_error(L, "out of memory");
    p->aggs = na;
    p->aggs[p->naggs].re = NULL;
    p->aggs[p->naggs].agg = (enum mg_agg)a;
    p->naggs++;
    p->aggs[p->naggs - 1].re = anchored(L, lua_tostring(L, -2), "aggregate: metric");
    return 0;
}

/* help { metric = RE, text = "..." }: the HELP of every output family
 * whose name matches (anchored); the first matching rule wins. */
static int l_help(lua_State *L)
{
    struct mg_pipeline *p = ctx(L);
    static const char *const keys[] = {"metric", "text", NULL};
    char why[MG_WHY_LEN];
    luaL_checktype(L, 1, LUA_TTABLE);
    if (mg_lua_check_keys(L, 1, keys, "help", why, sizeof(why)))
        return luaL_error(L, "%s", why);
    if (lua_getfield(L, 1, "metric") != LUA_TSTRING)
        return luaL_error(L, "help: metric must be a regex string");
    if (lua_getfield(L, 1, "text") != LUA_TSTRING)
        return luaL_error(L, "help: text must be a string");
    size_t n;
    const char *t = lua_tolstring(L, -1, &n);
    const char *bad = mg_help_invalid(t, n);
    if (bad)
        return luaL_error(L, "help: text %s", bad);
    struct help_rule *nh = realloc(p->helps, (p->nhelps + 1) * sizeof(*nh));
    if (!nh)
        return luaL_error(L, "out of memory");
    p->helps = nh;
    struct help_rule *h = &p->helps[p->nhelps++];
    h->re = NULL; /* freed with the pipeline if what follows fails */
    if (!(h->text = strndup(t, n)))
        return luaL_error(L, "out of memory");
    h->re = anchored(L, lua_tostring(L, -2), "help: metric");
    return 0;
}

static int cap_or_limits(lua_State *L, int limits)
{
    struct mg_pipeline *p = ctx(L);
    char why[256], where[WHERE_LEN];
    size_t first = p->ncaps;
    if (mg_cap_compile(L, 1, limits, &p->caps, &p->ncaps, why, sizeof(why)))
        return luaL_error(L, "%s", why);
    /* where each cap was defined, for the dry run's refusals */
    mg_lua_where(L, where, sizeof(where));
    mg_lua_whole_path(where, sizeof(where), p->loading);
    for (size_t i = first; i < p->ncaps; i++)
        if (mg_cap_def_set_where(p->caps[i], where))
            return luaL_error(L, "out of memory");
    return 0;
}

static int l_cap(lua_State *L)
{
    return cap_or_limits(L, 0);
}

static int l_limits(lua_State *L)
{
    return cap_or_limits(L, 1);
}

static int l_on_sample(lua_State *L)
{
    struct mg_pipeline *p = ctx(L);
    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (p->on_sample != LUA_NOREF)
        return luaL_error(L, "on_sample: defined twice (first at %s)", p->on_sample_where);
    mg_lua_where(L, p->on_sample_where, sizeof(p->on_sample_where));
    p->on_sample_file = p->loading;
    mg_lua_whole_path(p->on_sample_where, sizeof(p->on_sample_where), p->loading);
    lua_pushvalue(L, 1);
    p->on_sample = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static const luaL_Reg dsl[] = {
    {"relabel", l_relabel},
    {"drop", l_drop},
    {"transform", l_transform},
    {"aggregate", l_aggregate},
    {"help", l_help},
    {"on_sample", l_on_sample},
    {"cap", l_cap},
    {"limits", l_limits},
    {NULL, NULL}};

void mg_pipeline_free(struct mg_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nsteps; i++) {
        struct step *s = &p->steps[i];
        mg_relabel_free(s->rl);
        mg_regex_free(s->name_re);
        for (size_t k = 0; k < s->nlabels; k++) {
            free(s->labels[k].name);
            mg_regex_free(s->labels[k].re);
        }
    }
    for (size_t i = 0; i < p->naggs; i++)
        mg_regex_free(p->aggs[i].re);
    for (size_t i = 0; i < p->nhelps; i++) {
        mg_regex_free(p->helps[i].re);
        free(p->helps[i].text);
    }
    free(p->helps);
    for (size_t i = 0; i < p->ncaps; i++)
        mg_cap_def_free(p->caps[i]);
    free(p->caps);
    free(p->aggs);
    free(p->steps);
    for (size_t i = 0; i < p->nfiles; i++)
        free(p->files[i]);
    free(p->files);
    mg_lbuild_fini(&p->lb);
    mg_rematch_free(p->m);
    mg_lua_free(p->lua); /* the refs go with the state */
    free(p);
}

struct mg_pipeline *mg_pipeline_new(const char *const *files, size_t nfiles,
                                    const struct mg_lua_limits *lim,
                                    char *why, size_t whylen)
{
    struct mg_pipeline *p = calloc(1, sizeof(*p));
    if (!p)
        goto nomem;
    p->on_sample = LUA_NOREF;
    mg_lbuild_init(&p->lb);
    p->m = mg_rematch_new();
    p->files = calloc(nfiles + 1, sizeof(char *));
    if (!p->m || !p->files)
        goto nomem;
    p->lua = mg_lua_new(lim, dsl, p);
    if (!p->lua)
        goto nomem;
    p->sv.lb = &p->lb;
    if (mg_sview_init(mg_lua_state(p->lua), &p->sv))
        goto nomem;
    if (mg_lua_run_files(p->lua, files, nfiles, p->files, &p->nfiles, &p->loading,
                         why, whylen)) {
        mg_pipeline_free(p);
        return NULL;
    }
    return p;
nomem:
    snprintf(why, whylen, "out of memory");
    mg_pipeline_free(p);
    return NULL;
}

const char *mg_pipeline_warnings(const struct mg_pipeline *p)
{
    return p ? mg_lua_warnings(p->lua) : "";
}

struct mg_cap_def *const *mg_pipeline_caps(const struct mg_pipeline *p,
                                           size_t *n)
{
    *n = p ? p->ncaps : 0;
    return p ? p->caps : NULL;
}

int mg_pipeline_has_on_sample(const struct mg_pipeline *p)
{
    return p && p->on_sample != LUA_NOREF;
}

/* ---- routing ---- */

static int drop_matches(struct mg_pipeline *p, const struct step *s,
                        char *why, size_t whylen)
{
    if (s->name_re) {
        const struct mg_label *n = mg_lbuild_get(&p->lb, "__name__", 8);
        int rc = mg_regex_match(s->name_re, p->m, n ? n->value : "", n ? n->vlen : 0,
                                0, why, whylen);
        if (rc <= 0)
            return rc;
    }
    for (size_t i = 0; i < s->nlabels; i++) {
        const struct mg_label *l =
            mg_lbuild_get(&p->lb, s->labels[i].name, strlen(s->labels[i].name));
        int rc = mg_regex_match(s->labels[i].re, p->m, l ? l->value : "",
                                l ? l->vlen : 0, 0, why, whylen);
        if (rc <= 0)
            return rc;
    }
    return 1;
}

/* Runs inside mg_lua_call: calls the transform with this call's s and
 * reads its answer. Upvalue-free: the pipeline and step come as light
 * userdata arguments, left below: a C function starts with LUA_MINSTACK
 * free slots, more than the call and mg_sview_finish need. Returns true
 * when the series is kept. */
static int l_run_transform(lua_State *L)
{
    struct mg_pipeline *p = lua_touserdata(L, 1);
    const struct step *st = lua_touserdata(L, 2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->ref);
    mg_sview_begin(L, &p->sv);
    lua_call(L, 1, 1);
    lua_pushboolean(L, mg_sview_finish(L, &p->sv, 3, st->where));
    return 1;
}

/* Runs one step: 1 keep, 0 drop, -1 error (why). */
static int run_step(struct mg_pipeline *p, const struct step *s, char *why,
                    size_t whylen)
{
    switch (s->kind) {
    case STEP_RELABEL:
        return mg_relabel_apply(s->rl, &p->lb, why, whylen);
    case STEP_DROP: {
        int rc = drop_matches(p, s, why, whylen);
        return rc < 0 ? -1 : !rc;
    }
    case STEP_TRANSFORM: {
        lua_State *L = mg_lua_state(p->lua);
        lua_pushcfunction(L, l_run_transform);
        lua_pushlightuserdata(L, p);
        lua_pushlightuserdata(L, (void *)s);
        int rc = mg_lua_call(p->lua, 2, 1, why, whylen);
        mg_sview_end(&p->sv);
        if (rc)
            return -1;
        int keep = lua_toboolean(L, -1);
        lua_pop(L, 1);
        return keep;
    }
    }
    return -1;
}

static enum mg_agg agg_for(struct mg_pipeline *p, const char *name, size_t n)
{
    char why[MG_WHY_LEN];
    for (size_t i = 0; i < p->naggs; i++)
        if (mg_regex_match(p->aggs[i].re, p->m, name, n, 0, why, sizeof(why)) == 1)
            return p->aggs[i].agg;
    return MG_AGG_SUM;
}

/* The scripts' HELP for r's family: a transform's s.help, else the first
 * help{} whose metric matches. Pinned: it wins over pushed HELP. */
static void help_for(struct mg_pipeline *p, struct mg_route *r)
{
    char why[MG_WHY_LEN];
    if (p->sv.cur.help_set) {
        r->help = p->sv.cur.help;
        r->hlen = (uint32_t)p->sv.cur.help_len;
        r->pin_help = 1;
        return;
    }
    for (size_t i = 0; i < p->nhelps; i++) {
        if (mg_regex_match(p->helps[i].re, p->m, r->name, r->nlen, 0, why, sizeof(why)) == 1) {
            r->help = p->helps[i].text;
            r->hlen = (uint32_t)strlen(p->helps[i].text);
            r->pin_help = 1;
            return;
        }
    }
}

void mg_pipeline_set_trace(struct mg_pipeline *p, struct mg_trace *t)
{
    if (p)
        p->trace = t;
}

static void trace_step(struct mg_pipeline *p, const struct step *st, int rc,
                       const char *why)
{
    static const char *const kinds[] = {"relabel", "drop", "transform"};
    if (!p->trace || p->trace->n == MG_TRACE_MAX)
        return;
    struct mg_trace_step *t = &p->trace->v[p->trace->n++];
    t->step = kinds[st->kind];
    snprintf(t->at, sizeof(t->at), "%s", st->where);
    if (rc < 0) {
        snprintf(t->result, sizeof(t->result), "error: %s", why);
    } else if (rc == 0) {
        snprintf(t->result, sizeof(t->result), "dropped");
    } else {
        const struct mg_label *n = mg_lbuild_get(&p->lb, "__name__", 8);
        struct mg_label v[p->lb.n ? p->lb.n : 1];
        size_t k = 0;
        for (size_t i = 0; i < p->lb.n; i++)
            if (&p->lb.v[i] != n)
                v[k++] = p->lb.v[i];
        mg_labels_sort(v, k);
        mg_labels_render(t->result, sizeof(t->result), n ? n->value : "", n ? n->vlen : 0,
                         v, k);
    }
}

void mg_pipeline_route(struct mg_pipeline *p, const struct mg_sample *s,
                       struct mg_route *r, const char **file, char *why,
                       size_t whylen)
{
    memset(r, 0, sizeof(*r));
    r->name = s->name;
    r->nlen = s->nlen;
    r->labels = s->labels;
    r->nlabels = s->nlabels;
    r->scale = 1;
    r->ttl_ms = -1;
    *file = NULL;
    if (!p || (p->nsteps == 0 && p->naggs == 0 && p->nhelps == 0))
        return;
    mg_lbuild_reset(&p->lb);
    p->sv.cur.scale = 1;
    p->sv.cur.ttl_ms = -1;
    p->sv.cur.help_set = 0;
    p->sv.type = mg_type_name(s->type);
    p->sv.source = s->source;
    p->sv.nsource = s->nsource;
    /* s outlives the route (r borrows from it too): its strings go in
     * uncopied, and a step that sets a label copies only what it sets */
    /* a sample's labels are unique and never __name__: appended unlooked */
    int failed = mg_lbuild_append_ref(&p->lb, "__name__", 8, s->name, s->nlen);
    for (size_t i = 0; i < s->nlabels && !failed; i++)
        failed = mg_lbuild_append_ref(&p->lb, s->labels[i].name, s->labels[i].nlen,
                                      s->labels[i].value, s->labels[i].vlen);
    if (failed) {
        snprintf(why, whylen, "out of memory");
        r->drop = MG_DROP_LIMIT;
        return;
    }
    for (size_t i = 0; i < p->nsteps; i++) {
        const struct step *st = &p->steps[i];
        int rc = run_step(p, st, why, whylen);
        trace_step(p, st, rc, why);
        if (rc < 0) {
            why[strcspn(why, "\n")] = '\0'; /* the first line, not the traceback */
            mg_lua_whole_path(why, whylen, st->file);
            /* the step's position first: "scripts/a.lua:3: ..." */
            char tmp[MG_WHY_LEN];
            snprintf(tmp, sizeof(tmp), "%s", why);
            if (strncmp(tmp, st->where, strlen(st->where)) != 0 &&
                !(st->kind == STEP_TRANSFORM && strchr(tmp, ':')))
                snprintf(why, whylen, "%s: %s", st->where, tmp);
            r->drop = MG_DROP_SCRIPT_ERROR;
            *file = st->file;
            return;
        }
        if (rc == 0) {
            snprintf(why, whylen, "dropped by %s", st->where);
            r->drop = MG_DROP_RULE;
            return;
        }
    }
    /* __name__ out of the label set: it becomes the output's name */
    const struct mg_label *n = mg_lbuild_get(&p->lb, "__name__", 8);
    if (!n || !mg_metric_name_valid(n->value, n->vlen)) {
        snprintf(why, whylen, "the pipeline left no valid metric name");
        r->drop = MG_DROP_SCRIPT_ERROR;
        *file = p->nsteps ? p->steps[p->nsteps - 1].file : NULL;
        return;
    }
    r->name = n->value;
    r->nlen = n->vlen;
    mg_lbuild_del(&p->lb, "__name__", 8);
    /* Other labels starting with __ are scratch space for the scripts, as
     * in Prometheus's relabeling: they go once the pipeline is done. */
    for (size_t i = 0; i < p->lb.n;) {
        if (p->lb.v[i].nlen >= 2 && p->lb.v[i].name[0] == '_' && p->lb.v[i].name[1] == '_')
            mg_lbuild_del(&p->lb, p->lb.v[i].name, p->lb.v[i].nlen);
        else
            i++;
    }
    for (size_t i = 0; i < p->lb.n; i++) {
        if (p->lb.v[i].nlen > MG_LABEL_NAME_MAX) {
            snprintf(why, whylen, "label name %.40s... longer than %d bytes",
                     p->lb.v[i].name, MG_LABEL_NAME_MAX);
            r->drop = MG_DROP_SCRIPT_ERROR;
            *file = p->nsteps ? p->steps[p->nsteps - 1].file : NULL;
            return;
        }
    }
    mg_lbuild_sort(&p->lb);
    r->labels = p->lb.v;
    r->nlabels = p->lb.n;
    r->scale = p->sv.cur.scale;
    r->ttl_ms = p->sv.cur.ttl_ms;
    r->agg = agg_for(p, r->name, r->nlen);
    help_for(p, r);
}

/* ---- on_sample: the slow path ---- */

static int l_run_on_sample(lua_State *L)
{
    struct mg_pipeline *p = lua_touserdata(L, 1);
    const struct mg_sample *s = lua_touserdata(L, 2);
    double v = lua_tonumber(L, 3);
    lua_settop(L, 0);
    luaL_checkstack(L, 8, "on_sample");
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->on_sample);
    lua_createtable(L, 0, 3);
    lua_pushlstring(L, s->name, s->nlen);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, mg_type_name(s->type));
    lua_setfield(L, -2, "type");
    lua_createtable(L, 0, (int)s->nlabels);
    for (size_t i = 0; i < s->nlabels; i++) {
        lua_pushlstring(L, s->labels[i].name, s->labels[i].nlen);
        lua_pushlstring(L, s->labels[i].value, s->labels[i].vlen);
        lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "labels");
    lua_pushnumber(L, v);
    lua_call(L, 2, 1);
    if (lua_isnil(L, -1) || (lua_isboolean(L, -1) && !lua_toboolean(L, -1)))
        return 0;
    if (lua_type(L, -1) != LUA_TNUMBER)
        return luaL_error(L, "on_sample must return a number or nil");
    return 1;
}

int mg_pipeline_on_sample(struct mg_pipeline *p, const struct mg_sample *s,
                          double *v, const char **file, char *why,
                          size_t whylen)
{
    lua_State *L = mg_lua_state(p->lua);
    lua_pushcfunction(L, l_run_on_sample);
    lua_pushlightuserdata(L, p);
    lua_pushlightuserdata(L, (void *)s);
    lua_pushnumber(L, *v);
    if (mg_lua_call(p->lua, 3, 1, why, whylen)) {
        why[strcspn(why, "\n")] = '\0';
        mg_lua_whole_path(why, whylen, p->on_sample_file);
        *file = p->on_sample_file;
        return -1;
    }
    int keep = lua_type(L, -1) == LUA_TNUMBER;
    if (keep)
        *v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return keep;
}

/* ---- files and check ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **mg_pipeline_files(const char *path, size_t *n, char *why,
                         size_t whylen)
{
    struct stat sb;
    *n = 0;
    if (stat(path, &sb) < 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char **v = calloc(2, sizeof(char *));
    if (!v)
        goto nomem;
    if (!S_ISDIR(sb.st_mode)) {
        if (!(v[0] = strdup(path)))
            goto nomem;
        *n = 1;
        return v;
    }
    DIR *d = opendir(path);
    if (!d) {
        free(v);
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct dirent *e;
    size_t cap = 1;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".lua") != 0 || e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            char **nv = realloc(v, (cap * 2 + 1) * sizeof(char *));
            if (!nv) {
                closedir(d);
                goto nomem;
            }
            v = nv;
            cap *= 2;
        }
        size_t dl = strlen(path), plen = dl + len + 2;
        while (dl > 1 && path[dl - 1] == '/')
            dl--;
        v[*n] = malloc(plen);
        if (!v[*n]) {
            closedir(d);
            goto nomem;
        }
        snprintf(v[*n], plen, "%.*s/%s", (int)dl, path, e->d_name);
        v[++*n] = NULL;
    }
    closedir(d);
    qsort(v, *n, sizeof(char *), cmp_str);
    return v;
nomem:
    mg_pipeline_files_free(v);
    snprintf(why, whylen, "out of memory");
    return NULL;
}

void mg_pipeline_files_free(char **files)
{
    for (size_t i = 0; files && files[i]; i++)
        free(files[i]);
    free(files);
}
