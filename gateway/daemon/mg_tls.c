/* mg_tls: server and client SSL contexts, TLS reads and writes. */
#include "mg_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <openssl/x509.h>

struct mg_tls {
    SSL_CTX *ctx;            /* new connections; each SSL holds a reference */
    enum mg_client_auth client_auth;
};

/* The last OpenSSL error as one short line. */
static void ssl_why(char *why, size_t whylen, const char *file, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char buf[160];
    ERR_error_string_n(e, buf, sizeof(buf));
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    snprintf(why, whylen, "%s: %s (%s)", file, what, reason ? reason : buf);
    ERR_clear_error();
}

/* RequestClientCert and RequireAnyClientCert take any certificate. */
static int accept_any(int ok, X509_STORE_CTX *x)
{
    (void)ok;
    (void)x;
    return 1;
}

static SSL_CTX *server_ctx(const struct mg_tls_config *cfg, char *why, size_t whylen)
{
    if (!cfg->cert_file || !cfg->key_file) {
        snprintf(why, whylen, "tls: cert_file and key_file are both required");
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(why, whylen, "tls: out of memory");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    /* the TCP ingest retries a blocked write with whatever its reply
     * buffer then holds: longer, and perhaps moved */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        ssl_why(why, whylen, cfg->cert_file, "cannot load the certificate");
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
        int mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        ssl_why(why, whylen, cfg->key_file,
                mismatch ? "the key does not match the certificate" : "cannot load the private key");
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_why(why, whylen, cfg->key_file, "the key does not match the certificate");
        goto fail;
    }
    enum mg_client_auth ca = cfg->client_auth;
    if (ca >= MG_CLIENT_VERIFY_IF_GIVEN && !cfg->client_ca_file) {
        snprintf(why, whylen, "tls: client_auth_type verifies client certificates: "
                              "client_ca_file is required");
        goto fail;
    }
    if (cfg->client_ca_file) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca_file);
        if (!names || SSL_CTX_load_verify_locations(ctx, cfg->client_ca_file, NULL) != 1) {
            if (names)
                sk_X509_NAME_pop_free(names, X509_NAME_free);
            ssl_why(why, whylen, cfg->client_ca_file, "cannot load the client CA");
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
    }
    switch (ca) {
    case MG_CLIENT_NONE:
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        break;
    case MG_CLIENT_REQUEST:
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
        break;
    case MG_CLIENT_REQUIRE_ANY:
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
        break;
    case MG_CLIENT_VERIFY_IF_GIVEN:
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        break;
    case MG_CLIENT_REQUIRE_VERIFY:
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        break;
    }
    /* session resumption across a reload would skip the new context's checks */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

struct mg_tls *mg_tls_new(const struct mg_tls_config *cfg, char *why, size_t whylen)
{
    struct mg_tls *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    if (mg_tls_reload(t, cfg, why, whylen)) {
        free(t);
        return NULL;
    }
    return t;
}

int mg_tls_reload(struct mg_tls *t, const struct mg_tls_config *cfg, char *why,
                  size_t whylen)
{
    SSL_CTX *ctx = server_ctx(cfg, why, whylen);
    if (!ctx)
        return -1;
    /* connections made on the old context hold their own reference */
    SSL_CTX_free(t->ctx);
    t->ctx = ctx;
    t->client_auth = cfg->client_auth;
    return 0;
}

void mg_tls_free(struct mg_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

int mg_tls_check(const struct mg_tls_config *cfg, char *why, size_t whylen)
{
    SSL_CTX *ctx = server_ctx(cfg, why, whylen);
    if (!ctx)
        return -1;
    SSL_CTX_free(ctx);
    return 0;
}

SSL *mg_tls_accept(struct mg_tls *t, int fd)
{
    SSL *ssl = SSL_new(t->ctx);
    if (!ssl)
        return NULL;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

struct bufferevent *mg_tls_bufferevent(struct event_base *base, struct mg_tls *t)
{
    SSL *ssl = SSL_new(t->ctx);
    if (!ssl)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* a client that closes without close_notify is a closed connection */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

int mg_tls_peer_cn(const struct mg_tls *t, SSL *ssl, char *cn, size_t n)
{
    if (!ssl || t->client_auth < MG_CLIENT_VERIFY_IF_GIVEN ||
        SSL_get_verify_result(ssl) != X509_V_OK)
        return 0;
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert)
        return 0;
    int len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                        (int)n);
    X509_free(cert);
    /* a CN with a NUL inside would compare as a shorter name */
    return len > 0 && (size_t)len < n && strlen(cn) == (size_t)len;
}

static ssize_t io_result(SSL *ssl, int rc)
{
    int finished = SSL_is_init_finished(ssl);
    switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        ERR_clear_error();
        errno = finished ? ECONNRESET : EACCES;
        return -1;
    }
}

ssize_t mg_tls_read(SSL *ssl, void *buf, size_t n)
{
    int rc = SSL_read(ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    return rc > 0 ? rc : io_result(ssl, rc);
}

ssize_t mg_tls_write(SSL *ssl, const void *buf, size_t n)
{
    int rc = SSL_write(ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    return rc > 0 ? rc : io_result(ssl, rc);
}

void mg_tls_close(SSL *ssl)
{
    if (!ssl)
        return;
    if (SSL_is_init_finished(ssl))
        SSL_shutdown(ssl); /* best effort: the socket is non-blocking */
    ERR_clear_error();
    SSL_free(ssl);
}

SSL_CTX *mg_tls_client_ctx(const struct mg_client_tls_config *cfg, char *why, size_t whylen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(why, whylen, "tls: out of memory");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    int ok = cfg->ca_file ? SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL)
                          : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        ssl_why(why, whylen, cfg->ca_file ? cfg->ca_file : "tls", "cannot load the CA");
        goto fail;
    }
    if (cfg->cert_file || cfg->key_file) {
        if (!cfg->cert_file || !cfg->key_file) {
            snprintf(why, whylen, "tls: a client certificate needs cert_file and key_file");
            goto fail;
        }
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
            ssl_why(why, whylen, cfg->cert_file, "cannot load the certificate");
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            ssl_why(why, whylen, cfg->key_file, "cannot load the key, or it does not match");
            goto fail;
        }
    }
    SSL_CTX_set_verify(ctx, cfg->insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                       NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

struct bufferevent *mg_tls_client_bev(void *ctx, struct event_base *base, const char *host)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl)
        return NULL;
    unsigned char addr[16];
    int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    /* the certificate must name the host we dialled: SNI and the check */
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
                   : SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
    struct bufferevent *bev = ok ? bufferevent_openssl_socket_new(
                                       base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
                                 : NULL;
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

/* The first line of path, without its newline, into out. 0 or -1. */
static int read_secret(const char *path, char *out, size_t n, char *why, size_t whylen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int ok = fgets(out, (int)n, f) != NULL;
    fclose(f);
    out[ok ? strcspn(out, "\r\n") : 0] = 0;
    for (const char *p = out; ok && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            ok = 0;
    if (!ok || !out[0]) {
        snprintf(why, whylen, "%s: empty, or a control byte in the secret", path);
        OPENSSL_cleanse(out, n);
        return -1;
    }
    return 0;
}

int mg_client_authorization(const struct mg_client_tls_config *cfg, char *out, size_t n,
                            char *why, size_t whylen)
{
    char secret[1024], pair[1400];
    out[0] = 0;
    if (cfg->bearer_token_file) {
        if (read_secret(cfg->bearer_token_file, secret, sizeof(secret), why, whylen))
            return -1;
        snprintf(out, n, "Bearer %s", secret);
    } else if (cfg->username) {
        if (!cfg->password_file) {
            snprintf(why, whylen, "username needs password_file");
            return -1;
        }
        if (read_secret(cfg->password_file, secret, sizeof(secret), why, whylen))
            return -1;
        int len = snprintf(pair, sizeof(pair), "%s:%s", cfg->username, secret);
        unsigned char b64[1900];
        if (len < 0 || (size_t)len >= sizeof(pair) || n < 7 + 4 * ((size_t)len / 3 + 1) + 1) {
            snprintf(why, whylen, "username and password too long");
            return -1;
        }
        EVP_EncodeBlock(b64, (const unsigned char *)pair, len);
        snprintf(out, n, "Basic %s", b64);
        OPENSSL_cleanse(b64, sizeof(b64));
        OPENSSL_cleanse(pair, sizeof(pair));
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    return 0;
}
