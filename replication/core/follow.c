/* follow.c — the follower: appending what the leader sends after checking
 * that it follows this log, cutting a divergent suffix, receiving
 * snapshots, acking, applying only committed entries, and joining a
 * cluster. */
#include "core_int.h"

#include "crc32c.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Acks                                                                      */
/* ------------------------------------------------------------------------ */

static uint64_t matched_durable(rcore *r)
{
    uint64_t d = r->io.log_durable(r->io.arg);
    return d < r->matched ? d : r->matched;
}

static void send_result(rcore *r, int success, int busy, const char *to_addr)
{
    Kv__AppendResult a = KV__APPEND_RESULT__INIT;
    a.term = r->term;
    a.success = success;
    a.busy = busy;
    a.durable_lsn = matched_durable(r);
    a.applied_lsn = r->applied;
    a.round = r->round_seen;
    a.transfer_to_me = r->want_leadership;
    Kv__TermStart ts[256], *tp[256];
    if (!success && !busy) {
        uint64_t last_term;
        a.rejected_prev = r->reject_prev;
        a.last_lsn = rc_last(r, &last_term);
        a.last_term = last_term;
        size_t n;
        const rc_term_start *h = r->io.log_history(r->io.arg, &n);
        /* The newest runs matter most: keep the last 256. */
        size_t from = n > 256 ? n - 256 : 0;
        for (size_t i = from; i < n; i++) {
            kv__term_start__init(&ts[i - from]);
            ts[i - from].term = h[i].term;
            ts[i - from].first_lsn = h[i].first_lsn;
            tp[i - from] = &ts[i - from];
        }
        a.history = tp;
        a.n_history = n - from;
    }
    if (r->rsnap_lsn && r->rsnap_off) {
        a.resume_snapshot_lsn = r->rsnap_lsn;
        a.resume_snapshot_bytes = r->rsnap_off;
    }
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_APPEND_RESULT;
    m.append_result = &a;
    rc_send(r, r->leader_id, to_addr, &m);
    if (success) {
        r->acked_durable = a.durable_lsn;
        r->acked_round = a.round;
        r->acked_applied = a.applied_lsn;
    }
}

void follow_send_ack(rcore *r, int success, int busy)
{
    if (r->leader_known && r->leader.peer_addr[0])
        send_result(r, success, busy, r->leader.peer_addr);
}

/* Entries applied: the leader hears of it (WAIT counts replicas that have
 * applied a write, as Redis counts those that processed it). */
void follow_on_applied(rcore *r)
{
    if (r->role == RC_FOLLOWER && r->leader_known && !r->truncating && !r->rsnap_writing &&
        r->applied > r->acked_applied && r->applied <= matched_durable(r))
        follow_send_ack(r, 1, 0);
}

void follow_on_durable(rcore *r)
{
    if (matched_durable(r) > r->acked_durable)
        follow_send_ack(r, 1, 0);
    rc_maybe_apply(r);
}

void follow_tick(rcore *r)
{
    (void)r;
}

/* ------------------------------------------------------------------------ */
/* The leader of our term                                                    */
/* ------------------------------------------------------------------------ */

/* A message from the leader of term `term`: 0 to go on, -1 if it is stale
 * (answered with our term so that it steps down). */
static int accept_leader(rcore *r, const char *from, uint64_t term, const char *peer_addr,
                         const char *client_addr, const char *cluster_id)
{
    if (rc_wrong_cluster(r, cluster_id))
        return -1;
    if (term < r->term) {
        if (peer_addr && peer_addr[0]) {
            /* Tell the stale leader our term. */
            Kv__AppendResult a = KV__APPEND_RESULT__INIT;
            a.term = r->term;
            a.stale_term = 1;
            Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
            m.msg_case = KV__PEER_MESSAGE__MSG_APPEND_RESULT;
            m.append_result = &a;
            rc_send(r, from, peer_addr, &m);
        }
        return -1;
    }
    if (term > r->term) {
        rc_adopt_term(r, term, "a leader of a newer term");
    } else if (r->role == RC_LEADER) {
        /* Two leaders in one term cannot happen; refuse loudly. */
        rc_log(r, RC_WARNING, "%.12s claims to lead term %" PRIu64 " which this node leads",
               from, term);
        return -1;
    } else if (r->role != RC_FOLLOWER) {
        rc_become_follower(r, "a leader of this term exists");
    }
    int changed = !r->leader_known || strcmp(r->leader_id, from) != 0;
    r->leader_known = 1;
    snprintf(r->leader_id, sizeof r->leader_id, "%s", from);
    snprintf(r->leader.id, sizeof r->leader.id, "%s", from);
    snprintf(r->leader.peer_addr, sizeof r->leader.peer_addr, "%s", peer_addr ? peer_addr : "");
    snprintf(r->leader.client_addr, sizeof r->leader.client_addr, "%s",
             client_addr ? client_addr : "");
    r->leader.voter = 1;
    r->last_contact_ms = rc_now(r);
    r->heard_leader = 1;
    rc_reset_election_timer(r);
    if (changed) {
        r->matched = 0;
        r->acked_durable = 0;
        r->round_seen = 0;
        r->want_leadership = 0;
        r->synced = r->sync_target_set = 0;
        rc_log(r, RC_NOTICE, "following %.12s (%s) in term %" PRIu64, from,
               client_addr ? client_addr : "?", r->term);
        rc_notify_role(r);
    }
    return 0;
}

/* Does our log hold (prev, prev_term)? Entries below our log's start are
 * in our snapshot, which never goes past commit: they match. */
static int log_matches(rcore *r, uint64_t prev, uint64_t prev_term)
{
    if (!prev)
        return 1;
    uint64_t last = rc_last(r, NULL);
    if (prev > last)
        return 0;
    uint64_t first = r->io.log_first(r->io.arg);
    if (prev + 1 < first)
        return 1;
    return rc_term_at(r, prev) == prev_term;
}

/* ------------------------------------------------------------------------ */
/* Appending                                                                 */
/* ------------------------------------------------------------------------ */

void follow_on_append(rcore *r, const char *from, const Kv__Append *a)
{
    if (accept_leader(r, from, a->term, a->leader_peer_addr, a->leader_client_addr,
                      a->cluster_id) < 0)
        return;
    if (!r->sync_target_set) {
        r->sync_target = a->commit_lsn;
        r->sync_target_set = 1;
    }
    if (a->round > r->round_seen)
        r->round_seen = a->round;
    r->leader_voters_heard = (int)a->voters_heard;
    if (r->truncating || r->rsnap_writing) {
        follow_send_ack(r, 0, 1);
        return;
    }
    r->reject_prev = a->prev_lsn;
    if (!log_matches(r, a->prev_lsn, a->prev_term)) {
        follow_send_ack(r, 0, 0);
        return;
    }
    const uint8_t *p = a->records.data;
    size_t left = a->records.len;
    uint64_t lsn = a->prev_lsn;
    while (left) {
        uint64_t rlsn, rterm;
        long n = r->io.rec_decode(r->io.arg, p, left, &rlsn, &rterm);
        if (n <= 0 || rlsn != lsn + 1) {
            rc_log(r, RC_WARNING, "leader %.12s sent an invalid record after LSN %" PRIu64,
                   from, lsn);
            follow_send_ack(r, 0, 0);
            return;
        }
        uint64_t last = rc_last(r, NULL);
        if (rlsn <= last) {
            uint64_t mine = rc_term_at(r, rlsn);
            if (mine == rterm || rlsn + 1 < r->io.log_first(r->io.arg)) {
                /* Already held (or in our snapshot). */
                p += n;
                left -= (size_t)n;
                lsn = rlsn;
                continue;
            }
            if (rlsn <= r->commit) {
                rc_log(r, RC_WARNING, "leader %.12s conflicts with committed LSN %" PRIu64
                       " (term %" PRIu64 " here, %" PRIu64 " there): refused",
                       from, rlsn, mine, rterm);
                return;
            }
            /* A divergent suffix from an older term: cut it, then take
             * the leader's entries (it resends once we answer again). */
            r->truncating = 1;
            r->truncate_keep = rlsn - 1;
            r->st.truncations++;
            rc_log(r, RC_NOTICE, "cutting this log after LSN %" PRIu64
                   " (entries from LSN %" PRIu64 " differ from the leader's)", rlsn - 1, rlsn);
            r->io.log_truncate(r->io.arg, rlsn - 1);
            follow_send_ack(r, 0, 1);
            return;
        }
        if (r->io.log_append(r->io.arg, p, (size_t)n) < 0) {
            /* Not stored, so never acknowledged: the leader probes again
             * and resends once there is room (a full disk). */
            if (!r->append_refused)
                rc_log(r, RC_WARNING, "cannot store LSN %" PRIu64 " from the leader (is the "
                       "disk full?); it is resent until it can be stored", rlsn);
            r->append_refused = 1;
            follow_send_ack(r, 0, 1);
            return;
        }
        if (r->append_refused) {
            r->append_refused = 0;
            rc_log(r, RC_NOTICE, "storing the leader's entries again from LSN %" PRIu64, rlsn);
        }
        p += n;
        left -= (size_t)n;
        lsn = rlsn;
    }
    if (lsn > r->matched)
        r->matched = lsn;
    uint64_t c = a->commit_lsn < r->matched ? a->commit_lsn : r->matched;
    rc_set_commit(r, c);
    follow_check_synced(r);
    follow_send_ack(r, 1, 0);
}

void follow_check_synced(rcore *r)
{
    if (!r->synced && r->sync_target_set && r->role == RC_FOLLOWER &&
        r->applied >= r->sync_target) {
        r->synced = 1;
        rc_log(r, RC_INFO, "in sync with %.12s (applied LSN %" PRIu64 ")", r->leader_id,
               r->applied);
    }
}

void follow_truncate_done(rcore *r, int rc)
{
    r->truncating = 0;
    if (rc < 0) {
        rc_log(r, RC_WARNING, "cutting the log after LSN %" PRIu64 " failed", r->truncate_keep);
        return;
    }
    uint64_t last = rc_last(r, NULL);
    rc_config_truncated(r, last);
    if (r->applied > last)
        r->applied = last;
    if (r->matched > last)
        r->matched = last;
    if (r->acked_durable > last)
        r->acked_durable = last;
    rc_notify_role(r);
}

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                 */
/* ------------------------------------------------------------------------ */

static void snapshot_reply(rcore *r, int done, int failed)
{
    if (!r->leader_known)
        return;
    Kv__SnapshotResult s = KV__SNAPSHOT_RESULT__INIT;
    s.term = r->term;
    s.snapshot_lsn = r->rsnap_lsn;
    s.next_offset = r->rsnap_off;
    s.done = done;
    s.failed = failed;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_SNAPSHOT_RESULT;
    m.snapshot_result = &s;
    rc_send(r, r->leader_id, r->leader.peer_addr, &m);
}

void follow_on_snapshot(rcore *r, const char *from, const Kv__InstallSnapshot *s)
{
    if (accept_leader(r, from, s->term, s->leader_peer_addr, s->leader_client_addr,
                      s->cluster_id) < 0)
        return;
    if (r->truncating || r->rsnap_writing)
        return; /* the leader resends the chunk when it hears nothing */
    if (s->snapshot_lsn != r->rsnap_lsn || s->snapshot_term != r->rsnap_term) {
        if (s->offset != 0) {
            /* A transfer we do not hold: start it over. */
            r->rsnap_lsn = s->snapshot_lsn;
            r->rsnap_term = s->snapshot_term;
            r->rsnap_off = 0;
            snapshot_reply(r, 0, 0);
            return;
        }
        if (s->snapshot_lsn <= rc_last(r, NULL) && log_matches(r, s->snapshot_lsn, s->snapshot_term)) {
            /* This log holds the snapshot's last entry: installing it would
             * only throw away entries after it, which this node may have
             * acknowledged (a leader that took a stale answer for news).
             * Tell the leader to go on from there. */
            rc_log(r, RC_NOTICE, "snapshot at LSN %" PRIu64 " not needed: this log holds it",
                   s->snapshot_lsn);
            if (s->snapshot_lsn > r->matched)
                r->matched = s->snapshot_lsn;
            r->rsnap_lsn = s->snapshot_lsn;
            r->rsnap_term = s->snapshot_term;
            r->rsnap_off = 0;
            snapshot_reply(r, 1, 0);
            r->rsnap_lsn = 0;
            return;
        }
        r->rsnap_lsn = s->snapshot_lsn;
        r->rsnap_term = s->snapshot_term;
        r->rsnap_off = 0;
    }
    if (s->offset != r->rsnap_off) {
        snapshot_reply(r, 0, 0); /* resume where we are */
        return;
    }
    if (crc32c(0, s->data.data, s->data.len) != s->crc) {
        rc_log(r, RC_WARNING, "snapshot chunk at %" PRIu64 " failed its checksum", s->offset);
        snapshot_reply(r, 0, 0);
        return;
    }
    if (s->last) {
        memset(&r->rsnap_cfg, 0, sizeof r->rsnap_cfg);
        if (s->config) {
            uint8_t buf[16384];
            size_t n = kv__cluster_config__get_packed_size(s->config);
            if (n > sizeof buf) {
                snapshot_reply(r, 0, 1);
                return;
            }
            kv__cluster_config__pack(s->config, buf);
            if (rc_config_decode(buf, n, &r->rsnap_cfg) < 0) {
                snapshot_reply(r, 0, 1);
                return;
            }
        }
        r->rsnap_commit = s->commit_lsn;
    }
    r->rsnap_size = s->size;
    r->rsnap_last = s->last;
    r->rsnap_writing = 1;
    r->rsnap_pending = s->data.len;
    r->io.snap_write(r->io.arg, s->snapshot_lsn, s->snapshot_term, s->offset, s->data.data,
                     s->data.len, s->last);
}

void follow_snap_write_done(rcore *r, int rc)
{
    r->rsnap_writing = 0;
    if (rc < 0) {
        rc_log(r, RC_WARNING, "storing snapshot %" PRIu64 " failed", r->rsnap_lsn);
        snapshot_reply(r, 0, 1);
        r->rsnap_lsn = r->rsnap_off = 0;
        return;
    }
    r->rsnap_off += r->rsnap_pending;
    if (!r->rsnap_last) {
        snapshot_reply(r, 0, 0);
        return;
    }
    /* Installed: the log now starts after the snapshot. */
    uint64_t lsn = r->rsnap_lsn;
    r->st.snapshots_received++;
    r->applied = lsn;
    r->matched = lsn;
    r->acked_durable = 0;
    r->nhist = 0;
    rc_config c = r->rsnap_cfg;
    if (c.n) {
        r->committed_cfg = c;
        r->cfg = c;
        r->self_idx = rc_config_find(&r->cfg, r->id);
        r->io.config_changed(r->io.arg, &r->cfg);
    }
    rc_set_commit(r, lsn);
    rc_persist(r);
    rc_log(r, RC_NOTICE, "installed snapshot at LSN %" PRIu64 " from %.12s", lsn, r->leader_id);
    snapshot_reply(r, 1, 0);
    r->rsnap_lsn = r->rsnap_off = 0;
    rc_notify_role(r);
}

/* ------------------------------------------------------------------------ */
/* Joining                                                                   */
/* ------------------------------------------------------------------------ */

void follow_on_join_result(rcore *r, const Kv__JoinResult *j)
{
    if ((r->self_idx >= 0 && !r->leaving) || !r->join_addr[0])
        return;
    if (!j->ok) {
        if (j->leader_peer_addr && j->leader_peer_addr[0] &&
            strlen(j->leader_peer_addr) < sizeof r->join_addr) {
            snprintf(r->join_addr, sizeof r->join_addr, "%s", j->leader_peer_addr);
            r->join_next_ms = rc_now(r) + 50;
        }
        rc_log(r, RC_INFO, "join refused: %s", j->error && j->error[0] ? j->error : "?");
        return;
    }
    if (!j->cluster_id || !j->cluster_id[0] || strlen(j->cluster_id) >= RC_ID_LEN)
        return;
    r->join_next_ms = rc_now(r) + 2 * r->set.election_ms;
    if (!strcmp(r->committed_cfg.cluster_id, j->cluster_id))
        return; /* already ours: the leader streams to us */
    snprintf(r->join_cluster, sizeof r->join_cluster, "%s", j->cluster_id);
    rc_log(r, RC_NOTICE, "joined cluster %s as a learner", j->cluster_id);
    if ((r->committed_cfg.cluster_id[0] || rc_last(r, NULL) > 0) && !r->truncating) {
        /* This node's data belongs to another history (another cluster, or
         * none): drop it and take the cluster's, as a Redis replica discards
         * its dataset. It never acknowledged anything to this cluster. */
        rc_log(r, RC_WARNING, "discarding this node's data to replicate cluster %s",
               j->cluster_id);
        /* Its terms and vote were another cluster's: this one's leader
         * may be in a lower term, and must not be told to step down. */
        r->term = 0;
        r->voted_for[0] = '\0';
        r->leaving = 0;
        memset(&r->committed_cfg, 0, sizeof r->committed_cfg);
        r->nhist = 0;
        memset(&r->cfg, 0, sizeof r->cfg);
        r->self_idx = -1;
        r->commit = 0;
        r->matched = 0;
        r->truncating = 1;
        r->truncate_keep = 0;
        rc_persist(r);
        r->io.log_truncate(r->io.arg, 0);
    }
}
