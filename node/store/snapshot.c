/* snapshot.c — snapshot files (see snapshot.h for the contract).
 *
 * File layout (integers little-endian):
 *
 * Header, 64 bytes:
 *   0   8  magic "KVSNAP01"
 *   8   4  format version (1)
 *   12  4  flags: bit 0 = bytes 40..47 hold the key count of database 0
 *   16  8  LSN of the last WAL entry included
 *   24  8  term of that entry
 *   32  8  creation time, unix ms
 *   40  8  keys in database 0 (with flag bit 0; the loader sizes it at once)
 *   48  12 reserved (0)
 *   60  4  CRC32C of bytes 0..59
 *
 * Blocks, each:
 *   0   4  CRC32C of bytes 4..15 and the payload
 *   4   4  payload length n (> 0)
 *   8   4  number of entries in the payload
 *   12  4  reserved (0)
 *   16  n  payload: whole entries (an entry never spans blocks; a block
 *          holds at least one entry and is cut once it reaches 1 MiB, so a
 *          huge value makes one big block)
 *
 * Footer, 32 bytes:
 *   0   8  magic "KVSNPEND"
 *   8   8  total entries
 *   16  8  total blocks
 *   24  4  CRC32C of every byte before the footer (whole-file checksum)
 *   28  4  CRC32C of footer bytes 0..27
 *
 * Entry:
 *   u8 type (0 string, 1 list, 2 hash, 3 set, 4 sorted set), u8 flags
 *   (bit 0: has expiry; bit 1: in a database other than 0), [8-byte
 *   absolute expiry in unix ms], [varint database number, > 0, with bit
 *   1], varint key length, key bytes, then
 *   string: varint length, bytes
 *   list:   varint count, count x (varint length, bytes)
 *   hash:   varint count, count x (varint flen, field, varint vlen, value)
 *   set:    varint count, count x (varint length, member)
 *   zset:   varint count, count x (varint length, member, 8-byte score:
 *           the IEEE-754 double's bits, little-endian; never NaN)
 *   stream (type 6; 5 is reserved for aux records):
 *           varint entry count, count x (varint ms, varint seq, varint
 *           pairs, pairs x (varint flen, field, varint vlen, value)) in
 *           ID order; last ID, max deleted ID (each varint ms, varint
 *           seq); varint entries added; varint group count, each: varint
 *           name length, name, last ID, varint entries_read + 1 (0:
 *           unknown), varint consumer count, each (varint name length,
 *           name, varint seen-time), varint PEL count, each (ID, varint
 *           delivery time, varint delivery count, varint consumer index).
 *           A stream may be empty. Groups and consumers come in name
 *           order, PELs in ID order.
 *   aux:    (type 5, flags 0, no expiry) varint name length, name, varint
 *           value length, value: an aux record (ks_aux_*: function
 *           libraries), written before the keys; not a key.
 *   Types 3 to 6 were added without a version change: a file written
 *   before them has none, so old snapshots load unchanged. Sets and sorted
 *   sets are rebuilt member by member, so they take the encoding their
 *   contents call for (as Redis re-encodes on RDB load). Containers are
 *   never empty and never repeat a member or field.
 *   Databases (flag bit 1, header flag bit 0) were added the same way: a
 *   file from before them holds only database 0's keys and loads as such.
 *   The writer puts the keys of each database together, database 0 first.
 *   Loading a key of a database the node does not have (the `databases`
 *   option is smaller than the writer's) fails with KVE_INVAL: a
 *   configuration error, not damage (Redis refuses such an RDB too).
 * Varints are LEB128 (7 bits per byte, low first, at most 10 bytes).
 *
 * Blocks carry their own CRC so a shipped snapshot can be checked and
 * resumed block by block; the footer makes a truncated file detectable.
 */
#include "snapshot.h"

#include "crc32c.h"
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
#include <sys/time.h>
#include <unistd.h>

#define SNAP_MAGIC "KVSNAP01"
#define SNAP_END_MAGIC "KVSNPEND"
#define SNAP_VERSION 1u
#define SNAP_HAS_DB0_KEYS 1u /* header flag: bytes 40..47 count database 0's keys */
#define SNAP_MAX_BLOCK (1ull << 33) /* 8 GiB: refuse absurd lengths */
#define SNAP_AUX 5                  /* entry type of an aux record */

/* ---- names ---- */

void snap_path(char *out, size_t n, const char *dir, uint64_t lsn)
{
    snprintf(out, n, "%s/snap-%020" PRIu64 ".snap", dir, lsn);
}

void snap_tmp_path(char *out, size_t n, const char *dir, uint64_t lsn)
{
    snprintf(out, n, "%s/snap-%020" PRIu64 ".snap.tmp", dir, lsn);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct writer {
    snap_sink sink; /* where the bytes go, at increasing offsets */
    void *sink_arg;
    progress_job *job; /* counted here; NULL: the thread's current job */
    uint64_t off;
    uint32_t file_crc;
    uint8_t *blk; /* block being built, header space included */
    size_t len, cap;
    uint32_t blk_entries;
    uint64_t entries, blocks;
    int rc;
} writer;

static void w_reserve(writer *w, size_t extra)
{
    if (w->len + extra <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : SNAP_BLOCK_TARGET + 65536;
    while (cap < w->len + extra)
        cap *= 2;
    uint8_t *p = realloc(w->blk, cap);
    if (!p) {
        fprintf(stderr, "kvnode: out of memory writing snapshot block\n");
        kv_abort();
    }
    w->blk = p;
    w->cap = cap;
}

static void w_raw(writer *w, const void *p, size_t n)
{
    w_reserve(w, n);
    memcpy(w->blk + w->len, p, n);
    w->len += n;
}

static void w_varint(writer *w, uint64_t v)
{
    uint8_t b[10];
    int n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    w_raw(w, b, (size_t)n);
}

static void w_bytes(writer *w, const void *p, size_t n)
{
    w_varint(w, n);
    w_raw(w, p, n);
}

static int w_out(writer *w, const void *p, size_t n)
{
    if (w->rc)
        return w->rc;
    int rc = w->sink(w->sink_arg, p, n, w->off);
    if (rc < 0) {
        w->rc = rc;
        return rc;
    }
    w->file_crc = crc32c(w->file_crc, p, n);
    w->off += n;
    return 0;
}

static int w_flush_block(writer *w)
{
    if (w->len == SNAP_BLOCK_HDR)
        return w->rc;
    size_t n = w->len - SNAP_BLOCK_HDR;
    le_put32(w->blk + 4, (uint32_t)n);
    le_put32(w->blk + 8, w->blk_entries);
    le_put32(w->blk + 12, 0);
    /* Lengths above 4 GiB do not fit: refuse rather than write garbage. */
    if (n > UINT32_MAX) {
        w->rc = -EFBIG;
        return w->rc;
    }
    le_put32(w->blk, crc32c(0, w->blk + 4, SNAP_BLOCK_HDR - 4 + n));
    int rc = w_out(w, w->blk, w->len);
    if (w->job)
        progress_add(w->job, w->blk_entries, w->len);
    else
        progress_step(w->blk_entries, w->len);
    w->blocks++;
    w->len = SNAP_BLOCK_HDR;
    w->blk_entries = 0;
    return rc;
}

static void w_sid(writer *w, sid id)
{
    w_varint(w, id.ms);
    w_varint(w, id.seq);
}

static void w_stream(writer *w, kv_stream *s)
{
    sid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    w_varint(w, stream_len(s));
    stream_iter it;
    stream_iter_init(&it, s, lo, hi, 0);
    sid id;
    size_t np;
    while (stream_iter_next(&it, &id, &np)) {
        w_sid(w, id);
        w_varint(w, np);
        for (size_t i = 0; i < np; i++) {
            const char *f, *v;
            size_t fl, vl;
            stream_iter_pair(&it, &f, &fl, &v, &vl);
            w_bytes(w, f, fl);
            w_bytes(w, v, vl);
        }
    }
    w_sid(w, stream_last_id(s));
    w_sid(w, stream_max_deleted(s));
    w_varint(w, stream_entries_added(s));
    w_varint(w, stream_ngroups(s));
    for (size_t gi = 0; gi < stream_ngroups(s); gi++) {
        stream_group *g = stream_group_at(s, gi);
        w_bytes(w, g->name, g->nlen);
        w_sid(w, g->last_id);
        w_varint(w, (uint64_t)(g->entries_read + 1));
        w_varint(w, g->nconsumers);
        for (size_t ci = 0; ci < g->nconsumers; ci++) {
            w_bytes(w, g->consumers[ci]->name, g->consumers[ci]->nlen);
            w_varint(w, (uint64_t)g->consumers[ci]->seen_time);
        }
        w_varint(w, pel_len(&g->pel));
        for (size_t i = 0; i < pel_len(&g->pel); i++) {
            stream_nack *n = pel_at(&g->pel, i);
            w_sid(w, n->id);
            w_varint(w, (uint64_t)n->delivery_time);
            w_varint(w, n->delivery_count);
            size_t ci = 0;
            while (ci < g->nconsumers && g->consumers[ci] != n->consumer)
                ci++;
            w_varint(w, ci);
        }
    }
}

/* Aux records go first, as entries of type 5 (see the layout above). */
static uint64_t w_aux(writer *w, ks *k)
{
    size_t n = ks_aux_count(k);
    for (size_t i = 0; i < n && !w->rc; i++) {
        const char *name, *val;
        size_t nlen, vlen;
        ks_aux_at(k, i, &name, &nlen, &val, &vlen);
        uint8_t head[2] = {SNAP_AUX, 0};
        w_raw(w, head, 2);
        w_bytes(w, name, nlen);
        w_bytes(w, val, vlen);
        w->blk_entries++;
        w->entries++;
        if (w->len >= SNAP_BLOCK_TARGET)
            w_flush_block(w);
    }
    return n;
}

static void w_entry(writer *w, int db, kobj *o)
{
    size_t klen;
    const char *key = kobj_key(o, &klen);
    int type = kobj_type(o);
    int64_t exp = kobj_expire(o);
    uint8_t head[2] = {(uint8_t)type, (uint8_t)((exp >= 0 ? 1 : 0) | (db ? 2 : 0))};
    w_raw(w, head, 2);
    if (exp >= 0) {
        uint8_t e[8];
        le_put64(e, (uint64_t)exp);
        w_raw(w, e, 8);
    }
    if (db)
        w_varint(w, (uint64_t)db);
    w_bytes(w, key, klen);
    if (type == KT_STRING) {
        size_t vlen;
        const char *v = kobj_str(o, &vlen);
        w_bytes(w, v, vlen);
    } else if (type == KT_LIST) {
        kv_list *l = kobj_list(o);
        size_t n = list_len(l);
        w_varint(w, n);
        for (size_t i = 0; i < n; i++) {
            const char *p;
            size_t len;
            list_get(l, i, &p, &len);
            w_bytes(w, p, len);
        }
    } else if (type == KT_SET) {
        kv_set *s = kobj_set(o);
        w_varint(w, set_len(s));
        set_iter it;
        const char *m;
        size_t n;
        set_iter_init(&it, s);
        while (set_iter_next(&it, &m, &n))
            w_bytes(w, m, n);
        set_iter_done(&it);
    } else if (type == KT_STREAM) {
        w_stream(w, kobj_stream(o));
    } else if (type == KT_ZSET) {
        kv_zset *z = kobj_zset(o);
        w_varint(w, zset_len(z));
        zset_iter it;
        const char *m;
        size_t n;
        double score;
        zset_iter_init(&it, z, 0, 0);
        while (zset_iter_next(&it, &m, &n, &score)) {
            uint64_t bits;
            uint8_t b[8];
            memcpy(&bits, &score, 8);
            le_put64(b, bits);
            w_bytes(w, m, n);
            w_raw(w, b, 8);
        }
    } else {
        kv_hash *h = kobj_hash(o);
        w_varint(w, hash_len(h));
        hash_iter it;
        hash_iter_init(&it, h);
        const char *f, *v;
        size_t flen, vlen;
        while (hash_iter_next(&it, &f, &flen, &v, &vlen)) {
            w_bytes(w, f, flen);
            w_bytes(w, v, vlen);
        }
        hash_iter_done(&it);
    }
    w->blk_entries++;
    w->entries++;
}

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Header, then aux records: the start of every image. */
static void w_begin(writer *w, ks *const *dbs, int ndbs, uint64_t lsn, uint64_t term,
                    int64_t created)
{
    uint8_t h[SNAP_HDR_SIZE] = {0};
    memcpy(h, SNAP_MAGIC, 8);
    le_put32(h + 8, SNAP_VERSION);
    le_put32(h + 12, SNAP_HAS_DB0_KEYS);
    le_put64(h + 40, ndbs ? (uint64_t)ks_size(dbs[0]) : 0);
    le_put64(h + 16, lsn);
    le_put64(h + 24, term);
    le_put64(h + 32, (uint64_t)created);
    le_put32(h + 60, crc32c(0, h, 60));
    w_out(w, h, sizeof h);
    w_reserve(w, SNAP_BLOCK_TARGET);
    w->len = SNAP_BLOCK_HDR;
}

/* The last block and the footer. */
static void w_end(writer *w)
{
    w_flush_block(w);
    uint8_t f[SNAP_FOOTER_SIZE] = {0};
    memcpy(f, SNAP_END_MAGIC, 8);
    le_put64(f + 8, w->entries);
    le_put64(f + 16, w->blocks);
    le_put32(f + 24, w->file_crc);
    le_put32(f + 28, crc32c(0, f, 28));
    w_out(w, f, sizeof f);
    free(w->blk);
    w->blk = NULL;
}

void snap_writeback(int fd, uint64_t off, size_t n)
{
    (void)sync_file_range(fd, (off_t)off, (off_t)n, SYNC_FILE_RANGE_WRITE);
}

static int fd_sink(void *arg, const void *p, size_t n, uint64_t off)
{
    int rc = kvfs_pwrite_all(*(int *)arg, p, n, (off_t)off);
    if (rc == 0)
        snap_writeback(*(int *)arg, off, n);
    return rc;
}

int snap_write(ks *const *dbs, int ndbs, const char *path, uint64_t lsn, uint64_t term,
               snap_meta *out, char *err, size_t errlen)
{
    int fd = kvfs->open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return kve_fmt(err, errlen, errno == ENOSPC ? KVE_NOSPC : KVE_IO, "create %s: %s", path,
                       strerror(errno));
    writer w = {.sink = fd_sink, .sink_arg = &fd};
    int64_t created = wall_ms();
    w_begin(&w, dbs, ndbs, lsn, term, created);
    uint64_t naux = ndbs ? w_aux(&w, dbs[0]) : 0;
    for (int db = 0; db < ndbs && !w.rc; db++) {
        ks_iter it;
        ks_iter_init(&it, dbs[db]);
        kobj *o;
        while (!w.rc && (o = ks_iter_next(&it))) {
            w_entry(&w, db, o);
            if (w.len >= SNAP_BLOCK_TARGET)
                w_flush_block(&w);
        }
        ks_iter_done(&it);
    }
    w_end(&w);
    if (!w.rc && kvfs->fsync(fd) < 0)
        w.rc = -errno;
    kvfs->close(fd);
    if (w.rc) {
        kvfs->unlink(path);
        return kve_fmt(err, errlen, w.rc == -ENOSPC ? KVE_NOSPC : KVE_IO, "write %s: %s", path,
                       strerror(-w.rc));
    }
    if (out) {
        out->lsn = lsn;
        out->term = term;
        out->keys = w.entries - naux;
        out->blocks = w.blocks;
        out->bytes = w.off;
        out->created_ms = created;
    }
    return 0;
}

struct snap_stream {
    writer w;
    uint64_t naux;
    uint64_t lsn, term;
    int64_t created;
};

snap_stream *snap_stream_open(ks *const *dbs, int ndbs, uint64_t lsn, uint64_t term,
                              snap_sink sink, void *arg, progress_job *job)
{
    snap_stream *s = kv_calloc(1, sizeof *s);
    s->w.sink = sink;
    s->w.sink_arg = arg;
    s->w.job = job;
    s->lsn = lsn;
    s->term = term;
    s->created = wall_ms();
    w_begin(&s->w, dbs, ndbs, lsn, term, s->created);
    s->naux = ndbs ? w_aux(&s->w, dbs[0]) : 0;
    return s;
}

int snap_stream_key(snap_stream *s, int db, kobj *o)
{
    if (s->w.rc)
        return s->w.rc;
    w_entry(&s->w, db, o);
    if (s->w.len >= SNAP_BLOCK_TARGET)
        w_flush_block(&s->w);
    return s->w.rc;
}

uint64_t snap_stream_bytes(const snap_stream *s)
{
    return s->w.off + (s->w.len > SNAP_BLOCK_HDR ? s->w.len - SNAP_BLOCK_HDR : 0);
}

uint64_t snap_stream_keys(const snap_stream *s)
{
    return s->w.entries - s->naux;
}

int snap_stream_close(snap_stream *s, int finish, snap_meta *out)
{
    if (finish)
        w_end(&s->w);
    int rc = finish ? s->w.rc : 0;
    if (rc == 0 && finish && out) {
        out->lsn = s->lsn;
        out->term = s->term;
        out->keys = s->w.entries - s->naux;
        out->blocks = s->w.blocks;
        out->bytes = s->w.off;
        out->created_ms = s->created;
    }
    free(s->w.blk);
    kv_free(s);
    return rc;
}

int snap_publish(const char *dir, const char *tmp, uint64_t lsn, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snap_path(path, sizeof path, dir, lsn);
    if (kvfs->rename(tmp, path) < 0)
        return kve_fmt(err, errlen, KVE_IO, "rename %s to %s: %s", tmp, path, strerror(errno));
    int rc = kvfs_fsync_dir(dir);
    if (rc < 0)
        return kve_fmt(err, errlen, KVE_IO, "fsync directory %s: %s", dir, strerror(-rc));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct cursor {
    const uint8_t *p, *end;
    int bad;
} cursor;

static uint64_t c_varint(cursor *c)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end) {
            c->bad = 1;
            return 0;
        }
        uint8_t b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    c->bad = 1;
    return 0;
}

/* A length-prefixed byte string; NULL (and c->bad) if it overruns. */
static const char *c_bytes(cursor *c, size_t *len)
{
    *len = 0;
    uint64_t n = c_varint(c);
    if (c->bad || n > (uint64_t)(c->end - c->p)) {
        c->bad = 1;
        return NULL;
    }
    const char *s = (const char *)c->p;
    c->p += n;
    *len = (size_t)n;
    return s;
}

static sid c_sid(cursor *c)
{
    sid id;
    id.ms = c_varint(c);
    id.seq = c_varint(c);
    return id;
}

/* A stream's body into s (NULL: parse only). 0 or -1 (malformed). */
static int load_stream(cursor *c, kv_stream *s)
{
    uint64_t n = c_varint(c);
    if (c->bad || n > (uint64_t)(c->end - c->p))
        return -1;
    sid prev = {0, 0};
    const char **fv = NULL;
    size_t *fl = NULL, cap = 0;
    int rc = -1;
    for (uint64_t i = 0; i < n; i++) {
        sid id = c_sid(c);
        uint64_t np = c_varint(c);
        if (c->bad || np == 0 || np > (uint64_t)(c->end - c->p) ||
            (i && sid_cmp(id, prev) <= 0) || (!i && id.ms == 0 && id.seq == 0))
            goto out;
        prev = id;
        if (2 * np > cap) {
            cap = 2 * np;
            fv = kv_realloc(fv, cap * sizeof *fv);
            fl = kv_realloc(fl, cap * sizeof *fl);
        }
        for (uint64_t j = 0; j < 2 * np; j++)
            if (!(fv[j] = c_bytes(c, &fl[j])))
                goto out;
        if (s)
            stream_append(s, id, (size_t)np, fv, fl);
    }
    sid last = c_sid(c), maxdel = c_sid(c);
    uint64_t added = c_varint(c);
    uint64_t ng = c_varint(c);
    if (c->bad || (n && sid_cmp(last, prev) < 0) || added < n ||
        ng > (uint64_t)(c->end - c->p))
        goto out;
    if (s) {
        stream_set_last_id(s, last);
        stream_set_max_deleted(s, maxdel);
        stream_set_entries_added(s, added);
    }
    for (uint64_t gi = 0; gi < ng; gi++) {
        size_t gl;
        const char *gname = c_bytes(c, &gl);
        sid glast = c_sid(c);
        uint64_t er = c_varint(c);
        uint64_t nc = c_varint(c);
        if (!gname || c->bad || nc > (uint64_t)(c->end - c->p))
            goto out;
        stream_group *g = NULL;
        if (s && !(g = stream_group_create(s, gname, gl, glast, (long long)er - 1)))
            goto out; /* duplicate group */
        stream_consumer **cons = kv_calloc(nc ? nc : 1, sizeof *cons);
        int bad = 0;
        for (uint64_t ci = 0; ci < nc && !bad; ci++) {
            size_t cl;
            const char *cname = c_bytes(c, &cl);
            uint64_t seen = c_varint(c);
            if (!cname || c->bad)
                bad = 1;
            else if (g && !(cons[ci] = group_consumer_create(g, cname, cl, (int64_t)seen)))
                bad = 1;
        }
        uint64_t np = bad ? 0 : c_varint(c);
        if (c->bad || np > (uint64_t)(c->end - c->p))
            bad = 1;
        for (uint64_t i = 0; i < np && !bad; i++) {
            sid id = c_sid(c);
            uint64_t dt = c_varint(c), dc = c_varint(c), ci = c_varint(c);
            if (c->bad || ci >= nc) {
                bad = 1;
            } else if (g) {
                if (pel_find(&g->pel, id)) {
                    bad = 1;
                } else {
                    stream_nack *k = group_pel_add(g, cons[ci], id, (int64_t)dt);
                    k->delivery_count = dc;
                }
            }
        }
        kv_free(cons);
        if (bad)
            goto out;
    }
    rc = 0;
out:
    kv_free(fv);
    kv_free(fl);
    return rc;
}

/* Where entries go: databases dbs[0..n) (dbs NULL: parse only); a key of
 * a database >= n is noted in bad_db. */
typedef struct load_to {
    ks *const *dbs;
    int n;
    uint64_t bad_db;
} load_to;

/* Parse one entry into its database. Returns 0, 1 (an aux record), -1
 * (malformed) or -2 (a database this node does not have: lt->bad_db). */
static int load_entry(cursor *c, load_to *lt)
{
    if (c->end - c->p < 2)
        return -1;
    int type = c->p[0], flags = c->p[1];
    c->p += 2;
    if (type == SNAP_AUX) {
        size_t nlen, vlen;
        const char *name = c_bytes(c, &nlen);
        const char *val = name ? c_bytes(c, &vlen) : NULL;
        if (!val || flags)
            return -1;
        if (lt->dbs && lt->n > 0) {
            if (ks_aux_get(lt->dbs[0], name, nlen, &(size_t){0}))
                return -1; /* duplicate record */
            ks_aux_set(lt->dbs[0], name, nlen, val, vlen);
        }
        return 1;
    }
    if ((type > KT_ZSET && type != KT_STREAM) || (flags & ~3))
        return -1;
    int64_t exp = -1;
    if (flags & 1) {
        if (c->end - c->p < 8)
            return -1;
        exp = (int64_t)le_get64(c->p);
        c->p += 8;
        if (exp < 0)
            return -1;
    }
    uint64_t db = 0;
    if (flags & 2) {
        db = c_varint(c);
        if (c->bad || db == 0 || db > INT_MAX)
            return -1; /* database 0 is never written with the flag */
    }
    ks *k = NULL;
    if (lt->dbs) {
        if (db >= (uint64_t)lt->n) {
            lt->bad_db = db;
            return -2;
        }
        k = lt->dbs[db];
    }
    size_t klen;
    const char *key = c_bytes(c, &klen);
    if (!key)
        return -1;
    kobj *o = NULL;
    if (type == KT_STREAM) {
        if (k && ks_find(k, key, klen))
            return -1; /* duplicate key: not a valid image */
        kv_stream *s = k ? stream_new() : NULL;
        if (load_stream(c, s) < 0) {
            stream_free(s);
            return -1;
        }
        if (k)
            o = ks_add_stream(k, key, klen, s);
    } else if (type == KT_STRING) {
        size_t vlen;
        const char *v = c_bytes(c, &vlen);
        if (!v)
            return -1;
        if (k) {
            size_t before = ks_size(k);
            o = ks_set_string(k, key, klen, v, vlen, 0);
            if (ks_size(k) == before)
                return -1; /* duplicate key: not a valid image */
        }
    } else {
        if (k && ks_find(k, key, klen))
            return -1; /* duplicate key: not a valid image */
        uint64_t n = c_varint(c);
        if (c->bad || n == 0 || n > (uint64_t)(c->end - c->p))
            return -1; /* empty containers never exist; each item takes >= 1 byte */
        if (k) {
            if (type == KT_LIST)
                o = ks_add_list(k, key, klen);
            else if (type == KT_HASH)
                o = ks_add_hash(k, key, klen);
            else if (type == KT_SET)
                o = ks_add_set(k, key, klen, set_new());
            else
                o = ks_add_zset(k, key, klen, zset_new());
        }
        for (uint64_t i = 0; i < n; i++) {
            size_t len, vlen;
            const char *p = c_bytes(c, &len);
            if (!p)
                return -1;
            if (type == KT_LIST) {
                if (k)
                    list_push(kobj_list(o), LIST_TAIL, p, len);
            } else if (type == KT_SET) {
                if (k && !kobj_set_add(o, p, len))
                    return -1; /* duplicate member */
            } else if (type == KT_ZSET) {
                if (c->end - c->p < 8)
                    return -1;
                uint64_t bits = le_get64(c->p);
                double score;
                memcpy(&score, &bits, 8);
                c->p += 8;
                if (score != score)
                    return -1; /* NaN is never a score */
                if (k && zset_set(kobj_zset(o), p, len, score) != ZSET_ADDED)
                    return -1; /* duplicate member */
            } else {
                const char *v = c_bytes(c, &vlen);
                if (!v)
                    return -1;
                if (k && !hash_set(kobj_hash(o), p, len, v, vlen))
                    return -1; /* duplicate field */
            }
        }
    }
    if (k && exp >= 0)
        ks_set_expire(k, o, exp);
    return 0;
}

/* Prefetching while loading a block (ks_prefetcher): a second cursor runs
 * up to KS_PF_DEPTH entries ahead of the one that loads, reading just
 * the keys of string entries (the bulk of most images) to announce them.
 * It stops at an entry of any other type (or one it cannot read: the
 * loading cursor reports that) until the loading cursor has passed it.
 * The block's CRC is checked before either cursor reads it. */
typedef struct peeker {
    cursor c;
    uint32_t at;     /* index of the entry c points at */
    int blocked;     /* stopped before entry `at` */
    ks_prefetcher pf;
} peeker;

/* Announce the key of the string entry at pk->c and step over it; 0 when
 * it is not a string entry of a database that is loaded. */
static int peek_string(peeker *pk, const load_to *lt)
{
    cursor c = pk->c;
    if (c.end - c.p < 2 || c.p[0] != KT_STRING || (c.p[1] & ~3))
        return 0;
    int flags = c.p[1];
    c.p += 2;
    if (flags & 1) {
        if (c.end - c.p < 8)
            return 0;
        c.p += 8;
    }
    uint64_t db = flags & 2 ? c_varint(&c) : 0;
    size_t klen, vlen;
    const char *key = c_bytes(&c, &klen);
    if (c.bad || !key || db >= (uint64_t)lt->n || !c_bytes(&c, &vlen))
        return 0;
    ks_prefetch_next(&pk->pf, lt->dbs[db], key, klen);
    pk->c = c;
    return 1;
}

/* Before entry i (loaded from *c) is loaded: announce up to entry
 * i + KS_PF_DEPTH - 1. */
static void peek_ahead(peeker *pk, const cursor *c, uint32_t i, uint32_t cnt, const load_to *lt)
{
    if (pk->at < i) {
        /* It stopped at an entry that is now loaded: go on from here. */
        pk->c = *c;
        pk->at = i;
        pk->blocked = 0;
    }
    while (!pk->blocked && pk->at < cnt && pk->at < i + KS_PF_DEPTH) {
        if (!peek_string(pk, lt))
            pk->blocked = 1;
        else
            pk->at++;
    }
}

/* Read and check a snapshot; load entries into dbs[0..ndbs) unless dbs is
 * NULL. The file is mapped (kvfs_map_file), so blocks are checked and
 * parsed where they lie, without copying. */
static int read_snapshot(const char *path, ks *const *dbs, int ndbs, snap_meta *out, char *err,
                         size_t errlen)
{
    load_to lt = {dbs, ndbs, 0};
    peeker pk = {0};
    kvfs_map map;
    int mrc = kvfs_map_file(path, &map);
    if (mrc < 0)
        return kve_fmt(err, errlen, mrc == -ENOENT ? KVE_NOTFOUND : KVE_IO, "open %s: %s", path,
                       strerror(-mrc));
    const uint8_t *file = (const uint8_t *)map.p;
    uint64_t size = map.len;
    int rc = 0;
    if (size < SNAP_HDR_SIZE + SNAP_FOOTER_SIZE) {
        rc = kve_fmt(err, errlen, KVE_CORRUPT, "%s: file of %" PRIu64 " bytes is too short", path,
                     size);
        goto done;
    }
    const uint8_t *h = file;
    if (memcmp(h, SNAP_MAGIC, 8) != 0 || le_get32(h + 8) != SNAP_VERSION ||
        crc32c(0, h, 60) != le_get32(h + 60)) {
        rc = kve_fmt(err, errlen, KVE_CORRUPT, "%s: offset 0: bad header", path);
        goto done;
    }
    uint32_t file_crc = crc32c(0, h, SNAP_HDR_SIZE);
    uint64_t off = SNAP_HDR_SIZE, entries = 0, blocks = 0, naux = 0;
    /* The image replaces the aux records too (the keys must be empty). */
    if (dbs && ndbs > 0)
        ks_aux_clear(dbs[0]);
    uint64_t body_end = size - SNAP_FOOTER_SIZE;
    const uint8_t *f = file + body_end;
    int footer_ok = memcmp(f, SNAP_END_MAGIC, 8) == 0 && crc32c(0, f, 28) == le_get32(f + 28);
    /* Size database 0 for the image at once: the header says how many of
     * its keys there are (a file from before databases holds only its
     * keys, which the footer counts). Only a hint: the footer's total is
     * what gets checked against the blocks. */
    uint64_t db0_keys = (le_get32(h + 12) & SNAP_HAS_DB0_KEYS) ? le_get64(h + 40)
                        : footer_ok                            ? le_get64(f + 8)
                                                               : 0;
    if (dbs && ndbs > 0 && db0_keys <= size)
        ks_reserve(dbs[0], (size_t)db0_keys);
    while (off < body_end) {
        const uint8_t *bh = file + off;
        if (body_end - off < SNAP_BLOCK_HDR) {
            rc = kve_fmt(err, errlen, KVE_CORRUPT,
                         "%s: block %" PRIu64 " (offset %" PRIu64 "): truncated header", path,
                         blocks, off);
            goto done;
        }
        uint64_t n = le_get32(bh + 4);
        uint32_t cnt = le_get32(bh + 8);
        if (n == 0 || n > body_end - off - SNAP_BLOCK_HDR || le_get32(bh + 12) != 0) {
            rc = kve_fmt(err, errlen, KVE_CORRUPT,
                         "%s: block %" PRIu64 " (offset %" PRIu64 "): bad length %" PRIu64, path,
                         blocks, off, n);
            goto done;
        }
        const uint8_t *payload = bh + SNAP_BLOCK_HDR;
        uint32_t crc = crc32c(crc32c(0, bh + 4, SNAP_BLOCK_HDR - 4), payload, n);
        if (crc != le_get32(bh)) {
            rc = kve_fmt(err, errlen, KVE_CORRUPT,
                         "%s: block %" PRIu64 " (offset %" PRIu64 "): crc mismatch", path, blocks,
                         off);
            goto done;
        }
        cursor c = {payload, payload + n, 0};
        pk.c = c;
        pk.at = 0;
        pk.blocked = 0;
        for (uint32_t i = 0; i < cnt; i++) {
            if (dbs)
                peek_ahead(&pk, &c, i, cnt, &lt);
            int lr = load_entry(&c, &lt);
            if (lr == 1)
                naux++;
            if (lr == -2) {
                rc = kve_fmt(err, errlen, KVE_INVAL,
                             "%s: holds keys of database %" PRIu64 " but this node has %d "
                             "databases: start it with databases %" PRIu64 " or more",
                             path, lt.bad_db, ndbs, lt.bad_db + 1);
                goto done;
            }
            if (lr < 0 || c.bad) {
                rc = kve_fmt(err, errlen, KVE_CORRUPT,
                             "%s: block %" PRIu64 " (offset %" PRIu64 "): malformed entry %u",
                             path, blocks, off, i);
                goto done;
            }
        }
        if (c.p != c.end) {
            rc = kve_fmt(err, errlen, KVE_CORRUPT,
                         "%s: block %" PRIu64 " (offset %" PRIu64 "): trailing bytes", path,
                         blocks, off);
            goto done;
        }
        /* The whole-file checksum goes on over the block's CRC field and
         * then the bytes the block's CRC covers: combined, not re-read. */
        file_crc = crc32c_combine(crc32c(file_crc, bh, 4), crc, SNAP_BLOCK_HDR - 4 + n);
        progress_step(cnt, SNAP_BLOCK_HDR + n);
        entries += cnt;
        blocks++;
        off += SNAP_BLOCK_HDR + n;
    }
    if (!footer_ok) {
        rc = kve_fmt(err, errlen, KVE_CORRUPT, "%s: offset %" PRIu64 ": bad footer (truncated?)",
                     path, body_end);
        goto done;
    }
    if (le_get64(f + 8) != entries || le_get64(f + 16) != blocks || le_get32(f + 24) != file_crc) {
        rc = kve_fmt(err, errlen, KVE_CORRUPT,
                     "%s: footer disagrees with the blocks (entries, blocks or checksum)", path);
        goto done;
    }
    if (out) {
        out->lsn = le_get64(h + 16);
        out->term = le_get64(h + 24);
        out->created_ms = (int64_t)le_get64(h + 32);
        out->keys = entries - naux;
        out->blocks = blocks;
        out->bytes = size;
    }
done:
    kvfs_unmap(&map);
    return rc;
}

int snap_read_header(const char *path, snap_meta *out, char *err, size_t errlen)
{
    int fd = kvfs->open(path, O_RDONLY, 0);
    if (fd < 0)
        return kve_fmt(err, errlen, errno == ENOENT ? KVE_NOTFOUND : KVE_IO, "open %s: %s", path,
                       strerror(errno));
    uint8_t h[SNAP_HDR_SIZE];
    struct stat st;
    int rc = kvfs_pread_all(fd, h, sizeof h, 0);
    int src = kvfs->fstat(fd, &st);
    kvfs->close(fd);
    if (rc < 0 || src < 0 || memcmp(h, SNAP_MAGIC, 8) != 0 || le_get32(h + 8) != SNAP_VERSION ||
        crc32c(0, h, 60) != le_get32(h + 60))
        return kve_fmt(err, errlen, KVE_CORRUPT, "%s: offset 0: bad header", path);
    memset(out, 0, sizeof *out);
    out->lsn = le_get64(h + 16);
    out->term = le_get64(h + 24);
    out->created_ms = (int64_t)le_get64(h + 32);
    out->bytes = (uint64_t)st.st_size;
    return 0;
}

int snap_verify(const char *path, snap_meta *out, char *err, size_t errlen)
{
    return read_snapshot(path, NULL, 0, out, err, errlen);
}

int snap_load(const char *path, ks *const *dbs, int ndbs, snap_meta *out, char *err,
              size_t errlen)
{
    return read_snapshot(path, dbs, ndbs, out, err, errlen);
}

static void clear_dbs(ks *const *dbs, int ndbs)
{
    for (int i = 0; i < ndbs; i++)
        ks_clear(dbs[i]);
}

/* ------------------------------------------------------------------------ */
/* Directory management                                                      */
/* ------------------------------------------------------------------------ */

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The snapshot LSNs gathered while listing a directory. */
typedef struct lsn_list {
    uint64_t *v;
    size_t n, cap;
    int nomem;
} lsn_list;

static int note_snapshot(void *arg, const char *name)
{
    lsn_list *l = arg;
    uint64_t lsn;
    int used = 0;
    if (strlen(name) != 30 || sscanf(name, "snap-%20" SCNu64 ".snap%n", &lsn, &used) != 1 ||
        used != 30)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
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

int snap_list(const char *dir, uint64_t **lsns)
{
    *lsns = NULL;
    lsn_list l = {0};
    if (kvfs->listdir(dir, note_snapshot, &l) < 0 || l.nomem) {
        free(l.v);
        return l.nomem ? KVE_NOMEM : KVE_IO;
    }
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, cmp_desc);
    *lsns = l.v;
    return (int)l.n;
}

int snap_load_latest(const char *dir, ks *const *dbs, int ndbs, snap_meta *out, int *broken,
                     char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (broken)
        *broken = 0;
    if (ndbs > 0)
        ks_aux_clear(dbs[0]); /* no snapshot: no aux records either */
    uint64_t *lsns;
    int n = snap_list(dir, &lsns);
    if (n < 0)
        return kve_fmt(err, errlen, n, "list snapshots in %s", dir);
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX], why[512];
        snap_path(path, sizeof path, dir, lsns[i]);
        int rc = snap_load(path, dbs, ndbs, out, why, sizeof why);
        if (rc == 0 && out->lsn != lsns[i]) {
            rc = KVE_CORRUPT;
            snprintf(why, sizeof why, "%s: header says LSN %" PRIu64, path, out->lsn);
        }
        if (rc == 0) {
            free(lsns);
            return 0;
        }
        clear_dbs(dbs, ndbs);
        memset(out, 0, sizeof *out);
        if (rc == KVE_IO || rc == KVE_NOMEM || rc == KVE_INVAL) {
            free(lsns);
            return kve_fmt(err, errlen, rc, "%s", why);
        }
        char dst[PATH_MAX + 8];
        snprintf(dst, sizeof dst, "%s.broken", path);
        log_warn("snapshot %s is unusable (%s); renamed to %s, trying an older one", path, why,
                 dst);
        if (kvfs->rename(path, dst) < 0) {
            free(lsns);
            return kve_fmt(err, errlen, KVE_IO, "rename %s: %s", path, strerror(errno));
        }
        kvfs_fsync_dir(dir);
        if (broken)
            (*broken)++;
    }
    free(lsns);
    return 0;
}

uint64_t snap_retain(const char *dir, int keep, uint64_t also_at_or_below)
{
    uint64_t *lsns;
    int n = snap_list(dir, &lsns); /* newest first */
    if (n <= 0)
        return 0;
    if (keep < 1)
        keep = 1;
    /* The newest at or below the bound, when the newest `keep` are all
     * above it. */
    int extra = -1;
    if (n > keep && lsns[keep - 1] > also_at_or_below)
        for (int i = keep; i < n && extra < 0; i++)
            if (lsns[i] <= also_at_or_below)
                extra = i;
    int removed = 0;
    for (int i = keep; i < n; i++) {
        if (i == extra)
            continue;
        char path[PATH_MAX];
        snap_path(path, sizeof path, dir, lsns[i]);
        if (kvfs->unlink(path) == 0)
            removed++;
    }
    if (removed)
        kvfs_fsync_dir(dir);
    uint64_t oldest = extra >= 0 ? lsns[extra] : lsns[(n < keep ? n : keep) - 1];
    free(lsns);
    return oldest;
}

static int remove_temp(void *arg, const char *name)
{
    const char *dir = arg;
    size_t l = strlen(name);
    if (strncmp(name, "snap-", 5) == 0 && l > 4 && strcmp(name + l - 4, ".tmp") == 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        kvfs->unlink(path);
    }
    return 0;
}

void snap_remove_temps(const char *dir)
{
    kvfs->listdir(dir, remove_temp, (void *)dir);
}
