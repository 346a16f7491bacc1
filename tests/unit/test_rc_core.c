/* test_rc_core.c — the replication core's rules, one scenario each, on a
 * hand-driven world: the test decides which message is delivered, dropped
 * or held, when disks finish and how far each clock moves. Covers the Raft
 * paper's Figure 8 (older-term entries never commit by counting), votes
 * bound across a crash by the meta file, PreVote keeping a returning node
 * from deposing a healthy leader, CheckQuorum, the lease, commit quorums
 * with min_acks, learners promoted only once caught up, leadership
 * transfer, and a node leaving its own one-node cluster for another
 * (REPLICAOF at run time). The Figure 8 and vote scenarios also run against deliberately
 * broken cores (rc_mutations) and must then fail: the scenario is what
 * catches those bugs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "wal.h"

/* ---- Fixture: a world of up to 5 nodes driven by hand ---- */

#define MAXN 5
#define MAXLOG 512
#define MAXMSG 4096

typedef struct mentry {
    uint64_t lsn, term;
    int type;
    uint64_t op;
    uint8_t rec[64 + 1024];
    size_t len;
} mentry;

typedef struct mnode {
    int idx;
    char id[RC_ID_LEN], addr[32], caddr[32];
    rcore *core;
    mentry log[MAXLOG];
    size_t n;
    uint64_t durable;
    int auto_sync;          /* appends become durable at the next settle */
    rc_meta meta;           /* on "disk" */
    rc_meta pmeta;          /* a store in flight */
    uint64_t pseq;
    int meta_pending;
    uint64_t apply_upto;
    int apply_pending;
    uint64_t applied;
    uint64_t trunc_keep;
    int trunc_pending;
    int read_pending;      /* reads in flight (one per peer at most) */
    struct {
        char to[RC_ID_LEN];
        uint64_t from, upto, max;
    } reads[MAXN];
    rc_term_start hist[64];
    size_t nhist;
    uint64_t now;           /* this node's clock */
    uint64_t rng;
    int down;
} mnode;

typedef struct msg {
    int from, to;
    uint8_t *buf;
    size_t len;
    int type;
} msg;

typedef struct world {
    mnode nd[MAXN];
    int n;
    msg q[MAXMSG];
    int nq;
    int cut[MAXN][MAXN];
    uint64_t next_op;
    int roles_changed;
} world;

static world W;

static mnode *node_of(void *arg)
{
    return arg;
}

static uint64_t io_now(void *arg)
{
    return node_of(arg)->now;
}

static uint64_t io_random(void *arg)
{
    mnode *x = arg;
    x->rng = x->rng * 6364136223846793005ull + 1442695040888963407ull;
    return x->rng >> 11;
}

static void io_log(void *arg, int level, const char *m)
{
    (void)level;
    if (getenv("KV_TEST_VERBOSE"))
        printf("   n%d: %s\n", node_of(arg)->idx, m);
}

static int by_addr(const char *addr)
{
    for (int i = 0; i < W.n; i++)
        if (!strcmp(W.nd[i].addr, addr))
            return i;
    return -1;
}

static void io_send(void *arg, const char *to_id, const char *to_addr, const Kv__PeerMessage *m)
{
    (void)to_id;
    mnode *x = arg;
    int to = by_addr(to_addr);
    if (to < 0 || W.nq == MAXMSG)
        return;
    msg *q = &W.q[W.nq++];
    q->from = x->idx;
    q->to = to;
    q->len = kv__peer_message__get_packed_size(m);
    q->buf = malloc(q->len ? q->len : 1);
    kv__peer_message__pack(m, q->buf);
    q->type = (int)m->msg_case;
}

static uint64_t io_backlog(void *arg, const char *id)
{
    (void)arg;
    (void)id;
    return 0;
}

static void io_forget(void *arg, const char *id)
{
    (void)arg;
    (void)id;
}

static void io_meta_store(void *arg, const rc_meta *m, uint64_t seq)
{
    mnode *x = arg;
    x->pmeta = *m;
    x->pseq = seq;
    x->meta_pending = 1;
}

static uint64_t last_lsn(const mnode *x)
{
    return x->n ? x->log[x->n - 1].lsn : 0;
}

static uint64_t io_first(void *arg)
{
    (void)arg;
    return 1;
}

static uint64_t io_last(void *arg, uint64_t *term)
{
    mnode *x = arg;
    *term = x->n ? x->log[x->n - 1].term : 0;
    return last_lsn(x);
}

static uint64_t io_durable(void *arg)
{
    return node_of(arg)->durable;
}

static uint64_t io_term_at(void *arg, uint64_t lsn)
{
    mnode *x = arg;
    return lsn && lsn <= last_lsn(x) ? x->log[lsn - 1].term : 0;
}

static const rc_term_start *io_history(void *arg, size_t *n)
{
    mnode *x = arg;
    x->nhist = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (x->nhist && x->hist[x->nhist - 1].term == x->log[i].term)
            continue;
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

static int add_rec(mnode *x, const uint8_t *rec, size_t len)
{
    wal_record r;
    if (wal_decode_record(rec, len, &r) != (long)len || r.lsn != last_lsn(x) + 1 ||
        len > sizeof x->log[0].rec || x->n == MAXLOG)
        return -1;
    mentry *e = &x->log[x->n++];
    e->lsn = r.lsn;
    e->term = r.term;
    e->type = r.type;
    e->op = 0;
    if (r.type == WAL_REC_COMMANDS && r.len == 8)
        memcpy(&e->op, r.payload, 8);
    memcpy(e->rec, rec, len);
    e->len = len;
    rcore_on_append(x->core, rec, len, r.lsn, r.term, r.type, r.payload, r.len);
    return 0;
}

static uint64_t append_local(mnode *x, uint64_t term, int type, const void *p, size_t plen)
{
    uint8_t rec[64 + 1024];
    size_t len = wal_record_size(plen);
    uint64_t lsn = last_lsn(x) + 1;
    wal_encode_record(rec, lsn, term, type, p, plen);
    return add_rec(x, rec, len) ? 0 : lsn;
}

static int io_append(void *arg, const uint8_t *rec, size_t len)
{
    return add_rec(arg, rec, len);
}

static uint64_t io_noop(void *arg, uint64_t term)
{
    return append_local(arg, term, WAL_REC_NOOP, NULL, 0);
}

static uint64_t io_config(void *arg, uint64_t term, const uint8_t *c, size_t len)
{
    return append_local(arg, term, WAL_REC_CONFIG, c, len);
}

static void io_truncate(void *arg, uint64_t keep)
{
    mnode *x = arg;
    x->trunc_keep = keep;
    x->trunc_pending = 1;
}

static void io_read(void *arg, const char *to, uint64_t from, uint64_t upto, uint64_t max)
{
    mnode *x = arg;
    assert_true(x->read_pending < MAXN);
    int k = x->read_pending++;
    snprintf(x->reads[k].to, sizeof x->reads[k].to, "%s", to);
    x->reads[k].from = from;
    x->reads[k].upto = upto;
    x->reads[k].max = max;
}

static void io_pin(void *arg, uint64_t replicas, uint64_t keep)
{
    (void)arg;
    (void)replicas;
    (void)keep;
}

static void io_apply(void *arg, uint64_t upto)
{
    mnode *x = arg;
    x->apply_upto = upto;
    x->apply_pending = 1;
}

static int io_snap_latest(void *arg, uint64_t max_lsn, uint64_t *lsn, uint64_t *term,
                          uint64_t *size)
{
    (void)arg;
    (void)max_lsn;
    (void)lsn;
    (void)term;
    (void)size;
    return -1;
}

static void io_snap_take(void *arg)
{
    (void)arg;
}

static void io_snap_read(void *arg, const char *to, uint64_t lsn, uint64_t off, uint64_t max)
{
    (void)arg;
    (void)to;
    (void)lsn;
    (void)off;
    (void)max;
}

static void io_snap_write(void *arg, uint64_t lsn, uint64_t term, uint64_t off, const uint8_t *p,
                          size_t n, int last)
{
    (void)arg;
    (void)lsn;
    (void)term;
    (void)off;
    (void)p;
    (void)n;
    (void)last;
}

static void io_role(void *arg)
{
    (void)arg;
    W.roles_changed++;
}

static void io_commit(void *arg)
{
    (void)arg;
}

static void io_cfg(void *arg, const rc_config *c)
{
    (void)arg;
    (void)c;
}

static const rc_io mio = {
    .now_ms = io_now, .random = io_random, .log = io_log, .send = io_send,
    .send_backlog = io_backlog, .forget = io_forget, .meta_store = io_meta_store,
    .log_first = io_first, .log_last = io_last, .log_durable = io_durable,
    .log_term_at = io_term_at, .log_history = io_history, .rec_decode = io_rec_decode,
    .log_append = io_append, .log_noop = io_noop, .log_config = io_config,
    .log_truncate = io_truncate, .log_read = io_read, .log_pin = io_pin, .apply = io_apply,
    .snap_latest = io_snap_latest, .snap_take = io_snap_take, .snap_read = io_snap_read,
    .snap_write = io_snap_write, .role_changed = io_role, .commit_advanced = io_commit,
    .config_changed = io_cfg,
};

static rc_settings settings(void)
{
    rc_settings s;
    rc_settings_defaults(&s);
    s.max_batch = 1; /* one record per Append: the test delivers them one by one */
    return s;
}

static void start_node(mnode *x)
{
    rc_io io = mio;
    io.arg = x;
    rc_settings s = settings();
    x->core = rcore_new(&io, &s, x->id, x->addr, x->caddr, &x->meta);
    rcore_set_applied(x->core, x->applied);
    x->down = 0;
}

/* Node i's id, addresses, random seed and clock. */
static void node_identity(mnode *x, int i)
{
    x->idx = i;
    snprintf(x->id, sizeof x->id, "node%d", i);
    snprintf(x->addr, sizeof x->addr, "p%d:1", i);
    snprintf(x->caddr, sizeof x->caddr, "c%d:1", i);
    x->rng = 1000 + (uint64_t)i * 7919;
    x->now = 100000;
    x->auto_sync = 1;
}

/* n voters, all members from the start (a config as the meta file holds it). */
static void world_init(int n)
{
    for (int i = 0; i < W.n; i++)
        rcore_free(W.nd[i].core);
    for (int i = 0; i < W.nq; i++)
        free(W.q[i].buf);
    memset(&W, 0, sizeof W);
    W.n = n;
    rc_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.cluster_id, sizeof c.cluster_id, "test-cluster");
    c.n = n;
    for (int i = 0; i < n; i++) {
        mnode *x = &W.nd[i];
        node_identity(x, i);
        snprintf(c.m[i].id, sizeof c.m[i].id, "%s", x->id);
        snprintf(c.m[i].peer_addr, sizeof c.m[i].peer_addr, "%s", x->addr);
        snprintf(c.m[i].client_addr, sizeof c.m[i].client_addr, "%s", x->caddr);
        c.m[i].voter = 1;
    }
    for (int i = 0; i < n; i++) {
        W.nd[i].meta.config = c;
        start_node(&W.nd[i]);
    }
}

static void world_free(void)
{
    world_init(0);
}

/* Complete the disk work node i has pending (meta, sync, apply,
 * truncation, reads). */
static int settle_node(int i)
{
    int did = 0;
    {
        mnode *x = &W.nd[i];
        if (x->down)
            return 0;
        if (x->meta_pending) {
            x->meta_pending = 0;
            x->meta = x->pmeta;
            rcore_meta_done(x->core, x->pseq, 0);
            did = 1;
        }
        if (x->auto_sync && x->durable < last_lsn(x)) {
            x->durable = last_lsn(x);
            rcore_on_durable(x->core);
            did = 1;
        }
        if (x->trunc_pending) {
            x->trunc_pending = 0;
            while (x->n && x->log[x->n - 1].lsn > x->trunc_keep)
                x->n--;
            if (x->durable > x->trunc_keep)
                x->durable = x->trunc_keep;
            if (x->applied > x->trunc_keep)
                x->applied = x->trunc_keep;
            rcore_truncate_done(x->core, 0);
            did = 1;
        }
        if (x->apply_pending) {
            x->apply_pending = 0;
            uint64_t up = x->apply_upto < last_lsn(x) ? x->apply_upto : last_lsn(x);
            if (up > x->applied)
                x->applied = up;
            rcore_apply_done(x->core, x->applied, 0);
            did = 1;
        }
        if (x->read_pending) {
            /* The oldest read completes. */
            char to[RC_ID_LEN];
            uint64_t from = x->reads[0].from, upto = x->reads[0].upto, max = x->reads[0].max;
            snprintf(to, sizeof to, "%s", x->reads[0].to);
            memmove(x->reads, x->reads + 1, (size_t)(x->read_pending - 1) * sizeof x->reads[0]);
            x->read_pending--;
            uint64_t count = 0;
            uint8_t buf[8192];
            size_t len = 0;
            for (uint64_t l = from; l <= upto && l <= last_lsn(x); l++) {
                mentry *e = &x->log[l - 1];
                if ((count && len + e->len > max) || len + e->len > sizeof buf)
                    break;
                memcpy(buf + len, e->rec, e->len);
                len += e->len;
                count++;
            }
            rcore_read_done(x->core, to, 0, buf, len, count);
            rcore_flush(x->core);
            did = 1;
        }
    }
    return did;
}

static int settle_disks(void)
{
    int did = 0;
    for (int i = 0; i < W.n; i++)
        did |= settle_node(i);
    return did;
}

static int deliver_one(int from, int to);
static void drop_all(void);

static void tick(int i)
{
    rcore_tick(W.nd[i].core);
    rcore_flush(W.nd[i].core);
}

/* Every clock forward by ms, nobody ticked: timeouts are due. */
static void clocks_forward(uint64_t ms)
{
    for (int i = 0; i < W.n; i++)
        W.nd[i].now += ms;
}

/* Node i campaigns and wins with the nodes it can reach; stops the moment
 * it leads, before any of its Appends is delivered (they are dropped).
 * Other nodes only answer (they are never ticked meanwhile). */
static void win_quietly(int i)
{
    char why[128];
    clocks_forward(2100);
    tick(i); /* a stale leader steps down (CheckQuorum) */
    drop_all();
    assert_int_equal(rcore_role(W.nd[i].core) == RC_LEADER, 0);
    assert_int_equal(rcore_campaign(W.nd[i].core, why, sizeof why), 0);
    for (int k = 0; k < 200 && rcore_role(W.nd[i].core) != RC_LEADER; k++) {
        W.nd[i].now += 10;
        tick(i);
        for (int j = 0; j < 50 && rcore_role(W.nd[i].core) != RC_LEADER; j++) {
            int did = settle_disks();
            did |= deliver_one(-1, -1) != 0;
            if (!did)
                break;
        }
    }
    if (rcore_role(W.nd[i].core) != RC_LEADER)
        fail_msg("node %d did not win", i);
    settle_node(i);
}

/* Deliver the first queued message from `from` to `to` (-1: any). Returns
 * its type or 0 if none. Cut links drop what they carry. */
static int deliver_one(int from, int to)
{
    for (int i = 0; i < W.nq; i++) {
        msg m = W.q[i];
        if ((from >= 0 && m.from != from) || (to >= 0 && m.to != to))
            continue;
        memmove(W.q + i, W.q + i + 1, (size_t)(W.nq - i - 1) * sizeof *W.q);
        W.nq--;
        int type = m.type;
        if (!W.cut[m.from][m.to] && !W.nd[m.to].down) {
            Kv__PeerMessage *pm = kv__peer_message__unpack(NULL, m.len, m.buf);
            assert_non_null(pm);
            rcore_recv(W.nd[m.to].core, W.nd[m.from].id, pm);
            kv__peer_message__free_unpacked(pm, NULL);
            rcore_flush(W.nd[m.to].core);
        }
        free(m.buf);
        return type;
    }
    return 0;
}

/* Deliver messages and finish disk work until nothing moves. */
static void settle(void)
{
    for (int round = 0; round < 10000; round++) {
        int did = settle_disks();
        if (deliver_one(-1, -1))
            did = 1;
        if (!did)
            return;
    }
    fail_msg("the world did not settle");
}

/* Drop everything queued. */
static void drop_all(void)
{
    for (int i = 0; i < W.nq; i++)
        free(W.q[i].buf);
    W.nq = 0;
}

/* Move every clock by ms in 10 ms ticks, settling in between. */
static void advance(uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 10) {
        for (int i = 0; i < W.n; i++) {
            if (W.nd[i].down)
                continue;
            W.nd[i].now += 10;
            rcore_tick(W.nd[i].core);
            rcore_flush(W.nd[i].core);
        }
        settle();
    }
}

static void isolate(int i, int on)
{
    for (int j = 0; j < W.n; j++)
        if (j != i)
            W.cut[i][j] = W.cut[j][i] = on;
}

static int leader(void)
{
    int best = -1;
    for (int i = 0; i < W.n; i++)
        if (!W.nd[i].down && rcore_role(W.nd[i].core) == RC_LEADER &&
            (best < 0 || rcore_term(W.nd[i].core) > rcore_term(W.nd[best].core)))
            best = i;
    return best;
}

/* Make node i campaign and win with the nodes it can reach. */
static void elect(int i)
{
    char why[128];
    advance(2100); /* everyone's election timeout has passed */
    if (leader() != i) {
        assert_int_equal(rcore_campaign(W.nd[i].core, why, sizeof why), 0);
        advance(200);
    }
    if (leader() != i || rcore_role(W.nd[i].core) != RC_LEADER)
        fail_msg("node %d did not win (leader %d)", i, leader());
}

static uint64_t write_op(int i)
{
    mnode *x = &W.nd[i];
    uint64_t op = ++W.next_op;
    return append_local(x, rcore_term(x->core), WAL_REC_COMMANDS, &op, 8);
}

/* Crash: everything not on "disk" is lost; the core restarts from the
 * meta file. */
static void crash_restart(int i)
{
    mnode *x = &W.nd[i];
    rcore_free(x->core);
    x->meta_pending = 0;
    x->apply_pending = x->trunc_pending = x->read_pending = 0;
    while (x->n && x->log[x->n - 1].lsn > x->durable)
        x->n--;
    start_node(x);
}

/* ---- Tests ---- */

/* Figure 8 of the Raft paper, on three nodes. Node 0 leads and logs e at
 * LSN i alone (cut off). Node 1 leads a later term and logs its no-op at
 * LSN i alone. Node 0 leads again, in a later term still, with node 2's
 * vote and sends e to node 2, which stores it: e is on a majority, but of
 * an older term, and node 0's own no-op has reached nobody. Counting
 * replicas must not commit e: node 0 is then cut off, node 1 wins with node
 * 2's vote and overwrites LSN i. Returns 1 if node 0 reported e committed
 * (the divergence the rule prevents). */
static int figure8(void)
{
    world_init(3);
    elect(0);
    write_op(0);
    advance(300);
    uint64_t i = last_lsn(&W.nd[0]) + 1;
    assert_int_equal(last_lsn(&W.nd[2]), i - 1);
    /* Node 0 logs e at i alone. */
    isolate(0, 1);
    assert_int_equal(write_op(0), i);
    drop_all();
    /* Node 1 wins with node 2 and is cut off at once: its no-op stays at i
     * on node 1 only. */
    win_quietly(1);
    drop_all();
    assert_int_equal(last_lsn(&W.nd[1]), i);
    assert_true(W.nd[1].log[i - 1].term > W.nd[0].log[i - 1].term);
    isolate(1, 1);
    /* Node 0 wins again, with node 2. */
    isolate(0, 0);
    W.cut[0][1] = W.cut[1][0] = 1;
    win_quietly(0);
    assert_int_equal(last_lsn(&W.nd[2]), i - 1);
    /* Node 0 probes node 2, learns where its log ends and sends e (one
     * record per message); the no-op after it is never delivered. */
    for (int k = 0; k < 100 && last_lsn(&W.nd[2]) < i; k++) {
        settle_node(0);
        settle_node(2);
        if (!deliver_one(0, 2) && !deliver_one(2, 0)) {
            W.nd[0].now += 10;
            tick(0);
        }
    }
    assert_int_equal(last_lsn(&W.nd[2]), i);
    assert_int_equal(W.nd[2].log[i - 1].term, W.nd[0].log[i - 1].term);
    /* Node 2 makes e durable and acks; only that reaches node 0. */
    settle_node(2);
    while (deliver_one(2, 0))
        settle_node(0);
    int committed_e = rcore_commit(W.nd[0].core) >= i;
    /* Node 0 is cut off; node 1 comes back and wins with node 2. */
    drop_all();
    isolate(0, 1);
    isolate(1, 0);
    W.cut[0][1] = W.cut[1][0] = 1;
    win_quietly(1);
    advance(500);
    /* Node 1's entry now sits at i on a majority and is committed. */
    assert_true(rcore_commit(W.nd[1].core) >= i);
    assert_int_equal(W.nd[2].log[i - 1].term, W.nd[1].log[i - 1].term);
    return committed_e;
}

static void test_figure8_older_terms_never_commit_by_counting(void **state)
{
    (void)state;
    assert_int_equal(figure8(), 0);
    world_free();
}

/* The same schedule against a core that counts older-term entries: it
 * reports e committed, which then is overwritten — the bug the rule and
 * this scenario are about. */
static void test_figure8_catches_the_counting_mutation(void **state)
{
    (void)state;
    rc_mutations = RC_MUT_NO_TERM_CHECK;
    int bad = figure8();
    rc_mutations = 0;
    world_free();
    assert_int_equal(bad, 1);
}

/* Nodes 0 and 1 both pass their PreVote and stand for the same term T.
 * Node 2 votes for node 0 (the meta file stores it, the grant leaves, node
 * 0 leads T), crashes and comes back; node 1's vote request for T, held up
 * in the network, arrives only now. The vote on disk makes node 2 refuse:
 * one leader for T. Returns the number of leaders of term T. */
static int double_vote(void)
{
    world_init(3);
    W.cut[0][1] = W.cut[1][0] = 1;
    clocks_forward(2100);
    char why[128];
    assert_int_equal(rcore_campaign(W.nd[0].core, why, sizeof why), 0);
    assert_int_equal(rcore_campaign(W.nd[1].core, why, sizeof why), 0);
    tick(0);
    tick(1);
    /* Both PreVotes reach node 2 (still in the old term) and are granted. */
    deliver_one(0, 2);
    deliver_one(1, 2);
    deliver_one(2, 0);
    deliver_one(2, 1);
    /* Both store their new term and self-vote and ask for real votes. */
    settle_node(0);
    settle_node(1);
    assert_int_equal(rcore_role(W.nd[0].core), RC_CANDIDATE);
    assert_int_equal(rcore_role(W.nd[1].core), RC_CANDIDATE);
    uint64_t t = rcore_term(W.nd[0].core);
    assert_int_equal(rcore_term(W.nd[1].core), t);
    /* Node 0's request first: node 2 votes, stores, answers; node 0 leads. */
    assert_int_equal(deliver_one(0, 2), KV__PEER_MESSAGE__MSG_VOTE);
    while (settle_node(2))
        ;
    while (deliver_one(2, 0))
        settle_node(0);
    int n0_leads = rcore_role(W.nd[0].core) == RC_LEADER && rcore_term(W.nd[0].core) == t;
    if (getenv("KV_TEST_VERBOSE"))
        printf("   node 0 leads term %" PRIu64 ": %d; node 2's meta: term %" PRIu64 " vote '%s'\n",
               t, n0_leads, W.nd[2].meta.term, W.nd[2].meta.voted_for);
    crash_restart(2);
    W.nd[2].now += 2100;
    W.cut[0][2] = W.cut[2][0] = 1;
    /* Node 1's request for T arrives at last. */
    for (int k = 0; k < 10; k++) {
        deliver_one(1, 2);
        settle_node(2);
        deliver_one(2, 1);
        settle_node(1);
    }
    int n1_leads = rcore_role(W.nd[1].core) == RC_LEADER && rcore_term(W.nd[1].core) == t;
    drop_all();
    return n0_leads + n1_leads;
}

static void test_a_vote_survives_a_crash(void **state)
{
    (void)state;
    assert_int_equal(double_vote(), 1);
    /* The scenario did what it says: node 0 led, node 2 held its vote. */
    assert_int_equal(rcore_role(W.nd[0].core), RC_LEADER);
    assert_string_equal(W.nd[2].meta.voted_for, "node0");
    world_free();
}

static void test_double_vote_catches_the_persistence_mutation(void **state)
{
    (void)state;
    rc_mutations = RC_MUT_NO_VOTE_PERSIST;
    int leaders = double_vote();
    rc_mutations = 0;
    world_free();
    assert_int_equal(leaders, 2);
}


/* A node cut off from a healthy leader comes back with its election timer
 * long expired: its PreVote is refused (the others hear the leader), so
 * nobody's term moves and the leader stays. */
static void test_prevote_keeps_a_returning_node_from_disrupting(void **state)
{
    (void)state;
    world_init(3);
    elect(0);
    uint64_t t = rcore_term(W.nd[0].core);
    isolate(2, 1);
    advance(5000); /* node 2 keeps asking, unheard */
    isolate(2, 0);
    advance(1000);
    assert_int_equal(leader(), 0);
    assert_int_equal(rcore_term(W.nd[0].core), t);
    assert_int_equal(rcore_term(W.nd[1].core), t);
    assert_int_equal(rcore_term(W.nd[2].core), t);
    rc_stats st;
    rcore_get_stats(W.nd[2].core, &st);
    assert_int_equal(st.elections_started, 0);
    assert_true(st.prevotes_started > 0);
    world_free();
}

/* A leader cut off from a majority steps down within an election timeout
 * (CheckQuorum), and its lease has run out before the others can elect. */
static void test_checkquorum_and_lease(void **state)
{
    (void)state;
    world_init(3);
    elect(0);
    advance(300);
    assert_true(rcore_lease_valid(W.nd[0].core));
    assert_true(rcore_lease_remaining_ms(W.nd[0].core) <= 900);
    isolate(0, 1);
    advance(900);
    assert_false(rcore_lease_valid(W.nd[0].core)); /* 90% of the timeout */
    advance(200);
    assert_int_equal(rcore_role(W.nd[0].core), RC_FOLLOWER);
    advance(2500);
    int l = leader();
    assert_true(l == 1 || l == 2);
    world_free();
}

/* A read outside the lease is confirmed by a heartbeat round that started
 * after it: rcore_read_round names that round. */
static void test_read_round_confirms_leadership(void **state)
{
    (void)state;
    world_init(3);
    elect(0);
    advance(100);
    uint64_t need = rcore_read_round(W.nd[0].core);
    assert_true(rcore_confirmed_round(W.nd[0].core) < need);
    tick(0); /* the round goes out at the next flush */
    settle();
    assert_true(rcore_confirmed_round(W.nd[0].core) >= need);
    /* Cut off, a new round is never confirmed. */
    isolate(0, 1);
    need = rcore_read_round(W.nd[0].core);
    tick(0);
    settle();
    assert_true(rcore_confirmed_round(W.nd[0].core) < need);
    world_free();
}

/* Commit needs a majority of voters; min_acks holds the ack point (when
 * clients are answered) until that many replicas have the entry, without
 * holding the commit point back. */
static void test_commit_quorum_and_min_acks(void **state)
{
    (void)state;
    world_init(3);
    elect(0);
    advance(200);
    W.cut[0][2] = W.cut[2][0] = 1;
    uint64_t a = write_op(0);
    advance(100);
    assert_true(rcore_commit(W.nd[0].core) >= a); /* node 0 + node 1 */
    assert_true(rcore_ack_point(W.nd[0].core) >= a);
    rcore_set_min_acks(W.nd[0].core, 2);
    uint64_t b = write_op(0);
    advance(300);
    assert_true(rcore_commit(W.nd[0].core) >= b);
    assert_true(rcore_ack_point(W.nd[0].core) < b); /* needs both replicas */
    W.cut[0][2] = W.cut[2][0] = 0;
    advance(300);
    assert_true(rcore_ack_point(W.nd[0].core) >= b);
    world_free();
}

/* The commit watermark is stored lazily: about every second by a member
 * with peers (a restart applies that much at once), rarely by a node alone
 * (it commits its whole log when it leads again after a restart); either
 * way never above what is committed. */
static void test_commit_watermark_store_interval(void **state)
{
    (void)state;
    for (int n = 1; n <= 3; n += 2) {
        world_init(n);
        elect(0);
        advance(2000);
        uint64_t stored0 = W.nd[0].meta.commit;
        uint64_t a = write_op(0);
        advance(3000);
        assert_true(rcore_commit(W.nd[0].core) >= a);
        if (n == 1)
            assert_int_equal(W.nd[0].meta.commit, stored0);
        else
            assert_true(W.nd[0].meta.commit >= a);
        assert_true(W.nd[0].meta.commit <= rcore_commit(W.nd[0].core));
        world_free();
    }
}

/* A leadership transfer hands over to the chosen voter, which wins at once;
 * writes pause meanwhile and the old leader gives up its lease. */
static void test_transfer(void **state)
{
    (void)state;
    world_init(3);
    elect(0);
    advance(300);
    write_op(0);
    char why[128];
    assert_int_equal(rcore_transfer(W.nd[0].core, "node2", 2000, why, sizeof why), 0);
    assert_false(rcore_writable(W.nd[0].core));
    /* While it is under way: the same target again is fine (REPLICAOF
     * racing the hand-over), another one or "any" is refused. */
    assert_int_equal(rcore_transfer(W.nd[0].core, "node2", 2000, why, sizeof why), 0);
    assert_int_equal(rcore_transfer(W.nd[0].core, "node1", 2000, why, sizeof why), -1);
    assert_string_equal(why, "a leadership transfer is already in progress");
    assert_int_equal(rcore_transfer(W.nd[0].core, NULL, 2000, why, sizeof why), -1);
    advance(100);
    assert_int_equal(leader(), 2);
    assert_false(rcore_lease_valid(W.nd[0].core));
    assert_int_equal(rcore_transfer(W.nd[1].core, "node0", 2000, why, sizeof why), -1);
    world_free();
}

/* Removing a voter is refused while the voters left could not commit
 * (node 2 cut off: node 0 alone of the two left), and allowed once node 2
 * is back in touch. */
static void test_remove_needs_a_committing_quorum(void **state)
{
    (void)state;
    world_init(3);
    elect(0);
    write_op(0);
    advance(300);
    isolate(2, 1);
    advance(2500);
    assert_int_equal(leader(), 0);
    char why[200];
    assert_int_equal(rcore_remove(W.nd[0].core, "node1", why, sizeof why), -1);
    assert_non_null(strstr(why, "fewer than a quorum"));
    assert_int_equal(rc_config_voters(rcore_config(W.nd[0].core)), 3);
    isolate(2, 0);
    advance(500);
    assert_int_equal(rcore_remove(W.nd[0].core, "node1", why, sizeof why), 0);
    advance(300);
    assert_int_equal(rc_config_voters(rcore_config(W.nd[0].core)), 2);
    world_free();
}

/* Each node alone in a cluster of its own (as nodes started alone). */
static void world_init_alone(int n)
{
    world_init(0);
    W.n = n;
    for (int i = 0; i < n; i++) {
        mnode *x = &W.nd[i];
        node_identity(x, i);
        rc_config *c = &x->meta.config;
        snprintf(c->cluster_id, sizeof c->cluster_id, "cluster-%d", i);
        c->n = 1;
        snprintf(c->m[0].id, sizeof c->m[0].id, "%s", x->id);
        snprintf(c->m[0].peer_addr, sizeof c->m[0].peer_addr, "%s", x->addr);
        snprintf(c->m[0].client_addr, sizeof c->m[0].client_addr, "%s", x->caddr);
        c->m[0].voter = 1;
        start_node(x);
    }
}

static int same_log(int a, int b)
{
    if (W.nd[a].n != W.nd[b].n)
        return 0;
    for (size_t k = 0; k < W.nd[a].n; k++)
        if (W.nd[a].log[k].lsn != W.nd[b].log[k].lsn ||
            W.nd[a].log[k].term != W.nd[b].log[k].term ||
            W.nd[a].log[k].len != W.nd[b].log[k].len ||
            memcmp(W.nd[a].log[k].rec, W.nd[b].log[k].rec, W.nd[a].log[k].len) != 0)
            return 0;
    return 1;
}

/* REPLICAOF at run time on a node alone in its cluster (rcore_leave). Node
 * 1 leads a cluster of its own, in a higher term than node 0's, with
 * entries of its own. Cut off from node 0 it leaves: no writes, no
 * election however long it waits, its log untouched; rcore_stay makes it
 * lead its cluster again with that log. Then it leaves for real: node 0
 * takes it in, node 1 drops its log and its old term, node 0 is not
 * deposed by that term, and node 1 ends a voter of node 0's cluster with
 * node 0's log. A member of a larger cluster cannot leave. */
static void test_leave_own_cluster_to_join(void **state)
{
    (void)state;
    world_init_alone(2);
    advance(2100);
    assert_int_equal(rcore_role(W.nd[0].core), RC_LEADER);
    assert_int_equal(rcore_role(W.nd[1].core), RC_LEADER);
    for (int k = 0; k < 3; k++) { /* node 1's terms run ahead */
        crash_restart(1);
        advance(2100);
        assert_int_equal(rcore_role(W.nd[1].core), RC_LEADER);
    }
    write_op(0);
    write_op(0);
    write_op(1);
    advance(100);
    uint64_t t0 = rcore_term(W.nd[0].core), t1 = rcore_term(W.nd[1].core);
    assert_true(t1 > t0);
    size_t own = W.nd[1].n;

    char why[128];
    isolate(1, 1);
    assert_int_equal(rcore_leave(W.nd[1].core, "p0:1", 0, why, sizeof why), 0);
    assert_true(rcore_leaving(W.nd[1].core));
    assert_false(rcore_writable(W.nd[1].core));
    assert_int_equal(rcore_role(W.nd[1].core), RC_FOLLOWER);
    advance(5000);
    assert_int_equal(rcore_role(W.nd[1].core), RC_FOLLOWER);
    assert_int_equal(rcore_term(W.nd[1].core), t1);
    assert_int_equal(W.nd[1].n, own);
    rcore_stay(W.nd[1].core);
    assert_false(rcore_leaving(W.nd[1].core));
    advance(300);
    assert_int_equal(rcore_role(W.nd[1].core), RC_LEADER);
    assert_true(rcore_writable(W.nd[1].core));
    assert_int_equal(W.nd[1].n, own + 1); /* its new term's no-op */

    isolate(1, 0);
    t1 = rcore_term(W.nd[1].core);
    assert_int_equal(rcore_leave(W.nd[1].core, "p0:1", 0, why, sizeof why), 0);
    advance(3000);
    assert_int_equal(leader(), 0);
    assert_int_equal(rcore_term(W.nd[0].core), t0);
    assert_int_equal(rcore_role(W.nd[1].core), RC_FOLLOWER);
    assert_false(rcore_leaving(W.nd[1].core));
    assert_int_equal(rcore_term(W.nd[1].core), t0);
    write_op(0);
    advance(300);
    assert_true(same_log(0, 1));
    const rc_config *c = rcore_config(W.nd[0].core);
    assert_int_equal(c->n, 2);
    assert_int_equal(rc_config_voters(c), 2);
    assert_string_equal(rcore_config(W.nd[1].core)->cluster_id, "cluster-0");
    assert_true(rcore_commit(W.nd[1].core) >= W.nd[0].log[W.nd[0].n - 1].lsn);

    /* Now a member of a cluster of two: it cannot leave. */
    assert_int_equal(rcore_leave(W.nd[1].core, "p9:1", 0, why, sizeof why), -1);
    assert_string_equal(why, "this node is a member of a cluster of 2 nodes");
    world_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_figure8_older_terms_never_commit_by_counting),
        cmocka_unit_test(test_figure8_catches_the_counting_mutation),
        cmocka_unit_test(test_a_vote_survives_a_crash),
        cmocka_unit_test(test_double_vote_catches_the_persistence_mutation),
        cmocka_unit_test(test_prevote_keeps_a_returning_node_from_disrupting),
        cmocka_unit_test(test_checkquorum_and_lease),
        cmocka_unit_test(test_read_round_confirms_leadership),
        cmocka_unit_test(test_commit_quorum_and_min_acks),
        cmocka_unit_test(test_commit_watermark_store_interval),
        cmocka_unit_test(test_transfer),
        cmocka_unit_test(test_leave_own_cluster_to_join),
        cmocka_unit_test(test_remove_needs_a_committing_quorum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
