/* rdb_int.h — the RDB primitives rdb.c shares with the per-type
 * serializers beside it (rdb_stream.c); not for use outside keyspace/. */
#ifndef KV_RDB_INT_H
#define KV_RDB_INT_H

#include "buf.h"
#include "tstream.h"

#include <stddef.h>
#include <stdint.h>

#define RDB_TYPE_STREAM_LISTPACKS 15
#define RDB_TYPE_STREAM_LISTPACKS_2 19

/* Redis's rdbSaveLen and rdbSaveRawString (integer, LZF or raw). */
void rdb_save_len(kbuf *b, uint64_t len);
void rdb_save_string(kbuf *b, const char *s, size_t n);

/* A bounded reader over a payload's body (the footer excluded). */
typedef struct rdb_reader {
    const unsigned char *p;
    size_t n, pos;
    size_t max_string;
} rdb_reader;

/* A string read from the payload: a view of it, or bytes of its own
 * (a decoded integer or a decompressed blob). */
typedef struct rdb_rstr {
    const char *s;
    size_t n;
    char *own;
    char num[24];
} rdb_rstr;

/* Each returns 1, or 0 when the bytes run out or are not well formed. */
int rdb_rd_bytes(rdb_reader *r, size_t n, const unsigned char **out);
/* rdbLoadLenByRef: *enc (if not NULL) set for an 11xxxxxx byte. */
int rdb_rd_len(rdb_reader *r, uint64_t *len, int *enc);
int rdb_rd_string(rdb_reader *r, rdb_rstr *out);
void rdb_rstr_free(rdb_rstr *s);

/* The stream object (after its type byte), RDB_TYPE_STREAM_LISTPACKS_2. */
void rdb_dump_stream(kbuf *b, const kv_stream *s);
/* Read a stream object of type t (15 or 19); NULL if it is not well formed. */
kv_stream *rdb_load_stream(rdb_reader *r, int t);

#endif
