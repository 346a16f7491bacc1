/* test_kvcli.c — kvcli against redis-cli: the same commands, run by both
 * binaries against one redis-server, must print the same bytes and exit
 * with the same code, with stdout as a pipe and as a terminal (script(1)
 * gives each a pty). Also the stdin mode and the interactive prompt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redis_server.h"

/* ---- Fixture ---- */

static redis_server server;

static int setup_server(void **state)
{
    (void)state;
    if (access(REDIS_CLI_BIN, X_OK) != 0 || access("/usr/bin/script", X_OK) != 0) {
        fprintf(stderr, "redis-cli or script missing: run scripts/install-deps.sh\n");
        return -1;
    }
    if (rs_start(&server, NULL) < 0)
        return -1;
    static const char esc[] = "quote\" backslash\\ nl\n cr\r tab\t bell\a \x01\x7f\xff end";
    kv_client *c;
    if (kv_client_new(&c, NULL) < 0)
        return -1;
    if (kv_client_connect_tcp(c, "127.0.0.1", server.port) < 0)
        return -1;
    kv_reply *r;
    const char *a1[] = {"SET", "cli:esc", esc};
    const char *a2[] = {"RPUSH", "cli:list", "a", "", "b c", "\x01\xfe"};
    size_t l2[] = {5, 8, 1, 0, 3, 2};
    const char *a3[] = {"HSET", "cli:hash", "f1", "v1", "f2", "2"};
    const char *a4[] = {"SET", "cli:plain", "bar"};
    int ok = kv_client_command(c, 3, a1, (size_t[]){3, 7, sizeof esc - 1}, &r) == 0;
    kv_reply_free(r);
    ok = ok && kv_client_command(c, 6, a2, l2, &r) == 0;
    kv_reply_free(r);
    ok = ok && kv_client_command(c, 6, a3, NULL, &r) == 0;
    kv_reply_free(r);
    ok = ok && kv_client_command(c, 3, a4, NULL, &r) == 0;
    kv_reply_free(r);
    kv_client_free(c);
    return ok ? 0 : -1;
}

static int teardown_server(void **state)
{
    (void)state;
    rs_stop(&server);
    return 0;
}

/* ---- Helpers ---- */

typedef struct output {
    char *data;
    size_t len;
    int status;
} output;

/* Append s to buf as one single-quoted shell word. */
static void shell_quote(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    if (n + 1 < cap)
        buf[n++] = '\'';
    for (; *s && n + 5 < cap; s++) {
        if (*s == '\'') {
            memcpy(buf + n, "'\\''", 4);
            n += 4;
        } else {
            buf[n++] = *s;
        }
    }
    if (n + 1 < cap)
        buf[n++] = '\'';
    buf[n] = '\0';
}

/* Run a shell command line (bounded by timeout(1)) and capture stdout. */
static output run_shell(const char *line)
{
    char full[8192];
    snprintf(full, sizeof full, "timeout 30 sh -c ");
    shell_quote(full, sizeof full, line);
    FILE *f = popen(full, "r");
    assert_non_null(f);
    output o = {0};
    size_t cap = 0;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (o.len + n > cap) {
            cap = (o.len + n) * 2;
            o.data = realloc(o.data, cap + 1);
        }
        memcpy(o.data + o.len, buf, n);
        o.len += n;
    }
    int st = pclose(f);
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (o.data == NULL)
        o.data = calloc(1, 1);
    o.data[o.len] = '\0';
    return o;
}

/* The command line for bin with a port and the words in args. */
static void command_line(char *buf, size_t cap, const char *bin, int port,
                         const char *const args[])
{
    snprintf(buf, cap, "%s -p %d", bin, port);
    for (int i = 0; args[i]; i++) {
        strcat(buf, " ");
        shell_quote(buf, cap, args[i]);
    }
}

/* Run both binaries with args (stdout a pipe, or a pty through script) and
 * compare their output and exit status. */
static void compare(const char *const args[], int tty, int port)
{
    char ours[4096] = "", theirs[4096] = "";
    command_line(ours, sizeof ours, KVCLI_BIN, port, args);
    command_line(theirs, sizeof theirs, REDIS_CLI_BIN, port, args);
    /* stderr (warnings, connection errors) is not compared. */
    strcat(ours, " 2>/dev/null");
    strcat(theirs, " 2>/dev/null");
    if (tty) {
        char a[4096] = "script -qec ", b[4096] = "script -qec ";
        shell_quote(a, sizeof a, ours);
        shell_quote(b, sizeof b, theirs);
        strcat(a, " /dev/null");
        strcat(b, " /dev/null");
        strcpy(ours, a);
        strcpy(theirs, b);
    }
    output o = run_shell(ours), t = run_shell(theirs);
    if (o.len != t.len || memcmp(o.data, t.data, o.len) != 0 || o.status != t.status)
        fail_msg("%s output differs for '%s':\n--- redis-cli (exit %d) ---\n%s\n"
                 "--- kvcli (exit %d) ---\n%s",
                 tty ? "tty" : "pipe", args[0], t.status, t.data, o.status, o.data);
    assert_true(t.len > 0 || port != server.port);
    free(o.data);
    free(t.data);
}

static void compare_both(const char *const args[])
{
    compare(args, 0, server.port);
    compare(args, 1, server.port);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- Tests ---- */

/* Strings with every kind of escape, plain strings and nil. */
static void test_strings_and_nil(void **state)
{
    (void)state;
    compare_both(ARGS("GET", "cli:esc"));
    compare_both(ARGS("GET", "cli:plain"));
    compare_both(ARGS("GET", "cli:missing"));
    compare_both(ARGS("SET", "cli:plain", "bar"));
    compare_both(ARGS("PING"));
}

/* Integers and error replies (and their exit codes). */
static void test_integers_and_errors(void **state)
{
    (void)state;
    compare_both(ARGS("STRLEN", "cli:esc"));
    compare_both(ARGS("EXISTS", "cli:plain", "cli:missing"));
    compare_both(ARGS("NOSUCHCOMMAND", "a"));
    compare_both(ARGS("INCR", "cli:plain"));
    compare_both(ARGS("SET"));
}

/* Arrays: flat with empty and binary elements, empty, nested with a
 * widening index column. */
static void test_arrays(void **state)
{
    (void)state;
    compare_both(ARGS("LRANGE", "cli:list", "0", "-1"));
    compare_both(ARGS("LRANGE", "cli:none", "0", "-1"));
    compare_both(ARGS("HGETALL", "cli:hash"));
    compare_both(ARGS("EVAL", "return {1,{2,{'x',{}}},{},'a',{1,2,3,4,5,6,7,8,9,10,{11,{}}}}",
                      "0"));
}

/* RESP3 (-3): maps, sets, doubles, booleans, verbatim strings, nulls. */
static void test_resp3(void **state)
{
    (void)state;
    compare_both(ARGS("-3", "HGETALL", "cli:hash"));
    compare_both(ARGS("-3", "GET", "cli:missing"));
    static const char *const kinds[] = {"double", "true", "false", "verbatim", "set", "map",
                                        "null", "array", "string", "integer"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        compare_both(ARGS("-3", "DEBUG", "PROTOCOL", kinds[i]));
}

/* Output-mode switches and repetition. */
static void test_modes_and_repeat(void **state)
{
    (void)state;
    compare_both(ARGS("--raw", "LRANGE", "cli:list", "0", "-1"));
    compare_both(ARGS("--no-raw", "LRANGE", "cli:list", "0", "-1"));
    compare_both(ARGS("--raw", "NOSUCHCOMMAND"));
    compare_both(ARGS("-r", "3", "GET", "cli:plain"));
    compare_both(ARGS("-r", "2", "-i", "0.05", "PING"));
}

/* -n selects a database for the command, as redis-cli's; a database the
 * server does not have is an error (redis-cli would go on in database 0). */
static void test_database_option(void **state)
{
    (void)state;
    compare_both(ARGS("-n", "3", "SET", "cli:n", "three"));
    compare_both(ARGS("-n", "3", "GET", "cli:n"));
    compare_both(ARGS("GET", "cli:n"));
    compare_both(ARGS("-n", "0", "GET", "cli:n"));
    compare_both(ARGS("-n", "3", "EXISTS", "cli:n"));
    char line[1024];
    command_line(line, sizeof line, KVCLI_BIN, server.port, ARGS("-n", "3", "DEL", "cli:n"));
    output d = run_shell(line);
    assert_string_equal(d.data, "1\n");
    free(d.data);
    command_line(line, sizeof line, KVCLI_BIN, server.port, ARGS("-n", "16", "PING"));
    strcat(line, " 2>&1");
    output o = run_shell(line);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.data, "DB index is out of range"));
    assert_null(strstr(o.data, "PONG"));
    free(o.data);
}

/* A port nobody listens on: nothing on stdout, exit code 1, for both. */
static void test_connection_refused(void **state)
{
    (void)state;
    int port = rs_free_port();
    compare(ARGS("PING"), 0, port);
    compare(ARGS("PING"), 1, port);
}

/* Commands piped on stdin run one per line with redis-cli's quoting. */
static void test_stdin_commands(void **state)
{
    (void)state;
    char ours[512], theirs[512];
    const char *input = "printf 'SET \"cli:a b\" \"x\\\\ty\"\\nGET \"cli:a b\"\\nLRANGE cli:list 0 -1\\n'";
    snprintf(ours, sizeof ours, "%s | %s -p %d", input, KVCLI_BIN, server.port);
    snprintf(theirs, sizeof theirs, "%s | %s -p %d", input, REDIS_CLI_BIN, server.port);
    output o = run_shell(ours), t = run_shell(theirs);
    assert_int_equal(o.status, t.status);
    if (o.len != t.len || memcmp(o.data, t.data, o.len) != 0)
        fail_msg("stdin mode differs:\n--- redis-cli ---\n%s\n--- kvcli ---\n%s", t.data, o.data);
    assert_non_null(strstr(o.data, "x\ty"));
    free(o.data);
    free(t.data);
}

/* The interactive prompt (on a pty) shows host:port, splits quoted
 * arguments, prints replies, saves history and quits on "quit". */
static void test_interactive_prompt(void **state)
{
    (void)state;
    char home[] = "/tmp/kvcli-home-XXXXXX";
    assert_non_null(mkdtemp(home));
    char line[1024];
    snprintf(line, sizeof line,
             "printf 'SET \"cli:i k\" \"v 1\"\\nGET \"cli:i k\"\\nGET \"unbalanced\\nquit\\n' | "
             "HOME=%s TERM=dumb script -qec '%s -p %d' /dev/null",
             home, KVCLI_BIN, server.port);
    output o = run_shell(line);
    char prompt[64];
    snprintf(prompt, sizeof prompt, "127.0.0.1:%d> ", server.port);
    assert_non_null(strstr(o.data, prompt));
    assert_non_null(strstr(o.data, "OK"));
    assert_non_null(strstr(o.data, "\"v 1\""));
    assert_non_null(strstr(o.data, "Invalid argument(s)"));
    assert_int_equal(o.status, 0);
    free(o.data);
    kv_reply *r = rs_cmd(&server, "GET", "cli:i k", NULL);
    assert_int_equal(r->type, KV_REPLY_STRING);
    assert_string_equal(r->str, "v 1");
    kv_reply_free(r);

    char path[128];
    snprintf(path, sizeof path, "%s/.kvcli_history", home);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char hist[4096] = "";
    size_t n = fread(hist, 1, sizeof hist - 1, f);
    hist[n] = '\0';
    fclose(f);
    assert_non_null(strstr(hist, "GET"));
    unlink(path);
    rmdir(home);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_and_nil),
        cmocka_unit_test(test_integers_and_errors),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_resp3),
        cmocka_unit_test(test_modes_and_repeat),
        cmocka_unit_test(test_database_option),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_stdin_commands),
        cmocka_unit_test(test_interactive_prompt),
    };
    return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
