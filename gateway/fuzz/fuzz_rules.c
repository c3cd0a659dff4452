/* fuzz_rules: libFuzzer over rule file loading: the bytes are a rules file
 * loaded in the rules sandbox (record, alert, their durations, labels and
 * annotations), and when it loads, its rules are evaluated twice over the
 * fixture's series, so expressions, the query object, alert states and the
 * annotation templates all run. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "mg_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mg_gateway *gw;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!gw)
        gw = fuzz_gateway();
    char why[256];
    const char *file = fuzz_as_file(data, size);
    if (mg_gateway_load(gw, NULL, 0, &file, 1, why, sizeof(why)) == 0) {
        for (int i = 0; i < 2; i++) {
            fuzz_push_fixture(gw, 10 + i);
            mg_gateway_advance(gw, 1);
        }
        struct mg_buf out = {0};
        mg_rules_alerts_json(mg_gateway_rules(gw), &out);
        mg_rules_rules_json(mg_gateway_rules(gw), &out);
        mg_buf_fini(&out);
    }
    return 0;
}
