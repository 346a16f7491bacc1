/* listen.h — TCP listeners on a libuv loop: the one helper the client port
 * (server/) and the peer port (replication/) both use. */
#ifndef KV_LISTEN_H
#define KV_LISTEN_H

#include <stddef.h>
#include <uv.h>

/* Initialize t on loop, bind it to addr:port (IPv4, or IPv6 when addr has a
 * ':'; IPv6 sockets are v6-only) and listen with backlog, calling cb for
 * connections; t->data = data. t must be uv_close'd by the caller in every
 * case (it is initialized even on failure). 0, or a negative libuv error
 * (UV_EINVAL for an address that does not parse), or KV_LISTEN_SKIPPED
 * (not listening, and not an error), as Redis's listenToPort: for "-addr"
 * (an optional address, as redis.conf's "bind 127.0.0.1 -::1") that the
 * host does not have, and for an address family the host does not
 * support. */
#define KV_LISTEN_SKIPPED 1
int kv_tcp_listen(uv_loop_t *loop, uv_tcp_t *t, const char *addr, int port, int backlog,
                  uv_connection_cb cb, void *data);

/* Split "host:port" (or "[v6]:port") into host and port. 0 or -1. */
int kv_split_hostport(const char *addr, char *host, size_t hostlen, int *port);

#endif
