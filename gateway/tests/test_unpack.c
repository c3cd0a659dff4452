/* test_unpack: mg_unpack gives what msgpack_unpack gives (return code,
 * offset, tree) for every type and width, every truncation of a metric
 * message, the nesting limit, 0xc1, and several objects in one buffer;
 * and where msgpack-c would allocate what a header claims, mg_unpack
 * allocates only what the bytes can fill. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "mg_test.h"
#include "mg_tree_same.h"
#include "mg_unpack.h"

/* Both decoders on data[0..len) from *off; checks they agree, returns
 * mg_unpack's code, leaves its offset in *off and its tree in *root. */
#define AGREE(data, len, off, root) agree(__LINE__, (const char *)(data), (len), (off), (root))

static msgpack_zone *zone_ours, *zone_theirs;

static int agree(int line, const char *data, size_t len, size_t *off, msgpack_object *root)
{
    MG_TEST_CASE();
    size_t off_theirs = *off;
    msgpack_object theirs;
    int rc = mg_unpack(data, len, off, zone_ours, root);
    int rc_theirs = msgpack_unpack(data, len, &off_theirs, zone_theirs, &theirs);
    if (rc != rc_theirs || *off != off_theirs)
        FAIL_AT(line, "len %zu: mg_unpack %d off %zu, msgpack_unpack %d off %zu", len, rc,
                *off, rc_theirs, off_theirs);
    else if ((rc == MSGPACK_UNPACK_SUCCESS || rc == MSGPACK_UNPACK_EXTRA_BYTES) &&
             !same_tree(root, &theirs))
        FAIL_AT(line, "len %zu: the trees differ", len);
    return rc;
}

/* One object: decoded whole, the same as msgpack-c, of the expected type. */
static void check_one(int line, const unsigned char *b, size_t n, msgpack_object_type type)
{
    size_t off = 0;
    msgpack_object o;
    int rc = agree(line, (const char *)b, n, &off, &o);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != n || o.type != type)
        FAIL_AT(line, "rc %d off %zu type %d, want success at %zu type %d", rc, off,
                (int)o.type, n, (int)type);
}

#define ONE(type, ...)                                                        \
    do {                                                                      \
        static const unsigned char b_[] = {__VA_ARGS__};                      \
        check_one(__LINE__, b_, sizeof(b_), MSGPACK_OBJECT_##type);           \
    } while (0)

static void test_every_type(void)
{
    ONE(NIL, 0xc0);
    ONE(BOOLEAN, 0xc2);
    ONE(BOOLEAN, 0xc3);
    ONE(POSITIVE_INTEGER, 0x00);
    ONE(POSITIVE_INTEGER, 0x7f);
    ONE(NEGATIVE_INTEGER, 0xe0);
    ONE(NEGATIVE_INTEGER, 0xff);
    ONE(POSITIVE_INTEGER, 0xcc, 0xff);
    ONE(POSITIVE_INTEGER, 0xcd, 0xff, 0xfe);
    ONE(POSITIVE_INTEGER, 0xce, 0xff, 0xfe, 0xfd, 0xfc);
    ONE(POSITIVE_INTEGER, 0xcf, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8);
    /* a signed encoding of a value >= 0 is a positive integer */
    ONE(POSITIVE_INTEGER, 0xd0, 0x05);
    ONE(POSITIVE_INTEGER, 0xd1, 0x7f, 0xff);
    ONE(POSITIVE_INTEGER, 0xd2, 0x00, 0x00, 0x00, 0x00);
    ONE(POSITIVE_INTEGER, 0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    ONE(NEGATIVE_INTEGER, 0xd0, 0x80);
    ONE(NEGATIVE_INTEGER, 0xd1, 0x80, 0x00);
    ONE(NEGATIVE_INTEGER, 0xd2, 0xff, 0xff, 0xff, 0xfe);
    ONE(NEGATIVE_INTEGER, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0);
    ONE(FLOAT32, 0xca, 0x3f, 0xc0, 0x00, 0x00);
    ONE(FLOAT32, 0xca, 0x7f, 0xc0, 0x00, 0x01); /* NaN, payload kept */
    ONE(FLOAT64, 0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18);
    ONE(FLOAT64, 0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0);
    ONE(STR, 0xa0);
    ONE(STR, 0xa3, 'j', 'o', 'b');
    ONE(STR, 0xd9, 0x00);
    ONE(STR, 0xd9, 0x02, 'o', 'k');
    ONE(STR, 0xda, 0x00, 0x01, 'x');
    ONE(STR, 0xdb, 0x00, 0x00, 0x00, 0x02, 'h', 'i');
    ONE(BIN, 0xc4, 0x00);
    ONE(BIN, 0xc4, 0x01, 0xff);
    ONE(BIN, 0xc5, 0x00, 0x02, 1, 2);
    ONE(BIN, 0xc6, 0x00, 0x00, 0x00, 0x01, 7);
    ONE(EXT, 0xd4, 0x01, 0xaa);
    ONE(EXT, 0xd5, 0xff, 1, 2);
    ONE(EXT, 0xd6, 0x80, 1, 2, 3, 4);
    ONE(EXT, 0xd7, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8);
    ONE(EXT, 0xd8, 0x02, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    ONE(EXT, 0xc7, 0x00, 0x05);
    ONE(EXT, 0xc7, 0x02, 0x05, 1, 2);
    ONE(EXT, 0xc8, 0x00, 0x01, 0xfe, 9);
    ONE(EXT, 0xc9, 0x00, 0x00, 0x00, 0x00, 0x03);
    ONE(ARRAY, 0x90);
    ONE(ARRAY, 0x92, 0x01, 0xa1, 'x');
    ONE(ARRAY, 0xdc, 0x00, 0x00);
    ONE(ARRAY, 0xdc, 0x00, 0x01, 0xc0);
    ONE(ARRAY, 0xdd, 0x00, 0x00, 0x00, 0x02, 0xc2, 0xc3);
    ONE(MAP, 0x80);
    ONE(MAP, 0x81, 0xa1, 'k', 0x92, 0x80, 0x90);
    ONE(MAP, 0xde, 0x00, 0x00);
    ONE(MAP, 0xde, 0x00, 0x01, 0x01, 0x02);
    ONE(MAP, 0xdf, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x91, 0x81, 0x01, 0x02);
}

/* Never-used 0xc1 anywhere, and an ext 32 whose length + 1 wraps to 0, are
 * parse errors; the offset stays. */
static void test_parse_errors(void)
{
    static const unsigned char c1[] = {0xc1};
    static const unsigned char nested[] = {0x82, 0xa1, 'a', 0x91, 0xc1, 0x01, 0x02};
    static const unsigned char wraps[] = {0xc9, 0xff, 0xff, 0xff, 0xff};
    msgpack_object o;
    size_t off = 0;
    CHECK(AGREE(c1, sizeof(c1), &off, &o) == MSGPACK_UNPACK_PARSE_ERROR && off == 0);
    CHECK(AGREE(nested, sizeof(nested), &off, &o) == MSGPACK_UNPACK_PARSE_ERROR && off == 0);
    CHECK(AGREE(wraps, sizeof(wraps), &off, &o) == MSGPACK_UNPACK_PARSE_ERROR && off == 0);
}

/* A metric message as clients send it, truncated at every byte: the same
 * code (CONTINUE) and the same offset as msgpack-c at each. */
static void test_truncations(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "ack", 3);
    msgpack_pack_uint32(&pk, 70000);
    msgpack_pack_str_with_body(&pk, "metrics", 7);
    msgpack_pack_array(&pk, 2);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_map(&pk, 5);
        msgpack_pack_str_with_body(&pk, "name", 4);
        msgpack_pack_str_with_body(&pk, "http_requests_total", 19);
        msgpack_pack_str_with_body(&pk, "type", 4);
        msgpack_pack_str_with_body(&pk, "counter", 7);
        msgpack_pack_str_with_body(&pk, "value", 5);
        if (i)
            msgpack_pack_double(&pk, -1.5);
        else
            msgpack_pack_int64(&pk, -300);
        msgpack_pack_str_with_body(&pk, "ttl", 3);
        msgpack_pack_float(&pk, 2.5f);
        msgpack_pack_str_with_body(&pk, "labels", 6);
        msgpack_pack_map(&pk, 6);
        static const char *const kv[] = {"job", "api", "instance", "a:9", "status", "200",
                                         "method", "GET", "path", "/x", "region", "eu"};
        for (int k = 0; k < 12; k++)
            msgpack_pack_str_with_body(&pk, kv[k], strlen(kv[k]));
    }
    msgpack_pack_bin_with_body(&pk, "\x01\x02", 2);
    msgpack_pack_ext_with_body(&pk, "\x03\x04\x05", 3, 7);
    for (size_t n = 0; n <= sb.size; n++) {
        size_t off = 0;
        msgpack_object o;
        int rc = AGREE(sb.data, n, &off, &o);
        int want = n < sb.size - 10 ? MSGPACK_UNPACK_CONTINUE
                   : n == sb.size - 10 ? MSGPACK_UNPACK_SUCCESS
                                       : MSGPACK_UNPACK_EXTRA_BYTES;
        CHECK(rc == want, "at %zu of %zu: %d", n, sb.size, rc);
        if (rc == MSGPACK_UNPACK_SUCCESS || rc == MSGPACK_UNPACK_EXTRA_BYTES)
        {
            const msgpack_object *name =
                &o.via.map.ptr[1].val.via.array.ptr[0].via.map.ptr[0].val;
            CHECK(name->via.str.ptr == sb.data + 26 && name->via.str.size == 19 &&
                  memcmp(name->via.str.ptr, "http_requests_total", 19) == 0,
                  "a str points into the input");
        }
    }
    /* the objects after the map, one after the other from the offset */
    size_t off = sb.size - 10;
    msgpack_object o;
    CHECK(AGREE(sb.data, sb.size, &off, &o) == MSGPACK_UNPACK_EXTRA_BYTES &&
          o.type == MSGPACK_OBJECT_BIN && off == sb.size - 6);
    CHECK(AGREE(sb.data, sb.size, &off, &o) == MSGPACK_UNPACK_SUCCESS &&
          o.type == MSGPACK_OBJECT_EXT && o.via.ext.type == 7 && o.via.ext.size == 3 &&
          off == sb.size);
    /* nothing left: CONTINUE, the offset untouched */
    CHECK(AGREE(sb.data, sb.size, &off, &o) == MSGPACK_UNPACK_CONTINUE && off == sb.size);
    CHECK(mg_unpack(sb.data, sb.size, NULL, zone_ours, &o) == MSGPACK_UNPACK_EXTRA_BYTES);
    msgpack_sbuffer_destroy(&sb);
}

/* n arrays each holding the next, the innermost holding inner. */
static size_t nest(unsigned char *b, unsigned n, unsigned char inner)
{
    memset(b, 0x91, n);
    b[n] = inner;
    return n + 1;
}

/* 32 open containers are allowed, a 33rd fails as in msgpack-c, even an
 * empty one; a container after one closed reuses its level. */
static void test_depth_limit(void)
{
    unsigned char b[64];
    msgpack_object o;
    size_t off = 0;
    CHECK(AGREE(b, nest(b, 32, 0x01), &off, &o) == MSGPACK_UNPACK_SUCCESS);
    off = 0;
    CHECK(AGREE(b, nest(b, 31, 0x90), &off, &o) == MSGPACK_UNPACK_SUCCESS);
    off = 0;
    CHECK(AGREE(b, nest(b, 32, 0x90), &off, &o) == MSGPACK_UNPACK_NOMEM_ERROR && off == 0);
    off = 0;
    CHECK(AGREE(b, nest(b, 33, 0x01), &off, &o) == MSGPACK_UNPACK_NOMEM_ERROR && off == 0);
    off = 0;
    CHECK(AGREE(b, nest(b, 60, 0x01), &off, &o) == MSGPACK_UNPACK_NOMEM_ERROR);
    /* 31 open, then [1] and [[1]] side by side: never more than 33 deep */
    memset(b, 0x91, 30);
    static const unsigned char tail[] = {0x92, 0x91, 0x01, 0x91, 0x91, 0x01};
    memcpy(b + 30, tail, sizeof(tail));
    off = 0;
    CHECK(AGREE(b, 30 + sizeof(tail), &off, &o) == MSGPACK_UNPACK_NOMEM_ERROR);
    b[30 + 4] = 0x01; /* [[...[[1], 1]]]: 32 deep at most */
    off = 0;
    CHECK(AGREE(b, 30 + 5, &off, &o) == MSGPACK_UNPACK_SUCCESS);
}

/* A header claiming far more elements than bytes follow: msgpack-c
 * allocates them all (96 GiB for a map 32 of 2^32 - 1 pairs); mg_unpack
 * gives each slot one byte at least, so the zone grows by what the input
 * can hold, and the answer is still CONTINUE, or the parse error after. */
static void test_huge_claims(void)
{
    static const unsigned char map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02};
    static const unsigned char array32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x90, 0xc1};
    static const unsigned char str32[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    msgpack_zone *z = msgpack_zone_new(256);
    char *start = z->chunk_list.ptr;
    size_t room = z->chunk_list.free;
    msgpack_object o;
    size_t off = 0;
    CHECK(mg_unpack((const char *)map32, sizeof(map32), &off, z, &o) ==
              MSGPACK_UNPACK_CONTINUE && off == sizeof(map32));
    /* 2 slots for the 2 bytes left, in the first chunk */
    CHECK(z->chunk_list.ptr - start == (ptrdiff_t)(room - z->chunk_list.free) &&
          room - z->chunk_list.free <= 2 * sizeof(msgpack_object) + sizeof(void *));
    off = 0;
    CHECK(mg_unpack((const char *)array32, sizeof(array32), &off, z, &o) ==
              MSGPACK_UNPACK_PARSE_ERROR && off == 0);
    off = 0;
    CHECK(mg_unpack((const char *)str32, sizeof(str32), &off, z, &o) ==
              MSGPACK_UNPACK_CONTINUE && off == 5);
    CHECK(z->chunk_list.ptr - start == (ptrdiff_t)(room - z->chunk_list.free) &&
          room - z->chunk_list.free <= 4 * sizeof(msgpack_object) + sizeof(void *));
    msgpack_zone_free(z);
    /* a million claimed, msgpack-c can follow: the same answers */
    static const unsigned char million[] = {0xdd, 0x00, 0x0f, 0x42, 0x40, 0x01, 0x02};
    static const unsigned char million_bad[] = {0xdf, 0x00, 0x0f, 0x42, 0x40, 0x01, 0xc1};
    off = 0;
    CHECK(AGREE(million, sizeof(million), &off, &o) == MSGPACK_UNPACK_CONTINUE);
    off = 0;
    CHECK(AGREE(million_bad, sizeof(million_bad), &off, &o) == MSGPACK_UNPACK_PARSE_ERROR);
}

/* Every one- to three-byte input: the same answer as msgpack-c. */
static void test_short_inputs(void)
{
    unsigned char b[3];
    for (unsigned x = 0; x < 256; x++)
        for (unsigned y = 0; y < 256; y += 15)
            for (unsigned n = 1; n <= 3; n++) {
                b[0] = (unsigned char)x;
                b[1] = (unsigned char)y;
                b[2] = (unsigned char)(x ^ y);
                size_t off = 0;
                msgpack_object o;
                AGREE(b, n, &off, &o);
            }
}

int main(void)
{
    zone_ours = msgpack_zone_new(4096);
    zone_theirs = msgpack_zone_new(4096);
    test_every_type();
    test_parse_errors();
    test_truncations();
    test_depth_limit();
    test_huge_claims();
    test_short_inputs();
    msgpack_zone_free(zone_ours);
    msgpack_zone_free(zone_theirs);
    return mg_test_summary("test_unpack");
}
