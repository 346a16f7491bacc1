/* test_async.c — the libuv client against a real redis-server and scripted
 * servers: ordering, connect and close semantics, cancellation, timeouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_server.h"
#include "kvclient_uv.h"
#include "redis_server.h"

/* ---- Fixture ---- */

static redis_server server;

/* What the callbacks saw, per test. */
typedef struct record {
    int connects;
    int connect_status;
    int disconnects;
    int disconnect_status;
    int replies;          /* reply callbacks */
    int ok;               /* ... with status 0 */
    int status[2048];     /* status of each reply callback, in call order */
    long long value[2048];
    int close_after;      /* kv_async_close from the n-th reply callback */
    int command_from_cb;  /* result of issuing a command from a callback */
    char errmsg[256];     /* kv_async_errmsg when the connection ended */
    kv_async *ac;
} record;

static record rec;

static int setup_server(void **state)
{
    (void)state;
    return rs_start(&server, NULL);
}

static int teardown_server(void **state)
{
    (void)state;
    rs_stop(&server);
    return 0;
}

static int reset_record(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof rec);
    return 0;
}

/* ---- Helpers ---- */

static void on_connect(kv_async *ac, int status, void *data)
{
    assert_ptr_equal(data, &rec);
    assert_ptr_equal(kv_async_data(ac), &rec);
    rec.connects++;
    rec.connect_status = status;
    if (status)
        snprintf(rec.errmsg, sizeof rec.errmsg, "%s", kv_async_errmsg(ac));
}

static void on_disconnect(kv_async *ac, int status, void *data)
{
    assert_ptr_equal(data, &rec);
    rec.disconnects++;
    rec.disconnect_status = status;
    snprintf(rec.errmsg, sizeof rec.errmsg, "%s", kv_async_errmsg(ac));
}

static void on_reply(kv_async *ac, int status, kv_reply *reply, void *privdata)
{
    int i = rec.replies++;
    assert_true(i < 2048);
    assert_int_equal((intptr_t)privdata, i);
    rec.status[i] = status;
    if (status == 0) {
        rec.ok++;
        assert_non_null(reply);
        rec.value[i] = reply->type == KV_REPLY_INTEGER ? reply->integer : -1;
    } else {
        assert_null(reply);
    }
    kv_reply_free(reply);
    if (rec.close_after && rec.replies == rec.close_after) {
        kv_async_close(ac);
        kv_async_close(ac); /* twice is harmless */
        const char *ping[] = {"PING"};
        rec.command_from_cb = kv_async_command(ac, 1, ping, NULL, on_reply, (void *)9999);
    }
}

static void on_watchdog(uv_timer_t *t)
{
    *(int *)t->data = 1;
    uv_stop(t->loop);
}

/* Run the loop until it has nothing left to do, failing the test if that
 * takes longer than timeout_ms. */
static void run_loop(uv_loop_t *loop, int timeout_ms)
{
    uv_timer_t dog;
    int fired = 0;
    uv_timer_init(loop, &dog);
    dog.data = &fired;
    uv_timer_start(&dog, on_watchdog, (uint64_t)timeout_ms, 0);
    uv_unref((uv_handle_t *)&dog);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&dog, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    if (fired)
        fail_msg("loop still busy after %d ms", timeout_ms);
}

static kv_async *connect_server(uv_loop_t *loop, const kv_options *o)
{
    kv_async *ac = NULL;
    assert_int_equal(kv_async_connect_tcp(&ac, loop, "127.0.0.1", server.port, o, on_connect,
                                          on_disconnect, &rec),
                     0);
    assert_non_null(ac);
    return ac;
}

static void issue(kv_async *ac, int argc, const char *const argv[], int index)
{
    assert_int_equal(kv_async_command(ac, argc, argv, NULL, on_reply, (void *)(intptr_t)index), 0);
}

/* A socket that listens but never accepts. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static const char *reject_auth(void *ud, const kv_reply *cmd)
{
    (void)ud;
    if (fs_is(cmd, "AUTH"))
        return "-WRONGPASS invalid username-password pair\r\n";
    return "+OK\r\n";
}

/* ---- Tests ---- */

/* 1000 commands issued at once (before the connection is even up) get
 * their callbacks in order; a graceful disconnect waits for all of them. */
static void test_1000_callbacks_in_order(void **state)
{
    (void)state;
    assert_true(rs_ok(&server, "DEL", "async:n", NULL));
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_async *ac = connect_server(&loop, NULL);
    const char *incr[] = {"INCR", "async:n"};
    for (int i = 0; i < 1000; i++)
        issue(ac, 2, incr, i);
    assert_int_equal(kv_async_pending(ac), 1000);
    kv_async_disconnect(ac);
    assert_int_equal(kv_async_command(ac, 2, incr, NULL, on_reply, NULL), KV_ECLOSED);
    run_loop(&loop, 20000);
    assert_int_equal(rec.connects, 1);
    assert_int_equal(rec.connect_status, 0);
    assert_int_equal(rec.replies, 1000);
    assert_int_equal(rec.ok, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rec.value[i], i + 1);
    assert_int_equal(rec.disconnects, 1);
    assert_int_equal(rec.disconnect_status, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* The Unix socket path works the same way. */
static void test_unix_socket(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_async *ac = NULL;
    assert_int_equal(kv_async_connect_unix(&ac, &loop, server.sock, NULL, on_connect,
                                           on_disconnect, &rec),
                     0);
    const char *ping[] = {"PING"};
    issue(ac, 1, ping, 0);
    kv_async_disconnect(ac);
    run_loop(&loop, 10000);
    assert_int_equal(rec.connect_status, 0);
    assert_int_equal(rec.ok, 1);
    assert_int_equal(rec.disconnects, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Connecting to a port nobody listens on reports KV_ECONNECT to
 * on_connect, and queued commands are canceled (never sent). */
static void test_connect_refused_cancels_commands(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_async *ac = NULL;
    assert_int_equal(kv_async_connect_tcp(&ac, &loop, "127.0.0.1", rs_free_port(), NULL,
                                          on_connect, on_disconnect, &rec),
                     0);
    const char *ping[] = {"PING"};
    issue(ac, 1, ping, 0);
    issue(ac, 1, ping, 1);
    run_loop(&loop, 10000);
    assert_int_equal(rec.connects, 1);
    assert_int_equal(rec.connect_status, KV_ECONNECT);
    assert_int_equal(rec.replies, 2);
    assert_int_equal(rec.status[0], KV_ECANCELED);
    assert_int_equal(rec.status[1], KV_ECANCELED);
    assert_int_equal(rec.disconnects, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Calls that return an error never call their callback. */
static void test_errors_never_call_back(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_async *ac = NULL;
    assert_int_equal(kv_async_connect_tcp(&ac, &loop, "127.0.0.1", 0, NULL, on_connect,
                                          on_disconnect, &rec),
                     KV_EINVAL);
    assert_null(ac);
    kv_options bad;
    kv_options_init(&bad);
    bad.resp = 7;
    assert_int_equal(kv_async_connect_tcp(&ac, &loop, "127.0.0.1", server.port, &bad,
                                          on_connect, on_disconnect, &rec),
                     KV_EINVAL);
    ac = connect_server(&loop, NULL);
    assert_int_equal(kv_async_command(ac, 0, NULL, NULL, on_reply, NULL), KV_EINVAL);
    kv_async_close(ac);
    const char *ping[] = {"PING"};
    assert_int_equal(kv_async_command(ac, 1, ping, NULL, on_reply, NULL), KV_ECLOSED);
    run_loop(&loop, 10000);
    assert_int_equal(rec.replies, 0);
    assert_int_equal(rec.connects, 1);
    assert_int_equal(rec.connect_status, KV_ECANCELED);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Closing from inside a reply callback is deferred: the rest of the
 * queue is reported unknown (written) or canceled (not written), a command issued from the callback
 * is refused, and the handle is freed only after the last callback (ASan
 * checks there is no use after free). */
static void test_close_from_callback(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_async *ac = connect_server(&loop, NULL);
    const char *ping[] = {"PING"};
    for (int i = 0; i < 50; i++)
        issue(ac, 1, ping, i);
    rec.close_after = 5;
    run_loop(&loop, 10000);
    assert_int_equal(rec.command_from_cb, KV_ECLOSED);
    assert_int_equal(rec.replies, 50);
    assert_int_equal(rec.ok, 5);
    for (int i = 5; i < 50; i++)
        assert_true(rec.status[i] == KV_EUNKNOWN || rec.status[i] == KV_ECANCELED);
    assert_int_equal(rec.disconnects, 1);
    assert_int_equal(rec.disconnect_status, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Commands issued after the connection is up but not yet written when
 * kv_async_close runs are canceled, never sent. */
static void test_close_cancels_unwritten(void **state)
{
    (void)state;
    assert_true(rs_ok(&server, "DEL", "async:never", NULL));
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_async *ac = connect_server(&loop, NULL);
    const char *incr[] = {"INCR", "async:never"};
    issue(ac, 2, incr, 0);
    kv_async_close(ac); /* still resolving: nothing was written */
    run_loop(&loop, 10000);
    assert_int_equal(rec.status[0], KV_ECANCELED);
    assert_int_equal(rec.connect_status, KV_ECANCELED);
    kv_reply *r = rs_cmd(&server, "GET", "async:never", NULL);
    assert_int_equal(r->type, KV_REPLY_NIL);
    kv_reply_free(r);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A server that accepts but never replies: the I/O timeout ends the
 * connection and the command reports KV_ETIMEDOUT (outcome unknown). */
static void test_io_timeout(void **state)
{
    (void)state;
    int port;
    int lfd = silent_listener(&port);
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_options o;
    kv_options_init(&o);
    o.io_timeout_ms = 300;
    kv_async *ac = NULL;
    assert_int_equal(kv_async_connect_tcp(&ac, &loop, "127.0.0.1", port, &o, on_connect,
                                          on_disconnect, &rec),
                     0);
    const char *ping[] = {"PING"};
    issue(ac, 1, ping, 0);
    long long t0 = test_now_ms();
    run_loop(&loop, 10000);
    long long took = test_now_ms() - t0;
    assert_true(took >= 250 && took < 5000);
    assert_int_equal(rec.connect_status, 0);
    assert_int_equal(rec.status[0], KV_ETIMEDOUT);
    assert_int_equal(rec.disconnect_status, KV_ETIMEDOUT);
    assert_non_null(strstr(rec.errmsg, "no reply"));
    assert_int_equal(uv_loop_close(&loop), 0);
    close(lfd);
}

/* The server closing the connection (after QUIT) is reported to the
 * commands written behind it and to on_disconnect as KV_EIO. */
static void test_server_closes(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_async *ac = connect_server(&loop, NULL);
    const char *quit[] = {"QUIT"};
    const char *ping[] = {"PING"};
    issue(ac, 1, quit, 0);
    issue(ac, 1, ping, 1);
    run_loop(&loop, 10000);
    assert_int_equal(rec.connect_status, 0);
    assert_int_equal(rec.disconnects, 1);
    assert_int_equal(rec.disconnect_status, KV_EIO);
    assert_non_null(strstr(rec.errmsg, "server closed the connection"));
    assert_int_equal(rec.replies, 2);
    assert_int_equal(rec.status[0], 0);
    assert_int_equal(rec.status[1], KV_EIO);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A rejected AUTH fails the connection with KV_EAUTH, and commands queued
 * behind the handshake are never sent. */
static void test_handshake_rejected(void **state)
{
    (void)state;
    fake_server *fs = fs_start(reject_auth, NULL);
    assert_non_null(fs);
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_options o;
    kv_options_init(&o);
    o.password = "nope";
    kv_async *ac = NULL;
    assert_int_equal(kv_async_connect_tcp(&ac, &loop, "127.0.0.1", fs_port(fs), &o, on_connect,
                                          on_disconnect, &rec),
                     0);
    const char *set[] = {"SET", "k", "v"};
    issue(ac, 3, set, 0);
    run_loop(&loop, 10000);
    assert_int_equal(rec.connect_status, KV_EAUTH);
    assert_int_equal(rec.status[0], KV_ECANCELED);
    assert_int_equal(fs_count(fs, "AUTH"), 1);
    assert_int_equal(fs_count(fs, "SET"), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    fs_stop(fs);
}

/* RESP3 with a password: HELLO 3 AUTH runs first and replies are typed. */
static void test_resp3_handshake(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_options o;
    kv_options_init(&o);
    o.resp = 3;
    o.user = "default";
    o.password = "pw";
    assert_true(rs_ok(&server, "CONFIG", "SET", "requirepass", "pw", NULL));
    kv_async *ac = connect_server(&loop, &o);
    const char *incr[] = {"INCR", "async:r3"};
    const char *unset[] = {"CONFIG", "SET", "requirepass", ""};
    issue(ac, 2, incr, 0);
    issue(ac, 4, unset, 1);
    kv_async_disconnect(ac);
    run_loop(&loop, 10000);
    assert_int_equal(rec.connect_status, 0);
    assert_int_equal(rec.ok, 2);
    assert_true(rec.value[0] >= 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* kv_options.db: with a password, AUTH then SELECT 3 run before the
 * caller's commands, which land in database 3; a database the server does
 * not have fails the connect with KV_EAUTH and cancels what was queued. */
static void test_db_option(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_options o;
    kv_options_init(&o);
    o.password = "pw";
    o.db = 3;
    assert_true(rs_ok(&server, "CONFIG", "SET", "requirepass", "pw", NULL));
    kv_async *ac = connect_server(&loop, &o);
    const char *del[] = {"DEL", "async:db"};
    const char *incr[] = {"INCR", "async:db"};
    const char *move[] = {"MOVE", "async:db", "0"};
    const char *unset[] = {"CONFIG", "SET", "requirepass", ""};
    issue(ac, 2, del, 0);
    issue(ac, 2, incr, 1);
    issue(ac, 3, move, 2); /* 1: it was in database 3, not 0 */
    issue(ac, 4, unset, 3);
    kv_async_disconnect(ac);
    run_loop(&loop, 10000);
    assert_int_equal(rec.connect_status, 0);
    assert_int_equal(rec.ok, 4);
    assert_int_equal(rec.value[1], 1);
    assert_int_equal(rec.value[2], 1);
    assert_true(rs_ok(&server, "DEL", "async:db", NULL));

    memset(&rec, 0, sizeof rec);
    kv_options_init(&o);
    o.db = 99;
    ac = connect_server(&loop, &o);
    issue(ac, 2, incr, 0);
    run_loop(&loop, 10000);
    assert_int_equal(rec.connect_status, KV_EAUTH);
    assert_int_equal(rec.status[0], KV_ECANCELED);
    assert_non_null(strstr(rec.errmsg, "DB index is out of range"));
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* RESP3 Pub/Sub on one connection: (UN)SUBSCRIBE complete with their last
 * confirmation push, messages reach the push handler in order with
 * ordinary replies on the same connection, and an UNSUBSCRIBE of every
 * channel is refused up front. */
typedef struct pubsub_seen {
    int confirm_count[4];  /* subscription count in each confirmation */
    char confirm_kind[4][16];
    int confirms;
    char messages[8][32];  /* "channel:payload" of each message push */
    int nmessages;
} pubsub_seen;

static pubsub_seen seen;

static void on_push_msg(void *data, kv_reply *push)
{
    assert_ptr_equal(data, &seen);
    if (push->elements == 3 && push->element[0]->type == KV_REPLY_STRING &&
        strcmp(push->element[0]->str, "message") == 0 && seen.nmessages < 8)
        snprintf(seen.messages[seen.nmessages++], sizeof seen.messages[0], "%s:%s",
                 push->element[1]->str, push->element[2]->str);
    kv_reply_free(push);
}

static void on_confirm(kv_async *ac, int status, kv_reply *reply, void *privdata)
{
    (void)ac;
    (void)privdata;
    assert_int_equal(status, 0);
    assert_int_equal(reply->type, KV_REPLY_PUSH);
    assert_int_equal(reply->elements, 3);
    assert_true(seen.confirms < 4);
    snprintf(seen.confirm_kind[seen.confirms], sizeof seen.confirm_kind[0], "%s",
             reply->element[0]->str);
    seen.confirm_count[seen.confirms++] = (int)reply->element[2]->integer;
    kv_reply_free(reply);
}

static void test_resp3_pubsub(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    memset(&seen, 0, sizeof seen);
    kv_options o;
    kv_options_init(&o);
    o.resp = 3;
    kv_async *ac = connect_server(&loop, &o);
    kv_async_set_push_handler(ac, on_push_msg, &seen);
    const char *sub[] = {"SUBSCRIBE", "ch:a", "ch:b"};
    const char *psub[] = {"psubscribe", "pat:*"};
    const char *pub_a[] = {"PUBLISH", "ch:a", "one"};
    const char *pub_p[] = {"PUBLISH", "pat:x", "two"};
    const char *pub_b[] = {"PUBLISH", "ch:b", "three"};
    const char *unsub[] = {"UNSUBSCRIBE", "ch:a", "ch:b"};
    const char *unsub_all[] = {"UNSUBSCRIBE"};
    assert_int_equal(kv_async_command(ac, 3, sub, NULL, on_confirm, NULL), 0);
    assert_int_equal(kv_async_command(ac, 2, psub, NULL, on_confirm, NULL), 0);
    issue(ac, 3, pub_a, 0);
    issue(ac, 3, pub_p, 1);
    issue(ac, 3, pub_b, 2);
    assert_int_equal(kv_async_command(ac, 3, unsub, NULL, on_confirm, NULL), 0);
    assert_int_equal(kv_async_command(ac, 1, unsub_all, NULL, on_confirm, NULL), KV_EINVAL);
    const char *ping[] = {"PING"};
    issue(ac, 1, ping, 3);
    kv_async_disconnect(ac);
    run_loop(&loop, 10000);
    assert_int_equal(rec.connect_status, 0);
    assert_int_equal(rec.ok, 4);
    assert_int_equal(rec.value[0], 1); /* one subscriber each */
    assert_int_equal(rec.value[1], 1);
    assert_int_equal(rec.value[2], 1);
    assert_int_equal(seen.confirms, 3);
    assert_string_equal(seen.confirm_kind[0], "subscribe");
    assert_int_equal(seen.confirm_count[0], 2);
    assert_string_equal(seen.confirm_kind[1], "psubscribe");
    assert_int_equal(seen.confirm_count[1], 3);
    assert_string_equal(seen.confirm_kind[2], "unsubscribe");
    assert_int_equal(seen.confirm_count[2], 1); /* the pattern is left */
    assert_int_equal(seen.nmessages, 2);        /* pmessage pushes are not "message" */
    assert_string_equal(seen.messages[0], "ch:a:one");
    assert_string_equal(seen.messages[1], "ch:b:three");
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_1000_callbacks_in_order, reset_record),
        cmocka_unit_test_setup(test_unix_socket, reset_record),
        cmocka_unit_test_setup(test_connect_refused_cancels_commands, reset_record),
        cmocka_unit_test_setup(test_errors_never_call_back, reset_record),
        cmocka_unit_test_setup(test_close_from_callback, reset_record),
        cmocka_unit_test_setup(test_close_cancels_unwritten, reset_record),
        cmocka_unit_test_setup(test_io_timeout, reset_record),
        cmocka_unit_test_setup(test_server_closes, reset_record),
        cmocka_unit_test_setup(test_handshake_rejected, reset_record),
        cmocka_unit_test_setup(test_resp3_handshake, reset_record),
        cmocka_unit_test_setup(test_db_option, reset_record),
        cmocka_unit_test_setup(test_resp3_pubsub, reset_record),
    };
    return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
