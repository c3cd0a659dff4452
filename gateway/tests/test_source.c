/* test_source: the per-producer input counts against a plain array model
 * through growth and backward-shift deletion: every count exact after
 * each step, producers at zero gone from the map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_source.h"
#include "mg_test.h"


#define PRODUCERS 300

/* Input i of producer p: {host=p (source), id=i}; p 0 has no source. */
static struct mg_labelset *input(int p, int i)
{
    char host[16], id[16];
    snprintf(host, sizeof(host), "h%d", p);
    snprintf(id, sizeof(id), "%d", i);
    struct mg_label v[2] = {{"host", host, 4, (uint32_t)strlen(host)},
                            {"id", id, 2, (uint32_t)strlen(id)}};
    if (p == 0)
        return mg_labelset_new_src(NULL, &v[1], 1, mg_labels_hash(&v[1], 1), 0);
    return mg_labelset_new_src(NULL, v, 2, mg_labels_hash(v, 2), 1);
}

static uint32_t count(const struct mg_sources *m, int p)
{
    char host[16];
    snprintf(host, sizeof(host), "h%d", p);
    struct mg_label v = {"host", host, 4, (uint32_t)strlen(host)};
    return mg_sources_count(m, &v, p == 0 ? 0 : 1);
}

int main(void)
{
    struct mg_sources m;
    mg_sources_init(&m);
    static uint32_t model[PRODUCERS];
    srand(7);
    for (int step = 0; step < 20000; step++) {
        int p = rand() % PRODUCERS;
        int up = model[p] == 0 || rand() % 3 != 0;
        struct mg_labelset *ls = input(p, step);
        CHECK(mg_sources_add(&m, ls, up ? 1 : -1) == 0);
        free(ls);
        model[p] += up ? 1 : (uint32_t)-1;
        if (step % 97 == 0 || step > 19900) {
            size_t live = 0;
            uint32_t max = 0;
            for (int q = 0; q < PRODUCERS; q++) {
                CHECK(count(&m, q) == model[q]);
                live += model[q] > 0;
                max = model[q] > max ? model[q] : max;
            }
            CHECK(m.n == live);
            CHECK(mg_sources_max(&m) == max);
        }
    }
    /* all gone: an empty map */
    for (int q = 0; q < PRODUCERS; q++)
        while (model[q]) {
            struct mg_labelset *ls = input(q, 0);
            mg_sources_add(&m, ls, -1);
            free(ls);
            model[q]--;
        }
    CHECK(m.n == 0);
    for (int q = 0; q < PRODUCERS; q++)
        CHECK(count(&m, q) == 0);
    mg_sources_fini(&m);
    return mg_test_summary("test_source");
}
