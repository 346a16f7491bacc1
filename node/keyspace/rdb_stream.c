/* rdb_stream.c — streams in DUMP payloads, as Redis 7.0's rdb.c writes
 * RDB_TYPE_STREAM_LISTPACKS_2 (19) and reads it and the older
 * RDB_TYPE_STREAM_LISTPACKS (15).
 *
 * Object layout (after the type byte):
 *   len nodes, then per node: string key (the master ID, 16 bytes: ms and
 *     seq as big-endian u64s), string listpack
 *   len length, len last.ms, len last.seq,
 *   [19 only] len first.ms, len first.seq, len max_deleted.ms,
 *     len max_deleted.seq, len entries_added
 *   len groups, then per group: string name, len last.ms, len last.seq,
 *     [19 only] len entries_read (-1 as a u64),
 *     len pel, then per nack: 16 raw bytes ID (big-endian), 8 bytes
 *       delivery time (ms, little-endian), len delivery count
 *     len consumers, then per consumer: string name, 8 bytes seen time
 *       (little-endian), len pel, then per entry: 16 raw bytes ID
 *
 * A node's listpack (t_stream.c):
 *   master entry: count (live), deleted, num-fields, field..., 0
 *   then count+deleted entries: flags (1 deleted, 2 same fields as the
 *   master), ms-diff, seq-diff (int64 deltas from the master ID), then
 *   with flag 2 value..., else num-fields, field, value, field, value...;
 *   then lp-count (the entry's listpack items but itself: num-fields+3,
 *   or 2*num-fields+4).
 *
 * The reader checks everything streamValidateListpackIntegrity and
 * rdbLoadObject check with sanitize-dump-payload on, and what kvnode's
 * stream relies on besides (Redis accepts these payloads, no Redis writes
 * them): entry IDs strictly increasing across the stream, each node's
 * first entry at its key and with the master fields, a node's counters
 * matching its flags, the length matching the live entries, the last ID
 * not below any entry, flags within 0..3, PELs sorted by ID (rax order)
 * and every group PEL entry owned by exactly one consumer. */
#include "rdb_int.h"

#include "mem.h"
#include "rdb_codec.h"

#include <string.h>

#define SF_DELETED 1
#define SF_SAMEFIELDS 2

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

static void put_raw_id(kbuf *b, sid id)
{
    unsigned char k[16];
    for (int i = 0; i < 8; i++) {
        k[i] = (unsigned char)(id.ms >> (8 * (7 - i)));
        k[8 + i] = (unsigned char)(id.seq >> (8 * (7 - i)));
    }
    kbuf_append(b, k, 16);
}

static void put_ms_time(kbuf *b, int64_t t)
{
    unsigned char c[8];
    for (int i = 0; i < 8; i++)
        c[i] = (unsigned char)((uint64_t)t >> (8 * i));
    kbuf_append(b, c, 8);
}

static void put_id(kbuf *b, sid id)
{
    rdb_save_len(b, id.ms);
    rdb_save_len(b, id.seq);
}

/* Node i as Redis's listpack. */
static void node_listpack(const kv_stream *s, size_t i, lp_writer *w)
{
    sid master, id;
    uint32_t count, live;
    stream_node_info(s, i, &master, &count, &live);
    stream_iter it;
    size_t np;
    int deleted, same;
    lpw_init(w);
    lpw_append_int(w, live);
    lpw_append_int(w, (int64_t)(count - live));
    stream_node_entry(s, i, 0, &it, &id, &np, &deleted, &same);
    lpw_append_int(w, (int64_t)np);
    for (size_t k = 0; k < np; k++) {
        const char *f, *v;
        size_t fl, vl;
        stream_iter_pair(&it, &f, &fl, &v, &vl);
        lpw_append(w, f, fl);
    }
    lpw_append_int(w, 0);
    for (uint32_t j = 0; j < count; j++) {
        stream_node_entry(s, i, j, &it, &id, &np, &deleted, &same);
        lpw_append_int(w, (same ? SF_SAMEFIELDS : 0) | (deleted ? SF_DELETED : 0));
        lpw_append_int(w, (int64_t)(id.ms - master.ms));
        lpw_append_int(w, (int64_t)(id.seq - master.seq));
        if (!same)
            lpw_append_int(w, (int64_t)np);
        for (size_t k = 0; k < np; k++) {
            const char *f, *v;
            size_t fl, vl;
            stream_iter_pair(&it, &f, &fl, &v, &vl);
            if (!same)
                lpw_append(w, f, fl);
            lpw_append(w, v, vl);
        }
        lpw_append_int(w, (int64_t)(same ? np + 3 : 2 * np + 4));
    }
    lpw_finish(w);
}

static void dump_pel(kbuf *b, const stream_pel *p, int nacks)
{
    rdb_save_len(b, pel_len(p));
    for (size_t i = 0; i < pel_len(p); i++) {
        const stream_nack *n = pel_at(p, i);
        put_raw_id(b, n->id);
        if (nacks) {
            put_ms_time(b, n->delivery_time);
            rdb_save_len(b, n->delivery_count);
        }
    }
}

void rdb_dump_stream(kbuf *b, const kv_stream *s)
{
    size_t nodes = stream_nodes(s);
    rdb_save_len(b, nodes);
    for (size_t i = 0; i < nodes; i++) {
        sid master;
        uint32_t count, live;
        stream_node_info(s, i, &master, &count, &live);
        kbuf key = KBUF_INIT;
        put_raw_id(&key, master);
        rdb_save_string(b, kbuf_data(&key), kbuf_len(&key));
        kbuf_free(&key);
        lp_writer w;
        node_listpack(s, i, &w);
        rdb_save_string(b, kbuf_data(&w.b), kbuf_len(&w.b));
        lpw_free(&w);
    }
    rdb_save_len(b, stream_len(s));
    put_id(b, stream_last_id(s));
    put_id(b, stream_first_id(s));
    put_id(b, stream_max_deleted(s));
    rdb_save_len(b, stream_entries_added(s));
    rdb_save_len(b, stream_ngroups(s));
    for (size_t gi = 0; gi < stream_ngroups(s); gi++) {
        const stream_group *g = stream_group_at(s, gi);
        rdb_save_string(b, g->name, g->nlen);
        put_id(b, g->last_id);
        rdb_save_len(b, (uint64_t)g->entries_read);
        dump_pel(b, &g->pel, 1);
        rdb_save_len(b, g->nconsumers);
        for (size_t ci = 0; ci < g->nconsumers; ci++) {
            const stream_consumer *c = g->consumers[ci];
            rdb_save_string(b, c->name, c->nlen);
            put_ms_time(b, c->seen_time);
            dump_pel(b, &c->pel, 0);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

static int rd_id(rdb_reader *r, sid *id)
{
    return rdb_rd_len(r, &id->ms, NULL) && rdb_rd_len(r, &id->seq, NULL);
}

static int rd_raw_id(rdb_reader *r, sid *id)
{
    const unsigned char *k;
    if (!rdb_rd_bytes(r, 16, &k))
        return 0;
    id->ms = id->seq = 0;
    for (int i = 0; i < 8; i++) {
        id->ms = (id->ms << 8) | k[i];
        id->seq = (id->seq << 8) | k[8 + i];
    }
    return 1;
}

static int rd_ms_time(rdb_reader *r, int64_t *t)
{
    const unsigned char *c;
    if (!rdb_rd_bytes(r, 8, &c))
        return 0;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = (u << 8) | c[i];
    *t = (int64_t)u;
    return 1;
}

/* ---- one node's listpack ---- */

typedef struct lp_cursor {
    const unsigned char *p;
    size_t n, pos;
    size_t left; /* items not read yet */
} lp_cursor;

/* The next item as an integer (lpGetIntegerIfValid: an integer encoding
 * or a string that is a canonical integer). */
static int cur_int(lp_cursor *c, int64_t *v)
{
    rdb_ent e;
    if (!c->left || !lp_next(c->p, c->n, &c->pos, &e))
        return 0;
    c->left--;
    if (e.is_int) {
        *v = e.v;
        return 1;
    }
    long long ll;
    if (!e.n || !kv_string2ll((const char *)e.s, e.n, &ll))
        return 0;
    *v = ll;
    return 1;
}

/* A growing list of (field, value) views, with room for integers' text. */
typedef struct pairs {
    const char **fv;
    size_t *fvlen;
    char (*num)[24];
    size_t cap;
} pairs;

static void pairs_reserve(pairs *p, size_t n)
{
    if (n <= p->cap)
        return;
    size_t cap = p->cap ? p->cap : 8;
    while (cap < n)
        cap *= 2;
    p->fv = kv_realloc(p->fv, cap * sizeof *p->fv);
    p->fvlen = kv_realloc(p->fvlen, cap * sizeof *p->fvlen);
    p->num = kv_realloc(p->num, cap * sizeof *p->num);
    p->cap = cap;
}

static void pairs_free(pairs *p)
{
    kv_free(p->fv);
    kv_free(p->fvlen);
    kv_free(p->num);
    memset(p, 0, sizeof *p);
}

/* The next item as text into slot i. */
static int cur_text(lp_cursor *c, pairs *p, size_t i)
{
    rdb_ent e;
    if (!c->left || !lp_next(c->p, c->n, &c->pos, &e))
        return 0;
    c->left--;
    if (e.is_int) {
        p->fvlen[i] = kv_ll2string(p->num[i], sizeof p->num[i], e.v);
        p->fv[i] = p->num[i];
    } else {
        p->fv[i] = (const char *)e.s;
        p->fvlen[i] = e.n;
    }
    return 1;
}

typedef struct load_state {
    kv_stream *s;
    int any;        /* an entry was seen */
    sid prev;       /* the last entry's ID */
    uint64_t live;  /* live entries seen */
    pairs master;   /* the current node's master fields (slots 2k) */
    pairs entry;
} load_state;

static int same_as_master(const pairs *m, size_t mf, const pairs *e, size_t nf)
{
    if (mf != nf)
        return 0;
    for (size_t k = 0; k < nf; k++)
        if (m->fvlen[2 * k] != e->fvlen[2 * k] ||
            memcmp(m->fv[2 * k], e->fv[2 * k], e->fvlen[2 * k]) != 0)
            return 0;
    return 1;
}

/* Parse a node's listpack (already lp_validate'd, count items) and add it
 * to the stream. */
static int load_node(load_state *st, sid key, const unsigned char *lp, size_t lpn,
                     size_t items)
{
    lp_cursor c = {lp, lpn, 0, items};
    int64_t count, deleted, mf;
    if (!cur_int(&c, &count) || !cur_int(&c, &deleted) || !cur_int(&c, &mf))
        return 0;
    /* Every field and entry takes an item: bound counts by the items
     * left, before anything is allocated for them. */
    if (count < 0 || deleted < 0 || mf < 0 || (uint64_t)mf > c.left ||
        (uint64_t)count > items || (uint64_t)deleted > items || count + deleted == 0)
        return 0;
    pairs_reserve(&st->master, 2 * (size_t)mf + 1);
    for (size_t k = 0; k < (size_t)mf; k++) {
        if (!cur_text(&c, &st->master, 2 * k))
            return 0;
        st->master.fv[2 * k + 1] = "";
        st->master.fvlen[2 * k + 1] = 0;
    }
    int64_t zero;
    if (!cur_int(&c, &zero) || zero != 0)
        return 0;
    int64_t seen_live = 0, seen_deleted = 0;
    for (int64_t j = 0; j < count + deleted; j++) {
        int64_t flags, dms, dseq, nf = mf;
        if (!cur_int(&c, &flags) || flags < 0 || flags > 3 || !cur_int(&c, &dms) ||
            !cur_int(&c, &dseq))
            return 0;
        sid id = {key.ms + (uint64_t)dms, key.seq + (uint64_t)dseq};
        int same = (flags & SF_SAMEFIELDS) != 0;
        if (!same && (!cur_int(&c, &nf) || nf < 0 || (uint64_t)nf > c.left / 2))
            return 0;
        if (same && (uint64_t)nf > c.left)
            return 0;
        pairs_reserve(&st->entry, 2 * (size_t)nf + 1);
        for (size_t k = 0; k < (size_t)nf; k++) {
            if (same) {
                st->entry.fv[2 * k] = st->master.fv[2 * k];
                st->entry.fvlen[2 * k] = st->master.fvlen[2 * k];
            } else if (!cur_text(&c, &st->entry, 2 * k)) {
                return 0;
            }
            if (!cur_text(&c, &st->entry, 2 * k + 1))
                return 0;
        }
        int64_t lp_count;
        if (!cur_int(&c, &lp_count) || lp_count != (same ? nf + 3 : 2 * nf + 4))
            return 0;
        if (j == 0) {
            /* The first entry is the node's key and has its fields. */
            if (sid_cmp(id, key) != 0 ||
                !same_as_master(&st->master, (size_t)mf, &st->entry, (size_t)nf))
                return 0;
            stream_load_node(st->s, key, (size_t)mf, st->master.fv, st->master.fvlen);
        }
        if (st->any && sid_cmp(id, st->prev) <= 0)
            return 0;
        st->any = 1;
        st->prev = id;
        int del = (flags & SF_DELETED) != 0;
        if (del)
            seen_deleted++;
        else
            seen_live++;
        stream_load_entry(st->s, id, del, (size_t)nf, st->entry.fv, st->entry.fvlen);
    }
    if (c.left)
        return 0; /* items after the last entry */
    if (seen_live != count || seen_deleted != deleted)
        return 0;
    st->live += (uint64_t)count;
    return 1;
}

static int load_nodes(rdb_reader *r, load_state *st)
{
    uint64_t nodes;
    if (!rdb_rd_len(r, &nodes, NULL))
        return 0;
    for (uint64_t i = 0; i < nodes; i++) {
        rdb_rstr key, lp;
        if (!rdb_rd_string(r, &key))
            return 0;
        int ok = key.n == 16;
        sid k = {0, 0};
        for (size_t b = 0; ok && b < 8; b++) {
            k.ms = (k.ms << 8) | (unsigned char)key.s[b];
            k.seq = (k.seq << 8) | (unsigned char)key.s[8 + b];
        }
        rdb_rstr_free(&key);
        if (!ok || !rdb_rd_string(r, &lp))
            return 0;
        size_t items;
        ok = lp_validate((const unsigned char *)lp.s, lp.n, &items) &&
             load_node(st, k, (const unsigned char *)lp.s, lp.n, items);
        rdb_rstr_free(&lp);
        if (!ok)
            return 0;
    }
    return 1;
}

/* A group's PEL as read, before its consumers claim the entries. */
typedef struct raw_nack {
    sid id;
    int64_t time;
    uint64_t count;
    stream_consumer *owner;
} raw_nack;

static raw_nack *find_nack(raw_nack *v, size_t n, sid id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = sid_cmp(v[mid].id, id);
        if (c == 0)
            return &v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int load_consumers(rdb_reader *r, stream_group *g, raw_nack *pel, size_t npel)
{
    uint64_t nc;
    if (!rdb_rd_len(r, &nc, NULL))
        return 0;
    for (uint64_t i = 0; i < nc; i++) {
        rdb_rstr name;
        if (!rdb_rd_string(r, &name))
            return 0;
        stream_consumer *c = group_consumer_create(g, name.s, name.n, 0);
        rdb_rstr_free(&name);
        uint64_t n;
        if (!c || !rd_ms_time(r, &c->seen_time) || !rdb_rd_len(r, &n, NULL))
            return 0;
        sid prev = {0, 0};
        for (uint64_t j = 0; j < n; j++) {
            sid id;
            if (!rd_raw_id(r, &id) || (j && sid_cmp(id, prev) <= 0))
                return 0;
            prev = id;
            raw_nack *k = find_nack(pel, npel, id);
            if (!k || k->owner)
                return 0;
            k->owner = c;
        }
    }
    return 1;
}

static int load_group(rdb_reader *r, kv_stream *s, int v2)
{
    rdb_rstr name;
    if (!rdb_rd_string(r, &name))
        return 0;
    sid last;
    uint64_t er = 0;
    int ok = rd_id(r, &last) && (!v2 || rdb_rd_len(r, &er, NULL));
    long long entries_read = v2 ? (long long)er : stream_estimate_distance(s, last);
    stream_group *g = ok ? stream_group_create(s, name.s, name.n, last, entries_read) : NULL;
    rdb_rstr_free(&name);
    uint64_t npel;
    if (!g || !rdb_rd_len(r, &npel, NULL))
        return 0;
    raw_nack *pel = NULL;
    size_t n = 0, cap = 0;
    ok = 1;
    for (uint64_t i = 0; ok && i < npel; i++) {
        raw_nack k = {{0, 0}, 0, 0, NULL};
        ok = rd_raw_id(r, &k.id) && rd_ms_time(r, &k.time) && rdb_rd_len(r, &k.count, NULL) &&
             (n == 0 || sid_cmp(k.id, pel[n - 1].id) > 0);
        if (!ok)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            pel = kv_realloc(pel, cap * sizeof *pel);
        }
        pel[n++] = k;
    }
    ok = ok && load_consumers(r, g, pel, n);
    for (size_t i = 0; ok && i < n; i++)
        ok = pel[i].owner != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        stream_nack *m = group_pel_add(g, pel[i].owner, pel[i].id, pel[i].time);
        m->delivery_count = pel[i].count;
    }
    kv_free(pel);
    return ok;
}

kv_stream *rdb_load_stream(rdb_reader *r, int t)
{
    int v2 = t == RDB_TYPE_STREAM_LISTPACKS_2;
    load_state st;
    memset(&st, 0, sizeof st);
    st.s = stream_new();
    int ok = load_nodes(r, &st);
    pairs_free(&st.master);
    pairs_free(&st.entry);
    uint64_t length = 0, added = 0, ngroups = 0;
    sid last = {0, 0}, first = {0, 0}, maxdel = {0, 0};
    ok = ok && rdb_rd_len(r, &length, NULL) && rd_id(r, &last);
    if (ok && v2) {
        ok = rd_id(r, &first) && rd_id(r, &maxdel) && rdb_rd_len(r, &added, NULL);
    } else if (ok) {
        /* 6.x streams: what Redis 7.0 makes of them on loading. */
        added = length;
        first = stream_first_live(st.s);
        if (!length)
            first.ms = first.seq = UINT64_MAX;
    }
    /* The length must count the live entries, and new IDs must come after
     * every stored one. */
    ok = ok && length == st.live && (!st.any || sid_cmp(last, st.prev) >= 0);
    if (ok)
        stream_load_meta(st.s, length, last, first, maxdel, added);
    ok = ok && rdb_rd_len(r, &ngroups, NULL);
    for (uint64_t i = 0; ok && i < ngroups; i++)
        ok = load_group(r, st.s, v2);
    if (!ok) {
        stream_free(st.s);
        return NULL;
    }
    return st.s;
}
