/* wal_format.c — the WAL's files and record framing: what the bytes on disk
 * (and on the wire to replicas) are, and how a record is encoded and checked.
 * (wal.h is the WAL's contract; wal_int.h says which file does which job.)
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
 * Payload of a commands record: a packed kv.WalEntry (proto/wal.proto), a
 * list of commands in their effect form, each with its database:
 * Command.db, field 2, a varint after the arguments, present only for a
 * database other than 0. Format change: that field came with Redis's
 * numbered databases (the `databases` option). A record written before it
 * has none and replays into database 0, as its commands did then; a record
 * whose commands are all in database 0 is byte for byte what it was. The
 * framing, the segment version (1) and the record type did not change.
 *
 * A record is valid when its CRC matches, its type is known, flags and
 * reserved are zero, and its padding is zero. Recovery walks each segment:
 * in every segment but the last, valid records with consecutive LSNs are
 * followed only by zeros. In the last segment, the first invalid record
 * starts either a torn tail (no valid record anywhere after it: the tail is
 * cut and reported) or corruption (a valid record follows: refuse to start,
 * naming file and offset). This is possible because a segment is always
 * fully synced before the next one is created.
 */
#include "wal_int.h"

#include "crc32c.h"
#include "endian.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SEG_MAGIC "KVWALSEG"
#define SEG_VERSION 1u

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* ------------------------------------------------------------------------ */
/* File names                                                               */
/* ------------------------------------------------------------------------ */

void wal_seg_path(char *out, size_t n, const char *dir, uint64_t first_lsn)
{
    snprintf(out, n, "%s/wal-%020" PRIu64 ".log", dir, first_lsn);
}

void wal_spare_path(char *out, size_t n, const char *dir, int id)
{
    snprintf(out, n, "%s/wal-spare-%d.tmp", dir, id);
}

/* ------------------------------------------------------------------------ */
/* Record framing                                                           */
/* ------------------------------------------------------------------------ */

size_t wal_record_size(size_t len)
{
    return WAL_REC_HDR + pad8(len);
}

void wal_frame_header(uint8_t *out, uint64_t lsn, uint64_t term, int type, size_t len)
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
    wal_frame_header(out, lsn, term, type, len);
}

long wal_check_record(const uint8_t *p, size_t n, wal_record *rec, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = "record header cut short";
    if (n < WAL_REC_HDR)
        return 0;
    uint32_t len = le_get32(p + 4);
    int type = le_get16(p + 24);
    if (len > WAL_MAX_PAYLOAD)
        *why = "impossible length";
    else if (type != WAL_REC_COMMANDS && type != WAL_REC_NOOP && type != WAL_REC_CONFIG)
        *why = "unknown record type";
    else if (le_get16(p + 26) != 0 || le_get32(p + 28) != 0)
        *why = "non-zero flags or reserved bytes";
    else
        *why = NULL;
    if (*why)
        return -1;
    size_t total = wal_record_size(len);
    *why = "record cut short";
    if (n < total)
        return 0;
    *why = "bad CRC";
    if (crc32c(0, p + 4, WAL_REC_HDR - 4 + len) != le_get32(p))
        return -1;
    *why = "non-zero padding";
    for (size_t i = WAL_REC_HDR + len; i < total; i++)
        if (p[i])
            return -1;
    *why = NULL;
    rec->lsn = le_get64(p + 8);
    rec->term = le_get64(p + 16);
    rec->type = type;
    rec->payload = p + WAL_REC_HDR;
    rec->len = len;
    rec->raw = p;
    rec->raw_len = total;
    return (long)total;
}

long wal_decode_record(const uint8_t *p, size_t n, wal_record *rec)
{
    return wal_check_record(p, n, rec, NULL);
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

/* ------------------------------------------------------------------------ */
/* Payload read-ahead                                                       */
/* ------------------------------------------------------------------------ */

/* A protobuf varint at *p (below end); 0 with *p = end when cut short. */
static uint64_t pb_varint(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    *p = end;
    return 0;
}

/* wal_entry_first_key (wal.h): the protobuf wire format by hand.
 * WalEntry.commands = 1 (length-delimited); in a Command, argv = 1
 * (length-delimited), db = 2 (varint). Every read is bounded by the
 * payload; anything unexpected answers 0. */
int wal_entry_first_key(const uint8_t *p, size_t len, const uint8_t **key, size_t *klen,
                        uint64_t *db)
{
    const uint8_t *end = p + len;
    while (p < end) {
        uint64_t tag = pb_varint(&p, end);
        uint64_t n = (tag & 7) == 2 ? pb_varint(&p, end) : 0;
        if ((tag & 7) != 2 || n > (uint64_t)(end - p))
            return 0; /* WalEntry has only length-delimited fields */
        if (tag >> 3 != 1) {
            p += n;
            continue;
        }
        const uint8_t *c = p, *cend = p + n;
        int argi = 0, found = 0;
        *db = 0;
        while (c < cend) {
            uint64_t t = pb_varint(&c, cend);
            if ((t & 7) == 0) {
                uint64_t v = pb_varint(&c, cend);
                if (t >> 3 == 2)
                    *db = v;
            } else if ((t & 7) == 2) {
                uint64_t m = pb_varint(&c, cend);
                if (m > (uint64_t)(cend - c))
                    return 0;
                if (t >> 3 == 1 && argi++ == 1) {
                    *key = c;
                    *klen = (size_t)m;
                    found = 1;
                }
                c += m;
            } else {
                return 0;
            }
        }
        return found;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Segment header                                                           */
/* ------------------------------------------------------------------------ */

void wal_encode_seg_header(uint8_t *h, uint64_t first_lsn)
{
    memset(h, 0, WAL_SEG_HDR);
    memcpy(h, SEG_MAGIC, 8);
    le_put32(h + 8, SEG_VERSION);
    le_put64(h + 16, first_lsn);
    le_put32(h + 28, crc32c(0, h, 28));
}

int wal_seg_header_ok(const uint8_t *h, uint64_t first_lsn)
{
    return memcmp(h, SEG_MAGIC, 8) == 0 && le_get32(h + 8) == SEG_VERSION &&
           crc32c(0, h, 28) == le_get32(h + 28) && le_get64(h + 16) == first_lsn;
}
