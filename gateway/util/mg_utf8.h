/* mg_utf8: strict UTF-8 validation and Go's utf8.DecodeRune, for label
 * values, regexes and JSON. Owns no state. */
#ifndef MG_UTF8_H
#define MG_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s (n bytes) is strict UTF-8: no overlongs, no surrogates, nothing
 * above U+10FFFF. */
int mg_utf8_valid(const char *s, size_t n);

/* Decodes the UTF-8 sequence at s (n > 0 bytes): returns its length and
 * the code point in *cp; a byte that starts no valid sequence is one byte
 * of U+FFFD, as Go's utf8.DecodeRune reads it. Returns 0 when n is 0. */
size_t mg_utf8_next(const char *s, size_t n, uint32_t *cp);

#endif
