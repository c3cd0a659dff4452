/* fuzz_msgpack: libFuzzer over wire/ alone: the bounded frame scanner, then
 * mg_unpack's decoding of each frame it accepts (as the gateway decodes),
 * the message keys, every metric's structure and values, the identity
 * checks of a new series and the ack reply. No gateway, no store, no Lua:
 * what reaches mg_unpack and mg_wire from a socket before anything else
 * sees it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_unpack.h"
#include "mg_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mg_wire_limits lim;
static struct mg_wire_scratch *ws;
static msgpack_zone zone;

static void one_message(const char *p, size_t len, struct mg_push_result *res)
{
    char why[MG_WHY_LEN];
    msgpack_object root;
    size_t off = 0;
    msgpack_zone_clear(&zone);
    int rc = mg_unpack(p, len, &off, &zone, &root);
    if (rc != MSGPACK_UNPACK_SUCCESS && rc != MSGPACK_UNPACK_EXTRA_BYTES)
        return;
    struct mg_message m;
    enum mg_reason r = mg_wire_message(&root, &lim, ws, &m, why);
    if (r != MG_OK) {
        mg_push_result_error(res, -1, r, why);
        return;
    }
    for (size_t i = 0; i < m.nmetrics; i++) {
        struct mg_sample s;
        r = mg_wire_metric(&m, i, &lim, ws, &s, why);
        if (r == MG_OK)
            r = mg_wire_check_identity(&s, &lim, why);
        if (r == MG_OK)
            res->accepted++;
        else
            mg_push_result_error(res, (int32_t)i, r, why);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ws) {
        mg_wire_limits_default(&lim);
        lim.max_message_bytes = 1 << 16;
        ws = mg_wire_scratch_new(&lim);
        if (!ws || !msgpack_zone_init(&zone, 1u << 16))
            abort();
    }
    const char *p = (const char *)data;
    struct mg_push_result res;
    mg_push_result_reset(&res);
    size_t off = 0;
    while (off < size) {
        struct mg_scan sc;
        memset(&sc, 0, sizeof(sc));
        enum mg_reason r;
        char why[MG_WHY_LEN];
        if (mg_wire_scan(&sc, p + off, size - off, &lim, &r, why) != 1)
            break;
        one_message(p + off, sc.off, &res);
        off += sc.off;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    mg_wire_encode_reply(&res, &sb);
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
