/* test_buf.c — kbuf (appends, consume without moving, lazy compaction,
 * growth, shrink, memory accounting) and the decimal integer codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

/* ---- Fixture ---- */

/* Every test starts with an empty buffer and checks that freeing it gives
 * every byte back to mem.h's count. */
typedef struct fixture {
    kbuf b;
    size_t mem_before;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->mem_before = kv_used_memory();
    kbuf_init(&f->b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kbuf_free(&f->b);
    assert_int_equal(kv_used_memory(), f->mem_before);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

static void assert_contents(const kbuf *b, const char *want)
{
    assert_int_equal(kbuf_len(b), strlen(want));
    if (kbuf_len(b))
        assert_memory_equal(kbuf_data(b), want, strlen(want));
}

/* ---- Tests: the buffer ---- */

/* A zeroed buffer is empty, owns nothing, and can be freed twice. */
static void test_empty_buffer(void **state)
{
    fixture *f = *state;
    kbuf z = KBUF_INIT;
    assert_int_equal(kbuf_len(&z), 0);
    assert_null(kbuf_data(&z));
    assert_int_equal(kbuf_avail(&z), 0);
    kbuf_free(&z);
    kbuf_free(&z);
    kbuf_free(NULL);
    kbuf_append(&f->b, NULL, 0);
    assert_int_equal(kbuf_len(&f->b), 0);
}

/* Bytes, characters, C strings and formatted text append in order, binary
 * bytes included. */
static void test_appends(void **state)
{
    fixture *f = *state;
    kbuf_append(&f->b, "ab\0c", 4);
    kbuf_putc(&f->b, '\r');
    kbuf_append_str(&f->b, "xyz");
    kbuf_printf(&f->b, "[%d|%s]", 42, "q");
    assert_int_equal(kbuf_len(&f->b), 4 + 1 + 3 + 6);
    assert_memory_equal(kbuf_data(&f->b), "ab\0c\rxyz[42|q]", 14);
}

/* printf output longer than the free space grows the buffer and arrives
 * whole. */
static void test_printf_grows(void **state)
{
    fixture *f = *state;
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    kbuf_append_str(&f->b, "<");
    kbuf_printf(&f->b, "%s>%d", big, -7);
    assert_int_equal(kbuf_len(&f->b), 1 + 4999 + 1 + 2);
    assert_memory_equal(kbuf_data(&f->b) + 5000, ">-7", 3);
    assert_int_equal(kbuf_data(&f->b)[1], 'z');
}

/* The decimal fast paths print every edge value as printf does. */
static void test_decimal_appends(void **state)
{
    fixture *f = *state;
    const int64_t vals[] = {0, 1, -1, 9, 10, 99, 100, -100, 12345, INT64_MAX, INT64_MIN,
                            INT64_MAX - 1, INT64_MIN + 1, 1000000000000000000LL};
    char want[64];
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        kbuf_reset(&f->b);
        kbuf_append_i64(&f->b, vals[i]);
        snprintf(want, sizeof want, "%lld", (long long)vals[i]);
        assert_contents(&f->b, want);
    }
    const uint64_t uvals[] = {0, 9, 10, UINT64_MAX, 10000000000000000000ULL};
    for (size_t i = 0; i < sizeof uvals / sizeof uvals[0]; i++) {
        kbuf_reset(&f->b);
        kbuf_append_u64(&f->b, uvals[i]);
        snprintf(want, sizeof want, "%llu", (unsigned long long)uvals[i]);
        assert_contents(&f->b, want);
    }
}

/* Consuming from the front never moves the remaining data, and consuming
 * everything makes the whole allocation free again. */
static void test_consume_does_not_move(void **state)
{
    fixture *f = *state;
    kbuf_append_str(&f->b, "hello world");
    const char *w = kbuf_data(&f->b) + 6;
    kbuf_consume(&f->b, 6);
    assert_ptr_equal(kbuf_data(&f->b), w);
    assert_contents(&f->b, "world");
    size_t cap = f->b.cap;
    kbuf_consume(&f->b, 5);
    assert_int_equal(kbuf_len(&f->b), 0);
    assert_int_equal(kbuf_avail(&f->b), cap);
}

/* reserve + tail + commit is how a socket read fills the buffer. */
static void test_reserve_tail_commit(void **state)
{
    fixture *f = *state;
    kbuf_append_str(&f->b, "ab");
    kbuf_reserve(&f->b, 1000);
    assert_true(kbuf_avail(&f->b) >= 1000);
    memcpy(kbuf_tail(&f->b), "cdef", 4);
    kbuf_commit(&f->b, 4);
    assert_contents(&f->b, "abcdef");
    size_t cap = f->b.cap;
    kbuf_reserve(&f->b, 10); /* already there: nothing changes */
    assert_int_equal(f->b.cap, cap);
}

/* The consumed front is reclaimed by a move only once it is at least as
 * large as the data, and then without growing the allocation. */
static void test_lazy_compaction(void **state)
{
    fixture *f = *state;
    kbuf_reserve(&f->b, 100);
    size_t cap = f->b.cap;
    memset(kbuf_tail(&f->b), 'x', cap);
    kbuf_commit(&f->b, cap);
    /* Front hole smaller than the data: growing beats moving. */
    kbuf_consume(&f->b, cap / 4);
    kbuf_reserve(&f->b, cap / 8);
    assert_true(f->b.cap > cap);
    assert_int_equal(f->b.off, 0);
    /* Front hole larger than the data: move, keep the allocation. */
    kbuf_reset(&f->b);
    size_t cap2 = f->b.cap;
    memset(kbuf_tail(&f->b), 'y', cap2);
    kbuf_commit(&f->b, cap2);
    kbuf_consume(&f->b, cap2 - 10);
    kbuf_reserve(&f->b, 100);
    assert_int_equal(f->b.cap, cap2);
    assert_int_equal(f->b.off, 0);
    assert_int_equal(kbuf_len(&f->b), 10);
    assert_memory_equal(kbuf_data(&f->b), "yyyyyyyyyy", 10);
}

/* A steady stream through the buffer (append a little, consume most) keeps
 * the allocation bounded by a small multiple of the live data. */
static void test_streaming_stays_bounded(void **state)
{
    fixture *f = *state;
    char chunk[700];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (char)i;
    size_t produced = 0, consumed = 0, max_live = 0;
    for (int round = 0; round < 20000; round++) {
        kbuf_append(&f->b, chunk, sizeof chunk);
        produced += sizeof chunk;
        size_t take = kbuf_len(&f->b) > 1000 ? kbuf_len(&f->b) - 300 : 0;
        assert_int_equal((unsigned char)kbuf_data(&f->b)[0], consumed % 700 % 256);
        kbuf_consume(&f->b, take);
        consumed += take;
        if (kbuf_len(&f->b) > max_live)
            max_live = kbuf_len(&f->b);
    }
    assert_int_equal(produced - consumed, kbuf_len(&f->b));
    assert_true(f->b.cap <= 4 * (max_live + sizeof chunk));
}

/* Truncate drops bytes from the end; shrink gives memory back and keeps
 * the data. */
static void test_truncate_and_shrink(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 10000; i++)
        kbuf_putc(&f->b, (char)('a' + i % 26));
    kbuf_consume(&f->b, 9990);
    assert_contents(&f->b, "ghijklmnop");
    kbuf_truncate(&f->b, 4);
    assert_contents(&f->b, "ghij");
    size_t before = kv_used_memory();
    kbuf_shrink(&f->b, 0);
    assert_true(kv_used_memory() < before);
    assert_true(f->b.cap < 100);
    assert_contents(&f->b, "ghij");
    kbuf_truncate(&f->b, 0);
    kbuf_shrink(&f->b, 0);
    assert_null(f->b.ptr);
    assert_int_equal(f->b.cap, 0);
}

/* Growing a buffer to 64 MiB one 16 KiB read at a time reallocates a
 * logarithmic number of times. */
static void test_geometric_growth(void **state)
{
    fixture *f = *state;
    int reallocs = 0;
    size_t cap = f->b.cap;
    for (int i = 0; i < 4096; i++) {
        kbuf_reserve(&f->b, 16 * 1024);
        memset(kbuf_tail(&f->b), 'g', 16 * 1024);
        kbuf_commit(&f->b, 16 * 1024);
        if (f->b.cap != cap) {
            reallocs++;
            cap = f->b.cap;
        }
    }
    assert_int_equal(kbuf_len(&f->b), 64u * 1024 * 1024);
    assert_true(reallocs <= 40);
}

/* An exact reserve for a huge known size allocates that size, not the
 * next geometric step, and keeps the data. */
static void test_reserve_exact(void **state)
{
    fixture *f = *state;
    kbuf_append_str(&f->b, "head");
    const size_t big = 3u * 1024 * 1024 + 17;
    kbuf_reserve_exact(&f->b, big);
    assert_true(kbuf_avail(&f->b) >= big);
    assert_true(f->b.cap <= 4 + big + 4096); /* malloc rounds to a page at most */
    assert_contents(&f->b, "head");
    size_t cap = f->b.cap;
    kbuf_reserve_exact(&f->b, 10); /* already there */
    assert_int_equal(f->b.cap, cap);
    /* With a consumed front as large as the data, it reclaims instead. */
    kbuf_consume(&f->b, 2);
    kbuf_reserve_exact(&f->b, kbuf_avail(&f->b) + 1);
    assert_int_equal(f->b.cap, cap);
    assert_int_equal(f->b.off, 0);
    assert_contents(&f->b, "ad");
}

/* ---- Tests: decimal codec ---- */

/* ll2string writes exactly what printf would and refuses a short buffer. */
static void test_ll2string(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(kv_ll2string(buf, sizeof buf, LLONG_MIN), 20);
    assert_string_equal(buf, "-9223372036854775808");
    assert_int_equal(kv_ll2string(buf, sizeof buf, LLONG_MAX), 19);
    assert_string_equal(buf, "9223372036854775807");
    assert_int_equal(kv_ll2string(buf, sizeof buf, 0), 1);
    assert_string_equal(buf, "0");
    assert_int_equal(kv_ull2string(buf, sizeof buf, ULLONG_MAX), 20);
    assert_string_equal(buf, "18446744073709551615");
    /* Room for the digits but not the NUL: refused, as Redis's ll2string. */
    assert_int_equal(kv_ll2string(buf, 3, 123), 0);
    assert_string_equal(buf, "");
    assert_int_equal(kv_ll2string(buf, 4, -123), 0);
    assert_int_equal(kv_ll2string(buf, 5, -123), 4);
    assert_string_equal(buf, "-123");
    assert_int_equal(kv_ll2string(buf, 1, -1), 0);
    assert_int_equal(kv_ll2string(buf, 0, 5), 0);
    for (long long v = -100000; v <= 100000; v += 7) {
        char want[32];
        snprintf(want, sizeof want, "%lld", v);
        assert_int_equal(kv_ll2string(buf, sizeof buf, v), strlen(want));
        assert_string_equal(buf, want);
    }
}

/* string2ll accepts only the canonical decimal form of an in-range value. */
static void test_string2ll(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
        long long v;
    } cases[] = {
        {"0", 1, 0},
        {"1", 1, 1},
        {"-1", 1, -1},
        {"123", 1, 123},
        {"9223372036854775807", 1, LLONG_MAX},
        {"-9223372036854775808", 1, LLONG_MIN},
        {"9223372036854775808", 0, 0},
        {"-9223372036854775809", 0, 0},
        {"18446744073709551615", 0, 0},
        {"18446744073709551616", 0, 0},
        {"99999999999999999999", 0, 0},
        {"000000000000000000001", 0, 0},
        {"", 0, 0},
        {"-", 0, 0},
        {"-0", 0, 0},
        {"00", 0, 0},
        {"01", 0, 0},
        {"+1", 0, 0},
        {" 1", 0, 0},
        {"1 ", 0, 0},
        {"1e3", 0, 0},
        {"1.0", 0, 0},
        {"0x10", 0, 0},
        {"inf", 0, 0},
        {"nan", 0, 0},
        {"--1", 0, 0},
        {"1-", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long v = 12345;
        int ok = kv_string2ll(cases[i].s, strlen(cases[i].s), &v);
        assert_int_equal(ok, cases[i].ok);
        assert_true(ok ? v == cases[i].v : v == 12345);
    }
    /* Length is exact: a NUL or anything past slen is not looked at. */
    long long v;
    assert_int_equal(kv_string2ll("12\0", 3, &v), 0);
    assert_int_equal(kv_string2ll("129", 2, &v), 1);
    assert_int_equal(v, 12);
    assert_int_equal(kv_string2ll("7", 1, NULL), 1);
}

/* Every value survives ll2string then string2ll unchanged. */
/* Redis's sdscatrepr, byte for byte (what redis-cli MONITOR and the Lua
 * debugger show). */
static void test_append_repr(void **state)
{
    (void)state;
    kbuf b = KBUF_INIT;
    const char in[] = "a\"b\\c\n\r\t\a\b\x01\x7f\xff \x00z";
    kbuf_append_repr(&b, in, sizeof in - 1);
    kbuf_putc(&b, '\0');
    assert_string_equal(kbuf_data(&b),
                        "\"a\\\"b\\\\c\\n\\r\\t\\a\\b\\x01\\x7f\\xff \\x00z\"");
    kbuf_reset(&b);
    kbuf_append_repr(&b, "", 0);
    assert_int_equal(kbuf_len(&b), 2);
    kbuf_free(&b);
}

static void test_round_trip(void **state)
{
    (void)state;
    char buf[32];
    unsigned long long u = 1;
    for (int i = 0; i < 2000; i++) {
        u = u * 6364136223846793005ULL + 1442695040888963407ULL;
        int shift = i % 64;
        long long x = (long long)(u >> shift); /* any value when shift is 0 */
        if (shift && i % 2)
            x = -x - (i % 3 == 0);
        size_t n = kv_ll2string(buf, sizeof buf, x);
        long long back;
        assert_int_equal(kv_string2ll(buf, n, &back), 1);
        assert_true(back == x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_printf_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decimal_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consume_does_not_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserve_tail_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming_stays_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate_and_shrink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_geometric_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserve_exact, setup, teardown),
        cmocka_unit_test(test_ll2string),
        cmocka_unit_test(test_string2ll),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_append_repr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
