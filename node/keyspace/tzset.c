/* tzset.c — the sorted set value type (see tzset.h).
 *
 * "listpack" encoding: one buffer of entries in (score, member) order:
 *
 *     [varint mlen][member bytes][score][backlen]
 *
 *   varint  LEB128, one byte below 128;
 *   score   a varint v: v even -> the integer zigzag^-1(v >> 1) (scores
 *           that are whole numbers below 2^53 in magnitude: one byte for
 *           -31..31); v == 1 -> the 8 raw bytes of the double follow
 *           (native byte order). -0 is stored as the integer 0, as
 *           Redis's listpack turns the "-0" d2string writes into 0;
 *   backlen the length of everything before it in the entry, as a varint
 *           written backwards (its last byte holds the low 7 bits, and a
 *           set high bit there means more bytes come before), so the
 *           buffer can be walked from the end (ZREVRANGE) as Redis's
 *           listpack is.
 *   A small member with a small integer score takes mlen + 4 bytes.
 *
 * "skiplist" encoding: Redis's zskiplist (levels with spans, a backward
 * link on level 0, p = 1/4, at most 32 levels) whose nodes are also the
 * entries of a dict keyed by member, so one allocation holds a member:
 *
 *     zsl_node { dict_node; double score; backward; u32 mlen; u8 level;
 *                level[level] {forward, span}; member bytes }
 *
 * The skiplist's `bytes` tracks what it owns besides the dict's
 * bucket arrays, so zset_mem is O(1). */
#include "tzset.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "dict.h"
#include "mem.h"

size_t zset_max_listpack_entries = 128;
size_t zset_max_listpack_value = 64;

enum { ENC_LISTPACK = 0, ENC_SKIPLIST = 1 };

#define ZSL_MAXLEVEL 32

typedef struct zsl_node zsl_node;
typedef struct zsl_level {
    zsl_node *forward;
    size_t span;
} zsl_level;

struct zsl_node {
    dict_node dn;
    double score;
    zsl_node *backward;
    uint32_t mlen;
    uint8_t level;
    zsl_level lv[]; /* then the member bytes */
};

typedef struct zsl {
    zsl_node *header, *tail;
    size_t length;
    int level;
    size_t bytes; /* this struct and every node (usable sizes) */
    dict d;
} zsl;

/* 24 bytes: the skiplist (with its dict) is allocated only once a set
 * needs it, so a small set costs this header and its listpack, whose
 * length fits 32 bits (a listpack converts before 1 GiB, as Redis's
 * lpSafeToAdd makes it). */
struct kv_zset {
    uint8_t enc;
    uint32_t lp_count; /* listpack: members */
    uint32_t lp_len;   /* listpack: bytes in use */
    union {
        unsigned char *buf; /* listpack */
        zsl *sl;            /* skiplist */
    } u;
};

#define LISTPACK_MAX_SAFETY_SIZE (1u << 30)

static inline const char *node_member(const zsl_node *x)
{
    return (const char *)&x->lv[x->level];
}

static void node_key(const dict_node *n, const void **key, size_t *len)
{
    const zsl_node *x = (const zsl_node *)n;
    *key = node_member(x);
    *len = x->mlen;
}

static const dict_type node_type = {.key_of = node_key};

/* ---- Shared helpers ---- */

int zset_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Is (s1, m1) before (s2, m2) in the set's order? */
static int before(double s1, const char *m1, size_t n1, double s2, const char *m2, size_t n2)
{
    return s1 < s2 || (s1 == s2 && zset_cmp(m1, n1, m2, n2) < 0);
}

int zset_score_gte_min(double s, const zrange_score *r)
{
    return r->minex ? s > r->min : s >= r->min;
}

int zset_score_lte_max(double s, const zrange_score *r)
{
    return r->maxex ? s < r->max : s <= r->max;
}

/* Redis's sdscmplex with its minstring/maxstring sentinels. */
static int lex_cmp_bound(const char *m, size_t n, const zlex_bound *b)
{
    if (b->kind == ZLEX_NEG_INF)
        return 1;
    if (b->kind == ZLEX_POS_INF)
        return -1;
    return zset_cmp(m, n, b->p, b->n);
}

int zset_lex_gte_min(const char *m, size_t n, const zrange_lex *r)
{
    int c = lex_cmp_bound(m, n, &r->min);
    return r->min.ex ? c > 0 : c >= 0;
}

int zset_lex_lte_max(const char *m, size_t n, const zrange_lex *r)
{
    int c = lex_cmp_bound(m, n, &r->max);
    return r->max.ex ? c < 0 : c <= 0;
}

/* Redis's zslIsInRange / zslIsInLexRange: can anything be in the range? */
static int score_range_empty(const zrange_score *r)
{
    return r->min > r->max || (r->min == r->max && (r->minex || r->maxex));
}

static int lex_range_empty(const zrange_lex *r)
{
    const zlex_bound *a = &r->min, *b = &r->max;
    if (a->kind == ZLEX_POS_INF || b->kind == ZLEX_NEG_INF)
        return 1;
    if (a->kind == ZLEX_VALUE && b->kind == ZLEX_VALUE) {
        int c = zset_cmp(a->p, a->n, b->p, b->n);
        return c > 0 || (c == 0 && (a->ex || b->ex));
    }
    return 0;
}

size_t zset_fmt_score(char *buf, double d)
{
    int n;
    if (isinf(d))
        n = snprintf(buf, ZSET_SCOREBUF, "%s", d > 0 ? "inf" : "-inf");
    else if (isnan(d))
        n = snprintf(buf, ZSET_SCOREBUF, "nan");
    else if (d == 0)
        n = snprintf(buf, ZSET_SCOREBUF, "%s", signbit(d) ? "-0" : "0");
    else
        n = snprintf(buf, ZSET_SCOREBUF, "%.17g", d);
    return (size_t)n;
}

/* ---- Varints ---- */

static size_t varint_len(uint64_t n)
{
    size_t k = 1;
    while (n >= 0x80) {
        n >>= 7;
        k++;
    }
    return k;
}

static unsigned char *varint_put(unsigned char *p, uint64_t n)
{
    while (n >= 0x80) {
        *p++ = (unsigned char)(n | 0x80);
        n >>= 7;
    }
    *p++ = (unsigned char)n;
    return p;
}

static const unsigned char *varint_get(const unsigned char *p, uint64_t *n)
{
    uint64_t v = 0;
    int shift = 0;
    for (;; p++, shift += 7) {
        v |= (uint64_t)(*p & 0x7f) << shift;
        if (!(*p & 0x80))
            break;
    }
    *n = v;
    return p + 1;
}

/* Backwards varint: written so that reading from its end works. */
static unsigned char *backlen_put(unsigned char *p, uint64_t n)
{
    size_t k = varint_len(n);
    for (size_t i = 0; i < k; i++) {
        /* byte k-1-i holds bits 7i..7i+6; all but the first carry 0x80 */
        unsigned char b = (unsigned char)((n >> (7 * i)) & 0x7f);
        if (i + 1 < k)
            b |= 0x80;
        p[k - 1 - i] = b;
    }
    return p + k;
}

/* Read the backlen that ends just before `end`; returns its value and
 * sets *k to its size. */
static uint64_t backlen_get(const unsigned char *end, size_t *k)
{
    uint64_t v = 0;
    size_t i = 0;
    for (;; i++) {
        unsigned char b = end[-1 - (long)i];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            break;
    }
    *k = i + 1;
    return v;
}

/* ---- Listpack encoding ---- */

#define INT_SCORE_LIMIT 9007199254740992.0 /* 2^53 */

static int score_is_small_int(double d, int64_t *out)
{
    if (!(d > -INT_SCORE_LIMIT && d < INT_SCORE_LIMIT) || d != floor(d))
        return 0;
    *out = (int64_t)d;
    return 1;
}

static size_t score_len(double d)
{
    int64_t i;
    if (score_is_small_int(d, &i)) {
        uint64_t z = ((uint64_t)i << 1) ^ (uint64_t)(i >> 63);
        return varint_len(z << 1);
    }
    return 1 + sizeof(double);
}

static unsigned char *score_put(unsigned char *p, double d)
{
    int64_t i;
    if (score_is_small_int(d, &i)) {
        uint64_t z = ((uint64_t)i << 1) ^ (uint64_t)(i >> 63);
        return varint_put(p, z << 1);
    }
    *p++ = 1;
    memcpy(p, &d, sizeof d);
    return p + sizeof d;
}

static const unsigned char *score_get(const unsigned char *p, double *d)
{
    uint64_t v;
    p = varint_get(p, &v);
    if (v == 1) {
        memcpy(d, p, sizeof *d);
        return p + sizeof *d;
    }
    uint64_t z = v >> 1;
    int64_t i = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
    *d = (double)i;
    return p;
}

static size_t entry_size(size_t mlen, double score)
{
    size_t body = varint_len(mlen) + mlen + score_len(score);
    return body + varint_len(body);
}

/* One decoded entry. */
typedef struct lp_ent {
    size_t start, end; /* offsets: this entry, the next one */
    const char *m;
    size_t mlen;
    double score;
} lp_ent;

static size_t lp_decode(const kv_zset *z, size_t off, lp_ent *e)
{
    const unsigned char *base = z->u.buf;
    uint64_t mlen;
    const unsigned char *p = varint_get(base + off, &mlen);
    e->start = off;
    e->m = (const char *)p;
    e->mlen = (size_t)mlen;
    p = score_get(p + mlen, &e->score);
    size_t body = (size_t)(p - base) - off;
    e->end = off + body + varint_len(body);
    return e->end;
}

/* Decode the entry that ends at `end` (> 0). */
static void lp_decode_before(const kv_zset *z, size_t end, lp_ent *e)
{
    size_t k;
    uint64_t body = backlen_get(z->u.buf + end, &k);
    lp_decode(z, end - k - (size_t)body, e);
}

static int lp_find(const kv_zset *z, const void *m, size_t n, lp_ent *e, size_t *rank)
{
    size_t r = 0;
    for (size_t off = 0; off < z->lp_len; r++) {
        off = lp_decode(z, off, e);
        if (e->mlen == n && (n == 0 || memcmp(e->m, m, n) == 0)) {
            if (rank)
                *rank = r;
            return 1;
        }
    }
    return 0;
}

static void lp_reserve(kv_zset *z, size_t need)
{
    size_t have = kv_usable(z->u.buf);
    if (need <= have)
        return;
    z->u.buf = kv_realloc(z->u.buf, need + need / 8);
}

static void lp_trim(kv_zset *z)
{
    size_t have = kv_usable(z->u.buf);
    if (z->lp_len && have <= 2 * z->lp_len + 64)
        return;
    if (z->lp_len == 0) {
        kv_free(z->u.buf);
        z->u.buf = NULL;
    } else {
        z->u.buf = kv_realloc(z->u.buf, z->lp_len);
    }
}

/* Resize the byte range [at, at + oldn) to newn bytes, moving the tail. */
static unsigned char *lp_splice(kv_zset *z, size_t at, size_t oldn, size_t newn)
{
    size_t tail = z->lp_len - at - oldn;
    if (newn > oldn)
        lp_reserve(z, z->lp_len + newn - oldn);
    unsigned char *b = z->u.buf;
    if (newn != oldn && tail)
        memmove(b + at + newn, b + at + oldn, tail);
    z->lp_len = z->lp_len - oldn + newn;
    return b + at;
}

static void lp_insert(kv_zset *z, const void *m, size_t n, double score)
{
    size_t at = 0;
    lp_ent e;
    while (at < z->lp_len) {
        lp_decode(z, at, &e);
        if (before(score, m, n, e.score, e.m, e.mlen))
            break;
        at = e.end;
    }
    unsigned char *p = lp_splice(z, at, 0, entry_size(n, score));
    unsigned char *start = p;
    p = varint_put(p, n);
    if (n)
        memcpy(p, m, n);
    p = score_put(p + n, score);
    backlen_put(p, (uint64_t)(p - start));
    z->lp_count++;
}

static void lp_remove(kv_zset *z, size_t start, size_t end, size_t count)
{
    lp_splice(z, start, end - start, 0);
    z->lp_count -= count;
    lp_trim(z);
}

/* Offset of the entry of rank r (r <= count: count gives the end). */
static size_t lp_offset_of_rank(const kv_zset *z, size_t r)
{
    size_t off = 0;
    lp_ent e;
    if (r * 2 > z->lp_count && r <= z->lp_count) {
        /* Nearer the end: walk back. */
        off = z->lp_len;
        for (size_t i = z->lp_count; i > r; i--) {
            lp_decode_before(z, off, &e);
            off = e.start;
        }
        return off;
    }
    for (size_t i = 0; i < r; i++)
        off = lp_decode(z, off, &e);
    return off;
}

/* ---- Skiplist encoding ---- */

static uint64_t level_rng = 0x9E3779B97F4A7C15ull;

static int random_level(void)
{
    /* xorshift64; two bits per level: 1/4 to go one level up (Redis's
     * ZSKIPLIST_P), and 64 bits cover all 32 levels. */
    level_rng ^= level_rng << 13;
    level_rng ^= level_rng >> 7;
    level_rng ^= level_rng << 17;
    uint64_t r = level_rng;
    int level = 1;
    while (level < ZSL_MAXLEVEL && (r & 3) == 0) {
        level++;
        r >>= 2;
    }
    return level;
}

static zsl_node *node_new(kv_zset *z, int level, double score, const void *m, size_t n)
{
    assert(n <= UINT32_MAX);
    zsl_node *x = kv_malloc(offsetof(zsl_node, lv) + (size_t)level * sizeof(zsl_level) + n);
    x->dn.next = NULL;
    x->score = score;
    x->backward = NULL;
    x->mlen = (uint32_t)n;
    x->level = (uint8_t)level;
    if (n)
        memcpy((char *)&x->lv[level], m, n);
    z->u.sl->bytes += kv_usable(x);
    return x;
}

static void zsl_init(kv_zset *z)
{
    z->enc = ENC_SKIPLIST;
    zsl *sl = z->u.sl = kv_malloc(sizeof *sl);
    sl->bytes = kv_usable(sl);
    sl->header = node_new(z, ZSL_MAXLEVEL, 0, NULL, 0);
    for (int i = 0; i < ZSL_MAXLEVEL; i++) {
        sl->header->lv[i].forward = NULL;
        sl->header->lv[i].span = 0;
    }
    sl->tail = NULL;
    sl->length = 0;
    sl->level = 1;
    dict_init(&sl->d, &node_type);
}

/* Insert a member that is not there (Redis's zslInsert). */
static zsl_node *zsl_insert(kv_zset *z, double score, const void *m, size_t n)
{
    zsl *sl = z->u.sl;
    zsl_node *update[ZSL_MAXLEVEL], *x = sl->header;
    size_t rank[ZSL_MAXLEVEL];
    for (int i = sl->level - 1; i >= 0; i--) {
        rank[i] = i == sl->level - 1 ? 0 : rank[i + 1];
        while (x->lv[i].forward && before(x->lv[i].forward->score, node_member(x->lv[i].forward),
                                          x->lv[i].forward->mlen, score, m, n)) {
            rank[i] += x->lv[i].span;
            x = x->lv[i].forward;
        }
        update[i] = x;
    }
    int level = random_level();
    if (level > sl->level) {
        for (int i = sl->level; i < level; i++) {
            rank[i] = 0;
            update[i] = sl->header;
            update[i]->lv[i].span = sl->length;
        }
        sl->level = level;
    }
    x = node_new(z, level, score, m, n);
    for (int i = 0; i < level; i++) {
        x->lv[i].forward = update[i]->lv[i].forward;
        update[i]->lv[i].forward = x;
        x->lv[i].span = update[i]->lv[i].span - (rank[0] - rank[i]);
        update[i]->lv[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < sl->level; i++)
        update[i]->lv[i].span++;
    x->backward = update[0] == sl->header ? NULL : update[0];
    if (x->lv[0].forward)
        x->lv[0].forward->backward = x;
    else
        sl->tail = x;
    sl->length++;
    dict_add(&sl->d, &x->dn);
    return x;
}

/* Unlink x given the update vector (Redis's zslDeleteNode); the caller
 * removes it from the dict and frees it. */
static void zsl_unlink(zsl *sl, zsl_node *x, zsl_node **update)
{
    for (int i = 0; i < sl->level; i++) {
        if (update[i]->lv[i].forward == x) {
            update[i]->lv[i].span += x->lv[i].span - 1;
            update[i]->lv[i].forward = x->lv[i].forward;
        } else {
            update[i]->lv[i].span -= 1;
        }
    }
    if (x->lv[0].forward)
        x->lv[0].forward->backward = x->backward;
    else
        sl->tail = x->backward;
    while (sl->level > 1 && sl->header->lv[sl->level - 1].forward == NULL)
        sl->level--;
    sl->length--;
}

static void node_free(kv_zset *z, zsl_node *x)
{
    z->u.sl->bytes -= kv_usable(x);
    kv_free(x);
}

/* Remove node x (a member of the set). */
static void zsl_delete(kv_zset *z, zsl_node *x)
{
    zsl *sl = z->u.sl;
    zsl_node *update[ZSL_MAXLEVEL], *y = sl->header;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (y->lv[i].forward && y->lv[i].forward != x &&
               before(y->lv[i].forward->score, node_member(y->lv[i].forward),
                      y->lv[i].forward->mlen, x->score, node_member(x), x->mlen))
            y = y->lv[i].forward;
        update[i] = y;
    }
    assert(update[0]->lv[0].forward == x);
    zsl_unlink(sl, x, update);
    dict_node *gone = dict_remove(&sl->d, node_member(x), x->mlen);
    assert(gone == &x->dn);
    (void)gone;
    node_free(z, x);
}

/* 1-based rank of node x (Redis's zslGetRank). */
static size_t zsl_rank_of(zsl *sl, const zsl_node *x)
{
    size_t rank = 0;
    const zsl_node *y = sl->header;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (y->lv[i].forward &&
               (y->lv[i].forward == x ||
                before(y->lv[i].forward->score, node_member(y->lv[i].forward),
                       y->lv[i].forward->mlen, x->score, node_member(x), x->mlen))) {
            rank += y->lv[i].span;
            y = y->lv[i].forward;
            if (y == x)
                return rank;
        }
    }
    return rank;
}

/* The node of 1-based rank r (1 <= r <= length). */
static zsl_node *zsl_by_rank(zsl *sl, size_t r)
{
    size_t traversed = 0;
    zsl_node *x = sl->header;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->lv[i].forward && traversed + x->lv[i].span <= r) {
            traversed += x->lv[i].span;
            x = x->lv[i].forward;
        }
        if (traversed == r)
            return x;
    }
    return NULL;
}

static void zsl_free_all(kv_zset *z)
{
    zsl *sl = z->u.sl;
    zsl_node *x = sl->header->lv[0].forward;
    while (x) {
        zsl_node *next = x->lv[0].forward;
        node_free(z, x);
        x = next;
    }
    node_free(z, sl->header);
    dict_clear(&sl->d, NULL, NULL);
    kv_free(sl);
}

static void convert_to_skiplist(kv_zset *z)
{
    kv_zset tmp = *z;
    zsl_init(z);
    dict_reserve(&z->u.sl->d, tmp.lp_count + 1);
    lp_ent e;
    for (size_t off = 0; off < tmp.lp_len;) {
        off = lp_decode(&tmp, off, &e);
        zsl_insert(z, e.score, e.m, e.mlen);
    }
    kv_free(tmp.u.buf);
}

/* ---- API ---- */

kv_zset *zset_new(void)
{
    kv_zset *z = kv_calloc(1, sizeof *z);
    z->enc = ENC_LISTPACK;
    return z;
}

kv_zset *zset_new_skiplist(void)
{
    kv_zset *z = zset_new();
    z->enc = ENC_SKIPLIST;
    zsl_init(z);
    return z;
}

void zset_convert_if_small(kv_zset *z)
{
    if (z->enc != ENC_SKIPLIST || z->u.sl->length > zset_max_listpack_entries)
        return;
    size_t need = 0;
    const zsl_node *x;
    for (x = z->u.sl->header->lv[0].forward; x; x = x->lv[0].forward) {
        if (x->mlen > zset_max_listpack_value)
            return;
        need += entry_size(x->mlen, x->score);
    }
    if (need > LISTPACK_MAX_SAFETY_SIZE)
        return;
    kv_zset tmp = *z;
    z->enc = ENC_LISTPACK;
    z->u.buf = NULL;
    z->lp_len = 0;
    z->lp_count = 0;
    lp_reserve(z, need);
    for (x = tmp.u.sl->header->lv[0].forward; x; x = x->lv[0].forward) {
        /* Appending in order: the insert finds its place at the end. */
        unsigned char *p = lp_splice(z, z->lp_len, 0, entry_size(x->mlen, x->score));
        unsigned char *start = p;
        p = varint_put(p, x->mlen);
        if (x->mlen)
            memcpy(p, node_member(x), x->mlen);
        p = score_put(p + x->mlen, x->score);
        backlen_put(p, (uint64_t)(p - start));
        z->lp_count++;
    }
    zsl_free_all(&tmp);
}

void zset_convert_to_skiplist(kv_zset *z)
{
    if (z->enc == ENC_LISTPACK)
        convert_to_skiplist(z);
}

void zset_free(kv_zset *z)
{
    if (!z)
        return;
    if (z->enc == ENC_LISTPACK)
        kv_free(z->u.buf);
    else
        zsl_free_all(z);
    kv_free(z);
}

const dict *zset_dict(const kv_zset *x)
{
    return x->enc == ENC_SKIPLIST ? &x->u.sl->d : NULL;
}

size_t zset_len(const kv_zset *z)
{
    return z->enc == ENC_LISTPACK ? z->lp_count : z->u.sl->length;
}

size_t zset_mem(const kv_zset *z)
{
    if (z->enc == ENC_LISTPACK)
        return kv_usable(z) + kv_usable(z->u.buf);
    return kv_usable(z) + z->u.sl->bytes + dict_buckets(&z->u.sl->d) * sizeof(dict_node *);
}

const char *zset_encoding(const kv_zset *z)
{
    return z->enc == ENC_LISTPACK ? "listpack" : "skiplist";
}

int zset_score(kv_zset *z, const void *m, size_t n, double *score)
{
    if (z->enc == ENC_LISTPACK) {
        lp_ent e;
        if (!lp_find(z, m, n, &e, NULL))
            return 0;
        *score = e.score;
        return 1;
    }
    const zsl_node *x = (const zsl_node *)dict_find(&z->u.sl->d, m, n);
    if (!x)
        return 0;
    *score = x->score;
    return 1;
}

/* Does [p, p + n) overlap memory this set owns that an update may move? */
static int is_view_into(const kv_zset *z, const void *p, size_t n)
{
    if (!n)
        return 0;
    const unsigned char *q = p;
    if (z->enc == ENC_LISTPACK) {
        const unsigned char *b = z->u.buf;
        return b && q < b + kv_usable(b) && q + n > b;
    }
    const zsl_node *x = (const zsl_node *)dict_find((dict *)&z->u.sl->d, p, n);
    return x && (const char *)p == node_member(x);
}

int zset_set(kv_zset *z, const void *m, size_t n, double score)
{
    if (is_view_into(z, m, n)) {
        char *copy = kv_memdup(m, n);
        int r = zset_set(z, copy, n, score);
        kv_free(copy);
        return r;
    }
    if (z->enc == ENC_LISTPACK) {
        lp_ent e;
        if (lp_find(z, m, n, &e, NULL)) {
            if (e.score == score)
                return ZSET_SAME;
            lp_remove(z, e.start, e.end, 1);
            lp_insert(z, m, n, score);
            return ZSET_UPDATED;
        }
        if (z->lp_count + 1 <= zset_max_listpack_entries && n <= zset_max_listpack_value &&
            z->lp_len + entry_size(n, score) <= LISTPACK_MAX_SAFETY_SIZE) {
            lp_insert(z, m, n, score);
            return ZSET_ADDED;
        }
        convert_to_skiplist(z);
    }
    zsl_node *x = (zsl_node *)dict_find(&z->u.sl->d, m, n);
    if (x) {
        if (x->score == score)
            return ZSET_SAME;
        zsl_delete(z, x);
        zsl_insert(z, score, m, n);
        return ZSET_UPDATED;
    }
    zsl_insert(z, score, m, n);
    return ZSET_ADDED;
}

int zset_del(kv_zset *z, const void *m, size_t n)
{
    if (z->enc == ENC_LISTPACK) {
        lp_ent e;
        if (!lp_find(z, m, n, &e, NULL))
            return 0;
        lp_remove(z, e.start, e.end, 1);
        return 1;
    }
    zsl_node *x = (zsl_node *)dict_find(&z->u.sl->d, m, n);
    if (!x)
        return 0;
    zsl_delete(z, x);
    return 1;
}

long long zset_rank(kv_zset *z, const void *m, size_t n, double *score)
{
    if (z->enc == ENC_LISTPACK) {
        lp_ent e;
        size_t r;
        if (!lp_find(z, m, n, &e, &r))
            return -1;
        if (score)
            *score = e.score;
        return (long long)r;
    }
    const zsl_node *x = (const zsl_node *)dict_find(&z->u.sl->d, m, n);
    if (!x)
        return -1;
    if (score)
        *score = x->score;
    return (long long)zsl_rank_of(z->u.sl, x) - 1;
}

/* ---- Ranges ---- */

static int score_in_min(const char *m, size_t n, double s, const void *r)
{
    (void)m;
    (void)n;
    return zset_score_gte_min(s, r);
}

static int score_in_max(const char *m, size_t n, double s, const void *r)
{
    (void)m;
    (void)n;
    return zset_score_lte_max(s, r);
}

static int lex_in_min(const char *m, size_t n, double s, const void *r)
{
    (void)s;
    return zset_lex_gte_min(m, n, r);
}

static int lex_in_max(const char *m, size_t n, double s, const void *r)
{
    (void)s;
    return zset_lex_lte_max(m, n, r);
}

/* The ranks of the members past the min bound and within the max bound:
 * members are ordered so "past min" is a suffix and "within max" a prefix
 * (for lex ranges this holds when all scores are equal, as Redis
 * requires; otherwise the answer is Redis's too: the first member past
 * min, then forward while within max). */
static int range_generic(kv_zset *z, int (*gte)(const char *, size_t, double, const void *),
                         int (*lte)(const char *, size_t, double, const void *), const void *r,
                         size_t *first, size_t *last)
{
    if (z->enc == ENC_LISTPACK) {
        lp_ent e;
        size_t rank = 0, off = 0;
        int found = 0;
        while (off < z->lp_len) {
            off = lp_decode(z, off, &e);
            if (!found) {
                if (gte(e.m, e.mlen, e.score, r)) {
                    if (!lte(e.m, e.mlen, e.score, r))
                        return 0;
                    found = 1;
                    *first = *last = rank;
                }
            } else if (lte(e.m, e.mlen, e.score, r)) {
                *last = rank;
            } else {
                break;
            }
            rank++;
        }
        return found;
    }
    zsl *sl = z->u.sl;
    /* First node past min: descend keeping nodes not past min behind. */
    zsl_node *x = sl->header;
    size_t rank = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->lv[i].forward && !gte(node_member(x->lv[i].forward), x->lv[i].forward->mlen,
                                        x->lv[i].forward->score, r)) {
            rank += x->lv[i].span;
            x = x->lv[i].forward;
        }
    }
    x = x->lv[0].forward;
    if (!x || !lte(node_member(x), x->mlen, x->score, r))
        return 0;
    *first = rank; /* rank counted the nodes before x: x's 0-based rank */
    /* Last node within max. */
    x = sl->header;
    rank = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->lv[i].forward &&
               lte(node_member(x->lv[i].forward), x->lv[i].forward->mlen,
                   x->lv[i].forward->score, r)) {
            rank += x->lv[i].span;
            x = x->lv[i].forward;
        }
    }
    *last = rank - 1;
    return *last >= *first;
}

int zset_range_by_score(kv_zset *z, const zrange_score *r, size_t *first, size_t *last)
{
    if (score_range_empty(r) || zset_len(z) == 0)
        return 0;
    return range_generic(z, score_in_min, score_in_max, r, first, last);
}

int zset_range_by_lex(kv_zset *z, const zrange_lex *r, size_t *first, size_t *last)
{
    if (lex_range_empty(r) || zset_len(z) == 0)
        return 0;
    return range_generic(z, lex_in_min, lex_in_max, r, first, last);
}

void zset_delete_ranks(kv_zset *z, size_t start, size_t end)
{
    assert(start <= end && end < zset_len(z));
    if (z->enc == ENC_LISTPACK) {
        size_t a = lp_offset_of_rank(z, start);
        size_t b = a;
        lp_ent e;
        for (size_t i = start; i <= end; i++)
            b = lp_decode(z, b, &e);
        lp_remove(z, a, b, end - start + 1);
        return;
    }
    zsl *sl = z->u.sl;
    zsl_node *update[ZSL_MAXLEVEL], *x = sl->header;
    size_t traversed = 0;
    /* Redis's zslDeleteRangeByRank with 1-based ranks start+1..end+1. */
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->lv[i].forward && traversed + x->lv[i].span < start + 1) {
            traversed += x->lv[i].span;
            x = x->lv[i].forward;
        }
        update[i] = x;
    }
    traversed++;
    x = x->lv[0].forward;
    while (x && traversed <= end + 1) {
        zsl_node *next = x->lv[0].forward;
        zsl_unlink(sl, x, update);
        dict_node *gone = dict_remove(&sl->d, node_member(x), x->mlen);
        assert(gone == &x->dn);
        (void)gone;
        node_free(z, x);
        traversed++;
        x = next;
    }
}

/* ---- Iteration ---- */

void zset_iter_init(zset_iter *it, kv_zset *z, size_t rank, int rev)
{
    it->z = z;
    it->rev = rev;
    it->node = NULL;
    it->off = 0;
    if (rank >= zset_len(z)) {
        it->off = rev ? 0 : (z->enc == ENC_LISTPACK ? z->lp_len : 0);
        return;
    }
    if (z->enc == ENC_LISTPACK)
        it->off = lp_offset_of_rank(z, rev ? rank + 1 : rank);
    else
        it->node = zsl_by_rank(z->u.sl, rank + 1);
}

int zset_iter_next(zset_iter *it, const char **m, size_t *n, double *score)
{
    kv_zset *z = it->z;
    if (z->enc == ENC_LISTPACK) {
        lp_ent e;
        if (it->rev) {
            if (it->off == 0)
                return 0;
            lp_decode_before(z, it->off, &e);
            it->off = e.start;
        } else {
            if (it->off >= z->lp_len)
                return 0;
            it->off = lp_decode(z, it->off, &e);
        }
        *m = e.m;
        *n = e.mlen;
        *score = e.score;
        return 1;
    }
    zsl_node *x = it->node;
    if (!x)
        return 0;
    it->node = it->rev ? x->backward : x->lv[0].forward;
    *m = node_member(x);
    *n = x->mlen;
    *score = x->score;
    return 1;
}

/* ---- Scan, dup ---- */

typedef struct scan_ctx {
    void (*fn)(void *arg, const char *m, size_t n, double score);
    void *arg;
} scan_ctx;

static void scan_node(void *arg, dict_node *dn)
{
    scan_ctx *c = arg;
    const zsl_node *x = (const zsl_node *)dn;
    c->fn(c->arg, node_member(x), x->mlen, x->score);
}

uint64_t zset_scan(kv_zset *z, uint64_t cursor,
                   void (*fn)(void *arg, const char *m, size_t n, double score), void *arg)
{
    if (z->enc == ENC_LISTPACK) {
        lp_ent e;
        for (size_t off = 0; off < z->lp_len;) {
            off = lp_decode(z, off, &e);
            fn(arg, e.m, e.mlen, e.score);
        }
        return 0;
    }
    scan_ctx c = {fn, arg};
    return dict_scan(&z->u.sl->d, cursor, scan_node, &c);
}

kv_zset *zset_dup(const kv_zset *z)
{
    kv_zset *c = zset_new();
    if (z->enc == ENC_LISTPACK) {
        if (z->lp_len) {
            c->u.buf = kv_malloc(z->lp_len);
            memcpy(c->u.buf, z->u.buf, z->lp_len);
        }
        c->lp_len = z->lp_len;
        c->lp_count = z->lp_count;
        return c;
    }
    c->enc = ENC_SKIPLIST;
    zsl_init(c);
    dict_reserve(&c->u.sl->d, z->u.sl->length);
    for (const zsl_node *x = z->u.sl->header->lv[0].forward; x; x = x->lv[0].forward)
        zsl_insert(c, x->score, node_member(x), x->mlen);
    return c;
}
