/* mg_config: the daemon's settings: documented defaults, a Lua config file
 * returning a table (every key checked, a typo is an error), and the flags
 * that override it. Owns the strings it holds. */
#ifndef MG_CONFIG_H
#define MG_CONFIG_H

#include <stddef.h>

#include "mg_log.h"
#include "mg_lua.h"
#include "mg_wire.h"

#define MG_MAX_INGEST 8
#define MG_MAX_ALERTMANAGERS 8
#define MG_MAX_PUSHGW_TTL 32

/* pushgateway = { ttl = { {job = "regex", ttl = "1h"}, ... } }: groups
 * whose job matches (anchored) expire ttl after their last push. */
struct mg_pushgw_ttl {
    char *job;
    double seconds;
};

#define MG_MAX_USERS 32

/* The roles of the role model (docs/security.md): who may push, who may
 * read, who may change state. */
enum mg_role { MG_ROLE_PUSH, MG_ROLE_READ, MG_ROLE_ADMIN, MG_ROLE_COUNT };
/* A role's mode: unset means "token when credentials are configured,
 * otherwise open" (admin: "otherwise off unless enable_lifecycle"). */
enum mg_role_mode { MG_MODE_UNSET, MG_MODE_OPEN, MG_MODE_TOKEN, MG_MODE_OFF };

struct mg_role_config {
    enum mg_role_mode mode;
    char *tokens_file;               /* TOKEN [label=value ...] a line */
    char *users[MG_MAX_USERS];       /* basic auth: name -> bcrypt hash */
    char *hashes[MG_MAX_USERS];
    size_t nusers;
};

/* Prometheus's client_auth_type values, in its order. */
enum mg_client_auth { MG_CLIENT_NONE, MG_CLIENT_REQUEST, MG_CLIENT_REQUIRE_ANY,
                      MG_CLIENT_VERIFY_IF_GIVEN, MG_CLIENT_REQUIRE_VERIFY };

struct mg_tls_config {
    char *cert_file, *key_file;      /* both set: TLS on HTTP and TCP ingest */
    char *client_ca_file;
    enum mg_client_auth client_auth;
};

/* Outbound TLS and auth (Alertmanager; later remote write). */
struct mg_client_tls_config {
    char *ca_file, *cert_file, *key_file;
    char *bearer_token_file;
    char *username, *password_file;
    int insecure_skip_verify;
};


#define MG_MAX_REMOTE_WRITE 8
#define MG_MAX_EXTERNAL_LABELS 32

struct mg_relabel;

/* One remote_write destination (docs/remote-write.md); defaults in
 * brackets, set by mg_config_remote_init. */
struct mg_remote_config {
    char *url;                   /* http://host[:port]/path */
    double interval;             /* seconds between passes [15] */
    double timeout;              /* remote_timeout, seconds [30] */
    struct mg_relabel *relabel;  /* write_relabel_configs; NULL: none; owned */
    size_t capacity;             /* queue.capacity, samples [100000] */
    size_t max_samples_per_send; /* [2000] */
    double batch_send_deadline;  /* seconds [5] */
    unsigned min_shards, max_shards; /* [1], [4] */
    double min_backoff, max_backoff; /* seconds [0.03], [5] */
    int send_metadata;           /* metadata.send [true] */
    double metadata_interval;    /* metadata.send_interval, seconds [60] */
    char *bearer_file;           /* authorization.credentials_file */
    char *basic_user;            /* basic_auth.username */
    char *basic_password_file;   /* basic_auth.password_file */
    char *tls_ca_file, *tls_cert_file, *tls_key_file; /* tls.* */
    int tls_insecure;            /* tls.insecure_skip_verify */
};

struct mg_config {
    char *http;                      /* "host:port" */
    char *ingest[MG_MAX_INGEST];     /* "host:port" (TCP+UDP) or "unix:PATH" */
    size_t ningest;
    char *scripts, *rules;           /* directories; NULL = none */
    struct mg_role_config auth[MG_ROLE_COUNT];
    int enable_lifecycle;            /* admin endpoints open without credentials */
    int udp;                         /* UDP beside each TCP ingest address [1] */
    struct mg_tls_config tls;
    struct mg_client_tls_config am_tls; /* alertmanager_tls */
    enum mg_log_format log_format;
    enum mg_log_level log_level;
    int honor_timestamps;
    double sweep_interval;           /* seconds */
    double rule_interval;            /* seconds */
    struct mg_wire_limits wire;
    struct mg_lua_limits lua;
    size_t max_http_body_bytes;
    size_t max_http_header_bytes;
    double header_timeout;           /* seconds to send a whole request */
    double idle_timeout;             /* seconds a connection may stay silent */
    size_t max_connections;
    size_t max_http_buffered_bytes;  /* unfinished requests, all HTTP connections */
    double drain_timeout;            /* seconds SIGTERM waits for peers */
    unsigned messages_per_wakeup;
    size_t history_points;           /* per queried series, for range queries */
    char *alertmanagers[MG_MAX_ALERTMANAGERS]; /* http://host:port[/prefix] */
    size_t nalertmanagers;
    size_t notify_queue;             /* alerts queued per Alertmanager */
    size_t notify_batch;             /* alerts per POST */
    double notify_timeout;           /* seconds */
    char *data_dir;                  /* snapshots; NULL = nothing persists */
    double snapshot_interval;        /* seconds */
    int append_log;                  /* the append-only log between snapshots */
    struct mg_pushgw_ttl pushgw_ttl[MG_MAX_PUSHGW_TTL]; /* first match wins */
    size_t npushgw_ttl;
    char *external_url;              /* generatorURL's base; NULL: http://host:port */
    double resend_delay;             /* seconds between resends of an alert */
    char *external_names[MG_MAX_EXTERNAL_LABELS];  /* sorted by name */
    char *external_values[MG_MAX_EXTERNAL_LABELS];
    size_t nexternal;
    struct mg_remote_config remote[MG_MAX_REMOTE_WRITE];
    size_t nremote;
};

void mg_config_init(struct mg_config *c);
void mg_config_fini(struct mg_config *c);
/* Loads path over c. Returns 0, or -1 with "path:line: message" or
 * "path: key: message" in why. */
int mg_config_load(struct mg_config *c, const char *path, char *why,
                   size_t whylen);
/* Reads a config table at idx of L over c (the Lua module's config = {}).
 * Never raises. 0, or -1 with "path: key: message" in why. */
int mg_config_read(struct mg_config *c, lua_State *L, int idx,
                   const char *path, char *why, size_t whylen);
/* Replaces *slot with a copy of s. 0 or -ENOMEM. */
int mg_config_set_str(char **slot, const char *s);
/* The name of a role ("push"); static storage. */
const char *mg_role_name(enum mg_role r);
/* The remote_write and external_labels keys (mg_config_remote.c): read
 * the value on top of L into c. 0, or -1 with "path: key: message". */
int mg_config_read_remote(struct mg_config *c, lua_State *L, const char *path,
                          char *why, size_t whylen);
int mg_config_read_external(struct mg_config *c, lua_State *L,
                            const char *path, char *why, size_t whylen);
void mg_config_remote_init(struct mg_remote_config *r);
void mg_config_remote_fini(struct mg_config *c);
/* A duration: a number of seconds, or a string of Prometheus's form
 * ("30ms", "15s", "1m30s", "2h"). 0 or -1. */
int mg_config_duration(lua_State *L, int idx, double *out);
/* Adds an ingest address (the flag is repeatable). 0 or -1 with why. */
int mg_config_add_ingest(struct mg_config *c, const char *addr, char *why,
                         size_t whylen);

#endif
