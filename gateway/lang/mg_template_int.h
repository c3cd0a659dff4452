/* mg_template_int: the compiled template (an AST in one arena) shared by
 * the parser (mg_template.c), the evaluator (mg_template_exec.c) and the
 * functions (mg_template_fn.c). */
#ifndef MG_TEMPLATE_INT_H
#define MG_TEMPLATE_INT_H

#include <stddef.h>

#include "mg_template.h"

#define TMPL_MAX_ARGS 16   /* operands in one command */
#define TMPL_MAX_CMDS 16   /* commands in one pipeline */
#define TMPL_MAX_DEPTH 32  /* nested if/range/with and parentheses */
#define TMPL_MAX_VARS 64   /* variables in scope */
#define TMPL_MAX_CHAIN 8   /* .A.B.C */

enum tmpl_vt { V_NIL, V_STR, V_NUM, V_BOOL, V_MAP, V_ROOT };

struct tmpl_val {
    enum tmpl_vt t;
    int isint;                      /* a V_NUM written without . or e */
    double n;
    const char *s;                  /* V_STR: not NUL-terminated */
    size_t len;
    const struct mg_label *m;       /* V_MAP: sorted by name */
    size_t mn;
};

enum tmpl_ak { A_DOT, A_FIELD, A_VAR, A_CONST, A_FUNC, A_PIPE };

struct tmpl_pipe;

struct tmpl_arg {
    enum tmpl_ak k;
    struct tmpl_val c;              /* A_CONST */
    int var;                        /* A_VAR: the slot */
    int fn;                         /* A_FUNC: index into the table */
    const char **chain;             /* A_FIELD, A_VAR: .Field names */
    size_t nchain;
    struct tmpl_pipe *sub;          /* A_PIPE */
};

struct tmpl_cmd {
    struct tmpl_arg *args;
    size_t nargs;
};

struct tmpl_pipe {
    int decl;                       /* 0, 1 ":=" or 2 "=" */
    int vars[2], nvars;             /* slots declared or assigned */
    struct tmpl_cmd *cmds;
    size_t ncmds;
};

enum tmpl_nk { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH };

struct tmpl_node {
    enum tmpl_nk k;
    struct tmpl_node *next;
    const char *text;               /* N_TEXT */
    size_t len;
    struct tmpl_pipe *pipe;
    struct tmpl_node *body, *els;   /* N_IF, N_RANGE, N_WITH */
    int nvars_after;                /* the scope's size after the block */
};

struct chunk;

struct mg_tmpl {
    struct tmpl_node *root;
    struct chunk *arena;
    int nslots;                     /* variable slots the evaluator needs */
};

/* The evaluation's state, for the functions. */
struct tmpl_exec {
    const struct mg_tmpl_data *d;
    char pool[16384];               /* strings made while evaluating */
    size_t used;
    struct tmpl_val vars[TMPL_MAX_VARS];
    char err[200];
};

typedef int (*tmpl_fn)(struct tmpl_exec *x, const struct tmpl_val *a, int n,
                       struct tmpl_val *out);

struct tmpl_func {
    const char *name;
    int min, max;                   /* argument counts; max -1: any */
    tmpl_fn f;
};

extern const struct tmpl_func mg_tmpl_funcs[];
int mg_tmpl_func_find(const char *name, size_t n);

/* Helpers of the evaluator the functions use. */
char *tmpl_alloc(struct tmpl_exec *x, size_t n);
int tmpl_err(struct tmpl_exec *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int tmpl_truth(const struct tmpl_val *v);
/* v as Go's fmt %v prints it, into the pool. */
int tmpl_print(struct tmpl_exec *x, const struct tmpl_val *v, const char **s,
               size_t *n);
/* v as a float64, as Prometheus's convertToFloat: numbers and strings. */
int tmpl_float(struct tmpl_exec *x, const struct tmpl_val *v, double *out);
void tmpl_go_float(char *buf, size_t len, double v, char verb, int prec);

#endif
