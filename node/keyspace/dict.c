/* dict.c — intrusive chained hash table with incremental rehashing (see
 * dict.h).
 *
 * Owns the bucket arrays and the rehash state; never allocates, frees or
 * moves a node, so a node's address is stable for as long as its owner
 * keeps it (only the owner may realloc it, through dict_find_ref).
 *
 * Resizing. table[0] is the live table. A resize allocates table[1] and
 * sets rehash_idx = 0; from then on every find/add/remove/random first
 * moves one bucket of table[0] (skipping at most 10 empty buckets) to
 * table[1], new nodes go straight to table[1], and when table[0] is empty
 * table[1] takes its place. Buckets of table[0] below rehash_idx are
 * always empty. Rehash steps are paused while a safe iterator is alive.
 *
 * Hashing is SipHash-1-3 (Aumasson & Bernstein: SipHash-c-d with c = 1
 * compression round per 8-byte word and d = 3 finalization rounds) keyed
 * with a process-wide 128-bit seed. */
#include "dict.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mem.h"

#define DICT_MIN_SIZE 4
#define DICT_FORCE_RESIZE_RATIO 5
#define DICT_MAX_LOAD 1.618 /* Redis's HASHTABLE_MAX_LOAD_FACTOR */
#define DICT_EMPTY_VISITS 10

static uint8_t sip_seed[16];
static int resize_avoided;

/* ---- SipHash-1-3 ---- */

static inline uint64_t rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

#define SIPROUND                   \
    do {                           \
        v0 += v1;                  \
        v1 = rotl64(v1, 13);       \
        v1 ^= v0;                  \
        v0 = rotl64(v0, 32);       \
        v2 += v3;                  \
        v3 = rotl64(v3, 16);       \
        v3 ^= v2;                  \
        v0 += v3;                  \
        v3 = rotl64(v3, 21);       \
        v3 ^= v0;                  \
        v2 += v1;                  \
        v1 = rotl64(v1, 17);       \
        v1 ^= v2;                  \
        v2 = rotl64(v2, 32);       \
    } while (0)

static uint64_t siphash13(const uint8_t *in, size_t len, const uint8_t key[16])
{
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    const uint8_t *end = in + (len & ~(size_t)7);

    for (; in != end; in += 8) {
        uint64_t m = load_le64(in);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    /* Last block: the remaining 0..7 bytes, little-endian, with the
     * message length (mod 256) in the top byte. */
    uint64_t b = (uint64_t)len << 56;
    switch (len & 7) {
    case 7: b |= (uint64_t)in[6] << 48; /* fall through */
    case 6: b |= (uint64_t)in[5] << 40; /* fall through */
    case 5: b |= (uint64_t)in[4] << 32; /* fall through */
    case 4: b |= (uint64_t)in[3] << 24; /* fall through */
    case 3: b |= (uint64_t)in[2] << 16; /* fall through */
    case 2: b |= (uint64_t)in[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)in[0];       /* fall through */
    case 0: break;
    }
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

void dict_set_seed(const uint8_t seed[16])
{
    memcpy(sip_seed, seed, sizeof sip_seed);
}

uint64_t dict_hash(const void *key, size_t len)
{
    return siphash13(key, len, sip_seed);
}

void dict_avoid_resize(int avoid)
{
    resize_avoided = avoid;
}

/* ---- Helpers ---- */

static inline uint64_t node_hash(const dict *d, const dict_node *n)
{
    const void *k;
    size_t len;
    d->type->key_of(n, &k, &len);
    return dict_hash(k, len);
}

static inline int node_has_key(const dict *d, const dict_node *n, const void *key, size_t len)
{
    const void *k;
    size_t klen;
    d->type->key_of(n, &k, &klen);
    return klen == len && (len == 0 || memcmp(k, key, len) == 0);
}

static size_t next_pow2(size_t n)
{
    size_t s = DICT_MIN_SIZE;
    while (s < n)
        s <<= 1;
    return s;
}

#define DICT_HUGE_BYTES ((size_t)4 << 20)

/* Make table[0] (when there is none) or a new table[1] of about n buckets.
 * With no entries to move the new table takes over at once. */
static void resize_to(dict *d, size_t n)
{
    size_t size = next_pow2(n);
    if (size == d->size[0])
        return;
    dict_node **t = kv_calloc(size, sizeof *t);
    /* A big table a bulk load (restart, a snapshot installed) fills is
     * read at random: huge pages spare a TLB miss per lookup, and its
     * first touches fault once per 2 MiB. Not one that grows under
     * traffic: there the first fault of each huge page stops the loop
     * while the kernel clears 2 MiB, which on a VM whose memory is touched
     * for the first time took up to 5.6 ms per page (0.06 ms for a small
     * one): the round of unpipelined SETs whose keys crossed 524,288 had
     * its slowest request at 17-20 ms, at 3-5 ms with small pages. Redis
     * advises against transparent huge pages for the same reason. */
    if (size * sizeof *t >= DICT_HUGE_BYTES && kv_bulk_active())
        kv_advise_huge(t, size * sizeof *t);
    if (d->size[0] == 0 || d->used[0] == 0) {
        kv_free(d->table[0]);
        d->table[0] = t;
        d->size[0] = size;
        return;
    }
    d->table[1] = t;
    d->size[1] = size;
    d->used[1] = 0;
    d->rehash_idx = 0;
}

void dict_reserve(dict *d, size_t n)
{
    if (d->rehash_idx != -1 || d->used[0] || n <= d->size[0])
        return;
    resize_to(d, n);
}

void dict_expand(dict *d, size_t n)
{
    if (d->iterators > 0)
        return;
    while (d->rehash_idx != -1)
        dict_rehash(d, 1024); /* finish the one under way first */
    if (n > d->size[0])
        resize_to(d, n);
}

static void expand_if_needed(dict *d)
{
    if (d->rehash_idx != -1)
        return;
    if (d->size[0] == 0) {
        resize_to(d, DICT_MIN_SIZE);
        return;
    }
    if (d->used[0] < d->size[0])
        return;
    if (resize_avoided && d->used[0] < DICT_FORCE_RESIZE_RATIO * d->size[0])
        return;
    if (d->type->expand_allowed) {
        double load = (double)d->used[0] / (double)d->size[0];
        size_t more = next_pow2(d->used[0] * 2) * sizeof(dict_node *);
        if (load <= DICT_MAX_LOAD && !d->type->expand_allowed(more, load))
            return;
    }
    resize_to(d, d->used[0] * 2);
}

/* Shrink when fewer than 1/8 of the buckets are used; the new table is
 * 2-4 times the entries so a few adds do not grow it straight back. */
static void shrink_if_needed(dict *d)
{
    if (d->rehash_idx != -1 || resize_avoided || d->iterators > 0)
        return;
    if (d->size[0] > DICT_MIN_SIZE && d->used[0] * 8 < d->size[0])
        resize_to(d, d->used[0] * 2);
}

/* Move one chain of table[0] to table[1]. */
static void move_bucket(dict *d, size_t idx)
{
    dict_node *n = d->table[0][idx];
    size_t mask = d->size[1] - 1;
    while (n) {
        dict_node *next = n->next;
        size_t h = (size_t)node_hash(d, n) & mask;
        n->next = d->table[1][h];
        d->table[1][h] = n;
        d->used[0]--;
        d->used[1]++;
        n = next;
    }
    d->table[0][idx] = NULL;
}

static void finish_rehash(dict *d)
{
    kv_free(d->table[0]);
    d->table[0] = d->table[1];
    d->size[0] = d->size[1];
    d->used[0] = d->used[1];
    d->table[1] = NULL;
    d->size[1] = 0;
    d->used[1] = 0;
    d->rehash_idx = -1;
}

static inline void rehash_step(dict *d)
{
    if (d->rehash_idx != -1 && d->iterators == 0)
        dict_rehash(d, 1);
}

/* The link pointing at the node with this key, and its table. */
static dict_node **lookup_h(dict *d, const void *key, size_t len, uint64_t h, int *table);

static dict_node **lookup(dict *d, const void *key, size_t len, int *table)
{
    return lookup_h(d, key, len, dict_hash(key, len), table);
}

static dict_node **lookup_h(dict *d, const void *key, size_t len, uint64_t h, int *table)
{
    for (int t = 0; t <= 1; t++) {
        if (d->size[t] == 0)
            break;
        size_t idx = (size_t)h & (d->size[t] - 1);
        if (t == 0 && d->rehash_idx != -1 && (long)idx < d->rehash_idx)
            continue; /* already moved to table[1] */
        for (dict_node **ref = &d->table[t][idx]; *ref; ref = &(*ref)->next) {
            if (node_has_key(d, *ref, key, len)) {
                if (table)
                    *table = t;
                return ref;
            }
        }
        if (d->rehash_idx == -1)
            break;
    }
    return NULL;
}

/* ---- Lifecycle and size ---- */

void dict_init(dict *d, const dict_type *type)
{
    memset(d, 0, sizeof *d);
    d->type = type;
    d->rehash_idx = -1;
}

void dict_clear(dict *d, void (*free_node)(dict_node *n, void *arg), void *arg)
{
    for (int t = 0; t <= 1; t++) {
        if (free_node) {
            for (size_t i = 0; i < d->size[t]; i++) {
                dict_node *n = d->table[t][i];
                while (n) {
                    dict_node *next = n->next;
                    free_node(n, arg);
                    n = next;
                }
            }
        }
        kv_free(d->table[t]);
        d->table[t] = NULL;
        d->size[t] = 0;
        d->used[t] = 0;
    }
    d->rehash_idx = -1;
}

size_t dict_size(const dict *d)
{
    return d->used[0] + d->used[1];
}

size_t dict_buckets(const dict *d)
{
    return d->size[0] + d->size[1];
}

int dict_is_rehashing(const dict *d)
{
    return d->rehash_idx != -1;
}

/* ---- Lookup and update ---- */

dict_node *dict_find(dict *d, const void *key, size_t len)
{
    dict_node **ref = dict_find_ref(d, key, len);
    return ref ? *ref : NULL;
}

dict_node **dict_find_ref(dict *d, const void *key, size_t len)
{
    if (dict_size(d) == 0)
        return NULL;
    rehash_step(d);
    return lookup(d, key, len, NULL);
}

dict_node **dict_find_ref_hashed(dict *d, const void *key, size_t len, uint64_t *hash)
{
    *hash = dict_hash(key, len);
    if (dict_size(d) == 0)
        return NULL;
    rehash_step(d);
    return lookup_h(d, key, len, *hash, NULL);
}

/* Ask for a node and the line after it: nodes embedded in small objects
 * (a key and its value) often straddle two lines, and key_of reads near
 * the node. */
static inline void prefetch_node(const dict_node *n)
{
    __builtin_prefetch(n);
    __builtin_prefetch((const char *)n + 64);
}

void dict_prefetch(const dict *d, uint64_t hash, int stage)
{
    for (int t = 0; t <= 1; t++) {
        if (d->size[t] == 0)
            break;
        size_t idx = (size_t)hash & (d->size[t] - 1);
        if (t == 1 || d->rehash_idx == -1 || (long)idx >= d->rehash_idx) {
            dict_node *const *slot = &d->table[t][idx];
            /* Stage 1 the first node, stage 2 the second: the node's start
             * and the line after it (its key is in one or the other for a
             * key_of that reads near the node). */
            const dict_node *n = stage == 0 ? NULL : *slot;
            if (stage == 0)
                __builtin_prefetch(slot);
            else if (stage == 2 && n)
                n = n->next;
            if (n)
                prefetch_node(n);
        }
        if (d->rehash_idx == -1)
            break;
    }
}

void dict_add(dict *d, dict_node *n)
{
    dict_add_hashed(d, n, node_hash(d, n));
}

void dict_add_hashed(dict *d, dict_node *n, uint64_t hash)
{
    rehash_step(d);
    expand_if_needed(d);
    int t = d->rehash_idx != -1 ? 1 : 0;
    size_t idx = (size_t)hash & (d->size[t] - 1);
    n->next = d->table[t][idx];
    d->table[t][idx] = n;
    d->used[t]++;
}

dict_node *dict_remove(dict *d, const void *key, size_t len)
{
    if (dict_size(d) == 0)
        return NULL;
    rehash_step(d);
    int t = 0;
    dict_node **ref = lookup(d, key, len, &t);
    if (!ref)
        return NULL;
    dict_node *n = *ref;
    *ref = n->next;
    n->next = NULL;
    d->used[t]--;
    shrink_if_needed(d);
    return n;
}

/* ---- Random and scan ---- */

/* splitmix64: turns the caller's one random value into a sequence. */
static uint64_t mix_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Bucket `slot` of the virtual array table[0] ++ table[1]. */
static inline dict_node *slot_head(const dict *d, size_t slot)
{
    return slot < d->size[0] ? d->table[0][slot] : d->table[1][slot - d->size[0]];
}

dict_node *dict_random(dict *d, uint64_t rnd)
{
    if (dict_size(d) == 0)
        return NULL;
    rehash_step(d);
    /* Slots below rehash_idx are empty: pick among the others. */
    size_t first = d->rehash_idx != -1 ? (size_t)d->rehash_idx : 0;
    size_t span = d->size[0] + d->size[1] - first;
    uint64_t state = rnd;
    dict_node *head = NULL;
    size_t slot = 0;
    /* Random probes find a bucket quickly at any sane load factor; a very
     * sparse table (resizing avoided) falls back to a linear walk. */
    for (int tries = 0; tries < 64 && !head; tries++) {
        slot = first + (size_t)(mix_next(&state) % span);
        head = slot_head(d, slot);
    }
    for (size_t i = 0; !head && i < span; i++) {
        slot = slot + 1 < first + span ? slot + 1 : first;
        head = slot_head(d, slot);
    }
    size_t chain = 0;
    for (dict_node *n = head; n; n = n->next)
        chain++;
    size_t pick = (size_t)(mix_next(&state) % chain);
    while (pick--)
        head = head->next;
    return head;
}

size_t dict_sample(dict *d, dict_node **out, size_t count, uint64_t rnd)
{
    if (count > dict_size(d))
        count = dict_size(d);
    if (count == 0)
        return 0;
    rehash_step(d);
    size_t first = d->rehash_idx != -1 ? (size_t)d->rehash_idx : 0;
    size_t span = d->size[0] + d->size[1] - first;
    uint64_t state = rnd;
    size_t slot = first + (size_t)(mix_next(&state) % span);
    size_t got = 0, empty = 0, steps = count * 10;
    /* Consecutive buckets from a random one (nodes of one bucket come
     * together), jumping elsewhere after a run of empty buckets, for at
     * most count * 10 buckets: Redis's dictGetSomeKeys. */
    while (got < count && steps--) {
        dict_node *h = slot_head(d, slot);
        if (!h) {
            if (++empty >= 5 && empty > count) {
                slot = first + (size_t)(mix_next(&state) % span);
                empty = 0;
                continue;
            }
        } else {
            empty = 0;
            for (; h && got < count; h = h->next)
                out[got++] = h;
        }
        slot = slot + 1 < first + span ? slot + 1 : first;
    }
    return got;
}

dict_node *dict_random_fair(dict *d, uint64_t rnd)
{
    dict_node *nodes[15];
    uint64_t state = rnd;
    size_t n = dict_sample(d, nodes, sizeof nodes / sizeof *nodes, mix_next(&state));
    if (n == 0)
        return dict_random(d, mix_next(&state));
    return nodes[mix_next(&state) % n];
}

static inline uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(v);
}

static void emit_chain(dict_node *n, void (*fn)(void *arg, dict_node *n), void *arg)
{
    while (n) {
        dict_node *next = n->next;
        fn(arg, n);
        n = next;
    }
}

/* Redis's reverse-binary cursor: the cursor's high bits are incremented,
 * so buckets that split (grow) or merge (shrink) between calls are visited
 * in an order that never skips an index of the other size. While
 * rehashing, the small table's bucket and every bucket of the large table
 * that expands from it are reported together. */
uint64_t dict_scan(dict *d, uint64_t cursor, void (*fn)(void *arg, dict_node *n), void *arg)
{
    if (dict_size(d) == 0)
        return 0;
    uint64_t v = cursor;
    d->iterators++; /* fn sees a stable table even if it reads via find */
    if (d->rehash_idx == -1) {
        uint64_t m0 = d->size[0] - 1;
        emit_chain(d->table[0][v & m0], fn, arg);
        v |= ~m0;
        v = rev64(v);
        v++;
        v = rev64(v);
    } else {
        int small = d->size[0] <= d->size[1] ? 0 : 1, large = 1 - small;
        uint64_t m0 = d->size[small] - 1, m1 = d->size[large] - 1;
        emit_chain(d->table[small][v & m0], fn, arg);
        do {
            emit_chain(d->table[large][v & m1], fn, arg);
            v |= ~m1;
            v = rev64(v);
            v++;
            v = rev64(v);
        } while (v & (m0 ^ m1));
    }
    d->iterators--;
    return v;
}

/* Buckets ahead of the one reported whose first node dict_walk_step has
 * asked the CPU for: in table order the bucket slots stream in on their
 * own, and each chain's first node is a cache miss that the fetch ahead
 * overlaps with the work on the buckets before it. */
#define WALK_AHEAD 16

void dict_walk_begin(dict_walk *w, dict *d)
{
    w->d = d;
    w->table = 0;
    w->index = 0;
    d->iterators++;
}

void dict_walk_end(dict_walk *w)
{
    if (w->d) {
        w->d->iterators--;
        w->d = NULL;
    }
}

int dict_walk_step(dict_walk *w, size_t buckets, void (*fn)(void *arg, dict_node *n), void *arg)
{
    dict *d = w->d;
    if (!d)
        return 0;
    while (buckets > 0) {
        size_t end = d->size[w->table];
        if (w->index >= end) {
            /* table[1] exists while a rehash is under way: one that was
             * when the walk began, or one that began since (its steps
             * are held off, so what it holds was added meanwhile or is
             * still to come from table[0] — nothing moves there). */
            if (w->table == 0 && d->size[1] > 0) {
                w->table = 1;
                w->index = 0;
                continue;
            }
            dict_walk_end(w);
            return 0;
        }
        dict_node **t = d->table[w->table];
        size_t i = w->index, stop = end - i > buckets ? i + buckets : end;
        for (; i < stop; i++) {
            if (i + WALK_AHEAD < end && t[i + WALK_AHEAD])
                prefetch_node(t[i + WALK_AHEAD]);
            emit_chain(t[i], fn, arg);
        }
        buckets -= stop - w->index;
        w->index = stop;
    }
    return 1;
}

/* ---- Rehashing ---- */

/* Buckets dict_rehash fetches ahead of the one it moves. */
#define REHASH_AHEAD 4

int dict_rehash(dict *d, int n)
{
    if (d->rehash_idx == -1)
        return 0;
    if (d->iterators > 0)
        return 1;
    int empty_visits = n * DICT_EMPTY_VISITS;
    while (n-- > 0 && d->used[0] != 0) {
        while (d->table[0][d->rehash_idx] == NULL) {
            d->rehash_idx++;
            if (--empty_visits == 0)
                return 1;
        }
        move_bucket(d, (size_t)d->rehash_idx);
        d->rehash_idx++;
        /* Each node moved is a cache miss (its key is hashed again): ask
         * for the chain a few buckets on now, so that the step that
         * reaches it (often the next operation's) finds it in cache. */
        size_t ahead = (size_t)d->rehash_idx + REHASH_AHEAD;
        if (ahead < d->size[0]) {
            const dict_node *h = d->table[0][ahead];
            if (h)
                prefetch_node(h);
        }
    }
    if (d->used[0] == 0) {
        finish_rehash(d);
        return 0;
    }
    return 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int dict_rehash_ms(dict *d, int ms)
{
    if (d->rehash_idx == -1)
        return 0;
    if (d->iterators > 0)
        return 1;
    uint64_t start = now_ns(), budget = (uint64_t)(ms > 0 ? ms : 0) * 1000000u;
    int more;
    do {
        more = dict_rehash(d, 100);
    } while (more && now_ns() - start < budget);
    return more;
}

/* ---- Safe iterator ---- */

void dict_iter_init(dict_iter *it, dict *d)
{
    it->d = d;
    it->table = 0;
    it->index = -1;
    it->entry = NULL;
    it->next = NULL;
    d->iterators++;
}

dict_node *dict_iter_next(dict_iter *it)
{
    dict *d = it->d;
    for (;;) {
        if (it->entry == NULL) {
            it->index++;
            if ((size_t)it->index >= d->size[it->table]) {
                if (it->table == 0 && d->rehash_idx != -1) {
                    it->table = 1;
                    it->index = 0;
                } else {
                    it->index = (long)d->size[it->table]; /* stay at the end */
                    return NULL;
                }
            }
            it->entry = d->table[it->table][it->index];
        } else {
            it->entry = it->next;
        }
        if (it->entry) {
            it->next = it->entry->next;
            return it->entry;
        }
    }
}

void dict_iter_done(dict_iter *it)
{
    if (it->d) {
        it->d->iterators--;
        it->d = NULL;
    }
}

/* One table's part of dict_stats, as Redis's _dictGetStatsHt. */
#define STATS_VECTLEN 50
static size_t stats_table(const dict *d, int t, char *buf, size_t len)
{
    const char *name = t == 0 ? "main hash table" : "rehashing target";
    if (d->used[t] == 0)
        return (size_t)snprintf(buf, len,
                                "Hash table %d stats (%s):\n"
                                "No stats available for empty dictionaries\n",
                                t, name);
    unsigned long clvector[STATS_VECTLEN] = {0};
    unsigned long slots = 0, maxchain = 0, totchain = 0;
    for (size_t i = 0; i < d->size[t]; i++) {
        const dict_node *n = d->table[t][i];
        if (!n) {
            clvector[0]++;
            continue;
        }
        slots++;
        unsigned long chain = 0;
        for (; n; n = n->next)
            chain++;
        clvector[chain < STATS_VECTLEN ? chain : STATS_VECTLEN - 1]++;
        if (chain > maxchain)
            maxchain = chain;
        totchain += chain;
    }
    size_t l = (size_t)snprintf(buf, len,
                                "Hash table %d stats (%s):\n"
                                " table size: %zu\n"
                                " number of elements: %zu\n"
                                " different slots: %lu\n"
                                " max chain length: %lu\n"
                                " avg chain length (counted): %.02f\n"
                                " avg chain length (computed): %.02f\n"
                                " Chain length distribution:\n",
                                t, name, d->size[t], d->used[t], slots, maxchain,
                                (double)((float)totchain / (float)slots),
                                (double)((float)d->used[t] / (float)slots));
    for (int i = 0; i < STATS_VECTLEN - 1; i++) {
        if (!clvector[i])
            continue;
        if (l >= len)
            break;
        l += (size_t)snprintf(buf + l, len - l, "   %d: %lu (%.02f%%)\n", i, clvector[i],
                              (double)(((float)clvector[i] / (float)d->size[t]) * 100));
    }
    return l < len ? l : (len ? len - 1 : 0);
}

size_t dict_stats(const dict *d, char *buf, size_t len)
{
    if (!len)
        return 0;
    buf[0] = '\0';
    size_t l = stats_table(d, 0, buf, len);
    if (dict_is_rehashing(d) && l + 1 < len)
        l += stats_table(d, 1, buf + l, len - l);
    buf[len - 1] = '\0';
    return strlen(buf);
}
