/* repl.h — replication as the server sees it.
 *
 * Owns the peer port, the node's role (primary or replica), the primary's
 * sessions with its replicas, the replica's link to its primary, the
 * persistent term, and the commit point: the highest LSN durable here and
 * on min-replicas-ack replicas (DESIGN.md §6, §7). It reaches the keyspace
 * and the WAL only through the engine. */
#ifndef KV_REPL_H
#define KV_REPL_H

#include "buf.h"
#include "engine.h"
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
    int client_port;             /* announced to the primary */
    int tcp_backlog;
    char cluster_secret[512];    /* "" : peers are not authenticated */
    int repl_timeout_ms;         /* silence after which a peer is dead */
    int min_replicas_ack;        /* replica acks a write needs to commit */
    uint64_t retention_bytes;    /* WAL kept for replicas (INFO) */
    char replicaof_host[256];    /* "" : start as a primary */
    int replicaof_port;
} repl_config;

/* How replication tells the server what changed. Every callback runs on
 * the loop thread, from replication's own handlers. */
typedef struct repl_host {
    void *arg;
    /* The commit point may have moved: release the replies it allows. */
    void (*commit_advanced)(void *arg);
    /* The node's role changed: replica (following host:port) or primary
     * (host NULL). The server keeps what CONFIG GET replicaof shows. */
    void (*role_changed)(void *arg, int replica, const char *host, int port);
    /* Replies held for entries this node may never commit: close their
     * clients (the outcome of those writes is unknown, as after a crash). */
    void (*fail_pending)(void *arg);
    /* Replica: a PUBLISH (shard 0) or SPUBLISH (shard 1) from the primary,
     * for this node's subscribers; the keyspace already holds everything
     * the primary logged before it. */
    void (*publish)(void *arg, int shard, const char *ch, size_t chlen, const char *msg,
                    size_t mlen);
} repl_host;

/* Load the node's identity and term, listen on the peer port, and start
 * following the configured primary (cfg->replicaof_*) if any. host is
 * copied. On failure *out may still need repl_free. */
int repl_init(repl **out, uv_loop_t *loop, engine *eng, const repl_config *cfg,
              const repl_host *host, char *err, size_t errlen);
/* Take the run-time settings of cfg (timeouts, min-replicas-ack, retention). */
void repl_reconfigure(repl *r, const repl_config *cfg);
/* Close every peer connection and the listener (shutdown). */
void repl_shutdown(repl *r);
void repl_free(repl *r);

/* The local WAL advanced (or failed): acks, commit, applying on replicas. */
void repl_on_durable(repl *r);
/* Highest LSN whose writes may be acknowledged to clients; never moves
 * back. */
uint64_t repl_commit_lsn(repl *r);
/* 1 while this node follows a primary. */
int repl_is_replica(const repl *r);
/* Replicas whose acks count now (handshake done, heard from recently). */
int repl_good_replicas(const repl *r);
/* Replicas whose durable LSN is at least lsn (WAIT). */
int repl_replicas_at(const repl *r, uint64_t lsn);

/* Primary: stream a PUBLISH / SPUBLISH to every replica that is streaming
 * (not to one bootstrapping or too far behind: at most once), to be
 * delivered there once it has applied after_lsn. Not logged. */
void repl_publish(repl *r, int shard, const char *ch, size_t chlen, const char *msg, size_t mlen,
                  uint64_t after_lsn);

/* REPLICAOF host port: become (or switch to being) a replica of that
 * primary (its client port). REPLICAOF NO ONE: become a primary in a new
 * term. 0 or -1 with a message for the client. */
int repl_replicaof(repl *r, const char *host, int port, char *err, size_t errlen);
int repl_promote(repl *r, char *err, size_t errlen);

uint64_t repl_term(const repl *r);
/* A primary that saw a newer term and stopped taking writes. */
int repl_stale_primary(const repl *r);
const char *repl_node_id(const repl *r);

/* ROLE reply, in Redis's format. */
void repl_role_reply(repl *r, reply *rp);
/* INFO replication lines (Redis's names plus commit_lsn, term …). */
void repl_info(repl *r, kbuf *out);
/* sync_full / sync_partial_ok / sync_partial_err (INFO stats). */
void repl_sync_stats(const repl *r, uint64_t *full, uint64_t *partial_ok, uint64_t *partial_err);

#endif
