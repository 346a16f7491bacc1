/* thash.c — the hash value type (see thash.h).
 *
 * "listpack" encoding: one buffer of entries
 *     [varint flen][field bytes][varint vlen][value bytes]
 * in insertion order (varint = LEB128, one byte below 128). Lookups are a
 * linear walk; an update rewrites the value where it is (moving the tail
 * when its size changes); a delete closes the gap.
 *
 * "hashtable" encoding: a dict of hnode, one allocation per field holding
 * the field bytes followed by the value bytes.
 *
 * A listpack hash converts once, for good, when a set would take it past
 * hash_max_listpack_entries fields or a field or value is longer than
 * hash_max_listpack_value bytes.
 *
 * Memory: the header is 24 bytes (a small hash is header + one buffer, as
 * compact as Redis's robj + listpack); the listpack buffer is sized to what
 * it holds (the allocator's rounding is the only slack, as Redis's listpack
 * reallocs to the exact size). The hashtable encoding's dict and its byte
 * count live in a separate allocation (hht), so they cost nothing while the
 * hash is small. hht.bytes tracks every hnode (usable sizes), so hash_mem
 * is O(1). */
#include "thash.h"

#include <assert.h>
#include <string.h>

#include "dict.h"
#include "mem.h"

size_t hash_max_listpack_entries = 512;
size_t hash_max_listpack_value = 64;

enum { ENC_LISTPACK = 0, ENC_HASHTABLE = 1 };

typedef struct hnode {
    dict_node node;
    size_t vlen;
    uint32_t flen;
    unsigned char data[]; /* field bytes, then value bytes */
} hnode;

/* The hashtable encoding's state. */
typedef struct hht {
    dict d;
    size_t bytes; /* every hnode (usable sizes) */
} hht;

struct kv_hash {
    union {
        unsigned char *buf; /* listpack: the entries (NULL when empty) */
        hht *ht;            /* hashtable */
    } u;
    size_t len;     /* listpack: bytes in use */
    uint32_t count; /* listpack: fields (at most hash_max_listpack_entries) */
    uint8_t enc;
};

_Static_assert(sizeof(kv_hash) <= 24, "a small hash's header stays 24 bytes");

static void hnode_key(const dict_node *n, const void **key, size_t *len)
{
    const hnode *h = (const hnode *)n;
    *key = h->data;
    *len = h->flen;
}

static const dict_type hnode_type = {.key_of = hnode_key};

/* ---- Varints ---- */

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

/* ---- Listpack encoding ---- */

/* One decoded entry: where it starts, its field and value, where it ends. */
typedef struct lp_entry {
    size_t start, vstart, end; /* offsets: entry, value's varint, next entry */
    const char *f, *v;
    size_t flen, vlen;
} lp_entry;

static size_t lp_decode(const kv_hash *h, size_t off, lp_entry *e)
{
    const unsigned char *base = h->u.buf;
    const unsigned char *p = varint_get(base + off, &e->flen);
    e->start = off;
    e->f = (const char *)p;
    p += e->flen;
    e->vstart = (size_t)(p - base);
    p = varint_get(p, &e->vlen);
    e->v = (const char *)p;
    e->end = (size_t)(p - base) + e->vlen;
    return e->end;
}

static int lp_find(const kv_hash *h, const void *f, size_t flen, lp_entry *e)
{
    for (size_t off = 0; off < h->len;) {
        off = lp_decode(h, off, e);
        if (e->flen == flen && (flen == 0 || memcmp(e->f, f, flen) == 0))
            return 1;
    }
    return 0;
}

/* Make the buffer hold at least `need` bytes: exactly that much (plus the
 * allocator's rounding) while small, as Redis's listpack grows, so a small
 * hash carries no spare capacity; past 256 bytes an eighth more, so a
 * growing hash does not realloc at every new field. */
static void lp_reserve(kv_hash *h, size_t need)
{
    if (need <= kv_usable(h->u.buf))
        return;
    h->u.buf = kv_realloc(h->u.buf, need > 256 ? need + need / 8 : need);
}

/* Give back memory after deletes left most of the buffer unused. */
static void lp_trim(kv_hash *h)
{
    size_t have = kv_usable(h->u.buf);
    if (have <= h->len + h->len / 4 + 32)
        return;
    if (h->len == 0) {
        kv_free(h->u.buf);
        h->u.buf = NULL;
    } else {
        h->u.buf = kv_realloc(h->u.buf, h->len);
    }
}

/* Resize the byte range [at, at + oldn) to newn bytes, moving the tail. */
static unsigned char *lp_splice(kv_hash *h, size_t at, size_t oldn, size_t newn)
{
    size_t tail = h->len - at - oldn;
    if (newn > oldn)
        lp_reserve(h, h->len + newn - oldn);
    unsigned char *b = h->u.buf;
    if (newn != oldn && tail)
        memmove(b + at + newn, b + at + oldn, tail);
    h->len = h->len - oldn + newn;
    return b + at;
}

/* Set a field; `e` and `exists` are what lp_find said about it. */
static int lp_set(kv_hash *h, const lp_entry *e, int exists, const void *f, size_t flen,
                  const void *v, size_t vlen)
{
    if (exists) {
        size_t oldn = e->end - e->vstart;
        unsigned char *p = lp_splice(h, e->vstart, oldn, varint_len(vlen) + vlen);
        p = varint_put(p, vlen);
        if (vlen)
            memcpy(p, v, vlen);
        return 0;
    }
    size_t at = h->len;
    unsigned char *p = lp_splice(h, at, 0, varint_len(flen) + flen + varint_len(vlen) + vlen);
    p = varint_put(p, flen);
    if (flen)
        memcpy(p, f, flen);
    p = varint_put(p + flen, vlen);
    if (vlen)
        memcpy(p, v, vlen);
    h->count++;
    return 1;
}

static int lp_del(kv_hash *h, const void *f, size_t flen)
{
    lp_entry e;
    if (!lp_find(h, f, flen, &e))
        return 0;
    lp_splice(h, e.start, e.end - e.start, 0);
    h->count--;
    lp_trim(h);
    return 1;
}

/* ---- Hashtable encoding ---- */

static hnode *hnode_new(kv_hash *h, const void *f, size_t flen, const void *v, size_t vlen)
{
    assert(flen <= UINT32_MAX);
    hnode *n = kv_malloc(offsetof(hnode, data) + flen + vlen);
    n->node.next = NULL;
    n->flen = (uint32_t)flen;
    n->vlen = vlen;
    if (flen)
        memcpy(n->data, f, flen);
    if (vlen)
        memcpy(n->data + flen, v, vlen);
    h->u.ht->bytes += kv_usable(n);
    return n;
}

static void hnode_free(dict_node *dn, void *arg)
{
    kv_hash *h = arg;
    h->u.ht->bytes -= kv_usable(dn);
    kv_free(dn);
}

static int ht_set(kv_hash *h, const void *f, size_t flen, const void *v, size_t vlen)
{
    dict_node **ref = dict_find_ref(&h->u.ht->d, f, flen);
    if (!ref) {
        dict_add(&h->u.ht->d, &hnode_new(h, f, flen, v, vlen)->node);
        return 1;
    }
    hnode *old = (hnode *)*ref;
    size_t need = offsetof(hnode, data) + flen + vlen, have = kv_usable(old);
    if (need <= have && have - need <= need / 2 + 32) {
        /* Rewrite in place; v may point into this very value. */
        if (vlen)
            memmove(old->data + flen, v, vlen);
        old->vlen = vlen;
        return 0;
    }
    /* A fresh node, filled before the old one (which v may point into) is
     * freed; it takes the old node's place in the chain. */
    hnode *n = hnode_new(h, old->data, flen, v, vlen);
    n->node.next = old->node.next;
    *ref = &n->node;
    hnode_free(&old->node, h);
    return 0;
}

static void convert_to_hashtable(kv_hash *h)
{
    unsigned char *buf = h->u.buf;
    size_t len = h->len;
    kv_hash tmp = *h;
    h->enc = ENC_HASHTABLE;
    h->len = 0;
    h->count = 0;
    h->u.ht = kv_malloc(sizeof *h->u.ht);
    h->u.ht->bytes = 0;
    dict_init(&h->u.ht->d, &hnode_type);
    lp_entry e;
    for (size_t off = 0; off < len;) {
        off = lp_decode(&tmp, off, &e);
        dict_add(&h->u.ht->d, &hnode_new(h, e.f, e.flen, e.v, e.vlen)->node);
    }
    kv_free(buf);
}

/* ---- API ---- */

kv_hash *hash_new(void)
{
    kv_hash *h = kv_calloc(1, sizeof *h);
    h->enc = ENC_LISTPACK;
    return h;
}

void hash_free(kv_hash *h)
{
    if (!h)
        return;
    if (h->enc == ENC_LISTPACK)
        kv_free(h->u.buf);
    else {
        dict_clear(&h->u.ht->d, hnode_free, h);
        kv_free(h->u.ht);
    }
    kv_free(h);
}

const dict *hash_dict(const kv_hash *x)
{
    return x->enc == ENC_LISTPACK ? NULL : &x->u.ht->d;
}

size_t hash_len(const kv_hash *h)
{
    return h->enc == ENC_LISTPACK ? h->count : dict_size(&h->u.ht->d);
}

size_t hash_mem(const kv_hash *h)
{
    if (h->enc == ENC_LISTPACK)
        return kv_usable(h) + kv_usable(h->u.buf);
    return kv_usable(h) + kv_usable(h->u.ht) + h->u.ht->bytes +
           dict_buckets(&h->u.ht->d) * sizeof(dict_node *);
}

const char *hash_encoding(const kv_hash *h)
{
    return h->enc == ENC_LISTPACK ? "listpack" : "hashtable";
}

int hash_get(kv_hash *h, const void *f, size_t flen, const char **v, size_t *vlen)
{
    if (h->enc == ENC_LISTPACK) {
        lp_entry e;
        if (!lp_find(h, f, flen, &e))
            return 0;
        *v = e.v;
        *vlen = e.vlen;
        return 1;
    }
    hnode *n = (hnode *)dict_find(&h->u.ht->d, f, flen);
    if (!n)
        return 0;
    *v = (const char *)n->data + n->flen;
    *vlen = n->vlen;
    return 1;
}

/* Does [p, p + n) overlap the listpack buffer? */
static int in_listpack(const kv_hash *h, const void *p, size_t n)
{
    const unsigned char *b = h->u.buf, *q = p;
    return b && n && q < b + kv_usable(b) && q + n > b;
}

int hash_set(kv_hash *h, const void *f, size_t flen, const void *v, size_t vlen)
{
    if (h->enc == ENC_LISTPACK && (in_listpack(h, f, flen) || in_listpack(h, v, vlen))) {
        /* A view into this hash (HSET h a <HGET h b>): the buffer may move
         * or be freed by a conversion, so work from copies. */
        char *fc = kv_memdup(f, flen), *vc = kv_memdup(v, vlen);
        int r = hash_set(h, fc, flen, vc, vlen);
        kv_free(fc);
        kv_free(vc);
        return r;
    }
    if (h->enc == ENC_LISTPACK) {
        if (flen > hash_max_listpack_value || vlen > hash_max_listpack_value) {
            convert_to_hashtable(h);
        } else {
            lp_entry e;
            int exists = lp_find(h, f, flen, &e);
            if (exists || h->count < hash_max_listpack_entries)
                return lp_set(h, &e, exists, f, flen, v, vlen);
            convert_to_hashtable(h);
        }
    }
    return ht_set(h, f, flen, v, vlen);
}

int hash_del(kv_hash *h, const void *f, size_t flen)
{
    if (h->enc == ENC_LISTPACK)
        return lp_del(h, f, flen);
    dict_node *n = dict_remove(&h->u.ht->d, f, flen);
    if (!n)
        return 0;
    hnode_free(n, h);
    return 1;
}

/* ---- Iteration, random, scan, dup ---- */

/* Hashtable iteration state: pos = next bucket to load, state[0] = table
 * (0/1), state[1] = next node to return, state[2] = 1 while rehashing of
 * the dict is paused by this iterator. */
void hash_iter_init(hash_iter *it, kv_hash *h)
{
    it->h = h;
    it->pos = 0;
    memset(it->state, 0, sizeof it->state);
    if (h->enc == ENC_HASHTABLE) {
        h->u.ht->d.iterators++;
        it->state[2] = (void *)1;
    }
}

int hash_iter_next(hash_iter *it, const char **f, size_t *flen, const char **v, size_t *vlen)
{
    kv_hash *h = it->h;
    if (h->enc == ENC_LISTPACK) {
        if (it->pos >= h->len)
            return 0;
        lp_entry e;
        it->pos = lp_decode(h, it->pos, &e);
        *f = e.f;
        *flen = e.flen;
        *v = e.v;
        *vlen = e.vlen;
        return 1;
    }
    dict *d = &h->u.ht->d;
    dict_node *n = it->state[1];
    while (!n) {
        int t = it->state[0] ? 1 : 0;
        if (it->pos >= d->size[t]) {
            if (t == 0 && dict_is_rehashing(d)) {
                it->state[0] = (void *)1;
                it->pos = 0;
                continue;
            }
            return 0;
        }
        n = d->table[t][it->pos++];
    }
    it->state[1] = n->next;
    const hnode *hn = (const hnode *)n;
    *f = (const char *)hn->data;
    *flen = hn->flen;
    *v = (const char *)hn->data + hn->flen;
    *vlen = hn->vlen;
    return 1;
}

void hash_iter_done(hash_iter *it)
{
    if (it->state[2]) {
        it->h->u.ht->d.iterators--;
        it->state[2] = NULL;
    }
}

int hash_random(kv_hash *h, uint64_t rnd, const char **f, size_t *flen, const char **v,
                size_t *vlen)
{
    if (hash_len(h) == 0)
        return 0;
    if (h->enc == ENC_LISTPACK) {
        size_t pick = (size_t)(rnd % h->count), off = 0;
        lp_entry e;
        do
            off = lp_decode(h, off, &e);
        while (pick--);
        *f = e.f;
        *flen = e.flen;
        *v = e.v;
        *vlen = e.vlen;
        return 1;
    }
    const hnode *n = (const hnode *)dict_random_fair(&h->u.ht->d, rnd);
    *f = (const char *)n->data;
    *flen = n->flen;
    *v = (const char *)n->data + n->flen;
    *vlen = n->vlen;
    return 1;
}

typedef struct scan_ctx {
    void (*fn)(void *arg, const char *f, size_t flen, const char *v, size_t vlen);
    void *arg;
} scan_ctx;

static void scan_node(void *arg, dict_node *dn)
{
    scan_ctx *c = arg;
    const hnode *n = (const hnode *)dn;
    c->fn(c->arg, (const char *)n->data, n->flen, (const char *)n->data + n->flen, n->vlen);
}

uint64_t hash_scan(kv_hash *h, uint64_t cursor,
                   void (*fn)(void *arg, const char *f, size_t flen, const char *v, size_t vlen),
                   void *arg)
{
    if (h->enc == ENC_LISTPACK) {
        lp_entry e;
        for (size_t off = 0; off < h->len;) {
            off = lp_decode(h, off, &e);
            fn(arg, e.f, e.flen, e.v, e.vlen);
        }
        return 0;
    }
    scan_ctx c = {fn, arg};
    return dict_scan(&h->u.ht->d, cursor, scan_node, &c);
}

kv_hash *hash_dup(const kv_hash *h)
{
    kv_hash *c = hash_new();
    if (h->enc == ENC_LISTPACK) {
        if (h->len) {
            c->u.buf = kv_malloc(h->len);
            memcpy(c->u.buf, h->u.buf, h->len);
        }
        c->len = h->len;
        c->count = h->count;
        return c;
    }
    c->enc = ENC_HASHTABLE;
    c->u.ht = kv_malloc(sizeof *c->u.ht);
    c->u.ht->bytes = 0;
    dict_init(&c->u.ht->d, &hnode_type);
    const dict *d = &h->u.ht->d;
    for (int t = 0; t <= 1; t++) {
        for (size_t i = 0; i < d->size[t]; i++) {
            for (const dict_node *dn = d->table[t][i]; dn; dn = dn->next) {
                const hnode *n = (const hnode *)dn;
                dict_add(&c->u.ht->d,
                         &hnode_new(c, n->data, n->flen, n->data + n->flen, n->vlen)->node);
            }
        }
    }
    return c;
}
