/* sim.c — the simulated world behind the rc_io seam (see sim.h).
 *
 * Fixture: nodes, the event queue, the network, disks.
 * The rc_io binding: what each seam call does in the simulated world.
 * Checks: the invariants, run after every event.
 * Scenario: the clients and the fault schedule, then the liveness phase. */
#include "sim.h"

#include "core.h"
#include "wal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_MAX 6 /* 5 members and a stray (membership runs) */
#define TICK_US 10000          /* the binding ticks the core every 10 ms */
#define SNAP_EVERY 150         /* a node snapshots after this many entries */

/* ------------------------------------------------------------------------ */
/* Fixture                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct sim_entry {
    uint64_t lsn, term;
    int type;
    uint64_t op;      /* client write id (0: none) */
    uint64_t hash;    /* chain hash of the log up to and including this entry */
    uint8_t *rec;     /* the framed WAL record */
    size_t len;
} sim_entry;

typedef struct sim_snap {
    int valid;
    uint64_t lsn, term, hash;
    uint8_t bytes[24 + 16384];  /* lsn, term, hash, config */
    size_t len;
} sim_snap;

typedef struct sim sim;

typedef struct sim_node {
    sim *w;
    int idx;
    char id[RC_ID_LEN];
    char addr[32], caddr[32];
    int caddr_gen; /* client address changes so far (membership runs) */
    rcore *core;
    int up;
    uint64_t epoch;             /* bumped by crashes: stale completions drop */
    uint64_t paused_until;
    int64_t drift_ppm;
    uint64_t rng;
    int founder;                /* bootstraps the cluster; others join it */
    /* Membership runs: a node started alone, leading a cluster of its own
     * with entries of its own, that leaves it for the main one (REPLICAOF
     * at run time: rcore_leave). Not checked against the main cluster (nor
     * written to by its clients) until it is part of it. */
    int stray;
    int following;              /* the stray called rcore_leave (see boot) */
    int small_batches;
    /* the log: entries first..first+n-1, after a base (snapshot) */
    sim_entry *log;
    size_t n, cap;
    uint64_t first;
    uint64_t base_lsn, base_term, base_hash;
    uint64_t durable;
    int syncing;
    uint64_t sync_target;
    int slow_disk;              /* fsyncs take hundreds of ms */
    rc_term_start hist[512];
    size_t nhist;
    uint64_t pin;
    /* the meta file as on disk */
    rc_meta meta;
    /* snapshots: the newest, and (as the engine's retention keeps it) the
     * newest of committed state when the newest is past commit */
    sim_snap snap, psnap;
    uint8_t rsnap[sizeof ((sim_snap *)0)->bytes];
    size_t rsnap_len;
    uint64_t since_snap;
    /* the keyspace: a chain hash of what is applied */
    uint64_t applied, applied_hash;
    int apply_busy;
    /* checks */
    uint64_t last_commit, checked_commit;
    uint64_t leader_term;       /* term it last led, for the one-leader check */
} sim_node;

enum {
    EV_TICK, EV_MSG, EV_SYNC, EV_META, EV_TRUNC, EV_READ, EV_APPLY, EV_SNAP_TAKE,
    EV_SNAP_READ, EV_SNAP_WRITE, EV_CLIENT, EV_FAULT, EV_RESTART, EV_HEAL, EV_CRASH,
    EV_ISOLATE, EV_FIG8
};

typedef struct event {
    uint64_t at_us, seq;
    int type, node;
    uint64_t epoch;
    uint64_t a, b, c;
    int from;
    char to_id[RC_ID_LEN];
    uint8_t *data;
    size_t len;
    int last;
    rc_meta *meta;
} event;

typedef struct pending_write {
    uint64_t op, lsn, term;
    int node;
    uint64_t epoch;
} pending_write;

typedef struct pending_read {
    int node;
    uint64_t epoch, term;
    uint64_t start_us;
    uint64_t lsn, hash;       /* the state it read: applied LSN and its hash */
    uint64_t need_round;      /* 0: under the lease */
    uint64_t max_acked_before; /* highest acked write LSN when it started */
} pending_read;

struct sim {
    sim_options o;
    sim_result *res;
    uint64_t rng;
    uint64_t now_us;
    uint64_t seq;
    sim_node nodes[SIM_MAX];
    int n;
    int main_n;                /* nodes[0..main_n) are the main cluster's; then the stray */
    char main_id[RC_ID_LEN];
    event *ev;
    size_t nev, capev;
    /* network */
    int cut[SIM_MAX][SIM_MAX]; /* messages i -> j are lost */
    int lossy;                 /* percent of messages lost */
    int dup;                   /* percent duplicated */
    int slow_net;              /* long delays */
    int faults_on;
    int fig8_step, fig8_a, fig8_b;     /* the Figure 8 nemesis in progress */
    /* the committed log as the cluster knows it */
    uint64_t *g_hash, *g_term, *g_op;
    uint64_t *g_cterm;         /* a term in which the entry was known committed
                                  (never below the true one) */
    uint64_t gcommit, gcap;
    uint64_t *leader_of_term;  /* node index + 1, by term */
    uint64_t nterms;
    pending_write *pw;
    size_t npw, cappw;
    pending_read *pr;
    size_t npr, cappr;
    uint64_t next_op;
    uint64_t max_acked_lsn;
    uint64_t *acked_lsn;       /* LSNs of acknowledged writes, with their ops */
    uint64_t *acked_op;
    size_t nacked, capacked;
    uint64_t trace;
    int failed;
};

static void fail(sim *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(sim *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    w->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    char msg[400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(w->res->failure, sizeof w->res->failure, "t=%" PRIu64 "ms: %s", w->now_us / 1000,
             msg);
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

static uint64_t between(sim *w, uint64_t lo, uint64_t hi)
{
    return lo + (hi > lo ? rnd(&w->rng) % (hi - lo + 1) : 0);
}

static void mix(sim *w, uint64_t v)
{
    w->trace = (w->trace ^ v) * 0x100000001b3ull;
}

static uint64_t chain(uint64_t prev, uint64_t lsn, uint64_t term, uint64_t op)
{
    uint64_t h = prev ^ 0xcbf29ce484222325ull;
    uint64_t v[3] = {lsn, term, op};
    for (int i = 0; i < 3; i++)
        h = (h ^ v[i]) * 0x100000001b3ull + (h >> 29);
    return h;
}

/* ---- the event queue (a binary heap on (time, seq)) ---- */

static int ev_less(const event *a, const event *b)
{
    return a->at_us != b->at_us ? a->at_us < b->at_us : a->seq < b->seq;
}

static event *schedule(sim *w, int type, int node, uint64_t delay_us)
{
    if (w->nev == w->capev) {
        w->capev = w->capev ? w->capev * 2 : 1024;
        w->ev = realloc(w->ev, w->capev * sizeof *w->ev);
    }
    event e;
    memset(&e, 0, sizeof e);
    e.at_us = w->now_us + delay_us;
    e.seq = ++w->seq;
    e.type = type;
    e.node = node;
    e.epoch = node >= 0 ? w->nodes[node].epoch : 0;
    size_t i = w->nev++;
    while (i && ev_less(&e, &w->ev[(i - 1) / 2])) {
        w->ev[i] = w->ev[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->ev[i] = e;
    return &w->ev[i];
}

static event pop(sim *w)
{
    event top = w->ev[0];
    event last = w->ev[--w->nev];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const event *best = &last;
        if (l < w->nev && ev_less(&w->ev[l], best)) {
            m = l;
            best = &w->ev[l];
        }
        if (r < w->nev && ev_less(&w->ev[r], best))
            m = r;
        if (m == i)
            break;
        w->ev[i] = w->ev[m];
        i = m;
    }
    if (w->nev)
        w->ev[i] = last;
    return top;
}

/* ---- a node's log ---- */

static uint64_t last_lsn(const sim_node *x)
{
    return x->n ? x->log[x->n - 1].lsn : x->base_lsn;
}

static uint64_t last_term(const sim_node *x)
{
    return x->n ? x->log[x->n - 1].term : x->base_term;
}

static sim_entry *entry(sim_node *x, uint64_t lsn)
{
    if (!x->n || lsn < x->first || lsn > last_lsn(x))
        return NULL;
    return &x->log[lsn - x->first];
}

/* The chain hash at lsn if this node knows it (an entry, or its base). */
static int hash_at(sim_node *x, uint64_t lsn, uint64_t *h)
{
    if (lsn == 0) {
        *h = 0;
        return 1;
    }
    if (lsn == x->base_lsn) {
        *h = x->base_hash;
        return 1;
    }
    sim_entry *e = entry(x, lsn);
    if (!e)
        return 0;
    *h = e->hash;
    return 1;
}

static void free_entry(sim_entry *e)
{
    free(e->rec);
    e->rec = NULL;
}

/* Drop entries after keep (keep >= base). */
static void cut_after(sim_node *x, uint64_t keep)
{
    while (x->n && x->log[x->n - 1].lsn > keep)
        free_entry(&x->log[--x->n]);
    if (x->durable > keep)
        x->durable = keep;
    if (x->syncing && x->sync_target > keep)
        x->sync_target = keep;
}

/* Forget everything: the log restarts empty at LSN 0. */
static void wipe(sim_node *x)
{
    cut_after(x, x->base_lsn);
    x->first = 1;
    x->base_lsn = x->base_term = x->base_hash = 0;
    x->durable = 0;
    x->snap.valid = 0;
    x->psnap.valid = 0;
    x->applied = x->applied_hash = 0;
}

/* Reset the log to start after a snapshot. */
static void reset_to(sim_node *x, uint64_t lsn, uint64_t term, uint64_t hash)
{
    cut_after(x, 0);
    while (x->n)
        free_entry(&x->log[--x->n]);
    x->base_lsn = lsn;
    x->base_term = term;
    x->base_hash = hash;
    x->first = lsn + 1;
    x->durable = lsn;
}

static void compact(sim_node *x, uint64_t upto)
{
    if (x->pin && x->pin - 1 < upto)
        upto = x->pin - 1;
    if (upto > x->snap.lsn)
        upto = x->snap.lsn;
    if (upto > x->durable)
        upto = x->durable;
    uint64_t k = 0;
    while (k < x->n && x->log[k].lsn <= upto)
        k++;
    if (!k)
        return;
    x->base_lsn = x->log[k - 1].lsn;
    x->base_term = x->log[k - 1].term;
    x->base_hash = x->log[k - 1].hash;
    for (uint64_t i = 0; i < k; i++)
        free_entry(&x->log[i]);
    memmove(x->log, x->log + k, (x->n - k) * sizeof *x->log);
    x->n -= k;
    x->first = x->base_lsn + 1;
}

static void start_sync(sim_node *x);

/* Append a framed record (any writer); the tap tells the core. */
static int append_rec(sim_node *x, const uint8_t *rec, size_t len, uint64_t op)
{
    wal_record r;
    if (wal_decode_record(rec, len, &r) != (long)len)
        return -1;
    if (r.lsn != last_lsn(x) + 1 || r.term < last_term(x))
        return -1;
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 256;
        x->log = realloc(x->log, x->cap * sizeof *x->log);
    }
    uint64_t prev = x->n ? x->log[x->n - 1].hash : x->base_hash;
    sim_entry *e = &x->log[x->n++];
    memset(e, 0, sizeof *e);
    e->lsn = r.lsn;
    e->term = r.term;
    e->type = r.type;
    e->op = op;
    if (r.type == WAL_REC_COMMANDS && r.len == 8)
        memcpy(&e->op, r.payload, 8);
    e->hash = chain(prev, e->lsn, e->term, e->op);
    e->rec = malloc(len);
    memcpy(e->rec, rec, len);
    e->len = len;
    if (x->n == 1)
        x->first = e->lsn;
    x->since_snap++;
    start_sync(x);
    rcore_on_append(x->core, rec, len, r.lsn, r.term, r.type, r.payload, r.len);
    return 0;
}

static uint64_t append_local(sim_node *x, uint64_t term, int type, const void *payload,
                             size_t plen)
{
    if (term < last_term(x))
        return 0;
    size_t len = wal_record_size(plen);
    uint8_t *rec = malloc(len);
    uint64_t lsn = last_lsn(x) + 1;
    wal_encode_record(rec, lsn, term, type, payload, plen);
    uint64_t op = 0;
    if (type == WAL_REC_COMMANDS && plen == 8)
        memcpy(&op, payload, 8);
    int rc = append_rec(x, rec, len, op);
    free(rec);
    return rc ? 0 : lsn;
}

static void start_sync(sim_node *x)
{
    sim *w = x->w;
    if (x->syncing || x->durable >= last_lsn(x) || !x->up)
        return;
    x->syncing = 1;
    x->sync_target = last_lsn(x);
    uint64_t d = x->slow_disk ? between(w, 100000, 600000) : between(w, 200, 3000);
    schedule(w, EV_SYNC, x->idx, d);
}

/* ------------------------------------------------------------------------ */
/* The rc_io binding                                                         */
/* ------------------------------------------------------------------------ */

static uint64_t io_now(void *arg)
{
    sim_node *x = arg;
    int64_t t = (int64_t)x->w->now_us + (int64_t)x->w->now_us / 1000000 * x->drift_ppm;
    return (uint64_t)t / 1000 + 100000; /* clocks do not start at 0 */
}

static uint64_t io_random(void *arg)
{
    sim_node *x = arg;
    return rnd(&x->rng);
}

static void io_log(void *arg, int level, const char *msg)
{
    sim_node *x = arg;
    if (x->w->o.verbose)
        printf("%8.3f n%d %c %s\n", (double)x->w->now_us / 1000, x->idx,
               level == RC_WARNING ? '#' : level == RC_NOTICE ? '*' : '-', msg);
}

static int node_by_addr(sim *w, const char *addr)
{
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->nodes[i].addr, addr))
            return i;
    return -1;
}

static void deliver_later(sim *w, int from, int to, const uint8_t *buf, size_t len)
{
    uint64_t d = w->slow_net ? between(w, 1000, 150000) : between(w, 100, 2000);
    /* Now and then a message sits in a stuck connection for seconds. */
    if (w->slow_net && rnd(&w->rng) % 100 < 8)
        d = between(w, 500000, 4000000);
    event *e = schedule(w, EV_MSG, to, d);
    e->from = from;
    e->data = malloc(len);
    memcpy(e->data, buf, len);
    e->len = len;
}

static void io_send(void *arg, const char *to_id, const char *to_addr, const Kv__PeerMessage *m)
{
    (void)to_id;
    sim_node *x = arg;
    sim *w = x->w;
    int to = node_by_addr(w, to_addr);
    if (to < 0 || to == x->idx)
        return;
    mix(w, (uint64_t)m->msg_case * 131 + (uint64_t)to * 7 + (uint64_t)x->idx);
    if (w->cut[x->idx][to])
        return;
    if (w->lossy && (int)(rnd(&w->rng) % 100) < w->lossy)
        return;
    size_t len = kv__peer_message__get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    kv__peer_message__pack(m, buf);
    deliver_later(w, x->idx, to, buf, len);
    if (w->dup && (int)(rnd(&w->rng) % 100) < w->dup)
        deliver_later(w, x->idx, to, buf, len);
    free(buf);
    /* A voter that dies just after its grant left: it must come back
     * bound by that vote (the meta file has it, or it was never sent). */
    if (w->faults_on && m->msg_case == KV__PEER_MESSAGE__MSG_VOTE_RESULT &&
        m->vote_result->granted && !m->vote_result->prevote && rnd(&w->rng) % 100 < 30) {
        event *c = schedule(w, EV_CRASH, x->idx, 1);
        c->a = between(w, 10000, 2500000);
    }
}

static uint64_t io_backlog(void *arg, const char *to_id)
{
    (void)arg;
    (void)to_id;
    return 0;
}

static void io_forget(void *arg, const char *to_id)
{
    (void)arg;
    (void)to_id;
}

static void io_meta_store(void *arg, const rc_meta *m, uint64_t seq)
{
    sim_node *x = arg;
    sim *w = x->w;
    uint64_t d = x->slow_disk ? between(w, 50000, 400000) : between(w, 300, 4000);
    event *e = schedule(w, EV_META, x->idx, d);
    e->meta = malloc(sizeof *e->meta);
    *e->meta = *m;
    e->a = seq;
    /* A crash between deciding (a vote, a new term) and the fsync that
     * makes it durable: the moment the persistence rule exists for. */
    if (w->faults_on && rnd(&w->rng) % 100 < 15) {
        event *c = schedule(w, EV_CRASH, x->idx, d > 100 ? d / 2 : 50);
        c->a = between(w, 5000, 400000);
    }
}

static uint64_t io_log_first(void *arg)
{
    sim_node *x = arg;
    return x->base_lsn + 1;
}

static uint64_t io_log_last(void *arg, uint64_t *term)
{
    sim_node *x = arg;
    *term = last_term(x);
    return last_lsn(x);
}

static uint64_t io_log_durable(void *arg)
{
    return ((sim_node *)arg)->durable;
}

static uint64_t io_term_at(void *arg, uint64_t lsn)
{
    sim_node *x = arg;
    if (lsn && lsn == x->base_lsn)
        return x->base_term;
    sim_entry *e = entry(x, lsn);
    return e ? e->term : 0;
}

static const rc_term_start *io_history(void *arg, size_t *n)
{
    sim_node *x = arg;
    x->nhist = 0;
    if (x->base_lsn) {
        x->hist[0].term = x->base_term;
        x->hist[0].first_lsn = x->base_lsn;
        x->nhist = 1;
    }
    for (size_t i = 0; i < x->n; i++) {
        if (x->nhist && x->hist[x->nhist - 1].term == x->log[i].term)
            continue;
        if (x->nhist == 512)
            break;
        x->hist[x->nhist].term = x->log[i].term;
        x->hist[x->nhist].first_lsn = x->log[i].lsn;
        x->nhist++;
    }
    *n = x->nhist;
    return x->hist;
}

static long io_rec_decode(void *arg, const uint8_t *p, size_t n, uint64_t *lsn, uint64_t *term)
{
    (void)arg;
    wal_record r;
    long m = wal_decode_record(p, n, &r);
    if (m <= 0)
        return -1;
    *lsn = r.lsn;
    *term = r.term;
    return m;
}

static int io_log_append(void *arg, const uint8_t *rec, size_t len)
{
    return append_rec(arg, rec, len, 0);
}

static uint64_t io_log_noop(void *arg, uint64_t term)
{
    return append_local(arg, term, WAL_REC_NOOP, NULL, 0);
}

static uint64_t io_log_config(void *arg, uint64_t term, const uint8_t *cfg, size_t len)
{
    return append_local(arg, term, WAL_REC_CONFIG, cfg, len);
}

static void io_truncate(void *arg, uint64_t keep)
{
    sim_node *x = arg;
    event *e = schedule(x->w, EV_TRUNC, x->idx, between(x->w, 500, 8000));
    e->a = keep;
}

static void io_read(void *arg, const char *to_id, uint64_t from, uint64_t upto, uint64_t max)
{
    sim_node *x = arg;
    event *e = schedule(x->w, EV_READ, x->idx, between(x->w, 200, 3000));
    snprintf(e->to_id, sizeof e->to_id, "%s", to_id);
    e->a = from;
    e->b = upto;
    e->c = max;
}

/* The simulated store keeps everything either pin asks for (no
 * retention bound). */
static void io_pin(void *arg, uint64_t replicas, uint64_t keep)
{
    ((sim_node *)arg)->pin = replicas && (!keep || replicas < keep) ? replicas : keep;
}

static void io_apply(void *arg, uint64_t upto)
{
    sim_node *x = arg;
    x->apply_busy = 1;
    event *e = schedule(x->w, EV_APPLY, x->idx, between(x->w, 100, 2000));
    e->a = upto;
}

static int io_snap_latest(void *arg, uint64_t max_lsn, uint64_t *lsn, uint64_t *term,
                          uint64_t *size)
{
    sim_node *x = arg;
    const sim_snap *s = x->snap.valid && x->snap.lsn <= max_lsn     ? &x->snap
                        : x->psnap.valid && x->psnap.lsn <= max_lsn ? &x->psnap
                                                                    : NULL;
    if (!s)
        return -1;
    *lsn = s->lsn;
    *term = s->term;
    *size = s->len;
    return 0;
}

static void io_snap_take(void *arg)
{
    sim_node *x = arg;
    schedule(x->w, EV_SNAP_TAKE, x->idx, between(x->w, 2000, 40000));
}

static void io_snap_read(void *arg, const char *to_id, uint64_t lsn, uint64_t off, uint64_t max)
{
    sim_node *x = arg;
    event *e = schedule(x->w, EV_SNAP_READ, x->idx, between(x->w, 200, 3000));
    snprintf(e->to_id, sizeof e->to_id, "%s", to_id);
    e->a = lsn;
    e->b = off;
    e->c = max;
}

static void io_snap_write(void *arg, uint64_t lsn, uint64_t term, uint64_t off, const uint8_t *p,
                          size_t n, int last)
{
    sim_node *x = arg;
    event *e = schedule(x->w, EV_SNAP_WRITE, x->idx, between(x->w, 200, 4000));
    e->a = lsn;
    e->b = term;
    e->c = off;
    e->data = malloc(n ? n : 1);
    memcpy(e->data, p, n);
    e->len = n;
    e->last = last;
}

static void check_node(sim *w, sim_node *x);

static void io_role_changed(void *arg)
{
    sim_node *x = arg;
    check_node(x->w, x);
}

static void io_commit_advanced(void *arg)
{
    sim_node *x = arg;
    check_node(x->w, x);
}

static void io_config_changed(void *arg, const rc_config *cfg)
{
    (void)arg;
    (void)cfg;
}

static const rc_io sim_io = {
    .now_ms = io_now, .random = io_random, .log = io_log, .send = io_send,
    .send_backlog = io_backlog, .forget = io_forget, .meta_store = io_meta_store,
    .log_first = io_log_first, .log_last = io_log_last, .log_durable = io_log_durable,
    .log_term_at = io_term_at, .log_history = io_history, .rec_decode = io_rec_decode,
    .log_append = io_log_append, .log_noop = io_log_noop, .log_config = io_log_config,
    .log_truncate = io_truncate, .log_read = io_read, .log_pin = io_pin, .apply = io_apply,
    .snap_latest = io_snap_latest, .snap_take = io_snap_take, .snap_read = io_snap_read,
    .snap_write = io_snap_write, .role_changed = io_role_changed,
    .commit_advanced = io_commit_advanced, .config_changed = io_config_changed,
};

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */
/* ------------------------------------------------------------------------ */

static void grow_global(sim *w, uint64_t lsn)
{
    if (lsn < w->gcap)
        return;
    uint64_t cap = w->gcap ? w->gcap : 1024;
    while (cap <= lsn)
        cap *= 2;
    w->g_hash = realloc(w->g_hash, cap * sizeof *w->g_hash);
    w->g_term = realloc(w->g_term, cap * sizeof *w->g_term);
    w->g_op = realloc(w->g_op, cap * sizeof *w->g_op);
    w->g_cterm = realloc(w->g_cterm, cap * sizeof *w->g_cterm);
    memset(w->g_cterm + w->gcap, 0, (cap - w->gcap) * sizeof *w->g_cterm);
    memset(w->g_hash + w->gcap, 0, (cap - w->gcap) * sizeof *w->g_hash);
    memset(w->g_term + w->gcap, 0, (cap - w->gcap) * sizeof *w->g_term);
    memset(w->g_op + w->gcap, 0, (cap - w->gcap) * sizeof *w->g_op);
    w->gcap = cap;
}

/* Node x's log must agree with the committed log up to its commit. */
/* Verbose runs print the faults and commits beside the cores' logs. */
static void vlog(const sim *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check_commit(sim *w, sim_node *x)
{
    uint64_t c = rcore_commit(x->core);
    if (c < x->last_commit)
        fail(w, "n%d: commit moved back from %" PRIu64 " to %" PRIu64, x->idx, x->last_commit, c);
    x->last_commit = c;
    for (uint64_t lsn = x->checked_commit + 1; lsn <= c; lsn++) {
        uint64_t h;
        if (!hash_at(x, lsn, &h))
            continue; /* compacted here: others check it */
        sim_entry *e = entry(x, lsn);
        if (lsn <= w->gcommit) {
            if (w->g_hash[lsn] != h)
                fail(w, "n%d: committed LSN %" PRIu64 " differs from the cluster's (log mismatch)",
                     x->idx, lsn);
        } else if (lsn == w->gcommit + 1 && e) {
            grow_global(w, lsn);
            w->g_hash[lsn] = h;
            w->g_term[lsn] = e->term;
            w->g_op[lsn] = e->op;
            w->g_cterm[lsn] = rcore_term(x->core);
            w->gcommit = lsn;
            vlog(w, "n%d commits LSN %" PRIu64 " (entry term %" PRIu64 ", node in term %" PRIu64
                 ")", x->idx, lsn, e->term, rcore_term(x->core));
        }
    }
    if (c > x->checked_commit)
        x->checked_commit = c;
}

static void update_strays(sim *w);

static void check_node(sim *w, sim_node *x)
{
    if (!x->core || w->failed)
        return;
    update_strays(w); /* a node may have just founded a cluster of its own */
    if (x->stray)
        return;
    check_commit(w, x);
    int role = rcore_role(x->core);
    uint64_t term = rcore_term(x->core);
    if (role == RC_LEADER && x->leader_term != term) {
        x->leader_term = term;
        w->res->leaders++;
        if (term >= w->nterms) {
            uint64_t cap = w->nterms ? w->nterms : 64;
            while (cap <= term)
                cap *= 2;
            w->leader_of_term = realloc(w->leader_of_term, cap * sizeof *w->leader_of_term);
            memset(w->leader_of_term + w->nterms, 0, (cap - w->nterms) * sizeof(uint64_t));
            w->nterms = cap;
        }
        if (w->leader_of_term[term] && w->leader_of_term[term] != (uint64_t)x->idx + 1)
            fail(w, "two leaders in term %" PRIu64 ": n%d and n%d", term,
                 (int)w->leader_of_term[term] - 1, x->idx);
        w->leader_of_term[term] = (uint64_t)x->idx + 1;
        /* A new leader cut off soon after it won: entries it takes then
         * stay on a minority. */
        if (w->faults_on && rnd(&w->rng) % 100 < 25) {
            event *c = schedule(w, EV_ISOLATE, x->idx, between(w, 0, 150000));
            c->a = between(w, 200000, 3000000);
        }
        /* Leader completeness: it holds everything committed in earlier
         * terms (a leader of an older term may come late: its votes stood). */
        uint64_t g = w->gcommit;
        while (g && w->g_cterm[g] >= term)
            g--;
        if (g && g >= x->base_lsn) {
            uint64_t h;
            if (!hash_at(x, g, &h) || h != w->g_hash[g])
                fail(w, "n%d leads term %" PRIu64 " without committed LSN %" PRIu64, x->idx,
                     term, g);
        } else if (g && x->base_lsn > g) {
            fail(w, "n%d's snapshot at %" PRIu64 " is past the committed log (%" PRIu64 ")",
                 x->idx, x->base_lsn, g);
        }
    }
    if (role != RC_LEADER && rcore_follower_serving(x->core) &&
        rcore_applied(x->core) > rcore_commit(x->core))
        fail(w, "n%d serves reads with LSN %" PRIu64 " applied but commit %" PRIu64, x->idx,
             rcore_applied(x->core), rcore_commit(x->core));
}

/* No two leases at once. */
static void check_leases(sim *w)
{
    int holder = -1;
    for (int i = 0; i < w->n; i++) {
        sim_node *x = &w->nodes[i];
        if (!x->up || !x->core || x->stray || !rcore_lease_valid(x->core))
            continue;
        if (holder >= 0)
            fail(w, "n%d and n%d both hold a lease (terms %" PRIu64 ", %" PRIu64 ")", holder, i,
                 rcore_term(w->nodes[holder].core), rcore_term(x->core));
        holder = i;
    }
}

/* Acknowledge writes whose entries committed on the node that ran them
 * while it still leads their term; a node that stopped leading drops its
 * waiting clients (their outcome is unknown). */
static void settle_writes(sim *w)
{
    size_t k = 0;
    for (size_t i = 0; i < w->npw; i++) {
        pending_write *p = &w->pw[i];
        sim_node *x = &w->nodes[p->node];
        int alive = x->up && x->epoch == p->epoch && rcore_role(x->core) == RC_LEADER &&
                    rcore_term(x->core) == p->term;
        if (alive && rcore_commit(x->core) >= p->lsn) {
            if (p->lsn > w->gcommit || w->g_op[p->lsn] != p->op)
                fail(w, "acknowledged write %" PRIu64 " is not the committed LSN %" PRIu64,
                     p->op, p->lsn);
            if (w->nacked == w->capacked) {
                w->capacked = w->capacked ? w->capacked * 2 : 1024;
                w->acked_lsn = realloc(w->acked_lsn, w->capacked * sizeof *w->acked_lsn);
                w->acked_op = realloc(w->acked_op, w->capacked * sizeof *w->acked_op);
            }
            w->acked_lsn[w->nacked] = p->lsn;
            w->acked_op[w->nacked++] = p->op;
            if (p->lsn > w->max_acked_lsn)
                w->max_acked_lsn = p->lsn;
            w->res->acked_writes++;
            continue;
        }
        if (!alive) {
            w->res->lost_unknown++;
            continue;
        }
        w->pw[k++] = *p;
    }
    w->npw = k;
}

/* Reads answer once the entries they saw are committed and, outside the
 * lease, a heartbeat round started after them was acknowledged. */
static void settle_reads(sim *w)
{
    size_t k = 0;
    for (size_t i = 0; i < w->npr; i++) {
        pending_read *p = &w->pr[i];
        sim_node *x = &w->nodes[p->node];
        int alive = x->up && x->epoch == p->epoch && rcore_role(x->core) == RC_LEADER &&
                    rcore_term(x->core) == p->term;
        if (!alive)
            continue;
        if (rcore_commit(x->core) >= p->lsn &&
            (!p->need_round || rcore_confirmed_round(x->core) >= p->need_round)) {
            /* It must have seen every write acknowledged before it began. */
            if (p->lsn < p->max_acked_before)
                fail(w, "stale read on n%d: saw LSN %" PRIu64 ", write at %" PRIu64
                     " was acknowledged before", x->idx, p->lsn, p->max_acked_before);
            else if (p->lsn && (p->lsn > w->gcommit || w->g_hash[p->lsn] != p->hash))
                fail(w, "read on n%d saw LSN %" PRIu64 " that did not commit", x->idx, p->lsn);
            w->res->reads_checked++;
            continue;
        }
        w->pr[k++] = *p;
    }
    w->npr = k;
}

/* ------------------------------------------------------------------------ */
/* Nodes: start, crash, restart                                              */
/* ------------------------------------------------------------------------ */

static void boot(sim *w, sim_node *x)
{
    /* Recovery: the log was cut to what was durable; the keyspace holds
     * the snapshot plus the log up to the stored commit watermark. */
    if (last_lsn(x) < x->snap.lsn && x->snap.valid)
        reset_to(x, x->snap.lsn, x->snap.term, x->snap.hash);
    uint64_t applied = x->meta.commit < last_lsn(x) ? x->meta.commit : last_lsn(x);
    if (x->snap.valid && applied < x->snap.lsn)
        applied = x->snap.lsn;
    if (applied < x->base_lsn)
        applied = x->base_lsn;
    x->applied = applied;
    hash_at(x, applied, &x->applied_hash);
    rc_io io = sim_io;
    io.arg = x;
    rc_settings set;
    rc_settings_defaults(&set);
    set.chunk = 64;
    /* Some nodes send one record per message: entries then reach followers
     * (and are acknowledged) one by one, not only in whole batches. */
    set.max_batch = x->small_batches ? 1 : 4096;
    set.catchup_lag = 20;
    x->core = rcore_new(&io, &set, x->id, x->addr, x->caddr, &x->meta);
    rcore_set_applied(x->core, applied);
    for (size_t i = 0; i < x->n; i++) {
        sim_entry *e = &x->log[i];
        if (e->type == WAL_REC_CONFIG && e->lsn > x->meta.config.lsn) {
            wal_record r;
            wal_decode_record(e->rec, e->len, &r);
            rcore_log_config(x->core, e->lsn, r.payload, r.len);
        }
    }
    /* No cluster in the meta file nor in the log: found one, or join (a
     * node that left its own cluster and dropped its data has the node it
     * joins in its meta file, as kvnode's "following"). */
    if (!rcore_config(x->core)->n) {
        if (x->founder && !last_lsn(x) && !x->following)
            rcore_bootstrap(x->core);
        else
            rcore_join(x->core, w->nodes[0].addr);
    } else {
        x->following = 0; /* it has a cluster: a join it began is forgotten */
    }
    x->up = 1;
    x->apply_busy = 0;
    x->last_commit = rcore_commit(x->core);
    x->checked_commit = x->last_commit > x->checked_commit ? x->checked_commit : x->last_commit;
    schedule(w, EV_TICK, x->idx, between(w, 0, TICK_US));
    start_sync(x);
}

static void vlog(const sim *w, const char *fmt, ...)
{
    if (!w->o.verbose)
        return;
    printf("%9.3f ", (double)w->now_us / 1000.0);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void crash(sim *w, sim_node *x)
{
    if (!x->up)
        return;
    vlog(w, "n%d ! crash (log kept up to LSN %" PRIu64 ", durable)", x->idx,
         x->durable < x->base_lsn ? x->base_lsn : x->durable);
    w->res->crashes++;
    rcore_free(x->core);
    x->core = NULL;
    x->up = 0;
    x->epoch++;
    x->syncing = 0;
    /* Power loss: what was not synced is gone. */
    cut_after(x, x->durable < x->base_lsn ? x->base_lsn : x->durable);
    x->rsnap_len = 0;
    x->leader_term = 0;
    x->checked_commit = 0;
    x->last_commit = 0;
}

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

static void ev_msg(sim *w, event *e)
{
    sim_node *x = &w->nodes[e->node];
    Kv__PeerMessage *m = kv__peer_message__unpack(NULL, e->len, e->data);
    if (!m) {
        fail(w, "a message did not decode");
        return;
    }
    mix(w, (uint64_t)m->msg_case + (uint64_t)e->from * 1000);
    rcore_recv(x->core, w->nodes[e->from].id, m);
    kv__peer_message__free_unpacked(m, NULL);
}

static void ev_sync(sim *w, sim_node *x)
{
    (void)w;
    x->syncing = 0;
    uint64_t t = x->sync_target < last_lsn(x) ? x->sync_target : last_lsn(x);
    if (t > x->durable)
        x->durable = t;
    rcore_on_durable(x->core);
    start_sync(x);
}

/* As the engine does: the image is the keyspace, so it is taken at the
 * applied LSN — past commit on a leader that applies as it executes. */
static void take_snapshot(sim *w, sim_node *x)
{
    /* The engine publishes a snapshot only once the WAL holds everything
     * in it (a leader applies before its log is durable). */
    uint64_t lsn = x->applied < x->durable ? x->applied : x->durable;
    uint64_t h;
    if (!lsn || (x->snap.valid && lsn <= x->snap.lsn) || !hash_at(x, lsn, &h))
        return;
    /* Some snapshots fail (a full disk): nothing reports it. */
    if (rnd(&x->rng) % 8 == 0)
        return;
    uint64_t c = rcore_commit(x->core);
    /* The one it replaces stays if it is the newest of committed state. */
    if (x->snap.valid && x->snap.lsn <= c && lsn > c)
        x->psnap = x->snap;
    else if (lsn <= c)
        x->psnap.valid = 0;
    sim_snap *s = &x->snap;
    s->valid = 1;
    s->lsn = lsn;
    s->term = lsn == x->base_lsn ? x->base_term : entry(x, lsn)->term;
    s->hash = h;
    memcpy(s->bytes, &s->lsn, 8);
    memcpy(s->bytes + 8, &s->term, 8);
    memcpy(s->bytes + 16, &s->hash, 8);
    /* The config in effect at the snapshot travels with it: the core ships
     * it separately, so the file needs only the state. Pad to a few chunks. */
    memset(s->bytes + 24, 0xab, 200);
    s->len = 24 + 200;
    x->since_snap = 0;
    /* Compaction only drops entries a snapshot of committed state covers
     * (the engine's commit gate): one past commit cannot be shipped. */
    uint64_t upto = lsn <= c ? lsn : x->psnap.valid ? x->psnap.lsn : 0;
    if (upto)
        compact(x, upto);
    rcore_snapshot_taken(x->core, lsn);
    (void)w;
}

static void ev_snap_write(sim *w, sim_node *x, event *e)
{
    if (e->c + e->len > sizeof x->rsnap) {
        rcore_snap_write_done(x->core, -1);
        return;
    }
    if (e->c == 0)
        x->rsnap_len = 0;
    if (e->c != x->rsnap_len) {
        rcore_snap_write_done(x->core, -1);
        return;
    }
    memcpy(x->rsnap + e->c, e->data, e->len);
    x->rsnap_len += e->len;
    if (!e->last) {
        rcore_snap_write_done(x->core, 0);
        return;
    }
    uint64_t lsn, term, h;
    memcpy(&lsn, x->rsnap, 8);
    memcpy(&term, x->rsnap + 8, 8);
    memcpy(&h, x->rsnap + 16, 8);
    if (lsn != e->a || term != e->b) {
        fail(w, "n%d received a snapshot whose header disagrees with its message", x->idx);
        return;
    }
    /* Install: the snapshot is the only state; the log restarts after it. */
    x->psnap.valid = 0;
    memcpy(x->snap.bytes, x->rsnap, x->rsnap_len);
    x->snap.len = x->rsnap_len;
    x->snap.valid = 1;
    x->snap.lsn = lsn;
    x->snap.term = term;
    x->snap.hash = h;
    reset_to(x, lsn, term, h);
    x->applied = lsn;
    x->applied_hash = h;
    w->res->snapshots_installed++;
    rcore_snap_write_done(x->core, 0);
}

static void ev_read(sim *w, sim_node *x, event *e)
{
    (void)w;
    uint64_t from = e->a, upto = e->b;
    if (from < x->base_lsn + 1) {
        rcore_read_done(x->core, e->to_id, -1, NULL, 0, 0);
        return;
    }
    if (upto > x->durable)
        upto = x->durable; /* written to the files: the sim treats durable as written */
    if (upto > last_lsn(x))
        upto = last_lsn(x);
    size_t len = 0;
    uint64_t count = 0;
    uint8_t *buf = NULL;
    for (uint64_t l = from; l <= upto; l++) {
        sim_entry *en = entry(x, l);
        if (!en)
            break;
        if (count && len + en->len > e->c)
            break;
        buf = realloc(buf, len + en->len);
        memcpy(buf + len, en->rec, en->len);
        len += en->len;
        count++;
    }
    rcore_read_done(x->core, e->to_id, 0, buf, len, count);
    free(buf);
}

static void ev_apply(sim *w, sim_node *x, event *e)
{
    (void)w;
    x->apply_busy = 0;
    uint64_t upto = e->a < last_lsn(x) ? e->a : last_lsn(x);
    uint64_t h;
    if (upto < x->applied || !hash_at(x, upto, &h)) {
        rcore_apply_done(x->core, x->applied, 0);
        return;
    }
    x->applied = upto;
    x->applied_hash = h;
    rcore_apply_done(x->core, upto, 0);
}

static void ev_trunc(sim *w, sim_node *x, event *e)
{
    uint64_t keep = e->a;
    if (keep == 0 || keep < x->base_lsn) {
        wipe(x);
    } else {
        cut_after(x, keep);
        /* A snapshot holding cut entries goes with them. */
        if (x->snap.valid && x->snap.lsn > keep)
            x->snap.valid = 0;
        if (x->psnap.valid && x->psnap.lsn > keep)
            x->psnap.valid = 0;
    }
    if (x->applied > last_lsn(x)) {
        x->applied = last_lsn(x);
        hash_at(x, x->applied, &x->applied_hash);
    }
    w->res->truncations++;
    rcore_truncate_done(x->core, 0);
}

/* ---- clients ---- */

static void client_write(sim *w)
{
    int i = (int)between(w, 0, (uint64_t)w->n - 1);
    sim_node *x = &w->nodes[i];
    if (!x->up || x->paused_until > w->now_us || !rcore_writable(x->core))
        return;
    if (x->stray) {
        /* Its own cluster's entries, which it must drop on joining. */
        uint64_t own = 0x57a7000000000000ull | w->now_us;
        append_local(x, rcore_term(x->core), WAL_REC_COMMANDS, &own, 8);
        return;
    }
    uint64_t op = ++w->next_op;
    uint64_t lsn = append_local(x, rcore_term(x->core), WAL_REC_COMMANDS, &op, 8);
    if (!lsn)
        return;
    /* The leader applies as it executes. */
    x->applied = lsn;
    hash_at(x, lsn, &x->applied_hash);
    if (w->npw == w->cappw) {
        w->cappw = w->cappw ? w->cappw * 2 : 256;
        w->pw = realloc(w->pw, w->cappw * sizeof *w->pw);
    }
    pending_write *p = &w->pw[w->npw++];
    p->op = op;
    p->lsn = lsn;
    p->term = rcore_term(x->core);
    p->node = i;
    p->epoch = x->epoch;
    /* Sometimes the leader is cut off (or dies) right after taking writes:
     * entries that only a minority holds, the stuff of Figure 8. */
    if (w->faults_on && rnd(&w->rng) % 100 < 3) {
        for (int j = 0; j < w->n; j++)
            if (j != i)
                w->cut[i][j] = w->cut[j][i] = 1;
        w->res->partitions++;
        schedule(w, EV_HEAL, -1, between(w, 50000, 2500000));
        if (rnd(&w->rng) % 2) {
            event *c = schedule(w, EV_CRASH, i, between(w, 0, 3000));
            c->a = between(w, 10000, 3000000);
        }
    }
}

static void client_read(sim *w)
{
    int i = (int)between(w, 0, (uint64_t)w->n - 1);
    sim_node *x = &w->nodes[i];
    if (!x->up || x->stray || x->paused_until > w->now_us || rcore_role(x->core) != RC_LEADER ||
        !rcore_writable(x->core))
        return;
    if (w->npr == w->cappr) {
        w->cappr = w->cappr ? w->cappr * 2 : 256;
        w->pr = realloc(w->pr, w->cappr * sizeof *w->pr);
    }
    pending_read *p = &w->pr[w->npr++];
    p->node = i;
    p->epoch = x->epoch;
    p->term = rcore_term(x->core);
    p->start_us = w->now_us;
    p->lsn = x->applied;
    p->hash = x->applied_hash;
    p->need_round = rcore_lease_valid(x->core) ? 0 : rcore_read_round(x->core);
    p->max_acked_before = w->max_acked_lsn;
}

static void ev_client(sim *w)
{
    uint64_t r = rnd(&w->rng) % 100;
    if (r < 70)
        client_write(w);
    else
        client_read(w);
    schedule(w, EV_CLIENT, -1, between(w, 2000, 20000));
}

/* ---- faults ---- */

static void heal_network(sim *w)
{
    memset(w->cut, 0, sizeof w->cut);
    w->lossy = 0;
    w->dup = 0;
    w->slow_net = 0;
}

static int current_leader(sim *w)
{
    int best = -1;
    for (int i = 0; i < w->n; i++) {
        sim_node *x = &w->nodes[i];
        if (x->up && !x->stray && rcore_role(x->core) == RC_LEADER &&
            (best < 0 || rcore_term(x->core) > rcore_term(w->nodes[best].core)))
            best = i;
    }
    return best;
}

static void ev_fault(sim *w)
{
    if (!w->faults_on)
        return;
    int leader = current_leader(w);
    uint64_t k = rnd(&w->rng) % 100;
    int victim = leader >= 0 && rnd(&w->rng) % 2 ? leader : (int)between(w, 0, (uint64_t)w->n - 1);
    sim_node *x = &w->nodes[victim];
    uint64_t dur = rnd(&w->rng) % 3 ? between(w, 200000, 6000000) : between(w, 5000, 300000);
    vlog(w, "fault %" PRIu64 " on n%d for %" PRIu64 " ms", k, victim, dur / 1000);
    if (k < 25) {
        if (x->up) {
            crash(w, x);
            schedule(w, EV_RESTART, victim, dur)->epoch = x->epoch;
        }
    } else if (k < 45) {
        /* A partition: the victim alone, or a random cut. */
        w->res->partitions++;
        for (int j = 0; j < w->n; j++) {
            if (j == victim)
                continue;
            int oneway = rnd(&w->rng) % 4 == 0;
            w->cut[victim][j] = 1;
            if (!oneway)
                w->cut[j][victim] = 1;
        }
        schedule(w, EV_HEAL, -1, dur);
    } else if (k < 60) {
        w->res->pauses++;
        x->paused_until = w->now_us + between(w, 100000, 3000000);
    } else if (k < 70) {
        w->lossy = (int)between(w, 5, 40);
        w->dup = (int)between(w, 0, 10);
        schedule(w, EV_HEAL, -1, dur);
    } else if (k < 80) {
        w->slow_net = 1;
        schedule(w, EV_HEAL, -1, dur);
    } else if (k < 85) {
        x->slow_disk = 1;
        event *e = schedule(w, EV_HEAL, -1, dur);
        e->a = (uint64_t)victim + 1;
    } else if (k < 93) {
        if (!w->fig8_step)
            schedule(w, EV_FIG8, -1, 1);
    } else if (leader >= 0 && w->nodes[leader].up) {
        char why[128];
        rcore_transfer(w->nodes[leader].core, NULL, 2000, why, sizeof why);
    }
    schedule(w, EV_FAULT, -1, between(w, 100000, 2000000));
}

/* The Figure 8 pattern (Raft paper): leader A takes writes cut off from
 * everyone; B leads a later term and does the same; A comes back to lead an
 * even later term with only the others; then A is cut off again and B comes
 * back. Entries of older terms must never be called committed by counting
 * while this plays out. */
static void ev_fig8(sim *w)
{
    int l = current_leader(w);
    switch (w->fig8_step) {
    case 0:
        if (l < 0)
            break;
        w->fig8_a = l;
        memset(w->cut, 0, sizeof w->cut);
        for (int j = 0; j < w->n; j++)
            if (j != l)
                w->cut[l][j] = w->cut[j][l] = 1;
        w->fig8_step = 1;
        break;
    case 1:
        if (l < 0 || l == w->fig8_a)
            break;
        w->fig8_b = l;
        for (int j = 0; j < w->n; j++)
            if (j != l)
                w->cut[l][j] = w->cut[j][l] = 1;
        /* A back with everyone but B. */
        for (int j = 0; j < w->n; j++)
            if (j != w->fig8_b)
                w->cut[w->fig8_a][j] = w->cut[j][w->fig8_a] = 0;
        w->fig8_step = 2;
        break;
    case 2:
        /* Soon after someone leads, cut A off and bring B back. */
        if (l < 0)
            break;
        for (int j = 0; j < w->n; j++)
            if (j != w->fig8_a)
                w->cut[w->fig8_a][j] = w->cut[j][w->fig8_a] = 1;
        for (int j = 0; j < w->n; j++)
            if (j != w->fig8_a)
                w->cut[w->fig8_b][j] = w->cut[j][w->fig8_b] = 0;
        w->fig8_step = 3;
        break;
    default:
        memset(w->cut, 0, sizeof w->cut);
        w->fig8_step = 0;
        return;
    }
    schedule(w, EV_FIG8, -1, w->fig8_step == 2 ? between(w, 0, 60000) : between(w, 30000, 1500000));
}

static int strays(const sim *w)
{
    int n = 0;
    for (int i = 0; i < w->n; i++)
        n += w->nodes[i].stray;
    return n;
}

/* The main cluster's id, as the nodes started for it know it (they never
 * leave it; the last one seen while all of them are down): "" before it
 * has one. */
static const char *main_cluster(sim *w)
{
    for (int i = 0; i < w->main_n; i++) {
        const sim_node *x = &w->nodes[i];
        if (x->core && rcore_config(x->core)->cluster_id[0]) {
            snprintf(w->main_id, sizeof w->main_id, "%s", rcore_config(x->core)->cluster_id);
            break;
        }
    }
    return w->main_id;
}

/* A stray whose config names the main cluster has joined it (its own
 * entries dropped): from now on it is checked as any member. One that
 * crashed before its meta file recorded that comes back as the leader of
 * its own cluster (its log dropped, the join forgotten, as a node restarts
 * after REPLICAOF without the config saying so): a stray again. */
static void update_strays(sim *w)
{
    const char *m = main_cluster(w);
    if (!m[0])
        return;
    for (int i = 0; i < w->n; i++) {
        sim_node *x = &w->nodes[i];
        if (!x->core)
            continue;
        const char *own = rcore_config(x->core)->cluster_id;
        if (x->stray && !strcmp(own, m)) {
            x->stray = 0;
            x->following = 0;
            x->last_commit = x->checked_commit = 0;
            w->res->stray_joined++;
            vlog(w, "n%d ! is in the main cluster now", x->idx);
        } else if (!x->stray && own[0] && strcmp(own, m) != 0) {
            x->stray = 1;
            vlog(w, "n%d ! leads a cluster of its own again", x->idx);
        }
    }
}

/* The stray leaves its own cluster for the leader's (REPLICAOF), at times
 * cut off from it for a while, or, before that cluster has taken it,
 * changes its mind (REPLICAOF NO ONE). */
static void stray_step(sim *w)
{
    int l = current_leader(w);
    if (l < 0)
        return;
    char why[128];
    for (int i = 0; i < w->n; i++) {
        sim_node *x = &w->nodes[i];
        if (!x->stray || !x->up)
            continue;
        if (!rcore_leaving(x->core)) {
            int defer = (int)between(w, 0, 1);
            if (rcore_leave(x->core, w->nodes[l].addr, defer, why, sizeof why) != 0)
                continue;
            w->res->stray_leaves++;
            x->following = 1;
            vlog(w, "n%d ! leaves its own cluster to join n%d's%s", x->idx, l,
                 defer ? " (deferred)" : "");
            if (w->faults_on && between(w, 0, 1) == 0) {
                for (int j = 0; j < w->n; j++)
                    if (j != i)
                        w->cut[i][j] = w->cut[j][i] = 1;
                w->res->partitions++;
                schedule(w, EV_HEAL, -1, between(w, 300000, 4000000));
            }
        } else if (between(w, 0, 1) == 0) {
            w->res->stray_stays++;
            x->following = 0;
            rcore_stay(x->core);
            vlog(w, "n%d ! stays in its own cluster", x->idx);
        }
    }
}

static void membership_step(sim *w)
{
    int l = current_leader(w);
    if (l < 0 || !w->o.membership)
        return;
    rcore *c = w->nodes[l].core;
    const rc_config *cfg = rcore_config(c);
    char why[128];
    /* Now and then a node's client address changes instead (CONFIG SET
     * port): the config must come to show it (converged checks). */
    if (between(w, 0, 3) == 0) {
        sim_node *x = &w->nodes[between(w, 0, (uint64_t)w->n - 1)];
        if (x->up) {
            x->caddr_gen++;
            snprintf(x->caddr, sizeof x->caddr, "10.0.0.%d:%d", x->idx + 1, 7379 + x->caddr_gen);
            vlog(w, "n%d ! client address now %s", x->idx, x->caddr);
            rcore_set_client_addr(x->core, x->caddr);
        }
        return;
    }
    /* Remove a random non-leader member, or re-add one that is missing. */
    if (cfg->n == w->n - strays(w)) {
        int v = (int)between(w, 0, (uint64_t)cfg->n - 1);
        if (strcmp(cfg->m[v].id, rcore_id(c)) != 0)
            rcore_remove(c, cfg->m[v].id, why, sizeof why);
    } else {
        for (int i = 0; i < w->n; i++) {
            sim_node *x = &w->nodes[i];
            if (rc_config_find(cfg, x->id) < 0 && x->up && !x->stray) {
                /* It asks to join again, as a restarted node would. */
                rcore_join(x->core, w->nodes[l].addr);
                break;
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The run                                                                   */
/* ------------------------------------------------------------------------ */

void sim_options_defaults(sim_options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->nodes = 3;
    o->fault_ms = 30000;
    o->heal_ms = 20000;
    o->faults = 1;
}

static void dispatch(sim *w, event *e)
{
    if (e->node >= 0) {
        sim_node *x = &w->nodes[e->node];
        if (e->type == EV_RESTART) {
            if (!x->up && e->epoch == x->epoch) {
                vlog(w, "n%d ! restart (log up to LSN %" PRIu64 ")", x->idx, last_lsn(x));
                boot(w, x);
            }
            return;
        }
        if (!x->up || e->epoch != x->epoch)
            return; /* the node crashed since */
        if (x->paused_until > w->now_us) {
            /* SIGSTOPped: everything waits until it runs again. */
            event *d = schedule(w, e->type, e->node, x->paused_until - w->now_us);
            uint64_t seq = d->seq, at = d->at_us;
            *d = *e;
            d->seq = seq;
            d->at_us = at;
            e->data = NULL;
            e->meta = NULL;
            return;
        }
    }
    sim_node *x = e->node >= 0 ? &w->nodes[e->node] : NULL;
    mix(w, (uint64_t)e->type * 31 + (uint64_t)(e->node + 1));
    switch (e->type) {
    case EV_TICK:
        rcore_tick(x->core);
        rcore_flush(x->core);
        if (x->since_snap > SNAP_EVERY && rcore_role(x->core) != RC_LEADER)
            take_snapshot(w, x);
        schedule(w, EV_TICK, x->idx, TICK_US);
        break;
    case EV_MSG:
        ev_msg(w, e);
        rcore_flush(x->core);
        break;
    case EV_SYNC:
        ev_sync(w, x);
        break;
    case EV_META:
        x->meta = *e->meta;
        rcore_meta_done(x->core, e->a, 0);
        break;
    case EV_TRUNC:
        ev_trunc(w, x, e);
        break;
    case EV_READ:
        ev_read(w, x, e);
        rcore_flush(x->core);
        break;
    case EV_APPLY:
        ev_apply(w, x, e);
        break;
    case EV_SNAP_TAKE:
        take_snapshot(w, x);
        break;
    case EV_SNAP_READ: {
        uint64_t off = e->b;
        const sim_snap *sn = x->snap.valid && x->snap.lsn == e->a     ? &x->snap
                             : x->psnap.valid && x->psnap.lsn == e->a ? &x->psnap
                                                                      : NULL;
        if (!sn || off > sn->len) {
            rcore_snap_read_done(x->core, e->to_id, e->a, off, NULL, 0, 0, -1);
            break;
        }
        size_t n = sn->len - off < e->c ? sn->len - off : e->c;
        rcore_snap_read_done(x->core, e->to_id, e->a, off, sn->bytes + off, n, sn->len, 0);
        rcore_flush(x->core);
        break;
    }
    case EV_SNAP_WRITE:
        ev_snap_write(w, x, e);
        break;
    case EV_CLIENT:
        ev_client(w);
        if (w->o.membership && rnd(&w->rng) % 400 == 0)
            membership_step(w);
        if (w->o.membership && rnd(&w->rng) % 60 == 0)
            stray_step(w);
        break;
    case EV_FAULT:
        ev_fault(w);
        break;
    case EV_FIG8:
        if (w->faults_on)
            ev_fig8(w);
        break;
    case EV_ISOLATE:
        for (int j = 0; j < w->n; j++)
            if (j != x->idx)
                w->cut[x->idx][j] = w->cut[j][x->idx] = 1;
        w->res->partitions++;
        schedule(w, EV_HEAL, -1, e->a);
        break;
    case EV_CRASH: {
        /* Crash now, come back after e->a us. */
        crash(w, x);
        event *rs = schedule(w, EV_RESTART, x->idx, e->a);
        rs->epoch = x->epoch;
        break;
    }
    case EV_HEAL:
        if (e->a)
            w->nodes[e->a - 1].slow_disk = 0;
        else
            heal_network(w);
        break;
    }
}

static void run_until(sim *w, uint64_t until_us)
{
    while (w->nev && !w->failed && w->ev[0].at_us <= until_us) {
        event e = pop(w);
        w->now_us = e.at_us;
        w->res->events++;
        dispatch(w, &e);
        free(e.data);
        free(e.meta);
        for (int i = 0; i < w->n && !w->failed; i++)
            if (w->nodes[i].up)
                check_node(w, &w->nodes[i]);
        check_leases(w);
        update_strays(w);
        settle_writes(w);
        settle_reads(w);
    }
    w->now_us = until_us;
}

/* Liveness: a leader, everything acknowledged committed on every node,
 * and the logs the same up to the commit. */
static int converged(sim *w)
{
    if (strays(w))
        return 0; /* the stray must have joined */
    int l = current_leader(w);
    if (l < 0 || !rcore_writable(w->nodes[l].core))
        return 0;
    uint64_t c = rcore_commit(w->nodes[l].core);
    if (c < w->max_acked_lsn || c < w->nodes[l].n + w->nodes[l].base_lsn)
        return 0;
    const rc_config *cfg = rcore_config(w->nodes[l].core);
    for (int m = 0; m < cfg->n; m++) {
        for (int i = 0; i < w->n; i++) {
            sim_node *x = &w->nodes[i];
            if (strcmp(x->id, cfg->m[m].id) != 0)
                continue;
            if (!x->up || rcore_commit(x->core) < c || x->applied < c)
                return 0;
            /* The config shows every member's current client address. */
            if (strcmp(cfg->m[m].client_addr, x->caddr) != 0)
                return 0;
        }
    }
    return 1;
}

void sim_run(const sim_options *o, sim_result *res)
{
    sim *w = calloc(1, sizeof *w);
    memset(res, 0, sizeof *res);
    w->o = *o;
    w->res = res;
    w->n = o->nodes > SIM_MAX - 1 ? SIM_MAX - 1 : o->nodes < 1 ? 1 : o->nodes;
    int main_n = w->n;
    w->main_n = main_n;
    if (o->membership)
        w->n++; /* the stray */
    w->rng = o->seed * 0x9E3779B97F4A7C15ull + 1;
    w->trace = 0xcbf29ce484222325ull;
    rc_mutations = o->mutation;
    for (int i = 0; i < w->n; i++) {
        sim_node *x = &w->nodes[i];
        x->w = w;
        x->idx = i;
        snprintf(x->id, sizeof x->id, "n%d-%016" PRIx64, i, rnd(&w->rng));
        snprintf(x->addr, sizeof x->addr, "10.0.0.%d:17379", i + 1);
        snprintf(x->caddr, sizeof x->caddr, "10.0.0.%d:7379", i + 1);
        x->drift_ppm = (int64_t)(rnd(&w->rng) % 80001) - 40000; /* within ±4% */
        x->rng = rnd(&w->rng);
        x->founder = i == 0 || i == main_n;
        x->stray = i == main_n;
        x->small_batches = rnd(&w->rng) % 2;
        x->first = 1;
        boot(w, x);
    }
    schedule(w, EV_CLIENT, -1, 500000);
    w->faults_on = o->faults;
    if (o->faults)
        schedule(w, EV_FAULT, -1, between(w, 3000000, 6000000));
    run_until(w, o->fault_ms * 1000);
    /* Liveness: faults stop, everything heals and restarts. */
    w->faults_on = 0;
    heal_network(w);
    for (int i = 0; i < w->n; i++) {
        sim_node *x = &w->nodes[i];
        x->paused_until = 0;
        x->slow_disk = 0;
        if (!x->up)
            boot(w, x);
        if (x->stray) {
            char why[128];
            x->following = 1;
            rcore_leave(x->core, w->nodes[0].addr, 0, why, sizeof why);
        } else if (o->membership) {
            rcore_join(x->core, w->nodes[0].addr); /* removed ones come back */
        }
    }
    uint64_t deadline = w->now_us + o->heal_ms * 1000;
    int live = 0;
    while (!w->failed && w->now_us < deadline) {
        run_until(w, w->now_us + 100000);
        if (converged(w)) {
            live = 1;
            break;
        }
    }
    if (!w->failed && !live && o->verbose) {
        for (int i = 0; i < w->n; i++) {
            sim_node *x = &w->nodes[i];
            const rc_config *cf = rcore_config(x->core);
            printf("  n%d up=%d role=%d term=%llu commit=%llu applied=%llu last=%llu cfg.lsn=%llu:", i, x->up,
                   (int)rcore_role(x->core), (unsigned long long)rcore_term(x->core),
                   (unsigned long long)rcore_commit(x->core), (unsigned long long)x->applied,
                   (unsigned long long)(x->base_lsn + x->n), (unsigned long long)cf->lsn);
            for (int m = 0; m < cf->n; m++)
                printf(" %.2s%s", cf->m[m].id, cf->m[m].voter ? "V" : "L");
            printf("\n");
        }
    }
    if (!w->failed && !live)
        fail(w, "no convergence %" PRIu64 " ms after the faults stopped (leader %d, max acked "
             "LSN %" PRIu64 ")",
             o->heal_ms, current_leader(w), w->max_acked_lsn);
    /* Every acknowledged write is in the committed log, at its LSN. */
    for (size_t i = 0; i < w->nacked && !w->failed; i++)
        if (w->acked_lsn[i] > w->gcommit || w->g_op[w->acked_lsn[i]] != w->acked_op[i])
            fail(w, "acknowledged write %" PRIu64 " lost (LSN %" PRIu64 ")", w->acked_op[i],
                 w->acked_lsn[i]);
    res->ok = !w->failed;
    res->trace_hash = w->trace;
    res->commit = w->gcommit;
    for (int i = 0; i < w->n; i++) {
        sim_node *x = &w->nodes[i];
        if (x->core) {
            rc_stats st;
            rcore_get_stats(x->core, &st);
            res->elections += st.elections_started;
        }
        rcore_free(x->core);
        for (size_t k = 0; k < x->n; k++)
            free_entry(&x->log[k]);
        free(x->log);
    }
    while (w->nev) {
        event e = pop(w);
        free(e.data);
        free(e.meta);
    }
    rc_mutations = 0;
    free(w->ev);
    free(w->g_hash);
    free(w->g_term);
    free(w->g_op);
    free(w->g_cterm);
    free(w->leader_of_term);
    free(w->pw);
    free(w->pr);
    free(w->acked_lsn);
    free(w->acked_op);
    free(w);
}
