/* rdb.c — DUMP payloads: writing (rdb_dump) and reading (rdb_load); see
 * rdb.h for what is written and accepted.
 *
 * Object types (Redis 7.0's rdb.h):
 *   0 string       1 list (linked)     2 set            3 zset (text scores)
 *   4 hash         5 zset_2 (binary)   9 hash zipmap    10 list ziplist
 *   11 set intset  12 zset ziplist     13 hash ziplist  14 list quicklist
 *   16 hash listpack  17 zset listpack  18 list quicklist 2
 *   15 stream listpacks  19 stream listpacks 2 (rdb_stream.c)
 * (6 and 7 are module values: refused.)
 *
 * Lengths: 00xxxxxx (6 bits), 01xxxxxx xxxxxxxx (14 bits, big-endian),
 * 0x80 + 4 bytes or 0x81 + 8 bytes (big-endian). A string is a length and
 * its bytes, or 11xxxxxx: an 8/16/32-bit integer (little-endian, 0xC0..C2)
 * or LZF (0xC3, compressed length, length, data).
 *
 * The rdb_reader never trusts a length: nothing is allocated for a count (an
 * element takes at least a byte, so a count beyond what is left fails when
 * the bytes run out), a string must fit in what is left of the payload or,
 * decompressed, within max_string. */
#include "rdb.h"

#include "crc64.h"
#include "lzf.h"
#include "mem.h"
#include "rdb_codec.h"
#include "rdb_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    T_STRING = 0,
    T_LIST = 1,
    T_SET = 2,
    T_ZSET = 3,
    T_HASH = 4,
    T_ZSET_2 = 5,
    T_HASH_ZIPMAP = 9,
    T_LIST_ZIPLIST = 10,
    T_SET_INTSET = 11,
    T_ZSET_ZIPLIST = 12,
    T_HASH_ZIPLIST = 13,
    T_LIST_QUICKLIST = 14,
    T_HASH_LISTPACK = 16,
    T_ZSET_LISTPACK = 17,
    T_LIST_QUICKLIST_2 = 18,
};

#define ENC_INT8 0
#define ENC_INT16 1
#define ENC_INT32 2
#define ENC_LZF 3

/* Quicklist nodes as Redis 7.0 builds them (see ql_node_full). */
#define QL_SIZE_SAFETY_LIMIT 8192
#define QL_PLAIN 1
#define QL_PACKED 2

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

void rdb_save_len(kbuf *b, uint64_t len)
{
    unsigned char buf[9];
    if (len < (1 << 6)) {
        buf[0] = (unsigned char)len;
        kbuf_append(b, buf, 1);
    } else if (len < (1 << 14)) {
        buf[0] = (unsigned char)(0x40 | (len >> 8));
        buf[1] = (unsigned char)(len & 0xff);
        kbuf_append(b, buf, 2);
    } else if (len <= UINT32_MAX) {
        buf[0] = 0x80;
        for (int i = 0; i < 4; i++)
            buf[1 + i] = (unsigned char)(len >> (8 * (3 - i)));
        kbuf_append(b, buf, 5);
    } else {
        buf[0] = 0x81;
        for (int i = 0; i < 8; i++)
            buf[1 + i] = (unsigned char)(len >> (8 * (7 - i)));
        kbuf_append(b, buf, 9);
    }
}

/* Redis's rdbTryIntegerEncoding: a canonical decimal within 32 bits. */
static int save_as_int(kbuf *b, const char *s, size_t n)
{
    long long v;
    if (n == 0 || n > 11 || !kv_string2ll(s, n, &v))
        return 0;
    unsigned char buf[5];
    size_t len;
    if (v >= -128 && v <= 127) {
        buf[0] = 0xC0 | ENC_INT8;
        buf[1] = (unsigned char)(v & 0xff);
        len = 2;
    } else if (v >= -32768 && v <= 32767) {
        buf[0] = 0xC0 | ENC_INT16;
        buf[1] = (unsigned char)(v & 0xff);
        buf[2] = (unsigned char)((v >> 8) & 0xff);
        len = 3;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        buf[0] = 0xC0 | ENC_INT32;
        for (int i = 0; i < 4; i++)
            buf[1 + i] = (unsigned char)(((uint64_t)v >> (8 * i)) & 0xff);
        len = 5;
    } else {
        return 0;
    }
    kbuf_append(b, buf, len);
    return 1;
}

int rdb_compression = 1;
int rdb_checksum = 1;

/* Redis's rdbSaveRawString. */
void rdb_save_string(kbuf *b, const char *s, size_t n)
{
    if (save_as_int(b, s, n))
        return;
    if (rdb_compression && n > 20) {
        /* Worth it only when it saves at least 4 bytes. */
        size_t room = n - 4;
        unsigned char *out = kv_malloc(room + 1);
        size_t c = lzf_compress(s, n, out, room);
        if (c) {
            unsigned char tag = 0xC0 | ENC_LZF;
            kbuf_append(b, &tag, 1);
            rdb_save_len(b, c);
            rdb_save_len(b, n);
            kbuf_append(b, out, c);
            kv_free(out);
            return;
        }
        kv_free(out);
    }
    rdb_save_len(b, n);
    kbuf_append(b, s, n);
}

static void save_type(kbuf *b, int t)
{
    unsigned char c = (unsigned char)t;
    kbuf_append(b, &c, 1);
}

static void save_binary_double(kbuf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    unsigned char buf[8];
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(u >> (8 * i));
    kbuf_append(b, buf, 8);
}

/* A score in a sorted set's listpack, as Redis 7.0 stores it: an integer
 * when it is one within +-LLONG_MAX/2 (so -0 is 0), else its d2string text. */
static void lp_append_score(lp_writer *w, double d)
{
    if (d >= (double)(-(INT64_MAX / 2)) && d <= (double)(INT64_MAX / 2)) {
        long long ll = (long long)d;
        if ((double)ll == d) {
            lpw_append_int(w, ll);
            return;
        }
    }
    char buf[ZSET_SCOREBUF];
    size_t n = zset_fmt_score(buf, d);
    lpw_append(w, buf, n);
}

/* Would a node grown to new_sz bytes and new_count elements exceed the
 * limit list-max-listpack-size sets now? quicklistNodeExceedsLimit
 * (7.0.15): a negative fill is a size limit of 4 KB << (-fill - 1) (fill
 * below -5 counts as -5); a positive one an element count (0: one) within
 * the 8 KB safety limit. */
static int ql_node_full(size_t new_sz, size_t new_count)
{
    int fill = list_max_listpack_size;
    if (fill < 0) {
        int level = fill < -5 ? 4 : -fill - 1;
        return new_sz > ((size_t)4096 << level);
    }
    size_t maxc = fill == 0 ? 1 : (size_t)fill;
    return new_sz > QL_SIZE_SAFETY_LIMIT || new_count > maxc;
}

typedef void ql_node_fn(void *ctx, int container, const char *p, size_t n);

static void ql_close(lp_writer *w, int *open, ql_node_fn *emit, void *ctx)
{
    if (!*open)
        return;
    lpw_finish(w);
    emit(ctx, QL_PACKED, kbuf_data(&w->b), kbuf_len(&w->b));
    lpw_free(w);
    *open = 0;
}

/* The quicklist nodes of l in order, as Redis builds the list by RPUSH
 * under the current list-max-listpack-size and packed threshold: emit gets
 * each node's container (QL_PACKED: a finished listpack; QL_PLAIN: the
 * element alone). */
static void ql_walk(kv_list *l, ql_node_fn *emit, void *ctx)
{
    lp_writer w;
    int open = 0;
    size_t count = 0; /* elements in the open node */
    size_t len = list_len(l);
    for (size_t i = 0; i < len; i++) {
        const char *p;
        size_t n;
        list_get(l, i, &p, &n);
        if (n >= list_packed_threshold) {
            ql_close(&w, &open, emit, ctx);
            emit(ctx, QL_PLAIN, p, n);
            continue;
        }
        /* _quicklistNodeAllowInsert (7.0.15): the node's bytes plus the
         * element's length plus SIZE_ESTIMATE_OVERHEAD (8), and its count
         * plus one, must stay within the limit. */
        if (open && ql_node_full(lpw_bytes(&w) + n + 8, count + 1))
            ql_close(&w, &open, emit, ctx);
        if (!open) {
            lpw_init(&w);
            open = 1;
            count = 0;
        }
        lpw_append(&w, p, n);
        count++;
    }
    ql_close(&w, &open, emit, ctx);
}

typedef struct {
    kbuf body;
    uint64_t nodes;
} ql_dump_ctx;

static void ql_dump_node(void *ctx, int container, const char *p, size_t n)
{
    ql_dump_ctx *d = ctx;
    rdb_save_len(&d->body, (uint64_t)container);
    rdb_save_string(&d->body, p, n);
    d->nodes++;
}

static void dump_list(kbuf *b, kv_list *l)
{
    ql_dump_ctx d = {KBUF_INIT, 0};
    ql_walk(l, ql_dump_node, &d);
    save_type(b, T_LIST_QUICKLIST_2);
    rdb_save_len(b, d.nodes);
    kbuf_append(b, kbuf_data(&d.body), kbuf_len(&d.body));
    kbuf_free(&d.body);
}

typedef struct {
    size_t nodes, bytes;
} ql_layout_ctx;

static void ql_layout_node(void *ctx, int container, const char *p, size_t n)
{
    ql_layout_ctx *a = ctx;
    (void)container;
    (void)p;
    a->nodes++;
    a->bytes += n;
}

void rdb_list_layout(kv_list *l, size_t *nodes, size_t *bytes)
{
    ql_layout_ctx a = {0, 0};
    ql_walk(l, ql_layout_node, &a);
    *nodes = a.nodes;
    *bytes = a.bytes;
}

static void dump_hash(kbuf *b, kv_hash *h)
{
    hash_iter it;
    const char *f, *v;
    size_t fl, vl;
    if (strcmp(hash_encoding(h), "listpack") == 0) {
        lp_writer w;
        lpw_init(&w);
        hash_iter_init(&it, h);
        while (hash_iter_next(&it, &f, &fl, &v, &vl)) {
            lpw_append(&w, f, fl);
            lpw_append(&w, v, vl);
        }
        hash_iter_done(&it);
        lpw_finish(&w);
        save_type(b, T_HASH_LISTPACK);
        rdb_save_string(b, kbuf_data(&w.b), kbuf_len(&w.b));
        lpw_free(&w);
        return;
    }
    save_type(b, T_HASH);
    rdb_save_len(b, hash_len(h));
    hash_iter_init(&it, h);
    while (hash_iter_next(&it, &f, &fl, &v, &vl)) {
        rdb_save_string(b, f, fl);
        rdb_save_string(b, v, vl);
    }
    hash_iter_done(&it);
}

static void dump_set(kbuf *b, kv_set *s)
{
    set_iter it;
    const char *m;
    size_t n;
    if (set_is_intset(s)) {
        int width = set_intset_width(s);
        size_t count = set_len(s);
        kbuf blob = KBUF_INIT;
        unsigned char hdr[8];
        for (int i = 0; i < 4; i++) {
            hdr[i] = (unsigned char)((uint32_t)width >> (8 * i));
            hdr[4 + i] = (unsigned char)((uint32_t)count >> (8 * i));
        }
        kbuf_append(&blob, hdr, 8);
        set_iter_init(&it, s);
        while (set_iter_next(&it, &m, &n)) {
            long long v = 0;
            kv_string2ll(m, n, &v);
            unsigned char buf[8];
            for (int i = 0; i < width; i++)
                buf[i] = (unsigned char)((uint64_t)v >> (8 * i));
            kbuf_append(&blob, buf, (size_t)width);
        }
        set_iter_done(&it);
        save_type(b, T_SET_INTSET);
        rdb_save_string(b, kbuf_data(&blob), kbuf_len(&blob));
        kbuf_free(&blob);
        return;
    }
    save_type(b, T_SET);
    rdb_save_len(b, set_len(s));
    set_iter_init(&it, s);
    while (set_iter_next(&it, &m, &n))
        rdb_save_string(b, m, n);
    set_iter_done(&it);
}

static void dump_zset(kbuf *b, kv_zset *z)
{
    size_t len = zset_len(z);
    zset_iter it;
    const char *m;
    size_t n;
    double score;
    if (strcmp(zset_encoding(z), "listpack") == 0) {
        lp_writer w;
        lpw_init(&w);
        if (len) {
            zset_iter_init(&it, z, 0, 0);
            while (zset_iter_next(&it, &m, &n, &score)) {
                lpw_append(&w, m, n);
                lp_append_score(&w, score);
            }
        }
        lpw_finish(&w);
        save_type(b, T_ZSET_LISTPACK);
        rdb_save_string(b, kbuf_data(&w.b), kbuf_len(&w.b));
        lpw_free(&w);
        return;
    }
    /* From the tail, so that loading appends in order. */
    save_type(b, T_ZSET_2);
    rdb_save_len(b, len);
    if (len) {
        zset_iter_init(&it, z, len - 1, 1);
        while (zset_iter_next(&it, &m, &n, &score)) {
            rdb_save_string(b, m, n);
            save_binary_double(b, score);
        }
    }
}

/* The type byte and the value, as an RDB file holds them. */
static void dump_object(kobj *o, kbuf *out)
{
    switch (kobj_type(o)) {
    case KT_STRING: {
        size_t n;
        const char *s = kobj_str(o, &n);
        save_type(out, T_STRING);
        rdb_save_string(out, s, n);
        break;
    }
    case KT_LIST:
        dump_list(out, kobj_list(o));
        break;
    case KT_HASH:
        dump_hash(out, kobj_hash(o));
        break;
    case KT_SET:
        dump_set(out, kobj_set(o));
        break;
    case KT_STREAM:
        save_type(out, RDB_TYPE_STREAM_LISTPACKS_2);
        rdb_dump_stream(out, kobj_stream(o));
        break;
    default:
        dump_zset(out, kobj_zset(o));
        break;
    }
}

void rdb_dump(kobj *o, kbuf *out)
{
    size_t start = kbuf_len(out);
    dump_object(o, out);
    unsigned char ver[2] = {RDB_VERSION & 0xff, RDB_VERSION >> 8};
    kbuf_append(out, ver, 2);
    uint64_t crc = crc64(0, kbuf_data(out) + start, kbuf_len(out) - start);
    unsigned char c[8];
    for (int i = 0; i < 8; i++)
        c[i] = (unsigned char)(crc >> (8 * i));
    kbuf_append(out, c, 8);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

static int skip_checksum;

void rdb_set_skip_checksum(int on)
{
    skip_checksum = on;
}

int rdb_verify(const void *payload, size_t n)
{
    const unsigned char *p = payload;
    if (n < 10)
        return RDB_ERR_VERSION;
    const unsigned char *footer = p + n - 10;
    unsigned ver = footer[0] | ((unsigned)footer[1] << 8);
    if (ver > RDB_VERSION)
        return RDB_ERR_VERSION;
    if (skip_checksum)
        return RDB_OK;
    uint64_t want = 0;
    for (int i = 0; i < 8; i++)
        want |= (uint64_t)footer[2 + i] << (8 * i);
    return crc64(0, p, n - 8) == want ? RDB_OK : RDB_ERR_VERSION;
}

void rdb_rstr_free(rdb_rstr *s)
{
    kv_free(s->own);
    s->own = NULL;
}

int rdb_rd_bytes(rdb_reader *r, size_t n, const unsigned char **out)
{
    if (n > r->n - r->pos)
        return 0;
    *out = r->p + r->pos;
    r->pos += n;
    return 1;
}

/* Redis's rdbLoadLenByRef: *enc set for 11xxxxxx (its low bits returned). */
int rdb_rd_len(rdb_reader *r, uint64_t *len, int *enc)
{
    const unsigned char *b;
    if (enc)
        *enc = 0;
    if (!rdb_rd_bytes(r, 1, &b))
        return 0;
    unsigned t = b[0] >> 6;
    if (t == 0) {
        *len = b[0] & 0x3f;
    } else if (t == 1) {
        const unsigned char *c;
        if (!rdb_rd_bytes(r, 1, &c))
            return 0;
        *len = ((uint64_t)(b[0] & 0x3f) << 8) | c[0];
    } else if (t == 2) {
        int k = b[0] == 0x80 ? 4 : b[0] == 0x81 ? 8 : 0;
        const unsigned char *c;
        if (!k || !rdb_rd_bytes(r, (size_t)k, &c))
            return 0;
        uint64_t v = 0;
        for (int i = 0; i < k; i++)
            v = (v << 8) | c[i];
        *len = v;
    } else {
        if (enc)
            *enc = 1;
        *len = b[0] & 0x3f;
    }
    return 1;
}

int rdb_rd_string(rdb_reader *r, rdb_rstr *out)
{
    memset(out, 0, sizeof *out);
    uint64_t len;
    int enc;
    if (!rdb_rd_len(r, &len, &enc))
        return 0;
    const unsigned char *b;
    if (!enc) {
        if (len > r->max_string || !rdb_rd_bytes(r, (size_t)len, &b))
            return 0;
        out->s = (const char *)b;
        out->n = (size_t)len;
        return 1;
    }
    if (len == ENC_INT8 || len == ENC_INT16 || len == ENC_INT32) {
        int k = len == ENC_INT8 ? 1 : len == ENC_INT16 ? 2 : 4;
        if (!rdb_rd_bytes(r, (size_t)k, &b))
            return 0;
        uint64_t u = 0;
        for (int i = k - 1; i >= 0; i--)
            u = (u << 8) | b[i];
        int64_t v = k == 1 ? (int8_t)u : k == 2 ? (int16_t)u : (int32_t)u;
        out->n = kv_ll2string(out->num, sizeof out->num, v);
        out->s = out->num;
        return 1;
    }
    if (len != ENC_LZF)
        return 0;
    uint64_t clen, ulen;
    if (!rdb_rd_len(r, &clen, NULL) || !rdb_rd_len(r, &ulen, NULL))
        return 0;
    if (ulen > r->max_string || !rdb_rd_bytes(r, (size_t)clen, &b))
        return 0;
    /* Every compressed byte yields at most 88 bytes: refuse a claimed
     * length the data cannot reach before allocating it. */
    if (ulen / 88 > clen + 1)
        return 0;
    out->own = kv_malloc(ulen ? (size_t)ulen : 1);
    if (ulen && lzf_decompress(b, (size_t)clen, out->own, (size_t)ulen) != ulen) {
        rdb_rstr_free(out);
        return 0;
    }
    out->s = out->own;
    out->n = (size_t)ulen;
    return 1;
}

/* The text form of a listpack/ziplist entry, into num when it is an int. */
static void ent_text(const rdb_ent *e, const char **s, size_t *n, char num[24])
{
    if (e->is_int) {
        *n = kv_ll2string(num, 24, e->v);
        *s = num;
    } else {
        *s = (const char *)e->s;
        *n = e->n;
    }
}

/* A score written as text (a listpack/ziplist entry or an old-style RDB
 * double): strtod of the whole string, never NaN. */
static int parse_score(const char *s, size_t n, double *out)
{
    if (n == 0 || n > 128)
        return 0;
    char buf[130];
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (end != buf + n || isnan(d))
        return 0;
    *out = d;
    return 1;
}

static int ent_score(const rdb_ent *e, double *out)
{
    if (e->is_int) {
        *out = (double)e->v;
        return 1;
    }
    return parse_score((const char *)e->s, e->n, out);
}

/* ---- Building values ---- */

typedef struct builder {
    int type;
    kv_list *l;
    kv_hash *h;
    kv_set *s;
    kv_zset *z;
} builder;

static void builder_free(builder *b)
{
    list_free(b->l);
    hash_free(b->h);
    set_free(b->s);
    zset_free(b->z);
    memset(b, 0, sizeof *b);
}

static int add_member(builder *b, const char *m, size_t n)
{
    if (!b->s) {
        b->s = set_new_for(m, n);
    }
    return set_add(&b->s, m, n);
}

static int add_field(builder *b, const char *f, size_t fl, const char *v, size_t vl)
{
    if (!b->h)
        b->h = hash_new();
    return hash_set(b->h, f, fl, v, vl);
}

static int add_scored(builder *b, const char *m, size_t n, double score)
{
    if (isnan(score))
        return 0;
    if (!b->z)
        b->z = zset_new();
    return zset_set(b->z, m, n, score) == ZSET_ADDED;
}

static void add_element(builder *b, const char *e, size_t n)
{
    if (!b->l)
        b->l = list_new();
    list_push(b->l, LIST_TAIL, e, n);
}

/* ---- Containers as RDB sequences ---- */

static int load_list_plain(rdb_reader *r, builder *b)
{
    uint64_t len;
    if (!rdb_rd_len(r, &len, NULL))
        return 0;
    for (uint64_t i = 0; i < len; i++) {
        rdb_rstr e;
        if (!rdb_rd_string(r, &e))
            return 0;
        add_element(b, e.s, e.n);
        rdb_rstr_free(&e);
    }
    return 1;
}

static int load_set_plain(rdb_reader *r, builder *b)
{
    uint64_t len;
    if (!rdb_rd_len(r, &len, NULL))
        return 0;
    for (uint64_t i = 0; i < len; i++) {
        rdb_rstr e;
        if (!rdb_rd_string(r, &e))
            return 0;
        int ok = add_member(b, e.s, e.n);
        rdb_rstr_free(&e);
        if (!ok)
            return 0; /* a duplicate member */
    }
    return 1;
}

static int load_hash_plain(rdb_reader *r, builder *b)
{
    uint64_t len;
    if (!rdb_rd_len(r, &len, NULL))
        return 0;
    for (uint64_t i = 0; i < len; i++) {
        rdb_rstr f, v;
        if (!rdb_rd_string(r, &f))
            return 0;
        if (!rdb_rd_string(r, &v)) {
            rdb_rstr_free(&f);
            return 0;
        }
        int ok = add_field(b, f.s, f.n, v.s, v.n);
        rdb_rstr_free(&f);
        rdb_rstr_free(&v);
        if (!ok)
            return 0;
    }
    return 1;
}

/* Redis's rdbLoadDoubleValue: a length byte (253 NaN, 254 +inf, 255
 * -inf) and that many bytes of text. */
static int rd_text_double(rdb_reader *r, double *d)
{
    const unsigned char *b;
    if (!rdb_rd_bytes(r, 1, &b))
        return 0;
    if (b[0] == 253)
        return 0;
    if (b[0] == 254 || b[0] == 255) {
        *d = b[0] == 254 ? INFINITY : -INFINITY;
        return 1;
    }
    size_t n = b[0];
    const unsigned char *t;
    if (!rdb_rd_bytes(r, n, &t))
        return 0;
    return parse_score((const char *)t, n, d);
}

static int rd_binary_double(rdb_reader *r, double *d)
{
    const unsigned char *b;
    if (!rdb_rd_bytes(r, 8, &b))
        return 0;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = (u << 8) | b[i];
    memcpy(d, &u, sizeof *d);
    return 1;
}

static int load_zset_plain(rdb_reader *r, builder *b, int binary)
{
    uint64_t len;
    if (!rdb_rd_len(r, &len, NULL))
        return 0;
    for (uint64_t i = 0; i < len; i++) {
        rdb_rstr m;
        double score;
        if (!rdb_rd_string(r, &m))
            return 0;
        int ok = binary ? rd_binary_double(r, &score) : rd_text_double(r, &score);
        ok = ok && add_scored(b, m.s, m.n, score);
        rdb_rstr_free(&m);
        if (!ok)
            return 0;
    }
    return 1;
}

/* ---- Containers as blobs ---- */

typedef int (*next_fn)(const unsigned char *p, size_t n, size_t *pos, rdb_ent *e);

/* The entries of a validated listpack or ziplist blob into b, as list
 * elements, hash pairs or sorted set pairs. */
static int load_entries(const unsigned char *p, size_t n, size_t count, next_fn next,
                        int type, builder *b)
{
    if (type != KT_LIST && count % 2)
        return 0;
    size_t pos = 0;
    rdb_ent e, e2;
    char num[24], num2[24];
    const char *s, *s2;
    size_t sl, sl2;
    while (next(p, n, &pos, &e)) {
        ent_text(&e, &s, &sl, num);
        if (type == KT_LIST) {
            add_element(b, s, sl);
            continue;
        }
        if (!next(p, n, &pos, &e2))
            return 0;
        if (type == KT_HASH) {
            ent_text(&e2, &s2, &sl2, num2);
            if (!add_field(b, s, sl, s2, sl2))
                return 0;
        } else {
            double score;
            if (!ent_score(&e2, &score) || !add_scored(b, s, sl, score))
                return 0;
        }
    }
    return 1;
}

static int load_listpack(const rdb_rstr *blob, int type, builder *b)
{
    size_t count;
    const unsigned char *p = (const unsigned char *)blob->s;
    if (!lp_validate(p, blob->n, &count))
        return 0;
    return load_entries(p, blob->n, count, lp_next, type, b);
}

static int load_ziplist(const rdb_rstr *blob, int type, builder *b)
{
    size_t count;
    const unsigned char *p = (const unsigned char *)blob->s;
    if (!zl_validate(p, blob->n, &count))
        return 0;
    return load_entries(p, blob->n, count, zl_next, type, b);
}

static int load_zipmap(const rdb_rstr *blob, builder *b)
{
    size_t pairs, pos = 0;
    const unsigned char *p = (const unsigned char *)blob->s;
    if (!zm_validate(p, blob->n, &pairs))
        return 0;
    rdb_ent f, v;
    while (zm_next(p, blob->n, &pos, &f, &v))
        if (!add_field(b, (const char *)f.s, f.n, (const char *)v.s, v.n))
            return 0;
    return 1;
}

static int load_intset(const rdb_rstr *blob, builder *b)
{
    int width;
    size_t count;
    const unsigned char *p = (const unsigned char *)blob->s;
    if (!is_validate(p, blob->n, &width, &count))
        return 0;
    if (!count)
        return 1;
    b->s = set_new();
    for (size_t i = 0; i < count; i++) {
        char num[24];
        size_t n = kv_ll2string(num, sizeof num, is_get_le(p, width, i));
        set_add(&b->s, num, n);
    }
    /* Redis keeps the intset it loaded, width and all. */
    set_intset_widen(&b->s, width);
    return 1;
}

static int load_quicklist(rdb_reader *r, builder *b, int v2)
{
    uint64_t nodes;
    if (!rdb_rd_len(r, &nodes, NULL))
        return 0;
    for (uint64_t i = 0; i < nodes; i++) {
        uint64_t container = QL_PACKED;
        if (v2 && (!rdb_rd_len(r, &container, NULL) ||
                   (container != QL_PLAIN && container != QL_PACKED)))
            return 0;
        rdb_rstr blob;
        if (!rdb_rd_string(r, &blob))
            return 0;
        if (blob.n == 0) {
            /* No node is empty, plain or packed (Redis refuses it too). */
            rdb_rstr_free(&blob);
            return 0;
        }
        int ok;
        if (container == QL_PLAIN) {
            add_element(b, blob.s, blob.n);
            ok = 1;
        } else {
            ok = v2 ? load_listpack(&blob, KT_LIST, b) : load_ziplist(&blob, KT_LIST, b);
        }
        rdb_rstr_free(&blob);
        if (!ok)
            return 0;
    }
    return 1;
}

static int load_blob(rdb_reader *r, int t, builder *b)
{
    rdb_rstr blob;
    if (!rdb_rd_string(r, &blob))
        return 0;
    int ok;
    switch (t) {
    case T_HASH_ZIPMAP:
        ok = load_zipmap(&blob, b);
        break;
    case T_LIST_ZIPLIST:
        ok = load_ziplist(&blob, KT_LIST, b);
        break;
    case T_SET_INTSET:
        ok = load_intset(&blob, b);
        break;
    case T_ZSET_ZIPLIST:
        ok = load_ziplist(&blob, KT_ZSET, b);
        break;
    case T_HASH_ZIPLIST:
        ok = load_ziplist(&blob, KT_HASH, b);
        break;
    case T_HASH_LISTPACK:
        ok = load_listpack(&blob, KT_HASH, b);
        break;
    default:
        ok = load_listpack(&blob, KT_ZSET, b);
        break;
    }
    rdb_rstr_free(&blob);
    return ok;
}

const char *rdb_payload_kind(const void *payload, size_t n)
{
    if (n < 1)
        return "Payload";
    switch (((const unsigned char *)payload)[0]) {
    case T_STRING: return "String";
    case T_LIST: return "List";
    case T_SET: return "Set";
    case T_ZSET:
    case T_ZSET_2: return "Zset";
    case T_HASH: return "Hash";
    case T_HASH_ZIPMAP: return "Zipmap";
    case T_LIST_ZIPLIST: return "List ziplist";
    case T_SET_INTSET: return "Intset";
    case T_ZSET_ZIPLIST: return "Zset ziplist";
    case T_HASH_ZIPLIST: return "Hash ziplist";
    case T_LIST_QUICKLIST:
    case T_LIST_QUICKLIST_2: return "Quicklist";
    case T_HASH_LISTPACK: return "Hash listpack";
    case T_ZSET_LISTPACK: return "Zset listpack";
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2: return "Stream";
    default: return "Payload";
    }
}

int rdb_load(const void *payload, size_t n, size_t max_string, rdb_value *v)
{
    memset(v, 0, sizeof *v);
    if (n < 10)
        return RDB_ERR_FORMAT;
    rdb_reader r = {payload, n - 10, 0, max_string};
    const unsigned char *tb;
    if (!rdb_rd_bytes(&r, 1, &tb))
        return RDB_ERR_FORMAT;
    int t = tb[0];
    if (t == T_STRING) {
        rdb_rstr s;
        if (!rdb_rd_string(&r, &s))
            return RDB_ERR_FORMAT;
        v->type = KT_STRING;
        v->slen = s.n;
        if (s.own) {
            v->str = s.own;
        } else {
            v->str = kv_malloc(s.n ? s.n : 1);
            memcpy(v->str, s.s, s.n);
        }
        return RDB_OK;
    }
    if (t == RDB_TYPE_STREAM_LISTPACKS || t == RDB_TYPE_STREAM_LISTPACKS_2) {
        kv_stream *st = rdb_load_stream(&r, t);
        if (!st)
            return RDB_ERR_FORMAT;
        v->type = KT_STREAM;
        v->ptr = st;
        return RDB_OK;
    }
    builder b;
    memset(&b, 0, sizeof b);
    int ok;
    switch (t) {
    case T_LIST:
        ok = load_list_plain(&r, &b);
        break;
    case T_SET:
        ok = load_set_plain(&r, &b);
        break;
    case T_ZSET:
    case T_ZSET_2:
        ok = load_zset_plain(&r, &b, t == T_ZSET_2);
        break;
    case T_HASH:
        ok = load_hash_plain(&r, &b);
        break;
    case T_LIST_QUICKLIST:
    case T_LIST_QUICKLIST_2:
        ok = load_quicklist(&r, &b, t == T_LIST_QUICKLIST_2);
        break;
    case T_HASH_ZIPMAP:
    case T_LIST_ZIPLIST:
    case T_SET_INTSET:
    case T_ZSET_ZIPLIST:
    case T_HASH_ZIPLIST:
    case T_HASH_LISTPACK:
    case T_ZSET_LISTPACK:
        ok = load_blob(&r, t, &b);
        break;
    default:
        ok = 0; /* module values, unknown types */
        break;
    }
    /* An empty container is not a value (Redis's "empty keys"). */
    if (!ok || (!b.l && !b.h && !b.s && !b.z)) {
        builder_free(&b);
        return RDB_ERR_FORMAT;
    }
    if (b.l) {
        v->type = KT_LIST;
        v->ptr = b.l;
    } else if (b.h) {
        v->type = KT_HASH;
        v->ptr = b.h;
    } else if (b.s) {
        v->type = KT_SET;
        v->ptr = b.s;
    } else {
        v->type = KT_ZSET;
        v->ptr = b.z;
    }
    return RDB_OK;
}

void rdb_value_free(rdb_value *v)
{
    if (v->type == KT_STRING)
        kv_free(v->str);
    else if (v->type == KT_LIST)
        list_free(v->ptr);
    else if (v->type == KT_HASH)
        hash_free(v->ptr);
    else if (v->type == KT_SET)
        set_free(v->ptr);
    else if (v->type == KT_ZSET)
        zset_free(v->ptr);
    else if (v->type == KT_STREAM)
        stream_free(v->ptr);
    memset(v, 0, sizeof *v);
}

kobj *rdb_value_install(ks *k, const void *key, size_t klen, rdb_value *v)
{
    kobj *o;
    switch (v->type) {
    case KT_STRING:
        o = ks_set_string(k, key, klen, v->str, v->slen, 0);
        kv_free(v->str);
        break;
    case KT_LIST:
        o = ks_add_list_value(k, key, klen, v->ptr);
        break;
    case KT_HASH:
        o = ks_add_hash_value(k, key, klen, v->ptr);
        break;
    case KT_SET:
        o = ks_add_set(k, key, klen, v->ptr);
        break;
    case KT_STREAM:
        o = ks_add_stream(k, key, klen, v->ptr);
        break;
    default:
        o = ks_add_zset(k, key, klen, v->ptr);
        break;
    }
    memset(v, 0, sizeof *v);
    return o;
}

/* ---- whole RDB files ---- */

enum {
    RDB_OPCODE_FUNCTION2 = 245,
    RDB_OPCODE_AUX = 250,
    RDB_OPCODE_RESIZEDB = 251,
    RDB_OPCODE_EXPIRETIME_MS = 252,
    RDB_OPCODE_SELECTDB = 254,
    RDB_OPCODE_EOF = 255,
};

static void put_opcode(kbuf *out, int op)
{
    unsigned char b = (unsigned char)op;
    kbuf_append(out, &b, 1);
}

void rdb_file_begin(kbuf *out, const char *const *aux, int naux)
{
    char magic[16];
    snprintf(magic, sizeof magic, "REDIS%04d", RDB_VERSION);
    kbuf_append(out, magic, 9);
    for (int i = 0; i + 1 < naux; i += 2) {
        put_opcode(out, RDB_OPCODE_AUX);
        rdb_save_string(out, aux[i], strlen(aux[i]));
        rdb_save_string(out, aux[i + 1], strlen(aux[i + 1]));
    }
}

void rdb_file_function(kbuf *out, const char *code, size_t n)
{
    put_opcode(out, RDB_OPCODE_FUNCTION2);
    rdb_save_string(out, code, n);
}

typedef struct file_db {
    kbuf *out;
    kbuf one; /* one key's type and value, reused */
} file_db;

/* A key as rdbSaveKeyValuePair writes it: [expiry] type key value (DUMP's
 * object without its footer, the key put after the type byte). */
static void save_pair(void *arg, kobj *o)
{
    file_db *f = arg;
    int64_t exp = kobj_expire(o);
    if (exp >= 0) {
        unsigned char ms[8];
        for (int i = 0; i < 8; i++)
            ms[i] = (unsigned char)((uint64_t)exp >> (8 * i));
        put_opcode(f->out, RDB_OPCODE_EXPIRETIME_MS);
        kbuf_append(f->out, ms, 8);
    }
    kbuf_reset(&f->one);
    dump_object(o, &f->one);
    size_t klen;
    const char *key = kobj_key(o, &klen);
    kbuf_append(f->out, kbuf_data(&f->one), 1);
    rdb_save_string(f->out, key, klen);
    kbuf_append(f->out, kbuf_data(&f->one) + 1, kbuf_len(&f->one) - 1);
}

void rdb_file_db(kbuf *out, int db, ks *k)
{
    if (ks_size(k) == 0)
        return;
    put_opcode(out, RDB_OPCODE_SELECTDB);
    rdb_save_len(out, (uint64_t)db);
    put_opcode(out, RDB_OPCODE_RESIZEDB);
    rdb_save_len(out, ks_size(k));
    rdb_save_len(out, ks_expires(k));
    file_db f = {out, KBUF_INIT};
    uint64_t cursor = 0;
    do
        cursor = ks_scan(k, cursor, save_pair, &f);
    while (cursor);
    kbuf_free(&f.one);
}

void rdb_file_end(kbuf *out, size_t start)
{
    put_opcode(out, RDB_OPCODE_EOF);
    uint64_t crc = rdb_checksum ? crc64(0, kbuf_data(out) + start, kbuf_len(out) - start) : 0;
    unsigned char c[8];
    for (int i = 0; i < 8; i++)
        c[i] = (unsigned char)(crc >> (8 * i));
    kbuf_append(out, c, 8);
}
