/* test_snapshot_nofork.c — background snapshots written by the event loop
 * (snapshot-fork no, the default) while clients keep changing the data.
 *
 * A snapshot is paced (rdb-key-save-delay) so that its walk
 * spans many loop iterations, and a client keeps running commands that
 * are not idempotent (LPUSH, INCR, HINCRBY, APPEND, ZINCRBY, RENAME, MOVE,
 * SWAPDB, FLUSHDB, EXPIRE/PERSIST, DEL) on the keys it walks over. Once it
 * is published, kill -9 and restart: recovery loads that snapshot and
 * replays the WAL after it, so a key written into the image in a state
 * later than the snapshot's LSN would have those commands applied twice
 * and the DEBUG DIGEST would differ. The same with snapshot-fork yes, and
 * a SHUTDOWN in the middle of a walk stops cleanly with nothing lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

typedef struct fixture {
    char *tmp;
    h_proc p;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->tmp = h_tmpdir("nofork");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    h_stop(&f->p, SIGTERM, 20000);
    h_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

static void ok(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    if (r->type == KV_REPLY_ERROR)
        fprintf(stderr, "%s: %s\n", line, r->str);
    assert_int_not_equal(r->type, KV_REPLY_ERROR);
    kv_reply_free(r);
}

/* One command of the mix, on keys the walk goes over. Errors (RENAME of
 * a missing key, a wrong type) are part of the mix. */
static void one_change(kv_client *c, unsigned n)
{
    char line[128];
    unsigned k = (n * 2654435761u) % 20000;
    switch (n % 14) {
    case 0: snprintf(line, sizeof line, "LPUSH list:%u v%u", k % 500, n); break;
    case 1: snprintf(line, sizeof line, "INCR ctr:%u", k % 300); break;
    case 2: snprintf(line, sizeof line, "HINCRBY h:%u f%u 3", k % 400, n % 7); break;
    case 3: snprintf(line, sizeof line, "APPEND key:%u +%u", k, n); break;
    case 4: snprintf(line, sizeof line, "ZINCRBY z:%u 1.5 m%u", k % 200, n % 9); break;
    case 5: snprintf(line, sizeof line, "RENAME key:%u key:%u", k, (k + 7) % 20000); break;
    case 6: snprintf(line, sizeof line, "MOVE key:%u 1", k); break;
    case 7: snprintf(line, sizeof line, "EXPIRE key:%u 100000", k); break;
    case 8: snprintf(line, sizeof line, "PERSIST key:%u", k); break;
    case 9: snprintf(line, sizeof line, "DEL key:%u", k); break;
    case 10: snprintf(line, sizeof line, "SADD s:%u m%u", k % 300, n); break;
    case 11: snprintf(line, sizeof line, "RPOPLPUSH list:%u list:%u", k % 500, (k + 1) % 500); break;
    case 12: snprintf(line, sizeof line, "%s", n % 280 == 12 ? "SWAPDB 0 1" : "SETRANGE key:1 3 zz"); break;
    default:
        snprintf(line, sizeof line, "%s", n % 700 == 13 ? "FLUSHDB" : "GET key:2");
        if (n % 700 == 13) {
            ok(c, "SELECT 2");
            kv_reply_free(h_cmd(c, line));
            ok(c, "SELECT 0");
            return;
        }
        break;
    }
    kv_reply_free(h_cmd(c, line));
}

/* Data in databases 0, 1 and 2: strings, lists, hashes, sets, sorted
 * sets, some with TTLs. */
static void populate(kv_client *c)
{
    ok(c, "DEBUG POPULATE 20000 key 16");
    ok(c, "SELECT 1");
    ok(c, "DEBUG POPULATE 5000 other 16");
    ok(c, "SELECT 2");
    ok(c, "DEBUG POPULATE 5000 third 16");
    ok(c, "SELECT 0");
    for (unsigned n = 0; n < 3000; n++)
        one_change(c, n);
}

static long long snapshots(kv_client *c)
{
    return h_info_num(c, "persistence", "snapshot_count");
}

/* BGSAVE with changes running through the whole walk; returns how many
 * changes ran while it was in progress. */
static unsigned save_under_changes(kv_client *c, unsigned *n)
{
    long long before = snapshots(c);
    assert_true(before >= 0);
    ok(c, "BGSAVE");
    unsigned during = 0;
    long long deadline = h_now_ms() + 120000;
    while (h_now_ms() < deadline && snapshots(c) == before) {
        for (int i = 0; i < 20; i++, (*n)++)
            one_change(c, *n);
        during += 20;
    }
    assert_true(snapshots(c) > before);
    return during;
}

static void check_restart(fixture *f, kv_client **c, const char *want)
{
    kv_client_free(*c);
    *c = NULL;
    h_stop(&f->p, SIGKILL, 5000);
    assert_int_equal(h_restart(&f->p), 0);
    char got[64];
    assert_true(h_wait_digest(c, f->p.port, got, sizeof got, 60000));
    assert_string_equal(got, want);
}

static void digest(kv_client *c, char *out, size_t len)
{
    kv_reply *r = h_cmd(c, "DEBUG DIGEST");
    h_reply_text(r, out, len);
    kv_reply_free(r);
}

static void run(fixture *f, const char *fork_opt)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/%s", f->tmp, fork_opt);
    /* 5 us per key: the walk of 30000 keys takes about 15 slices of 2000
     * keys 10 ms apart (a fork child sleeps 20 ms per 4096 keys), with
     * changes in between. */
    const char *extra[] = {"--appendfsync", "everysec", "--snapshot-fork", fork_opt,
                           "--snapshot-wal-min-bytes", "0", "--snapshot-wal-growth-pct", "0",
                           "--rdb-key-save-delay", "5", NULL};
    assert_int_equal(h_kvnode_start(&f->p, dir, extra), 0);
    kv_client *c = h_connect(f->p.port);
    assert_non_null(c);
    populate(c);
    unsigned n = 3000;
    for (int round = 0; round < 3; round++) {
        unsigned during = save_under_changes(c, &n);
        /* Entries after the snapshot, for recovery to replay. */
        for (int i = 0; i < 500; i++, n++)
            one_change(c, n);
        printf("%s round %d: %u changes during the snapshot\n", fork_opt, round, during);
        assert_true(during >= 20);
        char want[64];
        digest(c, want, sizeof want);
        check_restart(f, &c, want);
    }
    assert_true(h_log_has(&f->p, "WAL entries replayed"));
    kv_client_free(c);
    h_stop(&f->p, SIGTERM, 20000);
}

static void test_nofork_image_is_its_lsn(void **state)
{
    fixture *f = *state;
    run(f, "no");
    assert_true(h_log_has(&f->p, "started (no fork)"));
}

static void test_fork_image_is_its_lsn(void **state)
{
    fixture *f = *state;
    run(f, "yes");
    assert_true(h_log_has(&f->p, "started by pid"));
}

/* SHUTDOWN during a walk: the node stops at once without the image (the
 * WAL has everything), no temp file is left, and the data is all there
 * after the restart. */
static void test_shutdown_mid_walk(void **state)
{
    fixture *f = *state;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/stop", f->tmp);
    const char *extra[] = {"--rdb-key-save-delay", "50", NULL}; /* 1.5 s for 30000 keys */
    assert_int_equal(h_kvnode_start(&f->p, dir, extra), 0);
    kv_client *c = h_connect(f->p.port);
    assert_non_null(c);
    populate(c);
    ok(c, "BGSAVE");
    assert_int_equal(h_info_num(c, "persistence", "rdb_bgsave_in_progress"), 1);
    char want[64];
    digest(c, want, sizeof want);
    kv_reply_free(h_cmd(c, "SHUTDOWN NOSAVE"));
    kv_client_free(c);
    int st = h_stop(&f->p, 0, 20000);
    assert_true(st >= 0 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(h_log_has(&f->p, "stopped before the image was complete"));
    assert_int_equal(h_restart(&f->p), 0);
    c = NULL;
    char got[64];
    assert_true(h_wait_digest(&c, f->p.port, got, sizeof got, 60000));
    assert_string_equal(got, want);
    kv_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nofork_image_is_its_lsn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_image_is_its_lsn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_mid_walk, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
