/* mg_vec: the growable array every module keeps (a pointer, a count, a
 * capacity). Owns only the growth rule: doubling from 16 elements, checked
 * for overflow, through the allocation seam. Knows nothing of what the
 * elements are. */
#ifndef MG_VEC_H
#define MG_VEC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "mg_alloc.h"

/* Makes the array *p (of *cap elements of elem bytes) hold at least need:
 * doubles *cap (from 16) until it does and reallocates. 0, or -ENOMEM (the
 * size overflows or the allocation fails) with *p and *cap as they were. */
static inline int mg_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (*cap >= need)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return -ENOMEM;
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem)
        return -ENOMEM;
    void *np = mg_realloc(*p, n * elem);
    if (!np)
        return -ENOMEM;
    *p = np;
    *cap = n;
    return 0;
}

/* mg_grow for an array named by its pointer lvalue v and size_t cap. */
#define MG_GROW(v, cap, need) mg_grow((void **)&(v), &(cap), (need), sizeof(*(v)))

#endif
