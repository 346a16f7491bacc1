/* cmd_stream.c — stream commands without consumer-group bookkeeping of
 * their own (XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, XINFO)
 * and XREAD / XREADGROUP, with Redis 7.0's replies, errors and order of
 * checks (t_stream.c). Group commands are in cmd_stream_cg.c.
 *
 * Logging, as Redis propagates: XADD with the ID it generated ("*" and
 * "<ms>-*" become the concrete ID) and approximate trimming rewritten as
 * exact ("~ n" -> "= <length after>", MINID "~ id" -> "= <first ID
 * after>", LIMIT dropped), so a replay does the same thing; XTRIM the
 * same way. XREADGROUP logs its effects: XGROUP CREATECONSUMER for a new
 * consumer, XCLAIM ... TIME RETRYCOUNT FORCE JUSTID LASTID per delivered
 * entry, and XGROUP SETID ... ENTRIESREAD when it moved the group's last
 * ID (Redis sends that only with NOACK; always sending it keeps replicas'
 * entries-read exact). Re-delivering history logs XCLAIM ... JUSTID with
 * the new time and count.
 *
 * Blocking: XREAD/XREADGROUP with BLOCK that find nothing ask the server to
 * park the client (cmd_xblock) with "$" replaced by the stream's last ID
 * then and COUNT 1000 when none was given (Redis's
 * XREAD_BLOCKED_DEFAULT_COUNT); the server re-runs that argv when a key
 * changes. Inside MULTI they answer a null array at once.
 *
 * Keyspace events as Redis 7.0: "xadd" (and "xtrim" when XADD trimmed),
 * "xtrim", "xdel", "xsetid", "xgroup-createconsumer"; "new" when XADD
 * creates the key. */

#include "cmd.h"
#include "mem.h"
#include "reply.h"
#include "stream_util.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define XREAD_BLOCKED_DEFAULT_COUNT 1000

/* ---- XADD / XTRIM arguments (streamParseAddOrTrimArgsOrReply) ---- */

typedef struct trim_args {
    int strategy;      /* STRIM_* */
    long long maxlen;
    sid minid;
    int approx;
    long long limit;
    int strategy_arg;  /* index of the MAXLEN count / MINID id */
    int approx_arg;    /* index of "~", or 0 */
    int limit_arg;     /* index of LIMIT, or 0 */
    int nomkstream;
    int nomk_arg;
    int id_given, seq_given;
    sid id;
} trim_args;

static int parse_trim_args(cmd_ctx *c, trim_args *a, int xadd)
{
    memset(a, 0, sizeof *a);
    a->maxlen = -1;
    int limit_given = 0;
    int i = 2;
    for (; i < c->argc; i++) {
        int more = c->argc - 1 - i;
        const char *opt = c->argv[i];
        if (xadd && c->lens[i] == 1 && opt[0] == '*')
            break;
        int is_maxlen = arg_is(c, i, "maxlen"), is_minid = arg_is(c, i, "minid");
        if ((is_maxlen || is_minid) && more) {
            if (a->strategy != STRIM_NONE) {
                reply_error(&c->r, "ERR syntax error, MAXLEN and MINID options at the same time "
                                   "are not compatible");
                return -1;
            }
            a->approx = 0;
            a->approx_arg = 0;
            if (more >= 2 && c->lens[i + 1] == 1 && c->argv[i + 1][0] == '~') {
                a->approx = 1;
                a->approx_arg = i + 1;
                i++;
            } else if (more >= 2 && c->lens[i + 1] == 1 && c->argv[i + 1][0] == '=') {
                i++;
            }
            if (is_maxlen) {
                if (arg_ll(c, i + 1, &a->maxlen) < 0)
                    return -1;
                if (a->maxlen < 0) {
                    reply_error(&c->r, "ERR The MAXLEN argument must be >= 0.");
                    return -1;
                }
                a->strategy = STRIM_MAXLEN;
            } else {
                if (xparse_id(c, i + 1, &a->minid, 0, 1, NULL, 1) < 0)
                    return -1;
                a->strategy = STRIM_MINID;
            }
            i++;
            a->strategy_arg = i;
        } else if (arg_is(c, i, "limit") && more) {
            if (arg_ll(c, i + 1, &a->limit) < 0)
                return -1;
            if (a->limit < 0) {
                reply_error(&c->r, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = 1;
            a->limit_arg = i;
            i++;
        } else if (xadd && arg_is(c, i, "nomkstream")) {
            a->nomkstream = 1;
            a->nomk_arg = i;
        } else if (xadd) {
            if (xparse_id(c, i, &a->id, 0, 1, &a->seq_given, 1) < 0)
                return -1;
            a->id_given = 1;
            break;
        } else {
            reply_err_syntax(&c->r);
            return -1;
        }
    }
    if (limit_given && a->strategy == STRIM_NONE) {
        reply_error(&c->r,
                    "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return -1;
    }
    if (!xadd && a->strategy == STRIM_NONE) {
        reply_error(&c->r, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (c->replay) {
        a->limit = 0; /* as from a master: the logged form is exact */
    } else if (limit_given) {
        if (!a->approx) {
            reply_error(&c->r, "ERR syntax error, LIMIT cannot be used without the special ~ "
                               "option");
            return -1;
        }
    } else if (a->approx) {
        a->limit = 100 * (long long)stream_node_max_entries;
        if (a->limit <= 0 || a->limit > 10000)
            a->limit = 10000;
    } else {
        a->limit = 0;
    }
    return i;
}

/* Log argv with the trim made exact (and LIMIT dropped) and, for XADD,
 * the ID at idpos replaced by id. */
static void log_trim_rewrite(cmd_ctx *c, const trim_args *a, kv_stream *s, int idpos, sid id)
{
    int n = c->argc;
    const char **argv = kv_malloc((size_t)n * sizeof *argv);
    size_t *lens = kv_malloc((size_t)n * sizeof *lens);
    char valbuf[SID_MAXSTR], idbuf[SID_MAXSTR];
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (a->limit_arg && (i == a->limit_arg || i == a->limit_arg + 1))
            continue;
        const char *p = c->argv[i];
        size_t l = c->lens[i];
        if (a->approx && i == a->approx_arg) {
            p = "=";
            l = 1;
        } else if (a->approx && i == a->strategy_arg) {
            if (a->strategy == STRIM_MAXLEN) {
                l = (size_t)snprintf(valbuf, sizeof valbuf, "%llu",
                                     (unsigned long long)stream_len(s));
            } else {
                sid first = stream_len(s) ? stream_first_id(s) : a->minid;
                l = (size_t)sid_fmt(valbuf, first);
            }
            p = valbuf;
        } else if (i == idpos) {
            l = (size_t)sid_fmt(idbuf, id);
            p = idbuf;
        }
        argv[m] = p;
        lens[m] = l;
        m++;
    }
    cmd_propagate(c, m, argv, lens);
    kv_free(argv);
    kv_free(lens);
}

/* ---- XADD ---- */

static void cmd_xadd(cmd_ctx *c)
{
    trim_args a;
    int idpos = parse_trim_args(c, &a, 1);
    if (idpos < 0)
        return;
    int field_pos = idpos + 1;
    if (c->argc - field_pos < 2 || (c->argc - field_pos) % 2 == 1) {
        reply_err_arity(&c->r, "xadd");
        return;
    }
    if (a.id_given && a.seq_given && a.id.ms == 0 && a.id.seq == 0) {
        reply_error(&c->r, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    int wrong;
    kobj *o = xlookup(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o && a.nomkstream) {
        reply_null(&c->r);
        return;
    }
    kv_stream *s = o ? kobj_stream(o) : NULL;
    sid last = s ? stream_last_id(s) : (sid){0, 0};
    if (last.ms == UINT64_MAX && last.seq == UINT64_MAX) {
        reply_error(&c->r,
                    "ERR The stream has exhausted the last possible ID, unable to add more items");
        return;
    }
    sid id;
    if (a.id_given) {
        if (a.seq_given) {
            id = a.id;
        } else if (last.ms == a.id.ms) {
            if (last.seq == UINT64_MAX) {
                /* Redis 7.0 leaves errno unset on this path, so it
                 * answers with its other append error. */
                reply_error(&c->r, "ERR Elements are too large to be stored");
                return;
            }
            id = last;
            id.seq++;
        } else {
            id = a.id;
        }
    } else {
        uint64_t ms = (uint64_t)(c->now_ms < 0 ? 0 : c->now_ms);
        if (ms > last.ms) {
            id.ms = ms;
            id.seq = 0;
        } else {
            id = last;
            sid_incr(&id);
        }
    }
    if (sid_cmp(id, last) <= 0) {
        reply_error(&c->r,
                    "ERR The ID specified in XADD is equal or smaller than the target stream top item");
        return;
    }
    size_t tot = 0;
    for (int i = field_pos; i < c->argc; i++)
        tot += c->lens[i];
    if (tot > (1u << 30)) {
        reply_error(&c->r, "ERR Elements are too large to be stored");
        return;
    }
    if (!o) {
        s = stream_new();
        o = ks_add_stream(c->k, c->argv[1], c->lens[1], s);
        cmd_notify_new(c, c->argv[1], c->lens[1]);
    }
    stream_append(s, id, (size_t)(c->argc - field_pos) / 2, c->argv + field_pos,
                  c->lens + field_pos);
    xreply_id(c, id);
    db_modified(c, c->argv[1], c->lens[1]);
    cmd_notify(c, NOTIFY_STREAM, "xadd", c->argv[1], c->lens[1]);
    if (a.strategy != STRIM_NONE) {
        if (stream_trim(s, a.strategy, (uint64_t)a.maxlen, a.minid, a.approx, a.limit))
            cmd_notify(c, NOTIFY_STREAM, "xtrim", c->argv[1], c->lens[1]);
    }
    if (!c->replay)
        log_trim_rewrite(c, &a, s, idpos, id);
}

/* ---- XLEN / XRANGE / XREVRANGE ---- */

static void cmd_xlen(cmd_ctx *c)
{
    int wrong;
    kobj *o = xlookup(c, 1, 0, &wrong);
    if (wrong)
        return;
    reply_int(&c->r, o ? (long long)stream_len(kobj_stream(o)) : 0);
}

static void xrange_generic(cmd_ctx *c, int rev)
{
    int startarg = rev ? 3 : 2, endarg = rev ? 2 : 3;
    sid start, end;
    int startex, endex;
    long long count = -1;
    if (xparse_interval(c, startarg, &start, &startex, 0) < 0)
        return;
    if (startex && !sid_incr(&start)) {
        reply_error(&c->r, "ERR invalid start ID for the interval");
        return;
    }
    if (xparse_interval(c, endarg, &end, &endex, UINT64_MAX) < 0)
        return;
    if (endex && !sid_decr(&end)) {
        reply_error(&c->r, "ERR invalid end ID for the interval");
        return;
    }
    for (int j = 4; j < c->argc; j++) {
        if (arg_is(c, j, "count") && c->argc - j - 1 >= 1) {
            if (arg_ll(c, j + 1, &count) < 0)
                return;
            if (count < 0)
                count = 0;
            j++;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    int wrong;
    kobj *o = xlookup(c, 1, 0, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_empty_array(&c->r);
        return;
    }
    if (count == 0) {
        reply_null_array(&c->r);
        return;
    }
    xreply_range(c, kobj_stream(o), start, end, count == -1 ? 0 : (size_t)count, rev);
}

static void cmd_xrange(cmd_ctx *c)
{
    xrange_generic(c, 0);
}

static void cmd_xrevrange(cmd_ctx *c)
{
    xrange_generic(c, 1);
}

/* ---- XDEL ---- */

static void cmd_xdel(cmd_ctx *c)
{
    int wrong;
    kobj *o = xlookup(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    kv_stream *s = kobj_stream(o);
    int n = c->argc - 2;
    sid *ids = kv_malloc((size_t)n * sizeof *ids);
    for (int j = 0; j < n; j++) {
        if (xparse_id(c, j + 2, &ids[j], 0, 1, NULL, 1) < 0) {
            kv_free(ids);
            return;
        }
    }
    long long deleted = 0;
    for (int j = 0; j < n; j++) {
        if (stream_delete(s, ids[j])) {
            if (sid_cmp(ids[j], stream_max_deleted(s)) > 0)
                stream_set_max_deleted(s, ids[j]);
            deleted++;
        }
    }
    kv_free(ids);
    if (deleted) {
        db_modified(c, c->argv[1], c->lens[1]);
        cmd_notify(c, NOTIFY_STREAM, "xdel", c->argv[1], c->lens[1]);
    }
    reply_int(&c->r, deleted);
}

/* ---- XTRIM ---- */

static void cmd_xtrim(cmd_ctx *c)
{
    trim_args a;
    if (parse_trim_args(c, &a, 0) < 0)
        return;
    int wrong;
    kobj *o = xlookup(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    kv_stream *s = kobj_stream(o);
    int64_t deleted = stream_trim(s, a.strategy, (uint64_t)a.maxlen, a.minid, a.approx, a.limit);
    if (deleted) {
        cmd_notify(c, NOTIFY_STREAM, "xtrim", c->argv[1], c->lens[1]);
        db_modified(c, c->argv[1], c->lens[1]);
        if (!c->replay) {
            sid none = {0, 0};
            log_trim_rewrite(c, &a, s, -1, none);
        }
    }
    reply_int(&c->r, deleted);
}

/* ---- XSETID ---- */

static void cmd_xsetid(cmd_ctx *c)
{
    sid id, maxdel = {0, 0};
    long long added = -1;
    if (xparse_id(c, 2, &id, 0, 1, NULL, 1) < 0)
        return;
    for (int i = 3; i < c->argc;) {
        int more = c->argc - 1 - i;
        if (arg_is(c, i, "entriesadded") && more) {
            if (arg_ll(c, i + 1, &added) < 0)
                return;
            if (added < 0) {
                reply_error(&c->r, "ERR entries_added must be positive");
                return;
            }
            i += 2;
        } else if (arg_is(c, i, "maxdeletedid") && more) {
            if (xparse_id(c, i + 1, &maxdel, 0, 1, NULL, 1) < 0)
                return;
            if (sid_cmp(id, maxdel) < 0) {
                reply_error(&c->r, "ERR The ID specified in XSETID is smaller than the provided "
                                   "max_deleted_entry_id");
                return;
            }
            i += 2;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    int wrong;
    kobj *o = xlookup(c, 1, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_error(&c->r, KV_ERR_NOSUCHKEY);
        return;
    }
    kv_stream *s = kobj_stream(o);
    if (stream_len(s) > 0) {
        sid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX}, maxid;
        size_t np;
        stream_iter it;
        stream_iter_init(&it, s, lo, hi, 1);
        stream_iter_next(&it, &maxid, &np);
        if (sid_cmp(id, maxid) < 0) {
            reply_error(&c->r,
                        "ERR The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
        if (added != -1 && stream_len(s) > (uint64_t)added) {
            reply_error(&c->r, "ERR The entries_added specified in XSETID is smaller than the "
                               "target stream length");
            return;
        }
    }
    stream_set_last_id(s, id);
    if (added != -1)
        stream_set_entries_added(s, (uint64_t)added);
    if (maxdel.ms || maxdel.seq)
        stream_set_max_deleted(s, maxdel);
    db_modified(c, c->argv[1], c->lens[1]);
    cmd_notify(c, NOTIFY_STREAM, "xsetid", c->argv[1], c->lens[1]);
    reply_ok(&c->r);
}

/* ---- XREAD / XREADGROUP ---- */

/* The last live entry's ID (Redis's streamLastValidID); 0 if empty. */
static int last_valid_id(kv_stream *s, sid *out)
{
    sid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    size_t np;
    stream_iter it;
    stream_iter_init(&it, s, lo, hi, 1);
    return stream_iter_next(&it, out, &np);
}

/* XREADGROUP's new entries from start on (Redis's streamReplyWithRange
 * with a group): moves the group's last ID and entries_read, adds to the
 * PELs, and logs the effects. */
static size_t serve_group_new(cmd_ctx *c, kv_stream *s, const char *key, size_t klen,
                              stream_group *g, stream_consumer *sc, sid start, size_t count,
                              int noack)
{
    sid hi = {UINT64_MAX, UINT64_MAX};
    reply_deferred d = reply_defer(&c->r);
    size_t n = 0;
    int moved = 0;
    stream_iter it;
    stream_iter_init(&it, s, start, hi, 0);
    sid id;
    size_t np;
    while ((!count || n < count) && stream_iter_next(&it, &id, &np)) {
        if (sid_cmp(id, g->last_id) > 0) {
            if (g->entries_read != -1 && !stream_range_has_tombstones(s, id, hi))
                g->entries_read++;
            else if (stream_entries_added(s))
                g->entries_read = stream_estimate_distance(s, id);
            g->last_id = id;
            moved = 1;
        }
        xreply_entry(c, &it, id, np);
        if (!noack) {
            stream_nack *nk = pel_find(&g->pel, id);
            if (nk) {
                group_pel_move(nk, sc);
                nk->delivery_time = c->now_ms;
                nk->delivery_count = 1;
            } else {
                nk = group_pel_add(g, sc, id, c->now_ms);
            }
            xlog_claim(c, key, klen, g, nk);
        }
        n++;
    }
    reply_set_array_len(&c->r, d, (long)n);
    if (moved)
        xlog_setid(c, key, klen, g);
    return n;
}

/* XREADGROUP with an ID other than ">": the consumer's own pending
 * entries from start on (Redis's streamReplyWithRangeFromConsumerPEL). */
static size_t serve_group_history(cmd_ctx *c, kv_stream *s, const char *key, size_t klen,
                                  stream_group *g, stream_consumer *sc, sid start, size_t count)
{
    reply_deferred d = reply_defer(&c->r);
    size_t n = 0;
    for (size_t i = pel_lower_bound(&sc->pel, start); i < pel_len(&sc->pel) && (!count || n < count);
         i++) {
        stream_nack *nk = pel_at(&sc->pel, i);
        if (!xreply_one(c, s, nk->id)) {
            reply_array(&c->r, 2);
            xreply_id(c, nk->id);
            reply_null_array(&c->r);
        } else {
            nk->delivery_time = c->now_ms;
            nk->delivery_count++;
            xargv a;
            xa_init(&a);
            xa_cstr(&a, "XCLAIM");
            xa_add(&a, key, klen);
            xa_add(&a, g->name, g->nlen);
            xa_add(&a, sc->name, sc->nlen);
            xa_cstr(&a, "0");
            xa_id(&a, nk->id);
            xa_cstr(&a, "TIME");
            xa_ll(&a, nk->delivery_time);
            xa_cstr(&a, "RETRYCOUNT");
            xa_ll(&a, (long long)nk->delivery_count);
            xa_cstr(&a, "JUSTID");
            xa_log(c, &a);
        }
        n++;
    }
    reply_set_array_len(&c->r, d, (long)n);
    return n;
}

static void xread_generic(cmd_ctx *c, int group_cmd)
{
    long long timeout = -1, count = 0;
    int streams_arg = 0, nstreams = 0, noack = 0;
    int group_arg = 0, timeout_arg = 0;
    for (int i = 1; i < c->argc; i++) {
        int more = c->argc - i - 1;
        if (arg_is(c, i, "block") && more) {
            if (c->in_script) {
                /* Redis 7.0 refuses BLOCK in scripts, naming the command as
                 * the script spelled it, before reading the timeout. */
                reply_errorf(&c->r, "ERR %.*s command is not allowed with BLOCK option from "
                                    "scripts",
                             (int)c->lens[0], c->argv[0]);
                return;
            }
            i++;
            if (arg_ll_msg(c, i, &timeout, "ERR timeout is not an integer or out of range") < 0)
                return;
            if (timeout < 0) {
                reply_error(&c->r, "ERR timeout is negative");
                return;
            }
            if (timeout > 0 && timeout > LLONG_MAX - c->now_ms) {
                reply_error(&c->r, "ERR timeout is out of range");
                return;
            }
            timeout_arg = i;
        } else if (arg_is(c, i, "count") && more) {
            i++;
            if (arg_ll(c, i, &count) < 0)
                return;
            if (count < 0)
                count = 0;
        } else if (arg_is(c, i, "streams") && more) {
            streams_arg = i + 1;
            nstreams = c->argc - streams_arg;
            if (nstreams % 2) {
                reply_error(&c->r, "ERR Unbalanced XREAD list of streams: for each stream key an "
                                   "ID or '$' must be specified.");
                return;
            }
            nstreams /= 2;
            break;
        } else if (arg_is(c, i, "group") && more >= 2) {
            if (!group_cmd) {
                reply_error(&c->r, "ERR The GROUP option is only supported by XREADGROUP. You "
                                   "called XREAD instead.");
                return;
            }
            group_arg = i + 1;
            i += 2;
        } else if (arg_is(c, i, "noack")) {
            if (!group_cmd) {
                reply_error(&c->r, "ERR The NOACK option is only supported by XREADGROUP. You "
                                   "called XREAD instead.");
                return;
            }
            noack = 1;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    (void)timeout_arg;
    if (!streams_arg) {
        reply_err_syntax(&c->r);
        return;
    }
    if (group_cmd && !group_arg) {
        reply_error(&c->r, "ERR Missing GROUP option for XREADGROUP");
        return;
    }
    const char *gname = group_arg ? c->argv[group_arg] : NULL;
    size_t glen = group_arg ? c->lens[group_arg] : 0;
    sid *ids = kv_malloc((size_t)nstreams * sizeof *ids);
    stream_group **groups = kv_calloc((size_t)nstreams, sizeof *groups);
    char *dollar = kv_calloc((size_t)nstreams, 1); /* "$" resolved (for blocking) */
    for (int k = 0; k < nstreams; k++) {
        int ki = streams_arg + k, ii = streams_arg + nstreams + k;
        kobj *o = db_read(c, c->argv[ki], c->lens[ki]);
        if (o && kobj_type(o) != KT_STREAM) {
            if (!c->xunblocking) {
                reply_err_wrongtype(&c->r);
                goto out;
            }
            /* A blocked XREAD keeps waiting while its key is not a stream
             * (Redis serves only stream keys); XREADGROUP is released. */
            if (!gname) {
                ids[k].ms = ids[k].seq = 0;
                continue;
            }
            o = NULL;
        }
        if (gname) {
            stream_group *g = o ? stream_group_find(kobj_stream(o), gname, glen) : NULL;
            if (!g) {
                if (c->xunblocking && !o) {
                    reply_error(&c->r, "UNBLOCKED the stream key no longer exists");
                } else if (c->xunblocking) {
                    reply_error(&c->r, "NOGROUP the consumer group this client was blocked on "
                                       "no longer exists");
                } else {
                    reply_errorf(&c->r,
                                 "NOGROUP No such key '%.*s' or consumer group '%.*s' in "
                                 "XREADGROUP with GROUP option",
                                 (int)c->lens[ki], c->argv[ki], (int)glen, gname);
                }
                goto out;
            }
            groups[k] = g;
        }
        if (c->lens[ii] == 1 && c->argv[ii][0] == '$') {
            if (group_cmd) {
                reply_error(&c->r, "ERR The $ ID is meaningless in the context of XREADGROUP: you "
                                   "want to read the history of this consumer by specifying a "
                                   "proper ID, or use the > ID to get new messages. The $ ID "
                                   "would just return an empty result set.");
                goto out;
            }
            ids[k] = o ? stream_last_id(kobj_stream(o)) : (sid){0, 0};
            dollar[k] = 1;
            continue;
        }
        if (c->lens[ii] == 1 && c->argv[ii][0] == '>') {
            if (!group_cmd) {
                reply_error(&c->r, "ERR The > ID can be specified only when calling XREADGROUP "
                                   "using the GROUP <group> <consumer> option.");
                goto out;
            }
            ids[k].ms = ids[k].seq = UINT64_MAX;
            continue;
        }
        /* Redis 7.0 parses the others strictly: "-" and "+" are refused. */
        if (xparse_id(c, ii, &ids[k], 0, 1, NULL, 1) < 0)
            goto out;
    }
    size_t served = 0;
    reply_deferred d = 0;
    for (int k = 0; k < nstreams; k++) {
        int ki = streams_arg + k;
        kobj *o = db_read_nonotify(c, c->argv[ki], c->lens[ki]);
        if (!o || kobj_type(o) != KT_STREAM)
            continue;
        kv_stream *s = kobj_stream(o);
        sid gt = ids[k];
        int serve = 0, history = 0;
        stream_consumer *sc = NULL;
        if (groups[k]) {
            if (gt.ms != UINT64_MAX || gt.seq != UINT64_MAX) {
                serve = history = 1;
            } else if (stream_len(s)) {
                sid maxid;
                if (last_valid_id(s, &maxid) && sid_cmp(maxid, groups[k]->last_id) > 0) {
                    serve = 1;
                    gt = groups[k]->last_id;
                }
            }
        } else if (stream_len(s)) {
            sid maxid;
            if (last_valid_id(s, &maxid) && sid_cmp(maxid, gt) > 0)
                serve = 1;
        }
        if (!serve)
            continue;
        if (groups[k]) {
            /* The consumer is created when it is served, not when it only
             * blocks or finds nothing new (Redis 7.0's xreadCommand). */
            const char *cname = c->argv[group_arg + 1];
            size_t cnlen = c->lens[group_arg + 1];
            int created;
            sc = xconsumer(c, groups[k], c->argv[ki], c->lens[ki], cname, cnlen, &created);
            if (created)
                xlog_createconsumer(c, c->argv[ki], c->lens[ki], groups[k], sc);
        }
        if (++served == 1)
            d = reply_defer(&c->r);
        if (c->r.resp == 2)
            reply_array(&c->r, 2);
        reply_bulk(&c->r, c->argv[ki], c->lens[ki]);
        sid start = gt;
        sid_incr(&start);
        if (!groups[k]) {
            sid hi = {UINT64_MAX, UINT64_MAX};
            xreply_range(c, s, start, hi, (size_t)count, 0);
        } else if (history) {
            serve_group_history(c, s, c->argv[ki], c->lens[ki], groups[k], sc, start,
                                (size_t)count);
        } else {
            serve_group_new(c, s, c->argv[ki], c->lens[ki], groups[k], sc, start, (size_t)count,
                            noack);
        }
    }
    if (served) {
        if (c->r.resp == 2)
            reply_set_array_len(&c->r, d, (long)served);
        else
            reply_set_map_len(&c->r, d, (long)served);
        goto out;
    }
    if (timeout != -1 && !c->replay) {
        if (c->deny_blocking) {
            reply_null_array(&c->r);
            goto out;
        }
        /* Park the client: the argv to re-run has "$" resolved, a COUNT,
         * and each key once (the first time it was named, as Redis's
         * blockForKeys keeps). */
        int *uniq = kv_malloc((size_t)nstreams * sizeof *uniq);
        int nu = 0;
        for (int k = 0; k < nstreams; k++) {
            int ki = streams_arg + k, seen = 0;
            for (int u = 0; u < nu && !seen; u++) {
                int ku = streams_arg + uniq[u];
                seen = c->lens[ku] == c->lens[ki] && !memcmp(c->argv[ku], c->argv[ki], c->lens[ki]);
            }
            if (!seen)
                uniq[nu++] = k;
        }
        int n = streams_arg + 2 * nu + (count ? 0 : 2);
        const char **argv = kv_malloc((size_t)n * sizeof *argv);
        size_t *lens = kv_malloc((size_t)n * sizeof *lens);
        char(*idbufs)[SID_MAXSTR] = kv_malloc((size_t)nstreams * SID_MAXSTR);
        int m = 0;
        for (int i = 0; i < streams_arg; i++) {
            if (i == streams_arg - 1 && !count) {
                argv[m] = "COUNT";
                lens[m++] = 5;
                argv[m] = "1000";
                lens[m++] = 4;
            }
            argv[m] = c->argv[i];
            lens[m++] = c->lens[i];
        }
        for (int u = 0; u < nu; u++) {
            argv[m] = c->argv[streams_arg + uniq[u]];
            lens[m++] = c->lens[streams_arg + uniq[u]];
        }
        for (int u = 0; u < nu; u++) {
            int k = uniq[u], ii = streams_arg + nstreams + k;
            if (dollar[k]) {
                lens[m] = (size_t)sid_fmt(idbufs[k], ids[k]);
                argv[m++] = idbufs[k];
            } else {
                argv[m] = c->argv[ii];
                lens[m++] = c->lens[ii];
            }
        }
        int64_t deadline = timeout > 0 ? c->now_ms + timeout : 0;
        cmd_xblock(c, deadline, m, argv, lens, streams_arg + (count ? 0 : 2), nu);
        kv_free(argv);
        kv_free(lens);
        kv_free(idbufs);
        kv_free(uniq);
        goto out;
    }
    reply_null_array(&c->r);
out:
    kv_free(ids);
    kv_free(groups);
    kv_free(dollar);
}

static void cmd_xread(cmd_ctx *c)
{
    xread_generic(c, 0);
}

static void cmd_xreadgroup(cmd_ctx *c)
{
    xread_generic(c, 1);
}

/* ---- XINFO ---- */

static void xinfo_help(cmd_ctx *c)
{
    static const char *const lines[] = {
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof lines / sizeof *lines;
    reply_array(&c->r, (long)n);
    for (size_t i = 0; i < n; i++)
        reply_simple(&c->r, lines[i]);
}

/* Redis's rax node count estimate is not reproducible: report one node
 * per key plus one per 16 keys (a small radix tree). */
static long long radix_nodes(kv_stream *s)
{
    size_t k = stream_nodes(s);
    return (long long)(k ? k + k / 16 + 1 : 1);
}

static void xinfo_stream(cmd_ctx *c, kv_stream *s)
{
    int full = 0;
    long long count = 10;
    int optc = c->argc - 3;
    if (optc) {
        if ((optc != 1 && optc != 3) || !arg_is(c, 3, "full") ||
            (optc == 3 && !arg_is(c, 4, "count"))) {
            reply_err_subcommand_syntax(&c->r, "XINFO", 5, c->argv[1], c->lens[1]);
            return;
        }
        full = 1;
        if (optc == 3) {
            if (arg_ll(c, 5, &count) < 0)
                return;
            if (count < 0)
                count = 10;
        }
    }
    sid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    reply_map(&c->r, full ? 9 : 10);
    reply_bulk_cstr(&c->r, "length");
    reply_int(&c->r, (long long)stream_len(s));
    reply_bulk_cstr(&c->r, "radix-tree-keys");
    reply_int(&c->r, (long long)stream_nodes(s));
    reply_bulk_cstr(&c->r, "radix-tree-nodes");
    reply_int(&c->r, radix_nodes(s));
    reply_bulk_cstr(&c->r, "last-generated-id");
    xreply_id(c, stream_last_id(s));
    reply_bulk_cstr(&c->r, "max-deleted-entry-id");
    xreply_id(c, stream_max_deleted(s));
    reply_bulk_cstr(&c->r, "entries-added");
    reply_int(&c->r, (long long)stream_entries_added(s));
    reply_bulk_cstr(&c->r, "recorded-first-entry-id");
    xreply_id(c, stream_first_id(s));
    if (!full) {
        reply_bulk_cstr(&c->r, "groups");
        reply_int(&c->r, (long long)stream_ngroups(s));
        reply_bulk_cstr(&c->r, "first-entry");
        {
            stream_iter it;
            sid id;
            size_t np;
            stream_iter_init(&it, s, lo, hi, 0);
            if (stream_iter_next(&it, &id, &np))
                xreply_entry(c, &it, id, np);
            else
                reply_null(&c->r);
            reply_bulk_cstr(&c->r, "last-entry");
            stream_iter_init(&it, s, lo, hi, 1);
            if (stream_iter_next(&it, &id, &np))
                xreply_entry(c, &it, id, np);
            else
                reply_null(&c->r);
        }
        return;
    }
    size_t cnt = (size_t)count;
    reply_bulk_cstr(&c->r, "entries");
    xreply_range(c, s, lo, hi, cnt, 0);
    reply_bulk_cstr(&c->r, "groups");
    reply_array(&c->r, (long)stream_ngroups(s));
    for (size_t gi = 0; gi < stream_ngroups(s); gi++) {
        stream_group *g = stream_group_at(s, gi);
        reply_map(&c->r, 7);
        reply_bulk_cstr(&c->r, "name");
        reply_bulk(&c->r, g->name, g->nlen);
        reply_bulk_cstr(&c->r, "last-delivered-id");
        xreply_id(c, g->last_id);
        reply_bulk_cstr(&c->r, "entries-read");
        if (g->entries_read != -1)
            reply_int(&c->r, g->entries_read);
        else
            reply_null(&c->r);
        reply_bulk_cstr(&c->r, "lag");
        xreply_lag(c, s, g);
        reply_bulk_cstr(&c->r, "pel-count");
        reply_int(&c->r, (long long)pel_len(&g->pel));
        reply_bulk_cstr(&c->r, "pending");
        size_t np = pel_len(&g->pel);
        if (cnt && np > cnt)
            np = cnt;
        reply_array(&c->r, (long)np);
        for (size_t i = 0; i < np; i++) {
            stream_nack *nk = pel_at(&g->pel, i);
            reply_array(&c->r, 4);
            xreply_id(c, nk->id);
            reply_bulk(&c->r, nk->consumer->name, nk->consumer->nlen);
            reply_int(&c->r, nk->delivery_time);
            reply_int(&c->r, (long long)nk->delivery_count);
        }
        reply_bulk_cstr(&c->r, "consumers");
        reply_array(&c->r, (long)g->nconsumers);
        for (size_t ci = 0; ci < g->nconsumers; ci++) {
            stream_consumer *sc = g->consumers[ci];
            reply_map(&c->r, 4);
            reply_bulk_cstr(&c->r, "name");
            reply_bulk(&c->r, sc->name, sc->nlen);
            reply_bulk_cstr(&c->r, "seen-time");
            reply_int(&c->r, sc->seen_time);
            reply_bulk_cstr(&c->r, "pel-count");
            reply_int(&c->r, (long long)pel_len(&sc->pel));
            reply_bulk_cstr(&c->r, "pending");
            size_t cp = pel_len(&sc->pel);
            if (cnt && cp > cnt)
                cp = cnt;
            reply_array(&c->r, (long)cp);
            for (size_t i = 0; i < cp; i++) {
                stream_nack *nk = pel_at(&sc->pel, i);
                reply_array(&c->r, 3);
                xreply_id(c, nk->id);
                reply_int(&c->r, nk->delivery_time);
                reply_int(&c->r, (long long)nk->delivery_count);
            }
        }
    }
}

static void xinfo_groups(cmd_ctx *c, kv_stream *s)
{
    reply_array(&c->r, (long)stream_ngroups(s));
    for (size_t gi = 0; gi < stream_ngroups(s); gi++) {
        stream_group *g = stream_group_at(s, gi);
        reply_map(&c->r, 6);
        reply_bulk_cstr(&c->r, "name");
        reply_bulk(&c->r, g->name, g->nlen);
        reply_bulk_cstr(&c->r, "consumers");
        reply_int(&c->r, (long long)g->nconsumers);
        reply_bulk_cstr(&c->r, "pending");
        reply_int(&c->r, (long long)pel_len(&g->pel));
        reply_bulk_cstr(&c->r, "last-delivered-id");
        xreply_id(c, g->last_id);
        reply_bulk_cstr(&c->r, "entries-read");
        if (g->entries_read != -1)
            reply_int(&c->r, g->entries_read);
        else
            reply_null(&c->r);
        reply_bulk_cstr(&c->r, "lag");
        xreply_lag(c, s, g);
    }
}

static void xinfo_consumers(cmd_ctx *c, kv_stream *s)
{
    stream_group *g = stream_group_find(s, c->argv[3], c->lens[3]);
    if (!g) {
        reply_errorf(&c->r, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                     (int)c->lens[3], c->argv[3], (int)c->lens[2], c->argv[2]);
        return;
    }
    reply_array(&c->r, (long)g->nconsumers);
    for (size_t ci = 0; ci < g->nconsumers; ci++) {
        stream_consumer *sc = g->consumers[ci];
        int64_t idle = c->now_ms - sc->seen_time;
        if (idle < 0)
            idle = 0;
        reply_map(&c->r, 3);
        reply_bulk_cstr(&c->r, "name");
        reply_bulk(&c->r, sc->name, sc->nlen);
        reply_bulk_cstr(&c->r, "pending");
        reply_int(&c->r, (long long)pel_len(&sc->pel));
        reply_bulk_cstr(&c->r, "idle");
        reply_int(&c->r, idle);
    }
}

/* XINFO <subcommand> <key> …: fn on the stream, or Redis's errors. The
 * container (the server's command table) has checked the arity. */
static void xinfo_of(cmd_ctx *c, void (*fn)(cmd_ctx *c, kv_stream *s))
{
    int wrong;
    kobj *o = xlookup(c, 2, 0, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_error(&c->r, KV_ERR_NOSUCHKEY);
        return;
    }
    fn(c, kobj_stream(o));
}

static void cmd_xinfo_stream(cmd_ctx *c)
{
    xinfo_of(c, xinfo_stream);
}

static void cmd_xinfo_groups(cmd_ctx *c)
{
    xinfo_of(c, xinfo_groups);
}

static void cmd_xinfo_consumers(cmd_ctx *c)
{
    xinfo_of(c, xinfo_consumers);
}

/* ---- table ---- */

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define M CMD_DENYOOM

const kv_command cmds_stream[] = {
    {"xadd", cmd_xadd, -5, W | M | F, 1, 1, 1, "stream",
     "Appends a new entry to a stream", "5.0.0", "@write @stream @fast"},
    {"xlen", cmd_xlen, 2, R | F, 1, 1, 1, "stream", "Return the number of entries in a stream",
     "5.0.0", "@read @stream @fast"},
    {"xrange", cmd_xrange, -4, R, 1, 1, 1, "stream",
     "Return a range of elements in a stream, with IDs matching the specified IDs interval",
     "5.0.0", "@read @stream @slow"},
    {"xrevrange", cmd_xrevrange, -4, R, 1, 1, 1, "stream",
     "Return a range of elements in a stream, with IDs matching the specified IDs interval, in "
     "reverse order (from greater to smaller IDs) compared to XRANGE",
     "5.0.0", "@read @stream @slow"},
    {"xdel", cmd_xdel, -3, W | F, 1, 1, 1, "stream",
     "Removes the specified entries from the stream. Returns the number of items actually "
     "deleted, that may be different from the number of IDs passed in case certain IDs do not "
     "exist.",
     "5.0.0", "@write @stream @fast"},
    {"xtrim", cmd_xtrim, -4, W, 1, 1, 1, "stream",
     "Trims the stream to (approximately if '~' is passed) a certain size", "5.0.0",
     "@write @stream @slow"},
    {"xsetid", cmd_xsetid, -3, W | M | F, 1, 1, 1, "stream",
     "An internal command for replicating stream values", "5.0.0", "@write @stream @fast"},
    {"xread", cmd_xread, -4, R | CMD_BLOCKING, 0, 0, 0, "stream",
     "Return never seen elements in multiple streams, with IDs greater than the ones reported by "
     "the caller for each stream. Can block.",
     "5.0.0", "@read @stream @slow @blocking"},
    {"xreadgroup", cmd_xreadgroup, -7, W | CMD_BLOCKING, 0, 0, 0, "stream",
     "Return new entries from a stream using a consumer group, or access the history of the "
     "pending entries for a given consumer. Can block.",
     "5.0.0", "@write @stream @slow @blocking"},
    /* XINFO's and XGROUP's subcommands (the containers are the server's,
     * cmd_command.c). */
    {"xinfo|consumers", cmd_xinfo_consumers, 4, R, 2, 2, 1, "stream",
     "List the consumers in a consumer group", "5.0.0", "@read @stream @slow"},
    {"xinfo|groups", cmd_xinfo_groups, 3, R, 2, 2, 1, "stream",
     "List the consumer groups of a stream", "5.0.0", "@read @stream @slow"},
    {"xinfo|stream", cmd_xinfo_stream, -3, R, 2, 2, 1, "stream",
     "Get information about a stream", "5.0.0", "@read @stream @slow"},
    {"xinfo|help", xinfo_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "stream",
     "Show helpful text about the different subcommands", "5.0.0", "@stream @slow"},
    {"xgroup|create", cmd_xgroup, -5, W | M, 2, 2, 1, "stream", "Create a consumer group.",
     "5.0.0", "@write @stream @slow"},
    {"xgroup|createconsumer", cmd_xgroup, 5, W | M, 2, 2, 1, "stream",
     "Create a consumer in a consumer group.", "6.2.0", "@write @stream @slow"},
    {"xgroup|delconsumer", cmd_xgroup, 5, W, 2, 2, 1, "stream",
     "Delete a consumer from a consumer group.", "5.0.0", "@write @stream @slow"},
    {"xgroup|destroy", cmd_xgroup, 4, W, 2, 2, 1, "stream", "Destroy a consumer group.",
     "5.0.0", "@write @stream @slow"},
    {"xgroup|setid", cmd_xgroup, -5, W, 2, 2, 1, "stream",
     "Set a consumer group to an arbitrary last delivered ID value.", "5.0.0",
     "@write @stream @slow"},
    {"xgroup|help", xgroup_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "stream",
     "Show helpful text about the different subcommands", "5.0.0", "@stream @slow"},
    {"xack", cmd_xack, -4, W | F, 1, 1, 1, "stream",
     "Marks a pending message as correctly processed, effectively removing it from the pending "
     "entries list of the consumer group. Return value of the command is the number of messages "
     "successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
     "5.0.0", "@write @stream @fast"},
    {"xpending", cmd_xpending, -3, R, 1, 1, 1, "stream",
     "Return information and entries from a stream consumer group pending entries list, that "
     "are messages fetched but never acknowledged.",
     "5.0.0", "@read @stream @slow"},
    {"xclaim", cmd_xclaim, -6, W | F, 1, 1, 1, "stream",
     "Changes (or acquires) ownership of a message in a consumer group, as if the message was "
     "delivered to the specified consumer.",
     "5.0.0", "@write @stream @fast"},
    {"xautoclaim", cmd_xautoclaim, -6, W | F, 1, 1, 1, "stream",
     "Changes (or acquires) ownership of messages in a consumer group, as if the messages were "
     "delivered to the specified consumer.",
     "6.2.0", "@write @stream @fast"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
