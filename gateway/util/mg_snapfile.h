/* mg_snapfile: the snapshot file's format: a checksummed header, typed
 * sections each with its own CRC32, an end section; the codec the store,
 * rules and stats use to write and read their sections; opening and
 * checking a file; composing a whole snapshot from a gateway and restoring
 * one into it. Knows nothing of files' rotation, fork or the daemon (see
 * mg_snapshot_write.h).
 *
 * Layout (integers little-endian; "v" is an unsigned LEB128 varint):
 *   header, 64 bytes: magic "MGSNAP\r\n", u16 major, u16 minor, u32 64,
 *     i64 written_ms, u64 inputs, outputs, alerts, written series, u32 0,
 *     u32 CRC32 of the 60 bytes before it
 *   sections: u32 type, u32 0, u64 payload length, payload, u32 CRC32 of
 *     all that (header and payload)
 *   the end section (type MG_SNAP_END): v sections before it, v file bytes
 *     before it
 * A reader skips a section type it does not know when the major version
 * is its own; a higher major version is refused whole. */
#ifndef MG_SNAPFILE_H
#define MG_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MG_SNAP_MAJOR 1
#define MG_SNAP_MINOR 0
#define MG_SNAP_HEADER 64
#define MG_SNAP_MAX_SECTIONS 64

enum mg_snap_type {
    MG_SNAP_STORE = 1,   /* the store's clock: epoch */
    MG_SNAP_OUTPUTS = 2, /* output series: families, labels, values */
    MG_SNAP_INPUTS = 3,  /* input series: raw values, routes, clocks */
    MG_SNAP_ALERTS = 4,  /* alert instances by rule */
    MG_SNAP_WRITTEN = 5, /* series the rules wrote, with their values */
    MG_SNAP_STATS = 6,   /* the gateway's own counters */
    MG_SNAP_AOF = 7,     /* the last log sequence number it covers */
    MG_SNAP_QUERY = 8,   /* the selectors and histories rules read */
    MG_SNAP_PUSHGW = 9,  /* Pushgateway groups: keys, times, owned series */
    MG_SNAP_END = 0x454e4421
};

/* ---- writing ---- */

struct mg_snap_w {
    int fd;
    unsigned char *buf;
    size_t n, cap;
    uint64_t off;        /* file bytes written or buffered */
    uint64_t sec_off;    /* where the open section's header starts */
    uint32_t crc;        /* of the open section's payload so far */
    uint32_t sec_type;
    uint32_t nsections;
    int err;             /* first -errno; later writes do nothing */
    int fail;            /* test seam: -errno every write returns */
    int64_t written_ms;
    uint64_t counts[4];  /* inputs, outputs, alerts, written */
};

/* Starts a snapshot on fd (at offset 0) and writes a provisional header.
 * 0 or -errno. */
int mg_snap_w_begin(struct mg_snap_w *w, int fd, int64_t written_ms);
void mg_snap_sec_begin(struct mg_snap_w *w, uint32_t type);
void mg_snap_sec_end(struct mg_snap_w *w);
void mg_snap_put(struct mg_snap_w *w, const void *p, size_t n);
void mg_snap_u8(struct mg_snap_w *w, uint8_t v);
void mg_snap_u32(struct mg_snap_w *w, uint32_t v);
void mg_snap_u64(struct mg_snap_w *w, uint64_t v);
void mg_snap_f64(struct mg_snap_w *w, double v);
void mg_snap_v(struct mg_snap_w *w, uint64_t v);
void mg_snap_str(struct mg_snap_w *w, const char *s, size_t n);
/* Writes the end section and the final header, frees the buffer. Returns
 * 0 or the first -errno; *bytes the file's size. */
int mg_snap_w_finish(struct mg_snap_w *w, uint64_t *bytes);
/* Frees the buffer after a failure. */
void mg_snap_w_abort(struct mg_snap_w *w);

/* ---- reading ---- */

/* A bounded cursor: a read past the end sets err and yields zeros, so a
 * section decoder checks err once per record. */
struct mg_snap_r {
    const unsigned char *p, *end;
    int err;
};

uint8_t mg_snap_get_u8(struct mg_snap_r *r);
uint32_t mg_snap_get_u32(struct mg_snap_r *r);
uint64_t mg_snap_get_u64(struct mg_snap_r *r);
double mg_snap_get_f64(struct mg_snap_r *r);
uint64_t mg_snap_get_v(struct mg_snap_r *r);
/* A string borrowed from the file's buffer (not NUL-terminated), at most
 * max bytes; longer sets err. */
const char *mg_snap_get_str(struct mg_snap_r *r, size_t *n, size_t max);

struct mg_snap_sec {
    uint32_t type;
    const unsigned char *p;
    uint64_t len;
};

/* A checked snapshot in memory. */
struct mg_snap {
    void *buf;           /* the file mapped (NULL when borrowed) */
    size_t len;
    uint16_t major, minor;
    int64_t written_ms;
    uint64_t counts[4];
    struct mg_snap_sec sec[MG_SNAP_MAX_SECTIONS];
    size_t nsec;
    size_t unknown;      /* sections of types this build does not know */
};

/* Checks buf (len bytes, borrowed for the life of s): header, version,
 * every section's CRC, the end section. 0, or -EINVAL with why ("bad
 * magic", "truncated", "future version 2.0", "section 3: checksum"). */
int mg_snap_parse(struct mg_snap *s, const unsigned char *buf, size_t len,
                  char *why, size_t whylen);
/* Reads path whole and checks it. 0, -ENOENT, -errno, or -EINVAL (why). */
int mg_snap_open(struct mg_snap *s, const char *path, char *why,
                 size_t whylen);
void mg_snap_close(struct mg_snap *s);
/* The first section of type t as a cursor; 0, or -ENOENT. */
int mg_snap_section(const struct mg_snap *s, uint32_t type,
                    struct mg_snap_r *r);

#endif
