/* mg_alloc: allocation wrappers with a test-only failure seam. */
#include "mg_alloc.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* While the seam is on, fresh bytes are filled with this, so code that
 * reads memory it never wrote shows in a test, as it would in production
 * on recycled memory. */
#define POISON 0xa5

long mg_alloc_budget = -1;
static unsigned long refused;

void mg_alloc_fail_after(long n)
{
    mg_alloc_budget = n;
    refused = 0;
}

unsigned long mg_alloc_failures(void)
{
    return refused;
}

/* Called only while the seam is on: spends one success or refuses. */
int mg_alloc_refuse(void)
{
    if (mg_alloc_budget > 0) {
        mg_alloc_budget--;
        return 0;
    }
    refused++;
    return 1;
}

void *mg_malloc(size_t n)
{
    if (mg_alloc_fails())
        return NULL;
    void *p = malloc(n);
    if (p && mg_alloc_budget >= 0)
        memset(p, POISON, n);
    return p;
}

void *mg_calloc(size_t n, size_t size)
{
    return mg_alloc_fails() ? NULL : calloc(n, size);
}

void *mg_realloc(void *p, size_t n)
{
    if (mg_alloc_fails())
        return NULL;
    if (mg_alloc_budget < 0)
        return realloc(p, n);
    size_t old = p ? malloc_usable_size(p) : 0;
    char *q = realloc(p, n);
    if (q && n > old)
        memset(q + old, POISON, n - old);
    return q;
}

char *mg_strdup(const char *s)
{
    return mg_alloc_fails() ? NULL : strdup(s);
}
