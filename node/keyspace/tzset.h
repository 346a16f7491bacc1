/* tzset.h — the sorted set value type: distinct binary-safe members, each
 * with a double score, ordered by (score, member bytes).
 *
 * Two encodings, reported by zset_encoding() with Redis 7.0's names:
 * "listpack": one flat buffer of (member, score) entries in order, walked
 *   linearly in both directions, used while the set has at most
 *   zset_max_listpack_entries members and every member is at most
 *   zset_max_listpack_value bytes (defaults 128 and 64, as Redis 7.0);
 * "skiplist": a skip list with spans (O(log n) rank and range lookups)
 *   plus a dict from member to its skip list node.
 * A set converts once, for good, when adding a member would pass either
 * bound (an update of an existing member never converts), as Redis's
 * zsetAdd. Creating a set empty and adding members one by one gives the
 * encoding Redis gives every way it builds one (ZADD, the STORE commands,
 * loading a snapshot).
 *
 * Members compare as Redis's sdscmp: memcmp over the shorter length, then
 * the shorter first. Scores are never NaN (callers refuse them). Ranks
 * are 0-based in ascending order. Views returned stay valid until the set
 * is next modified. Memory comes from mem.h. */
#ifndef KV_TZSET_H
#define KV_TZSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct kv_zset kv_zset;

extern size_t zset_max_listpack_entries; /* CONFIG zset-max-listpack-entries */
extern size_t zset_max_listpack_value;   /* CONFIG zset-max-listpack-value */

/* An empty set (listpack encoding until it grows). */
kv_zset *zset_new(void);
/* An empty set in the skiplist encoding, where Redis builds the results
 * of ZUNION, ZINTER and ZDIFF (so a -0 score survives in their replies). */
kv_zset *zset_new_skiplist(void);
/* Redis's zsetConvertToListpackIfNeeded: a skiplist set within both
 * listpack thresholds becomes a listpack (what the STORE forms keep). */
void zset_convert_if_small(kv_zset *z);
/* A listpack set becomes a skiplist, for good (what SORT does to the set
 * it sorts in Redis 7.0). */
void zset_convert_to_skiplist(kv_zset *z);
void zset_free(kv_zset *z); /* NULL is fine */
/* A deep copy with the same encoding. The caller frees it. */
kv_zset *zset_dup(const kv_zset *z);
size_t zset_len(const kv_zset *z);
size_t zset_mem(const kv_zset *z);
const char *zset_encoding(const kv_zset *z);

/* 1 and *score if m is a member, else 0. */
int zset_score(kv_zset *z, const void *m, size_t n, double *score);
/* Add m with score, or move it to score. m may be a view into this set.
 * Returns ZSET_ADDED, ZSET_UPDATED (score changed) or ZSET_SAME. */
enum { ZSET_SAME = 0, ZSET_ADDED = 1, ZSET_UPDATED = 2 };
int zset_set(kv_zset *z, const void *m, size_t n, double score);
/* 1 if m was removed, else 0. */
int zset_del(kv_zset *z, const void *m, size_t n);
/* The ascending 0-based rank of m (and its score), or -1. */
long long zset_rank(kv_zset *z, const void *m, size_t n, double *score);

/* ---- Ranges ---- */

/* A score interval; minex/maxex make a bound exclusive. */
typedef struct zrange_score {
    double min, max;
    int minex, maxex;
} zrange_score;

/* A lex bound: a value (inclusive or exclusive), or one of the infinities
 * Redis writes "-" and "+". */
enum { ZLEX_VALUE = 0, ZLEX_NEG_INF = 1, ZLEX_POS_INF = 2 };
typedef struct zlex_bound {
    int kind;
    int ex;
    const char *p;
    size_t n;
} zlex_bound;
typedef struct zrange_lex {
    zlex_bound min, max;
} zrange_lex;

int zset_score_gte_min(double s, const zrange_score *r);
int zset_score_lte_max(double s, const zrange_score *r);
int zset_lex_gte_min(const char *m, size_t n, const zrange_lex *r);
int zset_lex_lte_max(const char *m, size_t n, const zrange_lex *r);
/* Member order: <0, 0, >0 (memcmp, then length). */
int zset_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* The ranks [*first, *last] of the members in the range: 1, or 0 if no
 * member is in it (an empty or inverted range included). */
int zset_range_by_score(kv_zset *z, const zrange_score *r, size_t *first, size_t *last);
int zset_range_by_lex(kv_zset *z, const zrange_lex *r, size_t *first, size_t *last);
/* Remove the members of ranks start..end (inclusive, end < len). */
void zset_delete_ranks(kv_zset *z, size_t start, size_t end);

/* ---- Iteration ---- */

/* From the member of rank `rank` (< len), towards higher ranks, or lower
 * ones with rev. The set must not be modified meanwhile. */
typedef struct zset_iter {
    kv_zset *z;
    int rev;
    size_t off;  /* listpack: next entry's start (forward) or end (rev) */
    void *node;  /* skiplist: next node */
} zset_iter;
void zset_iter_init(zset_iter *it, kv_zset *z, size_t rank, int rev);
/* 1 and the next member (a view) and score, or 0 at the end. */
int zset_iter_next(zset_iter *it, const char **m, size_t *n, double *score);

/* ZSCAN step: listpack sets report everything and return 0 (as Redis);
 * skiplist sets use dict_scan's cursor. fn must not modify the set. */
uint64_t zset_scan(kv_zset *z, uint64_t cursor,
                   void (*fn)(void *arg, const char *m, size_t n, double score), void *arg);

/* Redis's d2string: "%.17g" (integers printed whole), "inf", "-inf",
 * "-0"; NUL-terminated. Returns the length. buf needs ZSET_SCOREBUF. */
#define ZSET_SCOREBUF 32
size_t zset_fmt_score(char *buf, double d);

/* The skiplist encoding's dict (DEBUG HTSTATS-KEY), or NULL. */
const struct dict *zset_dict(const kv_zset *x);

#endif
