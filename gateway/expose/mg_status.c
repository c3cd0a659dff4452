/* mg_status: the cardinality report. */
#include "mg_status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_vec.h"
#include "mg_json.h"
#include "mg_names.h"

struct top {
    const char *name; /* borrowed from the store for the report */
    size_t nlen;
    size_t value;
};

struct tally {
    struct mg_names map; /* name -> struct tally_entry */
    struct top *v;
    size_t n, cap;
};

struct tally_entry {
    size_t idx;           /* into v */
    struct mg_names seen; /* distinct values, when counting them */
};

static void tally_fini(struct tally *t)
{
    for (size_t i = 0; t->map.slot && i <= t->map.mask; i++)
        if (t->map.slot[i].name) {
            struct tally_entry *e = t->map.slot[i].val;
            mg_names_fini(&e->seen);
            free(e);
        }
    mg_names_fini(&t->map);
    free(t->v);
}

/* Counts one occurrence of name; with value, counts distinct values. */
static int tally_add(struct tally *t, const char *name, size_t nlen,
                     const char *value, size_t vlen)
{
    struct tally_entry *e = mg_names_get(&t->map, name, nlen);
    if (!e) {
        if (MG_GROW(t->v, t->cap, t->n + 1))
            return -ENOMEM;
        e = calloc(1, sizeof(*e));
        if (!e || mg_names_put(&t->map, name, nlen, e)) {
            free(e);
            return -ENOMEM;
        }
        mg_names_init(&e->seen);
        e->idx = t->n;
        t->v[t->n++] = (struct top){name, nlen, 0};
    }
    if (value) {
        if (mg_names_get(&e->seen, value, vlen))
            return 0;
        if (mg_names_put(&e->seen, value, vlen, e))
            return -ENOMEM;
    }
    t->v[e->idx].value++;
    return 0;
}

static int by_value(const void *a, const void *b)
{
    const struct top *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? 1 : -1;
    size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

static void emit(struct mg_buf *out, const char *key, struct tally *t,
                 size_t limit)
{
    if (t->n) /* an empty tally has no array, and qsort's may not be NULL */
        qsort(t->v, t->n, sizeof(*t->v), by_value);
    mg_json_cstr(out, key);
    mg_buf_adds(out, ":[");
    for (size_t i = 0; i < t->n && i < limit; i++) {
        char tmp[48];
        mg_buf_adds(out, i ? ",{\"name\":" : "{\"name\":");
        mg_json_str(out, t->v[i].name, t->v[i].nlen);
        snprintf(tmp, sizeof(tmp), ",\"value\":%zu}", t->v[i].value);
        mg_buf_adds(out, tmp);
    }
    mg_buf_addc(out, ']');
}

#define MAX_PRODUCER_LABELS 16

int mg_status_cardinality(struct mg_store *st, const struct mg_caps *caps,
                          size_t limit, struct mg_buf *out)
{
    struct tally metrics = {0}, labels = {0}, producers[MAX_PRODUCER_LABELS];
    const char *plabels[MAX_PRODUCER_LABELS];
    size_t np = mg_caps_per_labels(caps, plabels, MAX_PRODUCER_LABELS);
    memset(producers, 0, sizeof(producers));
    int rc = 0;
    size_t cap = mg_store_output_capacity(st), nseries = 0;
    for (uint32_t i = 0; i < cap && !rc; i++) {
        const struct mg_output *o = mg_store_output_at(st, i);
        const struct mg_family *f = o ? mg_store_output_family(st, o) : NULL;
        if (!f || f->own)
            continue; /* the gateway's own series are nobody's cardinality */
        nseries++;
        rc |= tally_add(&metrics, f->name, f->nlen, NULL, 0);
        size_t pos = 0;
        struct mg_label l;
        while (mg_labelset_next(o->ls, &pos, &l)) {
            rc |= tally_add(&labels, l.name, l.nlen, l.value, l.vlen);
            for (size_t k = 0; k < np; k++)
                if (strlen(plabels[k]) == l.nlen && memcmp(plabels[k], l.name, l.nlen) == 0)
                    rc |= tally_add(&producers[k], l.value, l.vlen, NULL, 0);
        }
    }
    if (!rc) {
        char tmp[128];
        snprintf(tmp, sizeof(tmp),
                 "{\"status\":\"success\",\"data\":{\"headStats\":{\"numSeries\":%zu,"
                 "\"numInputSeries\":%zu},",
                 nseries, mg_store_input_count(st));
        mg_buf_adds(out, tmp);
        emit(out, "seriesCountByMetricName", &metrics, limit);
        mg_buf_addc(out, ',');
        emit(out, "labelValueCountByLabelName", &labels, limit);
        mg_buf_adds(out, ",\"seriesCountByProducer\":{");
        for (size_t k = 0; k < np; k++) {
            if (k)
                mg_buf_addc(out, ',');
            emit(out, plabels[k], &producers[k], limit);
        }
        mg_buf_adds(out, "},\"caps\":[");
        mg_caps_json(caps, st, out);
        mg_buf_adds(out, "]}}\n");
    }
    tally_fini(&metrics);
    tally_fini(&labels);
    for (size_t k = 0; k < np; k++)
        tally_fini(&producers[k]);
    return rc || out->failed ? -ENOMEM : 0;
}
