/* test_auth: mg_auth without sockets: tokens files (bound labels, budgets,
 * cn: lines, the errors named by line and never by token), the decision
 * for every role, mode and credential, bcrypt users through libxcrypt, and
 * the token bucket. Exits non-zero and names each failed case. */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mg_auth.h"
#include "mg_config.h"

static int failures, cases;
static char dir[] = "/tmp/test_auth.XXXXXX";

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        cases++;                                                            \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "test_auth.c:%d: ", __LINE__);                  \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

static char *file(const char *name, const char *text)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    return p;
}

static enum mg_verdict decide(struct mg_auth *a, enum mg_role r, const char *token,
                              const char *user, const char *pass, const char *cn,
                              struct mg_principal **who)
{
    struct mg_cred c = {.token = token, .tlen = token ? strlen(token) : 0,
                        .user = user, .pass = pass, .cn = cn};
    struct mg_principal *w;
    return mg_auth_decide(a, r, &c, who ? who : &w);
}

static void test_tokens_file(void)
{
    struct mg_config cfg;
    char why[256];
    mg_config_init(&cfg);
    cfg.auth[MG_ROLE_PUSH].tokens_file = strdup(file("push", "# a comment\n\n"
        "tok-a tenant=a team=x max_series=10 rate=5/s  # trailing\n"
        "tok-b\tzone=eu burst=7 rate=2\n"
        "cn:agent-1 tenant=c\n"));
    struct mg_auth *a = mg_auth_new(&cfg, why, sizeof(why));
    CHECK(a, "a good file loads: %s", why);
    struct mg_principal *p0 = mg_auth_principal(a, 0), *p1 = mg_auth_principal(a, 1),
                        *p2 = mg_auth_principal(a, 2);
    CHECK(p0 && p1 && p2 && !mg_auth_principal(a, 3), "three credentials");
    CHECK(p0->nlabels == 2 && strcmp(p0->labels[0].name, "team") == 0 &&
              strcmp(p0->labels[1].value, "a") == 0, "labels bound and sorted");
    CHECK(p0->max_series == 10 && p0->rate == 5 && p0->burst == 5, "budget keys are not labels");
    CHECK(p1->rate == 2 && p1->burst == 7 && p1->nlabels == 1, "tab separates; rate=N; burst");
    CHECK(p2->cn && strcmp(p2->cn, "agent-1") == 0 && !p2->secret, "a cn: binding");
    CHECK(mg_auth_mode(a, MG_ROLE_PUSH) == MG_MODE_TOKEN, "a tokens file means token");
    CHECK(mg_auth_mode(a, MG_ROLE_READ) == MG_MODE_OPEN, "read defaults open");
    CHECK(mg_auth_mode(a, MG_ROLE_ADMIN) == MG_MODE_OFF, "admin defaults off");
    mg_auth_free(a);

    static const struct {
        const char *text, *why;
    } bad[] = {
        {"tok max_series=0\n", "push:1: max_series must be a positive integer"},
        {"ok\ntok rate=fast\n", "push:2: rate must be a positive number"},
        {"tok 1abc=x\n", "push:1: label name 1abc is invalid"},
        {"tok __name__=x\n", "push:1: label name __name__ is invalid"},
        {"tok a=1 a=2\n", "push:1: label a bound twice"},
        {"tok novalue\n", "push:1: expected name=value"},
        {"secret\x01tok\n", "push:1: a control byte"},
        {"cn:\n", "push:1: cn: without a name"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        free(cfg.auth[MG_ROLE_PUSH].tokens_file);
        cfg.auth[MG_ROLE_PUSH].tokens_file = strdup(file("push", bad[i].text));
        a = mg_auth_new(&cfg, why, sizeof(why));
        CHECK(!a && strstr(why, bad[i].why), "bad file %zu: got '%s'", i, a ? "" : why);
        CHECK(!strstr(why, "secret") && !strstr(why, "tok "), "no token in '%s'", why);
        mg_auth_free(a);
    }
    free(cfg.auth[MG_ROLE_PUSH].tokens_file);
    cfg.auth[MG_ROLE_PUSH].tokens_file = NULL;
    cfg.auth[MG_ROLE_READ].tokens_file = strdup(file("read", "rtok tenant=a\n"));
    a = mg_auth_new(&cfg, why, sizeof(why));
    CHECK(!a && strstr(why, "bind push credentials only"), "labels on a read token: %s", why);
    mg_auth_free(a);
    free(cfg.auth[MG_ROLE_READ].tokens_file);
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/nothere", dir);
    cfg.auth[MG_ROLE_READ].tokens_file = strdup(missing);
    a = mg_auth_new(&cfg, why, sizeof(why));
    CHECK(!a && strstr(why, "No such file"), "a missing file: %s", why);
    mg_auth_free(a);
    free(cfg.auth[MG_ROLE_READ].tokens_file);
    cfg.auth[MG_ROLE_READ].tokens_file = NULL;
    cfg.auth[MG_ROLE_ADMIN].mode = MG_MODE_TOKEN;
    a = mg_auth_new(&cfg, why, sizeof(why));
    CHECK(!a && strstr(why, "auth.admin"), "token mode without credentials: %s", why);
    mg_auth_free(a);
    mg_config_fini(&cfg);
}

static void test_decide(void)
{
    struct mg_config cfg;
    char why[256];
    mg_config_init(&cfg);
    cfg.auth[MG_ROLE_PUSH].tokens_file = strdup(file("p", "ptok tenant=a\ncn:agent tenant=b\n"));
    cfg.auth[MG_ROLE_READ].tokens_file = strdup(file("r", "rtok\n"));
    cfg.auth[MG_ROLE_ADMIN].tokens_file = strdup(file("a", "atok\ncn:operator\n"));
    struct crypt_data cd;
    memset(&cd, 0, sizeof(cd));
    char salt[64];
    crypt_gensalt_rn("$2y$", 4, NULL, 0, salt, sizeof(salt));
    cfg.auth[MG_ROLE_READ].users[0] = strdup("alice");
    cfg.auth[MG_ROLE_READ].hashes[0] = strdup(crypt_r("pw", salt, &cd));
    crypt_gensalt_rn("$2y$", 4, NULL, 0, salt, sizeof(salt));
    cfg.auth[MG_ROLE_READ].users[1] = strdup("bob");
    cfg.auth[MG_ROLE_READ].hashes[1] = strdup(crypt_r("pw2", salt, &cd));
    cfg.auth[MG_ROLE_READ].nusers = 2;
    struct mg_auth *a = mg_auth_new(&cfg, why, sizeof(why));
    CHECK(a, "loads: %s", why);
    struct mg_principal *who;
    CHECK(decide(a, MG_ROLE_PUSH, "ptok", NULL, NULL, NULL, &who) == MG_AUTH_OK && who &&
              who->nlabels == 1, "the push token");
    CHECK(decide(a, MG_ROLE_PUSH, NULL, NULL, NULL, NULL, NULL) == MG_AUTH_MISSING, "none");
    CHECK(decide(a, MG_ROLE_PUSH, "ptokx", NULL, NULL, NULL, NULL) == MG_AUTH_BAD, "longer");
    CHECK(decide(a, MG_ROLE_PUSH, "pto", NULL, NULL, NULL, NULL) == MG_AUTH_BAD, "a prefix");
    CHECK(decide(a, MG_ROLE_PUSH, "", NULL, NULL, NULL, NULL) == MG_AUTH_MALFORMED, "empty");
    CHECK(decide(a, MG_ROLE_PUSH, "pt\x7fok", NULL, NULL, NULL, NULL) == MG_AUTH_MALFORMED, "DEL");
    struct mg_cred nul = {.token = "ptok\0", .tlen = 5};
    CHECK(mg_auth_decide(a, MG_ROLE_PUSH, &nul, &who) == MG_AUTH_MALFORMED, "a NUL inside");
    CHECK(decide(a, MG_ROLE_PUSH, "rtok", NULL, NULL, NULL, NULL) == MG_AUTH_WRONG_ROLE, "read's");
    CHECK(decide(a, MG_ROLE_READ, "ptok", NULL, NULL, NULL, NULL) == MG_AUTH_WRONG_ROLE, "push's");
    CHECK(decide(a, MG_ROLE_ADMIN, "rtok", NULL, NULL, NULL, NULL) == MG_AUTH_WRONG_ROLE, "read's");
    CHECK(decide(a, MG_ROLE_READ, NULL, "alice", "pw", NULL, NULL) == MG_AUTH_OK, "alice");
    CHECK(decide(a, MG_ROLE_READ, NULL, "alice", "pW", NULL, NULL) == MG_AUTH_BAD, "bad password");
    CHECK(decide(a, MG_ROLE_READ, NULL, "bob", "pw", NULL, NULL) == MG_AUTH_BAD, "no such user");
    CHECK(decide(a, MG_ROLE_ADMIN, NULL, "alice", "pw", NULL, NULL) == MG_AUTH_WRONG_ROLE,
          "alice is a reader");
    CHECK(decide(a, MG_ROLE_PUSH, NULL, NULL, NULL, "agent", &who) == MG_AUTH_OK && who &&
              strcmp(who->labels[0].value, "b") == 0, "a bound certificate");
    CHECK(decide(a, MG_ROLE_PUSH, NULL, NULL, NULL, "stranger", NULL) == MG_AUTH_MISSING,
          "an unbound certificate is no credential");
    CHECK(decide(a, MG_ROLE_PUSH, NULL, NULL, NULL, "operator", NULL) == MG_AUTH_WRONG_ROLE,
          "the admin certificate");
    struct mg_cred bad = {.malformed = 1};
    CHECK(mg_auth_decide(a, MG_ROLE_READ, &bad, &who) == MG_AUTH_MALFORMED, "bad header");
    /* wrong passwords in a burst exhaust the bcrypt budget; a password
     * accepted before is still recognised, a new one waits */
    for (int i = 0; i < 15; i++)
        decide(a, MG_ROLE_READ, NULL, "alice", "guess", NULL, NULL);
    CHECK(decide(a, MG_ROLE_READ, NULL, "alice", "pw", NULL, NULL) == MG_AUTH_OK,
          "alice, remembered, during a flood of guesses");
    CHECK(decide(a, MG_ROLE_READ, NULL, "bob", "pw2", NULL, NULL) == MG_AUTH_BAD,
          "bob's first login waits for the budget");
    mg_auth_free(a);

    /* open and off */
    cfg.auth[MG_ROLE_PUSH].mode = MG_MODE_OPEN;
    cfg.auth[MG_ROLE_READ].mode = MG_MODE_OFF;
    a = mg_auth_new(&cfg, why, sizeof(why));
    CHECK(decide(a, MG_ROLE_PUSH, NULL, NULL, NULL, NULL, &who) == MG_AUTH_OK && !who, "open");
    CHECK(decide(a, MG_ROLE_PUSH, "nope", NULL, NULL, NULL, &who) == MG_AUTH_OK && !who,
          "open ignores a wrong token");
    CHECK(decide(a, MG_ROLE_PUSH, "ptok", NULL, NULL, NULL, &who) == MG_AUTH_OK && who,
          "open still binds a known token");
    CHECK(decide(a, MG_ROLE_READ, "rtok", NULL, NULL, NULL, NULL) == MG_AUTH_DISABLED, "off");
    mg_auth_free(a);
    mg_config_fini(&cfg);

    mg_config_init(&cfg);
    cfg.enable_lifecycle = 1;
    a = mg_auth_new(&cfg, why, sizeof(why));
    CHECK(mg_auth_mode(a, MG_ROLE_ADMIN) == MG_MODE_OPEN, "enable_lifecycle opens admin");
    mg_auth_free(a);
    mg_config_fini(&cfg);
}

/* Many producers: each token finds its own principal through the index;
 * a token listed twice is an error. */
static void test_many(void)
{
    struct mg_config cfg;
    char why[256];
    size_t n = 2000;
    char *text = malloc(n * 40), *q = text;
    for (size_t i = 0; i < n; i++)
        q += sprintf(q, "tok-%zu tenant=t%zu\n", i, i);
    mg_config_init(&cfg);
    cfg.auth[MG_ROLE_PUSH].tokens_file = strdup(file("many", text));
    struct mg_auth *a = mg_auth_new(&cfg, why, sizeof(why));
    CHECK(a, "2000 tokens load: %s", why);
    int wrong = 0;
    for (size_t i = 0; a && i < n; i += 7) {
        char tok[32], val[32];
        struct mg_principal *who = NULL;
        snprintf(tok, sizeof(tok), "tok-%zu", i);
        snprintf(val, sizeof(val), "t%zu", i);
        if (decide(a, MG_ROLE_PUSH, tok, NULL, NULL, NULL, &who) != MG_AUTH_OK || !who ||
            strcmp(who->labels[0].value, val) != 0)
            wrong++;
    }
    CHECK(!wrong, "%d tokens found the wrong principal", wrong);
    CHECK(decide(a, MG_ROLE_PUSH, "tok-2000", NULL, NULL, NULL, NULL) == MG_AUTH_BAD, "no such");
    mg_auth_free(a);
    free(cfg.auth[MG_ROLE_PUSH].tokens_file);
    cfg.auth[MG_ROLE_PUSH].tokens_file = strdup(file("dup", "dupl-tok\n"));
    cfg.auth[MG_ROLE_ADMIN].tokens_file = strdup(file("dup2", "dupl-tok\n"));
    a = mg_auth_new(&cfg, why, sizeof(why));
    CHECK(!a && strstr(why, "listed twice") && !strstr(why, "dupl-tok"), "a duplicate: %s", why);
    mg_auth_free(a);
    mg_config_fini(&cfg);
    free(text);
}

static void test_bucket(void)
{
    struct mg_principal p = {.rate = 10, .burst = 20, .bucket = 20, .bucket_at = -1};
    double wait = 0;
    CHECK(mg_auth_take(&p, 100, 15, &wait) == 0, "within the burst");
    CHECK(mg_auth_take(&p, 100, 10, &wait) == -1 && wait >= 0.5 - 1e-9, "over: wait %g", wait);
    CHECK(mg_auth_take(&p, 100.5, 10, &wait) == 0, "refilled at 10/s");
    CHECK(mg_auth_take(&p, 100.5, 1, &wait) == -1, "empty again");
    CHECK(mg_auth_take(&p, 200, 50, &wait) == 0, "larger than the burst when full");
    CHECK(mg_auth_take(&p, 201, 1, &wait) == -1, "its debt is paid first");
    struct mg_principal none = {0};
    CHECK(mg_auth_take(&none, 0, 1e9, &wait) == 0, "no rate, no limit");
}

static void test_carry(void)
{
    struct mg_config cfg;
    char why[256];
    mg_config_init(&cfg);
    cfg.auth[MG_ROLE_PUSH].tokens_file = strdup(file("p", "t1 rate=5/s\nt2\n"));
    struct mg_auth *old = mg_auth_new(&cfg, why, sizeof(why));
    double wait;
    mg_auth_principal(old, 0)->owner = 7;
    mg_auth_take(mg_auth_principal(old, 0), 1, 5, &wait);
    free(cfg.auth[MG_ROLE_PUSH].tokens_file);
    cfg.auth[MG_ROLE_PUSH].tokens_file = strdup(file("p", "t3\nt1 rate=5/s\n"));
    struct mg_auth *a = mg_auth_new(&cfg, why, sizeof(why));
    mg_auth_carry(a, old);
    CHECK(mg_auth_principal(a, 1)->owner == 7, "the same token keeps its series count");
    CHECK(mg_auth_take(mg_auth_principal(a, 1), 1, 1, &wait) == -1, "and its empty bucket");
    CHECK(mg_auth_principal(a, 0)->owner == 0, "a new token starts afresh");
    mg_auth_free(old);
    mg_auth_free(a);
    mg_config_fini(&cfg);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_tokens_file();
    test_decide();
    test_many();
    test_bucket();
    test_carry();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    printf("test_auth: %d cases, %d failed\n", cases, failures);
    return failures ? 1 : 0;
}
