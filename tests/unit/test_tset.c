/* test_tset.c — the set value type: intset widths (16, 32, 64 bits) and
 * their ascending order, which strings count as integers, conversion to
 * hashtable on a non-integer and past set_max_intset_entries (one way),
 * iteration, SSCAN and random coverage on both encodings, views into the
 * set as arguments, set_dup, memory accounting, and a randomized run
 * against a simple model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "tset.h"

/* ---- Fixture ---- */

typedef struct fixture {
    kv_set *s;
    size_t mem_before;
    size_t max_entries;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->max_entries = set_max_intset_entries;
    set_max_intset_entries = 512;
    f->mem_before = kv_used_memory();
    f->s = set_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    set_free(f->s);
    set_max_intset_entries = f->max_entries;
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

static int add_s(kv_set **s, const char *m)
{
    return set_add(s, m, strlen(m));
}

static int has_s(kv_set *s, const char *m)
{
    return set_contains(s, m, strlen(m));
}

/* The members in iteration order, joined by spaces. */
static void members(kv_set *s, char *out, size_t cap)
{
    set_iter it;
    const char *m;
    size_t n, at = 0;
    out[0] = '\0';
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &n))
        at += (size_t)snprintf(out + at, cap - at, "%s%.*s", at ? " " : "", (int)n, m);
    set_iter_done(&it);
}

/* ---- Tests ---- */

/* An empty set is an intset with no members; lookups and removals of
 * anything find nothing. */
static void test_empty(void **state)
{
    fixture *f = *state;
    assert_int_equal(set_len(f->s), 0);
    assert_string_equal(set_encoding(f->s), "intset");
    assert_false(has_s(f->s, "1"));
    assert_false(has_s(f->s, "a"));
    assert_int_equal(set_remove(&f->s, "1", 1), 0);
    const char *m;
    size_t n;
    char buf[SET_NUMBUF];
    assert_int_equal(set_random(f->s, 7, &m, &n, buf), 0);
    char out[64];
    members(f->s, out, sizeof out);
    assert_string_equal(out, "");
}

/* Integers of every width come back in ascending order; widening keeps
 * the order and every member. */
static void test_intset_widths(void **state)
{
    fixture *f = *state;
    const char *in[] = {"5", "-3", "40000", "-40000", "3000000000", "-3000000000",
                        "9223372036854775807", "-9223372036854775808", "0", "32767", "-32768"};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        assert_int_equal(add_s(&f->s, in[i]), 1);
    assert_int_equal(add_s(&f->s, "40000"), 0);
    assert_string_equal(set_encoding(f->s), "intset");
    char out[256];
    members(f->s, out, sizeof out);
    assert_string_equal(out, "-9223372036854775808 -3000000000 -40000 -32768 -3 0 5 32767 "
                             "40000 3000000000 9223372036854775807");
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        assert_true(has_s(f->s, in[i]));
    assert_int_equal(set_remove(&f->s, "-3000000000", 11), 1);
    assert_int_equal(set_remove(&f->s, "-3000000000", 11), 0);
    members(f->s, out, sizeof out);
    assert_string_equal(out, "-9223372036854775808 -40000 -32768 -3 0 5 32767 40000 3000000000 "
                             "9223372036854775807");
    assert_int_equal(set_len(f->s), 10);
}

/* Only canonical integers stay in an intset: "01", "+1", " 1", "-0",
 * "1.0" and 2^63 are strings, and adding one converts the set. */
static void test_noncanonical_converts(void **state)
{
    fixture *f = *state;
    const char *bad[] = {"01", "+1", " 1", "-0", "1.0", "9223372036854775808", "", "a"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        kv_set *s = set_new();
        add_s(&s, "1");
        assert_false(set_contains(s, bad[i], strlen(bad[i])));
        assert_int_equal(set_remove(&s, bad[i], strlen(bad[i])), 0);
        assert_string_equal(set_encoding(s), "intset");
        assert_int_equal(set_add(&s, bad[i], strlen(bad[i])), 1);
        assert_string_equal(set_encoding(s), "hashtable");
        assert_true(set_contains(s, bad[i], strlen(bad[i])));
        assert_true(has_s(s, "1"));
        assert_int_equal(set_len(s), 2);
        set_free(s);
        kv_set *t = set_new_for(bad[i], strlen(bad[i]));
        assert_string_equal(set_encoding(t), "hashtable");
        set_free(t);
    }
    kv_set *t = set_new_for("-12", 3);
    assert_string_equal(set_encoding(t), "intset");
    set_free(t);
    (void)f;
}

/* The intset converts when it would pass set_max_intset_entries, never
 * back; a limit of 0 converts at the first member. */
static void test_convert_on_entries(void **state)
{
    fixture *f = *state;
    set_max_intset_entries = 4;
    for (int i = 0; i < 4; i++) {
        char b[8];
        snprintf(b, sizeof b, "%d", i);
        add_s(&f->s, b);
    }
    assert_string_equal(set_encoding(f->s), "intset");
    assert_int_equal(add_s(&f->s, "3"), 0);
    assert_string_equal(set_encoding(f->s), "intset");
    add_s(&f->s, "4");
    assert_string_equal(set_encoding(f->s), "hashtable");
    for (int i = 0; i < 5; i++) {
        char b[8];
        snprintf(b, sizeof b, "%d", i);
        assert_true(has_s(f->s, b));
    }
    set_remove(&f->s, "4", 1);
    set_remove(&f->s, "3", 1);
    assert_string_equal(set_encoding(f->s), "hashtable");
    set_max_intset_entries = 0;
    kv_set *z = set_new_for("7", 1);
    assert_int_equal(add_s(&z, "7"), 1);
    assert_string_equal(set_encoding(z), "hashtable");
    assert_true(has_s(z, "7"));
    set_free(z);
}

/* Binary members (NULs, high bytes, empty) work in the hashtable. */
static void test_binary_members(void **state)
{
    fixture *f = *state;
    assert_int_equal(set_add(&f->s, "a\0b", 3), 1);
    assert_int_equal(set_add(&f->s, "a\0c", 3), 1);
    assert_int_equal(set_add(&f->s, "", 0), 1);
    assert_int_equal(set_add(&f->s, "", 0), 0);
    assert_int_equal(set_add(&f->s, "\xff", 1), 1);
    assert_true(set_contains(f->s, "a\0b", 3));
    assert_false(set_contains(f->s, "a", 1));
    assert_int_equal(set_len(f->s), 4);
}

/* A member passed as a view into the same set (an iterator's buffer or
 * a hashtable node) is read before anything moves. */
static void test_views_as_arguments(void **state)
{
    fixture *f = *state;
    add_s(&f->s, "10");
    add_s(&f->s, "20");
    set_iter it;
    const char *m;
    size_t n;
    set_iter_init(&it, f->s);
    set_iter_next(&it, &m, &n);
    set_iter_done(&it);
    assert_int_equal(set_add(&f->s, m, n), 0);
    add_s(&f->s, "x");
    set_iter_init(&it, f->s);
    while (set_iter_next(&it, &m, &n) && !(n == 1 && m[0] == 'x'))
        ;
    set_iter_done(&it);
    assert_int_equal(set_add(&f->s, m, n), 0);
    assert_int_equal(set_remove(&f->s, m, n), 1);
    assert_int_equal(set_len(f->s), 2);
}

static void count_member(void *arg, const char *m, size_t n)
{
    int *seen = arg;
    char b[16];
    assert_true(n > 1 && n < sizeof b && m[0] == 'm');
    memcpy(b, m + 1, n - 1);
    b[n - 1] = '\0';
    int i = atoi(b);
    assert_true(i >= 0 && i < 1000);
    seen[i]++;
}

static void count_call(void *arg, const char *m, size_t n)
{
    (void)m;
    (void)n;
    (*(int *)arg)++;
}

/* Iteration, SSCAN to cursor 0 and random picks cover every member of a
 * hashtable set; an intset is scanned in one call. */
static void test_scan_iter_random_coverage(void **state)
{
    fixture *f = *state;
    kv_set *s = set_new_for("m0", 2);
    for (int i = 0; i < 1000; i++) {
        char b[16];
        snprintf(b, sizeof b, "m%d", i);
        add_s(&s, b);
    }
    int seen[1000] = {0};
    uint64_t cursor = 0;
    int calls = 0;
    do {
        cursor = set_scan(s, cursor, count_member, seen);
        calls++;
    } while (cursor);
    assert_true(calls > 1);
    for (int i = 0; i < 1000; i++)
        assert_true(seen[i] >= 1);
    memset(seen, 0, sizeof seen);
    set_iter it;
    const char *m;
    size_t n;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &n))
        count_member(seen, m, n);
    set_iter_done(&it);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(seen[i], 1);
    memset(seen, 0, sizeof seen);
    char buf[SET_NUMBUF];
    for (int i = 0; i < 20000; i++) {
        assert_int_equal(set_random(s, rng(), &m, &n, buf), 1);
        count_member(seen, m, n);
    }
    int covered = 0;
    for (int i = 0; i < 1000; i++)
        covered += seen[i] > 0;
    assert_true(covered > 990);
    set_free(s);
    for (int i = 0; i < 50; i++) {
        char b[8];
        snprintf(b, sizeof b, "%d", i);
        add_s(&f->s, b);
    }
    int hits = 0;
    assert_int_equal(set_scan(f->s, 0, count_call, &hits), 0);
    assert_int_equal(hits, 50);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(set_random(f->s, rng(), &m, &n, buf), 1);
        assert_true(set_contains(f->s, m, n));
    }
}

/* set_dup copies members and encoding; the copy is independent. */
static void test_dup(void **state)
{
    fixture *f = *state;
    add_s(&f->s, "1");
    add_s(&f->s, "2");
    kv_set *d = set_dup(f->s);
    assert_string_equal(set_encoding(d), "intset");
    add_s(&d, "x");
    assert_string_equal(set_encoding(d), "hashtable");
    assert_false(has_s(f->s, "x"));
    kv_set *e = set_dup(d);
    assert_string_equal(set_encoding(e), "hashtable");
    assert_int_equal(set_len(e), 3);
    assert_true(has_s(e, "x") && has_s(e, "1") && has_s(e, "2"));
    set_free(d);
    set_free(e);
    set_free(NULL);
}

/* set_mem grows with members and returns to the empty figure. */
static void test_mem_accounting(void **state)
{
    fixture *f = *state;
    size_t empty = set_mem(f->s);
    for (int i = 0; i < 100; i++) {
        char b[16];
        snprintf(b, sizeof b, "%d", i * 1000);
        add_s(&f->s, b);
    }
    size_t ints = set_mem(f->s);
    assert_true(ints > empty);
    assert_true(ints - empty <= 100 * 4 + 64); /* 4-byte integers */
    for (int i = 0; i < 100; i++) {
        char b[16];
        snprintf(b, sizeof b, "%d", i * 1000);
        assert_int_equal(add_s(&f->s, b) + set_remove(&f->s, b, strlen(b)), 1);
    }
    assert_int_equal(set_mem(f->s), empty);
}

/* Random adds and removes of integers and strings agree with a model
 * (an array of flags) in membership, size and (while an intset) order. */
static void test_random_against_model(void **state)
{
    fixture *f = *state;
    set_max_intset_entries = 40;
    for (int round = 0; round < 20; round++) {
        kv_set *s = set_new();
        char present[300] = {0};
        int strings = (int)(rng() % 2);
        for (int op = 0; op < 2000; op++) {
            int v = (int)(rng() % 300);
            char b[16];
            if (strings && v >= 250)
                snprintf(b, sizeof b, "s%d", v);
            else
                snprintf(b, sizeof b, "%d", v - 100);
            if (rng() % 3) {
                assert_int_equal(add_s(&s, b), !present[v]);
                present[v] = 1;
            } else {
                assert_int_equal(set_remove(&s, b, strlen(b)), present[v]);
                present[v] = 0;
            }
        }
        size_t count = 0;
        for (int v = 0; v < 300; v++)
            count += present[v];
        assert_int_equal(set_len(s), count);
        if (set_is_intset(s)) {
            set_iter it;
            const char *m;
            size_t n;
            long prev = -1000;
            set_iter_init(&it, s);
            while (set_iter_next(&it, &m, &n)) {
                long x = strtol(m, NULL, 10);
                assert_true(x > prev);
                assert_true(present[x + 100]);
                prev = x;
            }
            set_iter_done(&it);
        }
        set_free(s);
    }
    (void)f;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intset_widths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noncanonical_converts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_convert_on_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views_as_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_iter_random_coverage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_accounting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_model, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
