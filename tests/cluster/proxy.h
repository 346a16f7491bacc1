/* proxy.h — a TCP proxy on a node's peer links, for delay and loss faults
 * (these kernels have no tc netem).
 *
 * One proxy per node, a thread of its own living in the node's network
 * namespace: it listens on ip:listen_port (the peer port the node announces)
 * and forwards every connection to ip:upstream_port (the node's real peer
 * port). Peers reach the node only through it; as the proxy terminates the
 * TCP connection in the node's own namespace, nftables rules there still see
 * the peers' addresses and partitions still cut these links.
 *
 * A fault on a connection is one of:
 *   delay: every chunk of bytes, either way, is held a random time in
 *          [lo, hi] ms (order kept: a chunk never overtakes the one before);
 *   loss:  TCP cannot lose bytes, so loss is modelled as stalls (nothing
 *          moves either way for a random 100..1500 ms, now and then) and
 *          resets (both sides closed with RST, about one connection in
 *          reset_pct per second).
 * A fault applies to all of a proxy's connections (its node's inbound
 * links) or only to those from one peer address (the same node's outbound
 * links, seen by the other nodes' proxies). */
#ifndef KV_FR_PROXY_H
#define KV_FR_PROXY_H

#include <stddef.h>
#include <stdint.h>

typedef struct fr_proxy fr_proxy;

typedef enum fr_pmode { FP_NONE, FP_DELAY, FP_LOSS } fr_pmode;

typedef struct fr_pfault {
    fr_pmode mode;
    char from[32];  /* "" every connection, else only those from this address */
    int lo_ms, hi_ms; /* delay range */
    int stall_pct;  /* loss: chance per 100 ms that a connection stalls */
    int reset_pct;  /* loss: chance per second that a connection is reset */
} fr_pfault;

typedef struct fr_pstats {
    long accepted, resets, stalls;
    long long bytes, delayed_bytes;
} fr_pstats;

/* Start a proxy in the network namespace at nspath (/var/run/netns/NAME).
 * NULL with a message on failure. */
fr_proxy *fp_start(const char *nspath, const char *ip, int listen_port, int upstream_port,
                   uint64_t seed, char *err, size_t errlen);
/* Set (mode FP_NONE: clear) the fault. Takes effect within ~10 ms; bytes
 * already held keep their release times. */
void fp_set(fr_proxy *p, const fr_pfault *f);
void fp_stats(fr_proxy *p, fr_pstats *out);
/* Stop the thread and close every socket (NULL: nothing). */
void fp_stop(fr_proxy *p);

#endif
