/* wal.h — the write-ahead log: framing, segments, group commit, recovery.
 *
 * Owns the wal-*.log segment files of a data directory and the WAL thread
 * that writes and syncs them. It never interprets payloads (the engine
 * does) and never blocks the event loop on disk: the loop appends records
 * to an in-memory batch, and at the end of each loop iteration the batch is
 * handed to the WAL thread, which writes it with one write and one
 * fdatasync while the next batch fills (group commit). A completion wakes
 * the loop through an eventfd and the owner's progress callback runs.
 *
 * A failed write or fsync is never retried and nothing after it is ever
 * reported durable: the WAL enters its failed state (wal_error) for good
 * and the process must recover from disk on restart (fail-stop). See
 * wal_format.c for the byte layout, wal_int.h for the files of the WAL. */
#ifndef KV_WAL_H
#define KV_WAL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

enum { WAL_FSYNC_ALWAYS = 0, WAL_FSYNC_EVERYSEC = 1, WAL_FSYNC_NO = 2 };
/* Record types: commands (a kv.WalEntry), a new leader's no-op, and a
 * membership change (a kv.ClusterConfig, interpreted by replication only). */
enum { WAL_REC_COMMANDS = 1, WAL_REC_NOOP = 2, WAL_REC_CONFIG = 3 };

#define WAL_REC_HDR 32u
#define WAL_SEG_HDR 32u
#define WAL_MAX_PAYLOAD (1024u * 1024u * 1024u) /* 1 GiB */

typedef struct wal wal;

typedef struct wal_config {
    const char *dir;       /* data directory (must exist) */
    uint64_t segment_size; /* bytes per segment file (>= 4 KiB) */
    int fsync;             /* WAL_FSYNC_* */
    int prealloc;          /* prepare zero-filled spare segments off the hot path */
    uint64_t stall_warn_ms; /* warn when the durable LSN is stuck this long
                               while records wait (0: WAL_STALL_WARN_MS) */
    /* appendfsync always, alone (wal_set_gather on): while the last sync
     * took at most this long, the loop syncs a batch itself instead of
     * handing it to the WAL thread (0: never; see "inline syncs" in
     * wal_writer.c) */
    uint64_t inline_sync_max_us;
    struct wal_peek_hook *peek; /* recovery's read-ahead hint (NULL: none;
                                   used only by wal_open) */
} wal_config;

#define WAL_INLINE_SYNC_MAX_US 2000

#define WAL_STALL_WARN_MS 2000

/* One record as recovery and readers see it. Pointers are valid only for
 * the duration of the callback that receives them. */
typedef struct wal_record {
    uint64_t lsn;
    uint64_t term;
    int type;              /* WAL_REC_* */
    const uint8_t *payload;
    size_t len;
    const uint8_t *raw;    /* the whole framed record (header+payload+pad) */
    size_t raw_len;
} wal_record;

/* What recovery found (also reported in INFO persistence). */
typedef struct wal_recovery {
    uint64_t segments_scanned;
    uint64_t segments_skipped; /* wholly covered by the snapshot: not read */
    uint64_t records_scanned;
    uint64_t entries_replayed;
    uint64_t bytes_truncated;
    uint64_t last_lsn;
    uint64_t last_term;
    char truncated_file[256]; /* segment whose torn tail was cut, or "" */
} wal_recovery;

/* Called for each record with lsn > after_lsn during wal_open. Return 0, or
 * a negative KVE_* code (with a message in err) to abort recovery. */
typedef int (*wal_apply_fn)(void *arg, const wal_record *rec, char *err, size_t errlen);

/* Recovery's read-ahead hint (wal_config.peek): while it replays a
 * segment, fn sees each record about WAL_PEEK_AHEAD records before apply
 * does, framed as the bytes on disk say but NOT checked (its CRC may be
 * wrong and its payload anything, though it lies inside the file), so
 * that the caller can prefetch what applying it will touch. fn may only
 * read rec->payload[0..len) and must not fail or change state that the
 * replay depends on. It may not see every record (it stops at the first
 * frame that cannot be a record) and may see records that apply never
 * will (after a torn tail, or before the snapshot). */
#define WAL_PEEK_AHEAD 16
typedef struct wal_peek_hook {
    void (*fn)(void *arg, const wal_record *rec);
    void *arg;
} wal_peek_hook;

/* For a read-ahead hint: the key (argv[1]) and database of the first
 * command in a commands record's payload (a packed kv.WalEntry), read from
 * the wire bytes without unpacking or allocating. 1 when there is one;
 * 0 when the first command has fewer than two arguments or the bytes are
 * not a WalEntry this can read. Any bytes are safe to give: reads stay in
 * payload[0..len). *key points into the payload. */
int wal_entry_first_key(const uint8_t *payload, size_t len, const uint8_t **key, size_t *klen,
                        uint64_t *db);

/* Open the WAL in cfg->dir: verify every segment, replay the records after
 * (after_lsn, after_term) — the snapshot the engine loaded, (0,0) if none —
 * through apply, cut a torn tail off the last segment (keeping a copy as
 * <segment>.broken), and refuse with a message naming file and offset on
 * any other damage: a bad record followed by valid ones, an LSN gap, a
 * missing segment. On success *out is ready for wal_start. */
int wal_open(wal **out, const wal_config *cfg, uint64_t after_lsn, uint64_t after_term,
             wal_apply_fn apply, void *arg, wal_recovery *info, char *err, size_t errlen);

/* Start the WAL thread and hook the loop. on_progress(arg) runs on the loop
 * thread whenever durable_lsn advances or the WAL fails. */
int wal_start(wal *w, uv_loop_t *loop, void (*on_progress)(void *arg), void *arg);

/* Block the calling (loop) thread until everything appended is written
 * and fdatasync'd, whatever the policy. Returns 0 or the WAL's error. For
 * SAVE and shutdown only: it stalls the loop. */
int wal_flush_wait(wal *w);

/* Flush and sync everything appended, stop the thread, close the handles
 * and free the WAL. When it returns all appended records are durable
 * unless the WAL had failed. The loop must be run for the handles to
 * finish closing (uv_run after wal_close); the memory is freed by then.
 * NULL is fine. A WAL that was opened but never started is freed at once. */
void wal_close(wal *w);

/* Reserve room for a record with a payload of len bytes at the end of the
 * current batch; the caller writes the payload there and then calls
 * wal_append_finish. Returns NULL if the WAL has failed. */
uint8_t *wal_append_reserve(wal *w, size_t len);
/* Frame the reserved record with the next LSN. Returns that LSN. */
uint64_t wal_append_finish(wal *w, uint64_t term, int type);
/* Append a payload in one call: reserve + copy + finish. Returns the LSN, or
 * 0 if the WAL has failed. */
uint64_t wal_append(wal *w, uint64_t term, int type, const void *payload, size_t len);

/* Admission control: 0 if a write whose record could be up to `bytes` long
 * can be logged now; KVE_NOSPC when no spare segment of any size could be
 * prepared (the disk is full) and the room left in the current segment,
 * less a small reserve for what the node itself must log, cannot hold it:
 * the write must be refused before it runs, so nothing half-done is ever
 * logged. KVE_FAILED after a fatal I/O error. Writes that fit go on until
 * the segment is full; a spare made once space is back ends it. */
int wal_can_accept(const wal *w, size_t bytes);
/* 1 while no spare segment can be made for lack of space (appends go on in
 * the current segment's room; see wal_can_accept). */
int wal_nospace(const wal *w);

/* Change the fsync policy (CONFIG SET appendfsync); takes effect from the
 * next batch. The durable LSN never moves back: moving to "always" keeps
 * what was already released under everysec/no as durable. */
void wal_set_fsync(wal *w, int policy);
/* Ask for an fdatasync of everything appended so far, after it is written:
 * what the everysec timer does each second (exposed so that tests can fire
 * it at a chosen moment). */
void wal_request_sync(wal *w);
/* Whether the loop may wait for an in-flight sync at the end of a pass
 * (appendfsync always; see gather_wait in wal_writer.c). On by default;
 * off where other input decides when replies go (a node with peers:
 * replica acks must be read as they arrive). Loop thread. */
void wal_set_gather(wal *w, int on);
/* How long the durable LSN has been stuck while records wait (0 when it is
 * not): the watchdog's figure, also logged once past stall_warn_ms. */
uint64_t wal_stalled_ms(const wal *w);

uint64_t wal_last_lsn(const wal *w);
uint64_t wal_last_term(const wal *w);
/* Highest LSN whose reply may be released under the fsync policy: synced
 * for "always", written to the kernel for "everysec" and "no". */
uint64_t wal_durable_lsn(const wal *w);
/* Highest LSN known fdatasync'd. */
uint64_t wal_synced_lsn(const wal *w);

/* 0, or the KVE_* code of the fatal error with its message in *msg. */
int wal_error(const wal *w, const char **msg);
/* Why admission is refusing writes now ("" when it is not). */
const char *wal_nospace_reason(const wal *w);

/* Delete (asynchronously, off the loop) every segment whose records are all
 * <= upto_lsn. The active segment is never deleted. Returns the number of
 * segments scheduled for deletion. */
int wal_compact(wal *w, uint64_t upto_lsn);

/* fdatasync latency histogram: bucket i counts syncs that took at most
 * wal_sync_bucket_us[i] microseconds (and more than the bucket before);
 * the last bucket has no bound. Counted lock-free by the WAL thread. */
#define WAL_SYNC_BUCKETS 16
extern const uint64_t wal_sync_bucket_us[WAL_SYNC_BUCKETS - 1];

typedef struct wal_stats {
    uint64_t segments;          /* segment files on disk */
    uint64_t bytes;             /* bytes of records in them (approx.) */
    uint64_t first_lsn;         /* first LSN still on disk */
    uint64_t batches;           /* batches written */
    uint64_t records;           /* records appended since start */
    uint64_t syncs;             /* fdatasync calls */
    uint64_t last_sync_us;      /* duration of the last fdatasync */
    uint64_t max_batch_records; /* largest batch so far */
    uint64_t gather_waits;      /* loop passes that waited for a sync (gather_wait) */
    uint64_t loop_delays;       /* loop passes that held their reads for the next (loop_delay) */
    uint64_t inline_syncs;      /* batches the loop synced itself (inline syncs) */
    uint64_t bytes_since_compact; /* bytes appended since the last wal_compact */
    int spare_ready;
    int nospace;                /* see wal_nospace */
    uint64_t segment_room;      /* bytes left in the current segment */
    uint64_t stalled_ms;        /* see wal_stalled_ms */
    uint64_t sync_hist[WAL_SYNC_BUCKETS]; /* fdatasyncs per bucket (not cumulative) */
    uint64_t sync_us_total;     /* their summed duration */
} wal_stats;
void wal_get_stats(const wal *w, wal_stats *st);

/* ---- replication support ---- */

/* A term starts at this LSN in the log. */
typedef struct wal_term_start {
    uint64_t term;
    uint64_t first_lsn;
} wal_term_start;

/* Append a record framed by another node (a replica storing its primary's
 * bytes unchanged). It must be valid, have LSN last+1 and a term no lower
 * than the last one. 0, KVE_CORRUPT, KVE_INVAL or KVE_FAILED. */
int wal_append_raw(wal *w, const uint8_t *rec, size_t len);
/* Called on the loop thread with every record appended (its bytes are valid
 * only during the call): replication streams them to caught-up replicas. */
void wal_set_tap(wal *w, void (*fn)(void *arg, const uint8_t *rec, size_t len, uint64_t lsn),
                 void *arg);
/* Term of the record at lsn (the snapshot's term at its LSN), or 0 if the
 * log does not know it (before its start, after its end). */
uint64_t wal_term_at(const wal *w, uint64_t lsn);
/* The log's term history, oldest first; valid until the next append. */
const wal_term_start *wal_history(const wal *w, size_t *n);
/* The first LSN to keep so that at least `bytes` of the newest records
 * stay on disk (whole segments; last + 1 when bytes is 0). */
/* Bytes of records on disk from the segment holding `lsn` on (a whole
 * segment's worth for that one: segment granularity, as compaction). */
uint64_t wal_bytes_from(const wal *w, uint64_t lsn);
uint64_t wal_retention_floor(const wal *w, uint64_t bytes);
/* First LSN still in a segment file (last + 1 when none). */
uint64_t wal_first_lsn(const wal *w);
/* Highest LSN written to the kernel (readable by wal_read). */
uint64_t wal_written_lsn(const wal *w);

/* Cut the log after keep_lsn: later records are gone for good. Flushes
 * first (blocking). KVE_INVAL if keep_lsn is before the retained log. */
int wal_truncate_after(wal *w, uint64_t keep_lsn, char *err, size_t errlen);
/* Drop the whole log and restart it after base (an installed snapshot at
 * base_lsn/base_term). Flushes first (blocking). */
int wal_reset(wal *w, uint64_t base_lsn, uint64_t base_term, char *err, size_t errlen);

/* Reading records back from the segment files, from any thread. */
typedef struct wal_cursor {
    uint64_t next_lsn;  /* next record wanted */
    uint64_t seg_first; /* segment that holds it (0: find it) */
    uint64_t offset;    /* where it starts there (0: find it) */
} wal_cursor;

/* A growable buffer of plain malloc memory (usable off the loop thread). */
typedef struct wal_rbuf {
    uint8_t *p;
    size_t len, cap;
} wal_rbuf;
void wal_rbuf_free(wal_rbuf *b);

/* Append framed records cur->next_lsn .. upto (inclusive) from the files in
 * dir to out, stopping once out grew by max_bytes (at least one record if
 * any is available), and advance cur. Returns the number of records read
 * (0: none available yet), KVE_NOTFOUND when next_lsn is no longer on disk,
 * or KVE_CORRUPT / KVE_IO with a message. Touches only files: safe on the
 * thread pool while the loop appends. */
long wal_read(const char *dir, wal_cursor *cur, uint64_t upto, size_t max_bytes, wal_rbuf *out,
              char *err, size_t errlen);

/* The record framing, exposed for replication and tests. */
/* Bytes a record with a payload of len bytes takes on disk. */
size_t wal_record_size(size_t len);
/* Write a framed record into out (wal_record_size(len) bytes). */
void wal_encode_record(uint8_t *out, uint64_t lsn, uint64_t term, int type,
                       const void *payload, size_t len);
/* Parse one framed record at p (n bytes available). Returns its size, 0 if
 * more bytes are needed, or -1 if it is not a valid record. */
long wal_decode_record(const uint8_t *p, size_t n, wal_record *rec);
/* The fields of a record this node framed or verified already (the tap's):
 * no checks at all. */
void wal_peek_record(const uint8_t *p, wal_record *rec);

#endif
