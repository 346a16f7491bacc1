/* test_pause.c — CLIENT PAUSE / CLIENT UNPAUSE against redis-server 7.0:
 * each scenario runs the same steps on both servers (raw connections for
 * the clients that wait) and their transcripts must be identical, besides
 * the facts each asserts: what is postponed under WRITE and ALL, that a
 * postponed request runs when the pause ends (UNPAUSE or its time) in
 * arrival order, that a later end extends and a weaker pause does not
 * weaken, MULTI/EXEC, scripts, expiry and eviction frozen, BLPOP, MONITOR,
 * RESET, a client that leaves while postponed; and (kvnode only) CLIENT
 * UNBLOCK of a postponed client, which crashes redis-server 7.0.15, and a
 * replica that applies its primary's stream while its clients are paused.
 * Argument errors and single-connection replies are in diff/client_pause.txt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "harness.h"

/* ------------------------------------------------------------------------ */
/* Fixture                                                                   */
/* ------------------------------------------------------------------------ */

static h_pair pr;

static int group_setup(void **state)
{
    (void)state;
    const char *rextra[] = {"--enable-debug-command", "yes", NULL};
    const char *kextra[] = {"--save", "", NULL};
    return h_pair_start(&pr, "pause", rextra, kextra);
}

static int group_teardown(void **state)
{
    (void)state;
    h_pair_stop(&pr);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* A transcript of what a scenario saw, compared between the servers. */
typedef struct tr {
    char buf[8192];
    size_t n;
} tr;

static void note(tr *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(t->buf + t->n, sizeof t->buf - t->n, fmt, ap);
    va_end(ap);
    assert_true(w >= 0 && (size_t)w < sizeof t->buf - t->n);
    t->n += (size_t)w;
}

static void raw_send(int fd, const char *s)
{
    assert_int_equal(h_raw_send(fd, s, strlen(s)), 0);
}

/* Exactly n bytes (n < len) within timeout_ms, NUL-terminated: 0 or -1. */
static int raw_bytes(int fd, char *out, size_t n, int timeout_ms)
{
    size_t got = 0;
    long long deadline = h_now_ms() + timeout_ms;
    while (got < n) {
        long long left = deadline - h_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) != 1)
            return -1;
        ssize_t r = read(fd, out + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    out[n] = 0;
    return 0;
}

/* One whole RESP2 reply, its parts joined by '|', within timeout_ms: 0,
 * or -1 when it did not come. */
static int raw_reply(int fd, char *out, size_t len, int timeout_ms)
{
    char line[1024];
    if (h_raw_line(fd, line, sizeof line, timeout_ms) < 0)
        return -1;
    snprintf(out, len, "%s", line);
    if (line[0] == '$' && atoll(line + 1) >= 0) {
        size_t n = (size_t)atoll(line + 1);
        char *b = malloc(n + 3);
        int rc = raw_bytes(fd, b, n + 2, timeout_ms);
        if (!rc) {
            b[n] = 0;
            size_t used = strlen(out);
            snprintf(out + used, len - used, "|%s", b);
        }
        free(b);
        return rc;
    }
    long long n = line[0] == '*' ? atoll(line + 1) : 0;
    for (long long i = 0; i < n; i++) {
        char sub[4096];
        if (raw_reply(fd, sub, sizeof sub, timeout_ms) < 0)
            return -1;
        size_t used = strlen(out);
        snprintf(out + used, len - used, "|%s", sub);
    }
    return 0;
}

/* A reply that must come (bounded), noted in the transcript. */
static void expect_reply(tr *t, const char *who, int fd, const char *want)
{
    char got[4096];
    assert_int_equal(raw_reply(fd, got, sizeof got, 10000), 0);
    note(t, "%s: %s\n", who, got);
    if (want)
        assert_string_equal(got, want);
}

/* No reply within ms: the request is still postponed. */
static void expect_silence(int fd, int ms)
{
    char got[4096];
    assert_int_equal(raw_reply(fd, got, sizeof got, ms), -1);
}

/* A command on a fresh raw connection, its whole reply returned (static). */
static const char *cmd_on(int fd, const char *line)
{
    static char got[8192];
    char req[1024];
    snprintf(req, sizeof req, "%s\r\n", line);
    raw_send(fd, req);
    if (raw_reply(fd, got, sizeof got, 10000) < 0)
        fail_msg("no reply to %s", line);
    return got;
}

/* Under a pause, reads see expired keys as missing (h_wait_until). */
static int both_read_as_expired(void *arg)
{
    return strcmp(cmd_on(*(int *)arg, "EXISTS a b"), ":0") == 0;
}

typedef struct blocked_want {
    int fd;
    int n;
} blocked_want;

/* INFO clients says blocked_clients:<n> (asked on a control connection). */
static int blocked_is(void *arg)
{
    blocked_want *w = arg;
    const char *r = cmd_on(w->fd, "INFO clients");
    char want[64];
    snprintf(want, sizeof want, "blocked_clients:%d\r", w->n);
    return strstr(r, want) != NULL;
}

static void wait_blocked(int ctl, int n)
{
    blocked_want w = {ctl, n};
    assert_true(h_wait_until(blocked_is, &w, 10000));
}

static long long info_field(int fd, const char *section, const char *field)
{
    char q[64];
    snprintf(q, sizeof q, "INFO %s", section);
    const char *r = cmd_on(fd, q);
    char key[80];
    snprintf(key, sizeof key, "%s:", field);
    const char *p = strstr(r, key);
    assert_non_null(p);
    return atoll(p + strlen(key));
}

/* Run scenario on redis-server and on kvnode; the transcripts must match.
 * Each starts unpaused (a failed scenario may have left a pause). */
static void on_both(void (*scenario)(int port, tr *t))
{
    static tr a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    kv_reply_free(h_cmd(pr.rc, "CLIENT UNPAUSE"));
    kv_reply_free(h_cmd(pr.kc, "CLIENT UNPAUSE"));
    scenario(pr.redis.port, &a);
    scenario(pr.kv.port, &b);
    if (strcmp(a.buf, b.buf))
        fprintf(stderr, "redis-server:\n%s\nkvnode:\n%s\n", a.buf, b.buf);
    assert_string_equal(a.buf, b.buf);
}

static int conn(int port)
{
    int fd = h_raw_connect(port);
    assert_true(fd >= 0);
    return fd;
}

/* ------------------------------------------------------------------------ */
/* Scenarios                                                                 */
/* ------------------------------------------------------------------------ */

/* Under WRITE, writes and may-replicate commands wait while reads, admin
 * commands and RESET answer; CLIENT LIST shows the waiting client blocked
 * in its command; UNPAUSE runs them, oldest first. */
static void sc_write_pause(int port, tr *t)
{
    int ctl = conn(port), a = conn(port), b = conn(port), c = conn(port), rd = conn(port);
    note(t, "%s\n", cmd_on(ctl, "FLUSHALL"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT SETNAME ctl"));
    note(t, "%s\n", cmd_on(a, "CLIENT SETNAME writer"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 100000 WRITE"));
    raw_send(a, "RPUSH l first\r\n");
    wait_blocked(ctl, 1);
    raw_send(b, "PUBLISH ch m\r\n");
    wait_blocked(ctl, 2);
    raw_send(c, "RPUSH l second\r\n");
    wait_blocked(ctl, 3);
    /* Reads, admin commands, RESET and read-only scripts go on. */
    note(t, "%s\n", cmd_on(rd, "LRANGE l 0 -1"));
    note(t, "%s\n", cmd_on(rd, "PING"));
    note(t, "%s\n", cmd_on(rd, "EVAL_RO \"return 5\" 0"));
    note(t, "%s\n", cmd_on(rd, "RESET"));
    const char *list = cmd_on(ctl, "CLIENT LIST");
    const char *w = strstr(list, "name=writer ");
    assert_non_null(w);
    assert_non_null(strstr(w, "flags=b "));
    const char *cmdf = strstr(w, " cmd=");
    assert_non_null(cmdf);
    note(t, "writer %.*s\n", (int)strcspn(cmdf + 1, " "), cmdf + 1);
    expect_silence(a, 200);
    note(t, "%s\n", cmd_on(ctl, "CLIENT UNPAUSE"));
    expect_reply(t, "a", a, ":1");
    expect_reply(t, "b", b, ":0");
    expect_reply(t, "c", c, ":2");
    note(t, "%s\n", cmd_on(ctl, "LRANGE l 0 -1"));
    wait_blocked(ctl, 0);
    close(ctl), close(a), close(b), close(c), close(rd);
}

/* Under ALL every command waits, the pausing client's own included, until
 * the pause's time is up. */
static void sc_all_pause(int port, tr *t)
{
    int ctl = conn(port), a = conn(port);
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 400 ALL"));
    long long t0 = h_now_ms();
    raw_send(a, "GET x\r\n");
    raw_send(ctl, "CLIENT UNPAUSE\r\n");
    expect_silence(a, 150);
    expect_reply(t, "a", a, "$-1");
    expect_reply(t, "ctl", ctl, "+OK");
    assert_true(h_now_ms() - t0 >= 300);
    close(ctl), close(a);
}

/* A pause merges with the one in effect: the later end and the stricter
 * type both stay (a shorter WRITE neither ends nor weakens an ALL). */
static void sc_merge(int port, tr *t)
{
    int ctl = conn(port), a = conn(port), b = conn(port);
    /* One transaction: both pauses take effect at the same instant. */
    note(t, "%s\n", cmd_on(ctl, "MULTI"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 500 ALL"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 10 WRITE"));
    note(t, "%s\n", cmd_on(ctl, "EXEC"));
    long long t0 = h_now_ms();
    raw_send(a, "GET x\r\n");
    expect_silence(a, 200);
    expect_reply(t, "a", a, "$-1");
    assert_true(h_now_ms() - t0 >= 350);
    /* A weaker pause with a later end extends the stricter one. */
    note(t, "%s\n", cmd_on(ctl, "MULTI"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 10 ALL"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 500 WRITE"));
    note(t, "%s\n", cmd_on(ctl, "EXEC"));
    t0 = h_now_ms();
    raw_send(b, "PING\r\n");
    expect_silence(b, 200);
    expect_reply(t, "b", b, "+PONG");
    assert_true(h_now_ms() - t0 >= 350);
    /* A shorter WRITE pause does not shorten a longer one. */
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 100000 WRITE"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 10 WRITE"));
    raw_send(a, "SET k v\r\n");
    expect_silence(a, 300);
    note(t, "%s\n", cmd_on(ctl, "CLIENT UNPAUSE"));
    expect_reply(t, "a", a, "+OK");
    /* Time ends a WRITE pause too. */
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 300 WRITE"));
    t0 = h_now_ms();
    raw_send(a, "SET k w\r\n");
    expect_reply(t, "a", a, "+OK");
    assert_true(h_now_ms() - t0 >= 200);
    close(ctl), close(a), close(b);
}

/* MULTI under WRITE: a write is postponed rather than queued; an EXEC
 * waits when it holds a write or a script that may write, runs when it
 * holds only reads; a pause inside EXEC starts after it. */
static void sc_multi(int port, tr *t)
{
    int ctl = conn(port), a = conn(port), b = conn(port), rd = conn(port), d = conn(port);
    note(t, "%s\n", cmd_on(ctl, "FLUSHALL"));
    note(t, "%s\n", cmd_on(a, "MULTI"));
    note(t, "%s\n", cmd_on(a, "SET x 1"));
    note(t, "%s\n", cmd_on(b, "MULTI"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 100000 WRITE"));
    raw_send(a, "EXEC\r\n");
    wait_blocked(ctl, 1);
    raw_send(b, "INCR y\r\n"); /* not queued: postponed */
    wait_blocked(ctl, 2);
    note(t, "%s\n", cmd_on(rd, "MULTI"));
    note(t, "%s\n", cmd_on(rd, "GET x"));
    note(t, "%s\n", cmd_on(rd, "EVAL \"#!lua flags=no-writes\\nreturn 1\" 0"));
    note(t, "%s\n", cmd_on(rd, "EXEC"));
    note(t, "%s\n", cmd_on(d, "MULTI"));
    note(t, "%s\n", cmd_on(d, "EVAL_RO \"return 2\" 0"));
    note(t, "%s\n", cmd_on(d, "EXEC"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT UNPAUSE"));
    expect_reply(t, "a", a, "*1|+OK");
    expect_reply(t, "b", b, "+QUEUED");
    note(t, "%s\n", cmd_on(b, "EXEC"));
    /* The pause begins once the EXEC that asked for it is over. */
    note(t, "%s\n", cmd_on(ctl, "MULTI"));
    note(t, "%s\n", cmd_on(ctl, "SET p1 a"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 100000 WRITE"));
    note(t, "%s\n", cmd_on(ctl, "SET p2 b"));
    note(t, "%s\n", cmd_on(ctl, "EVAL \"return redis.call('set','p3','c')\" 0"));
    note(t, "%s\n", cmd_on(ctl, "EVAL \"return redis.call('publish','ch','m')\" 0"));
    note(t, "%s\n", cmd_on(ctl, "EXEC"));
    raw_send(a, "SET p4 d\r\n");
    wait_blocked(ctl, 1);
    note(t, "%s\n", cmd_on(ctl, "MGET p1 p2 p3 p4"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT UNPAUSE"));
    expect_reply(t, "a", a, "+OK");
    close(ctl), close(a), close(b), close(rd), close(d);
}

/* While paused nothing deletes an expired key: reads see it missing,
 * DBSIZE still counts it, expired_keys stays; after UNPAUSE a read
 * deletes it. */
static void sc_expiry(int port, tr *t)
{
    int ctl = conn(port);
    note(t, "%s\n", cmd_on(ctl, "FLUSHALL"));
    long long before = info_field(ctl, "stats", "expired_keys");
    note(t, "%s\n", cmd_on(ctl, "MULTI"));
    note(t, "%s\n", cmd_on(ctl, "SET a 1 PX 50"));
    note(t, "%s\n", cmd_on(ctl, "SET b 1 PX 50"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 100000 WRITE"));
    note(t, "%s\n", cmd_on(ctl, "EXEC"));
    assert_true(h_wait_until(both_read_as_expired, &ctl, 10000));
    /* Several expiry cycles (10 a second) would have deleted them: this
     * watches for 400 ms on purpose (nothing may happen in that time). */
    long long t1 = h_now_ms();
    while (h_now_ms() - t1 < 400) {
        assert_string_equal(cmd_on(ctl, "DBSIZE"), ":2");
        usleep(50000);
    }
    note(t, "%s\n", cmd_on(ctl, "GET a"));
    note(t, "%s\n", cmd_on(ctl, "SCAN 0"));
    note(t, "%s\n", cmd_on(ctl, "KEYS *"));
    note(t, "%s\n", cmd_on(ctl, "DBSIZE"));
    assert_int_equal(info_field(ctl, "stats", "expired_keys"), before);
    note(t, "%s\n", cmd_on(ctl, "CLIENT UNPAUSE"));
    /* Now a read deletes it (or the active cycle did first). */
    note(t, "%s\n", cmd_on(ctl, "GET a"));
    assert_true(info_field(ctl, "stats", "expired_keys") >= before + 1);
    close(ctl);
}

/* Nothing is evicted while paused, and nothing refused for memory. */
static void sc_eviction(int port, tr *t)
{
    int ctl = conn(port);
    note(t, "%s\n", cmd_on(ctl, "FLUSHALL"));
    note(t, "%s\n", cmd_on(ctl, "DEBUG POPULATE 2000 key 100"));
    note(t, "%s\n", cmd_on(ctl, "CONFIG SET maxmemory-policy allkeys-random"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 100000 WRITE"));
    note(t, "%s\n", cmd_on(ctl, "CONFIG SET maxmemory 1"));
    note(t, "%s\n", cmd_on(ctl, "GET key:1"));
    note(t, "%s\n", cmd_on(ctl, "DBSIZE"));
    note(t, "%s\n", cmd_on(ctl, "CONFIG SET maxmemory 0"));
    note(t, "%s\n", cmd_on(ctl, "CONFIG SET maxmemory-policy noeviction"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT UNPAUSE"));
    note(t, "%s\n", cmd_on(ctl, "FLUSHALL"));
    close(ctl);
}

/* BLPOP under WRITE is postponed (a write), then blocks on its key once
 * the pause ends; a client blocked before the pause is served by a push
 * in the EXEC that paused. */
static void sc_blocking(int port, tr *t)
{
    int ctl = conn(port), a = conn(port), b = conn(port);
    note(t, "%s\n", cmd_on(ctl, "FLUSHALL"));
    raw_send(b, "BLPOP early 0\r\n");
    wait_blocked(ctl, 1);
    note(t, "%s\n", cmd_on(ctl, "MULTI"));
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 100000 WRITE"));
    note(t, "%s\n", cmd_on(ctl, "RPUSH early v"));
    note(t, "%s\n", cmd_on(ctl, "EXEC"));
    expect_reply(t, "b", b, "*2|$5|early|$1|v");
    raw_send(a, "BLPOP l 0\r\n");
    wait_blocked(ctl, 1);
    expect_silence(a, 100);
    note(t, "%s\n", cmd_on(ctl, "CLIENT UNPAUSE"));
    wait_blocked(ctl, 1); /* now blocked on l */
    note(t, "%s\n", cmd_on(ctl, "RPUSH l x"));
    expect_reply(t, "a", a, "*2|$1|l|$1|x");
    close(ctl), close(a), close(b);
}

/* MONITOR shows a postponed command when it runs, not when it arrives;
 * RESET under ALL waits too; a client that leaves while postponed is
 * forgotten and its request never runs. */
static void sc_monitor_reset_leave(int port, tr *t)
{
    int ctl = conn(port), mon = conn(port), a = conn(port), gone = conn(port), r = conn(port);
    note(t, "%s\n", cmd_on(ctl, "FLUSHALL"));
    raw_send(mon, "MONITOR\r\n");
    expect_reply(t, "mon", mon, "+OK");
    note(t, "%s\n", cmd_on(ctl, "CLIENT PAUSE 100000 WRITE"));
    char line[1024];
    raw_send(a, "SET m 1\r\n");
    raw_send(gone, "SET never 1\r\n");
    wait_blocked(ctl, 2);
    /* (INFO of the waits above is shown; no SET.) */
    while (h_raw_line(mon, line, sizeof line, 200) == 0)
        assert_null(strstr(line, "\"SET\""));
    close(gone);
    wait_blocked(ctl, 1);
    note(t, "%s\n", cmd_on(ctl, "CLIENT UNPAUSE"));
    expect_reply(t, "a", a, "+OK");
    do
        assert_int_equal(h_raw_line(mon, line, sizeof line, 10000), 0);
    while (!strstr(line, "\"SET\""));
    note(t, "mon saw: %s\n", strstr(line, "\""));
    note(t, "%s\n", cmd_on(ctl, "EXISTS never"));
    raw_send(ctl, "CLIENT PAUSE 300 ALL\r\n");
    expect_reply(t, "ctl", ctl, "+OK");
    raw_send(r, "RESET\r\n");
    expect_silence(r, 100);
    expect_reply(t, "r", r, "+RESET");
    close(ctl), close(mon), close(a), close(r);
}

static void test_write_pause(void **state)
{
    (void)state;
    on_both(sc_write_pause);
}

static void test_all_pause(void **state)
{
    (void)state;
    on_both(sc_all_pause);
}

static void test_merge(void **state)
{
    (void)state;
    on_both(sc_merge);
}

static void test_multi(void **state)
{
    (void)state;
    on_both(sc_multi);
}

static void test_expiry(void **state)
{
    (void)state;
    on_both(sc_expiry);
}

static void test_eviction(void **state)
{
    (void)state;
    on_both(sc_eviction);
}

static void test_blocking(void **state)
{
    (void)state;
    on_both(sc_blocking);
}

static void test_monitor_reset_leave(void **state)
{
    (void)state;
    on_both(sc_monitor_reset_leave);
}

/* kvnode only (redis-server 7.0.15 crashes on it): CLIENT UNBLOCK does not
 * end a postponement; after UNPAUSE the client blocks on its key and can
 * be unblocked. */
static void test_unblock_postponed(void **state)
{
    (void)state;
    int port = pr.kv.port;
    int ctl = conn(port), a = conn(port);
    const char *id = cmd_on(a, "CLIENT ID");
    assert_true(id[0] == ':');
    char q[64];
    snprintf(q, sizeof q, "CLIENT UNBLOCK %s", id + 1);
    cmd_on(ctl, "DEL l");
    assert_string_equal(cmd_on(ctl, "CLIENT PAUSE 100000 WRITE"), "+OK");
    raw_send(a, "BLPOP l 0\r\n");
    wait_blocked(ctl, 1);
    assert_string_equal(cmd_on(ctl, q), ":0");
    expect_silence(a, 100);
    assert_string_equal(cmd_on(ctl, "CLIENT UNPAUSE"), "+OK");
    wait_blocked(ctl, 1);
    assert_string_equal(cmd_on(ctl, q), ":1");
    char got[256];
    assert_int_equal(raw_reply(a, got, sizeof got, 10000), 0);
    assert_string_equal(got, "*-1");
    close(ctl), close(a);
}

/* A replica whose clients are paused for WRITE still applies its
 * primary's stream (and serves reads of it); unpaused, it has the
 * primary's digest. */
static void test_replica_not_paused(void **state)
{
    (void)state;
    hc_setup("pause-repl");
    hc_start(0, -1, NULL);
    hc_start(1, 0, NULL);
    hc_wait_caught_up(1, 0, 30000);
    kv_reply *r = hc_cmd(1, "CLIENT PAUSE 100000 WRITE");
    assert_non_null(r);
    kv_reply_free(r);
    r = hc_cmd(0, "SET k v1");
    assert_non_null(r);
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);
    hc_wait_caught_up(1, 0, 30000);
    r = hc_cmd(1, "GET k");
    assert_non_null(r);
    assert_string_equal(r->str, "v1");
    kv_reply_free(r);
    r = hc_cmd(1, "CLIENT UNPAUSE");
    kv_reply_free(r);
    hc_assert_same_digest(0, 1, 10000);
    hc_teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_pause),
        cmocka_unit_test(test_all_pause),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_multi),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_blocking),
        cmocka_unit_test(test_monitor_reset_leave),
        cmocka_unit_test(test_unblock_postponed),
        cmocka_unit_test(test_replica_not_paused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
