/* fuzz_hll.c — libFuzzer harness for the HyperLogLog decoder and editor
 * (node/keyspace/hll.c) and the PF* commands over hostile string values.
 *
 * Input: byte 0 picks the sparse size limit (bits 0-5, times 8), whether
 * the rest is wrapped in an HLL header (bit 6) and, if so, its encoding
 * (bit 7: dense, the body cycled to exactly the dense size); bytes 1-8
 * become the cached cardinality of a wrapped value, the rest its body.
 * Unwrapped, the rest is the value as is. These must hold:
 *  - nothing is read or written outside a value (ASan), no UB (UBSan);
 *  - a value hll_valid() accepts, with a well-formed body, stays
 *    well-formed through hll_add (whatever converts it), each added
 *    element's register is at least its run length afterwards, and no
 *    register goes down;
 *  - converting to dense keeps every register, and the estimate;
 *  - DECODE stops at its limit;
 *  - PFCOUNT (one and several keys), PFADD, PFMERGE and PFDEBUG run on the
 *    value stored as a string key, answering a reply each. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hll.h"
#include "mem.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                    \
        }                                                                               \
    } while (0)

static const char *const elements[] = {"a", "b", "c", "foo", "bar", "e0", "e1", "e999"};
#define NELEMENTS (sizeof elements / sizeof *elements)

/* ---- the format, directly ---- */

static void check_format(const uint8_t *v, size_t len, size_t sparse_max)
{
    if (!hll_valid(v, len))
        return;
    int invalid = 0;
    uint64_t card = hll_count(v, len, &invalid);
    uint8_t *before = calloc(1, HLL_REGISTERS), *after = calloc(1, HLL_REGISTERS);
    int wellformed = hll_merge(before, v, len) == 0 && !invalid;

    kbuf text = KBUF_INIT;
    if (hll_decode(v, len, &text, 4096) < 0)
        CHECK(kbuf_len(&text) <= 4096 + 32);
    kbuf_free(&text);

    hll_buf b;
    hll_buf_copy(&b, v, len);
    for (size_t i = 0; i < NELEMENTS; i++) {
        int r = hll_add(&b, elements[i], strlen(elements[i]), sparse_max);
        if (r < 0) {
            CHECK(!wellformed);
            break;
        }
        CHECK(hll_valid(b.p, b.len));
        if (wellformed) {
            long idx;
            int run = hll_pattern(elements[i], strlen(elements[i]), &idx);
            memset(after, 0, HLL_REGISTERS);
            CHECK(hll_merge(after, b.p, b.len) == 0);
            CHECK(after[idx] >= run);
            for (long j = 0; j < HLL_REGISTERS; j++)
                CHECK(after[j] >= before[j]);
            int inv = 0;
            hll_count(b.p, b.len, &inv);
            CHECK(!inv);
        }
    }
    if (wellformed) {
        memset(before, 0, HLL_REGISTERS);
        CHECK(hll_merge(before, b.p, b.len) == 0);
        uint64_t est = hll_count(b.p, b.len, NULL);
        CHECK(hll_to_dense(&b) == 0);
        CHECK(b.len == HLL_DENSE_SIZE && hll_valid(b.p, b.len));
        memset(after, 0, HLL_REGISTERS);
        CHECK(hll_merge(after, b.p, b.len) == 0);
        CHECK(memcmp(before, after, HLL_REGISTERS) == 0);
        CHECK(hll_count(b.p, b.len, NULL) == est);
    } else if (hll_to_dense(&b) == 0) {
        CHECK(b.len == HLL_DENSE_SIZE);
    }
    (void)card;
    hll_buf_free(&b);
    free(before);
    free(after);
}

/* ---- the commands ---- */

static server *srv;
static kbuf out;

static void run(const char *const *argv, int argc)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    const kv_command *cmd = command_lookup(argv[0], lens[0]);
    CHECK(cmd);
    kbuf_reset(&out);
    cmd_ctx c;
    server_ctx_init(&c, srv, NULL, &out, 2);
    c.cmd = cmd;
    c.argc = argc;
    c.argv = argv;
    c.lens = lens;
    c.replay = 1; /* no WAL here: effects are not logged */
    cmd->proc(&c);
    CHECK(kbuf_len(&out) > 0);
}

#define RUN(...)                                                                        \
    do {                                                                                \
        const char *argv_[] = {__VA_ARGS__};                                            \
        run(argv_, (int)(sizeof argv_ / sizeof *argv_));                                \
    } while (0)

static void check_commands(const uint8_t *v, size_t len)
{
    if (!srv) {
        srv = calloc(1, sizeof *srv);
        static ks *db0;
        db0 = ks_new();
        srv->dbs = &db0;
        srv->ndbs = 1;
        srv->env.hll_sparse_max_bytes = 3000;
        srv->env.proto_max_bulk_len = 512LL << 20;
        commands_init();
    }
    ks_clear(srv->dbs[0]);
    ks_set_string(srv->dbs[0], "h", 1, v, len, 0);
    RUN("PFADD", "g", "x", "y", "z");
    RUN("PFCOUNT", "h");
    RUN("PFCOUNT", "h");
    RUN("PFCOUNT", "g", "h");
    RUN("PFDEBUG", "ENCODING", "h");
    RUN("PFDEBUG", "DECODE", "h");
    RUN("PFMERGE", "d", "g", "h");
    RUN("PFADD", "h", "a", "b", "foo", "e999");
    RUN("PFMERGE", "h", "g");
    RUN("PFDEBUG", "GETREG", "h");
    ks_set_string(srv->dbs[0], "h", 1, v, len, 0);
    RUN("PFDEBUG", "TODENSE", "h");
    RUN("PFCOUNT", "h", "d");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    size_t sparse_max = (size_t)(flags & 63) * 8;
    const uint8_t *rest = data + 1;
    size_t rlen = size - 1;
    uint8_t *v;
    size_t len;
    if (flags & 64) {
        int dense = (flags & 128) != 0;
        size_t card = rlen < 8 ? rlen : 8;
        const uint8_t *body = rest + card;
        size_t blen = rlen - card;
        len = dense ? HLL_DENSE_SIZE : HLL_HDR_SIZE + blen;
        v = calloc(1, len);
        memcpy(v, "HYLL", 4);
        v[4] = dense ? HLL_DENSE : HLL_SPARSE;
        memcpy(v + 8, rest, card);
        for (size_t i = HLL_HDR_SIZE; i < len && blen; i++)
            v[i] = body[(i - HLL_HDR_SIZE) % blen];
    } else {
        len = rlen;
        v = malloc(len ? len : 1);
        memcpy(v, rest, len);
    }
    check_format(v, len, sparse_max);
    check_commands(v, len);
    free(v);
    return 0;
}
