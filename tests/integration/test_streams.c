/* test_streams.c — streams across processes: a primary and its replica
 * agree (DEBUG DIGEST, XINFO GROUPS) after a stream workload with consumer
 * groups, and again after each is killed with SIGKILL and recovers from
 * its snapshot plus WAL; XREAD / XREADGROUP BLOCK are served by an XADD
 * from another client, time out with a null reply, do not block inside
 * MULTI, and are released with -UNBLOCKED when the primary hands over;
 * keyspace events for stream commands match redis-server's, in order;
 * a blocked read counts as one call in INFO commandstats/errorstats.
 * Every wait is bounded and asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "harness.h"

/* ---- Fixture ---- */

static int setup(void **state)
{
    (void)state;
    hc_setup("streams");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hc_teardown();
    return 0;
}

/* ---- Helpers ---- */

static void text_of(int i, const char *line, char *out, size_t n)
{
    kv_reply *r = hc_cmd(i, line);
    assert_non_null(r);
    h_reply_text(r, out, n);
    kv_reply_free(r);
}

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

static void wait_caught_up(int i, int l)
{
    pair p = {i, l};
    if (!h_wait_until(caught_up, &p, 60000)) {
        hc_dump_logs();
        fail_msg("node %d did not catch up with node %d", i, l);
    }
}

static void assert_same(int a, int b, const char *line)
{
    char x[8192], y[8192];
    text_of(a, line, x, sizeof x);
    text_of(b, line, y, sizeof y);
    if (strcmp(x, y) != 0)
        fail_msg("%s: node %d says %s, node %d says %s", line, a, x, b, y);
}

static void run(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    if (r->type == KV_REPLY_ERROR)
        fail_msg("%s: %s", line, r->str);
    kv_reply_free(r);
}

/* A workload touching every kind of stream effect: automatic and partial
 * IDs, approximate and exact trims, deletions, groups, reads with and
 * without NOACK, history re-delivery, acks, claims, autoclaims, consumer
 * and group removal, XSETID. */
static void stream_workload(int port, int round)
{
    kv_client *c = h_connect(port);
    assert_non_null(c);
    char line[256];
    for (int i = 0; i < 300; i++) {
        snprintf(line, sizeof line, "XADD s%d MAXLEN ~ 150 * f %d g v%d", i % 3, i, round);
        run(c, line);
    }
    for (int k = 0; k < 3; k++) {
        snprintf(line, sizeof line, "XGROUP CREATE s%d g%d 0", k, round);
        run(c, line);
        snprintf(line, sizeof line, "XGROUP CREATE s%d h%d $ ENTRIESREAD 5", k, round);
        run(c, line);
        snprintf(line, sizeof line, "XREADGROUP GROUP g%d alice COUNT 20 STREAMS s%d >", round, k);
        run(c, line);
        snprintf(line, sizeof line, "XREADGROUP GROUP g%d bob COUNT 7 NOACK STREAMS s%d >", round,
                 k);
        run(c, line);
        snprintf(line, sizeof line, "XREADGROUP GROUP g%d carol COUNT 9 STREAMS s%d >", round, k);
        run(c, line);
        snprintf(line, sizeof line, "XREADGROUP GROUP g%d alice COUNT 3 STREAMS s%d 0", round, k);
        run(c, line);
        snprintf(line, sizeof line, "XAUTOCLAIM s%d g%d dave 0 0 COUNT 4", k, round);
        run(c, line);
        snprintf(line, sizeof line, "XADD s%d 99999999999999-* last %d", k, round);
        run(c, line);
        snprintf(line, sizeof line, "XGROUP CREATECONSUMER s%d g%d erin", k, round);
        run(c, line);
        snprintf(line, sizeof line, "XGROUP DELCONSUMER s%d g%d carol", k, round);
        run(c, line);
        snprintf(line, sizeof line, "XTRIM s%d MINID ~ 1", k);
        run(c, line);
    }
    /* Claims and acks on the first pending entries of s0. */
    kv_reply *r;
    snprintf(line, sizeof line, "XPENDING s0 g%d - + 10", round);
    r = h_cmd(c, line);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_true(r->elements >= 4);
    for (size_t i = 0; i < r->elements; i++) {
        const char *id = r->element[i]->element[0]->str;
        if (i % 3 == 0)
            snprintf(line, sizeof line, "XACK s0 g%d %s", round, id);
        else if (i % 3 == 1)
            snprintf(line, sizeof line, "XCLAIM s0 g%d frank 0 %s RETRYCOUNT 9 LASTID 99999999999999-5",
                     round, id);
        else
            snprintf(line, sizeof line, "XDEL s0 %s", id);
        run(c, line);
    }
    kv_reply_free(r);
    snprintf(line, sizeof line, "XAUTOCLAIM s0 g%d gina 0 0", round);
    run(c, line);
    run(c, "XADD big * a 1");
    snprintf(line, sizeof line, "XSETID big 99999999999999-%d ENTRIESADDED 10 MAXDELETEDID 5-5",
             round * 1000);
    run(c, line);
    snprintf(line, sizeof line, "XGROUP SETID s1 g%d $ ENTRIESREAD 3", round);
    run(c, line);
    snprintf(line, sizeof line, "XGROUP DESTROY s2 h%d", round);
    run(c, line);
    kv_client_free(c);
}

static void raw_send(int fd, const char *s)
{
    ssize_t w = send(fd, s, strlen(s), MSG_NOSIGNAL);
    assert_int_equal(w, (ssize_t)strlen(s));
}

/* Read from fd until buf holds want (1) or ms pass (0). */
static int raw_expect(int fd, const char *want, int ms, char *buf, size_t cap)
{
    size_t have = strlen(buf);
    long long deadline = h_now_ms() + ms;
    while (!strstr(buf, want)) {
        long long left = deadline - h_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = recv(fd, buf + have, cap - have - 1, 0);
        if (n <= 0)
            return strstr(buf, want) != NULL;
        have += (size_t)n;
        buf[have] = '\0';
    }
    return 1;
}

/* Nothing arrives on fd for ms milliseconds. */
static int raw_quiet(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) == 0;
}

/* ---- Tests ---- */

/* A replica applies the primary's stream effects to the same state (the
 * digest covers entries, IDs, counters, groups, PELs with owners, counts
 * and times), and both recover the same state from snapshot + WAL after
 * SIGKILL. */
static void test_replica_and_restart_agree(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    hc_start(1, 0, NULL);
    hc_voters_want v = {0, 2};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    stream_workload(hc_node[0].port, 1);
    wait_caught_up(1, 0);
    assert_same(0, 1, "DEBUG DIGEST");
    assert_same(0, 1, "XINFO GROUPS s0");
    assert_same(0, 1, "XINFO GROUPS s1");
    assert_same(0, 1, "XRANGE s0 - +");
    char x[128];
    text_of(1, "TYPE s0", x, sizeof x);
    assert_string_equal(x, "+stream");
    /* The replica's snapshot holds the groups; more writes land after it. */
    text_of(1, "SAVE", x, sizeof x);
    text_of(0, "SAVE", x, sizeof x);
    stream_workload(hc_node[0].port, 2);
    wait_caught_up(1, 0);
    char before[64];
    text_of(0, "DEBUG DIGEST", before, sizeof before);
    h_stop(&hc_node[1], SIGKILL, 5000);
    hc_up[1] = 0;
    assert_int_equal(h_restart(&hc_node[1]), 0);
    hc_up[1] = 1;
    wait_caught_up(1, 0);
    assert_same(0, 1, "DEBUG DIGEST");
    /* The primary too: snapshot + WAL replay gives back the same state. */
    h_stop(&hc_node[0], SIGKILL, 5000);
    hc_up[0] = 0;
    assert_int_equal(h_restart(&hc_node[0]), 0);
    hc_up[0] = 1;
    int none = -1;
    assert_true(h_wait_until(hc_other_leader, &none, 30000));
    int l = hc_leader();
    assert_true(l == 0 || l == 1);
    wait_caught_up(1 - l, l);
    char after[64];
    text_of(0, "DEBUG DIGEST", after, sizeof after);
    assert_string_equal(before, after);
    assert_same(0, 1, "DEBUG DIGEST");
    assert_same(0, 1, "XINFO STREAM big");
}

/* XREAD BLOCK waits for an XADD from another client and is served; a
 * timeout answers a null array after about its time; XREADGROUP BLOCK is
 * served and leaves the entry pending; inside MULTI nothing blocks; INFO
 * counts the blocked client. */
static void test_blocking_reads(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    hc_voters_want v = {0, 1};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    char x[512];
    text_of(0, "XADD bs 1-1 a 1", x, sizeof x);
    int fd = h_raw_connect(hc_node[0].port);
    assert_true(fd >= 0);
    char buf[4096] = "";
    raw_send(fd, "XREAD BLOCK 0 STREAMS bs $\r\n");
    assert_true(raw_quiet(fd, 200));
    assert_int_equal(hc_info(0, "clients", "blocked_clients"), 1);
    text_of(0, "XADD bs 1-2 b 2", x, sizeof x);
    assert_true(raw_expect(fd, "$3\r\n1-2\r\n", 10000, buf, sizeof buf));
    assert_string_equal(buf, "*1\r\n*2\r\n$2\r\nbs\r\n*1\r\n*2\r\n$3\r\n1-2\r\n*2\r\n$1\r\nb\r\n$"
                             "1\r\n2\r\n");
    /* Timeout: a null array, not before its time. */
    buf[0] = '\0';
    long long t0 = h_now_ms();
    raw_send(fd, "XREAD BLOCK 300 STREAMS bs $\r\n");
    assert_true(raw_expect(fd, "*-1\r\n", 10000, buf, sizeof buf));
    assert_true(h_now_ms() - t0 >= 290);
    /* Inside MULTI: no blocking. */
    buf[0] = '\0';
    raw_send(fd, "MULTI\r\nXREAD BLOCK 0 STREAMS bs $\r\nEXEC\r\n");
    assert_true(raw_expect(fd, "+OK\r\n+QUEUED\r\n*1\r\n*-1\r\n", 10000, buf, sizeof buf));
    /* XREADGROUP: served by the next XADD, the entry pending for alice. */
    text_of(0, "XGROUP CREATE bs g $", x, sizeof x);
    buf[0] = '\0';
    raw_send(fd, "XREADGROUP GROUP g alice BLOCK 0 STREAMS bs >\r\n");
    assert_true(raw_quiet(fd, 200));
    text_of(0, "XADD bs 1-3 c 3", x, sizeof x);
    assert_true(raw_expect(fd, "$3\r\n1-3\r\n", 10000, buf, sizeof buf));
    text_of(0, "XPENDING bs g", x, sizeof x);
    assert_string_equal(x, "[:1 \"1-3\" \"1-3\" [[\"alice\" \"1\"]]]");
    /* Another key changing does not wake it; destroying its group does. */
    buf[0] = '\0';
    raw_send(fd, "XREADGROUP GROUP g alice BLOCK 0 STREAMS bs >\r\n");
    text_of(0, "XADD other 1-1 a 1", x, sizeof x);
    assert_true(raw_quiet(fd, 200));
    text_of(0, "XGROUP DESTROY bs g", x, sizeof x);
    assert_true(raw_expect(fd, "-NOGROUP the consumer group this client was blocked on no longer "
                               "exists\r\n",
                           10000, buf, sizeof buf));
    assert_int_equal(hc_info(0, "clients", "blocked_clients"), 0);
    /* XREAD keeps waiting while its key is briefly a list (stream.tcl's
     * "XADD + DEL + LPUSH should not awake client"), and names a key it
     * gave twice once. */
    text_of(0, "DEL s1", x, sizeof x);
    buf[0] = '\0';
    raw_send(fd, "XREAD BLOCK 20000 STREAMS s1 s1 $ $\r\n");
    assert_true(raw_quiet(fd, 200));
    int fd2 = h_raw_connect(hc_node[0].port);
    assert_true(fd2 >= 0);
    char buf2[1024] = "";
    raw_send(fd2, "MULTI\r\nXADD s1 1-1 old x\r\nDEL s1\r\nLPUSH s1 a\r\nEXEC\r\n");
    assert_true(raw_expect(fd2, "*3\r\n$3\r\n1-1\r\n:1\r\n:1\r\n", 10000, buf2, sizeof buf2));
    assert_true(raw_quiet(fd, 200));
    text_of(0, "DEL s1", x, sizeof x);
    text_of(0, "XADD s1 2-1 new x", x, sizeof x);
    assert_true(raw_expect(fd, "$3\r\nnew\r\n", 10000, buf, sizeof buf));
    assert_string_equal(buf, "*1\r\n*2\r\n$2\r\ns1\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$3\r\nne"
                             "w\r\n$1\r\nx\r\n");
    /* RENAME of a stream with the group onto the key serves it; FLUSHALL
     * releases an XREADGROUP with -UNBLOCKED. */
    text_of(0, "XGROUP CREATE s1 g $", x, sizeof x);
    buf[0] = '\0';
    raw_send(fd, "XREADGROUP GROUP g c BLOCK 0 STREAMS s1 >\r\n");
    assert_true(raw_quiet(fd, 200));
    text_of(0, "XGROUP CREATE s2 g $ MKSTREAM", x, sizeof x);
    text_of(0, "XADD s2 100 f1 v1", x, sizeof x);
    text_of(0, "RENAME s2 s1", x, sizeof x);
    assert_true(raw_expect(fd, "$5\r\n100-0\r\n", 10000, buf, sizeof buf));
    buf[0] = '\0';
    raw_send(fd, "XREADGROUP GROUP g c BLOCK 0 STREAMS s1 >\r\n");
    assert_true(raw_quiet(fd, 200));
    text_of(0, "FLUSHALL", x, sizeof x);
    assert_true(raw_expect(fd, "-UNBLOCKED the stream key no longer exists\r\n", 10000, buf,
                           sizeof buf));
    /* CLIENT UNBLOCK: TIMEOUT answers a null array, ERROR -UNBLOCKED. */
    buf[0] = '\0';
    raw_send(fd, "CLIENT ID\r\n");
    assert_true(raw_expect(fd, "\r\n", 10000, buf, sizeof buf));
    long long id = atoll(buf + 1);
    char cmd[96];
    for (int k = 0; k < 2; k++) {
        buf[0] = '\0';
        raw_send(fd, "XREAD BLOCK 0 STREAMS nothere $\r\n");
        assert_true(raw_quiet(fd, 200));
        snprintf(cmd, sizeof cmd, "CLIENT UNBLOCK %lld %s", id, k ? "ERROR" : "TIMEOUT");
        text_of(0, cmd, x, sizeof x);
        assert_string_equal(x, ":1");
        assert_true(raw_expect(fd, k ? "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n" : "*-1\r\n",
                               10000, buf, sizeof buf));
    }
    text_of(0, cmd, x, sizeof x);
    assert_string_equal(x, ":0");
    close(fd2);
    close(fd);
}

/* INFO <section> holds `want` (a whole "name:value" line or part of one). */
static void assert_info_has(int i, const char *section, const char *want)
{
    char line[64];
    snprintf(line, sizeof line, "INFO %s", section);
    kv_reply *r = hc_cmd(i, line);
    assert_non_null(r);
    assert_non_null(r->str);
    if (!strstr(r->str, want))
        fail_msg("INFO %s lacks %s:\n%s", section, want, r->str);
    kv_reply_free(r);
}

/* A blocking stream read counts as one call when its block ends, as Redis
 * 7.0 (stream-cgroups.tcl "XGROUP DESTROY should unblock XREADGROUP with
 * -NOGROUP"): failed with its error in INFO errorstats when its group is
 * destroyed, not failed on timeout or when served; a blocked XREADGROUP
 * creates its consumer only once it is served. */
static void test_block_stats(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    hc_voters_want v = {0, 1};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    char x[512];
    text_of(0, "XGROUP CREATE bs g $ MKSTREAM", x, sizeof x);
    text_of(0, "CONFIG RESETSTAT", x, sizeof x);
    int fd = h_raw_connect(hc_node[0].port);
    assert_true(fd >= 0);
    char buf[4096] = "";
    raw_send(fd, "XREADGROUP GROUP g alice BLOCK 0 STREAMS bs >\r\n");
    assert_true(raw_quiet(fd, 200));
    text_of(0, "XINFO GROUPS bs", x, sizeof x);
    assert_non_null(strstr(x, "\"consumers\" :0"));
    text_of(0, "XGROUP DESTROY bs g", x, sizeof x);
    assert_true(raw_expect(fd, "-NOGROUP", 10000, buf, sizeof buf));
    assert_info_has(0, "commandstats", "cmdstat_xreadgroup:calls=1,");
    assert_info_has(0, "commandstats", "rejected_calls=0,failed_calls=1\r\n");
    assert_info_has(0, "errorstats", "# Errorstats\r\nerrorstat_NOGROUP:count=1\r\n");
    assert_int_equal(hc_info(0, "stats", "total_error_replies"), 1);
    /* Served by an XADD: one call, the consumer made when served. */
    text_of(0, "XGROUP CREATE bs g $", x, sizeof x);
    text_of(0, "CONFIG RESETSTAT", x, sizeof x);
    buf[0] = '\0';
    raw_send(fd, "XREADGROUP GROUP g bob BLOCK 0 STREAMS bs >\r\n");
    assert_true(raw_quiet(fd, 200));
    text_of(0, "XADD other 1-1 a 1", x, sizeof x);
    assert_true(raw_quiet(fd, 200));
    text_of(0, "XADD bs 1-1 a 1", x, sizeof x);
    assert_true(raw_expect(fd, "$3\r\n1-1\r\n", 10000, buf, sizeof buf));
    assert_info_has(0, "commandstats", "cmdstat_xreadgroup:calls=1,");
    assert_info_has(0, "commandstats", "rejected_calls=0,failed_calls=0\r\n");
    text_of(0, "XINFO CONSUMERS bs g", x, sizeof x);
    assert_non_null(strstr(x, "\"bob\""));
    /* Timed out: one call, not failed; no error counted. */
    buf[0] = '\0';
    raw_send(fd, "XREAD BLOCK 100 STREAMS bs $\r\n");
    assert_true(raw_expect(fd, "*-1\r\n", 10000, buf, sizeof buf));
    assert_info_has(0, "commandstats", "cmdstat_xread:calls=1,");
    assert_int_equal(hc_info(0, "stats", "total_error_replies"), 0);
    close(fd);
}

/* A client blocked in XREAD on a replica is served by the primary's
 * XADD; a client blocked in XREADGROUP on a primary that hands over to its
 * replica is released with Redis's -UNBLOCKED error. */
static void test_block_released_on_failover(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    hc_start(1, 0, NULL);
    hc_voters_want v = {0, 2};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    char x[512];
    text_of(0, "XGROUP CREATE bs g $ MKSTREAM", x, sizeof x);
    assert_string_equal(x, "+OK");
    wait_caught_up(1, 0);
    /* A client blocked in XREAD on the replica is served when the
     * primary's XADD is applied there. */
    int rfd = h_raw_connect(hc_node[1].port);
    assert_true(rfd >= 0);
    char rbuf[1024] = "";
    raw_send(rfd, "XREAD BLOCK 0 STREAMS bs $\r\n");
    assert_true(raw_quiet(rfd, 200));
    text_of(0, "XADD bs 1-1 a 1", x, sizeof x);
    assert_true(raw_expect(rfd, "$3\r\n1-1\r\n", 10000, rbuf, sizeof rbuf));
    close(rfd);
    text_of(0, "XGROUP SETID bs g $", x, sizeof x);
    int fd = h_raw_connect(hc_node[0].port);
    assert_true(fd >= 0);
    char buf[4096] = "";
    raw_send(fd, "XREADGROUP GROUP g alice BLOCK 0 STREAMS bs >\r\n");
    assert_true(raw_quiet(fd, 200));
    char line[64];
    snprintf(line, sizeof line, "FAILOVER TO 127.0.0.1 %d", hc_node[1].port);
    text_of(0, line, x, sizeof x);
    assert_true(raw_expect(fd,
                           "-UNBLOCKED force unblock from blocking operation, instance state "
                           "changed (master -> replica?)\r\n",
                           15000, buf, sizeof buf));
    close(fd);
    int old = 0;
    assert_true(h_wait_until(hc_other_leader, &old, 15000));
}

/* Keyspace events of stream commands, as redis-server sends them. */
static void collect_events(int port, char *out, size_t cap)
{
    kv_client *sub = h_connect(port);
    kv_client *c = h_connect(port);
    assert_non_null(sub);
    assert_non_null(c);
    run(c, "CONFIG SET notify-keyspace-events KEA");
    run(c, "DEL ev ev2");
    /* "done" ends the capture: PUBLISH done after the last command. */
    const char *ps[] = {"PSUBSCRIBE", "__keyevent@0__:*", "done"};
    kv_reply *r;
    assert_int_equal(kv_client_append(sub, 3, ps, NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(kv_client_read(sub, &r), 0);
        kv_reply_free(r);
    }
    static const char *const cmds[] = {
        "XADD ev 1-1 a 1",
        "XADD ev MAXLEN 1 2-1 b 2",
        "XADD ev 3-1 c 3",
        "XDEL ev 3-1",
        "XDEL ev 9-9",
        "XTRIM ev MAXLEN 0",
        "XTRIM ev MAXLEN 0",
        "XSETID ev 5-5",
        "XGROUP CREATE ev g $",
        "XGROUP CREATE ev2 g $ MKSTREAM",
        "XGROUP CREATECONSUMER ev g c",
        "XGROUP SETID ev g 0",
        "XADD ev 6-1 d 4",
        "XREADGROUP GROUP g c2 STREAMS ev >",
        "XCLAIM ev g c3 0 6-1",
        "XAUTOCLAIM ev g c4 0 0",
        "XACK ev g 6-1",
        "XGROUP DELCONSUMER ev g c2",
        "XGROUP DESTROY ev g",
        "XADD ev NOMKSTREAM 7-1 e 5",
        "PUBLISH done done",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        run(c, cmds[i]);
    size_t at = 0;
    out[0] = '\0';
    for (;;) {
        assert_int_equal(kv_client_read(sub, &r), 0);
        assert_int_equal(r->type, KV_REPLY_ARRAY);
        assert_int_equal(r->elements, 4);
        if (strcmp(r->element[2]->str, "done") != 0) {
            at += (size_t)snprintf(out + at, cap - at, "%s %s;", r->element[2]->str,
                                   r->element[3]->str);
            kv_reply_free(r);
            continue;
        }
        kv_reply_free(r);
        break;
    }
    const char *off[] = {"CONFIG", "SET", "notify-keyspace-events", ""};
    r = h_cmdv(c, 4, off, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    kv_client_free(sub);
    kv_client_free(c);
}

static void test_keyspace_events(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    hc_voters_want v = {0, 1};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    h_proc redis;
    char rdir[700];
    snprintf(rdir, sizeof rdir, "%s/redis", hc_tmp);
    assert_int_equal(mkdir(rdir, 0755), 0);
    assert_int_equal(h_redis_start(&redis, rdir, NULL), 0);
    static char a[8192], b[8192];
    collect_events(redis.port, a, sizeof a);
    collect_events(hc_node[0].port, b, sizeof b);
    h_stop(&redis, SIGTERM, 10000);
    assert_string_equal(a, b);
    assert_non_null(strstr(b, "__keyevent@0__:xadd ev;"));
    assert_non_null(strstr(b, "__keyevent@0__:xgroup-createconsumer ev;"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replica_and_restart_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_released_on_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_events, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
