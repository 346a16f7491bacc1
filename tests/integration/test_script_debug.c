/* test_script_debug.c — SCRIPT DEBUG, the Lua debugger, against
 * redis-server: every session below runs on both, in SYNC and in YES
 * (forked) mode, over a raw connection, and the transcripts (each reply
 * the client reads, up to the server's closing of the connection) must be
 * identical. redis-cli --ldb reads exactly these replies.
 *
 * Then what only kvnode's side can show: SYNC keeps the script's writes
 * (durable: they survive a kill -9), YES discards them (nothing reaches
 * the WAL) while the server goes on serving, a forked session's child is
 * reaped when it ends or when its client goes, and a SYNC script whose
 * client left runs on to its end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static h_pair pr;

static int group_setup(void **state)
{
    (void)state;
    const char *extra[] = {"--save", "", NULL};
    return h_pair_start(&pr, "scriptdebug", NULL, extra);
}

static int group_teardown(void **state)
{
    (void)state;
    h_pair_stop(&pr);
    return 0;
}

/* ---- A raw RESP reader ---- */

typedef struct conn {
    int fd;
    char buf[65536];
    size_t start, end;
    int eof;
} conn;

#define READ_MS 10000

/* Fill the buffer (bounded): 1 on data, 0 on EOF, -1 on timeout. */
static int fill(conn *c)
{
    if (c->start == c->end)
        c->start = c->end = 0;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    if (poll(&p, 1, READ_MS) != 1)
        return -1;
    ssize_t n = read(c->fd, c->buf + c->end, sizeof c->buf - c->end);
    if (n <= 0) {
        c->eof = 1;
        return 0;
    }
    c->end += (size_t)n;
    return 1;
}

static int get_line(conn *c, char *out, size_t len)
{
    for (;;) {
        for (size_t i = c->start; i + 1 < c->end; i++) {
            if (c->buf[i] == '\r' && c->buf[i + 1] == '\n') {
                size_t n = i - c->start;
                if (n >= len)
                    n = len - 1;
                memcpy(out, c->buf + c->start, n);
                out[n] = '\0';
                c->start = i + 2;
                return 0;
            }
        }
        if (c->start > 0 && c->end == sizeof c->buf) {
            memmove(c->buf, c->buf + c->start, c->end - c->start);
            c->end -= c->start;
            c->start = 0;
        }
        if (fill(c) <= 0)
            return -1;
    }
}

/* Append one reply's text to t (arrays as [a, b]); -1 at EOF/timeout. */
static int read_reply(conn *c, char *t, size_t tlen)
{
    char line[8192];
    if (get_line(c, line, sizeof line) < 0)
        return -1;
    size_t used = strlen(t);
    if (line[0] == '*') {
        long n = atol(line + 1);
        snprintf(t + used, tlen - used, "[");
        for (long i = 0; i < n; i++) {
            if (i)
                strncat(t, ", ", tlen - strlen(t) - 1);
            if (read_reply(c, t, tlen) < 0)
                return -1;
        }
        strncat(t, "]", tlen - strlen(t) - 1);
        return 0;
    }
    if (line[0] == '$') {
        long n = atol(line + 1);
        if (n < 0) {
            strncat(t, "(nil)", tlen - used - 1);
            return 0;
        }
        char data[8192];
        size_t got = 0, want = (size_t)n + 2;
        while (got < want) {
            if (c->start == c->end && fill(c) <= 0)
                return -1;
            size_t take = c->end - c->start < want - got ? c->end - c->start : want - got;
            if (got + take < sizeof data)
                memcpy(data + got, c->buf + c->start, take);
            c->start += take;
            got += take;
        }
        data[n < (long)sizeof data ? n : (long)sizeof data - 1] = '\0';
        snprintf(t + used, tlen - used, "\"%s\"", data);
        return 0;
    }
    snprintf(t + used, tlen - used, "%s", line);
    return 0;
}

static void send_argv(int fd, int argc, const char *const *argv, const size_t *lens)
{
    char out[16384];
    size_t n = (size_t)snprintf(out, sizeof out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        n += (size_t)snprintf(out + n, sizeof out - n, "$%zu\r\n", lens[i]);
        memcpy(out + n, argv[i], lens[i]);
        n += lens[i];
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    assert_int_equal(h_raw_send(fd, out, n), 0);
}

/* Send a command given as words separated by '|' ("r|get|k"); "\0" in a
 * word is a NUL byte. */
static void send_words(int fd, const char *words)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", words);
    const char *argv[128];
    size_t lens[128];
    int argc = 0;
    char *p = copy;
    for (;;) {
        char *bar = strchr(p, '|');
        if (bar)
            *bar = '\0';
        /* Unescape \0 in place. */
        char *w = p, *o = p;
        while (*w) {
            if (w[0] == '\\' && w[1] == '0') {
                *o++ = '\0';
                w += 2;
            } else {
                *o++ = *w++;
            }
        }
        argv[argc] = p;
        lens[argc++] = (size_t)(o - p);
        if (!bar)
            break;
        p = bar + 1;
    }
    send_argv(fd, argc, argv, lens);
}

/* ---- Sessions ---- */

/* A session: SCRIPT DEBUG <mode>, then EVAL script with its arguments
 * ("0" or "1|key|arg"), then the debugger commands. A command that starts
 * with '!' ends the session: its reply, the EVAL's, then the server closes
 * the connection. A command "raw:..." is sent as is (the bytes after the
 * colon, with \r\n escapes). The transcript is written to t. */
typedef struct session {
    const char *name;
    const char *script;
    const char *args;
    const char *steps[40];
} session;

static void unescape(const char *in, char *out, size_t *n)
{
    size_t k = 0;
    for (const char *p = in; *p;) {
        if (p[0] == '\\' && p[1] == 'r') {
            out[k++] = '\r';
            p += 2;
        } else if (p[0] == '\\' && p[1] == 'n') {
            out[k++] = '\n';
            p += 2;
        } else {
            out[k++] = *p++;
        }
    }
    *n = k;
}

static void run_session(int port, const char *mode, const session *s, char *t, size_t tlen)
{
    t[0] = '\0';
    conn c = {.fd = h_raw_connect(port)};
    assert_true(c.fd >= 0);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "SCRIPT|DEBUG|%s", mode);
    send_words(c.fd, cmd);
    assert_int_equal(read_reply(&c, t, tlen), 0);
    strncat(t, "\n", tlen - strlen(t) - 1);
    /* EVAL script args */
    const char *argv[16];
    size_t lens[16];
    char argcopy[256];
    snprintf(argcopy, sizeof argcopy, "%s", s->args);
    int argc = 0;
    argv[argc] = "EVAL";
    lens[argc++] = 4;
    argv[argc] = s->script;
    lens[argc++] = strlen(s->script);
    for (char *tok = strtok(argcopy, "|"); tok; tok = strtok(NULL, "|")) {
        argv[argc] = tok;
        lens[argc++] = strlen(tok);
    }
    send_argv(c.fd, argc, argv, lens);
    int ended = 0;
    assert_int_equal(read_reply(&c, t, tlen), 0);
    strncat(t, "\n", tlen - strlen(t) - 1);
    if (strstr(t, "<endsession>")) {
        /* The EVAL failed before running: the session is already over. */
        ended = 1;
    }
    for (int i = 0; !ended && s->steps[i]; i++) {
        const char *step = s->steps[i];
        int last = step[0] == '!';
        if (last)
            step++;
        if (!strncmp(step, "raw:", 4)) {
            char raw[1024];
            size_t n;
            unescape(step + 4, raw, &n);
            assert_int_equal(h_raw_send(c.fd, raw, n), 0);
        } else {
            send_words(c.fd, step);
        }
        if (read_reply(&c, t, tlen) != 0)
            fail_msg("session '%s' on port %d: no reply to '%s' (%s); so far:\n%s", s->name,
                     port, step, c.eof ? "closed" : "timed out", t);
        strncat(t, "\n", tlen - strlen(t) - 1);
        ended = last;
    }
    if (ended) {
        /* The EVAL's own reply, then the server closes the connection. */
        if (read_reply(&c, t, tlen) != 0)
            fail_msg("session '%s' on port %d: no EVAL reply (%s); so far:\n%s", s->name, port,
                     c.eof ? "closed" : "timed out", t);
        strncat(t, "\n", tlen - strlen(t) - 1);
        char rest[64] = "";
        assert_int_equal(read_reply(&c, rest, sizeof rest), -1);
        assert_true(c.eof); /* closed, not timed out */
    }
    close(c.fd);
}

static const session sessions[] = {
    {"step, print, redis, debug, break, list, trace, eval, help",
     "local a = 1\nredis.call('set','k',a)\nredis.debug('x', a, {1,2}, {f=true})\nreturn a",
     "0",
     {"s", "p", "p|a", "p|nope", "p|KEYS", "r|get|k", "s", "s", "l", "l|1|1", "w", "b", "b|4",
      "b|9", "b|x", "b", "t", "e|1+2", "e|local z = 5", "e|)", "m", "help", "h|extra",
      "hello\\0world", "\\0hello", "nope|1", "!c"}},
    {"redis with many arguments (no such command)",
     "return 1",
     "0",
     {"redis|test|test|test|test|test|test|test|test|test|test|test|test|test", "r", "!c"}},
    {"breakpoints, removal, continue",
     "local x = 0\nfor i = 1, 3 do\n  x = x + i\nend\nreturn x",
     "0",
     {"b|3", "c", "p|x", "c", "b|-3", "b|-3", "b|0", "!c"}},
    {"redis.breakpoint()",
     "local a = 'v'\nredis.breakpoint()\nlocal b = a .. 'w'\nreturn b",
     "0",
     {"c", "p", "!c"}},
    {"maxlen and trimming",
     "local t = {}\nfor i = 1, 200 do t[i] = i end\nreturn #t",
     "0",
     {"b|3", "c", "p|t", "p|t", "m|0", "p|t", "m|10", "p|t", "m", "!c"}},
    {"replies: RESP2 and RESP3 shapes, errors",
     "redis.call('hset','h','f','1')\nredis.call('zadd','z','1.5','m')\nredis.pcall('incr','h')\n"
     "redis.setresp(3)\nredis.call('hgetall','h')\nredis.call('zscore','z','m')\n"
     "redis.call('get','missing')\nredis.call('smembers','h2')\nreturn redis.call('exists','h')",
     "0",
     {"s", "s", "s", "s", "s", "s", "s", "s", "!c"}},
    {"KEYS and ARGV",
     "return KEYS[1] .. ARGV[1]",
     "1|key|arg",
     {"p|KEYS", "p|ARGV", "e|KEYS[1]", "!c"}},
    {"abort", "local n = redis.call('incr','counter')\nreturn n", "0", {"s", "!a"}},
    {"abort at once", "return 1", "0", {"!abort"}},
    {"a protocol error ends the script", "return 1", "0", {"!raw:hello\\r\\n"}},
    {"script errors", "local t = nil\nreturn t.x", "0", {"!s"}},
    {"wrong number of keys", "return 1", "5", {NULL}},
    {"compile error", "return (", "0", {NULL}},
};

static void compare_all(const char *mode)
{
    static char tk[65536], tr[65536];
    for (size_t i = 0; i < sizeof sessions / sizeof sessions[0]; i++) {
        run_session(pr.redis.port, mode, &sessions[i], tr, sizeof tr);
        run_session(pr.kv.port, mode, &sessions[i], tk, sizeof tk);
        if (strcmp(tk, tr) != 0)
            fprintf(stderr, "session '%s' (%s):\n--- redis-server\n%s--- kvnode\n%s", sessions[i].name,
                    mode, tr, tk);
        assert_string_equal(tk, tr);
    }
}

static void test_sessions_sync(void **state)
{
    (void)state;
    compare_all("SYNC");
}

static void test_sessions_forked(void **state)
{
    (void)state;
    compare_all("YES");
}

/* ---- Commands ---- */

static void same(const char *line)
{
    char tk[4096], tr[4096];
    kv_reply *k = h_cmd(pr.kc, line), *r = h_cmd(pr.rc, line);
    h_reply_text(k, tk, sizeof tk);
    h_reply_text(r, tr, sizeof tr);
    kv_reply_free(k);
    kv_reply_free(r);
    if (strcmp(tk, tr))
        fprintf(stderr, "%s: kvnode %s, redis-server %s\n", line, tk, tr);
    assert_string_equal(tk, tr);
}

static void test_script_debug_command(void **state)
{
    (void)state;
    same("SCRIPT DEBUG");
    same("SCRIPT DEBUG maybe");
    same("SCRIPT DEBUG yes no");
    same("SCRIPT DEBUG NO");
    /* EVALSHA is refused in debug mode, and the connection stays. */
    same("SCRIPT LOAD return 1");
    same("SCRIPT DEBUG yes");
    same("EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0");
    same("EVALSHA nosuchsha 0");
    same("SCRIPT DEBUG no");
    same("EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0");
    /* In a pipeline: refused while earlier replies wait. */
    const int ports[2] = {pr.redis.port, pr.kv.port};
    char t[2][1024];
    for (int i = 0; i < 2; i++) {
        conn c = {.fd = h_raw_connect(ports[i])};
        assert_true(c.fd >= 0);
        const char req[] = "*1\r\n$4\r\nPING\r\n*3\r\n$6\r\nSCRIPT\r\n$5\r\nDEBUG\r\n$3\r\nYES\r\n";
        assert_int_equal(h_raw_send(c.fd, req, sizeof req - 1), 0);
        t[i][0] = '\0';
        assert_int_equal(read_reply(&c, t[i], sizeof t[i]), 0);
        assert_int_equal(read_reply(&c, t[i], sizeof t[i]), 0);
        close(c.fd);
    }
    assert_string_equal(t[1], t[0]);
    assert_non_null(strstr(t[1], "outside a pipeline"));
}

/* ---- kvnode's own ---- */

static int kv_children(void)
{
    /* Children of the kvnode process, zombies included. */
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n_read = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n_read] = '\0';
        const char *rp = strrchr(buf, ')');
        char st;
        int ppid;
        if (rp && sscanf(rp + 2, "%c %d", &st, &ppid) == 2 && ppid == (int)pr.kv.pid)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static int no_children(void *arg)
{
    (void)arg;
    return kv_children() == 0;
}

static kv_reply *kv(const char *line)
{
    return h_cmd(pr.kc, line);
}

static void expect_str(const char *line, const char *want)
{
    kv_reply *r = kv(line);
    char t[512];
    h_reply_text(r, t, sizeof t);
    kv_reply_free(r);
    assert_string_equal(t, want);
}

/* Open a session on kvnode and stop at line 2 of a script that writes. */
static conn open_stopped(const char *mode, const char *key)
{
    conn c = {.fd = h_raw_connect(pr.kv.port)};
    assert_true(c.fd >= 0);
    char t[4096] = "", cmd[64], script[256];
    snprintf(cmd, sizeof cmd, "SCRIPT|DEBUG|%s", mode);
    send_words(c.fd, cmd);
    assert_int_equal(read_reply(&c, t, sizeof t), 0);
    assert_string_equal(t, "+OK");
    snprintf(script, sizeof script,
             "redis.call('set','%s','written')\nredis.call('incr','%s:n')\nreturn 1", key, key);
    const char *argv[] = {"EVAL", script, "0"};
    size_t lens[] = {4, strlen(script), 1};
    send_argv(c.fd, 3, argv, lens);
    t[0] = '\0';
    assert_int_equal(read_reply(&c, t, sizeof t), 0);
    assert_non_null(strstr(t, "Stopped at 1"));
    send_words(c.fd, "s");
    t[0] = '\0';
    assert_int_equal(read_reply(&c, t, sizeof t), 0);
    assert_non_null(strstr(t, "Stopped at 2"));
    return c;
}

static void finish(conn *c)
{
    char t[4096] = "";
    send_words(c->fd, "c");
    assert_int_equal(read_reply(c, t, sizeof t), 0);
    assert_string_equal(t, "[+<endsession>]");
    t[0] = '\0';
    assert_int_equal(read_reply(c, t, sizeof t), 0);
    assert_string_equal(t, ":1");
    assert_int_equal(read_reply(c, t, sizeof t), -1);
    assert_true(c->eof);
    close(c->fd);
}

static void test_forked_session_changes_nothing(void **state)
{
    (void)state;
    conn c = open_stopped("YES", "fk");
    /* The server serves others meanwhile; the child's write is not seen. */
    expect_str("PING", "+PONG");
    expect_str("GET fk", "(nil)");
    assert_int_equal(kv_children(), 1);
    finish(&c);
    assert_true(h_wait_until(no_children, NULL, 10000));
    expect_str("GET fk", "(nil)");
    expect_str("GET fk:n", "(nil)");
    /* A client that goes away mid-session: the child ends too. */
    c = open_stopped("YES", "fk");
    assert_int_equal(kv_children(), 1);
    close(c.fd);
    assert_true(h_wait_until(no_children, NULL, 10000));
    expect_str("GET fk", "(nil)");
    /* Nor another client: a subscriber gets what the child published
     * only from a SYNC session. */
    conn sub = {.fd = h_raw_connect(pr.kv.port)};
    assert_true(sub.fd >= 0);
    send_words(sub.fd, "SUBSCRIBE|ch");
    char t[4096] = "";
    assert_int_equal(read_reply(&sub, t, sizeof t), 0);
    assert_string_equal(t, "[\"subscribe\", \"ch\", :1]");
    for (int m = 0; m < 2; m++) {
        const session ps = {"publish", m ? "return redis.call('publish','ch','from-sync')"
                                         : "return redis.call('publish','ch','from-child')",
                            "0", {"!c"}};
        static char tr[8192];
        run_session(pr.kv.port, m ? "SYNC" : "YES", &ps, tr, sizeof tr);
        assert_non_null(strstr(tr, "[+<endsession>]\n:1\n"));
        if (!m)
            expect_str("PUBLISH ch after-child", ":1");
        t[0] = '\0';
        assert_int_equal(read_reply(&sub, t, sizeof t), 0);
        assert_string_equal(t, m ? "[\"message\", \"ch\", \"from-sync\"]"
                                 : "[\"message\", \"ch\", \"after-child\"]");
    }
    close(sub.fd);
    assert_true(h_wait_until(no_children, NULL, 10000));
    /* Nothing of it reached the WAL: not there after a kill -9. */
    expect_str("SET fk:marker 1", "+OK");
    assert_true(h_stop(&pr.kv, SIGKILL, 10000) >= 0);
    assert_int_equal(h_restart(&pr.kv), 0);
    kv_client_free(pr.kc);
    pr.kc = h_connect(pr.kv.port);
    assert_non_null(pr.kc);
    expect_str("GET fk:marker", "\"1\"");
    expect_str("GET fk", "(nil)");
    expect_str("GET fk:n", "(nil)");
}

static void test_sync_session_keeps_writes(void **state)
{
    (void)state;
    conn c = open_stopped("SYNC", "sk");
    finish(&c);
    expect_str("GET sk", "\"written\"");
    expect_str("GET sk:n", "\"1\"");
    /* A client gone mid-session: the script runs on to its end, without
     * stops, and its writes stay. */
    c = open_stopped("SYNC", "sk2");
    close(c.fd);
    expect_str("GET sk2:n", "\"1\"");
    /* Durable, as any EVAL's writes. */
    assert_true(h_stop(&pr.kv, SIGKILL, 10000) >= 0);
    assert_int_equal(h_restart(&pr.kv), 0);
    kv_client_free(pr.kc);
    pr.kc = h_connect(pr.kv.port);
    assert_non_null(pr.kc);
    expect_str("GET sk", "\"written\"");
    expect_str("GET sk2", "\"written\"");
    expect_str("GET sk2:n", "\"1\"");
    assert_int_equal(kv_children(), 0);
}

/* A script that loops: the debugger stops it after busy-reply-threshold. */
static void test_timeout_stop(void **state)
{
    (void)state;
    static char tk[8192], tr[8192];
    const char *cfg = "CONFIG SET busy-reply-threshold 200";
    kv_reply_free(h_cmd(pr.kc, cfg));
    kv_reply_free(h_cmd(pr.rc, cfg));
    const session s = {"timeout", "local i = 0\nwhile true do\n  i = i + 1\nend", "0", {"c", "!a"}};
    for (int m = 0; m < 2; m++) {
        const char *mode = m ? "YES" : "SYNC";
        run_session(pr.redis.port, mode, &s, tr, sizeof tr);
        run_session(pr.kv.port, mode, &s, tk, sizeof tk);
        assert_string_equal(tk, tr);
        assert_non_null(strstr(tk, "timeout reached, infinite loop?"));
    }
    cfg = "CONFIG SET busy-reply-threshold 5000";
    kv_reply_free(h_cmd(pr.kc, cfg));
    kv_reply_free(h_cmd(pr.rc, cfg));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_script_debug_command),
        cmocka_unit_test(test_sessions_sync),
        cmocka_unit_test(test_sessions_forked),
        cmocka_unit_test(test_timeout_stop),
        cmocka_unit_test(test_forked_session_changes_nothing),
        cmocka_unit_test(test_sync_session_keeps_writes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
