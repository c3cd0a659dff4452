/* mg_hash: the non-cryptographic hashes the tables use (label sets, names,
 * series). Owns no state. */
#ifndef MG_HASH_H
#define MG_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* For tables in memory only: free to change between versions. */
uint64_t mg_hash_bytes(const void *p, size_t n, uint64_t seed);

/* mg_hash_bytes inline, the same value, for loops over many short strings
 * (a label set's names and values), where the call cost as much as the
 * hash. A multiply-xorshift hash over 8-byte words: fast on short strings,
 * and the table compares keys anyway, so it need not be cryptographic. The
 * last 1 to 8 bytes are read as two overlapping words (three bytes below
 * 4): label names and values are mostly that short, and a byte loop was
 * most of their cost. n is in the seed, so the overlap is unambiguous. */
static inline uint64_t mg_hash_bytes_inline(const void *data, size_t n,
                                            uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
    while (n > 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        k *= 0xbf58476d1ce4e5b9ULL;
        k ^= k >> 31;
        h = (h ^ k) * 0x94d049bb133111ebULL;
        p += 8;
        n -= 8;
    }
    uint64_t k = 0;
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        k = a | (uint64_t)b << 32;
    } else if (n > 0) {
        k = (uint64_t)p[0] | (uint64_t)p[n >> 1] << 8 | (uint64_t)p[n - 1] << 16;
    }
    h = (h ^ (k * 0xbf58476d1ce4e5b9ULL)) * 0x94d049bb133111ebULL;
    h ^= h >> 29;
    return h;
}
/* For what is stored on disk (the append-only log's record checks): never
 * changes, so a log outlives an upgrade. */
uint64_t mg_hash_frozen(const void *p, size_t n, uint64_t seed);
static inline uint64_t mg_hash_mix(uint64_t a, uint64_t b)
{
    uint64_t h = (a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

#endif
