/* reply.c — the reply encoder and Redis's number formats (see reply.h).
 *
 * Every byte sequence here is Redis 7.0's (networking.c addReply*,
 * server.c's command rejections, util.c's number conversions), checked
 * against redis-server 7.0.15. Must never emit a CR or LF inside a simple
 * string or error line: that would let client data forge replies. */
#include "reply.h"

#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A deferred header's slot: prefix, up to 20 digits, CRLF. */
#define DEFER_SLOT (1 + KV_I64_DIGITS + 2)

/* ---- Helpers ---- */

static void put(reply *r, const void *p, size_t n)
{
    kbuf_append(r->out, p, n);
}

static void crlf(reply *r)
{
    put(r, "\r\n", 2);
}

/* <prefix><decimal>\r\n */
static void put_prefixed(reply *r, char prefix, long long v)
{
    kbuf_reserve(r->out, 1 + KV_I64_DIGITS + 1 + 2);
    char *t = kbuf_tail(r->out);
    t[0] = prefix;
    size_t n = kv_ll2string(t + 1, KV_I64_DIGITS + 1, v);
    t[1 + n] = '\r';
    t[2 + n] = '\n';
    kbuf_commit(r->out, n + 3);
}

/* Append p[0 .. n) with every CR and LF turned into a space. */
static void put_line(reply *r, const char *p, size_t n)
{
    kbuf_reserve(r->out, n);
    char *t = kbuf_tail(r->out);
    for (size_t i = 0; i < n; i++)
        t[i] = p[i] == '\r' || p[i] == '\n' ? ' ' : p[i];
    kbuf_commit(r->out, n);
}

static size_t cstr_len(const char *s, size_t n)
{
    const char *z = memchr(s, '\0', n);
    return z ? (size_t)(z - s) : n;
}

/* ---- Scalars ---- */

void reply_simple_len(reply *r, const char *s, size_t n)
{
    put(r, "+", 1);
    put_line(r, s, n);
    crlf(r);
}

void reply_simple(reply *r, const char *s)
{
    reply_simple_len(r, s, strlen(s));
}

void reply_ok(reply *r)
{
    put(r, "+OK\r\n", 5);
}

void reply_error_len(reply *r, const char *msg, size_t n)
{
    put(r, "-", 1);
    put_line(r, msg, n);
    crlf(r);
}

void reply_error(reply *r, const char *msg)
{
    reply_error_len(r, msg, strlen(msg));
}

void reply_errorf(reply *r, const char *fmt, ...)
{
    kbuf tmp = KBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    kbuf_vprintf(&tmp, fmt, ap);
    va_end(ap);
    /* sdstrim(s, "\r\n"): both ends. */
    const char *s = kbuf_data(&tmp);
    size_t n = kbuf_len(&tmp);
    while (n && (s[0] == '\r' || s[0] == '\n')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    reply_error_len(r, s ? s : "", n);
    kbuf_free(&tmp);
}

void reply_int(reply *r, long long v)
{
    put_prefixed(r, ':', v);
}

void reply_bulk(reply *r, const void *p, size_t n)
{
    put_prefixed(r, '$', (long long)n);
    put(r, p, n);
    crlf(r);
}

void reply_bulk_cstr(reply *r, const char *s)
{
    if (!s)
        reply_null(r);
    else
        reply_bulk(r, s, strlen(s));
}

void reply_bulk_ll(reply *r, long long v)
{
    char buf[KV_I64_DIGITS + 1];
    size_t n = kv_ll2string(buf, sizeof buf, v);
    reply_bulk(r, buf, n);
}

void reply_empty_bulk(reply *r)
{
    put(r, "$0\r\n\r\n", 6);
}

void reply_null(reply *r)
{
    if (r->resp == 2)
        put(r, "$-1\r\n", 5);
    else
        put(r, "_\r\n", 3);
}

void reply_null_array(reply *r)
{
    if (r->resp == 2)
        put(r, "*-1\r\n", 5);
    else
        put(r, "_\r\n", 3);
}

void reply_bool(reply *r, int v)
{
    if (r->resp == 2)
        put(r, v ? ":1\r\n" : ":0\r\n", 4);
    else
        put(r, v ? "#t\r\n" : "#f\r\n", 4);
}

void reply_double(reply *r, double d)
{
    char buf[64];
    int n;
    if (isinf(d))
        n = snprintf(buf, sizeof buf, "%s", d > 0 ? "inf" : "-inf");
    else if (isnan(d))
        n = snprintf(buf, sizeof buf, "nan");
    else
        n = snprintf(buf, sizeof buf, "%.17g", d);
    if (r->resp == 2) {
        reply_bulk(r, buf, (size_t)n);
    } else {
        put(r, ",", 1);
        put(r, buf, (size_t)n);
        crlf(r);
    }
}

void reply_human_ld(reply *r, long double d)
{
    char buf[KV_LD_STR_MAX];
    size_t n = kv_ld2string(buf, sizeof buf, d, KV_LD_HUMAN);
    if (r->resp == 2) {
        reply_bulk(r, buf, n);
    } else {
        put(r, ",", 1);
        put(r, buf, n);
        crlf(r);
    }
}

void reply_verbatim(reply *r, const void *p, size_t n, const char *ext)
{
    if (r->resp == 2) {
        reply_bulk(r, p, n);
        return;
    }
    put_prefixed(r, '=', (long long)(n + 4));
    char tag[4];
    for (int i = 0; i < 3; i++)
        tag[i] = *ext ? *ext++ : ' ';
    tag[3] = ':';
    put(r, tag, 4);
    put(r, p, n);
    crlf(r);
}

void reply_bignum(reply *r, const char *digits, size_t n)
{
    if (r->resp == 2) {
        reply_bulk(r, digits, n);
        return;
    }
    put(r, "(", 1);
    put(r, digits, n);
    crlf(r);
}

/* ---- Aggregates ---- */

void reply_array(reply *r, long n)
{
    put_prefixed(r, '*', n);
}

void reply_empty_array(reply *r)
{
    put(r, "*0\r\n", 4);
}

void reply_map(reply *r, long n)
{
    if (r->resp == 2)
        put_prefixed(r, '*', (long long)n * 2);
    else
        put_prefixed(r, '%', n);
}

void reply_set(reply *r, long n)
{
    put_prefixed(r, r->resp == 2 ? '*' : '~', n);
}

void reply_push(reply *r, long n)
{
    put_prefixed(r, r->resp == 2 ? '*' : '>', n);
}

int reply_attribute(reply *r, long n)
{
    if (r->resp == 2)
        return 0;
    put_prefixed(r, '|', n);
    return 1;
}

/* ---- Deferred lengths ---- */

reply_deferred reply_defer(reply *r)
{
    reply_deferred d = kbuf_len(r->out);
    kbuf_reserve(r->out, DEFER_SLOT);
    memset(kbuf_tail(r->out), ' ', DEFER_SLOT);
    kbuf_commit(r->out, DEFER_SLOT);
    return d;
}

/* Write the header into its slot and close the gap after it. */
static void set_deferred(reply *r, reply_deferred d, char prefix, long long n)
{
    char hdr[DEFER_SLOT];
    hdr[0] = prefix;
    size_t len = 1 + kv_ll2string(hdr + 1, KV_I64_DIGITS + 1, n);
    hdr[len++] = '\r';
    hdr[len++] = '\n';
    char *at = kbuf_data(r->out) + d;
    size_t after = kbuf_len(r->out) - d - DEFER_SLOT;
    memcpy(at, hdr, len);
    memmove(at + len, at + DEFER_SLOT, after);
    kbuf_truncate(r->out, kbuf_len(r->out) - (DEFER_SLOT - len));
}

void reply_set_array_len(reply *r, reply_deferred d, long n)
{
    set_deferred(r, d, '*', n);
}

void reply_set_map_len(reply *r, reply_deferred d, long n)
{
    if (r->resp == 2)
        set_deferred(r, d, '*', (long long)n * 2);
    else
        set_deferred(r, d, '%', n);
}

void reply_set_set_len(reply *r, reply_deferred d, long n)
{
    set_deferred(r, d, r->resp == 2 ? '*' : '~', n);
}

void reply_set_push_len(reply *r, reply_deferred d, long n)
{
    set_deferred(r, d, r->resp == 2 ? '*' : '>', n);
}

/* ---- Common errors ---- */

void reply_err_wrongtype(reply *r)
{
    reply_error(r, KV_ERR_WRONGTYPE);
}

void reply_err_syntax(reply *r)
{
    reply_error(r, KV_ERR_SYNTAX);
}

void reply_err_notint(reply *r)
{
    reply_error(r, KV_ERR_NOTINT);
}

void reply_err_notfloat(reply *r)
{
    reply_error(r, KV_ERR_NOTFLOAT);
}

void reply_err_arity(reply *r, const char *name)
{
    reply_errorf(r, "ERR wrong number of arguments for '%s' command", name);
}

/* The text of server.c's processCommand rejection, built as its
 * sdscatprintf calls build it ("%.128s" stops at a NUL). */
void reply_err_unknown_command(reply *r, int argc, const char *const *argv,
                               const size_t *lens)
{
    char args[160];
    size_t alen = 0;
    for (int i = 1; i < argc && alen < 128; i++) {
        size_t n = cstr_len(argv[i], lens[i]);
        if (n > 128 - alen)
            n = 128 - alen;
        args[alen++] = '\'';
        memcpy(args + alen, argv[i], n);
        alen += n;
        args[alen++] = '\'';
        args[alen++] = ' ';
    }
    size_t n0 = argc > 0 ? cstr_len(argv[0], lens[0]) : 0;
    if (n0 > 128)
        n0 = 128;
    put(r, "-ERR unknown command '", 22);
    put_line(r, argc > 0 ? argv[0] : "", n0);
    put(r, "', with args beginning with: ", 29);
    put_line(r, args, alen);
    crlf(r);
}

static void upper_cmd(char *dst, const char *cmd, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)toupper((unsigned char)cmd[i]);
}

static void subcommand_error(reply *r, const char *head, const char *cmd, size_t cmdlen,
                             const char *sub, size_t sublen)
{
    size_t n = cstr_len(sub, sublen);
    if (n > 128)
        n = 128;
    cmdlen = cstr_len(cmd, cmdlen);
    put(r, "-", 1);
    put(r, head, strlen(head));
    put_line(r, sub, n);
    put(r, "'. Try ", 7);
    kbuf_reserve(r->out, cmdlen);
    upper_cmd(kbuf_tail(r->out), cmd, cmdlen);
    for (size_t i = 0; i < cmdlen; i++) {
        char *c = kbuf_tail(r->out) + i;
        if (*c == '\r' || *c == '\n')
            *c = ' ';
    }
    kbuf_commit(r->out, cmdlen);
    put(r, " HELP.\r\n", 8);
}

void reply_err_unknown_subcommand(reply *r, const char *cmd, size_t cmdlen,
                                  const char *sub, size_t sublen)
{
    subcommand_error(r, "ERR unknown subcommand '", cmd, cmdlen, sub, sublen);
}

void reply_err_subcommand_syntax(reply *r, const char *cmd, size_t cmdlen,
                                 const char *sub, size_t sublen)
{
    subcommand_error(r, "ERR unknown subcommand or wrong number of arguments for '", cmd,
                     cmdlen, sub, sublen);
}

/* ---- Numbers ---- */

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int kv_string2ld(const char *s, size_t slen, long double *out)
{
    char buf[KV_LD_STR_MAX];
    if (slen == 0 || slen >= sizeof buf)
        return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if (is_blank((unsigned char)buf[0]) || (size_t)(end - buf) != slen ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        errno == EINVAL || isnan(v))
        return 0;
    *out = v;
    return 1;
}

int kv_string2d(const char *s, size_t slen, double *out)
{
    if (slen == 0 || is_blank((unsigned char)s[0]))
        return 0;
    char small[128];
    char *buf = slen < sizeof small ? small : kv_malloc(slen + 1);
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    int ok = (size_t)(end - buf) == slen &&
             !(errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) &&
             !isnan(v);
    if (buf != small)
        kv_free(buf);
    if (ok)
        *out = v;
    return ok;
}

size_t kv_ld2string(char *buf, size_t len, long double v, int mode)
{
    size_t l;
    if (isinf(v)) {
        if (len < 5)
            goto err;
        l = v > 0 ? 3 : 4;
        memcpy(buf, v > 0 ? "inf" : "-inf", l);
    } else if (mode == KV_LD_AUTO) {
        int n = snprintf(buf, len, "%.17Lg", v);
        if (n < 0 || (size_t)n + 1 > len)
            goto err;
        l = (size_t)n;
    } else {
        int n = snprintf(buf, len, "%.17Lf", v);
        if (n < 0 || (size_t)n + 1 > len)
            goto err;
        l = (size_t)n;
        /* Drop trailing zeros after the point, then a bare point. */
        if (memchr(buf, '.', l)) {
            while (buf[l - 1] == '0')
                l--;
            if (buf[l - 1] == '.')
                l--;
        }
        if (l == 2 && buf[0] == '-' && buf[1] == '0') {
            buf[0] = '0';
            l = 1;
        }
    }
    buf[l] = '\0';
    return l;
err:
    if (len)
        buf[0] = '\0';
    return 0;
}
