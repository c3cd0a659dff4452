/* mg_check: moongate check, loads and dry runs. */
#include "mg_check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "mg_auth.h"
#include "mg_cap.h"
#include "mg_config.h"
#include "mg_gateway.h"
#include "mg_log.h"
#include "mg_pipeline.h"
#include "mg_pushbody.h"
#include "mg_rules.h"
#include "mg_tls.h"
#include "mg_unpack.h"
#include "mg_web_json.h"
#include "mg_wire.h"

/* Inputs past this are refused: a dry run reads its whole input at once. */
#define INPUT_MAX_BYTES (256u << 20)

/* ---- loading files as a test ---- */

/* Loads one file as a check: scripts and rules have their own DSLs, so
 * which one a file speaks is said by the flag before it, not guessed from
 * its errors. Prints the file's warnings; 0, or -1 with every error in
 * why (one a line); *nwarn counts the warnings. */
static int check_file(const char *path, int rules, char *why, size_t whylen,
                      int *nwarn)
{
    struct mg_lua_limits lim = {0};
    const char *one[1] = {path};
    if (rules) {
        struct mg_rules *r = mg_rules_new(one, 1, &lim, why, whylen);
        mg_rules_free(r);
        return r ? 0 : -1;
    }
    struct mg_pipeline *p = mg_pipeline_new(one, 1, &lim, why, whylen);
    const char *w = mg_pipeline_warnings(p);
    fputs(w, stderr);
    for (; *w; w++)
        *nwarn += *w == '\n';
    mg_pipeline_free(p);
    return p ? 0 : -1;
}

/* The files of a check: scripts and rules, each a file or a directory's
 * *.lua, in the order given. */
struct files {
    char **v[2]; /* [0] scripts, [1] rules */
    size_t n[2], cap[2];
};

static int files_add(struct files *f, int rules, const char *path)
{
    if (f->n[rules] == f->cap[rules]) {
        size_t cap = f->cap[rules] ? f->cap[rules] * 2 : 8;
        char **nv = realloc(f->v[rules], cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        f->v[rules] = nv;
        f->cap[rules] = cap;
    }
    f->v[rules][f->n[rules]] = strdup(path);
    return f->v[rules][f->n[rules]++] ? 0 : -ENOMEM;
}

static void files_fini(struct files *f)
{
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < f->n[k]; i++)
            free(f->v[k][i]);
        free(f->v[k]);
    }
}

/* Each file of each path loads alone, as scripts or as rules after
 * --rules (--scripts switches back); every error is printed as
 * file:line: message, every warning as file:line: warning: message, and
 * with strict a file with warnings fails too. Returns how many failed;
 * the files go into *all. */
static int check_paths(char *const *paths, const int *rules, size_t n,
                       int strict, struct files *all)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        char why[8192];
        size_t nf;
        char **files = mg_pipeline_files(paths[i], &nf, why, sizeof(why));
        if (!files) {
            fprintf(stderr, "%s\n", why);
            failed++;
            continue;
        }
        for (size_t k = 0; k < nf; k++) {
            int nwarn = 0;
            if (check_file(files[k], rules[i], why, sizeof(why), &nwarn)) {
                fprintf(stderr, "%s\n", why);
                failed++;
            } else if (strict && nwarn) {
                failed++;
            }
            if (files_add(all, rules[i], files[k])) {
                fprintf(stderr, "moongate check: out of memory\n");
                failed++;
            }
        }
        mg_pipeline_files_free(files);
    }
    return failed;
}

/* moongate check --config FILE: the settings load, the credentials files
 * exist and parse, the certificates parse and their keys match. */
static int check_config(const char *path)
{
    struct mg_config cfg;
    char why[512];
    int failed = 0;
    mg_config_init(&cfg);
    if (mg_config_load(&cfg, path, why, sizeof(why))) {
        fprintf(stderr, "%s\n", why);
        mg_config_fini(&cfg);
        return 1;
    }
    struct mg_auth *a = mg_auth_new(&cfg, why, sizeof(why));
    if (!a) {
        fprintf(stderr, "%s\n", why);
        failed++;
    }
    mg_auth_free(a);
    if ((cfg.tls.cert_file || cfg.tls.key_file) && mg_tls_check(&cfg.tls, why, sizeof(why))) {
        fprintf(stderr, "%s\n", why);
        failed++;
    }
    const struct mg_client_tls_config *am = &cfg.am_tls;
    if (am->ca_file || am->cert_file || am->key_file) {
        SSL_CTX *ctx = mg_tls_client_ctx(am, why, sizeof(why));
        if (!ctx) {
            fprintf(stderr, "alertmanager_tls: %s\n", why);
            failed++;
        }
        SSL_CTX_free(ctx);
    }
    mg_config_fini(&cfg);
    if (!failed)
        printf("moongate check: %s OK\n", path);
    return failed ? 1 : 0;
}

/* ---- the dry run: one series at a time ---- */

enum fmt { FMT_GUESS, FMT_MSGPACK, FMT_JSONL, FMT_TEXT };

struct dry {
    struct mg_gateway *gw;
    struct mg_trace trace;
    char err[MG_WHY_LEN]; /* the script error of the series being pushed */
    int had_err;
    unsigned runtime_errors, input_errors, series;
};

static void on_script_error(void *arg, const char *file, const char *why)
{
    struct dry *d = arg;
    (void)file;
    if (d->had_err)
        return; /* the first is the cause */
    d->had_err = 1;
    snprintf(d->err, sizeof(d->err), "%s", why);
}

/* An input the dry run cannot take: named by where, counted. */
static void input_error(struct dry *d, const char *where, const char *why)
{
    printf("%s: input error: %s\n", where, why);
    d->input_errors++;
}

/* The cap a reply note names ("cap NAME folded|dropped the series"), into
 * name; 1 when folded, 0 when dropped, -1 when res has no cap note. */
static int cap_note(const struct mg_push_result *res, char *name, size_t len)
{
    static const char *const tails[] = {" dropped the series", " folded the series"};
    for (uint32_t i = 0; i < res->nerr; i++) {
        const struct mg_push_error *e = &res->err[i];
        if (e->reason != MG_DROP_CARDINALITY_CAP && e->reason != MG_DROP_LIMIT)
            continue;
        /* a known series a cap refused when it was new says so without
         * naming the cap: its input's drop reason tells the same */
        if (strncmp(e->detail, "cap ", 4) != 0)
            continue;
        size_t n = strlen(e->detail);
        snprintf(name, len, "%.*s", (int)(len - 1), e->detail);
        for (int k = 0; k < 2; k++) {
            size_t t = strlen(tails[k]);
            if (n > 4 + t && strcmp(e->detail + n - t, tails[k]) == 0) {
                snprintf(name, len, "%.*s", (int)(n - 4 - t), e->detail + 4);
                return k;
            }
        }
        return 0;
    }
    return -1;
}

static const char *cap_where(struct dry *d, const char *name)
{
    const char *w = mg_caps_where(mg_gateway_caps(d->gw), name);
    return w ? w : "?";
}

/* Why a traced step dropped the series. */
static const char *drop_why(const char *step)
{
    if (strcmp(step, "drop") == 0)
        return "matched";
    if (strcmp(step, "transform") == 0)
        return "returned nil";
    return "relabel dropped it";
}

/* A series the pipeline ran for and dropped: the step that did. */
static void print_dropped(struct dry *d, const struct mg_input *in)
{
    for (size_t i = 0; i < d->trace.n; i++) {
        const struct mg_trace_step *t = &d->trace.v[i];
        if (strcmp(t->result, "dropped") == 0) {
            printf("dropped by %s at %s (%s)\n", t->step, t->at, drop_why(t->step));
            return;
        }
    }
    /* a known series: the pipeline ran when it was new */
    printf("dropped (%s, when it was new)\n", mg_reason_name((enum mg_reason)in->drop));
}

/* Prints what became of s, pushed now: its output, the step or cap that
 * dropped it, or the script error. */
static void fate(struct dry *d, const char *where, const struct mg_sample *s)
{
    char in[512], cap[256];
    struct mg_push_result res;
    struct mg_store *st = mg_gateway_store(d->gw);
    struct mg_pipeline *pipe = mg_gateway_pipeline(d->gw);
    mg_labels_render(in, sizeof(in), s->name, s->nlen, s->labels, s->nlabels);
    mg_push_result_reset(&res);
    d->trace.n = 0;
    d->had_err = 0;
    d->series++;
    mg_pipeline_set_trace(pipe, &d->trace);
    uint32_t idx = mg_gateway_push_sample(d->gw, s, -1, &res);
    mg_pipeline_set_trace(pipe, NULL);
    printf("%s: %s -> ", where, in);
    if (d->had_err) {
        printf("error: %s\n", d->err);
        d->runtime_errors++;
        return;
    }
    if (res.rejected) {
        printf("input error: %s (%s)\n", res.err[0].detail, mg_reason_name(res.err[0].reason));
        d->input_errors++;
        return;
    }
    int folded = cap_note(&res, cap, sizeof(cap));
    struct mg_input *inp = idx == MG_NIL ? NULL : mg_store_input_at(st, idx);
    if (folded == 0) {
        printf("refused by cap %s at %s\n", cap, cap_where(d, cap));
        return;
    }
    if (!inp) {
        printf("dropped by on_sample (returned nil)\n");
        return;
    }
    if (inp->out == MG_NIL) {
        print_dropped(d, inp);
        return;
    }
    const struct mg_output *o = mg_store_output_at(st, inp->out);
    const struct mg_family *f = mg_store_output_family(st, o);
    struct mg_label v[o->ls->n ? o->ls->n : 1];
    size_t n = mg_labelset_unpack(o->ls, v);
    char out[512];
    mg_labels_render(out, sizeof(out), f->name, f->nlen, v, n);
    printf("%s", out);
    if (folded == 1)
        printf(" (folded by cap %s at %s)", cap, cap_where(d, cap));
    if (res.dropped)
        printf(" (this sample dropped by on_sample)");
    printf("\n");
}

/* ---- msgpack and JSON lines ---- */

/* One message's metrics, each through fate. where names the message. */
static void run_message(struct dry *d, struct mg_wire_scratch *ws, msgpack_zone *z,
                        const char *p, size_t len, const char *where)
{
    const struct mg_wire_limits *lim = &mg_gateway_config(d->gw)->wire;
    msgpack_object root;
    size_t off = 0;
    char why[MG_WHY_LEN], at[MG_WHY_LEN];
    msgpack_zone_clear(z);
    int rc = mg_unpack(p, len, &off, z, &root);
    if (rc != MSGPACK_UNPACK_SUCCESS && rc != MSGPACK_UNPACK_EXTRA_BYTES) {
        input_error(d, where, "not msgpack");
        return;
    }
    struct mg_message m;
    enum mg_reason r = mg_wire_message(&root, lim, ws, &m, why);
    if (r != MG_OK) {
        char msg[MG_WHY_LEN + 64];
        snprintf(msg, sizeof(msg), "message refused: %s (%s)", why, mg_reason_name(r));
        input_error(d, where, msg);
        return;
    }
    for (size_t i = 0; i < m.nmetrics; i++) {
        struct mg_sample s;
        if (m.nmetrics > 1)
            snprintf(at, sizeof(at), "%s metric %zu", where, i + 1);
        else
            snprintf(at, sizeof(at), "%s", where);
        r = mg_wire_metric(&m, i, lim, ws, &s, why);
        if (r != MG_OK) {
            char msg[MG_WHY_LEN + 64];
            snprintf(msg, sizeof(msg), "%s (%s)", why, mg_reason_name(r));
            input_error(d, at, msg);
            continue;
        }
        fate(d, at, &s);
    }
}

/* Messages back to back, as a TCP stream carries them. A stream that does
 * not decode stops there: nothing after it can be framed. */
static void run_msgpack(struct dry *d, struct mg_wire_scratch *ws, msgpack_zone *z,
                        const char *p, size_t len)
{
    const struct mg_wire_limits *lim = &mg_gateway_config(d->gw)->wire;
    size_t off = 0;
    for (unsigned n = 1; off < len; n++) {
        struct mg_scan sc;
        enum mg_reason r;
        char why[MG_WHY_LEN], where[64];
        memset(&sc, 0, sizeof(sc));
        int rc = mg_wire_scan(&sc, p + off, len - off, lim, &r, why);
        snprintf(where, sizeof(where), "message %u", n);
        if (rc <= 0) {
            char msg[MG_WHY_LEN + 64];
            snprintf(msg, sizeof(msg), "at byte %zu: %s", off,
                     rc == 0 ? "truncated message" : why);
            input_error(d, where, msg);
            return;
        }
        run_message(d, ws, z, p + off, sc.off, where);
        off += sc.off;
    }
}

/* JSON node i packed as msgpack: a number without a fraction or exponent
 * is an integer, as a msgpack producer would send it. */
static void pack_json(msgpack_packer *pk, const struct mg_jdoc *doc, int i)
{
    const struct mg_jnode *nd = &doc->v[i];
    switch (nd->type) {
    case MG_JNULL:
        msgpack_pack_nil(pk);
        return;
    case MG_JFALSE:
        msgpack_pack_false(pk);
        return;
    case MG_JTRUE:
        msgpack_pack_true(pk);
        return;
    case MG_JSTR:
        msgpack_pack_str_with_body(pk, nd->s, nd->n);
        return;
    case MG_JNUM: {
        char *end;
        errno = 0;
        if (!strpbrk(nd->s, ".eE")) {
            if (nd->s[0] == '-') {
                long long v = strtoll(nd->s, &end, 10);
                if (!errno) {
                    msgpack_pack_int64(pk, v);
                    return;
                }
            } else {
                unsigned long long v = strtoull(nd->s, &end, 10);
                if (!errno) {
                    msgpack_pack_uint64(pk, v);
                    return;
                }
            }
        }
        msgpack_pack_double(pk, nd->num);
        return;
    }
    case MG_JARR:
    case MG_JOBJ: {
        size_t n = mg_jlen(doc, i);
        if (nd->type == MG_JARR)
            msgpack_pack_array(pk, n);
        else
            msgpack_pack_map(pk, n);
        for (int k = nd->first; k >= 0; k = doc->v[k].next) {
            if (nd->type == MG_JOBJ)
                msgpack_pack_str_with_body(pk, doc->v[k].key, strlen(doc->v[k].key));
            pack_json(pk, doc, k);
        }
        return;
    }
    }
}

/* One message a line, as JSON; blank lines and lines starting with # are
 * skipped. */
static void run_jsonl(struct dry *d, struct mg_wire_scratch *ws, msgpack_zone *z,
                      const char *p, size_t len)
{
    const char *end = p + len;
    for (unsigned line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        char where[64];
        snprintf(where, sizeof(where), "line %u", line);
        const char *q = p;
        while (q < e && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < e && *q != '#') {
            struct mg_jdoc doc;
            memset(&doc, 0, sizeof(doc));
            if (mg_jdoc_parse(&doc, q, (size_t)(e - q)) < 0) {
                input_error(d, where, "not a JSON value");
            } else {
                msgpack_sbuffer sb;
                msgpack_packer pk;
                msgpack_sbuffer_init(&sb);
                msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
                pack_json(&pk, &doc, 0);
                run_message(d, ws, z, sb.data, sb.size, where);
                msgpack_sbuffer_destroy(&sb);
            }
            mg_jdoc_fini(&doc);
        }
        p = nl ? nl + 1 : end;
    }
}

/* The Prometheus text format, as a Pushgateway push body without a
 * grouping key: histograms and summaries are whole series by then. */
static void run_text(struct dry *d, const char *p, size_t len)
{
    const struct mg_wire_limits *lim = &mg_gateway_config(d->gw)->wire;
    struct mg_pushbody b;
    enum mg_reason r;
    char why[MG_WHY_LEN];
    memset(&b, 0, sizeof(b));
    if (mg_pushbody_text(&b, p, len, lim, &r, why)) {
        /* why says "line N: ..." already: the place first, as elsewhere */
        const char *c = strstr(why, ": ");
        if (strncmp(why, "line ", 5) == 0 && c)
            printf("%.*s: input error: %s (%s)\n", (int)(c - why), why, c + 2,
                   mg_reason_name(r));
        else
            printf("input error: %s (%s)\n", why, mg_reason_name(r));
        d->input_errors++;
        mg_pushbody_fini(&b);
        return;
    }
    for (size_t i = 0; i < b.nser; i++) {
        const struct mg_pushbody_series *ps = &b.ser[i];
        const struct mg_pushbody_family *f = &b.fam[ps->fam];
        struct mg_sample s;
        char where[64];
        memset(&s, 0, sizeof(s));
        s.name = f->name;
        s.nlen = f->nlen;
        s.type = f->type;
        s.op = MG_OP_SET;
        s.help = f->help;
        s.hlen = f->hlen;
        s.labels = ps->labels;
        s.nlabels = ps->nlabels;
        s.value = ps->value;
        s.sum = ps->sum;
        s.count = ps->count;
        s.nb = ps->nb;
        s.bound = ps->bound;
        s.bval = ps->bval;
        s.ttl_ms = lim->default_ttl_ms;
        fate(d, mg_pushbody_where(&b, ps->line, where, sizeof(where)), &s);
    }
    mg_pushbody_fini(&b);
}

/* ---- the rules, once, over what the input left ---- */

/* Every label and annotation value a template failed to expand. Returns
 * how many, each printed. */
static unsigned template_errors(const struct mg_alert *a)
{
    static const char mark[] = "<error expanding template:";
    unsigned n = 0;
    for (int k = 0; k < 2; k++) {
        const struct mg_label *v = k ? a->annotations : a->labels;
        size_t nv = k ? a->nannotations : a->nlabels;
        for (size_t i = 0; i < nv; i++)
            if (strstr(v[i].value, mark)) {
                printf("  error: %s %s: %s\n", k ? "annotation" : "label", v[i].name,
                       v[i].value);
                n++;
            }
    }
    return n;
}

static void print_alerts(struct dry *d, const struct mg_rules *r, const char *rule)
{
    static const char *const states[] = {"inactive", "pending", "firing"};
    for (size_t i = 0; i < mg_rules_alert_count(r); i++) {
        const struct mg_alert *a = mg_rules_alert_at(r, i);
        if (strcmp(a->rule, rule) != 0 || a->state == MG_ALERT_INACTIVE)
            continue;
        char ls[512];
        mg_labels_render(ls, sizeof(ls), "", 0, a->labels, a->nlabels);
        printf("  %s %s value %g\n", states[a->state], ls, a->value);
        d->runtime_errors += template_errors(a);
    }
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The series a recording rule wrote, in label order (the store keeps
 * them newest first). */
static void print_recorded(struct dry *d, const char *name)
{
    struct mg_store *st = mg_gateway_store(d->gw);
    struct mg_family *f = mg_store_family_find(st, name, strlen(name));
    if (!f || !f->nseries)
        return;
    char **v = calloc(f->nseries, sizeof(*v));
    size_t k = 0;
    for (uint32_t i = mg_store_family_head(f); v && i != MG_NIL && k < f->nseries;
         i = mg_store_output_next(st, i)) {
        const struct mg_output *o = mg_store_output_at(st, i);
        struct mg_label lv[o->ls->n ? o->ls->n : 1];
        size_t n = mg_labelset_unpack(o->ls, lv);
        char ls[512], line[600];
        mg_labels_render(ls, sizeof(ls), f->name, f->nlen, lv, n);
        snprintf(line, sizeof(line), "  %s %g", ls, o->v.acc);
        if (!(v[k] = strdup(line)))
            break;
        k++;
    }
    if (!v) {
        printf("  (out of memory)\n");
        return;
    }
    qsort(v, k, sizeof(*v), cmp_line);
    for (size_t i = 0; i < k; i++) {
        printf("%s\n", v[i]);
        free(v[i]);
    }
    free(v);
}

/* Evaluates the rules once at the clock the series were pushed at, and
 * prints each rule's result. */
static void run_rules(struct dry *d)
{
    const struct mg_rules *r = mg_gateway_rules(d->gw);
    if (!r)
        return;
    mg_gateway_evaluate_at(d->gw, mg_gateway_now(d->gw));
    for (size_t i = 0; i < mg_rules_rule_count(r); i++) {
        struct mg_rule_info ri;
        mg_rules_rule_info(r, i, &ri);
        int alert = strcmp(ri.type, "alerting") == 0;
        printf("%s %s at %s: ", alert ? "alert" : "record", ri.name, ri.where);
        if (strcmp(ri.health, "err") == 0) {
            printf("error: %s\n", ri.last_error);
            d->runtime_errors++;
            continue;
        }
        if (alert) {
            printf("%zu active\n", ri.nalerts);
            print_alerts(d, r, ri.name);
        } else {
            printf("ok\n");
            print_recorded(d, ri.name);
        }
    }
}

/* ---- input ---- */

/* The whole of path ("-": stdin) into a malloc'd buffer. NULL with why. */
static char *read_input(const char *path, size_t *len, char *why, size_t whylen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got = 1; buf && got;) {
        if (n == cap) {
            char *nb = cap < INPUT_MAX_BYTES ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                snprintf(why, whylen, "%s: larger than %u MiB or out of memory", path,
                         INPUT_MAX_BYTES >> 20);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (!got && ferror(f)) {
            snprintf(why, whylen, "%s: %s", path, strerror(errno));
            free(buf);
            buf = NULL;
        }
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The format by the file's extension, else by its first byte: a map's
 * msgpack header, a JSON object, or text. */
static enum fmt guess(const char *path, const char *p, size_t len)
{
    if (ends_with(path, ".msgpack") || ends_with(path, ".mp"))
        return FMT_MSGPACK;
    if (ends_with(path, ".jsonl") || ends_with(path, ".json"))
        return FMT_JSONL;
    if (ends_with(path, ".prom") || ends_with(path, ".txt"))
        return FMT_TEXT;
    unsigned char c = len ? (unsigned char)p[0] : 0;
    if ((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf)
        return FMT_MSGPACK;
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    return i < len && p[i] == '{' ? FMT_JSONL : FMT_TEXT;
}

/* ---- the command ---- */

struct opts {
    char **paths;
    int *rules;
    size_t npaths;
    const char *input, *config;
    enum fmt fmt;
    int strict; /* --strict: a warning fails the check */
};

/* 0, or -1 on a bad command line (said on stderr). */
static int parse(int argc, char **argv, struct opts *o)
{
    int rules = 0;
    memset(o, 0, sizeof(*o));
    o->paths = calloc((size_t)argc + 1, sizeof(*o->paths));
    o->rules = calloc((size_t)argc + 1, sizeof(*o->rules));
    if (!o->paths || !o->rules)
        return -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--rules") == 0 || strcmp(a, "--scripts") == 0) {
            rules = a[2] == 'r';
        } else if (strcmp(a, "--strict") == 0) {
            o->strict = 1;
        } else if (strcmp(a, "--input") == 0 || strcmp(a, "--format") == 0 ||
                   strcmp(a, "--config") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "moongate check: %s needs a value\n", a);
                return -1;
            }
            const char *v = argv[++i];
            if (a[2] == 'i') {
                o->input = v;
            } else if (a[2] == 'c') {
                o->config = v;
            } else if (strcmp(v, "msgpack") == 0) {
                o->fmt = FMT_MSGPACK;
            } else if (strcmp(v, "jsonl") == 0) {
                o->fmt = FMT_JSONL;
            } else if (strcmp(v, "text") == 0) {
                o->fmt = FMT_TEXT;
            } else {
                fprintf(stderr, "moongate check: --format is msgpack, jsonl or text, not %s\n", v);
                return -1;
            }
        } else if (strncmp(a, "--", 2) == 0) {
            fprintf(stderr, "moongate check: unknown flag %s\n", a);
            return -1;
        } else {
            o->rules[o->npaths] = rules;
            o->paths[o->npaths++] = argv[i];
        }
    }
    if (o->fmt != FMT_GUESS && !o->input) {
        fprintf(stderr, "moongate check: --format needs --input\n");
        return -1;
    }
    if (o->config && !o->input && o->npaths) {
        fprintf(stderr, "moongate check: --config takes no paths without --input\n");
        return -1;
    }
    return 0;
}

/* The gateway a dry run pushes into: the config's settings (or the
 * defaults), a virtual clock at the wall clock's now, the files loaded. */
static struct mg_gateway *dry_gateway(const struct opts *o, struct files *fl,
                                      struct mg_config *cfg, int *status)
{
    char why[8192]; /* every error of every file */
    *status = 1;
    if (o->config && mg_config_load(cfg, o->config, why, sizeof(why))) {
        fprintf(stderr, "%s\n", why);
        return NULL;
    }
    /* with no paths, the config's directories */
    if (!o->npaths) {
        const char *dirs[2] = {cfg->scripts, cfg->rules};
        int failed = 0;
        for (int k = 0; k < 2; k++)
            if (dirs[k])
                failed += check_paths((char *const *)&dirs[k], &k, 1, o->strict, fl);
        if (failed)
            return NULL;
    }
    struct mg_gateway *gw = mg_gateway_new(cfg, 1, mg_now_ms(), why, sizeof(why));
    if (!gw) {
        fprintf(stderr, "moongate check: %s\n", why);
        return NULL;
    }
    if (mg_gateway_load(gw, (const char *const *)fl->v[0], fl->n[0],
                        (const char *const *)fl->v[1], fl->n[1], why, sizeof(why))) {
        fprintf(stderr, "%s\n", why);
        mg_gateway_free(gw);
        return NULL;
    }
    *status = 0;
    return gw;
}

/* Runs the input through the loaded files; the exit status. */
static int dry_run(const struct opts *o, struct files *fl)
{
    struct mg_config cfg;
    struct dry d;
    int status;
    char why[512];
    memset(&d, 0, sizeof(d));
    mg_config_init(&cfg);
    d.gw = dry_gateway(o, fl, &cfg, &status);
    if (!d.gw) {
        mg_config_fini(&cfg);
        return status;
    }
    size_t len;
    snprintf(why, sizeof(why), "out of memory");
    char *buf = read_input(o->input, &len, why, sizeof(why));
    struct mg_wire_scratch *ws = mg_wire_scratch_new(&cfg.wire);
    msgpack_zone z;
    int zok = msgpack_zone_init(&z, 4096);
    if (!buf || !ws || !zok) {
        fprintf(stderr, "moongate check: %s\n", buf ? "out of memory" : why);
        status = 2;
        goto out;
    }
    /* each error is on stdout with its series: the log would say it twice */
    mg_log_set_level(MG_LOG_ERROR);
    mg_gateway_set_script_error_hook(d.gw, on_script_error, &d);
    enum fmt f = o->fmt != FMT_GUESS ? o->fmt : guess(o->input, buf, len);
    if (f == FMT_MSGPACK)
        run_msgpack(&d, ws, &z, buf, len);
    else if (f == FMT_JSONL)
        run_jsonl(&d, ws, &z, buf, len);
    else
        run_text(&d, buf, len);
    run_rules(&d);
    mg_gateway_set_script_error_hook(d.gw, NULL, NULL);
    printf("moongate check: %u series, %u runtime error(s), %u input error(s)\n", d.series,
           d.runtime_errors, d.input_errors);
    status = d.input_errors ? 2 : d.runtime_errors ? 1 : 0;
out:
    if (zok)
        msgpack_zone_destroy(&z);
    mg_wire_scratch_free(ws);
    free(buf);
    mg_gateway_free(d.gw);
    mg_config_fini(&cfg);
    return status;
}

int mg_check_main(int argc, char **argv, void (*usage)(FILE *f))
{
    struct opts o;
    struct files fl;
    int status;
    memset(&fl, 0, sizeof(fl));
    if (parse(argc, argv, &o) || (!o.npaths && !o.config)) {
        usage(stderr);
        status = 2;
        goto out;
    }
    if (o.config && !o.input) {
        status = check_config(o.config);
        goto out;
    }
    if (check_paths(o.paths, o.rules, o.npaths, o.strict, &fl)) {
        status = 1;
        goto out;
    }
    if (o.input) {
        status = dry_run(&o, &fl);
        goto out;
    }
    printf("moongate check: %zu path(s) OK\n", o.npaths);
    if (fl.n[0])
        printf("moongate check: the scripts load; --input FILE runs them on sample series\n");
    status = 0;
out:
    files_fini(&fl);
    free(o.paths);
    free(o.rules);
    return status;
}
