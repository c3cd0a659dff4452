/* fuzz_unpack: libFuzzer over mg_unpack against msgpack-c's msgpack_unpack
 * on the same bytes: the same return code, the same offset and, on
 * success, the same tree (types, values, and str/bin/ext pointing at the
 * same bytes), object after object while bytes remain. Aborts on the
 * first difference. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_unpack.h"
#include "../tests/mg_tree_same.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* msgpack-c allocates whatever an array or map header claims, up to 4
 * billion pairs, and large allocations under ASan cost milliseconds each;
 * mg_unpack does not allocate them. Claims above 1 Ki are cut to their low
 * 10 bits so msgpack-c can follow quickly; a claim still beyond the bytes
 * left keeps mg_unpack's cap exercised. The header byte may as well be
 * inside a string: both decoders read the same changed copy. */
static void cut_huge_claims(unsigned char *b, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i++) {
        switch (b[i]) {
        case 0xdc: case 0xde: /* 16-bit count */
            b[i + 1] &= 0x03;
            break;
        case 0xdd: case 0xdf: /* 32-bit count */
            if (i + 5 <= n) {
                b[i + 1] = b[i + 2] = 0;
                b[i + 3] &= 0x03;
            }
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    cut_huge_claims(buf, size);
    const char *p = (const char *)buf;
    static msgpack_zone *ours, *theirs;
    if (!ours && (!(ours = msgpack_zone_new(4096)) || !(theirs = msgpack_zone_new(4096))))
        abort();
    msgpack_zone_clear(ours);
    msgpack_zone_clear(theirs);
    size_t off = 0;
    for (;;) {
        size_t off_ours = off, off_theirs = off;
        msgpack_object root_ours, root_theirs;
        int rc_ours = mg_unpack(p, size, &off_ours, ours, &root_ours);
        int rc_theirs = msgpack_unpack(p, size, &off_theirs, theirs, &root_theirs);
        if (rc_ours != rc_theirs || off_ours != off_theirs) {
            fprintf(stderr, "fuzz_unpack: at %zu: mg_unpack %d off %zu, msgpack_unpack %d off %zu\n",
                    off, rc_ours, off_ours, rc_theirs, off_theirs);
            abort();
        }
        if (rc_ours != MSGPACK_UNPACK_SUCCESS && rc_ours != MSGPACK_UNPACK_EXTRA_BYTES)
            break;
        if (!same_tree(&root_ours, &root_theirs)) {
            fprintf(stderr, "fuzz_unpack: at %zu: the trees differ\n", off);
            abort();
        }
        if (rc_ours == MSGPACK_UNPACK_SUCCESS)
            break;
        off = off_ours;
    }
    free(buf);
    return 0;
}
