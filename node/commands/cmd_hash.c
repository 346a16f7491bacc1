/* cmd_hash.c — hash commands, with Redis 7.0's replies, errors and order
 * of checks (t_hash.c, and db.c's HSCAN cursor rule).
 *
 * Values are kv_hash (thash.h), which converts listpack -> hashtable at
 * the same thresholds as Redis and keeps insertion order while small, so
 * HGETALL/HKEYS/HVALS/HSCAN of small hashes answer in Redis's order. A
 * hash whose last field goes is deleted in the same command. Everything is
 * deterministic given the keyspace and logged as its own argv, except
 * HINCRBYFLOAT, logged as HSET of its result (as Redis propagates it).
 * A command that changed nothing is not dirty.
 *
 * Keyspace events as Redis 7.0's t_hash.c: "new", then "hset" (HSET, HMSET,
 * HSETNX), "hincrby", "hincrbyfloat" after the reply; "hdel" (and "del" when
 * the hash empties) before it.
 *
 * Never dereferences c->cl on a write path: the same code runs when the
 * log is replayed. HRANDFIELD (a read) looks at the client only to stop a
 * reply that has outgrown the output buffer limit. */

#include "cmd.h"
#include "mem.h"
#include "reply.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* The hash at argument 1: NULL if missing; *wrong set (and WRONGTYPE
 * replied) if the key holds another type. write picks db_write. */
static kobj *lookup_hash(cmd_ctx *c, int write, int *wrong)
{
    *wrong = 0;
    kobj *o = write ? db_write(c, c->argv[1], c->lens[1]) : db_read(c, c->argv[1], c->lens[1]);
    if (o && kobj_type(o) != KT_HASH) {
        reply_err_wrongtype(&c->r);
        *wrong = 1;
        return NULL;
    }
    return o;
}

/* The hash of o (a hash looked up for writing), or a new empty hash under
 * argument 1 if o is NULL (announced as "new"): the caller adds a field to
 * it at once. */
static kv_hash *hash_for_write(cmd_ctx *c, kobj *o)
{
    if (!o) {
        o = ks_add_hash(c->k, c->argv[1], c->lens[1]);
        cmd_notify_new(c, c->argv[1], c->lens[1]);
    }
    return kobj_hash(o);
}

/* The hash at argument 1 changed: WATCH, then (after the reply, as Redis)
 * the keyspace event. */
static void hash_changed(cmd_ctx *c, const char *event)
{
    cmd_notify(c, NOTIFY_HASH, event, c->argv[1], c->lens[1]);
}

/* ---- HSET / HMSET / HSETNX ---- */

static void cmd_hset(cmd_ctx *c)
{
    if (c->argc % 2 == 1) {
        reply_err_arity(&c->r, c->cmd->name);
        return;
    }
    int wrong;
    kobj *o = lookup_hash(c, 1, &wrong);
    if (wrong)
        return;
    kv_hash *h = hash_for_write(c, o);
    long long created = 0;
    for (int i = 2; i < c->argc; i += 2)
        created += hash_set(h, c->argv[i], c->lens[i], c->argv[i + 1], c->lens[i + 1]);
    db_modified(c, c->argv[1], c->lens[1]);
    if (c->cmd->name[1] == 's')
        reply_int(&c->r, created); /* HSET */
    else
        reply_ok(&c->r); /* HMSET */
    hash_changed(c, "hset");
}

static void cmd_hsetnx(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_hash(c, 1, &wrong);
    if (wrong)
        return;
    const char *v;
    size_t vlen;
    if (o && hash_get(kobj_hash(o), c->argv[2], c->lens[2], &v, &vlen)) {
        reply_int(&c->r, 0);
        return;
    }
    hash_set(hash_for_write(c, o), c->argv[2], c->lens[2], c->argv[3], c->lens[3]);
    db_modified(c, c->argv[1], c->lens[1]);
    reply_int(&c->r, 1);
    hash_changed(c, "hset");
}

/* ---- HGET / HMGET / HEXISTS / HSTRLEN / HLEN ---- */

static void cmd_hget(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_hash(c, 0, &wrong);
    if (wrong)
        return;
    const char *v;
    size_t vlen;
    if (o && hash_get(kobj_hash(o), c->argv[2], c->lens[2], &v, &vlen))
        reply_bulk(&c->r, v, vlen);
    else
        reply_null(&c->r);
}

static void cmd_hmget(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_hash(c, 0, &wrong);
    if (wrong)
        return;
    reply_array(&c->r, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const char *v;
        size_t vlen;
        if (o && hash_get(kobj_hash(o), c->argv[i], c->lens[i], &v, &vlen))
            reply_bulk(&c->r, v, vlen);
        else
            reply_null(&c->r);
    }
}

static void cmd_hexists(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_hash(c, 0, &wrong);
    if (wrong)
        return;
    const char *v;
    size_t vlen;
    reply_int(&c->r, o && hash_get(kobj_hash(o), c->argv[2], c->lens[2], &v, &vlen));
}

static void cmd_hstrlen(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_hash(c, 0, &wrong);
    if (wrong)
        return;
    const char *v;
    size_t vlen;
    int found = o && hash_get(kobj_hash(o), c->argv[2], c->lens[2], &v, &vlen);
    reply_int(&c->r, found ? (long long)vlen : 0);
}

static void cmd_hlen(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_hash(c, 0, &wrong);
    if (wrong)
        return;
    reply_int(&c->r, o ? (long long)hash_len(kobj_hash(o)) : 0);
}

/* ---- HDEL ---- */

static void cmd_hdel(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_hash(c, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    kv_hash *h = kobj_hash(o);
    long long deleted = 0;
    int gone = 0;
    for (int i = 2; i < c->argc && !gone; i++) {
        if (hash_del(h, c->argv[i], c->lens[i])) {
            deleted++;
            gone = hash_len(h) == 0;
        }
    }
    if (deleted) {
        db_modified(c, c->argv[1], c->lens[1]);
        hash_changed(c, "hdel");
        if (gone) {
            ks_delete(c->k, c->argv[1], c->lens[1]);
            cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[1], c->lens[1]);
        }
    }
    reply_int(&c->r, deleted);
}

/* ---- HKEYS / HVALS / HGETALL ---- */

enum { HG_KEYS = 1, HG_VALS = 2 };

static void getall_generic(cmd_ctx *c, int what)
{
    int wrong;
    kobj *o = lookup_hash(c, 0, &wrong);
    if (wrong)
        return;
    int both = what == (HG_KEYS | HG_VALS);
    if (!o) {
        if (both)
            reply_map(&c->r, 0);
        else
            reply_empty_array(&c->r);
        return;
    }
    kv_hash *h = kobj_hash(o);
    if (both)
        reply_map(&c->r, (long)hash_len(h));
    else
        reply_array(&c->r, (long)hash_len(h));
    hash_iter it;
    hash_iter_init(&it, h);
    const char *f, *v;
    size_t flen, vlen;
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) {
        if (what & HG_KEYS)
            reply_bulk(&c->r, f, flen);
        if (what & HG_VALS)
            reply_bulk(&c->r, v, vlen);
    }
    hash_iter_done(&it);
}

static void cmd_hkeys(cmd_ctx *c)
{
    getall_generic(c, HG_KEYS);
}

static void cmd_hvals(cmd_ctx *c)
{
    getall_generic(c, HG_VALS);
}

static void cmd_hgetall(cmd_ctx *c)
{
    getall_generic(c, HG_KEYS | HG_VALS);
}

/* ---- HINCRBY / HINCRBYFLOAT ---- */

static void cmd_hincrby(cmd_ctx *c)
{
    long long incr;
    if (arg_ll(c, 3, &incr) < 0)
        return;
    int wrong;
    kobj *o = lookup_hash(c, 1, &wrong);
    if (wrong)
        return;
    long long value = 0;
    const char *v;
    size_t vlen;
    if (o && hash_get(kobj_hash(o), c->argv[2], c->lens[2], &v, &vlen) &&
        !kv_string2ll(v, vlen, &value)) {
        reply_error(&c->r, KV_ERR_HASH_NOTINT);
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        reply_error(&c->r, KV_ERR_OVERFLOW);
        return;
    }
    value += incr;
    char buf[KV_I64_DIGITS + 1];
    size_t n = kv_ll2string(buf, sizeof buf, value);
    hash_set(hash_for_write(c, o), c->argv[2], c->lens[2], buf, n);
    db_modified(c, c->argv[1], c->lens[1]);
    reply_int(&c->r, value);
    hash_changed(c, "hincrby");
}

static void cmd_hincrbyfloat(cmd_ctx *c)
{
    long double incr, value = 0;
    if (arg_ld(c, 3, &incr) < 0)
        return;
    if (isnan(incr) || isinf(incr)) {
        reply_error(&c->r, "ERR value is NaN or Infinity");
        return;
    }
    int wrong;
    kobj *o = lookup_hash(c, 1, &wrong);
    if (wrong)
        return;
    const char *v;
    size_t vlen;
    if (o && hash_get(kobj_hash(o), c->argv[2], c->lens[2], &v, &vlen) &&
        !kv_string2ld(v, vlen, &value)) {
        reply_error(&c->r, KV_ERR_HASH_NOTFLOAT);
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        reply_error(&c->r, KV_ERR_NANINF);
        return;
    }
    char buf[KV_LD_STR_MAX];
    size_t n = kv_ld2string(buf, sizeof buf, value, KV_LD_HUMAN);
    hash_set(hash_for_write(c, o), c->argv[2], c->lens[2], buf, n);
    db_modified(c, c->argv[1], c->lens[1]);
    reply_bulk(&c->r, buf, n);
    hash_changed(c, "hincrbyfloat");
    /* The sum's rounding is this machine's: log the result. */
    const char *argv[4] = {"HSET", c->argv[1], c->argv[2], buf};
    size_t lens[4] = {4, c->lens[1], c->lens[2], n};
    cmd_propagate(c, 4, argv, lens);
}

/* ---- HRANDFIELD key [count [WITHVALUES]] ---- */

/* Without a configured output buffer limit Redis would build a reply of
 * any size; kvnode stops there. */
#define RANDFIELD_REPLY_MAX ((size_t)1 << 30)

/* Redis stops writing a huge reply once the client is past its output
 * buffer limit, and the client is closed. 1 if that point is reached. */
static int reply_over_limit(cmd_ctx *c)
{
    return cmd_reply_over_limit(c, RANDFIELD_REPLY_MAX);
}

static void reply_pair(cmd_ctx *c, int withvalues, const char *f, size_t flen, const char *v,
                       size_t vlen)
{
    if (withvalues && c->r.resp > 2)
        reply_array(&c->r, 2);
    reply_bulk(&c->r, f, flen);
    if (withvalues)
        reply_bulk(&c->r, v, vlen);
}

/* The header of a reply of n fields (RESP2 flattens pairs, RESP3 nests). */
static void reply_pairs_header(cmd_ctx *c, int withvalues, unsigned long long n)
{
    reply_array(&c->r, (long)(withvalues && c->r.resp == 2 ? n * 2 : n));
}

/* A set of field pointers (views into one hash that is not modified
 * meanwhile), for sampling distinct fields: open addressing. */
typedef struct ptrset {
    const void **slot;
    size_t mask;
} ptrset;

static void ptrset_init(ptrset *s, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    s->slot = kv_calloc(cap, sizeof *s->slot);
    s->mask = cap - 1;
}

/* 1 if p was added, 0 if it was already there. */
static int ptrset_add(ptrset *s, const void *p)
{
    uintptr_t x = (uintptr_t)p;
    size_t i = (size_t)((x >> 3) * 0x9E3779B97F4A7C15ull) & s->mask;
    while (s->slot[i]) {
        if (s->slot[i] == p)
            return 0;
        i = (i + 1) & s->mask;
    }
    s->slot[i] = p;
    return 1;
}

/* count distinct fields of a hash with more than count fields. */
static void randfield_unique(cmd_ctx *c, kv_hash *h, size_t count, int withvalues)
{
    size_t size = hash_len(h);
    const char *f, *v;
    size_t flen, vlen;
    if (count * 3 > size || strcmp(hash_encoding(h), "listpack") == 0) {
        /* Selection sampling over one pass: every count-subset is equally
         * likely, and a listpack answers in its own order, as Redis. */
        hash_iter it;
        hash_iter_init(&it, h);
        size_t seen = 0, picked = 0;
        while (picked < count && hash_iter_next(&it, &f, &flen, &v, &vlen)) {
            if (cmd_random() % (size - seen) < count - picked) {
                reply_pair(c, withvalues, f, flen, v, vlen);
                picked++;
            }
            seen++;
        }
        hash_iter_done(&it);
        return;
    }
    /* Few of many: random picks until count distinct ones. */
    ptrset s;
    ptrset_init(&s, count);
    for (size_t picked = 0; picked < count;) {
        hash_random(h, cmd_random(), &f, &flen, &v, &vlen);
        if (ptrset_add(&s, f)) {
            reply_pair(c, withvalues, f, flen, v, vlen);
            picked++;
        }
    }
    kv_free(s.slot);
}

static void randfield_with_count(cmd_ctx *c, long long l, int withvalues)
{
    int wrong;
    kobj *o = lookup_hash(c, 0, &wrong);
    if (wrong)
        return;
    if (!o || l == 0) {
        reply_empty_array(&c->r);
        return;
    }
    kv_hash *h = kobj_hash(o);
    size_t size = hash_len(h);
    const char *f, *v;
    size_t flen, vlen;
    unsigned long long count = l < 0 ? (unsigned long long)-l : (unsigned long long)l;
    if (l < 0 || count == 1) {
        /* Fields may repeat: count independent picks. */
        reply_pairs_header(c, withvalues, count);
        for (unsigned long long i = 0; i < count; i++) {
            hash_random(h, cmd_random(), &f, &flen, &v, &vlen);
            reply_pair(c, withvalues, f, flen, v, vlen);
            if ((i & 1023) == 1023 && reply_over_limit(c))
                return;
        }
        return;
    }
    if (count >= size) {
        reply_pairs_header(c, withvalues, size);
        hash_iter it;
        hash_iter_init(&it, h);
        while (hash_iter_next(&it, &f, &flen, &v, &vlen))
            reply_pair(c, withvalues, f, flen, v, vlen);
        hash_iter_done(&it);
        return;
    }
    reply_pairs_header(c, withvalues, count);
    randfield_unique(c, h, (size_t)count, withvalues);
}

static void cmd_hrandfield(cmd_ctx *c)
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
        if (c->argc > 4 || (c->argc == 4 && !arg_is(c, 3, "withvalues"))) {
            reply_err_syntax(&c->r);
            return;
        }
        int withvalues = c->argc == 4;
        if (withvalues && (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2)) {
            reply_error(&c->r, "ERR value is out of range");
            return;
        }
        randfield_with_count(c, l, withvalues);
        return;
    }
    int wrong;
    kobj *o = lookup_hash(c, 0, &wrong);
    if (wrong)
        return;
    const char *f, *v;
    size_t flen, vlen;
    if (!o || !hash_random(kobj_hash(o), cmd_random(), &f, &flen, &v, &vlen)) {
        reply_null(&c->r);
        return;
    }
    reply_bulk(&c->r, f, flen);
}

/* ---- HSCAN key cursor [MATCH pattern] [COUNT count] ---- */

/* Redis's parseScanCursorOrReply: strtoul over the argument as a C string
 * (so it ends at a NUL; "+1", "-1", "007" and "" are accepted), refusing a
 * leading blank, trailing bytes and overflow. */
static int parse_cursor(cmd_ctx *c, int i, uint64_t *out)
{
    size_t n = c->lens[i];
    char stack[64];
    char *s = n < sizeof stack ? stack : kv_malloc(n + 1);
    memcpy(s, c->argv[i], n);
    s[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int ok = !isspace((unsigned char)s[0]) && *end == '\0' && errno != ERANGE;
    if (s != stack)
        kv_free(s);
    if (!ok) {
        reply_error(&c->r, "ERR invalid cursor");
        return -1;
    }
    *out = v;
    return 0;
}

typedef struct scan_acc {
    const char **f, **v;
    size_t *flen, *vlen;
    size_t n, cap;
} scan_acc;

static void scan_collect(void *arg, const char *f, size_t flen, const char *v, size_t vlen)
{
    scan_acc *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->f = kv_realloc(a->f, a->cap * sizeof *a->f);
        a->v = kv_realloc(a->v, a->cap * sizeof *a->v);
        a->flen = kv_realloc(a->flen, a->cap * sizeof *a->flen);
        a->vlen = kv_realloc(a->vlen, a->cap * sizeof *a->vlen);
    }
    a->f[a->n] = f;
    a->flen[a->n] = flen;
    a->v[a->n] = v;
    a->vlen[a->n] = vlen;
    a->n++;
}

static void cmd_hscan(cmd_ctx *c)
{
    uint64_t cursor;
    if (parse_cursor(c, 2, &cursor) < 0)
        return;
    int wrong;
    kobj *o = lookup_hash(c, 0, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_array(&c->r, 2);
        reply_bulk(&c->r, "0", 1);
        reply_empty_array(&c->r);
        return;
    }
    long long count = 10;
    const char *pat = NULL;
    size_t patlen = 0;
    for (int i = 3; i < c->argc; i += 2) {
        int more = i + 1 < c->argc;
        if (more && arg_is(c, i, "count")) {
            if (arg_ll(c, i + 1, &count) < 0)
                return;
            if (count < 1) {
                reply_err_syntax(&c->r);
                return;
            }
        } else if (more && arg_is(c, i, "match")) {
            pat = c->argv[i + 1];
            patlen = c->lens[i + 1];
            if (patlen == 1 && pat[0] == '*')
                pat = NULL;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    kv_hash *h = kobj_hash(o);
    scan_acc a = {0};
    /* As Redis: up to count*10 steps, until the collected fields and
     * values (two items per field) reach count, or the end. */
    long long steps = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = hash_scan(h, cursor, scan_collect, &a);
    } while (cursor && steps-- && a.n * 2 < (unsigned long long)count);
    size_t kept = 0;
    for (size_t i = 0; i < a.n; i++) {
        if (pat && !kv_match(pat, patlen, a.f[i], a.flen[i], 0))
            continue;
        a.f[kept] = a.f[i];
        a.flen[kept] = a.flen[i];
        a.v[kept] = a.v[i];
        a.vlen[kept] = a.vlen[i];
        kept++;
    }
    char buf[KV_I64_DIGITS + 1];
    size_t n = kv_ull2string(buf, sizeof buf, cursor);
    reply_array(&c->r, 2);
    reply_bulk(&c->r, buf, n);
    reply_array(&c->r, (long)(kept * 2));
    for (size_t i = 0; i < kept; i++) {
        reply_bulk(&c->r, a.f[i], a.flen[i]);
        reply_bulk(&c->r, a.v[i], a.vlen[i]);
    }
    kv_free(a.f);
    kv_free(a.v);
    kv_free(a.flen);
    kv_free(a.vlen);
}

const kv_command cmds_hash[] = {
    {"hset", cmd_hset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash",
     "Set the string value of a hash field", "2.0.0", "@write @hash @fast"},
    {"hmset", cmd_hset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash",
     "Set multiple hash fields to multiple values", "2.0.0", "@write @hash @fast"},
    {"hsetnx", cmd_hsetnx, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash",
     "Set the value of a hash field, only if the field does not exist", "2.0.0",
     "@write @hash @fast"},
    {"hget", cmd_hget, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash",
     "Get the value of a hash field", "2.0.0", "@read @hash @fast"},
    {"hmget", cmd_hmget, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash",
     "Get the values of all the given hash fields", "2.0.0", "@read @hash @fast"},
    {"hdel", cmd_hdel, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash",
     "Delete one or more hash fields", "2.0.0", "@write @hash @fast"},
    {"hexists", cmd_hexists, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash",
     "Determine if a hash field exists", "2.0.0", "@read @hash @fast"},
    {"hlen", cmd_hlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash",
     "Get the number of fields in a hash", "2.0.0", "@read @hash @fast"},
    {"hstrlen", cmd_hstrlen, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash",
     "Get the length of the value of a hash field", "3.2.0", "@read @hash @fast"},
    {"hkeys", cmd_hkeys, 2, CMD_READONLY, 1, 1, 1, "hash", "Get all the fields in a hash",
     "2.0.0", "@read @hash @slow"},
    {"hvals", cmd_hvals, 2, CMD_READONLY, 1, 1, 1, "hash", "Get all the values in a hash",
     "2.0.0", "@read @hash @slow"},
    {"hgetall", cmd_hgetall, 2, CMD_READONLY, 1, 1, 1, "hash",
     "Get all the fields and values in a hash", "2.0.0", "@read @hash @slow"},
    {"hincrby", cmd_hincrby, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash",
     "Increment the integer value of a hash field by the given number", "2.0.0",
     "@write @hash @fast"},
    {"hincrbyfloat", cmd_hincrbyfloat, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash",
     "Increment the float value of a hash field by the given amount", "2.6.0",
     "@write @hash @fast"},
    {"hrandfield", cmd_hrandfield, -2, CMD_READONLY, 1, 1, 1, "hash",
     "Get one or multiple random fields from a hash", "6.2.0", "@read @hash @slow"},
    {"hscan", cmd_hscan, -3, CMD_READONLY, 1, 1, 1, "hash",
     "Incrementally iterate hash fields and associated values", "2.8.0", "@read @hash @slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
