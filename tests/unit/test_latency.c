/* test_latency.c — the per-command latency histogram (latency.c): bucket
 * layout, percentiles and the cumulative distribution, against figures
 * read off redis-server 7.0.15 (its INFO latencystats and LATENCY
 * HISTOGRAM for the same recorded values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "latency.h"

/* ---- Helpers ---- */

static lat_hist *hist(void)
{
    return calloc(1, sizeof(lat_hist));
}

/* ---- Tests ---- */

/* Values up to 255 ns are exact; above, a counter spans 2^b values: 40 µs
 * reads back as 40.191 µs, 79 µs as 79.359, 65536 ns as 66047 (Redis's
 * "p50=40.191", "p50=79.359", "histogram_usec 66"). */
static void test_equivalent_values(void **state)
{
    (void)state;
    assert_int_equal(lat_highest_equivalent(1), 1);
    assert_int_equal(lat_highest_equivalent(255), 255);
    assert_int_equal(lat_highest_equivalent(256), 257);
    assert_int_equal(lat_lowest_equivalent(1029), 1024);
    assert_int_equal(lat_highest_equivalent(1024), 1031);
    assert_int_equal(lat_highest_equivalent(40000), 40191);
    assert_int_equal(lat_highest_equivalent(79000), 79359);
    assert_int_equal(lat_highest_equivalent(65536), 66047);
    assert_int_equal(lat_highest_equivalent(430000), 430079);
    /* Every value maps inside the counters, and counters are ordered. */
    int last = -1;
    for (int64_t v = 1; v <= LAT_MAX_NS; v = v * 3 / 2 + 1) {
        int i = lat_index(v);
        assert_true(i >= last && i < LAT_COUNTS);
        assert_true(lat_lowest_equivalent(v) <= v && v <= lat_highest_equivalent(v));
        last = i;
    }
    assert_true(lat_index(LAT_MAX_NS) < LAT_COUNTS);
}

/* Percentiles: the highest equivalent value of the first counter whose
 * cumulative count reaches p% of the total, rounded (at least 1); p0 is
 * the lowest equivalent of the smallest (redis-server: "p0=39.936,
 * p50.5=40.191" for one 40 µs SET); an empty histogram is 0. */
static void test_percentiles(void **state)
{
    (void)state;
    lat_hist *h = hist();
    assert_int_equal(lat_value_at_percentile(h, 50), 0);
    lat_record(h, 39936);  /* 39.936 µs */
    lat_record(h, 40000);
    lat_record(h, 185000);
    assert_int_equal(lat_value_at_percentile(h, 0), 39936);
    assert_int_equal(lat_value_at_percentile(h, 50), 40191);
    assert_int_equal(lat_value_at_percentile(h, 66), 40191);
    assert_int_equal(lat_value_at_percentile(h, 99), 185343);
    assert_int_equal(lat_value_at_percentile(h, 100), 185343);
    assert_int_equal(lat_value_at_percentile(h, 1000), 185343);
    free(h);
}

/* Out-of-range values are clamped to 1 ns and 10^9 ns, as Redis does. */
static void test_clamping(void **state)
{
    (void)state;
    lat_hist *h = hist();
    lat_record(h, 0);
    lat_record(h, -5);
    lat_record(h, 5000000000LL);
    assert_int_equal(h->total, 3);
    assert_int_equal(h->counts[lat_index(1)], 2);
    assert_int_equal(h->counts[lat_index(LAT_MAX_NS)], 1);
    assert_int_equal(lat_value_at_percentile(h, 100), lat_highest_equivalent(LAT_MAX_NS));
    free(h);
}

/* The cumulative distribution, as LATENCY HISTOGRAM replies it: one SET of
 * 40 µs is {66: 1}; CONFIG GET calls of ~5, ~36 and ~185 µs are
 * {8: 1, 66: 2, 264: 3}; a sub-microsecond call lands under key 1; keys
 * where the count did not grow are left out. */
static void test_cdf(void **state)
{
    (void)state;
    lat_point p[64];
    lat_hist *h = hist();
    assert_int_equal(lat_cdf(h, p, 64), 0);
    lat_record(h, 40000);
    assert_int_equal(lat_cdf(h, p, 64), 1);
    assert_int_equal(p[0].usec, 66);
    assert_int_equal(p[0].cumulative, 1);
    free(h);

    h = hist();
    lat_record(h, 5000);
    lat_record(h, 35840);
    lat_record(h, 185000);
    assert_int_equal(lat_cdf(h, p, 64), 3);
    assert_int_equal(p[0].usec, 8);
    assert_int_equal(p[0].cumulative, 1);
    assert_int_equal(p[1].usec, 66);
    assert_int_equal(p[1].cumulative, 2);
    assert_int_equal(p[2].usec, 264);
    assert_int_equal(p[2].cumulative, 3);
    free(h);

    h = hist();
    lat_record(h, 300);
    lat_record(h, LAT_MAX_NS);
    int n = lat_cdf(h, p, 64);
    assert_int_equal(n, 2);
    assert_int_equal(p[0].usec, 1);
    assert_int_equal(p[0].cumulative, 1);
    assert_int_equal(p[1].cumulative, 2);
    assert_true(p[1].usec >= 1000000);
    /* Keys are powers of two past 1024 ns, counts grow strictly. */
    free(h);
    h = hist();
    for (int64_t v = 1; v < LAT_MAX_NS; v *= 3)
        lat_record(h, v);
    n = lat_cdf(h, p, 64);
    assert_true(n > 5 && n < 30);
    for (int i = 1; i < n; i++) {
        assert_true(p[i].usec > p[i - 1].usec);
        assert_true(p[i].cumulative > p[i - 1].cumulative);
    }
    assert_int_equal(p[n - 1].cumulative, h->total);
    free(h);
}

/* Percentile names as Redis prints them: %f with trailing zeros cut. */
static void test_percentile_names(void **state)
{
    (void)state;
    char s[64];
    lat_format_percentile(s, sizeof s, 50);
    assert_string_equal(s, "50");
    lat_format_percentile(s, sizeof s, 99.9);
    assert_string_equal(s, "99.9");
    lat_format_percentile(s, sizeof s, 50.5);
    assert_string_equal(s, "50.5");
    lat_format_percentile(s, sizeof s, 0);
    assert_string_equal(s, "0");
    lat_format_percentile(s, sizeof s, 0.001);
    assert_string_equal(s, "0.001");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equivalent_values),
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_clamping),
        cmocka_unit_test(test_cdf),
        cmocka_unit_test(test_percentile_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
