/* geohash.c — see geohash.h. The arithmetic follows Redis 7.0's
 * geohash.c and geohash_helper.c operation for operation (same constants,
 * same order of floating-point steps), since replies print coordinates
 * to 17 digits and distances to 4 decimals. */
#include "geohash.h"

#include <math.h>
#include <stddef.h>

#define D_R (M_PI / 180.0)
#define EARTH_RADIUS_IN_METERS 6372797.560856
#define MERCATOR_MAX 20037726.37

static inline double deg_rad(double ang)
{
    return ang * D_R;
}

static inline double rad_deg(double ang)
{
    return ang / D_R;
}

/* Bits of x in the even positions, bits of y in the odd ones. */
static uint64_t interleave64(uint32_t xlo, uint32_t ylo)
{
    static const uint64_t B[] = {0x5555555555555555ULL, 0x3333333333333333ULL,
                                 0x0F0F0F0F0F0F0F0FULL, 0x00FF00FF00FF00FFULL,
                                 0x0000FFFF0000FFFFULL};
    static const unsigned S[] = {1, 2, 4, 8, 16};
    uint64_t x = xlo, y = ylo;
    for (int i = 4; i >= 0; i--) {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    return x | (y << 1);
}

/* The inverse: even bits in the low 32 bits, odd bits in the high ones. */
static uint64_t deinterleave64(uint64_t v)
{
    static const uint64_t B[] = {0x5555555555555555ULL, 0x3333333333333333ULL,
                                 0x0F0F0F0F0F0F0F0FULL, 0x00FF00FF00FF00FFULL,
                                 0x0000FFFF0000FFFFULL, 0x00000000FFFFFFFFULL};
    static const unsigned S[] = {0, 1, 2, 4, 8, 16};
    uint64_t x = v, y = v >> 1;
    for (int i = 0; i < 6; i++) {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    return x | (y << 32);
}

static void coord_ranges(geo_range *lon, geo_range *lat)
{
    lon->min = GEO_LONG_MIN;
    lon->max = GEO_LONG_MAX;
    lat->min = GEO_LAT_MIN;
    lat->max = GEO_LAT_MAX;
}

int geo_encode(const geo_range *lon, const geo_range *lat, double longitude, double latitude,
               uint8_t step, geo_bits *out)
{
    if (step > 32 || step == 0 || (lat->min == 0 && lat->max == 0) ||
        (lon->min == 0 && lon->max == 0))
        return 0;
    if (longitude > 180 || longitude < -180 || latitude > 85.05112878 || latitude < -85.05112878)
        return 0;
    out->bits = 0;
    out->step = step;
    if (latitude < lat->min || latitude > lat->max || longitude < lon->min ||
        longitude > lon->max)
        return 0;
    double lat_offset = (latitude - lat->min) / (lat->max - lat->min);
    double lon_offset = (longitude - lon->min) / (lon->max - lon->min);
    lat_offset *= (double)(1 << step);
    lon_offset *= (double)(1 << step);
    out->bits = interleave64((uint32_t)lat_offset, (uint32_t)lon_offset);
    return 1;
}

static int decode_area(geo_range lon, geo_range lat, geo_bits h, geo_area *a)
{
    if ((h.bits == 0 && h.step == 0) || (lat.min == 0 && lat.max == 0) ||
        (lon.min == 0 && lon.max == 0))
        return 0;
    a->hash = h;
    uint64_t sep = deinterleave64(h.bits);
    double lat_scale = lat.max - lat.min;
    double lon_scale = lon.max - lon.min;
    uint32_t ilat = (uint32_t)sep;
    uint32_t ilon = (uint32_t)(sep >> 32);
    a->lat.min = lat.min + (ilat * 1.0 / (double)(1ull << h.step)) * lat_scale;
    a->lat.max = lat.min + ((ilat + 1) * 1.0 / (double)(1ull << h.step)) * lat_scale;
    a->lon.min = lon.min + (ilon * 1.0 / (double)(1ull << h.step)) * lon_scale;
    a->lon.max = lon.min + ((ilon + 1) * 1.0 / (double)(1ull << h.step)) * lon_scale;
    return 1;
}

static uint64_t align52(geo_bits h)
{
    return h.bits << (52 - h.step * 2);
}

int geo_encode_score(double longitude, double latitude, uint64_t *score)
{
    geo_range lon, lat;
    geo_bits h;
    coord_ranges(&lon, &lat);
    if (!geo_encode(&lon, &lat, longitude, latitude, GEO_STEP_MAX, &h))
        return 0;
    *score = align52(h);
    return 1;
}

int geo_decode_score(double score, double xy[2])
{
    geo_bits h = {.bits = (uint64_t)score, .step = GEO_STEP_MAX};
    geo_range lon, lat;
    geo_area a;
    coord_ranges(&lon, &lat);
    if (!decode_area(lon, lat, h, &a))
        return 0;
    xy[0] = (a.lon.min + a.lon.max) / 2;
    if (xy[0] > GEO_LONG_MAX)
        xy[0] = GEO_LONG_MAX;
    if (xy[0] < GEO_LONG_MIN)
        xy[0] = GEO_LONG_MIN;
    xy[1] = (a.lat.min + a.lat.max) / 2;
    if (xy[1] > GEO_LAT_MAX)
        xy[1] = GEO_LAT_MAX;
    if (xy[1] < GEO_LAT_MIN)
        xy[1] = GEO_LAT_MIN;
    return 1;
}

int geo_hash_string(double score, char buf[12])
{
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    double xy[2];
    if (!geo_decode_score(score, xy))
        return 0;
    /* Our latitude range is the Mercator one; the standard geohash uses
     * [-90, 90]: re-encode. */
    geo_range lon = {-180, 180}, lat = {-90, 90};
    geo_bits h = {0, 0};
    geo_encode(&lon, &lat, xy[0], xy[1], 26, &h);
    for (int i = 0; i < 11; i++) {
        /* 52 bits make ten characters; the eleventh is always '0'. */
        int idx = i == 10 ? 0 : (int)((h.bits >> (52 - ((i + 1) * 5))) & 0x1f);
        buf[i] = alphabet[idx];
    }
    buf[11] = '\0';
    return 1;
}

static double lat_distance(double lat1d, double lat2d)
{
    return EARTH_RADIUS_IN_METERS * fabs(deg_rad(lat2d) - deg_rad(lat1d));
}

double geo_distance(double lon1d, double lat1d, double lon2d, double lat2d)
{
    double lon1r = deg_rad(lon1d), lon2r = deg_rad(lon2d);
    double v = sin((lon2r - lon1r) / 2);
    /* Same longitude: the haversine reduces to the latitude arc. */
    if (v == 0.0)
        return lat_distance(lat1d, lat2d);
    double lat1r = deg_rad(lat1d), lat2r = deg_rad(lat2d);
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * EARTH_RADIUS_IN_METERS * asin(sqrt(a));
}

int geo_in_shape(const geo_shape *s, double x2, double y2, double *dist)
{
    double x1 = s->xy[0], y1 = s->xy[1];
    if (s->type == GEO_CIRCLE) {
        *dist = geo_distance(x1, y1, x2, y2);
        return !(*dist > s->radius * s->conversion);
    }
    /* A box: the latitude arc first (cheaper), then the longitude arc at
     * the point's latitude. */
    double width_m = s->width * s->conversion, height_m = s->height * s->conversion;
    if (lat_distance(y2, y1) > height_m / 2)
        return 0;
    if (geo_distance(x2, y2, x1, y2) > width_m / 2)
        return 0;
    *dist = geo_distance(x1, y1, x2, y2);
    return 1;
}

static void move_x(geo_bits *h, int d)
{
    if (d == 0)
        return;
    uint64_t x = h->bits & 0xaaaaaaaaaaaaaaaaULL;
    uint64_t y = h->bits & 0x5555555555555555ULL;
    uint64_t zz = 0x5555555555555555ULL >> (64 - h->step * 2);
    if (d > 0) {
        x = x + (zz + 1);
    } else {
        x = x | zz;
        x = x - (zz + 1);
    }
    x &= (0xaaaaaaaaaaaaaaaaULL >> (64 - h->step * 2));
    h->bits = x | y;
}

static void move_y(geo_bits *h, int d)
{
    if (d == 0)
        return;
    uint64_t x = h->bits & 0xaaaaaaaaaaaaaaaaULL;
    uint64_t y = h->bits & 0x5555555555555555ULL;
    uint64_t zz = 0xaaaaaaaaaaaaaaaaULL >> (64 - h->step * 2);
    if (d > 0) {
        y = y + (zz + 1);
    } else {
        y = y | zz;
        y = y - (zz + 1);
    }
    y &= (0x5555555555555555ULL >> (64 - h->step * 2));
    h->bits = x | y;
}

enum { N_CENTRE, N_NORTH, N_SOUTH, N_EAST, N_WEST, N_NE, N_NW, N_SE, N_SW };

static void neighbours(geo_bits h, geo_bits cells[9])
{
    static const int dx[9] = {0, 0, 0, 1, -1, 1, -1, 1, -1};
    static const int dy[9] = {0, 1, -1, 0, 0, 1, 1, -1, -1};
    for (int i = 0; i < 9; i++) {
        cells[i] = h;
        move_x(&cells[i], dx[i]);
        move_y(&cells[i], dy[i]);
    }
}

static int estimate_steps(double range_meters, double lat)
{
    if (range_meters == 0)
        return 26;
    int step = 1;
    while (range_meters < MERCATOR_MAX) {
        range_meters *= 2;
        step++;
    }
    step -= 2; /* make sure the range is covered in most cases */
    /* wider cells towards the poles */
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80)
            step--;
    }
    if (step < 1)
        step = 1;
    if (step > 26)
        step = 26;
    return step;
}

/* The shape's bounding box in degrees (a trapezoid's widest sides). */
static void bounding_box(geo_shape *s)
{
    double longitude = s->xy[0], latitude = s->xy[1];
    double height = s->conversion * (s->type == GEO_CIRCLE ? s->radius : s->height / 2);
    double width = s->conversion * (s->type == GEO_CIRCLE ? s->radius : s->width / 2);
    const double lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    const double lon_delta_top =
        rad_deg(width / EARTH_RADIUS_IN_METERS / cos(deg_rad(latitude + lat_delta)));
    const double lon_delta_bottom =
        rad_deg(width / EARTH_RADIUS_IN_METERS / cos(deg_rad(latitude - lat_delta)));
    int southern = latitude < 0;
    s->bounds[0] = southern ? longitude - lon_delta_bottom : longitude - lon_delta_top;
    s->bounds[2] = southern ? longitude + lon_delta_bottom : longitude + lon_delta_top;
    s->bounds[1] = latitude - lat_delta;
    s->bounds[3] = latitude + lat_delta;
}

void geo_search_areas(geo_shape *s, geo_bits cells[9])
{
    geo_range lon_r, lat_r;
    geo_bits hash;
    geo_area area;
    bounding_box(s);
    double min_lon = s->bounds[0], min_lat = s->bounds[1];
    double max_lon = s->bounds[2], max_lat = s->bounds[3];
    double longitude = s->xy[0], latitude = s->xy[1];
    /* A box is covered by the circle through its corners. */
    double radius_meters = s->type == GEO_CIRCLE
                               ? s->radius
                               : sqrt((s->width / 2) * (s->width / 2) +
                                      (s->height / 2) * (s->height / 2));
    radius_meters *= s->conversion;
    int steps = estimate_steps(radius_meters, latitude);
    coord_ranges(&lon_r, &lat_r);
    geo_encode(&lon_r, &lat_r, longitude, latitude, (uint8_t)steps, &hash);
    neighbours(hash, cells);
    decode_area(lon_r, lat_r, hash, &area);

    /* Near a cell's edge the estimated step may leave part of the shape
     * outside the nine cells: take cells twice as large then. */
    geo_area north, south, east, west;
    decode_area(lon_r, lat_r, cells[N_NORTH], &north);
    decode_area(lon_r, lat_r, cells[N_SOUTH], &south);
    decode_area(lon_r, lat_r, cells[N_EAST], &east);
    decode_area(lon_r, lat_r, cells[N_WEST], &west);
    int decrease = north.lat.max < max_lat || south.lat.min > min_lat ||
                   east.lon.max < max_lon || west.lon.min > min_lon;
    if (steps > 1 && decrease) {
        steps--;
        geo_encode(&lon_r, &lat_r, longitude, latitude, (uint8_t)steps, &hash);
        neighbours(hash, cells);
        decode_area(lon_r, lat_r, hash, &area);
    }

    /* Drop the cells the shape cannot reach. */
    static const geo_bits zero = {0, 0};
    if (steps >= 2) {
        if (area.lat.min < min_lat)
            cells[N_SOUTH] = cells[N_SW] = cells[N_SE] = zero;
        if (area.lat.max > max_lat)
            cells[N_NORTH] = cells[N_NE] = cells[N_NW] = zero;
        if (area.lon.min < min_lon)
            cells[N_WEST] = cells[N_SW] = cells[N_NW] = zero;
        if (area.lon.max > max_lon)
            cells[N_EAST] = cells[N_SE] = cells[N_NE] = zero;
    }
}

void geo_cell_scores(geo_bits cell, uint64_t *min, uint64_t *max)
{
    *min = align52(cell);
    cell.bits++;
    *max = align52(cell);
}
