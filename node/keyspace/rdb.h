/* rdb.h — Redis 7.0's DUMP payload: one value in RDB version 10's object
 * encoding, then the RDB version (2 bytes, little-endian) and a CRC-64 of
 * everything before it (crc64.h, 8 bytes, little-endian).
 *
 *   payload = <type byte> <object> <0x0a 0x00> <crc64>
 *
 * rdb_dump writes what redis-server 7.0's DUMP writes for the same value in
 * the same encoding: strings as integers (when canonical and within 32
 * bits), LZF-compressed (over 20 bytes, when that saves at least 4) or raw;
 * lists as a quicklist of listpack nodes split where Redis, under the
 * current list-max-listpack-size, splits a list built by RPUSH;
 * small hashes and sorted sets as one listpack, intsets as their blob,
 * large hashes and sets as their members (in kvnode's order, so those
 * bytes differ from Redis's, which follow its own hash table), skiplist
 * sorted sets from the highest rank down with binary scores.
 *
 * rdb_load reads every encoding redis-server 7.0 loads for strings, lists,
 * hashes, sets and sorted sets: the RDB 10 ones above and the older linked
 * list, ziplist, zipmap, string-score sorted set and quicklist-of-ziplists
 * forms, and streams (RDB_TYPE_STREAM_LISTPACKS_2, written as Redis 7.0
 * writes it, and the 6.x RDB_TYPE_STREAM_LISTPACKS; rdb_stream.c). Every
 * blob is validated in full (Redis's deep sanitization:
 * sanitize-dump-payload yes); module values are not kvnode types and are
 * refused. The value is built with kvnode's own encodings
 * under the current thresholds, as Redis converts what it loads. */
#ifndef KV_RDB_H
#define KV_RDB_H

#include "buf.h"
#include "keyspace.h"

#include <stddef.h>
#include <stdint.h>

#define RDB_VERSION 10

/* Append the DUMP payload of o's value to out. */
void rdb_dump(kobj *o, kbuf *out);

/* The quicklist nodes DUMP writes for l: their number and the sum of their
 * sizes (listpack bytes, or the element's for a plain node). */
void rdb_list_layout(kv_list *l, size_t *nodes, size_t *bytes);

/* A value read from a payload, not yet in a keyspace. */
typedef struct rdb_value {
    int type;      /* KT_* */
    char *str;     /* KT_STRING: the bytes (kv_malloc'd) */
    size_t slen;
    void *ptr;     /* kv_list / kv_hash / kv_set / kv_zset / kv_stream */
} rdb_value;

enum { RDB_OK = 0, RDB_ERR_VERSION = -1, RDB_ERR_FORMAT = -2 };

/* Redis's verifyDumpPayload: at least the 10-byte footer, an RDB version
 * not above 10, and a matching CRC-64. RDB_OK or RDB_ERR_VERSION. */
int rdb_verify(const void *p, size_t n);
/* DEBUG SET-SKIP-CHECKSUM-VALIDATION: rdb_verify checks the version only,
 * so that tests can hand crafted payloads to the decoder. */
void rdb_set_skip_checksum(int on);
/* Read the value of a verified payload into *v. Strings (a value, a member,
 * a blob once decompressed) longer than max_string are refused. RDB_OK, or
 * RDB_ERR_FORMAT with nothing allocated. Bytes between the value and the
 * footer are ignored, as Redis does. */
int rdb_load(const void *p, size_t n, size_t max_string, rdb_value *v);
/* What a payload holds, by its type byte, as Redis's corruption reports
 * name it ("Hash listpack", "Intset", "Stream" …), for the log. */
const char *rdb_payload_kind(const void *p, size_t n);
/* Free a value rdb_load returned (when it is not put in a keyspace). */
void rdb_value_free(rdb_value *v);
/* Put v under key (which must not exist); the keyspace owns the value
 * from then on. Returns the new object. */
kobj *rdb_value_install(ks *k, const void *key, size_t klen, rdb_value *v);

/* A whole RDB file (version 10), as redis-server 7.0 writes one for a
 * replica's full sync or SAVE, built in pieces into one buffer:
 *   rdb_file_begin   "REDIS0010" and the aux fields (name/value pairs)
 *   rdb_file_function  a function library's code (RDB_OPCODE_FUNCTION2)
 *   rdb_file_db      SELECTDB, RESIZEDB and every key of k, each with its
 *                    expiry (keys already expired included, as Redis)
 *   rdb_file_end     EOF and the CRC-64 of everything from `start` on
 * start is the offset in out where rdb_file_begin began. */
void rdb_file_begin(kbuf *out, const char *const *aux, int naux);
void rdb_file_function(kbuf *out, const char *code, size_t n);
void rdb_file_db(kbuf *out, int db, ks *k);
void rdb_file_end(kbuf *out, size_t start);

/* CONFIG rdbcompression: strings of more than 20 bytes LZF-compressed in
 * what rdb_save_* writes (DUMP, RDB files), when that saves 4 bytes. */
extern int rdb_compression;
/* CONFIG rdbchecksum: rdb_file_end writes the CRC-64 (else zero). */
extern int rdb_checksum;

#endif
