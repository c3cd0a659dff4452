/* mg_snapshot: a whole snapshot composed from a gateway, and restored. */
#include "mg_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mg_aof.h"
#include "mg_gateway.h"
#include "mg_pushgw_snap.h"
#include "mg_rules.h"
#include "mg_stats.h"

/* ---- the stats section: the gateway's own counters continue ---- */

static void stats_map_write(struct mg_snap_w *w, const struct mg_stats_map *m)
{
    mg_snap_v(w, m->n);
    for (unsigned i = 0; i < m->n; i++) {
        mg_snap_str(w, m->key[i], strlen(m->key[i]));
        mg_snap_f64(w, m->val[i]);
    }
}

static void stats_write(const struct mg_stats *st, struct mg_snap_w *w)
{
    mg_snap_sec_begin(w, MG_SNAP_STATS);
    mg_snap_v(w, MG_TRANSPORT_COUNT);
    for (int i = 0; i < MG_TRANSPORT_COUNT; i++) {
        mg_snap_v(w, st->received[i]);
        mg_snap_v(w, st->connections[i]);
    }
    /* reasons by name: their order may change between versions */
    mg_snap_v(w, MG_REASON_COUNT - 1);
    for (int i = 1; i < MG_REASON_COUNT; i++) {
        const char *n = mg_reason_name((enum mg_reason)i);
        mg_snap_str(w, n, strlen(n));
        mg_snap_v(w, st->reasons[i]);
    }
    mg_snap_v(w, st->expired);
    mg_snap_v(w, st->pipeline_runs);
    mg_snap_v(w, st->notifications_sent);
    /* connections closed, by reason name as the reasons are */
    mg_snap_v(w, MG_CLOSE_COUNT);
    for (int i = 0; i < MG_CLOSE_COUNT; i++) {
        const char *n = mg_close_name((enum mg_close)i);
        mg_snap_str(w, n, strlen(n));
        mg_snap_v(w, st->closed[i]);
    }
    mg_snap_v(w, MG_RULE_BUCKETS);
    for (int i = 0; i < MG_RULE_BUCKETS; i++)
        mg_snap_f64(w, st->rule_eval_buckets[i]);
    mg_snap_f64(w, st->rule_eval_sum);
    mg_snap_f64(w, st->rule_eval_count);
    /* client drops were a map here; they are series of the store now */
    mg_snap_v(w, 0);
    stats_map_write(w, &st->script_errors);
    stats_map_write(w, &st->cap_hits);
    stats_map_write(w, &st->rule_failures);
    stats_map_write(w, &st->notify_dropped);
    mg_snap_sec_end(w);
}

static void stats_map_read(struct mg_snap_r *r, struct mg_stats_map *m)
{
    uint64_t n = mg_snap_get_v(r);
    for (uint64_t i = 0; i < n && !r->err; i++) {
        size_t kl;
        const char *k = mg_snap_get_str(r, &kl, 128);
        double v = mg_snap_get_f64(r);
        if (!r->err && mg_utf8_valid(k, kl))
            mg_stats_map_add(m, k, kl, v);
    }
}

/* The counters as they were: set, not added, so that the pipeline runs of
 * the re-routing at restore do not count twice. */
static int stats_read(struct mg_stats *st, const struct mg_snap *s)
{
    struct mg_snap_r r;
    if (mg_snap_section(s, MG_SNAP_STATS, &r))
        return 0;
    uint64_t nt = mg_snap_get_v(&r);
    for (uint64_t i = 0; i < nt && !r.err; i++) {
        uint64_t rv = mg_snap_get_v(&r), cv = mg_snap_get_v(&r);
        if (i < MG_TRANSPORT_COUNT) {
            st->received[i] = rv;
            st->connections[i] = cv;
        }
    }
    uint64_t nr = mg_snap_get_v(&r);
    for (uint64_t i = 0; i < nr && !r.err; i++) {
        size_t nl;
        const char *n = mg_snap_get_str(&r, &nl, 64);
        uint64_t v = mg_snap_get_v(&r);
        for (int k = 1; k < MG_REASON_COUNT && !r.err; k++) {
            const char *kn = mg_reason_name((enum mg_reason)k);
            if (strlen(kn) == nl && memcmp(kn, n, nl) == 0) {
                st->reasons[k] = v;
                break;
            }
        }
    }
    st->expired = mg_snap_get_v(&r);
    st->pipeline_runs = mg_snap_get_v(&r);
    st->notifications_sent = mg_snap_get_v(&r);
    uint64_t nc = mg_snap_get_v(&r);
    for (uint64_t i = 0; i < nc && !r.err; i++) {
        size_t len;
        const char *n = mg_snap_get_str(&r, &len, 64);
        uint64_t v = mg_snap_get_v(&r);
        for (int k = 0; n && k < MG_CLOSE_COUNT; k++)
            if (strlen(mg_close_name((enum mg_close)k)) == len &&
                memcmp(mg_close_name((enum mg_close)k), n, len) == 0)
                st->closed[k] = v;
    }
    uint64_t nb = mg_snap_get_v(&r);
    double b[MG_RULE_BUCKETS] = {0};
    for (uint64_t i = 0; i < nb && !r.err; i++) {
        double v = mg_snap_get_f64(&r);
        if (i < MG_RULE_BUCKETS)
            b[i] = v;
    }
    double sum = mg_snap_get_f64(&r), count = mg_snap_get_f64(&r);
    if (!r.err && nb == MG_RULE_BUCKETS) {
        for (int i = 0; i < MG_RULE_BUCKETS; i++)
            st->rule_eval_buckets[i] = b[i];
        st->rule_eval_sum = sum;
        st->rule_eval_count = count;
    }
    /* an older snapshot's unlabelled client drops: read past, as their
     * producers' series start again from their next reports */
    struct mg_stats_map old;
    memset(&old, 0, sizeof(old));
    stats_map_read(&r, &old);
    mg_stats_map_fini(&old);
    stats_map_read(&r, &st->script_errors);
    stats_map_read(&r, &st->cap_hits);
    stats_map_read(&r, &st->rule_failures);
    stats_map_read(&r, &st->notify_dropped);
    return r.err ? -EINVAL : 0;
}

/* ---- a gateway's snapshot ---- */

int mg_snapshot_write(struct mg_gateway *gw, int fd, int64_t now_ms,
                      uint64_t *bytes)
{
    struct mg_snap_w w;
    memset(&w, 0, sizeof(w));
    const char *f = getenv("MG_SNAPSHOT_FAIL");
    if (f && strcmp(f, "enospc") == 0)
        w.fail = -ENOSPC; /* the test seam for a full disk */
    else if (f && strcmp(f, "eio") == 0)
        w.fail = -EIO;
    int rc = mg_snap_w_begin(&w, fd, now_ms);
    if (rc) {
        mg_snap_w_abort(&w);
        return rc;
    }
    mg_store_snap_write(mg_gateway_store(gw), &w);
    const struct mg_rules *r = mg_gateway_rules(gw);
    if (r) {
        mg_rules_snap_write(r, mg_gateway_store(gw), &w);
        mg_query_snap_write(mg_gateway_query_state(gw), &w);
    }
    if (mg_gateway_pushgw(gw))
        mg_pushgw_snap_write(mg_gateway_pushgw(gw), &w);
    stats_write(mg_gateway_stats(gw), &w);
    if (mg_gateway_aof(gw)) {
        mg_snap_sec_begin(&w, MG_SNAP_AOF);
        mg_snap_u64(&w, mg_aof_seq(mg_gateway_aof(gw)));
        mg_snap_sec_end(&w);
    }
    return mg_snap_w_finish(&w, bytes);
}

int mg_snapshot_restore_store(struct mg_gateway *gw, const struct mg_snap *s,
                              char *why, size_t whylen)
{
    size_t skipped = 0;
    int rc = mg_store_snap_read(mg_gateway_store(gw), s, &skipped, why, whylen);
    if (rc)
        return rc;
    /* the groups are made later, with the HTTP side: they take it then */
    if (mg_pushgw_snap_keep(gw, s)) {
        snprintf(why, whylen, "out of memory keeping the Pushgateway section");
        return -ENOMEM;
    }
    if (skipped)
        snprintf(why, whylen, "%zu series did not fit and were skipped", skipped);
    return 0;
}

int mg_snapshot_restore_rules(struct mg_gateway *gw, const struct mg_snap *s,
                              char *why, size_t whylen)
{
    struct mg_rules *r = mg_gateway_rules_rw(gw);
    int rc = 0;
    if (r)
        rc = mg_rules_snap_read(r, mg_gateway_store(gw), s, why, whylen);
    if (r && !rc)
        rc = mg_query_snap_read(mg_gateway_query_state(gw), mg_gateway_store(gw), s,
                                mg_gateway_now(gw), why, whylen);
    /* the counters last: the re-routing at load is not new work */
    if (stats_read(mg_gateway_stats(gw), s) && !rc) {
        snprintf(why, whylen, "malformed stats section");
        rc = -EINVAL;
    }
    /* what expired while the gateway was down goes as if it had stayed up */
    mg_gateway_sweep(gw);
    return rc;
}

uint64_t mg_snapshot_aof_seq(const struct mg_snap *s)
{
    struct mg_snap_r r;
    if (mg_snap_section(s, MG_SNAP_AOF, &r))
        return 0;
    uint64_t v = mg_snap_get_u64(&r);
    return r.err ? 0 : v;
}

/* ---- inspect ---- */

static const char *type_name(uint32_t t)
{
    switch (t) {
    case MG_SNAP_STORE: return "store";
    case MG_SNAP_OUTPUTS: return "outputs";
    case MG_SNAP_INPUTS: return "inputs";
    case MG_SNAP_ALERTS: return "alerts";
    case MG_SNAP_WRITTEN: return "written";
    case MG_SNAP_STATS: return "stats";
    case MG_SNAP_AOF: return "aof";
    case MG_SNAP_QUERY: return "query";
    case MG_SNAP_PUSHGW: return "pushgw";
    default: return "unknown";
    }
}

int mg_snapshot_inspect(const char *path, FILE *f)
{
    struct mg_snap s;
    char why[256];
    int rc = mg_snap_open(&s, path, why, sizeof(why));
    fprintf(f, "file: %s\n", path);
    if (rc) {
        fprintf(f, "checksum: FAILED (%s)\n", why);
        return 1;
    }
    fprintf(f, "format: moongate snapshot %u.%u\n", s.major, s.minor);
    fprintf(f, "bytes: %zu\n", s.len);
    fprintf(f, "written_ms: %lld\n", (long long)s.written_ms);
    fprintf(f, "inputs: %llu\noutputs: %llu\nalerts: %llu\nwritten_series: %llu\n",
            (unsigned long long)s.counts[0], (unsigned long long)s.counts[1],
            (unsigned long long)s.counts[2], (unsigned long long)s.counts[3]);
    for (size_t i = 0; i < s.nsec; i++)
        fprintf(f, "section: %s (type %u) %llu bytes\n", type_name(s.sec[i].type),
                s.sec[i].type, (unsigned long long)s.sec[i].len);
    if (s.unknown)
        fprintf(f, "sections skipped (unknown type): %zu\n", s.unknown);
    fprintf(f, "checksum: OK\n");
    mg_snap_close(&s);
    return 0;
}
