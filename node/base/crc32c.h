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
/* The portable implementation, exposed so tests can compare both paths. */
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);
/* 1 if the hardware path is in use. */
int crc32c_hw_available(void);

#endif
