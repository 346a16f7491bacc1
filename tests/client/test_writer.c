/* test_writer.c — kv_format_command: exact bytes, size negotiation, binary
 * safety, and round trips through the reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kvclient.h"

/* ---- Helpers ---- */

/* Encode argv and parse it back as a reply (an array of bulk strings). */
static kv_reply *round_trip(int argc, const char *const argv[], const size_t lens[],
                            size_t split)
{
    size_t need = 0;
    assert_int_equal(kv_format_command(NULL, 0, &need, argc, argv, lens), KV_ERANGE);
    char *buf = malloc(need);
    size_t len = 0;
    assert_int_equal(kv_format_command(buf, need, &len, argc, argv, lens), 0);
    assert_int_equal(len, need);
    kv_reader *r = kv_reader_new(NULL);
    if (split > len)
        split = len;
    kv_reply *rep = NULL;
    assert_int_equal(kv_reader_feed(r, buf, split), 0);
    assert_int_equal(kv_reader_get(r, &rep), 0);
    if (rep == NULL) {
        assert_int_equal(kv_reader_feed(r, buf + split, len - split), 0);
        assert_int_equal(kv_reader_get(r, &rep), 0);
    }
    assert_non_null(rep);
    kv_reader_free(r);
    free(buf);
    return rep;
}

static void assert_args(const kv_reply *rep, int argc, const char *const argv[],
                        const size_t lens[])
{
    assert_int_equal(rep->type, KV_REPLY_ARRAY);
    assert_int_equal(rep->elements, (size_t)argc);
    for (int i = 0; i < argc; i++) {
        size_t l = lens ? lens[i] : strlen(argv[i]);
        assert_int_equal(rep->element[i]->type, KV_REPLY_STRING);
        assert_int_equal(rep->element[i]->len, l);
        assert_memory_equal(rep->element[i]->str, argv[i], l);
    }
}

/* ---- Tests ---- */

/* A simple command encodes to the exact RESP bytes Redis expects. */
static void test_exact_bytes(void **state)
{
    (void)state;
    const char *argv[] = {"SET", "key", "value"};
    char buf[64];
    size_t len;
    assert_int_equal(kv_format_command(buf, sizeof buf, &len, 3, argv, NULL), 0);
    const char *want = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);

    const char *empty[] = {"SET", "k", ""};
    assert_int_equal(kv_format_command(buf, sizeof buf, &len, 3, empty, NULL), 0);
    want = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n";
    assert_memory_equal(buf, want, strlen(want));
}

/* Too small a buffer reports the size needed and leaves the buffer alone. */
static void test_size_negotiation(void **state)
{
    (void)state;
    const char *argv[] = {"PING"};
    char buf[8];
    memset(buf, 'Z', sizeof buf);
    size_t len = 0;
    assert_int_equal(kv_format_command(buf, sizeof buf, &len, 1, argv, NULL), KV_ERANGE);
    assert_int_equal(len, 14);
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 'Z');
}

/* Bad arguments are refused. */
static void test_invalid_arguments(void **state)
{
    (void)state;
    const char *argv[] = {"GET", NULL};
    size_t lens[] = {3, 1};
    char buf[64];
    size_t len;
    assert_int_equal(kv_format_command(buf, sizeof buf, &len, 0, argv, NULL), KV_EINVAL);
    assert_int_equal(kv_format_command(buf, sizeof buf, &len, 1, NULL, NULL), KV_EINVAL);
    assert_int_equal(kv_format_command(buf, sizeof buf, &len, 2, argv, NULL), KV_EINVAL);
    assert_int_equal(kv_format_command(buf, sizeof buf, &len, 2, argv, lens), KV_EINVAL);
    assert_int_equal(kv_format_command(buf, sizeof buf, NULL, 1, argv, NULL), KV_EINVAL);
    assert_int_equal(kv_format_command(NULL, 10, &len, 1, argv, NULL), KV_EINVAL);
}

/* Arguments with NULs, CR, LF and every byte value survive a round trip. */
static void test_binary_round_trip(void **state)
{
    (void)state;
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    const char *argv[] = {"SET", "k\0ey", "\r\n$3\r\n", all};
    size_t lens[] = {3, 4, 6, 256};
    for (size_t split = 0; split < 320; split += 13) {
        kv_reply *rep = round_trip(4, argv, lens, split);
        assert_args(rep, 4, argv, lens);
        kv_reply_free(rep);
    }
}

/* Random commands (counts, lengths, bytes) round-trip exactly. */
static void test_random_round_trips(void **state)
{
    (void)state;
    srand(99);
    for (int round = 0; round < 300; round++) {
        int argc = 1 + rand() % 12;
        const char *argv[12];
        size_t lens[12];
        char *bufs[12];
        for (int i = 0; i < argc; i++) {
            lens[i] = (size_t)(rand() % (i == 0 ? 2000 : 40));
            bufs[i] = malloc(lens[i] + 1);
            for (size_t j = 0; j < lens[i]; j++)
                bufs[i][j] = (char)rand();
            argv[i] = bufs[i];
        }
        kv_reply *rep = round_trip(argc, argv, lens, (size_t)rand() % 3000);
        assert_args(rep, argc, argv, lens);
        kv_reply_free(rep);
        for (int i = 0; i < argc; i++)
            free(bufs[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_size_negotiation),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_binary_round_trip),
        cmocka_unit_test(test_random_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
