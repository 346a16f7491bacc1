/* engine.c — the durable engine (see engine.h).
 *
 * Data directory:
 *   LOCK                    flock'd for the life of the process; holds its pid
 *   wal-*.log               the WAL (wal_*.c)
 *   snap-*.snap             snapshots (snapshot.c), newest `snapshot_keep` kept
 *   *.tmp                   leftovers of a crash; removed at open
 *
 * Snapshot state machine (one at a time):
 *
 *     IDLE --bgsave--> CHILD --child exits 0--> WAIT_DURABLE --durable>=S--> PUBLISH
 *       ^                |                                                     |
 *       |                +--child fails------------------------------------+   |
 *       +---------------------------------------------------------------(done)-+
 *
 * CHILD: a fork child writes snap-S.snap.tmp, S = last LSN at fork time,
 * while the parent goes on serving (copy-on-write); or, with
 * snapshot_fork off, the loop writes it a slice at a time (snapinc.c:
 * no child, e->inc set). WAIT_DURABLE: the image
 * may include entries whose WAL records are not yet synced; it is published
 * only once they are, so a snapshot never holds state a crash could have
 * lost from the log. PUBLISH (thread pool): rename, fsync dir, drop old
 * snapshots; then WAL segments older than the oldest snapshot kept (and not
 * pinned by replication) are deleted. Compacting only up to the *oldest*
 * kept snapshot means recovery can still fall back to it if the newest one
 * turns out to be damaged.
 */
#include "engine.h"

#include "dict.h"
#include "err.h"
#include "fsio.h"
#include "log.h"
#include "mem.h"
#include "snapinc.h"
#include "snapshot.h"
#include "wal.pb-c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { SNAP_IDLE, SNAP_CHILD, SNAP_WAIT_DURABLE, SNAP_PUBLISH };

/* A bump allocator for protobuf-c unpacking: reset per record, never
 * freed piecemeal, so replay does no malloc per entry. */
typedef struct arena {
    char *p;
    size_t used, cap;
} arena;

static void *arena_alloc(void *data, size_t n)
{
    arena *a = data;
    n = (n + 15) & ~(size_t)15;
    if (a->used + n > a->cap) {
        /* Grow for next time; serve this one from the heap-tracked spill. */
        size_t cap = a->cap ? a->cap : 1 << 16;
        while (cap < a->used + n)
            cap *= 2;
        char *q = malloc(cap);
        if (!q)
            return NULL;
        /* Objects already handed out stay valid: keep the old block alive
         * until reset by chaining it at the start of the new one. */
        *(char **)q = a->p;
        a->p = q;
        a->cap = cap;
        a->used = 16;
    }
    void *r = a->p + a->used;
    a->used += n;
    return r;
}

static void arena_free_ptr(void *data, void *p)
{
    (void)data;
    (void)p;
}

static void arena_reset(arena *a)
{
    /* Free every chained block but the newest, which is reused. */
    if (!a->p)
        return;
    char *old = *(char **)a->p;
    while (old) {
        char *next = *(char **)old;
        free(old);
        old = next;
    }
    *(char **)a->p = NULL;
    a->used = 16;
}

static void arena_destroy(arena *a)
{
    arena_reset(a);
    free(a->p);
    a->p = NULL;
}

typedef struct replay_ctx {
    ks **dbs;
    int ndbs;
    engine_apply_fn apply;
    void *arg;
    arena ar;
    const char **argv;
    size_t *lens;
    size_t cap;
    /* Recovery without a snapshot: database 0's table is sized once from
     * the keys the first part of the WAL made (see size_from_sample). */
    uint64_t wal_bytes;   /* the segment files to replay (0: no sizing) */
    uint64_t seen_bytes;  /* records replayed so far */
    ks_prefetcher pf;     /* recovery's read-ahead (replay_peek) */
    wal_peek_hook peek;
} replay_ctx;

/* Having replayed a sample of the WAL (1/32 of its files, at least 1 MiB),
 * grow database 0 to the keys the whole WAL would make at that rate: a
 * million-key log then rehashes once, early, instead of doubling twenty
 * times. A log of overwrites makes few keys in the sample and reserves
 * little. The file sizes count preallocated tails, so this errs high by
 * at most a segment's worth. */
static void size_from_sample(replay_ctx *rc, size_t raw_len)
{
    rc->seen_bytes += raw_len;
    if (rc->seen_bytes < (1u << 20) || rc->seen_bytes < rc->wal_bytes / 32)
        return;
    uint64_t keys = ks_size(rc->dbs[0]);
    double projected = (double)keys * (double)rc->wal_bytes / (double)rc->seen_bytes;
    if (projected > (double)(rc->wal_bytes / 16))
        projected = (double)(rc->wal_bytes / 16);
    ks_expand(rc->dbs[0], (size_t)projected);
    rc->wal_bytes = 0;
}

/* Recovery's read-ahead (wal_peek_hook): announce the key the record will
 * touch first to the prefetch window, so that its lookup finds the
 * bucket and the node there in cache. */
static void replay_peek(void *arg, const wal_record *rec)
{
    replay_ctx *rc = arg;
    const uint8_t *key = NULL;
    size_t klen = 0;
    uint64_t db = 0;
    ks *k = NULL;
    if (rec->type == WAL_REC_COMMANDS &&
        wal_entry_first_key(rec->payload, rec->len, &key, &klen, &db) && db < (uint64_t)rc->ndbs)
        k = rc->dbs[db];
    ks_prefetch_next(&rc->pf, k, key, klen);
}

static int replay_record(void *arg, const wal_record *rec, char *err, size_t errlen)
{
    replay_ctx *rc = arg;
    if (rc->wal_bytes)
        size_from_sample(rc, rec->raw_len);
    if (rec->type != WAL_REC_COMMANDS)
        return 0; /* no-ops and membership configs leave the keyspace alone */
    ProtobufCAllocator alloc = {arena_alloc, arena_free_ptr, &rc->ar};
    arena_reset(&rc->ar);
    Kv__WalEntry *ent = kv__wal_entry__unpack(&alloc, rec->len, rec->payload);
    if (!ent)
        return kve_fmt(err, errlen, KVE_CORRUPT, "entry payload is not a valid WalEntry");
    for (size_t i = 0; i < ent->n_commands; i++) {
        Kv__Command *c = ent->commands[i];
        if (c->n_argv == 0)
            return kve_fmt(err, errlen, KVE_CORRUPT, "empty command in entry");
        if (c->db >= (uint32_t)rc->ndbs)
            return kve_fmt(err, errlen, KVE_INVAL,
                           "entry for database %u but this node has %d databases: start it "
                           "with databases %u or more",
                           c->db, rc->ndbs, c->db + 1);
        if (c->n_argv > rc->cap) {
            rc->cap = c->n_argv * 2;
            rc->argv = kv_realloc(rc->argv, rc->cap * sizeof *rc->argv);
            rc->lens = kv_realloc(rc->lens, rc->cap * sizeof *rc->lens);
        }
        for (size_t j = 0; j < c->n_argv; j++) {
            rc->argv[j] = (const char *)c->argv[j].data;
            rc->lens[j] = c->argv[j].len;
        }
        int r = rc->apply(rc->arg, rc->dbs, (int)c->db, (int)c->n_argv, rc->argv, rc->lens, err,
                          errlen);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Progress of the snapshot being written, shared with the child process
 * that writes it (one MAP_SHARED page): the writer stores, INFO reads. */
typedef struct snap_progress {
    _Atomic uint64_t keys, bytes;
} snap_progress;

/* Recovery: configs are noted whatever their LSN; entries apply up to the
 * replay limit. */
typedef struct recover_ctx {
    engine *e;
} recover_ctx;

static int recover_record(void *arg, const wal_record *rec, char *err, size_t errlen);

/* Commands of the entry being built: argv bytes are copied into data. */
typedef struct entry_builder {
    char *data;
    size_t len, cap;
    size_t *arg_off; /* per argument: offset in data, then length */
    size_t nargs, capargs;
    int *argc;       /* per command */
    uint32_t *db;    /* per command: its database */
    int ncmds, capcmds;
} entry_builder;

struct engine {
    engine_config cfg;
    char dir[PATH_MAX];
    int lock_fd;
    ks **dbs;           /* the databases, ndbs of them (engine_dbs) */
    int ndbs;
    int lazy_flush;     /* replica-lazy-flush (engine_set_lazy_flush) */
    wal *w;
    uv_loop_t *loop;
    uv_timer_t cron;
    uv_signal_t sigchld;
    int started;
    void (*on_durable)(void *);
    void *durable_arg;
    engine_recovery rec;
    uint64_t term;
    entry_builder eb;
    replay_ctx rctx;          /* applies logged entries (recovery, replicas) */
    int applying_record;      /* inside engine_apply_record */
    void (*on_snapshot)(void *arg, uint64_t lsn);
    void *on_snapshot_arg;

    /* snapshots */
    int snap_state;
    pid_t child;
    snapinc *inc;       /* SNAP_CHILD without a child: the incremental writer */
    uint64_t snap_lsn, snap_term, snap_keys;
    uint64_t snap_start_us;
    uv_work_t publish_req;
    int publish_rc;
    char publish_err[256];
    uint64_t publish_bytes;
    /* The publish job runs on the thread pool: it reads only what is set
     * here before it is queued and writes only publish_* results, which
     * publish_done takes over on the loop (CONFIG SET and a snapshot
     * install may change cfg/retained_oldest meanwhile). */
    int publish_keep;
    uint64_t publish_keep_le; /* snap_retain's bound: the commit point */
    uint64_t publish_oldest;
    uint64_t retained_oldest;
    uint64_t pin_replicas; /* streaming replicas need the WAL from here (bounded) */
    uint64_t pin_keep;     /* the WAL must be kept from here (unbounded) */
    int compact_due;       /* a pin moved forward: compact on the next cron */
    int64_t last_save_time;
    uint64_t last_save_lsn;
    int last_ok;
    uint64_t last_snap_bytes, last_snap_keys, last_snap_ms;
    uint64_t snapshots_taken;
    uint64_t bytes_since_save; /* WAL bytes logged since the last snapshot point */
    uint64_t changes_since_save;
    uint64_t compactions;
    char last_error[256];
    uint64_t last_try_us;
    uint64_t applied;   /* the keyspace holds entries up to here */
    uint64_t commit;    /* replication's commit point (commit_gated) */
    engine_config_rec *cfgs; /* config records seen by recovery */
    size_t ncfgs;
    int closing;        /* engine_close was called */
    int handles_open;   /* libuv handles still to close */
    snap_progress *sp;  /* shared with a snapshot child; NULL if mmap failed */
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Wall-clock seconds from the precise clock, as TIME reads it. time(NULL)
 * reads the coarse clock, which can still show the previous second for a
 * tick after TIME has moved on: LASTSAVE would then be older than a TIME
 * taken before the save. */
static int64_t wall_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

void engine_config_defaults(engine_config *c)
{
    memset(c, 0, sizeof *c);
    c->wal_segment_size = 16ull << 20;
    c->fsync = WAL_FSYNC_ALWAYS;
    c->wal_prealloc = 1;
    c->databases = 16;
    c->snapshot_keep = 2;
    c->snapshot_fork = 0;
    c->snapshot_wal_min = 64ull << 20;
    c->snapshot_wal_pct = 100;
    /* Redis's default schedule: 1 change in an hour, 100 in 5 minutes,
     * 10000 in a minute. */
    c->nsave = 3;
    c->save_seconds[0] = 3600;
    c->save_changes[0] = 1;
    c->save_seconds[1] = 300;
    c->save_changes[1] = 100;
    c->save_seconds[2] = 60;
    c->save_changes[2] = 10000;
}

/* ------------------------------------------------------------------------ */
/* Replay                                                                    */
/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------ */
/* Open / close                                                              */
/* ------------------------------------------------------------------------ */

static void free_dbs(engine *e)
{
    for (int i = 0; e->dbs && i < e->ndbs; i++)
        ks_free(e->dbs[i]);
    kv_free(e->dbs);
    e->dbs = NULL;
}

static void clear_dbs(engine *e)
{
    for (int i = 0; i < e->ndbs; i++)
        ks_clear(e->dbs[i]);
}

void engine_set_lazy_flush(engine *e, int on)
{
    e->lazy_flush = on;
}

static uint64_t count_keys(engine *e)
{
    uint64_t n = 0;
    for (int i = 0; i < e->ndbs; i++)
        n += ks_size(e->dbs[i]);
    return n;
}

static int take_lock(engine *e, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/LOCK", e->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return kve_fmt(err, errlen, KVE_IO, "open %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        return kve_fmt(err, errlen, KVE_LOCKED,
                       "data directory %s is in use by another kvnode process%s%s (LOCK held)",
                       e->dir, pid[0] ? " pid " : "", pid);
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) == n)
        fsync(fd);
    e->lock_fd = fd;
    return 0;
}

static int make_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return kve_fmt(err, errlen, KVE_INVAL, "%s is not a directory", dir);
        return 0;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return kve_fmt(err, errlen, KVE_IO, "create data directory %s: %s", dir, strerror(errno));
    return 0;
}

/* Bytes recovery reads: the newest snapshot and every WAL segment (their
 * whole files: the unused tail of a preallocated segment counts too). */
static uint64_t recovery_bytes(const char *dir)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    char newest[64] = "";
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        int seg = !strncmp(de->d_name, "wal-", 4) && l > 8 && !strcmp(de->d_name + l - 4, ".log") &&
                  strncmp(de->d_name, "wal-spare", 9) != 0;
        int snap = l == 30 && !strncmp(de->d_name, "snap-", 5) && !strcmp(de->d_name + 25, ".snap");
        if (snap && strcmp(de->d_name, newest) > 0)
            snprintf(newest, sizeof newest, "%s", de->d_name);
        if (!seg)
            continue;
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    if (newest[0]) {
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, newest);
        if (stat(path, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    return total;
}

static int open_engine(engine **out, const engine_config *cfg, engine_apply_fn apply,
                       void *apply_arg, engine_recovery *rec, char *err, size_t errlen);

int engine_open(engine **out, const engine_config *cfg, engine_apply_fn apply, void *apply_arg,
                engine_recovery *rec, char *err, size_t errlen)
{
    progress_job job;
    uint64_t bytes = cfg->dir ? recovery_bytes(cfg->dir) : 0;
    progress_begin(&job, "Loading the data", 0, bytes, cfg->load_progress, cfg->load_progress_arg);
    kv_bulk_begin((size_t)bytes);
    int rc = open_engine(out, cfg, apply, apply_arg, rec, err, errlen);
    kv_bulk_end();
    progress_end(&job);
    return rc;
}

static int open_engine(engine **out, const engine_config *cfg, engine_apply_fn apply,
                       void *apply_arg, engine_recovery *rec, char *err, size_t errlen)
{
    uint64_t t0 = mono_us();
    if (!cfg->dir || !cfg->dir[0])
        return kve_fmt(err, errlen, KVE_INVAL, "no data directory");
    if (strlen(cfg->dir) > PATH_MAX - 80)
        return kve_fmt(err, errlen, KVE_INVAL, "data directory path is too long");
    int rc = make_dir(cfg->dir, err, errlen);
    if (rc)
        return rc;
    engine *e = kv_calloc(1, sizeof *e);
    e->cfg = *cfg;
    snprintf(e->dir, sizeof e->dir, "%s", cfg->dir);
    e->cfg.dir = e->dir;
    e->lock_fd = -1;
    e->last_ok = 1;
    void *sp = mmap(NULL, sizeof *e->sp, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    e->sp = sp == MAP_FAILED ? NULL : sp;
    if (e->cfg.snapshot_keep < 1)
        e->cfg.snapshot_keep = 1;
    rc = take_lock(e, err, errlen);
    if (rc)
        goto fail;

    snap_remove_temps(e->dir);
    e->ndbs = e->cfg.databases < 1 ? 1 : e->cfg.databases;
    e->dbs = kv_malloc((size_t)e->ndbs * sizeof *e->dbs);
    for (int i = 0; i < e->ndbs; i++)
        e->dbs[i] = ks_new();
    snap_meta sm;
    uint64_t ts = mono_us();
    rc = snap_load_latest(e->dir, e->dbs, e->ndbs, &sm, &e->rec.snapshots_broken, err, errlen);
    if (rc)
        goto fail;
    e->rec.snapshot_ms = (mono_us() - ts) / 1000;
    e->rec.snapshot_lsn = sm.lsn;
    e->rec.snapshot_keys = sm.keys;
    e->rec.snapshot_bytes = sm.bytes;
    e->last_save_time = wall_sec();
    if (sm.lsn) {
        e->last_save_time = sm.created_ms / 1000;
        e->last_save_lsn = sm.lsn;
        e->last_snap_bytes = sm.bytes;
        e->last_snap_keys = sm.keys;
    }

    uint64_t tr = mono_us();
    e->rctx.dbs = e->dbs;
    e->rctx.ndbs = e->ndbs;
    e->rctx.apply = apply;
    e->rctx.arg = apply_arg;
    e->rctx.peek = (wal_peek_hook){replay_peek, &e->rctx};
    wal_config wc = {.dir = e->dir,
                     .segment_size = e->cfg.wal_segment_size,
                     .fsync = e->cfg.fsync,
                     .prealloc = e->cfg.wal_prealloc,
                     .inline_sync_max_us = WAL_INLINE_SYNC_MAX_US,
                     .peek = &e->rctx.peek};
    e->applied = sm.lsn;
    e->rctx.wal_bytes = sm.lsn ? 0 : recovery_bytes(e->dir);
    e->rctx.seen_bytes = 0;
    rc = wal_open(&e->w, &wc, sm.lsn, sm.term, recover_record, e, &e->rec.wal, err, errlen);
    e->rctx.wal_bytes = 0;
    arena_reset(&e->rctx.ar);
    if (rc)
        goto fail;
    e->rec.replay_ms = (mono_us() - tr) / 1000;
    e->term = wal_last_term(e->w);
    /* The commit point is not known yet: what the last run kept (its
     * newest, and at most one older, committed when those were past
     * commit: see publish_begin) stays. */
    e->retained_oldest =
        snap_retain(e->dir, e->cfg.snapshot_keep + (e->cfg.commit_gated ? 1 : 0), 0);
    e->rec.total_ms = (mono_us() - t0) / 1000;
    log_notice("recovered %s: snapshot LSN %" PRIu64 " (%" PRIu64 " keys, %" PRIu64
               " ms), %" PRIu64 " WAL entries replayed from %" PRIu64 " segments (%" PRIu64
               " covered by the snapshot not read; %" PRIu64
               " ms), %" PRIu64 " bytes of torn tail cut, %d broken snapshots; last LSN %" PRIu64
               " term %" PRIu64 "; %" PRIu64 " ms in all",
               e->dir, sm.lsn, sm.keys, e->rec.snapshot_ms, e->rec.wal.entries_replayed,
               e->rec.wal.segments_scanned, e->rec.wal.segments_skipped, e->rec.replay_ms, e->rec.wal.bytes_truncated,
               e->rec.snapshots_broken, wal_last_lsn(e->w), wal_last_term(e->w), e->rec.total_ms);
    if (rec)
        *rec = e->rec;
    *out = e;
    return 0;

fail:
    free_dbs(e);
    if (e->sp)
        munmap(e->sp, sizeof *e->sp);
    if (e->lock_fd >= 0)
        close(e->lock_fd);
    arena_destroy(&e->rctx.ar);
    kv_free(e->rctx.argv);
    kv_free(e->rctx.lens);
    for (size_t i = 0; i < e->ncfgs; i++)
        kv_free(e->cfgs[i].payload);
    kv_free(e->cfgs);
    kv_free(e);
    return rc;
}

static int recover_record(void *arg, const wal_record *rec, char *err, size_t errlen)
{
    engine *e = arg;
    if (rec->type == WAL_REC_CONFIG) {
        e->cfgs = kv_realloc(e->cfgs, (e->ncfgs + 1) * sizeof *e->cfgs);
        engine_config_rec *c = &e->cfgs[e->ncfgs++];
        c->lsn = rec->lsn;
        c->len = rec->len;
        c->payload = kv_malloc(rec->len ? rec->len : 1);
        memcpy(c->payload, rec->payload, rec->len);
    }
    if (e->cfg.has_replay_limit && rec->lsn > e->cfg.replay_limit)
        return 0; /* logged, not known committed: applied when it is */
    int rc = replay_record(&e->rctx, rec, err, errlen);
    if (!rc)
        e->applied = rec->lsn;
    return rc;
}

static void on_wal_progress(void *arg);
static void on_cron(uv_timer_t *t);
static void on_sigchld(uv_signal_t *h, int sig);

int engine_start(engine *e, uv_loop_t *loop, void (*on_durable)(void *arg), void *arg)
{
    e->loop = loop;
    e->on_durable = on_durable;
    e->durable_arg = arg;
    int rc = wal_start(e->w, loop, on_wal_progress, e);
    if (rc)
        return rc;
    uv_timer_init(loop, &e->cron);
    e->cron.data = e;
    uv_timer_start(&e->cron, on_cron, 100, 100);
    uv_unref((uv_handle_t *)&e->cron);
    uv_signal_init(loop, &e->sigchld);
    e->sigchld.data = e;
    uv_signal_start(&e->sigchld, on_sigchld, SIGCHLD);
    uv_unref((uv_handle_t *)&e->sigchld);
    e->started = 1;
    return 0;
}

static void free_builder(entry_builder *b)
{
    kv_free(b->data);
    kv_free(b->arg_off);
    kv_free(b->argc);
    kv_free(b->db);
}

static void free_engine(engine *e)
{
    if (e->sp)
        munmap(e->sp, sizeof *e->sp);
    for (size_t i = 0; i < e->ncfgs; i++)
        kv_free(e->cfgs[i].payload);
    kv_free(e->cfgs);
    free_dbs(e);
    free_builder(&e->eb);
    arena_destroy(&e->rctx.ar);
    kv_free(e->rctx.argv);
    kv_free(e->rctx.lens);
    kv_free(e);
}

/* Free once closed, the handles are gone and no publish job refers to e. */
static void maybe_free_engine(engine *e)
{
    if (e->closing && e->handles_open == 0 && e->snap_state != SNAP_PUBLISH)
        free_engine(e);
}

static void on_engine_handle_closed(uv_handle_t *h)
{
    engine *e = h->data;
    e->handles_open--;
    maybe_free_engine(e);
}

static void reap_child(engine *e, int block);
static void stop_snapshot_child(engine *e, int failure);
static void publish_work(uv_work_t *req);
static void publish_begin(engine *e);
static void publish_done(uv_work_t *req, int status);

void engine_close(engine *e)
{
    if (!e)
        return;
    /* Everything is in the WAL: a half-written image is not worth the wait
     * at shutdown. */
    stop_snapshot_child(e, 1);
    wal_flush_wait(e->w);
    if (e->snap_state == SNAP_WAIT_DURABLE) {
        publish_begin(e);
        publish_work(&e->publish_req);
        publish_done(&e->publish_req, 0);
    }
    e->closing = 1;
    wal_close(e->w);
    e->w = NULL;
    if (e->lock_fd >= 0)
        close(e->lock_fd);
    e->lock_fd = -1;
    if (!e->started) {
        free_engine(e);
        return;
    }
    e->handles_open = 2;
    uv_close((uv_handle_t *)&e->cron, on_engine_handle_closed);
    uv_close((uv_handle_t *)&e->sigchld, on_engine_handle_closed);
}

int engine_flush(engine *e)
{
    return wal_flush_wait(e->w);
}

void engine_reconfigure(engine *e, const engine_config *cfg)
{
    e->cfg.fsync = cfg->fsync;
    e->cfg.snapshot_keep = cfg->snapshot_keep < 1 ? 1 : cfg->snapshot_keep;
    e->cfg.snapshot_fork = cfg->snapshot_fork;
    e->cfg.snapshot_key_delay = cfg->snapshot_key_delay;
    e->cfg.snapshot_wal_min = cfg->snapshot_wal_min;
    e->cfg.snapshot_wal_pct = cfg->snapshot_wal_pct;
    e->cfg.retention_bytes = cfg->retention_bytes;
    e->cfg.nsave = cfg->nsave;
    memcpy(e->cfg.save_seconds, cfg->save_seconds, sizeof cfg->save_seconds);
    memcpy(e->cfg.save_changes, cfg->save_changes, sizeof cfg->save_changes);
    wal_set_fsync(e->w, cfg->fsync);
}

ks *engine_ks(engine *e)
{
    return e->dbs[0];
}

ks **engine_dbs(engine *e, int *n)
{
    *n = e->ndbs;
    return e->dbs;
}

const engine_recovery *engine_recovery_info(const engine *e)
{
    return &e->rec;
}

const char *engine_dir(const engine *e)
{
    return e->dir;
}

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

void engine_set_term(engine *e, uint64_t term)
{
    e->term = term;
}

void engine_set_gather(engine *e, int on)
{
    if (e->w)
        wal_set_gather(e->w, on);
}

uint64_t engine_term(const engine *e)
{
    return e->term;
}

void engine_entry_add(engine *e, int db, int argc, const char **argv, const size_t *lens)
{
    entry_builder *b = &e->eb;
    if (b->ncmds == b->capcmds) {
        b->capcmds = b->capcmds ? b->capcmds * 2 : 8;
        b->argc = kv_realloc(b->argc, (size_t)b->capcmds * sizeof *b->argc);
        b->db = kv_realloc(b->db, (size_t)b->capcmds * sizeof *b->db);
    }
    b->db[b->ncmds] = (uint32_t)db;
    b->argc[b->ncmds++] = argc;
    size_t total = 0;
    for (int i = 0; i < argc; i++)
        total += lens[i];
    if (b->len + total > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + total)
            cap *= 2;
        b->data = kv_realloc(b->data, cap);
        b->cap = cap;
    }
    if (b->nargs + (size_t)argc > b->capargs) {
        size_t cap = b->capargs ? b->capargs : 64;
        while (cap < b->nargs + (size_t)argc)
            cap *= 2;
        b->arg_off = kv_realloc(b->arg_off, cap * 2 * sizeof *b->arg_off);
        b->capargs = cap;
    }
    for (int i = 0; i < argc; i++) {
        b->arg_off[2 * b->nargs] = b->len;
        b->arg_off[2 * b->nargs + 1] = lens[i];
        if (lens[i])
            memcpy(b->data + b->len, argv[i], lens[i]);
        b->len += lens[i];
        b->nargs++;
    }
}

size_t engine_entry_buffer_bytes(const engine *e)
{
    if (!e->eb.ncmds)
        return 0;
    return kv_usable(e->eb.data) + kv_usable(e->eb.arg_off) + kv_usable(e->eb.argc);
}

int engine_entry_pending(const engine *e)
{
    return e->eb.ncmds;
}

/* Past this many bytes the builder's buffers are released after an entry
 * instead of kept for the next one: a big entry (a big value, a MULTI, a
 * round of evictions) must not pin its size in used memory, where kept
 * buffers count against maxmemory (Redis frees its AOF buffer past 4000
 * bytes once written). */
#define ENTRY_KEEP_BYTES (16 * 1024)

void engine_entry_abort(engine *e)
{
    entry_builder *b = &e->eb;
    b->len = 0;
    b->nargs = 0;
    b->ncmds = 0;
    if (b->cap > ENTRY_KEEP_BYTES || b->capargs * 2 * sizeof *b->arg_off > ENTRY_KEEP_BYTES ||
        (size_t)b->capcmds * sizeof *b->argc > ENTRY_KEEP_BYTES) {
        kv_free(b->data);
        kv_free(b->arg_off);
        kv_free(b->argc);
        b->data = NULL;
        b->arg_off = NULL;
        b->argc = NULL;
        b->cap = b->capargs = 0;
        b->capcmds = 0;
    }
}

/* The WalEntry of the builder in protobuf wire format, written directly
 * (no intermediate message objects): WalEntry { repeated Command commands
 * = 1 }, Command { repeated bytes argv = 1; uint32 db = 2 } — a tag byte
 * 0x0A, a varint length and the bytes, at both levels, and after the
 * arguments, for a database other than 0, the tag 0x10 and a varint (as
 * protobuf-c, which packs fields in number order and leaves a zero
 * proto3 field out). protobuf-c decodes it (replay, replicas); tests check
 * it is byte-identical to protobuf-c's own packing. */
static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static size_t command_len(const entry_builder *b, int cmd, size_t first_arg)
{
    size_t n = 0;
    for (int j = 0; j < b->argc[cmd]; j++) {
        size_t len = b->arg_off[2 * (first_arg + (size_t)j) + 1];
        n += 1 + varint_len(len) + len;
    }
    if (b->db[cmd])
        n += 1 + varint_len(b->db[cmd]);
    return n;
}

/* An entry this node logged itself (it ran, or changes nothing): the
 * keyspace holds it if it held everything before it. */
static void note_local(engine *e, uint64_t lsn)
{
    if (lsn && e->applied + 1 == lsn)
        e->applied = lsn;
}

uint64_t engine_entry_commit(engine *e)
{
    entry_builder *b = &e->eb;
    if (!b->ncmds)
        return 0;
    size_t size = 0, a = 0;
    for (int i = 0; i < b->ncmds; i++) {
        size_t cl = command_len(b, i, a);
        size += 1 + varint_len(cl) + cl;
        a += (size_t)b->argc[i];
    }
    uint64_t lsn = 0;
    uint8_t *p = wal_append_reserve(e->w, size);
    if (p) {
        a = 0;
        for (int i = 0; i < b->ncmds; i++) {
            *p++ = 0x0A;
            p = put_varint(p, command_len(b, i, a));
            for (int j = 0; j < b->argc[i]; j++, a++) {
                size_t off = b->arg_off[2 * a], len = b->arg_off[2 * a + 1];
                *p++ = 0x0A;
                p = put_varint(p, len);
                if (len)
                    memcpy(p, b->data + off, len);
                p += len;
            }
            if (b->db[i]) {
                *p++ = 0x10;
                p = put_varint(p, b->db[i]);
            }
        }
        lsn = wal_append_finish(e->w, e->term, WAL_REC_COMMANDS);
        e->bytes_since_save += wal_record_size(size);
        e->changes_since_save++;
        note_local(e, lsn);
    }
    engine_entry_abort(e);
    return lsn;
}

uint64_t engine_log_noop(engine *e)
{
    uint64_t lsn = wal_append(e->w, e->term, WAL_REC_NOOP, NULL, 0);
    note_local(e, lsn);
    return lsn;
}

uint64_t engine_log_config(engine *e, const void *payload, size_t len)
{
    uint64_t lsn = wal_append(e->w, e->term, WAL_REC_CONFIG, payload, len);
    note_local(e, lsn);
    return lsn;
}

uint64_t engine_applied_lsn(const engine *e)
{
    return e->applied;
}

void engine_set_commit(engine *e, uint64_t commit)
{
    if (commit <= e->commit)
        return;
    /* The oldest kept snapshot is committed now: the WAL it covers may go
     * (compact_wal). */
    if (e->cfg.commit_gated && e->commit < e->retained_oldest && commit >= e->retained_oldest)
        e->compact_due = 1;
    e->commit = commit;
}

const engine_config_rec *engine_recovered_configs(const engine *e, size_t *n)
{
    *n = e->ncfgs;
    return e->cfgs;
}

int engine_can_write(const engine *e, size_t bytes, const char **why)
{
    int rc = wal_can_accept(e->w, bytes);
    if (why) {
        if (rc == KVE_FAILED)
            wal_error(e->w, why);
        else if (rc == KVE_NOSPC)
            *why = wal_nospace_reason(e->w);
        else
            *why = "";
    }
    return rc;
}

uint64_t engine_last_lsn(const engine *e)
{
    return wal_last_lsn(e->w);
}

uint64_t engine_last_term(const engine *e)
{
    return wal_last_term(e->w);
}

uint64_t engine_durable_lsn(const engine *e)
{
    return wal_durable_lsn(e->w);
}

int engine_last_snapshot_ok(const engine *e)
{
    return e->last_ok;
}

int engine_failed(const engine *e, const char **msg)
{
    return wal_error(e->w, msg);
}

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                 */
/* ------------------------------------------------------------------------ */

/* The snapshot under way is given up: no image, nothing to publish. */
static void snap_abandon(engine *e)
{
    e->snap_state = SNAP_IDLE;
    e->child = 0;
    char tmp[PATH_MAX];
    snap_tmp_path(tmp, sizeof tmp, e->dir, e->snap_lsn);
    kvfs->unlink(tmp);
}

static void snap_failed(engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void snap_failed(engine *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->last_error, sizeof e->last_error, fmt, ap);
    va_end(ap);
    log_warn("snapshot at LSN %" PRIu64 " failed: %s", e->snap_lsn, e->last_error);
    e->last_ok = 0;
    snap_abandon(e);
}

/* Publishing starts: what publish_work needs of the loop's state is taken
 * here (it runs on a worker). Replicated, a snapshot at or below the
 * commit point is kept besides the newest ones (snap_retain): the newest a
 * follower may be sent. */
static void publish_begin(engine *e)
{
    e->snap_state = SNAP_PUBLISH;
    e->publish_req.data = e;
    e->publish_keep = e->cfg.snapshot_keep;
    e->publish_keep_le = e->cfg.commit_gated ? e->commit : UINT64_MAX;
}

static void publish_work(uv_work_t *req)
{
    engine *e = req->data;
    char tmp[PATH_MAX], path[PATH_MAX];
    snap_tmp_path(tmp, sizeof tmp, e->dir, e->snap_lsn);
    snap_path(path, sizeof path, e->dir, e->snap_lsn);
    e->publish_rc = snap_publish(e->dir, tmp, e->snap_lsn, e->publish_err, sizeof e->publish_err);
    if (e->publish_rc == 0) {
        struct stat st;
        e->publish_bytes = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
        e->publish_oldest = snap_retain(e->dir, e->publish_keep, e->publish_keep_le);
    }
}

/* Retention rule (DESIGN.md §4): delete the WAL segments wholly below
 *   - the oldest snapshot kept (recovery may fall back to it), and, on a
 *     replicated node, only once the commit point has reached it (a
 *     snapshot past commit is never sent to a follower: one needing the
 *     entries it covers could otherwise never catch up; snap_retain keeps
 *     a committed one beside newer ones past commit),
 *   - the unconditional pin (a replica installing a snapshot needs what
 *     follows it; a committed config not yet stored),
 *   - the slowest streaming replica's next entry, but only as far back as
 *     the newest retention_bytes of the WAL: a replica further behind than
 *     that is sent a snapshot instead, so it never holds the disk.
 * Nothing else is kept: without replicas the directory holds the kept
 * snapshots and the WAL written since the oldest of them. */
static void compact_wal(engine *e)
{
    if (e->closing || !e->w)
        return;
    e->compact_due = 0;
    uint64_t upto = e->retained_oldest;
    /* Replicated: only entries a snapshot of committed state covers go. A
     * snapshot past commit (a leader applies as it executes) cannot be
     * sent to a follower, and one that needs those entries could then
     * never catch up; they stay until commit passes the snapshot. */
    if (e->cfg.commit_gated && e->commit < upto)
        upto = 0;
    if (e->pin_keep && e->pin_keep - 1 < upto)
        upto = e->pin_keep - 1;
    if (e->pin_replicas) {
        uint64_t floor = wal_retention_floor(e->w, e->cfg.retention_bytes);
        uint64_t need = e->pin_replicas - 1;
        if (floor - 1 > need)
            need = floor - 1;
        if (need < upto)
            upto = need;
    }
    if (upto && wal_compact(e->w, upto) > 0)
        e->compactions++;
}

static void publish_done(uv_work_t *req, int status)
{
    engine *e = req->data;
    if (status < 0 || e->publish_rc) {
        snap_failed(e, "publish: %s", status < 0 ? "cancelled" : e->publish_err);
        maybe_free_engine(e);
        return;
    }
    e->last_ok = 1;
    e->last_error[0] = '\0';
    e->last_save_time = wall_sec();
    e->last_save_lsn = e->snap_lsn;
    e->last_snap_bytes = e->publish_bytes;
    e->retained_oldest = e->publish_oldest;
    e->last_snap_keys = e->snap_keys;
    e->last_snap_ms = (mono_us() - e->snap_start_us) / 1000;
    e->snapshots_taken++;
    e->snap_state = SNAP_IDLE;
    e->child = 0;
    log_notice("snapshot at LSN %" PRIu64 " saved: %" PRIu64 " keys, %" PRIu64 " bytes, %" PRIu64
               " ms",
               e->snap_lsn, e->snap_keys, e->publish_bytes, e->last_snap_ms);
    compact_wal(e);
    if (e->on_snapshot && !e->closing)
        e->on_snapshot(e->on_snapshot_arg, e->snap_lsn);
    maybe_free_engine(e);
}

/* The image is written; publish it once the WAL holds everything in it. */
static void maybe_publish(engine *e)
{
    if (e->snap_state != SNAP_WAIT_DURABLE || !e->w)
        return;
    const char *msg;
    if (wal_error(e->w, &msg)) {
        snap_failed(e, "WAL failed before the snapshot's entries were durable: %s", msg);
        return;
    }
    if (wal_synced_lsn(e->w) < e->snap_lsn && wal_durable_lsn(e->w) < e->snap_lsn)
        return;
    publish_begin(e);
    if (!e->started || uv_queue_work(e->loop, &e->publish_req, publish_work, publish_done) != 0) {
        publish_work(&e->publish_req);
        publish_done(&e->publish_req, 0);
    }
}

static void reap_child(engine *e, int block)
{
    if (e->snap_state != SNAP_CHILD || e->inc)
        return;
    int st;
    pid_t r;
    do {
        r = waitpid(e->child, &st, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return;
    dict_avoid_resize(0);
    if (r < 0) {
        snap_failed(e, "waitpid %d: %s", (int)e->child, strerror(errno));
        return;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        e->snap_state = SNAP_WAIT_DURABLE;
        maybe_publish(e);
    } else if (WIFSIGNALED(st)) {
        snap_failed(e, "child %d killed by signal %d", (int)e->child, WTERMSIG(st));
    } else {
        snap_failed(e, "child %d exited with status %d (see its log line)", (int)e->child,
                    WEXITSTATUS(st));
    }
}

static void on_sigchld(uv_signal_t *h, int sig)
{
    (void)sig;
    reap_child(h->data, 0);
}

static void on_wal_progress(void *arg)
{
    engine *e = arg;
    maybe_publish(e);
    if (e->on_durable)
        e->on_durable(e->durable_arg);
}

/* Write the image in this process (SAVE, or BGSAVE when forking is off). */
/* rdb-key-save-delay for a writer that runs through (a fork child, SAVE):
 * the keys written since the last check cost that many microseconds each
 * (negative -n: one per n keys), slept at each check as Redis's child
 * sleeps at each key. Set by write_image; one writer per process. */
static int writer_key_delay;
static uint64_t writer_keys_slowed;

/* The snapshot writer's progress hook: into the shared page. */
static void snap_progress_hook(void *arg, progress_job *j)
{
    snap_progress *sp = arg;
    uint64_t owed = progress_delay_us(writer_key_delay, j->done - writer_keys_slowed);
    writer_keys_slowed = j->done;
    if (owed) {
        struct timespec ts = {.tv_sec = (time_t)(owed / 1000000),
                              .tv_nsec = (long)(owed % 1000000) * 1000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    if (sp) {
        atomic_store_explicit(&sp->keys, j->done, memory_order_relaxed);
        atomic_store_explicit(&sp->bytes, j->bytes, memory_order_relaxed);
    }
}

/* Write the image (in a fork child, or in process), logging progress. */
static int write_image(engine *e, const char *tmp, snap_meta *m, char *err, size_t errlen)
{
    progress_job job;
    writer_key_delay = e->cfg.snapshot_key_delay;
    writer_keys_slowed = 0;
    progress_begin(&job, "Writing the snapshot", 1, e->snap_keys, snap_progress_hook, e->sp);
    if (writer_key_delay) {
        job.check_units = 1; /* the hook sleeps at each block of keys written */
        job.next_units = 1;
    }
    int rc = snap_write(e->dbs, e->ndbs, tmp, e->snap_lsn, e->snap_term, m, err, errlen);
    progress_end(&job);
    return rc;
}

static int write_in_process(engine *e, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    snap_tmp_path(tmp, sizeof tmp, e->dir, e->snap_lsn);
    snap_meta m;
    int rc = write_image(e, tmp, &m, err, errlen);
    if (rc) {
        snap_failed(e, "%s", err);
        return rc;
    }
    e->snap_state = SNAP_WAIT_DURABLE;
    return 0;
}

/* The incremental writer finished (or failed). */
static void inc_done(void *arg, int rc, const char *err, const snap_meta *m)
{
    engine *e = arg;
    (void)m;
    e->inc = NULL;
    if (rc) {
        snap_failed(e, "%s", err);
        return;
    }
    e->snap_state = SNAP_WAIT_DURABLE;
    maybe_publish(e);
}

static int begin_snapshot(engine *e, int allow_fork, char *err, size_t errlen)
{
    if (e->snap_state != SNAP_IDLE)
        return kve_fmt(err, errlen, KVE_BUSY, "a snapshot is already in progress");
    const char *msg;
    if (wal_error(e->w, &msg))
        return kve_fmt(err, errlen, KVE_FAILED, "WAL failed: %s", msg);
    /* The image is the keyspace: it holds the entries up to applied. */
    e->snap_lsn = e->applied;
    e->snap_term = e->applied == wal_last_lsn(e->w) ? wal_last_term(e->w)
                                                   : wal_term_at(e->w, e->applied);
    e->snap_keys = count_keys(e);
    e->snap_start_us = mono_us();
    if (e->sp) {
        atomic_store(&e->sp->keys, 0);
        atomic_store(&e->sp->bytes, 0);
    }
    e->bytes_since_save = 0;
    e->changes_since_save = 0;
    if (e->snap_lsn == e->last_save_lsn && e->snap_lsn) {
        /* Nothing new since the last snapshot: it already is this image. */
        char path[PATH_MAX];
        snap_path(path, sizeof path, e->dir, e->snap_lsn);
        if (access(path, F_OK) == 0) {
            e->last_save_time = wall_sec();
            e->last_ok = 1;
            return 0;
        }
    }
    if (allow_fork && !e->cfg.snapshot_fork && e->started) {
        /* No fork: the loop writes the image a slice at a time. */
        char tmp[PATH_MAX];
        snap_tmp_path(tmp, sizeof tmp, e->dir, e->snap_lsn);
        int rc = snapinc_start(&e->inc, e->loop, e->dbs, e->ndbs, tmp, e->snap_lsn, e->snap_term,
                               e->cfg.snapshot_key_delay, inc_done, e, err, errlen);
        if (rc)
            return rc;
        e->snap_state = SNAP_CHILD;
        log_notice("background snapshot at LSN %" PRIu64 " started (no fork)", e->snap_lsn);
        return 0;
    }
    if (!allow_fork || !e->cfg.snapshot_fork) {
        e->snap_state = SNAP_CHILD; /* for snap_failed's bookkeeping */
        int rc = write_in_process(e, err, errlen);
        if (rc)
            return rc;
        /* SAVE (no fork allowed) publishes synchronously in engine_save;
         * publishing from the thread pool here would let SAVE return
         * before the snapshot exists. */
        if (allow_fork)
            maybe_publish(e);
        return 0;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return kve_fmt(err, errlen, KVE_NOMEM, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Child: write the image and exit; die with the parent. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        log_set_role('C');
        char tmp[PATH_MAX], cerr[512];
        snap_tmp_path(tmp, sizeof tmp, e->dir, e->snap_lsn);
        snap_meta m;
        int rc = write_image(e, tmp, &m, cerr, sizeof cerr);
        if (rc)
            log_warn("snapshot child: %s", cerr);
        _exit(rc ? 1 : 0);
    }
    e->child = pid;
    e->snap_state = SNAP_CHILD;
    dict_avoid_resize(1);
    log_notice("background snapshot at LSN %" PRIu64 " started by pid %d", e->snap_lsn, (int)pid);
    return 0;
}

int engine_bgsave(engine *e, char *err, size_t errlen)
{
    return begin_snapshot(e, 1, err, errlen);
}

int engine_save(engine *e, char *err, size_t errlen)
{
    int rc = begin_snapshot(e, 0, err, errlen);
    if (rc)
        return rc;
    if (e->snap_state == SNAP_IDLE)
        return 0;
    /* SAVE blocks: make the WAL durable and publish right here. */
    rc = wal_flush_wait(e->w);
    if (rc) {
        snap_failed(e, "WAL failed");
        return kve_fmt(err, errlen, KVE_FAILED, "WAL failed before the snapshot was published");
    }
    if (e->snap_state == SNAP_WAIT_DURABLE) {
        publish_begin(e);
        publish_work(&e->publish_req);
        publish_done(&e->publish_req, 0);
    }
    if (!e->last_ok)
        return kve_fmt(err, errlen, KVE_IO, "%s", e->last_error);
    return 0;
}

/* DEBUG RELOAD's own snapshot supersedes a background one under way, as
 * Redis's synchronous save does not wait for its child: one still being
 * written is stopped (no failure for INFO: the new one replaces it), one
 * written and waiting for the WAL is published now. 0, or KVE_BUSY while
 * one is being published (a moment). */
static int supersede_snapshot(engine *e, char *err, size_t errlen)
{
    if (e->snap_state == SNAP_CHILD) {
        log_notice("background snapshot at LSN %" PRIu64 " stopped: DEBUG RELOAD takes its own",
                   e->snap_lsn);
        stop_snapshot_child(e, 0);
    }
    if (e->snap_state == SNAP_WAIT_DURABLE && wal_flush_wait(e->w) == 0) {
        publish_begin(e);
        publish_work(&e->publish_req);
        publish_done(&e->publish_req, 0);
    }
    if (e->snap_state != SNAP_IDLE)
        return kve_fmt(err, errlen, KVE_BUSY, "a snapshot is being published");
    return 0;
}

int engine_reload(engine *e, char *err, size_t errlen)
{
    if (e->eb.ncmds)
        return kve_fmt(err, errlen, KVE_BUSY, "effects of the current command are not logged yet");
    int rc = supersede_snapshot(e, err, errlen);
    if (rc)
        return rc;
    rc = engine_save(e, err, errlen);
    if (rc)
        return rc;
    uint64_t lsn = wal_last_lsn(e->w);
    if (e->last_save_lsn != lsn)
        return kve_fmt(err, errlen, KVE_INVAL,
                       "the snapshot is at LSN %" PRIu64 " but the log ends at %" PRIu64,
                       e->last_save_lsn, lsn);
    char path[PATH_MAX];
    snap_path(path, sizeof path, e->dir, lsn);
    snap_meta m;
    rc = snap_verify(path, &m, err, errlen);
    if (rc)
        return rc;
    clear_dbs(e);
    rc = snap_load(path, e->dbs, e->ndbs, &m, err, errlen);
    if (rc) {
        log_warn("DEBUG RELOAD: loading %s failed after it verified: %s; exiting, the data "
                 "is on disk",
                 path, err);
        _exit(1);
    }
    log_notice("DB reloaded by DEBUG RELOAD: %" PRIu64 " keys at LSN %" PRIu64, m.keys, lsn);
    return 0;
}

/* What a key costs a snapshot, in bytes of WAL (engine_cron). */
#define SNAP_KEY_COST 64

void engine_cron(engine *e)
{
    reap_child(e, 0);
    maybe_publish(e);
    if (e->compact_due && e->snap_state == SNAP_IDLE)
        compact_wal(e);
    if (e->snap_state != SNAP_IDLE || wal_error(e->w, NULL))
        return;
    /* WAL growth since the last snapshot point. Recovery keeps the WAL
     * back to the oldest of the `snapshot_keep` snapshots, that is about
     * snapshot_keep such intervals: one interval is snapshot_wal_min /
     * snapshot_keep, so the WAL on disk stays near snapshot_wal_min, or
     * (a large keyspace) snapshot_wal_pct of the last snapshot's size, so
     * a snapshot's cost stays proportional to the WAL it lets go. Its size
     * counts each key as at least SNAP_KEY_COST bytes: the walk's cache
     * misses make a key cost about that much whatever its length, and a
     * keyspace of many small keys would otherwise be snapshotted more
     * often than the writes can pay for (1M keys of a few bytes: a 22 MB
     * snapshot every 32 MB of WAL took 15% of SET -P 16's throughput). */
    uint64_t need = e->cfg.snapshot_wal_min / (uint64_t)e->cfg.snapshot_keep;
    uint64_t size = e->last_snap_bytes;
    if (e->last_snap_keys * SNAP_KEY_COST > size)
        size = e->last_snap_keys * SNAP_KEY_COST;
    uint64_t grown = size * (uint64_t)e->cfg.snapshot_wal_pct / 100;
    if (grown > need)
        need = grown;
    /* And the WAL recovery keeps (since the oldest snapshot kept) past
     * snapshot_keep intervals: snapshots that could not keep up with the
     * writes (one at a time) are caught up once anything new is logged. */
    uint64_t held = e->retained_oldest ? wal_bytes_from(e->w, e->retained_oldest + 1) : 0;
    int why = 0;
    if (need && e->bytes_since_save >= need)
        why = 1;
    else if (need && e->bytes_since_save > 0 && held >= need * (uint64_t)e->cfg.snapshot_keep)
        why = 1;
    else
        for (int i = 0; i < e->cfg.nsave && !why; i++)
            if (e->changes_since_save > 0 &&
                e->changes_since_save >= (uint64_t)e->cfg.save_changes[i] &&
                wall_sec() - e->last_save_time >= e->cfg.save_seconds[i])
                why = 2;
    if (!why)
        return;
    /* A failed attempt is retried no sooner than 5 seconds later. */
    if (!e->last_ok && mono_us() - e->last_try_us < 5000000)
        return;
    e->last_try_us = mono_us();
    char err[256];
    log_notice("starting a snapshot: %s", why == 1 ? "WAL grew" : "scheduled");
    if (engine_bgsave(e, err, sizeof err) != 0)
        log_warn("could not start a snapshot: %s", err);
}

static void on_cron(uv_timer_t *t)
{
    engine_cron(t->data);
}

void engine_pin_wal(engine *e, uint64_t replicas, uint64_t keep)
{
    /* Released or moved forward: what it held may go now. */
    if ((e->pin_replicas && (!replicas || replicas > e->pin_replicas)) ||
        (e->pin_keep && (!keep || keep > e->pin_keep)))
        e->compact_due = 1;
    e->pin_replicas = replicas;
    e->pin_keep = keep;
}

void engine_get_stats(const engine *e, engine_stats *st)
{
    memset(st, 0, sizeof *st);
    st->bgsave_in_progress = e->snap_state != SNAP_IDLE;
    st->bgsave_pid = e->snap_state == SNAP_CHILD ? e->child : 0;
    st->last_bgsave_ok = e->last_ok;
    st->last_save_time = e->last_save_time;
    st->last_save_lsn = e->last_save_lsn;
    st->last_snapshot_bytes = e->last_snap_bytes;
    st->last_snapshot_keys = e->last_snap_keys;
    st->last_snapshot_ms = e->last_snap_ms;
    st->snapshots_taken = e->snapshots_taken;
    st->changes_since_save = e->changes_since_save;
    st->wal_bytes_since_save = e->bytes_since_save;
    st->wal_compactions = e->compactions;
    snprintf(st->last_error, sizeof st->last_error, "%s", e->last_error);
    if (st->bgsave_in_progress) {
        st->snapshot_keys_total = e->snap_keys;
        if (e->inc) {
            st->snapshot_keys_done = snapinc_keys(e->inc);
            st->snapshot_bytes_done = snapinc_bytes(e->inc);
        } else {
            st->snapshot_keys_done = e->sp ? atomic_load(&e->sp->keys) : 0;
            st->snapshot_bytes_done = e->sp ? atomic_load(&e->sp->bytes) : 0;
        }
        st->snapshot_elapsed_ms = (mono_us() - e->snap_start_us) / 1000;
    }
    wal_get_stats(e->w, &st->wal);
    kvfs_disk_space(e->dir, &st->disk_free_bytes, &st->disk_total_bytes);
}

/* ------------------------------------------------------------------------ */
/* Replication                                                               */
/* ------------------------------------------------------------------------ */

wal *engine_wal(engine *e)
{
    return e->w;
}

int engine_append_raw(engine *e, const uint8_t *rec, size_t len)
{
    int rc = wal_append_raw(e->w, rec, len);
    if (!rc) {
        e->bytes_since_save += len;
        e->changes_since_save++;
    }
    return rc;
}

/* Apply one record; live: streamed from the primary (announced), not a
 * rebuild from disk. */
static int apply_one(engine *e, const wal_record *rec, int live, char *err, size_t errlen)
{
    e->applying_record += live;
    int rc = replay_record(&e->rctx, rec, err, errlen);
    e->applying_record -= live;
    if (!rc && rec->lsn > e->applied)
        e->applied = rec->lsn;
    return rc;
}

int engine_apply_record(engine *e, const wal_record *rec, char *err, size_t errlen)
{
    return apply_one(e, rec, 1, err, errlen);
}

static int apply_batch(engine *e, const uint8_t *p, size_t len, int live, char *err,
                       size_t errlen)
{
    size_t off = 0;
    int rc = 0;
    while (!rc && off < len) {
        wal_record r;
        long m = wal_decode_record(p + off, len - off, &r);
        if (m <= 0)
            return kve_fmt(err, errlen, KVE_CORRUPT, "invalid record at byte %zu of a batch",
                           off);
        if (r.lsn > e->applied) {
            rc = apply_one(e, &r, live, err, errlen);
            if (rc)
                kve_wrap(err, errlen, rc, "applying LSN %" PRIu64, r.lsn);
        }
        off += (size_t)m;
    }
    arena_reset(&e->rctx.ar);
    return rc;
}

int engine_apply_records(engine *e, const uint8_t *p, size_t len, char *err, size_t errlen)
{
    return apply_batch(e, p, len, 1, err, errlen);
}

int engine_applying_record(const engine *e)
{
    return e->applying_record > 0;
}

/* Replay the log from after lsn `from` up to `upto` into the keyspace. */
static int replay_from_disk(engine *e, uint64_t from, uint64_t upto, char *err, size_t errlen)
{
    wal_cursor cur = {from + 1, 0, 0};
    wal_rbuf buf = {0};
    int rc = 0;
    while (!rc && cur.next_lsn <= upto) {
        buf.len = 0;
        long n = wal_read(e->dir, &cur, upto, 4 << 20, &buf, err, errlen);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        if (n == 0) {
            rc = kve_fmt(err, errlen, KVE_NOTFOUND, "the log ends before LSN %" PRIu64,
                         cur.next_lsn);
            break;
        }
        rc = apply_batch(e, buf.p, buf.len, 0, err, errlen);
    }
    wal_rbuf_free(&buf);
    return rc;
}

/* Forget every snapshot newer than lsn (they hold entries being cut). */
static void drop_snapshots_after(engine *e, uint64_t lsn)
{
    uint64_t *lsns;
    int n = snap_list(e->dir, &lsns);
    for (int i = 0; i < n; i++) {
        if (lsns[i] > lsn) {
            char path[PATH_MAX];
            snap_path(path, sizeof path, e->dir, lsns[i]);
            log_warn("dropping snapshot %s: it holds entries after LSN %" PRIu64
                     " that are being cut",
                     path, lsn);
            kvfs->unlink(path);
        }
    }
    kvfs_fsync_dir(e->dir);
    free(lsns);
    if (e->last_save_lsn > lsn)
        e->last_save_lsn = 0;
}

/* Stop the snapshot being written (the loop's walk, or the forked child,
 * killed and reaped): a failure for INFO, or, without `failure`, simply
 * given up (another snapshot replaces it). */
static void stop_snapshot_child(engine *e, int failure)
{
    if (e->snap_state != SNAP_CHILD)
        return;
    if (e->inc) {
        snapinc_abort(e->inc);
        e->inc = NULL;
    } else {
        kill(e->child, SIGKILL);
        while (waitpid(e->child, NULL, 0) < 0 && errno == EINTR)
            ;
        dict_avoid_resize(0);
    }
    if (failure)
        snap_failed(e, "stopped before the image was complete");
    else
        snap_abandon(e);
}

/* Load the keyspace back from disk up to keep_lsn: the newest snapshot,
 * then the WAL after it. */
static int rebuild_from_disk(engine *e, uint64_t keep_lsn, char *err, size_t errlen)
{
    clear_dbs(e);
    snap_meta sm;
    int broken = 0;
    int rc = snap_load_latest(e->dir, e->dbs, e->ndbs, &sm, &broken, err, errlen);
    e->applied = rc ? 0 : sm.lsn;
    if (rc)
        return rc;
    if (sm.lsn > keep_lsn)
        return kve_fmt(err, errlen, KVE_CORRUPT, "snapshot %" PRIu64 " after the cut", sm.lsn);
    if (sm.lsn < keep_lsn && sm.lsn + 1 < wal_first_lsn(e->w)) {
        clear_dbs(e);
        return kve_fmt(err, errlen, KVE_NOTFOUND,
                       "rebuilding to LSN %" PRIu64 " needs entries from %" PRIu64
                       " that are no longer on disk",
                       keep_lsn, sm.lsn + 1);
    }
    rc = replay_from_disk(e, sm.lsn, keep_lsn, err, errlen);
    if (rc) {
        clear_dbs(e);
        e->applied = 0;
    } else {
        e->applied = keep_lsn;
        log_notice("keyspace rebuilt from disk up to LSN %" PRIu64 " (snapshot %" PRIu64 ")",
                   keep_lsn, sm.lsn);
    }
    return rc;
}

int engine_truncate(engine *e, uint64_t keep_lsn, int reload, char *err, size_t errlen)
{
    stop_snapshot_child(e, 1);
    int rc = wal_truncate_after(e->w, keep_lsn, err, errlen);
    if (rc)
        return rc;
    if (!reload) {
        if (e->applied > keep_lsn)
            e->applied = keep_lsn;
        return 0;
    }
    if (e->snap_state == SNAP_WAIT_DURABLE && e->snap_lsn > keep_lsn)
        snap_failed(e, "its entries after LSN %" PRIu64 " were cut", keep_lsn);
    drop_snapshots_after(e, keep_lsn);
    return rebuild_from_disk(e, keep_lsn, err, errlen);
}

int engine_reload_disk(engine *e, char *err, size_t errlen)
{
    if (e->eb.ncmds)
        return kve_fmt(err, errlen, KVE_BUSY, "effects of the current command are not logged yet");
    /* What memory holds must be in the files before it is read back. */
    if (wal_flush_wait(e->w))
        return kve_fmt(err, errlen, KVE_FAILED, "the WAL failed: its entries are not all on disk");
    uint64_t upto = e->applied;
    int rc = rebuild_from_disk(e, upto, err, errlen);
    if (rc) {
        /* The keyspace no longer holds what the log says it does. */
        log_warn("DEBUG RELOAD NOSAVE: rebuilding from disk failed: %s; exiting, the data is on "
                 "disk",
                 err);
        _exit(1);
    }
    log_notice("DB reloaded by DEBUG RELOAD NOSAVE: up to LSN %" PRIu64, upto);
    return 0;
}

static int install_snapshot(engine *e, const char *tmp_path, uint64_t lsn, uint64_t term,
                            char *err, size_t errlen);

/* The file is read twice (verified, then loaded): progress counts both. */
int engine_install_snapshot(engine *e, const char *tmp_path, uint64_t lsn, uint64_t term,
                            char *err, size_t errlen)
{
    struct stat st;
    uint64_t size = stat(tmp_path, &st) == 0 ? (uint64_t)st.st_size : 0;
    progress_job job;
    progress_begin(&job, "Installing the snapshot received from the leader", 0, 2 * size,
                   e->cfg.load_progress, e->cfg.load_progress_arg);
    int rc = install_snapshot(e, tmp_path, lsn, term, err, errlen);
    progress_end(&job);
    return rc;
}

static int install_snapshot(engine *e, const char *tmp_path, uint64_t lsn, uint64_t term,
                            char *err, size_t errlen)
{
    stop_snapshot_child(e, 1);
    snap_meta m;
    int rc = snap_verify(tmp_path, &m, err, errlen);
    if (rc)
        return rc;
    if (m.lsn != lsn || m.term != term)
        return kve_fmt(err, errlen, KVE_CORRUPT,
                       "received snapshot is at LSN %" PRIu64 " term %" PRIu64
                       ", expected %" PRIu64 "/%" PRIu64,
                       m.lsn, m.term, lsn, term);
    /* Publish first: a crash before the log reset leaves a snapshot that
     * supersedes the old log, which recovery sets aside (wal_recovery.c). */
    wal_flush_wait(e->w);
    rc = snap_publish(e->dir, tmp_path, lsn, err, errlen);
    if (rc)
        return rc;
    uint64_t *lsns;
    int n = snap_list(e->dir, &lsns);
    for (int i = 0; i < n; i++) {
        if (lsns[i] != lsn) {
            char path[PATH_MAX];
            snap_path(path, sizeof path, e->dir, lsns[i]);
            kvfs->unlink(path);
        }
    }
    free(lsns);
    rc = wal_reset(e->w, lsn, term, err, errlen);
    if (rc)
        return rc;
    /* Redis's replica-lazy-flush: the old data goes to the lazyfree
     * thread instead of holding up the load. */
    for (int i = 0; i < e->ndbs; i++)
        ks_clear_lazy(e->dbs[i], e->lazy_flush);
    char path[PATH_MAX];
    snap_path(path, sizeof path, e->dir, lsn);
    kv_bulk_begin((size_t)m.bytes);
    rc = snap_load(path, e->dbs, e->ndbs, &m, err, errlen);
    kv_bulk_end();
    if (rc) {
        clear_dbs(e);
        return rc;
    }
    e->term = term > e->term ? term : e->term;
    e->applied = lsn;
    if (e->commit < lsn)
        e->commit = lsn;
    e->last_save_lsn = lsn;
    e->last_save_time = wall_sec();
    e->last_snap_bytes = m.bytes;
    e->last_snap_keys = m.keys;
    e->retained_oldest = lsn;
    e->bytes_since_save = 0;
    e->changes_since_save = 0;
    log_notice("installed a snapshot at LSN %" PRIu64 " term %" PRIu64 ": %" PRIu64 " keys",
               lsn, term, m.keys);
    return 0;
}

int engine_wipe(engine *e, char *err, size_t errlen)
{
    stop_snapshot_child(e, 1);
    drop_snapshots_after(e, 0);
    int rc = wal_reset(e->w, 0, 0, err, errlen);
    clear_dbs(e);
    ks_aux_clear(engine_ks(e));
    e->applied = 0;
    e->commit = 0;
    e->last_save_lsn = 0;
    e->retained_oldest = 0;
    return rc;
}

int engine_latest_snapshot(engine *e, uint64_t max_lsn, uint64_t *lsn, uint64_t *term, char *path,
                           size_t len)
{
    uint64_t *lsns;
    int n = snap_list(e->dir, &lsns);
    int rc = KVE_NOTFOUND;
    for (int i = 0; i < n && rc; i++) {
        if (lsns[i] > max_lsn)
            continue;
        char p[PATH_MAX], err[256];
        snap_path(p, sizeof p, e->dir, lsns[i]);
        snap_meta m;
        if (snap_read_header(p, &m, err, sizeof err) == 0 && m.lsn == lsns[i]) {
            *lsn = m.lsn;
            *term = m.term;
            snprintf(path, len, "%s", p);
            rc = 0;
        }
    }
    free(lsns);
    return rc;
}

void engine_on_snapshot(engine *e, void (*cb)(void *arg, uint64_t lsn), void *arg)
{
    e->on_snapshot = cb;
    e->on_snapshot_arg = arg;
}
