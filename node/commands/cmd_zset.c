/* cmd_zset.c — sorted set commands, with Redis 7.0's replies, errors and
 * order of checks (t_zset.c, and db.c's ZSCAN rules).
 *
 * Values are kv_zset (tzset.h), which converts listpack -> skiplist at the
 * same points as Redis. Scores are doubles and reach clients as Redis's
 * addReplyDouble writes them ("%.17g", "inf", "-inf"; a RESP3 double),
 * or, in ZSCAN, as Redis's d2string. A sorted set whose last member goes
 * is deleted in the same command.
 *
 * Logged effects: ZADD with INCR and ZINCRBY are logged as "ZADD key
 * <%.17g of the new score> member" (the printed double reads back to the
 * same bits), so replay never redoes float arithmetic. Everything else is
 * deterministic given the keyspace (pops take the minimum or maximum, the
 * STORE commands compute from their sources in a fixed order) and is
 * logged as its own argv. A command that changed nothing is not dirty.
 *
 * Never dereferences c->cl on a write path: the same code runs when the
 * log is replayed. */

#include "cmd.h"
#include "dict.h"
#include "mem.h"
#include "reply.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ERR_NOTFLOAT_RANGE "ERR min or max is not a float"
#define ERR_LEX_RANGE "ERR min or max not valid string range item"

/* Without a configured output buffer limit Redis would build a reply of
 * any size; kvnode stops there. */
#define RAND_REPLY_MAX ((size_t)1 << 30)

/* ---- helpers ---- */

static kobj *lookup_zset(cmd_ctx *c, int i, int write, int *wrong)
{
    *wrong = 0;
    kobj *o = write ? db_write(c, c->argv[i], c->lens[i]) : db_read(c, c->argv[i], c->lens[i]);
    if (o && kobj_type(o) != KT_ZSET) {
        reply_err_wrongtype(&c->r);
        *wrong = 1;
        return NULL;
    }
    return o;
}

/* Argument i as a C string (cut at its first NUL), into buf or a fresh
 * allocation (the caller frees it when it is not buf). */
static char *arg_cstr(const cmd_ctx *c, int i, char *buf, size_t cap)
{
    const char *nul = memchr(c->argv[i], '\0', c->lens[i]);
    size_t n = nul ? (size_t)(nul - c->argv[i]) : c->lens[i];
    char *s = n < cap ? buf : kv_malloc(n + 1);
    memcpy(s, c->argv[i], n);
    s[n] = '\0';
    return s;
}

/* Argument i as a score (Redis's getDoubleFromObject); replies msg (or
 * "ERR value is not a valid float") on failure. */
static int arg_score(cmd_ctx *c, int i, double *out, const char *msg)
{
    if (!kv_string2d(c->argv[i], c->lens[i], out)) {
        reply_error(&c->r, msg ? msg : KV_ERR_NOTFLOAT);
        return -1;
    }
    return 0;
}

/* One bound of Redis's zslParseRange: strtod over the C string, after an
 * optional '(' (exclusive); anything left over, or NaN, is an error. */
static int parse_score_bound(const cmd_ctx *c, int i, double *v, int *ex)
{
    char buf[128];
    char *s = arg_cstr(c, i, buf, sizeof buf);
    char *p = s, *end;
    *ex = 0;
    if (p[0] == '(') {
        *ex = 1;
        p++;
    }
    *v = strtod(p, &end);
    int ok = *end == '\0' && !isnan(*v);
    if (s != buf)
        kv_free(s);
    return ok ? 0 : -1;
}

static int parse_score_range(cmd_ctx *c, int imin, int imax, zrange_score *r)
{
    if (parse_score_bound(c, imin, &r->min, &r->minex) < 0 ||
        parse_score_bound(c, imax, &r->max, &r->maxex) < 0) {
        reply_error(&c->r, ERR_NOTFLOAT_RANGE);
        return -1;
    }
    return 0;
}

/* Redis's zslParseLexRangeItem (the '+' and '-' checks read the argument
 * as a C string). */
static int parse_lex_bound(const cmd_ctx *c, int i, zlex_bound *b)
{
    const char *s = c->argv[i];
    size_t n = c->lens[i];
    b->p = NULL;
    b->n = 0;
    b->kind = ZLEX_VALUE;
    if (n == 0)
        return -1;
    switch (s[0]) {
    case '+':
    case '-':
        if (n > 1 && s[1] != '\0')
            return -1;
        b->ex = 1;
        b->kind = s[0] == '+' ? ZLEX_POS_INF : ZLEX_NEG_INF;
        return 0;
    case '(':
    case '[':
        b->ex = s[0] == '(';
        b->p = s + 1;
        b->n = n - 1;
        return 0;
    default:
        return -1;
    }
}

static int parse_lex_range(cmd_ctx *c, int imin, int imax, zrange_lex *r)
{
    if (parse_lex_bound(c, imin, &r->min) < 0 || parse_lex_bound(c, imax, &r->max) < 0) {
        reply_error(&c->r, ERR_LEX_RANGE);
        return -1;
    }
    return 0;
}

/* Replace key i with z (taking it), or delete the key when z is empty,
 * dropping any TTL (Redis's setKey). Announces Redis's events: "new" for a
 * key created and `event` (zunionstore, ...), or "del" when an existing
 * key is deleted. Returns the size stored. */
static size_t store_zset(cmd_ctx *c, int i, kv_zset *z, const char *event)
{
    size_t n = zset_len(z);
    int existed = ks_find(c->k, c->argv[i], c->lens[i]) != NULL;
    if (existed)
        ks_delete(c->k, c->argv[i], c->lens[i]);
    if (n) {
        ks_add_zset(c->k, c->argv[i], c->lens[i], z);
        db_modified(c, c->argv[i], c->lens[i]);
        if (!existed)
            cmd_notify_new(c, c->argv[i], c->lens[i]);
        cmd_notify(c, NOTIFY_ZSET, event, c->argv[i], c->lens[i]);
    } else {
        zset_free(z);
        if (existed) {
            db_modified(c, c->argv[i], c->lens[i]);
            cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[i], c->lens[i]);
        }
    }
    return n;
}

/* A (member, score) pair of a reply: RESP3 nests it in an array. */
static void reply_pair(cmd_ctx *c, int withscores, const char *m, size_t n, double score)
{
    if (withscores && c->r.resp > 2)
        reply_array(&c->r, 2);
    reply_bulk(&c->r, m, n);
    if (withscores)
        reply_double(&c->r, score);
}

/* ---- ZADD / ZINCRBY ---- */

enum { ZADD_NX = 1, ZADD_XX = 2, ZADD_GT = 4, ZADD_LT = 8, ZADD_INCR = 16 };

/* Redis's zsetAdd: 1 with *newscore and *what (ZSET_ADDED / UPDATED /
 * SAME), 0 for a no-op (NX, XX, GT, LT said no), -1 if the increment
 * made a NaN. */
static int zadd_one(kv_zset *z, double score, const char *m, size_t n, int flags,
                    double *newscore, int *what)
{
    double cur;
    *what = ZSET_SAME;
    if (zset_score(z, m, n, &cur)) {
        if (flags & ZADD_NX)
            return 0;
        if (flags & ZADD_INCR) {
            score += cur;
            if (isnan(score))
                return -1;
        }
        if (((flags & ZADD_LT) && score >= cur) || ((flags & ZADD_GT) && score <= cur))
            return 0;
        *newscore = score;
        if (score != cur)
            *what = zset_set(z, m, n, score);
        return 1;
    }
    if (flags & ZADD_XX)
        return 0;
    *what = zset_set(z, m, n, score);
    *newscore = score;
    return 1;
}

static void zadd_generic(cmd_ctx *c, int flags)
{
    int ch = 0, idx = 2;
    for (; idx < c->argc; idx++) {
        if (arg_is_c(c, idx, "nx"))
            flags |= ZADD_NX;
        else if (arg_is_c(c, idx, "xx"))
            flags |= ZADD_XX;
        else if (arg_is_c(c, idx, "ch"))
            ch = 1;
        else if (arg_is_c(c, idx, "incr"))
            flags |= ZADD_INCR;
        else if (arg_is_c(c, idx, "gt"))
            flags |= ZADD_GT;
        else if (arg_is_c(c, idx, "lt"))
            flags |= ZADD_LT;
        else
            break;
    }
    int elements = c->argc - idx;
    if (elements % 2 || !elements) {
        reply_err_syntax(&c->r);
        return;
    }
    elements /= 2;
    int incr = (flags & ZADD_INCR) != 0;
    if ((flags & ZADD_NX) && (flags & ZADD_XX)) {
        reply_error(&c->r, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if (((flags & ZADD_GT) && (flags & ZADD_NX)) || ((flags & ZADD_LT) && (flags & ZADD_NX)) ||
        ((flags & ZADD_GT) && (flags & ZADD_LT))) {
        reply_error(&c->r, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        reply_error(&c->r, "ERR INCR option supports a single increment-element pair");
        return;
    }
    double *scores = kv_malloc((size_t)elements * sizeof *scores);
    for (int j = 0; j < elements; j++) {
        if (arg_score(c, idx + j * 2, &scores[j], NULL) < 0) {
            kv_free(scores);
            return;
        }
    }
    int wrong;
    kobj *o = lookup_zset(c, 1, 1, &wrong);
    if (wrong) {
        kv_free(scores);
        return;
    }
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    if (!o && (flags & ZADD_XX))
        goto reply;
    if (!o) {
        o = ks_add_zset(c->k, c->argv[1], c->lens[1], zset_new());
        cmd_notify_new(c, c->argv[1], c->lens[1]);
    }
    kv_zset *z = kobj_zset(o);
    for (int j = 0; j < elements; j++) {
        int what;
        int m = idx + 1 + j * 2;
        int r = zadd_one(z, scores[j], c->argv[m], c->lens[m], flags, &score, &what);
        if (r < 0) {
            reply_error(&c->r, "ERR resulting score is not a number (NaN)");
            goto done;
        }
        added += what == ZSET_ADDED;
        updated += what == ZSET_UPDATED;
        processed += r;
    }
reply:
    if (incr) {
        if (processed)
            reply_double(&c->r, score);
        else
            reply_null(&c->r);
    } else {
        reply_int(&c->r, ch ? added + updated : added);
    }
done:
    kv_free(scores);
    if (added || updated) {
        db_modified(c, c->argv[1], c->lens[1]);
        cmd_notify(c, NOTIFY_ZSET, incr ? "zincr" : "zadd", c->argv[1], c->lens[1]);
        if (incr) {
            /* Log the result, not the arithmetic. */
            char buf[ZSET_SCOREBUF];
            size_t n = (size_t)snprintf(buf, sizeof buf, "%.17g", score);
            const char *argv[4] = {"ZADD", c->argv[1], buf, c->argv[idx + 1]};
            size_t lens[4] = {4, c->lens[1], n, c->lens[idx + 1]};
            cmd_propagate(c, 4, argv, lens);
        }
    }
}

static void cmd_zadd(cmd_ctx *c)
{
    zadd_generic(c, 0);
}

void zset_zadd_command(cmd_ctx *c)
{
    zadd_generic(c, 0);
}

static void cmd_zincrby(cmd_ctx *c)
{
    zadd_generic(c, ZADD_INCR);
}

/* ---- ZREM / ZCARD / ZSCORE / ZMSCORE / ZRANK ---- */

static void cmd_zrem(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_zset(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    kv_zset *z = kobj_zset(o);
    long long deleted = 0;
    int gone = 0;
    for (int i = 2; i < c->argc && !gone; i++) {
        if (zset_del(z, c->argv[i], c->lens[i])) {
            deleted++;
            gone = zset_len(z) == 0;
        }
    }
    if (deleted) {
        db_modified(c, c->argv[1], c->lens[1]);
        if (gone)
            ks_delete(c->k, c->argv[1], c->lens[1]);
        cmd_notify(c, NOTIFY_ZSET, "zrem", c->argv[1], c->lens[1]);
        if (gone)
            cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[1], c->lens[1]);
    }
    reply_int(&c->r, deleted);
}

static void cmd_zcard(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_zset(c, 1, 0, &wrong);
    if (wrong)
        return;
    reply_int(&c->r, o ? (long long)zset_len(kobj_zset(o)) : 0);
}

static void cmd_zscore(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_zset(c, 1, 0, &wrong);
    if (wrong)
        return;
    double score;
    if (o && zset_score(kobj_zset(o), c->argv[2], c->lens[2], &score))
        reply_double(&c->r, score);
    else
        reply_null(&c->r);
}

static void cmd_zmscore(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_zset(c, 1, 0, &wrong);
    if (wrong)
        return;
    reply_array(&c->r, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        double score;
        if (o && zset_score(kobj_zset(o), c->argv[i], c->lens[i], &score))
            reply_double(&c->r, score);
        else
            reply_null(&c->r);
    }
}

static void rank_generic(cmd_ctx *c, int rev)
{
    int wrong;
    kobj *o = lookup_zset(c, 1, 0, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_null(&c->r);
        return;
    }
    kv_zset *z = kobj_zset(o);
    long long r = zset_rank(z, c->argv[2], c->lens[2], NULL);
    if (r < 0)
        reply_null(&c->r);
    else
        reply_int(&c->r, rev ? (long long)zset_len(z) - 1 - r : r);
}

static void cmd_zrank(cmd_ctx *c)
{
    rank_generic(c, 0);
}

static void cmd_zrevrank(cmd_ctx *c)
{
    rank_generic(c, 1);
}

/* ---- ZCOUNT / ZLEXCOUNT ---- */

static void cmd_zcount(cmd_ctx *c)
{
    zrange_score r;
    if (parse_score_range(c, 2, 3, &r) < 0)
        return;
    int wrong;
    kobj *o = lookup_zset(c, 1, 0, &wrong);
    if (wrong)
        return;
    size_t first, last;
    if (!o || !zset_range_by_score(kobj_zset(o), &r, &first, &last))
        reply_int(&c->r, 0);
    else
        reply_int(&c->r, (long long)(last - first + 1));
}

static void cmd_zlexcount(cmd_ctx *c)
{
    zrange_lex r;
    if (parse_lex_range(c, 2, 3, &r) < 0)
        return;
    int wrong;
    kobj *o = lookup_zset(c, 1, 0, &wrong);
    if (wrong)
        return;
    size_t first, last;
    if (!o || !zset_range_by_lex(kobj_zset(o), &r, &first, &last))
        reply_int(&c->r, 0);
    else
        reply_int(&c->r, (long long)(last - first + 1));
}

/* ---- The ZRANGE family ---- */

enum { RANGE_AUTO, RANGE_RANK, RANGE_SCORE, RANGE_LEX };
enum { DIR_AUTO, DIR_FORWARD, DIR_REVERSE };

/* Where a range goes: to the client (RESP2 flat pairs, RESP3 nested) or
 * into a new sorted set (ZRANGESTORE). */
typedef struct range_out {
    cmd_ctx *c;
    int store;     /* argument index of the destination, or 0 */
    int withscores;
    kv_zset *dst;
    reply_deferred d;
    long count;
} range_out;

static void out_begin(range_out *h)
{
    h->count = 0;
    if (h->store)
        h->dst = zset_new();
    else
        h->d = reply_defer(&h->c->r);
}

static void out_emit(range_out *h, const char *m, size_t n, double score)
{
    if (h->store)
        zset_set(h->dst, m, n, score);
    else
        reply_pair(h->c, h->withscores, m, n, score);
    h->count++;
}

static void out_end(range_out *h)
{
    cmd_ctx *c = h->c;
    if (h->store) {
        reply_int(&c->r, (long long)store_zset(c, h->store, h->dst, "zrangestore"));
        return;
    }
    long n = h->withscores && c->r.resp == 2 ? h->count * 2 : h->count;
    reply_set_array_len(&c->r, h->d, n);
}

static void range_by_rank(range_out *h, kv_zset *z, long long start, long long end, int rev)
{
    long long llen = (long long)zset_len(z);
    if (start < 0)
        start = llen + start;
    if (end < 0)
        end = llen + end;
    if (start < 0)
        start = 0;
    out_begin(h);
    if (start > end || start >= llen) {
        out_end(h);
        return;
    }
    if (end >= llen)
        end = llen - 1;
    long long n = end - start + 1;
    zset_iter it;
    zset_iter_init(&it, z, (size_t)(rev ? llen - 1 - start : start), rev);
    const char *m;
    size_t ml;
    double score;
    while (n-- > 0 && zset_iter_next(&it, &m, &ml, &score))
        out_emit(h, m, ml, score);
    out_end(h);
}

/* Redis's genericZrangebyscoreCommand / genericZrangebylexCommand: from
 * the first member in range (the last one with rev), skip offset members
 * (a negative offset skips them all), then up to limit (negative: no
 * limit) while they stay in range. */
static void range_by_bounds(range_out *h, kv_zset *z, const zrange_score *sr,
                            const zrange_lex *lr, long long offset, long long limit, int rev)
{
    out_begin(h);
    if (offset > 0 && (unsigned long long)offset >= zset_len(z)) {
        out_end(h);
        return;
    }
    size_t first, last;
    int found = sr ? zset_range_by_score(z, sr, &first, &last)
                   : zset_range_by_lex(z, lr, &first, &last);
    if (!found) {
        out_end(h);
        return;
    }
    zset_iter it;
    zset_iter_init(&it, z, rev ? last : first, rev);
    const char *m;
    size_t ml;
    double score;
    int more = 1;
    while (offset != 0 && (more = zset_iter_next(&it, &m, &ml, &score)))
        offset--;
    while (more && limit != 0 && zset_iter_next(&it, &m, &ml, &score)) {
        int in;
        if (sr)
            in = rev ? zset_score_gte_min(score, sr) : zset_score_lte_max(score, sr);
        else
            in = rev ? zset_lex_gte_min(m, ml, lr) : zset_lex_lte_max(m, ml, lr);
        if (!in)
            break;
        out_emit(h, m, ml, score);
        limit--;
    }
    out_end(h);
}

/* Redis 7.0's zrangeGenericCommand: key at argument `at` (min and max
 * after it), options after those; store is ZRANGESTORE's destination
 * argument (0 for the reply forms). */
static void zrange_generic(cmd_ctx *c, int at, int store, int type, int dir)
{
    int minidx = at + 1, maxidx = at + 2;
    long long start = 0, end = 0, offset = 0, limit = -1;
    int withscores = 0, has_limit = 0;
    for (int j = at + 3; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (!store && arg_is_c(c, j, "withscores")) {
            withscores = 1;
        } else if (arg_is_c(c, j, "limit") && left >= 2) {
            if (arg_ll(c, j + 1, &offset) < 0 || arg_ll(c, j + 2, &limit) < 0)
                return;
            has_limit = 1;
            j += 2;
        } else if (dir == DIR_AUTO && arg_is_c(c, j, "rev")) {
            dir = DIR_REVERSE;
        } else if (type == RANGE_AUTO && arg_is_c(c, j, "bylex")) {
            type = RANGE_LEX;
        } else if (type == RANGE_AUTO && arg_is_c(c, j, "byscore")) {
            type = RANGE_SCORE;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    if (dir == DIR_AUTO)
        dir = DIR_FORWARD;
    if (type == RANGE_AUTO)
        type = RANGE_RANK;
    if (has_limit && limit != -1 && type == RANGE_RANK) {
        reply_error(&c->r, "ERR syntax error, LIMIT is only supported in combination with "
                           "either BYSCORE or BYLEX");
        return;
    }
    if (withscores && type == RANGE_LEX) {
        reply_error(&c->r, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    int rev = dir == DIR_REVERSE;
    if (rev && type != RANGE_RANK) {
        int t = minidx;
        minidx = maxidx;
        maxidx = t;
    }
    zrange_score sr;
    zrange_lex lr;
    if (type == RANGE_RANK) {
        if (arg_ll(c, minidx, &start) < 0 || arg_ll(c, maxidx, &end) < 0)
            return;
    } else if (type == RANGE_SCORE) {
        if (parse_score_range(c, minidx, maxidx, &sr) < 0)
            return;
    } else if (parse_lex_range(c, minidx, maxidx, &lr) < 0) {
        return;
    }
    range_out h = {.c = c, .store = store, .withscores = withscores};
    int wrong;
    kobj *o = lookup_zset(c, at, 0, &wrong);
    if (wrong)
        return;
    if (!o) {
        if (store) {
            out_begin(&h);
            out_end(&h);
        } else {
            reply_empty_array(&c->r);
        }
        return;
    }
    kv_zset *z = kobj_zset(o);
    if (type == RANGE_RANK)
        range_by_rank(&h, z, start, end, rev);
    else if (type == RANGE_SCORE)
        range_by_bounds(&h, z, &sr, NULL, offset, limit, rev);
    else
        range_by_bounds(&h, z, NULL, &lr, offset, limit, rev);
}

static void cmd_zrange(cmd_ctx *c)
{
    zrange_generic(c, 1, 0, RANGE_AUTO, DIR_AUTO);
}

static void cmd_zrangestore(cmd_ctx *c)
{
    zrange_generic(c, 2, 1, RANGE_AUTO, DIR_AUTO);
}

static void cmd_zrevrange(cmd_ctx *c)
{
    zrange_generic(c, 1, 0, RANGE_RANK, DIR_REVERSE);
}

static void cmd_zrangebyscore(cmd_ctx *c)
{
    zrange_generic(c, 1, 0, RANGE_SCORE, DIR_FORWARD);
}

static void cmd_zrevrangebyscore(cmd_ctx *c)
{
    zrange_generic(c, 1, 0, RANGE_SCORE, DIR_REVERSE);
}

static void cmd_zrangebylex(cmd_ctx *c)
{
    zrange_generic(c, 1, 0, RANGE_LEX, DIR_FORWARD);
}

static void cmd_zrevrangebylex(cmd_ctx *c)
{
    zrange_generic(c, 1, 0, RANGE_LEX, DIR_REVERSE);
}

/* ---- ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX ---- */

static void zremrange_generic(cmd_ctx *c, int type)
{
    long long start = 0, end = 0;
    zrange_score sr;
    zrange_lex lr;
    if (type == RANGE_RANK) {
        if (arg_ll(c, 2, &start) < 0 || arg_ll(c, 3, &end) < 0)
            return;
    } else if (type == RANGE_SCORE) {
        if (parse_score_range(c, 2, 3, &sr) < 0)
            return;
    } else if (parse_lex_range(c, 2, 3, &lr) < 0) {
        return;
    }
    int wrong;
    kobj *o = lookup_zset(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    kv_zset *z = kobj_zset(o);
    size_t first, last;
    if (type == RANGE_RANK) {
        long long llen = (long long)zset_len(z);
        if (start < 0)
            start = llen + start;
        if (end < 0)
            end = llen + end;
        if (start < 0)
            start = 0;
        if (start > end || start >= llen) {
            reply_int(&c->r, 0);
            return;
        }
        if (end >= llen)
            end = llen - 1;
        first = (size_t)start;
        last = (size_t)end;
    } else if (!(type == RANGE_SCORE ? zset_range_by_score(z, &sr, &first, &last)
                                     : zset_range_by_lex(z, &lr, &first, &last))) {
        reply_int(&c->r, 0);
        return;
    }
    zset_delete_ranks(z, first, last);
    db_modified(c, c->argv[1], c->lens[1]);
    static const char *const events[] = {
        [RANGE_RANK] = "zremrangebyrank",
        [RANGE_SCORE] = "zremrangebyscore",
        [RANGE_LEX] = "zremrangebylex",
    };
    cmd_notify(c, NOTIFY_ZSET, events[type], c->argv[1], c->lens[1]);
    if (zset_len(z) == 0) {
        ks_delete(c->k, c->argv[1], c->lens[1]);
        cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[1], c->lens[1]);
    }
    reply_int(&c->r, (long long)(last - first + 1));
}

static void cmd_zremrangebyrank(cmd_ctx *c)
{
    zremrange_generic(c, RANGE_RANK);
}

static void cmd_zremrangebyscore(cmd_ctx *c)
{
    zremrange_generic(c, RANGE_SCORE);
}

static void cmd_zremrangebylex(cmd_ctx *c)
{
    zremrange_generic(c, RANGE_LEX);
}

/* ---- ZPOPMIN / ZPOPMAX / ZMPOP ---- */

/* Redis's genericZpopCommand: pop up to count members (count -1: one,
 * the single-pop shape) from the first existing key among keys
 * first..first+num-1. emitkey/nested pick ZMPOP's shape. */
static void cmd_zmpop(cmd_ctx *c);

static void zpop_generic(cmd_ctx *c, int first, int num, int max, long long count, int emitkey,
                         int nested, int nil_when_empty)
{
    kobj *o = NULL;
    int at = 0;
    for (int i = 0; i < num; i++) {
        int wrong;
        o = lookup_zset(c, first + i, 1, &wrong);
        if (wrong)
            return;
        if (o) {
            at = first + i;
            break;
        }
    }
    if (!o) {
        if (nil_when_empty)
            reply_null_array(&c->r);
        else
            reply_empty_array(&c->r);
        return;
    }
    if (count == 0) {
        reply_empty_array(&c->r);
        return;
    }
    if (count == -1)
        count = 1;
    kv_zset *z = kobj_zset(o);
    long long llen = (long long)zset_len(z);
    long long n = count > llen ? llen : count;
    if (!nested && !emitkey) {
        reply_array(&c->r, (long)(n * 2));
    } else if (nested && !emitkey) {
        reply_array(&c->r, (long)n);
    } else if (!nested) {
        /* BZPOPMIN / BZPOPMAX: [key, member, score] */
        reply_array(&c->r, (long)(n * 2 + 1));
        reply_bulk(&c->r, c->argv[at], c->lens[at]);
    } else {
        reply_array(&c->r, 2);
        reply_bulk(&c->r, c->argv[at], c->lens[at]);
        reply_array(&c->r, (long)n);
    }
    for (long long i = 0; i < n; i++) {
        zset_iter it;
        const char *m;
        size_t ml;
        double score;
        zset_iter_init(&it, z, max ? zset_len(z) - 1 : 0, 0);
        zset_iter_next(&it, &m, &ml, &score);
        if (nested)
            reply_array(&c->r, 2);
        reply_bulk(&c->r, m, ml);
        reply_double(&c->r, score);
        size_t rank = max ? zset_len(z) - 1 : 0;
        zset_delete_ranks(z, rank, rank);
    }
    db_modified(c, c->argv[at], c->lens[at]);
    cmd_notify(c, NOTIFY_ZSET, max ? "zpopmax" : "zpopmin", c->argv[at], c->lens[at]);
    if (zset_len(z) == 0) {
        ks_delete(c->k, c->argv[at], c->lens[at]);
        cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[at], c->lens[at]);
    }
    if (c->cmd->proc == cmd_zmpop) {
        /* Logged as Redis propagates ZMPOP: "ZPOPMIN|ZPOPMAX key <n>". */
        char popped[24];
        size_t pl = kv_ll2string(popped, sizeof popped, n);
        const char *argv[3] = {max ? "ZPOPMAX" : "ZPOPMIN", c->argv[at], popped};
        size_t lens[3] = {7, c->lens[at], pl};
        cmd_propagate(c, 3, argv, lens);
    }
}

static void zpop_minmax(cmd_ctx *c, int max)
{
    if (c->argc > 3) {
        reply_err_syntax(&c->r);
        return;
    }
    long long count = -1;
    if (c->argc == 3) {
        if (arg_ll_msg(c, 2, &count, "ERR value is out of range, must be positive") < 0)
            return;
        if (count < 0) {
            reply_error(&c->r, "ERR value is out of range, must be positive");
            return;
        }
    }
    int nested = c->r.resp > 2 && count != -1;
    zpop_generic(c, 1, 1, max, count, 0, nested, 0);
}

static void cmd_zpopmin(cmd_ctx *c)
{
    zpop_minmax(c, 0);
}

static void cmd_zpopmax(cmd_ctx *c)
{
    zpop_minmax(c, 1);
}

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] */
static void cmd_zmpop(cmd_ctx *c)
{
    long long numkeys, count = -1;
    if (arg_ll_msg(c, 1, &numkeys, "ERR numkeys should be greater than 0") < 0)
        return;
    if (numkeys < 1) {
        reply_error(&c->r, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys >= c->argc - 2) {
        reply_err_syntax(&c->r);
        return;
    }
    int where = 2 + (int)numkeys, max;
    if (arg_is_c(c, where, "MIN")) {
        max = 0;
    } else if (arg_is_c(c, where, "MAX")) {
        max = 1;
    } else {
        reply_err_syntax(&c->r);
        return;
    }
    for (int j = where + 1; j < c->argc; j++) {
        if (count == -1 && arg_is_c(c, j, "COUNT") && j + 1 < c->argc) {
            j++;
            if (arg_ll_msg(c, j, &count, "ERR count should be greater than 0") < 0)
                return;
            if (count < 1) {
                reply_error(&c->r, "ERR count should be greater than 0");
                return;
            }
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    if (count == -1)
        count = 1;
    zpop_generic(c, 2, (int)numkeys, max, count, 1, 1, 1);
}

/* ---- BZPOPMIN / BZPOPMAX / BZMPOP ---- */

/* Redis's blockingGenericZpopCommand over keys first..first+num-1: pop
 * from the first that holds a sorted set (logged as "ZPOPMIN key" or, with
 * a count, "ZPOPMIN key <n popped>"); else a null array where blocking is
 * not allowed, or ask to block. */
static void bzpop_generic(cmd_ctx *c, int first, int num, int max, long long count, int nested,
                          int64_t deadline)
{
    for (int j = first; j < first + num; j++) {
        if (!cmd_block_key_active(c, j))
            continue;
        int wrong;
        kobj *o = lookup_zset(c, j, 1, &wrong);
        if (wrong)
            return;
        if (!o)
            continue;
        size_t llen = zset_len(kobj_zset(o));
        zpop_generic(c, j, 1, max, count, 1, nested, nested);
        const char *name = max ? "ZPOPMAX" : "ZPOPMIN";
        char popped[24];
        int nl = snprintf(popped, sizeof popped, "%zu",
                          (unsigned long long)count > llen ? llen : (size_t)count);
        const char *argv[3] = {name, c->argv[j], popped};
        size_t lens[3] = {7, c->lens[j], (size_t)nl};
        cmd_propagate(c, count == -1 ? 2 : 3, argv, lens);
        return;
    }
    if (c->deny_blocking)
        reply_null_array(&c->r);
    else
        cmd_block(c, KT_ZSET, first, num, deadline);
}

static void bzpop_minmax(cmd_ctx *c, int max)
{
    int64_t deadline;
    if (arg_timeout(c, c->argc - 1, &deadline) < 0)
        return;
    bzpop_generic(c, 1, c->argc - 2, max, -1, 0, deadline);
}

static void cmd_bzpopmin(cmd_ctx *c)
{
    bzpop_minmax(c, 0);
}

static void cmd_bzpopmax(cmd_ctx *c)
{
    bzpop_minmax(c, 1);
}

/* BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: ZMPOP's
 * checks, then the timeout. */
static void cmd_bzmpop(cmd_ctx *c)
{
    long long numkeys, count = -1;
    if (arg_ll_msg(c, 2, &numkeys, "ERR numkeys should be greater than 0") < 0)
        return;
    if (numkeys < 1) {
        reply_error(&c->r, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys >= c->argc - 3) {
        reply_err_syntax(&c->r);
        return;
    }
    int where = 3 + (int)numkeys, max;
    if (arg_is_c(c, where, "MIN")) {
        max = 0;
    } else if (arg_is_c(c, where, "MAX")) {
        max = 1;
    } else {
        reply_err_syntax(&c->r);
        return;
    }
    for (int j = where + 1; j < c->argc; j++) {
        if (count == -1 && arg_is_c(c, j, "COUNT") && j + 1 < c->argc) {
            j++;
            if (arg_ll_msg(c, j, &count, "ERR count should be greater than 0") < 0)
                return;
            if (count < 1) {
                reply_error(&c->r, "ERR count should be greater than 0");
                return;
            }
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    if (count == -1)
        count = 1;
    int64_t deadline;
    if (arg_timeout(c, 1, &deadline) < 0)
        return;
    bzpop_generic(c, 3, (int)numkeys, max, count, 1, deadline);
}

/* ---- ZRANDMEMBER key [count [WITHSCORES]] ---- */

/* A set of member copies, for sampling distinct members. */
typedef struct pickset {
    char **slot;
    size_t *len;
    size_t mask;
} pickset;

static void pickset_init(pickset *p, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    p->slot = kv_calloc(cap, sizeof *p->slot);
    p->len = kv_calloc(cap, sizeof *p->len);
    p->mask = cap - 1;
}

static int pickset_add(pickset *p, const char *m, size_t n)
{
    size_t i = (size_t)dict_hash(m, n) & p->mask;
    while (p->slot[i]) {
        if (p->len[i] == n && memcmp(p->slot[i], m, n) == 0)
            return 0;
        i = (i + 1) & p->mask;
    }
    p->slot[i] = kv_memdup(m, n);
    p->len[i] = n;
    return 1;
}

static void pickset_free(pickset *p)
{
    for (size_t i = 0; i <= p->mask; i++)
        kv_free(p->slot[i]);
    kv_free(p->slot);
    kv_free(p->len);
}

static void random_member(kv_zset *z, const char **m, size_t *n, double *score)
{
    zset_iter it;
    zset_iter_init(&it, z, (size_t)(cmd_random() % zset_len(z)), 0);
    zset_iter_next(&it, m, n, score);
}

static void zrandmember_with_count(cmd_ctx *c, long long l, int withscores)
{
    int wrong;
    kobj *o = lookup_zset(c, 1, 0, &wrong);
    if (wrong)
        return;
    if (!o || l == 0) {
        reply_empty_array(&c->r);
        return;
    }
    kv_zset *z = kobj_zset(o);
    size_t size = zset_len(z);
    unsigned long long count = l < 0 ? (unsigned long long)-l : (unsigned long long)l;
    const char *m;
    size_t n;
    double score;
    if (l < 0 || count == 1) {
        reply_array(&c->r, (long)(withscores && c->r.resp == 2 ? count * 2 : count));
        for (unsigned long long i = 0; i < count; i++) {
            random_member(z, &m, &n, &score);
            reply_pair(c, withscores, m, n, score);
            if ((i & 1023) == 1023 && cmd_reply_over_limit(c, RAND_REPLY_MAX))
                return;
        }
        return;
    }
    if (count > size)
        count = size;
    reply_array(&c->r, (long)(withscores && c->r.resp == 2 ? count * 2 : count));
    zset_iter it;
    if (count == size) {
        /* The whole set, from the highest rank down: the order Redis's
         * zuiNext walks a sorted set. */
        zset_iter_init(&it, z, size - 1, 1);
        while (zset_iter_next(&it, &m, &n, &score))
            reply_pair(c, withscores, m, n, score);
        return;
    }
    if (count * 3 > size) {
        /* Selection sampling over one pass: every count-subset is equally
         * likely. */
        size_t seen = 0, picked = 0;
        zset_iter_init(&it, z, 0, 0);
        while (picked < count && zset_iter_next(&it, &m, &n, &score)) {
            if (cmd_random() % (size - seen) < count - picked) {
                reply_pair(c, withscores, m, n, score);
                picked++;
            }
            seen++;
        }
        return;
    }
    pickset p;
    pickset_init(&p, (size_t)count);
    for (size_t picked = 0; picked < count;) {
        random_member(z, &m, &n, &score);
        if (pickset_add(&p, m, n)) {
            reply_pair(c, withscores, m, n, score);
            picked++;
        }
    }
    pickset_free(&p);
}

static void cmd_zrandmember(cmd_ctx *c)
{
    if (c->argc >= 3) {
        long long l;
        if (arg_ll(c, 2, &l) < 0)
            return;
        if (l == LLONG_MIN) {
            reply_error(&c->r, "ERR value is out of range, value must between "
                               "-9223372036854775807 and 9223372036854775807");
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !arg_is_c(c, 3, "withscores"))) {
            reply_err_syntax(&c->r);
            return;
        }
        int withscores = c->argc == 4;
        if (withscores && (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2)) {
            reply_error(&c->r, "ERR value is out of range");
            return;
        }
        zrandmember_with_count(c, l, withscores);
        return;
    }
    int wrong;
    kobj *o = lookup_zset(c, 1, 0, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_null(&c->r);
        return;
    }
    const char *m;
    size_t n;
    double score;
    random_member(kobj_zset(o), &m, &n, &score);
    reply_bulk(&c->r, m, n);
}

/* ---- ZUNION / ZINTER / ZDIFF, their STORE forms, ZINTERCARD ---- */

/* One input: a sorted set, a set (every member scores 1), or nothing. */
typedef struct zsrc {
    kv_zset *z;
    kv_set *s;
    double weight;
    size_t len;
    int index; /* position among the inputs, for a stable sort */
} zsrc;

typedef struct zsrc_iter {
    zsrc *src;
    zset_iter zi;
    set_iter si;
} zsrc_iter;

static void zsrc_iter_init(zsrc_iter *it, zsrc *src)
{
    it->src = src;
    if (src->z && src->len)
        zset_iter_init(&it->zi, src->z, 0, 0);
    else if (src->s)
        set_iter_init(&it->si, src->s);
}

static int zsrc_next(zsrc_iter *it, const char **m, size_t *n, double *score)
{
    zsrc *src = it->src;
    if (src->z)
        return src->len && zset_iter_next(&it->zi, m, n, score);
    if (src->s) {
        *score = 1.0;
        return set_iter_next(&it->si, m, n);
    }
    return 0;
}

static void zsrc_iter_done(zsrc_iter *it)
{
    if (it->src->s)
        set_iter_done(&it->si);
}

static int zsrc_find(zsrc *src, const char *m, size_t n, double *score)
{
    if (src->z)
        return zset_score(src->z, m, n, score);
    if (src->s && set_contains(src->s, m, n)) {
        *score = 1.0;
        return 1;
    }
    return 0;
}

static int by_len(const void *a, const void *b)
{
    const zsrc *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->index - y->index;
}

enum { AGG_SUM, AGG_MIN, AGG_MAX };
enum { OP_UNION, OP_INTER, OP_DIFF };

static void aggregate(double *target, double val, int agg)
{
    if (agg == AGG_SUM) {
        *target = *target + val;
        if (isnan(*target))
            *target = 0.0;
    } else if (agg == AGG_MIN) {
        *target = val < *target ? val : *target;
    } else {
        *target = val > *target ? val : *target;
    }
}

/* A member -> score accumulator for ZUNION (a dict of nodes). */
typedef struct accnode {
    dict_node node;
    double score;
    size_t len;
    char m[];
} accnode;

static void acc_key(const dict_node *n, const void **key, size_t *len)
{
    const accnode *a = (const accnode *)n;
    *key = a->m;
    *len = a->len;
}

static const dict_type acc_type = {.key_of = acc_key};

static void acc_free(dict_node *n, void *arg)
{
    (void)arg;
    kv_free(n);
}

/* Redis's zunionInterDiffGenericCommand. numkeys at argument ki; dst is
 * the destination argument of a STORE form (0: reply); card for
 * ZINTERCARD. */
static void zsetop_generic(cmd_ctx *c, int dst, int ki, int op, int card)
{
    long long setnum;
    if (arg_ll(c, ki, &setnum) < 0)
        return;
    if (setnum < 1) {
        reply_errorf(&c->r, "ERR at least 1 input key is needed for '%s' command", c->cmd->name);
        return;
    }
    if (setnum > c->argc - (ki + 1)) {
        reply_err_syntax(&c->r);
        return;
    }
    int num = (int)setnum;
    zsrc *src = kv_calloc((size_t)num, sizeof *src);
    int j = ki + 1;
    for (int i = 0; i < num; i++, j++) {
        kobj *o = db_read(c, c->argv[j], c->lens[j]);
        if (o && kobj_type(o) != KT_ZSET && kobj_type(o) != KT_SET) {
            kv_free(src);
            reply_err_wrongtype(&c->r);
            return;
        }
        if (o && kobj_type(o) == KT_ZSET) {
            src[i].z = kobj_zset(o);
            src[i].len = zset_len(src[i].z);
        } else if (o) {
            src[i].s = kobj_set(o);
            src[i].len = set_len(src[i].s);
        }
        src[i].weight = 1.0;
        src[i].index = i;
    }
    int agg = AGG_SUM, withscores = 0;
    long long limit = 0;
    while (j < c->argc) {
        int remaining = c->argc - j;
        if (op != OP_DIFF && !card && remaining >= num + 1 && arg_is_c(c, j, "weights")) {
            j++;
            for (int i = 0; i < num; i++, j++) {
                if (arg_score(c, j, &src[i].weight, "ERR weight value is not a float") < 0) {
                    kv_free(src);
                    return;
                }
            }
        } else if (op != OP_DIFF && !card && remaining >= 2 && arg_is_c(c, j, "aggregate")) {
            j++;
            if (arg_is_c(c, j, "sum")) {
                agg = AGG_SUM;
            } else if (arg_is_c(c, j, "min")) {
                agg = AGG_MIN;
            } else if (arg_is_c(c, j, "max")) {
                agg = AGG_MAX;
            } else {
                kv_free(src);
                reply_err_syntax(&c->r);
                return;
            }
            j++;
        } else if (remaining >= 1 && !dst && !card && arg_is_c(c, j, "withscores")) {
            j++;
            withscores = 1;
        } else if (card && remaining >= 2 && arg_is_c(c, j, "limit")) {
            j++;
            if (arg_ll_msg(c, j, &limit, "ERR LIMIT can't be negative") < 0) {
                kv_free(src);
                return;
            }
            if (limit < 0) {
                kv_free(src);
                reply_error(&c->r, "ERR LIMIT can't be negative");
                return;
            }
            j++;
        } else {
            kv_free(src);
            reply_err_syntax(&c->r);
            return;
        }
    }
    if (op != OP_DIFF)
        qsort(src, (size_t)num, sizeof *src, by_len);

    /* Built as a skiplist, as Redis does (its replies keep a -0); a
     * stored result is re-encoded when small. */
    kv_zset *out = zset_new_skiplist();
    unsigned long long cardinality = 0;
    zsrc_iter it;
    const char *m;
    size_t n;
    double score;
    if (op == OP_INTER) {
        if (src[0].len > 0) {
            zsrc_iter_init(&it, &src[0]);
            while (zsrc_next(&it, &m, &n, &score)) {
                double total = src[0].weight * score, value;
                if (isnan(total))
                    total = 0;
                int i;
                for (i = 1; i < num; i++) {
                    int same = (src[i].z && src[i].z == src[0].z) || (src[i].s && src[i].s == src[0].s);
                    if (same) {
                        aggregate(&total, score * src[i].weight, agg);
                    } else if (zsrc_find(&src[i], m, n, &value)) {
                        aggregate(&total, value * src[i].weight, agg);
                    } else {
                        break;
                    }
                }
                if (i < num)
                    continue;
                if (card) {
                    cardinality++;
                    if (limit && cardinality >= (unsigned long long)limit)
                        break;
                } else {
                    zset_set(out, m, n, total);
                }
            }
            zsrc_iter_done(&it);
        }
    } else if (op == OP_UNION) {
        dict acc;
        dict_init(&acc, &acc_type);
        for (int i = 0; i < num; i++) {
            if (!src[i].len)
                continue;
            zsrc_iter_init(&it, &src[i]);
            while (zsrc_next(&it, &m, &n, &score)) {
                double v = src[i].weight * score;
                if (isnan(v))
                    v = 0;
                accnode *a = (accnode *)dict_find(&acc, m, n);
                if (!a) {
                    a = kv_malloc(sizeof *a + n);
                    a->node.next = NULL;
                    a->score = v;
                    a->len = n;
                    memcpy(a->m, m, n);
                    dict_add(&acc, &a->node);
                } else {
                    aggregate(&a->score, v, agg);
                }
            }
            zsrc_iter_done(&it);
        }
        dict_iter di;
        dict_iter_init(&di, &acc);
        for (dict_node *dn; (dn = dict_iter_next(&di));) {
            const accnode *a = (const accnode *)dn;
            zset_set(out, a->m, a->len, a->score);
        }
        dict_iter_done(&di);
        dict_clear(&acc, acc_free, NULL);
    } else if (src[0].len > 0) {
        zsrc_iter_init(&it, &src[0]);
        while (zsrc_next(&it, &m, &n, &score)) {
            int i;
            double v;
            for (i = 1; i < num; i++)
                if (src[i].len && zsrc_find(&src[i], m, n, &v))
                    break;
            if (i == num)
                zset_set(out, m, n, score);
        }
        zsrc_iter_done(&it);
    }
    kv_free(src);

    if (dst) {
        zset_convert_if_small(out);
        static const char *const events[] = {
            [OP_UNION] = "zunionstore", [OP_INTER] = "zinterstore", [OP_DIFF] = "zdiffstore"};
        reply_int(&c->r, (long long)store_zset(c, dst, out, events[op]));
        return;
    }
    if (card) {
        zset_free(out);
        reply_int(&c->r, (long long)cardinality);
        return;
    }
    size_t len = zset_len(out);
    reply_array(&c->r, (long)(withscores && c->r.resp == 2 ? len * 2 : len));
    if (len) {
        zset_iter zi;
        zset_iter_init(&zi, out, 0, 0);
        while (zset_iter_next(&zi, &m, &n, &score))
            reply_pair(c, withscores, m, n, score);
    }
    zset_free(out);
}

static void cmd_zunionstore(cmd_ctx *c)
{
    zsetop_generic(c, 1, 2, OP_UNION, 0);
}

static void cmd_zinterstore(cmd_ctx *c)
{
    zsetop_generic(c, 1, 2, OP_INTER, 0);
}

static void cmd_zdiffstore(cmd_ctx *c)
{
    zsetop_generic(c, 1, 2, OP_DIFF, 0);
}

static void cmd_zunion(cmd_ctx *c)
{
    zsetop_generic(c, 0, 1, OP_UNION, 0);
}

static void cmd_zinter(cmd_ctx *c)
{
    zsetop_generic(c, 0, 1, OP_INTER, 0);
}

static void cmd_zdiff(cmd_ctx *c)
{
    zsetop_generic(c, 0, 1, OP_DIFF, 0);
}

static void cmd_zintercard(cmd_ctx *c)
{
    zsetop_generic(c, 0, 1, OP_INTER, 1);
}

/* ---- ZSCAN key cursor [MATCH pattern] [COUNT count] ---- */

typedef struct scan_acc {
    kbuf bytes;
    size_t *lens;
    double *scores;
    size_t n, cap;
} scan_acc;

static void scan_collect(void *arg, const char *m, size_t n, double score)
{
    scan_acc *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->lens = kv_realloc(a->lens, a->cap * sizeof *a->lens);
        a->scores = kv_realloc(a->scores, a->cap * sizeof *a->scores);
    }
    kbuf_append(&a->bytes, m, n);
    a->lens[a->n] = n;
    a->scores[a->n++] = score;
}

/* The text Redis's listpack holds for a score (ZSCAN shows it): a whole
 * number within +-LLONG_MAX/2 is stored as an integer (double2ll), so
 * 1e17 reads "100000000000000000" and -0 reads "0"; anything else as
 * d2string writes it. A skiplist's scores print as zset_fmt_score. */
static size_t listpack_score(char *buf, double d)
{
    if (d >= (double)(-LLONG_MAX / 2) && d <= (double)(LLONG_MAX / 2) &&
        (double)(long long)d == d)
        return kv_ll2string(buf, ZSET_SCOREBUF, (long long)d);
    return zset_fmt_score(buf, d);
}

static void cmd_zscan(cmd_ctx *c)
{
    uint64_t cursor;
    if (arg_cursor(c, 2, &cursor) < 0)
        return;
    int wrong;
    kobj *o = lookup_zset(c, 1, 0, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_array(&c->r, 2);
        reply_bulk(&c->r, "0", 1);
        reply_empty_array(&c->r);
        return;
    }
    scan_opts so;
    if (scan_parse_opts(c, 3, &so) < 0)
        return;
    kv_zset *z = kobj_zset(o);
    int listpack = strcmp(zset_encoding(z), "listpack") == 0;
    scan_acc a;
    memset(&a, 0, sizeof a);
    long long steps = so.count > LLONG_MAX / 10 ? LLONG_MAX : so.count * 10;
    do {
        cursor = zset_scan(z, cursor, scan_collect, &a);
    } while (cursor && steps-- && a.n * 2 < (unsigned long long)so.count);
    reply_array(&c->r, 2);
    reply_bulk_ll(&c->r, (long long)cursor);
    reply_deferred d = reply_defer(&c->r);
    long kept = 0;
    const char *m = kbuf_data(&a.bytes);
    for (size_t i = 0; i < a.n; m += a.lens[i], i++) {
        if (so.pat && !kv_match(so.pat, so.patlen, m, a.lens[i], 0))
            continue;
        char buf[ZSET_SCOREBUF];
        reply_bulk(&c->r, m, a.lens[i]);
        reply_bulk(&c->r, buf, listpack ? listpack_score(buf, a.scores[i])
                                        : zset_fmt_score(buf, a.scores[i]));
        kept += 2;
    }
    reply_set_array_len(&c->r, d, kept);
    kbuf_free(&a.bytes);
    kv_free(a.lens);
    kv_free(a.scores);
}

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define M CMD_DENYOOM

const kv_command cmds_zset[] = {
    {"zadd", cmd_zadd, -4, W | M | F, 1, 1, 1, "sorted_set",
     "Add one or more members to a sorted set, or update its score if it already exists",
     "1.2.0", "@write @sortedset @fast"},
    {"zincrby", cmd_zincrby, 4, W | M | F, 1, 1, 1, "sorted_set",
     "Increment the score of a member in a sorted set", "1.2.0", "@write @sortedset @fast"},
    {"zrem", cmd_zrem, -3, W | F, 1, 1, 1, "sorted_set",
     "Remove one or more members from a sorted set", "1.2.0", "@write @sortedset @fast"},
    {"zcard", cmd_zcard, 2, R | F, 1, 1, 1, "sorted_set",
     "Get the number of members in a sorted set", "1.2.0", "@read @sortedset @fast"},
    {"zcount", cmd_zcount, 4, R | F, 1, 1, 1, "sorted_set",
     "Count the members in a sorted set with scores within the given values", "2.0.0",
     "@read @sortedset @fast"},
    {"zlexcount", cmd_zlexcount, 4, R | F, 1, 1, 1, "sorted_set",
     "Count the number of members in a sorted set between a given lexicographical range",
     "2.8.9", "@read @sortedset @fast"},
    {"zscore", cmd_zscore, 3, R | F, 1, 1, 1, "sorted_set",
     "Get the score associated with the given member in a sorted set", "1.2.0",
     "@read @sortedset @fast"},
    {"zmscore", cmd_zmscore, -3, R | F, 1, 1, 1, "sorted_set",
     "Get the score associated with the given members in a sorted set", "6.2.0",
     "@read @sortedset @fast"},
    {"zrank", cmd_zrank, 3, R | F, 1, 1, 1, "sorted_set",
     "Determine the index of a member in a sorted set", "2.0.0", "@read @sortedset @fast"},
    {"zrevrank", cmd_zrevrank, 3, R | F, 1, 1, 1, "sorted_set",
     "Determine the index of a member in a sorted set, with scores ordered from high to low",
     "2.0.0", "@read @sortedset @fast"},
    {"zrange", cmd_zrange, -4, R, 1, 1, 1, "sorted_set",
     "Return a range of members in a sorted set", "1.2.0", "@read @sortedset @slow"},
    {"zrangestore", cmd_zrangestore, -5, W | M, 1, 2, 1, "sorted_set",
     "Store a range of members from sorted set into another key", "6.2.0",
     "@write @sortedset @slow"},
    {"zrevrange", cmd_zrevrange, -4, R, 1, 1, 1, "sorted_set",
     "Return a range of members in a sorted set, by index, with scores ordered from high to low",
     "1.2.0", "@read @sortedset @slow"},
    {"zrangebyscore", cmd_zrangebyscore, -4, R, 1, 1, 1, "sorted_set",
     "Return a range of members in a sorted set, by score", "1.0.5", "@read @sortedset @slow"},
    {"zrevrangebyscore", cmd_zrevrangebyscore, -4, R, 1, 1, 1, "sorted_set",
     "Return a range of members in a sorted set, by score, with scores ordered from high to "
     "low",
     "2.2.0", "@read @sortedset @slow"},
    {"zrangebylex", cmd_zrangebylex, -4, R, 1, 1, 1, "sorted_set",
     "Return a range of members in a sorted set, by lexicographical range", "2.8.9",
     "@read @sortedset @slow"},
    {"zrevrangebylex", cmd_zrevrangebylex, -4, R, 1, 1, 1, "sorted_set",
     "Return a range of members in a sorted set, by lexicographical range, ordered from higher "
     "to lower strings",
     "2.8.9", "@read @sortedset @slow"},
    {"zremrangebyrank", cmd_zremrangebyrank, 4, W, 1, 1, 1, "sorted_set",
     "Remove all members in a sorted set within the given indexes", "2.0.0",
     "@write @sortedset @slow"},
    {"zremrangebyscore", cmd_zremrangebyscore, 4, W, 1, 1, 1, "sorted_set",
     "Remove all members in a sorted set within the given scores", "1.2.0",
     "@write @sortedset @slow"},
    {"zremrangebylex", cmd_zremrangebylex, 4, W, 1, 1, 1, "sorted_set",
     "Remove all members in a sorted set between the given lexicographical range", "2.8.9",
     "@write @sortedset @slow"},
    {"zpopmin", cmd_zpopmin, -2, W | F, 1, 1, 1, "sorted_set",
     "Remove and return members with the lowest scores in a sorted set", "5.0.0",
     "@write @sortedset @fast"},
    {"zpopmax", cmd_zpopmax, -2, W | F, 1, 1, 1, "sorted_set",
     "Remove and return members with the highest scores in a sorted set", "5.0.0",
     "@write @sortedset @fast"},
    {"zmpop", cmd_zmpop, -4, W, 0, 0, 0, "sorted_set",
     "Remove and return members with scores in a sorted set", "7.0.0",
     "@write @sortedset @slow"},
    {"bzpopmin", cmd_bzpopmin, -3, W | CMD_NOSCRIPT | CMD_BLOCKING | F, 1, -2, 1, "sorted_set",
     "Remove and return the member with the lowest score from one or more sorted sets, or "
     "block until one is available",
     "5.0.0", "@write @sortedset @fast @blocking"},
    {"bzpopmax", cmd_bzpopmax, -3, W | CMD_NOSCRIPT | CMD_BLOCKING | F, 1, -2, 1, "sorted_set",
     "Remove and return the member with the highest score from one or more sorted sets, or "
     "block until one is available",
     "5.0.0", "@write @sortedset @fast @blocking"},
    {"bzmpop", cmd_bzmpop, -5, W | CMD_BLOCKING, 0, 0, 0, "sorted_set",
     "Remove and return members with scores in a sorted set or block until one is available",
     "7.0.0", "@write @sortedset @slow @blocking"},
    {"zrandmember", cmd_zrandmember, -2, R, 1, 1, 1, "sorted_set",
     "Get one or multiple random elements from a sorted set", "6.2.0",
     "@read @sortedset @slow"},
    {"zunion", cmd_zunion, -3, R, 0, 0, 0, "sorted_set", "Add multiple sorted sets", "6.2.0",
     "@read @sortedset @slow"},
    {"zunionstore", cmd_zunionstore, -4, W | M, 1, 1, 1, "sorted_set",
     "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0",
     "@write @sortedset @slow"},
    {"zinter", cmd_zinter, -3, R, 0, 0, 0, "sorted_set", "Intersect multiple sorted sets",
     "6.2.0", "@read @sortedset @slow"},
    {"zinterstore", cmd_zinterstore, -4, W | M, 1, 1, 1, "sorted_set",
     "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0",
     "@write @sortedset @slow"},
    {"zintercard", cmd_zintercard, -3, R, 0, 0, 0, "sorted_set",
     "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0",
     "@read @sortedset @slow"},
    {"zdiff", cmd_zdiff, -3, R, 0, 0, 0, "sorted_set", "Subtract multiple sorted sets", "6.2.0",
     "@read @sortedset @slow"},
    {"zdiffstore", cmd_zdiffstore, -4, W | M, 1, 1, 1, "sorted_set",
     "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0",
     "@write @sortedset @slow"},
    {"zscan", cmd_zscan, -3, R, 1, 1, 1, "sorted_set",
     "Incrementally iterate sorted sets elements and associated scores", "2.8.0",
     "@read @sortedset @slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
