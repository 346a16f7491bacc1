/* test_alloc.c — allocation failure at every point: each fallible call
 * either succeeds or reports KV_ENOMEM, never crashes, and never leaks
 * (ASan's leak check runs at exit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "kvclient_uv.h"

/* ---- Fixture ---- */

/* A reply that exercises every allocation site of the reader: aggregates
 * that grow past their first allocation, attributes, strings of each kind. */
static const char big_reply[] =
    "*3\r\n"
    "|1\r\n+ttl\r\n:10\r\n"
    "%2\r\n$1\r\na\r\n,1.5\r\n(123456789012345678901234567890\r\n=8\r\ntxt:abcd\r\n"
    "*20\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n:8\r\n:9\r\n:10\r\n"
    ":11\r\n:12\r\n:13\r\n:14\r\n:15\r\n:16\r\n:17\r\n:18\r\n+s\r\n-ERR e\r\n"
    "$5000\r\n";

static int reset_budget(void **state)
{
    (void)state;
    kvc_alloc_budget = -1;
    return 0;
}

/* ---- Helpers ---- */

/* Parse big_reply (plus a 5000-byte payload fed in pieces) with the given
 * allocation budget. Returns 0 or the error code. */
static int parse_with_budget(long budget)
{
    kvc_alloc_budget = budget;
    kv_reader *r = kv_reader_new(NULL);
    if (r == NULL) {
        kvc_alloc_budget = -1;
        return KV_ENOMEM;
    }
    char payload[1000];
    memset(payload, 'p', sizeof payload);
    int rc = kv_reader_feed(r, big_reply, sizeof big_reply - 1);
    kv_reply *rep = NULL;
    if (rc == 0)
        rc = kv_reader_get(r, &rep);
    for (int i = 0; i < 5 && rc == 0; i++) {
        rc = kv_reader_feed(r, payload, sizeof payload);
        if (rc == 0)
            rc = kv_reader_get(r, &rep);
    }
    if (rc == 0)
        rc = kv_reader_feed(r, "\r\n", 2);
    if (rc == 0)
        rc = kv_reader_get(r, &rep);
    kvc_alloc_budget = -1;
    if (rc == 0) {
        assert_non_null(rep);
        assert_int_equal(rep->elements, 3);
        assert_non_null(rep->element[0]->attr);
        assert_int_equal(rep->element[1]->elements, 20);
        assert_int_equal(rep->element[2]->len, 5000);
    } else {
        assert_int_equal(rc, KV_ENOMEM);
        assert_null(rep);
        assert_non_null(strstr(kv_reader_errmsg(r), "out of memory"));
    }
    kv_reply_free(rep);
    kv_reader_free(r);
    return rc;
}

/* ---- Tests ---- */

/* The reader fails cleanly at every allocation until the budget covers
 * them all. */
static void test_reader_every_allocation(void **state)
{
    (void)state;
    int failures = 0;
    long budget;
    for (budget = 0; budget < 10000; budget++) {
        if (parse_with_budget(budget) == 0)
            break;
        failures++;
    }
    assert_true(budget < 10000);
    assert_true(failures >= 10);
    assert_int_equal(parse_with_budget(-1), 0);
}

/* Creating clients, clusters and async handles, and queueing commands,
 * fail cleanly at every allocation. */
static void test_handles_every_allocation(void **state)
{
    (void)state;
    kv_options o;
    kv_options_init(&o);
    o.user = "u";
    o.password = "p";
    int ok_client = 0, ok_cluster = 0, ok_append = 0;
    for (long budget = 0; budget < 50; budget++) {
        kv_client *c = NULL;
        kvc_alloc_budget = budget;
        int rc = kv_client_new(&c, &o);
        kvc_alloc_budget = -1;
        assert_true(rc == 0 || rc == KV_ENOMEM);
        ok_client += rc == 0;
        kv_client_free(c);

        kv_cluster *cl = NULL;
        kvc_alloc_budget = budget;
        rc = kv_cluster_new(&cl, "127.0.0.1:1,127.0.0.1:2", &o);
        kvc_alloc_budget = -1;
        assert_true(rc == 0 || rc == KV_ENOMEM);
        ok_cluster += rc == 0;
        kv_cluster_free(cl);

        kvc_buf b = {0};
        const char *argv[] = {"SET", "k", "v"};
        kvc_alloc_budget = budget;
        rc = kvc_append_command(&b, 3, argv, NULL);
        kvc_alloc_budget = -1;
        assert_true(rc == 0 || rc == KV_ENOMEM);
        ok_append += rc == 0;
        kvc_buf_free(&b);
    }
    assert_true(ok_client > 0 && ok_client < 50);
    assert_true(ok_cluster > 0 && ok_cluster < 50);
    assert_true(ok_append > 0 && ok_append < 50);
}

/* Connecting and queueing on a blocking client fail cleanly at every
 * allocation, and the handle stays usable afterwards. */
static void test_client_connect_every_allocation(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 64), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    int port = ntohs(sa.sin_port);
    int connected = 0;
    for (long budget = 0; budget < 10; budget++) {
        kv_client *c;
        assert_int_equal(kv_client_new(&c, NULL), 0);
        kvc_alloc_budget = budget;
        int rc = kv_client_connect_tcp(c, "127.0.0.1", port);
        const char *argv[] = {"PING"};
        if (rc == 0)
            rc = kv_client_append(c, 1, argv, NULL);
        kvc_alloc_budget = -1;
        assert_true(rc == 0 || rc == KV_ENOMEM);
        connected += rc == 0;
        if (rc == KV_ENOMEM)
            assert_non_null(strstr(kv_client_errmsg(c), "memory"));
        kv_client_free(c);
    }
    assert_true(connected > 0 && connected < 10);
    close(lfd);
}

static int async_callbacks;

static void count_connect(kv_async *ac, int status, void *data)
{
    (void)ac;
    (void)data;
    assert_true(status < 0);
    async_callbacks++;
}

static void count_reply(kv_async *ac, int status, kv_reply *reply, void *privdata)
{
    (void)ac;
    (void)privdata;
    assert_int_equal(status, KV_ECANCELED);
    assert_null(reply);
    async_callbacks++;
}

/* An async handle whose creation or command queueing runs out of memory
 * calls nothing for the failed call, and is still torn down cleanly. */
static void test_async_every_allocation(void **state)
{
    (void)state;
    int created = 0;
    for (long budget = 0; budget < 20; budget++) {
        uv_loop_t loop;
        uv_loop_init(&loop);
        kv_async *ac = NULL;
        async_callbacks = 0;
        kvc_alloc_budget = budget;
        int rc = kv_async_connect_tcp(&ac, &loop, "127.0.0.1", 1, NULL, count_connect, NULL, NULL);
        int queued = 0;
        if (rc == 0) {
            const char *ping[] = {"PING"};
            queued = kv_async_command(ac, 1, ping, NULL, count_reply, NULL) == 0;
        }
        kvc_alloc_budget = -1;
        if (rc == 0) {
            created++;
            kv_async_close(ac);
            uv_run(&loop, UV_RUN_DEFAULT);
            assert_int_equal(async_callbacks, 1 + queued);
        } else {
            assert_int_equal(rc, KV_ENOMEM);
            assert_null(ac);
            assert_int_equal(async_callbacks, 0);
        }
        assert_int_equal(uv_loop_close(&loop), 0);
    }
    assert_true(created > 0 && created < 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_reader_every_allocation, reset_budget),
        cmocka_unit_test_teardown(test_handles_every_allocation, reset_budget),
        cmocka_unit_test_teardown(test_client_connect_every_allocation, reset_budget),
        cmocka_unit_test_teardown(test_async_every_allocation, reset_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
