/* mg_promql_parse: the grammar, by recursive descent over mg_promql_lex's
 * tokens, typing each node as it builds it. Errors stop the parse at once:
 * every parse function returns NULL and the first message is kept. */
#include "mg_promql_parse_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_promql.h"

/* ---- names ---- */

static const struct {
    const char *name;
    int func;
    int type;          /* the result */
    const char *args;  /* s scalar, v vector, m matrix, t string; ? optional */
} funcs[] = {
    {"rate", MG_PQF_RATE, MG_PQ_VECTOR, "m"},
    {"irate", MG_PQF_IRATE, MG_PQ_VECTOR, "m"},
    {"increase", MG_PQF_INCREASE, MG_PQ_VECTOR, "m"},
    {"delta", MG_PQF_DELTA, MG_PQ_VECTOR, "m"},
    {"idelta", MG_PQF_IDELTA, MG_PQ_VECTOR, "m"},
    {"deriv", MG_PQF_DERIV, MG_PQ_VECTOR, "m"},
    {"avg_over_time", MG_PQF_AVG_OT, MG_PQ_VECTOR, "m"},
    {"min_over_time", MG_PQF_MIN_OT, MG_PQ_VECTOR, "m"},
    {"max_over_time", MG_PQF_MAX_OT, MG_PQ_VECTOR, "m"},
    {"sum_over_time", MG_PQF_SUM_OT, MG_PQ_VECTOR, "m"},
    {"count_over_time", MG_PQF_COUNT_OT, MG_PQ_VECTOR, "m"},
    {"last_over_time", MG_PQF_LAST_OT, MG_PQ_VECTOR, "m"},
    {"present_over_time", MG_PQF_PRESENT_OT, MG_PQ_VECTOR, "m"},
    {"stddev_over_time", MG_PQF_STDDEV_OT, MG_PQ_VECTOR, "m"},
    {"stdvar_over_time", MG_PQF_STDVAR_OT, MG_PQ_VECTOR, "m"},
    {"quantile_over_time", MG_PQF_QUANTILE_OT, MG_PQ_VECTOR, "sm"},
    {"absent_over_time", MG_PQF_ABSENT_OT, MG_PQ_VECTOR, "m"},
    {"absent", MG_PQF_ABSENT, MG_PQ_VECTOR, "v"},
    {"histogram_quantile", MG_PQF_HISTOGRAM_QUANTILE, MG_PQ_VECTOR, "sv"},
    {"abs", MG_PQF_ABS, MG_PQ_VECTOR, "v"},
    {"ceil", MG_PQF_CEIL, MG_PQ_VECTOR, "v"},
    {"floor", MG_PQF_FLOOR, MG_PQ_VECTOR, "v"},
    {"round", MG_PQF_ROUND, MG_PQ_VECTOR, "vs?"},
    {"sqrt", MG_PQF_SQRT, MG_PQ_VECTOR, "v"},
    {"exp", MG_PQF_EXP, MG_PQ_VECTOR, "v"},
    {"ln", MG_PQF_LN, MG_PQ_VECTOR, "v"},
    {"log2", MG_PQF_LOG2, MG_PQ_VECTOR, "v"},
    {"log10", MG_PQF_LOG10, MG_PQ_VECTOR, "v"},
    {"clamp", MG_PQF_CLAMP, MG_PQ_VECTOR, "vss"},
    {"clamp_min", MG_PQF_CLAMP_MIN, MG_PQ_VECTOR, "vs"},
    {"clamp_max", MG_PQF_CLAMP_MAX, MG_PQ_VECTOR, "vs"},
    {"label_replace", MG_PQF_LABEL_REPLACE, MG_PQ_VECTOR, "vtttt"},
    {"time", MG_PQF_TIME, MG_PQ_SCALAR, ""},
    {"vector", MG_PQF_VECTOR, MG_PQ_VECTOR, "s"},
    {"scalar", MG_PQF_SCALAR, MG_PQ_SCALAR, "v"},
};

/* Prometheus's other functions: refused by name rather than as unknown. */
static const char *const other_funcs[] = {
    "predict_linear", "holt_winters", "double_exponential_smoothing",
    "resets", "changes", "label_join", "sort", "sort_desc", "sort_by_label",
    "sort_by_label_desc", "timestamp", "day_of_month", "day_of_week",
    "day_of_year", "days_in_month", "hour", "minute", "month", "year", "sgn",
    "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin",
    "sinh", "tan", "tanh", "deg", "rad", "pi", "histogram_count",
    "histogram_sum", "histogram_avg", "histogram_fraction",
    "histogram_stddev", "histogram_stdvar", "mad_over_time",
    "first_over_time", "ts_of_min_over_time", "ts_of_max_over_time",
    "ts_of_last_over_time", "info", "limitk", "limit_ratio", "count_values",
    NULL,
};

static const struct {
    const char *name;
    int agg;
    int param; /* 0 none, 's' scalar */
} aggs[] = {
    {"sum", MG_PQA_SUM, 0},          {"avg", MG_PQA_AVG, 0},
    {"min", MG_PQA_MIN, 0},          {"max", MG_PQA_MAX, 0},
    {"count", MG_PQA_COUNT, 0},      {"group", MG_PQA_GROUP, 0},
    {"stddev", MG_PQA_STDDEV, 0},    {"stdvar", MG_PQA_STDVAR, 0},
    {"topk", MG_PQA_TOPK, 's'},      {"bottomk", MG_PQA_BOTTOMK, 's'},
    {"quantile", MG_PQA_QUANTILE, 's'},
};

const char *mg_pq_func_name(int func)
{
    for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
        if (funcs[i].func == func)
            return funcs[i].name;
    return "?";
}

static const char *const op_names[] = {
    "+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=",
    "and", "or", "unless",
};

const char *mg_pq_op_name(int op)
{
    return op >= 0 && op <= MG_PQ_UNLESS ? op_names[op] : "?";
}

static const char *const keywords[] = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "offset", "and", "or", "unless", "atan2", NULL,
};

static int is_keyword(const struct parser *p)
{
    for (size_t i = 0; keywords[i]; i++)
        if (pq_tok_is(p, keywords[i]))
            return 1;
    return 0;
}

static const char *type_name(int t)
{
    switch (t) {
    case MG_PQ_SCALAR: return "scalar";
    case MG_PQ_VECTOR: return "instant vector";
    case MG_PQ_MATRIX: return "range vector";
    default: return "string";
    }
}

/* ---- the grammar ---- */

static struct mg_pq_node *parse_expr(struct parser *p, int min_prec);

static struct mg_pq_node *node(struct parser *p, enum mg_pq_kind k, int type,
                               size_t pos)
{
    struct mg_pq_node *n = pq_mem(p, sizeof(*n));
    if (n) {
        n->kind = k;
        n->type = type;
        n->pos = (uint32_t)pos;
    }
    return n;
}

/* "(" label, ... ")" into *out. */
static int parse_labels(struct parser *p, struct mg_label **out, size_t *n,
                        const char *in)
{
    if (pq_expect(p, T_LPAREN, in))
        return -1;
    size_t cap = 0;
    *n = 0;
    while (p->t != T_RPAREN) {
        if (p->t != T_IDENT && p->t != T_STR) {
            pq_unexpected(p, in);
            return -1;
        }
        const char *name = p->s + p->tpos;
        size_t len = p->tlen;
        if (p->t == T_STR && !(name = pq_read_string(p, &len)))
            return -1;
        if (!mg_label_name_valid(name, len) && p->t == T_IDENT) {
            pq_fail(p, p->tpos, "invalid label name \"%.*s\" in %s", (int)len,
                 name, in);
            return -1;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            struct mg_label *nl = pq_mem(p, cap * sizeof(*nl));
            if (!nl)
                return -1;
            if (*n)
                memcpy(nl, *out, *n * sizeof(*nl));
            *out = nl;
        }
        (*out)[(*n)++] = (struct mg_label){name, "", (uint32_t)len, 0};
        pq_lex(p);
        if (p->t == T_COMMA)
            pq_lex(p);
        else if (p->t != T_RPAREN) {
            pq_unexpected(p, in);
            return -1;
        }
    }
    pq_lex(p);
    return p->err ? -1 : 0;
}

/* A duration inside [...] or after offset. */
static int parse_duration(struct parser *p, int64_t *ms, const char *in)
{
    if (p->t != T_NUM) {
        pq_unexpected(p, in);
        return -1;
    }
    char why[128];
    if (mg_duration_parse(p->s + p->tpos, p->tlen, ms, why, sizeof(why))) {
        pq_fail(p, p->tpos, "%s", why);
        return -1;
    }
    pq_lex(p);
    return p->err ? -1 : 0;
}

static struct mg_pq_node *parse_selector(struct parser *p, size_t start)
{
    /* the name (if any) has been read; take the braces whole */
    size_t end = p->pos;
    if (p->t == T_LBRACE) {
        size_t i = p->tpos + 1;
        while (i < p->n && p->s[i] != '}') {
            char c = p->s[i];
            if (c == '"' || c == '\'' || c == '`') {
                for (i++; i < p->n && p->s[i] != c; i++)
                    if (p->s[i] == '\\' && c != '`')
                        i++;
            }
            i++;
        }
        if (i >= p->n)
            return pq_fail(p, p->tpos, "unexpected end of input inside braces");
        end = i + 1;
        p->pos = end;
    } else {
        end = p->tpos;
        p->pos = p->tpos; /* re-read the token after the name */
    }
    while (end > start && isspace((unsigned char)p->s[end - 1]))
        end--;
    struct mg_pq_node *n = node(p, MG_PQ_SEL, MG_PQ_VECTOR, start);
    if (!n)
        return NULL;
    n->text = p->s + start;
    n->len = end - start;
    char why[256];
    int rc = mg_selector_parse(n->text, n->len, &n->sel, why, sizeof(why));
    if (rc == -ENOMEM) {
        p->err = -ENOMEM;
        snprintf(p->why, p->whylen, "out of memory");
        return NULL;
    }
    if (rc) {
        /* the selector's own position, moved to the expression's */
        int l, c, k = 0;
        if (sscanf(why, "%d:%d: %n", &l, &c, &k) == 2 && k > 0 && l == 1)
            return pq_fail(p, start + (size_t)c - 1, "%s",
                        why + k + (strncmp(why + k, "parse error: ", 13) ? 0 : 13));
        return pq_fail(p, start, "%s", why);
    }
    /* freed with the rest */
    struct mg_pq *pq = p->pq;
    if (pq->nsels == pq->capsels) {
        size_t cap = pq->capsels ? pq->capsels * 2 : 8;
        struct mg_selector **ns = realloc(pq->sels, cap * sizeof(*ns));
        if (!ns) {
            mg_selector_free(n->sel);
            p->err = -ENOMEM;
            snprintf(p->why, p->whylen, "out of memory");
            return NULL;
        }
        pq->sels = ns;
        pq->capsels = cap;
    }
    pq->sels[pq->nsels++] = n->sel;
    pq_lex(p);
    return n;
}

static int oom(struct parser *p)
{
    p->err = -ENOMEM;
    snprintf(p->why, p->whylen, "out of memory");
    return -1;
}

/* label_replace's destination checked, its regex and template compiled. */
static int compile_replace(struct parser *p, struct mg_pq_node *n)
{
    const struct mg_pq_node *dst = n->args[1], *re = n->args[4];
    struct mg_pq *pq = p->pq;
    if (!mg_label_name_valid(dst->text, dst->len)) {
        pq_fail(p, dst->pos, "invalid destination label name in label_replace(): "
             "%.*s", (int)dst->len, dst->text);
        return -1;
    }
    if (pq->nrx == pq->caprx) {
        size_t cap = pq->caprx ? pq->caprx * 2 : 4;
        struct mg_pq_node **nr = realloc(pq->rx, cap * sizeof(*nr));
        if (!nr)
            return oom(p);
        pq->rx = nr;
        pq->caprx = cap;
    }
    char *pat = pq_mem(p, re->len + 8);
    if (!pat)
        return -1;
    memcpy(pat, "^(?s:", 5);
    memcpy(pat + 5, re->text, re->len);
    memcpy(pat + 5 + re->len, ")$", 2);
    char why[256];
    int rc = mg_regex_compile(pat, re->len + 7, &n->re, why, sizeof(why));
    if (rc == -ENOMEM)
        return oom(p);
    if (rc) {
        pq_fail(p, re->pos, "invalid regular expression in label_replace(): %s",
             why);
        return -1;
    }
    pq->rx[pq->nrx++] = n;
    if (mg_retmpl_compile(n->args[2]->text, n->args[2]->len, n->re, &n->tmpl))
        return oom(p);
    return 0;
}

static struct mg_pq_node *parse_call(struct parser *p, size_t fi, size_t pos)
{
    struct mg_pq_node *n = node(p, MG_PQ_CALL, funcs[fi].type, pos);
    if (!n || pq_expect(p, T_LPAREN, "function call"))
        return NULL;
    const char *want = funcs[fi].args;
    size_t cap = strlen(want);
    n->args = pq_mem(p, (cap + 1) * sizeof(*n->args));
    n->op = funcs[fi].func;
    if (!n->args)
        return NULL;
    while (p->t != T_RPAREN) {
        size_t apos = p->tpos;
        if (n->nargs >= cap || want[n->nargs] == '?')
            return pq_fail(p, apos, "expected at most %zu argument(s) in call to "
                        "\"%s\", got more", n->nargs, funcs[fi].name);
        struct mg_pq_node *a = parse_expr(p, 0);
        if (!a)
            return NULL;
        int t = want[n->nargs] == 's' ? MG_PQ_SCALAR : want[n->nargs] == 'v'
                ? MG_PQ_VECTOR : want[n->nargs] == 'm' ? MG_PQ_MATRIX : MG_PQ_STRING;
        if ((int)a->type != t)
            return pq_fail(p, apos, "expected type %s in call to function \"%s\", "
                        "got %s", type_name(t), funcs[fi].name, type_name(a->type));
        n->args[n->nargs++] = a;
        if (p->t == T_COMMA)
            pq_lex(p);
        else if (p->t != T_RPAREN)
            return pq_unexpected(p, "function call");
    }
    size_t letters = strcspn(want, "?");
    size_t need = want[letters] == '?' ? letters - 1 : letters;
    if (n->nargs < need)
        return pq_fail(p, p->tpos, "expected %zu argument(s) in call to \"%s\", got %zu",
                    need, funcs[fi].name, n->nargs);
    if (n->op == MG_PQF_LABEL_REPLACE && compile_replace(p, n))
        return NULL;
    pq_lex(p);
    return p->err ? NULL : n;
}

static struct mg_pq_node *parse_agg(struct parser *p, size_t ai, size_t pos)
{
    struct mg_pq_node *n = node(p, MG_PQ_AGG, MG_PQ_VECTOR, pos);
    if (!n)
        return NULL;
    n->op = aggs[ai].agg;
    int grouped = 0;
    if (pq_tok_is(p, "by") || pq_tok_is(p, "without")) {
        n->without = pq_tok_is(p, "without");
        pq_lex(p);
        if (parse_labels(p, &n->labels, &n->nlabels, "grouping opts"))
            return NULL;
        grouped = 1;
    }
    if (pq_expect(p, T_LPAREN, "aggregation"))
        return NULL;
    if (aggs[ai].param) {
        size_t apos = p->tpos;
        if (!(n->rhs = parse_expr(p, 0)))
            return NULL;
        if (n->rhs->type != MG_PQ_SCALAR)
            return pq_fail(p, apos, "expected type scalar in aggregation parameter, "
                        "got %s", type_name(n->rhs->type));
        if (pq_expect(p, T_COMMA, "aggregation"))
            return NULL;
    }
    size_t epos = p->tpos;
    if (!(n->lhs = parse_expr(p, 0)))
        return NULL;
    if (n->lhs->type != MG_PQ_VECTOR)
        return pq_fail(p, epos, "expected type instant vector in aggregation "
                    "expression, got %s", type_name(n->lhs->type));
    if (pq_expect(p, T_RPAREN, "aggregation"))
        return NULL;
    if (!grouped && (pq_tok_is(p, "by") || pq_tok_is(p, "without"))) {
        n->without = pq_tok_is(p, "without");
        pq_lex(p);
        if (parse_labels(p, &n->labels, &n->nlabels, "grouping opts"))
            return NULL;
    }
    return n;
}

/* An identifier in operand position: aggregation, function or selector. */
static struct mg_pq_node *parse_ident(struct parser *p)
{
    size_t pos = p->tpos, len = p->tlen;
    const char *w = p->s + pos;
    if (is_keyword(p))
        return pq_unexpected(p, "expression");
    pq_lex(p);
    if (p->err)
        return NULL;
    int call = p->t == T_LPAREN;
    for (size_t i = 0; i < sizeof(aggs) / sizeof(aggs[0]); i++)
        if (strlen(aggs[i].name) == len && memcmp(aggs[i].name, w, len) == 0) {
            if (call || pq_tok_is(p, "by") || pq_tok_is(p, "without"))
                return parse_agg(p, i, pos);
        }
    if (call) {
        for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
            if (strlen(funcs[i].name) == len && memcmp(funcs[i].name, w, len) == 0)
                return parse_call(p, i, pos);
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(len < 60 ? len : 60), w);
        for (size_t i = 0; other_funcs[i]; i++)
            if (strcmp(other_funcs[i], name) == 0)
                return pq_unsupported(p, pos, strcmp(name, "limitk") &&
                                   strcmp(name, "limit_ratio") &&
                                   strcmp(name, "count_values") ? "function"
                                   : "aggregation", name);
        return pq_fail(p, pos, "unknown function with name \"%s\"", name);
    }
    /* inf and nan are numbers wherever a name could be */
    if ((len == 3 && strncasecmp(w, "inf", 3) == 0) ||
        (len == 3 && strncasecmp(w, "nan", 3) == 0)) {
        struct mg_pq_node *n = node(p, MG_PQ_NUM, MG_PQ_SCALAR, pos);
        if (n)
            n->num = tolower((unsigned char)w[0]) == 'i' ? INFINITY : NAN;
        return n;
    }
    return parse_selector(p, pos);
}

static struct mg_pq_node *parse_primary(struct parser *p)
{
    size_t pos = p->tpos;
    struct mg_pq_node *n;
    switch (p->t) {
    case T_NUM:
        if (!(n = node(p, MG_PQ_NUM, MG_PQ_SCALAR, pos)))
            return NULL;
        if (pq_read_number(p->s + pos, p->tlen, &n->num))
            return pq_fail(p, pos, "bad number or duration syntax: \"%.*s\"",
                        (int)p->tlen, p->s + pos);
        pq_lex(p);
        return n;
    case T_STR:
        if (!(n = node(p, MG_PQ_STR, MG_PQ_STRING, pos)) ||
            !(n->text = pq_read_string(p, &n->len)))
            return NULL;
        pq_lex(p);
        return n;
    case T_LPAREN:
        pq_lex(p);
        if (!(n = parse_expr(p, 0)) || pq_expect(p, T_RPAREN, "paren expression"))
            return NULL;
        return n;
    case T_LBRACE:
        return parse_selector(p, pos);
    case T_IDENT:
        return parse_ident(p);
    default:
        return pq_unexpected(p, "expression");
    }
}

/* A primary with its [range] and offset. */
static struct mg_pq_node *parse_postfix(struct parser *p)
{
    struct mg_pq_node *n = parse_primary(p);
    while (n && !p->err) {
        if (p->t == T_LBRACK) {
            size_t bpos = p->tpos;
            pq_lex(p);
            if (n->kind != MG_PQ_SEL || n->range_ms || n->offset_ms) {
                if (p->t == T_NUM || p->t == T_COLON)
                    return pq_unsupported(p, bpos, "construct", "subquery");
                return pq_fail(p, bpos, "ranges only allowed for vector selectors");
            }
            if (parse_duration(p, &n->range_ms, "range"))
                return NULL;
            if (p->t == T_COLON || (p->t == T_IDENT && p->s[p->tpos] == ':'))
                return pq_unsupported(p, bpos, "construct", "subquery");
            if (n->range_ms <= 0)
                return pq_fail(p, bpos, "range must be greater than 0");
            if (pq_expect(p, T_RBRACK, "range"))
                return NULL;
            n->type = MG_PQ_MATRIX;
        } else if (pq_tok_is(p, "offset")) {
            size_t opos = p->tpos;
            pq_lex(p);
            if (n->kind != MG_PQ_SEL)
                return pq_fail(p, opos, "offset modifier must be preceded by an "
                            "instant vector selector or range vector selector");
            if (n->offset_ms)
                return pq_fail(p, opos, "offset may not be set multiple times");
            if (p->t == T_OP && p->op == MG_PQ_SUB)
                return pq_unsupported(p, opos, "construct", "negative offset");
            if (parse_duration(p, &n->offset_ms, "offset"))
                return NULL;
        } else if (p->t == T_AT) {
            return pq_unsupported(p, p->tpos, "modifier", "@");
        } else {
            break;
        }
    }
    return n;
}

/* Every level of nesting passes through parse_expr, which counts it. */
static struct mg_pq_node *parse_unary(struct parser *p)
{
    struct mg_pq_node *n;
    if (p->t == T_OP && (p->op == MG_PQ_SUB || p->op == MG_PQ_ADD)) {
        size_t pos = p->tpos;
        int neg = p->op == MG_PQ_SUB;
        pq_lex(p);
        /* -a^b is -(a^b): the operand takes ^ */
        struct mg_pq_node *x = parse_expr(p, 6);
        if (!x)
            return NULL;
        if (x->type != MG_PQ_SCALAR && x->type != MG_PQ_VECTOR)
            return pq_fail(p, pos, "unary expression only allowed on expressions "
                        "of type scalar or instant vector, got %s",
                        type_name(x->type));
        if (!neg) {
            n = x;
        } else if (x->kind == MG_PQ_NUM) {
            x->num = -x->num;
            n = x;
        } else if ((n = node(p, MG_PQ_NEG, x->type, pos))) {
            n->lhs = x;
        }
    } else {
        n = parse_postfix(p);
    }
    return n;
}

/* The binary operator at the current token, or -1. */
static int peek_binop(struct parser *p)
{
    if (p->t == T_OP)
        return p->op;
    if (pq_tok_is(p, "and"))
        return MG_PQ_AND;
    if (pq_tok_is(p, "or"))
        return MG_PQ_OR;
    if (pq_tok_is(p, "unless"))
        return MG_PQ_UNLESS;
    if (pq_tok_is(p, "atan2"))
        return MG_PQ_ATAN2;
    return -1;
}

static int prec(int op)
{
    switch (op) {
    case MG_PQ_OR: return 1;
    case MG_PQ_AND: case MG_PQ_UNLESS: return 2;
    case MG_PQ_EQL: case MG_PQ_NEQ: case MG_PQ_GTR: case MG_PQ_LSS:
    case MG_PQ_GTE: case MG_PQ_LTE: return 3;
    case MG_PQ_ADD: case MG_PQ_SUB: return 4;
    case MG_PQ_POW: return 6;
    default: return 5;
    }
}

static int is_cmp(int op)
{
    return op >= MG_PQ_EQL && op <= MG_PQ_LTE;
}

static int is_set(int op)
{
    return op >= MG_PQ_AND;
}

/* bool, on/ignoring(...), group_left/group_right(...) after an operator. */
static int parse_modifiers(struct parser *p, struct mg_pq_node *n)
{
    if (pq_tok_is(p, "bool")) {
        if (!is_cmp(n->op)) {
            pq_fail(p, p->tpos, "bool modifier can only be used on comparison "
                 "operators");
            return -1;
        }
        n->bool_mod = 1;
        pq_lex(p);
    }
    n->card = is_set(n->op) ? MG_PQ_MANY_TO_MANY : MG_PQ_ONE_TO_ONE;
    if (pq_tok_is(p, "on") || pq_tok_is(p, "ignoring")) {
        n->on = pq_tok_is(p, "on");
        pq_lex(p);
        if (parse_labels(p, &n->labels, &n->nlabels, "grouping opts"))
            return -1;
        if (pq_tok_is(p, "group_left") || pq_tok_is(p, "group_right")) {
            if (is_set(n->op)) {
                pq_fail(p, p->tpos, "no grouping allowed for \"%s\" operation",
                     mg_pq_op_name(n->op));
                return -1;
            }
            n->card = pq_tok_is(p, "group_left") ? MG_PQ_MANY_TO_ONE
                                              : MG_PQ_ONE_TO_MANY;
            pq_lex(p);
            if (p->t == T_LPAREN &&
                parse_labels(p, &n->include, &n->ninclude, "grouping opts"))
                return -1;
        }
    }
    return p->err ? -1 : 0;
}

static struct mg_pq_node *binary(struct parser *p, struct mg_pq_node *n,
                                 size_t pos)
{
    struct mg_pq_node *a = n->lhs, *b = n->rhs;
    for (int i = 0; i < 2; i++) {
        const struct mg_pq_node *x = i ? b : a;
        if (x->type != MG_PQ_SCALAR && x->type != MG_PQ_VECTOR)
            return pq_fail(p, x->pos, "binary expression must contain only scalar "
                        "and instant vector types");
    }
    int vv = a->type == MG_PQ_VECTOR && b->type == MG_PQ_VECTOR;
    if (is_set(n->op) && !vv)
        return pq_fail(p, pos, "set operator \"%s\" not allowed in binary scalar "
                    "expression", mg_pq_op_name(n->op));
    if (!vv && (n->nlabels || n->on || n->card == MG_PQ_MANY_TO_ONE ||
                n->card == MG_PQ_ONE_TO_MANY))
        return pq_fail(p, pos, "vector matching only allowed between instant "
                    "vectors");
    if (is_cmp(n->op) && !n->bool_mod && a->type == MG_PQ_SCALAR &&
        b->type == MG_PQ_SCALAR)
        return pq_fail(p, pos, "comparisons between scalars must use BOOL "
                    "modifier");
    /* a label both matched on and included would be ambiguous */
    for (size_t i = 0; n->on && i < n->ninclude; i++)
        for (size_t j = 0; j < n->nlabels; j++)
            if (n->include[i].nlen == n->labels[j].nlen &&
                memcmp(n->include[i].name, n->labels[j].name,
                       n->labels[j].nlen) == 0)
                return pq_fail(p, pos, "label \"%.*s\" must not occur in ON and "
                            "GROUP clause at once", (int)n->labels[j].nlen,
                            n->labels[j].name);
    n->type = vv || a->type == MG_PQ_VECTOR || b->type == MG_PQ_VECTOR
                  ? MG_PQ_VECTOR : MG_PQ_SCALAR;
    return n;
}

static struct mg_pq_node *parse_expr(struct parser *p, int min_prec)
{
    if (++p->depth > MG_PQ_MAX_DEPTH)
        return pq_fail(p, p->tpos, "expression nested deeper than %d",
                    MG_PQ_MAX_DEPTH);
    struct mg_pq_node *lhs = parse_unary(p);
    int op;
    while (lhs && !p->err && (op = peek_binop(p)) >= 0 && prec(op) >= min_prec) {
        size_t pos = p->tpos;
        struct mg_pq_node *n = node(p, MG_PQ_BIN, MG_PQ_VECTOR, pos);
        if (!n)
            return NULL;
        n->op = op;
        pq_lex(p);
        if (parse_modifiers(p, n))
            return NULL;
        n->lhs = lhs;
        n->rhs = parse_expr(p, op == MG_PQ_POW ? prec(op) : prec(op) + 1);
        if (!n->rhs)
            return NULL;
        lhs = binary(p, n, pos);
    }
    p->depth--;
    return p->err ? NULL : lhs;
}

/* ---- the API ---- */

void mg_pq_free(struct mg_pq *pq)
{
    if (!pq)
        return;
    for (size_t i = 0; i < pq->nsels; i++)
        mg_selector_free(pq->sels[i]);
    free(pq->sels);
    for (size_t i = 0; i < pq->nrx; i++) {
        mg_regex_free(pq->rx[i]->re);
        mg_retmpl_free(pq->rx[i]->tmpl);
    }
    free(pq->rx);
    free(pq->src);
    for (size_t i = 0; i < pq->nmem; i++)
        free(pq->mem[i]);
    free(pq->mem);
    free(pq);
}

const struct mg_pq_node *mg_pq_root(const struct mg_pq *pq)
{
    return pq->root;
}

int mg_pq_parse(const char *s, size_t n, struct mg_pq **out, char *why,
                size_t whylen)
{
    *out = NULL;
    if (n > MG_PQ_MAX_LEN) {
        snprintf(why, whylen, "expression longer than %d bytes", MG_PQ_MAX_LEN);
        return -EINVAL;
    }
    struct mg_pq *pq = calloc(1, sizeof(*pq));
    if (!pq || !(pq->src = malloc(n + 1))) {
        free(pq);
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    memcpy(pq->src, s, n);
    pq->src[n] = '\0';
    pq->n = n;
    struct parser p = {pq, pq->src, n, 0, T_EOF, 0, 0, 0, 0, 0, why, whylen};
    pq_lex(&p);
    if (!p.err && p.t == T_EOF)
        pq_fail(&p, 0, "no expression found in input");
    if (!p.err)
        pq->root = parse_expr(&p, 0);
    if (!p.err && p.t != T_EOF)
        pq_unexpected(&p, "expression");
    if (!p.err && pq->root->type == MG_PQ_STRING)
        pq_fail(&p, 0, "a string is not an expression moongate evaluates");
    if (p.err) {
        mg_pq_free(pq);
        return p.err;
    }
    *out = pq;
    return 0;
}
