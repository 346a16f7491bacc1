/* test_cluster.c — primary discovery and failover (kv_cluster): scripted
 * nodes for the exact retry rules, then real redis-server primary/replica
 * pairs for switchover and killed primaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_server.h"
#include "internal.h"
#include "redis_server.h"

/* ---- Fixture: scripted nodes ---- */

enum { ROLE_MASTER, ROLE_REPLICA, ROLE_SENTINEL };

/* A scripted node. The test sets its fields before sending the command that
 * reads them; the socket round trip orders the accesses. */
typedef struct node {
    fake_server *fs;
    int role;
    int master_port;      /* ROLE_REPLICA: the primary it names */
    int demote_to;        /* if set: answer the next write with READONLY and
                             become a replica of this port */
    int close_writes;     /* drop the connection on this many writes */
    int names_port;       /* SENTINEL GET-MASTER-ADDR-BY-NAME kvnode: this
                             port (-1: a null reply; 0: unknown command) */
    char buf[256];
} node;

static int is_write(const kv_reply *cmd)
{
    return fs_is(cmd, "SET") || fs_is(cmd, "INCR");
}

static const char *node_handler(void *ud, const kv_reply *cmd)
{
    node *n = ud;
    if (fs_is(cmd, "SENTINEL") && n->names_port) {
        if (cmd->elements != 3 || strcasecmp(cmd->element[1]->str, "get-master-addr-by-name") ||
            strcmp(cmd->element[2]->str, "kvnode"))
            return "*-1\r\n";
        if (n->names_port < 0)
            return "*-1\r\n";
        char port[16];
        snprintf(port, sizeof port, "%d", n->names_port);
        snprintf(n->buf, sizeof n->buf, "*2\r\n$9\r\n127.0.0.1\r\n$%zu\r\n%s\r\n", strlen(port),
                 port);
        return n->buf;
    }
    if (fs_is(cmd, "ROLE")) {
        if (n->role == ROLE_MASTER)
            return "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n";
        if (n->role == ROLE_SENTINEL)
            return "*2\r\n$8\r\nsentinel\r\n*0\r\n";
        snprintf(n->buf, sizeof n->buf,
                 "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:%d\r\n$9\r\nconnected\r\n:0\r\n",
                 n->master_port);
        return n->buf;
    }
    if (is_write(cmd) || fs_is(cmd, "GET")) {
        if (n->demote_to && is_write(cmd)) {
            n->role = ROLE_REPLICA;
            n->master_port = n->demote_to;
            n->demote_to = 0;
            return "-READONLY You can't write against a read only replica.\r\n";
        }
        if (n->role != ROLE_MASTER)
            return "-READONLY You can't write against a read only replica.\r\n";
        if (n->close_writes > 0) {
            n->close_writes--;
            return FS_CLOSE;
        }
        return fs_is(cmd, "GET") ? "$5\r\nvalue\r\n" : "+OK\r\n";
    }
    return "-ERR unknown command\r\n";
}

static void node_start(node *n, int role, int master_port)
{
    memset(n, 0, sizeof *n);
    n->role = role;
    n->master_port = master_port;
    n->fs = fs_start(node_handler, n);
    assert_non_null(n->fs);
}

/* ---- Fixture: real primary/replica pair ---- */

typedef struct pair {
    redis_server a; /* primary at start */
    redis_server b; /* replica of a at start */
} pair;

static int link_up(void *arg)
{
    return rs_info_has(arg, "replication", "master_link_status:up");
}

static int setup_pair(void **state)
{
    pair *p = calloc(1, sizeof *p);
    if (rs_start(&p->a, NULL) < 0)
        return -1;
    char port[16];
    snprintf(port, sizeof port, "%d", p->a.port);
    const char *extra[] = {"--replicaof", "127.0.0.1", port, NULL};
    if (rs_start(&p->b, extra) < 0 || !wait_until(link_up, &p->b, 10000)) {
        fprintf(stderr, "replica link did not come up\n");
        rs_stop(&p->a);
        rs_stop(&p->b);
        return -1;
    }
    *state = p;
    return 0;
}

static int teardown_pair(void **state)
{
    pair *p = *state;
    rs_stop(&p->a);
    rs_stop(&p->b);
    free(p);
    return 0;
}

/* ---- Helpers ---- */

static kv_cluster *cluster_for(const char *seeds, int failover_ms, int attempts)
{
    kv_options o;
    kv_options_init(&o);
    o.connect_timeout_ms = 1000;
    o.failover_timeout_ms = failover_ms;
    o.max_attempts = attempts;
    o.backoff_initial_ms = 20;
    o.backoff_max_ms = 200;
    kv_cluster *cl = NULL;
    assert_int_equal(kv_cluster_new(&cl, seeds, &o), 0);
    return cl;
}

static int run(kv_cluster *cl, unsigned flags, kv_reply **r, int argc, const char *const argv[])
{
    *r = NULL;
    return kv_cluster_command(cl, flags, argc, argv, NULL, r);
}

static void expect_ok(kv_cluster *cl, unsigned flags, int argc, const char *const argv[])
{
    kv_reply *r;
    int rc = run(cl, flags, &r, argc, argv);
    if (rc < 0)
        fail_msg("%s: %s (%s)", argv[0], kv_strerror(rc), kv_cluster_errmsg(cl));
    if (r->type == KV_REPLY_ERROR)
        fail_msg("%s: %s", argv[0], r->str);
    kv_reply_free(r);
}

static int primary_port(const kv_cluster *cl)
{
    char host[64];
    int port = -1;
    assert_int_equal(kv_cluster_primary(cl, host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    return port;
}

static char *seed_list(int p1, int p2)
{
    static char buf[64];
    if (p2)
        snprintf(buf, sizeof buf, "127.0.0.1:%d, 127.0.0.1:%d", p1, p2);
    else
        snprintf(buf, sizeof buf, "127.0.0.1:%d", p1);
    return buf;
}

/* ---- Tests: scripted nodes ---- */

/* Malformed seed lists and options are refused up front. */
static void test_bad_seeds(void **state)
{
    (void)state;
    kv_cluster *cl = NULL;
    static const char *const bad[] = {"", " , ", "host", "host:0", "a:1,b", "::1:7379"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (kv_cluster_new(&cl, bad[i], NULL) != KV_EINVAL)
            fail_msg("accepted seeds '%s'", bad[i]);
    assert_null(cl);
    assert_int_equal(kv_cluster_new(&cl, "[::1]:7379, 127.0.0.1:7380", NULL), 0);
    char host[64];
    assert_int_equal(kv_cluster_primary(cl, host, sizeof host, NULL), KV_ENOPRIMARY);
    kv_cluster_free(cl);
    kv_cluster_free(NULL);
}

/* Seeded with a replica, the handle asks ROLE, follows it to the primary
 * and sends commands there only. */
static void test_follows_replica_to_primary(void **state)
{
    (void)state;
    node primary, replica;
    node_start(&primary, ROLE_MASTER, 0);
    node_start(&replica, ROLE_REPLICA, fs_port(primary.fs));
    kv_cluster *cl = cluster_for(seed_list(fs_port(replica.fs), 0), 5000, 8);
    const char *set[] = {"SET", "k", "v"};
    expect_ok(cl, 0, 3, set);
    expect_ok(cl, 0, 3, set);
    assert_int_equal(primary_port(cl), fs_port(primary.fs));
    assert_int_equal(fs_count(primary.fs, "SET"), 2);
    assert_int_equal(fs_count(replica.fs, "SET"), 0);
    assert_int_equal(fs_count(replica.fs, "ROLE"), 1);
    kv_cluster_free(cl);
    fs_stop(primary.fs);
    fs_stop(replica.fs);
}

/* Unreachable seeds and nodes that are neither primary nor replica are
 * skipped. */
static void test_skips_bad_seeds(void **state)
{
    (void)state;
    node primary, sentinel;
    node_start(&primary, ROLE_MASTER, 0);
    node_start(&sentinel, ROLE_SENTINEL, 0);
    char seeds[128];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", rs_free_port(),
             fs_port(sentinel.fs), fs_port(primary.fs));
    kv_cluster *cl = cluster_for(seeds, 5000, 8);
    assert_int_equal(kv_cluster_discover(cl), 0);
    assert_int_equal(primary_port(cl), fs_port(primary.fs));
    kv_cluster_free(cl);
    fs_stop(primary.fs);
    fs_stop(sentinel.fs);
}

/* A seed that answers only the Sentinel API (ROLE says "sentinel") leads
 * to the primary it names; with master_name NULL it is not asked and no
 * primary is found. */
static void test_sentinel_seed_names_primary(void **state)
{
    (void)state;
    node primary, sentinel;
    node_start(&primary, ROLE_MASTER, 0);
    node_start(&sentinel, ROLE_SENTINEL, 0);
    sentinel.names_port = fs_port(primary.fs);
    kv_cluster *cl = cluster_for(seed_list(fs_port(sentinel.fs), 0), 5000, 8);
    const char *set[] = {"SET", "k", "v"};
    expect_ok(cl, 0, 3, set);
    assert_int_equal(primary_port(cl), fs_port(primary.fs));
    assert_int_equal(fs_count(sentinel.fs, "SENTINEL"), 1);
    assert_int_equal(fs_count(primary.fs, "ROLE"), 1); /* the answer was checked */
    assert_int_equal(fs_count(primary.fs, "SET"), 1);
    kv_cluster_free(cl);

    kv_options o;
    kv_options_init(&o);
    o.master_name = NULL;
    o.failover_timeout_ms = 300;
    assert_int_equal(kv_cluster_new(&cl, seed_list(fs_port(sentinel.fs), 0), &o), 0);
    assert_int_equal(kv_cluster_discover(cl), KV_ENOPRIMARY);
    assert_int_equal(fs_count(sentinel.fs, "SENTINEL"), 1);
    kv_cluster_free(cl);
    fs_stop(primary.fs);
    fs_stop(sentinel.fs);
}

/* A Sentinel answer is never trusted on its own: a named node that turns
 * out to be a replica is followed to its primary (ROLE), and a seed that
 * names nothing (null) is asked ROLE itself. */
static void test_sentinel_answer_checked_with_role(void **state)
{
    (void)state;
    node primary, replica, seed;
    node_start(&primary, ROLE_MASTER, 0);
    node_start(&replica, ROLE_REPLICA, fs_port(primary.fs));
    node_start(&seed, ROLE_REPLICA, fs_port(primary.fs));
    seed.names_port = fs_port(replica.fs); /* stale: the old primary */
    kv_cluster *cl = cluster_for(seed_list(fs_port(seed.fs), 0), 5000, 8);
    assert_int_equal(kv_cluster_discover(cl), 0);
    assert_int_equal(primary_port(cl), fs_port(primary.fs));
    assert_int_equal(fs_count(replica.fs, "ROLE"), 1);
    assert_int_equal(fs_count(seed.fs, "ROLE"), 0);
    kv_cluster_free(cl);

    seed.names_port = -1; /* cannot vouch for a primary: null */
    cl = cluster_for(seed_list(fs_port(seed.fs), 0), 5000, 8);
    assert_int_equal(kv_cluster_discover(cl), 0);
    assert_int_equal(primary_port(cl), fs_port(primary.fs));
    assert_int_equal(fs_count(seed.fs, "ROLE"), 1);
    kv_cluster_free(cl);
    fs_stop(primary.fs);
    fs_stop(replica.fs);
    fs_stop(seed.fs);
}

/* With no primary anywhere, a command gives up with KV_ENOPRIMARY within
 * the failover deadline, saying what each node answered, and was never
 * sent. */
static void test_no_primary_deadline(void **state)
{
    (void)state;
    node replica;
    node_start(&replica, ROLE_REPLICA, rs_free_port());
    kv_cluster *cl = cluster_for(seed_list(fs_port(replica.fs), 0), 600, 1000);
    const char *set[] = {"SET", "k", "v"};
    kv_reply *r;
    long long t0 = test_now_ms();
    assert_int_equal(run(cl, 0, &r, 3, set), KV_ENOPRIMARY);
    long long took = test_now_ms() - t0;
    assert_true(took >= 550 && took < 3000);
    assert_null(r);
    assert_non_null(strstr(kv_cluster_errmsg(cl), "replica of"));
    assert_int_equal(fs_count(replica.fs, "SET"), 0);
    assert_true(fs_count(replica.fs, "ROLE") >= 2); /* it kept trying */
    kv_cluster_free(cl);

    /* max_attempts bounds the rounds as well. */
    cl = cluster_for(seed_list(fs_port(replica.fs), 0), 60000, 3);
    int before = fs_count(replica.fs, "ROLE");
    t0 = test_now_ms();
    assert_int_equal(run(cl, 0, &r, 3, set), KV_ENOPRIMARY);
    assert_true(test_now_ms() - t0 < 3000);
    assert_int_equal(fs_count(replica.fs, "ROLE") - before, 3);
    kv_cluster_free(cl);
    fs_stop(replica.fs);
}

/* A READONLY reply means the node did not run the command: the handle
 * rediscovers and sends it to the new primary, without the idempotent
 * flag. */
static void test_readonly_is_retried_elsewhere(void **state)
{
    (void)state;
    node a, b;
    node_start(&a, ROLE_MASTER, 0);
    node_start(&b, ROLE_REPLICA, fs_port(a.fs));
    kv_cluster *cl = cluster_for(seed_list(fs_port(a.fs), fs_port(b.fs)), 5000, 8);
    const char *set[] = {"SET", "k", "v"};
    expect_ok(cl, 0, 3, set);
    assert_int_equal(primary_port(cl), fs_port(a.fs));
    /* Switchover: a becomes b's replica on its next write. */
    b.role = ROLE_MASTER;
    a.demote_to = fs_port(b.fs);
    expect_ok(cl, 0, 3, set);
    assert_int_equal(primary_port(cl), fs_port(b.fs));
    assert_int_equal(fs_count(a.fs, "SET"), 2);
    assert_int_equal(fs_count(b.fs, "SET"), 1);
    kv_cluster_free(cl);
    fs_stop(a.fs);
    fs_stop(b.fs);
}

/* The connection drops after the primary received a write: the outcome is
 * unknown, so the call fails with KV_EUNKNOWN and does not resend. */
static void test_drop_after_send_is_unknown(void **state)
{
    (void)state;
    node a;
    node_start(&a, ROLE_MASTER, 0);
    kv_cluster *cl = cluster_for(seed_list(fs_port(a.fs), 0), 5000, 8);
    a.close_writes = 1;
    const char *incr[] = {"INCR", "n"};
    kv_reply *r;
    assert_int_equal(run(cl, 0, &r, 2, incr), KV_EUNKNOWN);
    assert_null(r);
    assert_non_null(strstr(kv_cluster_errmsg(cl), "outcome unknown"));
    assert_int_equal(fs_count(a.fs, "INCR"), 1);
    /* The next command rediscovers and works. */
    expect_ok(cl, 0, 2, incr);
    assert_int_equal(fs_count(a.fs, "INCR"), 2);
    kv_cluster_free(cl);
    fs_stop(a.fs);
}

/* The same drop with KV_CMD_IDEMPOTENT: the command is sent again and
 * its reply returned. */
static void test_drop_after_send_idempotent_retries(void **state)
{
    (void)state;
    node a;
    node_start(&a, ROLE_MASTER, 0);
    kv_cluster *cl = cluster_for(seed_list(fs_port(a.fs), 0), 5000, 8);
    a.close_writes = 2;
    const char *set[] = {"SET", "k", "v"};
    expect_ok(cl, KV_CMD_IDEMPOTENT, 3, set);
    assert_int_equal(fs_count(a.fs, "SET"), 3);
    kv_cluster_free(cl);
    fs_stop(a.fs);
}

/* An idempotent command that keeps failing after being sent still ends
 * with KV_EUNKNOWN once the attempts run out. */
static void test_idempotent_exhausted_is_unknown(void **state)
{
    (void)state;
    node a;
    node_start(&a, ROLE_MASTER, 0);
    kv_cluster *cl = cluster_for(seed_list(fs_port(a.fs), 0), 5000, 3);
    a.close_writes = 100;
    const char *set[] = {"SET", "k", "v"};
    kv_reply *r;
    assert_int_equal(run(cl, KV_CMD_IDEMPOTENT, &r, 3, set), KV_EUNKNOWN);
    assert_int_equal(fs_count(a.fs, "SET"), 3);
    kv_cluster_free(cl);
    fs_stop(a.fs);
}

/* A connection the server closed while idle is noticed before writing, so
 * even a non-idempotent command is safely sent on a new connection. */
static void test_stale_connection_is_not_sent(void **state)
{
    (void)state;
    node a;
    node_start(&a, ROLE_MASTER, 0);
    kv_cluster *cl = cluster_for(seed_list(fs_port(a.fs), 0), 5000, 8);
    const char *incr[] = {"INCR", "n"};
    expect_ok(cl, 0, 2, incr);
    fs_drop_all(a.fs);
    struct pollfd pfd = {.fd = kvc_cluster_fd(cl), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    expect_ok(cl, 0, 2, incr);
    assert_int_equal(fs_count(a.fs, "INCR"), 2);
    assert_int_equal(fs_count(a.fs, "ROLE"), 2);
    kv_cluster_free(cl);
    fs_stop(a.fs);
}

/* ---- Tests: real redis-server pairs ---- */

/* Seeded with the replica's address only, writes land on the primary. */
static void test_redis_replica_seed_reaches_primary(void **state)
{
    pair *p = *state;
    kv_cluster *cl = cluster_for(seed_list(p->b.port, 0), 5000, 8);
    const char *set[] = {"SET", "cl:k", "v1"};
    expect_ok(cl, 0, 3, set);
    assert_int_equal(primary_port(cl), p->a.port);
    kv_reply *r = rs_cmd(&p->a, "GET", "cl:k", NULL);
    assert_int_equal(r->type, KV_REPLY_STRING);
    assert_string_equal(r->str, "v1");
    kv_reply_free(r);
    kv_cluster_free(cl);
}

static int b_has_counter(void *arg)
{
    pair *p = arg;
    kv_reply *r = rs_cmd(&p->b, "GET", "cl:n", NULL);
    int ok = r && r->type == KV_REPLY_STRING && strcmp(r->str, "1") == 0;
    kv_reply_free(r);
    return ok;
}

/* Switchover (REPLICAOF NO ONE on the replica, REPLICAOF on the old
 * primary): the old connection answers READONLY, the handle follows the
 * new primary, and the write lands there exactly once. */
static void test_redis_switchover(void **state)
{
    pair *p = *state;
    kv_cluster *cl = cluster_for(seed_list(p->b.port, 0), 10000, 16);
    const char *incr[] = {"INCR", "cl:n"};
    expect_ok(cl, 0, 2, incr);
    assert_int_equal(primary_port(cl), p->a.port);
    /* Replication is asynchronous: switch over once the replica has it. */
    assert_true(wait_until(b_has_counter, p, 10000));

    char port[16];
    snprintf(port, sizeof port, "%d", p->b.port);
    assert_true(rs_ok(&p->b, "REPLICAOF", "NO", "ONE", NULL));
    assert_true(rs_ok(&p->a, "REPLICAOF", "127.0.0.1", port, NULL));
    assert_true(wait_until(link_up, &p->a, 10000));

    kv_reply *r;
    int rc = run(cl, 0, &r, 2, incr);
    if (rc < 0)
        fail_msg("INCR after switchover: %s", kv_cluster_errmsg(cl));
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    assert_int_equal(r->integer, 2);
    kv_reply_free(r);
    assert_int_equal(primary_port(cl), p->b.port);
    kv_cluster_free(cl);
}

/* The primary is killed while the handle's connection is idle and the
 * replica promoted: the next write is not "unknown" — the dead connection
 * is noticed before sending — and reaches the new primary. */
static void test_redis_primary_killed_while_idle(void **state)
{
    pair *p = *state;
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d,127.0.0.1:%d", p->a.port, p->b.port);
    kv_cluster *cl = cluster_for(seeds, 10000, 16);
    const char *set[] = {"SET", "cl:x", "1"};
    expect_ok(cl, 0, 3, set);
    assert_int_equal(primary_port(cl), p->a.port);
    rs_kill(&p->a);
    assert_true(rs_ok(&p->b, "REPLICAOF", "NO", "ONE", NULL));
    struct pollfd pfd = {.fd = kvc_cluster_fd(cl), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    expect_ok(cl, 0, 3, set);
    assert_int_equal(primary_port(cl), p->b.port);
    kv_cluster_free(cl);
}

static int a_has_blocked_client(void *arg)
{
    pair *p = arg;
    return rs_info_has(&p->a, "clients", "blocked_clients:1");
}

/* Runs beside the test: once the BLPOP is blocked on the primary, kill the
 * primary and promote the replica. */
static void *kill_and_promote(void *arg)
{
    pair *p = arg;
    if (!wait_until(a_has_blocked_client, p, 10000))
        fprintf(stderr, "BLPOP never blocked on the primary\n");
    rs_kill(&p->a);
    rs_ok(&p->b, "REPLICAOF", "NO", "ONE", NULL);
    return NULL;
}

/* The primary dies while a command is in flight: the call reports
 * KV_EUNKNOWN (not retried), and the next command finds the promoted
 * replica within the failover deadline. */
static void test_redis_primary_killed_in_flight(void **state)
{
    pair *p = *state;
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d,127.0.0.1:%d", p->b.port, p->a.port);
    kv_cluster *cl = cluster_for(seeds, 10000, 32);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, kill_and_promote, p), 0);
    const char *blpop[] = {"BLPOP", "cl:list", "0"};
    kv_reply *r;
    int rc = run(cl, 0, &r, 3, blpop);
    pthread_join(t, NULL);
    assert_int_equal(rc, KV_EUNKNOWN);
    assert_null(r);
    const char *rpush[] = {"RPUSH", "cl:list", "item"};
    expect_ok(cl, 0, 3, rpush);
    assert_int_equal(primary_port(cl), p->b.port);
    /* Only one BLPOP was ever sent: the item is still there. */
    r = rs_cmd(&p->b, "LLEN", "cl:list", NULL);
    assert_int_equal(r->integer, 1);
    kv_reply_free(r);
    kv_cluster_free(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_seeds),
        cmocka_unit_test(test_follows_replica_to_primary),
        cmocka_unit_test(test_skips_bad_seeds),
        cmocka_unit_test(test_sentinel_seed_names_primary),
        cmocka_unit_test(test_sentinel_answer_checked_with_role),
        cmocka_unit_test(test_no_primary_deadline),
        cmocka_unit_test(test_readonly_is_retried_elsewhere),
        cmocka_unit_test(test_drop_after_send_is_unknown),
        cmocka_unit_test(test_drop_after_send_idempotent_retries),
        cmocka_unit_test(test_idempotent_exhausted_is_unknown),
        cmocka_unit_test(test_stale_connection_is_not_sent),
        cmocka_unit_test_setup_teardown(test_redis_replica_seed_reaches_primary, setup_pair,
                                        teardown_pair),
        cmocka_unit_test_setup_teardown(test_redis_switchover, setup_pair, teardown_pair),
        cmocka_unit_test_setup_teardown(test_redis_primary_killed_while_idle, setup_pair,
                                        teardown_pair),
        cmocka_unit_test_setup_teardown(test_redis_primary_killed_in_flight, setup_pair,
                                        teardown_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
