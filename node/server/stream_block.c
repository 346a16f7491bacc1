/* stream_block.c — clients blocked in XREAD / XREADGROUP ... BLOCK.
 *
 * A stream command that finds nothing to serve and may block calls
 * cmd_xblock with the argv to run again ("$" already resolved); call()
 * hands that request here (stream_block_request). The client is parked
 * (CL_BLOCKED: its input is not read) and listed under each key it waits
 * on (in the database it was using). Any modification of such a key (the WATCH signal, key_touched)
 * marks it ready; on the next loop turn every client waiting on a ready
 * key has its argv dispatched again with c->xunblocking set, through the
 * ordinary dispatch path (so a served XREADGROUP is logged and its reply
 * waits for the commit like any write, and a node that became a replica
 * meanwhile answers -READONLY... except that losing the primary role
 * unblocks everyone first, as Redis's disconnectAllBlockedClients). A
 * run that asks to block again leaves the client parked with its original
 * deadline. A deadline passing answers a null array (Redis's timeout
 * reply for streams).
 *
 * States of a blocked client:
 *
 *   parked --key ready--> re-run --blocks again--> parked
 *                            \--replied--> free (input resumes)
 *   parked --deadline--> null reply --> free
 *   parked --role lost--> -UNBLOCKED error, closed after reply
 *   parked --client closed--> free
 *
 * Self-contained: the hooks elsewhere are one call each in call()
 * (dispatch.c), key_touched and host_role_changed (server.c),
 * client_close (client.c), and server init/free. */
#include "server.h"
#include "script.h"

#include "dict.h"
#include "log.h"
#include "mem.h"
#include "reply.h"

#include <string.h>

typedef struct sblock {
    client *cl;
    int argc;
    char **argv;
    size_t *lens;
    int key0, nkeys;
    int db;              /* the database its keys are in */
    int64_t deadline_ms; /* 0: none */
    int ready;           /* a key it waits on changed */
    struct sblock *next; /* all blocked clients */
} sblock;

/* key -> number of blocked clients waiting on it */
typedef struct skey {
    dict_node dn;
    size_t n;
    size_t klen;
    char key[];
} skey;

typedef struct sblock_reg {
    sblock *all;
    dict keys;
    uv_timer_t timer; /* next deadline */
    uv_idle_t idle;   /* serve ready clients on the next turn */
    int idle_on;
    int nready;
    int open_handles; /* freed once both handles have closed */
} sblock_reg;

static void skey_key_of(const dict_node *n, const void **key, size_t *len)
{
    const skey *k = (const skey *)n;
    *key = k->key;
    *len = k->klen;
}

static const dict_type skey_type = {skey_key_of};

static void arm_timer(server *s);

static void on_idle(uv_idle_t *h);
static void on_timer(uv_timer_t *t);

void stream_block_init(server *s)
{
    sblock_reg *r = kv_calloc(1, sizeof *r);
    dict_init(&r->keys, &skey_type);
    uv_timer_init(s->loop, &r->timer);
    r->timer.data = s;
    uv_idle_init(s->loop, &r->idle);
    r->idle.data = s;
    uv_unref((uv_handle_t *)&r->timer);
    uv_unref((uv_handle_t *)&r->idle);
    s->sblocks = r;
}

static void free_skey(dict_node *n, void *arg)
{
    (void)arg;
    kv_free(n);
}

/* b's block ends unserved (timeout, CLIENT UNBLOCK, role change) with
 * `error` (NULL: the null array of a timeout): its call counts now. */
static void count_unserved(sblock *b, const char *error)
{
    const kv_command *cmd = command_lookup(b->argv[0], b->lens[0]);
    if (cmd)
        dispatch_count_blocked(b->cl, cmd, b->argc, (const char *const *)b->argv, b->lens, error);
}

static void sblock_free(sblock *b)
{
    for (int i = 0; i < b->argc; i++)
        kv_free(b->argv[i]);
    kv_free(b->argv);
    kv_free(b->lens);
    kv_free(b);
}

static void on_handle_closed(uv_handle_t *h)
{
    sblock_reg *r = h->data;
    if (--r->open_handles == 0)
        kv_free(r);
}

void stream_block_free(server *s)
{
    sblock_reg *r = s->sblocks;
    if (!r)
        return;
    while (r->all) {
        sblock *b = r->all;
        r->all = b->next;
        b->cl->sblock = NULL;
        sblock_free(b);
    }
    dict_clear(&r->keys, free_skey, NULL);
    s->sblocks = NULL;
    r->timer.data = r;
    r->idle.data = r;
    r->open_handles = 2;
    uv_close((uv_handle_t *)&r->timer, on_handle_closed);
    uv_close((uv_handle_t *)&r->idle, on_handle_closed);
}

/* ---- key index ---- */

static void key_ref(sblock_reg *r, const char *key, size_t klen, int delta)
{
    dict_node *found = dict_find(&r->keys, key, klen);
    if (found) {
        skey *k = (skey *)found;
        k->n += (size_t)delta;
        if (!k->n) {
            dict_remove(&r->keys, key, klen);
            kv_free(k);
        }
        return;
    }
    if (delta < 0)
        return;
    skey *k = kv_malloc(sizeof *k + klen);
    k->n = 1;
    k->klen = klen;
    memcpy(k->key, key, klen);
    dict_add(&r->keys, &k->dn);
}

static void unlink_block(sblock_reg *r, sblock *b)
{
    for (sblock **p = &r->all; *p; p = &(*p)->next) {
        if (*p == b) {
            *p = b->next;
            break;
        }
    }
    for (int i = 0; i < b->nkeys; i++)
        key_ref(r, b->argv[b->key0 + i], b->lens[b->key0 + i], -1);
    if (b->ready)
        r->nready--;
    b->cl->sblock = NULL;
}

static void link_block(sblock_reg *r, sblock *b)
{
    b->next = r->all;
    r->all = b;
    b->ready = 0;
    for (int i = 0; i < b->nkeys; i++)
        key_ref(r, b->argv[b->key0 + i], b->lens[b->key0 + i], 1);
    b->cl->sblock = b;
}

/* ---- hooks ---- */

void stream_block_request(server *s, client *cl, cmd_ctx *c)
{
    sblock_reg *r = s->sblocks;
    if (!r || cl->sblock || s->rerun_client == cl) {
        /* A re-run that found nothing again: it stays parked as it was
         * (stream_block_serve puts it back). */
        cmd_xblock_release(c);
        if (s->rerun_client == cl)
            s->rerun_blocked = 1;
        return;
    }
    sblock *b = kv_calloc(1, sizeof *b);
    b->cl = cl;
    b->argc = c->xblock_argc;
    b->argv = c->xblock_argv;
    b->lens = c->xblock_lens;
    b->key0 = c->xblock_key0;
    b->nkeys = c->xblock_nkeys;
    b->deadline_ms = c->xblock_deadline_ms;
    b->db = c->db;
    c->xblock_argv = NULL;
    c->xblock_lens = NULL;
    c->xblock_argc = 0;
    c->xblock = 0;
    link_block(r, b);
    cl->flags |= CL_BLOCKED;
    arm_timer(s);
}

void stream_block_signal(server *s, int db, const char *key, size_t klen)
{
    sblock_reg *r = s->sblocks;
    if (!r || !r->all || !dict_find(&r->keys, key, klen))
        return;
    for (sblock *b = r->all; b; b = b->next) {
        if (b->ready || b->db != db)
            continue;
        for (int i = 0; i < b->nkeys; i++) {
            if (b->lens[b->key0 + i] == klen && !memcmp(b->argv[b->key0 + i], key, klen)) {
                b->ready = 1;
                r->nready++;
                break;
            }
        }
    }
    if (r->nready && !r->idle_on) {
        r->idle_on = 1;
        uv_idle_start(&r->idle, on_idle);
    }
}

void stream_block_signal_db(server *s, int db)
{
    sblock_reg *r = s->sblocks;
    if (!r || !r->all)
        return;
    for (sblock *b = r->all; b; b = b->next) {
        if (!b->ready && b->db == db) {
            b->ready = 1;
            r->nready++;
        }
    }
    if (r->nready && !r->idle_on) {
        r->idle_on = 1;
        uv_idle_start(&r->idle, on_idle);
    }
}

void stream_block_forget(client *cl)
{
    sblock *b = cl->sblock;
    if (!b || !cl->srv->sblocks)
        return;
    unlink_block(cl->srv->sblocks, b);
    sblock_free(b);
}

/* Re-run b's command; 1 if it was answered (b freed), 0 if parked again. */
static int rerun(server *s, sblock *b)
{
    sblock_reg *r = s->sblocks;
    client *cl = b->cl;
    unlink_block(r, b);
    cl->flags &= ~CL_BLOCKED;
    s->rerun_client = cl;
    s->rerun_blocked = 0;
    cl->flags |= CL_IN_CALLBACK;
    dispatch_command(cl, b->argc, (const char *const *)b->argv, b->lens);
    cl->flags &= ~CL_IN_CALLBACK;
    s->rerun_client = NULL;
    if (s->rerun_blocked && !(cl->flags & CL_CLOSING)) {
        link_block(r, b);
        cl->flags |= CL_BLOCKED;
        return 0;
    }
    sblock_free(b);
    if (cl->flags & CL_FREE_PENDING) {
        client_close(cl);
        return 1;
    }
    client_unblock(cl);
    client_flush(cl);
    return 1;
}

static void on_idle(uv_idle_t *h)
{
    server *s = h->data;
    sblock_reg *r = s->sblocks;
    /* A long script parked mid-run: what it wrote so far is served only
     * once it ends (the loop turns meanwhile for the script's own idle). */
    if (script_busy())
        return;
    uv_idle_stop(h);
    r->idle_on = 0;
    /* Serve the oldest first: the list is newest first, so collect. */
    size_t n = 0;
    for (sblock *b = r->all; b; b = b->next)
        n += b->ready != 0;
    if (!n)
        return;
    sblock **v = kv_malloc(n * sizeof *v);
    size_t k = 0;
    for (sblock *b = r->all; b; b = b->next)
        if (b->ready)
            v[k++] = b;
    for (size_t i = n; i-- > 0;) {
        /* A run may have closed or unblocked others: check it is still parked. */
        int live = 0;
        for (sblock *b = r->all; b; b = b->next)
            if (b == v[i] && b->ready)
                live = 1;
        if (live)
            rerun(s, v[i]);
    }
    kv_free(v);
    arm_timer(s);
}

static void on_timer(uv_timer_t *t)
{
    server *s = t->data;
    if (!s->sblocks)
        return;
    sblock_reg *r = s->sblocks;
    int64_t now = server_mstime();
    for (sblock *b = r->all, *next; b; b = next) {
        next = b->next;
        if (!b->deadline_ms || b->deadline_ms > now)
            continue;
        client *cl = b->cl;
        unlink_block(r, b);
        count_unserved(b, NULL);
        sblock_free(b);
        cl->flags &= ~CL_BLOCKED;
        uint64_t from = client_out_offset(cl);
        reply rp = reply_make(&cl->out, cl->resp);
        reply_null_array(&rp);
        dispatch_blocked_reply_done(cl, from);
        client_unblock(cl);
        client_flush(cl);
    }
    arm_timer(s);
}

static void arm_timer(server *s)
{
    sblock_reg *r = s->sblocks;
    int64_t next = 0;
    for (sblock *b = r->all; b; b = b->next)
        if (b->deadline_ms && (!next || b->deadline_ms < next))
            next = b->deadline_ms;
    if (!next) {
        uv_timer_stop(&r->timer);
        return;
    }
    int64_t now = server_mstime();
    uv_timer_start(&r->timer, on_timer, next > now ? (uint64_t)(next - now) : 0, 0);
}

void stream_block_role_changed(server *s)
{
    sblock_reg *r = s->sblocks;
    if (!r || !s->env.replica)
        return;
    while (r->all) {
        sblock *b = r->all;
        client *cl = b->cl;
        static const char unblocked[] = "UNBLOCKED force unblock from blocking operation, "
                                        "instance state changed (master -> replica?)";
        unlink_block(r, b);
        count_unserved(b, unblocked);
        sblock_free(b);
        cl->flags &= ~CL_BLOCKED;
        reply rp = reply_make(&cl->out, cl->resp);
        reply_error(&rp, unblocked);
        client_close_after_reply(cl);
        client_flush(cl);
    }
    arm_timer(s);
}

size_t stream_block_count(const server *s)
{
    size_t n = 0;
    if (s->sblocks)
        for (sblock *b = s->sblocks->all; b; b = b->next)
            n++;
    return n;
}

size_t stream_block_ntimeouts(const server *s)
{
    size_t n = 0;
    if (s->sblocks)
        for (sblock *b = s->sblocks->all; b; b = b->next)
            n += b->deadline_ms != 0;
    return n;
}

size_t stream_block_nkeys(const server *s)
{
    return s->sblocks ? dict_size(&s->sblocks->keys) : 0;
}

int stream_block_unblock(server *s, client *cl, int error)
{
    sblock *b = cl->sblock;
    if (!b || !s->sblocks || !(cl->flags & CL_BLOCKED))
        return 0;
    static const char unblocked[] = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
    unlink_block(s->sblocks, b);
    count_unserved(b, error ? unblocked : NULL);
    sblock_free(b);
    cl->flags &= ~CL_BLOCKED;
    uint64_t from = client_out_offset(cl);
    reply rp = reply_make(&cl->out, cl->resp);
    if (error)
        reply_error(&rp, unblocked);
    else
        reply_null_array(&rp);
    dispatch_blocked_reply_done(cl, from);
    /* Its input is read once the running command is done (blocking.c). */
    blocking_resume_later(s, cl);
    arm_timer(s);
    return 1;
}
