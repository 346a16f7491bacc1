/* fuzz_restore.c — libFuzzer harness for the DUMP payload reader
 * (node/keyspace/rdb.c, rdb_codec.c): RESTORE's parser of untrusted bytes.
 *
 * Input: byte 0 is a flag; the rest is a payload. With bit 0 clear the
 * rest is the payload's body and a valid footer (RDB version 10 and the
 * CRC-64) is appended, so the fuzzer reaches the object decoders instead
 * of stopping at the checksum; with bit 0 set the rest is the whole
 * payload as a client would send it. These must hold:
 *  - nothing is read or written outside the payload, no leak (ASan), no UB;
 *  - a payload rdb_verify accepts either loads or is refused with nothing
 *    allocated;
 *  - a value that loads is never empty, DUMPs to a payload that verifies
 *    and loads again, and the value loaded the second time has the same
 *    content (DEBUG DIGEST of a keyspace holding it) as the first;
 *  - a stream (whose node layout and groups a DUMP keeps) DUMPs the second
 *    time to the very bytes of the first. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc64.h"
#include "keyspace.h"
#include "rdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                    \
        }                                                                               \
    } while (0)

static void digest_of(rdb_value *v, char out[41])
{
    ks *k = ks_new();
    rdb_value_install(k, "k", 1, v);
    ks_digest(k, out);
    kobj *o = ks_find(k, "k", 1);
    CHECK(o != NULL);
    ks_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int raw = data[0] & 1;
    size_t n = size - 1;
    uint8_t *p = malloc(n + 10);
    memcpy(p, data + 1, n);
    if (!raw) {
        p[n] = 10;
        p[n + 1] = 0;
        uint64_t crc = crc64(0, p, n + 2);
        for (int i = 0; i < 8; i++)
            p[n + 2 + i] = (uint8_t)(crc >> (8 * i));
        n += 10;
    }
    if (rdb_verify(p, n) != RDB_OK) {
        free(p);
        return 0;
    }
    rdb_value v;
    if (rdb_load(p, n, 1 << 20, &v) != RDB_OK) {
        free(p);
        return 0;
    }
    /* Dump it from a keyspace, load that, and compare the contents. */
    ks *k = ks_new();
    kobj *o = rdb_value_install(k, "k", 1, &v);
    kbuf dump = KBUF_INIT;
    rdb_dump(o, &dump);
    char d1[41], d2[41];
    ks_digest(k, d1);
    CHECK(rdb_verify(kbuf_data(&dump), kbuf_len(&dump)) == RDB_OK);
    rdb_value v2;
    CHECK(rdb_load(kbuf_data(&dump), kbuf_len(&dump), (size_t)1 << 30, &v2) == RDB_OK);
    if (v2.type == KT_STREAM) {
        ks *k2 = ks_new();
        kobj *o2 = rdb_value_install(k2, "k", 1, &v2);
        kbuf again = KBUF_INIT;
        rdb_dump(o2, &again);
        CHECK(kbuf_len(&again) == kbuf_len(&dump));
        CHECK(memcmp(kbuf_data(&again), kbuf_data(&dump), kbuf_len(&dump)) == 0);
        kbuf_free(&again);
        CHECK(rdb_load(kbuf_data(&dump), kbuf_len(&dump), (size_t)1 << 30, &v2) == RDB_OK);
        ks_free(k2);
    }
    digest_of(&v2, d2);
    CHECK(strcmp(d1, d2) == 0);
    kbuf_free(&dump);
    ks_free(k);
    free(p);
    return 0;
}
