/* mg_utf8: strict UTF-8 validation and Go's utf8.DecodeRune, for label
 * values, regexes and JSON. Owns no state. */
#ifndef MG_UTF8_H
#define MG_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 1 when all n bytes at s are ASCII. Label values and names mostly are,
 * and short: a word at a time, the last 1 to 7 bytes in overlapping loads,
 * where a byte loop cost a few instructions a byte. */
static inline int mg_utf8_ascii(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t w = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        w |= x;
    }
    size_t left = n - i;
    if (left >= 4) {
        uint32_t a, b;
        memcpy(&a, p + i, 4);
        memcpy(&b, p + n - 4, 4);
        w |= a | b;
    } else if (left) {
        w |= (uint64_t)(p[i] | p[i + (left >> 1)] | p[n - 1]);
    }
    return !(w & 0x8080808080808080ULL);
}

/* mg_utf8_valid past its ASCII fast path. */
int mg_utf8_valid_multibyte(const char *s, size_t n);

/* 1 when s (n bytes) is strict UTF-8: no overlongs, no surrogates, nothing
 * above U+10FFFF. Inline for its ASCII fast path: every label value of
 * every new series is checked, and most are ASCII. */
static inline int mg_utf8_valid(const char *s, size_t n)
{
    return mg_utf8_ascii(s, n) || mg_utf8_valid_multibyte(s, n);
}

/* Decodes the UTF-8 sequence at s (n > 0 bytes): returns its length and
 * the code point in *cp; a byte that starts no valid sequence is one byte
 * of U+FFFD, as Go's utf8.DecodeRune reads it. Returns 0 when n is 0. */
size_t mg_utf8_next(const char *s, size_t n, uint32_t *cp);

#endif
