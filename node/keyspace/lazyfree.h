/* lazyfree.h — freeing detached values on a background thread, as Redis's
 * lazyfree (UNLINK, FLUSHALL ASYNC and the lazyfree-lazy-* options).
 *
 * The event loop detaches what it drops (a value, or a whole keyspace's
 * tables) and hands it over with lazyfree_submit; one thread, started on
 * the first submission, frees jobs in order. Nothing submitted may be
 * reachable from the loop any more: the thread is its only owner. Memory
 * accounting (mem.h) is atomic, so used_memory falls as the thread frees.
 *
 * The counters are Redis's INFO fields: lazyfree_pending_objects (objects
 * submitted, not yet freed) and lazyfreed_objects (freed since the start
 * or the last lazyfree_reset_stats). */
#ifndef KV_LAZYFREE_H
#define KV_LAZYFREE_H

#include <stddef.h>

typedef void (*lazyfree_fn)(void *a, void *b);

/* Run fn(a, b) on the lazyfree thread; `objects` is what it frees, for
 * the counters. Without the thread (it could not be started) the call
 * frees at once, in the caller. Event-loop thread only. */
void lazyfree_submit(lazyfree_fn fn, void *a, void *b, size_t objects);

size_t lazyfree_pending(void);
size_t lazyfree_freed(void);
void lazyfree_reset_stats(void);

/* Wait until every job submitted so far has run. */
void lazyfree_drain(void);
/* In a child just forked (SCRIPT DEBUG YES): the thread is not there,
 * and its lock may have been held when the process forked. From now on
 * every job runs at once, on the caller's thread, as before the thread
 * starts. */
void lazyfree_forked_child(void);
/* Drain, then end the thread (process exit); a later submission starts a
 * new one. */
void lazyfree_stop(void);

#endif
