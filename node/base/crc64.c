/* crc64.c — CRC-64/Jones (see crc64.h).
 *
 * A reflected CRC: each byte enters at the low end of the register and the
 * register shifts right, so the polynomial is used bit-reversed
 * (0x95ac9329ac4bc9b5 is 0xad93d23594c935a9 read backwards). The fast path
 * is slicing-by-8: eight 256-entry tables, built once on first use (any thread), consume
 * eight bytes per step; table[k][b] is the CRC of byte b followed by k
 * zero bytes. Both paths give the same result for every input. */
#include "crc64.h"

#include <pthread.h>

#define POLY_REFLECTED 0x95ac9329ac4bc9b5ull

static uint64_t table[8][256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
    for (int b = 0; b < 256; b++) {
        uint64_t crc = (uint64_t)b;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ POLY_REFLECTED : crc >> 1;
        table[0][b] = crc;
    }
    for (int b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            table[k][b] = table[0][table[k - 1][b] & 0xff] ^ (table[k - 1][b] >> 8);
}

uint64_t crc64_bitwise(uint64_t crc, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        crc ^= s[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ POLY_REFLECTED : crc >> 1;
    }
    return crc;
}

uint64_t crc64(uint64_t crc, const void *p, size_t n)
{
    pthread_once(&once, build_table);
    const unsigned char *s = p;
    while (n >= 8) {
        uint64_t w = 0;
        for (int k = 0; k < 8; k++)
            w |= (uint64_t)s[k] << (8 * k);
        crc ^= w;
        crc = table[7][crc & 0xff] ^ table[6][(crc >> 8) & 0xff] ^
              table[5][(crc >> 16) & 0xff] ^ table[4][(crc >> 24) & 0xff] ^
              table[3][(crc >> 32) & 0xff] ^ table[2][(crc >> 40) & 0xff] ^
              table[1][(crc >> 48) & 0xff] ^ table[0][crc >> 56];
        s += 8;
        n -= 8;
    }
    while (n--)
        crc = table[0][(crc ^ *s++) & 0xff] ^ (crc >> 8);
    return crc;
}
