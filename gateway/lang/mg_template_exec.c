/* mg_template_exec: evaluation of a compiled template, Go's text/template
 * semantics for the subset mg_template.h lists. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_template_int.h"

struct out {
    char *p;
    size_t len, k;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->k + 1 < o->len) {
        size_t room = o->len - 1 - o->k;
        memcpy(o->p + o->k, s, n < room ? n : room);
    }
    o->k += n;
}

char *tmpl_alloc(struct tmpl_exec *x, size_t n)
{
    if (sizeof(x->pool) - x->used < n) {
        tmpl_err(x, "the template's values passed %zu bytes", sizeof(x->pool));
        return NULL;
    }
    char *p = x->pool + x->used;
    x->used += n;
    return p;
}

int tmpl_err(struct tmpl_exec *x, const char *fmt, ...)
{
    if (!x->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err, sizeof(x->err), fmt, ap);
        va_end(ap);
    }
    return -1;
}

int tmpl_truth(const struct tmpl_val *v)
{
    switch (v->t) {
    case V_NIL:
        return 0;
    case V_STR:
        return v->len > 0;
    case V_NUM:
    case V_BOOL:
        return v->n != 0;
    case V_MAP:
        return v->mn > 0;
    case V_ROOT:
        return 1;
    }
    return 0;
}

/* Go's strconv.FormatFloat(v, 'g', -1, 64), which %v prints: the shortest
 * digits that read back, in e form for exponents below -4 or from 6 on
 * (Go decides with precision 6 when the digits are the shortest). */
void tmpl_go_float(char *buf, size_t len, double v, char verb, int prec)
{
    (void)verb;
    (void)prec;
    if (isnan(v)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, len, "%sInf", v > 0 ? "+" : "-");
        return;
    }
    char e[40];
    int p = 1;
    for (; p < 17; p++) {
        snprintf(e, sizeof(e), "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof(e), "%.*e", p - 1, v);
    int exp = atoi(strchr(e, 'e') + 1);
    if (exp < -4 || exp >= 6) {
        snprintf(buf, len, "%s", e);
        return;
    }
    snprintf(buf, len, "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, v);
}

int tmpl_print(struct tmpl_exec *x, const struct tmpl_val *v, const char **s, size_t *n)
{
    char tmp[64];
    switch (v->t) {
    case V_STR:
        *s = v->s;
        *n = v->len;
        return 0;
    case V_NIL:
        *s = "<no value>";
        *n = 10;
        return 0;
    case V_BOOL:
        *s = v->n ? "true" : "false";
        *n = strlen(*s);
        return 0;
    case V_NUM:
        if (v->isint && fabs(v->n) < 9.2e18)
            snprintf(tmp, sizeof(tmp), "%lld", (long long)v->n);
        else
            tmpl_go_float(tmp, sizeof(tmp), v->n, 'v', -1);
        break;
    case V_MAP: {
        /* map[a:b c:d], as fmt prints a map (sorted by key) */
        size_t need = 5;
        for (size_t i = 0; i < v->mn; i++)
            need += v->m[i].nlen + v->m[i].vlen + 2;
        char *p = tmpl_alloc(x, need);
        if (!p)
            return -1;
        size_t k = (size_t)sprintf(p, "map[");
        for (size_t i = 0; i < v->mn; i++)
            k += (size_t)sprintf(p + k, "%s%.*s:%.*s", i ? " " : "", (int)v->m[i].nlen,
                                 v->m[i].name, (int)v->m[i].vlen, v->m[i].value);
        p[k++] = ']';
        *s = p;
        *n = k;
        return 0;
    }
    case V_ROOT:
        snprintf(tmp, sizeof(tmp), "{alert data}");
        break;
    }
    size_t l = strlen(tmp);
    char *p = tmpl_alloc(x, l);
    if (!p)
        return -1;
    memcpy(p, tmp, l);
    *s = p;
    *n = l;
    return 0;
}

static const char *type_name(enum tmpl_vt t)
{
    static const char *const names[] = {"nil", "string", "float64", "bool",
                                        "map[string]string", "*template.Data"};
    return names[t];
}

static int field(struct tmpl_exec *x, struct tmpl_val *v, const char *name)
{
    size_t nl = strlen(name);
    if (v->t == V_ROOT) {
        const struct mg_tmpl_data *d = x->d;
        if (strcmp(name, "Labels") == 0)
            *v = (struct tmpl_val){.t = V_MAP, .m = d->labels, .mn = d->nlabels};
        else if (strcmp(name, "ExternalLabels") == 0)
            *v = (struct tmpl_val){.t = V_MAP, .m = d->external_labels,
                                   .mn = d->nexternal_labels};
        else if (strcmp(name, "ExternalURL") == 0)
            *v = (struct tmpl_val){.t = V_STR, .s = d->external_url ? d->external_url : "",
                                   .len = d->external_url ? strlen(d->external_url) : 0};
        else if (strcmp(name, "Value") == 0)
            *v = (struct tmpl_val){.t = V_NUM, .n = d->value};
        else
            return tmpl_err(x, "can't evaluate field %s in type *template.Data", name);
        return 0;
    }
    if (v->t == V_MAP) {
        for (size_t i = 0; i < v->mn; i++)
            if (v->m[i].nlen == nl && memcmp(v->m[i].name, name, nl) == 0) {
                *v = (struct tmpl_val){.t = V_STR, .s = v->m[i].value, .len = v->m[i].vlen};
                return 0;
            }
        *v = (struct tmpl_val){.t = V_STR, .s = "", .len = 0}; /* missingkey=zero */
        return 0;
    }
    if (v->t == V_NIL)
        return tmpl_err(x, "nil pointer evaluating %s", name);
    return tmpl_err(x, "can't evaluate field %s in type %s", name, type_name(v->t));
}

static int eval_pipe(struct tmpl_exec *x, const struct tmpl_pipe *p,
                     const struct tmpl_val *dot, struct tmpl_val *out);

static int call(struct tmpl_exec *x, int fn, const struct tmpl_val *a, int n,
                struct tmpl_val *out)
{
    const struct tmpl_func *f = &mg_tmpl_funcs[fn];
    if (n < f->min || (f->max >= 0 && n > f->max))
        return tmpl_err(x, "wrong number of args for %s: want %d got %d", f->name,
                        n < f->min ? f->min : f->max, n);
    *out = (struct tmpl_val){.t = V_NIL};
    if (f->f(x, a, n, out)) {
        if (!x->err[0])
            tmpl_err(x, "error calling %s", f->name);
        char tmp[sizeof(x->err) + 64];
        snprintf(tmp, sizeof(tmp), "error calling %s: %s", f->name, x->err);
        size_t el = strnlen(tmp, sizeof(x->err) - 1);
        memcpy(x->err, tmp, el);
        x->err[el] = 0;
        return -1;
    }
    return 0;
}

static int eval_arg(struct tmpl_exec *x, const struct tmpl_arg *a,
                    const struct tmpl_val *dot, struct tmpl_val *out)
{
    switch (a->k) {
    case A_DOT:
    case A_FIELD:
        *out = *dot;
        break;
    case A_VAR:
        *out = x->vars[a->var];
        break;
    case A_CONST:
        *out = a->c;
        break;
    case A_FUNC:
        if (call(x, a->fn, NULL, 0, out))
            return -1;
        break;
    case A_PIPE:
        if (eval_pipe(x, a->sub, dot, out))
            return -1;
        break;
    }
    for (size_t i = 0; i < a->nchain; i++)
        if (field(x, out, a->chain[i]))
            return -1;
    return 0;
}

static int eval_cmd(struct tmpl_exec *x, const struct tmpl_cmd *c,
                    const struct tmpl_val *dot, const struct tmpl_val *prev,
                    struct tmpl_val *out)
{
    if (c->args[0].k != A_FUNC)
        return eval_arg(x, &c->args[0], dot, out);
    struct tmpl_val a[TMPL_MAX_ARGS + 1];
    int n = 0;
    for (size_t i = 1; i < c->nargs; i++)
        if (eval_arg(x, &c->args[i], dot, &a[n++]))
            return -1;
    if (prev)
        a[n++] = *prev;
    return call(x, c->args[0].fn, a, n, out);
}

static int eval_pipe(struct tmpl_exec *x, const struct tmpl_pipe *p,
                     const struct tmpl_val *dot, struct tmpl_val *out)
{
    struct tmpl_val v = {.t = V_NIL};
    for (size_t i = 0; i < p->ncmds; i++) {
        struct tmpl_val prev = v;
        if (eval_cmd(x, &p->cmds[i], dot, i ? &prev : NULL, &v))
            return -1;
    }
    if (p->nvars == 1)
        x->vars[p->vars[0]] = v;
    *out = v;
    return 0;
}

static int exec_list(struct tmpl_exec *x, const struct tmpl_node *n,
                     const struct tmpl_val *dot, struct out *o, int depth);

static int name_cmp(const struct mg_label *a, const struct mg_label *b)
{
    size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
    int c = memcmp(a->name, b->name, n);
    return c ? c : (a->nlen > b->nlen) - (a->nlen < b->nlen);
}

/* range over a label map, in key order as Go ranges over maps. */
static int exec_range(struct tmpl_exec *x, const struct tmpl_node *n, const struct tmpl_val *v,
                      struct out *o, int depth)
{
    if (v->t != V_MAP && v->t != V_NIL)
        return tmpl_err(x, "range can't iterate over %s", type_name(v->t));
    if (!tmpl_truth(v))
        return exec_list(x, n->els, v, o, depth);
    const struct mg_label *last = NULL;
    for (size_t done = 0; done < v->mn; done++) {
        const struct mg_label *next = NULL;
        for (size_t i = 0; i < v->mn; i++) {
            const struct mg_label *l = &v->m[i];
            if (last && name_cmp(l, last) <= 0)
                continue;
            if (!next || name_cmp(l, next) < 0)
                next = l;
        }
        if (!next)
            break;
        last = next;
        struct tmpl_val key = {.t = V_STR, .s = next->name, .len = next->nlen};
        struct tmpl_val val = {.t = V_STR, .s = next->value, .len = next->vlen};
        if (n->pipe->nvars == 1)
            x->vars[n->pipe->vars[0]] = val;
        if (n->pipe->nvars == 2) {
            x->vars[n->pipe->vars[0]] = key;
            x->vars[n->pipe->vars[1]] = val;
        }
        if (exec_list(x, n->body, &val, o, depth))
            return -1;
    }
    return 0;
}

static int exec_list(struct tmpl_exec *x, const struct tmpl_node *n,
                     const struct tmpl_val *dot, struct out *o, int depth)
{
    if (depth > TMPL_MAX_DEPTH * 2)
        return tmpl_err(x, "nested too deep");
    for (; n; n = n->next) {
        struct tmpl_val v;
        const char *s;
        size_t len;
        switch (n->k) {
        case N_TEXT:
            put(o, n->text, n->len);
            break;
        case N_ACTION:
            if (eval_pipe(x, n->pipe, dot, &v))
                return -1;
            if (n->pipe->decl)
                break;
            if (tmpl_print(x, &v, &s, &len))
                return -1;
            put(o, s, len);
            break;
        case N_IF:
        case N_WITH:
            if (eval_pipe(x, n->pipe, dot, &v))
                return -1;
            if (exec_list(x, tmpl_truth(&v) ? n->body : n->els,
                          n->k == N_WITH && tmpl_truth(&v) ? &v : dot, o, depth + 1))
                return -1;
            break;
        case N_RANGE: {
            struct tmpl_pipe p = *n->pipe;
            p.nvars = 0; /* range assigns its variables per element */
            if (eval_pipe(x, &p, dot, &v) || exec_range(x, n, &v, o, depth + 1))
                return -1;
            break;
        }
        }
    }
    return 0;
}

int mg_tmpl_expand(const struct mg_tmpl *t, const struct mg_tmpl_data *d,
                   char *out, size_t len)
{
    struct tmpl_exec *x = malloc(sizeof(*x));
    if (!x) {
        snprintf(out, len, "<error expanding template: out of memory>");
        return -1;
    }
    x->d = d;
    x->used = 0;
    x->err[0] = '\0';
    struct tmpl_val root = {.t = V_ROOT};
    for (int i = 0; i < TMPL_MAX_VARS; i++)
        x->vars[i] = (struct tmpl_val){.t = V_NIL};
    x->vars[0] = root;
    x->vars[1] = (struct tmpl_val){.t = V_MAP, .m = d->labels, .mn = d->nlabels};
    x->vars[2] = (struct tmpl_val){.t = V_MAP, .m = d->external_labels,
                                   .mn = d->nexternal_labels};
    x->vars[3] = (struct tmpl_val){.t = V_STR, .s = d->external_url ? d->external_url : "",
                                   .len = d->external_url ? strlen(d->external_url) : 0};
    x->vars[4] = (struct tmpl_val){.t = V_NUM, .n = d->value};
    struct out o = {out, len, 0};
    out[0] = '\0';
    int rc = exec_list(x, t->root, &root, &o, 0);
    if (rc) {
        snprintf(out, len, "<error expanding template: %s>", x->err);
    } else {
        out[o.k < len ? o.k : len - 1] = '\0';
    }
    free(x);
    return rc ? -1 : 0;
}
