/* hmac.h — SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104), for peers proving
 * they know the cluster secret. Pure functions. */
#ifndef KV_HMAC_H
#define KV_HMAC_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t used;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *p, size_t n);
void sha256_final(sha256_ctx *c, uint8_t out[32]);
void sha256(const void *p, size_t n, uint8_t out[32]);

/* HMAC-SHA256 over the concatenation a || b. */
void hmac_sha256(const void *key, size_t klen, const void *a, size_t alen, const void *b,
                 size_t blen, uint8_t out[32]);

/* Constant-time comparison of two 32-byte MACs: 1 if equal. */
int hmac_equal(const uint8_t a[32], const uint8_t b[32]);

#endif
