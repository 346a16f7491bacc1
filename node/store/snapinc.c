/* snapinc.c — point-in-time snapshots without fork (see snapinc.h).
 *
 * Lifecycle:
 *
 *   WALK --every key handed over--> FLUSH --writes done--> SYNC --fsync--> done(0)
 *     |                               |                      |
 *     +--a write fails, abort---------+----------------------+--> writes drain --> done(rc)
 *
 * WALK: ks_walk over each database in turn, SCAN_BUCKETS buckets at a
 * time in table order with their memory fetched ahead (every key present
 * for the whole walk is visited: the key table does no rehash steps until
 * its walk ends; a key seen twice is no longer pending the second time),
 * ks_snap_visit on each; the
 * keyspace's hand-over (hand_over) serializes keys changed first. Keys
 * are put under the database they were in at the start: dbs is copied,
 * so SWAPDB meanwhile changes nothing here. FLUSH: the stream's last block
 * and footer are queued; SYNC: one fsync on the thread pool. The object
 * is freed once it is finished (or abandoned), no write or fsync is in
 * flight and its idle handle is closed. */
#include "snapinc.h"

#include "err.h"
#include "fsio.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Buckets per ks_walk_step call; a slice checks the clock every other
 * call. */
#define SCAN_BUCKETS 64

struct snapinc {
    uv_loop_t *loop;
    uv_idle_t idle;
    uv_timer_t pace;     /* rdb-key-save-delay: slices on a timer */
    int handle_open, idle_on;
    int key_delay;       /* rdb-key-save-delay; 0: slices on every loop iteration (idle) */
    unsigned pace_keys;  /* at most this many keys per paced slice */
    ks **dbs;
    int ndbs;
    int cur;         /* database being walked */
    int walking;     /* walk of dbs[cur] begun (and not ended) */
    ks_walk walk;
    snap_stream *st; /* NULL once closed */
    progress_job job;
    int fd;
    char path[PATH_MAX];
    snapinc_done_fn done;
    void *arg;
    int rc;          /* first error, a negative errno */
    size_t pending;  /* writes in flight */
    uint64_t pending_bytes;
    int walked;      /* the walk is over (finished or given up) */
    int syncing, synced, sync_started;
    int aborted, finished;
    uint64_t keys, bytes; /* serialized, for snapinc_keys/bytes */
    snap_meta meta;
    uv_work_t sync_req;
};

typedef struct wjob {
    uv_work_t req;
    snapinc *s;
    uint64_t off;
    size_t n;
    int rc;
    uint8_t buf[];
} wjob;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void maybe_complete(snapinc *s);

static void maybe_free(snapinc *s)
{
    if ((s->finished || s->aborted) && !s->pending && !s->syncing && !s->handle_open)
        kv_free(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    snapinc *s = h->data;
    s->handle_open--;
    maybe_free(s);
}

static void stop_idle(snapinc *s, int close)
{
    if (s->idle_on) {
        if (s->key_delay)
            uv_timer_stop(&s->pace);
        else
            uv_idle_stop(&s->idle);
        s->idle_on = 0;
    }
    if (close && s->handle_open && !uv_is_closing((uv_handle_t *)&s->idle)) {
        uv_close((uv_handle_t *)&s->idle, on_handle_closed);
        uv_close((uv_handle_t *)&s->pace, on_handle_closed);
    }
}

static void on_idle(uv_idle_t *h);
static void on_pace(uv_timer_t *h);

static void start_idle(snapinc *s)
{
    if (!s->loop || s->idle_on || s->walked)
        return;
    if (s->key_delay)
        uv_timer_start(&s->pace, on_pace, 1, 0);
    else
        uv_idle_start(&s->idle, on_idle);
    s->idle_on = 1;
}

/* ---- writing ---- */

static void write_work(uv_work_t *req)
{
    wjob *j = req->data;
    j->rc = kvfs_pwrite_all(j->s->fd, j->buf, j->n, (off_t)j->off);
    snap_writeback(j->s->fd, j->off, j->n);
}

static void write_done(uv_work_t *req, int status)
{
    wjob *j = req->data;
    snapinc *s = j->s;
    s->pending--;
    s->pending_bytes -= j->n;
    int rc = status < 0 ? -ECANCELED : j->rc;
    free(j);
    if (rc && !s->rc)
        s->rc = rc;
    if (s->rc && !s->walked) {
        /* Stop the walk now: the next iteration would only find it. */
        snapinc_step(s, 1, 0);
        return;
    }
    if (!s->walked && s->pending_bytes <= SNAPINC_MAX_PENDING / 2)
        start_idle(s);
    maybe_complete(s);
}

/* The stream's sink: a copy of each block goes to the thread pool. */
static int sink(void *arg, const void *p, size_t n, uint64_t off)
{
    snapinc *s = arg;
    if (s->rc)
        return s->rc;
    if (!s->loop)
        return kvfs_pwrite_all(s->fd, p, n, (off_t)off);
    /* Plain malloc: blocks on their way to the disk are not data, and
     * must not count toward maxmemory (eviction) as a child's copied
     * pages do not in Redis. */
    wjob *j = malloc(sizeof *j + n);
    if (!j)
        return kvfs_pwrite_all(s->fd, p, n, (off_t)off);
    j->req.data = j;
    j->s = s;
    j->off = off;
    j->n = n;
    j->rc = 0;
    memcpy(j->buf, p, n);
    if (uv_queue_work(s->loop, &j->req, write_work, write_done) != 0) {
        int rc = kvfs_pwrite_all(s->fd, p, n, (off_t)off);
        free(j);
        return rc;
    }
    s->pending++;
    s->pending_bytes += n;
    return 0;
}

static void sync_work(uv_work_t *req)
{
    snapinc *s = req->data;
    if (kvfs->fsync(s->fd) < 0)
        s->rc = -errno;
}

static void sync_done(uv_work_t *req, int status)
{
    snapinc *s = req->data;
    s->syncing = 0;
    s->synced = 1;
    if (status < 0 && !s->rc)
        s->rc = -ECANCELED;
    maybe_complete(s);
}

/* Everything written (or given up) and nothing in flight: fsync, or
 * report. */
static void maybe_complete(snapinc *s)
{
    if (!s->walked || s->pending || s->syncing || s->finished)
        return;
    if (!s->rc && !s->aborted && !s->synced) {
        if (!s->sync_started) {
            s->sync_started = 1;
            s->syncing = 1;
            s->sync_req.data = s;
            if (!s->loop || uv_queue_work(s->loop, &s->sync_req, sync_work, sync_done) != 0) {
                sync_work(&s->sync_req);
                sync_done(&s->sync_req, 0);
            }
        }
        return;
    }
    if (s->fd >= 0) {
        kvfs->close(s->fd);
        s->fd = -1;
    }
    progress_end(&s->job);
    if (s->aborted) {
        maybe_free(s);
        return;
    }
    s->finished = 1;
    char err[PATH_MAX + 64] = "";
    int kve = 0;
    if (s->rc) {
        kvfs->unlink(s->path);
        kve = s->rc == -ENOSPC ? KVE_NOSPC : KVE_IO;
        snprintf(err, sizeof err, "write %s: %s", s->path, strerror(-s->rc));
    }
    s->done(s->arg, kve, err, &s->meta);
    maybe_free(s);
}

/* ---- the walk ---- */

static void hand_over(void *arg, ks *k, kobj *o)
{
    snapinc *s = arg;
    if (s->rc || !s->st)
        return;
    int db = s->cur < s->ndbs && s->dbs[s->cur] == k ? s->cur : -1;
    for (int i = 0; db < 0 && i < s->ndbs; i++)
        if (s->dbs[i] == k)
            db = i;
    if (db < 0)
        return; /* a keyspace that is not in this image */
    int rc = snap_stream_key(s->st, db, o);
    if (rc && !s->rc)
        s->rc = rc;
    s->keys = snap_stream_keys(s->st);
    s->bytes = snap_stream_bytes(s->st);
}

static void visit(void *arg, kobj *o)
{
    snapinc *s = arg;
    ks_snap_visit(s->dbs[s->cur], o);
}

/* End the walk: with the image complete (finish), or giving up. */
static void end_walk(snapinc *s, int finish)
{
    if (s->walking) {
        ks_walk_end(&s->walk);
        s->walking = 0;
    }
    if (!finish)
        for (int i = 0; i < s->ndbs; i++)
            ks_snap_settle(s->dbs[i]);
    ks_snap_end();
    int rc = snap_stream_close(s->st, finish, &s->meta);
    s->st = NULL;
    if (rc && !s->rc)
        s->rc = rc;
    s->walked = 1;
    if (s->loop)
        stop_idle(s, 1);
    maybe_complete(s);
}

int snapinc_step(snapinc *s, uint64_t max_keys, int64_t max_us)
{
    if (s->walked)
        return 1;
    int64_t start = max_us ? now_us() : 0;
    uint64_t k0 = s->keys;
    unsigned n = 0;
    while (s->cur < s->ndbs && !s->rc) {
        if (!s->walking) {
            ks_walk_begin(&s->walk, s->dbs[s->cur]);
            s->walking = 1;
        }
        if (!ks_walk_step(&s->walk, SCAN_BUCKETS, visit, s)) {
            s->walking = 0;
            s->cur++;
        }
        if (max_keys && s->keys - k0 >= max_keys)
            break;
        if (max_us && (++n & 1) == 0 && now_us() - start >= max_us)
            break;
        if (s->loop && s->pending_bytes > SNAPINC_MAX_PENDING)
            break;
    }
    if (s->rc || s->cur == s->ndbs) {
        end_walk(s, !s->rc);
        return 1;
    }
    return 0;
}

static void on_idle(uv_idle_t *h)
{
    snapinc *s = h->data;
    if (snapinc_step(s, 0, SNAPINC_SLICE_US))
        return;
    if (s->pending_bytes > SNAPINC_MAX_PENDING)
        stop_idle(s, 0); /* write_done starts it again */
}

/* rdb-key-save-delay (Redis's test knob, for tests that watch a snapshot
 * in progress): the walk takes at least d microseconds per key (negative
 * -n: one per n keys) without the loop ever sleeping. Slices of about
 * PACE_MS worth of keys (a walk step may write a few more) on a one-shot
 * timer, each followed by a wait for what its keys cost, rounded up to
 * the timer's millisecond. */
#define PACE_MS 10

static void pace_plan(snapinc *s, int d)
{
    s->key_delay = d;
    uint64_t slice_us = PACE_MS * 1000, k;
    if (d > 0)
        k = slice_us / (uint64_t)d;
    else
        k = slice_us * (uint64_t)(-(int64_t)d);
    s->pace_keys = k < 1 ? 1 : k > (1u << 30) ? 1u << 30 : (unsigned)k;
}

static void on_pace(uv_timer_t *h)
{
    snapinc *s = h->data;
    uint64_t k0 = s->keys;
    if (snapinc_step(s, s->pace_keys, 0))
        return;
    if (s->pending_bytes > SNAPINC_MAX_PENDING) {
        stop_idle(s, 0); /* write_done starts it again */
        return;
    }
    uint64_t ms = (progress_delay_us(s->key_delay, s->keys - k0) + 999) / 1000;
    uv_timer_start(&s->pace, on_pace, ms ? ms : 1, 0);
}

int snapinc_start(snapinc **out, uv_loop_t *loop, ks *const *dbs, int ndbs, const char *path,
                  uint64_t lsn, uint64_t term, int key_delay_us, snapinc_done_fn done, void *arg,
                  char *err, size_t errlen)
{
    *out = NULL;
    if (ks_snap_active())
        return kve_fmt(err, errlen, KVE_BUSY, "a snapshot is already being walked");
    int fd = kvfs->open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return kve_fmt(err, errlen, errno == ENOSPC ? KVE_NOSPC : KVE_IO, "create %s: %s", path,
                       strerror(errno));
    snapinc *s = kv_calloc(1, sizeof *s + (size_t)ndbs * sizeof(ks *));
    s->dbs = (ks **)(s + 1);
    memcpy(s->dbs, dbs, (size_t)ndbs * sizeof(ks *));
    s->ndbs = ndbs;
    s->loop = loop;
    s->fd = fd;
    snprintf(s->path, sizeof s->path, "%s", path);
    s->done = done;
    s->arg = arg;
    uint64_t total = 0;
    for (int i = 0; i < ndbs; i++)
        total += ks_size(dbs[i]);
    progress_open(&s->job, "Writing the snapshot", 1, total, NULL, NULL);
    if (loop) {
        pace_plan(s, key_delay_us);
        uv_idle_init(loop, &s->idle);
        uv_timer_init(loop, &s->pace);
        s->idle.data = s;
        s->pace.data = s;
        s->handle_open = 2;
    }
    s->st = snap_stream_open(dbs, ndbs, lsn, term, sink, s, &s->job);
    ks_snap_begin(hand_over, s);
    start_idle(s);
    *out = s;
    return 0;
}

void snapinc_abort(snapinc *s)
{
    s->aborted = 1;
    if (!s->walked) {
        end_walk(s, 0);
        return;
    }
    if (s->loop)
        stop_idle(s, 1);
    maybe_complete(s);
}

uint64_t snapinc_keys(const snapinc *s)
{
    return s->keys;
}

uint64_t snapinc_bytes(const snapinc *s)
{
    return s->bytes;
}
