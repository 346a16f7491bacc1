/* hll.h — Redis's HyperLogLog string format: the HYLL header, the dense
 * and sparse register encodings, MurmurHash64A, and the cardinality
 * estimator, byte for byte as Redis 7.0's hyperloglog.c, so a value
 * written by one server reads the same in the other.
 *
 * Layout (all integers little-endian):
 *
 *   +------+---+-----+-------------+------------------------------+
 *   | HYLL | E | N/U | card (8 B)  | registers                    |
 *   +------+---+-----+-------------+------------------------------+
 *    0      4   5     8             16
 *
 * E is the encoding (0 dense, 1 sparse); N/U three unused bytes; card the
 * cached cardinality, valid while the top bit of its last byte is clear.
 * Dense: 16384 6-bit registers packed from the low bits of each byte up,
 * exactly HLL_DENSE_SIZE bytes in all. Sparse: run-length opcodes —
 *   ZERO  00xxxxxx           1..64 zero registers
 *   XZERO 01xxxxxx yyyyyyyy  1..16384 zero registers (14-bit length - 1)
 *   VAL   1vvvvvxx           1..4 registers of value 1..32
 * which must cover exactly 16384 registers; a register above 32, or a
 * sparse string above hll-sparse-max-bytes, converts the value to dense.
 *
 * Pure code: no keyspace, no commands. Every reader takes a length and
 * never reads or writes outside it, whatever the bytes are (a truncated
 * XZERO reads its missing second byte as 0, as Redis reads its string's
 * NUL terminator); results on malformed values are Redis's wherever
 * Redis's own behaviour is defined. */
#ifndef KV_HLL_H
#define KV_HLL_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

#define HLL_P 14
#define HLL_Q (64 - HLL_P)
#define HLL_REGISTERS (1 << HLL_P)
#define HLL_BITS 6
#define HLL_REGISTER_MAX ((1 << HLL_BITS) - 1)
#define HLL_HDR_SIZE 16
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) / 8)
#define HLL_SPARSE_VAL_MAX_VALUE 32

enum { HLL_DENSE = 0, HLL_SPARSE = 1 };

/* A value being edited: it owns p (mem.h). Always cap >= len + 8 with the
 * bytes in [len, cap) zero. */
typedef struct hll_buf {
    uint8_t *p;
    size_t len, cap;
} hll_buf;

/* An empty HLL as Redis creates it: sparse, one XZERO:16384, card 0. */
void hll_buf_empty(hll_buf *b);
/* A copy of the len bytes at s. */
void hll_buf_copy(hll_buf *b, const void *s, size_t len);
void hll_buf_free(hll_buf *b);

/* Redis's isHLLObjectOrReply on a string value: the magic, a known
 * encoding, and for dense exactly HLL_DENSE_SIZE bytes. The sparse body
 * is not checked here (readers report it). */
int hll_valid(const void *s, size_t len);
static inline int hll_encoding(const void *s)
{
    return ((const uint8_t *)s)[4];
}

/* The cached cardinality (header bytes 8..15). */
int hll_cache_valid(const void *s);
uint64_t hll_cache_get(const void *s);
void hll_cache_set(void *s, uint64_t card);
void hll_cache_invalidate(void *s);

/* Redis's MurmurHash64A (endian-neutral). */
uint64_t hll_murmur64a(const void *key, int len, unsigned int seed);
/* The register an element goes to (*index) and its run length (the
 * 000…1 pattern of its hash, 1..51), as hllPatLen. */
int hll_pattern(const void *ele, size_t n, long *index);

/* Dense registers (regs points just past the header; i < HLL_REGISTERS). */
unsigned hll_dense_get(const uint8_t *regs, long i);
void hll_dense_set(uint8_t *regs, long i, unsigned val);

/* Add an element to a dense value in place (len == HLL_DENSE_SIZE):
 * 1 if a register grew. Does not touch the cache. */
int hll_dense_add(uint8_t *hll, const void *ele, size_t n);
/* Add an element to b, either encoding: 1 if a register grew (the cache
 * is then invalid), 0 if not, -1 if b is not a well-formed HLL (b may
 * already hold earlier changes, as in Redis). A sparse b that would grow
 * past sparse_max bytes or needs a register above 32 becomes dense. */
int hll_add(hll_buf *b, const void *ele, size_t n, size_t sparse_max);
/* Raise register index to count if it is lower (PFMERGE's write back):
 * 1 if it grew, 0 if not, -1 on a malformed sparse body. */
int hll_set(hll_buf *b, long index, unsigned count, size_t sparse_max);
/* Convert b to dense (no-op if dense): 0, or -1 if the sparse body does
 * not cover exactly HLL_REGISTERS registers (b unchanged). The header,
 * cached cardinality included, is kept. */
int hll_to_dense(hll_buf *b);

/* max[i] = MAX(max[i], register i of the value at s), as hllMerge: 0, or
 * -1 if s is sparse and malformed (max then holds part of it). */
int hll_merge(uint8_t *max, const void *s, size_t len);
/* The estimated cardinality of the value at s (hllCount). A malformed
 * sparse body sets *invalid (if given) and the result is meaningless. */
uint64_t hll_count(const void *s, size_t len, int *invalid);
/* The same for HLL_REGISTERS registers one byte each (PFCOUNT of several
 * keys). */
uint64_t hll_count_raw(const uint8_t *regs);

/* PFDEBUG DECODE's text of a sparse body ("Z:16384", "z:3 v:2,1 …"),
 * appended to out, stopping once out holds more than limit bytes.
 * Returns 0, or -1 if it stopped early. */
int hll_decode(const void *s, size_t len, kbuf *out, size_t limit);

#endif
