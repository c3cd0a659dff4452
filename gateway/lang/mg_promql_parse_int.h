/* mg_promql_parse_int: what mg_promql_lex.c (tokens, literals, errors,
 * the parse's allocations) shares with mg_promql_parse.c (the grammar).
 * Private to those two files. */
#ifndef MG_PROMQL_PARSE_INT_H
#define MG_PROMQL_PARSE_INT_H

#include "mg_promql_parse.h"

struct mg_pq {
    char *src;
    size_t n;
    struct mg_pq_node *root;
    void **mem;   /* every allocation, freed together */
    size_t nmem, capmem;
    struct mg_selector **sels; /* every parsed selector */
    size_t nsels, capsels;
    struct mg_pq_node **rx;    /* the nodes holding a regex */
    size_t nrx, caprx;
};

enum tok {
    T_EOF, T_NUM, T_STR, T_IDENT, T_LPAREN, T_RPAREN, T_LBRACE, T_LBRACK,
    T_RBRACK, T_COMMA, T_COLON, T_AT, T_OP, T_BAD,
};

struct parser {
    struct mg_pq *pq;
    const char *s;
    size_t n, pos;
    /* the current token */
    enum tok t;
    size_t tpos, tlen;
    int op;          /* T_OP */
    int depth;
    int err;         /* 0, -EINVAL, -ENOMEM */
    char *why;
    size_t whylen;
};


/* sz zeroed bytes freed with the expression; NULL (p->err set) on ENOMEM. */
void *pq_mem(struct parser *p, size_t sz);
/* Record the first error: a parse error at pos as Prometheus words it
 * ("L:C: parse error: ..."), or what moongate does not evaluate, named.
 * Return NULL for the caller to return. */
void *pq_fail(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void *pq_unsupported(struct parser *p, size_t pos, const char *what,
                     const char *name);
void *pq_unexpected(struct parser *p, const char *in);
/* Reads the next token into p->t. */
void pq_lex(struct parser *p);
/* Whether the token is the identifier word. */
int pq_tok_is(const struct parser *p, const char *word);
/* Consumes a token of type t or fails: 0 or -1. */
int pq_expect(struct parser *p, enum tok t, const char *in);
/* A number token (float, hex, or a duration as seconds): 0 or -1. */
int pq_read_number(const char *s, size_t n, double *out);
/* The current string token unescaped as Go's strconv.Unquote does. */
char *pq_read_string(struct parser *p, size_t *outlen);

#endif
