/* prefault.h — a helper thread that faults anonymous memory in ahead of
 * its first use, so that the kernel's page zeroing runs on another core.
 *
 * A bulk load (mem.c, kv_bulk_begin) spends much of its time in page
 * faults: every new page of the heap is cleared by the kernel when it is
 * first written. The helper asks the kernel to do that ahead of time with
 * madvise(MADV_POPULATE_WRITE): it never reads or writes the memory
 * itself, so it cannot race with the thread that uses it (and what is
 * already there is left as it is).
 *
 * The helper walks one range upwards from `base` (rounded up to a page),
 * never past the limit the owner allows (prefault_allow, which only ever
 * raises it; rounded down to a page: any address may be given), in steps
 * of PREFAULT_CHUNK bytes, and sleeps when it has caught up. The limit is
 * the owner's promise that [base, limit) is mapped, private, anonymous
 * memory. It gives up quietly (and stays idle) when the kernel refuses
 * (before Linux 5.14, or a range that is no longer mapped).
 *
 * A prefault object starts with PREFAULT_INIT and may be started and
 * stopped any number of times; its mutex and condition are never
 * destroyed, so prefault_allow is safe from any thread at any time (with
 * no helper running it only records the limit). */
#ifndef KV_PREFAULT_H
#define KV_PREFAULT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PREFAULT_CHUNK ((uintptr_t)2 << 20)

typedef struct prefault {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uintptr_t base;  /* under mu: where the helper starts */
    uintptr_t limit; /* under mu: it populates below this */
    int stop;        /* under mu */
    int running;     /* owner (start/stop) only */
    pthread_t th;
    _Atomic size_t done;  /* bytes populated by the helper */
    _Atomic int failed;   /* the kernel refused: the helper idles */
} prefault;

#define PREFAULT_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0, 0}

/* Start the helper at base (limit = base: nothing allowed yet). 0, or a
 * negative errno when the thread cannot be created (nothing runs then).
 * Starting a running prefault is an error (-EBUSY). */
int prefault_start(prefault *pf, uintptr_t base);
/* Let the helper populate up to `limit` (no-op if not above the current
 * limit). Any thread. */
void prefault_allow(prefault *pf, uintptr_t limit);
/* Stop the helper and join it (it finishes the chunk it is in). No-op when
 * not running. Owner only. */
void prefault_stop(prefault *pf);
/* Bytes the helper populated since it started. */
size_t prefault_done(prefault *pf);

#endif
