/* rdb_codec.h — Redis's compact container formats as they appear inside
 * RDB files and DUMP payloads: listpack (written and read), and the older
 * ziplist, zipmap and intset blobs (read only).
 *
 * Readers are validating iterators over untrusted bytes: *_validate walks
 * the whole blob first (Redis's deep integrity check: every entry inside
 * the blob, headers consistent with the contents) and nothing is read
 * outside it; *_next then returns entries one by one. Integers come back as
 * int64, strings as views into the blob. */
#ifndef KV_RDB_CODEC_H
#define KV_RDB_CODEC_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* One entry of a listpack or ziplist: a string view, or an integer. */
typedef struct rdb_ent {
    int is_int;
    int64_t v;
    const unsigned char *s;
    size_t n;
} rdb_ent;

/* ---- listpack (Redis 7's listpack.c) ----
 * [u32 total bytes][u16 count, 65535 = unknown] entries [0xFF]; an entry
 * is an encoding byte (7-bit uint, 6/12/32-bit string length, 13/16/24/32/
 * 64-bit int), its data, and its own length written backwards (backlen). */
typedef struct lp_writer {
    kbuf b;
    size_t count;
} lp_writer;
void lpw_init(lp_writer *w);
/* Append a string; a canonical integer (Redis's lpStringToInt64) is stored
 * as an integer, as lpAppend does. */
void lpw_append(lp_writer *w, const void *s, size_t n);
void lpw_append_int(lp_writer *w, int64_t v);
/* Bytes an entry takes in a listpack (encoding, data and backlen), as
 * lpw_append_int / lpw_append would write it. */
size_t lp_int_size(int64_t v);
size_t lp_str_size(const void *s, size_t n);
/* Bytes of the listpack once finished (header and terminator included). */
size_t lpw_bytes(const lp_writer *w);
/* Write the header and terminator; the listpack is kbuf_data(&w->b). */
void lpw_finish(lp_writer *w);
void lpw_free(lp_writer *w);

/* 1 if p[0..n) is a well-formed listpack; *count gets its entries. */
int lp_validate(const unsigned char *p, size_t n, size_t *count);
/* Iterate a validated listpack: *pos starts at 0; 1 and the entry, or 0
 * at the end. */
int lp_next(const unsigned char *p, size_t n, size_t *pos, rdb_ent *e);

/* ---- ziplist (Redis up to 6.2) ----
 * [u32 zlbytes][u32 zltail][u16 zllen] entries [0xFF]; an entry is the
 * previous entry's length (1 or 5 bytes), an encoding, and its data. */
int zl_validate(const unsigned char *p, size_t n, size_t *count);
int zl_next(const unsigned char *p, size_t n, size_t *pos, rdb_ent *e);

/* ---- zipmap (Redis up to 2.4's small hashes) ----
 * [u8 count] (len key len free value [free bytes])* [0xFF]. */
int zm_validate(const unsigned char *p, size_t n, size_t *pairs);
/* One (field, value) pair per call. */
int zm_next(const unsigned char *p, size_t n, size_t *pos, rdb_ent *field, rdb_ent *value);

/* ---- intset ----
 * [u32 width 2|4|8][u32 count] count integers, ascending, little-endian. */
int is_validate(const unsigned char *p, size_t n, int *width, size_t *count);
int64_t is_get_le(const unsigned char *p, int width, size_t i);

#endif
