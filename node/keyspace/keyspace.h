/* keyspace.h — the in-memory database: key -> typed value, with expiry.
 *
 * Owns every key and value. Knows nothing about commands, the WAL or the
 * clock: "now" is always passed in, and lookups here never expire anything
 * (the command layer decides when an expired key is deleted and logs that
 * deletion as a WAL entry).
 *
 * Layout (memory per key matters): one allocation per key, a kobj:
 *   [dict_node next][u32 klen][4 bits type, 4 bits flags, 24 bits lru][u64 vlen | ptr]
 *   [i64 expire_ms, only if KF_EXPIRE][key bytes][string value bytes]
 * Strings live inline after the key; lists, hashes, sets and sorted sets
 * are a pointer to a kv_list / kv_hash / kv_set / kv_zset. A second dict (the expiry index) holds one small node
 * per key with a TTL, pointing at its kobj, so the active expiry cycle can
 * sample keys with TTLs only (as Redis's `expires` dict).
 *
 * Pointer validity: a kobj* stays valid until the next call that modifies
 * that key (set, resize, expire/persist, delete, rename) or clears the
 * keyspace; calls that may move the object return the new pointer.
 * Key and value arguments may point into objects of this keyspace
 * (including the one being replaced): they are read before anything is
 * freed or moved. Keys are at most UINT32_MAX bytes. */
#ifndef KV_KEYSPACE_H
#define KV_KEYSPACE_H

#include "thash.h"
#include "tlist.h"
#include "tset.h"
#include "tstream.h"
#include "tzset.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ks ks;
typedef struct kobj kobj;

/* Type codes are also the snapshot's entry types (snapshot.c): 5 is
 * reserved there (aux records), so streams are 6. */
enum { KT_STRING = 0, KT_LIST = 1, KT_HASH = 2, KT_SET = 3, KT_ZSET = 4, KT_STREAM = 6 };

ks *ks_new(void);
void ks_free(ks *k); /* NULL is fine */
void ks_clear(ks *k); /* FLUSHALL: drop every key */
/* The same, lazy: the tables go to the lazyfree thread (lazyfree.h) as
 * they are, counted as one object per key (Redis's emptyDbAsync). */
void ks_clear_lazy(ks *k, int lazy);
/* Lazy freeing of values dropped inside the keyspace: by ks_delete and
 * overwrites (Redis's lazyfree-lazy-server-del), and by the active expiry
 * cycle (lazyfree-lazy-expire). A lazy drop sends a value to the lazyfree
 * thread when freeing it takes more than 64 steps (Redis's
 * LAZYFREE_THRESHOLD; ks_free_effort), and frees it at once otherwise. */
void ks_set_lazyfree(int server_del, int expire);
/* The keys and expiry tables of every database grow (while not loaded
 * past 1.618 entries per bucket) only when fn(arg, bytes the bigger table
 * takes) allows it: as Redis, a table is not doubled when that alone would
 * put used memory over maxmemory (and evict keys for its sake). */
void ks_set_expand_check(int (*fn)(void *arg, size_t more_mem), void *arg);
int ks_lazy_server_del(void); /* what ks_delete does: lazy or not */
size_t ks_size(const ks *k);    /* keys, including expired ones not yet removed */
/* An empty keyspace about to receive n keys sizes its table for them. */
void ks_reserve(ks *k, size_t n);
/* Any keyspace about to hold about n keys grows its table for them now. */
void ks_expand(ks *k, size_t n);
size_t ks_expires(const ks *k); /* keys with a TTL */

/* Prefetching for a bulk load (snapshot, WAL replay) that can see the keys
 * it will look up a few entries ahead. Each key is announced with
 * ks_prefetch_next when it comes into view; the window asks the CPU for
 * its bucket at once, KS_PF_HALF announcements later for the first node
 * in that bucket and KS_PF_LATE announcements after it came into view for
 * the second, so that when the load reaches the key (about KS_PF_DEPTH
 * announcements after it came into view) its lookup finds them in cache.
 * Only hints: a key announced and never looked up, or looked up without
 * being announced, is just as correct. */
#define KS_PF_DEPTH 16
#define KS_PF_HALF 8
#define KS_PF_LATE 12
typedef struct ks_prefetcher {
    ks *k[KS_PF_DEPTH];
    uint64_t hash[KS_PF_DEPTH];
    unsigned n; /* announcements so far */
} ks_prefetcher;
/* Announce the next key (k NULL: an entry with no key to prefetch). */
void ks_prefetch_next(ks_prefetcher *pf, ks *k, const void *key, size_t klen);
/* The same for a batch of up to KS_PF_DEPTH keys seen together (the
 * requests of a pipeline): their buckets, then their first nodes, so the
 * cache misses of all of them overlap. Only hints. */
void ks_prefetch_keys(ks *k, const char *const *keys, const size_t *lens, size_t n);
/* The keys dict and the expiry index (DEBUG HTSTATS). */
const struct dict *ks_keys_dict(const ks *k);
const struct dict *ks_expires_dict(const ks *k);

/* Bytes of bookkeeping (MEMORY STATS): the keys dict's buckets and key
 * headers, and the expiry index (buckets, nodes and expiry fields). */
void ks_overhead(const ks *k, size_t *main, size_t *expires);
/* Redis's avg_ttl (INFO keyspace): a running estimate, in ms, of the TTL of
 * keys with one, updated by ks_expire_cycle from the keys it samples; 0
 * before any sample (and after ks_clear). */
int64_t ks_avg_ttl(const ks *k);

/* --- lookup (never expires anything) --- */
kobj *ks_find(ks *k, const void *key, size_t klen);

/* --- properties of an object --- */
int kobj_type(const kobj *o);
const char *kobj_key(const kobj *o, size_t *klen);
int64_t kobj_expire(const kobj *o); /* absolute unix ms, or -1 for none */
/* Redis 7.0 OBJECT ENCODING name: "int" | "embstr" | "raw" | "quicklist" |
 * "listpack" | "hashtable" | "intset" | "skiplist" | "stream". */
const char *kobj_encoding(const kobj *o);
/* Redis 7.0's OBJECT REFCOUNT: 2147483647 for a string Redis would hold
 * as one of its shared integers (int encoding, 0..9999, not made by
 * ks_copy or KS_NOINT), else 1. */
long kobj_refcount(const kobj *o);
/* Approximate bytes used by this key and its value (MEMORY USAGE). */
size_t kobj_mem(const kobj *o);

/* --- access stamp (Redis's 24-bit robj->lru) ---
 * 24 bits per key, kept in the object header at no extra cost, that the
 * command layer uses as an LRU clock or an LFU (decay time, counter) pair
 * (eviction, OBJECT IDLETIME / FREQ). The keyspace only stores it: a new
 * object takes the stamp last given to ks_set_new_lru (a process-wide
 * value the command layer keeps current), an overwrite of a key
 * (ks_set_string on an existing key) and ks_rename keep the old one,
 * ks_copy makes a new one. */
#define KS_LRU_MAX ((1u << 24) - 1)
uint32_t kobj_lru(const kobj *o);
void kobj_set_lru(kobj *o, uint32_t v); /* v & KS_LRU_MAX */
void ks_set_new_lru(uint32_t v);
/* Whether ks_set_string stores integers as Redis's shared objects (its
 * OBJECT REFCOUNT): Redis does not share them while maxmemory is set with
 * an LRU or LFU policy (each key needs its own access stamp). Default on;
 * affects strings stored from then on. */
void ks_set_shared_integers(int on);

/* --- strings --- */
enum { KS_KEEPTTL = 1, KS_NOINT = 2 };
/* Create or replace the key (whatever its old type) with a string value.
 * The TTL is dropped unless KS_KEEPTTL. The encoding follows from the
 * value ("int", "embstr" up to 44 bytes, else "raw"), as Redis's
 * tryObjectEncoding; with KS_NOINT it is never "int" (a value Redis makes
 * with createStringObject, as INCRBYFLOAT's result). Returns the object. */
kobj *ks_set_string(ks *k, const void *key, size_t klen, const void *val, size_t vlen,
                    int flags);
/* View of a string value (o must be KT_STRING). Not NUL-terminated. */
const char *kobj_str(const kobj *o, size_t *vlen);
/* Make the string value newlen bytes long, keeping the first
 * min(old, newlen) bytes and zero-filling the rest; returns a writable
 * pointer to the value and updates *o. Marks the encoding "raw" (as
 * APPEND/SETRANGE do in Redis). */
char *ks_string_resize(ks *k, kobj **o, size_t newlen);

/* --- lists and hashes --- */
/* Create an empty list/hash under a key that must not exist. The command
 * layer must never leave an empty list or hash in the keyspace: delete the
 * key when its last element goes. */
kobj *ks_add_list(ks *k, const void *key, size_t klen);
kobj *ks_add_hash(ks *k, const void *key, size_t klen);
/* Put a set / sorted set (owned by the keyspace from now on, never empty
 * once the command is done) under a key that must not exist. */
kobj *ks_add_set(ks *k, const void *key, size_t klen, kv_set *s);
kobj *ks_add_zset(ks *k, const void *key, size_t klen, kv_zset *z);
/* Put a list / hash built elsewhere (owned by the keyspace from now on,
 * never empty) under a key that must not exist (RESTORE). */
kobj *ks_add_list_value(ks *k, const void *key, size_t klen, kv_list *l);
kobj *ks_add_hash_value(ks *k, const void *key, size_t klen, kv_hash *h);
kv_list *kobj_list(kobj *o); /* o must be KT_LIST */
kv_set *kobj_set(kobj *o);   /* o must be KT_SET; valid until it is next modified */
/* set_add / set_remove on the set of o (a KT_SET), which may move it. */
int kobj_set_add(kobj *o, const void *m, size_t n);
int kobj_set_remove(kobj *o, const void *m, size_t n);
kv_zset *kobj_zset(kobj *o); /* o must be KT_ZSET */
kv_hash *kobj_hash(kobj *o); /* o must be KT_HASH */
/* Put a stream (owned by the keyspace from now on; may be empty, as
 * Redis's) under a key that must not exist. */
kobj *ks_add_stream(ks *k, const void *key, size_t klen, kv_stream *s);
kv_stream *kobj_stream(kobj *o); /* o must be KT_STREAM */

/* --- whole keys --- */
/* Delete a key. Returns 1 if it existed. */
int ks_delete(ks *k, const void *key, size_t klen);
/* ks_delete with the laziness given here rather than ks_set_lazyfree's
 * (UNLINK; DEL, expiry and eviction under their own options). */
int ks_delete_lazy(ks *k, const void *key, size_t klen, int lazy);
/* Redis's lazyfreeGetFreeEffort for o's value (keyspace.c). */
size_t ks_free_effort(const kobj *o);
/* Set (at_ms >= 0) or remove (at_ms < 0) the TTL. Returns the object. */
kobj *ks_set_expire(ks *k, kobj *o, int64_t at_ms);
/* Move src's value and TTL to dstkey (replacing whatever is there); src's
 * key is gone afterwards. src and dst must differ. Returns the new object. */
kobj *ks_rename(ks *k, kobj *src, const void *dstkey, size_t dstlen);
/* Deep-copy src's value and TTL to dstkey in k (replacing whatever is
 * there); src may be a key of another keyspace (COPY … DB). The copy keeps
 * src's encoding but, as Redis's dupStringObject, is never a shared
 * integer (kobj_refcount 1). Returns the new object; if dstkey is src's
 * own key in k nothing changes and src is returned. */
kobj *ks_copy(ks *k, kobj *src, const void *dstkey, size_t dstlen);

/* Move o (a key of src, absent from dst) to dst with its value, TTL and
 * encoding unchanged (MOVE). The object is not reallocated: o stays valid
 * and is returned. */
kobj *ks_move(ks *src, kobj *o, ks *dst);

/* A random key (possibly expired), or NULL when empty. */
kobj *ks_random(ks *k, uint64_t rnd);
/* As ks_random, but every key about equally likely (Redis's
 * dictGetFairRandomKey, used by RANDOMKEY); NULL when empty. */
kobj *ks_random_fair(ks *k, uint64_t rnd);
/* A random key with a TTL, or NULL when none has one. */
kobj *ks_random_expiring(ks *k, uint64_t rnd);
/* Up to n keys from a random place (all keys, or only those with a TTL),
 * for eviction's sampling (dict_sample). Returns how many were stored. */
size_t ks_sample(ks *k, int expiring, kobj **out, size_t n, uint64_t rnd);
/* SCAN step (dict_scan semantics). fn must not modify the keyspace. */
uint64_t ks_scan(ks *k, uint64_t cursor, void (*fn)(void *arg, kobj *o), void *arg);
/* The snapshot's walk over every key (dict_walk): whole buckets a step,
 * in table order, memory fetched ahead. The key table does no rehash
 * steps from begin to end; keys may be added, changed and removed between
 * steps (not by fn). Every key present from begin to end is reported at
 * least once. ks_walk_step returns 1 while keys are left, 0 once over
 * (the walk has then ended; ks_walk_end stops one early). */
typedef struct ks_walk {
    void *state[3];
} ks_walk;
void ks_walk_begin(ks_walk *w, ks *k);
int ks_walk_step(ks_walk *w, size_t buckets, void (*fn)(void *arg, kobj *o), void *arg);
void ks_walk_end(ks_walk *w);

/* Active expiry: look at up to `samples` keys with a TTL (sampling the
 * expiry index, continuing where the last call stopped) and remove those
 * with expire <= now_ms, calling before_delete(arg, key, klen) first for
 * each so the caller can log the deletion. Returns the number removed.
 * Sampling takes whole buckets, so it may look at a few more than
 * `samples`; it stops early after one whole pass over the index or after
 * 20 * samples buckets. before_delete must not modify the keyspace. */
size_t ks_expire_cycle(ks *k, int64_t now_ms, size_t samples,
                       void (*before_delete)(void *arg, const char *key, size_t klen),
                       void *arg);

/* Do incremental rehash work for about ms milliseconds: on the keys dict
 * while it is rehashing, else on the expiry index (one per call, as
 * Redis's incrementallyRehash). Returns 0 if neither was rehashing. */
int ks_rehash_ms(ks *k, int ms);

/* --- incremental snapshots ---
 * A snapshot taken without fork (store/snapinc.c) walks the keyspaces a
 * slice at a time while commands go on changing them. It stays a
 * point-in-time image because the keyspace hands it every key that
 * existed when it began, exactly once, before that key is changed or
 * removed: ks_snap_begin makes every existing key of every keyspace
 * pending; a pending key is passed to fn(arg, k, o) (which must only
 * read o) and stops being pending when it is found (ks_find: whoever finds
 * a key may change it through the pointer), overwritten, resized, given or
 * stripped of a TTL, renamed, moved, deleted (ks_delete, the expiry cycle,
 * ks_clear), or visited with ks_snap_visit by the walk itself. Keys made
 * after ks_snap_begin are never pending. One snapshot at a time, process
 * wide: ks_snap_end once every key was handed over, or after ks_snap_settle
 * on every keyspace that may still hold pending keys (an abandoned walk). */
typedef void (*ks_snap_fn)(void *arg, ks *k, kobj *o);
void ks_snap_begin(ks_snap_fn fn, void *arg);
void ks_snap_end(void);
int ks_snap_active(void);
void ks_snap_visit(ks *k, kobj *o);
/* Every key of k stops being pending without being handed over. */
void ks_snap_settle(ks *k);

/* Iterate every key once; the keyspace must not change meanwhile (it is
 * used in a fork child writing a snapshot, and by DEBUG DIGEST / KEYS). */
typedef struct ks_iter {
    void *state[8];
} ks_iter;
void ks_iter_init(ks_iter *it, ks *k);
kobj *ks_iter_next(ks_iter *it);
void ks_iter_done(ks_iter *it);

/* An order-independent digest of the whole keyspace (keys, types, values,
 * TTLs) as 40 lowercase hex chars + NUL; all zeros when empty. Two nodes
 * with the same data have the same digest whatever their history (and
 * encodings). List order matters; hash field and set member order do
 * not; sorted sets digest their (member, score) pairs. */
void ks_digest(ks *k, char out[41]);
/* The digest of one key's value (DEBUG DIGEST-VALUE): its type, value and
 * whether it has a TTL, but not its name, so a COPY digests the same as
 * its source; all zeros for NULL (no such key). */
void ks_digest_value(kobj *o, char out[41]);
/* The digest of databases dbs[0..n) (DEBUG DIGEST): as Redis's, each
 * non-empty database's number is mixed in before its keys, so a key
 * digests differently in another database; all zeros when all are
 * empty. */
void ks_digest_dbs(ks *const *dbs, int n, char out[41]);

/* --- aux records ---
 * Named blobs kept beside the keys for state that is not a key but must be
 * as durable as one: Redis functions' library code ("fn:<library>").
 * One set per process (functions belong to the server, not to a
 * database): k names the keyspace whose snapshot carries them (database
 * 0's), the records are the same whichever keyspace is passed.
 * They are not keys (no DBSIZE, no digest) and ks_clear (FLUSHALL) keeps
 * them, as Redis keeps functions; snapshots carry them and loading one
 * replaces them (snap_load clears them first). At most a few hundred:
 * kept sorted by name in an array. */
void ks_aux_set(ks *k, const char *name, size_t nlen, const void *val, size_t vlen);
int ks_aux_del(ks *k, const char *name, size_t nlen); /* 1 if it was there */
/* The value of name (valid until the next aux change), or NULL. */
const char *ks_aux_get(const ks *k, const char *name, size_t nlen, size_t *vlen);
size_t ks_aux_count(const ks *k);
/* Record i (0 <= i < ks_aux_count) in name order. */
void ks_aux_at(const ks *k, size_t i, const char **name, size_t *nlen, const char **val,
               size_t *vlen);
void ks_aux_clear(ks *k);
/* A counter that changes with every aux change of any keyspace: a cache
 * built from the records (the Lua functions) knows when to rebuild. */
uint64_t ks_aux_gen(void);

#endif
