/* elect.c — elections: PreVote, votes, winning, leadership transfer (the
 * rules are listed in core.h).
 *
 * A voter that has not heard from a leader for its randomized timeout
 * first asks the voters whether they would vote for it (PreVote, Raft
 * thesis §9.6): the question changes nobody's term, so a node that was cut
 * off and comes back cannot depose a healthy leader. Only with a majority
 * of yes does it raise its term, vote for itself (persisted before the
 * requests leave) and ask for real votes. */
#include "core_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int count(uint32_t mask, const rc_config *c)
{
    int n = 0;
    for (int i = 0; i < c->n; i++)
        if ((mask >> i) & 1 && c->m[i].voter)
            n++;
    return n;
}

static void send_vote_requests(rcore *r, int prevote)
{
    uint64_t last_term;
    uint64_t last = rc_last(r, &last_term);
    Kv__Vote v = KV__VOTE__INIT;
    v.term = r->vote_term;
    v.candidate_id = r->id;
    v.cluster_id = r->cfg.cluster_id;
    v.last_lsn = last;
    v.last_term = last_term;
    v.prevote = prevote;
    v.transfer = r->transfer_campaign;
    v.candidate_peer_addr = r->peer_addr;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_VOTE;
    m.vote = &v;
    for (int i = 0; i < r->cfg.n; i++)
        if (i != r->self_idx && r->cfg.m[i].voter)
            rc_send(r, r->cfg.m[i].id, r->cfg.m[i].peer_addr, &m);
}

static void maybe_won(rcore *r)
{
    int voters = rc_config_voters(&r->cfg);
    int q = rc_election_quorum(voters);
    if (count(r->votes, &r->cfg) < q)
        return;
    if (r->role == RC_PRECANDIDATE) {
        elect_start(r, 0, r->transfer_campaign);
        return;
    }
    if (r->role == RC_CANDIDATE && rc_can_speak(r)) {
        r->st.elections_won++;
        lead_become(r);
    }
}

/* Start a PreVote (prevote) or an election. */
void elect_start(rcore *r, int prevote, int transfer)
{
    if (!rc_is_voter(r) || r->stopped || r->leaving)
        return;
    r->votes = 1u << r->self_idx;
    r->refusals = 0;
    r->transfer_campaign = transfer;
    rc_reset_election_timer(r);
    if (prevote) {
        r->role = RC_PRECANDIDATE;
        r->vote_term = r->term + 1;
        r->st.prevotes_started++;
        rc_log(r, RC_INFO, "no leader heard: asking the voters (PreVote for term %" PRIu64 ")",
               r->vote_term);
        send_vote_requests(r, 1);
        maybe_won(r);
        return;
    }
    r->role = RC_CANDIDATE;
    r->term++;
    snprintf(r->voted_for, sizeof r->voted_for, "%s", r->id);
    r->vote_term = r->term;
    r->leader_known = 0;
    r->leader_id[0] = '\0';
    r->st.elections_started++;
    rc_log(r, RC_NOTICE, "starting an election for term %" PRIu64 "%s", r->term,
           transfer ? " (leadership handed over)" : "");
    rc_persist(r);
    rc_notify_role(r);
    /* Requests leave once the term and the vote are stored
     * (elect_after_persist); a single voter wins at once then. */
}

void elect_after_persist(rcore *r)
{
    if (r->role == RC_CANDIDATE && r->vote_term == r->term &&
        !strcmp(r->voted_for, r->id)) {
        send_vote_requests(r, 0);
        maybe_won(r);
    }
    if (r->grant_to[0] && r->grant_term == r->term && !strcmp(r->voted_for, r->grant_to)) {
        Kv__VoteResult vr = KV__VOTE_RESULT__INIT;
        vr.term = r->term;
        vr.granted = 1;
        vr.vote_term = r->grant_term;
        Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
        m.msg_case = KV__PEER_MESSAGE__MSG_VOTE_RESULT;
        m.vote_result = &vr;
        rc_send(r, r->grant_to, r->grant_addr, &m);
        r->grant_to[0] = '\0';
    }
}

void elect_tick(rcore *r)
{
    uint64_t now = rc_now(r);
    if (r->role == RC_LEADER || !rc_is_voter(r))
        return;
    if (r->campaign_requested && r->role == RC_FOLLOWER) {
        r->campaign_requested = 0;
        elect_start(r, 1, 0);
        return;
    }
    if (now < r->election_deadline)
        return;
    if (r->role == RC_FOLLOWER || r->role == RC_PRECANDIDATE) {
        if (r->role == RC_PRECANDIDATE)
            r->st.prevotes_denied++;
        elect_start(r, 1, 0);
        return;
    }
    /* A candidate that did not win in time tries again, from a PreVote. */
    rc_log(r, RC_INFO, "election for term %" PRIu64 " undecided: retrying", r->term);
    elect_start(r, 1, 0);
}

static void reply_vote(rcore *r, const char *to, const char *addr, uint64_t asked, int granted,
                       int prevote)
{
    Kv__VoteResult vr = KV__VOTE_RESULT__INIT;
    vr.term = r->term;
    vr.granted = granted;
    vr.prevote = prevote;
    vr.vote_term = asked;
    const rc_member *l = rcore_leader(r);
    if (!granted && l)
        vr.leader_peer_addr = (char *)l->peer_addr;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_VOTE_RESULT;
    m.vote_result = &vr;
    rc_send(r, to, addr, &m);
}

/* Heard from a live leader within the minimum election timeout (or just
 * started): votes are refused, so a node that lost touch cannot depose
 * a leader the others still hear. */
static int leader_recent(rcore *r)
{
    if (r->role == RC_LEADER)
        return lead_quorum_recent(r);
    return rc_now(r) - r->last_contact_ms < r->set.election_ms;
}

void elect_on_vote(rcore *r, const char *from, const Kv__Vote *v)
{
    int idx = rc_config_find(&r->cfg, from);
    if (rc_wrong_cluster(r, v->cluster_id))
        return;
    if (idx < 0) {
        /* Not a member (removed, or added in entries we lack): no vote,
         * but where the leader is, so it can find its way back. */
        if (v->prevote && v->candidate_peer_addr && v->candidate_peer_addr[0] &&
            strlen(v->candidate_peer_addr) < RC_ADDR_LEN && rcore_leader(r))
            reply_vote(r, from, v->candidate_peer_addr, v->term, 0, 1);
        return;
    }
    const char *addr = r->cfg.m[idx].peer_addr;
    uint64_t last_term;
    uint64_t last = rc_last(r, &last_term);
    int uptodate = rc_log_up_to_date(v->last_term, v->last_lsn, last_term, last);
    if (v->prevote) {
        int grant = v->term > r->term && uptodate && (!leader_recent(r) || v->transfer);
        reply_vote(r, from, addr, v->term, grant, 1);
        return;
    }
    if (v->term < r->term) {
        reply_vote(r, from, addr, v->term, 0, 0);
        return;
    }
    if (leader_recent(r) && !v->transfer) {
        /* Do not even take the term (thesis §4.2.3). */
        if (v->term == r->term)
            reply_vote(r, from, addr, v->term, 0, 0);
        return;
    }
    if (v->term > r->term)
        rc_adopt_term(r, v->term, "a candidate asks for votes");
    int free_vote = !r->voted_for[0] || !strcmp(r->voted_for, from);
    if (!free_vote || !uptodate) {
        reply_vote(r, from, addr, v->term, 0, 0);
        return;
    }
    snprintf(r->voted_for, sizeof r->voted_for, "%s", from);
    snprintf(r->grant_to, sizeof r->grant_to, "%s", from);
    snprintf(r->grant_addr, sizeof r->grant_addr, "%s", addr);
    r->grant_term = r->term;
    r->st.votes_granted++;
    rc_reset_election_timer(r);
    rc_log(r, RC_INFO, "voting for %.12s in term %" PRIu64, from, r->term);
    rc_persist(r); /* the grant leaves once the vote is stored */
}

void elect_on_vote_result(rcore *r, const char *from, const Kv__VoteResult *v)
{
    if (!v->granted && v->leader_peer_addr && v->leader_peer_addr[0] &&
        strlen(v->leader_peer_addr) < sizeof r->hint_addr) {
        snprintf(r->hint_addr, sizeof r->hint_addr, "%s", v->leader_peer_addr);
        r->hint_ms = rc_now(r);
    }
    if (v->term > r->term) {
        rc_adopt_term(r, v->term, "a voter is in a newer term");
        return;
    }
    int idx = rc_config_find(&r->cfg, from);
    if (idx < 0 || v->vote_term != r->vote_term)
        return;
    int want_prevote = r->role == RC_PRECANDIDATE;
    if (!want_prevote && r->role != RC_CANDIDATE)
        return;
    if ((v->prevote != 0) != want_prevote)
        return;
    if (v->granted)
        r->votes |= 1u << idx;
    else
        r->refusals |= 1u << idx;
    maybe_won(r);
}

void elect_on_timeout_now(rcore *r, const char *from, const Kv__TimeoutNow *t)
{
    if (t->term != r->term || r->role != RC_FOLLOWER || strcmp(from, r->leader_id) != 0)
        return;
    rc_log(r, RC_NOTICE, "leader %.12s hands over leadership: campaigning now", from);
    elect_start(r, 0, 1);
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

int rcore_campaign(rcore *r, char *why, size_t whylen)
{
    if (r->role == RC_LEADER)
        return 0;
    if (!rc_is_voter(r)) {
        snprintf(why, whylen, "this node is not a voter of its cluster");
        return -1;
    }
    if (r->leader_known && rc_now(r) - r->last_contact_ms < r->set.election_ms) {
        /* Ask the leader to hand over (carried on our acks). */
        r->want_leadership = 1;
        follow_send_ack(r, 1, 0);
        return 0;
    }
    r->campaign_requested = 1;
    return 0;
}
