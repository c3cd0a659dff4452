/* mg_pbfmt: framing by varint lengths, then protobuf-c per message. */
#include "mg_pbfmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mg_pbfmt_init(struct mg_pbfmt *pb, const void *buf, size_t len,
                   size_t max_message)
{
    memset(pb, 0, sizeof(*pb));
    pb->start = pb->p = buf;
    pb->end = pb->p + len;
    pb->max_message = max_message;
}

/* A base-128 varint of at most 10 bytes; 0 when it does not end there. */
static int varint(const uint8_t *p, const uint8_t *e, uint64_t *v,
                  size_t *used)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 10 && p + i < e; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            *used = i + 1;
            return 1;
        }
    }
    return 0;
}

static int keep(struct mg_pbfmt *pb, mg_pb_family *mf)
{
    if (pb->nkept == pb->capkept) {
        size_t cap = pb->capkept ? pb->capkept * 2 : 16;
        mg_pb_family **k = realloc(pb->kept, cap * sizeof(*k));
        if (!k)
            return -1;
        pb->kept = k;
        pb->capkept = cap;
    }
    pb->kept[pb->nkept++] = mf;
    return 0;
}

int mg_pbfmt_next(struct mg_pbfmt *pb, const mg_pb_family **mf,
                  enum mg_reason *r, char why[MG_WHY_LEN])
{
    if (pb->p >= pb->end)
        return 0;
    size_t at = (size_t)(pb->p - pb->start);
    uint32_t idx = ++pb->index;
    uint64_t len;
    size_t used;
    *r = MG_REASON_DECODE_ERROR;
    if (!varint(pb->p, pb->end, &len, &used)) {
        snprintf(why, MG_WHY_LEN, "message %u at byte %zu: the length is not a varint",
                 idx, at);
        return -1;
    }
    if (len > pb->max_message) {
        *r = MG_REASON_TOO_LARGE;
        snprintf(why, MG_WHY_LEN, "message %u at byte %zu: %llu bytes, more than %zu",
                 idx, at, (unsigned long long)len, pb->max_message);
        return -1;
    }
    if (len > (uint64_t)(pb->end - pb->p - used)) {
        snprintf(why, MG_WHY_LEN,
                 "message %u at byte %zu: says %llu bytes, %zu are left", idx, at,
                 (unsigned long long)len, (size_t)(pb->end - pb->p - used));
        return -1;
    }
    mg_pb_family *m = io__prometheus__client__metric_family__unpack(
        NULL, (size_t)len, pb->p + used);
    if (!m) {
        snprintf(why, MG_WHY_LEN, "message %u at byte %zu: not a MetricFamily", idx, at);
        return -1;
    }
    if (keep(pb, m)) {
        io__prometheus__client__metric_family__free_unpacked(m, NULL);
        *r = MG_REASON_LIMIT;
        snprintf(why, MG_WHY_LEN, "message %u at byte %zu: out of memory", idx, at);
        return -1;
    }
    pb->p += used + len;
    *mf = m;
    return 1;
}

void mg_pbfmt_fini(struct mg_pbfmt *pb)
{
    for (size_t i = 0; i < pb->nkept; i++)
        io__prometheus__client__metric_family__free_unpacked(pb->kept[i], NULL);
    free(pb->kept);
    pb->kept = NULL;
    pb->nkept = pb->capkept = 0;
}
