/* test_engine_reload.c — engine_reload (DEBUG RELOAD): the keyspace is
 * saved and loaded back into the same keyspace object, unchanged; it
 * refuses while a command's effects are unlogged or another snapshot
 * runs; later writes and recovery go on from there. engine_reload_disk
 * (DEBUG RELOAD NOSAVE) rebuilds it from disk without a snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine.h"
#include "engine_fx.h"
#include "err.h"
#include "log.h"
#include "testutil.h"

/* ---- Helpers ---- */

/* The only effect this test logs: SET k v. */
static int apply(void *arg, ks **dbs, int db, int argc, const char **argv, const size_t *lens,
                 char *err, size_t errlen)
{
    (void)arg;
    ks *k = dbs[db];
    if (argc == 3 && lens[0] == 3 && !strncasecmp(argv[0], "SET", 3)) {
        ks_set_string(k, argv[1], lens[1], argv[2], lens[2], 0);
        return 0;
    }
    return kve_fmt(err, errlen, KVE_CORRUPT, "unexpected command");
}

static void open_engine(fx *f)
{
    char err[512];
    int rc = engine_open(&f->e, &f->cfg, apply, NULL, NULL, err, sizeof err);
    if (rc)
        fprintf(stderr, "engine_open: %s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(engine_start(f->e, &f->loop, NULL, NULL), 0);
}

/* SET key value: applied to the keyspace and logged as one entry. */
static void set(fx *f, const char *key, const char *val, int64_t expire_ms)
{
    ks *k = engine_ks(f->e);
    kobj *o = ks_set_string(k, key, strlen(key), val, strlen(val), 0);
    if (expire_ms >= 0)
        ks_set_expire(k, o, expire_ms);
    const char *argv[3] = {"SET", key, val};
    size_t lens[3] = {3, strlen(key), strlen(val)};
    engine_entry_add(f->e, 0, 3, argv, lens);
    assert_true(engine_entry_commit(f->e) > 0);
}

/* ---- Tests ---- */

/* Reload keeps every key, value and TTL, and the same keyspace object. */
static void test_reload_keeps_data(void **state)
{
    fx *f = *state;
    open_engine(f);
    for (int i = 0; i < 200; i++) {
        char k[32], v[32];
        snprintf(k, sizeof k, "key:%d", i);
        snprintf(v, sizeof v, "value-%d", i * 7);
        set(f, k, v, i % 3 == 0 ? 4102444800000LL + i : -1);
    }
    ks *before_ptr = engine_ks(f->e);
    char before[41], after[41];
    ks_digest(before_ptr, before);
    char err[256];
    assert_int_equal(engine_reload(f->e, err, sizeof err), 0);
    assert_ptr_equal(engine_ks(f->e), before_ptr);
    ks_digest(engine_ks(f->e), after);
    assert_string_equal(before, after);
    assert_int_equal(ks_size(engine_ks(f->e)), 200);
    assert_int_equal(ks_expires(engine_ks(f->e)), 67);
    assert_int_equal(tu_count_files(f->dir, "snap-", ".snap"), 1);
    engine_stats st;
    engine_get_stats(f->e, &st);
    assert_int_equal(st.last_save_lsn, engine_last_lsn(f->e));

    /* Writes go on, and a recovery sees snapshot + the WAL after it. */
    set(f, "later", "1", -1);
    ks_digest(engine_ks(f->e), before);
    close_engine(f);
    open_engine(f);
    ks_digest(engine_ks(f->e), after);
    assert_string_equal(before, after);
    assert_int_equal(engine_recovery_info(f->e)->wal.entries_replayed, 1);
}

/* Reload of an empty keyspace, twice in a row (the second finds its
 * snapshot already there). */
static void test_reload_empty_and_again(void **state)
{
    fx *f = *state;
    open_engine(f);
    char err[256];
    assert_int_equal(engine_reload(f->e, err, sizeof err), 0);
    assert_int_equal(ks_size(engine_ks(f->e)), 0);
    set(f, "a", "1", -1);
    assert_int_equal(engine_reload(f->e, err, sizeof err), 0);
    assert_int_equal(engine_reload(f->e, err, sizeof err), 0);
    assert_int_equal(ks_size(engine_ks(f->e)), 1);
    kobj *o = ks_find(engine_ks(f->e), "a", 1);
    assert_non_null(o);
    size_t n;
    const char *v = kobj_str(o, &n);
    assert_int_equal(n, 1);
    assert_memory_equal(v, "1", 1);
}

/* While effects of a command are not logged yet the image would not match
 * the log: reload refuses and changes nothing. */
static void test_reload_refuses_pending_entry(void **state)
{
    fx *f = *state;
    open_engine(f);
    set(f, "a", "1", -1);
    const char *argv[3] = {"SET", "b", "2"};
    size_t lens[3] = {3, 1, 1};
    ks_set_string(engine_ks(f->e), "b", 1, "2", 1, 0);
    engine_entry_add(f->e, 0, 3, argv, lens);
    char err[256];
    assert_int_equal(engine_reload(f->e, err, sizeof err), KVE_BUSY);
    assert_int_equal(ks_size(engine_ks(f->e)), 2);
    assert_true(engine_entry_commit(f->e) > 0);
    assert_int_equal(engine_reload(f->e, err, sizeof err), 0);
    assert_int_equal(ks_size(engine_ks(f->e)), 2);
}

/* A background snapshot in progress (a forked child the loop has not
 * reaped): reload stops it and takes its own, as Redis's synchronous save
 * does not wait for its child; the stopped one is no failure. */
static void test_reload_supersedes_bgsave(void **state)
{
    fx *f = *state;
    f->cfg.snapshot_fork = 1;
    open_engine(f);
    for (int i = 0; i < 50; i++) {
        char k[32];
        snprintf(k, sizeof k, "k%d", i);
        set(f, k, "v", -1);
    }
    char err[256];
    assert_int_equal(engine_bgsave(f->e, err, sizeof err), 0);
    /* The child is reaped from the loop, which has not run: still busy. */
    engine_stats st;
    engine_get_stats(f->e, &st);
    assert_true(st.bgsave_in_progress);
    assert_int_equal(engine_reload(f->e, err, sizeof err), 0);
    assert_int_equal(ks_size(engine_ks(f->e)), 50);
    engine_get_stats(f->e, &st);
    assert_false(st.bgsave_in_progress);
    assert_true(st.last_bgsave_ok);
}

/* engine_reload_disk (DEBUG RELOAD NOSAVE): no snapshot is taken; the
 * keyspace comes back from the newest snapshot and the WAL after it (or
 * the WAL alone), the same as before, in the same keyspace object. */
static void test_reload_disk_keeps_data(void **state)
{
    fx *f = *state;
    open_engine(f);
    char err[256];
    /* The WAL alone first (this test's entries carry no TTLs). */
    for (int i = 0; i < 50; i++) {
        char k[32];
        snprintf(k, sizeof k, "w:%d", i);
        set(f, k, "v", -1);
    }
    ks *ptr = engine_ks(f->e);
    char before[41], after[41];
    ks_digest(ptr, before);
    assert_int_equal(engine_reload_disk(f->e, err, sizeof err), 0);
    assert_ptr_equal(engine_ks(f->e), ptr);
    ks_digest(ptr, after);
    assert_string_equal(before, after);
    assert_int_equal(tu_count_files(f->dir, "snap-", ".snap"), 0);
    /* Then a snapshot, and writes after it (one overwrites a key in it). */
    assert_int_equal(engine_save(f->e, err, sizeof err), 0);
    set(f, "w:1", "changed", -1);
    set(f, "after", "1", -1);
    ks_digest(ptr, before);
    assert_int_equal(engine_reload_disk(f->e, err, sizeof err), 0);
    ks_digest(ptr, after);
    assert_string_equal(before, after);
    assert_int_equal(ks_size(ptr), 51);
    kobj *o = ks_find(ptr, "w:1", 3);
    assert_non_null(o);
    size_t n;
    assert_memory_equal(kobj_str(o, &n), "changed", 7);
    assert_int_equal(tu_count_files(f->dir, "snap-", ".snap"), 1);
    /* An entry being built: refused, nothing changes. */
    ks_set_string(ptr, "b", 1, "2", 1, 0);
    const char *argv[3] = {"SET", "b", "2"};
    size_t lens[3] = {3, 1, 1};
    engine_entry_add(f->e, 0, 3, argv, lens);
    assert_int_equal(engine_reload_disk(f->e, err, sizeof err), KVE_BUSY);
    assert_int_equal(ks_size(ptr), 52);
    assert_true(engine_entry_commit(f->e) > 0);
    assert_int_equal(engine_reload_disk(f->e, err, sizeof err), 0);
    assert_int_equal(ks_size(ptr), 52);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reload_keeps_data, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_reload_empty_and_again, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_reload_refuses_pending_entry, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_reload_supersedes_bgsave, engine_fx_setup, engine_fx_teardown),
        cmocka_unit_test_setup_teardown(test_reload_disk_keeps_data, engine_fx_setup, engine_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
