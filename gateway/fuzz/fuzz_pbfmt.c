/* fuzz_pbfmt: libFuzzer over a Pushgateway protobuf body: varint framing
 * and protobuf-c (mg_pbfmt), the series built from it (mg_pushbody), then
 * a whole PUT into a group (consistency checks, store, JSON) and a scrape.
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
        cfg.wire.max_message_bytes = 1 << 16;
        gw = mg_gateway_new(&cfg, 1, 1700000000000LL, why, sizeof(why));
        pg = gw ? mg_pushgw_new(gw, &cfg, why, sizeof(why)) : NULL;
        if (!pg)
            abort();
    }
    /* framing alone, message by message */
    struct mg_pbfmt pb;
    const mg_pb_family *mf;
    enum mg_reason r;
    char w[MG_WHY_LEN];
    mg_pbfmt_init(&pb, data, size, cfg.wire.max_message_bytes);
    while (mg_pbfmt_next(&pb, &mf, &r, w) == 1)
        mg_require(mf != NULL);
    mg_pbfmt_fini(&pb);
    struct mg_buf reply = {0}, out = {0};
    mg_pushgw_request(pg, size && (data[size - 1] & 1) ? MG_PUSHGW_POST : MG_PUSHGW_PUT,
                      size && (data[size - 1] & 2) ? "/job/a/x/1" : "/job/a", MG_PUSHGW_PROTO,
                      (const char *)data, size, &reply);
    mg_pushgw_metrics_json(pg, &out);
    mg_buf_reset(&out);
    mg_gateway_render(gw, MG_FORMAT_TEXT, &out);
    mg_buf_fini(&out);
    mg_buf_fini(&reply);
    return 0;
}
