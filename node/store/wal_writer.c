/* wal_writer.c — appending and group commit: the loop thread frames
 * records into a batch, the WAL thread writes and syncs batches, spare
 * segments are prepared on the thread pool, and shutdown hands over what is
 * left (see wal.h for the contract).
 *
 * Group commit. The loop thread appends framed records into `fill`. At the
 * end of every loop iteration (uv_prepare and uv_check) `fill` is handed to
 * the WAL thread, which writes the batch (switching segments at the points
 * the loop chose), fdatasyncs per policy, publishes written/synced LSNs and
 * wakes the loop. One batch is in flight while the next fills; the exact
 * hand-off is the state machine drawn above kick().
 *
 * Segment switches are decided on the loop thread, which tracks how much
 * room the current segment has left. With preallocation, a new segment is
 * a spare file filled with zeros on libuv's thread pool, so ordinary
 * appends never extend a file or convert unwritten extents — each
 * fdatasync commits data only — and cannot hit ENOSPC; when no spare can be
 * made because the disk is full, wal_can_accept refuses writes once the
 * current segment is nearly full, before any of them run. The segment
 * created at startup is only fallocated (instant) and is left for the
 * first spare.
 */
#include "wal_int.h"

#include "err.h"
#include "fsio.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Batches and errors                                                       */
/* ------------------------------------------------------------------------ */

static void wbuf_reserve(wbuf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + extra)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "kvnode: out of memory growing the WAL batch to %zu bytes\n", cap);
        kv_abort();
    }
    b->p = p;
    b->cap = cap;
}

void wal_set_error(wal *w, int code, const char *fmt, ...)
{
    if (atomic_load(&w->err))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->errmsg, sizeof w->errmsg, fmt, ap);
    va_end(ap);
    atomic_store(&w->err, code);
    log_warn("WAL failed, refusing all further writes: %s", w->errmsg);
}

static int io_code(int e)
{
    return e == ENOSPC || e == -ENOSPC ? KVE_NOSPC : KVE_IO;
}

/* ------------------------------------------------------------------------ */
/* The WAL thread                                                           */
/* ------------------------------------------------------------------------ */

const uint64_t wal_sync_bucket_us[WAL_SYNC_BUCKETS - 1] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000};

/* The fdatasync latency histogram: counted lock-free (wal_stats). */
static void note_sync_us(wal *w, uint64_t us)
{
    int i = 0;
    while (i < WAL_SYNC_BUCKETS - 1 && us > wal_sync_bucket_us[i])
        i++;
    atomic_store(&w->last_sync_us, us);
    atomic_fetch_add_explicit(&w->sync_hist[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->sync_us_total, us, memory_order_relaxed);
}

static int thread_sync(wal *w)
{
    uint64_t t0 = wal_now_us();
    atomic_store(&w->last_sync_ms, t0 / 1000);
    if (kvfs->fdatasync(w->fd) < 0) {
        int e = errno;
        wal_set_error(w, io_code(e), "fdatasync WAL segment: %s", strerror(e));
        return -1;
    }
    note_sync_us(w, wal_now_us() - t0);
    atomic_fetch_add(&w->syncs, 1);
    return 0;
}

/* Without a sync per batch (everysec, no), the segment's pages would
 * wait for the kernel's writeback, and the fdatasync of a segment switch
 * (or everysec's) would then push up to a whole segment while the batches
 * behind it wait: start the writeback of each WAL_WRITEBACK_STEP written,
 * as Redis's incremental fsync does for its rewrites. Only a hint
 * (SYNC_FILE_RANGE_WRITE does not wait for the disk; errors surface in the
 * sync, which makes it durable). */
static void writeback_early(wal *w)
{
    if (w->off < w->wb_from)
        w->wb_from = 0; /* a new segment */
    if (w->off < w->wb_from + WAL_WRITEBACK_STEP || atomic_load(&w->policy) == WAL_FSYNC_ALWAYS)
        return;
    (void)sync_file_range(w->fd, (off_t)w->wb_from, (off_t)(w->off - w->wb_from),
                          SYNC_FILE_RANGE_WRITE);
    w->wb_from = w->off;
}

static int thread_write(wal *w, const uint8_t *p, size_t n)
{
    if (!n)
        return 0;
    int rc = kvfs_pwrite_all(w->fd, p, n, (off_t)w->off);
    if (rc < 0) {
        wal_set_error(w, io_code(rc), "write WAL segment at offset %" PRIu64 ": %s", w->off,
                  strerror(-rc));
        return -1;
    }
    w->off += n;
    writeback_early(w);
    return 0;
}

static int thread_switch(wal *w, const seg_switch *s)
{
    char path[PATH_MAX];
    wal_seg_path(path, sizeof path, w->dir, s->first_lsn);
    if (thread_sync(w) < 0)
        return -1;
    kvfs->close(w->fd);
    w->fd = -1;
    if (s->spare_id >= 0) {
        char spare[PATH_MAX];
        wal_spare_path(spare, sizeof spare, w->dir, s->spare_id);
        if (kvfs->rename(spare, path) < 0) {
            int e = errno;
            wal_set_error(w, io_code(e), "rename %s to %s: %s", spare, path, strerror(e));
            return -1;
        }
        w->fd = kvfs->open(path, O_WRONLY, 0);
    } else {
        w->fd = kvfs->open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    }
    if (w->fd < 0) {
        int e = errno;
        wal_set_error(w, io_code(e), "open %s: %s", path, strerror(e));
        return -1;
    }
    int rc = kvfs_fsync_dir(w->dir);
    if (rc < 0) {
        wal_set_error(w, io_code(rc), "fsync directory %s: %s", w->dir, strerror(-rc));
        return -1;
    }
    uint8_t h[WAL_SEG_HDR];
    wal_encode_seg_header(h, s->first_lsn);
    w->off = 0;
    return thread_write(w, h, sizeof h);
}

/* Write a batch's records, switching segments where the loop decided, and
 * publish its last LSN as written. Runs in whoever holds the writer role:
 * the WAL thread (BUSY/QUEUED) or the loop on the fast path (IDLE, mu). */
static int write_batch(wal *w, const batch *b)
{
    uint64_t written = atomic_load(&w->written_lsn);
    WAL_INVARIANT(w, b->first_lsn == written + 1 && b->last_lsn >= b->first_lsn &&
                         b->last_lsn - b->first_lsn + 1 == b->records,
                  "batch LSNs %" PRIu64 "..%" PRIu64 " (%" PRIu64
                  " records) do not follow written LSN %" PRIu64,
                  b->first_lsn, b->last_lsn, b->records, written);
    if (atomic_load(&w->err))
        return -1;
    size_t pos = 0;
    for (size_t i = 0; i < b->nsw; i++) {
        if (thread_write(w, b->buf.p + pos, b->sw[i].off - pos) < 0)
            return -1;
        if (thread_switch(w, &b->sw[i]) < 0)
            return -1;
        pos = b->sw[i].off;
    }
    if (thread_write(w, b->buf.p + pos, b->buf.len - pos) < 0)
        return -1;
    atomic_store(&w->written_lsn, b->last_lsn);
    atomic_fetch_add(&w->batches, 1);
    return 0;
}

/* Is an fdatasync owed after batch b? */
static int sync_due(wal *w, const batch *b)
{
    int policy = atomic_load(&w->policy);
    return policy == WAL_FSYNC_ALWAYS || b->sync ||
           (policy == WAL_FSYNC_EVERYSEC && wal_now_ms() >= atomic_load(&w->last_sync_ms) + 1000);
}

/* The WAL thread's job for one batch: write all of it, then sync if owed.
 * Returns 1 when the loop has news: written or synced moved, or the WAL
 * failed. */
static int thread_process(wal *w, batch *b)
{
    if (atomic_load(&w->err))
        return 0;
    uint64_t written0 = atomic_load(&w->written_lsn), synced0 = atomic_load(&w->synced_lsn);
    if (b->records && write_batch(w, b) < 0)
        return 1;
    uint64_t written = atomic_load(&w->written_lsn);
    if (sync_due(w, b) && atomic_load(&w->synced_lsn) < written) {
        if (thread_sync(w) < 0)
            return 1;
        /* Only the writer moves written, and that is us: the sync covered
         * everything up to `written`. */
        atomic_store(&w->synced_lsn, written);
    }
    return written != written0 || atomic_load(&w->synced_lsn) != synced0;
}

/* Wake the loop (on_notify runs there): one eventfd write until the loop
 * has read it, however many batches finish meanwhile. What the loop must
 * see is published before the flag is taken; the loop clears the flag
 * before it reads what was published, so nothing is missed. Any thread. */
static void notify_loop(wal *w)
{
    if (atomic_exchange(&w->notify_pending, 1))
        return;
    uint64_t one = 1;
    while (write(w->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

static void add_switch(batch *b, size_t off, uint64_t lsn, int spare_id);
static int no_room(const wal *w, uint64_t size, int keep_reserve);

static void batch_reset(batch *b)
{
    b->buf.len = 0;
    b->nsw = 0;
    b->records = 0;
    b->first_lsn = 0;
    b->sync = 0;
}

static void note_batch_size(wal *w, uint64_t records)
{
    if (records > atomic_load(&w->max_batch_records))
        atomic_store(&w->max_batch_records, records);
}

/* Sleep until the loop posts `wake` (or until the deadline, when there is
 * one): called with mu held, returns with it held, 0 or ETIMEDOUT. The loop
 * posts only when thread_wait says the thread sleeps and its change ends
 * that sleep, and then marks it running, so a sleep gets one post at most;
 * one that comes after a timeout only makes the next sleep return at once
 * to a caller that checks its condition again. A semaphore rather than
 * the condition variable: glibc makes a thread woken from a condition
 * wait take the mutex as contended, which costs a futex wake at every
 * unlock after it. */
static int thread_sleep(wal *w, int why, const struct timespec *deadline)
{
    w->thread_wait = why;
    pthread_mutex_unlock(&w->mu);
    int rc = 0;
    for (;;) {
        if ((deadline ? sem_timedwait(&w->wake, deadline) : sem_wait(&w->wake)) == 0)
            break;
        if (errno != EINTR) {
            rc = errno;
            break;
        }
    }
    pthread_mutex_lock(&w->mu);
    w->thread_wait = THREAD_RUNNING;
    return rc;
}

/* Does the commit delay end? (mu held) */
static int delay_over(const wal *w)
{
    return w->stop || (w->ready_full && (w->ready.records >= w->delay_target || w->ready.sync));
}

/* Group commit with many writers: the clients whose replies this sync
 * released answer within a round trip; waiting that long before the next
 * sync lets their requests join it instead of forming a second, smaller
 * batch (PostgreSQL's commit_delay; Redis gets the same effect by syncing
 * synchronously). Only when the last batch had several writers and fewer
 * have arrived since; bounded by half a sync. The loop wakes the thread
 * only once the queued batch is as big as the last one (kick), not for
 * every record it adds. Called with mu held, after the loop was told of
 * the sync. Skipped while the loop delays instead (loop_delay), which
 * costs fewer wake-ups. */
static void commit_delay(wal *w)
{
    uint64_t done = w->flight.records;
    if (done < 2 || w->stop || atomic_load(&w->policy) != WAL_FSYNC_ALWAYS || atomic_load(&w->loop_delays))
        return;
    w->delay_target = done;
    if (delay_over(w))
        return;
    uint64_t us = atomic_load(&w->last_sync_us) / 2;
    if (us > 500)
        us = 500;
    if (us < 20)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)us * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!delay_over(w)) {
        if (thread_sleep(w, THREAD_WAIT_DELAY, &ts) != 0)
            break;
    }
}

static void *wal_thread(void *arg)
{
    wal *w = arg;
    /* Named for top -H, perf and the benchmark's fdatasync trace. */
    pthread_setname_np(pthread_self(), "kvnode-wal");
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->flight_full && !w->stop)
            thread_sleep(w, THREAD_WAIT_WORK, NULL);
        if (!w->flight_full && w->stop)
            break;
        pthread_mutex_unlock(&w->mu);
        atomic_store(&w->syncing, 1);
        /* One wake-up of the loop per batch, as soon as its replies can
         * go: the hand-over below needs none (the loop hands fill over at
         * the end of every pass whatever state it finds). */
        int news = thread_process(w, &w->flight);
        atomic_store(&w->done_records, w->flight.records);
        atomic_store(&w->syncing, 0);
        if (news)
            notify_loop(w);
        pthread_mutex_lock(&w->mu);
        commit_delay(w);
        if (w->ready_full) {
            /* What arrived during that sync goes next, without waiting
             * for the loop to come round. */
            batch tmp = w->flight;
            w->flight = w->ready;
            w->ready = tmp;
            batch_reset(&w->ready);
            w->ready_full = 0;
            note_batch_size(w, w->flight.records);
        } else {
            w->flight_full = 0;
        }
        pthread_cond_broadcast(&w->cv); /* wait_idle */
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Spare segments (thread pool)                                             */
/* ------------------------------------------------------------------------ */

/* Spare sizes: the segment size when the disk has room for it, else a
 * quarter of it, and so on down to WAL_SPARE_MIN, always leaving
 * WAL_FREE_MARGIN free for the small files (meta, snapshot temp, logs) a
 * node must still be able to write. A segment started in a smaller spare
 * simply holds fewer records. */
#define WAL_SPARE_MIN (256u * 1024u)
#define WAL_FREE_MARGIN (1024u * 1024u)

static uint64_t spare_min(const wal *w)
{
    return w->seg_size < WAL_SPARE_MIN ? w->seg_size : WAL_SPARE_MIN;
}

/* The largest spare size to try given `avail` free bytes (0: none fits). */
static uint64_t spare_fit(const wal *w, uint64_t size, uint64_t avail)
{
    uint64_t min = spare_min(w);
    for (;;) {
        if (size + WAL_FREE_MARGIN <= avail)
            return size;
        if (size <= min)
            return 0;
        size = size / 4 > min ? size / 4 : min;
    }
}

/* A spare is zero-filled in steps of this size, each pushed to the disk
 * before the next is written. */
#define SPARE_CHUNK (1u << 20)

/* Zero-fill fd up to `size` bytes, SPARE_CHUNK at a time, each step
 * written back before the next. Written in one go, a 64 MiB spare leaves
 * that much dirty data in front of every WAL fdatasync issued while it
 * drains (the device cache flush of a commit waits for all of it): a
 * commit stall of tens of milliseconds once per segment. In steps, a
 * commit waits for at most one. The step's fdatasync goes straight to the
 * kernel: it paces writeback and is no durability point (the fsync after
 * the whole fill, through kvfs, is), so it stays out of the fault table. */
static int spare_fill(int fd, uint64_t size)
{
    for (uint64_t done = 0; done < size;) {
        uint64_t to = size - done > SPARE_CHUNK ? done + SPARE_CHUNK : size;
        int rc = kvfs_zero_fill(fd, (off_t)to);
        if (rc)
            return rc;
        (void)fdatasync(fd); /* errors surface in the fsync that follows */
        done = to;
    }
    return 0;
}

/* The switch that took the last spare first: its fdatasync and directory
 * fsync, which the batches after it wait for, would otherwise queue behind
 * the new spare's zeros. At most SPARE_WAIT_MS (a switch held up by a
 * slow disk must not hold the next spare back for long). */
#define SPARE_WAIT_MS 100

static void spare_wait_switch(wal *w, uint64_t lsn)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += SPARE_WAIT_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (atomic_load(&w->written_lsn) < lsn && !atomic_load(&w->err) && !w->stop)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&w->mu);
}

static void spare_work(uv_work_t *req)
{
    wal *w = req->data;
    if (w->spare_after_lsn)
        spare_wait_switch(w, w->spare_after_lsn);
    char path[PATH_MAX];
    wal_spare_path(path, sizeof path, w->dir, w->next_spare_id);
    uint64_t avail = 0, size = w->seg_size;
    if (kvfs_disk_space(w->dir, &avail, NULL) == 0)
        size = spare_fit(w, size, avail);
    w->spare_work_size = size;
    if (!size) {
        /* Not even the smallest spare fits: nothing is written. */
        w->spare_work_rc = -ENOSPC;
        return;
    }
    int fd = kvfs->open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        w->spare_work_rc = -errno;
        return;
    }
    int rc;
    for (;;) {
        rc = spare_fill(fd, size);
        if (!rc && kvfs->fsync(fd) < 0)
            rc = -errno;
        /* The free-space figure can be stale or optimistic (another
         * process, reserved blocks): try smaller before giving up. */
        if (rc != -ENOSPC || size <= spare_min(w) || kvfs->ftruncate(fd, 0) < 0)
            break;
        size = size / 4 > spare_min(w) ? size / 4 : spare_min(w);
        w->spare_work_size = size;
    }
    kvfs->close(fd);
    if (!rc)
        rc = kvfs_fsync_dir(w->dir);
    if (rc)
        kvfs->unlink(path);
    w->spare_work_rc = rc;
}

static void spare_start(wal *w);

static void spare_done(uv_work_t *req, int status)
{
    wal *w = req->data;
    int rc = status < 0 ? -ECANCELED : w->spare_work_rc;
    if (w->closing) {
        if (!rc) {
            char path[PATH_MAX];
            wal_spare_path(path, sizeof path, w->dir, w->next_spare_id);
            kvfs->unlink(path);
        }
        w->spare_state = SPARE_NONE;
        wal_maybe_free(w);
        return;
    }
    uint64_t avail = 0;
    kvfs_disk_space(w->dir, &avail, NULL);
    if (rc) {
        w->spare_state = SPARE_FAILED;
        w->spare_errno = -rc;
        w->spare_retry_at = uv_now(w->loop) + 1000;
        snprintf(w->nospace, sizeof w->nospace, "%s", strerror(-rc));
        if (!w->nospace_mode) {
            /* Said once per episode; the retries every second are silent. */
            w->nospace_mode = 1;
            w->nospace_since_ms = wal_now_ms();
            w->refusing_logged = 0;
            log_warn("WAL: cannot prepare a new segment (%s; %" PRIu64
                     " bytes free in %s, the smallest segment needs %" PRIu64
                     " plus %u kept free): appends go on in the current segment (%" PRIu64
                     " bytes left) and writes are refused with -MISCONF once it is full; "
                     "checking for space every second",
                     strerror(-rc), avail, w->dir, (uint64_t)spare_min(w), WAL_FREE_MARGIN,
                     w->seg_room);
        }
        return;
    }
    if (w->nospace_mode)
        log_notice("WAL: disk space available again after %.1f s (%" PRIu64
                   " bytes free): a %" PRIu64 "-byte segment is ready; writes are accepted",
                   (double)(wal_now_ms() - w->nospace_since_ms) / 1000.0, avail,
                   w->spare_work_size);
    w->nospace_mode = 0;
    w->refusing_logged = 0;
    w->nospace[0] = '\0';
    w->spare_id = w->next_spare_id++;
    w->spare_size = w->spare_work_size;
    w->spare_state = SPARE_READY;
}

static void spare_start(wal *w)
{
    if (!w->prealloc || w->closing || atomic_load(&w->err) || w->spare_state == SPARE_PREPARING ||
        w->spare_state == SPARE_READY)
        return;
    w->spare_state = SPARE_PREPARING;
    w->spare_work.data = w;
    if (uv_queue_work(w->loop, &w->spare_work, spare_work, spare_done) != 0) {
        w->spare_state = SPARE_FAILED;
        w->spare_retry_at = uv_now(w->loop) + 1000;
    }
}

/* ------------------------------------------------------------------------ */
/* Loop side                                                                */
/* ------------------------------------------------------------------------ */

/* Inline syncs. With appendfsync always on a node without peers (the
 * replication layer turns wal_set_gather on), every reply waits for the
 * next sync and nothing else: handing the batch to the WAL thread then
 * buys no overlap the clients could use, and costs a wake-up of the
 * thread and one of the loop per batch, which on a small machine also
 * splits batches (the thread starts a sync before the loop has read the
 * requests the last replies brought). So while syncs are fast, the fast
 * path below also syncs, on the loop, as Redis does: the loop reads what
 * arrived during the sync in one pass and that is the next batch. The
 * loop blocks on the disk for at most about inline_sync_max_us as long
 * as the disk behaves as it just did; one sync slower than that sends
 * the following batches to the thread (gather_wait and loop_delay then
 * apply), until a sync there is fast again. A sync that never returns
 * holds the loop of a lone node, as it holds Redis's; with peers the loop
 * never syncs. */
static int sync_inline(const wal *w)
{
    uint64_t last = atomic_load(&w->last_sync_us);
    return !w->no_gather && w->inline_sync_max_us && last <= w->inline_sync_max_us &&
           !w->closing;
}

/* The hand-off between the loop and the WAL thread.
 *
 *   fill    loop thread only: appends go here
 *   flight  the batch the thread is writing and syncing   (mu, flight_full)
 *   ready   the batch queued behind flight                 (mu, ready_full)
 *
 * States, every transition with mu held:
 *
 *            kick: fill -> flight              kick: fill -> ready
 *    IDLE -----------------------> BUSY ---------------------------> QUEUED
 *     ^ |                          |  ^                               |   ^
 *     | | kick, fast path:         |  |   thread done: ready -> flight|   | kick: fill
 *     | | the loop writes fill     |  +-------------------------------+   | joins ready
 *     | +--> IDLE                  |                                   +---+
 *     +----------------------------+ thread done
 *
 *   IDLE    flight and ready empty. The thread sleeps; the file position
 *           (fd, off) belongs to whoever holds mu.
 *   BUSY    flight full, ready empty. The thread owns fd/off.
 *   QUEUED  flight full, ready full.
 *   failed  (err set; sticky) from any state: batches are dropped unwritten
 *           and written/synced never move again.
 *
 * What keeps the log whole:
 *   - LSNs are contiguous along the chain: flight starts at written + 1,
 *     ready at flight's last + 1, fill at the last LSN handed over + 1.
 *     write_batch checks it before every write.
 *   - A batch's bytes are always written, whole, switches included; a sync
 *     request (everysec tick, flush-wait) only adds an fdatasync after them.
 *     Joining fill to ready concatenates the bytes and ORs the flags.
 *   - written_lsn moves only in the writer, to a batch's last LSN;
 *     synced_lsn only to a written_lsn value, after an fdatasync begun
 *     after that write. Neither ever decreases; synced <= written <= last.
 *   - The fast path (policy everysec/no, IDLE, no segment switch and no sync
 *     owed) writes fill from the loop thread, saving the thread round trip
 *     as Redis's write-then-fsync-later does; everything else goes through
 *     the thread, so a segment switch is never done by two parties. What
 *     the fast path wrote is reported in the same loop pass
 *     (kick_and_report), with no wake-up.
 *
 * Wake-ups, the costly part of a hand-off on a busy machine: the thread
 * tells the loop once per batch, when its bytes are written (and synced if
 * owed), through an eventfd written at most once per loop pass
 * (notify_loop); the transitions themselves need no wake-up of the loop,
 * which hands fill over at the end of every pass whatever state it finds.
 * The loop signals the thread only when it sleeps and the change ends that
 * sleep (thread_wait): IDLE -> BUSY, or the queued batch reaching the size
 * the commit delay waits for.
 */
static void kick(wal *w)
{
    if (!w->started || atomic_load(&w->err))
        return;
    if (!w->fill.records && !w->fill.sync)
        return;
    pthread_mutex_lock(&w->mu);
    int always = atomic_load(&w->policy) == WAL_FSYNC_ALWAYS;
    if (!w->flight_full && (!always || sync_inline(w)) && !w->fill.nsw && !w->fill.sync) {
        /* IDLE -> IDLE: the thread is idle, so its file position is ours
         * for this call (mu held). */
        if (write_batch(w, &w->fill) == 0) {
            note_batch_size(w, w->fill.records);
            if (always && thread_sync(w) == 0) {
                atomic_store(&w->synced_lsn, atomic_load(&w->written_lsn));
                atomic_fetch_add_explicit(&w->inline_syncs, 1, memory_order_relaxed);
            }
        }
        batch_reset(&w->fill);
        pthread_mutex_unlock(&w->mu);
        w->progress_due = 1; /* reported by the caller (kick_and_report) */
        return;
    }
    if (!w->flight_full) {
        /* IDLE -> BUSY */
        batch tmp = w->flight;
        w->flight = w->fill;
        w->fill = tmp;
        batch_reset(&w->fill);
        note_batch_size(w, w->flight.records);
        w->flight_full = 1;
        atomic_store(&w->syncing, 1);
    } else if (!w->ready_full) {
        /* BUSY -> QUEUED: a sync is under way; this batch goes right after. */
        batch tmp = w->ready;
        w->ready = w->fill;
        w->fill = tmp;
        batch_reset(&w->fill);
        w->ready_full = 1;
    } else {
        /* QUEUED -> QUEUED: join the queued batch, one write and one sync
         * for both. */
        batch *r = &w->ready;
        size_t base = r->buf.len;
        if (w->fill.buf.len) {
            wbuf_reserve(&r->buf, w->fill.buf.len);
            memcpy(r->buf.p + base, w->fill.buf.p, w->fill.buf.len);
            r->buf.len += w->fill.buf.len;
        }
        for (size_t i = 0; i < w->fill.nsw; i++)
            add_switch(r, base + w->fill.sw[i].off, w->fill.sw[i].first_lsn,
                       w->fill.sw[i].spare_id);
        if (w->fill.records) {
            if (!r->records)
                r->first_lsn = w->fill.first_lsn;
            r->last_lsn = w->fill.last_lsn;
            r->records += w->fill.records;
        }
        r->sync |= w->fill.sync;
        batch_reset(&w->fill);
    }
    /* Wake the thread only if this can end its sleep, and after letting
     * go of mu, so that it does not wake only to block on it. */
    int wake = (w->thread_wait == THREAD_WAIT_WORK && w->flight_full) ||
               (w->thread_wait == THREAD_WAIT_DELAY && delay_over(w));
    if (wake)
        w->thread_wait = THREAD_RUNNING; /* one post per sleep */
    pthread_mutex_unlock(&w->mu);
    if (wake)
        sem_post(&w->wake);
}

void wal_request_sync(wal *w)
{
    if (!w->started || atomic_load(&w->err))
        return;
    w->fill.sync = 1;
    kick(w);
}

/* The loop's view of the published LSNs must keep the ordering that the
 * writer guarantees. synced is read first: both only grow and the writer
 * may publish a write and its sync between the two loads, so reading
 * written first could see a newer synced than the written it read (a fault
 * run caught exactly that: synced 33272, written 33268, last 33272). */
static void check_published(wal *w)
{
    uint64_t synced = atomic_load(&w->synced_lsn);
    uint64_t written = atomic_load(&w->written_lsn);
    WAL_INVARIANT(w, synced <= written && written <= w->last_lsn,
                  "synced LSN %" PRIu64 ", written LSN %" PRIu64 ", last LSN %" PRIu64
                  " out of order",
                  synced, written, w->last_lsn);
}

static void report(wal *w)
{
    w->progress_due = 0;
    check_published(w);
    if (w->on_progress)
        w->on_progress(w->progress_arg);
}

/* The end of a loop pass: hand fill over, and when the fast path wrote it
 * release what it made durable now, in this pass, rather than through a
 * wake-up of the next one. Releasing replies can log more (a client
 * unblocked by them writes): that is handed over too, for a few rounds;
 * anything still left then wakes the loop through the eventfd. */
static void kick_and_report(wal *w)
{
    for (int round = 0; round < 4; round++) {
        kick(w);
        if (!w->progress_due)
            return;
        report(w);
    }
    if (w->fill.records || w->progress_due)
        notify_loop(w);
}

static void on_prepare(uv_prepare_t *h)
{
    wal *w = h->data;
    if (w->hold_fill)
        return;
    kick_and_report(w);
}

/* The gather wait. With appendfsync always, what the loop reads while a
 * sync is under way cannot be answered before that sync and the next one
 * are done; reading it as it trickles in only wakes the loop once per
 * client (a context switch each, the largest cost of a durable write on a
 * small machine). So at the end of a pass, while the thread syncs, the
 * loop waits for the thread's news on the eventfd alone, and the requests
 * that arrive meanwhile are read in one pass afterwards, as one batch:
 * what Redis gets by calling fdatasync on its loop, without tying the
 * loop to the disk. The wait is bounded by GATHER_WAIT_MAX_US whatever
 * the disk does (a stalled sync costs the loop's other work that much
 * latency per pass, never more), and there is none during the thread's
 * commit delay, which waits for the loop's reads. */
#define GATHER_WAIT_MAX_US 1000

void wal_set_gather(wal *w, int on)
{
    w->no_gather = !on;
}

static void gather_wait(wal *w)
{
    if (!w->started || w->closing || w->no_gather || atomic_load(&w->policy) != WAL_FSYNC_ALWAYS ||
        !atomic_load(&w->syncing) || atomic_load(&w->notify_pending) || atomic_load(&w->err))
        return;
    uint64_t us = 2 * atomic_load(&w->last_sync_us);
    if (us > GATHER_WAIT_MAX_US || us == 0)
        us = GATHER_WAIT_MAX_US;
    struct pollfd p = {.fd = w->efd, .events = POLLIN};
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)us * 1000};
    (void)ppoll(&p, 1, &ts, NULL); /* woken early by the thread's news */
    atomic_fetch_add_explicit(&w->gather_waits, 1, memory_order_relaxed);
}

static void on_idle(uv_idle_t *h)
{
    (void)h;
}

/* The commit delay, on the loop's side, while the loop gathers. A pass
 * that released the replies of several writers ends, before handing its
 * reads to the thread, with a short sleep (half the last sync, at most
 * 500 us), during which those clients' next requests arrive; the next
 * pass, which does not block in epoll (an idle handle), reads them all
 * and hands everything to the thread as one batch. The thread, which
 * otherwise waits for the loop's trickle itself (commit_delay), then syncs
 * at once. One wake-up of each thread per batch instead of one of the loop
 * per client. Returns 1 when fill is held for the next pass. */
static int loop_delay(wal *w)
{
    int on = !w->no_gather && atomic_load(&w->policy) == WAL_FSYNC_ALWAYS;
    atomic_store(&w->loop_delays, on);
    uint64_t released = w->just_released;
    w->just_released = 0;
    if (w->hold_fill) {
        w->hold_fill = 0;
        uv_idle_stop(&w->idle);
        return 0;
    }
    if (!on || released < 2 || !w->started || w->closing || atomic_load(&w->syncing) ||
        atomic_load(&w->err))
        return 0;
    uint64_t us = atomic_load(&w->last_sync_us) / 2;
    if (us > 500)
        us = 500;
    if (us < 20)
        return 0;
    w->hold_fill = 1;
    uv_idle_start(&w->idle, on_idle);
    struct pollfd p = {.fd = w->efd, .events = POLLIN};
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)us * 1000};
    (void)ppoll(&p, 1, &ts, NULL);
    atomic_fetch_add_explicit(&w->loop_delays_done, 1, memory_order_relaxed);
    return 1;
}

static void on_check(uv_check_t *h)
{
    wal *w = h->data;
    if (loop_delay(w))
        return;
    kick_and_report(w);
    gather_wait(w);
}

/* The WAL thread finished a batch (or the loop asked itself to come back). */
static void on_notify(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    wal *w = h->data;
    uint64_t v;
    /* Drain, then clear the flag, then read what was published (see
     * notify_loop). */
    while (read(w->efd, &v, sizeof v) < 0 && errno == EINTR)
        ;
    atomic_store(&w->notify_pending, 0);
    w->just_released = atomic_load(&w->done_records);
    if (!w->closing && !w->hold_fill)
        kick(w);
    report(w);
}

/* The watchdog: replies wait while durable < last. If durable does not move
 * for stall_warn_ms, say so once (with the LSNs that wait and what the
 * writer is doing), and again when it moves. */
static void watch_stall(wal *w)
{
    uint64_t durable = wal_durable_lsn(w);
    uint64_t now = wal_now_ms();
    if (atomic_load(&w->err) || durable >= w->last_lsn) {
        if (w->stall_warned)
            log_notice("WAL: durable LSN moving again after %" PRIu64 " ms stalled",
                       now - w->stall_since_ms);
        w->stall_since_ms = 0;
        w->stall_warned = 0;
        return;
    }
    if (!w->stall_since_ms || durable != w->stall_lsn) {
        if (w->stall_warned)
            log_notice("WAL: durable LSN moving again after %" PRIu64 " ms stalled",
                       now - w->stall_since_ms);
        w->stall_lsn = durable;
        w->stall_since_ms = now;
        w->stall_warned = 0;
        return;
    }
    if (!w->stall_warned && now - w->stall_since_ms >= w->stall_warn_ms) {
        pthread_mutex_lock(&w->mu);
        int flight = w->flight_full, ready = w->ready_full;
        pthread_mutex_unlock(&w->mu);
        log_warn("WAL stalled: durable LSN %" PRIu64 " has not moved for %" PRIu64
                 " ms; LSNs %" PRIu64 "..%" PRIu64 " wait (written %" PRIu64 ", synced %" PRIu64
                 ", batch in flight: %s, queued: %s, last fdatasync %" PRIu64
                 " us). Is the disk slow or hung?",
                 durable, now - w->stall_since_ms, durable + 1, w->last_lsn,
                 (uint64_t)atomic_load(&w->written_lsn), (uint64_t)atomic_load(&w->synced_lsn),
                 flight ? "yes" : "no", ready ? "yes" : "no",
                 (uint64_t)atomic_load(&w->last_sync_us));
        w->stall_warned = 1;
    }
}

uint64_t wal_stalled_ms(const wal *w)
{
    if (!w->stall_since_ms || wal_durable_lsn(w) >= w->last_lsn)
        return 0;
    return wal_now_ms() - w->stall_since_ms;
}

static void on_timer(uv_timer_t *h)
{
    wal *w = h->data;
    if (w->spare_state == SPARE_FAILED && uv_now(w->loop) >= w->spare_retry_at)
        spare_start(w);
    if (w->nospace_mode && !w->refusing_logged && no_room(w, wal_record_size(4096), 1)) {
        w->refusing_logged = 1;
        log_warn("WAL: the current segment is full and the disk has no room for another: "
                 "writes are refused (-MISCONF) until space is freed; reads go on");
    }
    if (atomic_load(&w->policy) == WAL_FSYNC_EVERYSEC && !atomic_load(&w->err) &&
        atomic_load(&w->synced_lsn) < w->last_lsn &&
        wal_now_ms() >= atomic_load(&w->last_sync_ms) + 1000)
        wal_request_sync(w);
    watch_stall(w);
}

int wal_start(wal *w, uv_loop_t *loop, void (*on_progress)(void *arg), void *arg)
{
    w->loop = loop;
    w->on_progress = on_progress;
    w->progress_arg = arg;
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0)
        return KVE_IO;
    if (uv_poll_init(loop, &w->notify, w->efd) != 0) {
        close(w->efd);
        w->efd = -1;
        return KVE_IO;
    }
    uv_prepare_init(loop, &w->prepare);
    uv_check_init(loop, &w->check);
    uv_idle_init(loop, &w->idle);
    uv_timer_init(loop, &w->timer);
    w->notify.data = w->prepare.data = w->check.data = w->timer.data = w->idle.data = w;
    uv_poll_start(&w->notify, UV_READABLE, on_notify);
    uv_prepare_start(&w->prepare, on_prepare);
    uv_check_start(&w->check, on_check);
    uv_timer_start(&w->timer, on_timer, 200, 200);
    uv_unref((uv_handle_t *)&w->timer);
    uv_unref((uv_handle_t *)&w->notify);
    w->handles_open = 5;
    if (pthread_create(&w->thread, NULL, wal_thread, w) != 0)
        return KVE_NOMEM;
    w->started = 1;
    spare_start(w);
    return 0;
}

uint8_t *wal_append_reserve(wal *w, size_t len)
{
    if (atomic_load(&w->err) || len > WAL_MAX_PAYLOAD)
        return NULL;
    size_t size = wal_record_size(len);
    wbuf_reserve(&w->fill.buf, size);
    w->reserve_off = w->fill.buf.len;
    w->reserve_len = len;
    return w->fill.buf.p + w->reserve_off + WAL_REC_HDR;
}

static void add_switch(batch *b, size_t off, uint64_t lsn, int spare_id)
{
    if (b->nsw == b->capsw) {
        b->capsw = b->capsw ? b->capsw * 2 : 4;
        b->sw = realloc(b->sw, b->capsw * sizeof *b->sw);
        if (!b->sw)
            kv_abort();
    }
    b->sw[b->nsw].off = off;
    b->sw[b->nsw].first_lsn = lsn;
    b->sw[b->nsw].spare_id = spare_id;
    b->nsw++;
}

/* The record of `size` bytes at fill offset `off` is framed: place it in
 * a segment and account for it. */
static uint64_t commit_record(wal *w, size_t off, size_t size, uint64_t lsn, uint64_t term)
{
    /* Does this record start a new segment? Only if the current one has
     * records and a new one can be had without touching free space. */
    int cur_has_records = w->nsegs && w->segs[w->nsegs - 1].bytes > 0;
    /* A segment that was not preallocated (the first one, or one created
     * while no spare was ready) grows with every write, and each fdatasync
     * then also commits its size: move to a spare as soon as there is one. */
    int leave = size > w->seg_room ||
                (w->prealloc && !w->cur_prealloc && w->spare_state == SPARE_READY);
    /* A full segment with no spare ready yet (the disk is busy with this
     * very load) ends too, in a fresh segment that is not preallocated and
     * is left for the spare once there is one: one segment must not grow
     * without bound, as compaction frees only whole segments. Not when out
     * of space: then the current segment's room is all there is. */
    int fresh = !w->prealloc ||
                (size > w->seg_room && w->spare_state == SPARE_PREPARING && !w->nospace_mode);
    if (leave && cur_has_records) {
        if (fresh && w->spare_state != SPARE_READY) {
            w->cur_prealloc = 0;
            add_switch(&w->fill, off, lsn, -1);
            wal_segs_push(w, lsn);
            w->seg_room = w->seg_size - WAL_SEG_HDR;
        } else if (w->spare_state == SPARE_READY) {
            w->cur_prealloc = 1;
            add_switch(&w->fill, off, lsn, w->spare_id);
            w->spare_state = SPARE_NONE;
            w->spare_id = -1;
            uint64_t made = w->spare_size;
            w->spare_after_lsn = lsn;
            spare_start(w); /* the next one, under a new name */
            wal_segs_push(w, lsn);
            w->seg_room = made > WAL_SEG_HDR ? made - WAL_SEG_HDR : 0;
        }
        /* else: out of space, or the spare failed; the record extends
         * the current segment. */
    }
    w->fill.buf.len = off + size;
    if (!w->fill.records)
        w->fill.first_lsn = lsn;
    w->fill.last_lsn = lsn;
    w->fill.records++;
    w->seg_room = size < w->seg_room ? w->seg_room - size : 0;
    w->segs[w->nsegs - 1].bytes += size;
    w->last_lsn = lsn;
    w->last_term = term;
    wal_hist_note(w, term, lsn);
    w->records_appended++;
    w->bytes_since_compact += size;
    if (w->tap)
        w->tap(w->tap_arg, w->fill.buf.p + off, size, lsn);
    return lsn;
}

uint64_t wal_append_finish(wal *w, uint64_t term, int type)
{
    size_t len = w->reserve_len;
    size_t size = wal_record_size(len);
    uint64_t lsn = w->last_lsn + 1;
    wal_frame_header(w->fill.buf.p + w->reserve_off, lsn, term, type, len);
    w->reserve_len = 0;
    return commit_record(w, w->reserve_off, size, lsn, term);
}

int wal_append_raw(wal *w, const uint8_t *rec, size_t len)
{
    if (atomic_load(&w->err))
        return KVE_FAILED;
    wal_record r;
    if (wal_decode_record(rec, len, &r) != (long)len)
        return KVE_CORRUPT;
    if (r.lsn != w->last_lsn + 1 || r.term < w->last_term)
        return KVE_INVAL;
    if (no_room(w, len, 1))
        return KVE_NOSPC;
    wbuf_reserve(&w->fill.buf, len);
    size_t off = w->fill.buf.len;
    memcpy(w->fill.buf.p + off, rec, len);
    commit_record(w, off, len, r.lsn, r.term);
    return 0;
}

void wal_set_tap(wal *w, void (*fn)(void *arg, const uint8_t *rec, size_t len, uint64_t lsn),
                 void *arg)
{
    w->tap = fn;
    w->tap_arg = arg;
}

uint64_t wal_written_lsn(const wal *w)
{
    return atomic_load(&w->written_lsn);
}

uint64_t wal_append(wal *w, uint64_t term, int type, const void *payload, size_t len)
{
    uint8_t *p = wal_append_reserve(w, len);
    if (!p)
        return 0;
    if (len)
        memcpy(p, payload, len);
    return wal_append_finish(w, term, type);
}

/* What admission keeps of the current segment, once no spare can be made,
 * for the records that must still be logged whatever the clients do
 * (expirations, an election's no-op, membership changes). */
static uint64_t nospace_reserve(const wal *w)
{
    uint64_t r = w->seg_size / 16;
    return r < 64 * 1024 ? r : 64 * 1024;
}

/* Out of space and no room for a record of `size` bytes (framed)? */
static int no_room(const wal *w, uint64_t size, int keep_reserve)
{
    if (!w->prealloc || w->spare_state == SPARE_READY || !w->nospace_mode)
        return 0;
    return w->seg_room < (keep_reserve ? nospace_reserve(w) : 0) + size;
}

int wal_can_accept(const wal *w, size_t bytes)
{
    if (atomic_load(&w->err))
        return KVE_FAILED;
    return no_room(w, wal_record_size(bytes), 1) ? KVE_NOSPC : 0;
}

const char *wal_nospace_reason(const wal *w)
{
    return w->nospace_mode ? w->nospace : "";
}

int wal_nospace(const wal *w)
{
    return w->prealloc && w->nospace_mode && w->spare_state != SPARE_READY;
}

void wal_set_fsync(wal *w, int policy)
{
    if (policy == WAL_FSYNC_ALWAYS && atomic_load(&w->policy) != WAL_FSYNC_ALWAYS)
        atomic_store(&w->durable_floor, atomic_load(&w->written_lsn));
    atomic_store(&w->policy, policy);
}

uint64_t wal_last_lsn(const wal *w)
{
    return w->last_lsn;
}

uint64_t wal_last_term(const wal *w)
{
    return w->last_term;
}

uint64_t wal_durable_lsn(const wal *w)
{
    if (atomic_load(&w->policy) != WAL_FSYNC_ALWAYS)
        return atomic_load(&w->written_lsn);
    uint64_t synced = atomic_load(&w->synced_lsn);
    uint64_t floor = atomic_load(&w->durable_floor);
    return synced > floor ? synced : floor;
}

uint64_t wal_synced_lsn(const wal *w)
{
    return atomic_load(&w->synced_lsn);
}

int wal_error(const wal *w, const char **msg)
{
    int e = atomic_load(&w->err);
    if (msg)
        *msg = e ? w->errmsg : "";
    return e;
}

void wal_get_stats(const wal *w, wal_stats *st)
{
    memset(st, 0, sizeof *st);
    st->segments = w->nsegs;
    for (size_t i = 0; i < w->nsegs; i++)
        st->bytes += w->segs[i].bytes;
    st->first_lsn = w->nsegs ? w->segs[0].first_lsn : w->last_lsn + 1;
    st->batches = atomic_load(&w->batches);
    st->records = w->records_appended;
    st->syncs = atomic_load(&w->syncs);
    st->last_sync_us = atomic_load(&w->last_sync_us);
    st->gather_waits = atomic_load(&w->gather_waits);
    st->loop_delays = atomic_load(&w->loop_delays_done);
    st->inline_syncs = atomic_load(&w->inline_syncs);
    for (int i = 0; i < WAL_SYNC_BUCKETS; i++)
        st->sync_hist[i] = atomic_load_explicit(&w->sync_hist[i], memory_order_relaxed);
    st->sync_us_total = atomic_load_explicit(&w->sync_us_total, memory_order_relaxed);
    st->max_batch_records = atomic_load(&w->max_batch_records);
    st->bytes_since_compact = w->bytes_since_compact;
    st->spare_ready = !w->prealloc || w->spare_state == SPARE_READY;
    st->nospace = wal_nospace(w);
    st->segment_room = w->seg_room;
    st->stalled_ms = wal_stalled_ms(w);
}

/* ------------------------------------------------------------------------ */
/* Shutdown                                                                 */
/* ------------------------------------------------------------------------ */

static void free_wal(wal *w)
{
    if (w->fd >= 0)
        kvfs->close(w->fd);
    if (w->efd >= 0)
        close(w->efd);
    free(w->fill.buf.p);
    free(w->flight.buf.p);
    free(w->ready.buf.p);
    free(w->fill.sw);
    free(w->flight.sw);
    free(w->ready.sw);
    kv_free(w->segs);
    kv_free(w->hist);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    sem_destroy(&w->wake);
    kv_free(w);
}

/* Free once the handles are closed and no thread-pool job refers to w. */
void wal_maybe_free(wal *w)
{
    if (w->closing && w->handles_open == 0 && w->spare_state != SPARE_PREPARING &&
        w->compacting == 0)
        free_wal(w);
}

static void on_handle_closed(uv_handle_t *h)
{
    wal *w = h->data;
    w->handles_open--;
    wal_maybe_free(w);
}

/* Wait until the thread has finished the batch in flight. */
static void wait_idle(wal *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->flight_full || w->ready_full)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

int wal_flush_wait(wal *w)
{
    if (!w->started)
        return atomic_load(&w->err);
    /* One round hands fill over with a sync owed; once the thread is idle
     * again everything appended is written and synced. A second round that
     * still finds work means the hand-off lost track of bytes. */
    for (int round = 0;; round++) {
        wait_idle(w);
        if (atomic_load(&w->err))
            break;
        uint64_t written = atomic_load(&w->written_lsn);
        uint64_t synced = atomic_load(&w->synced_lsn);
        if (!w->fill.records && written == w->last_lsn && synced == written)
            break;
        WAL_INVARIANT(w, round < 2,
                      "flush made no progress: last LSN %" PRIu64 ", written %" PRIu64
                      ", synced %" PRIu64,
                      w->last_lsn, written, synced);
        w->fill.sync = 1;
        kick(w);
    }
    return atomic_load(&w->err);
}

void wal_close(wal *w)
{
    if (!w)
        return;
    if (!w->started) {
        free_wal(w);
        return;
    }
    w->closing = 1;
    /* Hand over what is left and make it durable, synchronously: at
     * shutdown there is nothing else for the loop to do. */
    wal_flush_wait(w);
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_mutex_unlock(&w->mu);
    sem_post(&w->wake);
    pthread_join(w->thread, NULL);
    if (w->spare_state == SPARE_READY) {
        char path[PATH_MAX];
        wal_spare_path(path, sizeof path, w->dir, w->spare_id);
        kvfs->unlink(path);
        w->spare_state = SPARE_NONE;
    }
    uv_close((uv_handle_t *)&w->notify, on_handle_closed);
    uv_close((uv_handle_t *)&w->prepare, on_handle_closed);
    uv_close((uv_handle_t *)&w->check, on_handle_closed);
    uv_close((uv_handle_t *)&w->timer, on_handle_closed);
    uv_close((uv_handle_t *)&w->idle, on_handle_closed);
}
