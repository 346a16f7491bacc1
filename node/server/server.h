/* server.h — the kvnode process: listeners, clients, command dispatch,
 * the reply barrier, background tasks.
 *
 * One event loop thread runs everything here. Modules outside the server
 * core (data commands) see only cmd.h; this header is for the core files
 * (server.c, client.c, dispatch.c, db.c) and the admin commands that report
 * on the process (INFO, CLIENT, CONFIG, DEBUG …).
 *
 * The reply barrier (DESIGN.md §2). Each client's replies are appended to
 * its output buffer as commands execute. A command that ran while WAL
 * entries were not yet committed records a mark: (offset of its reply in
 * the client's output stream, LSN it needs). Bytes before the first
 * unsatisfied mark may be sent; the rest wait until commit_lsn reaches the
 * mark's LSN. Marks of one client have nondecreasing LSNs, so they are a
 * FIFO. When commit_lsn advances, the clients on the waiting list are
 * flushed. A write's reply thus leaves only once its entry is durable (and,
 * with min-replicas-ack, replicated); a read's reply only once everything
 * it could have seen is. */
#ifndef KV_SERVER_H
#define KV_SERVER_H

#include "acl.h"
#include "buf.h"
#include "cmd.h"
#include "config.h"
#include "engine.h"
#include "pubsub.h"
#include "resp.h"

#include <stdint.h>
#include <uv.h>

#define KV_VERSION "0.1.0"
#define KV_REDIS_COMPAT_VERSION "7.0.15"

/* ------------------------------------------------------------------------ */
/* Clients                                                                   */
/* ------------------------------------------------------------------------ */

enum {
    CL_CLOSE_AFTER_REPLY = 1 << 0, /* QUIT, protocol error: close once flushed */
    CL_CLOSING = 1 << 1,           /* uv_close called */
    CL_MULTI = 1 << 2,
    CL_DIRTY_CAS = 1 << 3,         /* a WATCHed key changed */
    CL_DIRTY_EXEC = 1 << 4,        /* a command failed to queue: EXEC aborts */
    CL_READ_PAUSED = 1 << 5,       /* reading stopped (output backlog) */
    CL_UNIX = 1 << 6,
    CL_IN_CALLBACK = 1 << 7,       /* a callback of this client is on the stack */
    CL_FREE_PENDING = 1 << 8,      /* close requested while in a callback */
    CL_BLOCKED = 1 << 9,           /* waiting (WAIT, replica acks): input paused */
    CL_PUBSUB = 1 << 10,           /* subscribed to something (Redis's CLIENT_PUBSUB) */
    CL_CLOSE_ASAP = 1 << 11,       /* over its output limit: closed at the next settle */
    CL_PS_TOUCHED = 1 << 12,       /* got messages since the last pubsub_settle */
    CL_REPLY_OFF = 1 << 13,        /* CLIENT REPLY OFF: replies are dropped */
    CL_REPLY_SKIP = 1 << 14,       /* this request's reply is dropped (CLIENT REPLY SKIP) */
    CL_REPLY_SKIP_NEXT = 1 << 15,  /* … the next request's (set by SKIP itself) */
    CL_NO_EVICT = 1 << 20,         /* CLIENT NO-EVICT on: maxmemory-clients spares it */
    CL_MONITOR = 1 << 21,          /* MONITOR: gets every command's line (monitor.c) */
    CL_POSTPONED = 1 << 22,        /* its request waits for CLIENT PAUSE to end (pause.c);
                                      with CL_BLOCKED */
    CL_LUA_DEBUG = 1 << 23,        /* SCRIPT DEBUG YES or SYNC: its next EVAL is debugged */
    CL_LUA_DEBUG_SYNC = 1 << 24,   /* … SYNC: in this process, not a forked child */
};

typedef struct barrier_mark {
    uint64_t offset; /* stream offset where the waiting reply starts */
    uint64_t lsn;    /* commit_lsn it needs */
    uint64_t round;  /* confirmed heartbeat round it needs (a read outside the
                        lease: ReadIndex), 0 for none */
} barrier_mark;

typedef struct queued_cmd {
    int argc;
    char **argv;
    size_t *lens;
} queued_cmd;

/* A client's entry in the server's index by id (client_by_id). */
typedef struct client_idx {
    dict_node dn;
    uint64_t id;
    struct client *cl;
} client_idx;

/* Client-side caching modes (tracking.c), Redis's CLIENT_TRACKING_*. */
enum {
    TRK_ON = 1 << 0,           /* CLIENT TRACKING ON */
    TRK_BROKEN_REDIR = 1 << 1, /* the redirect target went away */
    TRK_BCAST = 1 << 2,
    TRK_OPTIN = 1 << 3,
    TRK_OPTOUT = 1 << 4,
    TRK_CACHING = 1 << 5,      /* CLIENT CACHING YES/NO for the next command */
    TRK_NOLOOP = 1 << 6,
};

typedef struct client {
    server *srv;
    uint64_t id;
    client_idx idx;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    int flags;
    int resp;      /* 2 or 3 */
    int db;        /* the selected database (SELECT) */
    int authed;    /* authenticated (AUTH, HELLO, or a passwordless default user) */
    struct acl_user *user; /* its ACL user (acl.c): the default one until AUTH */
    char addr[64]; /* "ip:port" or "/path:0" */
    char laddr[64];
    char *name;
    int64_t ctime_ms;      /* connected at */
    int64_t last_ms;       /* last interaction: the loop's clock (uv_now), not wall time */
    const char *last_cmd;

    /* input */
    kbuf query;
    resp_parser *parser;

    /* output */
    kbuf out;              /* replies not yet handed to the socket */
    uint64_t out_base;     /* stream offset of out's first byte */
    kbuf sending;          /* bytes owned by the uv_write in flight */
    uv_write_t wreq;
    int writing;
    barrier_mark *marks;   /* FIFO ring */
    size_t mark_head, nmarks, capmarks;
    int64_t obuf_soft_since; /* ms when the soft output limit was first passed */
    size_t mem_counted;    /* its share of server.clients_mem (client_evict.c) */
    size_t mem_closing;    /* its share of server.closing_mem once closed */
    size_t query_peak;     /* most query bytes buffered since the last clients_cron */
    /* The reply buffer (Redis 7's c->buf, CLIENT LIST rbs/rbp): `out` keeps
     * at most rb_size bytes of capacity between replies; reply_buffer_cron
     * halves or doubles it from the peak of buffered replies. */
    size_t rb_size, rb_peak;
    int64_t rb_peak_reset_ms;

    /* transactions */
    queued_cmd *mq;
    int nmq, capmq;
    int exec_n;            /* while its EXEC runs: how many commands it runs (CLIENT LIST
                              shows the client in MULTI until EXEC ends, as Redis), else -1 */
    size_t mq_mem;         /* bytes the queued commands take (CLIENT LIST multi-mem) */
    size_t watch_mem;      /* bytes its watched keys take */
    uint32_t mq_flags;     /* the queued commands' flags together (as queued) */
    uint32_t mq_inv_flags; /* … and their complements (Redis's cmd_inv_flags) */
    char **watched;        /* keys (kv_memdup'd), with lengths and databases */
    size_t *watched_lens;
    int *watched_dbs;
    /* The key was logically expired (present, TTL past) when WATCHed:
     * Redis's watchedKey.expired (its deletion is then no change). */
    unsigned char *watched_expired;
    int nwatched, capwatched;

    /* Pub/Sub (pubsub.c, cmd_pubsub.c) */
    ps_sub ps;             /* its subscriptions */
    uint64_t ps_off;       /* stream offset of its first message since the last settle */
    struct client *ps_next; /* on the server's list of clients touched since then */
    uint64_t cmd_off;      /* stream offset where the running request's reply starts */
    kbuf ps_later;         /* messages to itself that came after its reply had begun */

    /* client-side caching (tracking.c) */
    int trk;               /* TRK_* */
    uint64_t trk_redir;    /* REDIRECT client id, 0: none */
    char **trk_pfx;        /* BCAST prefixes, in byte order */
    size_t *trk_pfx_len;
    int trk_npfx;
    size_t trk_pfx_mem;    /* bytes the prefixes take */

    /* blocking in XREAD/XREADGROUP (stream_block.c), or NULL */
    struct sblock *sblock;
    /* blocked on keys (blocking.c): BLPOP, BZPOPMIN, … (NULL otherwise) */
    struct blk_state *blk;
    /* waiting for a MIGRATE's target (cmd_migrate.c), or NULL */
    struct migrate_job *migrate;

    /* a Redis replica (SYNC / PSYNC, sync_stream.c): its place in the
     * stream, or NULL; sync_flags: what REPLCONF asked for */
    struct sync_repl *sync;
    int sync_flags;
    int sync_port; /* REPLCONF listening-port (0: none) */

    /* blocking (WAIT) */
    uint64_t block_lsn;    /* WAIT: LSN replicas must reach (have applied) */
    int block_pushed;      /* … a round went out once it was committed */
    int block_leads;       /* REPLICAOF NO ONE: until this node takes writes */
    int block_shutdown;    /* SHUTDOWN on a leader: until it exits (or SHUTDOWN ABORT) */
    int block_replicas;
    int64_t block_deadline_ms;

    /* lists */
    struct client *pprev, *pnext; /* postponed by CLIENT PAUSE (pause.c) */
    struct client *prev, *next;   /* all clients */
    struct client *wprev, *wnext; /* waiting on the barrier */
    int on_wait_list;
} client;

/* ------------------------------------------------------------------------ */
/* Server                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct server_stats {
    uint64_t total_connections;
    uint64_t total_commands;
    uint64_t rejected_connections;
    uint64_t net_input_bytes;
    uint64_t net_output_bytes;
    uint64_t error_replies;
    uint64_t protocol_errors;
    uint64_t obuf_disconnects;
    uint64_t qbuf_disconnects;
    uint64_t reads_processed, writes_processed; /* read and write calls on clients */
    uint64_t reply_buffer_shrinks, reply_buffer_expands;
    uint64_t evicted_clients; /* closed for maxmemory-clients */
    uint64_t writes_refused_nospace;
    /* Redis replicas (sync_stream.c): full syncs, and PSYNCs that named a
     * replication id (a partial resync attempt, which kvnode never grants) */
    uint64_t redis_sync_full, redis_sync_partial_err;
    /* instantaneous ops/sec: samples of total_commands every 100 ms */
    uint64_t ops_samples[16];
    int ops_idx;
    uint64_t ops_last_total;
    int64_t ops_last_ms;
    size_t peak_memory;
} server_stats;

typedef struct slowlog_entry {
    uint64_t id;
    int64_t time;         /* unix seconds */
    int64_t duration_us;
    int argc;             /* arguments kept (at most 32, each at most 128 bytes) */
    char **argv;
    size_t *lens;
    int orig_argc;
    char addr[64];
    char name[64];
} slowlog_entry;

typedef struct cmd_stat {
    uint64_t calls, usec, rejected, failed;
} cmd_stat;

typedef struct repl repl; /* replication (replication/) */
typedef struct tracking tracking; /* client-side caching (tracking.c) */

struct server {
    kv_config cfg;
    acl_state *acl;       /* users and the ACL log (acl.c) */
    uv_loop_t *loop;
    engine *eng;
    ks **dbs;             /* the databases (engine_dbs; SWAPDB permutes them) */
    int ndbs;
    engine_recovery recovery;

    uv_tcp_t *tcp_listeners;
    int ntcp;
    uv_pipe_t unix_listener;
    int has_unix;
    uv_timer_t cron;
    uv_signal_t sig_term, sig_int;
    /* SCRIPT DEBUG (ldb.c): the children debugging forked sessions; in
     * such a child, ldb_child, and no client but the debugging one is
     * ever written to. */
    uv_signal_t sig_chld;
    pid_t *ldb_children;
    size_t nldb_children, capldb_children;
    int ldb_child;
    int shutting_down;
    int exit_code;

    client *clients;      /* newest first */
    dict clients_by_id;   /* client_idx nodes of open clients (client_by_id) */
    tracking *tracking;   /* client-side caching (tracking.c), or NULL */
    size_t nclients;
    size_t clients_mem; /* sum of the clients' mem_counted (client_evict.c) */
    size_t closing_mem; /* memory of closed clients not yet freed (uv_close pending) */
    uint64_t next_client_id;
    client *waiting;      /* clients with barrier marks */
    client **blocked;     /* clients blocked in WAIT */
    size_t nblocked, capblocked;
    client *current;      /* client whose command is executing (or NULL) */
    struct blocking *blocking; /* clients blocked on keys (blocking.c), or NULL */

    uint64_t commit_lsn;  /* replies needing <= this may be sent */
    uint64_t confirmed_round; /* … and rounds <= this (leader reads) */
    int serving;          /* 0 while the WAL is failed */

    /* WATCH: per database, key -> clients (dicts of keys, see dispatch.c) */
    void *watched_keys;

    /* Pub/Sub: who listens to what, and the clients that got messages
     * since the last pubsub_settle (cmd_pubsub.c) */
    ps_registry pubsub;
    client *ps_touched;
    int ps_close_pending; /* some client is CL_CLOSE_ASAP */
    /* MONITOR's clients (monitor.c) */
    client **monitors;
    size_t nmonitors, capmonitors;
    /* Redis replicas attached with SYNC / PSYNC (sync_stream.c) */
    client **syncs;
    size_t nsyncs, capsyncs;

    server_stats stats;
    cmd_stat *cmd_stats;  /* parallel to the command table */
    /* INFO errorstats: error replies counted by their code (the first word
     * of the message, "ERR" when none), kept sorted by name. */
    struct errstat {
        char name[32];
        uint64_t count;
    } *errstats;
    size_t nerrstats, caperrstats;
    struct lat_hist **latency; /* per command, allocated on first call (cmd_latency.c) */
    struct latmon_event *latmon; /* latency monitor events, in creation order */
    int latmon_n;
    slowlog_entry *slowlog; /* ring of slowlog_cap entries */
    size_t slowlog_len, slowlog_head, slowlog_cap;
    uint64_t slowlog_next_id;

    int64_t start_ms;
    char run_id[41];

    /* Startup recovery (server_load): the node listens while it loads and
     * answers -LOADING to what needs the data (see dispatch.c). */
    int loading;
    int loading_exit;          /* SIGTERM / SHUTDOWN while loading: exit */
    int64_t loading_start;     /* unix seconds */
    uint64_t loading_total, loading_loaded; /* bytes */
    double loading_perc;
    int64_t loading_eta;       /* seconds, -1 unknown */
    int64_t loading_served_us; /* last time loading let the loop run */
    uint64_t loading_units_slowed; /* keys key-load-delay has slowed down for */
    int active_expire;
    int pause_cron;       /* DEBUG PAUSE-CRON 1: the cron skips its periodic work */
    /* DEBUG REPLYBUFFER: how often a reply buffer's peak restarts (ms, -1:
     * never) and whether the cron resizes reply buffers. */
    long long rb_peak_reset_ms;
    int rb_resizing;
    int hz;               /* the cron's rate now (hz, or more with dynamic-hz) */
    int rehash_db;        /* the database rehash_cron visits next */
    uint64_t lazy_expire_pending; /* keys left for the active cycle */

    int in_exec;          /* EXEC is running its queued commands */
    int pre_command_oom;  /* over maxmemory (nothing left to evict) when the
                             running client command started: Redis's
                             pre_command_oom_state, read by scripts */
    int script_nesting;   /* a script's command is running (dispatch_script_exec) */
    /* A long script parked (script.h): its client's request stays open
     * until script_idle has resumed it to its end. */
    uv_idle_t script_idle;
    int script_idle_init;
    client *script_cl;    /* its caller (NULL once gone) */
    const kv_command *script_cmd;
    uint32_t script_flags;
    uint64_t script_off;
    int bgsave_scheduled; /* BGSAVE / BGREWRITEAOF asked while one could not start */
    int save_after_request; /* FLUSHALL with save points: snapshot once it is logged */
    uv_timer_t *shutdown_timer; /* SHUTDOWN accepted, runs on the next loop turn */

    repl *repl;           /* NULL until replication is set up */
    struct metrics_srv *metrics; /* the Prometheus endpoint (metrics.h), or NULL */
    /* Sentinel API (cmd_sentinel.c): the primary last vouched for. */
    char sent_leader_id[48];
    char sent_leader_host[256];
    int sent_leader_port;
    int64_t sent_leader_since_ms;
    int64_t sent_down_since_ms; /* since when no primary is vouched for (0: one is) */
    int sent_was_leader;
    /* REPLICAOF moved this node out of its own one-node cluster: its
     * step-down and first new primary close no client connections (Redis
     * keeps them), unlike a failover. */
    int sent_quiet_switch;
    int64_t handover_deadline; /* SHUTDOWN / SIGTERM on a leader: exit by then */
    cmd_env env;          /* what data commands see (role, limits, stats) */
    /* Clients blocked in XREAD/XREADGROUP (stream_block.c) */
    struct sblock_reg *sblocks;
    struct migrate_cache *migrate_cache; /* MIGRATE's connections (cmd_migrate.c) */
    client *rerun_client; /* the blocked client whose command is being re-run */
    int rerun_blocked;    /* … and it asked to block again */
    /* Memory limit (cmd_memory.c, evict.c) */
    size_t startup_memory; /* used memory before the data was loaded */
    uv_timer_t evict_timer; /* more eviction rounds while over maxmemory */
    uv_timer_t *wal_failed_timer; /* the WAL failed: exit once the errors are sent */
    /* CLIENT PAUSE (pause.c): PAUSE_* in effect until pause_end (unix ms),
     * the clients whose requests wait for it, oldest first, and the timer
     * that ends it. s->env.client_pause mirrors pause_type. */
    int pause_type;
    int64_t pause_end;
    client *postponed_head, *postponed_tail;
    size_t npostponed;
    uv_timer_t *pause_timer;
};

/* ---- pause.c: CLIENT PAUSE / UNPAUSE ---- */
enum { PAUSE_OFF = 0, PAUSE_WRITE = 1, PAUSE_ALL = 2 };
/* Is a request with these effective flags postponed now? As Redis 7.0's
 * processCommand: under ALL every command, under WRITE those that write or
 * may replicate (the caller adds an EXEC's queued commands' flags). */
int pause_postpones(const server *s, uint32_t flags);
/* Postpone cl's request: it stays in cl's query buffer and is dispatched
 * again, from the start, when the pause ends (CL_BLOCKED | CL_POSTPONED). */
void pause_postpone(server *s, client *cl, const kv_command *cmd);
/* cl is closing: forget it. */
void pause_forget(server *s, client *cl);
void pause_close(server *s); /* shutdown: close the timer */
/* CLIENT PAUSE / CLIENT UNPAUSE */
void client_pause_cmd(cmd_ctx *c);
void client_unpause_cmd(cmd_ctx *c);

/* ---- stream_block.c: clients blocked in XREAD / XREADGROUP ---- */
void stream_block_init(server *s);
void stream_block_free(server *s);
/* call(): the command asked to block (c->block); takes c's block argv. */
void stream_block_request(server *s, client *cl, cmd_ctx *c);
/* A key changed: clients waiting on it are re-run on the next loop turn. */
void stream_block_signal(server *s, int db, const char *key, size_t klen);
/* Every key of database db changed (FLUSHALL / FLUSHDB / SWAPDB). */
void stream_block_signal_db(server *s, int db);
/* The client is going away. */
void stream_block_forget(client *cl);
/* MIGRATE (cmd_migrate.c): the client is going away; its migration, if
 * any, is abandoned (its handles closed, the keys left as they are). */
typedef struct migrate_job migrate_job;
void migrate_forget(client *cl);
/* INFO's migrate_cached_sockets; migrate_cache_free closes them (shutdown). */
size_t migrate_cached_sockets(const server *s);
void migrate_cache_free(server *s);
/* The node stopped being the primary: unblock everyone with an error. */
void stream_block_role_changed(server *s);
size_t stream_block_count(const server *s);
/* CLIENT UNBLOCK of a stream-blocked client: a null reply (TIMEOUT) or
 * -UNBLOCKED (ERROR); 1 if it was blocked here. */
int stream_block_unblock(server *s, client *cl, int error);
/* For INFO: stream-blocked clients with a timeout, and keys waited on. */
size_t stream_block_ntimeouts(const server *s);
size_t stream_block_nkeys(const server *s);

/* ---- server.c ---- */
/* Startup: server_init (no data yet), server_listen (clients are answered
 * from now on: -LOADING for what needs the data), server_load (recovery,
 * serving clients between steps; then the WAL thread and replication). */
int server_init(server *s, kv_config *cfg, uv_loop_t *loop, char *err, size_t errlen);
int server_listen(server *s, char *err, size_t errlen);
/* CONFIG SET port / bind: close the client TCP listeners and open them
 * again from cfg.port and cfg.bind. On failure none is left open: the
 * caller restores the old values and calls it again. */
int server_relisten(server *s, char *err, size_t errlen);
#define RB_MIN 1024            /* Redis's PROTO_REPLY_MIN_BYTES */
#define RB_CHUNK (16 * 1024)   /* Redis's PROTO_REPLY_CHUNK_BYTES: the first size */
#define RB_PEAK_RESET_MS 5000  /* Redis's REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME */
/* The clients cron's step for c's reply buffer (Redis's
 * clientsCronResizeOutputBuffer). */
void client_reply_buffer_cron(client *c, int64_t now);
int server_load(server *s, char *err, size_t errlen);
void server_shutdown(server *s, int exit_code); /* stop accepting, flush, exit loop */
void server_free(server *s);
int64_t server_mstime(void);
/* commit_lsn moved (WAL durable or replica acks): release replies. */
void server_commit_advanced(server *s);
/* Recompute commit_lsn from the WAL and replication. */
uint64_t server_compute_commit(server *s);
void server_apply_config(server *s, const cfg_option *o);
/* oom-score-adj for the node's current role (server.c). */
int server_oom_adjust(server *s);
const char *server_role_name(const server *s);
/* May data be read here now? The leader once its keyspace holds its whole
 * log; a follower once it heard from its leader and holds nothing
 * uncommitted. */
int server_serving_reads(const server *s);

/* Block a client in WAIT until `replicas` replicas have `lsn` durable or
 * the deadline (ms, 0 = never) passes; the reply is the count then. */
void server_block_wait(server *s, client *c, uint64_t lsn, int replicas, int64_t deadline_ms);
/* REPLICAOF NO ONE: c's +OK goes once this node is a writable primary (as
 * Redis's answer means it is one), or an error at deadline_ms. */
void server_block_leads(server *s, client *c, int64_t deadline_ms);
/* A SHUTDOWN that waits for the hand-over below: no reply, until SHUTDOWN
 * ABORT answers it an error. */
void server_block_shutdown(server *s, client *c);
/* A leader's shutdown (SHUTDOWN, SIGTERM) hands leadership over first,
 * for at most shutdown-timeout: 1 if that began (the node exits once done,
 * or at the deadline: handover_check), 0 if there is nothing to wait for.
 * server_handover_abort (SHUTDOWN ABORT) cancels it: 1 if there was one. */
int server_handover_start(server *s);
int server_handover_abort(server *s);
/* Answer blocked clients whose condition holds or whose time is up. */
void server_check_blocked(server *s);
/* CLIENT UNBLOCK of a client in WAIT: its reply now (the count, or
 * -UNBLOCKED with error); 1 if it was blocked in WAIT. */
int server_unblock_wait(server *s, client *c, int error);
/* Forget a blocked client (it is closing). */
void server_forget_blocked(server *s, client *c);

/* ---- cmd_memory.c ---- */
/* Before a command: evict while over maxmemory (evict_perform) on a
 * writable primary; EVICT_FAIL when commands that may grow memory must be
 * refused with -OOM. Schedules more rounds when time ran out. */
int server_evict(server *s);
/* Start the eviction timer (CONFIG SET maxmemory, a time-limited round). */
void server_evict_soon(server *s);
/* Bytes of used memory that maxmemory does not count (the WAL entry
 * buffer and the replication send queues: Redis's AOF and replica
 * buffers). */
size_t server_mem_not_counted(void *srv);
/* The memory figures of MEMORY STATS / DOCTOR and INFO memory (Redis's
 * getMemoryOverheadData, over kvnode's allocations). */
typedef struct mem_overhead {
    size_t total, peak, startup;
    size_t repl_backlog, clients_slaves, clients_normal, aof_buffer;
    size_t ht_main, ht_expires;   /* keys dict (with key headers), expiry index */
    size_t overhead_total, dataset, keys, bytes_per_key;
    float dataset_perc, peak_perc;
    size_t alloc_allocated, alloc_active, alloc_resident, rss;
    size_t not_counted;           /* mem_not_counted_for_evict */
} mem_overhead;
void server_mem_overhead(server *s, mem_overhead *m);

/* ---- blocking.c ---- */
/* Block c: the command (argv copied) asked to wait on keys (x->block…). */
void blocking_block(server *s, client *c, const kv_command *cmd, int argc,
                    const char *const *argv, const size_t *lens, const cmd_ctx *x);
/* Is c blocked on keys (not WAIT)? */
int blocking_on_keys(const client *c);
/* A key of database db changed (key_touched): if clients wait on it, it
 * is ready. */
void blocking_key_touched(server *s, int db, const char *key, size_t klen);
/* SWAPDB db1 db2: every key awaited in either may be ready. */
void blocking_db_swapped(server *s, int db1, int db2);
/* After each top-level command (and timer): serve the clients whose keys
 * became ready, then let unblocked clients read their pending input. */
void blocking_after_command(server *s);
/* CLIENT UNBLOCK: end c's block as a timeout (null reply) or with
 * -UNBLOCKED; 1 if c was blocked on keys. */
int blocking_unblock(server *s, client *c, int error);
/* The node stops leading: every client blocked on keys gets `error`
 * (without the leading '-') and is closed after it, as Redis's
 * disconnectAllBlockedClients. */
void blocking_release_all(server *s, const char *error);
/* c was unblocked (not served): it reads its pending input after the
 * current command. */
void blocking_resume_later(server *s, client *c);
/* c is closing: forget its block. */
void blocking_forget(server *s, client *c);
/* INFO: keys with blocked clients; blocked clients with a timeout. */
size_t blocking_nkeys(const server *s);
size_t blocking_ntimeouts(const server *s);
void blocking_close(server *s); /* shutdown: close the timer */
void blocking_free(server *s);

/* ---- cmd_sentinel.c ---- */
/* Role, leader or writability changed (and every cron tick): follow the
 * primary this node vouches for; a new one closes ordinary clients. */
void sentinel_observe(server *s);

/* ---- client.c ---- */
client *client_new(server *s, int unix_socket);
/* The open client with this id (not closing), or NULL: Redis's
 * lookupClientByID. */
client *client_by_id(server *s, uint64_t id);
void client_start(client *c); /* after accept */
/* Close now (CL_CLOSING) or once the current callback returns. */
void client_close(client *c);
/* Close once everything (including barrier-held replies) has been sent. */
void client_close_after_reply(client *c);
/* Send what the barrier allows; called after commands and commit moves. */
void client_flush(client *c);
/* Record that the reply written from stream offset `offset` on needs lsn
 * committed and heartbeat round `round` confirmed (0: none). */
void client_add_mark(client *c, uint64_t offset, uint64_t lsn, uint64_t round);
/* Stream offset of the next byte appended to out. */
uint64_t client_out_offset(const client *c);
/* Output buffer held behind the reply barrier (waiting for its LSN to
 * commit), over every client: it goes out, and is freed, once the WAL
 * catches up. */
size_t clients_held_bytes(server *s);
size_t client_pending_bytes(const client *c);
/* CLIENT LIST line for c (without newline) into b. */
void client_describe(const client *c, kbuf *b);
/* (Re)apply the configured protocol limits (proto-max-bulk-len) to c's
 * parser; CONFIG SET does it for every client. */
void client_apply_limits(client *c);
/* Give up on the replies held by the barrier: drop them from the output,
 * append `error` (a full error line such as "MISCONF …", or NULL for
 * none) and close the client once what remains is sent. Their commands'
 * outcome is unknown to the client, as after a crash. */
void client_fail_pending(client *c, const char *error);
/* Resume reading input after a block (WAIT) ended. */
void client_unblock(client *c);
/* Is c's pending output past its class's client-output-buffer-limit (hard,
 * or soft for too long)? Starts the soft-limit clock. */
int client_output_over_limit(client *c);
/* Close c at the next pubsub_settle (it is over its output limit inside a
 * loop that must not free clients); logs it and counts it, as Redis's
 * freeClientAsync for output limits. */
void client_close_asap(client *c);
/* Close c (logged, counted) if its pending output is over its class's hard
 * limit, or over the soft one for its seconds; returns 1 if it did. */
int client_check_output_limits(client *c);

/* ---- client_evict.c (maxmemory-clients) ---- */
/* Bytes c holds: its structure and its query, output and message buffers
 * (CLIENT LIST tot-mem, INFO mem_clients_normal). */
size_t client_memory(const client *c);
/* Re-measure c and update server.clients_mem. */
void client_mem_update(client *c);
/* c is closing: take its share out of server.clients_mem. */
void client_mem_forget(client *c);
/* The maxmemory-clients limit in bytes now (a percentage is of maxmemory);
 * 0: none. */
size_t clients_mem_limit(const server *s);
/* While the clients together pass the limit, close the one using the most
 * memory (never a CLIENT NO-EVICT one). Returns 1 if `cur` was closed. */
int clients_evict(server *s, client *cur);

/* ---- dispatch.c ---- */
/* Run one request (argv from the parser) for a client. */
void dispatch_command(client *c, int argc, const char *const *argv, const size_t *lens);
/* Apply one logged command to database db (replay / replication). */
int dispatch_apply(void *srv, ks **dbs, int db, int argc, const char **argv, const size_t *lens,
                   char *err, size_t errlen);
void dispatch_init(server *s);
void dispatch_free(server *s);
/* For scripts (cmd_script.c): why a write is refused now (NULL: it is
 * not), and running one command of a script into out. */
const char *dispatch_write_refusal(server *s, client *cl, char *buf, size_t len);
void dispatch_script_exec(server *s, cmd_ctx *caller, const kv_command *cmd, int argc,
                          const char *const *argv, const size_t *lens, kbuf *out, int resp,
                          int propagate);
/* cmd_script.c: the scripting engine's host. */
void scripting_init(server *s);
/* supervise.c: supervised (systemd's notify protocol, upstart's SIGSTOP).
 * supervise_start after the configuration is read: 1 if the node is
 * supervised (it then does not daemonize); supervise_ready once the data is
 * loaded and clients are served; supervise_stopping at shutdown;
 * supervise_name for INFO's process_supervised. */
int supervise_start(int mode);
void supervise_ready(void);
void supervise_stopping(void);
const char *supervise_name(void);
/* ldb.c: SCRIPT DEBUG's sessions (the host's ldb_* callbacks), and the
 * children of forked ones (reaped on SIGCHLD, killed at shutdown). */
struct script_ldb_io;
int ldb_wanted(server *s, cmd_ctx *caller);
int ldb_start(server *s, cmd_ctx *caller, struct script_ldb_io *io);
void ldb_end(server *s, cmd_ctx *caller);
void ldb_init(server *s);
void ldb_shutdown(server *s);
/* The parked script's client is closing. */
void dispatch_script_client_gone(server *s, client *c);
void dispatch_script_stop(server *s); /* at shutdown: close the idle handle */
/* Serve a client blocked in cmd (argv): run it again popping from key
 * only, log and hold its reply as any write's (blocking.c). */
void dispatch_serve_blocked(client *c, const kv_command *cmd, int argc, const char *const *argv,
                            const size_t *lens, const char *key, size_t klen);
/* A blocked command ended without being served (timeout, CLIENT UNBLOCK,
 * role change): count its call now (failed if `error`, its error text
 * without the '-', is not NULL). */
void dispatch_count_blocked(client *c, const kv_command *cmd, int argc, const char *const *argv,
                            const size_t *lens, const char *error);
/* One error reply sent: total_error_replies and INFO errorstats, as
 * Redis's afterErrorReply. `err` is the message, with or without the
 * leading '-' of its RESP line; only its first 32 bytes are read. */
void server_count_error(server *s, const char *err, size_t len);
/* CONFIG RESETSTAT: forget the error counts. */
void server_reset_errors(server *s);
/* Forget a client's MULTI and WATCH state (DISCARD, EXEC, close). */
void multi_reset(client *c);
void watch_unwatch_all(client *c);
/* A key of database db changed: every client watching it gets
 * CL_DIRTY_CAS. */
void watch_touch(server *s, int db, const char *key, size_t klen);
/* Database db is being emptied (FLUSHDB, FLUSHALL) or, with replaced_with,
 * swapped with that keyspace (SWAPDB): as Redis's touchAllWatchedKeysInDb,
 * a key watched in db is touched if it exists in db's keyspace now or in
 * replaced_with. Call before the change. */
void watch_touch_db(server *s, int db, ks *replaced_with);

/* ---- tracking.c: client-side caching (CLIENT TRACKING) ---- */
/* A key changed (key_touched): invalidate it for the clients that may
 * cache it. by_command: changed by the running command (not by expiry,
 * eviction or the primary's stream). */
void tracking_key_touched(server *s, const char *key, size_t klen, int by_command);
/* FLUSHDB / FLUSHALL: every tracking client is told all keys changed. */
void tracking_flushed(server *s);
/* After a read-only command of c (cmd, a container or not, with its
 * argv): remember the keys it named for c. */
void tracking_remember(server *s, client *c, const kv_command *cmd, int argc,
                       const char *const *argv, const size_t *lens);
/* c's command (a whole EXEC) has replied: send the invalidations that
 * waited for it. */
void tracking_after_command(server *s, client *c);
/* Keep the table within tracking-table-max-keys (before each command of
 * cur, and from cron with cur NULL). */
void tracking_limit(server *s, client *cur);
/* CLIENT TRACKING OFF, RESET; and a client closing. */
void tracking_disable(client *c);
void tracking_client_gone(client *c);
void tracking_stats(const server *s, uint64_t *clients, uint64_t *keys, uint64_t *items,
                    uint64_t *prefixes);
void tracking_close(server *s); /* shutdown: close the loop handle */
void tracking_free(server *s);
/* CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO */
void client_tracking_cmd(cmd_ctx *c);
void client_caching_cmd(cmd_ctx *c);
void client_getredir_cmd(cmd_ctx *c);
void client_trackinginfo_cmd(cmd_ctx *c);

/* ---- cmd_pubsub.c ---- */
/* Deliver a message to the subscribers of a channel (or shard channel) and
 * of the patterns matching it; the number of deliveries. Call
 * pubsub_settle before returning to the loop. */
long pubsub_publish(server *s, int shard, const char *ch, size_t chlen, const char *msg,
                    size_t mlen);
/* Hold what was delivered since the last call behind the reply barrier,
 * flush it, and close the clients it pushed past their output limit. */
void pubsub_settle(server *s);
/* A message pushed to c outside any reply of its own (a Pub/Sub message,
 * a tracking invalidation): pubsub_push_begin gives the reply to write it
 * with — into c's output, or after the reply of c's running command —
 * and notes c for pubsub_settle; 0 if c is going away (write nothing).
 * pubsub_push_end after writing it (output limits). */
int pubsub_push_begin(server *s, client *c, reply *r);
void pubsub_push_end(server *s, client *c, reply *r);
/* A command of c finished: its own messages that waited for its reply
 * follow it now. */
void pubsub_after_command(client *c);

/* MONITOR (monitor.c). monitor_shows: whether a command's run is shown
 * after it (not the admin commands, nor the skip_monitor script commands,
 * which are fed before they run). monitor_feed: show one command to the
 * monitors — run by client `from` (lua: by a script of it) in database
 * db. monitor_forget: c stops monitoring (RESET, close). */
int monitor_shows(const kv_command *cmd, int argc, const char *const *argv, const size_t *lens);
void monitor_feed(server *s, client *from, int lua, int db, const kv_command *cmd, int argc,
                  const char *const *argv, const size_t *lens);
void monitor_forget(client *c);

/* Redis's replication stream (sync_stream.c). sync_stream_feed: send the
 * Redis replicas what was committed since (after commit moves);
 * sync_stream_cron: that, and their PINGs; sync_stream_forget: c is no
 * longer one (close). */
void sync_stream_feed(server *s);
void sync_stream_cron(server *s, int64_t now);
void sync_stream_forget(client *c);
/* Bytes of the RDB still in c's output (not yet handed to the socket): not
 * counted against its output-buffer limit, which Redis applies to the
 * stream after the RDB (the RDB goes from a file there). */
size_t sync_stream_rdb_pending(const client *c);
/* Memory of the Redis replicas' connections: Redis's mem_clients_slaves,
 * not counted for maxmemory (as a Redis primary's replica buffers) nor
 * for maxmemory-clients. */
size_t sync_stream_memory(server *s);
/* The Redis replicas as INFO replication and ROLE list them (a kv_malloc'd
 * array, *out, of the returned count; NULL when none). */
struct repl_extra_replica;
int sync_stream_replicas(server *s, struct repl_extra_replica **out);
/* Drop every subscription of c, quietly (RESET, close). */
void pubsub_client_reset(client *c);
/* Take c off the list of clients pubsub_settle will visit (close). */
void pubsub_untouch(client *c);
/* A PUBLISH / SPUBLISH streamed by the primary (repl_host.publish). */
void pubsub_from_primary(server *s, int shard, const char *ch, size_t chlen, const char *msg,
                         size_t mlen);
/* notify-keyspace-events changed (and at startup). */
void pubsub_apply_config(server *s);

/* ---- commands.c ---- */
/* A command a client may call by argv[0] (never a subcommand), or NULL. */
const kv_command *command_lookup(const char *name, size_t len);
/* "get" or "client|list" (COMMAND INFO / DOCS / LIST names), or NULL. */
const kv_command *command_lookup_full(const char *name, size_t len);
/* Subcommand `sub` of a container command, or NULL. */
const kv_command *command_lookup_sub(const kv_command *container, const char *sub, size_t len);
/* Is cmd a subcommand ("client|list")? */
int command_is_sub(const kv_command *cmd);
/* The subcommands of container, in table order: stores up to max of them
 * in out and returns how many there are (0: not a container). */
int command_subs(const kv_command *container, const kv_command **out, int max);
/* Has cmd subcommands (CLIENT, CONFIG …)? Cheap: for every request. */
int command_is_container(const kv_command *cmd);
/* Before queuing or running a container called with argc > 1: 0 if
 * argv[1] is one of its subcommands and the arity fits, else -1 after
 * replying Redis's error into r (an arity error counts as a rejected call
 * of the subcommand in stats). */
int command_check_sub(const kv_command *cmd, int argc, const char *const *argv,
                      const size_t *lens, reply *r, cmd_stat *stats);
/* The proc of a container: dispatches argv[1] to its subcommand (unknown
 * subcommand and arity errors as Redis 7), keeps the subcommand's stats. */
void command_container(cmd_ctx *c);
/* Table index of a command (for cmd_stats). */
int command_index(const kv_command *cmd);
/* Every table entry, subcommands included (command_is_sub tells them). */
int command_count(void);
const kv_command *command_at(int i);
void commands_init(void);

/* ---- cmd_command.c ---- */
/* The key arguments of a call of cmd (a subcommand for containers), as
 * Redis's getKeysFromCommand: fn (may be NULL) sees each key's index in
 * argv, in Redis's order. Returns how many, -1 when the arguments do not
 * name them (a bad numkeys …), -2 when cmd takes no keys. */
int command_keys(const kv_command *cmd, int argc, const char *const *argv, const size_t *lens,
                 void (*fn)(void *arg, int i), void *arg);

/* The keys of a call of cmd with their key-spec flags (KSF_*), as Redis's
 * getKeysFromCommandWithSpecs: up to max positions into pos and flags
 * into fl. Returns how many, -1 when the arguments do not name them, -2
 * when cmd takes no keys. */
int command_keys_flags(const kv_command *cmd, int argc, const char *const *argv,
                       const size_t *lens, int *pos, unsigned *fl, int max);

/* Build a ctx for running a command for cl (NULL: replay) on the server. */
void server_ctx_init(cmd_ctx *c, server *s, client *cl, kbuf *out, int resp);

/* ---- cmd_server.c ---- */
/* Redis's HELP reply: "<CMD> <subcommand> [<arg> [value] [opt] ...].
 * Subcommands are:", the NULL-terminated lines, then HELP's own two. */
void admin_reply_help(cmd_ctx *c, const char *cmd, const char *const *lines);
/* Redis 7.0's refusal of a protected command (CMD_PROTECTED: DEBUG, MODULE
 * LOAD/LOADEX/UNLOAD) its enable-*-command option does not allow. */
#define KV_ERR_PROTECTED_FMT                                                                     \
    "ERR %s command not allowed. If the %s option is set to \"local\", you can run it from a "   \
    "local connection, otherwise you need to set this option in the configuration file, and "    \
    "then restart the server."
/* Redis's allowProtectedAction: setting is PROTECT_* (enable-debug-command,
 * enable-module-command, enable-protected-configs); local is a client on
 * the Unix socket or from 127.0.0.1 or ::1. */
int client_is_local(const client *c);
int protected_allowed(int setting, const client *c);

/* ---- cmd_latency.c ---- */
/* A command ran for usec (latency-tracking): into its (or its
 * subcommand's) histogram. */
void latency_note(server *s, const kv_command *cmd, int argc, const char *const *argv,
                  const size_t *lens, int64_t usec);
void latency_reset(server *s); /* CONFIG RESETSTAT */
/* The latency monitor: an event ("command", "fast-command",
 * "expire-cycle") that lasted ms is kept when latency-monitor-threshold is
 * set and ms reaches it (Redis's latencyAddSampleIfNeeded). */
void latency_monitor_sample(server *s, const char *event, int64_t ms);
/* ---- dispatch.c ---- */
/* A blocked command's late reply (timeout, CLIENT UNBLOCK) was written
 * from stream offset `from`: dropped under CLIENT REPLY OFF. */
void dispatch_blocked_reply_done(client *cl, uint64_t from);
void latency_free(server *s);
/* INFO latencystats lines. */
void latency_info(server *s, kbuf *b);

/* ---- monitor.c ---- */
/* Which arguments Redis 7.0 shows as "(redacted)" in MONITOR and SLOWLOG
 * (passwords: AUTH, HELLO AUTH, MIGRATE AUTH/AUTH2, ACL SETUSER, CONFIG SET
 * requirepass/masterauth/masteruser): red[i] set to 1 for each (red has
 * argc zeroed entries). cmd is the command argv[0] names. */
void command_redact(const kv_command *cmd, int argc, const char *const *argv, const size_t *lens,
                    char *red);

/* ---- slowlog.c ---- */
void slowlog_push(server *s, client *cl, int argc, const char *const *argv,
                  const size_t *lens, int64_t duration_us);
/* Entry i, newest first (0 = newest), or NULL. */
const slowlog_entry *slowlog_get(const server *s, size_t i);
void slowlog_reset(server *s);
void slowlog_free(server *s);

#endif
