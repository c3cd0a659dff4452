/* mg_pushgw_snap: the Pushgateway groups' snapshot section.
 *
 * Payload: v groups; each: v key labels (str name, str value), u64
 * push_ms, u64 fail_ms, v families (str name, u8 type, u8 has_help, str
 * help, u64 ts_ms), v series (str family name, v labels (str, str)). */
#include "mg_pushgw_snap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mg_pushgw_int.h"
#include "mg_store.h"
#include "mg_utf8.h"

#define MAX_LABELS 65535
#define MAX_STR 65535

static void put_pairs(struct mg_snap_w *w, const struct mg_label *v, size_t n)
{
    mg_snap_v(w, n);
    for (size_t i = 0; i < n; i++) {
        mg_snap_str(w, v[i].name, v[i].nlen);
        mg_snap_str(w, v[i].value, v[i].vlen);
    }
}

/* A group's live series: the family's name and the input's labels. */
static void put_series(struct mg_pushgw *pg, const struct mg_pushgw_group *g,
                       struct mg_snap_w *w)
{
    struct mg_store *st = mg_gateway_store(pg->gw);
    size_t live = 0;
    for (size_t i = 0; i < g->nser; i++)
        live += mg_pushgw_input(pg, &g->ser[i]) != NULL;
    mg_snap_v(w, live);
    for (size_t i = 0; i < g->nser; i++) {
        struct mg_input *in = mg_pushgw_input(pg, &g->ser[i]);
        if (!in)
            continue;
        const struct mg_family *f = mg_store_input_family(st, in);
        mg_snap_str(w, f->name, f->nlen);
        mg_snap_v(w, in->ls->n);
        size_t pos = 0;
        struct mg_label l;
        while (mg_labelset_next(in->ls, &pos, &l)) {
            mg_snap_str(w, l.name, l.nlen);
            mg_snap_str(w, l.value, l.vlen);
        }
    }
}

void mg_pushgw_snap_write(struct mg_pushgw *pg, struct mg_snap_w *w)
{
    size_t n = 0;
    for (size_t i = 0; i < pg->ngroups; i++)
        n += pg->groups[i] != NULL;
    mg_snap_sec_begin(w, MG_SNAP_PUSHGW);
    mg_snap_v(w, n);
    for (size_t i = 0; i < pg->ngroups; i++) {
        const struct mg_pushgw_group *g = pg->groups[i];
        if (!g)
            continue;
        put_pairs(w, g->labels, g->nlabels);
        mg_snap_u64(w, (uint64_t)g->push_ms);
        mg_snap_u64(w, (uint64_t)g->fail_ms);
        mg_snap_v(w, g->nfam);
        for (size_t k = 0; k < g->nfam; k++) {
            const struct mg_pushgw_fam *f = &g->fam[k];
            mg_snap_str(w, f->name, f->nlen);
            mg_snap_u8(w, (uint8_t)f->type);
            mg_snap_u8(w, f->help != NULL);
            mg_snap_str(w, f->help ? f->help : "", f->help ? strlen(f->help) : 0);
            mg_snap_u64(w, (uint64_t)f->ts_ms);
        }
        put_series(pg, g, w);
    }
    mg_snap_sec_end(w);
}

int mg_pushgw_snap_keep(struct mg_gateway *gw, const struct mg_snap *s)
{
    for (size_t i = 0; i < s->nsec; i++)
        if (s->sec[i].type == MG_SNAP_PUSHGW)
            return mg_gateway_keep_pushgw_snap(gw, s->sec[i].p, (size_t)s->sec[i].len);
    return 0;
}

/* ---- reading ---- */

/* Scratch for the labels of one record, borrowing from the section. */
struct pairs {
    struct mg_label *v;
    size_t n, cap;
};

/* Pairs at r into ps. 0, -EINVAL, -ENOMEM. */
static int get_pairs(struct mg_snap_r *r, struct pairs *ps)
{
    uint64_t k = mg_snap_get_v(r);
    ps->n = 0;
    if (r->err || k > MAX_LABELS)
        return -EINVAL;
    if (k > ps->cap) {
        struct mg_label *v = realloc(ps->v, (size_t)k * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ps->v = v;
        ps->cap = (size_t)k;
    }
    for (uint64_t i = 0; i < k; i++) {
        size_t nl, vl;
        const char *name = mg_snap_get_str(r, &nl, MAX_STR);
        const char *val = mg_snap_get_str(r, &vl, MAX_STR);
        if (r->err || !nl || !mg_utf8_valid(name, nl) || !mg_utf8_valid(val, vl))
            return -EINVAL;
        ps->v[ps->n++] = (struct mg_label){name, val, (uint32_t)nl, (uint32_t)vl};
    }
    return 0;
}

static int read_fams(struct mg_snap_r *r, struct mg_pushgw_group *g)
{
    uint64_t nf = mg_snap_get_v(r);
    for (uint64_t i = 0; i < nf && !r->err; i++) {
        size_t nl, hl;
        const char *name = mg_snap_get_str(r, &nl, MAX_STR);
        uint8_t type = mg_snap_get_u8(r), has_help = mg_snap_get_u8(r);
        const char *help = mg_snap_get_str(r, &hl, MAX_STR);
        int64_t ts = (int64_t)mg_snap_get_u64(r);
        if (r->err || type > MG_SUMMARY || !mg_utf8_valid(name, nl) ||
            !mg_utf8_valid(help, hl))
            return -EINVAL;
        mg_pushgw_fam_set(g, name, nl, (enum mg_type)type, has_help ? help : NULL, hl, ts);
    }
    return r->err ? -EINVAL : 0;
}

/* The group's series that are in the store again become its own. */
static int read_series(struct mg_pushgw *pg, struct mg_snap_r *r,
                       struct mg_pushgw_group *g, struct pairs *ps)
{
    struct mg_store *st = mg_gateway_store(pg->gw);
    uint64_t ns = mg_snap_get_v(r);
    for (uint64_t i = 0; i < ns && !r->err; i++) {
        size_t nl;
        const char *name = mg_snap_get_str(r, &nl, MAX_STR);
        int rc = get_pairs(r, ps);
        if (rc)
            return rc;
        struct mg_sample s;
        memset(&s, 0, sizeof(s));
        s.name = name;
        s.nlen = (uint32_t)nl;
        s.labels = ps->v;
        s.nlabels = ps->n;
        struct mg_input *in = mg_store_input_find(
            st, &s, mg_store_input_hash(name, nl, ps->v, ps->n));
        if (in)
            mg_pushgw_own(pg, g, mg_store_input_index(st, in));
    }
    return r->err ? -EINVAL : 0;
}

static int read_group(struct mg_pushgw *pg, struct mg_snap_r *r,
                      struct pairs *ps)
{
    int rc = get_pairs(r, ps);
    if (rc)
        return rc;
    struct mg_pushgw_group *g = mg_pushgw_group_get(pg, ps->v, ps->n);
    if (!g)
        return -ENOMEM;
    g->push_ms = (int64_t)mg_snap_get_u64(r);
    g->fail_ms = (int64_t)mg_snap_get_u64(r);
    rc = read_fams(r, g);
    return rc ? rc : read_series(pg, r, g, ps);
}

int mg_pushgw_snap_restore(struct mg_pushgw *pg, char *why, size_t whylen)
{
    size_t len;
    unsigned char *buf = mg_gateway_take_pushgw_snap(pg->gw, &len);
    if (!buf)
        return 0;
    struct mg_snap_r r = {buf, buf + len, 0};
    struct pairs ps = {NULL, 0, 0};
    uint64_t n = mg_snap_get_v(&r);
    int rc = r.err ? -EINVAL : 0;
    for (uint64_t i = 0; i < n && !rc; i++)
        rc = read_group(pg, &r, &ps);
    free(ps.v);
    free(buf);
    if (rc)
        snprintf(why, whylen, "%s Pushgateway section",
                 rc == -ENOMEM ? "out of memory in the" : "malformed");
    return rc;
}
