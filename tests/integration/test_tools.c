/* test_tools.c — the Redis tools and our own against a real kvnode:
 * redis-cli (one-shot, the Unix socket, --pipe mass insertion, --scan,
 * RESP3), redis-benchmark, kvcli, and libkvclient's failover handle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* ---- Fixture ---- */

static char *tmp;
static h_proc node;
static char sock[600];

static int setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("tools");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/node", tmp);
    snprintf(sock, sizeof sock, "%s/kv.sock", tmp);
    const char *extra[] = {"--unixsocket", sock, NULL};
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

/* Run a shell command; its stdout (at most len-1 bytes) into out. Returns
 * the exit status. */
static int run(const char *cmd, char *out, size_t len)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *kvcli(void)
{
    static char path[700];
    /* kvcli sits next to the client library in the build tree. */
    snprintf(path, sizeof path, "%s", h_kvnode_bin());
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = '\0';
        slash = strrchr(path, '/');
        if (slash)
            *slash = '\0';
    }
    strncat(path, "/client/kvcli", sizeof path - strlen(path) - 1);
    return path;
}

/* ---- Tests ---- */

/* redis-cli one-shot commands over TCP and the Unix socket print what they
 * print against Redis. */
static void test_redis_cli(void **state)
{
    (void)state;
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "redis-cli -p %d SET greeting 'hello world'", node.port);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "OK\n");
    snprintf(cmd, sizeof cmd, "redis-cli -s %s GET greeting", sock);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "hello world\n");
    snprintf(cmd, sizeof cmd, "redis-cli -p %d RPUSH l a b c >/dev/null && redis-cli -p %d "
                              "LRANGE l 0 -1",
             node.port, node.port);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "a\nb\nc\n");
    snprintf(cmd, sizeof cmd, "redis-cli -3 -p %d HSET h f v >/dev/null && redis-cli -3 -p %d "
                              "HGETALL h",
             node.port, node.port);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "f v\n"); /* redis-cli's rendering of a RESP3 map, piped */
    snprintf(cmd, sizeof cmd, "redis-cli -p %d NOSUCH 2>&1", node.port);
    run(cmd, out, sizeof out);
    assert_non_null(strstr(out, "ERR unknown command 'NOSUCH'"));
}

/* Mass insertion with redis-cli --pipe, then --scan over the result. */
static void test_redis_cli_pipe_and_scan(void **state)
{
    (void)state;
    char path[700], cmd[2048], out[8192];
    snprintf(path, sizeof path, "%s/proto.txt", tmp);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 20000; i++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "mass:%d", i);
        fprintf(f, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nx\r\n", kl, key);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "redis-cli -p %d --pipe < %s", node.port, path);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "errors: 0, replies: 20000"));
    snprintf(cmd, sizeof cmd, "redis-cli -p %d --scan --pattern 'mass:1999*' | sort", node.port);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "mass:1999\nmass:19990\nmass:19991\nmass:19992\nmass:19993\n"
                             "mass:19994\nmass:19995\nmass:19996\nmass:19997\nmass:19998\n"
                             "mass:19999\n");
}

/* redis-benchmark runs against kvnode without errors. */
static void test_redis_benchmark(void **state)
{
    (void)state;
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd,
             "redis-benchmark -p %d -t set,get,incr,lpush,lpop,hset -n 2000 -c 10 -q --csv 2>&1",
             node.port);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"SET\""));
    assert_non_null(strstr(out, "\"HSET\""));
    assert_null(strstr(out, "ERR"));
}

/* kvcli prints what redis-cli prints, one-shot and from the Unix socket. */
static void test_kvcli(void **state)
{
    (void)state;
    char cmd[2048], a[4096], b[4096];
    snprintf(cmd, sizeof cmd, "%s -p %d SET kv 42", kvcli(), node.port);
    assert_int_equal(run(cmd, a, sizeof a), 0);
    assert_string_equal(a, "OK\n");
    snprintf(cmd, sizeof cmd, "%s -p %d INCR kv", kvcli(), node.port);
    assert_int_equal(run(cmd, a, sizeof a), 0);
    assert_string_equal(a, "43\n");
    /* Reads: both tools must print the same bytes. */
    const char *lines[] = {"GET kv", "LRANGE l 0 -1", "HGETALL h", "TTL kv",
                           "GET nosuch", "PING", "EXISTS kv nosuch", "TYPE l", NULL};
    for (int i = 0; lines[i]; i++) {
        snprintf(cmd, sizeof cmd, "%s -p %d %s 2>&1", kvcli(), node.port, lines[i]);
        assert_int_equal(run(cmd, a, sizeof a), 0);
        snprintf(cmd, sizeof cmd, "redis-cli -p %d %s 2>&1", node.port, lines[i]);
        run(cmd, b, sizeof b);
        if (strcmp(a, b) != 0)
            fail_msg("%s: kvcli printed '%s', redis-cli '%s'", lines[i], a, b);
    }
    snprintf(cmd, sizeof cmd, "%s -s %s GET kv", kvcli(), sock);
    assert_int_equal(run(cmd, a, sizeof a), 0);
    assert_string_equal(a, "43\n");
}

/* libkvclient's failover handle finds the primary through a replica and
 * sends writes there. */
static void test_cluster_handle_finds_primary(void **state)
{
    (void)state;
    char dir[600], port[16];
    snprintf(dir, sizeof dir, "%s/replica", tmp);
    snprintf(port, sizeof port, "%d", node.port);
    h_proc rep;
    const char *extra[] = {"--replicaof", "127.0.0.1", port, NULL};
    assert_int_equal(h_kvnode_start(&rep, dir, extra), 0);
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d", rep.port);
    kv_options o;
    kv_options_init(&o);
    kv_cluster *cl;
    assert_int_equal(kv_cluster_new(&cl, seeds, &o), 0);
    const char *argv[3] = {"SET", "via-cluster", "1"};
    kv_reply *r = NULL;
    assert_int_equal(kv_cluster_command(cl, 0, 3, argv, NULL, &r), 0);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    char host[64];
    int p = 0;
    assert_int_equal(kv_cluster_primary(cl, host, sizeof host, &p), 0);
    assert_int_equal(p, node.port);
    kv_cluster_free(cl);
    h_stop(&rep, SIGTERM, 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_cli),
        cmocka_unit_test(test_redis_cli_pipe_and_scan),
        cmocka_unit_test(test_redis_benchmark),
        cmocka_unit_test(test_kvcli),
        cmocka_unit_test(test_cluster_handle_finds_primary),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
