/* mg_json: string escaping. */
#include "mg_json.h"

#include <stdio.h>

#include "mg_utf8.h"

void mg_json_str(struct mg_buf *b, const char *s, size_t n)
{
    mg_buf_addc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t k = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
            if (k > 1 && i + k <= n && mg_utf8_valid(s + i, k)) {
                mg_buf_add(b, s + i, k);
                i += k;
            } else {
                mg_buf_add(b, "\xef\xbf\xbd", 3);
                i++;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            mg_buf_addc(b, '\\');
            mg_buf_addc(b, (char)c);
        } else if (c < 0x20) {
            char tmp[8];
            snprintf(tmp, sizeof(tmp), "\\u%04x", c);
            mg_buf_adds(b, tmp);
        } else {
            mg_buf_addc(b, (char)c);
        }
        i++;
    }
    mg_buf_addc(b, '"');
}
