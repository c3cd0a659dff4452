/* mg_loadgen_http: moongate-bench's HTTP transport: POST /api/v1/push of a
 * msgpack body on a kept-alive connection, and its reply read whole; the
 * two apart, so that requests may be pipelined. Knows nothing of messages
 * beyond their bytes. */
#ifndef MG_LOADGEN_HTTP_H
#define MG_LOADGEN_HTTP_H

#include <stddef.h>

#include <openssl/ssl.h>

/* What has been read of the replies on one connection: a read may take the
 * start of the next reply with the end of this one. Zeroed to start. */
struct mg_bench_http {
    char buf[8192];
    size_t len;
};

/* Writes a POST of body (n bytes) to /api/v1/push on fd (through ssl when
 * not NULL). 0 or -errno. */
int mg_bench_http_send(SSL *ssl, int fd, const char *body, size_t n);

/* Reads the next reply; *status is its HTTP status and reply (cap bytes,
 * NUL-terminated, cut to fit) its body. 0 or -errno; timeout_s bounds each
 * wait for bytes. */
int mg_bench_http_reply(SSL *ssl, int fd, struct mg_bench_http *rx, int *status,
                        char *reply, size_t cap, double timeout_s);

#endif
