/* netns.c — see netns.h. */
#include "netns.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* Who owns run <run>: its pid file, so that a later run can remove what a
 * killed one (SIGKILL, a ctest timeout) left behind. */
#define NN_PIDDIR "/run/kvfr"

int nn_sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[2200];
    snprintf(full, sizeof full, "%s >/dev/null 2>&1", cmd);
    int rc = system(full);
    return rc == 0 ? 0 : -1;
}

static void pidfile(int run, char *path, size_t len)
{
    snprintf(path, len, NN_PIDDIR "/%d.pid", run);
}

/* Remove the namespaces, links and bridge of run `run` (made by a process
 * that is gone). */
static void remove_run(int run)
{
    for (int i = NN_MAX - 1; i >= 0; i--) {
        nn_sh("ip link del kvfr%dh%d", run, i);
        nn_sh("ip netns del kvfr%dn%d", run, i);
    }
    nn_sh("ip link del kvfrb%d", run);
}

/* Run `run` exists: is its owner dead? Then clear it up and say so. */
static int reclaim_stale(int run)
{
    char path[64];
    pidfile(run, path, sizeof path);
    FILE *f = fopen(path, "r");
    long pid = 0;
    char dir[256] = "";
    if (f) {
        if (fscanf(f, "%ld %255s", &pid, dir) < 1)
            pid = 0;
        fclose(f);
    }
    if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
        return 0;
    fprintf(stderr, "faultrun: removing run %d left behind by process %ld\n", run, pid);
    remove_run(run);
    if (dir[0] == '/')
        for (int i = 0; i < NN_MAX; i++)
            nn_sh("umount -l '%s/n%d'", dir, i);
    unlink(path);
    return 1;
}

/* Claim a run number: creating its first namespace is the lock. */
static int claim(netns *nw)
{
    mkdir(NN_PIDDIR, 0755);
    /* First clear up after runs whose runner died (SIGKILL, a timeout). */
    for (int run = 1; run <= 240; run++) {
        char path[64];
        pidfile(run, path, sizeof path);
        if (access(path, F_OK) == 0)
            reclaim_stale(run);
    }
    int start = (int)(getpid() % 240) + 1;
    for (int k = 0; k < 240; k++) {
        int run = (start + k) % 240 + 1;
        char name[32];
        snprintf(name, sizeof name, "kvfr%dn0", run);
        if (nn_sh("ip netns add %s", name) == 0 ||
            (reclaim_stale(run) && nn_sh("ip netns add %s", name) == 0)) {
            nw->run = run;
            char path[64];
            pidfile(run, path, sizeof path);
            FILE *f = fopen(path, "w");
            if (f) {
                fprintf(f, "%ld\n", (long)getpid());
                fclose(f);
            }
            /* Links of that number are leftovers of a dead run. */
            for (int i = 0; i < NN_MAX; i++)
                nn_sh("ip link del kvfr%dh%d", run, i);
            nn_sh("ip link del kvfrb%d", run);
            return 0;
        }
    }
    return -1;
}

int nn_create(netns *nw, int n, char *err, size_t errlen)
{
    memset(nw, 0, sizeof *nw);
    nw->n = n;
    if (claim(nw) < 0) {
        snprintf(err, errlen, "cannot create a network namespace (ip netns add): root and "
                              "iproute2 are needed");
        return -1;
    }
    nw->up = 1;
    snprintf(nw->bridge, sizeof nw->bridge, "kvfrb%d", nw->run);
    snprintf(nw->bridge_ip, sizeof nw->bridge_ip, "10.77.%d.254", nw->run);
    if (nn_sh("ip link add %s type bridge", nw->bridge) ||
        nn_sh("ip addr add %s/24 dev %s", nw->bridge_ip, nw->bridge) ||
        nn_sh("ip link set %s up", nw->bridge)) {
        snprintf(err, errlen, "cannot create bridge %s", nw->bridge);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        snprintf(nw->ns[i], sizeof nw->ns[i], "kvfr%dn%d", nw->run, i);
        snprintf(nw->ip[i], sizeof nw->ip[i], "10.77.%d.%d", nw->run, i + 1);
        char host[16], peer[16];
        snprintf(host, sizeof host, "kvfr%dh%d", nw->run, i);
        snprintf(peer, sizeof peer, "kvfr%dc%d", nw->run, i);
        if ((i > 0 && nn_sh("ip netns add %s", nw->ns[i])) ||
            nn_sh("ip netns exec %s ip link set lo up", nw->ns[i]) ||
            nn_sh("ip link add %s type veth peer name %s", host, peer) ||
            nn_sh("ip link set %s netns %s", peer, nw->ns[i]) ||
            nn_sh("ip link set %s master %s", host, nw->bridge) ||
            nn_sh("ip link set %s up", host) ||
            nn_sh("ip netns exec %s ip addr add %s/24 dev %s", nw->ns[i], nw->ip[i], peer) ||
            nn_sh("ip netns exec %s ip link set %s up", nw->ns[i], peer) ||
            nn_sh("ip netns exec %s nft add table inet kvfr", nw->ns[i]) ||
            nn_sh("ip netns exec %s nft add chain inet kvfr input "
                  "'{ type filter hook input priority 0; policy accept; }'",
                  nw->ns[i]) ||
            nn_sh("ip netns exec %s nft add chain inet kvfr output "
                  "'{ type filter hook output priority 0; policy accept; }'",
                  nw->ns[i])) {
            snprintf(err, errlen, "cannot set up namespace %s (ip, nft)", nw->ns[i]);
            return -1;
        }
    }
    return 0;
}

void nn_note_workdir(netns *nw, const char *dir)
{
    char path[64];
    pidfile(nw->run, path, sizeof path);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%ld %s\n", (long)getpid(), dir);
        fclose(f);
    }
}

void nn_destroy(netns *nw)
{
    if (!nw->up)
        return;
    remove_run(nw->run);
    char path[64];
    pidfile(nw->run, path, sizeof path);
    unlink(path);
    nw->up = 0;
}

int nn_cut_oneway(netns *nw, int from, int to)
{
    return nn_sh("ip netns exec %s nft add rule inet kvfr input ip saddr %s drop", nw->ns[to],
                 nw->ip[from]);
}

int nn_cut(netns *nw, int a, int b)
{
    return nn_cut_oneway(nw, a, b) | nn_cut_oneway(nw, b, a);
}

int nn_isolate(netns *nw, int i, int with_clients)
{
    int rc = 0;
    for (int j = 0; j < nw->n; j++)
        if (j != i)
            rc |= nn_cut(nw, i, j);
    if (with_clients)
        rc |= nn_sh("ip netns exec %s nft add rule inet kvfr input ip saddr %s drop", nw->ns[i],
                    nw->bridge_ip);
    return rc;
}

int nn_redirect_peers(netns *nw, int i, int port, int to_port)
{
    return nn_sh("ip netns exec %s nft add table ip kvfrnat", nw->ns[i]) ||
                   nn_sh("ip netns exec %s nft add chain ip kvfrnat prerouting "
                         "'{ type nat hook prerouting priority -100; policy accept; }'",
                         nw->ns[i]) ||
                   nn_sh("ip netns exec %s nft add rule ip kvfrnat prerouting ip saddr != %s "
                         "tcp dport %d redirect to :%d",
                         nw->ns[i], nw->bridge_ip, port, to_port)
               ? -1
               : 0;
}

int nn_heal(netns *nw)
{
    int rc = 0;
    for (int i = 0; i < nw->n; i++)
        rc |= nn_sh("ip netns exec %s nft flush table inet kvfr", nw->ns[i]);
    return rc;
}
