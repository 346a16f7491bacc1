/* test_crc32c.c — CRC-32C against published vectors, and the hardware and
 * software paths against each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

/* ---- Tests ---- */

/* The check value of the CRC-32C catalogue and RFC 3720's iSCSI vectors. */
static void test_known_vectors(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    unsigned char buf[32];
    memset(buf, 0, sizeof buf);
    assert_int_equal(crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof buf);
    assert_int_equal(crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    assert_int_equal(crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    assert_int_equal(crc32c(0, buf, 32), 0x113FDB5Cu);
    assert_int_equal(crc32c(0, "", 0), 0u);
}

/* Extending a crc piece by piece gives the crc of the whole, at every split
 * point and alignment, on both paths. */
static void test_incremental_and_paths_agree(void **state)
{
    (void)state;
    unsigned char buf[300];
    srand(7);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)rand();
    for (size_t off = 0; off < 8; off++) {
        size_t n = sizeof buf - off;
        uint32_t whole = crc32c_sw(0, buf + off, n);
        assert_int_equal(crc32c(0, buf + off, n), whole);
        for (size_t cut = 0; cut <= n; cut += 7) {
            uint32_t a = crc32c(0, buf + off, cut);
            assert_int_equal(crc32c(a, buf + off + cut, n - cut), whole);
            uint32_t s = crc32c_sw(0, buf + off, cut);
            assert_int_equal(crc32c_sw(s, buf + off + cut, n - cut), whole);
        }
    }
}

/* Every single-bit flip of a buffer changes its crc. */
/* crc32c_combine of two parts' CRCs is the CRC of their concatenation,
 * for parts of every length from 0 up and of up to a few megabytes (the
 * x^(2^k) table wraps after 2^32 doublings; lengths here reach 2^22). */
static void test_combine(void **state)
{
    (void)state;
    size_t n = (size_t)6 << 20;
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    for (size_t a = 0; a < 300; a += 7)
        for (size_t b = 0; b < 300; b++)
            assert_true(crc32c_combine(crc32c(0, buf, a), crc32c(0, buf + a, b), b) ==
                        crc32c(0, buf, a + b));
    size_t splits[][2] = { /* a + b <= n */{0, (size_t)4 << 20}, {1, (size_t)1 << 20}, {12345, (size_t)3 << 20},
                          {(size_t)1 << 20, ((size_t)4 << 20) + 17}, {999999, 1}};
    for (size_t i = 0; i < sizeof splits / sizeof *splits; i++) {
        size_t a = splits[i][0], b = splits[i][1];
        assert_true(crc32c_combine(crc32c(0, buf, a), crc32c(0, buf + a, b), b) ==
                    crc32c(0, buf, a + b));
    }
    /* A chain of parts, as a reader of blocks combines them. */
    uint32_t whole = 0;
    size_t off = 0;
    for (size_t len = 1; off + len <= n; off += len, len = len * 3 + 5)
        whole = crc32c_combine(whole, crc32c(0, buf + off, len), len);
    assert_true(whole == crc32c(0, buf, off));
    free(buf);
}

static void test_single_bit_flips_detected(void **state)
{
    (void)state;
    unsigned char buf[128];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 37 + 1);
    uint32_t good = crc32c(0, buf, sizeof buf);
    for (size_t bit = 0; bit < sizeof buf * 8; bit++) {
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_int_not_equal(crc32c(0, buf, sizeof buf), good);
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_incremental_and_paths_agree),
        cmocka_unit_test(test_single_bit_flips_detected),
        cmocka_unit_test(test_combine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
