/* tracking.c — client-side caching (CLIENT TRACKING): which clients may
 * hold which keys, and the invalidation messages telling them a key
 * changed. Redis 7.0's tracking.c and the tracking parts of networking.c's
 * clientCommand are the reference for every reply and message.
 *
 * Default mode. After a read-only command of a tracking client, the keys
 * the command names are remembered in the tracking table: key -> ids of
 * the clients that may cache it (keys are not per database, as in Redis).
 * When a key changes — the key_touched signal, which every write path
 * raises: commands, lazy and active expiry, eviction, scripts, EXEC, and a
 * replica applying its primary's stream — every client in its entry that
 * still tracks in default mode gets an invalidation, and the entry goes:
 * the next read remembers the key again. Ids, not pointers, are stored; a
 * client that stops tracking is not searched for in the table (Redis's
 * lazy cleanup): its id is skipped when met.
 *
 * BCAST mode. Clients subscribe to key prefixes (the empty prefix: every
 * key). A changed key matching a prefix is collected there, with the id
 * of the client whose command changed it (for NOLOOP), and each prefix's
 * keys go out as one message, in byte order, before the loop next waits
 * for I/O (a uv_prepare: Redis's beforeSleep).
 *
 * Delivery (Redis's sendTrackingMessage). A RESP3 client gets a push
 * [invalidate, [key …]]. With REDIRECT the target gets it instead: a push
 * if it speaks RESP3, else a message on __redis__:invalidate if it is
 * subscribed to something, else nothing; a RESP2 client without REDIRECT
 * gets nothing. A target that is gone marks the redirect broken, and the
 * tracking client (if RESP3) gets [tracking-redir-broken, id] instead.
 * FLUSHDB and FLUSHALL send a null in place of the keys (encoded for the
 * tracking client's protocol, even on the way to a redirect target, as
 * Redis does) to every tracking client and empty the table. Messages to
 * the client whose command is running wait until that command (a whole
 * EXEC) has replied, as Redis 7.0's tracking_pending_keys. Like Pub/Sub
 * messages they obey the reply barrier (pubsub_push_begin / _settle).
 *
 * tracking-table-max-keys: once the table holds more keys, keys are
 * dropped from it at random — each with an invalidation, as if it had
 * changed — before each command and on every cron tick, with an effort
 * that grows while the limit stays exceeded (Redis's
 * trackingLimitUsedSlots).
 *
 * Never touches the keyspace or the WAL: tracking state is per connection
 * and is neither logged nor replicated (a replica's tracking clients are
 * its own, invalidated by what it applies). */
#include "server.h"

#include "dict.h"
#include "mem.h"
#include "reply.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* State                                                                     */
/* ------------------------------------------------------------------------ */

/* A tracking table entry: the ids of the clients that may cache key. */
typedef struct trk_key {
    dict_node dn;
    uint64_t *ids; /* sorted, distinct */
    size_t n, cap;
    size_t klen;
    char key[];
} trk_key;

/* A key changed since the last broadcast, under one prefix: by is the id
 * of the client whose command changed it last (0: expiry, eviction, the
 * primary's stream, a script). */
typedef struct trk_bkey {
    dict_node dn;
    uint64_t by;
    size_t klen;
    char key[];
} trk_bkey;

/* A BCAST prefix: its subscribers and the keys changed under it. */
typedef struct trk_prefix {
    char *p;
    size_t plen;
    client **cls;
    int ncls, capcls;
    dict keys; /* trk_bkey */
} trk_prefix;

struct tracking {
    dict table;             /* trk_key */
    uint64_t items;         /* ids across the table (tracking_total_items) */
    trk_prefix **pfx;       /* in byte order (Redis's PrefixTable is a rax) */
    size_t npfx, cappfx;
    uint64_t nclients;      /* clients with TRK_ON (tracking_clients) */
    /* Invalidations for the client whose command runs: records of
     * [u8 null][size_t len][key], sent once it has replied. */
    client *pending_cl;
    kbuf pending;
    uv_prepare_t prep;      /* broadcasts before the loop waits */
    int prep_init, prep_on;
    unsigned limit_rounds;  /* consecutive rounds still over the limit */
};

static void key_of_key(const dict_node *n, const void **key, size_t *len)
{
    const trk_key *k = (const trk_key *)n;
    *key = k->key;
    *len = k->klen;
}

static void key_of_bkey(const dict_node *n, const void **key, size_t *len)
{
    const trk_bkey *k = (const trk_bkey *)n;
    *key = k->key;
    *len = k->klen;
}

static const dict_type table_type = {key_of_key};
static const dict_type bkey_type = {key_of_bkey};

static tracking *trk_get(server *s)
{
    if (!s->tracking) {
        tracking *t = kv_calloc(1, sizeof *t);
        dict_init(&t->table, &table_type);
        s->tracking = t;
    }
    return s->tracking;
}

/* Byte order, a shorter string first when it is a prefix of the other
 * (a rax's order). */
static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static void free_key(dict_node *n, void *arg)
{
    (void)arg;
    trk_key *k = (trk_key *)n;
    kv_free(k->ids);
    kv_free(k);
}

static void free_bkey(dict_node *n, void *arg)
{
    (void)arg;
    kv_free(n);
}

/* ------------------------------------------------------------------------ */
/* Delivery                                                                  */
/* ------------------------------------------------------------------------ */

/* Redis's shared.null[resp]: what FLUSHDB / FLUSHALL send for the keys. */
static const char *null_proto(int resp, size_t *len)
{
    *len = resp > 2 ? 3 : 5;
    return resp > 2 ? "_\r\n" : "$-1\r\n";
}

/* One invalidation about c's keys: key (proto 0), or the keys part already
 * encoded (proto 1: an array of keys, or a null). */
static void send_msg(server *s, client *c, const char *key, size_t klen, int proto)
{
    client *target = c;
    int redirected = 0;
    reply r;
    if (c->trk_redir) {
        target = client_by_id(s, c->trk_redir);
        if (!target) {
            c->trk |= TRK_BROKEN_REDIR;
            if (c->resp > 2 && pubsub_push_begin(s, c, &r)) {
                reply_push(&r, 2);
                reply_bulk(&r, "tracking-redir-broken", 21);
                reply_int(&r, (long long)c->trk_redir);
                pubsub_push_end(s, c, &r);
            }
            return;
        }
        redirected = 1;
    }
    /* Only RESP3 has pushes; a RESP2 target hears it as a Pub/Sub
     * message, if subscribed. */
    if (target->resp <= 2 && !(redirected && (target->flags & CL_PUBSUB)))
        return;
    if (!pubsub_push_begin(s, target, &r))
        return;
    if (target->resp > 2) {
        reply_push(&r, 2);
        reply_bulk(&r, "invalidate", 10);
    } else {
        reply_push(&r, 3);
        reply_bulk(&r, "message", 7);
        reply_bulk(&r, "__redis__:invalidate", 20);
    }
    if (proto) {
        kbuf_append(r.out, key, klen);
    } else {
        reply_array(&r, 1);
        reply_bulk(&r, key, klen);
    }
    pubsub_push_end(s, target, &r);
}

/* Keep an invalidation for the client whose command runs (key NULL: a
 * flush). */
static void pending_add(tracking *t, client *c, const char *key, size_t klen)
{
    if (t->pending_cl != c) {
        kbuf_reset(&t->pending);
        t->pending_cl = c;
    }
    unsigned char isnull = key == NULL;
    kbuf_append(&t->pending, &isnull, 1);
    kbuf_append(&t->pending, &klen, sizeof klen);
    if (klen)
        kbuf_append(&t->pending, key, klen);
}

void tracking_after_command(server *s, client *c)
{
    tracking *t = s->tracking;
    if (!t || t->pending_cl != c)
        return;
    t->pending_cl = NULL;
    /* Sending never runs a command: nothing adds to pending meanwhile,
     * but take the records out first all the same. */
    kbuf recs = t->pending;
    kbuf_init(&t->pending);
    const char *p = kbuf_data(&recs), *end = p + kbuf_len(&recs);
    while (p < end) {
        unsigned char isnull = (unsigned char)p[0];
        size_t len;
        memcpy(&len, p + 1, sizeof len);
        p += 1 + sizeof len;
        if (isnull) {
            size_t nl;
            const char *np = null_proto(c->resp, &nl);
            send_msg(s, c, np, nl, 1);
        } else {
            send_msg(s, c, p, len, 0);
            p += len;
        }
    }
    kbuf_free(&recs);
}

/* ------------------------------------------------------------------------ */
/* BCAST prefixes                                                            */
/* ------------------------------------------------------------------------ */

/* The index of prefix p in t->pfx, or -(insertion point) - 1. */
static long pfx_find(tracking *t, const char *p, size_t plen)
{
    size_t lo = 0, hi = t->npfx;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = bytes_cmp(t->pfx[mid]->p, t->pfx[mid]->plen, p, plen);
        if (!c)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static void client_pfx_add(client *c, const char *p, size_t plen)
{
    int at = 0;
    while (at < c->trk_npfx && bytes_cmp(c->trk_pfx[at], c->trk_pfx_len[at], p, plen) < 0)
        at++;
    c->trk_pfx = kv_realloc(c->trk_pfx, (size_t)(c->trk_npfx + 1) * sizeof *c->trk_pfx);
    c->trk_pfx_len =
        kv_realloc(c->trk_pfx_len, (size_t)(c->trk_npfx + 1) * sizeof *c->trk_pfx_len);
    memmove(c->trk_pfx + at + 1, c->trk_pfx + at, (size_t)(c->trk_npfx - at) * sizeof *c->trk_pfx);
    memmove(c->trk_pfx_len + at + 1, c->trk_pfx_len + at,
            (size_t)(c->trk_npfx - at) * sizeof *c->trk_pfx_len);
    c->trk_pfx[at] = kv_malloc(plen + 1);
    memcpy(c->trk_pfx[at], p, plen);
    c->trk_pfx[at][plen] = '\0';
    c->trk_pfx_len[at] = plen;
    c->trk_npfx++;
    c->trk_pfx_mem += plen + 1 + sizeof *c->trk_pfx + sizeof *c->trk_pfx_len;
}

/* Redis's enableBcastTrackingForPrefix. */
static void enable_prefix(server *s, client *c, const char *p, size_t plen)
{
    tracking *t = trk_get(s);
    long i = pfx_find(t, p, plen);
    trk_prefix *x;
    if (i < 0) {
        size_t at = (size_t)(-i - 1);
        x = kv_calloc(1, sizeof *x);
        x->p = kv_malloc(plen + 1);
        memcpy(x->p, p, plen);
        x->p[plen] = '\0';
        x->plen = plen;
        dict_init(&x->keys, &bkey_type);
        if (t->npfx == t->cappfx) {
            t->cappfx = t->cappfx ? t->cappfx * 2 : 8;
            t->pfx = kv_realloc(t->pfx, t->cappfx * sizeof *t->pfx);
        }
        memmove(t->pfx + at + 1, t->pfx + at, (t->npfx - at) * sizeof *t->pfx);
        t->pfx[at] = x;
        t->npfx++;
    } else {
        x = t->pfx[i];
    }
    for (int j = 0; j < x->ncls; j++)
        if (x->cls[j] == c)
            return;
    if (x->ncls == x->capcls) {
        x->capcls = x->capcls ? x->capcls * 2 : 4;
        x->cls = kv_realloc(x->cls, (size_t)x->capcls * sizeof *x->cls);
    }
    x->cls[x->ncls++] = c;
    client_pfx_add(c, p, plen);
}

static void prefix_free(trk_prefix *x)
{
    dict_clear(&x->keys, free_bkey, NULL);
    kv_free(x->cls);
    kv_free(x->p);
    kv_free(x);
}

/* Leave every prefix c subscribed to; a prefix left without subscribers
 * goes (with the keys collected under it). */
static void disable_prefixes(server *s, client *c)
{
    tracking *t = s->tracking;
    for (int i = 0; t && i < c->trk_npfx; i++) {
        long at = pfx_find(t, c->trk_pfx[i], c->trk_pfx_len[i]);
        if (at >= 0) {
            trk_prefix *x = t->pfx[at];
            for (int j = 0; j < x->ncls; j++) {
                if (x->cls[j] == c) {
                    memmove(x->cls + j, x->cls + j + 1, (size_t)(x->ncls - j - 1) * sizeof *x->cls);
                    x->ncls--;
                    break;
                }
            }
            if (!x->ncls) {
                prefix_free(x);
                memmove(t->pfx + at, t->pfx + at + 1, (t->npfx - (size_t)at - 1) * sizeof *t->pfx);
                t->npfx--;
            }
        }
    }
    for (int i = 0; i < c->trk_npfx; i++)
        kv_free(c->trk_pfx[i]);
    kv_free(c->trk_pfx);
    kv_free(c->trk_pfx_len);
    c->trk_pfx = NULL;
    c->trk_pfx_len = NULL;
    c->trk_npfx = 0;
    c->trk_pfx_mem = 0;
}

static void on_prepare(uv_prepare_t *h);

/* A changed key: collect it under every prefix it matches (Redis's
 * trackingRememberKeyToBroadcast). */
static void bcast_collect(server *s, tracking *t, const char *key, size_t klen, uint64_t by)
{
    int any = 0;
    for (size_t i = 0; i < t->npfx; i++) {
        trk_prefix *x = t->pfx[i];
        if (x->plen > klen || (x->plen && memcmp(x->p, key, x->plen) != 0))
            continue;
        trk_bkey *b = (trk_bkey *)dict_find(&x->keys, key, klen);
        if (!b) {
            b = kv_malloc(sizeof *b + klen);
            b->klen = klen;
            memcpy(b->key, key, klen);
            dict_add(&x->keys, &b->dn);
        }
        b->by = by;
        any = 1;
    }
    if (any && !t->prep_on && s->loop) {
        if (!t->prep_init) {
            uv_prepare_init(s->loop, &t->prep);
            t->prep.data = s;
            t->prep_init = 1;
        }
        uv_prepare_start(&t->prep, on_prepare);
        t->prep_on = 1;
    }
}

static int bkey_cmp(const void *a, const void *b)
{
    const trk_bkey *x = *(trk_bkey *const *)a, *y = *(trk_bkey *const *)b;
    return bytes_cmp(x->key, x->klen, y->key, y->klen);
}

/* The keys part of a broadcast: an array of keys[0..n) in RESP, leaving out
 * those changed last by the client with id skip (0: none). 0 keys: empty. */
static size_t build_keys(kbuf *out, trk_bkey **keys, size_t n, uint64_t skip)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += !skip || keys[i]->by != skip;
    kbuf_reset(out);
    if (!count)
        return 0;
    reply r = reply_make(out, 2);
    reply_array(&r, (long)count);
    for (size_t i = 0; i < n; i++)
        if (!skip || keys[i]->by != skip)
            reply_bulk(&r, keys[i]->key, keys[i]->klen);
    return count;
}

/* Redis's trackingBroadcastInvalidationMessages. */
static void broadcast(server *s)
{
    tracking *t = s->tracking;
    if (!t)
        return;
    kbuf all = KBUF_INIT, mine = KBUF_INIT;
    for (size_t i = 0; i < t->npfx; i++) {
        trk_prefix *x = t->pfx[i];
        size_t n = dict_size(&x->keys);
        if (!n)
            continue;
        trk_bkey **keys = kv_malloc(n * sizeof *keys);
        size_t k = 0;
        dict_iter it;
        dict_iter_init(&it, &x->keys);
        dict_node *dn;
        while ((dn = dict_iter_next(&it)) && k < n)
            keys[k++] = (trk_bkey *)dn;
        dict_iter_done(&it);
        qsort(keys, k, sizeof *keys, bkey_cmp);
        build_keys(&all, keys, k, 0);
        for (int j = 0; j < x->ncls; j++) {
            client *c = x->cls[j];
            if (c->trk & TRK_NOLOOP) {
                if (build_keys(&mine, keys, k, c->id))
                    send_msg(s, c, kbuf_data(&mine), kbuf_len(&mine), 1);
            } else {
                send_msg(s, c, kbuf_data(&all), kbuf_len(&all), 1);
            }
        }
        kv_free(keys);
        dict_clear(&x->keys, free_bkey, NULL);
    }
    kbuf_free(&all);
    kbuf_free(&mine);
}

static void on_prepare(uv_prepare_t *h)
{
    server *s = h->data;
    tracking *t = s->tracking;
    uv_prepare_stop(h);
    t->prep_on = 0;
    broadcast(s);
    pubsub_settle(s);
}

/* ------------------------------------------------------------------------ */
/* The tracking table                                                        */
/* ------------------------------------------------------------------------ */

static void table_add(tracking *t, const char *key, size_t klen, uint64_t id)
{
    trk_key *k = (trk_key *)dict_find(&t->table, key, klen);
    if (!k) {
        k = kv_calloc(1, sizeof *k + klen);
        k->klen = klen;
        memcpy(k->key, key, klen);
        dict_add(&t->table, &k->dn);
    }
    size_t lo = 0, hi = k->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (k->ids[mid] == id)
            return;
        if (k->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 2;
        k->ids = kv_realloc(k->ids, k->cap * sizeof *k->ids);
    }
    memmove(k->ids + lo + 1, k->ids + lo, (k->n - lo) * sizeof *k->ids);
    k->ids[lo] = id;
    k->n++;
    t->items++;
}

/* Redis's trackingInvalidateKey. cur: the client whose command is running
 * (NOLOOP leaves it out), executing: its messages wait for its reply;
 * bcast: collect for BCAST prefixes too, changed by the client with id by. */
static void invalidate(server *s, const char *key, size_t klen, int bcast, uint64_t by,
                       client *cur, int executing)
{
    tracking *t = s->tracking;
    if (!t)
        return;
    if (bcast && t->npfx)
        bcast_collect(s, t, key, klen, by);
    trk_key *k = (trk_key *)dict_find(&t->table, key, klen);
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++) {
        client *target = client_by_id(s, k->ids[i]);
        /* Clients that stopped tracking, or switched to BCAST since they
         * read the key, are not told. */
        if (!target || !(target->trk & TRK_ON) || (target->trk & TRK_BCAST))
            continue;
        if ((target->trk & TRK_NOLOOP) && target == cur)
            continue;
        if (target == cur && executing)
            pending_add(t, target, key, klen);
        else
            send_msg(s, target, key, klen, 0);
    }
    t->items -= k->n;
    dict_remove(&t->table, key, klen);
    free_key(&k->dn, NULL);
}

void tracking_key_touched(server *s, const char *key, size_t klen, int by_command)
{
    if (!s->tracking)
        return;
    /* A script's writes are its own client's in Redis, never a tracking
     * one: BCAST's NOLOOP does not leave them out. */
    uint64_t by = by_command && s->current && !s->script_nesting ? s->current->id : 0;
    invalidate(s, key, klen, 1, by, s->current, s->current != NULL);
}

void tracking_flushed(server *s)
{
    tracking *t = s->tracking;
    if (!t)
        return;
    if (t->nclients) {
        /* Oldest client first, as Redis's client list. */
        client *last = s->clients;
        while (last && last->next)
            last = last->next;
        for (client *c = last; c; c = c->prev) {
            if ((c->flags & CL_CLOSING) || !(c->trk & TRK_ON))
                continue;
            if (c == s->current) {
                pending_add(t, c, NULL, 0);
            } else {
                size_t nl;
                const char *np = null_proto(c->resp, &nl);
                send_msg(s, c, np, nl, 1);
            }
        }
    }
    dict_clear(&t->table, free_key, NULL);
    t->items = 0;
}

typedef struct remember_ctx {
    tracking *t;
    const char *const *argv;
    const size_t *lens;
    uint64_t id;
} remember_ctx;

static void remember_one(void *arg, int i)
{
    remember_ctx *r = arg;
    table_add(r->t, r->argv[i], r->lens[i], r->id);
}

void tracking_remember(server *s, client *c, const kv_command *cmd, int argc,
                       const char *const *argv, const size_t *lens)
{
    if ((c->trk & (TRK_ON | TRK_BCAST)) != TRK_ON)
        return;
    /* OPTIN without CLIENT CACHING YES, OPTOUT after CLIENT CACHING NO. */
    int optin = c->trk & TRK_OPTIN, optout = c->trk & TRK_OPTOUT,
        caching = c->trk & TRK_CACHING;
    if ((optin && !caching) || (optout && caching))
        return;
    if (argc > 1 && command_is_container(cmd)) {
        cmd = command_lookup_sub(cmd, argv[1], lens[1]);
        if (!cmd)
            return;
    }
    remember_ctx r = {trk_get(s), argv, lens, c->id};
    command_keys(cmd, argc, argv, lens, remember_one, &r);
}

void tracking_limit(server *s, client *cur)
{
    tracking *t = s->tracking;
    if (!t || !t->nclients)
        return;
    size_t max = (size_t)s->cfg.tracking_table_max_keys;
    if (!max)
        return;
    if (dict_size(&t->table) <= max) {
        t->limit_rounds = 0;
        return;
    }
    /* An effort that grows with each round that could not get under the
     * limit, as Redis's. */
    long effort = 100L * (long)(t->limit_rounds + 1);
    kbuf key = KBUF_INIT;
    while (effort-- > 0) {
        trk_key *k = (trk_key *)dict_random(&t->table, cmd_random());
        if (!k)
            break;
        kbuf_reset(&key);
        kbuf_append(&key, k->key, k->klen);
        invalidate(s, kbuf_data(&key), kbuf_len(&key), 0, 0, cur, 0);
        if (dict_size(&t->table) <= max) {
            t->limit_rounds = 0;
            break;
        }
    }
    kbuf_free(&key);
    if (dict_size(&t->table) > max)
        t->limit_rounds++;
    /* Hold the invalidations behind the barrier and send them now (they
     * owe nothing to the command that comes next). */
    pubsub_settle(s);
}

/* ------------------------------------------------------------------------ */
/* Clients                                                                   */
/* ------------------------------------------------------------------------ */

/* Redis's disableTracking. */
void tracking_disable(client *c)
{
    server *s = c->srv;
    if (c->trk & TRK_BCAST)
        disable_prefixes(s, c);
    if (c->trk & TRK_ON) {
        s->tracking->nclients--;
        c->trk = 0;
    }
}

void tracking_client_gone(client *c)
{
    tracking_disable(c);
    tracking *t = c->srv->tracking;
    if (t && t->pending_cl == c) {
        t->pending_cl = NULL;
        kbuf_reset(&t->pending);
    }
}

/* Redis's enableTracking. pfx: argument indexes of the prefixes. */
static void enable(cmd_ctx *c, uint64_t redir, int options, const int *pfx, int npfx)
{
    client *cl = c->cl;
    tracking *t = trk_get(c->srv);
    if (!(cl->trk & TRK_ON))
        t->nclients++;
    cl->trk |= TRK_ON;
    cl->trk &= ~(TRK_BROKEN_REDIR | TRK_BCAST | TRK_OPTIN | TRK_OPTOUT | TRK_NOLOOP);
    cl->trk_redir = redir;
    if (options & TRK_BCAST) {
        cl->trk |= TRK_BCAST;
        if (!npfx)
            enable_prefix(c->srv, cl, "", 0);
        for (int j = 0; j < npfx; j++)
            enable_prefix(c->srv, cl, c->argv[pfx[j]], c->lens[pfx[j]]);
    }
    cl->trk |= options & (TRK_OPTIN | TRK_OPTOUT | TRK_NOLOOP);
}

/* An argument as Redis prints it with %s: up to its first NUL. */
static int cstr_len(const char *p, size_t n)
{
    const char *z = memchr(p, '\0', n);
    return (int)(z ? (size_t)(z - p) : n);
}

static int overlaps(const char *a, size_t al, const char *b, size_t bl)
{
    return memcmp(a, b, al < bl ? al : bl) == 0;
}

/* Redis's checkPrefixCollisionsOrReply: 0 (after the error) if a new
 * prefix overlaps one c has or another new one. (Redis 7.0 also answers
 * +OK after the error when the overlap is between two new prefixes past
 * the first, which no client can parse; this answers the error alone.) */
static int check_prefixes(cmd_ctx *c, const int *pfx, int npfx)
{
    client *cl = c->cl;
    for (int i = 0; i < npfx; i++) {
        const char *p = c->argv[pfx[i]];
        size_t pl = c->lens[pfx[i]];
        for (int e = 0; e < cl->trk_npfx; e++) {
            if (overlaps(cl->trk_pfx[e], cl->trk_pfx_len[e], p, pl)) {
                reply_errorf(&c->r,
                             "ERR Prefix '%.*s' overlaps with an existing prefix '%.*s'. "
                             "Prefixes for a single client must not overlap.",
                             cstr_len(p, pl), p, cstr_len(cl->trk_pfx[e], cl->trk_pfx_len[e]),
                             cl->trk_pfx[e]);
                return 0;
            }
        }
        for (int j = i + 1; j < npfx; j++) {
            const char *q = c->argv[pfx[j]];
            size_t ql = c->lens[pfx[j]];
            if (overlaps(p, pl, q, ql)) {
                reply_errorf(&c->r,
                             "ERR Prefix '%.*s' overlaps with another provided prefix '%.*s'. "
                             "Prefixes for a single client must not overlap.",
                             cstr_len(p, pl), p, cstr_len(q, ql), q);
                return 0;
            }
        }
    }
    return 1;
}

/* CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p …] [BCAST] [OPTIN]
 * [OPTOUT] [NOLOOP] */
void client_tracking_cmd(cmd_ctx *c)
{
    client *cl = c->cl;
    long long redir = 0;
    int options = 0, npfx = 0;
    int *pfx = kv_malloc((size_t)c->argc * sizeof *pfx);
    for (int j = 3; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (more && arg_is_c(c, j, "redirect")) {
            j++;
            if (redir != 0) {
                reply_error(&c->r, "ERR A client can only redirect to a single other client");
                goto done;
            }
            if (arg_ll(c, j, &redir) < 0)
                goto done;
            /* It must exist now, even if it may go later. */
            if (!client_by_id(c->srv, (uint64_t)redir)) {
                reply_error(&c->r, "ERR The client ID you want redirect to does not exist");
                goto done;
            }
        } else if (arg_is_c(c, j, "bcast")) {
            options |= TRK_BCAST;
        } else if (arg_is_c(c, j, "optin")) {
            options |= TRK_OPTIN;
        } else if (arg_is_c(c, j, "optout")) {
            options |= TRK_OPTOUT;
        } else if (arg_is_c(c, j, "noloop")) {
            options |= TRK_NOLOOP;
        } else if (more && arg_is_c(c, j, "prefix")) {
            pfx[npfx++] = ++j;
        } else {
            reply_err_syntax(&c->r);
            goto done;
        }
    }
    if (arg_is_c(c, 2, "on")) {
        if (!(options & TRK_BCAST) && npfx) {
            reply_error(&c->r, "ERR PREFIX option requires BCAST mode to be enabled");
            goto done;
        }
        if ((cl->trk & TRK_ON) && !(cl->trk & TRK_BCAST) != !(options & TRK_BCAST)) {
            reply_error(&c->r, "ERR You can't switch BCAST mode on/off before disabling tracking "
                               "for this client, and then re-enabling it with a different mode.");
            goto done;
        }
        if ((options & TRK_BCAST) && (options & (TRK_OPTIN | TRK_OPTOUT))) {
            reply_error(&c->r, "ERR OPTIN and OPTOUT are not compatible with BCAST");
            goto done;
        }
        if ((options & TRK_OPTIN) && (options & TRK_OPTOUT)) {
            reply_error(&c->r, "ERR You can't specify both OPTIN mode and OPTOUT mode");
            goto done;
        }
        if (((options & TRK_OPTIN) && (cl->trk & TRK_OPTOUT)) ||
            ((options & TRK_OPTOUT) && (cl->trk & TRK_OPTIN))) {
            reply_error(&c->r, "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking "
                               "for this client, and then re-enabling it with a different mode.");
            goto done;
        }
        if ((options & TRK_BCAST) && !check_prefixes(c, pfx, npfx))
            goto done;
        enable(c, (uint64_t)redir, options, pfx, npfx);
    } else if (arg_is_c(c, 2, "off")) {
        tracking_disable(cl);
    } else {
        reply_err_syntax(&c->r);
        goto done;
    }
    reply_ok(&c->r);
done:
    kv_free(pfx);
}

/* CLIENT CACHING YES|NO */
void client_caching_cmd(cmd_ctx *c)
{
    client *cl = c->cl;
    if (!(cl->trk & TRK_ON)) {
        reply_error(&c->r, "ERR CLIENT CACHING can be called only when the client is in tracking "
                           "mode with OPTIN or OPTOUT mode enabled");
        return;
    }
    if (arg_is_c(c, 2, "yes")) {
        if (!(cl->trk & TRK_OPTIN)) {
            reply_error(&c->r,
                        "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN "
                        "mode.");
            return;
        }
    } else if (arg_is_c(c, 2, "no")) {
        if (!(cl->trk & TRK_OPTOUT)) {
            reply_error(&c->r,
                        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT "
                        "mode.");
            return;
        }
    } else {
        reply_err_syntax(&c->r);
        return;
    }
    cl->trk |= TRK_CACHING;
    reply_ok(&c->r);
}

/* CLIENT GETREDIR */
void client_getredir_cmd(cmd_ctx *c)
{
    client *cl = c->cl;
    reply_int(&c->r, (cl->trk & TRK_ON) ? (long long)cl->trk_redir : -1);
}

/* CLIENT TRACKINGINFO */
void client_trackinginfo_cmd(cmd_ctx *c)
{
    client *cl = c->cl;
    int f = cl->trk;
    reply_map(&c->r, 3);
    reply_bulk_cstr(&c->r, "flags");
    const char *names[8];
    int n = 0;
    names[n++] = (f & TRK_ON) ? "on" : "off";
    if (f & TRK_BCAST)
        names[n++] = "bcast";
    if (f & TRK_OPTIN) {
        names[n++] = "optin";
        if (f & TRK_CACHING)
            names[n++] = "caching-yes";
    }
    if (f & TRK_OPTOUT) {
        names[n++] = "optout";
        if (f & TRK_CACHING)
            names[n++] = "caching-no";
    }
    if (f & TRK_NOLOOP)
        names[n++] = "noloop";
    if (f & TRK_BROKEN_REDIR)
        names[n++] = "broken_redirect";
    reply_set(&c->r, n);
    for (int i = 0; i < n; i++)
        reply_bulk_cstr(&c->r, names[i]);
    reply_bulk_cstr(&c->r, "redirect");
    reply_int(&c->r, (f & TRK_ON) ? (long long)cl->trk_redir : -1);
    reply_bulk_cstr(&c->r, "prefixes");
    reply_array(&c->r, cl->trk_npfx);
    for (int i = 0; i < cl->trk_npfx; i++)
        reply_bulk(&c->r, cl->trk_pfx[i], cl->trk_pfx_len[i]);
}

/* ------------------------------------------------------------------------ */
/* Stats and life cycle                                                      */
/* ------------------------------------------------------------------------ */

void tracking_stats(const server *s, uint64_t *clients, uint64_t *keys, uint64_t *items,
                    uint64_t *prefixes)
{
    const tracking *t = s->tracking;
    *clients = t ? t->nclients : 0;
    *keys = t ? dict_size(&t->table) : 0;
    *items = t ? t->items : 0;
    *prefixes = t ? t->npfx : 0;
}

void tracking_close(server *s)
{
    tracking *t = s->tracking;
    if (t && t->prep_init) {
        uv_prepare_stop(&t->prep);
        uv_close((uv_handle_t *)&t->prep, NULL);
        t->prep_init = t->prep_on = 0;
    }
}

void tracking_free(server *s)
{
    tracking *t = s->tracking;
    if (!t)
        return;
    dict_clear(&t->table, free_key, NULL);
    for (size_t i = 0; i < t->npfx; i++)
        prefix_free(t->pfx[i]);
    kv_free(t->pfx);
    kbuf_free(&t->pending);
    kv_free(t);
    s->tracking = NULL;
}
