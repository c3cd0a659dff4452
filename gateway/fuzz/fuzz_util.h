/* fuzz_util: what several fuzz targets share, header-only so a target
 * stays one source file: the fuzzer's bytes as a file the loaders can read
 * (a memfd, nothing on disk), a gateway with tight Lua budgets, and a
 * fixed message of a few series to give the pipeline and the rules
 * something to work on. */
#ifndef MG_FUZZ_UTIL_H
#define MG_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <msgpack.h>

#include "mg_gateway.h"

/* Writes data into an in-memory file and returns a path the loaders open
 * ("/proc/self/fd/N"); the same file is reused by every call. */
static inline const char *fuzz_as_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.lua", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    return path;
}

/* A gateway on a virtual clock whose scripts and rules run under budgets
 * small enough that a looping input costs milliseconds, not a second. */
static inline struct mg_gateway *fuzz_gateway(void)
{
    struct mg_config cfg;
    char why[256];
    mg_config_init(&cfg);
    cfg.wire.max_message_bytes = 1 << 16;
    cfg.lua.memory_bytes = 16u << 20;
    cfg.lua.instructions = 200000;
    cfg.lua.seconds = 0.1;
    cfg.rule_interval = 1;
    struct mg_gateway *gw = mg_gateway_new(&cfg, 1, 1700000000000LL, why,
                                           sizeof(why));
    if (!gw)
        abort();
    return gw;
}

static inline void fuzz_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Pushes a message of a counter, a gauge and a histogram, with the labels
 * the scripts and rules in the seeds look at. */
static inline void fuzz_push_fixture(struct mg_gateway *gw, double v)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    fuzz_pack_str(&pk, "source");
    msgpack_pack_map(&pk, 2);
    fuzz_pack_str(&pk, "job");
    fuzz_pack_str(&pk, "api");
    fuzz_pack_str(&pk, "workspace_id");
    fuzz_pack_str(&pk, "ws-1");
    fuzz_pack_str(&pk, "metrics");
    msgpack_pack_array(&pk, 3);

    msgpack_pack_map(&pk, 4);
    fuzz_pack_str(&pk, "name");
    fuzz_pack_str(&pk, "http_requests_total");
    fuzz_pack_str(&pk, "type");
    fuzz_pack_str(&pk, "counter");
    fuzz_pack_str(&pk, "value");
    msgpack_pack_double(&pk, v);
    fuzz_pack_str(&pk, "labels");
    msgpack_pack_map(&pk, 2);
    fuzz_pack_str(&pk, "status");
    fuzz_pack_str(&pk, "503");
    fuzz_pack_str(&pk, "path");
    fuzz_pack_str(&pk, "/api/v1/users");

    msgpack_pack_map(&pk, 3);
    fuzz_pack_str(&pk, "name");
    fuzz_pack_str(&pk, "request_latency_ms");
    fuzz_pack_str(&pk, "type");
    fuzz_pack_str(&pk, "gauge");
    fuzz_pack_str(&pk, "value");
    msgpack_pack_double(&pk, v * 7);

    msgpack_pack_map(&pk, 5);
    fuzz_pack_str(&pk, "name");
    fuzz_pack_str(&pk, "latency_seconds");
    fuzz_pack_str(&pk, "type");
    fuzz_pack_str(&pk, "histogram");
    fuzz_pack_str(&pk, "buckets");
    msgpack_pack_map(&pk, 2);
    msgpack_pack_double(&pk, 0.5);
    msgpack_pack_double(&pk, v);
    fuzz_pack_str(&pk, "+Inf");
    msgpack_pack_double(&pk, v * 2);
    fuzz_pack_str(&pk, "sum");
    msgpack_pack_double(&pk, v * 3);
    fuzz_pack_str(&pk, "count");
    msgpack_pack_double(&pk, v * 2);

    struct mg_push_result res;
    mg_push_result_reset(&res);
    mg_gateway_push_body(gw, sb.data, sb.size, MG_TRANSPORT_HTTP, NULL, &res);
    msgpack_sbuffer_destroy(&sb);
}

#endif
