/* cmd_hll.c — HyperLogLog commands: PFADD PFCOUNT PFMERGE PFDEBUG
 * PFSELFTEST, with Redis 7.0's replies, errors and order of checks
 * (hyperloglog.c). Values are Redis's HLL strings (hll.h), so GET / SET
 * move them between kvnode and redis-server unchanged.
 *
 * Logged effects (cmd.h). The only input that is not in the keyspace or
 * the arguments is hll-sparse-max-bytes, which decides when a sparse
 * value becomes dense; it may differ on a replica, or change before a
 * restart replays the log. So replay never converts because of size, and
 * a command that turned a sparse value dense logs that conversion itself:
 *   PFADD   -> its argv, then "PFDEBUG TODENSE key" if the value became
 *              dense (the registers, hence the dense bytes, are the same
 *              whichever element triggered the conversion; a register
 *              above 32 converts on replay by itself, deterministically);
 *   PFMERGE -> the same;
 *   PFDEBUG GETREG of a sparse value -> "PFDEBUG TODENSE key", TODENSE
 *              its argv;
 *   PFCOUNT of one key that stores the cardinality in the header (a
 *              write Redis propagates as the PFCOUNT itself) -> "SETRANGE
 *              key 8 <8 bytes>", the header bytes it wrote; not done at
 *              all on a replica, or when the WAL cannot take it: the
 *              answer is the same, only uncached.
 * A PFADD that fails on a malformed sparse value after it already raised
 * registers (Redis keeps those changes) logs the value it leaves as
 * "SET key <bytes> KEEPTTL" + "APPEND key ''" (which makes it "raw").
 *
 * Like Redis (dbUnshareStringValue), the commands that may write an HLL
 * leave its encoding "raw" even when they change nothing; that alone is
 * not logged.
 *
 * Keyspace events as Redis: "new" when PFADD or PFMERGE creates the key,
 * "pfadd" when PFADD changed a register (not when it then failed) and for
 * every PFMERGE. */
#include "cmd.h"

#include "hll.h"
#include "mem.h"
#include "reply.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char err_invalid[] = "INVALIDOBJ Corrupted HLL object detected";
static const char err_not_hll[] = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/* ---- helpers ---- */

/* The key at argument i as an HLL, looked up for reading or writing:
 * NULL if missing; *err set (and the error replied) if it is not a
 * string or not an HLL. */
static kobj *lookup_hll(cmd_ctx *c, int i, int write, int *err)
{
    *err = 0;
    kobj *o = write ? db_write(c, c->argv[i], c->lens[i]) : db_read(c, c->argv[i], c->lens[i]);
    if (!o)
        return NULL;
    if (kobj_type(o) != KT_STRING) {
        reply_err_wrongtype(&c->r);
        *err = 1;
        return NULL;
    }
    size_t n;
    const char *s = kobj_str(o, &n);
    if (!hll_valid(s, n)) {
        reply_error(&c->r, err_not_hll);
        *err = 1;
        return NULL;
    }
    return o;
}

/* The sparse size limit in force: none on replay (see the top). */
static size_t sparse_max(const cmd_ctx *c)
{
    return c->replay ? SIZE_MAX : (size_t)c->env->hll_sparse_max_bytes;
}

/* The value of o, writable, encoding "raw" (Redis's dbUnshareStringValue). */
static uint8_t *make_writable(cmd_ctx *c, kobj **o, size_t *len)
{
    kobj_str(*o, len);
    return (uint8_t *)ks_string_resize(c->k, o, *len);
}

/* Replace the value of o with b's bytes, keeping its TTL. */
static void store(cmd_ctx *c, kobj *o, const hll_buf *b)
{
    uint8_t *p = (uint8_t *)ks_string_resize(c->k, &o, b->len);
    memcpy(p, b->p, b->len);
}

static void propagate_todense(cmd_ctx *c, int i)
{
    const char *argv[3] = {"PFDEBUG", "TODENSE", c->argv[i]};
    size_t lens[3] = {7, 7, c->lens[i]};
    cmd_propagate(c, 3, argv, lens);
}

/* Log the command's own argv (it is not CMD_WRITE-only: cmd_propagate
 * replaces the automatic logging). */
static void propagate_self(cmd_ctx *c)
{
    cmd_propagate(c, c->argc, c->argv, c->lens);
}

/* ---- PFADD ---- */

/* Add the elements to a dense value in place. */
static int add_dense(cmd_ctx *c, kobj **o)
{
    size_t len;
    uint8_t *p = make_writable(c, o, &len);
    int updated = 0;
    for (int j = 2; j < c->argc; j++)
        updated += hll_dense_add(p, c->argv[j], c->lens[j]);
    if (updated)
        hll_cache_invalidate(p);
    return updated;
}

static void cmd_pfadd(cmd_ctx *c)
{
    const char *key = c->argv[1];
    size_t klen = c->lens[1];
    int err, updated = 0;
    kobj *o = lookup_hll(c, 1, 1, &err);
    if (err)
        return;
    size_t len = 0;
    if (o && hll_encoding(kobj_str(o, &len)) == HLL_DENSE) {
        if (add_dense(c, &o)) {
            db_modified(c, key, klen);
            propagate_self(c);
            cmd_notify(c, NOTIFY_STRING, "pfadd", key, klen);
            reply_int(&c->r, 1);
        } else {
            reply_int(&c->r, 0);
        }
        return;
    }
    /* Sparse (or new): work on a copy that may grow or turn dense. */
    hll_buf b;
    if (o) {
        const char *cur = kobj_str(o, &len);
        hll_buf_copy(&b, cur, len);
    } else {
        hll_buf_empty(&b);
        o = ks_set_string(c->k, key, klen, b.p, b.len, 0);
        cmd_notify_new(c, key, klen);
        updated++;
    }
    int failed = 0;
    for (int j = 2; j < c->argc && !failed; j++) {
        int r = hll_add(&b, c->argv[j], c->lens[j], sparse_max(c));
        if (r < 0)
            failed = 1;
        else
            updated += r;
    }
    int to_dense = hll_encoding(b.p) == HLL_DENSE;
    if (updated && !failed)
        hll_cache_invalidate(b.p);
    if (updated || to_dense || b.len != len) {
        store(c, o, &b);
    } else {
        make_writable(c, &o, &len);
    }
    if (failed) {
        reply_error(&c->r, err_invalid);
        if (updated) {
            /* Earlier elements changed the value: log what it is now. */
            db_modified(c, key, klen);
            const char *sargv[4] = {"SET", key, (const char *)b.p, "KEEPTTL"};
            size_t slens[4] = {3, klen, b.len, 7};
            cmd_propagate(c, 4, sargv, slens);
            const char *aargv[3] = {"APPEND", key, ""};
            size_t alens[3] = {6, klen, 0};
            cmd_propagate(c, 3, aargv, alens);
        }
    } else if (updated) {
        db_modified(c, key, klen);
        propagate_self(c);
        if (to_dense)
            propagate_todense(c, 1);
        cmd_notify(c, NOTIFY_STRING, "pfadd", key, klen);
        reply_int(&c->r, 1);
    } else {
        reply_int(&c->r, 0);
    }
    hll_buf_free(&b);
}

/* ---- PFCOUNT ---- */

/* PFCOUNT of several keys: the union, nothing cached or modified. */
static void pfcount_union(cmd_ctx *c)
{
    uint8_t *max = kv_calloc(1, HLL_REGISTERS);
    for (int j = 1; j < c->argc; j++) {
        int err;
        kobj *o = lookup_hll(c, j, 0, &err);
        if (err)
            goto done;
        if (!o)
            continue;
        size_t n;
        const char *s = kobj_str(o, &n);
        if (hll_merge(max, s, n) < 0) {
            reply_error(&c->r, err_invalid);
            goto done;
        }
    }
    reply_int(&c->r, (long long)hll_count_raw(max));
done:
    kv_free(max);
}

/* May this PFCOUNT store the cardinality it computed? Only where the
 * write can be logged: not on a replica (its data is the primary's log)
 * and not when the WAL refuses writes. */
static int may_cache(cmd_ctx *c, size_t klen)
{
    if (c->replay)
        return 1;
    return !c->replica && engine_can_write(c->env->eng, klen + 64, NULL) == 0;
}

static void cmd_pfcount(cmd_ctx *c)
{
    if (c->argc > 2) {
        pfcount_union(c);
        return;
    }
    int err;
    kobj *o = lookup_hll(c, 1, 0, &err);
    if (err)
        return;
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    const char *key = c->argv[1];
    size_t klen = c->lens[1], len;
    int cache = may_cache(c, klen);
    const uint8_t *s = (const uint8_t *)kobj_str(o, &len);
    if (cache)
        s = make_writable(c, &o, &len);
    if (hll_cache_valid(s)) {
        reply_int(&c->r, (long long)hll_cache_get(s));
        return;
    }
    int invalid = 0;
    uint64_t card = hll_count(s, len, &invalid);
    if (invalid) {
        reply_error(&c->r, err_invalid);
        return;
    }
    if (cache) {
        uint8_t *w = (uint8_t *)s;
        hll_cache_set(w, card);
        db_modified(c, key, klen);
        const char *argv[4] = {"SETRANGE", key, "8", (const char *)w + 8};
        size_t lens[4] = {8, klen, 1, 8};
        cmd_propagate(c, 4, argv, lens);
    }
    reply_int(&c->r, (long long)card);
}

/* ---- PFMERGE ---- */

static void cmd_pfmerge(cmd_ctx *c)
{
    uint8_t *max = kv_calloc(1, HLL_REGISTERS);
    int use_dense = 0;
    for (int j = 1; j < c->argc; j++) {
        int err;
        kobj *o = lookup_hll(c, j, 0, &err);
        if (err)
            goto done;
        if (!o)
            continue;
        size_t n;
        const char *s = kobj_str(o, &n);
        if (hll_encoding(s) == HLL_DENSE)
            use_dense = 1;
        if (hll_merge(max, s, n) < 0) {
            reply_error(&c->r, err_invalid);
            goto done;
        }
    }
    const char *key = c->argv[1];
    size_t klen = c->lens[1], len;
    /* The destination was one of the inputs: it is missing or a valid HLL. */
    kobj *o = db_write(c, key, klen);
    hll_buf b;
    if (o) {
        const char *cur = kobj_str(o, &len);
        hll_buf_copy(&b, cur, len);
    } else {
        hll_buf_empty(&b);
        o = ks_set_string(c->k, key, klen, b.p, b.len, 0);
        cmd_notify_new(c, key, klen);
    }
    int was_sparse = hll_encoding(b.p) == HLL_SPARSE;
    if (use_dense && hll_to_dense(&b) < 0) {
        reply_error(&c->r, err_invalid);
        hll_buf_free(&b);
        goto done;
    }
    for (long j = 0; j < HLL_REGISTERS; j++)
        if (max[j])
            hll_set(&b, j, max[j], sparse_max(c));
    hll_cache_invalidate(b.p);
    store(c, o, &b);
    db_modified(c, key, klen);
    propagate_self(c);
    if (was_sparse && hll_encoding(b.p) == HLL_DENSE)
        propagate_todense(c, 1);
    cmd_notify(c, NOTIFY_STRING, "pfadd", key, klen);
    reply_ok(&c->r);
    hll_buf_free(&b);
done:
    kv_free(max);
}

/* ---- PFDEBUG ---- */

/* Convert the value of o to dense in the keyspace: 1 if converted, 0 if
 * it was dense, -1 (INVALIDOBJ replied) if malformed. */
static int todense(cmd_ctx *c, kobj *o)
{
    size_t len;
    const char *s = kobj_str(o, &len);
    if (hll_encoding(s) == HLL_DENSE)
        return 0;
    hll_buf b;
    hll_buf_copy(&b, s, len);
    if (hll_to_dense(&b) < 0) {
        reply_error(&c->r, err_invalid);
        hll_buf_free(&b);
        return -1;
    }
    store(c, o, &b);
    hll_buf_free(&b);
    db_modified(c, c->argv[2], c->lens[2]);
    propagate_todense(c, 2);
    return 1;
}

static void pfdebug_decode(cmd_ctx *c, const uint8_t *s, size_t len)
{
    if (hll_encoding(s) != HLL_SPARSE) {
        reply_error(&c->r, "ERR HLL encoding is not sparse");
        return;
    }
    /* A hostile value can decode to ~9 bytes per byte: stop at the
     * client's output limit and close it, as an oversized reply would. */
    long long hard = c->env->obuf_hard;
    size_t limit = hard > 0 ? (size_t)hard : (size_t)1 << 30;
    kbuf text = KBUF_INIT;
    if (hll_decode(s, len, &text, limit) < 0) {
        c->close_client = 1;
        reply_error(&c->r, "ERR PFDEBUG DECODE output exceeds the client output buffer limit");
    } else {
        reply_bulk(&c->r, kbuf_data(&text), kbuf_len(&text));
    }
    kbuf_free(&text);
}

static void cmd_pfdebug(cmd_ctx *c)
{
    int err;
    kobj *o = lookup_hll(c, 2, 1, &err);
    if (err)
        return;
    if (!o) {
        reply_error(&c->r, "ERR The specified key does not exist");
        return;
    }
    size_t len;
    const uint8_t *s = make_writable(c, &o, &len);
    if (arg_is_c(c, 1, "getreg")) {
        if (todense(c, o) < 0)
            return;
        o = ks_find(c->k, c->argv[2], c->lens[2]);
        const uint8_t *regs = (const uint8_t *)kobj_str(o, &len) + HLL_HDR_SIZE;
        reply_array(&c->r, HLL_REGISTERS);
        for (long j = 0; j < HLL_REGISTERS; j++)
            reply_int(&c->r, hll_dense_get(regs, j));
    } else if (arg_is_c(c, 1, "decode")) {
        pfdebug_decode(c, s, len);
    } else if (arg_is_c(c, 1, "encoding")) {
        reply_simple(&c->r, hll_encoding(s) == HLL_DENSE ? "dense" : "sparse");
    } else if (arg_is_c(c, 1, "todense")) {
        int r = todense(c, o);
        if (r >= 0)
            reply_int(&c->r, r);
    } else {
        const char *nul = memchr(c->argv[1], '\0', c->lens[1]);
        int n = (int)(nul ? (size_t)(nul - c->argv[1]) : c->lens[1]);
        reply_errorf(&c->r, "ERR Unknown PFDEBUG subcommand '%.*s'", n, c->argv[1]);
    }
}

/* ---- PFSELFTEST ---- */

#define SELFTEST_CYCLES 1000

/* Test 1: every dense register keeps the value written to it and leaves
 * its neighbours alone. */
static int selftest_registers(cmd_ctx *c)
{
    uint8_t *regs = kv_calloc(1, HLL_DENSE_SIZE - HLL_HDR_SIZE);
    uint8_t *bytes = kv_malloc(HLL_REGISTERS);
    int ok = 1;
    for (int j = 0; j < SELFTEST_CYCLES && ok; j++) {
        for (long i = 0; i < HLL_REGISTERS; i++) {
            bytes[i] = (uint8_t)(cmd_random() & HLL_REGISTER_MAX);
            hll_dense_set(regs, i, bytes[i]);
        }
        for (long i = 0; i < HLL_REGISTERS && ok; i++) {
            unsigned v = hll_dense_get(regs, i);
            if (v != bytes[i]) {
                reply_errorf(&c->r, "TESTFAILED Register %ld should be %d but is %d", i,
                             (int)bytes[i], (int)v);
                ok = 0;
            }
        }
    }
    kv_free(regs);
    kv_free(bytes);
    return ok;
}

/* Test 2: a dense and a sparse HLL fed the same 10 million elements agree
 * at every power of ten, the sparse one stays sparse while small, and the
 * estimate is within 6 standard errors (1 at cardinality 10). */
static int selftest_estimate(cmd_ctx *c)
{
    uint8_t *dense = kv_calloc(1, HLL_DENSE_SIZE);
    memcpy(dense, "HYLL", 4);
    hll_buf sparse;
    hll_buf_empty(&sparse);
    size_t smax = (size_t)c->env->hll_sparse_max_bytes;
    double relerr = 1.04 / sqrt(HLL_REGISTERS);
    int64_t checkpoint = 1;
    uint64_t seed = cmd_random();
    int ok = 1;
    for (uint64_t j = 1; j <= 10000000 && ok; j++) {
        uint64_t ele = j ^ seed;
        hll_dense_add(dense, &ele, sizeof ele);
        hll_add(&sparse, &ele, sizeof ele, smax);
        if ((int64_t)j != checkpoint)
            continue;
        if (j < smax / 2 && hll_encoding(sparse.p) != HLL_SPARSE) {
            reply_error(&c->r, "TESTFAILED sparse encoding not used");
            ok = 0;
            break;
        }
        uint64_t dcount = hll_count(dense, HLL_DENSE_SIZE, NULL);
        if (dcount != hll_count(sparse.p, sparse.len, NULL)) {
            reply_error(&c->r, "TESTFAILED dense/sparse disagree");
            ok = 0;
            break;
        }
        int64_t abserr = checkpoint - (int64_t)dcount;
        uint64_t maxerr = (uint64_t)ceil(relerr * 6 * (double)checkpoint);
        if (j == 10)
            maxerr = 1;
        if (abserr < 0)
            abserr = -abserr;
        if (abserr > (int64_t)maxerr) {
            reply_errorf(&c->r, "TESTFAILED Too big error. card:%llu abserr:%llu",
                         (unsigned long long)checkpoint, (unsigned long long)abserr);
            ok = 0;
        }
        checkpoint *= 10;
    }
    kv_free(dense);
    hll_buf_free(&sparse);
    return ok;
}

static void cmd_pfselftest(cmd_ctx *c)
{
    if (selftest_registers(c) && selftest_estimate(c))
        reply_ok(&c->r);
}

/* ---- table ---- */

const kv_command cmds_hll[] = {
    {"pfadd", cmd_pfadd, -2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hyperloglog",
     "Adds the specified elements to the specified HyperLogLog.", "2.8.9",
     "@write @hyperloglog @fast"},
    /* A read that may write the cached cardinality (logged explicitly). */
    {"pfcount", cmd_pfcount, -2, CMD_READONLY | CMD_MAY_REPLICATE, 1, -1, 1, "hyperloglog",
     "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
     "2.8.9", "@read @hyperloglog @slow"},
    {"pfmerge", cmd_pfmerge, -2, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, "hyperloglog",
     "Merge N different HyperLogLogs into a single one.", "2.8.9",
     "@write @hyperloglog @slow"},
    {"pfdebug", cmd_pfdebug, 3, CMD_WRITE | CMD_DENYOOM | CMD_ADMIN, 2, 2, 1, "hyperloglog",
     "Internal commands for debugging HyperLogLog values", "2.8.9",
     "@write @hyperloglog @admin @slow @dangerous"},
    {"pfselftest", cmd_pfselftest, 1, CMD_ADMIN | CMD_MAY_REPLICATE, 0, 0, 0, "hyperloglog",
     "An internal command for testing HyperLogLog values", "2.8.9",
     "@hyperloglog @admin @slow @dangerous"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
