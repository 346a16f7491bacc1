/* tset.h — the set value type: an unordered collection of distinct
 * binary-safe strings.
 *
 * Two encodings, reported by set_encoding() with Redis 7.0's names:
 * "intset": a sorted array of integers (2, 4 or 8 bytes each, widened for
 *   good when a wider value arrives), used while every member is a
 *   canonical 64-bit integer (Redis's string2ll: "12" but not "012",
 *   "+1" or " 1") and there are at most set_max_intset_entries members;
 * "hashtable": a dict (dict.h) of member nodes, once either bound is
 *   passed. A set never converts back, as in Redis 7.0 (which has no
 *   listpack sets: set-max-listpack-* arrived in 7.2).
 * Intset members are reported in ascending numeric order (SMEMBERS of a
 * small integer set matches Redis). Views returned stay valid until the
 * set is next modified; integer members are written into the caller's
 * buffer (SET_NUMBUF bytes). Memory comes from mem.h. */
#ifndef KV_TSET_H
#define KV_TSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct kv_set kv_set;

extern size_t set_max_intset_entries; /* CONFIG set-max-intset-entries */

/* Room for any int64 in decimal, with sign and NUL. */
#define SET_NUMBUF 24

/* Redis's setTypeCreate: an empty set whose encoding suits a first
 * member m (intset if m is a canonical integer, else hashtable). */
kv_set *set_new_for(const void *m, size_t n);
/* An empty intset-encoded set (Redis's createIntsetObject): what the
 * set-algebra STORE commands build their result in. */
kv_set *set_new(void);
void set_free(kv_set *s); /* NULL is fine */
/* A deep copy with the same encoding. The caller frees it. */
kv_set *set_dup(const kv_set *s);
size_t set_len(const kv_set *s);
size_t set_mem(const kv_set *s);
const char *set_encoding(const kv_set *s);
int set_is_intset(const kv_set *s);
/* An intset's bytes per integer (2, 4 or 8; 2 while empty, as Redis's
 * intsetNew), and widening it for good to at least `width` (RESTORE keeps
 * the width of the intset it loads, as Redis does). */
int set_intset_width(const kv_set *s);
void set_intset_widen(kv_set **s, int width);

/* 1 if m was added, 0 if it was there. m may be a view into this set.
 * The set may move (its integers live in its own allocation): *s is
 * updated, and views into the set are invalid afterwards. */
int set_add(kv_set **s, const void *m, size_t n);
/* 1 if m was removed, 0 if it was not there. May move the set, as set_add. */
int set_remove(kv_set **s, const void *m, size_t n);
int set_contains(kv_set *s, const void *m, size_t n);

/* Iterate every member once. The set must not be modified meanwhile. */
typedef struct set_iter {
    kv_set *s;
    size_t pos;
    int table;
    void *node;
    char buf[SET_NUMBUF];
} set_iter;
void set_iter_init(set_iter *it, kv_set *s);
/* 1 and a view of the next member (valid until the next call), or 0. */
int set_iter_next(set_iter *it, const char **m, size_t *n);
void set_iter_done(set_iter *it);

/* A member chosen with the caller's random value, or 0 when empty. An
 * integer member is written into buf. */
int set_random(kv_set *s, uint64_t rnd, const char **m, size_t *n, char buf[SET_NUMBUF]);

/* SSCAN step: intsets report everything and return 0 (as Redis);
 * hashtable sets use dict_scan's cursor. fn must not modify the set. */
uint64_t set_scan(kv_set *s, uint64_t cursor, void (*fn)(void *arg, const char *m, size_t n),
                  void *arg);

/* The hashtable encoding's dict (DEBUG HTSTATS-KEY), or NULL. */
const struct dict *set_dict(const kv_set *s);

#endif
