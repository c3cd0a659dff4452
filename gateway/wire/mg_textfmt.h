/* mg_textfmt: the Prometheus text format 0.0.4 as a pull parser over one
 * buffer. Each call yields the next sample with its family's name, type
 * and HELP, or an error naming the line and what is wrong. As strict as
 * Prometheus's own parser, and allocation-free: names point into the
 * buffer, unescaped label values and HELP into a scratch the caller gives,
 * which the parser fills front to back. Knows nothing of series or groups. */
#ifndef MG_TEXTFMT_H
#define MG_TEXTFMT_H

#include <stddef.h>
#include <stdint.h>

#include "mg_common.h"
#include "mg_family.h"
#include "mg_labels.h"

/* What one line of a family gives. */
enum mg_tf_kind {
    MG_TF_VALUE,    /* counter, gauge, untyped: name == family */
    MG_TF_BUCKET,   /* histogram: family_bucket{le=...} */
    MG_TF_QUANTILE, /* summary: family{quantile=...} */
    MG_TF_SUM,      /* family_sum */
    MG_TF_COUNT     /* family_count */
};

struct mg_tf_sample {
    const char *name; /* as written (foo_bucket); borrowed from the buffer */
    uint32_t nlen;
    enum mg_tf_kind kind;
    const struct mg_label *labels; /* as written, le or quantile left out */
    size_t nlabels;
    double bound;     /* le or quantile */
    double value;
    int has_ts;
    int64_t ts;
    uint32_t line;
    /* the family: its name, its TYPE (untyped without one), its HELP */
    const char *fname;
    uint32_t fnlen;
    enum mg_type type;
    const char *help; /* NULL without a HELP line */
    uint32_t hlen;
};

struct mg_textfmt {
    const char *p, *end;
    uint32_t line;
    char *scratch, *sp, *send; /* unescaped strings go here, front to back */
    struct mg_label *labels;
    size_t max_labels;
    /* the current family: the last HELP or TYPE line, or the last sample's */
    const char *fname;
    uint32_t fnlen;
    enum mg_type type;
    const char *help;
    uint32_t hlen;
    int has_type, has_help, has_samples;
};

/* Parses buf[0..len). scratch must hold len bytes (the unescaped strings
 * are never longer than their source) and labels max_labels + 1 entries
 * (le or quantile may come on top); both are borrowed for the parse, and
 * every string a sample points at stays valid as long as buf and scratch. */
void mg_textfmt_init(struct mg_textfmt *tf, const char *buf, size_t len,
                     char *scratch, struct mg_label *labels,
                     size_t max_labels);

/* The next sample into *s: 1, or 0 at the end, or -1 with the reason in *r
 * and "line N: what is wrong" in why. After -1 the parser stays at the bad
 * line: call it no more. */
int mg_textfmt_next(struct mg_textfmt *tf, struct mg_tf_sample *s,
                    enum mg_reason *r, char why[MG_WHY_LEN]);

#endif
