/* lm_rules: gw:rules() and the record behind gw:notifications(). */
#include "lm_rules.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "mg_gateway.h"
#include "mg_notify.h"
#include "mg_rules.h"

#define SENT_MAX 10000 /* a spec that never reads them stays bounded */

struct note {
    struct mg_label *labels, *annotations;
    size_t nlabels, nannotations;
    int64_t starts_at, ends_at, sent_at;
    char *url;
};

struct lm_sent {
    struct mg_gateway *gw;
    struct note *v;
    size_t n, cap;
};

static void labels_free(struct mg_label *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free((char *)v[i].name);
        free((char *)v[i].value);
    }
    free(v);
}

static struct mg_label *labels_copy(const struct mg_label *v, size_t n)
{
    struct mg_label *c = calloc(n ? n : 1, sizeof(*c));
    for (size_t i = 0; c && i < n; i++) {
        c[i] = (struct mg_label){strndup(v[i].name, v[i].nlen),
                                 strndup(v[i].value, v[i].vlen), v[i].nlen, v[i].vlen};
        if (!c[i].name || !c[i].value) {
            labels_free(c, i + 1);
            return NULL;
        }
    }
    return c;
}

static void note_free(struct note *t)
{
    labels_free(t->labels, t->nlabels);
    labels_free(t->annotations, t->nannotations);
    free(t->url);
}

/* The hook: copies of what was handed over; on ENOMEM a note is lost. */
static void on_sent(void *arg, const struct mg_notify_alert *a, size_t n)
{
    struct lm_sent *s = arg;
    for (size_t i = 0; i < n && s->n < SENT_MAX; i++) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            struct note *nv = realloc(s->v, cap * sizeof(*nv));
            if (!nv)
                return;
            s->v = nv;
            s->cap = cap;
        }
        struct note t = {labels_copy(a[i].labels, a[i].nlabels),
                         labels_copy(a[i].annotations, a[i].nannotations),
                         a[i].nlabels, a[i].nannotations, a[i].starts_at_ms,
                         a[i].ends_at_ms, mg_gateway_now(s->gw),
                         strdup(a[i].generator_url ? a[i].generator_url : "")};
        if (!t.labels || !t.annotations || !t.url) {
            note_free(&t);
            return;
        }
        s->v[s->n++] = t;
    }
}

struct lm_sent *lm_sent_new(struct mg_gateway *gw)
{
    struct lm_sent *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->gw = gw;
    mg_gateway_set_sent_hook(gw, on_sent, s);
    return s;
}

void lm_sent_free(struct lm_sent *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        note_free(&s->v[i]);
    free(s->v);
    free(s);
}

static void push_labels(lua_State *L, const struct mg_label *v, size_t n)
{
    lua_createtable(L, 0, (int)n);
    for (size_t i = 0; i < n; i++) {
        lua_pushlstring(L, v[i].name, v[i].nlen);
        lua_pushlstring(L, v[i].value, v[i].vlen);
        lua_rawset(L, -3);
    }
}

static void set_num(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    if (!v)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

int lm_sent_push(lua_State *L, struct lm_sent *s)
{
    lua_createtable(L, (int)s->n, 0);
    for (size_t i = 0; i < s->n; i++) {
        const struct note *t = &s->v[i];
        lua_createtable(L, 0, 6);
        push_labels(L, t->labels, t->nlabels);
        lua_setfield(L, -2, "labels");
        push_labels(L, t->annotations, t->nannotations);
        lua_setfield(L, -2, "annotations");
        set_num(L, "starts_at", (double)t->starts_at / 1000.0);
        set_num(L, "ends_at", (double)t->ends_at / 1000.0);
        set_num(L, "sent_at", (double)t->sent_at / 1000.0);
        set_str(L, "generator_url", t->url);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    /* only once the table is whole: an error above loses nothing */
    for (size_t i = 0; i < s->n; i++)
        note_free(&s->v[i]);
    s->n = 0;
    return 1;
}

static void push_rule(lua_State *L, const struct mg_rule_info *ri)
{
    lua_createtable(L, 0, 9);
    set_str(L, "name", ri->name);
    set_str(L, "type", ri->type);
    set_str(L, "health", ri->health);
    set_str(L, "last_error", ri->last_error);
    set_str(L, "state", ri->state);
    set_str(L, "query", ri->where);
    if (ri->last_eval_ms)
        set_num(L, "last_evaluation", (double)ri->last_eval_ms / 1000.0);
    set_num(L, "duration", (double)ri->for_ms / 1000.0);
    set_num(L, "keep_firing_for", (double)ri->keep_firing_ms / 1000.0);
    lua_pushinteger(L, (lua_Integer)ri->nalerts);
    lua_setfield(L, -2, "alerts");
}

int lm_rules_push(lua_State *L, const struct mg_gateway *gw)
{
    const struct mg_rules *r = mg_gateway_rules(gw);
    size_t ng = mg_rules_group_count(r), nr = mg_rules_rule_count(r);
    lua_createtable(L, (int)ng, 0);
    for (size_t g = 0; g < ng; g++) {
        struct mg_group_info gi;
        mg_rules_group_info(r, g, &gi);
        lua_createtable(L, 0, 7);
        set_str(L, "name", gi.file);
        set_str(L, "file", gi.file);
        set_num(L, "interval", (double)gi.interval_ms / 1000.0);
        set_num(L, "query_offset", (double)gi.query_offset_ms / 1000.0);
        lua_pushinteger(L, (lua_Integer)gi.limit);
        lua_setfield(L, -2, "limit");
        if (gi.last_eval_ms)
            set_num(L, "last_evaluation", (double)gi.last_eval_ms / 1000.0);
        lua_newtable(L);
        int k = 0;
        for (size_t i = 0; i < nr; i++) {
            struct mg_rule_info ri;
            mg_rules_rule_info(r, i, &ri);
            if (ri.group != g)
                continue;
            push_rule(L, &ri);
            lua_rawseti(L, -2, ++k);
        }
        lua_setfield(L, -2, "rules");
        lua_rawseti(L, -2, (lua_Integer)g + 1);
    }
    return 1;
}
