/* cmd_bitmap.c — bit operations on string values: SETBIT GETBIT BITCOUNT
 * BITPOS BITOP BITFIELD BITFIELD_RO, with Redis 7.0's replies, errors and
 * order of checks (bitops.c).
 *
 * Bits are numbered from the most significant bit of the first byte, as
 * in Redis. A bit offset is limited to proto-max-bulk-len bytes (512 MB by
 * default, so bit 4294967295 is the last one) except on replay, where the
 * log is obeyed whatever the limit is now (Redis's mustObeyClient).
 *
 * Logged effects (cmd.h): every command here is a pure function of the
 * keyspace and its arguments, so a write is logged as its own argv —
 * cheaper than its result, which can be a 512 MB string (SETBIT at a high
 * offset, BITOP over big keys). A write is logged only when it changed
 * something: SETBIT when the string was created, grew or the bit flipped;
 * BITOP when it stored a result or deleted the destination; BITFIELD when
 * a SET/INCRBY changed a value or the string was created or grew. The last
 * differs from Redis, which does not propagate a BITFIELD whose every
 * write failed under OVERFLOW FAIL even though it created or padded the
 * key: replayed, that key would be missing. Like Redis, a write leaves the
 * value with encoding "raw" (dbUnshareStringValue) even when it changes
 * nothing; that alone is not logged, so a restart may show "int" or
 * "embstr" again, as Redis does after a reload.
 *
 * Keyspace events as Redis: "new" when a write creates the string (even a
 * BITFIELD whose writes all fail), "setbit" when SETBIT changed something
 * or a BITFIELD write happened, BITOP's "set" on the destination or "del"
 * when an empty result deletes it. */
#include "cmd.h"

#include "mem.h"
#include "reply.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* ---- helpers ---- */

static const char err_bit_offset[] = "ERR bit offset is not an integer or out of range";

/* Redis's getBitOffsetFromArgument: argument i as a bit offset. With
 * hash and bits > 0, "#N" means N * bits (BITFIELD). Replies the error
 * and returns -1 on a bad or out-of-range offset. */
static int bit_offset_arg(cmd_ctx *c, int i, int hash, int bits, uint64_t *out)
{
    const char *p = c->argv[i];
    size_t plen = c->lens[i];
    int usehash = plen && p[0] == '#' && hash && bits > 0;
    long long off;
    if (!kv_string2ll(p + usehash, plen - (size_t)usehash, &off)) {
        reply_error(&c->r, err_bit_offset);
        return -1;
    }
    /* Redis multiplies in long long; do it in unsigned arithmetic so an
     * overflow wraps (and then fails the sign check) without UB. */
    if (usehash)
        off = (long long)((unsigned long long)off * (unsigned long long)bits);
    if (off < 0 || (!c->replay && (off >> 3) >= c->env->proto_max_bulk_len)) {
        reply_error(&c->r, err_bit_offset);
        return -1;
    }
    *out = (uint64_t)off;
    return 0;
}

/* The string at argument 1 for reading: NULL if missing; *wrong set
 * (and WRONGTYPE replied) if the key holds another type. */
static kobj *read_string(cmd_ctx *c, int *wrong)
{
    *wrong = 0;
    kobj *o = db_read(c, c->argv[1], c->lens[1]);
    if (o && kobj_type(o) != KT_STRING) {
        reply_err_wrongtype(&c->r);
        *wrong = 1;
        return NULL;
    }
    return o;
}

/* Redis's lookupStringForBitCommand: the string at argument 1, created or
 * zero-padded so that bit maxbit exists, as a writable pointer (*len its
 * length). *grown tells whether it was created or made longer. NULL after
 * replying WRONGTYPE. */
static uint8_t *string_for_bits(cmd_ctx *c, uint64_t maxbit, size_t *len, int *grown)
{
    const char *key = c->argv[1];
    size_t klen = c->lens[1], need = (size_t)(maxbit >> 3) + 1, old = 0;
    kobj *o = db_write(c, key, klen);
    if (o && kobj_type(o) != KT_STRING) {
        reply_err_wrongtype(&c->r);
        return NULL;
    }
    if (!o) {
        o = ks_set_string(c->k, key, klen, "", 0, 0);
        cmd_notify_new(c, key, klen);
    } else {
        kobj_str(o, &old);
    }
    *grown = need > old;
    *len = need > old ? need : old;
    return (uint8_t *)ks_string_resize(c->k, &o, *len);
}

/* Population count of n bytes. */
static long long popcount(const uint8_t *p, size_t n)
{
    long long bits = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        bits += __builtin_popcountll(w);
    }
    for (; i < n; i++)
        bits += __builtin_popcount(p[i]);
    return bits;
}

/* Redis's redisBitpos: the position of the first bit equal to `bit` in
 * n bytes. Not found: -1 when looking for a 1; n * 8 for a 0 (the string
 * is taken as zero-padded on the right). */
static long long bitpos(const uint8_t *p, size_t n, int bit)
{
    uint8_t skip = bit ? 0 : 0xff;
    uint64_t wskip = bit ? 0 : UINT64_MAX;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w != wskip)
            break;
    }
    while (i < n && p[i] == skip)
        i++;
    if (i == n)
        return bit ? -1 : (long long)n * 8;
    for (int j = 7; j >= 0; j--)
        if (((p[i] >> j) & 1) == bit)
            return (long long)i * 8 + (7 - j);
    return -1; /* unreachable: p[i] != skip has a matching bit */
}

/* ---- SETBIT / GETBIT ---- */

static void cmd_setbit(cmd_ctx *c)
{
    static const char err_bit[] = "ERR bit is not an integer or out of range";
    uint64_t off;
    long long on;
    if (bit_offset_arg(c, 2, 0, 0, &off) < 0 || arg_ll_msg(c, 3, &on, err_bit) < 0)
        return;
    if (on & ~1LL) {
        reply_error(&c->r, err_bit);
        return;
    }
    size_t len;
    int grown;
    uint8_t *p = string_for_bits(c, off, &len, &grown);
    if (!p)
        return;
    size_t byte = (size_t)(off >> 3);
    int shift = 7 - (int)(off & 7);
    int old = (p[byte] >> shift) & 1;
    if (grown || old != on) {
        p[byte] = (uint8_t)((p[byte] & ~(1 << shift)) | ((int)on << shift));
        db_modified(c, c->argv[1], c->lens[1]);
        cmd_notify(c, NOTIFY_STRING, "setbit", c->argv[1], c->lens[1]);
    }
    reply_int(&c->r, old);
}

static void cmd_getbit(cmd_ctx *c)
{
    uint64_t off;
    if (bit_offset_arg(c, 2, 0, 0, &off) < 0)
        return;
    int wrong;
    kobj *o = read_string(c, &wrong);
    if (wrong)
        return;
    int bit = 0;
    if (o) {
        size_t n;
        const uint8_t *p = (const uint8_t *)kobj_str(o, &n);
        if ((off >> 3) < n)
            bit = (p[off >> 3] >> (7 - (off & 7))) & 1;
    }
    reply_int(&c->r, bit);
}

/* ---- BITCOUNT / BITPOS ---- */

/* The [start, end] range of BITCOUNT/BITPOS after Redis's index rules,
 * in bytes, with the masks of the bits outside a BIT range at its edge
 * bytes (first_mask: high bits of the first byte before start; last_mask:
 * low bits of the last byte after end). */
typedef struct range {
    long long start, end;
    uint8_t first_mask, last_mask;
} range;

static void range_normalize(range *rg, long long totlen, int isbit)
{
    if (isbit)
        totlen <<= 3;
    if (rg->start < 0)
        rg->start = totlen + rg->start;
    if (rg->end < 0)
        rg->end = totlen + rg->end;
    if (rg->start < 0)
        rg->start = 0;
    if (rg->end < 0)
        rg->end = 0;
    if (rg->end >= totlen)
        rg->end = totlen - 1;
    rg->first_mask = rg->last_mask = 0;
    if (isbit && rg->start <= rg->end) {
        rg->first_mask = (uint8_t)(~((1u << (8 - (rg->start & 7))) - 1) & 0xff);
        rg->last_mask = (uint8_t)((1u << (7 - (rg->end & 7))) - 1);
        rg->start >>= 3;
        rg->end >>= 3;
    }
}

/* argument i as BIT (1) or BYTE (0), read as a C string like Redis's
 * strcasecmp; -1 after a syntax error. */
static int unit_arg(cmd_ctx *c, int i)
{
    if (arg_is_c(c, i, "bit"))
        return 1;
    if (arg_is_c(c, i, "byte"))
        return 0;
    reply_err_syntax(&c->r);
    return -1;
}

/* BITCOUNT key [start end [BYTE|BIT]]: as Redis 7.0, the key is looked up
 * first (a missing key is 0 whatever the other arguments are). */
static void cmd_bitcount(cmd_ctx *c)
{
    int wrong;
    kobj *o = read_string(c, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    size_t slen;
    const uint8_t *p = (const uint8_t *)kobj_str(o, &slen);
    range rg = {0, (long long)slen - 1, 0, 0};
    if (c->argc == 4 || c->argc == 5) {
        if (arg_ll(c, 2, &rg.start) < 0 || arg_ll(c, 3, &rg.end) < 0)
            return;
        if (rg.start < 0 && rg.end < 0 && rg.start > rg.end) {
            reply_int(&c->r, 0);
            return;
        }
        int isbit = 0;
        if (c->argc == 5 && (isbit = unit_arg(c, 4)) < 0)
            return;
        range_normalize(&rg, (long long)slen, isbit);
    } else if (c->argc != 2) {
        reply_err_syntax(&c->r);
        return;
    }
    if (rg.start > rg.end) {
        reply_int(&c->r, 0);
        return;
    }
    long long count = popcount(p + rg.start, (size_t)(rg.end - rg.start + 1));
    if (rg.first_mask)
        count -= __builtin_popcount(p[rg.start] & rg.first_mask);
    if (rg.last_mask)
        count -= __builtin_popcount(p[rg.end] & rg.last_mask);
    reply_int(&c->r, count);
}

/* BITPOS over the byte range [start, end] of p whose edge bytes may be
 * partly outside a BIT range (the masks). Returns Redis's position
 * relative to byte `start` and sets *bytes to the range length left when
 * the search stopped (for the end-given rule). */
static long long bitpos_range(const uint8_t *p, range *rg, int bit, long long *bytes_left)
{
    long long bytes = rg->end - rg->start + 1, pos;
    uint8_t tmp;
    if (rg->first_mask) {
        tmp = bit ? (uint8_t)(p[rg->start] & ~rg->first_mask)
                  : (uint8_t)(p[rg->start] | rg->first_mask);
        if (rg->last_mask && bytes == 1)
            tmp = bit ? (uint8_t)(tmp & ~rg->last_mask) : (uint8_t)(tmp | rg->last_mask);
        pos = bitpos(&tmp, 1, bit);
        if (bytes == 1 || (pos != -1 && pos != 8))
            goto done;
        rg->start++;
        bytes--;
    }
    long long cur = bytes - (rg->last_mask ? 1 : 0);
    if (cur > 0) {
        pos = bitpos(p + rg->start, (size_t)cur, bit);
        if (bytes == cur || (pos != -1 && pos != cur << 3))
            goto done;
        rg->start += cur;
        bytes -= cur;
    }
    tmp = bit ? (uint8_t)(p[rg->end] & ~rg->last_mask) : (uint8_t)(p[rg->end] | rg->last_mask);
    pos = bitpos(&tmp, 1, bit);
done:
    *bytes_left = bytes;
    return pos;
}

/* BITPOS key bit [start [end [BYTE|BIT]]]: the bit is checked first, then
 * the key (a missing key answers before the range is parsed). With an end
 * given, looking for a 0 never goes past the range. */
static void cmd_bitpos(cmd_ctx *c)
{
    long long bit;
    if (arg_ll(c, 2, &bit) < 0)
        return;
    if (bit != 0 && bit != 1) {
        reply_error(&c->r, "ERR The bit argument must be 1 or 0.");
        return;
    }
    int wrong;
    kobj *o = read_string(c, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_int(&c->r, bit ? -1 : 0);
        return;
    }
    size_t slen;
    const uint8_t *p = (const uint8_t *)kobj_str(o, &slen);
    long long totlen = (long long)slen;
    range rg = {0, totlen - 1, 0, 0};
    int end_given = 0;
    if (c->argc >= 4 && c->argc <= 6) {
        int isbit = 0;
        if (arg_ll(c, 3, &rg.start) < 0)
            return;
        if (c->argc == 6 && (isbit = unit_arg(c, 5)) < 0)
            return;
        if (c->argc >= 5) {
            if (arg_ll(c, 4, &rg.end) < 0)
                return;
            end_given = 1;
        } else {
            rg.end = isbit ? (totlen << 3) + 7 : totlen - 1;
        }
        range_normalize(&rg, totlen, isbit);
    } else if (c->argc != 3) {
        reply_err_syntax(&c->r);
        return;
    }
    if (rg.start > rg.end) {
        reply_int(&c->r, -1);
        return;
    }
    long long bytes;
    long long pos = bitpos_range(p, &rg, (int)bit, &bytes);
    if (end_given && bit == 0 && pos == bytes << 3) {
        reply_int(&c->r, -1);
        return;
    }
    if (pos != -1)
        pos += rg.start << 3;
    reply_int(&c->r, pos);
}

/* ---- BITOP ---- */

enum { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

/* res[j] for j in [from, maxlen): the operation over the sources, missing
 * bytes read as 0. */
static void bitop_tail(uint8_t *res, size_t from, size_t maxlen, int op, int n,
                       const uint8_t *const *src, const size_t *len)
{
    for (size_t j = from; j < maxlen; j++) {
        uint8_t out = len[0] > j ? src[0][j] : 0;
        if (op == BITOP_NOT)
            out = (uint8_t)~out;
        for (int i = 1; i < n; i++) {
            uint8_t b = len[i] > j ? src[i][j] : 0;
            if (op == BITOP_AND)
                out &= b;
            else if (op == BITOP_OR)
                out |= b;
            else
                out ^= b;
        }
        res[j] = out;
    }
}

/* res = op over the sources for the bytes all of them have: word at a
 * time. Returns how many bytes were done. */
static size_t bitop_words(uint8_t *res, size_t minlen, int op, int n,
                          const uint8_t *const *src)
{
    size_t j = 0;
    for (; j + 8 <= minlen; j += 8) {
        uint64_t w, x;
        memcpy(&w, src[0] + j, 8);
        if (op == BITOP_NOT)
            w = ~w;
        for (int i = 1; i < n; i++) {
            memcpy(&x, src[i] + j, 8);
            if (op == BITOP_AND)
                w &= x;
            else if (op == BITOP_OR)
                w |= x;
            else
                w ^= x;
        }
        memcpy(res + j, &w, 8);
    }
    return j;
}

static void cmd_bitop(cmd_ctx *c)
{
    static const char *const names[] = {"and", "or", "xor", "not"};
    int op = -1;
    for (int i = 0; i < 4 && op < 0; i++)
        if (arg_is_c(c, 1, names[i]))
            op = i;
    if (op < 0) {
        reply_err_syntax(&c->r);
        return;
    }
    if (op == BITOP_NOT && c->argc != 4) {
        reply_error(&c->r, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    int n = c->argc - 3;
    const uint8_t **src = kv_malloc((size_t)n * sizeof *src);
    size_t *len = kv_malloc((size_t)n * sizeof *len);
    size_t maxlen = 0, minlen = 0;
    for (int j = 0; j < n; j++) {
        kobj *o = db_read(c, c->argv[j + 3], c->lens[j + 3]);
        if (!o) {
            src[j] = NULL;
            len[j] = 0;
            minlen = 0;
            continue;
        }
        if (kobj_type(o) != KT_STRING) {
            reply_err_wrongtype(&c->r);
            kv_free(src);
            kv_free(len);
            return;
        }
        src[j] = (const uint8_t *)kobj_str(o, &len[j]);
        if (len[j] > maxlen)
            maxlen = len[j];
        if (j == 0 || len[j] < minlen)
            minlen = len[j];
    }
    const char *dst = c->argv[2];
    size_t dlen = c->lens[2];
    if (maxlen) {
        /* The sources point into the keyspace, possibly at dst itself:
         * compute first, store after. */
        uint8_t *res = kv_malloc(maxlen);
        size_t done = bitop_words(res, minlen, op, n, src);
        bitop_tail(res, done, maxlen, op, n, src, len);
        /* an expired destination's DEL is logged first */
        int existed = db_write(c, dst, dlen) != NULL;
        kobj *o = ks_set_string(c->k, dst, dlen, res, maxlen, 0);
        ks_string_resize(c->k, &o, maxlen); /* "raw", as createObject */
        kv_free(res);
        if (!existed)
            cmd_notify_new(c, dst, dlen);
        db_modified(c, dst, dlen);
        cmd_notify(c, NOTIFY_STRING, "set", dst, dlen);
    } else if (db_delete(c, dst, dlen)) {
        cmd_notify(c, NOTIFY_GENERIC, "del", dst, dlen);
    }
    kv_free(src);
    kv_free(len);
    reply_int(&c->r, (long long)maxlen);
}

/* ---- BITFIELD / BITFIELD_RO ---- */

enum { BF_GET, BF_SET, BF_INCRBY };
enum { BF_WRAP, BF_SAT, BF_FAIL };

typedef struct bf_op {
    uint64_t offset;
    int64_t value; /* SET value or INCRBY increment */
    int opcode, overflow, bits, sign;
} bf_op;

static void bf_set_unsigned(uint8_t *p, uint64_t offset, int bits, uint64_t value)
{
    for (int j = 0; j < bits; j++, offset++) {
        unsigned bitval = (value >> (bits - 1 - j)) & 1;
        size_t byte = (size_t)(offset >> 3);
        int shift = 7 - (int)(offset & 7);
        p[byte] = (uint8_t)((p[byte] & ~(1u << shift)) | (bitval << shift));
    }
}

static uint64_t bf_get_unsigned(const uint8_t *p, uint64_t offset, int bits)
{
    uint64_t v = 0;
    for (int j = 0; j < bits; j++, offset++)
        v = (v << 1) | ((p[offset >> 3] >> (7 - (offset & 7))) & 1);
    return v;
}

static int64_t bf_get_signed(const uint8_t *p, uint64_t offset, int bits)
{
    uint64_t u = bf_get_unsigned(p, offset, bits);
    if (bits < 64 && (u & ((uint64_t)1 << (bits - 1))))
        u |= UINT64_MAX << bits;
    return (int64_t)u;
}

/* Redis's checkUnsignedBitfieldOverflow: 0 if value + incr fits in bits,
 * else 1 (overflow) or -1 (underflow) with *limit the result under
 * WRAP or SAT. */
static int bf_overflow_unsigned(uint64_t value, int64_t incr, int bits, int ow, uint64_t *limit)
{
    uint64_t max = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
    int64_t maxincr = (int64_t)(max - value);
    int64_t minincr = (int64_t)(0 - value);
    int r;
    if (value > max || (incr > 0 && incr > maxincr))
        r = 1;
    else if (incr < 0 && incr < minincr)
        r = -1;
    else
        return 0;
    if (ow == BF_WRAP)
        *limit = bits == 64 ? value + (uint64_t)incr
                            : (value + (uint64_t)incr) & (((uint64_t)1 << bits) - 1);
    else if (ow == BF_SAT)
        *limit = r > 0 ? max : 0;
    return r;
}

/* Redis's checkSignedBitfieldOverflow, the same for signed fields. */
static int bf_overflow_signed(int64_t value, int64_t incr, int bits, int ow, int64_t *limit)
{
    int64_t max = bits == 64 ? INT64_MAX : ((int64_t)1 << (bits - 1)) - 1;
    int64_t min = -max - 1;
    /* As Redis: these may wrap, but are used only once value is in range. */
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    int r;
    if (value > max || (bits != 64 && incr > maxincr) ||
        (value >= 0 && incr > 0 && incr > maxincr))
        r = 1;
    else if (value < min || (bits != 64 && incr < minincr) ||
             (value < 0 && incr < 0 && incr < minincr))
        r = -1;
    else
        return 0;
    if (ow == BF_WRAP) {
        uint64_t v = (uint64_t)value + (uint64_t)incr;
        if (bits < 64) {
            uint64_t mask = UINT64_MAX << bits;
            if (v & ((uint64_t)1 << (bits - 1)))
                v |= mask;
            else
                v &= ~mask;
        }
        *limit = (int64_t)v;
    } else if (ow == BF_SAT) {
        *limit = r > 0 ? max : min;
    }
    return r;
}

/* Redis's getBitfieldTypeFromArgument: "i1".."i64" or "u1".."u63", the
 * number read as a C string. -1 after replying the error. */
static int bf_type_arg(cmd_ctx *c, int i, int *sign, int *bits)
{
    const char *p = c->argv[i];
    const char *nul = memchr(p, '\0', c->lens[i]);
    size_t len = nul ? (size_t)(nul - p) : c->lens[i];
    long long n;
    *sign = len && p[0] == 'i';
    if (!len || (p[0] != 'i' && p[0] != 'u') || !kv_string2ll(p + 1, len - 1, &n) || n < 1 ||
        (*sign && n > 64) || (!*sign && n > 63)) {
        reply_error(&c->r, "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 "
                           "is not supported but i64 is.");
        return -1;
    }
    *bits = (int)n;
    return 0;
}

/* Parse the BITFIELD operations into ops (*nops of them). Returns -1
 * after replying an error; *readonly tells whether all are GETs and
 * *maxbit is the highest bit a SET/INCRBY writes. */
static int bf_parse(cmd_ctx *c, bf_op *ops, int *nops, int *readonly, uint64_t *maxbit)
{
    int ow = BF_WRAP, n = 0;
    *readonly = 1;
    *maxbit = 0;
    for (int j = 2; j < c->argc; j++) {
        int rem = c->argc - j - 1, opcode;
        if (arg_is_c(c, j, "get") && rem >= 2) {
            opcode = BF_GET;
        } else if (arg_is_c(c, j, "set") && rem >= 3) {
            opcode = BF_SET;
        } else if (arg_is_c(c, j, "incrby") && rem >= 3) {
            opcode = BF_INCRBY;
        } else if (arg_is_c(c, j, "overflow") && rem >= 1) {
            j++;
            if (arg_is_c(c, j, "wrap"))
                ow = BF_WRAP;
            else if (arg_is_c(c, j, "sat"))
                ow = BF_SAT;
            else if (arg_is_c(c, j, "fail"))
                ow = BF_FAIL;
            else {
                reply_error(&c->r, "ERR Invalid OVERFLOW type specified");
                return -1;
            }
            continue;
        } else {
            reply_err_syntax(&c->r);
            return -1;
        }
        bf_op *op = &ops[n];
        long long v = 0;
        if (bf_type_arg(c, j + 1, &op->sign, &op->bits) < 0 ||
            bit_offset_arg(c, j + 2, 1, op->bits, &op->offset) < 0)
            return -1;
        if (opcode != BF_GET) {
            *readonly = 0;
            uint64_t last = op->offset + (uint64_t)op->bits - 1;
            if (last > *maxbit)
                *maxbit = last;
            if (arg_ll(c, j + 3, &v) < 0)
                return -1;
        }
        op->value = v;
        op->opcode = opcode;
        op->overflow = ow;
        n++;
        j += opcode == BF_GET ? 2 : 3;
    }
    *nops = n;
    return 0;
}

/* Run one SET/INCRBY on p: replies its result (or null when OVERFLOW FAIL
 * refused it). Returns 1 if the stored value changed. */
static int bf_write(cmd_ctx *c, uint8_t *p, const bf_op *op, int grown)
{
    int changed;
    if (op->sign) {
        int64_t oldv = bf_get_signed(p, op->offset, op->bits), newv, ret, lim = 0;
        int of;
        if (op->opcode == BF_INCRBY) {
            of = bf_overflow_signed(oldv, op->value, op->bits, op->overflow, &lim);
            newv = of ? lim : (int64_t)((uint64_t)oldv + (uint64_t)op->value);
            ret = newv;
        } else {
            newv = op->value;
            of = bf_overflow_signed(newv, 0, op->bits, op->overflow, &lim);
            if (of)
                newv = lim;
            ret = oldv;
        }
        if (of && op->overflow == BF_FAIL) {
            reply_null(&c->r);
            return 0;
        }
        reply_int(&c->r, ret);
        bf_set_unsigned(p, op->offset, op->bits, (uint64_t)newv);
        changed = grown || oldv != newv;
    } else {
        uint64_t oldv = bf_get_unsigned(p, op->offset, op->bits), newv, ret, lim = 0;
        int of;
        if (op->opcode == BF_INCRBY) {
            newv = oldv + (uint64_t)op->value;
            of = bf_overflow_unsigned(oldv, op->value, op->bits, op->overflow, &lim);
            if (of)
                newv = lim;
            ret = newv;
        } else {
            newv = (uint64_t)op->value;
            of = bf_overflow_unsigned(newv, 0, op->bits, op->overflow, &lim);
            if (of)
                newv = lim;
            ret = oldv;
        }
        if (of && op->overflow == BF_FAIL) {
            reply_null(&c->r);
            return 0;
        }
        reply_int(&c->r, (long long)ret);
        bf_set_unsigned(p, op->offset, op->bits, newv);
        changed = grown || oldv != newv;
    }
    return changed;
}

/* One GET on the first slen bytes of src (NULL: a missing key), read
 * through a zero-padded copy of the 9 bytes it may span. */
static void bf_get(cmd_ctx *c, const uint8_t *src, size_t slen, const bf_op *op)
{
    uint8_t buf[9] = {0};
    uint64_t byte = op->offset >> 3;
    for (int i = 0; i < 9 && src && byte + (uint64_t)i < slen; i++)
        buf[i] = src[byte + (uint64_t)i];
    uint64_t off = op->offset - byte * 8;
    if (op->sign)
        reply_int(&c->r, bf_get_signed(buf, off, op->bits));
    else
        reply_int(&c->r, (long long)bf_get_unsigned(buf, off, op->bits));
}

static void bitfield_generic(cmd_ctx *c, int ro)
{
    /* Each operation takes at least 3 arguments. */
    bf_op *ops = kv_malloc((size_t)(c->argc / 3 + 1) * sizeof *ops);
    int nops, readonly;
    uint64_t maxbit;
    if (bf_parse(c, ops, &nops, &readonly, &maxbit) < 0) {
        kv_free(ops);
        return;
    }
    const uint8_t *src = NULL;
    uint8_t *p = NULL;
    size_t slen = 0;
    int grown = 0, changes = 0;
    if (readonly) {
        int wrong;
        kobj *o = read_string(c, &wrong);
        if (wrong) {
            kv_free(ops);
            return;
        }
        if (o)
            src = (const uint8_t *)kobj_str(o, &slen);
    } else {
        if (ro) {
            kv_free(ops);
            reply_error(&c->r, "ERR BITFIELD_RO only supports the GET subcommand");
            return;
        }
        p = string_for_bits(c, maxbit, &slen, &grown);
        if (!p) {
            kv_free(ops);
            return;
        }
        src = p;
    }
    reply_array(&c->r, nops);
    for (int j = 0; j < nops; j++) {
        if (ops[j].opcode == BF_GET)
            bf_get(c, src, slen, &ops[j]);
        else
            changes += bf_write(c, p, &ops[j], grown);
    }
    /* Logged when anything changed, including a key created or padded by
     * writes that all failed (see the top of the file). */
    if (changes || grown)
        db_modified(c, c->argv[1], c->lens[1]);
    /* Announced, as by Redis, only for writes that happened. */
    if (changes)
        cmd_notify(c, NOTIFY_STRING, "setbit", c->argv[1], c->lens[1]);
    kv_free(ops);
}

static void cmd_bitfield(cmd_ctx *c)
{
    bitfield_generic(c, 0);
}

static void cmd_bitfield_ro(cmd_ctx *c)
{
    bitfield_generic(c, 1);
}

/* ---- table ---- */

const kv_command cmds_bitmap[] = {
    {"setbit", cmd_setbit, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "bitmap",
     "Sets or clears the bit at offset in the string value stored at key", "2.2.0",
     "@write @bitmap @slow"},
    {"getbit", cmd_getbit, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "bitmap",
     "Returns the bit value at offset in the string value stored at key", "2.2.0",
     "@read @bitmap @fast"},
    {"bitcount", cmd_bitcount, -2, CMD_READONLY, 1, 1, 1, "bitmap", "Count set bits in a string",
     "2.6.0", "@read @bitmap @slow"},
    {"bitpos", cmd_bitpos, -3, CMD_READONLY, 1, 1, 1, "bitmap",
     "Find first bit set or clear in a string", "2.8.7", "@read @bitmap @slow"},
    {"bitop", cmd_bitop, -4, CMD_WRITE | CMD_DENYOOM, 2, -1, 1, "bitmap",
     "Perform bitwise operations between strings", "2.6.0", "@write @bitmap @slow"},
    {"bitfield", cmd_bitfield, -2, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "bitmap",
     "Perform arbitrary bitfield integer operations on strings", "3.2.0",
     "@write @bitmap @slow"},
    {"bitfield_ro", cmd_bitfield_ro, -2, CMD_READONLY | CMD_FAST, 1, 1, 1, "bitmap",
     "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
     "6.0.0", "@read @bitmap @fast"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
