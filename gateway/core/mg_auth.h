/* mg_auth: the role model's credentials and the one function that decides
 * whether a credential may act in a role (push, read, admin). Owns the
 * token tables read from the tokens files (each push token's bound source
 * labels and budget), the basic-auth users with their bcrypt hashes, and the
 * client-certificate bindings (cn:NAME lines). Compares secrets in constant
 * time and never logs them. Knows nothing of sockets, HTTP or TLS: the
 * front ends hand it what the client presented. */
#ifndef MG_AUTH_H
#define MG_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "mg_config.h"
#include "mg_labels.h"

/* One credential of a role: a token, or a client-certificate subject CN.
 * A push principal may bind source labels and carry its own budget. */
struct mg_principal {
    enum mg_role role;
    char *secret;            /* the token; NULL for a cn: binding */
    size_t slen;
    char *cn;                /* the CN of a cn: binding; NULL for a token */
    struct mg_label *labels; /* bound source labels, sorted */
    size_t nlabels;
    uint64_t max_series;     /* live input series it may own; 0 = no limit */
    double rate, burst;      /* samples a second and the bucket; 0 = no limit */
    double bucket, bucket_at; /* tokens left and when last refilled (s) */
    uint64_t key;            /* stable across reloads: which producer this is */
    uint8_t owner;           /* the gateway's slot counting its series; 0 none */
};

/* What a client presented. Any field may be absent. */
struct mg_cred {
    const char *token;       /* bearer token or the message's token key */
    size_t tlen;
    const char *user, *pass; /* HTTP basic auth */
    const char *cn;          /* the CN of a verified client certificate */
    int malformed;           /* an Authorization header we cannot read */
};

enum mg_verdict {
    MG_AUTH_OK,
    MG_AUTH_MISSING,    /* no credential where one is needed: 401 */
    MG_AUTH_BAD,        /* a credential that matches nothing: 401 */
    MG_AUTH_MALFORMED,  /* control bytes, an unreadable header: 401 */
    MG_AUTH_WRONG_ROLE, /* a good credential of another role: 403 */
    MG_AUTH_DISABLED,   /* the role is off: 403 */
};

struct mg_auth;

/* Reads every role's tokens file and users from cfg. NULL with
 * "file:line: message" (never the token) in why. */
struct mg_auth *mg_auth_new(const struct mg_config *cfg, char *why, size_t whylen);
/* NULL is a no-op. */
void mg_auth_free(struct mg_auth *a);
/* Carries each producer's bucket and series count from old to a (same
 * token or CN), so a reload neither refills budgets nor forgets owners. */
void mg_auth_carry(struct mg_auth *a, const struct mg_auth *old);

/* The decision. *who gets the principal the credential names (NULL for
 * basic auth, or an open role with no matching token). */
enum mg_verdict mg_auth_decide(struct mg_auth *a, enum mg_role role,
                               const struct mg_cred *c,
                               struct mg_principal **who);
/* Open, token or off, as configured and defaulted. */
enum mg_role_mode mg_auth_mode(const struct mg_auth *a, enum mg_role role);
/* The reply's wording ("a bearer token is required"); static storage. */
const char *mg_verdict_text(enum mg_verdict v);

/* Takes n samples from p's bucket at now (seconds). 0, or -1 with the
 * seconds until they would fit in *retry_after. */
int mg_auth_take(struct mg_principal *p, double now, double n, double *retry_after);

/* Every principal in turn (i from 0 while it returns non-NULL). */
struct mg_principal *mg_auth_principal(struct mg_auth *a, size_t i);

#endif
