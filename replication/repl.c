/* repl.c — the replication module: the core bound to libuv and the engine
 * (the rc_io table), the server's questions and commands, ROLE and INFO.
 *
 * Everything here is plumbing; every decision is the core's
 * (replication/core). Disk work leaves the loop: meta stores, reads of the
 * WAL files (for followers that are behind, and for applying entries that
 * no longer sit in the apply queue), snapshot reads and writes run on
 * libuv's thread pool and complete on the loop. Truncation and installing
 * a received snapshot rebuild the keyspace and stay on the loop (the
 * keyspace is the loop's). Completions that could run at once are deferred
 * to the next loop turn: the core never sees a completion from inside the
 * call that started the work.
 *
 * Pub/Sub (repl_publish, and Publish messages received) is not the core's
 * business: the leader sends each PUBLISH to its followers outside the log,
 * and a follower hands it to the server once its keyspace has applied the
 * entry the message followed. At most once, as in Redis: a message to an
 * unreachable or backlogged follower, or waiting when the leader changes,
 * is dropped. */
#include "repl.h"

#include "core.h"
#include "err.h"
#include "fsio.h"
#include "log.h"
#include "mem.h"
#include "peer.h"
#include "progress.h"
#include "snapshot.h"
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define TICK_MS 10
#define APPLY_QUEUE_MAX (256u << 20)
#define APPLY_READ_MAX (4u << 20)
#define PUBS_MAX (16u << 20)       /* Pub/Sub messages waiting on a follower */
#define PUBS_SEND_HIGH (8u << 20)  /* a backlog past which a follower misses them */

typedef struct deferred {
    int kind;
    uint64_t a;
} deferred;

enum { DEF_APPLY, DEF_TRUNCATE };

struct repl {
    repl_config cfg;
    repl_host host;
    uv_loop_t *loop;
    engine *eng;
    node_meta meta;
    rcore *core;
    peer_net *net;
    uv_timer_t tick;
    uv_check_t check;
    uv_idle_t idle;
    int handles;
    int stopped;
    int freeing;
    int jobs;             /* thread-pool jobs in flight */
    int meta_jobs;        /* of which meta stores */
    int store_at_exit;    /* the final meta store waits for the one in flight */
    uint64_t rng;
    char self_peer[RC_ADDR_LEN], self_client[RC_ADDR_LEN];
    char self_ip[RC_ADDR_LEN]; /* the address part of both */
    /* REPLICAOF at run time: the client address named (shown while no
     * leader is known), "" if none. */
    char replicaof_host[256];
    int replicaof_port;
    /* deferred completions */
    deferred *defs;
    size_t ndefs, capdefs;
    /* records stored as a follower and not applied yet: LSNs aq_first.. */
    kbuf aq;
    uint64_t aq_first, aq_count;
    int aq_broken;        /* overflowed or out of step: apply from disk */
    int applying;         /* a disk read for applying is in flight */
    uint64_t apply_wait;  /* an apply waits for the WAL to write what it needs */
    rc_term_start *hist;
    size_t caphist;
    int last_role;
    uint64_t last_term;
    char last_leader[RC_ID_LEN];
    int last_writable;
    char snap_tmp[4200];
    uint64_t sync_full, sync_partial_err;
    /* The data directory, kept: the final meta store may run after the
     * engine is closed (it waits for a store in flight at shutdown). */
    char dir[4096];
    /* A snapshot being received from the leader: progress (logged every
     * few seconds) and when its last chunk came. */
    progress_job sync_job;
    uint64_t sync_lsn;     /* the snapshot sync_job counts (0: none) */
    int64_t sync_last_ms;
    /* Pub/Sub messages from the leader waiting for their entry to be
     * applied: u64 after_lsn | u8 shard | u32 chlen | u32 mlen | ch | msg */
    kbuf pubs;
};

static void maybe_free(repl *r);

/* ------------------------------------------------------------------------ */
/* Deferred completions                                                      */
/* ------------------------------------------------------------------------ */

static void on_idle(uv_idle_t *h);

static void defer(repl *r, int kind, uint64_t a)
{
    if (r->ndefs == r->capdefs) {
        r->capdefs = r->capdefs ? r->capdefs * 2 : 8;
        r->defs = kv_realloc(r->defs, r->capdefs * sizeof *r->defs);
    }
    r->defs[r->ndefs].kind = kind;
    r->defs[r->ndefs].a = a;
    r->ndefs++;
    uv_idle_start(&r->idle, on_idle);
}

static void apply_step(repl *r, uint64_t upto);
static void truncate_now(repl *r, uint64_t keep);
static void deliver_publishes(repl *r);

static void on_idle(uv_idle_t *h)
{
    repl *r = h->data;
    uv_idle_stop(&r->idle);
    size_t n = r->ndefs;
    deferred batch[64];
    if (n > 64)
        n = 64;
    memcpy(batch, r->defs, n * sizeof *batch);
    memmove(r->defs, r->defs + n, (r->ndefs - n) * sizeof *r->defs);
    r->ndefs -= n;
    if (r->ndefs)
        uv_idle_start(&r->idle, on_idle);
    for (size_t i = 0; i < n && !r->stopped; i++) {
        if (batch[i].kind == DEF_APPLY)
            apply_step(r, batch[i].a);
        else
            truncate_now(r, batch[i].a);
    }
}

/* ------------------------------------------------------------------------ */
/* The apply queue                                                           */
/* ------------------------------------------------------------------------ */

static void aq_reset(repl *r, int broken)
{
    kbuf_reset(&r->aq);
    /* A big record grew it: give that back (it counts in used_memory). */
    if (r->aq.cap > (1u << 20))
        kbuf_shrink(&r->aq, 0);
    r->aq_first = r->aq_count = 0;
    r->aq_broken = broken;
}

static void aq_push(repl *r, const uint8_t *rec, size_t len, uint64_t lsn)
{
    if (r->aq_broken)
        return;
    if (r->aq_count && r->aq_first + r->aq_count != lsn) {
        aq_reset(r, 1);
        return;
    }
    if (kbuf_len(&r->aq) + len > APPLY_QUEUE_MAX) {
        aq_reset(r, 1);
        return;
    }
    if (!r->aq_count)
        r->aq_first = lsn;
    kbuf_append(&r->aq, rec, len);
    r->aq_count++;
}

/* Apply from the queue what it holds, in order, up to upto. */
static int apply_from_queue(repl *r, uint64_t upto)
{
    engine *e = r->eng;
    uint64_t applied = engine_applied_lsn(e);
    /* Drop what is applied already. */
    while (r->aq_count && r->aq_first <= applied) {
        wal_record rec;
        wal_peek_record((const uint8_t *)kbuf_data(&r->aq), &rec);
        kbuf_consume(&r->aq, rec.raw_len);
        r->aq_first++;
        r->aq_count--;
    }
    while (r->aq_count && r->aq_first == applied + 1 && applied < upto) {
        wal_record rec;
        wal_peek_record((const uint8_t *)kbuf_data(&r->aq), &rec);
        char err[512];
        if (engine_apply_record(e, &rec, err, sizeof err) != 0) {
            log_warn("applying LSN %" PRIu64 ": %s", rec.lsn, err);
            return -1;
        }
        applied = rec.lsn;
        kbuf_consume(&r->aq, rec.raw_len);
        r->aq_first++;
        r->aq_count--;
    }
    if (!r->aq_count)
        aq_reset(r, 0);
    return 0;
}

typedef struct apply_job {
    uv_work_t req;
    repl *r;
    char dir[4200];
    wal_cursor cur;
    uint64_t upto;
    wal_rbuf buf;
    long rc;
    char err[256];
} apply_job;

static void apply_read_work(uv_work_t *req)
{
    apply_job *j = req->data;
    j->rc = wal_read(j->dir, &j->cur, j->upto, APPLY_READ_MAX, &j->buf, j->err, sizeof j->err);
}

static void apply_read_done(uv_work_t *req, int status)
{
    apply_job *j = req->data;
    repl *r = j->r;
    r->jobs--;
    r->applying = 0;
    int rc = status < 0 || j->rc < 0 ? -1 : 0;
    if (!r->stopped) {
        if (rc < 0)
            log_warn("reading entries to apply from the WAL: %s", j->rc < 0 ? j->err : "cancelled");
        char err[512];
        if (!rc && engine_apply_records(r->eng, j->buf.p, j->buf.len, err, sizeof err) != 0) {
            log_warn("%s", err);
            rc = -1;
        }
        /* Caught up with the files: the queue takes over again. */
        if (!rc && engine_applied_lsn(r->eng) >= wal_last_lsn(engine_wal(r->eng)))
            aq_reset(r, 0);
        deliver_publishes(r);
        rcore_apply_done(r->core, engine_applied_lsn(r->eng), rc);
    }
    wal_rbuf_free(&j->buf);
    kv_free(j);
    maybe_free(r);
}

static void apply_step(repl *r, uint64_t upto)
{
    engine *e = r->eng;
    int rc = apply_from_queue(r, upto);
    deliver_publishes(r);
    if (rc < 0) {
        rcore_apply_done(r->core, engine_applied_lsn(e), -1);
        return;
    }
    uint64_t applied = engine_applied_lsn(e);
    uint64_t written = wal_written_lsn(engine_wal(e));
    if (applied >= upto) {
        rcore_apply_done(r->core, applied, 0);
        return;
    }
    if (applied >= written) {
        /* What is left is not in the files yet: go on once it is. */
        r->apply_wait = upto;
        return;
    }
    apply_job *j = kv_calloc(1, sizeof *j);
    j->r = r;
    snprintf(j->dir, sizeof j->dir, "%s", engine_dir(e));
    j->cur.next_lsn = applied + 1;
    j->upto = upto < written ? upto : written;
    j->req.data = j;
    r->jobs++;
    r->applying = 1;
    if (uv_queue_work(r->loop, &j->req, apply_read_work, apply_read_done) != 0) {
        r->jobs--;
        r->applying = 0;
        kv_free(j);
        rcore_apply_done(r->core, applied, -1);
    }
}

/* ------------------------------------------------------------------------ */
/* The rc_io table                                                           */
/* ------------------------------------------------------------------------ */

static uint64_t io_now(void *arg)
{
    (void)arg;
    return uv_hrtime() / 1000000u;
}

static uint64_t io_random(void *arg)
{
    repl *r = arg;
    uint64_t x = r->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->rng = x;
    return x * 2685821657736338717ull;
}

static void io_log(void *arg, int level, const char *msg)
{
    (void)arg;
    if (level == RC_WARNING)
        log_warn("%s", msg);
    else if (level == RC_NOTICE)
        log_notice("%s", msg);
    else
        log_verbose("%s", msg);
}

static void io_send(void *arg, const char *to_id, const char *to_addr, const Kv__PeerMessage *m)
{
    repl *r = arg;
    peer_net_send(r->net, to_id, to_addr, m);
}

static uint64_t io_backlog(void *arg, const char *to_id)
{
    repl *r = arg;
    return peer_net_backlog(r->net, to_id);
}

uint64_t repl_output_bytes(repl *r)
{
    return r && r->net ? peer_net_total_backlog(r->net) : 0;
}

static void io_forget(void *arg, const char *to_id)
{
    repl *r = arg;
    peer_net_forget(r->net, to_id);
}

typedef struct meta_job {
    uv_work_t req;
    repl *r;
    char dir[4200];
    node_meta m;
    uint64_t seq;
    int rc;
    char err[256];
} meta_job;

static void meta_work(uv_work_t *req)
{
    meta_job *j = req->data;
    j->rc = meta_store(j->dir, &j->m, j->err, sizeof j->err);
}

static void store_final_meta(repl *r);

static void meta_done(uv_work_t *req, int status)
{
    meta_job *j = req->data;
    repl *r = j->r;
    r->jobs--;
    r->meta_jobs--;
    if (status < 0)
        j->rc = KVE_IO;
    if (j->rc)
        log_warn("storing the meta file: %s", j->err);
    else
        r->meta = j->m;
    if (!r->stopped)
        rcore_meta_done(r->core, j->seq, j->rc ? -1 : 0);
    else if (r->store_at_exit && !r->meta_jobs)
        store_final_meta(r);
    kv_free(j);
    maybe_free(r);
}

/* A node whose data a run-time REPLICAOF dropped, not yet a member of the
 * cluster it joins, records whom it joins: a restart goes on joining
 * rather than founding an empty cluster of its own. */
static void set_following(const repl *r, node_meta *m)
{
    m->following[0] = '\0';
    if (r->replicaof_host[0] && r->replicaof_port > 0 &&
        rc_config_find(&m->rc.config, r->meta.node_id) < 0)
        snprintf(m->following, sizeof m->following, "%s %d", r->replicaof_host,
                 r->replicaof_port);
}

static void io_meta_store(void *arg, const rc_meta *m, uint64_t seq)
{
    repl *r = arg;
    meta_job *j = kv_calloc(1, sizeof *j);
    j->r = r;
    snprintf(j->dir, sizeof j->dir, "%s", engine_dir(r->eng));
    j->m = r->meta;
    j->m.rc = *m;
    set_following(r, &j->m);
    j->seq = seq;
    j->req.data = j;
    r->jobs++;
    r->meta_jobs++;
    if (uv_queue_work(r->loop, &j->req, meta_work, meta_done) != 0) {
        /* Without the thread pool: store it here (rare). */
        meta_work(&j->req);
        r->jobs--;
        r->meta_jobs--;
        r->meta = j->m;
        kv_free(j);
        log_warn("meta file stored on the loop: the thread pool refused the job");
        /* The core is told on the next turn. */
        rcore_meta_done(r->core, seq, 0);
    }
}

static uint64_t io_log_first(void *arg)
{
    repl *r = arg;
    return wal_first_lsn(engine_wal(r->eng));
}

static uint64_t io_log_last(void *arg, uint64_t *term)
{
    repl *r = arg;
    wal *w = engine_wal(r->eng);
    *term = wal_last_term(w);
    return wal_last_lsn(w);
}

static uint64_t io_log_durable(void *arg)
{
    repl *r = arg;
    return engine_durable_lsn(r->eng);
}

static uint64_t io_term_at(void *arg, uint64_t lsn)
{
    repl *r = arg;
    return wal_term_at(engine_wal(r->eng), lsn);
}

static const rc_term_start *io_history(void *arg, size_t *n)
{
    repl *r = arg;
    size_t k;
    const wal_term_start *h = wal_history(engine_wal(r->eng), &k);
    if (k > r->caphist) {
        r->caphist = k * 2;
        r->hist = kv_realloc(r->hist, r->caphist * sizeof *r->hist);
    }
    for (size_t i = 0; i < k; i++) {
        r->hist[i].term = h[i].term;
        r->hist[i].first_lsn = h[i].first_lsn;
    }
    *n = k;
    return r->hist;
}

static long io_rec_decode(void *arg, const uint8_t *p, size_t n, uint64_t *lsn, uint64_t *term)
{
    (void)arg;
    wal_record rec;
    long m = wal_decode_record(p, n, &rec);
    if (m <= 0)
        return -1;
    *lsn = rec.lsn;
    *term = rec.term;
    return m;
}

static int io_log_append(void *arg, const uint8_t *rec, size_t len)
{
    repl *r = arg;
    return engine_append_raw(r->eng, rec, len) == 0 ? 0 : -1;
}

static uint64_t io_log_noop(void *arg, uint64_t term)
{
    repl *r = arg;
    engine_set_term(r->eng, term);
    return engine_log_noop(r->eng);
}

static uint64_t io_log_config(void *arg, uint64_t term, const uint8_t *cfg, size_t len)
{
    repl *r = arg;
    engine_set_term(r->eng, term);
    return engine_log_config(r->eng, cfg, len);
}

static void io_truncate(void *arg, uint64_t keep)
{
    defer(arg, DEF_TRUNCATE, keep);
}

static void truncate_now(repl *r, uint64_t keep)
{
    engine *e = r->eng;
    char err[512];
    int rc;
    aq_reset(r, 1);
    uint64_t applied_before = engine_applied_lsn(e);
    if (keep == 0) {
        rc = engine_wipe(e, err, sizeof err);
    } else {
        int reload = engine_applied_lsn(e) > keep;
        rc = engine_truncate(e, keep, reload, err, sizeof err);
        if (rc == KVE_NOTFOUND || (rc && reload)) {
            log_warn("cannot rebuild the keyspace at LSN %" PRIu64 " (%s): discarding local "
                     "data for a full resync",
                     keep, err);
            rc = engine_wipe(e, err, sizeof err);
        }
    }
    if (rc)
        log_warn("cutting the log after LSN %" PRIu64 ": %s", keep, err);
    if (r->host.keyspace_replaced && (keep == 0 || engine_applied_lsn(e) != applied_before))
        r->host.keyspace_replaced(r->host.arg);
    rcore_truncate_done(r->core, rc ? -1 : 0);
}

typedef struct read_job {
    uv_work_t req;
    repl *r;
    char to[RC_ID_LEN];
    char dir[4200];
    wal_cursor cur;
    uint64_t upto, max;
    wal_rbuf buf;
    long rc;
    char err[256];
} read_job;

static void read_work(uv_work_t *req)
{
    read_job *j = req->data;
    j->rc = wal_read(j->dir, &j->cur, j->upto, j->max, &j->buf, j->err, sizeof j->err);
}

static void read_done(uv_work_t *req, int status)
{
    read_job *j = req->data;
    repl *r = j->r;
    r->jobs--;
    if (!r->stopped) {
        if (status < 0 || j->rc < 0) {
            if (j->rc != KVE_NOTFOUND)
                log_warn("reading the WAL for %.12s: %s", j->to,
                         status < 0 ? "cancelled" : j->err);
            rcore_read_done(r->core, j->to, -1, NULL, 0, 0);
        } else {
            rcore_read_done(r->core, j->to, 0, j->buf.p, j->buf.len, (uint64_t)j->rc);
        }
        rcore_flush(r->core);
    }
    wal_rbuf_free(&j->buf);
    kv_free(j);
    maybe_free(r);
}

static void io_read(void *arg, const char *to, uint64_t from, uint64_t upto, uint64_t max)
{
    repl *r = arg;
    uint64_t written = wal_written_lsn(engine_wal(r->eng));
    read_job *j = kv_calloc(1, sizeof *j);
    j->r = r;
    snprintf(j->to, sizeof j->to, "%s", to);
    snprintf(j->dir, sizeof j->dir, "%s", engine_dir(r->eng));
    j->cur.next_lsn = from;
    j->upto = upto < written ? upto : written;
    j->max = max;
    j->req.data = j;
    r->jobs++;
    if (uv_queue_work(r->loop, &j->req, read_work, read_done) != 0) {
        r->jobs--;
        kv_free(j);
    }
}

static void io_pin(void *arg, uint64_t replicas, uint64_t keep)
{
    repl *r = arg;
    engine_pin_wal(r->eng, replicas, keep);
}

static void io_apply(void *arg, uint64_t upto)
{
    defer(arg, DEF_APPLY, upto);
}

static int io_snap_latest(void *arg, uint64_t max_lsn, uint64_t *lsn, uint64_t *term,
                          uint64_t *size)
{
    repl *r = arg;
    char path[4200];
    if (engine_latest_snapshot(r->eng, max_lsn, lsn, term, path, sizeof path) != 0)
        return -1;
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    *size = (uint64_t)st.st_size;
    return 0;
}

static void io_snap_take(void *arg)
{
    repl *r = arg;
    char err[256];
    int rc = engine_bgsave(r->eng, err, sizeof err);
    if (rc && rc != KVE_BUSY)
        log_warn("a follower needs a snapshot but none can be taken: %s", err);
}

typedef struct snap_job {
    uv_work_t req;
    repl *r;
    char to[RC_ID_LEN];
    char path[4200];
    uint64_t lsn, term, off, size;
    uint8_t *data;
    size_t n, max;
    int last;
    int rc;
    char err[256];
} snap_job;

static void snap_read_work(uv_work_t *req)
{
    snap_job *j = req->data;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        j->rc = -errno;
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        j->rc = -errno;
        close(fd);
        return;
    }
    j->size = (uint64_t)st.st_size;
    size_t want = j->off < j->size ? (size_t)(j->size - j->off) : 0;
    if (want > j->max)
        want = j->max;
    j->data = malloc(want ? want : 1);
    ssize_t got = want ? pread(fd, j->data, want, (off_t)j->off) : 0;
    j->rc = got < 0 ? -errno : 0;
    j->n = got > 0 ? (size_t)got : 0;
    close(fd);
}

static void snap_read_done(uv_work_t *req, int status)
{
    snap_job *j = req->data;
    repl *r = j->r;
    r->jobs--;
    if (!r->stopped) {
        int rc = status < 0 || j->rc < 0 ? -1 : 0;
        rcore_snap_read_done(r->core, j->to, j->lsn, j->off, j->data, j->n, j->size, rc);
        rcore_flush(r->core);
    }
    free(j->data);
    kv_free(j);
    maybe_free(r);
}

static void io_snap_read(void *arg, const char *to, uint64_t lsn, uint64_t off, uint64_t max)
{
    repl *r = arg;
    snap_job *j = kv_calloc(1, sizeof *j);
    j->r = r;
    snprintf(j->to, sizeof j->to, "%s", to);
    snap_path(j->path, sizeof j->path, engine_dir(r->eng), lsn);
    j->lsn = lsn;
    j->off = off;
    j->max = (size_t)max;
    j->req.data = j;
    r->jobs++;
    if (uv_queue_work(r->loop, &j->req, snap_read_work, snap_read_done) != 0) {
        r->jobs--;
        kv_free(j);
    }
}

static void snap_write_work(uv_work_t *req)
{
    snap_job *j = req->data;
    /* Test-only knob: slow the receiving side down (off the loop). */
    const char *d = getenv("KVNODE_TEST_SNAP_RECV_DELAY_US");
    if (d)
        usleep((useconds_t)atol(d));
    int fd = open(j->path, O_WRONLY | O_CREAT | O_CLOEXEC | (j->off ? 0 : O_TRUNC), 0644);
    if (fd < 0) {
        j->rc = -errno;
        snprintf(j->err, sizeof j->err, "open %s: %s", j->path, strerror(errno));
        return;
    }
    int rc = kvfs_pwrite_all(fd, j->data, j->n, (off_t)j->off);
    if (!rc && j->last && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    j->rc = rc;
    if (rc)
        snprintf(j->err, sizeof j->err, "write %s: %s", j->path, strerror(-rc));
}

static void snap_write_done(uv_work_t *req, int status)
{
    snap_job *j = req->data;
    repl *r = j->r;
    r->jobs--;
    if (!r->stopped) {
        int rc = status < 0 ? -1 : j->rc;
        if (rc)
            log_warn("receiving snapshot %" PRIu64 ": %s", j->lsn, j->err);
        if (!rc && j->last) {
            char err[512];
            if (r->sync_lsn == j->lsn) {
                progress_end(&r->sync_job);
                r->sync_lsn = 0;
            }
            rc = engine_install_snapshot(r->eng, j->path, j->lsn, j->term, err, sizeof err);
            if (rc) {
                log_warn("installing the snapshot at LSN %" PRIu64 " failed: %s", j->lsn, err);
                unlink(j->path);
            } else {
                aq_reset(r, 0);
                r->sync_full++;
                if (r->host.keyspace_replaced)
                    r->host.keyspace_replaced(r->host.arg);
            }
        }
        rcore_snap_write_done(r->core, rc ? -1 : 0);
        rcore_flush(r->core);
    }
    free(j->data);
    kv_free(j);
    maybe_free(r);
}

/* Progress of a snapshot being received (INFO master_sync_*, the log). */
static void note_snap_chunk(repl *r, uint64_t lsn, uint64_t off, size_t n)
{
    rc_stats st;
    rcore_get_stats(r->core, &st);
    if (off == 0 || r->sync_lsn != lsn) {
        progress_open(&r->sync_job, "Receiving a snapshot from the leader", 0, st.snap_recv_size,
                      NULL, NULL);
        r->sync_lsn = lsn;
        r->sync_job.done = r->sync_job.bytes = off; /* a resumed transfer */
    }
    r->sync_job.total = st.snap_recv_size;
    r->sync_last_ms = (int64_t)uv_now(r->loop);
    progress_add(&r->sync_job, n, n);
}

static void io_snap_write(void *arg, uint64_t lsn, uint64_t term, uint64_t off, const uint8_t *p,
                          size_t n, int last)
{
    repl *r = arg;
    note_snap_chunk(r, lsn, off, n);
    snap_job *j = kv_calloc(1, sizeof *j);
    j->r = r;
    snprintf(j->path, sizeof j->path, "%s/snap-recv-%020" PRIu64 ".tmp", engine_dir(r->eng),
             lsn);
    j->lsn = lsn;
    j->term = term;
    j->off = off;
    j->data = malloc(n ? n : 1);
    memcpy(j->data, p, n);
    j->n = n;
    j->last = last;
    j->req.data = j;
    r->jobs++;
    if (uv_queue_work(r->loop, &j->req, snap_write_work, snap_write_done) != 0) {
        r->jobs--;
        free(j->data);
        kv_free(j);
    }
}

static void io_role_changed(void *arg)
{
    repl *r = arg;
    int role = rcore_role(r->core);
    const rc_member *l = rcore_leader(r->core);
    const char *leader = l ? l->id : "";
    int was_leader = r->last_role == RC_LEADER;
    int changed = role != r->last_role || rcore_term(r->core) != r->last_term ||
                  strcmp(leader, r->last_leader) != 0;
    r->last_role = role;
    r->last_term = rcore_term(r->core);
    snprintf(r->last_leader, sizeof r->last_leader, "%s", leader);
    log_set_role(role == RC_LEADER ? 'M' : role == RC_FOLLOWER ? 'S' : 'C');
    if (role == RC_LEADER) {
        engine_set_term(r->eng, rcore_term(r->core));
        if (!rcore_leaving(r->core)) {
            r->replicaof_host[0] = '\0'; /* a primary now, not anyone's replica */
            r->replicaof_port = 0;
        }
    }
    if (was_leader && role != RC_LEADER)
        r->host.fail_pending(r->host.arg);
    if (changed)
        kbuf_reset(&r->pubs); /* they followed another leader's entries */
    if (changed || role == RC_LEADER)
        r->host.role_changed(r->host.arg);
}

static void io_commit_advanced(void *arg)
{
    repl *r = arg;
    engine_set_commit(r->eng, rcore_commit(r->core));
    r->host.commit_advanced(r->host.arg);
    /* A new leader becomes writable when its no-op commits. */
    int w = rcore_writable(r->core);
    if (w != r->last_writable) {
        r->last_writable = w;
        r->host.role_changed(r->host.arg);
    }
}

static void io_config_changed(void *arg, const rc_config *cfg)
{
    (void)arg;
    (void)cfg;
}

static const rc_io binding = {
    .now_ms = io_now, .random = io_random, .log = io_log, .send = io_send,
    .send_backlog = io_backlog, .forget = io_forget, .meta_store = io_meta_store,
    .log_first = io_log_first, .log_last = io_log_last, .log_durable = io_log_durable,
    .log_term_at = io_term_at, .log_history = io_history, .rec_decode = io_rec_decode,
    .log_append = io_log_append, .log_noop = io_log_noop, .log_config = io_log_config,
    .log_truncate = io_truncate, .log_read = io_read, .log_pin = io_pin, .apply = io_apply,
    .snap_latest = io_snap_latest, .snap_take = io_snap_take, .snap_read = io_snap_read,
    .snap_write = io_snap_write, .role_changed = io_role_changed,
    .commit_advanced = io_commit_advanced, .config_changed = io_config_changed,
};

/* ------------------------------------------------------------------------ */
/* Loop hooks                                                                */
/* ------------------------------------------------------------------------ */

/* Every record appended here (any writer) reaches the core; a follower's
 * also queue for applying. */
static void on_tap(void *arg, const uint8_t *rec, size_t len, uint64_t lsn)
{
    repl *r = arg;
    if (r->stopped)
        return;
    wal_record w;
    wal_peek_record(rec, &w);
    if (rcore_role(r->core) != RC_LEADER)
        aq_push(r, rec, len, lsn);
    rcore_on_append(r->core, rec, len, lsn, w.term, w.type, w.payload, w.len);
}

static void on_tick(uv_timer_t *t)
{
    repl *r = t->data;
    if (!r->stopped)
        rcore_tick(r->core);
}

static void on_check(uv_check_t *h)
{
    repl *r = h->data;
    if (r->stopped)
        return;
    rcore_flush(r->core);
    /* Alone, a write waits for the local sync only, and the WAL may gather
     * requests while it runs; with peers, their acks decide when replies
     * go, and must be read as they come. Runs before the WAL's own check
     * (handles started later run first). */
    const rc_config *c = rcore_config(r->core);
    engine_set_gather(r->eng, c->n <= 1);
}

static void on_snapshot(void *arg, uint64_t lsn)
{
    repl *r = arg;
    if (!r->stopped)
        rcore_snapshot_taken(r->core, lsn);
}

static void publish_received(repl *r, const char *from, const Kv__Publish *p);

static void on_peer_message(void *arg, const char *from, const Kv__PeerMessage *m)
{
    repl *r = arg;
    if (r->stopped)
        return;
    if (m->msg_case == KV__PEER_MESSAGE__MSG_PUBLISH)
        publish_received(r, from, m->publish);
    else
        rcore_recv(r->core, from, m);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

int repl_load_meta(const char *dir, const char *node_id, node_meta *m, int *fresh, char *err,
                   size_t errlen)
{
    return meta_load(dir, node_id, m, fresh, err, errlen);
}

static void addr_join(char *out, size_t n, const char *host, int port)
{
    if (strchr(host, ':'))
        snprintf(out, n, "[%s]:%d", host, port);
    else
        snprintf(out, n, "%s:%d", host, port);
}

static rc_settings settings_from(const repl_config *cfg)
{
    rc_settings s;
    rc_settings_defaults(&s);
    if (cfg->repl_timeout_ms > 0)
        s.election_ms = (uint64_t)cfg->repl_timeout_ms;
    if (cfg->heartbeat_ms > 0)
        s.heartbeat_ms = (uint64_t)cfg->heartbeat_ms;
    s.min_acks = cfg->min_replicas_ack;
    return s;
}

void repl_set_client_port(repl *r, int port)
{
    r->cfg.client_port = port;
    if (r->cfg.announce_port)
        return; /* announced as configured, whatever the listener's port */
    addr_join(r->self_client, sizeof r->self_client, r->self_ip, port);
    rcore_set_client_addr(r->core, r->self_client);
    log_notice("client address now %s: recorded in the membership config", r->self_client);
}

void repl_reconfigure(repl *r, const repl_config *cfg)
{
    r->cfg.repl_timeout_ms = cfg->repl_timeout_ms;
    r->cfg.min_replicas_ack = cfg->min_replicas_ack;
    r->cfg.retention_bytes = cfg->retention_bytes;
    rcore_set_min_acks(r->core, cfg->min_replicas_ack);
}

static void handle_closed(uv_handle_t *h)
{
    repl *r = h->data;
    r->handles--;
    maybe_free(r);
}

int repl_init(repl **out, uv_loop_t *loop, engine *eng, const repl_config *cfg,
              const repl_host *host, const node_meta *meta, char *err, size_t errlen)
{
    repl *r = kv_calloc(1, sizeof *r);
    r->cfg = *cfg;
    r->host = *host;
    r->loop = loop;
    r->eng = eng;
    r->meta = *meta;
    snprintf(r->dir, sizeof r->dir, "%s", engine_dir(eng));
    *out = r;
    if (getrandom(&r->rng, sizeof r->rng, 0) != (ssize_t)sizeof r->rng || !r->rng)
        r->rng = uv_hrtime() | 1;
    const char *ip = cfg->announce_ip[0] ? cfg->announce_ip
                     : cfg->nbind && strcmp(cfg->bind[0], "0.0.0.0") && strcmp(cfg->bind[0], "::")
                         ? cfg->bind[0]
                         : "127.0.0.1";
    addr_join(r->self_peer, sizeof r->self_peer, ip,
              cfg->announce_peer_port ? cfg->announce_peer_port : cfg->peer_port);
    snprintf(r->self_ip, sizeof r->self_ip, "%s", ip);
    addr_join(r->self_client, sizeof r->self_client, ip,
              cfg->announce_port ? cfg->announce_port : cfg->client_port);
    /* The meta file goes down first, so the node id is stable from now. */
    int rc = meta_store(engine_dir(eng), &r->meta, err, errlen);
    if (rc)
        return rc;

    uv_timer_init(loop, &r->tick);
    uv_check_init(loop, &r->check);
    uv_idle_init(loop, &r->idle);
    r->tick.data = r->check.data = r->idle.data = r;
    r->handles = 3;

    const char *bind[REPL_MAX_BIND];
    for (int i = 0; i < cfg->nbind; i++)
        bind[i] = cfg->bind[i];
    peer_net_config pc = {.self_id = r->meta.node_id,
                          .secret = cfg->cluster_secret,
                          .bind = bind,
                          .nbind = cfg->nbind,
                          .port = cfg->peer_port,
                          .backlog = cfg->tcp_backlog,
                          .max_frame = WAL_MAX_PAYLOAD + (2u << 20)};
    if (cfg->peer_port <= 0 || cfg->peer_port > 65535)
        return kve_fmt(err, errlen, KVE_INVAL, "no peer port (set port or peer-port)");
    if (peer_net_start(&r->net, loop, &pc, on_peer_message, r, err, errlen) != 0)
        return KVE_IO;

    rc_io io = binding;
    io.arg = r;
    rc_settings set = settings_from(cfg);
    r->core = rcore_new(&io, &set, r->meta.node_id, r->self_peer, r->self_client, &r->meta.rc);
    rcore_set_applied(r->core, engine_applied_lsn(eng));
    size_t ncfg;
    const engine_config_rec *cr = engine_recovered_configs(eng, &ncfg);
    for (size_t i = 0; i < ncfg; i++)
        rcore_log_config(r->core, cr[i].lsn, cr[i].payload, cr[i].len);
    r->last_role = -1;
    aq_reset(r, engine_applied_lsn(eng) < wal_last_lsn(engine_wal(eng)));
    wal_set_tap(engine_wal(eng), on_tap, r);
    engine_on_snapshot(eng, on_snapshot, r);

    const rc_config *c = rcore_config(r->core);
    char join[RC_ADDR_LEN] = "";
    if (cfg->replicaof_host[0]) {
        addr_join(join, sizeof join, cfg->replicaof_host, cfg->replicaof_port + 10000);
    } else if (!c->n && meta->following[0]) {
        /* A join a run-time REPLICAOF began (or a wave-1 replica's primary). */
        char h[256];
        int p;
        if (sscanf(meta->following, "%255s %d", h, &p) == 2 && p > 0 && p <= 65535 - 10000) {
            addr_join(join, sizeof join, h, p + 10000);
            snprintf(r->replicaof_host, sizeof r->replicaof_host, "%s", h);
            r->replicaof_port = p;
        }
    }
    int member = rc_config_find(c, r->meta.node_id) >= 0;
    if (join[0] && !member) {
        log_notice("joining the cluster of %s", join);
        rcore_join(r->core, join);
    } else if (!c->n) {
        rcore_bootstrap(r->core);
    }
    uv_timer_start(&r->tick, on_tick, TICK_MS, TICK_MS);
    uv_check_start(&r->check, on_check);
    io_role_changed(r);
    log_notice("node %s (peer %s, clients %s), term %" PRIu64 ", %d members", r->meta.node_id,
               r->self_peer, r->self_client, rcore_term(r->core), c->n);
    /* A one-node cluster leads at once: let it before taking clients. */
    c = rcore_config(r->core);
    if (rc_config_voters(c) == 1 && rc_config_find(c, r->meta.node_id) >= 0) {
        uint64_t deadline = uv_hrtime() / 1000000u + 5000;
        while (!rcore_writable(r->core) && uv_hrtime() / 1000000u < deadline)
            uv_run(loop, UV_RUN_ONCE);
    }
    return 0;
}

void repl_shutdown(repl *r)
{
    if (!r || r->stopped)
        return;
    r->stopped = 1;
    if (r->core) {
        rcore_stop(r->core);
        /* After a store in flight, never before it (it holds older state). */
        if (r->meta_jobs)
            r->store_at_exit = 1;
        else
            store_final_meta(r);
    }
    peer_net_stop(r->net);
    r->net = NULL;
    if (r->handles) {
        uv_close((uv_handle_t *)&r->tick, handle_closed);
        uv_close((uv_handle_t *)&r->check, handle_closed);
        uv_close((uv_handle_t *)&r->idle, handle_closed);
    }
    wal_set_tap(engine_wal(r->eng), NULL, NULL);
    engine_on_snapshot(r->eng, NULL, NULL);
}

/* The newest commit watermark, so that a restart applies all of what was
 * committed at once. */
static void store_final_meta(repl *r)
{
    r->store_at_exit = 0;
    node_meta m = r->meta;
    rcore_current_meta(r->core, &m.rc);
    set_following(r, &m);
    char err[256];
    if (meta_store(r->dir, &m, err, sizeof err) != 0)
        log_warn("storing the meta file at shutdown: %s", err);
}

static void maybe_free(repl *r)
{
    if (!r->freeing || r->jobs || r->handles)
        return;
    rcore_free(r->core);
    kbuf_free(&r->aq);
    kbuf_free(&r->pubs);
    kv_free(r->defs);
    kv_free(r->hist);
    kv_free(r);
}

void repl_free(repl *r)
{
    if (!r)
        return;
    if (!r->stopped) {
        /* Never started listening (repl_init failed early). */
        r->stopped = 1;
        if (r->net)
            peer_net_stop(r->net);
        if (r->handles) {
            uv_close((uv_handle_t *)&r->tick, handle_closed);
            uv_close((uv_handle_t *)&r->check, handle_closed);
            uv_close((uv_handle_t *)&r->idle, handle_closed);
        }
    }
    r->freeing = 1;
    maybe_free(r);
}

void repl_on_durable(repl *r)
{
    if (r->stopped)
        return;
    if (r->apply_wait) {
        defer(r, DEF_APPLY, r->apply_wait);
        r->apply_wait = 0;
    }
    rcore_on_durable(r->core);
}

/* ------------------------------------------------------------------------ */
/* Pub/Sub                                                                   */
/* ------------------------------------------------------------------------ */

#define PUB_HDR 17u

void repl_publish(repl *r, int shard, const char *ch, size_t chlen, const char *msg, size_t mlen,
                  uint64_t after_lsn)
{
    /* A frame past the peer's bound would cost the follower its link: such
     * a message stays here. */
    if (r->stopped || rcore_role(r->core) != RC_LEADER ||
        chlen + mlen > WAL_MAX_PAYLOAD)
        return;
    Kv__Publish p = KV__PUBLISH__INIT;
    p.channel.data = (uint8_t *)ch;
    p.channel.len = chlen;
    p.message.data = (uint8_t *)msg;
    p.message.len = mlen;
    p.shard = shard != 0;
    p.after_lsn = after_lsn;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_PUBLISH;
    m.publish = &p;
    const rc_config *c = rcore_config(r->core);
    for (int i = 0; i < c->n; i++) {
        const rc_member *mb = &c->m[i];
        if (!strcmp(mb->id, r->meta.node_id) ||
            peer_net_backlog(r->net, mb->id) > PUBS_SEND_HIGH)
            continue;
        peer_net_send(r->net, mb->id, mb->peer_addr, &m);
    }
}

/* Hand the server what the keyspace has caught up with, in order. */
static void deliver_publishes(repl *r)
{
    uint64_t applied = engine_applied_lsn(r->eng);
    while (kbuf_len(&r->pubs) >= PUB_HDR && !r->stopped) {
        const uint8_t *p = (const uint8_t *)kbuf_data(&r->pubs);
        uint64_t after;
        uint32_t chlen, mlen;
        memcpy(&after, p, 8);
        memcpy(&chlen, p + 9, 4);
        memcpy(&mlen, p + 13, 4);
        if (after > applied)
            return;
        if (r->host.publish)
            r->host.publish(r->host.arg, p[8], (const char *)p + PUB_HDR, chlen,
                            (const char *)p + PUB_HDR + chlen, mlen);
        kbuf_consume(&r->pubs, PUB_HDR + chlen + mlen);
    }
}

static void publish_received(repl *r, const char *from, const Kv__Publish *m)
{
    /* Only from the leader this follower follows now. */
    const rc_member *l = rcore_leader(r->core);
    if (rcore_role(r->core) != RC_FOLLOWER || !l || strcmp(l->id, from) != 0)
        return;
    size_t need = PUB_HDR + m->channel.len + m->message.len;
    if (kbuf_len(&r->pubs) + need > PUBS_MAX) {
        log_verbose("Pub/Sub backlog full: a message from the leader is dropped");
        return;
    }
    uint8_t hdr[PUB_HDR];
    uint64_t after = m->after_lsn;
    uint32_t chlen = (uint32_t)m->channel.len, mlen = (uint32_t)m->message.len;
    memcpy(hdr, &after, 8);
    hdr[8] = m->shard ? 1 : 0;
    memcpy(hdr + 9, &chlen, 4);
    memcpy(hdr + 13, &mlen, 4);
    kbuf_append(&r->pubs, hdr, PUB_HDR);
    kbuf_append(&r->pubs, m->channel.data, chlen);
    kbuf_append(&r->pubs, m->message.data, mlen);
    deliver_publishes(r);
}

/* ------------------------------------------------------------------------ */
/* Questions                                                                 */
/* ------------------------------------------------------------------------ */

int repl_role(const repl *r)
{
    switch (rcore_role(r->core)) {
    case RC_LEADER: return REPL_LEADER;
    case RC_FOLLOWER: return REPL_FOLLOWER;
    default: return REPL_CANDIDATE;
    }
}

int repl_writable(const repl *r)
{
    return rcore_writable(r->core);
}

int repl_follower_serving(const repl *r)
{
    return rcore_follower_serving(r->core);
}

int repl_master_link_up(const repl *r)
{
    if (!r->core || rcore_role(r->core) == RC_LEADER || !rcore_leader(r->core))
        return 0;
    rc_stats st;
    rcore_get_stats(r->core, &st);
    return st.synced &&
           st.last_contact_ms < (uint64_t)(r->cfg.repl_timeout_ms ? r->cfg.repl_timeout_ms : 1000);
}

int repl_leader_addr(const repl *r, char *host, size_t hostlen, int *port)
{
    const rc_member *l = rcore_leader(r->core);
    if (!l || !l->client_addr[0])
        return -1;
    return peer_split_addr(l->client_addr, host, hostlen, port);
}

uint64_t repl_term(const repl *r)
{
    return rcore_term(r->core);
}

const char *repl_node_id(const repl *r)
{
    return r->meta.node_id;
}

uint64_t repl_commit_lsn(repl *r)
{
    /* No core: repl_init failed (e.g. the peer port was taken) and the
     * server is shutting down; nothing was committed through it. */
    return r->core ? rcore_ack_point(r->core) : 0;
}

int repl_lease_valid(const repl *r)
{
    return rcore_lease_valid(r->core);
}

uint64_t repl_read_round(repl *r)
{
    return rcore_read_round(r->core);
}

uint64_t repl_confirmed_round(const repl *r)
{
    return rcore_confirmed_round(r->core);
}

int repl_good_replicas(const repl *r)
{
    return rcore_good_replicas(r->core);
}

int repl_replicas_at(const repl *r, uint64_t lsn)
{
    return rcore_replicas_at(r->core, lsn);
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

/* The member whose client address is host:port (or whose id is `who`). */
static int member_by(const rc_config *c, const char *who, const char *host, int port)
{
    char addr[RC_ADDR_LEN];
    if (host)
        addr_join(addr, sizeof addr, host, port);
    for (int i = 0; i < c->n; i++) {
        if (who && !strcmp(c->m[i].id, who))
            return i;
        if (who && !strcmp(c->m[i].client_addr, who))
            return i;
        if (host && !strcmp(c->m[i].client_addr, addr))
            return i;
    }
    return -1;
}

int repl_replicaof(repl *r, const char *host, int port, int in_exec, char *err, size_t errlen)
{
    const rc_config *c = rcore_config(r->core);
    int idx = member_by(c, NULL, host, port);
    if (idx >= 0) {
        /* A member of our own cluster: follow it (hand leadership to it). */
        if (!strcmp(c->m[idx].id, r->meta.node_id))
            return 0;
        const rc_member *l = rcore_leader(r->core);
        if (rcore_role(r->core) != RC_LEADER && l && !strcmp(l->id, c->m[idx].id))
            return 1;
        if (rcore_role(r->core) == RC_LEADER) {
            char why[160];
            if (rcore_transfer(r->core, c->m[idx].id, 10000, why, sizeof why) != 0) {
                snprintf(err, errlen, "ERR %s", why);
                return -1;
            }
        }
        return 0;
    }
    if (r->replicaof_host[0] && !strcasecmp(r->replicaof_host, host) &&
        r->replicaof_port == port)
        return 1; /* joining it already (or joined) */
    /* The node at host:port has its peer port 10000 above (port 0, or one
     * without room above, is a primary never reached, as in Redis). */
    char join[RC_ADDR_LEN] = "";
    if (port > 0 && port <= 65535 - 10000)
        addr_join(join, sizeof join, host, port + 10000);
    char why[160], old_host[sizeof r->replicaof_host];
    int old_port = r->replicaof_port;
    memcpy(old_host, r->replicaof_host, sizeof old_host);
    /* Set first: the role change inside rcore_leave shows it. */
    snprintf(r->replicaof_host, sizeof r->replicaof_host, "%s", host);
    r->replicaof_port = port;
    if (rcore_leave(r->core, join, in_exec, why, sizeof why) != 0) {
        memcpy(r->replicaof_host, old_host, sizeof old_host);
        r->replicaof_port = old_port;
        snprintf(err, errlen,
                 "ERR %s and %s:%d is not one of them: remove this node from its cluster first "
                 "(KVCLUSTER REMOVE)",
                 why, host, port);
        return -1;
    }
    log_notice("REPLICAOF %s %d: joining the cluster of %s", host, port,
               join[0] ? join : "(no peer port to reach)");
    return 0;
}

int repl_replicaof_target(const repl *r, char *host, size_t hostlen, int *port)
{
    if (!r->replicaof_host[0] || rcore_role(r->core) == RC_LEADER)
        return -1;
    snprintf(host, hostlen, "%s", r->replicaof_host);
    *port = r->replicaof_port;
    return 0;
}

void repl_request_done(repl *r)
{
    if (r->core)
        rcore_leave_now(r->core);
}

int repl_alone(const repl *r)
{
    const rc_config *c = rcore_config(r->core);
    return c->n == 1 && !strcmp(c->m[0].id, r->meta.node_id);
}

int repl_promote(repl *r, char *err, size_t errlen)
{
    r->replicaof_host[0] = '\0';
    r->replicaof_port = 0;
    /* Before the cluster named by REPLICAOF took this node: lead its own
     * one-node cluster again, with its data. */
    if (rcore_leaving(r->core)) {
        rcore_stay(r->core);
        return 0;
    }
    char why[160];
    if (rcore_campaign(r->core, why, sizeof why) != 0) {
        snprintf(err, errlen, "ERR %s", why);
        return -1;
    }
    return 0;
}

int repl_failover(repl *r, const char *host, int port, uint64_t timeout_ms, char *err,
                  size_t errlen)
{
    if (rcore_role(r->core) != RC_LEADER) {
        snprintf(err, errlen, "ERR FAILOVER is not valid when server is a replica.");
        return -1;
    }
    const rc_config *c = rcore_config(r->core);
    const char *target = NULL;
    if (host) {
        int idx = member_by(c, NULL, host, port);
        if (idx < 0) {
            snprintf(err, errlen, "ERR FAILOVER target HOST and PORT is not a replica.");
            return -1;
        }
        target = c->m[idx].id;
    }
    /* Redis refuses a second FAILOVER, to the same target too. */
    if (rcore_transferring(r->core)) {
        snprintf(err, errlen, "ERR FAILOVER already in progress.");
        return -1;
    }
    char why[160];
    if (rcore_transfer(r->core, target, timeout_ms, why, sizeof why) != 0) {
        if (strstr(why, "no other voter"))
            snprintf(err, errlen, "ERR FAILOVER requires connected replicas.");
        else
            snprintf(err, errlen, "ERR %s", why);
        return -1;
    }
    return 0;
}

int repl_failover_abort(repl *r, char *err, size_t errlen)
{
    if (!repl_failover_in_progress(r)) {
        snprintf(err, errlen, "ERR No failover in progress.");
        return -1;
    }
    rcore_transfer_abort(r->core);
    return 0;
}

int repl_failover_in_progress(const repl *r)
{
    rc_stats st;
    rcore_get_stats(r->core, &st);
    return strcmp(st.transfer_state, "none") != 0;
}

int repl_remove_member(repl *r, const char *who, char *err, size_t errlen)
{
    const rc_config *c = rcore_config(r->core);
    int idx = member_by(c, who, NULL, 0);
    if (idx < 0) {
        snprintf(err, errlen, "ERR no member %s", who);
        return -1;
    }
    char why[160];
    if (rcore_remove(r->core, c->m[idx].id, why, sizeof why) != 0) {
        snprintf(err, errlen, "ERR %s", why);
        return -1;
    }
    return 0;
}

void repl_members_reply(repl *r, reply *rp)
{
    const rc_config *c = rcore_config(r->core);
    const rc_member *l = rcore_leader(r->core);
    reply_array(rp, c->n);
    for (int i = 0; i < c->n; i++) {
        rc_peer_info pi;
        rcore_peer_info(r->core, i, &pi);
        reply_map(rp, 7);
        reply_bulk_cstr(rp, "id");
        reply_bulk_cstr(rp, c->m[i].id);
        reply_bulk_cstr(rp, "addr");
        reply_bulk_cstr(rp, c->m[i].client_addr);
        reply_bulk_cstr(rp, "peer-addr");
        reply_bulk_cstr(rp, c->m[i].peer_addr);
        reply_bulk_cstr(rp, "role");
        reply_bulk_cstr(rp, l && !strcmp(l->id, c->m[i].id) ? "leader"
                            : c->m[i].voter                 ? "voter"
                                                            : "learner");
        reply_bulk_cstr(rp, "state");
        reply_bulk_cstr(rp, pi.state);
        reply_bulk_cstr(rp, "match-lsn");
        reply_int(rp, (long long)(pi.self ? wal_last_lsn(engine_wal(r->eng)) : pi.match_lsn));
        reply_bulk_cstr(rp, "last-ack-ms");
        reply_int(rp, pi.last_ack_ms == UINT64_MAX ? -1 : (long long)pi.last_ack_ms);
    }
}

/* ------------------------------------------------------------------------ */
/* ROLE and INFO                                                             */
/* ------------------------------------------------------------------------ */

static void split_or_empty(const char *addr, char *host, size_t hl, int *port)
{
    if (peer_split_addr(addr, host, hl, port) != 0) {
        snprintf(host, hl, "%s", "");
        *port = 0;
    }
}

void repl_sentinel_view_get(repl *r, repl_sentinel_view *v)
{
    memset(v, 0, sizeof *v);
    const rc_config *c = rcore_config(r->core);
    rc_stats st;
    rcore_get_stats(r->core, &st);
    uint64_t et = (uint64_t)(r->cfg.repl_timeout_ms ? r->cfg.repl_timeout_ms : 1000);
    v->term = rcore_term(r->core);
    v->election_timeout_ms = (int)et;
    v->election_quorum = st.election_quorum;
    v->voters = st.voters;
    const rc_member *l = rcore_leader(r->core);
    int role = rcore_role(r->core);
    if (l) {
        snprintf(v->leader_id, sizeof v->leader_id, "%s", l->id);
        if (peer_split_addr(l->client_addr, v->leader_host, sizeof v->leader_host,
                            &v->leader_port) != 0)
            v->leader_host[0] = '\0';
    }
    v->is_leader = role == RC_LEADER;
    if (role == RC_LEADER) {
        v->vouch = rcore_lease_valid(r->core) && v->leader_host[0];
        v->leader_contact_ms = 0;
    } else {
        v->vouch = l && v->leader_host[0] && st.last_contact_ms < et;
        v->leader_contact_ms = l && st.last_contact_ms != UINT64_MAX
                                   ? (int64_t)st.last_contact_ms
                                   : -1;
    }
    for (int i = 0; i < c->n && v->nmembers < 16; i++) {
        rc_peer_info pi;
        rcore_peer_info(r->core, i, &pi);
        repl_sentinel_member *m = &v->m[v->nmembers++];
        snprintf(m->id, sizeof m->id, "%s", c->m[i].id);
        if (peer_split_addr(c->m[i].client_addr, m->host, sizeof m->host, &m->port) != 0)
            m->host[0] = '\0';
        m->is_leader = l && !strcmp(l->id, c->m[i].id);
        m->voter = c->m[i].voter;
        m->match_lsn = pi.self ? wal_last_lsn(engine_wal(r->eng)) : pi.match_lsn;
        m->self = pi.self;
        m->known = pi.self || role == RC_LEADER || m->is_leader;
        if (pi.self) {
            m->reachable = 1;
            m->last_ack_ms = 0;
        } else if (role == RC_LEADER) {
            m->reachable = pi.last_ack_ms != UINT64_MAX && pi.last_ack_ms < et;
            m->last_ack_ms = pi.last_ack_ms == UINT64_MAX ? -1 : (int64_t)pi.last_ack_ms;
        } else {
            /* A follower hears only the leader. */
            m->reachable = m->is_leader && st.last_contact_ms < et;
            m->last_ack_ms = m->is_leader && st.last_contact_ms != UINT64_MAX
                                 ? (int64_t)st.last_contact_ms
                                 : -1;
        }
        if (m->voter && m->reachable)
            v->reachable_voters++;
    }
    /* A follower sees only its leader: the leader's own count is better. */
    if (role != RC_LEADER && v->vouch && st.voters_heard > v->reachable_voters)
        v->reachable_voters = st.voters_heard;
}

static void role_replica(reply *rp, const char *host, int p, uint64_t offset)
{
    char port[16], off[32];
    snprintf(port, sizeof port, "%d", p);
    snprintf(off, sizeof off, "%" PRIu64, offset);
    reply_array(rp, 3);
    reply_bulk_cstr(rp, host);
    reply_bulk_cstr(rp, port);
    reply_bulk_cstr(rp, off);
}

void repl_role_reply(repl *r, reply *rp, const repl_extra_replica *x, int nx)
{
    wal *w = engine_wal(r->eng);
    const rc_config *c = rcore_config(r->core);
    if (rcore_role(r->core) == RC_LEADER) {
        int n = 0;
        for (int i = 0; i < c->n; i++)
            n += strcmp(c->m[i].id, r->meta.node_id) != 0;
        reply_array(rp, 3);
        reply_bulk_cstr(rp, "master");
        reply_int(rp, (long long)wal_last_lsn(w));
        reply_array(rp, n + nx);
        for (int i = 0; i < c->n; i++) {
            if (!strcmp(c->m[i].id, r->meta.node_id))
                continue;
            rc_peer_info pi;
            rcore_peer_info(r->core, i, &pi);
            char host[RC_ADDR_LEN];
            int p;
            split_or_empty(c->m[i].client_addr, host, sizeof host, &p);
            role_replica(rp, host, p, pi.match_lsn);
        }
        for (int i = 0; i < nx; i++)
            role_replica(rp, x[i].ip, x[i].port, x[i].offset);
        return;
    }
    char host[RC_ADDR_LEN] = "";
    int port = 0;
    int known = repl_leader_addr(r, host, sizeof host, &port) == 0;
    int up = known && repl_master_link_up(r);
    reply_array(rp, 5);
    reply_bulk_cstr(rp, "slave");
    reply_bulk_cstr(rp, known ? host : r->replicaof_host);
    reply_int(rp, known ? port : r->replicaof_port);
    reply_bulk_cstr(rp, up ? "connected" : "connect");
    reply_int(rp, (long long)rcore_applied(r->core));
}

static void info_extra(kbuf *b, int k, const repl_extra_replica *x, int nx)
{
    for (int i = 0; i < nx; i++)
        kbuf_printf(b, "slave%d:ip=%s,port=%d,state=%s,offset=%" PRIu64 ",lag=%lld\r\n", k++,
                    x[i].ip, x[i].port, x[i].state, x[i].offset, x[i].lag);
}

void repl_info(repl *r, kbuf *b, const repl_extra_replica *x, int nx)
{
    engine *e = r->eng;
    wal *w = engine_wal(e);
    const rc_config *c = rcore_config(r->core);
    rc_stats st;
    rcore_get_stats(r->core, &st);
    int role = rcore_role(r->core);
    char host[RC_ADDR_LEN] = "";
    int port = 0;
    int known = repl_leader_addr(r, host, sizeof host, &port) == 0;
    uint64_t et = (uint64_t)(r->cfg.repl_timeout_ms ? r->cfg.repl_timeout_ms : 1000);
    if (role == RC_LEADER) {
        kbuf_printf(b, "role:master\r\n");
        int n = 0;
        for (int i = 0; i < c->n; i++)
            n += strcmp(c->m[i].id, r->meta.node_id) != 0;
        kbuf_printf(b, "connected_slaves:%d\r\n", n + nx);
        int k = 0;
        for (int i = 0; i < c->n; i++) {
            if (!strcmp(c->m[i].id, r->meta.node_id))
                continue;
            rc_peer_info pi;
            rcore_peer_info(r->core, i, &pi);
            char h[RC_ADDR_LEN];
            int p;
            split_or_empty(c->m[i].client_addr, h, sizeof h, &p);
            const char *state = !strcmp(pi.state, "snapshot") ? "send_bulk"
                                : !strcmp(pi.state, "stream") ? "online"
                                                              : "wait_bgsave";
            kbuf_printf(b, "slave%d:ip=%s,port=%d,state=%s,offset=%" PRIu64 ",lag=%lld\r\n",
                        k++, h, p, state, pi.match_lsn,
                        pi.last_ack_ms == UINT64_MAX ? -1LL : (long long)(pi.last_ack_ms / 1000));
        }
        info_extra(b, k, x, nx);
        kbuf_printf(b, "min_slaves_good_slaves:%d\r\n", rcore_good_replicas(r->core));
    } else {
        int up = known && repl_master_link_up(r);
        kbuf_printf(b, "role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\n",
                    known ? host : r->replicaof_host, known ? port : r->replicaof_port);
        kbuf_printf(b, "master_link_status:%s\r\n", up ? "up" : "down");
        kbuf_printf(b, "master_last_io_seconds_ago:%lld\r\n",
                    st.last_contact_ms == UINT64_MAX ? -1LL
                                                     : (long long)(st.last_contact_ms / 1000));
        /* A transfer the leader is still feeding (a stalled one may resume
         * later, but is not in progress). */
        int syncing = st.snap_recv_lsn && r->sync_lsn == st.snap_recv_lsn &&
                      (int64_t)uv_now(r->loop) - r->sync_last_ms < (int64_t)et;
        kbuf_printf(b, "master_sync_in_progress:%d\r\n", syncing);
        kbuf_printf(b, "slave_read_repl_offset:%" PRIu64 "\r\n", wal_last_lsn(w));
        kbuf_printf(b, "slave_repl_offset:%" PRIu64 "\r\n", rcore_applied(r->core));
        if (syncing) {
            uint64_t total = st.snap_recv_size, read = st.snap_recv_bytes;
            kbuf_printf(b,
                        "master_sync_total_bytes:%" PRIu64 "\r\n"
                        "master_sync_read_bytes:%" PRIu64 "\r\n"
                        "master_sync_left_bytes:%" PRIu64 "\r\n"
                        "master_sync_perc:%.2f\r\n"
                        "master_sync_last_io_seconds_ago:%d\r\n",
                        total, read, total > read ? total - read : 0,
                        total ? 100.0 * (double)read / (double)total : 0.0,
                        (int)(((int64_t)uv_now(r->loop) - r->sync_last_ms) / 1000));
        }
        if (!up)
            kbuf_printf(b, "master_link_down_since_seconds:%lld\r\n",
                        st.last_contact_ms == UINT64_MAX ? -1LL
                                                         : (long long)(st.last_contact_ms / 1000));
        kbuf_printf(b, "slave_priority:100\r\nslave_read_only:1\r\nreplica_announced:1\r\n");
        kbuf_printf(b, "connected_slaves:%d\r\n", nx);
        info_extra(b, 0, x, nx);
    }
    kbuf_printf(b, "master_failover_state:%s\r\n",
                strcmp(st.transfer_state, "none") ? "failover-in-progress" : "no-failover");
    kbuf_printf(b, "master_replid:%s\r\n", c->cluster_id[0] ? c->cluster_id : r->meta.node_id);
    kbuf_printf(b, "master_replid2:0000000000000000000000000000000000000000\r\n");
    /* A replica's is what it has processed (applied), as Redis's; what it
     * has stored is slave_read_repl_offset. */
    kbuf_printf(b, "master_repl_offset:%" PRIu64 "\r\n",
                role == RC_LEADER ? wal_last_lsn(w) : rcore_applied(r->core));
    kbuf_printf(b, "second_repl_offset:-1\r\n");
    engine_stats es;
    engine_get_stats(e, &es);
    kbuf_printf(b, "repl_backlog_active:1\r\nrepl_backlog_size:%" PRIu64 "\r\n",
                r->cfg.retention_bytes);
    kbuf_printf(b, "repl_backlog_first_byte_offset:%" PRIu64 "\r\n", wal_first_lsn(w));
    kbuf_printf(b, "repl_backlog_histlen:%" PRIu64 "\r\n", es.wal.bytes);
    /* kvnode's own */
    const rc_member *l = rcore_leader(r->core);
    kbuf_printf(b, "node_id:%s\r\ncluster_id:%s\r\nterm:%" PRIu64 "\r\nraft_role:%s\r\n",
                r->meta.node_id, c->cluster_id, rcore_term(r->core), rcore_role_name(role));
    kbuf_printf(b, "leader_id:%s\r\nleader_addr:%s\r\n", l ? l->id : "", l ? l->client_addr : "");
    kbuf_printf(b, "commit_lsn:%" PRIu64 "\r\napplied_lsn:%" PRIu64 "\r\n", rcore_commit(r->core),
                rcore_applied(r->core));
    kbuf_printf(b, "voted_for:%s\r\n", r->meta.rc.voted_for);
    kbuf_printf(b, "lease_remaining_ms:%" PRIu64 "\r\n", rcore_lease_remaining_ms(r->core));
    kbuf_printf(b, "last_contact_ms:%lld\r\n",
                role == RC_LEADER ? 0LL
                : st.last_contact_ms == UINT64_MAX ? -1LL
                                                   : (long long)st.last_contact_ms);
    kbuf_printf(b, "members:%d\r\nvoters:%d\r\n", c->n, st.voters);
    for (int i = 0; i < c->n; i++) {
        rc_peer_info pi;
        rcore_peer_info(r->core, i, &pi);
        kbuf_printf(b, "member%d:id=%s,addr=%s,peer=%s,role=%s,state=%s,match=%" PRIu64
                       ",last_ack_ms=%lld\r\n",
                    i, c->m[i].id, c->m[i].client_addr, c->m[i].peer_addr,
                    l && !strcmp(l->id, c->m[i].id) ? "leader"
                    : c->m[i].voter                 ? "voter"
                                                    : "learner",
                    pi.state, pi.match_lsn,
                    pi.last_ack_ms == UINT64_MAX ? -1LL : (long long)pi.last_ack_ms);
    }
    kbuf_printf(b, "election_quorum:%d\r\ncommit_quorum:%d\r\nack_replicas:%d\r\n",
                st.election_quorum, st.commit_quorum, st.ack_replicas);
    /* Every commit quorum meets every election quorum (commit quorums are
     * never smaller than a majority): a failover keeps acked writes. */
    kbuf_printf(b, "failover_safe:%s\r\nautomatic_failover:%s\r\n",
                st.commit_quorum + st.election_quorum > st.voters ? "yes" : "no",
                st.voters >= 3 ? "yes" : st.voters == 2 ? "needs-both-voters" : "single-node");
    kbuf_printf(b, "elections_started:%" PRIu64 "\r\nelections_won:%" PRIu64
                   "\r\nprevotes_started:%" PRIu64 "\r\nprevotes_denied:%" PRIu64
                   "\r\nstepdowns:%" PRIu64 "\r\nleadership_transfers:%" PRIu64 "\r\n",
                st.elections_started, st.elections_won, st.prevotes_started, st.prevotes_denied,
                st.stepdowns, st.transfers);
    kbuf_printf(b, "last_stepdown:%s\r\nmin_replicas_ack:%d\r\npeer_port:%d\r\n",
                st.last_stepdown, r->cfg.min_replicas_ack, r->cfg.peer_port);
    kbuf_printf(b, "snapshots_sent:%" PRIu64 "\r\nsnapshots_received:%" PRIu64
                   "\r\ntruncations:%" PRIu64 "\r\n",
                st.snapshots_sent, st.snapshots_received, st.truncations);
    kbuf_printf(b, "sync_full:%" PRIu64 "\r\nsync_partial_ok:%" PRIu64
                   "\r\nsync_partial_err:%" PRIu64 "\r\n",
                st.snapshots_sent, st.partial_syncs, r->sync_partial_err);
}

void repl_info_stats(repl *r, kbuf *b)
{
    peer_net_stats st;
    memset(&st, 0, sizeof st);
    if (r->net)
        peer_net_get_stats(r->net, &st);
    kbuf_printf(b, "peer_connections_accepted:%" PRIu64 "\r\npeer_auth_failures:%" PRIu64
                   "\r\npeer_protocol_errors:%" PRIu64 "\r\npeer_connect_failures:%" PRIu64
                   "\r\npeer_messages_dropped:%" PRIu64 "\r\npeer_links_inbound:%d\r\n"
                   "peer_links_outbound:%d\r\n",
                st.accepted, st.auth_failures, st.protocol_errors, st.connect_failures,
                st.dropped_msgs, st.inbound, st.outbound);
}

void repl_get_metrics(const repl *r, repl_metrics *m)
{
    memset(m, 0, sizeof *m);
    rc_stats st;
    rcore_get_stats(r->core, &st);
    const rc_config *c = rcore_config(r->core);
    m->role = repl_role(r);
    m->leader_known = rcore_leader(r->core) != NULL;
    m->term = rcore_term(r->core);
    m->commit_lsn = rcore_commit(r->core);
    m->applied_lsn = rcore_applied(r->core);
    m->lease_remaining_ms = rcore_lease_remaining_ms(r->core);
    m->last_contact_ms = m->role == REPL_LEADER ? 0 : st.last_contact_ms;
    m->members = c->n;
    m->voters = st.voters;
    for (int i = 0; i < c->n; i++)
        m->replicas += strcmp(c->m[i].id, r->meta.node_id) != 0;
    m->good_replicas = rcore_good_replicas(r->core);
    m->elections_started = st.elections_started;
    m->elections_won = st.elections_won;
    m->prevotes_started = st.prevotes_started;
    m->prevotes_denied = st.prevotes_denied;
    m->stepdowns = st.stepdowns;
    m->transfers = st.transfers;
    m->snapshots_sent = st.snapshots_sent;
    m->snapshots_received = st.snapshots_received;
    m->truncations = st.truncations;
    m->partial_syncs = st.partial_syncs;
}

void repl_sync_stats(const repl *r, uint64_t *full, uint64_t *partial_ok, uint64_t *partial_err)
{
    rc_stats st;
    rcore_get_stats(r->core, &st);
    *full = st.snapshots_sent;
    *partial_ok = st.partial_syncs;
    *partial_err = r->sync_partial_err;
}
