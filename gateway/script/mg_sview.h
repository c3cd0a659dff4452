/* mg_sview: the s a transform sees. s and s.labels are views: light
 * userdata whose metamethods read and write the pipeline's label builder in
 * place, so a new series allocates nothing for them, not a table of its
 * labels built and read back. Each call's views are values of their own:
 * one kept past its call refuses use instead of showing another series. */
#ifndef MG_SVIEW_H
#define MG_SVIEW_H
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "mg_lbuild.h"

#define MG_HELP_MAX 4096 /* as the wire keeps of a pushed HELP */

/* What a transform may set besides the name and labels. */
struct mg_sview_fields {
    double scale;      /* 1: unscaled */
    int64_t ttl_ms;    /* -1: the message's */
    int help_set;
    size_t help_len;
    char help[MG_HELP_MAX + 1];
};

struct mg_sview {
    struct mg_lbuild *lb;          /* the series, __name__ included */
    const char *type;              /* its type's name; cannot change */
    const struct mg_label *source; /* the producer's labels, for s.source */
    size_t nsource;
    struct mg_sview_fields cur;    /* what earlier transforms left */
    struct {                       /* this call's, kept if s is returned */
        double scale;
        int64_t ttl_ms;
    } staged;
    int stage_scale, stage_ttl, stage_help; /* 0: untouched this call */
    void *s, *labels;              /* this call's views; NULL outside */
    uint64_t call;                 /* this call's number, in its views */
    int labels_kind;               /* SV_* in mg_sview.c */
    int slots;                     /* registry ref, made by mg_sview_init */
    const char *field_key[7];      /* s's field names as interned in L */
    const char *last_name;         /* the last s.name's bytes, anchored */
    size_t last_name_len;          /* in the slots table */
    int source_made;
};

/* Why a HELP text is refused, or NULL when it is fine. */
const char *mg_help_invalid(const char *t, size_t n);

/* Makes the proxies' metatables in L (once, when the scripts' state is
 * made); v must outlive L. 0, or -1 when L is out of memory. */
int mg_sview_init(lua_State *L, struct mg_sview *v);
/* Starts a call: pushes this call's s. */
void mg_sview_begin(lua_State *L, struct mg_sview *v);
/* Reads what the transform returned at idx into v->lb and v->cur; raises a
 * Lua error placed at where when it is not a series. Returns 1 when the
 * series is kept, 0 when the transform dropped it. */
int mg_sview_finish(lua_State *L, struct mg_sview *v, int idx,
                    const char *where);
/* Ends the call: the proxies refuse use from now on. */
void mg_sview_end(struct mg_sview *v);
#endif
