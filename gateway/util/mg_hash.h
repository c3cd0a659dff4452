/* mg_hash: the non-cryptographic hashes the tables use (label sets, names,
 * series). Owns no state. */
#ifndef MG_HASH_H
#define MG_HASH_H

#include <stddef.h>
#include <stdint.h>

/* For tables in memory only: free to change between versions. */
uint64_t mg_hash_bytes(const void *p, size_t n, uint64_t seed);
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
