/* mg_message: a push message's envelope, before its metrics: decoding it
 * (one message or a body of them), whose credential it carries and what
 * that producer may do (bound labels, rate), the drop counts the client
 * reports, then each metric through the look-ahead ring to the series
 * path (mg_gateway_push_metric). */
#include "mg_gateway_int.h"

#include <stdio.h>
#include <string.h>

#include "mg_unpack.h"
#include "mg_utf8.h"

/* Distinct reasons a message may report; the rest add to "other". */
#define MAX_CLIENT_REASONS 63

/* One reported drop count as an input series: pushed like a metric of the
 * message, so the pipeline, caps and budgets apply. Its outcome stays out
 * of the reply's counts, which count the message's metrics; a refusal is
 * counted and named in the reply as an error of the message. */
static void client_drop(struct mg_gateway *gw, const struct mg_message *m,
                        const char *reason, size_t rlen, double count,
                        int64_t now, struct mg_push_result *res)
{
    struct mg_ahead a;
    struct mg_push_result scratch;
    a.r = mg_wire_client_drop(m, reason, rlen, count, &gw->cfg.wire, gw->ws, &a.s, a.why);
    if (a.r == MG_OK)
        a.h = mg_store_input_hash(a.s.name, a.s.nlen, a.s.labels, a.s.nlabels);
    mg_push_result_reset(&scratch);
    mg_gateway_push_metric(gw, &a, -1, now, &scratch);
    for (uint32_t i = 0; i < scratch.nerr; i++) {
        char why[MG_WHY_LEN];
        snprintf(why, sizeof(why), "dropped: %s", scratch.err[i].detail);
        mg_push_result_error(res, -1, scratch.err[i].reason, why);
    }
}

/* A reported reason and its count, or why they are refused. */
static const char *client_entry(const msgpack_object *k, const msgpack_object *v,
                                double *count, enum mg_reason *r)
{
    *r = MG_REASON_INVALID_LABEL_VALUE;
    if (k->type != MSGPACK_OBJECT_STR || k->via.str.size == 0)
        return "dropped: a reason is not a non-empty string";
    if (memchr(k->via.str.ptr, '\0', k->via.str.size) ||
        !mg_utf8_valid(k->via.str.ptr, k->via.str.size))
        return "dropped: a reason holds a NUL byte or is not UTF-8";
    *r = MG_REASON_INVALID_VALUE;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *count = (double)v->via.u64;
    else if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
        *count = v->via.f64;
    else
        return "dropped: a count is not a number";
    if (!(*count >= 0) || *count > 9e15)
        return "dropped: a count is negative, NaN or too large";
    return NULL;
}

/* The message's dropped map, reason -> count: series of
 * moongate_client_dropped_total{source labels, reason}. */
static void client_drops(struct mg_gateway *gw, const struct mg_message *m,
                         int64_t now, struct mg_push_result *res)
{
    const msgpack_object_map *d = m->dropped;
    const msgpack_object *seen[MAX_CLIENT_REASONS];
    size_t nseen = 0;
    double other = 0;
    int any_other = 0;
    for (uint32_t i = 0; i < d->size; i++) {
        const msgpack_object *k = &d->ptr[i].key;
        double count;
        enum mg_reason r;
        const char *bad = client_entry(k, &d->ptr[i].val, &count, &r);
        if (bad) {
            gw->stats.reasons[r]++;
            mg_push_result_error(res, -1, r, bad);
            continue;
        }
        size_t s = 0;
        while (s < nseen && !(seen[s]->via.str.size == k->via.str.size &&
                              memcmp(seen[s]->via.str.ptr, k->via.str.ptr,
                                     k->via.str.size) == 0))
            s++;
        if (s == nseen && nseen == MAX_CLIENT_REASONS) {
            other += count;
            any_other = 1;
            continue;
        }
        if (s == nseen)
            seen[nseen++] = k;
        client_drop(gw, m, k->via.str.ptr, k->via.str.size, count, now, res);
    }
    if (any_other)
        client_drop(gw, m, "other", 5, other, now, res);
}

/* Refuses the whole message: its metrics are counted under r. */
static void refuse_message(struct mg_gateway *gw, const struct mg_message *m,
                           enum mg_reason r, const char *why,
                           struct mg_push_result *res)
{
    mg_gateway_reject(gw, res, -1, r, m->nmetrics ? (uint32_t)m->nmetrics : 1, why);
}

/* The producer's bound labels go into the message's source, whatever it
 * said; a message that claims other values for them is refused. */
static int bind_labels(struct mg_gateway *gw, const struct mg_principal *who,
                       struct mg_message *m, char *why)
{
    size_t n = 0;
    for (size_t i = 0; i < who->nlabels; i++) {
        const struct mg_label *b = &who->labels[i];
        for (size_t k = 0; k < m->nsource; k++) {
            const struct mg_label *s = &m->source[k];
            if (s->nlen == b->nlen && memcmp(s->name, b->name, b->nlen) == 0 &&
                (s->vlen != b->vlen || memcmp(s->value, b->value, b->vlen) != 0)) {
                snprintf(why, MG_WHY_LEN, "source label %.64s is bound to this producer's "
                         "credential and cannot be set to another value", b->name);
                return -1;
            }
        }
    }
    for (size_t k = 0; k < m->nsource; k++) {
        int bound = 0;
        for (size_t i = 0; i < who->nlabels && !bound; i++)
            bound = m->source[k].nlen == who->labels[i].nlen &&
                    memcmp(m->source[k].name, who->labels[i].name, who->labels[i].nlen) == 0;
        if (!bound)
            gw->bound_src[n++] = m->source[k];
    }
    for (size_t i = 0; i < who->nlabels; i++) {
        if (n == gw->cfg.wire.max_labels) {
            snprintf(why, MG_WHY_LEN, "more than max_labels source labels with the bound ones");
            return -1;
        }
        gw->bound_src[n++] = who->labels[i];
    }
    mg_labels_sort(gw->bound_src, n);
    m->source = gw->bound_src;
    m->nsource = n;
    return 0;
}

/* Who pushes this message and whether they may: the transport's principal
 * when it authenticated the sender (preauth), else the message's token
 * key. Then the producer's bound labels and its rate. 0 or -1 (refused). */
static int authorize(struct mg_gateway *gw, struct mg_message *m, enum mg_transport t,
                     int preauth, struct mg_principal *who, struct mg_push_result *res)
{
    char why[MG_WHY_LEN];
    if (!preauth) {
        struct mg_cred c = {.token = m->token, .tlen = m->token_len};
        enum mg_verdict v = mg_auth_decide(gw->auth, MG_ROLE_PUSH, &c, &who);
        if (v != MG_AUTH_OK) {
            gw->stats.unauthorized[t]++;
            refuse_message(gw, m, MG_REASON_UNAUTHORIZED,
                           v == MG_AUTH_MISSING ? "a push token is required"
                           : v == MG_AUTH_BAD   ? "bad push token"
                                                : mg_verdict_text(v), res);
            return -1;
        }
    }
    gw->who = who;
    if (!who)
        return 0;
    if (who->nlabels && bind_labels(gw, who, m, why)) {
        gw->stats.unauthorized[t]++;
        refuse_message(gw, m, MG_REASON_UNAUTHORIZED, why, res);
        return -1;
    }
    double wait;
    if (mg_auth_take(who, (double)mg_gateway_now(gw) / 1000.0, (double)m->nmetrics, &wait)) {
        snprintf(why, sizeof(why), "over this producer's rate of %g samples/s; retry in %.0f s",
                 who->rate, wait);
        refuse_message(gw, m, MG_REASON_OVER_BUDGET, why, res);
        res->retry_after = wait;
        return -1;
    }
    return 0;
}

static void push_message(struct mg_gateway *gw, const char *p, size_t len,
                         enum mg_transport t, int preauth, struct mg_principal *who,
                         struct mg_push_result *res);

void mg_gateway_push_message(struct mg_gateway *gw, const char *p, size_t len,
                             enum mg_transport t, const char *token,
                             struct mg_push_result *res)
{
    (void)token; /* the message's token key decides */
    push_message(gw, p, len, t, 0, NULL, res);
}

void mg_gateway_push_message_as(struct mg_gateway *gw, const char *p, size_t len,
                                enum mg_transport t, struct mg_principal *who,
                                struct mg_push_result *res)
{
    push_message(gw, p, len, t, 1, who, res);
}

static void push_message(struct mg_gateway *gw, const char *p, size_t len,
                         enum mg_transport t, int preauth, struct mg_principal *who,
                         struct mg_push_result *res)
{
    char why[MG_WHY_LEN];
    int32_t base = (int32_t)(res->accepted + res->rejected);
    msgpack_object root;
    gw->who = NULL; /* until this message's credential is judged */
    size_t off = 0;
    msgpack_zone_clear(&gw->zone);
    int rc = mg_unpack(p, len, &off, &gw->zone, &root);
    if (rc != MSGPACK_UNPACK_SUCCESS && rc != MSGPACK_UNPACK_EXTRA_BYTES) {
        gw->stats.received[t]++;
        mg_gateway_reject(gw, res, -1, MG_REASON_DECODE_ERROR, 1, "message is not msgpack");
        return;
    }
    struct mg_message m;
    enum mg_reason r = mg_wire_message(&root, &gw->cfg.wire, gw->ws, &m, why);
    if (m.has_ack) {
        res->has_ack = 1;
        res->ack = m.ack;
    }
    if (r != MG_OK) {
        /* every metric of a message refused whole is counted */
        uint32_t n = m.nmetrics ? (uint32_t)m.nmetrics : 1;
        gw->stats.received[t] += n;
        mg_gateway_reject(gw, res, -1, r, n, why);
        res->fatal = m.not_a_map;
        return;
    }
    gw->stats.received[t] += m.nmetrics;
    /* a replayed message passed auth when it first came */
    if (gw->replay_ms) {
        gw->who = NULL;
    } else if (authorize(gw, &m, t, preauth, who, res)) {
        return;
    }
    int64_t now = mg_gateway_now(gw); /* one clock read a message */
    if (m.dropped)
        client_drops(gw, &m, now, res);
    if (gw->aof && !gw->replay_ms)
        mg_aof_append(gw->aof, now, (int)t, p, len);
    struct mg_ahead ring[AHEAD];
    size_t n = m.nmetrics;
    for (size_t i = 0; i < n + AHEAD - 1; i++) {
        /* store metric i - (AHEAD - 1), then decode metric i into the slot
         * it freed: the metrics between are in flight */
        if (i >= AHEAD - 1) {
            size_t k = i - (AHEAD - 1);
            if (k + 1 < n && ring[(k + 1) % AHEAD].r == MG_OK)
                mg_store_prefetch_input(gw->store, ring[(k + 1) % AHEAD].h);
            mg_gateway_push_metric(gw, &ring[k % AHEAD], base + (int32_t)k, now, res);
        }
        if (i < n) {
            struct mg_ahead *a = &ring[i % AHEAD];
            a->r = mg_wire_metric(&m, i, &gw->cfg.wire, gw->ring[i % AHEAD], &a->s, a->why);
            if (a->r == MG_OK) {
                a->h = mg_store_input_hash(a->s.name, a->s.nlen, a->s.labels, a->s.nlabels);
                mg_store_prefetch(gw->store, a->h);
            }
        }
    }
}

static int push_body(struct mg_gateway *gw, const char *p, size_t len,
                     enum mg_transport t, int preauth, struct mg_principal *who,
                     struct mg_push_result *res);

int mg_gateway_push_body(struct mg_gateway *gw, const char *p, size_t len,
                         enum mg_transport t, const char *token,
                         struct mg_push_result *res)
{
    (void)token; /* each message's token key decides */
    return push_body(gw, p, len, t, 0, NULL, res);
}

int mg_gateway_push_body_as(struct mg_gateway *gw, const char *p, size_t len,
                            enum mg_transport t, struct mg_principal *who,
                            struct mg_push_result *res)
{
    return push_body(gw, p, len, t, 1, who, res);
}

static int push_body(struct mg_gateway *gw, const char *p, size_t len,
                     enum mg_transport t, int preauth, struct mg_principal *who,
                     struct mg_push_result *res)
{
    size_t off = 0;
    char why[MG_WHY_LEN];
    if (len == 0) {
        mg_gateway_reject(gw, res, -1, MG_REASON_DECODE_ERROR, 1, "empty body");
        res->fatal = 1;
        return -1;
    }
    while (off < len) {
        struct mg_scan sc;
        memset(&sc, 0, sizeof(sc));
        enum mg_reason r;
        int rc = mg_wire_scan(&sc, p + off, len - off, &gw->cfg.wire, &r, why);
        if (rc == 0) {
            r = MG_REASON_DECODE_ERROR;
            snprintf(why, sizeof(why), "truncated message at byte %zu", off);
        }
        if (rc <= 0) {
            gw->stats.received[t]++;
            mg_gateway_reject(gw, res, -1, r, 1, why);
            res->fatal = 1;
            return -1;
        }
        push_message(gw, p + off, sc.off, t, preauth, who, res);
        off += sc.off;
        if (res->fatal)
            return -1; /* bytes that are not messages: the rest is noise */
    }
    return 0;
}
