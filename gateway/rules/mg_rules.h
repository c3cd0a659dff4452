/* mg_rules: recording and alert rules from the rules directory, in a sandboxed
 * state of their own. Evaluates them in file order at each tick through the
 * query object; recording rules write output series; alert rules follow
 * Prometheus's states (inactive, pending, firing after `for`,
 * keep_firing_for, resolved), template their labels and annotations,
 * expose ALERTS and ALERTS_FOR_STATE, and hand notifications to mg_notify.
 * Owns the rules, their state and the series they wrote. */
#ifndef MG_RULES_H
#define MG_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"
#include "mg_lua.h"
#include "mg_store.h"
#include "mg_stats.h"

struct mg_rules;
struct mg_query;
struct mg_notify;
struct mg_notify_alert;

enum mg_alert_state { MG_ALERT_INACTIVE, MG_ALERT_PENDING, MG_ALERT_FIRING };

/* One alert instance: a rule's alert for one label set. */
struct mg_alert {
    const char *rule;                /* the alert rule's name */
    enum mg_alert_state state;
    struct mg_label *labels;         /* sorted, alertname included */
    size_t nlabels;
    struct mg_label *annotations;
    size_t nannotations;
    double value;
    int64_t active_at, fired_at, resolved_at; /* ms; 0 = not yet */
    int64_t last_sent, valid_until, keep_firing_since;
    uint64_t hash;
    int seen;                        /* in this evaluation's results */
};

/* What an evaluation reads and writes; all borrowed. notify may be NULL. */
struct mg_rules_env {
    struct mg_store *store;
    struct mg_query *query;
    struct mg_stats *stats;
    struct mg_notify *notify;
    double interval;                 /* seconds between evaluations */
    int64_t resend_ms;               /* Prometheus's resend delay; 0: 60 s */
    const char *external_url;        /* generatorURL's base; NULL: none */
    const struct mg_label *external_labels; /* added to sent alerts */
    size_t nexternal_labels;
    /* called with every batch handed to notify (the module records them) */
    void (*sent)(void *arg, const struct mg_notify_alert *a, size_t n);
    void *sent_arg;
};

/* What /api/v1/rules shows of one rule and one group, borrowed from r. */
struct mg_rule_info {
    const char *name, *type, *health, *state, *last_error, *where;
    size_t group;
    int64_t last_eval_ms;            /* 0: never */
    int64_t for_ms, keep_firing_ms;
    size_t nalerts;                  /* pending and firing */
};
struct mg_group_info {
    const char *file;
    int64_t interval_ms, query_offset_ms, last_eval_ms;
    size_t limit;
};

/* Loads rule files (in order) into a fresh sandboxed state. All or none:
 * NULL with "file:line: message" in why. */
struct mg_rules *mg_rules_new(const char *const *files, size_t nfiles,
                              const struct mg_lua_limits *lim, char *why,
                              size_t whylen);
/* NULL is a no-op; the series it wrote stay (see mg_rules_adopt). */
void mg_rules_free(struct mg_rules *r);
/* After a reload: the new rules take over the alert states of rules with
 * the same name and kind, and the series the old ones wrote (removed at
 * the next evaluation if no rule writes them again). */
void mg_rules_adopt(struct mg_rules *r, struct mg_rules *old);

/* Evaluates every rule at now_ms. A rule that fails fails alone (health
 * "err", its last error, moongate_rule_evaluation_failures_total{rule}). */
void mg_rules_eval(struct mg_rules *r, const struct mg_rules_env *env,
                   int64_t now_ms);

/* After mg_rules_adopt: the firing alerts of old's rules that r did not
 * take over (removed or renamed) go to Alertmanager as resolved at now,
 * and leave old. */
void mg_rules_retire(struct mg_rules *old, const struct mg_rules_env *env,
                     int64_t now_ms);

size_t mg_rules_rule_count(const struct mg_rules *r);
void mg_rules_rule_info(const struct mg_rules *r, size_t i,
                        struct mg_rule_info *out);
size_t mg_rules_group_count(const struct mg_rules *r);
void mg_rules_group_info(const struct mg_rules *r, size_t i,
                         struct mg_group_info *out);

/* The alert instances, pending, firing and recently resolved. */
size_t mg_rules_alert_count(const struct mg_rules *r);
const struct mg_alert *mg_rules_alert_at(const struct mg_rules *r, size_t i);

/* GET /api/v1/alerts and /api/v1/rules bodies, Prometheus's shapes. */
void mg_rules_alerts_json(const struct mg_rules *r, struct mg_buf *out);
void mg_rules_rules_json(const struct mg_rules *r, struct mg_buf *out);

#endif
