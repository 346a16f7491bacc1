/* core_int.h — shared by the core's files (core.c, elect.c, lead.c,
 * follow.c); nothing outside replication/core includes it. */
#ifndef KV_RCORE_INT_H
#define KV_RCORE_INT_H

#include "core.h"

#include <stdarg.h>

/* A follower as the leader tracks it.
 *
 *   PROBE --(its log matches at next-1)--> STREAM --(reject / gap)--> PROBE
 *     |                                      |
 *     +--(what it needs is compacted)--> SNAPSHOT --(installed)--> STREAM
 *
 * PROBE sends one Append (prev = next - 1, no records) per heartbeat and
 * waits for the answer, which either confirms next or reports the
 * follower's log (last LSN, term history) so that the common point is
 * found in one round trip. STREAM sends records optimistically: from the
 * live buffer (records tapped as they are appended) once the follower has
 * caught up, or read back from the WAL files while it is behind. */
enum { PR_PROBE = 0, PR_STREAM = 1, PR_SNAPSHOT = 2 };

typedef struct progress {
    char id[RC_ID_LEN];
    int state;
    uint64_t next;         /* next LSN to send */
    uint64_t match;        /* durable there and known to match our log */
    uint64_t applied;
    uint64_t last_recv_ms; /* its last message (0: never) */
    uint64_t acked_round;
    int probe_outstanding; /* PROBE: an Append is unanswered */
    int want_transfer;     /* it asked to lead (REPLICAOF NO ONE there) */
    /* STREAM, behind: a read of the WAL files in flight */
    int reading;
    /* records tapped from live_from on (0: not collecting) */
    uint64_t live_from;
    uint64_t live_first;   /* LSN of the first record in live (0: empty) */
    uint64_t live_count;
    uint8_t *live;
    size_t live_len, live_cap;
    /* SNAPSHOT */
    int snap_wait;         /* waiting for a snapshot to be taken */
    uint64_t snap_wait_ms; /* when it was last asked for */
    int snap_io;           /* a chunk read or send is outstanding */
    uint64_t snap_lsn, snap_term, snap_size, snap_off;
    uint64_t snap_acked;   /* the follower holds the file up to here */
    uint64_t snap_sent_ms;
    uint64_t snap_started_ms;
    uint64_t read_from;    /* the read in flight starts here */
} progress;

/* Config entries in the log above the committed config, oldest first. */
typedef struct cfg_entry {
    rc_config cfg;
} cfg_entry;

#define RC_ROUNDS 64 /* send times of recent heartbeat rounds kept */

struct rcore {
    rc_io io;
    rc_settings set;
    char id[RC_ID_LEN];
    char peer_addr[RC_ADDR_LEN];
    char client_addr[RC_ADDR_LEN];
    int stopped;

    /* ---- persistent state, and what the meta file holds of it ---- */
    uint64_t term;
    char voted_for[RC_ID_LEN];
    rc_config committed_cfg;   /* newest committed config */
    uint64_t stored_term;      /* in the meta file (or being written: see below) */
    char stored_vote[RC_ID_LEN];
    uint64_t stored_commit;
    uint64_t stored_cfg_lsn;
    char stored_cluster[RC_ID_LEN];
    uint64_t meta_seq;         /* last store started */
    int meta_inflight;
    uint64_t inflight_term;    /* what the store in flight writes */
    char inflight_vote[RC_ID_LEN];
    uint64_t inflight_commit, inflight_cfg_lsn;
    char inflight_cluster[RC_ID_LEN];
    int meta_dirty;            /* something changed since the store in flight began */
    uint64_t last_meta_ms;

    /* ---- membership ---- */
    rc_config cfg;             /* in effect: the newest in the log */
    cfg_entry *hist;           /* config entries above committed_cfg */
    size_t nhist, caphist;
    int self_idx;              /* our index in cfg (-1: not a member) */

    /* ---- role ---- */
    int role;
    char leader_id[RC_ID_LEN];
    rc_member leader;          /* the leader's addresses (as it told us) */
    int leader_known;
    /* A leader a voter named when refusing our PreVote: where a join is
     * sent when we know no leader (we may have been removed). */
    char hint_addr[RC_ADDR_LEN];
    uint64_t hint_ms;
    uint64_t last_contact_ms;  /* heard from the leader of our term */
    uint64_t election_deadline;
    uint64_t started_ms;
    int heard_leader;          /* since start, from a leader of our term */
    int leader_voters_heard;   /* as the leader last told (Append) */
    uint64_t reject_prev;      /* the prev_lsn of the Append being refused */
    uint64_t sync_target;      /* the leader's commit when first heard */
    int sync_target_set;
    int synced;                /* applied up to sync_target since */

    /* ---- log and commit ---- */
    uint64_t commit;
    uint64_t applied;
    uint64_t apply_target;     /* an apply in flight up to here (0: none) */
    uint64_t matched;          /* follower: last LSN known to match the leader */
    uint64_t acked_durable;    /* follower: durable LSN last acked */
    uint64_t acked_applied;    /* follower: applied LSN last acked */
    uint64_t acked_round;      /* follower: highest round acked */
    uint64_t round_seen;       /* follower: highest round received */
    int truncating;
    int append_refused; /* our log refused the leader's entries (full disk):
                           said once, and once when it stores again */
    uint64_t truncate_keep;

    /* ---- elections ---- */
    uint32_t votes;            /* bitmask over cfg members: granted */
    uint32_t refusals;
    uint64_t vote_term;        /* term the current (pre)vote asks for */
    int transfer_campaign;     /* this election was handed to us */
    char grant_to[RC_ID_LEN];  /* a granted vote waiting for the meta store */
    char grant_addr[RC_ADDR_LEN];
    uint64_t grant_term;
    int campaign_requested;    /* rcore_campaign with no leader known */
    int want_leadership;       /* rcore_campaign with a leader: ask it */

    /* ---- leader ---- */
    progress pr[RC_MAX_MEMBERS]; /* parallel to cfg.m */
    uint64_t noop_lsn;
    int leader_ready;          /* whole log applied, no-op logged */
    uint64_t round;            /* last heartbeat round started */
    uint64_t round_sent_ms[RC_ROUNDS];
    uint64_t confirmed_round;  /* acked by a quorum */
    uint64_t lease_start_ms;   /* send time of confirmed_round */
    int round_wanted;          /* a read waits: start a round at the next flush */
    uint64_t last_heartbeat_ms;
    uint64_t leader_since_ms;
    int cfg_change_pending;    /* a config entry is not committed yet */
    /* transfer */
    char transfer_to[RC_ID_LEN];
    uint64_t transfer_deadline;
    int transfer_sent;
    int lease_disabled;        /* TimeoutNow went out this term: a successor may
                                  be elected at once, so no lease reads */
    /* the joiner side */
    char join_addr[RC_ADDR_LEN];
    uint64_t join_next_ms;
    uint64_t addr_next_ms; /* next Join announcing our changed client address */
    char join_cluster[RC_ID_LEN];
    int leaving;           /* rcore_leave: out of its own one-node cluster */
    int leave_defer;       /* … a leader still writing until the next tick */

    /* ---- follower: a snapshot being received ---- */
    uint64_t rsnap_lsn, rsnap_term, rsnap_size, rsnap_off;
    int rsnap_writing;
    int rsnap_last;
    uint64_t rsnap_pending;    /* bytes of the chunk being written */
    rc_config rsnap_cfg;
    uint64_t rsnap_commit;

    rc_stats st;
};

/* core.c */
void rc_log(rcore *r, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t rc_now(rcore *r);
int rc_can_speak(const rcore *r);
void rc_send(rcore *r, const char *to_id, const char *to_addr, const Kv__PeerMessage *m);
void rc_persist(rcore *r);
int rc_adopt_term(rcore *r, uint64_t term, const char *why);
void rc_become_follower(rcore *r, const char *why);
void rc_reset_election_timer(rcore *r);
uint64_t rc_last(rcore *r, uint64_t *term);
uint64_t rc_term_at(rcore *r, uint64_t lsn);
void rc_set_commit(rcore *r, uint64_t commit);
void rc_maybe_apply(rcore *r);
const rc_config *rc_config_at(rcore *r, uint64_t lsn);
void rc_config_appended(rcore *r, const rc_config *c);
void rc_config_truncated(rcore *r, uint64_t keep);
int rc_is_voter(const rcore *r);
void rc_notify_role(rcore *r);
int rc_wrong_cluster(rcore *r, const char *cluster_id);

/* elect.c */
void elect_tick(rcore *r);
void elect_on_vote(rcore *r, const char *from, const Kv__Vote *v);
void elect_on_vote_result(rcore *r, const char *from, const Kv__VoteResult *v);
void elect_on_timeout_now(rcore *r, const char *from, const Kv__TimeoutNow *t);
void elect_after_persist(rcore *r);
void elect_start(rcore *r, int prevote, int transfer);

/* lead.c */
void lead_become(rcore *r);
void lead_append_noop(rcore *r);
void lead_step_down(rcore *r);
void lead_tick(rcore *r);
void lead_flush(rcore *r);
void lead_on_append_result(rcore *r, const char *from, const Kv__AppendResult *a);
void lead_on_snapshot_result(rcore *r, const char *from, const Kv__SnapshotResult *s);
void lead_on_join(rcore *r, const Kv__Join *j);
/* The leader's own client address differs from the config's: record it. */
void lead_record_self_addr(rcore *r);
void lead_on_append(rcore *r, const uint8_t *rec, size_t len, uint64_t lsn);
void lead_on_durable(rcore *r);
void lead_on_read_done(rcore *r, const char *to, int rc, const uint8_t *recs, size_t len,
                       uint64_t count);
void lead_on_snap_read(rcore *r, const char *to, uint64_t lsn, uint64_t off, const uint8_t *p,
                       size_t n, uint64_t size, int rc);
void lead_on_snapshot_taken(rcore *r, uint64_t lsn);
void lead_remap(rcore *r, const rc_config *old);
void lead_update_commit(rcore *r);
void lead_update_pins(rcore *r);
int lead_quorum_recent(rcore *r);
int lead_voters_heard(const rcore *r);
progress *lead_progress(rcore *r, const char *id);
void lead_free(rcore *r);

/* follow.c */
void follow_on_append(rcore *r, const char *from, const Kv__Append *a);
void follow_on_snapshot(rcore *r, const char *from, const Kv__InstallSnapshot *s);
void follow_on_join_result(rcore *r, const Kv__JoinResult *j);
void follow_on_durable(rcore *r);
void follow_send_ack(rcore *r, int success, int busy);
void follow_tick(rcore *r);
void follow_truncate_done(rcore *r, int rc);
void follow_snap_write_done(rcore *r, int rc);
void follow_check_synced(rcore *r);
void follow_on_applied(rcore *r);

#endif
