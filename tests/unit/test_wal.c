/* test_wal.c — the write-ahead log: framing, group commit, segments,
 * recovery of torn tails and refusal of real corruption, I/O failures,
 * ENOSPC admission, simulated power loss, compaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "faultfs.h"
#include "fsio.h"
#include "log.h"
#include "testutil.h"
#include "wal.h"
#include "wal_int.h"
#include "wal.pb-c.h"

/* ---- Fixture ---- */

typedef struct fx {
    char *dir;
    uv_loop_t loop;
    wal *w;
    wal_config cfg;
    int progress;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp("wal");
    uv_loop_init(&f->loop);
    f->cfg.dir = f->dir;
    f->cfg.segment_size = 64 * 1024;
    f->cfg.fsync = WAL_FSYNC_ALWAYS;
    f->cfg.prealloc = 1;
    log_level = LOG_WARNING + 1; /* quiet */
    *state = f;
    return 0;
}

static void close_wal(fx *f)
{
    if (f->w) {
        wal_close(f->w);
        f->w = NULL;
        tu_drain(&f->loop, 2000);
    }
}

static int teardown(void **state)
{
    fx *f = *state;
    close_wal(f);
    faultfs_uninstall();
    uv_loop_close(&f->loop);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

/* What replay saw. */
typedef struct seen {
    uint64_t n;
    uint64_t last_lsn;
    uint64_t last_term;
    int ok; /* payloads matched what make_payload builds */
} seen;

/* Payload for LSN lsn: a deterministic length 0..299 and content. */
static size_t make_payload(uint64_t lsn, uint8_t *out)
{
    size_t len = (size_t)((lsn * 7919) % 300);
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(lsn + i * 31);
    return len;
}

static int collect(void *arg, const wal_record *rec, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    seen *s = arg;
    uint8_t buf[512];
    size_t len = make_payload(rec->lsn, buf);
    if (rec->len != len || (len && memcmp(rec->payload, buf, len) != 0) ||
        rec->type != WAL_REC_COMMANDS || (s->last_lsn && rec->lsn != s->last_lsn + 1))
        s->ok = 0;
    s->n++;
    s->last_lsn = rec->lsn;
    s->last_term = rec->term;
    return 0;
}

static void on_progress(void *arg)
{
    ((fx *)arg)->progress++;
}

static int open_wal(fx *f, uint64_t after, uint64_t after_term, seen *s, wal_recovery *info,
                    char *err)
{
    memset(s, 0, sizeof *s);
    s->ok = 1;
    s->last_lsn = after;
    return wal_open(&f->w, &f->cfg, after, after_term, collect, s, info, err, 256);
}

static void start(fx *f)
{
    assert_int_equal(wal_start(f->w, &f->loop, on_progress, f), 0);
}

static uint64_t append_one(fx *f, uint64_t term)
{
    uint8_t buf[512];
    uint64_t lsn = wal_last_lsn(f->w) + 1;
    size_t len = make_payload(lsn, buf);
    return wal_append(f->w, term, WAL_REC_COMMANDS, buf, len);
}

typedef struct want {
    wal *w;
    uint64_t lsn;
} want;

static int durable_reached(void *arg)
{
    want *x = arg;
    return wal_durable_lsn(x->w) >= x->lsn || wal_error(x->w, NULL);
}

static int wait_durable(fx *f, uint64_t lsn)
{
    want x = {f->w, lsn};
    return tu_run_until(&f->loop, durable_reached, &x, 10000) && wal_durable_lsn(f->w) >= lsn;
}

static int spare_ready(void *arg)
{
    wal_stats st;
    wal_get_stats(arg, &st);
    return st.spare_ready;
}

static void seg_path(fx *f, uint64_t first, char *out)
{
    snprintf(out, 4096, "%s/wal-%020" PRIu64 ".log", f->dir, first);
}

/* Append n records (one loop iteration each batch of `per`) and wait until
 * durable. */
static void append_n(fx *f, uint64_t n, int per, uint64_t term)
{
    for (uint64_t i = 0; i < n; i++) {
        assert_true(append_one(f, term) > 0);
        if ((i + 1) % (uint64_t)per == 0)
            uv_run(&f->loop, UV_RUN_NOWAIT);
    }
    assert_true(wait_durable(f, wal_last_lsn(f->w)));
}

/* Offset of record `lsn` in the single segment starting at first (scan). */
static long record_offset(const char *path, uint64_t lsn, long *size_out)
{
    char *data;
    size_t len;
    if (kvfs_read_file(path, &data, &len) < 0)
        return -1;
    size_t off = WAL_SEG_HDR;
    long found = -1;
    while (off < len) {
        wal_record r;
        long n = wal_decode_record((uint8_t *)data + off, len - off, &r);
        if (n <= 0)
            break;
        if (r.lsn == lsn) {
            found = (long)off;
            *size_out = n;
            break;
        }
        off += (size_t)n;
    }
    free(data);
    return found;
}

static void patch_file(const char *path, long off, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

/* ---- Tests ---- */

/* A framed record decodes to what was encoded, and flipping any single bit
 * of it makes it invalid. */
static void test_record_every_bit_flip_detected(void **state)
{
    (void)state;
    uint8_t payload[37];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 13);
    size_t size = wal_record_size(sizeof payload);
    assert_int_equal(size, 32 + 40);
    uint8_t *rec = calloc(1, size);
    wal_encode_record(rec, 42, 7, WAL_REC_COMMANDS, payload, sizeof payload);
    wal_record r;
    assert_int_equal(wal_decode_record(rec, size, &r), (long)size);
    assert_int_equal(r.lsn, 42);
    assert_int_equal(r.term, 7);
    assert_int_equal(r.len, sizeof payload);
    assert_memory_equal(r.payload, payload, sizeof payload);
    for (size_t bit = 0; bit < size * 8; bit++) {
        rec[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        long n = wal_decode_record(rec, size, &r);
        /* A flip in the length field may make the record look longer than
         * the buffer (0: need more bytes); it is never accepted. */
        assert_true(n <= 0);
        rec[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(wal_decode_record(rec, size - 1, &r), 0);
    free(rec);
}

/* Records appended across many loop iterations are durable, survive a
 * clean close, and replay in order with their payloads. */
static void test_append_close_replay(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    wal_recovery info;
    assert_int_equal(open_wal(f, 0, 0, &s, &info, err), 0);
    assert_int_equal(info.entries_replayed, 0);
    start(f);
    append_n(f, 500, 7, 1);
    assert_int_equal(wal_last_lsn(f->w), 500);
    assert_int_equal(wal_synced_lsn(f->w), 500);
    assert_true(f->progress > 0);
    close_wal(f);

    assert_int_equal(open_wal(f, 0, 0, &s, &info, err), 0);
    assert_true(s.ok);
    assert_int_equal(s.n, 500);
    assert_int_equal(info.entries_replayed, 500);
    assert_int_equal(info.last_lsn, 500);
    assert_int_equal(info.bytes_truncated, 0);
    assert_int_equal(wal_last_lsn(f->w), 500);
    assert_int_equal(wal_last_term(f->w), 1);
    /* Appending continues after the recovered end. */
    start(f);
    append_n(f, 10, 1, 2);
    close_wal(f);
    assert_int_equal(open_wal(f, 0, 0, &s, &info, err), 0);
    assert_int_equal(s.n, 510);
    assert_int_equal(s.last_term, 2);
    assert_true(s.ok);
}

/* Everything appended in one loop iteration goes out as one batch with one
 * fdatasync (group commit). */
static void test_group_commit_one_sync_per_batch(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 1 << 20;
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    assert_true(wait_durable(f, 0));
    wal_stats before, after;
    wal_get_stats(f->w, &before);
    for (int i = 0; i < 200; i++)
        append_one(f, 1);
    assert_true(wait_durable(f, 200));
    wal_get_stats(f->w, &after);
    assert_int_equal(after.batches - before.batches, 1);
    assert_int_equal(after.syncs - before.syncs, 1);
    assert_int_equal(after.max_batch_records, 200);
}

/* Small segments roll over; every segment is named by its first LSN and a
 * reopen replays across all of them. */
static void test_segment_rollover(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 8192;
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    for (int round = 0; round < 40; round++) {
        append_n(f, 25, 5, 1);
        /* let spares get prepared between rounds */
        tu_drain(&f->loop, 5);
    }
    wal_stats st;
    wal_get_stats(f->w, &st);
    assert_true(st.segments > 10);
    close_wal(f);
    assert_int_equal(tu_count_files(f->dir, "wal-spare", ".tmp"), 0);
    int files = tu_count_files(f->dir, "wal-", ".log");
    assert_int_equal((uint64_t)files, st.segments);
    wal_recovery info;
    assert_int_equal(open_wal(f, 0, 0, &s, &info, err), 0);
    assert_true(s.ok);
    assert_int_equal(s.n, 1000);
    assert_int_equal(info.segments_scanned, (uint64_t)files);
}

/* The same without preallocated spares: segments are created on demand. */
static void test_segment_rollover_no_prealloc(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 4096;
    f->cfg.prealloc = 0;
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 300, 50, 3);
    close_wal(f);
    assert_true(tu_count_files(f->dir, "wal-", ".log") > 5);
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    assert_true(s.ok);
    assert_int_equal(s.n, 300);
}

static int gate_held(void *arg)
{
    (void)arg;
    return faultfs_gate_waiting();
}

/* Largest wal-*.log in dir, in bytes. */
static long long largest_segment(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    long long max = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "wal-", 4) != 0 || n < 4 || strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        long long sz = tu_file_size(path);
        if (sz > max)
            max = sz;
    }
    closedir(d);
    return max;
}

/* While the spare cannot be made yet (its zero fill is held up), a full
 * segment ends in a fresh one rather than growing: no segment outgrows its
 * size by more than a record, whatever the load, so compaction can free
 * them. Once the spare is ready it is used, and everything replays. */
static void test_full_segment_without_spare_moves_on(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 16384;
    faultfs_install();
    faultfs_gate(FF_WRITE, "wal-spare");
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    assert_true(tu_poll_until(gate_held, NULL, 5000));
    append_n(f, 400, 20, 1); /* about 70 KB: four segments and more */
    wal_stats st;
    wal_get_stats(f->w, &st);
    assert_int_equal(st.spare_ready, 0);
    assert_true(st.segments >= 4);
    assert_true(largest_segment(f->dir) <= 16384 + 512);
    faultfs_gate_open();
    assert_true(tu_run_until(&f->loop, spare_ready, f->w, 5000));
    append_n(f, 100, 10, 1);
    close_wal(f);
    faultfs_uninstall();
    assert_true(largest_segment(f->dir) <= 16384 + 512);
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    assert_true(s.ok);
    assert_int_equal(s.n, 500);
}

/* Replay starts after the snapshot LSN; records at or before it are
 * verified but not applied. */
static void test_replay_after_snapshot_lsn(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 100, 10, 4);
    close_wal(f);
    wal_recovery info;
    assert_int_equal(open_wal(f, 60, 4, &s, &info, err), 0);
    assert_int_equal(s.n, 40);
    /* Every record is read, except those of a segment wholly at or below
     * the snapshot (the startup segment is swapped for a spare once one is
     * ready, so where 100 records land is a matter of timing). */
    if (info.segments_skipped == 0)
        assert_int_equal(info.records_scanned, 100);
    else
        assert_true(info.records_scanned >= 40 && info.records_scanned < 100);
    assert_true(s.ok);
    close_wal(f);
    /* A snapshot whose term disagrees with the log at its LSN comes from
     * another history (installed from a primary): it supersedes the log. */
    assert_int_equal(open_wal(f, 60, 3, &s, &info, err), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(wal_last_lsn(f->w), 60);
    assert_int_equal(wal_last_term(f->w), 3);
}

/* Restart speed: segments wholly at or below the snapshot are not read
 * through (only their header and first record, and the next segment's
 * first record), yet the term history is the one a full scan gives (the
 * segment where the term changes is scanned), and a bad header in a
 * covered segment is still refused. */
static void test_covered_segments_not_read(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 4096;
    f->cfg.prealloc = 0; /* fixed-size segments, whatever the spares do */
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 150, 10, 1);
    append_n(f, 150, 10, 2);
    close_wal(f);
    int files = tu_count_files(f->dir, "wal-", ".log");
    assert_true(files > 8);
    wal_recovery info;
    assert_int_equal(open_wal(f, 250, 2, &s, &info, err), 0);
    assert_true(s.ok);
    assert_int_equal(s.n, 50);
    assert_true(info.segments_skipped >= 3);
    assert_int_equal(info.segments_skipped + info.segments_scanned, (uint64_t)files);
    assert_int_equal(wal_term_at(f->w, 1), 1);
    assert_int_equal(wal_term_at(f->w, 150), 1);
    assert_int_equal(wal_term_at(f->w, 151), 2);
    assert_int_equal(wal_term_at(f->w, 300), 2);
    size_t nh;
    const wal_term_start *h = wal_history(f->w, &nh);
    assert_int_equal(nh, 2);
    assert_int_equal(h[0].term, 1);
    assert_int_equal(h[0].first_lsn, 1);
    assert_int_equal(h[1].term, 2);
    assert_int_equal(h[1].first_lsn, 151);
    /* What the skipped segments hold is still read back whole. */
    wal_cursor cur = {1, 1, 0};
    wal_rbuf buf = {0};
    long n = wal_read(f->dir, &cur, 40, 1 << 20, &buf, err, sizeof err);
    assert_true(n > 0);
    wal_rbuf_free(&buf);
    close_wal(f);
    /* A covered segment with a damaged header is refused, naming it. */
    char path[600];
    snprintf(path, sizeof path, "%s/wal-%020d.log", f->dir, 1);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
    close(fd);
    assert_int_equal(open_wal(f, 250, 2, &s, &info, err), KVE_CORRUPT);
    assert_non_null(strstr(err, "wal-00000000000000000001.log"));
}

/* A closed log of n records in its first segment (path), a copy of that
 * segment in keep (path + ".orig"); returns record n's offset in it and
 * its size in *recsize. */
static long log_with_copy(fx *f, int n, char path[4096], char keep[4200], long *recsize)
{
    seen s;
    char err[256];
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, n, n, 1);
    close_wal(f);
    seg_path(f, 1, path);
    snprintf(keep, 4200, "%s.orig", path);
    assert_int_equal(kvfs_copy_file(path, keep), 0);
    return record_offset(path, (uint64_t)n, recsize);
}

/* Cutting the last record short at every byte offset (zeros after the cut,
 * as after a torn write) recovers exactly the records before it, reports
 * the cut and keeps a copy. */
static void test_torn_tail_every_offset(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 1 << 20;
    char path[4096], keep[4200];
    long recsize = 0;
    long off = log_with_copy(f, 20, path, keep, &recsize);
    assert_true(off > 0 && recsize > 32);
    long long full = tu_file_size(path);
    for (long cut = 0; cut < recsize; cut++) {
        assert_int_equal(kvfs_copy_file(keep, path), 0);
        /* Zero from the cut to the end of the file. */
        size_t n = (size_t)(full - (off + cut));
        char *z = calloc(1, n);
        patch_file(path, off + cut, z, n);
        free(z);
        wal_recovery info;
        assert_int_equal(open_wal(f, 0, 0, &s, &info, err), 0);
        assert_int_equal(s.n, 19);
        assert_true(s.ok);
        assert_int_equal(wal_last_lsn(f->w), 19);
        if (cut > 0) {
            assert_int_equal(info.bytes_truncated > 0, 1);
            assert_non_null(strstr(info.truncated_file, "wal-"));
        }
        close_wal(f);
        /* The repaired log opens cleanly with nothing more to cut. */
        assert_int_equal(open_wal(f, 0, 0, &s, &info, err), 0);
        assert_int_equal(info.bytes_truncated, 0);
        assert_int_equal(s.n, 19);
        close_wal(f);
    }
    char broken[4200];
    snprintf(broken, sizeof broken, "%s.broken", path);
    assert_true(tu_file_size(broken) > 0);
}

/* A last record cut short by end-of-file (no preallocation) and one whose
 * tail is garbage instead of zeros are both torn tails. */
static void test_torn_tail_eof_and_garbage(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.prealloc = 0;
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 10, 10, 1);
    close_wal(f);
    char path[4096];
    seg_path(f, 1, path);
    long recsize = 0;
    long off = record_offset(path, 10, &recsize);
    /* Garbage over the second half of the last record. */
    char junk[16];
    memset(junk, 0xA5, sizeof junk);
    patch_file(path, off + recsize - 16, junk, sizeof junk);
    wal_recovery info;
    assert_int_equal(open_wal(f, 0, 0, &s, &info, err), 0);
    assert_int_equal(s.n, 9);
    close_wal(f);
    /* Now cut the file in the middle of record 9. */
    off = record_offset(path, 9, &recsize);
    assert_int_equal(truncate(path, off + 5), 0);
    assert_int_equal(open_wal(f, 0, 0, &s, &info, err), 0);
    assert_int_equal(s.n, 8);
    assert_int_equal(info.bytes_truncated, 5);
}

/* One stray non-zero byte anywhere in the zeros after the last record of
 * a preallocated segment (right after it, a word later, far on, or in the
 * file's last byte) is a torn tail to cut, never a clean end. */
static void test_stray_byte_after_last_record(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    char path[4096], keep[4200];
    long recsize = 0;
    long end = log_with_copy(f, 10, path, keep, &recsize);
    assert_true(end > 0);
    end += recsize;
    long long size = tu_file_size(path);
    assert_true(size > end + 5000);
    long at[] = {end, end + 7, end + 8, end + 9, end + 17, end + 1000, end + 4099,
                 (long)size - 1};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        assert_int_equal(kvfs_copy_file(keep, path), 0);
        uint8_t b = 0x01;
        patch_file(path, at[i], &b, 1);
        wal_recovery info;
        assert_int_equal(open_wal(f, 0, 0, &s, &info, err), 0);
        assert_int_equal(s.n, 10);
        assert_int_equal(info.bytes_truncated, (uint64_t)(at[i] - end + 1));
        close_wal(f);
    }
}

/* A damaged record followed by valid ones is corruption, not a torn tail:
 * recovery refuses and names the file and offset. */
static void test_corruption_before_valid_records_is_fatal(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 30, 30, 1);
    close_wal(f);
    char path[4096];
    seg_path(f, 1, path);
    long recsize = 0;
    long off = record_offset(path, 12, &recsize);
    uint8_t b = 0xFF;
    patch_file(path, off + 40, &b, 1);
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), KVE_CORRUPT);
    assert_null(f->w);
    assert_non_null(strstr(err, "wal-00000000000000000001.log"));
    char where[64];
    snprintf(where, sizeof where, "offset %ld", off);
    assert_non_null(strstr(err, where));
}

/* What the read-ahead hint saw, checked against replay as it goes. */
typedef struct peeks {
    seen s;
    uint64_t max_peeked;        /* highest LSN shown to the hint */
    uint64_t shown;             /* frames shown */
    const uint8_t *raw[64];     /* by LSN % 64: the frame shown */
    uint64_t raw_lsn[64];
    int ok;                     /* every applied record was shown first (the
                                   same frame), at most WAL_PEEK_AHEAD - 1
                                   records ahead */
    int lead_full;              /* times it was a full WAL_PEEK_AHEAD - 1 ahead */
    int zeros_shown;            /* frames of zeros shown: never */
} peeks;

static void peek_fn(void *arg, const wal_record *rec)
{
    peeks *p = arg;
    if (rec->lsn == 0 || (rec->type != WAL_REC_COMMANDS && rec->type != WAL_REC_NOOP &&
                          rec->type != WAL_REC_CONFIG))
        p->zeros_shown++; /* the zeros after a segment's last record */
    p->raw[rec->lsn % 64] = rec->raw;
    p->raw_lsn[rec->lsn % 64] = rec->lsn;
    if (rec->lsn > p->max_peeked)
        p->max_peeked = rec->lsn;
    p->shown++;
}

static int apply_peeked(void *arg, const wal_record *rec, char *err, size_t errlen)
{
    peeks *p = arg;
    if (p->max_peeked < rec->lsn || p->max_peeked > rec->lsn + WAL_PEEK_AHEAD - 1 ||
        p->raw_lsn[rec->lsn % 64] != rec->lsn || p->raw[rec->lsn % 64] != rec->raw)
        p->ok = 0;
    p->lead_full += p->max_peeked == rec->lsn + WAL_PEEK_AHEAD - 1;
    return collect(&p->s, rec, err, errlen);
}

static int open_peeked(fx *f, peeks *p, wal_recovery *info, char *err)
{
    memset(p, 0, sizeof *p);
    p->ok = p->s.ok = 1;
    wal_peek_hook hook = {peek_fn, p};
    f->cfg.peek = &hook;
    int rc = wal_open(&f->w, &f->cfg, 0, 0, apply_peeked, p, info, err, 256);
    f->cfg.peek = NULL;
    return rc;
}

/* Recovery shows each record to the read-ahead hint before replaying it,
 * WAL_PEEK_AHEAD - 1 records ahead once under way, across several
 * segments, with the bytes replay then gets; over a torn tail (garbage
 * where the last record was) and a bad CRC before valid records the hint
 * reads only inside the file and recovery decides exactly as without it. */
static void test_peek_runs_ahead_of_replay(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 1200, 50, 1);
    close_wal(f);
    peeks p;
    wal_recovery info;
    assert_int_equal(open_peeked(f, &p, &info, err), 0);
    assert_true(info.segments_scanned >= 2); /* rollover timing decides how many */
    assert_int_equal(p.s.n, 1200);
    assert_true(p.s.ok);
    assert_true(p.ok);
    assert_true(p.shown >= 1200);
    assert_int_equal(p.zeros_shown, 0);
    assert_true(p.lead_full > 1000);
    close_wal(f);
    uint64_t *firsts;
    size_t nseg;
    assert_int_equal(wal_list_segments(f->dir, &firsts, &nseg, err, sizeof err), 0);
    assert_true(nseg >= 2);
    uint64_t last_first = firsts[nseg - 1];
    /* How many records the first segment holds: the move to the first
     * spare comes as soon as it is ready, which is timing (a slow build
     * may leave fewer than 100 there). */
    uint64_t in_first = firsts[1] - 1;
    free(firsts);
    assert_true(in_first >= 1);

    /* Garbage over the end of the last record: a torn tail. */
    char path[4096];
    seg_path(f, last_first, path);
    long recsize = 0;
    long off = record_offset(path, 1200, &recsize);
    assert_true(off > 0);
    char junk[16];
    memset(junk, 0xA5, sizeof junk);
    patch_file(path, off + recsize - 16, junk, sizeof junk);
    assert_int_equal(open_peeked(f, &p, &info, err), 0);
    assert_int_equal(p.s.n, 1199);
    assert_true(p.s.ok && p.ok);
    assert_true(info.bytes_truncated > 0);
    close_wal(f);

    /* A bad CRC (same length) before valid records, in the first segment
     * (record 100, or one halfway through it when it holds fewer):
     * refused, at the same offset as without the hint. */
    seg_path(f, 1, path);
    off = record_offset(path, in_first >= 100 ? 100 : (in_first + 1) / 2, &recsize);
    assert_true(off > 0);
    uint8_t b = 0xFF;
    patch_file(path, off + 40, &b, 1);
    assert_int_equal(open_peeked(f, &p, NULL, err), KVE_CORRUPT);
    assert_null(f->w);
    char where[64];
    snprintf(where, sizeof where, "offset %ld", off);
    assert_non_null(strstr(err, where));
}

/* wal_entry_first_key finds the first command's argv[1] and database in
 * packed WalEntries of every shape, answers 0 when there is none, and
 * reads only inside the payload whatever the bytes (every prefix and
 * every single-byte change of a real entry; ASan builds check). */
static void test_entry_first_key(void **state)
{
    (void)state;
    ProtobufCBinaryData a1[3] = {{3, (uint8_t *)"SET"}, {5, (uint8_t *)"key:1"}, {1, (uint8_t *)"v"}};
    ProtobufCBinaryData a2[2] = {{3, (uint8_t *)"DEL"}, {0, (uint8_t *)""}};
    ProtobufCBinaryData a3[1] = {{5, (uint8_t *)"FLUSH"}};
    Kv__Command c1 = KV__COMMAND__INIT, c2 = KV__COMMAND__INIT, c3 = KV__COMMAND__INIT;
    c1.n_argv = 3, c1.argv = a1, c1.db = 7;
    c2.n_argv = 2, c2.argv = a2;
    c3.n_argv = 1, c3.argv = a3;
    struct {
        Kv__Command *cmds[2];
        size_t n;
        int found;
        const char *key;
        uint64_t db;
    } cases[] = {
        {{&c1, &c2}, 2, 1, "key:1", 7},
        {{&c2, &c1}, 2, 1, "", 0},
        {{&c3, &c1}, 2, 0, NULL, 0},
        {{NULL}, 0, 0, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Kv__WalEntry e = KV__WAL_ENTRY__INIT;
        e.n_commands = cases[i].n;
        e.commands = cases[i].cmds;
        size_t len = kv__wal_entry__get_packed_size(&e);
        uint8_t *buf = malloc(len ? len : 1);
        kv__wal_entry__pack(&e, buf);
        const uint8_t *key = NULL;
        size_t klen = 99;
        uint64_t db = 99;
        assert_int_equal(wal_entry_first_key(buf, len, &key, &klen, &db), cases[i].found);
        if (cases[i].found) {
            assert_int_equal(klen, strlen(cases[i].key));
            assert_memory_equal(key, cases[i].key, klen);
            assert_true(key >= buf && key + klen <= buf + len);
            assert_int_equal(db, cases[i].db);
        }
        /* Every prefix, copied to a buffer of exactly that size. */
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *pre = malloc(cut ? cut : 1);
            memcpy(pre, buf, cut);
            if (wal_entry_first_key(pre, cut, &key, &klen, &db))
                assert_true(key >= pre && key + klen <= pre + cut);
            free(pre);
        }
        /* Every byte of it changed to each of a few values. */
        static const uint8_t vals[] = {0x00, 0x01, 0x0a, 0x12, 0x7f, 0x80, 0xff};
        for (size_t at = 0; at < len; at++) {
            for (size_t v = 0; v < sizeof vals; v++) {
                uint8_t *m = malloc(len);
                memcpy(m, buf, len);
                m[at] = vals[v];
                if (wal_entry_first_key(m, len, &key, &klen, &db))
                    assert_true(key >= m && key + klen <= m + len);
                free(m);
            }
        }
        free(buf);
    }
}

/* A missing middle segment is a gap and refuses to start. */
static void test_missing_segment_is_fatal(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 4096;
    f->cfg.prealloc = 0;
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 200, 10, 1);
    wal_stats st;
    wal_get_stats(f->w, &st);
    assert_true(st.segments >= 3);
    close_wal(f);
    /* Find the second segment by scanning names in LSN order. */
    uint64_t firsts[3];
    int k = 0;
    for (uint64_t l = 1; l <= 200 && k < 3; l++) {
        char p[4096];
        seg_path(f, l, p);
        if (access(p, F_OK) == 0)
            firsts[k++] = l;
    }
    assert_int_equal(k, 3);
    char p[4096];
    seg_path(f, firsts[1], p);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), KVE_CORRUPT);
    assert_non_null(strstr(err, "missing"));
}

/* The WAL lists its directory through the file table: when the listing
 * fails, wal_open and wal_read report an I/O error naming the directory,
 * and both work again once the listing does. */
static void test_directory_listing_through_the_table(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 20, 5, 1);
    close_wal(f);
    faultfs_install();
    faultfs_fail_path(FF_LIST, f->dir, 1, EIO, 1);
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), KVE_IO);
    assert_non_null(strstr(err, f->dir));
    assert_non_null(strstr(err, "Input/output error"));
    wal_cursor cur = {1, 0, 0};
    wal_rbuf out = {0};
    assert_int_equal(wal_read(f->dir, &cur, 20, 1 << 20, &out, err, sizeof err), KVE_IO);
    faultfs_clear();
    assert_true(faultfs_count(FF_LIST) >= 2);
    assert_int_equal(wal_read(f->dir, &cur, 20, 1 << 20, &out, err, sizeof err), 20);
    wal_rbuf_free(&out);
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    assert_int_equal(s.n, 20);
}

/* A failed fdatasync is fail-stop: nothing after it is ever reported
 * durable, the sync is not retried, and appends are refused. */
static void test_fsync_error_is_fail_stop(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    faultfs_install();
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 5, 5, 1);
    assert_true(tu_run_until(&f->loop, spare_ready, f->w, 5000));
    faultfs_fail_path(FF_FSYNC, "wal-0", 1, EIO, 0);
    append_one(f, 1);
    want x = {f->w, 6};
    assert_true(tu_run_until(&f->loop, durable_reached, &x, 5000));
    const char *msg;
    assert_int_equal(wal_error(f->w, &msg), KVE_IO);
    assert_non_null(strstr(msg, "fdatasync"));
    assert_int_equal(wal_durable_lsn(f->w), 5);
    assert_int_equal(wal_can_accept(f->w, 10), KVE_FAILED);
    assert_int_equal(append_one(f, 1), 0);
    /* The spare that the switch started preparing may still be syncing
     * its own file: let it finish before counting. */
    assert_true(tu_run_until(&f->loop, spare_ready, f->w, 5000));
    unsigned long syncs = faultfs_count(FF_FSYNC);
    tu_drain(&f->loop, 50);
    assert_int_equal(faultfs_count(FF_FSYNC), syncs);
    assert_int_equal(wal_durable_lsn(f->w), 5);
}

/* A failed write is fail-stop too; short writes are simply continued. */
static void test_write_error_and_short_write(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    faultfs_install();
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    faultfs_short_write(1, 7);
    append_n(f, 5, 5, 1);
    assert_int_equal(wal_error(f->w, NULL), 0);
    faultfs_fail_path(FF_WRITE, "wal-0", 1, EIO, 0);
    append_one(f, 1);
    want x = {f->w, 6};
    tu_run_until(&f->loop, durable_reached, &x, 5000);
    assert_int_equal(wal_error(f->w, NULL), KVE_IO);
    assert_int_equal(wal_durable_lsn(f->w), 5);
    close_wal(f);
    faultfs_uninstall();
    /* What was durable is intact; the short-written batch is whole. */
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    assert_true(s.n == 5 || s.n == 6);
    assert_true(s.ok);
}

/* When the disk is full no spare segment can be prepared: writes are
 * refused up front once the current segment is nearly full, nothing
 * half-written appears, and writes resume when space returns. */
static void test_enospc_refuses_writes_then_recovers(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 16384;
    faultfs_install();
    faultfs_fail_path(FF_WRITE, "wal-spare", 1, ENOSPC, 1);
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    tu_drain(&f->loop, 50);
    uint64_t acked = 0;
    for (int i = 0; i < 1000; i++) {
        if (wal_can_accept(f->w, 300) != 0)
            break;
        append_one(f, 1);
        uv_run(&f->loop, UV_RUN_NOWAIT);
        acked = wal_last_lsn(f->w);
    }
    assert_int_equal(wal_can_accept(f->w, 300), KVE_NOSPC);
    assert_non_null(strstr(wal_nospace_reason(f->w), "No space"));
    assert_true(wait_durable(f, acked));
    assert_int_equal(wal_error(f->w, NULL), 0);
    /* Space comes back: the spare is retried and writes resume. */
    faultfs_clear();
    int ok = 0;
    for (int i = 0; i < 300 && !ok; i++) {
        tu_drain(&f->loop, 10);
        ok = wal_can_accept(f->w, 300) == 0;
    }
    assert_true(ok);
    append_n(f, 100, 10, 1);
    close_wal(f);
    faultfs_uninstall();
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    assert_int_equal(s.n, acked + 100);
    assert_true(s.ok);
}

/* Simulated power loss at random moments: every record that was reported
 * durable survives, and the log is a contiguous prefix. */
static void test_power_loss_keeps_durable_records(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 8192;
    uint64_t rng = 12345;
    uint64_t expect_at_least = 0;
    for (int round = 0; round < 25; round++) {
        faultfs_install();
        wal_recovery info;
        assert_int_equal(open_wal(f, 0, 0, &s, &info, err), 0);
        assert_true(s.ok);
        assert_true(s.n >= expect_at_least);
        start(f);
        int steps = 1 + (int)(tu_rand(&rng) % 40);
        for (int i = 0; i < steps; i++) {
            int k = 1 + (int)(tu_rand(&rng) % 20);
            for (int j = 0; j < k; j++)
                append_one(f, 1);
            uv_run(&f->loop, UV_RUN_NOWAIT);
        }
        expect_at_least = wal_durable_lsn(f->w);
        faultfs_crash();
        /* The machine is off: close what is left without touching disk. */
        close_wal(f);
        faultfs_uninstall();
    }
}

/* Compaction deletes only segments wholly covered, never the active one; a
 * log compacted past LSN X can no longer be replayed from before X. */
static void test_compaction(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 4096;
    f->cfg.prealloc = 0;
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 400, 20, 1);
    wal_stats st;
    wal_get_stats(f->w, &st);
    uint64_t before = st.segments;
    int removed = wal_compact(f->w, 250);
    assert_true(removed > 0);
    wal_get_stats(f->w, &st);
    assert_int_equal(st.segments, before - (uint64_t)removed);
    assert_true(st.first_lsn <= 251);
    /* Compacting everything keeps the active segment. */
    wal_compact(f->w, 400);
    wal_get_stats(f->w, &st);
    assert_int_equal(st.segments, 1);
    close_wal(f);
    assert_int_equal(tu_count_files(f->dir, "wal-", ".log"), 1);
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), KVE_CORRUPT);
    assert_non_null(strstr(err, "missing"));
    assert_int_equal(open_wal(f, 400, 1, &s, NULL, err), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(wal_last_lsn(f->w), 400);
}

/* A snapshot newer than the whole log (possible after a power loss with
 * everysec) supersedes it: recovery continues after the snapshot. */
static void test_snapshot_newer_than_log(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 10, 10, 1);
    close_wal(f);
    assert_int_equal(open_wal(f, 50, 2, &s, NULL, err), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(wal_last_lsn(f->w), 50);
    assert_int_equal(wal_last_term(f->w), 2);
    start(f);
    append_n(f, 5, 5, 2);
    close_wal(f);
    assert_int_equal(open_wal(f, 50, 2, &s, NULL, err), 0);
    assert_int_equal(s.n, 5);
    assert_true(s.ok);
}

/* With everysec, replies may be released once the kernel has the data, and
 * the data still reaches the disk within about a second. */
static void test_everysec_policy(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.fsync = WAL_FSYNC_EVERYSEC;
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    tu_drain(&f->loop, 20);
    for (int i = 0; i < 50; i++)
        append_one(f, 1);
    assert_true(wait_durable(f, 50));
    int synced = 0;
    for (int i = 0; i < 300 && !synced; i++) {
        tu_drain(&f->loop, 10);
        synced = wal_synced_lsn(f->w) >= 50;
    }
    assert_true(synced);
}

/* Records read back from the files (across segments, from any LSN, in
 * bounded pieces, while appends continue) are the exact bytes appended. */
static void test_read_back(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 8192;
    f->cfg.prealloc = 0;
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 300, 10, 1);
    for (uint64_t from = 1; from <= 300; from += 37) {
        wal_cursor cur = {from, 0, 0};
        wal_rbuf out = {0};
        uint64_t expect_lsn = from;
        while (expect_lsn <= 300) {
            long n = wal_read(f->dir, &cur, 300, 700, &out, err, sizeof err);
            assert_true(n > 0);
            size_t off = 0;
            while (off < out.len) {
                wal_record r;
                long m = wal_decode_record(out.p + off, out.len - off, &r);
                assert_true(m > 0);
                assert_int_equal(r.lsn, expect_lsn);
                uint8_t buf[512];
                size_t len = make_payload(r.lsn, buf);
                assert_int_equal(r.len, len);
                assert_memory_equal(r.payload, buf, len);
                expect_lsn++;
                off += (size_t)m;
            }
            out.len = 0;
        }
        /* Nothing past the end; nothing past `upto`. */
        assert_int_equal(wal_read(f->dir, &cur, 300, 1 << 20, &out, err, sizeof err), 0);
        wal_cursor c2 = {from, 0, 0};
        assert_int_equal(wal_read(f->dir, &c2, from - 1, 1 << 20, &out, err, sizeof err), 0);
        wal_rbuf_free(&out);
    }
    /* After compaction the old LSNs are gone: NOTFOUND. */
    wal_compact(f->w, 200);
    wal_rbuf out = {0};
    long rc = 0;
    for (int i = 0; i < 500 && rc != KVE_NOTFOUND; i++) {
        tu_drain(&f->loop, 10); /* the unlinks run on the thread pool */
        wal_cursor cur = {5, 0, 0};
        out.len = 0;
        rc = wal_read(f->dir, &cur, 300, 1 << 20, &out, err, sizeof err);
    }
    assert_int_equal(rc, KVE_NOTFOUND);
    wal_rbuf_free(&out);
}

/* A replica stores its primary's framed records unchanged: raw appends
 * keep LSN and term, refuse gaps and lower terms, and survive a restart;
 * the term history tracks where each term starts. */
static void test_append_raw_and_history(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    uint8_t rec[512], payload[512];
    for (uint64_t lsn = 1; lsn <= 30; lsn++) {
        size_t len = make_payload(lsn, payload);
        wal_encode_record(rec, lsn, lsn <= 10 ? 1 : lsn <= 20 ? 3 : 4, WAL_REC_COMMANDS, payload,
                          len);
        assert_int_equal(wal_append_raw(f->w, rec, wal_record_size(len)), 0);
    }
    size_t len = make_payload(40, payload);
    wal_encode_record(rec, 40, 4, WAL_REC_COMMANDS, payload, len);
    assert_int_equal(wal_append_raw(f->w, rec, wal_record_size(len)), KVE_INVAL);
    len = make_payload(31, payload);
    wal_encode_record(rec, 31, 2, WAL_REC_COMMANDS, payload, len);
    assert_int_equal(wal_append_raw(f->w, rec, wal_record_size(len)), KVE_INVAL);
    rec[40] ^= 1;
    assert_int_equal(wal_append_raw(f->w, rec, wal_record_size(len)), KVE_CORRUPT);
    assert_int_equal(wal_term_at(f->w, 10), 1);
    assert_int_equal(wal_term_at(f->w, 11), 3);
    assert_int_equal(wal_term_at(f->w, 30), 4);
    assert_int_equal(wal_term_at(f->w, 31), 0);
    size_t n;
    const wal_term_start *h = wal_history(f->w, &n);
    assert_int_equal(n, 3);
    assert_int_equal(h[1].term, 3);
    assert_int_equal(h[1].first_lsn, 11);
    assert_true(wait_durable(f, 30));
    close_wal(f);
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    assert_true(s.ok);
    assert_int_equal(s.n, 30);
    h = wal_history(f->w, &n);
    assert_int_equal(n, 3);
    assert_int_equal(h[2].first_lsn, 21);
}

/* Truncation cuts the log after an LSN (across segments), appends go on
 * from there, and a restart sees exactly the kept prefix. */
static void test_truncate_after(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    f->cfg.segment_size = 4096;
    f->cfg.prealloc = 0;
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 200, 10, 1);
    wal_stats st;
    wal_get_stats(f->w, &st);
    assert_true(st.segments > 3);
    assert_int_equal(wal_truncate_after(f->w, 77, err, sizeof err), 0);
    assert_int_equal(wal_last_lsn(f->w), 77);
    assert_int_equal(wal_term_at(f->w, 78), 0);
    append_n(f, 23, 5, 2);
    assert_int_equal(wal_last_lsn(f->w), 100);
    close_wal(f);
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    assert_int_equal(s.n, 100);
    assert_true(s.ok);
    assert_int_equal(wal_term_at(f->w, 77), 1);
    assert_int_equal(wal_term_at(f->w, 78), 2);
    /* Truncating at the very start empties the log. */
    start(f);
    assert_int_equal(wal_truncate_after(f->w, 0, err, sizeof err), 0);
    assert_int_equal(wal_last_lsn(f->w), 0);
    append_n(f, 3, 3, 5);
    close_wal(f);
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    assert_int_equal(s.n, 3);
}

/* After a snapshot is installed the log restarts after it; a crash
 * between installing the snapshot and resetting the log (the old log
 * disagrees with the snapshot at its LSN) is recovered from by setting the
 * old log aside. */
static void test_reset_and_superseded(void **state)
{
    fx *f = *state;
    seen s;
    char err[256];
    assert_int_equal(open_wal(f, 0, 0, &s, NULL, err), 0);
    start(f);
    append_n(f, 50, 10, 1);
    assert_int_equal(wal_reset(f->w, 1000, 7, err, sizeof err), 0);
    assert_int_equal(wal_last_lsn(f->w), 1000);
    assert_int_equal(wal_term_at(f->w, 1000), 7);
    append_n(f, 5, 5, 7);
    close_wal(f);
    /* The old segments are gone; the log restarts at 1001. */
    char first[4096];
    seg_path(f, 1, first);
    assert_int_equal(tu_file_size(first), -1);
    seg_path(f, 1001, first);
    assert_true(tu_file_size(first) > 0);
    assert_int_equal(open_wal(f, 1000, 7, &s, NULL, err), 0);
    assert_int_equal(s.n, 5);
    assert_true(s.ok);
    close_wal(f);
    /* A snapshot at LSN 1003 with another term: the log is superseded. */
    assert_int_equal(open_wal(f, 1003, 9, &s, NULL, err), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(wal_last_lsn(f->w), 1003);
    assert_true(tu_count_files(f->dir, "wal-", ".superseded") >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_every_bit_flip_detected),
        cmocka_unit_test_setup_teardown(test_append_close_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_one_sync_per_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_rollover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_rollover_no_prealloc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_segment_without_spare_moves_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_after_snapshot_lsn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_eof_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption_before_valid_records_is_fatal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_segment_is_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_listing_through_the_table, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fsync_error_is_fail_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error_and_short_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enospc_refuses_writes_then_recovers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_power_loss_keeps_durable_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_newer_than_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_everysec_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_raw_and_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_and_superseded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_covered_segments_not_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peek_runs_ahead_of_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stray_byte_after_last_record, setup, teardown),
        cmocka_unit_test(test_entry_first_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
