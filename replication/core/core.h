/* core.h — the replication and election core: Raft over kvnode's WAL.
 *
 * A pure state machine. It decides who leads, what each follower is sent,
 * when entries commit, when a node votes, steps down, transfers leadership
 * or changes membership. It reaches everything outside itself — time,
 * randomness, the network, the meta file, the WAL, snapshots, applying
 * entries, and the server — only through the rc_io table below, which
 * kvnode binds to libuv and the engine (replication/io_uv.c) and the
 * simulator binds to a seeded virtual world (tests/sim/). It calls no libuv
 * and no libc I/O; a test checks its object files' undefined symbols.
 *
 * Everything runs on one thread. The binding calls the rcore_* entry points
 * below; asynchronous operations it starts for the core (reads, truncation,
 * meta stores, snapshot I/O) complete by calling the matching rcore_*_done
 * entry point later, never from inside the call that started them.
 *
 * Rules (DESIGN.md §6-7, FAILOVER.md §1-3):
 *  - Terms: a message from a lower term is refused; a higher term is
 *    adopted (and persisted) before the node acts in it. At most one vote
 *    per term, persisted before the reply leaves.
 *  - Elections: randomized timeouts in [election_ms, 2*election_ms), PreVote
 *    first, votes only for logs at least as up to date (last term, then last
 *    LSN), none within election_ms of hearing from a live leader (unless the
 *    leader handed over) or of starting. A majority of voters wins; the new
 *    leader appends a no-op in its term.
 *  - Commit: the highest LSN durable on the leader and on a majority of the
 *    voters, and only at entries of the leader's own term (Raft §5.4.2).
 *    Only voters' acks count. min_acks asks for more before a client is
 *    answered (the ack point), never for a larger commit quorum: a cluster
 *    that cannot meet it still commits membership changes and its no-op.
 *  - CheckQuorum: a leader that has not heard from a majority within
 *    election_ms steps down. Lease: reads are served at once only until
 *    round_start + lease_pct% of election_ms, round_start being when the
 *    newest heartbeat round acknowledged by a majority was sent.
 *  - Followers append what the leader sends after checking (prev_lsn,
 *    prev_term), cut a conflicting suffix (never below commit), apply only
 *    up to commit, and ack what is durable.
 *  - Membership: the newest config entry in the log is in effect; one
 *    change at a time, only after the leader's no-op committed. Joiners come
 *    in as learners and become voters once caught up.
 */
#ifndef KV_RCORE_H
#define KV_RCORE_H

#include "peer.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define RC_MAX_MEMBERS 15
#define RC_ID_LEN 41
#define RC_ADDR_LEN 128

/* WAL record types the core knows (see wal.h; config is the core's). */
#define RC_REC_COMMANDS 1
#define RC_REC_NOOP 2
#define RC_REC_CONFIG 3

typedef struct rcore rcore;

typedef struct rc_member {
    char id[RC_ID_LEN];
    char peer_addr[RC_ADDR_LEN];   /* host:port of its peer port */
    char client_addr[RC_ADDR_LEN]; /* host:port clients use */
    int voter;                     /* 0: learner */
} rc_member;

typedef struct rc_config {
    char cluster_id[RC_ID_LEN];    /* "" : not part of any cluster yet */
    uint64_t lsn;                  /* the config entry that set it (0: none) */
    int n;
    rc_member m[RC_MAX_MEMBERS];
} rc_config;

/* What the meta file holds (replication/meta.c). */
typedef struct rc_meta {
    uint64_t term;
    char voted_for[RC_ID_LEN];     /* "" : none in this term */
    uint64_t commit;               /* commit watermark: a lower bound of commit */
    rc_config config;              /* newest committed config (the log may no
                                      longer hold its entry) */
} rc_meta;

/* A term began at first_lsn in a log. */
typedef struct rc_term_start {
    uint64_t term;
    uint64_t first_lsn;
} rc_term_start;

enum { RC_FOLLOWER = 0, RC_PRECANDIDATE = 1, RC_CANDIDATE = 2, RC_LEADER = 3 };
enum { RC_INFO = 0, RC_NOTICE = 1, RC_WARNING = 2 };

typedef struct rc_settings {
    uint64_t heartbeat_ms;   /* leader -> followers when idle (default 100) */
    uint64_t election_ms;    /* minimum election timeout (default 1000) */
    int lease_pct;           /* lease = this % of election_ms (default 90) */
    int min_acks;            /* replica acks (besides the leader's) a write needs
                                before its client is answered (rcore_ack_point);
                                the commit point itself is always a majority */
    uint64_t max_batch;      /* bytes of records per Append (default 1 MiB) */
    uint64_t send_high;      /* pause a follower's stream above this backlog */
    uint64_t live_max;       /* records kept in memory per follower */
    uint64_t chunk;          /* snapshot chunk size */
    uint64_t catchup_lag;    /* a learner within this many LSNs of the end,
                                acking within election_ms, becomes a voter */
    int auto_promote;        /* promote caught-up learners to voters */
} rc_settings;

void rc_settings_defaults(rc_settings *s);

/* The seam. Every function must be set (the binding decides what is
 * synchronous). Strings passed in are valid only during the call. */
typedef struct rc_io {
    void *arg;
    /* ---- time, randomness, logging ---- */
    uint64_t (*now_ms)(void *arg);   /* monotonic milliseconds */
    uint64_t (*random)(void *arg);
    void (*log)(void *arg, int level, const char *msg);

    /* ---- peers: best effort; per destination in order or lost, never
     * corrupted. to_addr is the peer's address (host:port). ---- */
    void (*send)(void *arg, const char *to_id, const char *to_addr, const Kv__PeerMessage *m);
    /* Bytes queued for to_id and not yet written to the network. */
    uint64_t (*send_backlog)(void *arg, const char *to_id);
    /* The core stopped talking to these addresses (removed members). */
    void (*forget)(void *arg, const char *to_id);

    /* ---- persistent state: store m durably, then rcore_meta_done(seq) ---- */
    void (*meta_store)(void *arg, const rc_meta *m, uint64_t seq);

    /* ---- the log ---- */
    uint64_t (*log_first)(void *arg);                 /* first LSN held (last+1: none) */
    uint64_t (*log_last)(void *arg, uint64_t *term);  /* last LSN and its term */
    uint64_t (*log_durable)(void *arg);               /* last LSN durable here */
    uint64_t (*log_term_at)(void *arg, uint64_t lsn); /* 0: not known */
    /* The log's term history, oldest first; valid until the log changes. */
    const rc_term_start *(*log_history)(void *arg, size_t *n);
    /* The size of the framed WAL record at p (n bytes available) and its
     * LSN and term; -1 if it is not one valid record. */
    long (*rec_decode)(void *arg, const uint8_t *p, size_t n, uint64_t *lsn, uint64_t *term);
    /* Store a record framed by the leader (its LSN is last + 1). 0, or <0:
     * the record was refused (invalid, or the disk failed). */
    int (*log_append)(void *arg, const uint8_t *rec, size_t len);
    /* Leader: log a no-op / a config entry in term; the LSN, 0 on failure. */
    uint64_t (*log_noop)(void *arg, uint64_t term);
    uint64_t (*log_config)(void *arg, uint64_t term, const uint8_t *cfg, size_t len);
    /* Cut everything after keep_lsn; if the keyspace holds entries after it
     * (applied > keep_lsn), rebuild it up to keep_lsn. When that cannot be
     * done (keep_lsn is below what the disk still holds) or keep_lsn is 0,
     * forget all data instead (the log restarts empty). Then
     * rcore_truncate_done(0), or <0 if the disk failed. */
    void (*log_truncate)(void *arg, uint64_t keep_lsn);
    /* Read framed records from..upto (at most about max bytes, at least one
     * record) for peer `to_id`; then rcore_read_done. */
    void (*log_read)(void *arg, const char *to_id, uint64_t from, uint64_t upto, uint64_t max);
    /* Keep the log against compaction (0: no need): from `replicas` on
     * for followers streaming from it (the store honours this only within
     * its retention bound: a follower further behind gets a snapshot), and
     * from `keep` on unconditionally (a follower installing a snapshot
     * needs the entries after it; a committed config not yet stored). */
    void (*log_pin)(void *arg, uint64_t replicas, uint64_t keep);

    /* ---- applying committed entries to the keyspace (followers; and a new
     * leader catching its keyspace up with its log) up to upto; then
     * rcore_apply_done. One apply at a time. ---- */
    void (*apply)(void *arg, uint64_t upto);

    /* ---- snapshots ---- */
    /* The newest published snapshot: 0 and its LSN/term/size, or <0. */
    /* The newest snapshot at or below max_lsn (UINT64_MAX: any). */
    int (*snap_latest)(void *arg, uint64_t max_lsn, uint64_t *lsn, uint64_t *term,
                       uint64_t *size);
    /* Take a snapshot; rcore_snapshot_taken once one is published. A failed
     * one need not report: the core asks again after 2 election timeouts. */
    void (*snap_take)(void *arg);
    /* Read the latest snapshot file at lsn for to_id from off (at most max
     * bytes); then rcore_snap_read_done. */
    void (*snap_read)(void *arg, const char *to_id, uint64_t lsn, uint64_t off, uint64_t max);
    /* Follower: bytes of the snapshot being received, at off (off 0 starts a
     * new file); then rcore_snap_write_done. With last, the file is complete
     * and is installed (verified, loaded, the log reset after it) before
     * rcore_snap_write_done reports. */
    void (*snap_write)(void *arg, uint64_t lsn, uint64_t term, uint64_t off, const uint8_t *p,
                       size_t n, int last);

    /* ---- the host (the server) ---- */
    /* Role, term or leader changed. */
    void (*role_changed)(void *arg);
    /* The commit point (or the confirmed round) moved. */
    void (*commit_advanced)(void *arg);
    /* The membership in effect changed (new member addresses). */
    void (*config_changed)(void *arg, const rc_config *cfg);
} rc_io;

/* Create a core for node `id` (peer and client addresses as announced),
 * starting from what the meta file and the log say. The core keeps a copy
 * of io. */
rcore *rcore_new(const rc_io *io, const rc_settings *set, const char *id, const char *peer_addr,
                 const char *client_addr, const rc_meta *meta);
void rcore_free(rcore *r);

/* How a node starts when its log and meta hold no cluster:
 *   rcore_bootstrap: found a one-node cluster (this node as its voter);
 *   rcore_join: ask the member at peer_addr to add this node. */
void rcore_bootstrap(rcore *r);
void rcore_join(rcore *r, const char *peer_addr);
/* REPLICAOF at run time on a node that alone makes up its cluster: it
 * leaves that cluster to join the one at peer_addr ("": none yet). A
 * leader first stops taking writes and steps down once all it logged is
 * committed; elections stop. Its data goes only once the other cluster
 * accepts it (as a joiner from another history). With defer (REPLICAOF
 * inside EXEC) a leader goes on taking writes until the next tick, so the
 * rest of the transaction runs as it would on Redis. rcore_stay undoes it
 * while that has not happened (REPLICAOF NO ONE): the node leads its own
 * cluster again with its data. rcore_leave fails on a member of a larger
 * cluster. */
int rcore_leave(rcore *r, const char *peer_addr, int defer, char *why, size_t whylen);
void rcore_stay(rcore *r);
/* The request whose REPLICAOF deferred the leader's leaving (EXEC) is
 * over: it takes no more writes, and steps down once they are committed. */
void rcore_leave_now(rcore *r);
/* Leaving its own cluster, the join not accepted yet. */
int rcore_leaving(const rcore *r);
/* This node's client address changed (CONFIG SET port, a restart at a new
 * address): while the membership config shows another, the leader records
 * its own, and a follower asks the leader to (a Join from a member). */
void rcore_set_client_addr(rcore *r, const char *client_addr);
/* Config entries found in the log at startup (oldest first), above the
 * meta file's config. */
void rcore_log_config(rcore *r, uint64_t lsn, const uint8_t *cfg, size_t len);
/* Entries up to applied are in the keyspace (startup: what recovery applied). */
void rcore_set_applied(rcore *r, uint64_t applied);

/* ---- driving ---- */
void rcore_tick(rcore *r);  /* every few ms */
void rcore_flush(rcore *r); /* end of a loop iteration: send what queued up */
/* A message from node from_id (authenticated by the binding). The core
 * does not keep m. */
void rcore_recv(rcore *r, const char *from_id, const Kv__PeerMessage *m);
/* A record was appended to the local log (any writer): its framed bytes,
 * header fields and payload, valid during the call. */
void rcore_on_append(rcore *r, const uint8_t *rec, size_t len, uint64_t lsn, uint64_t term,
                     int type, const uint8_t *payload, size_t plen);
/* The local durable LSN moved (or the log failed). */
void rcore_on_durable(rcore *r);
/* A snapshot was published at lsn. */
void rcore_snapshot_taken(rcore *r, uint64_t lsn);

/* ---- completions ---- */
void rcore_meta_done(rcore *r, uint64_t seq, int rc);
void rcore_truncate_done(rcore *r, int rc);
/* recs: `count` framed records (valid during the call); rc <0: the range is
 * gone (compacted) or unreadable. */
void rcore_read_done(rcore *r, const char *to_id, int rc, const uint8_t *recs, size_t len,
                     uint64_t count);
void rcore_apply_done(rcore *r, uint64_t applied, int rc);
void rcore_snap_read_done(rcore *r, const char *to_id, uint64_t lsn, uint64_t off,
                          const uint8_t *p, size_t n, uint64_t size, int rc);
void rcore_snap_write_done(rcore *r, int rc);

/* ---- commands ---- */
/* Hand leadership to target (NULL: the most caught-up voter): writes pause
 * (rcore_writes_paused), the target is caught up and told to campaign.
 * Gives up after timeout_ms. 0, or <0 with a reason; while a transfer is
 * under way, asking for the same target again is 0 (it goes on as it was)
 * and any other request an error. */
int rcore_transfer(rcore *r, const char *target_id, uint64_t timeout_ms, char *why,
                   size_t whylen);
void rcore_transfer_abort(rcore *r);
/* Whether a leadership transfer is under way. */
int rcore_transferring(const rcore *r);
/* Campaign now (REPLICAOF NO ONE on a follower): ask the leader to hand
 * over if one is known, else start an election without waiting. */
int rcore_campaign(rcore *r, char *why, size_t whylen);
/* Leader: remove a member (by id), or change it (learner <-> voter). */
int rcore_remove(rcore *r, const char *id, char *why, size_t whylen);
int rcore_set_voter(rcore *r, const char *id, int voter, char *why, size_t whylen);
/* Stop: no more messages, timers or elections (shutdown). */
void rcore_stop(rcore *r);
/* What the meta file should hold now (a shutdown stores it, with the
 * newest commit watermark). */
void rcore_current_meta(const rcore *r, rc_meta *m);
void rcore_set_min_acks(rcore *r, int min_acks);

/* ---- what the server asks ---- */
int rcore_role(const rcore *r);
uint64_t rcore_term(const rcore *r);
const char *rcore_id(const rcore *r);
/* The leader this node knows of in its term (NULL: none). */
const rc_member *rcore_leader(const rcore *r);
uint64_t rcore_commit(const rcore *r);
/* Leader: the highest committed LSN also durable on min_acks replicas (a
 * client's write is answered once it is covered); else the commit point. */
uint64_t rcore_ack_point(const rcore *r);
uint64_t rcore_applied(const rcore *r);
/* A leader ready for writes: its keyspace has its whole log applied and its
 * no-op is logged; not transferring leadership. */
int rcore_writable(const rcore *r);
/* Leader: the lease holds now (reads may be answered at once). */
int rcore_lease_valid(const rcore *r);
uint64_t rcore_lease_remaining_ms(const rcore *r);
/* Leader: a read executed now outside the lease is confirmed once
 * rcore_confirmed_round() reaches the value returned here. */
uint64_t rcore_read_round(rcore *r);
uint64_t rcore_confirmed_round(const rcore *r);
/* A follower may answer reads: it heard from a leader of its term since it
 * started and its keyspace holds nothing uncommitted. */
int rcore_follower_serving(const rcore *r);
const rc_config *rcore_config(const rcore *r);
/* Members that hold lsn durably and have applied it, not counting this
 * node (WAIT: Redis counts replicas that processed the write). */
int rcore_replicas_at(const rcore *r, uint64_t lsn);
/* Followers the leader heard from within election_ms (min-replicas). */
int rcore_good_replicas(const rcore *r);

typedef struct rc_peer_info {
    const rc_member *m;
    int self;
    uint64_t match_lsn;    /* leader: durable there and matching */
    uint64_t next_lsn;
    uint64_t applied_lsn;
    uint64_t last_ack_ms;  /* ms since its last message (UINT64_MAX: never) */
    const char *state;     /* "probe" "stream" "snapshot" "self" "-" */
} rc_peer_info;
int rcore_peer_info(const rcore *r, int i, rc_peer_info *out);

typedef struct rc_stats {
    uint64_t elections_started, elections_won, prevotes_started, prevotes_denied;
    uint64_t votes_granted, stepdowns, transfers;
    uint64_t snapshots_sent, snapshots_received, truncations;
    uint64_t partial_syncs;     /* followers caught up from their own log */
    uint64_t last_contact_ms;   /* follower: ms since the leader was heard */
    uint64_t leader_since_ms;   /* when this node became leader (its clock) */
    int election_quorum, commit_quorum, voters;
    int voters_heard;           /* leader: voters heard within the election
                                   timeout (itself included); follower: as
                                   its leader last said; else 0 */
    int ack_replicas;           /* min_acks */
    const char *transfer_state; /* "none" "catching-up" "timeout-now-sent" */
    char last_stepdown[160];
    /* Follower: the snapshot being received from the leader (lsn 0: none):
     * bytes stored so far of size. */
    uint64_t snap_recv_lsn, snap_recv_bytes, snap_recv_size;
    /* Follower: since it started following its leader it has applied all
     * that leader had committed then (Redis's link "up" after the sync). */
    int synced;
} rc_stats;
void rcore_get_stats(const rcore *r, rc_stats *st);
const char *rcore_role_name(int role);

/* Deliberate bugs, for the simulator's mutation test only (it proves the
 * invariant checks catch them): 0 in kvnode, always. */
enum {
    RC_MUT_NO_VOTE_PERSIST = 1, /* votes are never written to the meta file */
    RC_MUT_NO_TERM_CHECK = 2,   /* entries of older terms commit by counting */
};
extern int rc_mutations;

/* ---- pure decisions (decide.c), unit-tested on their own ---- */

/* The highest LSN on which two logs agree, from their term histories
 * (each ending at its last LSN). 0 if none. */
uint64_t rc_common_point(const rc_term_start *a, size_t na, uint64_t alast,
                         const rc_term_start *b, size_t nb, uint64_t blast);
/* How a leader catches a follower up after it reported its log: continue
 * from next = common + 1, or send a snapshot when that is compacted away. */
enum { RC_CATCHUP_ENTRIES = 0, RC_CATCHUP_SNAPSHOT = 1 };
int rc_catchup(uint64_t common, uint64_t leader_first, uint64_t *next);
/* The commit point: the highest LSN held by `quorum` of the n match LSNs
 * (the leader's own durable LSN among them), if the entry there is of the
 * leader's term (term_of(lsn) == term), else the previous commit. */
uint64_t rc_commit_point(const uint64_t *match, int n, int quorum, uint64_t old_commit,
                         uint64_t term, uint64_t (*term_of)(void *arg, uint64_t lsn),
                         void *arg);
/* Is a candidate's log (clast_term, clast) at least as up to date as ours? */
int rc_log_up_to_date(uint64_t clast_term, uint64_t clast, uint64_t last_term, uint64_t last);
/* Quorums for n voters: elections and commits need a majority (so every
 * commit quorum meets every election quorum). */
int rc_election_quorum(int voters);
int rc_commit_quorum(int voters);
/* The highest LSN durable on at least k of the n replicas' match LSNs
 * (k = 0: UINT64_MAX, no constraint). */
uint64_t rc_replicated_on(const uint64_t *match, int n, int k);

/* Config encoding (ClusterConfig protobuf). */
size_t rc_config_encode(const rc_config *c, uint8_t *out, size_t cap);
int rc_config_decode(const uint8_t *p, size_t n, rc_config *c);
int rc_config_find(const rc_config *c, const char *id);
int rc_config_voters(const rc_config *c);

#endif
