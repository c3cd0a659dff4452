/* Must not compile: store/ is below script/, so mg_pipeline.h is not on
 * its include path (the ctest build/layer_upward_include_refused). */
#include "mg_store.h"
#include "mg_pipeline.h"

int mg_layer_probe(void);
int mg_layer_probe(void)
{
    return 0;
}
