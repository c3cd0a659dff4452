/* test_history: the overview's ring keeps the last MG_HISTORY_POINTS
 * points oldest first through wrap-around, sums the counters by kind
 * (rejections apart from drops), and stays the fixed size docs/http.md
 * states. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_history.h"

static int failures;
#define CHECK(c)                                                           \
    do {                                                                   \
        if (!(c)) {                                                        \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);        \
            failures++;                                                    \
        }                                                                  \
    } while (0)

int main(void)
{
    struct mg_store *st = mg_store_new();
    struct mg_stats s;
    static struct mg_history h;
    CHECK(st != NULL);
    mg_stats_init(&s);
    mg_history_init(&h);
    CHECK(h.n == 0);

    s.received[MG_TRANSPORT_TCP] = 10;
    s.received[MG_TRANSPORT_HTTP] = 5;
    s.reasons[MG_REASON_DECODE_ERROR] = 2;
    s.reasons[MG_REASON_LIMIT] = 1;
    s.reasons[MG_DROP_RULE] = 7;
    mg_history_sample(&h, &s, st, 1000);
    CHECK(h.n == 1);
    const struct mg_history_point *p = mg_history_at(&h, 0);
    CHECK(p->t == 1000 && p->received == 15 && p->rejected == 3 && p->dropped == 7);
    CHECK(p->inputs == 0 && p->outputs == 0);

    /* past the capacity: the oldest fall off, the order holds */
    for (int i = 1; i < MG_HISTORY_POINTS + 50; i++) {
        s.received[MG_TRANSPORT_TCP]++;
        mg_history_sample(&h, &s, st, 1000 + 15.0 * i);
    }
    CHECK(h.n == MG_HISTORY_POINTS);
    CHECK(mg_history_at(&h, 0)->t == 1000 + 15.0 * 50);
    CHECK(mg_history_at(&h, MG_HISTORY_POINTS - 1)->t ==
          1000 + 15.0 * (MG_HISTORY_POINTS + 49));
    for (size_t i = 1; i < h.n; i++)
        CHECK(mg_history_at(&h, i)->t - mg_history_at(&h, i - 1)->t == 15.0 &&
              mg_history_at(&h, i)->received - mg_history_at(&h, i - 1)->received == 1);

    /* the cost docs/http.md states: an hour of six numbers a point */
    CHECK(MG_HISTORY_POINTS * MG_HISTORY_STEP == 3600);
    CHECK(sizeof(struct mg_history) <= 11 * 1024 + 600);
    printf("history ring: %zu bytes\n", sizeof(struct mg_history));

    mg_stats_fini(&s);
    mg_store_free(st);
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
