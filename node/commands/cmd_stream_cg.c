/* cmd_stream_cg.c — consumer-group commands: XGROUP, XACK, XPENDING,
 * XCLAIM, XAUTOCLAIM, with Redis 7.0's replies, errors and order of
 * checks (t_stream.c).
 *
 * XGROUP, XACK are deterministic and logged as their argv. XCLAIM and
 * XAUTOCLAIM depend on the clock, so they log what Redis propagates: one
 * XCLAIM <key> <group> <consumer> 0 <id> TIME <ms> RETRYCOUNT <n> FORCE
 * JUSTID LASTID <id> per claimed (or dropped) entry, and XGROUP SETID when
 * only LASTID moved the group. Replaying that XCLAIM form is exact: TIME
 * is taken as given (no clamping to the replaying node's clock).
 *
 * Keyspace events: "xgroup-create", "xgroup-setid", "xgroup-destroy",
 * "xgroup-createconsumer", "xgroup-delconsumer" ("new" with MKSTREAM). */

#include "cmd.h"
#include "mem.h"
#include "reply.h"
#include "stream_util.h"

#include <limits.h>
#include <string.h>

/* ---- XGROUP ---- */

void xgroup_help(cmd_ctx *c)
{
    static const char *const lines[] = {
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof lines / sizeof *lines;
    reply_array(&c->r, (long)n);
    for (size_t i = 0; i < n; i++)
        reply_simple(&c->r, lines[i]);
}

static int parse_entries_read(cmd_ctx *c, int i, long long *er)
{
    if (arg_ll(c, i, er) < 0)
        return -1;
    if (*er < 0 && *er != -1) {
        reply_error(&c->r, "ERR value for ENTRIESREAD must be positive or -1");
        return -1;
    }
    return 0;
}

/* XGROUP CREATE, SETID, DESTROY, CREATECONSUMER and DELCONSUMER (the
 * container, the server's command table, has checked the arity). */
void cmd_xgroup(cmd_ctx *c)
{
    static const char *const subs[] = {"create", "setid", "destroy", "createconsumer",
                                       "delconsumer"};
    const char *opt = NULL;
    for (size_t i = 0; i < sizeof subs / sizeof *subs && !opt; i++)
        if (arg_is(c, 1, subs[i]))
            opt = subs[i];
    if (!opt) {
        reply_err_unknown_subcommand(&c->r, "XGROUP", 6, c->argv[1], c->lens[1]);
        return;
    }
    int mkstream = 0;
    long long er = -1;
    kv_stream *s = NULL;
    stream_group *g = NULL;
    const char *key = c->argv[2], *gname = c->argv[3];
    size_t klen = c->lens[2], glen = c->lens[3];
    if (!strcmp(opt, "create")) {
        for (int i = 5; i < c->argc;) {
            if (arg_is(c, i, "mkstream")) {
                mkstream = 1;
                i++;
            } else if (arg_is(c, i, "entriesread") && i + 1 < c->argc) {
                if (parse_entries_read(c, i + 1, &er) < 0)
                    return;
                i += 2;
            } else {
                reply_err_subcommand_syntax(&c->r, "XGROUP", 6, c->argv[1], c->lens[1]);
                return;
            }
        }
    }
    int wrong;
    kobj *o = xlookup(c, 2, 1, &wrong);
    if (wrong)
        return;
    if (o)
        s = kobj_stream(o);
    if (!s && !mkstream) {
        reply_error(&c->r, "ERR The XGROUP subcommand requires the key to exist. Note that for "
                           "CREATE you may want to use the MKSTREAM option to create an empty "
                           "stream automatically.");
        return;
    }
    g = s ? stream_group_find(s, gname, glen) : NULL;
    if (!g && (!strcmp(opt, "setid") || !strcmp(opt, "createconsumer") ||
               !strcmp(opt, "delconsumer"))) {
        reply_errorf(&c->r, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                     (int)glen, gname, (int)klen, key);
        return;
    }
    if (!strcmp(opt, "create")) {
        sid id;
        if (c->lens[4] == 1 && c->argv[4][0] == '$') {
            id = s ? stream_last_id(s) : (sid){0, 0};
        } else if (xparse_id(c, 4, &id, 0, 1, NULL, 1) < 0) {
            return;
        }
        if (!s) {
            s = stream_new();
            ks_add_stream(c->k, key, klen, s);
            cmd_notify_new(c, key, klen);
            db_modified(c, key, klen);
        }
        if (stream_group_create(s, gname, glen, id, er)) {
            c->dirty++;
            reply_ok(&c->r);
            cmd_notify(c, NOTIFY_STREAM, "xgroup-create", key, klen);
        } else {
            reply_error(&c->r, "BUSYGROUP Consumer Group name already exists");
        }
    } else if (!strcmp(opt, "setid")) {
        if (c->argc != 5 && c->argc != 7) {
            reply_err_subcommand_syntax(&c->r, "XGROUP", 6, c->argv[1], c->lens[1]);
            return;
        }
        sid id;
        if (c->lens[4] == 1 && c->argv[4][0] == '$') {
            id = stream_last_id(s);
        } else if (xparse_id(c, 4, &id, 0, 0, NULL, 1) < 0) {
            return;
        }
        if (c->argc == 7) {
            if (!arg_is(c, 5, "entriesread")) {
                reply_err_subcommand_syntax(&c->r, "XGROUP", 6, c->argv[1], c->lens[1]);
                return;
            }
            if (parse_entries_read(c, 6, &er) < 0)
                return;
        }
        g->last_id = id;
        g->entries_read = er;
        c->dirty++;
        reply_ok(&c->r);
        cmd_notify(c, NOTIFY_STREAM, "xgroup-setid", key, klen);
    } else if (!strcmp(opt, "destroy")) {
        if (g) {
            stream_group_destroy(s, g);
            c->dirty++;
            reply_int(&c->r, 1);
            cmd_notify(c, NOTIFY_STREAM, "xgroup-destroy", key, klen);
            db_touched(c, key, klen); /* wakes XREADGROUP clients blocked on it */
        } else {
            reply_int(&c->r, 0);
        }
    } else if (!strcmp(opt, "createconsumer")) {
        stream_consumer *sc = group_consumer_create(g, c->argv[4], c->lens[4], c->now_ms);
        if (sc) {
            c->dirty++;
            cmd_notify(c, NOTIFY_STREAM, "xgroup-createconsumer", key, klen);
        }
        reply_int(&c->r, sc ? 1 : 0);
    } else { /* delconsumer */
        long long pending = 0;
        stream_consumer *sc = group_consumer_find(g, c->argv[4], c->lens[4]);
        if (sc) {
            pending = (long long)group_consumer_delete(g, sc);
            c->dirty++;
            cmd_notify(c, NOTIFY_STREAM, "xgroup-delconsumer", key, klen);
        }
        reply_int(&c->r, pending);
    }
}

/* ---- XACK ---- */

void cmd_xack(cmd_ctx *c)
{
    int wrong;
    kobj *o = xlookup(c, 1, 0, &wrong);
    if (wrong)
        return;
    stream_group *g = o ? stream_group_find(kobj_stream(o), c->argv[2], c->lens[2]) : NULL;
    if (!g) {
        reply_int(&c->r, 0);
        return;
    }
    int n = c->argc - 3;
    sid *ids = kv_malloc((size_t)n * sizeof *ids);
    for (int j = 0; j < n; j++) {
        if (xparse_id(c, j + 3, &ids[j], 0, 1, NULL, 1) < 0) {
            kv_free(ids);
            return;
        }
    }
    long long acked = 0;
    for (int j = 0; j < n; j++) {
        stream_nack *nk = pel_find(&g->pel, ids[j]);
        if (nk) {
            group_pel_remove(g, nk);
            acked++;
        }
    }
    kv_free(ids);
    if (acked)
        c->dirty++;
    reply_int(&c->r, acked);
}

/* ---- XPENDING ---- */

void cmd_xpending(cmd_ctx *c)
{
    int justinfo = c->argc == 3;
    long long count = 0, minidle = 0;
    sid start = {0, 0}, end = {0, 0};
    int cons_arg = 0;
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        reply_err_syntax(&c->r);
        return;
    }
    if (c->argc >= 6) {
        int si = 3;
        if (arg_is(c, 3, "idle")) {
            if (arg_ll(c, 4, &minidle) < 0)
                return;
            if (c->argc < 8) {
                reply_err_syntax(&c->r);
                return;
            }
            si += 2;
        }
        if (arg_ll(c, si + 2, &count) < 0)
            return;
        if (count < 0)
            count = 0;
        int ex;
        if (xparse_interval(c, si, &start, &ex, 0) < 0)
            return;
        if (ex && !sid_incr(&start)) {
            reply_error(&c->r, "ERR invalid start ID for the interval");
            return;
        }
        if (xparse_interval(c, si + 1, &end, &ex, UINT64_MAX) < 0)
            return;
        if (ex && !sid_decr(&end)) {
            reply_error(&c->r, "ERR invalid end ID for the interval");
            return;
        }
        /* Arguments after the consumer are ignored, as Redis 7.0 does
         * (within the 6..9 argument count checked above). */
        if (si + 3 < c->argc)
            cons_arg = si + 3;
    }
    int wrong;
    kobj *o = xlookup(c, 1, 0, &wrong);
    if (wrong)
        return;
    stream_group *g = o ? stream_group_find(kobj_stream(o), c->argv[2], c->lens[2]) : NULL;
    if (!g) {
        reply_errorf(&c->r, "NOGROUP No such key '%.*s' or consumer group '%.*s'",
                     (int)c->lens[1], c->argv[1], (int)c->lens[2], c->argv[2]);
        return;
    }
    if (justinfo) {
        size_t n = pel_len(&g->pel);
        reply_array(&c->r, 4);
        reply_int(&c->r, (long long)n);
        if (!n) {
            reply_null(&c->r);
            reply_null(&c->r);
            reply_null_array(&c->r);
            return;
        }
        xreply_id(c, pel_at(&g->pel, 0)->id);
        xreply_id(c, pel_at(&g->pel, n - 1)->id);
        reply_deferred d = reply_defer(&c->r);
        long k = 0;
        for (size_t i = 0; i < g->nconsumers; i++) {
            stream_consumer *sc = g->consumers[i];
            if (!pel_len(&sc->pel))
                continue;
            reply_array(&c->r, 2);
            reply_bulk(&c->r, sc->name, sc->nlen);
            reply_bulk_ll(&c->r, (long long)pel_len(&sc->pel));
            k++;
        }
        reply_set_array_len(&c->r, d, k);
        return;
    }
    stream_pel *pel = &g->pel;
    if (cons_arg) {
        stream_consumer *sc = group_consumer_find(g, c->argv[cons_arg], c->lens[cons_arg]);
        if (!sc) {
            reply_empty_array(&c->r);
            return;
        }
        pel = &sc->pel;
    }
    reply_deferred d = reply_defer(&c->r);
    long k = 0;
    for (size_t i = pel_lower_bound(pel, start); count && i < pel_len(pel); i++) {
        stream_nack *nk = pel_at(pel, i);
        if (sid_cmp(nk->id, end) > 0)
            break;
        int64_t idle = c->now_ms - nk->delivery_time;
        if (minidle && idle < minidle)
            continue;
        if (idle < 0)
            idle = 0;
        k++;
        count--;
        reply_array(&c->r, 4);
        xreply_id(c, nk->id);
        reply_bulk(&c->r, nk->consumer->name, nk->consumer->nlen);
        reply_int(&c->r, idle);
        reply_int(&c->r, (long long)nk->delivery_count);
    }
    reply_set_array_len(&c->r, d, k);
}

/* ---- XCLAIM ---- */

void cmd_xclaim(cmd_ctx *c)
{
    int wrong;
    kobj *o = xlookup(c, 1, 0, &wrong);
    if (wrong)
        return;
    kv_stream *s = o ? kobj_stream(o) : NULL;
    stream_group *g = s ? stream_group_find(s, c->argv[2], c->lens[2]) : NULL;
    if (!g) {
        reply_errorf(&c->r, "NOGROUP No such key '%.*s' or consumer group '%.*s'",
                     (int)c->lens[1], c->argv[1], (int)c->lens[2], c->argv[2]);
        return;
    }
    long long minidle, retrycount = -1, deliverytime = -1;
    int force = 0, justid = 0;
    if (arg_ll_msg(c, 4, &minidle, "ERR Invalid min-idle-time argument for XCLAIM") < 0)
        return;
    if (minidle < 0)
        minidle = 0;
    int j = 5;
    sid tmp;
    while (j < c->argc && xparse_id(c, j, &tmp, 0, 1, NULL, 0) == 0)
        j++;
    int last_id_arg = j - 1;
    int64_t now = c->now_ms;
    sid last_id = {0, 0};
    for (; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c, j, "force")) {
            force = 1;
        } else if (arg_is(c, j, "justid")) {
            justid = 1;
        } else if (arg_is(c, j, "idle") && more) {
            j++;
            if (arg_ll_msg(c, j, &deliverytime, "ERR Invalid IDLE option argument for XCLAIM") < 0)
                return;
            deliverytime = now - deliverytime;
        } else if (arg_is(c, j, "time") && more) {
            j++;
            if (arg_ll_msg(c, j, &deliverytime, "ERR Invalid TIME option argument for XCLAIM") < 0)
                return;
        } else if (arg_is(c, j, "retrycount") && more) {
            j++;
            if (arg_ll_msg(c, j, &retrycount,
                           "ERR Invalid RETRYCOUNT option argument for XCLAIM") < 0)
                return;
        } else if (arg_is(c, j, "lastid") && more) {
            j++;
            if (xparse_id(c, j, &last_id, 0, 1, NULL, 1) < 0)
                return;
        } else {
            reply_errorf(&c->r, "ERR Unrecognized XCLAIM option '%.*s'", (int)c->lens[j],
                         c->argv[j]);
            return;
        }
    }
    int propagate_last_id = 0;
    if (sid_cmp(last_id, g->last_id) > 0) {
        g->last_id = last_id;
        propagate_last_id = 1;
    }
    if (deliverytime != -1) {
        /* A replay takes the logged TIME as it is. */
        if (!c->replay && (deliverytime < 0 || deliverytime > now))
            deliverytime = now;
    } else {
        deliverytime = now;
    }
    stream_consumer *sc = NULL;
    reply_deferred d = reply_defer(&c->r);
    long n = 0;
    for (int k = 5; k <= last_id_arg; k++) {
        sid id;
        xparse_id(c, k, &id, 0, 1, NULL, 0);
        stream_nack *nk = pel_find(&g->pel, id);
        if (!stream_has(s, id)) {
            if (nk) {
                xlog_claim(c, c->argv[1], c->lens[1], g, nk);
                propagate_last_id = 0;
                group_pel_remove(g, nk);
            }
            continue;
        }
        if (force && !nk)
            nk = group_pel_add(g, NULL, id, now);
        if (!nk)
            continue;
        if (nk->consumer && minidle && now - nk->delivery_time < minidle)
            continue;
        if (!sc) {
            int created;
            sc = xconsumer(c, g, c->argv[1], c->lens[1], c->argv[3], c->lens[3], &created);
        }
        group_pel_move(nk, sc);
        nk->delivery_time = deliverytime;
        if (retrycount >= 0)
            nk->delivery_count = (uint64_t)retrycount;
        else if (!justid)
            nk->delivery_count++;
        if (justid)
            xreply_id(c, id);
        else
            xreply_one(c, s, id);
        n++;
        xlog_claim(c, c->argv[1], c->lens[1], g, nk);
        propagate_last_id = 0;
    }
    if (propagate_last_id)
        xlog_setid(c, c->argv[1], c->lens[1], g);
    reply_set_array_len(&c->r, d, n);
}

/* ---- XAUTOCLAIM ---- */

void cmd_xautoclaim(cmd_ctx *c)
{
    int wrong;
    kobj *o = xlookup(c, 1, 0, &wrong);
    if (wrong)
        return;
    long long minidle, count = 100;
    int justid = 0;
    if (arg_ll_msg(c, 4, &minidle, "ERR Invalid min-idle-time argument for XAUTOCLAIM") < 0)
        return;
    if (minidle < 0)
        minidle = 0;
    sid start;
    int startex;
    if (xparse_interval(c, 5, &start, &startex, 0) < 0)
        return;
    if (startex && !sid_incr(&start)) {
        reply_error(&c->r, "ERR invalid start ID for the interval");
        return;
    }
    for (int j = 6; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c, j, "count") && more) {
            long long v;
            if (arg_ll_msg(c, j + 1, &v, "ERR COUNT must be > 0") < 0)
                return;
            /* Redis 7.0: LONG_MAX / max(sizeof(streamID), attempts factor). */
            if (v < 1 || v > LONG_MAX / 16) {
                reply_error(&c->r, "ERR COUNT must be > 0");
                return;
            }
            count = v;
            j++;
        } else if (arg_is(c, j, "justid")) {
            justid = 1;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    kv_stream *s = o ? kobj_stream(o) : NULL;
    stream_group *g = s ? stream_group_find(s, c->argv[2], c->lens[2]) : NULL;
    if (!g) {
        reply_errorf(&c->r, "NOGROUP No such key '%.*s' or consumer group '%.*s'",
                     (int)c->lens[1], c->argv[1], (int)c->lens[2], c->argv[2]);
        return;
    }
    stream_consumer *sc = NULL;
    long long attempts = count * 10;
    int64_t now = c->now_ms;
    /* The cursor comes first but is known last: entries go to a side buffer. */
    kbuf side = KBUF_INIT;
    reply saved = c->r;
    c->r = reply_make(&side, saved.resp);
    long n = 0;
    sid *deleted = NULL;
    size_t ndel = 0, capdel = 0;
    size_t i = pel_lower_bound(&g->pel, start);
    while (attempts-- && count && i < pel_len(&g->pel)) {
        stream_nack *nk = pel_at(&g->pel, i);
        sid id = nk->id;
        if (!stream_has(s, id)) {
            xlog_claim(c, c->argv[1], c->lens[1], g, nk);
            group_pel_remove(g, nk);
            if (ndel == capdel) {
                capdel = capdel ? capdel * 2 : 8;
                deleted = kv_realloc(deleted, capdel * sizeof *deleted);
            }
            deleted[ndel++] = id;
            count--; /* as Redis 7.0: deleted IDs count towards COUNT */
            continue; /* i now points at the next nack */
        }
        i++;
        if (minidle && now - nk->delivery_time < minidle)
            continue;
        if (!sc) {
            int created;
            sc = xconsumer(c, g, c->argv[1], c->lens[1], c->argv[3], c->lens[3], &created);
        }
        group_pel_move(nk, sc);
        nk->delivery_time = now;
        if (!justid)
            nk->delivery_count++;
        if (justid)
            xreply_id(c, id);
        else
            xreply_one(c, s, id);
        n++;
        count--;
        xlog_claim(c, c->argv[1], c->lens[1], g, nk);
    }
    c->r = saved;
    sid endid = {0, 0};
    if (i < pel_len(&g->pel))
        endid = pel_at(&g->pel, i)->id;
    reply_array(&c->r, 3);
    xreply_id(c, endid);
    reply_array(&c->r, n);
    kbuf_append(c->r.out, kbuf_data(&side), kbuf_len(&side));
    kbuf_free(&side);
    reply_array(&c->r, (long)ndel);
    for (size_t k = 0; k < ndel; k++)
        xreply_id(c, deleted[k]);
    kv_free(deleted);
}
