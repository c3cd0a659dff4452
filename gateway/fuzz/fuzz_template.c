/* fuzz_template: libFuzzer over the alert template expander: the bytes are
 * an annotation template expanded with a few labels and a value, into a
 * roomy buffer and into a tight one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define L(n, v) { n, v, sizeof(n) - 1, sizeof(v) - 1 }
static const struct mg_label labels[] = {
    L("alertname", "HighErrorRate"), L("instance", "127.0.0.1:9477"),
    L("job", "api"), L("status", "5xx"),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the expander takes a C string, as rules read it from Lua */
    char *tmpl = malloc(size + 1);
    if (!tmpl)
        return 0;
    memcpy(tmpl, data, size);
    tmpl[size] = '\0';
    char out[4096], tight[16];
    mg_template_expand(tmpl, labels, 4, 0.1234, out, sizeof(out));
    mg_template_expand(tmpl, labels, 2, 1e21, tight, sizeof(tight));
    mg_template_expand(tmpl, NULL, 0, -0.0 / 0.0 , out, sizeof(out));
    free(tmpl);
    return 0;
}
