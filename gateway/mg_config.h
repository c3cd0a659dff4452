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
    char *data_dir;                  /* snapshots; NULL = nothing persists */
    double snapshot_interval;        /* seconds */
    int append_log;                  /* the append-only log between snapshots */
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
/* Adds an ingest address (the flag is repeatable). 0 or -1 with why. */
int mg_config_add_ingest(struct mg_config *c, const char *addr, char *why,
                         size_t whylen);

#endif
