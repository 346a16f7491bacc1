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
#include "reply.h"

#include <stddef.h>
#include <stdint.h>

typedef struct server server;
typedef struct repl repl;

/* Load the node's identity and term, listen on the peer port, and start
 * following the configured primary (cfg.replicaof) if any. */
int repl_init(server *s, char *err, size_t errlen);
/* Close every peer connection and the listener (shutdown). */
void repl_shutdown(repl *r);
void repl_free(repl *r);

/* The local WAL advanced (or failed): acks, commit, applying on replicas. */
void repl_on_durable(repl *r);
/* Highest LSN whose writes may be acknowledged to clients. */
uint64_t repl_commit_lsn(const repl *r);
/* Replicas whose acks count now (handshake done, heard from recently). */
int repl_good_replicas(const repl *r);
/* Replicas whose durable LSN is at least lsn (WAIT). */
int repl_replicas_at(const repl *r, uint64_t lsn);

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
