/* mg_rules_snap: the rules' snapshot sections: every alert instance with
 * its clocks (activeAt, fired, resolved, keep_firing_for, last sent), and
 * the series the rules wrote with their values. A pending alert restored
 * fires at its original activeAt + for; a written series no rule writes
 * again goes at the first evaluation, as after a reload. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mg_pipeline.h"
#include "mg_rules_int.h"
#include "mg_rules_snap.h"
#include "mg_alloc.h"
#include "mg_vec.h"

#define MAX_LABELS 255
#define MAX_STR 65535

static void put_pairs(struct mg_snap_w *w, const struct mg_label *v, size_t n)
{
    mg_snap_v(w, n);
    for (size_t i = 0; i < n; i++) {
        mg_snap_str(w, v[i].name, v[i].nlen);
        mg_snap_str(w, v[i].value, v[i].vlen);
    }
}

void mg_rules_snap_write(const struct mg_rules *r, struct mg_store *st,
                         struct mg_snap_w *w)
{
    size_t nrules = 0, nalerts = 0;
    for (size_t i = 0; i < r->nrules; i++)
        if (r->rules[i].alert && r->rules[i].nalerts)
            nrules++;
    mg_snap_sec_begin(w, MG_SNAP_ALERTS);
    mg_snap_v(w, nrules);
    for (size_t i = 0; i < r->nrules; i++) {
        const struct rule *ru = &r->rules[i];
        if (!ru->alert || !ru->nalerts)
            continue;
        mg_snap_str(w, ru->name, strlen(ru->name));
        mg_snap_v(w, ru->nalerts);
        for (size_t k = 0; k < ru->nalerts; k++) {
            const struct mg_alert *a = &ru->alerts[k];
            mg_snap_u8(w, (uint8_t)a->state);
            put_pairs(w, a->labels, a->nlabels);
            put_pairs(w, a->annotations, a->nannotations);
            mg_snap_f64(w, a->value);
            int64_t t[6] = {a->active_at, a->fired_at, a->resolved_at,
                            a->last_sent, a->valid_until, a->keep_firing_since};
            for (int j = 0; j < 6; j++)
                mg_snap_u64(w, (uint64_t)t[j]);
        }
        nalerts += ru->nalerts;
    }
    mg_snap_sec_end(w);
    w->counts[2] = nalerts;

    size_t nw = 0;
    double v;
    for (size_t i = 0; i < r->nw; i++)
        if (!mg_store_own_get(st, r->w[i].name, strlen(r->w[i].name), r->w[i].labels,
                              r->w[i].n, &v))
            nw++;
    mg_snap_sec_begin(w, MG_SNAP_WRITTEN);
    mg_snap_v(w, nw);
    for (size_t i = 0; i < r->nw; i++) {
        const struct written *x = &r->w[i];
        if (mg_store_own_get(st, x->name, strlen(x->name), x->labels, x->n, &v))
            continue;
        mg_snap_str(w, x->name, strlen(x->name));
        put_pairs(w, x->labels, x->n);
        mg_snap_f64(w, v);
    }
    mg_snap_sec_end(w);
    w->counts[3] = nw;
}

/* ---- reading ---- */

static void free_pairs(struct mg_label *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free((char *)v[i].name);
        free((char *)v[i].value);
    }
    free(v);
}

/* Pairs at r, copied (NUL-terminated) into *out. 0, -EINVAL, -ENOMEM. */
static int get_pairs(struct mg_snap_r *r, struct mg_label **out, size_t *n)
{
    uint64_t k = mg_snap_get_v(r);
    *out = NULL;
    *n = 0;
    if (r->err || k > MAX_LABELS)
        return -EINVAL;
    struct mg_label *v = calloc(k ? (size_t)k : 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (uint64_t i = 0; i < k; i++) {
        size_t nl, vl;
        const char *name = mg_snap_get_str(r, &nl, MAX_STR);
        const char *val = mg_snap_get_str(r, &vl, MAX_STR);
        /* a NUL would end the copies below short of the lengths kept */
        if (r->err || !mg_utf8_valid(name, nl) || !mg_utf8_valid(val, vl) ||
            memchr(name, 0, nl) || memchr(val, 0, vl)) {
            free_pairs(v, *n);
            return -EINVAL;
        }
        char *a = strndup(name, nl), *b = strndup(val, vl);
        v[*n] = (struct mg_label){a, b, (uint32_t)nl, (uint32_t)vl};
        (*n)++;
        if (!a || !b) {
            free_pairs(v, *n);
            return -ENOMEM;
        }
    }
    *out = v;
    return 0;
}

static struct rule *alert_rule(struct mg_rules *r, const char *name, size_t n)
{
    for (size_t i = 0; i < r->nrules; i++)
        if (r->rules[i].alert && strlen(r->rules[i].name) == n &&
            memcmp(r->rules[i].name, name, n) == 0)
            return &r->rules[i];
    return NULL;
}

static int read_alert(struct mg_snap_r *r, struct rule *ru)
{
    struct mg_alert a;
    memset(&a, 0, sizeof(a));
    uint8_t state = mg_snap_get_u8(r);
    int rc = get_pairs(r, &a.labels, &a.nlabels);
    if (!rc)
        rc = get_pairs(r, &a.annotations, &a.nannotations);
    a.value = mg_snap_get_f64(r);
    int64_t *t[6] = {&a.active_at, &a.fired_at, &a.resolved_at,
                     &a.last_sent, &a.valid_until, &a.keep_firing_since};
    for (int j = 0; j < 6; j++)
        *t[j] = (int64_t)mg_snap_get_u64(r);
    if (!rc && (r->err || state > MG_ALERT_FIRING))
        rc = -EINVAL;
    if (!rc && !ru)
        rc = 1; /* its rule is gone: the alert goes too */
    if (!rc && ru->nalerts == ru->capalerts) {
        size_t cap = ru->capalerts ? ru->capalerts * 2 : 8;
        struct mg_alert *na = realloc(ru->alerts, cap * sizeof(*na));
        if (!na)
            rc = -ENOMEM;
        else {
            ru->alerts = na;
            ru->capalerts = cap;
        }
    }
    if (rc) {
        free_pairs(a.labels, a.nlabels);
        free_pairs(a.annotations, a.nannotations);
        return rc > 0 ? 0 : rc;
    }
    mg_labels_sort(a.labels, a.nlabels);
    a.state = (enum mg_alert_state)state;
    a.rule = ru->name;
    a.hash = mg_labels_hash(a.labels, a.nlabels);
    ru->alerts[ru->nalerts++] = a;
    return 0;
}

static int read_alerts(struct mg_rules *r, const struct mg_snap *s)
{
    struct mg_snap_r c;
    if (mg_snap_section(s, MG_SNAP_ALERTS, &c))
        return 0;
    uint64_t nr = mg_snap_get_v(&c);
    for (uint64_t i = 0; i < nr && !c.err; i++) {
        size_t nl;
        const char *name = mg_snap_get_str(&c, &nl, MAX_STR);
        uint64_t na = mg_snap_get_v(&c);
        struct rule *ru = c.err ? NULL : alert_rule(r, name, nl);
        if (ru && ru->nalerts)
            ru = NULL; /* restored once already (a name twice in the file) */
        for (uint64_t k = 0; k < na && !c.err; k++) {
            int rc = read_alert(&c, ru);
            if (rc)
                return rc;
        }
    }
    return c.err ? -EINVAL : 0;
}

/* Takes one written series as the rules' own: into the store with its
 * value, and into the list the first evaluation sweeps. */
static int adopt_written(struct mg_rules *r, struct mg_store *st,
                         const char *name, struct mg_label *labels, size_t n,
                         double v)
{
    mg_labels_sort(labels, n);
    const char *help = strcmp(name, "ALERTS") == 0 ? "Pending and firing alerts."
                       : strcmp(name, "ALERTS_FOR_STATE") == 0
                           ? "The time each pending or firing alert became active."
                           : "Written by a recording rule.";
    /* keyed by the store's identity, as mg_rules' own writes are */
    uint32_t oidx;
    if (mg_store_own_set_at(st, name, MG_GAUGE, help, labels, n, v, &oidx))
        return -ENOMEM;
    if (mg_names_get(&r->wmap, (const char *)&oidx, sizeof(oidx)))
        return 1;
    if (MG_GROW(r->w, r->capw, r->nw + 1))
        return -ENOMEM;
    struct written *w = &r->w[r->nw];
    memset(w, 0, sizeof(*w));
    w->oidx = oidx;
    w->name = mg_strdup(name);
    if (!w->name)
        return -ENOMEM;
    w->labels = labels;
    w->n = n;
    w->mark = 0; /* the first evaluation removes it unless a rule writes it */
    r->nw++;
    /* the map holds keys inside r->w, which may have moved */
    return mg_rules_wmap_rebuild(r);
}

static int read_written(struct mg_rules *r, struct mg_store *st,
                        const struct mg_snap *s)
{
    struct mg_snap_r c;
    if (mg_snap_section(s, MG_SNAP_WRITTEN, &c))
        return 0;
    uint64_t n = mg_snap_get_v(&c);
    for (uint64_t i = 0; i < n && !c.err; i++) {
        size_t nl;
        const char *name = mg_snap_get_str(&c, &nl, MAX_STR);
        struct mg_label *labels;
        size_t nlab;
        int rc = c.err ? -EINVAL : get_pairs(&c, &labels, &nlab);
        if (rc)
            return rc;
        double v = mg_snap_get_f64(&c);
        char *nm = strndup(name, nl);
        int bad = !nm || c.err || !mg_metric_name_valid(name, nl);
        for (size_t k = 0; k < nlab && !bad; k++)
            bad = !mg_label_name_valid(labels[k].name, labels[k].nlen) ||
                  labels[k].nlen > MG_LABEL_NAME_MAX || !labels[k].vlen;
        if (!bad) {
            mg_labels_sort(labels, nlab);
            bad = mg_labels_have_duplicate(labels, nlab);
        }
        rc = bad ? (nm ? -EINVAL : -ENOMEM) : adopt_written(r, st, nm, labels, nlab, v);
        free(nm);
        if (rc)
            free_pairs(labels, nlab);
        if (rc < 0)
            return rc;
    }
    return c.err ? -EINVAL : 0;
}

int mg_rules_snap_read(struct mg_rules *r, struct mg_store *st,
                       const struct mg_snap *s, char *why, size_t whylen)
{
    int rc = read_alerts(r, s);
    if (rc) {
        snprintf(why, whylen, "%s in the alerts section",
                 rc == -ENOMEM ? "out of memory" : "malformed record");
        return rc;
    }
    rc = read_written(r, st, s);
    if (rc)
        snprintf(why, whylen, "%s in the written section",
                 rc == -ENOMEM ? "out of memory" : "malformed record");
    return rc;
}
