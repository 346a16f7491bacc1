/* test_config_runtime.c — option rules that CONFIG SET exposes with Redis
 * 7's behaviour: hz clamped to 1..500, memory options rejecting what is
 * not a memory value (signs included), hash-max-listpack-value as a memory
 * value, client-output-buffer-limit's empty value and class errors. */
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

/* client-output-buffer-limit: "" changes nothing (Redis), an unknown
 * class gets Redis's message, Redis's other classes say why not here. */
static void test_obuf_classes(void **state)
{
    (void)state;
    kv_config c;
    config_init(&c);
    char err[256];
    assert_int_equal(set1(&c, "client-output-buffer-limit", "normal 1mb 2mb 3", err), 0);
    assert_string_equal(get(&c, "client-output-buffer-limit"), "normal 1048576 2097152 3");
    assert_int_equal(set1(&c, "client-output-buffer-limit", "", err), 0);
    assert_string_equal(get(&c, "client-output-buffer-limit"), "normal 1048576 2097152 3");
    assert_int_equal(set1(&c, "client-output-buffer-limit", "foo 1 2 3", err), -1);
    assert_string_equal(err, "Invalid client class specified in buffer limit configuration.");
    assert_int_equal(set1(&c, "client-output-buffer-limit", "pubsub 1 2 3", err), -1);
    assert_string_equal(err, "Invalid client class specified in buffer limit configuration "
                             "(kvnode has only the normal class).");
    assert_int_equal(set1(&c, "client-output-buffer-limit", "normal 1 2", err), -1);
    assert_string_equal(err, "Wrong number of arguments in buffer limit configuration.");
    assert_string_equal(get(&c, "client-output-buffer-limit"), "normal 1048576 2097152 3");
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hz_clamped),
        cmocka_unit_test(test_memory_values),
        cmocka_unit_test(test_obuf_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
