/* test_lazyfree.c — the lazyfree thread and the keyspace's lazy drops:
 * a large value deleted lazily is freed on the thread (counted pending,
 * then freed, its memory given back), a small one or a non-lazy delete at
 * once; a lazy clear hands the tables over whole, one object per key;
 * lazyfree-lazy-server-del covers an overwrite and RENAME's destination,
 * lazyfree-lazy-expire the active expiry cycle; jobs run in order, the
 * loop keeps allocating while the thread frees (run under TSan too), and
 * the thread can be stopped and started again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyspace.h"
#include "lazyfree.h"
#include "mem.h"

/* ---- Fixture ---- */

typedef struct fixture {
    ks *k;
    size_t mem_before;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    lazyfree_drain();
    lazyfree_reset_stats();
    ks_set_lazyfree(0, 0);
    f->mem_before = kv_used_memory();
    f->k = ks_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ks_free(f->k);
    lazyfree_drain();
    ks_set_lazyfree(0, 0);
    assert_int_equal(lazyfree_pending(), 0);
    assert_int_equal(kv_used_memory(), f->mem_before);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

/* A set of n members "m0".."m(n-1)" under key. */
static kobj *add_set(ks *k, const char *key, int n)
{
    kv_set *s = set_new();
    char m[32];
    for (int i = 0; i < n; i++) {
        int len = snprintf(m, sizeof m, "m%d", i);
        set_add(&s, m, (size_t)len);
    }
    return ks_add_set(k, key, strlen(key), s);
}

static kobj *add_hash(ks *k, const char *key, int n)
{
    kv_hash *h = hash_new();
    char f[32];
    for (int i = 0; i < n; i++) {
        int len = snprintf(f, sizeof f, "f%d", i);
        hash_set(h, f, (size_t)len, "v", 1);
    }
    return ks_add_hash_value(k, key, strlen(key), h);
}

/* ---- Tests ---- */

static void test_large_value_goes_to_the_thread(void **state)
{
    fixture *f = *state;
    size_t before = kv_used_memory();
    kobj *o = add_set(f->k, "big", 10000);
    assert_true(ks_free_effort(o) > 64);
    size_t peak = kv_used_memory();
    assert_true(peak > before + 100000);
    assert_int_equal(ks_delete_lazy(f->k, "big", 3, 1), 1);
    assert_null(ks_find(f->k, "big", 3));
    assert_int_equal(ks_delete_lazy(f->k, "big", 3, 1), 0);
    lazyfree_drain();
    assert_int_equal(lazyfree_pending(), 0);
    assert_int_equal(lazyfree_freed(), 1);
    assert_true(kv_used_memory() < before + 1024); /* the table itself stays */
}

static void test_small_or_eager_frees_at_once(void **state)
{
    fixture *f = *state;
    kobj *o = add_set(f->k, "small", 10); /* ten members: under the threshold */
    assert_true(ks_free_effort(o) <= 64);
    assert_int_equal(ks_delete_lazy(f->k, "small", 5, 1), 1);
    ks_set_string(f->k, "s", 1, "hello", 5, 0);
    assert_int_equal(ks_delete_lazy(f->k, "s", 1, 1), 1);
    add_set(f->k, "big", 10000);
    assert_int_equal(ks_delete_lazy(f->k, "big", 3, 0), 1); /* not lazy: DEL */
    add_set(f->k, "big", 10000);
    assert_int_equal(ks_delete(f->k, "big", 3), 1); /* server-del off */
    lazyfree_drain();
    assert_int_equal(lazyfree_freed(), 0);
}

static void test_lazy_clear_counts_keys(void **state)
{
    fixture *f = *state;
    size_t before = kv_used_memory();
    char key[32];
    for (int i = 0; i < 5000; i++) {
        int len = snprintf(key, sizeof key, "k%d", i);
        kobj *o = ks_set_string(f->k, key, (size_t)len, "value", 5, 0);
        if (i % 2)
            ks_set_expire(f->k, o, 1000000 + i);
    }
    add_set(f->k, "big", 1000);
    ks_clear_lazy(f->k, 1);
    assert_int_equal(ks_size(f->k), 0);
    assert_int_equal(ks_expires(f->k), 0);
    /* The keyspace is usable at once. */
    ks_set_string(f->k, "after", 5, "x", 1, 0);
    assert_int_equal(ks_size(f->k), 1);
    lazyfree_drain();
    assert_int_equal(lazyfree_freed(), 5001);
    ks_clear_lazy(f->k, 0);
    ks_clear_lazy(f->k, 1); /* empty: nothing handed over */
    lazyfree_drain();
    assert_int_equal(lazyfree_freed(), 5001);
    assert_int_equal(kv_used_memory(), before);
}

static void test_server_del_overwrite_and_rename(void **state)
{
    fixture *f = *state;
    add_hash(f->k, "h", 5000);
    ks_set_string(f->k, "h", 1, "str", 3, 0); /* off: freed at once */
    lazyfree_drain();
    assert_int_equal(lazyfree_freed(), 0);
    ks_set_lazyfree(1, 0);
    add_hash(f->k, "h2", 5000);
    ks_set_string(f->k, "h2", 2, "str", 3, 0);
    add_set(f->k, "dst", 5000);
    kobj *src = ks_set_string(f->k, "src", 3, "x", 1, 0);
    kobj *moved = ks_rename(f->k, src, "dst", 3);
    assert_int_equal(kobj_type(moved), KT_STRING);
    lazyfree_drain();
    assert_int_equal(lazyfree_freed(), 2);
}

static void before_delete(void *arg, const char *key, size_t klen)
{
    (void)key;
    (void)klen;
    (*(int *)arg)++;
}

static void test_lazy_expire_cycle(void **state)
{
    fixture *f = *state;
    ks_set_lazyfree(0, 1);
    kobj *o = add_set(f->k, "e", 5000);
    ks_set_expire(f->k, o, 100);
    int seen = 0;
    size_t n = 0;
    for (int i = 0; i < 100 && !n; i++)
        n = ks_expire_cycle(f->k, 200, 20, before_delete, &seen);
    assert_int_equal(n, 1);
    assert_int_equal(seen, 1);
    assert_int_equal(ks_size(f->k), 0);
    lazyfree_drain();
    assert_int_equal(lazyfree_freed(), 1);
}

/* Many jobs while the loop keeps allocating and freeing: every one runs,
 * the counters add up, and (under TSan) nothing races. */
static void test_many_jobs_while_allocating(void **state)
{
    fixture *f = *state;
    char key[32];
    for (int round = 0; round < 40; round++) {
        int len = snprintf(key, sizeof key, "b%d", round);
        add_set(f->k, key, 2000);
        assert_int_equal(ks_delete_lazy(f->k, key, (size_t)len, 1), 1);
        for (int i = 0; i < 200; i++) {
            len = snprintf(key, sizeof key, "s%d", i);
            ks_set_string(f->k, key, (size_t)len, "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv", 40,
                          0);
        }
        size_t pending = lazyfree_pending(), freed = lazyfree_freed();
        assert_true(pending + freed == (size_t)round + 1);
    }
    lazyfree_drain();
    assert_int_equal(lazyfree_freed(), 40);
}

static void test_stop_and_start_again(void **state)
{
    fixture *f = *state;
    add_set(f->k, "a", 3000);
    ks_delete_lazy(f->k, "a", 1, 1);
    lazyfree_stop();
    assert_int_equal(lazyfree_pending(), 0); /* stop ran what was queued */
    assert_int_equal(lazyfree_freed(), 1);
    lazyfree_stop(); /* twice is fine */
    add_set(f->k, "b", 3000);
    ks_delete_lazy(f->k, "b", 1, 1);
    lazyfree_drain();
    assert_int_equal(lazyfree_freed(), 2);
    lazyfree_reset_stats();
    assert_int_equal(lazyfree_freed(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_large_value_goes_to_the_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_or_eager_frees_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_clear_counts_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_del_overwrite_and_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_expire_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_jobs_while_allocating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_and_start_again, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    lazyfree_stop();
    return rc;
}
