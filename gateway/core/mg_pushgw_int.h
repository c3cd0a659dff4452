/* mg_pushgw_int: the group table's structure, shared by mg_pushgw.c (the
 * pushes), mg_pushgw_json.c (what GET /api/v1/metrics reads) and
 * mg_pushgw_snap.c (the snapshot section). Nothing else includes it. */
#ifndef MG_PUSHGW_INT_H
#define MG_PUSHGW_INT_H

#include "mg_names.h"
#include "mg_pushgw.h"
#include "mg_regex.h"

/* A family as the group last pushed it. */
struct mg_pushgw_fam {
    char *name;
    uint32_t nlen;
    enum mg_type type;
    char *help;    /* NULL: none */
    int64_t ts_ms; /* its last push */
};

/* An input series the group owns: its index in the store and its
 * identity hash, so an index the store reused is never taken for ours. */
struct mg_pushgw_ser {
    uint32_t idx;
    uint64_t hash;
};

struct mg_pushgw_group {
    uint32_t id;              /* slot in the table */
    struct mg_label *labels;  /* the grouping key, sorted; strings in key */
    size_t nlabels;
    char *key;                /* name \0 value \0 ...: the table's key */
    size_t keylen;
    int64_t push_ms, fail_ms; /* 0: never */
    double ttl;               /* seconds; 0: never expires */
    struct mg_pushgw_fam *fam;
    size_t nfam, capfam;
    struct mg_pushgw_ser *ser;
    size_t nser, capser;
};

struct mg_pushgw_ttl_rule {
    struct mg_regex *re;
    double seconds;
};

struct mg_pushgw {
    struct mg_gateway *gw;
    const struct mg_config *cfg;
    struct mg_pushgw_group **groups; /* by id; NULL where one was removed */
    size_t ngroups, capgroups;
    struct mg_names bykey;
    uint32_t *owner;                 /* by input index: group id + 1 */
    uint32_t *mark;                  /* by input index: push serial */
    size_t capowner;
    uint32_t serial;
    struct mg_pushgw_ttl_rule ttl[MG_MAX_PUSHGW_TTL];
    size_t nttl;
    struct mg_rematch *m;
    int64_t start_ms;
    struct mg_label *lab, *src;      /* scratch for one sample */
    enum mg_reason last_reason;      /* why the last request got a 400 */
};

/* The live input a group entry names, or NULL when it is gone. */
struct mg_input *mg_pushgw_input(struct mg_pushgw *pg,
                                 const struct mg_pushgw_ser *s);

/* For the snapshot's restore: the group of grouping key v (n labels,
 * sorted), made when new; NULL on ENOMEM. */
struct mg_pushgw_group *mg_pushgw_group_get(struct mg_pushgw *pg,
                                            const struct mg_label *v, size_t n);
/* Records that g owns live input idx. */
void mg_pushgw_own(struct mg_pushgw *pg, struct mg_pushgw_group *g,
                   uint32_t idx);
/* Sets g's family as JSON shows it (help NULL: none). */
void mg_pushgw_fam_set(struct mg_pushgw_group *g, const char *name, size_t n,
                       enum mg_type t, const char *help, size_t hlen,
                       int64_t ts_ms);

#endif
