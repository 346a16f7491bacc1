/* cmd_geo.c — the GEO commands over sorted sets, with Redis 7.0's
 * replies, errors and order of checks (geo.c).
 *
 * A position is a sorted set member whose score is its 52-bit geohash
 * (geohash.h), so every sorted set command works on geo sets and the GEO
 * commands on any sorted set. Searches scan the score intervals of the
 * nine geohash cells Redis picks, in Redis's order, keep the members
 * inside the shape, then sort by distance when asked (COUNT without ANY
 * implies ASC).
 *
 * Replies: coordinates as Redis's addReplyHumanLongDouble (17 decimals,
 * trailing zeros cut; a RESP3 double), distances as "%.4f" bulk strings in
 * the requested unit, hashes as integers.
 *
 * Logged effects: GEOADD is logged as the ZADD it runs (scores as
 * integers: no float parsing on replay); GEORADIUS … STORE and
 * GEOSEARCHSTORE are logged as themselves (the search is deterministic
 * given the keyspace). Keyspace events: GEOADD's are ZADD's ("new",
 * "zadd"); a STORE that stores sends "new" for a new key, then
 * "georadiusstore" / "geosearchstore", one that deletes "del". */
#include "cmd.h"
#include "geohash.h"
#include "mem.h"
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_BAD_MEMBER "ERR could not decode requested zset member"

/* ---- arguments ---- */

/* Two arguments from i as longitude, latitude (Redis's
 * extractLongLatOrReply). */
static int arg_lonlat(cmd_ctx *c, int i, double xy[2])
{
    for (int j = 0; j < 2; j++) {
        if (!kv_string2d(c->argv[i + j], c->lens[i + j], &xy[j])) {
            reply_error(&c->r, KV_ERR_NOTFLOAT);
            return -1;
        }
    }
    if (xy[0] < GEO_LONG_MIN || xy[0] > GEO_LONG_MAX || xy[1] < GEO_LAT_MIN ||
        xy[1] > GEO_LAT_MAX) {
        reply_errorf(&c->r, "ERR invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
        return -1;
    }
    return 0;
}

/* Meters per unit of argument i, or -1 (error replied). Units compare
 * case-insensitively, as Redis 7.0. */
static double arg_unit(cmd_ctx *c, int i)
{
    if (arg_is_c(c, i, "m"))
        return 1;
    if (arg_is_c(c, i, "km"))
        return 1000;
    if (arg_is_c(c, i, "ft"))
        return 0.3048;
    if (arg_is_c(c, i, "mi"))
        return 1609.34;
    reply_error(&c->r, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

/* "<radius> <unit>" from i. */
static int arg_radius(cmd_ctx *c, int i, geo_shape *s)
{
    double d;
    if (!kv_string2d(c->argv[i], c->lens[i], &d)) {
        reply_error(&c->r, "ERR need numeric radius");
        return -1;
    }
    if (d < 0) {
        reply_error(&c->r, "ERR radius cannot be negative");
        return -1;
    }
    s->radius = d;
    double conv = arg_unit(c, i + 1);
    if (conv < 0)
        return -1;
    s->conversion = conv;
    return 0;
}

/* "<width> <height> <unit>" from i. */
static int arg_box(cmd_ctx *c, int i, geo_shape *s)
{
    double w, h;
    if (!kv_string2d(c->argv[i], c->lens[i], &w)) {
        reply_error(&c->r, "ERR need numeric width");
        return -1;
    }
    if (!kv_string2d(c->argv[i + 1], c->lens[i + 1], &h)) {
        reply_error(&c->r, "ERR need numeric height");
        return -1;
    }
    if (h < 0 || w < 0) {
        reply_error(&c->r, "ERR height or width cannot be negative");
        return -1;
    }
    s->width = w;
    s->height = h;
    double conv = arg_unit(c, i + 2);
    if (conv < 0)
        return -1;
    s->conversion = conv;
    return 0;
}

/* The key at i as a sorted set for reading: NULL when missing; *wrong
 * (error replied) when of another type. */
static kobj *read_zset(cmd_ctx *c, int i, int *wrong)
{
    *wrong = 0;
    kobj *o = db_read(c, c->argv[i], c->lens[i]);
    if (o && kobj_type(o) != KT_ZSET) {
        reply_err_wrongtype(&c->r);
        *wrong = 1;
        return NULL;
    }
    return o;
}

static int member_pos(kobj *o, const char *m, size_t n, double xy[2])
{
    double score;
    return zset_score(kobj_zset(o), m, n, &score) && geo_decode_score(score, xy);
}

/* "%.4f", as a bulk string in both protocols. */
static void reply_distance(cmd_ctx *c, double d)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, "%.4f", d);
    reply_bulk(&c->r, buf, (size_t)n);
}

/* ---- GEOADD ---- */

/* GEOADD key [NX|XX] [CH] lon lat member [...]: runs ZADD key [options]
 * score member [...]. */
static void cmd_geoadd(cmd_ctx *c)
{
    int xx = 0, nx = 0, longidx = 2;
    for (; longidx < c->argc; longidx++) {
        if (arg_is_c(c, longidx, "nx"))
            nx = 1;
        else if (arg_is_c(c, longidx, "xx"))
            xx = 1;
        else if (!arg_is_c(c, longidx, "ch"))
            break;
    }
    if ((c->argc - longidx) % 3 || (xx && nx)) {
        reply_err_syntax(&c->r);
        return;
    }
    int elements = (c->argc - longidx) / 3;
    int argc = longidx + elements * 2;
    const char **argv = kv_malloc((size_t)argc * sizeof *argv);
    size_t *lens = kv_malloc((size_t)argc * sizeof *lens);
    char(*scores)[24] = kv_malloc((size_t)(elements ? elements : 1) * sizeof *scores);
    argv[0] = "zadd";
    lens[0] = 4;
    for (int i = 1; i < longidx; i++) {
        argv[i] = c->argv[i];
        lens[i] = c->lens[i];
    }
    for (int i = 0; i < elements; i++) {
        double xy[2];
        uint64_t bits = 0;
        if (arg_lonlat(c, longidx + i * 3, xy) < 0)
            goto done;
        geo_encode_score(xy[0], xy[1], &bits);
        int n = snprintf(scores[i], sizeof scores[i], "%llu", (unsigned long long)bits);
        argv[longidx + i * 2] = scores[i];
        lens[longidx + i * 2] = (size_t)n;
        argv[longidx + i * 2 + 1] = c->argv[longidx + i * 3 + 2];
        lens[longidx + i * 2 + 1] = c->lens[longidx + i * 3 + 2];
    }
    const char *const *oargv = c->argv;
    const size_t *olens = c->lens;
    int oargc = c->argc;
    c->argv = argv;
    c->lens = lens;
    c->argc = argc;
    zset_zadd_command(c);
    if (c->dirty && !c->propagated)
        cmd_propagate(c, argc, argv, lens);
    c->argv = oargv;
    c->lens = olens;
    c->argc = oargc;
done:
    kv_free(scores);
    kv_free(lens);
    kv_free(argv);
}

/* ---- searches ---- */

typedef struct geo_point {
    double lon, lat, dist, score;
    char *member;
    size_t len;
} geo_point;

typedef struct geo_array {
    geo_point *p;
    size_t used, cap;
} geo_array;

static void ga_free(geo_array *ga)
{
    for (size_t i = 0; i < ga->used; i++)
        kv_free(ga->p[i].member);
    kv_free(ga->p);
}

/* Members of z with scores in [min, max) inside the shape, appended in
 * score order; stops once limit points are held (0: no limit). */
static void points_in_range(kv_zset *z, uint64_t min, uint64_t max, const geo_shape *s,
                            geo_array *ga, size_t limit)
{
    zrange_score r = {.min = (double)min, .max = (double)max, .minex = 0, .maxex = 1};
    size_t first, last;
    if (!zset_range_by_score(z, &r, &first, &last))
        return;
    zset_iter it;
    zset_iter_init(&it, z, first, 0);
    const char *m;
    size_t n;
    double score;
    for (size_t rank = first; rank <= last && zset_iter_next(&it, &m, &n, &score); rank++) {
        double xy[2], dist = 0;
        if (geo_decode_score(score, xy) && geo_in_shape(s, xy[0], xy[1], &dist)) {
            if (ga->used == ga->cap) {
                ga->cap = ga->cap ? ga->cap * 2 : 8;
                ga->p = kv_realloc(ga->p, ga->cap * sizeof *ga->p);
            }
            geo_point *gp = &ga->p[ga->used++];
            gp->lon = xy[0];
            gp->lat = xy[1];
            gp->dist = dist;
            gp->score = score;
            gp->member = kv_malloc(n ? n : 1);
            memcpy(gp->member, m, n);
            gp->len = n;
        }
        if (ga->used && limit && ga->used >= limit)
            break;
    }
}

/* Redis's membersOfAllNeighbors: the nine cells, skipping empty ones and
 * a cell equal to the last one scanned (huge radii). */
static void points_in_shape(kv_zset *z, geo_shape *s, geo_array *ga, size_t limit)
{
    geo_bits cells[9];
    geo_search_areas(s, cells);
    int last = 0;
    for (int i = 0; i < 9; i++) {
        if (cells[i].bits == 0 && cells[i].step == 0)
            continue;
        if (last && cells[i].bits == cells[last].bits && cells[i].step == cells[last].step)
            continue;
        if (ga->used && limit && ga->used >= limit)
            break;
        uint64_t min, max;
        geo_cell_scores(cells[i], &min, &max);
        points_in_range(z, min, max, s, ga, limit);
        last = i;
    }
}

static int by_dist_asc(const void *a, const void *b)
{
    const geo_point *x = a, *y = b;
    return x->dist > y->dist ? 1 : x->dist == y->dist ? 0 : -1;
}

static int by_dist_desc(const void *a, const void *b)
{
    return -by_dist_asc(a, b);
}

/* Partial sort, so that members tied on distance come out in Redis's
 * order when COUNT keeps fewer than were found: Bentley and McIlroy's
 * quicksort (median of three, ninther over 40, three-way partition,
 * insertion sort below 7 or when a pass moved nothing), recursing only
 * into parts that overlap positions [lo, hi] (Redis's pqsort). */
typedef int (*gp_cmp)(const void *, const void *);

static void gp_swap(geo_point *a, geo_point *b)
{
    geo_point t = *a;
    *a = *b;
    *b = t;
}

static void gp_vecswap(geo_point *a, geo_point *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gp_swap(a + i, b + i);
}

static geo_point *gp_med3(geo_point *a, geo_point *b, geo_point *c, gp_cmp cmp)
{
    return cmp(a, b) < 0 ? (cmp(b, c) < 0 ? b : (cmp(a, c) < 0 ? c : a))
                         : (cmp(b, c) > 0 ? b : (cmp(a, c) < 0 ? a : c));
}

static void gp_insertion(geo_point *a, size_t n, gp_cmp cmp)
{
    for (geo_point *pm = a + 1; pm < a + n; pm++)
        for (geo_point *pl = pm; pl > a && cmp(pl - 1, pl) > 0; pl--)
            gp_swap(pl, pl - 1);
}

static void gp_pqsort(geo_point *a, size_t n, gp_cmp cmp, const geo_point *lo,
                      const geo_point *hi)
{
    for (;;) {
        if (n < 7) {
            gp_insertion(a, n, cmp);
            return;
        }
        geo_point *pm = a + n / 2;
        if (n > 7) {
            geo_point *pl = a, *pn = a + n - 1;
            if (n > 40) {
                size_t d = n / 8;
                pl = gp_med3(pl, pl + d, pl + 2 * d, cmp);
                pm = gp_med3(pm - d, pm, pm + d, cmp);
                pn = gp_med3(pn - 2 * d, pn - d, pn, cmp);
            }
            pm = gp_med3(pl, pm, pn, cmp);
        }
        gp_swap(a, pm);
        geo_point *pa = a + 1, *pb = a + 1, *pc = a + n - 1, *pd = a + n - 1;
        int swapped = 0, r;
        for (;;) {
            while (pb <= pc && (r = cmp(pb, a)) <= 0) {
                if (r == 0) {
                    swapped = 1;
                    gp_swap(pa++, pb);
                }
                pb++;
            }
            while (pb <= pc && (r = cmp(pc, a)) >= 0) {
                if (r == 0) {
                    swapped = 1;
                    gp_swap(pc, pd--);
                }
                pc--;
            }
            if (pb > pc)
                break;
            gp_swap(pb++, pc--);
            swapped = 1;
        }
        if (!swapped) {
            gp_insertion(a, n, cmp);
            return;
        }
        geo_point *pn = a + n;
        size_t k = (size_t)(pa - a) < (size_t)(pb - pa) ? (size_t)(pa - a) : (size_t)(pb - pa);
        gp_vecswap(a, pb - k, k);
        k = (size_t)(pd - pc) < (size_t)(pn - pd - 1) ? (size_t)(pd - pc) : (size_t)(pn - pd - 1);
        gp_vecswap(pb, pn - k, k);
        size_t left = (size_t)(pb - pa), right = (size_t)(pd - pc);
        if (left > 1 && !(hi < a || lo > a + left - 1))
            gp_pqsort(a, left, cmp, lo, hi);
        if (right <= 1)
            return;
        a = pn - right;
        n = right;
        if (hi < a || lo > a + n - 1)
            return;
    }
}

enum {
    RADIUS_COORDS = 1 << 0,  /* GEORADIUS: around coordinates */
    RADIUS_MEMBER = 1 << 1,  /* GEORADIUSBYMEMBER: around a member */
    RADIUS_NOSTORE = 1 << 2, /* the _RO variants: no STORE / STOREDIST */
    GEOSEARCH = 1 << 3,      /* GEOSEARCH's arguments */
    GEOSEARCHSTORE = 1 << 4, /* … and a destination, STOREDIST as a flag */
};
enum { SORT_NONE, SORT_ASC, SORT_DESC };

/* Store the first n points into key dst (scores: hashes or distances),
 * or delete dst when there are none. */
static void store_points(cmd_ctx *c, int dst, geo_array *ga, long n, int storedist,
                         const geo_shape *s, int flags)
{
    const char *key = c->argv[dst];
    size_t klen = c->lens[dst];
    if (n) {
        kv_zset *z = zset_new_skiplist();
        for (long i = 0; i < n; i++) {
            geo_point *gp = &ga->p[i];
            zset_set(z, gp->member, gp->len, storedist ? gp->dist / s->conversion : gp->score);
        }
        zset_convert_if_small(z);
        int existed = ks_find(c->k, key, klen) != NULL;
        if (existed)
            ks_delete(c->k, key, klen);
        ks_add_zset(c->k, key, klen, z);
        db_modified(c, key, klen);
        if (!existed)
            cmd_notify_new(c, key, klen);
        cmd_notify(c, NOTIFY_ZSET, (flags & GEOSEARCH) ? "geosearchstore" : "georadiusstore",
                   key, klen);
        c->dirty += (int)n - 1;
    } else if (db_delete(c, key, klen)) {
        cmd_notify(c, NOTIFY_GENERIC, "del", key, klen);
    }
    reply_int(&c->r, n);
}

static void reply_points(cmd_ctx *c, geo_array *ga, long n, const geo_shape *s, int withdist,
                         int withhash, int withcoords)
{
    int options = withdist + withhash + withcoords;
    reply_array(&c->r, n);
    for (long i = 0; i < n; i++) {
        geo_point *gp = &ga->p[i];
        if (options)
            reply_array(&c->r, options + 1);
        reply_bulk(&c->r, gp->member, gp->len);
        if (withdist)
            reply_distance(c, gp->dist / s->conversion);
        if (withhash)
            reply_int(&c->r, (long long)gp->score);
        if (withcoords) {
            reply_array(&c->r, 2);
            reply_human_ld(&c->r, gp->lon);
            reply_human_ld(&c->r, gp->lat);
        }
    }
}

/* Redis's georadiusGeneric: src is the source key's argument index. */
static void georadius_generic(cmd_ctx *c, int src, int flags)
{
    int storekey = 0, storedist = 0;
    int wrong;
    kobj *zobj = read_zset(c, src, &wrong);
    if (wrong)
        return;
    int base;
    geo_shape s = {.conversion = 1};
    if (flags & RADIUS_COORDS) {
        base = 6;
        s.type = GEO_CIRCLE;
        if (arg_lonlat(c, 2, s.xy) < 0 || arg_radius(c, base - 2, &s) < 0)
            return;
    } else if ((flags & RADIUS_MEMBER) && !zobj) {
        /* No source: parse the options anyway, to know which reply. */
        base = 5;
    } else if (flags & RADIUS_MEMBER) {
        base = 5;
        s.type = GEO_CIRCLE;
        if (!member_pos(zobj, c->argv[2], c->lens[2], s.xy)) {
            reply_error(&c->r, ERR_BAD_MEMBER);
            return;
        }
        if (arg_radius(c, base - 2, &s) < 0)
            return;
    } else {
        base = 2;
        if (flags & GEOSEARCHSTORE) {
            base = 3;
            storekey = 1;
        }
    }

    int withdist = 0, withhash = 0, withcoords = 0;
    int frommember = 0, fromloc = 0, byradius = 0, bybox = 0;
    int sort = SORT_NONE, any = 0;
    long long count = 0;
    int remaining = c->argc - base;
    for (int i = 0; i < remaining; i++) {
        int a = base + i;
        if (arg_is_c(c, a, "withdist")) {
            withdist = 1;
        } else if (arg_is_c(c, a, "withhash")) {
            withhash = 1;
        } else if (arg_is_c(c, a, "withcoord")) {
            withcoords = 1;
        } else if (arg_is_c(c, a, "any")) {
            any = 1;
        } else if (arg_is_c(c, a, "asc")) {
            sort = SORT_ASC;
        } else if (arg_is_c(c, a, "desc")) {
            sort = SORT_DESC;
        } else if (arg_is_c(c, a, "count") && i + 1 < remaining) {
            if (arg_ll(c, a + 1, &count) < 0)
                return;
            if (count <= 0) {
                reply_error(&c->r, "ERR COUNT must be > 0");
                return;
            }
            i++;
        } else if ((arg_is_c(c, a, "store") || arg_is_c(c, a, "storedist")) &&
                   i + 1 < remaining && !(flags & (RADIUS_NOSTORE | GEOSEARCH))) {
            storekey = a + 1;
            storedist = arg_is_c(c, a, "storedist");
            i++;
        } else if (arg_is_c(c, a, "storedist") && (flags & GEOSEARCH) &&
                   (flags & GEOSEARCHSTORE)) {
            storedist = 1;
        } else if (arg_is_c(c, a, "frommember") && i + 1 < remaining && (flags & GEOSEARCH) &&
                   !fromloc) {
            if (zobj && !member_pos(zobj, c->argv[a + 1], c->lens[a + 1], s.xy)) {
                reply_error(&c->r, ERR_BAD_MEMBER);
                return;
            }
            frommember = 1;
            i++;
        } else if (arg_is_c(c, a, "fromlonlat") && i + 2 < remaining && (flags & GEOSEARCH) &&
                   !frommember) {
            if (arg_lonlat(c, a + 1, s.xy) < 0)
                return;
            fromloc = 1;
            i += 2;
        } else if (arg_is_c(c, a, "byradius") && i + 2 < remaining && (flags & GEOSEARCH) &&
                   !bybox) {
            if (arg_radius(c, a + 1, &s) < 0)
                return;
            s.type = GEO_CIRCLE;
            byradius = 1;
            i += 2;
        } else if (arg_is_c(c, a, "bybox") && i + 3 < remaining && (flags & GEOSEARCH) &&
                   !byradius) {
            if (arg_box(c, a + 1, &s) < 0)
                return;
            s.type = GEO_BOX;
            bybox = 1;
            i += 3;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    if (storekey && (withdist || withhash || withcoords)) {
        reply_errorf(&c->r,
                     "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                     (flags & GEOSEARCHSTORE) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return;
    }
    if ((flags & GEOSEARCH) && !(frommember || fromloc)) {
        reply_errorf(&c->r, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %.*s",
                     (int)c->lens[0], c->argv[0]);
        return;
    }
    if ((flags & GEOSEARCH) && !(byradius || bybox)) {
        reply_errorf(&c->r, "ERR exactly one of BYRADIUS and BYBOX can be specified for %.*s",
                     (int)c->lens[0], c->argv[0]);
        return;
    }
    if (any && !count) {
        reply_error(&c->r, "ERR the ANY argument requires COUNT argument");
        return;
    }
    if (!zobj) {
        if (storekey) {
            if (db_delete(c, c->argv[storekey], c->lens[storekey]))
                cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[storekey], c->lens[storekey]);
            reply_int(&c->r, 0);
        } else {
            reply_empty_array(&c->r);
        }
        return;
    }
    /* COUNT without an order means the closest ones (not with ANY). */
    if (count && sort == SORT_NONE && !any)
        sort = SORT_ASC;

    geo_array ga = {0};
    points_in_shape(kobj_zset(zobj), &s, &ga, any ? (size_t)count : 0);
    if (ga.used == 0 && !storekey) {
        reply_empty_array(&c->r);
        ga_free(&ga);
        return;
    }
    long n = (count == 0 || (long long)ga.used < count) ? (long)ga.used : (long)count;
    if (sort != SORT_NONE) {
        gp_cmp cmp = sort == SORT_ASC ? by_dist_asc : by_dist_desc;
        if ((size_t)n == ga.used)
            qsort(ga.p, ga.used, sizeof *ga.p, cmp);
        else
            gp_pqsort(ga.p, ga.used, cmp, ga.p, ga.p + n - 1);
    }
    if (!storekey)
        reply_points(c, &ga, n, &s, withdist, withhash, withcoords);
    else
        store_points(c, storekey, &ga, n, storedist, &s, flags);
    ga_free(&ga);
}

static void cmd_georadius(cmd_ctx *c)
{
    georadius_generic(c, 1, RADIUS_COORDS);
}

static void cmd_georadiusbymember(cmd_ctx *c)
{
    georadius_generic(c, 1, RADIUS_MEMBER);
}

static void cmd_georadius_ro(cmd_ctx *c)
{
    georadius_generic(c, 1, RADIUS_COORDS | RADIUS_NOSTORE);
}

static void cmd_georadiusbymember_ro(cmd_ctx *c)
{
    georadius_generic(c, 1, RADIUS_MEMBER | RADIUS_NOSTORE);
}

static void cmd_geosearch(cmd_ctx *c)
{
    georadius_generic(c, 1, GEOSEARCH);
}

static void cmd_geosearchstore(cmd_ctx *c)
{
    georadius_generic(c, 2, GEOSEARCH | GEOSEARCHSTORE);
}

/* ---- GEOHASH / GEOPOS / GEODIST ---- */

static void cmd_geohash(cmd_ctx *c)
{
    int wrong;
    kobj *o = read_zset(c, 1, &wrong);
    if (wrong)
        return;
    reply_array(&c->r, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double score;
        char buf[12];
        if (o && zset_score(kobj_zset(o), c->argv[j], c->lens[j], &score) &&
            geo_hash_string(score, buf))
            reply_bulk(&c->r, buf, 11);
        else
            reply_null(&c->r);
    }
}

static void cmd_geopos(cmd_ctx *c)
{
    int wrong;
    kobj *o = read_zset(c, 1, &wrong);
    if (wrong)
        return;
    reply_array(&c->r, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double xy[2];
        if (o && member_pos(o, c->argv[j], c->lens[j], xy)) {
            reply_array(&c->r, 2);
            reply_human_ld(&c->r, xy[0]);
            reply_human_ld(&c->r, xy[1]);
        } else {
            reply_null_array(&c->r);
        }
    }
}

static void cmd_geodist(cmd_ctx *c)
{
    double to_meter = 1;
    if (c->argc == 5) {
        to_meter = arg_unit(c, 4);
        if (to_meter < 0)
            return;
    } else if (c->argc > 5) {
        reply_err_syntax(&c->r);
        return;
    }
    int wrong;
    kobj *o = read_zset(c, 1, &wrong);
    if (wrong)
        return;
    double a[2], b[2], s1, s2;
    if (!o || !zset_score(kobj_zset(o), c->argv[2], c->lens[2], &s1) ||
        !zset_score(kobj_zset(o), c->argv[3], c->lens[3], &s2) || !geo_decode_score(s1, a) ||
        !geo_decode_score(s2, b)) {
        reply_null(&c->r);
        return;
    }
    reply_distance(c, geo_distance(a[0], a[1], b[0], b[1]) / to_meter);
}

/* ---- table ---- */

#define W CMD_WRITE
#define R CMD_READONLY
#define M CMD_DENYOOM

const kv_command cmds_geo[] = {
    {"geoadd", cmd_geoadd, -5, W | M, 1, 1, 1, "geo",
     "Add one or more geospatial items in the geospatial index represented using a sorted set",
     "3.2.0", "@write @geo @slow"},
    {"geopos", cmd_geopos, -2, R, 1, 1, 1, "geo",
     "Returns longitude and latitude of members of a geospatial index", "3.2.0",
     "@read @geo @slow"},
    {"geodist", cmd_geodist, -4, R, 1, 1, 1, "geo",
     "Returns the distance between two members of a geospatial index", "3.2.0",
     "@read @geo @slow"},
    {"geohash", cmd_geohash, -2, R, 1, 1, 1, "geo",
     "Returns members of a geospatial index as standard geohash strings", "3.2.0",
     "@read @geo @slow"},
    {"geosearch", cmd_geosearch, -7, R, 1, 1, 1, "geo",
     "Query a sorted set representing a geospatial index to fetch members inside an area of a "
     "box or a circle.",
     "6.2.0", "@read @geo @slow"},
    {"geosearchstore", cmd_geosearchstore, -8, W | M, 1, 2, 1, "geo",
     "Query a sorted set representing a geospatial index to fetch members inside an area of a "
     "box or a circle, and store the result in another key.",
     "6.2.0", "@write @geo @slow"},
    {"georadius", cmd_georadius, -6, W | M, 1, 1, 1, "geo",
     "Query a sorted set representing a geospatial index to fetch members matching a given "
     "maximum distance from a point",
     "3.2.0", "@write @geo @slow"},
    {"georadius_ro", cmd_georadius_ro, -6, R, 1, 1, 1, "geo",
     "A read-only variant for GEORADIUS", "3.2.10", "@read @geo @slow"},
    {"georadiusbymember", cmd_georadiusbymember, -5, W | M, 1, 1, 1, "geo",
     "Query a sorted set representing a geospatial index to fetch members matching a given "
     "maximum distance from a member",
     "3.2.0", "@write @geo @slow"},
    {"georadiusbymember_ro", cmd_georadiusbymember_ro, -5, R, 1, 1, 1, "geo",
     "A read-only variant for GEORADIUSBYMEMBER", "3.2.10", "@read @geo @slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
