/* test_config_runtime.c — option rules that CONFIG SET exposes with Redis
 * 7's behaviour: hz clamped to 1..500, memory options rejecting what is
 * not a memory value (signs included), hash-max-listpack-value as a memory
 * value, client-output-buffer-limit's classes and errors, and
 * notify-keyspace-events's letters and print-back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config.h"

/* ---- Helpers ---- */

static int set1(kv_config *c, const char *name, const char *v, char *err)
{
    const cfg_option *o = config_find(name);
    assert_non_null(o);
    err[0] = '\0';
    return config_set(c, o, 1, &v, 0, err, 256);
}

static const char *get(const kv_config *c, const char *name)
{
    static char buf[256];
    config_format(c, config_find(name), buf, sizeof buf);
    return buf;
}

/* ---- Tests ---- */

/* hz outside 1..500 is accepted and clamped, as Redis does; negative and
 * non-numbers are errors. */
static void test_hz_clamped(void **state)
{
    (void)state;
    kv_config c;
    config_init(&c);
    char err[256];
    assert_int_equal(set1(&c, "hz", "1000", err), 0);
    assert_string_equal(get(&c, "hz"), "500");
    assert_int_equal(set1(&c, "hz", "0", err), 0);
    assert_string_equal(get(&c, "hz"), "1");
    assert_int_equal(set1(&c, "hz", "77", err), 0);
    assert_string_equal(get(&c, "hz"), "77");
    assert_int_equal(set1(&c, "hz", "-1", err), -1);
    assert_string_equal(err, "argument must be between 0 and 2147483647 inclusive");
    assert_int_equal(set1(&c, "hz", "x", err), -1);
    assert_string_equal(err, "argument couldn't be parsed into an integer");
    config_free(&c);
}

/* Memory options: units accepted, anything else (a sign too) is "not a
 * memory value"; the bounds still apply. */
static void test_memory_values(void **state)
{
    (void)state;
    kv_config c;
    config_init(&c);
    char err[256];
    assert_int_equal(set1(&c, "proto-max-bulk-len", "abc", err), -1);
    assert_string_equal(err, "argument must be a memory value");
    assert_int_equal(set1(&c, "proto-max-bulk-len", "-1", err), -1);
    assert_string_equal(err, "argument must be a memory value");
    assert_int_equal(set1(&c, "proto-max-bulk-len", "-1mb", err), -1);
    assert_string_equal(err, "argument must be a memory value");
    assert_int_equal(set1(&c, "proto-max-bulk-len", "1000", err), -1);
    assert_non_null(strstr(err, "argument must be between 1048576 and"));
    assert_int_equal(set1(&c, "proto-max-bulk-len", "2MB", err), 0);
    assert_string_equal(get(&c, "proto-max-bulk-len"), "2097152");
    /* hash-max-listpack-value is a memory value in Redis 7. */
    assert_int_equal(set1(&c, "hash-max-ziplist-value", "1kb", err), 0);
    assert_string_equal(get(&c, "hash-max-listpack-value"), "1024");
    assert_int_equal(c.hash_max_listpack_value, 1024);
    assert_int_equal(set1(&c, "hash-max-listpack-value", "-1", err), -1);
    assert_string_equal(err, "argument must be a memory value");
    /* Plain integers keep their own message. */
    assert_int_equal(set1(&c, "timeout", "1kb", err), -1);
    assert_string_equal(err, "argument couldn't be parsed into an integer");
    config_free(&c);
}

/* client-output-buffer-limit: every Redis class is accepted (replica and
 * slave are one), groups apply together or not at all, "" changes nothing,
 * and CONFIG GET prints every class in Redis's order and names. */
static void test_obuf_classes(void **state)
{
    (void)state;
    kv_config c;
    config_init(&c);
    char err[256];
    assert_int_equal(set1(&c, "client-output-buffer-limit", "normal 1mb 2mb 3", err), 0);
    assert_string_equal(get(&c, "client-output-buffer-limit"),
                        "normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 33554432 "
                        "8388608 60");
    assert_int_equal(set1(&c, "client-output-buffer-limit", "", err), 0);
    assert_int_equal(
        set1(&c, "client-output-buffer-limit", "pubsub 1k 2k 5 replica 0 0 0 slave 1 2 3", err),
        0);
    assert_string_equal(get(&c, "client-output-buffer-limit"),
                        "normal 1048576 2097152 3 slave 1 2 3 pubsub 1000 2000 5");
    assert_int_equal(set1(&c, "client-output-buffer-limit", "foo 1 2 3", err), -1);
    assert_string_equal(err, "Invalid client class specified in buffer limit configuration.");
    assert_int_equal(set1(&c, "client-output-buffer-limit", "master 1 2 3", err), -1);
    assert_string_equal(err, "Invalid client class specified in buffer limit configuration.");
    /* A bad group leaves the good ones before it unapplied. */
    assert_int_equal(set1(&c, "client-output-buffer-limit", "pubsub 7 7 7 normal x 1 1", err), -1);
    assert_string_equal(err, "Error in hard, soft or soft_seconds setting in buffer limit "
                             "configuration.");
    assert_int_equal(set1(&c, "client-output-buffer-limit", "normal 1 2", err), -1);
    assert_string_equal(err, "Wrong number of arguments in buffer limit configuration.");
    assert_string_equal(get(&c, "client-output-buffer-limit"),
                        "normal 1048576 2097152 3 slave 1 2 3 pubsub 1000 2000 5");
    config_free(&c);
}

/* notify-keyspace-events: Redis's letters, its normalized print-back (A
 * for all the classes it covers, then K E m; n is hidden by A), and its
 * error for any other character. */
static void test_notify_keyspace_events(void **state)
{
    (void)state;
    kv_config c;
    config_init(&c);
    char err[256];
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"A", "A"},          {"KEA", "AKE"},         {"Kg", "gK"},
        {"Ex", "xE"},        {"$lshzxetmdn", "$lshzxetdnm"}, {"AKEmn", "AKEm"},
        {"gA", "A"},         {"nd", "dn"},           {"zhsl$g", "g$lshz"},
        {"mK", "Km"},        {"", ""},               {"EKg", "gKE"},
        {"gggKK", "gK"},     {"g$lshzxetd", "A"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(set1(&c, "notify-keyspace-events", cases[i].in, err), 0);
        assert_string_equal(get(&c, "notify-keyspace-events"), cases[i].out);
    }
    assert_int_equal(set1(&c, "notify-keyspace-events", "KEA", err), 0);
    assert_int_equal(set1(&c, "notify-keyspace-events", "KQ", err), -1);
    assert_string_equal(err, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
    assert_int_equal(set1(&c, "notify-keyspace-events", "K E", err), -1);
    assert_string_equal(get(&c, "notify-keyspace-events"), "AKE");
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hz_clamped),
        cmocka_unit_test(test_memory_values),
        cmocka_unit_test(test_obuf_classes),
        cmocka_unit_test(test_notify_keyspace_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
