/* crc32c.c — CRC-32C with a hardware path (x86-64 SSE4.2) and a
 * slicing-by-8 software path. Reflected polynomial 0x82F63B78, initial value
 * and final xor 0xFFFFFFFF (the iSCSI / ext4 / LevelDB convention):
 * crc32c("123456789") = 0xE3069283. */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int use_hw;

static void init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    __builtin_cpu_init();
    use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&once, init);
    const unsigned char *b = p;
    uint32_t c = ~crc;
    while (n && ((uintptr_t)b & 7)) {
        c = (c >> 8) ^ table[0][(c ^ *b++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        w ^= c; /* little-endian: low 4 bytes take the running crc */
        c = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
            table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^
            table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        b += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ table[0][(c ^ *b++) & 0xff];
    return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *p,
                                                              size_t n)
{
    const unsigned char *b = p;
    uint64_t c = ~crc & 0xffffffffu;
    while (n && ((uintptr_t)b & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *b++);
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        c = __builtin_ia32_crc32di(c, w);
        b += 8;
        n -= 8;
    }
    while (n--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *b++);
    return ~(uint32_t)c;
}
#endif

/* ---- Combining (the method of zlib's crc32_combine, Mark Adler) ----
 * In the reflected representation a polynomial's x^0 term is the top bit.
 * multmodp(a, b) is a(x) * b(x) mod P(x); x2n[k] is x^(2^k) mod P(x). */
static uint32_t x2n[32];

static uint32_t multmodp(uint32_t a, uint32_t b)
{
    uint32_t m = (uint32_t)1 << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0)
                break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ POLY : b >> 1;
    }
    return p;
}

static pthread_once_t x2n_once = PTHREAD_ONCE_INIT;

static void x2n_init(void)
{
    uint32_t p = (uint32_t)1 << 30; /* x^1 */
    x2n[0] = p;
    for (int k = 1; k < 32; k++)
        x2n[k] = p = multmodp(p, p);
}

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    pthread_once(&x2n_once, x2n_init);
    /* crc(a||b) = crc_a * x^(8 len_b) + crc_b (mod P): the pre- and
     * post-conditioning cancel out as in zlib. x^(8n) = prod x^(2^(k+3))
     * over the bits k of n. */
    uint32_t p = (uint32_t)1 << 31; /* x^0 */
    for (unsigned k = 3; len_b; len_b >>= 1, k++)
        if (len_b & 1)
            p = multmodp(x2n[k & 31], p);
    return multmodp(p, crc_a) ^ crc_b;
}

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&once, init);
#if defined(__x86_64__)
    if (use_hw)
        return crc32c_hw(crc, p, n);
#endif
    return crc32c_sw(crc, p, n);
}

int crc32c_hw_available(void)
{
    pthread_once(&once, init);
    return use_hw;
}
