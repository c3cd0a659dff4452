/* mg_web_json: a small JSON reader for the web pages: they render the
 * API's own JSON twins (so a page and its twin cannot disagree), and the
 * explain form's labels and source arrive as JSON objects. Owns a parsed
 * document: nodes by index, strings unescaped into one buffer. */
#ifndef MG_WEB_JSON_H
#define MG_WEB_JSON_H

#include <stddef.h>

enum mg_jtype { MG_JNULL, MG_JFALSE, MG_JTRUE, MG_JNUM, MG_JSTR, MG_JARR, MG_JOBJ };

struct mg_jnode {
    enum mg_jtype type;
    int first;          /* first child (array item, object member); -1 none */
    int next;           /* next sibling; -1 none */
    const char *key;    /* a member's name (NUL-terminated), else NULL */
    const char *s;      /* a string (NUL-terminated) or a number's text */
    size_t n;           /* its length */
    double num;
};

struct mg_jdoc {
    struct mg_jnode *v;
    size_t n, cap;
    char *str;          /* every string and key, unescaped */
    size_t slen;
};

/* Parses len bytes; nesting past 32 levels, trailing bytes or bad syntax
 * fail. Node 0 is the root. 0, or -1 (-ENOMEM: -2) with the document
 * empty. */
int mg_jdoc_parse(struct mg_jdoc *d, const char *p, size_t len);
void mg_jdoc_fini(struct mg_jdoc *d);
/* The member key of object i, or -1 (also when i is -1 or no object). */
int mg_jget(const struct mg_jdoc *d, int i, const char *key);
/* A node's string ("" for a missing or non-string node). */
const char *mg_jstr(const struct mg_jdoc *d, int i);
/* A node's number (0 unless a number). */
double mg_jnum(const struct mg_jdoc *d, int i);
/* Children of i (-1: none). */
size_t mg_jlen(const struct mg_jdoc *d, int i);

#endif
