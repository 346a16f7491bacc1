/* hll.c — the HyperLogLog string format (see hll.h for the layout).
 *
 * The sparse editing code must produce the very bytes Redis produces (the
 * representation is visible through GET and is copied between servers),
 * so it follows hyperloglog.c's algorithm step by step: find the opcode
 * covering the register, split it into at most XZERO-VAL-XZERO, then
 * merge equal adjacent VALs in a window of five opcodes from the one
 * before. Where Redis reads one byte past a string (an XZERO cut short at
 * the end, a memmove of the tail), it reads its sds NUL terminator; an
 * hll_buf keeps zeroed slack there so the same steps give the same result,
 * and read-only walkers over a bare value use sp_xzero_len, which reads a
 * missing byte as 0. Register indexes are counted in 64 bits, so no input
 * makes them wrap (Redis counts in int). */
#include "hll.h"

#include "mem.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define HLL_SLACK 8 /* zero bytes kept after an hll_buf's data */
#define HLL_ALPHA_INF 0.721347520444481703680 /* 0.5 / ln(2) */

#define SP_XZERO_BIT 0x40
#define SP_VAL_BIT 0x80
#define SP_IS_ZERO(p) ((*(p)&0xc0) == 0)
#define SP_IS_XZERO(p) ((*(p)&0xc0) == SP_XZERO_BIT)
#define SP_IS_VAL(p) (*(p)&SP_VAL_BIT)
#define SP_ZERO_LEN(p) ((*(p)&0x3f) + 1)
#define SP_VAL_VALUE(p) (((*(p) >> 2) & 0x1f) + 1)
#define SP_VAL_LEN(p) ((*(p)&0x3) + 1)
#define SP_VAL_MAX_LEN 4
#define SP_ZERO_MAX_LEN 64
#define SP_XZERO_MAX_LEN 16384

/* An XZERO's length; its second byte, when the value ends first, reads
 * as 0 (Redis reads the string's NUL terminator there). */
static long sp_xzero_len(const uint8_t *p, const uint8_t *end)
{
    unsigned lo = p + 1 < end ? p[1] : 0;
    return (long)((((unsigned)p[0] & 0x3f) << 8) | lo) + 1;
}

static void sp_val_set(uint8_t *p, unsigned val, unsigned len)
{
    *p = (uint8_t)(((val - 1) << 2 | (len - 1)) | SP_VAL_BIT);
}

static void sp_zero_set(uint8_t *p, unsigned len)
{
    *p = (uint8_t)(len - 1);
}

static void sp_xzero_set(uint8_t *p, unsigned len)
{
    unsigned l = len - 1;
    p[0] = (uint8_t)((l >> 8) | SP_XZERO_BIT);
    p[1] = (uint8_t)(l & 0xff);
}

/* ------------------------------------------------------------------------ */
/* Buffers and the header                                                    */
/* ------------------------------------------------------------------------ */

/* Make room for len bytes plus the slack, keeping the data. */
static void buf_reserve(hll_buf *b, size_t len)
{
    if (len + HLL_SLACK <= b->cap)
        return;
    size_t cap = len + HLL_SLACK + len / 4;
    b->p = kv_realloc(b->p, cap);
    memset(b->p + b->cap, 0, cap - b->cap);
    b->cap = cap;
}

/* Set the length, zeroing whatever lies past it. */
static void buf_setlen(hll_buf *b, size_t len)
{
    buf_reserve(b, len);
    if (len < b->len + HLL_SLACK)
        memset(b->p + len, 0, b->cap - len);
    b->len = len;
}

void hll_buf_empty(hll_buf *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
    buf_setlen(b, HLL_HDR_SIZE + 2);
    memcpy(b->p, "HYLL", 4);
    b->p[4] = HLL_SPARSE;
    sp_xzero_set(b->p + HLL_HDR_SIZE, HLL_REGISTERS);
}

void hll_buf_copy(hll_buf *b, const void *s, size_t len)
{
    b->cap = len + HLL_SLACK;
    b->p = kv_calloc(1, b->cap);
    if (len)
        memcpy(b->p, s, len);
    b->len = len;
}

void hll_buf_free(hll_buf *b)
{
    kv_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int hll_valid(const void *s, size_t len)
{
    const uint8_t *p = s;
    if (len < HLL_HDR_SIZE || memcmp(p, "HYLL", 4) != 0 || p[4] > HLL_SPARSE)
        return 0;
    return p[4] != HLL_DENSE || len == HLL_DENSE_SIZE;
}

int hll_cache_valid(const void *s)
{
    return (((const uint8_t *)s)[15] & 0x80) == 0;
}

uint64_t hll_cache_get(const void *s)
{
    const uint8_t *p = (const uint8_t *)s + 8;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void hll_cache_set(void *s, uint64_t card)
{
    uint8_t *p = (uint8_t *)s + 8;
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(card >> (8 * i));
}

void hll_cache_invalidate(void *s)
{
    ((uint8_t *)s)[15] |= 0x80;
}

/* ------------------------------------------------------------------------ */
/* Hashing                                                                   */
/* ------------------------------------------------------------------------ */

uint64_t hll_murmur64a(const void *key, int len, unsigned int seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    uint64_t h = seed ^ ((uint64_t)len * m);
    const uint8_t *data = key;
    const uint8_t *end = data + (len - (len & 7));
    while (data != end) {
        uint64_t k = 0;
        for (int i = 7; i >= 0; i--)
            k = (k << 8) | data[i];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
        data += 8;
    }
    switch (len & 7) {
    case 7: h ^= (uint64_t)data[6] << 48; /* fall through */
    case 6: h ^= (uint64_t)data[5] << 40; /* fall through */
    case 5: h ^= (uint64_t)data[4] << 32; /* fall through */
    case 4: h ^= (uint64_t)data[3] << 24; /* fall through */
    case 3: h ^= (uint64_t)data[2] << 16; /* fall through */
    case 2: h ^= (uint64_t)data[1] << 8;  /* fall through */
    case 1:
        h ^= (uint64_t)data[0];
        h *= m;
        break;
    default:
        break;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

int hll_pattern(const void *ele, size_t n, long *index)
{
    uint64_t hash = hll_murmur64a(ele, (int)n, 0xadc83b19U);
    *index = (long)(hash & (HLL_REGISTERS - 1));
    hash >>= HLL_P;
    hash |= (uint64_t)1 << HLL_Q; /* the run ends by bit Q at the latest */
    return __builtin_ctzll(hash) + 1;
}

/* ------------------------------------------------------------------------ */
/* Dense                                                                     */
/* ------------------------------------------------------------------------ */

/* Register i spans bits [6i, 6i + 6) of regs, low bits first. It reaches
 * into the next byte only when it starts at bit 4 or 6 of its first one,
 * so the last register (starting at bit 2) never reads past the end. */
unsigned hll_dense_get(const uint8_t *regs, long i)
{
    unsigned long byte = (unsigned long)i * HLL_BITS / 8;
    unsigned fb = (unsigned)((unsigned long)i * HLL_BITS & 7);
    unsigned v = regs[byte] >> fb;
    if (fb > 8 - HLL_BITS)
        v |= (unsigned)regs[byte + 1] << (8 - fb);
    return v & HLL_REGISTER_MAX;
}

void hll_dense_set(uint8_t *regs, long i, unsigned val)
{
    unsigned long byte = (unsigned long)i * HLL_BITS / 8;
    unsigned fb = (unsigned)((unsigned long)i * HLL_BITS & 7);
    regs[byte] = (uint8_t)((regs[byte] & ~(HLL_REGISTER_MAX << fb)) | (val << fb));
    if (fb > 8 - HLL_BITS) {
        unsigned fb8 = 8 - fb;
        regs[byte + 1] =
            (uint8_t)((regs[byte + 1] & ~(HLL_REGISTER_MAX >> fb8)) | (val >> fb8));
    }
}

static int dense_set(uint8_t *regs, long index, unsigned count)
{
    if (count <= hll_dense_get(regs, index))
        return 0;
    hll_dense_set(regs, index, count);
    return 1;
}

int hll_dense_add(uint8_t *hll, const void *ele, size_t n)
{
    long index;
    int count = hll_pattern(ele, n, &index);
    return dense_set(hll + HLL_HDR_SIZE, index, (unsigned)count);
}

/* Histogram of the register values of a dense value. */
static void dense_histo(const uint8_t *regs, int64_t *histo)
{
    for (long i = 0; i < HLL_REGISTERS; i++)
        histo[hll_dense_get(regs, i)]++;
}

/* ------------------------------------------------------------------------ */
/* Sparse                                                                    */
/* ------------------------------------------------------------------------ */

int hll_to_dense(hll_buf *b)
{
    if (b->p[4] == HLL_DENSE)
        return 0;
    hll_buf d = {NULL, 0, 0};
    buf_setlen(&d, HLL_DENSE_SIZE);
    memcpy(d.p, b->p, HLL_HDR_SIZE);
    d.p[4] = HLL_DENSE;
    uint8_t *regs = d.p + HLL_HDR_SIZE;
    const uint8_t *p = b->p + HLL_HDR_SIZE, *end = b->p + b->len;
    int64_t idx = 0;
    while (p < end) {
        if (SP_IS_ZERO(p)) {
            idx += SP_ZERO_LEN(p);
            p++;
        } else if (SP_IS_XZERO(p)) {
            idx += sp_xzero_len(p, end);
            p += 2;
        } else {
            long runlen = SP_VAL_LEN(p);
            unsigned val = SP_VAL_VALUE(p);
            if (runlen + idx > HLL_REGISTERS) {
                idx = -1; /* would overflow: malformed */
                break;
            }
            while (runlen--)
                hll_dense_set(regs, (long)idx++, val);
            p++;
        }
        if (idx > HLL_REGISTERS)
            break; /* malformed already; Redis finds out at the end too */
    }
    if (idx != HLL_REGISTERS) {
        hll_buf_free(&d);
        return -1;
    }
    hll_buf_free(b);
    *b = d;
    return 0;
}

/* After a sparse update: merge equal adjacent VAL opcodes, scanning up to
 * five opcodes from prev (or from the first). */
static void sparse_merge(hll_buf *b, uint8_t *from)
{
    uint8_t *p = from, *end = b->p + b->len;
    int scan = 5;
    while (p < end && scan--) {
        if (SP_IS_XZERO(p)) {
            p += 2;
            continue;
        }
        if (SP_IS_ZERO(p)) {
            p++;
            continue;
        }
        if (p + 1 < end && SP_IS_VAL(p + 1)) {
            unsigned v1 = SP_VAL_VALUE(p), v2 = SP_VAL_VALUE(p + 1);
            unsigned len = SP_VAL_LEN(p) + SP_VAL_LEN(p + 1);
            if (v1 == v2 && len <= SP_VAL_MAX_LEN) {
                sp_val_set(p + 1, v1, len);
                /* Redis moves end - p bytes: the terminator comes along. */
                memmove(p, p + 1, (size_t)(end - p));
                b->len--;
                end--;
                continue;
            }
        }
        p++;
    }
}

/* The opcodes replacing the one at p (covering registers [first, last],
 * of kind zero/xzero/val) once register index is set to count. */
static int sparse_split(uint8_t *seq, const uint8_t *p, int is_val, long first, long last,
                        long index, unsigned count)
{
    uint8_t *n = seq;
    if (!is_val) {
        if (index != first) {
            long len = index - first;
            if (len > SP_ZERO_MAX_LEN) {
                sp_xzero_set(n, (unsigned)len);
                n += 2;
            } else {
                sp_zero_set(n++, (unsigned)len);
            }
        }
        sp_val_set(n++, count, 1);
        if (index != last) {
            long len = last - index;
            if (len > SP_ZERO_MAX_LEN) {
                sp_xzero_set(n, (unsigned)len);
                n += 2;
            } else {
                sp_zero_set(n++, (unsigned)len);
            }
        }
    } else {
        unsigned cur = SP_VAL_VALUE(p);
        if (index != first)
            sp_val_set(n++, cur, (unsigned)(index - first));
        sp_val_set(n++, count, 1);
        if (index != last)
            sp_val_set(n++, cur, (unsigned)(last - index));
    }
    return (int)(n - seq);
}

/* Redis's hllSparseSet: 1 if the register grew, 0 if not, -1 on a
 * malformed body. May convert b to dense. */
static int sparse_set(hll_buf *b, long index, unsigned count, size_t sparse_max)
{
    if (count > HLL_SPARSE_VAL_MAX_VALUE)
        goto promote;
    buf_reserve(b, b->len + 3); /* an XZERO may become XZERO-VAL-XZERO */
    uint8_t *sparse = b->p + HLL_HDR_SIZE, *p = sparse, *end = b->p + b->len;
    uint8_t *prev = NULL;
    long first = 0, span = 0;
    while (p < end) {
        long oplen = 1;
        if (SP_IS_ZERO(p)) {
            span = SP_ZERO_LEN(p);
        } else if (SP_IS_VAL(p)) {
            span = SP_VAL_LEN(p);
        } else {
            span = sp_xzero_len(p, end);
            oplen = 2;
        }
        if (index <= first + span - 1)
            break;
        prev = p;
        p += oplen;
        first += span;
    }
    if (span == 0 || p >= end)
        return -1;
    int is_xzero = SP_IS_XZERO(p), is_val = SP_IS_VAL(p) != 0, is_zero = SP_IS_ZERO(p);
    uint8_t *next = p + (is_xzero ? 2 : 1);
    if (next >= end)
        next = NULL;
    long runlen = is_zero ? SP_ZERO_LEN(p) : is_xzero ? sp_xzero_len(p, end) : SP_VAL_LEN(p);
    if (is_val) {
        if ((unsigned)SP_VAL_VALUE(p) >= count)
            return 0;
        if (runlen == 1) {
            sp_val_set(p, count, 1);
            goto updated;
        }
    }
    if (is_zero && runlen == 1) {
        sp_val_set(p, count, 1);
        goto updated;
    }
    uint8_t seq[5];
    int seqlen = sparse_split(seq, p, is_val, first, first + span - 1, index, count);
    int deltalen = seqlen - (is_xzero ? 2 : 1);
    if (deltalen > 0 && b->len + (size_t)deltalen > sparse_max)
        goto promote;
    if (deltalen && next)
        memmove(next + deltalen, next, (size_t)(end - next));
    /* The opcode at p may be an XZERO cut short at the very end: as in
     * Redis, its replacement is written whole and the value ends where
     * the length says (the room reserved above holds the rest). */
    b->len = (size_t)((long)b->len + deltalen);
    memcpy(p, seq, (size_t)seqlen);
updated:
    sparse_merge(b, prev ? prev : sparse);
    memset(b->p + b->len, 0, b->cap - b->len);
    hll_cache_invalidate(b->p);
    return 1;
promote:
    if (hll_to_dense(b) < 0)
        return -1;
    return dense_set(b->p + HLL_HDR_SIZE, index, count);
}

int hll_set(hll_buf *b, long index, unsigned count, size_t sparse_max)
{
    switch (b->p[4]) {
    case HLL_DENSE:
        return dense_set(b->p + HLL_HDR_SIZE, index, count);
    case HLL_SPARSE:
        return sparse_set(b, index, count, sparse_max);
    default:
        return -1;
    }
}

int hll_add(hll_buf *b, const void *ele, size_t n, size_t sparse_max)
{
    long index;
    int count = hll_pattern(ele, n, &index);
    return hll_set(b, index, (unsigned)count, sparse_max);
}

/* Histogram of a sparse body; *invalid set unless it covers exactly
 * HLL_REGISTERS registers. */
static void sparse_histo(const uint8_t *p, const uint8_t *end, int64_t *histo, int *invalid)
{
    int64_t idx = 0;
    while (p < end && idx <= HLL_REGISTERS) {
        long runlen;
        if (SP_IS_ZERO(p)) {
            runlen = SP_ZERO_LEN(p);
            histo[0] += runlen;
            p++;
        } else if (SP_IS_XZERO(p)) {
            runlen = sp_xzero_len(p, end);
            histo[0] += runlen;
            p += 2;
        } else {
            runlen = SP_VAL_LEN(p);
            histo[SP_VAL_VALUE(p)] += runlen;
            p++;
        }
        idx += runlen;
    }
    if (idx != HLL_REGISTERS && invalid)
        *invalid = 1;
}

int hll_merge(uint8_t *max, const void *s, size_t len)
{
    const uint8_t *hll = s;
    if (hll[4] == HLL_DENSE) {
        const uint8_t *regs = hll + HLL_HDR_SIZE;
        for (long i = 0; i < HLL_REGISTERS; i++) {
            unsigned v = hll_dense_get(regs, i);
            if (v > max[i])
                max[i] = (uint8_t)v;
        }
        return 0;
    }
    const uint8_t *p = hll + HLL_HDR_SIZE, *end = hll + len;
    int64_t i = 0;
    while (p < end && i <= HLL_REGISTERS) {
        if (SP_IS_ZERO(p)) {
            i += SP_ZERO_LEN(p);
            p++;
        } else if (SP_IS_XZERO(p)) {
            i += sp_xzero_len(p, end);
            p += 2;
        } else {
            long runlen = SP_VAL_LEN(p);
            unsigned val = SP_VAL_VALUE(p);
            if (runlen + i > HLL_REGISTERS)
                return -1; /* would overflow: malformed */
            while (runlen--) {
                if (val > max[i])
                    max[i] = (uint8_t)val;
                i++;
            }
            p++;
        }
    }
    return i == HLL_REGISTERS ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* The estimator (Otmar Ertl, "New cardinality estimation algorithms for    */
/* HyperLogLog sketches", arXiv:1702.01284), in Redis's operation order so  */
/* the doubles round the same way                                            */
/* ------------------------------------------------------------------------ */

static double hll_sigma(double x)
{
    if (x == 1.)
        return INFINITY;
    double zp, y = 1, z = x;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (zp != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0. || x == 1.)
        return 0.;
    double zp, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (zp != z);
    return z / 3;
}

static uint64_t estimate(const int64_t *histo)
{
    double m = HLL_REGISTERS;
    double z = m * hll_tau((m - (double)histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; --j) {
        z += (double)histo[j];
        z *= 0.5;
    }
    z += m * hll_sigma((double)histo[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

uint64_t hll_count(const void *s, size_t len, int *invalid)
{
    const uint8_t *hll = s;
    int64_t histo[64] = {0};
    if (hll[4] == HLL_DENSE)
        dense_histo(hll + HLL_HDR_SIZE, histo);
    else
        sparse_histo(hll + HLL_HDR_SIZE, hll + len, histo, invalid);
    return estimate(histo);
}

uint64_t hll_count_raw(const uint8_t *regs)
{
    int64_t histo[256] = {0};
    for (long i = 0; i < HLL_REGISTERS; i++)
        histo[regs[i]]++;
    return estimate(histo);
}

/* ------------------------------------------------------------------------ */
/* PFDEBUG DECODE                                                            */
/* ------------------------------------------------------------------------ */

int hll_decode(const void *s, size_t len, kbuf *out, size_t limit)
{
    const uint8_t *p = (const uint8_t *)s + HLL_HDR_SIZE, *end = (const uint8_t *)s + len;
    size_t start = kbuf_len(out);
    while (p < end) {
        if (kbuf_len(out) - start > limit)
            return -1;
        if (SP_IS_ZERO(p)) {
            kbuf_printf(out, "z:%d ", (int)SP_ZERO_LEN(p));
            p++;
        } else if (SP_IS_XZERO(p)) {
            kbuf_printf(out, "Z:%d ", (int)sp_xzero_len(p, end));
            p += 2;
        } else {
            kbuf_printf(out, "v:%d,%d ", (int)SP_VAL_VALUE(p), (int)SP_VAL_LEN(p));
            p++;
        }
    }
    /* sdstrim(" "): the last separator goes. */
    if (kbuf_len(out) > start)
        kbuf_truncate(out, kbuf_len(out) - 1);
    return 0;
}
