/* sha256.h — SHA-256 (FIPS 180-4), for ACL password hashes (stored and
 * shown as 64 lowercase hex digits, as Redis's ACLHashPassword) and the
 * peers' HMAC (replication/hmac.h). */
#ifndef KV_SHA256_H
#define KV_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t bytes; /* hashed so far */
    uint8_t block[64];
    size_t used;    /* bytes waiting in block */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *p, size_t n);
/* Write the 32-byte digest; c must be re-initialized before reuse. */
void sha256_final(sha256_ctx *c, uint8_t out[32]);
/* The digest of p[0..n) in one call. */
void sha256(const void *p, size_t n, uint8_t out[32]);
/* The digest of p[0..n) as 64 lowercase hex digits and a NUL. */
void sha256_hex(const void *p, size_t n, char out[65]);

#endif
