/* mem.c — counted allocation (see mem.h). */
#include "mem.h"

#include "err.h"
#include "prefault.h"

#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Relaxed atomic: thread-pool jobs (WAL reads, meta files) allocate too. */
static _Atomic size_t used;

static void add(size_t n)
{
    atomic_fetch_add_explicit(&used, n, memory_order_relaxed);
}

static void sub(size_t n)
{
    atomic_fetch_sub_explicit(&used, n, memory_order_relaxed);
}

static void oom(size_t n)
{
    fprintf(stderr, "kvnode: out of memory allocating %zu bytes\n", n);
    fflush(stderr);
    kv_abort();
}

/* Bulk loading state (kv_bulk_begin). `lo` is the first huge-page
 * boundary above the break when loading began, `done` how far the
 * heap has been advised so far. */
#define BULK_HUGE ((uintptr_t)2 << 20)
#define BULK_MIN ((size_t)32 << 20)
#define BULK_PAD_MAX ((size_t)256 << 20)
#define DEFAULT_TOP_PAD (128 * 1024) /* glibc's M_TOP_PAD default */
static struct {
    int depth;
    _Atomic uintptr_t lo;
    _Atomic int on;          /* read by kv_malloc in any thread */
    _Atomic uintptr_t done;
} bulk;

/* The heap's prefault helper (prefault.h) during a bulk load: it clears
 * the pages of the grown heap on another core, ahead of the allocator,
 * never more than PF_AHEAD bytes past the highest block handed out and
 * never past what bulk_tick advised (so a step is backed by huge pages
 * before it is populated, and memory the load does not reach is not made
 * resident). A block ending past pf_next raises its limit. */
#define PF_AHEAD ((uintptr_t)32 << 20)
#define PF_STEP ((uintptr_t)4 << 20)
static prefault heap_pf = PREFAULT_INIT;
static _Atomic uintptr_t pf_next;

static void bulk_tick(void)
{
    uintptr_t brk = (uintptr_t)sbrk(0) & ~(BULK_HUGE - 1);
    uintptr_t done = atomic_load_explicit(&bulk.done, memory_order_relaxed);
    if (brk <= done || !atomic_compare_exchange_strong(&bulk.done, &done, brk))
        return;
    /* Only the part not yet advised: the page the allocator touched first
     * in each new step stays small, the rest of the step faults huge. */
    (void)madvise((void *)done, brk - done, MADV_HUGEPAGE);
}

/* A block [p, p + n) was handed out during a bulk load. */
static void bulk_note(void *p, size_t n)
{
    uintptr_t end = (uintptr_t)p + n;
    if (end < atomic_load_explicit(&pf_next, memory_order_relaxed))
        return;
    uintptr_t lo = atomic_load_explicit(&bulk.lo, memory_order_relaxed);
    uintptr_t done = atomic_load_explicit(&bulk.done, memory_order_relaxed);
    if ((uintptr_t)p < lo || end > done)
        return; /* not in the grown heap (an mmap'd block, the old heap) */
    atomic_store_explicit(&pf_next, end + PF_STEP, memory_order_relaxed);
    prefault_allow(&heap_pf, end + PF_AHEAD < done ? end + PF_AHEAD : done);
}

/* The helper is worth its thread when another CPU can run it, and can be
 * turned off for comparisons (KVNODE_BULK_PREFAULT=0). */
static int prefault_wanted(void)
{
    const char *env = getenv("KVNODE_BULK_PREFAULT");
    if (env && strcmp(env, "0") == 0)
        return 0;
    return sysconf(_SC_NPROCESSORS_ONLN) > 1;
}

void kv_bulk_begin(size_t expect)
{
    if (bulk.depth++ || expect < BULK_MIN)
        return;
    uintptr_t brk = (uintptr_t)sbrk(0);
    if (brk == (uintptr_t)-1)
        return;
    uintptr_t lo = (brk + BULK_HUGE - 1) & ~(BULK_HUGE - 1);
    atomic_store(&bulk.lo, lo);
    atomic_store(&bulk.done, lo);
    atomic_store(&pf_next, 0);
    if (prefault_wanted())
        (void)prefault_start(&heap_pf, lo); /* without it: the loop faults */
    atomic_store(&bulk.on, 1);
    /* Grow the heap in steps of many huge pages, so that most of each step
     * is untouched when it is advised. */
    mallopt(M_TOP_PAD, (int)(expect < BULK_PAD_MAX ? expect : BULK_PAD_MAX));
}

int kv_bulk_active(void)
{
    return atomic_load(&bulk.on);
}

void kv_advise_huge(void *p, size_t n)
{
    uintptr_t lo = ((uintptr_t)p + BULK_HUGE - 1) & ~(BULK_HUGE - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(BULK_HUGE - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

void kv_bulk_end(void)
{
    if (!bulk.depth || --bulk.depth || !atomic_load(&bulk.on))
        return;
    bulk_tick();
    atomic_store(&bulk.on, 0);
    prefault_stop(&heap_pf);
    /* Later growth faults normal pages again (what was loaded keeps its
     * huge pages), and the heap grows and shrinks in small steps. */
    uintptr_t done = atomic_load(&bulk.done), lo = atomic_load(&bulk.lo);
    if (done > lo)
        (void)madvise((void *)lo, done - lo, MADV_NOHUGEPAGE);
    mallopt(M_TOP_PAD, DEFAULT_TOP_PAD);
}

void *kv_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    size_t u = malloc_usable_size(p);
    add(u);
    if (atomic_load_explicit(&bulk.on, memory_order_relaxed)) {
        bulk_tick();
        bulk_note(p, u);
    }
    return p;
}

void *kv_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    add(malloc_usable_size(p));
    return p;
}

void *kv_realloc(void *p, size_t n)
{
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    sub(old);
    add(malloc_usable_size(q));
    return q;
}

void kv_free(void *p)
{
    if (!p)
        return;
    sub(malloc_usable_size(p));
    free(p);
}

char *kv_memdup(const void *p, size_t n)
{
    char *q = kv_malloc(n + 1);
    if (n)
        memcpy(q, p, n);
    q[n] = '\0';
    return q;
}

size_t kv_usable(const void *p)
{
    return p ? malloc_usable_size((void *)p) : 0;
}

size_t kv_bulk_prefaulted(void)
{
    return prefault_done(&heap_pf);
}

size_t kv_used_memory(void)
{
    return atomic_load_explicit(&used, memory_order_relaxed);
}
