/* mg_import: `moongate rules import FILE.yml`: a Prometheus rule file
 * (groups with name, interval, query_offset, limit, rules with record or
 * alert, expr, for, keep_firing_for, labels, annotations) into the text of
 * a moongate rules file, expr carried as promql = "...". Read with
 * libyaml's event parser into a bounded tree (size, depth, node count; no
 * aliases). Refuses what it cannot carry over, with the YAML line. Owns
 * nothing past the call. */
#ifndef MG_IMPORT_H
#define MG_IMPORT_H

#include <stddef.h>
#include <stdio.h>

/* Writes the converted file to out. 0, or -1 with "path:line: message" in
 * why (nothing written). */
int mg_rules_import(const char *path, FILE *out, char *why, size_t whylen);

#endif
