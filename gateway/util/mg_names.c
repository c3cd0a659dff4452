/* mg_names: open-addressing name map. */
#include "mg_names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mg_hash.h"

void mg_names_init(struct mg_names *m)
{
    m->slot = NULL;
    m->mask = 0;
    m->n = 0;
}

void mg_names_fini(struct mg_names *m)
{
    free(m->slot);
    mg_names_init(m);
}

uint64_t mg_names_hash(const char *name, size_t nlen)
{
    return mg_hash_bytes(name, nlen, 0x6e616d6573ULL);
}

static size_t find(const struct mg_names *m, uint64_t h, const char *name,
                   size_t nlen, int *found)
{
    size_t i = h & m->mask;
    while (m->slot[i].name) {
        const struct mg_names_slot *s = &m->slot[i];
        if (s->hash == (uint32_t)h && s->nlen == nlen && memcmp(s->name, name, nlen) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & m->mask;
    }
    *found = 0;
    return i;
}

void *mg_names_get(const struct mg_names *m, const char *name, size_t nlen)
{
    if (!m->slot)
        return NULL;
    int found;
    size_t i = find(m, mg_names_hash(name, nlen), name, nlen, &found);
    return found ? m->slot[i].val : NULL;
}

static int grow(struct mg_names *m)
{
    size_t cap = m->slot ? (m->mask + 1) * 2 : 64;
    struct mg_names_slot *ns = calloc(cap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    struct mg_names old = *m;
    m->slot = ns;
    m->mask = cap - 1;
    if (old.slot) {
        for (size_t i = 0; i <= old.mask; i++) {
            if (!old.slot[i].name)
                continue;
            size_t j = old.slot[i].hash & m->mask;
            while (m->slot[j].name)
                j = (j + 1) & m->mask;
            m->slot[j] = old.slot[i];
        }
        free(old.slot);
    }
    return 0;
}

int mg_names_put(struct mg_names *m, const char *name, size_t nlen, void *val)
{
    if (!m->slot || (m->n + 1) * 2 > m->mask + 1) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    uint64_t h = mg_names_hash(name, nlen);
    int found;
    size_t i = find(m, h, name, nlen, &found);
    if (!found)
        m->n++;
    m->slot[i] = (struct mg_names_slot){name, val, (uint32_t)h, (uint32_t)nlen};
    return 0;
}

void mg_names_del(struct mg_names *m, const char *name, size_t nlen)
{
    if (!m->slot)
        return;
    int found;
    size_t i = find(m, mg_names_hash(name, nlen), name, nlen, &found);
    if (!found)
        return;
    /* Backward shift: pull later entries of the run into the hole unless
     * their home lies cyclically after the hole. */
    size_t j = i;
    for (;;) {
        m->slot[i].name = NULL;
        for (;;) {
            j = (j + 1) & m->mask;
            if (!m->slot[j].name) {
                m->n--;
                return;
            }
            size_t home = m->slot[j].hash & m->mask;
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        m->slot[i] = m->slot[j];
        i = j;
    }
}
