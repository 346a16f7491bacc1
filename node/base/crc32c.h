/* crc32c.h — CRC-32C (Castagnoli), as used by every on-disk and on-wire
 * checksum in kvnode. Uses the SSE4.2 crc32 instruction when the CPU has it
 * and a slicing-by-8 table otherwise; both give identical results. */
#ifndef KV_CRC32C_H
#define KV_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend `crc` (0 to start) with n bytes. crc32c(crc32c(0,a),b) equals
 * crc32c(0, a||b). */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);
/* The CRC of a||b from crc32c(0, a), crc32c(0, b) and b's length, without
 * reading either (O(log len_b) arithmetic in GF(2), as zlib's
 * crc32_combine): a reader that has checked the CRCs of the parts gets
 * the whole's for the cost of a few multiplications. */
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
/* The portable implementation, exposed so tests can compare both paths. */
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);
/* 1 if the hardware path is in use. */
int crc32c_hw_available(void);

#endif
