/* test_sync.c — the blocking client against a real redis-server: commands,
 * binary safety, pipelining, Unix sockets, IPv6, timeouts, handshakes,
 * pushes, and how a closed connection is reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_server.h"
#include "internal.h"
#include "redis_server.h"

/* ---- Fixture ---- */

static redis_server server;

static int setup_server(void **state)
{
    (void)state;
    const char *extra[] = {"--bind", "127.0.0.1 -::1", NULL};
    return rs_start(&server, extra);
}

static int teardown_server(void **state)
{
    (void)state;
    rs_stop(&server);
    return 0;
}

/* ---- Helpers ---- */

static kv_client *connect_opts(const kv_options *o)
{
    kv_client *c;
    assert_int_equal(kv_client_new(&c, o), 0);
    int rc = kv_client_connect_tcp(c, "127.0.0.1", server.port);
    if (rc < 0)
        fail_msg("connect: %s", kv_client_errmsg(c));
    return c;
}

static kv_client *connect_default(void)
{
    kv_options o;
    kv_options_init(&o);
    o.io_timeout_ms = 10000;
    return connect_opts(&o);
}

/* Run a command given as C strings; fails the test on transport errors. */
static kv_reply *cmd(kv_client *c, int argc, const char *const argv[])
{
    kv_reply *r = NULL;
    int rc = kv_client_command(c, argc, argv, NULL, &r);
    if (rc < 0)
        fail_msg("%s: %s", argv[0], kv_client_errmsg(c));
    return r;
}

#define CMD(c, ...) cmd((c), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), \
                        (const char *[]){__VA_ARGS__})

static void expect_status(kv_reply *r, const char *s)
{
    assert_int_equal(r->type, KV_REPLY_STATUS);
    assert_string_equal(r->str, s);
    kv_reply_free(r);
}

static void expect_int(kv_reply *r, long long v)
{
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    assert_int_equal(r->integer, v);
    kv_reply_free(r);
}

/* A listening socket that never accepts; backlog 0 so that, once one
 * connection fills the queue, further connects hang. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 0), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static int pushes_seen;

static void count_push(void *data, kv_reply *push)
{
    assert_ptr_equal(data, &pushes_seen);
    assert_int_equal(push->type, KV_REPLY_PUSH);
    pushes_seen++;
    kv_reply_free(push);
}

/* ---- Tests ---- */

/* SET, GET, INCR, DEL and a missing key give the expected replies. */
static void test_basic_commands(void **state)
{
    (void)state;
    kv_client *c = connect_default();
    expect_status(CMD(c, "SET", "sync:k", "v1"), "OK");
    kv_reply *r = CMD(c, "GET", "sync:k");
    assert_int_equal(r->type, KV_REPLY_STRING);
    assert_string_equal(r->str, "v1");
    kv_reply_free(r);
    expect_int(CMD(c, "INCR", "sync:n"), 1);
    expect_int(CMD(c, "DEL", "sync:k", "sync:n"), 2);
    r = CMD(c, "GET", "sync:k");
    assert_int_equal(r->type, KV_REPLY_NIL);
    kv_reply_free(r);
    kv_client_free(c);
}

/* A server error is a reply, and the connection stays usable. */
static void test_error_reply_keeps_connection(void **state)
{
    (void)state;
    kv_client *c = connect_default();
    kv_reply *r = CMD(c, "NOSUCHCOMMAND", "x");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_true(strncmp(r->str, "ERR unknown command", 19) == 0);
    kv_reply_free(r);
    expect_status(CMD(c, "PING"), "PONG");
    kv_client_free(c);
}

/* Keys and values with NULs, CRLF and every byte value round-trip. */
static void test_binary_safe_values(void **state)
{
    (void)state;
    kv_client *c = connect_default();
    char value[256 + 8];
    for (int i = 0; i < 256; i++)
        value[i] = (char)i;
    memcpy(value + 256, "\r\n$3\r\n\0\0", 8);
    const char *set[] = {"SET", "bin\0key\r\n", value};
    size_t setl[] = {3, 9, sizeof value};
    kv_reply *r = NULL;
    assert_int_equal(kv_client_command(c, 3, set, setl, &r), 0);
    expect_status(r, "OK");
    const char *get[] = {"GET", "bin\0key\r\n"};
    size_t getl[] = {3, 9};
    assert_int_equal(kv_client_command(c, 2, get, getl, &r), 0);
    assert_int_equal(r->type, KV_REPLY_STRING);
    assert_int_equal(r->len, sizeof value);
    assert_memory_equal(r->str, value, sizeof value);
    kv_reply_free(r);
    kv_client_free(c);
}

/* A 4 MiB value goes out and comes back intact. */
static void test_large_value(void **state)
{
    (void)state;
    kv_client *c = connect_default();
    size_t n = 4 << 20;
    char *v = malloc(n);
    for (size_t i = 0; i < n; i++)
        v[i] = (char)(i * 31 + 7);
    const char *set[] = {"SET", "sync:big", v};
    size_t setl[] = {3, 8, n};
    kv_reply *r;
    assert_int_equal(kv_client_command(c, 3, set, setl, &r), 0);
    expect_status(r, "OK");
    r = CMD(c, "GET", "sync:big");
    assert_int_equal(r->len, n);
    assert_memory_equal(r->str, v, n);
    kv_reply_free(r);
    free(v);
    kv_client_free(c);
}

/* 10,000 pipelined commands get 10,000 replies, in order. */
static void test_pipeline_10k(void **state)
{
    (void)state;
    kv_client *c = connect_default();
    kv_reply_free(CMD(c, "DEL", "sync:pipe"));
    const char *incr[] = {"INCR", "sync:pipe"};
    for (int i = 0; i < 10000; i++)
        assert_int_equal(kv_client_append(c, 2, incr, NULL), 0);
    assert_int_equal(kv_client_pending(c), 10000);
    /* A plain command may not jump the queue. */
    kv_reply *r = NULL;
    assert_int_equal(kv_client_command(c, 2, incr, NULL, &r), KV_EBUSY);
    for (int i = 1; i <= 10000; i++) {
        assert_int_equal(kv_client_read(c, &r), 0);
        if (r->type != KV_REPLY_INTEGER || r->integer != i)
            fail_msg("reply %d: type %d value %lld", i, r->type, r->integer);
        kv_reply_free(r);
    }
    assert_int_equal(kv_client_pending(c), 0);
    expect_int(CMD(c, "INCR", "sync:pipe"), 10001);
    kv_client_free(c);
}

/* The client connects over the server's Unix socket. */
static void test_unix_socket(void **state)
{
    (void)state;
    kv_client *c;
    assert_int_equal(kv_client_new(&c, NULL), 0);
    assert_int_equal(kv_client_connect_unix(c, server.sock), 0);
    expect_status(CMD(c, "PING"), "PONG");
    kv_client_close(c);
    assert_int_equal(kv_client_is_connected(c), 0);
    assert_int_equal(kv_client_reconnect(c), 0);
    expect_status(CMD(c, "PING"), "PONG");
    kv_client_free(c);
    assert_int_equal(kv_client_new(&c, NULL), 0);
    assert_int_equal(kv_client_connect_unix(c, "/nonexistent/kv.sock"), KV_ECONNECT);
    kv_client_free(c);
}

/* IPv6 literals and names connect (the server also listens on ::1). */
static void test_ipv6_and_names(void **state)
{
    (void)state;
    kv_client *c;
    assert_int_equal(kv_client_new(&c, NULL), 0);
    int rc = kv_client_connect_tcp(c, "::1", server.port);
    if (rc < 0)
        fail_msg("::1: %s", kv_client_errmsg(c));
    expect_status(CMD(c, "PING"), "PONG");
    assert_int_equal(kv_client_connect_tcp(c, "localhost", server.port), 0);
    expect_status(CMD(c, "PING"), "PONG");
    assert_int_equal(kv_client_connect_tcp(c, "no-such-host.invalid", server.port), KV_EADDR);
    assert_int_equal(kv_client_connect_tcp(c, "127.0.0.1", 0), KV_EINVAL);
    kv_client_free(c);
}

/* A port nobody listens on is refused at once, with the reason. */
static void test_connect_refused(void **state)
{
    (void)state;
    kv_client *c;
    assert_int_equal(kv_client_new(&c, NULL), 0);
    long long t0 = test_now_ms();
    assert_int_equal(kv_client_connect_tcp(c, "127.0.0.1", rs_free_port()), KV_ECONNECT);
    assert_true(test_now_ms() - t0 < 2000);
    assert_non_null(strstr(kv_client_errmsg(c), "refused"));
    kv_reply *r = NULL;
    const char *ping[] = {"PING"};
    assert_int_equal(kv_client_command(c, 1, ping, NULL, &r), KV_ECLOSED);
    assert_null(r);
    kv_client_free(c);
}

/* A listener whose accept queue is full never completes the handshake:
 * the connect timeout fires. */
static void test_connect_timeout(void **state)
{
    (void)state;
    int port;
    int lfd = silent_listener(&port);
    kv_options o;
    kv_options_init(&o);
    o.connect_timeout_ms = 300;
    kv_client *filler, *c;
    assert_int_equal(kv_client_new(&filler, &o), 0);
    assert_int_equal(kv_client_new(&c, &o), 0);
    assert_int_equal(kv_client_connect_tcp(filler, "127.0.0.1", port), 0);
    long long t0 = test_now_ms();
    assert_int_equal(kv_client_connect_tcp(c, "127.0.0.1", port), KV_ETIMEDOUT);
    long long took = test_now_ms() - t0;
    assert_true(took >= 250 && took < 3000);
    kv_client_free(filler);
    kv_client_free(c);
    close(lfd);
}

/* A server that accepts but never replies: the I/O timeout fires, the
 * connection is closed, and the next call says so without sending. */
static void test_io_timeout(void **state)
{
    (void)state;
    int port;
    int lfd = silent_listener(&port);
    kv_options o;
    kv_options_init(&o);
    o.io_timeout_ms = 300;
    kv_client *c;
    assert_int_equal(kv_client_new(&c, &o), 0);
    assert_int_equal(kv_client_connect_tcp(c, "127.0.0.1", port), 0);
    const char *ping[] = {"PING"};
    kv_reply *r = NULL;
    long long t0 = test_now_ms();
    assert_int_equal(kv_client_command(c, 1, ping, NULL, &r), KV_ETIMEDOUT);
    long long took = test_now_ms() - t0;
    assert_true(took >= 250 && took < 3000);
    assert_null(r);
    assert_int_equal(kv_client_is_connected(c), 0);
    assert_int_equal(kv_client_command(c, 1, ping, NULL, &r), KV_ECLOSED);
    kv_client_free(c);
    close(lfd);
}

/* When the server has closed an idle connection, the next command fails
 * with KV_ECLOSED before anything is written; reconnect recovers. */
static void test_idle_close_detected_before_send(void **state)
{
    (void)state;
    kv_client *c = connect_default();
    kv_reply *r = CMD(c, "CLIENT", "ID");
    char id[32];
    snprintf(id, sizeof id, "%lld", r->integer);
    kv_reply_free(r);
    assert_true(rs_ok(&server, "CLIENT", "KILL", "ID", id, NULL));
    /* Wait (bounded) until the server's FIN has reached our socket. */
    struct pollfd pfd = {.fd = kv_client_fd(c), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    const char *incr[] = {"INCR", "sync:idle"};
    int sent = -1;
    assert_int_equal(kvc_client_command(c, 2, incr, NULL, INT64_MAX, &r, &sent), KV_ECLOSED);
    assert_null(r);
    assert_int_equal(sent, 0);
    assert_non_null(strstr(kv_client_errmsg(c), "idle"));
    assert_int_equal(kv_client_reconnect(c), 0);
    r = CMD(c, "GET", "sync:idle");
    assert_int_equal(r->type, KV_REPLY_NIL); /* the INCR never ran */
    kv_reply_free(r);
    kv_client_free(c);
}

static const char *close_on_command(void *ud, const kv_reply *cmd)
{
    (void)ud;
    (void)cmd;
    return FS_CLOSE;
}

/* The server closing the connection after receiving the command is an
 * I/O error (the command may have run), not KV_ECLOSED. */
static void test_close_while_awaiting_reply(void **state)
{
    (void)state;
    fake_server *fs = fs_start(close_on_command, NULL);
    assert_non_null(fs);
    kv_client *c;
    assert_int_equal(kv_client_new(&c, NULL), 0);
    assert_int_equal(kv_client_connect_tcp(c, "127.0.0.1", fs_port(fs)), 0);
    const char *incr[] = {"INCR", "n"};
    kv_reply *r = NULL;
    int sent = 0;
    assert_int_equal(kvc_client_command(c, 2, incr, NULL, INT64_MAX, &r, &sent), KV_EIO);
    assert_int_equal(sent, 1);
    assert_non_null(strstr(kv_client_errmsg(c), "server closed the connection"));
    assert_int_equal(fs_count(fs, "INCR"), 1);
    kv_client_free(c);
    fs_stop(fs);
}

/* AUTH and HELLO 3 run on connect; a bad password is KV_EAUTH; RESP3
 * replies come back typed. */
static void test_auth_and_resp3(void **state)
{
    (void)state;
    assert_true(rs_ok(&server, "CONFIG", "SET", "requirepass", "s3cret", NULL));
    kv_options o;
    kv_options_init(&o);
    o.password = "s3cret";
    kv_client *c = connect_opts(&o);
    expect_status(CMD(c, "PING"), "PONG");
    kv_client_free(c);

    o.resp = 3;
    c = connect_opts(&o);
    expect_int(CMD(c, "HSET", "sync:h", "f", "v"), 1);
    kv_reply *r = CMD(c, "HGETALL", "sync:h");
    assert_int_equal(r->type, KV_REPLY_MAP);
    assert_int_equal(r->elements, 2);
    kv_reply_free(r);

    kv_client *bad;
    o.password = "wrong";
    assert_int_equal(kv_client_new(&bad, &o), 0);
    assert_int_equal(kv_client_connect_tcp(bad, "127.0.0.1", server.port), KV_EAUTH);
    assert_non_null(strstr(kv_client_errmsg(bad), "WRONGPASS"));
    kv_client_free(bad);

    expect_status(CMD(c, "CONFIG", "SET", "requirepass", ""), "OK");
    kv_client_free(c);
}

/* kv_options.db: every connection selects it after AUTH/HELLO (so does a
 * reconnect); a database the server does not have is KV_EAUTH. */
static void test_db_option(void **state)
{
    (void)state;
    kv_options o;
    kv_options_init(&o);
    o.db = 5;
    o.resp = 3;
    kv_client *c = connect_opts(&o);
    expect_status(CMD(c, "SET", "sync:db", "five"), "OK");
    kv_reply *r = CMD(c, "CLIENT", "INFO");
    assert_non_null(strstr(r->str, " db=5 "));
    kv_reply_free(r);
    kv_client *d = connect_default();
    r = CMD(d, "GET", "sync:db");
    assert_int_equal(r->type, KV_REPLY_NIL);
    kv_reply_free(r);
    expect_int(CMD(d, "MOVE", "sync:db", "5"), 0);
    kv_client_free(d);
    expect_int(CMD(c, "MOVE", "sync:db", "0"), 1);
    kv_client_free(c);

    kv_client *bad;
    o.db = 16;
    assert_int_equal(kv_client_new(&bad, &o), 0);
    assert_int_equal(kv_client_connect_tcp(bad, "127.0.0.1", server.port), KV_EAUTH);
    assert_non_null(strstr(kv_client_errmsg(bad), "DB index is out of range"));
    kv_client_free(bad);
    d = connect_default();
    expect_int(CMD(d, "DEL", "sync:db"), 1);
    kv_client_free(d);
}

/* RESP3 pushes (tracking invalidations) go to the handler and never take
 * the place of a command's reply. */
static void test_push_handler(void **state)
{
    (void)state;
    kv_options o;
    kv_options_init(&o);
    o.resp = 3;
    o.io_timeout_ms = 10000;
    kv_client *c = connect_opts(&o);
    pushes_seen = 0;
    kv_client_set_push_handler(c, count_push, &pushes_seen);
    expect_status(CMD(c, "CLIENT", "TRACKING", "on"), "OK");
    kv_reply_free(CMD(c, "GET", "sync:tracked"));
    assert_true(rs_ok(&server, "SET", "sync:tracked", "x", NULL));
    /* The invalidation may arrive before or with the next reply. */
    for (int i = 0; i < 100 && pushes_seen == 0; i++)
        expect_status(CMD(c, "PING"), "PONG");
    assert_int_equal(pushes_seen, 1);
    kv_client_free(c);
}

/* A reply beyond the reader's limits closes the connection with
 * KV_ETOOBIG instead of buffering it. */
static void test_reply_over_limit(void **state)
{
    (void)state;
    kv_options o;
    kv_options_init(&o);
    o.limits.max_bulk = 16;
    kv_client *c = connect_opts(&o);
    expect_status(CMD(c, "SET", "sync:long", "0123456789abcdefXYZ"), "OK");
    const char *get[] = {"GET", "sync:long"};
    kv_reply *r = NULL;
    assert_int_equal(kv_client_command(c, 2, get, NULL, &r), KV_ETOOBIG);
    assert_int_equal(kv_client_is_connected(c), 0);
    kv_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_commands),
        cmocka_unit_test(test_error_reply_keeps_connection),
        cmocka_unit_test(test_binary_safe_values),
        cmocka_unit_test(test_large_value),
        cmocka_unit_test(test_pipeline_10k),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_ipv6_and_names),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_io_timeout),
        cmocka_unit_test(test_idle_close_detected_before_send),
        cmocka_unit_test(test_close_while_awaiting_reply),
        cmocka_unit_test(test_auth_and_resp3),
        cmocka_unit_test(test_db_option),
        cmocka_unit_test(test_push_handler),
        cmocka_unit_test(test_reply_over_limit),
    };
    return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
