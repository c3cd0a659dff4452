/* mg_pushgw: Pushgateway's groups over the gateway's store. Owns the
 * group table: each group's grouping key (parsed from the URL path, with
 * @base64 values), its push and failure times, its TTL, the families last
 * pushed and the input series it owns. PUT replaces a group, POST the
 * families of the same names, DELETE removes it; a push that would make
 * the scrape inconsistent is refused whole, naming the line. Pushed
 * series flow through the gateway like msgpack metrics (pipeline, caps,
 * rules). Renders the groups as Pushgateway's JSON. Knows nothing of
 * sockets: mg_pushgw_http is the HTTP side. */
#ifndef MG_PUSHGW_H
#define MG_PUSHGW_H

#include <stddef.h>
#include <stdint.h>

#include "mg_buf.h"
#include "mg_config.h"
#include "mg_gateway.h"

struct mg_pushgw;

/* Groups over gw (borrowed), the TTL rules of cfg compiled. NULL with why
 * (a bad job regex, out of memory). */
struct mg_pushgw *mg_pushgw_new(struct mg_gateway *gw,
                                const struct mg_config *cfg, char *why,
                                size_t whylen);
/* NULL is a no-op. Leaves the store's series where they are. */
void mg_pushgw_free(struct mg_pushgw *pg);

enum mg_pushgw_method { MG_PUSHGW_PUT, MG_PUSHGW_POST, MG_PUSHGW_DELETE };

/* The body formats. */
enum mg_pushgw_format { MG_PUSHGW_TEXT, MG_PUSHGW_PROTO };

/* The grouping key in a path after "/metrics": "/job/<v>{/<name>/<v>}",
 * any name with "@base64" taking a URL-safe base64 value (padding
 * optional, "=" alone for the empty value). Percent escapes are decoded
 * first, as Go's router does. Fills v (room for max) sorted, the values
 * in buf (room for strlen(path) + 1 bytes); returns the count, or -1 with
 * why. */
int mg_pushgw_parse_key(const char *path, struct mg_label *v, size_t max,
                        char *buf, char *why, size_t whylen);

/* One request on /metrics/job...: body (len bytes, already inflated) in
 * format f. Writes the reply text into reply (reset first) and returns
 * the HTTP status: 200 (PUT, POST), 202 (DELETE), 400 naming the line and
 * the reason. */
int mg_pushgw_request(struct mg_pushgw *pg, enum mg_pushgw_method m,
                      const char *path, enum mg_pushgw_format f,
                      const char *body, size_t len, struct mg_buf *reply);

/* The reason a 400 of the last mg_pushgw_request refused its body for
 * (the first refused series' when several were), MG_OK after anything
 * else: the label moongate_samples_rejected_total counted it under. */
enum mg_reason mg_pushgw_last_reason(const struct mg_pushgw *pg);

/* Drops the groups whose TTL has passed. */
void mg_pushgw_sweep(struct mg_pushgw *pg);

/* GET /api/v1/metrics: {"status":"success","data":[group, ...]}, each
 * group {labels, <family>: {time_stamp, type, help, metrics}, ...}. */
void mg_pushgw_metrics_json(struct mg_pushgw *pg, struct mg_buf *out);
/* GET /api/v1/status. */
void mg_pushgw_status_json(struct mg_pushgw *pg, struct mg_buf *out);

#endif
