/* mg_promql_parse: PromQL expressions parsed into a typed AST, by recursive
 * descent with Prometheus's precedence (or < and/unless < comparisons < + -
 * < * / % atan2 < ^, ^ right-associative, unary minus below ^) and its type
 * rules. Refuses, with the construct named, what moongate does not evaluate
 * (subqueries, @, functions and aggregations outside the subset). Bounded
 * input length and nesting depth. Owns the AST, its strings and its parsed
 * selectors; knows nothing of series, histories or Lua. */
#ifndef MG_PROMQL_PARSE_H
#define MG_PROMQL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "mg_labels.h"
#include "mg_selector.h"

#define MG_PQ_MAX_LEN 65536 /* bytes of one expression */
#define MG_PQ_MAX_DEPTH 64  /* nested operands */

enum mg_pq_type { MG_PQ_SCALAR, MG_PQ_VECTOR, MG_PQ_MATRIX, MG_PQ_STRING };

enum mg_pq_kind { MG_PQ_NUM, MG_PQ_STR, MG_PQ_SEL, MG_PQ_CALL, MG_PQ_AGG,
                  MG_PQ_BIN, MG_PQ_NEG };

enum mg_pq_op {
    MG_PQ_ADD, MG_PQ_SUB, MG_PQ_MUL, MG_PQ_DIV, MG_PQ_MOD, MG_PQ_POW,
    MG_PQ_ATAN2,
    MG_PQ_EQL, MG_PQ_NEQ, MG_PQ_GTR, MG_PQ_LSS, MG_PQ_GTE, MG_PQ_LTE,
    MG_PQ_AND, MG_PQ_OR, MG_PQ_UNLESS,
};

enum mg_pq_func {
    MG_PQF_RATE, MG_PQF_IRATE, MG_PQF_INCREASE, MG_PQF_DELTA, MG_PQF_IDELTA,
    MG_PQF_DERIV,
    MG_PQF_AVG_OT, MG_PQF_MIN_OT, MG_PQF_MAX_OT, MG_PQF_SUM_OT, MG_PQF_COUNT_OT,
    MG_PQF_LAST_OT, MG_PQF_PRESENT_OT, MG_PQF_STDDEV_OT, MG_PQF_STDVAR_OT,
    MG_PQF_QUANTILE_OT, MG_PQF_ABSENT_OT,
    MG_PQF_ABSENT, MG_PQF_HISTOGRAM_QUANTILE,
    MG_PQF_ABS, MG_PQF_CEIL, MG_PQF_FLOOR, MG_PQF_ROUND, MG_PQF_SQRT,
    MG_PQF_EXP, MG_PQF_LN, MG_PQF_LOG2, MG_PQF_LOG10,
    MG_PQF_CLAMP, MG_PQF_CLAMP_MIN, MG_PQF_CLAMP_MAX,
    MG_PQF_LABEL_REPLACE, MG_PQF_TIME, MG_PQF_VECTOR, MG_PQF_SCALAR,
};

enum mg_pq_agg { MG_PQA_SUM, MG_PQA_AVG, MG_PQA_MIN, MG_PQA_MAX, MG_PQA_COUNT,
                 MG_PQA_GROUP, MG_PQA_STDDEV, MG_PQA_STDVAR, MG_PQA_TOPK,
                 MG_PQA_BOTTOMK, MG_PQA_QUANTILE };

/* Vector matching of a binary operator, as Prometheus's VectorMatching. */
enum mg_pq_card { MG_PQ_ONE_TO_ONE, MG_PQ_MANY_TO_ONE, MG_PQ_ONE_TO_MANY,
                  MG_PQ_MANY_TO_MANY };

struct mg_pq_node {
    enum mg_pq_kind kind;
    enum mg_pq_type type;
    uint32_t pos;               /* byte offset in the expression */
    int op;                     /* BIN: mg_pq_op, CALL: mg_pq_func, AGG: mg_pq_agg */
    double num;                 /* NUM */
    const char *text;           /* STR: the unescaped string; SEL: its text */
    size_t len;
    struct mg_selector *sel;    /* SEL */
    int64_t range_ms;           /* SEL: > 0 for a range selector */
    int64_t offset_ms;          /* SEL */
    /* BIN */
    int bool_mod;
    enum mg_pq_card card;
    int on;                     /* on(...) rather than ignoring(...) */
    struct mg_label *include;   /* group_left/group_right labels */
    size_t ninclude;
    /* BIN: on/ignoring labels; AGG: by/without labels (values "") */
    struct mg_label *labels;
    size_t nlabels;
    int without;                /* AGG */
    struct mg_pq_node *lhs, *rhs; /* BIN; NEG: lhs; AGG: lhs the vector, rhs the param */
    struct mg_pq_node **args;   /* CALL */
    size_t nargs;
    /* label_replace: its regex, anchored as Prometheus anchors it, and its
     * replacement, compiled at parse time */
    struct mg_regex *re;
    struct mg_retmpl *tmpl;
};

struct mg_pq;

/* Parses s (n bytes, borrowed). Returns 0 with *out owned by the caller
 * (free with mg_pq_free); -EINVAL with the reason in why, e.g. "1:9: parse
 * error: unexpected end of input" or "function `predict_linear` is not
 * supported (at 1:1)"; -ENOMEM. The top level may be of any type but
 * string; the caller decides what it accepts. */
int mg_pq_parse(const char *s, size_t n, struct mg_pq **out, char *why,
                size_t whylen);
/* NULL is a no-op. */
void mg_pq_free(struct mg_pq *pq);
const struct mg_pq_node *mg_pq_root(const struct mg_pq *pq);
/* The function's or aggregation's PromQL name, for messages. */
const char *mg_pq_func_name(int func);
const char *mg_pq_op_name(int op);

#endif
