/* test_crc64_lzf.c — CRC-64/Jones against known vectors (the catalogue's
 * check value and checksums redis-server 7.0 wrote into DUMP payloads),
 * and LZF: Redis's compressed bytes for known inputs, round trips of many
 * shapes, and hostile input to the decompressor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crc64.h"
#include "lzf.h"

/* ---- CRC-64 ---- */

/* The check value of CRC-64/Jones (reflected, init 0), and Redis's own
 * crc64.c test vector. */
static void test_crc64_check_value(void **state)
{
    (void)state;
    assert_true(crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caull);
    assert_true(crc64_bitwise(0, "123456789", 9) == 0xe9c6d914c4b8d9caull);
    assert_true(crc64(0, "", 0) == 0);
    const char *li = "This is a test of the emergency broadcast system.";
    assert_true(crc64(0, li, strlen(li)) == crc64_bitwise(0, li, strlen(li)));
}

/* The last 8 bytes of a DUMP payload from redis-server 7.0.15 are the
 * little-endian CRC-64 of what precedes them. */
static void test_crc64_redis_payloads(void **state)
{
    (void)state;
    /* DUMP of the string "12345" */
    static const unsigned char p1[] = {0x00, 0xc1, 0x39, 0x30, 0x0a, 0x00, 0x9d, 0x94,
                                       0xea, 0x27, 0x93, 0xfc, 0x08, 0xb9};
    /* DUMP of SADD st 1 2 3 (an intset) */
    static const unsigned char p2[] = {0x0b, 0x0e, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
                                       0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x0a, 0x00,
                                       0xa5, 0x02, 0x5c, 0xe2, 0x6d, 0x6e, 0x4d, 0x1b};
    const unsigned char *ps[] = {p1, p2};
    size_t ns[] = {sizeof p1, sizeof p2};
    for (int i = 0; i < 2; i++) {
        uint64_t want = 0;
        for (int k = 0; k < 8; k++)
            want |= (uint64_t)ps[i][ns[i] - 8 + k] << (8 * k);
        assert_true(crc64(0, ps[i], ns[i] - 8) == want);
    }
}

/* Extending piece by piece equals the whole, and the sliced path equals
 * the bitwise one, at every length and alignment. */
static void test_crc64_incremental(void **state)
{
    (void)state;
    unsigned char buf[200];
    srand(11);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)rand();
    for (size_t off = 0; off < 8; off++) {
        size_t n = sizeof buf - off;
        uint64_t whole = crc64_bitwise(0, buf + off, n);
        assert_true(crc64(0, buf + off, n) == whole);
        for (size_t cut = 0; cut <= n; cut += 5)
            assert_true(crc64(crc64(0, buf + off, cut), buf + off + cut, n - cut) == whole);
    }
}

/* ---- LZF ---- */

/* 48 'a's compress to the 9 bytes redis-server 7.0.15 stores in its DUMP
 * of that string. */
static void test_lzf_redis_bytes(void **state)
{
    (void)state;
    char in[48];
    memset(in, 'a', sizeof in);
    unsigned char out[64];
    static const unsigned char want[] = {0x01, 0x61, 0x61, 0xe0, 0x23, 0x00, 0x01, 0x61, 0x61};
    size_t n = lzf_compress(in, sizeof in, out, sizeof in - 4);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    char back[48];
    assert_int_equal(lzf_decompress(out, n, back, sizeof back), 48);
    assert_memory_equal(back, in, 48);
}

/* The 48-byte intset {-3, 1, 2, 100000, 5000000000} as redis-server
 * 7.0.15 (Debian's, linking liblzf 3.6) compresses it in its DUMP: the
 * last match starts 4 bytes before the end, which liblzf 3.6 allows. */
static void test_lzf_redis_match_at_end(void **state)
{
    (void)state;
    static const unsigned char in[48] = {
        0x08, 0, 0, 0, 0x05, 0, 0, 0,                         /* width 8, 5 members */
        0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,       /* -3 */
        0x01, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, /* 1, 2 */
        0xa0, 0x86, 0x01, 0, 0, 0, 0, 0,                      /* 100000 */
        0x00, 0xf2, 0x05, 0x2a, 0x01, 0, 0, 0,                /* 5000000000 */
    };
    static const unsigned char want[] = {
        0x04, 0x08, 0x00, 0x00, 0x00, 0x05, 0x20, 0x03, 0x01, 0xfd, 0xff, 0x80, 0x00,
        0x00, 0x01, 0x20, 0x0b, 0x40, 0x00, 0x00, 0x02, 0x40, 0x04, 0x20, 0x00, 0x01,
        0xa0, 0x86, 0xa0, 0x11, 0x02, 0xf2, 0x05, 0x2a, 0x20, 0x09, 0x00, 0x00,
    };
    unsigned char out[64], back[48];
    size_t n = lzf_compress(in, sizeof in, out, sizeof in - 4);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(lzf_decompress(out, n, back, sizeof back), 48);
    assert_memory_equal(back, in, 48);
}

/* Random, repetitive and mixed inputs of many sizes round-trip, and a
 * too-small output makes compression give up rather than overflow. */
static void test_lzf_round_trips(void **state)
{
    (void)state;
    srand(5);
    size_t sizes[] = {1, 2, 3, 4, 5, 6, 20, 21, 33, 100, 1000, 8191, 8192, 8193, 70000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        for (int shape = 0; shape < 4; shape++) {
            unsigned char *in = malloc(n), *out = malloc(n + 64), *back = malloc(n);
            for (size_t i = 0; i < n; i++) {
                switch (shape) {
                case 0: in[i] = (unsigned char)rand(); break;
                case 1: in[i] = 'x'; break;
                case 2: in[i] = (unsigned char)("abcabcabd"[i % 9]); break;
                default: in[i] = (unsigned char)(rand() % 4 ? 'q' : rand()); break;
                }
            }
            size_t c = lzf_compress(in, n, out, n + 64);
            if (c) {
                assert_int_equal(lzf_decompress(out, c, back, n), n);
                assert_memory_equal(back, in, n);
                /* One byte less room for the output: never a longer result. */
                if (c > 1)
                    assert_true(lzf_compress(in, n, out, c - 1) == 0);
                /* The exact room needed decompresses; one less fails. */
                if (n > 1)
                    assert_int_equal(lzf_decompress(out, c, back, n - 1), 0);
            }
            free(in);
            free(out);
            free(back);
        }
    }
}

/* The compressor's hash table outlives a call (one per thread, emptied by
 * each call): the output for an input is the same whatever was compressed
 * before it — short inputs (their slots cleared one by one), long ones
 * (the whole table cleared), an output buffer too small (an early exit) —
 * and the same as on a fresh thread's first call (the first call here). */
static void test_lzf_independent_calls(void **state)
{
    (void)state;
    const char *probe = "hello hello hello world, hello hello hello world!!";
    size_t pn = strlen(probe);
    unsigned char first[128], again[128];
    size_t c1 = lzf_compress(probe, pn, first, sizeof first);
    assert_true(c1 > 0 && c1 < pn);
    srand(11);
    size_t sizes[] = {3, 21, 64, 511, 512, 513, 5000, 70000};
    for (int round = 0; round < 40; round++) {
        size_t n = sizes[(size_t)round % (sizeof sizes / sizeof *sizes)];
        unsigned char *in = malloc(n), *out = malloc(n + 64);
        for (size_t i = 0; i < n; i++)
            in[i] = (unsigned char)("abcdabce"[rand() % 8]);
        /* Sometimes with too little room, so that the call stops early. */
        (void)lzf_compress(in, n, out, round % 3 == 0 ? n / 4 + 1 : n + 64);
        free(in);
        free(out);
        size_t c2 = lzf_compress(probe, pn, again, sizeof again);
        assert_int_equal(c2, c1);
        assert_memory_equal(again, first, c1);
    }
}

/* Malformed input: a reference before the start, a truncated run, a
 * missing offset byte. Each is refused without reading or writing out of
 * bounds (ASan watches). */
static void test_lzf_hostile(void **state)
{
    (void)state;
    unsigned char out[64];
    static const unsigned char back_too_far[] = {0x00, 'a', 0x20, 0x05};
    static const unsigned char short_literal[] = {0x05, 'a', 'b'};
    static const unsigned char no_offset[] = {0x00, 'a', 0x20};
    static const unsigned char long_no_len[] = {0x00, 'a', 0xe0};
    assert_int_equal(lzf_decompress(back_too_far, sizeof back_too_far, out, sizeof out), 0);
    assert_int_equal(lzf_decompress(short_literal, sizeof short_literal, out, sizeof out), 0);
    assert_int_equal(lzf_decompress(no_offset, sizeof no_offset, out, sizeof out), 0);
    assert_int_equal(lzf_decompress(long_no_len, sizeof long_no_len, out, sizeof out), 0);
    srand(9);
    for (int t = 0; t < 20000; t++) {
        unsigned char in[24];
        size_t n = (size_t)(rand() % (int)sizeof in);
        for (size_t i = 0; i < n; i++)
            in[i] = (unsigned char)rand();
        size_t got = lzf_decompress(in, n, out, (size_t)(rand() % 64));
        assert_true(got <= sizeof out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64_check_value),
        cmocka_unit_test(test_crc64_redis_payloads),
        cmocka_unit_test(test_crc64_incremental),
        cmocka_unit_test(test_lzf_redis_bytes),
        cmocka_unit_test(test_lzf_redis_match_at_end),
        cmocka_unit_test(test_lzf_round_trips),
        cmocka_unit_test(test_lzf_hostile),
        cmocka_unit_test(test_lzf_independent_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
