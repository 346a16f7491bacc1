/* keyspace.c — the in-memory database (see keyspace.h).
 *
 * Owns every key and value and the expiry index. Never looks at a clock
 * and never expires anything on lookup.
 *
 * A key is one allocation, a kobj (24-byte header):
 *
 *   offset 0   dict_node next     chain link in the keys dict
 *          8   u32 klen
 *         12   3 bits type        KT_STRING | KT_LIST | KT_HASH | KT_SET | KT_ZSET | KT_STREAM
 *              1 bit snap         incremental snapshots: pending while it differs
 *                                  from snap_parity (ks_snap_begin)
 *              4 bits flags       KF_EXPIRE, KF_RAW, KF_NOINT, KF_UNSHARED
 *              24 bits lru        access stamp (Redis's robj->lru): an LRU clock
 *                                  or LFU minutes << 8 | counter (kobj_lru)
 *         16   u64 vlen | ptr     string length, or kv_list* / kv_hash* / kv_set* /
 *                                  kv_zset*
 *         24   [i64 expire_ms]    only with KF_EXPIRE
 *              key bytes
 *              string value bytes (strings only; not NUL-terminated)
 *
 * The expiry index is a second dict of 16-byte expnodes {next, kobj*}
 * keyed by the kobj's key, holding exactly the keys with KF_EXPIRE. A kobj
 * moves only here (realloc, or a fresh allocation when a value does not
 * fit), and every move goes through relink(): the link that points at it
 * in the keys dict (dict_find_ref) and its expnode are found while the old
 * object is still readable, then both are pointed at the new address. */
#include "keyspace.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "dict.h"
#include "lazyfree.h"
#include "mem.h"
#include "sha1.h"

#define KF_EXPIRE 0x01 /* expire_ms present; an expnode points here */
#define KF_RAW 0x02    /* touched by ks_string_resize: encoding "raw" */
#define KF_NOINT 0x04  /* stored by KS_NOINT: "embstr"/"raw" by length, never "int" */
#define KF_UNSHARED 0x08 /* a copy (ks_copy): never one of Redis's shared integers */
#define KF_ENCODING (KF_RAW | KF_NOINT | KF_UNSHARED)

/* Redis 7.0's OBJ_SHARED_INTEGERS: values 0..9999 are shared objects. */
#define SHARED_INTEGERS 10000
/* Redis's OBJ_SHARED_REFCOUNT (INT_MAX). */
#define SHARED_REFCOUNT 2147483647L

/* Redis 7.0's OBJ_ENCODING_EMBSTR_SIZE_LIMIT. */
#define EMBSTR_MAX 44

struct kobj {
    dict_node node;
    uint32_t klen;
    uint32_t type : 3;
    uint32_t snap : 1;
    uint32_t flags : 4;
    uint32_t lru : 24;
    union {
        uint64_t vlen;
        void *ptr;
    } v;
    unsigned char data[];
};

_Static_assert(offsetof(struct kobj, data) == 24, "kobj header must stay 24 bytes");

/* The stamp new objects take (ks_set_new_lru), and whether integers
 * 0..9999 count as Redis's shared objects (ks_set_shared_integers). */
static uint32_t new_lru;
static int shared_integers = 1;

/* Incremental snapshots (ks_snap_begin): new objects take snap_parity, so
 * a key is pending exactly while its bit differs from it; snap_fn is set
 * while a snapshot runs. */
static unsigned snap_parity;
static ks_snap_fn snap_fn;
static void *snap_arg;

/* Hand o to the running snapshot before it changes (or goes). */
static inline void snap_touch(ks *k, kobj *o)
{
    if (snap_fn && o->snap != snap_parity) {
        snap_fn(snap_arg, k, o);
        o->snap = snap_parity & 1u;
    }
}

typedef struct expnode {
    dict_node node;
    kobj *o;
} expnode;

struct ks {
    dict keys;
    dict expires;
    uint64_t expire_cursor; /* dict_scan cursor of the active expiry cycle */
    int64_t avg_ttl;        /* Redis's running estimate, from expiry samples */
};

_Static_assert(sizeof(dict_iter) <= sizeof(((ks_iter *)0)->state), "ks_iter too small");

const dict *ks_keys_dict(const ks *k)
{
    return &k->keys;
}

const dict *ks_expires_dict(const ks *k)
{
    return &k->expires;
}

/* ---- Object layout ---- */

static inline size_t exp_bytes(const kobj *o)
{
    return (o->flags & KF_EXPIRE) ? sizeof(int64_t) : 0;
}

static inline unsigned char *key_ptr(const kobj *o)
{
    return (unsigned char *)o->data + exp_bytes(o);
}

static inline unsigned char *str_ptr(const kobj *o)
{
    return key_ptr(o) + o->klen;
}

/* Bytes stored inline after the key. */
static inline size_t inline_len(const kobj *o)
{
    return o->type == KT_STRING ? (size_t)o->v.vlen : 0;
}

static inline size_t obj_size(size_t klen, size_t slen, int has_expire)
{
    return offsetof(kobj, data) + (has_expire ? sizeof(int64_t) : 0) + klen + slen;
}

static inline int64_t get_expire(const kobj *o)
{
    int64_t at;
    memcpy(&at, o->data, sizeof at);
    return at;
}

static inline void put_expire(kobj *o, int64_t at)
{
    memcpy(o->data, &at, sizeof at);
}

/* Reuse an allocation for `need` bytes if it is big enough and not
 * wastefully big (a short value replacing a long one gets a new one). */
static inline int fits(size_t need, size_t have)
{
    return need <= have && have - need <= need + 64;
}

static inline int overlaps(const void *a, size_t alen, const void *b, size_t blen)
{
    const char *x = a, *y = b;
    return alen && blen && y < x + alen && x < y + blen;
}

/* A new, unlinked object; the caller fills the value. */
static kobj *obj_new(const void *key, size_t klen, int type, int has_expire, int64_t at,
                     size_t slen)
{
    assert(klen <= UINT32_MAX);
    kobj *o = kv_malloc(obj_size(klen, slen, has_expire));
    o->node.next = NULL;
    o->klen = (uint32_t)klen;
    o->type = (uint8_t)type & 7u;
    o->snap = snap_parity & 1u;
    o->flags = has_expire ? KF_EXPIRE : 0;
    o->lru = new_lru;
    o->v.vlen = slen;
    if (has_expire)
        put_expire(o, at);
    if (klen)
        memcpy(key_ptr(o), key, klen);
    return o;
}

static void free_value(int type, void *ptr)
{
    if (type == KT_LIST)
        list_free(ptr);
    else if (type == KT_HASH)
        hash_free(ptr);
    else if (type == KT_SET)
        set_free(ptr);
    else if (type == KT_ZSET)
        zset_free(ptr);
    else if (type == KT_STREAM)
        stream_free(ptr);
}

static void obj_free(kobj *o)
{
    free_value(o->type, o->v.ptr);
    kv_free(o);
}

/* ---- Lazy freeing (lazyfree.h) ---- */

/* Redis's LAZYFREE_THRESHOLD: a value whose freeing takes more than this
 * many steps goes to the lazyfree thread; cheaper ones are freed at once
 * (a job would cost more than it saves). */
#define LAZYFREE_THRESHOLD 64

static int lazy_server_del, lazy_expire;

void ks_set_lazyfree(int server_del, int expire)
{
    lazy_server_del = server_del;
    lazy_expire = expire;
}

int ks_lazy_server_del(void)
{
    return lazy_server_del;
}

/* Redis's lazyfreeGetFreeEffort: about how many allocations freeing the
 * value takes. Compact encodings are one; a list in its ring form, a
 * hashtable set or hash and a skiplist zset one per element; a stream one
 * per node, and per consumer group one plus the first group's PEL length
 * (Redis's estimate for all of them). */
static size_t value_effort(int type, void *ptr)
{
    switch (type) {
    case KT_LIST:
        return list_compact(ptr) ? 1 : list_len(ptr);
    case KT_HASH:
        return strcmp(hash_encoding(ptr), "hashtable") == 0 ? hash_len(ptr) : 1;
    case KT_SET:
        return strcmp(set_encoding(ptr), "hashtable") == 0 ? set_len(ptr) : 1;
    case KT_ZSET:
        return strcmp(zset_encoding(ptr), "skiplist") == 0 ? zset_len(ptr) : 1;
    case KT_STREAM: {
        kv_stream *st = ptr;
        size_t effort = stream_nodes(st), groups = stream_ngroups(st);
        if (groups)
            effort += groups * (1 + pel_len(&stream_group_at(st, 0)->pel));
        return effort;
    }
    default:
        return 1;
    }
}

size_t ks_free_effort(const kobj *o)
{
    return value_effort(o->type, o->v.ptr);
}

static void free_value_job(void *type, void *ptr)
{
    free_value((int)(intptr_t)type, ptr);
}

/* Free a value that nothing in the keyspace points to any more: on the
 * lazyfree thread when lazy and costly enough (one object), else now. */
static void drop_value(int type, void *ptr, int lazy)
{
    if (lazy && type != KT_STRING && value_effort(type, ptr) > LAZYFREE_THRESHOLD)
        lazyfree_submit(free_value_job, (void *)(intptr_t)type, ptr, 1);
    else
        free_value(type, ptr);
}

static void drop_obj(kobj *o, int lazy)
{
    drop_value(o->type, o->v.ptr, lazy);
    kv_free(o);
}

/* ---- Dict glue ---- */

static void kobj_key_of(const dict_node *n, const void **key, size_t *len)
{
    const kobj *o = (const kobj *)n;
    *key = key_ptr(o);
    *len = o->klen;
}

static void expnode_key_of(const dict_node *n, const void **key, size_t *len)
{
    kobj_key_of(&((const expnode *)n)->o->node, key, len);
}

/* The memory check of the databases' tables (ks_set_expand_check). */
static int (*expand_check)(void *arg, size_t more_mem);
static void *expand_check_arg;

void ks_set_expand_check(int (*fn)(void *arg, size_t more_mem), void *arg)
{
    expand_check = fn;
    expand_check_arg = arg;
}

static int db_expand_allowed(size_t more_mem, double load)
{
    (void)load;
    return !expand_check || expand_check(expand_check_arg, more_mem);
}

static const dict_type kobj_type_desc = {.key_of = kobj_key_of,
                                         .expand_allowed = db_expand_allowed};
static const dict_type expnode_type_desc = {.key_of = expnode_key_of,
                                            .expand_allowed = db_expand_allowed};

static void free_kobj_node(dict_node *n, void *arg)
{
    (void)arg;
    obj_free((kobj *)n);
}

static void free_expnode(dict_node *n, void *arg)
{
    (void)arg;
    kv_free(n);
}

static void exp_add(ks *k, kobj *o)
{
    expnode *e = kv_malloc(sizeof *e);
    e->node.next = NULL;
    e->o = o;
    dict_add(&k->expires, &e->node);
}

static void exp_del(ks *k, const kobj *o)
{
    dict_node *e = dict_remove(&k->expires, key_ptr(o), o->klen);
    assert(e && ((expnode *)e)->o == o);
    kv_free(e);
}

static expnode *exp_find(ks *k, const kobj *o)
{
    expnode *e = (expnode *)dict_find(&k->expires, key_ptr(o), o->klen);
    assert(e && e->o == o);
    return e;
}

/* Where a kobj is referenced from: its link in the keys dict and its
 * expnode (NULL without a TTL). Found while the object is intact; both stay
 * valid until the next call on the same dict. */
typedef struct refs {
    dict_node **link;
    expnode *exp;
} refs;

static refs find_refs(ks *k, const kobj *o)
{
    refs r;
    r.link = dict_find_ref(&k->keys, key_ptr(o), o->klen);
    assert(r.link && *r.link == &o->node);
    r.exp = (o->flags & KF_EXPIRE) ? exp_find(k, o) : NULL;
    return r;
}

/* Point everything that referenced the old object at n (after realloc, or
 * with n a fresh copy whose `next` the caller has not set). */
static void relink(refs r, kobj *n, dict_node *next)
{
    n->node.next = next;
    *r.link = &n->node;
    if (r.exp)
        r.exp->o = n;
}

/* ---- Keyspace ---- */

ks *ks_new(void)
{
    ks *k = kv_malloc(sizeof *k);
    dict_init(&k->keys, &kobj_type_desc);
    dict_init(&k->expires, &expnode_type_desc);
    k->expire_cursor = 0;
    k->avg_ttl = 0;
    return k;
}

/* A keyspace's tables on their way to the lazyfree thread. */
typedef struct detached {
    dict keys, expires;
} detached;

static void free_detached(void *arg, void *unused)
{
    (void)unused;
    detached *d = arg;
    dict_clear(&d->expires, free_expnode, NULL);
    dict_clear(&d->keys, free_kobj_node, NULL);
    kv_free(d);
}

void ks_clear_lazy(ks *k, int lazy)
{
    if (snap_fn) {
        ks_iter it;
        ks_iter_init(&it, k);
        kobj *o;
        while ((o = ks_iter_next(&it)))
            snap_touch(k, o);
        ks_iter_done(&it);
    }
    if (lazy && dict_size(&k->keys)) {
        /* Redis's emptyDbAsync: the tables go whole, whatever their size,
         * and count as one object per key. */
        detached *d = kv_malloc(sizeof *d);
        size_t n = dict_size(&k->keys);
        d->keys = k->keys;
        d->expires = k->expires;
        /* A walk under way (ks_walk) goes on over the new, empty table. */
        int walks = k->keys.iterators;
        dict_init(&k->keys, &kobj_type_desc);
        dict_init(&k->expires, &expnode_type_desc);
        k->keys.iterators = walks;
        lazyfree_submit(free_detached, d, NULL, n);
    } else {
        dict_clear(&k->expires, free_expnode, NULL);
        dict_clear(&k->keys, free_kobj_node, NULL);
    }
    k->expire_cursor = 0;
    k->avg_ttl = 0;
}

void ks_clear(ks *k)
{
    ks_clear_lazy(k, 0);
}

void ks_free(ks *k)
{
    if (!k)
        return;
    ks_clear(k);
    kv_free(k);
}

size_t ks_size(const ks *k)
{
    return dict_size(&k->keys);
}

size_t ks_expires(const ks *k)
{
    return dict_size(&k->expires);
}

void ks_overhead(const ks *k, size_t *main, size_t *expires)
{
    *main = dict_buckets(&k->keys) * sizeof(dict_node *) +
            dict_size(&k->keys) * offsetof(kobj, data);
    /* an expnode (with the allocator's header) and the expire field */
    *expires = dict_buckets(&k->expires) * sizeof(dict_node *) +
               dict_size(&k->expires) * (sizeof(expnode) + 2 * sizeof(int64_t));
}

int64_t ks_avg_ttl(const ks *k)
{
    return k->avg_ttl;
}

kobj *ks_find(ks *k, const void *key, size_t klen)
{
    kobj *o = (kobj *)dict_find(&k->keys, key, klen);
    if (o)
        snap_touch(k, o);
    return o;
}

/* ---- Incremental snapshots ---- */

void ks_snap_begin(ks_snap_fn fn, void *arg)
{
    assert(fn && !snap_fn);
    snap_parity ^= 1u;
    snap_fn = fn;
    snap_arg = arg;
}

void ks_snap_end(void)
{
    snap_fn = NULL;
    snap_arg = NULL;
}

int ks_snap_active(void)
{
    return snap_fn != NULL;
}

void ks_snap_visit(ks *k, kobj *o)
{
    snap_touch(k, o);
}

void ks_snap_settle(ks *k)
{
    ks_iter it;
    ks_iter_init(&it, k);
    kobj *o;
    while ((o = ks_iter_next(&it)))
        o->snap = snap_parity & 1u;
    ks_iter_done(&it);
}

/* ---- Object properties ---- */

int kobj_type(const kobj *o)
{
    return o->type;
}

const char *kobj_key(const kobj *o, size_t *klen)
{
    *klen = o->klen;
    return (const char *)key_ptr(o);
}

int64_t kobj_expire(const kobj *o)
{
    return (o->flags & KF_EXPIRE) ? get_expire(o) : -1;
}

/* Redis's string2ll acceptance: optional '-', no leading zeros ("0" alone
 * is fine, "-0" is not), no spaces or '+', fits in a signed 64-bit. The
 * magnitude goes to *mag (if not NULL); the sign is s[0] == '-'. */
static int canonical_int_magnitude(const unsigned char *s, size_t len, uint64_t *mag)
{
    if (len == 0 || len > 20)
        return 0;
    if (len == 1 && s[0] == '0') {
        if (mag)
            *mag = 0;
        return 1;
    }
    size_t i = s[0] == '-' ? 1 : 0;
    if (i == len || s[i] < '1' || s[i] > '9')
        return 0;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (mag)
        *mag = v;
    return s[0] == '-' ? v <= (uint64_t)INT64_MAX + 1 : v <= (uint64_t)INT64_MAX;
}

static int is_canonical_int(const unsigned char *s, size_t len)
{
    return canonical_int_magnitude(s, len, NULL);
}

const char *kobj_encoding(const kobj *o)
{
    switch (o->type) {
    case KT_STRING:
        if (o->flags & KF_RAW)
            return "raw";
        if (!(o->flags & KF_NOINT) && is_canonical_int(str_ptr(o), o->v.vlen))
            return "int";
        return o->v.vlen <= EMBSTR_MAX ? "embstr" : "raw";
    case KT_LIST:
        return "quicklist";
    case KT_SET:
        return set_encoding(o->v.ptr);
    case KT_ZSET:
        return zset_encoding(o->v.ptr);
    case KT_STREAM:
        return "stream";
    default:
        return hash_encoding(o->v.ptr);
    }
}

uint32_t kobj_lru(const kobj *o)
{
    return o->lru;
}

void kobj_set_lru(kobj *o, uint32_t v)
{
    o->lru = v & KS_LRU_MAX;
}

void ks_set_new_lru(uint32_t v)
{
    new_lru = v & KS_LRU_MAX;
}

void ks_set_shared_integers(int on)
{
    shared_integers = on != 0;
}

long kobj_refcount(const kobj *o)
{
    uint64_t v;
    if (o->type == KT_STRING && !(o->flags & KF_ENCODING) && o->v.vlen &&
        str_ptr(o)[0] != '-' && canonical_int_magnitude(str_ptr(o), o->v.vlen, &v) &&
        v < SHARED_INTEGERS)
        return SHARED_REFCOUNT;
    return 1;
}

size_t kobj_mem(const kobj *o)
{
    /* The object, its share of the keys dict's buckets, and its expnode
     * with allocator header and bucket share. */
    size_t m = kv_usable(o) + sizeof(dict_node *);
    if (o->flags & KF_EXPIRE)
        m += sizeof(expnode) + sizeof(size_t) + sizeof(dict_node *);
    if (o->type == KT_LIST)
        m += list_mem(o->v.ptr);
    else if (o->type == KT_HASH)
        m += hash_mem(o->v.ptr);
    else if (o->type == KT_SET)
        m += set_mem(o->v.ptr);
    else if (o->type == KT_ZSET)
        m += zset_mem(o->v.ptr);
    else if (o->type == KT_STREAM)
        m += stream_mem(o->v.ptr);
    return m;
}

/* ---- Strings ---- */

void ks_reserve(ks *k, size_t n)
{
    dict_reserve(&k->keys, n);
}

void ks_expand(ks *k, size_t n)
{
    dict_expand(&k->keys, n);
}

void ks_prefetch_next(ks_prefetcher *pf, ks *k, const void *key, size_t klen)
{
    unsigned i = pf->n % KS_PF_DEPTH, j = (pf->n + KS_PF_DEPTH - KS_PF_HALF) % KS_PF_DEPTH;
    pf->k[i] = k;
    if (k) {
        pf->hash[i] = dict_hash(key, klen);
        dict_prefetch(&k->keys, pf->hash[i], 0);
    }
    if (pf->n >= KS_PF_HALF && pf->k[j])
        dict_prefetch(&pf->k[j]->keys, pf->hash[j], 1);
    unsigned q = (pf->n + KS_PF_DEPTH - KS_PF_LATE) % KS_PF_DEPTH;
    if (pf->n >= KS_PF_LATE && pf->k[q])
        dict_prefetch(&pf->k[q]->keys, pf->hash[q], 2);
    pf->n++;
}

void ks_prefetch_keys(ks *k, const char *const *keys, const size_t *lens, size_t n)
{
    uint64_t h[KS_PF_DEPTH];
    if (n > KS_PF_DEPTH)
        n = KS_PF_DEPTH;
    for (size_t i = 0; i < n; i++) {
        h[i] = dict_hash(keys[i], lens[i]);
        dict_prefetch(&k->keys, h[i], 0);
    }
    for (size_t i = 0; i < n; i++)
        dict_prefetch(&k->keys, h[i], 1);
}

kobj *ks_set_string(ks *k, const void *key, size_t klen, const void *val, size_t vlen,
                    int flags)
{
    uint64_t hash;
    dict_node **link = dict_find_ref_hashed(&k->keys, key, klen, &hash);
    uint8_t enc = (flags & KS_NOINT) ? KF_NOINT : 0;
    if (!shared_integers)
        enc |= KF_UNSHARED;
    if (!link) {
        kobj *o = obj_new(key, klen, KT_STRING, 0, 0, vlen);
        o->flags |= enc;
        if (vlen)
            memcpy(str_ptr(o), val, vlen);
        dict_add_hashed(&k->keys, &o->node, hash);
        return o;
    }
    kobj *o = (kobj *)*link;
    snap_touch(k, o);
    int had_ttl = (o->flags & KF_EXPIRE) != 0;
    int keep = had_ttl && (flags & KS_KEEPTTL);
    int old_type = o->type;
    void *old_ptr = o->v.ptr; /* an old list/hash: val may point into it */
    size_t need = obj_size(o->klen, vlen, keep), have = kv_usable(o);

    if (fits(need, have) && !overlaps(o, have, val, vlen)) {
        if (had_ttl && !keep) {
            exp_del(k, o);
            memmove(o->data, o->data + sizeof(int64_t), o->klen);
            o->flags &= (uint8_t)~KF_EXPIRE;
        }
        o->type = KT_STRING;
        o->flags = (uint8_t)((o->flags & ~KF_ENCODING) | enc);
        o->v.vlen = vlen;
        if (vlen)
            memcpy(str_ptr(o), val, vlen);
    } else {
        refs r = {link, NULL};
        if (keep)
            r.exp = exp_find(k, o);
        else if (had_ttl)
            exp_del(k, o);
        kobj *n = obj_new(key_ptr(o), o->klen, KT_STRING, keep, keep ? get_expire(o) : 0, vlen);
        n->flags |= enc;
        n->lru = o->lru; /* an overwrite keeps the access stamp */
        if (vlen)
            memcpy(str_ptr(n), val, vlen);
        relink(r, n, o->node.next);
        kv_free(o);
        o = n;
    }
    if (old_type != KT_STRING)
        drop_value(old_type, old_ptr, lazy_server_del);
    return o;
}

const char *kobj_str(const kobj *o, size_t *vlen)
{
    assert(o->type == KT_STRING);
    *vlen = (size_t)o->v.vlen;
    return (const char *)str_ptr(o);
}

char *ks_string_resize(ks *k, kobj **op, size_t newlen)
{
    kobj *o = *op;
    assert(o->type == KT_STRING);
    snap_touch(k, o);
    size_t old = (size_t)o->v.vlen;
    size_t need = obj_size(o->klen, newlen, o->flags & KF_EXPIRE), have = kv_usable(o);
    if (need > have || (have > 256 && need < have / 4)) {
        /* Grow greedily, as sds does for APPEND: double up to 1 MiB, then
         * 1 MiB at a time. Shrink to fit. A string grown from nothing (a
         * key SETRANGE or SETBIT creates) gets its exact size, as Redis's
         * sdsnewlen. */
        size_t want = need;
        if (need > have && old > 0)
            want = need < ((size_t)1 << 20) ? need * 2 : need + ((size_t)1 << 20);
        refs r = find_refs(k, o);
        dict_node *next = o->node.next;
        kobj *n = kv_realloc(o, want);
        relink(r, n, next);
        o = n;
    }
    if (newlen > old)
        memset(str_ptr(o) + old, 0, newlen - old);
    o->v.vlen = newlen;
    o->flags |= KF_RAW;
    *op = o;
    return (char *)str_ptr(o);
}

/* ---- Lists and hashes ---- */

static kobj *add_container(ks *k, const void *key, size_t klen, int type, void *ptr)
{
    assert(dict_find(&k->keys, key, klen) == NULL);
    kobj *o = obj_new(key, klen, type, 0, 0, 0);
    o->v.ptr = ptr;
    dict_add(&k->keys, &o->node);
    return o;
}

kobj *ks_add_list(ks *k, const void *key, size_t klen)
{
    return add_container(k, key, klen, KT_LIST, list_new());
}

kobj *ks_add_hash(ks *k, const void *key, size_t klen)
{
    return add_container(k, key, klen, KT_HASH, hash_new());
}

kobj *ks_add_list_value(ks *k, const void *key, size_t klen, kv_list *l)
{
    return add_container(k, key, klen, KT_LIST, l);
}

kobj *ks_add_hash_value(ks *k, const void *key, size_t klen, kv_hash *h)
{
    return add_container(k, key, klen, KT_HASH, h);
}

kobj *ks_add_set(ks *k, const void *key, size_t klen, kv_set *s)
{
    return add_container(k, key, klen, KT_SET, s);
}

kobj *ks_add_zset(ks *k, const void *key, size_t klen, kv_zset *z)
{
    return add_container(k, key, klen, KT_ZSET, z);
}

kobj *ks_add_stream(ks *k, const void *key, size_t klen, kv_stream *s)
{
    return add_container(k, key, klen, KT_STREAM, s);
}

kv_stream *kobj_stream(kobj *o)
{
    assert(o->type == KT_STREAM);
    return o->v.ptr;
}

kv_set *kobj_set(kobj *o)
{
    assert(o->type == KT_SET);
    return o->v.ptr;
}

int kobj_set_add(kobj *o, const void *m, size_t n)
{
    assert(o->type == KT_SET);
    kv_set *s = o->v.ptr;
    int r = set_add(&s, m, n);
    o->v.ptr = s;
    return r;
}

int kobj_set_remove(kobj *o, const void *m, size_t n)
{
    assert(o->type == KT_SET);
    kv_set *s = o->v.ptr;
    int r = set_remove(&s, m, n);
    o->v.ptr = s;
    return r;
}

kv_zset *kobj_zset(kobj *o)
{
    assert(o->type == KT_ZSET);
    return o->v.ptr;
}

kv_list *kobj_list(kobj *o)
{
    assert(o->type == KT_LIST);
    return o->v.ptr;
}

kv_hash *kobj_hash(kobj *o)
{
    assert(o->type == KT_HASH);
    return o->v.ptr;
}

static kv_list *list_copy(kv_list *src)
{
    kv_list *l = list_new();
    size_t n = list_len(src);
    for (size_t i = 0; i < n; i++) {
        const char *p;
        size_t len;
        list_get(src, i, &p, &len);
        list_push(l, LIST_TAIL, p, len);
    }
    return l;
}

/* ---- Whole keys ---- */

int ks_delete_lazy(ks *k, const void *key, size_t klen, int lazy)
{
    if (snap_fn) {
        kobj *old = (kobj *)dict_find(&k->keys, key, klen);
        if (old)
            snap_touch(k, old);
    }
    kobj *o = (kobj *)dict_remove(&k->keys, key, klen);
    if (!o)
        return 0;
    if (o->flags & KF_EXPIRE)
        exp_del(k, o);
    drop_obj(o, lazy);
    return 1;
}

int ks_delete(ks *k, const void *key, size_t klen)
{
    return ks_delete_lazy(k, key, klen, lazy_server_del);
}

kobj *ks_set_expire(ks *k, kobj *o, int64_t at_ms)
{
    snap_touch(k, o);
    size_t body = o->klen + inline_len(o);
    if (at_ms < 0) {
        if (o->flags & KF_EXPIRE) {
            exp_del(k, o);
            memmove(o->data, o->data + sizeof(int64_t), body);
            o->flags &= (uint8_t)~KF_EXPIRE;
        }
        return o;
    }
    if (o->flags & KF_EXPIRE) {
        put_expire(o, at_ms);
        return o;
    }
    size_t need = obj_size(o->klen, inline_len(o), 1);
    if (need > kv_usable(o)) {
        refs r = find_refs(k, o); /* no expnode yet */
        dict_node *next = o->node.next;
        kobj *n = kv_realloc(o, need);
        relink(r, n, next);
        o = n;
    }
    memmove(o->data + sizeof(int64_t), o->data, body);
    o->flags |= KF_EXPIRE;
    put_expire(o, at_ms);
    exp_add(k, o);
    return o;
}

kobj *ks_rename(ks *k, kobj *src, const void *dstkey, size_t dstlen)
{
    assert(!(dstlen == src->klen && memcmp(dstkey, key_ptr(src), dstlen) == 0));
    snap_touch(k, src);
    int has_ttl = (src->flags & KF_EXPIRE) != 0;
    size_t slen = inline_len(src);
    kobj *n = obj_new(dstkey, dstlen, src->type, has_ttl, has_ttl ? get_expire(src) : 0, slen);
    n->flags = src->flags;
    n->lru = src->lru; /* the value moves, with its access stamp */
    n->v = src->v; /* a list/hash moves with its pointer */
    if (slen)
        memcpy(str_ptr(n), str_ptr(src), slen);

    /* Unlink src (keeping its expnode for n), then drop the old dst. */
    expnode *e = has_ttl ? (expnode *)dict_remove(&k->expires, key_ptr(src), src->klen) : NULL;
    dict_node *gone = dict_remove(&k->keys, key_ptr(src), src->klen);
    assert(gone == &src->node);
    (void)gone;
    kv_free(src);
    ks_delete(k, key_ptr(n), dstlen);

    dict_add(&k->keys, &n->node);
    if (e) {
        e->o = n;
        dict_add(&k->expires, &e->node);
    }
    return n;
}

kobj *ks_copy(ks *k, kobj *src, const void *dstkey, size_t dstlen)
{
    if (dstlen == src->klen && memcmp(dstkey, key_ptr(src), dstlen) == 0 &&
        dict_find(&k->keys, dstkey, dstlen) == &src->node)
        return src;
    int has_ttl = (src->flags & KF_EXPIRE) != 0;
    size_t slen = inline_len(src);
    kobj *n = obj_new(dstkey, dstlen, src->type, has_ttl, has_ttl ? get_expire(src) : 0, slen);
    n->flags = src->flags | KF_UNSHARED;
    if (src->type == KT_STRING) {
        if (slen)
            memcpy(str_ptr(n), str_ptr(src), slen);
    } else if (src->type == KT_LIST) {
        n->v.ptr = list_copy(src->v.ptr);
    } else if (src->type == KT_SET) {
        n->v.ptr = set_dup(src->v.ptr);
    } else if (src->type == KT_ZSET) {
        n->v.ptr = zset_dup(src->v.ptr);
    } else if (src->type == KT_STREAM) {
        n->v.ptr = stream_dup(src->v.ptr);
    } else {
        n->v.ptr = hash_dup(src->v.ptr);
    }
    ks_delete(k, key_ptr(n), dstlen);
    dict_add(&k->keys, &n->node);
    if (has_ttl)
        exp_add(k, n);
    return n;
}

kobj *ks_move(ks *src, kobj *o, ks *dst)
{
    assert(src != dst && !dict_find(&dst->keys, key_ptr(o), o->klen));
    snap_touch(src, o); /* it leaves src as it was, and is no key of dst's image */
    dict_node *gone = dict_remove(&src->keys, key_ptr(o), o->klen);
    assert(gone == &o->node);
    (void)gone;
    expnode *e = NULL;
    if (o->flags & KF_EXPIRE) {
        e = (expnode *)dict_remove(&src->expires, key_ptr(o), o->klen);
        assert(e && e->o == o);
    }
    o->node.next = NULL;
    dict_add(&dst->keys, &o->node);
    if (e) {
        e->node.next = NULL;
        dict_add(&dst->expires, &e->node);
    }
    return o;
}

/* ---- Random, scan, rehash ---- */

kobj *ks_random(ks *k, uint64_t rnd)
{
    return (kobj *)dict_random(&k->keys, rnd);
}

kobj *ks_random_fair(ks *k, uint64_t rnd)
{
    return (kobj *)dict_random_fair(&k->keys, rnd);
}

kobj *ks_random_expiring(ks *k, uint64_t rnd)
{
    expnode *e = (expnode *)dict_random(&k->expires, rnd);
    return e ? e->o : NULL;
}

size_t ks_sample(ks *k, int expiring, kobj **out, size_t n, uint64_t rnd)
{
    if (!expiring)
        return dict_sample(&k->keys, (dict_node **)out, n, rnd);
    size_t got = dict_sample(&k->expires, (dict_node **)out, n, rnd);
    for (size_t i = 0; i < got; i++)
        out[i] = ((expnode *)out[i])->o;
    return got;
}

typedef struct scan_ctx {
    void (*fn)(void *arg, kobj *o);
    void *arg;
} scan_ctx;

static void scan_one(void *arg, dict_node *n)
{
    scan_ctx *c = arg;
    c->fn(c->arg, (kobj *)n);
}

uint64_t ks_scan(ks *k, uint64_t cursor, void (*fn)(void *arg, kobj *o), void *arg)
{
    scan_ctx c = {fn, arg};
    return dict_scan(&k->keys, cursor, scan_one, &c);
}

_Static_assert(sizeof(ks_walk) >= sizeof(dict_walk), "ks_walk too small");

void ks_walk_begin(ks_walk *w, ks *k)
{
    dict_walk_begin((dict_walk *)w->state, &k->keys);
}

int ks_walk_step(ks_walk *w, size_t buckets, void (*fn)(void *arg, kobj *o), void *arg)
{
    scan_ctx c = {fn, arg};
    return dict_walk_step((dict_walk *)w->state, buckets, scan_one, &c);
}

void ks_walk_end(ks_walk *w)
{
    dict_walk_end((dict_walk *)w->state);
}

int ks_rehash_ms(ks *k, int ms)
{
    /* One dict per call, as Redis's incrementallyRehash: the keys first. */
    if (dict_is_rehashing(&k->keys))
        dict_rehash_ms(&k->keys, ms);
    else if (dict_is_rehashing(&k->expires))
        dict_rehash_ms(&k->expires, ms);
    else
        return 0;
    return 1;
}

/* ---- Active expiry ---- */

/* What one dict_scan step of the expiry index found: every expnode seen
 * is counted; expired objects are collected to be deleted once the scan
 * step has returned (dict_scan's callback must not modify the dict). */
typedef struct sample {
    int64_t now;
    size_t seen;
    int64_t ttl_sum; /* TTLs of the sampled keys still live (avg_ttl) */
    size_t ttl_samples;
    kobj **due;
    size_t ndue, cap;
    kobj *inline_due[32];
} sample;

static void sample_one(void *arg, dict_node *n)
{
    sample *s = arg;
    kobj *o = ((expnode *)n)->o;
    s->seen++;
    int64_t at = get_expire(o);
    if (at > s->now) {
        if (at - s->now < INT64_MAX - s->ttl_sum) {
            s->ttl_sum += at - s->now;
            s->ttl_samples++;
        }
        return;
    }
    if (s->ndue == s->cap) {
        size_t cap = s->cap * 2;
        if (s->due == s->inline_due) {
            s->due = kv_malloc(cap * sizeof *s->due);
            memcpy(s->due, s->inline_due, sizeof s->inline_due);
        } else {
            s->due = kv_realloc(s->due, cap * sizeof *s->due);
        }
        s->cap = cap;
    }
    s->due[s->ndue++] = o;
}

size_t ks_expire_cycle(ks *k, int64_t now_ms, size_t samples,
                       void (*before_delete)(void *arg, const char *key, size_t klen),
                       void *arg)
{
    sample s;
    s.now = now_ms;
    s.seen = 0;
    s.ttl_sum = 0;
    s.ttl_samples = 0;
    s.due = s.inline_due;
    s.cap = sizeof s.inline_due / sizeof s.inline_due[0];
    /* Like Redis's activeExpireCycle: stop after `samples` entries, after
     * a whole pass over the index, or after 20 scan steps per wanted sample
     * (a sparse table must not make one call slow). */
    size_t removed = 0, steps = 0, max_steps = samples * 20;
    int from_start = k->expire_cursor == 0, wrapped = 0;
    while (s.seen < samples && steps < max_steps && dict_size(&k->expires) > 0) {
        s.ndue = 0;
        k->expire_cursor = dict_scan(&k->expires, k->expire_cursor, sample_one, &s);
        steps++;
        for (size_t i = 0; i < s.ndue; i++) {
            kobj *o = s.due[i];
            if (before_delete)
                before_delete(arg, (const char *)key_ptr(o), o->klen);
            ks_delete_lazy(k, key_ptr(o), o->klen, lazy_expire);
            removed++;
        }
        /* A pass ends when the cursor comes back to 0: stop once this call
         * has covered the whole index (from 0 to 0, or across the end and
         * round to 0 again). */
        if (k->expire_cursor == 0) {
            if (from_start || wrapped)
                break;
            wrapped = 1;
        }
    }
    if (s.due != s.inline_due)
        kv_free(s.due);
    /* Redis's running average: the new sample weighs 2%. */
    if (s.ttl_samples) {
        int64_t avg = s.ttl_sum / (int64_t)s.ttl_samples;
        if (k->avg_ttl == 0)
            k->avg_ttl = avg;
        k->avg_ttl = (k->avg_ttl / 50) * 49 + avg / 50;
    }
    return removed;
}

/* ---- Iteration and digest ---- */

void ks_iter_init(ks_iter *it, ks *k)
{
    dict_iter_init((dict_iter *)it->state, &k->keys);
}

kobj *ks_iter_next(ks_iter *it)
{
    return (kobj *)dict_iter_next((dict_iter *)it->state);
}

void ks_iter_done(ks_iter *it)
{
    dict_iter_done((dict_iter *)it->state);
}

static void put_u64(sha1_ctx *c, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    sha1_update(c, b, sizeof b);
}

/* Length-prefixed bytes, so adjacent fields cannot run into each other. */
static void put_bytes(sha1_ctx *c, const void *p, size_t n)
{
    put_u64(c, n);
    sha1_update(c, p, n);
}

static void xor_into(uint8_t acc[20], const uint8_t d[20])
{
    for (int i = 0; i < 20; i++)
        acc[i] ^= d[i];
}

/* Field order does not matter: XOR of one digest per (field, value). */
static void digest_hash(sha1_ctx *c, kv_hash *h)
{
    uint8_t acc[20] = {0}, d[20];
    hash_iter it;
    const char *f, *v;
    size_t flen, vlen;
    hash_iter_init(&it, h);
    while (hash_iter_next(&it, &f, &flen, &v, &vlen)) {
        sha1_ctx fc;
        sha1_init(&fc);
        put_bytes(&fc, f, flen);
        put_bytes(&fc, v, vlen);
        sha1_final(&fc, d);
        xor_into(acc, d);
    }
    hash_iter_done(&it);
    put_u64(c, hash_len(h));
    sha1_update(c, acc, sizeof acc);
}

/* Member order does not matter: XOR of one digest per member. */
static void digest_set(sha1_ctx *c, kv_set *s)
{
    uint8_t acc[20] = {0}, d[20];
    set_iter it;
    const char *m;
    size_t n;
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &n)) {
        sha1_ctx mc;
        sha1_init(&mc);
        put_bytes(&mc, m, n);
        sha1_final(&mc, d);
        xor_into(acc, d);
    }
    set_iter_done(&it);
    put_u64(c, set_len(s));
    sha1_update(c, acc, sizeof acc);
}

/* A sorted set's order follows from its (member, score) pairs: digest
 * them in order, the score as Redis prints it, except that -0 counts as
 * 0: whether a -0 survives depends on the encoding (a listpack stores it
 * as 0, as Redis's does), and the encoding depends on configuration that
 * a restart may not share. */
static void digest_zset(sha1_ctx *c, kv_zset *z)
{
    size_t len = zset_len(z);
    put_u64(c, len);
    if (!len)
        return;
    zset_iter it;
    const char *m;
    size_t n;
    double score;
    zset_iter_init(&it, z, 0, 0);
    while (zset_iter_next(&it, &m, &n, &score)) {
        char buf[ZSET_SCOREBUF];
        put_bytes(c, m, n);
        put_bytes(c, buf, zset_fmt_score(buf, score == 0 ? 0.0 : score));
    }
}

static void put_sid(sha1_ctx *c, sid id)
{
    put_u64(c, id.ms);
    put_u64(c, id.seq);
}

/* A stream: its entries in order, its metadata, and each group with its
 * PEL (owner, delivery count and time) and consumer names. Consumers'
 * seen-time is left out: it is the time the consumer was last used on
 * this node, which a replay does not reproduce (as Redis's). */
static void digest_stream(sha1_ctx *c, kv_stream *s)
{
    sid all0 = {0, 0}, all1 = {UINT64_MAX, UINT64_MAX};
    put_u64(c, stream_len(s));
    put_sid(c, stream_last_id(s));
    put_sid(c, stream_first_id(s));
    put_sid(c, stream_max_deleted(s));
    put_u64(c, stream_entries_added(s));
    stream_iter it;
    stream_iter_init(&it, s, all0, all1, 0);
    sid id;
    size_t np;
    while (stream_iter_next(&it, &id, &np)) {
        put_sid(c, id);
        put_u64(c, np);
        for (size_t i = 0; i < np; i++) {
            const char *f, *v;
            size_t fl, vl;
            stream_iter_pair(&it, &f, &fl, &v, &vl);
            put_bytes(c, f, fl);
            put_bytes(c, v, vl);
        }
    }
    put_u64(c, stream_ngroups(s));
    for (size_t g = 0; g < stream_ngroups(s); g++) {
        stream_group *grp = stream_group_at(s, g);
        put_bytes(c, grp->name, grp->nlen);
        put_sid(c, grp->last_id);
        put_u64(c, (uint64_t)grp->entries_read);
        put_u64(c, pel_len(&grp->pel));
        for (size_t i = 0; i < pel_len(&grp->pel); i++) {
            stream_nack *n = pel_at(&grp->pel, i);
            put_sid(c, n->id);
            put_bytes(c, n->consumer->name, n->consumer->nlen);
            put_u64(c, n->delivery_count);
            put_u64(c, (uint64_t)n->delivery_time);
        }
        put_u64(c, grp->nconsumers);
        for (size_t i = 0; i < grp->nconsumers; i++)
            put_bytes(c, grp->consumers[i]->name, grp->consumers[i]->nlen);
    }
}

/* The digest of one key: its type, name (with_name) and value, and its
 * expire time (with_name) or only whether it has one (!with_name, as
 * Redis's DEBUG DIGEST-VALUE, which leaves the key's name out). */
static void digest_obj(kobj *o, int with_name, uint8_t out[20])
{
    sha1_ctx c;
    sha1_init(&c);
    uint8_t type = o->type;
    sha1_update(&c, &type, 1);
    if (with_name) {
        put_bytes(&c, key_ptr(o), o->klen);
        put_u64(&c, (uint64_t)kobj_expire(o));
    } else {
        uint8_t has_expire = kobj_expire(o) >= 0;
        sha1_update(&c, &has_expire, 1);
    }
    if (o->type == KT_STRING) {
        put_bytes(&c, str_ptr(o), (size_t)o->v.vlen);
    } else if (o->type == KT_LIST) {
        kv_list *l = o->v.ptr;
        size_t n = list_len(l);
        put_u64(&c, n);
        for (size_t i = 0; i < n; i++) {
            const char *p;
            size_t len;
            list_get(l, i, &p, &len);
            put_bytes(&c, p, len);
        }
    } else if (o->type == KT_SET) {
        digest_set(&c, o->v.ptr);
    } else if (o->type == KT_ZSET) {
        digest_zset(&c, o->v.ptr);
    } else if (o->type == KT_STREAM) {
        digest_stream(&c, o->v.ptr);
    } else {
        digest_hash(&c, o->v.ptr);
    }
    sha1_final(&c, out);
}

static void digest_key(kobj *o, uint8_t out[20])
{
    digest_obj(o, 1, out);
}

static void xor_keys(ks *k, uint8_t acc[20])
{
    uint8_t d[20];
    ks_iter it;
    ks_iter_init(&it, k);
    for (kobj *o; (o = ks_iter_next(&it));) {
        digest_key(o, d);
        xor_into(acc, d);
    }
    ks_iter_done(&it);
}

static void to_hex(const uint8_t acc[20], char out[41])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        out[2 * i] = hex[acc[i] >> 4];
        out[2 * i + 1] = hex[acc[i] & 15];
    }
    out[40] = '\0';
}

void ks_digest_value(kobj *o, char out[41])
{
    uint8_t d[20] = {0};
    if (o)
        digest_obj(o, 0, d);
    to_hex(d, out);
}

void ks_digest(ks *k, char out[41])
{
    uint8_t acc[20] = {0};
    xor_keys(k, acc);
    to_hex(acc, out);
}

void ks_digest_dbs(ks *const *dbs, int n, char out[41])
{
    uint8_t acc[20] = {0};
    for (int j = 0; j < n; j++) {
        if (!ks_size(dbs[j]))
            continue;
        /* As Redis's computeDatasetDigest: mix the database's number in
         * (acc = SHA1(acc ^ SHA1(id))), so the same keys in another
         * database digest differently; then XOR in the keys. */
        uint8_t id[4] = {(uint8_t)(j >> 24), (uint8_t)(j >> 16), (uint8_t)(j >> 8), (uint8_t)j};
        uint8_t d[20];
        sha1_ctx c;
        sha1_init(&c);
        sha1_update(&c, id, sizeof id);
        sha1_final(&c, d);
        xor_into(acc, d);
        sha1_init(&c);
        sha1_update(&c, acc, sizeof acc);
        sha1_final(&c, acc);
        xor_keys(dbs[j], acc);
    }
    to_hex(acc, out);
}

/* ------------------------------------------------------------------------ */
/* Aux records                                                               */
/* ------------------------------------------------------------------------ */

/* A handful of records (function libraries), kept sorted by name: a plain
 * array is all they need. */
typedef struct aux_rec {
    char *name, *val; /* kv_memdup'd */
    size_t nlen, vlen;
} aux_rec;

struct ks_aux {
    aux_rec *v;
    size_t n, cap;
};

/* One set per process, whichever database's keyspace is named: functions
 * belong to the server, not to a database (SWAPDB and FLUSHDB leave them
 * where they are). */
static struct ks_aux aux_store;

static uint64_t aux_generation = 1;

uint64_t ks_aux_gen(void)
{
    return aux_generation;
}

static int aux_cmp(const aux_rec *r, const char *name, size_t nlen)
{
    size_t m = r->nlen < nlen ? r->nlen : nlen;
    int c = memcmp(r->name, name, m);
    return c ? c : (r->nlen > nlen) - (r->nlen < nlen);
}

/* Index of name, or -(insertion point) - 1. */
static long aux_find(const ks *k, const char *name, size_t nlen)
{
    (void)k;
    size_t lo = 0, hi = aux_store.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = aux_cmp(&aux_store.v[mid], name, nlen);
        if (!c)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

void ks_aux_set(ks *k, const char *name, size_t nlen, const void *val, size_t vlen)
{
    (void)k;
    struct ks_aux *a = &aux_store;
    long i = aux_find(k, name, nlen);
    char *copy = kv_memdup(val, vlen);
    aux_generation++;
    if (i >= 0) {
        kv_free(a->v[i].val);
        a->v[i].val = copy;
        a->v[i].vlen = vlen;
        return;
    }
    size_t at = (size_t)(-i - 1);
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = kv_realloc(a->v, a->cap * sizeof *a->v);
    }
    memmove(a->v + at + 1, a->v + at, (a->n - at) * sizeof *a->v);
    a->v[at].name = kv_memdup(name, nlen);
    a->v[at].nlen = nlen;
    a->v[at].val = copy;
    a->v[at].vlen = vlen;
    a->n++;
}

int ks_aux_del(ks *k, const char *name, size_t nlen)
{
    long i = aux_find(k, name, nlen);
    if (i < 0)
        return 0;
    struct ks_aux *a = &aux_store;
    kv_free(a->v[i].name);
    kv_free(a->v[i].val);
    memmove(a->v + i, a->v + i + 1, (a->n - (size_t)i - 1) * sizeof *a->v);
    a->n--;
    aux_generation++;
    return 1;
}

const char *ks_aux_get(const ks *k, const char *name, size_t nlen, size_t *vlen)
{
    long i = aux_find(k, name, nlen);
    if (i < 0)
        return NULL;
    *vlen = aux_store.v[i].vlen;
    return aux_store.v[i].val;
}

size_t ks_aux_count(const ks *k)
{
    (void)k;
    return aux_store.n;
}

void ks_aux_at(const ks *k, size_t i, const char **name, size_t *nlen, const char **val,
               size_t *vlen)
{
    (void)k;
    const aux_rec *r = &aux_store.v[i];
    *name = r->name;
    *nlen = r->nlen;
    *val = r->val;
    *vlen = r->vlen;
}

void ks_aux_clear(ks *k)
{
    (void)k;
    if (!aux_store.n)
        return;
    for (size_t i = 0; i < aux_store.n; i++) {
        kv_free(aux_store.v[i].name);
        kv_free(aux_store.v[i].val);
    }
    kv_free(aux_store.v);
    aux_store.v = NULL;
    aux_store.n = aux_store.cap = 0;
    aux_generation++;
}
