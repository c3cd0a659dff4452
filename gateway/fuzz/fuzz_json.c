/* fuzz_json: libFuzzer over the JSON reader (mg_web_json) that parses the
 * explain form's labels and source (POST /api/v1/explain, from the
 * network) and `moongate check --input`'s JSON lines: the parse, then a
 * walk of every node through the accessors the callers use. Build with
 * -DMG_FUZZ=ON (clang). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mg_web_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches every node as a caller would: keys, strings, numbers, lengths. */
static void walk(const struct mg_jdoc *d, int i, int depth)
{
    if (depth > 64)
        abort(); /* the parser bounds nesting at 32 */
    for (; i >= 0; i = d->v[i].next) {
        const struct mg_jnode *n = &d->v[i];
        if ((size_t)i >= d->n)
            abort();
        if (n->key && strlen(n->key) > d->slen)
            abort();
        if (n->type == MG_JSTR && strlen(mg_jstr(d, i)) != n->n)
            abort(); /* a string with NUL inside must not be taken whole */
        (void)mg_jnum(d, i);
        (void)mg_jlen(d, i);
        if (n->type == MG_JOBJ) {
            (void)mg_jget(d, i, "metrics");
            (void)mg_jget(d, i, "name");
        }
        if (n->first >= 0)
            walk(d, n->first, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mg_jdoc d;
    memset(&d, 0, sizeof(d));
    if (mg_jdoc_parse(&d, (const char *)data, size) == 0) {
        if (!d.n)
            abort();
        walk(&d, 0, 0);
    } else if (d.n) {
        abort(); /* a failed parse leaves the document empty */
    }
    mg_jdoc_fini(&d);
    return 0;
}
