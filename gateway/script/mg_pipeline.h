/* mg_pipeline: the scripts' DSL (relabel, drop, transform, aggregate, help,
 * on_sample, cap, limits) compiled into a C plan of steps, run once per new input series
 * to decide its output (name, labels, scale, TTL, gauge rule, HELP) or why it is
 * dropped. Owns the scripts' Lua state and the plan; knows nothing of the
 * store beyond struct mg_route. */
#ifndef MG_PIPELINE_H
#define MG_PIPELINE_H

#include <stddef.h>

#include "mg_lua.h"
#include "mg_store.h"

struct mg_pipeline;

/* Loads files (paths, in the order given) into a fresh sandboxed state and
 * compiles their steps. All load or none: returns NULL with every error
 * as "file:line: message", one a line, in why. files may be empty: the identity. */
struct mg_pipeline *mg_pipeline_new(const char *const *files, size_t nfiles,
                                    const struct mg_lua_limits *lim,
                                    char *why, size_t whylen);
/* NULL is a no-op. */
void mg_pipeline_free(struct mg_pipeline *p);
/* The load's warnings (relabel traps), "file:line: message" one a line,
 * each ending in a newline; "" when none or p is NULL. Owned by p. */
const char *mg_pipeline_warnings(const struct mg_pipeline *p);

/* Runs the plan for a new input series s. Fills r, whose strings borrow
 * from s and from the pipeline until its next route call. When a script
 * fails, r->drop is MG_DROP_SCRIPT_ERROR, *file names the script (static
 * until mg_pipeline_free) and why says what happened. */
void mg_pipeline_route(struct mg_pipeline *p, const struct mg_sample *s,
                       struct mg_route *r, const char **file, char *why,
                       size_t whylen);

/* 1 when an on_sample hook exists: every update then calls it. */
int mg_pipeline_has_on_sample(const struct mg_pipeline *p);
/* Runs on_sample for a counter, gauge or untyped update: 1 with the value
 * to store in *v, 0 when the hook dropped the sample, -1 on a script error
 * (why, *file). */
int mg_pipeline_on_sample(struct mg_pipeline *p, const struct mg_sample *s,
                          double *v, const char **file, char *why,
                          size_t whylen);

/* What each step did to one series, for explain. */
#define MG_TRACE_MAX 64
struct mg_trace_step {
    const char *step;   /* relabel, drop, transform */
    char at[512];       /* file:line of the step */
    char result[480];   /* the series after it, "dropped", or the error */
};
struct mg_trace {
    struct mg_trace_step v[MG_TRACE_MAX];
    size_t n;
};
/* Records the steps of the next mg_pipeline_route calls into t (borrowed);
 * NULL stops. */
void mg_pipeline_set_trace(struct mg_pipeline *p, struct mg_trace *t);

/* The caps the scripts defined (cap{}, limits{}), in order; owned by p. */
struct mg_cap_def;
struct mg_cap_def *const *mg_pipeline_caps(const struct mg_pipeline *p,
                                           size_t *n);


/* Collects the *.lua files of dir in name order into a NULL-terminated
 * array the caller frees with mg_pipeline_files_free. NULL with why. A
 * path that is a file is taken as itself. */
char **mg_pipeline_files(const char *path, size_t *n, char *why,
                         size_t whylen);
void mg_pipeline_files_free(char **files);

#endif
