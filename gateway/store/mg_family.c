/* mg_family: the family registry and its reserved sample names. */
#include "mg_family.h"

#include "mg_alloc.h"
#include "mg_labels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The type names with their lengths: every sample names its type, and a
 * strlen and a memcmp a type were most of parsing it. */
#define TYPE(s) {s, sizeof(s) - 1}
static const struct {
    const char *name;
    size_t len;
} types[] = {TYPE("untyped"), TYPE("counter"), TYPE("gauge"), TYPE("histogram"),
             TYPE("summary")};
#undef TYPE
_Static_assert(sizeof(types) / sizeof(types[0]) == MG_SUMMARY + 1, "a name a type");

const char *mg_type_name(enum mg_type t)
{
    return types[t].name;
}

int mg_type_parse(const char *s, size_t n)
{
    for (int t = MG_UNTYPED; t <= MG_SUMMARY; t++)
        if (types[t].len == n && mg_label_bytes_eq(types[t].name, s, n))
            return t;
    return -1;
}

const char *mg_agg_name(enum mg_agg a)
{
    static const char *const names[] = {"sum", "last", "max", "min", "avg"};
    return names[a];
}

int mg_agg_parse(const char *s, size_t n)
{
    for (int a = MG_AGG_SUM; a <= MG_AGG_AVG; a++) {
        const char *name = mg_agg_name((enum mg_agg)a);
        if (strlen(name) == n && memcmp(name, s, n) == 0)
            return a;
    }
    return -1;
}

void mg_families_init(struct mg_families *fs, int check_collisions)
{
    memset(fs, 0, sizeof(*fs));
    mg_names_init(&fs->byname);
    mg_names_init(&fs->reserved);
    fs->check_collisions = check_collisions;
}

static void family_free(struct mg_family *f)
{
    if (!f)
        return;
    for (int i = 0; i < MG_FAMILY_RESERVED; i++)
        free(f->reserved[i]);
    free(f->name);
    free(f->help);
    free(f->pushed);
    free(f);
}

void mg_families_fini(struct mg_families *fs)
{
    for (uint32_t i = 0; i < fs->n; i++)
        family_free(fs->v[i]);
    free(fs->v);
    free(fs->free_ids);
    mg_names_fini(&fs->byname);
    mg_names_fini(&fs->reserved);
    memset(fs, 0, sizeof(*fs));
}

struct mg_family *mg_families_find(struct mg_families *fs, const char *name,
                                   size_t nlen)
{
    return mg_names_get(&fs->byname, name, nlen);
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n > k && memcmp(s + n - k, suffix, k) == 0;
}

static char *printed(const char *fmt, size_t n, const char *name,
                     const char *suffix)
{
    size_t len = n + strlen(suffix) + 1;
    char *p = mg_malloc(len);
    if (p)
        snprintf(p, len, fmt, (int)n, name, suffix);
    return p;
}

/* The sample names f emits in either format; a counter named x_total is
 * family x in OpenMetrics, so it claims x too. */
static int reserved_names(struct mg_family *f)
{
    static const char *const hist[] = {"_bucket", "_sum", "_count"};
    int k = 0;
    f->reserved[k++] = printed("%.*s%s", f->nlen, f->name, "");
    if (f->type == MG_COUNTER) {
        if (ends_with(f->name, f->nlen, "_total"))
            f->reserved[k++] = printed("%.*s%s", f->nlen - 6, f->name, "");
        else
            f->reserved[k++] = printed("%.*s%s", f->nlen, f->name, "_total");
    } else if (f->type == MG_HISTOGRAM || f->type == MG_SUMMARY) {
        for (int i = f->type == MG_HISTOGRAM ? 0 : 1; i < 3; i++)
            f->reserved[k++] = printed("%.*s%s", f->nlen, f->name, hist[i]);
    }
    for (int i = 0; i < k; i++)
        if (!f->reserved[i])
            return -ENOMEM;
    return 0;
}

static void unreserve(struct mg_families *fs, struct mg_family *f)
{
    for (int i = 0; i < MG_FAMILY_RESERVED && f->reserved[i]; i++) {
        size_t len = strlen(f->reserved[i]);
        if (mg_names_get(&fs->reserved, f->reserved[i], len) == f)
            mg_names_del(&fs->reserved, f->reserved[i], len);
    }
}

static enum mg_reason reserve(struct mg_families *fs, struct mg_family *f,
                              char why[MG_WHY_LEN])
{
    if (reserved_names(f)) {
        snprintf(why, MG_WHY_LEN, "out of memory");
        return MG_REASON_LIMIT;
    }
    for (int i = 0; i < MG_FAMILY_RESERVED && f->reserved[i]; i++) {
        const struct mg_family *other =
            mg_names_get(&fs->reserved, f->reserved[i], strlen(f->reserved[i]));
        if (other) {
            snprintf(why, MG_WHY_LEN,
                     "%s %.*s would emit %s, which %s %.*s emits too",
                     mg_type_name(f->type), (int)f->nlen, f->name, f->reserved[i],
                     mg_type_name(other->type), (int)other->nlen, other->name);
            return MG_REASON_NAME_COLLISION;
        }
    }
    for (int i = 0; i < MG_FAMILY_RESERVED && f->reserved[i]; i++) {
        if (mg_names_put(&fs->reserved, f->reserved[i], strlen(f->reserved[i]), f)) {
            unreserve(fs, f);
            snprintf(why, MG_WHY_LEN, "out of memory");
            return MG_REASON_LIMIT;
        }
    }
    return MG_OK;
}

static int take_id(struct mg_families *fs, uint32_t *id)
{
    if (fs->nfree) {
        *id = fs->free_ids[--fs->nfree];
        return 0;
    }
    if (fs->n == fs->cap) {
        uint32_t cap = fs->cap ? fs->cap * 2 : 64;
        struct mg_family **nv = mg_realloc(fs->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        fs->v = nv;
        uint32_t *nf = mg_realloc(fs->free_ids, cap * sizeof(*nf));
        if (!nf)
            return -ENOMEM;
        fs->free_ids = nf;
        fs->cap = cap;
    }
    *id = fs->n++;
    fs->v[*id] = NULL;
    return 0;
}

struct mg_family *mg_families_get(struct mg_families *fs, const char *name,
                                  size_t nlen, enum mg_type t, enum mg_agg agg,
                                  enum mg_reason *r, char why[MG_WHY_LEN])
{
    struct mg_family *f = fs->last;
    if (!f || f->nlen != nlen || !mg_label_bytes_eq(f->name, name, nlen))
        f = mg_names_get(&fs->byname, name, nlen);
    if (f) {
        if (f->type == t)
            return fs->last = f;
        snprintf(why, MG_WHY_LEN, "%.*s is a %s, not a %s", (int)nlen, name,
                 mg_type_name(f->type), mg_type_name(t));
        *r = MG_REASON_TYPE_CONFLICT;
        return NULL;
    }
    *r = MG_REASON_LIMIT;
    snprintf(why, MG_WHY_LEN, "out of memory");
    f = mg_calloc(1, sizeof(*f));
    if (!f || !(f->name = mg_malloc(nlen + 1)))
        goto fail;
    memcpy(f->name, name, nlen);
    f->name[nlen] = '\0';
    f->nlen = (uint32_t)nlen;
    f->type = t;
    f->agg = agg;
    f->head = UINT32_MAX;
    if (fs->check_collisions && (*r = reserve(fs, f, why)) != MG_OK)
        goto fail;
    if (take_id(fs, &f->id) || mg_names_put(&fs->byname, f->name, f->nlen, f)) {
        unreserve(fs, f);
        *r = MG_REASON_LIMIT;
        snprintf(why, MG_WHY_LEN, "out of memory");
        goto fail;
    }
    fs->v[f->id] = f;
    *r = MG_OK;
    return fs->last = f;
fail:
    family_free(f);
    return NULL;
}

void mg_families_release(struct mg_families *fs, struct mg_family *f)
{
    if (f->nseries || f->own)
        return;
    if (fs->last == f)
        fs->last = NULL;
    unreserve(fs, f);
    mg_names_del(&fs->byname, f->name, f->nlen);
    fs->v[f->id] = NULL;
    fs->free_ids[fs->nfree++] = f->id;
    family_free(f);
}

static char *copy(const char *s, size_t n)
{
    char *p = mg_malloc(n + 1); /* NULL on ENOMEM: the default HELP shows */
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void mg_family_set_help(struct mg_family *f, const char *help, size_t n)
{
    char **slot = f->pinned ? &f->pushed : &f->help;
    if (*slot || !help || !n)
        return;
    *slot = copy(help, n);
}

void mg_family_pin_help(struct mg_family *f, const char *help, size_t n)
{
    if (!help || !n)
        return;
    if (f->pinned && f->help && strlen(f->help) == n && memcmp(f->help, help, n) == 0)
        return; /* the common case: every new series of the family says the same */
    char *p = copy(help, n);
    if (!p)
        return;
    if (!f->pinned) {
        f->pushed = f->help;
        f->pinned = 1;
    } else {
        free(f->help);
    }
    f->help = p;
}

void mg_family_unpin_help(struct mg_family *f)
{
    if (!f->pinned)
        return;
    free(f->help);
    f->help = f->pushed;
    f->pushed = NULL;
    f->pinned = 0;
}
