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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_bytes(const char *a, const char *b, uint32_t n)
{
    return n == 0 || a == b; /* msgpack-c leaves an empty one's pointer stale */
}

static int same_tree(const msgpack_object *a, const msgpack_object *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case MSGPACK_OBJECT_NIL:
        return 1;
    case MSGPACK_OBJECT_BOOLEAN:
        return a->via.boolean == b->via.boolean;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return a->via.u64 == b->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return a->via.i64 == b->via.i64;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return memcmp(&a->via.f64, &b->via.f64, sizeof(double)) == 0;
    case MSGPACK_OBJECT_STR:
        return a->via.str.size == b->via.str.size &&
               same_bytes(a->via.str.ptr, b->via.str.ptr, a->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return a->via.bin.size == b->via.bin.size &&
               same_bytes(a->via.bin.ptr, b->via.bin.ptr, a->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return a->via.ext.type == b->via.ext.type && a->via.ext.size == b->via.ext.size &&
               same_bytes(a->via.ext.ptr, b->via.ext.ptr, a->via.ext.size);
    case MSGPACK_OBJECT_ARRAY:
        if (a->via.array.size != b->via.array.size)
            return 0;
        for (uint32_t i = 0; i < a->via.array.size; i++)
            if (!same_tree(&a->via.array.ptr[i], &b->via.array.ptr[i]))
                return 0;
        return 1;
    case MSGPACK_OBJECT_MAP:
        if (a->via.map.size != b->via.map.size)
            return 0;
        for (uint32_t i = 0; i < a->via.map.size; i++)
            if (!same_tree(&a->via.map.ptr[i].key, &b->via.map.ptr[i].key) ||
                !same_tree(&a->via.map.ptr[i].val, &b->via.map.ptr[i].val))
                return 0;
        return 1;
    }
    return 0;
}

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
