/* test_reply.c — the reply encoder in RESP2 and RESP3 and Redis's number
 * formats, byte for byte. Every expected literal is what redis-server
 * 7.0.15 sends for the same value (captured from a raw socket while the
 * encoder was written); the tests do not need a server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "reply.h"

/* ---- Fixture ---- */

/* One output buffer and a reply view of it per protocol version. */
typedef struct fixture {
    kbuf out2, out3;
    reply r2, r3;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    kbuf_init(&f->out2);
    kbuf_init(&f->out3);
    f->r2 = reply_make(&f->out2, 2);
    f->r3 = reply_make(&f->out3, 3);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kbuf_free(&f->out2);
    kbuf_free(&f->out3);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

/* The buffer holds exactly the n bytes at want; then it is emptied. */
static void expect_bytes(kbuf *b, const char *want, size_t n)
{
    if (kbuf_len(b) != n || memcmp(kbuf_data(b), want, n) != 0) {
        fprintf(stderr, "want %zu bytes: ", n);
        fwrite(want, 1, n, stderr);
        fprintf(stderr, "\ngot  %zu bytes: ", kbuf_len(b));
        fwrite(kbuf_data(b), 1, kbuf_len(b), stderr);
        fprintf(stderr, "\n");
        fail();
    }
    kbuf_reset(b);
}

#define EXPECT2(f, lit) expect_bytes(&(f)->out2, lit, sizeof(lit) - 1)
#define EXPECT3(f, lit) expect_bytes(&(f)->out3, lit, sizeof(lit) - 1)

/* Run the same encoder call against both protocol versions. */
#define BOTH(f, call)                                                                   \
    do {                                                                                \
        reply *r_ = &(f)->r2;                                                           \
        call;                                                                           \
        r_ = &(f)->r3;                                                                  \
        call;                                                                           \
    } while (0)

/* INCRBYFLOAT's arithmetic and reply text: old + incr as long doubles,
 * formatted by ld2string(HUMAN); NULL when Redis refuses the operands. */
static const char *incrbyfloat(const char *old, const char *incr, char *buf, size_t len)
{
    long double a, b;
    if (!kv_string2ld(old, strlen(old), &a) || !kv_string2ld(incr, strlen(incr), &b))
        return NULL;
    long double v = a + b;
    if (isnan(v) || isinf(v))
        return NULL;
    kv_ld2string(buf, len, v, KV_LD_HUMAN);
    return buf;
}

/* ---- Tests: scalars ---- */

/* Simple strings, OK and errors are the same in both versions, and no CR
 * or LF from the caller can end the line early. */
static void test_simple_and_errors(void **state)
{
    fixture *f = *state;
    BOTH(f, reply_simple(r_, "PONG"));
    EXPECT2(f, "+PONG\r\n");
    EXPECT3(f, "+PONG\r\n");
    BOTH(f, reply_ok(r_));
    EXPECT2(f, "+OK\r\n");
    EXPECT3(f, "+OK\r\n");
    reply_simple_len(&f->r2, "a\r\nb", 4);
    EXPECT2(f, "+a  b\r\n");
    BOTH(f, reply_error(r_, "ERR syntax error"));
    EXPECT2(f, "-ERR syntax error\r\n");
    EXPECT3(f, "-ERR syntax error\r\n");
    reply_error(&f->r2, "ERR bad\r\n-ERR forged");
    EXPECT2(f, "-ERR bad  -ERR forged\r\n");
}

/* reply_errorf trims CR/LF at both ends and blanks the inner ones, as
 * addReplyErrorFormat does. */
static void test_errorf_sanitizes(void **state)
{
    fixture *f = *state;
    reply_errorf(&f->r2, "ERR invalid expire time in '%s' command", "set");
    EXPECT2(f, "-ERR invalid expire time in 'set' command\r\n");
    reply_errorf(&f->r2, "\r\nERR a%sb\n\r", "\r\n");
    EXPECT2(f, "-ERR a  b\r\n");
    char big[3000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    reply_errorf(&f->r2, "ERR %s", big);
    assert_int_equal(kbuf_len(&f->out2), 1 + 4 + 2999 + 2);
    kbuf_reset(&f->out2);
}

/* Integers print every edge value. */
static void test_integers(void **state)
{
    fixture *f = *state;
    BOTH(f, reply_int(r_, 0));
    EXPECT2(f, ":0\r\n");
    EXPECT3(f, ":0\r\n");
    reply_int(&f->r2, -1);
    EXPECT2(f, ":-1\r\n");
    reply_int(&f->r2, LLONG_MIN);
    EXPECT2(f, ":-9223372036854775808\r\n");
    reply_int(&f->r3, LLONG_MAX);
    EXPECT3(f, ":9223372036854775807\r\n");
}

/* Bulk strings carry any bytes; NULL C strings and nulls follow the
 * protocol version. */
static void test_bulks_and_nulls(void **state)
{
    fixture *f = *state;
    reply_bulk(&f->r2, "a\r\n\0b", 5);
    EXPECT2(f, "$5\r\na\r\n\0b\r\n");
    BOTH(f, reply_bulk(r_, "", 0));
    EXPECT2(f, "$0\r\n\r\n");
    EXPECT3(f, "$0\r\n\r\n");
    BOTH(f, reply_empty_bulk(r_));
    EXPECT2(f, "$0\r\n\r\n");
    EXPECT3(f, "$0\r\n\r\n");
    BOTH(f, reply_bulk_cstr(r_, "hello"));
    EXPECT2(f, "$5\r\nhello\r\n");
    EXPECT3(f, "$5\r\nhello\r\n");
    BOTH(f, reply_bulk_cstr(r_, NULL));
    EXPECT2(f, "$-1\r\n");
    EXPECT3(f, "_\r\n");
    BOTH(f, reply_bulk_ll(r_, -42));
    EXPECT2(f, "$3\r\n-42\r\n");
    EXPECT3(f, "$3\r\n-42\r\n");
    BOTH(f, reply_null(r_));
    EXPECT2(f, "$-1\r\n");
    EXPECT3(f, "_\r\n");
    BOTH(f, reply_null_array(r_));
    EXPECT2(f, "*-1\r\n");
    EXPECT3(f, "_\r\n");
}

/* Booleans are integers in RESP2 (SISMEMBER) and #t/#f in RESP3. */
static void test_booleans(void **state)
{
    fixture *f = *state;
    BOTH(f, reply_bool(r_, 1));
    EXPECT2(f, ":1\r\n");
    EXPECT3(f, "#t\r\n");
    BOTH(f, reply_bool(r_, 0));
    EXPECT2(f, ":0\r\n");
    EXPECT3(f, "#f\r\n");
}

/* Doubles as ZSCORE sends them: %.17g as a bulk in RESP2, after ',' in
 * RESP3, with inf spelled out. */
static void test_doubles(void **state)
{
    fixture *f = *state;
    BOTH(f, reply_double(r_, 1.1));
    EXPECT2(f, "$18\r\n1.1000000000000001\r\n");
    EXPECT3(f, ",1.1000000000000001\r\n");
    BOTH(f, reply_double(r_, 0.1));
    EXPECT2(f, "$19\r\n0.10000000000000001\r\n");
    EXPECT3(f, ",0.10000000000000001\r\n");
    BOTH(f, reply_double(r_, 1e300));
    EXPECT2(f, "$23\r\n1.0000000000000001e+300\r\n");
    EXPECT3(f, ",1.0000000000000001e+300\r\n");
    BOTH(f, reply_double(r_, 1e-300));
    EXPECT2(f, "$6\r\n1e-300\r\n");
    EXPECT3(f, ",1e-300\r\n");
    BOTH(f, reply_double(r_, 123));
    EXPECT2(f, "$3\r\n123\r\n");
    EXPECT3(f, ",123\r\n");
    BOTH(f, reply_double(r_, 0));
    EXPECT2(f, "$1\r\n0\r\n");
    EXPECT3(f, ",0\r\n");
    BOTH(f, reply_double(r_, INFINITY));
    EXPECT2(f, "$3\r\ninf\r\n");
    EXPECT3(f, ",inf\r\n");
    BOTH(f, reply_double(r_, -INFINITY));
    EXPECT2(f, "$4\r\n-inf\r\n");
    EXPECT3(f, ",-inf\r\n");
    BOTH(f, reply_double(r_, -NAN));
    EXPECT2(f, "$3\r\nnan\r\n");
    EXPECT3(f, ",nan\r\n");
}

/* Human long doubles as INCRBYFLOAT formats them, in both versions. */
static void test_human_long_double(void **state)
{
    fixture *f = *state;
    BOTH(f, reply_human_ld(r_, 10.5L + 0.1L));
    EXPECT2(f, "$4\r\n10.6\r\n");
    EXPECT3(f, ",10.6\r\n");
    BOTH(f, reply_human_ld(r_, 4000.0L));
    EXPECT2(f, "$4\r\n4000\r\n");
    EXPECT3(f, ",4000\r\n");
    BOTH(f, reply_human_ld(r_, -INFINITY));
    EXPECT2(f, "$4\r\n-inf\r\n");
    EXPECT3(f, ",-inf\r\n");
}

/* Verbatim strings and big numbers degrade to bulks in RESP2. */
static void test_verbatim_and_bignum(void **state)
{
    fixture *f = *state;
    BOTH(f, reply_verbatim(r_, "hello world", 11, "txt"));
    EXPECT2(f, "$11\r\nhello world\r\n");
    EXPECT3(f, "=15\r\ntxt:hello world\r\n");
    reply_verbatim(&f->r3, "# x", 3, "md");
    EXPECT3(f, "=7\r\nmd :# x\r\n");
    reply_verbatim(&f->r3, "", 0, "mkdown");
    EXPECT3(f, "=4\r\nmkd:\r\n");
    BOTH(f, reply_bignum(r_, "3492890328409238509324850943850943825024385", 43));
    EXPECT2(f, "$43\r\n3492890328409238509324850943850943825024385\r\n");
    EXPECT3(f, "(3492890328409238509324850943850943825024385\r\n");
}

/* ---- Tests: aggregates ---- */

/* Aggregate headers per version; maps count pairs in RESP3 and elements in
 * RESP2; attributes exist only in RESP3. */
static void test_aggregate_headers(void **state)
{
    fixture *f = *state;
    BOTH(f, reply_array(r_, 3));
    EXPECT2(f, "*3\r\n");
    EXPECT3(f, "*3\r\n");
    BOTH(f, reply_empty_array(r_));
    EXPECT2(f, "*0\r\n");
    EXPECT3(f, "*0\r\n");
    BOTH(f, reply_map(r_, 7));
    EXPECT2(f, "*14\r\n");
    EXPECT3(f, "%7\r\n");
    BOTH(f, reply_set(r_, 2));
    EXPECT2(f, "*2\r\n");
    EXPECT3(f, "~2\r\n");
    BOTH(f, reply_push(r_, 3));
    EXPECT2(f, "*3\r\n");
    EXPECT3(f, ">3\r\n");
    assert_int_equal(reply_attribute(&f->r2, 1), 0);
    EXPECT2(f, "");
    assert_int_equal(reply_attribute(&f->r3, 1), 1);
    EXPECT3(f, "|1\r\n");
}

/* Whole replies as Redis sends them: CONFIG GET port, SMEMBERS, ZMSCORE
 * with a missing member, BLPOP timing out. */
static void test_composite_replies(void **state)
{
    fixture *f = *state;
    BOTH(f, (reply_map(r_, 1), reply_bulk_cstr(r_, "port"), reply_bulk_cstr(r_, "16399")));
    EXPECT2(f, "*2\r\n$4\r\nport\r\n$5\r\n16399\r\n");
    EXPECT3(f, "%1\r\n$4\r\nport\r\n$5\r\n16399\r\n");
    BOTH(f, (reply_set(r_, 1), reply_bulk_cstr(r_, "a")));
    EXPECT2(f, "*1\r\n$1\r\na\r\n");
    EXPECT3(f, "~1\r\n$1\r\na\r\n");
    BOTH(f, (reply_array(r_, 2), reply_double(r_, 1.1), reply_null(r_)));
    EXPECT2(f, "*2\r\n$18\r\n1.1000000000000001\r\n$-1\r\n");
    EXPECT3(f, "*2\r\n,1.1000000000000001\r\n_\r\n");
    BOTH(f, reply_null_array(r_));
    EXPECT2(f, "*-1\r\n");
    EXPECT3(f, "_\r\n");
}

/* A deferred array gets its real count whatever its width, with the
 * elements and anything before it intact. */
static void test_deferred_array(void **state)
{
    fixture *f = *state;
    const long counts[] = {0, 3, 12, 1000};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        kbuf want = KBUF_INIT;
        reply w = reply_make(&want, 2);
        reply_simple(&f->r2, "before");
        reply_simple(&w, "before");
        reply_deferred d = reply_defer(&f->r2);
        reply_array(&w, counts[k]);
        for (long i = 0; i < counts[k]; i++) {
            reply_bulk_ll(&f->r2, i);
            reply_bulk_ll(&w, i);
        }
        reply_set_array_len(&f->r2, d, counts[k]);
        reply_int(&f->r2, 7);
        reply_int(&w, 7);
        expect_bytes(&f->out2, kbuf_data(&want), kbuf_len(&want));
        kbuf_free(&want);
    }
}

/* A map of one key whose value is a set, both with deferred lengths, the
 * inner one set first. */
static void nested_deferred(reply *r)
{
    reply_deferred outer = reply_defer(r);
    reply_bulk_cstr(r, "k");
    reply_deferred inner = reply_defer(r);
    reply_bulk_cstr(r, "a");
    reply_bulk_cstr(r, "b");
    reply_set_set_len(r, inner, 2);
    reply_set_map_len(r, outer, 1);
}

/* An empty push whose length was deferred. */
static void empty_deferred_push(reply *r)
{
    reply_deferred d = reply_defer(r);
    reply_set_push_len(r, d, 0);
}

/* Deferred maps, sets and pushes use the version's header, and nested
 * deferred lengths may be set inner first. */
static void test_deferred_map_set_nested(void **state)
{
    fixture *f = *state;
    BOTH(f, nested_deferred(r_));
    EXPECT2(f, "*2\r\n$1\r\nk\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT3(f, "%1\r\n$1\r\nk\r\n~2\r\n$1\r\na\r\n$1\r\nb\r\n");
    BOTH(f, empty_deferred_push(r_));
    EXPECT2(f, "*0\r\n");
    EXPECT3(f, ">0\r\n");
}

/* ---- Tests: errors ---- */

/* The shared errors are Redis's exact text. */
static void test_common_errors(void **state)
{
    fixture *f = *state;
    reply_err_wrongtype(&f->r2);
    EXPECT2(f, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    reply_err_syntax(&f->r2);
    EXPECT2(f, "-ERR syntax error\r\n");
    reply_err_notint(&f->r2);
    EXPECT2(f, "-ERR value is not an integer or out of range\r\n");
    reply_err_notfloat(&f->r3);
    EXPECT3(f, "-ERR value is not a valid float\r\n");
    reply_err_arity(&f->r2, "get");
    EXPECT2(f, "-ERR wrong number of arguments for 'get' command\r\n");
    reply_err_arity(&f->r2, "config|set");
    EXPECT2(f, "-ERR wrong number of arguments for 'config|set' command\r\n");
}

/* Unknown commands are reported as Redis 7 does: argv[0] and the quoted
 * args cut at 128 bytes, each read up to a NUL, CR/LF as spaces. */
static void test_unknown_command(void **state)
{
    fixture *f = *state;
    {
        const char *argv[] = {"fo\x01", "a\0b", "\r\n"};
        const size_t lens[] = {3, 3, 2};
        reply_err_unknown_command(&f->r2, 3, argv, lens);
        EXPECT2(f, "-ERR unknown command 'fo\x01', with args beginning with: 'a' '  ' \r\n");
    }
    {
        const char *argv[] = {"f\no", "a\xff" "bc"};
        const size_t lens[] = {3, 4};
        reply_err_unknown_command(&f->r2, 2, argv, lens);
        EXPECT2(f, "-ERR unknown command 'f o', with args beginning with: 'a\xff" "bc' \r\n");
    }
    {
        const char *argv[] = {""};
        const size_t lens[] = {0};
        reply_err_unknown_command(&f->r2, 1, argv, lens);
        EXPECT2(f, "-ERR unknown command '', with args beginning with: \r\n");
    }
    char x200[200], a200[200], b100[100];
    memset(x200, 'x', sizeof x200);
    memset(a200, 'a', sizeof a200);
    memset(b100, 'b', sizeof b100);
    kbuf want = KBUF_INIT;
    {
        const char *argv[] = {x200};
        const size_t lens[] = {200};
        reply_err_unknown_command(&f->r2, 1, argv, lens);
        kbuf_printf(&want, "-ERR unknown command '%.128s', with args beginning with: \r\n",
                    x200);
        expect_bytes(&f->out2, kbuf_data(&want), kbuf_len(&want));
        kbuf_reset(&want);
    }
    {
        const char *argv[] = {"foo", a200, b100};
        const size_t lens[] = {3, 100, 100};
        reply_err_unknown_command(&f->r2, 3, argv, lens);
        kbuf_printf(&want, "-ERR unknown command 'foo', with args beginning with: '%.100s' '%.25s' \r\n",
                    a200, b100);
        expect_bytes(&f->out2, kbuf_data(&want), kbuf_len(&want));
        kbuf_reset(&want);
    }
    {
        const char *argv[] = {"foo", "a", a200, "z"};
        const size_t lens[] = {3, 1, 200, 1};
        reply_err_unknown_command(&f->r2, 4, argv, lens);
        kbuf_printf(&want, "-ERR unknown command 'foo', with args beginning with: 'a' '%.124s' \r\n",
                    a200);
        expect_bytes(&f->out2, kbuf_data(&want), kbuf_len(&want));
        kbuf_reset(&want);
    }
    kbuf_free(&want);
}

/* Unknown subcommands name the container command in upper case. */
static void test_unknown_subcommand(void **state)
{
    fixture *f = *state;
    reply_err_unknown_subcommand(&f->r2, "config", 6, "foo", 3);
    EXPECT2(f, "-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n");
    reply_err_unknown_subcommand(&f->r2, "CONFIG", 6, "f\rx", 3);
    EXPECT2(f, "-ERR unknown subcommand 'f x'. Try CONFIG HELP.\r\n");
    reply_err_subcommand_syntax(&f->r3, "client", 6, "kill", 4);
    EXPECT3(f, "-ERR unknown subcommand or wrong number of arguments for 'kill'. Try CLIENT "
               "HELP.\r\n");
}

/* ---- Tests: numbers ---- */

/* string2ld takes what INCRBYFLOAT takes and refuses what it refuses. */
static void test_string2ld(void **state)
{
    (void)state;
    static const char *const good[] = {"1e3",  "-0", "0x10", "+1",       ".5",  "5.",
                                       "inf", "-inf", "infinity", "1e4000", "1e-4940"};
    static const char *const bad[] = {"nan",    " 1",       "1 ",  "1e5000", "1e-5000", "",
                                      "1.5e4932", "1,0",   "abc", "\t1",    "-nan",    "1e"};
    long double v;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(kv_string2ld(good[i], strlen(good[i]), &v), 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(kv_string2ld(bad[i], strlen(bad[i]), &v), 0);
    /* A NUL inside is not the end: Redis 7.0's string2ld also checks that
     * strtold used all slen bytes ("1\0002" after SETRANGE is not valid). */
    assert_int_equal(kv_string2ld("2\0junk", 6, &v), 0);
    assert_int_equal(kv_string2ld("1\0" "2", 3, &v), 0);
    assert_int_equal(kv_string2ld("2\0", 1, &v), 1);
    assert_true(v == 2.0L);
    char huge[KV_LD_STR_MAX];
    memset(huge, '1', sizeof huge);
    assert_int_equal(kv_string2ld(huge, sizeof huge - 1, &v), 0); /* too long */
}

/* string2d (ZADD scores) uses the same rules on doubles, and its length is
 * exact: a NUL inside is garbage. */
static void test_string2d(void **state)
{
    (void)state;
    double d;
    assert_int_equal(kv_string2d("1.5", 3, &d), 1);
    assert_true(d == 1.5);
    assert_int_equal(kv_string2d("-inf", 4, &d), 1);
    assert_true(isinf(d) && d < 0);
    assert_int_equal(kv_string2d("4e-320", 6, &d), 1); /* subnormal, not zero */
    assert_int_equal(kv_string2d("nan", 3, &d), 0);
    assert_int_equal(kv_string2d("1e400", 5, &d), 0);
    assert_int_equal(kv_string2d("1e-400", 6, &d), 0);
    assert_int_equal(kv_string2d(" 1", 2, &d), 0);
    assert_int_equal(kv_string2d("1 ", 2, &d), 0);
    assert_int_equal(kv_string2d("", 0, &d), 0);
    assert_int_equal(kv_string2d("1\0", 2, &d), 0);
    char longnum[300];
    memset(longnum, '0', sizeof longnum);
    longnum[sizeof longnum - 1] = '7';
    assert_int_equal(kv_string2d(longnum, sizeof longnum, &d), 1);
    assert_true(d == 7.0);
}

/* ld2string in both modes, its special values and a too-small buffer. */
static void test_ld2string(void **state)
{
    (void)state;
    char buf[KV_LD_STR_MAX];
    assert_int_equal(kv_ld2string(buf, sizeof buf, 0.0L, KV_LD_HUMAN), 1);
    assert_string_equal(buf, "0");
    assert_int_equal(kv_ld2string(buf, sizeof buf, -0.0L, KV_LD_HUMAN), 1);
    assert_string_equal(buf, "0");
    kv_ld2string(buf, sizeof buf, 1e-20L, KV_LD_HUMAN);
    assert_string_equal(buf, "0");
    kv_ld2string(buf, sizeof buf, -1.5L, KV_LD_HUMAN);
    assert_string_equal(buf, "-1.5");
    kv_ld2string(buf, sizeof buf, 100.0L, KV_LD_HUMAN);
    assert_string_equal(buf, "100");
    kv_ld2string(buf, sizeof buf, INFINITY, KV_LD_HUMAN);
    assert_string_equal(buf, "inf");
    kv_ld2string(buf, sizeof buf, -INFINITY, KV_LD_AUTO);
    assert_string_equal(buf, "-inf");
    kv_ld2string(buf, sizeof buf, 3.0L, KV_LD_AUTO);
    assert_string_equal(buf, "3");
    kv_ld2string(buf, sizeof buf, 0.1L, KV_LD_AUTO);
    assert_string_equal(buf, "0.1");
    kv_ld2string(buf, sizeof buf, 1e100L, KV_LD_AUTO);
    assert_string_equal(buf, "1e+100");
    assert_int_equal(kv_ld2string(buf, 4, 12345.0L, KV_LD_HUMAN), 0);
    assert_string_equal(buf, "");
    assert_int_equal(kv_ld2string(buf, 4, INFINITY, KV_LD_HUMAN), 0);
    long double big;
    assert_int_equal(kv_string2ld("1e4000", 6, &big), 1);
    /* 1e4000L is 9.99999999999999999996546…e3999: 4000 digits, no point. */
    assert_int_equal(kv_ld2string(buf, sizeof buf, big, KV_LD_HUMAN), 4000);
    assert_memory_equal(buf, "9999999999999999999965", 22);
    assert_null(strchr(buf, '.'));
}

/* INCRBYFLOAT results match redis-server for the same operands. */
static void test_incrbyfloat_results(void **state)
{
    (void)state;
    static const struct {
        const char *old, *incr, *want;
    } cases[] = {
        {"10.5", "0.1", "10.6"},
        {"3.0e3", "1.0e3", "4000"},
        {"5.0", "-5", "0"},
        {"-1e-20", "0", "0"},
        {"1e30", "0", "1000000000000000000024696061952"},
        {"1", "1e3", "1001"},
        {"1", "-0", "1"},
        {"1", "0x10", "17"},
        {"1", "+1", "2"},
        {"1", ".5", "1.5"},
        {"1", "5.", "6"},
        {"1", "inf", NULL},
        {"1", "infinity", NULL},
        {"1", "nan", NULL},
        {"1", " 1", NULL},
        {"1", "1 ", NULL},
        {"1", "1e5000", NULL},
        {"1", "1e-5000", NULL},
        {"1", "", NULL},
        {"1", "1,0", NULL},
    };
    char buf[KV_LD_STR_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = incrbyfloat(cases[i].old, cases[i].incr, buf, sizeof buf);
        if (!cases[i].want)
            assert_null(got);
        else
            assert_string_equal(got, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_simple_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errorf_sanitizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulks_and_nulls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_booleans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doubles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_human_long_double, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verbatim_and_bignum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregate_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_composite_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_array, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_map_set_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_common_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_subcommand, setup, teardown),
        cmocka_unit_test(test_string2ld),
        cmocka_unit_test(test_string2d),
        cmocka_unit_test(test_ld2string),
        cmocka_unit_test(test_incrbyfloat_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
