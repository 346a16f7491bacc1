/* fuzz_reply.c — libFuzzer harness for the reply encoder and the number
 * conversions (node/resp/reply.c, node/base/buf.c).
 *
 * The input drives a random tree of replies (strings with CR/LF, errors,
 * integers, doubles, aggregates, deferred lengths, unknown-command errors)
 * encoded in RESP2 and RESP3; a small independent RESP reader must then
 * read exactly the values that were written, no more, no fewer, and RESP2
 * output must use RESP2 types only. The same bytes also go through the
 * number parsers, whose results must round-trip:
 *  - kv_string2ll accepts exactly the canonical decimal form of an
 *    in-range value, so ll2string gives the input back;
 *  - a double kv_string2d accepts survives "%.17g" and string2d again;
 *  - a finite long double kv_string2ld accepts formats (HUMAN) into text
 *    with no trailing zero or point that kv_string2ld reads back. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* ---- Helpers: input cursor ---- */

typedef struct cursor {
    const uint8_t *p;
    size_t n;
} cursor;

static uint8_t take8(cursor *c)
{
    if (!c->n)
        return 0;
    c->n--;
    return *c->p++;
}

static uint64_t take64(cursor *c)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | take8(c);
    return v;
}

/* Up to `most` bytes of input as a string. */
static const char *take_str(cursor *c, size_t most, size_t *len)
{
    size_t n = take8(c) % (most + 1);
    if (n > c->n)
        n = c->n;
    const char *s = (const char *)c->p;
    c->p += n;
    c->n -= n;
    *len = n;
    return s;
}

/* ---- Helpers: generator ---- */

/* Write one random value; returns how many top-level values it is (1). */
static void gen(reply *r, cursor *c, int depth)
{
    size_t n;
    const char *s;
    uint8_t op = take8(c) % (depth >= 4 ? 11 : 16);
    switch (op) {
    case 0:
        s = take_str(c, 40, &n);
        reply_simple_len(r, s, n);
        break;
    case 1:
        s = take_str(c, 40, &n);
        reply_error_len(r, s, n);
        break;
    case 2:
        reply_int(r, (long long)take64(c));
        break;
    case 3:
        s = take_str(c, 64, &n);
        reply_bulk(r, s, n);
        break;
    case 4:
        if (take8(c) & 1)
            reply_null(r);
        else
            reply_null_array(r);
        break;
    case 5:
        reply_bool(r, take8(c) & 1);
        break;
    case 6: {
        uint64_t bits = take64(c);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (take8(c) & 1)
            reply_double(r, d);
        else
            reply_human_ld(r, (long double)d);
        break;
    }
    case 7:
        s = take_str(c, 40, &n);
        reply_verbatim(r, s, n, (take8(c) & 1) ? "txt" : "md");
        break;
    case 8: {
        char digits[40];
        size_t k = 1 + take8(c) % 39;
        for (size_t i = 0; i < k; i++)
            digits[i] = (char)('0' + take8(c) % 10);
        reply_bignum(r, digits, k);
        break;
    }
    case 9: {
        const char *argv[4];
        size_t lens[4];
        int argc = 1 + take8(c) % 4;
        for (int i = 0; i < argc; i++)
            argv[i] = take_str(c, 200, &lens[i]);
        reply_err_unknown_command(r, argc, argv, lens);
        break;
    }
    case 10:
        s = take_str(c, 20, &n);
        reply_errorf(r, "ERR %.*s", (int)n, s);
        break;
    default: {
        long k = take8(c) % 5;
        uint8_t kind = op - 11; /* 0 array 1 map 2 set 3 push 4 deferred */
        uint8_t dkind = take8(c) % 4;
        reply_deferred d = 0;
        long elems = kind == 1 || (kind == 4 && dkind == 1) ? 2 * k : k;
        if (kind == 0)
            reply_array(r, k);
        else if (kind == 1)
            reply_map(r, k);
        else if (kind == 2)
            reply_set(r, k);
        else if (kind == 3)
            reply_push(r, k);
        else
            d = reply_defer(r);
        for (long i = 0; i < elems; i++)
            gen(r, c, depth + 1);
        if (kind == 4) {
            if (dkind == 0)
                reply_set_array_len(r, d, k);
            else if (dkind == 1)
                reply_set_map_len(r, d, k);
            else if (dkind == 2)
                reply_set_set_len(r, d, k);
            else
                reply_set_push_len(r, d, k);
        }
        break;
    }
    }
}

/* ---- Helpers: reader ---- */

/* The line at *pos up to CRLF; it may hold no CR or LF. -1 if malformed. */
static long line_end(const char *b, size_t len, size_t pos)
{
    for (size_t i = pos; i + 1 < len; i++) {
        if (b[i] == '\r')
            return b[i + 1] == '\n' ? (long)i : -1;
        if (b[i] == '\n')
            return -1;
    }
    return -1;
}

static int read_value(const char *b, size_t len, size_t *pos, int resp);

static int read_count(const char *b, size_t len, size_t *pos, long long *v)
{
    long e = line_end(b, len, *pos + 1);
    if (e < 0 || !kv_string2ll(b + *pos + 1, (size_t)e - *pos - 1, v))
        return -1;
    *pos = (size_t)e + 2;
    return 0;
}

static int read_value(const char *b, size_t len, size_t *pos, int resp)
{
    if (*pos >= len)
        return -1;
    char t = b[*pos];
    long long v;
    long e;
    if (resp == 2 && !strchr("+-:$*", t))
        return -1;
    switch (t) {
    case '+':
    case '-':
    case '_':
    case '#':
    case ',':
    case '(':
        e = line_end(b, len, *pos + 1);
        if (e < 0)
            return -1;
        if (t == '_' && e != (long)*pos + 1)
            return -1;
        if (t == '#' && (e != (long)*pos + 2 || (b[*pos + 1] != 't' && b[*pos + 1] != 'f')))
            return -1;
        if (t == ',') {
            /* Long: a human long double has up to ~4950 digits. */
            size_t n = (size_t)e - *pos - 1;
            if (n == 0)
                return -1;
            char *tmp = kv_memdup(b + *pos + 1, n);
            char *end;
            strtod(tmp, &end);
            int bad = *end != '\0';
            kv_free(tmp);
            if (bad)
                return -1;
        }
        if (t == '(') {
            for (size_t i = *pos + 1; i < (size_t)e; i++)
                if (b[i] < '0' || b[i] > '9')
                    return -1;
        }
        *pos = (size_t)e + 2;
        return 0;
    case ':':
        return read_count(b, len, pos, &v);
    case '$':
    case '=':
        if (read_count(b, len, pos, &v) < 0)
            return -1;
        if (v == -1 && t == '$')
            return 0;
        if (v < 0 || (size_t)v > len - *pos || len - *pos - (size_t)v < 2)
            return -1;
        if (t == '=' && (v < 4 || b[*pos + 3] != ':'))
            return -1;
        *pos += (size_t)v;
        if (b[*pos] != '\r' || b[*pos + 1] != '\n')
            return -1;
        *pos += 2;
        return 0;
    case '*':
    case '%':
    case '~':
    case '>':
        if (read_count(b, len, pos, &v) < 0)
            return -1;
        if (v == -1 && t == '*')
            return 0;
        if (v < 0)
            return -1;
        if (t == '%')
            v *= 2;
        for (long long i = 0; i < v; i++)
            if (read_value(b, len, pos, resp) < 0)
                return -1;
        return 0;
    default:
        return -1;
    }
}

/* ---- Helpers: numbers ---- */

static void check_numbers(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t n = size > 64 ? 64 : size;

    long long ll;
    if (kv_string2ll(s, n, &ll)) {
        char buf[32];
        size_t m = kv_ll2string(buf, sizeof buf, ll);
        CHECK(m == n && memcmp(buf, s, n) == 0);
    } else if (n > 0 && n < 21 && !memchr(s, '\0', n)) {
        /* Refused: then it is not canonical or not in range. */
        char tmp[32];
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        char *end;
        errno = 0;
        long long v = strtoll(tmp, &end, 10);
        if (*end == '\0' && errno == 0 && end != tmp) {
            char canon[32];
            snprintf(canon, sizeof canon, "%lld", v);
            CHECK(strcmp(canon, tmp) != 0);
        }
    }

    double d;
    if (kv_string2d(s, n, &d)) {
        CHECK(!isnan(d));
        char buf[64];
        int m = snprintf(buf, sizeof buf, "%.17g", d);
        double back;
        CHECK(kv_string2d(buf, (size_t)m, &back));
        CHECK(back == d || (isinf(d) && back == d));
    }

    long double ld;
    if (kv_string2ld(s, n, &ld) && isfinite(ld)) {
        static char buf[KV_LD_STR_MAX];
        size_t m = kv_ld2string(buf, sizeof buf, ld, KV_LD_HUMAN);
        CHECK(m > 0 && buf[m] == '\0');
        CHECK(!(m == 2 && buf[0] == '-' && buf[1] == '0'));
        if (memchr(buf, '.', m))
            CHECK(buf[m - 1] != '0' && buf[m - 1] != '.');
        long double back;
        CHECK(kv_string2ld(buf, m, &back));
        m = kv_ld2string(buf, sizeof buf, ld, KV_LD_AUTO);
        CHECK(m > 0 && kv_string2ld(buf, m, &back));
    }
}

/* ---- Harness ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_numbers(data, size);
    for (int resp = 2; resp <= 3; resp++) {
        kbuf out = KBUF_INIT;
        reply r = reply_make(&out, resp);
        cursor c = {data, size};
        /* A reply partly written to the socket already: deferred offsets
         * are relative to what is left. */
        kbuf_append(&out, "+junk\r\n:1\r\n", 11);
        kbuf_consume(&out, 7);
        size_t values = 1;
        while (c.n && values < 65) {
            gen(&r, &c, 0);
            values++;
        }
        size_t pos = 0;
        for (size_t i = 0; i < values; i++)
            CHECK(read_value(kbuf_data(&out), kbuf_len(&out), &pos, resp) == 0);
        CHECK(pos == kbuf_len(&out));
        kbuf_free(&out);
    }
    return 0;
}
