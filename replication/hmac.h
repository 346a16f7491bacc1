/* hmac.h — HMAC-SHA256 (RFC 2104, over base/sha256.h), for peers proving
 * they know the cluster secret. Pure functions. */
#ifndef KV_HMAC_H
#define KV_HMAC_H

#include "sha256.h"

#include <stddef.h>
#include <stdint.h>

/* HMAC-SHA256 over the concatenation a || b. */
void hmac_sha256(const void *key, size_t klen, const void *a, size_t alen, const void *b,
                 size_t blen, uint8_t out[32]);

/* Constant-time comparison of two 32-byte MACs: 1 if equal. */
int hmac_equal(const uint8_t a[32], const uint8_t b[32]);

#endif
