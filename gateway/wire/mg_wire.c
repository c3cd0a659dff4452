/* mg_wire: framing, decoding and validation of msgpack messages. */
#include "mg_wire.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mg_wire_limits_default(struct mg_wire_limits *lim)
{
    lim->max_message_bytes = 8u << 20;
    lim->max_depth = 8;
    lim->max_objects = 2u << 20;
    lim->max_metrics = 10000;
    lim->max_labels = 32;
    lim->max_name_len = 256;
    lim->max_value_len = 2048;
    lim->max_buckets = 128;
    lim->default_ttl_ms = 120000;
}

/* ---- the scanner ---- */

static uint32_t be(const unsigned char *p, size_t n)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The header of the object at p: its header size, payload size and, for a
 * container, the objects it holds. Returns 0 when more bytes are needed,
 * -1 on a byte that starts no object. */
static int header(const unsigned char *p, size_t avail, size_t *hdr,
                  size_t *payload, uint64_t *children)
{
    static const unsigned char fixed[] = {
        /* c0..df: payload size after the type byte (255 = special) */
        0, 255, 0, 0, 255, 255, 255, 255, 255, 255, 4, 8, 1, 2, 4, 8,
        1, 2, 4, 8, 2, 3, 5, 9, 17, 255, 255, 255, 255, 255, 255, 255};
    if (avail < 1)
        return 0;
    unsigned char c = p[0];
    *hdr = 1;
    *payload = 0;
    *children = 0;
    if (c <= 0x7f || c >= 0xe0)
        return 1;
    if (c <= 0x8f) {
        *children = 2u * (c & 0x0f);
        return 1;
    }
    if (c <= 0x9f) {
        *children = c & 0x0f;
        return 1;
    }
    if (c <= 0xbf) {
        *payload = c & 0x1f;
        return 1;
    }
    if (c == 0xc1)
        return -1;
    if (fixed[c - 0xc0] != 255) {
        *payload = fixed[c - 0xc0];
        return 1;
    }
    size_t lenbytes;
    switch (c) {
    case 0xc4: case 0xd9: lenbytes = 1; break;            /* bin8, str8 */
    case 0xc5: case 0xda: case 0xdc: case 0xde: lenbytes = 2; break;
    case 0xc6: case 0xdb: case 0xdd: case 0xdf: lenbytes = 4; break;
    case 0xc7: lenbytes = 1; break;                        /* ext8 */
    case 0xc8: lenbytes = 2; break;
    case 0xc9: lenbytes = 4; break;
    default: return -1;
    }
    if (avail < 1 + lenbytes)
        return 0;
    uint32_t n = be(p + 1, lenbytes);
    *hdr = 1 + lenbytes;
    if (c >= 0xc7 && c <= 0xc9) {
        *payload = (size_t)n + 1; /* the ext type byte */
    } else if (c == 0xdc || c == 0xdd) {
        *children = n;
    } else if (c == 0xde || c == 0xdf) {
        *children = 2ull * n;
    } else {
        *payload = n;
    }
    return 1;
}

int mg_wire_scan(struct mg_scan *sc, const char *buf, size_t len,
                 const struct mg_wire_limits *lim, enum mg_reason *r,
                 char why[MG_WHY_LEN])
{
    const unsigned char *p = (const unsigned char *)buf;
    if (sc->off == 0 && sc->depth == 0 && sc->objects == 0)
        sc->left[0] = 1;
    for (;;) {
        if (sc->left[sc->depth] == 0) {
            if (sc->depth == 0)
                return 1;
            sc->depth--;
            continue;
        }
        size_t hdr, payload;
        uint64_t children;
        int rc = header(p + sc->off, len - sc->off, &hdr, &payload, &children);
        if (rc < 0) {
            *r = MG_REASON_DECODE_ERROR;
            snprintf(why, MG_WHY_LEN, "byte 0x%02x at offset %zu starts no msgpack object",
                     p[sc->off], sc->off);
            return -1;
        }
        /* Checked before waiting for the bytes: a declared size over the
         * limit is refused at once, not after buffering it. */
        uint64_t end = (uint64_t)sc->off + (rc ? hdr + payload : 1);
        if (end > lim->max_message_bytes ||
            (rc && children > lim->max_message_bytes - end)) {
            *r = MG_REASON_TOO_LARGE;
            snprintf(why, MG_WHY_LEN,
                     "message larger than max_message_bytes (%zu)",
                     lim->max_message_bytes);
            return -1;
        }
        if (rc == 0 || end > len)
            return 0;
        sc->off = (size_t)end;
        sc->left[sc->depth]--;
        if (++sc->objects + children > lim->max_objects) {
            *r = MG_REASON_TOO_LARGE;
            snprintf(why, MG_WHY_LEN, "message holds more than max_objects (%zu)",
                     lim->max_objects);
            return -1;
        }
        if (children) {
            if (sc->depth + 1 > lim->max_depth || sc->depth + 1 > MG_WIRE_MAX_DEPTH) {
                *r = MG_REASON_DECODE_ERROR;
                snprintf(why, MG_WHY_LEN, "message nested deeper than max_depth (%u)",
                         lim->max_depth);
                return -1;
            }
            sc->left[++sc->depth] = (uint32_t)children;
        }
    }
}

/* ---- scratch ---- */

struct mg_wire_scratch {
    struct mg_label *labels; /* max_labels + 1 */
    struct mg_label *source;
    char *names;             /* exported_ renames */
    size_t names_size;
    double *bound, *bval;
};

struct mg_wire_scratch *mg_wire_scratch_new(const struct mg_wire_limits *lim)
{
    struct mg_wire_scratch *ws = calloc(1, sizeof(*ws));
    if (!ws)
        return NULL;
    size_t nl = lim->max_labels + 1;
    ws->labels = calloc(nl, sizeof(*ws->labels));
    ws->source = calloc(nl, sizeof(*ws->source));
    ws->names_size = nl * (lim->max_name_len + 32);
    ws->names = malloc(ws->names_size);
    ws->bound = calloc(lim->max_buckets + 1, sizeof(double));
    ws->bval = calloc(lim->max_buckets + 1, sizeof(double));
    if (!ws->labels || !ws->source || !ws->names || !ws->bound || !ws->bval) {
        mg_wire_scratch_free(ws);
        return NULL;
    }
    return ws;
}

void mg_wire_scratch_free(struct mg_wire_scratch *ws)
{
    if (!ws)
        return;
    free(ws->labels);
    free(ws->source);
    free(ws->names);
    free(ws->bound);
    free(ws->bval);
    free(ws);
}

/* ---- decoding ---- */

/* Encoders in languages with one table type (Lua, PHP) write an empty map
 * as an empty array; take it as the empty map it means. */
static int is_map(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_MAP ||
           (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 0);
}

static uint32_t map_size(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_MAP ? o->via.map.size : 0;
}

static int key_is(const msgpack_object *k, const char *s, size_t n)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, s, n) == 0;
}
#define KEY(k, lit) key_is((k), lit, sizeof(lit) - 1)

static int as_number(const msgpack_object *o, double *v)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *v = (double)o->via.u64; return 1;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *v = (double)o->via.i64; return 1;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *v = o->via.f64; return 1;
    default: return 0;
    }
}

/* A bucket bound or quantile given as a number or a string ("+Inf"). */
static int as_bound(const msgpack_object *o, double *v)
{
    if (as_number(o, v))
        return 1;
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 ||
        o->via.str.size > 63)
        return 0;
    char tmp[64], *end;
    memcpy(tmp, o->via.str.ptr, o->via.str.size);
    tmp[o->via.str.size] = '\0';
    if (strcmp(tmp, "+Inf") == 0 || strcmp(tmp, "Inf") == 0 ||
        strcmp(tmp, "inf") == 0 || strcmp(tmp, "+inf") == 0) {
        *v = INFINITY;
        return 1;
    }
    *v = strtod(tmp, &end);
    return *end == '\0' && !isnan(*v);
}

/* Reads a str->str map into v (empty values skipped), up to max. Returns
 * the count, or -1 with why. */
static ssize_t read_labels(const msgpack_object *o, struct mg_label *v,
                           size_t max, const char *what, enum mg_reason *r,
                           char *why)
{
    if (!is_map(o)) {
        *r = MG_REASON_DECODE_ERROR;
        snprintf(why, MG_WHY_LEN, "%s is not a map", what);
        return -1;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < map_size(o); i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *val = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR) {
            *r = MG_REASON_INVALID_LABEL_NAME;
            snprintf(why, MG_WHY_LEN, "%s has a key that is not a string", what);
            return -1;
        }
        if (val->type != MSGPACK_OBJECT_STR) {
            *r = MG_REASON_INVALID_LABEL_VALUE;
            snprintf(why, MG_WHY_LEN, "%s %.*s: value is not a string", what,
                     (int)(k->via.str.size > 64 ? 64 : k->via.str.size),
                     k->via.str.ptr);
            return -1;
        }
        if (val->via.str.size == 0)
            continue; /* an empty value means the label is absent */
        if (n == max) {
            *r = MG_REASON_TOO_MANY_LABELS;
            snprintf(why, MG_WHY_LEN, "more than max_labels (%zu) labels", max);
            return -1;
        }
        v[n++] = (struct mg_label){k->via.str.ptr, val->via.str.ptr,
                                   k->via.str.size, val->via.str.size};
    }
    return (ssize_t)n;
}

static int label_name_ok(const struct mg_label *l, size_t maxlen)
{
    return l->nlen <= maxlen && l->nlen <= MG_LABEL_NAME_MAX &&
           mg_label_name_valid(l->name, l->nlen) &&
           !(l->nlen >= 2 && l->name[0] == '_' && l->name[1] == '_');
}

enum mg_reason mg_wire_message(const msgpack_object *root,
                               const struct mg_wire_limits *lim,
                               struct mg_wire_scratch *ws,
                               struct mg_message *m, char why[MG_WHY_LEN])
{
    memset(m, 0, sizeof(*m));
    m->ttl_ms = lim->default_ttl_ms;
    if (root->type != MSGPACK_OBJECT_MAP) {
        m->not_a_map = 1;
        snprintf(why, MG_WHY_LEN, "a message is a map, not a msgpack type %d",
                 root->type);
        return MG_REASON_DECODE_ERROR;
    }
    /* ack and the metric count first: a message refused whole is still
     * answered, and its metrics counted */
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *k = &root->via.map.ptr[i].key;
        const msgpack_object *v = &root->via.map.ptr[i].val;
        if (KEY(k, "ack") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            m->ack = v->via.u64;
            m->has_ack = 1;
        } else if (KEY(k, "metrics") && v->type == MSGPACK_OBJECT_ARRAY) {
            m->nmetrics = v->via.array.size;
        }
    }
    int have_metrics = 0;
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *k = &root->via.map.ptr[i].key;
        const msgpack_object *v = &root->via.map.ptr[i].val;
        double d;
        if (KEY(k, "metrics")) {
            if (v->type == MSGPACK_OBJECT_MAP && v->via.map.size == 0) {
                have_metrics = 1;
                continue;
            }
            if (v->type != MSGPACK_OBJECT_ARRAY) {
                snprintf(why, MG_WHY_LEN, "metrics is not an array");
                return MG_REASON_DECODE_ERROR;
            }
            if (v->via.array.size > lim->max_metrics) {
                snprintf(why, MG_WHY_LEN, "%u metrics, more than max_metrics (%zu)",
                         v->via.array.size, lim->max_metrics);
                return MG_REASON_TOO_MANY_METRICS;
            }
            m->metrics = v->via.array.ptr;
            m->nmetrics = v->via.array.size;
            have_metrics = 1;
        } else if (KEY(k, "source")) {
            enum mg_reason r;
            ssize_t n = read_labels(v, ws->source, lim->max_labels, "source", &r, why);
            if (n < 0)
                return r;
            mg_labels_sort(ws->source, (size_t)n);
            if (mg_labels_have_duplicate(ws->source, (size_t)n)) {
                snprintf(why, MG_WHY_LEN, "source has a duplicate label");
                return MG_REASON_DUPLICATE_LABEL;
            }
            for (ssize_t j = 0; j < n; j++) {
                const struct mg_label *l = &ws->source[j];
                if (!label_name_ok(l, lim->max_name_len)) {
                    snprintf(why, MG_WHY_LEN, "source label name %.*s is invalid",
                             (int)(l->nlen > 64 ? 64 : l->nlen), l->name);
                    return MG_REASON_INVALID_LABEL_NAME;
                }
                if (l->vlen > lim->max_value_len || !mg_utf8_valid(l->value, l->vlen)) {
                    snprintf(why, MG_WHY_LEN, "source label %.*s: value is not UTF-8 or too long",
                             (int)l->nlen, l->name);
                    return MG_REASON_INVALID_LABEL_VALUE;
                }
            }
            m->source = ws->source;
            m->nsource = (size_t)n;
        } else if (KEY(k, "ttl")) {
            if (!as_number(v, &d) || !(d >= 0) || isinf(d)) {
                snprintf(why, MG_WHY_LEN, "ttl is not a number of seconds");
                return MG_REASON_DECODE_ERROR;
            }
            m->ttl_ms = mg_ttl_ms(d);
        } else if (KEY(k, "dropped")) {
            if (!is_map(v)) {
                snprintf(why, MG_WHY_LEN, "dropped is not a map");
                return MG_REASON_DECODE_ERROR;
            }
            if (v->type == MSGPACK_OBJECT_MAP)
                m->dropped = &v->via.map;
        } else if (KEY(k, "ack")) {
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
                snprintf(why, MG_WHY_LEN, "ack is not an unsigned integer");
                return MG_REASON_DECODE_ERROR;
            }
            m->ack = v->via.u64;
            m->has_ack = 1;
        } else if (KEY(k, "token")) {
            if (v->type != MSGPACK_OBJECT_STR) {
                snprintf(why, MG_WHY_LEN, "token is not a string");
                return MG_REASON_DECODE_ERROR;
            }
            m->token = v->via.str.ptr;
            m->token_len = v->via.str.size;
        }
        /* other keys are ignored, so producers can be newer than us */
    }
    if (!have_metrics) {
        snprintf(why, MG_WHY_LEN, "message has no metrics array");
        return MG_REASON_DECODE_ERROR;
    }
    return MG_OK;
}

/* Merges the source labels into the metric's: source wins, and a metric
 * label of the same name becomes exported_<name> (again and again while
 * that name is taken, as Prometheus does). */
static enum mg_reason merge_source(const struct mg_message *m, size_t n,
                                   const struct mg_wire_limits *lim,
                                   struct mg_wire_scratch *ws, size_t *out,
                                   char *why)
{
    struct mg_label *v = ws->labels;
    size_t total = n, used = 0;
    *out = n;
    if (m->nsource == 0)
        return MG_OK; /* the common case costs nothing */
    for (size_t s = 0; s < m->nsource; s++) {
        if (total == lim->max_labels) {
            snprintf(why, MG_WHY_LEN, "more than max_labels (%zu) labels with source",
                     lim->max_labels);
            return MG_REASON_TOO_MANY_LABELS;
        }
        v[total++] = m->source[s];
    }
    for (size_t i = 0; i < n; i++) {
        struct mg_label *l = &v[i];
        for (int renamed = 0;; renamed = 1) {
            size_t clash = total;
            for (size_t j = 0; j < total && clash == total; j++)
                if (j != i && v[j].nlen == l->nlen &&
                    memcmp(v[j].name, l->name, l->nlen) == 0)
                    clash = j;
            if (clash == total)
                break;
            /* two metric labels of one name are a duplicate, not a clash */
            if (!renamed && clash < n) {
                snprintf(why, MG_WHY_LEN, "label %.*s appears twice",
                         (int)(l->nlen > 64 ? 64 : l->nlen), l->name);
                return MG_REASON_DUPLICATE_LABEL;
            }
            size_t need = l->nlen + 9;
            if (need > lim->max_name_len || used + need > ws->names_size) {
                snprintf(why, MG_WHY_LEN, "exported_ rename of %.*s too long",
                         (int)(l->nlen > 64 ? 64 : l->nlen), l->name);
                return MG_REASON_INVALID_LABEL_NAME;
            }
            char *p = ws->names + used;
            memcpy(p, "exported_", 9);
            memcpy(p + 9, l->name, l->nlen);
            used += need;
            l->name = p;
            l->nlen = (uint32_t)need;
        }
    }
    *out = total;
    return MG_OK;
}

static enum mg_reason read_buckets(const msgpack_object *o, int hist,
                                   const struct mg_wire_limits *lim,
                                   struct mg_wire_scratch *ws, size_t *nb,
                                   char *why)
{
    const char *what = hist ? "buckets" : "quantiles";
    if (!is_map(o)) {
        snprintf(why, MG_WHY_LEN, "%s is not a map", what);
        return MG_REASON_DECODE_ERROR;
    }
    if (map_size(o) > lim->max_buckets) {
        snprintf(why, MG_WHY_LEN, "more than max_buckets (%zu) %s",
                 lim->max_buckets, what);
        return MG_REASON_TOO_LARGE;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < map_size(o); i++) {
        double b, c;
        if (!as_bound(&o->via.map.ptr[i].key, &b) ||
            !as_number(&o->via.map.ptr[i].val, &c)) {
            snprintf(why, MG_WHY_LEN, "%s entry %u is not number -> number",
                     what, i);
            return MG_REASON_INVALID_VALUE;
        }
        /* a NaN bound would render as le="NaN" and never compare equal,
         * so two of them would both be kept */
        if (hist && isnan(b)) {
            snprintf(why, MG_WHY_LEN, "bucket %u has a NaN bound", i);
            return MG_REASON_INVALID_VALUE;
        }
        if (hist ? !(c >= 0) : !(b >= 0 && b <= 1)) {
            snprintf(why, MG_WHY_LEN, hist ? "bucket %g has count %g"
                                           : "quantile %g is outside [0, 1]",
                     b, c);
            return MG_REASON_INVALID_VALUE;
        }
        /* insertion keeps them sorted by bound */
        size_t j = n;
        while (j > 0 && ws->bound[j - 1] > b) {
            ws->bound[j] = ws->bound[j - 1];
            ws->bval[j] = ws->bval[j - 1];
            j--;
        }
        if (j > 0 && ws->bound[j - 1] == b) {
            snprintf(why, MG_WHY_LEN, "%s has %g twice", what, b);
            return MG_REASON_INVALID_VALUE;
        }
        ws->bound[j] = b;
        ws->bval[j] = c;
        n++;
    }
    *nb = n;
    return MG_OK;
}

static enum mg_reason check_hist(struct mg_sample *s, int has_sum,
                                 int has_count, struct mg_wire_scratch *ws,
                                 char *why)
{
    if (!has_sum) {
        snprintf(why, MG_WHY_LEN, "%s without sum", mg_type_name(s->type));
        return MG_REASON_INVALID_VALUE;
    }
    if (isnan(s->sum) || (has_count && !(s->count >= 0))) {
        snprintf(why, MG_WHY_LEN, "%s sum or count is NaN or negative",
                 mg_type_name(s->type));
        return MG_REASON_INVALID_VALUE;
    }
    if (s->type == MG_SUMMARY) {
        if (!has_count) {
            snprintf(why, MG_WHY_LEN, "summary without count");
            return MG_REASON_INVALID_VALUE;
        }
        return MG_OK;
    }
    size_t n = s->nb;
    for (size_t i = 1; i < n; i++) {
        if (ws->bval[i] < ws->bval[i - 1]) {
            snprintf(why, MG_WHY_LEN,
                     "buckets are not cumulative: le=%g has %g, le=%g has %g",
                     ws->bound[i - 1], ws->bval[i - 1], ws->bound[i], ws->bval[i]);
            return MG_REASON_INVALID_VALUE;
        }
    }
    int has_inf = n > 0 && isinf(ws->bound[n - 1]) && ws->bound[n - 1] > 0;
    if (!has_inf) {
        if (!has_count) {
            snprintf(why, MG_WHY_LEN, "histogram needs count or a +Inf bucket");
            return MG_REASON_INVALID_VALUE;
        }
        if (n > 0 && s->count < ws->bval[n - 1]) {
            snprintf(why, MG_WHY_LEN, "count %g is below bucket le=%g (%g)",
                     s->count, ws->bound[n - 1], ws->bval[n - 1]);
            return MG_REASON_INVALID_VALUE;
        }
        ws->bound[n] = INFINITY;
        ws->bval[n] = s->count;
        s->nb = n + 1;
    } else if (!has_count) {
        s->count = ws->bval[n - 1];
    } else if (s->count != ws->bval[n - 1]) {
        snprintf(why, MG_WHY_LEN, "count %g differs from the +Inf bucket %g",
                 s->count, ws->bval[n - 1]);
        return MG_REASON_INVALID_VALUE;
    }
    return MG_OK;
}

enum mg_reason mg_wire_metric(const struct mg_message *m, size_t idx,
                              const struct mg_wire_limits *lim,
                              struct mg_wire_scratch *ws, struct mg_sample *s,
                              char why[MG_WHY_LEN])
{
    const msgpack_object *o = &m->metrics[idx];
    memset(s, 0, sizeof(*s));
    s->ttl_ms = m->ttl_ms;
    if (o->type != MSGPACK_OBJECT_MAP) {
        snprintf(why, MG_WHY_LEN, "metric is not a map");
        return MG_REASON_DECODE_ERROR;
    }
    const msgpack_object *labels = NULL, *buckets = NULL, *value = NULL;
    int has_sum = 0, has_count = 0;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *v = &o->via.map.ptr[i].val;
        if (KEY(k, "name")) {
            if (v->type != MSGPACK_OBJECT_STR) {
                snprintf(why, MG_WHY_LEN, "name is not a string");
                return MG_REASON_INVALID_METRIC_NAME;
            }
            s->name = v->via.str.ptr;
            s->nlen = v->via.str.size;
        } else if (KEY(k, "type")) {
            int t = v->type == MSGPACK_OBJECT_STR
                        ? mg_type_parse(v->via.str.ptr, v->via.str.size) : -1;
            if (t < 0) {
                snprintf(why, MG_WHY_LEN, "type is not counter, gauge, histogram, summary or untyped");
                return MG_REASON_DECODE_ERROR;
            }
            s->type = (enum mg_type)t;
        } else if (KEY(k, "help")) {
            if (v->type == MSGPACK_OBJECT_STR && mg_utf8_valid(v->via.str.ptr, v->via.str.size)) {
                s->help = v->via.str.ptr;
                s->hlen = v->via.str.size > 4096 ? 4096 : v->via.str.size;
            }
        } else if (KEY(k, "labels")) {
            labels = v;
        } else if (KEY(k, "value")) {
            value = v;
        } else if (KEY(k, "op")) {
            if (key_is(v, "add", 3)) {
                s->op = MG_OP_ADD;
            } else if (!key_is(v, "set", 3)) {
                snprintf(why, MG_WHY_LEN, "op is not set or add");
                return MG_REASON_DECODE_ERROR;
            }
        } else if (KEY(k, "buckets") || KEY(k, "quantiles")) {
            buckets = v;
        } else if (KEY(k, "sum")) {
            if (!as_number(v, &s->sum)) {
                snprintf(why, MG_WHY_LEN, "sum is not a number");
                return MG_REASON_INVALID_VALUE;
            }
            has_sum = 1;
        } else if (KEY(k, "count")) {
            if (!as_number(v, &s->count)) {
                snprintf(why, MG_WHY_LEN, "count is not a number");
                return MG_REASON_INVALID_VALUE;
            }
            has_count = 1;
        } else if (KEY(k, "ts")) {
            double ts;
            if (!as_number(v, &ts) || !(ts > 0) || ts > 9e15) {
                snprintf(why, MG_WHY_LEN, "ts is not milliseconds since the epoch");
                return MG_REASON_INVALID_VALUE;
            }
            s->ts = (int64_t)ts;
        }
    }
    if (!s->name) {
        snprintf(why, MG_WHY_LEN, "metric has no name");
        return MG_REASON_INVALID_METRIC_NAME;
    }
    size_t n = 0;
    if (labels) {
        enum mg_reason r;
        ssize_t k = read_labels(labels, ws->labels, lim->max_labels, "labels", &r, why);
        if (k < 0)
            return r;
        n = (size_t)k;
    }
    enum mg_reason r = merge_source(m, n, lim, ws, &n, why);
    if (r != MG_OK)
        return r;
    mg_labels_sort(ws->labels, n);
    if (mg_labels_have_duplicate(ws->labels, n)) {
        snprintf(why, MG_WHY_LEN, "a label name appears twice");
        return MG_REASON_DUPLICATE_LABEL;
    }
    s->labels = ws->labels;
    s->nlabels = n;
    s->source = m->source;
    s->nsource = m->nsource;

    if (s->type == MG_HISTOGRAM || s->type == MG_SUMMARY) {
        if (buckets) {
            r = read_buckets(buckets, s->type == MG_HISTOGRAM, lim, ws, &s->nb, why);
            if (r != MG_OK)
                return r;
        }
        s->bound = ws->bound;
        s->bval = ws->bval;
        return check_hist(s, has_sum, has_count, ws, why);
    }
    if (!value || !as_number(value, &s->value)) {
        snprintf(why, MG_WHY_LEN, "%s has no numeric value", mg_type_name(s->type));
        return MG_REASON_INVALID_VALUE;
    }
    if (s->type == MG_COUNTER && !(s->value >= 0)) {
        snprintf(why, MG_WHY_LEN, "counter value %g is NaN or negative", s->value);
        return MG_REASON_INVALID_VALUE;
    }
    return MG_OK;
}

enum mg_reason mg_wire_client_drop(const struct mg_message *m, const char *reason,
                                   size_t rlen, double count,
                                   const struct mg_wire_limits *lim,
                                   struct mg_wire_scratch *ws, struct mg_sample *s,
                                   char why[MG_WHY_LEN])
{
    memset(s, 0, sizeof(*s));
    s->name = MG_CLIENT_DROPPED;
    s->nlen = (uint32_t)strlen(MG_CLIENT_DROPPED);
    s->type = MG_COUNTER;
    s->op = MG_OP_ADD;
    s->help = "Updates producers dropped before sending, as they report them, by reason.";
    s->hlen = (uint32_t)strlen(s->help);
    s->value = count;
    s->ttl_ms = m->ttl_ms;
    ws->labels[0] = (struct mg_label){.name = "reason", .nlen = 6, .value = reason,
                                      .vlen = (uint32_t)rlen};
    size_t n;
    /* a source label called reason wins, as over any metric's label */
    enum mg_reason r = merge_source(m, 1, lim, ws, &n, why);
    if (r != MG_OK)
        return r;
    mg_labels_sort(ws->labels, n);
    s->labels = ws->labels;
    s->nlabels = n;
    s->source = m->source;
    s->nsource = m->nsource;
    return MG_OK;
}

enum mg_reason mg_wire_check_identity(const struct mg_sample *s,
                                      const struct mg_wire_limits *lim,
                                      char why[MG_WHY_LEN])
{
    if (s->nlen > lim->max_name_len || !mg_metric_name_valid(s->name, s->nlen)) {
        snprintf(why, MG_WHY_LEN, "metric name %.*s is invalid",
                 (int)(s->nlen > 64 ? 64 : s->nlen), s->name);
        return MG_REASON_INVALID_METRIC_NAME;
    }
    for (size_t i = 0; i < s->nlabels; i++) {
        const struct mg_label *l = &s->labels[i];
        if (!label_name_ok(l, lim->max_name_len)) {
            snprintf(why, MG_WHY_LEN, "label name %.*s is invalid",
                     (int)(l->nlen > 64 ? 64 : l->nlen), l->name);
            return MG_REASON_INVALID_LABEL_NAME;
        }
        if (l->vlen > lim->max_value_len) {
            snprintf(why, MG_WHY_LEN, "label %.*s: value longer than max_value_len (%zu)",
                     (int)l->nlen, l->name, lim->max_value_len);
            return MG_REASON_INVALID_LABEL_VALUE;
        }
        if (!mg_utf8_valid(l->value, l->vlen)) {
            snprintf(why, MG_WHY_LEN, "label %.*s: value is not UTF-8",
                     (int)l->nlen, l->name);
            return MG_REASON_INVALID_LABEL_VALUE;
        }
        if (s->type == MG_HISTOGRAM && l->nlen == 2 && memcmp(l->name, "le", 2) == 0) {
            snprintf(why, MG_WHY_LEN, "a histogram cannot have an le label");
            return MG_REASON_INVALID_LABEL_NAME;
        }
        if (s->type == MG_SUMMARY && l->nlen == 8 && memcmp(l->name, "quantile", 8) == 0) {
            snprintf(why, MG_WHY_LEN, "a summary cannot have a quantile label");
            return MG_REASON_INVALID_LABEL_NAME;
        }
    }
    return MG_OK;
}

/* ---- results and replies ---- */

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

int mg_wire_encode_reply(const struct mg_push_result *res, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    int fields = 5 + (res->has_ack ? 1 : 0) + (res->fatal ? 1 : 0);
    if (msgpack_pack_map(&pk, (size_t)fields))
        return -ENOMEM;
    if (res->has_ack) {
        pack_str(&pk, "ack");
        msgpack_pack_uint64(&pk, res->ack);
    }
    if (res->fatal) {
        pack_str(&pk, "error");
        pack_str(&pk, res->nerr ? res->err[res->nerr - 1].detail : "decode error");
    }
    pack_str(&pk, "accepted");
    msgpack_pack_uint32(&pk, res->accepted);
    pack_str(&pk, "rejected");
    msgpack_pack_uint32(&pk, res->rejected);
    pack_str(&pk, "dropped");
    msgpack_pack_uint32(&pk, res->dropped);
    pack_str(&pk, "errors");
    msgpack_pack_array(&pk, res->nerr);
    for (uint32_t i = 0; i < res->nerr; i++) {
        const struct mg_push_error *e = &res->err[i];
        msgpack_pack_map(&pk, 3);
        pack_str(&pk, "index");
        msgpack_pack_int32(&pk, e->index);
        pack_str(&pk, "reason");
        pack_str(&pk, mg_reason_name(e->reason));
        pack_str(&pk, "detail");
        pack_str(&pk, e->detail);
    }
    pack_str(&pk, "drops");
    msgpack_pack_array(&pk, res->ndrop);
    for (uint32_t i = 0; i < res->ndrop; i++) {
        msgpack_pack_map(&pk, 2);
        pack_str(&pk, "index");
        msgpack_pack_int32(&pk, res->drop[i].index);
        pack_str(&pk, "reason");
        pack_str(&pk, mg_reason_name(res->drop[i].reason));
    }
    return 0;
}
