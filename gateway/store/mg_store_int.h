/* mg_store_int: the store's own structure, shared by mg_store.c (writes,
 * routing, expiry) and mg_store_read.c (what exposition and queries read).
 * Only the store's own files (and its snapshot sections) include it. */
#ifndef MG_STORE_INT_H
#define MG_STORE_INT_H

#include "mg_family.h"
#include "mg_itab.h"
#include "mg_store.h"
#include "mg_slab.h"
#include "mg_source.h"

#define INFAM(st, in) mg_families_at(&(st)->infams, (in)->fam)
#define OUTFAM(st, o) mg_families_at(&(st)->outfams, (o)->fam)

#define F_LIVE 0x01
#define F_OWN 0x02
#define F_TTL_FIXED 0x04 /* the pipeline set the TTL; messages do not */

/* ---- the store ---- */

#define MAX_SCALES 255

struct mg_store {
    struct mg_input *in;
    uint32_t nin, capin, freein, livein;
    size_t in_faulted, out_faulted; /* pool bytes faulted in: fault_ahead */
    struct mg_output *out;
    uint32_t nout, capout, freeout, liveout;
    struct itab intab, outtab;

    struct mg_slab slab;        /* label sets, packed apart from the rest */
    mg_output_hook on_output;   /* told of every output that comes or goes */
    uint64_t generation;        /* bumped whenever an output comes or goes */
    void *hook_ctx;
    mg_owner_hook on_owner_gone; /* an owned input went away */
    void *owner_ctx;
    int creating_own;
    struct mg_sources sources;  /* live inputs per producer */
    struct mg_families infams;  /* the names and types pushed */
    struct mg_families outfams; /* the names and types exposed */
    int64_t *ts;                /* pushed timestamps by output, once one comes */

    struct mg_layout *layouts[256];
    double scales[MAX_SCALES + 1];
    double divisors[MAX_SCALES + 1]; /* 1/scale when that is a whole number */
    uint32_t nscales;
    int64_t epoch_ms;

    struct mg_store_cursor *cursors; /* open ones, moved past removals */

    /* reused by mg_store_group */
    struct mg_family **gfams;
    uint32_t *gorder, *gstart;
    size_t gorder_cap, gfams_cap;
};

static inline double scale_of(const struct mg_store *st, const struct mg_input *in)
{
    return st->scales[in->scale];
}

/* v times the input's scale. A scale of 0.001 is applied as a division by
 * 1000, which is exact where the multiplication is not (700 * 0.001 is
 * 0.7000000000000001; 700 / 1000 is 0.7). */
static inline double scaled(const struct mg_store *st, uint8_t idx, double v)
{
    double d = st->divisors[idx];
    return d != 0 ? v / d : v * st->scales[idx];
}

/* The output name{labels} (sorted, hash of both) or MG_NIL. */
uint32_t mg_store_output_find(struct mg_store *st, const char *name, size_t nlen,
                              const struct mg_label *labels, size_t n,
                              uint64_t hash);

#endif
