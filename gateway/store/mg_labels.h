/* mg_labels: label names and values: validation, canonical order, hashing,
 * the immutable refcounted label sets that series own, and the scratch
 * builder the pipeline edits. Knows nothing of series, families or Lua. */
#ifndef MG_LABELS_H
#define MG_LABELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mg_hash.h"
#include "mg_utf8.h"

/* A borrowed view of one label; the strings are not NUL-terminated. */
struct mg_label {
    const char *name;
    const char *value;
    uint32_t nlen;
    uint32_t vlen;
};

/* 1 when the n bytes at a and b are equal. Label names and values are
 * mostly under 17 bytes: two overlapping loads compare those without a
 * call to memcmp, which was a good part of every lookup's cost. */
static inline int mg_label_bytes_eq(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        if (n > 16)
            return memcmp(a, b, n) == 0;
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, a, 8);
        memcpy(&y0, b, 8);
        memcpy(&x1, a + n - 8, 8);
        memcpy(&y1, b + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 4) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4);
        memcpy(&y0, b, 4);
        memcpy(&x1, a + n - 4, 4);
        memcpy(&y1, b + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    /* 1 to 3 bytes: the first, middle and last cover them all */
    return n == 0 || (a[0] == b[0] && a[n >> 1] == b[n >> 1] &&
                      a[n - 1] == b[n - 1]);
}

/* Per byte, bit 1: may start a label name; 2: may follow; 4 and 8: the
 * same for a metric name. */
extern const unsigned char mg_name_class[256];

/* Inline: every name of every new series is checked, and the call cost
 * about as much as the check of a short name. */
static inline int mg_name_valid_as(const char *s, size_t n, unsigned first,
                                   unsigned rest)
{
    if (n == 0 || !(mg_name_class[(unsigned char)s[0]] & first))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(mg_name_class[(unsigned char)s[i]] & rest))
            return 0;
    return 1;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static inline int mg_metric_name_valid(const char *s, size_t n)
{
    return mg_name_valid_as(s, n, 4, 8);
}

/* [a-zA-Z_][a-zA-Z0-9_]* (the "__" prefix is the caller's rule) */
static inline int mg_label_name_valid(const char *s, size_t n)
{
    return mg_name_valid_as(s, n, 1, 2);
}

/* Sorts by name (insertion sort: label sets are small). */
void mg_labels_sort(struct mg_label *v, size_t n);
/* 1 when two neighbours of a sorted array share a name. */
int mg_labels_have_duplicate(const struct mg_label *v, size_t n);
/* Hash of a sorted array; equal sets hash equal. */
uint64_t mg_labels_hash(const struct mg_label *v, size_t n);


/* An immutable, refcounted, sorted label set: a header of 8 bytes, then
 * per label a varint tag and, where the value is not interned, its length
 * and bytes. Names, and the values that repeat across series, are
 * interned for the process (mg_lintern); the strings mg_labelset_next
 * gives stay valid while the set lives. */
struct mg_labelset {
    uint32_t hash; /* the low half of the hash given: all an index keeps */
    uint16_t refs;
    uint16_t n;
    unsigned char data[];
};

/* Label names in a set are at most this long. */
#define MG_LABEL_NAME_MAX 127

/* Copies a sorted array into a new set with refs = 1; NULL on ENOMEM or
 * when a name is longer than MG_LABEL_NAME_MAX or the blob than 65535. */
struct mg_labelset *mg_labelset_new(const struct mg_label *v, size_t n,
                                    uint64_t hash);
/* The same from slab (NULL: malloc), marking label i as a source label
 * where bit i of srcmask is set (for re-running the pipeline later);
 * equality ignores the marks. */
struct mg_slab;
struct mg_labelset *mg_labelset_new_src(struct mg_slab *slab,
                                        const struct mg_label *v, size_t n,
                                        uint64_t hash, uint64_t srcmask);
/* As mg_labelset_new_src with no source marks, for a set made while like
 * lives, like made from the sorted array likev (both borrowed): a label of
 * v whose strings are likev's very strings (the same pointers, as a
 * pipeline's untouched labels are) takes like's id for it instead of a
 * lookup. like or likev NULL: mg_labelset_new_src. */
struct mg_labelset *mg_labelset_new_like(struct mg_slab *slab,
                                         const struct mg_label *v, size_t n,
                                         uint64_t hash,
                                         const struct mg_labelset *like,
                                         const struct mg_label *likev);
/* Bit i set: label i came from the producer's source. */
uint64_t mg_labelset_srcmask(const struct mg_labelset *ls);
/* One more reference to ls; NULL when it has 65535 already (make a new
 * set instead). */
struct mg_labelset *mg_labelset_ref(struct mg_labelset *ls);
/* Drops one reference; frees at zero into slab, the one it came from
 * (NULL: malloc). ls NULL is a no-op. */
void mg_labelset_unref(struct mg_slab *slab, struct mg_labelset *ls);
/* 1 when the set holds exactly the sorted array v. */
int mg_labelset_equal(const struct mg_labelset *ls, const struct mg_label *v,
                      size_t n);
/* Walks the set: *pos starts at 0; returns 0 at the end. The label borrows
 * from ls. */
int mg_labelset_next(const struct mg_labelset *ls, size_t *pos,
                     struct mg_label *out);
/* The next labels from *pos on (as mg_labelset_next), at most max of them,
 * into v: how many, 0 at the end. One call for a whole small set. */
size_t mg_labelset_read(const struct mg_labelset *ls, size_t *pos,
                        struct mg_label *v, size_t max);
/* The label named name (nlen bytes) into out, borrowing from ls: 1, or 0
 * when ls has none. For a reader of one value, where unpacking the whole
 * set cost more than the rest of its work. */
int mg_labelset_get(const struct mg_labelset *ls, const char *name,
                    size_t nlen, struct mg_label *out);
/* Unpacks into v (room for ls->n); returns ls->n. */
size_t mg_labelset_unpack(const struct mg_labelset *ls, struct mg_label *v);

/* name{a="b",...} into buf (len bytes). */
void mg_labels_render(char *buf, size_t len, const char *name, size_t nlen,
                      const struct mg_label *labels, size_t n);

struct mg_buf;
/* Appends the labels as a JSON object, {"name":"value",...}. */
void mg_labels_json(struct mg_buf *b, const struct mg_label *v, size_t n);

/* The scratch builder, mg_lbuild, comes with this header. */
#include "mg_lbuild.h"

#endif
