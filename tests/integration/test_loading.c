/* test_loading.c — progress where work is long, on real processes: a node
 * restarting listens while it loads its data and answers as Redis does
 * (-LOADING, INFO loading_*), logs its progress, and exits at once on
 * SIGTERM; a snapshot being written shows its progress in INFO and the
 * log; a replica receiving a snapshot shows master_sync_* in INFO.
 *
 * Redis's hidden test knobs slow each job down so that it can be watched:
 * key-load-delay (loading) and rdb-key-save-delay (a snapshot), plus
 * kvnode's own KVNODE_TEST_SNAP_RECV_DELAY_US (environment, inherited by
 * the node) for a snapshot a replica receives. */
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
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ---- Fixture ---- */

typedef struct fixture {
    char *tmp;
    h_proc a, b;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->tmp = h_tmpdir("loading");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    unsetenv("KVNODE_TEST_SNAP_RECV_DELAY_US");
    h_stop(&f->a, SIGTERM, 20000);
    h_stop(&f->b, SIGTERM, 20000);
    if (getenv("KV_TEST_KEEP"))
        fprintf(stderr, "kept %s\n", f->tmp);
    else
        h_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
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

/* A field of an INFO section ("" when absent) into out. */
static void field(kv_client *c, const char *section, const char *name, char *out, size_t len)
{
    char line[64];
    snprintf(line, sizeof line, "INFO %s", section);
    kv_reply *r = h_cmd(c, line);
    out[0] = '\0';
    if (!r || !r->str) {
        kv_reply_free(r);
        return;
    }
    char key[128];
    snprintf(key, sizeof key, "\n%s:", name);
    const char *p = strstr(r->str, key);
    if (p) {
        p += strlen(key);
        size_t n = strcspn(p, "\r\n");
        snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
    }
    kv_reply_free(r);
}

static long long num(kv_client *c, const char *section, const char *name)
{
    char v[64];
    field(c, section, name, v, sizeof v);
    return v[0] ? atoll(v) : -1;
}

static int spare_ready(void *arg)
{
    return num(arg, "persistence", "wal_spare_ready") == 1;
}

/* A node with a snapshot and a WAL after it, stopped: ~30 MB to load. */
static void make_data(fixture *f, const char *const *extra)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/a", f->tmp);
    assert_int_equal(h_kvnode_start(&f->a, dir, extra), 0);
    kv_client *c = h_connect(f->a.port);
    assert_non_null(c);
    for (int i = 0; extra && extra[i]; i++)
        if (!strcmp(extra[i], "--requirepass")) {
            char auth[128];
            snprintf(auth, sizeof auth, "AUTH %s", extra[i + 1]);
            ok(c, auth);
        }
    ok(c, "DEBUG POPULATE 150000 key 100");
    ok(c, "SAVE");
    ok(c, "DEBUG POPULATE 160000 key 100"); /* 10,000 more after the snapshot */
    kv_client_free(c);
    assert_int_equal(WEXITSTATUS(h_stop(&f->a, SIGTERM, 20000)), 0);
}

/* Start p again on its data with --key-load-delay us for this start only
 * (later restarts load at full speed). */
static void respawn_slow(h_proc *p, const char *us)
{
    char *saved[64];
    const char *argv[66];
    int n = 0;
    for (; p->argv[n] && n < 62; n++) {
        saved[n] = strdup(p->argv[n]);
        argv[n] = saved[n];
    }
    argv[n] = "--key-load-delay";
    argv[n + 1] = us;
    argv[n + 2] = NULL;
    h_set_args(p, argv);
    assert_int_equal(h_respawn(p), 0);
    argv[n] = NULL;
    h_set_args(p, argv);
    for (int i = 0; i < n; i++)
        free(saved[i]);
}

/* Until the node answers with anything but -LOADING (bounded). */
static int loaded(void *arg)
{
    h_proc *p = arg;
    kv_client *c = h_connect(p->port);
    if (!c)
        return 0;
    kv_reply *r = h_cmd(c, "PING");
    int done = r && r->type == KV_REPLY_STATUS;
    kv_reply_free(r);
    kv_client_free(c);
    return done;
}

static kv_client *connect_loading(h_proc *p)
{
    kv_client *c = NULL;
    long long deadline = h_now_ms() + 20000;
    while (!c && h_now_ms() < deadline) {
        c = h_connect(p->port);
        if (!c)
            sleep_ms(20);
    }
    return c;
}

/* ---- Tests ---- */

/* While it loads, a restarted node answers PING and data commands with
 * Redis's exact -LOADING error, INFO persistence shows loading:1 and
 * loading_* figures that move, CONFIG works; afterwards every key is there
 * and the log shows percent, MB/s and ETA lines and a last one. */
static void test_restart_loading(void **state)
{
    fixture *f = *state;
    make_data(f, NULL);
    /* 160,000 keys and entries at 40 us each: over 6 s, long enough for
     * progress lines (every 3 s). */
    respawn_slow(&f->a, "40");
    kv_client *c = connect_loading(&f->a);
    assert_non_null(c);
    const char *cmds[] = {"PING", "GET key:1", "SET x y", "DBSIZE", "MULTI", "ROLE"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        kv_reply *r = h_cmd(c, cmds[i]);
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_ERROR);
        assert_string_equal(r->str, "LOADING Redis is loading the dataset in memory");
        kv_reply_free(r);
    }
    assert_int_equal(num(c, "persistence", "loading"), 1);
    assert_int_equal(num(c, "persistence", "async_loading"), 0);
    long long total = num(c, "persistence", "loading_total_bytes");
    long long first = num(c, "persistence", "loading_loaded_bytes");
    assert_true(total > 10000000);
    assert_true(first >= 0 && first <= total);
    char perc[32];
    field(c, "persistence", "loading_loaded_perc", perc, sizeof perc);
    assert_true(atof(perc) >= 0 && atof(perc) <= 100);
    assert_true(num(c, "persistence", "loading_eta_seconds") >= -1);
    assert_true(num(c, "persistence", "loading_start_time") > 1600000000);
    ok(c, "CONFIG GET port");
    ok(c, "CLIENT SETNAME watcher");
    /* It moves. */
    long long later = first;
    long long deadline = h_now_ms() + 20000;
    while (later == first && h_now_ms() < deadline && num(c, "persistence", "loading") == 1) {
        sleep_ms(100);
        later = num(c, "persistence", "loading_loaded_bytes");
    }
    assert_true(later != first);
    kv_client_free(c);
    assert_true(h_wait_until(loaded, &f->a, 120000));
    c = h_connect(f->a.port);
    assert_non_null(c);
    kv_reply *r = h_cmd(c, "DBSIZE");
    assert_int_equal(r->integer, 160000);
    kv_reply_free(r);
    assert_int_equal(num(c, "persistence", "loading"), 0);
    kv_client_free(c);
    assert_true(h_log_has(&f->a, "Loading the data: "));
    assert_true(h_log_has(&f->a, " MB/s, ETA "));
    assert_true(h_log_has(&f->a, "Loading the data: done"));
}

/* With a password, an unauthenticated command while loading is refused for
 * the password first (Redis's order); after AUTH, -LOADING. */
static void test_loading_auth_order(void **state)
{
    fixture *f = *state;
    const char *extra[] = {"--requirepass", "pw", NULL};
    make_data(f, extra);
    respawn_slow(&f->a, "10");
    kv_client *c = connect_loading(&f->a);
    assert_non_null(c);
    kv_reply *r = h_cmd(c, "GET key:1");
    assert_non_null(r);
    assert_string_equal(r->str, "NOAUTH Authentication required.");
    kv_reply_free(r);
    ok(c, "AUTH pw");
    r = h_cmd(c, "GET key:1");
    assert_string_equal(r->str, "LOADING Redis is loading the dataset in memory");
    kv_reply_free(r);
    kv_client_free(c);
}

/* SIGTERM while loading: the node exits at once with status 0, and loads
 * everything on the next start. */
static void test_sigterm_while_loading(void **state)
{
    fixture *f = *state;
    make_data(f, NULL);
    respawn_slow(&f->a, "15");
    kv_client *c = connect_loading(&f->a);
    assert_non_null(c);
    assert_int_equal(num(c, "persistence", "loading"), 1);
    kv_client_free(c);
    long long t0 = h_now_ms();
    int st = h_stop(&f->a, SIGTERM, 5000);
    assert_true(st >= 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(h_now_ms() - t0 < 5000);
    assert_true(h_log_has(&f->a, "Shutting down while loading the data"));
    assert_int_equal(h_restart(&f->a), 0);
    c = h_connect(f->a.port);
    kv_reply *r = h_cmd(c, "DBSIZE");
    assert_int_equal(r->integer, 160000);
    kv_reply_free(r);
    kv_client_free(c);
}

/* A background snapshot shows its progress: current_save_keys_total is
 * the key count, current_save_keys_processed grows, current_fork_perc and
 * rdb_current_bgsave_time_sec are set; the child logs progress lines. */
static void test_snapshot_progress(void **state)
{
    fixture *f = *state;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/a", f->tmp);
    assert_int_equal(h_kvnode_start(&f->a, dir, NULL), 0);
    kv_client *c = h_connect(f->a.port);
    assert_non_null(c);
    ok(c, "DEBUG POPULATE 100000 key 100");
    ok(c, "CONFIG SET rdb-key-save-delay 60"); /* 100,000 keys: 6 s at least */
    ok(c, "BGSAVE");
    long long seen = 0, deadline = h_now_ms() + 60000;
    while (h_now_ms() < deadline && seen <= 0) {
        if (num(c, "persistence", "rdb_bgsave_in_progress") == 1)
            seen = num(c, "persistence", "current_save_keys_processed");
        sleep_ms(50);
    }
    assert_true(seen > 0);
    assert_int_equal(num(c, "persistence", "current_save_keys_total"), 100000);
    char perc[32];
    field(c, "persistence", "current_fork_perc", perc, sizeof perc);
    assert_true(atof(perc) > 0 && atof(perc) <= 100);
    assert_true(num(c, "persistence", "rdb_current_bgsave_time_sec") >= 0);
    deadline = h_now_ms() + 120000;
    while (h_now_ms() < deadline && num(c, "persistence", "rdb_bgsave_in_progress") == 1)
        sleep_ms(100);
    assert_int_equal(num(c, "persistence", "rdb_bgsave_in_progress"), 0);
    assert_int_equal(num(c, "persistence", "current_save_keys_total"), 0);
    assert_int_equal(num(c, "persistence", "rdb_current_bgsave_time_sec"), -1);
    kv_client_free(c);
    assert_true(h_log_has(&f->a, "Writing the snapshot: "));
    assert_true(h_log_has(&f->a, " keys, "));
}

/* A new replica bootstrapping from a shipped snapshot shows
 * master_sync_in_progress:1 with total, read and left bytes and a
 * percentage, logs its progress, and ends with all the data. */
static void test_replica_sync_progress(void **state)
{
    fixture *f = *state;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/a", f->tmp);
    const char *lead[] = {"--wal-segment-size", "1mb", "--repl-retention-bytes", "0",
                          "--snapshot-keep", "1", NULL};
    assert_int_equal(h_kvnode_start(&f->a, dir, lead), 0);
    kv_client *c = h_connect(f->a.port);
    assert_non_null(c);
    ok(c, "DEBUG POPULATE 100000 key 100");
    ok(c, "SAVE");
    /* The SET starts a new segment only if a spare is ready for it (the
     * one made after POPULATE's switch may still be on its way). */
    assert_true(h_wait_until(spare_ready, c, 30000));
    ok(c, "SET after snapshot");
    ok(c, "SAVE");
    long long deadline = h_now_ms() + 30000;
    while (h_now_ms() < deadline && num(c, "persistence", "wal_first_lsn") <= 2)
        sleep_ms(100);
    assert_true(num(c, "persistence", "wal_first_lsn") > 2);
    kv_client_free(c);

    snprintf(dir, sizeof dir, "%s/b", f->tmp);
    char of[16];
    snprintf(of, sizeof of, "%d", f->a.port);
    const char *follow[] = {"--replicaof", "127.0.0.1", of, NULL};
    setenv("KVNODE_TEST_SNAP_RECV_DELAY_US", "500000", 1);
    assert_int_equal(h_kvnode_start(&f->b, dir, follow), 0);
    unsetenv("KVNODE_TEST_SNAP_RECV_DELAY_US");
    kv_client *r = h_connect(f->b.port);
    assert_non_null(r);
    long long total = -1, read = -1, left = -1;
    deadline = h_now_ms() + 60000;
    while (h_now_ms() < deadline) {
        if (num(r, "replication", "master_sync_in_progress") == 1) {
            total = num(r, "replication", "master_sync_total_bytes");
            read = num(r, "replication", "master_sync_read_bytes");
            left = num(r, "replication", "master_sync_left_bytes");
            if (read > 0)
                break;
        }
        sleep_ms(50);
    }
    assert_true(total > 1000000);
    assert_true(read > 0 && read <= total);
    assert_true(left >= 0 && left <= total);
    char perc[32];
    field(r, "replication", "master_sync_perc", perc, sizeof perc);
    assert_true(atof(perc) > 0 && atof(perc) <= 100);
    deadline = h_now_ms() + 120000;
    long long n = 0;
    while (h_now_ms() < deadline) {
        kv_reply *x = h_cmd(r, "DBSIZE");
        n = x && x->type == KV_REPLY_INTEGER ? x->integer : 0;
        kv_reply_free(x);
        if (n == 100001)
            break;
        sleep_ms(100);
    }
    assert_int_equal(n, 100001);
    assert_int_equal(num(r, "replication", "master_sync_in_progress"), 0);
    kv_client_free(r);
    assert_true(h_log_has(&f->b, "Receiving a snapshot from the leader: "));
    assert_true(h_log_has(&f->b, "Receiving a snapshot from the leader: done"));
    assert_true(h_log_has(&f->b, "installed a snapshot at LSN"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_loading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loading_auth_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_while_loading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replica_sync_progress, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
