/* mg_rebuf: a growable byte buffer for the regex and relabel engines. */
#ifndef MG_REBUF_H
#define MG_REBUF_H

#include <stddef.h>

/* A growable byte buffer the caller owns and reuses across calls, so a warm
 * hot path allocates nothing. Zero-initialise it; mg_rebuf_fini frees. */
struct mg_rebuf {
    char *p;
    size_t len, cap;
};

/* Appends n bytes. Returns 0 or -ENOMEM (the buffer is unchanged). */
int mg_rebuf_add(struct mg_rebuf *b, const void *s, size_t n);
void mg_rebuf_fini(struct mg_rebuf *b);

/* mg_rebuf_add with the common case inline: short pieces (a template's
 * text, a label value) into a buffer that already has room, copied without
 * a call. */
static inline int mg_rebuf_add_short(struct mg_rebuf *b, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (n > 32 || b->cap - b->len < n)
        return mg_rebuf_add(b, s, n);
    char *d = b->p + b->len;
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
    b->len += n;
    return 0;
}

#endif
