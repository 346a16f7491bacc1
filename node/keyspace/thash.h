/* thash.h — the hash value type: field -> value, both binary-safe.
 *
 * Two encodings, reported by hash_encoding() with Redis 7's names:
 * "listpack": one buffer of length-prefixed (field, value) pairs in
 *   insertion order, searched linearly, used while the hash has at most
 *   hash_max_listpack_entries fields and every field and value is at most
 *   hash_max_listpack_value bytes (defaults 512 and 64, like Redis 7.0);
 * "hashtable": a dict (dict.h) of field nodes, once either bound is passed.
 *   A hash never converts back, as in Redis.
 * Updating a field keeps its position in the listpack encoding, new fields
 * go at the end, and deleting closes the gap — so HGETALL order on small
 * hashes matches Redis. Views returned stay valid until the hash is next
 * modified. Memory comes from mem.h. */
#ifndef KV_THASH_H
#define KV_THASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct kv_hash kv_hash;

extern size_t hash_max_listpack_entries; /* CONFIG hash-max-listpack-entries */
extern size_t hash_max_listpack_value;   /* CONFIG hash-max-listpack-value */

kv_hash *hash_new(void);
void hash_free(kv_hash *h); /* NULL is fine */
/* A deep copy with the same encoding and (listpack) order, as Redis's
 * COPY keeps OBJECT ENCODING. The caller frees it with hash_free. */
kv_hash *hash_dup(const kv_hash *h);
size_t hash_len(const kv_hash *h);
size_t hash_mem(const kv_hash *h);
const char *hash_encoding(const kv_hash *h);

/* 1 and a view of the value if the field exists, else 0. */
int hash_get(kv_hash *h, const void *f, size_t flen, const char **v, size_t *vlen);
/* Set a field. Returns 1 if the field is new, 0 if it was updated.
 * f and v may be views into this same hash. */
int hash_set(kv_hash *h, const void *f, size_t flen, const void *v, size_t vlen);
/* Returns 1 if the field existed and was removed, else 0. */
int hash_del(kv_hash *h, const void *f, size_t flen);

/* Iterate every field once. The hash must not be modified meanwhile. */
typedef struct hash_iter {
    kv_hash *h;
    size_t pos;
    void *state[4];
} hash_iter;
void hash_iter_init(hash_iter *it, kv_hash *h);
/* 1 and views of the next pair, or 0 at the end. */
int hash_iter_next(hash_iter *it, const char **f, size_t *flen, const char **v, size_t *vlen);
void hash_iter_done(hash_iter *it);

/* A field chosen with the caller's random value, or 0 when empty. */
int hash_random(kv_hash *h, uint64_t rnd, const char **f, size_t *flen, const char **v,
                size_t *vlen);

/* HSCAN step: listpack hashes report everything and return 0 (as Redis);
 * hashtable hashes use dict_scan's cursor. fn must not modify the hash. */
uint64_t hash_scan(kv_hash *h, uint64_t cursor,
                   void (*fn)(void *arg, const char *f, size_t flen, const char *v, size_t vlen),
                   void *arg);

/* The hashtable encoding's dict (DEBUG HTSTATS-KEY), or NULL. */
const struct dict *hash_dict(const kv_hash *x);

#endif
