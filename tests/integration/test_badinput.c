/* test_badinput.c — hostile and broken clients against a real kvnode:
 * each gets Redis's error (or is disconnected) and nobody else notices. */
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

static char *tmp;
static h_proc node;

static int setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("bad");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/node", tmp);
    const char *extra[] = {"--maxclients", "40", "--client-query-buffer-limit", "4mb",
                           "--proto-max-bulk-len", "2mb", "--client-output-buffer-limit",
                           "normal 8mb 0 0", NULL};
    return h_kvnode_start(&node, dir, extra);
}

static int teardown(void **state)
{
    (void)state;
    h_stop(&node, SIGTERM, 10000);
    h_stop_all();
    h_rmrf(tmp);
    free(tmp);
    return 0;
}

/* ---- Helpers ---- */

/* The peer may close mid-way (that is what some tests provoke). */
static void send_all(int fd, const void *p, size_t n)
{
    (void)h_raw_send(fd, p, n);
}

/* Read until the peer closes or `ms` pass; returns bytes read (NUL-terminated).
 * *closed tells whether the peer closed. */
static size_t read_some(int fd, char *buf, size_t cap, int ms, int *closed)
{
    size_t got = 0;
    long long deadline = h_now_ms() + ms;
    *closed = 0;
    while (got + 1 < cap) {
        long long left = deadline - h_now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r <= 0) {
            *closed = 1;
            break;
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    return got;
}

/* Read until a full line (\r\n) arrived, the peer closed, or ms pass. */
static void read_line(int fd, char *buf, size_t cap, int ms)
{
    size_t got = 0;
    long long deadline = h_now_ms() + ms;
    buf[0] = '\0';
    while (got + 1 < cap && !strstr(buf, "\r\n")) {
        long long left = deadline - h_now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = '\0';
    }
}

/* The server still answers everyone else. */
static void assert_alive(void)
{
    kv_client *c = h_connect(node.port);
    assert_non_null(c);
    kv_reply *r = h_cmd(c, "PING");
    assert_non_null(r);
    assert_string_equal(r->str, "PONG");
    kv_reply_free(r);
    kv_client_free(c);
}

/* Send bytes, expect exactly `want` back and the connection closed. */
static void expect_error_and_close(const char *bytes, size_t n, const char *want)
{
    int fd = h_raw_connect(node.port);
    assert_true(fd >= 0);
    send_all(fd, bytes, n);
    char buf[4096];
    int closed;
    read_some(fd, buf, sizeof buf, 5000, &closed);
    if (strcmp(buf, want) != 0)
        fail_msg("sent %.40s…: got '%s', want '%s'", bytes, buf, want);
    assert_true(closed);
    close(fd);
    assert_alive();
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

/* ---- Tests ---- */

/* Malformed requests get Redis's protocol errors and only that connection
 * is closed. */
static void test_protocol_errors(void **state)
{
    (void)state;
    expect_error_and_close("*1\r\n$-10\r\n", 10, "-ERR Protocol error: invalid bulk length\r\n");
    expect_error_and_close("*1\r\n$3000000\r\n", 14,
                           "-ERR Protocol error: invalid bulk length\r\n");
    expect_error_and_close("*99999999999999999999\r\n", 23,
                           "-ERR Protocol error: invalid multibulk length\r\n");
    expect_error_and_close("*1\r\nGET\r\n", 9, "-ERR Protocol error: expected '$', got 'G'\r\n");
    expect_error_and_close("*abc\r\n", 6, "-ERR Protocol error: invalid multibulk length\r\n");
    expect_error_and_close("GET \"unbalanced\r\n", 17,
                           "-ERR Protocol error: unbalanced quotes in request\r\n");
    /* 70 KB of inline request without a newline. */
    size_t n = 70 * 1024;
    char *big = malloc(n);
    memset(big, 'a', n);
    expect_error_and_close(big, n, "-ERR Protocol error: too big inline request\r\n");
    free(big);
}

/* Garbage (random bytes) never crashes the server; empty and negative
 * multibulk counts are skipped, as Redis does. */
static void test_garbage_and_skips(void **state)
{
    (void)state;
    srand(1);
    for (int i = 0; i < 50; i++) {
        int fd = h_raw_connect(node.port);
        char junk[512];
        for (size_t j = 0; j < sizeof junk; j++)
            junk[j] = (char)rand();
        send_all(fd, junk, sizeof junk);
        char buf[4096];
        int closed;
        read_some(fd, buf, sizeof buf, 200, &closed);
        close(fd);
    }
    assert_alive();
    int fd = h_raw_connect(node.port);
    send_all(fd, "*0\r\n*-1\r\n\r\n   \r\nPING\r\n", 23);
    char buf[256];
    int closed;
    read_some(fd, buf, sizeof buf, 1000, &closed);
    assert_string_equal(buf, "+PONG\r\n");
    close(fd);
}

/* Truncated requests then a close: nothing is executed, nothing breaks. */
static void test_truncated_frames(void **state)
{
    (void)state;
    const char *parts[] = {"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab", "*2\r\n$3\r\nSET", "*",
                           "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        int fd = h_raw_connect(node.port);
        send_all(fd, parts[i], strlen(parts[i]));
        close(fd);
    }
    kv_client *c = h_connect(node.port);
    kv_reply *r = h_cmd(c, "EXISTS k");
    assert_int_equal(r->integer, 0);
    kv_reply_free(r);
    kv_client_free(c);
}

/* A header announcing a million arguments allocates nothing up front and
 * the server keeps serving; the client can then finish or go away. */
static void test_million_multibulk_header(void **state)
{
    (void)state;
    long before = rss_kb(node.pid);
    int fds[10];
    for (int i = 0; i < 10; i++) {
        fds[i] = h_raw_connect(node.port);
        send_all(fds[i], "*1000000\r\n$1\r\nx\r\n", 17);
    }
    assert_alive();
    long after = rss_kb(node.pid);
    /* 10 pending million-argument headers cost well under 10 MB. */
    assert_true(after - before < 10 * 1024);
    for (int i = 0; i < 10; i++)
        close(fds[i]);
    assert_alive();
}

/* A pipeline being built: the requests' bytes and the replies they want. */
typedef struct pipeline {
    char *b;
    size_t len, cap;
    char want[65536];
    size_t wlen;
} pipeline;

static void pl_bytes(pipeline *pl, const char *p, size_t n)
{
    if (pl->len + n > pl->cap) {
        pl->cap = (pl->len + n) * 2;
        pl->b = realloc(pl->b, pl->cap);
    }
    memcpy(pl->b + pl->len, p, n);
    pl->len += n;
}

/* The reply the request just added wants. */
static void pl_want(pipeline *pl, const char *reply)
{
    size_t n = strlen(reply);
    assert_true(pl->wlen + n < sizeof pl->want);
    memcpy(pl->want + pl->wlen, reply, n);
    pl->wlen += n;
    pl->want[pl->wlen] = '\0';
}

/* Append a multibulk request of argc arguments, and the reply it wants. */
static void pl_req(pipeline *pl, const char *reply, int argc, const char *const *argv)
{
    char head[32];
    pl_bytes(pl, head, (size_t)snprintf(head, sizeof head, "*%d\r\n", argc));
    for (int i = 0; i < argc; i++) {
        pl_bytes(pl, head, (size_t)snprintf(head, sizeof head, "$%zu\r\n", strlen(argv[i])));
        pl_bytes(pl, argv[i], strlen(argv[i]));
        pl_bytes(pl, "\r\n", 2);
    }
    pl_want(pl, reply);
}

/* Pipelines of every shape (the server looks ahead at the keys of the
 * requests it has buffered): many SETs and GETs, an inline PING, an MSET
 * longer than the look-ahead reads, a SELECT in the middle, a request that
 * is only half there until the next read, sent whole and cut into pieces
 * of 1, 7 and 4093 bytes. Every reply comes, in order, the same each time. */
static void test_pipelines_of_every_shape(void **state)
{
    (void)state;
    pipeline *pl = calloc(1, sizeof *pl);
    pl_req(pl, "+OK\r\n", 1, (const char *[]){"FLUSHALL"}); /* each round starts empty */
    for (int i = 0; i < 40; i++) {
        char k[32], v[32], reply[64];
        snprintf(k, sizeof k, "pk:%d", i);
        snprintf(v, sizeof v, "v%d", i * 7);
        pl_req(pl, "+OK\r\n", 3, (const char *[]){"SET", k, v});
        snprintf(reply, sizeof reply, "$%zu\r\n%s\r\n", strlen(v), v);
        pl_req(pl, reply, 2, (const char *[]){"GET", k});
    }
    pl_bytes(pl, "PING\r\n", 6); /* inline */
    pl_want(pl, "+PONG\r\n");
    const char *mset[81] = {"MSET"};
    char kv[80][16];
    for (int i = 0; i < 80; i++) {
        snprintf(kv[i], sizeof kv[i], "%s%d", i % 2 ? "mv" : "mk:", i / 2);
        mset[i + 1] = kv[i];
    }
    pl_req(pl, "+OK\r\n", 81, mset);
    pl_req(pl, "$4\r\nmv39\r\n", 2, (const char *[]){"GET", "mk:39"});
    pl_req(pl, "+OK\r\n", 2, (const char *[]){"SELECT", "1"});
    pl_req(pl, "$-1\r\n", 2, (const char *[]){"GET", "pk:3"});
    pl_req(pl, "+OK\r\n", 3, (const char *[]){"SET", "pk:3", "one"});
    pl_req(pl, "+OK\r\n", 2, (const char *[]){"SELECT", "0"});
    pl_req(pl, "$3\r\nv21\r\n", 2, (const char *[]){"GET", "pk:3"});
    pl_req(pl, ":1\r\n", 2, (const char *[]){"DEL", "pk:39"});
    const char *b = pl->b, *want = pl->want;
    size_t len = pl->len, wlen = pl->wlen;
    static const size_t pieces[] = {0, 1, 7, 4093};
    for (size_t pi = 0; pi < sizeof pieces / sizeof *pieces; pi++) {
        int fd = h_raw_connect(node.port);
        assert_true(fd >= 0);
        size_t step = pieces[pi] ? pieces[pi] : len;
        for (size_t off = 0; off < len; off += step)
            send_all(fd, b + off, len - off < step ? len - off : step);
        char *got = malloc(wlen + 1);
        size_t n = 0;
        long long deadline = h_now_ms() + 10000;
        while (n < wlen && h_now_ms() < deadline) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 1000) <= 0)
                continue;
            ssize_t r = recv(fd, got + n, wlen - n, 0);
            if (r <= 0)
                break;
            n += (size_t)r;
        }
        got[n] = '\0';
        size_t at = 0;
        while (at < n && at < wlen && got[at] == want[at])
            at++;
        if (n != wlen || at != wlen)
            fail_msg("pieces of %zu: got %zu bytes, want %zu; from byte %zu got '%.40s', "
                     "want '%.40s'",
                     step, n, wlen, at, got + at, want + at);
        free(got);
        close(fd);
    }
    free(pl->b);
    free(pl);
    assert_alive();
}

/* A client that sends one byte at a time, slowly, is served when its
 * request is complete, and others are not held up meanwhile. */
static void test_slow_sender(void **state)
{
    (void)state;
    int fd = h_raw_connect(node.port);
    const char *req = "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
    for (size_t i = 0; i < strlen(req); i++) {
        send_all(fd, req + i, 1);
        long long t0 = h_now_ms();
        assert_alive();
        assert_true(h_now_ms() - t0 < 2000);
        struct timespec ts = {0, 30 * 1000000L};
        nanosleep(&ts, NULL);
    }
    char buf[64];
    int closed;
    read_some(fd, buf, sizeof buf, 2000, &closed);
    assert_string_equal(buf, "$5\r\nhello\r\n");
    close(fd);
}

/* A client that pipelines requests for a big value and never reads the
 * replies: the server stops reading from it (or closes it at the output
 * limit) instead of buffering without bound, and serves everyone else. */
static void test_client_that_never_reads(void **state)
{
    (void)state;
    kv_client *c = h_connect(node.port);
    char *val = malloc(1 << 20);
    memset(val, 'v', 1 << 20);
    const char *argv[3] = {"SET", "bigval", val};
    size_t lens[3] = {3, 6, 1 << 20};
    kv_reply *r = h_cmdv(c, 3, argv, lens);
    assert_non_null(r);
    kv_reply_free(r);
    kv_client_free(c);
    free(val);
    long before = rss_kb(node.pid);
    int fd = h_raw_connect(node.port);
    int one = 1 << 16;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof one);
    const char *get = "*2\r\n$3\r\nGET\r\n$6\r\nbigval\r\n";
    /* 2000 x 1 MB of replies requested (2 GB) without reading any. */
    struct pollfd p = {fd, POLLOUT, 0};
    for (int i = 0; i < 2000; i++) {
        if (poll(&p, 1, 100) <= 0)
            break; /* the server stopped reading: our send buffer is full */
        send(fd, get, strlen(get), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    assert_alive();
    long after = rss_kb(node.pid);
    printf("server RSS before %ld kB, after %ld kB\n", before, after);
    assert_true(after - before < 200 * 1024);
    close(fd);
    assert_alive();
}

static void set_obuf_limit(kv_client *c, const char *value)
{
    const char *argv[4] = {"CONFIG", "SET", "client-output-buffer-limit", value};
    const size_t lens[4] = {6, 3, 26, strlen(value)};
    kv_reply *r = h_cmdv(c, 4, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
}

/* A single reply over the hard output limit is not sent at all: the
 * client is closed with nothing written, as Redis checks the limit while
 * the reply is built (obuf-limits' "No response for single command if
 * client output buffer hard limit is enforced"); the node goes on. */
static void test_reply_over_hard_limit(void **state)
{
    (void)state;
    kv_client *c = h_connect(node.port);
    assert_non_null(c);
    set_obuf_limit(c, "normal 100000 0 0");
    char *item = malloc(1001);
    memset(item, 'x', 1000);
    item[1000] = '\0';
    const char *argv[3] = {"RPUSH", "biglist", item};
    const size_t lens[3] = {5, 7, 1000};
    for (int i = 0; i < 150; i++) {
        kv_reply *r = h_cmdv(c, 3, argv, lens);
        assert_non_null(r);
        kv_reply_free(r);
    }
    free(item);
    int fd = h_raw_connect(node.port);
    const char *lr = "*4\r\n$6\r\nLRANGE\r\n$7\r\nbiglist\r\n$1\r\n0\r\n$2\r\n-1\r\n";
    send_all(fd, lr, strlen(lr));
    char buf[4096];
    int closed = 0;
    size_t got = read_some(fd, buf, sizeof buf, 10000, &closed);
    close(fd);
    assert_true(closed);
    assert_int_equal(got, 0);
    /* Under the limit the same reply is sent. */
    set_obuf_limit(c, "normal 8mb 0 0");
    kv_reply *r = h_cmd(c, "LRANGE biglist 0 -1");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 150);
    kv_reply_free(r);
    r = h_cmd(c, "DEL biglist");
    kv_reply_free(r);
    kv_client_free(c);
    assert_alive();
}

/* Past maxclients a new client gets Redis's error and is closed. */
static void test_maxclients(void **state)
{
    (void)state;
    int fds[60];
    int n = 0;
    for (; n < 45; n++)
        fds[n] = h_raw_connect(node.port);
    /* Make sure they are all accepted before the extra one. */
    for (int i = 0; i < n; i++)
        send_all(fds[i], "PING\r\n", 6);
    int refused = 0;
    for (int i = 0; i < n; i++) {
        char buf[256];
        read_line(fds[i], buf, sizeof buf, 2000);
        if (strstr(buf, "-ERR max number of clients reached"))
            refused++;
    }
    assert_true(refused >= 5);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    assert_alive();
}

/* A query buffer past client-query-buffer-limit closes that client: a
 * request of four 1.9 MB arguments (each within proto-max-bulk-len) that
 * never completes. */
static void test_query_buffer_limit(void **state)
{
    (void)state;
    int fd = h_raw_connect(node.port);
    size_t n = 1900000;
    char *arg = malloc(n);
    memset(arg, 'x', n);
    char hdr[64];
    send_all(fd, "*5\r\n$3\r\nDEL\r\n", 13);
    for (int i = 0; i < 3; i++) {
        int hl = snprintf(hdr, sizeof hdr, "$%zu\r\n", n);
        send_all(fd, hdr, (size_t)hl);
        send_all(fd, arg, n);
        send_all(fd, "\r\n", 2);
    }
    int hl = snprintf(hdr, sizeof hdr, "$%zu\r\n", n);
    send_all(fd, hdr, (size_t)hl);
    send_all(fd, arg, n - 10);
    free(arg);
    char buf[256];
    int closed;
    read_some(fd, buf, sizeof buf, 5000, &closed);
    assert_true(closed);
    assert_string_equal(buf, "");
    close(fd);
    assert_alive();
}

/* With requirepass, everything but AUTH/HELLO/QUIT answers NOAUTH, a wrong
 * password WRONGPASS, and an unauthenticated client may not send big
 * requests (Redis's unauthenticated protocol limits). */
static void test_requirepass(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/auth", tmp);
    h_proc p;
    const char *extra[] = {"--requirepass", "s3cret", NULL};
    assert_int_equal(h_kvnode_start(&p, dir, extra), 0);
    int fd = h_raw_connect(p.port);
    char buf[512];
    send_all(fd, "GET x\r\n", 7);
    read_line(fd, buf, sizeof buf, 2000);
    assert_string_equal(buf, "-NOAUTH Authentication required.\r\n");
    send_all(fd, "AUTH nope\r\n", 11);
    read_line(fd, buf, sizeof buf, 2000);
    assert_string_equal(buf,
                        "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    send_all(fd, "AUTH s3cret\r\n", 13);
    read_line(fd, buf, sizeof buf, 2000);
    assert_string_equal(buf, "+OK\r\n");
    send_all(fd, "PING\r\n", 6);
    read_line(fd, buf, sizeof buf, 2000);
    assert_string_equal(buf, "+PONG\r\n");
    close(fd);
    fd = h_raw_connect(p.port);
    send_all(fd, "*20\r\n", 5);
    int closed;
    read_some(fd, buf, sizeof buf, 3000, &closed);
    assert_string_equal(buf, "-ERR Protocol error: unauthenticated multibulk length\r\n");
    assert_true(closed);
    close(fd);
    h_stop(&p, SIGTERM, 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_garbage_and_skips),
        cmocka_unit_test(test_truncated_frames),
        cmocka_unit_test(test_pipelines_of_every_shape),
        cmocka_unit_test(test_million_multibulk_header),
        cmocka_unit_test(test_slow_sender),
        cmocka_unit_test(test_client_that_never_reads),
        cmocka_unit_test(test_reply_over_hard_limit),
        cmocka_unit_test(test_maxclients),
        cmocka_unit_test(test_query_buffer_limit),
        cmocka_unit_test(test_requirepass),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
