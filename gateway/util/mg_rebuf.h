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

#endif
