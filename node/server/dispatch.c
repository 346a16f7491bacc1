/* dispatch.c — from a parsed request to a reply: checks, MULTI/EXEC,
 * WATCH, logging the effects, the reply barrier; and replay of logged
 * effects.
 *
 * Order of checks for a request, as Redis 7's processCommand: unknown
 * command, arity, authentication, -LOADING while the node loads its data
 * at startup (only commands that need no data run then), the node's state (a failed WAL refuses
 * every data command (MISCONF), a replica refuses writes (READONLY), a
 * full disk refuses writes (MISCONF) while reads go on), RESP2's
 * subscribed mode (only (P|S)(UN)SUBSCRIBE, PING, QUIT and RESET), then
 * (inside MULTI) queueing.
 *
 * After a command runs, its effects (lazy-expiry DELs, then its own argv or
 * what it propagated) form one WAL entry; a MULTI/EXEC block forms one
 * entry for all its commands. The reply then waits for the LSN last
 * assigned (see server.h, the reply barrier).
 */
#include "server.h"

#include "dict.h"
#include "err.h"
#include "repl.h"
#include "log.h"
#include "mem.h"
#include "reply.h"
#include "script.h"

#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* WATCH bookkeeping: per database, key -> clients watching it               */
/* ------------------------------------------------------------------------ */

/* s->watched_keys is an array of s->ndbs dicts, one per database number:
 * a client watches (db, key), and SWAPDB leaves watchers where they are
 * (as Redis, which swaps a database's keys but not its watched_keys). */

typedef struct watch_node {
    dict_node dn;
    client **cls;
    int n, cap;
    size_t klen;
    char key[];
} watch_node;

static void watch_key_of(const dict_node *n, const void **key, size_t *len)
{
    const watch_node *w = (const watch_node *)n;
    *key = w->key;
    *len = w->klen;
}

static const dict_type watch_type = {watch_key_of};

void dispatch_init(server *s)
{
    dict *d = kv_calloc((size_t)s->ndbs, sizeof *d);
    for (int i = 0; i < s->ndbs; i++)
        dict_init(&d[i], &watch_type);
    s->watched_keys = d;
    commands_init();
    scripting_init(s);
}

static dict *watch_dict(server *s, int db)
{
    return &((dict *)s->watched_keys)[db];
}

static void free_watch_node(dict_node *n, void *arg)
{
    (void)arg;
    watch_node *w = (watch_node *)n;
    kv_free(w->cls);
    kv_free(w);
}

void dispatch_free(server *s)
{
    script_shutdown();
    if (!s->watched_keys)
        return;
    for (int i = 0; i < s->ndbs; i++)
        dict_clear(watch_dict(s, i), free_watch_node, NULL);
    kv_free(s->watched_keys);
    s->watched_keys = NULL;
}

/* Redis's keyIsExpired: present with a TTL in the past (a replica too:
 * WATCH judges by the clock, as Redis). */
static int key_is_expired(ks *k, const char *key, size_t klen)
{
    kobj *o = ks_find(k, key, klen);
    if (!o)
        return 0;
    int64_t e = kobj_expire(o);
    return e >= 0 && e <= server_mstime();
}

static void watch_add(client *c, const char *key, size_t klen)
{
    for (int i = 0; i < c->nwatched; i++)
        if (c->watched_dbs[i] == c->db && c->watched_lens[i] == klen &&
            !memcmp(c->watched[i], key, klen))
            return;
    dict *d = watch_dict(c->srv, c->db);
    watch_node *w = (watch_node *)dict_find(d, key, klen);
    if (!w) {
        w = kv_calloc(1, sizeof *w + klen);
        w->klen = klen;
        memcpy(w->key, key, klen);
        dict_add(d, &w->dn);
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4;
        w->cls = kv_realloc(w->cls, (size_t)w->cap * sizeof *w->cls);
    }
    w->cls[w->n++] = c;
    if (c->nwatched == c->capwatched) {
        c->capwatched = c->capwatched ? c->capwatched * 2 : 4;
        size_t cap = (size_t)c->capwatched;
        c->watched = kv_realloc(c->watched, cap * sizeof *c->watched);
        c->watched_lens = kv_realloc(c->watched_lens, cap * sizeof *c->watched_lens);
        c->watched_dbs = kv_realloc(c->watched_dbs, cap * sizeof *c->watched_dbs);
        c->watched_expired = kv_realloc(c->watched_expired, cap * sizeof *c->watched_expired);
    }
    c->watch_mem += klen + sizeof *c->watched + sizeof *c->watched_lens +
                    sizeof *c->watched_dbs + sizeof *c->watched_expired + sizeof(void *);
    c->watched[c->nwatched] = kv_memdup(key, klen);
    c->watched_dbs[c->nwatched] = c->db;
    c->watched_expired[c->nwatched] =
        (unsigned char)(c->srv->dbs && key_is_expired(c->srv->dbs[c->db], key, klen));
    c->watched_lens[c->nwatched++] = klen;
}

void watch_unwatch_all(client *c)
{
    for (int i = 0; i < c->nwatched; i++) {
        dict *d = watch_dict(c->srv, c->watched_dbs[i]);
        watch_node *w = (watch_node *)dict_find(d, c->watched[i], c->watched_lens[i]);
        if (w) {
            for (int j = 0; j < w->n; j++) {
                if (w->cls[j] == c) {
                    w->cls[j] = w->cls[--w->n];
                    break;
                }
            }
            if (!w->n) {
                dict_remove(d, w->key, w->klen);
                free_watch_node(&w->dn, NULL);
            }
        }
        kv_free(c->watched[i]);
    }
    kv_free(c->watched);
    kv_free(c->watched_lens);
    kv_free(c->watched_dbs);
    kv_free(c->watched_expired);
    c->watched = NULL;
    c->watched_lens = NULL;
    c->watched_dbs = NULL;
    c->watched_expired = NULL;
    c->nwatched = c->capwatched = 0;
    c->watch_mem = 0;
    c->flags &= ~CL_DIRTY_CAS;
}

/* c's watch of (db, key): its index in c->watched (it is there: w lists c). */
static int watched_index(const client *c, int db, const char *key, size_t klen)
{
    for (int i = 0; i < c->nwatched; i++)
        if (c->watched_dbs[i] == db && c->watched_lens[i] == klen &&
            !memcmp(c->watched[i], key, klen))
            return i;
    return -1;
}

void watch_touch(server *s, int db, const char *key, size_t klen)
{
    if (!s->watched_keys)
        return;
    dict *d = watch_dict(s, db);
    if (!dict_size(d))
        return;
    watch_node *w = (watch_node *)dict_find(d, key, klen);
    if (!w)
        return;
    for (int i = 0; i < w->n; i++) {
        client *c = w->cls[i];
        int j = watched_index(c, db, key, klen);
        if (j >= 0 && c->watched_expired[j]) {
            /* As Redis's touchWatchedKey: a key already expired when it
             * was WATCHed and now deleted is no logical change (the flag
             * goes: deleted keys are not expired ones). Expiry touches
             * the key just before deleting it: still logically absent,
             * also no change (the flag stays until it is really gone). */
            if (!ks_find(s->dbs[db], key, klen)) {
                c->watched_expired[j] = 0;
                continue;
            }
            if (key_is_expired(s->dbs[db], key, klen))
                continue;
        }
        c->flags |= CL_DIRTY_CAS;
    }
}

void watch_touch_db(server *s, int db, ks *replaced_with)
{
    stream_block_signal_db(s, db);
    if (!s->watched_keys)
        return;
    dict *d = watch_dict(s, db);
    if (!dict_size(d))
        return;
    dict_iter it;
    dict_iter_init(&it, d);
    dict_node *n;
    while ((n = dict_iter_next(&it))) {
        watch_node *w = (watch_node *)n;
        /* As Redis's touchAllWatchedKeysInDb: only keys that exist in
         * either, and stale (expired) keys on both sides are no change. */
        int in_emptied = ks_find(s->dbs[db], w->key, w->klen) != NULL;
        int in_new = replaced_with && ks_find(replaced_with, w->key, w->klen);
        if (!in_emptied && !in_new)
            continue;
        int new_expired = in_new && key_is_expired(replaced_with, w->key, w->klen);
        for (int i = 0; i < w->n; i++) {
            client *c = w->cls[i];
            int j = watched_index(c, db, w->key, w->klen);
            if (j >= 0 && c->watched_expired[j]) {
                if (!in_new) {
                    c->watched_expired[j] = 0; /* expired key now deleted */
                    continue;
                }
                if (new_expired)
                    continue; /* expired key remains expired */
            } else if (j >= 0 && !in_emptied && new_expired) {
                c->watched_expired[j] = 1; /* none replaced with an expired key */
                continue;
            }
            c->flags |= CL_DIRTY_CAS;
        }
    }
    dict_iter_done(&it);
}

/* Redis's isWatchedKeyExpired: a key live when WATCHed has expired since
 * (EXEC then fails). */
static int watched_key_expired(client *c)
{
    for (int i = 0; i < c->nwatched; i++)
        if (!c->watched_expired[i] &&
            key_is_expired(c->srv->dbs[c->watched_dbs[i]], c->watched[i], c->watched_lens[i]))
            return 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* MULTI queue                                                               */
/* ------------------------------------------------------------------------ */

void multi_reset(client *c)
{
    for (int i = 0; i < c->nmq; i++) {
        for (int j = 0; j < c->mq[i].argc; j++)
            kv_free(c->mq[i].argv[j]);
        kv_free(c->mq[i].argv);
        kv_free(c->mq[i].lens);
    }
    kv_free(c->mq);
    c->mq = NULL;
    c->nmq = c->capmq = 0;
    c->mq_mem = 0;
    c->mq_flags = 0;
    c->mq_inv_flags = 0;
    c->flags &= ~(CL_MULTI | CL_DIRTY_EXEC | CL_DIRTY_CAS);
}

static void multi_queue(client *c, uint32_t flags, int argc, const char *const *argv,
                        const size_t *lens)
{
    c->mq_flags |= flags;
    c->mq_inv_flags |= ~flags;
    if (c->nmq == c->capmq) {
        c->capmq = c->capmq ? c->capmq * 2 : 8;
        c->mq = kv_realloc(c->mq, (size_t)c->capmq * sizeof *c->mq);
    }
    queued_cmd *q = &c->mq[c->nmq++];
    q->argc = argc;
    q->argv = kv_malloc((size_t)argc * sizeof *q->argv);
    q->lens = kv_malloc((size_t)argc * sizeof *q->lens);
    c->mq_mem += sizeof *q + (size_t)argc * (sizeof *q->argv + sizeof *q->lens);
    for (int i = 0; i < argc; i++) {
        q->argv[i] = kv_memdup(argv[i], lens[i]);
        q->lens[i] = lens[i];
        c->mq_mem += lens[i];
    }
}

/* ------------------------------------------------------------------------ */
/* Execution                                                                 */
/* ------------------------------------------------------------------------ */

static int64_t ustime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void server_ctx_init(cmd_ctx *c, server *s, client *cl, kbuf *out, int resp)
{
    cmd_ctx_init(c, &s->env, s->dbs, s->ndbs, cl ? cl->db : 0, out, resp);
    c->srv = s;
    c->cl = cl;
}

static void finish_request(client *cl, const kv_command *cmd, uint32_t flags,
                           uint64_t reply_offset);
static void drop_reply(client *cl, uint64_t from);
static void cmd_exec(cmd_ctx *c);
static uint64_t ncalls; /* call_cmd runs, to tell a refused request (CLIENT REPLY) */

/* A command's call counted in its stats (when it ran, or for a blocking
 * command when its block ended): duration, failure, slowlog, latency. */
void server_count_error(server *s, const char *err, size_t len)
{
    s->stats.error_replies++;
    if (len && err[0] == '-') {
        err++;
        len--;
    }
    /* Redis's afterErrorReply: the code is what precedes the first space
     * of the first 32 bytes; "ERR" when there is none. */
    const char *sp = memchr(err, ' ', len < 32 ? len : 32);
    size_t n = sp ? (size_t)(sp - err) : 3;
    const char *name = sp ? err : "ERR";
    size_t lo = 0, hi = s->nerrstats;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *m = s->errstats[mid].name;
        size_t ml = strlen(m);
        int cmp = memcmp(m, name, ml < n ? ml : n);
        if (!cmp)
            cmp = (ml > n) - (ml < n);
        if (!cmp) {
            s->errstats[mid].count++;
            return;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->nerrstats == s->caperrstats) {
        s->caperrstats = s->caperrstats ? s->caperrstats * 2 : 16;
        s->errstats = kv_realloc(s->errstats, s->caperrstats * sizeof *s->errstats);
    }
    memmove(&s->errstats[lo + 1], &s->errstats[lo], (s->nerrstats - lo) * sizeof *s->errstats);
    s->nerrstats++;
    memcpy(s->errstats[lo].name, name, n);
    s->errstats[lo].name[n] = 0;
    s->errstats[lo].count = 1;
}

void server_reset_errors(server *s)
{
    kv_free(s->errstats);
    s->errstats = NULL;
    s->nerrstats = s->caperrstats = 0;
}

/* The error line that starts at `off` in cl's output (the call failed). */
static void count_error_at(server *s, const kbuf *out, size_t off)
{
    size_t len = kbuf_len(out) - off;
    server_count_error(s, kbuf_data(out) + off, len);
}

static void count_call(client *cl, const kv_command *cmd, int argc, const char *const *argv,
                       const size_t *lens, int64_t dur, const char *err, size_t errlen,
                       int err_nostats)
{
    server *s = cl->srv;
    cmd_stat *st = &s->cmd_stats[command_index(cmd)];
    st->calls++;
    st->usec += (uint64_t)dur;
    if (err) {
        /* An error a script raised from redis.call was counted when the
         * command failed or was refused (Redis's
         * ERR_REPLY_FLAG_NO_STATS_UPDATE): the script's call only fails. */
        st->failed++;
        if (!err_nostats)
            server_count_error(s, err, errlen);
    }
    /* EXEC is not logged, the commands it ran are (Redis's skip_slowlog). */
    if (s->cfg.slowlog_log_slower_than >= 0 && dur >= s->cfg.slowlog_log_slower_than &&
        !(cmd->flags & CMD_SKIP_SLOWLOG))
        slowlog_push(s, cl, argc, argv, lens, dur);
    latency_note(s, cmd, argc, argv, lens, dur);
    const kv_command *real = cmd;
    if (argc > 1 && command_is_container(cmd)) {
        real = command_lookup_sub(cmd, argv[1], lens[1]);
        if (!real)
            real = cmd;
    }
    latency_monitor_sample(s, (real->flags & CMD_FAST) ? "fast-command" : "command", dur / 1000);
}

/* Does a tracking client remember the keys of this call? Read-only
 * commands (a container's subcommand by its own flags), except the
 * read-only script commands: the reads of their scripts count instead. */
static int tracks_reads(const kv_command *cmd, int argc, const char *const *argv,
                        const size_t *lens)
{
    if (argc > 1 && command_is_container(cmd)) {
        cmd = command_lookup_sub(cmd, argv[1], lens[1]);
        return cmd && (cmd->flags & CMD_READONLY);
    }
    return (cmd->flags & CMD_READONLY) && !script_is_script_command(cmd);
}

/* The command a call is logged (and replayed) as: a container's write
 * subcommand (XGROUP CREATE, FUNCTION LOAD), else the command itself. */
static const kv_command *logged_as(const kv_command *cmd, int argc, const char *const *argv,
                                   const size_t *lens)
{
    if (argc > 1 && command_is_container(cmd)) {
        const kv_command *sub = command_lookup_sub(cmd, argv[1], lens[1]);
        if (sub && (sub->flags & CMD_WRITE))
            return sub;
    }
    return cmd;
}

/* Is a call that changed data logged as its own arguments? */
static int logs_as_write(const kv_command *cmd, int argc, const char *const *argv,
                         const size_t *lens)
{
    return (logged_as(cmd, argc, argv, lens)->flags & CMD_WRITE) != 0;
}

/* Run cmd for client cl; its effects join the entry being built. serve_key:
 * serving cl, blocked in cmd, from that key (blocking.c). Returns 1 if a
 * long script parked (its request is not over). */
static int call_cmd(client *cl, const kv_command *cmd, int argc, const char *const *argv,
                     const size_t *lens, int64_t now_ms, const char *serve_key,
                     size_t serve_klen)
{
    server *s = cl->srv;
    cmd_ctx c;
    server_ctx_init(&c, s, cl, &cl->out, cl->resp);
    c.cmd = cmd;
    c.argc = argc;
    c.argv = argv;
    c.lens = lens;
    c.now_ms = now_ms;
    /* Blocking is allowed to a client's own command, not inside EXEC (as
     * Redis's CLIENT_DENY_BLOCKING for MULTI). */
    c.deny_blocking = s->in_exec;
    c.serve_key = serve_key;
    c.serve_klen = serve_klen;
    c.xunblocking = s->rerun_client == cl;
    int db = c.db;
    size_t before = kbuf_len(&cl->out);
    s->current = cl;
    /* Before the call, as Redis: CLIENT LIST shows a client's own command
     * (a container refines it to the subcommand's name). */
    cl->last_cmd = cmd->name;
    cl->cmd_off = client_out_offset(cl); /* where its reply begins (cmd_pubsub.c) */
    uint64_t start_off = cl->cmd_off;
    ncalls++;
    /* Shown after it ran (below), except the script commands: before,
     * so that their scripts' calls follow them (Redis's evalCommand). */
    int shown = !serve_key && !c.xunblocking && s->nmonitors;
    if (shown && (cmd->flags & CMD_SKIP_MONITOR)) {
        monitor_feed(s, cl, 0, db, cmd, argc, argv, lens);
        shown = 0;
    }
    /* A Redis replica gets no replies to its own commands (REPLCONF ACK),
     * only the stream (Redis's prepareClientToWrite). */
    int to_replica = cl->sync != NULL;
    int64_t t0 = ustime();
    cmd->proc(&c);
    int64_t dur = ustime() - t0;
    s->current = NULL;
    if (shown && monitor_shows(cmd, argc, argv, lens))
        monitor_feed(s, cl, 0, c.db, cmd, argc, argv, lens);
    int failed = kbuf_len(&cl->out) > before && kbuf_data(&cl->out)[before] == '-';
    /* CLIENT REPLY OFF / SKIP: the reply goes (a message to the client
     * itself before it stays; one after it is still in ps_later). EXEC's
     * reply starts where EXEC began (its commands moved cmd_off); inside
     * it each command's own reply goes as it is written, as Redis. */
    if ((cl->flags & (CL_REPLY_OFF | CL_REPLY_SKIP)) || to_replica)
        drop_reply(cl, cmd->proc == cmd_exec ? start_off : cl->cmd_off);
    /* A tracking client remembers the keys a read-only command named
     * (Redis's call(); a re-run XREAD was remembered when it blocked). */
    if (cl->trk && !c.xunblocking && tracks_reads(cmd, argc, argv, lens))
        tracking_remember(s, cl, cmd, argc, argv, lens);
    /* A stream read that parks is counted when its block ends (a re-run
     * that answers, or stream_block.c on timeout / CLIENT UNBLOCK), once,
     * as Redis 7.0's updateStatsOnUnblock; total_commands counts it when
     * it first runs. */
    int xparked = 0;
    if (c.xblock) {
        stream_block_request(s, cl, &c);
        xparked = (cl->flags & CL_BLOCKED) || (s->rerun_client == cl && s->rerun_blocked);
    }
    pubsub_after_command(cl);
    if (!s->in_exec)
        tracking_after_command(s, cl);
    if (c.close_client)
        client_close_after_reply(cl);
    /* In the database it was called in. */
    if (c.dirty && !c.propagated && logs_as_write(cmd, argc, argv, lens))
        engine_entry_add(s->eng, db, argc, (const char **)argv, lens);
    if (c.block && !serve_key) {
        /* Counted when the block ends (served, timed out, unblocked), as
         * Redis counts a blocking command once. */
        s->stats.total_commands++;
        blocking_block(s, cl, cmd, argc, argv, lens, &c);
        return 0;
    }
    if (c.block) {
        /* Served from a key that holds no value of the awaited type after
         * all: never expected (blocking.c checks first); answer as a
         * timeout rather than block again. */
        reply_null_array(&c.r);
    }
    if (!serve_key && !c.xunblocking)
        s->stats.total_commands++;
    if (xparked)
        return c.parked;
    count_call(cl, cmd, argc, argv, lens, dur, failed ? kbuf_data(&cl->out) + before : NULL,
               failed ? kbuf_len(&cl->out) - before : 0, c.err_nostats);
    return c.parked;
}

static int call(client *cl, const kv_command *cmd, int argc, const char *const *argv,
                const size_t *lens, int64_t now_ms)
{
    return call_cmd(cl, cmd, argc, argv, lens, now_ms, NULL, 0);
}

void dispatch_count_blocked(client *c, const kv_command *cmd, int argc, const char *const *argv,
                            const size_t *lens, const char *error)
{
    count_call(c, cmd, argc, argv, lens, 0, error, error ? strlen(error) : 0, 0);
}

void dispatch_serve_blocked(client *c, const kv_command *cmd, int argc, const char *const *argv,
                            const size_t *lens, const char *key, size_t klen)
{
    uint64_t off = client_out_offset(c);
    call_cmd(c, cmd, argc, argv, lens, server_mstime(), key, klen);
    finish_request(c, cmd, cmd->flags, off);
}

static void cmd_exec(cmd_ctx *c);

/* Redis's execCommandAbort: an EXEC refused before it runs (arity, BUSY,
 * NOAUTH, READONLY, ...) ends the transaction, MULTI or not, and says why
 * ("EXECABORT Transaction discarded because of: <error>"). */
static int exec_refused(client *cl, const kv_command *cmd, const char *msg)
{
    if (!cmd || cmd->proc != cmd_exec)
        return 0;
    reply r = reply_make(&cl->out, cl->resp);
    reply_errorf(&r, "EXECABORT Transaction discarded because of: %s", msg);
    server_count_error(cl->srv, "EXECABORT", 9);
    cl->srv->cmd_stats[command_index(cmd)].rejected++;
    multi_reset(cl);
    watch_unwatch_all(cl);
    return 1;
}

/* The NOPERM error when cl's user may not run cmd (logged in the ACL
 * log), else 0. */
static int acl_refusal(client *cl, const kv_command *cmd, int argc, const char *const *argv,
                       const size_t *lens, char *msg, size_t len)
{
    int ctx = (cl->flags & CL_MULTI) ? ACL_CTX_MULTI : ACL_CTX_TOPLEVEL;
    const char *last = cl->last_cmd;
    cl->last_cmd = cmd->name; /* Redis's lastcmd is the command refused (log, CLIENT LIST) */
    switch (acl_check_client(cl, cmd, argc, argv, lens, ctx)) {
    case ACL_OK:
        cl->last_cmd = last;
        return 0;
    case ACL_DENIED_CMD:
        snprintf(msg, len, "NOPERM this user has no permissions to run the '%s' command",
                 cmd->name);
        return 1;
    case ACL_DENIED_KEY:
        snprintf(msg, len,
                 "NOPERM this user has no permissions to access one of the keys used as "
                 "arguments");
        return 1;
    default:
        snprintf(msg, len,
                 "NOPERM this user has no permissions to access one of the channels used as "
                 "arguments");
        return 1;
    }
}

static void reject(client *cl, const kv_command *cmd, const char *msg)
{
    if (exec_refused(cl, cmd, msg))
        return;
    reply r = reply_make(&cl->out, cl->resp);
    reply_error(&r, msg);
    server_count_error(cl->srv, msg, strlen(msg));
    if (cmd)
        cl->srv->cmd_stats[command_index(cmd)].rejected++;
    if (cl->flags & CL_MULTI)
        cl->flags |= CL_DIRTY_EXEC;
}

/* Redis's -MISCONF for a write it cannot log (writeCommandsDeniedByDiskError
 * with the AOF's errno): the disk has no room for a new WAL segment and
 * the current one cannot hold a record of about `bytes`. NULL otherwise. */
static const char *disk_refusal(server *s, size_t bytes, char *buf, size_t len)
{
    const char *why;
    if (engine_can_write(s->eng, bytes, &why) == 0)
        return NULL;
    snprintf(buf, len, "MISCONF Errors writing to the AOF file: %s",
             why && why[0] ? why : "No space left on device");
    return buf;
}

/* Room a write asks for: twice its arguments, and never less than 4 KiB,
 * so that once the disk refuses small writes it refuses every write, DEL
 * included, as Redis does in that state. */
static size_t record_estimate(int argc, const size_t *lens)
{
    size_t bytes = 64;
    for (int i = 0; i < argc; i++)
        bytes += lens[i] + 16;
    return bytes * 2 > 4096 ? bytes * 2 : 4096;
}

/* Why the node cannot run this command now, or NULL. */
static const char *state_refusal(client *cl, const kv_command *cmd, uint32_t flags, int argc,
                                 const size_t *lens, char *buf, size_t len)
{
    server *s = cl->srv;
    int data = flags & (CMD_WRITE | CMD_READONLY);
    const char *why;
    if (data && engine_failed(s->eng, &why)) {
        snprintf(buf, len, "MISCONF Errors writing to the WAL: %s. The node refuses "
                           "commands that touch data until it is restarted.",
                 why);
        return buf;
    }
    /* Redis refuses writes, and PING, while it cannot persist them, before
     * its min-replicas and read-only checks: after a failed background
     * snapshot when save points are set (stop-writes-on-bgsave-error), or
     * while the disk is full. A write that fits the room left still runs;
     * PING is refused once a 4 KiB one would not (the state INFO shows as
     * aof_last_write_status:err). */
    int is_ping = !(flags & CMD_WRITE) && cmd && !strcmp(cmd->name, "ping");
    if (s->eng && ((flags & CMD_WRITE) || is_ping) && s->cfg.stop_writes_on_bgsave_error &&
        s->cfg.nsave > 0 && !engine_last_snapshot_ok(s->eng))
        return "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
               "persist to disk. Commands that may modify the data set are disabled, because "
               "this instance is configured to report errors during writes if RDB snapshotting "
               "fails (stop-writes-on-bgsave-error option). Please check the Redis logs for "
               "details about the RDB error.";
    if (s->eng && (flags & CMD_WRITE)) {
        if (disk_refusal(s, record_estimate(argc, lens), buf, len)) {
            s->stats.writes_refused_nospace++;
            return buf;
        }
    } else if (s->eng && is_ping && disk_refusal(s, 4096, buf, len)) {
        return buf;
    }
    if (!data)
        return NULL;
    if ((flags & CMD_WRITE) && !repl_writable(s->repl))
        return "READONLY You can't write against a read only replica.";
    if (!server_serving_reads(s))
        return "MASTERDOWN Link with MASTER is down and this replica has no committed data to "
               "serve yet (it waits to hear from a primary).";
    if ((flags & CMD_WRITE) && s->cfg.min_replicas_ack > 0 &&
        repl_good_replicas(s->repl) < s->cfg.min_replicas_ack)
        return "NOREPLICAS Not enough good replicas to write.";
    return NULL;
}

/* The flags that decide how a request is checked and held: a container's
 * subcommand adds its own (FUNCTION LOAD writes, FUNCTION LIST reads), and
 * a script command takes those of its script or function (script.h). */
static uint32_t effective_flags(const kv_command *cmd, int argc, const char *const *argv,
                                const size_t *lens)
{
    if (argc > 1 && command_is_container(cmd)) {
        const kv_command *sub = command_lookup_sub(cmd, argv[1], lens[1]);
        return sub ? cmd->flags | sub->flags : cmd->flags;
    }
    return script_command_flags(cmd, argc, argv, lens);
}

/* What a node that is loading its data may run: Redis's commands flagged
 * "loading" that need neither the keyspace nor the log (INFO shows the
 * progress). Everything else answers -LOADING. */
static int allowed_while_loading(const kv_command *cmd)
{
    static const char *const names[] = {"auth",   "hello",   "quit",     "select", "info",
                                        "config", "client",  "command",  "time",   "shutdown",
                                        "slowlog", "latency", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(cmd->name, names[i]))
            return 1;
    return 0;
}

static void cmd_exec(cmd_ctx *c);
static void cmd_discard(cmd_ctx *c);

/* The flags of the commands in cl's MULTI queue together (Redis's
 * mstate.cmd_flags: a queued EVAL counts with its shebang's flags, as
 * getCommandFlags gives them when it is queued). */
static uint32_t queue_flags(const client *cl)
{
    return cl->mq_flags;
}

/* Does cl's MULTI queue hold a command that may grow memory? */
static int queue_denyoom(const client *cl)
{
    return (queue_flags(cl) & CMD_DENYOOM) != 0;
}

/* Redis's maxmemory step of processCommand: evict while over the limit;
 * when nothing more can go, refuse commands that may grow memory (and,
 * inside MULTI, everything but EXEC, DISCARD, QUIT and RESET: queuing
 * takes memory too). 1 if cmd must be refused with -OOM. */
static int refuse_oom(client *cl, const kv_command *cmd, int argc, const char *const *argv,
                      const size_t *lens)
{
    server *s = cl->srv;
    s->pre_command_oom = server_evict(s) == EVICT_FAIL;
    if (!s->pre_command_oom)
        return 0;
    /* Scripts count with the flags of their shebang or function (Redis's
     * getCommandFlags): "#!lua" without allow-oom or no-writes is deny-oom. */
    int denyoom = (effective_flags(cmd, argc, argv, lens) & CMD_DENYOOM) ||
                  (cmd->proc == cmd_exec && queue_denyoom(cl));
    if ((cl->flags & CL_MULTI) && cmd->proc != cmd_exec && cmd->proc != cmd_discard &&
        strcmp(cmd->name, "quit") != 0 && strcmp(cmd->name, "reset") != 0)
        denyoom = 1;
    return denyoom;
}

/* Whether cl's reply needs a barrier mark, and adds it. */
static void hold_reply(client *cl, const kv_command *cmd, uint32_t flags, uint64_t reply_offset,
                       int logged)
{
    server *s = cl->srv;
    /* A replica's keyspace only ever holds committed entries. */
    if ((flags & CMD_NOBARRIER) || s->env.replica)
        return;
    /* A failed WAL never commits again: a mark would hold this reply
     * forever. A command that neither touches data nor logged anything
     * (SAVE, BGSAVE …) reveals nothing uncommitted: let it answer. */
    if (!logged && !(flags & (CMD_WRITE | CMD_READONLY)) && cmd->proc != cmd_exec &&
        engine_failed(s->eng, NULL))
        return;
    uint64_t need = engine_last_lsn(s->eng);
    /* What it read was this leader's view: answer at once under the lease,
     * else once a heartbeat round begun after it is acknowledged (ReadIndex).
     * A command that logged an entry is confirmed by that entry's commit. */
    uint64_t round = 0;
    if (!logged && (flags & (CMD_WRITE | CMD_READONLY)) && !repl_lease_valid(s->repl))
        round = repl_read_round(s->repl);
    if (need > s->commit_lsn || round > s->confirmed_round)
        client_add_mark(cl, reply_offset, need, round);
}

/* After a request: log what it did, hold its reply until committed, then
 * the messages it delivered (after the reply's own mark: see
 * cmd_pubsub.c). */
static void finish_request(client *cl, const kv_command *cmd, uint32_t flags,
                           uint64_t reply_offset)
{
    server *s = cl->srv;
    if (!s->eng || s->loading)
        return; /* loading: nothing ran that touches data */
    int logged = engine_entry_pending(s->eng) > 0;
    engine_entry_commit(s->eng);
    hold_reply(cl, cmd, flags, reply_offset, logged);
    /* A REPLICAOF inside EXEC left the rest of the transaction to run as
     * the primary: from now on it takes no writes. */
    if (s->repl)
        repl_request_done(s->repl);
    pubsub_settle(s);
    if (s->save_after_request && !engine_entry_pending(s->eng)) {
        s->save_after_request = 0;
        char err[256];
        engine_stats st;
        engine_get_stats(s->eng, &st);
        if (!st.bgsave_in_progress && engine_save(s->eng, err, sizeof err) != 0)
            log_warn("Snapshot after FLUSHALL failed: %s", err);
    }
}

/* RESP2's subscribed mode: Redis 7.0 allows only these. */
static int allowed_when_subscribed(const kv_command *cmd)
{
    static const char *const ok[] = {"ping",         "subscribe",   "ssubscribe",
                                     "psubscribe",   "unsubscribe", "sunsubscribe",
                                     "punsubscribe", "quit",        "reset"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!strcmp(cmd->name, ok[i]))
            return 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Parked scripts (script.h)                                                 */
/* ------------------------------------------------------------------------ */

/* What may run while a script is parked: Redis's "allow-busy" commands. */
static int allowed_while_busy(const kv_command *cmd, int argc, const char *const *argv,
                              const size_t *lens)
{
    static const char *const names[] = {"auth", "hello", "quit", "shutdown", "multi",
                                        "discard", "watch", "unwatch", "reset", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(cmd->name, names[i]))
            return 1;
    if (argc > 1 && command_is_container(cmd)) {
        const kv_command *sub = command_lookup_sub(cmd, argv[1], lens[1]);
        return sub && (!strcmp(sub->name, "script|kill") || !strcmp(sub->name, "function|kill") ||
                       !strcmp(sub->name, "function|stats"));
    }
    return 0;
}

static void on_script_idle(uv_idle_t *h)
{
    server *s = h->data;
    if (!script_resume())
        return;
    uv_idle_stop(h);
    client *cl = s->script_cl;
    s->script_cl = NULL;
    if (cl) {
        cl->flags &= ~CL_BLOCKED;
        finish_request(cl, s->script_cmd, s->script_flags, s->script_off);
        client_unblock(cl);
        client_flush(cl);
    } else if (s->eng) {
        engine_entry_commit(s->eng); /* its writes stand, as in Redis */
    }
    blocking_after_command(s); /* its writes may serve blocked clients */
}

static void script_parked(server *s, client *cl, const kv_command *cmd, uint32_t flags,
                          uint64_t off)
{
    s->script_cl = cl;
    s->script_cmd = cmd;
    s->script_flags = flags;
    s->script_off = off;
    cl->flags |= CL_BLOCKED;
    if (!s->script_idle_init) {
        uv_idle_init(s->loop, &s->script_idle);
        s->script_idle.data = s;
        s->script_idle_init = 1;
    }
    uv_idle_start(&s->script_idle, on_script_idle);
}

void dispatch_script_client_gone(server *s, client *c)
{
    if (script_busy() && s->script_cl == c) {
        script_detach_caller();
        s->script_cl = NULL;
    }
}

void dispatch_script_stop(server *s)
{
    if (s->script_idle_init) {
        uv_idle_stop(&s->script_idle);
        uv_close((uv_handle_t *)&s->script_idle, NULL);
        s->script_idle_init = 0;
    }
}

static void dispatch_request(client *cl, const kv_command *cmd, int argc,
                             const char *const *argv, const size_t *lens);

/* CLIENT REPLY OFF / SKIP: the request's reply (what it wrote to the
 * output from `from` on) is dropped. Marks added by the request point at
 * its start, which stays the end. */
static void drop_reply(client *cl, uint64_t from)
{
    if (client_out_offset(cl) > from && from >= cl->out_base)
        kbuf_truncate(&cl->out, (size_t)(from - cl->out_base));
}

void dispatch_blocked_reply_done(client *cl, uint64_t from)
{
    if (cl->flags & CL_REPLY_OFF)
        drop_reply(cl, from);
}

void dispatch_command(client *cl, int argc, const char *const *argv, const size_t *lens)
{
    const kv_command *cmd = command_lookup(argv[0], lens[0]);
    uint64_t from = client_out_offset(cl);
    uint64_t calls = ncalls;
    dispatch_request(cl, cmd, argc, argv, lens);
    if (cl->flags & CL_POSTPONED)
        return; /* not run yet: dispatched again, whole, after the pause */
    /* A refusal (unknown command, arity, NOAUTH, QUEUED …) is a reply too;
     * a command's own reply was dropped by call_cmd. */
    if ((cl->flags & (CL_REPLY_OFF | CL_REPLY_SKIP) || cl->sync) && calls == ncalls)
        drop_reply(cl, from);
    /* As Redis's resetClient: SKIP covers one request, the one after the
     * CLIENT REPLY SKIP. */
    cl->flags &= ~CL_REPLY_SKIP;
    if (cl->flags & CL_REPLY_SKIP_NEXT)
        cl->flags = (cl->flags & ~CL_REPLY_SKIP_NEXT) | CL_REPLY_SKIP;
    /* CLIENT CACHING YES|NO holds for the next command only: a request
     * other than a CLIENT subcommand ends it, outside MULTI (Redis's
     * resetClient). */
    if ((cl->trk & TRK_CACHING) && !(cl->flags & CL_MULTI) &&
        !(cmd && argc > 1 && !strcmp(cmd->name, "client") &&
          command_lookup_sub(cmd, argv[1], lens[1])))
        cl->trk &= ~TRK_CACHING;
}

static void dispatch_request(client *cl, const kv_command *cmd, int argc,
                             const char *const *argv, const size_t *lens)
{
    server *s = cl->srv;
    if (!cmd) {
        size_t off = kbuf_len(&cl->out);
        reply r = reply_make(&cl->out, cl->resp);
        reply_err_unknown_command(&r, argc, argv, lens);
        count_error_at(s, &cl->out, off);
        if (cl->flags & CL_MULTI)
            cl->flags |= CL_DIRTY_EXEC;
        return;
    }
    if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity)) {
        if (exec_refused(cl, cmd, "wrong number of arguments for 'exec' command"))
            return;
        size_t off = kbuf_len(&cl->out);
        reply r = reply_make(&cl->out, cl->resp);
        reply_err_arity(&r, cmd->name);
        count_error_at(s, &cl->out, off);
        s->cmd_stats[command_index(cmd)].rejected++;
        if (cl->flags & CL_MULTI)
            cl->flags |= CL_DIRTY_EXEC;
        return;
    }
    if (argc > 1 && command_is_container(cmd)) {
        /* Subcommand and its arity are checked before queuing, as Redis. */
        size_t off = kbuf_len(&cl->out);
        reply r = reply_make(&cl->out, cl->resp);
        if (command_check_sub(cmd, argc, argv, lens, &r, s->cmd_stats) < 0) {
            count_error_at(s, &cl->out, off);
            if (cl->flags & CL_MULTI)
                cl->flags |= CL_DIRTY_EXEC;
            return;
        }
    }
    /* Protected commands: after arity, before authentication (Redis's
     * processCommand order): DEBUG and MODULE LOAD/LOADEX/UNLOAD, as their
     * enable-*-command option allows. */
    const kv_command *eff =
        argc > 1 && command_is_container(cmd) ? command_lookup_sub(cmd, argv[1], lens[1]) : cmd;
    if (eff && (eff->flags & CMD_PROTECTED)) {
        int debug = !strcmp(cmd->name, "debug");
        if (!protected_allowed(debug ? s->cfg.enable_debug_command : s->cfg.enable_module_command,
                               cl)) {
            char msg[320];
            snprintf(msg, sizeof msg, KV_ERR_PROTECTED_FMT, debug ? "DEBUG" : "MODULE",
                     debug ? "enable-debug-command" : "enable-module-command");
            reject(cl, cmd, msg);
            return;
        }
    }
    if (acl_auth_required(cl) && !(cmd->flags & CMD_NOAUTH)) {
        reject(cl, cmd, "NOAUTH Authentication required.");
        return;
    }
    /* The user's permissions (Redis's ACLCheckAllPerm), for the
     * subcommand of a container. */
    if (eff) {
        char msg[256];
        if (acl_refusal(cl, eff, argc, argv, lens, msg, sizeof msg)) {
            reject(cl, cmd, msg);
            return;
        }
    }
    /* maxmemory-clients before keys, as Redis's processCommand: what the
     * commands before this one in a pipeline left in the output counts,
     * and evicting a client may spare the keys. */
    if (cl == s->current && clients_mem_limit(s)) {
        client_mem_update(cl);
        if (clients_evict(s, cl))
            return; /* this client was the one evicted */
    }
    int64_t now = server_mstime();
    evict_clock(&s->env, now);
    s->pre_command_oom = 0;
    if (s->env.maxmemory) {
        int oom = refuse_oom(cl, cmd, argc, argv, lens);
        pubsub_settle(s); /* the "evicted" events of the round */
        if (oom) {
            reject(cl, cmd, KV_ERR_OOM);
            return;
        }
    }
    /* Keep the tracking table within tracking-table-max-keys. */
    tracking_limit(s, cl);
    if (s->loading && !allowed_while_loading(cmd)) {
        reject(cl, cmd, "LOADING Redis is loading the dataset in memory");
        return;
    }
    char buf[512];
    uint32_t flags = effective_flags(cmd, argc, argv, lens);
    /* EXEC is a write (a read) when its queue holds one: the state checks
     * apply to it as a whole, as Redis's processCommand does with
     * mstate.cmd_flags (EXECABORT … NOREPLICAS, READONLY, MASTERDOWN). */
    if (cmd->proc == cmd_exec && (cl->flags & CL_MULTI))
        flags |= queue_flags(cl) & (CMD_WRITE | CMD_READONLY);
    const char *why = state_refusal(cl, cmd, flags, argc, lens, buf, sizeof buf);
    if (why) {
        reject(cl, cmd, why);
        return;
    }
    if ((cl->flags & CL_PUBSUB) && cl->resp == 2 && !allowed_when_subscribed(cmd)) {
        /* Named as Redis's fullname: "client|list" for a subcommand. */
        const kv_command *named = cmd;
        if (argc > 1 && command_is_container(cmd))
            named = command_lookup_sub(cmd, argv[1], lens[1]);
        snprintf(buf, sizeof buf,
                 "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                 "RESET are allowed in this context",
                 named->name);
        reject(cl, cmd, buf);
        return;
    }
    /* replica-serve-stale-data no: while its link is down a replica runs
     * only what is flagged "stale" (EXEC: only when everything queued is),
     * as Redis's processCommand. */
    if (!s->cfg.replica_serve_stale_data && s->env.replica && !repl_master_link_up(s->repl) &&
        (!(flags & CMD_STALE) ||
         (cmd->proc == cmd_exec && (cl->flags & CL_MULTI) && (cl->mq_inv_flags & CMD_STALE)))) {
        reject(cl, cmd,
               "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
        return;
    }
    if (script_busy() && !allowed_while_busy(cmd, argc, argv, lens)) {
        reject(cl, cmd,
               script_busy_is_eval()
                   ? "BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
                     "SHUTDOWN NOSAVE."
                   : "BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
                     "SHUTDOWN NOSAVE.");
        return;
    }
    /* CLIENT PAUSE: last of the checks, before queuing (Redis 7.0). An
     * EXEC counts with the flags of what it would run. */
    if (s->pause_type != PAUSE_OFF &&
        pause_postpones(s, cmd->proc == cmd_exec ? flags | queue_flags(cl) : flags)) {
        pause_postpone(s, cl, cmd);
        return;
    }
    if ((cl->flags & CL_MULTI) && !(cmd->flags & CMD_NOMULTI)) {
        multi_queue(cl, flags, argc, argv, lens);
        reply r = reply_make(&cl->out, cl->resp);
        reply_simple(&r, "QUEUED");
        return;
    }
    uint64_t off = client_out_offset(cl);
    if (call(cl, cmd, argc, argv, lens, now)) {
        script_parked(s, cl, cmd, flags, off);
        return;
    }
    finish_request(cl, cmd, flags, off);
    blocking_after_command(s);
}

/* ------------------------------------------------------------------------ */
/* MULTI / EXEC / DISCARD / WATCH / UNWATCH                                  */
/* ------------------------------------------------------------------------ */

static void cmd_multi(cmd_ctx *c)
{
    client *cl = c->cl;
    if (cl->flags & CL_MULTI) {
        reply_error(&c->r, "ERR MULTI calls can not be nested");
        return;
    }
    cl->flags |= CL_MULTI;
    reply_ok(&c->r);
}

static void cmd_discard(cmd_ctx *c)
{
    client *cl = c->cl;
    if (!(cl->flags & CL_MULTI)) {
        reply_error(&c->r, "ERR DISCARD without MULTI");
        return;
    }
    multi_reset(cl);
    watch_unwatch_all(cl);
    reply_ok(&c->r);
}

static void cmd_exec(cmd_ctx *c)
{
    client *cl = c->cl;
    if (!(cl->flags & CL_MULTI)) {
        reply_error(&c->r, "ERR EXEC without MULTI");
        return;
    }
    /* A block with writes is refused whole when the disk cannot log it
     * (Redis: EXEC counts as a write command then; execCommandAbort). */
    size_t wbytes = 0;
    for (int i = 0; i < cl->nmq; i++) {
        const kv_command *qc = command_lookup(cl->mq[i].argv[0], cl->mq[i].lens[0]);
        if (qc && (qc->flags & CMD_WRITE))
            wbytes += record_estimate(cl->mq[i].argc, cl->mq[i].lens);
    }
    char ebuf[300];
    if (wbytes && c->srv->eng && disk_refusal(c->srv, wbytes, ebuf, sizeof ebuf)) {
        reply_errorf(&c->r, "EXECABORT Transaction discarded because of: %s", ebuf);
        multi_reset(cl);
        watch_unwatch_all(cl);
        return;
    }
    if (cl->flags & CL_DIRTY_EXEC) {
        reply_error(&c->r, "EXECABORT Transaction discarded because of previous errors.");
        multi_reset(cl);
        watch_unwatch_all(cl);
        return;
    }
    /* EXEC with an expired watched key is disallowed (Redis 7.0). */
    if (watched_key_expired(cl))
        cl->flags |= CL_DIRTY_CAS;
    if (cl->flags & CL_DIRTY_CAS) {
        reply_null_array(&c->r);
        multi_reset(cl);
        watch_unwatch_all(cl);
        return;
    }
    /* Once EXEC runs, WATCHes are done; the block is one WAL entry. */
    watch_unwatch_all(cl);
    int n = cl->nmq;
    queued_cmd *q = cl->mq;
    cl->mq = NULL;
    cl->nmq = cl->capmq = 0;
    cl->mq_mem = 0;
    cl->flags &= ~CL_MULTI;
    reply_array(&c->r, n);
    char buf[512];
    c->srv->in_exec = 1;
    cl->exec_n = n;
    for (int i = 0; i < n; i++) {
        const kv_command *cmd = command_lookup(q[i].argv[0], q[i].lens[0]);
        /* ACLs may have changed since the command was queued (Redis checks
         * them again at EXEC). */
        const kv_command *eff = q[i].argc > 1 && command_is_container(cmd)
                                    ? command_lookup_sub(cmd, q[i].argv[1], q[i].lens[1])
                                    : cmd;
        if (eff) {
            int r = acl_check_client(cl, eff, q[i].argc, (const char *const *)q[i].argv,
                                     q[i].lens, ACL_CTX_MULTI);
            if (r != ACL_OK) {
                reply_errorf(&c->r,
                             "NOPERM ACLs rules changed between the moment the transaction was "
                             "accumulated and the EXEC call. This command is no longer allowed "
                             "for the following reason: %s",
                             r == ACL_DENIED_CMD
                                 ? "no permission to execute the command or subcommand"
                             : r == ACL_DENIED_KEY
                                 ? "no permission to touch the specified keys"
                                 : "no permission to access one of the channels used as "
                                   "arguments");
                continue;
            }
        }
        /* The node may have changed state since the command was queued. */
        uint32_t flags = effective_flags(cmd, q[i].argc, (const char *const *)q[i].argv, q[i].lens);
        const char *why = state_refusal(cl, cmd, flags, q[i].argc, q[i].lens, buf, sizeof buf);
        if (why) {
            reply_error(&c->r, why);
            continue;
        }
        call(cl, cmd, q[i].argc, (const char *const *)q[i].argv, q[i].lens, c->now_ms);
    }
    c->srv->in_exec = 0;
    cl->exec_n = -1;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < q[i].argc; j++)
            kv_free(q[i].argv[j]);
        kv_free(q[i].argv);
        kv_free(q[i].lens);
    }
    kv_free(q);
    /* EXEC itself is not logged: its commands were. */
    c->dirty = 0;
}

static void cmd_watch(cmd_ctx *c)
{
    client *cl = c->cl;
    if (cl->flags & CL_MULTI) {
        reply_error(&c->r, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    /* No point in watching once the client is dirty (as Redis). */
    if (cl->flags & CL_DIRTY_CAS) {
        reply_ok(&c->r);
        return;
    }
    for (int i = 1; i < c->argc; i++)
        watch_add(cl, c->argv[i], c->lens[i]);
    reply_ok(&c->r);
}

static void cmd_unwatch(cmd_ctx *c)
{
    watch_unwatch_all(c->cl);
    reply_ok(&c->r);
}

const kv_command cmds_multi[] = {
    {"multi", cmd_multi, 1, CMD_NOMULTI | CMD_FAST | CMD_NOBARRIER | CMD_ALLOW_BUSY | CMD_LOADING | CMD_STALE | CMD_NOSCRIPT, 0, 0, 0, "transactions",
     "Starts a transaction.", "1.2.0", "@fast @transaction"},
    {"exec", cmd_exec, 1, CMD_NOMULTI | CMD_LOADING | CMD_STALE | CMD_NOSCRIPT | CMD_SKIP_SLOWLOG, 0, 0, 0, "transactions",
     "Executes all commands in a transaction.", "1.2.0", "@slow @transaction"},
    {"discard", cmd_discard, 1, CMD_NOMULTI | CMD_FAST | CMD_NOBARRIER | CMD_ALLOW_BUSY | CMD_LOADING | CMD_STALE | CMD_NOSCRIPT, 0, 0, 0, "transactions",
     "Discards a transaction.", "2.0.0", "@fast @transaction"},
    {"watch", cmd_watch, -2, CMD_NOMULTI | CMD_FAST | CMD_NOBARRIER | CMD_ALLOW_BUSY | CMD_LOADING | CMD_STALE | CMD_NOSCRIPT, 1, -1, 1, "transactions",
     "Monitors changes to keys to determine the execution of a transaction.", "2.2.0",
     "@fast @transaction"},
    {"unwatch", cmd_unwatch, 1, CMD_NOMULTI | CMD_FAST | CMD_NOBARRIER | CMD_ALLOW_BUSY | CMD_LOADING | CMD_STALE | CMD_NOSCRIPT, 0, 0, 0, "transactions",
     "Forgets about watched keys of a transaction.", "2.2.0", "@fast @transaction"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

/* ------------------------------------------------------------------------ */
/* Replay                                                                    */
/* ------------------------------------------------------------------------ */

int dispatch_apply(void *arg, ks **dbs, int db, int argc, const char **argv, const size_t *lens,
                   char *err, size_t errlen)
{
    server *s = arg;
    const kv_command *cmd = command_lookup(argv[0], lens[0]);
    if (cmd)
        cmd = logged_as(cmd, argc, argv, lens);
    if (!cmd || !(cmd->flags & CMD_WRITE))
        return kve_fmt(err, errlen, KVE_CORRUPT, "logged command '%.*s' is not a write command",
                       (int)(lens[0] > 64 ? 64 : lens[0]), argv[0]);
    if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity))
        return kve_fmt(err, errlen, KVE_CORRUPT, "logged command '%s' has %d arguments",
                       cmd->name, argc);
    static kbuf scratch;
    kbuf_reset(&scratch);
    cmd_ctx c;
    cmd_ctx_init(&c, &s->env, dbs, s->ndbs, db, &scratch, 2);
    c.srv = s;
    c.cmd = cmd;
    c.argc = argc;
    c.argv = argv;
    c.lens = lens;
    c.replay = 1;
    /* One clock read per entry: the access stamp new keys take and the
     * command's time are the same instant. */
    int64_t now = server_mstime();
    evict_clock(&s->env, now);
    /* Records a replica applies from its primary's stream are announced
     * (keyspace events); recovery and rebuilds are silent. */
    c.replica_apply = s->eng && engine_applying_record(s->eng);
    c.now_ms = now;
    cmd->proc(&c);
    if (c.replica_apply)
        pubsub_settle(s);
    int rc = 0;
    if (kbuf_len(&scratch) && kbuf_data(&scratch)[0] == '-') {
        size_t n = kbuf_len(&scratch);
        rc = kve_fmt(err, errlen, KVE_CORRUPT, "replaying '%s' failed: %.*s", cmd->name,
                     (int)(n > 200 ? 200 : n - 2), kbuf_data(&scratch) + 1);
    }
    if (scratch.cap > (1u << 20))
        kbuf_free(&scratch);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Commands called by scripts (script_host)                                  */
/* ------------------------------------------------------------------------ */

const char *dispatch_write_refusal(server *s, client *cl, char *buf, size_t len)
{
    (void)s;
    if (!cl)
        return NULL;
    return state_refusal(cl, NULL, CMD_WRITE, 0, NULL, buf, len);
}

void dispatch_script_exec(server *s, cmd_ctx *caller, const kv_command *cmd, int argc,
                          const char *const *argv, const size_t *lens, kbuf *out, int resp,
                          int propagate)
{
    cmd_ctx c;
    server_ctx_init(&c, s, caller->cl, out, resp);
    /* The script's own database: it starts as the caller's, and a SELECT
     * in the script changes it for the script only (Redis 7). */
    cmd_use_db(&c, caller->db);
    c.in_script = 1;
    c.cmd = cmd;
    c.argc = argc;
    c.argv = argv;
    c.lens = lens;
    /* Time stands still while a script runs, as in Redis. */
    c.now_ms = caller->now_ms;
    int db = c.db;
    int client_db = caller->cl ? caller->cl->db : 0;
    int64_t t0 = ustime();
    s->script_nesting++;
    cmd->proc(&c);
    s->script_nesting--;
    int64_t dur = ustime() - t0;
    if (s->nmonitors && monitor_shows(cmd, argc, argv, lens))
        monitor_feed(s, caller->cl, 1, c.db, cmd, argc, argv, lens);
    /* A read of the script makes its tracking caller remember the keys
     * the script command declared (Redis 7.0 tracks the caller's argv). */
    if (caller->cl && caller->cl->trk && caller->cmd && (cmd->flags & CMD_READONLY))
        tracking_remember(s, caller->cl, caller->cmd, caller->argc, caller->argv, caller->lens);
    if (caller->cl)
        caller->cl->db = client_db;
    if (c.db != caller->db)
        cmd_use_db(caller, c.db);
    if (c.dirty && !c.propagated && logs_as_write(cmd, argc, argv, lens) && propagate)
        engine_entry_add(s->eng, db, argc, (const char **)argv, lens);
    s->stats.total_commands++;
    cmd_stat *st = &s->cmd_stats[command_index(cmd)];
    st->calls++;
    st->usec += (uint64_t)dur;
    if (kbuf_len(out) && kbuf_data(out)[0] == '-') {
        st->failed++;
        count_error_at(s, out, 0);
    }
}
