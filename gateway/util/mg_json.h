/* mg_json: JSON strings into an mg_buf: escaped, and kept valid UTF-8
 * whatever bytes they quote (invalid ones become U+FFFD). */
#ifndef MG_JSON_H
#define MG_JSON_H

#include <stddef.h>

#include "mg_buf.h"

void mg_json_str(struct mg_buf *b, const char *s, size_t n);
static inline void mg_json_cstr(struct mg_buf *b, const char *s)
{
    mg_json_str(b, s, strlen(s));
}

#endif
