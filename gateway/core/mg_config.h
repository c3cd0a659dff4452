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
#define MG_MAX_TOKENS 16
#define MG_MAX_ALERTMANAGERS 8
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
    char *tokens[MG_MAX_TOKENS];     /* push auth; none = open */
    size_t ntokens;
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
    size_t max_connection_buffer;    /* bytes buffered for one TCP stream */
    unsigned messages_per_wakeup;
    size_t history_points;           /* per queried series, for range queries */
    char *alertmanagers[MG_MAX_ALERTMANAGERS]; /* http://host:port[/prefix] */
    size_t nalertmanagers;
    size_t notify_queue;             /* alerts queued per Alertmanager */
    size_t notify_batch;             /* alerts per POST */
    double notify_timeout;           /* seconds */
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
