/* mg_suggest: "did you mean" for a misspelt key. Picks the valid name
 * nearest a wrong one by edit distance; knows nothing of where the names
 * come from (DSL tables, config settings). */
#ifndef MG_SUGGEST_H
#define MG_SUGGEST_H

#include <stddef.h>

/* The name of valid (NULL-terminated) nearest key (klen bytes) by
 * Damerau-Levenshtein distance (a swap of two neighbours counts 1), when
 * that distance is at most 2 or at most a third of the key's length;
 * NULL when none is that near. Borrowed from valid. */
const char *mg_suggest(const char *key, size_t klen, const char *const *valid);

/* Writes "unknown key 'k'" and, when mg_suggest finds one,
 * " (did you mean 'v'?)" into buf (len bytes). Returns buf. */
const char *mg_suggest_unknown(char *buf, size_t len, const char *key,
                               size_t klen, const char *const *valid);

#endif
