/* test_cli_format.c — kvcli's redis-cli-compatible reply printing and
 * argument splitting, on replies built from RESP bytes. (test_kvcli
 * compares the real binaries' output.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kvcli.h"

/* ---- Helpers ---- */

static kv_reply *parse_n(const char *resp, size_t n)
{
    kv_reader *r = kv_reader_new(NULL);
    kv_reply *rep = NULL;
    assert_int_equal(kv_reader_feed(r, resp, n), 0);
    assert_int_equal(kv_reader_get(r, &rep), 0);
    assert_non_null(rep);
    kv_reader_free(r);
    return rep;
}

static kv_reply *parse(const char *resp)
{
    return parse_n(resp, strlen(resp));
}

static void assert_tty_n(const char *resp, size_t n, const char *want)
{
    kv_reply *rep = parse_n(resp, n);
    cli_str out = {0};
    cli_format_tty(&out, rep, "");
    assert_string_equal(out.p, want);
    cli_str_free(&out);
    kv_reply_free(rep);
}

static void assert_tty(const char *resp, const char *want)
{
    kv_reply *rep = parse(resp);
    cli_str out = {0};
    cli_format_tty(&out, rep, "");
    assert_string_equal(out.p, want);
    cli_str_free(&out);
    kv_reply_free(rep);
}

static void assert_raw(const char *resp, const char *want)
{
    kv_reply *rep = parse(resp);
    cli_str out = {0};
    cli_str_cats(&out, "");
    cli_format_raw(&out, rep);
    assert_string_equal(out.p, want);
    cli_str_free(&out);
    kv_reply_free(rep);
}

static void assert_split(const char *line, int want_argc, const char *const want[],
                         const size_t want_len[])
{
    int argc;
    char **argv;
    size_t *lens;
    assert_int_equal(cli_split(line, &argc, &argv, &lens), 0);
    assert_int_equal(argc, want_argc);
    for (int i = 0; i < argc; i++) {
        size_t l = want_len ? want_len[i] : strlen(want[i]);
        assert_int_equal(lens[i], l);
        assert_memory_equal(argv[i], want[i], l);
    }
    cli_split_free(argc, argv, lens);
}

/* ---- Tests ---- */

/* Scalars print as redis-cli prints them on a terminal. */
static void test_tty_scalars(void **state)
{
    (void)state;
    assert_tty(":1\r\n", "(integer) 1\n");
    assert_tty("$3\r\nbar\r\n", "\"bar\"\n");
    assert_tty("$-1\r\n", "(nil)\n");
    assert_tty("_\r\n", "(nil)\n");
    assert_tty("-ERR unknown command\r\n", "(error) ERR unknown command\n");
    assert_tty("+OK\r\n", "OK\n");
    assert_tty(",3.14\r\n", "(double) 3.14\n");
    assert_tty("#t\r\n", "(true)\n");
    assert_tty("#f\r\n", "(false)\n");
    assert_tty("(12345678901234567890\r\n", "(big number) 12345678901234567890\n");
    assert_tty("=9\r\ntxt:a\nb\"c\r\n", "a\nb\"c\n");
}

/* Strings are quoted with redis-cli's escapes. */
static void test_tty_escapes(void **state)
{
    (void)state;
    assert_tty("$11\r\na\"b\\c\nd\r\t\a\b\r\n", "\"a\\\"b\\\\c\\nd\\r\\t\\a\\b\"\n");
    assert_tty("$4\r\n\x01\xff\x7f \r\n", "\"\\x01\\xff\\x7f \"\n");
    assert_tty_n("$3\r\na\0b\r\n", 9, "\"a\\x00b\"\n");
}

/* Aggregates are numbered, nested ones indented, empty ones named. */
static void test_tty_aggregates(void **state)
{
    (void)state;
    assert_tty("*0\r\n", "(empty array)\n");
    assert_tty("%0\r\n", "(empty hash)\n");
    assert_tty("~0\r\n", "(empty set)\n");
    assert_tty("*2\r\n$1\r\na\r\n:2\r\n", "1) \"a\"\n2) (integer) 2\n");
    assert_tty("*3\r\n:1\r\n*2\r\n:2\r\n*1\r\n$1\r\nx\r\n*0\r\n",
               "1) (integer) 1\n"
               "2) 1) (integer) 2\n"
               "   2) 1) \"x\"\n"
               "3) (empty array)\n");
    /* Ten or more elements widen the index column. */
    assert_tty("*10\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n:8\r\n:9\r\n*1\r\n:10\r\n",
               " 1) (integer) 1\n 2) (integer) 2\n 3) (integer) 3\n 4) (integer) 4\n"
               " 5) (integer) 5\n 6) (integer) 6\n 7) (integer) 7\n 8) (integer) 8\n"
               " 9) (integer) 9\n10) 1) (integer) 10\n");
    assert_tty("%2\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n*1\r\n:1\r\n",
               "1# \"f1\" => \"v1\"\n2# \"f2\" => 1) (integer) 1\n");
    assert_tty("~2\r\n:0\r\n:1\r\n", "1~ (integer) 0\n2~ (integer) 1\n");
}

/* Raw output is bare, one element per line, maps as "key value". */
static void test_raw(void **state)
{
    (void)state;
    assert_raw(":1\r\n", "1");
    assert_raw("$3\r\nb\nr\r\n", "b\nr");
    assert_raw("$-1\r\n", "");
    assert_raw("-ERR x\r\n", "ERR x\n");
    assert_raw("+OK\r\n", "OK");
    assert_raw("#t\r\n", "(true)");
    assert_raw(",1.5\r\n", "1.5");
    assert_raw("*3\r\n:1\r\n*2\r\n:2\r\n$1\r\nx\r\n*0\r\n", "1\n2\nx\n");
    assert_raw("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "a 1\nb 2");
}

/* Lines split like redis-cli's: quotes, escapes, \xHH, single quotes. */
static void test_split(void **state)
{
    (void)state;
    assert_split("  set  key   value ", 3, (const char *[]){"set", "key", "value"}, NULL);
    assert_split("set \"a b\" 'c d'", 3, (const char *[]){"set", "a b", "c d"}, NULL);
    assert_split("set k \"\\x00\\xff\\n\\r\\t\\\"\\\\\"", 3,
                 (const char *[]){"set", "k", "\0\xff\n\r\t\"\\"}, (size_t[]){3, 1, 7});
    assert_split("echo 'it\\'s' \"\"", 3, (const char *[]){"echo", "it's", ""}, NULL);
    assert_split("echo \"\\xZZ\"", 2, (const char *[]){"echo", "xZZ"}, NULL);
    assert_split("   ", 0, NULL, NULL);
    int argc;
    char **argv;
    size_t *lens;
    assert_int_equal(cli_split("set \"unterminated", &argc, &argv, &lens), -1);
    assert_int_equal(cli_split("set 'x", &argc, &argv, &lens), -1);
    assert_int_equal(cli_split("set \"a\"b", &argc, &argv, &lens), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tty_scalars),
        cmocka_unit_test(test_tty_escapes),
        cmocka_unit_test(test_tty_aggregates),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
