/* fuzz_template: libFuzzer over the alert template parser and evaluator:
 * any bytes compile or are refused, and what compiles expands within its
 * output buffer against fixed labels. Build with -DMG_FUZZ=ON (clang). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct mg_label labels[] = {
        {"instance", "node-1.example.com:9100", 8, 23},
        {"job", "node", 3, 4},
    };
    static const struct mg_label ext[] = {{"cluster", "eu-1", 7, 4}};
    struct mg_tmpl *t;
    char why[200], out[512];
    if (size > 1 << 14)
        return 0;
    if (mg_tmpl_compile((const char *)data, size, &t, why, sizeof(why)))
        return 0;
    struct mg_tmpl_data d = {labels, 2, ext, 1, "https://prom.example.com", 0.125};
    mg_tmpl_expand(t, &d, out, sizeof(out));
    if (strlen(out) >= sizeof(out))
        abort();
    mg_tmpl_free(t);
    return 0;
}
