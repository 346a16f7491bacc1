/* cmd_list.c — list commands, with Redis 7.0's replies, errors and order
 * of checks (t_list.c).
 *
 * Values are kv_list (tlist.h); Redis's negative indexes are normalized
 * here. A list whose last element goes is deleted in the same command, so
 * no empty list is ever left in the keyspace. Every command here is
 * deterministic given the keyspace, so a dirty one is logged as its own
 * argv; one that changed nothing is not dirty. LTRIM is the exception
 * Redis makes visible: it invalidates WATCH on the key even when it trims
 * nothing, without being logged.
 *
 * Keyspace events as Redis 7.0's t_list.c: "new", "lpush"/"rpush" (after
 * the reply), "lpop"/"rpop" (after it), "lset", "linsert", "lrem",
 * "ltrim" (even when nothing was trimmed), and "del" when a list empties;
 * LMOVE announces the push on the destination before its reply and the
 * pop on the source after it.
 *
 * Never dereferences c->cl: the same code runs when the log is replayed. */

#include "cmd.h"
#include "mem.h"
#include "reply.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- helpers ---- */

/* The list at argument i: NULL if missing; *wrong set (and WRONGTYPE
 * replied) if the key holds another type. write picks db_write. */
static kobj *lookup_list(cmd_ctx *c, int i, int write, int *wrong)
{
    *wrong = 0;
    kobj *o = write ? db_write(c, c->argv[i], c->lens[i]) : db_read(c, c->argv[i], c->lens[i]);
    if (o && kobj_type(o) != KT_LIST) {
        reply_err_wrongtype(&c->r);
        *wrong = 1;
        return NULL;
    }
    return o;
}

/* After changing the list at argument i: signal it, announce `event`, and
 * delete the key (announcing "del") if the list is now empty. */
static void list_changed(cmd_ctx *c, int i, kv_list *l, const char *event)
{
    db_modified(c, c->argv[i], c->lens[i]);
    cmd_notify(c, NOTIFY_LIST, event, c->argv[i], c->lens[i]);
    if (list_len(l) == 0) {
        ks_delete(c->k, c->argv[i], c->lens[i]);
        cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[i], c->lens[i]);
    }
}

/* Redis's index rule (quicklistGetIteratorAtIdx): negative counts from the
 * tail. 1 and the position if it is inside a list of len elements. */
static int list_index(long long idx, size_t len, size_t *at)
{
    if (idx < 0) {
        if (idx < -(long long)len)
            return 0;
        *at = (size_t)((long long)len + idx);
        return 1;
    }
    if ((unsigned long long)idx >= len)
        return 0;
    *at = (size_t)idx;
    return 1;
}

/* Redis's range rule (LRANGE, LTRIM): negative indexes from the tail,
 * start clamped at 0, end at len - 1. 1 and [*from, *to] if the range is
 * not empty. */
static int list_range(long long start, long long end, size_t len, size_t *from, size_t *to)
{
    long long llen = (long long)len;
    if (start < 0)
        start += llen;
    if (end < 0)
        end += llen;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen)
        return 0;
    if (end >= llen)
        end = llen - 1;
    *from = (size_t)start;
    *to = (size_t)end;
    return 1;
}

static int list_elem_is(const kv_list *l, size_t idx, const char *p, size_t n)
{
    const char *e;
    size_t en;
    list_get(l, idx, &e, &en);
    return en == n && (n == 0 || memcmp(e, p, n) == 0);
}

static void reply_elem(cmd_ctx *c, const kv_list *l, size_t idx)
{
    const char *p;
    size_t n;
    list_get(l, idx, &p, &n);
    reply_bulk(&c->r, p, n);
}

/* Reply elements [from, to] as an array, tail first if reverse. */
static void reply_range(cmd_ctx *c, const kv_list *l, size_t from, size_t to, int reverse)
{
    size_t n = to - from + 1;
    reply_array(&c->r, (long)n);
    for (size_t i = 0; i < n; i++)
        reply_elem(c, l, reverse ? to - i : from + i);
}

/* "LEFT" / "RIGHT" (LMOVE's wherefrom / whereto); syntax error otherwise. */
static int parse_side(cmd_ctx *c, int i, int *where)
{
    if (arg_is(c, i, "left"))
        *where = LIST_HEAD;
    else if (arg_is(c, i, "right"))
        *where = LIST_TAIL;
    else {
        reply_err_syntax(&c->r);
        return -1;
    }
    return 0;
}

/* A count that must be >= 0 (Redis's getPositiveLongFromObjectOrReply):
 * both a parse failure and a negative value reply msg. */
static int parse_nonneg(cmd_ctx *c, int i, long long *out, const char *msg)
{
    long long v;
    if (!kv_string2ll(c->argv[i], c->lens[i], &v) || v < 0) {
        reply_error(&c->r, msg);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- LPUSH / RPUSH / LPUSHX / RPUSHX ---- */

static void push_generic(cmd_ctx *c, int where, int xx)
{
    int wrong;
    kobj *o = lookup_list(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        if (xx) {
            reply_int(&c->r, 0);
            return;
        }
        o = ks_add_list(c->k, c->argv[1], c->lens[1]);
        cmd_notify_new(c, c->argv[1], c->lens[1]);
    }
    kv_list *l = kobj_list(o);
    for (int j = 2; j < c->argc; j++)
        list_push(l, where, c->argv[j], c->lens[j]);
    db_modified(c, c->argv[1], c->lens[1]);
    reply_int(&c->r, (long long)list_len(l));
    cmd_notify(c, NOTIFY_LIST, where == LIST_HEAD ? "lpush" : "rpush", c->argv[1], c->lens[1]);
}

static void cmd_lpush(cmd_ctx *c)
{
    push_generic(c, LIST_HEAD, 0);
}

static void cmd_rpush(cmd_ctx *c)
{
    push_generic(c, LIST_TAIL, 0);
}

static void cmd_lpushx(cmd_ctx *c)
{
    push_generic(c, LIST_HEAD, 1);
}

static void cmd_rpushx(cmd_ctx *c)
{
    push_generic(c, LIST_TAIL, 1);
}

/* ---- LPOP / RPOP key [count] ---- */

static void pop_generic(cmd_ctx *c, int where)
{
    int hascount = c->argc == 3;
    long long count = 0;
    if (c->argc > 3) {
        reply_err_arity(&c->r, c->cmd->name);
        return;
    }
    if (hascount && parse_nonneg(c, 2, &count, "ERR value is out of range, must be positive") < 0)
        return;
    int wrong;
    kobj *o = lookup_list(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        if (hascount)
            reply_null_array(&c->r);
        else
            reply_null(&c->r);
        return;
    }
    if (hascount && count == 0) {
        reply_empty_array(&c->r);
        return;
    }
    kv_list *l = kobj_list(o);
    size_t len = list_len(l);
    if (!hascount) {
        size_t at = where == LIST_HEAD ? 0 : len - 1;
        reply_elem(c, l, at);
        list_remove(l, at, 1);
    } else {
        size_t n = (unsigned long long)count > len ? len : (size_t)count;
        size_t from = where == LIST_HEAD ? 0 : len - n;
        reply_range(c, l, from, from + n - 1, where == LIST_TAIL);
        list_remove(l, from, n);
    }
    list_changed(c, 1, l, where == LIST_HEAD ? "lpop" : "rpop");
}

static void cmd_lpop(cmd_ctx *c)
{
    pop_generic(c, LIST_HEAD);
}

static void cmd_rpop(cmd_ctx *c)
{
    pop_generic(c, LIST_TAIL);
}

/* ---- LLEN / LINDEX / LRANGE ---- */

static void cmd_llen(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_list(c, 1, 0, &wrong);
    if (wrong)
        return;
    reply_int(&c->r, o ? (long long)list_len(kobj_list(o)) : 0);
}

static void cmd_lindex(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_list(c, 1, 0, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_null(&c->r);
        return;
    }
    long long idx;
    if (arg_ll(c, 2, &idx) < 0)
        return;
    kv_list *l = kobj_list(o);
    size_t at;
    if (list_index(idx, list_len(l), &at))
        reply_elem(c, l, at);
    else
        reply_null(&c->r);
}

static void cmd_lrange(cmd_ctx *c)
{
    long long start, end;
    if (arg_ll(c, 2, &start) < 0 || arg_ll(c, 3, &end) < 0)
        return;
    int wrong;
    kobj *o = lookup_list(c, 1, 0, &wrong);
    if (wrong)
        return;
    size_t from, to;
    if (!o || !list_range(start, end, list_len(kobj_list(o)), &from, &to)) {
        reply_empty_array(&c->r);
        return;
    }
    reply_range(c, kobj_list(o), from, to, 0);
}

/* ---- LSET / LINSERT ---- */

static void cmd_lset(cmd_ctx *c)
{
    int wrong;
    kobj *o = lookup_list(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_error(&c->r, KV_ERR_NOSUCHKEY);
        return;
    }
    long long idx;
    if (arg_ll(c, 2, &idx) < 0)
        return;
    kv_list *l = kobj_list(o);
    size_t at;
    if (!list_index(idx, list_len(l), &at)) {
        reply_error(&c->r, KV_ERR_OUTOFRANGE);
        return;
    }
    list_set(l, at, c->argv[3], c->lens[3]);
    db_modified(c, c->argv[1], c->lens[1]);
    reply_ok(&c->r);
    cmd_notify(c, NOTIFY_LIST, "lset", c->argv[1], c->lens[1]);
}

static void cmd_linsert(cmd_ctx *c)
{
    int after;
    if (arg_is(c, 2, "after"))
        after = 1;
    else if (arg_is(c, 2, "before"))
        after = 0;
    else {
        reply_err_syntax(&c->r);
        return;
    }
    int wrong;
    kobj *o = lookup_list(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    kv_list *l = kobj_list(o);
    size_t len = list_len(l);
    for (size_t i = 0; i < len; i++) {
        if (list_elem_is(l, i, c->argv[3], c->lens[3])) {
            list_insert(l, i + (size_t)after, c->argv[4], c->lens[4]);
            db_modified(c, c->argv[1], c->lens[1]);
            cmd_notify(c, NOTIFY_LIST, "linsert", c->argv[1], c->lens[1]);
            reply_int(&c->r, (long long)list_len(l));
            return;
        }
    }
    reply_int(&c->r, -1);
}

/* ---- LREM / LTRIM ---- */

static void cmd_lrem(cmd_ctx *c)
{
    long long count;
    if (arg_ll(c, 2, &count) < 0)
        return;
    int wrong;
    kobj *o = lookup_list(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    kv_list *l = kobj_list(o);
    /* count < 0 scans from the tail. LLONG_MIN has no positive form: in
     * Redis it stays negative and never equals the number removed, so
     * every match goes — limit 0 here. */
    int from = count < 0 ? LIST_TAIL : LIST_HEAD;
    size_t limit = count == LLONG_MIN ? 0
                   : count < 0        ? (size_t)-count
                                      : (size_t)count;
    size_t removed = list_remove_equal(l, c->argv[3], c->lens[3], limit, from);
    if (removed)
        list_changed(c, 1, l, "lrem");
    reply_int(&c->r, (long long)removed);
}

static void cmd_ltrim(cmd_ctx *c)
{
    long long start, end;
    if (arg_ll(c, 2, &start) < 0 || arg_ll(c, 3, &end) < 0)
        return;
    int wrong;
    kobj *o = lookup_list(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_ok(&c->r);
        return;
    }
    kv_list *l = kobj_list(o);
    size_t len = list_len(l), from, to, ltrim, rtrim;
    if (list_range(start, end, len, &from, &to)) {
        ltrim = from;
        rtrim = len - to - 1;
    } else {
        ltrim = len;
        rtrim = 0;
    }
    if (ltrim + rtrim) {
        list_remove(l, len - rtrim, rtrim);
        list_remove(l, 0, ltrim);
        list_changed(c, 1, l, "ltrim");
    } else {
        /* Redis signals the key even when nothing was trimmed (WATCH
         * sees it, and so does a subscriber to "ltrim") but does not
         * count it dirty: nothing to log. */
        db_touched(c, c->argv[1], c->lens[1]);
        cmd_notify(c, NOTIFY_LIST, "ltrim", c->argv[1], c->lens[1]);
    }
    reply_ok(&c->r);
}

/* ---- LPOS key element [RANK rank] [COUNT num] [MAXLEN len] ---- */

static void cmd_lpos(cmd_ctx *c)
{
    long long rank = 1, count = -1, maxlen = 0;
    for (int j = 3; j < c->argc; j++) {
        int more = j + 1 < c->argc;
        if (more && arg_is(c, j, "rank")) {
            if (arg_ll(c, ++j, &rank) < 0)
                return;
            if (rank == 0) {
                reply_error(&c->r, "ERR RANK can't be zero: use 1 to start from the first "
                                   "match, 2 from the second ... or use negative to start "
                                   "from the end of the list");
                return;
            }
        } else if (more && arg_is(c, j, "count")) {
            if (parse_nonneg(c, ++j, &count, "ERR COUNT can't be negative") < 0)
                return;
        } else if (more && arg_is(c, j, "maxlen")) {
            if (parse_nonneg(c, ++j, &maxlen, "ERR MAXLEN can't be negative") < 0)
                return;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    int from_tail = rank < 0;
    /* Redis negates the rank; LLONG_MIN stays negative there, so every
     * match counts as past the rank and COUNT never stops the scan. */
    int rank_wraps = rank == LLONG_MIN;
    if (from_tail && !rank_wraps)
        rank = -rank;
    int wrong;
    kobj *o = lookup_list(c, 1, 0, &wrong);
    if (wrong)
        return;
    if (!o) {
        if (count != -1)
            reply_empty_array(&c->r);
        else
            reply_null(&c->r);
        return;
    }
    kv_list *l = kobj_list(o);
    size_t len = list_len(l);
    reply_deferred d = 0;
    if (count != -1)
        d = reply_defer(&c->r);
    long long matches = 0, found = -1, emitted = 0;
    for (size_t i = 0; i < len && (maxlen == 0 || (long long)i < maxlen); i++) {
        size_t at = from_tail ? len - 1 - i : i;
        if (!list_elem_is(l, at, c->argv[2], c->lens[2]))
            continue;
        matches++;
        if (!rank_wraps && matches < rank)
            continue;
        if (count == -1) {
            found = (long long)at;
            break;
        }
        reply_int(&c->r, (long long)at);
        emitted++;
        if (count && !rank_wraps && matches - rank + 1 >= count)
            break;
    }
    if (count != -1)
        reply_set_array_len(&c->r, d, (long)emitted);
    else if (found >= 0)
        reply_int(&c->r, found);
    else
        reply_null(&c->r);
}

/* ---- LMOVE / RPOPLPUSH ---- */

static void move_generic(cmd_ctx *c, int wherefrom, int whereto)
{
    int wrong;
    kobj *src = lookup_list(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!src) {
        reply_null(&c->r);
        return;
    }
    kobj *dst = lookup_list(c, 2, 1, &wrong);
    if (wrong)
        return;
    kv_list *sl = kobj_list(src);
    size_t at = wherefrom == LIST_HEAD ? 0 : list_len(sl) - 1;
    const char *p;
    size_t n;
    list_get(sl, at, &p, &n);
    /* The element moves out of the source before it is pushed (the two
     * may be one list): keep a copy. */
    char stack[256];
    char *v = n <= sizeof stack ? stack : kv_malloc(n);
    memcpy(v, p, n);
    list_remove(sl, at, 1);
    if (!dst) {
        dst = ks_add_list(c->k, c->argv[2], c->lens[2]);
        cmd_notify_new(c, c->argv[2], c->lens[2]);
    }
    kv_list *dl = kobj_list(dst);
    list_push(dl, whereto, v, n);
    db_modified(c, c->argv[2], c->lens[2]);
    cmd_notify(c, NOTIFY_LIST, whereto == LIST_HEAD ? "lpush" : "rpush", c->argv[2],
               c->lens[2]);
    reply_bulk(&c->r, v, n);
    if (v != stack)
        kv_free(v);
    list_changed(c, 1, sl, wherefrom == LIST_HEAD ? "lpop" : "rpop");
}

static void cmd_lmove(cmd_ctx *c)
{
    int wherefrom, whereto;
    if (parse_side(c, 3, &wherefrom) < 0 || parse_side(c, 4, &whereto) < 0)
        return;
    move_generic(c, wherefrom, whereto);
}

static void cmd_rpoplpush(cmd_ctx *c)
{
    move_generic(c, LIST_TAIL, LIST_HEAD);
}

/* ---- LMPOP and the blocking pops ---- */

/* Pop one element (count -1: BLPOP's [key, element]) or up to count
 * (LMPOP's [key, [elements]]) from the list o at argument i, and log the
 * non-blocking equivalent: "LPOP key" or "LPOP key <n popped>", as Redis
 * rewrites the command it propagates. */
static void mpop_reply(cmd_ctx *c, int i, kobj *o, int where, long long count)
{
    kv_list *l = kobj_list(o);
    size_t len = list_len(l);
    const char *name = where == LIST_HEAD ? "LPOP" : "RPOP";
    reply_array(&c->r, 2);
    reply_bulk(&c->r, c->argv[i], c->lens[i]);
    if (count < 0) {
        size_t at = where == LIST_HEAD ? 0 : len - 1;
        reply_elem(c, l, at);
        list_remove(l, at, 1);
        const char *argv[2] = {name, c->argv[i]};
        size_t lens[2] = {4, c->lens[i]};
        cmd_propagate(c, 2, argv, lens);
    } else {
        size_t n = (unsigned long long)count > len ? len : (size_t)count;
        size_t from = where == LIST_HEAD ? 0 : len - n;
        reply_range(c, l, from, from + n - 1, where == LIST_TAIL);
        list_remove(l, from, n);
        char num[24];
        int nl = snprintf(num, sizeof num, "%zu", n);
        const char *argv[3] = {name, c->argv[i], num};
        size_t lens[3] = {4, c->lens[i], (size_t)nl};
        cmd_propagate(c, 3, argv, lens);
    }
    list_changed(c, i, l, where == LIST_HEAD ? "lpop" : "rpop");
}

/* Redis's blockingPopGenericCommand / mpopGenericCommand over the keys
 * first..first+num-1: pop from the first that holds a list; else a null
 * array, or (block) ask to block until one does. */
static void bpop_generic(cmd_ctx *c, int first, int num, int where, long long count,
                         int block, int64_t deadline)
{
    for (int j = first; j < first + num; j++) {
        if (!cmd_block_key_active(c, j))
            continue;
        int wrong;
        kobj *o = lookup_list(c, j, 1, &wrong);
        if (wrong)
            return;
        if (o) {
            mpop_reply(c, j, o, where, count);
            return;
        }
    }
    if (!block || c->deny_blocking)
        reply_null_array(&c->r);
    else
        cmd_block(c, KT_LIST, first, num, deadline);
}

static void blpop_generic(cmd_ctx *c, int where)
{
    int64_t deadline;
    if (arg_timeout(c, c->argc - 1, &deadline) < 0)
        return;
    bpop_generic(c, 1, c->argc - 2, where, -1, 1, deadline);
}

static void cmd_blpop(cmd_ctx *c)
{
    blpop_generic(c, LIST_HEAD);
}

static void cmd_brpop(cmd_ctx *c)
{
    blpop_generic(c, LIST_TAIL);
}

/* [B]LMPOP [timeout] numkeys key [key ...] LEFT|RIGHT [COUNT count], in
 * Redis's order of checks: numkeys, the side, the options, then (BLMPOP)
 * the timeout. */
static void lmpop_generic(cmd_ctx *c, int numkeys_idx, int block)
{
    long long numkeys, count = -1;
    if (!kv_string2ll(c->argv[numkeys_idx], c->lens[numkeys_idx], &numkeys) || numkeys < 1) {
        reply_error(&c->r, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys >= c->argc - numkeys_idx - 1) {
        reply_err_syntax(&c->r);
        return;
    }
    int where_idx = numkeys_idx + (int)numkeys + 1, where;
    if (arg_is_c(c, where_idx, "left")) {
        where = LIST_HEAD;
    } else if (arg_is_c(c, where_idx, "right")) {
        where = LIST_TAIL;
    } else {
        reply_err_syntax(&c->r);
        return;
    }
    for (int j = where_idx + 1; j < c->argc; j++) {
        if (count == -1 && arg_is_c(c, j, "count") && j + 1 < c->argc) {
            j++;
            if (!kv_string2ll(c->argv[j], c->lens[j], &count) || count < 1) {
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
    int64_t deadline = 0;
    if (block && arg_timeout(c, 1, &deadline) < 0)
        return;
    bpop_generic(c, numkeys_idx + 1, (int)numkeys, where, count, block, deadline);
}

static void cmd_lmpop(cmd_ctx *c)
{
    lmpop_generic(c, 1, 0);
}

static void cmd_blmpop(cmd_ctx *c)
{
    lmpop_generic(c, 2, 1);
}

/* BLMOVE / BRPOPLPUSH: LMOVE when the source holds a list (logged as
 * LMOVE / RPOPLPUSH), else block on the source (a null reply where
 * blocking is not allowed). */
static void bmove_generic(cmd_ctx *c, int wherefrom, int whereto, int64_t deadline)
{
    int wrong;
    kobj *src = lookup_list(c, 1, 1, &wrong); /* when served, serve_key is this key */
    if (wrong)
        return;
    if (!src) {
        if (c->deny_blocking)
            reply_null(&c->r);
        else
            cmd_block(c, KT_LIST, 1, 1, deadline);
        return;
    }
    int dirty = c->dirty;
    move_generic(c, wherefrom, whereto);
    if (c->dirty == dirty)
        return; /* the destination held another type */
    if (c->argc == 4) {
        const char *argv[3] = {"RPOPLPUSH", c->argv[1], c->argv[2]};
        size_t lens[3] = {9, c->lens[1], c->lens[2]};
        cmd_propagate(c, 3, argv, lens);
    } else {
        const char *argv[5] = {"LMOVE", c->argv[1], c->argv[2], c->argv[3], c->argv[4]};
        size_t lens[5] = {5, c->lens[1], c->lens[2], c->lens[3], c->lens[4]};
        cmd_propagate(c, 5, argv, lens);
    }
}

static void cmd_blmove(cmd_ctx *c)
{
    int wherefrom, whereto;
    int64_t deadline;
    if (parse_side(c, 3, &wherefrom) < 0 || parse_side(c, 4, &whereto) < 0 ||
        arg_timeout(c, 5, &deadline) < 0)
        return;
    bmove_generic(c, wherefrom, whereto, deadline);
}

static void cmd_brpoplpush(cmd_ctx *c)
{
    int64_t deadline;
    if (arg_timeout(c, 3, &deadline) < 0)
        return;
    bmove_generic(c, LIST_TAIL, LIST_HEAD, deadline);
}

const kv_command cmds_list[] = {
    {"lpush", cmd_lpush, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "list",
     "Prepend one or multiple elements to a list", "1.0.0", "@write @list @fast"},
    {"rpush", cmd_rpush, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "list",
     "Append one or multiple elements to a list", "1.0.0", "@write @list @fast"},
    {"lpushx", cmd_lpushx, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "list",
     "Prepend an element to a list, only if the list exists", "2.2.0", "@write @list @fast"},
    {"rpushx", cmd_rpushx, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "list",
     "Append an element to a list, only if the list exists", "2.2.0", "@write @list @fast"},
    {"lpop", cmd_lpop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "list",
     "Remove and get the first elements in a list", "1.0.0", "@write @list @fast"},
    {"rpop", cmd_rpop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "list",
     "Remove and get the last elements in a list", "1.0.0", "@write @list @fast"},
    {"llen", cmd_llen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "list", "Get the length of a list",
     "1.0.0", "@read @list @fast"},
    {"lindex", cmd_lindex, 3, CMD_READONLY, 1, 1, 1, "list",
     "Get an element from a list by its index", "1.0.0", "@read @list @slow"},
    {"lrange", cmd_lrange, 4, CMD_READONLY, 1, 1, 1, "list",
     "Get a range of elements from a list", "1.0.0", "@read @list @slow"},
    {"lset", cmd_lset, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "list",
     "Set the value of an element in a list by its index", "1.0.0", "@write @list @slow"},
    {"linsert", cmd_linsert, 5, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "list",
     "Insert an element before or after another element in a list", "2.2.0",
     "@write @list @slow"},
    {"lrem", cmd_lrem, 4, CMD_WRITE, 1, 1, 1, "list", "Remove elements from a list", "1.0.0",
     "@write @list @slow"},
    {"ltrim", cmd_ltrim, 4, CMD_WRITE, 1, 1, 1, "list", "Trim a list to the specified range",
     "1.0.0", "@write @list @slow"},
    {"lpos", cmd_lpos, -3, CMD_READONLY, 1, 1, 1, "list",
     "Return the index of matching elements on a list", "6.0.6", "@read @list @slow"},
    {"lmove", cmd_lmove, 5, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "list",
     "Pop an element from a list, push it to another list and return it", "6.2.0",
     "@write @list @slow"},
    {"rpoplpush", cmd_rpoplpush, 3, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "list",
     "Remove the last element in a list, prepend it to another list and return it", "1.2.0",
     "@write @list @slow"},
    {"lmpop", cmd_lmpop, -4, CMD_WRITE, 0, 0, 0, "list",
     "Pop elements from a list", "7.0.0", "@write @list @slow"},
    {"blpop", cmd_blpop, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING, 1, -2, 1, "list",
     "Remove and get the first element in a list, or block until one is available", "2.0.0",
     "@write @list @slow @blocking"},
    {"brpop", cmd_brpop, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING, 1, -2, 1, "list",
     "Remove and get the last element in a list, or block until one is available", "2.0.0",
     "@write @list @slow @blocking"},
    {"brpoplpush", cmd_brpoplpush, 4,
     CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT | CMD_BLOCKING, 1, 2, 1, "list",
     "Pop an element from a list, push it to another list and return it; or block until one "
     "is available",
     "2.2.0", "@write @list @slow @blocking"},
    {"blmove", cmd_blmove, 6, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT | CMD_BLOCKING, 1, 2, 1,
     "list",
     "Pop an element from a list, push it to another list and return it; or block until one "
     "is available",
     "6.2.0", "@write @list @slow @blocking"},
    {"blmpop", cmd_blmpop, -5, CMD_WRITE | CMD_BLOCKING, 0, 0, 0, "list",
     "Pop elements from a list, or block until one is available", "7.0.0",
     "@write @list @slow @blocking"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
