/* test_repl.c — replication between real kvnode processes on loopback:
 * convergence, partial resync after kill -9, snapshot bootstrap and the
 * retention bound, min-replicas-ack across a failover, a demoted primary
 * that rejoins, WAIT, and hostile traffic on the peer port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"

/* ---- Fixture ---- */

static char *tmp;
static h_proc node[4];
static int nnodes;

static int setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("repl");
    nnodes = 0;
    memset(node, 0, sizeof node);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < nnodes; i++)
        h_stop(&node[i], SIGKILL, 5000);
    h_stop_all();
    h_rmrf(tmp);
    free(tmp);
    return 0;
}

/* ---- Helpers ---- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Start node i (data in tmp/n<i>) with extra arguments; as a replica of
 * node `of` when of >= 0. */
static void start(int i, int of, const char *const *extra)
{
    char dir[600], port[16];
    snprintf(dir, sizeof dir, "%s/n%d", tmp, i);
    const char *args[32];
    int n = 0;
    if (of >= 0) {
        snprintf(port, sizeof port, "%d", node[of].port);
        args[n++] = "--replicaof";
        args[n++] = "127.0.0.1";
        args[n++] = port;
    }
    args[n++] = "--repl-timeout";
    args[n++] = "2000";
    for (int k = 0; extra && extra[k]; k++)
        args[n++] = extra[k];
    args[n] = NULL;
    assert_int_equal(h_kvnode_start(&node[i], dir, args), 0);
    if (i >= nnodes)
        nnodes = i + 1;
}

/* The last lines of node i's log, to explain a failure. */
static void dump_log(int i)
{
    FILE *f = fopen(node[i].log, "r");
    if (!f)
        return;
    static char lines[40][512];
    int n = 0;
    while (fgets(lines[n % 40], sizeof lines[0], f))
        n++;
    fclose(f);
    fprintf(stderr, "---- last lines of node %d's log (%s) ----\n", i, node[i].log);
    for (int k = n > 40 ? n - 40 : 0; k < n; k++)
        fputs(lines[k % 40], stderr);
}

static kv_reply *cmd(int i, const char *line)
{
    kv_client *c = h_connect(node[i].port);
    kv_reply *r = c ? h_cmd(c, line) : NULL;
    kv_client_free(c);
    if (!r) {
        fprintf(stderr, "node %d did not answer '%s'\n", i, line);
        dump_log(i);
    }
    return r;
}

/* A field of INFO <section> on node i as a number (-1 if absent). */
static long long info(int i, const char *section, const char *field)
{
    char line[64];
    snprintf(line, sizeof line, "INFO %s", section);
    kv_reply *r = cmd(i, line);
    long long v = -1;
    if (r && r->type == KV_REPLY_STRING) {
        char key[128];
        snprintf(key, sizeof key, "\n%s:", field);
        char *p = strstr(r->str, key);
        if (p)
            v = atoll(p + strlen(key));
    }
    kv_reply_free(r);
    return v;
}

static void digest(int i, char out[64])
{
    kv_reply *r = cmd(i, "DEBUG DIGEST");
    h_reply_text(r, out, 64);
    kv_reply_free(r);
}

/* Node i is connected to its primary. */
static int link_up(int i)
{
    kv_reply *role = cmd(i, "ROLE");
    int up = role && role->elements == 5 && !strcmp(role->element[3]->str, "connected");
    kv_reply_free(role);
    return up;
}

/* Node i is connected and has stored and applied everything node p has. */
static int caught_up(int i, int p)
{
    long long last = info(p, "replication", "master_repl_offset");
    return last >= 0 && link_up(i) && info(i, "replication", "slave_read_repl_offset") == last &&
           info(i, "replication", "slave_repl_offset") == last;
}

static int wait_caught_up(int i, int p, int ms)
{
    long long deadline = h_now_ms() + ms;
    while (h_now_ms() < deadline) {
        if (caught_up(i, p))
            return 1;
        sleep_ms(50);
    }
    return caught_up(i, p);
}

static void assert_same_digest(int a, int b)
{
    char x[64], y[64];
    digest(a, x);
    digest(b, y);
    if (strcmp(x, y) != 0)
        fail_msg("node %d digest %s, node %d digest %s", a, x, b, y);
}

/* A writer that pipelines a deterministic mix of writes into a node. */
typedef struct writer {
    int port;
    atomic_int stop;
    long long sent, acked;
    long long limit;      /* stop after this many (0: until stopped) */
    unsigned seed;
    pthread_t thread;
    char lastkey_acked[64];
} writer;

static void make_cmd(long long n, unsigned seed, char **argv, int *argc, char bufs[4][64])
{
    int kind = (int)((n * 2654435761u + seed) % 9);
    long long k = n % 5000;
    snprintf(bufs[0], 64, "k%lld", k);
    snprintf(bufs[1], 64, "%lld", n);
    snprintf(bufs[2], 64, "h%lld", k % 300);
    snprintf(bufs[3], 64, "f%lld", n % 17);
    switch (kind) {
    case 0: argv[0] = "SET"; argv[1] = bufs[0]; argv[2] = bufs[1]; *argc = 3; break;
    case 1: argv[0] = "INCR"; argv[1] = "counter"; *argc = 2; break;
    case 2: argv[0] = "LPUSH"; argv[1] = "list"; argv[2] = bufs[1]; *argc = 3; break;
    case 3: argv[0] = "HSET"; argv[1] = bufs[2]; argv[2] = bufs[3]; argv[3] = bufs[1]; *argc = 4; break;
    case 4: argv[0] = "DEL"; argv[1] = bufs[0]; *argc = 2; break;
    case 5: argv[0] = "APPEND"; argv[1] = "log"; argv[2] = bufs[3]; *argc = 3; break;
    case 6: argv[0] = "HINCRBY"; argv[1] = bufs[2]; argv[2] = "n"; argv[3] = "3"; *argc = 4; break;
    case 7: argv[0] = "RPOP"; argv[1] = "list"; *argc = 2; break;
    default: argv[0] = "PEXPIRE"; argv[1] = bufs[0]; argv[2] = "100000000"; *argc = 3; break;
    }
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    kv_client *c = h_connect(w->port);
    if (!c)
        return NULL;
    while (!atomic_load(&w->stop) && (!w->limit || w->sent < w->limit)) {
        int batch = 0;
        for (; batch < 100 && (!w->limit || w->sent + batch < w->limit); batch++) {
            char *argv[4], bufs[4][64];
            int argc;
            make_cmd(w->sent + batch, w->seed, argv, &argc, bufs);
            if (kv_client_append(c, argc, (const char *const *)argv, NULL) != 0)
                goto out;
        }
        for (int i = 0; i < batch; i++) {
            kv_reply *r;
            if (kv_client_read(c, &r) != 0)
                goto out;
            if (r->type != KV_REPLY_ERROR)
                w->acked++;
            kv_reply_free(r);
        }
        w->sent += batch;
    }
out:
    kv_client_free(c);
    return NULL;
}

static void writer_start(writer *w, int port, long long limit)
{
    memset(w, 0, sizeof *w);
    w->port = port;
    w->limit = limit;
    w->seed = 7;
    pthread_create(&w->thread, NULL, writer_main, w);
}

static void writer_stop(writer *w)
{
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
}

/* ---- Tests ---- */

/* One primary and two replicas: 100,000 mixed writes reach both replicas
 * and all three end with the same DEBUG DIGEST; replicas refuse writes. */
static void test_three_nodes_converge(void **state)
{
    (void)state;
    start(0, -1, NULL);
    start(1, 0, NULL);
    start(2, 0, NULL);
    writer w;
    writer_start(&w, node[0].port, 100000);
    pthread_join(w.thread, NULL);
    assert_int_equal(w.sent, 100000);
    assert_true(wait_caught_up(1, 0, 60000));
    assert_true(wait_caught_up(2, 0, 60000));
    assert_same_digest(0, 1);
    assert_same_digest(0, 2);
    assert_int_equal(info(0, "replication", "connected_slaves"), 2);
    kv_reply *r = cmd(1, "SET x y");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_non_null(strstr(r->str, "READONLY"));
    kv_reply_free(r);
    /* ROLE in Redis's format on both sides. */
    r = cmd(0, "ROLE");
    assert_string_equal(r->element[0]->str, "master");
    assert_int_equal(r->element[2]->elements, 2);
    kv_reply_free(r);
    r = cmd(1, "ROLE");
    assert_string_equal(r->element[0]->str, "slave");
    assert_string_equal(r->element[3]->str, "connected");
    kv_reply_free(r);
}

/* A replica killed with SIGKILL during a write load resumes from its own
 * log position: a partial resync, no snapshot. */
static void test_replica_kill9_partial_resync(void **state)
{
    (void)state;
    start(0, -1, NULL);
    start(1, 0, NULL);
    writer w;
    writer_start(&w, node[0].port, 0);
    sleep_ms(1500);
    long long partial = info(0, "stats", "sync_partial_ok");
    long long full = info(0, "stats", "sync_full");
    h_stop(&node[1], SIGKILL, 5000);
    sleep_ms(500);
    assert_int_equal(h_restart(&node[1]), 0);
    sleep_ms(1500);
    writer_stop(&w);
    assert_true(w.acked > 0);
    assert_true(wait_caught_up(1, 0, 60000));
    assert_same_digest(0, 1);
    assert_int_equal(info(0, "stats", "sync_partial_ok"), partial + 1);
    assert_int_equal(info(0, "stats", "sync_full"), full);
}

/* A fresh replica joining a primary with 1,000,000 keys while writes go
 * on bootstraps from a shipped snapshot, catches up, and converges. */
static void test_fresh_replica_snapshot_bootstrap(void **state)
{
    (void)state;
    const char *seg[] = {"--wal-segment-size", "1mb", "--repl-retention-bytes", "0", NULL};
    start(0, -1, seg);
    kv_reply *r = cmd(0, "DEBUG POPULATE 1000000");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    /* Writes go on; two snapshots compact the log so the new replica
     * must take a snapshot. */
    writer w;
    writer_start(&w, node[0].port, 0);
    for (int i = 0; i < 40 && info(0, "persistence", "wal_first_lsn") <= 2; i++) {
        sleep_ms(300);
        r = cmd(0, "SAVE");
        kv_reply_free(r);
    }
    assert_true(info(0, "persistence", "wal_first_lsn") > 2);
    start(1, 0, NULL);
    long long deadline = h_now_ms() + 120000;
    while (h_now_ms() < deadline && !link_up(1))
        sleep_ms(100);
    sleep_ms(500);
    writer_stop(&w);
    assert_true(w.acked > 0);
    assert_true(wait_caught_up(1, 0, 120000));
    assert_same_digest(0, 1);
    assert_int_equal(info(0, "stats", "sync_full"), 1);
    r = cmd(1, "DBSIZE");
    assert_true(r->integer >= 1000000);
    kv_reply_free(r);
}

/* A replica cut off (stopped) while the primary compacts its log past the
 * replica's position gets exactly one snapshot when it comes back, not a
 * loop of them. */
static void test_cut_off_past_retention(void **state)
{
    (void)state;
    const char *small[] = {"--wal-segment-size", "64kb", "--snapshot-wal-min-bytes", "256kb",
                           "--snapshot-wal-growth-pct", "10", "--repl-retention-bytes", "0",
                           NULL};
    start(0, -1, small);
    start(1, 0, NULL);
    kv_reply *r = cmd(0, "SET before cut");
    kv_reply_free(r);
    assert_true(wait_caught_up(1, 0, 30000));
    kill(node[1].pid, SIGSTOP);
    writer w;
    writer_start(&w, node[0].port, 60000);
    pthread_join(w.thread, NULL);
    /* Wait until the primary dropped the silent replica (it no longer pins
     * the log), then snapshot twice so the log is compacted past it. */
    long long deadline = h_now_ms() + 30000;
    while (h_now_ms() < deadline && info(0, "replication", "connected_slaves") != 0)
        sleep_ms(100);
    assert_int_equal(info(0, "replication", "connected_slaves"), 0);
    for (int i = 0; i < 2; i++) {
        r = cmd(0, "SET during cut");
        kv_reply_free(r);
        r = cmd(0, "SAVE");
        kv_reply_free(r);
    }
    assert_true(info(0, "persistence", "wal_first_lsn") > 3);
    kill(node[1].pid, SIGCONT);
    assert_true(wait_caught_up(1, 0, 60000));
    assert_same_digest(0, 1);
    long long full = info(0, "stats", "sync_full");
    assert_int_equal(full, 1);
    /* A while later: still one full sync, still in sync. */
    r = cmd(0, "SET after cut");
    kv_reply_free(r);
    sleep_ms(3000);
    assert_int_equal(info(0, "stats", "sync_full"), 1);
    assert_true(wait_caught_up(1, 0, 30000));
    assert_same_digest(0, 1);
}

/* With min-replicas-ack 1 every acknowledged write is on the replica: kill
 * the primary right after a burst, promote the replica, nothing is lost. */
static void test_min_replicas_ack_failover(void **state)
{
    (void)state;
    const char *ack1[] = {"--min-replicas-ack", "1", NULL};
    start(0, -1, ack1);
    /* No replica yet: writes are refused before they run. */
    kv_reply *r = cmd(0, "SET a b");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "NOREPLICAS Not enough good replicas to write.");
    kv_reply_free(r);
    start(1, 0, NULL);
    long long deadline = h_now_ms() + 30000;
    while (info(0, "replication", "min_slaves_good_slaves") < 1 && h_now_ms() < deadline)
        sleep_ms(50);
    kv_client *c = h_connect(node[0].port);
    assert_non_null(c);
    enum { N = 5000 };
    static unsigned char acked[N];
    memset(acked, 0, sizeof acked);
    for (int base = 0; base < N; base += 250) {
        for (int i = base; i < base + 250; i++) {
            char key[32], val[32];
            snprintf(key, sizeof key, "acked:%d", i);
            snprintf(val, sizeof val, "%d", i);
            const char *argv[3] = {"SET", key, val};
            kv_client_append(c, 3, argv, NULL);
        }
        for (int i = base; i < base + 250; i++) {
            kv_reply *x;
            if (kv_client_read(c, &x) != 0)
                break;
            if (x->type == KV_REPLY_STATUS)
                acked[i] = 1;
            kv_reply_free(x);
        }
    }
    kv_client_free(c);
    h_stop(&node[0], SIGKILL, 5000);
    r = cmd(1, "REPLICAOF NO ONE");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    int n = 0;
    c = h_connect(node[1].port);
    for (int i = 0; i < N; i++) {
        if (!acked[i])
            continue;
        n++;
        char key[32], want[32], got[64];
        snprintf(key, sizeof key, "acked:%d", i);
        snprintf(want, sizeof want, "\"%d\"", i);
        const char *argv[2] = {"GET", key};
        kv_reply *x = h_cmdv(c, 2, argv, NULL);
        h_reply_text(x, got, sizeof got);
        kv_reply_free(x);
        if (strcmp(got, want) != 0) {
            dump_log(1);
            fail_msg("acknowledged %s is %s on the promoted replica", key, got);
        }
    }
    kv_client_free(c);
    assert_int_equal(n, N);
    /* The promoted node takes writes in a new term. */
    r = cmd(1, "SET after promote");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    assert_true(info(1, "replication", "term") >= 2);
}

/* A primary whose last writes never reached its replica is replaced (the
 * replica is promoted); when it rejoins as a replica it cuts those writes
 * and converges on the new primary's data. */
static void test_demoted_primary_rejoins(void **state)
{
    (void)state;
    start(0, -1, NULL);
    start(1, 0, NULL);
    kv_reply *r = cmd(0, "SET shared 1");
    kv_reply_free(r);
    assert_true(wait_caught_up(1, 0, 30000));
    h_stop(&node[1], SIGKILL, 5000);
    for (int i = 0; i < 5; i++) {
        char line[64];
        snprintf(line, sizeof line, "SET unreplicated:%d x", i);
        r = cmd(0, line);
        assert_int_equal(r->type, KV_REPLY_STATUS); /* acknowledged: asynchronous */
        kv_reply_free(r);
    }
    h_stop(&node[0], SIGKILL, 5000);
    /* The replica comes back (still a replica of the dead primary) and is
     * promoted; it takes new writes. */
    assert_int_equal(h_restart(&node[1]), 0);
    r = cmd(1, "REPLICAOF NO ONE");
    kv_reply_free(r);
    r = cmd(1, "SET newer 1");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    /* The old primary restarts on its own, then is made a replica. */
    assert_int_equal(h_restart(&node[0]), 0);
    char line[64];
    snprintf(line, sizeof line, "REPLICAOF 127.0.0.1 %d", node[1].port);
    r = cmd(0, line);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    assert_true(wait_caught_up(0, 1, 30000));
    assert_same_digest(0, 1);
    r = cmd(0, "EXISTS unreplicated:0 unreplicated:4");
    assert_int_equal(r->integer, 0);
    kv_reply_free(r);
    r = cmd(0, "GET newer");
    assert_string_equal(r->str, "1");
    kv_reply_free(r);
    /* It stays a replica across a restart (the meta file remembers). */
    h_stop(&node[0], SIGTERM, 10000);
    assert_int_equal(h_restart(&node[0]), 0);
    r = cmd(0, "ROLE");
    assert_string_equal(r->element[0]->str, "slave");
    kv_reply_free(r);
}

/* With min-replicas-ack 1, a write whose replica stops answering gets a
 * clear error after min-replicas-timeout instead of waiting forever; it
 * stays durable on the primary. */
static void test_min_replicas_timeout(void **state)
{
    (void)state;
    const char *ack1[] = {"--min-replicas-ack", "1", "--min-replicas-timeout", "1000", NULL};
    start(0, -1, ack1);
    start(1, 0, NULL);
    long long deadline = h_now_ms() + 30000;
    while (info(0, "replication", "min_slaves_good_slaves") < 1 && h_now_ms() < deadline)
        sleep_ms(50);
    kv_reply *r = cmd(0, "SET before 1");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    kill(node[1].pid, SIGSTOP);
    long long t0 = h_now_ms();
    r = cmd(0, "SET during 1");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_non_null(strstr(r->str, "NOREPLICAS Not enough replicas acknowledged the write"));
    assert_true(h_now_ms() - t0 >= 900);
    kv_reply_free(r);
    kill(node[1].pid, SIGCONT);
    /* The write was not rolled back; once the replica is back it has it. */
    assert_true(wait_caught_up(1, 0, 30000));
    r = cmd(1, "GET during");
    assert_string_equal(r->str, "1");
    kv_reply_free(r);
}

/* WAIT counts replicas that have the client's writes, honours its
 * timeout, and is refused on a replica. */
static void test_wait(void **state)
{
    (void)state;
    start(0, -1, NULL);
    start(1, 0, NULL);
    assert_true(wait_caught_up(1, 0, 30000));
    kv_client *c = h_connect(node[0].port);
    kv_reply *r = h_cmd(c, "SET w 1");
    kv_reply_free(r);
    r = h_cmd(c, "WAIT 1 5000");
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    kv_reply_free(r);
    long long t0 = h_now_ms();
    r = h_cmd(c, "WAIT 2 300");
    assert_int_equal(r->integer, 1);
    assert_true(h_now_ms() - t0 >= 250);
    kv_reply_free(r);
    r = h_cmd(c, "WAIT 1 -1");
    assert_string_equal(r->str, "ERR timeout is negative");
    kv_reply_free(r);
    kv_client_free(c);
    r = cmd(1, "WAIT 1 10");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_non_null(strstr(r->str, "replica"));
    kv_reply_free(r);
}

/* Bitmaps and HyperLogLogs replicate as deterministic effects: a replica
 * with a much smaller hll-sparse-max-bytes ends with the primary's exact
 * values (the primary logs the dense conversions it made; replay never
 * converts by size), a BITFIELD whose only effect was to pad the key is
 * replicated too, and a PFCOUNT on the replica answers the primary's count
 * without writing the cached cardinality there. */
static void test_bitmaps_hll_replicate(void **state)
{
    (void)state;
    const char *pextra[] = {"--hll-sparse-max-bytes", "3000", NULL};
    const char *rextra[] = {"--hll-sparse-max-bytes", "40", NULL};
    start(0, -1, pextra);
    start(1, 0, rextra);
    char line[2048];
    const char *keys[] = {"h1", "h2"};
    for (int k = 0; k < 2; k++) {
        int at = snprintf(line, sizeof line, "PFADD %s", keys[k]);
        for (int i = 0; i < 100; i++)
            at += snprintf(line + at, sizeof line - (size_t)at, " %s-%d", keys[k], i);
        kv_reply_free(cmd(0, line));
        if (k == 0)
            kv_reply_free(cmd(0, "CONFIG SET hll-sparse-max-bytes 200"));
    }
    kv_reply_free(cmd(0, "PFCOUNT h1"));
    kv_reply_free(cmd(0, "PFMERGE h3 h1"));
    kv_reply_free(cmd(0, "SETBIT b 1000 1"));
    kv_reply_free(cmd(0, "BITFIELD b OVERFLOW FAIL INCRBY u8 2000 300"));
    kv_reply_free(cmd(0, "BITOP NOT b2 b"));
    assert_true(wait_caught_up(1, 0, 30000));
    assert_same_digest(0, 1);
    kv_reply *r = cmd(0, "PFDEBUG ENCODING h1");
    assert_string_equal(r->str, "sparse");
    kv_reply_free(r);
    r = cmd(1, "STRLEN b");
    assert_int_equal(r->integer, 251);
    kv_reply_free(r);
    /* PFCOUNT on the replica: the primary's answer, nothing stored. */
    char before[64], after[64];
    digest(1, before);
    r = cmd(1, "PFCOUNT h2");
    digest(1, after);
    assert_string_equal(before, after);
    kv_reply *p = cmd(0, "PFCOUNT h2");
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    assert_int_equal(r->integer, p->integer);
    kv_reply_free(r);
    kv_reply_free(p);
    /* The primary stored its cache; the replica gets it from the log. */
    assert_true(wait_caught_up(1, 0, 30000));
    assert_same_digest(0, 1);
    digest(1, after);
    assert_string_not_equal(before, after);
}

/* ---- hostile peers ---- */

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read frames until the peer closes (or ms pass); returns the code of the
 * last Error message seen (0 if none) and sets *closed. */
static int read_until_closed(int fd, int ms, int *closed)
{
    frame_reader fr;
    frame_reader_init(&fr, 0);
    long long deadline = h_now_ms() + ms;
    int code = 0;
    *closed = 0;
    while (h_now_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            *closed = 1;
            break;
        }
        frame_reader_feed(&fr, buf, (size_t)n);
        Kv__PeerMessage *m;
        while (frame_next(&fr, &m) == 1) {
            if (m->msg_case == KV__PEER_MESSAGE__MSG_ERROR)
                code = m->error->code;
            kv__peer_message__free_unpacked(m, NULL);
        }
    }
    frame_reader_free(&fr);
    return code;
}

static void send_msg(int fd, Kv__PeerMessage *m)
{
    kbuf b = KBUF_INIT;
    frame_encode(m, &b);
    ssize_t w = send(fd, kbuf_data(&b), kbuf_len(&b), MSG_NOSIGNAL);
    (void)w;
    kbuf_free(&b);
}

/* Garbage, truncated and oversized frames, a wrong secret, a wrong
 * protocol version and a stale term on the peer port are refused and
 * closed; the cluster is unharmed. */
static void test_peer_port_hostile(void **state)
{
    (void)state;
    const char *secret[] = {"--cluster-secret", "s3cret", NULL};
    start(0, -1, secret);
    start(1, 0, secret);
    kv_reply *r = cmd(0, "SET guarded 1");
    kv_reply_free(r);
    assert_true(wait_caught_up(1, 0, 30000));
    char before[64];
    digest(0, before);
    int peer = node[0].port + 10000;
    int closed;
    /* Garbage. */
    int fd = raw_connect(peer);
    char junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 131 + 7);
    send(fd, junk, sizeof junk, MSG_NOSIGNAL);
    read_until_closed(fd, 5000, &closed);
    assert_true(closed);
    close(fd);
    /* A header announcing a 1 GiB frame: refused before it is buffered. */
    fd = raw_connect(peer);
    unsigned char big[8] = {0, 0, 0, 0x40, 0, 0, 0, 0};
    send(fd, big, sizeof big, MSG_NOSIGNAL);
    assert_int_equal(read_until_closed(fd, 5000, &closed), KV__ERROR__CODE__PROTOCOL);
    assert_true(closed);
    close(fd);
    /* A truncated frame, then the client goes away. */
    fd = raw_connect(peer);
    send(fd, big, 4, MSG_NOSIGNAL);
    close(fd);
    /* A Hello without the right HMAC. */
    fd = raw_connect(peer);
    Kv__Hello h = KV__HELLO__INIT;
    h.version = 1;
    h.node_id = "intruder";
    uint8_t mac[32] = {0};
    h.hmac.data = mac;
    h.hmac.len = 32;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_HELLO;
    m.hello = &h;
    send_msg(fd, &m);
    assert_int_equal(read_until_closed(fd, 5000, &closed), KV__ERROR__CODE__AUTH);
    assert_true(closed);
    close(fd);
    /* A protocol version this node does not speak. */
    fd = raw_connect(peer);
    h.version = 99;
    send_msg(fd, &m);
    assert_int_equal(read_until_closed(fd, 5000, &closed), KV__ERROR__CODE__VERSION);
    close(fd);
    /* A message out of place (an Ack before any handshake). */
    fd = raw_connect(peer);
    Kv__Ack a = KV__ACK__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_ACK;
    m.ack = &a;
    send_msg(fd, &m);
    assert_int_equal(read_until_closed(fd, 5000, &closed), KV__ERROR__CODE__PROTOCOL);
    close(fd);
    /* A replica with the wrong secret never gets data. */
    const char *wrong[] = {"--cluster-secret", "guess", NULL};
    start(2, 0, wrong);
    sleep_ms(1500);
    r = cmd(2, "EXISTS guarded");
    assert_int_equal(r->integer, 0);
    kv_reply_free(r);
    /* A fake primary in an older term: the replica refuses it. Point the
     * good replica (term >= 1) at a listener we control. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int fake_port = h_free_port();
    struct sockaddr_in la = {0};
    la.sin_family = AF_INET;
    la.sin_port = htons((uint16_t)(fake_port + 10000));
    la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&la, sizeof la), 0);
    listen(lfd, 4);
    char line[64];
    snprintf(line, sizeof line, "REPLICAOF 127.0.0.1 %d", fake_port);
    r = cmd(1, line);
    kv_reply_free(r);
    struct pollfd p = {lfd, POLLIN, 0};
    assert_true(poll(&p, 1, 10000) == 1);
    int cfd = accept(lfd, NULL, NULL);
    Kv__Challenge ch = KV__CHALLENGE__INIT;
    uint8_t nonce[32] = {1};
    ch.version = 1;
    ch.nonce.data = nonce;
    ch.nonce.len = 32;
    ch.node_id = "fake";
    ch.term = 0;
    m.msg_case = KV__PEER_MESSAGE__MSG_CHALLENGE;
    m.challenge = &ch;
    send_msg(cfd, &m);
    assert_int_equal(read_until_closed(cfd, 5000, &closed), KV__ERROR__CODE__STALE_TERM);
    close(cfd);
    close(lfd);
    /* Nothing was corrupted: the primary's data is as before and the good
     * replica, pointed back, converges. */
    char after[64];
    digest(0, after);
    assert_string_equal(before, after);
    snprintf(line, sizeof line, "REPLICAOF 127.0.0.1 %d", node[0].port);
    r = cmd(1, line);
    kv_reply_free(r);
    assert_true(wait_caught_up(1, 0, 30000));
    assert_same_digest(0, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_three_nodes_converge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replica_kill9_partial_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_replica_snapshot_bootstrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_off_past_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_min_replicas_ack_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demoted_primary_rejoins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_min_replicas_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bitmaps_hll_replicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_port_hostile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
