/* hmac.c — see hmac.h. */
#include "hmac.h"

#include <string.h>

void hmac_sha256(const void *key, size_t klen, const void *a, size_t alen, const void *b,
                 size_t blen, uint8_t out[32])
{
    uint8_t k[64] = {0};
    if (klen > 64)
        sha256(key, klen, k);
    else if (klen)
        memcpy(k, key, klen);
    uint8_t ipad[64], opad[64];
    for (int i = 0; i < 64; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    uint8_t inner[32];
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, ipad, 64);
    if (alen)
        sha256_update(&c, a, alen);
    if (blen)
        sha256_update(&c, b, blen);
    sha256_final(&c, inner);
    sha256_init(&c);
    sha256_update(&c, opad, 64);
    sha256_update(&c, inner, 32);
    sha256_final(&c, out);
}

int hmac_equal(const uint8_t a[32], const uint8_t b[32])
{
    uint8_t d = 0;
    for (int i = 0; i < 32; i++)
        d |= a[i] ^ b[i];
    return d == 0;
}
