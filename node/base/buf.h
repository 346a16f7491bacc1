/* buf.h — kbuf, the growable byte buffer behind every client's query and
 * output buffer, and the decimal integer codec it and the RESP code share.
 *
 * A kbuf owns one allocation (through mem.h, so it counts toward
 * used_memory). Its data is the `len` bytes at ptr + off: bytes consumed
 * from the front only advance `off`, and the hole is reclaimed lazily —
 * by a memmove when the hole is at least as large as the data (so every
 * byte moved was paid for by a byte consumed), or when the buffer must grow
 * anyway. Consuming is O(1); appending is amortized O(n).
 *
 * Pointer validity: kbuf_data() and kbuf_tail() stay valid until the next
 * call that may add bytes (append, reserve, printf …), compact or free the
 * buffer. Consuming never moves data. A kbuf never shrinks by itself: the
 * owner decides when a large idle buffer should give memory back
 * (kbuf_shrink), as Redis's clientsCron resizes query buffers.
 *
 * A zeroed kbuf (KBUF_INIT, or kbuf_init) is a valid empty buffer that owns
 * nothing. Only the event-loop thread may use kbufs (mem.h's rule). */
#ifndef KV_BUF_H
#define KV_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kbuf {
    char *ptr;  /* allocation, or NULL when cap == 0 */
    size_t off; /* consumed bytes at the front, not yet reclaimed */
    size_t len; /* bytes of data, at ptr + off */
    size_t cap; /* bytes usable at ptr */
} kbuf;

#define KBUF_INIT {NULL, 0, 0, 0}

/* The largest digit count of a 64-bit integer in decimal, sign included. */
#define KV_I64_DIGITS 20

void kbuf_init(kbuf *b);
/* Release the allocation; the buffer is empty and reusable. NULL is fine. */
void kbuf_free(kbuf *b);
/* Drop all data but keep the allocation. */
void kbuf_reset(kbuf *b);

static inline char *kbuf_data(const kbuf *b)
{
    return b->ptr ? b->ptr + b->off : NULL;
}
static inline size_t kbuf_len(const kbuf *b)
{
    return b->len;
}
/* Bytes that can be appended without reallocating or moving data. */
static inline size_t kbuf_avail(const kbuf *b)
{
    return b->cap - b->off - b->len;
}

/* Make room for at least n more bytes after the data (kbuf_avail() >= n
 * afterwards). May move the data: pointers into the buffer are stale. */
void kbuf_reserve(kbuf *b, size_t n);
/* The same, but growing to exactly what is needed rather than
 * geometrically: for a known final size, such as a huge bulk argument
 * announced by its length (Redis's sdsMakeRoomForNonGreedy). */
void kbuf_reserve_exact(kbuf *b, size_t n);
/* Where the next appended byte goes; room for kbuf_avail() bytes. Use with
 * kbuf_reserve + read(2) + kbuf_commit. */
static inline char *kbuf_tail(const kbuf *b)
{
    return b->ptr ? b->ptr + b->off + b->len : NULL;
}
/* Declare n bytes written at kbuf_tail() part of the data. n must not
 * exceed kbuf_avail(). */
void kbuf_commit(kbuf *b, size_t n);

void kbuf_append(kbuf *b, const void *p, size_t n);
void kbuf_append_str(kbuf *b, const char *s);
void kbuf_putc(kbuf *b, char c);
void kbuf_printf(kbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* p[0..n) quoted with C escapes, as Redis's sdscatrepr ("a\\n\\x01"):
 * MONITOR lines, the Lua debugger's values. */
void kbuf_append_repr(kbuf *b, const char *p, size_t n);
void kbuf_vprintf(kbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Decimal without going through printf. */
void kbuf_append_i64(kbuf *b, int64_t v);
void kbuf_append_u64(kbuf *b, uint64_t v);

/* Drop n bytes from the front (n <= kbuf_len). O(1): data does not move. */
void kbuf_consume(kbuf *b, size_t n);
/* Drop bytes from the end so that len bytes remain (len <= kbuf_len). */
void kbuf_truncate(kbuf *b, size_t len);
/* Move the data to the front of the allocation (off becomes 0). */
void kbuf_compact(kbuf *b);
/* Give memory back: reallocate to fit the data plus `spare` bytes, if that
 * saves anything. An empty buffer with spare 0 frees its allocation. */
void kbuf_shrink(kbuf *b, size_t spare);

/* ---- decimal integers (Redis util.c semantics) ----
 *
 * kv_ll2string / kv_ull2string write the decimal form and a NUL into dst
 * and return its length, or 0 (dst[0] = NUL when dstlen > 0) if dstlen is
 * too small for digits + NUL — as Redis's ll2string. */
size_t kv_ll2string(char *dst, size_t dstlen, long long v);
size_t kv_ull2string(char *dst, size_t dstlen, unsigned long long v);

/* Parse exactly slen bytes as a long long, as Redis's string2ll: only the
 * canonical form is accepted — an optional '-' then digits without leading
 * zeros ("0" alone is fine, "-0", "+1", " 1", "01", "1 " are not), shorter
 * than 21 bytes, in range. Returns 1 and sets *value (if not NULL), or 0. */
int kv_string2ll(const char *s, size_t slen, long long *value);

#endif
