/* mg_buf: a growable byte buffer, reused across scrapes and replies so the
 * steady state allocates nothing. */
#ifndef MG_BUF_H
#define MG_BUF_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mg_buf {
    char *p;
    size_t len, cap;
    int failed; /* an allocation failed since the last reset */
};

static inline int mg_buf_reserve(struct mg_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline void mg_buf_add(struct mg_buf *b, const void *s, size_t n)
{
    if (mg_buf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static inline void mg_buf_adds(struct mg_buf *b, const char *s)
{
    mg_buf_add(b, s, strlen(s));
}

static inline void mg_buf_addc(struct mg_buf *b, char c)
{
    if (b->len < b->cap || !mg_buf_reserve(b, 1))
        b->p[b->len++] = c;
}

static inline void mg_buf_reset(struct mg_buf *b)
{
    b->len = 0;
    b->failed = 0;
}

static inline void mg_buf_fini(struct mg_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

#endif
