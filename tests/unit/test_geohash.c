/* test_geohash.c — the geohash arithmetic of the GEO commands: scores,
 * decoded positions, standard geohash strings and distances of known
 * places equal redis-server 7.0's (values taken from it), out-of-range
 * positions refused, boxes and circles tested as Redis tests them, and a
 * randomized check that the nine cells chosen for a search cover every
 * stored position inside the shape (no member can be missed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geohash.h"

/* ---- Helpers ---- */

/* Redis's addReplyHumanLongDouble: 17 decimals, trailing zeros cut. */
static void human(char *buf, size_t len, double d)
{
    snprintf(buf, len, "%.17Lf", (long double)d);
    char *p = buf + strlen(buf) - 1;
    while (*p == '0')
        *p-- = '\0';
    if (*p == '.')
        *p = '\0';
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static double rnd01(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (double)(rnd_state >> 11) / 9007199254740992.0;
}

/* ---- Tests ---- */

/* GEOADD's scores and GEOPOS/GEOHASH/GEODIST of Palermo and Catania are
 * redis-server's, digit for digit. */
static void test_known_places(void **state)
{
    (void)state;
    uint64_t pal, cat;
    assert_true(geo_encode_score(13.361389, 38.115556, &pal));
    assert_true(geo_encode_score(15.087269, 37.502669, &cat));
    assert_true(pal == 3479099956230698ULL);
    assert_true(cat == 3479447370796909ULL);
    double a[2], b[2];
    char buf[64];
    assert_true(geo_decode_score((double)pal, a));
    assert_true(geo_decode_score((double)cat, b));
    human(buf, sizeof buf, a[0]);
    assert_string_equal(buf, "13.36138933897018433");
    human(buf, sizeof buf, a[1]);
    assert_string_equal(buf, "38.11555639549629859");
    human(buf, sizeof buf, b[0]);
    assert_string_equal(buf, "15.08726745843887329");
    human(buf, sizeof buf, b[1]);
    assert_string_equal(buf, "37.50266842333162032");
    char h[12];
    assert_true(geo_hash_string((double)pal, h));
    assert_string_equal(h, "sqc8b49rny0");
    assert_true(geo_hash_string((double)cat, h));
    assert_string_equal(h, "sqdtr74hyu0");
    snprintf(buf, sizeof buf, "%.4f", geo_distance(a[0], a[1], b[0], b[1]) / 1000);
    assert_string_equal(buf, "166.2742");
    /* GEORADIUS 15 37 200 km WITHDIST: 190.4424 and 56.4413 km */
    snprintf(buf, sizeof buf, "%.4f", geo_distance(15, 37, a[0], a[1]) / 1000);
    assert_string_equal(buf, "190.4424");
    snprintf(buf, sizeof buf, "%.4f", geo_distance(15, 37, b[0], b[1]) / 1000);
    assert_string_equal(buf, "56.4413");
}

/* Positions outside [-180, 180] x [-85.05112878, 85.05112878] have no
 * score; the corners do. */
static void test_ranges(void **state)
{
    (void)state;
    uint64_t s;
    assert_false(geo_encode_score(180.0001, 0, &s));
    assert_false(geo_encode_score(-180.0001, 0, &s));
    assert_false(geo_encode_score(0, 85.06, &s));
    assert_false(geo_encode_score(0, -85.06, &s));
    assert_true(geo_encode_score(180, 85.05112878, &s));
    assert_true(geo_encode_score(-180, -85.05112878, &s));
    assert_true(s == 0);
    double xy[2];
    assert_true(geo_decode_score(0, xy));
    assert_true(xy[0] > -180 && xy[0] < -179.99);
    assert_true(xy[1] > -85.06 && xy[1] < -85.05);
}

/* A box takes points within half its height in latitude and half its
 * width along the point's parallel; a circle those within the radius. */
static void test_shapes(void **state)
{
    (void)state;
    geo_shape box = {.type = GEO_BOX, .xy = {15, 37}, .conversion = 1000, .width = 400,
                     .height = 400};
    double d;
    assert_true(geo_in_shape(&box, 15, 38.79, &d));   /* 199.9 km north */
    assert_false(geo_in_shape(&box, 15, 38.81, &d));  /* 201 km north */
    assert_true(geo_in_shape(&box, 17.2, 37, &d));    /* 195.5 km east */
    assert_false(geo_in_shape(&box, 17.3, 37, &d));   /* 204 km east */
    geo_shape circle = {.type = GEO_CIRCLE, .xy = {15, 37}, .conversion = 1000, .radius = 200};
    assert_false(geo_in_shape(&circle, 16.5, 38.5, &d)); /* a box corner, ~210 km */
    assert_true(geo_in_shape(&circle, 15, 38.79, &d));
    assert_true(d < 200000 && d > 199000);
}

/* Whatever the centre (up to 60 degrees of latitude) and size, every
 * stored position inside the shape has its score in one of the cells the
 * search scans. (Near the poles Redis 7.0's cells can miss members of a
 * large search, e.g. 600 km around -101.01,-84.81 misses -79.94,-82.40;
 * kvnode reproduces that: diff/geo.txt.) */
static void test_cells_cover_shape(void **state)
{
    (void)state;
    static const double sizes[] = {10, 500, 5000, 80000, 600000, 3000000};
    int checked = 0;
    for (int round = 0; round < 600; round++) {
        geo_shape s = {.conversion = 1};
        s.type = round % 2 ? GEO_BOX : GEO_CIRCLE;
        s.xy[0] = -180 + 360 * rnd01();
        s.xy[1] = -60 + 120 * rnd01();
        double size = sizes[round % 6];
        s.radius = size;
        s.width = size * (0.5 + rnd01());
        s.height = size * (0.5 + rnd01());
        geo_bits cells[9];
        geo_search_areas(&s, cells);
        for (int k = 0; k < 200; k++) {
            /* a point near the centre, within about the shape's size */
            double deg = size / 111000.0 * 1.2;
            double lon = s.xy[0] + (rnd01() * 2 - 1) * deg / cos(s.xy[1] * M_PI / 180);
            double lat = s.xy[1] + (rnd01() * 2 - 1) * deg;
            uint64_t score;
            if (!geo_encode_score(lon, lat, &score))
                continue;
            double xy[2], d;
            assert_true(geo_decode_score((double)score, xy));
            if (!geo_in_shape(&s, xy[0], xy[1], &d))
                continue;
            int found = 0;
            for (int i = 0; i < 9 && !found; i++) {
                if (cells[i].bits == 0 && cells[i].step == 0)
                    continue;
                uint64_t min, max;
                geo_cell_scores(cells[i], &min, &max);
                found = score >= min && score < max;
            }
            if (!found)
                fail_msg("centre %.6f,%.6f size %.0f type %d: point %.6f,%.6f not in any cell",
                         s.xy[0], s.xy[1], size, s.type, xy[0], xy[1]);
            checked++;
        }
    }
    print_message("%d positions inside their shape, all in a scanned cell\n", checked);
    assert_true(checked > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_places),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_cells_cover_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
