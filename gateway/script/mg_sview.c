/* mg_sview: s and s.labels as views over the pipeline's label builder. */
#include "mg_sview.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "mg_common.h"
#include "mg_labels.h"
#include "mg_lua.h"
#include "mg_suggest.h"
#include "mg_utf8.h"

/* What s.labels is in this call: not read yet, the view, or a table the
 * script assigned (read back when s is returned). */
enum { SV_NONE, SV_PROXY, SV_TABLE };

/* The slots table is held by a registry ref (an array read, not a hash
 * lookup). Its array holds a table assigned to s.labels, s.source, a
 * staged s.help string and the last s.name; writing its array never
 * allocates. */
enum { SLOT_LABELS = 1, SLOT_SOURCE, SLOT_HELP, SLOT_NAME, SLOT_KEYS, NSLOTS = SLOT_NAME };

/* The fields of s, in the order pairs(s) gives them. */
enum { F_NAME, F_TYPE, F_LABELS, F_SOURCE, F_SCALE, F_TTL, F_HELP, NFIELDS };
static const char *const fields[] = {"name",  "type", "labels", "source",
                                     "scale", "ttl",  "help",   NULL};
_Static_assert(sizeof(((struct mg_sview *)0)->field_key) / sizeof(const char *) == NFIELDS,
               "one interned key per field");
static const int field_type[] = {LUA_TSTRING, LUA_TSTRING, LUA_TTABLE, LUA_TTABLE,
                                 LUA_TNUMBER, LUA_TNUMBER, LUA_TSTRING};
static const int field_optional[] = {0, 0, 0, 0, 1, 1, 1};

/* What this call set on s: 0 untouched, STAGED_VALUE, STAGED_NIL. */
enum { STAGED_VALUE = 1, STAGED_NIL };

const char *mg_help_invalid(const char *t, size_t n)
{
    if (n == 0)
        return "must not be empty";
    if (n > MG_HELP_MAX)
        return "longer than 4096 bytes";
    if (memchr(t, '\0', n))
        return "holds a NUL byte";
    if (!mg_utf8_valid(t, n))
        return "is not UTF-8";
    return NULL;
}

static struct mg_sview *view(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* Pushes slot i of the slots table (upvalue 2 of every metamethod). */
static void slot_get(lua_State *L, int i)
{
    lua_rawgeti(L, lua_upvalueindex(2), i);
}

/* Sets slot i to the value on top, popping it. */
static void slot_set(lua_State *L, int i)
{
    lua_rawseti(L, lua_upvalueindex(2), i);
}

/* Lua 5.4 interns every string up to 40 bytes, so a key equal to a field
 * name is the very string anchored by l_init: one pointer compare each. */
static int field_of(const struct mg_sview *v, const char *k)
{
    for (int i = 0; i < NFIELDS; i++)
        if (v->field_key[i] == k)
            return i;
    return -1;
}

/* A view is a light userdata whose value names its call and its kind: the
 * top bit set (no pointer a script could be handed has it on 64-bit
 * machines), the call's number, and the kind in the low two bits. A view
 * costs no allocation and no collection, and one kept past its call names
 * an earlier call, so it is refused instead of showing another series. */
#define VIEW_TAG ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))
enum { KIND_S = 1, KIND_LABELS = 2 };

static void *view_token(uint64_t call, int kind)
{
    return (void *)(VIEW_TAG | (uintptr_t)(call << 2) | (uintptr_t)kind);
}

/* Which view the value at idx is, of any call: 0 none, 's' s, 'l' an
 * s.labels. */
static int view_kind(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TLIGHTUSERDATA)
        return 0;
    uintptr_t t = (uintptr_t)lua_touserdata(L, idx);
    if (!(t & VIEW_TAG))
        return 0;
    return (t & 3) == KIND_S ? 's' : (t & 3) == KIND_LABELS ? 'l' : 0;
}

/* lua_touserdata alone tells: a full userdata's block is an address,
 * which never has the tag bit, and any other value reads NULL. */
static int is_live(lua_State *L, int idx, const void *live)
{
    return live != NULL && lua_touserdata(L, idx) == live;
}

static int stale(lua_State *L, const char *what)
{
    return luaL_error(L, "transform: this %s is from a transform call that has "
                      "returned: keep the values you need, not %s", what, what);
}

static int is_name_label(const char *k, size_t kl)
{
    return kl == 8 && memcmp(k, "__name__", 8) == 0;
}

/* The series' name, as a new string. */
static void push_name_copy(lua_State *L, const struct mg_sview *v)
{
    const struct mg_label *n = mg_lbuild_get(v->lb, "__name__", 8);
    lua_pushlstring(L, n ? n->value : "", n ? n->vlen : 0);
}

/* s.name, in a metamethod (the slots table is its upvalue). New series
 * come in runs of one metric (a producer's batch, a histogram's buckets),
 * so the last name's string, anchored in its slot, is compared first: its
 * bytes instead of Lua's hash and intern lookup. */
static void push_name(lua_State *L, struct mg_sview *v)
{
    const struct mg_label *n = mg_lbuild_get(v->lb, "__name__", 8);
    const char *name = n ? n->value : "";
    size_t len = n ? n->vlen : 0;
    if (v->last_name && len == v->last_name_len &&
        mg_label_bytes_eq(name, v->last_name, len)) {
        slot_get(L, SLOT_NAME);
        return;
    }
    v->last_name = lua_pushlstring(L, name, len);
    v->last_name_len = len;
    lua_pushvalue(L, -1);
    slot_set(L, SLOT_NAME);
}

/* s.labels: the call's view, or the table a script assigned. */
static void push_labels(lua_State *L, struct mg_sview *v)
{
    if (v->labels_kind == SV_TABLE) {
        slot_get(L, SLOT_LABELS);
        return;
    }
    v->labels_kind = SV_PROXY;
    lua_pushlightuserdata(L, v->labels);
}

/* s.source: a plain table of the producer's labels, made on first read. */
static void push_source(lua_State *L, struct mg_sview *v)
{
    if (v->source_made) {
        slot_get(L, SLOT_SOURCE);
        return;
    }
    lua_createtable(L, 0, (int)v->nsource);
    for (size_t i = 0; i < v->nsource; i++) {
        lua_pushlstring(L, v->source[i].name, v->source[i].nlen);
        lua_pushlstring(L, v->source[i].value, v->source[i].vlen);
        lua_rawset(L, -3);
    }
    v->source_made = 1;
    lua_pushvalue(L, -1);
    slot_set(L, SLOT_SOURCE);
}

static void push_field(lua_State *L, struct mg_sview *v, int f)
{
    switch (f) {
    case F_NAME:
        push_name(L, v);
        return;
    case F_TYPE:
        lua_pushstring(L, v->type);
        return;
    case F_LABELS:
        push_labels(L, v);
        return;
    case F_SOURCE:
        push_source(L, v);
        return;
    case F_SCALE:
        if (v->stage_scale)
            v->stage_scale == STAGED_VALUE ? lua_pushnumber(L, v->staged.scale)
                                           : lua_pushnil(L);
        else
            v->cur.scale != 1 ? lua_pushnumber(L, v->cur.scale) : lua_pushnil(L);
        return;
    case F_TTL:
        if (v->stage_ttl)
            v->stage_ttl == STAGED_VALUE ? lua_pushnumber(L, (double)v->staged.ttl_ms / 1000)
                                         : lua_pushnil(L);
        else
            v->cur.ttl_ms >= 0 ? lua_pushnumber(L, (double)v->cur.ttl_ms / 1000)
                               : lua_pushnil(L);
        return;
    case F_HELP:
        if (v->stage_help == STAGED_VALUE)
            slot_get(L, SLOT_HELP);
        else if (!v->stage_help && v->cur.help_set)
            lua_pushlstring(L, v->cur.help, v->cur.help_len);
        else
            lua_pushnil(L);
        return;
    }
    lua_pushnil(L);
}

/* s's __index: unknown keys read nil. */
static int s_index(lua_State *L, struct mg_sview *v)
{
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    push_field(L, v, k ? field_of(v, k) : -1);
    return 1;
}

/* Checks the value of s.f at index 3 (its type is checked) and stages or
 * applies it. */
static void set_field(lua_State *L, struct mg_sview *v, int f)
{
    int isnil = lua_isnil(L, 3);
    switch (f) {
    case F_NAME: {
        size_t nl;
        const char *name = lua_tolstring(L, 3, &nl);
        if (!mg_metric_name_valid(name, nl))
            luaL_error(L, "transform: %s is not a valid metric name", name);
        if (mg_lbuild_set(v->lb, "__name__", 8, name, nl))
            luaL_error(L, "out of memory");
        return;
    }
    case F_TYPE:
        if (strcmp(lua_tostring(L, 3), v->type) != 0)
            luaL_error(L, "transform: cannot change a series' type");
        return;
    case F_LABELS: {
        if (is_live(L, 3, v->labels)) { /* the view, back */
            v->labels_kind = SV_PROXY;
            return;
        }
        int kind = view_kind(L, 3);
        if (kind == 'l')
            stale(L, "s.labels");
        if (kind == 's')
            luaL_error(L, "transform: s.labels must be a table of labels, not a view of s");
        if (!lua_istable(L, 3))
            luaL_error(L, "transform: s.labels must be a table, got %s", luaL_typename(L, 3));
        lua_pushvalue(L, 3);
        slot_set(L, SLOT_LABELS);
        v->labels_kind = SV_TABLE;
        return;
    }
    case F_SOURCE: /* read-only in effect: kept for reads, never applied */
        lua_pushvalue(L, 3);
        slot_set(L, SLOT_SOURCE);
        v->source_made = 1;
        return;
    case F_SCALE: {
        double sc = lua_tonumber(L, 3);
        if (!isnil && (!(sc > 0) || isinf(sc)))
            luaL_error(L, "transform: scale must be a positive number");
        v->staged.scale = sc;
        v->stage_scale = isnil ? STAGED_NIL : STAGED_VALUE;
        return;
    }
    case F_TTL: {
        double ttl = lua_tonumber(L, 3);
        if (!isnil && (!(ttl >= 0) || ttl > 4e8))
            luaL_error(L, "transform: ttl must be seconds >= 0");
        v->staged.ttl_ms = (int64_t)(ttl * 1000);
        v->stage_ttl = isnil ? STAGED_NIL : STAGED_VALUE;
        return;
    }
    case F_HELP: {
        size_t hl = 0;
        const char *h = isnil ? NULL : lua_tolstring(L, 3, &hl);
        const char *bad = h ? mg_help_invalid(h, hl) : NULL;
        if (bad)
            luaL_error(L, "transform: help %s", bad);
        lua_pushvalue(L, 3);
        slot_set(L, SLOT_HELP);
        v->stage_help = isnil ? STAGED_NIL : STAGED_VALUE;
        return;
    }
    }
}

/* s's __newindex: a misspelt field or a value of the wrong type is an
 * error at the line of the assignment, not a field the pipeline silently
 * never reads. */
static int s_newindex(lua_State *L, struct mg_sview *v)
{
    char msg[160];
    size_t kl = 0;
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &kl) : NULL;
    if (!k)
        return luaL_error(L, "transform: s has no %s keys", luaL_typename(L, 2));
    int f = field_of(v, k);
    if (f < 0 && strcmp(k, "value") == 0)
        return luaL_error(L, "transform: s.value cannot be set: a transform runs once per "
                          "new series, on_sample changes values");
    if (f < 0)
        return luaL_error(L, "transform: s: %s",
                          mg_suggest_unknown(msg, sizeof(msg), k, kl, fields));
    int t = lua_type(L, 3);
    if (f == F_LABELS && t == LUA_TLIGHTUSERDATA)
        t = LUA_TTABLE; /* a view: set_field tells which */
    if (t != field_type[f] && !(t == LUA_TNIL && field_optional[f]))
        return luaL_error(L, "transform: s.%s must be a %s, got %s", k,
                          lua_typename(L, field_type[f]), luaL_typename(L, 3));
    set_field(L, v, f);
    return 0;
}

/* For pairs on a proxy: walks a snapshot table, so a script may set or
 * clear fields of the proxy while it walks. */
static int l_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE); /* a script may call it on anything */
    lua_settop(L, 2);
    if (lua_next(L, 1))
        return 2;
    lua_pushnil(L);
    return 1;
}

static int return_walk(lua_State *L)
{
    lua_pushcfunction(L, l_next);
    lua_insert(L, -2);
    lua_pushnil(L);
    return 3;
}

static int s_pairs(lua_State *L, struct mg_sview *v)
{
    lua_createtable(L, 0, NFIELDS);
    for (int f = 0; f < NFIELDS; f++) {
        push_field(L, v, f);
        lua_setfield(L, -2, fields[f]);
    }
    return return_walk(L);
}

/* s.labels' __index: __name__ is s.name, not a label. */
static int l_index(lua_State *L, struct mg_sview *v)
{
    size_t kl = 0;
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &kl) : NULL;
    const struct mg_label *l =
        k && !is_name_label(k, kl) ? mg_lbuild_get(v->lb, k, kl) : NULL;
    if (l)
        lua_pushlstring(L, l->value, l->vlen);
    else
        lua_pushnil(L);
    return 1;
}

/* Checks one label a script sets (name at ki, value at vi) and applies it;
 * NULL, or what is wrong with it in msg. Labels starting with __ are
 * scratch a relabel may have left: they go at the end of the pipeline, not
 * here. */
static const char *set_label(lua_State *L, struct mg_sview *v, int ki, int vi,
                             char *msg, size_t len)
{
    if (lua_type(L, ki) != LUA_TSTRING) {
        snprintf(msg, len, "s.labels must map strings to strings, not a %s key",
                 luaL_typename(L, ki));
        return msg;
    }
    size_t kl, vl = 0;
    const char *k = lua_tolstring(L, ki, &kl);
    if (!mg_label_name_valid(k, kl) || kl > MG_LABEL_NAME_MAX || is_name_label(k, kl)) {
        snprintf(msg, len, "%.*s is not a valid label name", (int)(kl > 80 ? 80 : kl), k);
        return msg;
    }
    int t = lua_type(L, vi);
    if (t != LUA_TSTRING && t != LUA_TNIL) {
        snprintf(msg, len, "s.labels.%s must be a string, got %s", k,
                 luaL_typename(L, vi));
        return msg;
    }
    const char *val = t == LUA_TNIL ? "" : lua_tolstring(L, vi, &vl);
    if (!mg_utf8_valid(val, vl)) {
        snprintf(msg, len, "label %s is not UTF-8", k);
        return msg;
    }
    /* the builder is outside the state's memory cap: its copies and its
     * scan are paid from the call's budget, or one series could hold
     * gigabytes of labels (and take seconds past the deadline) */
    mg_lua_charge_work(L, "s.labels", v->lb->n, kl + vl);
    if (mg_lbuild_set(v->lb, k, kl, val, vl)) /* "" deletes */
        luaL_error(L, "out of memory");
    return NULL;
}

static int l_newindex(lua_State *L, struct mg_sview *v)
{
    char msg[256];
    if (set_label(L, v, 2, 3, msg, sizeof(msg)))
        return luaL_error(L, "transform: %s", msg);
    return 0;
}

static int l_pairs(lua_State *L, struct mg_sview *v)
{
    mg_lua_charge_work(L, "pairs", v->lb->n, 0); /* a copy the hook never sees */
    lua_createtable(L, 0, (int)v->lb->n);
    for (size_t i = 0; i < v->lb->n; i++) {
        const struct mg_label *l = &v->lb->v[i];
        if (is_name_label(l->name, l->nlen))
            continue;
        lua_pushlstring(L, l->name, l->nlen);
        lua_pushlstring(L, l->value, l->vlen);
        lua_rawset(L, -3);
    }
    return return_walk(L);
}

/* The metamethods of every light userdata in the state: each sends the
 * call's s or s.labels to its own, and refuses any other view. */
typedef int (*view_fn)(lua_State *L, struct mg_sview *v);

static int dispatch(lua_State *L, view_fn on_s, view_fn on_labels)
{
    struct mg_sview *v = view(L);
    const void *t = lua_touserdata(L, 1);
    if (t != NULL && t == v->s)
        return on_s(L, v);
    if (t != NULL && t == v->labels)
        return on_labels(L, v);
    return stale(L, view_kind(L, 1) == 'l' ? "s.labels" : "s");
}

static int l_view_index(lua_State *L)
{
    return dispatch(L, s_index, l_index);
}

static int l_view_newindex(lua_State *L)
{
    return dispatch(L, s_newindex, l_newindex);
}

static int l_view_pairs(lua_State *L)
{
    return dispatch(L, s_pairs, l_pairs);
}

static void set_view_meta(lua_State *L, struct mg_sview *v)
{
    static const char *const names[] = {"__index", "__newindex", "__pairs"};
    static const lua_CFunction fns[] = {l_view_index, l_view_newindex, l_view_pairs};
    lua_pushlightuserdata(L, NULL);
    lua_createtable(L, 0, 4);
    for (int i = 0; i < 3; i++) {
        lua_pushlightuserdata(L, v);
        lua_rawgeti(L, LUA_REGISTRYINDEX, v->slots);
        lua_pushcclosure(L, fns[i], 2);
        lua_setfield(L, -2, names[i]);
    }
    /* getmetatable(s) cannot reach it: no script unguards later series */
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

static int l_init(lua_State *L)
{
    struct mg_sview *v = lua_touserdata(L, 1);
    lua_createtable(L, NSLOTS + NFIELDS, 0);
    for (int f = 0; f < NFIELDS; f++) { /* anchored: their addresses stay */
        v->field_key[f] = lua_pushstring(L, fields[f]);
        lua_rawseti(L, -2, SLOT_KEYS + f);
    }
    v->slots = luaL_ref(L, LUA_REGISTRYINDEX);
    set_view_meta(L, v);
    return 0;
}

int mg_sview_init(lua_State *L, struct mg_sview *v)
{
    lua_pushcfunction(L, l_init);
    lua_pushlightuserdata(L, v);
    if (lua_pcall(L, 1, 0, 0) == LUA_OK)
        return 0;
    lua_pop(L, 1);
    return -1;
}

void mg_sview_begin(lua_State *L, struct mg_sview *v)
{
    v->call++;
    v->s = view_token(v->call, KIND_S);
    v->labels = view_token(v->call, KIND_LABELS);
    lua_pushlightuserdata(L, v->s);
    v->labels_kind = SV_NONE;
    v->source_made = 0;
    v->stage_scale = v->stage_ttl = v->stage_help = 0;
}

void mg_sview_end(struct mg_sview *v)
{
    v->s = NULL;
    v->labels = NULL;
}

/* An error about what a transform returned, placed at the transform. */
static int terr(lua_State *L, const char *where, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    lua_pushfstring(L, "%s: transform: %s", where, msg);
    return lua_error(L);
}

/* Replaces every label but the name with the table at t's. */
static void read_labels(lua_State *L, struct mg_sview *v, int t, const char *where)
{
    t = lua_absindex(L, t);
    push_name_copy(L, v); /* the reset below frees the builder's copy */
    size_t nl;
    const char *name = lua_tolstring(L, -1, &nl);
    mg_lbuild_reset(v->lb);
    if (mg_lbuild_set(v->lb, "__name__", 8, name, nl))
        luaL_error(L, "out of memory");
    lua_pop(L, 1);
    char msg[256];
    lua_pushnil(L);
    while (lua_next(L, t)) {
        int top = lua_gettop(L);
        if (set_label(L, v, top - 1, top, msg, sizeof(msg)))
            terr(L, where, "%s", msg);
        lua_pop(L, 1);
    }
}

static void commit(lua_State *L, struct mg_sview *v)
{
    if (v->stage_scale == STAGED_VALUE)
        v->cur.scale = v->staged.scale;
    if (v->stage_ttl == STAGED_VALUE)
        v->cur.ttl_ms = v->staged.ttl_ms;
    if (v->stage_help == STAGED_NIL)
        v->cur.help_set = 0;
    if (v->stage_help == STAGED_VALUE) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, v->slots);
        lua_rawgeti(L, -1, SLOT_HELP);
        const char *h = lua_tolstring(L, -1, &v->cur.help_len);
        memcpy(v->cur.help, h, v->cur.help_len);
        v->cur.help_set = 1;
        lua_pop(L, 2);
    }
}

/* s itself came back: its writes were checked as they happened. */
static int finish_proxy(lua_State *L, struct mg_sview *v, const char *where)
{
    if (v->labels_kind == SV_TABLE) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, v->slots);
        lua_rawgeti(L, -1, SLOT_LABELS);
        read_labels(L, v, -1, where);
        lua_pop(L, 2);
    }
    commit(L, v);
    return 1;
}

/* Pushes r[k] read raw, as the keys were checked: a metamethod would run
 * script code outside the script, and errors there would have no line. */
static int rawfield(lua_State *L, int r, const char *k)
{
    lua_pushstring(L, k);
    return lua_rawget(L, r);
}

/* A table of the script's own came back: every field is read and checked. */
static int finish_table(lua_State *L, struct mg_sview *v, int r, const char *where)
{
    char kwhy[MG_WHY_LEN];
    lua_pushliteral(L, "value");
    int tv = lua_rawget(L, r);
    lua_pop(L, 1);
    if (tv != LUA_TNIL)
        return terr(L, where, "s.value cannot be set: a transform runs once per new "
                    "series, on_sample changes values");
    if (mg_lua_check_keys(L, r, fields, "s", kwhy, sizeof(kwhy)))
        return terr(L, where, "%s (a transform sets name, labels, scale, ttl)", kwhy);
    if (rawfield(L, r, "name") != LUA_TSTRING)
        return terr(L, where, "name must be a string");
    size_t nl;
    const char *name = lua_tolstring(L, -1, &nl);
    if (!mg_metric_name_valid(name, nl))
        return terr(L, where, "%s is not a valid metric name", name);
    if (mg_lbuild_set(v->lb, "__name__", 8, name, nl))
        return luaL_error(L, "out of memory");
    if (rawfield(L, r, "type") != LUA_TSTRING || strcmp(lua_tostring(L, -1), v->type))
        return terr(L, where, "cannot change a series' type");
    int lt = rawfield(L, r, "labels");
    int kind = view_kind(L, -1);
    if (kind == 'l' && !is_live(L, -1, v->labels))
        return terr(L, where, "this s.labels is from a transform call that has returned: "
                    "keep the values you need, not s.labels");
    if (kind == 's')
        return terr(L, where, "s.labels must be a table of labels, not a view of s");
    if (kind == 0 && lt != LUA_TTABLE)
        return terr(L, where, "labels must be a table");
    if (kind == 0)
        read_labels(L, v, -1, where);
    /* else the call's s.labels: already in the builder */
    int t = rawfield(L, r, "scale");
    if (t != LUA_TNIL) {
        double sc = lua_tonumber(L, -1);
        if (t != LUA_TNUMBER || !(sc > 0) || isinf(sc))
            return terr(L, where, "scale must be a positive number");
        v->cur.scale = sc;
    }
    t = rawfield(L, r, "ttl");
    if (t != LUA_TNIL) {
        double ttl = lua_tonumber(L, -1);
        if (t != LUA_TNUMBER || !(ttl >= 0) || ttl > 4e8)
            return terr(L, where, "ttl must be seconds >= 0");
        v->cur.ttl_ms = (int64_t)(ttl * 1000);
    }
    t = rawfield(L, r, "help");
    if (t == LUA_TNIL) {
        v->cur.help_set = 0; /* the script cleared it */
        return 1;
    }
    size_t hl = 0;
    const char *h = t == LUA_TSTRING ? lua_tolstring(L, -1, &hl) : NULL;
    const char *bad = h ? mg_help_invalid(h, hl) : "must be a string";
    if (bad)
        return terr(L, where, "help %s", bad);
    memcpy(v->cur.help, h, hl);
    v->cur.help_len = hl;
    v->cur.help_set = 1;
    return 1;
}

int mg_sview_finish(lua_State *L, struct mg_sview *v, int idx, const char *where)
{
    idx = lua_absindex(L, idx);
    if (!lua_toboolean(L, idx))
        return 0; /* nil or false: dropped */
    if (is_live(L, idx, v->s))
        return finish_proxy(L, v, where);
    int kind = view_kind(L, idx);
    if (kind == 's')
        return terr(L, where, "this s is from a transform call that has returned: "
                    "keep the values you need, not s");
    if (kind == 'l')
        return terr(L, where, "must return s or a table of the series, not s.labels");
    if (!lua_istable(L, idx))
        return terr(L, where, "must return the series table or nil, not a %s",
                    luaL_typename(L, idx));
    return finish_table(L, v, idx, where);
}
