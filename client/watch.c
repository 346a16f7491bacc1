/* watch.c — kv_watch: follow a primary through the Sentinel API on a libuv
 * loop (public contract in kvclient_uv.h).
 *
 * Owns the seed list, at most one kv_async (RESP3) to one seed, and one
 * timer that is either the pause before the next connect (no connection)
 * or the pause before the next poll (connected).
 *
 *            ┌──────────────────────────────────────────────┐
 *            ▼                                              │ pause
 *   connect to seeds[next++] ──fails──▶ pause (backoff) ────┘
 *            │ up
 *            ▼
 *   SUBSCRIBE +switch-master, poll ──┬─ names a primary: report, poll
 *            ▲                       │  again after KV_WATCH_POLL_MS
 *            └───────────────────────┤
 *                                    └─ null / error / no reply within
 *                                       io_timeout_ms / connection lost:
 *                                       close, pause, next seed
 *
 * A +switch-master message on the connection reports its new address at
 * once. Stopping closes the timer and the connection; the watch is freed
 * when both have closed, and no user callback runs after kv_watch_stop. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kvclient_uv.h"

#define WATCH_IO_TIMEOUT_MS 2000

struct kv_watch {
    uv_loop_t *loop;
    kv_options opt;
    kvc_addr *seeds;
    size_t nseeds;
    size_t next;          /* seed to connect to next */
    kv_async *ac;         /* the connection, or NULL */
    int polling;          /* a SENTINEL query is in flight */
    uv_timer_t timer;
    int timer_open;
    int backoff_ms;       /* next pause between seeds */
    kvc_addr primary;     /* last reported, when have_primary */
    int have_primary;
    int stopping;
    kv_watch_cb cb;
    void *data;
};

static void connect_next(kv_watch *w);

/* ---- Lifetime ---- */

static void free_watch(kv_watch *w)
{
    kvc_options_free(&w->opt);
    free(w->seeds);
    free(w);
}

static void maybe_free(kv_watch *w)
{
    if (w->stopping && w->ac == NULL && !w->timer_open)
        free_watch(w);
}

static void on_timer_closed(uv_handle_t *h)
{
    kv_watch *w = h->data;
    w->timer_open = 0;
    maybe_free(w);
}

/* ---- Reporting ---- */

static void report(kv_watch *w, const kvc_addr *a)
{
    if (w->stopping || (w->have_primary && kvc_same_addr(&w->primary, a)))
        return;
    w->primary = *a;
    w->have_primary = 1;
    w->cb(w, w->primary.host, w->primary.port, w->data);
}

/* "<name> <old-ip> <old-port> <new-ip> <new-port>": 1 and the new address
 * if it is about our service. */
static int parse_switch(const kv_watch *w, const char *p, size_t n, kvc_addr *out)
{
    const char *tok[5];
    size_t len[5];
    size_t ntok = 0, i = 0;
    while (i < n && ntok < 5) {
        while (i < n && p[i] == ' ')
            i++;
        if (i == n)
            break;
        tok[ntok] = p + i;
        while (i < n && p[i] != ' ')
            i++;
        len[ntok] = (size_t)(p + i - tok[ntok]);
        ntok++;
    }
    while (i < n && p[i] == ' ')
        i++;
    if (ntok != 5 || i != n)
        return 0;
    if (len[0] != strlen(w->opt.master_name) || memcmp(tok[0], w->opt.master_name, len[0]) != 0)
        return 0;
    if (len[3] == 0 || len[3] >= KVC_HOST_MAX || len[4] == 0 || len[4] > 5)
        return 0;
    long port = 0;
    for (size_t k = 0; k < len[4]; k++) {
        if (tok[4][k] < '0' || tok[4][k] > '9')
            return 0;
        port = port * 10 + (tok[4][k] - '0');
    }
    if (port < 1 || port > 65535)
        return 0;
    memcpy(out->host, tok[3], len[3]);
    out->host[len[3]] = '\0';
    out->port = (int)port;
    return 1;
}

static int is_str(const kv_reply *r, const char *s)
{
    return r->type == KV_REPLY_STRING && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

static void on_push(void *data, kv_reply *push)
{
    kv_watch *w = data;
    kvc_addr a;
    if (push->elements == 3 && is_str(push->element[0], "message") &&
        is_str(push->element[1], "+switch-master") && push->element[2]->type == KV_REPLY_STRING &&
        parse_switch(w, push->element[2]->str, push->element[2]->len, &a))
        report(w, &a);
    kv_reply_free(push);
}

/* ---- Connection ---- */

static void drop(kv_watch *w)
{
    if (w->ac)
        kv_async_close(w->ac); /* on_disconnect / on_connect follow */
}

static void on_pause_done(uv_timer_t *t)
{
    connect_next(t->data);
}

/* No connection: wait, then try the next seed. */
static void pause_then_connect(kv_watch *w)
{
    if (w->stopping)
        return;
    uv_timer_start(&w->timer, on_pause_done, (uint64_t)w->backoff_ms, 0);
    if (w->backoff_ms < w->opt.backoff_max_ms)
        w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : 1;
    if (w->backoff_ms > w->opt.backoff_max_ms)
        w->backoff_ms = w->opt.backoff_max_ms;
}

static void poll_primary(kv_watch *w);

static void on_poll_due(uv_timer_t *t)
{
    poll_primary(t->data);
}

static void on_poll(kv_async *ac, int status, kv_reply *r, void *privdata)
{
    (void)ac;
    kv_watch *w = privdata;
    w->polling = 0;
    if (status < 0 || w->stopping) {
        kv_reply_free(r);
        return; /* the connection is ending; on_disconnect moves on */
    }
    kvc_addr a;
    if (kvc_sentinel_addr(r, &a)) {
        w->backoff_ms = w->opt.backoff_initial_ms;
        report(w, &a);
        if (!w->stopping && w->ac)
            uv_timer_start(&w->timer, on_poll_due, KV_WATCH_POLL_MS, 0);
    } else {
        drop(w); /* it cannot vouch for a primary now: ask another node */
    }
    kv_reply_free(r);
}

static void poll_primary(kv_watch *w)
{
    if (w->ac == NULL || w->polling || w->stopping)
        return;
    const char *argv[] = {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", w->opt.master_name};
    if (kv_async_command(w->ac, 3, argv, NULL, on_poll, w) < 0) {
        drop(w);
        return;
    }
    w->polling = 1;
}

static void on_subscribed(kv_async *ac, int status, kv_reply *r, void *privdata)
{
    (void)ac;
    kv_watch *w = privdata;
    if (status == 0 && r->type == KV_REPLY_ERROR && !w->stopping)
        drop(w); /* e.g. a node that refuses Pub/Sub: the poll alone is not enough */
    kv_reply_free(r);
}

static void on_connect(kv_async *ac, int status, void *data)
{
    kv_watch *w = data;
    if (status < 0) {
        w->ac = NULL;
        if (w->stopping)
            maybe_free(w);
        else
            pause_then_connect(w);
        return;
    }
    kv_async_set_push_handler(ac, on_push, w);
    /* Subscribe before asking, so no change falls between the answer and
     * the subscription. */
    const char *argv[] = {"SUBSCRIBE", "+switch-master"};
    if (kv_async_command(ac, 2, argv, NULL, on_subscribed, w) < 0) {
        drop(w);
        return;
    }
    poll_primary(w);
}

static void on_disconnect(kv_async *ac, int status, void *data)
{
    (void)ac;
    (void)status;
    kv_watch *w = data;
    w->ac = NULL;
    w->polling = 0;
    if (w->stopping) {
        maybe_free(w);
        return;
    }
    uv_timer_stop(&w->timer);
    pause_then_connect(w);
}

static void connect_next(kv_watch *w)
{
    if (w->stopping || w->ac)
        return;
    const kvc_addr *s = &w->seeds[w->next];
    w->next = (w->next + 1) % w->nseeds;
    if (kv_async_connect_tcp(&w->ac, w->loop, s->host, s->port, &w->opt, on_connect,
                             on_disconnect, w) < 0) {
        w->ac = NULL;
        pause_then_connect(w);
    }
}

/* ---- API ---- */

int kv_watch_start(kv_watch **out, uv_loop_t *loop, const char *seeds, const kv_options *opt,
                   kv_watch_cb cb, void *data)
{
    if (out == NULL || loop == NULL || seeds == NULL || cb == NULL)
        return KV_EINVAL;
    kv_options def;
    if (opt == NULL) {
        kv_options_init(&def);
        opt = &def;
    }
    if (opt->master_name == NULL || opt->master_name[0] == '\0')
        return KV_EINVAL;
    kv_watch *w = kvc_calloc(1, sizeof *w);
    if (w == NULL)
        return KV_ENOMEM;
    int rc = kvc_options_copy(&w->opt, opt);
    if (rc < 0) {
        free(w);
        return rc;
    }
    w->opt.resp = 3;
    if (w->opt.io_timeout_ms <= 0)
        w->opt.io_timeout_ms = WATCH_IO_TIMEOUT_MS;
    if ((rc = kvc_parse_seeds(seeds, &w->seeds, &w->nseeds)) < 0) {
        free_watch(w);
        return rc;
    }
    w->loop = loop;
    w->cb = cb;
    w->data = data;
    w->backoff_ms = w->opt.backoff_initial_ms;
    if (uv_timer_init(loop, &w->timer) < 0) {
        free_watch(w);
        return KV_ENOMEM;
    }
    w->timer.data = w;
    w->timer_open = 1;
    *out = w;
    connect_next(w);
    return 0;
}

void kv_watch_stop(kv_watch *w)
{
    if (w == NULL || w->stopping)
        return;
    w->stopping = 1;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, on_timer_closed);
    drop(w);
}

int kv_watch_primary(const kv_watch *w, char *host, size_t hostcap, int *port)
{
    if (w == NULL || !w->have_primary || host == NULL || hostcap <= strlen(w->primary.host))
        return 0;
    memcpy(host, w->primary.host, strlen(w->primary.host) + 1);
    if (port)
        *port = w->primary.port;
    return 1;
}
