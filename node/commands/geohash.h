/* geohash.h — Redis's geohash arithmetic for the GEO commands (cmd_geo.c).
 *
 * A position is stored as a sorted set score: the 52-bit interleaving of
 * 26 bits of longitude (odd bits) and 26 bits of latitude (even bits),
 * over longitude [-180, 180] and latitude [-85.05112878, 85.05112878]
 * (the Web Mercator limits). Decoding gives the centre of the cell.
 * Distances use the haversine formula on a sphere of radius
 * 6372797.560856 m. The search helpers reproduce Redis 7.0's choice of
 * cell size and its nine cells (centre and eight neighbours), so that
 * searches visit members in the same order as Redis. Pure functions: no
 * allocation, no I/O. */
#ifndef KV_GEOHASH_H
#define KV_GEOHASH_H

#include <stdint.h>

#define GEO_LAT_MIN -85.05112878
#define GEO_LAT_MAX 85.05112878
#define GEO_LONG_MIN -180.0
#define GEO_LONG_MAX 180.0
#define GEO_STEP_MAX 26

typedef struct geo_bits {
    uint64_t bits;
    uint8_t step;
} geo_bits;

typedef struct geo_range {
    double min, max;
} geo_range;

typedef struct geo_area {
    geo_bits hash;
    geo_range lon, lat;
} geo_area;

/* The search shape: a circle (radius) or an axis-aligned box (width,
 * height), in the unit whose size in meters is conversion. */
enum { GEO_CIRCLE = 0, GEO_BOX = 1 };
typedef struct geo_shape {
    int type;
    double xy[2];      /* centre: longitude, latitude */
    double conversion; /* meters per unit */
    double radius;     /* GEO_CIRCLE */
    double width, height; /* GEO_BOX */
    double bounds[4];  /* min lon, min lat, max lon, max lat (filled by geo_search_areas) */
} geo_shape;

/* Encode with the given ranges at step bits per coordinate; 0 when the
 * position is outside the ranges or the Mercator limits. */
int geo_encode(const geo_range *lon, const geo_range *lat, double longitude, double latitude,
               uint8_t step, geo_bits *out);
/* The 52-bit score of a position (GEOADD); 0 when out of range. */
int geo_encode_score(double longitude, double latitude, uint64_t *score);
/* The position a score stands for (the centre of its cell, clamped to the
 * ranges); 0 when it cannot be decoded. */
int geo_decode_score(double score, double xy[2]);
/* GEOHASH: the 11-character standard geohash of a score (buf: 12 bytes).
 * 0 when the score cannot be decoded. */
int geo_hash_string(double score, char buf[12]);

/* Great-circle distance in meters. */
double geo_distance(double lon1, double lat1, double lon2, double lat2);
/* 1 and *dist when the point (x2, y2) is inside the shape. */
int geo_in_shape(const geo_shape *s, double x2, double y2, double *dist);

/* The nine cells to scan for shape (centre first, then N, S, E, W, NE,
 * NW, SE, SW; a cell with bits and step 0 is to be skipped), as Redis's
 * geohashCalculateAreasByShapeWGS84. Fills s->bounds. */
void geo_search_areas(geo_shape *s, geo_bits cells[9]);
/* The score interval [min, max) of the members inside cell. */
void geo_cell_scores(geo_bits cell, uint64_t *min, uint64_t *max);

#endif
