/* mg_rules: the rules DSL, evaluation, alert states, written series. */
#include "mg_rules.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "mg_vec.h"
#include "mg_alloc.h"
#include "mg_json.h"
#include "mg_log.h"
#include "mg_names.h"
#include "mg_notify.h"
#include "mg_pipeline.h"
#include "mg_promql.h"
#include "mg_promql_eval.h"
#include "mg_query.h"
#include "mg_rules_int.h"
#include "mg_suggest.h"
#include "mg_template.h"

#define RESOLVED_RETENTION_MS 900000 /* resolved ones for 15 minutes */

/* ---- the DSL ---- */

static struct mg_rules *ctx(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static void kv_free(struct kv *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
        mg_tmpl_free(v[i].tmpl);
    }
    free(v);
}

/* A table of strings at idx into *out; raises on anything else. */
static void read_kv(lua_State *L, int idx, const char *what, struct kv **out,
                    size_t *n)
{
    if (lua_isnil(L, idx))
        return;
    if (!lua_istable(L, idx))
        luaL_error(L, "%s must be a table of strings", what);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s must map strings to strings", what);
        const char *k = lua_tostring(L, -2);
        if (!mg_label_name_valid(k, strlen(k)))
            luaL_error(L, "%s: %s is not a valid label name", what, k);
        /* __name__ and the other reserved names would change the series'
         * identity or be dropped on the way out, as Prometheus refuses */
        if (strcmp(what, "labels") == 0 && k[0] == '_' && k[1] == '_')
            luaL_error(L, "%s: %s is a reserved label name", what, k);
        struct kv *nv = mg_realloc(*out, (*n + 1) * sizeof(*nv));
        if (!nv)
            luaL_error(L, "out of memory");
        *out = nv;
        nv[*n].name = mg_strdup(k);
        nv[*n].value = mg_strdup(lua_tostring(L, -1));
        nv[*n].tmpl = NULL;
        (*n)++;
        if (!nv[*n - 1].name || !nv[*n - 1].value)
            luaL_error(L, "out of memory");
        /* compiled now: an unknown function is a load error, not an alert */
        char why[200];
        size_t vl;
        const char *v = lua_tolstring(L, -1, &vl);
        int rc = mg_tmpl_compile(v, vl, &nv[*n - 1].tmpl, why, sizeof(why));
        if (rc == -ENOMEM)
            luaL_error(L, "out of memory");
        /* a recording rule's labels are not templates, as in Prometheus */
        if (rc && ctx(L)->loading_alert)
            luaL_error(L, "%s: %s: %s", what, k, why);
        lua_pop(L, 1);
    }
}

static void duration_field(lua_State *L, int idx, const char *field, int64_t *ms)
{
    int t = lua_getfield(L, idx, field);
    if (t == LUA_TSTRING) {
        size_t n;
        const char *d = lua_tolstring(L, -1, &n);
        char why[160];
        if (mg_duration_parse(d, n, ms, why, sizeof(why)))
            luaL_error(L, "%s: not a duration: %s", field, d);
    } else if (t == LUA_TNUMBER) {
        *ms = (int64_t)(lua_tonumber(L, -1) * 1000);
    } else if (t != LUA_TNIL) {
        luaL_error(L, "%s must be a duration like \"5m\"", field);
    }
    lua_pop(L, 1);
}

/* record "name" { ... } and alert "name" { ... }: the name call returns a
 * function that takes the body. */
static int l_rule_body(lua_State *L)
{
    struct mg_rules *r = ctx(L);
    int alert = (int)lua_tointeger(L, lua_upvalueindex(3));
    const char *name = lua_tostring(L, lua_upvalueindex(2));
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const rkeys[] = {"expr", "promql", "labels", NULL};
    static const char *const akeys[] = {"expr", "promql", "for", "keep_firing_for",
                                        "labels", "annotations", NULL};
    char what[160], why[MG_WHY_LEN];
    snprintf(what, sizeof(what), "%s %s", alert ? "alert" : "record", name);
    if (mg_lua_check_keys(L, 1, alert ? akeys : rkeys, what, why, sizeof(why)))
        return luaL_error(L, "%s", why);
    int et = lua_getfield(L, 1, "expr");
    if (et == LUA_TNIL && lua_getfield(L, 1, "promql") == LUA_TSTRING) {
        /* promql = "...": parsed now, evaluated by q.promql */
        lua_remove(L, -2);
        mg_query_promql_expr(L);
    } else if (et != LUA_TFUNCTION || lua_getfield(L, 1, "promql") != LUA_TNIL) {
        return luaL_error(L, "%s %s: expr must be a function(q), or promql a string",
                          alert ? "alert" : "record", name);
    } else {
        lua_pop(L, 1);
    }
    if (MG_GROW(r->rules, r->caprules, r->nrules + 1))
        return luaL_error(L, "out of memory");
    struct rule *ru = &r->rules[r->nrules++];
    memset(ru, 0, sizeof(*ru));
    ru->alert = alert;
    ru->ref = LUA_NOREF;
    ru->file = r->loading;
    ru->group = r->nfiles - 1;
    mg_lua_where(L, ru->where, sizeof(ru->where));
    ru->name = mg_strdup(name);
    if (!ru->name)
        return luaL_error(L, "out of memory");
    ru->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    r->loading_alert = alert;
    lua_getfield(L, 1, "labels");
    read_kv(L, lua_gettop(L), "labels", &ru->labels, &ru->nlabels);
    lua_pop(L, 1);
    if (alert) {
        lua_getfield(L, 1, "annotations");
        read_kv(L, lua_gettop(L), "annotations", &ru->annotations, &ru->nannotations);
        lua_pop(L, 1);
        duration_field(L, 1, "for", &ru->for_ms);
        duration_field(L, 1, "keep_firing_for", &ru->keep_firing_ms);
    }
    return 0;
}

static int l_skip_body(lua_State *L)
{
    (void)L;
    return 0;
}

static int rule_name(lua_State *L, int alert)
{
    size_t n;
    const char *name = luaL_checklstring(L, 1, &n);
    if (alert ? n == 0 : !mg_metric_name_valid(name, n)) {
        /* While loading, the error is collected and the body that follows
         * the name goes to a no-op, so the file goes on to its next rule. */
        if ((alert ? mg_lua_report(L, 0, 0, "alert: a name is required")
                   : mg_lua_report(L, 0, 0, "record: %s is not a valid metric name",
                                   name)) < 0)
            return luaL_error(L, alert ? "alert: a name is required"
                                       : "record: %s is not a valid metric name", name);
        lua_pushcfunction(L, l_skip_body);
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushinteger(L, alert);
    mg_lua_push_dsl(L, l_rule_body, 3);
    return 1;
}

static int l_record(lua_State *L)
{
    return rule_name(L, 0);
}

static int l_alert(lua_State *L)
{
    return rule_name(L, 1);
}

/* group { interval = "30s", query_offset = "1m", limit = 10 }: the file's
 * settings, once, before its first rule. */
static int l_group(lua_State *L)
{
    struct mg_rules *r = ctx(L);
    if (!r->loading)
        return luaL_error(L, "group: only while the file loads");
    struct group *g = &r->groups[r->nfiles - 1];
    luaL_checktype(L, 1, LUA_TTABLE);
    if (g->declared)
        return luaL_error(L, "group: declared twice in one file");
    for (size_t i = 0; i < r->nrules; i++)
        if (r->rules[i].group == r->nfiles - 1)
            return luaL_error(L, "group: must come before the file's first rule");
    static const char *const keys[] = {"interval", "query_offset", "limit", NULL};
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        int i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (!keys[i]) {
            char msg[160];
            return luaL_error(L, "group: %s",
                              mg_suggest_unknown(msg, sizeof(msg), k, strlen(k), keys));
        }
        lua_pop(L, 1);
    }
    duration_field(L, 1, "interval", &g->interval_ms);
    duration_field(L, 1, "query_offset", &g->offset_ms);
    if (g->interval_ms < 0 || g->offset_ms < 0)
        return luaL_error(L, "group: durations must not be negative");
    int t = lua_getfield(L, 1, "limit");
    if (t != LUA_TNIL) {
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0)
            return luaL_error(L, "group: limit must be a whole number >= 0");
        g->limit = (size_t)lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    g->declared = 1;
    return 0;
}

static const luaL_Reg dsl[] = {{"record", l_record}, {"alert", l_alert},
                               {"group", l_group}, {NULL, NULL}};

static void written_free(struct written *w)
{
    free(w->name);
    for (size_t i = 0; i < w->n; i++) {
        free((char *)w->labels[i].name);
        free((char *)w->labels[i].value);
    }
    free(w->labels);
}

void mg_rules_free(struct mg_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nrules; i++) {
        struct rule *ru = &r->rules[i];
        free(ru->name);
        kv_free(ru->labels, ru->nlabels);
        kv_free(ru->annotations, ru->nannotations);
        for (size_t k = 0; k < ru->nalerts; k++)
            mg_rules_alert_free(&ru->alerts[k]);
        free(ru->alerts);
    }
    free(r->rules);
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i]);
    free(r->files);
    free(r->groups);
    free(r->res);
    free(r->res_labels);
    mg_lbuild_fini(&r->strings);
    for (size_t i = 0; i < r->nw; i++)
        written_free(&r->w[i]);
    free(r->w);
    mg_names_fini(&r->wmap);
    mg_lua_free(r->lua);
    free(r);
}

struct mg_rules *mg_rules_new(const char *const *files, size_t nfiles,
                              const struct mg_lua_limits *lim, char *why,
                              size_t whylen)
{
    struct mg_rules *r = mg_calloc(1, sizeof(*r));
    if (!r)
        goto nomem;
    mg_lbuild_init(&r->strings);
    mg_names_init(&r->wmap);
    r->files = mg_calloc(nfiles + 1, sizeof(char *));
    r->groups = mg_calloc(nfiles + 1, sizeof(*r->groups));
    if (!r->files || !r->groups || !(r->lua = mg_lua_new(lim, dsl, r)))
        goto nomem;
    if (mg_lua_run_files(r->lua, files, nfiles, r->files, &r->nfiles, &r->loading,
                         why, whylen)) {
        mg_rules_free(r);
        return NULL;
    }
    for (size_t i = 0; i < r->nfiles; i++) {
        r->groups[i].file = r->files[i];
        /* literal PromQL in the file, refused now rather than at a tick */
        if (mg_pqe_check_file(files[i], why, whylen)) {
            why[strcspn(why, "\n")] = '\0';
            mg_rules_free(r);
            return NULL;
        }
    }
    if (0) {
    }
    return r;
nomem:
    snprintf(why, whylen, "out of memory");
    mg_rules_free(r);
    return NULL;
}

/* ---- one evaluation ---- */

static int add_result_label(struct mg_rules *r, const char *k, size_t kl,
                            const char *v, size_t vl)
{
    if (MG_GROW(r->res_labels, r->capres_labels, r->nres_labels + 1))
        return -ENOMEM;
    char *ks = mg_lbuild_strdup(&r->strings, k, kl);
    char *vs = mg_lbuild_strdup(&r->strings, v, vl);
    if (!ks || !vs)
        return -ENOMEM;
    r->res_labels[r->nres_labels++] = (struct mg_label){ks, vs, (uint32_t)kl, (uint32_t)vl};
    return 0;
}

static int add_result(lua_State *L, struct mg_rules *r, double v)
{
    if (MG_GROW(r->res, r->capres, r->nres + 1))
        return luaL_error(L, "out of memory");
    r->res[r->nres++] = (struct result){r->nres_labels, 0, v};
    return 0;
}

/* Inside mg_lua_call: expr(q), then its answer into r->res with raw
 * access only. nil or false: nothing; a number (true is 1): one result
 * without labels; a vector {{labels = {...}, value = n}, ...}. */
static int l_eval(lua_State *L)
{
    struct mg_rules *r = lua_touserdata(L, 1);
    const struct rule *ru = lua_touserdata(L, 2);
    lua_settop(L, 0);
    luaL_checkstack(L, 8, "rule");
    lua_rawgeti(L, LUA_REGISTRYINDEX, ru->ref);
    mg_query_push(L, r->query, r->store, r->now_ms);
    lua_call(L, 1, 1);
    int t = lua_type(L, 1);
    if (t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, 1)))
        return 0;
    if (t == LUA_TBOOLEAN || t == LUA_TNUMBER)
        return add_result(L, r, t == LUA_TBOOLEAN ? 1 : lua_tonumber(L, 1));
    if (t != LUA_TTABLE)
        return luaL_error(L, "expr must return nil, false, a number or a vector, not a %s",
                          luaL_typename(L, 1));
    lua_Unsigned n = lua_rawlen(L, 1);
    for (lua_Unsigned i = 1; i <= n; i++) {
        if (lua_rawgeti(L, 1, (lua_Integer)i) != LUA_TTABLE)
            return luaL_error(L, "vector element %d is not a table", (int)i);
        lua_pushstring(L, "value");
        if (lua_rawget(L, -2) != LUA_TNUMBER)
            return luaL_error(L, "vector element %d has no numeric value", (int)i);
        add_result(L, r, lua_tonumber(L, -1));
        lua_pop(L, 1);
        lua_pushstring(L, "labels");
        int lt = lua_rawget(L, -2);
        if (lt == LUA_TTABLE) {
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                    return luaL_error(L, "vector element %d: labels must map strings to strings",
                                      (int)i);
                size_t kl, vl;
                const char *k = lua_tolstring(L, -2, &kl);
                const char *v = lua_tolstring(L, -1, &vl);
                if (!(kl == 8 && memcmp(k, "__name__", 8) == 0) && vl &&
                    add_result_label(r, k, kl, v, vl))
                    return luaL_error(L, "out of memory");
                lua_pop(L, 1);
            }
        } else if (lt != LUA_TNIL) {
            return luaL_error(L, "vector element %d: labels must be a table", (int)i);
        }
        lua_pop(L, 2);
        struct result *res = &r->res[r->nres - 1];
        res->n = r->nres_labels - res->first;
    }
    return 0;
}

/* ---- written series ---- */

/* Exactly n bytes and a NUL: a label value may hold NUL bytes, where
 * strndup would stop short of the length the label keeps. */
static char *dupl(const char *s, size_t n)
{
    char *d = mg_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* The lookup from store identity to written series (index + 1) holds keys
 * inside r->w, so whatever moves or compacts r->w builds it again here. */
int mg_rules_wmap_rebuild(struct mg_rules *r)
{
    int rc = 0;
    mg_names_fini(&r->wmap);
    mg_names_init(&r->wmap);
    for (size_t i = 0; i < r->nw; i++)
        if (mg_names_put(&r->wmap, (const char *)&r->w[i].oidx, sizeof(r->w[i].oidx),
                         (void *)(uintptr_t)(i + 1)) < 0)
            rc = -ENOMEM;
    return rc;
}

static int write_series(struct mg_rules *r, const char *name,
                        struct mg_label *labels, size_t n, double v,
                        const char *help)
{
    mg_labels_sort(labels, n);
    /* keyed by the store's own identity for name{labels}, which no
     * rendering of the labels can confuse */
    uint32_t oidx;
    if (mg_store_own_set_at(r->store, name, MG_GAUGE, help, labels, n, v, &oidx))
        return -ENOMEM;
    struct written *w;
    size_t idx = (size_t)(uintptr_t)mg_names_get(&r->wmap, (const char *)&oidx,
                                                 sizeof(oidx));
    if (idx) {
        r->w[idx - 1].mark = 1;
        return 0;
    }
    if (r->nw == r->capw) {
        if (MG_GROW(r->w, r->capw, r->nw + 1))
            return -ENOMEM;
        /* the map holds keys inside r->w */
        if (mg_rules_wmap_rebuild(r))
            return -ENOMEM;
    }
    w = &r->w[r->nw];
    memset(w, 0, sizeof(*w));
    w->oidx = oidx;
    w->name = mg_strdup(name);
    w->labels = mg_calloc(n ? n : 1, sizeof(*w->labels));
    if (!w->name || !w->labels) {
        written_free(w);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        char *k = dupl(labels[i].name, labels[i].nlen);
        char *val = dupl(labels[i].value, labels[i].vlen);
        w->labels[w->n++] = (struct mg_label){k, val, labels[i].nlen, labels[i].vlen};
        if (!k || !val) {
            written_free(w);
            return -ENOMEM;
        }
    }
    w->mark = 1;
    r->nw++;
    mg_names_put(&r->wmap, (const char *)&w->oidx, sizeof(w->oidx),
                 (void *)(uintptr_t)r->nw);
    return 0;
}

/* Series no rule wrote in this evaluation leave the store. */
static void sweep_written(struct mg_rules *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->nw; i++) {
        struct written *w = &r->w[i];
        if (!w->mark) {
            mg_store_own_remove(r->store, w->name, strlen(w->name), w->labels, w->n);
            written_free(w);
            continue;
        }
        w->mark = 0;
        r->w[k++] = *w;
    }
    r->nw = k;
    mg_rules_wmap_rebuild(r);
}

/* A recording rule's output: every result with the rule's labels. Returns
 * 0; -EEXIST when two results have one label set, -E2BIG past the group's
 * limit, -ENOMEM: then nothing is written, as in Prometheus. */
static int record(struct mg_rules *r, const struct rule *ru, size_t limit)
{
    if (limit && r->nres > limit)
        return -E2BIG;
    size_t total = 0;
    for (size_t i = 0; i < r->nres; i++)
        total += r->res[i].n + ru->nlabels;
    struct mg_label *all = mg_malloc((total ? total : 1) * sizeof(*all));
    struct lset *sets = mg_malloc((r->nres ? r->nres : 1) * sizeof(*sets));
    struct lset *sorted = mg_malloc((r->nres ? r->nres : 1) * sizeof(*sorted));
    int rc = -ENOMEM;
    if (!all || !sets || !sorted)
        goto out;
    size_t used = 0;
    for (size_t i = 0; i < r->nres; i++) {
        const struct result *res = &r->res[i];
        struct mg_label *v = all + used;
        size_t n = 0;
        for (size_t k = 0; k < res->n; k++)
            v[n++] = r->res_labels[res->first + k];
        for (size_t k = 0; k < ru->nlabels; k++) {
            struct mg_label l = {ru->labels[k].name, ru->labels[k].value,
                                 (uint32_t)strlen(ru->labels[k].name),
                                 (uint32_t)strlen(ru->labels[k].value)};
            size_t j = 0;
            while (j < n && !(v[j].nlen == l.nlen && memcmp(v[j].name, l.name, l.nlen) == 0))
                j++;
            v[j] = l; /* the rule's labels win */
            if (j == n)
                n++;
        }
        mg_labels_sort(v, n);
        sets[i] = (struct lset){mg_labels_hash(v, n), v, n};
        used += n;
    }
    memcpy(sorted, sets, r->nres * sizeof(*sets));
    rc = -EEXIST;
    if (mg_rules_has_duplicate(sorted, r->nres))
        goto out;
    for (size_t i = 0; i < r->nres; i++)
        write_series(r, ru->name, sets[i].v, sets[i].n, r->res[i].value,
                     "Written by a recording rule.");
    rc = 0;
out:
    free(all);
    free(sets);
    free(sorted);
    return rc;
}

/* ---- alerts ---- */

static void labels_free(struct mg_label *v, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        free((char *)v[k].name);
        free((char *)v[k].value);
    }
}

/* A rule's template with a result's labels and value, and the gateway's
 * external labels and URL. */
static void expand(const struct mg_rules_env *env, const struct mg_tmpl *t,
                   const struct mg_label *res, size_t nres, double value, char *out,
                   size_t len)
{
    struct mg_tmpl_data d = {.labels = res, .nlabels = nres,
                             .external_labels = env ? env->external_labels : NULL,
                             .nexternal_labels = env ? env->nexternal_labels : 0,
                             .external_url = env ? env->external_url : NULL,
                             .value = value};
    mg_tmpl_expand(t, &d, out, len);
}

/* The alert's label set for one result: its labels, then the rule's
 * (templated), then alertname. Returns the count in v (owned strings), or
 * -ENOMEM with nothing left to free. */
static ssize_t alert_labels(const struct mg_rules_env *env, const struct rule *ru,
                            const struct mg_label *res, size_t nres, double value,
                            struct mg_label *v)
{
    size_t n = 0;
    for (size_t i = 0; i < nres; i++) {
        v[n++] = (struct mg_label){dupl(res[i].name, res[i].nlen),
                                   dupl(res[i].value, res[i].vlen), res[i].nlen,
                                   res[i].vlen};
        if (!v[n - 1].name || !v[n - 1].value) {
            labels_free(v, n);
            return -ENOMEM;
        }
    }
    for (size_t k = 0; k < ru->nlabels + 1; k++) {
        char val[1024];
        const char *name = k < ru->nlabels ? ru->labels[k].name : "alertname";
        if (k < ru->nlabels)
            expand(env, ru->labels[k].tmpl, res, nres, value, val, sizeof(val));
        else
            snprintf(val, sizeof(val), "%s", ru->name);
        size_t nl = strlen(name), j = 0;
        while (j < n && !(v[j].nlen == nl && memcmp(v[j].name, name, nl) == 0))
            j++;
        if (j < n) {
            free((char *)v[j].name);
            free((char *)v[j].value);
        } else {
            n++;
        }
        v[j] = (struct mg_label){mg_strdup(name), mg_strdup(val), (uint32_t)nl,
                                 (uint32_t)strlen(val)};
        if (!v[j].name || !v[j].value) {
            labels_free(v, n);
            return -ENOMEM;
        }
        if (!val[0]) { /* an empty value is no label */
            free((char *)v[j].name);
            free((char *)v[j].value);
            v[j] = v[--n];
        }
    }
    mg_labels_sort(v, n);
    return (ssize_t)n;
}

static struct mg_alert *find_alert(struct rule *ru, uint64_t hash,
                                   const struct mg_label *v, size_t n)
{
    for (size_t i = 0; i < ru->nalerts; i++) {
        struct mg_alert *a = &ru->alerts[i];
        if (a->hash != hash || a->nlabels != n)
            continue;
        size_t k = 0;
        while (k < n && a->labels[k].nlen == v[k].nlen && a->labels[k].vlen == v[k].vlen &&
               memcmp(a->labels[k].name, v[k].name, v[k].nlen) == 0 &&
               memcmp(a->labels[k].value, v[k].value, v[k].vlen) == 0)
            k++;
        if (k == n)
            return a;
    }
    return NULL;
}

/* Returns 0, or -ENOMEM with the annotations that could not be kept left
 * out. */
static int annotate(const struct mg_rules_env *env, const struct rule *ru,
                    struct mg_alert *a, const struct mg_label *res, size_t nres)
{
    for (size_t i = 0; i < a->nannotations; i++) {
        free((char *)a->annotations[i].name);
        free((char *)a->annotations[i].value);
    }
    free(a->annotations);
    a->annotations = mg_calloc(ru->nannotations ? ru->nannotations : 1, sizeof(*a->annotations));
    a->nannotations = 0;
    if (!a->annotations)
        return -ENOMEM;
    int rc = 0;
    /* templates see the result's labels as $labels, as Prometheus's do */
    for (size_t k = 0; k < ru->nannotations; k++) {
        char val[2048];
        expand(env, ru->annotations[k].tmpl, res, nres, a->value, val, sizeof(val));
        struct mg_label l = {mg_strdup(ru->annotations[k].name), mg_strdup(val),
                             (uint32_t)strlen(ru->annotations[k].name),
                             (uint32_t)strlen(val)};
        if (!l.name || !l.value) {
            labels_free(&l, 1);
            rc = -ENOMEM;
            continue;
        }
        a->annotations[a->nannotations++] = l;
    }
    return rc;
}

/* The labels of one result; a result without labels may come before any
 * label was stored, when the array is still NULL (and NULL + 0 is
 * undefined). */
static const struct mg_label *result_labels(const struct mg_rules *r,
                                            const struct result *res)
{
    return res->n ? r->res_labels + res->first : NULL;
}

/* The alerts' label sets for every result (owned strings in all), hashed
 * in sets. Returns 0, -ENOMEM (nothing left to free) or -EEXIST when two
 * results have one label set once the rule's labels are applied. */
static int alert_sets(struct mg_rules *r, const struct rule *ru, struct mg_label *all,
                      struct lset *sets)
{
    size_t used = 0, i;
    int rc = 0;
    for (i = 0; i < r->nres; i++) {
        const struct result *res = &r->res[i];
        ssize_t n = alert_labels(r->env, ru, result_labels(r, res), res->n, res->value,
                                 all + used);
        if (n < 0) {
            rc = -ENOMEM;
            break;
        }
        sets[i] = (struct lset){mg_labels_hash(all + used, (size_t)n), all + used, (size_t)n};
        used += (size_t)n;
    }
    if (!rc) {
        struct lset *sorted = mg_malloc((r->nres ? r->nres : 1) * sizeof(*sorted));
        if (!sorted) {
            rc = -ENOMEM;
        } else {
            memcpy(sorted, sets, r->nres * sizeof(*sets));
            if (mg_rules_has_duplicate(sorted, r->nres))
                rc = -EEXIST;
            free(sorted);
        }
    }
    if (rc)
        labels_free(all, used);
    return rc;
}

/* The alert for label set v (its strings taken), found or new. NULL on
 * ENOMEM, with v freed. */
static struct mg_alert *alert_for(struct rule *ru, struct lset *set, int64_t now)
{
    struct mg_alert *a = find_alert(ru, set->h, set->v, set->n);
    if (a && a->state != MG_ALERT_INACTIVE) {
        labels_free(set->v, set->n);
        return a;
    }
    if (a) { /* resolved, and back: a new alert, as in Prometheus */
        mg_rules_alert_free(a);
        *a = ru->alerts[--ru->nalerts];
    }
    if (ru->nalerts == ru->capalerts) {
        size_t cap = ru->capalerts ? ru->capalerts * 2 : 8;
        struct mg_alert *na = mg_realloc(ru->alerts, cap * sizeof(*na));
        if (!na) {
            labels_free(set->v, set->n);
            return NULL;
        }
        ru->alerts = na;
        ru->capalerts = cap;
    }
    struct mg_label *labels = mg_malloc((set->n ? set->n : 1) * sizeof(*labels));
    if (!labels) {
        labels_free(set->v, set->n);
        return NULL;
    }
    memcpy(labels, set->v, set->n * sizeof(*labels));
    a = &ru->alerts[ru->nalerts++];
    memset(a, 0, sizeof(*a));
    a->rule = ru->name;
    a->labels = labels;
    a->nlabels = set->n;
    a->hash = set->h;
    a->state = MG_ALERT_PENDING;
    a->active_at = now;
    return a;
}

/* One alert's state after an evaluation; 0 when it is to be forgotten. */
static int alert_step(const struct rule *ru, struct mg_alert *a, int64_t now,
                      int64_t span)
{
    if (!a->seen) {
        if (a->state == MG_ALERT_PENDING)
            return 0; /* never fired: it just goes */
        if (a->state == MG_ALERT_FIRING) {
            if (ru->keep_firing_ms && !a->keep_firing_since)
                a->keep_firing_since = now;
            if (!ru->keep_firing_ms || now - a->keep_firing_since >= ru->keep_firing_ms) {
                a->state = MG_ALERT_INACTIVE;
                a->resolved_at = now;
            }
        } else if (now - a->resolved_at >= RESOLVED_RETENTION_MS) {
            return 0;
        }
    } else if (a->state == MG_ALERT_FIRING && now - a->active_at < ru->for_ms) {
        /* a reload raised `for` past this alert's age: it waits again */
        a->state = MG_ALERT_PENDING;
        a->fired_at = 0;
        a->last_sent = 0;
    } else if (a->state == MG_ALERT_PENDING && now - a->active_at >= ru->for_ms) {
        a->state = MG_ALERT_FIRING;
        a->fired_at = now;
    }
    if (a->state == MG_ALERT_FIRING)
        a->valid_until = now + 4 * span;
    return 1;
}

/* Prometheus's state machine for one evaluation of an alert rule. Returns
 * 0; -EEXIST (duplicate label sets: nothing changed); -E2BIG with the
 * count in *active when more alerts are active than limit (all are
 * dropped, as Prometheus does); or -ENOMEM when a result's alert could not
 * be kept or annotated (the others are evaluated all the same). */
static int alert_eval(struct mg_rules *r, struct rule *ru, int64_t now, int64_t span,
                      size_t limit, size_t *active)
{
    size_t total = 0;
    for (size_t i = 0; i < r->nres; i++)
        total += r->res[i].n + ru->nlabels + 1;
    struct mg_label *all = mg_malloc((total ? total : 1) * sizeof(*all));
    struct lset *sets = mg_malloc((r->nres ? r->nres : 1) * sizeof(*sets));
    int rc = all && sets ? alert_sets(r, ru, all, sets) : -ENOMEM;
    if (rc) {
        free(all);
        free(sets);
        return rc;
    }
    for (size_t i = 0; i < ru->nalerts; i++)
        ru->alerts[i].seen = 0;
    for (size_t i = 0; i < r->nres; i++) {
        struct mg_alert *a = alert_for(ru, &sets[i], now);
        if (!a) {
            rc = -ENOMEM;
            continue;
        }
        a->seen = 1;
        a->value = r->res[i].value;
        a->keep_firing_since = 0;
        if (annotate(r->env, ru, a, result_labels(r, &r->res[i]), r->res[i].n))
            rc = -ENOMEM;
    }
    free(all);
    free(sets);
    size_t k = 0;
    *active = 0;
    for (size_t i = 0; i < ru->nalerts; i++) {
        struct mg_alert *a = &ru->alerts[i];
        if (!alert_step(ru, a, now, span)) {
            mg_rules_alert_free(a);
            continue;
        }
        if (a->state != MG_ALERT_INACTIVE)
            (*active)++;
        ru->alerts[k++] = *a;
    }
    ru->nalerts = k;
    if (limit && *active > limit) {
        for (size_t i = 0; i < ru->nalerts; i++)
            mg_rules_alert_free(&ru->alerts[i]);
        ru->nalerts = 0;
        return -E2BIG;
    }
    return rc;
}

/* ALERTS and ALERTS_FOR_STATE for the pending and firing alerts. */
static void alert_series(struct mg_rules *r, const struct rule *ru)
{
    for (size_t i = 0; i < ru->nalerts; i++) {
        const struct mg_alert *a = &ru->alerts[i];
        if (a->state == MG_ALERT_INACTIVE)
            continue;
        struct mg_label v[a->nlabels + 1];
        memcpy(v, a->labels, a->nlabels * sizeof(*v));
        write_series(r, "ALERTS_FOR_STATE", v, a->nlabels, (double)a->active_at / 1000.0,
                     "The time each pending or firing alert became active.");
        memcpy(v, a->labels, a->nlabels * sizeof(*v));
        v[a->nlabels] = (struct mg_label){"alertstate",
                                          a->state == MG_ALERT_FIRING ? "firing" : "pending", 10,
                                          a->state == MG_ALERT_FIRING ? 6 : 7};
        write_series(r, "ALERTS", v, a->nlabels + 1, 1, "Pending and firing alerts.");
    }
}

/* The series a rule wrote stay this evaluation (it failed, or its group
 * is not due): a recording rule's by name, an alert rule's ALERTS by
 * writing them again. */
static void keep_written_by(struct mg_rules *r, const struct rule *ru)
{
    if (ru->alert) {
        alert_series(r, ru);
        return;
    }
    for (size_t k = 0; k < r->nw; k++)
        if (strcmp(r->w[k].name, ru->name) == 0)
            r->w[k].mark = 1;
}

/* The rule's evaluation failed: health "err", its last error, a count. */
static void rule_failed(struct rule *ru, const struct mg_rules_env *env, const char *why)
{
    ru->failed = 1;
    snprintf(ru->last_error, sizeof(ru->last_error), "%s", why);
    mg_stats_map_add(&env->stats->rule_failures, ru->name, strlen(ru->name), 1);
    mg_log(MG_LOG_WARN, "rule evaluation failed", "rule", ru->name, "err", why, NULL);
}

/* What came of an evaluation that ran, into the rule's state. Returns 0,
 * or the -errno of alert_eval or record (the rule failed). */
static int rule_apply(struct mg_rules *r, struct rule *ru, const struct mg_rules_env *env,
                      int64_t now_ms, size_t limit)
{
    char why[160];
    size_t active = 0;
    int rc;
    if (ru->alert) {
        int64_t span = env->resend_ms > 0 ? env->resend_ms : 60000;
        if ((int64_t)(env->interval * 1000) > span)
            span = (int64_t)(env->interval * 1000);
        rc = alert_eval(r, ru, now_ms, span, limit, &active);
    } else {
        rc = record(r, ru, limit);
        active = r->nres;
    }
    if (!rc)
        return 0;
    if (rc == -EEXIST)
        snprintf(why, sizeof(why), "vector contains metrics with the same labelset "
                 "after applying %s labels", ru->alert ? "alert" : "rule");
    else if (rc == -E2BIG)
        snprintf(why, sizeof(why), "exceeded limit of %zu with %zu %s", limit, active,
                 ru->alert ? "alerts" : "series");
    else
        snprintf(why, sizeof(why), "out of memory: some %s were not kept",
                 ru->alert ? "alerts" : "series");
    rule_failed(ru, env, why);
    return rc;
}

/* Which groups evaluate at now: each on its own interval, at the first
 * tick at or past it (half a tick of slack for the timer's jitter). */
static void groups_due(struct mg_rules *r, const struct mg_rules_env *env, int64_t now_ms)
{
    int64_t slack = (int64_t)(env->interval * 500);
    for (size_t f = 0; f < r->nfiles; f++) {
        struct group *g = &r->groups[f];
        g->due = !g->interval_ms || !g->last_ms || now_ms - g->last_ms + slack >= g->interval_ms;
        if (g->due)
            g->last_ms = now_ms;
    }
}

void mg_rules_eval(struct mg_rules *r, const struct mg_rules_env *env,
                   int64_t now_ms)
{
    double t0 = mg_mono_seconds();
    r->query = env->query;
    r->store = env->store;
    r->env = env;
    lua_State *L = mg_lua_state(r->lua);
    groups_due(r, env, now_ms);
    for (size_t i = 0; i < r->nrules; i++) {
        struct rule *ru = &r->rules[i];
        const struct group *g = &r->groups[ru->group];
        if (!g->due) {
            /* not this tick: what it wrote stays */
            keep_written_by(r, ru);
            continue;
        }
        double t1 = mg_mono_seconds();
        r->nres = 0;
        r->nres_labels = 0;
        r->now_ms = now_ms - g->offset_ms;
        mg_lbuild_reset(&r->strings);
        lua_pushcfunction(L, l_eval);
        lua_pushlightuserdata(L, r);
        lua_pushlightuserdata(L, ru);
        char why[MG_WHY_LEN * 2];
        ru->evaluated = 1;
        ru->last_eval_ms = now_ms;
        ru->failed = 0;
        ru->last_error[0] = '\0';
        if (mg_lua_call(r->lua, 2, 0, why, sizeof(why))) {
            why[strcspn(why, "\n")] = '\0';
            rule_failed(ru, env, why);
        } else {
            int rc = rule_apply(r, ru, env, now_ms, g->limit);
            /* the alerts that fit memory are kept and sent all the same */
            if (ru->alert && (rc == 0 || rc == -ENOMEM))
                mg_rules_notify(ru, env, now_ms);
        }
        if (ru->failed || ru->alert)
            keep_written_by(r, ru); /* a failed rule's series stay as they were */
        ru->eval_seconds = mg_mono_seconds() - t1;
    }
    sweep_written(r);
    r->last_eval_ms = now_ms;
    r->interval = env->interval;
    r->eval_seconds = mg_mono_seconds() - t0;
    mg_stats_observe_rule_eval(env->stats, r->eval_seconds);
}

void mg_rules_adopt(struct mg_rules *r, struct mg_rules *old)
{
    if (!old)
        return;
    for (size_t i = 0; i < r->nrules; i++) {
        struct rule *ru = &r->rules[i];
        for (size_t k = 0; k < old->nrules; k++) {
            struct rule *o = &old->rules[k];
            if (o->alert != ru->alert || strcmp(o->name, ru->name) != 0 || !o->alerts)
                continue;
            ru->alerts = o->alerts;
            ru->nalerts = o->nalerts;
            ru->capalerts = o->capalerts;
            for (size_t j = 0; j < ru->nalerts; j++)
                ru->alerts[j].rule = ru->name;
            o->alerts = NULL;
            o->nalerts = o->capalerts = 0;
            break;
        }
    }
    /* what the old rules wrote is ours to remove if nobody writes it */
    r->w = old->w;
    r->nw = old->nw;
    r->capw = old->capw;
    old->w = NULL;
    old->nw = old->capw = 0;
    mg_rules_wmap_rebuild(r);
}

size_t mg_rules_alert_count(const struct mg_rules *r)
{
    size_t n = 0;
    for (size_t i = 0; r && i < r->nrules; i++)
        n += r->rules[i].nalerts;
    return n;
}

const struct mg_alert *mg_rules_alert_at(const struct mg_rules *r, size_t i)
{
    for (size_t k = 0; k < r->nrules; k++) {
        if (i < r->rules[k].nalerts)
            return &r->rules[k].alerts[i];
        i -= r->rules[k].nalerts;
    }
    return NULL;
}

