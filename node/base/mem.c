/* mem.c — counted allocation (see mem.h). */
#include "mem.h"

#include <malloc.h>
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
    abort();
}

void *kv_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    add(malloc_usable_size(p));
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

size_t kv_used_memory(void)
{
    return atomic_load_explicit(&used, memory_order_relaxed);
}
