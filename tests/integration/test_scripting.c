/* test_scripting.c — scripts and functions between real kvnode processes:
 * a script's writes (random ones included) reach the replica as their
 * effects, function libraries replicate, read-only variants run on the
 * replica while writes there answer Redis's errors; libraries survive
 * kill -9 whether they were in a snapshot or only in the WAL, and DEBUG
 * RELOAD; FUNCTION DUMP / RESTORE round-trips through a restart; and a
 * script past busy-reply-threshold answers -BUSY to others until SCRIPT
 * KILL / FUNCTION KILL (or -UNKILLABLE once it wrote); 10000 short
 * scripts keep used_memory_lua under 100 KB. Every wait is bounded and
 * asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "harness.h"

/* ---- Fixture ---- */

static int setup(void **state)
{
    (void)state;
    hc_setup("scripting");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hc_teardown();
    return 0;
}

/* ---- Helpers ---- */

#define LIB_A                                                                                   \
    "#!lua name=liba\n"                                                                         \
    "redis.register_function('seta', function(keys, args) "                                     \
    "return redis.call('set', keys[1], args[1]) end)\n"                                         \
    "redis.register_function{function_name='geta', callback=function(keys) "                    \
    "return redis.call('get', keys[1]) end, flags={'no-writes'}}"
#define LIB_B                                                                                   \
    "#!lua name=libb\n"                                                                         \
    "redis.register_function('rnd', function(keys) "                                            \
    "local v = math.random(1000000000) redis.call('set', keys[1], v) return v end)"

/* Run argv on node i; the reply (caller frees). */
static kv_reply *cmdv(int i, int argc, const char **argv)
{
    kv_client *c = h_connect(hc_node[i].port);
    assert_non_null(c);
    size_t lens[16];
    for (int j = 0; j < argc; j++)
        lens[j] = strlen(argv[j]);
    kv_reply *r = h_cmdv(c, argc, argv, lens);
    kv_client_free(c);
    assert_non_null(r);
    return r;
}

static void expect_text(int i, int argc, const char **argv, const char *want)
{
    kv_reply *r = cmdv(i, argc, argv);
    char buf[2048];
    h_reply_text(r, buf, sizeof buf);
    kv_reply_free(r);
    if (strcmp(buf, want))
        fail_msg("node %d %s: got %s, want %s", i, argv[0], buf, want);
}

static void expect(int i, const char *line, const char *want)
{
    kv_reply *r = hc_cmd(i, line);
    assert_non_null(r);
    char buf[2048];
    h_reply_text(r, buf, sizeof buf);
    kv_reply_free(r);
    if (strcmp(buf, want))
        fail_msg("node %d %s: got %s, want %s", i, line, buf, want);
}

static void load_libs(int i)
{
    const char *a[] = {"FUNCTION", "LOAD", LIB_A};
    expect_text(i, 3, a, "\"liba\"");
    const char *b[] = {"FUNCTION", "LOAD", LIB_B};
    expect_text(i, 3, b, "\"libb\"");
}

/* The library names FUNCTION LIST shows on node i, as text. */
static void libs_on(int i, char *out, size_t len)
{
    kv_reply *r = hc_cmd(i, "FUNCTION LIST");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    size_t at = 0;
    out[0] = '\0';
    for (size_t j = 0; j < r->elements; j++)
        at += (size_t)snprintf(out + at, len - at, "%s%s", j ? "," : "",
                               r->element[j]->element[1]->str);
    kv_reply_free(r);
}

/* ---- Tests ---- */

/* Scripts and functions on the primary reach the replica as effects: the
 * same random value, the same libraries; the replica runs the read-only
 * forms and answers writes with Redis's errors; digests agree. */
static void test_replica_agrees(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    hc_start(1, 0, NULL);
    hc_voters_want vw = {0, 2};
    assert_true(h_wait_until(hc_has_voters, &vw, 30000));
    load_libs(0);
    expect(0, "FCALL seta 1 fk fv", "+OK");
    kv_reply *r = hc_cmd(0, "FCALL rnd 1 rk");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    long long rnd = r->integer;
    kv_reply_free(r);
    const char *ev[] = {"EVAL",
                        "for i=1,50 do redis.call('rpush', KEYS[1], math.random(1000)) end "
                        "redis.call('pexpire', KEYS[1], 100000000) "
                        "return redis.call('llen', KEYS[1])",
                        "1", "rl"};
    expect_text(0, 4, ev, ":50");
    hc_wait_caught_up(1, 0, 30000);
    char d0[64], d1[64];
    hc_digest(0, d0);
    hc_digest(1, d1);
    assert_string_equal(d0, d1);
    char want[64];
    snprintf(want, sizeof want, "\"%lld\"", rnd);
    expect(1, "GET rk", want);
    expect(1, "FCALL_RO geta 1 fk", "\"fv\"");
    expect(1, "FCALL geta 1 fk", "\"fv\"");
    expect(1, "FCALL seta 1 fk x", "-READONLY You can't write against a read only replica.");
    expect(1, "FCALL_RO seta 1 fk x",
           "-READONLY You can't write against a read only replica.");
    const char *ro[] = {"EVAL_RO", "return redis.call('get', KEYS[1])", "1", "fk"};
    expect_text(1, 4, ro, "\"fv\"");
    const char *wr[] = {"EVAL", "return redis.call('set', KEYS[1], 'x')", "1", "fk"};
    expect_text(1, 4, wr,
                "-READONLY You can't write against a read only replica. script: "
                "ee5bed0f6963e93a14eebfb64f07c299c1b4313f, on @user_script:1.");
    expect(1, "FUNCTION FLUSH", "-READONLY You can't write against a read only replica.");
    char libs[256];
    libs_on(1, libs, sizeof libs);
    assert_string_equal(libs, "liba,libb");
    /* A deletion replicates too. */
    expect(0, "FUNCTION DELETE libb", "+OK");
    hc_wait_caught_up(1, 0, 30000);
    libs_on(1, libs, sizeof libs);
    assert_string_equal(libs, "liba");
    expect(1, "FCALL_RO rnd 1 rk", "-ERR Function not found");
}

static int node0_leads(void *arg)
{
    (void)arg;
    return hc_leader() == 0;
}

/* kill -9 node 0 and start it again on its data; waits until it leads. */
static void kill9_restart(void)
{
    h_stop(&hc_node[0], SIGKILL, 5000);
    hc_up[0] = 0;
    assert_int_equal(h_restart(&hc_node[0]), 0);
    hc_up[0] = 1;
    if (!h_wait_until(node0_leads, NULL, 30000)) {
        hc_dump_logs();
        fail_msg("node 0 does not lead after its restart");
    }
}

/* Libraries survive kill -9: two in the snapshot, one only in the WAL,
 * a deletion logged after the snapshot; the keys agree (DEBUG DIGEST);
 * DEBUG RELOAD keeps them; FUNCTION DUMP then RESTORE after a FLUSH
 * brings back what was, and that survives kill -9 too. */
static void test_kill9_restart_keeps_functions(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    assert_true(h_wait_until(node0_leads, NULL, 30000));
    load_libs(0);
    expect(0, "SAVE", "+OK");
    const char *c[] = {"FUNCTION", "LOAD",
                       "#!lua name=libc\nredis.register_function('cf', function() return 7 end)"};
    expect_text(0, 3, c, "\"libc\"");
    expect(0, "FUNCTION DELETE liba", "+OK");
    kv_reply *r = hc_cmd(0, "FCALL rnd 1 rk");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    kv_reply_free(r);
    const char *ev[] = {"EVAL", "redis.call('hset', KEYS[1], 'a', math.random(100)) return 1",
                        "1", "hk"};
    expect_text(0, 4, ev, ":1");
    char before[64], after[64], libs[256];
    hc_digest(0, before);
    libs_on(0, libs, sizeof libs);
    assert_string_equal(libs, "libb,libc");

    kill9_restart();
    hc_digest(0, after);
    assert_string_equal(before, after);
    libs_on(0, libs, sizeof libs);
    assert_string_equal(libs, "libb,libc");
    expect(0, "FCALL cf 0", ":7");
    expect(0, "FCALL seta 1 a b", "-ERR Function not found");

    expect(0, "DEBUG RELOAD", "+OK");
    libs_on(0, libs, sizeof libs);
    assert_string_equal(libs, "libb,libc");
    expect(0, "FCALL_RO cf 0", "-ERR Can not execute a script with write flag using *_ro command.");

    r = hc_cmd(0, "FUNCTION DUMP");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STRING);
    size_t plen = r->len;
    char *payload = malloc(plen);
    memcpy(payload, r->str, plen);
    kv_reply_free(r);
    expect(0, "FUNCTION FLUSH", "+OK");
    libs_on(0, libs, sizeof libs);
    assert_string_equal(libs, "");
    kv_client *cl = h_connect(hc_node[0].port);
    assert_non_null(cl);
    const char *rv[] = {"FUNCTION", "RESTORE", payload};
    size_t rl[] = {8, 7, plen};
    r = h_cmdv(cl, 3, rv, rl);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    r = h_cmdv(cl, 3, rv, rl); /* APPEND: the libraries are there now */
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "ERR Library libb already exists");
    kv_reply_free(r);
    kv_client_free(cl);
    free(payload);
    kill9_restart();
    libs_on(0, libs, sizeof libs);
    assert_string_equal(libs, "libb,libc");
    expect(0, "FCALL cf 0", ":7");
}

/* Send one request on a raw connection without reading its reply. */
static int send_raw(int port, const char *resp)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t n = strlen(resp);
    assert_int_equal(write(fd, resp, n), (ssize_t)n);
    return fd;
}

/* Read a one-line reply from fd within ms. */
static void read_line(int fd, char *out, size_t len, int ms)
{
    size_t at = 0;
    long long end = h_now_ms() + ms;
    while (at + 1 < len) {
        struct pollfd p = {fd, POLLIN, 0};
        long long left = end - h_now_ms();
        assert_true(left > 0);
        assert_true(poll(&p, 1, (int)left) >= 0);
        if (!(p.revents & POLLIN))
            continue;
        ssize_t r = read(fd, out + at, 1);
        assert_true(r == 1);
        at++;
        if (at >= 2 && out[at - 2] == '\r' && out[at - 1] == '\n')
            break;
    }
    out[at] = '\0';
}

static int node0_busy(void *arg)
{
    (void)arg;
    kv_reply *r = hc_cmd(0, "PING");
    int busy = r && r->type == KV_REPLY_ERROR && !strncmp(r->str, "BUSY ", 5);
    kv_reply_free(r);
    return busy;
}

/* A script past busy-reply-threshold lets other clients in: they get
 * -BUSY with the EVAL or the FCALL text, FUNCTION KILL refuses an EVAL
 * (and SCRIPT KILL a function), the right KILL ends it with Redis's error,
 * and one that wrote is UNKILLABLE but runs to its end and its write
 * survives kill -9. A refused EXEC answers EXECABORT with the reason. */
static void test_busy_script_kill(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    assert_true(h_wait_until(node0_leads, NULL, 30000));
    expect(0, "CONFIG SET busy-reply-threshold 50", "+OK");
    expect(0, "CONFIG GET lua-time-limit", "[\"lua-time-limit\" \"50\"]");
    const char *body = "local i=0 while true do i=i+1 end";
    char req[256];
    snprintf(req, sizeof req, "*3\r\n$4\r\nEVAL\r\n$%zu\r\n%s\r\n$1\r\n0\r\n", strlen(body),
             body);
    int fd = send_raw(hc_node[0].port, req);
    assert_true(h_wait_until(node0_busy, NULL, 20000));
    expect(0, "GET x",
           "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
           "NOSAVE.");
    expect(0, "FUNCTION KILL",
           "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
           "NOSAVE.");
    /* A refused EXEC ends the transaction and says why (execCommandAbort). */
    expect(0, "EXEC",
           "-EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. "
           "You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
    expect(0, "SCRIPT KILL", "+OK");
    char line[512];
    read_line(fd, line, sizeof line, 20000);
    assert_string_equal(line, "-ERR Script killed by user with SCRIPT KILL... script: "
                              "653db1ceb7ef061910af88dc7ebf80737358169d, on @user_script:1.\r\n");
    close(fd);
    expect(0, "PING", "+PONG");
    expect(0, "SCRIPT KILL", "-NOTBUSY No scripts in execution right now.");

    /* Looping inside pcall: parked and killed all the same. */
    body = "local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end";
    snprintf(req, sizeof req, "*3\r\n$4\r\nEVAL\r\n$%zu\r\n%s\r\n$1\r\n0\r\n", strlen(body),
             body);
    fd = send_raw(hc_node[0].port, req);
    assert_true(h_wait_until(node0_busy, NULL, 20000));
    expect(0, "SCRIPT KILL", "+OK");
    read_line(fd, line, sizeof line, 20000);
    assert_non_null(strstr(line, "-ERR Script killed by user with SCRIPT KILL..."));
    close(fd);
    expect(0, "PING", "+PONG");

    const char *lib[] = {"FUNCTION", "LOAD",
                         "#!lua name=busy\nredis.register_function('spin', function() "
                         "local i=0 while true do i=i+1 end end)"};
    expect_text(0, 3, lib, "\"busy\"");
    fd = send_raw(hc_node[0].port, "*3\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n0\r\n");
    assert_true(h_wait_until(node0_busy, NULL, 20000));
    expect(0, "GET x",
           "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN "
           "NOSAVE.");
    expect(0, "SCRIPT KILL",
           "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN "
           "NOSAVE.");
    kv_reply *r = hc_cmd(0, "FUNCTION STATS");
    assert_non_null(r);
    char buf[1024];
    h_reply_text(r, buf, sizeof buf);
    kv_reply_free(r);
    assert_non_null(strstr(buf, "\"name\" \"spin\""));
    expect(0, "FUNCTION KILL", "+OK");
    read_line(fd, line, sizeof line, 20000);
    assert_string_equal(line, "-ERR Script killed by user with SCRIPT KILL... script: spin, "
                              "on @user_function:2.\r\n");
    close(fd);

    body = "redis.call('set','w','1') local i=0 while i < 30000000 do i=i+1 end "
           "redis.call('set','w','2') return i";
    snprintf(req, sizeof req, "*3\r\n$4\r\nEVAL\r\n$%zu\r\n%s\r\n$1\r\n0\r\n", strlen(body),
             body);
    fd = send_raw(hc_node[0].port, req);
    assert_true(h_wait_until(node0_busy, NULL, 20000));
    expect(0, "SCRIPT KILL",
           "-UNKILLABLE Sorry the script already executed write commands against the dataset. "
           "You can either wait the script termination or kill the server in a hard way using "
           "the SHUTDOWN NOSAVE command.");
    read_line(fd, line, sizeof line, 60000);
    assert_string_equal(line, ":30000000\r\n");
    close(fd);
    expect(0, "GET w", "\"2\"");
    kill9_restart();
    expect(0, "GET w", "\"2\"");
}

static int node0_one_blocked(void *arg)
{
    (void)arg;
    kv_reply *r = hc_cmd(0, "INFO clients");
    int yes = r && r->str && strstr(r->str, "blocked_clients:1\r\n");
    kv_reply_free(r);
    return yes;
}

/* A long script is atomic for blocked clients too: while it is parked
 * (busy) and a command allowed meanwhile runs, a BLPOP waiting on the list
 * it pushed to is not served its first push; once it ends, the BLPOP gets
 * what the whole script left (Redis's "Timedout scripts and unblocked
 * command": the pop happened mid-script before). */
static void test_busy_script_holds_blocked_clients(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    assert_true(h_wait_until(node0_leads, NULL, 30000));
    expect(0, "CONFIG SET busy-reply-threshold 10", "+OK");
    int waiter = send_raw(hc_node[0].port, "*3\r\n$5\r\nBLPOP\r\n$1\r\nx\r\n$1\r\n0\r\n");
    assert_true(h_wait_until(node0_one_blocked, NULL, 20000));
    const char *body = "redis.call('lpush',KEYS[1],'y') local i=0 while i < 30000000 do i=i+1 end "
                       "redis.call('lpush',KEYS[1],'z') return i";
    char req[512];
    snprintf(req, sizeof req, "*4\r\n$4\r\nEVAL\r\n$%zu\r\n%s\r\n$1\r\n1\r\n$1\r\nx\r\n",
             strlen(body), body);
    int script = send_raw(hc_node[0].port, req);
    assert_true(h_wait_until(node0_busy, NULL, 20000));
    /* Allowed while busy; it ran, and anything it served is written by now. */
    kv_reply *r = hc_cmd(0, "HELLO 2 SETNAME meanwhile");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY); /* served, not -BUSY */
    kv_reply_free(r);
    struct pollfd p = {waiter, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 0), 0); /* nothing for the BLPOP yet */
    char line[512];
    read_line(script, line, sizeof line, 60000);
    assert_string_equal(line, ":30000000\r\n");
    const char *want[] = {"*2\r\n", "$1\r\n", "x\r\n", "$1\r\n", "z\r\n"};
    for (int i = 0; i < 5; i++) {
        read_line(waiter, line, sizeof line, 20000);
        assert_string_equal(line, want[i]);
    }
    close(script);
    close(waiter);
    expect(0, "LRANGE x 0 -1", "[\"y\"]");
}

/* Short scripts do not leave a Lua thread behind per call (a run that
 * returned reuses its coroutine): 30 EVALs after SCRIPT FLUSH keep
 * used_memory_lua near the fresh interpreter's (~48 KB; a thread per call
 * made it ~84 KB, and Redis's scripting.tcl "EVAL does not leak in the Lua
 * stack" went over its 100 KB bound). Runs that end in an error drop their
 * thread and later runs still work; 10000 EVALs stay under 100 KB. */
static void test_lua_memory_steady(void **state)
{
    (void)state;
    hc_start(0, -1, NULL);
    hc_voters_want v = {0, 1};
    assert_true(h_wait_until(hc_has_voters, &v, 30000));
    kv_client *c = h_connect(hc_node[0].port);
    assert_non_null(c);
    const char *ev[] = {"EVAL", "return redis.call('incr',KEYS[1])", "1", "x"};
    const char *bad[] = {"EVAL", "return redis.call('nosuch')", "0"};
    size_t evl[] = {4, strlen(ev[1]), 1, 1}, badl[] = {4, strlen(bad[1]), 1};
    expect(0, "SCRIPT FLUSH", "+OK");
    for (int j = 0; j < 30; j++) {
        kv_reply *r = h_cmdv(c, 4, ev, evl);
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_INTEGER);
        kv_reply_free(r);
    }
    long long mem = hc_info(0, "memory", "used_memory_lua");
    if (mem <= 0 || mem >= 64 * 1024)
        fail_msg("used_memory_lua is %lld after SCRIPT FLUSH and 30 EVALs", mem);
    for (int j = 30; j < 10000; j++) {
        int err = j % 1000 == 999;
        kv_reply *r = err ? h_cmdv(c, 3, bad, badl) : h_cmdv(c, 4, ev, evl);
        assert_non_null(r);
        assert_int_equal(r->type, err ? KV_REPLY_ERROR : KV_REPLY_INTEGER);
        kv_reply_free(r);
    }
    kv_client_free(c);
    mem = hc_info(0, "memory", "used_memory_lua");
    if (mem <= 0 || mem >= 100 * 1024)
        fail_msg("used_memory_lua is %lld after 10000 EVALs", mem);
    expect(0, "GET x", "\"9990\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replica_agrees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_restart_keeps_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_script_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_script_holds_blocked_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lua_memory_steady, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
