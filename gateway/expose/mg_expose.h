/* mg_expose: renders the output series as Prometheus text format 0.0.4 or
 * OpenMetrics 1.0.0, and gzips a rendering. Owns no state: writes into the
 * caller's buffers. */
#ifndef MG_EXPOSE_H
#define MG_EXPOSE_H

#include "mg_buf.h"
#include "mg_fmt.h"
#include "mg_store.h"

enum mg_format { MG_FORMAT_TEXT, MG_FORMAT_OPENMETRICS };

#define MG_CONTENT_TYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define MG_CONTENT_TYPE_OPENMETRICS \
    "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* 1 when an Accept or Accept-Encoding header lists token with q > 0. */
int mg_accepts(const char *header, const char *token);
/* The format an Accept header asks for. */
enum mg_format mg_expose_negotiate(const char *accept);

/* Appends every output family, contiguous and in name order, to out.
 * honor_ts: print the samples' pushed timestamps. Returns 0 or -ENOMEM. */
int mg_expose(struct mg_store *st, enum mg_format f, int honor_ts,
              struct mg_buf *out);

/* A scrape rendered in slices, so the event loop serves others between
 * them. The series set is walked live: a series removed meanwhile is
 * skipped (never read freed), one created meanwhile may be left out, and
 * values are read as each slice renders. Families stay whole: one header,
 * then all their series. The scrape keeps no pointer into the store
 * between slices beyond a store cursor; st must outlive it. */
struct mg_scrape;

/* Starts a scrape of st's output families in name order; gzip: the slices
 * are one gzip stream. NULL on ENOMEM. */
struct mg_scrape *mg_scrape_new(struct mg_store *st, enum mg_format f,
                                int honor_ts, int gzip);
/* Appends the next slice (about budget bytes before compression) to out:
 * 1 when more follows, 0 when the scrape's last bytes are in out (then
 * every later call adds nothing), or -ENOMEM. A gzip slice may add no
 * bytes while deflate holds them. */
int mg_scrape_next(struct mg_scrape *s, struct mg_buf *out, size_t budget);
void mg_scrape_free(struct mg_scrape *s);

/* gzips in into out (replacing its contents). 0 or -ENOMEM. */
int mg_gzip(const struct mg_buf *in, struct mg_buf *out);

#endif
