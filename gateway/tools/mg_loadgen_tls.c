/* mg_loadgen_tls: moongate-bench over TLS. */
#include "mg_loadgen_tls.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/err.h>

SSL *mg_bench_tls_connect(int fd, const char *ca, const char *target)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 || !(ssl = SSL_new(ctx)) ||
        SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
        char e[160];
        ERR_error_string_n(ERR_get_error(), e, sizeof(e));
        fprintf(stderr, "moongate-bench: TLS to %s: %s\n", target, e);
        SSL_free(ssl);
        ssl = NULL;
    }
    SSL_CTX_free(ctx); /* the SSL holds its own reference */
    return ssl;
}

static ssize_t fail(SSL *ssl, int rc)
{
    int e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : ECONNRESET;
    return -1;
}

ssize_t mg_bench_read(SSL *ssl, int fd, void *p, size_t n)
{
    if (!ssl)
        return read(fd, p, n);
    int r = SSL_read(ssl, p, (int)n);
    return r > 0 ? r : fail(ssl, r);
}

ssize_t mg_bench_write(SSL *ssl, int fd, const void *p, size_t n)
{
    if (!ssl)
        return write(fd, p, n);
    int w = SSL_write(ssl, p, (int)n);
    if (w > 0)
        return w;
    ssize_t r = fail(ssl, w);
    if (r == 0)
        errno = EPIPE; /* the peer closed: no write can go on */
    return r == 0 ? -1 : r;
}

int mg_bench_write_all(SSL *ssl, int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = mg_bench_write(ssl, fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
