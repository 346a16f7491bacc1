/* util.c — small pieces every part of libkvclient uses: the monotonic
 * clock, error messages, the growable byte buffer, option handling.
 * Owns nothing global. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* ---- Allocation ---- */

long kvc_alloc_budget = -1;

static int alloc_allowed(void)
{
    if (kvc_alloc_budget < 0)
        return 1;
    if (kvc_alloc_budget == 0)
        return 0;
    kvc_alloc_budget--;
    return 1;
}

void *kvc_malloc(size_t n)
{
    return alloc_allowed() ? malloc(n) : NULL;
}

void *kvc_calloc(size_t n, size_t size)
{
    return alloc_allowed() ? calloc(n, size) : NULL;
}

void *kvc_realloc(void *p, size_t n)
{
    return alloc_allowed() ? realloc(p, n) : NULL;
}

char *kvc_strdup(const char *s)
{
    return alloc_allowed() ? strdup(s) : NULL;
}

/* ---- Time ---- */

int64_t kvc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kvc_deadline(int timeout_ms)
{
    return timeout_ms > 0 ? kvc_now_ms() + timeout_ms : INT64_MAX;
}

int kvc_poll_timeout(int64_t deadline)
{
    if (deadline == INT64_MAX)
        return -1;
    int64_t left = deadline - kvc_now_ms();
    if (left <= 0)
        return 0;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* ---- Errors ---- */

int kvc_fail(char *buf, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, KVC_ERRMSG_MAX, fmt, ap);
    va_end(ap);
    return code;
}

void kvc_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    if (cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

/* ---- Buffer ---- */

int kvc_buf_reserve(kvc_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    size_t held = b->len - b->off;
    if (b->off > 0 && b->cap - held >= more && b->off >= held) {
        /* Enough room once the consumed front is reclaimed. */
        memmove(b->data, b->data + b->off, held);
        b->len = held;
        b->off = 0;
        return 0;
    }
    if (held > SIZE_MAX / 2 - more)
        return KV_ENOMEM;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < held + more)
        ncap *= 2;
    char *d = kvc_malloc(ncap);
    if (d == NULL)
        return KV_ENOMEM;
    if (held)
        memcpy(d, b->data + b->off, held);
    free(b->data);
    b->data = d;
    b->cap = ncap;
    b->len = held;
    b->off = 0;
    return 0;
}

int kvc_buf_append(kvc_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (kvc_buf_reserve(b, n) < 0)
        return KV_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void kvc_buf_consume(kvc_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
}

void kvc_buf_reset(kvc_buf *b)
{
    b->off = b->len = 0;
}

void kvc_buf_free(kvc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->off = b->cap = 0;
}

/* ---- Options ---- */

void kv_options_init(kv_options *o)
{
    memset(o, 0, sizeof *o);
    o->connect_timeout_ms = 5000;
    o->io_timeout_ms = 0;
    o->resp = 2;
    kv_reader_limits_init(&o->limits);
    o->failover_timeout_ms = 10000;
    o->max_attempts = 64;
    o->backoff_initial_ms = 50;
    o->backoff_max_ms = 250;
    o->master_name = "kvnode";
}

static int dup_opt(const char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    char *s = kvc_strdup(src);
    if (s == NULL)
        return KV_ENOMEM;
    *dst = s;
    return 0;
}

int kvc_options_copy(kv_options *dst, const kv_options *opt)
{
    kv_options def;
    if (opt == NULL) {
        kv_options_init(&def);
        opt = &def;
    }
    if (opt->resp != 2 && opt->resp != 3)
        return KV_EINVAL;
    if (opt->user && !opt->password)
        return KV_EINVAL;
    if (opt->max_attempts < 0 || opt->backoff_initial_ms < 0 || opt->backoff_max_ms < 0)
        return KV_EINVAL;
    *dst = *opt;
    kv_reader_limits def_lim;
    kv_reader_limits_init(&def_lim);
    if (!dst->limits.max_bulk)
        dst->limits.max_bulk = def_lim.max_bulk;
    if (!dst->limits.max_elements)
        dst->limits.max_elements = def_lim.max_elements;
    if (!dst->limits.max_depth)
        dst->limits.max_depth = def_lim.max_depth;
    if (!dst->limits.max_buffer)
        dst->limits.max_buffer = def_lim.max_buffer;
    dst->user = dst->password = dst->master_name = NULL; /* never free the caller's */
    if (dup_opt(&dst->user, opt->user) < 0 || dup_opt(&dst->password, opt->password) < 0 ||
        dup_opt(&dst->master_name, opt->master_name) < 0) {
        kvc_options_free(dst);
        return KV_ENOMEM;
    }
    return 0;
}

void kvc_options_free(kv_options *o)
{
    free((char *)o->user);
    free((char *)o->password);
    free((char *)o->master_name);
    o->user = o->password = o->master_name = NULL;
}

int kvc_handshake_argv(const kv_options *o, const char *argv[7])
{
    int n = 0;
    if (o->resp == 3) {
        argv[n++] = "HELLO";
        argv[n++] = "3";
        if (o->password) {
            argv[n++] = "AUTH";
            argv[n++] = o->user ? o->user : "default";
            argv[n++] = o->password;
        }
    } else if (o->password) {
        argv[n++] = "AUTH";
        if (o->user)
            argv[n++] = o->user;
        argv[n++] = o->password;
    }
    return n;
}

int kvc_select_argv(const kv_options *o, const char *argv[2], char num[16])
{
    if (o->db == 0)
        return 0;
    snprintf(num, 16, "%d", o->db);
    argv[0] = "SELECT";
    argv[1] = num;
    return 2;
}

/* ---- Addresses ---- */

int kvc_parse_hostport(const char *s, size_t n, char *host, size_t hostcap, int *port)
{
    const char *h, *colon;
    size_t hl;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL || close + 1 >= s + n || close[1] != ':')
            return KV_EINVAL;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = NULL;
        for (size_t i = n; i > 0; i--)
            if (s[i - 1] == ':') {
                colon = s + i - 1;
                break;
            }
        if (colon == NULL)
            return KV_EINVAL;
        h = s;
        hl = (size_t)(colon - s);
        if (memchr(h, ':', hl))
            return KV_EINVAL; /* a bare IPv6 address must be bracketed */
    }
    if (hl == 0 || hl >= hostcap)
        return KV_EINVAL;
    const char *p = colon + 1, *end = s + n;
    if (p == end || end - p > 5)
        return KV_EINVAL;
    long v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return KV_EINVAL;
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > 65535)
        return KV_EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)v;
    return 0;
}

int kvc_parse_seeds(const char *list, kvc_addr **out, size_t *nout)
{
    size_t cap = 1, n = 0;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    kvc_addr *seeds = kvc_calloc(cap, sizeof *seeds);
    if (seeds == NULL)
        return KV_ENOMEM;
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > p) {
            if (kvc_parse_hostport(p, (size_t)(e - p), seeds[n].host, sizeof seeds[n].host,
                                   &seeds[n].port) < 0) {
                free(seeds);
                return KV_EINVAL;
            }
            n++;
        }
        if (*end == '\0')
            break;
        p = end + 1;
    }
    if (n == 0) {
        free(seeds);
        return KV_EINVAL;
    }
    *out = seeds;
    *nout = n;
    return 0;
}

int kvc_sentinel_addr(const kv_reply *r, kvc_addr *out)
{
    if (r == NULL || r->type != KV_REPLY_ARRAY || r->elements != 2)
        return 0;
    const kv_reply *h = r->element[0], *p = r->element[1];
    if (h->type != KV_REPLY_STRING || h->len == 0 || h->len >= KVC_HOST_MAX ||
        memchr(h->str, '\0', h->len) || p->type != KV_REPLY_STRING || p->len == 0 || p->len > 5)
        return 0;
    long port = 0;
    for (size_t i = 0; i < p->len; i++) {
        if (p->str[i] < '0' || p->str[i] > '9')
            return 0;
        port = port * 10 + (p->str[i] - '0');
    }
    if (port < 1 || port > 65535)
        return 0;
    memcpy(out->host, h->str, h->len);
    out->host[h->len] = '\0';
    out->port = (int)port;
    return 1;
}

int kvc_same_addr(const kvc_addr *a, const kvc_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}
