/* rdb_codec.c — listpack, ziplist, zipmap and intset blobs (see
 * rdb_codec.h). All multi-byte fields are little-endian except a ziplist's
 * 32-bit string length, which is big-endian (as in Redis). */
#include "rdb_codec.h"

#include <string.h>

/* ---- little helpers ---- */

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint16_t rd_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint64_t rd_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Sign-extend the low `bits` bits of v. */
static int64_t sext(uint64_t v, int bits)
{
    uint64_t m = (uint64_t)1 << (bits - 1);
    v &= (bits == 64) ? ~(uint64_t)0 : (((uint64_t)1 << bits) - 1);
    return (int64_t)((v ^ m) - m);
}

/* ------------------------------------------------------------------------ */
/* listpack                                                                  */
/* ------------------------------------------------------------------------ */

#define LP_HDR 6
#define LP_EOF 0xFF
#define LP_COUNT_UNKNOWN 65535

static size_t backlen_size(uint64_t l)
{
    if (l <= 127)
        return 1;
    if (l < 16383)
        return 2;
    if (l < 2097151)
        return 3;
    if (l < 268435455)
        return 4;
    return 5;
}

/* Redis's lpEncodeBacklen: the most significant 7-bit group first, every
 * byte after the first with its top bit set, so it reads back from the end. */
static size_t backlen_put(unsigned char *buf, uint64_t l)
{
    size_t k = backlen_size(l);
    for (size_t i = 0; i < k; i++) {
        unsigned shift = (unsigned)(7 * (k - 1 - i));
        buf[i] = (unsigned char)((l >> shift) & 127);
        if (i > 0)
            buf[i] |= 128;
    }
    if (k == 1)
        buf[0] = (unsigned char)l;
    return k;
}

void lpw_init(lp_writer *w)
{
    kbuf_init(&w->b);
    w->count = 0;
    static const unsigned char hdr[LP_HDR] = {0};
    kbuf_append(&w->b, hdr, LP_HDR);
}

static void lpw_entry(lp_writer *w, const unsigned char *enc, size_t enclen, const void *data,
                      size_t dlen)
{
    unsigned char bl[5];
    size_t k = backlen_put(bl, enclen + dlen);
    kbuf_append(&w->b, enc, enclen);
    if (dlen)
        kbuf_append(&w->b, data, dlen);
    kbuf_append(&w->b, bl, k);
    w->count++;
}

void lpw_append_int(lp_writer *w, int64_t v)
{
    unsigned char e[9];
    size_t n;
    uint64_t u = (uint64_t)v;
    if (v >= 0 && v <= 127) {
        e[0] = (unsigned char)v;
        n = 1;
    } else if (v >= -4096 && v <= 4095) {
        uint64_t x = u & 0x1fff;
        e[0] = (unsigned char)(0xC0 | (x >> 8));
        e[1] = (unsigned char)(x & 0xff);
        n = 2;
    } else {
        int bytes;
        if (v >= -32768 && v <= 32767) {
            e[0] = 0xF1;
            bytes = 2;
        } else if (v >= -8388608 && v <= 8388607) {
            e[0] = 0xF2;
            bytes = 3;
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            e[0] = 0xF3;
            bytes = 4;
        } else {
            e[0] = 0xF4;
            bytes = 8;
        }
        for (int i = 0; i < bytes; i++)
            e[1 + i] = (unsigned char)(u >> (8 * i));
        n = 1 + (size_t)bytes;
    }
    lpw_entry(w, e, n, NULL, 0);
}

void lpw_append(lp_writer *w, const void *s, size_t n)
{
    long long v;
    if (n && kv_string2ll(s, n, &v)) {
        lpw_append_int(w, v);
        return;
    }
    unsigned char e[5];
    size_t el;
    if (n < 64) {
        e[0] = (unsigned char)(0x80 | n);
        el = 1;
    } else if (n < 4096) {
        e[0] = (unsigned char)(0xE0 | (n >> 8));
        e[1] = (unsigned char)(n & 0xff);
        el = 2;
    } else {
        e[0] = 0xF0;
        for (int i = 0; i < 4; i++)
            e[1 + i] = (unsigned char)((uint64_t)n >> (8 * i));
        el = 5;
    }
    lpw_entry(w, e, el, s, n);
}

size_t lp_int_size(int64_t v)
{
    size_t n;
    if (v >= 0 && v <= 127)
        n = 1;
    else if (v >= -4096 && v <= 4095)
        n = 2;
    else if (v >= -32768 && v <= 32767)
        n = 3;
    else if (v >= -8388608 && v <= 8388607)
        n = 4;
    else if (v >= INT32_MIN && v <= INT32_MAX)
        n = 5;
    else
        n = 9;
    return n + backlen_size(n);
}

size_t lp_str_size(const void *s, size_t n)
{
    long long v;
    if (n && kv_string2ll(s, n, &v))
        return lp_int_size(v);
    size_t el = n < 64 ? 1 : n < 4096 ? 2 : 5;
    return el + n + backlen_size(el + n);
}

size_t lpw_bytes(const lp_writer *w)
{
    return kbuf_len(&w->b) + 1;
}

void lpw_finish(lp_writer *w)
{
    kbuf_putc(&w->b, (char)LP_EOF);
    unsigned char *p = (unsigned char *)kbuf_data(&w->b);
    uint32_t total = (uint32_t)kbuf_len(&w->b);
    uint32_t count = w->count < LP_COUNT_UNKNOWN ? (uint32_t)w->count : LP_COUNT_UNKNOWN;
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(total >> (8 * i));
    p[4] = (unsigned char)(count & 0xff);
    p[5] = (unsigned char)(count >> 8);
}

void lpw_free(lp_writer *w)
{
    kbuf_free(&w->b);
}

/* Decode the entry at p[pos..n): its encoding and data length (*elen),
 * filling e. 0 if it does not fit or the encoding is invalid. */
static int lp_decode(const unsigned char *p, size_t n, size_t pos, rdb_ent *e, size_t *elen)
{
    size_t left = n - pos;
    const unsigned char *q = p + pos;
    unsigned b = q[0];
    memset(e, 0, sizeof *e);
    size_t hdr, dlen = 0;
    if ((b & 0x80) == 0) {
        e->is_int = 1;
        e->v = b & 0x7f;
        *elen = 1;
        return 1;
    }
    if ((b & 0xC0) == 0x80) {
        hdr = 1;
        dlen = b & 0x3f;
    } else if ((b & 0xE0) == 0xC0) {
        if (left < 2)
            return 0;
        e->is_int = 1;
        e->v = sext(((uint64_t)(b & 0x1f) << 8) | q[1], 13);
        *elen = 2;
        return 1;
    } else if ((b & 0xF0) == 0xE0) {
        if (left < 2)
            return 0;
        hdr = 2;
        dlen = ((size_t)(b & 0x0f) << 8) | q[1];
    } else if (b == 0xF0) {
        if (left < 5)
            return 0;
        hdr = 5;
        dlen = rd_u32(q + 1);
    } else if (b >= 0xF1 && b <= 0xF4) {
        static const int bytes[] = {2, 3, 4, 8};
        int k = bytes[b - 0xF1];
        if (left < 1 + (size_t)k)
            return 0;
        e->is_int = 1;
        e->v = sext(rd_le(q + 1, k), 8 * k);
        *elen = 1 + (size_t)k;
        return 1;
    } else {
        return 0; /* 0xF5..0xFE are not encodings; 0xFF is the end */
    }
    if (dlen > left - hdr)
        return 0;
    e->s = q + hdr;
    e->n = dlen;
    *elen = hdr + dlen;
    return 1;
}

int lp_validate(const unsigned char *p, size_t n, size_t *count)
{
    if (n < LP_HDR + 1 || rd_u32(p) != n || p[n - 1] != LP_EOF)
        return 0;
    size_t hdr_count = rd_u16(p + 4);
    size_t pos = LP_HDR, seen = 0;
    while (pos < n - 1) {
        rdb_ent e;
        size_t elen;
        if (!lp_decode(p, n - 1, pos, &e, &elen))
            return 0;
        unsigned char bl[5];
        size_t k = backlen_put(bl, elen);
        if (elen + k > n - 1 - pos || memcmp(p + pos + elen, bl, k) != 0)
            return 0;
        pos += elen + k;
        seen++;
    }
    if (pos != n - 1)
        return 0;
    if (hdr_count != LP_COUNT_UNKNOWN && hdr_count != seen)
        return 0;
    *count = seen;
    return 1;
}

int lp_next(const unsigned char *p, size_t n, size_t *pos, rdb_ent *e)
{
    if (*pos == 0)
        *pos = LP_HDR;
    if (*pos >= n - 1)
        return 0;
    size_t elen;
    if (!lp_decode(p, n - 1, *pos, e, &elen))
        return 0;
    *pos += elen + backlen_size(elen);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* ziplist                                                                   */
/* ------------------------------------------------------------------------ */

#define ZL_HDR 10

/* Decode the entry at pos: its prevlen, header and data sizes. */
static int zl_decode(const unsigned char *p, size_t n, size_t pos, size_t *prevlen,
                     size_t *total, rdb_ent *e)
{
    size_t left = n - pos;
    const unsigned char *q = p + pos;
    size_t pl;
    if (left < 1)
        return 0;
    if (q[0] < 254) {
        *prevlen = q[0];
        pl = 1;
    } else if (q[0] == 254) {
        if (left < 5)
            return 0;
        *prevlen = rd_u32(q + 1);
        pl = 5;
    } else {
        return 0;
    }
    if (left < pl + 1)
        return 0;
    unsigned enc = q[pl];
    size_t hdr, dlen = 0;
    memset(e, 0, sizeof *e);
    switch (enc >> 6) {
    case 0:
        hdr = 1;
        dlen = enc & 0x3f;
        break;
    case 1:
        if (left < pl + 2)
            return 0;
        hdr = 2;
        dlen = ((size_t)(enc & 0x3f) << 8) | q[pl + 1];
        break;
    case 2:
        if (left < pl + 5)
            return 0;
        hdr = 5;
        dlen = ((size_t)q[pl + 1] << 24) | ((size_t)q[pl + 2] << 16) |
               ((size_t)q[pl + 3] << 8) | q[pl + 4];
        break;
    default: {
        int bytes;
        e->is_int = 1;
        if (enc == 0xC0)
            bytes = 2;
        else if (enc == 0xD0)
            bytes = 4;
        else if (enc == 0xE0)
            bytes = 8;
        else if (enc == 0xF0)
            bytes = 3;
        else if (enc == 0xFE)
            bytes = 1;
        else if (enc >= 0xF1 && enc <= 0xFD)
            bytes = 0;
        else
            return 0;
        if (left < pl + 1 + (size_t)bytes)
            return 0;
        e->v = bytes ? sext(rd_le(q + pl + 1, bytes), 8 * bytes) : (int64_t)(enc & 0x0f) - 1;
        *total = pl + 1 + (size_t)bytes;
        return 1;
    }
    }
    if (dlen > left - pl - hdr)
        return 0;
    e->s = q + pl + hdr;
    e->n = dlen;
    *total = pl + hdr + dlen;
    return 1;
}

int zl_validate(const unsigned char *p, size_t n, size_t *count)
{
    if (n < ZL_HDR + 1 || rd_u32(p) != n || p[n - 1] != 0xFF)
        return 0;
    size_t tail = rd_u32(p + 4), hdr_count = rd_u16(p + 8);
    size_t pos = ZL_HDR, prev = 0, last = ZL_HDR, seen = 0;
    while (pos < n - 1) {
        size_t prevlen, total;
        rdb_ent e;
        if (!zl_decode(p, n - 1, pos, &prevlen, &total, &e) || prevlen != prev)
            return 0;
        last = pos;
        prev = total;
        pos += total;
        seen++;
    }
    if (pos != n - 1 || last != tail)
        return 0;
    if (hdr_count != 65535 && hdr_count != seen)
        return 0;
    *count = seen;
    return 1;
}

int zl_next(const unsigned char *p, size_t n, size_t *pos, rdb_ent *e)
{
    if (*pos == 0)
        *pos = ZL_HDR;
    if (*pos >= n - 1)
        return 0;
    size_t prevlen, total;
    if (!zl_decode(p, n - 1, *pos, &prevlen, &total, e))
        return 0;
    *pos += total;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* zipmap                                                                    */
/* ------------------------------------------------------------------------ */

/* A zipmap length at pos: 1 byte below 254, or 254 and 4 bytes. */
static int zm_len(const unsigned char *p, size_t n, size_t *pos, size_t *len)
{
    if (*pos >= n || p[*pos] == 255)
        return 0;
    if (p[*pos] < 254) {
        *len = p[*pos];
        *pos += 1;
        return 1;
    }
    if (n - *pos < 5)
        return 0;
    *len = rd_u32(p + *pos + 1);
    *pos += 5;
    return 1;
}

/* One pair at *pos (which must not be the end marker). */
static int zm_pair(const unsigned char *p, size_t n, size_t *pos, rdb_ent *f, rdb_ent *v)
{
    size_t klen, vlen;
    memset(f, 0, sizeof *f);
    memset(v, 0, sizeof *v);
    if (!zm_len(p, n, pos, &klen) || klen > n - *pos)
        return 0;
    f->s = p + *pos;
    f->n = klen;
    *pos += klen;
    if (!zm_len(p, n, pos, &vlen) || *pos >= n)
        return 0;
    size_t free_bytes = p[*pos];
    *pos += 1;
    if (vlen > n - *pos || free_bytes > n - *pos - vlen)
        return 0;
    v->s = p + *pos;
    v->n = vlen;
    *pos += vlen + free_bytes;
    return 1;
}

int zm_validate(const unsigned char *p, size_t n, size_t *pairs)
{
    if (n < 2 || p[n - 1] != 255)
        return 0;
    size_t hdr_count = p[0], pos = 1, seen = 0;
    while (pos < n - 1) {
        rdb_ent f, v;
        if (!zm_pair(p, n - 1, &pos, &f, &v))
            return 0;
        seen++;
    }
    if (pos != n - 1)
        return 0;
    if (hdr_count < 254 && hdr_count != seen)
        return 0;
    *pairs = seen;
    return 1;
}

int zm_next(const unsigned char *p, size_t n, size_t *pos, rdb_ent *field, rdb_ent *value)
{
    if (*pos == 0)
        *pos = 1;
    if (*pos >= n - 1)
        return 0;
    return zm_pair(p, n - 1, pos, field, value);
}

/* ------------------------------------------------------------------------ */
/* intset                                                                    */
/* ------------------------------------------------------------------------ */

int64_t is_get_le(const unsigned char *p, int width, size_t i)
{
    return sext(rd_le(p + 8 + i * (size_t)width, width), 8 * width);
}

int is_validate(const unsigned char *p, size_t n, int *width, size_t *count)
{
    if (n < 8)
        return 0;
    uint32_t w = rd_u32(p), c = rd_u32(p + 4);
    if (w != 2 && w != 4 && w != 8)
        return 0;
    if ((uint64_t)c * w + 8 != n)
        return 0;
    for (size_t i = 1; i < c; i++)
        if (is_get_le(p, (int)w, i - 1) >= is_get_le(p, (int)w, i))
            return 0;
    *width = (int)w;
    *count = c;
    return 1;
}
