/* wal_maint.c — the WAL's segment list and term history on the loop
 * thread, and the work that changes which records are on disk: compaction
 * (deleting segments a snapshot covers, on the thread pool), truncation
 * after an LSN and reset after an installed snapshot (replication).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Segment list and term history                                            */
/* ------------------------------------------------------------------------ */

void wal_segs_push(wal *w, uint64_t first_lsn)
{
    if (w->nsegs == w->capsegs) {
        w->capsegs = w->capsegs ? w->capsegs * 2 : 16;
        w->segs = kv_realloc(w->segs, w->capsegs * sizeof *w->segs);
    }
    w->segs[w->nsegs].first_lsn = first_lsn;
    w->segs[w->nsegs].bytes = 0;
    w->nsegs++;
}

uint64_t wal_room_after(wal *w, uint64_t off)
{
    uint64_t end = w->seg_size;
    struct stat st;
    if (w->prealloc && w->fd >= 0 && kvfs->fstat(w->fd, &st) == 0 &&
        (uint64_t)st.st_size < end)
        end = (uint64_t)st.st_size;
    return off < end ? end - off : 0;
}

void wal_hist_push(wal *w, uint64_t term, uint64_t lsn)
{
    if (w->nhist == w->caphist) {
        w->caphist = w->caphist ? w->caphist * 2 : 8;
        w->hist = kv_realloc(w->hist, w->caphist * sizeof *w->hist);
    }
    w->hist[w->nhist].term = term;
    w->hist[w->nhist].first_lsn = lsn;
    w->nhist++;
}

/* A record of `term` at `lsn` was logged: extend the term history. */
void wal_hist_note(wal *w, uint64_t term, uint64_t lsn)
{
    if (!w->nhist || w->hist[w->nhist - 1].term != term)
        wal_hist_push(w, term, lsn);
}

void wal_hist_prepend(wal *w, uint64_t term, uint64_t lsn)
{
    wal_hist_push(w, term, lsn);
    memmove(w->hist + 1, w->hist, (w->nhist - 1) * sizeof *w->hist);
    w->hist[0].term = term;
    w->hist[0].first_lsn = lsn;
}

uint64_t wal_term_at(const wal *w, uint64_t lsn)
{
    if (!w->nhist || lsn < w->hist[0].first_lsn || lsn > w->last_lsn)
        return 0;
    size_t lo = 0, hi = w->nhist;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (w->hist[mid].first_lsn <= lsn)
            lo = mid;
        else
            hi = mid;
    }
    return w->hist[lo].term;
}

const wal_term_start *wal_history(const wal *w, size_t *n)
{
    *n = w->nhist;
    return w->hist;
}

uint64_t wal_retention_floor(const wal *w, uint64_t bytes)
{
    if (!bytes || !w->nsegs)
        return w->last_lsn + 1;
    uint64_t sum = 0;
    for (size_t i = w->nsegs; i-- > 0;) {
        sum += w->segs[i].bytes;
        if (sum >= bytes)
            return w->segs[i].first_lsn;
    }
    return w->segs[0].first_lsn;
}

uint64_t wal_bytes_from(const wal *w, uint64_t lsn)
{
    uint64_t sum = 0;
    for (size_t i = w->nsegs; i-- > 0;) {
        sum += w->segs[i].bytes;
        if (w->segs[i].first_lsn <= lsn)
            break;
    }
    return sum;
}

uint64_t wal_first_lsn(const wal *w)
{
    return w->nsegs ? w->segs[0].first_lsn : w->last_lsn + 1;
}

/* ------------------------------------------------------------------------ */
/* Compaction                                                               */
/* ------------------------------------------------------------------------ */

typedef struct compact_job {
    uv_work_t req;
    wal *w;
    char dir[PATH_MAX];
    uint64_t *firsts;
    size_t n;
} compact_job;

static void compact_work(uv_work_t *req)
{
    compact_job *j = req->data;
    for (size_t i = 0; i < j->n; i++) {
        char path[PATH_MAX];
        wal_seg_path(path, sizeof path, j->dir, j->firsts[i]);
        if (kvfs->unlink(path) < 0 && errno != ENOENT)
            log_warn("WAL compaction: unlink %s: %s", path, strerror(errno));
    }
    kvfs_fsync_dir(j->dir);
}

static void compact_done(uv_work_t *req, int status)
{
    (void)status;
    compact_job *j = req->data;
    wal *w = j->w;
    free(j->firsts);
    free(j);
    w->compacting--;
    wal_maybe_free(w);
}

int wal_compact(wal *w, uint64_t upto_lsn)
{
    /* Segment i holds LSNs [first_i, first_{i+1} - 1]. */
    size_t k = 0;
    while (k + 1 < w->nsegs && w->segs[k + 1].first_lsn <= upto_lsn + 1)
        k++;
    w->bytes_since_compact = 0;
    if (!k)
        return 0;
    compact_job *j = calloc(1, sizeof *j);
    if (!j)
        return 0;
    j->w = w;
    snprintf(j->dir, sizeof j->dir, "%s", w->dir);
    j->firsts = malloc(k * sizeof *j->firsts);
    if (!j->firsts) {
        free(j);
        return 0;
    }
    for (size_t i = 0; i < k; i++)
        j->firsts[i] = w->segs[i].first_lsn;
    j->n = k;
    memmove(w->segs, w->segs + k, (w->nsegs - k) * sizeof *w->segs);
    w->nsegs -= k;
    j->req.data = j;
    if (!w->started) {
        compact_work(&j->req);
        free(j->firsts);
        free(j);
        return (int)k;
    }
    w->compacting++;
    uv_queue_work(w->loop, &j->req, compact_work, compact_done);
    return (int)k;
}

/* ------------------------------------------------------------------------ */
/* Truncation and reset (replication)                                       */
/* ------------------------------------------------------------------------ */

/* With the thread idle: make fd/off point at segment `first`, cut at off. */
static int reopen_at(wal *w, uint64_t first, uint64_t off, int create, char *err, size_t errlen)
{
    char path[PATH_MAX];
    wal_seg_path(path, sizeof path, w->dir, first);
    pthread_mutex_lock(&w->mu);
    if (w->fd >= 0)
        kvfs->close(w->fd);
    w->fd = -1;
    int rc = 0;
    if (create) {
        rc = wal_create_segment(w->dir, first, w->prealloc ? w->seg_size : 0, err, errlen);
    }
    if (!rc) {
        w->fd = kvfs->open(path, O_WRONLY, 0);
        if (w->fd < 0)
            rc = kve_fmt(err, errlen, KVE_IO, "open %s: %s", path, strerror(errno));
    }
    if (!rc && !create && (kvfs->ftruncate(w->fd, (off_t)off) < 0 || kvfs->fsync(w->fd) < 0))
        rc = kve_fmt(err, errlen, KVE_IO, "truncate %s: %s", path, strerror(errno));
    if (!rc)
        w->off = off;
    pthread_mutex_unlock(&w->mu);
    w->cur_prealloc = 0; /* leave it for a zero-filled spare when one is ready */
    if (rc)
        wal_set_error(w, rc, "%s", err);
    return rc;
}

static void set_tail(wal *w, uint64_t lsn, uint64_t term)
{
    w->last_lsn = lsn;
    w->last_term = term;
    w->fill.last_lsn = lsn;
    atomic_store(&w->written_lsn, lsn);
    atomic_store(&w->synced_lsn, lsn);
}

int wal_truncate_after(wal *w, uint64_t keep, char *err, size_t errlen)
{
    int e = wal_flush_wait(w);
    if (e)
        return kve_fmt(err, errlen, KVE_FAILED, "WAL failed: %s", w->errmsg);
    if (keep >= w->last_lsn)
        return 0;
    if (!w->nsegs || keep + 1 < w->segs[0].first_lsn)
        return kve_fmt(err, errlen, KVE_INVAL,
                       "cannot truncate after LSN %" PRIu64 ": the log starts at %" PRIu64, keep,
                       w->nsegs ? w->segs[0].first_lsn : w->last_lsn + 1);
    uint64_t keep_term = wal_term_at(w, keep);
    /* The segment that keeps the last record (or the first, emptied). */
    size_t i = 0;
    while (i + 1 < w->nsegs && w->segs[i + 1].first_lsn <= keep)
        i++;
    for (size_t j = w->nsegs; j-- > i + 1;) {
        char path[PATH_MAX];
        wal_seg_path(path, sizeof path, w->dir, w->segs[j].first_lsn);
        if (kvfs->unlink(path) < 0 && errno != ENOENT)
            return kve_fmt(err, errlen, KVE_IO, "unlink %s: %s", path, strerror(errno));
    }
    /* Where record `keep` ends in segment i. */
    uint64_t off = WAL_SEG_HDR;
    if (keep >= w->segs[i].first_lsn) {
        wal_cursor cur = {w->segs[i].first_lsn, w->segs[i].first_lsn, 0};
        wal_rbuf scratch = {0};
        while (cur.next_lsn <= keep) {
            scratch.len = 0;
            long n = wal_read(w->dir, &cur, keep, 1 << 20, &scratch, err, errlen);
            if (n <= 0) {
                wal_rbuf_free(&scratch);
                return n < 0 ? (int)n
                             : kve_fmt(err, errlen, KVE_CORRUPT,
                                       "record %" PRIu64 " not found while truncating", keep);
            }
        }
        wal_rbuf_free(&scratch);
        off = cur.offset;
    }
    int rc = reopen_at(w, w->segs[i].first_lsn, off, 0, err, errlen);
    if (rc)
        return rc;
    rc = kvfs_fsync_dir(w->dir);
    if (rc < 0)
        return kve_fmt(err, errlen, KVE_IO, "fsync %s: %s", w->dir, strerror(-rc));
    w->nsegs = i + 1;
    w->segs[i].bytes = off - WAL_SEG_HDR;
    w->seg_room = wal_room_after(w, off);
    while (w->nhist && w->hist[w->nhist - 1].first_lsn > keep)
        w->nhist--;
    set_tail(w, keep, keep_term);
    log_notice("WAL truncated after LSN %" PRIu64 " (term %" PRIu64 ")", keep, keep_term);
    return 0;
}

int wal_reset(wal *w, uint64_t base_lsn, uint64_t base_term, char *err, size_t errlen)
{
    int e = wal_flush_wait(w);
    if (e)
        return kve_fmt(err, errlen, KVE_FAILED, "WAL failed: %s", w->errmsg);
    for (size_t j = 0; j < w->nsegs; j++) {
        char path[PATH_MAX];
        wal_seg_path(path, sizeof path, w->dir, w->segs[j].first_lsn);
        if (kvfs->unlink(path) < 0 && errno != ENOENT)
            return kve_fmt(err, errlen, KVE_IO, "unlink %s: %s", path, strerror(errno));
    }
    w->nsegs = 0;
    int rc = reopen_at(w, base_lsn + 1, WAL_SEG_HDR, 1, err, errlen);
    if (rc)
        return rc;
    wal_segs_push(w, base_lsn + 1);
    w->seg_room = wal_room_after(w, WAL_SEG_HDR);
    w->nhist = 0;
    if (base_lsn)
        wal_hist_push(w, base_term, base_lsn);
    set_tail(w, base_lsn, base_term);
    log_notice("WAL reset to start after LSN %" PRIu64 " (term %" PRIu64 ")", base_lsn,
               base_term);
    return 0;
}
