/* test_metrics.c — the Prometheus endpoint of a real node: what it reports
 * and how the numbers move, promtool's checker on its output, and the HTTP
 * server's behaviour with wrong, slow, oversized and too many requests
 * (never blocking the node's clients). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ---- Fixture ---- */

typedef struct fixture {
    char *tmp;
    char dir[700];
    h_proc node;
    int mport;
    kv_client *c;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->tmp = h_tmpdir("metrics");
    snprintf(f->dir, sizeof f->dir, "%s/data", f->tmp);
    for (int attempt = 0; attempt < 5; attempt++) {
        f->mport = h_free_port();
        char mp[16];
        snprintf(mp, sizeof mp, "%d", f->mport);
        const char *extra[] = {"--metrics-port", mp, NULL};
        if (h_kvnode_start(&f->node, f->dir, extra) == 0)
            break;
        f->node.pid = 0;
    }
    if (!f->node.pid)
        return -1;
    f->c = h_connect(f->node.port);
    *state = f;
    return f->c ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kv_client_free(f->c);
    h_stop(&f->node, SIGTERM, 10000);
    h_rmrf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

/* Read until EOF (at most 10 s, 4 MiB); malloc'd, NUL-terminated, or NULL
 * on timeout. */
static char *read_all(int fd, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    long long deadline = h_now_ms() + 10000;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)(deadline - h_now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            free(buf);
            return NULL;
        }
        if (n + 1 == cap) {
            if (cap >= (4u << 20)) {
                free(buf);
                return NULL;
            }
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Send a raw request and return the whole response (malloc'd) or NULL. */
static char *http(int port, const char *req, size_t reqlen)
{
    int fd = h_raw_connect(port);
    if (fd < 0)
        return NULL;
    if (write(fd, req, reqlen) != (ssize_t)reqlen) {
        close(fd);
        return NULL;
    }
    char *r = read_all(fd, NULL);
    close(fd);
    return r;
}

static char *get_metrics(fixture *f)
{
    const char *req = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
    return http(f->mport, req, strlen(req));
}

/* The value of the sample whose line starts with `prefix` ("name{…} " or
 * "name "), or -1 when absent. */
static double sample(const char *text, const char *prefix)
{
    size_t pl = strlen(prefix);
    for (const char *p = text; p && *p;) {
        if (!strncmp(p, prefix, pl))
            return strtod(p + pl, NULL);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

static void cmd_ok(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    assert_int_not_equal(r->type, KV_REPLY_ERROR);
    kv_reply_free(r);
}

/* ---- Tests ---- */

/* The exposition of a node that served commands passes promtool's checker
 * and has the redis_exporter names, per-command counters and kvnode's own
 * figures, with values that follow what happened. */
static void test_exposition(void **state)
{
    fixture *f = *state;
    assert_int_equal(system("command -v promtool >/dev/null 2>&1"), 0); /* install-deps.sh */
    for (int i = 0; i < 20; i++) {
        char line[64];
        snprintf(line, sizeof line, "SET key:%d v", i);
        cmd_ok(f->c, line);
    }
    cmd_ok(f->c, "GET key:1");
    cmd_ok(f->c, "GET missing");
    cmd_ok(f->c, "EXPIRE key:2 1000");
    /* A 1000-member set, unlinked: one object for the lazyfree thread. */
    static char members[1000][8];
    const char *argv[1002] = {"SADD", "big"};
    for (int i = 0; i < 1000; i++) {
        snprintf(members[i], sizeof members[i], "%d", i);
        argv[i + 2] = members[i];
    }
    kv_reply *r = h_cmdv(f->c, 1002, argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->integer, 1000);
    kv_reply_free(r);
    cmd_ok(f->c, "UNLINK big");
    char *m = get_metrics(f);
    assert_non_null(m);
    assert_true(!strncmp(m, "HTTP/1.1 200 OK\r\n", 17));
    assert_non_null(strstr(m, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    char *body = strstr(m, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    char cl[64];
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", strlen(body));
    assert_non_null(strstr(m, cl));

    char path[800];
    snprintf(path, sizeof path, "%s/metrics.txt", f->tmp);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(body, out);
    fclose(out);
    char cmd[1000];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
    assert_int_equal(system(cmd), 0);

    assert_true(sample(body, "redis_up ") == 1);
    assert_true(sample(body, "redis_connected_clients ") >= 1);
    assert_true(sample(body, "redis_commands_total{cmd=\"set\"} ") == 20);
    assert_true(sample(body, "redis_commands_total{cmd=\"get\"} ") == 2);
    assert_true(sample(body, "redis_commands_duration_seconds_total{cmd=\"set\"} ") > 0);
    assert_true(sample(body, "redis_latency_percentiles_usec_count{cmd=\"set\"} ") == 20);
    assert_true(sample(body, "redis_latency_percentiles_usec{cmd=\"set\",quantile=\"0.5\"} ") > 0);
    assert_true(sample(body, "redis_latency_percentiles_usec{cmd=\"set\",quantile=\"0.999\"} ") > 0);
    assert_true(sample(body, "redis_keyspace_hits_total ") >= 1);
    assert_true(sample(body, "redis_keyspace_misses_total ") >= 1);
    assert_true(sample(body, "redis_db_keys{db=\"db0\"} ") == 20);
    assert_true(sample(body, "redis_db_keys_expiring{db=\"db0\"} ") == 1);
    assert_true(sample(body, "redis_memory_used_bytes ") > 0);
    assert_true(sample(body, "redis_lazyfree_pending_objects ") +
                    sample(body, "redis_lazyfreed_objects_total ") ==
                1);
    assert_true(sample(body, "redis_connected_slaves ") == 0);
    assert_true(sample(body, "redis_master_repl_offset ") >= 22);
    assert_true(sample(body, "kvnode_wal_last_lsn ") >= 22);
    assert_true(sample(body, "kvnode_commit_lsn ") >= 22);
    assert_true(sample(body, "kvnode_applied_lsn ") >= 22);
    assert_true(sample(body, "kvnode_term ") >= 1);
    assert_true(sample(body, "kvnode_raft_role{role=\"leader\"} ") == 1);
    assert_true(sample(body, "kvnode_raft_role{role=\"follower\"} ") == 0);
    assert_true(sample(body, "kvnode_wal_segments ") >= 1);
    assert_true(sample(body, "kvnode_wal_bytes ") > 0);
    /* appendfsync always: at least one fdatasync, counted in the histogram
     * and in the +Inf bucket. */
    double syncs = sample(body, "kvnode_wal_fsync_duration_seconds_count ");
    assert_true(syncs >= 1);
    assert_true(sample(body, "kvnode_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} ") == syncs);
    assert_true(sample(body, "kvnode_lease_remaining_seconds ") >= 0);
    assert_true(sample(body, "kvnode_elections_started_total ") >= 0);
    assert_true(sample(body, "kvnode_snapshot_age_seconds ") >= 0);
    assert_true(sample(body, "kvnode_recovery_duration_seconds ") >= 0);
    free(m);

    /* Counters move: ten more GETs. */
    for (int i = 0; i < 10; i++)
        cmd_ok(f->c, "GET key:3");
    m = get_metrics(f);
    assert_non_null(m);
    assert_true(sample(strstr(m, "\r\n\r\n") + 4, "redis_commands_total{cmd=\"get\"} ") == 12);
    free(m);

    /* One sample per non-empty database (db0 always), as redis_exporter. */
    cmd_ok(f->c, "SELECT 4");
    cmd_ok(f->c, "SET in4 v");
    cmd_ok(f->c, "SET ex4 v EX 100");
    cmd_ok(f->c, "SELECT 0");
    m = get_metrics(f);
    assert_non_null(m);
    body = strstr(m, "\r\n\r\n") + 4;
    assert_true(sample(body, "redis_db_keys{db=\"db0\"} ") == 20);
    assert_true(sample(body, "redis_db_keys{db=\"db4\"} ") == 2);
    assert_true(sample(body, "redis_db_keys_expiring{db=\"db4\"} ") == 1);
    assert_null(strstr(body, "db=\"db1\""));
    free(m);
}

/* HEAD has the headers only; other paths are 404; other methods 405;
 * nonsense is 400; HTTP/2 is 505; the node keeps answering its clients. */
static void test_statuses(void **state)
{
    fixture *f = *state;
    const struct {
        const char *req;
        const char *status;
    } cases[] = {
        {"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\n"},
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"},
        {"GET /favicon.ico HTTP/1.0\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"},
        {"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
         "HTTP/1.1 405 Method Not Allowed\r\n"},
        {"GARBAGE\r\n", "HTTP/1.1 400 Bad Request\r\n"},
        {"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n", "HTTP/1.1 400 Bad Request\r\n"},
        {"GET /metrics HTTP/2.0\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *r = http(f->mport, cases[i].req, strlen(cases[i].req));
        assert_non_null(r);
        if (strncmp(r, cases[i].status, strlen(cases[i].status)) != 0)
            fprintf(stderr, "case %zu: %.60s\n", i, r);
        assert_true(!strncmp(r, cases[i].status, strlen(cases[i].status)));
        if (i == 0)
            assert_string_equal(strstr(r, "\r\n\r\n"), "\r\n\r\n"); /* no body */
        free(r);
    }
    cmd_ok(f->c, "PING");
}

/* A request sent one byte at a time is answered; a head past the limit is
 * refused with 431 without waiting for its end. */
static void test_slow_and_oversized(void **state)
{
    fixture *f = *state;
    int fd = h_raw_connect(f->mport);
    assert_true(fd >= 0);
    const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    for (size_t i = 0; req[i]; i++) {
        assert_int_equal(write(fd, req + i, 1), 1);
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    char *r = read_all(fd, NULL);
    close(fd);
    assert_non_null(r);
    assert_true(!strncmp(r, "HTTP/1.1 200 OK\r\n", 17));
    free(r);

    size_t n = 20000;
    char *big = malloc(n);
    int off = snprintf(big, n, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + off, 'a', n - (size_t)off);
    fd = h_raw_connect(f->mport);
    assert_true(fd >= 0);
    /* The server answers once it has 8 KiB; the rest may be refused. */
    ssize_t w = write(fd, big, n);
    assert_true(w > 0);
    r = read_all(fd, NULL);
    close(fd);
    free(big);
    assert_non_null(r);
    assert_true(!strncmp(r, "HTTP/1.1 431 ", 13));
    free(r);
}

/* Connections that send nothing take at most METRICS_MAX_CONNS (64) slots:
 * one more is closed at once, the node's clients are served meanwhile, and
 * a scrape works again once they go. */
static void test_connection_limit(void **state)
{
    fixture *f = *state;
    int fds[64];
    for (int i = 0; i < 64; i++) {
        fds[i] = h_raw_connect(f->mport);
        assert_true(fds[i] >= 0);
    }
    /* Let the node accept them all (a GET on the client port orders it). */
    cmd_ok(f->c, "PING");
    int extra = h_raw_connect(f->mport);
    assert_true(extra >= 0);
    char *r = read_all(extra, NULL); /* EOF at once, no response */
    assert_non_null(r);
    assert_string_equal(r, "");
    free(r);
    close(extra);
    cmd_ok(f->c, "SET during idle-scrapers");
    for (int i = 0; i < 64; i++)
        close(fds[i]);
    /* The node notices the closes on its next loop turns. */
    char *m = NULL;
    long long deadline = h_now_ms() + 5000;
    while (h_now_ms() < deadline) {
        m = get_metrics(f);
        if (m && !strncmp(m, "HTTP/1.1 200 OK\r\n", 17))
            break;
        free(m);
        m = NULL;
    }
    assert_non_null(m);
    free(m);
}

/* A metrics-bind that is not an address stops the node at startup with a
 * message naming the option. */
static void test_bad_bind(void **state)
{
    fixture *f = *state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "%s --port 0 --unixsocket %s/s.sock --dir %s/bad --metrics-port 1 "
             "--metrics-bind not-an-address 2>&1 | grep -q \"metrics-bind: invalid address "
             "'not-an-address'\"",
             h_kvnode_bin(), f->tmp, f->tmp);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exposition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_and_oversized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_bind, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
