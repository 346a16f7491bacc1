/* test_snapshot.c — snapshot files: round trip of every type with TTLs
 * (sets and sorted sets in both their encodings too), malformed set and
 * sorted set entries refused, detection of damage in any block, the footer
 * and the header, and the fall-back to an older snapshot with the bad one
 * renamed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "endian.h"
#include "err.h"
#include "faultfs.h"
#include "fsio.h"
#include "keyspace.h"
#include "log.h"
#include "mem.h"
#include "snapshot.h"
#include "testutil.h"

/* ---- Fixture ---- */

typedef struct fx {
    char *dir;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp("snap");
    log_level = LOG_WARNING + 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

/* A keyspace with n string keys (some with TTLs), lists and hashes, some
 * of them big enough to need several blocks. */
static ks *build(int n)
{
    ks *k = ks_new();
    char key[64], val[256];
    for (int i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof key, "str:%d", i);
        int vl = snprintf(val, sizeof val, "value-%d-%0*d", i, i % 200, 0);
        kobj *o = ks_set_string(k, key, (size_t)kl, val, (size_t)vl, 0);
        if (i % 3 == 0)
            ks_set_expire(k, o, 1700000000000LL + i);
    }
    for (int i = 0; i < n / 10 + 1; i++) {
        int kl = snprintf(key, sizeof key, "list:%d", i);
        kobj *o = ks_add_list(k, key, (size_t)kl);
        for (int j = 0; j <= i % 50; j++) {
            int vl = snprintf(val, sizeof val, "e%d", j);
            list_push(kobj_list(o), LIST_TAIL, val, (size_t)vl);
        }
        kl = snprintf(key, sizeof key, "hash:%d", i);
        o = ks_add_hash(k, key, (size_t)kl);
        for (int j = 0; j <= i % 200; j++) {
            int fl = snprintf(key, sizeof key, "f%d", j);
            int vl = snprintf(val, sizeof val, "v%d", j * i);
            hash_set(kobj_hash(o), key, (size_t)fl, val, (size_t)vl);
        }
        if (i % 2)
            ks_set_expire(k, o, 1800000000000LL);
    }
    /* sets (intset and hashtable) and sorted sets (listpack and skiplist) */
    for (int i = 0; i < n / 20 + 1; i++) {
        int kl = snprintf(key, sizeof key, "set:%d", i);
        kv_set *s = set_new();
        for (int j = 0; j <= i % 700; j++) {
            int vl = snprintf(val, sizeof val, "m%d", j);
            if (i % 3)
                vl = snprintf(val, sizeof val, "%d", j * 7 - 100);
            else
                val[0] = '\0'; /* binary members */
            set_add(&s, val, (size_t)vl);
        }
        kobj *o = ks_add_set(k, key, (size_t)kl, s);
        if (i % 4 == 1)
            ks_set_expire(k, o, 1900000000000LL + i);
        kl = snprintf(key, sizeof key, "zset:%d", i);
        kv_zset *z = zset_new();
        for (int j = 0; j <= i % 300; j++) {
            int vl = snprintf(val, sizeof val, "member-%d", j);
            double score = j % 5 == 0 ? j * 0.1 : j % 7 == 0 ? -1e300 : (double)(j / 3);
            zset_set(z, val, (size_t)vl, score);
        }
        o = ks_add_zset(k, key, (size_t)kl, z);
        if (i % 4 == 2)
            ks_set_expire(k, o, 1900000000000LL + i);
    }
    /* streams: entries (some deleted), counters, groups with consumers
     * and pending entries, and one empty stream with a group */
    for (int i = 0; i < n / 200 + 2; i++) {
        int kl = snprintf(key, sizeof key, "stream:%d", i);
        kv_stream *st = stream_new();
        for (int j = 0; j < i * 37 % 400; j++) {
            int vl = snprintf(val, sizeof val, "v%d", j);
            const char *fv[4] = {"f", val, "", "\0x"};
            size_t fl[4] = {1, (size_t)vl, 0, 2};
            sid id = {1700000000000ULL + (uint64_t)j / 3, (uint64_t)j % 3};
            stream_append(st, id, (size_t)(1 + j % 2), fv, fl);
            if (j % 5 == 1) {
                stream_delete(st, id);
                stream_set_max_deleted(st, id);
            }
        }
        sid last = stream_last_id(st);
        stream_group *g = stream_group_create(st, "grp", 3, last, i % 2 ? 7 : -1);
        stream_group_create(st, "", 0, (sid){0, 0}, -1);
        stream_consumer *c1 = group_consumer_create(g, "alice", 5, 1700000000123LL);
        stream_consumer *c2 = group_consumer_create(g, "bob", 3, 1700000000456LL);
        group_consumer_create(g, "idle", 4, 1700000000789LL);
        for (uint64_t j = 0; j < (uint64_t)i * 5; j++) {
            sid id = {1700000000000ULL + j / 3, j % 3};
            stream_nack *nk = group_pel_add(g, j % 2 ? c1 : c2, id, 1700000001000LL + (int64_t)j);
            nk->delivery_count = j + 1;
        }
        kobj *o = ks_add_stream(k, key, (size_t)kl, st);
        if (i % 3 == 1)
            ks_set_expire(k, o, 1900000000000LL + i);
    }
    /* binary key and value, empty value */
    ks_set_string(k, "bin\0\r\n", 6, "\0\1\2", 3, 0);
    ks_set_string(k, "empty", 5, "", 0, 0);
    return k;
}

static void path_for(fx *f, uint64_t lsn, char *out)
{
    snap_path(out, 4096, f->dir, lsn);
}

static void write_snapshot(fx *f, ks *k, uint64_t lsn, uint64_t term, snap_meta *m)
{
    char tmp[4096];
    char err[256];
    snap_tmp_path(tmp, sizeof tmp, f->dir, lsn);
    assert_int_equal(snap_write(&k, 1, tmp, lsn, term, m, err, sizeof err), 0);
    assert_int_equal(snap_publish(f->dir, tmp, lsn, err, sizeof err), 0);
}

static void flip_byte(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* ---- Tests ---- */

/* Writing then loading gives the same keyspace (digest), with LSN, term
 * and counts in the metadata. */
static void test_round_trip(void **state)
{
    fx *f = *state;
    ks *k = build(20000);
    snap_meta m;
    write_snapshot(f, k, 1234, 7, &m);
    assert_int_equal(m.keys, ks_size(k));
    assert_true(m.blocks > 1);
    char path[4096], err[256];
    path_for(f, 1234, path);
    ks *k2 = ks_new();
    snap_meta m2;
    assert_int_equal(snap_load(path, &k2, 1, &m2, err, sizeof err), 0);
    assert_int_equal(m2.lsn, 1234);
    assert_int_equal(m2.term, 7);
    assert_int_equal(m2.keys, m.keys);
    assert_int_equal(ks_size(k2), ks_size(k));
    assert_int_equal(ks_expires(k2), ks_expires(k));
    char d1[41], d2[41];
    ks_digest(k, d1);
    ks_digest(k2, d2);
    assert_string_equal(d1, d2);
    assert_int_equal(snap_verify(path, &m2, err, sizeof err), 0);
    ks_free(k);
    ks_free(k2);
}

/* A snapshot of one block of `count` entries made of payload bytes, with
 * valid checksums, written where snap_load will read it. */
static void write_crafted(fx *f, uint64_t lsn, const void *payload, size_t n, uint32_t count)
{
    size_t total = SNAP_HDR_SIZE + SNAP_BLOCK_HDR + n + SNAP_FOOTER_SIZE;
    uint8_t *b = calloc(1, total);
    memcpy(b, "KVSNAP01", 8);
    le_put32(b + 8, 1);
    le_put64(b + 16, lsn);
    le_put32(b + 60, crc32c(0, b, 60));
    uint8_t *blk = b + SNAP_HDR_SIZE;
    le_put32(blk + 4, (uint32_t)n);
    le_put32(blk + 8, count);
    memcpy(blk + SNAP_BLOCK_HDR, payload, n);
    le_put32(blk, crc32c(0, blk + 4, SNAP_BLOCK_HDR - 4 + n));
    uint8_t *t = blk + SNAP_BLOCK_HDR + n;
    memcpy(t, "KVSNPEND", 8);
    le_put64(t + 8, count);
    le_put64(t + 16, 1);
    le_put32(t + 24, crc32c(0, b, (size_t)(t - b)));
    le_put32(t + 28, crc32c(0, t, 28));
    char path[4096];
    path_for(f, lsn, path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, total), (ssize_t)total);
    close(fd);
    free(b);
}

/* Well-formed set and sorted set entries load (an intset stays one, a
 * -0 score in a small sorted set reads back as 0); a repeated member, a
 * NaN score, an empty container, a score cut short or an unknown type
 * (5) make the whole snapshot malformed. */
static void test_set_zset_entries(void **state)
{
    fx *f = *state;
    static const struct {
        const char *bytes;
        size_t n;
        int ok;
    } cases[] = {
        {"\x03\x00\x01s\x02\x01" "1\x02-3", 10, 1},
        {"\x03\x00\x01s\x02\x01" "1\x01" "1", 9, 0},
        {"\x03\x00\x01s\x00", 5, 0},
        {"\x04\x00\x01z\x01\x01" "a\x00\x00\x00\x00\x00\x00\xf0\x3f", 15, 1},
        {"\x04\x00\x01z\x01\x01" "a\x00\x00\x00\x00\x00\x00\x00\x80", 15, 1},
        {"\x04\x00\x01z\x01\x01" "a\x00\x00\x00\x00\x00\x00\xf8\x7f", 15, 0},
        {"\x04\x00\x01z\x02\x01" "a\x00\x00\x00\x00\x00\x00\xf0\x3f"
         "\x01" "a\x00\x00\x00\x00\x00\x00\x00\x40", 25, 0},
        {"\x04\x00\x01z\x01\x01" "a\x00\x00\x00", 10, 0},
        {"\x05\x00\x01x\x01\x01" "a", 7, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_crafted(f, 100 + i, cases[i].bytes, cases[i].n, 1);
        char path[4096], err[256];
        path_for(f, 100 + i, path);
        ks *k = ks_new();
        snap_meta m;
        int rc = snap_load(path, &k, 1, &m, err, sizeof err);
        if ((rc == 0) != cases[i].ok)
            fprintf(stderr, "case %zu: rc %d: %s\n", i, rc, rc ? err : "");
        assert_int_equal(rc == 0, cases[i].ok);
        if (cases[i].ok) {
            kobj *o = ks_find(k, i < 3 ? "s" : "z", 1);
            assert_non_null(o);
            if (i == 0) {
                assert_string_equal(kobj_encoding(o), "intset");
                assert_int_equal(set_len(kobj_set(o)), 2);
            } else {
                double score;
                assert_string_equal(kobj_encoding(o), "listpack");
                assert_int_equal(zset_score(kobj_zset(o), "a", 1, &score), 1);
                assert_true(score == (i == 3 ? 1.0 : 0.0) && !signbit(score));
            }
        }
        ks_free(k);
    }
}

/* Append a string entry (flags: bit 0 expiry, bit 1 database) to b. */
static size_t put_string_entry(uint8_t *b, int flags, uint8_t db, const char *key,
                               const char *val)
{
    size_t n = 0, kl = strlen(key), vl = strlen(val);
    b[n++] = 0;
    b[n++] = (uint8_t)flags;
    if (flags & 1) {
        le_put64(b + n, 1900000000000ULL);
        n += 8;
    }
    if (flags & 2)
        b[n++] = db;
    b[n++] = (uint8_t)kl;
    memcpy(b + n, key, kl);
    n += kl;
    b[n++] = (uint8_t)vl;
    memcpy(b + n, val, vl);
    return n + vl;
}

/* A block of 60 string entries, read ahead by the loader's prefetching
 * cursor, with a hash, an expiry and a key of database 1 among them,
 * loads whole into both databases; the same block with entry 30 a
 * duplicate key, or entry 20's value running past the block, is refused
 * as malformed at that entry (the cursor reading ahead neither hides nor
 * moves an error). */
static void test_strings_read_ahead(void **state)
{
    fx *f = *state;
    for (int variant = 0; variant < 3; variant++) {
        uint8_t b[8192];
        size_t n = 0;
        char key[32], val[32];
        for (int i = 0; i < 60; i++) {
            snprintf(key, sizeof key, "k%d", variant == 1 && i == 30 ? 7 : i);
            snprintf(val, sizeof val, "v%d", i);
            if (i == 25) {
                memcpy(b + n, "\x02\x00\x02hh\x01\x01" "f\x01" "v", 10); /* hash hh {f: v} */
                n += 10;
                continue;
            }
            if (variant == 2 && i == 20) {
                b[n++] = 0;
                b[n++] = 0;
                b[n++] = 3;
                memcpy(b + n, "k20", 3);
                n += 3;
                b[n++] = 0xd0; /* 2000 value bytes announced, ~400 left */
                b[n++] = 0x0f;
                continue;
            }
            n += put_string_entry(b + n, (i % 7 == 3) | (i % 11 == 5 ? 2 : 0), 1, key, val);
        }
        uint64_t lsn = 200 + (uint64_t)variant;
        write_crafted(f, lsn, b, n, 60);
        char path[4096], err[256];
        path_for(f, lsn, path);
        ks *k[2] = {ks_new(), ks_new()};
        snap_meta m;
        int rc = snap_load(path, k, 2, &m, err, sizeof err);
        if (variant == 0) {
            assert_int_equal(rc, 0);
            assert_int_equal(m.keys, 60);
            assert_int_equal(ks_size(k[0]) + ks_size(k[1]), 60);
            for (int i = 0; i < 60; i++) {
                size_t kl = (size_t)snprintf(key, sizeof key, "k%d", i), vl;
                if (i == 25)
                    continue;
                kobj *o = ks_find(k[i % 11 == 5 ? 1 : 0], key, kl);
                assert_non_null(o);
                snprintf(val, sizeof val, "v%d", i);
                const char *v = kobj_str(o, &vl);
                assert_int_equal(vl, strlen(val));
                assert_memory_equal(v, val, vl);
                assert_int_equal(kobj_expire(o) >= 0, i % 7 == 3);
            }
            assert_non_null(ks_find(k[0], "hh", 2));
        } else {
            assert_int_equal(rc, KVE_CORRUPT);
            assert_non_null(strstr(err, variant == 1 ? "malformed entry 30" : "malformed entry 20"));
        }
        ks_free(k[0]);
        ks_free(k[1]);
    }
}

/* An empty keyspace makes a valid snapshot with no blocks. */
static void test_empty(void **state)
{
    fx *f = *state;
    ks *k = ks_new();
    snap_meta m;
    write_snapshot(f, k, 5, 1, &m);
    assert_int_equal(m.keys, 0);
    assert_int_equal(m.blocks, 0);
    char path[4096], err[256];
    path_for(f, 5, path);
    ks *k2 = ks_new();
    assert_int_equal(snap_load(path, &k2, 1, &m, err, sizeof err), 0);
    assert_int_equal(ks_size(k2), 0);
    ks_free(k);
    ks_free(k2);
}

/* Aux records (function libraries) travel with the keys: loaded back in
 * name order, not counted as keys; loading a snapshot replaces the aux
 * records the process had (they are one set per process). */
static void test_aux_records(void **state)
{
    fx *f = *state;
    ks *k = build(100);
    ks_aux_set(k, "fn:b", 4, "code-b", 6);
    ks_aux_set(k, "fn:a", 4, "code-a\0x", 8);
    snap_meta m;
    write_snapshot(f, k, 9, 1, &m);
    assert_int_equal(m.keys, ks_size(k));
    char path[4096], err[256];
    path_for(f, 9, path);
    ks *k2 = ks_new();
    ks_aux_set(k2, "fn:stale", 8, "x", 1);
    snap_meta m2;
    assert_int_equal(snap_load(path, &k2, 1, &m2, err, sizeof err), 0);
    assert_int_equal(m2.keys, ks_size(k));
    assert_int_equal(ks_aux_count(k2), 2);
    const char *name, *val;
    size_t nlen, vlen;
    ks_aux_at(k2, 0, &name, &nlen, &val, &vlen);
    assert_int_equal(nlen, 4);
    assert_memory_equal(name, "fn:a", 4);
    assert_int_equal(vlen, 8);
    assert_memory_equal(val, "code-a\0x", 8);
    assert_null(ks_aux_get(k2, "fn:stale", 8, &vlen));
    assert_non_null(ks_aux_get(k2, "fn:b", 4, &vlen));
    assert_int_equal(vlen, 6);
    assert_int_equal(ks_aux_del(k2, "fn:b", 4), 1);
    assert_int_equal(ks_aux_del(k2, "fn:b", 4), 0);
    assert_int_equal(ks_aux_count(k2), 1);
    ks_aux_clear(k2);
    assert_int_equal(ks_aux_count(k), 0);
    ks_free(k);
    ks_free(k2);
}

/* Flipping a byte anywhere in the file — header, any block, the footer —
 * is detected, and the message names the file (and the block). */
static void test_any_damage_detected(void **state)
{
    fx *f = *state;
    ks *k = build(3000);
    snap_meta m;
    write_snapshot(f, k, 10, 1, &m);
    char path[4096], err[512];
    path_for(f, 10, path);
    long long size = tu_file_size(path);
    assert_true(size > 0);
    /* Every byte of a small region at the start and end, and a stride
     * through the middle (every byte would take minutes under ASan). */
    for (long off = 0; off < size; off++) {
        if (off > 200 && off < size - 64 && off % 1009)
            continue;
        flip_byte(path, off);
        ks *k2 = ks_new();
        int rc = snap_load(path, &k2, 1, NULL, err, sizeof err);
        assert_int_equal(rc, KVE_CORRUPT);
        assert_non_null(strstr(err, "snap-"));
        if (off >= 64 + 16 && off < size - 32 - 16)
            assert_non_null(strstr(err, "block"));
        ks_free(k2);
        flip_byte(path, off);
    }
    ks *k3 = ks_new();
    assert_int_equal(snap_load(path, &k3, 1, NULL, err, sizeof err), 0);
    ks_free(k3);
    ks_free(k);
}

/* A snapshot cut short at any length is refused. */
static void test_truncation_detected(void **state)
{
    fx *f = *state;
    ks *k = build(500);
    snap_meta m;
    write_snapshot(f, k, 11, 1, &m);
    char path[4096], copy[4200], err[512];
    path_for(f, 11, path);
    snprintf(copy, sizeof copy, "%s.orig", path);
    assert_int_equal(rename(path, copy), 0);
    long long size = tu_file_size(copy);
    char *data;
    size_t len;
    assert_int_equal(kvfs_read_file(copy, &data, &len), 0);
    for (long long cut = 0; cut < size; cut += (cut < 128 || cut > size - 128) ? 1 : 211) {
        FILE *o = fopen(path, "w");
        fwrite(data, 1, (size_t)cut, o);
        fclose(o);
        ks *k2 = ks_new();
        assert_int_equal(snap_load(path, &k2, 1, NULL, err, sizeof err), KVE_CORRUPT);
        ks_free(k2);
    }
    kv_free(data);
    ks_free(k);
}

/* The newest snapshot is damaged: it is renamed *.broken and the older one
 * is loaded. */
static void test_fallback_to_older(void **state)
{
    fx *f = *state;
    ks *old = build(100);
    snap_meta m;
    write_snapshot(f, old, 100, 1, &m);
    ks *newer = build(200);
    write_snapshot(f, newer, 200, 2, &m);
    char path[4096], err[512];
    path_for(f, 200, path);
    flip_byte(path, 100);
    ks *k = ks_new();
    int broken = 0;
    assert_int_equal(snap_load_latest(f->dir, &k, 1, &m, &broken, err, sizeof err), 0);
    assert_int_equal(broken, 1);
    assert_int_equal(m.lsn, 100);
    char d1[41], d2[41];
    ks_digest(old, d1);
    ks_digest(k, d2);
    assert_string_equal(d1, d2);
    assert_int_equal(tu_count_files(f->dir, "snap-", ".broken"), 1);
    /* With every snapshot bad, recovery starts empty (LSN 0). */
    char p100[4096];
    path_for(f, 100, p100);
    flip_byte(p100, 70);
    ks_free(k);
    k = ks_new();
    assert_int_equal(snap_load_latest(f->dir, &k, 1, &m, &broken, err, sizeof err), 0);
    assert_int_equal(m.lsn, 0);
    assert_int_equal(ks_size(k), 0);
    ks_free(k);
    ks_free(old);
    ks_free(newer);
}

/* Retention keeps the newest N (and, when those are all past a bound, the
 * newest at or below it) and reports the oldest kept; temp files are
 * removed. */
static void test_retain_and_temps(void **state)
{
    fx *f = *state;
    ks *k = build(10);
    snap_meta m;
    for (uint64_t lsn = 10; lsn <= 50; lsn += 10)
        write_snapshot(f, k, lsn, 1, &m);
    /* The newest two are past the bound (a commit point of 25): the newest
     * at or below it stays too, and is the oldest kept. */
    assert_int_equal(snap_retain(f->dir, 2, 25), 20);
    assert_int_equal(tu_count_files(f->dir, "snap-", ".snap"), 3);
    /* One of the newest two is at or below it: nothing more. */
    assert_int_equal(snap_retain(f->dir, 2, 45), 40);
    assert_int_equal(tu_count_files(f->dir, "snap-", ".snap"), 2);
    assert_int_equal(snap_retain(f->dir, 2, UINT64_MAX), 40);
    assert_int_equal(tu_count_files(f->dir, "snap-", ".snap"), 2);
    char tmp[4096];
    snap_tmp_path(tmp, sizeof tmp, f->dir, 99);
    FILE *o = fopen(tmp, "w");
    fputs("partial", o);
    fclose(o);
    snap_remove_temps(f->dir);
    assert_int_equal(tu_count_files(f->dir, "snap-", ".tmp"), 0);
    ks_free(k);
}

/* Snapshots are listed through the file table: a listing that fails is an
 * I/O error for snap_list and snap_load_latest (nothing is renamed or
 * loaded), retention and temp cleanup then touch nothing, and everything
 * works once the listing does. */
static void test_listing_through_the_table(void **state)
{
    fx *f = *state;
    ks *k = build(10);
    snap_meta m;
    write_snapshot(f, k, 10, 1, &m);
    write_snapshot(f, k, 20, 1, &m);
    char tmp[4096];
    snap_tmp_path(tmp, sizeof tmp, f->dir, 99);
    FILE *o = fopen(tmp, "w");
    fputs("partial", o);
    fclose(o);
    faultfs_install();
    faultfs_fail_path(FF_LIST, f->dir, 1, EIO, 1);
    uint64_t *lsns = NULL;
    assert_int_equal(snap_list(f->dir, &lsns), KVE_IO);
    assert_null(lsns);
    ks *into = ks_new();
    char err[512];
    int broken = 0;
    assert_int_equal(snap_load_latest(f->dir, &into, 1, &m, &broken, err, sizeof err), KVE_IO);
    assert_int_equal(ks_size(into), 0);
    assert_int_equal(snap_retain(f->dir, 1, UINT64_MAX), 0);
    snap_remove_temps(f->dir);
    assert_int_equal(tu_count_files(f->dir, "snap-", ".snap"), 2);
    assert_int_equal(tu_count_files(f->dir, "snap-", ".tmp"), 1);
    faultfs_clear();
    assert_int_equal(snap_list(f->dir, &lsns), 2);
    assert_int_equal(lsns[0], 20);
    assert_int_equal(lsns[1], 10);
    free(lsns);
    snap_remove_temps(f->dir);
    assert_int_equal(tu_count_files(f->dir, "snap-", ".tmp"), 0);
    faultfs_uninstall();
    ks_free(into);
    ks_free(k);
}

/* Keys in several databases (0, 1, 5 and 200: a database number needing a
 * two-byte varint) come back each in its own database, with TTLs; the
 * same key name in two databases stays two keys. Loading into fewer
 * databases than the file uses is KVE_INVAL (a configuration error, the
 * file is not renamed as broken); snap_verify needs no databases. */
static void test_databases(void **state)
{
    fx *f = *state;
    enum { NDB = 201 };
    ks *dbs[NDB];
    for (int i = 0; i < NDB; i++)
        dbs[i] = ks_new();
    ks_free(dbs[5]);
    dbs[5] = build(3000);
    static const int used[] = {0, 1, 200};
    for (size_t u = 0; u < sizeof used / sizeof used[0]; u++) {
        ks *k = dbs[used[u]];
        for (int i = 0; i < 100; i++) {
            char key[32], val[32];
            int kl = snprintf(key, sizeof key, "same:%d", i);
            int vl = snprintf(val, sizeof val, "db%d:%d", used[u], i);
            kobj *o = ks_set_string(k, key, (size_t)kl, val, (size_t)vl, 0);
            if (i % 3 == 0)
                ks_set_expire(k, o, 1900000000000LL + i);
        }
    }
    char tmp[4096], path[4096], err[512];
    snap_meta m;
    snap_tmp_path(tmp, sizeof tmp, f->dir, 77);
    assert_int_equal(snap_write(dbs, NDB, tmp, 77, 3, &m, err, sizeof err), 0);
    assert_int_equal(snap_publish(f->dir, tmp, 77, err, sizeof err), 0);
    assert_int_equal(m.keys, 300 + ks_size(dbs[5]));
    path_for(f, 77, path);
    assert_int_equal(snap_verify(path, &m, err, sizeof err), 0);

    ks *back[NDB];
    for (int i = 0; i < NDB; i++)
        back[i] = ks_new();
    assert_int_equal(snap_load(path, back, NDB, &m, err, sizeof err), 0);
    for (int i = 0; i < NDB; i++) {
        assert_int_equal(ks_size(back[i]), ks_size(dbs[i]));
        assert_int_equal(ks_expires(back[i]), ks_expires(dbs[i]));
        char d1[41], d2[41];
        ks_digest(dbs[i], d1);
        ks_digest(back[i], d2);
        assert_string_equal(d1, d2);
    }
    char a[41], b[41];
    ks_digest_dbs(dbs, NDB, a);
    ks_digest_dbs(back, NDB, b);
    assert_string_equal(a, b);
    /* The same keys in another database digest differently. */
    ks *swapped[NDB];
    memcpy(swapped, back, sizeof swapped);
    swapped[1] = back[0];
    swapped[0] = back[1];
    ks_digest_dbs(swapped, NDB, b);
    assert_string_not_equal(a, b);

    /* Too few databases: refused as a configuration error, not damage. */
    for (int i = 0; i < NDB; i++)
        ks_clear(back[i]);
    assert_int_equal(snap_load(path, back, 200, &m, err, sizeof err), KVE_INVAL);
    assert_non_null(strstr(err, "databases 201 or more"));
    for (int i = 0; i < NDB; i++)
        ks_clear(back[i]);
    int broken = 0;
    assert_int_equal(snap_load_latest(f->dir, back, 200, &m, &broken, err, sizeof err),
                     KVE_INVAL);
    assert_int_equal(broken, 0);
    assert_int_equal(access(path, F_OK), 0);
    for (int i = 0; i < NDB; i++) {
        ks_free(dbs[i]);
        ks_free(back[i]);
    }
}

/* A file from before databases (header flags 0, bytes 40..47 zero, no
 * entry with the database flag) loads into database 0. */
static void test_pre_databases_header(void **state)
{
    fx *f = *state;
    ks *k = build(500);
    snap_meta m;
    write_snapshot(f, k, 9, 1, &m);
    char path[4096], err[256];
    path_for(f, 9, path);
    /* Rewrite the header as the previous release wrote it. */
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t h[64];
    assert_int_equal(pread(fd, h, 64, 0), 64);
    memset(h + 12, 0, 4);
    memset(h + 40, 0, 8);
    uint32_t crc = crc32c(0, h, 60);
    for (int i = 0; i < 4; i++)
        h[60 + i] = (uint8_t)(crc >> (8 * i));
    assert_int_equal(pwrite(fd, h, 64, 0), 64);
    close(fd);
    ks *dbs[16];
    for (int i = 0; i < 16; i++)
        dbs[i] = ks_new();
    assert_int_equal(snap_load(path, dbs, 16, &m, err, sizeof err), 0);
    char d1[41], d2[41];
    ks_digest(k, d1);
    ks_digest(dbs[0], d2);
    assert_string_equal(d1, d2);
    for (int i = 1; i < 16; i++)
        assert_int_equal(ks_size(dbs[i]), 0);
    for (int i = 0; i < 16; i++)
        ks_free(dbs[i]);
    ks_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings_read_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aux_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_zset_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_any_damage_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fallback_to_older, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retain_and_temps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listing_through_the_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_databases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pre_databases_header, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
