/* test_bounds: every fixed-size table outside input can grow, at its bound
 * and one past it (the stats maps, the push reply's error list), the keys
 * those maps refuse, the reply's drop list, the per-reason log limiter,
 * and the decoder's numeric edges: TTLs past what a
 * message can carry, NaN bucket bounds and quantiles, and the exposition
 * of doubles past int64. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "mg_expose.h"
#include "mg_log.h"
#include "mg_stats.h"
#include "mg_wire.h"
#include "mg_test.h"


static double get(const struct mg_stats_map *m, const char *k, size_t n)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->klen[i] == n && memcmp(m->key[i], k, n) == 0)
            return m->val[i];
    return -1;
}

/* 63 named keys fit, the 64th distinct key and all after it go to "other",
 * and n never passes the array, whichever map it is. */
static void test_map_bound(void)
{
    struct mg_stats s;
    mg_stats_init(&s);
    struct mg_stats_map *maps[] = {&s.script_errors,
                                   &s.cap_hits, &s.rule_failures,
                                   &s.notify_dropped};
    for (size_t k = 0; k < sizeof(maps) / sizeof(maps[0]); k++) {
        struct mg_stats_map *m = maps[k];
        char key[16];
        for (int i = 0; i < MG_STATS_MAX_KEYS - 1; i++) {
            int n = snprintf(key, sizeof(key), "r%02d", i);
            mg_stats_map_add(m, key, (size_t)n, 1);
        }
        CHECK(m->n == MG_STATS_MAX_KEYS - 1);
        CHECK(get(m, "other", 5) == -1);
        /* at the bound: the 64th key is folded */
        mg_stats_map_add(m, "r63", 3, 1);
        CHECK(m->n == MG_STATS_MAX_KEYS);
        CHECK(get(m, "other", 5) == 1);
        CHECK(get(m, "r63", 3) == -1);
        /* past it, many times */
        for (int i = 64; i < 300; i++) {
            int n = snprintf(key, sizeof(key), "r%02d", i);
            mg_stats_map_add(m, key, (size_t)n, 1);
        }
        CHECK(m->n == MG_STATS_MAX_KEYS);
        CHECK(get(m, "other", 5) == 1 + 236);
        /* a known key still counts on its own */
        mg_stats_map_add(m, "r05", 3, 10);
        CHECK(get(m, "r05", 3) == 11);
        CHECK(m->folded == 237);
    }
    mg_stats_fini(&s);
}

/* Keys match by their bytes and length; a key that is no label value is
 * counted as "other", never as a second "buffer_full". */
static void test_map_keys(void)
{
    struct mg_stats_map m;
    memset(&m, 0, sizeof(m));
    mg_stats_map_add(&m, "buffer_full", 11, 100);
    mg_stats_map_add(&m, "buffer_full\0x", 13, 1);
    CHECK(get(&m, "buffer_full", 11) == 100);
    CHECK(get(&m, "other", 5) == 1);
    mg_stats_map_add(&m, "bad\xff", 4, 1);         /* not UTF-8 */
    mg_stats_map_add(&m, "tab\there", 8, 1);       /* a control byte */
    mg_stats_map_add(&m, "", 0, 1);                /* empty: no label */
    char big[200];
    memset(big, 'a', sizeof(big));
    mg_stats_map_add(&m, big, sizeof(big), 1);     /* too long */
    CHECK(get(&m, "other", 5) == 5);
    CHECK(m.n == 2);
    CHECK(m.folded == 5);
    /* a prefix is another key */
    mg_stats_map_add(&m, "buffer", 6, 2);
    CHECK(get(&m, "buffer", 6) == 2);
    CHECK(get(&m, "buffer_full", 11) == 100);
    mg_stats_map_fini(&m);
}

/* The reply lists 16 errors; the 17th is counted but not listed. */
static void test_push_errors_bound(void)
{
    struct mg_push_result res;
    mg_push_result_reset(&res);
    for (int i = 0; i < MG_PUSH_MAX_ERRORS; i++)
        mg_push_result_error(&res, i, MG_REASON_INVALID_VALUE, "bad");
    CHECK(res.nerr == MG_PUSH_MAX_ERRORS);
    CHECK(res.err[MG_PUSH_MAX_ERRORS - 1].index == MG_PUSH_MAX_ERRORS - 1);
    mg_push_result_error(&res, 99, MG_REASON_INVALID_VALUE, "bad");
    CHECK(res.nerr == MG_PUSH_MAX_ERRORS);
    CHECK(res.err[MG_PUSH_MAX_ERRORS - 1].index == MG_PUSH_MAX_ERRORS - 1);
}

/* The reply lists 16 drops beside the exact count, in both encodings. */
static void test_push_drops_bound(void)
{
    struct mg_push_result res;
    mg_push_result_reset(&res);
    for (int i = 0; i < MG_PUSH_MAX_DROPS + 1; i++)
        mg_push_result_drop(&res, i, i ? MG_DROP_SCRIPT_ERROR : MG_DROP_RULE);
    CHECK(res.dropped == MG_PUSH_MAX_DROPS + 1);
    CHECK(res.ndrop == MG_PUSH_MAX_DROPS);
    CHECK(res.drop[MG_PUSH_MAX_DROPS - 1].index == MG_PUSH_MAX_DROPS - 1);

    struct mg_buf b = {0};
    mg_push_result_json(&res, &b);
    mg_buf_addc(&b, '\0');
    CHECK(b.p && strstr(b.p, "\"dropped\":17,") != NULL);
    CHECK(b.p && strstr(b.p, "\"drops\":[{\"index\":0,\"reason\":\"rule\"},"
                             "{\"index\":1,\"reason\":\"script_error\"}") != NULL);
    CHECK(b.p && strstr(b.p, "\"index\":16") == NULL);
    mg_buf_fini(&b);

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    CHECK(mg_wire_encode_reply(&res, &sb) == 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    CHECK(msgpack_unpack_next(&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object_map *m = &u.data.via.map;
    int found = 0;
    for (uint32_t i = 0; u.data.type == MSGPACK_OBJECT_MAP && i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 5 &&
            memcmp(k->via.str.ptr, "drops", 5) == 0) {
            found = v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size == MG_PUSH_MAX_DROPS;
        }
    }
    CHECK(found);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* The per-reason limiter: burst lines a reason, each reason its own, then
 * one suppression line with the exact count once the window ended. */
static void test_log_reasons(void)
{
    char path[] = "/tmp/test_bounds_log.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    struct mg_log_reasons lr = {.burst = 3, .window = 0.2, .msg = "refusals"};
    int allowed = 0, other = 0;
    for (int i = 0; i < 50; i++)
        allowed += mg_log_reason_allow(&lr, MG_REASON_DECODE_ERROR);
    other = mg_log_reason_allow(&lr, MG_REASON_INVALID_VALUE);
    mg_log_reasons_flush(&lr); /* too early: nothing yet */
    struct timespec ts = {0, 250 * 1000 * 1000};
    nanosleep(&ts, NULL);
    mg_log_reasons_flush(&lr);
    mg_log_reasons_flush(&lr); /* once */
    int again = mg_log_reason_allow(&lr, MG_REASON_DECODE_ERROR);
    dup2(saved, STDERR_FILENO);
    close(saved);
    CHECK(allowed == 3);
    CHECK(other == 1);
    CHECK(again == 1);
    char buf[1024] = {0};
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    unlink(path);
    CHECK(n > 0);
    const char *l = strstr(buf, "msg=\"refusals suppressed\" reason=decode_error suppressed=47\n");
    CHECK(l != NULL);
    CHECK(l && strstr(l + 20, "refusals suppressed") == NULL); /* one line */
}

/* ---- the decoder ---- */

struct msg {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_zone zone;
    msgpack_object root;
};

static void pstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void msg_begin(struct msg *m)
{
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void msg_end(struct msg *m)
{
    size_t off = 0;
    msgpack_zone_init(&m->zone, 4096);
    int rc = msgpack_unpack(m->sb.data, m->sb.size, &off, &m->zone, &m->root);
    CHECK(rc == MSGPACK_UNPACK_SUCCESS);
}

static void msg_free(struct msg *m)
{
    msgpack_zone_destroy(&m->zone);
    msgpack_sbuffer_destroy(&m->sb);
}

/* {metrics = [], ttl = d}: the reason and, when accepted, the ttl in ms. */
static enum mg_reason ttl(double d, uint32_t *ms)
{
    struct mg_wire_limits lim;
    mg_wire_limits_default(&lim);
    struct mg_wire_scratch *ws = mg_wire_scratch_new(&lim);
    struct msg m;
    msg_begin(&m);
    msgpack_pack_map(&m.pk, 2);
    pstr(&m.pk, "metrics");
    msgpack_pack_array(&m.pk, 0);
    pstr(&m.pk, "ttl");
    msgpack_pack_double(&m.pk, d);
    msg_end(&m);
    struct mg_message mm;
    char why[MG_WHY_LEN];
    enum mg_reason r = mg_wire_message(&m.root, &lim, ws, &mm, why);
    *ms = mm.ttl_ms;
    msg_free(&m);
    mg_wire_scratch_free(ws);
    return r;
}

static void test_ttl(void)
{
    uint32_t ms;
    CHECK(ttl(120, &ms) == MG_OK && ms == 120000);
    CHECK(ttl(0, &ms) == MG_OK && ms == 0);
    CHECK(ttl(4294967, &ms) == MG_OK && ms == 4294967000u);
    /* once wrapped to 968 ms: now the longest TTL a message carries */
    CHECK(ttl(4294968, &ms) == MG_OK && ms == UINT32_MAX);
    CHECK(ttl(1e12, &ms) == MG_OK && ms == UINT32_MAX);
    CHECK(ttl(1e300, &ms) == MG_OK && ms == UINT32_MAX);
    CHECK(ttl(-1, &ms) == MG_REASON_DECODE_ERROR);
    CHECK(ttl(NAN, &ms) == MG_REASON_DECODE_ERROR);
    CHECK(ttl(INFINITY, &ms) == MG_REASON_DECODE_ERROR);
    CHECK(ttl(-INFINITY, &ms) == MG_REASON_DECODE_ERROR);
}

/* One histogram (hist) or summary with two bounds b1, b2 as float keys. */
static enum mg_reason bounds(int hist, double b1, double b2)
{
    struct mg_wire_limits lim;
    mg_wire_limits_default(&lim);
    struct mg_wire_scratch *ws = mg_wire_scratch_new(&lim);
    struct msg m;
    msg_begin(&m);
    msgpack_pack_map(&m.pk, 1);
    pstr(&m.pk, "metrics");
    msgpack_pack_array(&m.pk, 1);
    msgpack_pack_map(&m.pk, 5);
    pstr(&m.pk, "name");
    pstr(&m.pk, "h");
    pstr(&m.pk, "type");
    pstr(&m.pk, hist ? "histogram" : "summary");
    pstr(&m.pk, "sum");
    msgpack_pack_double(&m.pk, 1);
    pstr(&m.pk, "count");
    msgpack_pack_double(&m.pk, 2);
    pstr(&m.pk, hist ? "buckets" : "quantiles");
    msgpack_pack_map(&m.pk, 2);
    msgpack_pack_double(&m.pk, b1);
    msgpack_pack_double(&m.pk, 1);
    msgpack_pack_double(&m.pk, b2);
    msgpack_pack_double(&m.pk, 2);
    msg_end(&m);
    struct mg_message mm;
    struct mg_sample s;
    char why[MG_WHY_LEN];
    enum mg_reason r = mg_wire_message(&m.root, &lim, ws, &mm, why);
    CHECK(r == MG_OK);
    if (r == MG_OK)
        r = mg_wire_metric(&mm, 0, &lim, ws, &s, why);
    msg_free(&m);
    mg_wire_scratch_free(ws);
    return r;
}

static void test_nan_bounds(void)
{
    CHECK(bounds(1, 0.5, 1) == MG_OK);
    CHECK(bounds(1, 0.5, INFINITY) == MG_OK);
    CHECK(bounds(1, NAN, 1) == MG_REASON_INVALID_VALUE);
    /* two NaN keys never compare equal: once both were kept */
    CHECK(bounds(1, NAN, NAN) == MG_REASON_INVALID_VALUE);
    CHECK(bounds(0, 0.5, 0.9) == MG_OK);
    CHECK(bounds(0, 0, 1) == MG_OK);
    CHECK(bounds(0, NAN, 0.5) == MG_REASON_INVALID_VALUE);
    CHECK(bounds(0, NAN, NAN) == MG_REASON_INVALID_VALUE);
    CHECK(bounds(0, 1.5, 0.5) == MG_REASON_INVALID_VALUE);
    CHECK(bounds(0, -0.1, 0.5) == MG_REASON_INVALID_VALUE);
    CHECK(bounds(0, INFINITY, 0.5) == MG_REASON_INVALID_VALUE);
}

/* One gauge with nl labels l0..l(nl-1) and a source of ns labels s0..,
 * or (nl < 0) a histogram of nb bounds 1..nb without +Inf, decoded under
 * max_labels = 4, max_buckets = 4: the metric's reason. */
static enum mg_reason sized(int nl, int ns, int nb)
{
    struct mg_wire_limits lim;
    mg_wire_limits_default(&lim);
    lim.max_labels = 4;
    lim.max_buckets = 4;
    struct mg_wire_scratch *ws = mg_wire_scratch_new(&lim);
    struct msg m;
    char k[8];
    msg_begin(&m);
    msgpack_pack_map(&m.pk, ns ? 2 : 1);
    if (ns) {
        pstr(&m.pk, "source");
        msgpack_pack_map(&m.pk, (size_t)ns);
        for (int i = 0; i < ns; i++) {
            snprintf(k, sizeof(k), "s%d", i);
            pstr(&m.pk, k);
            pstr(&m.pk, "v");
        }
    }
    pstr(&m.pk, "metrics");
    msgpack_pack_array(&m.pk, 1);
    msgpack_pack_map(&m.pk, nl >= 0 ? 4 : 6);
    pstr(&m.pk, "name");
    pstr(&m.pk, "m");
    if (nl >= 0) {
        pstr(&m.pk, "type");
        pstr(&m.pk, "gauge");
        pstr(&m.pk, "value");
        msgpack_pack_double(&m.pk, 1);
        pstr(&m.pk, "labels");
        msgpack_pack_map(&m.pk, (size_t)nl);
        for (int i = 0; i < nl; i++) {
            snprintf(k, sizeof(k), "l%d", i);
            pstr(&m.pk, k);
            pstr(&m.pk, "v");
        }
    } else {
        pstr(&m.pk, "type");
        pstr(&m.pk, "histogram");
        pstr(&m.pk, "sum");
        msgpack_pack_double(&m.pk, 1);
        pstr(&m.pk, "count");
        msgpack_pack_double(&m.pk, 9);
        pstr(&m.pk, "labels");
        msgpack_pack_map(&m.pk, 0);
        pstr(&m.pk, "buckets");
        msgpack_pack_map(&m.pk, (size_t)nb);
        for (int i = 0; i < nb; i++) {
            msgpack_pack_double(&m.pk, i + 1);
            msgpack_pack_double(&m.pk, i + 1);
        }
    }
    msg_end(&m);
    struct mg_message mm;
    struct mg_sample smp;
    char why[MG_WHY_LEN];
    enum mg_reason r = mg_wire_message(&m.root, &lim, ws, &mm, why);
    if (r == MG_OK)
        r = mg_wire_metric(&mm, 0, &lim, ws, &smp, why);
    /* a histogram at the bound gets +Inf appended past it */
    if (r == MG_OK && nl < 0)
        CHECK(smp.nb == (size_t)nb + 1 && isinf(smp.bound[nb]));
    msg_free(&m);
    mg_wire_scratch_free(ws);
    return r;
}

/* Label arrays and bucket scratch at their bound and one past it. */
static void test_wire_bounds(void)
{
    CHECK(sized(4, 0, 0) == MG_OK);
    CHECK(sized(5, 0, 0) == MG_REASON_TOO_MANY_LABELS);
    CHECK(sized(0, 4, 0) == MG_OK);
    CHECK(sized(0, 5, 0) != MG_OK);
    CHECK(sized(2, 2, 0) == MG_OK);
    CHECK(sized(3, 2, 0) == MG_REASON_TOO_MANY_LABELS);
    CHECK(sized(-1, 0, 4) == MG_OK);
    CHECK(sized(-1, 0, 5) == MG_REASON_TOO_LARGE);
}

/* Values past int64 format as doubles, not via an undefined cast (run
 * under -fsanitize=undefined to see the cast). */
static void test_format_double(void)
{
    char buf[64];
    struct {
        double v;
        const char *want;
    } cases[] = {
        {1e300, "1e+300"},          {-1e300, "-1e+300"},
        {9.3e18, "9.3e+18"},        {-9.3e18, "-9.3e+18"},
        {NAN, "NaN"},               {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},        {42, "42"},
        {-0.0, "-0"},               {999999999999999, "999999999999999"},
        {1e15, "1e+15"},            {0.1, "0.1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = mg_format_double(buf, cases[i].v);
        buf[n] = '\0';
        if (strcmp(buf, cases[i].want) != 0) {
            FAIL_AT(__LINE__, "format %g: %s, want %s", cases[i].v, buf,
                    cases[i].want);
        }
    }
}

int main(void)
{
    test_map_bound();
    test_map_keys();
    test_push_errors_bound();
    test_push_drops_bound();
    test_log_reasons();
    test_ttl();
    test_nan_bounds();
    test_format_double();
    test_wire_bounds();
    return mg_test_summary("test_bounds");
}
