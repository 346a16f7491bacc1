/* test_databases.c — Redis's numbered databases across processes: a
 * replica applies every command to the database it ran in (live stream,
 * snapshot bootstrap, kill -9 and restart), a data directory written
 * before databases existed (tests/integration/data/predb, made by the
 * previous release: WAL records without Command.db, a snapshot without the
 * database flag) loads as database 0 and passes --check-data, the
 * `databases` option bounds SELECT and a node refuses data of a database
 * it does not have, active expiry reaches every database, and keyspace
 * events name the database. Every wait is bounded and asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cluster.h"
#include "harness.h"

/* ---- Fixture ---- */

static int setup(void **state)
{
    (void)state;
    hc_setup("databases");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hc_teardown();
    return 0;
}

/* ---- Helpers ---- */

/* Run line on c and check its reply's text form. */
static void expect(kv_client *c, const char *line, const char *want)
{
    kv_reply *r = h_cmd(c, line);
    char got[4096];
    h_reply_text(r, got, sizeof got);
    kv_reply_free(r);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got %s, want %s", line, got, want);
}

/* INFO keyspace without avg_ttl (an estimate each node makes on its own). */
static void keyspace(int i, char *out, size_t len)
{
    kv_reply *r = hc_cmd(i, "INFO keyspace");
    size_t at = 0;
    out[0] = '\0';
    if (!r || r->type != KV_REPLY_STRING) {
        kv_reply_free(r);
        return;
    }
    const char *p = r->str;
    while ((p = strstr(p, "\ndb"))) {
        p++;
        const char *end = strstr(p, ",avg_ttl=");
        if (!end)
            break;
        at += (size_t)snprintf(out + at, len - at, "%.*s;", (int)(end - p), p);
        if (at >= len)
            break;
    }
    kv_reply_free(r);
}

/* Same digest and the same INFO keyspace lines on nodes a and b. */
static void assert_same_data(int a, int b)
{
    char x[64], y[64];
    hc_digest(a, x);
    hc_digest(b, y);
    if (strcmp(x, y) != 0)
        fail_msg("node %d digest %s, node %d digest %s", a, x, b, y);
    assert_string_not_equal(x, "0000000000000000000000000000000000000000");
    char ka[1024], kb[1024];
    keyspace(a, ka, sizeof ka);
    keyspace(b, kb, sizeof kb);
    assert_string_equal(ka, kb);
}

static int has_leader(void *arg)
{
    (void)arg;
    return hc_leader() >= 0;
}

/* The node that leads, once one does (bounded). */
static int wait_leader(void)
{
    if (!h_wait_until(has_leader, NULL, 30000)) {
        hc_dump_logs();
        fail_msg("no leader after 30 s");
    }
    return hc_leader();
}

/* SELECT 11 + SET on the leader; *(int *)arg is set to the node. */
static int write_db11(void *arg)
{
    int l = hc_leader();
    if (l < 0)
        return 0;
    kv_client *c = h_connect(hc_node[l].port);
    if (!c)
        return 0;
    kv_reply *r = h_cmd(c, "SELECT 11");
    kv_reply_free(r);
    r = h_cmd(c, "SET after reload");
    int ok = r && r->type == KV_REPLY_STATUS;
    kv_reply_free(r);
    kv_client_free(c);
    *(int *)arg = l;
    return ok;
}

static void kill9_restart(int i)
{
    assert_true(h_stop(&hc_node[i], SIGKILL, 5000) >= 0);
    hc_up[i] = 0;
    assert_int_equal(h_restart(&hc_node[i]), 0);
    hc_up[i] = 1;
}

/* Writes spread over databases, each kind of command that names or
 * changes one; the reads after each check the primary itself. */
static void write_everywhere(kv_client *c)
{
    expect(c, "SELECT 5", "+OK");
    expect(c, "SET k5 five", "+OK");
    expect(c, "RPUSH l5 a b c", ":3");
    expect(c, "SET ttl5 v EX 1000", "+OK");
    expect(c, "SET mv moving", "+OK");
    expect(c, "MOVE mv 6", ":1");
    expect(c, "COPY l5 l5copy DB 7", ":1");
    expect(c, "SELECT 7", "+OK");
    expect(c, "HSET h7 f v", ":1");
    expect(c, "SWAPDB 7 8", "+OK");
    expect(c, "DBSIZE", ":0");
    expect(c, "SELECT 8", "+OK");
    expect(c, "DBSIZE", ":2");
    expect(c, "MULTI", "+OK");
    expect(c, "SELECT 3", "+QUEUED");
    expect(c, "SADD s3 x y", "+QUEUED");
    expect(c, "SELECT 4", "+QUEUED");
    expect(c, "ZADD z4 1 a", "+QUEUED");
    expect(c, "EXEC", "[+OK :2 +OK :1]");
    expect(c, "SELECT 2", "+OK");
    expect(c, "SET gone 1", "+OK");
    expect(c, "FLUSHDB", "+OK");
    expect(c, "SELECT 15", "+OK");
    expect(c, "SET k15 fifteen", "+OK");
    expect(c, "SELECT 0", "+OK");
    expect(c, "SET k5 zero", "+OK");
}

/* What write_everywhere left, read on node i (a replica reads too). */
static void check_everywhere(int i)
{
    kv_client *c = h_connect(hc_node[i].port);
    assert_non_null(c);
    expect(c, "GET k5", "\"zero\"");
    expect(c, "SELECT 5", "+OK");
    expect(c, "GET k5", "\"five\"");
    expect(c, "LRANGE l5 0 -1", "[\"a\" \"b\" \"c\"]");
    expect(c, "EXISTS mv", ":0");
    kv_reply *r = h_cmd(c, "TTL ttl5");
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    assert_true(r->integer > 900 && r->integer <= 1000);
    kv_reply_free(r);
    expect(c, "SELECT 6", "+OK");
    expect(c, "GET mv", "\"moving\"");
    expect(c, "SELECT 7", "+OK");
    expect(c, "DBSIZE", ":0");
    expect(c, "SELECT 8", "+OK");
    expect(c, "LRANGE l5copy 0 -1", "[\"a\" \"b\" \"c\"]");
    expect(c, "HGET h7 f", "\"v\"");
    expect(c, "SELECT 3", "+OK");
    expect(c, "SISMEMBER s3 y", ":1");
    expect(c, "SELECT 4", "+OK");
    expect(c, "ZSCORE z4 a", "\"1\"");
    expect(c, "SELECT 2", "+OK");
    expect(c, "DBSIZE", ":0");
    expect(c, "SELECT 15", "+OK");
    expect(c, "GET k15", "\"fifteen\"");
    kv_client_free(c);
}

#define KEYSPACE_AFTER_WRITES                                                                   \
    "db0:keys=1,expires=0;db3:keys=1,expires=0;db4:keys=1,expires=0;db5:keys=3,expires=1;"       \
    "db6:keys=1,expires=0;db8:keys=2,expires=0;db15:keys=1,expires=0;"

/* ---- Tests ---- */

/* Writes in databases 0..15 on the primary (SELECT, MOVE, COPY … DB,
 * SWAPDB, MULTI with SELECT inside, FLUSHDB) land in the same databases
 * on the replica; the replica keeps them through kill -9 and restart, the
 * primary through DEBUG RELOAD and kill -9; digests and INFO keyspace
 * agree throughout. */
static void test_replica_applies_each_database(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    hc_start(1, 0, NULL);
    hc_voters_want v = {0, 2};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    write_everywhere(c);
    kv_client_free(c);
    hc_wait_caught_up(1, 0, 30000);
    char ks[1024];
    keyspace(0, ks, sizeof ks);
    assert_string_equal(ks, KEYSPACE_AFTER_WRITES);
    check_everywhere(1);
    assert_same_data(0, 1);

    /* The replica killed and restarted (it may win an election: the
     * leader is whichever node says so). */
    kill9_restart(1);
    int l = wait_leader();
    hc_wait_caught_up(1 - l, l, 30000);
    check_everywhere(1);
    assert_same_data(0, 1);

    char before[64], after[64];
    hc_digest(l, before);
    kv_reply_free(hc_cmd(l, "DEBUG RELOAD"));
    hc_digest(l, after);
    assert_string_equal(before, after);

    /* More writes after the reload (on whichever node leads: a long
     * reload under ASan may have let the other win an election), then
     * both nodes killed and restarted. */
    assert_true(h_wait_until(write_db11, &l, 30000));
    hc_wait_caught_up(1 - l, l, 30000);
    hc_digest(l, before);
    assert_true(h_stop(&hc_node[0], SIGKILL, 5000) >= 0);
    assert_true(h_stop(&hc_node[1], SIGKILL, 5000) >= 0);
    hc_up[0] = hc_up[1] = 0;
    assert_int_equal(h_restart(&hc_node[0]), 0);
    assert_int_equal(h_restart(&hc_node[1]), 0);
    hc_up[0] = hc_up[1] = 1;
    l = wait_leader();
    hc_wait_caught_up(1 - l, l, 30000);
    hc_digest(l, after);
    assert_string_equal(before, after);
    assert_same_data(0, 1);
    check_everywhere(1 - l);
}

static int wal_compacted(void *arg)
{
    (void)arg;
    kv_reply_free(hc_cmd(0, "SAVE"));
    return hc_info(0, "persistence", "wal_first_lsn") > 2;
}

/* A replica that joins after the log was compacted gets a snapshot with
 * keys in several databases, then the stream; both agree. */
static void test_snapshot_bootstrap_keeps_databases(void **state)
{
    (void)state;
    const char *seg[] = {"--wal-segment-size", "64kb", "--repl-retention-bytes", "0", NULL};
    hc_start(0, -1, seg);
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    write_everywhere(c);
    /* Enough entries to fill several 64 KB segments. */
    expect(c, "SELECT 12", "+OK");
    char line[128];
    for (int i = 0; i < 2000; i++) {
        snprintf(line, sizeof line, "SET key:%d value-%d-padding-padding-padding", i, i);
        expect(c, line, "+OK");
    }
    assert_true(h_wait_until(wal_compacted, NULL, 30000));
    hc_start(1, 0, NULL);
    expect(c, "SELECT 13", "+OK");
    expect(c, "SET streamed yes", "+OK");
    kv_client_free(c);
    hc_wait_caught_up(1, 0, 60000);
    assert_int_equal(hc_info(0, "stats", "sync_full"), 1);
    check_everywhere(1);
    assert_same_data(0, 1);
    kv_client *r = h_connect(hc_node[1].port);
    assert_non_null(r);
    expect(r, "SELECT 12", "+OK");
    expect(r, "DBSIZE", ":2000");
    expect(r, "SELECT 13", "+OK");
    expect(r, "GET streamed", "\"yes\"");
    kv_client_free(r);
}

/* Copy tests/integration/data/predb (written by kvnode before databases
 * existed: a snapshot at LSN 10 and WAL records after it, all in the one
 * database there was) to dir. */
static void copy_predb(const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s'/tests/integration/data/predb/* '%s'/",
             dir, h_source_dir(), dir);
    assert_int_equal(system(cmd), 0);
}

static int run_status(const char *cmd, char *out, size_t len)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* The pre-databases data directory loads as database 0, with every type,
 * TTL and the entries after the snapshot; --check-data finds it clean
 * before and after the node adds keys of other databases to it. */
static void test_pre_databases_data_loads_as_db0(void **state)
{
    (void)state;
    char dir[600], cmd[1400], out[8192];
    snprintf(dir, sizeof dir, "%s/n0", hc_tmp);
    copy_predb(dir);
    snprintf(cmd, sizeof cmd, "%s --check-data %s 2>&1", h_kvnode_bin(), dir);
    if (run_status(cmd, out, sizeof out) != 0)
        fail_msg("check-data on the old directory:\n%s", out);

    hc_start(0, -1, NULL);
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    expect(c, "DBSIZE", ":13");
    expect(c, "GET s1", "\"before snapshot\"");
    expect(c, "GET s2", "\"after snapshot\"");
    expect(c, "EXISTS n1", ":0");
    expect(c, "GET counter", "\"1\"");
    expect(c, "MGET m1 m2", "[\"1\" \"2\"]");
    expect(c, "LRANGE l1 0 -1", "[\"a\" \"b\" \"c\" \"d\"]");
    expect(c, "HGETALL h1", "[\"f1\" \"v1\" \"f2\" \"v2\"]");
    expect(c, "SCARD set1", ":3");
    expect(c, "OBJECT ENCODING iset1", "\"intset\"");
    expect(c, "ZSCORE z1 b", "\"2.5\"");
    expect(c, "PFCOUNT hll1", ":3");
    expect(c, "PEXPIRETIME ttl1", ":4102444800000");
    expect(c, "PEXPIRETIME h2", ":4102444800000");
    char ks[1024];
    keyspace(0, ks, sizeof ks);
    assert_string_equal(ks, "db0:keys=13,expires=2;");
    for (int db = 1; db < 16; db++) {
        snprintf(cmd, sizeof cmd, "SELECT %d", db);
        expect(c, cmd, "+OK");
        expect(c, "DBSIZE", ":0");
    }
    /* New keys in other databases, logged and then snapshotted. */
    expect(c, "SELECT 9", "+OK");
    expect(c, "SET new9 v", "+OK");
    expect(c, "SELECT 3", "+OK");
    expect(c, "SET new3 v", "+OK");
    kv_client_free(c);
    char before[64], after[64];
    hc_digest(0, before);
    kill9_restart(0);
    hc_digest(0, after);
    assert_string_equal(before, after);
    kv_reply_free(hc_cmd(0, "SAVE"));
    c = h_connect(hc_node[0].port);
    assert_non_null(c);
    expect(c, "SELECT 15", "+OK");
    expect(c, "SET new15 v", "+OK");
    kv_client_free(c);
    hc_digest(0, before);
    kill9_restart(0);
    hc_digest(0, after);
    assert_string_equal(before, after);
    keyspace(0, ks, sizeof ks);
    assert_string_equal(ks, "db0:keys=13,expires=2;db3:keys=1,expires=0;db9:keys=1,expires=0;"
                            "db15:keys=1,expires=0;");
    assert_true(h_stop(&hc_node[0], SIGTERM, 10000) >= 0);
    hc_up[0] = 0;
    snprintf(cmd, sizeof cmd, "%s --check-data %s 2>&1", h_kvnode_bin(), dir);
    if (run_status(cmd, out, sizeof out) != 0)
        fail_msg("check-data after keys in other databases:\n%s", out);
}

/* `databases 4`: SELECT 0..3 only, CONFIG GET shows it, CONFIG SET
 * refuses it (immutable, as Redis); a node restarted with fewer databases
 * than its data uses refuses to start (from the WAL, then from a
 * snapshot), and starts again with enough. */
static void test_databases_option(void **state)
{
    (void)state;
    const char *four[] = {"--databases", "4", NULL};
    hc_start(0, -1, four);
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    expect(c, "CONFIG GET databases", "[\"databases\" \"4\"]");
    expect(c, "SELECT 4", "-ERR DB index is out of range");
    expect(c, "MOVE k 4", "-ERR DB index is out of range");
    expect(c, "SWAPDB 0 4", "-ERR DB index is out of range");
    expect(c, "COPY k k DB 4", "-ERR DB index is out of range");
    kv_reply *r = h_cmd(c, "CONFIG SET databases 8");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    kv_reply_free(r);
    expect(c, "SELECT 3", "+OK");
    expect(c, "SET k3 v", "+OK");
    kv_client_free(c);
    assert_true(h_stop(&hc_node[0], SIGTERM, 10000) >= 0);
    hc_up[0] = 0;

    char cmd[1400], out[8192];
    for (int round = 0; round < 2; round++) {
        int port = h_free_port();
        snprintf(cmd, sizeof cmd,
                 "timeout 60 %s --port %d --peer-port %d --dir %s --databases 3 2>&1",
                 h_kvnode_bin(), port, h_free_port(), hc_node[0].dir);
        int st = run_status(cmd, out, sizeof out);
        if (st == 0 || st == 124 || !strstr(out, "databases 4 or more"))
            fail_msg("restart with 3 databases: exit %d:\n%s", st, out);
        /* The same data with 4 databases: fine; then a snapshot holds the
         * key of database 3 and the next round loads from it. */
        assert_int_equal(h_restart(&hc_node[0]), 0);
        hc_up[0] = 1;
        c = h_connect(hc_node[0].port);
        assert_non_null(c);
        expect(c, "SELECT 3", "+OK");
        expect(c, "GET k3", "\"v\"");
        expect(c, "SAVE", "+OK");
        kv_client_free(c);
        assert_true(h_stop(&hc_node[0], SIGTERM, 10000) >= 0);
        hc_up[0] = 0;
    }
}

static int keyspace_is(void *arg)
{
    char ks[1024];
    keyspace(0, ks, sizeof ks);
    return strcmp(ks, (const char *)arg) == 0;
}

/* Active expiry reaches keys of every database without anyone touching
 * them, and keyspace events carry the database's number. */
static void test_expiry_and_events_per_database(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    kv_client *sub = h_connect(hc_node[0].port);
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(sub);
    assert_non_null(c);
    expect(c, "CONFIG SET notify-keyspace-events KEA", "+OK");
    expect(sub, "PSUBSCRIBE __key*__:*", "[\"psubscribe\" \"__key*__:*\" :1]");
    expect(c, "SELECT 14", "+OK");
    expect(c, "SET ev v", "+OK");
    expect(c, "MOVE ev 13", ":1");
    expect(c, "SELECT 11", "+OK");
    for (int i = 0; i < 50; i++) {
        char line[64];
        snprintf(line, sizeof line, "SET exp:%d v PX 100", i);
        expect(c, line, "+OK");
    }
    expect(c, "SET keep v", "+OK");
    const char *want[][2] = {
        {"__keyspace@14__:ev", "set"},       {"__keyevent@14__:set", "ev"},
        {"__keyspace@14__:ev", "move_from"}, {"__keyevent@14__:move_from", "ev"},
        {"__keyspace@13__:ev", "move_to"},   {"__keyevent@13__:move_to", "ev"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        kv_reply *m;
        assert_int_equal(kv_client_read(sub, &m), 0);
        assert_int_equal(m->type, KV_REPLY_ARRAY);
        assert_int_equal(m->elements, 4);
        assert_string_equal(m->element[2]->str, want[i][0]);
        assert_string_equal(m->element[3]->str, want[i][1]);
        kv_reply_free(m);
    }
    /* Nobody reads exp:*: only the active cycle can remove them. */
    const char *left = "db11:keys=1,expires=0;db13:keys=1,expires=0;";
    if (!h_wait_until(keyspace_is, (void *)left, 20000)) {
        char ks[1024];
        keyspace(0, ks, sizeof ks);
        fail_msg("INFO keyspace is %s, want %s", ks, left);
    }
    /* Their "expired" events name database 11. */
    int expired = 0;
    while (expired < 50) {
        kv_reply *m;
        assert_int_equal(kv_client_read(sub, &m), 0);
        assert_int_equal(m->type, KV_REPLY_ARRAY);
        const char *ch = m->element[2]->str, *payload = m->element[3]->str;
        if (!strcmp(ch, "__keyevent@11__:expired")) {
            assert_true(!strncmp(payload, "exp:", 4));
            expired++;
        } else if (!strncmp(ch, "__keyspace@11__:", 16)) {
            assert_true(!strcmp(payload, "set") || !strcmp(payload, "expire") ||
                        !strcmp(payload, "expired"));
        } else if (strcmp(ch, "__keyevent@11__:set") != 0) {
            assert_string_equal(ch, "__keyevent@11__:expire");
        }
        kv_reply_free(m);
    }
    kv_client_free(sub);
    kv_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replica_applies_each_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_bootstrap_keeps_databases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pre_databases_data_loads_as_db0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_databases_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_and_events_per_database, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
