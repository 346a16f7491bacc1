/* test_thash.c — the hash value type: get/set/del at every position of
 * both encodings, listpack order rules, conversion thresholds (entries,
 * field and value length) and that conversion is one-way, iteration, HSCAN
 * and random coverage, views into the same hash as arguments, hash_dup,
 * a small hash's footprint, and a randomized run against an array model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "thash.h"

/* ---- Fixture ---- */

typedef struct fixture {
    kv_hash *h;
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
    f->h = hash_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hash_free(f->h);
    hash_max_listpack_entries = f->max_entries;
    hash_max_listpack_value = f->max_value;
    assert_int_equal(kv_used_memory(), f->mem_before);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int set_str(kv_hash *h, const char *f, const char *v)
{
    return hash_set(h, f, strlen(f), v, strlen(v));
}

static void assert_field(kv_hash *h, const char *f, size_t flen, const char *want, size_t wlen)
{
    const char *v;
    size_t vlen;
    assert_int_equal(hash_get(h, f, flen, &v, &vlen), 1);
    assert_int_equal(vlen, wlen);
    assert_memory_equal(v, want, wlen);
}

#define assert_field_str(h, f, v) assert_field((h), (f), strlen(f), (v), strlen(v))

static void assert_no_field(kv_hash *h, const char *f)
{
    const char *v = NULL;
    size_t vlen = 0;
    assert_int_equal(hash_get(h, f, strlen(f), &v, &vlen), 0);
}

/* Iteration yields exactly these pairs in this order (fields[i] -> values[i]). */
static void assert_order(kv_hash *h, const char *const *fields, const char *const *values,
                         size_t n)
{
    hash_iter it;
    const char *f, *v;
    size_t flen, vlen, i = 0;
    hash_iter_init(&it, h);
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) {
        assert_true(i < n);
        assert_int_equal(flen, strlen(fields[i]));
        assert_memory_equal(f, fields[i], flen);
        assert_int_equal(vlen, strlen(values[i]));
        assert_memory_equal(v, values[i], vlen);
        i++;
    }
    hash_iter_done(&it);
    assert_int_equal(i, n);
    assert_int_equal(hash_len(h), n);
}

static void fill_numbered(kv_hash *h, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        char fb[32], vb[32];
        int fl = snprintf(fb, sizeof fb, "field:%zu", i);
        int vl = snprintf(vb, sizeof vb, "value:%zu", i);
        assert_int_equal(hash_set(h, fb, (size_t)fl, vb, (size_t)vl), 1);
    }
}

static size_t numbered_id(const char *f, size_t flen)
{
    char b[32];
    assert_true(flen > 6 && flen < sizeof b);
    memcpy(b, f, flen);
    b[flen] = '\0';
    return (size_t)strtoul(b + 6, NULL, 10);
}

typedef struct counts {
    unsigned *c;
    size_t n;
} counts;

static void count_field(void *arg, const char *f, size_t flen, const char *v, size_t vlen)
{
    counts *c = arg;
    size_t id = numbered_id(f, flen);
    assert_true(id < c->n);
    char vb[32];
    int vl = snprintf(vb, sizeof vb, "value:%zu", id);
    assert_int_equal(vlen, (size_t)vl);
    assert_memory_equal(v, vb, vlen);
    c->c[id]++;
}

/* The reference model: pairs in listpack order. */
typedef struct mpair {
    char *f, *v;
    size_t flen, vlen;
} mpair;

typedef struct model {
    mpair *p;
    size_t len, cap;
} model;

static ptrdiff_t model_find(const model *m, const char *f, size_t flen)
{
    for (size_t i = 0; i < m->len; i++)
        if (m->p[i].flen == flen && memcmp(m->p[i].f, f, flen) == 0)
            return (ptrdiff_t)i;
    return -1;
}

static char *dup_bytes(const char *p, size_t n)
{
    char *q = malloc(n ? n : 1);
    memcpy(q, p, n);
    return q;
}

static int model_set(model *m, const char *f, size_t flen, const char *v, size_t vlen)
{
    ptrdiff_t i = model_find(m, f, flen);
    if (i >= 0) {
        free(m->p[i].v);
        m->p[i].v = dup_bytes(v, vlen);
        m->p[i].vlen = vlen;
        return 0;
    }
    if (m->len == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->p = realloc(m->p, m->cap * sizeof *m->p);
    }
    m->p[m->len++] = (mpair){dup_bytes(f, flen), dup_bytes(v, vlen), flen, vlen};
    return 1;
}

static int model_del(model *m, const char *f, size_t flen)
{
    ptrdiff_t i = model_find(m, f, flen);
    if (i < 0)
        return 0;
    free(m->p[i].f);
    free(m->p[i].v);
    memmove(m->p + i, m->p + i + 1, (m->len - (size_t)i - 1) * sizeof *m->p);
    m->len--;
    return 1;
}

static void model_free(model *m)
{
    while (m->len)
        model_del(m, m->p[0].f, m->p[0].flen);
    free(m->p);
}

/* Contents equal the model; in listpack encoding the order does too. */
static void assert_matches_model(kv_hash *h, const model *m)
{
    assert_int_equal(hash_len(h), m->len);
    int ordered = strcmp(hash_encoding(h), "listpack") == 0;
    unsigned char *seen = calloc(m->len + 1, 1);
    hash_iter it;
    const char *f, *v;
    size_t flen, vlen, i = 0;
    hash_iter_init(&it, h);
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) {
        ptrdiff_t j = model_find(m, f, flen);
        assert_true(j >= 0);
        if (ordered)
            assert_int_equal((size_t)j, i);
        assert_false(seen[j]);
        seen[j] = 1;
        assert_int_equal(vlen, m->p[j].vlen);
        assert_memory_equal(v, m->p[j].v, vlen);
        i++;
    }
    hash_iter_done(&it);
    assert_int_equal(i, m->len);
    for (size_t k = 0; k < m->len; k++)
        assert_field(h, m->p[k].f, m->p[k].flen, m->p[k].v, m->p[k].vlen);
    free(seen);
}

static size_t random_bytes(char *buf, size_t maxlen, int alphabet)
{
    size_t n = (size_t)(rng() % (maxlen + 1));
    for (size_t i = 0; i < n; i++)
        buf[i] = alphabet ? (char)('a' + rng() % 4) : (char)rng();
    return n;
}

/* ---- Tests ---- */

/* An empty hash has nothing to get, delete, iterate, scan or pick. */
static void test_empty(void **state)
{
    fixture *f = *state;
    kv_hash *h = f->h;
    assert_int_equal(hash_len(h), 0);
    assert_string_equal(hash_encoding(h), "listpack");
    assert_no_field(h, "x");
    assert_int_equal(hash_del(h, "x", 1), 0);
    const char *a, *b;
    size_t al, bl;
    assert_int_equal(hash_random(h, 42, &a, &al, &b, &bl), 0);
    hash_iter it;
    hash_iter_init(&it, h);
    assert_int_equal(hash_iter_next(&it, &a, &al, &b, &bl), 0);
    hash_iter_done(&it);
    unsigned c[1] = {0};
    counts cs = {c, 1};
    assert_int_equal(hash_scan(h, 0, count_field, &cs), 0);
    assert_int_equal(c[0], 0);
    assert_true(hash_mem(h) > 0);
    hash_free(NULL);
}

/* In listpack encoding an update keeps the field's place, new fields go to
 * the end, and deleting the first, a middle or the last field (or the only
 * one) closes the gap. */
static void test_listpack_order_rules(void **state)
{
    fixture *f = *state;
    kv_hash *h = f->h;
    assert_int_equal(set_str(h, "only", "1"), 1);
    assert_int_equal(hash_del(h, "only", 4), 1);
    assert_int_equal(hash_len(h), 0);

    assert_int_equal(set_str(h, "a", "1"), 1);
    assert_int_equal(set_str(h, "b", "2"), 1);
    assert_int_equal(set_str(h, "c", "3"), 1);
    assert_int_equal(set_str(h, "d", "4"), 1);
    assert_int_equal(set_str(h, "b", "a longer value"), 0);
    assert_int_equal(set_str(h, "a", ""), 0);
    {
        const char *fs[] = {"a", "b", "c", "d"}, *vs[] = {"", "a longer value", "3", "4"};
        assert_order(h, fs, vs, 4);
    }
    assert_int_equal(hash_del(h, "b", 1), 1); /* middle */
    {
        const char *fs[] = {"a", "c", "d"}, *vs[] = {"", "3", "4"};
        assert_order(h, fs, vs, 3);
    }
    assert_int_equal(hash_del(h, "a", 1), 1); /* first */
    assert_int_equal(hash_del(h, "d", 1), 1); /* last */
    assert_int_equal(hash_del(h, "d", 1), 0);
    assert_int_equal(set_str(h, "b", "back"), 1);
    {
        const char *fs[] = {"c", "b"}, *vs[] = {"3", "back"};
        assert_order(h, fs, vs, 2);
    }
    assert_field_str(h, "c", "3");
    assert_no_field(h, "a");
    assert_string_equal(hash_encoding(h), "listpack");
}

/* Fields and values are binary: NUL bytes, an empty field, an empty value,
 * and prefixes of one another are all distinct, in both encodings. */
static void test_binary_fields(void **state)
{
    fixture *f = *state;
    char big[100];
    memset(big, 'x', sizeof big);
    for (int enc = 0; enc < 2; enc++) {
        kv_hash *h = hash_new();
        if (enc)
            hash_set(h, "big", 3, big, sizeof big); /* > 64 bytes: hashtable */
        assert_int_equal(hash_set(h, "a\0b", 3, "v\0\1", 3), 1);
        assert_int_equal(hash_set(h, "a", 1, "", 0), 1);
        assert_int_equal(hash_set(h, "", 0, "empty", 5), 1);
        assert_int_equal(hash_set(h, "a\0", 2, "\0", 1), 1);
        assert_field(h, "a\0b", 3, "v\0\1", 3);
        assert_field(h, "a", 1, "", 0);
        assert_field(h, "", 0, "empty", 5);
        assert_field(h, "a\0", 2, "\0", 1);
        assert_int_equal(hash_del(h, "", 0), 1);
        assert_int_equal(hash_get(h, "", 0, &(const char *){NULL}, &(size_t){0}), 0);
        assert_field(h, "a", 1, "", 0);
        assert_string_equal(hash_encoding(h), enc ? "hashtable" : "listpack");
        hash_free(h);
    }
    (void)f;
}

/* The 128th field keeps the listpack encoding, the 129th converts it to a
 * hashtable with everything intact, and it never converts back, even with
 * one field left. */
static void test_convert_on_entries(void **state)
{
    fixture *f = *state;
    kv_hash *h = f->h;
    fill_numbered(h, 0, 128);
    assert_string_equal(hash_encoding(h), "listpack");
    /* Updating at the limit does not convert. */
    assert_int_equal(set_str(h, "field:5", "value:5"), 0);
    assert_string_equal(hash_encoding(h), "listpack");
    fill_numbered(h, 128, 129);
    assert_string_equal(hash_encoding(h), "hashtable");
    assert_int_equal(hash_len(h), 129);
    for (size_t i = 0; i < 129; i++) {
        char fb[32], vb[32];
        snprintf(fb, sizeof fb, "field:%zu", i);
        snprintf(vb, sizeof vb, "value:%zu", i);
        assert_field_str(h, fb, vb);
    }
    for (size_t i = 1; i < 129; i++) {
        char fb[32];
        int n = snprintf(fb, sizeof fb, "field:%zu", i);
        assert_int_equal(hash_del(h, fb, (size_t)n), 1);
    }
    assert_int_equal(hash_len(h), 1);
    assert_string_equal(hash_encoding(h), "hashtable");
    fill_numbered(h, 200, 201);
    assert_string_equal(hash_encoding(h), "hashtable");
}

/* A 64-byte field or value stays listpack; a 65-byte value or field (new
 * or an update of an existing field) converts. */
static void test_convert_on_length(void **state)
{
    fixture *f = *state;
    char b64[64], b65[65];
    memset(b64, 'x', sizeof b64);
    memset(b65, 'y', sizeof b65);
    kv_hash *h = f->h;
    assert_int_equal(hash_set(h, b64, 64, b64, 64), 1);
    assert_string_equal(hash_encoding(h), "listpack");

    kv_hash *g = hash_new();
    hash_set(g, "k", 1, "v", 1);
    hash_set(g, "k", 1, b65, 65); /* update with a long value */
    assert_string_equal(hash_encoding(g), "hashtable");
    assert_field(g, "k", 1, b65, 65);
    assert_int_equal(hash_len(g), 1);
    hash_free(g);

    g = hash_new();
    hash_set(g, "k", 1, "v", 1);
    assert_int_equal(hash_set(g, b65, 65, "v", 1), 1); /* a long field */
    assert_string_equal(hash_encoding(g), "hashtable");
    assert_field(g, "k", 1, "v", 1);
    assert_field(g, b65, 65, "v", 1);
    hash_free(g);
}

/* The thresholds are the CONFIG variables: with 4 entries / 8 bytes the
 * 5th field or a 9-byte value converts; 0 entries converts on the first. */
static void test_configurable_thresholds(void **state)
{
    fixture *f = *state;
    hash_max_listpack_entries = 4;
    hash_max_listpack_value = 8;
    kv_hash *h = f->h;
    fill_numbered(h, 0, 4);
    assert_string_equal(hash_encoding(h), "listpack");
    fill_numbered(h, 4, 5);
    assert_string_equal(hash_encoding(h), "hashtable");

    kv_hash *g = hash_new();
    set_str(g, "a", "12345678");
    assert_string_equal(hash_encoding(g), "listpack");
    set_str(g, "b", "123456789");
    assert_string_equal(hash_encoding(g), "hashtable");
    hash_free(g);

    /* A large value bound keeps 300-byte values (two-byte lengths) in the
     * listpack. */
    hash_max_listpack_value = 1000;
    char v300[300];
    memset(v300, 'w', sizeof v300);
    g = hash_new();
    hash_set(g, v300, 200, v300, 300);
    hash_set(g, "after", 5, v300, 128);
    hash_set(g, v300, 200, v300, 127);
    assert_string_equal(hash_encoding(g), "listpack");
    assert_field(g, v300, 200, v300, 127);
    assert_field(g, "after", 5, v300, 128);
    hash_free(g);

    hash_max_listpack_entries = 0;
    g = hash_new();
    set_str(g, "a", "1");
    assert_string_equal(hash_encoding(g), "hashtable");
    assert_field_str(g, "a", "1");
    hash_free(g);
}

/* Arguments that are views into the same hash (HSET h a <HGET h b>) work
 * in both encodings, also when the set grows the buffer or converts. */
static void test_views_as_arguments(void **state)
{
    fixture *f = *state;
    kv_hash *h = f->h;
    hash_max_listpack_entries = 3;
    set_str(h, "a", "alpha");
    set_str(h, "b", "bravo-bravo-bravo");
    const char *v, *fv;
    size_t vlen, flen;
    hash_get(h, "b", 1, &v, &vlen);
    assert_int_equal(hash_set(h, "a", 1, v, vlen), 0); /* value grows */
    assert_field_str(h, "a", "bravo-bravo-bravo");
    hash_get(h, "a", 1, &v, &vlen);
    assert_int_equal(hash_set(h, "a", 1, v, vlen), 0); /* itself */
    /* A view as a new field name, at the entries limit: converts. */
    hash_iter it;
    hash_iter_init(&it, h);
    assert_int_equal(hash_iter_next(&it, &fv, &flen, &v, &vlen), 1);
    hash_iter_done(&it);
    assert_int_equal(hash_set(h, v, vlen, fv, flen), 1);
    assert_string_equal(hash_encoding(h), "listpack");
    hash_get(h, "a", 1, &v, &vlen);
    assert_int_equal(hash_set(h, "c", 1, v, vlen), 1);
    assert_string_equal(hash_encoding(h), "hashtable");
    assert_field_str(h, "bravo-bravo-bravo", "a");
    assert_field_str(h, "c", "bravo-bravo-bravo");
    /* Hashtable: a view of the same field's value, shrinking and growing. */
    hash_get(h, "c", 1, &v, &vlen);
    assert_int_equal(hash_set(h, "c", 1, v + 6, vlen - 6), 0);
    assert_field_str(h, "c", "bravo-bravo");
    /* A short view of a long value of the same field: a new node is made
     * from the old one before it is freed. */
    char big[200];
    memset(big, 'q', sizeof big);
    big[0] = 'Q';
    hash_set(h, "c", 1, big, sizeof big);
    hash_get(h, "c", 1, &v, &vlen);
    assert_int_equal(hash_set(h, "c", 1, v, 1), 0);
    assert_field_str(h, "c", "Q");
    hash_get(h, "a", 1, &v, &vlen);
    assert_int_equal(hash_set(h, "b", 1, v + 12, 5), 0);
    assert_field_str(h, "b", "bravo");
}

/* Iteration and a full HSCAN of a hashtable report every field exactly
 * once, and HSCAN keeps reporting the original fields while 2000 more are
 * added between calls; a listpack HSCAN reports all in one call. */
static void test_scan_and_iter_coverage(void **state)
{
    fixture *f = *state;
    kv_hash *h = f->h;
    enum { N = 1000, MORE = 2000 };
    unsigned *c = calloc(N + MORE, sizeof *c);
    counts cs = {c, N + MORE};

    fill_numbered(h, 0, 100);
    assert_int_equal(hash_scan(h, 0, count_field, &cs), 0);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(c[i], 1);

    fill_numbered(h, 100, N);
    assert_string_equal(hash_encoding(h), "hashtable");
    memset(c, 0, (N + MORE) * sizeof *c);
    hash_iter it;
    const char *fp, *vp;
    size_t fl, vl;
    hash_iter_init(&it, h);
    while (hash_iter_next(&it, &fp, &fl, &vp, &vl))
        count_field(&cs, fp, fl, vp, vl);
    hash_iter_done(&it);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(c[i], 1);

    memset(c, 0, (N + MORE) * sizeof *c);
    uint64_t cur = 0;
    do
        cur = hash_scan(h, cur, count_field, &cs);
    while (cur);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(c[i], 1);

    memset(c, 0, (N + MORE) * sizeof *c);
    size_t next = N, calls = 0;
    cur = 0;
    do {
        cur = hash_scan(h, cur, count_field, &cs);
        calls++;
        for (int k = 0; k < 20 && next < N + MORE; k++, next++)
            fill_numbered(h, next, next + 1);
    } while (cur);
    assert_true(calls > 10);
    for (size_t i = 0; i < N; i++)
        assert_true(c[i] >= 1);
    free(c);
}

/* hash_random picks existing fields and, over many draws, every field of a
 * small hash in both encodings. */
static void test_random_fields(void **state)
{
    fixture *f = *state;
    for (int enc = 0; enc < 2; enc++) {
        kv_hash *h = enc ? f->h : hash_new();
        size_t n = enc ? 300 : 10;
        fill_numbered(h, 0, n);
        assert_string_equal(hash_encoding(h), enc ? "hashtable" : "listpack");
        unsigned *c = calloc(n, sizeof *c);
        counts cs = {c, n};
        for (int i = 0; i < 20000; i++) {
            const char *fp, *vp;
            size_t fl, vl;
            assert_int_equal(hash_random(h, rng(), &fp, &fl, &vp, &vl), 1);
            count_field(&cs, fp, fl, vp, vl);
        }
        for (size_t i = 0; i < n; i++)
            assert_true(c[i] > 0);
        free(c);
        if (!enc)
            hash_free(h);
    }
}

/* hash_dup copies contents, encoding and order, and the copy is
 * independent of the original. */
static void test_dup(void **state)
{
    fixture *f = *state;
    kv_hash *h = f->h;
    set_str(h, "z", "1");
    set_str(h, "y", "2");
    set_str(h, "x", "3");
    kv_hash *c = hash_dup(h);
    {
        const char *fs[] = {"z", "y", "x"}, *vs[] = {"1", "2", "3"};
        assert_order(c, fs, vs, 3);
    }
    assert_string_equal(hash_encoding(c), "listpack");
    set_str(c, "y", "changed");
    assert_field_str(h, "y", "2");
    hash_free(c);

    kv_hash *e = hash_new();
    kv_hash *ec = hash_dup(e);
    assert_int_equal(hash_len(ec), 0);
    hash_free(ec);
    hash_free(e);

    fill_numbered(h, 0, 200);
    for (size_t i = 0; i < 195; i++) {
        char fb[32];
        int n = snprintf(fb, sizeof fb, "field:%zu", i);
        hash_del(h, fb, (size_t)n);
    }
    c = hash_dup(h);
    assert_string_equal(hash_encoding(c), "hashtable");
    assert_int_equal(hash_len(c), hash_len(h));
    hash_iter it;
    const char *fp, *vp;
    size_t fl, vl;
    hash_iter_init(&it, h);
    while (hash_iter_next(&it, &fp, &fl, &vp, &vl))
        assert_field(c, fp, fl, vp, vl);
    hash_iter_done(&it);
    hash_free(c);
}

/* hash_mem grows with content and matches what was allocated to within the
 * allocator's rounding of the bucket arrays. */
static void test_mem_accounting(void **state)
{
    fixture *f = *state;
    size_t used0 = kv_used_memory() - hash_mem(f->h);
    fill_numbered(f->h, 0, 100);
    size_t lp = hash_mem(f->h);
    assert_int_equal(kv_used_memory() - used0, lp);
    fill_numbered(f->h, 100, 5000);
    size_t ht = hash_mem(f->h);
    size_t real = kv_used_memory() - used0;
    assert_true(ht > lp);
    /* Only the malloc rounding of (at most two) bucket arrays differs. */
    assert_true(ht <= real && real - ht < 2 * 4096);
}

/* A hash of ten short fields (the benchmark's shape) is a 24-byte header
 * and one buffer of 19-byte entries with no spare capacity beyond the
 * allocator's rounding; deleting most of it gives the buffer back, and the
 * hashtable form's accounting stays exact once it converts. */
static void test_small_footprint(void **state)
{
    fixture *f = *state;
    size_t used0 = kv_used_memory() - hash_mem(f->h);
    assert_true(hash_mem(f->h) <= 24);
    for (int j = 0; j < 10; j++) {
        char fb[16], vb[16];
        int fl = snprintf(fb, sizeof fb, "field%d", j);
        int vl = snprintf(vb, sizeof vb, "value%06d", j);
        assert_int_equal(hash_set(f->h, fb, (size_t)fl, vb, (size_t)vl), 1);
    }
    assert_string_equal(hash_encoding(f->h), "listpack");
    assert_true(hash_mem(f->h) <= 24 + 190 + 16);
    assert_int_equal(kv_used_memory() - used0, hash_mem(f->h));
    for (int j = 0; j < 9; j++) {
        char fb[16];
        int fl = snprintf(fb, sizeof fb, "field%d", j);
        assert_int_equal(hash_del(f->h, fb, (size_t)fl), 1);
    }
    assert_true(hash_mem(f->h) <= 24 + 19 + 48);
    assert_int_equal(kv_used_memory() - used0, hash_mem(f->h));
    fill_numbered(f->h, 0, 200);
    assert_string_equal(hash_encoding(f->h), "hashtable");
    /* Exact but for the bucket array's malloc rounding. */
    size_t real = kv_used_memory() - used0;
    assert_true(hash_mem(f->h) <= real && real - hash_mem(f->h) < 4096);
}

/* Thousands of random sets, updates and deletes on hashes with small
 * thresholds (so conversion happens mid-run) agree with an array model:
 * contents always, listpack order too. */
static void test_random_against_model(void **state)
{
    fixture *f = *state;
    hash_max_listpack_entries = 24;
    hash_max_listpack_value = 12;
    char fb[32], vb[32];
    for (int round = 0; round < 20; round++) {
        kv_hash *h = hash_new();
        model m = {0};
        int converted_at = -1;
        /* Kind 0: at most 21 distinct fields and short values, so it stays
         * listpack; kind 1: up to 85 fields, converts on entries; kind 2:
         * converts on an occasional 13- or 14-byte value. */
        int kind = round % 3;
        for (int step = 0; step < 3000; step++) {
            size_t fl = random_bytes(fb, kind == 1 ? 3 : 2, 1);
            uint64_t op = rng() % 100;
            if (op < 55) {
                size_t vl = random_bytes(vb, kind == 2 && rng() % 10 == 0 ? 14 : 10, 0);
                assert_int_equal(hash_set(h, fb, fl, vb, vl), model_set(&m, fb, fl, vb, vl));
            } else if (op < 90) {
                assert_int_equal(hash_del(h, fb, fl), model_del(&m, fb, fl));
            } else {
                const char *v;
                size_t vl;
                ptrdiff_t i = model_find(&m, fb, fl);
                assert_int_equal(hash_get(h, fb, fl, &v, &vl), i >= 0);
                if (i >= 0) {
                    assert_int_equal(vl, m.p[i].vlen);
                    assert_memory_equal(v, m.p[i].v, vl);
                }
            }
            if (converted_at < 0 && strcmp(hash_encoding(h), "hashtable") == 0)
                converted_at = step;
            assert_int_equal(hash_len(h), m.len);
            if (step % 50 == 0)
                assert_matches_model(h, &m);
        }
        assert_matches_model(h, &m);
        if (kind == 0)
            assert_int_equal(converted_at, -1);
        else
            assert_true(converted_at >= 0);
        hash_free(h);
        model_free(&m);
    }
    (void)f;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listpack_order_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_convert_on_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_convert_on_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configurable_thresholds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views_as_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_and_iter_coverage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_accounting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_footprint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_model, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
