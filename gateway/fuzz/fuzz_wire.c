/* fuzz_wire: libFuzzer over the whole push path through the gateway
 * facade: the frame scanner, mg_unpack behind it, validation, a small
 * pipeline (relabel, drop, transform, aggregate) routing every new series,
 * the store, expiry, and both exposition formats; the same bytes also as a
 * TCP stream arriving a byte at a time (resumable framing). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char script[] =
    "relabel {\n"
    "  { action = 'labeldrop', regex = 'workspace_id' },\n"
    "  { source_labels = { 'status' }, regex = '([1-5])\\\\d\\\\d',\n"
    "    target_label = 'status', replacement = '${1}xx' },\n"
    "}\n"
    "drop { name = 'debug_.*' }\n"
    "transform(function(s)\n"
    "  if s.name:match('_ms$') then\n"
    "    s.name = s.name:gsub('_ms$', '_seconds'); s.scale = 0.001\n"
    "  end\n"
    "  return s\n"
    "end)\n"
    "aggregate { metric = 'temperature_.*', gauge = 'max' }\n";

static struct mg_gateway *gw;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!gw) {
        char why[256];
        gw = fuzz_gateway();
        const char *file = fuzz_as_file((const uint8_t *)script,
                                        sizeof(script) - 1);
        if (mg_gateway_load(gw, &file, 1, NULL, 0, why, sizeof(why)) != 0) {
            fprintf(stderr, "fuzz_wire: %s\n", why);
            abort();
        }
    }
    struct mg_push_result res;
    mg_push_result_reset(&res);
    mg_gateway_push_body(gw, (const char *)data, size, MG_TRANSPORT_HTTP, NULL, &res);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    mg_wire_encode_reply(&res, &sb);
    msgpack_sbuffer_destroy(&sb);
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
    mg_gateway_render(gw, MG_FORMAT_TEXT, &out);
    mg_buf_fini(&out);
    return 0;
}
