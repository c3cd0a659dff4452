/* mg_loadgen_tls: moongate-bench's TLS: the client handshake on a connected
 * socket and reads and writes that go through it when there is one. Knows
 * nothing of messages. */
#ifndef MG_LOADGEN_TLS_H
#define MG_LOADGEN_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

/* TLS 1.2+ on fd, the server's certificate checked against ca (any name:
 * the bench dials addresses). NULL after printing why (target names it). */
SSL *mg_bench_tls_connect(int fd, const char *ca, const char *target);
/* read and write on ssl, or on fd when ssl is NULL; -1 with errno EAGAIN
 * when TLS wants more. */
ssize_t mg_bench_read(SSL *ssl, int fd, void *p, size_t n);
ssize_t mg_bench_write(SSL *ssl, int fd, const void *p, size_t n);
/* All n bytes written; 0, -ETIMEDOUT when the socket's send timeout ran
 * out, or -errno. */
int mg_bench_write_all(SSL *ssl, int fd, const char *p, size_t n);

#endif
