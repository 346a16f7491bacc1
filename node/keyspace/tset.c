/* tset.c — the set value type (see tset.h).
 *
 * "intset" encoding (Redis's intset.c): one buffer of `count` integers of
 * `width` bytes each (2, 4 or 8), in ascending order, native byte order.
 * Lookups are a binary search; an insert or a delete moves the tail. A
 * value that does not fit the width widens the whole array, for good.
 *
 * "hashtable" encoding: a dict of snode, one allocation per member holding
 * its bytes.
 *
 * An intset converts once, for good, when a member is not a canonical
 * integer or the set would pass set_max_intset_entries members. `bytes`
 * tracks what the set owns besides its header and the dict's bucket
 * arrays, so set_mem is O(1). */
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

struct kv_set {
    uint8_t enc;
    uint8_t width; /* intset: bytes per integer */
    size_t bytes;  /* intset buffer, or every snode (usable sizes) */
    union {
        struct {
            unsigned char *buf;
            size_t count;
        } is;
        dict ht;
    } u;
};

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

static int64_t is_get(const kv_set *s, size_t i)
{
    const unsigned char *p = s->u.is.buf + i * s->width;
    if (s->width == 2) {
        int16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    if (s->width == 4) {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, p, 8);
    return v;
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
    size_t lo = 0, hi = s->u.is.count;
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

static void is_resize(kv_set *s, size_t count, int width)
{
    size_t need = count * (size_t)width;
    s->bytes -= kv_usable(s->u.is.buf);
    if (need == 0) {
        kv_free(s->u.is.buf);
        s->u.is.buf = NULL;
    } else {
        s->u.is.buf = kv_realloc(s->u.is.buf, need);
    }
    s->bytes += kv_usable(s->u.is.buf);
}

static void is_widen(kv_set *s, int width)
{
    size_t n = s->u.is.count;
    unsigned char *nb = kv_malloc(n * (size_t)width + (size_t)width);
    for (size_t i = 0; i < n; i++)
        is_put(nb, width, i, is_get(s, i));
    s->bytes -= kv_usable(s->u.is.buf);
    kv_free(s->u.is.buf);
    s->u.is.buf = nb;
    s->bytes += kv_usable(nb);
    s->width = (uint8_t)width;
}

static int is_add(kv_set *s, int64_t v)
{
    size_t pos;
    if (s->width && is_search(s, v, &pos))
        return 0;
    int w = width_for(v);
    if (w > s->width) {
        /* A wider value sorts before or after everything there. */
        is_widen(s, w);
        pos = v < 0 ? 0 : s->u.is.count;
    }
    size_t n = s->u.is.count;
    if ((n + 1) * s->width > kv_usable(s->u.is.buf))
        is_resize(s, n + 1, s->width);
    unsigned char *b = s->u.is.buf;
    memmove(b + (pos + 1) * s->width, b + pos * s->width, (n - pos) * s->width);
    is_put(b, s->width, pos, v);
    s->u.is.count++;
    return 1;
}

static int is_remove(kv_set *s, int64_t v)
{
    size_t pos;
    if (!s->width || !is_search(s, v, &pos))
        return 0;
    unsigned char *b = s->u.is.buf;
    size_t n = s->u.is.count;
    memmove(b + pos * s->width, b + (pos + 1) * s->width, (n - pos - 1) * s->width);
    s->u.is.count--;
    /* Give memory back as Redis's intsetResize does: exactly what is used. */
    is_resize(s, s->u.is.count, s->width);
    return 1;
}

/* ---- Hashtable encoding ---- */

static snode *snode_new(kv_set *s, const void *m, size_t n)
{
    assert(n <= UINT32_MAX);
    snode *x = kv_malloc(offsetof(snode, data) + n);
    x->node.next = NULL;
    x->len = (uint32_t)n;
    if (n)
        memcpy(x->data, m, n);
    s->bytes += kv_usable(x);
    return x;
}

static void snode_free(dict_node *dn, void *arg)
{
    kv_set *s = arg;
    s->bytes -= kv_usable(dn);
    kv_free(dn);
}

static void convert_to_hashtable(kv_set *s)
{
    unsigned char *buf = s->u.is.buf;
    kv_set tmp = *s;
    s->enc = ENC_HASHTABLE;
    s->bytes = 0;
    dict_init(&s->u.ht, &snode_type);
    dict_reserve(&s->u.ht, tmp.u.is.count + 1);
    char nb[SET_NUMBUF];
    for (size_t i = 0; i < tmp.u.is.count; i++) {
        size_t n = kv_ll2string(nb, sizeof nb, is_get(&tmp, i));
        dict_add(&s->u.ht, &snode_new(s, nb, n)->node);
    }
    kv_free(buf);
}

/* ---- API ---- */

kv_set *set_new(void)
{
    kv_set *s = kv_calloc(1, sizeof *s);
    s->enc = ENC_INTSET;
    return s;
}

kv_set *set_new_for(const void *m, size_t n)
{
    kv_set *s = set_new();
    long long v;
    if (!kv_string2ll(m, n, &v)) {
        s->enc = ENC_HASHTABLE;
        dict_init(&s->u.ht, &snode_type);
    }
    return s;
}

void set_free(kv_set *s)
{
    if (!s)
        return;
    if (s->enc == ENC_INTSET)
        kv_free(s->u.is.buf);
    else
        dict_clear(&s->u.ht, snode_free, s);
    kv_free(s);
}

size_t set_len(const kv_set *s)
{
    return s->enc == ENC_INTSET ? s->u.is.count : dict_size(&s->u.ht);
}

size_t set_mem(const kv_set *s)
{
    size_t m = kv_usable(s) + s->bytes;
    if (s->enc == ENC_HASHTABLE)
        m += dict_buckets(&s->u.ht) * sizeof(dict_node *);
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

int set_add(kv_set *s, const void *m, size_t n)
{
    if (s->enc == ENC_INTSET) {
        long long v;
        if (kv_string2ll(m, n, &v)) {
            if (!is_add(s, v))
                return 0;
            if (s->u.is.count > set_max_intset_entries)
                convert_to_hashtable(s);
            return 1;
        }
        /* m is not a number, so it cannot be a view into the intset. */
        convert_to_hashtable(s);
    }
    if (dict_find(&s->u.ht, m, n))
        return 0;
    dict_add(&s->u.ht, &snode_new(s, m, n)->node);
    return 1;
}

int set_remove(kv_set *s, const void *m, size_t n)
{
    if (s->enc == ENC_INTSET) {
        long long v;
        return kv_string2ll(m, n, &v) && is_remove(s, v);
    }
    dict_node *x = dict_remove(&s->u.ht, m, n);
    if (!x)
        return 0;
    snode_free(x, s);
    return 1;
}

int set_contains(kv_set *s, const void *m, size_t n)
{
    if (s->enc == ENC_INTSET) {
        long long v;
        size_t pos;
        return s->width && kv_string2ll(m, n, &v) && is_search(s, v, &pos);
    }
    return dict_find(&s->u.ht, m, n) != NULL;
}

/* ---- Iteration, random, scan, dup ---- */

void set_iter_init(set_iter *it, kv_set *s)
{
    it->s = s;
    it->pos = 0;
    it->table = 0;
    it->node = NULL;
    if (s->enc == ENC_HASHTABLE)
        s->u.ht.iterators++; /* no rehash steps while iterating */
}

int set_iter_next(set_iter *it, const char **m, size_t *n)
{
    kv_set *s = it->s;
    if (s->enc == ENC_INTSET) {
        if (it->pos >= s->u.is.count)
            return 0;
        *n = kv_ll2string(it->buf, sizeof it->buf, is_get(s, it->pos++));
        *m = it->buf;
        return 1;
    }
    dict *d = &s->u.ht;
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
        it->s->u.ht.iterators--;
    it->s = NULL;
}

int set_random(kv_set *s, uint64_t rnd, const char **m, size_t *n, char buf[SET_NUMBUF])
{
    if (set_len(s) == 0)
        return 0;
    if (s->enc == ENC_INTSET) {
        *n = kv_ll2string(buf, SET_NUMBUF, is_get(s, (size_t)(rnd % s->u.is.count)));
        *m = buf;
        return 1;
    }
    const snode *x = (const snode *)dict_random(&s->u.ht, rnd);
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
        for (size_t i = 0; i < s->u.is.count; i++)
            fn(arg, nb, kv_ll2string(nb, sizeof nb, is_get(s, i)));
        return 0;
    }
    scan_ctx c = {fn, arg};
    return dict_scan(&s->u.ht, cursor, scan_node, &c);
}

kv_set *set_dup(const kv_set *s)
{
    kv_set *c = set_new();
    if (s->enc == ENC_INTSET) {
        c->width = s->width;
        c->u.is.count = s->u.is.count;
        size_t n = s->u.is.count * s->width;
        if (n) {
            c->u.is.buf = kv_malloc(n);
            memcpy(c->u.is.buf, s->u.is.buf, n);
            c->bytes = kv_usable(c->u.is.buf);
        }
        return c;
    }
    c->enc = ENC_HASHTABLE;
    dict_init(&c->u.ht, &snode_type);
    dict_reserve(&c->u.ht, dict_size(&s->u.ht));
    const dict *d = &s->u.ht;
    for (int t = 0; t <= 1; t++)
        for (size_t i = 0; i < d->size[t]; i++)
            for (const dict_node *dn = d->table[t][i]; dn; dn = dn->next) {
                const snode *x = (const snode *)dn;
                dict_add(&c->u.ht, &snode_new(c, x->data, x->len)->node);
            }
    return c;
}
