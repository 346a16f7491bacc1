/* wal_int.h — the WAL's internal interface, shared by the files that
 * implement it and by the offline checker (check.c). Nothing outside
 * node/store includes it.
 *
 * The WAL is split by job:
 *   wal_format.c    the files and their byte layout: record framing
 *                   (encode/decode), the segment header, file names
 *   wal_recovery.c  wal_open: listing, scanning and verifying segments,
 *                   replaying records, cutting a torn tail
 *   wal_read.c      wal_read and its cursor: reading records back, from any
 *                   thread
 *   wal_writer.c    appending, the group-commit hand-off (its state machine
 *                   is drawn above kick()), the WAL thread, spare segments,
 *                   flush-wait and shutdown
 *   wal_maint.c     the segment list and term history, compaction,
 *                   truncation and reset
 * Only wal_writer.c and the WAL thread touch the fields shared with the
 * thread (see struct wal); the others run on the loop thread with the
 * thread idle, or (wal_read, recovery before wal_start) touch no shared
 * state at all. */
#ifndef KV_WAL_INT_H
#define KV_WAL_INT_H

#include "wal.h"

#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

/* Writeback of written WAL bytes is started every this many bytes when
 * batches are not synced one by one (writeback_early, wal_writer.c). */
#define WAL_WRITEBACK_STEP (1u << 20)

/* ------------------------------------------------------------------------ */
/* State                                                                     */
/* ------------------------------------------------------------------------ */

/* A growable byte buffer private to the WAL (plain malloc: the WAL thread
 * frees batches too). */
typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
} wbuf;

/* A point in a batch where a new segment starts. */
typedef struct seg_switch {
    size_t off;         /* offset in the batch of the first record of the segment */
    uint64_t first_lsn; /* its LSN */
    int spare_id;       /* spare file to rename into place, or -1 to create */
} seg_switch;

/* A run of framed records with consecutive LSNs first_lsn..last_lsn (none
 * when records is 0), the segment switches inside it, and whether an
 * fdatasync is owed after its bytes whatever the policy says. A sync
 * request never stands in for data: a batch's bytes are always written. */
typedef struct batch {
    wbuf buf;
    uint64_t first_lsn;
    uint64_t last_lsn;
    uint64_t records;
    seg_switch *sw;
    size_t nsw, capsw;
    int sync; /* fdatasync after writing (everysec tick, flush-wait) */
} batch;

/* A segment on disk, as the loop thread knows it. */
typedef struct seg_info {
    uint64_t first_lsn;
    uint64_t bytes; /* record bytes in it (header excluded) */
} seg_info;

enum { SPARE_NONE, SPARE_PREPARING, SPARE_READY, SPARE_FAILED };
enum { THREAD_RUNNING, THREAD_WAIT_WORK, THREAD_WAIT_DELAY };

struct wal {
    /* configuration */
    char dir[PATH_MAX];
    uint64_t seg_size;
    _Atomic int policy;
    int prealloc;

    /* loop-thread state */
    uv_loop_t *loop;
    uv_poll_t notify;  /* the loop's end of the wake-up eventfd */
    int efd;           /* eventfd the WAL thread writes to wake the loop */
    uv_prepare_t prepare;
    uv_check_t check;
    uv_timer_t timer;
    int handles_open; /* handles still to close */
    int started, closing;
    void (*on_progress)(void *);
    void *progress_arg;
    batch fill;
    size_t reserve_len;     /* payload length reserved by wal_append_reserve */
    size_t reserve_off;     /* where that record starts in fill */
    uint64_t last_lsn, last_term;
    uint64_t seg_room;      /* bytes left in the segment the next record goes to */
    int cur_prealloc;       /* the current segment was a zero-filled spare */
    seg_info *segs;
    size_t nsegs, capsegs;
    wal_term_start *hist;   /* term history: where each term starts */
    size_t nhist, caphist;
    void (*tap)(void *arg, const uint8_t *rec, size_t len, uint64_t lsn);
    void *tap_arg;
    int spare_state;
    int spare_id, next_spare_id;
    int spare_errno;
    uint64_t spare_retry_at; /* ms (uv_now) */
    uv_work_t spare_work;
    int spare_work_rc;
    uint64_t spare_work_size;  /* size the pool job made (or tried last) */
    uint64_t spare_size;       /* size of the READY spare */
    uint64_t spare_after_lsn;  /* spare_work waits for the switch at this LSN (0: none) */
    /* Out of space: no spare of any size could be made. Appends go on into
     * the room the current segment has; admission keeps a reserve of it
     * (wal_can_accept). Logged once when it starts and once when it ends. */
    int nospace_mode;
    uint64_t nospace_since_ms;
    int refusing_logged;       /* "refusing writes" said for this episode */
    char nospace[160];
    uint64_t records_appended;
    uint64_t bytes_since_compact;
    /* stall watchdog (loop thread) */
    uint64_t stall_warn_ms;  /* warn once durable is stuck this long */
    uint64_t inline_sync_max_us; /* wal_config's (loop thread) */
    uint64_t stall_lsn;      /* durable LSN when the current stall began */
    uint64_t stall_since_ms; /* when it began (0: not stalled) */
    int stall_warned;
    _Atomic uint64_t max_batch_records;
    int compacting;

    /* shared with the WAL thread (mu) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch flight;
    int flight_full; /* flight holds a batch the thread has not finished */
    batch ready;     /* filled while flight was busy; the thread takes it next */
    int ready_full;
    int stop;
    /* What the thread sleeps on, so that kick() signals cv only when the
     * change it makes can end that sleep: THREAD_RUNNING (not asleep),
     * THREAD_WAIT_WORK (flight empty), THREAD_WAIT_DELAY (commit delay:
     * until ready holds delay_target records). */
    int thread_wait;
    uint64_t delay_target;
    sem_t wake; /* the loop ends the thread's sleep (thread_sleep) */

    /* 1 from the thread's wake-up write to efd until the loop has read it:
     * one write per loop pass however many batches finish (notify_loop) */
    _Atomic int notify_pending;
    /* 1 while the thread writes and syncs a batch whose news the loop has
     * not been sent yet (set by whoever hands the thread a batch, cleared
     * by the thread before notify_loop): the loop's gather wait
     * (gather_wait) only waits while this is 1 */
    _Atomic int syncing;
    int no_gather; /* loop thread: wal_set_gather(w, 0) */
    /* The loop's commit delay (loop_delay in wal_writer.c), in place of
     * the thread's while the loop gathers: */
    _Atomic int loop_delays;      /* set by the loop: the thread skips its own */
    _Atomic uint64_t done_records; /* records in the batch the thread last finished */
    uint64_t just_released;        /* loop: what this pass's notify released */
    int hold_fill;                 /* loop: fill waits for the next pass's reads */
    uv_idle_t idle;                /* keeps that pass from blocking in epoll */
    /* loop thread: the fast path wrote a batch; report progress at the end
     * of this callback rather than through the eventfd */
    int progress_due;

    /* published by the writer (the WAL thread, or the loop on the fast
     * path); both only grow, synced <= written <= last_lsn */
    _Atomic uint64_t written_lsn;
    _Atomic uint64_t synced_lsn;
    /* written_lsn when the policy last became "always": replies up to it
     * were already released, so durable_lsn never moves back */
    _Atomic uint64_t durable_floor;
    _Atomic int err;
    char errmsg[256];
    _Atomic uint64_t batches, syncs, last_sync_us, gather_waits, loop_delays_done, inline_syncs;
    _Atomic uint64_t sync_hist[WAL_SYNC_BUCKETS], sync_us_total;

    /* WAL-thread state */
    int fd;
    uint64_t off;           /* write offset in the current segment */
    uint64_t wb_from;       /* writeback not yet started from here (writeback_early) */
    _Atomic uint64_t last_sync_ms; /* when the last fdatasync began (everysec) */
};

/* ------------------------------------------------------------------------ */
/* Format (wal_format.c)                                                     */
/* ------------------------------------------------------------------------ */

/* "<dir>/wal-<first LSN, 20 digits>.log". */
void wal_seg_path(char *out, size_t n, const char *dir, uint64_t first_lsn);
/* "<dir>/wal-spare-<id>.tmp". */
void wal_spare_path(char *out, size_t n, const char *dir, int id);
/* Frame the record whose payload (len bytes) is already at out + WAL_REC_HDR:
 * header, padding and CRC. */
void wal_frame_header(uint8_t *out, uint64_t lsn, uint64_t term, int type, size_t len);
/* The WAL_SEG_HDR bytes that open a segment starting at first_lsn. */
void wal_encode_seg_header(uint8_t *h, uint64_t first_lsn);
/* wal_decode_record, also saying why a record is not valid (or is not
 * whole yet: 0 returned) in *why (a static string; NULL when valid). */
long wal_check_record(const uint8_t *p, size_t n, wal_record *rec, const char **why);
/* Is h (WAL_SEG_HDR bytes) a valid header for a segment at first_lsn? */
int wal_seg_header_ok(const uint8_t *h, uint64_t first_lsn);

/* ------------------------------------------------------------------------ */
/* Recovery (wal_recovery.c)                                                 */
/* ------------------------------------------------------------------------ */

/* First LSNs of the segment files in dir, sorted, in a plain malloc'd array
 * (the caller free()s it; callable from any thread). 0 or KVE_* with err. */
int wal_list_segments(const char *dir, uint64_t **out, size_t *n, char *err, size_t errlen);

/* How the records of one segment file end. */
typedef enum wal_seg_end {
    WAL_SEG_CLEAN,      /* valid records with consecutive LSNs, then zeros */
    WAL_SEG_EMPTY,      /* all zeros (or empty): created, no header written yet */
    WAL_SEG_NO_HEADER,  /* zeros where the header belongs, bytes after it */
    WAL_SEG_BAD_HEADER, /* a header with a wrong magic, version, CRC or LSN */
    WAL_SEG_TORN,       /* an invalid record with no valid record after it */
    WAL_SEG_CORRUPT,    /* an invalid record with a valid record after it */
    WAL_SEG_WRONG_LSN,  /* a valid record whose LSN is not the next one */
    WAL_SEG_TERM_BACK,  /* a valid record whose term is below the one before */
} wal_seg_end;

/* What a walk over one segment found. The file is never changed. */
typedef struct wal_seg_scan {
    wal_seg_end end;
    uint64_t size;        /* file size */
    uint64_t records;     /* valid records before end_off */
    uint64_t first_lsn;   /* from the file name */
    uint64_t last_lsn;    /* of the last valid record (first_lsn - 1: none) */
    uint64_t min_term, max_term; /* of the valid records (0, 0: none) */
    uint64_t last_term;   /* term of the last valid record (or the one given) */
    uint64_t end_off;     /* where the valid records end: the damage, if any */
    uint64_t bad_bytes;   /* TORN: bytes from end_off to the last non-zero byte */
    uint64_t next_off;    /* CORRUPT: offset of the next valid record */
    uint64_t found_lsn;   /* CORRUPT, WRONG_LSN, TERM_BACK: that record's LSN */
    uint64_t found_term;  /* ... and its term */
    const char *why;      /* TORN, CORRUPT: what is wrong with the record at
                             end_off ("bad CRC", "record cut short", ...) */
} wal_seg_scan;

/* Called for each valid record in order, with its offset in the file.
 * Return 0 to go on; anything else stops the walk and is returned. */
typedef int (*wal_scan_fn)(void *arg, const wal_record *rec, uint64_t off);

/* Walk the segment at path, which should start at first_lsn and whose
 * records must have terms >= prev_term. Returns 0 with *out filled (see
 * out->end), KVE_IO with a message when the file cannot be read, or what fn
 * returned (out then describes the records before the one that stopped). */
int wal_scan_segment(const char *path, uint64_t first_lsn, uint64_t prev_term, wal_scan_fn fn,
                     void *arg, wal_seg_scan *out, char *err, size_t errlen);
/* The same walk, showing each record to peek (when not NULL) about
 * WAL_PEEK_AHEAD records before fn sees it (see wal_peek_hook). */
int wal_scan_segment_peek(const char *path, uint64_t first_lsn, uint64_t prev_term,
                          wal_scan_fn fn, void *arg, const wal_peek_hook *peek,
                          wal_seg_scan *out, char *err, size_t errlen);

/* A short description of how a scan ended ("torn tail", ...). */
const char *wal_seg_end_name(wal_seg_end end);

/* Create a segment file with its header (space for `prealloc` bytes
 * reserved when not 0), synced, directory synced. */
int wal_create_segment(const char *dir, uint64_t first_lsn, uint64_t prealloc, char *err,
                       size_t errlen);

/* ------------------------------------------------------------------------ */
/* Writer (wal_writer.c)                                                     */
/* ------------------------------------------------------------------------ */

/* Enter the failed state (sticky; the first error's message is kept). */
void wal_set_error(wal *w, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Invariants of the hand-off (see kick()). Debug and sanitizer builds
 * (KV_ASSERTS) abort where one breaks, with a core to look at; release
 * builds make the WAL fail-stop instead: nothing after the breach is ever
 * reported durable, and recovery on restart reads what the disk has. */
#ifdef KV_ASSERTS
#define WAL_INVARIANT(w, cond, ...)                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            log_write(LOG_WARNING, "WAL invariant violated: " __VA_ARGS__);    \
            abort();                                                           \
        }                                                                      \
    } while (0)
#else
#define WAL_INVARIANT(w, cond, ...)                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            wal_set_error((w), KVE_FAILED, "internal error: " __VA_ARGS__);    \
    } while (0)
#endif

/* Free w once it is closed, its handles are closed and no thread-pool job
 * refers to it. */
void wal_maybe_free(wal *w);

static inline uint64_t wal_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t wal_now_ms(void)
{
    return wal_now_us() / 1000;
}

/* ------------------------------------------------------------------------ */
/* Segment list and term history (wal_maint.c), loop thread                  */
/* ------------------------------------------------------------------------ */

void wal_segs_push(wal *w, uint64_t first_lsn);
/* Room for records after offset `off` of the open segment (w->fd): with
 * preallocation what the file really has reserved (a segment found on disk
 * may be a smaller spare, or not preallocated at all), else up to the
 * segment size. */
uint64_t wal_room_after(wal *w, uint64_t off);
void wal_hist_push(wal *w, uint64_t term, uint64_t lsn);
/* A record of `term` at `lsn` was logged: extend the term history. */
void wal_hist_note(wal *w, uint64_t term, uint64_t lsn);
void wal_hist_prepend(wal *w, uint64_t term, uint64_t lsn);

#endif
