/* mg_cap: cardinality budgets. A cap's definition comes from the scripts
 * (cap{}, limits{}) and is compiled here; its state (what it has admitted,
 * its hits) lives in struct mg_caps, outside any one pipeline, so a reload
 * keeps the state of every cap whose definition is unchanged. Admission
 * runs when a new output series would be created: first come, first
 * served; an expired series frees its room. Owns definitions and states;
 * reads the store only through its hook and its lookups. */
#ifndef MG_CAP_H
#define MG_CAP_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "mg_buf.h"
#include "mg_labels.h"
#include "mg_store.h"
#include "mg_stats.h"

enum mg_cap_kind {
    MG_CAP_METRIC,      /* cap{metric=RE, max_series=N}: series of each metric */
    MG_CAP_LABEL,       /* cap{label=L, max_values=N}: distinct values of L */
    MG_CAP_PER_LABEL,   /* cap{per_label=L, max_series=N}: series per value of L */
    MG_CAP_MAX_SERIES,  /* limits{max_series=N}: every output series */
    MG_CAP_MAX_INPUTS,  /* limits{max_input_series=N}: every input series */
    MG_CAP_MAX_INPUTS_PER_SOURCE /* limits{max_input_series_per_source=N} */
};

enum mg_overflow { MG_OVERFLOW_DROP, MG_OVERFLOW_FOLD, MG_OVERFLOW_DROP_LABEL };

#define MG_OVERFLOW_VALUE "__overflow__"

struct mg_cap_def;
struct mg_caps;

/* Compiles cap{} (limits = 0) or limits{} (limits = 1, which may define
 * two caps) from the table at idx. Never raises: -EINVAL with "cap: field:
 * message" in why. On success appends to *defs (grown with realloc). */
int mg_cap_compile(lua_State *L, int idx, int limits,
                   struct mg_cap_def ***defs, size_t *ndefs, char *why,
                   size_t whylen);
void mg_cap_def_free(struct mg_cap_def *d);
/* Where d was defined ("file:line", copied). 0 or -ENOMEM. */
int mg_cap_def_set_where(struct mg_cap_def *d, const char *where);
/* Where the running cap called name was defined, or NULL (borrowed from
 * its definition: valid until the next mg_caps_set). */
const char *mg_caps_where(const struct mg_caps *c, const char *name);

struct mg_caps *mg_caps_new(void);
void mg_caps_free(struct mg_caps *c);

/* Installs the caps of a newly loaded pipeline (defs borrowed; they must
 * outlive their use here, i.e. until the next mg_caps_set). A cap whose
 * definition equals one already running keeps its state; a new one starts
 * from what st holds now. 0 or -ENOMEM. */
int mg_caps_set(struct mg_caps *c, struct mg_cap_def *const *defs, size_t n,
                struct mg_store *st);

/* The store's output hook: counts an output series coming (delta 1) or
 * going (-1). ctx is the struct mg_caps; v, when not NULL, is ls's n
 * labels, sorted. */
void mg_caps_on_output(void *ctx, const struct mg_family *f,
                       const struct mg_labelset *ls, const struct mg_label *v,
                       size_t n, int delta);

/* Asks for the count slots r's output will take when it is made, so the
 * store's hook finds them in cache. */
void mg_caps_prefetch(struct mg_caps *c, const struct mg_route *r);

/* Admits a new input's output series described by r (type t); an output
 * that exists already is admitted as it is. May rewrite r's labels into lb (fold, drop_label: r then
 * borrows from lb) or set r->drop (MG_DROP_CARDINALITY_CAP, MG_DROP_LIMIT).
 * Counts hits in stats. Returns the name of the cap that acted, or NULL. */
const char *mg_caps_admit(struct mg_caps *c, struct mg_store *st,
                          struct mg_route *r, enum mg_type t,
                          struct mg_lbuild *lb, struct mg_stats *stats);

/* 1 when limits{max_input_series} is reached for a new input (counted as
 * a hit in stats, and *name set). */
int mg_caps_inputs_full(struct mg_caps *c, size_t ninputs,
                        struct mg_stats *stats, const char **name);

/* 1 when limits{max_input_series_per_source} is reached for a new input
 * from the producer whose source labels are source (sorted; counted as a
 * hit in stats, and *name set). */
int mg_caps_source_full(struct mg_caps *c, const struct mg_store *st,
                        const struct mg_label *source, size_t n,
                        struct mg_stats *stats, const char **name);

/* The moongate_cap_* gauges. 0 or -ENOMEM. */
int mg_caps_publish(const struct mg_caps *c, struct mg_store *st);

/* Each cap as JSON objects {name, kind, limit, use, hits, overflow, mode},
 * comma-separated, appended to out. */
void mg_caps_json(const struct mg_caps *c, const struct mg_store *st,
                  struct mg_buf *out);

/* For explain: "cap: use of limit; ..." for every cap that applies to the
 * output name{labels}, into buf (len bytes). */
void mg_caps_describe(struct mg_caps *c, const struct mg_store *st,
                      const char *name, size_t nlen,
                      const struct mg_label *labels, size_t n, char *buf,
                      size_t len);

/* The per_label caps' labels, for the cardinality report's producers. */
size_t mg_caps_per_labels(const struct mg_caps *c, const char **out,
                          size_t max);

#endif
