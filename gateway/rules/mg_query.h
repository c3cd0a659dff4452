/* mg_query: the query object q that recording and alert rules receive
 * (docs/rules.md). Owns a cache of parsed selectors, the range
 * registrations and one bounded history per sampled series; borrows the
 * store; knows nothing of rules or alerts, and of Lua only the functions it
 * pushes. The arithmetic is mg_promql's. */
#ifndef MG_QUERY_H
#define MG_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "mg_store.h"

/* What rule writers can rely on.
 *
 * Selectors are PromQL's, over OUTPUT samples: a counter, gauge or untyped
 * family x is the sample x; a histogram x is x_bucket{le=...}, x_sum and
 * x_count; a summary x is x{quantile=...} (while one input feeds it), x_sum
 * and x_count. le and quantile read as /metrics prints them ("0.5",
 * "+Inf").
 *
 * q.series(sel) is a vector {{labels = {...}, value = n}, ...} whose labels
 * carry every label and __name__. q.value(sel) is the value of the first
 * matching series, nil without one. Without opts.by, q.sum and the range
 * functions return a number, the sum over the matching series
 * (Kahan-summed as PromQL's sum), or nil without data. With opts.by =
 * {"job", ...} they return a vector grouped by those labels: a group
 * carries the by labels it has (a missing one groups as "" and is left
 * out); range functions drop __name__ as PromQL does, q.sum keeps it; by =
 * {} gives one group. q.ratio(a, b): numbers give a / b, nil when b is 0 or
 * either is nil; vectors match on identical labels (__name__ aside, as
 * PromQL's one-to-one matching), one element per match whose divisor is
 * not 0, and a vector and a number divide element by element.
 *
 * Order: vectors, and the "first" series q.value reads when several match,
 * follow Prometheus's label order: each series' labels (__name__ included)
 * sorted by name and compared pair by pair, name then value.
 *
 * Range windows are Prometheus durations ("30s", "5m", "1h30m") over the
 * points in (now - win, now], left-open as in Prometheus 3. rate and
 * increase are PromQL's extrapolatedRate (resets, extrapolation to the
 * window's edges, the zero point of counters) and need two points;
 * avg_over_time is PromQL's Kahan mean; histogram_quantile(phi, sel, win,
 * opts) takes the rate of each bucket series, sums them by le and the by
 * labels, and applies PromQL's bucketQuantile (NaN when a group has no
 * observations, as PromQL answers).
 *
 * History exists only for what a range function asked for. The first call
 * with a given (selector, window) registers it and samples its series at
 * once, so on that first evaluation rate and increase are nil (one point)
 * and avg/max_over_time see the current value only, unless another
 * registration already keeps those series (histories belong to series, not
 * to selectors). Every later mg_query_tick adds a point, so rate has data
 * from the next tick on. A series keeps the points its longest live window
 * can see, at most max_points of them: a window longer than max_points
 * ticks sees the last max_points points. A registration no call asked for
 * during max(3, window / interval) ticks (at most max_points) is dropped,
 * and with it the history nothing else keeps; a series gone from the store
 * loses its history at the next tick. A series a recording rule writes
 * during a tick is sampled at the next one.
 *
 * Errors are Lua errors naming the function: a bad selector (with
 * Prometheus's "1:5: parse error: ..."), a bad window, an unknown option, a
 * malformed vector, more than MG_QUERY_MAX_RANGES registrations.
 *
 * Cost: a call walks every output slot when its selector names no family,
 * else the outputs of at most two families (still a pass over the slots:
 * the store keeps no list per family); a tick does so once per registered
 * selector. Work is charged to the running call's budget. */

#define MG_QUERY_DEFAULT_POINTS 1000
/* Histories held at once; beyond it new series are not sampled. */
#define MG_QUERY_MAX_SERIES 100000
/* Distinct (selector, window) registrations. */
#define MG_QUERY_MAX_RANGES 1024
/* Parsed selectors cached; beyond it instant reads parse each call. */
#define MG_QUERY_MAX_SELECTORS 1024

struct mg_query;

/* max_points bounds each series' history (0: MG_QUERY_DEFAULT_POINTS).
 * Returns NULL on ENOMEM. */
struct mg_query *mg_query_new(size_t max_points);
/* NULL is a no-op. Free it after the Lua states its q tables were pushed
 * into (or never call those tables again): they point at it. */
void mg_query_free(struct mg_query *q);

/* Once per rule tick, before the rules run: drops the registrations no
 * call asked for lately, samples at now_ms every output sample a live
 * registration's selector matches into its history, and drops the
 * histories nothing matched. st is borrowed for the call. Returns 0, or
 * when some series could not be sampled (the rest were): -ENOMEM, -ENOSPC
 * (MG_QUERY_MAX_SERIES), -EINVAL (a selector's regex hit its match
 * limit). */
int mg_query_tick(struct mg_query *q, struct mg_store *st, int64_t now_ms);

/* Pushes a fresh q table whose functions read st at now_ms (both kept in q
 * until the next push: a q table kept by a script reads the latest). It
 * allocates, so call it where a Lua error is caught (inside mg_lua_call);
 * the functions charge their work with mg_lua_charge, so L is one of
 * mg_lua's states. q and st are borrowed and must outlive every call
 * through the table. */
void mg_query_push(lua_State *L, struct mg_query *q, struct mg_store *st,
                   int64_t now_ms);

/* The rules' promql = "..." form: replaces the expression string on top of
 * L's stack by a function(q) returning q.promql(expr). Raises "promql:
 * ..." when the expression does not parse or gives a range or a string. */
void mg_query_promql_expr(lua_State *L);

/* Histories held now, and registrations live now. */
size_t mg_query_series_count(const struct mg_query *q);
size_t mg_query_range_count(const struct mg_query *q);

#endif
