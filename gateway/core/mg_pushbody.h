/* mg_pushbody: one Pushgateway push body as families of whole series, read
 * from the text format (mg_textfmt) or delimited protobuf (mg_pbfmt): the
 * bucket, sum and count lines of a histogram joined into one series,
 * values checked as the msgpack path checks them, a series or a family
 * given twice refused, the families' sample names kept apart. Owns an
 * arena for what it builds; strings may borrow from the body, which must
 * outlive it. Knows nothing of groups or the store. */
#ifndef MG_PUSHBODY_H
#define MG_PUSHBODY_H

#include <stddef.h>
#include <stdint.h>

#include "mg_common.h"
#include "mg_family.h"
#include "mg_labels.h"
#include "mg_names.h"
#include "mg_pbfmt.h"
#include "mg_wire.h"

struct mg_pushbody_family {
    const char *name;
    uint32_t nlen;
    enum mg_type type;
    const char *help; /* NULL when none was given */
    uint32_t hlen;
    uint32_t line;    /* text: its first line; protobuf: its message */
};

struct mg_pushbody_series {
    uint32_t fam;             /* index into families */
    struct mg_label *labels;  /* sorted, as pushed */
    size_t nlabels;
    uint64_t hash;            /* of the labels */
    double value;             /* counter, gauge, untyped */
    double sum, count;        /* histogram, summary */
    int has_value, has_sum, has_count;
    double *bound, *bval;     /* buckets (le ascending) or quantiles */
    size_t nb, capb;
    uint32_t line;            /* text: its first line; protobuf: its message */
};

struct mg_pushbody_arena;

struct mg_pushbody {
    struct mg_pushbody_family *fam;
    size_t nfam, capfam;
    struct mg_names byname;   /* family name -> index + 1 */
    struct mg_pushbody_series *ser;
    size_t nser, capser;
    uint32_t *stab, smask;    /* series by family and labels: index + 1 */
    uint32_t ts_line;         /* the first line with a timestamp; 0: none */
    int proto;                /* read from protobuf: "message", not "line" */
    struct mg_pushbody_arena *arena;
    char *scratch;            /* the text parser's */
    struct mg_pbfmt pb;
};

/* Reads a text-format body buf[0..len) into b (zeroed first). Returns 0,
 * or -1 with the reason and "line N: what is wrong" in why. */
int mg_pushbody_text(struct mg_pushbody *b, const char *buf, size_t len,
                     const struct mg_wire_limits *lim, enum mg_reason *r,
                     char why[MG_WHY_LEN]);
/* The same for delimited protobuf MetricFamily messages. */
int mg_pushbody_proto(struct mg_pushbody *b, const char *buf, size_t len,
                      const struct mg_wire_limits *lim, enum mg_reason *r,
                      char why[MG_WHY_LEN]);
/* Frees what b holds; a zeroed b is a no-op. */
void mg_pushbody_fini(struct mg_pushbody *b);

/* The family called name (n bytes), or NULL. Borrowed from b. */
const struct mg_pushbody_family *mg_pushbody_family_find(const struct mg_pushbody *b,
                                                         const char *name, size_t n);

/* "line 3" or "message 3", for a series' or a family's errors. */
const char *mg_pushbody_where(const struct mg_pushbody *b, uint32_t line,
                              char *buf, size_t len);

#endif
