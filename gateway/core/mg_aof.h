/* mg_aof: the append-only log of accepted push messages between
 * snapshots, as Redis's appendfsync everysec: each message the gateway
 * takes (past decoding and auth) is appended, with its transport, the
 * gateway's clock and a sequence number, into a buffer that the daemon's
 * once-a-second timer hands to a writer thread, which writes and
 * fdatasyncs it off the event loop, so a kill -9 loses at most the last
 * second or two. Files: moongate.aof, and moongate.aof.1 while a
 * snapshot that covers it is being written. A snapshot records the last
 * sequence number it covers; replay skips what it covers, so a crash
 * between a snapshot and the log's removal applies nothing twice. Knows
 * nothing of the store: replay hands messages back to a callback. */
#ifndef MG_AOF_H
#define MG_AOF_H

#include <stddef.h>
#include <stdint.h>

struct mg_aof;

/* Opens (appending) DIR/moongate.aof, next sequence number seq + 1.
 * NULL with why. */
struct mg_aof *mg_aof_open(const char *dir, uint64_t seq, char *why,
                           size_t whylen);
/* Flushes what is buffered and closes. NULL is a no-op. */
void mg_aof_close(struct mg_aof *a);

/* Appends one message (copied). Never blocks on the disk unless the
 * buffer is past its bound (then it is written out). */
void mg_aof_append(struct mg_aof *a, int64_t now_ms, int transport,
                   const char *msg, size_t len);
/* Hands what is buffered to the writer thread (unless it is still on the
 * last batch): the once-a-second timer. Returns the error of a batch
 * written since the last call, 0 or -errno. */
int mg_aof_sync(struct mg_aof *a);
/* The last sequence number appended. */
uint64_t mg_aof_seq(const struct mg_aof *a);
/* Bytes appended since open. */
uint64_t mg_aof_bytes(const struct mg_aof *a);

/* At a snapshot's fork: unless moongate.aof.1 still waits for a snapshot,
 * the current log becomes it and a new one starts. Returns 1 when it
 * rotated, 0 when not, -errno. */
int mg_aof_rotate(struct mg_aof *a);
/* After a snapshot that covers moongate.aof.1 is in place: removes it. */
void mg_aof_drop_rotated(struct mg_aof *a);
/* After a snapshot that covers everything appended (the one at SIGTERM):
 * empties the log and removes moongate.aof.1. 0 or -errno. */
int mg_aof_reset(struct mg_aof *a);

/* Replays DIR/moongate.aof.1 then DIR/moongate.aof: fn for every intact
 * record with a sequence number above after. Stops a file at its first
 * torn or corrupt record and truncates the file there, so appends go on
 * after the last good one. *last the highest sequence number seen (at
 * least after). Returns the records replayed, or -errno. */
typedef void (*mg_aof_fn)(void *ctx, int64_t ms, int transport,
                          const char *msg, size_t len);
long mg_aof_replay(const char *dir, uint64_t after, mg_aof_fn fn, void *ctx,
                   uint64_t *last);

#endif
