/* mg_config: defaults, the Lua config file, flags. */
#include "mg_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

void mg_config_init(struct mg_config *c)
{
    memset(c, 0, sizeof(*c));
    c->log_format = MG_LOG_LOGFMT;
    c->log_level = MG_LOG_INFO;
    c->sweep_interval = 1;
    c->rule_interval = 15;
    mg_wire_limits_default(&c->wire);
    c->max_http_body_bytes = 16u << 20;
    c->max_http_header_bytes = 16384;
    c->header_timeout = 10;
    c->idle_timeout = 300;
    c->max_connections = 1024;
    c->max_connection_buffer = 16u << 20;
    c->messages_per_wakeup = 64;
    c->history_points = 1000;
    c->notify_queue = 10000;
    c->notify_batch = 64;
    c->notify_timeout = 10;
}

void mg_config_fini(struct mg_config *c)
{
    free(c->http);
    free(c->scripts);
    free(c->rules);
    for (size_t i = 0; i < c->ningest; i++)
        free(c->ingest[i]);
    for (size_t i = 0; i < c->ntokens; i++)
        free(c->tokens[i]);
    for (size_t i = 0; i < c->nalertmanagers; i++)
        free(c->alertmanagers[i]);
    mg_config_remote_fini(c);
    memset(c, 0, sizeof(*c));
}

int mg_config_set_str(char **slot, const char *s)
{
    char *p = strdup(s);
    if (!p)
        return -ENOMEM;
    free(*slot);
    *slot = p;
    return 0;
}

int mg_config_add_ingest(struct mg_config *c, const char *addr, char *why,
                         size_t whylen)
{
    if (c->ningest == MG_MAX_INGEST) {
        snprintf(why, whylen, "more than %d ingest addresses", MG_MAX_INGEST);
        return -1;
    }
    c->ingest[c->ningest] = strdup(addr);
    if (!c->ingest[c->ningest]) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    c->ningest++;
    return 0;
}

/* A key of the config table and where its value goes. */
enum kind { K_STR, K_BOOL, K_SECONDS, K_SIZE, K_UINT, K_LOGFMT, K_LOGLEVEL,
            K_STRLIST, K_TABLE, K_REMOTE, K_EXTERNAL };
struct key {
    const char *name;
    enum kind kind;
    size_t offset;
    const struct key *sub; /* for K_TABLE */
};

#define OFF(f) offsetof(struct mg_config, f)
static const struct key limit_keys[] = {
    {"max_message_bytes", K_SIZE, OFF(wire.max_message_bytes), NULL},
    {"max_depth", K_UINT, OFF(wire.max_depth), NULL},
    {"max_objects", K_SIZE, OFF(wire.max_objects), NULL},
    {"max_metrics", K_SIZE, OFF(wire.max_metrics), NULL},
    {"max_labels", K_SIZE, OFF(wire.max_labels), NULL},
    {"max_name_len", K_SIZE, OFF(wire.max_name_len), NULL},
    {"max_value_len", K_SIZE, OFF(wire.max_value_len), NULL},
    {"max_buckets", K_SIZE, OFF(wire.max_buckets), NULL},
    {"max_http_body_bytes", K_SIZE, OFF(max_http_body_bytes), NULL},
    {"max_http_header_bytes", K_SIZE, OFF(max_http_header_bytes), NULL},
    {"header_timeout", K_SECONDS, OFF(header_timeout), NULL},
    {"idle_timeout", K_SECONDS, OFF(idle_timeout), NULL},
    {"max_connections", K_SIZE, OFF(max_connections), NULL},
    {"max_connection_buffer", K_SIZE, OFF(max_connection_buffer), NULL},
    {"messages_per_wakeup", K_UINT, OFF(messages_per_wakeup), NULL},
    {"max_history_points", K_SIZE, OFF(history_points), NULL},
    {NULL, 0, 0, NULL}};
static const struct key notify_keys[] = {
    {"queue_capacity", K_SIZE, OFF(notify_queue), NULL},
    {"batch_size", K_SIZE, OFF(notify_batch), NULL},
    {"timeout", K_SECONDS, OFF(notify_timeout), NULL},
    {NULL, 0, 0, NULL}};
static const struct key lua_keys[] = {
    {"memory_bytes", K_SIZE, OFF(lua.memory_bytes), NULL},
    {"instructions", K_SIZE, OFF(lua.instructions), NULL},
    {"seconds", K_SECONDS, OFF(lua.seconds), NULL},
    {NULL, 0, 0, NULL}};
static const struct key top_keys[] = {
    {"http", K_STR, OFF(http), NULL},
    {"ingest", K_STRLIST, OFF(ingest), NULL},
    {"scripts", K_STR, OFF(scripts), NULL},
    {"rules", K_STR, OFF(rules), NULL},
    {"push_tokens", K_STRLIST, OFF(tokens), NULL},
    {"log_format", K_LOGFMT, OFF(log_format), NULL},
    {"log_level", K_LOGLEVEL, OFF(log_level), NULL},
    {"honor_timestamps", K_BOOL, OFF(honor_timestamps), NULL},
    {"default_ttl", K_SECONDS, 0, NULL}, /* special: into wire, in ms */
    {"sweep_interval", K_SECONDS, OFF(sweep_interval), NULL},
    {"rule_interval", K_SECONDS, OFF(rule_interval), NULL},
    {"limits", K_TABLE, 0, limit_keys},
    {"alertmanagers", K_STRLIST, OFF(alertmanagers), NULL},
    {"notifications", K_TABLE, 0, notify_keys},
    {"lua", K_TABLE, 0, lua_keys},
    {"remote_write", K_REMOTE, 0, NULL},
    {"external_labels", K_EXTERNAL, 0, NULL},
    {NULL, 0, 0, NULL}};

static int set_key(lua_State *L, struct mg_config *c, const struct key *k,
                   const char *path, char *why, size_t whylen)
{
    char *base = (char *)c;
    int t = lua_type(L, -1);
    switch (k->kind) {
    case K_STR:
        if (t != LUA_TSTRING)
            goto type;
        return mg_config_set_str((char **)(base + k->offset), lua_tostring(L, -1)) ? -1 : 0;
    case K_BOOL:
        if (t != LUA_TBOOLEAN)
            goto type;
        *(int *)(base + k->offset) = lua_toboolean(L, -1);
        return 0;
    case K_SECONDS: {
        if (t != LUA_TNUMBER || lua_tonumber(L, -1) < 0)
            goto type;
        double v = lua_tonumber(L, -1);
        if (strcmp(k->name, "default_ttl") == 0)
            c->wire.default_ttl_ms = (uint32_t)(v * 1000);
        else
            *(double *)(base + k->offset) = v;
        return 0;
    }
    case K_SIZE:
    case K_UINT:
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0)
            goto type;
        if (k->kind == K_SIZE)
            *(size_t *)(base + k->offset) = (size_t)lua_tointeger(L, -1);
        else
            *(unsigned *)(base + k->offset) = (unsigned)lua_tointeger(L, -1);
        return 0;
    case K_LOGFMT:
        if (t != LUA_TSTRING)
            goto type;
        if (strcmp(lua_tostring(L, -1), "json") == 0)
            c->log_format = MG_LOG_JSON;
        else if (strcmp(lua_tostring(L, -1), "logfmt") == 0)
            c->log_format = MG_LOG_LOGFMT;
        else
            goto type;
        return 0;
    case K_LOGLEVEL: {
        static const char *const lv[] = {"debug", "info", "warn", "error"};
        for (int i = 0; t == LUA_TSTRING && i < 4; i++)
            if (strcmp(lua_tostring(L, -1), lv[i]) == 0) {
                c->log_level = (enum mg_log_level)i;
                return 0;
            }
        goto type;
    }
    case K_STRLIST: {
        int ingest = k->offset == OFF(ingest);
        if (t == LUA_TSTRING) {
            lua_newtable(L);
            lua_pushvalue(L, -2);
            lua_rawseti(L, -2, 1);
            lua_replace(L, -2);
        } else if (t != LUA_TTABLE) {
            goto type;
        }
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            if (lua_type(L, -1) != LUA_TSTRING) {
                lua_pop(L, 1);
                goto type;
            }
            const char *s = lua_tostring(L, -1);
            int rc = 0;
            if (ingest) {
                rc = mg_config_add_ingest(c, s, why, whylen);
            } else if (k->offset == OFF(alertmanagers)) {
                rc = -1;
                if (c->nalertmanagers < MG_MAX_ALERTMANAGERS &&
                    strncmp(s, "http://", 7) == 0) {
                    c->alertmanagers[c->nalertmanagers] = strdup(s);
                    rc = c->alertmanagers[c->nalertmanagers++] ? 0 : -1;
                }
            } else if (c->ntokens < MG_MAX_TOKENS) {
                c->tokens[c->ntokens] = strdup(s);
                rc = c->tokens[c->ntokens++] ? 0 : -1;
            }
            lua_pop(L, 1);
            if (rc) {
                snprintf(why, whylen, "%s: %s: too many, not http://, or out of memory",
                         path, k->name);
                return -1;
            }
        }
        return 0;
    }
    case K_TABLE:
        break;
    case K_REMOTE:
        return mg_config_read_remote(c, L, path, why, whylen);
    case K_EXTERNAL:
        return mg_config_read_external(c, L, path, why, whylen);
    }
    return 0;
type:
    snprintf(why, whylen, "%s: %s: wrong type or value", path, k->name);
    return -1;
}

static int read_table(lua_State *L, struct mg_config *c, const struct key *keys,
                      const char *path, char *why, size_t whylen)
{
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(why, whylen, "%s: a key is not a string", path);
            return -1;
        }
        const char *name = lua_tostring(L, -2);
        const struct key *k = keys;
        while (k->name && strcmp(k->name, name) != 0)
            k++;
        if (!k->name) {
            snprintf(why, whylen, "%s: unknown key %s", path, name);
            return -1;
        }
        int rc;
        if (k->kind == K_TABLE) {
            if (lua_type(L, -1) != LUA_TTABLE) {
                snprintf(why, whylen, "%s: %s: not a table", path, name);
                return -1;
            }
            rc = read_table(L, c, k->sub, path, why, whylen);
        } else {
            rc = set_key(L, c, k, path, why, whylen);
        }
        if (rc)
            return -1;
        lua_pop(L, 1);
    }
    return 0;
}

int mg_config_read(struct mg_config *c, lua_State *L, int idx,
                   const char *path, char *why, size_t whylen)
{
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 16)) {
        snprintf(why, whylen, "%s: out of memory", path);
        return -1;
    }
    lua_pushvalue(L, idx);
    int rc = read_table(L, c, top_keys, path, why, whylen);
    lua_settop(L, top);
    return rc;
}

/* A trusted operator file, but still text only and without io or os: the
 * config says what to run, it does not run things. */
int mg_config_load(struct mg_config *c, const char *path, char *why,
                   size_t whylen)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        snprintf(why, whylen, "%s: out of memory", path);
        return -1;
    }
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    lua_settop(L, 0);
    int rc = -1;
    if (luaL_loadfilex(L, path, "t") != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        snprintf(why, whylen, "%s", lua_tostring(L, -1));
        goto out;
    }
    if (lua_type(L, -1) != LUA_TTABLE) {
        snprintf(why, whylen, "%s: the file must return a table", path);
        goto out;
    }
    /* a config's ingest list replaces the default, flags add to it */
    rc = read_table(L, c, top_keys, path, why, whylen);
out:
    lua_close(L);
    return rc;
}
