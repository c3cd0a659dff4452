/* mg_import: Prometheus rule files to moongate rules files. */
#include "mg_import.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "mg_buf.h"
#include "mg_labels.h"
#include "mg_promql.h"

#define MAX_BYTES (16u << 20)
#define MAX_NODES 200000
#define MAX_DEPTH 64

enum ykind { Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode {
    enum ykind k;
    int line;               /* 1-based */
    char *s;                /* Y_SCALAR */
    size_t len;
    struct ynode **kids;    /* Y_MAP: key, value, key, value ... */
    size_t n, cap;
};

struct imp {
    const char *path;
    char *why;
    size_t whylen;
    size_t nodes;
};

static int err(struct imp *im, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err(struct imp *im, int line, const char *fmt, ...)
{
    int k = snprintf(im->why, im->whylen, "%s:%d: ", im->path, line);
    va_list ap;
    va_start(ap, fmt);
    if (k > 0 && (size_t)k < im->whylen)
        vsnprintf(im->why + k, im->whylen - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static void ynode_free(struct ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        ynode_free(n->kids[i]);
    free(n->kids);
    free(n->s);
    free(n);
}

static int add_kid(struct ynode *p, struct ynode *c)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct ynode **nk = realloc(p->kids, cap * sizeof(*nk));
        if (!nk)
            return -ENOMEM;
        p->kids = nk;
        p->cap = cap;
    }
    p->kids[p->n++] = c;
    return 0;
}

/* The events into a tree, one document. */
static struct ynode *load(struct imp *im, yaml_parser_t *ps)
{
    struct ynode *stack[MAX_DEPTH + 1], *root = NULL;
    int sp = 0, docs = 0, done = 0;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(ps, &ev)) {
            err(im, (int)ps->problem_mark.line + 1, "YAML: %s",
                ps->problem ? ps->problem : "cannot parse");
            goto fail;
        }
        int line = (int)ev.start_mark.line + 1;
        struct ynode *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                yaml_event_delete(&ev);
                err(im, line, "one YAML document only");
                goto fail;
            }
            break;
        case YAML_ALIAS_EVENT:
            yaml_event_delete(&ev);
            err(im, line, "YAML aliases are not supported");
            goto fail;
        case YAML_SCALAR_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (++im->nodes > MAX_NODES) {
                yaml_event_delete(&ev);
                err(im, line, "more than %d YAML nodes", MAX_NODES);
                goto fail;
            }
            n = calloc(1, sizeof(*n));
            if (!n) {
                yaml_event_delete(&ev);
                err(im, line, "out of memory");
                goto fail;
            }
            n->line = line;
            n->k = ev.type == YAML_SCALAR_EVENT ? Y_SCALAR
                   : ev.type == YAML_MAPPING_START_EVENT ? Y_MAP : Y_SEQ;
            if (n->k == Y_SCALAR) {
                n->len = ev.data.scalar.length;
                n->s = malloc(n->len + 1);
                if (n->s) {
                    memcpy(n->s, ev.data.scalar.value, n->len);
                    n->s[n->len] = '\0';
                }
            }
            if ((n->k == Y_SCALAR && !n->s) || (sp && add_kid(stack[sp - 1], n))) {
                ynode_free(n);
                yaml_event_delete(&ev);
                err(im, line, "out of memory");
                goto fail;
            }
            if (!sp && !root)
                root = n;
            else if (!sp)
                ynode_free(n); /* unreachable with one document */
            if (n->k != Y_SCALAR) {
                if (sp == MAX_DEPTH) {
                    yaml_event_delete(&ev);
                    err(im, line, "YAML nested deeper than %d", MAX_DEPTH);
                    goto fail;
                }
                stack[sp++] = n;
            }
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            sp--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    if (!root)
        err(im, 1, "empty file");
    return root;
fail:
    ynode_free(root);
    return NULL;
}

/* ---- the rule file's shape ---- */

static const struct ynode *get(const struct ynode *m, const char *key)
{
    for (size_t i = 0; i + 1 < m->n; i += 2)
        if (m->kids[i]->k == Y_SCALAR && strcmp(m->kids[i]->s, key) == 0)
            return m->kids[i + 1];
    return NULL;
}

/* Every key of m is one of keys; else the first that is not, with its line. */
static int only_keys(struct imp *im, const struct ynode *m, const char *what,
                     const char *const *keys)
{
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const struct ynode *k = m->kids[i];
        size_t j = 0;
        while (k->k == Y_SCALAR && keys[j] && strcmp(keys[j], k->s) != 0)
            j++;
        if (k->k != Y_SCALAR || !keys[j])
            return err(im, k->line, "%s: %s is not carried over", what,
                       k->k == Y_SCALAR ? k->s : "a non-scalar key");
    }
    return 0;
}

static const struct ynode *scalar(struct imp *im, const struct ynode *m, const char *key,
                                  const char *what)
{
    const struct ynode *v = get(m, key);
    if (v && v->k != Y_SCALAR) {
        err(im, v->line, "%s: %s must be a string", what, key);
        return (const struct ynode *)-1;
    }
    return v;
}

/* A Lua string literal of s. */
static void lua_str(struct mg_buf *b, const char *s, size_t n)
{
    mg_buf_addc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            mg_buf_addc(b, '\\');
            mg_buf_addc(b, (char)c);
        } else if (c == '\n') {
            mg_buf_adds(b, "\\n");
        } else if (c == '\t') {
            mg_buf_adds(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\%03d", c);
            mg_buf_adds(b, esc);
        } else {
            mg_buf_addc(b, (char)c);
        }
    }
    mg_buf_addc(b, '"');
}

static int lua_keyword(const char *s)
{
    static const char *const kw[] = {"and", "break", "do", "else", "elseif", "end", "false",
                                     "for", "function", "goto", "if", "in", "local", "nil",
                                     "not", "or", "repeat", "return", "then", "true",
                                     "until", "while", NULL};
    for (int i = 0; kw[i]; i++)
        if (strcmp(kw[i], s) == 0)
            return 1;
    return 0;
}

static void lua_key(struct mg_buf *b, const char *k)
{
    if (lua_keyword(k)) {
        mg_buf_adds(b, "[\"");
        mg_buf_adds(b, k);
        mg_buf_adds(b, "\"]");
    } else {
        mg_buf_adds(b, k);
    }
}

static int duration(struct imp *im, struct mg_buf *b, const struct ynode *m, const char *key,
                    const char *what, const char *indent)
{
    const struct ynode *v = scalar(im, m, key, what);
    if (v == (const struct ynode *)-1)
        return -1;
    if (!v)
        return 0;
    int64_t ms;
    char why[160];
    if (mg_duration_parse(v->s, v->len, &ms, why, sizeof(why)))
        return err(im, v->line, "%s: %s: not a duration: %s", what, key, v->s);
    mg_buf_adds(b, indent);
    lua_key(b, key);
    mg_buf_adds(b, " = ");
    lua_str(b, v->s, v->len);
    mg_buf_adds(b, ",\n");
    return 0;
}

static int kv_table(struct imp *im, struct mg_buf *b, const struct ynode *m, const char *key,
                    const char *what)
{
    const struct ynode *t = get(m, key);
    if (!t || (t->k == Y_SCALAR && t->len == 0))
        return 0;
    if (t->k != Y_MAP)
        return err(im, t->line, "%s: %s must be a mapping", what, key);
    mg_buf_adds(b, "  ");
    mg_buf_adds(b, key);
    mg_buf_adds(b, " = {\n");
    for (size_t i = 0; i + 1 < t->n; i += 2) {
        const struct ynode *k = t->kids[i], *v = t->kids[i + 1];
        if (k->k != Y_SCALAR || v->k != Y_SCALAR)
            return err(im, k->line, "%s: %s: names and values must be strings", what, key);
        if (!mg_label_name_valid(k->s, k->len) || (k->s[0] == '_' && k->s[1] == '_'))
            return err(im, k->line, "%s: %s: %s is not a valid label name", what, key, k->s);
        mg_buf_adds(b, "    ");
        lua_key(b, k->s);
        mg_buf_adds(b, " = ");
        lua_str(b, v->s, v->len);
        mg_buf_adds(b, ",\n");
    }
    mg_buf_adds(b, "  },\n");
    return 0;
}

static int rule(struct imp *im, struct mg_buf *b, const struct ynode *r)
{
    static const char *const keys[] = {"record", "alert", "expr", "for", "keep_firing_for",
                                       "labels", "annotations", NULL};
    if (r->k != Y_MAP)
        return err(im, r->line, "a rule must be a mapping");
    const struct ynode *rec = scalar(im, r, "record", "rule");
    const struct ynode *al = scalar(im, r, "alert", "rule");
    const struct ynode *ex = scalar(im, r, "expr", "rule");
    if (rec == (const struct ynode *)-1 || al == (const struct ynode *)-1 ||
        ex == (const struct ynode *)-1)
        return -1;
    if (!rec == !al)
        return err(im, r->line, "a rule has one of record or alert");
    const struct ynode *name = rec ? rec : al;
    char what[300];
    snprintf(what, sizeof(what), "%s %s", rec ? "record" : "alert", name->s);
    if (only_keys(im, r, what, keys))
        return -1;
    if (rec && !mg_metric_name_valid(rec->s, rec->len))
        return err(im, rec->line, "record: %s is not a valid metric name", rec->s);
    if (!name->len)
        return err(im, name->line, "alert: a name is required");
    if (!ex || !ex->len)
        return err(im, r->line, "%s: expr is required", what);
    if (rec && (get(r, "for") || get(r, "keep_firing_for") || get(r, "annotations")))
        return err(im, r->line, "%s: for, keep_firing_for and annotations are for alerts", what);
    mg_buf_adds(b, "\n");
    mg_buf_adds(b, rec ? "record " : "alert ");
    lua_str(b, name->s, name->len);
    mg_buf_adds(b, " {\n  promql = ");
    size_t el = ex->len;
    while (el && (ex->s[el - 1] == '\n' || ex->s[el - 1] == ' '))
        el--;
    lua_str(b, ex->s, el);
    mg_buf_adds(b, ",\n");
    if (duration(im, b, r, "for", what, "  ") ||
        duration(im, b, r, "keep_firing_for", what, "  ") ||
        kv_table(im, b, r, "labels", what) || kv_table(im, b, r, "annotations", what))
        return -1;
    mg_buf_adds(b, "}\n");
    return 0;
}

/* group { ... } from the first group; the others must agree, since a
 * moongate file is one group. */
static int group_settings(struct imp *im, struct mg_buf *b, const struct ynode *groups)
{
    static const char *const keys[] = {"interval", "query_offset", "limit", NULL};
    const struct ynode *first = groups->kids[0];
    for (size_t g = 1; g < groups->n; g++)
        for (int k = 0; keys[k]; k++) {
            const struct ynode *a = get(first, keys[k]), *o = get(groups->kids[g], keys[k]);
            if ((!a) != (!o) || (a && (a->k != Y_SCALAR || o->k != Y_SCALAR ||
                                       strcmp(a->s, o->s) != 0)))
                return err(im, o ? o->line : groups->kids[g]->line,
                           "group %zu: its %s differs from the first group's; a moongate "
                           "rules file is one group: split the file", g + 1, keys[k]);
        }
    struct mg_buf tmp = {0};
    if (duration(im, &tmp, first, "interval", "group", " ") ||
        duration(im, &tmp, first, "query_offset", "group", " ")) {
        mg_buf_fini(&tmp);
        return -1;
    }
    const struct ynode *lim = get(first, "limit");
    if (lim) {
        char *e;
        long v = lim->k == Y_SCALAR ? strtol(lim->s, &e, 10) : -1;
        if (lim->k != Y_SCALAR || *e || v < 0) {
            mg_buf_fini(&tmp);
            return err(im, lim->line, "group: limit must be a whole number >= 0");
        }
        char num[48];
        snprintf(num, sizeof(num), " limit = %ld,\n", v);
        mg_buf_adds(&tmp, num);
    }
    if (tmp.len) {
        /* one line: group { interval = "30s", limit = 10 } */
        mg_buf_adds(b, "group {");
        for (size_t i = 0; i < tmp.len; i++) {
            if (tmp.p[i] == '\n')
                continue;
            if (tmp.p[i] == ',' && i + 2 >= tmp.len)
                continue;
            mg_buf_addc(b, tmp.p[i]);
        }
        mg_buf_adds(b, " }\n");
    }
    mg_buf_fini(&tmp);
    return 0;
}

static int convert(struct imp *im, struct mg_buf *b, const struct ynode *root)
{
    static const char *const top[] = {"groups", NULL};
    static const char *const gkeys[] = {"name", "interval", "query_offset", "limit", "rules",
                                        NULL};
    if (root->k != Y_MAP)
        return err(im, root->line, "the file must be a mapping with groups");
    if (only_keys(im, root, "file", top))
        return -1;
    const struct ynode *groups = get(root, "groups");
    if (!groups || groups->k != Y_SEQ || !groups->n)
        return err(im, root->line, "groups must be a list of at least one group");
    for (size_t g = 0; g < groups->n; g++) {
        const struct ynode *gr = groups->kids[g];
        if (gr->k != Y_MAP)
            return err(im, gr->line, "a group must be a mapping");
        if (only_keys(im, gr, "group", gkeys))
            return -1;
    }
    mg_buf_adds(b, "-- Converted from ");
    mg_buf_adds(b, im->path);
    mg_buf_adds(b, " by moongate rules import.\n");
    if (group_settings(im, b, groups))
        return -1;
    for (size_t g = 0; g < groups->n; g++) {
        const struct ynode *gr = groups->kids[g];
        const struct ynode *name = get(gr, "name"), *rules = get(gr, "rules");
        if (!name || name->k != Y_SCALAR || !name->len)
            return err(im, gr->line, "a group needs a name");
        mg_buf_adds(b, "\n-- group ");
        mg_buf_adds(b, name->s);
        mg_buf_adds(b, "\n");
        if (!rules || (rules->k == Y_SCALAR && !rules->len))
            continue;
        if (rules->k != Y_SEQ)
            return err(im, rules->line, "group %s: rules must be a list", name->s);
        for (size_t i = 0; i < rules->n; i++)
            if (rule(im, b, rules->kids[i]))
                return -1;
    }
    return 0;
}

int mg_rules_import(const char *path, FILE *out, char *why, size_t whylen)
{
    struct imp im = {path, why, whylen, 0};
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f)
        return snprintf(why, whylen, "%s: %s", path, strerror(errno)), -1;
    if (fstat(fileno(f), &st) != 0 || st.st_size > MAX_BYTES) {
        fclose(f);
        return snprintf(why, whylen, "%s: larger than %u bytes", path, MAX_BYTES), -1;
    }
    yaml_parser_t ps;
    if (!yaml_parser_initialize(&ps)) {
        fclose(f);
        return snprintf(why, whylen, "%s: out of memory", path), -1;
    }
    yaml_parser_set_input_file(&ps, f);
    struct ynode *root = load(&im, &ps);
    yaml_parser_delete(&ps);
    fclose(f);
    if (!root)
        return -1;
    struct mg_buf b = {0};
    int rc = convert(&im, &b, root);
    ynode_free(root);
    if (!rc && b.len && fwrite(b.p, 1, b.len, out) != b.len) {
        snprintf(why, whylen, "write: %s", strerror(errno));
        rc = -1;
    }
    mg_buf_fini(&b);
    return rc;
}
