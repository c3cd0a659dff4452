/* fuzz_selector: libFuzzer over the PromQL selector parser, which reads
 * HTTP input (GET /api/v1/explain?match=...): the bytes are parsed, then
 * matched against a few label sets, then run through mg_gateway_explain
 * over a gateway holding a few series, as the daemon does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mg_selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define L(n, v) { n, v, sizeof(n) - 1, sizeof(v) - 1 }
static const struct mg_label set1[] = {
    L("job", "api"), L("status", "503"), L("path", "/api/v1/users"),
};
static const struct mg_label set2[] = {
    L("__name__", "up"), L("instance", "127.0.0.1:9477"), L("le", "+Inf"),
};

static struct mg_gateway *gw;
static struct mg_rematch *rm;
static struct mg_explain ex[4];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!gw) {
        gw = fuzz_gateway();
        fuzz_push_fixture(gw, 1);
        rm = mg_rematch_new();
        if (!rm)
            abort();
    }
    const char *s = (const char *)data;
    char why[256];
    struct mg_selector *sel;
    if (mg_selector_parse(s, size, &sel, why, sizeof(why)) == 0) {
        size_t nlen;
        struct mg_label eq[4];
        mg_selector_name(sel, &nlen);
        mg_selector_equalities(sel, eq, 4);
        mg_selector_match(sel, rm, "http_requests_total", 19, set1, 3, why,
                          sizeof(why));
        mg_selector_match(sel, rm, NULL, 0, set2, 3, why, sizeof(why));
        mg_selector_free(sel);
    }
    size_t n;
    mg_gateway_explain(gw, s, size, ex, 4, &n, why, sizeof(why));
    return 0;
}
