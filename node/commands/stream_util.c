/* stream_util.c — see stream_util.h. */
#include "stream_util.h"

#include "buf.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis's string2ull: string2ll, else strtoull over the whole string. */
static int string2ull(const char *s, unsigned long long *out)
{
    long long ll;
    if (kv_string2ll(s, strlen(s), &ll)) {
        if (ll < 0)
            return 0;
        *out = (unsigned long long)ll;
        return 1;
    }
    errno = 0;
    char *end = NULL;
    *out = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || !(*s != '\0' && *end == '\0'))
        return 0;
    return 1;
}

static int parse_id_str(const char *arg, size_t len, sid *id, uint64_t missing_seq, int strict,
                        int *seq_given)
{
    char buf[128];
    size_t n = strnlen(arg, len); /* Redis reads the argument as a C string */
    if (len > sizeof buf - 1)
        return -1;
    memcpy(buf, arg, n);
    buf[n] = '\0';
    if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == '\0')
        return -1;
    if (seq_given)
        *seq_given = 1;
    if (buf[0] == '-' && buf[1] == '\0') {
        id->ms = id->seq = 0;
        return 0;
    }
    if (buf[0] == '+' && buf[1] == '\0') {
        id->ms = id->seq = UINT64_MAX;
        return 0;
    }
    unsigned long long ms, seq;
    char *dot = strchr(buf, '-');
    if (dot)
        *dot = '\0';
    if (!string2ull(buf, &ms))
        return -1;
    if (dot) {
        if (seq_given && dot[1] == '*' && dot[2] == '\0') {
            seq = 0;
            *seq_given = 0;
        } else if (!string2ull(dot + 1, &seq)) {
            return -1;
        }
    } else {
        seq = missing_seq;
    }
    id->ms = ms;
    id->seq = seq;
    return 0;
}

int xparse_id(cmd_ctx *c, int i, sid *id, uint64_t missing_seq, int strict, int *seq_given,
              int send_reply)
{
    if (parse_id_str(c->argv[i], c->lens[i], id, missing_seq, strict, seq_given) == 0)
        return 0;
    if (send_reply)
        reply_error(&c->r, XERR_INVALID_ID);
    return -1;
}

int xparse_interval(cmd_ctx *c, int i, sid *id, int *ex, uint64_t missing_seq)
{
    const char *p = c->argv[i];
    size_t len = c->lens[i];
    *ex = len > 1 && p[0] == '(';
    int rc = *ex ? parse_id_str(p + 1, len - 1, id, missing_seq, 1, NULL)
                 : parse_id_str(p, len, id, missing_seq, 0, NULL);
    if (rc < 0) {
        reply_error(&c->r, XERR_INVALID_ID);
        return -1;
    }
    return 0;
}

void xreply_id(cmd_ctx *c, sid id)
{
    char buf[SID_MAXSTR];
    int n = sid_fmt(buf, id);
    reply_bulk(&c->r, buf, (size_t)n);
}

void xreply_entry(cmd_ctx *c, stream_iter *it, sid id, size_t np)
{
    reply_array(&c->r, 2);
    xreply_id(c, id);
    reply_array(&c->r, (long)(np * 2));
    for (size_t i = 0; i < np; i++) {
        const char *f, *v;
        size_t fl, vl;
        stream_iter_pair(it, &f, &fl, &v, &vl);
        reply_bulk(&c->r, f, fl);
        reply_bulk(&c->r, v, vl);
    }
}

size_t xreply_range(cmd_ctx *c, kv_stream *s, sid start, sid end, size_t count, int rev)
{
    reply_deferred d = reply_defer(&c->r);
    size_t n = 0;
    stream_iter it;
    stream_iter_init(&it, s, start, end, rev);
    sid id;
    size_t np;
    while ((!count || n < count) && stream_iter_next(&it, &id, &np)) {
        xreply_entry(c, &it, id, np);
        n++;
    }
    reply_set_array_len(&c->r, d, (long)n);
    return n;
}

int xreply_one(cmd_ctx *c, kv_stream *s, sid id)
{
    stream_iter it;
    stream_iter_init(&it, s, id, id, 0);
    sid got;
    size_t np;
    if (!stream_iter_next(&it, &got, &np))
        return 0;
    xreply_entry(c, &it, got, np);
    return 1;
}

kobj *xlookup(cmd_ctx *c, int i, int write, int *wrong)
{
    *wrong = 0;
    kobj *o = write ? db_write(c, c->argv[i], c->lens[i]) : db_read(c, c->argv[i], c->lens[i]);
    if (o && kobj_type(o) != KT_STREAM) {
        reply_err_wrongtype(&c->r);
        *wrong = 1;
        return NULL;
    }
    return o;
}

/* ---- effects ---- */

void xa_init(xargv *a)
{
    a->argc = 0;
    a->nbufs = 0;
}

void xa_add(xargv *a, const char *s, size_t n)
{
    a->argv[a->argc] = s;
    a->lens[a->argc] = n;
    a->argc++;
}

void xa_cstr(xargv *a, const char *s)
{
    xa_add(a, s, strlen(s));
}

void xa_id(xargv *a, sid id)
{
    char *b = a->bufs[a->nbufs++];
    int n = sid_fmt(b, id);
    xa_add(a, b, (size_t)n);
}

void xa_ll(xargv *a, long long v)
{
    char *b = a->bufs[a->nbufs++];
    int n = snprintf(b, SID_MAXSTR, "%lld", v);
    xa_add(a, b, (size_t)n);
}

void xa_log(cmd_ctx *c, xargv *a)
{
    c->dirty++;
    cmd_propagate(c, a->argc, a->argv, a->lens);
}

void xlog_claim(cmd_ctx *c, const char *key, size_t klen, stream_group *g, stream_nack *n)
{
    xargv a;
    xa_init(&a);
    xa_cstr(&a, "XCLAIM");
    xa_add(&a, key, klen);
    xa_add(&a, g->name, g->nlen);
    xa_add(&a, n->consumer->name, n->consumer->nlen);
    xa_cstr(&a, "0");
    xa_id(&a, n->id);
    xa_cstr(&a, "TIME");
    xa_ll(&a, n->delivery_time);
    xa_cstr(&a, "RETRYCOUNT");
    xa_ll(&a, (long long)n->delivery_count);
    xa_cstr(&a, "FORCE");
    xa_cstr(&a, "JUSTID");
    xa_cstr(&a, "LASTID");
    xa_id(&a, g->last_id);
    xa_log(c, &a);
}

void xlog_setid(cmd_ctx *c, const char *key, size_t klen, stream_group *g)
{
    xargv a;
    xa_init(&a);
    xa_cstr(&a, "XGROUP");
    xa_cstr(&a, "SETID");
    xa_add(&a, key, klen);
    xa_add(&a, g->name, g->nlen);
    xa_id(&a, g->last_id);
    xa_cstr(&a, "ENTRIESREAD");
    xa_ll(&a, g->entries_read);
    xa_log(c, &a);
}

void xlog_createconsumer(cmd_ctx *c, const char *key, size_t klen, stream_group *g,
                         stream_consumer *sc)
{
    xargv a;
    xa_init(&a);
    xa_cstr(&a, "XGROUP");
    xa_cstr(&a, "CREATECONSUMER");
    xa_add(&a, key, klen);
    xa_add(&a, g->name, g->nlen);
    xa_add(&a, sc->name, sc->nlen);
    xa_log(c, &a);
}

stream_consumer *xconsumer(cmd_ctx *c, stream_group *g, const char *key, size_t klen,
                           const char *name, size_t nlen, int *created)
{
    *created = 0;
    stream_consumer *sc = group_consumer_find(g, name, nlen);
    if (!sc) {
        sc = group_consumer_create(g, name, nlen, c->now_ms);
        *created = 1;
        cmd_notify(c, NOTIFY_STREAM, "xgroup-createconsumer", key, klen);
    }
    sc->seen_time = c->now_ms;
    return sc;
}

void xreply_lag(cmd_ctx *c, kv_stream *s, stream_group *g)
{
    sid max = {UINT64_MAX, UINT64_MAX};
    long long added = (long long)stream_entries_added(s);
    if (!added) {
        reply_int(&c->r, 0);
    } else if (g->entries_read != -1 && !stream_range_has_tombstones(s, g->last_id, max)) {
        reply_int(&c->r, added - g->entries_read);
    } else {
        long long er = stream_estimate_distance(s, g->last_id);
        if (er != -1)
            reply_int(&c->r, added - er);
        else
            reply_null(&c->r);
    }
}
