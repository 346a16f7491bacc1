/* netns.h — a private network for a fault run: one namespace per node on
 * a bridge, addresses 10.77.<run>.<i+1>, the bridge (where clients live, in
 * the root namespace) at 10.77.<run>.254, and nftables rules inside each
 * node's namespace to cut links. Every run takes a free <run> number (the
 * namespace names are the lock) and removes exactly what it made. */
#ifndef KV_FR_NETNS_H
#define KV_FR_NETNS_H

#include <stddef.h>

#define NN_MAX 5

typedef struct netns {
    int run;             /* 1..250 */
    int n;
    char ns[NN_MAX][32]; /* namespace names */
    char ip[NN_MAX][32]; /* node addresses */
    char bridge[16];
    char bridge_ip[32];
    int up;              /* created */
} netns;

/* Create n namespaces on a fresh bridge. 0, or -1 with a message. */
int nn_create(netns *nw, int n, char *err, size_t errlen);
/* Record the run's work directory in its pid file: if the runner dies
 * without cleaning up, the run that reclaims its number unmounts the
 * tmpfs file systems under it (dir/n0 .. n4). */
void nn_note_workdir(netns *nw, const char *dir);
/* Remove everything nn_create made (idempotent). */
void nn_destroy(netns *nw);

/* Links: node `to` drops what `from` sends it (one way), or both ways. */
int nn_cut_oneway(netns *nw, int from, int to);
int nn_cut(netns *nw, int a, int b);
/* Node i neither sends to nor receives from anyone (clients included when
 * with_clients). */
int nn_isolate(netns *nw, int i, int with_clients);
/* Inside node i's namespace, connections to `port` from anyone but the
 * clients (the bridge address) are redirected to `to_port` (nftables nat):
 * how peer links reach a proxy when the program cannot announce another
 * port (Redis replicates over its client port). nn_heal leaves it. */
int nn_redirect_peers(netns *nw, int i, int port, int to_port);
/* Remove every rule (all links up). */
int nn_heal(netns *nw);

/* Run a shell command line; 0 if it exited 0. */
int nn_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
