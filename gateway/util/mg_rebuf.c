/* mg_rebuf: a growable byte buffer. */
#include "mg_rebuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int mg_rebuf_add(struct mg_rebuf *b, const void *s, size_t n)
{
    if (n == 0)
        return 0;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2)
                return -ENOMEM;
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

void mg_rebuf_fini(struct mg_rebuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}
