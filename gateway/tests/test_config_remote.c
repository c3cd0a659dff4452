/* test_config_remote: the remote_write and external_labels config keys:
 * documented defaults, Prometheus durations, external labels kept sorted,
 * and a clear error for each kind of mistake. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "mg_config.h"

static int failures;
#define CHECK(c)                                                           \
    do {                                                                   \
        if (!(c)) {                                                        \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);        \
            failures++;                                                    \
        }                                                                  \
    } while (0)

/* Reads the table src returns into c; 0 or -1 with why. */
static int read_src(struct mg_config *c, const char *src, char *why, size_t whylen)
{
    lua_State *L = luaL_newstate();
    int rc = -1;
    if (luaL_dostring(L, src) == LUA_OK)
        rc = mg_config_read(c, L, -1, "cfg.lua", why, whylen);
    else
        snprintf(why, whylen, "%s", lua_tostring(L, -1));
    lua_close(L);
    return rc;
}

static double dur(const char *s)
{
    lua_State *L = luaL_newstate();
    lua_pushstring(L, s);
    double v = -1;
    if (mg_config_duration(L, -1, &v))
        v = -1;
    lua_close(L);
    return v;
}

static void test_durations(void)
{
    CHECK(dur("15s") == 15);
    CHECK(fabs(dur("30ms") - 0.03) < 1e-12);
    CHECK(dur("1m30s") == 90);
    CHECK(dur("2h") == 7200);
    CHECK(dur("1m") == 60); /* not taken for "ms" */
    CHECK(dur("") < 0);
    CHECK(dur("15") < 0);   /* a string needs a unit; a number is seconds */
    CHECK(dur("15 s") < 0);
    CHECK(dur("s") < 0);
    CHECK(dur("-1s") < 0);
}

static void test_defaults_and_values(void)
{
    struct mg_config c;
    char why[256] = "";
    mg_config_init(&c);
    int rc = read_src(&c, "return { external_labels = { zone = 'eu', gateway_shard = 'a' },"
                          " remote_write = { { url = 'http://127.0.0.1:8428/api/v1/write' },"
                          " { url = 'http://h/w', interval = '1m30s', remote_timeout = 5,"
                          "   queue = { capacity = 10, max_samples_per_send = 5,"
                          "             batch_send_deadline = '250ms', min_shards = 2,"
                          "             max_shards = 3, min_backoff = '10ms', max_backoff = '1s' },"
                          "   metadata = { send = false },"
                          "   write_relabel_configs = { { action = 'labeldrop', regex = 'x' } },"
                          "   basic_auth = { username = 'u', password_file = '/p' } } } }",
                      why, sizeof(why));
    CHECK(rc == 0);
    if (rc)
        fprintf(stderr, "%s\n", why);
    CHECK(c.nexternal == 2 && strcmp(c.external_names[0], "gateway_shard") == 0 &&
          strcmp(c.external_names[1], "zone") == 0 && strcmp(c.external_values[1], "eu") == 0);
    CHECK(c.nremote == 2);
    const struct mg_remote_config *d = &c.remote[0], *e = &c.remote[1];
    CHECK(d->interval == 15 && d->timeout == 30 && d->capacity == 100000 &&
          d->max_samples_per_send == 2000 && d->batch_send_deadline == 5 &&
          d->min_shards == 1 && d->max_shards == 4 && fabs(d->min_backoff - 0.03) < 1e-12 &&
          d->max_backoff == 5 && d->send_metadata && d->metadata_interval == 60 &&
          !d->relabel && !d->bearer_file && !d->basic_user);
    CHECK(e->interval == 90 && e->timeout == 5 && e->capacity == 10 &&
          e->max_samples_per_send == 5 && fabs(e->batch_send_deadline - 0.25) < 1e-12 &&
          e->min_shards == 2 && e->max_shards == 3 && fabs(e->min_backoff - 0.01) < 1e-12 &&
          e->max_backoff == 1 && !e->send_metadata && e->relabel &&
          strcmp(e->basic_user, "u") == 0 && strcmp(e->basic_password_file, "/p") == 0);
    mg_config_fini(&c);
}

static void refused(const char *src, const char *want)
{
    struct mg_config c;
    char why[256] = "";
    mg_config_init(&c);
    CHECK(read_src(&c, src, why, sizeof(why)) == -1);
    if (!strstr(why, want)) {
        fprintf(stderr, "want \"%s\" in \"%s\"\n", want, why);
        failures++;
    }
    mg_config_fini(&c);
}

static void test_errors(void)
{
    refused("return { remote_write = { { interval = '1s' } } }", "url is required");
    refused("return { remote_write = { { url = 'http://h/', typo = 1 } } }",
            "remote_write: unknown key typo");
    refused("return { remote_write = { { url = 'http://h/', queue = { capacity = 0 } } } }",
            "queue.capacity: wrong type or value");
    refused("return { remote_write = { { url = 'http://h/', queue = { min_shards = 5 } } } }",
            "min_shards must not exceed max_shards");
    refused("return { remote_write = { { url = 'http://h/', queue = { capacity = 10 } } } }",
            "max_samples_per_send must not exceed capacity");
    refused("return { remote_write = { { url = 'http://h/', authorization = "
            "{ credentials_file = '/a' }, basic_auth = { username = 'u', password_file = '/p' } } } }",
            "exclusive");
    refused("return { remote_write = { { url = 'http://h/', tls = { insecure_skip_verify = true } } } }",
            "tls settings need an https:// url");
    refused("return { remote_write = { { url = 'https://h/', tls = { cert_file = '/c' } } } }",
            "cert_file and key_file together");
    refused("return { remote_write = { { url = 'ftp://h/' } } }", "url must be http:// or https://");
    refused("return { remote_write = { { url = 'http://h/', write_relabel_configs = "
            "{ { action = 'nope' } } } } }", "write_relabel_configs: relabel[1]");
    refused("return { external_labels = { ['bad-name'] = 'x' } }", "not a valid label name");
    refused("return { external_labels = { a = '' } }", "non-empty");
}

int main(void)
{
    test_durations();
    test_defaults_and_values();
    test_errors();
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("test_config_remote: ok\n");
    return 0;
}
