/* fuzz_storage.c — libFuzzer harness for the on-disk readers: the WAL
 * record decoder, WAL recovery of a whole segment, and the snapshot loader.
 * The first input byte picks the target; the rest is the file. A first
 * byte of 0xf0 or more fuzzes the snapshot entry decoders (every value
 * type: strings, lists, hashes, sets, sorted sets) directly: the second
 * byte is an entry count and the rest one block's payload, wrapped in a
 * header, block header and footer with valid checksums, so mutations
 * reach the decoders instead of stopping at a CRC.
 * Invariants: no crash or sanitizer report, no leak, and whatever the
 * snapshot loader accepts is a keyspace that can be freed; a segment that
 * recovery accepts replays records with consecutive LSNs. */
#include "crc32c.h"
#include "dict.h"
#include "endian.h"
#include "err.h"
#include "fsio.h"
#include "keyspace.h"
#include "log.h"
#include "snapshot.h"
#include "wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        abort();
    if (n && write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

static void clean_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
}

/* The scratch directory goes when the fuzzer exits (libFuzzer's -runs and
 * a corpus replay end with exit()). */
static void remove_dir(void)
{
    clean_dir();
    rmdir(dir);
}

typedef struct seen {
    uint64_t last;
} seen;

static int check_order(void *arg, const wal_record *rec, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    seen *s = arg;
    if (s->last && rec->lsn != s->last + 1)
        abort(); /* recovery must never replay out of order */
    s->last = rec->lsn;
    return 0;
}

/* A snapshot file of one block holding `count` entries in payload. */
static uint8_t *wrap_snapshot(const uint8_t *payload, size_t n, uint32_t count, size_t *len)
{
    size_t total = SNAP_HDR_SIZE + (n ? SNAP_BLOCK_HDR + n : 0) + SNAP_FOOTER_SIZE;
    uint8_t *f = calloc(1, total);
    if (!f)
        abort();
    memcpy(f, "KVSNAP01", 8);
    le_put32(f + 8, 1);
    le_put64(f + 16, 7);
    le_put64(f + 24, 1);
    le_put32(f + 60, crc32c(0, f, 60));
    size_t off = SNAP_HDR_SIZE;
    if (n) {
        uint8_t *b = f + off;
        le_put32(b + 4, (uint32_t)n);
        le_put32(b + 8, count);
        memcpy(b + SNAP_BLOCK_HDR, payload, n);
        le_put32(b, crc32c(0, b + 4, SNAP_BLOCK_HDR - 4 + n));
        off += SNAP_BLOCK_HDR + n;
    }
    uint8_t *t = f + off;
    memcpy(t, "KVSNPEND", 8);
    le_put64(t + 8, n ? count : 0);
    le_put64(t + 16, n ? 1 : 0);
    le_put32(t + 24, crc32c(0, f, off));
    le_put32(t + 28, crc32c(0, t, 28));
    *len = total;
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        log_level = LOG_WARNING + 1;
        snprintf(dir, sizeof dir, "/tmp/kvfuzz-storage-%d", (int)getpid());
        mkdir(dir, 0755);
        atexit(remove_dir);
    }
    if (size < 1)
        return 0;
    int mode = data[0] >= 0xf0 ? 3 : data[0] % 3;
    data++;
    size--;
    char err[512];
    if (mode == 3) {
        if (size < 1)
            return 0;
        size_t len;
        uint8_t *file = wrap_snapshot(data + 1, size - 1, data[0], &len);
        clean_dir();
        char path[128];
        snprintf(path, sizeof path, "%s/snap-%020d.snap", dir, 7);
        write_file(path, file, len);
        free(file);
        ks *dbs[4]; /* entries may name databases 1..3 (or beyond: refused) */
        for (int i = 0; i < 4; i++)
            dbs[i] = ks_new();
        snap_meta m;
        if (snap_load(path, dbs, 4, &m, err, sizeof err) == 0 &&
            m.keys != ks_size(dbs[0]) + ks_size(dbs[1]) + ks_size(dbs[2]) + ks_size(dbs[3]))
            abort(); /* an accepted image has exactly the keys it counts */
        char digest[41];
        ks_digest_dbs(dbs, 4, digest); /* walks every value the decoders built */
        for (int i = 0; i < 4; i++)
            ks_free(dbs[i]);
        return 0;
    }
    if (mode == 0) {
        /* Walk records back to back, as a replica reading a batch does. */
        size_t off = 0;
        while (off < size) {
            wal_record r;
            long n = wal_decode_record(data + off, size - off, &r);
            if (n <= 0)
                break;
            if (r.raw != data + off || r.raw_len != (size_t)n || r.len > r.raw_len)
                abort();
            off += (size_t)n;
        }
    } else if (mode == 1) {
        clean_dir();
        char path[128];
        snprintf(path, sizeof path, "%s/wal-%020d.log", dir, 1);
        write_file(path, data, size);
        wal_config c = {.dir = dir, .segment_size = 4096, .fsync = WAL_FSYNC_NO, .prealloc = 0};
        wal *w = NULL;
        seen s = {0};
        if (wal_open(&w, &c, 0, 0, check_order, &s, NULL, err, sizeof err) == 0)
            wal_close(w);
    } else {
        clean_dir();
        char path[128];
        snprintf(path, sizeof path, "%s/snap-%020d.snap", dir, 7);
        write_file(path, data, size);
        ks *k = ks_new();
        snap_meta m;
        snap_load(path, &k, 1, &m, err, sizeof err);
        ks_free(k);
    }
    return 0;
}
