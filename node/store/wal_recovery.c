/* wal_recovery.c — opening a WAL: listing and verifying every segment,
 * replaying the records after the snapshot, cutting a torn tail and refusing
 * any other damage (see wal.h, wal_open).
 *
 * The walk over one segment (wal_scan_segment) only looks: it says how the
 * valid records end (cleanly, in a torn tail, in corruption with valid
 * records after it, at a wrong LSN or a term going back). Recovery judges
 * that by its rules, and the offline checker (check.c) reports it by the
 * same rules. In every segment but the last, valid records with
 * consecutive LSNs must be followed only by zeros. In the last segment,
 * the first invalid record starts either a torn tail (no valid record
 * anywhere after it: the tail is cut, a copy kept, and reported) or
 * corruption (a valid record follows: refuse to start, naming file and
 * offset). This is possible because a segment is always fully synced
 * before the next one is created.
 */
#include "wal_int.h"

#include "endian.h"
#include "err.h"
#include "fsio.h"
#include "log.h"
#include "mem.h"
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Listing and scanning segments                                            */
/* ------------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The first LSNs gathered while listing a directory. */
typedef struct lsn_list {
    uint64_t *v;
    size_t n, cap;
    int nomem;
} lsn_list;

static int note_segment(void *arg, const char *name)
{
    lsn_list *l = arg;
    uint64_t lsn;
    char tail[8];
    int used = 0;
    if (strlen(name) != 28 || sscanf(name, "wal-%20" SCNu64 ".%3s%n", &lsn, tail, &used) != 2 ||
        strcmp(tail, "log") != 0 || used != 28)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        uint64_t *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) {
            l->nomem = 1;
            return 1;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = lsn;
    return 0;
}

/* List segment first-LSNs in dir (through the file table), sorted, into a
 * plain malloc'd array (the caller free()s it): wal_read calls this on
 * other threads, where the counted kv_malloc must not be used. */
int wal_list_segments(const char *dir, uint64_t **out, size_t *n, char *err, size_t errlen)
{
    lsn_list l = {0};
    if (kvfs->listdir(dir, note_segment, &l) < 0) {
        int e = errno;
        free(l.v);
        return kve_fmt(err, errlen, KVE_IO, "open directory %s: %s", dir, strerror(e));
    }
    if (l.nomem) {
        free(l.v);
        return kve_fmt(err, errlen, KVE_NOMEM, "listing %s: out of memory", dir);
    }
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, cmp_u64);
    *out = l.v;
    *n = l.n;
    return 0;
}

/* Whether p[0..n) is all zeros: the tail of a preallocated segment can be
 * megabytes, so whole words at a time (memcmp of the range against itself
 * shifted by 8 bytes, once its first 8 are known to be zero). */
static int all_zero(const uint8_t *p, size_t n)
{
    static const uint8_t zero8[8];
    if (n <= 16) {
        for (size_t i = 0; i < n; i++)
            if (p[i])
                return 0;
        return 1;
    }
    return memcmp(p, zero8, 8) == 0 && memcmp(p, p + 8, n - 8) == 0;
}

/* The first valid record in p[from..n) (8-byte steps), or -1. */
static long next_valid_record(const uint8_t *p, size_t n, size_t from, wal_record *r)
{
    for (size_t o = from; o + WAL_REC_HDR <= n; o += 8)
        if (wal_decode_record(p + o, n - o, r) > 0)
            return (long)o;
    return -1;
}

const char *wal_seg_end_name(wal_seg_end end)
{
    switch (end) {
    case WAL_SEG_CLEAN: return "clean";
    case WAL_SEG_EMPTY: return "empty (no header yet)";
    case WAL_SEG_NO_HEADER: return "missing segment header";
    case WAL_SEG_BAD_HEADER: return "bad segment header";
    case WAL_SEG_TORN: return "torn tail";
    case WAL_SEG_CORRUPT: return "invalid record followed by valid records";
    case WAL_SEG_WRONG_LSN: return "record with an unexpected LSN";
    case WAL_SEG_TERM_BACK: return "record whose term goes back";
    }
    return "?";
}

/* The read-ahead of a walk: the frame at `off` as its header describes it,
 * if it can be a record that lies wholly inside the file. */
typedef struct peeker {
    const wal_peek_hook *hook;
    size_t off;    /* next frame to show */
    unsigned lead; /* frames shown and not yet reached by the walk */
} peeker;

static void peek_ahead(peeker *pk, const uint8_t *p, size_t size)
{
    while (pk->lead < WAL_PEEK_AHEAD && pk->off + WAL_REC_HDR <= size) {
        uint32_t len = le_get32(p + pk->off + 4);
        int type = le_get16(p + pk->off + 24);
        if (len > WAL_MAX_PAYLOAD || wal_record_size(len) > size - pk->off ||
            (type != WAL_REC_COMMANDS && type != WAL_REC_NOOP && type != WAL_REC_CONFIG)) {
            pk->off = size; /* not a record (zeros after the last one): no more hints */
            return;
        }
        wal_record r;
        wal_peek_record(p + pk->off, &r);
        __builtin_prefetch(p + pk->off + 1024); /* the file's next lines */
        pk->hook->fn(pk->hook->arg, &r);
        pk->off += r.raw_len;
        pk->lead++;
    }
}

/* Walk the records of a mapped segment (see wal_scan_segment). */
static int scan_records(const uint8_t *p, size_t size, uint64_t prev_term, wal_scan_fn fn,
                        void *arg, const wal_peek_hook *peek, wal_seg_scan *out)
{
    /* Header. An all-zero (or absent) header is what a segment looks like
     * when the crash came after its creation and before its first write. */
    if (size < WAL_SEG_HDR || all_zero(p, WAL_SEG_HDR)) {
        out->end = all_zero(p, size) ? WAL_SEG_EMPTY : WAL_SEG_NO_HEADER;
        return 0;
    }
    if (!wal_seg_header_ok(p, out->first_lsn)) {
        out->end = WAL_SEG_BAD_HEADER;
        return 0;
    }
    size_t off = WAL_SEG_HDR;
    uint64_t expect = out->first_lsn;
    out->end = WAL_SEG_CLEAN;
    peeker pk = {peek, WAL_SEG_HDR, 0};
    while (off < size) {
        wal_record rec;
        const char *why;
        if (peek) {
            peek_ahead(&pk, p, size);
            if (pk.lead)
                pk.lead--; /* the frame at off */
        }
        long n = wal_check_record(p + off, size - off, &rec, &why);
        if (n <= 0) {
            /* End of records: zeros to the end is a clean end. */
            if (all_zero(p + off, size - off))
                break;
            out->why = why;
            long next = next_valid_record(p, size, off + 8, &rec);
            if (next >= 0) {
                out->end = WAL_SEG_CORRUPT;
                out->next_off = (uint64_t)next;
                out->found_lsn = rec.lsn;
                out->found_term = rec.term;
            } else {
                size_t last_nz = size;
                while (last_nz > off && p[last_nz - 1] == 0)
                    last_nz--;
                out->end = WAL_SEG_TORN;
                out->bad_bytes = last_nz - off;
            }
            break;
        }
        if (rec.lsn != expect || rec.term < prev_term) {
            out->end = rec.lsn != expect ? WAL_SEG_WRONG_LSN : WAL_SEG_TERM_BACK;
            out->found_lsn = rec.lsn;
            out->found_term = rec.term;
            break;
        }
        if (fn) {
            int rc = fn(arg, &rec, off);
            if (rc) {
                out->end_off = off;
                return rc;
            }
        }
        if (!out->records || rec.term < out->min_term)
            out->min_term = rec.term;
        if (rec.term > out->max_term)
            out->max_term = rec.term;
        out->records++;
        out->last_lsn = rec.lsn;
        out->last_term = prev_term = rec.term;
        expect++;
        off += (size_t)n;
    }
    out->end_off = off;
    return 0;
}

int wal_scan_segment(const char *path, uint64_t first_lsn, uint64_t prev_term, wal_scan_fn fn,
                     void *arg, wal_seg_scan *out, char *err, size_t errlen)
{
    return wal_scan_segment_peek(path, first_lsn, prev_term, fn, arg, NULL, out, err, errlen);
}

int wal_scan_segment_peek(const char *path, uint64_t first_lsn, uint64_t prev_term,
                          wal_scan_fn fn, void *arg, const wal_peek_hook *peek,
                          wal_seg_scan *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->first_lsn = first_lsn;
    out->last_lsn = first_lsn - 1;
    out->last_term = prev_term;
    kvfs_map map;
    int rc = kvfs_map_file(path, &map);
    if (rc < 0)
        return kve_fmt(err, errlen, KVE_IO, "read %s: %s", path, strerror(-rc));
    out->size = map.len;
    rc = scan_records((const uint8_t *)map.p, map.len, prev_term, fn, arg, peek, out);
    kvfs_unmap(&map);
    return rc;
}

typedef struct scan_ctx {
    const char *dir;
    const char *path; /* segment being scanned */
    uint64_t after_lsn;
    uint64_t after_term;
    uint64_t expect_lsn; /* next LSN we must see; 0 = not known yet */
    uint64_t last_term;
    wal_apply_fn apply;
    void *arg;
    wal_recovery *info;
    const wal_peek_hook *peek;
    wal *w;
    char *err;
    size_t errlen;
} scan_ctx;

#define SCAN_SUPERSEDED 2 /* the snapshot's history differs from the log's */

/* Recovery's view of each valid record: replay it if it is after the
 * snapshot, and extend the term history. */
static int recover_record(void *arg, const wal_record *rec, uint64_t off)
{
    scan_ctx *sc = arg;
    if (rec->lsn == sc->after_lsn && rec->term != sc->after_term) {
        /* The snapshot was installed from a primary whose history
         * differs from this log (the crash came before the log was
         * reset): the snapshot supersedes the whole log. Nothing after
         * it has been applied yet. */
        kve_fmt(sc->err, sc->errlen, KVE_CORRUPT,
                "%s: offset %" PRIu64 ": LSN %" PRIu64 " has term %" PRIu64
                " but the snapshot says term %" PRIu64,
                sc->path, off, rec->lsn, rec->term, sc->after_term);
        return SCAN_SUPERSEDED;
    }
    sc->info->records_scanned++;
    if (rec->lsn > sc->after_lsn) {
        int arc = sc->apply ? sc->apply(sc->arg, rec, sc->err, sc->errlen) : 0;
        if (arc < 0)
            return kve_wrap(sc->err, sc->errlen, arc, "%s: offset %" PRIu64 ": replay LSN %" PRIu64,
                            sc->path, off, rec->lsn);
        sc->info->entries_replayed++;
    }
    wal_hist_note(sc->w, rec->term, rec->lsn);
    progress_step(1, rec->raw_len);
    return 0;
}

/* The first record of the segment at path: its term in *term. 1 when the
 * header is valid for first_lsn and a valid record with LSN first_lsn
 * follows it; 0 otherwise (or when it cannot be read). The file's size in
 * *size. */
static int first_record_term(const char *path, uint64_t first_lsn, uint64_t *term, uint64_t *size)
{
    kvfs_map map;
    if (kvfs_map_file(path, &map) < 0)
        return 0;
    const uint8_t *p = (const uint8_t *)map.p;
    wal_record rec;
    int ok = map.len >= WAL_SEG_HDR + WAL_REC_HDR && wal_seg_header_ok(p, first_lsn) &&
             wal_decode_record(p + WAL_SEG_HDR, map.len - WAL_SEG_HDR, &rec) > 0 &&
             rec.lsn == first_lsn;
    if (ok)
        *term = rec.term;
    if (size)
        *size = map.len;
    kvfs_unmap(&map);
    return ok;
}

/* Restart speed: a segment whose records all lie at or below the snapshot
 * (the next segment starts at or before after_lsn + 1) has nothing to
 * replay, and is only kept for replicas. It is not read through: its
 * header is verified, its first record is checked to be first_lsn, and
 * the first record of the next segment must have the same term, so the
 * term history (which replication needs) gains exactly one entry for it,
 * as a full scan would give. Anything else (a term change inside, the
 * snapshot's own LSN in it with another term, a next segment without a
 * valid first record) falls back to the full scan. The records' CRCs are
 * still checked wherever they are read later (wal_read, --check-data).
 * Returns 1 when skipped (expect_lsn, last_term, history and *rec_bytes
 * set), 0 to scan it. */
static int skip_covered(scan_ctx *sc, uint64_t first_lsn, uint64_t next_first,
                        uint64_t *rec_bytes)
{
    if ((sc->expect_lsn && first_lsn != sc->expect_lsn) || next_first > sc->after_lsn + 1 ||
        next_first <= first_lsn)
        return 0;
    char path[PATH_MAX], next[PATH_MAX];
    wal_seg_path(path, sizeof path, sc->dir, first_lsn);
    wal_seg_path(next, sizeof next, sc->dir, next_first);
    uint64_t t_lo, t_hi, size = 0;
    if (!first_record_term(path, first_lsn, &t_lo, &size) ||
        !first_record_term(next, next_first, &t_hi, NULL) || t_lo != t_hi ||
        t_lo < sc->last_term || (next_first - 1 == sc->after_lsn && t_lo != sc->after_term))
        return 0;
    wal_hist_note(sc->w, t_lo, first_lsn);
    sc->info->segments_skipped++;
    sc->expect_lsn = next_first;
    sc->last_term = t_lo;
    /* Record bytes for retention: the file, less its header (a finished
     * segment is filled to within one record of its end). */
    *rec_bytes = size > WAL_SEG_HDR ? size - WAL_SEG_HDR : 0;
    progress_step(0, size); /* read past, nothing loaded */
    return 1;
}

/* A torn tail of the last segment: keep a copy, cut it, report it. */
static int cut_torn_tail(scan_ctx *sc, const wal_seg_scan *ss, char *err, size_t errlen)
{
    const char *path = sc->path;
    char broken[PATH_MAX + 8];
    snprintf(broken, sizeof broken, "%s.broken", path);
    int crc = kvfs_copy_file(path, broken);
    if (crc < 0)
        return kve_fmt(err, errlen, KVE_IO, "keep copy %s: %s", broken, strerror(-crc));
    int fd = kvfs->open(path, O_WRONLY, 0);
    int trc = fd < 0 ? -errno : 0;
    if (!trc && kvfs->ftruncate(fd, (off_t)ss->end_off) < 0)
        trc = -errno;
    if (!trc && kvfs->fsync(fd) < 0)
        trc = -errno;
    if (fd >= 0)
        kvfs->close(fd);
    if (trc)
        return kve_fmt(err, errlen, KVE_IO, "truncate torn tail of %s: %s", path, strerror(-trc));
    sc->info->bytes_truncated += ss->bad_bytes;
    snprintf(sc->info->truncated_file, sizeof sc->info->truncated_file, "%s", path);
    log_warn("WAL %s: torn tail at offset %" PRIu64 " (%" PRIu64 " bytes) cut after LSN %" PRIu64
             "; copy kept in %s",
             path, ss->end_off, ss->bad_bytes, ss->last_lsn, broken);
    return 0;
}

/* Verify and replay one segment. *end_off is where the next record would
 * go (for the last segment). Returns 0, 1 (the last segment is empty: the
 * caller rewrites its header), SCAN_SUPERSEDED, or a KVE_* code with err
 * set: any damage but a torn tail of the last segment is refused, naming
 * file and offset. */
static int scan_segment(scan_ctx *sc, uint64_t first_lsn, int is_last, uint64_t *end_off,
                        uint64_t *rec_bytes, char *err, size_t errlen)
{
    char path[PATH_MAX];
    wal_seg_path(path, sizeof path, sc->dir, first_lsn);
    sc->path = path;
    sc->err = err;
    sc->errlen = errlen;
    sc->info->segments_scanned++;
    *rec_bytes = 0;
    if (sc->expect_lsn && first_lsn != sc->expect_lsn)
        return kve_fmt(err, errlen, KVE_CORRUPT,
                       "%s: segment starts at LSN %" PRIu64 " but LSN %" PRIu64
                       " was expected (a segment is missing)",
                       path, first_lsn, sc->expect_lsn);
    wal_seg_scan ss;
    int rc = wal_scan_segment_peek(path, first_lsn, sc->last_term, recover_record, sc, sc->peek,
                                   &ss, err, errlen);
    if (rc)
        return rc;
    /* Progress: the records were counted one by one; the rest of the file. */
    progress_step(0, ss.size > ss.end_off ? ss.size - ss.end_off + WAL_SEG_HDR : WAL_SEG_HDR);
    uint64_t expect = ss.last_lsn + 1;
    switch (ss.end) {
    case WAL_SEG_CLEAN:
        break;
    case WAL_SEG_EMPTY:
        if (!is_last)
            return kve_fmt(err, errlen, KVE_CORRUPT, "%s: offset 0: missing segment header", path);
        *end_off = WAL_SEG_HDR;
        sc->expect_lsn = first_lsn;
        return 1;
    case WAL_SEG_NO_HEADER:
        return kve_fmt(err, errlen, KVE_CORRUPT, "%s: offset 0: missing segment header", path);
    case WAL_SEG_BAD_HEADER:
        return kve_fmt(err, errlen, KVE_CORRUPT,
                       "%s: offset 0: bad segment header (magic, version, crc or LSN)", path);
    case WAL_SEG_WRONG_LSN:
        return kve_fmt(err, errlen, KVE_CORRUPT,
                       "%s: offset %" PRIu64 ": record has LSN %" PRIu64 ", expected %" PRIu64,
                       path, ss.end_off, ss.found_lsn, expect);
    case WAL_SEG_TERM_BACK:
        return kve_fmt(err, errlen, KVE_CORRUPT,
                       "%s: offset %" PRIu64 ": LSN %" PRIu64 " has term %" PRIu64
                       ", lower than the term %" PRIu64 " before it",
                       path, ss.end_off, ss.found_lsn, ss.found_term, ss.last_term);
    case WAL_SEG_TORN:
    case WAL_SEG_CORRUPT:
        if (!is_last || ss.end == WAL_SEG_CORRUPT)
            return kve_fmt(err, errlen, KVE_CORRUPT,
                           "%s: offset %" PRIu64 ": invalid record%s (LSN %" PRIu64
                           " expected); refusing to skip over logged data",
                           path, ss.end_off, is_last ? " followed by valid records" : "", expect);
        rc = cut_torn_tail(sc, &ss, err, errlen);
        if (rc)
            return rc;
        break;
    }
    sc->last_term = ss.last_term;
    *end_off = ss.end_off;
    *rec_bytes = ss.end_off - WAL_SEG_HDR;
    sc->expect_lsn = expect;
    return 0;
}

static int remove_spare(void *arg, const char *name)
{
    const char *dir = arg;
    if (strncmp(name, "wal-spare-", 10) == 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        kvfs->unlink(path);
    }
    return 0;
}

/* Remove leftover temp files of the WAL (spares). */
static void remove_spares(const char *dir)
{
    kvfs->listdir(dir, remove_spare, (void *)dir);
}

/* Create a segment file with its header (space for `prealloc` bytes
 * reserved when not 0), synced, directory synced. */
int wal_create_segment(const char *dir, uint64_t first_lsn, uint64_t prealloc, char *err,
                          size_t errlen)
{
    char path[PATH_MAX];
    wal_seg_path(path, sizeof path, dir, first_lsn);
    int fd = kvfs->open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0)
        return kve_fmt(err, errlen, errno == ENOSPC ? KVE_NOSPC : KVE_IO, "create %s: %s", path,
                       strerror(errno));
    uint8_t h[WAL_SEG_HDR];
    wal_encode_seg_header(h, first_lsn);
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
    int rc = wal_list_segments(cfg->dir, &firsts, &n, err, errlen);
    if (rc)
        return rc;

    wal *w = kv_calloc(1, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "%s", cfg->dir);
    w->seg_size = cfg->segment_size;
    w->policy = cfg->fsync;
    w->prealloc = cfg->prealloc;
    w->stall_warn_ms = cfg->stall_warn_ms ? cfg->stall_warn_ms : WAL_STALL_WARN_MS;
    w->inline_sync_max_us = cfg->inline_sync_max_us;
    w->fd = -1;
    w->efd = -1;
    w->spare_id = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    sem_init(&w->wake, 0, 0);

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
                   .peek = cfg->peek && cfg->peek->fn ? cfg->peek : NULL,
                   .w = w};
    uint64_t end_off = WAL_SEG_HDR;
    int last_empty = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t bytes = 0;
        if (i + 1 < n && skip_covered(&sc, firsts[i], firsts[i + 1], &bytes)) {
            wal_segs_push(w, firsts[i]);
            w->segs[w->nsegs - 1].bytes = bytes;
            continue;
        }
        rc = scan_segment(&sc, firsts[i], i + 1 == n, &end_off, &bytes, err, errlen);
        if (rc < 0)
            goto fail;
        if (rc == 2) {
            log_warn("%s; the snapshot supersedes the WAL: its segments are kept as "
                     "*.superseded and the log restarts after the snapshot",
                     err);
            for (size_t j = 0; j < n; j++) {
                char from[PATH_MAX], to[PATH_MAX + 16];
                wal_seg_path(from, sizeof from, cfg->dir, firsts[j]);
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
        wal_segs_push(w, firsts[i]);
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
            wal_seg_path(path, sizeof path, cfg->dir, firsts[i]);
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
        rc = wal_create_segment(cfg->dir, after_lsn + 1, cfg->prealloc ? cfg->segment_size : 0, err,
                            errlen);
        if (rc)
            goto fail;
        wal_segs_push(w, after_lsn + 1);
        end_off = WAL_SEG_HDR;
    } else {
        w->last_lsn = sc.expect_lsn - 1;
        w->last_term = w->last_lsn == after_lsn ? after_term : sc.last_term;
        if (last_empty) {
            rc = wal_create_segment(cfg->dir, firsts[n - 1], cfg->prealloc ? cfg->segment_size : 0,
                                err, errlen);
            if (rc)
                goto fail;
            end_off = WAL_SEG_HDR;
        }
    }
    free(firsts);
    firsts = NULL;
    /* The log's history starts at the snapshot when no retained record
     * covers it. */
    if (after_lsn && (!w->nhist || w->hist[0].first_lsn > after_lsn))
        wal_hist_prepend(w, after_term, after_lsn);

    /* Open the last segment for appending. */
    char path[PATH_MAX];
    wal_seg_path(path, sizeof path, cfg->dir, w->segs[w->nsegs - 1].first_lsn);
    w->fd = kvfs->open(path, O_WRONLY, 0);
    if (w->fd < 0) {
        rc = kve_fmt(err, errlen, KVE_IO, "open %s: %s", path, strerror(errno));
        goto fail;
    }
    w->off = end_off;
    w->seg_room = wal_room_after(w, end_off);
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
    free(firsts);
    if (w->fd >= 0)
        kvfs->close(w->fd);
    kv_free(w->segs);
    kv_free(w->hist);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    sem_destroy(&w->wake);
    kv_free(w);
    return rc;
}
