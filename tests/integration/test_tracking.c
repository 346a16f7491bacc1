/* test_tracking.c — client-side caching (CLIENT TRACKING) on a real kvnode.
 *
 * The cases of Redis 7.0's tests/unit/tracking.tcl, ported: redirection
 * to a RESP2 subscriber and to RESP3 clients, BCAST prefixes, NOLOOP,
 * OPTIN/OPTOUT, expiry, FLUSHALL/FLUSHDB, the order of invalidations and
 * replies, the tracking table limit, INFO and TRACKINGINFO; then what
 * kvnode adds: a replica's tracking clients are invalidated by the writes
 * it applies from its primary. Connections are raw sockets read with
 * libkvclient's RESP reader, so pushes and RESP2 messages are seen exactly
 * as sent; every read is bounded (10 s), nothing sleeps. (The
 * differential scripts tests/integration/pubsub/tracking_*.txt compare the
 * same traffic with redis-server's.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define IO_MS 10000

/* ---- Fixture ---- */

static h_proc node;
static char *tmp;

static int group_setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("tracking");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/node", tmp);
    const char *extra[] = {"--save", "", NULL};
    return h_kvnode_start(&node, dir, extra);
}

static int group_teardown(void **state)
{
    (void)state;
    h_stop(&node, SIGTERM, 10000);
    h_rmrf(tmp);
    free(tmp);
    return 0;
}

/* ---- Helpers: raw connections ---- */

typedef struct conn {
    int fd;
    kv_reader *rd;
} conn;

static conn *conn_new(int port)
{
    conn *c = calloc(1, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rd = kv_reader_new(NULL);
    return c;
}

static void conn_free(conn *c)
{
    close(c->fd);
    kv_reader_free(c->rd);
    free(c);
}

/* Send argv (NULL-terminated). */
static void sendv(conn *c, const char *const *argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    size_t need = 0, len;
    kv_format_command(NULL, 0, &need, argc, argv, NULL);
    char *buf = malloc(need);
    kv_format_command(buf, need, &len, argc, argv, NULL);
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
        assert_true(n > 0);
        off += (size_t)n;
    }
    free(buf);
}

/* Send a command given as space-separated words. */
static void sendl(conn *c, const char *line)
{
    char copy[1024], *argv[64];
    snprintf(copy, sizeof copy, "%s", line);
    int n = 0;
    for (char *w = strtok(copy, " "); w && n < 63; w = strtok(NULL, " "))
        argv[n++] = w;
    argv[n] = NULL;
    sendv(c, (const char *const *)argv);
}

/* The next frame, or NULL after ms without one (or at EOF). */
static kv_reply *next(conn *c, int ms)
{
    long long deadline = h_now_ms() + ms;
    for (;;) {
        kv_reply *r = NULL;
        if (kv_reader_get(c->rd, &r) != 0)
            return NULL;
        if (r)
            return r;
        long long left = deadline - h_now_ms();
        if (left <= 0)
            return NULL;
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char buf[65536];
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n <= 0)
            return NULL;
        kv_reader_feed(c->rd, buf, (size_t)n);
    }
}

/* The next frame's text (h_reply_text), into a static buffer. */
static const char *next_text(conn *c)
{
    static char buf[8192];
    kv_reply *r = next(c, IO_MS);
    h_reply_text(r, buf, sizeof buf);
    kv_reply_free(r);
    return buf;
}

/* The next frame must read `want`. */
static void expect(conn *c, const char *want)
{
    assert_string_equal(next_text(c), want);
}

/* Run a command; its reply must read `want`. */
static void run(conn *c, const char *line, const char *want)
{
    sendl(c, line);
    expect(c, want);
}

static long long run_int(conn *c, const char *line)
{
    sendl(c, line);
    kv_reply *r = next(c, IO_MS);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    long long v = r->integer;
    kv_reply_free(r);
    return v;
}

/* Nothing more arrives on c: a PING answers next. */
static void expect_quiet(conn *c, const char *pong)
{
    run(c, "PING", pong);
}

static long long info_field(conn *c, const char *section, const char *field)
{
    char line[64];
    snprintf(line, sizeof line, "INFO %s", section);
    sendl(c, line);
    kv_reply *r = next(c, IO_MS);
    assert_non_null(r);
    char key[96];
    snprintf(key, sizeof key, "\n%s:", field);
    const char *p = r->str ? strstr(r->str, key) : NULL;
    long long v = p ? atoll(p + strlen(key)) : -1;
    kv_reply_free(r);
    return v;
}

/* A fresh state: no data, the table at its default size. */
static void reset_node(void)
{
    conn *c = conn_new(node.port);
    run(c, "FLUSHALL", "+OK");
    run(c, "CONFIG SET tracking-table-max-keys 1000000", "+OK");
    run(c, "DEBUG SET-ACTIVE-EXPIRE 1", "+OK");
    conn_free(c);
}

/* A RESP2 connection subscribed to __redis__:invalidate, and its id. */
static conn *redirection(long long *id)
{
    conn *c = conn_new(node.port);
    *id = run_int(c, "CLIENT ID");
    run(c, "SUBSCRIBE __redis__:invalidate", "[\"subscribe\" \"__redis__:invalidate\" :1]");
    return c;
}

static conn *resp3(void)
{
    conn *c = conn_new(node.port);
    sendl(c, "HELLO 3");
    kv_reply_free(next(c, IO_MS));
    return c;
}

static void tracking_redirect(conn *c, long long id, const char *opts)
{
    char line[256];
    snprintf(line, sizeof line, "CLIENT TRACKING on REDIRECT %lld%s%s", id, opts ? " " : "",
             opts ? opts : "");
    run(c, line, "+OK");
}

/* ---- Tests: redirection, BCAST, NOLOOP (RESP2) ---- */

/* A client redirecting to a RESP2 subscriber: only the keys it read are
 * announced there, on __redis__:invalidate; BCAST announces every key (of
 * its prefixes, one message per prefix), and NOLOOP leaves out the
 * client's own changes. */
static void test_redirect_and_bcast(void **state)
{
    (void)state;
    reset_node();
    long long rid;
    conn *redir = redirection(&rid), *r = conn_new(node.port), *sg = conn_new(node.port);
    tracking_redirect(r, rid, NULL);
    run(r, "SET a{t} 1", "+OK");
    run(r, "SET b{t} 1", "+OK");
    run(r, "GET a{t}", "\"1\"");
    run(r, "INCR b{t}", ":2"); /* not read: not announced */
    run(r, "INCR a{t}", ":2");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"a{t}\"]]");
    run(r, "MGET a{t} b{t} c{t} d{t} e{t} f{t} g{t}",
        "[\"2\" \"2\" (nil) (nil) (nil) (nil) (nil)]");
    run(r, "CLIENT TRACKING off", "+OK");

    /* BCAST with the empty prefix. */
    tracking_redirect(r, rid, "BCAST");
    run(r, "MSET a{t} 1 b{t} 2 c{t} 3", "+OK");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"a{t}\" \"b{t}\" \"c{t}\"]]");
    /* BCAST with prefixes: one message per prefix, keys in byte order. */
    run(r, "CLIENT TRACKING off", "+OK");
    tracking_redirect(r, rid, "BCAST PREFIX a: PREFIX b:");
    run(r, "MULTI", "+OK");
    const char *incrs[] = {"INCR a:1{t}", "INCR a:2{t}", "INCR b:1{t}", "INCR b:2{t}",
                           "INCR c:1{t}"};
    for (int i = 0; i < 5; i++)
        run(r, incrs[i], "+QUEUED");
    run(r, "EXEC", "[:1 :1 :1 :1 :1]");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"a:1{t}\" \"a:2{t}\"]]");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"b:1{t}\" \"b:2{t}\"]]");
    /* Adding a prefix. */
    tracking_redirect(r, rid, "BCAST PREFIX c:");
    run(r, "INCR c:1234", ":1");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"c:1234\"]]");

    /* NOLOOP, standard mode. */
    run(r, "CLIENT TRACKING off", "+OK");
    tracking_redirect(r, rid, "NOLOOP");
    run(r, "MGET otherkey1{t} loopkey{t} otherkey2{t}", "[(nil) (nil) (nil)]");
    run(sg, "SET otherkey1{t} 1", "+OK");
    run(r, "SET loopkey{t} 1", "+OK");
    run(sg, "SET otherkey2{t} 1", "+OK");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"otherkey1{t}\"]]");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"otherkey2{t}\"]]");
    /* NOLOOP, BCAST mode. */
    run(r, "CLIENT TRACKING off", "+OK");
    tracking_redirect(r, rid, "BCAST NOLOOP");
    run(sg, "SET otherkey1 1", "+OK");
    run(r, "SET loopkey 1", "+OK");
    run(sg, "SET otherkey2 1", "+OK");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"otherkey1\"]]");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"otherkey2\"]]");
    run(r, "CLIENT TRACKING off", "+OK");
    conn_free(redir);
    conn_free(r);
    conn_free(sg);
}

/* Expired keys are announced, lazily or actively expired, even to a
 * NOLOOP client that wrote them (expiry is nobody's change). */
static void test_expired_keys(void **state)
{
    (void)state;
    reset_node();
    long long rid;
    conn *redir = redirection(&rid), *r = conn_new(node.port);
    tracking_redirect(r, rid, "BCAST NOLOOP");
    run(r, "SET mykey myval PX 1", "+OK");
    run(r, "SET mykeyotherkey myval", "+OK"); /* own write: not announced */
    /* The active cycle deletes it. */
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"mykey\"]]");

    /* Lazily, inside a transaction that also wrote it. */
    run(r, "DEBUG SET-ACTIVE-EXPIRE 0", "+OK");
    run(r, "MULTI", "+OK");
    run(r, "SET mykey{t} myval PX 1", "+QUEUED");
    run(r, "SET mykeyotherkey{t} myval", "+QUEUED");
    run(r, "DEBUG SLEEP 0.01", "+QUEUED");
    run(r, "GET mykey{t}", "+QUEUED");
    run(r, "EXEC", "[+OK +OK +OK \"myval\"]");
    /* Time stands still inside EXEC (as in Redis): read it again, and the
     * key found expired is deleted, by nobody's command. */
    run(r, "GET mykey{t}", "(nil)");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"mykey{t}\"]]");
    run(r, "DEBUG SET-ACTIVE-EXPIRE 1", "+OK");
    run(r, "CLIENT TRACKING off", "+OK");
    conn_free(redir);
    conn_free(r);
}

/* ---- Tests: RESP3 ---- */

/* RESP3: invalidations as pushes to the client itself, or to the client
 * it redirects to; HELLO switches keep the keys; scripts track the keys
 * they declare when they read. */
static void test_resp3(void **state)
{
    (void)state;
    reset_node();
    long long rid;
    conn *redir = redirection(&rid), *r = resp3(), *sg = conn_new(node.port);
    run(r, "CLIENT TRACKING on", "+OK");
    run(sg, "SET key1 1", "+OK");
    run(r, "GET key1", "\"1\"");
    run(sg, "SET key1 2", "+OK");
    expect(r, ">[\"invalidate\" [\"key1\"]]");

    run(r, "CLIENT TRACKING off", "+OK");
    tracking_redirect(r, rid, NULL);
    run(sg, "SET key1 1", "+OK");
    run(r, "GET key1", "\"1\"");
    run(sg, "SET key1 2", "+OK");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"key1\"]]");
    /* Keys read in RESP2, invalidated once back in RESP3. */
    sendl(r, "HELLO 2");
    kv_reply_free(next(r, IO_MS));
    run(sg, "SET key1 1", "+OK");
    run(r, "GET key1", "\"1\"");
    sendl(r, "HELLO 3");
    kv_reply_free(next(r, IO_MS));
    run(sg, "SET key1 2", "+OK");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"key1\"]]");

    /* Scripts. */
    run(r, "CLIENT TRACKING off", "+OK");
    run(r, "CLIENT TRACKING on", "+OK");
    run(sg, "MSET key2{t} 1 key2{t} 1", "+OK");
    const char *noread[] = {"EVAL", "redis.call('set', 'key3{t}', 'bar')", "2", "key1{t}",
                            "key2{t}", NULL};
    sendv(r, noread);
    expect(r, "(nil)");
    run(sg, "MSET key2{t} 2 key1{t} 2", "+OK");
    const char *read[] = {"EVAL", "redis.call('get', 'key3{t}')", "2", "key1{t}", "key2{t}",
                          NULL};
    sendv(r, read);
    expect(r, "(nil)");
    run(sg, "MSET key2{t} 2 key1{t} 2", "+OK");
    expect(r, ">[\"invalidate\" [\"key2{t}\"]]");
    expect(r, ">[\"invalidate\" [\"key1{t}\"]]");
    const char *ro_noread[] = {"EVAL_RO", "redis.call('ping')", "2", "key1{t}", "key2{t}", NULL};
    sendv(r, ro_noread);
    expect(r, "(nil)");
    run(sg, "MSET key2{t} 2 key1{t} 2", "+OK");
    const char *ro_read[] = {"EVAL_RO", "redis.call('get', 'key1{t}')", "2", "key1{t}",
                             "key2{t}", NULL};
    sendv(r, ro_read);
    expect(r, "(nil)");
    run(sg, "MSET key2{t} 3 key1{t} 3", "+OK");
    expect(r, ">[\"invalidate\" [\"key2{t}\"]]");
    expect(r, ">[\"invalidate\" [\"key1{t}\"]]");
    expect_quiet(r, "+PONG");

    /* A script's write is the client's own for NOLOOP. */
    run(r, "CLIENT TRACKING off", "+OK");
    run(r, "CLIENT TRACKING on NOLOOP", "+OK");
    run(r, "SET key1 1", "+OK");
    run(r, "GET key1", "\"1\"");
    const char *w[] = {"EVAL", "return redis.call('set', 'key1', '2')", "0", NULL};
    sendv(r, w);
    expect(r, "+OK");
    run(r, "GET key1", "\"2\"");
    /* CLIENT TRACKING is not for scripts. */
    const char *ct[] = {"EVAL", "return redis.call('client', 'tracking', 'off')", "0", NULL};
    sendv(r, ct);
    const char *e = next_text(r);
    assert_non_null(strstr(e, "This Redis command is not allowed from script"));
    run(r, "CLIENT TRACKING off", "+OK");
    conn_free(redir);
    conn_free(r);
    conn_free(sg);
}

/* A RESP3 client whose redirect target went away gets
 * [tracking-redir-broken, id] when an invalidation is due; TRACKINGINFO
 * and CLIENT LIST show it; different clients, in either protocol, track
 * the same key. */
static void test_redirect_broken(void **state)
{
    (void)state;
    reset_node();
    long long rid, rid2;
    conn *redir = redirection(&rid), *r = resp3(), *sg = conn_new(node.port);
    tracking_redirect(r, rid, NULL);
    run(sg, "SET key1 1", "+OK");
    run(r, "GET key1", "\"1\"");
    run(redir, "QUIT", "+OK");
    assert_null(next(redir, IO_MS)); /* closed */
    conn_free(redir);
    run(sg, "SET key1 2", "+OK");
    char want[128];
    snprintf(want, sizeof want, ">[\"tracking-redir-broken\" :%lld]", rid);
    expect(r, want);
    snprintf(want, sizeof want,
             "%%{\"flags\" ~[\"on\" \"broken_redirect\"] \"redirect\" :%lld \"prefixes\" []}", rid);
    run(r, "CLIENT TRACKINGINFO", want);
    sendl(r, "CLIENT INFO");
    kv_reply *ci = next(r, IO_MS);
    assert_non_null(ci);
    assert_non_null(strstr(ci->str, " flags=tR "));
    kv_reply_free(ci);

    /* Two clients redirecting to one connection. */
    redir = redirection(&rid2);
    conn *d = conn_new(node.port);
    tracking_redirect(r, rid2, NULL);
    tracking_redirect(d, rid2, NULL);
    run(sg, "MSET key1{t} 1 key2{t} 1", "+OK");
    run(r, "GET key1{t}", "\"1\"");
    run(d, "GET key2{t}", "\"1\"");
    run(sg, "INCR key1{t}", ":2");
    run(sg, "INCR key2{t}", ":2");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"key1{t}\"]]");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"key2{t}\"]]");
    /* A RESP3 client and a redirecting one on the same key. */
    sendl(d, "HELLO 3");
    kv_reply_free(next(d, IO_MS));
    run(d, "CLIENT TRACKING on", "+OK");
    run(sg, "SET key1 1", "+OK");
    run(r, "GET key1", "\"1\"");
    run(d, "GET key1", "\"1\"");
    run(sg, "INCR key1", ":2");
    expect(redir, "[\"message\" \"__redis__:invalidate\" [\"key1\"]]");
    expect(d, ">[\"invalidate\" [\"key1\"]]");
    /* A RESP3 redirect target gets pushes. */
    run(redir, "UNSUBSCRIBE __redis__:invalidate", "[\"unsubscribe\" \"__redis__:invalidate\" :0]");
    sendl(redir, "HELLO 3");
    kv_reply_free(next(redir, IO_MS));
    run(sg, "SET key1 1", "+OK");
    run(r, "GET key1", "\"1\"");
    run(sg, "INCR key1", ":2");
    expect(redir, ">[\"invalidate\" [\"key1\"]]");
    run(r, "CLIENT TRACKING off", "+OK");
    conn_free(redir);
    conn_free(r);
    conn_free(d);
    conn_free(sg);
}

/* OPTIN tracks only after CLIENT CACHING yes, OPTOUT all but after
 * CLIENT CACHING no; switching from default to BCAST forgets the keys read
 * before; prefixes of one client must not overlap. */
static void test_optin_optout_bcast_switch(void **state)
{
    (void)state;
    reset_node();
    conn *r = resp3(), *sg = conn_new(node.port);
    run(r, "CLIENT TRACKING on OPTIN", "+OK");
    run(sg, "SET key1 1", "+OK");
    run(r, "GET key1", "\"1\"");
    run(sg, "SET key1 2", "+OK");
    run(r, "CLIENT CACHING yes", "+OK");
    run(r, "GET key1", "\"2\"");
    run(sg, "SET key1 3", "+OK");
    expect(r, ">[\"invalidate\" [\"key1\"]]");
    run(r, "CLIENT TRACKING off", "+OK");
    run(r, "CLIENT TRACKING on OPTOUT", "+OK");
    run(r, "CLIENT CACHING no", "+OK");
    run(r, "GET key1", "\"3\"");
    run(r, "GET key2", "(nil)");
    run(sg, "MSET key1 4 key2 4", "+OK");
    expect(r, ">[\"invalidate\" [\"key2\"]]");

    /* Default mode, then BCAST: nothing for the keys read before. */
    run(r, "CLIENT TRACKING off", "+OK");
    run(r, "CLIENT TRACKING on", "+OK");
    run(r, "GET key1", "\"4\"");
    run(r, "CLIENT TRACKING off", "+OK");
    run(r, "CLIENT TRACKING on BCAST", "+OK");
    run(sg, "INCR key1", ":5");
    expect(r, ">[\"invalidate\" [\"key1\"]]"); /* the broadcast, once */
    expect_quiet(r, "+PONG");
    run(r, "CLIENT TRACKING off", "+OK");

    /* Prefix collisions. */
    conn *c = conn_new(node.port);
    sendl(c, "CLIENT TRACKING ON BCAST PREFIX FOOBAR PREFIX FOO");
    assert_non_null(strstr(next_text(c), "-ERR Prefix 'FOOBAR' overlaps with another provided "
                                         "prefix 'FOO'"));
    sendl(c, "CLIENT TRACKING ON BCAST PREFIX FOO PREFIX FOOBAR");
    assert_non_null(strstr(next_text(c), "-ERR Prefix 'FOO' overlaps with another provided "
                                         "prefix 'FOOBAR'"));
    run(c, "CLIENT TRACKING ON BCAST PREFIX FOO PREFIX BAR", "+OK");
    sendl(c, "CLIENT TRACKING ON BCAST PREFIX FO");
    assert_non_null(strstr(next_text(c), "-ERR Prefix 'FO' overlaps with an existing prefix "
                                         "'FOO'"));
    sendl(c, "CLIENT TRACKING ON BCAST PREFIX BARB");
    assert_non_null(strstr(next_text(c), "-ERR Prefix 'BARB' overlaps with an existing prefix "
                                         "'BAR'"));
    run(c, "CLIENT TRACKING OFF", "+OK");
    conn_free(c);
    conn_free(r);
    conn_free(sg);
}

/* ---- Tests: order of invalidations and replies ---- */

/* A client's own invalidations follow its reply (a whole EXEC's; a
 * served BLMOVE's), while an eviction before the command announces first;
 * FLUSHDB inside EXEC sends a null after the EXEC reply. */
static void test_order(void **state)
{
    (void)state;
    reset_node();
    conn *r = resp3();
    run(r, "CLIENT TRACKING on", "+OK");
    run(r, "HSET myhash f 1", ":1");
    run(r, "HGET myhash f", "\"1\"");
    run(r, "HDEL myhash f", ":1");
    expect(r, ">[\"invalidate\" [\"myhash\"]]");

    /* Several keys, one of them lazily expired. */
    run(r, "DEBUG SET-ACTIVE-EXPIRE 0", "+OK");
    run(r, "MULTI", "+OK");
    run(r, "MSET x{t} 1 y{t} 2", "+QUEUED");
    run(r, "PEXPIRE y{t} 1", "+QUEUED");
    run(r, "GET y{t}", "+QUEUED");
    run(r, "EXEC", "[+OK :1 \"2\"]");
    /* Poll (bounded) until y{t} reads as gone. */
    long long deadline = h_now_ms() + 5000;
    int gone = 0;
    while (!gone && h_now_ms() < deadline) {
        sendl(r, "MGET x{t} y{t}");
        const char *t = next_text(r);
        gone = !strcmp(t, "[\"1\" (nil)]");
        if (!gone)
            assert_string_equal(t, "[\"1\" \"2\"]");
    }
    assert_true(gone);
    expect(r, ">[\"invalidate\" [\"y{t}\"]]");
    run(r, "DEBUG SET-ACTIVE-EXPIRE 1", "+OK");

    /* A transaction. */
    run(r, "MSET a{t} 1 b{t} 2", "+OK");
    run(r, "GET a{t}", "\"1\"");
    run(r, "MULTI", "+OK");
    run(r, "INCR a{t}", "+QUEUED");
    run(r, "GET b{t}", "+QUEUED");
    run(r, "EXEC", "[:2 \"2\"]");
    expect(r, ">[\"invalidate\" [\"a{t}\"]]");

    /* Eviction happens before the command: its invalidation first. */
    long long used = info_field(r, "memory", "used_memory");
    long long nc = info_field(r, "memory", "mem_not_counted_for_evict");
    assert_true(used > 0 && nc >= 0);
    char line[96];
    snprintf(line, sizeof line, "CONFIG SET maxmemory %lld", used - nc + 100 * 1024);
    run(r, line, "+OK");
    run(r, "CONFIG SET maxmemory-policy volatile-random", "+OK");
    run(r, "SETEX volatile-key 10000 x", "+OK");
    run(r, "GET volatile-key", "\"x\"");
    run(r, "SETBIT big-key 1600000 0", ":0");
    sendl(r, "GETBIT big-key 0");
    expect(r, ">[\"invalidate\" [\"volatile-key\"]]");
    expect(r, ":0");
    run(r, "CONFIG SET maxmemory 0", "+OK");
    run(r, "CONFIG SET maxmemory-policy noeviction", "+OK");

    /* A blocked BLMOVE, served: its reply, then the push. */
    conn *sg = conn_new(node.port), *d = resp3();
    run(sg, "RPUSH list2{t} a", ":1");
    run(d, "CLIENT TRACKING on", "+OK");
    run(d, "LRANGE list2{t} 0 -1", "[\"a\"]");
    sendl(d, "BLMOVE list1{t} list2{t} left left 0");
    deadline = h_now_ms() + 5000;
    while (info_field(sg, "clients", "blocked_clients") != 1 && h_now_ms() < deadline)
        ;
    assert_int_equal(info_field(sg, "clients", "blocked_clients"), 1);
    run(sg, "RPUSH list1{t} foo", ":1");
    expect(d, "\"foo\"");
    expect(d, ">[\"invalidate\" [\"list2{t}\"]]");

    /* FLUSHDB inside a transaction: the null after the EXEC reply. */
    run(r, "SET a{t} 1", "+OK");
    run(r, "GET a{t}", "\"1\"");
    run(r, "MULTI", "+OK");
    run(r, "FLUSHDB", "+QUEUED");
    run(r, "EXEC", "[+OK]");
    expect(r, ">[\"invalidate\" (nil)]");
    /* d tracks too: it got its null at once. */
    expect(d, ">[\"invalidate\" (nil)]");
    run(r, "CLIENT TRACKING off", "+OK");
    conn_free(r);
    conn_free(d);
    conn_free(sg);
}

/* ---- Tests: the table ---- */

/* FLUSHALL and FLUSHDB (ASYNC too) send a null and empty the table; past
 * tracking-table-max-keys keys are dropped with an invalidation each,
 * exactly down to the limit, even beyond one round's effort; INFO counts
 * tracking clients, keys, items and prefixes. */
static void test_table(void **state)
{
    (void)state;
    reset_node();
    long long rid;
    conn *redir = redirection(&rid), *r = conn_new(node.port), *sg = conn_new(node.port);
    tracking_redirect(r, rid, NULL);
    run(sg, "SET key1 1", "+OK");
    run(r, "GET key1", "\"1\"");
    run(sg, "FLUSHALL", "+OK");
    expect(redir, "[\"message\" \"__redis__:invalidate\" (nil)]");
    run(r, "GET key1", "(nil)");
    run(sg, "FLUSHDB", "+OK");
    expect(redir, "[\"message\" \"__redis__:invalidate\" (nil)]");
    run(r, "GET key1", "(nil)");
    run(r, "GET key2", "(nil)");
    assert_int_equal(info_field(sg, "stats", "tracking_total_keys"), 2);
    run(sg, "FLUSHALL ASYNC", "+OK");
    assert_int_equal(info_field(sg, "stats", "tracking_total_keys"), 0);
    expect(redir, "[\"message\" \"__redis__:invalidate\" (nil)]");

    /* 250 keys, a limit of 1: 249 invalidations, none more. */
    char line[64];
    for (int i = 0; i < 250; i++) {
        snprintf(line, sizeof line, "SET key%d %d", i, i);
        run(sg, line, "+OK");
        snprintf(line, sizeof line, "GET key%d", i);
        sendl(r, line);
        kv_reply_free(next(r, IO_MS));
    }
    assert_int_equal(info_field(sg, "stats", "tracking_total_keys"), 250);
    run(r, "CONFIG SET tracking-table-max-keys 1", "+OK");
    for (int i = 0; i < 249; i++) {
        kv_reply *m = next(redir, IO_MS);
        assert_non_null(m);
        assert_int_equal(m->type, KV_REPLY_ARRAY);
        assert_int_equal(m->elements, 3);
        assert_int_equal(m->element[2]->elements, 1);
        kv_reply_free(m);
    }
    run(redir, "PING", "[\"pong\" \"\"]");
    assert_int_equal(info_field(sg, "stats", "tracking_total_keys"), 1);
    assert_int_equal(info_field(sg, "stats", "tracking_total_items"), 1);
    run(r, "CONFIG GET tracking-table-max-keys", "[\"tracking-table-max-keys\" \"1\"]");
    run(r, "CONFIG SET tracking-table-max-keys 1000000", "+OK");

    /* INFO. */
    run(sg, "FLUSHALL", "+OK");
    expect(redir, "[\"message\" \"__redis__:invalidate\" (nil)]");
    run(sg, "SET key1 1", "+OK");
    run(sg, "SET key2 2", "+OK");
    run(r, "GET key1", "\"1\"");
    run(r, "GET key2", "\"2\"");
    conn *d = conn_new(node.port);
    run(d, "CLIENT TRACKING on BCAST PREFIX prefix:", "+OK");
    run(sg, "SET prefix:key1 1", "+OK");
    run(sg, "SET prefix:key2 2", "+OK");
    assert_int_equal(info_field(sg, "stats", "tracking_total_items"), 2);
    assert_int_equal(info_field(sg, "stats", "tracking_total_keys"), 2);
    assert_int_equal(info_field(sg, "stats", "tracking_total_prefixes"), 1);
    assert_int_equal(info_field(sg, "clients", "tracking_clients"), 2);

    /* GETREDIR and TRACKINGINFO. */
    assert_int_equal(run_int(r, "CLIENT GETREDIR"), rid);
    run(r, "CLIENT TRACKING off", "+OK");
    assert_int_equal(run_int(r, "CLIENT GETREDIR"), -1);
    run(r, "CLIENT TRACKINGINFO", "[\"flags\" [\"off\"] \"redirect\" :-1 \"prefixes\" []]");
    run(r, "CLIENT TRACKING on", "+OK");
    assert_int_equal(run_int(r, "CLIENT GETREDIR"), 0);
    run(r, "CLIENT TRACKING on optin noloop", "+OK");
    run(r, "CLIENT CACHING yes", "+OK");
    run(r, "CLIENT TRACKINGINFO",
        "[\"flags\" [\"on\" \"optin\" \"caching-yes\" \"noloop\"] \"redirect\" :0 "
        "\"prefixes\" []]");
    run(r, "CLIENT TRACKING off", "+OK");
    run(r, "CLIENT TRACKING on BCAST PREFIX foo PREFIX bar", "+OK");
    run(r, "CLIENT TRACKINGINFO",
        "[\"flags\" [\"on\" \"bcast\"] \"redirect\" :0 \"prefixes\" [\"bar\" \"foo\"]]");
    run(r, "RESET", "+RESET");
    run(r, "CLIENT TRACKINGINFO", "[\"flags\" [\"off\"] \"redirect\" :-1 \"prefixes\" []]");
    assert_int_equal(info_field(sg, "clients", "tracking_clients"), 1);
    assert_int_equal(info_field(sg, "stats", "tracking_total_prefixes"), 1);
    conn_free(d); /* its prefix goes with it */
    long long deadline = h_now_ms() + 5000;
    while (info_field(sg, "stats", "tracking_total_prefixes") != 0 && h_now_ms() < deadline)
        ;
    assert_int_equal(info_field(sg, "stats", "tracking_total_prefixes"), 0);
    assert_int_equal(info_field(sg, "clients", "tracking_clients"), 0);
    conn_free(redir);
    conn_free(r);
    conn_free(sg);
}

/* ---- Tests: replicas ---- */

/* A replica's tracking clients are invalidated by what it applies from
 * its primary: writes (default and BCAST mode), FLUSHALL, and the
 * deletions of keys the primary expires. */
static void test_replica(void **state)
{
    (void)state;
    char pdir[600], rdir[600], port[16];
    snprintf(pdir, sizeof pdir, "%s/primary", tmp);
    snprintf(rdir, sizeof rdir, "%s/replica", tmp);
    h_proc prim, repl;
    memset(&prim, 0, sizeof prim);
    memset(&repl, 0, sizeof repl);
    const char *pextra[] = {"--save", "", NULL};
    assert_int_equal(h_kvnode_start(&prim, pdir, pextra), 0);
    snprintf(port, sizeof port, "%d", prim.port);
    const char *rextra[] = {"--save", "", "--replicaof", "127.0.0.1", port, NULL};
    assert_int_equal(h_kvnode_start(&repl, rdir, rextra), 0);
    assert_true(h_wait_until(h_link_up, &repl.port, 30000));

    conn *p = conn_new(prim.port), *t = NULL, *b = NULL;
    run(p, "SET k 1", "+OK");
    /* The replica may not have applied it yet: read until it has, then
     * start tracking. */
    t = conn_new(repl.port);
    sendl(t, "HELLO 3");
    kv_reply_free(next(t, IO_MS));
    long long deadline = h_now_ms() + 10000;
    int seen = 0;
    while (!seen && h_now_ms() < deadline) {
        sendl(t, "GET k");
        seen = !strcmp(next_text(t), "\"1\"");
    }
    assert_true(seen);
    run(t, "CLIENT TRACKING on", "+OK");
    run(t, "GET k", "\"1\"");
    b = conn_new(repl.port);
    sendl(b, "HELLO 3");
    kv_reply_free(next(b, IO_MS));
    run(b, "CLIENT TRACKING on BCAST PREFIX k", "+OK");

    run(p, "SET k 2", "+OK");
    expect(t, ">[\"invalidate\" [\"k\"]]");
    expect(b, ">[\"invalidate\" [\"k\"]]");
    run(t, "GET k", "\"2\"");
    run(p, "MULTI", "+OK");
    run(p, "INCR k", "+QUEUED");
    run(p, "SET kk 1", "+QUEUED");
    run(p, "EXEC", "[:3 +OK]");
    expect(t, ">[\"invalidate\" [\"k\"]]");
    expect(b, ">[\"invalidate\" [\"k\" \"kk\"]]");
    /* Expired on the primary: its DEL, applied. (Read again well within
     * the TTL: the key is there, so its DEL has not been applied yet.) */
    run(t, "GET k", "\"3\"");
    run(p, "PEXPIRE k 1500", ":1");
    expect(t, ">[\"invalidate\" [\"k\"]]");
    expect(b, ">[\"invalidate\" [\"k\"]]");
    run(t, "GET k", "\"3\"");
    expect(t, ">[\"invalidate\" [\"k\"]]"); /* the primary's DEL */
    expect(b, ">[\"invalidate\" [\"k\"]]");
    /* FLUSHALL. */
    run(t, "GET kk", "\"1\"");
    run(p, "FLUSHALL", "+OK");
    expect(t, ">[\"invalidate\" (nil)]");
    expect(b, ">[\"invalidate\" (nil)]");
    expect_quiet(t, "+PONG");

    conn_free(p);
    conn_free(t);
    conn_free(b);
    h_stop(&repl, SIGTERM, 10000);
    h_stop(&prim, SIGTERM, 10000);
}

/* A replica that installs a snapshot from its primary (its log was
 * compacted) tells its tracking clients that every key may have changed,
 * as a Redis replica loading its master's RDB: a null invalidation. The
 * primary is stopped while the replica starts, so the tracking client is
 * there before the snapshot. */
static void test_replica_snapshot_install(void **state)
{
    (void)state;
    char pdir[600], rdir[600], port[16];
    snprintf(pdir, sizeof pdir, "%s/snap-primary", tmp);
    snprintf(rdir, sizeof rdir, "%s/snap-replica", tmp);
    h_proc prim, repl;
    memset(&prim, 0, sizeof prim);
    memset(&repl, 0, sizeof repl);
    const char *pextra[] = {"--save", "", "--wal-segment-size", "1mb", "--repl-retention-bytes",
                            "0", NULL};
    assert_int_equal(h_kvnode_start(&prim, pdir, pextra), 0);
    conn *p = conn_new(prim.port);
    run(p, "DEBUG POPULATE 100000", "+OK");
    /* Fill a few WAL segments, so a snapshot lets the first go. */
    char *big = malloc(300001);
    memset(big, 'x', 300000);
    big[300000] = '\0';
    for (int i = 0; i < 12; i++) {
        const char *a[] = {"SET", "big", big, NULL};
        sendv(p, a);
        expect(p, "+OK");
    }
    free(big);
    long long deadline = h_now_ms() + 60000;
    while (info_field(p, "persistence", "wal_first_lsn") <= 2 && h_now_ms() < deadline)
        run(p, "SAVE", "+OK");
    assert_true(info_field(p, "persistence", "wal_first_lsn") > 2);

    kill(prim.pid, SIGSTOP);
    snprintf(port, sizeof port, "%d", prim.port);
    const char *rextra[] = {"--save", "", "--replicaof", "127.0.0.1", port, NULL};
    int started = h_kvnode_start(&repl, rdir, rextra);
    conn *t = NULL;
    if (started == 0) {
        t = conn_new(repl.port);
        sendl(t, "HELLO 3");
        kv_reply_free(next(t, IO_MS));
        sendl(t, "CLIENT TRACKING on");
        kv_reply *ok = next(t, IO_MS);
        started = ok && ok->type == KV_REPLY_STATUS ? 0 : -1;
        kv_reply_free(ok);
    }
    kill(prim.pid, SIGCONT); /* before any assert: never leave it stopped */
    assert_int_equal(started, 0);
    kv_reply *m = next(t, 120000);
    char text[256];
    h_reply_text(m, text, sizeof text);
    kv_reply_free(m);
    assert_string_equal(text, ">[\"invalidate\" (nil)]");
    run(t, "DBSIZE", ":100001");
    conn_free(p);
    conn_free(t);
    h_stop(&repl, SIGTERM, 10000);
    h_stop(&prim, SIGTERM, 10000);
}

/* Redis's "client tracking don't cause eviction feedback loop"
 * (maxmemory unit): 300 keys with 1 KB names read by 10 tracking clients
 * that then read nothing; a maxmemory 40 KB under used memory evicts a few
 * dozen keys, not the database: the invalidations those evictions send
 * (10 KB per key) do not count as memory to free. */
static void test_no_eviction_feedback_loop(void **state)
{
    (void)state;
    reset_node();
    conn *c = conn_new(node.port);
    run(c, "CONFIG SET latency-tracking no", "+OK");
    run(c, "CONFIG SET maxmemory 0", "+OK");
    run(c, "CONFIG SET maxmemory-policy allkeys-lru", "+OK");
    run(c, "CONFIG SET maxmemory-eviction-tenacity 100", "+OK");
    conn *t[10];
    for (int i = 0; i < 10; i++) {
        t[i] = resp3();
        run(t[i], "CLIENT TRACKING on", "+OK");
    }
    char key[1100];
    for (int j = 0; j < 300; j++) {
        int n = snprintf(key, sizeof key, "%d", j);
        memset(key + n, 'x', 1000);
        key[n + 1000] = '\0';
        const char *set[] = {"SET", key, "x", NULL};
        sendv(c, set);
        expect(c, "+OK");
        const char *get[] = {"GET", key, NULL};
        for (int i = 0; i < 10; i++) {
            sendv(t[i], get);
            kv_reply_free(next(t[i], IO_MS));
        }
    }
    long long before = info_field(c, "stats", "evicted_keys");
    long long used = info_field(c, "memory", "used_memory");
    char line[64];
    snprintf(line, sizeof line, "CONFIG SET maxmemory %lld", used - 40000);
    run(c, line, "+OK");
    long long evicted = info_field(c, "stats", "evicted_keys") - before;
    long long left = run_int(c, "DBSIZE");
    print_message("evicted %lld, %lld keys left\n", evicted, left);
    assert_true(left >= 200 && left <= 300);
    assert_true(evicted >= 10 && evicted <= 50);
    /* Each tracking client got its invalidations. */
    for (int i = 0; i < 10; i++) {
        kv_reply *r = next(t[i], IO_MS);
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_PUSH);
        kv_reply_free(r);
        conn_free(t[i]);
    }
    run(c, "CONFIG SET maxmemory 0", "+OK");
    run(c, "CONFIG SET latency-tracking yes", "+OK");
    conn_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_eviction_feedback_loop),
        cmocka_unit_test(test_redirect_and_bcast),
        cmocka_unit_test(test_expired_keys),
        cmocka_unit_test(test_resp3),
        cmocka_unit_test(test_redirect_broken),
        cmocka_unit_test(test_optin_optout_bcast_switch),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_replica),
        cmocka_unit_test(test_replica_snapshot_install),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
