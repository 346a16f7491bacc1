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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
