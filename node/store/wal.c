/* wal.c — the write-ahead log (see wal.h for the contract).
 *
 * Files in the data directory:
 *   wal-<first LSN, 20 digits>.log   segments, in LSN order, no gaps
 *   wal-spare-<n>.tmp                a zero-filled segment being prepared
 *   <segment>.broken                 copy of a segment whose torn tail was cut
 *
 * Segment layout (all integers little-endian):
 *   0   8  magic "KVWALSEG"
 *   8   4  format version (1)
 *   12  4  reserved (0)
 *   16  8  LSN of the first record (equals the LSN in the file name)
 *   24  4  reserved (0)
 *   28  4  CRC32C of bytes 0..27
 *   32  …  records back to back; zeros after the last one
 *
 * Record layout:
 *   0   4  CRC32C of bytes 4 .. 32+len-1 (the rest of the header + payload)
 *   4   4  payload length `len` (<= 1 GiB)
 *   8   8  LSN
 *   16  8  term
 *   24  2  type (1 = commands, 2 = no-op, 3 = membership config)
 *   26  2  flags (0)
 *   28  4  reserved (0)
 *   32  len  payload (a packed kv.WalEntry)
 *   …   zero padding to a multiple of 8 bytes
 * These exact bytes are what replicas receive and store.
 *
 * A record is valid when its CRC matches, its type is known, flags and
 * reserved are zero, and its padding is zero. Recovery walks each segment:
 * in every segment but the last, valid records with consecutive LSNs are
 * followed only by zeros. In the last segment, the first invalid record
 * starts either a torn tail (no valid record anywhere after it: the tail is
 * cut and reported) or corruption (a valid record follows: refuse to start,
 * naming file and offset). This is possible because a segment is always
 * fully synced before the next one is created.
 *
 * Group commit. The loop thread appends framed records into `fill`. At the
 * end of every loop iteration (uv_prepare and uv_check) `fill` is handed to
 * the WAL thread, which writes the batch (switching segments at the points
 * the loop chose), fdatasyncs per policy, publishes written/synced LSNs and
 * wakes the loop. One batch is in flight while the next fills; the exact
 * hand-off is the state machine drawn above kick() below.
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
#include "wal.h"

#include "crc32c.h"
#include "endian.h"
#include "err.h"
#include "fsio.h"
#include "log.h"
#include "mem.h"
#include "progress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEG_MAGIC "KVWALSEG"
#define SEG_VERSION 1u

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ------------------------------------------------------------------------ */
/* Record framing                                                            */
/* ------------------------------------------------------------------------ */

size_t wal_record_size(size_t len)
{
    return WAL_REC_HDR + pad8(len);
}

static void frame_header(uint8_t *out, uint64_t lsn, uint64_t term, int type, size_t len)
{
    le_put32(out + 4, (uint32_t)len);
    le_put64(out + 8, lsn);
    le_put64(out + 16, term);
    le_put16(out + 24, (uint16_t)type);
    le_put16(out + 26, 0);
    le_put32(out + 28, 0);
    memset(out + WAL_REC_HDR + len, 0, pad8(len) - len);
    le_put32(out, crc32c(0, out + 4, WAL_REC_HDR - 4 + len));
}

void wal_encode_record(uint8_t *out, uint64_t lsn, uint64_t term, int type, const void *payload,
                       size_t len)
{
    if (len)
        memcpy(out + WAL_REC_HDR, payload, len);
    frame_header(out, lsn, term, type, len);
}

long wal_decode_record(const uint8_t *p, size_t n, wal_record *rec)
{
    if (n < WAL_REC_HDR)
        return 0;
    uint32_t len = le_get32(p + 4);
    int type = le_get16(p + 24);
    if (len > WAL_MAX_PAYLOAD ||
        (type != WAL_REC_COMMANDS && type != WAL_REC_NOOP && type != WAL_REC_CONFIG) ||
        le_get16(p + 26) != 0 || le_get32(p + 28) != 0)
        return -1;
    size_t total = wal_record_size(len);
    if (n < total)
        return 0;
    if (crc32c(0, p + 4, WAL_REC_HDR - 4 + len) != le_get32(p))
        return -1;
    for (size_t i = WAL_REC_HDR + len; i < total; i++)
        if (p[i])
            return -1;
    rec->lsn = le_get64(p + 8);
    rec->term = le_get64(p + 16);
    rec->type = type;
    rec->payload = p + WAL_REC_HDR;
    rec->len = len;
    rec->raw = p;
    rec->raw_len = total;
    return (long)total;
}

void wal_peek_record(const uint8_t *p, wal_record *rec)
{
    uint32_t len = le_get32(p + 4);
    rec->lsn = le_get64(p + 8);
    rec->term = le_get64(p + 16);
    rec->type = le_get16(p + 24);
    rec->payload = p + WAL_REC_HDR;
    rec->len = len;
    rec->raw = p;
    rec->raw_len = wal_record_size(len);
}

static void encode_seg_header(uint8_t *h, uint64_t first_lsn)
{
    memset(h, 0, WAL_SEG_HDR);
    memcpy(h, SEG_MAGIC, 8);
    le_put32(h + 8, SEG_VERSION);
    le_put64(h + 16, first_lsn);
    le_put32(h + 28, crc32c(0, h, 28));
}

/* ------------------------------------------------------------------------ */
/* State                                                                     */
/* ------------------------------------------------------------------------ */

/* A growable byte buffer private to the WAL (plain malloc: the WAL thread
 * frees batches too). */
typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
} wbuf;

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
        abort();
    }
    b->p = p;
    b->cap = cap;
}

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

struct wal {
    /* configuration */
    char dir[PATH_MAX];
    uint64_t seg_size;
    _Atomic int policy;
    int prealloc;

    /* loop-thread state */
    uv_loop_t *loop;
    uv_async_t async;
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
    char nospace[160];
    uint64_t records_appended;
    uint64_t bytes_since_compact;
    /* stall watchdog (loop thread) */
    uint64_t stall_warn_ms;  /* warn once durable is stuck this long */
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

    /* published by the writer (the WAL thread, or the loop on the fast
     * path); both only grow, synced <= written <= last_lsn */
    _Atomic uint64_t written_lsn;
    _Atomic uint64_t synced_lsn;
    /* written_lsn when the policy last became "always": replies up to it
     * were already released, so durable_lsn never moves back */
    _Atomic uint64_t durable_floor;
    _Atomic int err;
    char errmsg[256];
    _Atomic uint64_t batches, syncs, last_sync_us;
    _Atomic uint64_t sync_hist[WAL_SYNC_BUCKETS], sync_us_total;

    /* WAL-thread state */
    int fd;
    uint64_t off;           /* write offset in the current segment */
    _Atomic uint64_t last_sync_ms; /* when the last fdatasync began (everysec) */
};

static void seg_name(char *out, size_t n, const char *dir, uint64_t first_lsn)
{
    snprintf(out, n, "%s/wal-%020" PRIu64 ".log", dir, first_lsn);
}

static void spare_name(char *out, size_t n, const char *dir, int id)
{
    snprintf(out, n, "%s/wal-spare-%d.tmp", dir, id);
}

static void segs_push(wal *w, uint64_t first_lsn)
{
    if (w->nsegs == w->capsegs) {
        w->capsegs = w->capsegs ? w->capsegs * 2 : 16;
        w->segs = kv_realloc(w->segs, w->capsegs * sizeof *w->segs);
    }
    w->segs[w->nsegs].first_lsn = first_lsn;
    w->segs[w->nsegs].bytes = 0;
    w->nsegs++;
}

static void hist_push(wal *w, uint64_t term, uint64_t lsn)
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
static void hist_note(wal *w, uint64_t term, uint64_t lsn)
{
    if (!w->nhist || w->hist[w->nhist - 1].term != term)
        hist_push(w, term, lsn);
}

static void hist_prepend(wal *w, uint64_t term, uint64_t lsn)
{
    hist_push(w, term, lsn);
    memmove(w->hist + 1, w->hist, (w->nhist - 1) * sizeof *w->hist);
    w->hist[0].term = term;
    w->hist[0].first_lsn = lsn;
}

/* ------------------------------------------------------------------------ */
/* Recovery                                                                  */
/* ------------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* List segment first-LSNs in dir, sorted. */
static int list_segments(const char *dir, uint64_t **out, size_t *n, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return kve_fmt(err, errlen, KVE_IO, "open directory %s: %s", dir, strerror(errno));
    uint64_t *v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t lsn;
        char tail[8];
        int used = 0;
        if (strlen(de->d_name) != 28 ||
            sscanf(de->d_name, "wal-%20" SCNu64 ".%3s%n", &lsn, tail, &used) != 2 ||
            strcmp(tail, "log") != 0 || used != 28)
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            v = kv_realloc(v, cap * sizeof *v);
        }
        v[cnt++] = lsn;
    }
    closedir(d);
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_u64);
    *out = v;
    *n = cnt;
    return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Is there a valid record anywhere in p[from..n)? (8-byte steps) */
static int valid_record_after(const uint8_t *p, size_t n, size_t from)
{
    for (size_t o = from; o + WAL_REC_HDR <= n; o += 8) {
        wal_record r;
        if (wal_decode_record(p + o, n - o, &r) > 0)
            return 1;
    }
    return 0;
}

typedef struct scan_ctx {
    const char *dir;
    uint64_t after_lsn;
    uint64_t after_term;
    uint64_t expect_lsn; /* next LSN we must see; 0 = not known yet */
    uint64_t last_term;
    wal_apply_fn apply;
    void *arg;
    wal_recovery *info;
    wal *w;
} scan_ctx;

/* Verify and replay one segment. *end_off is where the next record would
 * go (for the last segment). Returns 0 or a KVE_* code with err set. */
static int scan_segment(scan_ctx *sc, uint64_t first_lsn, int is_last, uint64_t *end_off,
                        uint64_t *rec_bytes, char *err, size_t errlen)
{
    char path[PATH_MAX];
    seg_name(path, sizeof path, sc->dir, first_lsn);
    kvfs_map map;
    int rc = kvfs_map_file(path, &map);
    if (rc < 0)
        return kve_fmt(err, errlen, KVE_IO, "read %s: %s", path, strerror(-rc));
    const uint8_t *p = (const uint8_t *)map.p;
    size_t size = map.len;
    sc->info->segments_scanned++;
    *rec_bytes = 0;

    if (sc->expect_lsn && first_lsn != sc->expect_lsn) {
        kvfs_unmap(&map);
        return kve_fmt(err, errlen, KVE_CORRUPT,
                       "%s: segment starts at LSN %" PRIu64 " but LSN %" PRIu64
                       " was expected (a segment is missing)",
                       path, first_lsn, sc->expect_lsn);
    }

    /* Header. An all-zero (or absent) header is legal only for the last
     * segment: it was created and the crash came before its first write. */
    if (size < WAL_SEG_HDR || all_zero(p, WAL_SEG_HDR)) {
        if (is_last && all_zero(p, size)) {
            kvfs_unmap(&map);
            *end_off = WAL_SEG_HDR;
            sc->expect_lsn = first_lsn;
            return 1; /* empty: caller rewrites the header */
        }
        kvfs_unmap(&map);
        return kve_fmt(err, errlen, KVE_CORRUPT, "%s: offset 0: missing segment header", path);
    }
    if (memcmp(p, SEG_MAGIC, 8) != 0 || le_get32(p + 8) != SEG_VERSION ||
        crc32c(0, p, 28) != le_get32(p + 28) || le_get64(p + 16) != first_lsn) {
        kvfs_unmap(&map);
        return kve_fmt(err, errlen, KVE_CORRUPT,
                       "%s: offset 0: bad segment header (magic, version, crc or LSN)", path);
    }

    size_t off = WAL_SEG_HDR;
    uint64_t expect = first_lsn;
    while (off < size) {
        wal_record rec;
        long n = wal_decode_record(p + off, size - off, &rec);
        if (n > 0 && rec.lsn != expect) {
            kvfs_unmap(&map);
            return kve_fmt(err, errlen, KVE_CORRUPT,
                           "%s: offset %zu: record has LSN %" PRIu64 ", expected %" PRIu64, path,
                           off, rec.lsn, expect);
        }
        if (n > 0 && rec.term < sc->last_term) {
            kvfs_unmap(&map);
            return kve_fmt(err, errlen, KVE_CORRUPT,
                           "%s: offset %zu: LSN %" PRIu64 " has term %" PRIu64
                           ", lower than the term %" PRIu64 " before it",
                           path, off, rec.lsn, rec.term, sc->last_term);
        }
        if (n <= 0) {
            /* End of records: zeros to the end is a clean end. */
            if (all_zero(p + off, size - off))
                break;
            if (!is_last || valid_record_after(p, size, off + 8)) {
                kvfs_unmap(&map);
                return kve_fmt(err, errlen, KVE_CORRUPT,
                               "%s: offset %zu: invalid record%s (LSN %" PRIu64
                               " expected); refusing to skip over logged data",
                               path, off, is_last ? " followed by valid records" : "", expect);
            }
            /* Torn tail: keep a copy, cut it, report it. */
            size_t last_nz = size;
            while (last_nz > off && p[last_nz - 1] == 0)
                last_nz--;
            char broken[PATH_MAX + 8];
            snprintf(broken, sizeof broken, "%s.broken", path);
            int crc = kvfs_copy_file(path, broken);
            if (crc < 0) {
                kvfs_unmap(&map);
                return kve_fmt(err, errlen, KVE_IO, "keep copy %s: %s", broken, strerror(-crc));
            }
            int fd = kvfs->open(path, O_WRONLY, 0);
            int trc = fd < 0 ? -errno : 0;
            if (!trc && kvfs->ftruncate(fd, (off_t)off) < 0)
                trc = -errno;
            if (!trc && kvfs->fsync(fd) < 0)
                trc = -errno;
            if (fd >= 0)
                kvfs->close(fd);
            if (trc) {
                kvfs_unmap(&map);
                return kve_fmt(err, errlen, KVE_IO, "truncate torn tail of %s: %s", path,
                               strerror(-trc));
            }
            sc->info->bytes_truncated += last_nz - off;
            snprintf(sc->info->truncated_file, sizeof sc->info->truncated_file, "%s", path);
            log_warn("WAL %s: torn tail at offset %zu (%zu bytes) cut after LSN %" PRIu64
                     "; copy kept in %s",
                     path, off, last_nz - off, expect - 1, broken);
            break;
        }
        if (rec.lsn == sc->after_lsn && rec.term != sc->after_term) {
            /* The snapshot was installed from a primary whose history
             * differs from this log (the crash came before the log was
             * reset): the snapshot supersedes the whole log. Nothing after
             * it has been applied yet. */
            kvfs_unmap(&map);
            kve_fmt(err, errlen, KVE_CORRUPT,
                    "%s: offset %zu: LSN %" PRIu64 " has term %" PRIu64
                    " but the snapshot says term %" PRIu64,
                    path, off, rec.lsn, rec.term, sc->after_term);
            return 2;
        }
        sc->info->records_scanned++;
        if (rec.lsn > sc->after_lsn) {
            int arc = sc->apply ? sc->apply(sc->arg, &rec, err, errlen) : 0;
            if (arc < 0) {
                kvfs_unmap(&map);
                return kve_wrap(err, errlen, arc, "%s: offset %zu: replay LSN %" PRIu64, path,
                                off, rec.lsn);
            }
            sc->info->entries_replayed++;
        }
        sc->last_term = rec.term;
        hist_note(sc->w, rec.term, rec.lsn);
        expect++;
        off += (size_t)n;
        *rec_bytes += (uint64_t)n;
        progress_step(1, (uint64_t)n);
    }
    progress_step(0, off < size ? size - off : 0); /* the unused tail */
    kvfs_unmap(&map);
    *end_off = off;
    sc->expect_lsn = expect;
    return 0;
}

/* Remove leftover temp files of the WAL (spares). */
static void remove_spares(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "wal-spare-", 10) == 0) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            kvfs->unlink(path);
        }
    }
    closedir(d);
}

/* Create a segment file with its header (space for `prealloc` bytes
 * reserved when not 0), synced, directory synced. */
static int create_segment(const char *dir, uint64_t first_lsn, uint64_t prealloc, char *err,
                          size_t errlen)
{
    char path[PATH_MAX];
    seg_name(path, sizeof path, dir, first_lsn);
    int fd = kvfs->open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0)
        return kve_fmt(err, errlen, errno == ENOSPC ? KVE_NOSPC : KVE_IO, "create %s: %s", path,
                       strerror(errno));
    uint8_t h[WAL_SEG_HDR];
    encode_seg_header(h, first_lsn);
    int rc = kvfs_pwrite_all(fd, h, sizeof h, 0);
    /* Reserving space is best effort here: without it appends extend the
     * file, and the WAL moves to a spare segment as soon as it has one. */
    if (!rc && prealloc && kvfs_preallocate(fd, (off_t)prealloc) < 0)
        kvfs->ftruncate(fd, WAL_SEG_HDR);
    if (!rc && kvfs->fsync(fd) < 0)
        rc = -errno;
    kvfs->close(fd);
    if (!rc)
        rc = kvfs_fsync_dir(dir);
    if (rc)
        return kve_fmt(err, errlen, rc == -ENOSPC ? KVE_NOSPC : KVE_IO, "write %s: %s", path,
                       strerror(-rc));
    return 0;
}

int wal_open(wal **out, const wal_config *cfg, uint64_t after_lsn, uint64_t after_term,
             wal_apply_fn apply, void *arg, wal_recovery *info, char *err, size_t errlen)
{
    wal_recovery dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    if (strlen(cfg->dir) > PATH_MAX - 64)
        return kve_fmt(err, errlen, KVE_INVAL, "data directory path is too long");
    if (cfg->segment_size < 4096)
        return kve_fmt(err, errlen, KVE_INVAL, "WAL segment size %" PRIu64 " is below 4096",
                       cfg->segment_size);

    remove_spares(cfg->dir);
    uint64_t *firsts = NULL;
    size_t n = 0;
    int rc = list_segments(cfg->dir, &firsts, &n, err, errlen);
    if (rc)
        return rc;

    wal *w = kv_calloc(1, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "%s", cfg->dir);
    w->seg_size = cfg->segment_size;
    w->policy = cfg->fsync;
    w->prealloc = cfg->prealloc;
    w->stall_warn_ms = cfg->stall_warn_ms ? cfg->stall_warn_ms : WAL_STALL_WARN_MS;
    w->fd = -1;
    w->spare_id = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);

    /* The segments must reach back to the snapshot: the first one must
     * start at or before after_lsn + 1. */
    if (n && firsts[0] > after_lsn + 1) {
        rc = kve_fmt(err, errlen, KVE_CORRUPT,
                     "WAL starts at LSN %" PRIu64 " but the snapshot ends at LSN %" PRIu64
                     ": entries in between are missing",
                     firsts[0], after_lsn);
        goto fail;
    }
    /* Segments wholly before the snapshot are not replayed, but they are
     * still verified (they may be needed by a replica). */
    scan_ctx sc = {.dir = cfg->dir,
                   .after_lsn = after_lsn,
                   .after_term = after_term,
                   .apply = apply,
                   .arg = arg,
                   .info = info,
                   .w = w};
    uint64_t end_off = WAL_SEG_HDR;
    int last_empty = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t bytes = 0;
        rc = scan_segment(&sc, firsts[i], i + 1 == n, &end_off, &bytes, err, errlen);
        if (rc < 0)
            goto fail;
        if (rc == 2) {
            log_warn("%s; the snapshot supersedes the WAL: its segments are kept as "
                     "*.superseded and the log restarts after the snapshot",
                     err);
            for (size_t j = 0; j < n; j++) {
                char from[PATH_MAX], to[PATH_MAX + 16];
                seg_name(from, sizeof from, cfg->dir, firsts[j]);
                snprintf(to, sizeof to, "%s.superseded", from);
                kvfs->rename(from, to);
            }
            kvfs_fsync_dir(cfg->dir);
            w->nsegs = 0;
            w->nhist = 0;
            n = 0;
            err[0] = '\0';
            break;
        }
        last_empty = rc == 1;
        segs_push(w, firsts[i]);
        w->segs[w->nsegs - 1].bytes = bytes;
    }
    if (n && sc.expect_lsn - 1 < after_lsn) {
        /* The whole WAL is older than the snapshot (possible after a power
         * loss with appendfsync everysec/no): the snapshot covers it all. */
        log_warn("WAL ends at LSN %" PRIu64 ", before the snapshot at LSN %" PRIu64
                 "; its segments are covered by the snapshot and removed",
                 sc.expect_lsn - 1, after_lsn);
        for (size_t i = 0; i < n; i++) {
            char path[PATH_MAX];
            seg_name(path, sizeof path, cfg->dir, firsts[i]);
            kvfs->unlink(path);
        }
        kvfs_fsync_dir(cfg->dir);
        n = 0;
        w->nsegs = 0;
    }
    if (n == 0) {
        w->nhist = 0;
        w->last_lsn = after_lsn;
        w->last_term = after_term;
        rc = create_segment(cfg->dir, after_lsn + 1, cfg->prealloc ? cfg->segment_size : 0, err,
                            errlen);
        if (rc)
            goto fail;
        segs_push(w, after_lsn + 1);
        end_off = WAL_SEG_HDR;
    } else {
        w->last_lsn = sc.expect_lsn - 1;
        w->last_term = w->last_lsn == after_lsn ? after_term : sc.last_term;
        if (last_empty) {
            rc = create_segment(cfg->dir, firsts[n - 1], cfg->prealloc ? cfg->segment_size : 0,
                                err, errlen);
            if (rc)
                goto fail;
            end_off = WAL_SEG_HDR;
        }
    }
    kv_free(firsts);
    firsts = NULL;
    /* The log's history starts at the snapshot when no retained record
     * covers it. */
    if (after_lsn && (!w->nhist || w->hist[0].first_lsn > after_lsn))
        hist_prepend(w, after_term, after_lsn);

    /* Open the last segment for appending. */
    char path[PATH_MAX];
    seg_name(path, sizeof path, cfg->dir, w->segs[w->nsegs - 1].first_lsn);
    w->fd = kvfs->open(path, O_WRONLY, 0);
    if (w->fd < 0) {
        rc = kve_fmt(err, errlen, KVE_IO, "open %s: %s", path, strerror(errno));
        goto fail;
    }
    w->off = end_off;
    w->seg_room = end_off < w->seg_size ? w->seg_size - end_off : 0;
    /* Whatever the segment appends go to at startup (created now with
     * fallocate, or found on disk) is left for a zero-filled spare as soon
     * as one is ready. */
    w->cur_prealloc = 0;
    atomic_store(&w->written_lsn, w->last_lsn);
    atomic_store(&w->synced_lsn, w->last_lsn);
    info->last_lsn = w->last_lsn;
    info->last_term = w->last_term;
    *out = w;
    return 0;

fail:
    kv_free(firsts);
    if (w->fd >= 0)
        kvfs->close(w->fd);
    kv_free(w->segs);
    kv_free(w->hist);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    kv_free(w);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The WAL thread                                                            */
/* ------------------------------------------------------------------------ */

static void set_error(wal *w, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_error(wal *w, int code, const char *fmt, ...)
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
            set_error((w), KVE_FAILED, "internal error: " __VA_ARGS__);        \
    } while (0)
#endif

static int io_code(int e)
{
    return e == ENOSPC || e == -ENOSPC ? KVE_NOSPC : KVE_IO;
}

static uint64_t now_ms(void)
{
    return now_us() / 1000;
}

const uint64_t wal_sync_bucket_us[WAL_SYNC_BUCKETS - 1] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000};

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
    uint64_t t0 = now_us();
    atomic_store(&w->last_sync_ms, t0 / 1000);
    if (kvfs->fdatasync(w->fd) < 0) {
        int e = errno;
        set_error(w, io_code(e), "fdatasync WAL segment: %s", strerror(e));
        return -1;
    }
    note_sync_us(w, now_us() - t0);
    atomic_fetch_add(&w->syncs, 1);
    return 0;
}

static int thread_write(wal *w, const uint8_t *p, size_t n)
{
    if (!n)
        return 0;
    int rc = kvfs_pwrite_all(w->fd, p, n, (off_t)w->off);
    if (rc < 0) {
        set_error(w, io_code(rc), "write WAL segment at offset %" PRIu64 ": %s", w->off,
                  strerror(-rc));
        return -1;
    }
    w->off += n;
    return 0;
}

static int thread_switch(wal *w, const seg_switch *s)
{
    char path[PATH_MAX];
    seg_name(path, sizeof path, w->dir, s->first_lsn);
    if (thread_sync(w) < 0)
        return -1;
    kvfs->close(w->fd);
    w->fd = -1;
    if (s->spare_id >= 0) {
        char spare[PATH_MAX];
        spare_name(spare, sizeof spare, w->dir, s->spare_id);
        if (kvfs->rename(spare, path) < 0) {
            int e = errno;
            set_error(w, io_code(e), "rename %s to %s: %s", spare, path, strerror(e));
            return -1;
        }
        w->fd = kvfs->open(path, O_WRONLY, 0);
    } else {
        w->fd = kvfs->open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    }
    if (w->fd < 0) {
        int e = errno;
        set_error(w, io_code(e), "open %s: %s", path, strerror(e));
        return -1;
    }
    int rc = kvfs_fsync_dir(w->dir);
    if (rc < 0) {
        set_error(w, io_code(rc), "fsync directory %s: %s", w->dir, strerror(-rc));
        return -1;
    }
    uint8_t h[WAL_SEG_HDR];
    encode_seg_header(h, s->first_lsn);
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
           (policy == WAL_FSYNC_EVERYSEC && now_ms() >= atomic_load(&w->last_sync_ms) + 1000);
}

/* The WAL thread's job for one batch: write all of it, then sync if owed. */
static void thread_process(wal *w, batch *b)
{
    if (atomic_load(&w->err))
        return;
    if (b->records && write_batch(w, b) < 0)
        return;
    uint64_t written = atomic_load(&w->written_lsn);
    if (sync_due(w, b) && atomic_load(&w->synced_lsn) < written) {
        if (thread_sync(w) < 0)
            return;
        /* Only the writer moves written, and that is us: the sync covered
         * everything up to `written`. */
        atomic_store(&w->synced_lsn, written);
    }
}

static void add_switch(batch *b, size_t off, uint64_t lsn, int spare_id);

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

/* Group commit with many writers: the clients whose replies this sync
 * released answer within a round trip; waiting that long before the next
 * sync lets their requests join it instead of forming a second, smaller
 * batch (PostgreSQL's commit_delay; Redis gets the same effect by syncing
 * synchronously). Only when the last batch had several writers and fewer
 * have arrived since; bounded by half a sync. Called with mu held. */
static void commit_delay(wal *w)
{
    uint64_t done = w->flight.records;
    if (done < 2 || w->stop || atomic_load(&w->policy) != WAL_FSYNC_ALWAYS)
        return;
    if (w->ready_full && w->ready.records >= done)
        return;
    uint64_t us = atomic_load(&w->last_sync_us) / 2;
    if (us > 500)
        us = 500;
    if (us < 20)
        return;
    uv_async_send(&w->async); /* let the loop release those replies now */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)us * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!w->stop && !(w->ready_full && w->ready.records >= done)) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
            break;
    }
}

static void *wal_thread(void *arg)
{
    wal *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->flight_full && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->flight_full && w->stop)
            break;
        pthread_mutex_unlock(&w->mu);
        thread_process(w, &w->flight);
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
        pthread_cond_broadcast(&w->cv);
        uv_async_send(&w->async);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Spare segments (thread pool)                                              */
/* ------------------------------------------------------------------------ */

static void spare_work(uv_work_t *req)
{
    wal *w = req->data;
    char path[PATH_MAX];
    spare_name(path, sizeof path, w->dir, w->next_spare_id);
    int fd = kvfs->open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        w->spare_work_rc = -errno;
        return;
    }
    int rc = kvfs_zero_fill(fd, (off_t)w->seg_size);
    if (!rc && kvfs->fsync(fd) < 0)
        rc = -errno;
    kvfs->close(fd);
    if (!rc)
        rc = kvfs_fsync_dir(w->dir);
    if (rc)
        kvfs->unlink(path);
    w->spare_work_rc = rc;
}

static void spare_start(wal *w);
static void maybe_free(wal *w);

static void spare_done(uv_work_t *req, int status)
{
    wal *w = req->data;
    int rc = status < 0 ? -ECANCELED : w->spare_work_rc;
    if (w->closing) {
        if (!rc) {
            char path[PATH_MAX];
            spare_name(path, sizeof path, w->dir, w->next_spare_id);
            kvfs->unlink(path);
        }
        w->spare_state = SPARE_NONE;
        maybe_free(w);
        return;
    }
    if (rc) {
        w->spare_state = SPARE_FAILED;
        w->spare_errno = -rc;
        w->spare_retry_at = uv_now(w->loop) + 1000;
        snprintf(w->nospace, sizeof w->nospace, "cannot prepare the next WAL segment: %s",
                 strerror(-rc));
        log_warn("WAL: %s; retrying every second", w->nospace);
        return;
    }
    if (w->spare_state == SPARE_FAILED || w->nospace[0])
        log_notice("WAL: spare segment prepared; writes accepted again");
    w->nospace[0] = '\0';
    w->spare_id = w->next_spare_id++;
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
/* Loop side                                                                 */
/* ------------------------------------------------------------------------ */

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
 *     the thread, so a segment switch is never done by two parties.
 */
static void kick(wal *w)
{
    if (!w->started || atomic_load(&w->err))
        return;
    if (!w->fill.records && !w->fill.sync)
        return;
    pthread_mutex_lock(&w->mu);
    if (!w->flight_full && atomic_load(&w->policy) != WAL_FSYNC_ALWAYS && !w->fill.nsw &&
        !w->fill.sync) {
        /* IDLE -> IDLE: the thread is idle, so its file position is ours
         * for this call (mu held). */
        if (write_batch(w, &w->fill) == 0)
            note_batch_size(w, w->fill.records);
        batch_reset(&w->fill);
        pthread_mutex_unlock(&w->mu);
        uv_async_send(&w->async); /* progress callbacks run from the loop */
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
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void wal_request_sync(wal *w)
{
    if (!w->started || atomic_load(&w->err))
        return;
    w->fill.sync = 1;
    kick(w);
}

static void on_prepare(uv_prepare_t *h)
{
    kick(h->data);
}

static void on_check(uv_check_t *h)
{
    kick(h->data);
}

/* The loop's view of the published LSNs must keep the ordering that the
 * writer guarantees. */
static void check_published(wal *w)
{
    uint64_t written = atomic_load(&w->written_lsn);
    uint64_t synced = atomic_load(&w->synced_lsn);
    WAL_INVARIANT(w, synced <= written && written <= w->last_lsn,
                  "synced LSN %" PRIu64 ", written LSN %" PRIu64 ", last LSN %" PRIu64
                  " out of order",
                  synced, written, w->last_lsn);
}

static void on_async(uv_async_t *h)
{
    wal *w = h->data;
    check_published(w);
    /* A batch finished: start the next one and tell the owner. */
    if (!w->closing)
        kick(w);
    if (w->on_progress)
        w->on_progress(w->progress_arg);
}

/* The watchdog: replies wait while durable < last. If durable does not move
 * for stall_warn_ms, say so once (with the LSNs that wait and what the
 * writer is doing), and again when it moves. */
static void watch_stall(wal *w)
{
    uint64_t durable = wal_durable_lsn(w);
    uint64_t now = now_ms();
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
    return now_ms() - w->stall_since_ms;
}

static void on_timer(uv_timer_t *h)
{
    wal *w = h->data;
    if (w->spare_state == SPARE_FAILED && uv_now(w->loop) >= w->spare_retry_at)
        spare_start(w);
    if (atomic_load(&w->policy) == WAL_FSYNC_EVERYSEC && !atomic_load(&w->err) &&
        atomic_load(&w->synced_lsn) < w->last_lsn &&
        now_ms() >= atomic_load(&w->last_sync_ms) + 1000)
        wal_request_sync(w);
    watch_stall(w);
}

int wal_start(wal *w, uv_loop_t *loop, void (*on_progress)(void *arg), void *arg)
{
    w->loop = loop;
    w->on_progress = on_progress;
    w->progress_arg = arg;
    uv_async_init(loop, &w->async, on_async);
    uv_prepare_init(loop, &w->prepare);
    uv_check_init(loop, &w->check);
    uv_timer_init(loop, &w->timer);
    w->async.data = w->prepare.data = w->check.data = w->timer.data = w;
    uv_prepare_start(&w->prepare, on_prepare);
    uv_check_start(&w->check, on_check);
    uv_timer_start(&w->timer, on_timer, 200, 200);
    uv_unref((uv_handle_t *)&w->timer);
    uv_unref((uv_handle_t *)&w->async);
    w->handles_open = 4;
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
            abort();
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
    int cur_has_records = w->seg_room + WAL_SEG_HDR < w->seg_size;
    /* A segment that was not preallocated (the first one, or one created
     * while no spare was ready) grows with every write, and each fdatasync
     * then also commits its size: move to a spare as soon as there is one. */
    int leave = size > w->seg_room ||
                (w->prealloc && !w->cur_prealloc && w->spare_state == SPARE_READY);
    if (leave && cur_has_records) {
        if (!w->prealloc) {
            add_switch(&w->fill, off, lsn, -1);
            segs_push(w, lsn);
            w->seg_room = w->seg_size - WAL_SEG_HDR;
        } else if (w->spare_state == SPARE_READY) {
            w->cur_prealloc = 1;
            add_switch(&w->fill, off, lsn, w->spare_id);
            w->spare_state = SPARE_NONE;
            w->spare_id = -1;
            spare_start(w); /* the next one, under a new name */
            segs_push(w, lsn);
            w->seg_room = w->seg_size - WAL_SEG_HDR;
        }
        /* else: no spare yet; the record extends the current segment. */
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
    hist_note(w, term, lsn);
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
    frame_header(w->fill.buf.p + w->reserve_off, lsn, term, type, len);
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

uint64_t wal_first_lsn(const wal *w)
{
    return w->nsegs ? w->segs[0].first_lsn : w->last_lsn + 1;
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

int wal_can_accept(const wal *w, size_t bytes)
{
    if (atomic_load(&w->err))
        return KVE_FAILED;
    if (!w->prealloc || w->spare_state != SPARE_FAILED)
        return 0;
    /* No spare can be made: keep a reserve in the current segment (a
     * sixteenth of it) for what must still be logged, and refuse new
     * writes that would eat into it. */
    uint64_t reserve = w->seg_size / 16;
    if (w->seg_room >= reserve + wal_record_size(bytes))
        return 0;
    return KVE_NOSPC;
}

const char *wal_nospace_reason(const wal *w)
{
    return w->prealloc && w->spare_state == SPARE_FAILED ? w->nospace : "";
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

/* ------------------------------------------------------------------------ */
/* Compaction                                                                */
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
        seg_name(path, sizeof path, j->dir, j->firsts[i]);
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
    maybe_free(w);
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
    for (int i = 0; i < WAL_SYNC_BUCKETS; i++)
        st->sync_hist[i] = atomic_load_explicit(&w->sync_hist[i], memory_order_relaxed);
    st->sync_us_total = atomic_load_explicit(&w->sync_us_total, memory_order_relaxed);
    st->max_batch_records = atomic_load(&w->max_batch_records);
    st->bytes_since_compact = w->bytes_since_compact;
    st->spare_ready = !w->prealloc || w->spare_state == SPARE_READY;
    st->stalled_ms = wal_stalled_ms(w);
}

/* ------------------------------------------------------------------------ */
/* Reading back                                                              */
/* ------------------------------------------------------------------------ */

void wal_rbuf_free(wal_rbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static void rbuf_append(wal_rbuf *b, const uint8_t *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            abort();
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* The segment holding lsn: the largest first LSN <= lsn among the files. */
static int find_segment(const char *dir, uint64_t lsn, uint64_t *first, char *err, size_t errlen)
{
    uint64_t *firsts;
    size_t n;
    int rc = list_segments(dir, &firsts, &n, err, errlen);
    if (rc)
        return rc;
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (firsts[i] <= lsn) {
            *first = firsts[i];
            found = 1;
        }
    }
    kv_free(firsts);
    return found ? 0 : KVE_NOTFOUND;
}

long wal_read(const char *dir, wal_cursor *cur, uint64_t upto, size_t max_bytes, wal_rbuf *out,
              char *err, size_t errlen)
{
    if (cur->next_lsn > upto)
        return 0;
    if (!cur->seg_first) {
        int rc = find_segment(dir, cur->next_lsn, &cur->seg_first, err, errlen);
        if (rc)
            return rc;
        cur->offset = 0;
    }
    size_t start = out->len, cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return KVE_NOMEM;
    long count = 0, rc = 0;
    int done = 0;
    while (!done && !rc) {
        char path[PATH_MAX];
        seg_name(path, sizeof path, dir, cur->seg_first);
        int fd = kvfs->open(path, O_RDONLY, 0);
        if (fd < 0) {
            if (errno != ENOENT)
                rc = kve_fmt(err, errlen, KVE_IO, "open %s: %s", path, strerror(errno));
            else if (!count && cur->seg_first != cur->next_lsn)
                rc = KVE_NOTFOUND; /* compacted away under us */
            break;
        }
        uint64_t pos = cur->offset ? cur->offset : WAL_SEG_HDR;
        int seg_end = 0;
        while (!seg_end && !done && !rc) {
            ssize_t got = kvfs->pread(fd, buf, cap, (off_t)pos);
            if (got < 0) {
                rc = kve_fmt(err, errlen, KVE_IO, "read %s: %s", path, strerror(errno));
                break;
            }
            size_t off = 0;
            int need_more = 0;
            while (off < (size_t)got) {
                wal_record r;
                long n = wal_decode_record(buf + off, (size_t)got - off, &r);
                if (n == 0 && (size_t)got == cap) {
                    need_more = 1; /* the record continues past this chunk */
                    break;
                }
                if (n <= 0) {
                    seg_end = 1; /* zeros, a partial write, or the end of file */
                    break;
                }
                if (r.lsn < cur->next_lsn) {
                    off += (size_t)n;
                    continue;
                }
                if (r.lsn != cur->next_lsn) {
                    rc = kve_fmt(err, errlen, KVE_CORRUPT,
                                 "%s: offset %" PRIu64 ": LSN %" PRIu64 " where %" PRIu64
                                 " was expected",
                                 path, pos + off, r.lsn, cur->next_lsn);
                    break;
                }
                if (r.lsn > upto || out->len - start >= max_bytes) {
                    done = 1;
                    break;
                }
                rbuf_append(out, buf + off, (size_t)n);
                off += (size_t)n;
                cur->next_lsn++;
                cur->offset = pos + off;
                count++;
            }
            if (rc || done || seg_end)
                break;
            if (need_more && off == 0) {
                /* One record bigger than the buffer: make room for it. */
                uint32_t len = le_get32(buf + 4);
                if (len > WAL_MAX_PAYLOAD) {
                    rc = kve_fmt(err, errlen, KVE_CORRUPT,
                                 "%s: offset %" PRIu64 ": impossible record length", path, pos);
                    break;
                }
                cap = wal_record_size(len);
                uint8_t *nb = realloc(buf, cap);
                if (!nb) {
                    rc = KVE_NOMEM;
                    break;
                }
                buf = nb;
                continue;
            }
            if (!got || (!need_more && (size_t)got < cap))
                seg_end = 1; /* end of file */
            pos += off;
        }
        kvfs->close(fd);
        if (rc || done || cur->next_lsn > upto)
            break;
        /* This segment has nothing more: the next one starts at next_lsn. */
        char next[PATH_MAX];
        seg_name(next, sizeof next, dir, cur->next_lsn);
        if (access(next, F_OK) != 0)
            break;
        cur->seg_first = cur->next_lsn;
        cur->offset = 0;
    }
    free(buf);
    return rc < 0 ? rc : count;
}

/* ------------------------------------------------------------------------ */
/* Truncation and reset (replication)                                        */
/* ------------------------------------------------------------------------ */

/* With the thread idle: make fd/off point at segment `first`, cut at off. */
static int reopen_at(wal *w, uint64_t first, uint64_t off, int create, char *err, size_t errlen)
{
    char path[PATH_MAX];
    seg_name(path, sizeof path, w->dir, first);
    pthread_mutex_lock(&w->mu);
    if (w->fd >= 0)
        kvfs->close(w->fd);
    w->fd = -1;
    int rc = 0;
    if (create) {
        rc = create_segment(w->dir, first, w->prealloc ? w->seg_size : 0, err, errlen);
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
        set_error(w, rc, "%s", err);
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
        seg_name(path, sizeof path, w->dir, w->segs[j].first_lsn);
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
    w->seg_room = off < w->seg_size ? w->seg_size - off : 0;
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
        seg_name(path, sizeof path, w->dir, w->segs[j].first_lsn);
        if (kvfs->unlink(path) < 0 && errno != ENOENT)
            return kve_fmt(err, errlen, KVE_IO, "unlink %s: %s", path, strerror(errno));
    }
    w->nsegs = 0;
    int rc = reopen_at(w, base_lsn + 1, WAL_SEG_HDR, 1, err, errlen);
    if (rc)
        return rc;
    segs_push(w, base_lsn + 1);
    w->seg_room = w->seg_size - WAL_SEG_HDR;
    w->nhist = 0;
    if (base_lsn)
        hist_push(w, base_term, base_lsn);
    set_tail(w, base_lsn, base_term);
    log_notice("WAL reset to start after LSN %" PRIu64 " (term %" PRIu64 ")", base_lsn,
               base_term);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Shutdown                                                                  */
/* ------------------------------------------------------------------------ */

static void free_wal(wal *w)
{
    if (w->fd >= 0)
        kvfs->close(w->fd);
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
    kv_free(w);
}

/* Free once the handles are closed and no thread-pool job refers to w. */
static void maybe_free(wal *w)
{
    if (w->closing && w->handles_open == 0 && w->spare_state != SPARE_PREPARING &&
        w->compacting == 0)
        free_wal(w);
}

static void on_handle_closed(uv_handle_t *h)
{
    wal *w = h->data;
    w->handles_open--;
    maybe_free(w);
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
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    if (w->spare_state == SPARE_READY) {
        char path[PATH_MAX];
        spare_name(path, sizeof path, w->dir, w->spare_id);
        kvfs->unlink(path);
        w->spare_state = SPARE_NONE;
    }
    uv_close((uv_handle_t *)&w->async, on_handle_closed);
    uv_close((uv_handle_t *)&w->prepare, on_handle_closed);
    uv_close((uv_handle_t *)&w->check, on_handle_closed);
    uv_close((uv_handle_t *)&w->timer, on_handle_closed);
}
