/* mg_query_index: per-tick posting lists for equality matchers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mg_names.h"
#include "mg_vec.h"
#include "mg_query_int.h"

struct posting {
    uint32_t *v;
    uint32_t n, cap;
};

struct qindex {
    uint32_t fam;
    char *label;
    size_t llen;
    struct mg_names values; /* value (borrowed from the label sets) -> posting */
};

static void index_free(struct qindex *x)
{
    for (size_t i = 0; x->values.slot && i <= x->values.mask; i++)
        if (x->values.slot[i].name) {
            struct posting *p = x->values.slot[i].val;
            free(p->v);
            free(p);
        }
    mg_names_fini(&x->values);
    free(x->label);
    free(x);
}

void mg_query_index_free(struct qindex_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        index_free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int add(struct qindex *x, const char *v, size_t vlen, uint32_t idx)
{
    struct posting *p = mg_names_get(&x->values, v, vlen);
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p || mg_names_put(&x->values, v, vlen, p)) {
            free(p);
            return -ENOMEM;
        }
    }
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 4;
        uint32_t *nv = realloc(p->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        p->v = nv;
        p->cap = cap;
    }
    p->v[p->n++] = idx;
    return 0;
}

static struct qindex *build(struct mg_store *st, const struct mg_family *f,
                            const struct mg_label *eq)
{
    struct qindex *x = calloc(1, sizeof(*x));
    if (!x || !(x->label = strndup(eq->name, eq->nlen))) {
        free(x);
        return NULL;
    }
    x->fam = f->id;
    x->llen = eq->nlen;
    mg_names_init(&x->values);
    for (uint32_t i = mg_store_family_head(f); i != MG_NIL; i = mg_store_output_next(st, i)) {
        const struct mg_output *o = mg_store_output_at(st, i);
        size_t pos = 0;
        struct mg_label l;
        while (mg_labelset_next(o->ls, &pos, &l)) {
            if (l.nlen != eq->nlen || memcmp(l.name, eq->name, l.nlen) != 0)
                continue;
            if (add(x, l.value, l.vlen, i)) {
                index_free(x);
                return NULL;
            }
            break;
        }
    }
    return x;
}

const uint32_t *mg_query_index_lookup(struct qindex_set *s, struct mg_store *st,
                           const struct mg_family *f, uint32_t gen,
                           const struct mg_label *eq, size_t *n, int *err)
{
    *n = 0;
    (void)gen;
    uint64_t sg = mg_store_generation(st);
    if (s->gen != sg) { /* series came or went: the lists are stale */
        for (size_t i = 0; i < s->n; i++)
            index_free(s->v[i]);
        s->n = 0;
        s->gen = sg;
    }
    struct qindex *x = NULL;
    for (size_t i = 0; i < s->n && !x; i++)
        if (s->v[i]->fam == f->id && s->v[i]->llen == eq->nlen &&
            memcmp(s->v[i]->label, eq->name, eq->nlen) == 0)
            x = s->v[i];
    if (!x) {
        if (MG_GROW(s->v, s->cap, s->n + 1)) {
            *err = 1;
            return NULL;
        }
        if (!(x = build(st, f, eq))) {
            *err = 1;
            return NULL;
        }
        s->v[s->n++] = x;
    }
    const struct posting *p = mg_names_get(&x->values, eq->value, eq->vlen);
    if (!p)
        return NULL;
    *n = p->n;
    return p->v;
}
