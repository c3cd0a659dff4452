/* mg_itab: open addressing over uint32 indexes with backward-shift
 * deletion. */
#include "mg_itab.h"

#include "mg_bigalloc.h"

#include <errno.h>
#include <stdlib.h>

#include "mg_common.h"

static int grow(struct itab *t)
{
    uint32_t cap = t->s ? (t->mask + 1) * 2 : 1024;
    struct islot *ns = mg_big_calloc(cap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    /* the rehash below writes on every page: fault them in one call */
    mg_big_populate(ns, (size_t)cap * sizeof(*ns));
    for (uint32_t i = 0; t->s && i <= t->mask; i++) {
        if (!t->s[i].idx1)
            continue;
        uint32_t j = t->s[i].tag & (cap - 1);
        while (ns[j].idx1)
            j = (j + 1) & (cap - 1);
        ns[j] = t->s[i];
    }
    mg_big_free(t->s);
    t->s = ns;
    t->mask = cap - 1;
    return 0;
}

int mg_itab_insert(struct itab *t, uint32_t idx, uint64_t hash)
{
    if (!t->s || (t->n + 1) * 4 > (t->mask + 1) * 3) {
        int rc = grow(t);
        if (rc)
            return rc;
    }
    uint32_t tag = (uint32_t)hash, i = tag & t->mask;
    while (t->s[i].idx1)
        i = (i + 1) & t->mask;
    t->s[i] = (struct islot){idx + 1, tag};
    t->n++;
    return 0;
}

void mg_itab_remove(struct itab *t, uint32_t idx, uint64_t hash)
{
    uint32_t i = (uint32_t)hash & t->mask;
    while (t->s[i].idx1 != idx + 1) {
        mg_require(t->s[i].idx1 != 0);
        i = (i + 1) & t->mask;
    }
    uint32_t j = i;
    for (;;) {
        t->s[i].idx1 = 0;
        for (;;) {
            j = (j + 1) & t->mask;
            if (!t->s[j].idx1) {
                t->n--;
                return;
            }
            uint32_t home = t->s[j].tag & t->mask;
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        t->s[i] = t->s[j];
        i = j;
    }
}
