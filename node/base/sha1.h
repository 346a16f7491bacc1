/* sha1.h — SHA-1 (FIPS 180-4), for DEBUG DIGEST-style content digests.
 *
 * Not for security: SHA-1 is broken for collision resistance. The keyspace
 * uses it only to compare contents between nodes. */
#ifndef KV_SHA1_H
#define KV_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha1_ctx {
    uint32_t h[5];
    uint64_t total; /* bytes hashed so far */
    uint8_t block[64];
    size_t fill;    /* bytes waiting in block */
} sha1_ctx;

void sha1_init(sha1_ctx *c);
void sha1_update(sha1_ctx *c, const void *p, size_t n);
/* Write the 20-byte digest; c must be re-initialized before reuse. */
void sha1_final(sha1_ctx *c, uint8_t out[20]);

#endif
