/* mg_rules_int: the rules' private structures, shared by mg_rules.c
 * (loading, evaluation) and mg_rules_json.c (the API's JSON). */
#ifndef MG_RULES_INT_H
#define MG_RULES_INT_H

#include "mg_names.h"
#include "mg_rules.h"

#define WHERE_LEN 512

struct mg_tmpl;

struct kv {
    char *name, *value;
    struct mg_tmpl *tmpl;    /* the value compiled */
};

/* A rules file: Prometheus's group, with group { ... } settings. */
struct group {
    const char *file;
    int64_t interval_ms;     /* 0: every tick */
    int64_t offset_ms;       /* queries read this far back */
    size_t limit;            /* 0: none */
    int64_t last_ms;         /* last evaluation; 0: never */
    int declared, due;
};

struct rule {
    int alert;
    size_t group;
    char *name;
    int ref;                 /* the expr function */
    const char *file;
    char where[WHERE_LEN];
    int64_t for_ms, keep_firing_ms;
    struct kv *labels, *annotations;
    size_t nlabels, nannotations;
    /* health, for /api/v1/rules */
    int evaluated, failed;
    char last_error[MG_WHY_LEN * 2];
    double eval_seconds;
    int64_t last_eval_ms;
    struct mg_alert *alerts;
    size_t nalerts, capalerts;
};

/* An output series a rule wrote, to remove once no rule writes it. */
struct written {
    uint32_t oidx; /* the store's output: the series' identity, and the key */
    char *name;
    struct mg_label *labels;
    size_t n;
    int mark;
};

struct result {
    size_t first, n; /* into res_labels */
    double value;
};

struct mg_rules {
    struct mg_lua *lua;
    struct rule *rules;
    size_t nrules, caprules;
    char **files;
    size_t nfiles;
    struct group *groups;    /* one per file */
    const char *loading;
    int loading_alert;       /* the rule being read is an alert rule */
    /* one evaluation's results, reused */
    struct result *res;
    size_t nres, capres;
    struct mg_label *res_labels;
    size_t nres_labels, capres_labels;
    struct mg_lbuild strings;
    /* series written */
    struct written *w;
    size_t nw, capw;
    struct mg_names wmap;
    /* the running evaluation, for the expr call */
    struct mg_query *query;
    struct mg_store *store;
    int64_t now_ms;
    int64_t last_eval_ms;
    double eval_seconds;
    double interval; /* seconds, as the last evaluation was told */
    const struct mg_rules_env *env; /* the running evaluation's */
};

/* One output label set of an evaluation, for the duplicate check. */
struct lset {
    uint64_t h;
    struct mg_label *v;
    size_t n;
};

/* mg_rules_check.c: whether two of the n sets (sorted, hashed) are equal;
 * reorders s. */
int mg_rules_has_duplicate(struct lset *s, size_t n);

/* mg_rules_notify.c */
void mg_rules_notify(struct rule *ru, const struct mg_rules_env *env, int64_t now);
void mg_rules_alert_free(struct mg_alert *a);

/* Builds the lookup from store identity to written series (index + 1)
 * again: whatever moves or compacts r->w calls it. 0 or -ENOMEM. */
int mg_rules_wmap_rebuild(struct mg_rules *r);

#endif
