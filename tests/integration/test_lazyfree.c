/* test_lazyfree.c — lazy freeing side by side with redis-server: UNLINK,
 * FLUSHDB/FLUSHALL ASYNC and the lazyfree-lazy-* options hand large values
 * to the lazyfree thread exactly where Redis 7.0 does, which INFO's
 * lazyfreed_objects shows (the same count on both servers after each
 * step), and the memory comes back (used_memory falls, and
 * lazyfree_pending_objects returns to 0). Small values are freed at once
 * (Redis's LAZYFREE_THRESHOLD of 64); a stream's effort counts its nodes
 * and consumer groups, as in Redis's own lazyfree tests; CONFIG RESETSTAT
 * clears the count. kvnode only: the log records a lazily expired key as
 * UNLINK, so a restart after kill -9 replays it (the key stays gone).
 * Every wait is bounded and asserted. */
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

/* ---- Fixture ---- */

static h_pair pr;
static kv_client *rc, *kc;

static int group_setup(void **state)
{
    (void)state;
    const char *extra[] = {"--save", "", "--appendfsync", "no", NULL};
    int r = h_pair_start(&pr, "lazyfree", NULL, extra);
    rc = pr.rc;
    kc = pr.kc;
    return r;
}

static int group_teardown(void **state)
{
    (void)state;
    pr.rc = rc;
    pr.kc = kc;
    h_pair_stop(&pr);
    return 0;
}

static void both(const char *line);

/* Each test starts from empty servers, default options, counters at 0. */
static int reset(void **state)
{
    (void)state;
    both("FLUSHALL SYNC");
    both("CONFIG SET lazyfree-lazy-user-del no");
    both("CONFIG SET lazyfree-lazy-user-flush no");
    both("CONFIG SET lazyfree-lazy-server-del no");
    both("CONFIG SET lazyfree-lazy-expire no");
    both("CONFIG RESETSTAT");
    return 0;
}

/* ---- Helpers ---- */

/* Both replies to `what`, freed; the test fails unless they are the same. */
static void same_replies(const char *what, kv_reply *a, kv_reply *b)
{
    assert_non_null(a);
    assert_non_null(b);
    char ta[512], tb[512];
    h_reply_text(a, ta, sizeof ta);
    h_reply_text(b, tb, sizeof tb);
    kv_reply_free(a);
    kv_reply_free(b);
    if (strcmp(ta, tb) != 0)
        fail_msg("%s: redis-server %s, kvnode %s", what, ta, tb);
}

/* The same command on both servers, with the same reply. */
static void both(const char *line)
{
    same_replies(line, h_cmd(rc, line), h_cmd(kc, line));
}

/* A script on both servers (one key), with the same reply. */
static void both_eval(const char *script, const char *key)
{
    const char *argv[4] = {"EVAL", script, "1", key};
    size_t lens[4] = {4, strlen(script), 1, strlen(key)};
    same_replies(key, h_cmdv(rc, 4, argv, lens), h_cmdv(kc, 4, argv, lens));
}

static const char big_set[] = "for i=1,100000 do redis.call('sadd',KEYS[1],i) end return 1";
static const char small_set[] = "for i=1,10 do redis.call('sadd',KEYS[1],'m'..i) end return 1";
static const char big_hash[] = "for i=1,100000 do redis.call('hset',KEYS[1],i,i) end return 1";
static const char strings[] = "for i=1,1000 do redis.call('set',KEYS[1]..i,i) end return 1";

static int drained_c(void *arg)
{
    return h_info_num(arg, "memory", "lazyfree_pending_objects") == 0;
}

/* Both lazyfree threads are done, and both servers counted `freed`. */
static void freed_is(long long freed)
{
    assert_true(h_wait_until(drained_c, rc, 10000));
    assert_true(h_wait_until(drained_c, kc, 10000));
    long long r = h_info_num(rc, "memory", "lazyfreed_objects");
    long long k = h_info_num(kc, "memory", "lazyfreed_objects");
    if (r != freed || k != freed)
        fail_msg("lazyfreed_objects: redis-server %lld, kvnode %lld, want %lld", r, k, freed);
}

typedef struct below {
    kv_client *c;
    long long limit;
} below;

static int used_below(void *arg)
{
    below *b = arg;
    long long used = h_info_num(b->c, "memory", "used_memory");
    return used >= 0 && used < b->limit;
}

/* ---- Tests ---- */

/* UNLINK of a 100k-member set: the lazyfree thread frees it (one object)
 * and kvnode's used memory comes back to where it was (the same check as
 * Redis's "UNLINK can reclaim memory in background"). */
static void test_unlink_reclaims_in_background(void **state)
{
    (void)state;
    long long orig = h_info_num(kc, "memory", "used_memory");
    both_eval(big_set, "myset");
    both("SCARD myset");
    long long peak = h_info_num(kc, "memory", "used_memory");
    assert_true(peak > orig + 1000000);
    both("UNLINK myset");
    both("EXISTS myset");
    below b = {kc, orig + (peak - orig) / 10};
    assert_true(h_wait_until(used_below, &b, 10000));
    freed_is(1);
}

/* Small values and strings are freed at once, even by UNLINK. */
static void test_unlink_small_frees_at_once(void **state)
{
    (void)state;
    both_eval(small_set, "small");
    both("SET str hello");
    both("UNLINK small str nosuchkey");
    freed_is(0);
}

/* DEL frees at once unless lazyfree-lazy-user-del is on. */
static void test_del_follows_lazy_user_del(void **state)
{
    (void)state;
    both_eval(big_set, "a");
    both("DEL a");
    freed_is(0);
    both("CONFIG SET lazyfree-lazy-user-del yes");
    both("CONFIG GET lazyfree-lazy-user-del");
    both_eval(big_set, "a");
    both("DEL a");
    freed_is(1);
}

/* FLUSHDB ASYNC hands over every key (one object each), SYNC none, and
 * without an argument lazyfree-lazy-user-flush decides. */
static void test_flush_async_counts_keys(void **state)
{
    (void)state;
    both_eval(strings, "k");
    both("FLUSHDB ASYNC");
    both("DBSIZE");
    freed_is(1000);
    both_eval(strings, "k");
    both("FLUSHALL SYNC");
    freed_is(1000);
    both_eval(strings, "k");
    both("FLUSHALL");
    freed_is(1000);
    both("CONFIG SET lazyfree-lazy-user-flush yes");
    both_eval(strings, "k");
    both("SELECT 1");
    both_eval(strings, "j");
    both("FLUSHALL");
    both("DBSIZE");
    both("SELECT 0");
    both("DBSIZE");
    freed_is(3000);
    both("FLUSHDB ASYNC"); /* nothing there: nothing counted */
    freed_is(3000);
}

/* Redis's "lazy free a stream with all types of metadata": 200 nodes, a
 * group with a PEL: lazily freed. */
static void test_stream_with_metadata_is_lazy(void **state)
{
    (void)state;
    both("CONFIG SET stream-node-max-entries 5");
    both_eval("for j=0,999 do redis.call('xadd',KEYS[1],j+1,'foo',j) end return 1", "stream");
    both("XGROUP CREATE stream mygroup 0");
    both("XREADGROUP GROUP mygroup Alice COUNT 2 STREAMS stream >");
    both("XDEL stream 1-0");
    both("XACK stream mygroup 2-0");
    both("UNLINK stream");
    freed_is(1);
    both("CONFIG SET stream-node-max-entries 100");
}

/* Redis's "lazy free a stream with deleted cgroup": one node, no group
 * left: freed at once. */
static void test_stream_with_deleted_group_is_not(void **state)
{
    (void)state;
    both("XADD s 1-1 a b");
    both("XGROUP CREATE s bla $");
    both("XGROUP DESTROY s bla");
    both("UNLINK s");
    freed_is(0);
}

/* lazyfree-lazy-server-del: values a command drops on its own (SET over a
 * hash, RENAME over a set) go to the thread. */
static void test_server_del(void **state)
{
    (void)state;
    both_eval(big_hash, "h");
    both("SET h now-a-string");
    freed_is(0);
    both("CONFIG SET lazyfree-lazy-server-del yes");
    both_eval(big_hash, "h2");
    both("SET h2 now-a-string");
    freed_is(1);
    both_eval(big_set, "dst");
    both("SET src x");
    both("RENAME src dst");
    both("TYPE dst");
    freed_is(2);
}

/* lazyfree-lazy-expire: an expired large set goes to the thread, whether
 * a lookup or the active cycle finds it. */
static int gone_c(void *arg)
{
    kv_reply *r = h_cmd(arg, "EXISTS e");
    int gone = r && r->type == KV_REPLY_INTEGER && r->integer == 0;
    kv_reply_free(r);
    return gone;
}

static void test_lazy_expire(void **state)
{
    (void)state;
    both("CONFIG SET lazyfree-lazy-expire yes");
    both_eval(big_set, "e");
    both("PEXPIRE e 1");
    assert_true(h_wait_until(gone_c, rc, 10000));
    assert_true(h_wait_until(gone_c, kc, 10000));
    freed_is(1);
}

/* CONFIG RESETSTAT clears lazyfreed_objects. */
static void test_resetstat(void **state)
{
    (void)state;
    both_eval(big_set, "a");
    both("UNLINK a");
    freed_is(1);
    both("CONFIG RESETSTAT");
    freed_is(0);
}

/* kvnode only: a lazily expired key is logged as UNLINK; after kill -9
 * the node replays it and the key stays gone, the others intact. */
static void test_lazy_expire_survives_kill(void **state)
{
    (void)state;
    kv_reply_free(h_cmd(kc, "CONFIG SET lazyfree-lazy-expire yes"));
    kv_reply_free(h_cmd(kc, "CONFIG SET appendfsync always"));
    both_eval(big_set, "e");
    both("SET keep 1");
    both("PEXPIRE e 1");
    assert_true(h_wait_until(gone_c, kc, 10000));
    assert_int_equal(h_info_num(kc, "stats", "expired_keys"), 1);
    kv_client_free(kc);
    kc = NULL;
    int st = h_stop(&pr.kv, SIGKILL, 10000);
    assert_true(st != -1 && WIFSIGNALED(st));
    assert_int_equal(h_restart(&pr.kv), 0);
    kc = h_connect(pr.kv.port);
    assert_non_null(kc);
    kv_reply *r = h_cmd(kc, "DBSIZE");
    assert_non_null(r);
    assert_int_equal(r->integer, 1);
    kv_reply_free(r);
    r = h_cmd(kc, "GET keep");
    assert_non_null(r);
    assert_string_equal(r->str, "1");
    kv_reply_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_unlink_reclaims_in_background, reset),
        cmocka_unit_test_setup(test_unlink_small_frees_at_once, reset),
        cmocka_unit_test_setup(test_del_follows_lazy_user_del, reset),
        cmocka_unit_test_setup(test_flush_async_counts_keys, reset),
        cmocka_unit_test_setup(test_stream_with_metadata_is_lazy, reset),
        cmocka_unit_test_setup(test_stream_with_deleted_group_is_not, reset),
        cmocka_unit_test_setup(test_server_del, reset),
        cmocka_unit_test_setup(test_lazy_expire, reset),
        cmocka_unit_test_setup(test_resetstat, reset),
        cmocka_unit_test_setup(test_lazy_expire_survives_kill, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
