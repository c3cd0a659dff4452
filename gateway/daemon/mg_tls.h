/* mg_tls: the listeners' TLS on OpenSSL: the server SSL_CTX built from
 * the tls config (certificate, key, client CA, client_auth_type, TLS 1.2
 * at least), swapped whole on reload while open connections keep the one
 * they started with; SSL objects for the TCP ingest, bufferevents for
 * evhttp, the verified client certificate's CN. Also the outbound side
 * (mg_tls_client_*): a client SSL_CTX from a CA file and an optional client
 * certificate, for Alertmanager and later remote write. Knows nothing of
 * tokens or roles. */
#ifndef MG_TLS_H
#define MG_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "mg_config.h"

struct mg_tls;

/* A server context from cfg (cert_file and key_file set). NULL with one
 * line in why ("gw.crt: no certificate in the file"). */
struct mg_tls *mg_tls_new(const struct mg_tls_config *cfg, char *why, size_t whylen);
/* Builds a new context from cfg and puts it in force for new connections;
 * on failure the old one stays. 0 or -1 with why. */
int mg_tls_reload(struct mg_tls *t, const struct mg_tls_config *cfg, char *why,
                  size_t whylen);
/* NULL is a no-op. */
void mg_tls_free(struct mg_tls *t);
/* Validates cfg as mg_tls_new would (files exist, parse, key matches). */
int mg_tls_check(const struct mg_tls_config *cfg, char *why, size_t whylen);

/* A server-side SSL on fd for a new connection, or NULL. */
SSL *mg_tls_accept(struct mg_tls *t, int fd);
/* A bufferevent that accepts TLS, for evhttp's per-connection callback. */
struct bufferevent *mg_tls_bufferevent(struct event_base *base, struct mg_tls *t);
/* The subject CN of ssl's client certificate when the context verifies
 * client certificates and this one verified: 1 and cn filled, else 0. */
int mg_tls_peer_cn(const struct mg_tls *t, SSL *ssl, char *cn, size_t n);

/* recv and send through ssl: >0 bytes, 0 at the peer's close, -1 with
 * errno EAGAIN when the handshake or a record needs more, EACCES when the
 * handshake failed (no certificate, one that does not verify, not TLS). */
ssize_t mg_tls_read(SSL *ssl, void *buf, size_t n);
ssize_t mg_tls_write(SSL *ssl, const void *buf, size_t n);
void mg_tls_close(SSL *ssl);

/* A client context: verify peers against ca_file (the system's when
 * NULL), present cert_file/key_file when set. NULL with why. */
SSL_CTX *mg_tls_client_ctx(const struct mg_client_tls_config *cfg, char *why, size_t whylen);
/* A bufferevent dialling host over TLS on ctx (an SSL_CTX *), checking
 * that the certificate names host: mg_notify's tls_bev. */
struct bufferevent *mg_tls_client_bev(void *ctx, struct event_base *base, const char *host);
/* The Authorization header for cfg: "Bearer <bearer_token_file>",
 * "Basic <username:password_file>", or "" for none, into out (n bytes).
 * 0 or -1 with why (never the secret). */
int mg_client_authorization(const struct mg_client_tls_config *cfg, char *out, size_t n,
                            char *why, size_t whylen);

#endif
