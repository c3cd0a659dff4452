/* mg_aof: buffered appends, the once-a-second sync, rotation at a
 * snapshot, replay at start.
 *
 * A record: u32 payload length, u32 check of everything after it, u64
 * sequence number, i64 milliseconds, u32 transport, then the message's
 * bytes; integers little-endian. */
#include "mg_aof.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mg_labels.h"

#define HDR 28
#define FLUSH_AT (8u << 20) /* write out past this much, before the timer */
#define MAX_RECORD (1u << 30)

struct mg_aof {
    char cur[4096], rot[4096];
    /* the event loop's side: appends go to front, which only it touches */
    unsigned char *buf;
    size_t n, cap;
    uint64_t seq, bytes;
    /* shared with the writer thread, under mu */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned char *back;     /* the batch the thread writes */
    size_t bn, bcap;
    int busy, stop;
    int fd, close_fd;        /* close_fd: the fd before a rotation */
    int err;
};

static void le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t rd(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The check of a record: a 64-bit multiply hash, several times faster
 * than CRC-32 here, where every accepted byte passes through it; it finds
 * torn and stale tails, which is its whole job. The frozen one, so logs
 * written before an upgrade still check. */
static uint32_t check(const unsigned char *h, const void *msg, size_t len)
{
    uint64_t c = mg_hash_frozen(h + 8, HDR - 8, 0x616f66);
    return (uint32_t)mg_hash_frozen(msg, len, c);
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? -errno : -EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The writer: each batch written and fdatasynced away from the event
 * loop, as Redis's background fsync. */
static void *writer(void *arg)
{
    struct mg_aof *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->busy && !a->stop)
            pthread_cond_wait(&a->go, &a->mu);
        if (!a->busy)
            break;
        int fd = a->fd;
        pthread_mutex_unlock(&a->mu);
        int rc = write_all(fd, a->back, a->bn);
        if (!rc && fdatasync(fd) < 0)
            rc = -errno;
        pthread_mutex_lock(&a->mu);
        if (rc)
            a->err = rc;
        if (a->close_fd >= 0 && a->close_fd != a->fd) {
            close(a->close_fd);
            a->close_fd = -1;
        }
        a->bn = 0;
        a->busy = 0;
        pthread_cond_broadcast(&a->done);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

struct mg_aof *mg_aof_open(const char *dir, uint64_t seq, char *why, size_t whylen)
{
    struct mg_aof *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    snprintf(a->cur, sizeof(a->cur), "%s/moongate.aof", dir);
    snprintf(a->rot, sizeof(a->rot), "%s/moongate.aof.1", dir);
    a->seq = seq;
    a->cap = 1u << 20;
    a->buf = malloc(a->cap);
    a->close_fd = -1;
    a->fd = open_log(a->cur);
    if (!a->buf || a->fd < 0) {
        snprintf(why, whylen, "%s: %s", a->cur, a->buf ? strerror(errno) : "out of memory");
        goto fail;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->go, NULL);
    pthread_cond_init(&a->done, NULL);
    if (pthread_create(&a->th, NULL, writer, a)) {
        snprintf(why, whylen, "cannot start the log's writer thread");
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->go);
        pthread_cond_destroy(&a->done);
        goto fail;
    }
    return a;
fail:
    if (a->fd >= 0)
        close(a->fd);
    free(a->buf);
    free(a);
    return NULL;
}

/* Hands the buffer to the writer unless it is still busy. Under mu. */
static void hand_over(struct mg_aof *a)
{
    if (a->busy || a->n == 0)
        return;
    unsigned char *b = a->back;
    size_t bc = a->bcap;
    a->back = a->buf;
    a->bcap = a->cap;
    a->bn = a->n;
    a->buf = b;
    a->cap = bc;
    a->n = 0;
    a->busy = 1;
    pthread_cond_signal(&a->go);
}

/* Everything appended so far written and synced. */
static int drain(struct mg_aof *a)
{
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < 2; i++) {
        while (a->busy)
            pthread_cond_wait(&a->done, &a->mu);
        hand_over(a);
    }
    while (a->busy)
        pthread_cond_wait(&a->done, &a->mu);
    int rc = a->err;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void mg_aof_close(struct mg_aof *a)
{
    if (!a)
        return;
    drain(a);
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_signal(&a->go);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->th, NULL);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->go);
    pthread_cond_destroy(&a->done);
    if (a->close_fd >= 0)
        close(a->close_fd);
    close(a->fd);
    free(a->buf);
    free(a->back);
    free(a);
}

void mg_aof_append(struct mg_aof *a, int64_t now_ms, int transport,
                   const char *msg, size_t len)
{
    if (len > MAX_RECORD || a->n > MAX_RECORD)
        return; /* the disk has refused writes for long: the log stops growing */
    if (a->n + HDR + len > a->cap) {
        if (a->n >= FLUSH_AT) {
            pthread_mutex_lock(&a->mu);
            hand_over(a);
            pthread_mutex_unlock(&a->mu);
        }
        size_t cap = a->cap ? a->cap : 1u << 20;
        while (cap < a->n + HDR + len)
            cap *= 2;
        if (cap > a->cap) {
            unsigned char *nb = realloc(a->buf, cap);
            if (!nb)
                return;
            a->buf = nb;
            a->cap = cap;
        }
    }
    unsigned char *h = a->buf + a->n;
    le(h, len, 4);
    le(h + 8, ++a->seq, 8);
    le(h + 16, (uint64_t)now_ms, 8);
    le(h + 24, (uint64_t)transport, 4);
    memcpy(h + HDR, msg, len);
    le(h + 4, check(h, msg, len), 4);
    a->n += HDR + len;
    a->bytes += HDR + len;
}

int mg_aof_sync(struct mg_aof *a)
{
    pthread_mutex_lock(&a->mu);
    hand_over(a);
    int rc = a->err;
    a->err = 0;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

uint64_t mg_aof_seq(const struct mg_aof *a)
{
    return a->seq;
}

uint64_t mg_aof_bytes(const struct mg_aof *a)
{
    return a->bytes;
}

int mg_aof_rotate(struct mg_aof *a)
{
    if (access(a->rot, F_OK) == 0)
        return 0; /* the last snapshot failed: it still waits */
    /* records written after this to the old fd land in moongate.aof.1, and
     * records still buffered go to the new file: both are covered by the
     * snapshot forked next, which replay tells by sequence number */
    pthread_mutex_lock(&a->mu);
    int rc = 1;
    if (rename(a->cur, a->rot) < 0) {
        rc = -errno;
        goto out;
    }
    int fd = open_log(a->cur);
    if (fd < 0) {
        rc = -errno;
        rename(a->rot, a->cur); /* keep appending to the one file */
        goto out;
    }
    if (a->busy)
        a->close_fd = a->fd;
    else
        close(a->fd);
    a->fd = fd;
out:
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void mg_aof_drop_rotated(struct mg_aof *a)
{
    unlink(a->rot);
}

int mg_aof_reset(struct mg_aof *a)
{
    int rc = drain(a);
    if (!rc && ftruncate(a->fd, 0) < 0)
        rc = -errno;
    unlink(a->rot);
    return rc;
}

/* One file: records until the first bad one, where it is cut. */
static long replay_file(const char *path, uint64_t after, mg_aof_fn fn,
                        void *ctx, uint64_t *last)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        close(fd);
        return -errno;
    }
    size_t len = (size_t)sb.st_size, off = 0;
    long n = 0;
    const unsigned char *p = NULL;
    if (len) {
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (m == MAP_FAILED) {
            close(fd);
            return -errno;
        }
        p = m;
    }
    while (len - off >= HDR) {
        const unsigned char *h = p + off;
        uint64_t plen = rd(h, 4);
        if (plen > len - off - HDR)
            break;
        if (check(h, h + HDR, (size_t)plen) != rd(h + 4, 4))
            break;
        uint64_t seq = rd(h + 8, 8);
        if (seq > after) {
            fn(ctx, (int64_t)rd(h + 16, 8), (int)rd(h + 24, 4), (const char *)h + HDR,
               (size_t)plen);
            n++;
        }
        if (seq > *last)
            *last = seq;
        off += HDR + (size_t)plen;
    }
    if (p)
        munmap((void *)p, len);
    if (off < len && ftruncate(fd, (off_t)off) < 0)
        n = -errno;
    close(fd);
    return n;
}

long mg_aof_replay(const char *dir, uint64_t after, mg_aof_fn fn, void *ctx,
                   uint64_t *last)
{
    char path[4096];
    *last = after;
    snprintf(path, sizeof(path), "%s/moongate.aof.1", dir);
    long a = replay_file(path, after, fn, ctx, last);
    if (a < 0)
        return a;
    snprintf(path, sizeof(path), "%s/moongate.aof", dir);
    long b = replay_file(path, after, fn, ctx, last);
    return b < 0 ? b : a + b;
}
