/* test_keyspace.c — the keyspace: string/list/hash lifecycles, allocation
 * reuse, OBJECT ENCODING rules, TTLs and the expiry index through every
 * call that moves, renames, copies or drops a key, the active expiry cycle
 * (exactness, bounded and resumable sampling), the digest, random/scan/
 * iteration, memory accounting, and a long randomized run against a
 * reference model. Also SHA-1 against FIPS vectors (the digest's base). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "keyspace.h"
#include "mem.h"
#include "sha1.h"

/* ---- Fixture ---- */

typedef struct fixture {
    ks *k;
    size_t mem_before;
    size_t max_entries, max_value;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->max_entries = hash_max_listpack_entries;
    f->max_value = hash_max_listpack_value;
    /* The thresholds these tests are written against. */
    hash_max_listpack_entries = 128;
    hash_max_listpack_value = 64;
    f->mem_before = kv_used_memory();
    f->k = ks_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ks_free(f->k);
    hash_max_listpack_entries = f->max_entries;
    hash_max_listpack_value = f->max_value;
    assert_int_equal(kv_used_memory(), f->mem_before);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

static uint64_t rng_state = 0xD1B54A32D192ED03ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static kobj *set_s(ks *k, const char *key, const char *val)
{
    return ks_set_string(k, key, strlen(key), val, strlen(val), 0);
}

static kobj *find_s(ks *k, const char *key)
{
    return ks_find(k, key, strlen(key));
}

static void assert_str_value(ks *k, const char *key, size_t klen, const void *want, size_t wlen)
{
    kobj *o = ks_find(k, key, klen);
    assert_non_null(o);
    assert_int_equal(kobj_type(o), KT_STRING);
    size_t n;
    const char *p = kobj_str(o, &n);
    assert_int_equal(n, wlen);
    assert_memory_equal(p, want, wlen);
}

#define assert_str_s(k, key, val) \
    assert_str_value((k), (key), strlen(key), (val), strlen(val))

static void digest(ks *k, char out[41])
{
    ks_digest(k, out);
    assert_int_equal(strlen(out), 40);
}

static void push_s(kobj *o, int where, const char *s)
{
    list_push(kobj_list(o), where, s, strlen(s));
}

/* Records the keys handed to before_delete. */
typedef struct recorder {
    char **keys;
    size_t *lens;
    size_t n, cap;
} recorder;

static void record_delete(void *arg, const char *key, size_t klen)
{
    recorder *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->keys = realloc(r->keys, r->cap * sizeof *r->keys);
        r->lens = realloc(r->lens, r->cap * sizeof *r->lens);
    }
    r->keys[r->n] = malloc(klen ? klen : 1);
    memcpy(r->keys[r->n], key, klen);
    r->lens[r->n] = klen;
    r->n++;
}

static void recorder_reset(recorder *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->keys[i]);
    r->n = 0;
}

static void recorder_free(recorder *r)
{
    recorder_reset(r);
    free(r->keys);
    free(r->lens);
}

static int recorded(const recorder *r, const char *key)
{
    size_t n = strlen(key);
    int hits = 0;
    for (size_t i = 0; i < r->n; i++)
        hits += r->lens[i] == n && memcmp(r->keys[i], key, n) == 0;
    return hits;
}

/* Collects ids of keys "key:<id>" reported by a scan. */
typedef struct idcount {
    unsigned *c;
    size_t n;
} idcount;

static void count_key(void *arg, kobj *o)
{
    idcount *ic = arg;
    size_t klen;
    const char *key = kobj_key(o, &klen);
    char b[32];
    assert_true(klen > 4 && klen < sizeof b);
    memcpy(b, key, klen);
    b[klen] = '\0';
    size_t id = (size_t)strtoul(b + 4, NULL, 10);
    assert_true(id < ic->n);
    ic->c[id]++;
}

static void set_numbered(ks *k, size_t id, int64_t expire)
{
    char kb[32], vb[48];
    int kl = snprintf(kb, sizeof kb, "key:%zu", id);
    int vl = snprintf(vb, sizeof vb, "value-%zu-padding-to-32-bytes..", id);
    kobj *o = ks_set_string(k, kb, (size_t)kl, vb, (size_t)vl, 0);
    if (expire >= 0)
        ks_set_expire(k, o, expire);
}

/* ---- Tests: SHA-1 ---- */

static void sha1_hex(const void *p, size_t n, char out[41])
{
    sha1_ctx c;
    uint8_t d[20];
    sha1_init(&c);
    sha1_update(&c, p, n);
    sha1_final(&c, d);
    for (int i = 0; i < 20; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* SHA-1 gives the FIPS 180 / RFC 3174 digests, fed whole or byte by byte,
 * including the padding edge at 55/56/64 bytes and a million 'a's. */
static void test_sha1_vectors(void **state)
{
    (void)state;
    char hex[41];
    sha1_hex("", 0, hex);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    sha1_hex("abc", 3, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha1_hex(m448, strlen(m448), hex);
    assert_string_equal(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    sha1_hex(m896, strlen(m896), hex);
    assert_string_equal(hex, "a49b2446a02c645bf419f995b67091253a04a259");

    sha1_ctx c;
    uint8_t d[20];
    sha1_init(&c);
    char a[1000];
    memset(a, 'a', sizeof a);
    for (int i = 0; i < 1000; i++)
        sha1_update(&c, a, sizeof a);
    sha1_final(&c, d);
    for (int i = 0; i < 20; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
    assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");

    /* Byte-at-a-time equals one-shot at the block-padding boundaries. */
    for (size_t n = 50; n <= 130; n++) {
        char one[41], bytes[41];
        sha1_hex(a, n, one);
        sha1_init(&c);
        for (size_t i = 0; i < n; i++)
            sha1_update(&c, a + i, 1);
        sha1_final(&c, d);
        for (int i = 0; i < 20; i++)
            sprintf(bytes + 2 * i, "%02x", d[i]);
        assert_string_equal(one, bytes);
    }
}

/* ---- Tests: strings ---- */

/* An empty keyspace has no keys, an all-zero digest, nothing to pick,
 * scan, iterate, delete or expire. */
static void test_empty_keyspace(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    assert_int_equal(ks_size(k), 0);
    assert_int_equal(ks_expires(k), 0);
    assert_null(find_s(k, "x"));
    assert_null(ks_random(k, 7));
    assert_int_equal(ks_delete(k, "x", 1), 0);
    assert_int_equal(ks_scan(k, 0, count_key, NULL), 0);
    assert_int_equal(ks_expire_cycle(k, INT64_MAX, 100, NULL, NULL), 0);
    ks_iter it;
    ks_iter_init(&it, k);
    assert_null(ks_iter_next(&it));
    ks_iter_done(&it);
    char d[41];
    digest(k, d);
    assert_string_equal(d, "0000000000000000000000000000000000000000");
    ks_rehash_ms(k, 1);
    ks_clear(k);
    ks_free(NULL);
}

/* The prefetch window of a bulk load keeps the last KS_PF_DEPTH keys it
 * was told about (their keyspace and dict_hash; none for an entry without
 * a key) across many wrap-arounds, over two keyspaces, and the loads it
 * runs ahead of find every key. */
static void test_prefetch_window(void **state)
{
    fixture *f = *state;
    ks *k2 = ks_new();
    ks_prefetcher pf = {0};
    char key[32];
    for (unsigned i = 0; i < 20 * KS_PF_DEPTH + 3; i++) {
        ks *k = i % 5 == 4 ? NULL : i % 2 ? k2 : f->k;
        int kl = snprintf(key, sizeof key, "pf:%u", i);
        ks_prefetch_next(&pf, k, key, (size_t)kl);
        assert_int_equal(pf.n, i + 1);
        assert_ptr_equal(pf.k[i % KS_PF_DEPTH], k);
        if (k)
            assert_true(pf.hash[i % KS_PF_DEPTH] == dict_hash(key, (size_t)kl));
        if (i >= KS_PF_HALF) {
            /* The key announced KS_PF_HALF ago is loaded now. */
            unsigned j = i - KS_PF_HALF;
            ks *kj = j % 5 == 4 ? NULL : j % 2 ? k2 : f->k;
            if (kj) {
                kl = snprintf(key, sizeof key, "pf:%u", j);
                ks_set_string(kj, key, (size_t)kl, "v", 1, 0);
            }
        }
    }
    assert_int_equal(ks_size(f->k) + ks_size(k2), (20 * KS_PF_DEPTH + 3 - KS_PF_HALF) * 4 / 5);
    for (unsigned j = 0; j < 20 * KS_PF_DEPTH + 3 - KS_PF_HALF; j++) {
        int kl = snprintf(key, sizeof key, "pf:%u", j);
        ks *kj = j % 5 == 4 ? NULL : j % 2 ? k2 : f->k;
        if (kj)
            assert_non_null(ks_find(kj, key, (size_t)kl));
    }
    ks_free(k2);
}

/* A string key is created, read, replaced by longer and shorter values
 * (and an empty one), and deleted; keys and values are binary. */
static void test_string_lifecycle(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    kobj *o = set_s(k, "greeting", "hello");
    assert_ptr_equal(find_s(k, "greeting"), o);
    assert_int_equal(kobj_type(o), KT_STRING);
    size_t klen;
    assert_memory_equal(kobj_key(o, &klen), "greeting", 8);
    assert_int_equal(klen, 8);
    assert_int_equal(kobj_expire(o), -1);
    assert_str_s(k, "greeting", "hello");

    char big[5000];
    memset(big, 'b', sizeof big);
    ks_set_string(k, "greeting", 8, big, sizeof big, 0);
    assert_str_value(k, "greeting", 8, big, sizeof big);
    set_s(k, "greeting", "hi");
    assert_str_s(k, "greeting", "hi");
    set_s(k, "greeting", "");
    assert_str_s(k, "greeting", "");
    assert_int_equal(ks_size(k), 1);

    ks_set_string(k, "a\0b", 3, "v\0w", 3, 0);
    ks_set_string(k, "a", 1, "1", 1, 0);
    ks_set_string(k, "", 0, "empty key", 9, 0);
    assert_str_value(k, "a\0b", 3, "v\0w", 3);
    assert_str_value(k, "a", 1, "1", 1);
    assert_str_value(k, "", 0, "empty key", 9);
    assert_int_equal(ks_size(k), 4);

    assert_int_equal(ks_delete(k, "greeting", 8), 1);
    assert_int_equal(ks_delete(k, "greeting", 8), 0);
    assert_null(find_s(k, "greeting"));
    assert_int_equal(ks_delete(k, "", 0), 1);
    assert_int_equal(ks_size(k), 2);
}

/* A new value that fits the key's allocation is written in place (same
 * object address); a much shorter one gives memory back. */
static void test_string_reuses_allocation(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    char v[2000];
    memset(v, 'v', sizeof v);
    kobj *o = ks_set_string(k, "0123456789abcdef", 16, v, 32, 0);
    size_t used = kv_used_memory();
    kobj *o2 = ks_set_string(k, "0123456789abcdef", 16, v, 30, 0);
    assert_ptr_equal(o2, o);
    o2 = ks_set_string(k, "0123456789abcdef", 16, v, 32, 0);
    assert_ptr_equal(o2, o);
    assert_int_equal(kv_used_memory(), used);

    ks_set_string(k, "0123456789abcdef", 16, v, sizeof v, 0);
    size_t big = kv_used_memory();
    assert_true(big > used + 1500);
    ks_set_string(k, "0123456789abcdef", 16, v, 32, 0);
    assert_true(kv_used_memory() < big - 1500);
    assert_str_value(k, "0123456789abcdef", 16, v, 32);
}

/* OBJECT ENCODING follows Redis 7.0: canonical 64-bit integers of at most
 * 20 chars are "int", other strings up to 44 bytes "embstr", longer ones
 * and anything resized (APPEND/SETRANGE) "raw"; lists are "quicklist". */
static void test_encodings(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    static const struct {
        const char *v;
        const char *enc;
    } cases[] = {
        {"0", "int"},
        {"123", "int"},
        {"-5", "int"},
        {"9223372036854775807", "int"},
        {"-9223372036854775808", "int"},
        {"9223372036854775808", "embstr"},
        {"-9223372036854775809", "embstr"},
        {"18446744073709551616", "embstr"},
        {"0123", "embstr"},
        {"+1", "embstr"},
        {" 1", "embstr"},
        {"1 ", "embstr"},
        {"-0", "embstr"},
        {"-", "embstr"},
        {"", "embstr"},
        {"1.5", "embstr"},
        {"12a", "embstr"},
        {"hello", "embstr"},
        {"00", "embstr"},
        {"123456789012345678901", "embstr"},
        {"12345678901234567890123456789012345678901234", "embstr"},
        {"123456789012345678901234567890123456789012345", "raw"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kobj *o = set_s(k, "s", cases[i].v);
        if (strcmp(kobj_encoding(o), cases[i].enc) != 0)
            fail_msg("value \"%s\": got %s, want %s", cases[i].v, kobj_encoding(o), cases[i].enc);
    }
    kobj *o = ks_set_string(k, "nul", 3, "1\0", 2, 0);
    assert_string_equal(kobj_encoding(o), "embstr");

    o = set_s(k, "s", "abc");
    assert_string_equal(kobj_encoding(o), "embstr");
    ks_string_resize(k, &o, 3); /* same length: still marks it raw */
    assert_string_equal(kobj_encoding(o), "raw");
    o = set_s(k, "s", "42");
    assert_string_equal(kobj_encoding(o), "int");
    char *p = ks_string_resize(k, &o, 3);
    p[2] = '7';
    assert_string_equal(kobj_encoding(o), "raw");
    assert_str_s(k, "s", "427");
    o = set_s(k, "s", "427");
    assert_string_equal(kobj_encoding(o), "int");

    assert_string_equal(kobj_encoding(ks_add_list(k, "l", 1)), "quicklist");
    kobj *h = ks_add_hash(k, "h", 1);
    assert_string_equal(kobj_encoding(h), "listpack");
    char v100[100];
    memset(v100, 'x', sizeof v100);
    hash_set(kobj_hash(h), "f", 1, v100, sizeof v100);
    assert_string_equal(kobj_encoding(h), "hashtable");
    kobj *l = find_s(k, "l");
    push_s(l, LIST_TAIL, "x");
    assert_string_equal(kobj_encoding(l), "quicklist");
}

/* KS_NOINT stores an int-looking value as "embstr" (or "raw" past 44
 * bytes), as Redis stores INCRBYFLOAT's result; a later plain set, a TTL
 * change or a rename does not lose or wrongly keep that mark. */
static void test_noint_encoding(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    kobj *o = ks_set_string(k, "f", 1, "2", 1, KS_NOINT);
    assert_string_equal(kobj_encoding(o), "embstr");
    assert_int_equal(kobj_refcount(o), 1);
    o = ks_set_expire(k, o, 1000);
    assert_string_equal(kobj_encoding(o), "embstr");
    o = ks_rename(k, o, "g", 1);
    assert_string_equal(kobj_encoding(o), "embstr");
    o = ks_set_string(k, "g", 1, "2", 1, KS_KEEPTTL);
    assert_string_equal(kobj_encoding(o), "int");
    assert_int_equal(kobj_expire(o), 1000);
    assert_int_equal(kobj_refcount(o), 2147483647L);
    /* Reusing the allocation and taking a fresh one both set the mark. */
    o = ks_set_string(k, "g", 1, "3", 1, KS_NOINT | KS_KEEPTTL);
    assert_string_equal(kobj_encoding(o), "embstr");
    char big[300];
    memset(big, '1', sizeof big);
    o = ks_set_string(k, "g", 1, big, sizeof big, KS_NOINT);
    assert_string_equal(kobj_encoding(o), "raw");
    o = ks_set_string(k, "g", 1, "12345678901234567890123", 23, KS_NOINT);
    assert_string_equal(kobj_encoding(o), "embstr");
    o = ks_set_string(k, "new", 3, "7", 1, KS_NOINT);
    assert_string_equal(kobj_encoding(o), "embstr");
}

/* OBJECT REFCOUNT: Redis shares the integers 0..9999 (refcount INT_MAX);
 * anything else, a raw or copied value, a list or a hash has refcount 1. */
static void test_refcount(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    static const struct {
        const char *v;
        long refcount;
    } cases[] = {
        {"0", 2147483647L}, {"1", 2147483647L}, {"9999", 2147483647L}, {"10000", 1},
        {"-1", 1},          {"-0", 1},          {"01", 1},             {"abc", 1},
        {"", 1},            {"9223372036854775807", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kobj *o = set_s(k, "s", cases[i].v);
        if (kobj_refcount(o) != cases[i].refcount)
            fail_msg("value \"%s\": got %ld, want %ld", cases[i].v, kobj_refcount(o),
                     cases[i].refcount);
    }
    kobj *o = set_s(k, "s", "5");
    kobj *c = ks_copy(k, o, "c", 1);
    assert_string_equal(kobj_encoding(c), "int");
    assert_int_equal(kobj_refcount(c), 1);
    o = find_s(k, "s");
    assert_int_equal(kobj_refcount(o), 2147483647L);
    /* A copy overwritten by a plain set is shared again. */
    c = set_s(k, "c", "5");
    assert_int_equal(kobj_refcount(c), 2147483647L);
    ks_string_resize(k, &o, 1);
    assert_int_equal(kobj_refcount(o), 1);
    assert_int_equal(kobj_refcount(ks_add_list(k, "l", 1)), 1);
    assert_int_equal(kobj_refcount(ks_add_hash(k, "h", 1)), 1);
}

/* ks_string_resize grows with zero fill and shrinks, keeps the bytes it
 * can, updates the caller's pointer when the object moves, and leaves the
 * key findable. */
static void test_string_resize(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    kobj *o = set_s(k, "r", "abcdef");
    char *p = ks_string_resize(k, &o, 10);
    assert_ptr_equal(find_s(k, "r"), o);
    assert_memory_equal(p, "abcdef\0\0\0\0", 10);
    p = ks_string_resize(k, &o, 100000);
    assert_ptr_equal(find_s(k, "r"), o);
    assert_memory_equal(p, "abcdef", 6);
    for (size_t i = 6; i < 100000; i++)
        assert_int_equal(p[i], 0);
    p[99999] = 'z';
    size_t n;
    const char *s = kobj_str(o, &n);
    assert_int_equal(n, 100000);
    assert_int_equal(s[99999], 'z');
    size_t before = kv_used_memory();
    p = ks_string_resize(k, &o, 3);
    assert_true(kv_used_memory() < before - 50000);
    assert_ptr_equal(find_s(k, "r"), o);
    assert_str_s(k, "r", "abc");
    ks_string_resize(k, &o, 0);
    assert_str_s(k, "r", "");
    /* Repeated appends: amortized growth, content intact. */
    for (int i = 0; i < 3000; i++) {
        size_t old;
        kobj_str(o, &old);
        p = ks_string_resize(k, &o, old + 1);
        p[old] = (char)('a' + i % 26);
    }
    s = kobj_str(o, &n);
    assert_int_equal(n, 3000);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(s[i], 'a' + i % 26);
    assert_ptr_equal(find_s(k, "r"), o);
}

/* ---- Tests: lists and hashes ---- */

/* Lists and hashes are created empty under new keys, filled through their
 * handles, replaced by strings (freeing them) and deleted. */
static void test_containers_lifecycle(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    set_s(k, "resident", "keeps the keys dict allocated");
    size_t mem0 = kv_used_memory();
    kobj *l = ks_add_list(k, "list", 4);
    assert_int_equal(kobj_type(l), KT_LIST);
    assert_int_equal(list_len(kobj_list(l)), 0);
    push_s(l, LIST_TAIL, "b");
    push_s(l, LIST_HEAD, "a");
    assert_ptr_equal(find_s(k, "list"), l);
    assert_int_equal(list_len(kobj_list(find_s(k, "list"))), 2);
    size_t mem_small = kobj_mem(l);
    for (int i = 0; i < 1000; i++)
        push_s(l, LIST_TAIL, "more elements here");
    assert_true(kobj_mem(l) > mem_small + 1000 * 16);

    kobj *h = ks_add_hash(k, "hash", 4);
    assert_int_equal(kobj_type(h), KT_HASH);
    hash_set(kobj_hash(h), "f", 1, "v", 1);
    const char *v;
    size_t vlen;
    assert_int_equal(hash_get(kobj_hash(find_s(k, "hash")), "f", 1, &v, &vlen), 1);
    assert_int_equal(ks_size(k), 3);

    /* SET over a list and a hash frees them. */
    set_s(k, "list", "now a string");
    set_s(k, "hash", "this too");
    assert_str_s(k, "list", "now a string");
    assert_str_s(k, "hash", "this too");
    assert_int_equal(ks_delete(k, "list", 4), 1);
    assert_int_equal(ks_delete(k, "hash", 4), 1);
    assert_int_equal(kv_used_memory(), mem0);

    l = ks_add_list(k, "list", 4);
    push_s(l, LIST_TAIL, "x");
    assert_int_equal(ks_delete(k, "list", 4), 1);
    assert_int_equal(kv_used_memory(), mem0);
}

/* SET key <a view of that key's own list element / hash value / string>
 * works: the value is read before the old one is freed. */
static void test_set_from_views_of_same_key(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    kobj *l = ks_add_list(k, "k", 1);
    push_s(l, LIST_TAIL, "element zero");
    const char *p;
    size_t n;
    list_get(kobj_list(l), 0, &p, &n);
    ks_set_string(k, "k", 1, p, n, 0);
    assert_str_s(k, "k", "element zero");

    ks_delete(k, "k", 1);
    kobj *h = ks_add_hash(k, "k", 1);
    hash_set(kobj_hash(h), "f", 1, "hash value", 10);
    hash_get(kobj_hash(h), "f", 1, &p, &n);
    ks_set_string(k, "k", 1, p, n, 0);
    assert_str_s(k, "k", "hash value");

    /* Its own string bytes, as a shorter and as a same-length value, and
     * its own key bytes as the key argument. */
    kobj *o = set_s(k, "k", "0123456789");
    ks_set_expire(k, o, 1000);
    o = find_s(k, "k");
    p = kobj_str(o, &n);
    ks_set_string(k, "k", 1, p + 2, 5, 0);
    assert_str_s(k, "k", "23456");
    o = find_s(k, "k");
    p = kobj_str(o, &n);
    size_t kl;
    const char *kp = kobj_key(o, &kl);
    ks_set_string(k, kp, kl, p, n, 0);
    assert_str_s(k, "k", "23456");
    assert_int_equal(ks_expires(k), 0);
}

/* ---- Tests: TTLs and the expiry index ---- */

/* Setting, updating and removing a TTL on strings, lists and hashes keeps
 * kobj_expire and ks_expires right; SET drops a TTL unless KEEPTTL. */
static void test_ttl_set_update_persist(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    kobj *s = set_s(k, "s", "value");
    s = ks_set_expire(k, s, 5000);
    assert_ptr_equal(find_s(k, "s"), s);
    assert_int_equal(kobj_expire(s), 5000);
    assert_int_equal(ks_expires(k), 1);
    assert_str_s(k, "s", "value");
    kobj *same = ks_set_expire(k, s, 6000);
    assert_ptr_equal(same, s);
    assert_int_equal(kobj_expire(s), 6000);
    assert_int_equal(ks_expires(k), 1);
    s = ks_set_expire(k, s, -1);
    assert_int_equal(kobj_expire(s), -1);
    assert_int_equal(ks_expires(k), 0);
    assert_str_s(k, "s", "value");
    s = ks_set_expire(k, s, -1); /* persist without a TTL: no-op */
    s = ks_set_expire(k, s, 0);  /* 0 is a valid (past) time */
    assert_int_equal(kobj_expire(s), 0);
    assert_int_equal(ks_expires(k), 1);

    kobj *l = ks_add_list(k, "l", 1);
    push_s(l, LIST_TAIL, "x");
    l = ks_set_expire(k, l, 7000);
    assert_int_equal(kobj_expire(find_s(k, "l")), 7000);
    assert_int_equal(list_len(kobj_list(l)), 1);
    kobj *h = ks_add_hash(k, "h", 1);
    hash_set(kobj_hash(h), "f", 1, "v", 1);
    h = ks_set_expire(k, h, 8000);
    assert_int_equal(kobj_expire(find_s(k, "h")), 8000);
    assert_int_equal(hash_len(kobj_hash(h)), 1);
    assert_int_equal(ks_expires(k), 3);

    /* SET keeps the TTL only with KEEPTTL, whatever the value's size. */
    char big[300];
    memset(big, 'q', sizeof big);
    s = ks_set_string(k, "s", 1, "v2", 2, KS_KEEPTTL);
    assert_int_equal(kobj_expire(s), 0);
    s = ks_set_string(k, "s", 1, big, sizeof big, KS_KEEPTTL);
    assert_int_equal(kobj_expire(s), 0);
    assert_int_equal(ks_expires(k), 3);
    s = ks_set_string(k, "s", 1, "v3", 2, 0);
    assert_int_equal(kobj_expire(s), -1);
    assert_int_equal(ks_expires(k), 2);
    l = ks_set_string(k, "l", 1, big, sizeof big, 0);
    assert_int_equal(kobj_expire(l), -1);
    h = ks_set_string(k, "h", 1, "x", 1, KS_KEEPTTL);
    assert_int_equal(kobj_expire(h), 8000);
    assert_int_equal(ks_expires(k), 1);
    assert_str_s(k, "h", "x");
}

/* Keys with TTLs that move in memory (TTL added, values resized or
 * replaced with KEEPTTL) stay correctly indexed: the expiry cycle later
 * finds and deletes exactly them, by the right names. */
static void test_ttl_index_follows_moves(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    enum { N = 2000 };
    for (size_t i = 0; i < N; i++)
        set_numbered(k, i, i % 2 ? 100 : -1); /* odd keys expire at 100 */
    assert_int_equal(ks_expires(k), N / 2);
    char big[600];
    memset(big, 'm', sizeof big);
    for (size_t i = 0; i < N; i++) {
        char kb[32];
        int kl = snprintf(kb, sizeof kb, "key:%zu", i);
        kobj *o = ks_find(k, kb, (size_t)kl);
        switch (i % 4) {
        case 1: { /* TTL + resize (realloc moves it) */
            char *p = ks_string_resize(k, &o, 500 + i);
            p[0] = 'R';
            break;
        }
        case 3: /* TTL + replace with a bigger value keeping the TTL */
            o = ks_set_string(k, kb, (size_t)kl, big, sizeof big, KS_KEEPTTL);
            assert_int_equal(kobj_expire(o), 100);
            break;
        case 2: /* no TTL: resize, then give it one */
            ks_string_resize(k, &o, 700);
            ks_set_expire(k, o, 50);
            break;
        default:
            break;
        }
    }
    assert_int_equal(ks_expires(k), N / 2 + N / 4);
    recorder r = {0};
    assert_int_equal(ks_expire_cycle(k, 99, 1000000, record_delete, &r), N / 4);
    for (size_t i = 0; i < N; i++) {
        char kb[32];
        snprintf(kb, sizeof kb, "key:%zu", i);
        assert_int_equal(recorded(&r, kb), i % 4 == 2);
    }
    recorder_reset(&r);
    assert_int_equal(ks_expire_cycle(k, 100, 1000000, record_delete, &r), N / 2);
    for (size_t i = 0; i < N; i++) {
        char kb[32];
        snprintf(kb, sizeof kb, "key:%zu", i);
        assert_int_equal(recorded(&r, kb), i % 2 == 1);
        assert_int_equal(find_s(k, kb) != NULL, i % 4 == 0);
    }
    assert_int_equal(ks_expires(k), 0);
    assert_int_equal(ks_size(k), N / 4);
    recorder_free(&r);
}

/* RENAME moves value and TTL to the new name, replaces what was there
 * (with or without its own TTL), and keeps the expiry index consistent;
 * the cycle later deletes the key under its new name. */
static void test_rename(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    kobj *s = set_s(k, "src", "payload");
    s = ks_set_expire(k, s, 10);
    kobj *dst = set_s(k, "dst", "old");
    ks_set_expire(k, dst, 99999);
    assert_int_equal(ks_expires(k), 2);
    kobj *n = ks_rename(k, s, "dst", 3);
    assert_null(find_s(k, "src"));
    assert_ptr_equal(find_s(k, "dst"), n);
    assert_str_s(k, "dst", "payload");
    assert_int_equal(kobj_expire(n), 10);
    assert_int_equal(ks_expires(k), 1);
    assert_int_equal(ks_size(k), 1);

    /* A list without TTL over a hash with TTL: TTL gone with the hash. */
    kobj *l = ks_add_list(k, "L", 1);
    push_s(l, LIST_TAIL, "one");
    push_s(l, LIST_TAIL, "two");
    kobj *h = ks_add_hash(k, "H", 1);
    hash_set(kobj_hash(h), "f", 1, "v", 1);
    ks_set_expire(k, h, 5);
    assert_int_equal(ks_expires(k), 2);
    l = ks_rename(k, l, "H", 1);
    assert_int_equal(kobj_type(l), KT_LIST);
    assert_int_equal(list_len(kobj_list(l)), 2);
    assert_int_equal(kobj_expire(l), -1);
    assert_int_equal(ks_expires(k), 1);
    assert_null(find_s(k, "L"));

    /* A hash with TTL to a new, longer name; a raw string keeps "raw". */
    h = ks_add_hash(k, "h2", 2);
    hash_set(kobj_hash(h), "a", 1, "b", 1);
    h = ks_set_expire(k, h, 20);
    h = ks_rename(k, h, "a-much-longer-key-name-than-before", 34);
    assert_int_equal(kobj_expire(h), 20);
    assert_int_equal(hash_len(kobj_hash(h)), 1);
    kobj *r = set_s(k, "raw", "12");
    ks_string_resize(k, &r, 2);
    r = ks_rename(k, r, "raw2", 4);
    assert_string_equal(kobj_encoding(r), "raw");
    assert_int_equal(ks_expires(k), 2);

    recorder rec = {0};
    assert_int_equal(ks_expire_cycle(k, 1000, 1000, record_delete, &rec), 2);
    assert_int_equal(recorded(&rec, "dst"), 1);
    assert_int_equal(recorded(&rec, "a-much-longer-key-name-than-before"), 1);
    assert_int_equal(ks_expires(k), 0);
    assert_int_equal(ks_size(k), 2); /* "H" and "raw2" */
    recorder_free(&rec);
}

/* COPY makes an independent deep copy with the TTL and encoding, replaces
 * the destination, and copying a key onto itself changes nothing. */
static void test_copy(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    kobj *l = ks_add_list(k, "l", 1);
    push_s(l, LIST_TAIL, "a");
    push_s(l, LIST_TAIL, "b");
    l = ks_set_expire(k, l, 77);
    set_s(k, "l2", "to be replaced");
    kobj *c = ks_copy(k, l, "l2", 2);
    assert_int_equal(kobj_type(c), KT_LIST);
    assert_int_equal(kobj_expire(c), 77);
    assert_int_equal(ks_expires(k), 2);
    list_set(kobj_list(c), 0, "changed", 7);
    const char *p;
    size_t n;
    list_get(kobj_list(find_s(k, "l")), 0, &p, &n);
    assert_int_equal(n, 1);
    assert_memory_equal(p, "a", 1);

    kobj *h = ks_add_hash(k, "h", 1);
    for (int i = 0; i < 200; i++) {
        char fb[16];
        int fl = snprintf(fb, sizeof fb, "f%d", i);
        hash_set(kobj_hash(h), fb, (size_t)fl, "v", 1);
    }
    for (int i = 0; i < 198; i++) {
        char fb[16];
        int fl = snprintf(fb, sizeof fb, "f%d", i);
        hash_del(kobj_hash(h), fb, (size_t)fl);
    }
    kobj *hc = ks_copy(k, h, "hc", 2);
    assert_string_equal(kobj_encoding(hc), "hashtable");
    assert_int_equal(hash_len(kobj_hash(hc)), 2);
    assert_int_equal(kobj_expire(hc), -1);

    kobj *s = set_s(k, "s", "string value");
    s = ks_set_expire(k, s, 5);
    kobj *sc = ks_copy(k, s, "sc", 2);
    assert_str_s(k, "sc", "string value");
    assert_int_equal(kobj_expire(sc), 5);
    assert_int_equal(ks_expires(k), 4);
    s = find_s(k, "s");
    assert_ptr_equal(ks_copy(k, s, "s", 1), s);
    assert_int_equal(ks_size(k), 6);

    char d1[41], d2[41];
    digest(k, d1);
    ks_delete(k, "sc", 2);
    ks_copy(k, find_s(k, "s"), "sc", 2);
    digest(k, d2);
    assert_string_equal(d1, d2);
}

/* Deleting keys with TTLs and clearing the keyspace drop their index
 * entries; the cycle works afterwards and memory is all given back. */
static void test_delete_and_clear_with_ttl(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    size_t mem0 = kv_used_memory();
    for (size_t i = 0; i < 1000; i++)
        set_numbered(k, i, (int64_t)i);
    assert_int_equal(ks_expires(k), 1000);
    for (size_t i = 0; i < 1000; i += 2) {
        char kb[32];
        int kl = snprintf(kb, sizeof kb, "key:%zu", i);
        assert_int_equal(ks_delete(k, kb, (size_t)kl), 1);
    }
    assert_int_equal(ks_expires(k), 500);
    assert_int_equal(ks_expire_cycle(k, 99, 100000, NULL, NULL), 50);
    assert_int_equal(ks_expires(k), 450);
    ks_clear(k);
    assert_int_equal(ks_size(k), 0);
    assert_int_equal(ks_expires(k), 0);
    assert_int_equal(kv_used_memory(), mem0);
    assert_int_equal(ks_expire_cycle(k, INT64_MAX, 100, NULL, NULL), 0);
    set_numbered(k, 1, 1);
    assert_int_equal(ks_expire_cycle(k, 1, 100, NULL, NULL), 1);
    assert_int_equal(ks_size(k), 0);
}

/* ---- Tests: active expiry ---- */

/* With enough samples the cycle removes exactly the keys whose expiry is
 * <= now (not later ones, not keys without TTL), calling before_delete
 * once for each, before it is deleted. */
static ks *g_check_ks;

static void check_still_present(void *arg, const char *key, size_t klen)
{
    assert_non_null(ks_find(g_check_ks, key, klen));
    record_delete(arg, key, klen);
}

static void test_expire_cycle_exact(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    enum { N = 1000 };
    for (size_t i = 0; i < N; i++) {
        int64_t e = i < 300 ? (int64_t)(i % 100) : i < 600 ? 101 + (int64_t)i : -1;
        set_numbered(k, i, e);
    }
    set_numbered(k, N, 100); /* expiry == now counts as expired */
    kobj *l = ks_add_list(k, "key:1001", 8);
    push_s(l, LIST_TAIL, "x");
    ks_set_expire(k, l, 50);
    kobj *h = ks_add_hash(k, "key:1002", 8);
    hash_set(kobj_hash(h), "f", 1, "v", 1);
    ks_set_expire(k, h, 100000);
    recorder r = {0};
    g_check_ks = k;
    size_t removed = ks_expire_cycle(k, 100, 1u << 20, check_still_present, &r);
    assert_int_equal(removed, 302);
    assert_int_equal(r.n, 302);
    for (size_t i = 0; i <= N + 2; i++) {
        char kb[32];
        snprintf(kb, sizeof kb, "key:%zu", i);
        int expired = i < 300 || i == N || i == N + 1;
        assert_int_equal(recorded(&r, kb), expired);
        assert_int_equal(find_s(k, kb) == NULL, expired);
    }
    assert_int_equal(ks_expires(k), 301);
    assert_int_equal(ks_size(k), N + 3 - 302);
    /* Nothing more is due. */
    assert_int_equal(ks_expire_cycle(k, 100, 1u << 20, NULL, NULL), 0);
    recorder_free(&r);
}

/* One call with samples=N looks at about N keys: with every key expired it
 * removes at least N and at most N plus one bucket's worth. */
static void test_expire_cycle_bounded(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    enum { KEYS = 20000, SAMPLES = 100 };
    for (size_t i = 0; i < KEYS; i++)
        set_numbered(k, i, 1);
    size_t total = 0, calls = 0;
    while (ks_expires(k) > 0) {
        size_t before = ks_expires(k);
        size_t removed = ks_expire_cycle(k, 1000, SAMPLES, NULL, NULL);
        calls++;
        assert_int_equal(before - ks_expires(k), removed);
        assert_true(removed <= SAMPLES + 16);
        if (before >= SAMPLES + 16)
            assert_true(removed >= SAMPLES);
        assert_true(removed >= 1);
        total += removed;
    }
    assert_int_equal(total, KEYS);
    assert_true(calls >= KEYS / (SAMPLES + 16));
    assert_int_equal(ks_size(k), 0);
}

/* The cycle resumes where it stopped: 200 expired keys hidden among 20000
 * unexpired ones are all found within about one pass of small calls,
 * which a cycle restarting from the beginning would never manage. */
static void test_expire_cycle_resumes(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    enum { KEYS = 20000, DUE = 200, SAMPLES = 1000 };
    for (size_t i = 0; i < KEYS; i++)
        set_numbered(k, i, 1000000);
    for (size_t i = KEYS; i < KEYS + DUE; i++)
        set_numbered(k, i, 5);
    size_t removed = 0, calls = 0;
    while (removed < DUE && calls < 100) {
        removed += ks_expire_cycle(k, 10, SAMPLES, NULL, NULL);
        calls++;
    }
    assert_int_equal(removed, DUE);
    assert_true(calls <= (KEYS + DUE) / SAMPLES + 2);
    assert_int_equal(ks_size(k), KEYS);

    /* A call over an index with nothing due stops after one pass. */
    ks_clear(k);
    for (size_t i = 0; i < 50; i++)
        set_numbered(k, i, 1000000);
    assert_int_equal(ks_expire_cycle(k, 10, 1000000, NULL, NULL), 0);
    assert_int_equal(ks_size(k), 50);
}

/* DEBUG DIGEST-VALUE's digest: the value and whether there is a TTL, not
 * the key's name (a COPY digests as its source); all zeros for no key. */
static void test_digest_value(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    char a[41], b[41];
    ks_digest_value(NULL, a);
    assert_string_equal(a, "0000000000000000000000000000000000000000");
    ks_digest_value(set_s(k, "src", "hello"), a);
    ks_digest_value(set_s(k, "copy", "hello"), b);
    assert_string_equal(a, b);
    ks_digest_value(set_s(k, "other", "hellp"), b);
    assert_string_not_equal(a, b);
    /* A TTL counts, its time does not. */
    kobj *o = ks_set_expire(k, find_s(k, "copy"), 100000);
    ks_digest_value(o, b);
    assert_string_not_equal(a, b);
    ks_digest_value(ks_set_expire(k, find_s(k, "src"), 200000), a);
    assert_string_equal(a, b);
    /* Same bytes, other type. */
    kobj *l = ks_add_list(k, "l", 1);
    push_s(l, 1, "hello");
    ks_digest_value(l, b);
    assert_string_not_equal(a, b);
}

/* RANDOMKEY's pick (ks_random_fair): NULL when empty, every key of a small
 * keyspace about equally likely (chi-square of 10000 draws over 10 keys
 * < 40, the bound Redis's Tcl suite uses for its random commands). */
static void test_random_fair(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    assert_null(ks_random_fair(k, 7));
    char name[2] = {0};
    for (int i = 0; i < 10; i++) {
        name[0] = (char)('a' + i);
        set_s(k, name, "v");
    }
    enum { DRAWS = 10000 };
    unsigned hits[10] = {0};
    for (int i = 0; i < DRAWS; i++) {
        size_t klen;
        const char *key = kobj_key(ks_random_fair(k, rng()), &klen);
        hits[key[0] - 'a']++;
    }
    double chi = 0, expect = DRAWS / 10.0;
    for (int i = 0; i < 10; i++)
        chi += (hits[i] - expect) * (hits[i] - expect) / expect;
    assert_true(chi < 40);
}

/* ---- Tests: digest, random, scan, iteration ---- */

static void build_sample(ks *k, int reverse)
{
    hash_max_listpack_entries = 128;
    for (int j = 0; j < 50; j++) {
        int i = reverse ? 49 - j : j;
        char kb[16], vb[32];
        int kl = snprintf(kb, sizeof kb, "s%d", i);
        int vl = snprintf(vb, sizeof vb, "v%d", i * 7);
        kobj *o = ks_set_string(k, kb, (size_t)kl, vb, (size_t)vl, 0);
        if (i % 5 == 0)
            ks_set_expire(k, o, 1000 + i);
    }
    /* e0..e9, built from the tail or (reverse) from the head. */
    kobj *l = ks_add_list(k, "list", 4);
    for (int j = 0; j < 10; j++) {
        char vb[8];
        int i = reverse ? 9 - j : j;
        int vl = snprintf(vb, sizeof vb, "e%d", i);
        list_push(kobj_list(l), reverse ? LIST_HEAD : LIST_TAIL, vb, (size_t)vl);
    }
    kobj *h = ks_add_hash(k, "hash", 4);
    for (int j = 0; j < 20; j++) {
        int i = reverse ? 19 - j : j;
        char fb[8], vb[8];
        int fl = snprintf(fb, sizeof fb, "f%d", i);
        int vl = snprintf(vb, sizeof vb, "%d", i);
        hash_set(kobj_hash(h), fb, (size_t)fl, vb, (size_t)vl);
    }
}

/* Equal contents built in different orders (keys, hash fields, a hash in
 * the other encoding, a list built differently) give equal digests; any
 * single change — a value byte, a TTL, a key name, list order, a hash
 * value, a type, one key more or less — changes it, and undoing the change
 * restores it. */
static void test_digest(void **state)
{
    fixture *f = *state;
    ks *a = f->k, *b = ks_new();
    build_sample(a, 0);
    build_sample(b, 1);
    char da[41], db[41], dc[41];
    digest(a, da);
    digest(b, db);
    assert_string_equal(da, db);
    assert_string_not_equal(da, "0000000000000000000000000000000000000000");

    /* Same hash content in the hashtable encoding. */
    kobj *h = find_s(b, "hash");
    char v100[100];
    memset(v100, 'z', sizeof v100);
    hash_set(kobj_hash(h), "tmp", 3, v100, sizeof v100);
    assert_string_equal(kobj_encoding(h), "hashtable");
    digest(b, dc);
    assert_string_not_equal(dc, da);
    hash_del(kobj_hash(h), "tmp", 3);
    digest(b, db);
    assert_string_equal(da, db);

    /* A value byte. */
    set_s(b, "s3", "v22");
    digest(b, dc);
    assert_string_not_equal(dc, da);
    set_s(b, "s3", "v21");
    digest(b, db);
    assert_string_equal(da, db);
    /* A TTL: changed, removed, added. */
    kobj *o = ks_set_expire(b, find_s(b, "s5"), 1006);
    digest(b, dc);
    assert_string_not_equal(dc, da);
    o = ks_set_expire(b, o, -1);
    digest(b, dc);
    assert_string_not_equal(dc, da);
    ks_set_expire(b, o, 1005);
    o = ks_set_expire(b, find_s(b, "s6"), 1);
    digest(b, dc);
    assert_string_not_equal(dc, da);
    ks_set_expire(b, o, -1);
    digest(b, db);
    assert_string_equal(da, db);
    /* A key name. */
    o = ks_rename(b, find_s(b, "s7"), "s7x", 3);
    digest(b, dc);
    assert_string_not_equal(dc, da);
    ks_rename(b, o, "s7", 2);
    digest(b, db);
    assert_string_equal(da, db);
    /* List order: swap two elements, then swap back. */
    kv_list *l = kobj_list(find_s(b, "list"));
    list_set(l, 0, "e1", 2);
    list_set(l, 1, "e0", 2);
    digest(b, dc);
    assert_string_not_equal(dc, da);
    list_set(l, 0, "e0", 2);
    list_set(l, 1, "e1", 2);
    /* A hash value, and a field moved to another value. */
    kv_hash *hh = kobj_hash(find_s(b, "hash"));
    hash_set(hh, "f3", 2, "4", 1);
    digest(b, dc);
    assert_string_not_equal(dc, da);
    hash_set(hh, "f3", 2, "3", 1);
    digest(b, db);
    assert_string_equal(da, db);
    /* Type: the string "v0" vs a list holding "v0". */
    ks_delete(b, "s0", 2);
    kobj *tl = ks_add_list(b, "s0", 2);
    push_s(tl, LIST_TAIL, "v0");
    ks_set_expire(b, tl, 1000);
    digest(b, dc);
    assert_string_not_equal(dc, da);
    o = set_s(b, "s0", "v0");
    ks_set_expire(b, o, 1000);
    digest(b, db);
    assert_string_equal(da, db);
    /* One key more, one key less. */
    set_s(b, "extra", "");
    digest(b, dc);
    assert_string_not_equal(dc, da);
    ks_delete(b, "extra", 5);
    ks_delete(b, "s1", 2);
    digest(b, dc);
    assert_string_not_equal(dc, da);
    ks_free(b);
}

/* ks_random returns live keys and reaches all of a small keyspace; SCAN
 * reports every key present throughout, while keys are added between
 * calls; the iterator reports each key exactly once. */
static void test_random_scan_iter(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    enum { N = 2000, MORE = 6000 };
    for (size_t i = 0; i < 5; i++)
        set_numbered(k, i, -1);
    unsigned c5[5] = {0};
    idcount ic5 = {c5, 5};
    for (int i = 0; i < 500; i++)
        count_key(&ic5, ks_random(k, rng()));
    for (int i = 0; i < 5; i++)
        assert_true(c5[i] > 0);

    for (size_t i = 5; i < N; i++)
        set_numbered(k, i, i % 3 ? -1 : 5);
    unsigned *c = calloc(N + MORE, sizeof *c);
    idcount ic = {c, N + MORE};
    uint64_t cur = 0;
    size_t next = N;
    do {
        cur = ks_scan(k, cur, count_key, &ic);
        for (int j = 0; j < 30 && next < N + MORE; j++)
            set_numbered(k, next++, -1);
    } while (cur);
    for (size_t i = 0; i < N; i++)
        assert_true(c[i] >= 1);

    memset(c, 0, (N + MORE) * sizeof *c);
    ks_iter it;
    ks_iter_init(&it, k);
    for (kobj *o; (o = ks_iter_next(&it));)
        count_key(&ic, o);
    ks_iter_done(&it);
    for (size_t i = 0; i < next; i++)
        assert_int_equal(c[i], 1);
    for (int i = 0; i < 1000; i++) {
        kobj *o = ks_random(k, rng());
        size_t kl;
        const char *kp = kobj_key(o, &kl);
        assert_ptr_equal(ks_find(k, kp, kl), o);
    }
    ks_rehash_ms(k, 10);
    free(c);
}

/* kobj_mem counts the object, its TTL entry and its list or hash. */
static void test_kobj_mem(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    kobj *o = ks_set_string(k, "0123456789abcdef", 16, "0123456789abcdef0123456789abcdef", 32, 0);
    size_t plain = kobj_mem(o);
    assert_true(plain >= 24 + 16 + 32);
    assert_true(plain <= 24 + 16 + 32 + 32);
    o = ks_set_expire(k, o, 5);
    assert_true(kobj_mem(o) >= plain + 8 + 16);
    char big[1000] = {0};
    o = ks_set_string(k, "0123456789abcdef", 16, big, sizeof big, 0);
    assert_true(kobj_mem(o) >= 1000);
    kobj *l = ks_add_list(k, "l", 1);
    size_t empty = kobj_mem(l);
    for (int i = 0; i < 100; i++)
        list_push(kobj_list(l), LIST_TAIL, big, 100);
    assert_true(kobj_mem(l) >= empty + 100 * 100);
    kobj *h = ks_add_hash(k, "h", 1);
    empty = kobj_mem(h);
    hash_set(kobj_hash(h), big, 50, big, 50);
    assert_true(kobj_mem(h) >= empty + 100);
}

/* ---- Randomized model test ---- */

enum { MKEYS = 64, MT_NONE = -1 };

typedef struct mbytes {
    char *p;
    size_t n;
} mbytes;

typedef struct mval {
    int type; /* MT_NONE or KT_* */
    int raw;  /* string touched by resize */
    int ht;   /* hash converted to hashtable */
    int64_t expire;
    mbytes s;
    mbytes *items; /* list elements, or hash field/value pairs (2 per field) */
    size_t nitems;
} mval;

typedef struct mks {
    mval v[MKEYS];
} mks;

static size_t mkey(size_t id, char *buf)
{
    /* Some names contain NUL bytes; one is empty. */
    if (id == 0)
        return 0;
    if (id % 7 == 0) {
        buf[0] = 'n';
        buf[1] = '\0';
        return 2 + (size_t)sprintf(buf + 2, "%zu", id);
    }
    return (size_t)sprintf(buf, "key%zu", id);
}

static mbytes mb_dup(const void *p, size_t n)
{
    mbytes b = {malloc(n ? n : 1), n};
    memcpy(b.p, p, n);
    return b;
}

static void mval_clear(mval *v)
{
    free(v->s.p);
    for (size_t i = 0; i < v->nitems; i++)
        free(v->items[i].p);
    free(v->items);
    memset(v, 0, sizeof *v);
    v->type = MT_NONE;
    v->expire = -1;
}

static void mval_copy(mval *dst, const mval *src)
{
    mval_clear(dst);
    *dst = *src;
    dst->s = mb_dup(src->s.p ? src->s.p : "", src->s.n);
    dst->items = malloc((src->nitems ? src->nitems : 1) * sizeof *dst->items);
    for (size_t i = 0; i < src->nitems; i++)
        dst->items[i] = mb_dup(src->items[i].p, src->items[i].n);
}

static void items_insert(mval *v, size_t at, mbytes b)
{
    v->items = realloc(v->items, (v->nitems + 1) * sizeof *v->items);
    memmove(v->items + at + 1, v->items + at, (v->nitems - at) * sizeof *v->items);
    v->items[at] = b;
    v->nitems++;
}

static void items_remove(mval *v, size_t at, size_t count)
{
    for (size_t i = at; i < at + count; i++)
        free(v->items[i].p);
    memmove(v->items + at, v->items + at + count, (v->nitems - at - count) * sizeof *v->items);
    v->nitems -= count;
}

static ptrdiff_t mhash_find(const mval *v, const char *f, size_t flen)
{
    for (size_t i = 0; i < v->nitems; i += 2)
        if (v->items[i].n == flen && memcmp(v->items[i].p, f, flen) == 0)
            return (ptrdiff_t)i;
    return -1;
}

static const char *expected_encoding(const mval *v)
{
    if (v->type == KT_LIST)
        return "quicklist";
    if (v->type == KT_HASH)
        return v->ht ? "hashtable" : "listpack";
    if (v->raw)
        return "raw";
    /* Independent of the implementation: canonical iff it round-trips. */
    if (v->s.n > 0 && v->s.n <= 20) {
        char b[32], out[32];
        memcpy(b, v->s.p, v->s.n);
        b[v->s.n] = '\0';
        char *end;
        errno = 0;
        long long x = strtoll(b, &end, 10);
        snprintf(out, sizeof out, "%lld", x);
        if (errno == 0 && *end == '\0' && strlen(b) == v->s.n && strcmp(out, b) == 0)
            return "int";
    }
    return v->s.n <= 44 ? "embstr" : "raw";
}

static size_t mks_count(const mks *m, int ttl_only)
{
    size_t n = 0;
    for (size_t i = 0; i < MKEYS; i++)
        n += m->v[i].type != MT_NONE && (!ttl_only || m->v[i].expire >= 0);
    return n;
}

static void assert_key_matches(ks *k, const mks *m, size_t id)
{
    char kb[32];
    size_t kl = mkey(id, kb);
    const mval *v = &m->v[id];
    kobj *o = ks_find(k, kb, kl);
    if (v->type == MT_NONE) {
        assert_null(o);
        return;
    }
    assert_non_null(o);
    assert_int_equal(kobj_type(o), v->type);
    assert_int_equal(kobj_expire(o), v->expire);
    assert_string_equal(kobj_encoding(o), expected_encoding(v));
    if (v->type == KT_STRING) {
        size_t n;
        const char *p = kobj_str(o, &n);
        assert_int_equal(n, v->s.n);
        assert_memory_equal(p, v->s.p, n);
    } else if (v->type == KT_LIST) {
        kv_list *l = kobj_list(o);
        assert_int_equal(list_len(l), v->nitems);
        for (size_t i = 0; i < v->nitems; i++) {
            const char *p;
            size_t n;
            list_get(l, i, &p, &n);
            assert_int_equal(n, v->items[i].n);
            assert_memory_equal(p, v->items[i].p, n);
        }
    } else {
        kv_hash *h = kobj_hash(o);
        assert_int_equal(hash_len(h), v->nitems / 2);
        for (size_t i = 0; i < v->nitems; i += 2) {
            const char *p;
            size_t n;
            assert_int_equal(hash_get(h, v->items[i].p, v->items[i].n, &p, &n), 1);
            assert_int_equal(n, v->items[i + 1].n);
            assert_memory_equal(p, v->items[i + 1].p, n);
        }
    }
}

/* Build a fresh keyspace holding the model's content, keys in reverse. */
static ks *mks_build(const mks *m)
{
    ks *k = ks_new();
    for (size_t j = MKEYS; j-- > 0;) {
        const mval *v = &m->v[j];
        char kb[32];
        size_t kl = mkey(j, kb);
        kobj *o = NULL;
        if (v->type == KT_STRING) {
            o = ks_set_string(k, kb, kl, v->s.p, v->s.n, 0);
        } else if (v->type == KT_LIST) {
            o = ks_add_list(k, kb, kl);
            for (size_t i = v->nitems; i-- > 0;)
                list_push(kobj_list(o), LIST_HEAD, v->items[i].p, v->items[i].n);
        } else if (v->type == KT_HASH) {
            o = ks_add_hash(k, kb, kl);
            for (size_t i = v->nitems; i > 0; i -= 2)
                hash_set(kobj_hash(o), v->items[i - 2].p, v->items[i - 2].n, v->items[i - 1].p,
                         v->items[i - 1].n);
        }
        if (o && v->expire >= 0)
            ks_set_expire(k, o, v->expire);
    }
    return k;
}

static void assert_matches(ks *k, const mks *m)
{
    assert_int_equal(ks_size(k), mks_count(m, 0));
    assert_int_equal(ks_expires(k), mks_count(m, 1));
    for (size_t i = 0; i < MKEYS; i++)
        assert_key_matches(k, m, i);
    size_t seen = 0;
    ks_iter it;
    ks_iter_init(&it, k);
    while (ks_iter_next(&it))
        seen++;
    ks_iter_done(&it);
    assert_int_equal(seen, ks_size(k));
    ks *fresh = mks_build(m);
    char d1[41], d2[41];
    ks_digest(k, d1);
    ks_digest(fresh, d2);
    assert_string_equal(d1, d2);
    ks_free(fresh);
}

static size_t rand_value(char *buf, size_t cap)
{
    uint64_t r = rng() % 10;
    if (r == 0)
        return (size_t)snprintf(buf, cap, "%" PRId64, (int64_t)rng() >> (rng() % 64));
    size_t n = r < 8 ? (size_t)(rng() % 20) : (size_t)(rng() % 300);
    if (n > cap)
        n = cap;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)rng();
    return n;
}

/* When a list or hash becomes empty, the command layer deletes the key. */
static void drop_if_empty(ks *k, mks *m, size_t id)
{
    if (m->v[id].nitems == 0) {
        char kb[32];
        size_t kl = mkey(id, kb);
        assert_int_equal(ks_delete(k, kb, kl), 1);
        mval_clear(&m->v[id]);
    }
}

typedef struct cycle_check {
    mks *m;
    int64_t now;
    size_t calls;
} cycle_check;

static void model_before_delete(void *arg, const char *key, size_t klen)
{
    cycle_check *c = arg;
    c->calls++;
    for (size_t i = 0; i < MKEYS; i++) {
        char kb[32];
        size_t kl = mkey(i, kb);
        if (kl == klen && memcmp(kb, key, kl) == 0) {
            assert_int_not_equal(c->m->v[i].type, MT_NONE);
            assert_true(c->m->v[i].expire >= 0 && c->m->v[i].expire <= c->now);
            mval_clear(&c->m->v[i]);
            return;
        }
    }
    fail_msg("before_delete for an unknown key");
}

static void op_list(ks *k, mks *m, size_t id, char *buf)
{
    char kb[32];
    size_t kl = mkey(id, kb);
    mval *v = &m->v[id];
    if (v->type != KT_LIST)
        return;
    kv_list *l = kobj_list(ks_find(k, kb, kl));
    size_t n = rand_value(buf, 200);
    switch (rng() % 5) {
    case 0:
        list_push(l, LIST_HEAD, buf, n);
        items_insert(v, 0, mb_dup(buf, n));
        break;
    case 1:
        list_push(l, LIST_TAIL, buf, n);
        items_insert(v, v->nitems, mb_dup(buf, n));
        break;
    case 2: {
        size_t at = (size_t)(rng() % (v->nitems + 1));
        list_insert(l, at, buf, n);
        items_insert(v, at, mb_dup(buf, n));
        break;
    }
    case 3: {
        size_t at = (size_t)(rng() % v->nitems);
        list_set(l, at, buf, n);
        free(v->items[at].p);
        v->items[at] = mb_dup(buf, n);
        break;
    }
    default: {
        size_t at = (size_t)(rng() % v->nitems);
        size_t cnt = 1 + (size_t)(rng() % (v->nitems - at));
        list_remove(l, at, cnt);
        items_remove(v, at, cnt);
        drop_if_empty(k, m, id);
        break;
    }
    }
}

static void op_hash(ks *k, mks *m, size_t id, char *buf)
{
    char kb[32], fb[8];
    size_t kl = mkey(id, kb);
    mval *v = &m->v[id];
    if (v->type != KT_HASH)
        return;
    kv_hash *h = kobj_hash(ks_find(k, kb, kl));
    size_t fl = (size_t)snprintf(fb, sizeof fb, "f%u", (unsigned)(rng() % 12));
    if (rng() % 3) {
        size_t n = rand_value(buf, 40);
        ptrdiff_t at = mhash_find(v, fb, fl);
        assert_int_equal(hash_set(h, fb, fl, buf, n), at < 0);
        if (at >= 0) {
            free(v->items[at + 1].p);
            v->items[at + 1] = mb_dup(buf, n);
        } else {
            items_insert(v, v->nitems, mb_dup(fb, fl));
            items_insert(v, v->nitems, mb_dup(buf, n));
        }
        if (n > hash_max_listpack_value || v->nitems / 2 > hash_max_listpack_entries)
            v->ht = 1;
    } else {
        ptrdiff_t at = mhash_find(v, fb, fl);
        assert_int_equal(hash_del(h, fb, fl), at >= 0);
        if (at >= 0) {
            items_remove(v, (size_t)at, 2);
            drop_if_empty(k, m, id);
        }
    }
}

static void op_create_container(ks *k, mks *m, size_t id, char *buf)
{
    char kb[32];
    size_t kl = mkey(id, kb);
    mval *v = &m->v[id];
    if (v->type != MT_NONE)
        return;
    size_t n = rand_value(buf, 30);
    if (rng() % 2) {
        kobj *o = ks_add_list(k, kb, kl);
        list_push(kobj_list(o), LIST_TAIL, buf, n);
        v->type = KT_LIST;
        items_insert(v, 0, mb_dup(buf, n));
    } else {
        kobj *o = ks_add_hash(k, kb, kl);
        hash_set(kobj_hash(o), "f0", 2, buf, n);
        v->type = KT_HASH;
        v->ht = n > hash_max_listpack_value;
        items_insert(v, 0, mb_dup("f0", 2));
        items_insert(v, 1, mb_dup(buf, n));
    }
}

static void op_string(ks *k, mks *m, size_t id, char *buf)
{
    char kb[32];
    size_t kl = mkey(id, kb);
    mval *v = &m->v[id];
    if (v->type == KT_STRING && rng() % 3 == 0) {
        kobj *o = ks_find(k, kb, kl);
        size_t newlen = rng() % 4 ? v->s.n + (size_t)(rng() % 50) : (size_t)(rng() % 400);
        char *p = ks_string_resize(k, &o, newlen);
        v->s.p = realloc(v->s.p, newlen ? newlen : 1);
        if (newlen > v->s.n)
            memset(v->s.p + v->s.n, 0, newlen - v->s.n);
        v->s.n = newlen;
        if (newlen) {
            size_t at = (size_t)(rng() % newlen);
            p[at] = v->s.p[at] = (char)rng();
        }
        v->raw = 1;
        assert_ptr_equal(ks_find(k, kb, kl), o);
        return;
    }
    size_t n = rand_value(buf, 300);
    int keep = (int)(rng() % 2);
    int64_t expire = keep && v->type != MT_NONE ? v->expire : -1;
    ks_set_string(k, kb, kl, buf, n, keep ? KS_KEEPTTL : 0);
    mval_clear(v);
    v->type = KT_STRING;
    v->s = mb_dup(buf, n);
    v->expire = expire;
}

/* Tens of thousands of random calls across the whole API — strings,
 * resizes, lists, hashes, TTLs, renames, copies, deletes, expiry cycles,
 * random picks, rehash work, occasional FLUSHALL — agree with a plain
 * model: contents, types, TTLs, encodings, counts and the digest of an
 * independently rebuilt keyspace are compared every 250 operations. */
static void test_randomized_model(void **state)
{
    fixture *f = *state;
    ks *k = f->k;
    hash_max_listpack_entries = 8;
    hash_max_listpack_value = 32;
    mks *m = calloc(1, sizeof *m);
    for (size_t i = 0; i < MKEYS; i++)
        mval_clear(&m->v[i]);
    static char buf[1024];
    int64_t now = 1000;
    size_t cycles_removed = 0;
    for (int step = 0; step < 40000; step++) {
        size_t id = (size_t)(rng() % MKEYS);
        char kb[32];
        size_t kl = mkey(id, kb);
        mval *v = &m->v[id];
        uint64_t op = rng() % 100;
        if (op < 22) {
            op_string(k, m, id, buf);
        } else if (op < 30) {
            op_create_container(k, m, id, buf);
        } else if (op < 42) {
            op_list(k, m, id, buf);
        } else if (op < 54) {
            op_hash(k, m, id, buf);
        } else if (op < 58) {
            assert_int_equal(ks_delete(k, kb, kl), v->type != MT_NONE);
            mval_clear(v);
        } else if (op < 68 && v->type != MT_NONE) {
            int64_t at = rng() % 4 ? now + (int64_t)(rng() % 200) - 50 : -1;
            kobj *o = ks_set_expire(k, ks_find(k, kb, kl), at);
            assert_ptr_equal(ks_find(k, kb, kl), o);
            v->expire = at < 0 ? -1 : at;
        } else if (op < 74 && v->type != MT_NONE) {
            size_t dst = (size_t)(rng() % MKEYS);
            if (dst == id)
                continue;
            char db[32];
            size_t dl = mkey(dst, db);
            kobj *o = ks_rename(k, ks_find(k, kb, kl), db, dl);
            assert_ptr_equal(ks_find(k, db, dl), o);
            mval_clear(&m->v[dst]);
            m->v[dst] = *v;
            memset(v, 0, sizeof *v);
            mval_clear(v);
        } else if (op < 80 && v->type != MT_NONE) {
            size_t dst = (size_t)(rng() % MKEYS);
            char db[32];
            size_t dl = mkey(dst, db);
            ks_copy(k, ks_find(k, kb, kl), db, dl);
            if (dst != id)
                mval_copy(&m->v[dst], v);
        } else if (op < 90) {
            now += (int64_t)(rng() % 8);
            cycle_check c = {m, now, 0};
            size_t samples = 1 + (size_t)(rng() % 20);
            size_t removed = ks_expire_cycle(k, now, samples, model_before_delete, &c);
            assert_int_equal(removed, c.calls);
            cycles_removed += removed;
        } else if (op < 96) {
            kobj *o = ks_random(k, rng());
            if (mks_count(m, 0) == 0) {
                assert_null(o);
            } else {
                size_t rl;
                const char *rk = kobj_key(o, &rl);
                assert_ptr_equal(ks_find(k, rk, rl), o);
            }
        } else if (op < 99) {
            ks_rehash_ms(k, 0);
        } else if (rng() % 20 == 0) {
            ks_clear(k);
            for (size_t i = 0; i < MKEYS; i++)
                mval_clear(&m->v[i]);
        }
        if (step % 250 == 0)
            assert_matches(k, m);
    }
    assert_matches(k, m);
    assert_true(cycles_removed > 100);
    /* Finally everything due goes, and only that. */
    cycle_check c = {m, now + 1000, 0};
    ks_expire_cycle(k, now + 1000, 1u << 20, model_before_delete, &c);
    assert_int_equal(ks_expires(k), 0);
    assert_matches(k, m);
    for (size_t i = 0; i < MKEYS; i++)
        mval_clear(&m->v[i]);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1_vectors),
        cmocka_unit_test_setup_teardown(test_empty_keyspace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefetch_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_reuses_allocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encodings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noint_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refcount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_resize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containers_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_from_views_of_same_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_set_update_persist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_index_follows_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_clear_with_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_cycle_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_cycle_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_cycle_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_fair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_scan_iter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kobj_mem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_randomized_model, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
