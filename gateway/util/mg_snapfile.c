/* mg_snapfile: the snapshot file's codec: writing sections, reading and
 * checking them. */
#include "mg_snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>


static const unsigned char magic[8] = {'M', 'G', 'S', 'N', 'A', 'P', '\r', '\n'};

#define WBUF (256 * 1024)

static uint32_t crc(uint32_t c, const void *p, size_t n)
{
    /* zlib's crc32 takes a uInt length: feed it in pieces */
    const unsigned char *b = p;
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = (uint32_t)crc32(c, b, k);
        b += k;
        n -= k;
    }
    return c;
}

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t rd32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- writing ---- */

static int write_all(struct mg_snap_w *w, const unsigned char *p, size_t n)
{
    if (w->fail)
        return w->fail;
    while (n) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            return -EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void flush(struct mg_snap_w *w)
{
    if (!w->err && w->n)
        w->err = write_all(w, w->buf, w->n);
    w->n = 0;
}

/* Bytes that no section's CRC covers (headers, CRCs themselves). */
static void raw(struct mg_snap_w *w, const void *p, size_t n)
{
    if (w->err)
        return;
    if (w->n + n > w->cap)
        flush(w);
    if (n > w->cap) {
        if (!w->err)
            w->err = write_all(w, p, n);
    } else {
        memcpy(w->buf + w->n, p, n);
        w->n += n;
    }
    w->off += n;
}

void mg_snap_put(struct mg_snap_w *w, const void *p, size_t n)
{
    w->crc = crc(w->crc, p, n);
    raw(w, p, n);
}

void mg_snap_u8(struct mg_snap_w *w, uint8_t v)
{
    mg_snap_put(w, &v, 1);
}

void mg_snap_u32(struct mg_snap_w *w, uint32_t v)
{
    unsigned char b[4];
    le32(b, v);
    mg_snap_put(w, b, 4);
}

void mg_snap_u64(struct mg_snap_w *w, uint64_t v)
{
    unsigned char b[8];
    le64(b, v);
    mg_snap_put(w, b, 8);
}

void mg_snap_f64(struct mg_snap_w *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    mg_snap_u64(w, u);
}

void mg_snap_v(struct mg_snap_w *w, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    mg_snap_put(w, b, n);
}

void mg_snap_str(struct mg_snap_w *w, const char *s, size_t n)
{
    mg_snap_v(w, n);
    mg_snap_put(w, s, n);
}

static void header(unsigned char h[MG_SNAP_HEADER], int64_t written_ms,
                   const uint64_t counts[4])
{
    memset(h, 0, MG_SNAP_HEADER);
    memcpy(h, magic, 8);
    h[8] = MG_SNAP_MAJOR & 0xff;
    h[9] = MG_SNAP_MAJOR >> 8;
    h[10] = MG_SNAP_MINOR & 0xff;
    h[11] = MG_SNAP_MINOR >> 8;
    le32(h + 12, MG_SNAP_HEADER);
    le64(h + 16, (uint64_t)written_ms);
    for (int i = 0; i < 4; i++)
        le64(h + 24 + 8 * i, counts[i]);
    le32(h + 60, crc(0, h, 60));
}

int mg_snap_w_begin(struct mg_snap_w *w, int fd, int64_t written_ms)
{
    int fail = w->fail;
    memset(w, 0, sizeof(*w));
    w->fail = fail;
    w->fd = fd;
    w->written_ms = written_ms;
    w->cap = WBUF;
    w->buf = malloc(w->cap);
    if (!w->buf)
        return w->err = -ENOMEM;
    unsigned char h[MG_SNAP_HEADER];
    header(h, written_ms, w->counts);
    le32(h + 60, 0); /* provisional: a crash mid-write leaves a bad header */
    raw(w, h, sizeof(h));
    return w->err;
}

void mg_snap_sec_begin(struct mg_snap_w *w, uint32_t type)
{
    unsigned char b[16];
    w->sec_type = type;
    le32(b, type);
    le32(b + 4, 0);
    le64(b + 8, 0); /* the length, set at the end */
    w->sec_off = w->off;
    raw(w, b, sizeof(b));
    w->crc = 0;
}

void mg_snap_sec_end(struct mg_snap_w *w)
{
    uint64_t len = w->off - w->sec_off - 16;
    unsigned char b[8];
    le64(b, len);
    if (!w->err && w->sec_off >= w->off - w->n) {
        /* the section's header is still in the buffer */
        size_t at = (size_t)(w->sec_off - (w->off - w->n)) + 8;
        memcpy(w->buf + at, b, 8);
    } else if (!w->err && !w->fail) {
        if (pwrite(w->fd, b, 8, (off_t)w->sec_off + 8) != 8)
            w->err = errno ? -errno : -EIO;
    }
    /* the CRC covers the section's header too, so a damaged type or
     * length is caught like damaged data */
    unsigned char hdr[16];
    le32(hdr, w->sec_type);
    le32(hdr + 4, 0);
    le64(hdr + 8, len);
    uint32_t c32 = (uint32_t)crc32_combine(crc(0, hdr, 16), w->crc, (z_off_t)len);
    unsigned char c[4];
    le32(c, c32);
    raw(w, c, 4);
    w->nsections++;
}

int mg_snap_w_finish(struct mg_snap_w *w, uint64_t *bytes)
{
    uint32_t nsec = w->nsections;
    uint64_t before = w->off;
    mg_snap_sec_begin(w, MG_SNAP_END);
    mg_snap_v(w, nsec);
    mg_snap_v(w, before);
    mg_snap_sec_end(w);
    flush(w);
    if (!w->err && !w->fail) {
        /* the real header last: until here the file has none that checks */
        unsigned char h[MG_SNAP_HEADER];
        header(h, w->written_ms, w->counts);
        if (pwrite(w->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
            w->err = errno ? -errno : -EIO;
    }
    if (bytes)
        *bytes = w->off;
    free(w->buf);
    w->buf = NULL;
    return w->err ? w->err : w->fail;
}

void mg_snap_w_abort(struct mg_snap_w *w)
{
    free(w->buf);
    w->buf = NULL;
}

/* ---- reading ---- */

static int need(struct mg_snap_r *r, size_t n)
{
    if (r->err || (size_t)(r->end - r->p) < n) {
        r->err = 1;
        return 0;
    }
    return 1;
}

uint8_t mg_snap_get_u8(struct mg_snap_r *r)
{
    return need(r, 1) ? *r->p++ : 0;
}

uint32_t mg_snap_get_u32(struct mg_snap_r *r)
{
    if (!need(r, 4))
        return 0;
    uint32_t v = rd32(r->p);
    r->p += 4;
    return v;
}

uint64_t mg_snap_get_u64(struct mg_snap_r *r)
{
    if (!need(r, 8))
        return 0;
    uint64_t v = rd64(r->p);
    r->p += 8;
    return v;
}

double mg_snap_get_f64(struct mg_snap_r *r)
{
    uint64_t u = mg_snap_get_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

uint64_t mg_snap_get_v(struct mg_snap_r *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (!need(r, 1))
            return 0;
        unsigned char b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->err = 1;
    return 0;
}

const char *mg_snap_get_str(struct mg_snap_r *r, size_t *n, size_t max)
{
    uint64_t len = mg_snap_get_v(r);
    if (len > max || !need(r, (size_t)len)) {
        r->err = 1;
        *n = 0;
        return "";
    }
    const char *s = (const char *)r->p;
    r->p += len;
    *n = (size_t)len;
    return s;
}

int mg_snap_parse(struct mg_snap *s, const unsigned char *buf, size_t len,
                  char *why, size_t whylen)
{
    memset(s, 0, sizeof(*s));
    s->len = len;
    if (len == 0) {
        snprintf(why, whylen, "empty file");
        return -EINVAL;
    }
    if (len < 8 || memcmp(buf, magic, 8) != 0) {
        snprintf(why, whylen, "bad magic: not a moongate snapshot");
        return -EINVAL;
    }
    if (len < MG_SNAP_HEADER) {
        snprintf(why, whylen, "truncated header");
        return -EINVAL;
    }
    if (rd32(buf + 60) != crc(0, buf, 60)) {
        snprintf(why, whylen, "header checksum mismatch");
        return -EINVAL;
    }
    s->major = (uint16_t)(buf[8] | buf[9] << 8);
    s->minor = (uint16_t)(buf[10] | buf[11] << 8);
    if (s->major != MG_SNAP_MAJOR) {
        snprintf(why, whylen, "%s version %u.%u (this build reads %d.x)",
                 s->major > MG_SNAP_MAJOR ? "future" : "unknown", s->major, s->minor,
                 MG_SNAP_MAJOR);
        return -EINVAL;
    }
    uint32_t hlen = rd32(buf + 12);
    if (hlen < MG_SNAP_HEADER || hlen > len) {
        snprintf(why, whylen, "bad header length %u", hlen);
        return -EINVAL;
    }
    s->written_ms = (int64_t)rd64(buf + 16);
    for (int i = 0; i < 4; i++)
        s->counts[i] = rd64(buf + 24 + 8 * i);
    size_t off = hlen;
    uint64_t nsec = 0;
    for (;;) {
        if (len - off < 16) {
            snprintf(why, whylen, "truncated at byte %zu: no end section", off);
            return -EINVAL;
        }
        uint32_t type = rd32(buf + off);
        uint64_t plen = rd64(buf + off + 8);
        if (rd32(buf + off + 4) != 0) {
            /* no flags exist in 1.x: a set bit is damage */
            snprintf(why, whylen, "section %llu: bad flags", (unsigned long long)nsec);
            return -EINVAL;
        }
        if (plen > len - off - 16 || len - off - 16 - plen < 4) {
            snprintf(why, whylen, "truncated in section %llu (type %u)",
                     (unsigned long long)nsec, type);
            return -EINVAL;
        }
        const unsigned char *p = buf + off + 16;
        if (rd32(p + plen) != crc(0, buf + off, 16 + (size_t)plen)) {
            snprintf(why, whylen, "section %llu (type %u): checksum mismatch",
                     (unsigned long long)nsec, type);
            return -EINVAL;
        }
        if (type == MG_SNAP_END) {
            struct mg_snap_r r = {p, p + plen, 0};
            uint64_t n = mg_snap_get_v(&r), at = mg_snap_get_v(&r);
            if (r.err || n != nsec || at != off) {
                snprintf(why, whylen, "end section disagrees with the file");
                return -EINVAL;
            }
            break;
        }
        if (type >= MG_SNAP_STORE && type <= MG_SNAP_PUSHGW) {
            if (s->nsec == MG_SNAP_MAX_SECTIONS) {
                snprintf(why, whylen, "more than %d sections", MG_SNAP_MAX_SECTIONS);
                return -EINVAL;
            }
            s->sec[s->nsec++] = (struct mg_snap_sec){type, p, plen};
        } else {
            s->unknown++; /* a later minor version's: skipped */
        }
        nsec++;
        off += 16 + (size_t)plen + 4;
    }
    return 0;
}

int mg_snap_open(struct mg_snap *s, const char *path, char *why, size_t whylen)
{
    memset(s, 0, sizeof(*s));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "%s: %s", path, strerror(e));
        return -e;
    }
    struct stat sb;
    int rc;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        snprintf(why, whylen, "%s: not a regular file", path);
        close(fd);
        return -EINVAL;
    }
    size_t len = (size_t)sb.st_size;
    if (len == 0) {
        close(fd);
        return mg_snap_parse(s, (const unsigned char *)"", 0, why, whylen);
    }
    /* mapped, not read: the page cache's pages serve directly, with no
     * copy and no fault on a fresh heap buffer for each page */
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        int e = errno;
        snprintf(why, whylen, "%s: mmap: %s", path, strerror(e));
        return -e;
    }
    rc = mg_snap_parse(s, p, len, why, whylen);
    if (rc) {
        munmap(p, len);
        return rc;
    }
    s->buf = p;
    return 0;
}

void mg_snap_close(struct mg_snap *s)
{
    if (s->buf)
        munmap(s->buf, s->len);
    s->buf = NULL;
}

int mg_snap_section(const struct mg_snap *s, uint32_t type, struct mg_snap_r *r)
{
    for (size_t i = 0; i < s->nsec; i++)
        if (s->sec[i].type == type) {
            *r = (struct mg_snap_r){s->sec[i].p, s->sec[i].p + s->sec[i].len, 0};
            return 0;
        }
    return -ENOENT;
}

