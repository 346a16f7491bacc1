/* wal_read.c — reading records back from the segment files (wal_read and
 * its cursor), from any thread: replication streams the log to replicas
 * with it on the thread pool while the loop appends, and truncation finds
 * where a record ends with it. It touches only files, never the wal
 * struct, and allocates with plain malloc.
 */
#include "wal_int.h"

#include "endian.h"
#include "err.h"
#include "fsio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
            kv_abort();
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
    int rc = wal_list_segments(dir, &firsts, &n, err, errlen);
    if (rc)
        return rc;
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (firsts[i] <= lsn) {
            *first = firsts[i];
            found = 1;
        }
    }
    free(firsts);
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
        wal_seg_path(path, sizeof path, dir, cur->seg_first);
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
        wal_seg_path(next, sizeof next, dir, cur->next_lsn);
        if (access(next, F_OK) != 0)
            break;
        cur->seg_first = cur->next_lsn;
        cur->offset = 0;
    }
    free(buf);
    return rc < 0 ? rc : count;
}
