/* tstream.c — the stream value type (see tstream.h for the layout). */
#include "tstream.h"

#include "mem.h"
#include "rdb_codec.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

size_t stream_node_max_bytes = 4096;
size_t stream_node_max_entries = 100;

/* Redis's STREAM_LISTPACK_MAX_SIZE: a node never grows past 1 GiB. */
#define NODE_HARD_MAX (1u << 30)
#define F_DELETED 1
#define F_SAMEFIELDS 2 /* fields as the node's first entry: only values stored */

typedef struct snode {
    sid master;      /* the first entry's ID: deltas are taken from it */
    uint32_t count;  /* entries stored, deleted ones included */
    uint32_t live;   /* entries not deleted */
    uint32_t *offs;  /* offset of each entry in buf */
    uint32_t capoffs;
    uint8_t *buf;
    size_t len, cap;
    size_t lpfixed; /* bytes of this node as Redis's listpack, but for the
                       live and deleted counters of its master entry */
} snode;

struct kv_stream {
    snode **nodes;
    size_t nnodes, capnodes;
    uint64_t length;
    sid last_id, first_id, max_deleted;
    uint64_t entries_added;
    stream_group **groups; /* sorted by name */
    size_t ngroups, capgroups;
};

/* ---- IDs ---- */

int sid_incr(sid *a)
{
    if (a->seq == UINT64_MAX) {
        if (a->ms == UINT64_MAX)
            return 0;
        a->ms++;
        a->seq = 0;
    } else {
        a->seq++;
    }
    return 1;
}

int sid_decr(sid *a)
{
    if (a->seq == 0) {
        if (a->ms == 0)
            return 0;
        a->ms--;
        a->seq = UINT64_MAX;
    } else {
        a->seq--;
    }
    return 1;
}

int sid_fmt(char *buf, sid id)
{
    return snprintf(buf, SID_MAXSTR, "%llu-%llu", (unsigned long long)id.ms,
                    (unsigned long long)id.seq);
}

/* ---- varints ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static uint64_t get_varint(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    int shift = 0;
    for (;;) {
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        shift += 7;
    }
    *pp = p;
    return v;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* ---- nodes ---- */

static void node_free(snode *n)
{
    if (!n)
        return;
    kv_free(n->offs);
    kv_free(n->buf);
    kv_free(n);
}

static snode *node_dup(const snode *n)
{
    snode *d = kv_malloc(sizeof *d);
    *d = *n;
    d->offs = kv_malloc((n->capoffs ? n->capoffs : 1) * sizeof *d->offs);
    memcpy(d->offs, n->offs, n->count * sizeof *d->offs);
    d->buf = kv_malloc(n->cap ? n->cap : 1);
    memcpy(d->buf, n->buf, n->len);
    return d;
}

/* Decode the header of the entry at offset off: flags, ID, pair count;
 * returns a pointer to its first field. */
static const uint8_t *entry_head(const snode *n, uint32_t off, int *flags, sid *id,
                                 size_t *npairs)
{
    const uint8_t *p = n->buf + off;
    *flags = *p++;
    uint64_t dms = get_varint(&p);
    uint64_t seq = get_varint(&p);
    id->ms = n->master.ms + dms;
    id->seq = seq;
    *npairs = (size_t)get_varint(&p);
    return p;
}

static sid entry_id(const snode *n, uint32_t i)
{
    int fl;
    sid id;
    size_t np;
    entry_head(n, n->offs[i], &fl, &id, &np);
    return id;
}

static int entry_deleted(const snode *n, uint32_t i)
{
    return n->buf[n->offs[i]] & F_DELETED;
}

/* ---- stream ---- */

kv_stream *stream_new(void)
{
    return kv_calloc(1, sizeof(kv_stream));
}

static void pel_free_array(stream_pel *p)
{
    kv_free(p->v);
    memset(p, 0, sizeof *p);
}

static void group_free(stream_group *g)
{
    for (size_t i = 0; i < pel_len(&g->pel); i++)
        kv_free(pel_at(&g->pel, i));
    pel_free_array(&g->pel);
    for (size_t i = 0; i < g->nconsumers; i++) {
        stream_consumer *c = g->consumers[i];
        pel_free_array(&c->pel);
        kv_free(c->name);
        kv_free(c);
    }
    kv_free(g->consumers);
    kv_free(g->name);
    kv_free(g);
}

void stream_free(kv_stream *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nnodes; i++)
        node_free(s->nodes[i]);
    kv_free(s->nodes);
    for (size_t i = 0; i < s->ngroups; i++)
        group_free(s->groups[i]);
    kv_free(s->groups);
    kv_free(s);
}

static void pel_insert_at(stream_pel *p, size_t i, stream_nack *n);

kv_stream *stream_dup(const kv_stream *s)
{
    kv_stream *d = kv_calloc(1, sizeof *d);
    *d = *s;
    d->nodes = kv_malloc((s->capnodes ? s->capnodes : 1) * sizeof *d->nodes);
    for (size_t i = 0; i < s->nnodes; i++)
        d->nodes[i] = node_dup(s->nodes[i]);
    d->groups = NULL;
    d->ngroups = d->capgroups = 0;
    for (size_t gi = 0; gi < s->ngroups; gi++) {
        const stream_group *g = s->groups[gi];
        stream_group *ng = stream_group_create(d, g->name, g->nlen, g->last_id, g->entries_read);
        for (size_t ci = 0; ci < g->nconsumers; ci++)
            group_consumer_create(ng, g->consumers[ci]->name, g->consumers[ci]->nlen,
                                  g->consumers[ci]->seen_time);
        for (size_t i = 0; i < pel_len(&g->pel); i++) {
            const stream_nack *n = pel_at(&g->pel, i);
            stream_consumer *c = group_consumer_find(ng, n->consumer->name, n->consumer->nlen);
            stream_nack *m = group_pel_add(ng, c, n->id, n->delivery_time);
            m->delivery_count = n->delivery_count;
        }
    }
    return d;
}

size_t stream_mem(const kv_stream *s)
{
    size_t m = kv_usable(s) + kv_usable(s->nodes) + kv_usable(s->groups);
    for (size_t i = 0; i < s->nnodes; i++)
        m += kv_usable(s->nodes[i]) + kv_usable(s->nodes[i]->offs) + kv_usable(s->nodes[i]->buf);
    for (size_t gi = 0; gi < s->ngroups; gi++) {
        const stream_group *g = s->groups[gi];
        m += kv_usable(g) + kv_usable(g->name) + kv_usable(g->pel.v) + kv_usable(g->consumers);
        m += pel_len(&g->pel) * sizeof(stream_nack);
        for (size_t ci = 0; ci < g->nconsumers; ci++)
            m += kv_usable(g->consumers[ci]) + kv_usable(g->consumers[ci]->name) +
                 kv_usable(g->consumers[ci]->pel.v);
    }
    return m;
}

uint64_t stream_len(const kv_stream *s) { return s->length; }
sid stream_last_id(const kv_stream *s) { return s->last_id; }
void stream_set_last_id(kv_stream *s, sid id) { s->last_id = id; }
sid stream_first_id(const kv_stream *s) { return s->first_id; }
uint64_t stream_entries_added(const kv_stream *s) { return s->entries_added; }
void stream_set_entries_added(kv_stream *s, uint64_t n) { s->entries_added = n; }
sid stream_max_deleted(const kv_stream *s) { return s->max_deleted; }
void stream_set_max_deleted(kv_stream *s, sid id) { s->max_deleted = id; }
size_t stream_nodes(const kv_stream *s) { return s->nnodes; }

/* The first live ID from node i on (0-0 if none). */
static sid first_live_from(const kv_stream *s, size_t i)
{
    for (; i < s->nnodes; i++) {
        const snode *n = s->nodes[i];
        for (uint32_t j = 0; j < n->count; j++)
            if (!entry_deleted(n, j))
                return entry_id(n, j);
    }
    sid z = {0, 0};
    return z;
}

/* Are these the fields of the node's first entry, in order (Redis's
 * STREAM_ITEM_FLAG_SAMEFIELDS)? */
static int same_fields(const snode *n, size_t npairs, const char *const *fv,
                       const size_t *fvlen)
{
    int fl;
    sid id;
    size_t np;
    const uint8_t *p = entry_head(n, 0, &fl, &id, &np);
    if (np != npairs)
        return 0;
    for (size_t i = 0; i < npairs; i++) {
        size_t flen = (size_t)get_varint(&p);
        if (flen != fvlen[2 * i] || (flen && memcmp(p, fv[2 * i], flen)))
            return 0;
        p += flen;
        p += get_varint(&p);
    }
    return 1;
}

/* Bytes of the node as Redis's listpack (lpBytes): the fixed part and the
 * two counters of the master entry, which XDEL and XTRIM rewrite. */
static size_t node_lp_bytes(const snode *n)
{
    return n->lpfixed + lp_int_size(n->live) + lp_int_size((int64_t)(n->count - n->live));
}

/* A new, empty node whose entries are delta-encoded from master. */
static snode *node_open(kv_stream *s, sid master, size_t npairs, const char *const *fv,
                        const size_t *fvlen)
{
    snode *n = kv_calloc(1, sizeof *n);
    n->master = master;
    /* header + terminator, num-fields, the field names, the 0 terminator */
    n->lpfixed = 7 + lp_int_size((int64_t)npairs) + lp_int_size(0);
    for (size_t i = 0; i < npairs; i++)
        n->lpfixed += lp_str_size(fv[2 * i], fvlen[2 * i]);
    if (s->nnodes == s->capnodes) {
        s->capnodes = s->capnodes ? s->capnodes * 2 : 4;
        s->nodes = kv_realloc(s->nodes, s->capnodes * sizeof *s->nodes);
    }
    s->nodes[s->nnodes++] = n;
    return n;
}

/* Store an entry at the end of node n (deleted, or live); the caller keeps
 * the stream's counters. */
static void node_push(snode *n, sid id, int deleted, size_t npairs, const char *const *fv,
                      const size_t *fvlen)
{
    int same = n->count > 0 && same_fields(n, npairs, fv, fvlen);
    size_t need = 1 + 10 + 10 + 10;
    for (size_t i = 0; i < 2 * npairs; i++)
        need += varint_len(fvlen[i]) + fvlen[i];
    if (n->len + need > n->cap) {
        size_t cap = n->cap ? n->cap : 256;
        while (cap < n->len + need)
            cap *= 2;
        n->buf = kv_realloc(n->buf, cap);
        n->cap = cap;
    }
    if (n->count == n->capoffs) {
        n->capoffs = n->capoffs ? n->capoffs * 2 : 8;
        n->offs = kv_realloc(n->offs, n->capoffs * sizeof *n->offs);
    }
    n->offs[n->count++] = (uint32_t)n->len;
    uint8_t *p = n->buf + n->len;
    *p++ = (uint8_t)((same ? F_SAMEFIELDS : 0) | (deleted ? F_DELETED : 0));
    p += put_varint(p, id.ms - n->master.ms);
    p += put_varint(p, id.seq);
    p += put_varint(p, npairs);
    for (size_t i = same ? 1 : 0; i < 2 * npairs; i += same ? 2 : 1) {
        p += put_varint(p, fvlen[i]);
        if (fvlen[i])
            memcpy(p, fv[i], fvlen[i]);
        p += fvlen[i];
    }
    n->len = (size_t)(p - n->buf);
    if (!deleted)
        n->live++;
    /* Its listpack form (streamAppendItem): flags, ms and seq deltas,
     * [num-fields, fields,] values, lp-count. The first entry has the
     * master's fields, so it is a SAMEFIELDS one there too. */
    int lp_same = same || n->count == 1;
    size_t lp = lp_int_size(F_SAMEFIELDS) + lp_int_size((int64_t)(id.ms - n->master.ms)) +
                lp_int_size((int64_t)(id.seq - n->master.seq));
    int64_t lp_count = (int64_t)npairs + 3;
    if (!lp_same) {
        lp += lp_int_size((int64_t)npairs);
        lp_count += (int64_t)npairs + 1;
    }
    for (size_t i = 0; i < npairs; i++) {
        if (!lp_same)
            lp += lp_str_size(fv[2 * i], fvlen[2 * i]);
        lp += lp_str_size(fv[2 * i + 1], fvlen[2 * i + 1]);
    }
    n->lpfixed += lp + lp_int_size(lp_count);
}

/* The node is full for good: give back its spare room. */
static void node_close(snode *n)
{
    n->buf = kv_realloc(n->buf, n->len ? n->len : 1);
    n->cap = n->len;
    n->offs = kv_realloc(n->offs, (n->count ? n->count : 1) * sizeof *n->offs);
    n->capoffs = n->count;
}

void stream_append(kv_stream *s, sid id, size_t npairs, const char *const *fv,
                   const size_t *fvlen)
{
    snode *n = s->nnodes ? s->nodes[s->nnodes - 1] : NULL;
    if (n) {
        /* streamAppendItem: a new node when the listpack's bytes plus the
         * fields' and values' lengths reach stream-node-max-bytes, or its
         * entries (deleted ones included) stream-node-max-entries. */
        size_t maxb = stream_node_max_bytes;
        if (maxb == 0 || maxb > NODE_HARD_MAX)
            maxb = NODE_HARD_MAX;
        size_t totelelen = 0;
        for (size_t i = 0; i < 2 * npairs; i++)
            totelelen += fvlen[i];
        if (node_lp_bytes(n) + totelelen >= maxb ||
            (stream_node_max_entries && n->count >= stream_node_max_entries) ||
            id.ms < n->master.ms) {
            node_close(n);
            n = NULL;
        }
    }
    if (!n)
        n = node_open(s, id, npairs, fv, fvlen);
    node_push(n, id, 0, npairs, fv, fvlen);
    if (s->length == 0)
        s->first_id = id;
    s->length++;
    s->entries_added++;
    s->last_id = id;
}

void stream_load_node(kv_stream *s, sid master, size_t npairs, const char *const *fv,
                      const size_t *fvlen)
{
    if (s->nnodes)
        node_close(s->nodes[s->nnodes - 1]);
    node_open(s, master, npairs, fv, fvlen);
}

void stream_load_entry(kv_stream *s, sid id, int deleted, size_t npairs, const char *const *fv,
                       const size_t *fvlen)
{
    node_push(s->nodes[s->nnodes - 1], id, deleted, npairs, fv, fvlen);
}

void stream_load_meta(kv_stream *s, uint64_t length, sid last_id, sid first_id, sid max_deleted,
                      uint64_t entries_added)
{
    s->length = length;
    s->last_id = last_id;
    s->first_id = first_id;
    s->max_deleted = max_deleted;
    s->entries_added = entries_added;
}

sid stream_first_live(const kv_stream *s)
{
    return first_live_from(s, 0);
}

void stream_node_info(const kv_stream *s, size_t i, sid *master, uint32_t *count,
                      uint32_t *live)
{
    const snode *n = s->nodes[i];
    *master = n->master;
    *count = n->count;
    *live = n->live;
}

void stream_node_entry(const kv_stream *s, size_t i, uint32_t j, stream_iter *it, sid *id,
                       size_t *npairs, int *deleted, int *same)
{
    const snode *n = s->nodes[i];
    int fl;
    memset(it, 0, sizeof *it);
    it->s = s;
    it->p = entry_head(n, n->offs[j], &fl, id, npairs);
    it->left = *npairs;
    if (fl & F_SAMEFIELDS) {
        int f0;
        sid id0;
        size_t np0;
        it->mf = entry_head(n, 0, &f0, &id0, &np0);
    }
    *deleted = fl & F_DELETED;
    *same = (fl & F_SAMEFIELDS) || j == 0;
}

/* Index of the last node whose master <= id, or -1. */
static long node_for(const kv_stream *s, sid id)
{
    long lo = 0, hi = (long)s->nnodes - 1, ans = -1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        if (sid_cmp(s->nodes[mid]->master, id) <= 0) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return ans;
}

/* Index in node of the first entry with ID >= id (count if none). */
static uint32_t entry_lower_bound(const snode *n, sid id)
{
    uint32_t lo = 0, hi = n->count;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (sid_cmp(entry_id(n, mid), id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void remove_node(kv_stream *s, size_t i)
{
    node_free(s->nodes[i]);
    memmove(s->nodes + i, s->nodes + i + 1, (s->nnodes - i - 1) * sizeof *s->nodes);
    s->nnodes--;
}

int stream_delete(kv_stream *s, sid id)
{
    long ni = node_for(s, id);
    if (ni < 0)
        return 0;
    snode *n = s->nodes[ni];
    uint32_t j = entry_lower_bound(n, id);
    if (j >= n->count || sid_cmp(entry_id(n, j), id) != 0 || entry_deleted(n, j))
        return 0;
    n->buf[n->offs[j]] |= F_DELETED;
    n->live--;
    s->length--;
    if (n->live == 0)
        remove_node(s, (size_t)ni);
    if (s->length == 0) {
        s->first_id.ms = s->first_id.seq = 0;
    } else if (sid_cmp(id, s->first_id) == 0) {
        s->first_id = first_live_from(s, (size_t)(ni < 0 ? 0 : ni));
    }
    return 1;
}

int stream_has(const kv_stream *s, sid id)
{
    long ni = node_for(s, id);
    if (ni < 0)
        return 0;
    const snode *n = s->nodes[ni];
    uint32_t j = entry_lower_bound(n, id);
    return j < n->count && sid_cmp(entry_id(n, j), id) == 0 && !entry_deleted(n, j);
}

int64_t stream_trim(kv_stream *s, int strategy, uint64_t maxlen, sid minid, int approx,
                    int64_t limit)
{
    if (strategy == STRIM_NONE)
        return 0;
    int64_t deleted = 0;
    while (s->nnodes) {
        if (strategy == STRIM_MAXLEN && s->length <= maxlen)
            break;
        snode *n = s->nodes[0];
        int64_t entries = n->live;
        if (limit && deleted + entries > limit)
            break;
        int whole;
        if (strategy == STRIM_MAXLEN)
            whole = s->length - (uint64_t)entries >= maxlen;
        else
            whole = sid_cmp(entry_id(n, n->count - 1), minid) < 0;
        if (whole) {
            s->length -= (uint64_t)entries;
            deleted += entries;
            remove_node(s, 0);
            continue;
        }
        if (approx)
            break;
        for (uint32_t j = 0; j < n->count; j++) {
            int stop = strategy == STRIM_MAXLEN ? s->length <= maxlen
                                                : sid_cmp(entry_id(n, j), minid) >= 0;
            if (stop)
                break;
            if (!entry_deleted(n, j)) {
                n->buf[n->offs[j]] |= F_DELETED;
                n->live--;
                s->length--;
                deleted++;
            }
        }
        break;
    }
    if (deleted) {
        if (s->length == 0) {
            s->first_id.ms = s->first_id.seq = 0;
        } else {
            s->first_id = first_live_from(s, 0);
        }
    }
    return deleted;
}

/* ---- iteration ---- */

void stream_iter_init(stream_iter *it, const kv_stream *s, sid start, sid end, int rev)
{
    memset(it, 0, sizeof *it);
    it->s = s;
    it->start = start;
    it->end = end;
    it->rev = rev;
    if (!s->nnodes) {
        it->node = 0;
        it->pos = -1;
        it->s = NULL;
        return;
    }
    if (!rev) {
        long ni = node_for(s, start);
        if (ni < 0)
            ni = 0;
        it->node = (size_t)ni;
        it->pos = (long)entry_lower_bound(s->nodes[ni], start);
    } else {
        long ni = node_for(s, end);
        if (ni < 0) {
            it->s = NULL;
            return;
        }
        it->node = (size_t)ni;
        const snode *n = s->nodes[ni];
        uint32_t j = entry_lower_bound(n, end);
        if (j < n->count && sid_cmp(entry_id(n, j), end) == 0)
            it->pos = (long)j;
        else
            it->pos = (long)j - 1;
    }
}

int stream_iter_next(stream_iter *it, sid *id, size_t *npairs)
{
    const kv_stream *s = it->s;
    if (!s)
        return 0;
    for (;;) {
        if (it->node >= s->nnodes)
            return 0;
        const snode *n = s->nodes[it->node];
        if (it->pos < 0) {
            if (!it->rev || it->node == 0)
                return 0;
            it->node--;
            it->pos = (long)s->nodes[it->node]->count - 1;
            continue;
        }
        if ((uint32_t)it->pos >= n->count) {
            if (it->rev)
                return 0;
            it->node++;
            it->pos = 0;
            continue;
        }
        int fl;
        sid cur;
        size_t np;
        const uint8_t *p = entry_head(n, n->offs[it->pos], &fl, &cur, &np);
        if (it->rev)
            it->pos--;
        else
            it->pos++;
        if (!it->rev && sid_cmp(cur, it->end) > 0)
            return 0;
        if (it->rev && sid_cmp(cur, it->start) < 0)
            return 0;
        if (fl & F_DELETED)
            continue;
        it->p = p;
        it->left = np;
        it->mf = NULL;
        if (fl & F_SAMEFIELDS) {
            int f0;
            sid id0;
            size_t np0;
            it->mf = entry_head(n, 0, &f0, &id0, &np0);
        }
        *id = cur;
        *npairs = np;
        return 1;
    }
}

void stream_iter_pair(stream_iter *it, const char **f, size_t *flen, const char **v,
                      size_t *vlen)
{
    assert(it->left > 0);
    const uint8_t *p = it->p;
    if (it->mf) {
        const uint8_t *m = it->mf;
        *flen = (size_t)get_varint(&m);
        *f = (const char *)m;
        m += *flen;
        m += get_varint(&m); /* the first entry's value */
        it->mf = m;
    } else {
        *flen = (size_t)get_varint(&p);
        *f = (const char *)p;
        p += *flen;
    }
    *vlen = (size_t)get_varint(&p);
    *v = (const char *)p;
    p += *vlen;
    it->p = p;
    it->left--;
}

/* ---- lag ---- */

int stream_range_has_tombstones(const kv_stream *s, sid start, sid end)
{
    sid zero = {0, 0};
    if (!s->length || sid_cmp(s->max_deleted, zero) == 0)
        return 0;
    if (sid_cmp(s->first_id, s->max_deleted) > 0)
        return 0;
    return sid_cmp(start, s->max_deleted) <= 0 && sid_cmp(s->max_deleted, end) <= 0;
}

long long stream_estimate_distance(const kv_stream *s, sid id)
{
    sid zero = {0, 0};
    if (!s->entries_added)
        return 0;
    if (!s->length && sid_cmp(id, s->last_id) < 1)
        return (long long)s->entries_added;
    int cmp_last = sid_cmp(id, s->last_id);
    if (cmp_last == 0)
        return (long long)s->entries_added;
    if (cmp_last > 0)
        return -1;
    int cmp_id_first = sid_cmp(id, s->first_id);
    int cmp_xdel_first = sid_cmp(s->max_deleted, s->first_id);
    if (sid_cmp(s->max_deleted, zero) == 0 || cmp_xdel_first < 0) {
        if (cmp_id_first < 0)
            return (long long)(s->entries_added - s->length);
        if (cmp_id_first == 0)
            return (long long)(s->entries_added - s->length + 1);
    }
    return -1;
}

/* ---- groups and consumers ---- */

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    if (c)
        return c;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

size_t stream_ngroups(const kv_stream *s) { return s->ngroups; }
stream_group *stream_group_at(const kv_stream *s, size_t i) { return s->groups[i]; }

/* Index of the first group with name >= name. */
static size_t group_lb(const kv_stream *s, const char *name, size_t nlen)
{
    size_t lo = 0, hi = s->ngroups;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (name_cmp(s->groups[mid]->name, s->groups[mid]->nlen, name, nlen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

stream_group *stream_group_find(const kv_stream *s, const char *name, size_t nlen)
{
    size_t i = group_lb(s, name, nlen);
    if (i < s->ngroups && !name_cmp(s->groups[i]->name, s->groups[i]->nlen, name, nlen))
        return s->groups[i];
    return NULL;
}

stream_group *stream_group_create(kv_stream *s, const char *name, size_t nlen, sid last_id,
                                  long long entries_read)
{
    size_t i = group_lb(s, name, nlen);
    if (i < s->ngroups && !name_cmp(s->groups[i]->name, s->groups[i]->nlen, name, nlen))
        return NULL;
    stream_group *g = kv_calloc(1, sizeof *g);
    g->name = kv_memdup(name, nlen);
    g->nlen = nlen;
    g->last_id = last_id;
    g->entries_read = entries_read;
    if (s->ngroups == s->capgroups) {
        s->capgroups = s->capgroups ? s->capgroups * 2 : 2;
        s->groups = kv_realloc(s->groups, s->capgroups * sizeof *s->groups);
    }
    memmove(s->groups + i + 1, s->groups + i, (s->ngroups - i) * sizeof *s->groups);
    s->groups[i] = g;
    s->ngroups++;
    return g;
}

void stream_group_destroy(kv_stream *s, stream_group *g)
{
    for (size_t i = 0; i < s->ngroups; i++) {
        if (s->groups[i] == g) {
            memmove(s->groups + i, s->groups + i + 1, (s->ngroups - i - 1) * sizeof *s->groups);
            s->ngroups--;
            group_free(g);
            return;
        }
    }
}

static size_t consumer_lb(const stream_group *g, const char *name, size_t nlen)
{
    size_t lo = 0, hi = g->nconsumers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (name_cmp(g->consumers[mid]->name, g->consumers[mid]->nlen, name, nlen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

stream_consumer *group_consumer_find(stream_group *g, const char *name, size_t nlen)
{
    size_t i = consumer_lb(g, name, nlen);
    if (i < g->nconsumers &&
        !name_cmp(g->consumers[i]->name, g->consumers[i]->nlen, name, nlen))
        return g->consumers[i];
    return NULL;
}

stream_consumer *group_consumer_create(stream_group *g, const char *name, size_t nlen,
                                       int64_t now_ms)
{
    size_t i = consumer_lb(g, name, nlen);
    if (i < g->nconsumers &&
        !name_cmp(g->consumers[i]->name, g->consumers[i]->nlen, name, nlen))
        return NULL;
    stream_consumer *c = kv_calloc(1, sizeof *c);
    c->name = kv_memdup(name, nlen);
    c->nlen = nlen;
    c->seen_time = now_ms;
    if (g->nconsumers == g->capconsumers) {
        g->capconsumers = g->capconsumers ? g->capconsumers * 2 : 2;
        g->consumers = kv_realloc(g->consumers, g->capconsumers * sizeof *g->consumers);
    }
    memmove(g->consumers + i + 1, g->consumers + i, (g->nconsumers - i) * sizeof *g->consumers);
    g->consumers[i] = c;
    g->nconsumers++;
    return c;
}

/* ---- PELs ---- */

size_t pel_len(const stream_pel *p) { return p->n; }
stream_nack *pel_at(const stream_pel *p, size_t i) { return p->v[p->head + i]; }

size_t pel_lower_bound(const stream_pel *p, sid from)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sid_cmp(p->v[p->head + mid]->id, from) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

stream_nack *pel_find(const stream_pel *p, sid id)
{
    size_t i = pel_lower_bound(p, id);
    if (i < p->n && sid_cmp(p->v[p->head + i]->id, id) == 0)
        return p->v[p->head + i];
    return NULL;
}

static void pel_insert_at(stream_pel *p, size_t i, stream_nack *n)
{
    if (p->head + p->n == p->cap) {
        if (p->head > p->n) {
            /* Plenty of room in front: slide down instead of growing. */
            memmove(p->v, p->v + p->head, p->n * sizeof *p->v);
            p->head = 0;
        } else {
            p->cap = p->cap ? p->cap * 2 : 4;
            p->v = kv_realloc(p->v, p->cap * sizeof *p->v);
        }
    }
    stream_nack **b = p->v + p->head;
    memmove(b + i + 1, b + i, (p->n - i) * sizeof *b);
    b[i] = n;
    p->n++;
}

static void pel_insert(stream_pel *p, stream_nack *n)
{
    pel_insert_at(p, pel_lower_bound(p, n->id), n);
}

static void pel_remove(stream_pel *p, sid id)
{
    size_t i = pel_lower_bound(p, id);
    if (i >= p->n || sid_cmp(p->v[p->head + i]->id, id) != 0)
        return;
    if (i < p->n / 2) {
        memmove(p->v + p->head + 1, p->v + p->head, i * sizeof *p->v);
        p->head++;
    } else {
        memmove(p->v + p->head + i, p->v + p->head + i + 1, (p->n - i - 1) * sizeof *p->v);
    }
    p->n--;
    if (!p->n)
        p->head = 0;
    if (p->cap > 64 && p->n < p->cap / 8) {
        memmove(p->v, p->v + p->head, p->n * sizeof *p->v);
        p->head = 0;
        p->cap /= 2;
        p->v = kv_realloc(p->v, p->cap * sizeof *p->v);
    }
}

stream_nack *group_pel_add(stream_group *g, stream_consumer *c, sid id, int64_t now_ms)
{
    stream_nack *n = kv_malloc(sizeof *n);
    n->id = id;
    n->delivery_time = now_ms;
    n->delivery_count = 1;
    n->consumer = c;
    pel_insert(&g->pel, n);
    if (c)
        pel_insert(&c->pel, n);
    return n;
}

void group_pel_remove(stream_group *g, stream_nack *n)
{
    pel_remove(&g->pel, n->id);
    if (n->consumer)
        pel_remove(&n->consumer->pel, n->id);
    kv_free(n);
}

void group_pel_move(stream_nack *n, stream_consumer *c)
{
    if (n->consumer == c)
        return;
    if (n->consumer)
        pel_remove(&n->consumer->pel, n->id);
    n->consumer = c;
    pel_insert(&c->pel, n);
}

size_t group_consumer_delete(stream_group *g, stream_consumer *c)
{
    size_t pending = c->pel.n;
    while (c->pel.n) {
        stream_nack *n = pel_at(&c->pel, c->pel.n - 1);
        group_pel_remove(g, n);
    }
    for (size_t i = 0; i < g->nconsumers; i++) {
        if (g->consumers[i] == c) {
            memmove(g->consumers + i, g->consumers + i + 1,
                    (g->nconsumers - i - 1) * sizeof *g->consumers);
            g->nconsumers--;
            break;
        }
    }
    pel_free_array(&c->pel);
    kv_free(c->name);
    kv_free(c);
    return pending;
}
