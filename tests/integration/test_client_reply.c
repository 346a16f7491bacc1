/* test_client_reply.c — CLIENT REPLY ON|OFF|SKIP against redis-server 7.0.
 *
 * Each case sends one pipeline of commands over a raw socket to a real
 * redis-server and to kvnode and compares, byte for byte, everything each
 * server sent back up to the reply of a closing "PING end" (the pipelines
 * end with CLIENT REPLY ON when needed, so that reply always comes). What
 * is dropped (replies, refusals, QUEUED, a reply inside EXEC) and what is
 * not (RESP3 pushes: messages to itself, invalidations of its own writes)
 * must be the same. HELLO 3 is sent under SKIP: its reply holds the
 * client id, which differs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static h_proc redis, kv;
static char *tmp;

static int setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("creply");
    char rdir[600], kdir[600];
    snprintf(rdir, sizeof rdir, "%s/redis", tmp);
    snprintf(kdir, sizeof kdir, "%s/kv", tmp);
    mkdir(rdir, 0755);
    const char *rextra[] = {"--enable-debug-command", "yes", NULL};
    if (h_redis_start(&redis, rdir, rextra) != 0)
        return -1;
    const char *extra[] = {"--save", "", NULL};
    return h_kvnode_start(&kv, kdir, extra);
}

static int teardown(void **state)
{
    (void)state;
    h_stop(&kv, SIGTERM, 10000);
    h_stop(&redis, SIGTERM, 10000);
    h_rmrf(tmp);
    free(tmp);
    return 0;
}

/* Sends the inline commands (one per line) and returns what came back up
 * to and including the reply of PING end, "" plus what came if it did not
 * come within 10 s. The result is malloc'd. */
static char *exchange(int port, const char *pipeline)
{
    static const char end[] = "$3\r\nend\r\n";
    int fd = h_raw_connect(port);
    assert_true(fd >= 0);
    size_t n = strlen(pipeline);
    for (size_t off = 0; off < n;) {
        ssize_t w = send(fd, pipeline + off, n - off, MSG_NOSIGNAL);
        assert_true(w > 0);
        off += (size_t)w;
    }
    size_t cap = 1 << 16, got = 0;
    char *buf = calloc(1, cap);
    long long deadline = h_now_ms() + 10000;
    while (got < strlen(end) || strcmp(buf + got - strlen(end), end) != 0) {
        long long left = deadline - h_now_ms();
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = '\0';
    }
    close(fd);
    return buf;
}

static void same(const char *pipeline)
{
    char *a = exchange(redis.port, pipeline);
    char *b = exchange(kv.port, pipeline);
    if (strcmp(a, b) != 0)
        fprintf(stderr, "pipeline:\n%s\nredis:  %s\nkvnode: %s\n", pipeline, a, b);
    assert_string_equal(a, b);
    /* Every case ends with its PING's reply: nothing was cut short. */
    assert_non_null(strstr(b, "$3\r\nend\r\n"));
    free(a);
    free(b);
}

/* OFF drops every reply, refusals included, until ON (which answers);
 * SKIP drops the next one only and is ignored while OFF. */
static void test_off_on_skip(void **state)
{
    (void)state;
    same("CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nPING x\r\nNOSUCHCOMMAND\r\nGET\r\n"
         "CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nGET a\r\nPING end\r\n");
    same("CLIENT REPLY SKIP\r\nPING a\r\nPING b\r\nCLIENT REPLY SKIP\r\nCLIENT REPLY SKIP\r\n"
         "PING c\r\nPING d\r\nCLIENT REPLY SKIP\r\nINCR a\r\nGET a\r\nPING end\r\n");
    same("CLIENT REPLY foo\r\nCLIENT REPLY\r\nCLIENT REPLY on extra\r\nCLIENT REPLY On\r\n"
         "CLIENT REPLY sKiP\r\nPING gone\r\nPING end\r\n");
}

/* Inside MULTI: QUEUED replies are dropped as any; a SKIP queued in the
 * transaction drops the reply after EXEC (and leaves EXEC's array one
 * element short, as Redis does). */
static void test_multi(void **state)
{
    (void)state;
    same("CLIENT REPLY SKIP\r\nMULTI\r\nPING d\r\nCLIENT REPLY SKIP\r\nEXEC\r\n"
         "CLIENT REPLY foo\r\nPING end\r\n");
    same("MULTI\r\nCLIENT REPLY OFF\r\nSET m 1\r\nCLIENT REPLY ON\r\nEXEC\r\nPING end\r\n");
    same("CLIENT REPLY OFF\r\nMULTI\r\nSET m 2\r\nGET m\r\nEXEC\r\nCLIENT REPLY ON\r\nGET m\r\n"
         "PING end\r\n");
}

/* RESP3 pushes still arrive while replies are off: a message published
 * to itself, the invalidation of a key it tracks and writes. A blocking
 * command that times out under OFF answers nothing. */
static void test_pushes_and_blocking(void **state)
{
    (void)state;
    same("CLIENT REPLY SKIP\r\nHELLO 3\r\nSUBSCRIBE ch\r\nCLIENT REPLY OFF\r\n"
         "PUBLISH ch hello\r\nPING x\r\nCLIENT REPLY ON\r\nPING end\r\n");
    same("CLIENT REPLY SKIP\r\nHELLO 3\r\nCLIENT TRACKING ON\r\nSET k 1\r\nGET k\r\n"
         "CLIENT REPLY OFF\r\nSET k 2\r\nCLIENT REPLY ON\r\nGET k\r\nCLIENT REPLY SKIP\r\n"
         "SET k 3\r\nPING end\r\n");
    same("CLIENT REPLY OFF\r\nBLPOP nolist 0.05\r\nCLIENT REPLY ON\r\nPING end\r\n");
}

/* (Un)subscribe confirmations are pushes too (Redis's CLIENT_PUSHING), in
 * RESP2 as in RESP3: OFF and SKIP do not silence them. (One channel per
 * unsubscribe-all: Redis answers several in its hash order.) */
static void test_subscribe_confirmations(void **state)
{
    (void)state;
    same("CLIENT REPLY SKIP\r\nHELLO 3\r\nCLIENT REPLY OFF\r\nSUBSCRIBE a\r\n"
         "PSUBSCRIBE p*\r\nSSUBSCRIBE s\r\nPUBLISH a m\r\nUNSUBSCRIBE\r\nPUNSUBSCRIBE x*\r\n"
         "SUNSUBSCRIBE\r\nCLIENT REPLY ON\r\nPING end\r\n");
    same("CLIENT REPLY SKIP\r\nSUBSCRIBE a\r\nCLIENT REPLY SKIP\r\nPSUBSCRIBE p*\r\n"
         "CLIENT REPLY SKIP\r\nUNSUBSCRIBE a\r\nCLIENT REPLY SKIP\r\nPUNSUBSCRIBE\r\n"
         "PING end\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_on_skip),
        cmocka_unit_test(test_multi),
        cmocka_unit_test(test_pushes_and_blocking),
        cmocka_unit_test(test_subscribe_confirmations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
