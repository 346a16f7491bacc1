/* dict.h — an intrusive chained hash table with incremental rehashing.
 *
 * Owns: the bucket arrays and the rehash state. It never allocates or frees
 * nodes: callers embed a dict_node as the FIRST member of their own node
 * struct, allocate it, and tell the dict how to get the key bytes of a node
 * (dict_type.key_of). This keeps one allocation per entry.
 *
 * Resizing is incremental (as in Redis's dict.c): when the table grows or
 * shrinks a second table is allocated and every find/add/remove moves one
 * bucket (visiting at most 10 empty buckets), and dict_rehash_ms() lets a
 * timer move buckets for a bounded time. No call does work proportional to
 * the number of entries, except dict_clear.
 *
 * Grow at load factor 1 (to twice the entries, power of two); shrink when
 * fewer than 1/8 of the buckets are used (never below 4 buckets). While
 * resizing is "avoided" (dict_avoid_resize, used while a fork child writes
 * a snapshot so copy-on-write stays small) a grow happens only at load
 * factor 5 and shrinks are put off.
 *
 * Keys are binary-safe byte strings, compared with memcmp. Hashing is
 * SipHash-1-3 keyed with a process-wide random seed (dict_set_seed), so a
 * hostile client cannot pick colliding keys. */
#ifndef KV_DICT_H
#define KV_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct dict_node {
    struct dict_node *next;
} dict_node;

typedef struct dict_type {
    /* Return the key bytes of a node. Must not fail. */
    void (*key_of)(const dict_node *n, const void **key, size_t *len);
    /* Optional (Redis's expandAllowed): may the table grow, taking
     * more_mem bytes, at this load (entries / buckets)? A full table whose
     * load is past 1.618 grows whatever it says. */
    int (*expand_allowed)(size_t more_mem, double load);
} dict_type;

typedef struct dict {
    const dict_type *type;
    dict_node **table[2];
    size_t size[2]; /* buckets, 0 or a power of two */
    size_t used[2];
    long rehash_idx; /* -1 when not rehashing */
    int iterators;   /* safe iterators alive: no rehash steps meanwhile */
} dict;

/* Redis's dictGetStats text for d into buf (NUL-terminated, cut at len):
 * per table (the rehashing target too while rehashing), its size,
 * elements, used buckets, chain lengths and their distribution. Returns
 * the length written. */
size_t dict_stats(const dict *d, char *buf, size_t len);

/* Set the 128-bit SipHash key for every dict in the process. Call once at
 * startup before any dict has entries. */
void dict_set_seed(const uint8_t seed[16]);
uint64_t dict_hash(const void *key, size_t len);

/* While nonzero, grow only at load factor 5 and never shrink. */
void dict_avoid_resize(int avoid);

void dict_init(dict *d, const dict_type *type);
/* Free the bucket arrays; calls free_node(node, arg) for each node first if
 * free_node is not NULL. The dict is empty and reusable afterwards. */
void dict_clear(dict *d, void (*free_node)(dict_node *n, void *arg), void *arg);

/* An empty dict takes n buckets (rounded up to a power of two) at once,
 * so a bulk load of n entries never rehashes. No-op otherwise. */
void dict_reserve(dict *d, size_t n);
/* Grow to about n buckets now unless it has that many (finishing a
 * rehash under way, then starting an incremental one when it holds
 * entries; no-op while iterators are open): a bulk load that learns its
 * size late skips the doublings on the way. */
void dict_expand(dict *d, size_t n);

size_t dict_size(const dict *d);
size_t dict_buckets(const dict *d); /* sum of both tables, for INFO/tests */
int dict_is_rehashing(const dict *d);

/* Find the node with this key, or NULL. */
dict_node *dict_find(dict *d, const void *key, size_t len);
/* Find the link (a `next` field or a bucket slot) that points at the node
 * with this key, or NULL. Valid until the next dict call. Lets a caller
 * realloc a node in place: ref = dict_find_ref(..); n = realloc(*ref, ..);
 * *ref = n; (the node's own `next` moves with it). */
dict_node **dict_find_ref(dict *d, const void *key, size_t len);
/* Insert a node whose key is NOT in the dict (caller checked). */
void dict_add(dict *d, dict_node *n);
/* The same pair for a caller that looks a key up and then inserts it: the
 * lookup hands out the key's hash (dict_hash), the insert takes it instead
 * of hashing the node's key again. */
dict_node **dict_find_ref_hashed(dict *d, const void *key, size_t len, uint64_t *hash);
void dict_add_hashed(dict *d, dict_node *n, uint64_t hash);
/* Prefetch hints for a bulk load that knows upcoming keys' hashes (their
 * dict_hash) ahead of time: stage 0 asks for the bucket slots the key
 * would be looked up in; stage 1, some keys later (the slot is then in
 * cache), for the first node chained there, whose key a lookup compares;
 * stage 2, later again (that node is then in cache), for the second.
 * Nothing else is read; a hint for a key never looked up is harmless. */
void dict_prefetch(const dict *d, uint64_t hash, int stage);
/* Unlink the node with this key and return it (caller frees), or NULL. */
dict_node *dict_remove(dict *d, const void *key, size_t len);

/* A node chosen at random using the caller's random value(s) `rnd`
 * (e.g. from a PRNG), or NULL when empty. Not perfectly uniform with long
 * chains, like Redis's dictGetRandomKey. */
dict_node *dict_random(dict *d, uint64_t rnd);

/* A node chosen at random among up to 15 sampled from a random place
 * (dict_sample), as Redis's dictGetFairRandomKey (HRANDFIELD, SRANDMEMBER,
 * SPOP): uniform for small dicts, where dict_random favours nodes alone in
 * their bucket; NULL when empty. */
dict_node *dict_random_fair(dict *d, uint64_t rnd);

/* Up to count nodes from a random place (Redis's dictGetSomeKeys, for
 * sampling: neither uniform nor distinct-guaranteed across calls, but
 * the nodes of one call are distinct). Returns how many were stored. */
size_t dict_sample(dict *d, dict_node **out, size_t count, uint64_t rnd);

/* SCAN with Redis's reverse-binary cursor: every node present for the
 * whole scan is reported at least once, even across resizes. fn must not
 * modify the dict. Returns the next cursor, 0 when done. */
uint64_t dict_scan(dict *d, uint64_t cursor, void (*fn)(void *arg, dict_node *n), void *arg);

/* A long walk over every node that may be interleaved with changes to
 * the dict (the snapshot's, a slice at a time): it visits the buckets in
 * table order, whole chains at a time, with the chains a few buckets on
 * fetched ahead, and holds off rehash steps from begin to end (as a safe
 * iterator does, so no node moves between buckets under it; a rehash may
 * still start, and the walk goes on into the new table). Between steps
 * any node may be added, removed or reallocated (dict_find_ref); every
 * node present from begin to end is reported at least once, nodes added
 * meanwhile may or may not be. dict_clear keeps the walk valid (it goes
 * on over whatever the dict then holds). */
typedef struct dict_walk {
    dict *d;      /* NULL once ended */
    int table;
    size_t index; /* next bucket of table */
} dict_walk;
void dict_walk_begin(dict_walk *w, dict *d);
/* Report the nodes of up to `buckets` buckets to fn (which must not
 * modify the dict). Returns 1 while buckets are left; 0 once the walk is
 * over, and then it has ended (dict_walk_end is a no-op). */
int dict_walk_step(dict_walk *w, size_t buckets, void (*fn)(void *arg, dict_node *n), void *arg);
/* Stop early (or after the end: nothing happens). */
void dict_walk_end(dict_walk *w);

/* Do rehash steps for about `ms` milliseconds. Returns 1 if more is left.
 * This and dict_rehash do nothing (and return 1 if rehashing) while a
 * safe iterator is alive. */
int dict_rehash_ms(dict *d, int ms);
/* Do up to n rehash steps (each moves one bucket, visiting at most 10
 * empty ones). Returns 1 if more is left. */
int dict_rehash(dict *d, int n);

/* Safe iterator: no rehash steps happen while one is alive; the node last
 * returned may be removed (dict_remove) and freed before the next call.
 * Adding nodes during iteration is not allowed. */
typedef struct dict_iter {
    dict *d;
    int table;
    long index;
    dict_node *entry, *next;
} dict_iter;
void dict_iter_init(dict_iter *it, dict *d);
dict_node *dict_iter_next(dict_iter *it);
void dict_iter_done(dict_iter *it);

#endif
