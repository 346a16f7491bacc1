/* test_migrate.c — MIGRATE between kvnode and redis-server 7.0.15 in both
 * directions and between two kvnodes, with Redis 7.0's replies: +OK and
 * the keys gone from the source (one DEL in its WAL: gone after kill -9
 * too), COPY, REPLACE, KEYS, +NOKEY, the target's errors forwarded
 * (BUSYKEY, AUTH, SELECT), IOERR for a refused port and for a port that
 * accepts and never answers (the timeout), during which the source keeps
 * serving other clients; the connection cache (reuse, retry on a closed
 * one, release after 10 s). Where redis-server can run the same MIGRATE, its
 * reply is compared with kvnode's. */
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

#include "harness.h"

/* ---- Fixture ---- */

static h_proc redis, redis2, kv, kv2;
static char *tmp;
static kv_client *rc, *kc, *k2c;

static int group_setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("migrate");
    char rdir[600], r2dir[600], kdir[600], k2dir[600];
    snprintf(rdir, sizeof rdir, "%s/redis", tmp);
    snprintf(kdir, sizeof kdir, "%s/kv", tmp);
    snprintf(k2dir, sizeof k2dir, "%s/kv2", tmp);
    snprintf(r2dir, sizeof r2dir, "%s/redis2", tmp);
    mkdir(rdir, 0755);
    mkdir(r2dir, 0755);
    if (h_redis_start(&redis, rdir, NULL) != 0 || h_redis_start(&redis2, r2dir, NULL) != 0)
        return -1;
    const char *extra[] = {"--save", "", "--appendfsync", "no", NULL};
    if (h_kvnode_start(&kv, kdir, extra) != 0 || h_kvnode_start(&kv2, k2dir, extra) != 0)
        return -1;
    rc = h_connect(redis.port);
    kc = h_connect(kv.port);
    k2c = h_connect(kv2.port);
    return rc && kc && k2c ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    kv_client_free(rc);
    kv_client_free(kc);
    kv_client_free(k2c);
    h_stop(&kv, SIGTERM, 10000);
    h_stop(&kv2, SIGTERM, 10000);
    h_stop(&redis, SIGTERM, 10000);
    h_stop(&redis2, SIGTERM, 10000);
    h_rmrf(tmp);
    free(tmp);
    return 0;
}

/* ---- Helpers ---- */

/* A command line split on spaces, where "" is an empty argument. */
static kv_reply *run_line(kv_client *c, const char *line)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", line);
    const char *argv[64];
    size_t lens[64];
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 64; t = strtok(NULL, " ")) {
        if (!strcmp(t, "\"\""))
            t[0] = '\0';
        argv[argc] = t;
        lens[argc++] = strlen(t);
    }
    return h_cmdv(c, argc, argv, lens);
}

/* The reply to a printf-formatted command line, as text. */
static void cmdf(kv_client *c, char *out, size_t len, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    kv_reply *r = run_line(c, line);
    assert_non_null(r);
    h_reply_text(r, out, len);
    kv_reply_free(r);
}

static void expect(kv_client *c, const char *want, const char *fmt, ...)
{
    char line[1024], got[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    kv_reply *r = run_line(c, line);
    assert_non_null(r);
    h_reply_text(r, got, sizeof got);
    kv_reply_free(r);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "%s: got %s, want %s\n", line, got, want);
    assert_string_equal(got, want);
}

/* A listening socket that never accepts: connections complete (backlog)
 * and are never answered. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A raw connection to port with line sent (RESP inline). */
static int raw_send(int port, const char *line)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t n = strlen(line);
    assert_int_equal(write(fd, line, n), (ssize_t)n);
    return fd;
}

/* Read one line from fd within ms; its length, or 0 on timeout. */
static size_t raw_line(int fd, char *buf, size_t len, int ms)
{
    size_t at = 0;
    long long until = h_now_ms() + ms;
    while (at + 1 < len) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)(until - h_now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return 0;
        ssize_t r = read(fd, buf + at, 1);
        if (r <= 0)
            return 0;
        if (buf[at] == '\n') {
            buf[at] = '\0';
            return at;
        }
        at++;
    }
    return 0;
}

/* The same MIGRATE on redis-server and on kvnode as sources (each with
 * the key set up by `setup`; the target is port, redis2 or a fake), both
 * replies equal to want. */
static void same_on_both(const char *setup, const char *migrate_fmt, int port, const char *want)
{
    kv_client *cs[2] = {rc, kc};
    for (int i = 0; i < 2; i++) {
        if (setup)
            kv_reply_free(h_cmd(cs[i], setup));
        char got[4096];
        cmdf(cs[i], got, sizeof got, migrate_fmt, port);
        if (strcmp(got, want) != 0)
            fprintf(stderr, "%s on %s: %s\n", migrate_fmt, i ? "kvnode" : "redis", got);
        assert_string_equal(got, want);
    }
}

/* ---- Tests ---- */

/* kvnode to redis-server: keys of several types move (TTL kept), the
 * source loses them; KEYS, COPY, REPLACE. */
static void test_to_redis(void **state)
{
    (void)state;
    kv_reply_free(h_cmd(rc, "FLUSHALL"));
    expect(kc, "+OK", "SET m:s hello");
    expect(kc, ":3", "RPUSH m:l a b c");
    expect(kc, ":1", "PEXPIRE m:l 500000");
    expect(kc, "\"1-1\"", "XADD m:x 1-1 f v");
    expect(kc, ":2", "SADD m:set 1 2");
    expect(kc, "+OK", "MIGRATE 127.0.0.1 %d m:s 0 5000", redis.port);
    expect(kc, ":0", "EXISTS m:s");
    expect(rc, "\"hello\"", "GET m:s");
    expect(kc, "+OK", "MIGRATE 127.0.0.1 %d \"\" 0 5000 KEYS m:l m:x nosuch m:set", redis.port);
    expect(kc, ":0", "EXISTS m:l m:x m:set");
    expect(rc, "[\"a\" \"b\" \"c\"]", "LRANGE m:l 0 -1");
    char ttl[64];
    cmdf(rc, ttl, sizeof ttl, "PTTL m:l");
    assert_true(atoll(ttl + 1) > 400000 && atoll(ttl + 1) <= 500000);
    expect(rc, "[[\"1-1\" [\"f\" \"v\"]]]", "XRANGE m:x - +");
    expect(rc, ":2", "SCARD m:set");
    /* Into another database of the target. */
    expect(kc, "+OK", "SET m:db x");
    expect(kc, "+OK", "MIGRATE 127.0.0.1 %d m:db 3 5000", redis.port);
    expect(rc, "+OK", "SELECT 3");
    expect(rc, "\"x\"", "GET m:db");
    expect(rc, "+OK", "SELECT 0");
    /* BUSYKEY: forwarded, and the key stays; REPLACE moves it; COPY keeps
     * the source. */
    expect(kc, "+OK", "SET m:s again");
    expect(kc, "-ERR Target instance replied with error: BUSYKEY Target key name already exists.",
           "MIGRATE 127.0.0.1 %d m:s 0 5000", redis.port);
    expect(kc, "\"again\"", "GET m:s");
    expect(kc, "+OK", "MIGRATE 127.0.0.1 %d m:s 0 5000 COPY REPLACE", redis.port);
    expect(kc, "\"again\"", "GET m:s");
    expect(rc, "\"again\"", "GET m:s");
    expect(kc, "+NOKEY", "MIGRATE 127.0.0.1 %d nosuch 0 5000", redis.port);
    expect(kc, "+NOKEY", "MIGRATE 127.0.0.1 %d \"\" 0 5000 KEYS a b", redis.port);
}

/* Errors as redis-server gives them for the same MIGRATE. */
static void test_errors_as_redis(void **state)
{
    (void)state;
    const char *setup = "SET e:k v";
    same_on_both(setup, "MIGRATE 127.0.0.1 %d e:k 0 5000 REPLACE AUTH secret",
                 redis2.port,
                 "-ERR Target instance replied with error: ERR AUTH <password> called without "
                 "any password configured for the default user. Are you sure your "
                 "configuration is correct?");
    same_on_both(setup, "MIGRATE 127.0.0.1 %d e:k 0 5000 REPLACE AUTH2 u p", redis2.port,
                 "-ERR Target instance replied with error: WRONGPASS invalid username-password "
                 "pair or user is disabled.");
    same_on_both(setup, "MIGRATE 127.0.0.1 %d e:k 99 5000 REPLACE", redis2.port,
                 "-ERR Target instance replied with error: ERR DB index is out of range");
    same_on_both(setup, "MIGRATE 127.0.0.1 %d e:k 0 5000 KEYS x", redis2.port,
                 "-ERR When using MIGRATE KEYS option, the key argument must be set to the "
                 "empty string");
    same_on_both(setup, "MIGRATE 127.0.0.1 %d e:k 0 x", redis2.port,
                 "-ERR value is not an integer or out of range");
    same_on_both(setup, "MIGRATE 127.0.0.1 %d e:k x 100", redis2.port,
                 "-ERR value is not an integer or out of range");
    same_on_both(setup, "MIGRATE 127.0.0.1 %d e:k 0 100 BOGUS", redis2.port, "-ERR syntax error");
    same_on_both(setup, "MIGRATE 127.0.0.1 %d e:k 0 100 AUTH", redis2.port, "-ERR syntax error");
    same_on_both(setup, "MIGRATE 127.0.0.1 %d e:k 0 100 AUTH2 u", redis2.port,
                 "-ERR syntax error");
    /* A refused port. */
    int dead = h_free_port();
    same_on_both(setup, "MIGRATE 127.0.0.1 %d e:k 0 1000", dead,
                 "-IOERR error or timeout writing to target instance");
    expect(kc, ":1", "EXISTS e:k");
    /* Wrong arity. */
    expect(kc, "-ERR wrong number of arguments for 'migrate' command", "MIGRATE a b c d");
}

/* A target that accepts and never answers: IOERR after the timeout, the
 * key stays, and meanwhile the source answers other clients. */
static void test_timeout(void **state)
{
    (void)state;
    int port, lfd = silent_listener(&port);
    same_on_both("SET t:k v", "MIGRATE 127.0.0.1 %d t:k 0 300", port,
                 "-IOERR error or timeout reading to target instance");
    expect(kc, "\"v\"", "GET t:k");
    /* While one client waits (3 s timeout), another is served at once. */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "MIGRATE 127.0.0.1 %d t:k 0 3000\r\n", port);
    long long t0 = h_now_ms();
    int fd = raw_send(kv.port, cmd);
    char line[256];
    assert_int_equal(raw_line(fd, line, sizeof line, 300), 0); /* still waiting */
    expect(kc, "+PONG", "PING");
    expect(kc, "\"v\"", "GET t:k");
    assert_true(h_now_ms() - t0 < 2500);
    /* CLIENT LIST shows it blocked in MIGRATE. */
    char list[8192];
    cmdf(kc, list, sizeof list, "CLIENT LIST");
    assert_non_null(strstr(list, "flags=b"));
    assert_non_null(strstr(list, "cmd=migrate"));
    assert_true(raw_line(fd, line, sizeof line, 10000) > 0);
    assert_string_equal(line, "-IOERR error or timeout reading to target instance\r");
    assert_true(h_now_ms() - t0 >= 2900);
    close(fd);
    /* A client that leaves while waiting: the node goes on. */
    fd = raw_send(kv.port, cmd);
    assert_int_equal(raw_line(fd, line, sizeof line, 200), 0);
    close(fd);
    expect(kc, "+PONG", "PING");
    close(lfd);
    expect(kc, "\"v\"", "GET t:k");
}

/* Inside MULTI/EXEC and scripts MIGRATE cannot wait for its target:
 * kvnode answers an error there (Redis would block the whole server). */
static void test_no_wait_inside(void **state)
{
    (void)state;
    expect(kc, "+OK", "SET w:k v");
    expect(kc, "+OK", "MULTI");
    expect(kc, "+QUEUED", "MIGRATE 127.0.0.1 %d w:k 0 1000", redis.port);
    expect(kc, "[-ERR MIGRATE cannot wait for its target inside MULTI or a script]", "EXEC");
    char port[16];
    snprintf(port, sizeof port, "%d", redis.port);
    const char *argv[5] = {"EVAL",
                           "return redis.pcall('MIGRATE','127.0.0.1',ARGV[1],'w:k','0','1000')",
                           "0", port, NULL};
    kv_reply *r = h_cmdv(kc, 4, argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_non_null(strstr(r->str, "MIGRATE cannot wait for its target"));
    kv_reply_free(r);
    expect(kc, "\"v\"", "GET w:k");
}

/* redis-server to kvnode, and kvnode to kvnode. */
static void test_to_kvnode(void **state)
{
    (void)state;
    expect(rc, "+OK", "SET r:s fromredis");
    expect(rc, ":2", "HSET r:h a 1 b 2");
    expect(rc, "\"5-5\"", "XADD r:x 5-5 f v");
    expect(rc, "+OK", "MIGRATE 127.0.0.1 %d \"\" 0 5000 KEYS r:s r:h r:x", kv.port);
    expect(kc, "\"fromredis\"", "GET r:s");
    expect(kc, "\"1\"", "HGET r:h a");
    expect(kc, "[[\"5-5\" [\"f\" \"v\"]]]", "XRANGE r:x - +");
    expect(rc, ":0", "EXISTS r:s r:h r:x");
    /* kvnode as the target of an error: its BUSYKEY forwarded by Redis. */
    expect(rc, "+OK", "SET r:s again");
    expect(rc, "-ERR Target instance replied with error: BUSYKEY Target key name already exists.",
           "MIGRATE 127.0.0.1 %d r:s 0 5000", kv.port);
    /* kvnode to kvnode, into database 2. */
    expect(kc, "+OK", "MIGRATE 127.0.0.1 %d r:h 2 5000", kv2.port);
    expect(k2c, "+OK", "SELECT 2");
    expect(k2c, "\"2\"", "HGET r:h b");
    expect(kc, ":0", "EXISTS r:h");
}

/* Connections are cached per target (INFO migrate_cached_sockets), a
 * cached one the target closed is replaced by a retry, and an unused one
 * is closed after 10 s. */
static int no_cached_sockets(void *arg)
{
    (void)arg;
    char info[16384];
    cmdf(kc, info, sizeof info, "INFO stats");
    return strstr(info, "migrate_cached_sockets:0") != NULL;
}

static void test_connection_cache(void **state)
{
    (void)state;
    char info[16384];
    /* Those of the tests before go first (10 s unused). */
    assert_true(h_wait_until(no_cached_sockets, NULL, 20000));
    expect(kc, "+OK", "SET c:a 1");
    expect(kc, "+OK", "MIGRATE 127.0.0.1 %d c:a 5 2000", redis2.port);
    cmdf(kc, info, sizeof info, "INFO stats");
    assert_non_null(strstr(info, "migrate_cached_sockets:1"));
    expect(kc, "+OK", "SET c:b 1");
    expect(kc, "+OK", "MIGRATE 127.0.0.1 %d c:b 5 2000", redis2.port);
    cmdf(kc, info, sizeof info, "INFO stats");
    assert_non_null(strstr(info, "migrate_cached_sockets:1"));
    /* The target drops every client, ours included: the next MIGRATE
     * fails on the cached connection and succeeds on a new one. */
    kv_client *r2 = h_connect(redis2.port);
    assert_non_null(r2);
    kv_reply_free(h_cmd(r2, "CLIENT KILL TYPE normal SKIPME yes"));
    expect(kc, "+OK", "SET c:c 1");
    expect(kc, "+OK", "MIGRATE 127.0.0.1 %d c:c 5 2000", redis2.port);
    expect(r2, "+OK", "SELECT 5");
    expect(r2, ":3", "EXISTS c:a c:b c:c");
    kv_client_free(r2);
    assert_true(h_wait_until(no_cached_sockets, NULL, 20000));
}

/* The deletions are logged: after kill -9 the migrated keys are still
 * gone and the digest is the same. */
static void test_recovery(void **state)
{
    (void)state;
    expect(kc, "+OK", "SET rec:a 1");
    expect(kc, "+OK", "SET rec:b 2");
    expect(kc, "+OK", "MIGRATE 127.0.0.1 %d \"\" 0 5000 REPLACE KEYS rec:a rec:b", redis.port);
    char before[128], after[128];
    cmdf(kc, before, sizeof before, "DEBUG DIGEST");
    kv_client_free(kc);
    kc = NULL;
    h_stop(&kv, SIGKILL, 10000);
    assert_int_equal(h_restart(&kv), 0);
    assert_true(h_wait_digest(&kc, kv.port, after, sizeof after, 20000));
    assert_string_equal(before, after);
    expect(kc, ":0", "EXISTS rec:a rec:b");
    expect(kc, "\"again\"", "GET m:s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_to_redis),  cmocka_unit_test(test_errors_as_redis),
        cmocka_unit_test(test_timeout),   cmocka_unit_test(test_to_kvnode),
        cmocka_unit_test(test_connection_cache), cmocka_unit_test(test_no_wait_inside),
        cmocka_unit_test(test_recovery),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
