/* buf.c — the growable byte buffer and the decimal integer codec (see buf.h).
 *
 * Must never: hand out a pointer that a later consume invalidates (consume
 * only moves `off`), or move more bytes when reclaiming the consumed front
 * than were consumed since the last move. */
#include "buf.h"

#include "err.h"
#include "mem.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Below this a buffer doubles; above it grows by half, so a 500 MB bulk
 * costs O(n) copying without reserving 2x its size. */
#define KBUF_DOUBLE_LIMIT ((size_t)1 << 20)
#define KBUF_MIN_ALLOC 64

/* ---- the buffer ---- */

void kbuf_init(kbuf *b)
{
    b->ptr = NULL;
    b->off = b->len = b->cap = 0;
}

void kbuf_free(kbuf *b)
{
    if (!b)
        return;
    kv_free(b->ptr);
    kbuf_init(b);
}

void kbuf_reset(kbuf *b)
{
    b->off = b->len = 0;
}

static void kbuf_overflow(void)
{
    fprintf(stderr, "kvnode: kbuf size overflow\n");
    fflush(stderr);
    kv_abort();
}

static size_t grow_target(size_t cap, size_t need)
{
    size_t n = cap > KBUF_MIN_ALLOC ? cap : KBUF_MIN_ALLOC;
    while (n < need) {
        size_t next = n < KBUF_DOUBLE_LIMIT ? n * 2 : n + n / 2;
        if (next <= n)
            return need;
        n = next;
    }
    return n;
}

void kbuf_compact(kbuf *b)
{
    if (b->off == 0)
        return;
    if (b->len)
        memmove(b->ptr, b->ptr + b->off, b->len);
    b->off = 0;
}

/* Move the data into an allocation of ncap bytes (ncap >= len). */
static void relocate(kbuf *b, size_t ncap)
{
    if (b->off == 0) {
        b->ptr = kv_realloc(b->ptr, ncap);
    } else {
        /* Copy only the live bytes, not the consumed front. */
        char *np = kv_malloc(ncap);
        if (b->len)
            memcpy(np, b->ptr + b->off, b->len);
        kv_free(b->ptr);
        b->ptr = np;
        b->off = 0;
    }
    b->cap = kv_usable(b->ptr);
}

/* The common start of both reserves: 0 if the room is there (perhaps
 * after reclaiming the consumed front), else the total size needed. */
static size_t room_needed(kbuf *b, size_t n)
{
    if (kbuf_avail(b) >= n)
        return 0;
    if (n > SIZE_MAX - b->len)
        kbuf_overflow();
    size_t need = b->len + n;
    /* Reclaim the consumed front when that alone makes room and costs no
     * more bytes moved than were consumed. */
    if (b->off >= b->len && need <= b->cap) {
        kbuf_compact(b);
        return 0;
    }
    return need;
}

void kbuf_reserve(kbuf *b, size_t n)
{
    size_t need = room_needed(b, n);
    if (!need)
        return;
    /* Otherwise grow geometrically even if compaction alone would fit:
     * copying the data then buys room in proportion to its size. */
    relocate(b, grow_target(b->cap, need > b->cap ? need : b->cap + 1));
}

void kbuf_reserve_exact(kbuf *b, size_t n)
{
    size_t need = room_needed(b, n);
    if (need)
        relocate(b, need);
}

void kbuf_commit(kbuf *b, size_t n)
{
    if (n > kbuf_avail(b))
        kbuf_overflow();
    b->len += n;
}

void kbuf_append(kbuf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    kbuf_reserve(b, n);
    memcpy(b->ptr + b->off + b->len, p, n);
    b->len += n;
}

void kbuf_append_str(kbuf *b, const char *s)
{
    kbuf_append(b, s, strlen(s));
}

void kbuf_putc(kbuf *b, char c)
{
    kbuf_reserve(b, 1);
    b->ptr[b->off + b->len++] = c;
}

void kbuf_vprintf(kbuf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    size_t avail = kbuf_avail(b);
    int n = vsnprintf(avail ? kbuf_tail(b) : NULL, avail, fmt, cp);
    va_end(cp);
    if (n < 0)
        kbuf_overflow(); /* only for a result longer than INT_MAX */
    if ((size_t)n >= avail) {
        kbuf_reserve(b, (size_t)n + 1);
        vsnprintf(kbuf_tail(b), (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

void kbuf_printf(kbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

void kbuf_append_i64(kbuf *b, int64_t v)
{
    kbuf_reserve(b, KV_I64_DIGITS + 1);
    b->len += kv_ll2string(kbuf_tail(b), KV_I64_DIGITS + 1, (long long)v);
}

void kbuf_append_u64(kbuf *b, uint64_t v)
{
    kbuf_reserve(b, KV_I64_DIGITS + 1);
    b->len += kv_ull2string(kbuf_tail(b), KV_I64_DIGITS + 1, (unsigned long long)v);
}

void kbuf_consume(kbuf *b, size_t n)
{
    if (n > b->len)
        kbuf_overflow();
    b->len -= n;
    b->off = b->len ? b->off + n : 0;
}

void kbuf_truncate(kbuf *b, size_t len)
{
    if (len > b->len)
        kbuf_overflow();
    b->len = len;
    if (len == 0)
        b->off = 0;
}

void kbuf_shrink(kbuf *b, size_t spare)
{
    if (b->len == 0 && spare == 0) {
        kbuf_free(b);
        return;
    }
    size_t want = b->len + spare < b->len ? b->len : b->len + spare;
    if (want >= b->cap)
        return;
    kbuf_compact(b);
    b->ptr = kv_realloc(b->ptr, want);
    b->cap = kv_usable(b->ptr);
}

/* ---- decimal integers ---- */

static const char digit_pairs[201] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static size_t digits10(unsigned long long v)
{
    size_t n = 1;
    while (v >= 10000) {
        v /= 10000;
        n += 4;
    }
    if (v >= 1000)
        return n + 3;
    if (v >= 100)
        return n + 2;
    if (v >= 10)
        return n + 1;
    return n;
}

size_t kv_ull2string(char *dst, size_t dstlen, unsigned long long v)
{
    size_t n = digits10(v);
    if (n >= dstlen) {
        if (dstlen)
            dst[0] = '\0';
        return 0;
    }
    dst[n] = '\0';
    size_t i = n - 1;
    while (v >= 100) {
        size_t k = (size_t)(v % 100) * 2;
        v /= 100;
        dst[i] = digit_pairs[k + 1];
        dst[i - 1] = digit_pairs[k];
        i -= 2;
    }
    if (v < 10) {
        dst[i] = (char)('0' + v);
    } else {
        size_t k = (size_t)v * 2;
        dst[i] = digit_pairs[k + 1];
        dst[i - 1] = digit_pairs[k];
    }
    return n;
}

size_t kv_ll2string(char *dst, size_t dstlen, long long v)
{
    if (v >= 0)
        return kv_ull2string(dst, dstlen, (unsigned long long)v);
    if (dstlen < 2) {
        if (dstlen)
            dst[0] = '\0';
        return 0;
    }
    /* -(v + 1) + 1 is |v| without overflowing on LLONG_MIN. */
    unsigned long long u = (unsigned long long)(-(v + 1)) + 1;
    size_t n = kv_ull2string(dst + 1, dstlen - 1, u);
    if (n == 0) {
        dst[0] = '\0';
        return 0;
    }
    dst[0] = '-';
    return n + 1;
}

int kv_string2ll(const char *s, size_t slen, long long *value)
{
    /* 21 bytes is LONG_STR_SIZE: anything that long is rejected outright. */
    if (slen == 0 || slen >= 21)
        return 0;
    if (slen == 1 && s[0] == '0') {
        if (value)
            *value = 0;
        return 1;
    }
    size_t i = 0;
    int negative = 0;
    if (s[0] == '-') {
        negative = 1;
        if (++i == slen)
            return 0;
    }
    if (s[i] < '1' || s[i] > '9')
        return 0;
    unsigned long long v = (unsigned long long)(s[i++] - '0');
    for (; i < slen; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > ULLONG_MAX / 10)
            return 0;
        v *= 10;
        if (v > ULLONG_MAX - d)
            return 0;
        v += d;
    }
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return 0;
        if (value)
            *value = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return 0;
        if (value)
            *value = (long long)v;
    }
    return 1;
}

void kbuf_append_repr(kbuf *b, const char *p, size_t n)
{
    kbuf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        switch (c) {
        case '\\':
        case '"':
            kbuf_putc(b, '\\');
            kbuf_putc(b, (char)c);
            break;
        case '\n':
            kbuf_append(b, "\\n", 2);
            break;
        case '\r':
            kbuf_append(b, "\\r", 2);
            break;
        case '\t':
            kbuf_append(b, "\\t", 2);
            break;
        case '\a':
            kbuf_append(b, "\\a", 2);
            break;
        case '\b':
            kbuf_append(b, "\\b", 2);
            break;
        default:
            if (isprint(c))
                kbuf_putc(b, (char)c);
            else
                kbuf_printf(b, "\\x%02x", c);
            break;
        }
    }
    kbuf_putc(b, '"');
}
