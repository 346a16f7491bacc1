/* test_querybuf.c — a client's query buffer sized as Redis 7.0 sizes it
 * (what CLIENT LIST shows as qbuf + qbuf-free, and what maxmemory-clients
 * counts): room for a big argument as soon as its "$<len>" header is read,
 * the room of a big request kept until the cron trims it to the recent
 * peak, and an idle client's buffer given back after 2 s. Redis's
 * tests/unit/querybuf.tcl checks the same three things (its "not idle"
 * case with a 400 KB request: kvnode frees a buffer past 256 KB at once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static h_proc node;
static char *tmp;
static kv_client *admin;

static int setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("qbuf");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/node", tmp);
    const char *extra[] = {"--save", "", "--hz", "100", NULL};
    if (h_kvnode_start(&node, dir, extra) != 0)
        return -1;
    admin = h_connect(node.port);
    return admin ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    kv_client_free(admin);
    h_stop(&node, SIGTERM, 10000);
    h_rmrf(tmp);
    free(tmp);
    return 0;
}

static void send_str(int fd, const char *s, size_t n)
{
    assert_int_equal(h_raw_send(fd, s, n), 0);
}

/* Reads one reply line (enough for +OK and :n replies). */
static void read_line(int fd)
{
    char c = 0;
    while (c != '\n')
        assert_int_equal(recv(fd, &c, 1, 0), 1);
}

/* qbuf + qbuf-free of the client named `name` in CLIENT LIST, -1 if absent. */
static long long query_buffer(const char *name)
{
    kv_reply *r = h_cmd(admin, "CLIENT LIST");
    assert_non_null(r);
    char want[64];
    snprintf(want, sizeof want, " name=%s ", name);
    long long total = -1;
    const char *line = r->str ? strstr(r->str, want) : NULL;
    if (line) {
        const char *q = strstr(line, " qbuf=");
        const char *f = strstr(line, " qbuf-free=");
        assert_non_null(q);
        assert_non_null(f);
        total = atoll(q + 6) + atoll(f + 11);
    }
    kv_reply_free(r);
    return total;
}

typedef struct qb_pred {
    const char *name;
    long long below;  /* wait until the buffer is < below */
} qb_pred;

static int buffer_below(void *arg)
{
    qb_pred *p = arg;
    long long v = query_buffer(p->name);
    return v >= 0 && v < p->below;
}

/* The client named arg has room for a 1 MB argument. */
static int room_made(void *arg)
{
    return query_buffer(arg) >= 1000000;
}

static int named(int fd, const char *name)
{
    char cmd[128];
    int n = snprintf(cmd, sizeof cmd, "CLIENT SETNAME %s\r\n", name);
    send_str(fd, cmd, (size_t)n);
    read_line(fd);
    return fd;
}

/* An idle client's buffer is freed after 2 s (not before). */
static void test_idle_buffer_freed(void **state)
{
    (void)state;
    int fd = named(h_raw_connect(node.port), "idle");
    long long first = query_buffer("idle");
    assert_true(first > 0);
    qb_pred p = {"idle", 1};
    long long t0 = h_now_ms();
    assert_true(h_wait_until(buffer_below, &p, 10000));
    assert_true(h_now_ms() - t0 >= 1500);
    close(fd);
}

/* CLIENT LIST's qbuf of `name` is 4 and its argv-mem 4. */
static int qbuf_is_4(void *arg)
{
    kv_reply *r = h_cmd(admin, "CLIENT LIST");
    assert_non_null(r);
    char want[64];
    snprintf(want, sizeof want, " name=%s ", (const char *)arg);
    const char *line = r->str ? strstr(r->str, want) : NULL;
    int ok = line && atoll(strstr(line, " qbuf=") + 6) == 4 &&
             atoll(strstr(line, " argv-mem=") + 10) == 4;
    kv_reply_free(r);
    return ok;
}

/* "$1000000" alone makes room for the argument at once; an idle client in
 * the middle of it keeps only its pending bytes; the rest of the argument
 * is still accepted. */
static void test_big_argument_room(void **state)
{
    (void)state;
    int fd = named(h_raw_connect(node.port), "fat");
    static const char head[] = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1000000\r\n";
    send_str(fd, head, sizeof head - 1);
    /* Bounded wait for the header to be read: the room is there at once. */
    assert_true(h_wait_until(room_made, "fat", 2000));
    assert_true(query_buffer("fat") >= 1000000);
    /* As Redis shows it: the parsed part of the request is out of qbuf,
     * and its complete arguments ("SET", "a") are argv-mem. */
    send_str(fd, "xxxx", 4);
    assert_true(h_wait_until(qbuf_is_4, "fat", 2000));
    qb_pred big = {"fat", 1000000};
    assert_true(h_wait_until(buffer_below, &big, 10000));
    char *data = malloc(1000002);
    memset(data, 'x', 1000000);
    memcpy(data + 1000000, "\r\n", 2);
    send_str(fd, data + 4, 1000002 - 4);
    free(data);
    read_line(fd);
    kv_reply *r = h_cmd(admin, "STRLEN a");
    assert_int_equal(r->integer, 1000000);
    kv_reply_free(r);
    close(fd);
}

/* Keep client "peak" active with one small request per poll; true once its
 * buffer is below `before`. */
typedef struct small_traffic {
    int fd;
    long long before;
} small_traffic;

static int shrunk_while_active(void *arg)
{
    small_traffic *t = arg;
    static const char small[] = "SET x y\r\n";
    send_str(t->fd, small, sizeof small - 1);
    read_line(t->fd);
    return query_buffer("peak") < t->before;
}

/* After a 200 KB request the buffer keeps its room (> 32 KB) while the
 * cron is paused, then shrinks to the recent peak once small requests
 * follow — but not to nothing while the client is active. (Past 256 KB
 * kvnode gives the room back at once, unlike Redis: see client.c.) */
static void test_trim_to_peak(void **state)
{
    (void)state;
    int fd = named(h_raw_connect(node.port), "peak");
    kv_reply_free(h_cmd(admin, "DEBUG PAUSE-CRON 1"));
    size_t n = 200000;
    char *cmd = malloc(n + 64);
    int h = snprintf(cmd, 64, "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$%zu\r\n", n);
    memset(cmd + h, 'A', n);
    memcpy(cmd + h + n, "\r\n", 2);
    send_str(fd, cmd, (size_t)h + n + 2);
    free(cmd);
    read_line(fd);
    long long before = query_buffer("peak");
    assert_true(before > 32768);
    kv_reply_free(h_cmd(admin, "DEBUG PAUSE-CRON 0"));
    small_traffic t = {fd, before};
    assert_true(h_wait_until(shrunk_while_active, &t, 5000));
    long long now = query_buffer("peak");
    assert_true(now < before);
    assert_true(now > 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_buffer_freed),
        cmocka_unit_test(test_big_argument_room),
        cmocka_unit_test(test_trim_to_peak),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
