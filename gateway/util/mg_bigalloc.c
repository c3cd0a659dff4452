/* mg_bigalloc: malloc below 2 MiB, aligned huge-page mappings above. */
#include "mg_bigalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mg_alloc.h"

#define HUGE ((size_t)2 << 20)
/* The base page: the header's page and the unit of every mmap call (4 KiB
 * on x86, 16 or 64 KiB on some arm64 kernels; 2 MiB is a multiple). */
#define PAGE page_size()
/* Room for the header; 64 keeps a malloc block's 16-byte alignment. */
#define HDR ((size_t)64)
/* What mg_alloc's seam writes over fresh bytes (see mg_alloc.c). */
#define POISON 0xa5

struct big_hdr {
    size_t mapped; /* bytes of the mapping, 0 when the block is malloc's */
    size_t size;   /* bytes asked for */
};

static size_t page_size(void)
{
    static size_t page;
    if (!page) {
        long n = sysconf(_SC_PAGESIZE);
        page = n > 0 ? (size_t)n : 4096;
    }
    return page;
}

static struct big_hdr *hdr_of(void *p)
{
    return (struct big_hdr *)((char *)p - HDR);
}

static size_t page_up(size_t n)
{
    return (n + PAGE - 1) & ~(PAGE - 1);
}

/* Room for len bytes starting one small page before a 2 MiB boundary:
 * the block starts on the boundary, after the page that holds the header
 * (a header inside the block would push a table of 16 MiB onto a ninth
 * huge page). Maps len + 2 MiB with prot and gives back the rest. */
static char *reserve(size_t len, int prot)
{
    char *raw = mmap(NULL, len + HUGE, prot,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t at = ((uintptr_t)raw + PAGE + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
    char *start = (char *)at - PAGE, *end = raw + len + HUGE;
    if (start > raw)
        munmap(raw, (size_t)(start - raw));
    if (start + len < end)
        munmap(start + len, (size_t)(end - (start + len)));
    return start;
}

/* The header of a mapping at start, of len bytes, marked for huge pages.
 * The block's end is rounded to 4 KiB only: the kernel backs a partial
 * last 2 MiB with small pages, as touched. The header's page is advised
 * too, so the mapping stays one area that mremap can move whole. */
static struct big_hdr *place(char *start, size_t len)
{
    /* advice only: where THP is off the mapping still works in 4 KiB */
    (void)madvise(start, len, MADV_HUGEPAGE);
    struct big_hdr *h = (struct big_hdr *)(start + PAGE - HDR);
    h->mapped = len;
    return h;
}

static struct big_hdr *map_block(size_t n)
{
    size_t len = PAGE + page_up(n);
    char *start = reserve(len, PROT_READ | PROT_WRITE);
    return start ? place(start, len) : NULL;
}

/* A mapped block grown to n bytes by moving its pages, not copying them:
 * onto a reserved aligned range, so huge pages move as they are and only
 * the new tail is fresh (zeroed) memory. NULL, with p intact, on failure. */
static void *grow_mapped(void *p, size_t n)
{
    struct big_hdr *h = hdr_of(p);
    size_t len = PAGE + page_up(n), size = h->size;
    char *start = reserve(len, PROT_NONE);
    if (!start)
        return NULL;
    void *q = mremap((char *)p - PAGE, h->mapped, len, MREMAP_MAYMOVE | MREMAP_FIXED, start);
    if (q == MAP_FAILED) {
        munmap(start, len);
        return NULL;
    }
    h = place(start, len);
    h->size = size;
    return (char *)h + HDR;
}

/* An uninitialised block of n bytes; mapped blocks read as zero. */
static void *big_alloc(size_t n, int zero)
{
    if (n > SIZE_MAX - PAGE - HUGE || mg_alloc_fails())
        return NULL;
    struct big_hdr *h;
    if (n >= MG_BIG_MAP_MIN) {
        h = map_block(n);
    } else if ((h = zero ? calloc(1, n + HDR) : malloc(n + HDR))) {
        h->mapped = 0;
    }
    if (!h)
        return NULL;
    h->size = n;
    return (char *)h + HDR;
}

void *mg_big_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return big_alloc(n * size, 1);
}

void mg_big_free(void *p)
{
    if (!p)
        return;
    struct big_hdr *h = hdr_of(p);
    if (h->mapped)
        munmap((char *)p - PAGE, h->mapped);
    else
        free(h);
}

void mg_big_populate(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t a = ((uintptr_t)p + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
    uintptr_t z = ((uintptr_t)p + n) & ~(uintptr_t)(PAGE - 1);
    if (p && z > a)
        (void)madvise((void *)a, z - a, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

void *mg_big_realloc(void *p, size_t n)
{
    if (!p)
        return big_alloc(n, 0);
    struct big_hdr *h = hdr_of(p);
    size_t old = h->size;
    if (h->mapped && n <= h->mapped - PAGE) {
        h->size = n; /* the mapping already holds it */
    } else if (!h->mapped && n < MG_BIG_MAP_MIN) {
        if (mg_alloc_fails() || !(h = realloc(h, n + HDR)))
            return NULL;
        h->size = n;
        p = (char *)h + HDR;
    } else if (h->mapped) {
        if (mg_alloc_fails() || !(p = grow_mapped(p, n)))
            return NULL;
        hdr_of(p)->size = n;
    } else {
        void *q = big_alloc(n, 0);
        if (!q)
            return NULL;
        memcpy(q, p, old < n ? old : n);
        mg_big_free(p);
        p = q;
    }
    if (n > old && mg_alloc_budget >= 0)
        memset((char *)p + old, POISON, n - old);
    return p;
}
