/* mg_relabel: Prometheus's model/relabel (relabel.go) in C: the checks of
 * Config.UnmarshalYAML and Config.Validate at compile time, ProcessBuilder
 * over an mg_lbuild at apply time. Label names follow the legacy scheme
 * ([a-zA-Z_][a-zA-Z0-9_]*), as the wire format does. */
#include "mg_relabel.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "mg_md5.h"
#include "mg_regex.h"
#include "mg_suggest.h"
#include "mg_utf8.h"

/* How much of a config string a message quotes. */
#define QUOTE_MAX 40

enum action {
    A_REPLACE,
    A_KEEP,
    A_DROP,
    A_KEEPEQUAL,
    A_DROPEQUAL,
    A_HASHMOD,
    A_LABELMAP,
    A_LABELDROP,
    A_LABELKEEP,
    A_LOWERCASE,
    A_UPPERCASE,
    A_COUNT
};

static const char *const action_names[A_COUNT] = {
    "replace",  "keep",      "drop",      "keepequal", "dropequal", "hashmod",
    "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase",
};

enum field {
    F_SOURCE_LABELS,
    F_SEPARATOR,
    F_REGEX,
    F_MODULUS,
    F_TARGET_LABEL,
    F_REPLACEMENT,
    F_ACTION,
    F_COUNT
};

static const char *const field_names[F_COUNT + 1] = {
    "source_labels", "separator",   "regex",  "modulus",
    "target_label",  "replacement", "action", NULL,
};

#define DEFAULT_SEPARATOR ";"
#define DEFAULT_REGEX "(.*)"
#define DEFAULT_REPLACEMENT "$1"

struct str {
    char *p;
    size_t n;
};

struct step {
    enum action act;
    struct str *src;
    size_t nsrc;
    struct str sep, regex, target, repl;
    uint64_t modulus;
    int regex_default;
    int target_var, repl_var; /* the string holds a '$' */
    int literal;              /* regex is plain text: matching is equality */
    int copy;                 /* replace with "(.*)" and "$1": the value as is */
    int group1;               /* replacement is "$1" or "${1}": a part of the value */
    size_t hint;              /* its first slot in scratch's hints */
    struct mg_regex *re;      /* NULL for keepequal and dropequal */
    struct mg_retmpl *ttmpl;  /* replace with a $ in target_label */
    struct mg_retmpl *rtmpl;  /* replace and labelmap */
};

/* What apply reuses so that a warm call allocates nothing beyond the
 * builder; the reason a plan serves one thread at a time. */
struct scratch {
    struct mg_rematch *m;
    struct mg_rebuf val, tgt, rep;
    struct mg_label *snap;
    size_t snapcap;
    /* Where each step's source labels, then its target, were found last
     * time: new series mostly share one label layout, so the next lookup
     * checks that slot before scanning. */
    size_t *hints;
    locale_t loc; /* C.UTF-8 for lowercase and uppercase; 0: ASCII only */
};

struct mg_relabel {
    struct step *steps;
    size_t n;
    struct scratch *sc;
};

static int quote_len(size_t n)
{
    return (int)(n > QUOTE_MAX ? QUOTE_MAX : n);
}

static int str_is(const struct str *s, const char *lit)
{
    return s->n == strlen(lit) && memcmp(s->p, lit, s->n) == 0;
}

static int has_var(const struct str *s)
{
    return memchr(s->p, '$', s->n) != NULL;
}

/* A regex of only these characters matches, anchored, exactly itself. */
static int is_literal(const struct str *s)
{
    if (s->n == 0)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        unsigned char c = (unsigned char)s->p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-' ||
              c == '/'))
            return 0;
    }
    return 1;
}

/* ASCII is valid UTF-8: where PCRE2 could refuse a subject as not UTF-8,
 * the shortcuts below take only ASCII and leave the rest to the regex. */
static int is_ascii(const char *s, size_t n)
{
    return mg_utf8_ascii(s, n);
}

static int is_word(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/* Prometheus's relabelTargetLegacy,
 * ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$ : word characters and $var or
 * ${var} references, not starting with a digit. */
static int legacy_template_ok(const struct str *s)
{
    size_t i = 0;
    if (s->n == 0)
        return 0;
    while (i < s->n) {
        char c = s->p[i];
        if (c == '$') {
            size_t k = i + 1, from;
            int brace = k < s->n && s->p[k] == '{';
            from = k += (size_t)brace;
            while (k < s->n && is_word((unsigned char)s->p[k]))
                k++;
            if (k == from)
                return 0;
            if (brace) {
                if (k >= s->n || s->p[k] != '}')
                    return 0;
                k++;
            }
            i = k;
        } else if (is_word((unsigned char)c) &&
                   !(i == 0 && c >= '0' && c <= '9')) {
            i++;
        } else {
            return 0;
        }
    }
    return 1;
}

__attribute__((format(printf, 5, 6)))
static int fail_at(char *why, size_t whylen, size_t k, int field,
                   const char *fmt, ...)
{
    int n;
    if (field >= 0)
        n = snprintf(why, whylen, "relabel[%zu].%s: ", k, field_names[field]);
    else
        n = snprintf(why, whylen, "relabel[%zu]", k);
    if (n >= 0 && (size_t)n < whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why + n, whylen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int nomem(char *why, size_t whylen)
{
    snprintf(why, whylen, "relabel: out of memory");
    return -ENOMEM;
}

static int str_set(struct str *s, const char *p, size_t n)
{
    free(s->p);
    s->p = malloc(n + 1);
    if (!s->p) {
        s->n = 0;
        return -ENOMEM;
    }
    if (n)
        memcpy(s->p, p, n);
    s->p[n] = '\0';
    s->n = n;
    return 0;
}

static void step_fini(struct step *st)
{
    for (size_t i = 0; i < st->nsrc; i++)
        free(st->src[i].p);
    free(st->src);
    free(st->sep.p);
    free(st->regex.p);
    free(st->target.p);
    free(st->repl.p);
    mg_regex_free(st->re);
    mg_retmpl_free(st->ttmpl);
    mg_retmpl_free(st->rtmpl);
}

/* Is the value at index i a Lua sequence 1..n and nothing else? */
static int is_sequence(lua_State *L, int i, size_t *n)
{
    size_t len = lua_rawlen(L, i), count = 0;
    lua_pushnil(L);
    while (lua_next(L, i)) {
        lua_pop(L, 1);
        lua_Integer k;
        if (!lua_isinteger(L, -1) || (k = lua_tointeger(L, -1)) < 1 ||
            (lua_Unsigned)k > len) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    *n = len;
    return count == len;
}

/* A string field, or its default when absent. */
static int get_string(lua_State *L, int slot, size_t k, int field,
                      const char *def, struct str *out, char *why,
                      size_t whylen)
{
    const char *p = def;
    size_t n = strlen(def);
    int t = lua_type(L, slot);
    if (t == LUA_TSTRING) {
        p = lua_tolstring(L, slot, &n);
        if (!mg_utf8_valid(p, n))
            return fail_at(why, whylen, k, field, "not valid UTF-8");
    } else if (t != LUA_TNIL) {
        return fail_at(why, whylen, k, field, "must be a string, got %s",
                       lua_typename(L, t));
    }
    return str_set(out, p, n) < 0 ? nomem(why, whylen) : 0;
}

static int get_source_labels(lua_State *L, int slot, size_t k,
                             struct step *st, char *why, size_t whylen)
{
    int t = lua_type(L, slot);
    size_t n;
    if (t == LUA_TNIL)
        return 0;
    if (t != LUA_TTABLE || !is_sequence(L, slot, &n))
        return fail_at(why, whylen, k, F_SOURCE_LABELS,
                       "must be a list of label names, got %s",
                       t == LUA_TTABLE ? "a table with other keys"
                                       : lua_typename(L, t));
    if (n == 0)
        return 0;
    st->src = calloc(n, sizeof(*st->src));
    if (!st->src)
        return nomem(why, whylen);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, slot, (lua_Integer)(i + 1));
        size_t len;
        const char *name;
        if (lua_type(L, -1) != LUA_TSTRING) {
            int et = lua_type(L, -1);
            lua_pop(L, 1);
            return fail_at(why, whylen, k, F_SOURCE_LABELS,
                           "[%zu] must be a string, got %s", i + 1,
                           lua_typename(L, et));
        }
        name = lua_tolstring(L, -1, &len);
        if (!mg_label_name_valid(name, len)) {
            fail_at(why, whylen, k, F_SOURCE_LABELS,
                    "\"%.*s\" is not a valid label name", quote_len(len),
                    name);
            lua_pop(L, 1);
            return -EINVAL;
        }
        int rc = str_set(&st->src[i], name, len);
        lua_pop(L, 1);
        st->nsrc = i + 1;
        if (rc < 0)
            return nomem(why, whylen);
    }
    return 0;
}

static int get_modulus(lua_State *L, int slot, size_t k, struct step *st,
                       char *why, size_t whylen)
{
    int t = lua_type(L, slot), exact;
    if (t == LUA_TNIL)
        return 0;
    if (t != LUA_TNUMBER)
        return fail_at(why, whylen, k, F_MODULUS,
                       "must be a non-negative integer, got %s",
                       lua_typename(L, t));
    lua_Integer v = lua_tointegerx(L, slot, &exact);
    if (!exact || v < 0)
        return fail_at(why, whylen, k, F_MODULUS,
                       "must be a non-negative integer");
    st->modulus = (uint64_t)v;
    return 0;
}

static int get_action(lua_State *L, int slot, size_t k, struct step *st,
                      char *why, size_t whylen)
{
    int t = lua_type(L, slot);
    size_t n;
    st->act = A_REPLACE;
    if (t == LUA_TNIL)
        return 0;
    if (t != LUA_TSTRING)
        return fail_at(why, whylen, k, F_ACTION, "must be a string, got %s",
                       lua_typename(L, t));
    const char *s = lua_tolstring(L, slot, &n);
    if (n == 0)
        return fail_at(why, whylen, k, F_ACTION,
                       "relabel action cannot be empty");
    /* Prometheus lower-cases the action before looking it up. */
    for (int a = 0; a < A_COUNT; a++) {
        size_t i = 0;
        if (strlen(action_names[a]) != n)
            continue;
        while (i < n) {
            char c = s[i];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != action_names[a][i])
                break;
            i++;
        }
        if (i == n) {
            st->act = (enum action)a;
            return 0;
        }
    }
    return fail_at(why, whylen, k, F_ACTION, "unknown relabel action \"%.*s\"",
                   quote_len(n), s);
}

/* Config.Validate, in its order, for the legacy name scheme. A field equal
 * to its default counts as unset. */
static int validate(const struct step *st, size_t k, char *why,
                    size_t whylen)
{
    enum action a = st->act;
    const char *an = action_names[a];
    /* The actions that write or compare one fixed target label. */
    int fixed = a == A_LOWERCASE || a == A_UPPERCASE || a == A_KEEPEQUAL ||
                a == A_DROPEQUAL;
    int target_ok = mg_label_name_valid(st->target.p, st->target.n);

    if (a == A_HASHMOD && st->modulus == 0)
        return fail_at(why, whylen, k, F_MODULUS,
                       "relabel configuration for hashmod requires non-zero "
                       "modulus");
    if ((fixed || a == A_REPLACE || a == A_HASHMOD) && st->target.n == 0)
        return fail_at(why, whylen, k, F_TARGET_LABEL,
                       "relabel configuration for %s action requires "
                       "'target_label' value", an);
    if (a == A_REPLACE && !st->target_var && !target_ok)
        goto bad_target;
    if (a == A_REPLACE && st->target_var && !legacy_template_ok(&st->target))
        goto bad_target;
    if (fixed && !target_ok)
        goto bad_target;
    if (fixed && !str_is(&st->repl, DEFAULT_REPLACEMENT))
        return fail_at(why, whylen, k, F_REPLACEMENT,
                       "'replacement' can not be set for %s action", an);
    if (a == A_LABELMAP && !legacy_template_ok(&st->repl))
        return fail_at(why, whylen, k, F_REPLACEMENT,
                       "\"%.*s\" is invalid 'replacement' for %s action",
                       quote_len(st->repl.n), st->repl.p, an);
    if (a == A_HASHMOD && !target_ok)
        goto bad_target;
    if (a == A_KEEPEQUAL || a == A_DROPEQUAL) {
        int f = !st->regex_default ? F_REGEX
                : st->modulus ? F_MODULUS
                : !str_is(&st->sep, DEFAULT_SEPARATOR) ? F_SEPARATOR
                : !str_is(&st->repl, DEFAULT_REPLACEMENT) ? F_REPLACEMENT
                : -1;
        if (f >= 0)
            return fail_at(why, whylen, k, f,
                           "%s action requires only 'source_labels' and "
                           "`target_label`, and no other fields", an);
    }
    if (a == A_LABELDROP || a == A_LABELKEEP) {
        int f = st->nsrc ? F_SOURCE_LABELS
                : st->target.n ? F_TARGET_LABEL
                : st->modulus ? F_MODULUS
                : !str_is(&st->sep, DEFAULT_SEPARATOR) ? F_SEPARATOR
                : !str_is(&st->repl, DEFAULT_REPLACEMENT) ? F_REPLACEMENT
                : -1;
        if (f >= 0)
            return fail_at(why, whylen, k, f,
                           "%s action requires only 'regex', and no other "
                           "fields", an);
    }
    return 0;

bad_target:
    return fail_at(why, whylen, k, F_TARGET_LABEL,
                   "\"%.*s\" is invalid 'target_label' for %s action",
                   quote_len(st->target.n), st->target.p, an);
}

/* Compiles the regex as Prometheus's NewRegexp does: ^(?s:REGEX)$, parsed
 * whole, so a ")" in REGEX closes the wrapper there too. The message
 * quotes the regex as the user wrote it. */
static int compile_regex(struct step *st, size_t k, char *why, size_t whylen)
{
    char msg[160];
    int rc = mg_regex_compile_anchored(st->regex.p, st->regex.n, &st->re, msg,
                                       sizeof(msg));
    if (rc == -ENOMEM)
        return nomem(why, whylen);
    if (rc < 0)
        return fail_at(why, whylen, k, F_REGEX, "\"%.*s\": %s",
                       quote_len(st->regex.n), st->regex.p, msg);
    return 0;
}

static int compile_step(lua_State *L, int cfg, size_t k, struct step *st,
                        char *why, size_t whylen)
{
    int base = lua_gettop(L), rc;

    if (!lua_checkstack(L, F_COUNT + 4))
        return nomem(why, whylen);
    /* One slot per field, filled in a single pass over the table so that an
     * unknown key is seen and nothing is looked up by a pushed string. */
    for (int f = 0; f < F_COUNT; f++)
        lua_pushnil(L);
    lua_pushnil(L);
    while (lua_next(L, cfg)) {
        int f;
        if (lua_type(L, -2) != LUA_TSTRING)
            return fail_at(why, whylen, k, -1,
                           ": field names must be strings, got %s",
                           lua_typename(L, lua_type(L, -2)));
        size_t kl;
        const char *key = lua_tolstring(L, -2, &kl);
        for (f = 0; f < F_COUNT; f++)
            if (strlen(field_names[f]) == kl &&
                memcmp(field_names[f], key, kl) == 0)
                break;
        if (f == F_COUNT) {
            char msg[160];
            return fail_at(why, whylen, k, -1, ": %s",
                           mg_suggest_unknown(msg, sizeof(msg), key, kl,
                                              field_names));
        }
        lua_copy(L, -1, base + 1 + f);
        lua_pop(L, 1);
    }

#define SLOT(f) (base + 1 + (f))
    if ((rc = get_source_labels(L, SLOT(F_SOURCE_LABELS), k, st, why,
                                whylen)) ||
        (rc = get_string(L, SLOT(F_SEPARATOR), k, F_SEPARATOR,
                         DEFAULT_SEPARATOR, &st->sep, why, whylen)) ||
        (rc = get_string(L, SLOT(F_REGEX), k, F_REGEX, DEFAULT_REGEX,
                         &st->regex, why, whylen)) ||
        (rc = get_modulus(L, SLOT(F_MODULUS), k, st, why, whylen)) ||
        (rc = get_string(L, SLOT(F_TARGET_LABEL), k, F_TARGET_LABEL, "",
                         &st->target, why, whylen)) ||
        (rc = get_string(L, SLOT(F_REPLACEMENT), k, F_REPLACEMENT,
                         DEFAULT_REPLACEMENT, &st->repl, why, whylen)) ||
        (rc = get_action(L, SLOT(F_ACTION), k, st, why, whylen)))
        return rc;
#undef SLOT

    st->regex_default = str_is(&st->regex, DEFAULT_REGEX);
    st->target_var = has_var(&st->target);
    st->repl_var = has_var(&st->repl);
    st->literal = is_literal(&st->regex);
    st->copy = st->regex_default && !st->target_var &&
               str_is(&st->repl, DEFAULT_REPLACEMENT);
    st->group1 = str_is(&st->repl, "$1") || str_is(&st->repl, "${1}");
    if (st->act != A_KEEPEQUAL && st->act != A_DROPEQUAL &&
        (rc = compile_regex(st, k, why, whylen)) != 0)
        return rc;
    if ((rc = validate(st, k, why, whylen)) != 0)
        return rc;
    if (st->act == A_REPLACE && st->target_var &&
        mg_retmpl_compile(st->target.p, st->target.n, st->re, &st->ttmpl) < 0)
        return nomem(why, whylen);
    if ((st->act == A_REPLACE || st->act == A_LABELMAP) &&
        mg_retmpl_compile(st->repl.p, st->repl.n, st->re, &st->rtmpl) < 0)
        return nomem(why, whylen);
    return 0;
}

/* The configs Prometheus accepts that rarely do what their author meant;
 * each is a warning, never a refusal. */
static void traps(const struct step *st, size_t k, mg_relabel_report_fn fn,
                  void *ctx)
{
    enum action a = st->act;
    char msg[256];

    if (!fn)
        return;
    if ((a == A_DROP || a == A_KEEP) && st->nsrc && st->regex_default) {
        snprintf(msg, sizeof(msg),
                 "relabel[%zu]: %s with source_labels and the default regex "
                 "(.*) matches every value, even a missing label, so it %s "
                 "every series; set regex (\".+\" matches a label that is set)",
                 k, action_names[a], a == A_DROP ? "drops" : "keeps");
        fn(ctx, k, 1, msg);
    }
    if ((a == A_DROP || a == A_KEEP) && !st->nsrc && !st->regex_default) {
        snprintf(msg, sizeof(msg),
                 "relabel[%zu]: %s with a regex but no source_labels matches "
                 "the regex against \"\" for every series; name the labels "
                 "in source_labels (source_labels = {\"__name__\"} for the "
                 "metric name)", k, action_names[a]);
        fn(ctx, k, 1, msg);
    }
    if ((a == A_LABELDROP || a == A_LABELKEEP) && st->regex_default) {
        snprintf(msg, sizeof(msg),
                 "relabel[%zu]: %s with the default regex (.*) %s every "
                 "label; set regex to the label names", k, action_names[a],
                 a == A_LABELDROP ? "drops" : "keeps");
        fn(ctx, k, 1, msg);
    }
}

static int alloc_hints(struct mg_relabel *rl)
{
    size_t total = 0;
    for (size_t k = 0; k < rl->n; k++) {
        rl->steps[k].hint = total;
        total += rl->steps[k].nsrc + 1;
    }
    rl->sc->hints = calloc(total ? total : 1, sizeof(*rl->sc->hints));
    return rl->sc->hints ? 0 : -ENOMEM;
}

int mg_relabel_compile(lua_State *L, int idx, struct mg_relabel **out,
                       char *why, size_t whylen)
{
    return mg_relabel_compile_each(L, idx, out, NULL, NULL, why, whylen);
}

int mg_relabel_compile_each(lua_State *L, int idx, struct mg_relabel **out,
                            mg_relabel_report_fn fn, void *ctx, char *why,
                            size_t whylen)
{
    struct mg_relabel *rl = NULL;
    int top = lua_gettop(L), rc = 0, has_case = 0, failed = 0;
    size_t n;

    *out = NULL;
    idx = lua_absindex(L, idx);
    if (!lua_checkstack(L, 4))
        return nomem(why, whylen);
    if (lua_type(L, idx) != LUA_TTABLE || !is_sequence(L, idx, &n)) {
        int t = lua_type(L, idx);
        snprintf(why, whylen,
                 "relabel: must be a list of relabel configs, got %s",
                 t == LUA_TTABLE ? "a table with other keys"
                                 : lua_typename(L, t));
        return -EINVAL;
    }
    rl = calloc(1, sizeof(*rl));
    if (!rl || !(rl->sc = calloc(1, sizeof(*rl->sc))) ||
        !(rl->steps = calloc(n ? n : 1, sizeof(*rl->steps))) ||
        !(rl->sc->m = mg_rematch_new())) {
        rc = nomem(why, whylen);
        goto fail;
    }
    for (size_t k = 1; k <= n; k++) {
        struct step *st = &rl->steps[k - 1];
        rl->n = k; /* so that free releases a half-built step */
        lua_rawgeti(L, idx, (lua_Integer)k);
        if (lua_type(L, -1) != LUA_TTABLE)
            rc = fail_at(why, whylen, k, -1, ": must be a table, got %s",
                         lua_typename(L, lua_type(L, -1)));
        else
            rc = compile_step(L, lua_gettop(L), k, st, why, whylen);
        lua_settop(L, top);
        if (rc == -ENOMEM || (rc && !fn))
            goto fail;
        if (rc) {
            /* the next config still compiles, so every bad one is told */
            fn(ctx, k, 0, why);
            failed = 1;
            continue;
        }
        traps(st, k, fn, ctx);
        has_case |= st->act == A_LOWERCASE || st->act == A_UPPERCASE;
    }
    if (failed) {
        rc = -EINVAL;
        goto fail;
    }
    if ((rc = alloc_hints(rl)) != 0) {
        rc = nomem(why, whylen);
        goto fail;
    }
    /* Go's strings.ToLower maps every Unicode letter; the C.UTF-8 locale's
     * tables do the same, with ASCII as the fallback if it is missing. */
    if (has_case)
        rl->sc->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    *out = rl;
    return 0;

fail:
    lua_settop(L, top);
    mg_relabel_free(rl);
    return rc;
}

void mg_relabel_free(struct mg_relabel *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; rl->steps && i < rl->n; i++)
        step_fini(&rl->steps[i]);
    free(rl->steps);
    if (rl->sc) {
        mg_rematch_free(rl->sc->m);
        mg_rebuf_fini(&rl->sc->val);
        mg_rebuf_fini(&rl->sc->tgt);
        mg_rebuf_fini(&rl->sc->rep);
        free(rl->sc->snap);
        free(rl->sc->hints);
        if (rl->sc->loc)
            freelocale(rl->sc->loc);
        free(rl->sc);
    }
    free(rl);
}

size_t mg_relabel_count(const struct mg_relabel *rl)
{
    return rl ? rl->n : 0;
}

/* ---- apply ---- */

/* mg_lbuild_get that tries the slot in *hint first (names in a builder
 * are unique, so a hit there is the answer) and remembers where it found
 * the label. hint NULL: no hint. */
static const struct mg_label *lookup(const struct mg_lbuild *lb,
                                     const char *name, size_t nlen,
                                     size_t *hint)
{
    if (hint && *hint < lb->n) {
        const struct mg_label *l = &lb->v[*hint];
        if (l->nlen == nlen && (nlen == 0 || l->name[0] == name[0]) &&
            mg_label_bytes_eq(l->name, name, nlen))
            return l;
    }
    const struct mg_label *l = mg_lbuild_get(lb, name, nlen);
    if (l && hint)
        *hint = (size_t)(l - lb->v);
    return l;
}

static void get_value(const struct mg_lbuild *lb, const struct str *name,
                      size_t *hint, const char **v, size_t *n)
{
    const struct mg_label *l = lookup(lb, name->p, name->n, hint);
    *v = l ? l->value : "";
    *n = l ? l->vlen : 0;
}

/* The source values joined by the separator. One source label is read in
 * place: the builder's strings stay put until its next reset. */
static int join(const struct step *st, struct scratch *sc,
                const struct mg_lbuild *lb, const char **val, size_t *vlen)
{
    struct mg_rebuf *b = &sc->val;
    size_t *hints = sc->hints + st->hint;
    if (st->nsrc == 1) {
        get_value(lb, &st->src[0], &hints[0], val, vlen);
        return 0;
    }
    b->len = 0;
    for (size_t i = 0; i < st->nsrc; i++) {
        const char *v;
        size_t n;
        get_value(lb, &st->src[i], &hints[i], &v, &n);
        if ((i && mg_rebuf_add_short(b, st->sep.p, st->sep.n) < 0) ||
            mg_rebuf_add_short(b, v, n) < 0)
            return -ENOMEM;
    }
    *val = b->len ? b->p : "";
    *vlen = b->len;
    return 0;
}

static int utf8_add(struct mg_rebuf *b, uint32_t c)
{
    unsigned char o[4];
    size_t n;
    if (c < 0x80) {
        o[0] = (unsigned char)c;
        n = 1;
    } else if (c < 0x800) {
        o[0] = (unsigned char)(0xc0 | c >> 6);
        o[1] = (unsigned char)(0x80 | (c & 0x3f));
        n = 2;
    } else if (c < 0x10000) {
        o[0] = (unsigned char)(0xe0 | c >> 12);
        o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (c & 0x3f));
        n = 3;
    } else {
        o[0] = (unsigned char)(0xf0 | c >> 18);
        o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
        o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
        o[3] = (unsigned char)(0x80 | (c & 0x3f));
        n = 4;
    }
    return mg_rebuf_add(b, o, n);
}

/* Go's strings.ToLower/ToUpper: simple Unicode case mapping per rune; an
 * invalid byte becomes U+FFFD. */
static int casemap(locale_t loc, int upper, const char *s, size_t n,
                   struct mg_rebuf *out)
{
    out->len = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t len = mg_utf8_next(s + i, n - i, &c);
        if (c < 0x80) {
            if (upper && c >= 'a' && c <= 'z')
                c -= 'a' - 'A';
            else if (!upper && c >= 'A' && c <= 'Z')
                c += 'a' - 'A';
        } else if (loc) {
            wint_t w = upper ? towupper_l((wint_t)c, loc)
                             : towlower_l((wint_t)c, loc);
            c = (uint32_t)w;
        }
        if (utf8_add(out, c) < 0)
            return -ENOMEM;
        i += len;
    }
    return 0;
}

/* mg_lbuild_set for a value that already lives in the builder (a source
 * label's value, or a part of one): those bytes stay put until the
 * builder's reset, so only a new name is copied. 1 or -ENOMEM. */
static int set_owned_value(struct mg_lbuild *lb, const char *name,
                           size_t nlen, size_t *hint, const char *value,
                           size_t vlen)
{
    if (vlen == 0) {
        mg_lbuild_del(lb, name, nlen);
        return 1;
    }
    const struct mg_label *l = lookup(lb, name, nlen, hint);
    if (l) {
        mg_lbuild_set_ref_at(lb, (size_t)(l - lb->v), value, vlen);
        return 1;
    }
    char *nm = mg_lbuild_strdup(lb, name, nlen);
    if (!nm || mg_lbuild_append_ref(lb, nm, nlen, value, vlen) < 0)
        return -ENOMEM;
    return 1;
}

/* Sets name to value, copying value unless in_builder says it is the
 * builder's own already: mg_lbuild_set with a hint. 1 or -ENOMEM. */
static int set_value(struct mg_lbuild *lb, const char *name, size_t nlen,
                     size_t *hint, const char *value, size_t vlen,
                     int in_builder)
{
    /* copied first: value may be the string this call replaces */
    if (!in_builder && vlen && !(value = mg_lbuild_strdup(lb, value, vlen)))
        return -ENOMEM;
    return set_owned_value(lb, name, nlen, hint, value, vlen);
}

/* val is the builder's own when it is one source label's value (join reads
 * it in place); several are joined in scratch. */
static int apply_replace(const struct step *st, struct scratch *sc,
                         struct mg_lbuild *lb, const char *val, size_t vlen,
                         char *why, size_t whylen)
{
    int in_builder = st->nsrc == 1;
    size_t *thint = &sc->hints[st->hint + st->nsrc];
    const char *tgt = st->target.p, *res = st->repl.p;
    size_t tlen = st->target.n, rlen = st->repl.n;

    /* Prometheus's fast path for static labels: nothing to match. */
    if (vlen == 0 && st->regex_default && !st->target_var && !st->repl_var)
        return set_value(lb, tgt, tlen, thint, res, rlen, 0);
    /* the default regex and replacement copy the value: no match to run */
    if (st->copy && is_ascii(val, vlen))
        return set_value(lb, tgt, tlen, thint, val, vlen, in_builder);
    int rc = mg_regex_match(st->re, sc->m, val, vlen, 0, why, whylen);
    if (rc <= 0)
        return rc < 0 ? -1 : 1;
    /* "$1" is a slice of the value: nothing to expand */
    if (st->group1 && !st->target_var) {
        size_t so = 0, eo = 0;
        mg_rematch_group(sc->m, 1, &so, &eo);
        return set_value(lb, tgt, tlen, thint, val + so, eo - so,
                         in_builder);
    }
    if (st->target_var) {
        sc->tgt.len = 0;
        if (mg_retmpl_expand(st->ttmpl, sc->m, val, &sc->tgt) < 0)
            return -ENOMEM;
        tgt = sc->tgt.p;
        tlen = sc->tgt.len;
        if (!mg_label_name_valid(tgt, tlen))
            return 1;
    }
    sc->rep.len = 0;
    if (mg_retmpl_expand(st->rtmpl, sc->m, val, &sc->rep) < 0)
        return -ENOMEM;
    res = sc->rep.p;
    rlen = sc->rep.len;
    /* An empty value deletes the target, as Prometheus's lb.Del. */
    return set_value(lb, tgt, tlen, st->target_var ? NULL : thint, res, rlen,
                     0);
}

/* labelmap walks a copy of the labels as they were, as Prometheus's
 * Builder.Range does, so labels it sets are not mapped again. */
static int apply_labelmap(const struct step *st, struct scratch *sc,
                          struct mg_lbuild *lb, char *why, size_t whylen)
{
    size_t n = lb->n;
    if (n > sc->snapcap) {
        struct mg_label *p = realloc(sc->snap, n * sizeof(*p));
        if (!p)
            return -ENOMEM;
        sc->snap = p;
        sc->snapcap = n;
    }
    if (n)
        memcpy(sc->snap, lb->v, n * sizeof(*lb->v));
    for (size_t i = 0; i < n; i++) {
        const struct mg_label *l = &sc->snap[i];
        int rc = mg_regex_replace_all(st->re, sc->m, l->name, l->nlen,
                                      st->rtmpl, &sc->rep, why, whylen);
        if (rc < 0)
            return -1;
        /* Prometheus sets whatever name comes out; a name the exposition
         * could not carry is skipped instead, as replace skips one. */
        if (rc == 0 || !mg_label_name_valid(sc->rep.p, sc->rep.len))
            continue;
        if (mg_lbuild_set(lb, sc->rep.p, sc->rep.len, l->value, l->vlen) < 0)
            return -ENOMEM;
    }
    return 1;
}

static int apply_labeldrop(const struct step *st, struct scratch *sc,
                           struct mg_lbuild *lb, int keep, char *why,
                           size_t whylen)
{
    size_t i = 0;
    while (i < lb->n) {
        const struct mg_label *l = &lb->v[i];
        int rc;
        if (st->literal && is_ascii(l->name, l->nlen))
            rc = l->nlen == st->regex.n && mg_label_bytes_eq(l->name, st->regex.p, l->nlen);
        else
            rc = mg_regex_match(st->re, sc->m, l->name, l->nlen, 0, why, whylen);
        if (rc < 0)
            return -1;
        if (rc == !keep)
            mg_lbuild_del_at(lb, i); /* the label at i: no search for it */
        else
            i++;
    }
    return 1;
}

/* One step: 1 to go on, 0 when the series is dropped, -1 on an error with
 * why set, -ENOMEM when memory ran out. */
static int apply_step(const struct step *st, struct scratch *sc,
                      struct mg_lbuild *lb, char *why, size_t whylen)
{
    const char *val;
    size_t vlen;
    int rc;

    if (join(st, sc, lb, &val, &vlen) < 0)
        return -ENOMEM;
    switch (st->act) {
    case A_KEEP:
    case A_DROP:
        if (st->literal && is_ascii(val, vlen))
            rc = vlen == st->regex.n && mg_label_bytes_eq(val, st->regex.p, vlen);
        else
            rc = mg_regex_match(st->re, sc->m, val, vlen, 0, why, whylen);
        if (rc < 0)
            return -1;
        return rc == (st->act == A_KEEP);
    case A_KEEPEQUAL:
    case A_DROPEQUAL: {
        const char *t;
        size_t tn;
        get_value(lb, &st->target, &sc->hints[st->hint + st->nsrc], &t, &tn);
        int eq = tn == vlen && memcmp(t, val, vlen) == 0;
        return eq == (st->act == A_KEEPEQUAL);
    }
    case A_REPLACE:
        return apply_replace(st, sc, lb, val, vlen, why, whylen);
    case A_LOWERCASE:
    case A_UPPERCASE:
        if (casemap(sc->loc, st->act == A_UPPERCASE, val, vlen, &sc->rep) < 0)
            return -ENOMEM;
        return mg_lbuild_set(lb, st->target.p, st->target.n, sc->rep.p,
                             sc->rep.len) < 0 ? -ENOMEM : 1;
    case A_HASHMOD: {
        unsigned char d[MG_MD5_LEN];
        char num[24];
        uint64_t h = 0;
        mg_md5(val, vlen, d);
        /* The last 8 bytes, big-endian, as Prometheus has always done. */
        for (int i = 8; i < 16; i++)
            h = h << 8 | d[i];
        int n = snprintf(num, sizeof(num), "%" PRIu64, h % st->modulus);
        return mg_lbuild_set(lb, st->target.p, st->target.n, num,
                             (size_t)n) < 0 ? -ENOMEM : 1;
    }
    case A_LABELMAP:
        return apply_labelmap(st, sc, lb, why, whylen);
    case A_LABELDROP:
    case A_LABELKEEP:
        return apply_labeldrop(st, sc, lb, st->act == A_LABELKEEP, why,
                               whylen);
    default:
        break;
    }
    snprintf(why, whylen, "unknown action");
    return -1;
}

int mg_relabel_apply(const struct mg_relabel *rl, struct mg_lbuild *lb,
                     char *why, size_t whylen)
{
    char msg[160];
    for (size_t k = 0; k < rl->n; k++) {
        int rc = apply_step(&rl->steps[k], rl->sc, lb, msg, sizeof(msg));
        if (rc == 1)
            continue;
        if (rc == 0)
            return 0;
        snprintf(why, whylen, "relabel[%zu]: %s", k + 1,
                 rc == -ENOMEM ? "out of memory" : msg);
        return -1;
    }
    return 1;
}
