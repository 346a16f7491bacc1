/* test_sync_stream.c — Redis's replication stream from kvnode (SYNC, PSYNC,
 * REPLCONF; node/server/sync_stream.c), against redis-server 7.0.15:
 *  - the same commands run on both servers produce the same stream on a
 *    raw SYNC connection (timestamps aside): SELECTs, absolute expiries,
 *    MULTI/EXEC around transactions and scripts, unwrapped expiry DELs,
 *    RESTORE with ABSTTL, FLUSHDB on an empty database, SWAPDB;
 *  - a real redis-server started with --replicaof <kvnode> loads kvnode's
 *    RDB (every type, two databases, TTLs, a function library), follows
 *    its writes, and after kvnode is killed with kill -9 and restarted,
 *    syncs again and converges;
 *  - redis-cli --rdb fetches an RDB that redis-check-rdb accepts, and the
 *    connection closes after it (REPLCONF rdb-only);
 *  - REPLCONF, SYNC and PSYNC errors are redis-server's, word for word;
 *  - repl-timeout closes a silent PSYNC replica, not one that sends ACKs
 *    or one that came with SYNC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static h_pair pr;

static int group_setup(void **state)
{
    (void)state;
    const char *rextra[] = {"--enable-debug-command", "yes", NULL};
    const char *kextra[] = {"--save", "", NULL};
    return h_pair_start(&pr, "syncstream", rextra, kextra);
}

static int group_teardown(void **state)
{
    (void)state;
    h_pair_stop(&pr);
    return 0;
}

static void run(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    if (r->type == KV_REPLY_ERROR) {
        char t[256];
        h_reply_text(r, t, sizeof t);
        fail_msg("%s: %s", line, t);
    }
    kv_reply_free(r);
}

static void run_both(const char *line)
{
    run(pr.rc, line);
    run(pr.kc, line);
}

/* Run line on a and on b (redis-server, kvnode): the same reply. */
static void same_reply(kv_client *a, kv_client *b, const char *line, const char *shown)
{
    kv_reply *ra = h_cmd(a, line);
    kv_reply *rb = h_cmd(b, line);
    char ta[256], tb[256];
    h_reply_text(ra, ta, sizeof ta);
    h_reply_text(rb, tb, sizeof tb);
    if (strcmp(ta, tb))
        fail_msg("%s: redis %s, kvnode %s", shown, ta, tb);
    kv_reply_free(ra);
    kv_reply_free(rb);
}

/* Exactly n bytes from fd within timeout_ms: 0, or -1. */
static int read_n(int fd, char *buf, size_t n, int timeout_ms)
{
    long long deadline = h_now_ms() + timeout_ms;
    size_t got = 0;
    while (got < n) {
        long long left = deadline - h_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t k = recv(fd, buf + got, n - got, 0);
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    return 0;
}

/* `sync` (SYNC or PSYNC) on a raw connection: the RDB is read (and
 * checked to be one); the connection is then at the start of the command
 * stream. */
static int attach_on(int fd, const char *sync, size_t *rdb_len)
{
    assert_int_equal(h_raw_send(fd, sync, strlen(sync)), 0);
    char line[128];
    do
        assert_int_equal(h_raw_line(fd, line, sizeof line, 10000), 0);
    while (line[0] == '\0' || line[0] == '+'); /* keepalives, +FULLRESYNC */
    if (line[0] != '$')
        fail_msg("%s: %s", sync, line);
    size_t n = (size_t)atoll(line + 1);
    char *rdb = malloc(n + 1);
    assert_int_equal(read_n(fd, rdb, n, 10000), 0);
    assert_memory_equal(rdb, "REDIS", 5);
    assert_int_equal((unsigned char)rdb[n - 9], 0xff); /* EOF, then the CRC */
    free(rdb);
    if (rdb_len)
        *rdb_len = n;
    return fd;
}

static int attach_with(int port, const char *sync, size_t *rdb_len)
{
    int fd = h_raw_connect(port);
    assert_true(fd >= 0);
    return attach_on(fd, sync, rdb_len);
}

static int attach(int port, size_t *rdb_len)
{
    return attach_with(port, "SYNC\r\n", rdb_len);
}

/* The next command of the stream as text: lowercase name, arguments
 * separated by spaces, long numbers (millisecond timestamps) as "<ts>". */
static void next_command(int fd, char *out, size_t len)
{
    char line[128];
    assert_int_equal(h_raw_line(fd, line, sizeof line, 10000), 0);
    assert_int_equal(line[0], '*');
    int argc = atoi(line + 1);
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; i < argc; i++) {
        assert_int_equal(h_raw_line(fd, line, sizeof line, 10000), 0);
        assert_int_equal(line[0], '$');
        size_t n = (size_t)atoll(line + 1);
        char *arg = malloc(n + 2);
        assert_int_equal(read_n(fd, arg, n + 2, 10000), 0);
        arg[n] = '\0';
        int digits = n >= 12;
        for (size_t j = 0; j < n && digits; j++)
            digits = arg[j] >= '0' && arg[j] <= '9';
        int binary = 0;
        for (size_t j = 0; j < n; j++)
            binary |= (unsigned char)arg[j] < 32 || (unsigned char)arg[j] > 126;
        if (i == 0)
            for (size_t j = 0; j < n; j++)
                arg[j] = (char)(arg[j] >= 'A' && arg[j] <= 'Z' ? arg[j] + 32 : arg[j]);
        at += (size_t)snprintf(out + at, len - at, "%s%s", i ? " " : "",
                               digits ? "<ts>" : binary ? "<bin>" : arg);
        assert_true(at < len);
        free(arg);
    }
}

/* A server's clock (TIME, in ms) is past `ms`. */
typedef struct server_past {
    kv_client *c;
    long long ms;
} server_past;

static int clock_past(void *arg)
{
    server_past *x = arg;
    kv_reply *r = h_cmd(x->c, "TIME");
    int past = r && r->type == KV_REPLY_ARRAY && r->elements == 2 &&
               atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000 > x->ms;
    kv_reply_free(r);
    return past;
}

/* The same commands on both servers give the same stream. */
static void test_stream_same_as_redis(void **state)
{
    (void)state;
    run_both("FLUSHALL");
    run_both("CONFIG SET repl-ping-replica-period 3600");
    int rfd = attach(pr.redis.port, NULL);
    int kfd = attach(pr.kv.port, NULL);
    const char *script[] = {
        "SET foo1 bar EX 200",
        "SET foo1 bar PX 100000",
        "SETEX foo1 100 bar",
        "PSETEX foo1 100000 bar",
        "SET foo2 bar",
        "EXPIRE foo2 100",
        "PEXPIRE foo2 100000",
        "GETEX foo2 EX 200",
        "GETEX foo2 PERSIST",
        "GETEX foo2",
        "INCRBYFLOAT f 1.5",
        "SELECT 3",
        "SET x y",
        "RPUSH l a b c",
        "SELECT 0",
        "MULTI",
        "SET a 1",
        "INCR a",
        "SELECT 3",
        "LPOP l",
        "EXEC",
        "SELECT 0",
        "DEL foo1",
        "HSET h f v",
        "SADD s m1 m2",
        "ZADD z 1 a 2 b",
        "ZPOPMIN z",
        "LMPOP 1 l2 LEFT",
        "RPUSH l2 x y z",
        "LMPOP 1 l2 RIGHT COUNT 2",
        "INCRBY n 5",
        "MSET m1 1 m2 2",
        "SWAPDB 0 3",
        "FLUSHDB",
        "FLUSHDB",
        "SWAPDB 0 3",
        "SET end 1",
    };
    for (size_t i = 0; i < sizeof script / sizeof *script; i++)
        same_reply(pr.rc, pr.kc, script[i], script[i]);
    /* A script's writes, as one unit. */
    const char *ev[] = {"EVAL", "redis.call('set','s1','1'); redis.call('set','s2','2')", "0"};
    kv_reply_free(h_cmdv(pr.rc, 3, ev, NULL));
    kv_reply_free(h_cmdv(pr.kc, 3, ev, NULL));
    /* RESTORE with a relative TTL: made absolute, ABSTTL appended. */
    kv_reply *d = h_cmd(pr.rc, "DUMP end");
    assert_int_equal(d->type, KV_REPLY_STRING);
    const char *rs[] = {"RESTORE", "r1", "100000", d->str};
    size_t rl[] = {7, 2, 6, d->len};
    kv_reply_free(h_cmdv(pr.rc, 4, rs, rl));
    kv_reply_free(h_cmdv(pr.kc, 4, rs, rl));
    const char *rs2[] = {"RESTORE", "r1", "0", d->str, "REPLACE"};
    size_t rl2[] = {7, 2, 1, d->len, 7};
    kv_reply_free(h_cmdv(pr.rc, 5, rs2, rl2));
    kv_reply_free(h_cmdv(pr.kc, 5, rs2, rl2));
    kv_reply_free(d);
    /* Lazy expiry on a read: an unwrapped DEL. */
    run_both("DEBUG SET-ACTIVE-EXPIRE 0");
    run_both("SET gone 1 PX 50");
    /* Wait until both servers' clocks are past the key's expiry (TIME
     * touches no key, so nothing expires it before the GET). */
    kv_reply *pr_at = h_cmd(pr.rc, "PEXPIRETIME gone");
    kv_reply *pk_at = h_cmd(pr.kc, "PEXPIRETIME gone");
    assert_int_equal(pr_at->type, KV_REPLY_INTEGER);
    assert_int_equal(pk_at->type, KV_REPLY_INTEGER);
    server_past rp = {pr.rc, pr_at->integer}, kp = {pr.kc, pk_at->integer};
    kv_reply_free(pr_at);
    kv_reply_free(pk_at);
    assert_true(h_wait_until(clock_past, &rp, 5000));
    assert_true(h_wait_until(clock_past, &kp, 5000));
    run_both("GET gone");
    run_both("DEBUG SET-ACTIVE-EXPIRE 1");
    run_both("SET last 1");

    int n = 0;
    for (;;) {
        char a[512], b[512];
        next_command(rfd, a, sizeof a);
        next_command(kfd, b, sizeof b);
        if (strcmp(a, b))
            fail_msg("stream command %d: redis-server '%s', kvnode '%s'", n, a, b);
        n++;
        if (!strcmp(a, "set last 1"))
            break;
        assert_true(n < 200);
    }
    assert_true(n > 30);
    close(rfd);
    close(kfd);
    run_both("CONFIG SET repl-ping-replica-period 10");
}

typedef struct blocked_on {
    kv_client *c;
    long long n;
} blocked_on;

static int blocked_is(void *arg)
{
    blocked_on *b = arg;
    return h_info_num(b->c, "clients", "blocked_clients") == b->n;
}

/* A key a blocked client waits on, made ready by a transaction that also
 * expires it: the client stays blocked, and the key's deletion when the
 * node tries to serve it is a DEL in the stream after the EXEC, on both. */
static void test_blocked_key_expired(void **state)
{
    (void)state;
    run_both("FLUSHALL");
    run_both("CONFIG SET repl-ping-replica-period 3600");
    run_both("DEBUG SET-ACTIVE-EXPIRE 0");
    int rfd = attach(pr.redis.port, NULL);
    int kfd = attach(pr.kv.port, NULL);
    int rb = h_raw_connect(pr.redis.port), kb = h_raw_connect(pr.kv.port);
    const char *blpop = "*3\r\n$5\r\nBRPOP\r\n$1\r\nk\r\n$1\r\n0\r\n";
    assert_int_equal(h_raw_send(rb, blpop, strlen(blpop)), 0);
    assert_int_equal(h_raw_send(kb, blpop, strlen(blpop)), 0);
    blocked_on br = {pr.rc, 1}, bk = {pr.kc, 1};
    assert_true(h_wait_until(blocked_is, &br, 10000));
    assert_true(h_wait_until(blocked_is, &bk, 10000));
    const char *tx[] = {"MULTI", "RPUSH k hello", "PEXPIRE k 100", "DEBUG SLEEP 0.2", "EXEC"};
    for (size_t i = 0; i < sizeof tx / sizeof *tx; i++)
        same_reply(pr.rc, pr.kc, tx[i], tx[i]);
    /* Still blocked on both. */
    assert_true(blocked_is(&br));
    assert_true(blocked_is(&bk));
    run_both("SET last 1");
    const char *want[] = {"select 0", "multi", "rpush k hello", "pexpireat k <ts>",
                          "exec",     "del k", "set last 1"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char a[256], b[256];
        next_command(rfd, a, sizeof a);
        next_command(kfd, b, sizeof b);
        if (strcmp(a, b))
            fail_msg("stream command %zu: redis-server '%s', kvnode '%s'", i, a, b);
        assert_string_equal(b, want[i]);
    }
    close(rb);
    close(kb);
    close(rfd);
    close(kfd);
    run_both("DEBUG SET-ACTIVE-EXPIRE 1");
    run_both("CONFIG SET repl-ping-replica-period 10");
}

/* The contents of the selected database, canonical: every key sorted with
 * its type, absolute expiry and value (members sorted where unordered). */
static const char *const dump_script =
    "local keys = redis.call('KEYS', '*') table.sort(keys) local out = {} "
    "for _, k in ipairs(keys) do "
    "  local t = redis.call('TYPE', k)['ok'] local v = {} "
    "  if t == 'string' then v = {redis.call('GET', k)} "
    "  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1) "
    "  elseif t == 'set' then v = redis.call('SMEMBERS', k) table.sort(v) "
    "  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES') "
    "  elseif t == 'hash' then local h = redis.call('HGETALL', k) "
    "    for i = 1, #h, 2 do v[#v + 1] = h[i] .. '=' .. h[i + 1] end table.sort(v) "
    "  elseif t == 'stream' then for _, e in ipairs(redis.call('XRANGE', k, '-', '+')) do "
    "    v[#v + 1] = e[1] .. ':' .. table.concat(e[2], ',') end end "
    "  out[#out + 1] = k .. '|' .. t .. '|' .. redis.call('PEXPIRETIME', k) .. '|' .. "
    "    table.concat(v, ',') end "
    "return table.concat(out, ';')";

static char *db_contents(kv_client *c, int db)
{
    char sel[32];
    snprintf(sel, sizeof sel, "SELECT %d", db);
    kv_reply *r = h_cmd(c, sel);
    if (!r || r->type == KV_REPLY_ERROR) {
        kv_reply_free(r);
        return NULL;
    }
    kv_reply_free(r);
    const char *argv[] = {"EVAL_RO", dump_script, "0"};
    r = h_cmdv(c, 3, argv, NULL);
    char *out = NULL;
    if (r && r->type == KV_REPLY_STRING)
        out = strdup(r->str);
    kv_reply_free(r);
    return out;
}

typedef struct converge {
    int rport;
    kv_client **kc;
    int kport;
    char last[4096];
} converge;

/* The replica holds what kvnode holds, in databases 0 and 3. */
static int same_contents(void *arg)
{
    converge *x = arg;
    if (!*x->kc)
        *x->kc = h_connect(x->kport);
    kv_client *rc = h_connect(x->rport);
    if (!rc || !*x->kc) {
        if (rc)
            kv_client_free(rc);
        return 0;
    }
    int same = 1;
    for (int db = 0; db <= 3 && same; db += 3) {
        char *a = db_contents(*x->kc, db), *b = db_contents(rc, db);
        same = a && b && !strcmp(a, b);
        snprintf(x->last, sizeof x->last, "db %d kvnode [%s] replica [%s]", db, a ? a : "-",
                 b ? b : "-");
        free(a);
        free(b);
    }
    kv_client_free(rc);
    return same;
}

static void fill(kv_client *c, const char *tag)
{
    char line[256];
    const char *cmds[] = {
        "SET %s:str hello",        "SET %s:int 12345",      "SET %s:ttl v EX 100000",
        "RPUSH %s:list a b c d",   "HSET %s:hash f1 v1 f2 v2", "SADD %s:set x y z 7",
        "SADD %s:iset 1 2 3",      "ZADD %s:zset 1 a 2.5 b", "XADD %s:stream 1-1 f v",
        "PFADD %s:hll a b c",      "SETBIT %s:bits 77 1",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        snprintf(line, sizeof line, cmds[i], tag);
        run(c, line);
    }
}

/* SET after restart is accepted (not an error such as -READONLY). */
static int set_accepted(void *arg)
{
    kv_reply *r = h_cmd(arg, "SET after restart");
    int ok = r && r->type == KV_REPLY_STATUS;
    kv_reply_free(r);
    return ok;
}

/* A real redis-server replicating from kvnode. */
static void test_redis_replica(void **state)
{
    (void)state;
    kv_client *kc = h_connect(pr.kv.port);
    assert_non_null(kc);
    run(kc, "FLUSHALL");
    fill(kc, "a");
    run(kc, "SELECT 3");
    fill(kc, "b");
    run(kc, "SELECT 0");
    const char *fl[] = {"FUNCTION", "LOAD",
                        "#!lua name=synclib\nredis.register_function('sf', function() return 7 end)"};
    kv_reply_free(h_cmdv(kc, 3, fl, NULL));
    /* Something bigger than one read. */
    for (int i = 0; i < 2000; i++) {
        char line[64];
        snprintf(line, sizeof line, "RPUSH big %d", i);
        run(kc, line);
    }

    char *tmp = h_tmpdir("syncreplica");
    h_proc rep;
    char port[16];
    snprintf(port, sizeof port, "%d", pr.kv.port);
    const char *extra[] = {"--replicaof", "127.0.0.1", port, NULL};
    assert_int_equal(h_redis_start(&rep, tmp, extra), 0);
    assert_true(h_wait_until(h_link_up, &rep.port, 20000));
    converge x = {rep.port, &kc, pr.kv.port, ""};
    if (!h_wait_until(same_contents, &x, 20000))
        fail_msg("replica did not converge: %s", x.last);

    /* Its function library came with the RDB. */
    kv_client *rc = h_connect(rep.port);
    assert_non_null(rc);
    kv_reply *r = h_cmd(rc, "FCALL_RO sf 0");
    assert_non_null(r);
    if (r->type == KV_REPLY_INTEGER)
        assert_int_equal(r->integer, 7);
    else
        assert_int_equal(r->type, KV_REPLY_ERROR); /* sf has no no-writes flag */
    kv_reply_free(r);
    r = h_cmd(rc, "FUNCTION LIST");
    char text[512];
    h_reply_text(r, text, sizeof text);
    assert_non_null(strstr(text, "synclib"));
    kv_reply_free(r);
    kv_client_free(rc);

    /* kvnode shows it as a replica (flag S) and writes follow. */
    r = h_cmd(kc, "CLIENT LIST");
    assert_non_null(strstr(r->str, "flags=S"));
    kv_reply_free(r);
    run(kc, "INCRBYFLOAT a:f 2.5");
    run(kc, "MULTI");
    run(kc, "LPUSH a:list z");
    run(kc, "EXPIRE a:str 500000");
    run(kc, "EXEC");
    run(kc, "SELECT 3");
    run(kc, "DEL b:set");
    run(kc, "SELECT 0");
    const char *ev[] = {"EVAL", "redis.call('hset', KEYS[1], 'g', 'h') return 1", "1", "a:hash"};
    kv_reply_free(h_cmdv(kc, 4, ev, NULL));
    if (!h_wait_until(same_contents, &x, 20000))
        fail_msg("replica did not follow: %s", x.last);

    /* kill -9 and restart: the replica syncs again. */
    kv_client_free(kc);
    kc = NULL;
    h_stop(&pr.kv, SIGKILL, 10000);
    assert_int_equal(h_restart(&pr.kv), 0);
    assert_true(h_wait_until(h_link_up, &rep.port, 30000));
    kc = h_connect(pr.kv.port);
    assert_non_null(kc);
    /* The restarted node takes writes once it is its cluster's leader. */
    assert_true(h_wait_until(set_accepted, kc, 20000));
    if (!h_wait_until(same_contents, &x, 30000))
        fail_msg("replica did not converge after the restart: %s", x.last);
    /* The replica asked for a partial resync with the old replication id
     * (refused: a full sync again), as INFO stats count it; the counters
     * started at 0 with the restarted node. */
    assert_int_equal(h_info_num(kc, "stats", "sync_full"), 1);
    assert_int_equal(h_info_num(kc, "stats", "sync_partial_err"), 1);
    kv_client_free(kc);
    kv_client_free(pr.kc);
    pr.kc = h_connect(pr.kv.port);
    assert_non_null(pr.kc);
    h_stop(&rep, SIGTERM, 10000);
    h_rmrf(tmp);
    free(tmp);
}


static int no_replica(void *arg)
{
    (void)arg;
    kv_reply *r = h_cmd(pr.kc, "CLIENT LIST");
    int none = r && r->type == KV_REPLY_STRING && !strstr(r->str, "flags=S");
    kv_reply_free(r);
    return none;
}

/* redis-cli --rdb: an RDB redis-check-rdb accepts, then the end. */
static void test_rdb_only(void **state)
{
    (void)state;
    run(pr.kc, "SET rdbonly 1");
    long long full0 = h_info_num(pr.kc, "stats", "sync_full");
    char *tmp = h_tmpdir("syncrdb");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "timeout 30 redis-cli -p %d --rdb %s/dump.rdb >%s/cli.log 2>&1 && "
             "timeout 30 redis-check-rdb %s/dump.rdb >%s/check.log 2>&1",
             pr.kv.port, tmp, tmp, tmp, tmp);
    int st = system(cmd);
    if (st != 0) {
        snprintf(cmd, sizeof cmd, "cat %s/cli.log %s/check.log", tmp, tmp);
        assert_int_equal(system(cmd), 0);
        fail_msg("redis-cli --rdb / redis-check-rdb failed (%d)", st);
    }
    snprintf(cmd, sizeof cmd, "grep -q 'RDB looks OK' %s/check.log", tmp);
    assert_int_equal(system(cmd), 0);
    /* Counted as Redis counts it. */
    assert_int_equal(h_info_num(pr.kc, "stats", "sync_full"), full0 + 1);
    /* No replica left behind: the connection closed after the RDB (the
     * raw connections of the tests before are closed too). */
    assert_true(h_wait_until(no_replica, NULL, 10000));
    h_rmrf(tmp);
    free(tmp);
}


static void set_replica_limit(kv_client *c, const char *value)
{
    const char *argv[] = {"CONFIG", "SET", "client-output-buffer-limit", value};
    kv_reply *r = h_cmdv(c, 4, argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
}

/* The RDB does not count against the replica output-buffer limit (Redis
 * sends it from a file); the stream after it does. */
static void test_output_limit(void **state)
{
    (void)state;
    kv_client *kc = pr.kc;
    run(kc, "FLUSHALL");
    set_replica_limit(kc, "replica 1mb 512kb 60");
    /* Values LZF cannot shrink, so that the RDB is as big as they are. */
    char *val = malloc(100 * 1024);
    uint32_t x = 12345;
    for (size_t i = 0; i < 100 * 1024; i++) {
        x = x * 1103515245u + 12345u;
        val[i] = (char)('!' + (x >> 16) % 90);
    }
    for (int i = 0; i < 120; i++) {
        char key[32];
        snprintf(key, sizeof key, "big%d", i);
        const char *argv[] = {"SET", key, val};
        size_t lens[] = {3, strlen(key), 100 * 1024};
        kv_reply_free(h_cmdv(kc, 3, argv, lens));
    }
    int fd = h_raw_connect(pr.kv.port);
    assert_true(fd >= 0);
    /* A small receive buffer: most of the RDB stays in the node. */
    int rcv = 64 * 1024;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv), 0);
    assert_int_equal(h_raw_send(fd, "SYNC\r\n", 6), 0);
    char line[128];
    do
        assert_int_equal(h_raw_line(fd, line, sizeof line, 10000), 0);
    while (line[0] == '\0');
    assert_int_equal(line[0], '$');
    size_t n = (size_t)atoll(line + 1);
    assert_true(n > 12000000); /* 12 MB of values, over the 1 MB limit */
    /* A write while most of the RDB waits in the node's output: the
     * replica stays (its output is checked against the limit then). */
    run(kc, "SET trigger 1");
    kv_reply *cl = h_cmd(kc, "CLIENT LIST");
    assert_non_null(strstr(cl->str, "flags=S"));
    kv_reply_free(cl);
    char *rdb = malloc(n);
    assert_int_equal(read_n(fd, rdb, n, 20000), 0);
    assert_memory_equal(rdb, "REDIS", 5);
    free(rdb);
    char cmd[256];
    next_command(fd, cmd, sizeof cmd);
    assert_string_equal(cmd, "select 0");
    next_command(fd, cmd, sizeof cmd);
    assert_string_equal(cmd, "set trigger 1");
    /* Not reading any more: 30 MB of writes pass the limit (beyond what
     * the sockets hold), and the replica is disconnected. */
    for (int i = 0; i < 300; i++) {
        const char *argv[] = {"SET", "big0", val};
        size_t lens[] = {3, 4, 100 * 1024};
        kv_reply_free(h_cmdv(kc, 3, argv, lens));
    }
    assert_true(h_wait_until(no_replica, NULL, 20000));
    close(fd);
    free(val);
    set_replica_limit(kc, "replica 256mb 64mb 60");
    run(kc, "FLUSHALL");
}

/* Errors as redis-server's, each on a fresh connection. */
static void test_errors_same_as_redis(void **state)
{
    (void)state;
    const char *lines[] = {
        "REPLCONF",
        "REPLCONF listening-port",
        "REPLCONF listening-port abc",
        "REPLCONF listening-port 6380",
        "REPLCONF capa eof capa psync2",
        "REPLCONF capa unknown",
        "REPLCONF nosuchoption 1",
        "REPLCONF rdb-only 2",
        "REPLCONF rdb-only x",
        "REPLCONF rdb-filter-only bogus",
        "PSYNC",
        "PSYNC ? abc",
        "PSYNC ? -1 FAILOVER",
        "SYNC extra",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        kv_client *a = h_connect(pr.redis.port), *b = h_connect(pr.kv.port);
        assert_non_null(a);
        assert_non_null(b);
        same_reply(a, b, lines[i], lines[i]);
        kv_client_free(a);
        kv_client_free(b);
    }
    /* ACK and GETACK answer nothing: the PING after them is answered
     * first, on both. */
    const char *silent[] = {"REPLCONF ack 100\r\nPING\r\n", "REPLCONF getack *\r\nPING\r\n"};
    for (size_t i = 0; i < 2; i++) {
        int fa = h_raw_connect(pr.redis.port), fb = h_raw_connect(pr.kv.port);
        assert_true(fa >= 0 && fb >= 0);
        assert_int_equal(h_raw_send(fa, silent[i], strlen(silent[i])), 0);
        assert_int_equal(h_raw_send(fb, silent[i], strlen(silent[i])), 0);
        char la[128], lb[128];
        assert_int_equal(h_raw_line(fa, la, sizeof la, 10000), 0);
        assert_int_equal(h_raw_line(fb, lb, sizeof lb, 10000), 0);
        assert_string_equal(la, "+PONG");
        assert_string_equal(lb, "+PONG");
        close(fa);
        close(fb);
    }
    /* Inside MULTI; and a filtered RDB without the EOF capability. */
    const char *seqs[][3] = {
        {"MULTI", "SYNC", "DISCARD"},
        {"MULTI", "PSYNC ? -1", "DISCARD"},
        {"REPLCONF rdb-filter-only functions", "SYNC", "PING"},
    };
    for (size_t i = 0; i < sizeof seqs / sizeof *seqs; i++) {
        kv_client *a = h_connect(pr.redis.port), *b = h_connect(pr.kv.port);
        for (int j = 0; j < 3; j++)
            same_reply(a, b, seqs[i][j], seqs[i][j]);
        kv_client_free(a);
        kv_client_free(b);
    }
}

/* A replica's own commands get no reply; the stream's PINGs follow the
 * configured period. */
static void test_replica_commands_and_ping(void **state)
{
    (void)state;
    run(pr.kc, "CONFIG SET repl-ping-replica-period 1");
    int fd = attach(pr.kv.port, NULL);
    const char *ack = "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n";
    assert_int_equal(h_raw_send(fd, ack, strlen(ack)), 0);
    /* What comes is the stream's PING (within the period and a margin),
     * not a reply to PING (+PONG) or to REPLCONF (+OK). */
    char cmd[128];
    next_command(fd, cmd, sizeof cmd);
    assert_string_equal(cmd, "ping");
    run(pr.kc, "SET afterping 1");
    next_command(fd, cmd, sizeof cmd);
    assert_string_equal(cmd, "select 0");
    next_command(fd, cmd, sizeof cmd);
    assert_string_equal(cmd, "set afterping 1");
    close(fd);
    run(pr.kc, "CONFIG SET repl-ping-replica-period 10");
    kv_reply *r = h_cmd(pr.kc, "CONFIG GET repl-ping-slave-period");
    char text[128];
    h_reply_text(r, text, sizeof text);
    assert_non_null(strstr(text, "10"));
    kv_reply_free(r);
}

/* The server closed fd: what it sent meanwhile (PINGs) is read away. */
static int conn_closed(int fd)
{
    char buf[512];
    for (;;) {
        ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (k == 0)
            return 1;
        if (k < 0)
            return 0; /* EAGAIN: open, nothing pending */
    }
}

typedef struct timeout_watch {
    int silent, acking;
} timeout_watch;

/* The silent PSYNC replica is closed; the other one acknowledges on every
 * poll, as a Redis replica does every second. */
static int silent_closed(void *arg)
{
    timeout_watch *w = arg;
    const char *ack = "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$1\r\n0\r\n";
    assert_int_equal(h_raw_send(w->acking, ack, strlen(ack)), 0);
    return conn_closed(w->silent);
}

/* repl-timeout, as Redis's primary: a PSYNC replica that sends nothing for
 * that long once its RDB is out is disconnected; one that acknowledges is
 * kept, and so is one that came with SYNC (old replicas send no ACKs). */
static void test_repl_timeout(void **state)
{
    (void)state;
    same_reply(pr.rc, pr.kc, "CONFIG GET repl-timeout", "repl-timeout default");
    same_reply(pr.rc, pr.kc, "CONFIG SET repl-timeout 0", "repl-timeout 0");
    run(pr.kc, "CONFIG SET repl-timeout 1");
    long long t0 = h_now_ms();
    timeout_watch w;
    w.silent = attach_with(pr.kv.port, "PSYNC ? -1\r\n", NULL);
    w.acking = attach_with(pr.kv.port, "PSYNC ? -1\r\n", NULL);
    int old = attach(pr.kv.port, NULL);
    assert_true(h_wait_until(silent_closed, &w, 10000));
    /* Not before the timeout (a second, counted from the RDB's end). */
    assert_true(h_now_ms() - t0 >= 1000);
    assert_false(conn_closed(w.acking));
    assert_false(conn_closed(old));
    /* What stays attached still gets the stream. */
    run(pr.kc, "SET aftertimeout 1");
    char cmd[128];
    next_command(w.acking, cmd, sizeof cmd);
    if (!strcmp(cmd, "ping"))
        next_command(w.acking, cmd, sizeof cmd);
    assert_string_equal(cmd, "select 0");
    next_command(w.acking, cmd, sizeof cmd);
    assert_string_equal(cmd, "set aftertimeout 1");
    close(w.silent);
    close(w.acking);
    close(old);
    run(pr.kc, "CONFIG SET repl-timeout 60");
}

/* The "slave0:" line of INFO replication (or "" when none), and whether it
 * shows the acknowledged offset. */
typedef struct listed {
    kv_client *c;
    char line[256];
} listed;

static int listed_acked(void *arg)
{
    listed *l = arg;
    kv_reply *r = h_cmd(l->c, "INFO replication");
    l->line[0] = '\0';
    const char *p = r && r->str ? strstr(r->str, "slave0:") : NULL;
    if (p) {
        size_t n = strcspn(p, "\r\n");
        snprintf(l->line, sizeof l->line, "%.*s", (int)n, p);
    }
    int ok = r && r->str && strstr(r->str, "connected_slaves:1\r\n") && strstr(l->line, "offset=77");
    kv_reply_free(r);
    return ok != 0;
}

/* A client on the replication stream is a replica, as Redis shows one:
 * INFO replication (slave0: its address, its REPLCONF listening-port,
 * state online once its RDB is out, the offset of its last ACK), ROLE,
 * CLIENT LIST TYPE replica, and CLIENT KILL TYPE slave (redis-cli --replica
 * and Redis's test helpers count on these). */
static void test_listed_as_replica(void **state)
{
    (void)state;
    run(pr.rc, "CONFIG SET repl-diskless-sync-delay 0");
    kv_client *cs[2] = {pr.rc, pr.kc};
    int ports[2] = {pr.redis.port, pr.kv.port};
    char lines[2][256], roles[2][512], kills[2][64];
    for (int i = 0; i < 2; i++) {
        const char *hello = "*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n4321\r\n";
        int fd = h_raw_connect(ports[i]);
        assert_true(fd >= 0);
        assert_int_equal(h_raw_send(fd, hello, strlen(hello)), 0);
        char line[128];
        assert_int_equal(h_raw_line(fd, line, sizeof line, 10000), 0);
        assert_string_equal(line, "+OK");
        attach_on(fd, "PSYNC ? -1\r\n", NULL);
        const char *ack = "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$2\r\n77\r\n";
        assert_int_equal(h_raw_send(fd, ack, strlen(ack)), 0);
        listed l = {.c = cs[i]};
        assert_true(h_wait_until(listed_acked, &l, 10000));
        snprintf(lines[i], sizeof lines[i], "%s", l.line);
        kv_reply *r = h_cmd(cs[i], "ROLE");
        h_reply_text(r, roles[i], sizeof roles[i]);
        kv_reply_free(r);
        r = h_cmd(cs[i], "CLIENT LIST TYPE replica");
        assert_non_null(r);
        assert_non_null(strstr(r->str, " flags=S "));
        kv_reply_free(r);
        r = h_cmd(cs[i], "CLIENT KILL TYPE slave");
        h_reply_text(r, kills[i], sizeof kills[i]);
        kv_reply_free(r);
        /* Killed: the connection ends (after what was in flight). */
        char buf[4096];
        long long deadline = h_now_ms() + 10000;
        ssize_t k;
        do {
            struct pollfd p = {fd, POLLIN, 0};
            assert_true(poll(&p, 1, 1000) >= 0);
            k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        } while (k != 0 && h_now_ms() < deadline);
        assert_int_equal(k, 0);
        close(fd);
    }
    assert_string_equal(lines[1], lines[0]);
    assert_string_equal(lines[1], "slave0:ip=127.0.0.1,port=4321,state=online,offset=77,lag=0");
    /* ROLE: the master's offset differs (byte offsets against LSNs), the
     * replica's entry does not. */
    assert_non_null(strstr(roles[0], " [[\"127.0.0.1\" \"4321\" \"77\"]]]"));
    assert_non_null(strstr(roles[1], " [[\"127.0.0.1\" \"4321\" \"77\"]]]"));
    assert_string_equal(kills[1], kills[0]);
    assert_string_equal(kills[1], ":1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_same_as_redis),
        cmocka_unit_test(test_blocked_key_expired),
        cmocka_unit_test(test_errors_same_as_redis),
        cmocka_unit_test(test_replica_commands_and_ping),
        cmocka_unit_test(test_repl_timeout),
        cmocka_unit_test(test_rdb_only),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_redis_replica),
        cmocka_unit_test(test_listed_as_replica),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
