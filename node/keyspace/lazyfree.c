/* lazyfree.c — the lazyfree thread (see lazyfree.h).
 *
 * A FIFO of jobs under one mutex. The loop appends and signals; the thread
 * takes the whole list at once, runs it without the lock, then moves the
 * counters and wakes anyone draining. A job's memory is plain malloc: it
 * is bookkeeping, not data, and must not count toward maxmemory. */
#include "lazyfree.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct job {
    struct job *next;
    lazyfree_fn fn;
    void *a, *b;
    size_t objects;
} job;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER; /* jobs queued, or stop */
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER; /* done moved */
static job *head, **tail = &head;
static uint64_t submitted, done; /* jobs, under mu */
static int running, stopping;
static pthread_t thread;

static _Atomic size_t pending_objects, freed_objects;

static void *lazyfree_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "kvnode-lazyfree");
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!head && !stopping)
            pthread_cond_wait(&work, &mu);
        if (!head)
            break; /* stopping, and nothing left */
        job *list = head;
        head = NULL;
        tail = &head;
        pthread_mutex_unlock(&mu);
        uint64_t n = 0;
        while (list) {
            job *j = list;
            list = j->next;
            j->fn(j->a, j->b);
            atomic_fetch_sub(&pending_objects, j->objects);
            atomic_fetch_add(&freed_objects, j->objects);
            free(j);
            n++;
        }
        pthread_mutex_lock(&mu);
        done += n;
        pthread_cond_broadcast(&idle);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static int forked_child;

void lazyfree_forked_child(void)
{
    /* The queue's jobs belong to the parent's thread; only new ones run
     * here, inline, without the lock. */
    forked_child = 1;
}

void lazyfree_submit(lazyfree_fn fn, void *a, void *b, size_t objects)
{
    if (forked_child) {
        fn(a, b);
        return;
    }
    job *j = malloc(sizeof *j);
    pthread_mutex_lock(&mu);
    if (j && !running && pthread_create(&thread, NULL, lazyfree_main, NULL) == 0)
        running = 1;
    if (!j || !running) {
        pthread_mutex_unlock(&mu);
        free(j);
        fn(a, b);
        return;
    }
    j->next = NULL;
    j->fn = fn;
    j->a = a;
    j->b = b;
    j->objects = objects;
    atomic_fetch_add(&pending_objects, objects);
    *tail = j;
    tail = &j->next;
    submitted++;
    pthread_cond_signal(&work);
    pthread_mutex_unlock(&mu);
}

size_t lazyfree_pending(void)
{
    return atomic_load(&pending_objects);
}

size_t lazyfree_freed(void)
{
    return atomic_load(&freed_objects);
}

void lazyfree_reset_stats(void)
{
    atomic_store(&freed_objects, 0);
}

void lazyfree_drain(void)
{
    if (forked_child)
        return; /* nothing of this process's is queued */
    pthread_mutex_lock(&mu);
    uint64_t want = submitted;
    while (running && done < want)
        pthread_cond_wait(&idle, &mu);
    pthread_mutex_unlock(&mu);
}

void lazyfree_stop(void)
{
    pthread_mutex_lock(&mu);
    if (!running) {
        pthread_mutex_unlock(&mu);
        return;
    }
    stopping = 1;
    pthread_cond_signal(&work);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL); /* it runs what is queued before it ends */
    pthread_mutex_lock(&mu);
    running = 0;
    stopping = 0;
    pthread_mutex_unlock(&mu);
}
