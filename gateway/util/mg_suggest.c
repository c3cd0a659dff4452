/* mg_suggest: the nearest valid name to a misspelt one. */
#include "mg_suggest.h"

#include <stdio.h>
#include <string.h>

/* Keys longer than this are not typos of a short name worth the work. */
#define KEY_MAX 64

/* Optimal string alignment distance: insert, delete, substitute, and swap
 * two neighbours, each 1. Rows for b's length + 1 columns, three kept. */
static size_t distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t r0[KEY_MAX + 1], r1[KEY_MAX + 1], r2[KEY_MAX + 1];
    size_t *pp = r0, *p = r1, *c = r2;

    for (size_t j = 0; j <= nb; j++)
        p[j] = j;
    for (size_t i = 1; i <= na; i++) {
        c[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t d = p[j] + 1;
            if (c[j - 1] + 1 < d)
                d = c[j - 1] + 1;
            if (p[j - 1] + cost < d)
                d = p[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pp[j - 2] + 1 < d)
                d = pp[j - 2] + 1;
            c[j] = d;
        }
        size_t *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[nb];
}

const char *mg_suggest(const char *key, size_t klen, const char *const *valid)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1;

    if (klen == 0 || klen > KEY_MAX)
        return NULL;
    for (; *valid; valid++) {
        size_t vl = strlen(*valid);
        if (vl > KEY_MAX)
            continue;
        size_t d = distance(key, klen, *valid, vl);
        if (d < bestd) {
            bestd = d;
            best = *valid;
        }
    }
    if (best && ((bestd <= 2 && bestd < klen) || bestd * 3 <= klen))
        return best;
    return NULL;
}

const char *mg_suggest_unknown(char *buf, size_t len, const char *key,
                               size_t klen, const char *const *valid)
{
    const char *s = mg_suggest(key, klen, valid);
    int n = (int)(klen > KEY_MAX ? KEY_MAX : klen);

    if (s)
        snprintf(buf, len, "unknown key '%.*s' (did you mean '%s'?)", n, key, s);
    else
        snprintf(buf, len, "unknown key '%.*s'", n, key);
    return buf;
}
