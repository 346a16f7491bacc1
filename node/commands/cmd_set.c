/* cmd_set.c — set commands, with Redis 7.0's replies, errors and order of
 * checks (t_set.c, and db.c's SSCAN rules).
 *
 * Values are kv_set (tset.h), which converts intset -> hashtable at the
 * same points as Redis, and answers intsets in ascending order, so the
 * replies of small integer sets match Redis's order. A set whose last
 * member goes is deleted in the same command.
 *
 * Logged effects: everything is deterministic given the keyspace and
 * logged as its own argv, except SPOP, logged as what it did (as Redis
 * propagates it): "SREM key <the members it popped>", or "DEL key" when
 * it took the whole set. The STORE commands are deterministic and logged
 * as themselves. A command that changed nothing is not dirty.
 *
 * Never dereferences c->cl on a write path: the same code runs when the
 * log is replayed. */

#include "cmd.h"
#include "dict.h"
#include "mem.h"
#include "reply.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* The set at argument i: NULL if missing; *wrong set (and WRONGTYPE
 * replied) if the key holds another type. */
static kobj *lookup_set(cmd_ctx *c, int i, int write, int *wrong)
{
    *wrong = 0;
    kobj *o = write ? db_write(c, c->argv[i], c->lens[i]) : db_read(c, c->argv[i], c->lens[i]);
    if (o && kobj_type(o) != KT_SET) {
        reply_err_wrongtype(&c->r);
        *wrong = 1;
        return NULL;
    }
    return o;
}

/* Reply every member of s as a RESP3 set (RESP2 array). */
static void reply_members(cmd_ctx *c, kv_set *s)
{
    reply_set(&c->r, (long)set_len(s));
    set_iter it;
    const char *m;
    size_t n;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &n))
        reply_bulk(&c->r, m, n);
    set_iter_done(&it);
}

/* Replace key i with the set s (taking it), or delete the key when s is
 * empty; as Redis's setKey, any TTL goes. Announces Redis's events: "new"
 * for a key created and `event` (sinterstore, ...), or "del" when an
 * existing key is deleted. Returns the size stored. */
static size_t store_set(cmd_ctx *c, int i, kv_set *s, const char *event)
{
    size_t n = set_len(s);
    int existed = ks_find(c->k, c->argv[i], c->lens[i]) != NULL;
    if (existed)
        ks_delete(c->k, c->argv[i], c->lens[i]);
    if (n) {
        ks_add_set(c->k, c->argv[i], c->lens[i], s);
        db_modified(c, c->argv[i], c->lens[i]);
        if (!existed)
            cmd_notify_new(c, c->argv[i], c->lens[i]);
        cmd_notify(c, NOTIFY_SET, event, c->argv[i], c->lens[i]);
    } else {
        set_free(s);
        if (existed) {
            db_modified(c, c->argv[i], c->lens[i]);
            cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[i], c->lens[i]);
        }
    }
    return n;
}

/* ---- SADD / SREM / SMOVE ---- */

static void cmd_sadd(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_set(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        o = ks_add_set(c->k, c->argv[1], c->lens[1], set_new_for(c->argv[2], c->lens[2]));
        cmd_notify_new(c, c->argv[1], c->lens[1]);
    }
    long long added = 0;
    for (int i = 2; i < c->argc; i++)
        added += kobj_set_add(o, c->argv[i], c->lens[i]);
    if (added) {
        db_modified(c, c->argv[1], c->lens[1]);
        cmd_notify(c, NOTIFY_SET, "sadd", c->argv[1], c->lens[1]);
    }
    reply_int(&c->r, added);
}

static void cmd_srem(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_set(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    long long removed = 0;
    int gone = 0;
    for (int i = 2; i < c->argc && !gone; i++) {
        if (kobj_set_remove(o, c->argv[i], c->lens[i])) {
            removed++;
            gone = set_len(kobj_set(o)) == 0;
        }
    }
    if (removed) {
        db_modified(c, c->argv[1], c->lens[1]);
        if (gone)
            ks_delete(c->k, c->argv[1], c->lens[1]);
        cmd_notify(c, NOTIFY_SET, "srem", c->argv[1], c->lens[1]);
        if (gone)
            cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[1], c->lens[1]);
    }
    reply_int(&c->r, removed);
}

static void cmd_smove(cmd_ctx *c)
{
    kobj *src = db_write(c, c->argv[1], c->lens[1]);
    kobj *dst = db_write(c, c->argv[2], c->lens[2]);
    if (!src) {
        reply_int(&c->r, 0);
        return;
    }
    if (kobj_type(src) != KT_SET || (dst && kobj_type(dst) != KT_SET)) {
        reply_err_wrongtype(&c->r);
        return;
    }
    const char *m = c->argv[3];
    size_t n = c->lens[3];
    if (src == dst) {
        reply_int(&c->r, set_contains(kobj_set(src), m, n));
        return;
    }
    if (!kobj_set_remove(src, m, n)) {
        reply_int(&c->r, 0);
        return;
    }
    db_modified(c, c->argv[1], c->lens[1]);
    cmd_notify(c, NOTIFY_SET, "srem", c->argv[1], c->lens[1]);
    if (set_len(kobj_set(src)) == 0) {
        ks_delete(c->k, c->argv[1], c->lens[1]);
        cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[1], c->lens[1]);
    }
    dst = ks_find(c->k, c->argv[2], c->lens[2]);
    if (!dst) {
        dst = ks_add_set(c->k, c->argv[2], c->lens[2], set_new_for(m, n));
        cmd_notify_new(c, c->argv[2], c->lens[2]);
    }
    if (kobj_set_add(dst, m, n)) {
        db_modified(c, c->argv[2], c->lens[2]);
        cmd_notify(c, NOTIFY_SET, "sadd", c->argv[2], c->lens[2]);
    }
    reply_int(&c->r, 1);
}

/* ---- SISMEMBER / SMISMEMBER / SCARD / SMEMBERS ---- */

static void cmd_sismember(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_set(c, 1, 0, &wrong);
    if (wrong)
        return;
    reply_int(&c->r, o && set_contains(kobj_set(o), c->argv[2], c->lens[2]));
}

static void cmd_smismember(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_set(c, 1, 0, &wrong);
    if (wrong)
        return;
    reply_array(&c->r, c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        reply_int(&c->r, o && set_contains(kobj_set(o), c->argv[i], c->lens[i]));
}

static void cmd_scard(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_set(c, 1, 0, &wrong);
    if (wrong)
        return;
    reply_int(&c->r, o ? (long long)set_len(kobj_set(o)) : 0);
}

/* ---- SPOP / SRANDMEMBER ---- */

/* Without a configured output buffer limit Redis would build a reply of
 * any size; kvnode stops there. */
#define RAND_REPLY_MAX ((size_t)1 << 30)

static void spop_with_count(cmd_ctx *c)
{
    long long l;
    if (arg_ll_msg(c, 2, &l, "ERR value is out of range, must be positive") < 0)
        return;
    if (l < 0) {
        reply_error(&c->r, "ERR value is out of range, must be positive");
        return;
    }
    int wrong;
    kobj *o = lookup_set(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o || l == 0) {
        reply_set(&c->r, 0);
        return;
    }
    kv_set *s = kobj_set(o);
    size_t size = set_len(s), count = (size_t)l;
    cmd_notify(c, NOTIFY_SET, "spop", c->argv[1], c->lens[1]);
    if (count >= size) {
        /* The whole set: reply it, delete the key, log a DEL. */
        reply_members(c, s);
        db_modified(c, c->argv[1], c->lens[1]);
        ks_delete(c->k, c->argv[1], c->lens[1]);
        cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[1], c->lens[1]);
        const char *argv[2] = {"DEL", c->argv[1]};
        size_t lens[2] = {3, c->lens[1]};
        cmd_propagate(c, 2, argv, lens);
        return;
    }
    /* Pop count random members one at a time, keeping copies of them for
     * the logged SREM (and the reply). */
    const char **argv = kv_malloc((count + 2) * sizeof *argv);
    size_t *lens = kv_malloc((count + 2) * sizeof *lens);
    argv[0] = "SREM";
    lens[0] = 4;
    argv[1] = c->argv[1];
    lens[1] = c->lens[1];
    reply_set(&c->r, (long)count);
    for (size_t i = 0; i < count; i++) {
        const char *m;
        size_t n;
        char buf[SET_NUMBUF];
        set_random(kobj_set(o), cmd_random(), &m, &n, buf);
        char *copy = kv_memdup(m, n);
        kobj_set_remove(o, copy, n);
        reply_bulk(&c->r, copy, n);
        argv[i + 2] = copy;
        lens[i + 2] = n;
    }
    db_modified(c, c->argv[1], c->lens[1]);
    cmd_propagate(c, (int)count + 2, argv, lens);
    for (size_t i = 0; i < count; i++)
        kv_free((char *)argv[i + 2]);
    kv_free(argv);
    kv_free(lens);
}

static void cmd_spop(cmd_ctx *c)
{
    if (c->argc == 3) {
        spop_with_count(c);
        return;
    }
    if (c->argc > 3) {
        reply_err_syntax(&c->r);
        return;
    }
    int wrong;
    kobj *o = lookup_set(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_null(&c->r);
        return;
    }
    const char *m;
    size_t n;
    char buf[SET_NUMBUF];
    set_random(kobj_set(o), cmd_random(), &m, &n, buf);
    char *copy = kv_memdup(m, n);
    kobj_set_remove(o, copy, n);
    reply_bulk(&c->r, copy, n);
    db_modified(c, c->argv[1], c->lens[1]);
    cmd_notify(c, NOTIFY_SET, "spop", c->argv[1], c->lens[1]);
    const char *argv[3] = {"SREM", c->argv[1], copy};
    size_t lens[3] = {4, c->lens[1], n};
    cmd_propagate(c, 3, argv, lens);
    kv_free(copy);
    if (set_len(kobj_set(o)) == 0) {
        ks_delete(c->k, c->argv[1], c->lens[1]);
        cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[1], c->lens[1]);
    }
}

/* A set of member copies, for sampling distinct members: open
 * addressing over (bytes, length). */
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

/* 1 if m was added, 0 if it was already there. */
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

static void srandmember_with_count(cmd_ctx *c)
{
    long long l;
    if (arg_ll(c, 2, &l) < 0)
        return;
    if (l == LLONG_MIN) {
        reply_error(&c->r, "ERR value is out of range, value must between "
                           "-9223372036854775807 and 9223372036854775807");
        return;
    }
    int wrong;
    kobj *o = lookup_set(c, 1, 0, &wrong);
    if (wrong)
        return;
    if (!o || l == 0) {
        reply_empty_array(&c->r);
        return;
    }
    kv_set *s = kobj_set(o);
    size_t size = set_len(s);
    unsigned long long count = l < 0 ? (unsigned long long)-l : (unsigned long long)l;
    const char *m;
    size_t n;
    char buf[SET_NUMBUF];
    if (l < 0 || count == 1) {
        /* Members may repeat: count independent picks. */
        reply_array(&c->r, (long)count);
        for (unsigned long long i = 0; i < count; i++) {
            set_random(s, cmd_random(), &m, &n, buf);
            reply_bulk(&c->r, m, n);
            if ((i & 1023) == 1023 && cmd_reply_over_limit(c, RAND_REPLY_MAX))
                return;
        }
        return;
    }
    set_iter it;
    if (count >= size) {
        reply_array(&c->r, (long)size);
        set_iter_init(&it, s);
        while (set_iter_next(&it, &m, &n))
            reply_bulk(&c->r, m, n);
        set_iter_done(&it);
        return;
    }
    reply_array(&c->r, (long)count);
    if (count * 3 > size) {
        /* Selection sampling over one pass: every count-subset is equally
         * likely. */
        size_t seen = 0, picked = 0;
        set_iter_init(&it, s);
        while (picked < count && set_iter_next(&it, &m, &n)) {
            if (cmd_random() % (size - seen) < count - picked) {
                reply_bulk(&c->r, m, n);
                picked++;
            }
            seen++;
        }
        set_iter_done(&it);
        return;
    }
    /* Few of many: random picks until count distinct ones. */
    pickset p;
    pickset_init(&p, (size_t)count);
    for (size_t picked = 0; picked < count;) {
        set_random(s, cmd_random(), &m, &n, buf);
        if (pickset_add(&p, m, n)) {
            reply_bulk(&c->r, m, n);
            picked++;
        }
    }
    pickset_free(&p);
}

static void cmd_srandmember(cmd_ctx *c)
{
    if (c->argc == 3) {
        srandmember_with_count(c);
        return;
    }
    if (c->argc > 3) {
        reply_err_syntax(&c->r);
        return;
    }
    int wrong;
    kobj *o = lookup_set(c, 1, 0, &wrong);
    if (wrong)
        return;
    const char *m;
    size_t n;
    char buf[SET_NUMBUF];
    if (!o || !set_random(kobj_set(o), cmd_random(), &m, &n, buf)) {
        reply_null(&c->r);
        return;
    }
    reply_bulk(&c->r, m, n);
}

/* ---- SINTER / SINTERCARD / SINTERSTORE ---- */

/* Look up the sets at arguments first..first+num-1 for reading: NULL
 * entries for missing keys. Returns NULL (after WRONGTYPE) if any key
 * holds another type; the caller frees the array. */
static kv_set **lookup_sets(cmd_ctx *c, int first, int num, int *missing)
{
    kv_set **sets = kv_malloc((size_t)num * sizeof *sets);
    *missing = 0;
    for (int j = 0; j < num; j++) {
        int wrong;
        kobj *o = lookup_set(c, first + j, 0, &wrong);
        if (wrong) {
            kv_free(sets);
            return NULL;
        }
        sets[j] = o ? kobj_set(o) : NULL;
        *missing += !o;
    }
    return sets;
}

static int by_size(const void *a, const void *b)
{
    size_t x = set_len(*(kv_set *const *)a), y = set_len(*(kv_set *const *)b);
    return x < y ? -1 : x > y;
}

enum { INTER_REPLY, INTER_CARD, INTER_STORE };

/* The intersection of the sets at arguments first.. (num of them), as
 * Redis's sinterGenericCommand: members of the smallest set found in all
 * the others. mode: reply the members, their count (up to limit, 0 = no
 * limit), or store them at argument dst. */
static void sinter_generic(cmd_ctx *c, int first, int num, int mode, int dst,
                           unsigned long long limit)
{
    int missing;
    kv_set **sets = lookup_sets(c, first, num, &missing);
    if (!sets)
        return;
    if (missing) {
        kv_free(sets);
        if (mode == INTER_STORE) {
            if (db_delete(c, c->argv[dst], c->lens[dst]))
                cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[dst], c->lens[dst]);
            reply_int(&c->r, 0);
        } else if (mode == INTER_CARD) {
            reply_int(&c->r, 0);
        } else {
            reply_set(&c->r, 0);
        }
        return;
    }
    qsort(sets, (size_t)num, sizeof *sets, by_size);
    kv_set *out = mode == INTER_STORE ? set_new() : NULL;
    reply_deferred d = 0;
    if (mode == INTER_REPLY)
        d = reply_defer(&c->r);
    unsigned long long card = 0;
    set_iter it;
    const char *m;
    size_t n;
    set_iter_init(&it, sets[0]);
    while (set_iter_next(&it, &m, &n)) {
        int j;
        for (j = 1; j < num; j++)
            if (sets[j] != sets[0] && !set_contains(sets[j], m, n))
                break;
        if (j < num)
            continue;
        card++;
        if (mode == INTER_REPLY)
            reply_bulk(&c->r, m, n);
        else if (mode == INTER_STORE)
            set_add(&out, m, n);
        else if (limit && card >= limit)
            break;
    }
    set_iter_done(&it);
    kv_free(sets);
    if (mode == INTER_REPLY)
        reply_set_set_len(&c->r, d, (long)card);
    else if (mode == INTER_CARD)
        reply_int(&c->r, (long long)card);
    else
        reply_int(&c->r, (long long)store_set(c, dst, out, "sinterstore"));
}

static void cmd_sinter(cmd_ctx *c)
{
    sinter_generic(c, 1, c->argc - 1, INTER_REPLY, 0, 0);
}

static void cmd_sinterstore(cmd_ctx *c)
{
    sinter_generic(c, 2, c->argc - 2, INTER_STORE, 1, 0);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
static void cmd_sintercard(cmd_ctx *c)
{
    long long numkeys, limit = 0;
    if (arg_ll_msg(c, 1, &numkeys, "ERR numkeys should be greater than 0") < 0)
        return;
    if (numkeys < 1) {
        reply_error(&c->r, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        reply_error(&c->r, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (arg_is_c(c, j, "LIMIT") && j + 1 < c->argc) {
            j++;
            if (arg_ll_msg(c, j, &limit, "ERR LIMIT can't be negative") < 0)
                return;
            if (limit < 0) {
                reply_error(&c->r, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    sinter_generic(c, 2, (int)numkeys, INTER_CARD, 0, (unsigned long long)limit);
}

/* ---- SUNION / SDIFF and their STORE forms ---- */

/* Redis's sunionDiffGenericCommand: the result is built in a fresh
 * (intset-first) set, then replied or stored at argument dst (dst 0:
 * reply). A missing key is an empty set. */
static void sunion_diff_generic(cmd_ctx *c, int first, int num, int diff, int dst)
{
    int missing;
    kv_set **sets = lookup_sets(c, first, num, &missing);
    if (!sets)
        return;
    kv_set *out = set_new();
    set_iter it;
    const char *m;
    size_t n;
    if (!diff) {
        for (int j = 0; j < num; j++) {
            if (!sets[j])
                continue;
            set_iter_init(&it, sets[j]);
            while (set_iter_next(&it, &m, &n))
                set_add(&out, m, n);
            set_iter_done(&it);
        }
    } else if (sets[0]) {
        int same = 0;
        for (int j = 1; j < num; j++)
            same |= sets[j] == sets[0];
        if (!same) {
            set_iter_init(&it, sets[0]);
            while (set_iter_next(&it, &m, &n)) {
                int j;
                for (j = 1; j < num; j++)
                    if (sets[j] && set_contains(sets[j], m, n))
                        break;
                if (j == num)
                    set_add(&out, m, n);
            }
            set_iter_done(&it);
        }
    }
    kv_free(sets);
    if (!dst) {
        reply_members(c, out);
        set_free(out);
        return;
    }
    reply_int(&c->r, (long long)store_set(c, dst, out, diff ? "sdiffstore" : "sunionstore"));
}

static void cmd_sunion(cmd_ctx *c)
{
    sunion_diff_generic(c, 1, c->argc - 1, 0, 0);
}

static void cmd_sunionstore(cmd_ctx *c)
{
    sunion_diff_generic(c, 2, c->argc - 2, 0, 1);
}

static void cmd_sdiff(cmd_ctx *c)
{
    sunion_diff_generic(c, 1, c->argc - 1, 1, 0);
}

static void cmd_sdiffstore(cmd_ctx *c)
{
    sunion_diff_generic(c, 2, c->argc - 2, 1, 1);
}

/* ---- SMEMBERS ---- */

static void cmd_smembers(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_set(c, 1, 0, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_set(&c->r, 0);
        return;
    }
    reply_members(c, kobj_set(o));
}

/* ---- SSCAN key cursor [MATCH pattern] [COUNT count] ---- */

typedef struct scan_acc {
    kbuf bytes;
    size_t *lens;
    size_t n, cap;
} scan_acc;

static void scan_collect(void *arg, const char *m, size_t n)
{
    scan_acc *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->lens = kv_realloc(a->lens, a->cap * sizeof *a->lens);
    }
    kbuf_append(&a->bytes, m, n);
    a->lens[a->n++] = n;
}

static void cmd_sscan(cmd_ctx *c)
{
    uint64_t cursor;
    if (arg_cursor(c, 2, &cursor) < 0)
        return;
    int wrong;
    kobj *o = lookup_set(c, 1, 0, &wrong);
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
    kv_set *s = kobj_set(o);
    scan_acc a;
    memset(&a, 0, sizeof a);
    long long steps = so.count > LLONG_MAX / 10 ? LLONG_MAX : so.count * 10;
    do {
        cursor = set_scan(s, cursor, scan_collect, &a);
    } while (cursor && steps-- && a.n < (unsigned long long)so.count);
    reply_array(&c->r, 2);
    reply_bulk_ll(&c->r, (long long)cursor);
    reply_deferred d = reply_defer(&c->r);
    long kept = 0;
    const char *m = kbuf_data(&a.bytes);
    for (size_t i = 0; i < a.n; m += a.lens[i], i++) {
        if (so.pat && !kv_match(so.pat, so.patlen, m, a.lens[i], 0))
            continue;
        reply_bulk(&c->r, m, a.lens[i]);
        kept++;
    }
    reply_set_array_len(&c->r, d, kept);
    kbuf_free(&a.bytes);
    kv_free(a.lens);
}

const kv_command cmds_set[] = {
    {"sadd", cmd_sadd, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "set",
     "Add one or more members to a set", "1.0.0", "@write @set @fast"},
    {"srem", cmd_srem, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "set",
     "Remove one or more members from a set", "1.0.0", "@write @set @fast"},
    {"smove", cmd_smove, 4, CMD_WRITE | CMD_FAST, 1, 2, 1, "set",
     "Move a member from one set to another", "1.0.0", "@write @set @fast"},
    {"sismember", cmd_sismember, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "set",
     "Determine if a given value is a member of a set", "1.0.0", "@read @set @fast"},
    {"smismember", cmd_smismember, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, "set",
     "Returns the membership associated with the given elements for a set", "6.2.0",
     "@read @set @fast"},
    {"scard", cmd_scard, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "set",
     "Get the number of members in a set", "1.0.0", "@read @set @fast"},
    {"smembers", cmd_smembers, 2, CMD_READONLY, 1, 1, 1, "set", "Get all the members in a set",
     "1.0.0", "@read @set @slow"},
    {"spop", cmd_spop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "set",
     "Remove and return one or multiple random members from a set", "1.0.0",
     "@write @set @fast"},
    {"srandmember", cmd_srandmember, -2, CMD_READONLY, 1, 1, 1, "set",
     "Get one or multiple random members from a set", "1.0.0", "@read @set @slow"},
    {"sinter", cmd_sinter, -2, CMD_READONLY, 1, -1, 1, "set", "Intersect multiple sets",
     "1.0.0", "@read @set @slow"},
    {"sintercard", cmd_sintercard, -3, CMD_READONLY, 0, 0, 0, "set",
     "Intersect multiple sets and return the cardinality of the result", "7.0.0",
     "@read @set @slow"},
    {"sinterstore", cmd_sinterstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, "set",
     "Intersect multiple sets and store the resulting set in a key", "1.0.0",
     "@write @set @slow"},
    {"sunion", cmd_sunion, -2, CMD_READONLY, 1, -1, 1, "set", "Add multiple sets", "1.0.0",
     "@read @set @slow"},
    {"sunionstore", cmd_sunionstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, "set",
     "Add multiple sets and store the resulting set in a key", "1.0.0", "@write @set @slow"},
    {"sdiff", cmd_sdiff, -2, CMD_READONLY, 1, -1, 1, "set", "Subtract multiple sets", "1.0.0",
     "@read @set @slow"},
    {"sdiffstore", cmd_sdiffstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, "set",
     "Subtract multiple sets and store the resulting set in a key", "1.0.0",
     "@write @set @slow"},
    {"sscan", cmd_sscan, -3, CMD_READONLY, 1, 1, 1, "set", "Incrementally iterate Set elements",
     "2.6.0", "@read @set @slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
