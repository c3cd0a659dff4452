/* mg_config: defaults, the Lua config file, flags. */
#include "mg_config.h"
#include "mg_suggest.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "mg_promql.h"

void mg_config_init(struct mg_config *c)
{
    memset(c, 0, sizeof(*c));
    c->log_format = MG_LOG_LOGFMT;
    c->log_level = MG_LOG_INFO;
    c->udp = 1;
    c->sweep_interval = 1;
    c->rule_interval = 15;
    mg_wire_limits_default(&c->wire);
    c->max_http_body_bytes = 16u << 20;
    c->max_http_header_bytes = 16384;
    c->header_timeout = 10;
    c->idle_timeout = 300;
    c->max_connections = 1024;
    c->max_http_buffered_bytes = 64u << 20;
    c->drain_timeout = 5;
    c->messages_per_wakeup = 64;
    c->history_points = 1000;
    c->notify_queue = 10000;
    c->notify_batch = 64;
    c->notify_timeout = 10;
    c->resend_delay = 60;
    c->snapshot_interval = 60;
}

void mg_config_fini(struct mg_config *c)
{
    free(c->http);
    free(c->scripts);
    free(c->rules);
    free(c->data_dir);
    for (size_t i = 0; i < c->ningest; i++)
        free(c->ingest[i]);
    for (int r = 0; r < MG_ROLE_COUNT; r++) {
        free(c->auth[r].tokens_file);
        for (size_t i = 0; i < c->auth[r].nusers; i++) {
            free(c->auth[r].users[i]);
            free(c->auth[r].hashes[i]);
        }
    }
    free(c->tls.cert_file);
    free(c->tls.key_file);
    free(c->tls.client_ca_file);
    free(c->am_tls.ca_file);
    free(c->am_tls.cert_file);
    free(c->am_tls.key_file);
    free(c->am_tls.bearer_token_file);
    free(c->am_tls.username);
    free(c->am_tls.password_file);
    for (size_t i = 0; i < c->nalertmanagers; i++)
        free(c->alertmanagers[i]);
    for (size_t i = 0; i < c->npushgw_ttl; i++)
        free(c->pushgw_ttl[i].job);
    free(c->external_url);
    mg_config_remote_fini(c);
    memset(c, 0, sizeof(*c));
}

const char *mg_role_name(enum mg_role r)
{
    static const char *const names[] = {"push", "read", "admin"};
    return r < MG_ROLE_COUNT ? names[r] : "?";
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
            K_STRLIST, K_TABLE, K_PUSHGW_TTL, K_MODE, K_USERS, K_CLIENTAUTH, K_REMOTE,
            K_EXTERNAL };
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
    {"max_http_buffered_bytes", K_SIZE, OFF(max_http_buffered_bytes), NULL},
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
static const struct key pushgw_keys[] = {
    {"ttl", K_PUSHGW_TTL, 0, NULL},
    {NULL, 0, 0, NULL}};
#define ROLE_KEYS(r)                                                       \
    {"mode", K_MODE, OFF(auth[r].mode), NULL},                             \
    {"tokens_file", K_STR, OFF(auth[r].tokens_file), NULL},                \
    {"basic_auth_users", K_USERS, OFF(auth[r]), NULL},                     \
    {NULL, 0, 0, NULL}
static const struct key push_keys[] = {ROLE_KEYS(MG_ROLE_PUSH)};
static const struct key read_keys[] = {ROLE_KEYS(MG_ROLE_READ)};
static const struct key admin_keys[] = {ROLE_KEYS(MG_ROLE_ADMIN)};
static const struct key auth_keys[] = {
    {"push", K_TABLE, 0, push_keys},
    {"read", K_TABLE, 0, read_keys},
    {"admin", K_TABLE, 0, admin_keys},
    {NULL, 0, 0, NULL}};
static const struct key tls_keys[] = {
    {"cert_file", K_STR, OFF(tls.cert_file), NULL},
    {"key_file", K_STR, OFF(tls.key_file), NULL},
    {"client_ca_file", K_STR, OFF(tls.client_ca_file), NULL},
    {"client_auth_type", K_CLIENTAUTH, OFF(tls.client_auth), NULL},
    {NULL, 0, 0, NULL}};
static const struct key am_tls_keys[] = {
    {"ca_file", K_STR, OFF(am_tls.ca_file), NULL},
    {"cert_file", K_STR, OFF(am_tls.cert_file), NULL},
    {"key_file", K_STR, OFF(am_tls.key_file), NULL},
    {"bearer_token_file", K_STR, OFF(am_tls.bearer_token_file), NULL},
    {"username", K_STR, OFF(am_tls.username), NULL},
    {"password_file", K_STR, OFF(am_tls.password_file), NULL},
    {"insecure_skip_verify", K_BOOL, OFF(am_tls.insecure_skip_verify), NULL},
    {NULL, 0, 0, NULL}};
static const struct key top_keys[] = {
    {"http", K_STR, OFF(http), NULL},
    {"ingest", K_STRLIST, OFF(ingest), NULL},
    {"scripts", K_STR, OFF(scripts), NULL},
    {"rules", K_STR, OFF(rules), NULL},
    {"auth", K_TABLE, 0, auth_keys},
    {"tls", K_TABLE, 0, tls_keys},
    {"enable_lifecycle", K_BOOL, OFF(enable_lifecycle), NULL},
    {"udp", K_BOOL, OFF(udp), NULL},
    {"alertmanager_tls", K_TABLE, 0, am_tls_keys},
    {"data_dir", K_STR, OFF(data_dir), NULL},
    {"snapshot_interval", K_SECONDS, OFF(snapshot_interval), NULL},
    {"append_log", K_BOOL, OFF(append_log), NULL},
    {"log_format", K_LOGFMT, OFF(log_format), NULL},
    {"log_level", K_LOGLEVEL, OFF(log_level), NULL},
    {"honor_timestamps", K_BOOL, OFF(honor_timestamps), NULL},
    {"default_ttl", K_SECONDS, 0, NULL}, /* special: into wire, in ms */
    {"sweep_interval", K_SECONDS, OFF(sweep_interval), NULL},
    {"rule_interval", K_SECONDS, OFF(rule_interval), NULL},
    {"drain_timeout", K_SECONDS, OFF(drain_timeout), NULL},
    {"limits", K_TABLE, 0, limit_keys},
    {"alertmanagers", K_STRLIST, OFF(alertmanagers), NULL},
    {"notifications", K_TABLE, 0, notify_keys},
    {"lua", K_TABLE, 0, lua_keys},
    {"pushgateway", K_TABLE, 0, pushgw_keys},
    {"external_url", K_STR, OFF(external_url), NULL},
    {"resend_delay", K_SECONDS, OFF(resend_delay), NULL},
    {"remote_write", K_REMOTE, 0, NULL},
    {"external_labels", K_EXTERNAL, 0, NULL},
    {NULL, 0, 0, NULL}};

/* One {job = "regex", ttl = "1h" or seconds} entry at the top of L's stack. */
static int pushgw_ttl(lua_State *L, struct mg_config *c, const char *path,
                      char *why, size_t whylen)
{
    if (lua_type(L, -1) != LUA_TTABLE || c->npushgw_ttl == MG_MAX_PUSHGW_TTL)
        goto bad;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        lua_pop(L, 1);
        if (strcmp(k, "job") != 0 && strcmp(k, "ttl") != 0) {
            lua_pop(L, 1);
            static const char *const names[] = {"job", "ttl", NULL};
            char msg[160];
            snprintf(why, whylen, "%s: pushgateway.ttl: %s", path,
                     mg_suggest_unknown(msg, sizeof(msg), k, strlen(k), names));
            return -1;
        }
    }
    struct mg_pushgw_ttl *t = &c->pushgw_ttl[c->npushgw_ttl];
    lua_getfield(L, -1, "job");
    int ok = lua_type(L, -1) == LUA_TSTRING &&
             (t->job = strdup(lua_tostring(L, -1))) != NULL;
    lua_pop(L, 1);
    if (!ok)
        goto bad;
    c->npushgw_ttl++;
    lua_getfield(L, -1, "ttl");
    int64_t ms = -1;
    char dwhy[128];
    if (lua_type(L, -1) == LUA_TNUMBER)
        ms = (int64_t)(lua_tonumber(L, -1) * 1000);
    else if (lua_type(L, -1) == LUA_TSTRING &&
             mg_duration_parse(lua_tostring(L, -1), lua_rawlen(L, -1), &ms, dwhy,
                               sizeof(dwhy)))
        ms = -1;
    lua_pop(L, 1);
    if (ms <= 0)
        goto bad;
    t->seconds = (double)ms / 1000.0;
    return 0;
bad:
    snprintf(why, whylen, "%s: pushgateway.ttl: each entry is {job = \"regex\", ttl = \"1h\"}",
             path);
    return -1;
}

/* basic_auth_users = { name = "$2y$..." }: bcrypt hashes only, as
 * Prometheus's web config takes them. */
static int read_users(lua_State *L, struct mg_role_config *rc, const char *path,
                      char *why, size_t whylen)
{
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING ||
            strncmp(lua_tostring(L, -1), "$2", 2) != 0) {
            lua_pop(L, 2);
            snprintf(why, whylen, "%s: basic_auth_users: each is name = \"$2y$...\" (bcrypt)",
                     path);
            return -1;
        }
        if (rc->nusers == MG_MAX_USERS) {
            lua_pop(L, 2);
            snprintf(why, whylen, "%s: basic_auth_users: more than %d", path, MG_MAX_USERS);
            return -1;
        }
        rc->users[rc->nusers] = strdup(lua_tostring(L, -2));
        rc->hashes[rc->nusers] = strdup(lua_tostring(L, -1));
        rc->nusers++;
        lua_pop(L, 1);
        if (!rc->users[rc->nusers - 1] || !rc->hashes[rc->nusers - 1]) {
            lua_pop(L, 1);
            snprintf(why, whylen, "%s: out of memory", path);
            return -1;
        }
    }
    return 0;
}

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
        if (t != LUA_TNUMBER || !(lua_tonumber(L, -1) >= 0) ||
            isinf(lua_tonumber(L, -1)))
            goto type;
        double v = lua_tonumber(L, -1);
        if (strcmp(k->name, "default_ttl") == 0)
            c->wire.default_ttl_ms = mg_ttl_ms(v);
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
                    (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)) {
                    c->alertmanagers[c->nalertmanagers] = strdup(s);
                    rc = c->alertmanagers[c->nalertmanagers++] ? 0 : -1;
                }
            }
            lua_pop(L, 1);
            if (rc) {
                snprintf(why, whylen, "%s: %s: too many, not http:// or https://, or out of memory",
                         path, k->name);
                return -1;
            }
        }
        return 0;
    }
    case K_PUSHGW_TTL:
        if (t != LUA_TTABLE)
            goto type;
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
            lua_rawgeti(L, -1, i);
            int rc = pushgw_ttl(L, c, path, why, whylen);
            lua_pop(L, 1);
            if (rc)
                return -1;
        }
        return 0;
    case K_MODE: {
        static const char *const modes[] = {"open", "token", "off"};
        for (int i = 0; t == LUA_TSTRING && i < 3; i++)
            if (strcmp(lua_tostring(L, -1), modes[i]) == 0) {
                *(enum mg_role_mode *)(base + k->offset) = (enum mg_role_mode)(i + 1);
                return 0;
            }
        goto type;
    }
    case K_CLIENTAUTH: {
        static const char *const types[] = {"NoClientCert", "RequestClientCert",
                                            "RequireAnyClientCert", "VerifyClientCertIfGiven",
                                            "RequireAndVerifyClientCert"};
        for (int i = 0; t == LUA_TSTRING && i < 5; i++)
            if (strcmp(lua_tostring(L, -1), types[i]) == 0) {
                *(enum mg_client_auth *)(base + k->offset) = (enum mg_client_auth)i;
                return 0;
            }
        goto type;
    }
    case K_USERS:
        if (t != LUA_TTABLE)
            goto type;
        return read_users(L, (struct mg_role_config *)(base + k->offset), path, why, whylen);
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
            const char *names[64];
            size_t n = 0;
            char msg[160];
            for (k = keys; k->name && n < 63; k++)
                names[n++] = k->name;
            names[n] = NULL;
            snprintf(why, whylen, "%s: %s", path,
                     mg_suggest_unknown(msg, sizeof(msg), name, strlen(name), names));
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
