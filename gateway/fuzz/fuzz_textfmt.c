/* fuzz_textfmt: libFuzzer over a Pushgateway text body: the pull parser
 * (mg_textfmt), the series it builds (mg_pushbody), then a whole PUT into
 * a group of a gateway (consistency checks, store, JSON) and a scrape.
 * Build with -DMG_FUZZ=ON (clang). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_pushbody.h"
#include "mg_pushgw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mg_gateway *gw;
static struct mg_pushgw *pg;
static struct mg_config cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    if (!gw) {
        mg_config_init(&cfg);
        gw = mg_gateway_new(&cfg, 1, 1700000000000LL, why, sizeof(why));
        pg = gw ? mg_pushgw_new(gw, &cfg, why, sizeof(why)) : NULL;
        if (!pg)
            abort();
    }
    struct mg_pushbody b;
    enum mg_reason r;
    char w[MG_WHY_LEN];
    if (mg_pushbody_text(&b, (const char *)data, size, &cfg.wire, &r, w) == 0 && b.nser)
        mg_require(b.fam && b.ser);
    mg_pushbody_fini(&b);
    /* the first byte picks the method and one of a few groups */
    static const char *const keys[] = {"/job/a", "/job/a/i/1", "/job@base64/Yi9j", "/job/a/i@base64/="};
    uint8_t k = size ? data[0] : 0;
    struct mg_buf reply = {0}, out = {0};
    mg_pushgw_request(pg, k & 0x80 ? MG_PUSHGW_POST : MG_PUSHGW_PUT, keys[k & 3], MG_PUSHGW_TEXT,
                      (const char *)data, size, &reply);
    if ((k & 0x70) == 0x70)
        mg_pushgw_request(pg, MG_PUSHGW_DELETE, keys[(k >> 2) & 3], MG_PUSHGW_TEXT, "", 0, &reply);
    mg_pushgw_metrics_json(pg, &out);
    mg_buf_reset(&out);
    mg_gateway_render(gw, MG_FORMAT_TEXT, &out);
    mg_buf_fini(&out);
    mg_buf_fini(&reply);
    return 0;
}
