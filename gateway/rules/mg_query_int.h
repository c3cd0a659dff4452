/* mg_query_int: what mg_query.c (selectors, samples, histories, ticks,
 * PromQL's arithmetic) shares with mg_query_lua.c (the q table). Private
 * to those two files. */
#ifndef MG_QUERY_INT_H
#define MG_QUERY_INT_H

#include "mg_promql.h"
#include "mg_query.h"
#include "mg_regex.h"
#include "mg_selector.h"

/* One range registration of a selector: a window some call asked for. */
struct qwin {
    int64_t ms;
    uint32_t idle; /* ticks since a call asked for it */
};

/* A parsed selector, cached by its text. */
struct qsel {
    char *text;
    size_t len;
    uint64_t hash;
    struct mg_selector *sel;
    uint32_t idle;          /* ticks since a call used it */
    struct qwin *w;         /* its range registrations */
    uint32_t nw, capw;
    struct qhist **mem;     /* the histories it matched when last sampled */
    size_t nmem, capmem;
    int64_t sampled_ms;     /* when mem was filled; INT64_MIN: never */
};

/* One sampled series: its identity and a ring of points. */
struct qhist {
    uint64_t hash;
    struct mg_labelset *ls; /* the sample's labels, le/quantile included */
    double le;              /* a histogram bucket's bound, else NAN */
    uint32_t gen;           /* the tick that last matched it */
    int64_t win;            /* the longest window asking for it */
    struct mg_point *p;
    uint32_t head, len, cap;
    uint32_t nlen;
    char name[];            /* the sample's name, NUL-terminated */
};

/* A sample the store holds now, as a selector sees it. Every pointer is
 * scratch, valid until the callback returns. */
struct qsample {
    const char *name;
    size_t nlen;
    const struct mg_label *labels; /* sorted, le/quantile included */
    size_t n;
    double value;
    double le;                     /* a histogram bucket's bound, else NAN */
    uint32_t oidx;                 /* the store's output it is from */
};

/* Called for each matching sample; a non-zero return stops the walk and
 * is returned by mg_query_sel_each. */
typedef int (*qs_fn)(void *ctx, const struct qsample *s);

struct qrow;

/* Posting lists: the series of one family carrying each value of one
 * label, built the first time an equality matcher asks, and kept while no
 * output series comes or goes (values may change; membership may not). */
struct qindex;
struct qindex_set {
    struct qindex **v;
    size_t n, cap;
    uint64_t gen; /* the store's generation the lists were built at */
};
/* The output indices of family f whose label eq->name is eq->value; *n
 * their count (NULL, 0 when none). *err set on ENOMEM. */
const uint32_t *mg_query_index_lookup(struct qindex_set *s, struct mg_store *st,
                           const struct mg_family *f, uint32_t gen,
                           const struct mg_label *eq, size_t *n, int *err);
void mg_query_index_free(struct qindex_set *s);

struct mg_query {
    struct qindex_set ix;
    size_t max_points;
    struct qsel **sel;      /* the cache */
    size_t nsel, capsel;
    struct qsel *tmp;       /* the last uncached selector (cache full) */
    size_t nranges;         /* registrations, all selectors */
    struct qhist **h;
    size_t nh, caph;
    uint32_t *slot;         /* open addressing over h: index + 1 */
    size_t nslot;           /* a power of two, 0 before the first */
    uint32_t gen;
    int64_t last_tick, interval; /* ms; 0 until known */
    struct mg_rematch *m;

    /* scratch, reused; nothing in it outlives a call */
    struct mg_label *lab;   /* a series' labels, unpacked */
    struct mg_label *srt;   /* the same with le/quantile merged in */
    size_t caplab;
    struct mg_rebuf name;   /* a sample's name */
    struct mg_point *pts;   /* a window's points: max_points of them */
    struct mg_rebuf keys;   /* rows' keys (mg_query_lua.c) */
    struct qrow *rows;
    size_t nrows, caprows;
    struct mg_bucket *bk;
    size_t capbk;

    struct mg_pqe *pqe;     /* q.promql's parsed expressions and arena */

    /* what the last mg_query_push bound */
    struct mg_store *st;
    int64_t now;
};

/* The selector for text (n bytes), parsed once and cached. When the cache
 * is full an instant read gets an uncached one (replaced at the next such
 * call) and a range read -ENOSPC. NULL with *err (-EINVAL with
 * Prometheus's message in why, -ENOMEM, -ENOSPC). Marks it used. */
struct qsel *mg_query_sel_get(struct mg_query *q, const char *text, size_t n,
                    int range, int *err, char *why, size_t whylen);

/* Calls fn for every sample of st that sel matches, in output-slot order.
 * *visited counts the outputs looked at. Returns 0, fn's non-zero return,
 * -EINVAL when a regex hit its limit (why), -ENOMEM. */
int mg_query_sel_each(struct mg_query *q, struct mg_store *st,
            const struct mg_selector *sel, qs_fn fn, void *ctx,
            size_t *visited, char *why, size_t whylen);

/* Registers (s, win_ms) if new and marks it asked for; samples s's series
 * at now when s has not been sampled at now. Returns 0, -ENOSPC (too many
 * registrations), -EINVAL (why), -ENOMEM. Series that could not be given
 * a history (-ENOMEM, MG_QUERY_MAX_SERIES) are left out of s->mem. */
int mg_query_sel_range(struct mg_query *q, struct mg_store *st, struct qsel *s,
             int64_t win_ms, int64_t now, char *why, size_t whylen);

/* h's points in (end - range, end], copied into q->pts (ascending t).
 * Returns how many. */
size_t qh_window(struct mg_query *q, const struct qhist *h, int64_t end,
                 int64_t range);

/* The history of sample s, created (empty, untouched this tick) when new.
 * NULL with *err: -ENOMEM, -ENOSPC at MG_QUERY_MAX_SERIES. */
struct qhist *qhist_get(struct mg_query *q, const struct qsample *s, int *err);
/* Appends (t, v) unless the newest point is as recent; past max_points the
 * oldest point goes. 0 or -ENOMEM. */
int qhist_push(struct mg_query *q, struct qhist *h, int64_t t, double v);

/* Room for n labels in q->lab and q->srt. 0 or -ENOMEM. */
int mg_query_reserve_labels(struct mg_query *q, size_t n);

#endif
