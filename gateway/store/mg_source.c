/* mg_source: open addressing from a source label set to a count, with
 * backward-shift deletion so an expired producer leaves no tombstone. */
#include "mg_source.h"

#include <errno.h>
#include <stdlib.h>

#include "mg_alloc.h"

struct mg_source_slot {
    uint64_t hash;
    struct mg_labelset *ls; /* the source labels alone; NULL: empty slot */
    uint32_t count;
};

/* A set's source labels into v (room for 64); returns how many. */
static size_t source_of(const struct mg_labelset *ls, struct mg_label *v)
{
    uint64_t mask = mg_labelset_srcmask(ls);
    if (!mask)
        return 0; /* a producer that sent no source labels: no walk */
    size_t pos = 0, i = 0, n = 0;
    struct mg_label l;
    while (mg_labelset_next(ls, &pos, &l)) {
        if (i < 64 && (mask >> i) & 1)
            v[n++] = l;
        i++;
    }
    return n;
}

void mg_sources_init(struct mg_sources *m)
{
    m->slot = NULL;
    m->mask = m->n = 0;
}

void mg_sources_fini(struct mg_sources *m)
{
    for (size_t i = 0; m->slot && i <= m->mask; i++)
        mg_labelset_unref(NULL, m->slot[i].ls);
    free(m->slot);
    mg_sources_init(m);
}

static size_t find(const struct mg_sources *m, const struct mg_label *v,
                   size_t n, uint64_t h)
{
    size_t i = h & m->mask;
    while (m->slot[i].ls && !(m->slot[i].hash == h && mg_labelset_equal(m->slot[i].ls, v, n)))
        i = (i + 1) & m->mask;
    return i;
}

uint32_t mg_sources_count(const struct mg_sources *m, const struct mg_label *v,
                          size_t n)
{
    if (!m->slot)
        return 0;
    const struct mg_source_slot *s = &m->slot[find(m, v, n, mg_labels_hash(v, n))];
    return s->ls ? s->count : 0;
}

static int grow(struct mg_sources *m)
{
    size_t cap = m->slot ? (m->mask + 1) * 2 : 64;
    struct mg_source_slot *ns = mg_calloc(cap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; m->slot && i <= m->mask; i++) {
        if (!m->slot[i].ls)
            continue;
        size_t j = m->slot[i].hash & (cap - 1);
        while (ns[j].ls)
            j = (j + 1) & (cap - 1);
        ns[j] = m->slot[i];
    }
    free(m->slot);
    m->slot = ns;
    m->mask = cap - 1;
    return 0;
}

static void del(struct mg_sources *m, size_t i)
{
    mg_labelset_unref(NULL, m->slot[i].ls);
    m->slot[i].ls = NULL;
    m->n--;
    for (size_t j = (i + 1) & m->mask; m->slot[j].ls; j = (j + 1) & m->mask) {
        size_t home = m->slot[j].hash & m->mask;
        /* j's entry may move to the hole at i if i lies in [home, j) */
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->slot[i] = m->slot[j];
            m->slot[j].ls = NULL;
            i = j;
        }
    }
}

/* Counts the producer whose source labels are v (sorted). */
static int count_add(struct mg_sources *m, const struct mg_label *v, size_t n,
                     int delta)
{
    uint64_t h = mg_labels_hash(v, n);
    if (delta < 0) {
        if (!m->slot)
            return 0;
        size_t i = find(m, v, n, h);
        if (m->slot[i].ls && --m->slot[i].count == 0)
            del(m, i);
        return 0;
    }
    if ((!m->slot || (m->n + 1) * 4 > (m->mask + 1) * 3) && grow(m))
        return -ENOMEM;
    size_t i = find(m, v, n, h);
    if (!m->slot[i].ls) {
        if (!(m->slot[i].ls = mg_labelset_new(v, n, h)))
            return -ENOMEM;
        m->slot[i].hash = h;
        m->slot[i].count = 0;
        m->n++;
    }
    m->slot[i].count++;
    return 0;
}

int mg_sources_add(struct mg_sources *m, const struct mg_labelset *ls, int delta)
{
    struct mg_label v[64];
    size_t n = source_of(ls, v);
    return count_add(m, v, n, delta);
}

int mg_sources_add_marked(struct mg_sources *m, const struct mg_label *v,
                          size_t n, uint64_t mask, int delta)
{
    struct mg_label src[64];
    size_t k = 0;
    for (size_t i = 0; mask && i < n && i < 64; i++)
        if ((mask >> i) & 1)
            src[k++] = v[i];
    return count_add(m, src, k, delta);
}

uint32_t mg_sources_max(const struct mg_sources *m)
{
    uint32_t max = 0;
    for (size_t i = 0; m->slot && i <= m->mask; i++)
        if (m->slot[i].ls && m->slot[i].count > max)
            max = m->slot[i].count;
    return max;
}
