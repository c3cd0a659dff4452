/* mg_relabel: Prometheus relabel_config semantics (every action, its
 * defaults and its validation), compiled once into a C plan whose regexes
 * are PCRE2 (JIT where available) with match limits. Owns the compiled plan;
 * reads a Lua config table only while compiling; knows nothing of series. */
#ifndef MG_RELABEL_H
#define MG_RELABEL_H

#include <stddef.h>

#include <lua.h>

#include "mg_labels.h"

struct mg_relabel;

/* Compiles the array of relabel configs at stack index idx of L (a Lua
 * sequence of tables with Prometheus's field names; configs are numbered
 * from 1 in messages, as Lua counts). Never raises: on a
 * config Prometheus would refuse, returns -EINVAL and writes a message that
 * names the config and the field ("relabel[2].regex: missing )") into why
 * (whylen bytes, NUL-terminated). On success *out owns the new plan. */
int mg_relabel_compile(lua_State *L, int idx, struct mg_relabel **out,
                       char *why, size_t whylen);

/* Called by mg_relabel_compile_each for config k (from 1): each config
 * refused (warning 0, msg as mg_relabel_compile writes it) and each trap
 * a config falls into (warning 1: a drop on source_labels with the default
 * regex, which drops every series; a drop or keep with a regex but no
 * source_labels; a labeldrop or labelkeep with the default regex). */
typedef void (*mg_relabel_report_fn)(void *ctx, size_t k, int warning,
                                     const char *msg);
/* mg_relabel_compile that goes on past a bad config when fn is set: every
 * refusal and trap goes to fn, and the result is -EINVAL if any config was
 * refused (why then holds the last). A list that is not one, or running
 * out of memory, is not reported through fn: only in why. */
int mg_relabel_compile_each(lua_State *L, int idx, struct mg_relabel **out,
                            mg_relabel_report_fn fn, void *ctx, char *why,
                            size_t whylen);
void mg_relabel_free(struct mg_relabel *rl);

/* Runs the plan over lb, whose labels include __name__. Returns 1 when the
 * series is kept, 0 when a keep/drop step dropped it, -1 on an error (a
 * regex hit its match limit, out of memory) with the reason in why
 * ("relabel[2]: ..."). The plan keeps match scratch for apply, so one plan
 * serves one thread at a time. */
int mg_relabel_apply(const struct mg_relabel *rl, struct mg_lbuild *lb,
                     char *why, size_t whylen);

/* The number of configs in the plan (for explain and status). */
size_t mg_relabel_count(const struct mg_relabel *rl);

#endif
