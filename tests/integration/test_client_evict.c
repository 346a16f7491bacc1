/* test_client_evict.c — maxmemory-clients (Redis 7.0's client eviction):
 * a client whose query buffer takes the clients past the limit is closed,
 * one with CLIENT NO-EVICT on is not; a subscriber that does not read is
 * closed once its output passes the limit, and the publisher is not; a
 * percentage is of maxmemory; evicted_clients counts, CLIENT LIST shows
 * the 'e' flag; clients are evicted before keys (Redis's maxmemory unit).
 * Every wait is bounded and asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static h_proc node;
static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = h_tmpdir("cevict");
    return h_kvnode_start(&node, dir, NULL);
}

static int teardown(void **state)
{
    (void)state;
    h_stop_all();
    h_rmrf(dir);
    free(dir);
    return 0;
}

static long long info_field(const char *name)
{
    kv_client *c = h_connect(node.port);
    assert_non_null(c);
    kv_reply *r = h_cmd(c, "INFO stats");
    assert_non_null(r);
    char key[64];
    snprintf(key, sizeof key, "\r\n%s:", name);
    const char *p = strstr(r->str, key);
    assert_non_null(p);
    long long v = atoll(p + strlen(key));
    kv_reply_free(r);
    kv_client_free(c);
    return v;
}

static void ok(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    if (r->type != KV_REPLY_STATUS || strcmp(r->str, "OK") != 0)
        fail_msg("%s: %s", line, r->type == KV_REPLY_ERROR ? r->str : "not OK");
    kv_reply_free(r);
}

/* SET key <n bytes>: 1 if it answered OK, 0 if the connection failed. */
static int big_set(kv_client *c, const char *key, size_t n)
{
    char *v = malloc(n);
    assert_non_null(v);
    memset(v, 'v', n);
    const char *argv[] = {"SET", key, v};
    size_t lens[] = {3, strlen(key), n};
    kv_reply *r = h_cmdv(c, 3, argv, lens);
    free(v);
    int good = r && r->type == KV_REPLY_STATUS;
    kv_reply_free(r);
    return good;
}

static void test_query_buffer_evicts_unless_no_evict(void **state)
{
    (void)state;
    kv_client *admin = h_connect(node.port);
    assert_non_null(admin);
    ok(admin, "CLIENT NO-EVICT on");
    ok(admin, "CONFIG SET maxmemory-clients 3000000");
    kv_client *a = h_connect(node.port);
    assert_non_null(a);
    assert_true(big_set(a, "k1", 1000000)); /* under the limit */
    assert_int_equal(info_field("evicted_clients"), 0);
    assert_false(big_set(a, "k2", 4000000)); /* its query buffer alone passes it */
    assert_int_equal(info_field("evicted_clients"), 1);
    kv_client_free(a);
    kv_reply *r = h_cmd(admin, "EXISTS k2");
    assert_int_equal(r->integer, 0);
    kv_reply_free(r);

    kv_client *b = h_connect(node.port);
    assert_non_null(b);
    ok(b, "CLIENT NO-EVICT on");
    r = h_cmd(b, "CLIENT INFO");
    assert_non_null(strstr(r->str, " flags=e "));
    kv_reply_free(r);
    assert_true(big_set(b, "k3", 4000000));
    assert_int_equal(info_field("evicted_clients"), 1);
    /* Its memory is not in the sum either: a small client next to it (the
     * 4 MB of room b keeps for another big argument, as Redis keeps it)
     * is not evicted. */
    kv_client *d = h_connect(node.port);
    assert_non_null(d);
    assert_true(big_set(d, "k4", 100000));
    assert_int_equal(info_field("evicted_clients"), 1);
    ok(d, "CLIENT NO-EVICT on");
    ok(d, "CLIENT NO-EVICT off");
    r = h_cmd(d, "CLIENT INFO");
    assert_non_null(strstr(r->str, " flags=N "));
    kv_reply_free(r);
    kv_client_free(d);
    kv_client_free(b);
    ok(admin, "CONFIG SET maxmemory-clients 0");
    kv_client_free(admin);
}

/* Has the server closed the subscriber's connection? Reads (and drops)
 * what the kernel holds for it, up to the end of the stream. */
static int closed_by_server(void *arg)
{
    kv_client *c = arg;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(kv_client_fd(c), buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0)
            return 1;
        if (n < 0)
            return errno != EAGAIN && errno != EWOULDBLOCK;
    }
}

typedef struct evicted_at_least {
    long long n;
} evicted_at_least;

static int evicted(void *arg)
{
    return info_field("evicted_clients") >= ((evicted_at_least *)arg)->n;
}

static void test_slow_subscriber_evicted_publisher_kept(void **state)
{
    (void)state;
    kv_client *admin = h_connect(node.port);
    assert_non_null(admin);
    kv_reply *r;
    ok(admin, "CLIENT NO-EVICT on");
    /* A percentage of maxmemory: 1% of 400 MB = 4 MB; no output-buffer
     * limit for subscribers, so only maxmemory-clients can act. */
    ok(admin, "CONFIG SET maxmemory 400mb");
    ok(admin, "CONFIG SET maxmemory-clients 1%");
    const char *nolimit[] = {"CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 0 0"};
    r = h_cmdv(admin, 4, nolimit, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    kv_client *sub = h_connect(node.port);
    assert_non_null(sub);
    r = h_cmd(sub, "SUBSCRIBE news");
    assert_non_null(r);
    kv_reply_free(r);
    long long before = info_field("evicted_clients");
    kv_client *pub = h_connect(node.port);
    assert_non_null(pub);
    char *payload = malloc(100001);
    memset(payload, 'p', 100000);
    payload[100000] = '\0';
    const char *argv[] = {"PUBLISH", "news", payload};
    evicted_at_least want = {before + 1};
    int n = 0;
    /* The subscriber reads nothing: its output grows past 4 MB after a
     * few hundred messages (the kernel's buffers take the first ones). */
    for (; n < 2000 && !evicted(&want); n++) {
        r = h_cmdv(pub, 3, argv, NULL);
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_INTEGER);
        kv_reply_free(r);
    }
    free(payload);
    assert_true(h_wait_until(evicted, &want, 5000));
    printf("subscriber evicted after %d messages of 100 KB\n", n);
    assert_true(h_wait_until(closed_by_server, sub, 5000));
    r = h_cmd(pub, "PING"); /* the publisher is still there */
    assert_non_null(r);
    assert_string_equal(r->str, "PONG");
    kv_reply_free(r);
    r = h_cmd(admin, "CONFIG GET maxmemory-clients");
    assert_string_equal(r->element[1]->str, "1%");
    kv_reply_free(r);
    kv_client_free(pub);
    kv_client_free(sub);
    kv_client_free(admin);
}

static long long admin_int(kv_client *c, const char *line)
{
    kv_reply *r = h_cmd(c, line);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    long long v = r->integer;
    kv_reply_free(r);
    return v;
}

/* Redis's maxmemory unit, "client eviction: true": with maxmemory 11 MB,
 * 5 MB of keys and maxmemory-clients 3 MB, clients whose output grows
 * (MGET of a 100 KB value, never read; Pub/Sub messages to subscribers
 * that do not read) are evicted and no key is: a client's output counts
 * from the command that made it, an evicted client's buffers stop
 * counting at once, and a written buffer is given back. */
static void test_clients_evicted_before_keys(void **state)
{
    (void)state;
    kv_client *admin = h_connect(node.port);
    assert_non_null(admin);
    ok(admin, "CLIENT NO-EVICT on");
    ok(admin, "CONFIG SET maxmemory 11mb");
    ok(admin, "CONFIG SET maxmemory-policy allkeys-lru");
    for (int round = 0; round < 2; round++) {
        ok(admin, "CONFIG SET maxmemory-clients 0");
        ok(admin, "FLUSHALL");
        ok(admin, "CONFIG RESETSTAT");
        ok(admin, "CONFIG SET maxmemory-clients 3mb");
        char line[64];
        for (int j = 0; j < 50; j++) {
            snprintf(line, sizeof line, "SETRANGE %d 100000 x", j);
            assert_int_equal(admin_int(admin, line), 100001);
        }
        /* A string SETRANGE creates takes its size, not twice it. */
        assert_true(admin_int(admin, "MEMORY USAGE 1") < 120000);
        int fds[20];
        for (int i = 0; i < 20; i++) {
            fds[i] = h_raw_connect(node.port);
            assert_true(fds[i] >= 0);
            if (round == 1) {
                const char *sub = "SUBSCRIBE bigch\r\n";
                assert_int_equal(h_raw_send(fds[i], sub, strlen(sub)), 0);
            }
        }
        char *payload = malloc(100001);
        memset(payload, 'p', 100000);
        payload[100000] = '\0';
        const char *pubv[] = {"PUBLISH", "bigch", payload};
        long long t0 = h_now_ms();
        while (info_field("evicted_clients") < 3 && h_now_ms() - t0 < 20000) {
            if (round == 0) {
                for (int i = 0; i < 20; i++)
                    (void)send(fds[i], "MGET 1\r\n", 8, MSG_NOSIGNAL);
            } else {
                kv_reply *r = h_cmdv(admin, 3, pubv, NULL);
                assert_non_null(r);
                kv_reply_free(r);
            }
        }
        free(payload);
        long long clients = info_field("evicted_clients"), keys = info_field("evicted_keys");
        print_message("%s: %lld clients evicted, %lld keys\n", round ? "pubsub" : "MGET", clients,
                      keys);
        assert_true(clients >= 3);
        assert_int_equal(keys, 0);
        assert_int_equal(admin_int(admin, "DBSIZE"), 50);
        for (int i = 0; i < 20; i++)
            close(fds[i]);
    }
    ok(admin, "CONFIG SET maxmemory-clients 0");
    ok(admin, "CONFIG SET maxmemory 0");
    kv_client_free(admin);
}

/* What Redis's getClientMemoryUsage counts besides buffers (its
 * client-eviction unit): a MULTI queue, watched keys, subscriptions of each
 * kind and tracking prefixes make a client evictable; CLIENT LIST shows
 * the queue as multi-mem. */
static void test_structures_count(void **state)
{
    (void)state;
    kv_client *admin = h_connect(node.port);
    assert_non_null(admin);
    ok(admin, "CLIENT NO-EVICT on");
    ok(admin, "CONFIG SET maxmemory-clients 200000");
    static const char *const loops[] = {"MULTI", "WATCH", "PSUBSCRIBE", "SUBSCRIBE",
                                        "SSUBSCRIBE", "PREFIX"};
    long long evicted = info_field("evicted_clients");
    for (size_t k = 0; k < sizeof loops / sizeof *loops; k++) {
        kv_client *c = h_connect(node.port);
        assert_non_null(c);
        int multi = !strcmp(loops[k], "MULTI");
        if (multi)
            ok(c, "MULTI");
        char v[8192], line[64];
        memset(v, 'v', sizeof v - 1);
        v[sizeof v - 1] = '\0';
        int gone = 0, j = 0;
        for (; j < 200000 && !gone; j++) {
            kv_reply *r;
            if (multi) {
                const char *argv[] = {"SET", "k", v};
                r = h_cmdv(c, 3, argv, NULL);
                if (r && j == 0) {
                    kv_reply *l = h_cmd(admin, "CLIENT LIST");
                    assert_non_null(strstr(l->str, " multi=1 "));
                    const char *mm = strstr(l->str, " multi=1 ");
                    mm = strstr(mm, " multi-mem=");
                    assert_true(atoll(mm + 11) > 8191);
                    kv_reply_free(l);
                }
            } else if (!strcmp(loops[k], "PREFIX")) {
                snprintf(line, sizeof line, "CLIENT TRACKING on PREFIX %012d BCAST", j);
                r = h_cmd(c, line);
            } else {
                snprintf(line, sizeof line, "%s %d", loops[k], j);
                r = h_cmd(c, line);
            }
            gone = r == NULL;
            kv_reply_free(r);
        }
        print_message("%s: evicted after %d\n", loops[k], j);
        assert_true(gone);
        assert_int_equal(info_field("evicted_clients"), ++evicted);
        kv_client_free(c);
    }
    ok(admin, "CONFIG SET maxmemory-clients 0");
    kv_client_free(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_query_buffer_evicts_unless_no_evict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_slow_subscriber_evicted_publisher_kept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clients_evicted_before_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_structures_count, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
