/* mg_alloc: the core's allocation wrappers and their failure seam. Owns
 * one counter: off by default, a test sets how many allocations succeed
 * before every later one fails, to step an out-of-memory through a path.
 * The cost when off is one predictable branch per allocation. */
#ifndef MG_ALLOC_H
#define MG_ALLOC_H

#include <stddef.h>

extern long mg_alloc_budget; /* < 0: off; else successes left */

/* The next n allocations succeed and every later one fails (NULL), until
 * mg_alloc_fail_after(-1) turns the seam off. For tests only. */
void mg_alloc_fail_after(long n);
/* Allocations refused since the seam was last set. */
unsigned long mg_alloc_failures(void);

int mg_alloc_refuse(void);

static inline int mg_alloc_fails(void)
{
    return __builtin_expect(mg_alloc_budget >= 0, 0) && mg_alloc_refuse();
}

void *mg_malloc(size_t n);
void *mg_calloc(size_t n, size_t size);
void *mg_realloc(void *p, size_t n);
char *mg_strdup(const char *s);

#endif
