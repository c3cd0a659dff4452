/* mg_tree_same: whether two msgpack_object trees are the same, with str,
 * bin and ext compared by address (both decoders point into one input).
 * Shared by test_unpack and fuzz_unpack, which hold mg_unpack to
 * msgpack_unpack. */
#ifndef MG_TREE_SAME_H
#define MG_TREE_SAME_H

#include <stdint.h>
#include <string.h>

#include <msgpack.h>

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

#endif
