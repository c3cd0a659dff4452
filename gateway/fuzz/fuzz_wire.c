/* fuzz_wire: libFuzzer over the wire path: the frame scanner, msgpack-c
 * decoding behind it, validation and the store, as a TCP stream and as an
 * HTTP body. Build with -DMG_FUZZ=ON (clang). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mg_gateway *gw;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!gw) {
        struct mg_config cfg;
        char why[256];
        mg_config_init(&cfg);
        cfg.wire.max_message_bytes = 1 << 16;
        gw = mg_gateway_new(&cfg, 1, 1700000000000LL, why, sizeof(why));
        if (!gw)
            abort();
    }
    struct mg_push_result res;
    mg_push_result_reset(&res);
    mg_gateway_push_body(gw, (const char *)data, size, MG_TRANSPORT_HTTP, NULL, &res);
    /* the same bytes as a stream, a byte at a time: resumable framing */
    struct mg_scan sc;
    memset(&sc, 0, sizeof(sc));
    const struct mg_wire_limits *lim = &mg_gateway_config(gw)->wire;
    for (size_t n = 1; n <= size; n++) {
        enum mg_reason r;
        char why[MG_WHY_LEN];
        int rc = mg_wire_scan(&sc, (const char *)data, n, lim, &r, why);
        if (rc != 0)
            break;
    }
    mg_gateway_advance(gw, 1);
    struct mg_buf out = {0};
    mg_gateway_render(gw, MG_FORMAT_OPENMETRICS, &out);
    mg_buf_fini(&out);
    return 0;
}
