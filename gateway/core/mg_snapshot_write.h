/* mg_snapshot_write: the snapshot's files in the data directory: the
 * current one (moongate.snap), its previous generation (moongate.snap.1),
 * a temporary file while one is written. Writes durably (temporary file,
 * fsync, rotate by hard link and rename, fsync the directory), in this
 * process or in a forked child that serializes a copy-on-write image of
 * the heap while the parent goes on serving; finds the newest good file at
 * start, moving aside the ones that do not check. Knows nothing of the
 * event loop: the daemon reaps the child. */
#ifndef MG_SNAPSHOT_WRITE_H
#define MG_SNAPSHOT_WRITE_H

#include <stdint.h>
#include <sys/types.h>

#include "mg_snapshot.h"

struct mg_gateway;

#define MG_SNAPSHOT_FILE "moongate.snap"

/* Writes gw's snapshot into dir, keeping the previous one as
 * moongate.snap.1. On any failure the current file is left as it was and
 * the temporary one removed. 0 or -errno (why says which step). */
int mg_snapshot_save(struct mg_gateway *gw, const char *dir, int64_t now_ms,
                     uint64_t *bytes, char *why, size_t whylen);

/* Forks a child that runs mg_snapshot_save and exits with 0 or the errno.
 * Returns the child's pid, or -errno when fork failed. */
pid_t mg_snapshot_fork(struct mg_gateway *gw, const char *dir, int64_t now_ms);
/* A reaped child's wait status as 0 or -errno. */
int mg_snapshot_child_result(int status);

/* The label value of moongate_snapshot_failures_total for err. */
const char *mg_snapshot_reason(int err);

/* Opens the newest snapshot in dir that checks: moongate.snap, else
 * moongate.snap.1. A file that does not check is renamed to
 * NAME.bad-<unix seconds> and logged with its reason. Returns 1 with *s
 * open, 0 when there is none (start empty), -errno when dir is unusable. */
int mg_snapshot_find(const char *dir, struct mg_snap *s, char *which,
                     size_t whichlen);
/* Moves a file aside as NAME.bad-<unix seconds>, logging why. */
void mg_snapshot_move_aside(const char *path, const char *why);

#endif
