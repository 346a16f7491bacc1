/* test_util.c — the small internal pieces: kv_strerror, host:port parsing,
 * the byte buffer, options validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "internal.h"

/* ---- Tests ---- */

/* Every error code has its own description; unknown codes say so. */
static void test_strerror(void **state)
{
    (void)state;
    for (int a = KV_EBUSY; a <= 0; a++) {
        const char *s = kv_strerror(a);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown error");
        for (int b = KV_EBUSY; b < a; b++)
            assert_string_not_equal(s, kv_strerror(b));
    }
    assert_string_equal(kv_strerror(-1000), "unknown error");
    assert_string_equal(kv_strerror(5), "unknown error");
}

/* host:port, [v6]:port and the malformed variants. */
static void test_parse_hostport(void **state)
{
    (void)state;
    char host[64];
    int port;
    const char *s = "127.0.0.1:7379";
    assert_int_equal(kvc_parse_hostport(s, strlen(s), host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 7379);
    s = "[::1]:1";
    assert_int_equal(kvc_parse_hostport(s, strlen(s), host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 1);
    s = "db.example:65535";
    assert_int_equal(kvc_parse_hostport(s, strlen(s), host, sizeof host, &port), 0);
    assert_string_equal(host, "db.example");
    static const char *const bad[] = {"", "host", "host:", ":7379", "host:0", "host:65536",
                                      "host:12x", "::1:7379", "[::1]7379", "[::1]:", "h:123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (kvc_parse_hostport(bad[i], strlen(bad[i]), host, sizeof host, &port) != KV_EINVAL)
            fail_msg("accepted '%s'", bad[i]);
    s = "averyveryverylonghostname:1";
    assert_int_equal(kvc_parse_hostport(s, strlen(s), host, 8, &port), KV_EINVAL);
}

/* The buffer appends, consumes from the front and reuses its space. */
static void test_buffer(void **state)
{
    (void)state;
    kvc_buf b = {0};
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(kvc_buf_append(&b, "0123456789", 10), 0);
        assert_int_equal(kvc_buf_avail(&b), 10);
        assert_memory_equal(b.data + b.off, "0123456789", 10);
        kvc_buf_consume(&b, 4);
        assert_memory_equal(b.data + b.off, "456789", 6);
        kvc_buf_consume(&b, 6);
        assert_int_equal(kvc_buf_avail(&b), 0);
    }
    assert_true(b.cap <= 256);
    kvc_buf_free(&b);
}

/* Options are validated and copied, strings included. */
static void test_options(void **state)
{
    (void)state;
    kv_options o, c;
    kv_options_init(&o);
    assert_int_equal(o.resp, 2);
    assert_int_equal(o.connect_timeout_ms, 5000);
    o.resp = 4;
    assert_int_equal(kvc_options_copy(&c, &o), KV_EINVAL);
    o.resp = 3;
    o.user = "u";
    assert_int_equal(kvc_options_copy(&c, &o), KV_EINVAL); /* user without password */
    char pw[] = "secret";
    o.password = pw;
    assert_int_equal(kvc_options_copy(&c, &o), 0);
    pw[0] = 'X';
    assert_string_equal(c.password, "secret");
    const char *argv[7];
    assert_int_equal(kvc_handshake_argv(&c, argv), 5);
    assert_string_equal(argv[0], "HELLO");
    assert_string_equal(argv[3], "u");
    kvc_options_free(&c);
    kv_options_init(&o);
    o.password = "p";
    assert_int_equal(kvc_options_copy(&c, &o), 0);
    assert_int_equal(kvc_handshake_argv(&c, argv), 2);
    assert_string_equal(argv[0], "AUTH");
    kvc_options_free(&c);
    assert_int_equal(kvc_options_copy(&c, NULL), 0);
    assert_int_equal(kvc_handshake_argv(&c, argv), 0);
    kvc_options_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_parse_hostport),
        cmocka_unit_test(test_buffer),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
