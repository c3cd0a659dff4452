/* mg_store: the input and output series stores. Owns families (one name,
 * one type), label sets, values, the mapping of many inputs onto one output,
 * counter-reset handling, gauge aggregation and TTL expiry. Knows nothing of
 * Lua, the wire or exposition formats.
 *
 * A known input's update is a hash probe and a store into memory allocated
 * when the input was created; nothing here allocates on that path. */
#ifndef MG_STORE_H
#define MG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mg_common.h"
#include "mg_family.h"
#include "mg_labels.h"

#define MG_NIL UINT32_MAX

enum mg_op { MG_OP_SET, MG_OP_ADD };

/* v * scale, computed as v / (1 / scale) when that divisor is a whole
 * number, so that 700 ms * 0.001 is exactly 0.7 s. */
double mg_scale_apply(double scale, double v);


/* One decoded, validated update. Every pointer is borrowed from the
 * decoder's buffers and valid for the duration of one store call. labels
 * are sorted, source labels merged in, empty values removed. */
struct mg_sample {
    const char *name;
    uint32_t nlen;
    enum mg_type type;
    enum mg_op op;
    const char *help;
    uint32_t hlen;
    const struct mg_label *labels;
    size_t nlabels;
    const struct mg_label *source; /* the producer's labels, as pushed */
    size_t nsource;
    double value;        /* counter, gauge, untyped */
    double sum, count;   /* histogram, summary */
    size_t nb;           /* histogram buckets (sorted, +Inf last) or */
    const double *bound; /* summary quantiles (sorted) */
    const double *bval;
    int64_t ts;          /* ms since the epoch, 0 = none */
    uint32_t ttl_ms;     /* 0 = never */
};

/* What the pipeline made of a new input series. */
struct mg_route {
    enum mg_reason drop;         /* MG_OK, or why the input feeds nothing */
    const char *name;            /* output name; borrowed */
    uint32_t nlen;
    const struct mg_label *labels; /* sorted; borrowed */
    size_t nlabels;
    double scale;                /* multiplies values; 1 = none */
    int64_t ttl_ms;              /* -1: the message's ttl; else overrides */
    enum mg_agg agg;             /* how gauges of one output combine */
    const char *help;            /* NULL: the sample's */
    uint32_t hlen;
    int pin_help;                /* help is the scripts': it wins over pushed ones */
    int hashed;                  /* hash is set: mg_store_prefetch_output */
    uint64_t hash;               /* the output's name and labels, hashed */
};

/* Bucket bounds (histogram, le ascending, +Inf last) or quantiles
 * (summary); shared by every series with the same layout. */
struct mg_layout {
    struct mg_layout *next;
    uint64_t hash;
    uint32_t refs;
    uint32_t n;
    double bound[];
};

/* Histogram or summary values: cumulative bucket counts or quantile
 * values, one per layout entry. */
struct mg_hvals {
    struct mg_layout *layout;
    double sum, count;
    double v[];
};

/* 40 bytes: a million series fit in 40 MB. */
struct mg_input {
    struct mg_labelset *ls;
    union {
        double last;        /* raw: a gauge's value, a counter's last */
        struct mg_hvals *h; /* histogram, summary */
    } v;
    uint32_t fam;           /* input family id: the name and type pushed */
    uint32_t out;           /* output index, MG_NIL when dropped */
    uint32_t next;          /* next input of the same output; free list */
    uint32_t seen;          /* last update, deciseconds of store time */
    uint32_t ttl;           /* deciseconds, 0 = never */
    uint8_t scale;          /* index into the store's scale table */
    uint8_t flags;
    uint8_t drop;           /* enum mg_reason when out == MG_NIL */
    uint8_t owner;          /* the producer's budget slot; 0 = none */
};

/* 40 bytes. */
struct mg_output {
    struct mg_labelset *ls;
    union {
        double acc;         /* counter: accumulated; gauge (last): value */
        struct mg_hvals *h; /* histogram, summary: accumulated */
    } v;
    uint32_t fam;           /* output family id */
    uint32_t fnext, fprev;  /* the family's series, for queries by name */
    uint32_t first;         /* first input, MG_NIL for own series */
    uint32_t ninputs;
    uint8_t flags;
};

struct mg_store;

/* Returns NULL on ENOMEM. */
struct mg_store *mg_store_new(void);
/* NULL is a no-op. */
void mg_store_free(struct mg_store *st);

/* The hash that identifies an input: its name and sorted labels. */
uint64_t mg_store_input_hash(const char *name, size_t nlen,
                             const struct mg_label *labels, size_t n);

/* The live input with this identity, or NULL. Borrowed; valid until the
 * next call that adds or removes series. */
struct mg_input *mg_store_input_find(struct mg_store *st,
                                     const struct mg_sample *s,
                                     uint64_t hash);

/* Hints for a batch: fetch the index slot of hash into cache, and then
 * (a little later, once the slot is there) the input it names. Pure
 * hints: they change nothing. */
void mg_store_prefetch(const struct mg_store *st, uint64_t hash);
void mg_store_prefetch_input(const struct mg_store *st, uint64_t hash);
/* A new series' output index slot, asked for while its input is made: r's
 * hash is computed once, here, and the probe that needs it later finds the
 * line in cache. */
void mg_store_prefetch_output(const struct mg_store *st, struct mg_route *r);

/* Writes a known input's sample at now_ms. Returns MG_OK, or the reason
 * it was refused (type conflict, a counter going negative with op=add, a
 * bucket layout the merged output cannot take) with detail in why. */
enum mg_reason mg_store_write(struct mg_store *st, struct mg_input *in,
                              const struct mg_sample *s, int64_t now_ms,
                              char why[MG_WHY_LEN]);

/* Adds a new input routed as r and writes s to it. The store copies every
 * string it keeps. Returns MG_OK or the reason it was refused (the output
 * name already has another type, its samples would collide with another
 * family's, ENOMEM as MG_REASON_LIMIT). */
enum mg_reason mg_store_input_add(struct mg_store *st,
                                  const struct mg_sample *s, uint64_t hash,
                                  const struct mg_route *r, int64_t now_ms,
                                  char why[MG_WHY_LEN]);

/* Moves a live input to a new route (a reload). The old output keeps what
 * the input contributed to its counters; the new one starts from the
 * input's current raw value. */
enum mg_reason mg_store_input_reroute(struct mg_store *st, uint32_t idx,
                                      const struct mg_route *r,
                                      char why[MG_WHY_LEN]);

/* Gives every output family its pushed HELP back (a reload: the new
 * scripts pin theirs again as they re-route). */
void mg_store_help_unpin(struct mg_store *st);

/* The index of a live input (as mg_store_input_at takes it). */
uint32_t mg_store_input_index(const struct mg_store *st,
                              const struct mg_input *in);
/* Removes live input idx now, and its output when it was the last input
 * (a replaced Pushgateway group: its stale series go at once). */
void mg_store_input_remove(struct mg_store *st, uint32_t idx);
/* The input family called name, or NULL. Borrowed. */
const struct mg_family *mg_store_input_family_find(struct mg_store *st,
                                                   const char *name,
                                                   size_t nlen);

/* Removes every input whose TTL has passed at now_ms, and the outputs left
 * without inputs. Returns how many inputs expired. */
size_t mg_store_sweep(struct mg_store *st, int64_t now_ms);

/* The gateway's own series: sets (creating once, never expiring) the value
 * of name{labels} of type t. For histograms, use mg_store_own_hist. */
int mg_store_own_set(struct mg_store *st, const char *name, enum mg_type t,
                     const char *help, const struct mg_label *labels,
                     size_t n, double value);
/* As mg_store_own_set, and *idx the series' output index: its identity
 * in the store until mg_store_own_remove. */
int mg_store_own_set_at(struct mg_store *st, const char *name, enum mg_type t,
                        const char *help, const struct mg_label *labels,
                        size_t n, double value, uint32_t *idx);
/* Live inputs of the producer whose source labels are exactly source
 * (sorted), and of the fullest producer (limits{max_input_series_per_source}). */
uint32_t mg_store_source_count(const struct mg_store *st,
                               const struct mg_label *source, size_t n);
uint32_t mg_store_source_max(const struct mg_store *st);
/* Removes an own series set earlier (a recording rule that stopped
 * producing it, an alert that resolved). 0 or -ENOENT. */
int mg_store_own_remove(struct mg_store *st, const char *name, size_t nlen,
                        const struct mg_label *labels, size_t n);
int mg_store_own_hist(struct mg_store *st, const char *name,
                      const char *help, const double *bounds,
                      const double *cumulative, size_t nb, double sum,
                      double count);

/* Called when an output series is created (delta 1) or removed (-1); not
 * for the gateway's own series. f and ls are borrowed for the call; v, when
 * not NULL, holds ls's n labels as the sorted array ls was made from (a
 * new output's), so the hook need not read them out of ls. */
typedef void (*mg_output_hook)(void *ctx, const struct mg_family *f,
                               const struct mg_labelset *ls,
                               const struct mg_label *v, size_t n, int delta);
/* Called when an input with an owner (its budget slot) goes away. */
typedef void (*mg_owner_hook)(void *ctx, uint8_t owner);
void mg_store_set_owner_hook(struct mg_store *st, mg_owner_hook fn, void *ctx);
void mg_store_set_output_hook(struct mg_store *st, mg_output_hook fn,
                              void *ctx);
/* 1 when the output name{labels} (labels sorted) exists. */
int mg_store_output_exists(struct mg_store *st, const char *name, size_t nlen,
                           const struct mg_label *labels, size_t n);
size_t mg_store_output_capacity(const struct mg_store *st);
/* A family's output series: the first index, then the next of each, until
 * MG_NIL. Lets a query by name visit one family instead of every series. */
uint32_t mg_store_family_head(const struct mg_family *f);
/* Changes whenever an output series is created or removed: indexes over
 * the outputs hold while it stays the same. */
uint64_t mg_store_generation(const struct mg_store *st);
uint32_t mg_store_output_next(const struct mg_store *st, uint32_t idx);

/* Walking the outputs for exposition and queries. */
size_t mg_store_input_count(const struct mg_store *st);
size_t mg_store_output_count(const struct mg_store *st);
size_t mg_store_input_capacity(const struct mg_store *st);
/* Borrowed; NULL when the slot is free. */
struct mg_input *mg_store_input_at(struct mg_store *st, uint32_t idx);
struct mg_output *mg_store_output_at(struct mg_store *st, uint32_t idx);
const struct mg_family *mg_store_input_family(struct mg_store *st,
                                              const struct mg_input *in);
struct mg_family *mg_store_output_family(struct mg_store *st,
                                         const struct mg_output *o);
/* When output idx was last written (ms, to 100 ms): its inputs' latest
 * update; INT64_MAX for a series without inputs (the gateway's own, the
 * rules'), INT64_MIN for a free slot. Walks the output's inputs. */
int64_t mg_store_output_seen(const struct mg_store *st, uint32_t idx);
/* The timestamp last pushed for output idx (ms), 0 when none. */
int64_t mg_store_output_ts(const struct mg_store *st, uint32_t idx);

/* A position in a family's output list that stays valid between calls
 * into the store: while it is open, removing the output it names moves it
 * to the next one in the family (outputs created meanwhile go in front of
 * the family and are not met). A scrape rendered in slices walks with
 * one. */
struct mg_store_cursor {
    uint32_t next;                /* an output index, or MG_NIL: the end */
    struct mg_store_cursor *link; /* the store's list of open cursors */
};

/* Opens c (its memory the caller's, until mg_store_cursor_close) at next. */
void mg_store_cursor_open(struct mg_store *st, struct mg_store_cursor *c,
                          uint32_t next);
void mg_store_cursor_close(struct mg_store *st, struct mg_store_cursor *c);

/* The output families with series, in name order: fills *fams (nfam
 * entries, the store's array, reused by the next call). 0 or -ENOMEM. */
int mg_store_families_sorted(struct mg_store *st, struct mg_family ***fams,
                             size_t *nfam);

/* Outputs grouped by family, families in name order: fills *fams (nfam
 * entries), and for family i, the output indices order[start[i] ..
 * start[i+1]). The arrays belong to the store and are reused by the next
 * call. Returns 0 or -ENOMEM. */
int mg_store_group(struct mg_store *st, struct mg_family ***fams,
                   size_t *nfam, uint32_t **order, uint32_t **start);

/* The value of a counter, gauge or untyped output now (gauges aggregated
 * over their inputs by the family's rule). */
double mg_output_value(struct mg_store *st, const struct mg_output *o);
/* A histogram's or summary's accumulated values; for a summary with one
 * input, *quantiles points at that input's quantiles, else NULL. */
const struct mg_hvals *mg_output_hvals(struct mg_store *st,
                                       const struct mg_output *o,
                                       const struct mg_hvals **quantiles,
                                       double *scale);

/* Output families by name, for queries; NULL when absent. */
struct mg_family *mg_store_family_find(struct mg_store *st, const char *name,
                                       size_t nlen);
/* Sets the rule for combining gauges of an output family (its creator
 * passes the route's choice; aggregate{} may change it later). */
void mg_family_set_agg(struct mg_family *f, enum mg_agg a);

#endif
