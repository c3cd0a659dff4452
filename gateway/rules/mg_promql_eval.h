/* mg_promql_eval: instant PromQL evaluation over the query layer's output
 * samples and histories, as Prometheus's engine evaluates an instant query
 * (vector matching, aggregation, the functions mg_promql_parse accepts).
 * Owns the per-evaluation arena (reset at each evaluation, never freed per
 * sample) and the cache of parsed expressions by text; borrows the query
 * object and the store; knows nothing of Lua. */
#ifndef MG_PROMQL_EVAL_H
#define MG_PROMQL_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "mg_labels.h"
#include "mg_promql_parse.h"

struct mg_query;
struct mg_store;

/* Parsed expressions cached at once; beyond it each call parses. */
#define MG_PQE_MAX_CACHED 4096
/* Prometheus's default lookback for instant selectors with an offset. */
#define MG_PQE_LOOKBACK_MS 300000

/* One element of an instant vector: labels sorted by name, __name__ in its
 * place when the series keeps its name. Arena memory. */
struct mg_pqe_elem {
    struct mg_label *l;
    uint32_t n;
    double v;
};

struct mg_pqe_value {
    int type;                  /* MG_PQ_SCALAR or MG_PQ_VECTOR */
    double s;
    struct mg_pqe_elem *e;     /* sorted by labels */
    size_t n;
};

struct mg_pqe;

struct mg_pqe *mg_pqe_new(void);
void mg_pqe_free(struct mg_pqe *pe);

/* The parsed expression for text (n bytes), from the cache or parsed and
 * cached now. NULL with -EINVAL (why: the parser's message) or -ENOMEM in
 * *err. The top level must be a scalar or an instant vector. */
const struct mg_pq *mg_pqe_get(struct mg_pqe *pe, const char *text, size_t n,
                               int *err, char *why, size_t whylen);

/* Evaluates pq at now_ms over st through q (histories for range and offset
 * selectors are registered there). Resets the arena first: *out is valid
 * until the next evaluation. *work counts the samples and points read.
 * Returns 0, -EINVAL with Prometheus's message in why (vector matching,
 * a regex limit), -ENOMEM, -ENOSPC (too many range registrations). */
int mg_pqe_eval(struct mg_pqe *pe, struct mg_query *q, struct mg_store *st,
                const struct mg_pq *pq, int64_t now_ms,
                struct mg_pqe_value *out, uint64_t *work, char *why,
                size_t whylen);

/* GET /api/v1/query's body for expr (n bytes) evaluated at now_ms through
 * q (its parse cache and arena): Prometheus's shapes, {"status":"success",
 * "data":{"resultType":"vector","result":[{"metric":{...},"value":[t,"v"]}]}}
 * or "scalar" with [t,"v"]. Returns 0, or -EINVAL (a refused expression:
 * Prometheus's bad_data) or -ERANGE (an evaluation error: execution) with
 * the message in why and nothing written. */
struct mg_buf;
int mg_pqe_query_json(struct mg_query *q, struct mg_store *st,
                      const char *expr, size_t n, int64_t now_ms,
                      struct mg_buf *out, char *why, size_t whylen);

/* Whether s (n bytes) parses to a scalar or instant vector: 0, or -EINVAL
 * (-ENOMEM) with the reason in why. */
int mg_pqe_check(const char *s, size_t n, char *why, size_t whylen);
/* Load-time checks of a rule file's literal q.promql expressions and
 * promql = "..." fields: 0, or -EINVAL with "name:line: promql: ..." in
 * why. mg_pqe_check_file reads path (an unreadable file passes: loading it
 * has failed already). */
#define MG_PQ_WHY 512
int mg_pqe_check_source(const char *src, size_t len, const char *name,
                        char *why, size_t whylen);
int mg_pqe_check_file(const char *path, char *why, size_t whylen);

#endif
