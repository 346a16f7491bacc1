/* cmd.h — what a command implementation sees.
 *
 * A command is a function `void proc(cmd_ctx *c)` registered in a table
 * (kv_command). It reads its arguments from c, works on the keyspace
 * through the db_* helpers below, and writes exactly one reply through c->r
 * (reply.h). It never touches sockets, the WAL or the clock directly:
 *
 *  - Lookups go through db_read/db_write, which apply lazy expiry the way
 *    the node's role requires (see db.c).
 *  - Every modification of a key is followed by db_modified(c, key), which
 *    marks the command dirty and invalidates WATCHes.
 *  - A dirty command is logged to the WAL as its own argv unless it logs
 *    its effects itself with cmd_propagate — which it must when the argv is
 *    not deterministic (relative TTLs, INCRBYFLOAT, …).
 *  - The same function runs when the log is replayed (c->replay): no
 *    reply goes anywhere, nothing expires, nothing is logged.
 *  - Databases: c->k is the database the client selected (c->db, one of
 *    c->dbs[0..ndbs)). Everything above (lookups, WATCH, effects, events)
 *    is about c->db; a command that works on another database (MOVE, COPY
 *    … DB) switches to it with cmd_use_db and back.
 *  - Every change Redis announces with notifyKeyspaceEvent is announced
 *    with cmd_notify, at the same point and with the same class and event
 *    name ("set", "lpush", "hdel", "del" when a container empties, …), and
 *    "new" with cmd_notify_new where Redis's dbAdd would add the key. A
 *    NEW COMMAND MUST DO THE SAME: keyspace notifications
 *    (notify-keyspace-events) are part of Redis's contract.
 */
#ifndef KV_CMD_H
#define KV_CMD_H

#include "engine.h"
#include "keyspace.h"
#include "reply.h"

#include <stddef.h>
#include <stdint.h>

typedef struct server server; /* opaque here: only server/ sees inside */
typedef struct client client;
typedef struct cmd_ctx cmd_ctx;

/* Keyspace notification classes: Redis 7.0's NOTIFY_* values, the letters
 * of notify-keyspace-events. */
enum {
    NOTIFY_KEYSPACE = 1 << 0,  /* K: __keyspace@<db>__:<key> <event> */
    NOTIFY_KEYEVENT = 1 << 1,  /* E: __keyevent@<db>__:<event> <key> */
    NOTIFY_GENERIC = 1 << 2,   /* g: del, expire, rename_from, … */
    NOTIFY_STRING = 1 << 3,    /* $ */
    NOTIFY_LIST = 1 << 4,      /* l */
    NOTIFY_SET = 1 << 5,       /* s */
    NOTIFY_HASH = 1 << 6,      /* h */
    NOTIFY_ZSET = 1 << 7,      /* z */
    NOTIFY_EXPIRED = 1 << 8,   /* x: a key expired (lazily or actively) */
    NOTIFY_EVICTED = 1 << 9,   /* e: a key was evicted (maxmemory) */
    NOTIFY_STREAM = 1 << 10,   /* t */
    NOTIFY_KEY_MISS = 1 << 11, /* m: a read found no key (not part of A) */
    NOTIFY_LOADED = 1 << 12,   /* module-only in Redis, no letter */
    NOTIFY_MODULE = 1 << 13,   /* d */
    NOTIFY_NEW = 1 << 14,      /* n: a key was created (not part of A) */
    NOTIFY_ALL = NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH |
                 NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE,
};

/* maxmemory-policy (evict.c): Redis 7.0's values, as flags it tests
 * (MAXMEMORY_FLAG_LRU / LFU / ALLKEYS) plus a number. */
enum {
    EVICT_FLAG_LRU = 1 << 0,
    EVICT_FLAG_LFU = 1 << 1,
    EVICT_FLAG_ALLKEYS = 1 << 2,
    EVICT_VOLATILE_LRU = (0 << 8) | EVICT_FLAG_LRU,
    EVICT_VOLATILE_LFU = (1 << 8) | EVICT_FLAG_LFU,
    EVICT_VOLATILE_TTL = 2 << 8,
    EVICT_VOLATILE_RANDOM = 3 << 8,
    EVICT_ALLKEYS_LRU = (4 << 8) | EVICT_FLAG_LRU | EVICT_FLAG_ALLKEYS,
    EVICT_ALLKEYS_LFU = (5 << 8) | EVICT_FLAG_LFU | EVICT_FLAG_ALLKEYS,
    EVICT_ALLKEYS_RANDOM = (6 << 8) | EVICT_FLAG_ALLKEYS,
    EVICT_NOEVICTION = 7 << 8,
};

/* What the data commands need from the process around them. The server
 * owns it and keeps it current; commands never see the server itself. */
typedef struct cmd_env {
    engine *eng;                 /* effects are logged into its WAL entry */
    int replica;                 /* this node follows a primary */
    long long proto_max_bulk_len; /* the largest string a command may build */
    long long obuf_hard;         /* a reply past this closes the client (0: none) */
    long long hll_sparse_max_bytes; /* sparse HyperLogLogs up to this size */
    /* INFO stats */
    uint64_t keyspace_hits, keyspace_misses, expired_keys;
    /* A key of database db was modified or deleted (WATCH, client-side
     * caching). by_command: by the running command; 0 when it expired or
     * was evicted (Redis's signalModifiedKey with no client). */
    void (*key_touched)(void *arg, int db, const char *key, size_t klen, int by_command);
    void *key_touched_arg;
    /* A keyspace event (Redis's notifyKeyspaceEvent): publishes it to
     * __keyspace@<db>__:<key> / __keyevent@<db>__:<event>. Called only for
     * the classes in notify_flags (notify-keyspace-events); NULL: none. */
    void (*notify)(void *arg, int db, int type_class, const char *event, const char *key,
                   size_t klen);
    void *notify_arg;
    int notify_flags;
    /* Memory limit, eviction and access stamps (evict.c). */
    unsigned long long maxmemory; /* bytes; 0: no limit */
    int maxmemory_policy;         /* EVICT_* */
    int maxmemory_samples;
    int eviction_tenacity;        /* maxmemory-eviction-tenacity, 0..100 */
    int lfu_log_factor, lfu_decay_time;
    int replica_ignore_maxmemory; /* (a replica never evicts: see evict.c) */
    /* lazyfree-lazy-*: free dropped values on the lazyfree thread */
    int lazy_user_del, lazy_user_flush, lazy_eviction, lazy_expire;
    int stamps_frozen;            /* a snapshot child runs: reads leave access stamps alone */
    /* Bytes of used memory that do not count against maxmemory (WAL and
     * replication buffers, as Redis's AOF and replica buffers); NULL: 0. */
    size_t (*mem_not_counted)(void *arg);
    void *mem_not_counted_arg;
    uint64_t evicted_keys;        /* INFO stats */
    int eviction_running;         /* over maxmemory after a time-limited round:
                                     the server calls evict_perform again soon */
    int64_t eviction_exceeded_since_us; /* monotonic start of the current over-limit spell (0: none) */
    uint64_t eviction_exceeded_us;      /* total time spent over the limit, ended spells */
    int expire_db; /* the database the active expiry cycle visits next */
    /* CLIENT PAUSE in effect (0 none, 1 WRITE, 2 ALL; server.h PAUSE_*):
     * the dataset stays as it is, so a read that meets an expired key
     * treats it as missing without deleting it, as on a replica (Redis's
     * expireIfNeeded while clients are paused). */
    int client_pause;
    /* May the user running c (its ACL user) run c's command and read every
     * key? SORT's BY and GET need it (Redis's
     * ACLUserCheckCmdWithUnrestrictedKeyAccess). NULL: yes. */
    int (*full_read_access)(void *arg, cmd_ctx *c);
    void *full_read_access_arg;
} cmd_env;

/* Command flags (kv_command.flags). */
enum {
    CMD_WRITE = 1 << 0,     /* may modify the keyspace */
    CMD_READONLY = 1 << 1,  /* reads the keyspace */
    CMD_ADMIN = 1 << 2,
    CMD_FAST = 1 << 3,
    CMD_NOAUTH = 1 << 4,    /* allowed before AUTH (AUTH, HELLO, QUIT) */
    CMD_NOMULTI = 1 << 5,   /* executed at once even inside MULTI (EXEC, DISCARD, …) */
    CMD_DENYOOM = 1 << 6,   /* may grow memory (refused when the WAL cannot accept) */
    CMD_STALE = 1 << 7,     /* allowed while the node is not serving data */
    CMD_NOBARRIER = 1 << 8, /* reply does not depend on data: no reply barrier */
    CMD_NOREPLICA = 1 << 9, /* refused on replicas even if not a write (e.g. SAVE is fine) */
    CMD_BLOCKING = 1 << 10, /* may block the client (BLPOP …): COMMAND's "blocking" */
    CMD_NOSCRIPT = 1 << 11, /* refused inside scripts: COMMAND's "noscript" */
    /* Redis's flags that kvnode reports in COMMAND as Redis 7.0 does;
     * they describe the command (kvnode's own rules for loading, busy
     * scripts and MULTI are the flags above and dispatch.c). */
    CMD_LOADING = 1 << 12,           /* "loading" */
    CMD_ALLOW_BUSY = 1 << 13,        /* "allow_busy" */
    CMD_PUBSUB = 1 << 14,            /* "pubsub" */
    CMD_SKIP_MONITOR = 1 << 15,      /* "skip_monitor" */
    CMD_SKIP_SLOWLOG = 1 << 16,      /* "skip_slowlog" */
    CMD_NO_MANDATORY_KEYS = 1 << 17, /* "no_mandatory_keys" */
    CMD_NO_ASYNC_LOADING = 1 << 18,  /* "no_async_loading" */
    CMD_NOT_IN_MULTI = 1 << 19,      /* "no_multi" */
    /* Redis's CMD_PROTECTED (not shown by COMMAND): DEBUG and MODULE
     * LOAD/LOADEX/UNLOAD run only as enable-debug-command and
     * enable-module-command allow (dispatch.c). */
    CMD_PROTECTED = 1 << 20,
    /* Redis 7.0's internal CMD_MAY_REPLICATE (COMMAND does not show it):
     * not a write, but may add to the replication stream (PUBLISH,
     * PFCOUNT, scripts without flags). CLIENT PAUSE WRITE postpones these
     * as writes, and read-only scripts may not call them. */
    CMD_MAY_REPLICATE = 1 << 21,
    /* Redis's "asking" (RESTORE-ASKING): served by a cluster node for a
     * slot it is importing; COMMAND shows it. */
    CMD_ASKING = 1 << 22,
};

typedef struct kv_command {
    const char *name;      /* lowercase */
    void (*proc)(cmd_ctx *c);
    int arity;             /* Redis convention: N exact, -N at least N */
    uint32_t flags;
    int first_key, last_key, key_step;
    const char *group;     /* COMMAND DOCS group: "string", "list", … */
    const char *summary;   /* one line for COMMAND DOCS */
    const char *since;     /* Redis version that introduced it */
    const char *acl;       /* ACL categories, e.g. "@write @string @fast" */
} kv_command;

struct cmd_ctx {
    server *srv;          /* for server/'s admin commands only */
    client *cl;           /* NULL when replaying */
    cmd_env *env;
    ks *k;                /* the selected database: dbs[db] */
    ks **dbs;             /* every database (engine_dbs) */
    int ndbs;
    int db;               /* the selected database's number */
    int argc;
    const char *const *argv;
    const size_t *lens;
    reply r;
    int64_t now_ms;       /* wall clock at the start of the command (or EXEC) */
    int replay;           /* applying logged effects */
    int replica_apply;    /* … that a replica applies from its primary's stream (it
                             announces them as keyspace events, as a Redis replica does) */
    int replica;          /* this node is a replica: expired keys read as missing */
    int dirty;            /* modifications so far */
    int propagated;       /* effects logged explicitly via cmd_propagate */
    int close_client;     /* the reply outgrew obuf_hard: close after it */
    int parked;           /* a long script yielded: its reply comes later (script.h) */
    int err_nostats;      /* its error reply was counted already (a script's error
                             from redis.call): failed_calls only, no errorstats */
    const kv_command *cmd;

    /* Blocking commands (BLPOP, BZPOPMIN, …; see cmd_block). In: */
    int deny_blocking;    /* inside EXEC, replaying, no client: answer nil instead */
    int in_script;        /* called by a script (redis.call / redis.pcall) */
    const char *serve_key; /* serving a blocked client: pop from this key only (it */
    size_t serve_klen;     /* holds a non-empty value of the awaited type) */
    /* Out (set by cmd_block): the command wants its client blocked on
     * argv[block_first .. block_first + block_nkeys - 1] until one holds a
     * value of block_type, or until block_deadline_ms (0: forever). The
     * server runs the command again with serve_key set to serve it. */
    int block;
    int block_type;       /* KT_LIST or KT_ZSET */
    int block_first, block_nkeys;
    int64_t block_deadline_ms;
    /* Stream blocking (XREAD/XREADGROUP BLOCK; see cmd_xblock, stream_block.c):
     * in: */
    int xunblocking;      /* a blocked command re-run because a key it waits on changed */
    /* out (set by cmd_xblock): */
    int xblock;           /* the command wants to block */
    int64_t xblock_deadline_ms; /* 0: forever */
    int xblock_argc;      /* what to re-run when a key changes (owned by the ctx until */
    char **xblock_argv;   /* the server takes it; cmd_xblock_release frees it) */
    size_t *xblock_lens;
    int xblock_nkeys;     /* the keys waited on: argv indexes xblock_key0 .. + nkeys */
    int xblock_key0;
};

/* A ctx for running commands on database db of dbs[0..ndbs) with env
 * (replies into out). */
void cmd_ctx_init(cmd_ctx *c, cmd_env *env, ks **dbs, int ndbs, int db, kbuf *out, int resp);
/* Make database db (< c->ndbs) the one c works on; returns the previous
 * one, to switch back (MOVE, COPY … DB). */
int cmd_use_db(cmd_ctx *c, int db);

/* ---- lookups ---- */
/* The key for reading, or NULL if missing or expired. Counts hits/misses
 * and updates the key's access stamp (LRU clock / LFU counter, evict.c). */
kobj *db_read(cmd_ctx *c, const char *key, size_t klen);
/* db_read without the "keymiss" event and without touching the access
 * stamp (Redis's LOOKUP_NOTOUCH | LOOKUP_NONOTIFY: OBJECT). */
kobj *db_read_nonotify(cmd_ctx *c, const char *key, size_t klen);
/* db_read without touching the access stamp (Redis's LOOKUP_NOTOUCH:
 * TYPE, EXISTS, TTL and friends). */
kobj *db_read_notouch(cmd_ctx *c, const char *key, size_t klen);
/* The key for modification, or NULL if missing (an expired key is deleted
 * first, and that deletion logged). Updates the access stamp. */
kobj *db_write(cmd_ctx *c, const char *key, size_t klen);
/* Is o logically expired at c->now_ms (never during replay)? */
int db_is_expired(cmd_ctx *c, const kobj *o);
/* Lazy expiry of an object found without a lookup (SCAN, RANDOMKEY), as
 * Redis's expireIfNeeded: no hit/miss counted. DB_EXPIRED_DELETED means o
 * was deleted (the DEL logged) and is freed; DB_EXPIRED_KEPT that it reads
 * as missing but stays (a replica, or the WAL cannot take the DEL). */
enum { DB_LIVE = 0, DB_EXPIRED_DELETED = 1, DB_EXPIRED_KEPT = 2 };
int db_expire_if_needed(cmd_ctx *c, kobj *o);

/* ---- modifications ---- */
/* Call after every change to a key (including deletion). */
void db_modified(cmd_ctx *c, const char *key, size_t klen);
/* Delete a key if it exists (and is not expired); 1 if deleted. Signals
 * the modification itself. */
int db_delete(cmd_ctx *c, const char *key, size_t klen);
/* db_delete freeing the value on the lazyfree thread when lazy and the
 * value is large (UNLINK; DEL under lazyfree-lazy-user-del). */
int db_delete_lazy(cmd_ctx *c, const char *key, size_t klen, int lazy);
/* Log the deletion of key (expiry, eviction) as Redis propagates it: DEL,
 * or UNLINK when it is lazy. */
void db_log_delete(cmd_env *env, int db, const char *key, size_t klen, int lazy);
/* Delete the expired key o of database db (keyspace k) on the primary:
 * logged (into the entry being built), notified, counted. 1 if deleted, 0
 * if it stays (a replica, clients paused unless for_write, the WAL cannot
 * take it). Outside a command the caller commits the entry. */
int db_expire_key(cmd_env *env, ks *k, int db, kobj *o, int for_write);
/* Signal a change of key without counting the command dirty (Redis
 * signals some no-op writes, such as LTRIM that trims nothing, to WATCH). */
void db_touched(cmd_ctx *c, const char *key, size_t klen);
/* Log these effects instead of the command's own argv. May be called
 * several times; the effects are logged in order. */
void cmd_propagate(cmd_ctx *c, int argc, const char *const *argv, const size_t *lens);

/* ---- stream blocking (XREAD / XREADGROUP; stream_block.c) ---- */
/* Ask to block instead of replying: the server parks the client until a
 * key in argv[key0 .. key0+nkeys) is modified, then runs argv again (with
 * c->xunblocking set; a run that calls cmd_xblock again keeps waiting), or
 * until deadline_ms (0: never) passes, when it answers a null array.
 * argv is copied. Never called with c->deny_blocking or c->replay set. */
void cmd_xblock(cmd_ctx *c, int64_t deadline_ms, int argc, const char *const *argv,
                const size_t *lens, int key0, int nkeys);
/* Free a block request nobody took. */
void cmd_xblock_release(cmd_ctx *c);

/* ---- keyspace notifications ---- */
/* Announce an event on key (type: one NOTIFY_* class; event: Redis's name,
 * e.g. cmd_notify(c, NOTIFY_HASH, "hset", key, klen)). Costs a test when
 * nobody asked for the class. Silent while recovering from the log (a
 * replica applying its primary's stream does announce). */
void cmd_notify(cmd_ctx *c, int type, const char *event, const char *key, size_t klen);
/* The key was just created (Redis's "new" event, sent by its dbAdd). */
void cmd_notify_new(cmd_ctx *c, const char *key, size_t klen);
/* The same without a command (active expiry), for a key of database db. */
void env_notify(cmd_env *env, int db, int type, const char *event, const char *key,
                size_t klen);

/* ---- arguments ---- */
/* Case-insensitive comparison of argument i with s. */
int arg_is(const cmd_ctx *c, int i, const char *s);
/* The same with the argument read as a C string, cut at its first NUL:
 * how Redis compares option names (strcasecmp on the sds), so "NX\0x"
 * is NX there. For options whose Redis parser works that way. */
int arg_is_c(const cmd_ctx *c, int i, const char *s);
/* Parse argument i as a Redis integer; on failure reply
 * "ERR value is not an integer or out of range" and return -1. */
int arg_ll(cmd_ctx *c, int i, long long *out);
/* Same with a custom error message (full text, e.g. "ERR timeout is …"). */
int arg_ll_msg(cmd_ctx *c, int i, long long *out, const char *msg);
/* A blocking command's timeout (Redis's getTimeoutFromObjectOrReply in
 * seconds): a float number of seconds, >= 0; *deadline_ms is the absolute
 * wall-clock deadline, 0 for none (a timeout of 0 blocks forever). On
 * failure replies Redis's error and returns -1. */
int arg_timeout(cmd_ctx *c, int i, int64_t *deadline_ms);
/* Does key i take part in this run? All keys when blocking may happen; only
 * serve_key when serving a blocked client. */
int cmd_block_key_active(const cmd_ctx *c, int i);
/* Ask for the client to be blocked (see cmd_ctx's block fields); the
 * command writes no reply then. */
void cmd_block(cmd_ctx *c, int type, int first, int nkeys, int64_t deadline_ms);

/* Parse argument i as an int, as Redis's getIntFromObjectOrReply: on
 * failure reply msg (a full error line) or, with msg NULL, "ERR value is
 * not an integer or out of range" / "ERR value is out of range, value must
 * between -2147483648 and 2147483647", and return -1. */
int arg_int(cmd_ctx *c, int i, int *out, const char *msg);
/* Parse argument i as a database number (SELECT, MOVE, COPY … DB): an int
 * as arg_int, then "ERR DB index is out of range" unless < c->ndbs. */
int arg_db(cmd_ctx *c, int i, int *db);
/* Parse argument i as a long double (INCRBYFLOAT rules); on failure reply
 * "ERR value is not a valid float" and return -1. */
int arg_ld(cmd_ctx *c, int i, long double *out);

/* Redis's parseScanCursorOrReply over argument i: strtoul of the C
 * string ("" is 0, "-1" wraps); on failure reply "ERR invalid cursor". */
int arg_cursor(cmd_ctx *c, int i, uint64_t *out);
/* SSCAN/ZSCAN's [MATCH pattern] [COUNT count] from argument i on, as
 * Redis's scanGenericCommand: pat is NULL when absent or "*". Replies the
 * error and returns -1 on a bad option. */
typedef struct scan_opts {
    long long count;
    const char *pat;
    size_t patlen;
} scan_opts;
int scan_parse_opts(cmd_ctx *c, int i, scan_opts *o);

/* A random 64-bit value (RANDOMKEY, HRANDFIELD, SCAN helpers). */
uint64_t cmd_random(void);

/* Has the reply grown past the client's hard output limit? Then the
 * command should stop adding to it: the client is closed after it, with
 * none of the reply sent (Redis's output-buffer limit). */
int cmd_reply_over_limit(cmd_ctx *c, size_t default_max);

/* One active-expiry step over databases dbs[0..ndbs) (Redis's
 * activeExpireCycle: up to 16 of them per call, in turn, those with TTLs
 * only): bounded work, each deletion logged. Primaries only. */
void db_active_expire(cmd_env *env, ks **dbs, int ndbs, int64_t now_ms);

/* ZADD over c->argv (cmd_zset.c): GEOADD runs it on the ZADD argv it
 * builds, as Redis's geoaddCommand calls zaddCommand. */
void zset_zadd_command(cmd_ctx *c);

/* ---- memory limit and eviction (evict.c) ---- */
/* Redis's performEvictions: while used memory (less mem_not_counted) is
 * over env->maxmemory, delete keys the policy allows, each logged as a
 * "DEL key" of one WAL entry per call, announced ("evicted") and counted.
 * Bounded in time by maxmemory-eviction-tenacity: then it sets
 * env->eviction_running and answers EVICT_RUNNING, and the caller calls
 * again soon. Never evicts on a replica (its log is the primary's) or when
 * the WAL cannot take the deletions. EVICT_FAIL: over the limit with
 * nothing left to evict (or noeviction): refuse commands that may grow
 * memory ("-OOM …"). dbs: the keyspaces (databases) to evict from. */
enum { EVICT_OK = 0, EVICT_RUNNING = 1, EVICT_FAIL = 2 };
int evict_perform(cmd_env *env, ks *const *dbs, int ndbs);
/* INFO's total_eviction_exceeded_time (total: ended spells plus the
 * current one) or current_eviction_exceeded_time, in milliseconds. */
uint64_t evict_exceeded_ms(const cmd_env *env, int total);
/* Used memory as maxmemory counts it (less mem_not_counted). */
size_t evict_used_memory(const cmd_env *env);
/* Call before running commands at now_ms: sets the access stamp that new
 * keys take (ks_set_new_lru) for the current policy and clock. */
void evict_clock(cmd_env *env, int64_t now_ms);
/* OBJECT IDLETIME: seconds since o was last accessed (LRU clock). */
long long evict_idle_seconds(const kobj *o, int64_t now_ms);
/* OBJECT FREQ: o's LFU counter after decay (not stored). */
unsigned evict_lfu_count(const cmd_env *env, const kobj *o, int64_t now_ms);
/* Mark o accessed (lookups do it; TOUCH too): LRU clock or LFU counter. */
void evict_touch(cmd_env *env, kobj *o, int64_t now_ms);
/* RESTORE's IDLETIME (seconds, -1: none) or FREQ (0..255, -1: none), as
 * Redis's objectSetLRUOrLFU: FREQ sets the LFU counter under an LFU
 * policy, IDLETIME backdates the LRU clock under any other; the option
 * that does not fit the policy does nothing. 1 if the stamp was set. */
int evict_set_access(cmd_env *env, kobj *o, long long idle_s, long long freq, int64_t now_ms);
#define KV_ERR_OOM "OOM command not allowed when used memory > 'maxmemory'."

/* Glob-style pattern match as Redis's stringmatchlen (KEYS, SCAN MATCH,
 * CONFIG GET). nocase for case-insensitive. */
int kv_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

#endif
