/* test_metrics.c — the Prometheus exposition writer (prom.c) and the
 * metrics endpoint's HTTP request parser (metrics_http.c), both pure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "prom.h"

/* ---- Helpers ---- */

static char *text(kbuf *b)
{
    kbuf_putc(b, '\0');
    return kbuf_data(b);
}

static int parse(const char *req, http_req *out)
{
    return metrics_http_parse(req, strlen(req), out);
}

/* ---- Exposition writer ---- */

/* Label values escape backslash, double quote and newline, and nothing else. */
static void test_label_escaping(void **state)
{
    (void)state;
    prom_labels l;
    prom_labels_init(&l);
    prom_label(&l, "cmd", "config|get");
    prom_label(&l, "odd", "a\\b\"c\nd\te");
    kbuf b = KBUF_INIT;
    prom_sample_u64(&b, "x_total", NULL, &l, 7);
    assert_string_equal(text(&b), "x_total{cmd=\"config|get\",odd=\"a\\\\b\\\"c\\nd\te\"} 7\n");
    kbuf_free(&b);
}

/* HELP text escapes backslash and newline; TYPE follows HELP. */
static void test_family_header(void **state)
{
    (void)state;
    kbuf b = KBUF_INIT;
    prom_family(&b, "kvnode_x", PROM_COUNTER, "one\\two\nthree \"q\"");
    assert_string_equal(text(&b), "# HELP kvnode_x one\\\\two\\nthree \"q\"\n"
                                  "# TYPE kvnode_x counter\n");
    kbuf_free(&b);
}

/* Floats read back exactly; integers have no exponent; the special values
 * are spelled +Inf, -Inf and NaN. */
static void test_float_format(void **state)
{
    (void)state;
    char s[64];
    const double v[] = {0.1, 1e-5, 123.456, 2.5e-7, 1.0 / 3.0, 1e300, -0.75, 5e-05};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        prom_format_double(s, sizeof s, v[i]);
        assert_true(strtod(s, NULL) == v[i]);
    }
    prom_format_double(s, sizeof s, 42);
    assert_string_equal(s, "42");
    prom_format_double(s, sizeof s, -3);
    assert_string_equal(s, "-3");
    prom_format_double(s, sizeof s, 0.25);
    assert_string_equal(s, "0.25");
    prom_format_double(s, sizeof s, INFINITY);
    assert_string_equal(s, "+Inf");
    prom_format_double(s, sizeof s, -INFINITY);
    assert_string_equal(s, "-Inf");
    prom_format_double(s, sizeof s, NAN);
    assert_string_equal(s, "NaN");
}

/* Histogram buckets are cumulative, end with le="+Inf" equal to _count, and
 * carry the family's other labels before le. */
static void test_histogram(void **state)
{
    (void)state;
    const double bounds[] = {0.001, 0.01, 0.1};
    const uint64_t counts[] = {3, 0, 2, 1};
    prom_labels l;
    prom_labels_init(&l);
    prom_label(&l, "disk", "a");
    kbuf b = KBUF_INIT;
    prom_histogram(&b, "h_seconds", &l, bounds, counts, 3, 0.625);
    assert_string_equal(text(&b), "h_seconds_bucket{disk=\"a\",le=\"0.001\"} 3\n"
                                  "h_seconds_bucket{disk=\"a\",le=\"0.01\"} 3\n"
                                  "h_seconds_bucket{disk=\"a\",le=\"0.1\"} 5\n"
                                  "h_seconds_bucket{disk=\"a\",le=\"+Inf\"} 6\n"
                                  "h_seconds_sum{disk=\"a\"} 0.625\n"
                                  "h_seconds_count{disk=\"a\"} 6\n");
    kbuf_free(&b);
}

/* Metric and label names follow the format's grammar (label names never
 * start with the reserved "__"). */
static void test_names(void **state)
{
    (void)state;
    assert_true(prom_valid_name("redis_up", 0));
    assert_true(prom_valid_name("a:b_c9", 0));
    assert_false(prom_valid_name("9abc", 0));
    assert_false(prom_valid_name("a-b", 0));
    assert_false(prom_valid_name("", 0));
    assert_true(prom_valid_name("cmd", 1));
    assert_false(prom_valid_name("a:b", 1));
    assert_false(prom_valid_name("__name", 1));
}

/* A label that does not fit the label set is left out and said so, never
 * cut in the middle. */
static void test_label_overflow(void **state)
{
    (void)state;
    prom_labels l;
    prom_labels_init(&l);
    char big[1000];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    prom_label(&l, "a", "1");
    prom_label(&l, "b", big);
    assert_true(l.truncated);
    assert_string_equal(l.buf, "a=\"1\"");
}

/* Every feature of the writer together passes promtool's checker (when
 * promtool is installed: Debian's prometheus package). */
static void test_promtool_accepts(void **state)
{
    (void)state;
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        fprintf(stderr, "promtool not installed: only the text checks ran\n");
        return;
    }
    kbuf b = KBUF_INIT;
    prom_gauge(&b, "kvnode_test_ratio", "A gauge.", 0.5);
    prom_counter(&b, "kvnode_test_events_total", "A counter.", 12);
    prom_family(&b, "kvnode_test_calls_total", PROM_COUNTER, "Labelled \\ counter\nhelp.");
    prom_labels l;
    prom_labels_init(&l);
    prom_label(&l, "cmd", "client|list \"x\"\n");
    prom_sample_u64(&b, "kvnode_test_calls_total", NULL, &l, 3);
    prom_family(&b, "kvnode_test_duration_seconds", PROM_HISTOGRAM, "A histogram.");
    const double bounds[] = {0.0005, 0.25, 1};
    const uint64_t counts[] = {1, 2, 3, 4};
    prom_histogram(&b, "kvnode_test_duration_seconds", NULL, bounds, counts, 3, 1.5);
    prom_gauge(&b, "kvnode_test_inf", "Infinite.", INFINITY);
    char path[] = "/tmp/kvnode-prom-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, kbuf_data(&b), kbuf_len(&b)), (ssize_t)kbuf_len(&b));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
    int rc = system(cmd);
    unlink(path);
    kbuf_free(&b);
    assert_int_equal(rc, 0);
}

/* ---- HTTP request parser ---- */

/* GET and HEAD of /metrics (with a query string too) are 200; HEAD is
 * marked; the head's length is reported. */
static void test_http_ok(void **state)
{
    (void)state;
    http_req r;
    const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
    assert_int_equal(parse(get, &r), 200);
    assert_false(r.head);
    assert_int_equal(r.complete, (int)strlen(get));
    assert_int_equal(parse("HEAD /metrics?x=1 HTTP/1.1\r\nhost: y\r\n\r\n", &r), 200);
    assert_true(r.head);
    /* HTTP/1.0 needs no Host; bare LF line ends are accepted. */
    assert_int_equal(parse("GET /metrics HTTP/1.0\n\n", &r), 200);
    /* Content-Length: 0 is not a body. */
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &r),
                     200);
}

/* Incomplete heads need more bytes, at every cut point. */
static void test_http_incomplete(void **state)
{
    (void)state;
    const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    http_req r;
    for (size_t i = 0; i < strlen(get); i++)
        assert_int_equal(metrics_http_parse(get, i, &r), 0);
    assert_int_equal(metrics_http_parse(get, strlen(get), &r), 200);
}

/* Other paths are 404, other methods 405 (checked after the head's
 * syntax), other versions 505. */
static void test_http_status(void **state)
{
    (void)state;
    http_req r;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 404);
    assert_int_equal(parse("GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", &r), 404);
    assert_int_equal(parse("GET /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n", &r), 404);
    assert_int_equal(parse("POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r), 405);
    assert_int_equal(parse("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r), 405);
    assert_int_equal(parse("GET /metrics HTTP/2.0\r\n", &r), 505);
    assert_int_equal(parse("GET /metrics HTTP/0.9\r\n", &r), 505);
}

/* Malformed requests are 400, and a bad request line is answered as soon
 * as it is complete. */
static void test_http_bad(void **state)
{
    (void)state;
    http_req r;
    const char *bad[] = {
        "\r\n",
        "GET\r\n",
        "GET /metrics\r\n",
        "GET  /metrics HTTP/1.1\r\n",
        "GET /metrics  HTTP/1.1\r\n",
        "get(x) /metrics HTTP/1.1\r\n",
        "GET metrics HTTP/1.1\r\n",
        "GET http://h/metrics HTTP/1.1\r\n",
        "GET /met\x01rics HTTP/1.1\r\n",
        "GET /metrics HTTP/1.1x\r\n",
        "GET /metrics http/1.1\r\n",
        "GET /metrics HTTP/1.1\r\n\r\n",                                  /* no Host */
        "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",             /* two */
        "GET /metrics HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\n folded: x\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHo st: a\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\x01\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int st = parse(bad[i], &r);
        if (st != 400)
            fprintf(stderr, "case %zu: %d\n", i, st);
        assert_int_equal(st, 400);
    }
}

/* Limits: a target longer than METRICS_MAX_TARGET is 414 (even before
 * its line ends), a head longer than METRICS_MAX_HEAD or with too many
 * headers is 431. */
static void test_http_limits(void **state)
{
    (void)state;
    http_req r;
    size_t n = METRICS_MAX_HEAD + 64;
    char *big = malloc(n + 1);
    memcpy(big, "GET /", 5);
    memset(big + 5, 'a', n - 5);
    big[n] = '\0';
    assert_int_equal(metrics_http_parse(big, METRICS_MAX_TARGET + 64, &r), 414);
    snprintf(big, n, "GET /%0*d HTTP/1.1\r\n", METRICS_MAX_TARGET + 1, 0);
    assert_int_equal(parse(big, &r), 414);
    /* a long header value */
    int off = snprintf(big, n, "GET /metrics HTTP/1.1\r\nHost: a\r\nX: ");
    memset(big + off, 'b', n - (size_t)off);
    assert_int_equal(metrics_http_parse(big, METRICS_MAX_HEAD, &r), 431);
    assert_int_equal(metrics_http_parse(big, METRICS_MAX_HEAD - 1, &r), 0);
    /* many headers */
    kbuf b = KBUF_INIT;
    kbuf_append_str(&b, "GET /metrics HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < METRICS_MAX_HEADERS; i++)
        kbuf_printf(&b, "X-%d: y\r\n", i);
    kbuf_append_str(&b, "\r\n");
    assert_int_equal(metrics_http_parse(kbuf_data(&b), kbuf_len(&b), &r), 431);
    kbuf_free(&b);
    free(big);
}

/* Responses: status line, content type, exact length, Connection: close,
 * Allow on 405, no body for HEAD. */
static void test_http_response(void **state)
{
    (void)state;
    kbuf b = KBUF_INIT;
    metrics_http_response(200, 0, "abc\n", 4, &b);
    assert_string_equal(text(&b), "HTTP/1.1 200 OK\r\n"
                                  "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                                  "Content-Length: 4\r\n"
                                  "Connection: close\r\n\r\nabc\n");
    kbuf_reset(&b);
    metrics_http_response(200, 1, "abc\n", 4, &b);
    assert_non_null(strstr(text(&b), "Content-Length: 4\r\n"));
    assert_string_equal(strstr(kbuf_data(&b), "\r\n\r\n"), "\r\n\r\n");
    kbuf_reset(&b);
    metrics_http_response(405, 0, NULL, 0, &b);
    assert_non_null(strstr(text(&b), "Allow: GET, HEAD\r\n"));
    assert_non_null(strstr(kbuf_data(&b), "\r\n\r\n405 Method Not Allowed\n"));
    kbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_family_header),
        cmocka_unit_test(test_float_format),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_label_overflow),
        cmocka_unit_test(test_promtool_accepts),
        cmocka_unit_test(test_http_ok),
        cmocka_unit_test(test_http_incomplete),
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_http_bad),
        cmocka_unit_test(test_http_limits),
        cmocka_unit_test(test_http_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
