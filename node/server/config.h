/* config.h — the server's options: one table, one struct.
 *
 * Owns parsing and formatting of every option: from a config file (Redis's
 * syntax: "name value …" per line, # comments, "double" and 'single'
 * quotes), from the command line (--name value …), and at runtime (CONFIG
 * GET / SET / REWRITE). Each option has a type, a default, bounds, a help
 * line, and whether CONFIG SET may change it. It never acts on a change:
 * the server applies what changed (config_set tells it which options).
 *
 * Names follow redis-server where an option exists there. */
#ifndef KV_CONFIG_H
#define KV_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* The pidfile of a daemonized node whose pidfile option is empty (as
 * Redis's /var/run/redis.pid). */
#define KV_DEFAULT_PIDFILE "/var/run/kvnode.pid"

/* A `user <name> <rule> …` line of the config file (or --user name rule …):
 * words[0] is the name. */
typedef struct kv_config_user {
    char **words;
    int n;
} kv_config_user;

typedef struct kv_config {
    /* network */
    char *bind;              /* space-separated addresses */
    int port;
    char *unixsocket;
    int unixsocketperm;
    int protected_mode;
    int tcp_backlog;
    int tcp_keepalive;
    int timeout;             /* idle client timeout, seconds (0: never) */
    int maxclients;
    char *requirepass;
    size_t requirepass_len; /* requirepass is binary-safe (CONFIG SET may give NULs) */
    /* limits */
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    long long obuf_hard;     /* client-output-buffer-limit normal <hard> <soft> <secs> */
    long long obuf_soft;
    int obuf_soft_seconds;
    long long obuf_pubsub_hard; /* … pubsub <hard> <soft> <secs> (subscribed clients) */
    long long obuf_pubsub_soft;
    int obuf_pubsub_soft_seconds;
    long long obuf_replica_hard; /* … replica: kept for Redis tools (see config.c) */
    long long obuf_replica_soft;
    int obuf_replica_soft_seconds;
    int notify_keyspace_events; /* NOTIFY_* classes (cmd.h) */
    /* persistence */
    char *dir;
    int appendfsync;         /* WAL_FSYNC_* */
    long long wal_segment_size;
    int wal_prealloc;
    int snapshot_keep;
    int nsave;               /* "save <seconds> <changes> …" pairs */
    /* How a save line applies: 0 replaces (CONFIG SET); while a config
     * file and the command line load, 1 until the first one (which drops
     * the defaults), then 2: each appends, as Redis's. */
    int save_mode;
    int save_seconds[16];
    long long save_changes[16];
    int appendonly;          /* always yes: the WAL cannot be turned off */
    int aof_use_rdb_preamble; /* kept for Redis tools; no effect on the WAL */
    long long snapshot_wal_min_bytes;
    int snapshot_wal_growth_pct;
    int snapshot_fork;
    int rdb_key_save_delay;  /* us per key a snapshot writes (tests; negative -n: 1 us per n) */
    int key_load_delay;      /* us per key or WAL entry loaded at startup (tests; idem) */
    int daemonize;
    /* Redis options kvnode honours its own way */
    int activerehashing;     /* the cron's incremental rehash (Redis's databasesCron) */
    int dynamic_hz;          /* hz doubles per 200 clients, up to 500 */
    int rdbcompression;      /* LZF strings in DUMP payloads and RDB streams */
    int rdbchecksum;         /* CRC-64 at the end of RDB streams (0 when off) */
    int stop_writes_on_bgsave_error; /* -MISCONF after a failed snapshot, with save points */
    int replica_read_only;   /* always yes */
    int enable_debug_command, enable_module_command, enable_protected_configs; /* PROTECT_* */
    int disable_thp;         /* PR_SET_THP_DISABLE when THP is "always" */
    int oom_score_adj;       /* OOM_ADJ_* (relative is stored as yes): how the values apply */
    int oom_score_adj_values[3]; /* primary, replica, background child */
    int shutdown_on_sigint, shutdown_on_sigterm; /* CFG_SHUTDOWN_* flags, 0: default */
    int shutdown_timeout;    /* s a leader's SHUTDOWN / SIGTERM waits to hand over (0: none) */
    int supervised;          /* SUPERVISED_* */
    /* Redis options accepted so that redis.conf files load and clients
     * that set them work; kvnode has no such mechanism (see config.c) */
    int always_show_logo, set_proc_title, jemalloc_bg_thread, no_appendfsync_on_rewrite;
    int sanitize_dump_payload, crash_log_enabled, crash_memcheck_enabled;
    int use_exit_on_panic; /* hidden: exit(1) instead of abort() (kv_abort) */
    int aof_load_truncated, aof_timestamp_enabled, aof_rewrite_incremental_fsync;
    int aof_disable_auto_gc;
    int rdb_save_incremental_fsync, rdb_del_sync_files;
    int repl_diskless_sync, repl_diskless_sync_delay, repl_diskless_sync_max_replicas;
    int repl_diskless_load, repl_disable_tcp_nodelay, replica_priority;
    char *masterauth, *masteruser; /* accepted (a kvnode node never replicates a Redis primary) */
    int propagation_error_behavior;
    long long acllog_max_len;
    char *aclfile;           /* ACL users' file (ACL LOAD / SAVE), "" none */
    int acl_pubsub_default;  /* ACL_PUBSUB_*: the channels of a new (or reset) user */
    struct kv_config_user *acl_users; /* the config's `user` lines, in order */
    int n_acl_users;
    char *dbfilename, *appendfilename, *appenddirname, *proc_title_template;
    /* keyspace */
    int hash_max_listpack_entries;
    long long hash_max_listpack_value; /* a memory value in Redis */
    int list_max_listpack_size;
    int list_compress_depth; /* kept and reported; see its table entry */
    long long set_max_intset_entries;
    long long zset_max_listpack_entries;
    long long zset_max_listpack_value; /* a memory value in Redis */
    long long stream_node_max_bytes;
    int stream_node_max_entries;
    long long hll_sparse_max_bytes;
    int active_expire;
    int databases; /* numbered databases (SELECT 0 .. databases-1) */
    int hz;
    /* memory limit (evict.c) */
    unsigned long long maxmemory; /* 0: none (unsigned, as Redis: up to 2^64-1) */
    int maxmemory_policy;         /* index into maxmemory_policy_names (config.c) */
    int maxmemory_samples;
    int maxmemory_eviction_tenacity;
    int lfu_log_factor;
    int lfu_decay_time;
    int replica_ignore_maxmemory;
    /* lazy freeing (Redis's lazyfree-lazy-* and replica-lazy-flush) */
    int lazyfree_lazy_eviction, lazyfree_lazy_expire, lazyfree_lazy_server_del;
    int lazyfree_lazy_user_del, lazyfree_lazy_user_flush, replica_lazy_flush;
    long long maxmemory_clients;  /* bytes; < 0: that percentage of maxmemory; 0: none */
    /* logging and process */
    int loglevel;
    char *logfile;
    char *pidfile;
    long long slowlog_log_slower_than;
    long long busy_reply_threshold; /* ms before a script is parked (BUSY) */
    int slowlog_max_len;
    long long tracking_table_max_keys; /* client-side caching table size (0: no limit) */
    /* latency tracking (INFO latencystats, LATENCY HISTOGRAM) */
    int latency_tracking;
    int nlatpct;             /* latency-tracking-info-percentiles */
    long long latency_monitor_threshold; /* ms; events at least this long are kept (0: off) */
    double latpct[64];
    /* metrics */
    int metrics_port;        /* Prometheus endpoint (0: off) */
    char *metrics_bind;      /* "" : same as bind */
    /* replication */
    char *replicaof;         /* "host port" or "" */
    int peer_port;           /* 0: port + 10000 */
    char *peer_bind;         /* "" : same as bind */
    char *cluster_secret;
    int min_replicas_ack;
    int heartbeat_ms;
    char *announce_ip;
    char *sentinel_master_name;
    int announce_port, announce_peer_port;
    long long repl_retention_bytes;
    int repl_timeout;             /* election timeout (ms) */
    int repl_ping_replica_period; /* seconds between PINGs to Redis replicas (SYNC) */
    int redis_repl_timeout;       /* repl-timeout: seconds a Redis replica may be silent */
    int replica_serve_stale_data; /* 0: -MASTERDOWN while the link to the leader is down */
    char *node_id;
    /* where the config came from (for CONFIG REWRITE) */
    char *config_file;
} kv_config;

typedef enum { CFG_BOOL, CFG_INT, CFG_MEM, CFG_STRING, CFG_ENUM, CFG_SPECIAL } cfg_type;

typedef struct cfg_option {
    const char *name;
    const char *alias;   /* another accepted name (e.g. "slaveof"), or NULL */
    cfg_type type;
    size_t offset;       /* into kv_config */
    long long min, max;  /* CFG_INT / CFG_MEM bounds */
    const char *defval;  /* default, as it would be written in a config file */
    const char *const *enum_names; /* CFG_ENUM, NULL-terminated; value = index */
    int runtime;         /* CONFIG SET may change it */
    const char *help;
    const char *alias2;  /* a second accepted name, or NULL */
    const char *alias3;  /* a third (min-slaves-to-write), or NULL */
    int hidden;          /* CONFIG GET shows it only when asked by its exact name
                          * (Redis's HIDDEN_CONFIG: a glob pattern skips it) */
    int protect;         /* CONFIG SET needs enable-protected-configs (Redis's
                          * PROTECTED_CONFIG) */
} cfg_option;

/* enable-debug-command, enable-module-command, enable-protected-configs. */
enum { PROTECT_NO, PROTECT_YES, PROTECT_LOCAL };
/* acl-pubsub-default. */
enum { ACL_PUBSUB_ALL, ACL_PUBSUB_RESET };
/* oom-score-adj. */
enum { OOM_ADJ_NO, OOM_ADJ_YES, OOM_ADJ_RELATIVE, OOM_ADJ_ABSOLUTE };
/* supervised (supervise.c). */
enum { SUPERVISED_NO, SUPERVISED_UPSTART, SUPERVISED_SYSTEMD, SUPERVISED_AUTO };

/* The option table, NULL-name terminated. */
extern const cfg_option cfg_options[];

/* maxmemory-policy: the EVICT_* value (cmd.h) of kv_config.maxmemory_policy. */
int config_maxmemory_policy(const kv_config *c);
const char *config_maxmemory_policy_name(const kv_config *c);

/* Set every option to its default. Frees nothing: call on a zeroed struct. */
void config_init(kv_config *c);
void config_free(kv_config *c);

/* Redis's memtoull: digits with an optional unit (b, k, kb, m, mb, g, gb,
 * any case), no sign. 0 or -1. */
int config_memtoull(const char *s, unsigned long long *out);

/* Find an option by name or alias (case-insensitive). */
const cfg_option *config_find(const char *name);

/* Set one option from its arguments (argc >= 1 words). startup != 0 allows
 * options that CONFIG SET may not change. 0 or -1 with a message in err
 * (Redis's wording where Redis has one). */
/* requirepass from a binary value (CONFIG SET: it may hold NULs, as in Redis). */
void config_set_requirepass(kv_config *c, const char *p, size_t n);
int config_set(kv_config *c, const cfg_option *o, int argc, const char **argv, int startup,
               char *err, size_t errlen);

/* Parse a config file's text; errors name the line. 0 or -1. */
int config_load_text(kv_config *c, const char *text, const char *fname, char *err,
                     size_t errlen);
/* Load a file (also remembered as config_file for REWRITE). */
int config_load_file(kv_config *c, const char *path, char *err, size_t errlen);
/* Command line: [config-file] [--name value …] [--help] [--version].
 * Returns 0 to run, 1 if it printed help/version (exit 0), -1 on error. */
int config_parse_args(kv_config *c, int argc, char **argv, char *err, size_t errlen);

/* Format an option's current value as CONFIG GET shows it. Returns the
 * length written (always NUL-terminated). */
size_t config_format(const kv_config *c, const cfg_option *o, char *buf, size_t len);

/* Rewrite c->config_file: options already there get their current values
 * in place, changed options that are absent are appended; comments and
 * order are kept. users (NULL: keep the file's `user` lines) replaces the
 * `user` lines: the ACL users as acl_config_lines gives them. 0 or -1
 * with err. */
/* shutdown-on-sigint / shutdown-on-sigterm flags (Redis's SHUTDOWN_*). */
enum { CFG_SHUTDOWN_SAVE = 1, CFG_SHUTDOWN_NOSAVE = 2, CFG_SHUTDOWN_NOW = 4, CFG_SHUTDOWN_FORCE = 8 };
int config_rewrite(const kv_config *c, const char *users, int force_all, char *err,
                   size_t errlen);

/* Print --help text (usage + every option with its default). */
void config_print_help(const char *prog);
/* Print a complete documented config file with every default. */
void config_print_sample(void);

/* notify-keyspace-events: Redis's keyspaceEventsStringToFlags (-1 on a
 * character that is no class) and keyspaceEventsFlagsToString (the
 * normalized form CONFIG GET shows; out needs 16 bytes). */
int config_keyspace_events_parse(const char *s);
void config_keyspace_events_format(int flags, char *out);

/* Split a line like Redis's sdssplitargs: "quoted \x41", 'single'. Returns
 * the number of words (<= max), or -1 on unbalanced quotes. Words are
 * written NUL-terminated into storage (at least strlen(line)+1 bytes). */
int config_split_line(const char *line, char **words, int max, char *storage);

#endif
