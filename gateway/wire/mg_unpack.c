/* mg_unpack: msgpack_unpack's result without its per-object callbacks and
 * copies. Each object is decoded into the slot it ends up in: the root, an
 * array element, a map key or value (a map's pairs are one run of 2n
 * objects). A fixed stack of open containers, no recursion. */
#include "mg_unpack.h"

#include <stdint.h>
#include <string.h>

_Static_assert(sizeof(msgpack_object_kv) == 2 * sizeof(msgpack_object),
               "a map's pairs are filled as 2n objects");
_Static_assert(offsetof(msgpack_object_kv, val) == sizeof(msgpack_object),
               "a pair is a key then its value");

/* An open container: the slot being filled and the slots left, that one
 * included. A container stays open until its last element ends, as in
 * msgpack_unpack, whose depth limit counts the open ones. */
struct frame {
    msgpack_object *slot;
    size_t left;
};

/* What decoding a header past the one-byte forms found. */
enum step { DONE, OPEN_ARRAY, OPEN_MAP, TRUNCATED, PARSE_ERROR };

static inline uint32_t load16(const unsigned char *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t load32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t load64(const unsigned char *p)
{
    return (uint64_t)load32(p) << 32 | load32(p + 4);
}

/* A field of w bytes (1, 2, 4 or 8), big-endian. */
static inline uint64_t load(const unsigned char *p, unsigned w)
{
    switch (w) {
    case 1: return p[0];
    case 2: return load16(p);
    case 4: return load32(p);
    default: return load64(p);
    }
}

/* msgpack-c classifies a signed integer by its value, not its encoding. */
static inline void put_signed(msgpack_object *o, int64_t v)
{
    if (v >= 0) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = (uint64_t)v;
    } else {
        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        o->via.i64 = v;
    }
}

/* str or bin of n bytes at *pp. */
static inline enum step put_bytes(const unsigned char **pp, const unsigned char *end,
                                  msgpack_object *o, msgpack_object_type type, uint32_t n)
{
    if ((size_t)(end - *pp) < n)
        return TRUNCATED;
    o->type = type;
    o->via.str.ptr = (const char *)*pp; /* bin's fields are laid out alike */
    o->via.str.size = n;
    *pp += n;
    return DONE;
}

/* An ext: n is its data length plus the type byte, 32-bit like
 * msgpack-c's, whose length 0xffffffff wraps to 0 and is refused. */
static enum step put_ext(const unsigned char **pp, const unsigned char *end,
                         msgpack_object *o, uint32_t n)
{
    if (n == 0)
        return PARSE_ERROR;
    if ((size_t)(end - *pp) < n)
        return TRUNCATED;
    o->type = MSGPACK_OBJECT_EXT;
    o->via.ext.type = (int8_t)(*pp)[0];
    o->via.ext.ptr = (const char *)*pp + 1;
    o->via.ext.size = n - 1;
    *pp += n;
    return DONE;
}

/* A header other than fixstr, positive fixint, fixmap and fixarray (the
 * one-byte forms a metric is made of), already consumed from *pp. A
 * container's element count goes to *count. */
static enum step decode_other(const unsigned char **pp, const unsigned char *end,
                              msgpack_object *o, unsigned h, uint32_t *count)
{
    static const unsigned char width[32] = {
        [0x04] = 1, [0x05] = 2, [0x06] = 4,              /* bin */
        [0x07] = 1, [0x08] = 2, [0x09] = 4,              /* ext */
        [0x0a] = 4, [0x0b] = 8,                          /* float */
        [0x0c] = 1, [0x0d] = 2, [0x0e] = 4, [0x0f] = 8,  /* uint */
        [0x10] = 1, [0x11] = 2, [0x12] = 4, [0x13] = 8,  /* int */
        [0x19] = 1, [0x1a] = 2, [0x1b] = 4,              /* str */
        [0x1c] = 2, [0x1d] = 4, [0x1e] = 2, [0x1f] = 4,  /* array, map */
    };
    if (h >= 0xe0) {
        put_signed(o, (int8_t)h);
        return DONE;
    }
    if (h >= 0xd4 && h <= 0xd8) /* fixext: the type byte and 1..16 bytes */
        return put_ext(pp, end, o, (1u << (h - 0xd4)) + 1);
    unsigned w = width[h & 0x1f];
    if ((size_t)(end - *pp) < w)
        return TRUNCATED;
    uint64_t v = w ? load(*pp, w) : 0;
    *pp += w;
    switch (h) {
    case 0xc0: o->type = MSGPACK_OBJECT_NIL; return DONE;
    case 0xc2: case 0xc3:
        o->type = MSGPACK_OBJECT_BOOLEAN;
        o->via.boolean = h == 0xc3;
        return DONE;
    case 0xc4: case 0xc5: case 0xc6:
        return put_bytes(pp, end, o, MSGPACK_OBJECT_BIN, (uint32_t)v);
    case 0xc7: case 0xc8: case 0xc9:
        return put_ext(pp, end, o, (uint32_t)v + 1);
    case 0xca: {
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, sizeof(f));
        o->type = MSGPACK_OBJECT_FLOAT32;
        o->via.f64 = f;
        return DONE;
    }
    case 0xcb:
        o->type = MSGPACK_OBJECT_FLOAT64;
        memcpy(&o->via.f64, &v, sizeof(v));
        return DONE;
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = v;
        return DONE;
    case 0xd0: put_signed(o, (int8_t)v); return DONE;
    case 0xd1: put_signed(o, (int16_t)v); return DONE;
    case 0xd2: put_signed(o, (int32_t)v); return DONE;
    case 0xd3: put_signed(o, (int64_t)v); return DONE;
    case 0xd9: case 0xda: case 0xdb:
        return put_bytes(pp, end, o, MSGPACK_OBJECT_STR, (uint32_t)v);
    case 0xdc: case 0xdd:
        *count = (uint32_t)v;
        return OPEN_ARRAY;
    case 0xde: case 0xdf:
        *count = (uint32_t)v;
        return OPEN_MAP;
    default: /* 0xc1, never used */
        return PARSE_ERROR;
    }
}

/* One pass, the position, the open containers and the slot being filled
 * in registers; the rare headers go to decode_other. */
msgpack_unpack_return mg_unpack(const char *data, size_t len, size_t *off,
                                msgpack_zone *z, msgpack_object *root)
{
    size_t start = off ? *off : 0;
    if (len <= start)
        return MSGPACK_UNPACK_CONTINUE;
    const unsigned char *p = (const unsigned char *)data + start;
    const unsigned char *const end = (const unsigned char *)data + len;
    /* the innermost open container's slot and slots left stay in o and
     * left; stack[i] keeps those of the (i + 1)th while deeper ones are open */
    struct frame stack[MG_UNPACK_MAX_DEPTH];
    unsigned depth = 0;
    size_t left = 0;
    msgpack_object top;
    msgpack_object *o = &top;
    for (;;) {
        uint32_t n;
        msgpack_object_type type;
        if (p == end)
            goto truncated;
        unsigned h = *p++;
        if (h >= 0xa0 && h <= 0xbf) {
            n = h & 0x1f;
            if ((size_t)(end - p) < n)
                goto truncated;
            o->type = MSGPACK_OBJECT_STR;
            o->via.str.ptr = (const char *)p;
            o->via.str.size = n;
            p += n;
        } else if (h <= 0x7f) {
            o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            o->via.u64 = h;
        } else if (h <= 0x9f) {
            n = h & 0x0f;
            type = h <= 0x8f ? MSGPACK_OBJECT_MAP : MSGPACK_OBJECT_ARRAY;
            goto open;
        } else {
            switch (decode_other(&p, end, o, h, &n)) {
            case DONE: break;
            case OPEN_ARRAY: type = MSGPACK_OBJECT_ARRAY; goto open;
            case OPEN_MAP: type = MSGPACK_OBJECT_MAP; goto open;
            case TRUNCATED: goto truncated;
            case PARSE_ERROR: return MSGPACK_UNPACK_PARSE_ERROR;
            }
        }
    finished: /* o is whole: close what it completes, move to the next slot */
        for (;;) {
            if (!depth)
                goto whole;
            if (--left) {
                o++;
                break;
            }
            if (--depth) {
                o = stack[depth - 1].slot;
                left = stack[depth - 1].left;
            }
        }
        continue;
    open: {
        if (depth >= MG_UNPACK_MAX_DEPTH)
            return MSGPACK_UNPACK_NOMEM_ERROR;
        /* each slot takes a byte at least: a claim the bytes left cannot
         * hold gets only what they can, and the input ends first */
        size_t slots = type == MSGPACK_OBJECT_MAP ? 2 * (size_t)n : n;
        size_t fit = slots < (size_t)(end - p) ? slots : (size_t)(end - p);
        msgpack_object *s = msgpack_zone_malloc(z, fit * sizeof(msgpack_object));
        if (!s)
            return MSGPACK_UNPACK_NOMEM_ERROR;
        o->type = type;
        o->via.array.size = n; /* a map's size and pairs sit in the same places */
        o->via.array.ptr = s;
        if (n == 0)
            goto finished;
        if (depth)
            stack[depth - 1] = (struct frame){ o, left };
        depth++;
        o = s;
        left = slots;
    }
    }
whole:
    *root = top;
    if (off)
        *off = (size_t)((const char *)p - data);
    return p < end ? MSGPACK_UNPACK_EXTRA_BYTES : MSGPACK_UNPACK_SUCCESS;
truncated:
    if (off)
        *off = (size_t)((const char *)p - data);
    return MSGPACK_UNPACK_CONTINUE;
}
