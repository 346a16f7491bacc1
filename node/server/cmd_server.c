/* cmd_server.c — server commands: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME,
 * SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF, SHUTDOWN and SLOWLOG.
 *
 * Snapshots and transactions. A snapshot at LSN S must hold exactly the
 * effects of the entries <= S. Inside EXEC the block's effects are in the
 * keyspace but its entry is not logged yet (it is one entry, logged when
 * EXEC ends), so no snapshot may start there: BGSAVE and BGREWRITEAOF are
 * scheduled for the next cron tick (Redis replies "scheduled" inside EXEC
 * too), and SAVE refuses. For us BGREWRITEAOF is a snapshot: once it is
 * published the WAL segments it covers are deleted (compaction), which is
 * what rewriting the AOF achieves in Redis. */
#include "server.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "reply.h"

#include <string.h>
#include <sys/time.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* Keyspace                                                                  */
/* ------------------------------------------------------------------------ */

static void cmd_dbsize(cmd_ctx *c)
{
    reply_int(&c->r, (long long)ks_size(c->k));
}

/* FLUSHDB [ASYNC|SYNC] drops the selected database's keys, FLUSHALL every
 * database's: ASYNC hands them to the lazyfree thread, SYNC frees them
 * now, neither does what lazyfree-lazy-user-flush says (Redis's
 * getFlushCommandFlags). Watchers of keys that existed are touched first,
 * as Redis's signalFlushedDb. Logged as "FLUSHDB" (in its database) or
 * "FLUSHALL", when anything was there. */
static void flush_generic(cmd_ctx *c, int all)
{
    if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "ASYNC") && !arg_is(c, 1, "SYNC"))) {
        reply_err_syntax(&c->r);
        return;
    }
    int lazy = c->argc == 2 ? arg_is(c, 1, "ASYNC") : c->env->lazy_user_flush;
    int first = all ? 0 : c->db, end = all ? c->ndbs : c->db + 1;
    /* Tracking clients hear that every key may have changed, whatever
     * was there (Redis's signalFlushedDb). */
    if (!c->replay || c->replica_apply)
        tracking_flushed(c->srv);
    for (int db = first; db < end; db++) {
        if (!ks_size(c->dbs[db]))
            continue;
        if (!c->replay)
            watch_touch_db(c->srv, db, NULL);
        ks_clear_lazy(c->dbs[db], lazy);
        c->dirty++;
    }
    /* Logged even when there was nothing to flush, as Redis propagates it
     * (forceCommandPropagation), with the client's arguments. */
    cmd_propagate(c, c->argc, (const char *const *)c->argv, c->lens);
    reply_ok(&c->r);
}

static void cmd_flushall(cmd_ctx *c)
{
    flush_generic(c, 1);
    /* With save points, Redis saves an RDB right away (its dirty counter
     * is then 0): a snapshot once this FLUSHALL is logged (dispatch.c). */
    if (!c->replay && c->srv->cfg.nsave > 0)
        c->srv->save_after_request = 1;
}

static void cmd_flushdb(cmd_ctx *c)
{
    flush_generic(c, 0);
}

/* SWAPDB index1 index2, as Redis 7.0: clients keep their database number
 * and see the other's keys from now on; watchers of a key that exists in
 * either are touched. Logged as itself (swapping a database with itself
 * changes nothing and logs nothing). */
static void cmd_swapdb(cmd_ctx *c)
{
    int a, b;
    if (arg_int(c, 1, &a, "ERR invalid first DB index") < 0 ||
        arg_int(c, 2, &b, "ERR invalid second DB index") < 0)
        return;
    if (a < 0 || a >= c->ndbs || b < 0 || b >= c->ndbs) {
        reply_error(&c->r, "ERR DB index is out of range");
        return;
    }
    if (a != b) {
        if (!c->replay) {
            watch_touch_db(c->srv, a, c->dbs[b]);
            watch_touch_db(c->srv, b, c->dbs[a]);
        }
        ks *t = c->dbs[a];
        c->dbs[a] = c->dbs[b];
        c->dbs[b] = t;
        cmd_use_db(c, c->db);
        if (!c->replay)
            blocking_db_swapped(c->srv, a, b);
        c->dirty++;
    }
    reply_ok(&c->r);
}

static void cmd_time(cmd_ctx *c)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    reply_array(&c->r, 2);
    reply_bulk_ll(&c->r, (long long)tv.tv_sec);
    reply_bulk_ll(&c->r, (long long)tv.tv_usec);
}

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                 */
/* ------------------------------------------------------------------------ */

/* Inside EXEC, or effects of this request not logged yet: no snapshot
 * now (Redis schedules BGSAVE inside EXEC too). */
static int entry_pending(cmd_ctx *c)
{
    return engine_entry_pending(c->srv->eng) > 0;
}

static int in_exec(cmd_ctx *c)
{
    return c->srv->in_exec || entry_pending(c);
}

static int snapshot_running(cmd_ctx *c)
{
    engine_stats st;
    engine_get_stats(c->srv->eng, &st);
    return st.bgsave_in_progress;
}

static void cmd_save(cmd_ctx *c)
{
    client *cl = c->cl;
    if (cl && (cl->flags & CL_MULTI)) {
        /* SAVE is no_multi in Redis 7: refused, and EXEC will abort. */
        cl->flags |= CL_DIRTY_EXEC;
        reply_error(&c->r, "ERR Command not allowed inside a transaction");
        return;
    }
    if (snapshot_running(c)) {
        reply_error(&c->r, "ERR Background save already in progress");
        return;
    }
    if (entry_pending(c)) {
        reply_error(&c->r, "ERR SAVE inside a transaction that already wrote is not supported: "
                           "the snapshot would hold half of the transaction");
        return;
    }
    char err[256];
    int rc = engine_save(c->srv->eng, err, sizeof err);
    if (rc) {
        log_warn("SAVE failed: %s", err);
        reply_errorf(&c->r, "ERR %s", err);
        return;
    }
    reply_ok(&c->r);
}

/* Start a background snapshot now, or schedule one. Returns 1 if started,
 * 0 if scheduled, -1 on failure (err set). */
static int bgsave_or_schedule(cmd_ctx *c, int allow_schedule, char *err, size_t errlen)
{
    server *s = c->srv;
    if (in_exec(c) || (allow_schedule && snapshot_running(c))) {
        s->bgsave_scheduled = 1;
        return 0;
    }
    int rc = engine_bgsave(s->eng, err, errlen);
    if (rc)
        return -1;
    return 1;
}

static void cmd_bgsave(cmd_ctx *c)
{
    if (c->argc > 1 && !(c->argc == 2 && arg_is(c, 1, "SCHEDULE"))) {
        reply_err_syntax(&c->r);
        return;
    }
    if (snapshot_running(c)) {
        reply_error(&c->r, "ERR Background save already in progress");
        return;
    }
    char err[256];
    int rc = bgsave_or_schedule(c, 0, err, sizeof err);
    if (rc == 0)
        reply_simple(&c->r, "Background saving scheduled");
    else if (rc == 1)
        reply_simple(&c->r, "Background saving started");
    else
        reply_errorf(&c->r, "ERR %s", err);
}

static void cmd_bgrewriteaof(cmd_ctx *c)
{
    char err[256];
    int rc = bgsave_or_schedule(c, 1, err, sizeof err);
    if (rc == 0)
        reply_simple(&c->r, "Background append only file rewriting scheduled");
    else if (rc == 1)
        reply_simple(&c->r, "Background append only file rewriting started");
    else {
        log_warn("BGREWRITEAOF: cannot start a snapshot: %s", err);
        reply_error(&c->r, "ERR Can't execute an AOF background rewriting. Please check the "
                           "server logs for more information.");
    }
}

static void cmd_lastsave(cmd_ctx *c)
{
    engine_stats st;
    engine_get_stats(c->srv->eng, &st);
    reply_int(&c->r, (long long)st.last_save_time);
}

/* ------------------------------------------------------------------------ */
/* SHUTDOWN                                                                  */
/* ------------------------------------------------------------------------ */

/* The shutdown runs from a timer right after the command: the command's
 * caller still uses the engine when the proc returns, and server_shutdown
 * closes it. */
static void on_shutdown_closed(uv_handle_t *h)
{
    kv_free(h);
}

static void on_shutdown_timer(uv_timer_t *t)
{
    server *s = t->data;
    s->shutdown_timer = NULL;
    uv_close((uv_handle_t *)t, on_shutdown_closed);
    server_shutdown(s, 0);
}

enum { SD_NOSAVE = 1, SD_SAVE = 2, SD_NOW = 4, SD_FORCE = 8, SD_ABORT = 16 };

static void cmd_shutdown(cmd_ctx *c)
{
    server *s = c->srv;
    client *cl = c->cl;
    if (cl && (cl->flags & CL_MULTI)) {
        /* SHUTDOWN is no_multi in Redis 7: refused, and EXEC will abort. */
        cl->flags |= CL_DIRTY_EXEC;
        reply_error(&c->r, "ERR Command not allowed inside a transaction");
        return;
    }
    int flags = 0;
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(c, i, "NOSAVE"))
            flags |= SD_NOSAVE;
        else if (arg_is(c, i, "SAVE"))
            flags |= SD_SAVE;
        else if (arg_is(c, i, "NOW"))
            flags |= SD_NOW;
        else if (arg_is(c, i, "FORCE"))
            flags |= SD_FORCE;
        else if (arg_is(c, i, "ABORT"))
            flags |= SD_ABORT;
        else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    if (((flags & SD_ABORT) && flags != SD_ABORT) ||
        ((flags & SD_NOSAVE) && (flags & SD_SAVE))) {
        reply_err_syntax(&c->r);
        return;
    }
    if (flags & SD_ABORT) {
        if (server_handover_abort(s)) {
            log_warn("Shutdown manually aborted.");
            reply_ok(&c->r);
            return;
        }
        if (!s->shutdown_timer) {
            reply_error(&c->r, "ERR No shutdown in progress.");
            return;
        }
        uv_timer_stop(s->shutdown_timer);
        uv_close((uv_handle_t *)s->shutdown_timer, on_shutdown_closed);
        s->shutdown_timer = NULL;
        log_warn("Shutdown manually aborted.");
        reply_ok(&c->r);
        return;
    }
    if (s->shutdown_timer)
        return; /* already on its way */
    if (s->loading) {
        /* Nothing to save yet: exit as soon as loading yields (Redis). */
        log_warn("User requested shutdown while loading the data...");
        s->loading_exit = 1;
        if (cl)
            client_close_after_reply(cl);
        return;
    }
    log_warn("User requested shutdown...");
    if (flags & SD_SAVE) {
        char err[256];
        int rc = snapshot_running(c) ? kve_fmt(err, sizeof err, KVE_BUSY,
                                                "a snapshot is already in progress")
                                      : engine_save(s->eng, err, sizeof err);
        if (rc) {
            log_warn("Error trying to save the snapshot on shutdown: %s", err);
            if (!(flags & SD_FORCE)) {
                reply_error(&c->r, "ERR Errors trying to SHUTDOWN. Check logs.");
                return;
            }
        }
    }
    /* A leader hands over first (Redis waits for its replicas): the
     * client waits, with no reply, until the node exits, or SHUTDOWN
     * ABORT answers it an error. */
    if (s->handover_deadline || (!(flags & SD_NOW) && server_handover_start(s))) {
        if (cl)
            server_block_shutdown(s, cl);
        return;
    }
    /* No reply: the connection closes as the process exits (Redis). */
    uv_timer_t *t = kv_malloc(sizeof *t);
    uv_timer_init(s->loop, t);
    t->data = s;
    uv_timer_start(t, on_shutdown_timer, 0, 0);
    s->shutdown_timer = t;
    if (cl)
        client_close_after_reply(cl);
}

/* ------------------------------------------------------------------------ */
/* SLOWLOG                                                                   */
/* ------------------------------------------------------------------------ */

void admin_reply_help(cmd_ctx *c, const char *cmd, const char *const *lines)
{
    reply_deferred d = reply_defer(&c->r);
    long n = 0;
    char head[128];
    snprintf(head, sizeof head, "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             cmd);
    reply_simple(&c->r, head);
    n++;
    for (; *lines; lines++, n++)
        reply_simple(&c->r, *lines);
    reply_simple(&c->r, "HELP");
    reply_simple(&c->r, "    Prints this help.");
    n += 2;
    reply_set_array_len(&c->r, d, n);
}

static void slowlog_get_cmd(cmd_ctx *c)
{
    server *s = c->srv;
    long long count = 10;
    if (c->argc > 3) {
        reply_err_subcommand_syntax(&c->r, "slowlog", 7, c->argv[1], c->lens[1]);
        return;
    }
    if (c->argc == 3) {
        if (!kv_string2ll(c->argv[2], c->lens[2], &count) || count < -1) {
            reply_error(&c->r, "ERR count should be greater than or equal to -1");
            return;
        }
        if (count == -1)
            count = (long long)s->slowlog_len;
    }
    if ((unsigned long long)count > s->slowlog_len)
        count = (long long)s->slowlog_len;
    reply_array(&c->r, count);
    for (long long i = 0; i < count; i++) {
        const slowlog_entry *e = slowlog_get(s, (size_t)i);
        reply_array(&c->r, 6);
        reply_int(&c->r, (long long)e->id);
        reply_int(&c->r, (long long)e->time);
        reply_int(&c->r, (long long)e->duration_us);
        reply_array(&c->r, e->argc);
        for (int j = 0; j < e->argc; j++)
            reply_bulk(&c->r, e->argv[j], e->lens[j]);
        reply_bulk_cstr(&c->r, e->addr);
        reply_bulk_cstr(&c->r, e->name);
    }
}

static void slowlog_len_cmd(cmd_ctx *c)
{
    reply_int(&c->r, (long long)c->srv->slowlog_len);
}

static void slowlog_reset_cmd(cmd_ctx *c)
{
    slowlog_reset(c->srv);
    reply_ok(&c->r);
}

static void slowlog_help_cmd(cmd_ctx *c)
{
    static const char *const lines[] = {
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        NULL,
    };
    admin_reply_help(c, "SLOWLOG", lines);
}

/* ------------------------------------------------------------------------ */
/* MODULE                                                                    */
/* ------------------------------------------------------------------------ */

/* kvnode loads no modules: the list is empty. LOAD, LOADEX and UNLOAD are
 * protected commands, refused before they run (dispatch.c) unless
 * enable-module-command allows them; then a load fails as a module that
 * cannot be loaded does in Redis, and there is nothing to unload. */
static void module_list_cmd(cmd_ctx *c)
{
    reply_array(&c->r, 0);
}

static void module_load_cmd(cmd_ctx *c)
{
    log_warn("Module %.*s failed to load: kvnode does not load modules", (int)c->lens[2],
             c->argv[2]);
    reply_error(&c->r, "ERR Error loading the extension. Please check the server logs.");
}

static void module_unload_cmd(cmd_ctx *c)
{
    reply_error(&c->r, "ERR Error unloading module: no such module with that name");
}

static void module_help_cmd(cmd_ctx *c)
{
    static const char *const lines[] = {
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations and "
        "optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
        NULL,
    };
    admin_reply_help(c, "MODULE", lines);
}

/* ------------------------------------------------------------------------ */
/* Table                                                                     */
/* ------------------------------------------------------------------------ */

const kv_command cmds_server[] = {
    {"dbsize", cmd_dbsize, 1, CMD_READONLY | CMD_FAST, 0, 0, 0, "server",
     "Returns the number of keys in the database.", "1.0.0", "@keyspace @read @fast"},
    {"flushall", cmd_flushall, -1, CMD_WRITE, 0, 0, 0, "server",
     "Removes all keys from all databases.", "1.0.0",
     "@keyspace @write @slow @dangerous"},
    {"flushdb", cmd_flushdb, -1, CMD_WRITE, 0, 0, 0, "server",
     "Remove all keys from the current database.", "1.0.0",
     "@keyspace @write @slow @dangerous"},
    {"swapdb", cmd_swapdb, 3, CMD_WRITE | CMD_FAST, 0, 0, 0, "server",
     "Swaps two Redis databases", "4.0.0", "@keyspace @write @fast @dangerous"},
    {"time", cmd_time, 1, CMD_FAST | CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0, "server",
     "Returns the server time.", "2.6.0", "@fast"},
    {"save", cmd_save, 1, CMD_ADMIN | CMD_NOMULTI | CMD_NO_ASYNC_LOADING | CMD_NOT_IN_MULTI | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Synchronously saves the database(s) to disk.", "1.0.0", "@admin @slow @dangerous"},
    {"bgsave", cmd_bgsave, -1, CMD_ADMIN | CMD_NO_ASYNC_LOADING | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Asynchronously saves the database(s) to disk.", "1.0.0", "@admin @slow @dangerous"},
    {"bgrewriteaof", cmd_bgrewriteaof, 1, CMD_ADMIN | CMD_NO_ASYNC_LOADING | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Asynchronously rewrites the append-only file to disk.", "1.0.0",
     "@admin @slow @dangerous"},
    {"lastsave", cmd_lastsave, 1, CMD_FAST | CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0, "server",
     "Returns the Unix timestamp of the last successful save to disk.", "1.0.0",
     "@admin @fast @dangerous"},
    {"shutdown", cmd_shutdown, -1,
     CMD_ADMIN | CMD_STALE | CMD_NOMULTI | CMD_NOBARRIER | CMD_ALLOW_BUSY | CMD_LOADING | CMD_NOT_IN_MULTI | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Synchronously saves the database(s) to disk and shuts down the Redis server.",
     "1.0.0", "@admin @slow @dangerous"},
    {"slowlog", command_container, -2, CMD_NOBARRIER, 0, 0, 0, "server",
     "A container for slow log commands.", "2.2.12", "@slow"},
    {"slowlog|get", slowlog_get_cmd, -2, CMD_ADMIN | CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0,
     "server", "Returns the slow log's entries.", "2.2.12", "@admin @slow @dangerous"},
    {"slowlog|len", slowlog_len_cmd, 2, CMD_ADMIN | CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0,
     "server", "Returns the number of entries in the slow log.", "2.2.12",
     "@admin @slow @dangerous"},
    {"slowlog|reset", slowlog_reset_cmd, 2, CMD_ADMIN | CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0,
     "server", "Clears all entries from the slow log.", "2.2.12", "@admin @slow @dangerous"},
    {"slowlog|help", slowlog_help_cmd, 2, CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0, "server",
     "Show helpful text about the different subcommands", "6.2.0", "@slow"},
    {"module", command_container, -2, 0, 0, 0, 0, "server", "A container for module commands",
     "4.0.0", "@slow"},
    {"module|help", module_help_cmd, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "server",
     "Show helpful text about the different subcommands", "5.0.0", "@slow"},
    {"module|list", module_list_cmd, 2, CMD_ADMIN | CMD_NOSCRIPT, 0, 0, 0, "server",
     "List all modules loaded by the server", "4.0.0", "@admin @slow @dangerous"},
    {"module|load", module_load_cmd, -3,
     CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_PROTECTED, 0, 0, 0, "server",
     "Load a module", "4.0.0", "@admin @slow @dangerous"},
    {"module|loadex", module_load_cmd, -3,
     CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_PROTECTED, 0, 0, 0, "server",
     "Load a module with extended parameters", "7.0.0", "@admin @slow @dangerous"},
    {"module|unload", module_unload_cmd, 3,
     CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_PROTECTED, 0, 0, 0, "server",
     "Unload a module", "4.0.0", "@admin @slow @dangerous"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
