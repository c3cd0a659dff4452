/* mg_auth: tokens files, bcrypt users, the decision. */
#include "mg_auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "mg_common.h"
#include "mg_hash.h"

#define MAX_PRINCIPALS 4096
#define MAX_LINE 4096
/* bcrypt runs on the event loop (tens of ms at cost 10): at most this many
 * a second, so wrong passwords cannot stall ingest; a password bcrypt
 * accepted once is recognised by its SHA-256 after that. */
#define BCRYPT_PER_SECOND 10.0

struct mg_auth {
    enum mg_role_mode mode[MG_ROLE_COUNT];
    struct mg_principal *p;
    size_t n, cap;
    char *uname[MG_ROLE_COUNT][MG_MAX_USERS];
    char *uhash[MG_ROLE_COUNT][MG_MAX_USERS];
    size_t nusers[MG_ROLE_COUNT];
    unsigned char ok_sha[MG_ROLE_COUNT][MG_MAX_USERS][SHA256_DIGEST_LENGTH];
    unsigned char ok_known[MG_ROLE_COUNT][MG_MAX_USERS];
    double bcrypt_left, bcrypt_at; /* checks allowed now, and when counted */
    /* The tokens by a keyed tag, sorted: a lookup is one HMAC and a binary
     * search however many producers there are. The key is random per
     * load, so the search's timing tells nothing about any token. */
    unsigned char tag_key[32];
    struct tag { uint64_t tag; size_t idx; } *tags;
    size_t ntags;
};

static int has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return 1;
    return 0;
}

/* Equal in time that depends only on the lengths, not on where they
 * differ. */
static int secret_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char d = (unsigned char)(alen != blen);
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static void principal_fini(struct mg_principal *p)
{
    free(p->secret);
    free(p->cn);
    for (size_t i = 0; i < p->nlabels; i++) {
        free((char *)p->labels[i].name);
        free((char *)p->labels[i].value);
    }
    free(p->labels);
}

void mg_auth_free(struct mg_auth *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        principal_fini(&a->p[i]);
    free(a->p);
    free(a->tags);
    OPENSSL_cleanse(a->tag_key, sizeof(a->tag_key));
    for (int r = 0; r < MG_ROLE_COUNT; r++)
        for (size_t i = 0; i < a->nusers[r]; i++) {
            free(a->uname[r][i]);
            free(a->uhash[r][i]);
        }
    free(a);
}

/* One word of a tokens line after the token: label=value, or one of the
 * budget keys max_series=N, rate=N[/s], burst=N. */
static int parse_word(struct mg_principal *p, char *w, char *err, size_t errlen)
{
    char *eq = strchr(w, '=');
    if (!eq || eq == w || !eq[1]) {
        snprintf(err, errlen, "expected name=value, got a word without one");
        return -1;
    }
    *eq = 0;
    const char *v = eq + 1;
    char *end;
    if (strcmp(w, "max_series") == 0) {
        unsigned long long n = strtoull(v, &end, 10);
        if (*end || n == 0) {
            snprintf(err, errlen, "max_series must be a positive integer");
            return -1;
        }
        p->max_series = n;
        return 0;
    }
    if (strcmp(w, "rate") == 0 || strcmp(w, "burst") == 0) {
        double d = strtod(v, &end);
        if ((strcmp(w, "rate") == 0 && strcmp(end, "/s") == 0) || !*end) {
            if (d > 0) {
                *(w[0] == 'r' ? &p->rate : &p->burst) = d;
                return 0;
            }
        }
        snprintf(err, errlen, "%s must be a positive number%s", w,
                 w[0] == 'r' ? " of samples a second (rate=N/s)" : "");
        return -1;
    }
    if (!mg_label_name_valid(w, strlen(w)) || strncmp(w, "__", 2) == 0) {
        snprintf(err, errlen, "label name %.64s is invalid", w);
        return -1;
    }
    for (size_t i = 0; i < p->nlabels; i++)
        if (strcmp(p->labels[i].name, w) == 0) {
            snprintf(err, errlen, "label %.64s bound twice", w);
            return -1;
        }
    struct mg_label *nl = realloc(p->labels, (p->nlabels + 1) * sizeof(*nl));
    if (!nl)
        goto oom;
    p->labels = nl;
    struct mg_label *l = &p->labels[p->nlabels];
    l->name = strdup(w);
    l->value = strdup(v);
    if (!l->name || !l->value) {
        free((char *)l->name);
        free((char *)l->value);
        goto oom;
    }
    l->nlen = (uint32_t)strlen(w);
    l->vlen = (uint32_t)strlen(v);
    p->nlabels++;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int parse_line(struct mg_auth *a, enum mg_role role, char *line,
                      char *err, size_t errlen)
{
    char *save = NULL;
    char *tok = strtok_r(line, " \t", &save);
    if (!tok || tok[0] == '#')
        return 0;
    if (a->n == MAX_PRINCIPALS) {
        snprintf(err, errlen, "more than %d credentials", MAX_PRINCIPALS);
        return -1;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        struct mg_principal *np = realloc(a->p, cap * sizeof(*np));
        if (!np) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        a->p = np;
        a->cap = cap;
    }
    struct mg_principal *p = &a->p[a->n];
    memset(p, 0, sizeof(*p));
    p->role = role;
    int is_cn = strncmp(tok, "cn:", 3) == 0;
    if (is_cn && !tok[3]) {
        snprintf(err, errlen, "cn: without a name");
        return -1;
    }
    if (is_cn)
        p->cn = strdup(tok + 3);
    else
        p->secret = strdup(tok);
    if (!p->cn && !p->secret) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->slen = p->secret ? strlen(p->secret) : 0;
    p->key = mg_hash_bytes(tok, strlen(tok), (uint64_t)role + 1);
    a->n++; /* owned from here: freed with a on failure */
    for (char *w; (w = strtok_r(NULL, " \t", &save));) {
        if (w[0] == '#')
            break;
        if (parse_word(p, w, err, errlen))
            return -1;
    }
    if (role != MG_ROLE_PUSH && (p->nlabels || p->max_series || p->rate)) {
        snprintf(err, errlen, "labels and budgets bind push credentials only");
        return -1;
    }
    if (p->rate && !p->burst)
        p->burst = p->rate; /* one second's worth */
    p->bucket = p->burst;
    p->bucket_at = -1;
    mg_labels_sort(p->labels, p->nlabels);
    return 0;
}

static int load_file(struct mg_auth *a, enum mg_role role, const char *path,
                     char *why, size_t whylen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[MAX_LINE];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        char err[160];
        /* tabs separate words; any other control byte (or a NUL) refuses
         * the file: such a token could never be typed back */
        for (size_t i = 0; i < len && rc == 0; i++)
            if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f) {
                snprintf(why, whylen, "%s:%d: a control byte in a credential line", path,
                         lineno);
                rc = -1;
            }
        if (rc == 0 && len != strlen(line)) {
            snprintf(why, whylen, "%s:%d: a NUL byte in a credential line", path, lineno);
            rc = -1;
        }
        if (rc == 0 && parse_line(a, role, line, err, sizeof(err))) {
            snprintf(why, whylen, "%s:%d: %s", path, lineno, err);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

static int index_tokens(struct mg_auth *a, char *why, size_t whylen);

static enum mg_role_mode resolve_mode(const struct mg_config *cfg, enum mg_role r)
{
    const struct mg_role_config *rc = &cfg->auth[r];
    if (rc->mode != MG_MODE_UNSET)
        return rc->mode;
    if (rc->tokens_file || rc->nusers)
        return MG_MODE_TOKEN;
    if (r == MG_ROLE_ADMIN)
        return cfg->enable_lifecycle ? MG_MODE_OPEN : MG_MODE_OFF;
    return MG_MODE_OPEN;
}

struct mg_auth *mg_auth_new(const struct mg_config *cfg, char *why, size_t whylen)
{
    struct mg_auth *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    a->bcrypt_left = BCRYPT_PER_SECOND;
    a->bcrypt_at = mg_mono_seconds();
    for (int r = 0; r < MG_ROLE_COUNT; r++) {
        const struct mg_role_config *rc = &cfg->auth[r];
        a->mode[r] = resolve_mode(cfg, (enum mg_role)r);
        if (rc->tokens_file && load_file(a, (enum mg_role)r, rc->tokens_file, why, whylen))
            goto fail;
        for (size_t i = 0; i < rc->nusers; i++) {
            a->uname[r][i] = strdup(rc->users[i]);
            a->uhash[r][i] = strdup(rc->hashes[i]);
            a->nusers[r]++;
            if (!a->uname[r][i] || !a->uhash[r][i]) {
                snprintf(why, whylen, "out of memory");
                goto fail;
            }
        }
        if (a->mode[r] == MG_MODE_TOKEN && !rc->tokens_file && !rc->nusers) {
            snprintf(why, whylen, "auth.%s: mode token needs tokens_file or basic_auth_users",
                     mg_role_name((enum mg_role)r));
            goto fail;
        }
    }
    if (a->nusers[MG_ROLE_PUSH]) {
        snprintf(why, whylen, "auth.push: basic_auth_users is for the read and admin roles");
        goto fail;
    }
    if (index_tokens(a, why, whylen))
        goto fail;
    return a;
fail:
    mg_auth_free(a);
    return NULL;
}

void mg_auth_carry(struct mg_auth *a, const struct mg_auth *old)
{
    if (!old)
        return;
    for (size_t i = 0; i < a->n; i++)
        for (size_t k = 0; k < old->n; k++)
            if (old->p[k].key == a->p[i].key) {
                a->p[i].owner = old->p[k].owner;
                if (a->p[i].burst == old->p[k].burst) {
                    a->p[i].bucket = old->p[k].bucket;
                    a->p[i].bucket_at = old->p[k].bucket_at;
                }
                break;
            }
}

enum mg_role_mode mg_auth_mode(const struct mg_auth *a, enum mg_role role)
{
    return a ? a->mode[role] : (role == MG_ROLE_ADMIN ? MG_MODE_OFF : MG_MODE_OPEN);
}

struct mg_principal *mg_auth_principal(struct mg_auth *a, size_t i)
{
    return a && i < a->n ? &a->p[i] : NULL;
}

static uint64_t tag_of(const struct mg_auth *a, const char *t, size_t n)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    uint64_t tag = 0;
    if (HMAC(EVP_sha256(), a->tag_key, sizeof(a->tag_key), (const unsigned char *)t, n, mac,
             &len) && len >= 8)
        memcpy(&tag, mac, 8);
    return tag;
}

static int tag_cmp(const void *x, const void *y)
{
    const struct tag *a = x, *b = y;
    return a->tag < b->tag ? -1 : a->tag > b->tag;
}

static int index_tokens(struct mg_auth *a, char *why, size_t whylen)
{
    if (RAND_bytes(a->tag_key, sizeof(a->tag_key)) != 1) {
        snprintf(why, whylen, "no randomness for the token index");
        return -1;
    }
    a->tags = calloc(a->n ? a->n : 1, sizeof(*a->tags));
    if (!a->tags) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < a->n; i++)
        if (a->p[i].secret)
            a->tags[a->ntags++] = (struct tag){tag_of(a, a->p[i].secret, a->p[i].slen), i};
    qsort(a->tags, a->ntags, sizeof(*a->tags), tag_cmp);
    /* one token, one principal: a token listed twice (in one role or two)
     * would make the role it acts in a matter of order */
    for (size_t i = 1; i < a->ntags; i++) {
        const struct mg_principal *x = &a->p[a->tags[i - 1].idx], *y = &a->p[a->tags[i].idx];
        if (a->tags[i - 1].tag == a->tags[i].tag && secret_eq(x->secret, x->slen, y->secret, y->slen)) {
            snprintf(why, whylen, "auth: the same token is listed twice (%s and %s)",
                     mg_role_name(x->role), mg_role_name(y->role));
            return -1;
        }
    }
    return 0;
}

/* The tag finds the candidates; each is compared in full, in time that
 * depends only on the lengths. */
static struct mg_principal *find_token(struct mg_auth *a, const char *t, size_t n)
{
    if (!a->ntags)
        return NULL;
    uint64_t tag = tag_of(a, t, n);
    size_t lo = 0, hi = a->ntags;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->tags[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    struct mg_principal *hit = NULL;
    for (size_t i = lo; i < a->ntags && a->tags[i].tag == tag; i++) {
        struct mg_principal *p = &a->p[a->tags[i].idx];
        if (secret_eq(p->secret, p->slen, t, n) && !hit)
            hit = p;
    }
    return hit;
}

static struct mg_principal *find_cn(struct mg_auth *a, enum mg_role role, const char *cn)
{
    struct mg_principal *other = NULL;
    for (size_t i = 0; i < a->n; i++)
        if (a->p[i].cn && strcmp(a->p[i].cn, cn) == 0) {
            if (a->p[i].role == role)
                return &a->p[i];
            other = &a->p[i];
        }
    return other;
}

/* bcrypt through libxcrypt: crypt_r with the stored hash as the setting
 * gives the stored hash back for the right password. */
static int password_ok(const char *hash, const char *pass)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (!cd)
        return 0;
    const char *out = crypt_r(pass, hash, cd);
    int ok = out && out[0] != '*' && secret_eq(out, strlen(out), hash, strlen(hash));
    free(cd);
    return ok;
}

static int bcrypt_allowed(struct mg_auth *a)
{
    double now = mg_mono_seconds();
    a->bcrypt_left += (now - a->bcrypt_at) * BCRYPT_PER_SECOND;
    if (a->bcrypt_left > BCRYPT_PER_SECOND)
        a->bcrypt_left = BCRYPT_PER_SECOND;
    a->bcrypt_at = now;
    if (a->bcrypt_left < 1)
        return 0;
    a->bcrypt_left -= 1;
    return 1;
}

/* User i of role r with pass: the remembered digest, else bcrypt. */
static int user_ok(struct mg_auth *a, int r, size_t i, const unsigned char *sha,
                   const char *pass)
{
    if (a->ok_known[r][i] && CRYPTO_memcmp(a->ok_sha[r][i], sha, SHA256_DIGEST_LENGTH) == 0)
        return 1;
    if (!bcrypt_allowed(a) || !password_ok(a->uhash[r][i], pass))
        return 0;
    memcpy(a->ok_sha[r][i], sha, SHA256_DIGEST_LENGTH);
    a->ok_known[r][i] = 1;
    return 1;
}

/* Which role's user this is (the password checked), or -1. */
static int find_user(struct mg_auth *a, enum mg_role role, const char *user, const char *pass)
{
    unsigned char sha[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)pass, strlen(pass), sha);
    int found = -1;
    for (int k = 0; k < MG_ROLE_COUNT && found < 0; k++) {
        int r = (int)(role + (enum mg_role)k) % MG_ROLE_COUNT; /* own role first */
        for (size_t i = 0; i < a->nusers[r] && found < 0; i++)
            if (strcmp(a->uname[r][i], user) == 0 && user_ok(a, r, i, sha, pass))
                found = r;
    }
    OPENSSL_cleanse(sha, sizeof(sha));
    return found;
}

enum mg_verdict mg_auth_decide(struct mg_auth *a, enum mg_role role,
                               const struct mg_cred *c, struct mg_principal **who)
{
    *who = NULL;
    enum mg_role_mode mode = mg_auth_mode(a, role);
    if (mode == MG_MODE_OFF)
        return MG_AUTH_DISABLED;
    int bad_token = c->token && (c->tlen == 0 || has_control(c->token, c->tlen) ||
                                 memchr(c->token, 0, c->tlen));
    if (mode == MG_MODE_OPEN) {
        /* open: anyone; a push token that names a producer still binds */
        if (a && c->token && !bad_token) {
            struct mg_principal *p = find_token(a, c->token, c->tlen);
            if (p && p->role == role)
                *who = p;
        }
        return MG_AUTH_OK;
    }
    if (c->malformed || bad_token || (c->user && has_control(c->user, strlen(c->user))))
        return MG_AUTH_MALFORMED;
    if (c->token) {
        struct mg_principal *p = find_token(a, c->token, c->tlen);
        if (!p)
            return MG_AUTH_BAD;
        if (p->role != role)
            return MG_AUTH_WRONG_ROLE;
        *who = p;
        return MG_AUTH_OK;
    }
    if (c->user) {
        int r = find_user(a, role, c->user, c->pass ? c->pass : "");
        if (r < 0)
            return MG_AUTH_BAD;
        return r == (int)role ? MG_AUTH_OK : MG_AUTH_WRONG_ROLE;
    }
    if (c->cn) {
        struct mg_principal *p = find_cn(a, role, c->cn);
        if (p && p->role != role)
            return MG_AUTH_WRONG_ROLE;
        if (p) {
            *who = p;
            return MG_AUTH_OK;
        }
    }
    return MG_AUTH_MISSING;
}

const char *mg_verdict_text(enum mg_verdict v)
{
    switch (v) {
    case MG_AUTH_OK:
        return "ok";
    case MG_AUTH_MISSING:
        return "a credential is required";
    case MG_AUTH_BAD:
        return "bad credential";
    case MG_AUTH_MALFORMED:
        return "malformed credential";
    case MG_AUTH_WRONG_ROLE:
        return "this credential is not allowed here";
    case MG_AUTH_DISABLED:
        return "this endpoint is disabled";
    }
    return "?";
}

int mg_auth_take(struct mg_principal *p, double now, double n, double *retry_after)
{
    if (!(p->rate > 0))
        return 0;
    if (p->bucket_at >= 0) {
        p->bucket += (now - p->bucket_at) * p->rate;
        if (p->bucket > p->burst)
            p->bucket = p->burst;
    }
    p->bucket_at = now;
    /* a message larger than the bucket goes when the bucket is full, and
     * leaves a debt the refill pays off first */
    double need = n > p->burst ? p->burst : n;
    if (need <= p->bucket) {
        p->bucket -= n;
        return 0;
    }
    *retry_after = (need - p->bucket) / p->rate;
    if (*retry_after < 1)
        *retry_after = 1;
    return -1;
}
