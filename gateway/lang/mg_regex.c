/* mg_regex: PCRE2 patterns from mg_re2's rewrite, compiled once and
 * matched under limits; Go's Expand and ReplaceAllString over the result. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "mg_regex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "mg_utf8.h"
#include "mg_re2.h"

/* A relabel regex over a label value stays far below these; a pattern that
 * backtracks exponentially reaches them within milliseconds. */
#define MATCH_LIMIT 1000000
#define DEPTH_LIMIT 100000
#define HEAP_LIMIT_KIB (64 * 1024)
#define JIT_STACK_MIN (32 * 1024)
#define JIT_STACK_MAX (8 * 1024 * 1024)

#define PCRE2_OPTIONS (PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | \
                       PCRE2_NEVER_BACKSLASH_C | PCRE2_NEVER_UCP)

/* What follows an anchored pattern's literal prefix. Most relabel and cap
 * regexes are a prefix and one of these, which a loop matches in a few
 * instructions where a call into PCRE2 costs hundreds. */
enum tail {
    TAIL_REGEX,   /* anything else: the prefix only rejects, PCRE2 decides */
    TAIL_NONE,    /* the prefix is the whole pattern */
    TAIL_ANY,     /* .* */
    TAIL_ANY1,    /* .+ */
    TAIL_DIGITS,  /* \d* */
    TAIL_DIGITS1, /* \d+ */
};

struct mg_regex {
    pcre2_code *code;
    uint32_t ngroups;
    int jit; /* JIT-compiled: an ASCII subject skips pcre2_match's checks */
    struct mg_re2 src; /* its names: RE2 allows a name twice */
    /* For a pattern wrapped as ^(?s:...)$: the literal text every match
     * starts with (NULL: none known), and what comes after it. */
    char *prefix;
    size_t plen;
    enum tail tail;
    int tail_group; /* the tail is written as group 1, e.g. (.*) */
};

struct mg_rematch {
    pcre2_match_data *md;
    PCRE2_SIZE *ov; /* md's ovector, which stays put as long as md */
    pcre2_match_context *mc;
    pcre2_jit_stack *js;
    uint32_t pairs;
    int rc; /* pairs set by the last match; 0 after a miss */
};

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_word(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           c == '_';
}

/* Rewrites a `^(?s:...` quote in msg (the translator quotes what it
 * parsed) into one of pat, so the user sees what they wrote. */
static void unwrap_quote(char *msg, size_t len, const char *pat, size_t n)
{
    char *q = strstr(msg, "`^(?s:"), *end;
    if (!q || !(end = strchr(q + 1, '`')))
        return;
    char tail[256];
    snprintf(tail, sizeof(tail), "%s", end);
    int show = (int)(n > 40 ? 40 : n);
    snprintf(q, len - (size_t)(q - msg), "`%.*s%s%s", show, pat,
             n > 40 ? "..." : "", tail);
}

int mg_regex_compile_anchored(const char *pat, size_t n,
                              struct mg_regex **out, char *why,
                              size_t whylen)
{
    static const char pre[] = "^(?s:", post[] = ")$";
    size_t wn = sizeof(pre) - 1 + n + sizeof(post) - 1;
    char *w = malloc(wn);
    *out = NULL;
    if (!w) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    memcpy(w, pre, sizeof(pre) - 1);
    memcpy(w + sizeof(pre) - 1, pat, n);
    memcpy(w + sizeof(pre) - 1 + n, post, sizeof(post) - 1);
    int rc = mg_regex_compile(w, wn, out, why, whylen);
    free(w);
    if (rc == -EINVAL)
        unwrap_quote(why, whylen, pat, n);
    return rc;
}

/* Characters that stand for themselves in RE2 syntax (a safe subset). */
static int is_plain(int c)
{
    return is_word(c) || c == ':' || c == '/' || c == '-' || c == '=' ||
           c == ',' || c == '@' || c == ';' || c == ' ';
}

static int tail_is(const char *t, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(t, lit, n) == 0;
}

static enum tail tail_of(const char *t, size_t n, int *group)
{
    static const char *const shapes[] = {"", ".*", ".+", "\\d*", "\\d+"};
    *group = n >= 2 && t[0] == '(' && t[n - 1] == ')';
    if (*group) {
        t++;
        n -= 2;
    }
    for (int i = 0; i < 5; i++)
        if (tail_is(t, n, shapes[i]) && !(*group && i == 0))
            return (enum tail)(TAIL_NONE + i);
    *group = 0;
    return TAIL_REGEX;
}

/* Reads ^(?s:PREFIX TAIL)$ (mg_regex_compile_anchored's wrapper, which
 * caps write by hand). A prefix is only trusted where no alternation could
 * bypass it, and loses its last character when a quantifier follows. */
static int find_shape(struct mg_regex *re, const char *pat, size_t n)
{
    static const char pre[] = "^(?s:", post[] = ")$";
    const size_t pl = sizeof(pre) - 1, ql = sizeof(post) - 1;
    if (n < pl + ql || memcmp(pat, pre, pl) != 0 ||
        memcmp(pat + n - ql, post, ql) != 0)
        return 0;
    const char *in = pat + pl;
    size_t inn = n - pl - ql, k = 0;
    if (memchr(in, '|', inn))
        return 0;
    while (k < inn && is_plain((unsigned char)in[k]))
        k++;
    re->tail = tail_of(in + k, inn - k, &re->tail_group);
    if (re->tail_group && re->ngroups != 1) {
        re->tail = TAIL_REGEX;
        re->tail_group = 0;
    }
    if (re->tail == TAIL_REGEX && k > 0 && k < inn &&
        (in[k] == '*' || in[k] == '?' || in[k] == '+' || in[k] == '{'))
        k--;
    if (re->tail == TAIL_REGEX && k == 0)
        return 0;
    if (!(re->prefix = malloc(k + 1)))
        return -ENOMEM;
    memcpy(re->prefix, in, k);
    re->prefix[k] = '\0';
    re->plen = k;
    return 0;
}

int mg_regex_compile(const char *pat, size_t n, struct mg_regex **out,
                     char *why, size_t whylen)
{
    struct mg_regex *re = calloc(1, sizeof(*re));
    pcre2_compile_context *cc = NULL;
    int rc, err;
    PCRE2_SIZE off;

    *out = NULL;
    if (!re) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    if ((rc = mg_re2_translate(pat, n, &re->src, why, whylen)) != 0)
        goto fail;
    if (!(cc = pcre2_compile_context_create(NULL))) {
        rc = -ENOMEM;
        goto fail;
    }
    /* RE2 reads only \n as a newline (for . and (?m)). */
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    pcre2_set_parens_nest_limit(cc, MG_RE2_MAX_NEST + 16);
    re->code = pcre2_compile(
        (PCRE2_SPTR)(re->src.pcre.p ? re->src.pcre.p : ""), re->src.pcre.len,
        PCRE2_OPTIONS, &err, &off, cc);
    if (!re->code) {
        if (err == PCRE2_ERROR_HEAP_FAILED) {
            rc = -ENOMEM;
        } else {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(err, msg, sizeof(msg));
            snprintf(why, whylen, "%s", (const char *)msg);
            rc = -EINVAL;
        }
        goto fail;
    }
    /* Without JIT (not built, or no executable memory) the interpreter runs
     * the same pattern under the same limits. */
    pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    size_t jitsize = 0;
    re->jit = pcre2_pattern_info(re->code, PCRE2_INFO_JITSIZE, &jitsize) == 0 &&
              jitsize > 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &re->ngroups);
    if ((rc = find_shape(re, pat, n)) != 0)
        goto fail;
    /* Only the names are needed from here on. */
    mg_rebuf_fini(&re->src.pcre);
    pcre2_compile_context_free(cc);
    *out = re;
    return 0;

fail:
    pcre2_compile_context_free(cc);
    mg_regex_free(re);
    if (rc == -ENOMEM)
        snprintf(why, whylen, "out of memory");
    return rc;
}

void mg_regex_free(struct mg_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    mg_re2_fini(&re->src);
    free(re->prefix);
    free(re);
}

/* ---- matching ---- */

struct mg_rematch *mg_rematch_new(void)
{
    struct mg_rematch *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->mc = pcre2_match_context_create(NULL);
    if (!m->mc) {
        free(m);
        return NULL;
    }
    pcre2_set_match_limit(m->mc, MATCH_LIMIT);
    pcre2_set_depth_limit(m->mc, DEPTH_LIMIT);
    pcre2_set_heap_limit(m->mc, HEAP_LIMIT_KIB);
    /* JIT's default stack is 32 KiB on the machine stack, which a group
     * repeated over a 64 KiB value already overflows; ours is reserved up
     * to 8 MiB and committed as used. Without one, the default. */
    m->js = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX, NULL);
    if (m->js)
        pcre2_jit_stack_assign(m->mc, NULL, m->js);
    return m;
}

void mg_rematch_free(struct mg_rematch *m)
{
    if (!m)
        return;
    pcre2_match_data_free(m->md);
    pcre2_jit_stack_free(m->js);
    pcre2_match_context_free(m->mc);
    free(m);
}

static int ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 0;
    return 1;
}

/* The whole match over an ASCII subject for a pattern of a known shape:
 * 1 with the groups set as PCRE2 would set them, 0 for no match, -1 when
 * PCRE2 has to decide. */
static int shape_match(const struct mg_regex *re, struct mg_rematch *m,
                       const char *s, size_t n)
{
    size_t p = re->plen, i;
    if (n < p)
        return 0;
    for (i = 0; i < p; i++)
        if (s[i] != re->prefix[i])
            return 0;
    switch (re->tail) {
    case TAIL_REGEX:
        return -1;
    case TAIL_NONE:
        if (n != p)
            return 0;
        break;
    case TAIL_ANY1:
        if (n == p)
            return 0;
        break;
    case TAIL_DIGITS1:
        if (n == p)
            return 0;
        /* fall through */
    case TAIL_DIGITS:
        for (; i < n; i++)
            if (!is_digit(s[i]))
                return 0;
        break;
    case TAIL_ANY:
        break;
    }
    PCRE2_SIZE *ov = m->ov;
    ov[0] = 0;
    ov[1] = n;
    if (re->tail_group) {
        ov[2] = p;
        ov[3] = n;
    }
    m->rc = re->tail_group ? 2 : 1;
    return 1;
}

int mg_regex_match(const struct mg_regex *re, struct mg_rematch *m,
                   const char *s, size_t n, size_t start, char *why,
                   size_t whylen)
{
    m->rc = 0;
    if (m->pairs < re->ngroups + 1) {
        pcre2_match_data *md = pcre2_match_data_create(re->ngroups + 1, NULL);
        if (!md) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        pcre2_match_data_free(m->md);
        m->md = md;
        m->ov = pcre2_get_ovector_pointer(md);
        m->pairs = re->ngroups + 1;
    }
    /* pcre2_jit_match runs the same machine code without pcre2_match's
     * checks, the UTF-8 scan of the subject among them: ASCII needs none,
     * anything else keeps pcre2_match and its error for bad UTF-8. */
    int rc, is_ascii = ascii(s, n);
    /* Bytes beyond ASCII go to PCRE2, which also checks them as UTF-8. */
    if (re->prefix && start == 0 && is_ascii &&
        (rc = shape_match(re, m, s, n)) >= 0)
        return rc;
    if (re->jit && start <= n && is_ascii)
        rc = pcre2_jit_match(re->code, (PCRE2_SPTR)(s ? s : ""), n, start, 0,
                             m->md, m->mc);
    else
        rc = pcre2_match(re->code, (PCRE2_SPTR)(s ? s : ""), n, start, 0,
                         m->md, m->mc);
    if (rc > 0) {
        m->rc = rc;
        return 1;
    }
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    switch (rc) {
    case PCRE2_ERROR_MATCHLIMIT:
    case PCRE2_ERROR_DEPTHLIMIT:
    case PCRE2_ERROR_HEAPLIMIT:
    case PCRE2_ERROR_JIT_STACKLIMIT:
        snprintf(why, whylen, "regex match limit exceeded: the pattern "
                              "backtracks too much on a %zu-byte value", n);
        break;
    case PCRE2_ERROR_NOMEMORY:
        snprintf(why, whylen, "out of memory");
        break;
    default:
        if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) {
            snprintf(why, whylen, "value is not valid UTF-8");
        } else {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(rc, msg, sizeof(msg));
            snprintf(why, whylen, "regex match failed: %s", (char *)msg);
        }
    }
    return -1;
}

int mg_rematch_group(const struct mg_rematch *m, uint32_t i, size_t *so,
                     size_t *eo)
{
    if ((int)i >= m->rc)
        return 0;
    PCRE2_SIZE *ov = m->ov;
    if (ov[2 * i] == PCRE2_UNSET)
        return 0;
    *so = ov[2 * i];
    *eo = ov[2 * i + 1];
    return 1;
}

/* ---- templates ---- */

enum { SEG_LIT, SEG_GROUPS };

struct seg {
    int kind;
    uint32_t a, b; /* SEG_LIT: text[a, a + b); SEG_GROUPS: cand[a, a + b) */
};

struct mg_retmpl {
    char *text;
    struct seg *seg;
    size_t nseg;
    uint32_t *cand; /* groups to try in order: the first that matched */
};

/* Go's extract reads a name as unicode.IsLetter/IsDigit or _; PCRE2's
 * Unicode tables answer for the non-ASCII ones. */
struct uni {
    pcre2_code *code;
    pcre2_match_data *md;
};

static int uni_word(struct uni *u, const char *s, size_t n)
{
    if (!u->code) {
        int err;
        PCRE2_SIZE off;
        u->code = pcre2_compile((PCRE2_SPTR) "[\\p{L}\\p{Nd}]",
                                PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off,
                                NULL);
        if (!u->code)
            return -ENOMEM;
        u->md = pcre2_match_data_create(1, NULL);
        if (!u->md)
            return -ENOMEM;
    }
    return pcre2_match(u->code, (PCRE2_SPTR)s, n, 0, PCRE2_ANCHORED, u->md,
                       NULL) > 0;
}

struct tbuild {
    struct mg_rebuf seg, cand;
};

static int add_seg(struct tbuild *b, int kind, uint32_t a, uint32_t n)
{
    if (kind == SEG_LIT) {
        if (n == 0)
            return 0;
        size_t k = b->seg.len / sizeof(struct seg);
        struct seg *last = k ? (struct seg *)(void *)b->seg.p + k - 1 : NULL;
        if (last && last->kind == SEG_LIT && last->a + last->b == a) {
            last->b += n;
            return 0;
        }
    }
    struct seg s = {kind, a, n};
    return mg_rebuf_add(&b->seg, &s, sizeof(s));
}

/* Go's extract after a '$': the name or number, braced or not. Returns 1
 * with [*name, *name + *len) and the offset after it, 0 when malformed. */
static int extract(struct uni *u, const char *t, size_t n, size_t i,
                   size_t *name, size_t *len, size_t *after)
{
    int brace = i < n && t[i] == '{';
    size_t k = i + (size_t)brace, from = k;
    while (k < n) {
        uint32_t cp;
        size_t cl = mg_utf8_next(t + k, n - k, &cp);
        int ok = cp < 0x80 ? is_word((int)cp) : cl > 1;
        if (ok && cp >= 0x80) {
            ok = uni_word(u, t + k, cl);
            if (ok < 0)
                return ok;
        }
        if (!ok)
            break;
        k += cl;
    }
    if (k == from)
        return 0;
    *name = from;
    *len = k - from;
    if (brace) {
        if (k >= n || t[k] != '}')
            return 0;
        k++;
    }
    *after = k;
    return 1;
}

/* Go's group number: digits only, below 1e8 as it goes, no leading zero. */
static long group_number(const char *s, size_t n)
{
    long num = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]) || num >= 100000000)
            return -1;
        num = num * 10 + (s[i] - '0');
    }
    if (n > 1 && s[0] == '0')
        return -1;
    return num;
}

int mg_retmpl_compile(const char *text, size_t n, const struct mg_regex *re,
                      struct mg_retmpl **out)
{
    struct tbuild b;
    struct uni u = {NULL, NULL};
    struct mg_retmpl *t = calloc(1, sizeof(*t));
    size_t i = 0;
    int rc = -ENOMEM;

    memset(&b, 0, sizeof(b));
    *out = NULL;
    if (!t || !(t->text = malloc(n + 1)))
        goto fail;
    if (n)
        memcpy(t->text, text, n);
    t->text[n] = '\0';
    for (;;) {
        const char *d = memchr(text + i, '$', n - i);
        if (!d)
            break;
        size_t at = (size_t)(d - text), name, len, after;
        if (add_seg(&b, SEG_LIT, (uint32_t)i, (uint32_t)(at - i)) < 0)
            goto fail;
        i = at + 1;
        if (i < n && text[i] == '$') {
            if (add_seg(&b, SEG_LIT, (uint32_t)at, 1) < 0)
                goto fail;
            i++;
            continue;
        }
        int ok = extract(&u, text, n, i, &name, &len, &after);
        if (ok < 0)
            goto fail;
        if (!ok) {
            if (add_seg(&b, SEG_LIT, (uint32_t)at, 1) < 0)
                goto fail;
            continue;
        }
        i = after;
        size_t first = b.cand.len / sizeof(uint32_t);
        long num = group_number(text + name, len);
        if (num >= 0 && (unsigned long)num <= re->ngroups) {
            uint32_t g = (uint32_t)num;
            if (mg_rebuf_add(&b.cand, &g, sizeof(g)) < 0)
                goto fail;
        } else if (num < 0) {
            const struct mg_re2_name *names =
                (const struct mg_re2_name *)(void *)re->src.names.p;
            size_t nnames = re->src.names.len / sizeof(*names);
            for (size_t k = 0; k < nnames; k++) {
                const struct mg_re2_name *gn = &names[k];
                if (gn->len == len &&
                    memcmp(re->src.namebytes.p + gn->off, text + name,
                           len) == 0 &&
                    mg_rebuf_add(&b.cand, &gn->group, sizeof(uint32_t)) < 0)
                    goto fail;
            }
        }
        size_t count = b.cand.len / sizeof(uint32_t) - first;
        if (count &&
            add_seg(&b, SEG_GROUPS, (uint32_t)first, (uint32_t)count) < 0)
            goto fail;
    }
    if (add_seg(&b, SEG_LIT, (uint32_t)i, (uint32_t)(n - i)) < 0)
        goto fail;
    t->seg = (struct seg *)(void *)b.seg.p;
    t->nseg = b.seg.len / sizeof(struct seg);
    t->cand = (uint32_t *)(void *)b.cand.p;
    *out = t;
    rc = 0;
    goto done;

fail:
    mg_retmpl_free(t);
    mg_rebuf_fini(&b.seg);
    mg_rebuf_fini(&b.cand);
done:
    pcre2_match_data_free(u.md);
    pcre2_code_free(u.code);
    return rc;
}

void mg_retmpl_free(struct mg_retmpl *t)
{
    if (!t)
        return;
    free(t->text);
    free(t->seg);
    free(t->cand);
    free(t);
}

int mg_retmpl_expand(const struct mg_retmpl *t, const struct mg_rematch *m,
                     const char *s, struct mg_rebuf *out)
{
    for (size_t i = 0; i < t->nseg; i++) {
        const struct seg *sg = &t->seg[i];
        if (sg->kind == SEG_LIT) {
            if (mg_rebuf_add_short(out, t->text + sg->a, sg->b) < 0)
                return -ENOMEM;
            continue;
        }
        for (uint32_t k = 0; k < sg->b; k++) {
            size_t so, eo;
            if (mg_rematch_group(m, t->cand[sg->a + k], &so, &eo)) {
                if (mg_rebuf_add_short(out, s + so, eo - so) < 0)
                    return -ENOMEM;
                break;
            }
        }
    }
    return 0;
}

int mg_regex_replace_all(const struct mg_regex *re, struct mg_rematch *m,
                         const char *s, size_t n, const struct mg_retmpl *t,
                         struct mg_rebuf *out, char *why, size_t whylen)
{
    size_t last = 0, pos = 0;
    int count = 0;

    out->len = 0;
    while (pos <= n) {
        size_t so, eo;
        int rc = mg_regex_match(re, m, s, n, pos, why, whylen);
        if (rc < 0)
            return -1;
        if (rc == 0 || !mg_rematch_group(m, 0, &so, &eo))
            break;
        count++;
        if (mg_rebuf_add(out, s + last, so - last) < 0)
            goto nomem;
        /* No replacement for an empty match right after a match, or a
         * pattern that matches both would replace twice (Go's rule). */
        if ((eo > last || so == 0) && mg_retmpl_expand(t, m, s, out) < 0)
            goto nomem;
        last = eo;
        uint32_t cp;
        size_t width = mg_utf8_next(s + pos, n - pos, &cp);
        if (pos + width > eo)
            pos += width;
        else if (pos + 1 > eo)
            pos++;
        else
            pos = eo;
    }
    if (mg_rebuf_add(out, s + last, n - last) < 0)
        goto nomem;
    return count;

nomem:
    snprintf(why, whylen, "out of memory");
    return -1;
}
