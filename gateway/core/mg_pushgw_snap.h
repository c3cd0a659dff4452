/* mg_pushgw_snap: the Pushgateway groups' snapshot section: each group's
 * grouping key, push and failure times, the families JSON shows, and the
 * input series it owns by identity (family name and labels, as input
 * indexes change across a restore). The store restores first; the section
 * is kept in the gateway until the groups exist, then each group takes
 * its series back, so a later PUT replaces them and a DELETE removes
 * them. */
#ifndef MG_PUSHGW_SNAP_H
#define MG_PUSHGW_SNAP_H

#include <stddef.h>

#include "mg_gateway.h"
#include "mg_pushgw.h"
#include "mg_snapfile.h"

/* Writes the section for pg's groups. */
void mg_pushgw_snap_write(struct mg_pushgw *pg, struct mg_snap_w *w);
/* Copies s's section (when it has one) into gw for mg_pushgw_snap_restore.
 * 0 or -ENOMEM. */
int mg_pushgw_snap_keep(struct mg_gateway *gw, const struct mg_snap *s);
/* Restores the section pg's gateway kept (none: nothing to do): groups,
 * times, families, and ownership of the series that are in the store
 * again (those that are not are skipped). 0, or -EINVAL / -ENOMEM with
 * why; what was read before stays. */
int mg_pushgw_snap_restore(struct mg_pushgw *pg, char *why, size_t whylen);

#endif
