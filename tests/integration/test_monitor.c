/* test_monitor.c — MONITOR against redis-server: the same commands run on
 * both, and each monitor's lines (timestamp and client address replaced)
 * must be the same: what is shown and what is not (admin commands,
 * unknown commands, a served BLPOP again), the order of a script's calls
 * and of a transaction's commands, the database, quoting, redaction of
 * passwords, "lua" and "unix:" origins; MONITOR inside EXEC refused;
 * a second MONITOR unanswered; RESET ends it. The reply barrier side
 * (lines wait for commit) is in test_pubsub's barrier test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static h_pair pr;
static char sockdir[512], rsock[700], ksock[700];

static int group_setup(void **state)
{
    (void)state;
    char *t = h_tmpdir("monitor-sock");
    snprintf(sockdir, sizeof sockdir, "%s", t);
    snprintf(rsock, sizeof rsock, "%s/r.sock", t);
    snprintf(ksock, sizeof ksock, "%s/k.sock", t);
    free(t);
    const char *rextra[] = {"--unixsocket", rsock, NULL};
    const char *kextra[] = {"--save", "", "--unixsocket", ksock, NULL};
    return h_pair_start(&pr, "monitor", rextra, kextra);
}

static int group_teardown(void **state)
{
    (void)state;
    h_pair_stop(&pr);
    h_rmrf(sockdir);
    return 0;
}

/* Run a command given as argv (binary-safe) and drop its reply. */
static void run(kv_client *c, int argc, const char *const *argv, const size_t *lens)
{
    kv_reply *r = h_cmdv(c, argc, argv, lens);
    assert_non_null(r);
    kv_reply_free(r);
}

static void run_line(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    kv_reply_free(r);
}

static kv_client *connect_unix(const char *path)
{
    kv_client *c = NULL;
    if (kv_client_new(&c, NULL) != 0)
        return NULL;
    kv_client_set_io_timeout(c, 10000);
    if (kv_client_connect_unix(c, path) != 0) {
        kv_client_free(c);
        return NULL;
    }
    return c;
}

static void raw_send(int fd, const char *s)
{
    assert_int_equal(h_raw_send(fd, s, strlen(s)), 0);
}

static int blocked_one(void *arg)
{
    kv_client *c = arg;
    kv_reply *r = h_cmd(c, "INFO clients");
    int ok = r && r->str && strstr(r->str, "blocked_clients:1\r\n");
    kv_reply_free(r);
    return ok;
}

/* "+1733480000.123456 [0 127.0.0.1:50123] ..." -> "[0 ADDR] ..." ("lua"
 * kept, "unix:<socket path>" shown as "unix:SOCK"). */
static void normalize(const char *line, const char *sock, char *out, size_t len)
{
    assert_true(line[0] == '+');
    const char *p = strchr(line, '[');
    assert_non_null(p);
    const char *sp = strchr(p, ' ');
    const char *end = strchr(p, ']');
    assert_non_null(sp);
    assert_non_null(end);
    char who[300], unixname[320];
    snprintf(who, sizeof who, "%.*s", (int)(end - sp - 1), sp + 1);
    snprintf(unixname, sizeof unixname, "unix:%s", sock);
    const char *shown = "ADDR";
    if (!strcmp(who, "lua"))
        shown = "lua";
    else if (!strcmp(who, unixname))
        shown = "unix:SOCK";
    snprintf(out, len, "%.*s %s%s", (int)(sp - p), p, shown, end);
}

/* The whole session on one server; its monitor's lines (normalized) go
 * to lines[], their count is returned. */
static int session(int port, const char *sock, char lines[][512], int max)
{
    kv_client *c = h_connect(port);
    kv_client *u = connect_unix(sock);
    int mon = h_raw_connect(port), blocker = h_raw_connect(port);
    assert_non_null(c);
    assert_non_null(u);
    assert_true(mon >= 0 && blocker >= 0);
    run_line(c, "FLUSHALL");

    /* MONITOR inside a transaction is refused when EXEC runs it. */
    run_line(c, "MULTI");
    run_line(c, "MONITOR");
    kv_reply *r = h_cmd(c, "EXEC");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->str, "ERR MONITOR isn't allowed for DENY BLOCKING client");
    kv_reply_free(r);

    char line[1024];
    raw_send(mon, "MONITOR\r\n");
    assert_int_equal(h_raw_line(mon, line, sizeof line, 10000), 0);
    assert_string_equal(line, "+OK");
    /* A second MONITOR gets no reply at all: the next line is a command's. */
    raw_send(mon, "MONITOR\r\n");

    run_line(c, "SET foo bar");
    run_line(c, "GET foo");
    run_line(c, "CONFIG GET maxmemory"); /* admin: not shown */
    run_line(c, "NOSUCHCOMMAND x");      /* refused before running: not shown */
    run_line(c, "GET");                  /* arity: not shown */
    const char *ev[] = {"EVAL",
                        "redis.call('set', KEYS[1], ARGV[1]); return redis.call('get', KEYS[1])",
                        "1", "foo", "q\"u\\o\nte"};
    run(c, 5, ev, NULL);
    run_line(c, "AUTH nopass");
    run_line(c, "AUTH someone nopass");
    run_line(c, "HELLO 2 AUTH someone nopass");
    run_line(c, "MIGRATE 127.0.0.1 1 key 0 10 COPY AUTH secret");
    run_line(c, "MIGRATE 127.0.0.1 1 key 0 10 AUTH2 someone secret");
    const char *bin[] = {"SET", "bin", "\x01\xff\t\r\a\b ok"};
    const size_t binl[] = {3, 3, 10};
    run(c, 3, bin, binl);
    run_line(c, "MULTI");
    run_line(c, "SET in-multi 1");
    run_line(c, "INCR in-multi");
    run_line(c, "EXEC");
    run_line(c, "MULTI");
    run_line(c, "NOSUCHCOMMAND");
    run_line(c, "EXEC");
    run_line(c, "SELECT 3");
    run_line(c, "SET in-db-3 x");
    run_line(c, "SELECT 0");
    run_line(u, "PING from-unix");

    /* A blocked command is shown when it blocks, not again when served. */
    raw_send(blocker, "BLPOP l 0\r\n");
    assert_true(h_wait_until(blocked_one, c, 10000));
    run_line(c, "RPUSH l 1");
    assert_int_equal(h_raw_line(blocker, line, sizeof line, 10000), 0);
    assert_string_equal(line, "*2");
    run_line(c, "RPUSH l 2");
    run_line(c, "SET the-end 1");

    int n = 0;
    while (n < max && h_raw_line(mon, line, sizeof line, 10000) == 0) {
        normalize(line, sock, lines[n], sizeof lines[n]);
        if (strstr(lines[n++], "\"the-end\""))
            break;
    }
    /* RESET ends it: then only replies come. */
    raw_send(mon, "RESET\r\n");
    assert_int_equal(h_raw_line(mon, line, sizeof line, 10000), 0);
    assert_string_equal(line, "+RESET");
    run_line(c, "SET after-reset 1");
    raw_send(mon, "PING\r\n");
    assert_int_equal(h_raw_line(mon, line, sizeof line, 10000), 0);
    assert_string_equal(line, "+PONG");
    close(blocker);
    close(mon);
    kv_client_free(u);
    kv_client_free(c);
    return n;
}

static void test_same_lines_as_redis(void **state)
{
    (void)state;
    static char rl[64][512], kl[64][512];
    int rn = session(pr.redis.port, rsock, rl, 64);
    int kn = session(pr.kv.port, ksock, kl, 64);
    for (int i = 0; i < rn || i < kn; i++)
        if (i >= rn || i >= kn || strcmp(rl[i], kl[i]) != 0)
            fprintf(stderr, "line %d:\n  redis:  %s\n  kvnode: %s\n", i, i < rn ? rl[i] : "-",
                    i < kn ? kl[i] : "-");
    assert_true(rn > 20);
    assert_int_equal(kn, rn);
    for (int i = 0; i < rn; i++)
        assert_string_equal(kl[i], rl[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_lines_as_redis),
    };
    if (getenv("KV_TEST_FILTER"))
        cmocka_set_test_filter(getenv("KV_TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
