/* test_evict.c — maxmemory between real kvnode processes on loopback: a
 * primary filled far past maxmemory under allkeys-lru evicts (cold keys
 * first), keeps used memory bounded, logs every eviction so that its
 * replica and a restarted replica hold exactly the same data (DEBUG
 * DIGEST); noeviction answers Redis's -OOM to writes flagged denyoom while
 * reads and deletions still run; volatile-* policies evict only keys with
 * a TTL and refuse writes once none is left; evicted keys fire the
 * "evicted" keyspace event; a restarted primary recovers what it had
 * after evicting; every policy keeps memory bounded, and with writes one
 * at a time used_memory stays within 4 KB of maxmemory, as Redis's test
 * requires; a keys table is not doubled when that alone would pass the
 * limit. Every wait is bounded and asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "harness.h"

/* ---- Fixture ---- */

static int setup(void **state)
{
    (void)state;
    hc_setup("evict");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hc_teardown();
    return 0;
}

/* ---- Helpers ---- */

static long long cmd_int(int i, const char *line)
{
    kv_reply *r = hc_cmd(i, line);
    assert_non_null(r);
    if (r->type != KV_REPLY_INTEGER)
        fail_msg("%s: not an integer reply (%s)", line, r->str ? r->str : "?");
    long long v = r->integer;
    kv_reply_free(r);
    return v;
}

static void cmd_ok(int i, const char *line)
{
    kv_reply *r = hc_cmd(i, line);
    assert_non_null(r);
    if (r->type != KV_REPLY_STATUS)
        fail_msg("%s: %s", line, r->str ? r->str : "?");
    kv_reply_free(r);
}

/* Used memory as maxmemory counts it on node i. */
static long long counted_memory(int i)
{
    return hc_info(i, "memory", "used_memory") -
           hc_info(i, "memory", "mem_not_counted_for_evict");
}

/* line on connection c: a status reply. */
static void run_ok(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    if (r->type != KV_REPLY_STATUS)
        fail_msg("%s: %s", line, r->str ? r->str : "?");
    kv_reply_free(r);
}

/* Pipeline SET <prefix><j> <value of vlen bytes> for j in [from, to),
 * with an optional EX; returns the number of -OOM errors seen (and fails
 * on any other error). */
static long long fill(kv_client *c, const char *prefix, long long from, long long to,
                      size_t vlen, const char *ex)
{
    char key[64], val[1024];
    memset(val, 'v', sizeof val);
    long long oom = 0;
    for (long long j = from; j < to; j++) {
        size_t klen = (size_t)snprintf(key, sizeof key, "%s%lld", prefix, j);
        const char *argv[5] = {"SET", key, val, "EX", ex};
        size_t lens[5] = {3, klen, vlen, 2, ex ? strlen(ex) : 0};
        assert_int_equal(kv_client_append(c, ex ? 5 : 3, argv, lens), 0);
    }
    for (long long j = from; j < to; j++) {
        kv_reply *r = NULL;
        int rc = kv_client_read(c, &r);
        if (rc != 0) {
            hc_dump_logs();
            fail_msg("SET %s%lld: %s", prefix, j, kv_client_errmsg(c));
        }
        if (r->type == KV_REPLY_ERROR) {
            if (strcmp(r->str, "OOM command not allowed when used memory > 'maxmemory'.") != 0)
                fail_msg("SET %s%lld: %s", prefix, j, r->str);
            oom++;
        }
        kv_reply_free(r);
    }
    return oom;
}

/* Evictions may go on in the background for a moment after the last
 * write (a round is bounded in time): the evicted_keys count once two
 * reads a poll apart agree. Callers lift the limit first (maxmemory 0),
 * so that their own connections cannot cause more. */
static int evictions_settled(void *arg)
{
    long long *last = arg;
    long long now = hc_info(0, "stats", "evicted_keys");
    int same = now == *last;
    *last = now;
    return same;
}

static long long settled_evictions(void)
{
    long long last = -1;
    assert_true(h_wait_until(evictions_settled, &last, 10000));
    return last;
}

/* OBJECT IDLETIME of node 0's key "c:0" reached 2 seconds. */
static int cold_enough(void *arg)
{
    (void)arg;
    kv_reply *r = hc_cmd(0, "OBJECT IDLETIME c:0");
    int ok = r && r->type == KV_REPLY_INTEGER && r->integer >= 2;
    kv_reply_free(r);
    return ok;
}

/* ---- Tests ---- */

/* A primary filled to three times its maxmemory under allkeys-lru evicts
 * the keys idle longest, stays under the limit, and its two replicas (one
 * also after kill -9 and restart) hold the same data. */
static void test_allkeys_lru_bounded_and_replicated(void **state)
{
    (void)state;
    /* Long election timeouts (also CheckQuorum's on the primary): on a
     * loaded machine a slow heartbeat must not move leadership, which
     * closes the test's connections. */
    const char *rextra[] = {"--election-timeout", "30000", NULL};
    hc_start(0, -1, rextra);
    hc_start(1, 0, rextra);
    hc_start(2, 0, rextra);
    hc_voters_want v = {0, 3};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    assert_int_equal(hc_leader(), 0);
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);

    /* 8000 cold keys of 200 bytes, then 100 of them read again once they
     * have been idle for 2 s (the LRU clock counts seconds). */
    assert_int_equal(fill(c, "c:", 0, 8000, 200, NULL), 0);
    assert_true(h_wait_until(cold_enough, NULL, 10000));
    for (int j = 0; j < 100; j++) {
        char line[64];
        snprintf(line, sizeof line, "GET c:%d", j * 80);
        kv_reply *r = hc_cmd(0, line);
        assert_int_equal(r->type, KV_REPLY_STRING);
        kv_reply_free(r);
    }
    long long base = counted_memory(0);
    assert_true(base > 0);
    long long maxmem = base + 256 * 1024;
    char line[128];
    snprintf(line, sizeof line, "CONFIG SET maxmemory %lld", maxmem);
    cmd_ok(0, "CONFIG SET maxmemory-policy allkeys-lru");
    cmd_ok(0, line);

    /* New keys worth about 3x the headroom, in batches; memory stays
     * within one command of the limit after every batch. */
    long long peak = 0;
    for (int b = 0; b < 12; b++) {
        assert_int_equal(fill(c, "n:", b * 250LL, (b + 1) * 250LL, 200, NULL), 0);
        long long used = counted_memory(0);
        if (used > peak)
            peak = used;
        if (used > maxmem + 64 * 1024)
            fail_msg("batch %d: counted memory %lld over maxmemory %lld", b, used, maxmem);
    }
    cmd_ok(0, "CONFIG SET maxmemory 0");
    long long evicted = settled_evictions();
    long long keys = cmd_int(0, "DBSIZE");
    print_message("maxmemory %lld, peak counted %lld, evicted %lld, keys %lld of 11000\n", maxmem,
                  peak, evicted, keys);
    assert_true(evicted > 1000);
    assert_int_equal(keys + evicted, 11000);
    /* The recently read cold keys mostly survive: the others go first. */
    int hot = 0;
    for (int j = 0; j < 100; j++) {
        snprintf(line, sizeof line, "EXISTS c:%d", j * 80);
        hot += (int)cmd_int(0, line);
    }
    long long cold = 0;
    for (int j = 1; j < 8000; j += 80) {
        snprintf(line, sizeof line, "EXISTS c:%d", j);
        cold += cmd_int(0, line);
    }
    print_message("recently read keys kept: %d of 100; other cold keys kept: %lld of 100\n", hot,
                  cold);
    assert_true(hot >= 90);
    assert_true(cold < hot);
    kv_client_free(c);

    /* The replicas applied the primary's DELs and evicted nothing
     * themselves. */
    for (int i = 1; i <= 2; i++) {
        hc_wait_caught_up(i, 0, 30000);
        hc_assert_same_digest(0, i, 10000);
        assert_int_equal(hc_info(i, "stats", "evicted_keys"), 0);
        /* (the primary may have gone on evicting in the background since) */
        assert_int_equal(cmd_int(i, "DBSIZE"), keys);
    }

    /* kill -9 a replica (the other keeps the primary's quorum): it
     * rebuilds the same data from its log. */
    assert_int_not_equal(h_stop(&hc_node[2], SIGKILL, 5000), -1);
    assert_int_equal(h_restart(&hc_node[2]), 0);
    hc_wait_caught_up(2, 0, 30000);
    hc_assert_same_digest(0, 2, 10000);
}

/* noeviction: writes that may grow memory answer -OOM (in MULTI too),
 * reads and DEL still run, and a write fits again once memory is freed. */
static void test_noeviction_refuses_writes(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    long long maxmem = counted_memory(0) + 200 * 1024;
    char line[128];
    snprintf(line, sizeof line, "CONFIG SET maxmemory %lld", maxmem);
    cmd_ok(0, line);
    long long oom = fill(c, "k:", 0, 3000, 200, NULL);
    print_message("-OOM for %lld of 3000 SETs\n", oom);
    assert_true(oom > 0);
    /* Measured without the pipelining client's buffers (they count while
     * it is connected, as Redis's). */
    kv_client_free(c);
    c = h_connect(hc_node[0].port);
    assert_non_null(c);
    long long used = counted_memory(0);
    print_message("counted memory %lld, maxmemory %lld\n", used, maxmem);
    assert_true(used <= maxmem + 64 * 1024);
    assert_int_equal(hc_info(0, "stats", "evicted_keys"), 0);
    /* A limit of one byte: over it whatever the buffers do meanwhile. */
    cmd_ok(0, "CONFIG SET maxmemory 1");
    kv_reply *r = hc_cmd(0, "SET another value");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "OOM command not allowed when used memory > 'maxmemory'.");
    kv_reply_free(r);
    r = hc_cmd(0, "GET k:0");
    assert_int_equal(r->type, KV_REPLY_STRING);
    kv_reply_free(r);
    /* Inside MULTI even a read is refused while over the limit. */
    const char *multi[] = {"MULTI"}, *get[] = {"GET", "k:0"}, *exec[] = {"EXEC"};
    size_t l1[] = {5}, l2[] = {3, 3}, l3[] = {4};
    assert_int_equal(kv_client_command(c, 1, multi, l1, &r), 0);
    kv_reply_free(r);
    assert_int_equal(kv_client_command(c, 2, get, l2, &r), 0);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "OOM command not allowed when used memory > 'maxmemory'.");
    kv_reply_free(r);
    assert_int_equal(kv_client_command(c, 1, exec, l3, &r), 0);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "EXECABORT Transaction discarded because of previous errors.");
    kv_reply_free(r);
    /* Under the limit again (a limit above what is used once the data
     * is gone: per-command latency histograms were allocated meanwhile),
     * writes fit again. */
    cmd_ok(0, "FLUSHALL");
    snprintf(line, sizeof line, "CONFIG SET maxmemory %lld", counted_memory(0) + 100 * 1024);
    cmd_ok(0, line);
    cmd_ok(0, "SET another value");
    kv_client_free(c);
}

/* volatile-lru evicts only keys with a TTL; once none is left, writes
 * answer -OOM and the keys without a TTL are all still there. */
static void test_volatile_only_expiring_keys(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    assert_int_equal(fill(c, "p:", 0, 1000, 200, NULL), 0);
    assert_int_equal(fill(c, "t:", 0, 1000, 200, "1000"), 0);
    long long maxmem = counted_memory(0) + 100 * 1024;
    char line[128];
    snprintf(line, sizeof line, "CONFIG SET maxmemory %lld", maxmem);
    cmd_ok(0, "CONFIG SET maxmemory-policy volatile-lru");
    cmd_ok(0, line);
    /* New keys with a TTL push out older keys with a TTL. */
    assert_int_equal(fill(c, "u:", 0, 1500, 200, "1000"), 0);
    long long evicted = hc_info(0, "stats", "evicted_keys");
    assert_true(evicted > 0);
    assert_true(counted_memory(0) <= maxmem + 64 * 1024);
    /* New keys without a TTL use up the rest, then -OOM. */
    long long oom = fill(c, "q:", 0, 6000, 200, NULL);
    print_message("volatile-lru: evicted %lld, then -OOM for %lld of 6000\n",
                  hc_info(0, "stats", "evicted_keys"), oom);
    assert_true(oom > 0);
    for (int j = 0; j < 1000; j += 37) {
        snprintf(line, sizeof line, "EXISTS p:%d", j);
        assert_int_equal(cmd_int(0, line), 1);
    }
    kv_reply *r = hc_cmd(0, "INFO keyspace");
    assert_non_null(strstr(r->str, "expires=0"));
    kv_reply_free(r);
    kv_client_free(c);
}

/* Evictions fire the "evicted" keyspace event, are counted in INFO and
 * survive a kill -9 of the primary (they were logged). */
static void test_evicted_event_and_restart(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    cmd_ok(0, "CONFIG SET notify-keyspace-events Ee");
    kv_client *sub = h_connect(hc_node[0].port);
    assert_non_null(sub);
    const char *argv[] = {"SUBSCRIBE", "__keyevent@0__:evicted"};
    size_t lens[] = {9, 22};
    assert_int_equal(kv_client_append(sub, 2, argv, lens), 0);
    kv_reply *r = NULL;
    assert_int_equal(kv_client_read(sub, &r), 0);
    kv_reply_free(r);

    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    assert_int_equal(fill(c, "k:", 0, 2000, 200, NULL), 0);
    /* Keys in database 2 too: eviction samples every database. */
    const char *sel2[] = {"SELECT", "2"}, *sel0[] = {"SELECT", "0"};
    size_t sl[] = {6, 1};
    assert_int_equal(kv_client_command(c, 2, sel2, sl, &r), 0);
    kv_reply_free(r);
    assert_int_equal(fill(c, "d2:", 0, 2000, 200, NULL), 0);
    assert_int_equal(kv_client_command(c, 2, sel0, sl, &r), 0);
    kv_reply_free(r);
    long long maxmem = counted_memory(0) + 50 * 1024;
    char line[128];
    snprintf(line, sizeof line, "CONFIG SET maxmemory %lld", maxmem);
    cmd_ok(0, "CONFIG SET maxmemory-policy allkeys-random");
    cmd_ok(0, line);
    assert_int_equal(fill(c, "n:", 0, 1000, 200, NULL), 0);
    cmd_ok(0, "CONFIG SET maxmemory 0");
    long long evicted = settled_evictions();
    assert_true(evicted > 0);
    /* The first eviction's event names a key that is gone. */
    assert_int_equal(kv_client_read(sub, &r), 0);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    assert_string_equal(r->element[0]->str, "message");
    assert_string_equal(r->element[1]->str, "__keyevent@0__:evicted");
    char exists[128];
    snprintf(exists, sizeof exists, "EXISTS %s", r->element[2]->str);
    kv_reply_free(r);
    assert_int_equal(cmd_int(0, exists), 0);
    kv_client_free(sub);

    /* Both databases lost keys. */
    long long in0 = cmd_int(0, "DBSIZE");
    assert_int_equal(kv_client_command(c, 2, sel2, sl, &r), 0);
    kv_reply_free(r);
    const char *dbsize[] = {"DBSIZE"};
    size_t dl[] = {6};
    assert_int_equal(kv_client_command(c, 1, dbsize, dl, &r), 0);
    long long in2 = r->integer;
    kv_reply_free(r);
    print_message("allkeys-random: %lld evicted; keys left: %lld in db 0, %lld in db 2\n", evicted,
                  in0, in2);
    assert_true(in0 < 3000 && in2 < 2000);
    assert_int_equal(in0 + in2 + evicted, 5000);
    kv_client_free(c);

    char before[64], after[64];
    hc_digest(0, before);
    long long keys = cmd_int(0, "DBSIZE");
    assert_int_not_equal(h_stop(&hc_node[0], SIGKILL, 5000), -1);
    assert_int_equal(h_restart(&hc_node[0]), 0);
    hc_digest(0, after);
    assert_string_equal(before, after);
    assert_int_equal(cmd_int(0, "DBSIZE"), keys);
}

/* allkeys-lfu: new keys start at counter 5, reads raise it, OBJECT
 * IDLETIME is refused; under allkeys-lru OBJECT FREQ is refused. */
static void test_lfu_counters(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    cmd_ok(0, "CONFIG SET maxmemory-policy allkeys-lfu");
    cmd_ok(0, "CONFIG SET lfu-log-factor 0");
    /* (A counter loses one per lfu-decay-time minute: a minute boundary
     * passed between two commands takes one off, in Redis too.) */
    cmd_ok(0, "SET k v");
    long long f = cmd_int(0, "OBJECT FREQ k");
    assert_true(f == 5 || f == 4);
    for (int i = 0; i < 50; i++) {
        kv_reply *r = hc_cmd(0, "GET k");
        kv_reply_free(r);
    }
    /* lfu-log-factor 0: every access counts. */
    f = cmd_int(0, "OBJECT FREQ k");
    assert_true(f >= 53 && f <= 55);
    kv_reply *r = hc_cmd(0, "OBJECT IDLETIME k");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "ERR An LFU maxmemory policy is selected, idle time not tracked. "
                                "Please note that when switching between policies at runtime "
                                "LRU and LFU data will take some time to adjust.");
    kv_reply_free(r);
    cmd_ok(0, "CONFIG SET maxmemory-policy allkeys-lru");
    r = hc_cmd(0, "OBJECT FREQ k");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    kv_reply_free(r);
    assert_true(cmd_int(0, "OBJECT IDLETIME k") >= 0);
}

/* Every policy keeps counted memory bounded while keys are added far past
 * maxmemory (Redis's "is the memory limit honoured?" for each policy);
 * the volatile ones touch no key without a TTL. */
static void test_every_policy_bounded(void **state)
{
    (void)state;
    static const char *const policies[] = {"allkeys-lru",   "allkeys-lfu",  "allkeys-random",
                                           "volatile-lru",  "volatile-lfu", "volatile-random",
                                           "volatile-ttl"};
    hc_start(0, -1, NULL);
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    char line[128];
    for (size_t p = 0; p < sizeof policies / sizeof *policies; p++) {
        int is_volatile = !strncmp(policies[p], "volatile", 8);
        long long before = hc_info(0, "stats", "evicted_keys");
        cmd_ok(0, "CONFIG SET maxmemory 0");
        cmd_ok(0, "FLUSHALL");
        snprintf(line, sizeof line, "CONFIG SET maxmemory-policy %s", policies[p]);
        cmd_ok(0, line);
        /* keys without a TTL, then keys with one (all of them for the
         * allkeys policies) */
        assert_int_equal(fill(c, "p:", 0, 500, 200, NULL), 0);
        assert_int_equal(fill(c, "t:", 0, 1000, 200, "1000"), 0);
        long long maxmem = counted_memory(0) + 64 * 1024;
        snprintf(line, sizeof line, "CONFIG SET maxmemory %lld", maxmem);
        cmd_ok(0, line);
        for (int b = 0; b < 4; b++) {
            assert_int_equal(fill(c, "u:", b * 250LL, (b + 1) * 250LL, 200, "1000"), 0);
            long long used = counted_memory(0);
            if (used > maxmem + 64 * 1024)
                fail_msg("%s: counted memory %lld over maxmemory %lld", policies[p], used,
                         maxmem);
        }
        long long evicted = hc_info(0, "stats", "evicted_keys") - before;
        long long plain = 0;
        for (int j = 0; j < 500; j += 5) {
            snprintf(line, sizeof line, "EXISTS p:%d", j);
            plain += cmd_int(0, line);
        }
        print_message("%-16s evicted %lld, keys without a TTL kept: %lld of 100\n",
                      policies[p], evicted, plain);
        assert_true(evicted > 0);
        if (is_volatile)
            assert_int_equal(plain, 100);
    }
    kv_client_free(c);
}

/* Redis's "is the memory limit honoured?": with writes one at a time,
 * used_memory itself (not only what maxmemory counts) stays within 4 KB
 * of the limit. Between writes nothing is left out of the count (the
 * WAL entry builder's kept buffers are ordinary memory). */
static void test_limit_honoured_one_write_at_a_time(void **state)
{
    (void)state;
    static const char *const policies[] = {"allkeys-lru", "volatile-ttl"};
    hc_start(0, -1, NULL);
    char line[128];
    for (size_t p = 0; p < sizeof policies / sizeof *policies; p++) {
        cmd_ok(0, "CONFIG SET maxmemory 0");
        cmd_ok(0, "FLUSHALL");
        assert_int_equal(hc_info(0, "memory", "mem_not_counted_for_evict"), 0);
        long long limit = hc_info(0, "memory", "used_memory") + 100 * 1024;
        snprintf(line, sizeof line, "CONFIG SET maxmemory %lld", limit);
        cmd_ok(0, line);
        snprintf(line, sizeof line, "CONFIG SET maxmemory-policy %s", policies[p]);
        cmd_ok(0, line);
        long long n = 0, k = 0;
        while (hc_info(0, "memory", "used_memory") + 4096 <= limit) {
            snprintf(line, sizeof line, "SETEX key:%lld 10000 x", k++);
            cmd_ok(0, line);
            n++;
            assert_true(n < 100000);
        }
        assert_true(n > 10);
        for (long long j = 0; j < n; j++) {
            snprintf(line, sizeof line, "SETEX key:%lld 10000 x", k++);
            cmd_ok(0, line);
        }
        long long used = hc_info(0, "memory", "used_memory");
        print_message("%-13s %lld keys to the limit, used_memory %lld of %lld\n", policies[p],
                      n, used, limit);
        if (used >= limit + 4096)
            fail_msg("%s: used_memory %lld, maxmemory %lld", policies[p], used, limit);
        assert_true(hc_info(0, "stats", "evicted_keys") > 0);
    }
}

/* Redis's "Don't rehash if used memory exceeds maxmemory after rehash":
 * a full keys table (4096 keys in 4096 buckets) is not doubled when the
 * bigger table alone (64 KB) would pass maxmemory, so adding two keys
 * 10 KB under the limit evicts nothing. */
static void test_no_table_growth_past_maxmemory(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    /* One connection throughout, as Redis's test: a new one would add its
     * own buffers to used memory right before the command. */
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    /* No per-command latency histogram allocated on the way (Redis's
     * test turns tracking off too). */
    run_ok(c, "CONFIG SET latency-tracking no");
    run_ok(c, "CONFIG SET maxmemory-policy allkeys-random");
    assert_int_equal(fill(c, "h:", 0, 4096, 1, NULL), 0);
    long long used = h_info_num(c, "memory", "used_memory") -
                     h_info_num(c, "memory", "mem_not_counted_for_evict");
    char line[128];
    snprintf(line, sizeof line, "CONFIG SET maxmemory %lld", used + 10 * 1024);
    run_ok(c, line);
    run_ok(c, "SET k1 v1");
    run_ok(c, "SET k2 v2");
    assert_int_equal(h_info_num(c, "stats", "evicted_keys"), 0);
    kv_reply *r = h_cmd(c, "DBSIZE");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    assert_int_equal(r->integer, 4098);
    kv_reply_free(r);
    /* Without the limit the table grows as usual (and nothing is lost). */
    run_ok(c, "CONFIG SET maxmemory 0");
    assert_int_equal(fill(c, "g:", 0, 4096, 1, NULL), 0);
    assert_int_equal(cmd_int(0, "DBSIZE"), 8194);
    kv_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_allkeys_lru_bounded_and_replicated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noeviction_refuses_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volatile_only_expiring_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evicted_event_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lfu_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_policy_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_honoured_one_write_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_table_growth_past_maxmemory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
