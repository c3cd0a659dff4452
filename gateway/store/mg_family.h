/* mg_family: metric families (one name, one type, its HELP, its gauge
 * rule) in a registry that gives each a small id, finds them by name, and,
 * for output families, reserves every sample name a family emits so that
 * no two families collide in a scrape. Owns the families; knows nothing of
 * series beyond counting them. */
#ifndef MG_FAMILY_H
#define MG_FAMILY_H

#include <stdint.h>

#include "mg_common.h"
#include "mg_names.h"

enum mg_type { MG_UNTYPED, MG_COUNTER, MG_GAUGE, MG_HISTOGRAM, MG_SUMMARY };
enum mg_agg { MG_AGG_SUM, MG_AGG_LAST, MG_AGG_MAX, MG_AGG_MIN, MG_AGG_AVG };

const char *mg_type_name(enum mg_type t);
/* -1 when s names no type. */
int mg_type_parse(const char *s, size_t n);
const char *mg_agg_name(enum mg_agg a);
int mg_agg_parse(const char *s, size_t n);

#define MG_FAMILY_RESERVED 4

struct mg_family {
    char *name;
    uint32_t nlen;
    uint32_t id;
    enum mg_type type;
    enum mg_agg agg;
    char *help;         /* what is exposed; NULL: none */
    char *pushed;       /* the first pushed HELP while the scripts' wins */
    int pinned;         /* help is the scripts': pushes do not change it */
    uint32_t nseries;
    uint32_t head;      /* output families: first series (UINT32_MAX: none) */
    int own;            /* the gateway's own metric: never removed */
    char *reserved[MG_FAMILY_RESERVED]; /* sample names it claims */
};

struct mg_families {
    struct mg_family **v; /* by id; NULL where one was removed */
    uint32_t n, cap;
    uint32_t *free_ids;
    uint32_t nfree;
    struct mg_names byname;
    struct mg_names reserved;
    int check_collisions;
    struct mg_family *last; /* the one last got: a run of series shares it */
};

void mg_families_init(struct mg_families *fs, int check_collisions);
void mg_families_fini(struct mg_families *fs);

/* The family called name, or NULL. Borrowed. */
struct mg_family *mg_families_find(struct mg_families *fs, const char *name,
                                   size_t nlen);
/* The family called name of type t, created (with gauge rule agg) when
 * absent. NULL with *r and why when it exists with another type, when its
 * samples would collide with another family's, or on ENOMEM. */
struct mg_family *mg_families_get(struct mg_families *fs, const char *name,
                                  size_t nlen, enum mg_type t, enum mg_agg agg,
                                  enum mg_reason *r, char why[MG_WHY_LEN]);
/* Removes f once it has no series and is not the gateway's own. */
void mg_families_release(struct mg_families *fs, struct mg_family *f);
/* Sets f's pushed HELP unless it has one (the first seen wins); while
 * the scripts' HELP is pinned, it is kept aside for when they stop. */
void mg_family_set_help(struct mg_family *f, const char *help, size_t n);
/* Makes the scripts' HELP f's, over any pushed one, until unpinned. */
void mg_family_pin_help(struct mg_family *f, const char *help, size_t n);
/* Gives back the pushed HELP (or none) when the scripts' was pinned. */
void mg_family_unpin_help(struct mg_family *f);
/* The pushed HELP, as snapshots keep it: the scripts pin theirs again at
 * load. NULL when none. Borrowed. */
static inline const char *mg_family_pushed_help(const struct mg_family *f)
{
    return f->pinned ? f->pushed : f->help;
}

static inline struct mg_family *mg_families_at(const struct mg_families *fs,
                                               uint32_t id)
{
    return fs->v[id];
}

#endif
