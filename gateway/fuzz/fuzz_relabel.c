/* fuzz_relabel: libFuzzer over relabel configs, two ways. The bytes are
 * the Lua source of a scripts file loaded through the pipeline loader in
 * its sandbox (relabel, drop, transform, aggregate, cap, on_sample, all
 * compiled), and when it loads, the fixture's series are routed through it.
 * Then the bytes, split at the first NUL, are a regex and a replacement
 * given straight to mg_relabel_compile and mg_relabel_apply under each
 * action that reads them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "fuzz_util.h"
#include "mg_labels.h"
#include "mg_relabel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mg_gateway *gw;
static lua_State *L;
static struct mg_lbuild lb;

static const char *const actions[] = {
    "replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep",
    "lowercase", "uppercase", "hashmod",
};

/* Compiles {{action, source_labels, regex, replacement, target_label}} and
 * applies it to a few labels. */
static void relabel_once(const char *action, const char *re, size_t relen,
                         const char *rep, size_t replen)
{
    char why[256];
    lua_settop(L, 0);
    lua_createtable(L, 1, 0);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, action);
    lua_setfield(L, -2, "action");
    luaL_dostring(L, "return { 'status', 'path' }");
    lua_setfield(L, -2, "source_labels");
    lua_pushlstring(L, re, relen);
    lua_setfield(L, -2, "regex");
    lua_pushlstring(L, rep, replen);
    lua_setfield(L, -2, "replacement");
    lua_pushstring(L, "target");
    lua_setfield(L, -2, "target_label");
    if (strcmp(action, "hashmod") == 0) {
        lua_pushinteger(L, 8);
        lua_setfield(L, -2, "modulus");
    }
    lua_rawseti(L, -2, 1);
    struct mg_relabel *rl;
    if (mg_relabel_compile(L, 1, &rl, why, sizeof(why)) == 0) {
        mg_lbuild_reset(&lb);
        mg_lbuild_set(&lb, "__name__", 8, "http_requests_total", 19);
        mg_lbuild_set(&lb, "status", 6, "503", 3);
        mg_lbuild_set(&lb, "path", 4, "/api/v1/users", 13);
        mg_relabel_apply(rl, &lb, why, sizeof(why));
        mg_relabel_free(rl);
    }
    lua_settop(L, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!gw) {
        gw = fuzz_gateway();
        L = luaL_newstate();
        if (!L)
            abort();
        mg_lbuild_init(&lb);
    }
    char why[256];
    const char *file = fuzz_as_file(data, size);
    if (mg_gateway_load(gw, &file, 1, NULL, 0, why, sizeof(why)) == 0)
        fuzz_push_fixture(gw, 2);
    const char *s = (const char *)data;
    const char *nul = memchr(s, '\0', size);
    size_t relen = nul ? (size_t)(nul - s) : size;
    const char *rep = nul ? nul + 1 : "$1";
    size_t replen = nul ? size - relen - 1 : 2;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        relabel_once(actions[i], s, relen, rep, replen);
    return 0;
}
