/* mg_pushgw: groups, their keys and the consistency of a push. */
#include "mg_pushgw.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_names.h"
#include "mg_pushbody.h"
#include "mg_pushgw_int.h"
#include "mg_regex.h"

#define PUSH_TIME "push_time_seconds"
#define PUSH_FAIL "push_failure_time_seconds"

static const char push_time_help[] =
    "Last Unix time when changing this group in the Pushgateway succeeded.";
static const char push_fail_help[] =
    "Last Unix time when changing this group in the Pushgateway failed.";

/* ---- the grouping key ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* URL-safe base64, padding optional, decoded in place; the length or -1. */
static long b64_decode(char *s, size_t n)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            s[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    return (long)o;
}

static int key_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int key_fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

int mg_pushgw_parse_key(const char *path, struct mg_label *v, size_t max,
                        char *buf, char *why, size_t whylen)
{
    char *d = buf;
    for (const char *p = path; *p; p++) {
        if (*p != '%') {
            *d++ = *p;
            continue;
        }
        int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
        if (lo < 0 || (hi == 0 && lo == 0))
            return key_fail(why, whylen, "invalid percent escape in the grouping key");
        *d++ = (char)(hi * 16 + lo);
        p += 2;
    }
    *d = '\0';
    if (strncmp(buf, "/job", 4) != 0 || (buf[4] != '/' && buf[4] != '@'))
        return key_fail(why, whylen, "the path must be /metrics/job/<job>");
    size_t n = 0;
    for (char *p = buf + 1;;) {
        char *name = p, *slash = strchr(name, '/');
        if (!slash)
            return key_fail(why, whylen, "label %.40s has no value in the grouping key",
                            name);
        *slash = '\0';
        char *val = slash + 1, *end = strchr(val, '/');
        if (end)
            *end = '\0';
        size_t nl = strlen(name), vl = strlen(val);
        if (nl > 7 && strcmp(name + nl - 7, "@base64") == 0) {
            nl -= 7;
            name[nl] = '\0';
            long k = b64_decode(val, vl);
            if (k < 0)
                return key_fail(why, whylen, "invalid base64 value for label %.40s", name);
            vl = (size_t)k;
        } else if (vl == 0) {
            return key_fail(why, whylen, "empty value for label %.40s: use %.40s@base64/=",
                            name, name);
        }
        if (!mg_label_name_valid(name, nl) || (nl >= 2 && name[0] == '_' && name[1] == '_'))
            return key_fail(why, whylen, "invalid label name \"%.40s\" in the grouping key",
                            name);
        if (!mg_utf8_valid(val, vl) || memchr(val, '\0', vl))
            return key_fail(why, whylen, "value of label %.40s is not UTF-8", name);
        if (n == 0 && vl == 0)
            return key_fail(why, whylen, "job name is required");
        for (size_t i = 0; i < n; i++)
            if (v[i].nlen == nl && memcmp(v[i].name, name, nl) == 0)
                return key_fail(why, whylen, "label %.40s appears twice in the grouping key",
                                name);
        if (n == max)
            return key_fail(why, whylen, "more than %zu labels in the grouping key", max);
        v[n++] = (struct mg_label){name, val, (uint32_t)nl, (uint32_t)vl};
        if (!end)
            break;
        p = end + 1;
        if (!*p)
            return key_fail(why, whylen, "a trailing slash in the grouping key");
    }
    mg_labels_sort(v, n);
    return (int)n;
}

/* ---- the table ---- */

struct mg_pushgw *mg_pushgw_new(struct mg_gateway *gw,
                                const struct mg_config *cfg, char *why,
                                size_t whylen)
{
    struct mg_pushgw *pg = calloc(1, sizeof(*pg));
    if (!pg)
        goto oom;
    pg->gw = gw;
    pg->cfg = cfg;
    mg_names_init(&pg->bykey);
    pg->start_ms = mg_now_ms();
    pg->m = mg_rematch_new();
    pg->lab = calloc(2 * cfg->wire.max_labels + 4, sizeof(*pg->lab));
    pg->src = calloc(2 * cfg->wire.max_labels + 4, sizeof(*pg->src));
    if (!pg->m || !pg->lab || !pg->src)
        goto oom;
    for (size_t i = 0; i < cfg->npushgw_ttl; i++) {
        const char *job = cfg->pushgw_ttl[i].job;
        size_t n = strlen(job) + 8;
        char *pat = malloc(n), rwhy[128];
        if (!pat)
            goto oom;
        snprintf(pat, n, "^(?:%s)$", job);
        int rc = mg_regex_compile(pat, strlen(pat), &pg->ttl[i].re, rwhy, sizeof(rwhy));
        free(pat);
        if (rc) {
            snprintf(why, whylen, "pushgateway.ttl: job \"%s\": %s", job, rwhy);
            mg_pushgw_free(pg);
            return NULL;
        }
        pg->ttl[i].seconds = cfg->pushgw_ttl[i].seconds;
        pg->nttl++;
    }
    return pg;
oom:
    mg_pushgw_free(pg);
    snprintf(why, whylen, "out of memory");
    return NULL;
}

static void group_free(struct mg_pushgw_group *g)
{
    for (size_t i = 0; i < g->nfam; i++) {
        free(g->fam[i].name);
        free(g->fam[i].help);
    }
    free(g->fam);
    free(g->ser);
    free(g->labels);
    free(g->key);
    free(g);
}

void mg_pushgw_free(struct mg_pushgw *pg)
{
    if (!pg)
        return;
    for (size_t i = 0; i < pg->ngroups; i++)
        if (pg->groups[i])
            group_free(pg->groups[i]);
    free(pg->groups);
    mg_names_fini(&pg->bykey);
    for (size_t i = 0; i < pg->nttl; i++)
        mg_regex_free(pg->ttl[i].re);
    mg_rematch_free(pg->m);
    free(pg->owner);
    free(pg->mark);
    free(pg->lab);
    free(pg->src);
    free(pg);
}

static int ensure_owner(struct mg_pushgw *pg, uint32_t idx)
{
    if (idx < pg->capowner)
        return 0;
    size_t cap = pg->capowner ? pg->capowner : 1024;
    while (cap <= idx)
        cap *= 2;
    uint32_t *o = realloc(pg->owner, cap * sizeof(*o));
    if (o)
        pg->owner = o;
    uint32_t *m = realloc(pg->mark, cap * sizeof(*m));
    if (m)
        pg->mark = m;
    if (!o || !m)
        return -ENOMEM;
    memset(o + pg->capowner, 0, (cap - pg->capowner) * sizeof(*o));
    memset(m + pg->capowner, 0, (cap - pg->capowner) * sizeof(*m));
    pg->capowner = cap;
    return 0;
}

static uint32_t owner_of(const struct mg_pushgw *pg, uint32_t idx)
{
    return idx < pg->capowner ? pg->owner[idx] : 0;
}

struct mg_input *mg_pushgw_input(struct mg_pushgw *pg,
                                 const struct mg_pushgw_ser *s)
{
    struct mg_input *in = mg_store_input_at(mg_gateway_store(pg->gw), s->idx);
    return in && in->ls->hash == s->hash ? in : NULL;
}

/* The table's key of a grouping key: name \0 value \0 ... into kb. */
static size_t key_string(const struct mg_label *v, size_t n, char *kb)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(kb + o, v[i].name, v[i].nlen);
        o += v[i].nlen;
        kb[o++] = '\0';
        memcpy(kb + o, v[i].value, v[i].vlen);
        o += v[i].vlen;
        kb[o++] = '\0';
    }
    return o;
}

static double ttl_for(struct mg_pushgw *pg, const struct mg_label *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].nlen != 3 || memcmp(v[i].name, "job", 3) != 0)
            continue;
        for (size_t k = 0; k < pg->nttl; k++) {
            char why[128];
            if (mg_regex_match(pg->ttl[k].re, pg->m, v[i].value, v[i].vlen, 0, why,
                               sizeof(why)) == 1)
                return pg->ttl[k].seconds;
        }
    }
    return 0;
}

static struct mg_pushgw_group *group_new(struct mg_pushgw *pg,
                                         const struct mg_label *v, size_t n,
                                         const char *kb, size_t klen)
{
    struct mg_pushgw_group *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->key = malloc(klen ? klen : 1);
    g->labels = calloc(n ? n : 1, sizeof(*g->labels));
    if (!g->key || !g->labels)
        goto fail;
    memcpy(g->key, kb, klen);
    g->keylen = klen;
    g->nlabels = n;
    const char *p = g->key;
    for (size_t i = 0; i < n; i++) {
        g->labels[i] = (struct mg_label){p, p + v[i].nlen + 1, v[i].nlen, v[i].vlen};
        p += v[i].nlen + v[i].vlen + 2;
    }
    g->ttl = ttl_for(pg, v, n);
    size_t id = 0;
    while (id < pg->ngroups && pg->groups[id])
        id++;
    if (id == pg->ngroups) {
        if (pg->ngroups == pg->capgroups) {
            size_t cap = pg->capgroups ? pg->capgroups * 2 : 64;
            struct mg_pushgw_group **t = realloc(pg->groups, cap * sizeof(*t));
            if (!t)
                goto fail;
            pg->groups = t;
            pg->capgroups = cap;
        }
        pg->ngroups++;
    }
    if (mg_names_put(&pg->bykey, g->key, g->keylen, g))
        goto fail;
    g->id = (uint32_t)id;
    pg->groups[id] = g;
    return g;
fail:
    group_free(g);
    return NULL;
}

static void remove_input(struct mg_pushgw *pg, uint32_t idx)
{
    if (idx < pg->capowner)
        pg->owner[idx] = 0;
    mg_store_input_remove(mg_gateway_store(pg->gw), idx);
}

static void group_remove(struct mg_pushgw *pg, struct mg_pushgw_group *g)
{
    for (size_t i = 0; i < g->nser; i++)
        if (mg_pushgw_input(pg, &g->ser[i]))
            remove_input(pg, g->ser[i].idx);
    mg_names_del(&pg->bykey, g->key, g->keylen);
    pg->groups[g->id] = NULL;
    group_free(g);
}

void mg_pushgw_sweep(struct mg_pushgw *pg)
{
    int64_t now = mg_gateway_now(pg->gw);
    for (size_t i = 0; i < pg->ngroups; i++) {
        struct mg_pushgw_group *g = pg->groups[i];
        int64_t last = g && g->push_ms ? g->push_ms : g ? g->fail_ms : 0;
        if (g && g->ttl > 0 && (double)(now - last) >= g->ttl * 1000.0)
            group_remove(pg, g);
    }
}

/* ---- one push ---- */

struct push {
    struct mg_pushgw_group *g; /* NULL: a new group */
    uint32_t gid1;             /* g->id + 1, 0 for a new group */
    enum mg_pushgw_method m;
    const struct mg_pushbody *b;
    const struct mg_label *key;
    size_t nk;
    const char *kb;
    size_t klen;
    enum mg_reason r;
    char why[MG_WHY_LEN];
    uint64_t *seen;            /* identities of this push, to find twins */
    uint32_t seen_mask;
};

static int refuse(struct push *p, uint32_t line, enum mg_reason r,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(struct push *p, uint32_t line, enum mg_reason r,
                  const char *fmt, ...)
{
    char where[32];
    int n = line ? snprintf(p->why, MG_WHY_LEN, "%s: ",
                            mg_pushbody_where(p->b, line, where, sizeof(where)))
                 : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why + n, MG_WHY_LEN - (size_t)n, fmt, ap);
    va_end(ap);
    p->r = r;
    return -1;
}

static int is_meta(const char *name, size_t n)
{
    return (n == sizeof(PUSH_TIME) - 1 && memcmp(name, PUSH_TIME, n) == 0) ||
           (n == sizeof(PUSH_FAIL) - 1 && memcmp(name, PUSH_FAIL, n) == 0);
}

static const struct mg_pushbody_family *body_family(const struct mg_pushbody *b,
                                                    const char *name, size_t n)
{
    return mg_pushbody_family_find(b, name, n);
}

/* Whether this push replaces the group's family name: PUT all of them,
 * POST those it pushes; the push times are the gateway's. */
static int replaced(const struct push *p, const char *name, size_t n)
{
    if (is_meta(name, n))
        return 0;
    return p->m == MG_PUSHGW_PUT || body_family(p->b, name, n);
}

/* The group's series of family name that this push replaces. */
static size_t owned_replaced(struct mg_pushgw *pg, const struct push *p,
                             const char *name, size_t n)
{
    if (!p->g || !replaced(p, name, n))
        return 0;
    struct mg_store *st = mg_gateway_store(pg->gw);
    size_t k = 0;
    for (size_t i = 0; i < p->g->nser; i++) {
        struct mg_input *in = mg_pushgw_input(pg, &p->g->ser[i]);
        const struct mg_family *f = in ? mg_store_input_family(st, in) : NULL;
        if (f && f->nlen == n && memcmp(f->name, name, n) == 0)
            k++;
    }
    return k;
}

/* The labels of one pushed series as the store keeps them: the body's,
 * the grouping key's over them (no exported_ renaming: the key wins),
 * empty values left out, sorted; pg->src gets the key's among them.
 * Returns the count, or -1 past max_labels. */
static int merge(struct mg_pushgw *pg, const struct mg_label *body, size_t nb,
                 const struct mg_label *key, size_t nk, size_t *nsrc)
{
    size_t n = 0, max = pg->cfg->wire.max_labels;
    for (size_t i = 0; i < nb && n <= max; i++) {
        int in_key = 0;
        for (size_t k = 0; k < nk && !in_key; k++)
            in_key = key[k].nlen == body[i].nlen &&
                     memcmp(key[k].name, body[i].name, body[i].nlen) == 0;
        if (body[i].vlen && !in_key)
            pg->lab[n++] = body[i];
    }
    for (size_t k = 0; k < nk && n <= max; k++)
        if (key[k].vlen)
            pg->lab[n++] = key[k];
    if (n > max)
        return -1;
    mg_labels_sort(pg->lab, n);
    *nsrc = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < nk; k++)
            if (pg->lab[i].name == key[k].name)
                pg->src[(*nsrc)++] = pg->lab[i];
    return (int)n;
}

static int sample_of(struct mg_pushgw *pg, const struct push *p,
                     const struct mg_pushbody_series *ps, struct mg_sample *s)
{
    const struct mg_pushbody_family *f = &p->b->fam[ps->fam];
    memset(s, 0, sizeof(*s));
    s->name = f->name;
    s->nlen = f->nlen;
    s->type = f->type;
    s->op = MG_OP_SET;
    s->help = f->help;
    s->hlen = f->hlen > 4096 ? 4096 : f->hlen;
    size_t nsrc;
    int n = merge(pg, ps->labels, ps->nlabels, p->key, p->nk, &nsrc);
    if (n < 0)
        return -1;
    s->labels = pg->lab;
    s->nlabels = (size_t)n;
    s->source = pg->src;
    s->nsource = nsrc;
    s->value = ps->value;
    s->sum = ps->sum;
    s->count = ps->count;
    s->nb = ps->nb;
    s->bound = ps->bound;
    s->bval = ps->bval;
    return 0;
}

/* push_time_seconds or push_failure_time_seconds of the group. */
static void meta_sample(struct mg_pushgw *pg, const struct push *p, int fail,
                        double value, struct mg_sample *s)
{
    memset(s, 0, sizeof(*s));
    s->name = fail ? PUSH_FAIL : PUSH_TIME;
    s->nlen = (uint32_t)strlen(s->name);
    s->type = MG_GAUGE;
    s->help = fail ? push_fail_help : push_time_help;
    s->hlen = (uint32_t)strlen(s->help);
    size_t nsrc;
    int n = merge(pg, NULL, 0, p->key, p->nk, &nsrc);
    s->labels = pg->lab;
    s->nlabels = n < 0 ? 0 : (size_t)n;
    s->source = pg->src;
    s->nsource = nsrc;
    s->value = value;
}

static int check_series(struct mg_pushgw *pg, struct push *p,
                        const struct mg_sample *s, uint32_t line)
{
    char w[MG_WHY_LEN], name[128];
    enum mg_reason r = mg_wire_check_identity(s, &pg->cfg->wire, w);
    if (r != MG_OK)
        return refuse(p, line, r, "%s", w);
    struct mg_store *st = mg_gateway_store(pg->gw);
    uint64_t h = mg_store_input_hash(s->name, s->nlen, s->labels, s->nlabels);
    mg_labels_render(name, sizeof(name), s->name, s->nlen, s->labels, s->nlabels);
    struct mg_input *in = mg_store_input_find(st, s, h);
    if (in && owner_of(pg, mg_store_input_index(st, in)) != p->gid1)
        return refuse(p, line, MG_REASON_NAME_COLLISION,
                      "%s is already pushed by another group or producer", name);
    uint32_t k = (uint32_t)h & p->seen_mask;
    for (; p->seen[k]; k = (k + 1) & p->seen_mask)
        if (p->seen[k] == h)
            return refuse(p, line, MG_REASON_NAME_COLLISION,
                          "%s is pushed twice once the grouping labels apply", name);
    p->seen[k] = h ? h : 1;
    return 0;
}

/* A family of the push against what the store holds beyond the series
 * this push replaces: another type, or sample names another family takes. */
static int check_family(struct mg_pushgw *pg, struct push *p,
                        const struct mg_pushbody_family *f)
{
    static const char *const suffix[] = {"_bucket", "_sum", "_count"};
    struct mg_store *st = mg_gateway_store(pg->gw);
    const struct mg_family *own = mg_store_family_find(st, f->name, f->nlen);
    if (own && own->own)
        return refuse(p, f->line, MG_REASON_NAME_COLLISION, "%.*s is one of moongate's own metrics",
                      (int)f->nlen, f->name);
    const struct mg_family *sf = mg_store_input_family_find(st, f->name, f->nlen);
    if (sf && sf->type != f->type && sf->nseries > owned_replaced(pg, p, f->name, f->nlen))
        return refuse(p, f->line, MG_REASON_TYPE_CONFLICT,
                      "%.*s is a %s in another group or producer, pushed here as %s",
                      (int)f->nlen, f->name, mg_type_name(sf->type), mg_type_name(f->type));
    char n[300];
    if (f->nlen + 8 > sizeof(n))
        return 0;
    for (int i = 0; i < 3; i++) {
        size_t sl = strlen(suffix[i]);
        int hs = f->type == MG_HISTOGRAM || (f->type == MG_SUMMARY && i > 0);
        int len = snprintf(n, sizeof(n), "%.*s%s", (int)f->nlen, f->name, suffix[i]);
        sf = hs ? mg_store_input_family_find(st, n, (size_t)len) : NULL;
        if (sf && sf->nseries > owned_replaced(pg, p, n, (size_t)len))
            return refuse(p, f->line, MG_REASON_NAME_COLLISION,
                          "%s %.*s collides with the %s %s already pushed",
                          mg_type_name(f->type), (int)f->nlen, f->name, mg_type_name(sf->type), n);
        if (f->nlen <= sl || memcmp(f->name + f->nlen - sl, suffix[i], sl) != 0)
            continue;
        size_t bl = f->nlen - sl;
        sf = mg_store_input_family_find(st, f->name, bl);
        if (sf && (sf->type == MG_HISTOGRAM || (sf->type == MG_SUMMARY && i > 0)) &&
            sf->nseries > owned_replaced(pg, p, f->name, bl))
            return refuse(p, f->line, MG_REASON_NAME_COLLISION,
                          "%.*s collides with the %s %.*s already pushed", (int)f->nlen,
                          f->name, mg_type_name(sf->type), (int)bl, f->name);
    }
    return 0;
}

static int check(struct mg_pushgw *pg, struct push *p)
{
    const struct mg_pushbody *b = p->b;
    if (b->ts_line)
        return refuse(p, b->ts_line, MG_REASON_INVALID_VALUE,
                      "pushed metrics must not have timestamps");
    for (size_t i = 0; i < b->nfam; i++)
        if (!is_meta(b->fam[i].name, b->fam[i].nlen) && check_family(pg, p, &b->fam[i]))
            return -1;
    uint32_t size = 16;
    while (size < 2 * (b->nser + 4))
        size *= 2;
    p->seen = calloc(size, sizeof(*p->seen));
    if (!p->seen)
        return refuse(p, 0, MG_REASON_LIMIT, "out of memory");
    p->seen_mask = size - 1;
    struct mg_sample s;
    meta_sample(pg, p, 0, 0, &s);
    if (check_series(pg, p, &s, 0))
        return -1;
    for (size_t i = 0; i < b->nser; i++) {
        const struct mg_pushbody_series *ps = &b->ser[i];
        const struct mg_pushbody_family *f = &b->fam[ps->fam];
        if (is_meta(f->name, f->nlen))
            continue;
        if (sample_of(pg, p, ps, &s))
            return refuse(p, ps->line, MG_REASON_TOO_MANY_LABELS,
                          "more than max_labels (%zu) labels with the grouping key",
                          pg->cfg->wire.max_labels);
        if (check_series(pg, p, &s, ps->line))
            return -1;
    }
    return 0;
}

/* ---- applying a push ---- */

/* Records that the group owns input idx, written by this push. */
static void own(struct mg_pushgw *pg, struct mg_pushgw_group *g, uint32_t idx)
{
    if (idx == MG_NIL || ensure_owner(pg, idx))
        return;
    pg->mark[idx] = pg->serial;
    if (pg->owner[idx] == g->id + 1)
        return;
    if (g->nser == g->capser) {
        size_t cap = g->capser ? g->capser * 2 : 16;
        struct mg_pushgw_ser *s = realloc(g->ser, cap * sizeof(*s));
        if (!s)
            return; /* the series stays in the store, unowned */
        g->ser = s;
        g->capser = cap;
    }
    struct mg_input *in = mg_store_input_at(mg_gateway_store(pg->gw), idx);
    g->ser[g->nser++] = (struct mg_pushgw_ser){idx, in->ls->hash};
    pg->owner[idx] = g->id + 1;
}

/* Writes the group's push times, unless another group holds the same
 * series (a key that differs only by an empty value). */
static void write_meta(struct mg_pushgw *pg, const struct push *p,
                       struct mg_pushgw_group *g, struct mg_push_result *res)
{
    struct mg_store *st = mg_gateway_store(pg->gw);
    for (int fail = 0; fail < 2; fail++) {
        struct mg_sample s;
        meta_sample(pg, p, fail, (double)(fail ? g->fail_ms : g->push_ms) / 1000.0, &s);
        struct mg_input *in = mg_store_input_find(
            st, &s, mg_store_input_hash(s.name, s.nlen, s.labels, s.nlabels));
        if (in && owner_of(pg, mg_store_input_index(st, in)) != g->id + 1)
            continue;
        own(pg, g, mg_gateway_push_sample(pg->gw, &s, -1, res));
    }
}

/* Drops the group's entries for inputs that are gone, and removes the
 * inputs gone(pg, p, in) says go. */
static void prune(struct mg_pushgw *pg, const struct push *p,
                  struct mg_pushgw_group *g,
                  int (*gone)(struct mg_pushgw *, const struct push *,
                              const struct mg_family *, uint32_t))
{
    struct mg_store *st = mg_gateway_store(pg->gw);
    size_t k = 0;
    for (size_t i = 0; i < g->nser; i++) {
        struct mg_input *in = mg_pushgw_input(pg, &g->ser[i]);
        if (!in)
            continue;
        if (gone(pg, p, mg_store_input_family(st, in), g->ser[i].idx)) {
            remove_input(pg, g->ser[i].idx);
            continue;
        }
        g->ser[k++] = g->ser[i];
    }
    g->nser = k;
}

/* Before the writes: a replaced series whose family changes type goes,
 * so the new type can take the name. */
static int type_changes(struct mg_pushgw *pg, const struct push *p,
                        const struct mg_family *f, uint32_t idx)
{
    (void)pg;
    (void)idx;
    const struct mg_pushbody_family *bf = body_family(p->b, f->name, f->nlen);
    return bf && bf->type != f->type && replaced(p, f->name, f->nlen);
}

/* After the writes: a replaced series this push did not write is stale. */
static int stale(struct mg_pushgw *pg, const struct push *p,
                 const struct mg_family *f, uint32_t idx)
{
    return pg->mark[idx] != pg->serial && replaced(p, f->name, f->nlen);
}

static struct mg_pushgw_fam *fam_get(struct mg_pushgw_group *g,
                                     const char *name, size_t n)
{
    for (size_t i = 0; i < g->nfam; i++)
        if (g->fam[i].nlen == n && memcmp(g->fam[i].name, name, n) == 0)
            return &g->fam[i];
    if (g->nfam == g->capfam) {
        size_t cap = g->capfam ? g->capfam * 2 : 8;
        struct mg_pushgw_fam *f = realloc(g->fam, cap * sizeof(*f));
        if (!f)
            return NULL;
        g->fam = f;
        g->capfam = cap;
    }
    struct mg_pushgw_fam *f = &g->fam[g->nfam];
    memset(f, 0, sizeof(*f));
    if (!(f->name = strndup(name, n)))
        return NULL;
    f->nlen = (uint32_t)n;
    g->nfam++;
    return f;
}

static void fam_set(struct mg_pushgw_group *g, const char *name, size_t n,
                    enum mg_type t, const char *help, size_t hlen, int64_t ts)
{
    struct mg_pushgw_fam *f = fam_get(g, name, n);
    if (!f)
        return;
    f->type = t;
    free(f->help);
    f->help = help ? strndup(help, hlen) : NULL;
    f->ts_ms = ts;
}

/* The families the group shows in JSON after a push at now. */
static void update_fams(const struct push *p, struct mg_pushgw_group *g,
                        int64_t now, int ok)
{
    if (ok && p->m == MG_PUSHGW_PUT) {
        size_t k = 0;
        for (size_t i = 0; i < g->nfam; i++) {
            if (is_meta(g->fam[i].name, g->fam[i].nlen)) {
                g->fam[k++] = g->fam[i];
                continue;
            }
            free(g->fam[i].name);
            free(g->fam[i].help);
        }
        g->nfam = k;
    }
    for (size_t i = 0; ok && i < p->b->nfam; i++) {
        const struct mg_pushbody_family *f = &p->b->fam[i];
        if (!is_meta(f->name, f->nlen))
            fam_set(g, f->name, f->nlen, f->type, f->help, f->hlen, now);
    }
    fam_set(g, PUSH_TIME, strlen(PUSH_TIME), MG_GAUGE, push_time_help,
            strlen(push_time_help), g->push_ms);
    fam_set(g, PUSH_FAIL, strlen(PUSH_FAIL), MG_GAUGE, push_fail_help,
            strlen(push_fail_help), g->fail_ms);
}

static struct mg_pushgw_group *group_of(struct mg_pushgw *pg, struct push *p)
{
    if (!p->g) {
        p->g = group_new(pg, p->key, p->nk, p->kb, p->klen);
        if (p->g)
            p->gid1 = p->g->id + 1;
    }
    return p->g;
}

/* A refused push: the failure time as Pushgateway keeps it (the group
 * appears when it was new), the reason counted, a 400 naming it. */
static int fail_push(struct mg_pushgw *pg, struct push *p, struct mg_buf *reply)
{
    mg_gateway_reject(pg->gw, NULL, -1, p->r, 1, NULL);
    pg->last_reason = p->r;
    struct mg_pushgw_group *g = group_of(pg, p);
    if (g) {
        struct mg_push_result res;
        mg_push_result_reset(&res);
        g->fail_ms = mg_gateway_now(pg->gw);
        pg->serial++;
        write_meta(pg, p, g, &res);
        update_fams(p, g, g->fail_ms, 0);
    }
    mg_buf_adds(reply, "pushed metrics are invalid or inconsistent with existing metrics: ");
    mg_buf_adds(reply, p->why);
    mg_buf_addc(reply, '\n');
    return 400;
}

static int apply(struct mg_pushgw *pg, struct push *p, struct mg_buf *reply)
{
    struct mg_pushgw_group *g = group_of(pg, p);
    if (!g) {
        mg_buf_adds(reply, "out of memory\n");
        return 500;
    }
    pg->serial++;
    prune(pg, p, g, type_changes);
    struct mg_push_result res;
    mg_push_result_reset(&res);
    const struct mg_pushbody *b = p->b;
    for (size_t i = 0; i < b->nser; i++) {
        const struct mg_pushbody_series *ps = &b->ser[i];
        const struct mg_pushbody_family *f = &b->fam[ps->fam];
        struct mg_sample s;
        if (is_meta(f->name, f->nlen) || sample_of(pg, p, ps, &s))
            continue;
        own(pg, g, mg_gateway_push_sample(pg->gw, &s, (int32_t)ps->line, &res));
    }
    g->push_ms = mg_gateway_now(pg->gw);
    write_meta(pg, p, g, &res);
    prune(pg, p, g, stale);
    update_fams(p, g, g->push_ms, 1);
    if (res.rejected == 0)
        return 200;
    /* the pipeline's outputs are checked per series: what passed stays */
    mg_buf_adds(reply, "some series were refused:\n");
    for (uint32_t i = 0; i < res.nerr; i++) {
        char where[32];
        if (res.err[i].reason >= MG_REASON_COUNT_REJECT)
            continue;
        if (pg->last_reason == MG_OK)
            pg->last_reason = res.err[i].reason;
        mg_buf_adds(reply, mg_pushbody_where(b, (uint32_t)res.err[i].index, where,
                                             sizeof(where)));
        mg_buf_adds(reply, ": ");
        mg_buf_adds(reply, mg_reason_name(res.err[i].reason));
        mg_buf_adds(reply, ": ");
        mg_buf_adds(reply, res.err[i].detail);
        mg_buf_addc(reply, '\n');
    }
    return 400;
}

static int bad_request(struct mg_pushgw *pg, enum mg_reason r, const char *what,
                       const char *why, struct mg_buf *reply)
{
    struct mg_stats *st = mg_gateway_stats(pg->gw);
    st->received[MG_TRANSPORT_PUSHGATEWAY]++;
    mg_gateway_reject(pg->gw, NULL, -1, r, 1, NULL);
    pg->last_reason = r;
    mg_buf_adds(reply, what);
    mg_buf_adds(reply, why);
    mg_buf_addc(reply, '\n');
    return 400;
}

int mg_pushgw_request(struct mg_pushgw *pg, enum mg_pushgw_method m,
                      const char *path, enum mg_pushgw_format f,
                      const char *body, size_t len, struct mg_buf *reply)
{
    mg_buf_reset(reply);
    pg->last_reason = MG_OK;
    char why[MG_WHY_LEN];
    size_t plen = strlen(path), max = pg->cfg->wire.max_labels;
    char *buf = malloc(2 * plen + 2);
    struct mg_label *key = calloc(max + 1, sizeof(*key));
    int code = 500;
    struct mg_pushbody b;
    memset(&b, 0, sizeof(b));
    struct push p = {.m = m, .b = &b};
    if (!buf || !key) {
        mg_buf_adds(reply, "out of memory\n");
        goto out;
    }
    int nk = mg_pushgw_parse_key(path, key, max, buf, why, sizeof(why));
    if (nk < 0) {
        code = bad_request(pg, MG_REASON_DECODE_ERROR, "bad grouping key: ", why, reply);
        goto out;
    }
    p.key = key;
    p.nk = (size_t)nk;
    p.kb = buf + plen + 1;
    p.klen = key_string(key, p.nk, buf + plen + 1);
    p.g = mg_names_get(&pg->bykey, p.kb, p.klen);
    p.gid1 = p.g ? p.g->id + 1 : UINT32_MAX;
    if (m == MG_PUSHGW_DELETE) {
        if (p.g)
            group_remove(pg, p.g);
        code = 202;
        goto out;
    }
    enum mg_reason r;
    int rc = f == MG_PUSHGW_PROTO ? mg_pushbody_proto(&b, body, len, &pg->cfg->wire, &r, why)
                                  : mg_pushbody_text(&b, body, len, &pg->cfg->wire, &r, why);
    if (rc) {
        code = bad_request(pg, r, f == MG_PUSHGW_PROTO ? "protobuf parsing error: "
                                                       : "text format parsing error: ",
                           why, reply);
        goto out;
    }
    mg_gateway_stats(pg->gw)->received[MG_TRANSPORT_PUSHGATEWAY] += b.nser;
    code = check(pg, &p) ? fail_push(pg, &p, reply) : apply(pg, &p, reply);
out:
    free(p.seen);
    mg_pushbody_fini(&b);
    free(key);
    free(buf);
    return code;
}

enum mg_reason mg_pushgw_last_reason(const struct mg_pushgw *pg)
{
    return pg->last_reason;
}

/* ---- for the snapshot (mg_pushgw_snap.c) ---- */

struct mg_pushgw_group *mg_pushgw_group_get(struct mg_pushgw *pg,
                                            const struct mg_label *v, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += v[i].nlen + v[i].vlen + 2;
    char *kb = malloc(len ? len : 1);
    if (!kb)
        return NULL;
    size_t klen = key_string(v, n, kb);
    struct mg_pushgw_group *g = mg_names_get(&pg->bykey, kb, klen);
    if (!g)
        g = group_new(pg, v, n, kb, klen);
    free(kb);
    return g;
}

void mg_pushgw_own(struct mg_pushgw *pg, struct mg_pushgw_group *g,
                   uint32_t idx)
{
    own(pg, g, idx);
}

void mg_pushgw_fam_set(struct mg_pushgw_group *g, const char *name, size_t n,
                       enum mg_type t, const char *help, size_t hlen,
                       int64_t ts_ms)
{
    fam_set(g, name, n, t, help, hlen, ts_ms);
}
