/* mg_push_result: the counts and errors of one push. */
#include "mg_push_result.h"

#include <stdio.h>
#include <string.h>

#include "mg_buf.h"
#include "mg_json.h"
#include "mg_utf8.h"

void mg_push_result_reset(struct mg_push_result *res)
{
    res->accepted = res->rejected = res->dropped = 0;
    res->nerr = 0;
    res->ndrop = 0;
    res->has_ack = 0;
    res->ack = 0;
    res->fatal = 0;
    res->retry_after = 0;
}

void mg_push_result_error(struct mg_push_result *res, int32_t index,
                          enum mg_reason r, const char *why)
{
    if (res->nerr == MG_PUSH_MAX_ERRORS)
        return;
    struct mg_push_error *e = &res->err[res->nerr++];
    e->index = index;
    e->reason = r;
    snprintf(e->detail, sizeof(e->detail), "%s", why);
    /* details quote what producers sent: keep them UTF-8 for JSON and
     * msgpack strings, whatever the bytes and wherever a cut fell */
    for (char *p = e->detail; *p;) {
        size_t n = 1;
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
            if (strnlen(p, n) < n || !mg_utf8_valid(p, n)) {
                *p = '?';
                n = 1;
            }
        }
        p += n;
    }
}

void mg_push_result_json(const struct mg_push_result *res, struct mg_buf *b)
{
    char tmp[96];
    snprintf(tmp, sizeof(tmp), "{\"accepted\":%u,\"rejected\":%u,\"dropped\":%u,\"errors\":[",
             res->accepted, res->rejected, res->dropped);
    mg_buf_adds(b, tmp);
    for (uint32_t i = 0; i < res->nerr; i++) {
        const struct mg_push_error *e = &res->err[i];
        snprintf(tmp, sizeof(tmp), "%s{\"index\":%d,\"reason\":\"%s\",\"detail\":",
                 i ? "," : "", e->index, mg_reason_name(e->reason));
        mg_buf_adds(b, tmp);
        mg_json_cstr(b, e->detail);
        mg_buf_addc(b, '}');
    }
    mg_buf_adds(b, "],\"drops\":[");
    for (uint32_t i = 0; i < res->ndrop; i++) {
        snprintf(tmp, sizeof(tmp), "%s{\"index\":%d,\"reason\":\"%s\"}", i ? "," : "",
                 res->drop[i].index, mg_reason_name(res->drop[i].reason));
        mg_buf_adds(b, tmp);
    }
    mg_buf_adds(b, "]}\n");
}
