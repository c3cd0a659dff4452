/* mg_loadgen_http: moongate-bench's HTTP transport: one POST /api/v1/push
 * of a msgpack body on a kept-alive connection, its reply read whole.
 * Knows nothing of messages beyond their bytes. */
#ifndef MG_LOADGEN_HTTP_H
#define MG_LOADGEN_HTTP_H

#include <stddef.h>

#include <openssl/ssl.h>

/* Posts body (n bytes) to /api/v1/push on fd (through ssl when not NULL)
 * and reads the reply; *status is its HTTP status and reply (cap bytes,
 * NUL-terminated, cut to fit) its body. 0 or -errno; timeout_s bounds the
 * wait for the reply. */
int mg_bench_http_push(SSL *ssl, int fd, const char *body, size_t n,
                       int *status, char *reply, size_t cap, double timeout_s);

#endif
