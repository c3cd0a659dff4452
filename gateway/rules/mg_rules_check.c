/* mg_rules_check: Prometheus's check of an evaluation's output: no two
 * results may share a label set once the rule's labels are applied. */
#include <stdlib.h>
#include <string.h>

#include "mg_rules_int.h"

static int lset_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct lset *)a)->h, y = ((const struct lset *)b)->h;
    return x < y ? -1 : x > y;
}

static int lset_eq(const struct lset *a, const struct lset *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t k = 0; k < a->n; k++)
        if (a->v[k].nlen != b->v[k].nlen || a->v[k].vlen != b->v[k].vlen ||
            memcmp(a->v[k].name, b->v[k].name, a->v[k].nlen) != 0 ||
            memcmp(a->v[k].value, b->v[k].value, a->v[k].vlen) != 0)
            return 0;
    return 1;
}

/* Whether two of the n sets (sorted, hashed) are equal; reorders s. */
int mg_rules_has_duplicate(struct lset *s, size_t n)
{
    qsort(s, n, sizeof(*s), lset_cmp);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n && s[j].h == s[i].h; j++)
            if (lset_eq(&s[i], &s[j]))
                return 1;
    return 0;
}
