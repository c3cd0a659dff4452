/* mg_snapshot: a whole snapshot of a gateway: composed from the store's,
 * the rules' and the query layer's sections with the gateway's own
 * counters, restored in order, inspected for operators. The file format is
 * mg_snapfile's; rotation and fork are mg_snapshot_write's. */
#ifndef MG_SNAPSHOT_H
#define MG_SNAPSHOT_H

#include <stdio.h>

#include "mg_rules_snap.h"
#include "mg_snapfile.h"
#include "mg_store_snap.h"

/* ---- a gateway's snapshot ---- */

struct mg_gateway;

/* Writes gw's state to fd. 0 or -errno; *bytes the size. */
int mg_snapshot_write(struct mg_gateway *gw, int fd, int64_t now_ms,
                      uint64_t *bytes);
/* Restores the store's sections into a fresh gateway: every input
 * on the route it had, outputs with the values they had, input clocks as
 * they were. Run before the scripts load: loading them re-routes each
 * restored input as a reload does. Then, once rules exist,
 * mg_snapshot_restore_rules. 0, or -errno with why. */
int mg_snapshot_restore_store(struct mg_gateway *gw, const struct mg_snap *s,
                              char *why, size_t whylen);
/* The rules' alert states and written series, into the rules loaded now
 * (none without rules), the own counters as they were. Then sweeps what
 * expired while down. */
int mg_snapshot_restore_rules(struct mg_gateway *gw, const struct mg_snap *s,
                              char *why, size_t whylen);

/* The last append-only log sequence number s covers; 0 when none. */
uint64_t mg_snapshot_aof_seq(const struct mg_snap *s);

/* moongate snapshot inspect: the header, the counts, each section and the
 * checksum verdict, to f. 0 when the file checks, 1 when it does not. */
int mg_snapshot_inspect(const char *path, FILE *f);

#endif
