/* crc64.h — CRC-64/Jones as Redis computes it (crc64.c): the polynomial
 * 0xad93d23594c935a9, reflected input and output, initial value 0, no final
 * xor. It is the checksum at the end of every DUMP payload and RDB file.
 * Check value: crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca. */
#ifndef KV_CRC64_H
#define KV_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* Extend `crc` (0 to start) with n bytes: crc64(crc64(0, a), b) equals
 * crc64(0, a||b). */
uint64_t crc64(uint64_t crc, const void *p, size_t n);
/* Bit by bit, for tests to compare the table-driven path with. */
uint64_t crc64_bitwise(uint64_t crc, const void *p, size_t n);

#endif
