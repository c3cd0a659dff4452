/* mg_config_remote: the remote_write list and external_labels of the config
 * file: every key checked (a typo is an error), durations as Prometheus
 * writes them, write_relabel_configs compiled at once so a bad regex stops
 * the start. Owns nothing beyond what it stores in the config. */
#include "mg_config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "mg_labels.h"
#include "mg_relabel.h"

void mg_config_remote_init(struct mg_remote_config *r)
{
    memset(r, 0, sizeof(*r));
    r->interval = 15;
    r->timeout = 30;
    r->capacity = 100000;
    r->max_samples_per_send = 2000;
    r->batch_send_deadline = 5;
    r->min_shards = 1;
    r->max_shards = 4;
    r->min_backoff = 0.03;
    r->max_backoff = 5;
    r->send_metadata = 1;
    r->metadata_interval = 60;
}

void mg_config_remote_fini(struct mg_config *c)
{
    for (size_t i = 0; i < c->nremote; i++) {
        struct mg_remote_config *r = &c->remote[i];
        free(r->url);
        mg_relabel_free(r->relabel);
        free(r->bearer_file);
        free(r->basic_user);
        free(r->basic_password_file);
        free(r->tls_ca_file);
        free(r->tls_cert_file);
        free(r->tls_key_file);
    }
    for (size_t i = 0; i < c->nexternal; i++) {
        free(c->external_names[i]);
        free(c->external_values[i]);
    }
    c->nremote = c->nexternal = 0;
}

int mg_config_duration(lua_State *L, int idx, double *out)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        double v = lua_tonumber(L, idx);
        if (!(v >= 0 && v < 1e9))
            return -1;
        *out = v;
        return 0;
    }
    if (lua_type(L, idx) != LUA_TSTRING)
        return -1;
    static const struct { const char *u; double s; } units[] = {
        {"ms", 1e-3}, {"us", 1e-6}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400},
        {"w", 604800}, {"y", 31536000}};
    const char *p = lua_tostring(L, idx);
    double total = 0;
    if (!*p)
        return -1;
    while (*p) {
        if (*p < '0' || *p > '9')
            return -1;
        char *end;
        double v = strtod(p, &end);
        size_t k = 0;
        for (; k < sizeof(units) / sizeof(units[0]); k++) {
            size_t ul = strlen(units[k].u);
            /* "m" must not take the "m" of "ms" */
            if (strncmp(end, units[k].u, ul) == 0 &&
                !(ul == 1 && end[0] == 'm' && end[1] == 's'))
                break;
        }
        if (k == sizeof(units) / sizeof(units[0]))
            return -1;
        total += v * units[k].s;
        p = end + strlen(units[k].u);
    }
    if (!(total < 1e9))
        return -1;
    *out = total;
    return 0;
}

/* A table's keys, each one known: fn gets each value on top of the stack. */
typedef int (*key_fn)(lua_State *L, struct mg_remote_config *r, const char *key);

static int str_key(lua_State *L, char **slot)
{
    if (lua_type(L, -1) != LUA_TSTRING)
        return -1;
    return mg_config_set_str(slot, lua_tostring(L, -1)) ? -1 : 0;
}

static int count_key(lua_State *L, size_t *out, size_t max)
{
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0 ||
        (size_t)lua_tointeger(L, -1) > max)
        return -1;
    *out = (size_t)lua_tointeger(L, -1);
    return 0;
}

static int queue_key(lua_State *L, struct mg_remote_config *r, const char *k)
{
    size_t v;
    if (strcmp(k, "capacity") == 0)
        return count_key(L, &r->capacity, (size_t)1 << 32);
    if (strcmp(k, "max_samples_per_send") == 0)
        return count_key(L, &r->max_samples_per_send, 1000000);
    if (strcmp(k, "batch_send_deadline") == 0)
        return mg_config_duration(L, -1, &r->batch_send_deadline);
    if (strcmp(k, "min_backoff") == 0)
        return mg_config_duration(L, -1, &r->min_backoff);
    if (strcmp(k, "max_backoff") == 0)
        return mg_config_duration(L, -1, &r->max_backoff);
    if (strcmp(k, "min_shards") == 0 || strcmp(k, "max_shards") == 0) {
        if (count_key(L, &v, 64))
            return -1;
        *(k[1] == 'i' ? &r->min_shards : &r->max_shards) = (unsigned)v;
        return 0;
    }
    return -2;
}

static int metadata_key(lua_State *L, struct mg_remote_config *r, const char *k)
{
    if (strcmp(k, "send") == 0) {
        if (lua_type(L, -1) != LUA_TBOOLEAN)
            return -1;
        r->send_metadata = lua_toboolean(L, -1);
        return 0;
    }
    if (strcmp(k, "send_interval") == 0)
        return mg_config_duration(L, -1, &r->metadata_interval);
    return -2;
}

static int tls_key(lua_State *L, struct mg_remote_config *r, const char *k)
{
    if (strcmp(k, "ca_file") == 0)
        return str_key(L, &r->tls_ca_file);
    if (strcmp(k, "cert_file") == 0)
        return str_key(L, &r->tls_cert_file);
    if (strcmp(k, "key_file") == 0)
        return str_key(L, &r->tls_key_file);
    if (strcmp(k, "insecure_skip_verify") == 0) {
        if (lua_type(L, -1) != LUA_TBOOLEAN)
            return -1;
        r->tls_insecure = lua_toboolean(L, -1);
        return 0;
    }
    return -2;
}

static int auth_key(lua_State *L, struct mg_remote_config *r, const char *k)
{
    if (strcmp(k, "credentials_file") == 0)
        return str_key(L, &r->bearer_file);
    return -2;
}

static int basic_key(lua_State *L, struct mg_remote_config *r, const char *k)
{
    if (strcmp(k, "username") == 0)
        return str_key(L, &r->basic_user);
    if (strcmp(k, "password_file") == 0)
        return str_key(L, &r->basic_password_file);
    return -2;
}

static int sub_table(lua_State *L, struct mg_remote_config *r, key_fn fn,
                     const char *path, const char *prefix, char *why, size_t whylen);

static int dest_key(lua_State *L, struct mg_remote_config *r, const char *k,
                    const char *path, char *why, size_t whylen)
{
    if (strcmp(k, "url") == 0)
        return str_key(L, &r->url);
    if (strcmp(k, "interval") == 0)
        return mg_config_duration(L, -1, &r->interval);
    if (strcmp(k, "remote_timeout") == 0)
        return mg_config_duration(L, -1, &r->timeout);
    if (strcmp(k, "queue") == 0)
        return sub_table(L, r, queue_key, path, "queue.", why, whylen);
    if (strcmp(k, "metadata") == 0)
        return sub_table(L, r, metadata_key, path, "metadata.", why, whylen);
    if (strcmp(k, "tls") == 0)
        return sub_table(L, r, tls_key, path, "tls.", why, whylen);
    if (strcmp(k, "authorization") == 0)
        return sub_table(L, r, auth_key, path, "authorization.", why, whylen);
    if (strcmp(k, "basic_auth") == 0)
        return sub_table(L, r, basic_key, path, "basic_auth.", why, whylen);
    if (strcmp(k, "write_relabel_configs") == 0) {
        if (lua_type(L, -1) != LUA_TTABLE)
            return -1;
        char msg[256];
        if (mg_relabel_compile(L, lua_gettop(L), &r->relabel, msg, sizeof(msg))) {
            snprintf(why, whylen, "%s: remote_write: write_relabel_configs: %s", path, msg);
            return -3;
        }
        return 0;
    }
    return -2;
}

/* -1: bad value, -2: unknown key, -3: why already written. */
static int report(int rc, const char *path, const char *prefix, const char *k,
                  char *why, size_t whylen)
{
    if (rc == -1)
        snprintf(why, whylen, "%s: remote_write: %s%s: wrong type or value", path, prefix, k);
    else if (rc == -2)
        snprintf(why, whylen, "%s: remote_write: unknown key %s%s", path, prefix, k);
    return rc ? -1 : 0;
}

static int sub_table(lua_State *L, struct mg_remote_config *r, key_fn fn,
                     const char *path, const char *prefix, char *why, size_t whylen)
{
    if (lua_type(L, -1) != LUA_TTABLE)
        return -1;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return -1;
        }
        const char *k = lua_tostring(L, -2);
        int rc = fn(L, r, k);
        if (rc) {
            report(rc, path, prefix, k, why, whylen);
            lua_pop(L, 2);
            return -3;
        }
        lua_pop(L, 1);
    }
    return 0;
}

static int check_dest(const struct mg_remote_config *r, const char *path, char *why,
                      size_t whylen)
{
    const char *bad = NULL;
    if (!r->url)
        bad = "url is required";
    else if (strncmp(r->url, "http://", 7) != 0 && strncmp(r->url, "https://", 8) != 0)
        bad = "url must be http:// or https://";
    else if (!(r->interval > 0) || !(r->timeout > 0) || !(r->batch_send_deadline > 0))
        bad = "interval, remote_timeout and batch_send_deadline must be positive";
    else if (!(r->min_backoff > 0) || r->max_backoff < r->min_backoff)
        bad = "min_backoff must be positive and max_backoff at least min_backoff";
    else if (r->min_shards > r->max_shards)
        bad = "min_shards must not exceed max_shards";
    else if (r->max_samples_per_send > r->capacity)
        bad = "max_samples_per_send must not exceed capacity";
    else if (r->bearer_file && r->basic_user)
        bad = "authorization and basic_auth are exclusive";
    else if (!!r->basic_user != !!r->basic_password_file)
        bad = "basic_auth needs username and password_file";
    else if ((r->tls_ca_file || r->tls_cert_file || r->tls_key_file || r->tls_insecure) &&
             strncmp(r->url, "https://", 8) != 0)
        bad = "tls settings need an https:// url";
    else if (!!r->tls_cert_file != !!r->tls_key_file)
        bad = "tls needs cert_file and key_file together";
    if (!bad)
        return 0;
    snprintf(why, whylen, "%s: remote_write: %s", path, bad);
    return -1;
}

int mg_config_read_remote(struct mg_config *c, lua_State *L, const char *path,
                          char *why, size_t whylen)
{
    if (lua_type(L, -1) != LUA_TTABLE) {
        snprintf(why, whylen, "%s: remote_write: a list of tables", path);
        return -1;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        if (c->nremote == MG_MAX_REMOTE_WRITE) {
            snprintf(why, whylen, "%s: remote_write: at most %d", path, MG_MAX_REMOTE_WRITE);
            return -1;
        }
        struct mg_remote_config *r = &c->remote[c->nremote++];
        mg_config_remote_init(r);
        lua_rawgeti(L, -1, i);
        if (lua_type(L, -1) != LUA_TTABLE) {
            lua_pop(L, 1);
            snprintf(why, whylen, "%s: remote_write[%d]: not a table", path, (int)i);
            return -1;
        }
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING) {
                snprintf(why, whylen, "%s: remote_write: a key is not a string", path);
                lua_pop(L, 3);
                return -1;
            }
            const char *k = lua_tostring(L, -2);
            int rc = dest_key(L, r, k, path, why, whylen);
            if (rc) {
                report(rc, path, "", k, why, whylen);
                lua_pop(L, 3);
                return -1;
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (check_dest(r, path, why, whylen))
            return -1;
    }
    return 0;
}

int mg_config_read_external(struct mg_config *c, lua_State *L, const char *path,
                            char *why, size_t whylen)
{
    if (lua_type(L, -1) != LUA_TTABLE) {
        snprintf(why, whylen, "%s: external_labels: a table of name = value", path);
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        size_t nl, vl;
        const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &nl) : NULL;
        const char *val = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &vl) : NULL;
        const char *bad = NULL;
        if (!name || !val)
            bad = "names and values must be strings";
        else if (!mg_label_name_valid(name, nl) || (nl >= 2 && name[0] == '_' && name[1] == '_'))
            bad = "not a valid label name";
        else if (!mg_utf8_valid(val, vl) || vl == 0)
            bad = "the value must be non-empty UTF-8";
        else if (c->nexternal == MG_MAX_EXTERNAL_LABELS)
            bad = "too many";
        if (bad) {
            snprintf(why, whylen, "%s: external_labels: %s%s%s", path, name ? name : "",
                     name ? ": " : "", bad);
            lua_pop(L, 2);
            return -1;
        }
        /* insert in name order: the encoder merges them sorted */
        size_t at = c->nexternal;
        while (at && strcmp(c->external_names[at - 1], name) > 0) {
            c->external_names[at] = c->external_names[at - 1];
            c->external_values[at] = c->external_values[at - 1];
            at--;
        }
        c->external_names[at] = strdup(name);
        c->external_values[at] = strdup(val);
        c->nexternal++;
        if (!c->external_names[at] || !c->external_values[at]) {
            snprintf(why, whylen, "%s: out of memory", path);
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}
