/* mg_history: the ring behind the overview's charts. */
#include "mg_history.h"

#include <string.h>

void mg_history_init(struct mg_history *h)
{
    memset(h, 0, sizeof(*h));
}

void mg_history_sample(struct mg_history *h, const struct mg_stats *s,
                       const struct mg_store *st, double now)
{
    struct mg_history_point *p = &h->v[h->head];
    memset(p, 0, sizeof(*p));
    p->t = now;
    for (int i = 0; i < MG_TRANSPORT_COUNT; i++)
        p->received += (double)s->received[i];
    for (int r = MG_OK + 1; r < MG_REASON_COUNT; r++) {
        if (r < MG_REASON_COUNT_REJECT)
            p->rejected += (double)s->reasons[r];
        else
            p->dropped += (double)s->reasons[r];
    }
    p->inputs = (double)mg_store_input_count(st);
    p->outputs = (double)mg_store_output_count(st);
    h->head = (h->head + 1) % MG_HISTORY_POINTS;
    if (h->n < MG_HISTORY_POINTS)
        h->n++;
}

const struct mg_history_point *mg_history_at(const struct mg_history *h,
                                             size_t i)
{
    size_t first = (h->head + MG_HISTORY_POINTS - h->n) % MG_HISTORY_POINTS;
    return &h->v[(first + i) % MG_HISTORY_POINTS];
}
