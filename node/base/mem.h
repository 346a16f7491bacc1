/* mem.h — allocation for the keyspace and everything that should count
 * toward INFO memory's used_memory.
 *
 * kv_malloc and friends never return NULL: running out of memory aborts
 * the process with a message (as Redis's zmalloc does); a replica or a
 * restart recovers from the WAL. They keep a byte count of what is live,
 * measured with malloc_usable_size, so used_memory is what the allocator
 * really handed out. Only the event-loop thread may use them. */
#ifndef KV_MEM_H
#define KV_MEM_H

#include <stddef.h>

void *kv_malloc(size_t n);
void *kv_calloc(size_t n, size_t size);
void *kv_realloc(void *p, size_t n);
void kv_free(void *p);               /* NULL is fine */
char *kv_memdup(const void *p, size_t n); /* n bytes + a NUL */
size_t kv_usable(const void *p);     /* bytes usable at p (0 for NULL) */
size_t kv_used_memory(void);         /* live bytes allocated through here */

/* Bulk loading (recovery, a snapshot a replica installs): the heap is
 * about to grow by roughly `expect` bytes of small objects. Between
 * begin and end the heap grows in large steps backed by transparent huge
 * pages where the system allows them (THP "madvise" or "always"): one
 * page fault per 2 MiB instead of per 4 KiB, which is most of the time a
 * load of small keys takes. At end, new growth goes back to normal pages;
 * what was loaded stays where it is. Loop thread only; begin/end nest. */
void kv_bulk_begin(size_t expect);
/* Back the whole huge pages inside [p, p + n) with transparent huge pages
 * where the system allows them (a large table read at random). */
void kv_advise_huge(void *p, size_t n);
void kv_bulk_end(void);
/* 1 between kv_bulk_begin and kv_bulk_end of a load big enough for huge
 * pages (the heap's steps are being advised). */
int kv_bulk_active(void);
/* While a bulk load runs, a helper thread (prefault.h) clears the heap's
 * new pages ahead of the allocator on another CPU (when there is one, and
 * unless the environment says KVNODE_BULK_PREFAULT=0); kv_bulk_end joins
 * it, so no thread outlives the load. Bytes it populated in the current
 * or last load: */
size_t kv_bulk_prefaulted(void);

#endif
