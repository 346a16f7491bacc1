/* tlist.c — the list value type (see tlist.h).
 *
 * Two encodings; OBJECT ENCODING says "quicklist" for both, as Redis 7.0.
 *
 * PACKED, while the whole list would fit in one quicklist node under
 * list-max-listpack-size (packed_fits): one buffer of entries
 *
 *     [varint n][n bytes][backlen]
 *
 * varint is LEB128 (one byte below 128); backlen is the size of varint +
 * bytes, written so it reads from its last byte backwards (that byte holds
 * the low 7 bits, 0x80 on a byte means another precedes), so the buffer
 * walks from either end, like Redis's listpack. A 10-byte element costs
 * 12 bytes. The buffer is sized to what it holds (see pk_splice). Lookups walk from the nearest of the head, the tail
 * and a cursor (cidx, coff: where the element last looked up or modified
 * starts), so sequential access in either direction (LRANGE, LPOS, reverse
 * ranges, SORT) is O(1) per element and any lookup O(buffer), as in Redis.
 * The cursor is a cache, not state: list_get updates it through a const
 * pointer (only the event-loop thread touches a list).
 *
 * RING, past that: a ring buffer of `cap` slots (a power of two, or 0)
 * holding pointers to elements; element i lives in slot
 * (head + i) & (cap - 1). Each element is one allocation: a varint length
 * followed by the bytes. The ring doubles when full and halves when less
 * than a quarter is used; inserting or removing in the middle moves
 * whichever side is shorter. Its state lives in its own allocation, so a
 * small list's header stays small.
 *
 * Conversions: PACKED -> RING when a push, insert or set would take the
 * list past the limit; RING -> PACKED when removals bring it within half of
 * it (so a list at the boundary does not flip at every push and pop, as
 * Redis 7.2's listTypeTryConvertQuicklist) or empty it. The ring tracks
 * what its elements would take packed, so the check is O(1).
 *
 * list_mem is O(1): a packed list is its header + buffer; a ring counts
 * its slot array and every element in `bytes`. */
#include "tlist.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "mem.h"

#define LIST_MIN_CAP 4

int list_max_listpack_size = -2;
size_t list_packed_threshold = (size_t)1 << 30;
int list_compress_depth = 0;


typedef struct ring {
    unsigned char **slot;
    size_t len;
    size_t cap;    /* 0 or a power of two */
    size_t head;   /* slot of element 0 */
    size_t bytes;  /* usable bytes of the slot array and every element */
    size_t packed; /* bytes the elements would take as PACKED entries */
} ring;

/* 24 bytes: a small list is this header and its buffer. */
struct kv_list {
    union {
        unsigned char *buf; /* PACKED: the entries, NULL when empty */
        ring *r;            /* RING */
    } u;
    uint32_t len;  /* PACKED: elements (RING: r->len) */
    uint32_t used; /* PACKED: bytes in use (at most 64 KB); RING_MARK: a ring */
    uint32_t cidx; /* PACKED cursor: element cidx (<= len) starts at byte coff */
    uint32_t coff;
};

_Static_assert(sizeof(kv_list) == 24, "a small list's header stays 24 bytes");

#define RING_MARK UINT32_MAX

static inline int is_ring(const kv_list *l)
{
    return l->used == RING_MARK;
}

/* ---- Limits ---- */

/* Would `count` elements taking `bytes` as PACKED entries fit in one
 * quicklist node? Redis 7.0's _quicklistNodeAllowInsert: a negative fill
 * is a size limit of 4 KB << (-fill - 1) (at most 64 KB, fill below -5
 * counts as -5); a positive one a count limit (at most 32768; 0 holds one
 * element, as Redis's node->count < fill) within the 8 KB safety limit. */
static int packed_fits(size_t bytes, size_t count)
{
    int fill = list_max_listpack_size;
    if (fill < 0) {
        int level = fill < -5 ? 4 : -fill - 1;
        return bytes <= ((size_t)4096 << level);
    }
    size_t maxc = fill > 32768 ? 32768 : fill == 0 ? 1 : (size_t)fill;
    return bytes <= 8192 && count <= maxc;
}

/* ---- Varints and entries ---- */

static size_t varint_len(size_t n)
{
    size_t k = 1;
    while (n >= 0x80) {
        n >>= 7;
        k++;
    }
    return k;
}

static unsigned char *varint_put(unsigned char *p, size_t n)
{
    while (n >= 0x80) {
        *p++ = (unsigned char)(n | 0x80);
        n >>= 7;
    }
    *p++ = (unsigned char)n;
    return p;
}

static const unsigned char *varint_get(const unsigned char *p, size_t *n)
{
    size_t v = 0;
    int shift = 0;
    for (;; p++, shift += 7) {
        v |= (size_t)(*p & 0x7f) << shift;
        if (!(*p & 0x80))
            break;
    }
    *n = v;
    return p + 1;
}

/* Bytes a PACKED entry of an n-byte element takes. */
static size_t entry_size(size_t n)
{
    size_t h = varint_len(n) + n;
    return h + varint_len(h);
}

/* Write the entry for (p, n) at e; returns the byte after it. */
static unsigned char *entry_put(unsigned char *e, const void *p, size_t n)
{
    unsigned char *q = varint_put(e, n);
    if (n)
        memcpy(q, p, n);
    q += n;
    size_t h = (size_t)(q - e), k = varint_len(h);
    for (size_t i = 0; i < k; i++, h >>= 7)
        q[k - 1 - i] = (unsigned char)((h & 0x7f) | (i + 1 < k ? 0x80 : 0));
    return q + k;
}

/* The element at offset off: its bytes, and the offset of the next entry. */
static size_t entry_view(const unsigned char *b, size_t off, const char **p, size_t *n)
{
    const unsigned char *q = varint_get(b + off, n);
    *p = (const char *)q;
    size_t h = (size_t)(q - (b + off)) + *n;
    return off + h + varint_len(h);
}

static size_t entry_next(const unsigned char *b, size_t off)
{
    const char *p;
    size_t n;
    return entry_view(b, off, &p, &n);
}

/* The offset of the entry that ends at `end` (end > 0). */
static size_t entry_prev(const unsigned char *b, size_t end)
{
    size_t h = 0, q = end;
    int shift = 0;
    do {
        q--;
        h |= (size_t)(b[q] & 0x7f) << shift;
        shift += 7;
    } while (b[q] & 0x80);
    return q - h;
}

/* ---- PACKED ---- */

/* Offset of element idx (0 <= idx <= len; len gives `used`), walking from
 * the nearest of the head, the cursor and the tail; the cursor moves
 * there. */
static size_t pk_seek(const kv_list *cl, size_t idx)
{
    kv_list *l = (kv_list *)cl; /* the cursor is a cache, see above */
    if (idx == l->cidx)
        return l->coff;
    size_t i, off;
    size_t dcur = idx > l->cidx ? idx - l->cidx : l->cidx - idx;
    if (idx <= dcur && idx <= l->len - idx) {
        i = 0;
        off = 0;
    } else if (l->len - idx < dcur) {
        i = l->len;
        off = l->used;
    } else {
        i = l->cidx;
        off = l->coff;
    }
    for (; i < idx; i++)
        off = entry_next(l->u.buf, off);
    for (; i > idx; i--)
        off = entry_prev(l->u.buf, off);
    l->cidx = (uint32_t)idx;
    l->coff = (uint32_t)off;
    return off;
}

/* Resize the byte range [at, at + oldn) to newn bytes, moving the tail;
 * returns where the range now starts. The buffer holds exactly what is
 * used (plus allocator rounding) and is freed when empty. */
static unsigned char *pk_splice(kv_list *l, size_t at, size_t oldn, size_t newn)
{
    size_t used = l->used, tail = used - at - oldn, nused = used - oldn + newn;
    if (nused > kv_usable(l->u.buf))
        l->u.buf = kv_realloc(l->u.buf, nused > 256 ? nused + nused / 8 : nused);
    if (newn != oldn && tail)
        memmove(l->u.buf + at + newn, l->u.buf + at + oldn, tail);
    l->used = (uint32_t)nused;
    if (nused == 0) {
        kv_free(l->u.buf);
        l->u.buf = NULL;
    } else if (kv_usable(l->u.buf) > nused + nused / 4 + 32) {
        l->u.buf = kv_realloc(l->u.buf, nused);
    }
    return l->u.buf + at;
}

static void pk_insert(kv_list *l, size_t idx, const void *p, size_t n)
{
    size_t at = pk_seek(l, idx);
    entry_put(pk_splice(l, at, 0, entry_size(n)), p, n);
    l->len++;
}

static void pk_set(kv_list *l, size_t idx, const void *p, size_t n)
{
    size_t at = pk_seek(l, idx);
    size_t oldn = entry_next(l->u.buf, at) - at;
    entry_put(pk_splice(l, at, oldn, entry_size(n)), p, n);
}

static void pk_remove(kv_list *l, size_t idx, size_t count)
{
    size_t at = pk_seek(l, idx), end = pk_seek(l, idx + count);
    pk_splice(l, at, end - at, 0);
    l->len -= (uint32_t)count;
    l->cidx = (uint32_t)idx;
    l->coff = (uint32_t)at;
}

/* ---- RING ---- */

/* A ring element: a varint length, then the bytes. */
static unsigned char *elem_new(ring *r, const void *p, size_t n)
{
    unsigned char *e = kv_malloc(varint_len(n) + n);
    unsigned char *q = varint_put(e, n);
    if (n)
        memcpy(q, p, n);
    r->bytes += kv_usable(e);
    r->packed += entry_size(n);
    return e;
}

static const char *elem_view(const unsigned char *e, size_t *n)
{
    return (const char *)varint_get(e, n);
}

static void elem_free(ring *r, unsigned char *e)
{
    size_t n;
    elem_view(e, &n);
    r->packed -= entry_size(n);
    r->bytes -= kv_usable(e);
    kv_free(e);
}

static inline size_t pos(const kv_list *l, size_t idx)
{
    return (l->u.r->head + idx) & (l->u.r->cap - 1);
}

/* Copy the elements into a new ring of newcap slots, element 0 first. */
static void ring_resize(kv_list *l, size_t newcap)
{
    ring *r = l->u.r;
    unsigned char **s = kv_malloc(newcap * sizeof *s);
    for (size_t i = 0; i < l->u.r->len; i++)
        s[i] = r->slot[pos(l, i)];
    r->bytes -= kv_usable(r->slot);
    kv_free(r->slot);
    r->slot = s;
    r->bytes += kv_usable(s);
    r->cap = newcap;
    r->head = 0;
}

static void ring_grow_if_full(kv_list *l)
{
    if (l->u.r->len == l->u.r->cap)
        ring_resize(l, l->u.r->cap ? l->u.r->cap * 2 : LIST_MIN_CAP);
}

static void ring_shrink_if_sparse(kv_list *l)
{
    size_t cap = l->u.r->cap;
    while (cap > LIST_MIN_CAP && l->u.r->len < cap / 4)
        cap /= 2;
    if (cap != l->u.r->cap)
        ring_resize(l, cap);
}

/* Move the `count` pointers at element indexes [from, from + count) to
 * [to, to + count). Indexes are relative to head and stay below cap. */
static void ring_move(kv_list *l, size_t from, size_t to, size_t count)
{
    ring *r = l->u.r;
    size_t mask = r->cap - 1;
    if (to < from) {
        /* Toward the front: copy first to last. */
        for (size_t i = 0; i < count; i++)
            r->slot[(r->head + to + i) & mask] = r->slot[(r->head + from + i) & mask];
    } else {
        for (size_t i = count; i-- > 0;)
            r->slot[(r->head + to + i) & mask] = r->slot[(r->head + from + i) & mask];
    }
}

static void ring_insert(kv_list *l, size_t idx, const void *p, size_t n)
{
    ring *r = l->u.r;
    unsigned char *e = elem_new(r, p, n);
    ring_grow_if_full(l);
    if (idx < l->u.r->len - idx) {
        /* Shift elements [0, idx) one slot toward the front. */
        r->head = (r->head - 1) & (r->cap - 1);
        ring_move(l, 1, 0, idx);
    } else {
        /* Shift elements [idx, len) one slot toward the back. */
        ring_move(l, idx, idx + 1, l->u.r->len - idx);
    }
    r->slot[pos(l, idx)] = e;
    l->u.r->len++;
}

static void ring_remove(kv_list *l, size_t idx, size_t count)
{
    ring *r = l->u.r;
    for (size_t i = 0; i < count; i++)
        elem_free(r, r->slot[pos(l, idx + i)]);
    size_t after = l->u.r->len - idx - count;
    if (idx < after) {
        /* Close the gap from the front: [0, idx) moves back by count. */
        ring_move(l, 0, count, idx);
        r->head = (r->head + count) & (r->cap - 1);
    } else {
        ring_move(l, idx + count, idx, after);
    }
    l->u.r->len -= count;
}

/* ---- Conversions ---- */

static void to_ring(kv_list *l)
{
    ring *r = kv_calloc(1, sizeof *r);
    size_t cap = LIST_MIN_CAP;
    while (cap < l->len + 1)
        cap *= 2;
    r->cap = cap;
    r->slot = kv_malloc(cap * sizeof *r->slot);
    r->bytes = kv_usable(r->slot);
    size_t off = 0;
    for (size_t i = 0; i < l->len; i++) {
        const char *p;
        size_t n;
        off = entry_view(l->u.buf, off, &p, &n);
        r->slot[i] = elem_new(r, p, n);
    }
    r->len = l->len;
    kv_free(l->u.buf);
    l->u.r = r;
    l->len = l->cidx = l->coff = 0;
    l->used = RING_MARK;
}

static void to_packed(kv_list *l)
{
    ring *r = l->u.r;
    unsigned char *buf = r->packed ? kv_malloc(r->packed) : NULL, *q = buf;
    for (size_t i = 0; i < r->len; i++) {
        size_t n;
        const char *p = elem_view(r->slot[pos(l, i)], &n);
        q = entry_put(q, p, n);
    }
    size_t used = r->packed, len = r->len;
    for (size_t i = 0; i < len; i++)
        kv_free(r->slot[pos(l, i)]);
    kv_free(r->slot);
    kv_free(r);
    l->u.buf = buf;
    l->len = (uint32_t)len;
    l->used = (uint32_t)used;
    l->cidx = l->coff = 0;
}

/* After removals from a ring: back to PACKED once within half the limit. */
static void ring_after_remove(kv_list *l)
{
    if (l->u.r->len == 0 || packed_fits(l->u.r->packed * 2, l->u.r->len * 2))
        to_packed(l);
    else
        ring_shrink_if_sparse(l);
}

/* Does [p, p + n) overlap a PACKED list's buffer? */
static int in_buffer(const kv_list *l, const void *p, size_t n)
{
    const unsigned char *b = l->u.buf, *q = p;
    return !is_ring(l) && b && n && q < b + l->used && q + n > b;
}

/* ---- API ---- */

kv_list *list_new(void)
{
    return kv_calloc(1, sizeof(kv_list));
}

void list_free(kv_list *l)
{
    if (!l)
        return;
    if (!is_ring(l)) {
        kv_free(l->u.buf);
    } else {
        for (size_t i = 0; i < l->u.r->len; i++)
            kv_free(l->u.r->slot[pos(l, i)]);
        kv_free(l->u.r->slot);
        kv_free(l->u.r);
    }
    kv_free(l);
}

size_t list_len(const kv_list *l)
{
    return is_ring(l) ? l->u.r->len : l->len;
}

size_t list_mem(const kv_list *l)
{
    if (!is_ring(l))
        return kv_usable(l) + kv_usable(l->u.buf);
    return kv_usable(l) + kv_usable(l->u.r) + l->u.r->bytes;
}

int list_compact(const kv_list *l)
{
    return !is_ring(l);
}

void list_push(kv_list *l, int where, const void *p, size_t n)
{
    if (!is_ring(l)) {
        list_insert(l, where == LIST_HEAD ? 0 : l->len, p, n);
        return;
    }
    ring *r = l->u.r;
    unsigned char *e = elem_new(r, p, n);
    ring_grow_if_full(l);
    if (where == LIST_HEAD) {
        r->head = (r->head - 1) & (r->cap - 1);
        r->slot[r->head] = e;
    } else {
        r->slot[pos(l, r->len)] = e;
    }
    r->len++;
}

void list_get(const kv_list *l, size_t idx, const char **p, size_t *n)
{
    assert(idx < list_len(l));
    if (!is_ring(l))
        entry_view(l->u.buf, pk_seek(l, idx), p, n);
    else
        *p = elem_view(l->u.r->slot[pos(l, idx)], n);
}

void list_set(kv_list *l, size_t idx, const void *p, size_t n)
{
    assert(idx < list_len(l));
    if (in_buffer(l, p, n)) {
        /* A view into this list: the buffer moves under the splice. */
        char *c = kv_memdup(p, n);
        list_set(l, idx, c, n);
        kv_free(c);
        return;
    }
    if (!is_ring(l)) {
        size_t at = pk_seek(l, idx);
        size_t oldn = entry_next(l->u.buf, at) - at;
        if (packed_fits(l->used - oldn + entry_size(n), l->len)) {
            pk_set(l, idx, p, n);
            return;
        }
        to_ring(l);
    }
    ring *r = l->u.r;
    size_t at = pos(l, idx);
    /* p may point into the element being replaced: copy before freeing. */
    unsigned char *e = elem_new(r, p, n);
    elem_free(r, r->slot[at]);
    r->slot[at] = e;
}

void list_insert(kv_list *l, size_t idx, const void *p, size_t n)
{
    assert(idx <= list_len(l));
    if (in_buffer(l, p, n)) {
        char *c = kv_memdup(p, n);
        list_insert(l, idx, c, n);
        kv_free(c);
        return;
    }
    if (!is_ring(l)) {
        if (packed_fits(l->used + entry_size(n), l->len + 1)) {
            pk_insert(l, idx, p, n);
            return;
        }
        to_ring(l);
    }
    ring_insert(l, idx, p, n);
}

void list_remove(kv_list *l, size_t idx, size_t count)
{
    assert(idx <= list_len(l) && count <= list_len(l) - idx);
    if (count == 0)
        return;
    if (!is_ring(l)) {
        pk_remove(l, idx, count);
        return;
    }
    ring_remove(l, idx, count);
    ring_after_remove(l);
}

static int bytes_equal(const char *a, size_t an, const void *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* PACKED: one forward pass that slides survivors toward the head. From the
 * tail with a limit, the matches to keep are the first (matches - limit),
 * counted first. */
static size_t pk_remove_equal(kv_list *l, const void *p, size_t n, size_t limit, int from)
{
    const char *e;
    size_t en, skip = 0, removed = 0;
    if (limit && from == LIST_TAIL) {
        size_t matches = 0;
        for (size_t off = 0; off < l->used;) {
            off = entry_view(l->u.buf, off, &e, &en);
            matches += bytes_equal(e, en, p, n);
        }
        skip = matches > limit ? matches - limit : 0;
    }
    size_t w = 0, len = l->len;
    for (size_t r = 0; r < l->used;) {
        size_t next = entry_view(l->u.buf, r, &e, &en);
        if ((!limit || removed < limit) && bytes_equal(e, en, p, n)) {
            if (skip) {
                skip--;
            } else {
                removed++;
                len--;
                r = next;
                continue;
            }
        }
        if (w != r)
            memmove(l->u.buf + w, l->u.buf + r, next - r);
        w += next - r;
        r = next;
    }
    if (removed) {
        l->len = (uint32_t)len;
        pk_splice(l, w, l->used - w, 0);
    }
    l->cidx = l->coff = 0;
    return removed;
}

size_t list_remove_equal(kv_list *l, const void *p, size_t n, size_t limit, int from)
{
    if (!is_ring(l))
        return pk_remove_equal(l, p, n, limit, from);
    ring *r = l->u.r;
    size_t removed = 0, len = r->len;
    if (from == LIST_HEAD) {
        /* Survivors slide toward the head: w trails rd. */
        size_t w = 0;
        for (size_t rd = 0; rd < len; rd++) {
            unsigned char *e = r->slot[pos(l, rd)];
            size_t en;
            const char *v = elem_view(e, &en);
            if ((!limit || removed < limit) && bytes_equal(v, en, p, n)) {
                elem_free(r, e);
                removed++;
            } else {
                r->slot[pos(l, w++)] = e;
            }
        }
        r->len = w;
    } else {
        /* Survivors slide toward the tail: they end up in [w, len). */
        size_t w = len;
        for (size_t rd = len; rd-- > 0;) {
            unsigned char *e = r->slot[pos(l, rd)];
            size_t en;
            const char *v = elem_view(e, &en);
            if ((!limit || removed < limit) && bytes_equal(v, en, p, n)) {
                elem_free(r, e);
                removed++;
            } else {
                r->slot[pos(l, --w)] = e;
            }
        }
        r->head = pos(l, w);
        r->len = len - w;
    }
    if (removed)
        ring_after_remove(l);
    return removed;
}
