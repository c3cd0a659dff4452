/* mg_promql_eval_int: what mg_promql_eval.c (the arena, labels, selectors,
 * functions, the walk) shares with mg_promql_ops.c (binary operators and
 * aggregations). Private to those two files. */
#ifndef MG_PROMQL_EVAL_INT_H
#define MG_PROMQL_EVAL_INT_H

#include "mg_promql.h"
#include "mg_promql_eval.h"
#include "mg_query_int.h"

typedef struct mg_pqe_elem pqe_elem;
typedef struct mg_pqe_value pqe_value;

/* One evaluation. */
struct pqe_ev {
    struct mg_pqe *pe;
    struct mg_query *q;
    struct mg_store *st;
    int64_t now;
    uint64_t work;
    char *why;
    size_t whylen;
};

/* A map from label sets to dense indices, in the arena. */
struct pqe_lmap {
    uint32_t *slot; /* index + 1 */
    size_t mask;
    struct mg_label **k;
    uint32_t *kn;
    uint64_t *h;
    size_t n;
};

/* n bytes of the arena, valid until the next evaluation; NULL on ENOMEM. */
void *pqe_mem(struct pqe_ev *e, size_t n);
int pqe_is_name(const struct mg_label *l);
const struct mg_label *pqe_label_find(const pqe_elem *x, const char *name,
                                      size_t nlen);
/* x without __name__; x with name set to v (removed when vlen is 0).
 * Fresh label arrays: others sharing x's keep theirs. 0 or -ENOMEM. */
int pqe_drop_name(struct pqe_ev *e, pqe_elem *x);
int pqe_label_set(struct pqe_ev *e, pqe_elem *x, const char *name,
                  size_t nlen, const char *v, size_t vlen);
/* {a="b", ...} into buf. */
const char *pqe_labels_str(const struct mg_label *l, size_t n, char *buf,
                           size_t len);
/* A map for at most want keys. lmap_get: the index of l, or -1; with add,
 * l (kept by pointer) is added when new and its index returned. */
int pqe_lmap_init(struct pqe_ev *e, struct pqe_lmap *m, size_t want);
long pqe_lmap_get(struct pqe_lmap *m, struct mg_label *l, size_t n, int add);
/* An empty vector with room for n elements. */
int pqe_vec_alloc(struct pqe_ev *e, pqe_value *v, size_t n);
/* Prometheus's quantile of v (n values, sorted in place). */
double pqe_quantile(double phi, double *v, size_t n);

int pqe_eval(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *out);
int pqe_binary(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *out);
int pqe_agg(struct pqe_ev *e, const struct mg_pq_node *n, pqe_value *out);

#endif
