/* blocking.c — clients blocked on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
 * BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP): who waits for which key, in what
 * order, until when; serving them when a key gets a value; timeouts,
 * CLIENT UNBLOCK, and releasing them all when the node stops leading.
 *
 * The data commands decide (cmd.h, cmd_block): a blocking command that
 * finds nothing to pop asks to block instead of replying. This file then
 * keeps a copy of its arguments and queues the client on each of its keys
 * (a key named twice is queued once), FIFO per key.
 *
 * Serving, as Redis 7.0's handleClientsBlockedOnKeys: any change to a key
 * that has waiters (the server's key_touched hook, called by db_modified)
 * puts the key on the ready list. After each top-level command
 * (blocking_after_command) every ready key is visited: its waiters, oldest
 * first, whose awaited type (list or sorted set) the key now holds are
 * served by running their command again with serve_key set, which pops
 * from exactly that key. Each serve is its own WAL entry holding the
 * non-blocking equivalent (LPOP key, LMOVE …, ZPOPMIN key …), and its reply
 * waits behind the reply barrier like any write's: a blocked client is
 * never told of a pop that was not committed. A key that now holds
 * another type leaves its waiters blocked (Redis 7.0); serving may push to
 * other keys (BLMOVE), which become ready in turn.
 *
 * States of a client here:
 *
 *   running --command asks to block--> blocked (CL_BLOCKED, queued, input paused)
 *   blocked --key served / timeout / CLIENT UNBLOCK / role change--> unblocked
 *   unblocked --after the current command--> running (its buffered input is read)
 *   blocked --connection closes--> gone (blocking_forget)
 *
 * A client unblocked while another command runs (CLIENT UNBLOCK, a serve)
 * reads its pending input only after that command, never inside it.
 */
#include "server.h"
#include "script.h"

#include "dict.h"
#include "log.h"
#include "mem.h"
#include "reply.h"

#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* State                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct blk_key blk_key;

/* One client waiting on one key: a node of the key's FIFO. */
typedef struct blk_wait {
    blk_key *key;
    struct blk_wait *prev, *next;
    client *c;
    uint64_t round; /* the last serving round that visited it */
} blk_wait;

/* A key of one database with waiters. Its dict key is the database
 * number's bytes followed by the key's. */
struct blk_key {
    dict_node dn;
    blk_wait *head, *tail;
    int db;
    size_t klen;       /* of the key alone */
    char kb[];         /* db, then the key */
};

#define KEY_OF(k) ((k)->kb + sizeof(int))

/* What a blocked client waits for. */
typedef struct blk_state {
    const kv_command *cmd;
    int argc;
    char **argv;
    size_t *lens;
    int type;          /* KT_LIST or KT_ZSET */
    int64_t deadline;  /* wall clock ms, 0 = never */
    size_t heap_idx;   /* position in the timeout heap (if deadline) */
    int nwaits;
    blk_wait *waits;   /* one per distinct key */
} blk_state;

typedef struct ready_key {
    int db;
    char *key;
    size_t klen;
} ready_key;

struct blocking {
    dict keys;           /* key -> blk_key */
    ready_key *ready;    /* keys that changed and have waiters, in order */
    size_t nready, capready;
    client **heap;       /* blocked clients with a deadline, earliest first */
    size_t nheap, capheap;
    client **unblocked;  /* to resume reading after the current command */
    size_t nunblocked, capunblocked;
    uv_timer_t timer;
    int64_t timer_at;    /* deadline the timer is armed for (0: idle) */
    uint64_t round;
    int serving;         /* inside blocking_after_command */
};

static void key_of(const dict_node *n, const void **key, size_t *len)
{
    const blk_key *k = (const blk_key *)n;
    *key = k->kb;
    *len = sizeof(int) + k->klen;
}

static const dict_type blk_key_type = {key_of};

static void on_timer(uv_timer_t *t);

/* The dict key of (db, key) in buf (kv_malloc'd when it does not fit). */
static char *dict_key(int db, const char *key, size_t klen, char *buf, size_t cap)
{
    char *p = sizeof(int) + klen <= cap ? buf : kv_malloc(sizeof(int) + klen);
    memcpy(p, &db, sizeof(int));
    memcpy(p + sizeof(int), key, klen);
    return p;
}

static blk_key *find_key(struct blocking *b, int db, const char *key, size_t klen)
{
    char buf[256];
    char *k = dict_key(db, key, klen, buf, sizeof buf);
    blk_key *found = (blk_key *)dict_find(&b->keys, k, sizeof(int) + klen);
    if (k != buf)
        kv_free(k);
    return found;
}

static struct blocking *get(server *s)
{
    if (!s->blocking) {
        struct blocking *b = kv_calloc(1, sizeof *b);
        dict_init(&b->keys, &blk_key_type);
        uv_timer_init(s->loop, &b->timer);
        b->timer.data = s;
        s->blocking = b;
    }
    return s->blocking;
}

/* ------------------------------------------------------------------------ */
/* Timeout heap                                                              */
/* ------------------------------------------------------------------------ */

static int64_t deadline_of(client *c)
{
    return c->blk->deadline;
}

static void heap_set(struct blocking *b, size_t i, client *c)
{
    b->heap[i] = c;
    c->blk->heap_idx = i;
}

static void heap_up(struct blocking *b, size_t i)
{
    client *c = b->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (deadline_of(b->heap[p]) <= deadline_of(c))
            break;
        heap_set(b, i, b->heap[p]);
        i = p;
    }
    heap_set(b, i, c);
}

static void heap_down(struct blocking *b, size_t i)
{
    client *c = b->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t best = deadline_of(c);
        if (l < b->nheap && deadline_of(b->heap[l]) < best) {
            m = l;
            best = deadline_of(b->heap[l]);
        }
        if (r < b->nheap && deadline_of(b->heap[r]) < best)
            m = r;
        if (m == i)
            break;
        heap_set(b, i, b->heap[m]);
        i = m;
    }
    heap_set(b, i, c);
}

static void heap_push(struct blocking *b, client *c)
{
    if (b->nheap == b->capheap) {
        b->capheap = b->capheap ? b->capheap * 2 : 16;
        b->heap = kv_realloc(b->heap, b->capheap * sizeof *b->heap);
    }
    b->heap[b->nheap] = c;
    c->blk->heap_idx = b->nheap++;
    heap_up(b, c->blk->heap_idx);
}

static void heap_remove(struct blocking *b, client *c)
{
    size_t i = c->blk->heap_idx;
    client *last = b->heap[--b->nheap];
    if (i == b->nheap)
        return;
    heap_set(b, i, last);
    heap_up(b, i);
    heap_down(b, last->blk->heap_idx);
}

/* Arm the timer for the earliest deadline (wall clock, checked again when
 * it fires: the timer runs on the monotonic clock). */
static void rearm(server *s)
{
    struct blocking *b = s->blocking;
    if (!b->nheap) {
        if (b->timer_at) {
            uv_timer_stop(&b->timer);
            b->timer_at = 0;
        }
        return;
    }
    int64_t at = deadline_of(b->heap[0]);
    if (at == b->timer_at)
        return;
    int64_t now = server_mstime();
    uv_timer_start(&b->timer, on_timer, at > now ? (uint64_t)(at - now) : 0, 0);
    b->timer_at = at;
}

/* ------------------------------------------------------------------------ */
/* Queues                                                                    */
/* ------------------------------------------------------------------------ */

static void mark_ready(struct blocking *b, int db, const char *key, size_t klen)
{
    for (size_t i = 0; i < b->nready; i++)
        if (b->ready[i].db == db && b->ready[i].klen == klen &&
            !memcmp(b->ready[i].key, key, klen))
            return;
    if (b->nready == b->capready) {
        b->capready = b->capready ? b->capready * 2 : 8;
        b->ready = kv_realloc(b->ready, b->capready * sizeof *b->ready);
    }
    b->ready[b->nready].db = db;
    b->ready[b->nready].key = kv_memdup(key, klen);
    b->ready[b->nready++].klen = klen;
}

/* Take c off its keys' queues and the timeout heap, and clear CL_BLOCKED;
 * its saved command stays in c->blk. */
static void detach(server *s, client *c)
{
    struct blocking *b = s->blocking;
    blk_state *st = c->blk;
    for (int i = 0; i < st->nwaits; i++) {
        blk_wait *w = &st->waits[i];
        blk_key *k = w->key;
        if (w->prev)
            w->prev->next = w->next;
        else
            k->head = w->next;
        if (w->next)
            w->next->prev = w->prev;
        else
            k->tail = w->prev;
        if (!k->head) {
            dict_remove(&b->keys, k->kb, sizeof(int) + k->klen);
            kv_free(k);
        }
    }
    kv_free(st->waits);
    st->waits = NULL;
    st->nwaits = 0;
    if (st->deadline)
        heap_remove(b, c);
    c->flags &= ~CL_BLOCKED;
    rearm(s);
}

static void free_state(client *c)
{
    blk_state *st = c->blk;
    if (!st)
        return;
    for (int i = 0; i < st->argc; i++)
        kv_free(st->argv[i]);
    kv_free(st->argv);
    kv_free(st->lens);
    kv_free(st->waits);
    kv_free(st);
    c->blk = NULL;
}

/* Read c's buffered input once the current command is done. */
void blocking_resume_later(server *s, client *c)
{
    struct blocking *b = get(s);
    if (b->nunblocked == b->capunblocked) {
        b->capunblocked = b->capunblocked ? b->capunblocked * 2 : 8;
        b->unblocked = kv_realloc(b->unblocked, b->capunblocked * sizeof *b->unblocked);
    }
    b->unblocked[b->nunblocked++] = c;
}

void blocking_block(server *s, client *c, const kv_command *cmd, int argc,
                    const char *const *argv, const size_t *lens, const cmd_ctx *x)
{
    struct blocking *b = get(s);
    blk_state *st = kv_calloc(1, sizeof *st);
    st->cmd = cmd;
    st->argc = argc;
    st->argv = kv_malloc((size_t)argc * sizeof *st->argv);
    st->lens = kv_malloc((size_t)argc * sizeof *st->lens);
    for (int i = 0; i < argc; i++) {
        st->argv[i] = kv_memdup(argv[i], lens[i]);
        st->lens[i] = lens[i];
    }
    st->type = x->block_type;
    st->deadline = x->block_deadline_ms;
    st->waits = kv_calloc((size_t)x->block_nkeys, sizeof *st->waits);
    c->blk = st;
    for (int i = x->block_first; i < x->block_first + x->block_nkeys; i++) {
        const char *key = st->argv[i];
        size_t klen = st->lens[i];
        int dup = 0;
        for (int j = 0; j < st->nwaits && !dup; j++)
            dup = st->waits[j].key->klen == klen && !memcmp(KEY_OF(st->waits[j].key), key, klen);
        if (dup)
            continue;
        blk_key *k = find_key(b, c->db, key, klen);
        if (!k) {
            k = kv_calloc(1, sizeof *k + sizeof(int) + klen);
            k->db = c->db;
            k->klen = klen;
            memcpy(k->kb, &k->db, sizeof(int));
            memcpy(KEY_OF(k), key, klen);
            dict_add(&b->keys, &k->dn);
        }
        blk_wait *w = &st->waits[st->nwaits++];
        w->key = k;
        w->c = c;
        w->round = b->round; /* not visited by a round already running */
        w->prev = k->tail;
        if (k->tail)
            k->tail->next = w;
        else
            k->head = w;
        k->tail = w;
    }
    if (st->deadline)
        heap_push(b, c);
    c->flags |= CL_BLOCKED;
    rearm(s);
}

int blocking_on_keys(const client *c)
{
    return c->blk != NULL && (c->flags & CL_BLOCKED);
}

void blocking_forget(server *s, client *c)
{
    if (c->blk) {
        if (c->flags & CL_BLOCKED)
            detach(s, c);
        free_state(c);
    }
    struct blocking *b = s->blocking;
    if (b)
        for (size_t i = 0; i < b->nunblocked; i++)
            if (b->unblocked[i] == c)
                b->unblocked[i] = NULL;
}

void blocking_key_touched(server *s, int db, const char *key, size_t klen)
{
    struct blocking *b = s->blocking;
    if (b && dict_size(&b->keys) && find_key(b, db, key, klen))
        mark_ready(b, db, key, klen);
}

void blocking_db_swapped(server *s, int db1, int db2)
{
    struct blocking *b = s->blocking;
    if (!b || !dict_size(&b->keys))
        return;
    /* As Redis's scanDatabaseForReadyKeys on both: every awaited key of
     * either database may hold a value now (serving checks which). */
    dict_iter it;
    dict_iter_init(&it, &b->keys);
    dict_node *n;
    while ((n = dict_iter_next(&it))) {
        blk_key *k = (blk_key *)n;
        if (k->db == db1 || k->db == db2)
            mark_ready(b, k->db, KEY_OF(k), k->klen);
    }
    dict_iter_done(&it);
}

/* ------------------------------------------------------------------------ */
/* Serving                                                                   */
/* ------------------------------------------------------------------------ */

/* Does key of database db hold a live value of type now? 1 yes, 0 another
 * type, -1 nothing. */
static int key_holds(server *s, int db, const char *key, size_t klen, int type, int64_t now)
{
    if (!s->dbs || db >= s->ndbs)
        return -1;
    kobj *o = ks_find(s->dbs[db], key, klen);
    if (!o)
        return -1;
    int64_t e = kobj_expire(o);
    if (e >= 0 && e <= now) {
        /* Expired: deleted here, as Redis's lookupKeyWrite on a ready key
         * does (its DEL is logged on its own). */
        if (!engine_entry_pending(s->eng) && db_expire_key(&s->env, s->dbs[db], db, o, 0))
            engine_entry_commit(s->eng);
        return -1;
    }
    return kobj_type(o) == type;
}

static void serve_key(server *s, int db, const char *key, size_t klen)
{
    struct blocking *b = s->blocking;
    uint64_t round = ++b->round;
    for (;;) {
        blk_key *k = find_key(b, db, key, klen);
        if (!k)
            return;
        blk_wait *w = k->head;
        while (w && w->round == round)
            w = w->next;
        if (!w)
            return;
        w->round = round;
        client *c = w->c;
        int holds = key_holds(s, db, key, klen, c->blk->type, server_mstime());
        if (holds < 0)
            return; /* gone (or expired): nobody can be served */
        if (!holds)
            continue; /* another type: this waiter keeps waiting */
        detach(s, c);
        blk_state *st = c->blk;
        dispatch_serve_blocked(c, st->cmd, st->argc, (const char *const *)st->argv, st->lens,
                               key, klen);
        free_state(c);
        blocking_resume_later(s, c);
    }
}

void blocking_after_command(server *s)
{
    struct blocking *b = s->blocking;
    /* Not while a long script is parked mid-run (commands allowed during
     * BUSY run meanwhile): its writes so far must not be served to a
     * blocked client before it ends, as in Redis, where the script runs to
     * its end before anything else. It serves them when it ends. */
    if (!b || b->serving || script_busy())
        return;
    for (;;) {
        if (b->nready) {
            /* Serving may make more keys ready (BLMOVE pushes): they
             * join the end of the list. */
            ready_key rk = b->ready[0];
            memmove(b->ready, b->ready + 1, (b->nready - 1) * sizeof *b->ready);
            b->nready--;
            b->serving = 1;
            serve_key(s, rk.db, rk.key, rk.klen);
            b->serving = 0;
            kv_free(rk.key);
            continue;
        }
        if (!b->nunblocked)
            break;
        /* An unblocked client reads what it sent meanwhile. Its commands
         * run here, each followed by this function again (nested), as
         * after any command: a push it makes serves others at once. */
        client *c = b->unblocked[0];
        memmove(b->unblocked, b->unblocked + 1, (b->nunblocked - 1) * sizeof *b->unblocked);
        b->nunblocked--;
        if (!c || (c->flags & (CL_CLOSING | CL_BLOCKED)))
            continue; /* gone, or blocked again by input read meanwhile */
        client_flush(c);
        client_unblock(c);
    }
}

/* ------------------------------------------------------------------------ */
/* Ending a block without serving                                            */
/* ------------------------------------------------------------------------ */

/* c's block ends with `error` (a full error line, without CRLF) or, if
 * NULL, as a timeout: a null array, as Redis. The command counts as called
 * now (Redis counts a blocking command once, when it ends). */
static void end_block(server *s, client *c, const char *error)
{
    blk_state *st = c->blk;
    detach(s, c);
    uint64_t from = client_out_offset(c);
    reply r = reply_make(&c->out, c->resp);
    if (error)
        reply_error(&r, error);
    else
        reply_null_array(&r);
    dispatch_blocked_reply_done(c, from);
    dispatch_count_blocked(c, st->cmd, st->argc, (const char *const *)st->argv, st->lens, error);
    free_state(c);
}

static void on_timer(uv_timer_t *t)
{
    server *s = t->data;
    struct blocking *b = s->blocking;
    b->timer_at = 0;
    int64_t now = server_mstime();
    while (b->nheap && deadline_of(b->heap[0]) <= now) {
        client *c = b->heap[0];
        end_block(s, c, NULL);
        blocking_resume_later(s, c);
    }
    rearm(s);
    blocking_after_command(s);
}

int blocking_unblock(server *s, client *c, int error)
{
    if (c->blk && (c->flags & CL_BLOCKED)) {
        end_block(s, c, error ? "UNBLOCKED client unblocked via CLIENT UNBLOCK" : NULL);
        blocking_resume_later(s, c);
        return 1;
    }
    return 0;
}

void blocking_release_all(server *s, const char *error)
{
    client *c = s->clients, *next;
    long n = 0;
    for (; c; c = next) {
        next = c->next;
        if (!c->blk || !(c->flags & CL_BLOCKED) || (c->flags & CL_CLOSING))
            continue;
        end_block(s, c, error);
        client_close_after_reply(c);
        client_flush(c);
        n++;
    }
    if (n)
        log_notice("released %ld client(s) blocked on keys: %s", n, error);
}

/* ------------------------------------------------------------------------ */
/* Reporting and teardown                                                    */
/* ------------------------------------------------------------------------ */

size_t blocking_nkeys(const server *s)
{
    return s->blocking ? dict_size(&((struct blocking *)s->blocking)->keys) : 0;
}

size_t blocking_ntimeouts(const server *s)
{
    return s->blocking ? ((struct blocking *)s->blocking)->nheap : 0;
}

void blocking_close(server *s)
{
    struct blocking *b = s->blocking;
    if (b && b->timer.data) {
        uv_timer_stop(&b->timer);
        uv_close((uv_handle_t *)&b->timer, NULL);
        b->timer.data = NULL;
    }
}

static void free_key(dict_node *n, void *arg)
{
    (void)arg;
    kv_free(n);
}

void blocking_free(server *s)
{
    struct blocking *b = s->blocking;
    if (!b)
        return;
    dict_clear(&b->keys, free_key, NULL);
    for (size_t i = 0; i < b->nready; i++)
        kv_free(b->ready[i].key);
    kv_free(b->ready);
    kv_free(b->heap);
    kv_free(b->unblocked);
    kv_free(b);
    s->blocking = NULL;
}
