/* Must compile: store/ sees its own headers and util/'s (the ctest
 * build/layer_downward_include_accepted, the control for the probe above). */
#include "mg_store.h"
#include "mg_slab.h"

int mg_layer_probe(void);
int mg_layer_probe(void)
{
    return 0;
}
