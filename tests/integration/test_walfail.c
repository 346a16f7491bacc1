/* test_walfail.c — a primary whose WAL fails (fsync returns EIO, through
 * the test build's fsync failpoint) answers the waiting write with
 * "outcome unknown" and exits with status 1; the two others elect a new
 * primary that takes writes; restarted with a healthy disk, the old
 * primary recovers and follows, with the same data. Every wait is bounded
 * and asserted. */
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

#include "cluster.h"

static char fp[3][700];

static void set_failpoint(int i, const char *what)
{
    char tmp[720];
    snprintf(tmp, sizeof tmp, "%s.tmp", fp[i]);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", what);
    fclose(f);
    assert_int_equal(rename(tmp, fp[i]), 0);
}

static int setup(void **state)
{
    (void)state;
    hc_setup("walfail");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hc_teardown();
    return 0;
}

typedef struct exited {
    int i;
    int status;
} exited;

static int has_exited(void *arg)
{
    exited *e = arg;
    int st;
    if (waitpid(hc_node[e->i].pid, &st, WNOHANG) != hc_node[e->i].pid)
        return 0;
    e->status = st;
    return 1;
}

static int other_takes_writes(void *arg)
{
    int old = *(int *)arg;
    int l = hc_leader();
    if (l < 0 || l == old)
        return 0;
    kv_reply *r = hc_cmd(l, "SET after-failure yes");
    int ok = r && r->type == KV_REPLY_STATUS;
    kv_reply_free(r);
    return ok;
}

static void test_wal_failure_exits_and_cluster_moves_on(void **state)
{
    (void)state;
    /* Each node reads its own failpoint file (an empty one: healthy). */
    for (int i = 0; i < 3; i++) {
        snprintf(fp[i], sizeof fp[i], "%s/failpoint%d", hc_tmp, i);
        set_failpoint(i, "");
    }
    for (int i = 0; i < 3; i++) {
        setenv("KVNODE_FAILPOINT_FILE", fp[i], 1);
        hc_start(i, i ? 0 : -1, NULL);
    }
    unsetenv("KVNODE_FAILPOINT_FILE");
    hc_voters_want v = {0, 3};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    int l = hc_leader();
    assert_true(l >= 0);
    kv_reply *r = hc_cmd(l, "SET before-failure yes");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);

    set_failpoint(l, "fsync-error");
    r = hc_cmd(l, "SET during-failure yes");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_non_null(strstr(r->str, "The outcome of this write is unknown"));
    kv_reply_free(r);
    exited e = {l, 0};
    if (!h_wait_until(has_exited, &e, 10000)) {
        hc_dump_logs();
        fail_msg("node %d kept running after its WAL failed", l);
    }
    assert_true(WIFEXITED(e.status));
    assert_int_equal(WEXITSTATUS(e.status), 1);
    hc_node[l].pid = 0;
    hc_up[l] = 0;
    long long t0 = h_now_ms();
    if (!h_wait_until(other_takes_writes, &l, 20000)) {
        hc_dump_logs();
        fail_msg("no other node took writes after node %d exited", l);
    }
    printf("a new primary took writes %lld ms after the old one exited\n", h_now_ms() - t0);

    /* A healthy disk again: the old primary recovers and follows. */
    set_failpoint(l, "");
    setenv("KVNODE_FAILPOINT_FILE", fp[l], 1);
    assert_int_equal(h_restart(&hc_node[l]), 0);
    unsetenv("KVNODE_FAILPOINT_FILE");
    hc_up[l] = 1;
    int nl = hc_leader();
    assert_true(nl >= 0 && nl != l);
    r = hc_cmd(nl, "SET after-restart yes");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    hc_wait_caught_up(l, nl, 30000);
    hc_assert_same_digest(l, nl, 30000);
    r = hc_cmd(nl, "GET before-failure");
    assert_non_null(r);
    assert_string_equal(r->str, "yes");
    kv_reply_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wal_failure_exits_and_cluster_moves_on, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
