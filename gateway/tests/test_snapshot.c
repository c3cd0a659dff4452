/* test_snapshot: the store's sections round-trip (raw values, routes,
 * output totals that include a reset), and the loader refuses every
 * truncation and every flipped byte of a good file without crashing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mg_store.h"
#include "mg_snapshot.h"

static int failures;
#define CHECK(c)                                                           \
    do {                                                                   \
        if (!(c)) {                                                        \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);        \
            failures++;                                                    \
        }                                                                  \
    } while (0)

/* m{ws=<ws>} = v, routed to m{} as a labeldrop would. */
static void push(struct mg_store *st, const char *ws, double v, int64_t now)
{
    struct mg_label l = {"ws", ws, 2, (uint32_t)strlen(ws)};
    struct mg_sample s = {.name = "m_total", .nlen = 7, .type = MG_COUNTER, .labels = &l,
                          .nlabels = 1, .value = v};
    char why[MG_WHY_LEN];
    uint64_t h = mg_store_input_hash("m_total", 7, &l, 1);
    struct mg_input *in = mg_store_input_find(st, &s, h);
    if (in) {
        CHECK(mg_store_write(st, in, &s, now, why) == MG_OK);
        return;
    }
    struct mg_route r = {.name = "m_total", .nlen = 7, .scale = 1, .ttl_ms = -1};
    CHECK(mg_store_input_add(st, &s, h, &r, now, why) == MG_OK);
}

static double total(struct mg_store *st)
{
    for (uint32_t i = 0; i < mg_store_output_capacity(st); i++) {
        const struct mg_output *o = mg_store_output_at(st, i);
        if (o)
            return mg_output_value(st, o);
    }
    return -1;
}

/* The store's sections, written to a file and read back into memory. */
static unsigned char *snapshot(struct mg_store *st, size_t *len)
{
    char path[] = "/tmp/test_snapshot.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    struct mg_snap_w w;
    memset(&w, 0, sizeof(w));
    CHECK(mg_snap_w_begin(&w, fd, 1700000000000LL) == 0);
    mg_store_snap_write(st, &w);
    uint64_t bytes;
    CHECK(mg_snap_w_finish(&w, &bytes) == 0);
    unsigned char *buf = malloc(bytes);
    CHECK(pread(fd, buf, bytes, 0) == (ssize_t)bytes);
    close(fd);
    unlink(path);
    *len = (size_t)bytes;
    return buf;
}

int main(void)
{
    struct mg_store *st = mg_store_new();
    int64_t t = 1700000000000LL;
    push(st, "a", 10, t);
    push(st, "b", 5, t);
    push(st, "b", 2, t + 1000); /* a reset: the total keeps the 5 */
    CHECK(total(st) == 17);
    size_t len;
    unsigned char *buf = snapshot(st, &len);

    struct mg_snap s;
    char why[256];
    CHECK(mg_snap_parse(&s, buf, len, why, sizeof(why)) == 0);
    CHECK(s.counts[0] == 2 && s.counts[1] == 1);
    struct mg_store *r = mg_store_new();
    size_t skipped = 0;
    CHECK(mg_store_snap_read(r, &s, &skipped, why, sizeof(why)) == 0);
    CHECK(skipped == 0);
    CHECK(mg_store_input_count(r) == 2);
    CHECK(total(r) == 17);
    push(r, "a", 12, t + 2000); /* continues: +2 */
    push(r, "b", 1, t + 2000);  /* restarted again: +1 */
    CHECK(total(r) == 20);
    mg_store_free(r);

    /* every truncation, every flipped byte: refused, never a crash */
    for (size_t n = 0; n < len; n++)
        CHECK(mg_snap_parse(&s, buf, n, why, sizeof(why)) != 0);
    unsigned char *bad = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, buf, len);
        bad[i] ^= 0x5a;
        if (mg_snap_parse(&s, bad, len, why, sizeof(why)) == 0) {
            fprintf(stderr, "flip at byte %zu accepted\n", i);
            failures++;
        }
    }
    /* a later major version: refused with its reason */
    memcpy(bad, buf, len);
    bad[8] = 2;
    CHECK(mg_snap_parse(&s, bad, len, why, sizeof(why)) != 0);
    free(bad);
    free(buf);
    mg_store_free(st);
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    else
        printf("test_snapshot: ok\n");
    return failures != 0;
}
