/* tlist.c — the list value type (see tlist.h).
 *
 * A ring buffer of `cap` slots (a power of two, or 0 when nothing was ever
 * stored) holding pointers to elements; element i lives in slot
 * (head + i) & (cap - 1). Each element is one allocation: a LEB128 varint
 * length (1 byte for elements under 128 bytes) followed by the bytes.
 * The ring doubles when full and halves when less than a quarter is used.
 * Inserting or removing in the middle moves whichever side is shorter.
 * `bytes` tracks every allocation the list owns, so list_mem is O(1). */
#include "tlist.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "mem.h"

#define LIST_MIN_CAP 4

struct kv_list {
    unsigned char **slot;
    size_t cap;   /* 0 or a power of two */
    size_t head;  /* slot of element 0 */
    size_t len;
    size_t bytes; /* usable bytes of the slot array and every element */
};

/* ---- Elements ---- */

static size_t varint_len(size_t n)
{
    size_t k = 1;
    while (n >= 0x80) {
        n >>= 7;
        k++;
    }
    return k;
}

static unsigned char *elem_new(kv_list *l, const void *p, size_t n)
{
    size_t h = varint_len(n);
    unsigned char *e = kv_malloc(h + n);
    size_t v = n;
    for (size_t i = 0; i < h; i++, v >>= 7)
        e[i] = (unsigned char)((v & 0x7f) | (i + 1 < h ? 0x80 : 0));
    if (n)
        memcpy(e + h, p, n);
    l->bytes += kv_usable(e);
    return e;
}

static void elem_free(kv_list *l, unsigned char *e)
{
    l->bytes -= kv_usable(e);
    kv_free(e);
}

static const char *elem_view(const unsigned char *e, size_t *n)
{
    size_t v = 0;
    int shift = 0;
    const unsigned char *p = e;
    for (;; p++, shift += 7) {
        v |= (size_t)(*p & 0x7f) << shift;
        if (!(*p & 0x80))
            break;
    }
    *n = v;
    return (const char *)p + 1;
}

/* ---- Ring ---- */

static inline size_t pos(const kv_list *l, size_t idx)
{
    return (l->head + idx) & (l->cap - 1);
}

/* Copy the elements into a new ring of newcap slots, element 0 first. */
static void ring_resize(kv_list *l, size_t newcap)
{
    unsigned char **s = kv_malloc(newcap * sizeof *s);
    for (size_t i = 0; i < l->len; i++)
        s[i] = l->slot[pos(l, i)];
    l->bytes -= kv_usable(l->slot);
    kv_free(l->slot);
    l->slot = s;
    l->bytes += kv_usable(s);
    l->cap = newcap;
    l->head = 0;
}

static void ring_grow_if_full(kv_list *l)
{
    if (l->len == l->cap)
        ring_resize(l, l->cap ? l->cap * 2 : LIST_MIN_CAP);
}

static void ring_shrink_if_sparse(kv_list *l)
{
    size_t cap = l->cap;
    while (cap > LIST_MIN_CAP && l->len < cap / 4)
        cap /= 2;
    if (cap != l->cap)
        ring_resize(l, cap);
}

/* Move the `count` pointers at element indexes [from, from + count) to
 * [to, to + count). Indexes are relative to head and stay below cap. */
static void ring_move(kv_list *l, size_t from, size_t to, size_t count)
{
    size_t mask = l->cap - 1;
    if (to < from) {
        /* Toward the front: copy first to last. */
        for (size_t i = 0; i < count; i++)
            l->slot[(l->head + to + i) & mask] = l->slot[(l->head + from + i) & mask];
    } else {
        for (size_t i = count; i-- > 0;)
            l->slot[(l->head + to + i) & mask] = l->slot[(l->head + from + i) & mask];
    }
}

/* ---- API ---- */

kv_list *list_new(void)
{
    kv_list *l = kv_calloc(1, sizeof *l);
    l->bytes = kv_usable(l);
    return l;
}

void list_free(kv_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->len; i++)
        kv_free(l->slot[pos(l, i)]);
    kv_free(l->slot);
    kv_free(l);
}

size_t list_len(const kv_list *l)
{
    return l->len;
}

size_t list_mem(const kv_list *l)
{
    return l->bytes;
}

void list_push(kv_list *l, int where, const void *p, size_t n)
{
    unsigned char *e = elem_new(l, p, n);
    ring_grow_if_full(l);
    if (where == LIST_HEAD) {
        l->head = (l->head - 1) & (l->cap - 1);
        l->slot[l->head] = e;
    } else {
        l->slot[pos(l, l->len)] = e;
    }
    l->len++;
}

void list_get(const kv_list *l, size_t idx, const char **p, size_t *n)
{
    assert(idx < l->len);
    *p = elem_view(l->slot[pos(l, idx)], n);
}

void list_set(kv_list *l, size_t idx, const void *p, size_t n)
{
    assert(idx < l->len);
    size_t at = pos(l, idx);
    /* p may point into the element being replaced: copy before freeing. */
    unsigned char *e = elem_new(l, p, n);
    elem_free(l, l->slot[at]);
    l->slot[at] = e;
}

void list_insert(kv_list *l, size_t idx, const void *p, size_t n)
{
    assert(idx <= l->len);
    unsigned char *e = elem_new(l, p, n);
    ring_grow_if_full(l);
    if (idx < l->len - idx) {
        /* Shift elements [0, idx) one slot toward the front. */
        l->head = (l->head - 1) & (l->cap - 1);
        ring_move(l, 1, 0, idx);
    } else {
        /* Shift elements [idx, len) one slot toward the back. */
        ring_move(l, idx, idx + 1, l->len - idx);
    }
    l->slot[pos(l, idx)] = e;
    l->len++;
}

/* After elements were dropped: give back the ring when empty, shrink it
 * when sparse. */
static void ring_after_remove(kv_list *l)
{
    if (l->len == 0) {
        l->bytes -= kv_usable(l->slot);
        kv_free(l->slot);
        l->slot = NULL;
        l->cap = 0;
        l->head = 0;
    } else {
        ring_shrink_if_sparse(l);
    }
}

void list_remove(kv_list *l, size_t idx, size_t count)
{
    assert(idx <= l->len && count <= l->len - idx);
    if (count == 0)
        return;
    for (size_t i = 0; i < count; i++)
        elem_free(l, l->slot[pos(l, idx + i)]);
    size_t after = l->len - idx - count;
    if (idx < after) {
        /* Close the gap from the front: [0, idx) moves back by count. */
        ring_move(l, 0, count, idx);
        l->head = (l->head + count) & (l->cap - 1);
    } else {
        ring_move(l, idx + count, idx, after);
    }
    l->len -= count;
    ring_after_remove(l);
}

static int elem_equal(const unsigned char *e, const void *p, size_t n)
{
    size_t en;
    const char *v = elem_view(e, &en);
    return en == n && (n == 0 || memcmp(v, p, n) == 0);
}

size_t list_remove_equal(kv_list *l, const void *p, size_t n, size_t limit, int from)
{
    size_t removed = 0, len = l->len;
    if (from == LIST_HEAD) {
        /* Survivors slide toward the head: w trails r. */
        size_t w = 0;
        for (size_t r = 0; r < len; r++) {
            unsigned char *e = l->slot[pos(l, r)];
            if ((!limit || removed < limit) && elem_equal(e, p, n)) {
                elem_free(l, e);
                removed++;
            } else {
                l->slot[pos(l, w++)] = e;
            }
        }
        l->len = w;
    } else {
        /* Survivors slide toward the tail: they end up in [w, len). */
        size_t w = len;
        for (size_t r = len; r-- > 0;) {
            unsigned char *e = l->slot[pos(l, r)];
            if ((!limit || removed < limit) && elem_equal(e, p, n)) {
                elem_free(l, e);
                removed++;
            } else {
                l->slot[pos(l, --w)] = e;
            }
        }
        if (l->cap)
            l->head = pos(l, w);
        l->len = len - w;
    }
    if (removed)
        ring_after_remove(l);
    return removed;
}
