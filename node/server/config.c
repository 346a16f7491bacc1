/* config.c — the option table and its parsers (see config.h). */
#include "config.h"

#include "cmd.h" /* NOTIFY_* */
#include "err.h"
#include "latency.h"
#include "log.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define OFF(f) offsetof(kv_config, f)

static const char *const yesno[] = {"no", "yes", NULL};
static const char *const sanitize_names[] = {"no", "yes", "clients", NULL};
static const char *const supervised_names[] = {"no", "upstart", "systemd", "auto", NULL};
/* Redis's order (its CONFIG SET error lists them so): ACL_PUBSUB_*. */
static const char *const acl_pubsub_names[] = {"allchannels", "resetchannels", NULL};
static const char *const fsync_names[] = {"always", "everysec", "no", NULL};
static const char *const level_names[] = {"debug", "verbose", "notice", "warning", NULL};
static const char *const protect_names[] = {"no", "yes", "local", NULL};
static const char *const oom_adj_names[] = {"no", "yes", "relative", "absolute", NULL};
static const char *const diskless_load_names[] = {"disabled", "on-empty-db", "swapdb", NULL};
static const char *const propagation_names[] = {"ignore", "panic", "panic-on-replicas", NULL};
/* What the options kvnode only accepts say of themselves. */
#define NO_EFFECT "Accepted so that redis.conf files load and clients that set it work; "
/* Redis 7.0's order (CONFIG SET's error lists them so). */
static const char *const maxmemory_policy_names[] = {
    "volatile-lru", "volatile-lfu",   "volatile-random", "volatile-ttl",
    "allkeys-lru",  "allkeys-lfu",    "allkeys-random",  "noeviction", NULL};
static const int maxmemory_policy_values[] = {
    EVICT_VOLATILE_LRU, EVICT_VOLATILE_LFU,  EVICT_VOLATILE_RANDOM,  EVICT_VOLATILE_TTL,
    EVICT_ALLKEYS_LRU,  EVICT_ALLKEYS_LFU,   EVICT_ALLKEYS_RANDOM,   EVICT_NOEVICTION};

int config_maxmemory_policy(const kv_config *c)
{
    return maxmemory_policy_values[c->maxmemory_policy];
}

const char *config_maxmemory_policy_name(const kv_config *c)
{
    return maxmemory_policy_names[c->maxmemory_policy];
}

/* clang-format off */
const cfg_option cfg_options[] = {
    /* network */
    {"bind", NULL, CFG_STRING, OFF(bind), 0, 0, "127.0.0.1", NULL, 1,
     "Addresses to listen on for clients (space-separated; IPv4 or IPv6). At run time "
     "(CONFIG SET) only the client listeners move: the peer port keeps the addresses it "
     "started with, and so does the address announced to the cluster."},
    {"port", NULL, CFG_INT, OFF(port), 0, 65535, "7379", NULL, 1,
     "TCP port for clients (0: no TCP listener). Changed at run time, the client address "
     "announced in the membership config follows (unless announce-port is set); the peer "
     "port stays (peer-port, or the port it started with + 10000)."},
    {"unixsocket", NULL, CFG_STRING, OFF(unixsocket), 0, 0, "", NULL, 0,
     "Path of a Unix domain socket to listen on as well (empty: none)."},
    {"unixsocketperm", NULL, CFG_INT, OFF(unixsocketperm), 0, 0777, "0", NULL, 0,
     "Permissions of the Unix socket, octal (0: leave the umask's)."},
    {"protected-mode", NULL, CFG_BOOL, OFF(protected_mode), 0, 1, "yes", yesno, 1,
     "Refuse non-loopback clients when no password is set."},
    {"tcp-backlog", NULL, CFG_INT, OFF(tcp_backlog), 1, 65535, "511", NULL, 0,
     "listen(2) backlog."},
    {"tcp-keepalive", NULL, CFG_INT, OFF(tcp_keepalive), 0, INT_MAX, "300", NULL, 1,
     "TCP keepalive interval for client connections, seconds (0: off)."},
    {"timeout", NULL, CFG_INT, OFF(timeout), 0, INT_MAX, "0", NULL, 1,
     "Close a client idle for this many seconds (0: never)."},
    {"maxclients", NULL, CFG_INT, OFF(maxclients), 1, 1000000, "10000", NULL, 1,
     "Most simultaneous clients; more get \"ERR max number of clients reached\"."},
    {"requirepass", NULL, CFG_STRING, OFF(requirepass), 0, 0, "", NULL, 1,
     "Password clients must give with AUTH (empty: none)."},
    /* limits */
    {"proto-max-bulk-len", NULL, CFG_MEM, OFF(proto_max_bulk_len), 1024 * 1024, LLONG_MAX / 2,
     "512mb", NULL, 1, "Longest bulk string a client may send."},
    {"client-query-buffer-limit", NULL, CFG_MEM, OFF(client_query_buffer_limit), 1024 * 1024,
     LLONG_MAX / 2, "1gb", NULL, 1,
     "Most unprocessed bytes buffered for one client before it is closed."},
    {"client-output-buffer-limit", NULL, CFG_SPECIAL, OFF(obuf_hard), 0, 0,
     "normal 1gb 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60", NULL, 1,
     "<class> <hard> <soft> <seconds> ...: close a client whose pending output exceeds hard, "
     "or stays above soft for seconds (0 disables a limit). Classes: normal (kvnode's hard "
     "limit, where Redis has none, stops a reply without bound, such as HRANDFIELD with a huge "
     "count, before it takes the node's memory; any one value proto-max-bulk-len lets in "
     "fits under it), pubsub (clients "
     "subscribed to channels; one that stops reading is cut off and nobody else waits), and "
     "replica/slave (accepted for Redis tools; kvnode replicas stream over the peer port and "
     "are never buffered without bound)."},
    /* persistence */
    {"dir", NULL, CFG_STRING, OFF(dir), 0, 0, "./data", NULL, 0,
     "Data directory: WAL segments, snapshots, the LOCK file and replication state. "
     "Protected, as in Redis (CONFIG SET needs enable-protected-configs), and fixed while "
     "the node runs.",
     NULL, NULL, 0, 1},
    {"appendfsync", NULL, CFG_ENUM, OFF(appendfsync), 0, 0, "always", fsync_names, 1,
     "always: a write is acknowledged only once fdatasync'd (group commit); everysec: "
     "fdatasync once a second (up to ~1 s of acknowledged writes lost on power failure); "
     "no: the OS decides."},
    {"wal-segment-size", NULL, CFG_MEM, OFF(wal_segment_size), 64 * 1024, 1LL << 40, "16mb",
     NULL, 0,
     "Size of each WAL segment file (the unit in which the WAL is deleted once snapshots "
     "cover it; one more is kept ready, zero-filled)."},
    {"wal-prealloc", NULL, CFG_BOOL, OFF(wal_prealloc), 0, 1, "yes", yesno, 0,
     "Prepare zero-filled WAL segments ahead of time (faster syncs; a full disk refuses "
     "writes cleanly instead of failing mid-write)."},
    {"snapshot-keep", NULL, CFG_INT, OFF(snapshot_keep), 1, 100, "2", NULL, 1,
     "Snapshots kept on disk; the WAL is kept back to the oldest of them."},
    {"save", NULL, CFG_SPECIAL, OFF(nsave), 0, 0, "3600 1 300 100 60 10000", NULL, 1,
     "<seconds> <changes> pairs, as redis.conf: take a snapshot once <seconds> have passed "
     "since the last one and at least <changes> writes were logged (\"\": only BGSAVE, SAVE "
     "and WAL growth take snapshots)."},
    {"appendonly", NULL, CFG_BOOL, OFF(appendonly), 0, 1, "yes", yesno, 1,
     "Every write goes to the WAL whatever this says: no (redis.conf's default) is accepted "
     "and shown, and the WAL stays on (INFO persistence: aof_enabled:1)."},
    {"rdbcompression", NULL, CFG_BOOL, OFF(rdbcompression), 0, 1, "yes", yesno, 1,
     "LZF-compress strings longer than 20 bytes in DUMP payloads and in the RDB streams sent "
     "to Redis replicas and redis-cli --rdb, as Redis does."},
    {"rdbchecksum", NULL, CFG_BOOL, OFF(rdbchecksum), 0, 1, "yes", yesno, 0,
     "End the RDB streams sent to Redis replicas and redis-cli --rdb with a CRC-64 (no: "
     "zero, as Redis). DUMP payloads always carry theirs; kvnode's own files always do."},
    {"stop-writes-on-bgsave-error", NULL, CFG_BOOL, OFF(stop_writes_on_bgsave_error), 0, 1,
     "no", yesno, 1,
     "yes: when save points are set and the last snapshot failed, refuse writes (and PING) "
     "with Redis's -MISCONF until one succeeds. Redis's default is yes, since there a failed "
     "snapshot means unsaved writes; kvnode's is no: its WAL holds every write whatever "
     "snapshots do, and writes go on while a record fits on the disk."},
    {"dbfilename", NULL, CFG_STRING, OFF(dbfilename), 0, 0, "dump.rdb", NULL, 1,
     NO_EFFECT "kvnode names its snapshots by LSN in dir (snap-<lsn>.snap). Protected "
     "(enable-protected-configs).",
     NULL, NULL, 0, 1},
    {"appendfilename", NULL, CFG_STRING, OFF(appendfilename), 0, 0, "appendonly.aof", NULL, 0,
     NO_EFFECT "kvnode names its WAL segments by LSN in dir (wal-<lsn>.log)."},
    {"appenddirname", NULL, CFG_STRING, OFF(appenddirname), 0, 0, "appendonlydir", NULL, 0,
     NO_EFFECT "the WAL lives in dir itself."},
    {"no-appendfsync-on-rewrite", NULL, CFG_BOOL, OFF(no_appendfsync_on_rewrite), 0, 1, "no",
     yesno, 1, NO_EFFECT "a snapshot never holds back the WAL's fsyncs."},
    {"aof-load-truncated", NULL, CFG_BOOL, OFF(aof_load_truncated), 0, 1, "yes", yesno, 1,
     NO_EFFECT "recovery always cuts a torn WAL tail (keeping a copy) and logs it, as Redis "
     "does with yes."},
    {"aof-disable-auto-gc", NULL, CFG_BOOL, OFF(aof_disable_auto_gc), 0, 1, "no", yesno, 1,
     NO_EFFECT "WAL segments go once snapshots cover them (snapshot-keep, "
     "repl-retention-bytes)."},
    {"aof-timestamp-enabled", NULL, CFG_BOOL, OFF(aof_timestamp_enabled), 0, 1, "no", yesno, 1,
     NO_EFFECT "WAL entries carry no timestamp annotations."},
    {"aof-rewrite-incremental-fsync", NULL, CFG_BOOL, OFF(aof_rewrite_incremental_fsync), 0, 1,
     "yes", yesno, 1, NO_EFFECT "snapshots are written back as they go, whatever this says."},
    {"rdb-save-incremental-fsync", NULL, CFG_BOOL, OFF(rdb_save_incremental_fsync), 0, 1, "yes",
     yesno, 1, NO_EFFECT "see aof-rewrite-incremental-fsync."},
    {"rdb-del-sync-files", NULL, CFG_BOOL, OFF(rdb_del_sync_files), 0, 1, "no", yesno, 1,
     NO_EFFECT "replicas bootstrap from snapshots kvnode keeps and deletes by snapshot-keep."},
    {"aof-use-rdb-preamble", NULL, CFG_BOOL, OFF(aof_use_rdb_preamble), 0, 1, "yes", yesno, 1,
     "Kept for Redis tools and tests that set it: kvnode's WAL and snapshots (BGREWRITEAOF "
     "takes a snapshot) keep their own format either way."},
    {"snapshot-wal-min-bytes", NULL, CFG_MEM, OFF(snapshot_wal_min_bytes), 0, LLONG_MAX,
     "64mb", NULL, 1,
     "Automatic snapshots keep the WAL on disk near this size: one is taken once the WAL "
     "written since the last one reaches this divided by snapshot-keep (the WAL is kept back "
     "to the oldest snapshot kept) and snapshot-wal-growth-pct of the last snapshot's size, "
     "each key counted as at least 64 bytes (as Redis's auto-aof-rewrite-min-size and "
     "-percentage, which are its other names: a snapshot is kvnode's AOF rewrite). 0 and 0: "
     "only BGSAVE, SAVE and save take snapshots.",
     "auto-aof-rewrite-min-size"},
    {"snapshot-wal-growth-pct", NULL, CFG_INT, OFF(snapshot_wal_growth_pct), 0, INT_MAX, "100",
     NULL, 1, "See snapshot-wal-min-bytes.", "auto-aof-rewrite-percentage"},
    {"snapshot-fork", NULL, CFG_BOOL, OFF(snapshot_fork), 0, 1, "no", yesno, 1,
     "Write background snapshots from a forked child (copy-on-write); no: on the event loop, "
     "a slice of keys per iteration, with no fork and no copy-on-write (keys are written as "
     "they were when it began, before anything changes them)."},
    /* Redis's hidden test knobs: they slow a job down so that a test can
     * watch it (CONFIG GET * leaves them out, as Redis does). */
    {"rdb-key-save-delay", NULL, CFG_INT, OFF(rdb_key_save_delay), INT_MIN, INT_MAX, "0", NULL,
     1,
     "Testing only: a snapshot takes at least this many microseconds per key it writes "
     "(negative -n: one microsecond per n keys), without stopping the event loop when it is "
     "written a slice at a time (0: no delay).",
     NULL, NULL, 1},
    {"key-load-delay", NULL, CFG_INT, OFF(key_load_delay), INT_MIN, INT_MAX, "0", NULL, 1,
     "Testing only: loading the data at startup takes at least this many microseconds per "
     "key of the snapshot and entry of the WAL (negative -n: one microsecond per n), while "
     "clients are answered -LOADING (0: no delay).",
     NULL, NULL, 1},
    /* keyspace */
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", CFG_INT,
     OFF(hash_max_listpack_entries), 0, INT_MAX, "512", NULL, 1,
     "Hashes with at most this many fields use the compact encoding."},
    {"hash-max-listpack-value", "hash-max-ziplist-value", CFG_MEM, OFF(hash_max_listpack_value),
     0, LLONG_MAX, "64", NULL, 1, "… and fields and values of at most this many bytes."},
    {"list-max-listpack-size", "list-max-ziplist-size", CFG_INT, OFF(list_max_listpack_size),
     INT_MIN, INT_MAX, "-2", NULL, 1,
     "Lists that fit in one Redis quicklist node use the compact encoding: negative, up to "
     "4kb << (-n - 1) bytes (-5 and below: 64kb); positive, up to n elements within 8kb."},
    {"list-compress-depth", NULL, CFG_INT, OFF(list_compress_depth), 0, INT_MAX, "0", NULL, 1,
     "Redis's quicklist LZF-compresses list nodes more than this many nodes from either end "
     "(0: none). kvnode keeps list memory uncompressed: replies and DUMP payloads are the "
     "same as Redis's for any value."},
    {"notify-keyspace-events", NULL, CFG_SPECIAL, OFF(notify_keyspace_events), 0, 0, "", NULL,
     1,
     "Publish keyspace events, as Redis: K (__keyspace@<db>__:<key>) and/or E "
     "(__keyevent@<db>__:<event>), for the classes g (generic) $ (strings) l (lists) s (sets) h "
     "(hashes) z (sorted sets) x (expired) e (evicted) t (streams) d (module) n (new keys) m "
     "(key misses), A (all but n and m). Empty: off."},
    {"set-max-intset-entries", NULL, CFG_INT, OFF(set_max_intset_entries), 0, LLONG_MAX, "512",
     NULL, 1, "Sets of at most this many integer members use the compact (intset) encoding."},
    {"zset-max-listpack-entries", "zset-max-ziplist-entries", CFG_INT,
     OFF(zset_max_listpack_entries), 0, LLONG_MAX, "128", NULL, 1,
     "Sorted sets with at most this many members use the compact encoding."},
    {"zset-max-listpack-value", "zset-max-ziplist-value", CFG_MEM, OFF(zset_max_listpack_value),
     0, LLONG_MAX, "64", NULL, 1, "… and members of at most this many bytes."},
    {"stream-node-max-bytes", NULL, CFG_MEM, OFF(stream_node_max_bytes), 0, LLONG_MAX, "4kb",
     NULL, 1, "A stream node (a run of entries) holds at most this many bytes (0: no limit)."},
    {"stream-node-max-entries", NULL, CFG_INT, OFF(stream_node_max_entries), 0, INT_MAX, "100",
     NULL, 1, "… and at most this many entries (0: no limit); MAXLEN ~ trims whole nodes."},
    {"hll-sparse-max-bytes", NULL, CFG_MEM, OFF(hll_sparse_max_bytes), 0, LLONG_MAX, "3000",
     NULL, 1, "HyperLogLog values up to this many bytes use the sparse encoding; a longer one "
     "becomes dense (12 KB)."},
    {"databases", NULL, CFG_INT, OFF(databases), 1, INT_MAX, "16", NULL, 0,
     "Number of databases (SELECT 0 .. databases-1), as Redis. A node refuses to start on "
     "data that has keys in a database it does not have."},
    {"active-expire", NULL, CFG_BOOL, OFF(active_expire), 0, 1, "yes", yesno, 1,
     "Reclaim expired keys in the background (DEBUG SET-ACTIVE-EXPIRE toggles it)."},
    {"hz", NULL, CFG_INT, OFF(hz), 0, INT_MAX, "10", NULL, 1,
     "Background tasks (expiry, rehashing, timeouts) per second (clamped to 1..500, as "
     "Redis)."},
    {"dynamic-hz", NULL, CFG_BOOL, OFF(dynamic_hz), 0, 1, "yes", yesno, 1,
     "Run the background tasks more often with many clients, as Redis: hz doubles while there "
     "are more than 200 clients per tick, up to 500 (INFO server: hz, configured_hz)."},
    {"activerehashing", NULL, CFG_BOOL, OFF(activerehashing), 0, 1, "yes", yesno, 1,
     "Give the databases' hash tables a millisecond of rehashing per background tick (no: "
     "they rehash only a step at each access)."},
    {"enable-debug-command", NULL, CFG_ENUM, OFF(enable_debug_command), 0, 0, "no",
     protect_names, 0,
     "Allow DEBUG: no (Redis's default; it is refused), yes, or local (clients on the "
     "loopback or the Unix socket)."},
    {"enable-module-command", NULL, CFG_ENUM, OFF(enable_module_command), 0, 0, "no",
     protect_names, 0,
     "Allow MODULE LOAD/LOADEX/UNLOAD: no, yes or local, as enable-debug-command. kvnode loads "
     "no modules: an allowed load fails as a module that cannot be loaded does."},
    {"enable-protected-configs", NULL, CFG_ENUM, OFF(enable_protected_configs), 0, 0, "no",
     protect_names, 0,
     "Allow CONFIG SET of protected options (dir, dbfilename): no, yes or local."},
    {"disable-thp", NULL, CFG_BOOL, OFF(disable_thp), 0, 1, "yes", yesno, 0,
     "When the kernel's transparent huge pages are \"always\", turn them off for this "
     "process (PR_SET_THP_DISABLE), as Redis. Under \"madvise\" kvnode uses them only to "
     "load data at startup."},
    {"oom-score-adj", NULL, CFG_ENUM, OFF(oom_score_adj), 0, 0, "no", oom_adj_names, 1,
     "Set the Linux OOM killer's oom_score_adj from oom-score-adj-values, by role: no, yes "
     "or relative (added to the value the process started with), absolute."},
    {"oom-score-adj-values", NULL, CFG_SPECIAL, OFF(oom_score_adj_values), 0, 0, "0 200 800",
     NULL, 1,
     "<primary> <replica> <background child>, each -2000..2000 (see oom-score-adj). kvnode "
     "writes snapshots without a child by default; a forked one (snapshot-fork yes) keeps "
     "its parent's value."},
    {"shutdown-on-sigint", NULL, CFG_SPECIAL, OFF(shutdown_on_sigint), 0, 0, "default", NULL,
     1,
     "What SIGINT's shutdown does, as SHUTDOWN's flags: default, or save|nosave, now, force "
     "(save: take a snapshot first; now: no wait; force: shut down even if the snapshot "
     "fails). Every write is in the WAL whatever the flags."},
    {"shutdown-on-sigterm", NULL, CFG_SPECIAL, OFF(shutdown_on_sigterm), 0, 0, "default", NULL,
     1,
     "What SIGTERM's shutdown does: as shutdown-on-sigint; now also skips handing leadership "
     "over first (see shutdown-timeout) on a leader."},
    {"shutdown-timeout", NULL, CFG_INT, OFF(shutdown_timeout), 0, INT_MAX, "10", NULL, 1,
     "Seconds a leader's SHUTDOWN (without NOW) or SIGTERM waits, with writes paused, for "
     "leadership to pass to a caught-up voter before it exits (Redis's wait for its replicas "
     "to catch up); SHUTDOWN ABORT cancels the wait. 0: exit at once."},
    {"sanitize-dump-payload", NULL, CFG_ENUM, OFF(sanitize_dump_payload), 0, 0, "no",
     sanitize_names, 1,
     NO_EFFECT "kvnode decodes every RESTORE payload (and snapshot) into its own structures "
     "before it takes it, which checks it whatever this says: a payload that does not decode "
     "is refused."},
    {"crash-log-enabled", NULL, CFG_BOOL, OFF(crash_log_enabled), 0, 1, "yes", yesno, 1,
     "On a crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT), log a bug report with a stack "
     "trace before the signal's default action (a core dump where enabled)."},
    {"crash-memcheck-enabled", NULL, CFG_BOOL, OFF(crash_memcheck_enabled), 0, 1, "yes", yesno, 1,
     NO_EFFECT "kvnode runs no memory test after a crash."},
    {"use-exit-on-panic", NULL, CFG_BOOL, OFF(use_exit_on_panic), 0, 1, "no", yesno, 1,
     "Testing only: end the process with exit(1) rather than abort() on a fatal internal "
     "error (out of memory, a broken invariant), as Redis's hidden option.",
     NULL, NULL, 1},
    {"always-show-logo", NULL, CFG_BOOL, OFF(always_show_logo), 0, 1, "no", yesno, 0,
     NO_EFFECT "kvnode logs no ASCII-art logo."},
    {"set-proc-title", NULL, CFG_BOOL, OFF(set_proc_title), 0, 1, "yes", yesno, 0,
     NO_EFFECT "the process keeps its command line as its title."},
    {"proc-title-template", NULL, CFG_STRING, OFF(proc_title_template), 0, 0,
     "\"{title} {listen-addr} {server-mode}\"", NULL, 1,
     NO_EFFECT "see set-proc-title. Checked as Redis does (known {variables} only)."},
    {"jemalloc-bg-thread", NULL, CFG_BOOL, OFF(jemalloc_bg_thread), 0, 1, "yes", yesno, 1,
     NO_EFFECT "kvnode uses the C library's allocator (as a Redis built without jemalloc)."},
    {"acllog-max-len", NULL, CFG_INT, OFF(acllog_max_len), 0, LLONG_MAX, "128", NULL, 1,
     "Entries the ACL log (ACL LOG) keeps: denied commands, keys, channels and failed "
     "authentications."},
    {"aclfile", NULL, CFG_STRING, OFF(aclfile), 0, 0, "", NULL, 0,
     "The file of ACL users (`user <name> <rules>` lines; a relative path is relative to dir) "
     "loaded at startup and by ACL LOAD, written by ACL SAVE; not together with `user` lines in the config file. Users may "
     "also be given as `user <name> <rule> ...` lines in the config file (or --user name "
     "rule ...)."},
    {"acl-pubsub-default", NULL, CFG_ENUM, OFF(acl_pubsub_default), 0, 0, "resetchannels",
     acl_pubsub_names, 1,
     "The channels a new ACL user (or one reset) may use: none (resetchannels) or all "
     "(allchannels)."},
    /* memory limit */
    {"maxmemory", NULL, CFG_MEM, OFF(maxmemory), 0, 0, "0", NULL, 1,
     "Evict keys (maxmemory-policy) or refuse writes with -OOM once used memory passes this "
     "many bytes (0: no limit). Replicas ignore it: they delete what their primary logs."},
    {"maxmemory-policy", NULL, CFG_ENUM, OFF(maxmemory_policy), 0, 0, "noeviction",
     maxmemory_policy_names, 1,
     "What goes when used memory passes maxmemory: volatile-lru, volatile-lfu, volatile-random, "
     "volatile-ttl (keys with a TTL), allkeys-lru, allkeys-lfu, allkeys-random (any key), or "
     "noeviction (writes that may grow memory answer -OOM). Every eviction is logged as a DEL."},
    {"maxmemory-samples", NULL, CFG_INT, OFF(maxmemory_samples), 1, INT_MAX, "5", NULL, 1,
     "Keys sampled per eviction by the LRU, LFU and TTL policies (more: closer to exact)."},
    {"maxmemory-eviction-tenacity", NULL, CFG_INT, OFF(maxmemory_eviction_tenacity), 0, 100,
     "10", NULL, 1,
     "How long one eviction round may run before the loop takes other work (0..10: up to "
     "500 us; then +15% per step; 100: no limit)."},
    {"lfu-log-factor", NULL, CFG_INT, OFF(lfu_log_factor), 0, INT_MAX, "10", NULL, 1,
     "LFU counter growth: an access increments it with probability 1/((counter-5)*factor+1)."},
    {"lfu-decay-time", NULL, CFG_INT, OFF(lfu_decay_time), 0, INT_MAX, "1", NULL, 1,
     "Minutes per decrement of an idle key's LFU counter (0: never decays)."},
    {"maxmemory-clients", NULL, CFG_SPECIAL, OFF(maxmemory_clients), 0, 0, "0", NULL, 1,
     "Once all clients together hold more than this (query and output buffers included), "
     "close the ones using the most memory, as Redis 7: bytes, or N% of maxmemory; 0: no "
     "limit. CLIENT NO-EVICT on exempts a connection."},
    {"replica-ignore-maxmemory", "slave-ignore-maxmemory", CFG_BOOL,
     OFF(replica_ignore_maxmemory), 0, 1, "yes", yesno, 1,
     "Accepted for Redis tools: replicas always ignore maxmemory (they hold exactly what their "
     "primary logs, evictions included)."},
    /* lazy freeing */
    {"lazyfree-lazy-eviction", NULL, CFG_BOOL, OFF(lazyfree_lazy_eviction), 0, 1, "no", yesno, 1,
     "Evicted keys' values are freed on the lazyfree thread (when freeing them takes more "
     "than 64 steps), and the eviction is logged as UNLINK."},
    {"lazyfree-lazy-expire", NULL, CFG_BOOL, OFF(lazyfree_lazy_expire), 0, 1, "no", yesno, 1,
     "Expired keys' values are freed on the lazyfree thread, and the expiry is logged as "
     "UNLINK."},
    {"lazyfree-lazy-server-del", NULL, CFG_BOOL, OFF(lazyfree_lazy_server_del), 0, 1, "no",
     yesno, 1,
     "Values a command drops implicitly (an overwrite, RENAME's destination, a *STORE's "
     "target) are freed on the lazyfree thread."},
    {"lazyfree-lazy-user-del", NULL, CFG_BOOL, OFF(lazyfree_lazy_user_del), 0, 1, "no", yesno,
     1, "DEL frees as UNLINK does: large values on the lazyfree thread."},
    {"lazyfree-lazy-user-flush", NULL, CFG_BOOL, OFF(lazyfree_lazy_user_flush), 0, 1, "no",
     yesno, 1,
     "FLUSHALL and FLUSHDB without SYNC or ASYNC are ASYNC: the keys are freed on the "
     "lazyfree thread."},
    {"replica-serve-stale-data", "slave-serve-stale-data", CFG_BOOL,
     OFF(replica_serve_stale_data), 0, 1, "yes", yesno, 1,
     "A replica out of contact with its primary (nothing heard within election-timeout) "
     "still answers reads from the data it has (yes), or only INFO, CONFIG, REPLICAOF and "
     "the other commands Redis flags stale, with -MASTERDOWN for the rest (no)."},
    {"replica-read-only", "slave-read-only", CFG_BOOL, OFF(replica_read_only), 0, 1, "yes",
     yesno, 1,
     "Always yes: a follower refuses writes (-READONLY); no is refused, since its data is "
     "only ever what its leader committed."},
    {"masterauth", NULL, CFG_STRING, OFF(masterauth), 0, 0, "", NULL, 1,
     NO_EFFECT "kvnode nodes replicate among themselves, authenticated by cluster-secret; a "
               "kvnode node is never the replica of a Redis primary. Redacted in SLOWLOG as "
               "in Redis."},
    {"masteruser", NULL, CFG_STRING, OFF(masteruser), 0, 0, "", NULL, 1,
     NO_EFFECT "see masterauth."},
    {"replica-priority", "slave-priority", CFG_INT, OFF(replica_priority), 0, INT_MAX, "100",
     NULL, 1,
     NO_EFFECT "kvnode elects its leader by Raft's rules (the most up-to-date log wins), "
     "not by priority."},
    {"repl-diskless-sync", NULL, CFG_BOOL, OFF(repl_diskless_sync), 0, 1, "yes", yesno, 1,
     NO_EFFECT "a replica bootstraps from a snapshot kvnode already keeps on disk (see "
     "README: Running a cluster)."},
    {"repl-diskless-sync-delay", NULL, CFG_INT, OFF(repl_diskless_sync_delay), 0, INT_MAX, "5",
     NULL, 1, NO_EFFECT "see repl-diskless-sync."},
    {"repl-diskless-sync-max-replicas", NULL, CFG_INT, OFF(repl_diskless_sync_max_replicas), 0,
     INT_MAX, "0", NULL, 1, NO_EFFECT "see repl-diskless-sync."},
    {"repl-diskless-load", NULL, CFG_ENUM, OFF(repl_diskless_load), 0, 0, "disabled",
     diskless_load_names, 1,
     NO_EFFECT "a replica always writes the snapshot it receives to disk, checks it, then loads "
     "it."},
    {"repl-disable-tcp-nodelay", NULL, CFG_BOOL, OFF(repl_disable_tcp_nodelay), 0, 1, "no",
     yesno, 1, NO_EFFECT "the replication stream is always sent without delay."},
    {"propagation-error-behavior", NULL, CFG_ENUM, OFF(propagation_error_behavior), 0, 0,
     "ignore", propagation_names, 1,
     NO_EFFECT "a follower applies the leader's own committed WAL entries, not replayed "
     "commands."},
    {"replica-lazy-flush", "slave-lazy-flush", CFG_BOOL, OFF(replica_lazy_flush), 0, 1, "no",
     yesno, 1,
     "A replica installing its primary's snapshot frees the data it replaces on the lazyfree "
     "thread."},
    /* logging */
    {"loglevel", NULL, CFG_ENUM, OFF(loglevel), 0, 0, "notice", level_names, 1,
     "debug, verbose, notice or warning."},
    {"logfile", NULL, CFG_STRING, OFF(logfile), 0, 0, "", NULL, 0,
     "Log to this file (empty: standard error)."},
    {"pidfile", NULL, CFG_STRING, OFF(pidfile), 0, 0, "", NULL, 0,
     "Write the process id here while running (empty: none)."},
    {"supervised", NULL, CFG_ENUM, OFF(supervised), 0, 0, "no", supervised_names, 0,
     "Tell the service manager how the node is doing: systemd (READY=1 to $NOTIFY_SOCKET "
     "once the data is loaded and clients are served, for a unit of Type=notify; STATUS "
     "while loading; STOPPING=1 at shutdown), upstart (the process stops itself once "
     "ready), auto (whichever the environment names), or no. A supervised node does not "
     "daemonize."},
    {"daemonize", NULL, CFG_BOOL, OFF(daemonize), 0, 1, "no", yesno, 0,
     "Run in the background: the process forks and the parent exits once the child has "
     "written its pidfile (" KV_DEFAULT_PIDFILE " when pidfile is empty); standard input, "
     "output and error go to /dev/null, so set logfile."},
    {"busy-reply-threshold", "lua-time-limit", CFG_INT, OFF(busy_reply_threshold), 0, LLONG_MAX,
     "5000", NULL, 1,
     "A script running longer than this many ms lets other clients in: they get -BUSY "
     "until it ends or SCRIPT KILL / FUNCTION KILL stops it. 0: never."},
    {"slowlog-log-slower-than", NULL, CFG_INT, OFF(slowlog_log_slower_than), -1, LLONG_MAX,
     "10000", NULL, 1, "Log commands slower than this many microseconds (-1: off)."},
    {"slowlog-max-len", NULL, CFG_INT, OFF(slowlog_max_len), 0, INT_MAX, "128", NULL, 1,
     "Entries kept in the slow log."},
    {"tracking-table-max-keys", NULL, CFG_INT, OFF(tracking_table_max_keys), 0, LLONG_MAX,
     "1000000", NULL, 1,
     "Keys the client-side caching table (CLIENT TRACKING) remembers at most; past it, keys "
     "are dropped at random and their clients told as if they had changed (0: no limit)."},
    {"latency-tracking", NULL, CFG_BOOL, OFF(latency_tracking), 0, 1, "yes", yesno, 1,
     "Keep a latency histogram per command (INFO latencystats, LATENCY HISTOGRAM)."},
    {"latency-monitor-threshold", NULL, CFG_INT, OFF(latency_monitor_threshold), 0, LLONG_MAX,
     "0", NULL, 1,
     "Keep latency events (a command, an expire cycle) lasting at least this many ms for "
     "LATENCY LATEST / HISTORY (0: off)."},
    {"latency-tracking-info-percentiles", NULL, CFG_SPECIAL, OFF(nlatpct), 0, 0, "50 99 99.9",
     NULL, 1, "Percentiles INFO latencystats shows (0 to 100; \"\": none)."},
    /* metrics */
    {"metrics-port", NULL, CFG_INT, OFF(metrics_port), 0, 65535, "0", NULL, 0,
     "TCP port of the Prometheus endpoint, GET /metrics over HTTP (0: off)."},
    {"metrics-bind", NULL, CFG_STRING, OFF(metrics_bind), 0, 0, "", NULL, 0,
     "Addresses the metrics endpoint listens on (empty: same as bind). It has no "
     "authentication: keep it on a trusted network."},
    /* replication */
    {"replicaof", "slaveof", CFG_SPECIAL, OFF(replicaof), 0, 0, "", NULL, 0,
     "\"<host> <port>\": join the cluster of the node at that client port (as a replica, "
     "a voter once caught up)."},
    {"peer-port", NULL, CFG_INT, OFF(peer_port), 0, 65535, "0", NULL, 0,
     "Port for replication traffic (0: client port + 10000)."},
    {"peer-bind", NULL, CFG_STRING, OFF(peer_bind), 0, 0, "", NULL, 0,
     "Addresses for the peer port (empty: same as bind)."},
    {"cluster-secret", NULL, CFG_STRING, OFF(cluster_secret), 0, 0, "", NULL, 0,
     "Shared secret peers must prove (HMAC) before replicating (empty: none)."},
    {"min-replicas-ack", NULL, CFG_INT, OFF(min_replicas_ack), 0, 100, "0", NULL, 1,
     "Replicas that must have a write durable before it is acknowledged, at least (a write "
     "always needs a majority of the voters); also refuses writes while fewer replicas are "
     "reachable (NOREPLICAS). Redis's min-replicas-to-write (min-slaves-to-write) names the "
     "same setting.",
     "min-replicas-to-write", "min-slaves-to-write"},
    {"repl-retention-bytes", "wal-retention-bytes", CFG_MEM, OFF(repl_retention_bytes), 0,
     LLONG_MAX / 2, "1gb", NULL, 1,
     "At most this much of the newest WAL is kept, beyond what the snapshots need, for a "
     "connected replica streaming behind; a replica further behind (or away for 3 election "
     "timeouts) gets a snapshot instead. Without lagging replicas nothing extra is kept. "
     "Redis's repl-backlog-size names the same setting.",
     "repl-backlog-size"},
    {"repl-ping-replica-period", "repl-ping-slave-period", CFG_INT,
     OFF(repl_ping_replica_period), 1, INT_MAX, "10", NULL, 1,
     "Seconds between the PINGs sent to Redis replicas attached with SYNC or PSYNC "
     "(a redis-server replicating from this node, redis-cli --replica); kvnode replicas use "
     "heartbeat-interval."},
    {"repl-timeout", NULL, CFG_INT, OFF(redis_repl_timeout), 1, INT_MAX, "60", NULL, 1,
     "Seconds a Redis replica attached with PSYNC may send nothing (it sends REPLCONF ACK "
     "every second) once its RDB is out before it is disconnected, as Redis's primary does; "
     "kvnode replicas use election-timeout."},
    {"election-timeout", NULL, CFG_INT, OFF(repl_timeout), 100, 600000, "1000", NULL, 0,
     "Milliseconds without a leader before a voter starts an election (randomized up to "
     "twice this); a leader's lease is 90% of it."},
    {"heartbeat-interval", NULL, CFG_INT, OFF(heartbeat_ms), 10, 60000, "100", NULL, 0,
     "Milliseconds between the leader's heartbeats (well below election-timeout)."},
    {"announce-ip", NULL, CFG_STRING, OFF(announce_ip), 0, 0, "", NULL, 0,
     "Address peers and clients are told to use for this node (empty: the first bind "
     "address, or 127.0.0.1 when that is a wildcard)."},
    {"announce-port", NULL, CFG_INT, OFF(announce_port), 0, 65535, "0", NULL, 0,
     "Client port announced to peers and clients (0: port)."},
    {"announce-peer-port", NULL, CFG_INT, OFF(announce_peer_port), 0, 65535, "0", NULL, 0,
     "Peer port announced to peers (0: peer-port)."},
    {"sentinel-master-name", NULL, CFG_STRING, OFF(sentinel_master_name), 0, 0, "kvnode", NULL,
     1, "The service name the Sentinel API answers for (clients' master name)."},
    {"node-id", NULL, CFG_STRING, OFF(node_id), 0, 0, "", NULL, 0,
     "This node's id (empty: generated once and kept in the data directory)."},
    {NULL, NULL, 0, 0, 0, 0, NULL, NULL, 0, NULL},
};
/* clang-format on */

/* ------------------------------------------------------------------------ */
/* Values                                                                    */
/* ------------------------------------------------------------------------ */

static char **str_field(kv_config *c, const cfg_option *o)
{
    return (char **)((char *)c + o->offset);
}
static int *int_field(kv_config *c, const cfg_option *o)
{
    return (int *)((char *)c + o->offset);
}
static long long *ll_field(kv_config *c, const cfg_option *o)
{
    return (long long *)((char *)c + o->offset);
}
/* Options stored as long long among the CFG_INT ones. */
static int is_ll(const cfg_option *o)
{
    return o->type == CFG_MEM || o->offset == OFF(slowlog_log_slower_than) ||
           o->offset == OFF(set_max_intset_entries) || o->offset == OFF(zset_max_listpack_entries) ||
           o->offset == OFF(tracking_table_max_keys) || o->offset == OFF(acllog_max_len) ||
           o->offset == OFF(latency_monitor_threshold);
}

/* Redis's memtoll: a number with an optional unit (k=1000, kb=1024, m, mb,
 * g, gb), case-insensitive. */
static int parse_mem(const char *s, long long *out)
{
    char *end;
    errno = 0;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s)
        return -1;
    long long mul = 1;
    if (!strcasecmp(end, "") || !strcasecmp(end, "b"))
        mul = 1;
    else if (!strcasecmp(end, "k"))
        mul = 1000;
    else if (!strcasecmp(end, "kb"))
        mul = 1024;
    else if (!strcasecmp(end, "m"))
        mul = 1000 * 1000;
    else if (!strcasecmp(end, "mb"))
        mul = 1024 * 1024;
    else if (!strcasecmp(end, "g"))
        mul = 1000LL * 1000 * 1000;
    else if (!strcasecmp(end, "gb"))
        mul = 1024LL * 1024 * 1024;
    else
        return -1;
    if (v > LLONG_MAX / mul || v < LLONG_MIN / mul)
        return -1;
    *out = v * mul;
    return 0;
}

/* Redis's memtoull, which CONFIG SET uses for memory options: digits
 * (none is 0) and an optional unit, no sign; the digits through strtoull,
 * whose overflow saturates, times the unit, which wraps. The bounds
 * check comes after, so a huge value is "out of range", not "not a
 * memory value". */
static int parse_memtoull(const char *s, unsigned long long *out);

int config_memtoull(const char *s, unsigned long long *out)
{
    return parse_memtoull(s, out);
}

static int parse_memtoull(const char *s, unsigned long long *out)
{
    const char *u = s;
    while (isdigit((unsigned char)*u))
        u++;
    unsigned long long mul;
    if (!*u || !strcasecmp(u, "b"))
        mul = 1;
    else if (!strcasecmp(u, "k"))
        mul = 1000;
    else if (!strcasecmp(u, "kb"))
        mul = 1024;
    else if (!strcasecmp(u, "m"))
        mul = 1000 * 1000;
    else if (!strcasecmp(u, "mb"))
        mul = 1024 * 1024;
    else if (!strcasecmp(u, "g"))
        mul = 1000ULL * 1000 * 1000;
    else if (!strcasecmp(u, "gb"))
        mul = 1024ULL * 1024 * 1024;
    else
        return -1;
    char buf[128];
    size_t digits = (size_t)(u - s);
    if (digits >= sizeof buf)
        return -1;
    memcpy(buf, s, digits);
    buf[digits] = '\0';
    *out = strtoull(buf, NULL, 10) * mul;
    return 0;
}

static int parse_ll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* The words of a multi-word option: given as one string (CONFIG SET
 * "normal 1mb 0 0") or as separate words (a config file line). Returns the
 * number of words, or -1 (too many, too long, unbalanced quotes). */
static int option_words(int argc, const char **argv, char **w, int max, char *storage,
                        size_t cap)
{
    if (argc == 1) {
        if (strlen(argv[0]) >= cap)
            return -1;
        return config_split_line(argv[0], w, max, storage);
    }
    if (argc > max)
        return -1;
    for (int i = 0; i < argc; i++)
        w[i] = (char *)argv[i];
    return argc;
}

/* The limits of one client-output-buffer-limit class. */
typedef struct obuf_class {
    long long hard, soft;
    int secs;
} obuf_class;

enum { OBUF_NORMAL, OBUF_REPLICA, OBUF_PUBSUB, OBUF_CLASSES };

static void obuf_get(const kv_config *c, obuf_class out[OBUF_CLASSES])
{
    out[OBUF_NORMAL] = (obuf_class){c->obuf_hard, c->obuf_soft, c->obuf_soft_seconds};
    out[OBUF_REPLICA] =
        (obuf_class){c->obuf_replica_hard, c->obuf_replica_soft, c->obuf_replica_soft_seconds};
    out[OBUF_PUBSUB] =
        (obuf_class){c->obuf_pubsub_hard, c->obuf_pubsub_soft, c->obuf_pubsub_soft_seconds};
}

/* Redis's getClientTypeByName, for the classes this option takes
 * ("master" is a client type but not a class here). -1 if none. */
static int obuf_class_by_name(const char *name)
{
    if (!strcasecmp(name, "normal"))
        return OBUF_NORMAL;
    if (!strcasecmp(name, "replica") || !strcasecmp(name, "slave"))
        return OBUF_REPLICA;
    if (!strcasecmp(name, "pubsub"))
        return OBUF_PUBSUB;
    return -1;
}

static int set_obuf(kv_config *c, int argc, const char **argv, char *err, size_t errlen)
{
    /* One string "normal 256mb 64mb 60 pubsub …" (CONFIG SET) or its words
     * (file). As Redis: every group is checked before any is applied. */
    char storage[512], *w[16];
    int n = option_words(argc, argv, w, 16, storage, sizeof storage);
    if (n < 0 || n % 4) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    obuf_class cls[OBUF_CLASSES];
    obuf_get(c, cls);
    for (int i = 0; i < n; i += 4) {
        long long hard, soft, s;
        int k = obuf_class_by_name(w[i]);
        if (k < 0) {
            snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
        if (parse_mem(w[i + 1], &hard) < 0 || parse_mem(w[i + 2], &soft) < 0 ||
            parse_ll(w[i + 3], &s) < 0 || hard < 0 || soft < 0 || s < 0 || s > INT_MAX) {
            snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit "
                                  "configuration.");
            return -1;
        }
        cls[k] = (obuf_class){hard, soft, (int)s};
    }
    c->obuf_hard = cls[OBUF_NORMAL].hard;
    c->obuf_soft = cls[OBUF_NORMAL].soft;
    c->obuf_soft_seconds = cls[OBUF_NORMAL].secs;
    c->obuf_replica_hard = cls[OBUF_REPLICA].hard;
    c->obuf_replica_soft = cls[OBUF_REPLICA].soft;
    c->obuf_replica_soft_seconds = cls[OBUF_REPLICA].secs;
    c->obuf_pubsub_hard = cls[OBUF_PUBSUB].hard;
    c->obuf_pubsub_soft = cls[OBUF_PUBSUB].soft;
    c->obuf_pubsub_soft_seconds = cls[OBUF_PUBSUB].secs;
    return 0;
}

/* ---- notify-keyspace-events ---- */

int config_keyspace_events_parse(const char *p)
{
    int flags = 0;
    for (; *p; p++) {
        switch (*p) {
        case 'A': flags |= NOTIFY_ALL; break;
        case 'g': flags |= NOTIFY_GENERIC; break;
        case '$': flags |= NOTIFY_STRING; break;
        case 'l': flags |= NOTIFY_LIST; break;
        case 's': flags |= NOTIFY_SET; break;
        case 'h': flags |= NOTIFY_HASH; break;
        case 'z': flags |= NOTIFY_ZSET; break;
        case 'x': flags |= NOTIFY_EXPIRED; break;
        case 'e': flags |= NOTIFY_EVICTED; break;
        case 'K': flags |= NOTIFY_KEYSPACE; break;
        case 'E': flags |= NOTIFY_KEYEVENT; break;
        case 't': flags |= NOTIFY_STREAM; break;
        case 'm': flags |= NOTIFY_KEY_MISS; break;
        case 'd': flags |= NOTIFY_MODULE; break;
        case 'n': flags |= NOTIFY_NEW; break;
        default: return -1;
        }
    }
    return flags;
}

void config_keyspace_events_format(int flags, char *out)
{
    /* Redis's order; with every class of A, "A" stands for them (and for
     * n, which A does not include: Redis prints it that way). */
    static const struct {
        int flag;
        char ch;
    } classes[] = {{NOTIFY_GENERIC, 'g'}, {NOTIFY_STRING, '$'}, {NOTIFY_LIST, 'l'},
                   {NOTIFY_SET, 's'},     {NOTIFY_HASH, 'h'},   {NOTIFY_ZSET, 'z'},
                   {NOTIFY_EXPIRED, 'x'}, {NOTIFY_EVICTED, 'e'}, {NOTIFY_STREAM, 't'},
                   {NOTIFY_MODULE, 'd'},  {NOTIFY_NEW, 'n'}};
    char *p = out;
    if ((flags & NOTIFY_ALL) == NOTIFY_ALL) {
        *p++ = 'A';
    } else {
        for (size_t i = 0; i < sizeof classes / sizeof *classes; i++)
            if (flags & classes[i].flag)
                *p++ = classes[i].ch;
    }
    if (flags & NOTIFY_KEYSPACE)
        *p++ = 'K';
    if (flags & NOTIFY_KEYEVENT)
        *p++ = 'E';
    if (flags & NOTIFY_KEY_MISS)
        *p++ = 'm';
    *p = '\0';
}

static int set_notify(kv_config *c, int argc, const char **argv, char *err, size_t errlen)
{
    /* One word; an empty value (a bare name in a file) is "". */
    int flags = argc == 0 ? 0 : argc == 1 ? config_keyspace_events_parse(argv[0]) : -1;
    if (flags < 0) {
        snprintf(err, errlen, "%s",
                 argc > 1 ? "wrong number of arguments"
                          : "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
        return -1;
    }
    c->notify_keyspace_events = flags;
    return 0;
}

/* The first n bytes of s as a non-negative integer, as Redis's string2ll
 * reads one: digits only, no leading zero (but "0"), no overflow. */
static int parse_ll_n(const char *s, size_t n, long long *out)
{
    if (n == 0 || (s[0] == '0' && n > 1))
        return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v > (LLONG_MAX - 9) / 10 ? LLONG_MAX : v * 10 + (s[i] - '0');
    }
    *out = v; /* saturated: only compared with 100 */
    return 0;
}

/* maxmemory-clients: a memory value, or "<n>%" of maxmemory (stored
 * negative, as Redis), with Redis's messages. */
static int set_maxmemory_clients(kv_config *c, int argc, const char **argv, char *err,
                                 size_t errlen)
{
    if (argc != 1) {
        snprintf(err, errlen, "wrong number of arguments");
        return -1;
    }
    const char *v = argv[0];
    size_t n = strlen(v);
    unsigned long long ux;
    long long pct;
    long long x;
    if (parse_memtoull(v, &ux) == 0) {
        if (ux > (unsigned long long)LLONG_MAX) {
            snprintf(err, errlen, "argument must be between -100 and %lld inclusive", LLONG_MAX);
            return -1;
        }
        x = (long long)ux;
    } else if (n > 1 && v[n - 1] == '%' && parse_ll_n(v, n - 1, &pct) == 0 && pct >= 0) {
        if (pct > 100) {
            snprintf(err, errlen, "percentage argument must be less or equal to 100");
            return -1;
        }
        x = -pct;
    } else {
        snprintf(err, errlen, "argument must be a memory or percent value");
        return -1;
    }
    c->maxmemory_clients = x;
    return 0;
}

static int set_save(kv_config *c, int argc, const char **argv, char *err, size_t errlen)
{
    char storage[512], *w[40];
    int n = option_words(argc, argv, w, 40, storage, sizeof storage);
    if (n < 0 || n % 2 || n / 2 > 16) {
        snprintf(err, errlen, "Invalid save parameters");
        return -1;
    }
    int secs[16];
    long long changes[16];
    for (int i = 0; i < n; i += 2) {
        long long a, b;
        if (parse_ll(w[i], &a) < 0 || parse_ll(w[i + 1], &b) < 0 || a < 1 || a > INT_MAX ||
            b < 0) {
            snprintf(err, errlen, "Invalid save parameters");
            return -1;
        }
        secs[i / 2] = (int)a;
        changes[i / 2] = b;
    }
    int at = 0;
    if (c->save_mode == 2 && !(argc == 1 && !argv[0][0]))
        at = c->nsave; /* appended to the lines before ("" drops them all) */
    if (c->save_mode == 1)
        c->save_mode = 2; /* the first save line: the defaults go */
    if (at + n / 2 > 16) {
        snprintf(err, errlen, "Invalid save parameters");
        return -1;
    }
    memcpy(c->save_seconds + at, secs, sizeof(int) * (size_t)(n / 2));
    memcpy(c->save_changes + at, changes, sizeof(long long) * (size_t)(n / 2));
    c->nsave = at + n / 2;
    return 0;
}

/* Redis's string2ld: a whole number, no leading space, not NaN, no
 * overflow. */
static int parse_ld(const char *s, double *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s) || strlen(s) >= 5120)
        return -1;
    errno = 0;
    long double v = strtold(s, &end);
    if (*end || errno == EINVAL || v != v ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)))
        return -1;
    *out = (double)v;
    return 0;
}

static int set_latpct(kv_config *c, int argc, const char **argv, char *err, size_t errlen)
{
    char storage[2048], *w[64];
    int n = option_words(argc, argv, w, 64, storage, sizeof storage);
    if (n < 0) {
        snprintf(err, errlen, "Invalid latency-tracking-info-percentiles parameters");
        return -1;
    }
    double v[64];
    for (int i = 0; i < n; i++) {
        if (parse_ld(w[i], &v[i]) < 0) {
            snprintf(err, errlen, "Invalid latency-tracking-info-percentiles parameters");
            return -1;
        }
        if (v[i] > 100.0 || v[i] < 0.0) {
            snprintf(err, errlen,
                     "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]");
            return -1;
        }
    }
    c->nlatpct = n;
    memcpy(c->latpct, v, sizeof(double) * (size_t)n);
    return 0;
}

static int set_replicaof(kv_config *c, int argc, const char **argv, char *err, size_t errlen)
{
    char storage[512], *w[4];
    int n = option_words(argc, argv, w, 4, storage, sizeof storage);
    char val[512];
    if (n == 0 || (n == 2 && !strcasecmp(w[0], "no") && !strcasecmp(w[1], "one"))) {
        val[0] = '\0';
    } else if (n == 2) {
        long long port;
        if (parse_ll(w[1], &port) < 0 || port < 1 || port > 65535) {
            snprintf(err, errlen, "Invalid master port");
            return -1;
        }
        snprintf(val, sizeof val, "%s %lld", w[0], port);
    } else {
        snprintf(err, errlen, "wrong number of arguments: expected <host> <port>");
        return -1;
    }
    kv_free(c->replicaof);
    c->replicaof = kv_memdup(val, strlen(val));
    return 0;
}

void config_set_requirepass(kv_config *c, const char *p, size_t n)
{
    kv_free(c->requirepass);
    c->requirepass = kv_memdup(p, n);
    c->requirepass_len = n;
}

/* oom-score-adj-values: three integers, as Redis's (which only warns when
 * they do not grow from primary to child). */
static int set_oom_values(kv_config *c, int argc, const char **argv, char *err, size_t errlen)
{
    if (argc == 1 && strchr(argv[0], ' ')) {
        /* CONFIG SET passes the three as one argument. */
        char storage[256], *words[4];
        int n = strlen(argv[0]) < sizeof storage ? config_split_line(argv[0], words, 4, storage)
                                                 : -1;
        return set_oom_values(c, n < 0 ? 0 : n, (const char **)words, err, errlen);
    }
    if (argc != 3) {
        snprintf(err, errlen, "wrong number of arguments");
        return -1;
    }
    int v[3];
    for (int i = 0; i < 3; i++) {
        char *end;
        errno = 0;
        long long x = strtoll(argv[i], &end, 10);
        if (*end || errno || x < -2000 || x > 2000) {
            snprintf(err, errlen,
                     "Invalid oom-score-adj-values, elements must be between -2000 and 2000.");
            return -1;
        }
        v[i] = (int)x;
    }
    if (v[1] < v[0] || v[2] < v[1])
        log_warn("The oom-score-adj-values configuration may not work for non-privileged "
                 "processes! Please consult the documentation.");
    memcpy(c->oom_score_adj_values, v, sizeof v);
    return 0;
}

static const struct {
    const char *name;
    int val;
} shutdown_flag_names[] = {{"default", 0},
                           {"save", CFG_SHUTDOWN_SAVE},
                           {"nosave", CFG_SHUTDOWN_NOSAVE},
                           {"now", CFG_SHUTDOWN_NOW},
                           {"force", CFG_SHUTDOWN_FORCE}};
#define NSHUTDOWN_FLAGS (sizeof shutdown_flag_names / sizeof *shutdown_flag_names)

/* shutdown-on-sigint/-sigterm: Redis's multi-argument enum of flags. */
static int set_shutdown_flags(kv_config *c, const cfg_option *o, int argc, const char **argv,
                              char *err, size_t errlen)
{
    char storage[256], *words[16];
    const char **w = argv;
    if (argc == 1) {
        /* CONFIG SET passes the flags as one argument. */
        int n = strlen(argv[0]) < sizeof storage ? config_split_line(argv[0], words, 16, storage)
                                                 : -1;
        argc = n < 0 ? 0 : n;
        w = (const char **)words;
    }
    int v = 0, i = 0;
    for (; i < argc; i++) {
        size_t k = 0;
        while (k < NSHUTDOWN_FLAGS && strcasecmp(w[i], shutdown_flag_names[k].name))
            k++;
        if (k == NSHUTDOWN_FLAGS)
            break;
        v |= shutdown_flag_names[k].val;
    }
    if (argc == 0 || i < argc) {
        snprintf(err, errlen,
                 "argument(s) must be one of the following: default, save, nosave, now, force");
        return -1;
    }
    if ((v & CFG_SHUTDOWN_SAVE) && (v & CFG_SHUTDOWN_NOSAVE)) {
        snprintf(err, errlen, "shutdown options SAVE and NOSAVE can't be used simultaneously");
        return -1;
    }
    *(int *)((char *)c + o->offset) = v;
    return 0;
}

static int format_shutdown_flags(int v, char *buf, size_t len)
{
    if (v == 0)
        return snprintf(buf, len, "default");
    int n = 0;
    buf[0] = '\0';
    for (size_t k = 1; k < NSHUTDOWN_FLAGS && (size_t)n < len; k++)
        if (v & shutdown_flag_names[k].val)
            n += snprintf(buf + n, len - (size_t)n, "%s%s", n ? " " : "",
                          shutdown_flag_names[k].name);
    return n;
}

/* proc-title-template: Redis's rule, {variables} it knows only, and not
 * empty once expanded with an empty title. */
static int title_template_ok(const char *t)
{
    static const char *const vars[] = {"title", "listen-addr", "server-mode", "config-file",
                                       "port", "tls-port", "unixsocket", NULL};
    int nonempty = 0;
    for (const char *p = t; *p; p++) {
        if (*p == '{' || *p == '}') {
            if (p[1] == *p) { /* "{{" and "}}" are the braces themselves */
                p++;
                nonempty = 1;
                continue;
            }
            if (*p == '}')
                return 0;
            const char *end = strchr(p, '}');
            if (!end)
                return 0;
            size_t n = (size_t)(end - p - 1);
            int known = 0;
            for (int i = 0; vars[i]; i++)
                if (strlen(vars[i]) == n && !strncmp(p + 1, vars[i], n))
                    known = i + 1;
            if (!known)
                return 0;
            /* {title}, {server-mode} and {unixsocket} may expand to nothing. */
            if (known != 1 && known != 3 && known != 7)
                nonempty = 1;
            p = end;
        } else if (*p != ' ') {
            nonempty = 1;
        }
    }
    return nonempty;
}

/* Redis's checks of the file and directory names kvnode only records
 * (pathIsBaseName: no '/' and no '\\'). */
static int check_name(const cfg_option *o, const char *v, char *err, size_t errlen)
{
    int path = strchr(v, '/') || strchr(v, '\\');
    const char *what = NULL;
    if (o->offset == OFF(dbfilename))
        what = path ? "dbfilename can't be a path, just a filename" : NULL;
    else if (o->offset == OFF(appendfilename))
        what = !*v    ? "appendfilename can't be empty"
               : path ? "appendfilename can't be a path, just a filename"
                      : NULL;
    else if (o->offset == OFF(appenddirname))
        what = !*v    ? "appenddirname can't be empty"
               : path ? "appenddirname can't be a path, just a dirname"
                      : NULL;
    else if (o->offset == OFF(proc_title_template) && !title_template_ok(v))
        what = "template format is invalid or contains unknown variables";
    if (!what)
        return 0;
    snprintf(err, errlen, "%s", what);
    return -1;
}

int config_set(kv_config *c, const cfg_option *o, int argc, const char **argv, int startup,
               char *err, size_t errlen)
{
    if (!startup && !o->runtime) {
        snprintf(err, errlen, "can't set immutable config");
        return -1;
    }
    if (o->type == CFG_SPECIAL) {
        if (o->offset == OFF(replicaof))
            return set_replicaof(c, argc, argv, err, errlen);
        if (o->offset == OFF(nsave))
            return set_save(c, argc, argv, err, errlen);
        if (o->offset == OFF(nlatpct))
            return set_latpct(c, argc, argv, err, errlen);
        if (o->offset == OFF(notify_keyspace_events))
            return set_notify(c, argc, argv, err, errlen);
        if (o->offset == OFF(maxmemory_clients))
            return set_maxmemory_clients(c, argc, argv, err, errlen);
        if (o->offset == OFF(oom_score_adj_values))
            return set_oom_values(c, argc, argv, err, errlen);
        if (o->offset == OFF(shutdown_on_sigint) || o->offset == OFF(shutdown_on_sigterm))
            return set_shutdown_flags(c, o, argc, argv, err, errlen);
        return set_obuf(c, argc, argv, err, errlen);
    }
    if (o->offset == OFF(replica_read_only) && argc == 1 && !strcasecmp(argv[0], "no")) {
        snprintf(err, errlen, "kvnode replicas are always read-only");
        return -1;
    }
    if (argc == 1 && check_name(o, argv[0], err, errlen) < 0)
        return -1;
    if (o->type == CFG_STRING && !strcmp(o->name, "bind")) {
        /* bind takes several words in a file; keep them space-separated. */
        size_t total = 0;
        for (int i = 0; i < argc; i++)
            total += strlen(argv[i]) + 1;
        char *v = kv_malloc(total + 1);
        v[0] = '\0';
        for (int i = 0; i < argc; i++) {
            if (i)
                strcat(v, " ");
            strcat(v, argv[i]);
        }
        kv_free(*str_field(c, o));
        *str_field(c, o) = v;
        return 0;
    }
    if (argc != 1) {
        snprintf(err, errlen, "wrong number of arguments");
        return -1;
    }
    const char *v = argv[0];
    switch (o->type) {
    case CFG_STRING:
        kv_free(*str_field(c, o));
        *str_field(c, o) = kv_memdup(v, strlen(v));
        if (o->offset == OFF(requirepass))
            c->requirepass_len = strlen(v);
        return 0;
    case CFG_BOOL:
        if (!strcasecmp(v, "yes"))
            *int_field(c, o) = 1;
        else if (!strcasecmp(v, "no"))
            *int_field(c, o) = 0;
        else {
            snprintf(err, errlen, "argument must be 'yes' or 'no'");
            return -1;
        }
        return 0;
    case CFG_ENUM:
        for (int i = 0; o->enum_names[i]; i++) {
            if (!strcasecmp(v, o->enum_names[i])) {
                /* oom-score-adj: "relative" is "yes", and shown so, as in
                 * Redis's enum table. */
                if (o->offset == OFF(oom_score_adj) && i == OOM_ADJ_RELATIVE)
                    i = OOM_ADJ_YES;
                *int_field(c, o) = i;
                return 0;
            }
        }
        snprintf(err, errlen, "argument(s) must be one of the following:");
        for (int i = 0; o->enum_names[i]; i++) {
            size_t l = strlen(err);
            snprintf(err + l, errlen - l, " %s%s", o->enum_names[i],
                     o->enum_names[i + 1] ? "," : "");
        }
        return -1;
    case CFG_INT:
    case CFG_MEM: {
        long long x = 0;
        unsigned long long ux = 0;
        /* Memory values are unsigned in Redis (memtoull): no sign, and
         * one above LLONG_MAX fails the bounds below. */
        int bad = o->type == CFG_MEM ? parse_memtoull(v, &ux) : parse_ll(v, &x);
        if (o->type == CFG_MEM)
            x = ux > (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)ux;
        if (bad) {
            snprintf(err, errlen, "%s",
                     o->type == CFG_MEM ? "argument must be a memory value"
                                        : "argument couldn't be parsed into an integer");
            return -1;
        }
        if (o->offset == OFF(unixsocketperm)) {
            /* octal, as Redis */
            char *end;
            errno = 0;
            x = strtoll(v, &end, 8);
            if (errno || *end) {
                snprintf(err, errlen, "argument couldn't be parsed into an integer");
                return -1;
            }
        }
        if (o->offset == OFF(maxmemory)) {
            /* unsigned, up to 2^64-1, as Redis's (strtoull saturates) */
            c->maxmemory = ux;
            return 0;
        }
        if (x < o->min || x > o->max || ux > (unsigned long long)LLONG_MAX) {
            snprintf(err, errlen, "argument must be between %lld and %lld inclusive", o->min,
                     o->max);
            return -1;
        }
        if (o->offset == OFF(hz))
            x = x < 1 ? 1 : x > 500 ? 500 : x; /* Redis clamps hz silently */
        if (is_ll(o))
            *ll_field(c, o) = x;
        else
            *int_field(c, o) = (int)x;
        return 0;
    }
    case CFG_SPECIAL:
        break;
    }
    return -1;
}

size_t config_format(const kv_config *cc, const cfg_option *o, char *buf, size_t len)
{
    kv_config *c = (kv_config *)cc;
    int n = 0;
    switch (o->type) {
    case CFG_STRING:
        if (o->offset == OFF(requirepass) && c->requirepass) {
            /* Binary-safe: all of it, NULs included (as Redis's sds). */
            n = c->requirepass_len < len ? c->requirepass_len : len - 1;
            memcpy(buf, c->requirepass, n);
            buf[n] = '\0';
            break;
        }
        n = snprintf(buf, len, "%s", *str_field(c, o) ? *str_field(c, o) : "");
        break;
    case CFG_BOOL:
        n = snprintf(buf, len, "%s", *int_field(c, o) ? "yes" : "no");
        break;
    case CFG_ENUM:
        n = snprintf(buf, len, "%s", o->enum_names[*int_field(c, o)]);
        break;
    case CFG_INT:
    case CFG_MEM:
        if (o->offset == OFF(unixsocketperm))
            n = snprintf(buf, len, "%o", *int_field(c, o));
        else if (o->offset == OFF(maxmemory))
            n = snprintf(buf, len, "%llu", c->maxmemory);
        else if (is_ll(o))
            n = snprintf(buf, len, "%lld", *ll_field(c, o));
        else
            n = snprintf(buf, len, "%d", *int_field(c, o));
        break;
    case CFG_SPECIAL:
        if (o->offset == OFF(replicaof))
            n = snprintf(buf, len, "%s", c->replicaof ? c->replicaof : "");
        else if (o->offset == OFF(nsave)) {
            n = 0;
            buf[0] = '\0';
            for (int i = 0; i < c->nsave && (size_t)n < len; i++)
                n += snprintf(buf + n, len - (size_t)n, "%s%d %lld", i ? " " : "",
                              c->save_seconds[i], c->save_changes[i]);
        } else if (o->offset == OFF(nlatpct)) {
            n = 0;
            buf[0] = '\0';
            for (int i = 0; i < c->nlatpct && (size_t)n < len; i++) {
                char p[64];
                lat_format_percentile(p, sizeof p, c->latpct[i]);
                n += snprintf(buf + n, len - (size_t)n, "%s%s", i ? " " : "", p);
            }
        } else if (o->offset == OFF(maxmemory_clients)) {
            n = c->maxmemory_clients < 0 ? snprintf(buf, len, "%lld%%", -c->maxmemory_clients)
                                         : snprintf(buf, len, "%lld", c->maxmemory_clients);
        } else if (o->offset == OFF(oom_score_adj_values)) {
            n = snprintf(buf, len, "%d %d %d", c->oom_score_adj_values[0],
                         c->oom_score_adj_values[1], c->oom_score_adj_values[2]);
        } else if (o->offset == OFF(shutdown_on_sigint) || o->offset == OFF(shutdown_on_sigterm)) {
            n = format_shutdown_flags(*(const int *)((const char *)c + o->offset), buf, len);
        } else if (o->offset == OFF(notify_keyspace_events)) {
            char ev[16];
            config_keyspace_events_format(c->notify_keyspace_events, ev);
            n = snprintf(buf, len, "%s", ev);
        } else {
            /* As Redis prints it: every class, "slave" for replicas. */
            n = snprintf(buf, len, "normal %lld %lld %d slave %lld %lld %d pubsub %lld %lld %d",
                         c->obuf_hard, c->obuf_soft, c->obuf_soft_seconds, c->obuf_replica_hard,
                         c->obuf_replica_soft, c->obuf_replica_soft_seconds,
                         c->obuf_pubsub_hard, c->obuf_pubsub_soft, c->obuf_pubsub_soft_seconds);
        }
        break;
    }
    if (n < 0)
        n = 0;
    return (size_t)n < len ? (size_t)n : len ? len - 1 : 0;
}

const cfg_option *config_find(const char *name)
{
    for (const cfg_option *o = cfg_options; o->name; o++)
        if (!strcasecmp(o->name, name) || (o->alias && !strcasecmp(o->alias, name)) ||
            (o->alias2 && !strcasecmp(o->alias2, name)) ||
            (o->alias3 && !strcasecmp(o->alias3, name)))
            return o;
    return NULL;
}

void config_init(kv_config *c)
{
    memset(c, 0, sizeof *c);
    for (const cfg_option *o = cfg_options; o->name; o++) {
        char storage[256], *w[16];
        int n = config_split_line(o->defval, w, 16, storage);
        char err[128];
        if (config_set(c, o, n, (const char **)w, 1, err, sizeof err) < 0 && n > 0) {
            fprintf(stderr, "kvnode: bad default for %s: %s\n", o->name, err);
            kv_abort();
        }
        if (n == 0 && o->type == CFG_STRING) {
            const char *empty = "";
            config_set(c, o, 1, &empty, 1, err, sizeof err);
        }
    }
}

void config_free(kv_config *c)
{
    for (const cfg_option *o = cfg_options; o->name; o++) {
        if (o->type == CFG_STRING || (o->type == CFG_SPECIAL && o->offset == OFF(replicaof))) {
            kv_free(*str_field(c, o));
            *str_field(c, o) = NULL;
        }
    }
    kv_free(c->config_file);
    c->config_file = NULL;
    for (int i = 0; i < c->n_acl_users; i++) {
        for (int j = 0; j < c->acl_users[i].n; j++)
            kv_free(c->acl_users[i].words[j]);
        kv_free(c->acl_users[i].words);
    }
    kv_free(c->acl_users);
    c->acl_users = NULL;
    c->n_acl_users = 0;
}

/* ------------------------------------------------------------------------ */
/* Files and arguments                                                       */
/* ------------------------------------------------------------------------ */

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

int config_split_line(const char *line, char **words, int max, char *storage)
{
    const char *p = line;
    char *out = storage;
    int n = 0;
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            return n;
        if (n == max)
            return -1;
        words[n++] = out;
        int inq = 0, insq = 0;
        for (;;) {
            if (inq) {
                if (p[0] == '\\' && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
                    isxdigit((unsigned char)p[3])) {
                    *out++ = (char)(hexval(p[2]) * 16 + hexval(p[3]));
                    p += 3;
                } else if (p[0] == '\\' && p[1]) {
                    p++;
                    switch (*p) {
                    case 'n': *out++ = '\n'; break;
                    case 'r': *out++ = '\r'; break;
                    case 't': *out++ = '\t'; break;
                    case 'b': *out++ = '\b'; break;
                    case 'a': *out++ = '\a'; break;
                    default: *out++ = *p; break;
                    }
                } else if (*p == '"') {
                    if (p[1] && !isspace((unsigned char)p[1]))
                        return -1;
                    inq = 0;
                    p++;
                    break;
                } else if (!*p) {
                    return -1;
                } else {
                    *out++ = *p;
                }
            } else if (insq) {
                if (p[0] == '\\' && p[1] == '\'') {
                    p++;
                    *out++ = '\'';
                } else if (*p == '\'') {
                    if (p[1] && !isspace((unsigned char)p[1]))
                        return -1;
                    insq = 0;
                    p++;
                    break;
                } else if (!*p) {
                    return -1;
                } else {
                    *out++ = *p;
                }
            } else {
                if (!*p || isspace((unsigned char)*p))
                    break;
                if (*p == '"')
                    inq = 1;
                else if (*p == '\'')
                    insq = 1;
                else
                    *out++ = *p;
            }
            if (*p)
                p++;
        }
        *out++ = '\0';
    }
}

/* A `user` line: kept for the ACL (acl.c checks its rules at startup). */
static int add_user_line(kv_config *c, int n, const char *const *w, char *why, size_t len)
{
    if (n < 1) {
        snprintf(why, len, "Error in user declaration");
        return -1;
    }
    c->acl_users = kv_realloc(c->acl_users, (size_t)(c->n_acl_users + 1) * sizeof *c->acl_users);
    kv_config_user *u = &c->acl_users[c->n_acl_users++];
    u->n = n;
    u->words = kv_malloc((size_t)n * sizeof *u->words);
    for (int i = 0; i < n; i++)
        u->words[i] = kv_memdup(w[i], strlen(w[i]));
    return 0;
}

static int load_text(kv_config *c, const char *text, const char *fname, char *err,
                     size_t errlen);

int config_load_text(kv_config *c, const char *text, const char *fname, char *err,
                     size_t errlen)
{
    int own = c->save_mode == 0;
    if (own)
        c->save_mode = 1;
    int rc = load_text(c, text, fname, err, errlen);
    if (own)
        c->save_mode = 0;
    return rc;
}

static int load_text(kv_config *c, const char *text, const char *fname, char *err,
                     size_t errlen)
{
    const char *p = text;
    int lineno = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        char *line = kv_memdup(p, l);
        char *storage = kv_malloc(l + 1);
        char *w[64];
        const char *first = line + strspn(line, " \t\r");
        int n = *first == '#' ? 0 : config_split_line(line, w, 64, storage);
        int rc = 0;
        char why[256] = "";
        if (n < 0) {
            snprintf(why, sizeof why, "Unbalanced quotes in configuration line");
            rc = -1;
        } else if (n > 0 && !strcasecmp(w[0], "user")) {
            rc = add_user_line(c, n - 1, (const char *const *)w + 1, why, sizeof why);
        } else if (n > 0 && w[0][0] != '#') {
            const cfg_option *o = config_find(w[0]);
            if (!o) {
                snprintf(why, sizeof why, "Bad directive or wrong number of arguments");
                rc = -1;
            } else if (n < 2 && o->type != CFG_STRING && o->type != CFG_SPECIAL) {
                snprintf(why, sizeof why, "wrong number of arguments");
                rc = -1;
            } else {
                const char *empty = "";
                const char **args = n > 1 ? (const char **)w + 1 : &empty;
                rc = config_set(c, o, n > 1 ? n - 1 : 1, args, 1, why, sizeof why);
                if (o->type == CFG_SPECIAL && n == 1)
                    rc = config_set(c, o, 0, NULL, 1, why, sizeof why);
            }
        }
        if (rc < 0)
            snprintf(err, errlen, "%s:%d: '%s': %s", fname, lineno, line, why);
        kv_free(line);
        kv_free(storage);
        if (rc < 0)
            return -1;
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}

int config_load_file(kv_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *text = kv_malloc(cap);
    size_t r;
    while ((r = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len - 1 == 0) {
            cap *= 2;
            text = kv_realloc(text, cap);
        }
    }
    fclose(f);
    text[len] = '\0';
    int rc = config_load_text(c, text, path, err, errlen);
    kv_free(text);
    if (rc == 0) {
        char abs[PATH_MAX];
        const char *keep = realpath(path, abs) ? abs : path;
        kv_free(c->config_file);
        c->config_file = kv_memdup(keep, strlen(keep));
    }
    return rc;
}

static int parse_args(kv_config *c, int argc, char **argv, char *err, size_t errlen);

int config_parse_args(kv_config *c, int argc, char **argv, char *err, size_t errlen)
{
    /* The file and the command line are one configuration for save lines
     * (Redis appends the command line to the file's text). */
    c->save_mode = 1;
    int rc = parse_args(c, argc, argv, err, errlen);
    c->save_mode = 0;
    return rc;
}

/* One option line made from the command line: set, or an error naming the
 * line as Redis does ('port "6379" "6380"'). */
static int apply_arg_line(kv_config *c, const char *name, int n, const char **v, char *err,
                          size_t errlen)
{
    char desc[512];
    int dl = snprintf(desc, sizeof desc, "%s", name);
    for (int k = 0; k < n && dl > 0 && (size_t)dl < sizeof desc; k++) {
        dl += snprintf(desc + dl, sizeof desc - (size_t)dl, " \"");
        for (const char *q = v[k]; *q && (size_t)dl + 4 < sizeof desc; q++) {
            if (*q == '"' || *q == '\\')
                desc[dl++] = '\\';
            desc[dl++] = *q;
        }
        dl += snprintf(desc + dl, sizeof desc - (size_t)dl, "\"");
    }
    char why[256];
    if (!strcasecmp(name, "user")) {
        if (add_user_line(c, n, v, why, sizeof why) < 0) {
            snprintf(err, errlen, "option '%s': %s", desc, why);
            return -1;
        }
        return 0;
    }
    const cfg_option *o = config_find(name);
    if (!o) {
        snprintf(err, errlen, "unknown option '--%s' (see kvnode --help)", name);
        return -1;
    }
    /* One value, but for the options that take several (Redis's
     * MULTI_ARG configs, bind, replicaof's two). */
    int multi = o->type == CFG_SPECIAL || !strcmp(o->name, "bind");
    if ((!multi && n != 1) || (o->offset == OFF(replicaof) && n != 2) ||
        (!strcmp(o->name, "bind") && n == 0)) {
        snprintf(err, errlen, "option '%s': wrong number of arguments", desc);
        return -1;
    }
    const char *empty = "";
    if (config_set(c, o, n ? n : 1, n ? v : &empty, 1, why, sizeof why) < 0) {
        snprintf(err, errlen, "option '%s': %s", desc, why);
        return -1;
    }
    return 0;
}

/* The command line after the config file, read as Redis 7 reads it: each
 * "--name" starts an option line and the argument after it is always its
 * value (even one starting with "--"); further arguments are values until
 * the next "--" argument. "--name value" may come as one argument. A
 * "--save" followed by another option, or last, means save "". */
static int parse_option_args(kv_config *c, int argc, char **argv, char *err, size_t errlen)
{
    size_t cap = (size_t)argc + 2; /* values: every argument, and every word of each */
    for (int j = 0; j < argc; j++)
        cap += strlen(argv[j]);
    const char **vals = kv_calloc(cap, sizeof *vals);
    char *storage = NULL, **words = NULL;
    const char *name = NULL;
    int n = 0, handled = 1, rc = 0;
    for (int j = 0; j <= argc && rc == 0; j++) {
        const char *a = j < argc ? argv[j] : NULL;
        int starts = a && handled && a[0] == '-' && a[1] == '-';
        if ((starts || !a) && name) {
            rc = apply_arg_line(c, name, n, vals, err, errlen);
            name = NULL;
            n = 0;
        }
        if (!a || rc)
            break;
        if (starts) {
            size_t l = strlen(a + 2);
            kv_free(storage);
            kv_free(words);
            storage = kv_malloc(l + 2);
            words = kv_calloc(l + 2, sizeof *words);
            int nw = config_split_line(a + 2, words, (int)l + 1, storage);
            if (nw <= 0) {
                snprintf(err, errlen, "unknown option '%s' (see kvnode --help)", a);
                rc = -1;
                break;
            }
            name = words[0];
            for (int k = 1; k < nw; k++)
                vals[n++] = words[k];
            handled = nw > 1;
            if (nw == 1 && !strcasecmp(name, "save") &&
                (j == argc - 1 || (argv[j + 1][0] == '-' && argv[j + 1][1] == '-'))) {
                vals[n++] = "";
                handled = 1;
            }
        } else if (!name) {
            name = a; /* a line without "--", as Redis takes it */
            handled = 1;
        } else {
            vals[n++] = a;
            handled = 1;
        }
    }
    kv_free(storage);
    kv_free(words);
    kv_free(vals);
    return rc;
}

static int parse_args(kv_config *c, int argc, char **argv, char *err, size_t errlen)
{
    int i = 1;
    if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
        config_print_help(argv[0]);
        return 1;
    }
    if (i < argc && (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v"))) {
        printf("kvnode 0.1.0\n");
        return 1;
    }
    if (i < argc && !strcmp(argv[i], "--sample-config")) {
        config_print_sample();
        return 1;
    }
    if (i < argc && strncmp(argv[i], "--", 2) != 0) {
        if (config_load_file(c, argv[i], err, errlen) < 0)
            return -1;
        i++;
    }
    return parse_option_args(c, argc - i, argv + i, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* REWRITE, help, sample                                                     */
/* ------------------------------------------------------------------------ */

static void quote_value(const char *v, char *out, size_t len)
{
    int needs = !*v;
    for (const char *p = v; *p; p++)
        if (isspace((unsigned char)*p) || *p == '"' || *p == '\'' || *p == '\\' ||
            !isprint((unsigned char)*p))
            needs = 1;
    if (!needs) {
        snprintf(out, len, "%s", v);
        return;
    }
    size_t o = 0;
    if (o + 1 < len)
        out[o++] = '"';
    for (const char *p = v; *p && o + 5 < len; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(out + o, len - o, "\\%c", ch);
        else if (!isprint(ch))
            o += (size_t)snprintf(out + o, len - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    if (o + 1 < len)
        out[o++] = '"';
    out[o < len ? o : len - 1] = '\0';
}

/* The line "name value" for an option with its current value. Options
 * whose value is several words are written unquoted word by word. */
static void option_line(const kv_config *c, const cfg_option *o, char *out, size_t len)
{
    char v[1024], q[2100];
    config_format(c, o, v, sizeof v);
    if (o->type == CFG_SPECIAL || !strcmp(o->name, "bind"))
        snprintf(out, len, "%s %s", o->name, v[0] ? v : "\"\"");
    else {
        quote_value(v, q, sizeof q);
        snprintf(out, len, "%s %s", o->name, q);
    }
}

static void out_append(char **out, size_t *nlen, size_t *ncap, const char *s, size_t n)
{
    if (*nlen + n + 2 > *ncap) {
        *ncap = (*nlen + n + 2) * 2;
        *out = kv_realloc(*out, *ncap);
    }
    memcpy(*out + *nlen, s, n);
    *nlen += n;
}

int config_rewrite(const kv_config *c, const char *users, int force_all, char *err,
                   size_t errlen)
{
    if (!c->config_file) {
        snprintf(err, errlen, "The server is running without a config file");
        return -1;
    }
    FILE *f = fopen(c->config_file, "r");
    size_t cap = 4096, len = 0;
    char *text = kv_malloc(cap);
    if (f) {
        size_t r;
        while ((r = fread(text + len, 1, cap - len - 1, f)) > 0) {
            len += r;
            if (cap - len - 1 == 0) {
                cap *= 2;
                text = kv_realloc(text, cap);
            }
        }
        fclose(f);
    }
    text[len] = '\0';
    size_t ncap = len * 2 + 8192, nlen = 0;
    char *out = kv_malloc(ncap);
    int nopts = 0;
    for (const cfg_option *o = cfg_options; o->name; o++)
        nopts++;
    char *written = kv_calloc((size_t)nopts, 1);
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        char *line = kv_memdup(p, l);
        char *storage = kv_malloc(l + 1), *w[64];
        int n = config_split_line(line, w, 64, storage);
        const cfg_option *o = n > 0 && w[0][0] != '#' ? config_find(w[0]) : NULL;
        char buf[2400];
        const char *emit = line;
        if (users && n > 0 && !strcasecmp(w[0], "user")) {
            /* The users as they are now, where the first user line was. */
            if (*users)
                out_append(&out, &nlen, &ncap, users, strlen(users));
            users = "";
            emit = NULL;
        } else if (o) {
            int idx = (int)(o - cfg_options);
            if (written[idx])
                emit = NULL; /* a later duplicate: the first occurrence has the value */
            else {
                option_line(c, o, buf, sizeof buf);
                emit = buf;
                written[idx] = 1;
            }
        }
        if (emit) {
            size_t el = strlen(emit);
            if (nlen + el + 2 > ncap) {
                ncap = (nlen + el + 2) * 2;
                out = kv_realloc(out, ncap);
            }
            memcpy(out + nlen, emit, el);
            nlen += el;
            out[nlen++] = '\n';
        }
        kv_free(line);
        kv_free(storage);
        if (!nl)
            break;
        p = nl + 1;
    }
    /* Options that differ from their default (every one with force_all)
     * and were not in the file. */
    kv_config defaults;
    config_init(&defaults);
    int header = 0;
    for (const cfg_option *o = cfg_options; o->name; o++) {
        int idx = (int)(o - cfg_options);
        if (written[idx])
            continue;
        char a[1024], b[1024];
        config_format(c, o, a, sizeof a);
        config_format(&defaults, o, b, sizeof b);
        if (!strcmp(a, b) && !force_all)
            continue;
        char buf[2400];
        option_line(c, o, buf, sizeof buf);
        size_t el = strlen(buf) + 64;
        if (nlen + el + 2 > ncap) {
            ncap = (nlen + el + 2) * 2;
            out = kv_realloc(out, ncap);
        }
        if (!header) {
            nlen += (size_t)snprintf(out + nlen, ncap - nlen, "# Generated by CONFIG REWRITE\n");
            header = 1;
        }
        nlen += (size_t)snprintf(out + nlen, ncap - nlen, "%s\n", buf);
    }
    config_free(&defaults);
    kv_free(written);
    kv_free(text);
    if (users && *users) {
        if (!header)
            out_append(&out, &nlen, &ncap, "# Generated by CONFIG REWRITE\n", 30);
        out_append(&out, &nlen, &ncap, users, strlen(users));
    }
    /* temp -> fsync -> rename */
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", c->config_file);
    FILE *o = fopen(tmp, "w");
    int rc = -1;
    if (o) {
        if (fwrite(out, 1, nlen, o) == nlen && fflush(o) == 0 && fsync(fileno(o)) == 0)
            rc = 0;
        if (fclose(o) != 0)
            rc = -1;
        if (rc == 0 && rename(tmp, c->config_file) < 0)
            rc = -1;
    }
    if (rc < 0) {
        snprintf(err, errlen, "Rewriting config file: %s", strerror(errno));
        unlink(tmp);
    }
    kv_free(out);
    return rc;
}

void config_print_help(const char *prog)
{
    printf("Usage: %s [config-file] [--option value ...]\n"
           "       %s --help | --version | --sample-config\n"
           "       %s --check-data DIR [--repair]\n\n"
           "--check-data verifies every WAL segment and snapshot in DIR without changing\n"
           "anything and prints what it finds (exit status 0 clean, 1 damage found,\n"
           "2 cannot read). With --repair (only while no kvnode runs on DIR) it cuts the\n"
           "log at its first damage, keeping a copy of every file it changes or removes\n"
           "(<file>.broken), and sets damaged snapshots aside.\n\n"
           "Options (config file: \"name value\"; command line: --name value):\n\n",
           prog, prog, prog);
    for (const cfg_option *o = cfg_options; o->name; o++)
        printf("  --%-28s default: %s%s\n      %s\n", o->name, o->defval[0] ? o->defval : "\"\"",
               o->runtime ? "  (CONFIG SET)" : "", o->help);
}

void config_print_sample(void)
{
    printf("# kvnode configuration file. Every option with its default value.\n"
           "# Syntax as redis.conf: \"name value\"; quote values with spaces.\n"
           "# Start with: kvnode /path/to/kvnode.conf [--option value ...]\n");
    for (const cfg_option *o = cfg_options; o->name; o++) {
        if (o->hidden)
            continue; /* test knobs, as redis.conf leaves them out */
        printf("\n# %s%s\n", o->help, o->runtime ? " (CONFIG SET can change it.)" : "");
        printf("%s %s\n", o->name, o->defval[0] ? o->defval : "\"\"");
    }
}
