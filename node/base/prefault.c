/* prefault.c — the prefault helper thread (see prefault.h). */
#include "prefault.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

static uintptr_t page_size(void)
{
    static uintptr_t size;
    if (!size) {
        long n = sysconf(_SC_PAGESIZE);
        size = n > 0 ? (uintptr_t)n : 4096;
    }
    return size;
}

static void *helper(void *arg)
{
    prefault *pf = arg;
    pthread_setname_np(pthread_self(), "kvnode-prefault");
    pthread_mutex_lock(&pf->mu);
    uintptr_t pos = pf->base;
    for (;;) {
        while (!pf->stop && pos >= pf->limit)
            pthread_cond_wait(&pf->cv, &pf->mu);
        if (pf->stop)
            break;
        /* One chunk at a time, without the lock: an owner raising the
         * limit or stopping waits at most for one chunk. */
        uintptr_t end = pos + PREFAULT_CHUNK < pf->limit ? pos + PREFAULT_CHUNK : pf->limit;
        pthread_mutex_unlock(&pf->mu);
        int rc = madvise((void *)pos, end - pos, MADV_POPULATE_WRITE);
        pthread_mutex_lock(&pf->mu);
        if (rc < 0) {
            atomic_store(&pf->failed, 1);
            /* Idle until stopped: the owner's ranges are not ours to
             * probe further. */
            while (!pf->stop)
                pthread_cond_wait(&pf->cv, &pf->mu);
            break;
        }
        atomic_fetch_add(&pf->done, end - pos);
        pos = end;
    }
    pthread_mutex_unlock(&pf->mu);
    return NULL;
}

int prefault_start(prefault *pf, uintptr_t base)
{
    if (pf->running)
        return -EBUSY;
    base = (base + page_size() - 1) & ~(page_size() - 1);
    pthread_mutex_lock(&pf->mu);
    pf->base = pf->limit = base;
    pf->stop = 0;
    pthread_mutex_unlock(&pf->mu);
    atomic_store(&pf->done, 0);
    atomic_store(&pf->failed, 0);
    int rc = pthread_create(&pf->th, NULL, helper, pf);
    if (rc)
        return -rc;
    pf->running = 1;
    return 0;
}

void prefault_allow(prefault *pf, uintptr_t limit)
{
    limit &= ~(page_size() - 1); /* madvise works on whole pages */
    pthread_mutex_lock(&pf->mu);
    if (limit > pf->limit) {
        pf->limit = limit;
        pthread_cond_signal(&pf->cv);
    }
    pthread_mutex_unlock(&pf->mu);
}

void prefault_stop(prefault *pf)
{
    if (!pf->running)
        return;
    pthread_mutex_lock(&pf->mu);
    pf->stop = 1;
    pthread_cond_signal(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
    pthread_join(pf->th, NULL);
    pf->running = 0;
}

size_t prefault_done(prefault *pf)
{
    return atomic_load(&pf->done);
}
