/* mg_template: the parser, from text to the AST in mg_template_int.h. */
#include "mg_template.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_alloc.h"
#include "mg_template_int.h"

/* ---- the arena: every node and string of one template ---- */

struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
};

static void *arena(struct mg_tmpl *t, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!t->arena || t->arena->cap - t->arena->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        struct chunk *c = mg_malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->next = t->arena;
        c->used = 0;
        c->cap = cap;
        t->arena = c;
    }
    void *p = (char *)t->arena->data + t->arena->used;
    t->arena->used += n;
    memset(p, 0, n);
    return p;
}

void mg_tmpl_free(struct mg_tmpl *t)
{
    if (!t)
        return;
    while (t->arena) {
        struct chunk *c = t->arena;
        t->arena = c->next;
        free(c);
    }
    free(t);
}

/* ---- the parser ---- */

struct parser {
    struct mg_tmpl *t;
    const char *src, *end;
    const char *p;            /* in an action: the cursor */
    const char *aend;         /* in an action: where it ends (before }}) */
    const char *text;         /* the text not yet made a node */
    int trim;                 /* the last action ended with -}} */
    const char *vars[TMPL_MAX_VARS];
    size_t lens[TMPL_MAX_VARS];
    int nvars, depth;
    char *why;
    size_t whylen;
    int nomem;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
    if (ps->why[0])
        return -1; /* the first error is the one to tell */
    int line = 1;
    for (const char *c = ps->src; c < ps->p && c < ps->end; c++)
        line += *c == '\n';
    int k = snprintf(ps->why, ps->whylen, "template: %d: ", line);
    va_list ap;
    va_start(ap, fmt);
    if (k > 0 && (size_t)k < ps->whylen)
        vsnprintf(ps->why + k, ps->whylen - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static void *alloc(struct parser *ps, size_t n)
{
    void *p = arena(ps->t, n);
    if (!p) {
        ps->nomem = 1;
        fail(ps, "out of memory");
    }
    return p;
}

static void skip_space(struct parser *ps)
{
    while (ps->p < ps->aend && isspace((unsigned char)*ps->p))
        ps->p++;
}

static int ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The word at the cursor (letters, digits, _), not consumed. */
static size_t word_len(const struct parser *ps, const char *at)
{
    size_t n = 0;
    while (at + n < ps->aend && ident_char(at[n]))
        n++;
    return n;
}

static int var_find(const struct parser *ps, const char *name, size_t n)
{
    for (int i = ps->nvars - 1; i >= 0; i--)
        if (ps->lens[i] == n && memcmp(ps->vars[i], name, n) == 0)
            return i;
    return -1;
}

static int var_add(struct parser *ps, const char *name, size_t n)
{
    if (ps->nvars == TMPL_MAX_VARS)
        return fail(ps, "more than %d variables", TMPL_MAX_VARS);
    ps->vars[ps->nvars] = name;
    ps->lens[ps->nvars] = n;
    if (ps->nvars + 1 > ps->t->nslots)
        ps->t->nslots = ps->nvars + 1;
    return ps->nvars++;
}

/* .A.B after an operand: the names into arg->chain. */
static int parse_chain(struct parser *ps, struct tmpl_arg *a)
{
    const char *names[TMPL_MAX_CHAIN];
    size_t n = 0;
    while (ps->p < ps->aend && *ps->p == '.' && ps->p + 1 < ps->aend &&
           ident_char(ps->p[1])) {
        size_t wl = word_len(ps, ps->p + 1);
        if (n == TMPL_MAX_CHAIN)
            return fail(ps, "more than %d fields in a chain", TMPL_MAX_CHAIN);
        char *s = alloc(ps, wl + 1);
        if (!s)
            return -1;
        memcpy(s, ps->p + 1, wl);
        names[n++] = s;
        ps->p += 1 + wl;
    }
    if (n) {
        a->chain = alloc(ps, n * sizeof(*a->chain));
        if (!a->chain)
            return -1;
        memcpy(a->chain, names, n * sizeof(*names));
    }
    a->nchain = n;
    return 0;
}

/* A quoted string at the cursor, Go's escapes, into the arena. */
static int parse_string(struct parser *ps, struct tmpl_arg *a)
{
    char q = *ps->p++;
    const char *start = ps->p;
    while (ps->p < ps->aend && *ps->p != q) {
        if (q == '"' && *ps->p == '\\')
            ps->p++;
        ps->p++;
    }
    if (ps->p >= ps->aend)
        return fail(ps, "unterminated quoted string");
    size_t n = (size_t)(ps->p - start);
    char *s = alloc(ps, n + 1);
    if (!s)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = start[i];
        if (q == '"' && c == '\\') {
            c = start[++i];
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '\\': case '"': case '\'': break;
            default:
                return fail(ps, "unknown escape sequence \\%c", c);
            }
        }
        s[k++] = c;
    }
    ps->p++;
    a->k = A_CONST;
    a->c = (struct tmpl_val){.t = V_STR, .s = s, .len = k};
    return 0;
}

static int parse_number(struct parser *ps, struct tmpl_arg *a)
{
    char buf[64], *e;
    size_t n = 0;
    while (ps->p + n < ps->aend && n < sizeof(buf) - 1 &&
           (isalnum((unsigned char)ps->p[n]) || ps->p[n] == '.' || ps->p[n] == '+' ||
            ps->p[n] == '-' || ps->p[n] == '_'))
        n++;
    memcpy(buf, ps->p, n);
    buf[n] = '\0';
    double v = strtod(buf, &e);
    if (*e || e == buf)
        return fail(ps, "bad number syntax: \"%s\"", buf);
    a->k = A_CONST;
    a->c = (struct tmpl_val){.t = V_NUM, .n = v,
                             .isint = !strpbrk(buf, ".eEpP") || strncmp(buf, "0x", 2) == 0};
    ps->p += n;
    return 0;
}

static struct tmpl_pipe *parse_pipe(struct parser *ps, int in_parens, int decl_ok);

/* One operand at the cursor. 1 when there was none (at | ) or the end). */
static int parse_operand(struct parser *ps, struct tmpl_arg *a)
{
    skip_space(ps);
    if (ps->p >= ps->aend || *ps->p == '|' || *ps->p == ')')
        return 1;
    char c = *ps->p;
    if (c == '"' || c == '`')
        return parse_string(ps, a);
    if (isdigit((unsigned char)c) ||
        ((c == '-' || c == '+' || c == '.') && ps->p + 1 < ps->aend &&
         isdigit((unsigned char)ps->p[1])))
        return parse_number(ps, a);
    if (c == '(') {
        ps->p++;
        if (++ps->depth > TMPL_MAX_DEPTH)
            return fail(ps, "nested too deep");
        a->k = A_PIPE;
        if (!(a->sub = parse_pipe(ps, 1, 0)))
            return -1;
        ps->depth--;
        skip_space(ps);
        if (ps->p >= ps->aend || *ps->p != ')')
            return fail(ps, "unclosed left paren");
        ps->p++;
        return parse_chain(ps, a);
    }
    if (c == '.') {
        a->k = ps->p + 1 < ps->aend && ident_char(ps->p[1]) ? A_FIELD : A_DOT;
        if (a->k == A_DOT)
            ps->p++;
        return parse_chain(ps, a);
    }
    if (c == '$') {
        size_t wl = word_len(ps, ps->p + 1);
        a->k = A_VAR;
        a->var = var_find(ps, ps->p, wl + 1);
        if (a->var < 0)
            return fail(ps, "undefined variable \"%.*s\"", (int)wl + 1, ps->p);
        ps->p += 1 + wl;
        return parse_chain(ps, a);
    }
    size_t wl = word_len(ps, ps->p);
    if (!wl)
        return fail(ps, "unexpected \"%c\" in command", c);
    const char *w = ps->p;
    ps->p += wl;
    a->k = A_CONST;
    if (wl == 4 && memcmp(w, "true", 4) == 0)
        a->c = (struct tmpl_val){.t = V_BOOL, .n = 1};
    else if (wl == 5 && memcmp(w, "false", 5) == 0)
        a->c = (struct tmpl_val){.t = V_BOOL, .n = 0};
    else if (wl == 3 && memcmp(w, "nil", 3) == 0)
        a->c = (struct tmpl_val){.t = V_NIL};
    else if ((a->fn = mg_tmpl_func_find(w, wl)) >= 0)
        a->k = A_FUNC;
    else
        return fail(ps, "function \"%.*s\" not defined", (int)wl, w);
    return 0;
}

/* [$x [, $y] := | =] command [| command ...] up to the action's end or a
 * closing paren. */
static struct tmpl_pipe *parse_pipe(struct parser *ps, int in_parens, int decl_ok)
{
    struct tmpl_pipe *pp = alloc(ps, sizeof(*pp));
    if (!pp)
        return NULL;
    skip_space(ps);
    /* a declaration: $a := or $a, $b := (the latter in range only) */
    const char *save = ps->p;
    const char *names[2];
    size_t lens[2];
    int nv = 0;
    while (decl_ok && nv < 2 && ps->p < ps->aend && *ps->p == '$') {
        names[nv] = ps->p;
        lens[nv] = word_len(ps, ps->p + 1) + 1;
        ps->p += lens[nv++];
        skip_space(ps);
        if (ps->p < ps->aend && *ps->p == ',' && nv == 1) {
            ps->p++;
            skip_space(ps);
            continue;
        }
        break;
    }
    if (nv && ps->p + 1 < ps->aend && ps->p[0] == ':' && ps->p[1] == '=') {
        ps->p += 2;
        pp->decl = 1;
    } else if (nv == 1 && ps->p < ps->aend && ps->p[0] == '=' &&
               (ps->p + 1 >= ps->aend || ps->p[1] != '=')) {
        ps->p += 1;
        pp->decl = 2;
    } else {
        ps->p = save;
        nv = 0;
    }
    struct tmpl_cmd cmds[TMPL_MAX_CMDS];
    size_t nc = 0;
    for (;;) {
        struct tmpl_arg args[TMPL_MAX_ARGS];
        size_t na = 0;
        int rc;
        memset(args, 0, sizeof(args));
        while (na < TMPL_MAX_ARGS && (rc = parse_operand(ps, &args[na])) == 0)
            na++;
        if (na == TMPL_MAX_ARGS)
            return fail(ps, "more than %d operands", TMPL_MAX_ARGS), NULL;
        if (rc < 0)
            return NULL;
        if (!na)
            return fail(ps, "missing value for command"), NULL;
        if (nc == TMPL_MAX_CMDS)
            return fail(ps, "more than %d commands in a pipeline", TMPL_MAX_CMDS), NULL;
        if (args[0].k != A_FUNC && na > 1)
            return fail(ps, "can't give argument to non-function"), NULL;
        cmds[nc].args = alloc(ps, na * sizeof(*args));
        if (!cmds[nc].args)
            return NULL;
        memcpy(cmds[nc].args, args, na * sizeof(*args));
        cmds[nc++].nargs = na;
        skip_space(ps);
        if (ps->p < ps->aend && *ps->p == '|') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->aend && *ps->p == ')' && in_parens)
            break;
        if (ps->p < ps->aend)
            return fail(ps, "unexpected \"%c\" in operand", *ps->p), NULL;
        break;
    }
    for (size_t i = 1; i < nc; i++)
        if (cmds[i].args[0].k != A_FUNC)
            return fail(ps, "non executable command in pipeline stage %zu", i + 1), NULL;
    pp->cmds = alloc(ps, nc * sizeof(*cmds));
    if (!pp->cmds)
        return NULL;
    memcpy(pp->cmds, cmds, nc * sizeof(*cmds));
    pp->ncmds = nc;
    /* declared after the pipeline, as Go scopes them */
    for (int i = 0; i < nv; i++) {
        int slot = pp->decl == 2 ? var_find(ps, names[i], lens[i]) : var_add(ps, names[i], lens[i]);
        if (slot < 0 && pp->decl == 2)
            fail(ps, "undefined variable \"%.*s\"", (int)lens[i], names[i]);
        if (slot < 0)
            return NULL;
        pp->vars[i] = slot;
    }
    pp->nvars = nv;
    return pp;
}

/* ---- actions and the list of nodes ---- */

enum stop { S_EOF, S_END, S_ELSE, S_ELSE_IF };

static struct tmpl_node *node(struct parser *ps, enum tmpl_nk k)
{
    struct tmpl_node *n = alloc(ps, sizeof(*n));
    if (n)
        n->k = k;
    return n;
}

/* The next action: sets ps->p/aend to its inside, ps->text to the text
 * before it (trimmed), returns that text's length, or -1 at the end. */
static int next_action(struct parser *ps, const char **text, size_t *tlen)
{
    const char *s = ps->text;
    if (ps->trim)
        while (s < ps->end && isspace((unsigned char)*s))
            s++;
    ps->trim = 0;
    const char *open = s;
    while (open + 1 < ps->end && !(open[0] == '{' && open[1] == '{'))
        open++;
    if (open + 1 >= ps->end) {
        *text = s;
        *tlen = (size_t)(ps->end - s);
        ps->text = ps->end;
        return -1;
    }
    const char *in = open + 2, *tend = open;
    if (in + 1 < ps->end && in[0] == '-' && isspace((unsigned char)in[1])) {
        in += 2;
        while (tend > s && isspace((unsigned char)tend[-1]))
            tend--;
    }
    *text = s;
    *tlen = (size_t)(tend - s);
    /* the close, skipping quoted strings */
    const char *c = in;
    while (c + 1 < ps->end && !(c[0] == '}' && c[1] == '}')) {
        if (*c == '"' || *c == '`') {
            char q = *c++;
            while (c < ps->end && *c != q && *c != '\n') {
                if (q == '"' && *c == '\\' && c + 1 < ps->end)
                    c++;
                c++;
            }
            if (c >= ps->end)
                break;
        }
        c++;
    }
    ps->p = in;
    if (c + 1 >= ps->end) {
        ps->aend = ps->end;
        return fail(ps, "unclosed action"), -2;
    }
    ps->aend = c;
    ps->text = c + 2;
    if (c - 1 >= in && c[-1] == '-' && c - 2 >= in && isspace((unsigned char)c[-2])) {
        ps->aend = c - 2;
        ps->trim = 1;
    }
    return 0;
}

static int keyword(struct parser *ps, const char *w)
{
    size_t n = strlen(w);
    skip_space(ps);
    if ((size_t)(ps->aend - ps->p) >= n && memcmp(ps->p, w, n) == 0 &&
        (ps->p + n == ps->aend || !ident_char(ps->p[n]))) {
        ps->p += n;
        return 1;
    }
    return 0;
}

static struct tmpl_node *parse_list(struct parser *ps, enum stop *stop);

/* if, range, with: the pipeline, the body, else branches, end. */
static struct tmpl_node *parse_block(struct parser *ps, enum tmpl_nk k)
{
    struct tmpl_node *n = node(ps, k);
    if (!n)
        return NULL;
    if (++ps->depth > TMPL_MAX_DEPTH) {
        fail(ps, "nested too deep");
        return NULL;
    }
    int scope = ps->nvars;
    if (!(n->pipe = parse_pipe(ps, 0, 1)))
        return NULL;
    if (k != N_RANGE && n->pipe->nvars > 1)
        return fail(ps, "too many declarations"), NULL;
    enum stop stop;
    n->body = parse_list(ps, &stop);
    if (ps->why[0])
        return NULL;
    ps->nvars = scope;
    if (stop == S_ELSE_IF) {
        if (k != N_IF)
            return fail(ps, "else if in %s", k == N_RANGE ? "range" : "with"), NULL;
        /* {{else if x}} is an if inside the else, closed by the one end */
        if (!(n->els = parse_block(ps, N_IF)))
            return NULL;
    } else if (stop == S_ELSE) {
        n->els = parse_list(ps, &stop);
        if (ps->why[0])
            return NULL;
        ps->nvars = scope;
        if (stop != S_END)
            return fail(ps, "expected end; found %s", stop == S_EOF ? "EOF" : "else"), NULL;
    } else if (stop != S_END) {
        return fail(ps, "unexpected EOF"), NULL;
    }
    n->nvars_after = scope;
    ps->depth--;
    return n;
}

static struct tmpl_node *parse_list(struct parser *ps, enum stop *stop)
{
    struct tmpl_node *head = NULL, **tail = &head;
    for (;;) {
        const char *text;
        size_t tlen;
        int rc = next_action(ps, &text, &tlen);
        if (rc == -2)
            return NULL;
        if (tlen) {
            struct tmpl_node *t = node(ps, N_TEXT);
            if (!t)
                return NULL;
            t->text = text;
            t->len = tlen;
            *tail = t;
            tail = &t->next;
        }
        if (rc == -1) {
            *stop = S_EOF;
            return head;
        }
        skip_space(ps);
        if (ps->p + 1 < ps->aend && ps->p[0] == '/' && ps->p[1] == '*') {
            if (ps->aend - ps->p < 4 || memcmp(ps->aend - 2, "*/", 2) != 0)
                return fail(ps, "unclosed comment"), NULL;
            continue;
        }
        struct tmpl_node *n = NULL;
        if (keyword(ps, "end")) {
            *stop = S_END;
        } else if (keyword(ps, "else")) {
            *stop = keyword(ps, "if") ? S_ELSE_IF : S_ELSE;
        } else if (keyword(ps, "if")) {
            n = parse_block(ps, N_IF);
        } else if (keyword(ps, "range")) {
            n = parse_block(ps, N_RANGE);
        } else if (keyword(ps, "with")) {
            n = parse_block(ps, N_WITH);
        } else if (keyword(ps, "define") || keyword(ps, "template") ||
                   keyword(ps, "block") || keyword(ps, "break") || keyword(ps, "continue")) {
            return fail(ps, "this action is not supported"), NULL;
        } else {
            if ((n = node(ps, N_ACTION)) && !(n->pipe = parse_pipe(ps, 0, 1)))
                return NULL;
        }
        if (ps->why[0])
            return NULL;
        if (!n) {
            skip_space(ps);
            if (*stop == S_ELSE_IF)
                return head; /* the cursor is on the condition */
            if (ps->p < ps->aend)
                return fail(ps, "unexpected \"%c\" after %s", *ps->p,
                            *stop == S_END ? "end" : "else"), NULL;
            return head;
        }
        *tail = n;
        tail = &n->next;
    }
}

int mg_tmpl_compile(const char *src, size_t n, struct mg_tmpl **out, char *why,
                    size_t whylen)
{
    struct mg_tmpl *t = mg_calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    why[0] = '\0';
    /* the text nodes point into the template's own copy */
    char *copy = arena(t, n + 1);
    if (!copy) {
        mg_tmpl_free(t);
        return -ENOMEM;
    }
    memcpy(copy, src, n);
    struct parser ps = {.t = t, .src = copy, .end = copy + n, .text = copy, .why = why,
                        .whylen = whylen};
    /* Prometheus defines these before every alert template */
    static const char *const pre[] = {"$", "$labels", "$externalLabels", "$externalURL",
                                      "$value"};
    for (size_t i = 0; i < 5; i++)
        var_add(&ps, pre[i], strlen(pre[i]));
    enum stop stop = S_EOF;
    t->root = parse_list(&ps, &stop);
    if (!why[0] && stop != S_EOF)
        fail(&ps, "unexpected {{%s}}", stop == S_END ? "end" : "else");
    if (why[0]) {
        int rc = ps.nomem ? -ENOMEM : -EINVAL;
        mg_tmpl_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int mg_template_expand(const char *tmpl, const struct mg_label *labels,
                       size_t n, double value, char *out, size_t len)
{
    struct mg_tmpl *t;
    char why[200];
    int rc = mg_tmpl_compile(tmpl, strlen(tmpl), &t, why, sizeof(why));
    if (rc) {
        snprintf(out, len, "<error expanding template: %s>",
                 rc == -ENOMEM ? "out of memory" : why);
        return -1;
    }
    struct mg_tmpl_data d = {.labels = labels, .nlabels = n, .value = value};
    rc = mg_tmpl_expand(t, &d, out, len);
    mg_tmpl_free(t);
    return rc;
}
