/* peer.h — the peer port: one-way, authenticated, framed connections.
 *
 * A node sends its messages to another over its own outbound connection to
 * that node's peer address, and receives on the connections others open to
 * it (proto/peer.proto). The acceptor opens with a Challenge (a nonce);
 * the connector answers Hello with its node id and, when a cluster secret
 * is set, HMAC-SHA256(secret, nonce || id). Until then an inbound
 * connection may carry at most 64 KiB frames; after it, what the records
 * need. Everything later on an inbound connection is handed up as coming
 * from that node.
 *
 * Sending is best effort, which is what the replication core expects: an
 * outbound connection is made on the first message to an address, messages
 * queue (bounded) until it is authenticated, and when it breaks what was
 * queued is dropped and the next send after a short backoff reconnects. */
#ifndef KV_PEER_H
#define KV_PEER_H

#include "peer.pb-c.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct peer_net peer_net;

typedef struct peer_net_config {
    const char *self_id;
    const char *secret;          /* "" : none */
    const char *const *bind;     /* listen addresses */
    int nbind;
    int port;
    int backlog;
    size_t max_frame;            /* after authentication */
} peer_net_config;

/* An authenticated message from node `from`; m is valid during the call. */
typedef void (*peer_net_on_message)(void *arg, const char *from, const Kv__PeerMessage *m);

/* Listen on cfg's addresses. On failure *out is NULL and err says why. */
int peer_net_start(peer_net **out, uv_loop_t *loop, const peer_net_config *cfg,
                   peer_net_on_message cb, void *arg, char *err, size_t errlen);
/* Queue m for the node at to_addr (host:port), known to the caller as to_id. */
void peer_net_send(peer_net *n, const char *to_id, const char *to_addr, const Kv__PeerMessage *m);
/* Bytes queued for to_id and not yet handed to the kernel. */
uint64_t peer_net_backlog(peer_net *n, const char *to_id);
/* The same over every peer this node sends to. */
uint64_t peer_net_total_backlog(peer_net *n);
/* Close the outbound connection to to_id (a removed member). */
void peer_net_forget(peer_net *n, const char *to_id);
/* Close every connection and the listeners; the memory goes once the loop
 * has run the close callbacks. NULL is fine. */
void peer_net_stop(peer_net *n);

typedef struct peer_net_stats {
    uint64_t accepted, auth_failures, protocol_errors, connects, connect_failures;
    uint64_t dropped_msgs; /* not sendable (no connection, queue full) */
    int inbound, outbound;
} peer_net_stats;
void peer_net_get_stats(const peer_net *n, peer_net_stats *st);

/* Split "host:port" ("[v6]:port" too) into host and port. 0 or -1. */
int peer_split_addr(const char *addr, char *host, size_t hostlen, int *port);

#endif
