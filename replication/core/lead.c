/* lead.c — the leader: heartbeat rounds and the lease, streaming entries
 * to each follower (states in core_int.h), commit, snapshots for followers
 * whose entries are compacted away, membership changes (joins, learner
 * promotion, removal), CheckQuorum and leadership transfer. */
#include "core_int.h"

#include "crc32c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t term_of(void *arg, uint64_t lsn)
{
    rcore *r = arg;
    if (rc_mutations & RC_MUT_NO_TERM_CHECK)
        return r->term;
    return rc_term_at(r, lsn);
}

progress *lead_progress(rcore *r, const char *id)
{
    int i = rc_config_find(&r->cfg, id);
    return i < 0 || i == r->self_idx ? NULL : &r->pr[i];
}

static const rc_member *member_of(rcore *r, const progress *p)
{
    return &r->cfg.m[p - r->pr];
}

static void live_reset(progress *p)
{
    p->live_len = 0;
    p->live_first = 0;
    p->live_count = 0;
}

static void progress_init(rcore *r, progress *p, const char *id)
{
    free(p->live);
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    p->state = PR_PROBE;
    p->next = rc_last(r, NULL) + 1;
}

void lead_free(rcore *r)
{
    for (int i = 0; i < RC_MAX_MEMBERS; i++) {
        free(r->pr[i].live);
        r->pr[i].live = NULL;
    }
}

/* The config changed: keep each member's progress under its new index. */
void lead_remap(rcore *r, const rc_config *old)
{
    progress saved[RC_MAX_MEMBERS];
    memcpy(saved, r->pr, sizeof saved);
    memset(r->pr, 0, sizeof r->pr);
    int used[RC_MAX_MEMBERS] = {0};
    for (int i = 0; i < r->cfg.n; i++) {
        int j = rc_config_find(old, r->cfg.m[i].id);
        if (j >= 0) {
            r->pr[i] = saved[j];
            used[j] = 1;
        } else {
            progress_init(r, &r->pr[i], r->cfg.m[i].id);
        }
    }
    for (int j = 0; j < RC_MAX_MEMBERS; j++)
        if (!used[j])
            free(saved[j].live);
}

/* ------------------------------------------------------------------------ */
/* Becoming leader, stepping down                                            */
/* ------------------------------------------------------------------------ */

void lead_become(rcore *r)
{
    uint64_t now = rc_now(r);
    r->role = RC_LEADER;
    r->leader_known = 1;
    snprintf(r->leader_id, sizeof r->leader_id, "%s", r->id);
    r->leader = r->cfg.m[r->self_idx];
    r->leader_since_ms = now;
    r->st.leader_since_ms = now;
    r->round = 0;
    r->confirmed_round = 0;
    r->lease_start_ms = 0;
    r->leader_ready = 0;
    r->transfer_to[0] = '\0';
    r->lease_disabled = 0;
    r->cfg_change_pending = r->nhist > 0; /* an uncommitted config is in the log */
    for (int i = 0; i < r->cfg.n; i++)
        if (i != r->self_idx)
            progress_init(r, &r->pr[i], r->cfg.m[i].id);
    r->noop_lsn = 0;
    uint64_t last = rc_last(r, NULL);
    rc_log(r, RC_NOTICE, "leader of term %" PRIu64 " (%d voters)%s", r->term,
           rc_config_voters(&r->cfg),
           r->applied < last ? ": applying its log before taking writes" : "");
    /* The keyspace must hold the whole log before the no-op (and then
     * the writes) of this term go after it. */
    if (r->applied >= last)
        lead_append_noop(r);
    else
        rc_maybe_apply(r);
    if (r->role != RC_LEADER)
        return;
    r->round_wanted = 1;
    lead_flush(r);
    lead_update_commit(r);
    rc_notify_role(r);
}

/* The new leader's first entry in its term (its keyspace holds its log). */
void lead_append_noop(rcore *r)
{
    r->noop_lsn = r->io.log_noop(r->io.arg, r->term);
    if (!r->noop_lsn) {
        rc_log(r, RC_WARNING, "cannot log the no-op of term %" PRIu64 ": not leading", r->term);
        rc_become_follower(r, "the log refused the no-op");
        return;
    }
    r->applied = r->noop_lsn;
    r->leader_ready = 1;
}

void lead_step_down(rcore *r)
{
    for (int i = 0; i < r->cfg.n; i++) {
        live_reset(&r->pr[i]);
        r->pr[i].live_from = 0;
    }
    if (r->transfer_to[0])
        rc_log(r, RC_NOTICE, "hand-over to %.12s abandoned: stepping down", r->transfer_to);
    r->transfer_to[0] = '\0';
    r->leader_ready = 0;
    r->confirmed_round = 0;
    r->leader_known = 0;
    r->leader_id[0] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                   */
/* ------------------------------------------------------------------------ */

static void send_append(rcore *r, progress *p, uint64_t prev, const uint8_t *recs, size_t len)
{
    const rc_member *m = member_of(r, p);
    Kv__Append a = KV__APPEND__INIT;
    a.term = r->term;
    a.leader_id = r->id;
    a.cluster_id = r->cfg.cluster_id;
    a.prev_lsn = prev;
    a.prev_term = prev ? rc_term_at(r, prev) : 0;
    a.commit_lsn = r->commit;
    a.records.data = (uint8_t *)recs;
    a.records.len = len;
    a.round = r->round;
    a.leader_client_addr = r->client_addr;
    a.leader_peer_addr = r->peer_addr;
    a.voters_heard = (uint32_t)lead_voters_heard(r);
    Kv__PeerMessage msg = KV__PEER_MESSAGE__INIT;
    msg.msg_case = KV__PEER_MESSAGE__MSG_APPEND;
    msg.append = &a;
    rc_send(r, m->id, m->peer_addr, &msg);
}

static void to_snapshot(rcore *r, progress *p, const char *why)
{
    if (p->state == PR_SNAPSHOT)
        return;
    rc_log(r, RC_NOTICE, "follower %.12s needs a snapshot: %s", p->id, why);
    p->state = PR_SNAPSHOT;
    p->snap_lsn = 0;
    p->snap_io = 0;
    p->snap_wait = 0;
    live_reset(p);
    p->live_from = 0;
}

/* A heartbeat for p: carries the round and the commit point; in PROBE it
 * is the probe itself. */
static void heartbeat(rcore *r, progress *p)
{
    if (p->state == PR_SNAPSHOT) {
        send_append(r, p, 0, NULL, 0); /* prev 0 always matches: contact only */
        return;
    }
    uint64_t prev = p->next - 1;
    if (prev && !rc_term_at(r, prev) && prev != rc_last(r, NULL)) {
        to_snapshot(r, p, "the entry before what it needs is compacted away");
        return;
    }
    send_append(r, p, prev, NULL, 0);
    if (p->state == PR_PROBE)
        p->probe_outstanding = 1;
}

static void start_round(rcore *r)
{
    uint64_t now = rc_now(r);
    r->round++;
    r->round_sent_ms[r->round % RC_ROUNDS] = now;
    r->last_heartbeat_ms = now;
    r->round_wanted = 0;
    for (int i = 0; i < r->cfg.n; i++)
        if (i != r->self_idx)
            heartbeat(r, &r->pr[i]);
    /* A single voter confirms its own rounds. */
    if (rc_config_voters(&r->cfg) == 1 && rc_is_voter(r)) {
        r->confirmed_round = r->round;
        r->lease_start_ms = now;
        /* Replies held for this round (a read that outlasted the lease)
         * are released now, as update_confirmed does for a quorum. */
        r->io.commit_advanced(r->io.arg);
    }
}

/* Send what p is owed in STREAM: the live records once it has caught up,
 * else a read of the WAL files. */
static void stream_step(rcore *r, progress *p)
{
    uint64_t last = rc_last(r, NULL);
    if (p->reading || r->io.send_backlog(r->io.arg, p->id) > r->set.send_high)
        return;
    if (p->next > last) {
        /* Caught up: collect appends from here on. */
        if (!p->live_from) {
            p->live_from = p->next;
            live_reset(p);
        }
        return;
    }
    if (p->live_count && p->live_first == p->next) {
        send_append(r, p, p->next - 1, p->live, p->live_len);
        p->next += p->live_count;
        live_reset(p);
        return;
    }
    /* Behind: read from disk up to where live collection starts (it
     * starts now if it has not). */
    if (!p->live_from) {
        p->live_from = last + 1;
        live_reset(p);
    }
    uint64_t upto = p->live_from - 1;
    if (p->live_count && p->live_first - 1 < upto)
        upto = p->live_first - 1;
    if (p->next > upto)
        return;
    if (p->next < r->io.log_first(r->io.arg)) {
        to_snapshot(r, p, "its next entry is compacted away");
        return;
    }
    p->reading = 1;
    p->read_from = p->next;
    r->io.log_read(r->io.arg, p->id, p->next, upto, r->set.max_batch);
}

void lead_on_read_done(rcore *r, const char *to, int rc, const uint8_t *recs, size_t len,
                       uint64_t count)
{
    if (r->role != RC_LEADER)
        return;
    progress *p = lead_progress(r, to);
    if (!p || !p->reading)
        return;
    p->reading = 0;
    if (p->state != PR_STREAM || p->read_from != p->next)
        return; /* the plan changed while reading */
    if (rc < 0) {
        to_snapshot(r, p, "reading its entries failed (compacted away?)");
        return;
    }
    if (!count)
        return; /* not written yet: the next flush asks again */
    send_append(r, p, p->next - 1, recs, len);
    p->next += count;
}

static void snapshot_step(rcore *r, progress *p);

void lead_flush(rcore *r)
{
    if (r->round_wanted)
        start_round(r);
    for (int i = 0; i < r->cfg.n; i++) {
        if (i == r->self_idx)
            continue;
        progress *p = &r->pr[i];
        if (p->state == PR_STREAM)
            stream_step(r, p);
        else if (p->state == PR_SNAPSHOT)
            snapshot_step(r, p);
    }
}

void lead_on_append(rcore *r, const uint8_t *rec, size_t len, uint64_t lsn)
{
    if (r->leader_ready && lsn > r->applied)
        r->applied = lsn; /* the leader applies as it executes */
    for (int i = 0; i < r->cfg.n; i++) {
        if (i == r->self_idx)
            continue;
        progress *p = &r->pr[i];
        if (p->state != PR_STREAM || !p->live_from || lsn < p->live_from)
            continue;
        if (p->live_count ? lsn != p->live_first + p->live_count : lsn != p->live_from) {
            p->live_from = 0; /* a gap: read from the files instead */
            live_reset(p);
            continue;
        }
        if (p->live_len + len > r->set.live_max) {
            /* Too far behind to keep in memory: back to the files. */
            p->live_from = 0;
            live_reset(p);
            continue;
        }
        if (p->live_len + len > p->live_cap) {
            size_t cap = p->live_cap ? p->live_cap : 65536;
            while (cap < p->live_len + len)
                cap *= 2;
            p->live = realloc(p->live, cap);
            if (!p->live)
                abort();
            p->live_cap = cap;
        }
        memcpy(p->live + p->live_len, rec, len);
        p->live_len += len;
        if (!p->live_count)
            p->live_first = lsn;
        p->live_count++;
    }
}

/* ------------------------------------------------------------------------ */
/* Acks, commit, lease                                                       */
/* ------------------------------------------------------------------------ */

void lead_update_commit(rcore *r)
{
    if (r->role != RC_LEADER)
        return;
    uint64_t match[RC_MAX_MEMBERS];
    int n = 0;
    for (int i = 0; i < r->cfg.n; i++) {
        if (!r->cfg.m[i].voter)
            continue;
        match[n++] = i == r->self_idx ? r->io.log_durable(r->io.arg) : r->pr[i].match;
    }
    int q = rc_commit_quorum(n);
    uint64_t c = rc_commit_point(match, n, q, r->commit, r->term, term_of, r);
    rc_set_commit(r, c);
}

static void update_confirmed(rcore *r)
{
    int voters = rc_config_voters(&r->cfg);
    int q = rc_election_quorum(voters);
    uint64_t best = r->confirmed_round;
    for (uint64_t round = r->round; round > r->confirmed_round && r->round - round < RC_ROUNDS;
         round--) {
        int n = rc_is_voter(r);
        for (int i = 0; i < r->cfg.n; i++)
            if (i != r->self_idx && r->cfg.m[i].voter && r->pr[i].acked_round >= round)
                n++;
        if (n >= q) {
            best = round;
            break;
        }
    }
    if (best > r->confirmed_round) {
        r->confirmed_round = best;
        r->lease_start_ms = r->round_sent_ms[best % RC_ROUNDS];
        r->io.commit_advanced(r->io.arg);
    }
}

void lead_on_durable(rcore *r)
{
    lead_update_commit(r);
}

static const rc_term_start *hint_history(const Kv__AppendResult *a, rc_term_start *buf,
                                         size_t *n)
{
    size_t k = a->n_history < 256 ? a->n_history : 256;
    for (size_t i = 0; i < k; i++) {
        buf[i].term = a->history[i]->term;
        buf[i].first_lsn = a->history[i]->first_lsn;
    }
    *n = k;
    return buf;
}

void lead_on_append_result(rcore *r, const char *from, const Kv__AppendResult *a)
{
    progress *p = lead_progress(r, from);
    if (!p)
        return;
    uint64_t now = rc_now(r);
    p->last_recv_ms = now;
    if (a->round > p->acked_round && a->round <= r->round)
        p->acked_round = a->round;
    int applied_more = a->applied_lsn > p->applied;
    p->applied = a->applied_lsn;
    if (a->transfer_to_me && !r->transfer_to[0] && r->cfg.m[p - r->pr].voter) {
        char why[128];
        rcore_transfer(r, from, 2 * r->set.election_ms, why, sizeof why);
    }
    if (a->success) {
        uint64_t last = rc_last(r, NULL);
        if (a->durable_lsn > p->match && a->durable_lsn <= last)
            p->match = a->durable_lsn;
        if (p->state == PR_PROBE) {
            p->state = PR_STREAM;
            p->probe_outstanding = 0;
            r->st.partial_syncs++;
            if (p->next < p->match + 1)
                p->next = p->match + 1;
        }
        update_confirmed(r);
        lead_update_commit(r);
        if (applied_more && r->role == RC_LEADER)
            r->io.commit_advanced(r->io.arg); /* a WAIT may be satisfied */
        return;
    }
    update_confirmed(r);
    if (p->state == PR_SNAPSHOT)
        return;
    if (a->busy) {
        /* It cannot take entries now (cutting its log, installing a
         * snapshot, a full disk): probe again with the next heartbeat
         * round, not at once, or a follower that stays busy is sent the
         * same entries in a tight loop. */
        p->state = PR_PROBE;
        p->probe_outstanding = 1;
        return;
    }
    /* A refusal of an Append at or below what it acknowledged is stale (a
     * delayed or duplicated answer): its log holds those entries. */
    if (p->match && a->rejected_prev <= p->match)
        return;
    /* Its log does not match at next - 1: find the common point from its
     * term history and continue (it cuts its divergent suffix when the
     * entries arrive) or send a snapshot. */
    rc_term_start hb[256];
    size_t nb;
    const rc_term_start *bh = hint_history(a, hb, &nb);
    size_t na;
    const rc_term_start *ah = r->io.log_history(r->io.arg, &na);
    uint64_t last = rc_last(r, NULL);
    uint64_t common = a->last_lsn ? rc_common_point(ah, na, last, bh, nb, a->last_lsn) : 0;
    uint64_t next;
    live_reset(p);
    p->live_from = 0;
    p->probe_outstanding = 0;
    if (p->match > common) {
        /* It lost entries it had acknowledged (its disk, or its data
         * directory replaced under the same node id). */
        rc_log(r, RC_WARNING, "follower %.12s lost acknowledged entries (it had LSN %" PRIu64
               ", now agrees only up to %" PRIu64 ")", p->id, p->match, common);
        p->match = common;
    }
    if (rc_catchup(common, r->io.log_first(r->io.arg), &next) == RC_CATCHUP_SNAPSHOT) {
        char why[160];
        snprintf(why, sizeof why,
                 "the entries after our common point (LSN %" PRIu64 ") are compacted away "
                 "(the log starts at %" PRIu64 "; it has %" PRIu64 ")",
                 common, r->io.log_first(r->io.arg), a->last_lsn);
        to_snapshot(r, p, why);
        return;
    }
    rc_log(r, RC_INFO, "follower %.12s: logs agree up to LSN %" PRIu64 " (it has %" PRIu64
           "): continuing from there", p->id, common, a->last_lsn);
    p->next = next;
    p->state = PR_STREAM;
    r->st.partial_syncs++;
}

int lead_voters_heard(const rcore *r)
{
    uint64_t now = r->io.now_ms(r->io.arg);
    int n = rc_is_voter(r);
    for (int i = 0; i < r->cfg.n; i++)
        if (i != r->self_idx && r->cfg.m[i].voter && r->pr[i].last_recv_ms &&
            now - r->pr[i].last_recv_ms < r->set.election_ms)
            n++;
    return n;
}

int lead_quorum_recent(rcore *r)
{
    return lead_voters_heard(r) >= rc_election_quorum(rc_config_voters(&r->cfg));
}

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                 */
/* ------------------------------------------------------------------------ */

static void snapshot_step(rcore *r, progress *p)
{
    uint64_t now = rc_now(r);
    if (p->snap_io) {
        /* A chunk that got no answer (lost with a connection): resend. */
        if (now - p->snap_sent_ms > 2 * r->set.election_ms) {
            p->snap_io = 0;
            p->snap_off = p->snap_acked;
        }
        return;
    }
    if (!p->snap_lsn) {
        uint64_t lsn, term, size, first = r->io.log_first(r->io.arg);
        /* Only committed state is shipped: the newest snapshot at or below
         * commit (the engine keeps one besides newer ones past commit). */
        int have = r->io.snap_latest(r->io.arg, r->commit, &lsn, &term, &size) == 0 &&
                   lsn + 1 >= first;
        /* Snapshots are taken at the applied LSN, which on a busy leader is
         * a little past commit: wait for commit to reach a newer one rather
         * than asking for another. */
        uint64_t nl, nt, ns;
        if (!have && r->io.snap_latest(r->io.arg, UINT64_MAX, &nl, &nt, &ns) == 0 &&
            nl + 1 >= first && nl > r->commit)
            return;
        if (!have) {
            /* Ask again when no snapshot came of it for a while: a snapshot
             * that failed (full disk) reports nothing, and asking while
             * one is being taken is harmless. */
            if (!p->snap_wait || now - p->snap_wait_ms > 2 * r->set.election_ms) {
                if (!p->snap_wait)
                    rc_log(r, RC_NOTICE, "taking a snapshot for follower %.12s", p->id);
                p->snap_wait = 1;
                p->snap_wait_ms = now;
                r->io.snap_take(r->io.arg);
            }
            return;
        }
        p->snap_wait = 0;
        p->snap_lsn = lsn;
        p->snap_term = term;
        p->snap_size = size;
        p->snap_off = p->snap_acked = 0;
        p->snap_started_ms = now;
        r->st.snapshots_sent++;
        rc_log(r, RC_NOTICE, "sending snapshot at LSN %" PRIu64 " (%" PRIu64
               " bytes) to follower %.12s", lsn, size, p->id);
    }
    if (r->io.send_backlog(r->io.arg, p->id) > r->set.send_high)
        return;
    p->snap_io = 1;
    p->snap_sent_ms = now;
    r->io.snap_read(r->io.arg, p->id, p->snap_lsn, p->snap_off, r->set.chunk);
}

void lead_on_snap_read(rcore *r, const char *to, uint64_t lsn, uint64_t off, const uint8_t *p,
                       size_t n, uint64_t size, int rc)
{
    if (r->role != RC_LEADER)
        return;
    progress *pr = lead_progress(r, to);
    if (!pr || pr->state != PR_SNAPSHOT || pr->snap_lsn != lsn || pr->snap_off != off)
        return;
    if (rc < 0) {
        rc_log(r, RC_WARNING, "reading snapshot %" PRIu64 " for %.12s failed: starting over",
               lsn, to);
        pr->snap_lsn = 0;
        pr->snap_io = 0;
        return;
    }
    pr->snap_size = size;
    const rc_config *cfg = rc_config_at(r, lsn);
    uint8_t cbuf[16384];
    size_t clen = rc_config_encode(cfg, cbuf, sizeof cbuf);
    Kv__ClusterConfig *cc = clen <= sizeof cbuf ? kv__cluster_config__unpack(NULL, clen, cbuf)
                                                : NULL;
    Kv__InstallSnapshot s = KV__INSTALL_SNAPSHOT__INIT;
    s.term = r->term;
    s.leader_id = r->id;
    s.cluster_id = r->cfg.cluster_id;
    s.snapshot_lsn = lsn;
    s.snapshot_term = pr->snap_term;
    s.size = size;
    s.offset = off;
    s.data.data = (uint8_t *)p;
    s.data.len = n;
    s.crc = crc32c(0, p, n);
    s.last = off + n >= size;
    s.config = cc;
    s.commit_lsn = r->commit;
    s.leader_peer_addr = r->peer_addr;
    s.leader_client_addr = r->client_addr;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_INSTALL_SNAPSHOT;
    m.install_snapshot = &s;
    const rc_member *mem = member_of(r, pr);
    rc_send(r, mem->id, mem->peer_addr, &m);
    if (cc)
        kv__cluster_config__free_unpacked(cc, NULL);
    pr->snap_off = off + n;
    pr->snap_sent_ms = rc_now(r);
    /* snap_io stays set until the follower answers (stop and wait). */
}

void lead_on_snapshot_result(rcore *r, const char *from, const Kv__SnapshotResult *s)
{
    progress *p = lead_progress(r, from);
    if (!p)
        return;
    p->last_recv_ms = rc_now(r);
    if (p->state != PR_SNAPSHOT || s->snapshot_lsn != p->snap_lsn)
        return;
    if (s->failed) {
        rc_log(r, RC_WARNING, "follower %.12s could not install snapshot %" PRIu64
               ": starting over", from, p->snap_lsn);
        p->snap_lsn = 0;
        p->snap_io = 0;
        return;
    }
    if (s->done) {
        rc_log(r, RC_NOTICE, "follower %.12s installed snapshot %" PRIu64 " in %" PRIu64 " ms",
               from, p->snap_lsn, rc_now(r) - p->snap_started_ms);
        p->state = PR_STREAM;
        p->next = p->snap_lsn + 1;
        if (p->match < p->snap_lsn)
            p->match = p->snap_lsn;
        p->snap_io = 0;
        lead_update_commit(r);
        return;
    }
    p->snap_acked = s->next_offset;
    p->snap_off = s->next_offset;
    p->snap_io = 0;
}

void lead_on_snapshot_taken(rcore *r, uint64_t lsn)
{
    (void)lsn;
    for (int i = 0; i < r->cfg.n; i++)
        if (i != r->self_idx && r->pr[i].state == PR_SNAPSHOT && r->pr[i].snap_wait)
            r->pr[i].snap_wait = 0;
}

/* What the log must keep against compaction: what streaming followers
 * still need (leader; bounded by the store's retention), what a follower
 * installing a snapshot will need right after it, and a committed config
 * not yet in the meta file (any role) — these two unconditionally. */
static void pin_min(uint64_t *pin, uint64_t lsn)
{
    if (lsn && (!*pin || lsn < *pin))
        *pin = lsn;
}

void lead_update_pins(rcore *r)
{
    uint64_t soft = 0, hard = 0;
    uint64_t now = rc_now(r);
    /* Voters heard from lately, this one included: without a quorum of
     * them nothing commits, so the log cannot grow past what is kept, and
     * a voter gone for long keeps its entries (it is needed back, and a
     * snapshot for it may be of a state past commit, which is never
     * shipped). */
    int live = 0, voters = 0;
    for (int i = 0; r->role == RC_LEADER && i < r->cfg.n; i++) {
        if (!r->cfg.m[i].voter)
            continue;
        voters++;
        live += i == r->self_idx || (r->pr[i].last_recv_ms &&
                                     now - r->pr[i].last_recv_ms <= 3 * r->set.election_ms);
    }
    int quorum_live = live >= rc_election_quorum(voters);
    for (int i = 0; r->role == RC_LEADER && i < r->cfg.n; i++) {
        if (i == r->self_idx)
            continue;
        const progress *p = &r->pr[i];
        /* A follower gone for long does not hold the log back without
         * bound (while the others commit): it gets a snapshot if it
         * returns past what is kept. */
        if ((!p->last_recv_ms || now - p->last_recv_ms > 3 * r->set.election_ms) &&
            (quorum_live || !r->cfg.m[i].voter))
            continue;
        if (p->state == PR_SNAPSHOT)
            pin_min(&hard, p->snap_lsn ? p->snap_lsn + 1 : 0);
        else if (p->state == PR_STREAM)
            pin_min(&soft, p->next);
        else
            pin_min(&soft, p->match + 1); /* PROBE: next is a guess until it answers */
    }
    /* A committed config not yet in the meta file must stay in the log. */
    if (r->committed_cfg.lsn > r->stored_cfg_lsn)
        pin_min(&hard, r->committed_cfg.lsn);
    r->io.log_pin(r->io.arg, soft, hard);
}

/* ------------------------------------------------------------------------ */
/* Membership                                                                */
/* ------------------------------------------------------------------------ */

static int noop_committed(const rcore *r)
{
    return r->noop_lsn && r->commit >= r->noop_lsn;
}

static int change_allowed(rcore *r, char *why, size_t whylen)
{
    if (r->role != RC_LEADER) {
        snprintf(why, whylen, "not the leader");
        return 0;
    }
    if (r->cfg_change_pending || !noop_committed(r)) {
        snprintf(why, whylen, "a membership change is in progress");
        return 0;
    }
    return 1;
}

static int append_config(rcore *r, rc_config *c, const char *what)
{
    uint8_t buf[16384];
    size_t n = rc_config_encode(c, buf, sizeof buf);
    if (n > sizeof buf)
        return -1;
    uint64_t lsn = r->io.log_config(r->io.arg, r->term, buf, n);
    if (!lsn)
        return -1;
    c->lsn = lsn;
    r->cfg_change_pending = 1;
    rc_log(r, RC_NOTICE, "membership change at LSN %" PRIu64 ": %s", lsn, what);
    rc_config_appended(r, c);
    r->round_wanted = 1;
    return 0;
}

static void reply_join(rcore *r, const Kv__Join *j, int ok, const char *error)
{
    Kv__JoinResult jr = KV__JOIN_RESULT__INIT;
    jr.ok = ok;
    jr.cluster_id = r->cfg.cluster_id;
    const rc_member *l = rcore_leader(r);
    jr.leader_id = l ? (char *)l->id : "";
    jr.leader_peer_addr = l ? (char *)l->peer_addr : "";
    /* No leader of our own: the one a voter named lately, if any. */
    if (!l && r->hint_addr[0] && rc_now(r) - r->hint_ms < 3 * r->set.election_ms)
        jr.leader_peer_addr = r->hint_addr;
    jr.error = (char *)(error ? error : "");
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_JOIN_RESULT;
    m.join_result = &jr;
    rc_send(r, j->node_id, j->peer_addr, &m);
}

void lead_record_self_addr(rcore *r)
{
    char why[128];
    if (r->self_idx < 0 || !change_allowed(r, why, sizeof why))
        return; /* again at the next tick */
    rc_config c = r->cfg;
    snprintf(c.m[r->self_idx].client_addr, sizeof c.m[r->self_idx].client_addr, "%s",
             r->client_addr);
    (void)append_config(r, &c, "this node's client address changed");
}

void lead_on_join(rcore *r, const Kv__Join *j)
{
    if (!j->node_id || !j->node_id[0] || !j->peer_addr || !j->peer_addr[0] ||
        strlen(j->node_id) >= RC_ID_LEN || strlen(j->peer_addr) >= RC_ADDR_LEN ||
        (j->client_addr && strlen(j->client_addr) >= RC_ADDR_LEN))
        return;
    if (r->role != RC_LEADER) {
        reply_join(r, j, 0, "not the leader");
        return;
    }
    int idx = rc_config_find(&r->cfg, j->node_id);
    if (idx >= 0) {
        rc_member *m = &r->cfg.m[idx];
        int moved = strcmp(m->peer_addr, j->peer_addr) != 0 ||
                    strcmp(m->client_addr, j->client_addr ? j->client_addr : "") != 0;
        char why[128];
        if (moved && change_allowed(r, why, sizeof why)) {
            /* A member that comes back at new addresses: record them. */
            rc_config c = r->cfg;
            snprintf(c.m[idx].peer_addr, sizeof c.m[idx].peer_addr, "%s", j->peer_addr);
            snprintf(c.m[idx].client_addr, sizeof c.m[idx].client_addr, "%s",
                     j->client_addr ? j->client_addr : "");
            append_config(r, &c, "a member's addresses changed");
        }
        reply_join(r, j, 1, NULL);
        return;
    }
    char why[128];
    if (!change_allowed(r, why, sizeof why)) {
        reply_join(r, j, 0, why);
        return;
    }
    if (r->cfg.n >= RC_MAX_MEMBERS) {
        reply_join(r, j, 0, "the cluster is full");
        return;
    }
    rc_config c = r->cfg;
    rc_member *m = &c.m[c.n++];
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", j->node_id);
    snprintf(m->peer_addr, sizeof m->peer_addr, "%s", j->peer_addr);
    snprintf(m->client_addr, sizeof m->client_addr, "%s", j->client_addr ? j->client_addr : "");
    m->voter = 0;
    char what[200];
    snprintf(what, sizeof what, "%.12s joins as a learner (%s)", j->node_id, j->peer_addr);
    if (append_config(r, &c, what) < 0) {
        reply_join(r, j, 0, "cannot log the membership change");
        return;
    }
    reply_join(r, j, 1, NULL);
}

static void promote_learners(rcore *r, uint64_t now)
{
    if (!r->set.auto_promote || r->cfg_change_pending || !noop_committed(r))
        return;
    uint64_t last = rc_last(r, NULL);
    for (int i = 0; i < r->cfg.n; i++) {
        const progress *p = &r->pr[i];
        if (i == r->self_idx || r->cfg.m[i].voter || p->state != PR_STREAM)
            continue;
        /* Caught up: within catchup_lag of the end, heard from lately, and
         * holding (durably) the config that made it a member — else a crash
         * could bring it back as a voter that does not know it is one. */
        if (p->match + r->set.catchup_lag < last || p->match < r->cfg.lsn ||
            !p->last_recv_ms || now - p->last_recv_ms > r->set.election_ms)
            continue;
        rc_config c = r->cfg;
        c.m[i].voter = 1;
        char what[160];
        snprintf(what, sizeof what, "%.12s caught up: now a voter", c.m[i].id);
        append_config(r, &c, what);
        return; /* one change at a time */
    }
}

int rcore_remove(rcore *r, const char *id, char *why, size_t whylen)
{
    if (!change_allowed(r, why, whylen))
        return -1;
    int idx = rc_config_find(&r->cfg, id);
    if (idx < 0) {
        snprintf(why, whylen, "no member %s", id);
        return -1;
    }
    if (idx == r->self_idx) {
        snprintf(why, whylen, "this node leads: hand over leadership first (FAILOVER)");
        return -1;
    }
    rc_config c = r->cfg;
    memmove(&c.m[idx], &c.m[idx + 1], (size_t)(c.n - idx - 1) * sizeof c.m[0]);
    c.n--;
    if (r->cfg.m[idx].voter) {
        /* The voters left must be able to commit (etcd's strict reconfig
         * check): a quorum of them heard from lately and able to catch up
         * from the log. One that needs a snapshot may need one of a state
         * past commit, which is never shipped: commit would stop for good. */
        uint64_t now = rc_now(r), first = r->io.log_first(r->io.arg);
        int able = 0, voters = 0;
        for (int i = 0; i < r->cfg.n; i++) {
            if (i == idx || !r->cfg.m[i].voter)
                continue;
            voters++;
            const progress *p = &r->pr[i];
            if (i == r->self_idx ||
                (p->last_recv_ms && now - p->last_recv_ms < r->set.election_ms &&
                 p->state != PR_SNAPSHOT && p->match + 1 >= first))
                able++;
        }
        if (able < rc_election_quorum(voters)) {
            snprintf(why, whylen,
                     "removing it would leave %d of the %d other voters able to commit, fewer "
                     "than a quorum: bring them up to date first",
                     able, voters);
            return -1;
        }
    }
    char what[160];
    snprintf(what, sizeof what, "%.12s removed", id);
    if (append_config(r, &c, what) < 0) {
        snprintf(why, whylen, "cannot log the membership change");
        return -1;
    }
    return 0;
}

int rcore_set_voter(rcore *r, const char *id, int voter, char *why, size_t whylen)
{
    if (!change_allowed(r, why, whylen))
        return -1;
    int idx = rc_config_find(&r->cfg, id);
    if (idx < 0) {
        snprintf(why, whylen, "no member %s", id);
        return -1;
    }
    if (idx == r->self_idx && !voter) {
        snprintf(why, whylen, "this node leads: hand over leadership first (FAILOVER)");
        return -1;
    }
    if (r->cfg.m[idx].voter == (voter != 0))
        return 0;
    rc_config c = r->cfg;
    c.m[idx].voter = voter != 0;
    char what[160];
    snprintf(what, sizeof what, "%.12s is now a %s", id, voter ? "voter" : "learner");
    if (append_config(r, &c, what) < 0) {
        snprintf(why, whylen, "cannot log the membership change");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Leadership transfer                                                       */
/* ------------------------------------------------------------------------ */

int rcore_transfer(rcore *r, const char *target, uint64_t timeout_ms, char *why, size_t whylen)
{
    if (r->role != RC_LEADER) {
        snprintf(why, whylen, "not the leader");
        return -1;
    }
    if (r->transfer_to[0]) {
        /* Asked again to hand over to the node it is handing over to
         * (REPLICAOF on a leader racing a hand-over that node asked for):
         * already under way, nothing more to do. */
        if (target && !strcmp(target, r->transfer_to))
            return 0;
        snprintf(why, whylen, "a leadership transfer is already in progress");
        return -1;
    }
    int idx = -1;
    if (target && target[0]) {
        idx = rc_config_find(&r->cfg, target);
        if (idx < 0 || idx == r->self_idx || !r->cfg.m[idx].voter) {
            snprintf(why, whylen, "%s is not another voter of this cluster", target);
            return -1;
        }
    } else {
        uint64_t best = 0;
        for (int i = 0; i < r->cfg.n; i++) {
            if (i == r->self_idx || !r->cfg.m[i].voter)
                continue;
            if (idx < 0 || r->pr[i].match > best) {
                idx = i;
                best = r->pr[i].match;
            }
        }
        if (idx < 0) {
            snprintf(why, whylen, "no other voter to hand over to");
            return -1;
        }
    }
    snprintf(r->transfer_to, sizeof r->transfer_to, "%s", r->cfg.m[idx].id);
    r->transfer_deadline = rc_now(r) + timeout_ms;
    r->transfer_sent = 0;
    rc_log(r, RC_NOTICE, "handing leadership over to %.12s: writes paused", r->transfer_to);
    rc_notify_role(r);
    return 0;
}

int rcore_transferring(const rcore *r)
{
    return r->transfer_to[0] != 0;
}

void rcore_transfer_abort(rcore *r)
{
    if (!r->transfer_to[0])
        return;
    rc_log(r, RC_NOTICE, "leadership transfer to %.12s abandoned: writes resume",
           r->transfer_to);
    r->transfer_to[0] = '\0';
    rc_notify_role(r);
}

static void transfer_step(rcore *r, uint64_t now)
{
    if (!r->transfer_to[0])
        return;
    if (now >= r->transfer_deadline) {
        rcore_transfer_abort(r);
        return;
    }
    progress *p = lead_progress(r, r->transfer_to);
    if (!p) {
        rcore_transfer_abort(r);
        return;
    }
    if (r->transfer_sent || p->match < rc_last(r, NULL))
        return;
    Kv__TimeoutNow t = KV__TIMEOUT_NOW__INIT;
    t.term = r->term;
    t.leader_id = r->id;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_TIMEOUT_NOW;
    m.timeout_now = &t;
    /* The successor may win before our lease would run out: give it up
     * now (and for the rest of this term, even if the transfer fails). */
    r->lease_disabled = 1;
    const rc_member *mem = member_of(r, p);
    rc_send(r, mem->id, mem->peer_addr, &m);
    r->transfer_sent = 1;
}

/* ------------------------------------------------------------------------ */
/* Tick                                                                      */
/* ------------------------------------------------------------------------ */

void lead_tick(rcore *r)
{
    uint64_t now = rc_now(r);
    /* CheckQuorum: a leader cut off from a majority stops leading. */
    if (now - r->leader_since_ms >= r->set.election_ms && !lead_quorum_recent(r)) {
        rc_become_follower(r, "lost contact with a majority of the voters (CheckQuorum)");
        return;
    }
    if (now - r->last_heartbeat_ms >= r->set.heartbeat_ms)
        r->round_wanted = 1;
    /* A probe that got no answer is resent with the next round. */
    for (int i = 0; i < r->cfg.n; i++)
        if (i != r->self_idx && r->pr[i].state == PR_PROBE && r->round_wanted)
            r->pr[i].probe_outstanding = 0;
    transfer_step(r, now);
    promote_learners(r, now);
    lead_flush(r);
}
