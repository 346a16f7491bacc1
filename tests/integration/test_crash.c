/* test_crash.c — durability of acknowledged writes across kill -9.
 *
 * A writer pipelines SETs and INCRs into a real kvnode (appendfsync
 * always) while another thread kills it with SIGKILL at a random moment;
 * after each restart every acknowledged SET must be there with its value,
 * and the counter must be at least the number of acknowledged INCRs and at
 * most the number sent (an unacknowledged INCR may or may not have
 * happened, but never twice). Repeated several times on one data dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ---- Fixture ---- */

static char *tmp;

static int setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("crash");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    h_stop_all();
    h_rmrf(tmp);
    free(tmp);
    return 0;
}

/* ---- Helpers ---- */

typedef struct killer {
    pid_t pid;
    int delay_ms;
} killer;

static void *kill_later(void *arg)
{
    killer *k = arg;
    struct timespec ts = {k->delay_ms / 1000, (k->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    kill(k->pid, SIGKILL);
    return NULL;
}

typedef struct ledger {
    unsigned char *acked; /* acked[n]: SET key:n was acknowledged */
    long long cap;
    long long next;       /* next key number to write */
    long long incr_acked, incr_sent;
} ledger;

/* Pipeline writes until the connection dies. */
static void write_until_dead(kv_client *c, ledger *lg)
{
    enum { BATCH = 64 };
    for (;;) {
        long long first = lg->next;
        int sent = 0;
        for (int i = 0; i < BATCH && lg->next < lg->cap; i++) {
            char key[32], val[32];
            snprintf(key, sizeof key, "key:%lld", lg->next);
            snprintf(val, sizeof val, "%lld", lg->next);
            const char *set[3] = {"SET", key, val};
            if (kv_client_append(c, 3, set, NULL) != 0)
                return;
            const char *incr[2] = {"INCR", "counter"};
            if (kv_client_append(c, 2, incr, NULL) != 0)
                return;
            lg->next++;
            sent++;
        }
        if (!sent)
            return;
        lg->incr_sent += sent;
        for (int i = 0; i < sent; i++) {
            kv_reply *r = NULL;
            if (kv_client_read(c, &r) != 0)
                return;
            if (r->type == KV_REPLY_STATUS)
                lg->acked[first + i] = 1;
            kv_reply_free(r);
            if (kv_client_read(c, &r) != 0)
                return;
            if (r->type == KV_REPLY_INTEGER)
                lg->incr_acked++;
            kv_reply_free(r);
        }
    }
}

/* ---- Tests ---- */

/* Five kill -9s at random moments during a pipelined write load: nothing
 * acknowledged is ever lost, and no INCR is applied more than once. */
static void test_kill9_loses_no_acknowledged_write(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/node", tmp);
    h_proc p;
    const char *extra[] = {"--appendfsync", "always", "--wal-segment-size", "1mb",
                           "--snapshot-wal-min-bytes", "2mb", "--snapshot-wal-growth-pct", "50",
                           NULL};
    assert_int_equal(h_kvnode_start(&p, dir, extra), 0);
    ledger lg = {0};
    lg.cap = 2000000;
    lg.acked = calloc((size_t)lg.cap, 1);
    unsigned seed = (unsigned)time(NULL);
    printf("seed %u\n", seed);
    srand(seed);
    for (int round = 0; round < 5; round++) {
        kv_client *c = h_connect(p.port);
        assert_non_null(c);
        killer k = {p.pid, 200 + rand() % 800};
        pthread_t t;
        pthread_create(&t, NULL, kill_later, &k);
        long long before = lg.next;
        write_until_dead(c, &lg);
        pthread_join(t, NULL);
        kv_client_free(c);
        int st = h_stop(&p, SIGKILL, 5000);
        (void)st;
        assert_int_equal(h_restart(&p), 0);
        c = h_connect(p.port);
        assert_non_null(c);
        long long acked = 0, checked = 0;
        for (long long n = 0; n < lg.next; n++) {
            if (!lg.acked[n])
                continue;
            acked++;
            /* Check every key of this round and a sample of older ones. */
            if (n < before && n % 97)
                continue;
            char key[32], want[32], got[64];
            snprintf(key, sizeof key, "key:%lld", n);
            snprintf(want, sizeof want, "\"%lld\"", n);
            const char *get[2] = {"GET", key};
            kv_reply *r = h_cmdv(c, 2, get, NULL);
            h_reply_text(r, got, sizeof got);
            kv_reply_free(r);
            if (strcmp(got, want) != 0)
                fail_msg("round %d: acknowledged SET %s lost or wrong: %s", round, key, got);
            checked++;
        }
        kv_reply *r = h_cmd(c, "GET counter");
        long long counter = r && r->type == KV_REPLY_STRING ? atoll(r->str) : 0;
        kv_reply_free(r);
        printf("round %d: %lld writes sent this round, %lld acknowledged in all, %lld checked, "
               "counter %lld (acked %lld, sent %lld)\n",
               round, lg.next - before, acked, checked, counter, lg.incr_acked, lg.incr_sent);
        assert_true(lg.next > before);
        assert_true(lg.incr_acked > 0);
        assert_true(counter >= lg.incr_acked);
        assert_true(counter <= lg.incr_sent);
        /* The unacknowledged tail: what happened is now known; the ledger
         * follows the server from here (the counter is what it is). */
        lg.incr_acked = counter;
        lg.incr_sent = counter;
        kv_client_free(c);
    }
    h_stop(&p, SIGTERM, 10000);
    free(lg.acked);
}

/* SIGTERM during a write load: the node finishes, syncs and exits 0; every
 * acknowledged write is there after a restart. */
static void test_sigterm_is_graceful(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/term", tmp);
    h_proc p;
    assert_int_equal(h_kvnode_start(&p, dir, NULL), 0);
    kv_client *c = h_connect(p.port);
    ledger lg = {0};
    lg.cap = 20000;
    lg.acked = calloc((size_t)lg.cap, 1);
    write_until_dead(c, &lg); /* until cap */
    kv_client_free(c);
    int st = h_stop(&p, SIGTERM, 20000);
    assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(h_restart(&p), 0);
    c = h_connect(p.port);
    kv_reply *r = h_cmd(c, "GET counter");
    assert_non_null(r);
    assert_int_equal(atoll(r->str), lg.cap);
    kv_reply_free(r);
    r = h_cmd(c, "GET key:19999");
    assert_string_equal(r->str, "19999");
    kv_reply_free(r);
    kv_client_free(c);
    h_stop(&p, SIGTERM, 10000);
    free(lg.acked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_loses_no_acknowledged_write),
        cmocka_unit_test(test_sigterm_is_graceful),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
