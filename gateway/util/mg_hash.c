/* mg_hash: a multiply-xorshift hash. */
#include "mg_hash.h"

#include <string.h>

static inline uint64_t read64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Mixes whole words into h while more than tail bytes remain. */
static inline uint64_t words(uint64_t h, const unsigned char **p, size_t *n,
                             size_t tail)
{
    while (*n > tail) {
        uint64_t k = read64(*p) * 0xbf58476d1ce4e5b9ULL;
        k ^= k >> 31;
        h = (h ^ k) * 0x94d049bb133111ebULL;
        *p += 8;
        *n -= 8;
    }
    return h;
}

/* The body is mg_hash_bytes_inline, in the header. */
uint64_t mg_hash_bytes(const void *data, size_t n, uint64_t seed)
{
    return mg_hash_bytes_inline(data, n, seed);
}

/* The hash as it was first written, byte loop and all: what the logs on
 * disk were checked with. */
uint64_t mg_hash_frozen(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = words(seed ^ (n * 0x9e3779b97f4a7c15ULL), &p, &n, 7);
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k |= (uint64_t)p[i] << (8 * i);
    h = (h ^ (k * 0xbf58476d1ce4e5b9ULL)) * 0x94d049bb133111ebULL;
    h ^= h >> 29;
    return h;
}
