/* mg_gateway_int: struct mg_gateway and the few gateway functions its
 * other files share: mg_gateway.c (the series path, reload, tick),
 * mg_message.c (a message's envelope: decode, credential, client drops)
 * and mg_explain.c (the dry run). Nothing else includes it. */
#ifndef MG_GATEWAY_INT_H
#define MG_GATEWAY_INT_H

#include "mg_gateway.h"

#include "mg_auth.h"
#include "mg_aof.h"
#include "mg_cap.h"
#include "mg_log.h"
#include "mg_pipeline.h"
#include "mg_query.h"
#include "mg_rules.h"

/* Metrics decoded ahead of the one being stored, so the cache misses of
 * their lookups overlap (a batch of 1,000 updates to a million series
 * spends most of its time waiting on memory otherwise). */
#define AHEAD 4

struct mg_gateway {
    struct mg_config cfg; /* borrowed strings: only the numbers are used */
    struct mg_store *store;
    struct mg_stats stats;
    struct mg_wire_scratch *ws;   /* = ring[0]: a message's own keys */
    struct mg_wire_scratch *ring[AHEAD];
    msgpack_zone zone;
    int virtual_clock;
    int64_t clock_ms;
    int64_t next_sweep_ms;
    struct mg_auth *auth;         /* the role model; reloads swap it */
    struct mg_principal *who;     /* the producer of the message being pushed */
    uint32_t owner_series[256];   /* live input series per budget slot */
    struct mg_label *bound_src;   /* a message's source with bound labels */
    struct mg_pipeline *pipe;     /* NULL: every series is itself */
    struct mg_caps *caps;         /* outlives pipelines: reloads keep state */
    struct mg_rules *rules;       /* NULL: no rules */
    struct mg_query *query;
    struct mg_notify *notify;     /* borrowed from the daemon; NULL: none */
    int64_t next_tick_ms;
    struct mg_lbuild cap_lb;      /* labels a cap folded */
    struct mg_label *rl_labels;   /* scratch for re-routing at a reload */
    struct mg_label *rl_source;
    struct mg_log_limit script_log;
    /* what alerts carry: generatorURL's base and the external labels */
    char *external_url;
    struct mg_label ext[MG_MAX_EXTERNAL_LABELS];
    size_t next;
    void (*sent)(void *arg, const struct mg_notify_alert *a, size_t n);
    void *sent_arg;
    struct mg_aof *aof;           /* borrowed from the daemon; NULL: no log */
    struct mg_pushgw *pushgw;     /* borrowed from the daemon; NULL: none */
    void *pushgw_snap;            /* a restored Pushgateway section, kept */
    size_t pushgw_snap_len;       /* until the groups exist to take it */
    int64_t replay_ms;            /* replaying the log: the clock it says */
    /* hears each script error as it is counted (the dry run); NULL: none */
    void (*script_err)(void *arg, const char *file, const char *why);
    void *script_err_arg;
};

/* A metric decoded ahead: its sample (borrowing its ring scratch), its
 * identity hash, or why it was refused. */
struct mg_ahead {
    struct mg_sample s;
    enum mg_reason r;
    uint64_t h;
    char why[MG_WHY_LEN];
};

/* Stores one decoded metric (a->r MG_OK) or counts why it was refused:
 * the hot path for a known series, the pipeline, caps and budgets for a
 * new one. index names it in res. */
void mg_gateway_push_metric(struct mg_gateway *gw, struct mg_ahead *a, int32_t index,
                            int64_t now, struct mg_push_result *res);

/* Rebuilds into s the sample live input in was created from; s borrows
 * the gateway's scratch labels until the next call. */
void mg_gateway_input_sample(struct mg_gateway *gw, struct mg_input *in,
                             struct mg_sample *s);

#endif
