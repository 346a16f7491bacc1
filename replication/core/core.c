/* core.c — the core's state: terms and the meta file, roles, membership in
 * effect, commit and apply, message dispatch, and what the server asks
 * (see core.h). Elections are in elect.c, the leader in lead.c, the
 * follower in follow.c.
 *
 * Roles:
 *
 *             timeout (voter)            PreVote majority
 *   FOLLOWER ----------------> PRECANDIDATE ------------> CANDIDATE
 *      ^  ^                       |                          |  vote majority
 *      |  +--- denied / timeout --+                          v
 *      +------- higher term, CheckQuorum, transfer done ---- LEADER
 *
 * Persistence: term and vote go to the meta file before the node acts on
 * them. rc_send drops every message while the stored (term, vote) differ
 * from the current ones; elect_after_persist sends what was held back
 * (vote requests, a granted vote) once the store completes. */
#include "core_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rc_settings_defaults(rc_settings *s)
{
    memset(s, 0, sizeof *s);
    s->heartbeat_ms = 100;
    s->election_ms = 1000;
    s->lease_pct = 90;
    s->min_acks = 0;
    s->max_batch = 1u << 20;
    s->send_high = 8u << 20;
    s->live_max = 16u << 20;
    s->chunk = 1u << 20;
    s->catchup_lag = 1000;
    s->auto_promote = 1;
}

const char *rcore_role_name(int role)
{
    switch (role) {
    case RC_LEADER: return "leader";
    case RC_CANDIDATE: return "candidate";
    case RC_PRECANDIDATE: return "precandidate";
    default: return "follower";
    }
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

void rc_log(rcore *r, int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->io.log(r->io.arg, level, msg);
}

uint64_t rc_now(rcore *r)
{
    return r->io.now_ms(r->io.arg);
}

int rc_mutations;

/* The node acts only on what its meta file holds: term, vote, and the
 * cluster it belongs to (a joiner acknowledges nothing before it has
 * recorded which cluster it joined). */
int rc_can_speak(const rcore *r)
{
    if (r->stopped || r->stored_term != r->term ||
        strcmp(r->stored_cluster, r->committed_cfg.cluster_id) != 0)
        return 0;
    if (rc_mutations & RC_MUT_NO_VOTE_PERSIST)
        return 1;
    return !strcmp(r->stored_vote, r->voted_for);
}

void rc_send(rcore *r, const char *to_id, const char *to_addr, const Kv__PeerMessage *m)
{
    if (!rc_can_speak(r) || !to_addr || !to_addr[0])
        return;
    r->io.send(r->io.arg, to_id ? to_id : "", to_addr, m);
}

uint64_t rc_last(rcore *r, uint64_t *term)
{
    uint64_t t = 0;
    uint64_t l = r->io.log_last(r->io.arg, &t);
    if (term)
        *term = t;
    return l;
}

uint64_t rc_term_at(rcore *r, uint64_t lsn)
{
    return r->io.log_term_at(r->io.arg, lsn);
}

int rc_is_voter(const rcore *r)
{
    return r->self_idx >= 0 && r->cfg.m[r->self_idx].voter;
}

void rc_notify_role(rcore *r)
{
    r->io.role_changed(r->io.arg);
}

/* A message for another cluster than ours. A node that belongs to no
 * cluster yet takes messages only from the one it is joining, and only once
 * it holds no data of its own (follow_on_join_result drops that first). */
int rc_wrong_cluster(rcore *r, const char *cluster_id)
{
    if (!cluster_id || !cluster_id[0])
        return 0;
    if (r->committed_cfg.cluster_id[0])
        return strcmp(r->committed_cfg.cluster_id, cluster_id) != 0;
    if (!r->join_cluster[0] || strcmp(r->join_cluster, cluster_id) != 0 || r->truncating)
        return 1;
    /* Joining it: record it (the first acknowledgement waits for the meta
     * file, rc_can_speak). */
    snprintf(r->committed_cfg.cluster_id, sizeof r->committed_cfg.cluster_id, "%s", cluster_id);
    snprintf(r->cfg.cluster_id, sizeof r->cfg.cluster_id, "%s", cluster_id);
    rc_persist(r);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The meta file                                                             */
/* ------------------------------------------------------------------------ */

static void store_meta(rcore *r)
{
    rc_meta m;
    memset(&m, 0, sizeof m);
    m.term = r->term;
    snprintf(m.voted_for, sizeof m.voted_for, "%s",
             rc_mutations & RC_MUT_NO_VOTE_PERSIST ? "" : r->voted_for);
    m.commit = r->commit;
    m.config = r->committed_cfg;
    r->meta_inflight = 1;
    r->meta_dirty = 0;
    r->inflight_term = m.term;
    snprintf(r->inflight_vote, sizeof r->inflight_vote, "%s", m.voted_for);
    r->inflight_commit = m.commit;
    r->inflight_cfg_lsn = m.config.lsn;
    snprintf(r->inflight_cluster, sizeof r->inflight_cluster, "%s", m.config.cluster_id);
    r->last_meta_ms = rc_now(r);
    r->io.meta_store(r->io.arg, &m, ++r->meta_seq);
}

void rc_persist(rcore *r)
{
    if (r->meta_inflight) {
        r->meta_dirty = 1;
        return;
    }
    store_meta(r);
}

void rcore_meta_done(rcore *r, uint64_t seq, int rc)
{
    if (seq != r->meta_seq)
        return;
    r->meta_inflight = 0;
    if (rc < 0) {
        /* Without its term and vote on disk the node must not act: it
         * stays silent (rc_can_speak) and tries again on the next tick. */
        rc_log(r, RC_WARNING, "cannot store the meta file (term %" PRIu64 "): retrying",
               r->inflight_term);
        r->meta_dirty = 1;
        return;
    }
    r->stored_term = r->inflight_term;
    snprintf(r->stored_vote, sizeof r->stored_vote, "%s", r->inflight_vote);
    r->stored_commit = r->inflight_commit;
    r->stored_cfg_lsn = r->inflight_cfg_lsn;
    snprintf(r->stored_cluster, sizeof r->stored_cluster, "%s", r->inflight_cluster);
    if (r->meta_dirty)
        store_meta(r);
    if (rc_can_speak(r))
        elect_after_persist(r);
    lead_update_pins(r);
}

/* ------------------------------------------------------------------------ */
/* Terms and roles                                                           */
/* ------------------------------------------------------------------------ */

void rc_reset_election_timer(rcore *r)
{
    uint64_t et = r->set.election_ms;
    r->election_deadline = rc_now(r) + et + r->io.random(r->io.arg) % et;
}

void rc_become_follower(rcore *r, const char *why)
{
    int was = r->role;
    if (was == RC_LEADER)
        lead_step_down(r);
    r->role = RC_FOLLOWER;
    r->votes = r->refusals = 0;
    r->transfer_campaign = 0;
    rc_reset_election_timer(r);
    if (was != RC_FOLLOWER) {
        if (was == RC_LEADER) {
            r->st.stepdowns++;
            snprintf(r->st.last_stepdown, sizeof r->st.last_stepdown, "%s", why);
        }
        rc_log(r, was == RC_LEADER ? RC_WARNING : RC_NOTICE, "%s -> follower in term %" PRIu64
               ": %s", rcore_role_name(was), r->term, why);
        rc_notify_role(r);
    }
}

int rc_adopt_term(rcore *r, uint64_t term, const char *why)
{
    if (term <= r->term)
        return 0;
    rc_log(r, RC_NOTICE, "term %" PRIu64 " -> %" PRIu64 ": %s", r->term, term, why);
    r->term = term;
    r->voted_for[0] = '\0';
    r->leader_known = 0;
    r->leader_id[0] = '\0';
    rc_persist(r);
    /* A newer term after TimeoutNow went out: the hand-over worked (any
     * other way out of leadership abandons it, see lead_step_down). */
    if (r->role == RC_LEADER && r->transfer_to[0] && r->transfer_sent) {
        r->st.transfers++;
        rc_log(r, RC_NOTICE, "leadership handed over to %.12s", r->transfer_to);
        r->transfer_to[0] = '\0';
    }
    if (r->role != RC_FOLLOWER)
        rc_become_follower(r, why);
    else
        rc_notify_role(r);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Membership in effect                                                      */
/* ------------------------------------------------------------------------ */

static void set_config(rcore *r, const rc_config *c)
{
    rc_config old = r->cfg;
    r->cfg = *c;
    r->self_idx = rc_config_find(&r->cfg, r->id);
    if (r->role == RC_LEADER)
        lead_remap(r, &old);
    /* Members no longer in the config are not talked to any more. */
    for (int i = 0; i < old.n; i++)
        if (rc_config_find(&r->cfg, old.m[i].id) < 0 && strcmp(old.m[i].id, r->id) != 0)
            r->io.forget(r->io.arg, old.m[i].id);
    r->io.config_changed(r->io.arg, &r->cfg);
}

/* The config in effect at lsn (snapshots ship it). */
const rc_config *rc_config_at(rcore *r, uint64_t lsn)
{
    const rc_config *best = &r->committed_cfg;
    for (size_t i = 0; i < r->nhist; i++)
        if (r->hist[i].cfg.lsn <= lsn)
            best = &r->hist[i].cfg;
    return best;
}

void rc_config_appended(rcore *r, const rc_config *c)
{
    if (r->nhist == r->caphist) {
        r->caphist = r->caphist ? r->caphist * 2 : 4;
        r->hist = realloc(r->hist, r->caphist * sizeof *r->hist);
        if (!r->hist)
            abort();
    }
    r->hist[r->nhist++].cfg = *c;
    set_config(r, c);
    rc_log(r, RC_NOTICE, "membership at LSN %" PRIu64 ": %d members, %d voters", c->lsn, c->n,
           rc_config_voters(c));
}

/* Config entries after keep were cut: the newest remaining one rules. */
void rc_config_truncated(rcore *r, uint64_t keep)
{
    size_t n = r->nhist;
    while (r->nhist && r->hist[r->nhist - 1].cfg.lsn > keep)
        r->nhist--;
    if (n != r->nhist)
        set_config(r, r->nhist ? &r->hist[r->nhist - 1].cfg : &r->committed_cfg);
}

/* Configs at or below commit become the committed one (stored). */
static void commit_configs(rcore *r)
{
    size_t k = 0;
    while (k < r->nhist && r->hist[k].cfg.lsn <= r->commit)
        k++;
    if (!k)
        return;
    r->committed_cfg = r->hist[k - 1].cfg;
    memmove(r->hist, r->hist + k, (r->nhist - k) * sizeof *r->hist);
    r->nhist -= k;
    rc_persist(r);
}

/* ------------------------------------------------------------------------ */
/* Commit and apply                                                          */
/* ------------------------------------------------------------------------ */

void rc_set_commit(rcore *r, uint64_t commit)
{
    if (commit <= r->commit)
        return;
    r->commit = commit;
    commit_configs(r);
    if (r->role == RC_LEADER && r->cfg_change_pending &&
        (!r->nhist || r->hist[r->nhist - 1].cfg.lsn <= commit))
        r->cfg_change_pending = 0;
    rc_maybe_apply(r);
    r->io.commit_advanced(r->io.arg);
}

/* Followers apply what is committed and known to match the leader; a new
 * leader applies its whole log before it takes writes. */
void rc_maybe_apply(rcore *r)
{
    if (r->apply_target || r->truncating || r->stopped)
        return;
    uint64_t upto;
    if (r->role == RC_LEADER) {
        upto = rc_last(r, NULL);
    } else {
        upto = r->commit < r->matched ? r->commit : r->matched;
        uint64_t last = rc_last(r, NULL);
        if (upto > last)
            upto = last;
    }
    if (upto <= r->applied)
        return;
    r->apply_target = upto;
    r->io.apply(r->io.arg, upto);
}

void rcore_apply_done(rcore *r, uint64_t applied, int rc)
{
    r->apply_target = 0;
    if (rc < 0) {
        rc_log(r, RC_WARNING, "applying entries up to LSN %" PRIu64 " failed", applied);
        return;
    }
    if (applied > r->applied)
        r->applied = applied;
    follow_check_synced(r);
    follow_on_applied(r);
    if (r->role == RC_LEADER && !r->leader_ready && r->applied >= rc_last(r, NULL)) {
        lead_append_noop(r);
        if (r->role == RC_LEADER) {
            lead_update_commit(r);
            rc_notify_role(r);
        }
        return;
    }
    rc_maybe_apply(r);
}

void rcore_set_applied(rcore *r, uint64_t applied)
{
    r->applied = applied;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

rcore *rcore_new(const rc_io *io, const rc_settings *set, const char *id, const char *peer_addr,
                 const char *client_addr, const rc_meta *meta)
{
    rcore *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->io = *io;
    r->set = *set;
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->peer_addr, sizeof r->peer_addr, "%s", peer_addr);
    snprintf(r->client_addr, sizeof r->client_addr, "%s", client_addr);
    r->term = r->stored_term = meta->term;
    snprintf(r->voted_for, sizeof r->voted_for, "%s", meta->voted_for);
    snprintf(r->stored_vote, sizeof r->stored_vote, "%s", meta->voted_for);
    r->commit = r->stored_commit = meta->commit;
    r->committed_cfg = meta->config;
    r->stored_cfg_lsn = meta->config.lsn;
    snprintf(r->stored_cluster, sizeof r->stored_cluster, "%s", meta->config.cluster_id);
    r->cfg = meta->config;
    r->self_idx = rc_config_find(&r->cfg, r->id);
    /* A log that ends in a later term than the meta file says (a crash
     * between the two writes): the log wins. */
    uint64_t last_term = 0;
    rc_last(r, &last_term);
    if (last_term > r->term) {
        r->term = last_term;
        r->voted_for[0] = '\0';
        rc_persist(r);
    }
    r->role = RC_FOLLOWER;
    r->started_ms = rc_now(r);
    /* No votes for others, and no campaign, for an election timeout after
     * starting (a restarted node must not disrupt a live leader). */
    r->last_contact_ms = r->started_ms;
    rc_reset_election_timer(r);
    /* The only voter of its cluster need not wait for anyone. */
    if (rc_config_voters(&r->cfg) == 1 && rc_is_voter(r)) {
        r->election_deadline = r->started_ms;
        r->last_contact_ms = 0;
    }
    return r;
}

void rcore_current_meta(const rcore *r, rc_meta *m)
{
    memset(m, 0, sizeof *m);
    m->term = r->term;
    snprintf(m->voted_for, sizeof m->voted_for, "%s", r->voted_for);
    m->commit = r->commit;
    m->config = r->committed_cfg;
}

void rcore_free(rcore *r)
{
    if (!r)
        return;
    lead_free(r);
    free(r->hist);
    free(r);
}

void rcore_log_config(rcore *r, uint64_t lsn, const uint8_t *cfg, size_t len)
{
    rc_config c;
    if (rc_config_decode(cfg, len, &c) < 0) {
        rc_log(r, RC_WARNING, "config entry at LSN %" PRIu64 " does not decode: ignored", lsn);
        return;
    }
    c.lsn = lsn;
    if (lsn <= r->committed_cfg.lsn)
        return;
    if (lsn <= r->commit) {
        r->committed_cfg = c;
        set_config(r, &c);
        rc_persist(r);
        return;
    }
    rc_config_appended(r, &c);
}

static void random_hex(rcore *r, char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i + 1 < n; i++)
        out[i] = hex[r->io.random(r->io.arg) % 16];
    out[n - 1] = '\0';
}

void rcore_bootstrap(rcore *r)
{
    if (r->cfg.n)
        return;
    rc_config c;
    memset(&c, 0, sizeof c);
    random_hex(r, c.cluster_id, 33);
    c.n = 1;
    snprintf(c.m[0].id, sizeof c.m[0].id, "%s", r->id);
    snprintf(c.m[0].peer_addr, sizeof c.m[0].peer_addr, "%s", r->peer_addr);
    snprintf(c.m[0].client_addr, sizeof c.m[0].client_addr, "%s", r->client_addr);
    c.m[0].voter = 1;
    /* The founding config needs no entry: every member (just this one)
     * starts from it, and it is committed by definition. */
    c.lsn = 0;
    r->committed_cfg = c;
    set_config(r, &c);
    rc_persist(r);
    rc_log(r, RC_NOTICE, "bootstrapped a new cluster %s with this node as its only voter",
           c.cluster_id);
    /* The only voter need not wait for anyone. */
    r->election_deadline = rc_now(r);
    r->last_contact_ms = 0;
}

void rcore_join(rcore *r, const char *peer_addr)
{
    snprintf(r->join_addr, sizeof r->join_addr, "%s", peer_addr);
    r->join_next_ms = 0;
}

int rcore_leave(rcore *r, const char *peer_addr, int defer, char *why, size_t whylen)
{
    if (r->self_idx >= 0 && r->cfg.n > 1) {
        snprintf(why, whylen, "this node is a member of a cluster of %d nodes", r->cfg.n);
        return -1;
    }
    if (r->self_idx >= 0 && !r->leaving) {
        rc_log(r, RC_NOTICE, "leaving this one-node cluster to join %s",
               peer_addr[0] ? peer_addr : "none yet");
        r->leaving = 1;
        r->leave_defer = defer && r->role == RC_LEADER;
        /* A leader with writes not committed yet steps down once they are
         * (rcore_tick): their clients get their replies. */
        if (r->role != RC_LEADER || (!r->leave_defer && r->commit >= rc_last(r, NULL)))
            rc_become_follower(r, "leaving to join another cluster");
        rc_notify_role(r);
    }
    rcore_join(r, peer_addr);
    return 0;
}

void rcore_stay(rcore *r)
{
    r->join_addr[0] = '\0';
    if (!r->leaving)
        return;
    r->leaving = r->leave_defer = 0;
    rc_log(r, RC_NOTICE, "staying in this one-node cluster");
    if (r->role != RC_LEADER)
        r->campaign_requested = 1;
    rc_notify_role(r);
}

/* A leaving leader: writes stop (the deferral is over), and it steps down
 * once what it logged is committed. */
static void leave_step(rcore *r)
{
    if (!r->leaving || r->role != RC_LEADER)
        return;
    if (r->leave_defer) {
        r->leave_defer = 0;
        rc_notify_role(r); /* no longer writable */
    }
    if (r->commit >= rc_last(r, NULL))
        rc_become_follower(r, "leaving to join another cluster");
}

void rcore_leave_now(rcore *r)
{
    if (r->leave_defer)
        leave_step(r);
}

int rcore_leaving(const rcore *r)
{
    return r->leaving;
}

void rcore_set_client_addr(rcore *r, const char *client_addr)
{
    snprintf(r->client_addr, sizeof r->client_addr, "%s", client_addr);
    r->addr_next_ms = 0;
}

/* A Join with this node's addresses, to the node at to_addr. */
static void send_join(rcore *r, const char *to_id, const char *to_addr)
{
    Kv__Join j = KV__JOIN__INIT;
    j.node_id = r->id;
    j.peer_addr = r->peer_addr;
    j.client_addr = r->client_addr;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_JOIN;
    m.join = &j;
    rc_send(r, to_id, to_addr, &m);
}

/* A member whose client address the config does not show yet: the leader
 * records its own; a follower sends the leader a Join with it (twice a
 * second at most) until the config it follows shows it. */
static void announce_client_addr(rcore *r, uint64_t now)
{
    if (r->self_idx < 0 || !strcmp(r->cfg.m[r->self_idx].client_addr, r->client_addr))
        return;
    if (r->role == RC_LEADER) {
        lead_record_self_addr(r);
        return;
    }
    if (!r->leader_known || !r->leader.peer_addr[0] || now < r->addr_next_ms)
        return;
    r->addr_next_ms = now + 500;
    send_join(r, r->leader.id, r->leader.peer_addr);
}

void rcore_stop(rcore *r)
{
    r->stopped = 1;
}

void rcore_set_min_acks(rcore *r, int min_acks)
{
    r->set.min_acks = min_acks < 0 ? 0 : min_acks;
    if (r->role == RC_LEADER)
        lead_update_commit(r);
}

/* ------------------------------------------------------------------------ */
/* Driving                                                                   */
/* ------------------------------------------------------------------------ */

void rcore_tick(rcore *r)
{
    if (r->stopped)
        return;
    uint64_t now = rc_now(r);
    if (r->meta_dirty && !r->meta_inflight)
        store_meta(r);
    /* The commit watermark is a lower bound: storing it lazily is safe.
     * It lets a restarted member apply what was committed before it hears
     * from a leader; a node alone leads at once after a restart and
     * commits its whole log, so for it the store (a file write, two syncs
     * and a rename, competing with the WAL's syncs for the disk) is rare. */
    uint64_t every = r->committed_cfg.n <= 1 ? 60000 : 1000;
    if (r->commit > r->stored_commit && !r->meta_inflight && now - r->last_meta_ms >= every)
        store_meta(r);
    leave_step(r);
    if (r->join_addr[0] && (r->self_idx < 0 || (r->leaving && r->role != RC_LEADER)) &&
        now >= r->join_next_ms) {
        send_join(r, "", r->join_addr);
        r->join_next_ms = now + 500;
    }
    announce_client_addr(r, now);
    if (r->role == RC_LEADER)
        lead_tick(r);
    else
        follow_tick(r);
    elect_tick(r);
    lead_update_pins(r);
}

void rcore_flush(rcore *r)
{
    if (!r->stopped && r->role == RC_LEADER)
        lead_flush(r);
}

void rcore_recv(rcore *r, const char *from, const Kv__PeerMessage *m)
{
    if (r->stopped)
        return;
    switch (m->msg_case) {
    case KV__PEER_MESSAGE__MSG_APPEND:
        follow_on_append(r, from, m->append);
        break;
    case KV__PEER_MESSAGE__MSG_APPEND_RESULT:
        if (m->append_result->term > r->term) {
            rc_adopt_term(r, m->append_result->term, "a follower is in a newer term");
            break;
        }
        /* A term-only answer to an Append of an older term is no answer to
         * ours, even when this node led that term too: it would read as a
         * refusal from an empty log (and send that follower a snapshot). */
        if (r->role == RC_LEADER && m->append_result->term == r->term &&
            !m->append_result->stale_term)
            lead_on_append_result(r, from, m->append_result);
        break;
    case KV__PEER_MESSAGE__MSG_VOTE:
        elect_on_vote(r, from, m->vote);
        break;
    case KV__PEER_MESSAGE__MSG_VOTE_RESULT:
        elect_on_vote_result(r, from, m->vote_result);
        break;
    case KV__PEER_MESSAGE__MSG_INSTALL_SNAPSHOT:
        follow_on_snapshot(r, from, m->install_snapshot);
        break;
    case KV__PEER_MESSAGE__MSG_SNAPSHOT_RESULT:
        if (m->snapshot_result->term > r->term) {
            rc_adopt_term(r, m->snapshot_result->term, "a follower is in a newer term");
            break;
        }
        if (r->role == RC_LEADER && m->snapshot_result->term == r->term)
            lead_on_snapshot_result(r, from, m->snapshot_result);
        break;
    case KV__PEER_MESSAGE__MSG_TIMEOUT_NOW:
        elect_on_timeout_now(r, from, m->timeout_now);
        break;
    case KV__PEER_MESSAGE__MSG_JOIN:
        lead_on_join(r, m->join);
        break;
    case KV__PEER_MESSAGE__MSG_JOIN_RESULT:
        follow_on_join_result(r, m->join_result);
        break;
    default:
        break;
    }
}

void rcore_on_append(rcore *r, const uint8_t *rec, size_t len, uint64_t lsn, uint64_t term,
                     int type, const uint8_t *payload, size_t plen)
{
    (void)term;
    /* A follower storing the leader's config entry: it rules from now. */
    if (type == RC_REC_CONFIG && r->role != RC_LEADER)
        rcore_log_config(r, lsn, payload, plen);
    if (r->role == RC_LEADER)
        lead_on_append(r, rec, len, lsn);
}

void rcore_on_durable(rcore *r)
{
    if (r->stopped)
        return;
    if (r->role == RC_LEADER)
        lead_on_durable(r);
    else
        follow_on_durable(r);
}

void rcore_snapshot_taken(rcore *r, uint64_t lsn)
{
    if (r->role == RC_LEADER)
        lead_on_snapshot_taken(r, lsn);
}

void rcore_truncate_done(rcore *r, int rc)
{
    follow_truncate_done(r, rc);
}

void rcore_read_done(rcore *r, const char *to_id, int rc, const uint8_t *recs, size_t len,
                     uint64_t count)
{
    lead_on_read_done(r, to_id, rc, recs, len, count);
}

void rcore_snap_read_done(rcore *r, const char *to_id, uint64_t lsn, uint64_t off,
                          const uint8_t *p, size_t n, uint64_t size, int rc)
{
    lead_on_snap_read(r, to_id, lsn, off, p, n, size, rc);
}

void rcore_snap_write_done(rcore *r, int rc)
{
    follow_snap_write_done(r, rc);
}

/* ------------------------------------------------------------------------ */
/* Queries                                                                   */
/* ------------------------------------------------------------------------ */

int rcore_role(const rcore *r)
{
    return r->role;
}

uint64_t rcore_term(const rcore *r)
{
    return r->term;
}

const char *rcore_id(const rcore *r)
{
    return r->id;
}

const rc_member *rcore_leader(const rcore *r)
{
    if (r->role == RC_LEADER)
        return r->self_idx >= 0 ? &r->cfg.m[r->self_idx] : NULL;
    return r->leader_known ? &r->leader : NULL;
}

uint64_t rcore_commit(const rcore *r)
{
    return r->commit;
}

uint64_t rcore_ack_point(const rcore *r)
{
    if (r->role != RC_LEADER || r->set.min_acks <= 0)
        return r->commit;
    uint64_t match[RC_MAX_MEMBERS];
    int n = 0;
    for (int i = 0; i < r->cfg.n; i++)
        if (i != r->self_idx && r->cfg.m[i].voter)
            match[n++] = r->pr[i].match;
    uint64_t rep = rc_replicated_on(match, n, r->set.min_acks);
    return rep < r->commit ? rep : r->commit;
}

uint64_t rcore_applied(const rcore *r)
{
    return r->applied;
}

int rcore_writable(const rcore *r)
{
    return r->role == RC_LEADER && r->leader_ready && !r->transfer_to[0] && !r->stopped &&
           (!r->leaving || r->leave_defer);
}

int rcore_lease_valid(const rcore *r)
{
    if (r->role != RC_LEADER || !r->confirmed_round || r->lease_disabled)
        return 0;
    uint64_t lease = r->set.election_ms * (uint64_t)r->set.lease_pct / 100;
    return r->io.now_ms(r->io.arg) < r->lease_start_ms + lease;
}

uint64_t rcore_lease_remaining_ms(const rcore *r)
{
    if (!rcore_lease_valid(r))
        return 0;
    uint64_t lease = r->set.election_ms * (uint64_t)r->set.lease_pct / 100;
    return r->lease_start_ms + lease - r->io.now_ms(r->io.arg);
}

uint64_t rcore_read_round(rcore *r)
{
    r->round_wanted = 1;
    return r->round + 1;
}

uint64_t rcore_confirmed_round(const rcore *r)
{
    return r->role == RC_LEADER ? r->confirmed_round : 0;
}

int rcore_follower_serving(const rcore *r)
{
    /* A node leaving its own cluster stepped down with all it had committed. */
    return r->role != RC_LEADER && (r->heard_leader || r->leaving) && r->applied <= r->commit &&
           !r->truncating;
}

const rc_config *rcore_config(const rcore *r)
{
    return &r->cfg;
}

int rcore_replicas_at(const rcore *r, uint64_t lsn)
{
    if (r->role != RC_LEADER)
        return 0;
    int n = 0;
    for (int i = 0; i < r->cfg.n; i++)
        if (i != r->self_idx && r->pr[i].match >= lsn && r->pr[i].applied >= lsn)
            n++;
    return n;
}

int rcore_good_replicas(const rcore *r)
{
    if (r->role != RC_LEADER)
        return 0;
    uint64_t now = r->io.now_ms(r->io.arg);
    int n = 0;
    for (int i = 0; i < r->cfg.n; i++)
        if (i != r->self_idx && r->cfg.m[i].voter && r->pr[i].last_recv_ms &&
            now - r->pr[i].last_recv_ms <= r->set.election_ms)
            n++;
    return n;
}

int rcore_peer_info(const rcore *r, int i, rc_peer_info *out)
{
    if (i < 0 || i >= r->cfg.n)
        return -1;
    memset(out, 0, sizeof *out);
    out->m = &r->cfg.m[i];
    out->self = i == r->self_idx;
    out->last_ack_ms = UINT64_MAX;
    out->state = "-";
    if (out->self) {
        out->state = "self";
        out->applied_lsn = r->applied;
        return 0;
    }
    if (r->role != RC_LEADER)
        return 0;
    const progress *p = &r->pr[i];
    static const char *const names[] = {"probe", "stream", "snapshot"};
    out->state = names[p->state];
    out->match_lsn = p->match;
    out->next_lsn = p->next;
    out->applied_lsn = p->applied;
    if (p->last_recv_ms)
        out->last_ack_ms = r->io.now_ms(r->io.arg) - p->last_recv_ms;
    return 0;
}

void rcore_get_stats(const rcore *r, rc_stats *st)
{
    *st = r->st;
    uint64_t now = r->io.now_ms(r->io.arg);
    st->last_contact_ms = r->role == RC_LEADER ? 0
                          : r->heard_leader     ? now - r->last_contact_ms
                                                : UINT64_MAX;
    st->voters = rc_config_voters(&r->cfg);
    st->election_quorum = rc_election_quorum(st->voters);
    st->commit_quorum = rc_commit_quorum(st->voters);
    st->ack_replicas = r->set.min_acks;
    st->voters_heard = r->role == RC_LEADER ? lead_voters_heard(r)
                       : r->heard_leader && r->leader_known ? r->leader_voters_heard
                                                            : 0;
    st->transfer_state = !r->transfer_to[0] ? "none"
                         : r->transfer_sent ? "timeout-now-sent"
                                            : "catching-up";
    st->snap_recv_lsn = r->rsnap_lsn;
    st->snap_recv_bytes = r->rsnap_off;
    st->snap_recv_size = r->rsnap_size;
    st->synced = r->role == RC_FOLLOWER && r->leader_known && r->synced;
}
