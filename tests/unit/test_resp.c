/* test_resp.c — the request parser against Redis 7's networking.c
 * behaviour: both request forms, every split of the input, every limit and
 * its exact error, the quirks clients can observe, and linear work on huge
 * arguments. Expected argument lists and errors were confirmed against
 * redis-server 7.0.15; the tests do not need it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "resp.h"

/* ---- Fixture ---- */

/* A simulated connection: the query buffer it reads into and its parser. */
typedef struct conn {
    kbuf q;
    resp_parser *p;
    kbuf log;   /* transcript: one line per command, "!msg" for an error */
    int failed; /* a protocol error was reported */
    int cmds;
} conn;

static void conn_open(conn *c, const resp_limits *lim)
{
    kbuf_init(&c->q);
    kbuf_init(&c->log);
    c->p = resp_parser_new(lim);
    c->failed = 0;
    c->cmds = 0;
}

static void conn_close(conn *c)
{
    resp_parser_free(c->p);
    kbuf_free(&c->q);
    kbuf_free(&c->log);
}

/* ---- Helpers ---- */

/* Append one argument to the transcript, printable: '|' separates
 * arguments, and '|', '\\' and bytes outside 0x21..0x7e are escaped. */
static void log_arg(kbuf *log, const char *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)a[i];
        if (ch == '|' || ch == '\\' || ch <= 0x20 || ch >= 0x7f)
            kbuf_printf(log, "\\x%02x", ch);
        else
            kbuf_putc(log, (char)ch);
    }
}

static void log_command(conn *c, const char *buf)
{
    const size_t *lens;
    const char *const *argv = resp_argv(c->p, buf, &lens);
    for (int i = 0; i < resp_argc(c->p); i++) {
        if (i)
            kbuf_putc(&c->log, '|');
        log_arg(&c->log, argv[i], lens[i]);
    }
    kbuf_putc(&c->log, '\n');
    c->cmds++;
}

/* Append bytes as the network delivered them and run every complete
 * request, as the connection code does. Each parse sees the pending bytes
 * in a fresh allocation of exactly their size, so ASan catches any read
 * past them and every call proves positions survive a moved buffer. */
static void conn_feed(conn *c, const char *in, size_t n)
{
    if (c->failed)
        return;
    kbuf_append(&c->q, in, n);
    for (;;) {
        size_t used, len = kbuf_len(&c->q);
        char *exact = malloc(len ? len : 1);
        if (len)
            memcpy(exact, kbuf_data(&c->q), len);
        int rc = resp_parse(c->p, exact, len, &used);
        assert_true(used <= len);
        if (rc == RESP_CMD) {
            assert_true(resp_argc(c->p) >= 1);
            log_command(c, exact);
        }
        free(exact);
        if (rc == RESP_CMD) {
            kbuf_consume(&c->q, used);
        } else if (rc == RESP_NEED) {
            kbuf_consume(&c->q, used);
            return;
        } else {
            assert_int_equal(rc, RESP_ERR);
            kbuf_printf(&c->log, "!%s\n", resp_error(c->p));
            c->failed = 1;
            return;
        }
    }
}

/* The transcript of `in` delivered in pieces of `chunk` bytes (0: all at
 * once), with default limits unless lim is given. Caller frees. */
static char *transcript(const char *in, size_t n, size_t chunk, const resp_limits *lim)
{
    conn c;
    conn_open(&c, lim);
    if (chunk == 0)
        chunk = n ? n : 1;
    for (size_t at = 0; at < n; at += chunk)
        conn_feed(&c, in + at, n - at < chunk ? n - at : chunk);
    if (n == 0)
        conn_feed(&c, "", 0);
    kbuf_putc(&c.log, '\0');
    char *out = kv_memdup(kbuf_data(&c.log), kbuf_len(&c.log));
    conn_close(&c);
    return out;
}

/* The transcript of in[0 .. cut) then in[cut .. n). */
static char *transcript_split(const char *in, size_t n, size_t cut)
{
    conn c;
    conn_open(&c, NULL);
    conn_feed(&c, in, cut);
    conn_feed(&c, in + cut, n - cut);
    kbuf_putc(&c.log, '\0');
    char *out = kv_memdup(kbuf_data(&c.log), kbuf_len(&c.log));
    conn_close(&c);
    return out;
}

/* `in` gives `want` whole, split at every byte boundary, and a byte at a
 * time. */
static void expect_everywhere(const char *in, size_t n, const char *want)
{
    char *got = transcript(in, n, 0, NULL);
    assert_string_equal(got, want);
    kv_free(got);
    for (size_t cut = 0; cut <= n; cut++) {
        got = transcript_split(in, n, cut);
        assert_string_equal(got, want);
        kv_free(got);
    }
    got = transcript(in, n, 1, NULL);
    assert_string_equal(got, want);
    kv_free(got);
}

#define EXPECT(lit, want) expect_everywhere(lit, sizeof(lit) - 1, want)

/* Transcript of a literal given whole, with limits. */
static void expect_whole(const char *in, size_t n, const resp_limits *lim, const char *want)
{
    char *got = transcript(in, n, 0, lim);
    assert_string_equal(got, want);
    kv_free(got);
}

#define EXPECT_WHOLE(lit, lim, want) expect_whole(lit, sizeof(lit) - 1, lim, want)

/* A request for argv[0..argc) in canonical multibulk form. */
static void encode(kbuf *b, int argc, const char *const *argv, const size_t *lens)
{
    kbuf_printf(b, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        kbuf_printf(b, "$%zu\r\n", lens[i]);
        kbuf_append(b, argv[i], lens[i]);
        kbuf_append(b, "\r\n", 2);
    }
}

/* ---- Tests: multibulk ---- */

/* A multibulk request arrives whole, split anywhere, or byte by byte. */
static void test_multibulk_every_split(void **state)
{
    (void)state;
    EXPECT("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", "SET|key|value\n");
    EXPECT("*1\r\n$0\r\n\r\n", "\n");
    EXPECT("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n", "ECHO|\nPING\n");
}

/* Inline requests, CRLF or bare LF, arrive whole, split anywhere, or byte by
 * byte; blank lines between them are skipped. */
static void test_inline_every_split(void **state)
{
    (void)state;
    EXPECT("PING\r\n", "PING\n");
    EXPECT("SET k \"a b\"\nGET k\r\n", "SET|k|a\\x20b\nGET|k\n");
    EXPECT("\r\n\n   \n\t\r\nPING\n", "PING\n");
    EXPECT("'x\\'y' \"\\x41\\n\"\r\n", "x'y|A\\x0a\n");
}

/* Inline, multibulk, empty and skipped requests mixed in one stream keep
 * their order, at every split. */
static void test_mixed_pipeline_every_split(void **state)
{
    (void)state;
    EXPECT("*0\r\nPING\r\n*-1\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n\r\nINCR n\n*-7\r\n",
           "PING\nGET|k\nINCR|n\n");
}

/* Arguments may hold CR, LF and NUL bytes: a bulk is taken by its length. */
static void test_binary_arguments(void **state)
{
    (void)state;
    static const char in[] = "*3\r\n$3\r\nSET\r\n$4\r\n\r\n\r\n\r\n$5\r\na\0b\0\n\r\n";
    expect_everywhere(in, sizeof in - 1, "SET|\\x0d\\x0a\\x0d\\x0a|a\\x00b\\x00\\x0a\n");
}

/* A thousand pipelined requests in one buffer come out in order, each
 * consuming exactly its own bytes. */
static void test_pipeline_of_many(void **state)
{
    (void)state;
    kbuf in = KBUF_INIT, want = KBUF_INIT;
    for (int i = 0; i < 1000; i++) {
        char key[16];
        int n = snprintf(key, sizeof key, "k%d", i);
        if (i % 3 == 0) {
            kbuf_printf(&in, "INCRBY %s %d\r\n", key, i);
            kbuf_printf(&want, "INCRBY|%s|%d\n", key, i);
        } else {
            const char *argv[] = {"SET", key, "v"};
            size_t lens[] = {3, (size_t)n, 1};
            encode(&in, 3, argv, lens);
            kbuf_printf(&want, "SET|%s|v\n", key);
        }
    }
    kbuf_putc(&want, '\0');
    char *got = transcript(kbuf_data(&in), kbuf_len(&in), 0, NULL);
    assert_string_equal(got, kbuf_data(&want));
    kv_free(got);
    got = transcript(kbuf_data(&in), kbuf_len(&in), 7, NULL);
    assert_string_equal(got, kbuf_data(&want));
    kv_free(got);
    kbuf_free(&in);
    kbuf_free(&want);
}

/* The two bytes after a bulk and the byte after each '\r' of a length line
 * are skipped without being checked, as Redis does. */
static void test_unchecked_terminators(void **state)
{
    (void)state;
    EXPECT("*1\r\n$4\r\nPINGxx", "PING\n");
    EXPECT("*2\rX$4\rYECHO\r\n$1\rZa!!*1\r\n$4\r\nPING\r\n", "ECHO|a\nPING\n");
}

/* A count of zero or any negative count is an empty request: skipped. */
static void test_empty_and_negative_counts_skipped(void **state)
{
    (void)state;
    EXPECT("*0\r\n*-1\r\n*-5\r\n*-9223372036854775808\r\nPING\r\n", "PING\n");
    EXPECT("*0\r\n", "");
}

/* Bytes consumed on RESP_NEED cover skipped empty requests only, and a
 * request's argument offsets stay right when the caller drops them. */
static void test_consumed_on_need(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_new(NULL);
    static const char in[] = "\r\n*0\r\n*1\r\n$4\r\nPI";
    size_t used;
    assert_int_equal(resp_parse(p, in, sizeof in - 1, &used), RESP_NEED);
    assert_int_equal(used, 6);
    static const char rest[] = "*1\r\n$4\r\nPING\r\n";
    assert_int_equal(resp_parse(p, rest, sizeof rest - 1, &used), RESP_CMD);
    assert_int_equal(used, sizeof rest - 1);
    size_t n;
    const char *a = resp_arg(p, rest, 0, &n);
    assert_int_equal(n, 4);
    assert_memory_equal(a, "PING", 4);
    assert_int_equal(resp_is_inline(p), 0);
    resp_parser_free(p);
}

/* Argument positions survive the caller moving its buffer between calls
 * and after the request is complete. */
static void test_positions_survive_moves(void **state)
{
    (void)state;
    static const char in[] = "*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n";
    size_t n = sizeof in - 1;
    resp_parser *p = resp_parser_new(NULL);
    char *a = kv_malloc(n);
    memcpy(a, in, 20);
    size_t used;
    assert_int_equal(resp_parse(p, a, 20, &used), RESP_NEED);
    assert_int_equal(used, 0);
    char *b = kv_malloc(n + 100); /* the caller grew and moved its buffer */
    memcpy(b, a, 20);
    memset(a, 'X', n);
    memcpy(b + 20, in + 20, n - 20);
    assert_int_equal(resp_parse(p, b, n, &used), RESP_CMD);
    assert_int_equal(used, n);
    char *c = kv_malloc(n); /* and moved it again before running it */
    memcpy(c, b, n);
    memset(b, 'Y', n);
    size_t len;
    const char *arg = resp_arg(p, c, 1, &len);
    assert_int_equal(len, 11);
    assert_memory_equal(arg, "hello world", 11);
    kv_free(a);
    kv_free(b);
    kv_free(c);
    resp_parser_free(p);
}

/* A re-encoded request parses back to the same arguments. */
static void test_reencode_round_trip(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_new(NULL);
    static const char in[] = "SET \"k\\x00\\r\\n\" 'v v' \"\"\r\n";
    size_t used;
    assert_int_equal(resp_parse(p, in, sizeof in - 1, &used), RESP_CMD);
    assert_int_equal(resp_is_inline(p), 1);
    const size_t *lens;
    const char *const *argv = resp_argv(p, in, &lens);
    assert_int_equal(resp_argc(p), 4);
    kbuf enc = KBUF_INIT;
    encode(&enc, resp_argc(p), argv, lens);
    static const char want[] = "*4\r\n$3\r\nSET\r\n$4\r\nk\0\r\n\r\n$3\r\nv v\r\n$0\r\n\r\n";
    assert_int_equal(kbuf_len(&enc), sizeof want - 1);
    assert_memory_equal(kbuf_data(&enc), want, sizeof want - 1);
    resp_parser *q = resp_parser_new(NULL);
    assert_int_equal(resp_parse(q, kbuf_data(&enc), kbuf_len(&enc), &used), RESP_CMD);
    assert_int_equal(used, kbuf_len(&enc));
    assert_int_equal(resp_argc(q), 4);
    for (int i = 0; i < 4; i++) {
        size_t n;
        const char *a = resp_arg(q, kbuf_data(&enc), i, &n);
        assert_int_equal(n, lens[i]);
        assert_memory_equal(a, argv[i], n);
    }
    kbuf_free(&enc);
    resp_parser_free(p);
    resp_parser_free(q);
}

/* ---- Tests: inline quoting (sdssplitargs) ---- */

/* Every quoting and escape rule of sdssplitargs. */
static void test_inline_quoting(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *want;
    } cases[] = {
        {"x a b", "x|a|b\n"},
        {"  x   a  b  ", "x|a|b\n"},
        {"\tx\ta\t", "x|a\n"},
        {"x \"a b\" c", "x|a\\x20b|c\n"},
        {"x \"\\n\\r\\t\\b\\a\\\\\\\"\"", "x|\\x0a\\x0d\\x09\\x08\\x07\\x5c\"\n"},
        {"x \"\\x41\\x4a\\x4A\\xff\\x00\"", "x|AJJ\\xff\\x00\n"},
        {"x \"\\x4\"", "x|x4\n"},
        {"x \"\\xzz\"", "x|xzz\n"},
        {"x \"a\\x\"", "x|ax\n"},
        {"x \"\\q\"", "x|q\n"},
        {"x 'a b' c", "x|a\\x20b|c\n"},
        {"x 'a\\'b'", "x|a'b\n"},
        {"x 'a\\nb'", "x|a\\x5cnb\n"},
        {"x 'a\\\\b'", "x|a\\x5c\\x5cb\n"},
        {"x 'a\"b' \"a'b\"", "x|a\"b|a'b\n"},
        {"x foo\"bar baz\"", "x|foobar\\x20baz\n"},
        {"x foo'bar baz'", "x|foobar\\x20baz\n"},
        {"x \"\" '' \"\"", "x|||\n"},
        {"x a\vb \va", "x|a\\x0bb|a\n"},
        {"x a\fb", "x|a\\x0cb\n"},
        {"x \"a\"\vb \"c\"\fd", "x|a|b|c|d\n"},
        {"x a\rb", "x|a|b\n"},
        {"x \xff\xfe", "x|\\xff\\xfe\n"},
        {"x \"\\\\\"", "x|\\x5c\n"},
        {"x \"a\\\"b\"", "x|a\"b\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char in[128];
        int n = snprintf(in, sizeof in, "%s\r\n", cases[i].line);
        expect_everywhere(in, (size_t)n, cases[i].want);
    }
}

/* Unbalanced quotes of every kind fail the request with Redis's message,
 * after the requests before it were returned. */
static void test_inline_unbalanced_quotes(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "x \"a\"b", "x 'a'b",    "x \"abc",   "x 'abc", "x \"abc\\\"",
        "x \"a\\",  "x \"\\x41", "x 'a\\\\'", "\"",     "'",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char in[64];
        int n = snprintf(in, sizeof in, "PING\r\n%s\r\nPING\r\n", lines[i]);
        expect_everywhere(in, (size_t)n,
                          "PING\n!Protocol error: unbalanced quotes in request\n");
    }
}

/* A line ends at '\n' and loses one '\r' before it; any other '\r' splits
 * arguments, and a lone "\r\n" or "\n" is an empty request. */
static void test_inline_line_ends(void **state)
{
    (void)state;
    EXPECT("a\r\r\nb\n\r\nc\r\n", "a\nb\nc\n");
    EXPECT("\r\n", "");
    EXPECT("\"a\r\"\r\n", "a\\x0d\n");
}

/* ---- Tests: errors and limits ---- */

/* Each malformed length gets Redis's exact message. */
static void test_length_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"*\r\n", "!Protocol error: invalid multibulk length\n"},
        {"*x\r\n", "!Protocol error: invalid multibulk length\n"},
        {"*01\r\n", "!Protocol error: invalid multibulk length\n"},
        {"*+1\r\n", "!Protocol error: invalid multibulk length\n"},
        {"* 1\r\n", "!Protocol error: invalid multibulk length\n"},
        {"*1 \r\n", "!Protocol error: invalid multibulk length\n"},
        {"*-0\r\n", "!Protocol error: invalid multibulk length\n"},
        {"*2147483648\r\n", "!Protocol error: invalid multibulk length\n"},
        {"*9223372036854775808\r\n", "!Protocol error: invalid multibulk length\n"},
        {"*99999999999999999999999\r\n", "!Protocol error: invalid multibulk length\n"},
        {"*1\n$4\r\nPING\r\n", "!Protocol error: invalid multibulk length\n"},
        {"*1\r\n$-1\r\n", "!Protocol error: invalid bulk length\n"},
        {"*1\r\n$\r\n", "!Protocol error: invalid bulk length\n"},
        {"*1\r\n$04\r\nPING\r\n", "!Protocol error: invalid bulk length\n"},
        {"*1\r\n$ 4\r\nPING\r\n", "!Protocol error: invalid bulk length\n"},
        {"*1\r\n$4x\r\nPING\r\n", "!Protocol error: invalid bulk length\n"},
        {"*1\r\n$536870913\r\n", "!Protocol error: invalid bulk length\n"},
        {"*1\r\n$9223372036854775807\r\n", "!Protocol error: invalid bulk length\n"},
        {"*1\r\n$-9223372036854775808\r\n", "!Protocol error: invalid bulk length\n"},
        {"*1\r\n:4\r\n", "!Protocol error: expected '$', got ':'\n"},
        {"*1\r\n\r\n", "!Protocol error: expected '$', got ' '\n"},
        {"*1\r\n\n\r\n", "!Protocol error: expected '$', got ' '\n"},
        {"*1\r$4\r\nPING\r\n", "!Protocol error: expected '$', got '4'\n"},
        {"*2\r\n$4\r\nECHO\r\n*1\r\n", "!Protocol error: expected '$', got '*'\n"},
        {"*1\r\n\xff\r\n", "!Protocol error: expected '$', got '\xff'\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_everywhere(cases[i].in, strlen(cases[i].in), cases[i].want);
}

/* The largest accepted lengths are not errors: they wait for their bytes. */
static void test_largest_lengths_wait(void **state)
{
    (void)state;
    EXPECT("*2147483647\r\n", "");
    EXPECT("*1\r\n$536870912\r\n", "");
}

/* A line longer than the inline limit without its end fails with the
 * message for its kind; at exactly the limit it still waits. */
static void test_too_big_lines(void **state)
{
    (void)state;
    static const struct {
        const char *head;
        const char *want;
    } cases[] = {
        {"", "!Protocol error: too big inline request\n"},
        {"*", "!Protocol error: too big mbulk count string\n"},
        {"*1\r\n$", "!Protocol error: too big bulk count string\n"},
        {"*2\r\n$4\r\nECHO\r\n$", "!Protocol error: too big bulk count string\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t h = strlen(cases[i].head);
        /* The line itself (from its first byte) is what counts. */
        size_t before = strchr(cases[i].head, '$') ? (size_t)(strrchr(cases[i].head, '$') -
                                                              cases[i].head)
                                                   : 0;
        size_t n = before + RESP_DEFAULT_MAX_INLINE;
        char *in = kv_malloc(n + 1);
        memcpy(in, cases[i].head, h);
        memset(in + h, '1', n + 1 - h);
        char *got = transcript(in, n, 0, NULL);
        assert_string_equal(got, "");
        kv_free(got);
        got = transcript(in, n + 1, 0, NULL);
        assert_string_equal(got, cases[i].want);
        kv_free(got);
        kv_free(in);
    }
}

/* Whether a long line is "too big" depends on how its bytes arrive, as in
 * Redis: its end in the same piece as the byte over the limit is fine. */
static void test_too_big_depends_on_arrival(void **state)
{
    (void)state;
    /* Longer than the limit plus one 16 KiB read. */
    size_t n = RESP_DEFAULT_MAX_INLINE + 16 * 1024 + 10;
    char *in = kv_malloc(n + 2);
    memset(in, 'a', n);
    in[0] = 'X';
    in[1] = ' ';
    memcpy(in + n, "\r\n", 2);
    char *got = transcript(in, n + 2, 0, NULL);
    assert_int_equal(strlen(got), 2 + (n - 2) + 1);
    kv_free(got);
    got = transcript(in, n + 2, 16 * 1024, NULL);
    assert_string_equal(got, "!Protocol error: too big inline request\n");
    kv_free(got);
    kv_free(in);
}

/* A NUL before a line's end hides that end, as Redis's strchr does: the
 * request waits until it is too big. */
static void test_nul_hides_line_end(void **state)
{
    (void)state;
    EXPECT("PING\0\r\nPING\r\n", "");
    EXPECT("*1\0\r\n$4\r\nPING\r\n", "");
    EXPECT("*1\r\n$4\0\r\nPING\r\n", "");
    resp_limits lim;
    resp_limits_default(&lim);
    lim.max_inline = 8;
    EXPECT_WHOLE("PING\0\r\nPING\r\n", &lim, "!Protocol error: too big inline request\n");
    EXPECT_WHOLE("*1\0\r\n$4\r\nPING\r\n", &lim,
                 "!Protocol error: too big mbulk count string\n");
    EXPECT_WHOLE("*1\r\n$4\0\r\nPING\r\n", &lim,
                 "!Protocol error: too big bulk count string\n");
    /* A NUL after the line end belongs to the next line. */
    EXPECT("PING\r\n\0", "PING\n");
}

/* Configured limits apply: bulk length, argument count and line length. */
static void test_configured_limits(void **state)
{
    (void)state;
    resp_limits lim;
    resp_limits_default(&lim);
    lim.max_bulk_len = 3;
    lim.max_multibulk_len = 2;
    lim.max_inline = 16;
    EXPECT_WHOLE("*2\r\n$3\r\nGET\r\n$3\r\nabc\r\n", &lim, "GET|abc\n");
    EXPECT_WHOLE("*1\r\n$4\r\nPING\r\n", &lim, "!Protocol error: invalid bulk length\n");
    EXPECT_WHOLE("*3\r\n", &lim, "!Protocol error: invalid multibulk length\n");
    EXPECT_WHOLE("aaaaaaaaaaaaaaaa", &lim, "");
    EXPECT_WHOLE("aaaaaaaaaaaaaaaaa", &lim, "!Protocol error: too big inline request\n");
    /* Limits changed at run time take effect on the next length read. */
    resp_parser *p = resp_parser_new(&lim);
    size_t used;
    assert_int_equal(resp_parse(p, "*1\r\n$5\r\nHELLO\r\n", 15, &used), RESP_ERR);
    assert_string_equal(resp_error(p), "Protocol error: invalid bulk length");
    resp_parser_reset(p);
    resp_parser_set_limits(p, NULL);
    assert_int_equal(resp_parse(p, "*1\r\n$5\r\nHELLO\r\n", 15, &used), RESP_CMD);
    resp_parser_free(p);
}

/* Out-of-range limits are clamped: negative ones to 0, a count above
 * INT_MAX to INT_MAX. */
static void test_limits_clamped(void **state)
{
    (void)state;
    resp_limits lim;
    resp_limits_default(&lim);
    lim.max_bulk_len = -5;
    lim.max_multibulk_len = -1;
    EXPECT_WHOLE("*0\r\nPING\r\n", &lim, "PING\n");
    EXPECT_WHOLE("*1\r\n", &lim, "!Protocol error: invalid multibulk length\n");
    lim.max_multibulk_len = LLONG_MAX;
    EXPECT_WHOLE("*2147483647\r\n", &lim, "");
    EXPECT_WHOLE("*2147483648\r\n", &lim, "!Protocol error: invalid multibulk length\n");
    EXPECT_WHOLE("*1\r\n$0\r\n\r\n", &lim, "\n");
    EXPECT_WHOLE("*1\r\n$1\r\nx\r\n", &lim, "!Protocol error: invalid bulk length\n");
    lim.max_bulk_len = LLONG_MAX;
    EXPECT_WHOLE("*1\r\n$9223372036854775807\r\n", &lim,
                 "!Protocol error: invalid bulk length\n");
    EXPECT_WHOLE("*1\r\n$4611686018427387903\r\n", &lim, "");
}

/* An inline request may have many arguments; all of them come back. */
static void test_inline_many_arguments(void **state)
{
    (void)state;
    kbuf in = KBUF_INIT, want = KBUF_INIT;
    for (int i = 0; i < 3000; i++) {
        kbuf_printf(&in, "%sa%d", i ? " " : "", i);
        kbuf_printf(&want, "%sa%d", i ? "|" : "", i);
    }
    kbuf_append_str(&in, "\r\n");
    kbuf_append(&want, "\n", 2);
    char *got = transcript(kbuf_data(&in), kbuf_len(&in), 0, NULL);
    assert_string_equal(got, kbuf_data(&want));
    kv_free(got);
    kbuf_free(&in);
    kbuf_free(&want);
}

/* An unauthenticated client gets Redis's tighter limits and messages. */
static void test_unauthenticated_limits(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_new(NULL);
    resp_parser_set_unauth(p, 1);
    size_t used;
    assert_int_equal(resp_parse(p, "*10\r\n", 5, &used), RESP_NEED);
    resp_parser_reset(p);
    assert_int_equal(resp_parse(p, "*11\r\n", 5, &used), RESP_ERR);
    assert_string_equal(resp_error(p), "Protocol error: unauthenticated multibulk length");
    resp_parser_reset(p);
    assert_int_equal(resp_parse(p, "*1\r\n$16384\r\n", 12, &used), RESP_NEED);
    resp_parser_reset(p);
    assert_int_equal(resp_parse(p, "*1\r\n$16385\r\n", 12, &used), RESP_ERR);
    assert_string_equal(resp_error(p), "Protocol error: unauthenticated bulk length");
    resp_parser_reset(p);
    resp_parser_set_unauth(p, 0);
    assert_int_equal(resp_parse(p, "*1\r\n$16385\r\n", 12, &used), RESP_NEED);
    resp_parser_free(p);
}

/* An error is sticky until reset; reset forgets a partial request. */
static void test_error_sticky_and_reset(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_new(NULL);
    size_t used;
    assert_int_equal(resp_parse(p, "*x\r\n", 4, &used), RESP_ERR);
    assert_int_equal(resp_parse(p, "PING\r\n", 6, &used), RESP_ERR);
    assert_string_equal(resp_error(p), "Protocol error: invalid multibulk length");
    resp_parser_reset(p);
    assert_string_equal(resp_error(p), "");
    assert_int_equal(resp_parse(p, "*2\r\n$3\r\nGET\r\n", 13, &used), RESP_NEED);
    resp_parser_reset(p);
    assert_int_equal(resp_parse(p, "PING\r\n", 6, &used), RESP_CMD);
    assert_int_equal(used, 6);
    resp_parser_free(p);
}

/* ---- Tests: resources and work ---- */

/* A huge announced count allocates nothing until its arguments come, and
 * then grows with them. */
static void test_announced_count_allocates_nothing(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_new(NULL);
    size_t before = kv_used_memory();
    size_t used;
    assert_int_equal(resp_parse(p, "*1000000\r\n", 10, &used), RESP_NEED);
    assert_int_equal(kv_used_memory(), before);
    kbuf in = KBUF_INIT;
    kbuf_append_str(&in, "*1000000\r\n");
    for (int i = 0; i < 100; i++)
        kbuf_append_str(&in, "$1\r\nx\r\n");
    assert_int_equal(resp_parse(p, kbuf_data(&in), kbuf_len(&in), &used), RESP_NEED);
    /* 100 arguments' worth (3 arrays of 128 entries at most), not a million. */
    assert_true(kv_used_memory() - before < 8 * 1024);
    kbuf_free(&in);
    resp_parser_free(p);
}

/* A 10 MB bulk fed one byte at a time, then 16 KiB at a time, costs work
 * linear in its size: its data bytes are never scanned. */
static void test_big_bulk_linear_work(void **state)
{
    (void)state;
    const size_t big = 10u * 1024 * 1024;
    const size_t pieces[] = {1, 16 * 1024};
    kbuf in = KBUF_INIT;
    kbuf_printf(&in, "*2\r\n$3\r\nSET\r\n$%zu\r\n", big);
    size_t head = kbuf_len(&in);
    kbuf_reserve(&in, big + 2);
    for (size_t i = 0; i < big; i++)
        kbuf_tail(&in)[i] = (char)('a' + i % 26);
    kbuf_commit(&in, big);
    kbuf_append(&in, "\r\n", 2);
    const char *src = kbuf_data(&in);
    size_t total = kbuf_len(&in);
    for (size_t k = 0; k < 2; k++) {
        resp_parser *p = resp_parser_new(NULL);
        kbuf q = KBUF_INIT;
        uint64_t calls = 0;
        int got = 0;
        for (size_t at = 0; at < total; at += pieces[k]) {
            size_t n = total - at < pieces[k] ? total - at : pieces[k];
            kbuf_append(&q, src + at, n);
            size_t used;
            int rc = resp_parse(p, kbuf_data(&q), kbuf_len(&q), &used);
            calls++;
            if (rc == RESP_CMD) {
                size_t len;
                const char *v = resp_arg(p, kbuf_data(&q), 1, &len);
                assert_int_equal(len, big);
                assert_memory_equal(v, src + head, big);
                assert_int_equal(used, total);
                got = 1;
                kbuf_consume(&q, used);
            } else {
                assert_int_equal(rc, RESP_NEED);
                if (at >= head)
                    assert_int_equal(resp_want(p), total);
            }
        }
        assert_true(got);
        /* One unit per call plus the header bytes, never the data. */
        assert_true(resp_parser_work(p) <= calls + head + 8);
        kbuf_free(&q);
        resp_parser_free(p);
    }
    kbuf_free(&in);
}

/* Many small arguments delivered one byte at a time are each scanned once. */
static void test_many_args_linear_work(void **state)
{
    (void)state;
    kbuf in = KBUF_INIT;
    const int argc = 20000;
    kbuf_printf(&in, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        kbuf_printf(&in, "$5\r\n%05d\r\n", i);
    resp_parser *p = resp_parser_new(NULL);
    kbuf q = KBUF_INIT;
    size_t total = kbuf_len(&in);
    for (size_t at = 0; at < total; at++) {
        kbuf_putc(&q, kbuf_data(&in)[at]);
        size_t used;
        int rc = resp_parse(p, kbuf_data(&q), kbuf_len(&q), &used);
        assert_int_equal(rc, at + 1 == total ? RESP_CMD : RESP_NEED);
    }
    assert_int_equal(resp_argc(p), argc);
    size_t len;
    assert_memory_equal(resp_arg(p, kbuf_data(&q), argc - 1, &len), "19999", 5);
    /* Calls, plus each length line once, plus re-finding a '\r' whose
     * follower had not arrived (once per line). */
    assert_true(resp_parser_work(p) <= 3 * (uint64_t)total);
    kbuf_free(&q);
    kbuf_free(&in);
    resp_parser_free(p);
}

/* A long inline line fed byte by byte is scanned once, not once per byte. */
static void test_inline_linear_work(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_new(NULL);
    kbuf q = KBUF_INIT;
    const size_t n = 60000;
    for (size_t i = 0; i < n; i++) {
        kbuf_putc(&q, i % 10 == 9 ? ' ' : 'a');
        size_t used;
        assert_int_equal(resp_parse(p, kbuf_data(&q), kbuf_len(&q), &used), RESP_NEED);
    }
    kbuf_putc(&q, '\n');
    size_t used;
    assert_int_equal(resp_parse(p, kbuf_data(&q), kbuf_len(&q), &used), RESP_CMD);
    assert_int_equal(resp_argc(p), (int)(n / 10));
    assert_true(resp_parser_work(p) <= 3 * (uint64_t)n + 8);
    kbuf_free(&q);
    resp_parser_free(p);
}

/* Scratch and argv memory from one huge request is released when the next
 * request starts, and a freed parser leaves nothing behind. */
static void test_memory_released(void **state)
{
    (void)state;
    size_t base = kv_used_memory();
    resp_parser *p = resp_parser_new(NULL);
    kbuf in = KBUF_INIT;
    kbuf_printf(&in, "*5000\r\n");
    for (int i = 0; i < 5000; i++)
        kbuf_append_str(&in, "$1\r\nx\r\n");
    size_t used;
    assert_int_equal(resp_parse(p, kbuf_data(&in), kbuf_len(&in), &used), RESP_CMD);
    size_t peak = kv_used_memory();
    assert_int_equal(resp_parse(p, "PING\r\n", 6, &used), RESP_CMD);
    assert_true(kv_used_memory() < peak - 5000 * 16);
    kbuf_free(&in);
    resp_parser_free(p);
    assert_int_equal(kv_used_memory(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multibulk_every_split),
        cmocka_unit_test(test_inline_every_split),
        cmocka_unit_test(test_mixed_pipeline_every_split),
        cmocka_unit_test(test_binary_arguments),
        cmocka_unit_test(test_pipeline_of_many),
        cmocka_unit_test(test_unchecked_terminators),
        cmocka_unit_test(test_empty_and_negative_counts_skipped),
        cmocka_unit_test(test_consumed_on_need),
        cmocka_unit_test(test_positions_survive_moves),
        cmocka_unit_test(test_reencode_round_trip),
        cmocka_unit_test(test_inline_quoting),
        cmocka_unit_test(test_inline_unbalanced_quotes),
        cmocka_unit_test(test_inline_line_ends),
        cmocka_unit_test(test_length_errors),
        cmocka_unit_test(test_largest_lengths_wait),
        cmocka_unit_test(test_too_big_lines),
        cmocka_unit_test(test_too_big_depends_on_arrival),
        cmocka_unit_test(test_nul_hides_line_end),
        cmocka_unit_test(test_configured_limits),
        cmocka_unit_test(test_limits_clamped),
        cmocka_unit_test(test_inline_many_arguments),
        cmocka_unit_test(test_unauthenticated_limits),
        cmocka_unit_test(test_error_sticky_and_reset),
        cmocka_unit_test(test_announced_count_allocates_nothing),
        cmocka_unit_test(test_big_bulk_linear_work),
        cmocka_unit_test(test_many_args_linear_work),
        cmocka_unit_test(test_inline_linear_work),
        cmocka_unit_test(test_memory_released),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
