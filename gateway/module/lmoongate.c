/* lmoongate: require "moongate": the core as a Lua 5.4 module, so busted
 * specs drive the real pipeline without sockets, on a clock they control.
 * Owns only the userdata wrappers; every behaviour lives in the core. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <msgpack.h>

#include "mg_buf.h"
#include "mg_config.h"
#include "mg_gateway.h"
#include "mg_relabel.h"
#include "mg_rules.h"
#include "mg_unpack.h"
#include "lm_rules.h"

#define GW_MT "moongate.gateway"
#define BUF_MT "moongate.buffer"
#define ENCODE_MAX_DEPTH 32

__attribute__((visibility("default"))) int luaopen_moongate(lua_State *L);

struct lgw {
    struct mg_gateway *gw;
    struct mg_buf out;
    struct lm_sent *sent;
};

/* ---- encode: Lua values to msgpack ---- */

static int buf_gc(lua_State *L)
{
    mg_buf_fini(luaL_checkudata(L, 1, BUF_MT));
    return 0;
}

/* A buffer owned by a userdata, so an error raised half-way frees it. */
static struct mg_buf *new_buf(lua_State *L)
{
    struct mg_buf *b = lua_newuserdatauv(L, sizeof(*b), 0);
    memset(b, 0, sizeof(*b));
    luaL_setmetatable(L, BUF_MT);
    return b;
}

static int buf_write(void *data, const char *p, size_t n)
{
    struct mg_buf *b = data;
    mg_buf_add(b, p, n);
    return b->failed ? -1 : 0;
}

/* 1 when t (at idx) is a non-empty sequence 1..n and nothing else. */
static int is_array(lua_State *L, int idx)
{
    lua_Unsigned n = lua_rawlen(L, idx), count = 0;
    if (n == 0)
        return 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    return count == n;
}

/* Keys whose values are maps whatever their keys look like: a histogram
 * with bounds 1, 2, 3 is a Lua sequence, but the wire wants a map. */
static int map_key(lua_State *L, int idx)
{
    static const char *const keys[] = {"buckets", "quantiles", "labels",
                                       "source", "dropped", NULL};
    if (lua_type(L, idx) != LUA_TSTRING)
        return 0;
    const char *k = lua_tostring(L, idx);
    for (int i = 0; keys[i]; i++)
        if (strcmp(k, keys[i]) == 0)
            return 1;
    return 0;
}

static void encode_value(lua_State *L, msgpack_packer *pk, int idx, int depth,
                         int as_map)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        msgpack_pack_nil(pk);
        break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx))
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        break;
    case LUA_TNUMBER:
        /* integers never go through a double */
        if (lua_isinteger(L, idx))
            msgpack_pack_int64(pk, lua_tointeger(L, idx));
        else
            msgpack_pack_double(pk, lua_tonumber(L, idx));
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        msgpack_pack_str(pk, n);
        msgpack_pack_str_body(pk, s, n);
        break;
    }
    case LUA_TTABLE: {
        if (depth >= ENCODE_MAX_DEPTH)
            luaL_error(L, "encode: tables nested deeper than %d (a cycle?)",
                       ENCODE_MAX_DEPTH);
        luaL_checkstack(L, 4, "encode");
        idx = lua_absindex(L, idx);
        if (!as_map && is_array(L, idx)) {
            lua_Unsigned n = lua_rawlen(L, idx);
            msgpack_pack_array(pk, (size_t)n);
            for (lua_Unsigned i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, (lua_Integer)i);
                encode_value(L, pk, -1, depth + 1, 0);
                lua_pop(L, 1);
            }
            break;
        }
        size_t n = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            n++;
        }
        msgpack_pack_map(pk, n);
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            encode_value(L, pk, -2, depth + 1, 0);
            encode_value(L, pk, -1, depth + 1, map_key(L, -2));
            lua_pop(L, 1);
        }
        break;
    }
    default:
        luaL_error(L, "encode: cannot encode a %s", luaL_typename(L, idx));
    }
}

/* Encodes the value at idx; leaves the owning userdata on the stack. */
static struct mg_buf *encode(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    struct mg_buf *b = new_buf(L);
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, buf_write);
    encode_value(L, &pk, idx, 0, 0);
    if (b->failed)
        luaL_error(L, "encode: out of memory");
    return b;
}

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    struct mg_buf *b = encode(L, 1);
    lua_pushlstring(L, b->p ? b->p : "", b->len);
    return 1;
}

/* ---- decode: msgpack to Lua values (acks, replies, tests) ---- */

static void push_object(lua_State *L, const msgpack_object *o, int depth)
{
    luaL_checkstack(L, 3, "decode");
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN: lua_pushboolean(L, o->via.boolean); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)LUA_MAXINTEGER)
            lua_pushnumber(L, (lua_Number)o->via.u64);
        else
            lua_pushinteger(L, (lua_Integer)o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: lua_pushinteger(L, (lua_Integer)o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: lua_pushnumber(L, o->via.f64); break;
    case MSGPACK_OBJECT_STR: lua_pushlstring(L, o->via.str.ptr, o->via.str.size); break;
    case MSGPACK_OBJECT_BIN: lua_pushlstring(L, o->via.bin.ptr, o->via.bin.size); break;
    case MSGPACK_OBJECT_ARRAY:
        lua_createtable(L, (int)o->via.array.size, 0);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            push_object(L, &o->via.array.ptr[i], depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    case MSGPACK_OBJECT_MAP:
        lua_createtable(L, 0, (int)o->via.map.size);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            push_object(L, &o->via.map.ptr[i].key, depth + 1);
            push_object(L, &o->via.map.ptr[i].val, depth + 1);
            if (lua_isnil(L, -2))
                lua_pop(L, 2);
            else
                lua_rawset(L, -3);
        }
        break;
    default: lua_pushnil(L); break;
    }
}

/* Decodes the first message of s: returns the value and the bytes it took,
 * or nil when s holds no whole message yet. Bounded by the default limits
 * before msgpack-c allocates anything. */
static int l_decode(lua_State *L)
{
    size_t len;
    const char *p = luaL_checklstring(L, 1, &len);
    struct mg_wire_limits lim;
    mg_wire_limits_default(&lim);
    lim.max_depth = MG_WIRE_MAX_DEPTH;
    struct mg_scan sc;
    memset(&sc, 0, sizeof(sc));
    enum mg_reason r;
    char why[MG_WHY_LEN];
    int rc = mg_wire_scan(&sc, p, len, &lim, &r, why);
    if (rc < 0)
        return luaL_error(L, "decode: %s", why);
    if (rc == 0) {
        lua_pushnil(L);
        return 1;
    }
    msgpack_zone *z = msgpack_zone_new(8192);
    if (!z)
        return luaL_error(L, "decode: out of memory");
    msgpack_object o;
    size_t off = 0;
    int ok = mg_unpack(p, sc.off, &off, z, &o);
    if (ok != MSGPACK_UNPACK_SUCCESS && ok != MSGPACK_UNPACK_EXTRA_BYTES) {
        msgpack_zone_free(z);
        return luaL_error(L, "decode: not msgpack");
    }
    /* push_object can raise (stack, memory): anchor the zone first */
    msgpack_zone **anchor = lua_newuserdatauv(L, sizeof(*anchor), 0);
    *anchor = z;
    luaL_setmetatable(L, "moongate.zone");
    push_object(L, &o, 0);
    lua_pushinteger(L, (lua_Integer)sc.off);
    return 2;
}

static int zone_gc(lua_State *L)
{
    msgpack_zone **z = luaL_checkudata(L, 1, "moongate.zone");
    if (*z)
        msgpack_zone_free(*z);
    *z = NULL;
    return 0;
}

/* ---- relabel ---- */

static void labels_from_table(lua_State *L, int idx, struct mg_lbuild *lb)
{
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
            mg_lbuild_fini(lb);
            luaL_error(L, "relabel: labels must map strings to strings");
        }
        size_t nl, vl;
        const char *n = lua_tolstring(L, -2, &nl);
        const char *v = lua_tolstring(L, -1, &vl);
        if (mg_lbuild_set(lb, n, nl, v, vl)) {
            mg_lbuild_fini(lb);
            luaL_error(L, "relabel: out of memory");
        }
        lua_pop(L, 1);
    }
}

static int l_relabel(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    char why[256];
    struct mg_lbuild lb;
    mg_lbuild_init(&lb);
    labels_from_table(L, 1, &lb); /* frees lb itself when it raises */
    struct mg_relabel *rl;
    if (mg_relabel_compile(L, 2, &rl, why, sizeof(why))) {
        mg_lbuild_fini(&lb);
        return luaL_error(L, "%s", why);
    }
    int rc = mg_relabel_apply(rl, &lb, why, sizeof(why));
    mg_relabel_free(rl);
    if (rc < 0) {
        mg_lbuild_fini(&lb);
        return luaL_error(L, "%s", why);
    }
    if (rc == 0) {
        mg_lbuild_fini(&lb);
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, (int)lb.n);
    for (size_t i = 0; i < lb.n; i++) {
        lua_pushlstring(L, lb.v[i].name, lb.v[i].nlen);
        lua_pushlstring(L, lb.v[i].value, lb.v[i].vlen);
        lua_rawset(L, -3);
    }
    mg_lbuild_fini(&lb);
    return 1;
}

/* ---- the gateway ---- */

static struct lgw *check_gw(lua_State *L)
{
    struct lgw *g = luaL_checkudata(L, 1, GW_MT);
    if (!g->gw)
        luaL_error(L, "gateway is closed");
    return g;
}

#define MAX_FILES 256

/* Reads opts[key] (a list of paths) into files; the strings stay alive in
 * the table, which stays on the stack. Returns the count, or -1 with the
 * error message pushed. */
static int file_list(lua_State *L, int idx, const char *key, const char **files)
{
    if (lua_getfield(L, idx, key) == LUA_TNIL)
        return 0;
    if (!lua_istable(L, -1) || lua_rawlen(L, -1) > MAX_FILES) {
        lua_pushfstring(L, "%s must be a list of at most %d file paths", key, MAX_FILES);
        return -1;
    }
    int n = (int)lua_rawlen(L, -1);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, -1, i + 1);
        files[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (!files[i]) {
            lua_pushfstring(L, "%s must be a list of file paths", key);
            return -1;
        }
    }
    return n;
}

/* Loads opts.scripts and opts.rules at idx into g: a reload. Returns 0
 * (also when there are none), or -1 with the error message pushed. */
static int load_scripts(lua_State *L, struct lgw *g, int idx)
{
    const char *scripts[MAX_FILES], *rules[MAX_FILES];
    int top = lua_gettop(L);
    int ns = file_list(L, idx, "scripts", scripts);
    if (ns < 0)
        return -1;
    int nr = file_list(L, idx, "rules", rules);
    if (nr < 0)
        return -1;
    char why[8192];
    int rc = mg_gateway_load(g->gw, scripts, (size_t)ns, rules, (size_t)nr, why, sizeof(why));
    lua_settop(L, top);
    if (rc < 0) {
        lua_pushstring(L, why);
        return -1;
    }
    return 0;
}

static int l_new(lua_State *L)
{
    struct mg_config cfg;
    char why[256];
    mg_config_init(&cfg);
    int64_t start = (int64_t)1700000000 * 1000;
    /* read before the userdata below lands at index 1 when there are none */
    int has_opts = !lua_isnoneornil(L, 1);
    if (has_opts) {
        luaL_checktype(L, 1, LUA_TTABLE);
        if (lua_getfield(L, 1, "config") == LUA_TTABLE &&
            mg_config_read(&cfg, L, -1, "config", why, sizeof(why))) {
            mg_config_fini(&cfg);
            return luaL_error(L, "%s", why);
        }
        lua_pop(L, 1);
        if (lua_getfield(L, 1, "start") == LUA_TNUMBER)
            start = (int64_t)(lua_tonumber(L, -1) * 1000.0);
        lua_pop(L, 1);
    }
    struct lgw *g = lua_newuserdatauv(L, sizeof(*g), 0);
    memset(g, 0, sizeof(*g));
    luaL_setmetatable(L, GW_MT);
    g->gw = mg_gateway_new(&cfg, 1, start, why, sizeof(why));
    mg_config_fini(&cfg);
    if (!g->gw)
        return luaL_error(L, "%s", why);
    if (!(g->sent = lm_sent_new(g->gw)))
        return luaL_error(L, "out of memory");
    if (has_opts && load_scripts(L, g, 1) < 0)
        return lua_error(L);
    return 1;
}

/* gw:load { scripts = {...} }: the reload of a module gateway. Returns
 * true, or false and the error; the old pipeline stays on an error. */
static int l_load(lua_State *L)
{
    struct lgw *g = check_gw(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (load_scripts(L, g, 2) < 0) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_gc(lua_State *L)
{
    struct lgw *g = luaL_checkudata(L, 1, GW_MT);
    mg_gateway_free(g->gw);
    g->gw = NULL;
    lm_sent_free(g->sent);
    g->sent = NULL;
    mg_buf_fini(&g->out);
    return 0;
}

static int l_push(lua_State *L)
{
    struct lgw *g = check_gw(L);
    const char *p;
    size_t len;
    if (lua_type(L, 2) == LUA_TSTRING) {
        p = lua_tolstring(L, 2, &len);
    } else {
        luaL_checktype(L, 2, LUA_TTABLE);
        struct mg_buf *b = encode(L, 2);
        p = b->p;
        len = b->len;
    }
    struct mg_push_result res;
    mg_push_result_reset(&res);
    mg_gateway_push_body(g->gw, p, len, MG_TRANSPORT_LUA, NULL, &res);
    lua_pushinteger(L, res.accepted);
    lua_pushinteger(L, res.rejected);
    lua_createtable(L, (int)res.nerr, 0);
    for (uint32_t i = 0; i < res.nerr; i++) {
        lua_createtable(L, 0, 3);
        if (res.err[i].index >= 0) {
            lua_pushinteger(L, res.err[i].index + 1);
            lua_setfield(L, -2, "index");
        }
        lua_pushstring(L, mg_reason_name(res.err[i].reason));
        lua_setfield(L, -2, "reason");
        lua_pushstring(L, res.err[i].detail);
        lua_setfield(L, -2, "detail");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_createtable(L, (int)res.ndrop, 0);
    for (uint32_t i = 0; i < res.ndrop; i++) {
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, res.drop[i].index + 1);
        lua_setfield(L, -2, "index");
        lua_pushstring(L, mg_reason_name(res.drop[i].reason));
        lua_setfield(L, -2, "reason");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 4;
}

static int l_expose(lua_State *L)
{
    struct lgw *g = check_gw(L);
    static const char *const formats[] = {"text", "openmetrics", NULL};
    int f = luaL_checkoption(L, 2, "text", formats);
    if (mg_gateway_render(g->gw, f ? MG_FORMAT_OPENMETRICS : MG_FORMAT_TEXT, &g->out))
        return luaL_error(L, "expose: out of memory");
    lua_pushlstring(L, g->out.p ? g->out.p : "", g->out.len);
    return 1;
}

static int l_advance(lua_State *L)
{
    struct lgw *g = check_gw(L);
    lua_Number s = luaL_checknumber(L, 2);
    luaL_argcheck(L, s >= 0 && s < 1e9, 2, "seconds must be >= 0");
    mg_gateway_advance(g->gw, s);
    return 0;
}

static int l_now(lua_State *L)
{
    struct lgw *g = check_gw(L);
    lua_pushnumber(L, (lua_Number)mg_gateway_now(g->gw) / 1000.0);
    return 1;
}

#define EXPLAIN_MAX 20

static void set_str(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

/* gw:explain(selector) -> { {input, steps = {{step, at, result}, ...},
 * output, dropped, aggregate, inputs, caps}, ... }, or nil and an error. */
static int l_explain(lua_State *L)
{
    struct lgw *g = check_gw(L);
    size_t len;
    const char *sel = luaL_checklstring(L, 2, &len);
    /* owned by a userdata: the table building below may raise */
    struct mg_explain *e = lua_newuserdatauv(L, EXPLAIN_MAX * sizeof(*e), 0);
    size_t n;
    char why[256];
    if (mg_gateway_explain(g->gw, sel, len, e, EXPLAIN_MAX, &n, why, sizeof(why))) {
        lua_pushnil(L);
        lua_pushstring(L, why);
        return 2;
    }
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 7);
        set_str(L, "input", e[i].input);
        lua_createtable(L, (int)e[i].trace.n, 0);
        for (size_t k = 0; k < e[i].trace.n; k++) {
            lua_createtable(L, 0, 3);
            set_str(L, "step", e[i].trace.v[k].step);
            set_str(L, "at", e[i].trace.v[k].at);
            set_str(L, "result", e[i].trace.v[k].result);
            lua_rawseti(L, -2, (lua_Integer)k + 1);
        }
        lua_setfield(L, -2, "steps");
        if (e[i].output[0])
            set_str(L, "output", e[i].output);
        if (e[i].dropped)
            set_str(L, "dropped", e[i].dropped);
        set_str(L, "aggregate", e[i].aggregate);
        lua_pushinteger(L, e[i].inputs);
        lua_setfield(L, -2, "inputs");
        set_str(L, "caps", e[i].caps);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
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

/* gw:alerts() -> { {name, state, labels, annotations, active_at, value},
 * ... }: pending and firing alerts, and resolved ones still remembered
 * (state "inactive"); times in seconds. */
static int l_alerts(lua_State *L)
{
    struct lgw *g = check_gw(L);
    const struct mg_rules *r = mg_gateway_rules(g->gw);
    size_t n = mg_rules_alert_count(r);
    static const char *const states[] = {"inactive", "pending", "firing"};
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        const struct mg_alert *a = mg_rules_alert_at(r, i);
        lua_createtable(L, 0, 8);
        set_str(L, "name", a->rule);
        set_str(L, "state", states[a->state]);
        push_labels(L, a->labels, a->nlabels);
        lua_setfield(L, -2, "labels");
        push_labels(L, a->annotations, a->nannotations);
        lua_setfield(L, -2, "annotations");
        lua_pushnumber(L, (lua_Number)a->active_at / 1000.0);
        lua_setfield(L, -2, "active_at");
        if (a->fired_at) {
            lua_pushnumber(L, (lua_Number)a->fired_at / 1000.0);
            lua_setfield(L, -2, "fired_at");
        }
        if (a->resolved_at) {
            lua_pushnumber(L, (lua_Number)a->resolved_at / 1000.0);
            lua_setfield(L, -2, "resolved_at");
        }
        lua_pushnumber(L, a->value);
        lua_setfield(L, -2, "value");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* gw:tick(): evaluates the rules now, whatever the clock says. */
static int l_tick(lua_State *L)
{
    struct lgw *g = check_gw(L);
    mg_gateway_rule_tick(g->gw);
    return 0;
}

/* gw:rules(): the groups and their rules, as /api/v1/rules. */
static int l_rules(lua_State *L)
{
    return lm_rules_push(L, check_gw(L)->gw);
}

/* gw:evaluate_at(t): the clock to t seconds (not back), then the rules. */
static int l_evaluate_at(lua_State *L)
{
    struct lgw *g = check_gw(L);
    lua_Number t = luaL_checknumber(L, 2);
    if (!(t >= 0 && t < 1e12) ||
        mg_gateway_evaluate_at(g->gw, (int64_t)(t * 1000.0 + 0.5)))
        return luaL_argerror(L, 2, "a time at or after gw:now()");
    return 0;
}

/* gw:notifications(): the alerts handed to the notifier since the last
 * call. */
static int l_notifications(lua_State *L)
{
    return lm_sent_push(L, check_gw(L)->sent);
}

/* gw:warnings(): the running scripts' load warnings, a list of
 * "file:line: warning: message" strings. */
static int l_warnings(lua_State *L)
{
    const char *w = mg_gateway_warnings(check_gw(L)->gw);
    lua_newtable(L);
    for (int i = 1; *w; i++) {
        size_t n = strcspn(w, "\n");
        lua_pushlstring(L, w, n);
        lua_rawseti(L, -2, i);
        w += n + (w[n] == '\n');
    }
    return 1;
}

static const luaL_Reg gw_methods[] = {
    {"warnings", l_warnings},
    {"rules", l_rules},
    {"evaluate_at", l_evaluate_at},
    {"notifications", l_notifications},
    {"push", l_push},
    {"expose", l_expose},
    {"advance", l_advance},
    {"now", l_now},
    {"load", l_load},
    {"explain", l_explain},
    {"alerts", l_alerts},
    {"tick", l_tick},
    {"close", l_gc},
    {NULL, NULL}};

static const luaL_Reg module[] = {
    {"new", l_new},
    {"encode", l_encode},
    {"decode", l_decode},
    {"relabel", l_relabel},
    {NULL, NULL}};

int luaopen_moongate(lua_State *L)
{
    luaL_newmetatable(L, BUF_MT);
    lua_pushcfunction(L, buf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, "moongate.zone");
    lua_pushcfunction(L, zone_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, GW_MT);
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__close");
    luaL_newlib(L, gw_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newlib(L, module);
    lua_pushstring(L, MG_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
