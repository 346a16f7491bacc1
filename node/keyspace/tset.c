/* tset.c — the set value type (see tset.h).
 *
 * "intset" encoding (Redis's intset.c): `count` integers of `width` bytes
 * each (2, 4 or 8), in ascending order, native byte order, right after
 * the 8-byte header.
 * Lookups are a binary search; an insert or a delete moves the tail. A
 * value that does not fit the width widens the whole array, for good.
 *
 * "hashtable" encoding: a dict of snode, one allocation per member holding
 * its bytes.
 *
 * An intset converts once, for good, when a member is not a canonical
 * integer or the set would pass set_max_intset_entries members. The
 * intset's integers live in the kv_set allocation itself (so adding or
 * removing may move the set: those calls take a kv_set **); a hashtable
 * set points at its dict, whose `bytes` tracks the nodes so set_mem is
 * O(1). */
#include "tset.h"

#include <assert.h>
#include <string.h>

#include "buf.h"
#include "dict.h"
#include "mem.h"

size_t set_max_intset_entries = 512;

enum { ENC_INTSET = 0, ENC_HASHTABLE = 1 };

typedef struct snode {
    dict_node node;
    uint32_t len;
    unsigned char data[];
} snode;

/* The hashtable encoding's part, allocated on conversion. */
typedef struct htpart {
    dict d;
    size_t bytes; /* this struct and every snode (usable sizes) */
} htpart;

/* One allocation: an 8-byte header, then the intset's integers inline,
 * or (hashtable) a pointer to the htpart. A small integer set is one
 * allocation of 8 + count * width bytes. */
struct kv_set {
    uint8_t enc;
    uint8_t width;  /* intset: bytes per integer (0 while empty) */
    uint16_t pad;
    uint32_t count; /* intset: integers */
    unsigned char data[];
};

#define SET_HDR offsetof(kv_set, data)

static inline htpart *HT(const kv_set *s)
{
    htpart *h;
    memcpy(&h, s->data, sizeof h);
    return h;
}

static void snode_key(const dict_node *n, const void **key, size_t *len)
{
    const snode *s = (const snode *)n;
    *key = s->data;
    *len = s->len;
}

static const dict_type snode_type = {.key_of = snode_key};

/* ---- Intset encoding ---- */

static int width_for(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX)
        return 2;
    if (v >= INT32_MIN && v <= INT32_MAX)
        return 4;
    return 8;
}

static int64_t get_at(const unsigned char *buf, int width, size_t i)
{
    const unsigned char *p = buf + i * (size_t)width;
    if (width == 2) {
        int16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    if (width == 4) {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static int64_t is_get(const kv_set *s, size_t i)
{
    return get_at(s->data, s->width, i);
}

static void is_put(unsigned char *buf, int width, size_t i, int64_t v)
{
    unsigned char *p = buf + i * (size_t)width;
    if (width == 2) {
        int16_t x = (int16_t)v;
        memcpy(p, &x, 2);
    } else if (width == 4) {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

/* Binary search: 1 and the index if v is there, else 0 and where it goes. */
static int is_search(const kv_set *s, int64_t v, size_t *pos)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t x = is_get(s, mid);
        if (x == v) {
            *pos = mid;
            return 1;
        }
        if (x < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return 0;
}

/* Make room for `count` integers of `width` bytes (as Redis's
 * intsetResize: exactly what is asked, the allocator rounds). */
static kv_set *is_resize(kv_set *s, size_t count, int width)
{
    size_t need = SET_HDR + count * (size_t)width;
    if (need > kv_usable(s) || need + 8 <= kv_usable(s))
        s = kv_realloc(s, need);
    return s;
}

/* Rewrite every integer at a wider width, from the back (in place). */
static kv_set *is_widen(kv_set *s, int width)
{
    size_t n = s->count;
    int old = s->width;
    s = is_resize(s, n + 1, width);
    for (size_t i = n; i-- > 0;)
        is_put(s->data, width, i, get_at(s->data, old, i));
    s->width = (uint8_t)width;
    return s;
}

int set_intset_width(const kv_set *s)
{
    return s->width ? s->width : 2;
}

void set_intset_widen(kv_set **s, int width)
{
    if ((*s)->enc == ENC_INTSET && (*s)->count && width > (*s)->width)
        *s = is_widen(*s, width);
}

static int is_add(kv_set **sp, int64_t v)
{
    kv_set *s = *sp;
    size_t pos;
    if (s->width && is_search(s, v, &pos))
        return 0;
    int w = width_for(v);
    if (w > s->width) {
        /* A wider value sorts before or after everything there. */
        s = is_widen(s, w);
        pos = v < 0 ? 0 : s->count;
    } else {
        s = is_resize(s, s->count + 1, s->width);
    }
    size_t n = s->count;
    unsigned char *b = s->data;
    memmove(b + (pos + 1) * s->width, b + pos * s->width, (n - pos) * s->width);
    is_put(b, s->width, pos, v);
    s->count++;
    *sp = s;
    return 1;
}

static int is_remove(kv_set **sp, int64_t v)
{
    kv_set *s = *sp;
    size_t pos;
    if (!s->width || !is_search(s, v, &pos))
        return 0;
    unsigned char *b = s->data;
    size_t n = s->count;
    memmove(b + pos * s->width, b + (pos + 1) * s->width, (n - pos - 1) * s->width);
    s->count--;
    *sp = is_resize(s, s->count, s->width);
    return 1;
}

/* ---- Hashtable encoding ---- */

static snode *snode_new(htpart *h, const void *m, size_t n)
{
    assert(n <= UINT32_MAX);
    snode *x = kv_malloc(offsetof(snode, data) + n);
    x->node.next = NULL;
    x->len = (uint32_t)n;
    if (n)
        memcpy(x->data, m, n);
    h->bytes += kv_usable(x);
    return x;
}

const dict *set_dict(const kv_set *s)
{
    return s->enc == ENC_INTSET ? NULL : &HT(s)->d;
}

static void snode_free(dict_node *dn, void *arg)
{
    htpart *h = arg;
    h->bytes -= kv_usable(dn);
    kv_free(dn);
}

/* A hashtable-encoded set header around a new, empty htpart. */
static kv_set *ht_new(size_t reserve)
{
    kv_set *s = kv_malloc(SET_HDR + sizeof(htpart *));
    s->enc = ENC_HASHTABLE;
    s->width = 0;
    s->pad = 0;
    s->count = 0;
    htpart *h = kv_malloc(sizeof *h);
    h->bytes = kv_usable(h);
    dict_init(&h->d, &snode_type);
    if (reserve)
        dict_reserve(&h->d, reserve);
    memcpy(s->data, &h, sizeof h);
    return s;
}

static void convert_to_hashtable(kv_set **sp)
{
    kv_set *old = *sp, *s = ht_new(old->count + 1);
    htpart *h = HT(s);
    char nb[SET_NUMBUF];
    for (size_t i = 0; i < old->count; i++) {
        size_t n = kv_ll2string(nb, sizeof nb, is_get(old, i));
        dict_add(&h->d, &snode_new(h, nb, n)->node);
    }
    kv_free(old);
    *sp = s;
}

/* ---- API ---- */

kv_set *set_new(void)
{
    kv_set *s = kv_malloc(SET_HDR);
    s->enc = ENC_INTSET;
    s->width = 0;
    s->pad = 0;
    s->count = 0;
    return s;
}

kv_set *set_new_for(const void *m, size_t n)
{
    long long v;
    return kv_string2ll(m, n, &v) ? set_new() : ht_new(0);
}

void set_free(kv_set *s)
{
    if (!s)
        return;
    if (s->enc == ENC_HASHTABLE) {
        htpart *h = HT(s);
        dict_clear(&h->d, snode_free, h);
        kv_free(h);
    }
    kv_free(s);
}

size_t set_len(const kv_set *s)
{
    return s->enc == ENC_INTSET ? s->count : dict_size(&HT(s)->d);
}

size_t set_mem(const kv_set *s)
{
    size_t m = kv_usable(s);
    if (s->enc == ENC_HASHTABLE)
        m += HT(s)->bytes + dict_buckets(&HT(s)->d) * sizeof(dict_node *);
    return m;
}

const char *set_encoding(const kv_set *s)
{
    return s->enc == ENC_INTSET ? "intset" : "hashtable";
}

int set_is_intset(const kv_set *s)
{
    return s->enc == ENC_INTSET;
}

int set_add(kv_set **sp, const void *m, size_t n)
{
    if ((*sp)->enc == ENC_INTSET) {
        long long v;
        if (kv_string2ll(m, n, &v)) {
            if (!is_add(sp, v))
                return 0;
            if ((*sp)->count > set_max_intset_entries || (*sp)->count == UINT32_MAX)
                convert_to_hashtable(sp);
            return 1;
        }
        /* m is not a number, so it cannot be a view into the intset. */
        convert_to_hashtable(sp);
    }
    htpart *h = HT(*sp);
    if (dict_find(&h->d, m, n))
        return 0;
    dict_add(&h->d, &snode_new(h, m, n)->node);
    return 1;
}

int set_remove(kv_set **sp, const void *m, size_t n)
{
    if ((*sp)->enc == ENC_INTSET) {
        long long v;
        return kv_string2ll(m, n, &v) && is_remove(sp, v);
    }
    htpart *h = HT(*sp);
    dict_node *x = dict_remove(&h->d, m, n);
    if (!x)
        return 0;
    snode_free(x, h);
    return 1;
}

int set_contains(kv_set *s, const void *m, size_t n)
{
    if (s->enc == ENC_INTSET) {
        long long v;
        size_t pos;
        return s->width && kv_string2ll(m, n, &v) && is_search(s, v, &pos);
    }
    return dict_find(&HT(s)->d, m, n) != NULL;
}

/* ---- Iteration, random, scan, dup ---- */

void set_iter_init(set_iter *it, kv_set *s)
{
    it->s = s;
    it->pos = 0;
    it->table = 0;
    it->node = NULL;
    if (s->enc == ENC_HASHTABLE)
        HT(s)->d.iterators++; /* no rehash steps while iterating */
}

int set_iter_next(set_iter *it, const char **m, size_t *n)
{
    kv_set *s = it->s;
    if (s->enc == ENC_INTSET) {
        if (it->pos >= s->count)
            return 0;
        *n = kv_ll2string(it->buf, sizeof it->buf, is_get(s, it->pos++));
        *m = it->buf;
        return 1;
    }
    dict *d = &HT(s)->d;
    dict_node *x = it->node;
    while (!x) {
        if (it->pos >= d->size[it->table]) {
            if (it->table == 0 && dict_is_rehashing(d)) {
                it->table = 1;
                it->pos = 0;
                continue;
            }
            return 0;
        }
        x = d->table[it->table][it->pos++];
    }
    it->node = x->next;
    const snode *sn = (const snode *)x;
    *m = (const char *)sn->data;
    *n = sn->len;
    return 1;
}

void set_iter_done(set_iter *it)
{
    if (it->s && it->s->enc == ENC_HASHTABLE)
        HT(it->s)->d.iterators--;
    it->s = NULL;
}

int set_random(kv_set *s, uint64_t rnd, const char **m, size_t *n, char buf[SET_NUMBUF])
{
    if (set_len(s) == 0)
        return 0;
    if (s->enc == ENC_INTSET) {
        *n = kv_ll2string(buf, SET_NUMBUF, is_get(s, (size_t)(rnd % s->count)));
        *m = buf;
        return 1;
    }
    const snode *x = (const snode *)dict_random_fair(&HT(s)->d, rnd);
    *m = (const char *)x->data;
    *n = x->len;
    return 1;
}

typedef struct scan_ctx {
    void (*fn)(void *arg, const char *m, size_t n);
    void *arg;
} scan_ctx;

static void scan_node(void *arg, dict_node *dn)
{
    scan_ctx *c = arg;
    const snode *x = (const snode *)dn;
    c->fn(c->arg, (const char *)x->data, x->len);
}

uint64_t set_scan(kv_set *s, uint64_t cursor, void (*fn)(void *arg, const char *m, size_t n),
                  void *arg)
{
    if (s->enc == ENC_INTSET) {
        char nb[SET_NUMBUF];
        for (size_t i = 0; i < s->count; i++)
            fn(arg, nb, kv_ll2string(nb, sizeof nb, is_get(s, i)));
        return 0;
    }
    scan_ctx c = {fn, arg};
    return dict_scan(&HT(s)->d, cursor, scan_node, &c);
}

kv_set *set_dup(const kv_set *s)
{
    if (s->enc == ENC_INTSET) {
        size_t n = SET_HDR + (size_t)s->count * s->width;
        kv_set *c = kv_malloc(n);
        memcpy(c, s, n);
        return c;
    }
    const dict *d = &HT(s)->d;
    kv_set *c = ht_new(dict_size(d));
    htpart *h = HT(c);
    for (int t = 0; t <= 1; t++)
        for (size_t i = 0; i < d->size[t]; i++)
            for (const dict_node *dn = d->table[t][i]; dn; dn = dn->next) {
                const snode *x = (const snode *)dn;
                dict_add(&h->d, &snode_new(h, x->data, x->len)->node);
            }
    return c;
}
