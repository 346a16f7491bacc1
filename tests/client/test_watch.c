/* test_watch.c — kv_watch against scripted nodes: a silent node is left
 * after io_timeout_ms, a node that names no primary is left at once, the
 * first node that names one is reported once however often it is asked, a
 * change is reported, +switch-master messages about another service or
 * malformed are ignored, and stopping ends every callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fake_server.h"
#include "kvclient_uv.h"
#include "redis_server.h"

enum { SILENT, NAMES_NONE, NAMES };

typedef struct node {
    fake_server *fs;
    int mode;
    atomic_int names_port; /* NAMES: the port named */
    char buf[512];
} node;

#define CONFIRM ">3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n"
#define MSG(payload) ">3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n" payload

static const char *handler(void *ud, const kv_reply *cmd)
{
    node *n = ud;
    if (fs_is(cmd, "HELLO"))
        return "%1\r\n$5\r\nproto\r\n:3\r\n";
    if (fs_is(cmd, "SUBSCRIBE")) {
        if (cmd->elements != 2 || strcmp(cmd->element[1]->str, "+switch-master"))
            return "-ERR unexpected\r\n";
        /* The confirmation, then a message about another service and a
         * malformed one: neither may be reported. */
        return CONFIRM MSG("$32\r\nother 127.0.0.1 1 127.0.0.1 9999\r\n")
            MSG("$21\r\nkvnode 127.0.0.1 9998\r\n");
    }
    if (fs_is(cmd, "SENTINEL")) {
        if (cmd->elements != 3 || strcasecmp(cmd->element[1]->str, "get-master-addr-by-name") ||
            strcmp(cmd->element[2]->str, "kvnode"))
            return "-ERR unexpected\r\n";
        if (n->mode == SILENT)
            return FS_HANG;
        if (n->mode == NAMES_NONE)
            return "*-1\r\n";
        char port[16];
        snprintf(port, sizeof port, "%d", atomic_load(&n->names_port));
        snprintf(n->buf, sizeof n->buf, "*2\r\n$9\r\n127.0.0.1\r\n$%zu\r\n%s\r\n", strlen(port),
                 port);
        return n->buf;
    }
    return "-ERR unknown command\r\n";
}

typedef struct seen {
    int port[8];
    int n;
    kv_watch *stop_on_second; /* kv_watch_stop from inside the callback */
} seen;

static void on_primary(kv_watch *w, const char *host, int port, void *data)
{
    seen *s = data;
    assert_string_equal(host, "127.0.0.1");
    assert_true(s->n < 8);
    s->port[s->n++] = port;
    if (s->stop_on_second && s->n == 2)
        kv_watch_stop(w);
}

typedef struct until {
    int (*pred)(void *);
    void *arg;
    long long deadline;
    int held;
} until;

static void on_check(uv_timer_t *t)
{
    until *u = t->data;
    u->held = u->pred(u->arg);
    if (u->held || test_now_ms() >= u->deadline)
        uv_stop(t->loop);
}

/* Run the loop until pred holds (checked every 5 ms) or timeout_ms pass;
 * 1 if it held. */
static int loop_until(uv_loop_t *loop, int (*pred)(void *), void *arg, int timeout_ms)
{
    until u = {pred, arg, test_now_ms() + timeout_ms, 0};
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &u;
    uv_timer_start(&t, on_check, 5, 5);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return u.held;
}

static int one_report(void *arg) { return ((seen *)arg)->n >= 1; }
static int two_reports(void *arg) { return ((seen *)arg)->n >= 2; }

typedef struct polls {
    node *n;
    int at_least;
} polls;

static int polled(void *arg)
{
    polls *p = arg;
    return fs_count(p->n->fs, "SENTINEL") >= p->at_least;
}

static void test_rotates_and_reports_changes(void **state)
{
    (void)state;
    node a = {.mode = SILENT}, b = {.mode = NAMES_NONE}, c = {.mode = NAMES};
    atomic_store(&c.names_port, 7001);
    a.fs = fs_start(handler, &a);
    b.fs = fs_start(handler, &b);
    c.fs = fs_start(handler, &c);
    assert_non_null(a.fs);
    assert_non_null(b.fs);
    assert_non_null(c.fs);
    char seeds[128];
    snprintf(seeds, sizeof seeds, " 127.0.0.1:%d , 127.0.0.1:%d,127.0.0.1:%d", fs_port(a.fs),
             fs_port(b.fs), fs_port(c.fs));
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_options o;
    kv_options_init(&o);
    o.io_timeout_ms = 300;
    seen s = {{0}, 0, NULL};
    kv_watch *w = NULL;
    long long t0 = test_now_ms();
    assert_int_equal(kv_watch_start(&w, &loop, seeds, &o, on_primary, &s), 0);
    assert_true(loop_until(&loop, one_report, &s, 10000));
    /* a was asked and left after its silence; b was asked and left. */
    assert_true(test_now_ms() - t0 >= 300);
    assert_int_equal(fs_count(a.fs, "SENTINEL"), 1);
    assert_int_equal(fs_count(b.fs, "SENTINEL"), 1);
    assert_int_equal(fs_count(c.fs, "SUBSCRIBE"), 1);
    assert_int_equal(s.port[0], 7001);
    /* Asked again each KV_WATCH_POLL_MS: the same answer is not reported
     * again, and the ignored messages never were. */
    polls p = {&c, 3};
    assert_true(loop_until(&loop, polled, &p, 10000));
    assert_int_equal(s.n, 1);
    char host[64];
    int port = 0;
    assert_true(kv_watch_primary(w, host, sizeof host, &port));
    assert_int_equal(port, 7001);
    /* A change is reported at the next poll; the callback stops the watch. */
    s.stop_on_second = w;
    atomic_store(&c.names_port, 7002);
    assert_true(loop_until(&loop, two_reports, &s, 10000));
    assert_int_equal(s.port[1], 7002);
    uv_run(&loop, UV_RUN_DEFAULT); /* returns once the watch has closed */
    assert_int_equal(s.n, 2);
    assert_int_equal(uv_loop_close(&loop), 0);
    fs_stop(a.fs);
    fs_stop(b.fs);
    fs_stop(c.fs);
}

/* Every seed unreachable: no report, no crash, and a stop while a connect
 * is under way ends cleanly; bad arguments are refused. */
static void test_unreachable_and_bad_arguments(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    kv_options o;
    kv_options_init(&o);
    seen s = {{0}, 0, NULL};
    kv_watch *w = NULL;
    assert_int_equal(kv_watch_start(&w, &loop, "", &o, on_primary, &s), KV_EINVAL);
    assert_int_equal(kv_watch_start(&w, &loop, "127.0.0.1:1", &o, NULL, &s), KV_EINVAL);
    o.master_name = NULL;
    assert_int_equal(kv_watch_start(&w, &loop, "127.0.0.1:1", &o, on_primary, &s), KV_EINVAL);
    assert_null(w);
    kv_options_init(&o);
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d,127.0.0.1:%d", rs_free_port(), rs_free_port());
    assert_int_equal(kv_watch_start(&w, &loop, seeds, &o, on_primary, &s), 0);
    assert_false(loop_until(&loop, one_report, &s, 500));
    assert_false(kv_watch_primary(w, seeds, sizeof seeds, NULL));
    kv_watch_stop(w);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.n, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotates_and_reports_changes),
        cmocka_unit_test(test_unreachable_and_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
