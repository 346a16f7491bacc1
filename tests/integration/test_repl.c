/* test_repl.c — replication and automatic failover between real kvnode
 * processes on loopback: a cluster forms from nodes started with
 * --replicaof (they join as learners and become voters), converges under
 * load, resyncs a killed follower from its own log, bootstraps a new node
 * from a snapshot, survives kill -9 of its leader without losing an
 * acknowledged write (the old leader rejoins, cuts what never committed and
 * converges), holds still through a pause shorter than the election
 * timeout, hands over with FAILOVER, answers WAIT and NOREPLICAS as Redis,
 * and refuses hostile traffic on the peer port. Every wait is bounded and
 * asserted. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "cluster.h"
#include "harness.h"

/* ---- Fixture ---- */

static int setup(void **state)
{
    (void)state;
    hc_setup("repl");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hc_teardown();
    return 0;
}

/* ---- Helpers ---- */

static void digest(int i, char out[64])
{
    kv_reply *r = hc_cmd(i, "DEBUG DIGEST");
    h_reply_text(r, out, 64);
    kv_reply_free(r);
}

/* Node i holds and has applied everything the leader l has. */
typedef struct pair {
    int i, l;
} pair;

static int caught_up(void *arg)
{
    pair *p = arg;
    long long last = hc_info(p->l, "replication", "master_repl_offset");
    return last > 0 && hc_info(p->i, "replication", "master_repl_offset") == last &&
           hc_info(p->i, "replication", "applied_lsn") == last &&
           hc_info(p->l, "replication", "commit_lsn") == last;
}

static void wait_caught_up(int i, int l, int ms)
{
    pair p = {i, l};
    if (!h_wait_until(caught_up, &p, ms)) {
        hc_dump_logs();
        fail_msg("node %d did not catch up with node %d in %d ms", i, l, ms);
    }
}

typedef struct digest_pair {
    int a, b;
    char x[64], y[64];
} digest_pair;

static int same_digest(void *arg)
{
    digest_pair *d = arg;
    digest(d->a, d->x);
    digest(d->b, d->y);
    return d->x[0] == '+' && strcmp(d->x, d->y) == 0;
}

/* Nodes a and b answer the same DEBUG DIGEST (bounded poll: with writes
 * stopped, a node that has just changed role or lost its link answers an
 * error such as -MASTERDOWN for a moment). */
static void assert_same_digest(int a, int b)
{
    digest_pair d = {a, b, "", ""};
    if (!h_wait_until(same_digest, &d, 30000)) {
        hc_dump_logs();
        fail_msg("node %d digest %s, node %d digest %s", a, d.x, b, d.y);
    }
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


/* Node 0 alone, node 1 started with --replicaof it: a cluster of two
 * voters. */
static void start_pair(void)
{
    hc_start(0, -1, NULL);
    hc_start(1, 0, NULL);
    hc_voters_want v = {0, 2};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
}

/* ---- Tests ---- */

/* Three nodes started as a user would (two with --replicaof) form a
 * cluster of three voters; 60,000 mixed writes reach every node and all
 * end with the same DEBUG DIGEST; followers refuse writes; ROLE and INFO
 * speak Redis's format. */
static void test_three_nodes_converge(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    assert_int_equal(hc_leader(), 0);
    writer w;
    writer_start(&w, hc_node[0].port, 60000);
    pthread_join(w.thread, NULL);
    assert_int_equal(w.sent, 60000);
    assert_int_equal(w.acked, 60000);
    wait_caught_up(1, 0, 60000);
    wait_caught_up(2, 0, 60000);
    assert_same_digest(0, 1);
    assert_same_digest(0, 2);
    assert_int_equal(hc_info(0, "replication", "connected_slaves"), 2);
    assert_int_equal(hc_info(0, "replication", "election_quorum"), 2);
    kv_reply *r = hc_cmd(1, "SET x y");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "READONLY You can't write against a read only replica.");
    kv_reply_free(r);
    r = hc_cmd(0, "ROLE");
    assert_string_equal(r->element[0]->str, "master");
    assert_int_equal(r->element[2]->elements, 2);
    kv_reply_free(r);
    r = hc_cmd(1, "ROLE");
    assert_int_equal(r->elements, 5);
    assert_string_equal(r->element[0]->str, "slave");
    assert_int_equal(r->element[2]->integer, hc_node[0].port);
    assert_string_equal(r->element[3]->str, "connected");
    kv_reply_free(r);
    r = hc_cmd(2, "KVCLUSTER MEMBERS");
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    kv_reply_free(r);
}

/* A follower killed with SIGKILL during a write load resumes from its own
 * log: a partial resync, no snapshot, and no election. */
static void test_follower_kill9_partial_resync(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    long long term = hc_info(0, "replication", "term");
    writer w;
    writer_start(&w, hc_node[0].port, 30000);
    long long partial = hc_info(0, "stats", "sync_partial_ok");
    long long full = hc_info(0, "stats", "sync_full");
    assert_true(partial >= 2);
    assert_int_equal(full, 0);
    h_stop(&hc_node[1], SIGKILL, 5000);
    hc_up[1] = 0;
    assert_int_equal(h_restart(&hc_node[1]), 0);
    hc_up[1] = 1;
    pthread_join(w.thread, NULL);
    assert_int_equal(w.acked, 30000);
    wait_caught_up(1, 0, 60000);
    wait_caught_up(2, 0, 60000);
    assert_same_digest(0, 1);
    assert_true(hc_info(0, "stats", "sync_partial_ok") > partial);
    assert_int_equal(hc_info(0, "stats", "sync_full"), 0);
    assert_int_equal(hc_info(0, "replication", "term"), term);
    assert_int_equal(hc_leader(), 0);
}

static int wal_compacted(void *arg)
{
    (void)arg;
    kv_reply *r = hc_cmd(0, "SAVE");
    kv_reply_free(r);
    return hc_info(0, "persistence", "wal_first_lsn") > 2;
}

/* A new node joining a leader with 300,000 keys whose log is compacted
 * gets a shipped snapshot, catches up while writes go on, converges, and
 * becomes a voter. */
static void test_new_node_snapshot_bootstrap(void **state)
{
    (void)state;
    const char *seg[] = {"--wal-segment-size", "1mb", "--repl-retention-bytes", "0", NULL};
    hc_start(0, -1, seg);
    kv_reply *r = hc_cmd(0, "DEBUG POPULATE 300000");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    writer w;
    writer_start(&w, hc_node[0].port, 20000);
    assert_true(h_wait_until(wal_compacted, NULL, 60000));
    hc_start(1, 0, NULL);
    pthread_join(w.thread, NULL);
    assert_int_equal(w.acked, 20000);
    /* With two voters one slow node (a loaded machine, sanitizers) can cost
     * the leader its quorum: compare with whichever node leads now. */
    int none = -1;
    assert_true(h_wait_until(hc_other_leader, &none, 30000));
    int l = hc_leader();
    assert_true(l == 0 || l == 1);
    wait_caught_up(1 - l, l, 120000);
    assert_same_digest(0, 1);
    assert_int_equal(hc_info(0, "stats", "sync_full"), 1);
    hc_voters_want v = {0, 2};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    r = hc_cmd(1, "DBSIZE");
    assert_true(r->integer >= 300000);
    kv_reply_free(r);
}

/* A writer that records which writes were acknowledged (unique keys). */
typedef struct ledger {
    int port;
    atomic_int stop;
    int n;
    unsigned char acked[200000];
} ledger;

static void *ledger_main(void *arg)
{
    ledger *lg = arg;
    kv_client *c = h_connect(lg->port);
    if (!c)
        return NULL;
    while (!atomic_load(&lg->stop) && lg->n < 200000 - 100) {
        int base = lg->n;
        for (int i = base; i < base + 100; i++) {
            char key[32], val[32];
            snprintf(key, sizeof key, "acked:%d", i);
            snprintf(val, sizeof val, "%d", i);
            const char *argv[3] = {"SET", key, val};
            kv_client_append(c, 3, argv, NULL);
        }
        lg->n = base + 100;
        for (int i = base; i < base + 100; i++) {
            kv_reply *x;
            if (kv_client_read(c, &x) != 0)
                goto out; /* the connection died: outcome unknown */
            if (x->type == KV_REPLY_STATUS)
                lg->acked[i] = 1;
            kv_reply_free(x);
        }
    }
out:
    kv_client_free(c);
    return NULL;
}

/* Every acknowledged write of lg is on node i. Returns how many. */
static int check_ledger(ledger *lg, int i)
{
    int n = 0;
    kv_client *c = h_connect(hc_node[i].port);
    assert_non_null(c);
    for (int k = 0; k < lg->n; k++) {
        if (!lg->acked[k])
            continue;
        n++;
        char key[32], want[32], got[64];
        snprintf(key, sizeof key, "acked:%d", k);
        snprintf(want, sizeof want, "\"%d\"", k);
        const char *argv[2] = {"GET", key};
        kv_reply *x = h_cmdv(c, 2, argv, NULL);
        h_reply_text(x, got, sizeof got);
        kv_reply_free(x);
        if (strcmp(got, want) != 0) {
            hc_dump_logs();
            fail_msg("acknowledged %s is %s on node %d", key, got, i);
        }
    }
    kv_client_free(c);
    return n;
}

static int writable(void *arg)
{
    int i = *(int *)arg;
    kv_reply *r = hc_cmd(i, "SET probe 1");
    int ok = r && r->type == KV_REPLY_STATUS;
    kv_reply_free(r);
    return ok;
}

/* kill -9 of the leader under a write load: another node is elected on
 * its own, every acknowledged write is there, it takes writes; the old
 * leader restarts, rejoins as a follower and converges. */
static void test_kill9_leader_loses_no_acked_write(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    static ledger lg;
    memset(&lg, 0, sizeof lg);
    lg.port = hc_node[0].port;
    pthread_t t;
    pthread_create(&t, NULL, ledger_main, &lg);
    /* Until a few thousand writes are in. */
    long long deadline = h_now_ms() + 30000;
    while (lg.n < 3000 && h_now_ms() < deadline)
        sched_yield();
    long long term = hc_info(1, "replication", "term");
    h_stop(&hc_node[0], SIGKILL, 5000);
    hc_up[0] = 0;
    pthread_join(t, NULL);
    int old = 0;
    if (!h_wait_until(hc_other_leader, &old, 20000)) {
        hc_dump_logs();
        fail_msg("no new leader after kill -9 of the leader");
    }
    int l = hc_leader();
    assert_true(hc_info(l, "replication", "term") > term);
    assert_true(h_wait_until(writable, &l, 10000));
    int acked = check_ledger(&lg, l);
    printf("  %d of %d writes acknowledged before the kill; all on the new leader\n", acked,
           lg.n);
    assert_true(acked > 0);
    /* The old leader comes back as a follower and converges. */
    assert_int_equal(h_restart(&hc_node[0]), 0);
    hc_up[0] = 1;
    wait_caught_up(0, l, 60000);
    assert_same_digest(0, l);
    assert_int_equal(hc_leader(), l);
    check_ledger(&lg, 0);
}

/* A leader whose followers are down takes writes it can never commit:
 * those clients get no reply. It is killed; the followers come back and
 * elect one of them, which takes new writes; the old leader restarts,
 * cuts the entries that never committed and converges. (Stopping the
 * followers with SIGSTOP would not do: the leader's Appends wait in their
 * socket buffers and reach them when they resume, and then commit.) */
static void test_uncommitted_entries_are_cut(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    kv_reply *r = hc_cmd(0, "SET shared 1");
    kv_reply_free(r);
    wait_caught_up(1, 0, 30000);
    wait_caught_up(2, 0, 30000);
    h_stop(&hc_node[1], SIGKILL, 5000);
    h_stop(&hc_node[2], SIGKILL, 5000);
    hc_up[1] = hc_up[2] = 0;
    /* Sent on a raw connection: no reply will ever come. */
    int fd = h_raw_connect(hc_node[0].port);
    assert_true(fd >= 0);
    for (int i = 0; i < 5; i++) {
        char req[128];
        int n = snprintf(req, sizeof req, "*3\r\n$3\r\nSET\r\n$13\r\nuncommitted:%d\r\n$1\r\nx\r\n",
                         i);
        assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    }
    /* The leader logs them (its last LSN moves) but cannot commit. */
    long long commit = hc_info(0, "replication", "commit_lsn");
    long long deadline = h_now_ms() + 10000;
    while (hc_info(0, "persistence", "wal_last_lsn") < commit + 5 && h_now_ms() < deadline)
        sched_yield();
    assert_true(hc_info(0, "persistence", "wal_last_lsn") >= commit + 5);
    h_stop(&hc_node[0], SIGKILL, 5000);
    hc_up[0] = 0;
    close(fd);
    assert_int_equal(h_restart(&hc_node[1]), 0);
    assert_int_equal(h_restart(&hc_node[2]), 0);
    hc_up[1] = hc_up[2] = 1;
    int old = 0;
    assert_true(h_wait_until(hc_other_leader, &old, 20000));
    int l = hc_leader();
    assert_true(h_wait_until(writable, &l, 10000));
    r = hc_cmd(l, "SET newer 1");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    assert_int_equal(h_restart(&hc_node[0]), 0);
    hc_up[0] = 1;
    wait_caught_up(0, l, 60000);
    assert_same_digest(0, l);
    r = hc_cmd(0, "EXISTS uncommitted:0 uncommitted:4");
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    assert_int_equal(r->integer, 0);
    kv_reply_free(r);
    r = hc_cmd(0, "GET newer");
    assert_string_equal(r->str, "1");
    kv_reply_free(r);
    assert_true(hc_info(0, "replication", "truncations") >= 1);
    /* It stays a follower across a restart. */
    h_stop(&hc_node[0], SIGTERM, 10000);
    assert_int_equal(h_restart(&hc_node[0]), 0);
    r = hc_cmd(0, "ROLE");
    assert_string_equal(r->element[0]->str, "slave");
    kv_reply_free(r);
}

/* A pause of the leader shorter than the election timeout changes
 * nothing: no election, same term, same leader. A follower paused for
 * longer does not move the term when it comes back (PreVote). */
static void test_short_pause_no_election(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    long long term = hc_info(1, "replication", "term");
    kill(hc_node[0].pid, SIGSTOP);
    struct timespec ts = {0, 400 * 1000000L}; /* the pause being tested */
    nanosleep(&ts, NULL);
    kill(hc_node[0].pid, SIGCONT);
    kv_reply *r = hc_cmd(0, "SET after-pause 1");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    assert_int_equal(hc_leader(), 0);
    assert_int_equal(hc_info(1, "replication", "term"), term);
    assert_int_equal(hc_info(2, "replication", "term"), term);
    kill(hc_node[2].pid, SIGSTOP);
    ts.tv_sec = 3;
    ts.tv_nsec = 0;
    nanosleep(&ts, NULL);
    kill(hc_node[2].pid, SIGCONT);
    wait_caught_up(2, 0, 30000);
    assert_int_equal(hc_leader(), 0);
    assert_int_equal(hc_info(0, "replication", "term"), term);
    assert_int_equal(hc_info(2, "replication", "term"), term);
}

/* replica-serve-stale-data no: a follower out of contact with its leader
 * answers data commands with Redis's -MASTERDOWN (INFO and CONFIG still
 * work); yes (the default) serves what it has; back in contact, it serves
 * again. */
typedef struct stale_want {
    int node;
    const char *prefix;
} stale_want;

static int get_k_starts_with(void *arg)
{
    stale_want *w = arg;
    kv_reply *r = hc_cmd(w->node, "GET k");
    int ok = r && r->str && strncmp(r->str, w->prefix, strlen(w->prefix)) == 0;
    kv_reply_free(r);
    return ok;
}

static void test_replica_serve_stale_data(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    int l = hc_leader();
    assert_true(l >= 0);
    int f = (l + 1) % 3, o = (l + 2) % 3;
    kv_reply *r = hc_cmd(l, "SET k v");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    wait_caught_up(f, l, 30000);
    r = hc_cmd(f, "CONFIG SET replica-serve-stale-data no");
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);
    stale_want v = {f, "v"};
    assert_true(h_wait_until(get_k_starts_with, &v, 10000));
    /* Out of contact: the leader and the other voter stopped. */
    assert_int_equal(kill(hc_node[l].pid, SIGSTOP), 0);
    assert_int_equal(kill(hc_node[o].pid, SIGSTOP), 0);
    stale_want down = {f, "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set "
                          "to 'no'."};
    int refused = h_wait_until(get_k_starts_with, &down, 15000);
    r = hc_cmd(f, "INFO replication");
    int link_down = r && r->str && strstr(r->str, "master_link_status:down");
    kv_reply_free(r);
    /* Only what Redis flags "stale" runs: not PING, but ECHO (and INFO). */
    r = hc_cmd(f, "PING");
    int ping_refused = r && r->type == KV_REPLY_ERROR && !strcmp(r->str, down.prefix);
    kv_reply_free(r);
    r = hc_cmd(f, "ECHO hi");
    int echo_ok = r && r->str && !strcmp(r->str, "hi");
    kv_reply_free(r);
    r = hc_cmd(f, "CONFIG SET slave-serve-stale-data yes");
    int set_ok = r && r->str && !strcmp(r->str, "OK");
    kv_reply_free(r);
    int served = get_k_starts_with(&v);
    assert_int_equal(kill(hc_node[l].pid, SIGCONT), 0);
    assert_int_equal(kill(hc_node[o].pid, SIGCONT), 0);
    assert_true(refused);
    assert_true(link_down);
    assert_true(ping_refused);
    assert_true(echo_ok);
    assert_true(set_ok);
    assert_true(served);
    /* In contact again (as a follower, or as the new leader), with no:
     * served. */
    r = hc_cmd(f, "CONFIG SET replica-serve-stale-data no");
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);
    assert_true(h_wait_until(get_k_starts_with, &v, 30000));
}

static int is_leader(void *arg)
{
    return hc_leader() == *(int *)arg;
}

/* The first moment node i's link to its primary reads "up". */
static int link_up(void *arg)
{
    int i = *(int *)arg;
    kv_reply *r = hc_cmd(i, "INFO replication");
    int up = r && r->str && strstr(r->str, "master_link_status:up");
    kv_reply_free(r);
    return up;
}

static void expect_status_at(int line, int i, const char *cmd, kv_reply_type type,
                             const char *text)
{
    kv_reply *r = hc_cmd(i, cmd);
    assert_non_null(r);
    if (r->type != type || strcmp(r->str, text) != 0)
        fail_msg("line %d, node %d, %s: got '%s' (type %d), expected '%s'", line, i, cmd,
                 r->str ? r->str : "", r->type, text);
    kv_reply_free(r);
}

#define expect_status(i, cmd, type, text) expect_status_at(__LINE__, i, cmd, type, text)

/* REPLICAOF at run time, as a Redis user attaches a replica: two nodes
 * started alone; node 1, with data of its own, is pointed at a port no
 * node answers (0: it stops taking writes, keeps its data) and back (NO
 * ONE: it leads its own cluster again, writable when OK comes), then at
 * node 0. Its data is
 * replaced by node 0's, and when its link first reads "up" it holds all of
 * node 0's data, as a Redis replica after its sync. Redis's replies and
 * errors: "Already connected", "Invalid master port". */
static void test_replicaof_at_runtime(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    hc_start(1, -1, NULL);
    char line[128];
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    for (int k = 0; k < 3000; k++) {
        char key[32];
        snprintf(key, sizeof key, "key:%d", k);
        const char *argv[] = {"SET", key, "v"};
        assert_int_equal(kv_client_append(c, 3, argv, NULL), 0);
    }
    for (int k = 0; k < 3000; k++) {
        kv_reply *r;
        assert_int_equal(kv_client_read(c, &r), 0);
        assert_int_equal(r->type, KV_REPLY_STATUS);
        kv_reply_free(r);
    }
    kv_client_free(c);
    expect_status(1, "SET mine 1", KV_REPLY_STATUS, "OK");

    /* Nowhere to go: no writes, the data stays. */
    expect_status(1, "REPLICAOF 127.0.0.1 0", KV_REPLY_STATUS, "OK");
    expect_status(1, "SET x 1", KV_REPLY_ERROR,
                  "READONLY You can't write against a read only replica.");
    expect_status(1, "GET mine", KV_REPLY_STRING, "1");
    assert_int_equal(hc_info(1, "replication", "master_port"), 0);
    kv_reply *r = hc_cmd(1, "CONFIG GET replicaof");
    assert_string_equal(r->element[1]->str, "127.0.0.1 0");
    kv_reply_free(r);
    r = hc_cmd(1, "ROLE");
    assert_string_equal(r->element[0]->str, "slave");
    assert_string_equal(r->element[3]->str, "connect");
    kv_reply_free(r);
    expect_status(1, "REPLICAOF 127.0.0.1 0", KV_REPLY_STATUS,
                  "OK Already connected to specified master");
    expect_status(1, "REPLICAOF 127.0.0.1 65536", KV_REPLY_ERROR, "ERR Invalid master port");
    expect_status(1, "REPLICAOF 127.0.0.1 -1", KV_REPLY_ERROR, "ERR Invalid master port");
    expect_status(1, "REPLICAOF 127.0.0.1 abc", KV_REPLY_ERROR, "ERR Invalid master port");

    /* Back: it leads its own cluster again, with its data. */
    expect_status(1, "REPLICAOF NO ONE", KV_REPLY_STATUS, "OK");
    /* Its OK comes once it leads again, as Redis's: a write right after
     * it succeeds (no poll). */
    expect_status(1, "SET probe 1", KV_REPLY_STATUS, "OK");
    expect_status(1, "GET mine", KV_REPLY_STRING, "1");
    int one = 1;

    /* Node 0's cluster takes it. */
    snprintf(line, sizeof line, "REPLICAOF 127.0.0.1 %d", hc_node[0].port);
    expect_status(1, line, KV_REPLY_STATUS, "OK");
    if (!h_wait_until(link_up, &one, 30000)) {
        hc_dump_logs();
        fail_msg("node 1's link never came up");
    }
    /* Up means synced: node 0's 3,000 keys, and not its own. */
    r = hc_cmd(1, "DBSIZE");
    assert_int_equal(r->integer, 3000);
    kv_reply_free(r);
    r = hc_cmd(1, "EXISTS mine");
    assert_int_equal(r->integer, 0);
    kv_reply_free(r);
    expect_status(1, line, KV_REPLY_STATUS, "OK Already connected to specified master");
    expect_status(1, "SET x 1", KV_REPLY_ERROR,
                  "READONLY You can't write against a read only replica.");
    expect_status(0, "SET after 1", KV_REPLY_STATUS, "OK");
    wait_caught_up(1, 0, 30000);
    assert_same_digest(0, 1);
    assert_int_equal(hc_info(0, "replication", "connected_slaves"), 1);
    r = hc_cmd(1, "ROLE");
    assert_string_equal(r->element[0]->str, "slave");
    assert_int_equal(r->element[2]->integer, hc_node[0].port);
    assert_string_equal(r->element[3]->str, "connected");
    kv_reply_free(r);
    /* REPLICAOF NO ONE there: its OK comes once it is the primary (node 0
     * hands over), so a write right after it, on the same connection (a
     * user's promotion closes no client), succeeds, and node 0 now refuses
     * writes. */
    kv_client *pc = h_connect(hc_node[1].port);
    assert_non_null(pc);
    r = h_cmd(pc, "REPLICAOF NO ONE");
    assert_non_null(r);
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);
    r = h_cmd(pc, "SET promoted 1");
    assert_non_null(r);
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);
    r = h_cmd(pc, "PING");
    assert_non_null(r);
    assert_string_equal(r->str, "PONG");
    kv_reply_free(r);
    expect_status(0, "SET x 1", KV_REPLY_ERROR,
                  "READONLY You can't write against a read only replica.");
    /* And back: REPLICAOF on the leader hands over to node 0; the
     * connection it came on stays open, as Redis's. */
    snprintf(line, sizeof line, "REPLICAOF 127.0.0.1 %d", hc_node[0].port);
    r = h_cmd(pc, line);
    assert_non_null(r);
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);
    int zero = 0;
    if (!h_wait_until(is_leader, &zero, 15000))
        fail_msg("node 0 did not take leadership back");
    r = h_cmd(pc, "SET y 1");
    assert_non_null(r);
    assert_string_equal(r->str, "READONLY You can't write against a read only replica.");
    kv_reply_free(r);
    kv_client_free(pc);
    /* A member now: its meta file names no node to join at startup. */
    char path[700], text[4096] = "";
    snprintf(path, sizeof path, "%s/n1/meta", hc_tmp);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[got] = '\0';
    assert_null(strstr(text, "following"));
}

/* Queue one command line (words split at spaces) on c. */
static int queue_line(kv_client *c, const char *line)
{
    char buf[256], *argv[8];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && argc < 8;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    return kv_client_append(c, argc, (const char *const *)argv, NULL);
}

/* REPLICAOF inside MULTI: the rest of the transaction runs as on Redis
 * (the node was a primary when EXEC began), and the node takes no write
 * once EXEC has answered. */
static void test_replicaof_in_exec(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    const char *lines[] = {"MULTI", "SET a 1", "REPLICAOF 127.0.0.1 0", "SET b 2", "EXEC",
                           "SET c 3", "GET b"};
    for (size_t k = 0; k < sizeof lines / sizeof *lines; k++)
        assert_int_equal(queue_line(c, lines[k]), 0);
    kv_reply *r = NULL;
    for (int k = 0; k < 4; k++) { /* OK QUEUED QUEUED QUEUED */
        assert_int_equal(kv_client_read(c, &r), 0);
        assert_int_equal(r->type, KV_REPLY_STATUS);
        kv_reply_free(r);
    }
    assert_int_equal(kv_client_read(c, &r), 0);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    for (int k = 0; k < 3; k++)
        assert_string_equal(r->element[k]->str, "OK");
    kv_reply_free(r);
    assert_int_equal(kv_client_read(c, &r), 0);
    assert_string_equal(r->str, "READONLY You can't write against a read only replica.");
    kv_reply_free(r);
    assert_int_equal(kv_client_read(c, &r), 0);
    assert_string_equal(r->str, "2");
    kv_reply_free(r);
    kv_client_free(c);
}

typedef struct mem_pair {
    int follower, leader;
    long long f, l;
} mem_pair;

static int follower_memory_near(void *arg)
{
    mem_pair *m = arg;
    m->f = hc_info(m->follower, "memory", "used_memory");
    m->l = hc_info(m->leader, "memory", "used_memory");
    return m->f > 0 && m->l > 0 && m->f <= m->l + (10ll << 20);
}

/* A 16 MB value reaches a follower in one peer frame and one apply queue
 * entry; the buffers that grew for it are given back, so the follower's
 * used_memory comes back within 10 MB of the leader's (Redis's
 * pendingquerybuf test: it used to stay 80 MB above). */
static void test_big_value_buffers_given_back(void **state)
{
    (void)state;
    start_pair();
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    size_t n = 16u << 20;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    const char *argv[] = {"SET", "big", big};
    const size_t lens[] = {3, 3, n};
    kv_reply *r = NULL;
    int rc = kv_client_command(c, 3, argv, lens, &r);
    if (rc != 0)
        fail_msg("SET of 16 MB: %s", kv_client_errmsg(c));
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);
    free(big);
    kv_client_free(c);
    wait_caught_up(1, 0, 30000);
    mem_pair m = {1, 0, 0, 0};
    if (!h_wait_until(follower_memory_near, &m, 10000))
        fail_msg("follower used_memory %lld, leader %lld", m.f, m.l);
}

/* A node whose data a run-time REPLICAOF dropped, stopped before the
 * other cluster recorded it as a member, has "following <host> <port>" in
 * its meta file (and no cluster): started again without --replicaof, it
 * joins that node's cluster rather than founding an empty one. The state
 * is written by hand: the window is too short to stop a node in. */
static void test_join_resumes_after_restart(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    expect_status(0, "SET k v", KV_REPLY_STATUS, "OK");
    char dir[700], path[800];
    snprintf(dir, sizeof dir, "%s/n1", hc_tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/meta", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "node_id joiner-1\nterm 4\nvoted_for -\ncommit 0\ncluster -\nconfig_lsn 0\n"
               "following 127.0.0.1 %d\n",
            hc_node[0].port);
    fclose(f);
    hc_start(1, -1, NULL);
    int one = 1;
    if (!h_wait_until(link_up, &one, 30000)) {
        hc_dump_logs();
        fail_msg("the restarted joiner never followed node 0");
    }
    expect_status(1, "GET k", KV_REPLY_STRING, "v");
    hc_voters_want v = {0, 2};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
}

/* FAILOVER hands leadership to the named node at once; a concurrent
 * writer loses no acknowledged write; FAILOVER's errors are Redis's. */
static void test_failover_switchover(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    kv_reply *r = hc_cmd(1, "FAILOVER");
    assert_string_equal(r->str, "ERR FAILOVER is not valid when server is a replica.");
    kv_reply_free(r);
    r = hc_cmd(0, "FAILOVER TO 127.0.0.1 1");
    assert_string_equal(r->str, "ERR FAILOVER target HOST and PORT is not a replica.");
    kv_reply_free(r);
    r = hc_cmd(0, "FAILOVER TIMEOUT 0");
    assert_string_equal(r->str, "ERR FAILOVER timeout must be greater than 0");
    kv_reply_free(r);
    r = hc_cmd(0, "FAILOVER FORCE");
    assert_string_equal(
        r->str, "ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
    kv_reply_free(r);
    r = hc_cmd(0, "FAILOVER ABORT");
    assert_string_equal(r->str, "ERR No failover in progress.");
    kv_reply_free(r);
    static ledger lg;
    memset(&lg, 0, sizeof lg);
    lg.port = hc_node[0].port;
    pthread_t t;
    pthread_create(&t, NULL, ledger_main, &lg);
    long long deadline = h_now_ms() + 30000;
    while (lg.n < 2000 && h_now_ms() < deadline)
        sched_yield();
    char line[64];
    snprintf(line, sizeof line, "FAILOVER TO 127.0.0.1 %d", hc_node[2].port);
    r = hc_cmd(0, line);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    int old = 0;
    assert_true(h_wait_until(hc_other_leader, &old, 10000));
    assert_int_equal(hc_leader(), 2);
    atomic_store(&lg.stop, 1);
    pthread_join(t, NULL);
    check_ledger(&lg, 2);
    wait_caught_up(0, 2, 30000);
    assert_same_digest(0, 2);
    assert_true(hc_info(0, "replication", "leadership_transfers") >= 1);
}

static int handing_over(void *arg)
{
    kv_reply *r = hc_cmd(*(int *)arg, "INFO replication");
    int yes = r && r->str && strstr(r->str, "master_failover_state:failover-in-progress");
    kv_reply_free(r);
    return yes != 0;
}

/* SHUTDOWN on the leader hands leadership over first, for at most
 * shutdown-timeout, as SIGTERM does (Redis's SHUTDOWN waits for its
 * replicas): the other node leads by a transfer and the node exits
 * cleanly. SHUTDOWN ABORT during the wait cancels it: the waiting SHUTDOWN
 * gets Redis's error, and the node stays up and leading. */
static void test_shutdown_hands_over(void **state)
{
    (void)state;
    /* A long election timeout: the leader keeps its lease while its
     * follower is stopped below. */
    const char *extra[] = {"--election-timeout", "5000", NULL};
    hc_start(0, -1, extra);
    hc_start(1, 0, extra);
    hc_voters_want v = {0, 2};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    kv_reply *r = hc_cmd(0, "CONFIG GET shutdown-timeout");
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[1]->str, "10");
    kv_reply_free(r);
    r = hc_cmd(0, "SHUTDOWN ABORT");
    assert_string_equal(r->str, "ERR No shutdown in progress.");
    kv_reply_free(r);
    r = hc_cmd(0, "SET k 1");
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);

    /* The follower cannot catch up (stopped): SHUTDOWN waits, ABORT ends
     * the wait. */
    assert_int_equal(kill(hc_node[1].pid, SIGSTOP), 0);
    int fd = h_raw_connect(hc_node[0].port);
    assert_true(fd >= 0);
    assert_int_equal(h_raw_send(fd, "SHUTDOWN\r\n", 10), 0);
    int n0 = 0;
    assert_true(h_wait_until(handing_over, &n0, 10000));
    r = hc_cmd(0, "SHUTDOWN ABORT");
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);
    char line[256];
    assert_int_equal(h_raw_line(fd, line, sizeof line, 10000), 0);
    assert_string_equal(line, "-ERR Errors trying to SHUTDOWN. Check logs.");
    /* The connection goes on. */
    assert_int_equal(h_raw_send(fd, "PING\r\n", 6), 0);
    assert_int_equal(h_raw_line(fd, line, sizeof line, 10000), 0);
    assert_string_equal(line, "+PONG");
    assert_int_equal(kill(hc_node[1].pid, SIGCONT), 0);
    assert_true(h_wait_until(writable, &n0, 20000));

    /* Now it hands over, and exits. */
    assert_int_equal(h_raw_send(fd, "SHUTDOWN\r\n", 10), 0);
    int n1 = 1;
    assert_true(h_wait_until(is_leader, &n1, 20000));
    /* Exits by itself, with status 0 (signal 0: only waited for). */
    int st = h_stop(&hc_node[0], 0, 20000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    hc_up[0] = 0;
    assert_true(h_log_has(&hc_node[0], "Handing leadership over before shutting down (at most 10 s)"));
    r = hc_cmd(1, "GET k");
    assert_string_equal(r->str, "1");
    kv_reply_free(r);
    close(fd);
}

/* WAIT counts replicas that have applied the client's writes (a read
 * there right after sees them), honours its timeout, and is refused on a
 * replica. */
static void test_wait(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    kv_client *c = h_connect(hc_node[0].port);
    kv_reply *r = h_cmd(c, "SET w 1");
    kv_reply_free(r);
    r = h_cmd(c, "WAIT 2 5000");
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    assert_int_equal(r->integer, 2);
    kv_reply_free(r);
    long long t0 = h_now_ms();
    r = h_cmd(c, "WAIT 3 300");
    assert_int_equal(r->integer, 2);
    assert_true(h_now_ms() - t0 >= 250);
    kv_reply_free(r);
    r = h_cmd(c, "WAIT 1 -1");
    assert_string_equal(r->str, "ERR timeout is negative");
    kv_reply_free(r);
    /* A replica WAIT counts has applied the write, as in Redis: reads
     * there see it at once. Many rounds, each reading both replicas right
     * after WAIT 2 (no poll). */
    for (int k = 0; k < 200; k++) {
        char line[64], want[32];
        snprintf(want, sizeof want, "v%d", k);
        snprintf(line, sizeof line, "SET seen %s", want);
        r = h_cmd(c, line);
        assert_int_equal(r->type, KV_REPLY_STATUS);
        kv_reply_free(r);
        r = h_cmd(c, "WAIT 2 5000");
        assert_int_equal(r->integer, 2);
        kv_reply_free(r);
        for (int f = 1; f <= 2; f++) {
            r = hc_cmd(f, "GET seen");
            if (!r || !r->str || strcmp(r->str, want) != 0)
                fail_msg("round %d: node %d reads '%s' after WAIT 2, not '%s'", k, f,
                         r && r->str ? r->str : "(nil)", want);
            kv_reply_free(r);
        }
    }
    kv_client_free(c);
    r = hc_cmd(1, "WAIT 1 10");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_non_null(strstr(r->str, "replica"));
    kv_reply_free(r);
}

static int one_good_replica(void *arg)
{
    (void)arg;
    return hc_info(0, "replication", "min_slaves_good_slaves") >= 1;
}

/* min-replicas-ack: with too few good replicas writes are refused before
 * they run, with Redis's NOREPLICAS error. */
static void test_min_replicas_ack(void **state)
{
    (void)state;
    const char *ack2[] = {"--min-replicas-ack", "2", NULL};
    hc_start(0, -1, ack2);
    kv_reply *r = hc_cmd(0, "SET a b");
    assert_non_null(r);
    assert_string_equal(r->str, "NOREPLICAS Not enough good replicas to write.");
    kv_reply_free(r);
    hc_start(1, 0, NULL);
    assert_true(h_wait_until(one_good_replica, NULL, 30000));
    r = hc_cmd(0, "SET a b");
    assert_string_equal(r->str, "NOREPLICAS Not enough good replicas to write.");
    kv_reply_free(r);
    hc_start(2, 0, NULL);
    hc_voters_want v = {0, 3};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    /* With both replicas a write is answered: committed by a majority and
     * durable on the two replicas min-replicas-ack asks for. */
    int l = 0;
    assert_true(h_wait_until(writable, &l, 10000));
    assert_int_equal(hc_info(0, "replication", "commit_quorum"), 2);
    assert_int_equal(hc_info(0, "replication", "ack_replicas"), 2);
    r = hc_cmd(0, "WAIT 2 0");
    assert_int_equal(r->integer, 2);
    kv_reply_free(r);
}

/* Bitmaps and HyperLogLogs replicate as deterministic effects: a replica
 * with a much smaller hll-sparse-max-bytes ends with the leader's exact
 * values (the leader logs the dense conversions it made; replay never
 * converts by size), a BITFIELD whose only effect was to pad the key is
 * replicated too, and a PFCOUNT on the replica answers the leader's count
 * without writing the cached cardinality there. */
static void test_bitmaps_hll_replicate(void **state)
{
    (void)state;
    const char *pextra[] = {"--hll-sparse-max-bytes", "3000", NULL};
    const char *rextra[] = {"--hll-sparse-max-bytes", "40", NULL};
    hc_start(0, -1, pextra);
    hc_start(1, 0, rextra);
    hc_voters_want v = {0, 2};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    char line[2048];
    const char *keys[] = {"h1", "h2"};
    for (int k = 0; k < 2; k++) {
        int at = snprintf(line, sizeof line, "PFADD %s", keys[k]);
        for (int i = 0; i < 100; i++)
            at += snprintf(line + at, sizeof line - (size_t)at, " %s-%d", keys[k], i);
        kv_reply_free(hc_cmd(0, line));
        if (k == 0)
            kv_reply_free(hc_cmd(0, "CONFIG SET hll-sparse-max-bytes 200"));
    }
    kv_reply_free(hc_cmd(0, "PFCOUNT h1"));
    kv_reply_free(hc_cmd(0, "PFMERGE h3 h1"));
    kv_reply_free(hc_cmd(0, "SETBIT b 1000 1"));
    kv_reply_free(hc_cmd(0, "BITFIELD b OVERFLOW FAIL INCRBY u8 2000 300"));
    kv_reply_free(hc_cmd(0, "BITOP NOT b2 b"));
    wait_caught_up(1, 0, 30000);
    assert_same_digest(0, 1);
    kv_reply *r = hc_cmd(0, "PFDEBUG ENCODING h1");
    assert_string_equal(r->str, "sparse");
    kv_reply_free(r);
    r = hc_cmd(1, "STRLEN b");
    assert_int_equal(r->integer, 251);
    kv_reply_free(r);
    /* PFCOUNT on the replica: the leader's answer, nothing stored. */
    char before[64], after[64];
    digest(1, before);
    r = hc_cmd(1, "PFCOUNT h2");
    digest(1, after);
    assert_string_equal(before, after);
    kv_reply *p = hc_cmd(0, "PFCOUNT h2");
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    assert_int_equal(r->integer, p->integer);
    kv_reply_free(r);
    kv_reply_free(p);
    /* The leader stored its cache; the replica gets it from the log. */
    wait_caught_up(1, 0, 30000);
    assert_same_digest(0, 1);
    digest(1, after);
    assert_string_not_equal(before, after);
}

/* DUMP/RESTORE, SORT ... STORE, COPY and LCS on the primary: the replica
 * gets the same values (RESTORE logged with its absolute TTL, SORT STORE as
 * the list it stored, also where the sort order among equal ALPHA weights
 * follows set iteration order). */
static void test_dump_sort_replicate(void **state)
{
    (void)state;
    start_pair();
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    kv_reply_free(h_cmd(c, "SADD s a b c d e f g h i j k l m n o p q r s t u v w x y z"));
    kv_reply_free(h_cmd(c, "SET w_a 1"));
    kv_reply_free(h_cmd(c, "SET w_b 1"));
    kv_reply *r = h_cmd(c, "SORT s BY w_* ALPHA STORE sorted");
    assert_int_equal(r->integer, 26);
    kv_reply_free(r);
    kv_reply_free(h_cmd(c, "SET sorted2 x"));
    r = h_cmd(c, "SORT nosuch STORE sorted2");
    assert_int_equal(r->integer, 0);
    kv_reply_free(r);
    kv_reply_free(h_cmd(c, "ZADD z 1 a 2 b 3 c"));
    kv_reply_free(h_cmd(c, "SORT z BY nosort DESC GET # STORE zl"));
    kv_reply *p = h_cmd(c, "DUMP z");
    assert_int_equal(p->type, KV_REPLY_STRING);
    const char *argv[5] = {"RESTORE", "z2", "600000", p->str, "REPLACE"};
    size_t lens[5] = {7, 2, 6, p->len, 7};
    r = h_cmdv(c, 5, argv, lens);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    argv[1] = "z3";
    argv[2] = "0";
    lens[2] = 1;
    r = h_cmdv(c, 4, argv, lens);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    kv_reply_free(p);
    kv_reply_free(h_cmd(c, "COPY z2 z4"));
    kv_reply_free(h_cmd(c, "SET a ohmytext"));
    kv_reply_free(h_cmd(c, "SET b mynewtext"));
    kv_reply_free(h_cmd(c, "LCS a b IDX"));
    kv_client_free(c);
    wait_caught_up(1, 0, 30000);
    assert_same_digest(0, 1);
    const char *checks[] = {"LRANGE sorted 0 -1", "EXISTS sorted2", "LRANGE zl 0 -1",
                            "ZRANGE z2 0 -1 WITHSCORES", "PEXPIRETIME z2", "PEXPIRETIME z4",
                            "ZRANGE z3 0 -1 WITHSCORES"};
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++) {
        char a[2048], b[2048];
        kv_reply *x = hc_cmd(0, checks[i]), *y = hc_cmd(1, checks[i]);
        h_reply_text(x, a, sizeof a);
        h_reply_text(y, b, sizeof b);
        assert_string_equal(a, b);
        kv_reply_free(x);
        kv_reply_free(y);
    }
    r = hc_cmd(1, "LRANGE zl 0 -1");
    assert_int_equal(r->elements, 3);
    assert_string_equal(r->element[0]->str, "c");
    kv_reply_free(r);
    r = hc_cmd(1, "PEXPIRETIME z2");
    assert_true(r->integer > 0);
    kv_reply_free(r);
}

/* ---- hostile peers ---- */

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
    hc_start(0, -1, secret);
    hc_start(1, 0, secret);
    hc_voters_want v2 = {0, 2};
    assert_true(h_wait_until(hc_has_voters, &v2, 30000));
    kv_reply *r = hc_cmd(0, "SET guarded 1");
    kv_reply_free(r);
    wait_caught_up(1, 0, 30000);
    char before[64];
    digest(0, before);
    int peer = hc_node[0].port + 10000;
    int closed;
    /* Garbage. */
    int fd = h_raw_connect(peer);
    char junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 131 + 7);
    send(fd, junk, sizeof junk, MSG_NOSIGNAL);
    read_until_closed(fd, 5000, &closed);
    assert_true(closed);
    close(fd);
    /* A header announcing a 1 GiB frame: refused before it is buffered. */
    fd = h_raw_connect(peer);
    unsigned char big[8] = {0, 0, 0, 0x40, 0, 0, 0, 0};
    send(fd, big, sizeof big, MSG_NOSIGNAL);
    assert_int_equal(read_until_closed(fd, 5000, &closed), KV__ERROR__CODE__PROTOCOL);
    assert_true(closed);
    close(fd);
    /* A truncated frame, then the client goes away. */
    fd = h_raw_connect(peer);
    send(fd, big, 4, MSG_NOSIGNAL);
    close(fd);
    /* A Hello without the right HMAC. */
    fd = h_raw_connect(peer);
    Kv__Hello h = KV__HELLO__INIT;
    h.version = 2;
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
    fd = h_raw_connect(peer);
    h.version = 99;
    send_msg(fd, &m);
    assert_int_equal(read_until_closed(fd, 5000, &closed), KV__ERROR__CODE__VERSION);
    close(fd);
    /* A message out of place (an Append before any handshake). */
    fd = h_raw_connect(peer);
    Kv__Append a = KV__APPEND__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_APPEND;
    m.append = &a;
    send_msg(fd, &m);
    assert_int_equal(read_until_closed(fd, 5000, &closed), KV__ERROR__CODE__PROTOCOL);
    close(fd);
    /* A node with the wrong secret is refused: its Join never reaches the
     * leader (the connection fails authentication), so it never becomes a
     * member and never gets data. */
    long long failures = hc_info(0, "stats", "peer_auth_failures");
    const char *wrong[] = {"--cluster-secret", "guess", NULL};
    hc_start(2, 0, wrong);
    long long want = failures + 2;
    long long deadline = h_now_ms() + 10000;
    while (hc_info(0, "stats", "peer_auth_failures") < want && h_now_ms() < deadline)
        sched_yield();
    assert_true(hc_info(0, "stats", "peer_auth_failures") >= want);
    assert_int_equal(hc_info(0, "replication", "members"), 2);
    r = hc_cmd(2, "EXISTS guarded");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR); /* it serves nothing */
    kv_reply_free(r);
    /* Nothing was corrupted: the primary's data is as before and the good
     * replica, pointed back, converges. */
    char after[64];
    digest(0, after);
    assert_string_equal(before, after);
    wait_caught_up(1, 0, 30000);
    assert_same_digest(0, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_three_nodes_converge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follower_kill9_partial_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_node_snapshot_bootstrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_leader_loses_no_acked_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncommitted_entries_are_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_pause_no_election, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replica_serve_stale_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replicaof_at_runtime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_resumes_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replicaof_in_exec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_value_buffers_given_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_switchover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_hands_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_min_replicas_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bitmaps_hll_replicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_sort_replicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_port_hostile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
