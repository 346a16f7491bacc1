/* test_dict.c — the intrusive hash table: SipHash vectors, add/find/remove
 * through incremental grow and shrink, SCAN guarantees across resizes, the
 * snapshot walk's guarantee under changes,
 * safe iteration with deletion, in-place realloc through dict_find_ref,
 * random picks, binary keys, and the per-operation bound on rehash work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "mem.h"
#include "testutil.h"

/* ---- Fixture ---- */

/* A test node: the dict_node first, then the key bytes inline. */
typedef struct tnode {
    dict_node node;
    size_t klen;
    size_t id;
    char key[];
} tnode;

static void tnode_key(const dict_node *n, const void **key, size_t *len)
{
    const tnode *t = (const tnode *)n;
    *key = t->key;
    *len = t->klen;
}

static const dict_type tnode_type = {.key_of = tnode_key};

typedef struct fixture {
    dict d;
    size_t mem_before;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->mem_before = kv_used_memory();
    dict_init(&f->d, &tnode_type);
    *state = f;
    return 0;
}

static void free_tnode(dict_node *n, void *arg)
{
    (void)arg;
    kv_free(n);
}

static int teardown(void **state)
{
    fixture *f = *state;
    dict_clear(&f->d, free_tnode, NULL);
    dict_avoid_resize(0);
    assert_int_equal(kv_used_memory(), f->mem_before);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

static tnode *mk(const void *key, size_t klen, size_t id)
{
    tnode *t = kv_malloc(sizeof *t + klen);
    t->node.next = NULL;
    t->klen = klen;
    t->id = id;
    memcpy(t->key, key, klen);
    return t;
}

static size_t key_of_id(size_t id, char *buf)
{
    return (size_t)sprintf(buf, "key:%zu", id);
}

static tnode *add_id(dict *d, size_t id)
{
    char buf[32];
    size_t n = key_of_id(id, buf);
    tnode *t = mk(buf, n, id);
    dict_add(d, &t->node);
    return t;
}

static tnode *find_id(dict *d, size_t id)
{
    char buf[32];
    size_t n = key_of_id(id, buf);
    return (tnode *)dict_find(d, buf, n);
}

static int remove_id(dict *d, size_t id)
{
    char buf[32];
    size_t n = key_of_id(id, buf);
    dict_node *x = dict_remove(d, buf, n);
    if (!x)
        return 0;
    assert_int_equal(((tnode *)x)->id, id);
    kv_free(x);
    return 1;
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void shuffle(size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng() % i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* Counts how often each id was reported by a scan or an iterator. */
typedef struct seen {
    unsigned *count;
    size_t n;
} seen;

static void count_node(void *arg, dict_node *n)
{
    seen *s = arg;
    size_t id = ((tnode *)n)->id;
    assert_true(id < s->n);
    s->count[id]++;
}

/* ---- Tests ---- */

/* Look up then insert with the lookup's hash (dict_find_ref_hashed +
 * dict_add_hashed), across grows and incremental rehashing: the hash
 * handed out is dict_hash of the key, every key is found afterwards, and
 * a present key is found through the same call. */
static void test_hashed_find_then_add(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    enum { N = 20000 };
    for (size_t i = 0; i < N; i++) {
        char buf[32];
        size_t n = key_of_id(i, buf);
        uint64_t h = 0;
        assert_null(dict_find_ref_hashed(d, buf, n, &h));
        assert_true(h == dict_hash(buf, n));
        tnode *t = mk(buf, n, i);
        dict_add_hashed(d, &t->node, h);
        dict_node **ref = dict_find_ref_hashed(d, buf, n, &h);
        assert_non_null(ref);
        assert_ptr_equal(*ref, &t->node);
    }
    assert_int_equal(dict_size(d), N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(find_id(d, i)->id, i);
}

/* SipHash-1-3 matches the reference implementation: 64-bit outputs for the
 * zero key and the low 32 bits (Linux's 64-bit hsiphash) for key 00..0f,
 * over messages 00 01 02 .. of every tail length. */
static void test_siphash13_vectors(void **state)
{
    (void)state;
    static const uint64_t zero_key[16] = {
        0xd1fba762150c532cULL, 0x68a914128e01e473ULL, 0x010bac45c41e3669ULL,
        0x4d4c9a4a8ef6e0adULL, 0x7cc43f98813e4dbdULL, 0x5abe2169dff36275ULL,
        0xe3c25f87624f1cdbULL, 0x2f098ab0c751325aULL, 0xead411e67ebe2eeaULL,
        0x75927f9d95124362ULL, 0xaf9f77a65ab51a1dULL, 0xfe64ce8b6617fcffULL,
        0xa6baf4fb0f9fe1c2ULL, 0xa0cf3211850f8e0dULL, 0x7f86049379fbfe67ULL,
        0xf30eb725bb91c9eaULL,
    };
    static const uint32_t seq_key_low32[20] = {
        0x050fc4dcU, 0x7d57ca93U, 0x4dc7d44dU, 0xe7ddf7fbU, 0x88d38328U,
        0x49533b67U, 0xc59f22a7U, 0x9bb11140U, 0x8d299a8eU, 0x6c063de4U,
        0x92ff097fU, 0xf94dc352U, 0x57b4d9a2U, 0x1229ffa7U, 0xc0f95d34U,
        0x2a519956U, 0x7d908b66U, 0x63dbd80cU, 0xb473e63eU, 0x8d297d1cU,
    };
    uint8_t msg[32], key[16];
    for (int i = 0; i < 32; i++)
        msg[i] = (uint8_t)i;

    memset(key, 0, sizeof key);
    dict_set_seed(key);
    for (size_t len = 0; len < 16; len++)
        assert_true(dict_hash(msg, len) == zero_key[len]);

    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    dict_set_seed(key);
    for (size_t len = 0; len < 20; len++)
        assert_int_equal((uint32_t)dict_hash(msg, len), seq_key_low32[len]);

    /* The seed matters. */
    uint64_t a = dict_hash("hello", 5);
    key[3] ^= 1;
    dict_set_seed(key);
    assert_true(dict_hash("hello", 5) != a);
    memset(key, 0, sizeof key);
    dict_set_seed(key);
}

/* Adding 20000 keys one by one grows the table through many incremental
 * rehashes and removing them in random order shrinks it again; every key
 * stays findable (and every removed key gone) at every step, including
 * the many steps taken while a rehash is in progress. */
static void test_add_find_remove_across_resizes(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    enum { N = 20000 };
    size_t rehash_adds = 0, rehash_removes = 0, grows = 0, shrinks = 0;
    size_t prev_buckets = 0;

    for (size_t i = 0; i < N; i++) {
        assert_null(find_id(d, i));
        add_id(d, i);
        if (dict_is_rehashing(d))
            rehash_adds++;
        assert_int_equal(dict_size(d), i + 1);
        /* The new key, a few random older keys and one never-added key. */
        assert_non_null(find_id(d, i));
        for (int k = 0; k < 4; k++) {
            size_t j = (size_t)(rng() % (i + 1));
            tnode *t = find_id(d, j);
            assert_non_null(t);
            assert_int_equal(t->id, j);
        }
        assert_null(find_id(d, N + i));
        if (dict_buckets(d) > prev_buckets && prev_buckets)
            grows++;
        prev_buckets = dict_buckets(d);
        /* Grow at load factor 1: never more than 2 entries per bucket of
         * the newest table. */
        size_t newest = dict_is_rehashing(d) ? d->size[1] : d->size[0];
        assert_true(dict_size(d) <= 2 * newest);
    }
    for (size_t i = 0; i < N; i++)
        assert_int_equal(find_id(d, i)->id, i);
    assert_true(grows >= 10);
    assert_true(rehash_adds > 1000);

    size_t *order = malloc(N * sizeof *order);
    for (size_t i = 0; i < N; i++)
        order[i] = i;
    shuffle(order, N);
    unsigned char *gone = calloc(N, 1);
    size_t max_buckets = dict_buckets(d);
    for (size_t i = 0; i < N; i++) {
        int was_rehashing = dict_is_rehashing(d);
        assert_true(remove_id(d, order[i]));
        gone[order[i]] = 1;
        if (dict_is_rehashing(d))
            rehash_removes++;
        if (!was_rehashing && dict_is_rehashing(d))
            shrinks++;
        assert_false(remove_id(d, order[i]));
        assert_int_equal(dict_size(d), N - i - 1);
        for (int k = 0; k < 4; k++) {
            size_t j = (size_t)(rng() % N);
            tnode *t = find_id(d, j);
            if (gone[j])
                assert_null(t);
            else
                assert_true(t && t->id == j);
        }
    }
    assert_true(shrinks >= 5);
    assert_true(rehash_removes > 500);
    /* Back to a small table (shrinks finish on later operations). */
    dict_rehash(d, 1000);
    assert_true(dict_buckets(d) <= 8);
    assert_true(dict_buckets(d) < max_buckets);
    free(order);
    free(gone);
}

/* An add never moves more than one non-empty bucket nor visits more than
 * 10 empty ones, even while 1M entries are inserted: rehash work per
 * operation is bounded, checked on rehash_idx and the table counters. */
static void test_million_grow_bounded_work(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    enum { N = 1000000 };
    size_t ops_while_rehashing = 0, max_moved = 0, resizes = 0;
    for (size_t i = 0; i < N; i++) {
        int was = dict_is_rehashing(d);
        long idx0 = d->rehash_idx;
        size_t used0 = d->used[0];
        size_t size0 = d->size[0];
        add_id(d, i);
        if (was && d->size[0] == size0) {
            /* Same rehash still going: at most 1 + 10 buckets passed, and
             * table[0] lost only the entries of one bucket. */
            ops_while_rehashing++;
            assert_true(dict_is_rehashing(d));
            assert_true(d->rehash_idx > idx0);
            assert_true(d->rehash_idx - idx0 <= 11);
            size_t moved = used0 - d->used[0];
            if (moved > max_moved)
                max_moved = moved;
            assert_true(moved <= 16);
            continue;
        }
        if (was) {
            /* It finished: the last bucket moved into the doubled table. */
            ops_while_rehashing++;
            assert_int_equal(d->size[0], 2 * size0);
            assert_true(used0 <= 16);
        }
        if (dict_is_rehashing(d)) {
            /* A grow started: twice the table, nothing moved yet. */
            resizes++;
            assert_int_equal(d->size[1], 2 * d->size[0]);
            assert_int_equal(d->rehash_idx, 0);
            assert_int_equal(d->used[0], d->size[0]);
        }
    }
    assert_int_equal(dict_size(d), N);
    assert_true(resizes >= 15);
    assert_true(ops_while_rehashing > N / 4);
    assert_true(max_moved >= 1);
    for (size_t i = 0; i < N; i += 997)
        assert_int_equal(find_id(d, i)->id, i);
}

/* SCAN reports every element present for the whole scan at least once
 * while, between calls, the table grows (many adds) and shrinks (many
 * removes of other elements), including scans that run across rehashes. */
static void check_scan_guarantee(dict *d)
{
    enum { STABLE = 500, CHURN = 20000 };
    unsigned *count = calloc(STABLE + CHURN, sizeof *count);
    seen s = {count, STABLE + CHURN};

    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < STABLE; i++)
            add_id(d, i);
        if (round % 2 == 1) {
            /* Start big so the scan sees shrinks. */
            for (size_t i = STABLE; i < STABLE + CHURN; i++)
                add_id(d, i);
        }
        memset(count, 0, (STABLE + CHURN) * sizeof *count);
        uint64_t cursor = 0;
        size_t calls = 0, next_churn = STABLE;
        int saw_rehash = 0;
        do {
            cursor = dict_scan(d, cursor, count_node, &s);
            calls++;
            saw_rehash |= dict_is_rehashing(d);
            /* Between calls: grow by 200 (even rounds) or shrink by 400
             * (odd rounds). */
            if (round % 2 == 0) {
                for (int k = 0; k < 200 && next_churn < STABLE + CHURN; k++)
                    add_id(d, next_churn++);
            } else {
                for (int k = 0; k < 400 && next_churn < STABLE + CHURN; k++)
                    assert_true(remove_id(d, next_churn++));
            }
        } while (cursor != 0);
        assert_true(calls > 1);
        assert_true(saw_rehash);
        for (size_t i = 0; i < STABLE; i++)
            assert_true(count[i] >= 1);
        dict_clear(d, free_tnode, NULL);
    }
    free(count);
}

static void test_scan_guarantee_across_resizes(void **state)
{
    fixture *f = *state;
    check_scan_guarantee(&f->d);
}

/* A scan of a dict that does not change reports each element exactly
 * once, both with one table and in the middle of a rehash (a scan does no
 * rehash steps itself). */
static void test_scan_exactly_once_when_unchanged(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    enum { N = 3000 };
    unsigned *count = calloc(N, sizeof *count);
    seen s = {count, N};
    for (size_t i = 0; i < N; i++)
        add_id(d, i);
    uint64_t c = 0;
    do
        c = dict_scan(d, c, count_node, &s);
    while (c);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(count[i], 1);

    /* Add until a rehash is in progress, then scan while it is. */
    size_t n = N;
    while (!dict_is_rehashing(d))
        add_id(d, n++);
    assert_true(n < 2 * N + 10);
    free(count);
    count = calloc(n, sizeof *count);
    s.count = count;
    s.n = n;
    c = 0;
    do {
        c = dict_scan(d, c, count_node, &s);
        assert_true(dict_is_rehashing(d));
    } while (c);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(count[i], 1);
    free(count);
}

/* Move a node to a new allocation through dict_find_ref, as the keyspace
 * does when a value grows in place. */
static void realloc_id(dict *d, size_t id)
{
    char buf[32];
    size_t kn = key_of_id(id, buf);
    dict_node **ref = dict_find_ref(d, buf, kn);
    assert_non_null(ref);
    tnode *t = kv_realloc(*ref, sizeof(tnode) + kn + 512 + (id % 7) * 64);
    *ref = &t->node;
}

/* A walk interleaved with changes reports every node present from its
 * begin to its end at least once: while the table grows (adds start a
 * rehash mid-walk, whose steps wait, and the walk goes on into the new
 * table), while most nodes are removed (no shrink starts), when it begins
 * in the middle of a rehash (whose steps wait), and while nodes move
 * (realloc). A dict_clear mid-walk leaves it valid. Rehash steps resume
 * once it ends. Step sizes around its lookahead. */
static void test_walk_guarantee_with_changes(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    enum { STABLE = 500, CHURN = 20000 };
    unsigned *count = calloc(STABLE + CHURN, sizeof *count);
    seen s = {count, STABLE + CHURN};
    static const size_t steps[] = {1, 15, 16, 17, 37, 1000};
    for (int round = 0; round < 5 * 6; round++) {
        int kind = round % 5;
        size_t step = steps[round / 5];
        for (size_t i = 0; i < STABLE; i++)
            add_id(d, i);
        if (kind == 1) /* start big, so that removals would shrink it */
            for (size_t i = STABLE; i < STABLE + CHURN; i++)
                add_id(d, i);
        while (dict_rehash(d, 100))
            ;
        if (kind == 2) { /* begin in the middle of a rehash */
            size_t n = STABLE;
            while (!dict_is_rehashing(d))
                add_id(d, n++);
            assert_true(dict_rehash(d, 3));
        }
        long idx0 = d->rehash_idx;
        memset(count, 0, (STABLE + CHURN) * sizeof *count);
        dict_walk w;
        dict_walk_begin(&w, d);
        size_t calls = 0, next_churn = STABLE + CHURN / 2;
        int rehash_started = 0;
        while (dict_walk_step(&w, step, count_node, &s)) {
            calls++;
            assert_true(calls < 100000);
            if (kind == 0 || kind == 2) {
                for (int k = 0; k < 50 && next_churn < STABLE + CHURN; k++)
                    add_id(d, next_churn++);
                if (kind == 2)
                    assert_int_equal(d->rehash_idx, idx0); /* no steps */
                rehash_started |= dict_is_rehashing(d);
            } else if (kind == 1) {
                for (int k = 0; k < 400 && next_churn < STABLE + CHURN; k++)
                    assert_true(remove_id(d, next_churn++));
                assert_false(dict_is_rehashing(d)); /* no shrink */
            } else if (kind == 3) {
                realloc_id(d, calls % STABLE);
                realloc_id(d, (calls * 7919) % STABLE);
            } else if (calls == 2) {
                /* Everything goes, then the keys come back as new nodes
                 * (which a snapshot does not need): the walk goes on over
                 * the new table. */
                dict_clear(d, free_tnode, NULL);
                for (size_t i = 0; i < STABLE; i++)
                    add_id(d, i);
            }
        }
        if (step <= 37)
            assert_true(calls > 1);
        assert_int_equal(d->iterators, 0);
        if (kind == 0 && step <= 37)
            assert_true(rehash_started);
        if (kind != 4)
            for (size_t i = 0; i < STABLE; i++)
                assert_true(count[i] >= 1);
        /* Rehashing goes on now the walk is over. */
        if (dict_is_rehashing(d)) {
            while (dict_rehash(d, 100))
                ;
            assert_false(dict_is_rehashing(d));
        }
        assert_int_equal(dict_walk_step(&w, step, count_node, &s), 0);
        dict_walk_end(&w); /* after the end: nothing happens */
        assert_int_equal(d->iterators, 0);
        dict_clear(d, free_tnode, NULL);
    }
    free(count);
}

/* A walk over a dict that does not change reports each node exactly once,
 * with one table and in the middle of a rehash; one stopped early releases
 * the rehash it held. */
static void test_walk_exactly_once_when_unchanged(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    size_t n = 0;
    for (; n < 3000; n++)
        add_id(d, n);
    while (dict_rehash(d, 100))
        ;
    for (int phase = 0; phase < 2; phase++) {
        if (phase == 1)
            while (!dict_is_rehashing(d))
                add_id(d, n++);
        unsigned *count = calloc(n, sizeof *count);
        seen s = {count, n};
        dict_walk w;
        dict_walk_begin(&w, d);
        size_t calls = 0;
        while (dict_walk_step(&w, 16, count_node, &s)) {
            calls++;
            assert_int_equal(dict_is_rehashing(d), phase);
        }
        assert_true(calls > 100);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(count[i], 1);
        free(count);
    }
    assert_true(dict_is_rehashing(d));
    long idx = d->rehash_idx;
    dict_walk w;
    dict_walk_begin(&w, d);
    assert_int_equal(dict_rehash(d, 10), 1);
    assert_int_equal(d->rehash_idx, idx); /* held */
    dict_walk_end(&w);
    assert_int_equal(d->iterators, 0);
    while (dict_rehash(d, 100))
        ;
    assert_false(dict_is_rehashing(d));
}

/* The safe iterator visits every node once, lets the caller remove and
 * free the node just returned, and pauses rehashing meanwhile. */
static void test_iterator_delete_current(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    enum { N = 5000 };
    size_t n = 0;
    for (; n < N; n++)
        add_id(d, n);
    while (!dict_is_rehashing(d))
        add_id(d, n++);
    long idx = d->rehash_idx;
    unsigned *count = calloc(n, sizeof *count);

    dict_iter it;
    dict_iter_init(&it, d);
    size_t visited = 0, removed = 0;
    for (dict_node *x; (x = dict_iter_next(&it));) {
        tnode *t = (tnode *)x;
        count[t->id]++;
        visited++;
        /* Lookups during iteration do not rehash. */
        assert_non_null(find_id(d, t->id));
        assert_int_equal(d->rehash_idx, idx);
        if (t->id % 3 != 0) {
            assert_true(remove_id(d, t->id));
            removed++;
        }
    }
    assert_null(dict_iter_next(&it));
    dict_iter_done(&it);
    assert_int_equal(visited, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(count[i], 1);
    assert_int_equal(dict_size(d), n - removed);
    for (size_t i = 0; i < n; i++)
        assert_true((find_id(d, i) != NULL) == (i % 3 == 0));

    /* Removing everything through an iterator leaves an empty dict. */
    dict_iter_init(&it, d);
    for (dict_node *x; (x = dict_iter_next(&it));)
        assert_true(remove_id(d, ((tnode *)x)->id));
    dict_iter_done(&it);
    assert_int_equal(dict_size(d), 0);
    /* Rehashing resumes after the iterator is done. */
    while (dict_rehash(d, 100))
        ;
    assert_false(dict_is_rehashing(d));
    free(count);

    /* An empty, never-used dict iterates to nothing. */
    dict e;
    dict_init(&e, &tnode_type);
    dict_iter_init(&it, &e);
    assert_null(dict_iter_next(&it));
    dict_iter_done(&it);
}

/* dict_find_ref lets the owner realloc a node to a new address in place:
 * the chain stays intact and every key is still found, during a rehash
 * too. */
static void test_find_ref_realloc(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    enum { N = 2000 };
    for (size_t i = 0; i < N; i++)
        add_id(d, i);
    int rehashing_seen = 0;
    for (size_t i = 0; i < N; i++) {
        char buf[32];
        size_t kn = key_of_id(i, buf);
        dict_node **ref = dict_find_ref(d, buf, kn);
        assert_non_null(ref);
        assert_int_equal(((tnode *)*ref)->id, i);
        /* Grow it well past its size class so it really moves. */
        tnode *t = kv_realloc(*ref, sizeof(tnode) + kn + 4096);
        *ref = &t->node;
        memset(t->key + kn, 0xAB, 4096);
        rehashing_seen |= dict_is_rehashing(d);
        if (i % 20 == 0)
            add_id(d, N + i); /* pushes it past 2048 entries: a grow */
    }
    assert_true(rehashing_seen);
    for (size_t i = 0; i < N; i++) {
        tnode *t = find_id(d, i);
        assert_non_null(t);
        assert_int_equal((unsigned char)t->key[t->klen + 100], 0xAB);
    }
    char missing[] = "nope";
    assert_null(dict_find_ref(d, missing, 4));
    dict e;
    dict_init(&e, &tnode_type);
    assert_null(dict_find_ref(&e, missing, 4));
}

/* dict_random returns NULL when empty, the only node of a single-node
 * dict, every node of a small dict for some rnd, nearly every node of a
 * large one over many draws, and valid nodes mid-rehash and in a very
 * sparse table. */
static void test_random(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    assert_null(dict_random(d, 12345));

    tnode *only = add_id(d, 0);
    for (uint64_t r = 0; r < 100; r++)
        assert_ptr_equal(dict_random(d, r * 0x9e3779b97f4a7c15ULL), &only->node);

    add_id(d, 1);
    add_id(d, 2);
    unsigned hits[3] = {0};
    for (uint64_t r = 0; r < 300; r++)
        hits[((tnode *)dict_random(d, rng()))->id]++;
    for (int i = 0; i < 3; i++)
        assert_true(hits[i] > 30);

    enum { N = 10000, DRAWS = 100000 };
    for (size_t i = 3; i < N; i++)
        add_id(d, i);
    unsigned *count = calloc(N, sizeof *count);
    for (size_t i = 0; i < DRAWS; i++) {
        dict_node *x = dict_random(d, rng());
        assert_non_null(x);
        count[((tnode *)x)->id]++;
    }
    size_t covered = 0;
    for (size_t i = 0; i < N; i++)
        covered += count[i] > 0;
    assert_true(covered >= N * 95 / 100);

    /* Mid-rehash: every draw is a live node. */
    size_t n = N;
    while (!dict_is_rehashing(d))
        add_id(d, n++);
    for (int i = 0; i < 1000; i++) {
        tnode *t = (tnode *)dict_random(d, rng());
        assert_non_null(t);
        assert_ptr_equal(find_id(d, t->id), t);
    }
    /* Sparse: shrinking avoided, all but one node removed. */
    while (dict_rehash(d, 100))
        ;
    dict_avoid_resize(1);
    for (size_t i = 1; i < n; i++)
        assert_true(remove_id(d, i));
    assert_true(dict_buckets(d) >= 8192);
    for (int i = 0; i < 50; i++)
        assert_int_equal(((tnode *)dict_random(d, rng()))->id, 0);
    dict_avoid_resize(0);
    free(count);
}

/* dict_random_fair (HRANDFIELD/SRANDMEMBER): NULL when empty; on a small
 * dict every node equally likely (Redis's Tcl suite checks chi-square < 40
 * with 9 degrees of freedom; dict_random fails it when buckets chain); in
 * a very sparse table it still finds the one node. */
static void test_random_fair(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    assert_null(dict_random_fair(d, 1));
    for (size_t i = 0; i < 10; i++)
        add_id(d, i);
    enum { DRAWS = 10000 };
    unsigned hits[10] = {0};
    for (int i = 0; i < DRAWS; i++)
        hits[((tnode *)dict_random_fair(d, rng()))->id]++;
    double chi = 0, expect = DRAWS / 10.0;
    for (int i = 0; i < 10; i++)
        chi += (hits[i] - expect) * (hits[i] - expect) / expect;
    assert_true(chi < 40);
    size_t n = 10;
    while (n < 10000)
        add_id(d, n++);
    while (dict_rehash(d, 100))
        ;
    dict_avoid_resize(1);
    for (size_t i = 1; i < n; i++)
        assert_true(remove_id(d, i));
    for (int i = 0; i < 50; i++)
        assert_int_equal(((tnode *)dict_random_fair(d, rng()))->id, 0);
    dict_avoid_resize(0);
}

/* Keys are binary: embedded NULs, a trailing NUL, and the empty key are
 * all distinct keys. */
static void test_binary_keys(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    static const struct {
        const char *k;
        size_t n;
    } keys[] = {
        {"a\0b", 3}, {"a\0c", 3}, {"a", 1}, {"a\0", 2}, {"", 0}, {"\0", 1}, {"\0\0", 2},
    };
    enum { K = sizeof keys / sizeof keys[0] };
    for (size_t i = 0; i < K; i++) {
        assert_null(dict_find(d, keys[i].k, keys[i].n));
        dict_add(d, &mk(keys[i].k, keys[i].n, i)->node);
    }
    for (size_t i = 0; i < K; i++) {
        tnode *t = (tnode *)dict_find(d, keys[i].k, keys[i].n);
        assert_non_null(t);
        assert_int_equal(t->id, i);
    }
    assert_null(dict_find(d, "a\0d", 3));
    assert_null(dict_find(d, "b", 1));
    dict_node *x = dict_remove(d, "a\0", 2);
    assert_int_equal(((tnode *)x)->id, 3);
    kv_free(x);
    assert_null(dict_find(d, "a\0", 2));
    assert_non_null(dict_find(d, "a", 1));
    assert_non_null(dict_find(d, "a\0b", 3));
    assert_int_equal(dict_size(d), K - 1);
}

/* With resizing avoided the table grows only at load factor 5 and never
 * shrinks; once allowed again it resizes on the next operations. */
static void test_avoid_resize(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    for (size_t i = 0; i < 64; i++)
        add_id(d, i);
    while (dict_rehash(d, 100))
        ;
    size_t b = dict_buckets(d);
    assert_int_equal(b, 64); /* the 64th add does not grow: 63 < 64 */

    dict_avoid_resize(1);
    size_t n = 64;
    while (n < 5 * b - 1) {
        add_id(d, n++);
        assert_int_equal(dict_buckets(d), b);
        assert_false(dict_is_rehashing(d));
    }
    add_id(d, n++); /* 5 * b entries: not yet */
    assert_int_equal(dict_buckets(d), b);
    add_id(d, n++); /* load factor 5 reached on this add */
    assert_true(dict_is_rehashing(d));
    while (dict_rehash(d, 100))
        ;
    size_t big = dict_buckets(d);
    assert_true(big >= 8 * b);

    for (size_t i = 1; i < n; i++)
        assert_true(remove_id(d, i));
    assert_int_equal(dict_buckets(d), big);
    assert_false(dict_is_rehashing(d));

    dict_avoid_resize(0);
    add_id(d, n);
    assert_true(remove_id(d, n)); /* a remove checks for shrinking */
    while (dict_rehash(d, 100))
        ;
    assert_int_equal(dict_buckets(d), 4);
    assert_int_equal(dict_size(d), 1);
    assert_non_null(find_id(d, 0));
}

/* dict_rehash(n) moves at most n buckets per call and dict_rehash_ms
 * finishes a pending rehash; both wait while a safe iterator is alive. */
static void test_rehash_drivers(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    size_t n = 0;
    while (dict_buckets(d) < 4096 || !dict_is_rehashing(d))
        add_id(d, n++);
    long before = d->rehash_idx;
    size_t used0 = d->used[0];
    assert_int_equal(dict_rehash(d, 5), 1);
    assert_true(d->rehash_idx - before <= 5 * 11);
    assert_true(d->used[0] < used0);

    dict_iter it;
    dict_iter_init(&it, d);
    before = d->rehash_idx;
    assert_int_equal(dict_rehash(d, 100), 1);
    assert_int_equal(dict_rehash_ms(d, 5), 1);
    assert_int_equal(d->rehash_idx, before);
    dict_iter_done(&it);

    assert_int_equal(dict_rehash_ms(d, 1000), 0);
    assert_false(dict_is_rehashing(d));
    assert_int_equal(dict_size(d), n);
    assert_int_equal(dict_rehash(d, 1), 0);
    for (size_t i = 0; i < n; i++)
        assert_non_null(find_id(d, i));
}

static size_t freed_count;

static void count_free(dict_node *n, void *arg)
{
    assert_ptr_equal(arg, &freed_count);
    freed_count++;
    kv_free(n);
}

/* Prefetch hints at every stage, for present and absent keys and any hash,
 * on an empty dict, a settled one and one in the middle of a rehash, read
 * only inside the tables (ASan builds check) and change nothing. */
static void test_prefetch_hints_change_nothing(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    for (int stage = 0; stage <= 2; stage++)
        dict_prefetch(d, 0x123456789abcdefULL, stage);
    size_t n = 0;
    int saw_rehash = 0;
    for (; n < 5000; n++) {
        char buf[32];
        size_t kl = key_of_id(n, buf);
        uint64_t h = dict_hash(buf, kl);
        int rehashing = dict_is_rehashing(d);
        saw_rehash |= rehashing;
        size_t buckets = dict_buckets(d);
        for (int stage = 0; stage <= 2; stage++) {
            dict_prefetch(d, h, stage);
            dict_prefetch(d, ~h, stage);
            dict_prefetch(d, (uint64_t)-1, stage);
        }
        assert_int_equal(dict_size(d), n);
        assert_int_equal(dict_is_rehashing(d), rehashing);
        assert_int_equal(dict_buckets(d), buckets);
        add_id(d, n);
    }
    assert_true(saw_rehash);
    for (size_t i = 0; i < n; i++)
        assert_non_null(find_id(d, i));
}

/* dict_clear frees every node (mid-rehash too) and leaves a usable empty
 * dict. */
static void test_clear(void **state)
{
    fixture *f = *state;
    dict *d = &f->d;
    size_t n = 0;
    while (n < 1000 || !dict_is_rehashing(d))
        add_id(d, n++);
    freed_count = 0;
    dict_clear(d, count_free, &freed_count);
    assert_int_equal(freed_count, n);
    assert_int_equal(dict_size(d), 0);
    assert_int_equal(dict_buckets(d), 0);
    assert_false(dict_is_rehashing(d));
    assert_null(find_id(d, 1));
    assert_int_equal(dict_scan(d, 0, count_node, NULL), 0);
    add_id(d, 7);
    assert_int_equal(find_id(d, 7)->id, 7);
}

/* VmFlags of the mapping holding addr carry "hg" (MADV_HUGEPAGE): 1, 0,
 * or -1 when /proc/self/smaps does not say. */
static int advised_huge(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    int in = 0, found = -1;
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = a >= lo && a < hi;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            found = strstr(line, " hg") != NULL;
            break;
        }
    }
    fclose(f);
    return found;
}


/* A big table made during a bulk load is advised to huge pages; one made
 * under traffic is not (the first fault of a huge page stops the loop for
 * milliseconds: dict.c). */
static void test_big_table_huge_only_in_bulk(void **state)
{
    (void)state;
    if (!tu_thp_possible())
        skip();
    dict run, bulk;
    dict_init(&run, &tnode_type);
    dict_init(&bulk, &tnode_type);
    dict_reserve(&run, (size_t)1 << 20); /* 8 MB of buckets */
    assert_int_equal(dict_buckets(&run), (size_t)1 << 20);
    const void *mid = (const char *)run.table[0] + (4u << 20);
    assert_int_equal(advised_huge(mid), 0);
    kv_bulk_begin((size_t)256 << 20);
    dict_reserve(&bulk, (size_t)1 << 20);
    mid = (const char *)bulk.table[0] + (4u << 20);
    int huge = advised_huge(mid);
    kv_bulk_end();
    assert_int_equal(huge, 1);
    dict_clear(&run, free_tnode, NULL);
    dict_clear(&bulk, free_tnode, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash13_vectors),
        cmocka_unit_test(test_big_table_huge_only_in_bulk),
        cmocka_unit_test_setup_teardown(test_add_find_remove_across_resizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hashed_find_then_add, setup, teardown),
        cmocka_unit_test_setup_teardown(test_million_grow_bounded_work, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_guarantee_across_resizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_exactly_once_when_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iterator_delete_current, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_ref_realloc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_fair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avoid_resize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rehash_drivers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefetch_hints_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_guarantee_with_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_exactly_once_when_unchanged, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
