/* test_hll.c — the HyperLogLog string format (hll.c): the empty value,
 * hashing, sparse edits byte by byte (splits of ZERO / XZERO / VAL
 * opcodes and merges of equal neighbours), conversion to dense by value
 * and by size limit, sparse and dense agreeing on every register and on
 * the estimate, malformed sparse bodies rejected without touching
 * anything, dense register packing at the edges, the cache bytes, the
 * DECODE text, and values and counts equal to what redis-server 7.0.15
 * produces for the same elements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hll.h"
#include "mem.h"
#include "sha1.h"

/* ---- Helpers ---- */

/* Assert that b's sparse body is exactly the n bytes given. */
static void assert_body(const hll_buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->p[4], HLL_SPARSE);
    assert_int_equal(b->len, HLL_HDR_SIZE + n);
    assert_memory_equal(b->p + HLL_HDR_SIZE, want, n);
}

/* Add "<prefix><i>" for i in [from, to) to b. */
static void add_range(hll_buf *b, const char *prefix, int from, int to, size_t sparse_max)
{
    char e[32];
    for (int i = from; i < to; i++) {
        int n = snprintf(e, sizeof e, "%s%d", prefix, i);
        assert_true(hll_add(b, e, (size_t)n, sparse_max) >= 0);
    }
}

/* Every register of the value at s, one byte each. */
static void registers_of(const uint8_t *s, size_t len, uint8_t *out)
{
    memset(out, 0, HLL_REGISTERS);
    assert_int_equal(hll_merge(out, s, len), 0);
}

static void sha1_hex(const void *p, size_t n, char out[41])
{
    sha1_ctx c;
    uint8_t d[20];
    sha1_init(&c);
    sha1_update(&c, p, n);
    sha1_final(&c, d);
    for (int i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- Tests ---- */

/* A new HLL is Redis's: "HYLL", sparse, card 0 (valid), one XZERO:16384;
 * it counts 0 and decodes as "Z:16384". */
static void test_empty_value(void **state)
{
    (void)state;
    hll_buf b;
    hll_buf_empty(&b);
    static const uint8_t want[18] = {'H', 'Y', 'L', 'L', 1, 0, 0, 0, 0, 0,
                                     0,   0,   0,   0,   0, 0, 0x7f, 0xff};
    assert_int_equal(b.len, 18);
    assert_memory_equal(b.p, want, 18);
    assert_true(hll_valid(b.p, b.len));
    assert_true(hll_cache_valid(b.p));
    assert_int_equal(hll_cache_get(b.p), 0);
    int invalid = 0;
    assert_int_equal(hll_count(b.p, b.len, &invalid), 0);
    assert_int_equal(invalid, 0);
    kbuf t = KBUF_INIT;
    assert_int_equal(hll_decode(b.p, b.len, &t, 1000), 0);
    assert_int_equal(kbuf_len(&t), 7);
    assert_memory_equal(kbuf_data(&t), "Z:16384", 7);
    kbuf_free(&t);
    hll_buf_free(&b);
}

/* Elements hash to Redis's registers and run lengths ("a" -> register
 * 12711, run 2, as PFDEBUG DECODE shows in redis-server). */
static void test_pattern(void **state)
{
    (void)state;
    long idx;
    assert_int_equal(hll_pattern("a", 1, &idx), 2);
    assert_int_equal(idx, 12711);
    assert_int_equal(hll_pattern("b", 1, &idx), 1);
    assert_int_equal(idx, 15780);
    assert_int_equal(hll_pattern("c", 1, &idx), 1);
    assert_int_equal(idx, 8436);
    /* Runs never exceed Q + 1 = 51 whatever the hash. */
    for (int i = 0; i < 100000; i++) {
        int r = hll_pattern(&i, sizeof i, &idx);
        assert_true(r >= 1 && r <= HLL_Q + 1);
        assert_true(idx >= 0 && idx < HLL_REGISTERS);
    }
}

/* Setting registers splits the covering opcode the way Redis does:
 * XZERO -> VAL + XZERO, ZERO/XZERO around the register by length, VAL
 * runs at their edges; equal neighbouring VALs merge (up to 4). */
static void test_sparse_edits(void **state)
{
    (void)state;
    hll_buf b;
    hll_buf_empty(&b);
    assert_int_equal(hll_set(&b, 0, 1, SIZE_MAX), 1);
    assert_body(&b, (const uint8_t[]){0x80, 0x7f, 0xfe}, 3); /* v:1,1 Z:16383 */
    assert_false(hll_cache_valid(b.p));
    assert_int_equal(hll_set(&b, 1, 1, SIZE_MAX), 1);
    assert_body(&b, (const uint8_t[]){0x81, 0x7f, 0xfd}, 3); /* v:1,2 Z:16382 */
    assert_int_equal(hll_set(&b, 1, 1, SIZE_MAX), 0);        /* not higher */
    assert_int_equal(hll_set(&b, 0, 3, SIZE_MAX), 1);
    assert_body(&b, (const uint8_t[]){0x88, 0x80, 0x7f, 0xfd}, 4); /* v:3,1 v:1,1 */
    assert_int_equal(hll_set(&b, 1, 3, SIZE_MAX), 1);
    assert_body(&b, (const uint8_t[]){0x89, 0x7f, 0xfd}, 3); /* merged: v:3,2 */
    hll_buf_free(&b);

    /* A register in the middle: ZERO before when short, XZERO when long. */
    hll_buf_empty(&b);
    hll_set(&b, 10, 1, SIZE_MAX);
    assert_body(&b, (const uint8_t[]){0x09, 0x80, 0x7f, 0xf4}, 4); /* z:10 v:1,1 Z:16373 */
    hll_buf_free(&b);
    hll_buf_empty(&b);
    hll_set(&b, 64, 2, SIZE_MAX);
    assert_body(&b, (const uint8_t[]){0x3f, 0x84, 0x7f, 0xbe}, 4); /* z:64 v:2,1 */
    hll_buf_free(&b);
    hll_buf_empty(&b);
    hll_set(&b, 65, 2, SIZE_MAX);
    assert_body(&b, (const uint8_t[]){0x40, 0x40, 0x84, 0x7f, 0xbd}, 5); /* Z:65 */
    hll_buf_free(&b);
    hll_buf_empty(&b);
    hll_set(&b, HLL_REGISTERS - 1, 5, SIZE_MAX);
    assert_body(&b, (const uint8_t[]){0x7f, 0xfe, 0x90}, 3); /* Z:16383 v:5,1 */
    hll_buf_free(&b);

    /* A run of four is the longest VAL; a fifth starts a new opcode. */
    hll_buf_empty(&b);
    for (long i = 0; i < 5; i++)
        hll_set(&b, i, 2, SIZE_MAX);
    assert_body(&b, (const uint8_t[]){0x87, 0x84, 0x7f, 0xfa}, 4); /* v:2,4 v:2,1 */
    /* Raising the middle of a run splits it in three. */
    hll_set(&b, 2, 4, SIZE_MAX);
    /* v:2,2 v:4,1 v:2,1 v:2,1, then the last two merge: v:2,2 v:4,1 v:2,2 */
    assert_body(&b, (const uint8_t[]){0x85, 0x8c, 0x85, 0x7f, 0xfa}, 5);
    hll_buf_free(&b);
}

/* A register above 32 cannot be sparse: the value becomes dense with the
 * same registers. */
static void test_promote_by_value(void **state)
{
    (void)state;
    hll_buf b;
    hll_buf_empty(&b);
    hll_set(&b, 7, 3, SIZE_MAX);
    assert_int_equal(hll_set(&b, 5, 33, SIZE_MAX), 1);
    assert_int_equal(b.p[4], HLL_DENSE);
    assert_int_equal(b.len, HLL_DENSE_SIZE);
    assert_int_equal(hll_dense_get(b.p + HLL_HDR_SIZE, 5), 33);
    assert_int_equal(hll_dense_get(b.p + HLL_HDR_SIZE, 7), 3);
    assert_int_equal(hll_dense_get(b.p + HLL_HDR_SIZE, 6), 0);
    hll_buf_free(&b);
}

/* A sparse value converts to dense exactly when growing would pass the
 * limit: 18 + 3 bytes fits a limit of 21, not of 20; shrinking or
 * in-place edits never convert. */
static void test_promote_by_size(void **state)
{
    (void)state;
    hll_buf b;
    hll_buf_empty(&b);
    assert_int_equal(hll_set(&b, 100, 2, 21), 1); /* Z:100 v:2,1 Z:16283 */
    assert_int_equal(b.p[4], HLL_SPARSE);
    assert_int_equal(b.len, 21);
    assert_int_equal(hll_set(&b, 100, 3, 21), 1); /* in place */
    assert_int_equal(b.p[4], HLL_SPARSE);
    hll_buf_free(&b);
    hll_buf_empty(&b);
    assert_int_equal(hll_set(&b, 100, 2, 20), 1);
    assert_int_equal(b.p[4], HLL_DENSE);
    assert_int_equal(hll_dense_get(b.p + HLL_HDR_SIZE, 100), 2);
    hll_buf_free(&b);
    /* Limit 0: the first growth converts. */
    hll_buf_empty(&b);
    assert_int_equal(hll_add(&b, "x", 1, 0), 1);
    assert_int_equal(b.p[4], HLL_DENSE);
    hll_buf_free(&b);
}

/* The same elements in a sparse value (never converted), a sparse value
 * converted along the way, and a dense value give the same registers and
 * the same estimate; converting the sparse one gives the dense registers
 * byte for byte. */
static void test_sparse_dense_agree(void **state)
{
    (void)state;
    hll_buf sp, mixed;
    hll_buf_empty(&sp);
    hll_buf_empty(&mixed);
    uint8_t *dense = kv_calloc(1, HLL_DENSE_SIZE);
    memcpy(dense, "HYLL", 4);
    uint8_t *r1 = malloc(HLL_REGISTERS), *r2 = malloc(HLL_REGISTERS), *r3 = malloc(HLL_REGISTERS);
    char e[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(e, sizeof e, "el-%d", i);
        int a = hll_add(&sp, e, (size_t)n, SIZE_MAX);
        int c = hll_dense_add(dense, e, (size_t)n);
        assert_int_equal(a, c); /* same register, same answer */
        hll_add(&mixed, e, (size_t)n, 3000);
        if (i % 500 == 499) {
            registers_of(sp.p, sp.len, r1);
            registers_of(dense, HLL_DENSE_SIZE, r2);
            registers_of(mixed.p, mixed.len, r3);
            assert_memory_equal(r1, r2, HLL_REGISTERS);
            assert_memory_equal(r1, r3, HLL_REGISTERS);
            uint64_t cnt = hll_count(dense, HLL_DENSE_SIZE, NULL);
            assert_int_equal(hll_count(sp.p, sp.len, NULL), cnt);
            assert_int_equal(hll_count_raw(r1), cnt);
        }
    }
    assert_int_equal(sp.p[4], HLL_SPARSE);
    assert_int_equal(mixed.p[4], HLL_DENSE);
    assert_int_equal(hll_to_dense(&sp), 0);
    assert_int_equal(sp.len, HLL_DENSE_SIZE);
    assert_memory_equal(sp.p + HLL_HDR_SIZE, dense + HLL_HDR_SIZE,
                        HLL_DENSE_SIZE - HLL_HDR_SIZE);
    assert_memory_equal(sp.p + HLL_HDR_SIZE, mixed.p + HLL_HDR_SIZE,
                        HLL_DENSE_SIZE - HLL_HDR_SIZE);
    assert_int_equal(hll_to_dense(&sp), 0); /* already dense */
    hll_buf_free(&sp);
    hll_buf_free(&mixed);
    kv_free(dense);
    free(r1);
    free(r2);
    free(r3);
}

/* Sparse bodies covering fewer or more than 16384 registers are
 * malformed: counting flags them, merging and converting fail, and a
 * failed conversion leaves the value as it was. */
static void test_malformed_sparse(void **state)
{
    (void)state;
    static const struct {
        uint8_t body[4];
        size_t len;
    } cases[] = {
        {{0x7f, 0xfe}, 2},       /* 16383 registers */
        {{0x7f, 0xff, 0x00}, 3}, /* 16385 */
        {{0x7f}, 1},             /* a cut XZERO: 16129 */
        {{0x00}, 1},             /* 1 */
        {{0x7f, 0xff, 0x80}, 3}, /* 16384, then a VAL past the end */
        {{0x7f, 0xfe, 0x81}, 3}, /* a VAL of 2 over the last register */
    };
    hll_buf empty;
    hll_buf_empty(&empty);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        size_t len = HLL_HDR_SIZE + cases[k].len;
        uint8_t *value = malloc(len);
        memcpy(value, empty.p, HLL_HDR_SIZE);
        memcpy(value + HLL_HDR_SIZE, cases[k].body, cases[k].len);
        int invalid = 0;
        hll_count(value, len, &invalid);
        assert_int_equal(invalid, 1);
        uint8_t *max = calloc(1, HLL_REGISTERS);
        assert_int_equal(hll_merge(max, value, len), -1);
        hll_buf b;
        hll_buf_copy(&b, value, len);
        assert_int_equal(hll_to_dense(&b), -1);
        assert_int_equal(b.len, len);
        assert_memory_equal(b.p, value, len);
        hll_buf_free(&b);
        free(max);
        free(value);
    }
    /* No body at all: nothing to set. */
    hll_buf b;
    hll_buf_copy(&b, empty.p, HLL_HDR_SIZE);
    assert_int_equal(hll_set(&b, 3, 1, SIZE_MAX), -1);
    assert_int_equal(b.len, HLL_HDR_SIZE);
    hll_buf_free(&b);
    hll_buf_free(&empty);
}

/* Dense registers pack 6 bits each from the low bits up: every register
 * keeps its value and leaves its neighbours alone, the last one included
 * (the register array is allocated exactly, so ASan sees any overrun). */
static void test_dense_packing(void **state)
{
    (void)state;
    size_t n = HLL_DENSE_SIZE - HLL_HDR_SIZE;
    uint8_t *regs = calloc(1, n), *want = malloc(HLL_REGISTERS);
    unsigned seed = 7;
    for (int round = 0; round < 20; round++) {
        for (long i = 0; i < HLL_REGISTERS; i++) {
            seed = seed * 1103515245u + 12345u;
            want[i] = (uint8_t)((seed >> 16) & HLL_REGISTER_MAX);
            hll_dense_set(regs, i, want[i]);
        }
        for (long i = 0; i < HLL_REGISTERS; i++)
            assert_int_equal(hll_dense_get(regs, i), want[i]);
    }
    memset(regs, 0, n);
    hll_dense_set(regs, HLL_REGISTERS - 1, 63);
    assert_int_equal(regs[n - 1], 0xfc);
    hll_dense_set(regs, 0, 63);
    assert_int_equal(regs[0], 0x3f);
    hll_dense_set(regs, 1, 63);
    assert_int_equal(regs[0], 0xff);
    assert_int_equal(regs[1], 0x0f);
    free(regs);
    free(want);
}

/* Header checks: magic, encoding, dense length. */
static void test_valid_header(void **state)
{
    (void)state;
    uint8_t v[HLL_DENSE_SIZE + 1] = {'H', 'Y', 'L', 'L', HLL_SPARSE};
    assert_true(hll_valid(v, HLL_HDR_SIZE));
    assert_false(hll_valid(v, HLL_HDR_SIZE - 1));
    v[4] = 2;
    assert_false(hll_valid(v, 100));
    v[4] = HLL_DENSE;
    assert_false(hll_valid(v, 100));
    assert_true(hll_valid(v, HLL_DENSE_SIZE));
    assert_false(hll_valid(v, HLL_DENSE_SIZE + 1));
    v[0] = 'h';
    assert_false(hll_valid(v, HLL_DENSE_SIZE));
}

/* The cached cardinality is little-endian in bytes 8..15, valid while the
 * top bit of byte 15 is clear. */
static void test_cache_bytes(void **state)
{
    (void)state;
    uint8_t h[HLL_HDR_SIZE] = {0};
    hll_cache_set(h, 0x0102030405060708ULL);
    assert_int_equal(h[8], 0x08);
    assert_int_equal(h[15], 0x01);
    assert_true(hll_cache_valid(h));
    assert_int_equal(hll_cache_get(h), 0x0102030405060708ULL);
    hll_cache_invalidate(h);
    assert_false(hll_cache_valid(h));
    assert_int_equal(h[15], 0x81);
}

/* DECODE names each opcode and stops once the text passes its limit. */
static void test_decode(void **state)
{
    (void)state;
    hll_buf b;
    hll_buf_empty(&b);
    hll_set(&b, 10, 1, SIZE_MAX);
    hll_set(&b, 11, 1, SIZE_MAX);
    hll_set(&b, 200, 7, SIZE_MAX);
    kbuf t = KBUF_INIT;
    assert_int_equal(hll_decode(b.p, b.len, &t, 1000), 0);
    const char *want = "z:10 v:1,2 Z:188 v:7,1 Z:16183";
    assert_int_equal(kbuf_len(&t), strlen(want));
    assert_memory_equal(kbuf_data(&t), want, strlen(want));
    kbuf_reset(&t);
    assert_int_equal(hll_decode(b.p, b.len, &t, 8), -1);
    kbuf_free(&t);
    hll_buf_free(&b);
}

/* The same elements give redis-server 7.0.15's bytes and counts: "e0" ..
 * "e999" in order is a 1906-byte sparse value counting 1008; "r0" ..
 * "r99999" a dense value counting 100818 (values as GET returns them after
 * PFCOUNT stored the cardinality, compared by SHA-1). */
static void test_matches_redis(void **state)
{
    (void)state;
    hll_buf b;
    hll_buf_empty(&b);
    add_range(&b, "e", 0, 1000, 3000);
    hll_cache_invalidate(b.p);
    assert_int_equal(b.len, 1906);
    uint64_t card = hll_count(b.p, b.len, NULL);
    assert_int_equal(card, 1008);
    hll_cache_set(b.p, card);
    char hex[41];
    sha1_hex(b.p, b.len, hex);
    assert_string_equal(hex, "5b90d5bb9790139af3f5b0b6e8ffc2ab1fcc86da");
    hll_buf_free(&b);

    hll_buf_empty(&b);
    add_range(&b, "r", 0, 100000, 3000);
    hll_cache_invalidate(b.p);
    assert_int_equal(b.len, HLL_DENSE_SIZE);
    card = hll_count(b.p, b.len, NULL);
    assert_int_equal(card, 100818);
    hll_cache_set(b.p, card);
    sha1_hex(b.p, b.len, hex);
    assert_string_equal(hex, "a287ec2f8a44186d8643afc150486fb85b235498");
    hll_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_value),
        cmocka_unit_test(test_pattern),
        cmocka_unit_test(test_sparse_edits),
        cmocka_unit_test(test_promote_by_value),
        cmocka_unit_test(test_promote_by_size),
        cmocka_unit_test(test_sparse_dense_agree),
        cmocka_unit_test(test_malformed_sparse),
        cmocka_unit_test(test_dense_packing),
        cmocka_unit_test(test_valid_header),
        cmocka_unit_test(test_cache_bytes),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_matches_redis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
