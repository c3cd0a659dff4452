/* mg_gateway: the core both front ends drive: one store, its stats, the
 * pipeline that routes new series, the clock. Takes whole messages or
 * bodies of them, renders scrapes, runs the periodic work. Knows nothing of
 * sockets or of the Lua module's userdata. */
#ifndef MG_GATEWAY_H
#define MG_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"
#include "mg_config.h"
#include "mg_expose.h"
#include "mg_pipeline.h"
#include "mg_store.h"
#include "mg_stats.h"
#include "mg_wire.h"

struct mg_gateway;
struct mg_principal;

/* A gateway over cfg (copied where kept). virtual_clock: time moves only
 * through mg_gateway_advance, from start_ms. Returns NULL with why. */
struct mg_gateway *mg_gateway_new(const struct mg_config *cfg,
                                  int virtual_clock, int64_t start_ms,
                                  char *why, size_t whylen);
/* NULL is a no-op. */
void mg_gateway_free(struct mg_gateway *gw);

int64_t mg_gateway_now(const struct mg_gateway *gw);
/* Moves a virtual clock forward, running the sweeps and ticks that fall
 * due on the way. */
void mg_gateway_advance(struct mg_gateway *gw, double seconds);

/* One complete msgpack message (framed by mg_wire_scan). The message's
 * token key is checked for the push role (token is unused, kept for the
 * callers). Fills res (reset by the caller). */
void mg_gateway_push_message(struct mg_gateway *gw, const char *p, size_t len,
                             enum mg_transport t, const char *token,
                             struct mg_push_result *res);
/* The same, from a sender the transport already authenticated (a bearer
 * token, a client certificate): who is its principal, NULL for anyone on
 * an open role. Token keys in the messages are then ignored. */
void mg_gateway_push_message_as(struct mg_gateway *gw, const char *p, size_t len,
                                enum mg_transport t, struct mg_principal *who,
                                struct mg_push_result *res);
int mg_gateway_push_body_as(struct mg_gateway *gw, const char *p, size_t len,
                            enum mg_transport t, struct mg_principal *who,
                            struct mg_push_result *res);
/* A body of messages back to back (HTTP, a datagram, the Lua module).
 * Returns 0, or -1 when the body is not msgpack messages (res says why);
 * messages before the bad one still count. */
int mg_gateway_push_body(struct mg_gateway *gw, const char *p, size_t len,
                         enum mg_transport t, const char *token,
                         struct mg_push_result *res);

/* One decoded sample from another front end (the Pushgateway API): the
 * same identity checks, on_sample, pipeline, caps and store as a msgpack
 * metric; index names it in res (reset by the caller). Does not count it
 * as received. Returns the index of its input (mg_store_input_at), or
 * MG_NIL when it was refused or dropped before it had one. */
uint32_t mg_gateway_push_sample(struct mg_gateway *gw,
                                const struct mg_sample *s, int32_t index,
                                struct mg_push_result *res);

/* Refuses n metrics for reason r: counts them under r, adds them to res's
 * rejected and records why against metric index (-1: the whole message).
 * res NULL: a request that is no push at all, only counted.
 * The one place a rejection is counted, whichever transport saw it. */
void mg_gateway_reject(struct mg_gateway *gw, struct mg_push_result *res,
                       int32_t index, enum mg_reason r, uint32_t n,
                       const char *why);

/* Removes expired series now. */
void mg_gateway_sweep(struct mg_gateway *gw);
/* Sweeps and publishes the own metrics into the store, as before a
 * scrape: what a remote write pass runs first. */
void mg_gateway_publish(struct mg_gateway *gw);
/* Sweeps, publishes the own metrics and renders every family into out
 * (reset first). 0 or -ENOMEM. */
int mg_gateway_render(struct mg_gateway *gw, enum mg_format f,
                      struct mg_buf *out);

/* Loads pipeline scripts and rule files (paths, in order) into fresh
 * states; only when every file loads do they replace the running ones, and
 * then every live input is routed again at once. Otherwise the old pipeline stays,
 * moongate_config_last_reload_successful drops to 0 and why says
 * "file:line: message". 0 or -1. */
int mg_gateway_load(struct mg_gateway *gw, const char *const *files,
                    size_t nfiles, const char *const *rules, size_t nrules,
                    char *why, size_t whylen);
/* The running scripts' load warnings (relabel traps), "file:line:
 * message" one a line; "" when none. Borrowed until the next load. Each
 * is also logged once when its load succeeds. */
const char *mg_gateway_warnings(const struct mg_gateway *gw);
/* The same for every *.lua file of the scripts and rules paths (each a
 * file or a directory, loaded in name order; NULL: none); a path that cannot
 * be listed fails the load like a file that cannot. */
int mg_gateway_load_dirs(struct mg_gateway *gw, const char *scripts,
                         const char *rules, char *why, size_t whylen);
/* Evaluates the rules now (the daemon's timer; mg_gateway_advance calls it
 * every rule_interval). */
void mg_gateway_rule_tick(struct mg_gateway *gw);
struct mg_notify;
/* Where alerts go (borrowed; NULL: nowhere). */
void mg_gateway_set_notify(struct mg_gateway *gw, struct mg_notify *n);
struct mg_rules;
const struct mg_rules *mg_gateway_rules(const struct mg_gateway *gw);
struct mg_notify_alert;
/* fn sees every batch of alerts handed to Alertmanager (or that would be:
 * the module has none), as it is handed; NULL: nobody. */
void mg_gateway_set_sent_hook(struct mg_gateway *gw,
                              void (*fn)(void *arg, const struct mg_notify_alert *a,
                                         size_t n),
                              void *arg);
/* Moves a virtual clock to ms (not back) and evaluates the rules there, as
 * a tick would. 0, or -EINVAL (a real clock, or ms in the past). */
int mg_gateway_evaluate_at(struct mg_gateway *gw, int64_t ms);
/* The append-only log every accepted message goes to (borrowed; NULL:
 * none), and the replay of one logged message at the clock it was taken
 * (no auth: it passed when it came; not logged again). */
struct mg_aof;
void mg_gateway_set_aof(struct mg_gateway *gw, struct mg_aof *a);
struct mg_aof *mg_gateway_aof(const struct mg_gateway *gw);
/* The Pushgateway groups (borrowed; NULL: none), so snapshots hold them. */
struct mg_pushgw;
void mg_gateway_set_pushgw(struct mg_gateway *gw, struct mg_pushgw *pg);
struct mg_pushgw *mg_gateway_pushgw(const struct mg_gateway *gw);
/* A restored snapshot's Pushgateway section, copied and kept until the
 * groups are made (after the store and the scripts). 0 or -ENOMEM. */
int mg_gateway_keep_pushgw_snap(struct mg_gateway *gw, const void *p, size_t n);
/* The kept section, now the caller's to free; NULL when none. */
void *mg_gateway_take_pushgw_snap(struct mg_gateway *gw, size_t *n);
void mg_gateway_replay(struct mg_gateway *gw, const char *p, size_t len,
                       enum mg_transport t, int64_t ms);
/* The query object rules read through (its histories), borrowed. */
struct mg_query *mg_gateway_query_state(struct mg_gateway *gw);
/* The same, for restoring their state from a snapshot; NULL: no rules. */
struct mg_rules *mg_gateway_rules_rw(struct mg_gateway *gw);
struct mg_caps;
const struct mg_caps *mg_gateway_caps(const struct mg_gateway *gw);
/* The pipeline in force, borrowed until the next load; NULL: none. */
struct mg_pipeline *mg_gateway_pipeline(struct mg_gateway *gw);
/* fn hears every script error as it is counted: the file and "file:line:
 * message" (both borrowed for the call); NULL: nobody. For dry runs. */
void mg_gateway_set_script_error_hook(struct mg_gateway *gw,
                                      void (*fn)(void *arg, const char *file,
                                                 const char *why),
                                      void *arg);

/* What shaped one input series. */
struct mg_explain {
    char input[512];        /* the input series as pushed */
    struct mg_trace trace;  /* each pipeline step and its result */
    char output[512];       /* the output it feeds; "" when dropped */
    const char *dropped;    /* why it feeds nothing, or NULL */
    const char *aggregate;  /* how gauges of its output combine */
    uint32_t inputs;        /* inputs feeding that output */
    char caps[512];         /* the caps that apply: "name: use of limit" */
};
/* Explains the live input series a PromQL selector (len bytes) matches, at
 * most max of them, into out; *n says how many. 0, or -1 with why for a
 * selector Prometheus would refuse. */
int mg_gateway_explain(struct mg_gateway *gw, const char *selector,
                       size_t len, struct mg_explain *out, size_t max,
                       size_t *n, char *why, size_t whylen);

/* GET /api/v1/query: expr (len bytes) evaluated through the rules' query
 * object at time_ms (0: now; otherwise within MG_GATEWAY_QUERY_SKEW_MS of
 * now, since instant selectors read the current values), Prometheus's
 * response body into out. 0, -EINVAL (bad_data: a refused expression or
 * time) or -ERANGE (execution) with why. */
#define MG_GATEWAY_QUERY_SKEW_MS 15000
int mg_gateway_query(struct mg_gateway *gw, const char *expr, size_t len,
                     int64_t time_ms, struct mg_buf *out, char *why,
                     size_t whylen);

/* A dry run: explains s, a series that need not have been pushed, through
 * the identity checks, the limits on inputs, the traced pipeline and the
 * caps that apply, storing and counting nothing. A refusal shows as a
 * "validate" or "limits" step and e->dropped. */
void mg_gateway_explain_sample(struct mg_gateway *gw, const struct mg_sample *s,
                               struct mg_explain *e);

struct mg_stats *mg_gateway_stats(struct mg_gateway *gw);
struct mg_store *mg_gateway_store(struct mg_gateway *gw);
const struct mg_config *mg_gateway_config(const struct mg_gateway *gw);
struct mg_auth;
struct mg_principal;
/* The credentials in force (mg_auth decides with them). */
struct mg_auth *mg_gateway_auth(struct mg_gateway *gw);
/* Puts auth in force (taking it): producers keep their budgets and
 * series counts across the swap. */
void mg_gateway_set_auth(struct mg_gateway *gw, struct mg_auth *auth);
/* Re-reads the tokens files and users of cfg; on failure the old ones
 * stay. 0 or -1 with why. */
int mg_gateway_reload_auth(struct mg_gateway *gw, const struct mg_config *cfg,
                           char *why, size_t whylen);

#endif
