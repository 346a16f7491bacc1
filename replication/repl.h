/* repl.h — replication as the server sees it.
 *
 * Owns the peer port, the replication core (replication/core: elections,
 * terms, the commit point, membership) and its binding to libuv and the
 * engine. The server learns what changed through repl_host callbacks and
 * asks the questions below; replication never sees the server.
 *
 * Roles: a node is the leader (the primary: it executes writes), or a
 * follower (a replica: it stores, acks and applies what the leader
 * commits), or a candidate for a moment during an election. */
#ifndef KV_REPL_H
#define KV_REPL_H

#include "buf.h"
#include "engine.h"
#include "meta.h"
#include "reply.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct repl repl;

#define REPL_MAX_BIND 16

/* Replication's settings: a copy the server fills from its configuration
 * (and again on CONFIG SET). Replication never sees the server's config. */
typedef struct repl_config {
    char node_id[48];            /* "" : generated on first start */
    char bind[REPL_MAX_BIND][64]; /* peer listen addresses */
    int nbind;
    int peer_port;
    char announce_ip[64];        /* how peers and clients reach this node */
    int announce_port;           /* client port announced (0: port) */
    int announce_peer_port;      /* peer port announced (0: peer_port) */
    int client_port;
    int tcp_backlog;
    char cluster_secret[512];    /* "" : peers are not authenticated */
    int repl_timeout_ms;         /* election timeout (minimum) */
    int heartbeat_ms;
    int min_replicas_ack;        /* replica acks a write needs to commit (at least) */
    uint64_t retention_bytes;    /* WAL kept for replicas (INFO) */
    char replicaof_host[256];    /* join the cluster of this node ("" : none) */
    int replicaof_port;
} repl_config;

/* How replication tells the server what changed. Every callback runs on
 * the loop thread, from replication's own handlers. */
typedef struct repl_host {
    void *arg;
    /* The commit point or the confirmed heartbeat round moved: release the
     * replies that waited for them. */
    void (*commit_advanced)(void *arg);
    /* Role, term or leader changed (repl_role and friends say what now). */
    void (*role_changed)(void *arg);
    /* Replies held for entries this node may never commit (it stopped
     * leading): close their clients, the outcome of those writes is
     * unknown, as after a crash. */
    void (*fail_pending)(void *arg);
    /* Follower: a PUBLISH (shard 0) or SPUBLISH (shard 1) from the leader,
     * for this node's subscribers; the keyspace already holds everything
     * the leader logged before it. */
    void (*publish)(void *arg, int shard, const char *ch, size_t chlen, const char *msg,
                    size_t mlen);
    /* Follower: the keyspace was replaced or rebuilt (a snapshot from the
     * leader installed, a divergent suffix cut and the keyspace reloaded,
     * the data wiped): any key may have changed. NULL: not told. */
    void (*keyspace_replaced)(void *arg);
} repl_host;

/* The meta file of dir (before the engine opens: its commit watermark is
 * the engine's replay limit). node_id: the configured id or "". */
int repl_load_meta(const char *dir, const char *node_id, node_meta *m, int *fresh, char *err,
                   size_t errlen);

/* Start: listen on the peer port, start the core from meta and the log,
 * and found a one-node cluster, rejoin ours, or join cfg->replicaof.
 * A one-node cluster is ready (leading) when this returns. On failure *out
 * may still need repl_shutdown/repl_free. */
int repl_init(repl **out, uv_loop_t *loop, engine *eng, const repl_config *cfg,
              const repl_host *host, const node_meta *meta, char *err, size_t errlen);
/* Take the run-time settings of cfg (timeouts, min-replicas-ack, retention). */
void repl_reconfigure(repl *r, const repl_config *cfg);
/* The client listener moved to another port (CONFIG SET port): unless
 * announce-port names one, the address this node announces in the
 * membership config follows it. */
void repl_set_client_port(repl *r, int port);
/* Stop: no more messages or elections; close the peer port. */
void repl_shutdown(repl *r);
void repl_free(repl *r);

/* The local WAL advanced (or failed). */
void repl_on_durable(repl *r);

/* ---- roles ---- */
enum { REPL_FOLLOWER = 0, REPL_CANDIDATE = 1, REPL_LEADER = 2 };
int repl_role(const repl *r);
/* The leader, ready for writes (its log applied, not handing over). */
int repl_writable(const repl *r);
/* A follower may answer reads: it heard from its leader since it started
 * and holds nothing uncommitted. */
int repl_follower_serving(const repl *r);
/* A follower in contact with its leader (heard within the election
 * timeout): Redis's master_link_status:up. 0 on the leader. */
int repl_master_link_up(const repl *r);
/* The leader's announced client address (host, port), 0 if known. */
int repl_leader_addr(const repl *r, char *host, size_t hostlen, int *port);
uint64_t repl_term(const repl *r);
const char *repl_node_id(const repl *r);

/* ---- commit, reads ---- */
/* Highest LSN whose writes may be acknowledged: committed, and durable on
 * min-replicas-ack replicas when that is set. */
uint64_t repl_commit_lsn(repl *r);
/* Leader: may a read be answered without a heartbeat round? */
int repl_lease_valid(const repl *r);
/* Leader: the round that confirms a read executed now outside the lease. */
uint64_t repl_read_round(repl *r);
uint64_t repl_confirmed_round(const repl *r);
/* Voters heard from within the election timeout (NOREPLICAS check). */
int repl_good_replicas(const repl *r);
/* Bytes queued to other nodes, not yet written to their sockets (INFO's
 * mem_clients_slaves; not counted against maxmemory). */
uint64_t repl_output_bytes(repl *r);
/* Replicas whose durable LSN is at least lsn (WAIT). */
int repl_replicas_at(const repl *r, uint64_t lsn);

/* ---- Pub/Sub ---- */
/* Leader: send a PUBLISH / SPUBLISH to every follower the peer network can
 * reach without a backlog (at most once: not to one that is unreachable
 * or far behind), to be delivered there once it has applied after_lsn.
 * Not logged. */
void repl_publish(repl *r, int shard, const char *ch, size_t chlen, const char *msg, size_t mlen,
                  uint64_t after_lsn);

/* ---- commands ---- */
/* REPLICAOF host port: follow that member of this node's cluster, or (a
 * node alone in its cluster) leave it and join the cluster of host:port,
 * whose data replaces this node's once it accepts the node. 0; 1 when that
 * is already the leader followed or the cluster being joined (Redis's
 * "Already connected to specified master"); -1 with a Redis-style error
 * line in err. in_exec: inside a transaction, whose later writes still
 * run (rcore_leave's defer). */
int repl_replicaof(repl *r, const char *host, int port, int in_exec, char *err, size_t errlen);
/* The host and port a run-time REPLICAOF named, while this node has not
 * heard from a leader since (-1 if none). */
int repl_replicaof_target(const repl *r, char *host, size_t hostlen, int *port);
/* After each client request (see rcore_leave_now). */
void repl_request_done(repl *r);
/* This node alone makes up its cluster (a REPLICAOF would move it out). */
int repl_alone(const repl *r);
/* REPLICAOF NO ONE: campaign (an election, never a promotion without
 * votes): 0, or -1 with an error line in err. A node leaving its own
 * one-node cluster for another that has not taken it yet stays, and leads
 * it again. */
int repl_promote(repl *r, char *err, size_t errlen);
/* FAILOVER [TO host port] [TIMEOUT ms] / FAILOVER ABORT. */
int repl_failover(repl *r, const char *host, int port, uint64_t timeout_ms, char *err,
                  size_t errlen);
int repl_failover_abort(repl *r, char *err, size_t errlen);
int repl_failover_in_progress(const repl *r);
/* Membership: remove a member, given as node id or client host:port. */
int repl_remove_member(repl *r, const char *who, char *err, size_t errlen);
/* The members as an array reply (KVCLUSTER MEMBERS). */
void repl_members_reply(repl *r, reply *rp);

/* What the Sentinel API reports (FAILOVER.md §4). */
typedef struct repl_sentinel_member {
    char id[48];
    char host[256];
    int port;                 /* client port */
    int is_leader, voter, self;
    int known;                /* its reachability is known here: the leader
                                 knows every member's, a follower its
                                 leader's */
    int reachable;            /* heard within the election timeout (self: 1) */
    int64_t last_ack_ms;      /* ms since its last message, -1 never */
    uint64_t match_lsn;
} repl_sentinel_member;

typedef struct repl_sentinel_view {
    int vouch;                /* this node can vouch for the leader named below:
                                 it is that leader inside its lease, or a
                                 follower that heard from it within the
                                 election timeout in its current term */
    int is_leader;            /* this node leads (ready or not) */
    char leader_id[48];
    char leader_host[256];    /* "" : no leader known */
    int leader_port;
    int64_t leader_contact_ms; /* ms since the leader was last heard (0: this
                                  node; -1: never) */
    uint64_t term;
    int election_timeout_ms;
    int election_quorum;
    int voters, reachable_voters;
    int nmembers;
    repl_sentinel_member m[16];
} repl_sentinel_view;
void repl_sentinel_view_get(repl *r, repl_sentinel_view *v);

/* ROLE reply, in Redis's format. */
/* Replicas that are not members of the cluster: clients on Redis's
 * replication stream (the server's SYNC/PSYNC: redis-cli --replica, a
 * redis-server replica, tools), which INFO and ROLE list after the
 * members, as Redis lists its replicas. */
typedef struct repl_extra_replica {
    char ip[64];
    int port;          /* its REPLCONF listening-port (0: none given) */
    const char *state; /* Redis's: "send_bulk" while its RDB goes, then "online" */
    uint64_t offset;   /* the offset of its last REPLCONF ACK */
    long long lag;     /* seconds since then */
} repl_extra_replica;
void repl_role_reply(repl *r, reply *rp, const repl_extra_replica *x, int nx);
/* INFO replication lines (Redis's names plus term, leader, commit …). */
void repl_info(repl *r, kbuf *out, const repl_extra_replica *x, int nx);
/* Peer port counters for INFO stats (peer_auth_failures, …). */
void repl_info_stats(repl *r, kbuf *out);
/* Figures for the metrics endpoint (metrics.c), as numbers. */
typedef struct repl_metrics {
    int role;                    /* REPL_* */
    int leader_known;
    uint64_t term, commit_lsn, applied_lsn;
    uint64_t lease_remaining_ms; /* leader: time left on its lease (0 otherwise) */
    uint64_t last_contact_ms;    /* follower: since the leader was heard (UINT64_MAX: never) */
    int members, voters, replicas; /* replicas: members other than this node */
    int good_replicas;           /* heard from within the election timeout */
    uint64_t elections_started, elections_won, prevotes_started, prevotes_denied;
    uint64_t stepdowns, transfers, snapshots_sent, snapshots_received, truncations;
    uint64_t partial_syncs;
} repl_metrics;
void repl_get_metrics(const repl *r, repl_metrics *m);
/* sync_full / sync_partial_ok / sync_partial_err (INFO stats). */
void repl_sync_stats(const repl *r, uint64_t *full, uint64_t *partial_ok, uint64_t *partial_err);

#endif
