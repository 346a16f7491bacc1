/* server.c — process-level state: startup and recovery, listeners, the
 * commit point, background tasks, signals and graceful shutdown. */
#include "server.h"

#include "script.h"

#include "listen.h"

#include "dict.h"
#include "lazyfree.h"
#include "err.h"
#include "repl.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "rdb.h"
#include "thash.h"
#include "tlist.h"
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int64_t server_mstime(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

const char *server_role_name(const server *s)
{
    return s->env.replica ? "slave" : "master";
}

int server_serving_reads(const server *s)
{
    if (!s->repl)
        return 0;
    if (repl_role(s->repl) == REPL_LEADER)
        return engine_applied_lsn(s->eng) >= engine_last_lsn(s->eng);
    return repl_follower_serving(s->repl);
}

/* ------------------------------------------------------------------------ */
/* Commit point                                                              */
/* ------------------------------------------------------------------------ */

uint64_t server_compute_commit(server *s)
{
    return s->repl ? repl_commit_lsn(s->repl) : 0;
}

/* The WAL failed: replies held for entries that may never be durable are
 * replaced by an error and those clients are closed (their writes' outcome
 * is unknown, as after a crash). */
static void fail_waiting_clients(server *s, const char *why)
{
    char msg[512];
    snprintf(msg, sizeof msg,
             "MISCONF Errors writing to the WAL: %s. The outcome of this write is unknown.", why);
    client *c = s->waiting, *next;
    for (; c; c = next) {
        next = c->wnext;
        client_fail_pending(c, msg);
    }
}

static void on_wal_failed_exit(uv_timer_t *t)
{
    (void)t;
    log_warn("Exiting: the WAL failed (a supervisor restarts the node, which recovers from "
             "what its disk holds)");
    _exit(1);
}

/* A WAL that failed (a write or fsync error) is never trusted again by
 * this process: after a failed fsync the kernel may have dropped the pages
 * it could not write, so the page cache no longer shows what the disk
 * holds. Like etcd and PostgreSQL, the node exits (status 1) once the
 * waiting clients have their error: its peers elect a new primary at once
 * instead of following a primary that can take no write, and a supervisor
 * (systemd Restart=on-failure, Kubernetes, the compose restart policy)
 * starts it again to recover from what is on disk. */
static void wal_failed(server *s, const char *why)
{
    if (s->serving) {
        s->serving = 0;
        log_warn("WAL failed (%s): refusing data commands; exiting in 200 ms", why);
    }
    fail_waiting_clients(s, why);
    if (!s->wal_failed_timer && !s->shutting_down) {
        s->wal_failed_timer = kv_calloc(1, sizeof *s->wal_failed_timer);
        uv_timer_init(s->loop, s->wal_failed_timer);
        uv_timer_start(s->wal_failed_timer, on_wal_failed_exit, 200, 0);
    }
}

void server_commit_advanced(server *s)
{
    const char *why;
    if (engine_failed(s->eng, &why)) {
        wal_failed(s, why);
        return;
    }
    uint64_t c = server_compute_commit(s);
    uint64_t round = s->repl ? repl_confirmed_round(s->repl) : 0;
    if (c <= s->commit_lsn && round <= s->confirmed_round) {
        server_check_blocked(s);
        return;
    }
    if (c > s->commit_lsn)
        s->commit_lsn = c;
    if (round > s->confirmed_round)
        s->confirmed_round = round;
    client *cl = s->waiting, *next;
    for (; cl; cl = next) {
        next = cl->wnext;
        client_flush(cl);
    }
    sync_stream_feed(s);
    server_check_blocked(s);
}

void server_block_wait(server *s, client *c, uint64_t lsn, int replicas, int64_t deadline_ms)
{
    if (s->nblocked == s->capblocked) {
        s->capblocked = s->capblocked ? s->capblocked * 2 : 16;
        s->blocked = kv_realloc(s->blocked, s->capblocked * sizeof *s->blocked);
    }
    s->blocked[s->nblocked++] = c;
    c->block_lsn = lsn;
    c->block_pushed = 0;
    c->block_leads = 0;
    c->block_shutdown = 0;
    c->block_replicas = replicas;
    c->block_deadline_ms = deadline_ms;
    c->flags |= CL_BLOCKED;
}

void server_block_leads(server *s, client *c, int64_t deadline_ms)
{
    server_block_wait(s, c, 0, 0, deadline_ms);
    c->block_leads = 1;
}

void server_block_shutdown(server *s, client *c)
{
    server_block_wait(s, c, 0, 0, 0);
    c->block_shutdown = 1;
}

int server_unblock_wait(server *s, client *c, int error)
{
    for (size_t i = 0; i < s->nblocked; i++) {
        if (s->blocked[i] != c || c->block_leads || c->block_shutdown)
            continue; /* REPLICAOF, SHUTDOWN: no blocking commands for CLIENT UNBLOCK */
        s->blocked[i] = s->blocked[--s->nblocked];
        reply r = reply_make(&c->out, c->resp);
        if (error)
            reply_error(&r, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
        else
            reply_int(&r, s->repl ? repl_replicas_at(s->repl, c->block_lsn) : 0);
        /* It reads its pending input after the current command. */
        c->flags &= ~CL_BLOCKED;
        blocking_resume_later(s, c);
        return 1;
    }
    return 0;
}

void server_forget_blocked(server *s, client *c)
{
    for (size_t i = 0; i < s->nblocked; i++) {
        if (s->blocked[i] == c) {
            s->blocked[i] = s->blocked[--s->nblocked];
            return;
        }
    }
}

void server_check_blocked(server *s)
{
    if (!s->nblocked)
        return;
    int64_t now = server_mstime();
    for (size_t i = 0; i < s->nblocked;) {
        client *c = s->blocked[i];
        if (c->block_shutdown) {
            i++; /* until the node exits, or SHUTDOWN ABORT */
            continue;
        }
        if (c->block_leads) {
            int leads = s->repl && repl_writable(s->repl);
            if (!leads && now < c->block_deadline_ms) {
                i++;
                continue;
            }
            s->blocked[i] = s->blocked[--s->nblocked];
            reply r = reply_make(&c->out, c->resp);
            if (leads) {
                reply_ok(&r);
            } else {
                s->sent_quiet_switch = 0;
                reply_error(&r, "ERR this node did not become the primary in time (it needs "
                                "the votes of a majority, and the most up-to-date log): see "
                                "INFO replication");
            }
            client_unblock(c);
            client_flush(c);
            continue;
        }
        int n = s->repl ? repl_replicas_at(s->repl, c->block_lsn) : 0;
        if (n >= c->block_replicas || (c->block_deadline_ms && now >= c->block_deadline_ms)) {
            s->blocked[i] = s->blocked[--s->nblocked];
            reply r = reply_make(&c->out, c->resp);
            reply_int(&r, n);
            client_unblock(c);
            client_flush(c);
            continue;
        }
        /* Replicas apply an entry once they learn it is committed: tell
         * them now rather than at the next heartbeat. */
        if (!c->block_pushed && s->repl && repl_commit_lsn(s->repl) >= c->block_lsn) {
            c->block_pushed = 1;
            repl_read_round(s->repl);
        }
        i++;
    }
}

static void on_durable(void *arg)
{
    server *s = arg;
    if (s->repl)
        repl_on_durable(s->repl);
    server_commit_advanced(s);
}

/* ------------------------------------------------------------------------ */
/* Listeners                                                                 */
/* ------------------------------------------------------------------------ */

static void on_connection(uv_stream_t *l, int status)
{
    server *s = l->data;
    if (status < 0 || s->shutting_down)
        return;
    int unix_sock = l->type == UV_NAMED_PIPE;
    client *c = client_new(s, unix_sock);
    if (uv_accept(l, &c->h.stream) < 0) {
        client_close(c);
        return;
    }
    client_start(c);
}

/* One bind address ("-addr": optional, see kv_tcp_listen). A skipped
 * listener's handle stays in the array, unused, and is closed with the
 * others. */
static int listen_tcp(server *s, const char *addr, char *err, size_t errlen)
{
    uv_tcp_t *t = &s->tcp_listeners[s->ntcp++];
    int rc = kv_tcp_listen(s->loop, t, addr, s->cfg.port, s->cfg.tcp_backlog, on_connection, s);
    if (rc == KV_LISTEN_SKIPPED) {
        log_warn("Warning: Could not create server TCP listening socket %s:%d: not available "
                 "on this host, skipped",
                 addr[0] == '-' ? addr + 1 : addr, s->cfg.port);
        return 0;
    }
    if (rc == UV_EINVAL)
        return kve_fmt(err, errlen, KVE_INVAL, "Invalid bind address '%s'", addr);
    if (rc < 0)
        return kve_fmt(err, errlen, KVE_IO,
                       "Could not create server TCP listening socket %s:%d: %s", addr,
                       s->cfg.port, uv_strerror(rc));
    return 0;
}

/* The TCP listeners of cfg.port on every cfg.bind address (none for port
 * 0, or at run time for an empty bind). On failure the ones opened stay in
 * s->tcp_listeners for the caller to close. */
static int open_tcp_listeners(server *s, int runtime, char *err, size_t errlen)
{
    char storage[1024], *addrs[16];
    int n = 0;
    if (s->cfg.port) {
        if (strlen(s->cfg.bind) >= sizeof storage)
            return kve_fmt(err, errlen, KVE_INVAL, "bind list too long");
        n = config_split_line(s->cfg.bind, addrs, 16, storage);
        if (n < 0 || (n == 0 && !runtime))
            return kve_fmt(err, errlen, KVE_INVAL, "bind needs at least one address");
    }
    s->tcp_listeners = kv_calloc((size_t)(n ? n : 1), sizeof *s->tcp_listeners);
    s->ntcp = 0;
    for (int i = 0; i < n; i++) {
        int rc = listen_tcp(s, addrs[i], err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

/* Listeners closed at run time: their array is freed once libuv has closed
 * every one of them. */
typedef struct retired_listeners {
    uv_tcp_t *tcp;
    int left;
} retired_listeners;

static void on_retired_closed(uv_handle_t *h)
{
    retired_listeners *r = h->data;
    if (--r->left == 0) {
        kv_free(r->tcp);
        kv_free(r);
    }
}

static void close_tcp_listeners(server *s)
{
    retired_listeners *r = kv_calloc(1, sizeof *r);
    r->tcp = s->tcp_listeners;
    r->left = s->ntcp;
    for (int i = 0; i < s->ntcp; i++) {
        s->tcp_listeners[i].data = r;
        uv_close((uv_handle_t *)&s->tcp_listeners[i], on_retired_closed);
    }
    if (!r->left) {
        kv_free(r->tcp);
        kv_free(r);
    }
    s->tcp_listeners = NULL;
    s->ntcp = 0;
}

int server_relisten(server *s, char *err, size_t errlen)
{
    /* The old ones first (Redis's changeListenPort): the new addresses may
     * include theirs. libuv closes a listening socket at once. */
    close_tcp_listeners(s);
    int rc = open_tcp_listeners(s, 1, err, errlen);
    if (rc) {
        log_warn("CONFIG SET: %s", err);
        close_tcp_listeners(s);
        s->tcp_listeners = kv_calloc(1, sizeof *s->tcp_listeners);
        return rc;
    }
    log_notice("Listening for clients on %s port %d", s->cfg.bind, s->cfg.port);
    return 0;
}

int server_listen(server *s, char *err, size_t errlen)
{
    int rc = open_tcp_listeners(s, 0, err, errlen);
    if (rc)
        return rc;
    int n = s->ntcp;
    if (s->cfg.unixsocket && s->cfg.unixsocket[0]) {
        unlink(s->cfg.unixsocket);
        uv_pipe_init(s->loop, &s->unix_listener, 0);
        s->unix_listener.data = s;
        s->has_unix = 1;
        rc = uv_pipe_bind(&s->unix_listener, s->cfg.unixsocket);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&s->unix_listener, s->cfg.tcp_backlog, on_connection);
        if (rc < 0)
            return kve_fmt(err, errlen, KVE_IO, "Opening Unix socket %s: %s", s->cfg.unixsocket,
                           uv_strerror(rc));
        if (s->cfg.unixsocketperm)
            chmod(s->cfg.unixsocket, (mode_t)s->cfg.unixsocketperm);
    }
    if (!n && !s->has_unix)
        return kve_fmt(err, errlen, KVE_INVAL, "no listener: port is 0 and no unixsocket");
    return metrics_start(s, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* Background tasks                                                          */
/* ------------------------------------------------------------------------ */

/* A client's query buffer, as Redis's clientsCronResizeQueryBuffer: when
 * more than 4 KB of it is unused, an idle client (2 s without input) keeps
 * only its pending bytes (none: the buffer is freed), and a buffer over
 * 32 KB and over twice the recent peak is trimmed to that peak (not below
 * what the argument being received needs). The peak restarts from what is
 * buffered now. */
static void query_buffer_cron(client *c, int64_t now)
{
    size_t len = kbuf_len(&c->query);
    size_t want = resp_want(c->parser);
    if (c->query.cap - len > 4 * 1024) {
        if (now - c->last_ms > 2000) {
            kbuf_shrink(&c->query, 0);
        } else if (c->query.cap > 32 * 1024 && c->query.cap / 2 > c->query_peak) {
            size_t keep = c->query_peak > len ? c->query_peak : len;
            if (want > keep)
                keep = want;
            kbuf_shrink(&c->query, keep - len);
        }
    }
    c->query_peak = want > len ? want : len;
}

static void clients_cron(server *s)
{
    int64_t now = (int64_t)uv_now(s->loop); /* the clock of last_ms */
    client *c = s->clients, *next;
    for (; c; c = next) {
        next = c->next;
        if (c->flags & CL_CLOSING)
            continue;
        /* Subscribers, monitors and replicas wait for messages: never
         * idle, as in Redis. */
        if (s->cfg.timeout && !(c->flags & (CL_BLOCKED | CL_PUBSUB | CL_MONITOR)) && !c->sync &&
            !c->nmarks &&
            now - c->last_ms > s->cfg.timeout * 1000LL) {
            log_verbose("Closing idle client id=%llu addr=%s", (unsigned long long)c->id,
                        c->addr);
            client_close(c);
            continue;
        }
        /* A soft limit's seconds run out without traffic too (Redis's
         * clientsCron). */
        if (client_check_output_limits(c))
            continue;
        query_buffer_cron(c, now);
        client_reply_buffer_cron(c, now);
        client_mem_update(c);
    }
    /* Output piled up for readers that are not reading (Pub/Sub, big
     * replies) counts too; so does a lower maxmemory. */
    clients_evict(s, NULL);
}

static void handover_check(server *s, int64_t now);

/* Incremental rehashing, as Redis's databasesCron: visit up to 16
 * databases in turn, and give a millisecond to the first that needs it. */
static void rehash_cron(server *s)
{
    int visits = s->ndbs < 16 ? s->ndbs : 16;
    for (int v = 0; v < visits; v++) {
        int db = s->rehash_db < s->ndbs ? s->rehash_db : 0;
        s->rehash_db = db + 1 < s->ndbs ? db + 1 : 0;
        if (ks_rehash_ms(s->dbs[db], 1))
            break;
    }
}

/* The cron's rate: hz, or with dynamic-hz (Redis's serverCron) doubled
 * while there are more than 200 clients per tick, up to 500. */
#define CLIENTS_PER_TICK 200
#define MAX_HZ 500
static void cron_hz(server *s)
{
    int hz = s->cfg.hz;
    if (s->cfg.dynamic_hz)
        while ((int)(s->nclients / (size_t)hz) > CLIENTS_PER_TICK && hz < MAX_HZ)
            hz = hz * 2 > MAX_HZ ? MAX_HZ : hz * 2;
    if (hz != s->hz) {
        s->hz = hz;
        uv_timer_set_repeat(&s->cron, (uint64_t)(1000 / hz));
    }
}

static void on_cron(uv_timer_t *t)
{
    server *s = t->data;
    cron_hz(s);
    int64_t now = server_mstime();
    handover_check(s, now);
    if (s->shutting_down)
        return;
    /* DEBUG PAUSE-CRON: nothing periodic (expiry, stats, tracking-table
     * trimming …) until resumed; a failover handover and SHUTDOWN go on. */
    if (s->pause_cron)
        return;
    /* instantaneous_ops_per_sec over the last samples */
    if (now - s->stats.ops_last_ms >= 100) {
        uint64_t ops = s->stats.total_commands - s->stats.ops_last_total;
        int64_t dt = now - s->stats.ops_last_ms;
        s->stats.ops_samples[s->stats.ops_idx++ % 16] = dt > 0 ? ops * 1000 / (uint64_t)dt : 0;
        s->stats.ops_last_total = s->stats.total_commands;
        s->stats.ops_last_ms = now;
    }
    size_t used = kv_used_memory();
    if (used > s->stats.peak_memory)
        s->stats.peak_memory = used;
    /* Reads leave access stamps alone while a forked snapshot child shares
     * the keyspace's pages (as Redis with a child process). */
    if (s->eng) {
        engine_stats est;
        engine_get_stats(s->eng, &est);
        s->env.stamps_frozen = est.bgsave_pid != 0;
    }
    if (s->env.eviction_running)
        server_evict_soon(s);
    if (!s->shutting_down && s->serving && !script_busy()) {
        /* (Not while a script is parked: it holds the keyspace.) */
        if (s->active_expire) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            db_active_expire(&s->env, s->dbs, s->ndbs, now);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            latency_monitor_sample(s, "expire-cycle",
                                   (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 +
                                       (t1.tv_nsec - t0.tv_nsec) / 1000000);
            pubsub_settle(s); /* "expired" events */
        }
        if (s->cfg.activerehashing)
            rehash_cron(s);
    }
    /* Also here, so that a CONFIG SET of tracking-table-max-keys takes
     * effect on an idle server (as Redis's serverCron). */
    tracking_limit(s, NULL);
    if (s->bgsave_scheduled && !s->shutting_down && !engine_entry_pending(s->eng)) {
        engine_stats st;
        engine_get_stats(s->eng, &st);
        if (!st.bgsave_in_progress) {
            char err[256];
            s->bgsave_scheduled = 0;
            if (engine_bgsave(s->eng, err, sizeof err) != 0)
                log_warn("scheduled snapshot could not start: %s", err);
        }
    }
    clients_cron(s);
    sync_stream_cron(s, now);
    server_check_blocked(s);
    sentinel_observe(s);
}

/* SIGTERM on a leader hands leadership over first (FAILOVER.md §3): the
 * cluster keeps taking writes with at most a pause; the shutdown follows
 * once another node leads, or after 5 s. A second signal does not wait. */
static void on_signal(uv_signal_t *h, int sig)
{
    server *s = h->data;
    log_warn("Received %s scheduling shutdown...", sig == SIGINT ? "SIGINT" : "SIGTERM");
    if (s->loading) {
        s->loading_exit = 1; /* acted on as soon as loading yields */
        return;
    }
    char err[256];
    /* shutdown-on-sigint / -sigterm, as Redis: SAVE takes a snapshot first
     * (a failure keeps the node running unless FORCE); NOW does not wait
     * for a leadership handover. */
    int flags = sig == SIGINT ? s->cfg.shutdown_on_sigint : s->cfg.shutdown_on_sigterm;
    if ((flags & CFG_SHUTDOWN_SAVE) && !s->shutting_down) {
        if (engine_save(s->eng, err, sizeof err) != 0) {
            log_warn("Error trying to save the snapshot on shutdown: %s", err);
            if (!(flags & CFG_SHUTDOWN_FORCE)) {
                log_warn("%s received but errors trying to shut down the server, check the "
                         "logs for more information",
                         sig == SIGINT ? "SIGINT" : "SIGTERM");
                return;
            }
        }
    }
    if (s->handover_deadline && sig == SIGTERM)
        return; /* already handing over: the node exits once it has (SIGINT: at once) */
    if (sig == SIGTERM && !(flags & CFG_SHUTDOWN_NOW) && server_handover_start(s))
        return;
    server_shutdown(s, 0);
}

int server_handover_start(server *s)
{
    char err[256];
    if (s->cfg.shutdown_timeout <= 0 || !s->repl || repl_role(s->repl) != REPL_LEADER ||
        repl_alone(s->repl))
        return 0;
    uint64_t ms = (uint64_t)s->cfg.shutdown_timeout * 1000;
    if (repl_failover(s->repl, NULL, 0, ms, err, sizeof err) != 0) {
        log_warn("Shutting down without handing leadership over: %s", err);
        return 0;
    }
    log_notice("Handing leadership over before shutting down (at most %d s)",
               s->cfg.shutdown_timeout);
    s->handover_deadline = server_mstime() + (int64_t)ms + 500;
    return 1;
}

int server_handover_abort(server *s)
{
    if (!s->handover_deadline || s->shutting_down)
        return 0;
    char err[256];
    if (repl_failover_in_progress(s->repl))
        repl_failover_abort(s->repl, err, sizeof err);
    s->handover_deadline = 0;
    /* The SHUTDOWNs that waited get Redis's error, and go on. */
    for (size_t i = 0; i < s->nblocked;) {
        client *c = s->blocked[i];
        if (!c->block_shutdown) {
            i++;
            continue;
        }
        s->blocked[i] = s->blocked[--s->nblocked];
        c->block_shutdown = 0;
        reply r = reply_make(&c->out, c->resp);
        reply_error(&r, "ERR Errors trying to SHUTDOWN. Check logs.");
        client_unblock(c);
        client_flush(c);
    }
    return 1;
}

static void handover_check(server *s, int64_t now)
{
    if (!s->handover_deadline || s->shutting_down)
        return;
    if (repl_role(s->repl) != REPL_LEADER || !repl_failover_in_progress(s->repl) ||
        now >= s->handover_deadline) {
        if (repl_role(s->repl) == REPL_LEADER)
            log_warn("Leadership was not handed over in time: shutting down as the leader");
        server_shutdown(s, 0);
    }
}

/* ------------------------------------------------------------------------ */
/* Startup                                                                   */
/* ------------------------------------------------------------------------ */

static void engine_config_from(const kv_config *cfg, engine_config *ec)
{
    engine_config_defaults(ec);
    ec->dir = cfg->dir;
    ec->wal_segment_size = (uint64_t)cfg->wal_segment_size;
    ec->fsync = cfg->appendfsync;
    ec->wal_prealloc = cfg->wal_prealloc;
    ec->snapshot_keep = cfg->snapshot_keep;
    ec->snapshot_fork = cfg->snapshot_fork;
    ec->snapshot_key_delay = cfg->rdb_key_save_delay;
    ec->snapshot_wal_min = (uint64_t)cfg->snapshot_wal_min_bytes;
    ec->snapshot_wal_pct = cfg->snapshot_wal_growth_pct;
    ec->retention_bytes = (uint64_t)cfg->repl_retention_bytes;
    ec->nsave = cfg->nsave;
    memcpy(ec->save_seconds, cfg->save_seconds, sizeof ec->save_seconds);
    memcpy(ec->save_changes, cfg->save_changes, sizeof ec->save_changes);
}

/* ------------------------------------------------------------------------ */
/* Replication's host interface                                              */
/* ------------------------------------------------------------------------ */

static void host_commit_advanced(void *arg)
{
    server_commit_advanced(arg);
}

/* oom-score-adj, as Redis's setOOMScoreAdj: the value for this node's role
 * from oom-score-adj-values (yes/relative: added to the value the process
 * started with; absolute: as is), clamped to -1000..1000; back to the
 * starting value when turned off. 0, or -1 (logged) when the kernel
 * refused it. */
int server_oom_adjust(server *s)
{
    static int base, have_base, adjusted;
    if (!have_base) {
        FILE *f = fopen("/proc/self/oom_score_adj", "r");
        if (!f)
            return s->cfg.oom_score_adj == OOM_ADJ_NO ? 0 : -1;
        have_base = fscanf(f, "%d", &base) == 1;
        fclose(f);
        if (!have_base)
            return -1;
    }
    int v;
    if (s->cfg.oom_score_adj == OOM_ADJ_NO) {
        if (!adjusted)
            return 0;
        v = base;
        adjusted = 0;
    } else {
        v = s->cfg.oom_score_adj_values[s->env.replica ? 1 : 0];
        if (s->cfg.oom_score_adj != OOM_ADJ_ABSOLUTE)
            v += base;
        v = v > 1000 ? 1000 : v < -1000 ? -1000 : v;
        adjusted = 1;
    }
    FILE *f = fopen("/proc/self/oom_score_adj", "w");
    int ok = f && fprintf(f, "%d", v) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        log_warn("Unable to write oom_score_adj: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void host_role_changed(void *arg)
{
    server *s = arg;
    int leader = repl_role(s->repl) == REPL_LEADER;
    int was_primary = !s->env.replica;
    s->env.replica = !leader;
    if (was_primary != leader)
        server_oom_adjust(s);
    if (was_primary && !leader)
        stream_block_role_changed(s);
    /* Clients blocked on keys of a node that no longer leads could only
     * ever be served by writes it will not take: release them as Redis
     * does when a master turns into a replica. */
    if (!leader)
        blocking_release_all(s, "UNBLOCKED force unblock from blocking operation, instance "
                                "state changed (master -> replica?)");
    /* CONFIG GET replicaof shows whom this node follows now. */
    char v[300] = "", host[256];
    int port;
    if (!leader && (repl_leader_addr(s->repl, host, sizeof host, &port) == 0 ||
                    repl_replicaof_target(s->repl, host, sizeof host, &port) == 0))
        snprintf(v, sizeof v, "%s %d", host, port);
    kv_free(s->cfg.replicaof);
    s->cfg.replicaof = kv_memdup(v, strlen(v));
    server_commit_advanced(s);
    sentinel_observe(s);
}

static void host_publish(void *arg, int shard, const char *ch, size_t chlen, const char *msg,
                         size_t mlen)
{
    pubsub_from_primary(arg, shard, ch, chlen, msg, mlen);
}

/* The follower's keyspace was replaced (a snapshot installed …): its
 * tracking clients hear that every key may have changed, as a Redis
 * replica's do when it loads its master's RDB (emptyData). */
static void host_keyspace_replaced(void *arg)
{
    server *s = arg;
    tracking_flushed(s);
    pubsub_settle(s);
}

static void host_fail_pending(void *arg)
{
    server *s = arg;
    client *c = s->waiting, *next;
    for (; c; c = next) {
        next = c->wnext;
        if (c->nmarks)
            client_fail_pending(c, NULL);
    }
}

/* What replication needs of the configuration, parsed. */
static int repl_config_from(const kv_config *cfg, repl_config *rc, char *err, size_t errlen)
{
    memset(rc, 0, sizeof *rc);
    snprintf(rc->node_id, sizeof rc->node_id, "%s", cfg->node_id ? cfg->node_id : "");
    const char *bind = cfg->peer_bind && cfg->peer_bind[0] ? cfg->peer_bind : cfg->bind;
    char storage[1024], *words[REPL_MAX_BIND];
    int n = strlen(bind) < sizeof storage ? config_split_line(bind, words, REPL_MAX_BIND, storage)
                                          : -1;
    if (n < 0)
        return kve_fmt(err, errlen, KVE_INVAL, "peer-bind: at most %d addresses", REPL_MAX_BIND);
    for (int i = 0; i < n; i++) {
        if (strlen(words[i]) >= sizeof rc->bind[i])
            return kve_fmt(err, errlen, KVE_INVAL, "peer-bind: address '%s' too long", words[i]);
        snprintf(rc->bind[i], sizeof rc->bind[i], "%s", words[i]);
    }
    rc->nbind = n;
    rc->peer_port = cfg->peer_port ? cfg->peer_port : cfg->port + 10000;
    rc->client_port = cfg->port;
    rc->tcp_backlog = cfg->tcp_backlog;
    if (cfg->cluster_secret && strlen(cfg->cluster_secret) >= sizeof rc->cluster_secret)
        return kve_fmt(err, errlen, KVE_INVAL, "cluster-secret: longer than %zu bytes",
                       sizeof rc->cluster_secret - 1);
    snprintf(rc->cluster_secret, sizeof rc->cluster_secret, "%s",
             cfg->cluster_secret ? cfg->cluster_secret : "");
    rc->repl_timeout_ms = cfg->repl_timeout;
    rc->heartbeat_ms = cfg->heartbeat_ms;
    if (cfg->announce_ip && strlen(cfg->announce_ip) >= sizeof rc->announce_ip)
        return kve_fmt(err, errlen, KVE_INVAL, "announce-ip is too long");
    snprintf(rc->announce_ip, sizeof rc->announce_ip, "%s",
             cfg->announce_ip ? cfg->announce_ip : "");
    rc->announce_port = cfg->announce_port;
    rc->announce_peer_port = cfg->announce_peer_port;
    rc->min_replicas_ack = cfg->min_replicas_ack;
    rc->retention_bytes = (uint64_t)cfg->repl_retention_bytes;
    if (cfg->replicaof && cfg->replicaof[0]) {
        char rstorage[300], *rw[4];
        if (strlen(cfg->replicaof) >= sizeof rstorage ||
            config_split_line(cfg->replicaof, rw, 4, rstorage) != 2 ||
            strlen(rw[0]) >= sizeof rc->replicaof_host)
            return kve_fmt(err, errlen, KVE_INVAL, "replicaof needs <host> <port>");
        snprintf(rc->replicaof_host, sizeof rc->replicaof_host, "%s", rw[0]);
        rc->replicaof_port = atoi(rw[1]);
    }
    return 0;
}

static void key_touched(void *arg, int db, const char *key, size_t klen, int by_command)
{
    watch_touch(arg, db, key, klen);
    tracking_key_touched(arg, key, klen, by_command);
    stream_block_signal(arg, db, key, klen);
    blocking_key_touched(arg, db, key, klen);
}

/* Redis's dictExpandAllowed: no table growth that alone would take used
 * memory (as maxmemory counts it) over the limit. */
static int db_table_may_grow(void *arg, size_t more_mem)
{
    server *s = arg;
    return !s->env.maxmemory || evict_used_memory(&s->env) + more_mem <= s->env.maxmemory;
}

/* The limits data commands enforce, from the configuration. */
static void env_limits(server *s)
{
    s->env.proto_max_bulk_len = s->cfg.proto_max_bulk_len;
    s->env.obuf_hard = s->cfg.obuf_hard;
    s->env.hll_sparse_max_bytes = s->cfg.hll_sparse_max_bytes;
    /* memory limit (evict.c) */
    s->env.maxmemory = s->cfg.maxmemory;
    s->env.maxmemory_policy = config_maxmemory_policy(&s->cfg);
    s->env.maxmemory_samples = s->cfg.maxmemory_samples;
    s->env.eviction_tenacity = s->cfg.maxmemory_eviction_tenacity;
    s->env.lfu_log_factor = s->cfg.lfu_log_factor;
    s->env.lfu_decay_time = s->cfg.lfu_decay_time;
    s->env.replica_ignore_maxmemory = s->cfg.replica_ignore_maxmemory;
    s->env.lazy_user_del = s->cfg.lazyfree_lazy_user_del;
    s->env.lazy_user_flush = s->cfg.lazyfree_lazy_user_flush;
    s->env.lazy_eviction = s->cfg.lazyfree_lazy_eviction;
    s->env.lazy_expire = s->cfg.lazyfree_lazy_expire;
    ks_set_lazyfree(s->cfg.lazyfree_lazy_server_del, s->cfg.lazyfree_lazy_expire);
    if (s->eng)
        engine_set_lazy_flush(s->eng, s->cfg.replica_lazy_flush);
    s->env.mem_not_counted = server_mem_not_counted;
    s->env.mem_not_counted_arg = s;
    ks_set_expand_check(db_table_may_grow, s);
    /* Redis keeps no shared integers while keys need their own LRU/LFU. */
    ks_set_shared_integers(!(s->env.maxmemory &&
                             (s->env.maxmemory_policy & (EVICT_FLAG_LRU | EVICT_FLAG_LFU))));
    evict_clock(&s->env, server_mstime());
}

/* The set and sorted set encoding thresholds, from the configuration. */
static void keyspace_limits(server *s)
{
    set_max_intset_entries = (size_t)s->cfg.set_max_intset_entries;
    list_max_listpack_size = s->cfg.list_max_listpack_size;
    list_compress_depth = s->cfg.list_compress_depth;
    zset_max_listpack_entries = (size_t)s->cfg.zset_max_listpack_entries;
    zset_max_listpack_value = (size_t)s->cfg.zset_max_listpack_value;
    stream_node_max_bytes = (size_t)s->cfg.stream_node_max_bytes;
    stream_node_max_entries = (size_t)s->cfg.stream_node_max_entries;
    rdb_compression = s->cfg.rdbcompression;
    rdb_checksum = s->cfg.rdbchecksum;
}

void server_apply_config(server *s, const cfg_option *o)
{
    const char *n = o->name;
    env_limits(s);
    if (!strcmp(n, "loglevel"))
        log_level = s->cfg.loglevel;
    else if (!strcmp(n, "use-exit-on-panic"))
        kv_set_exit_on_panic(s->cfg.use_exit_on_panic);
    else if (!strcmp(n, "crash-log-enabled"))
        log_crash_report(s->cfg.crash_log_enabled, "kvnode " KV_VERSION);
    else if (!strcmp(n, "hash-max-listpack-entries"))
        hash_max_listpack_entries = (size_t)s->cfg.hash_max_listpack_entries;
    else if (!strcmp(n, "hash-max-listpack-value"))
        hash_max_listpack_value = (size_t)s->cfg.hash_max_listpack_value;
    else if (!strcmp(n, "set-max-intset-entries") || !strncmp(n, "zset-max-listpack-", 18) ||
             !strcmp(n, "list-max-listpack-size") || !strcmp(n, "list-compress-depth") ||
             !strncmp(n, "stream-node-max-", 16) || !strcmp(n, "rdbcompression"))
        keyspace_limits(s);
    else if (!strcmp(n, "active-expire"))
        s->active_expire = s->cfg.active_expire;
    else if (!strncmp(n, "oom-score-adj", 13))
        server_oom_adjust(s);
    else if (!strcmp(n, "notify-keyspace-events"))
        pubsub_apply_config(s);
    else if (!strcmp(n, "maxmemory"))
        server_evict_soon(s); /* as Redis's updateMaxmemory */
    else if (!strcmp(n, "hz"))
        cron_hz(s);
    else if (!strcmp(n, "proto-max-bulk-len")) {
        for (client *c = s->clients; c; c = c->next)
            if (!(c->flags & CL_CLOSING))
                client_apply_limits(c);
    } else if (!strcmp(n, "requirepass")) {
        /* The default user's password; existing connections stay as they
         * are, as in Redis. */
        acl_set_default_password(s, s->cfg.requirepass, s->cfg.requirepass_len);
    } else if (!strcmp(n, "min-replicas-ack") ||
               !strcmp(n, "repl-retention-bytes")) {
        repl_config rc;
        char err[128];
        if (s->repl && repl_config_from(&s->cfg, &rc, err, sizeof err) == 0)
            repl_reconfigure(s->repl, &rc);
    }
    if (!strcmp(n, "appendfsync") || !strncmp(n, "snapshot-", 9) || !strcmp(n, "save") ||
        !strcmp(n, "repl-retention-bytes") || !strcmp(n, "rdb-key-save-delay")) {
        engine_config ec;
        engine_config_from(&s->cfg, &ec);
        engine_reconfigure(s->eng, &ec);
    }
}

static void make_run_id(char out[41])
{
    unsigned char b[20];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        for (int i = 0; i < 20; i++)
            b[i] = (unsigned char)(rand() ^ (i * 31));
    for (int i = 0; i < 20; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[40] = '\0';
}

static int full_read_access(void *arg, cmd_ctx *c)
{
    (void)arg;
    return !c->cl || acl_full_read_access(c->cl, c->cmd, c->argc, c->argv, c->lens);
}

int server_init(server *s, kv_config *cfg, uv_loop_t *loop, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg); /* the server owns the strings now */
    s->loop = loop;
    s->start_ms = server_mstime();
    make_run_id(s->run_id);
    s->active_expire = s->cfg.active_expire;
    s->rb_peak_reset_ms = RB_PEAK_RESET_MS;
    s->rb_resizing = 1;
    s->env.key_touched = key_touched;
    s->env.key_touched_arg = s;
    s->env.full_read_access = full_read_access;
    s->env.full_read_access_arg = s;
    env_limits(s);
    ps_registry_init(&s->pubsub);
    pubsub_apply_config(s);
    hash_max_listpack_entries = (size_t)s->cfg.hash_max_listpack_entries;
    hash_max_listpack_value = (size_t)s->cfg.hash_max_listpack_value;
    keyspace_limits(s);
    s->ndbs = s->cfg.databases;
    dispatch_init(s);
    if (acl_init(s, err, errlen) < 0)
        return -1;
    stream_block_init(s);
    s->cmd_stats = kv_calloc((size_t)command_count(), sizeof *s->cmd_stats);
    s->startup_memory = kv_used_memory(); /* before the data is loaded */
    s->loading = 1;
    s->loading_start = s->start_ms / 1000;
    s->loading_eta = -1;
    uv_signal_init(loop, &s->sig_term);
    uv_signal_init(loop, &s->sig_int);
    s->sig_term.data = s->sig_int.data = s;
    uv_signal_start(&s->sig_term, on_signal, SIGTERM);
    uv_signal_start(&s->sig_int, on_signal, SIGINT);
    ldb_init(s);
    return 0;
}

/* SIGTERM, SIGINT or SHUTDOWN while loading: nothing is saved, nothing
 * needs to be (recovery only reads, and a torn tail it cut stays cut):
 * exit at once, as Redis does. */
static void loading_exit(server *s)
{
    log_warn("Shutting down while loading the data: nothing to save");
    if (s->has_unix)
        unlink(s->cfg.unixsocket);
    log_notice("kvnode is now ready to exit, bye bye...");
    _exit(0);
}

/* key-load-delay (Redis's test knob): the keys and WAL entries loaded since
 * the last check cost that many microseconds each (negative -n: one per n
 * keys, Redis's average), slept in steps of at most 20 ms with the loop
 * run between them, so that clients keep getting -LOADING meanwhile and
 * CONFIG SET key-load-delay 0 ends it. */
static void load_delay(server *s, progress_job *j)
{
    uint64_t n = j->units > s->loading_units_slowed ? j->units - s->loading_units_slowed : 0;
    s->loading_units_slowed = j->units;
    long long d = s->cfg.key_load_delay;
    uint64_t owed = progress_delay_us(d, n);
    while (owed && s->cfg.key_load_delay == d) {
        uint64_t step = owed < 20000 ? owed : 20000;
        usleep((useconds_t)step);
        owed -= step;
        uv_run(s->loop, UV_RUN_NOWAIT);
        if (s->loading_exit)
            loading_exit(s);
    }
}

/* Progress of loading (engine_open, and later a snapshot installed from a
 * leader). At startup, let the loop run now and then so that clients get
 * answers (INFO, -LOADING) and signals are heard. */
static void on_load_progress(void *arg, progress_job *j)
{
    server *s = arg;
    if (!s->loading)
        return;
    s->loading_total = j->total;
    s->loading_loaded = j->done;
    s->loading_perc = progress_perc(j);
    s->loading_eta = progress_eta_s(j);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (now - s->loading_served_us < 20000)
        return;
    s->loading_served_us = now;
    uv_run(s->loop, UV_RUN_NOWAIT);
    if (s->loading_exit)
        loading_exit(s);
    load_delay(s, j);
}

int server_load(server *s, char *err, size_t errlen)
{
    /* The meta file first: recovery applies entries only up to its commit
     * watermark (later ones may never have been committed). */
    node_meta meta;
    int fresh;
    engine_config ec;
    engine_config_from(&s->cfg, &ec);
    int rc = repl_load_meta(ec.dir, s->cfg.node_id, &meta, &fresh, err, errlen);
    if (rc)
        return rc;
    ec.databases = s->ndbs;
    ec.has_replay_limit = meta.has_commit;
    ec.replay_limit = meta.rc.commit;
    ec.commit_gated = 1;
    ec.load_progress = on_load_progress;
    ec.load_progress_arg = s;
    rc = engine_open(&s->eng, &ec, dispatch_apply, s, &s->recovery, err, errlen);
    if (s->loading_exit)
        loading_exit(s);
    if (rc)
        return rc;
    int ndbs; /* s->ndbs: the engine has the databases configured */
    s->dbs = engine_dbs(s->eng, &ndbs);
    (void)ndbs;
    s->env.eng = s->eng;
    engine_set_lazy_flush(s->eng, s->cfg.replica_lazy_flush);
    /* Settings CONFIG SET changed while loading. */
    engine_config_from(&s->cfg, &ec);
    engine_reconfigure(s->eng, &ec);
    rc = engine_start(s->eng, s->loop, on_durable, s);
    if (rc)
        return kve_fmt(err, errlen, rc, "cannot start the WAL thread");
    s->serving = 1;
    repl_config rc_cfg;
    rc = repl_config_from(&s->cfg, &rc_cfg, err, errlen);
    if (rc)
        return rc;
    repl_host host = {.arg = s,
                      .commit_advanced = host_commit_advanced,
                      .role_changed = host_role_changed,
                      .fail_pending = host_fail_pending,
                      .publish = host_publish,
                      .keyspace_replaced = host_keyspace_replaced};
    rc = repl_init(&s->repl, s->loop, s->eng, &rc_cfg, &host, &meta, err, errlen);
    if (s->loading_exit)
        loading_exit(s);
    if (rc) {
        /* Half set up (e.g. the peer port was taken): the shutdown that
         * follows must not reach into it. */
        repl_free(s->repl);
        s->repl = NULL;
        return rc;
    }

    uv_timer_init(s->loop, &s->cron);
    s->cron.data = s;
    uv_timer_init(s->loop, &s->evict_timer);
    s->evict_timer.data = s;
    s->hz = s->cfg.hz;
    uint64_t period = (uint64_t)(1000 / s->cfg.hz);
    uv_timer_start(&s->cron, on_cron, period, period);
    s->loading = 0;
    log_notice("DB loaded from disk: %.3f seconds", (double)s->recovery.total_ms / 1000.0);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Shutdown                                                                  */
/* ------------------------------------------------------------------------ */

void server_shutdown(server *s, int exit_code)
{
    if (s->shutting_down)
        return;
    s->shutting_down = 1;
    s->exit_code = exit_code;
    log_notice("Shutting down: closing listeners, syncing the WAL");
    supervise_stopping();
    for (int i = 0; i < s->ntcp; i++)
        uv_close((uv_handle_t *)&s->tcp_listeners[i], NULL);
    if (s->has_unix) {
        uv_close((uv_handle_t *)&s->unix_listener, NULL);
        unlink(s->cfg.unixsocket);
    }
    metrics_stop(s);
    ldb_shutdown(s); /* forked debugging sessions end with the server, as in Redis */
    /* Finish what was acknowledged-to-be: make the WAL durable, release
     * the replies it held, hand them to the sockets, then close. */
    repl_shutdown(s->repl);
    if (s->eng) {
        engine_flush(s->eng);
        server_commit_advanced(s);
    }
    for (client *c = s->clients; c; c = c->next) {
        client_flush(c);
        client_close(c);
    }
    stream_block_free(s);
    migrate_cache_free(s);
    engine_close(s->eng);
    s->eng = NULL;
    if (s->cron.data)
        uv_close((uv_handle_t *)&s->cron, NULL);
    if (s->evict_timer.data)
        uv_close((uv_handle_t *)&s->evict_timer, NULL);
    dispatch_script_stop(s);
    blocking_close(s);
    pause_close(s);
    tracking_close(s);
    uv_close((uv_handle_t *)&s->sig_term, NULL);
    uv_close((uv_handle_t *)&s->sig_int, NULL);
    log_notice("kvnode is now ready to exit, bye bye...");
}

void server_free(server *s)
{
    repl_shutdown(s->repl);
    repl_free(s->repl);
    s->repl = NULL;
    if (s->eng) {
        engine_close(s->eng);
        s->eng = NULL;
    }
    lazyfree_stop(); /* what UNLINK and FLUSHALL ASYNC handed over is freed */
    metrics_free(s);
    latency_free(s);
    dispatch_free(s);
    blocking_free(s);
    ps_registry_free(&s->pubsub);
    tracking_free(s);
    dict_clear(&s->clients_by_id, NULL, NULL);
    slowlog_free(s);
    acl_free(s);
    kv_free(s->cmd_stats);
    server_reset_errors(s);
    kv_free(s->tcp_listeners);
    kv_free(s->blocked);
    kv_free(s->monitors);
    config_free(&s->cfg);
}
