/* engine.h — the durable engine: keyspace + WAL + snapshots + recovery.
 *
 * Owns the data directory (LOCK, wal-*.log, snap-*.snap), the keyspace it
 * recovers, the WAL and the snapshot schedule. It does not know commands:
 * the server hands it the *effects* of what it executed (argv arrays, see
 * proto/wal.proto) and gives it a function that applies one such command
 * to the keyspace during recovery.
 *
 * Life cycle: engine_open (lock, recover) -> engine_start (attach to the
 * loop: group commit, snapshot cron) -> … -> engine_close. */
#ifndef KV_ENGINE_H
#define KV_ENGINE_H

#include "keyspace.h"
#include "progress.h"
#include "wal.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

typedef struct engine engine;

typedef struct engine_config {
    const char *dir;              /* data directory; created if missing */
    int databases;                /* numbered keyspaces (Redis's databases); default 16 */
    uint64_t wal_segment_size;    /* default 64 MiB */
    int fsync;                    /* WAL_FSYNC_*; default always */
    int wal_prealloc;             /* zero-filled spare segments; default 1 */
    int snapshot_keep;            /* newest snapshots kept; default 2 */
    int snapshot_fork;            /* 1: BGSAVE forks; 0 (default): the loop writes it a
                                   * slice at a time (snapinc.c; in-process when not started) */
    int snapshot_key_delay;       /* rdb-key-save-delay (tests): us per key a snapshot
                                   * writes, negative -n: 1 us per n keys; 0: none */
    uint64_t snapshot_wal_min;    /* auto snapshot once the WAL grew this much … */
    int snapshot_wal_pct;         /* … and this % of the last snapshot's size */
    uint64_t retention_bytes;     /* at most this much WAL kept for lagging replicas */
    int nsave;                    /* scheduled snapshots: after save_seconds[i] */
    int save_seconds[16];         /* … if save_changes[i] entries were logged */
    long long save_changes[16];
    /* With has_replay_limit, recovery applies entries only up to
     * replay_limit (the commit watermark); later ones stay in the log,
     * unapplied. Default: all. */
    int has_replay_limit;
    uint64_t replay_limit;
    /* Compaction never goes past the commit point given by
     * engine_set_commit (a replicated node). 0: past durable (standalone). */
    int commit_gated;
    /* Called as recovery (engine_open) and engine_install_snapshot load
     * data (progress.h: bytes done of the snapshot and WAL files); NULL for
     * none. The hook runs on the calling thread, in the middle of loading:
     * it must not touch the engine. */
    progress_hook load_progress;
    void *load_progress_arg;
} engine_config;

/* Fill in the defaults above (dir stays NULL). */
void engine_config_defaults(engine_config *c);

typedef struct engine_recovery {
    uint64_t snapshot_lsn;
    uint64_t snapshot_keys;
    uint64_t snapshot_bytes;
    int snapshots_broken;
    wal_recovery wal;
    uint64_t snapshot_ms; /* time to load the snapshot */
    uint64_t replay_ms;   /* time to replay the WAL */
    uint64_t total_ms;
} engine_recovery;

/* Apply one logged command to database `db` (< the configured number;
 * dbs is engine_dbs's array) during recovery (or on a replica). Returns 0
 * or a negative KVE_* code with a message. */
typedef int (*engine_apply_fn)(void *arg, ks **dbs, int db, int argc, const char **argv,
                               const size_t *lens, char *err, size_t errlen);

/* Lock dir, load the newest good snapshot, replay the WAL after it. On
 * failure nothing is left open and err says what and where. */
int engine_open(engine **out, const engine_config *cfg, engine_apply_fn apply, void *apply_arg,
                engine_recovery *rec, char *err, size_t errlen);
/* on_durable(arg) runs on the loop whenever engine_durable_lsn advances or
 * the WAL fails. */
int engine_start(engine *e, uv_loop_t *loop, void (*on_durable)(void *arg), void *arg);
/* Make everything logged durable, wait for a running snapshot child, close.
 * Run the loop afterwards so handles finish closing. NULL is fine. */
void engine_close(engine *e);
/* Block until everything logged is written and fdatasync'd (shutdown,
 * SAVE). Returns 0 or the WAL's error code. */
int engine_flush(engine *e);
/* Apply changed settings: fsync policy and the snapshot schedule. */
void engine_reconfigure(engine *e, const engine_config *cfg);

/* The databases: an array of `databases` keyspaces, owned by the engine,
 * valid until engine_close (recovery, DEBUG RELOAD and snapshot installs
 * clear and refill them in place). The caller may permute the array's
 * entries (SWAPDB swaps two). engine_ks is database 0 (engine_dbs(e)[0]). */
ks **engine_dbs(engine *e, int *n);
ks *engine_ks(engine *e);
const engine_recovery *engine_recovery_info(const engine *e);
const char *engine_dir(const engine *e);

/* ---- logging effects ---- */
/* Term stamped on new entries (the replication layer sets it). */
void engine_set_term(engine *e, uint64_t term);
/* See wal_set_gather: the replication layer turns it off while the node
 * has peers. */
void engine_set_gather(engine *e, int on);
/* Redis's replica-lazy-flush: installing a snapshot from the primary
 * hands the data it replaces to the lazyfree thread (keyspace.h). */
void engine_set_lazy_flush(engine *e, int on);
uint64_t engine_term(const engine *e);
/* Add one command on database db to the entry being built (argv is
 * copied). */
void engine_entry_add(engine *e, int db, int argc, const char **argv, const size_t *lens);
/* Bytes allocated for the entry being built, 0 between entries: used
 * memory that maxmemory does not count, as Redis's AOF buffer (evicting
 * keys for it would only add DELs to it). The buffers kept between
 * entries (at most ENTRY_KEEP_BYTES each) are ordinary used memory. */
size_t engine_entry_buffer_bytes(const engine *e);
/* Number of commands in the entry being built. */
int engine_entry_pending(const engine *e);
/* Log the entry built so far as one WAL record. Returns its LSN, or 0 if
 * the entry was empty or the WAL has failed. */
uint64_t engine_entry_commit(engine *e);
/* Drop the entry being built. */
void engine_entry_abort(engine *e);
/* Log a no-op entry (a new primary's first entry in its term). */
uint64_t engine_log_noop(engine *e);
/* Log a membership config entry (payload: a packed kv.ClusterConfig). */
uint64_t engine_log_config(engine *e, const void *payload, size_t len);

/* The keyspace holds every entry up to this LSN (recovery stops at the
 * replay limit; a replica applies what is committed; local writes are
 * applied as they execute). Snapshots are taken at it. */
uint64_t engine_applied_lsn(const engine *e);
/* The replication commit point, for compaction (commit_gated). */
void engine_set_commit(engine *e, uint64_t commit);
/* Membership config records recovery saw (all of them, past the replay
 * limit too), oldest first; valid until engine_close. */
typedef struct engine_config_rec {
    uint64_t lsn;
    uint8_t *payload;
    size_t len;
} engine_config_rec;
const engine_config_rec *engine_recovered_configs(const engine *e, size_t *n);

/* 0 if a write of about `bytes` may run now, else KVE_NOSPC / KVE_FAILED
 * (see wal_can_accept) with a reason for the client in *why. */
int engine_can_write(const engine *e, size_t bytes, const char **why);

uint64_t engine_last_lsn(const engine *e);
uint64_t engine_last_term(const engine *e);
uint64_t engine_durable_lsn(const engine *e);
int engine_failed(const engine *e, const char **msg);
/* 1 unless the last snapshot (BGSAVE, SAVE, automatic) failed. */
int engine_last_snapshot_ok(const engine *e);

/* ---- snapshots ---- */
/* Start a background snapshot. KVE_BUSY if one is running. */
int engine_bgsave(engine *e, char *err, size_t errlen);
/* Take a snapshot now, blocking the loop (SAVE). */
int engine_save(engine *e, char *err, size_t errlen);
/* DEBUG RELOAD: take a snapshot now (as engine_save), then replace the
 * keyspace's contents with that snapshot, read back from disk and
 * verified. The keyspace object (engine_ks) stays the same. The snapshot
 * is verified before the keyspace is cleared; if loading it still fails
 * the keyspace would no longer match the log, so the process exits (the
 * data is safe on disk and recovers on restart). KVE_BUSY while another
 * snapshot runs or an entry is being built. */
int engine_reload(engine *e, char *err, size_t errlen);
/* DEBUG RELOAD NOSAVE: no snapshot is taken; the keyspace is rebuilt from
 * what is on disk, the newest snapshot and then the WAL up to the last
 * entry applied, which is what memory holds (every write is in the WAL;
 * it waits until all of it is written and synced, as SAVE does). If the
 * rebuild fails the process exits, as engine_reload's. KVE_BUSY while an
 * entry is being built, KVE_FAILED when the WAL has failed. */
int engine_reload_disk(engine *e, char *err, size_t errlen);
/* Run the snapshot schedule now (normally from the engine's own timer). */
void engine_cron(engine *e);
/* Keep WAL entries from compaction (0 = no need): from `replicas` on for
 * replicas streaming from the WAL, honoured only within the newest
 * retention_bytes of the WAL (a replica further behind gets a snapshot);
 * from `keep` on unconditionally. See compact_wal in engine.c. */
void engine_pin_wal(engine *e, uint64_t replicas, uint64_t keep);

/* ---- replication ---- */
/* The WAL, for the replication layer (tap, term history, reading back). */
wal *engine_wal(engine *e);
/* Store a record framed by the primary, unchanged (see wal_append_raw). */
int engine_append_raw(engine *e, const uint8_t *rec, size_t len);
/* Apply one logged record to the keyspace (a replica applying what the
 * primary committed). 0 or KVE_* with a message. */
int engine_apply_record(engine *e, const wal_record *rec, char *err, size_t errlen);
/* Apply the framed records in p[0..len) (as wal_read returns them) that
 * follow what is applied already; the one replay loop behind rebuilds and
 * replicas. 0 or KVE_* with a message naming the LSN. */
int engine_apply_records(engine *e, const uint8_t *p, size_t len, char *err, size_t errlen);
/* 1 while a record streamed from the primary is applied (engine_apply_
 * record/records): the apply function can tell those from recovery and
 * rebuilds, which are silent. */
int engine_applying_record(const engine *e);
/* Cut the log after keep_lsn. With reload, the keyspace is rebuilt from
 * disk up to keep_lsn (snapshots newer than it are deleted: they hold the
 * cut entries). Blocking. KVE_NOTFOUND if the disk no longer has what the
 * rebuild needs (the caller then takes a full snapshot). */
int engine_truncate(engine *e, uint64_t keep_lsn, int reload, char *err, size_t errlen);
/* Install a snapshot received from a primary (a verified file at tmp_path
 * taken at lsn/term): it becomes the only snapshot, the keyspace is loaded
 * from it and the log restarts after it. Blocking. */
int engine_install_snapshot(engine *e, const char *tmp_path, uint64_t lsn, uint64_t term,
                            char *err, size_t errlen);
/* Forget all data: every snapshot, the whole log (it restarts at LSN 1)
 * and the keyspace. For a replica that must resync from scratch. */
int engine_wipe(engine *e, char *err, size_t errlen);
/* The newest published snapshot at or below max_lsn (UINT64_MAX: any): 0
 * and its LSN, term and path, or KVE_NOTFOUND. */
int engine_latest_snapshot(engine *e, uint64_t max_lsn, uint64_t *lsn, uint64_t *term, char *path,
                           size_t len);
/* Called (on the loop) each time a snapshot is published. */
void engine_on_snapshot(engine *e, void (*cb)(void *arg, uint64_t lsn), void *arg);

typedef struct engine_stats {
    int bgsave_in_progress;
    pid_t bgsave_pid;
    int last_bgsave_ok;          /* 1 if the last snapshot succeeded */
    int64_t last_save_time;      /* unix seconds of the last good snapshot */
    uint64_t last_save_lsn;
    uint64_t last_snapshot_bytes;
    uint64_t last_snapshot_keys;
    uint64_t last_snapshot_ms;   /* how long it took */
    uint64_t snapshots_taken;
    uint64_t changes_since_save; /* entries logged since the last snapshot point */
    uint64_t wal_bytes_since_save;
    uint64_t wal_compactions;
    char last_error[256];
    /* The snapshot being written (bgsave_in_progress), as its writer
     * reports it: keys and bytes written of keys_total. */
    uint64_t snapshot_keys_done, snapshot_keys_total, snapshot_bytes_done;
    uint64_t snapshot_elapsed_ms;
    wal_stats wal;
    /* The data directory's file system (statvfs): free for us, and size. */
    uint64_t disk_free_bytes, disk_total_bytes;
} engine_stats;
void engine_get_stats(const engine *e, engine_stats *st);

#endif
