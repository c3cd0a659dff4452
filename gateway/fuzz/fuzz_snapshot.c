/* fuzz_snapshot: libFuzzer over the snapshot loader: the header, section
 * and CRC checks, then (for inputs whose checksums hold, which the seed
 * corpus gives and mutations of the payload keep only by chance) every
 * section decoder restoring into a fresh gateway, its rules and its
 * render. The CRCs are recomputed first on half the inputs, so that the
 * decoders behind them see mutated bytes too. Build with -DMG_FUZZ=ON
 * (clang). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mg_gateway.h"
#include "mg_snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Makes every checksum in buf agree with its bytes, where the framing
 * lets it find them. */
static void fix_crcs(unsigned char *buf, size_t len)
{
    if (len < MG_SNAP_HEADER)
        return;
    wr32(buf + 60, (uint32_t)crc32(0, buf, 60));
    size_t off = MG_SNAP_HEADER;
    while (len - off >= 16) {
        uint64_t plen = (uint64_t)rd32(buf + off + 8) | (uint64_t)rd32(buf + off + 12) << 32;
        if (plen > len - off - 16 || len - off - 16 - plen < 4)
            return;
        unsigned char *p = buf + off + 16;
        wr32(p + plen, (uint32_t)crc32(0, buf + off, (uInt)(16 + plen)));
        if (rd32(buf + off) == MG_SNAP_END)
            return;
        off += 16 + (size_t)plen + 4;
    }
}

/* Rules for the alerts and written series to go back into. */
static const char *rules_file(void)
{
    static char path[] = "/tmp/fuzz_snapshot_rules.lua";
    static int done;
    if (!done) {
        FILE *f = fopen(path, "w");
        if (!f)
            abort();
        fputs("record \"job:requests:sum\" { expr = function(q) "
              "return q.sum(\"requests_total\", { by = { \"job\" } }) end }\n"
              "alert \"QueueTooLong\" { expr = function(q) "
              "return q.value('queue_length{queue=\"jobs\"}') end, [\"for\"] = \"4s\" }\n",
              f);
        fclose(f);
        done = 1;
    }
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    if (size && (data[size - 1] & 1))
        fix_crcs(buf, size);
    struct mg_snap s;
    char why[256];
    if (mg_snap_parse(&s, buf, size, why, sizeof(why)) == 0) {
        struct mg_config cfg;
        mg_config_init(&cfg);
        struct mg_gateway *gw = mg_gateway_new(&cfg, 1, 1700000000000LL, why, sizeof(why));
        if (!gw)
            abort();
        const char *rules[1] = {rules_file()};
        if (mg_snapshot_restore_store(gw, &s, why, sizeof(why)) == 0 &&
            mg_gateway_load(gw, NULL, 0, rules, 1, why, sizeof(why)) == 0)
            mg_snapshot_restore_rules(gw, &s, why, sizeof(why));
        mg_gateway_advance(gw, 1);
        struct mg_buf out = {0};
        mg_gateway_render(gw, MG_FORMAT_OPENMETRICS, &out);
        mg_buf_fini(&out);
        mg_gateway_free(gw);
    }
    free(buf);
    return 0;
}
