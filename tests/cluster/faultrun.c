/* faultrun.c — a fault run: N kvnode processes, one per network namespace
 * on a private bridge, under client workloads and faults scheduled from a
 * seed; the recorded history is then checked (checker.h) and a report
 * printed.
 *
 *   faultrun [--nodes 3|5] [--seed S] [--seconds T | --minutes M]
 *            [--kvnode PATH] [--keep] [--no-faults] [--faults a,b,...]
 *            [--sabotage --expect-anomalies] [--redis | --compare-redis]
 *
 * Peer links go through a small TCP proxy per node (proxy.h; the node
 * announces the proxy's port as its peer port), which the delay and loss
 * faults slow down, stall and reset. fsync stalls and errors use the
 * test-build failpoint of node/store/fsio.c (KVNODE_FAILPOINT_FILE).
 * --redis runs the same workload and schedule against Redis + Sentinel;
 * --compare-redis does that after the kvnode run and prints both side by
 * side.
 *
 * Exit status: 0 the history passed every checker and the cluster
 * converged; 1 it did not (the report says what, and the replay line how to
 * run the same schedule again); 77 skipped (not root, no ip/nft).
 *
 * Clients run in the root namespace and talk only to the namespaces'
 * addresses (10.77.<run>.<i>). Every process started is stopped by PID and
 * the namespaces, bridge and nftables tables are removed on every exit path
 * (SIGINT and SIGTERM included; after a SIGKILL the next run reclaims them,
 * netns.c).
 *
 * What a fault schedule fixes: the order of fault types, their durations,
 * the gaps and which target (the primary, or node k). Which node is primary
 * at that moment is the cluster's doing, so a replay repeats the schedule,
 * not the exact interleaving. */
#include "checker.h"
#include "history.h"
#include "netns.h"
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvclient.h"

#ifndef KVNODE_BIN
#error "KVNODE_BIN must be defined by the build"
#endif

#define PORT 7379
#define PEER_PORT (PORT + 10000) /* kvnode's default peer port */
#define PROXY_PORT 27379         /* the peer port announced: the proxy */
#define KEY_OPS 200 /* operations per register / list / set key */

/* ------------------------------------------------------------------------ */
/* Options and global state                                                 */
/* ------------------------------------------------------------------------ */

static struct {
    int nodes;
    uint64_t seed;
    int seconds;
    const char *kvnode;
    int keep;
    int no_faults;
    int sabotage;
    int expect_anomalies;
    int redis; /* the comparison: redis-server + redis-sentinel per node */
    int compare_redis; /* after the kvnode run, the same schedule on Redis */
    const char *summary; /* write the figures there (for --compare-redis) */
    char faults[256]; /* comma-separated subset, "" = all */
} opt;

typedef struct node {
    pid_t pid;
    int stopped; /* SIGSTOPped */
    int mounted; /* dir is a tmpfs of its own */
    char dir[256];
    char log[256];
    char clock[256]; /* libfaketime's offset file */
    char failpoint[256]; /* KVNODE_FAILPOINT_FILE: fsync stalls and errors */
    int join;        /* join this node's cluster (-1: node 0's, or found it) */
} node;

static char faketime_lib[128]; /* "" when libfaketime is not installed */

static int write_clock(int i, int offset_s);
static int log_has_since(const char *path, off_t from, const char *what);

static netns nw;
static fr_proxy *proxies[NN_MAX]; /* on each node's peer port (kvnode) */
static node nodes[NN_MAX];
static char workdir[256];
static char seeds[256];
static atomic_int stop_workload;
static volatile sig_atomic_t interrupted;
static int64_t t0_us;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - t0_us;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stdout, "[%7.2f] %s\n", (double)now_us() / 1e6, buf);
    fflush(stdout);
}

/* splitmix64: the schedule's and the workers' randomness. */
static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int rnd_in(uint64_t *s, int lo, int hi) /* [lo, hi] */
{
    return lo + (int)(rnd(s) % (uint64_t)(hi - lo + 1));
}

/* Sleep up to ms, waking early when interrupted. */
static void nap(int ms)
{
    while (ms > 0 && !interrupted) {
        int step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* ------------------------------------------------------------------------ */
/* Nodes                                                                    */
/* ------------------------------------------------------------------------ */

/* Start node i in its namespace: founder without --replicaof, the others
 * join node 0 (after a restart their data directory says where they are). */
static pid_t spawn_in(int i, const char *const *argv, const char *logpath);
static int redis_argv(int i, const char **argv);

static int node_start(int i)
{
    node *n = &nodes[i];
    char port[16];
    snprintf(port, sizeof port, "%d", PORT);
    const char *argv[32];
    int a = 0;
    if (opt.redis) {
        redis_argv(i, argv);
        pid_t pid = spawn_in(i, argv, n->log);
        if (pid < 0)
            return -1;
        n->pid = pid;
        n->stopped = 0;
        return 0;
    }
    argv[a++] = opt.kvnode;
    argv[a++] = "--bind";
    argv[a++] = nw.ip[i];
    argv[a++] = "--announce-ip";
    argv[a++] = nw.ip[i];
    argv[a++] = "--port";
    argv[a++] = port;
    argv[a++] = "--dir";
    argv[a++] = n->dir;
    argv[a++] = "--protected-mode";
    argv[a++] = "no";
    argv[a++] = "--metrics-port";
    argv[a++] = "0";
    /* The checker compares the nodes' DEBUG DIGEST (from outside the
     * namespace: not a loopback client). */
    argv[a++] = "--enable-debug-command";
    argv[a++] = "yes";
    /* Small WAL segments and frequent snapshots: rollovers and snapshots
     * happen during the faults (and a full disk bites within seconds). */
    argv[a++] = "--wal-segment-size";
    argv[a++] = "65536";
    argv[a++] = "--snapshot-wal-min-bytes";
    argv[a++] = "1048576";
    /* Peers reach this node through its proxy (delay and loss faults). */
    char pport[16];
    snprintf(pport, sizeof pport, "%d", PROXY_PORT);
    argv[a++] = "--announce-peer-port";
    argv[a++] = pport;
    if (i > 0 || n->join >= 0) {
        argv[a++] = "--replicaof";
        argv[a++] = nw.ip[n->join >= 0 ? n->join : 0];
        argv[a++] = port;
    }
    argv[a] = NULL;
    pid_t pid = spawn_in(i, argv, n->log);
    if (pid < 0)
        return -1;
    n->pid = pid;
    n->stopped = 0;
    return 0;
}

/* Fork and exec argv inside node i's namespace, output to logpath. */
static pid_t spawn_in(int i, const char *const *argv, const char *logpath)
{
    node *n = &nodes[i];
    char nspath[128];
    snprintf(nspath, sizeof nspath, "/var/run/netns/%s", nw.ns[i]);
    /* The environment: ours, plus libfaketime (when installed) reading this
     * node's wall-clock offset from a file the clock-skew fault rewrites;
     * monotonic time stays real. */
    static char *envp[512];
    static char envbuf[5][600];
    int e = 0;
    extern char **environ;
    for (char **p = environ; *p && e < 500; p++)
        if (strncmp(*p, "LD_PRELOAD=", 11) && strncmp(*p, "FAKETIME", 8) &&
            strncmp(*p, "ASAN_OPTIONS=", 13) && strncmp(*p, "KVNODE_FAILPOINT_FILE=", 22))
            envp[e++] = *p;
    if (!opt.redis) {
        snprintf(envbuf[4], sizeof envbuf[4], "KVNODE_FAILPOINT_FILE=%s", n->failpoint);
        envp[e++] = envbuf[4];
    }
    if (faketime_lib[0] && !opt.redis) {
        const char *asan = getenv("ASAN_OPTIONS");
        snprintf(envbuf[0], sizeof envbuf[0], "LD_PRELOAD=%s", faketime_lib);
        snprintf(envbuf[1], sizeof envbuf[1], "FAKETIME_TIMESTAMP_FILE=%s", n->clock);
        snprintf(envbuf[2], sizeof envbuf[2], "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
                 asan ? asan : "", asan && *asan ? ":" : "");
        envp[e++] = envbuf[0];
        envp[e++] = envbuf[1];
        envp[e++] = envbuf[2];
        envp[e++] = "FAKETIME_DONT_FAKE_MONOTONIC=1";
        envp[e++] = "FAKETIME_CACHE_DURATION=1";
    } else if (getenv("ASAN_OPTIONS")) {
        snprintf(envbuf[3], sizeof envbuf[3], "ASAN_OPTIONS=%s", getenv("ASAN_OPTIONS"));
        envp[e++] = envbuf[3];
    }
    envp[e] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* Die with the runner, whatever ends it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(nspath, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
            fprintf(stderr, "setns %s: %s\n", nspath, strerror(errno));
            _exit(127);
        }
        int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
            close(log);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) {
            dup2(null, 0);
            close(null);
        }
        execve(argv[0], (char *const *)argv, envp);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* The comparison: Redis 7 with AOF (appendfsync always) and a config file
 * that Sentinel rewrites (so a restarted node keeps the role Sentinel gave
 * it), and one redis-sentinel per node (quorum: a majority). */
static pid_t sentinels[NN_MAX];
#define SENTINEL_PORT 26379

static int redis_argv(int i, const char **argv)
{
    node *n = &nodes[i];
    static char conf[NN_MAX][300];
    snprintf(conf[i], sizeof conf[i], "%s/n%d.redis.conf", workdir, i);
    if (access(conf[i], F_OK) != 0) {
        FILE *f = fopen(conf[i], "w");
        if (!f)
            return -1;
        fprintf(f,
                "bind %s\nport %d\ndir %s\nprotected-mode no\nappendonly yes\n"
                "appendfsync always\nsave \"\"\nreplica-announce-ip %s\n"
                "enable-debug-command yes\n",
                nw.ip[i], PORT, n->dir, nw.ip[i]);
        if (i > 0)
            fprintf(f, "replicaof %s %d\n", nw.ip[0], PORT);
        fclose(f);
    }
    argv[0] = "/usr/bin/redis-server";
    argv[1] = conf[i];
    argv[2] = NULL;
    return 0;
}

static int sentinel_start(int i)
{
    char conf[300], log[300];
    snprintf(conf, sizeof conf, "%s/n%d.sentinel.conf", workdir, i);
    snprintf(log, sizeof log, "%s/n%d.sentinel.log", workdir, i);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "port %d\nbind %s\nprotected-mode no\ndir %s\nsentinel announce-ip %s\n"
            "sentinel monitor kv %s %d %d\nsentinel down-after-milliseconds kv 1000\n"
            "sentinel failover-timeout kv 5000\nsentinel parallel-syncs kv 1\n",
            SENTINEL_PORT, nw.ip[i], workdir, nw.ip[i], nw.ip[0], PORT, opt.nodes / 2 + 1);
    fclose(f);
    const char *argv[] = {"/usr/bin/redis-sentinel", conf, NULL};
    sentinels[i] = spawn_in(i, argv, log);
    return sentinels[i] > 0 ? 0 : -1;
}

/* Reap node i if it has exited (0: still running or not started). */
static int node_reap(int i)
{
    node *n = &nodes[i];
    if (n->pid <= 0)
        return 0;
    int st;
    if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
        say("node %d (pid %d) exited: %s %d", i, (int)n->pid,
            WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        n->pid = 0;
        return 1;
    }
    return 0;
}

/* Signal node i and wait (bounded) for it to exit; SIGKILL after. */
static void node_stop(int i, int sig, int timeout_ms)
{
    node *n = &nodes[i];
    if (n->pid <= 0)
        return;
    if (n->stopped && sig != SIGKILL)
        kill(n->pid, SIGCONT);
    kill(n->pid, sig);
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        if (waitpid(n->pid, NULL, WNOHANG) == n->pid) {
            n->pid = 0;
            n->stopped = 0;
            return;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
    n->pid = 0;
    n->stopped = 0;
}

static void cleanup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    for (int i = 0; i < NN_MAX; i++)
        node_stop(i, SIGKILL, 5000);
    for (int i = 0; i < NN_MAX; i++)
        if (sentinels[i] > 0) {
            kill(sentinels[i], SIGKILL);
            waitpid(sentinels[i], NULL, 0);
            sentinels[i] = 0;
        }
    for (int i = 0; i < NN_MAX; i++) {
        fp_stop(proxies[i]);
        proxies[i] = NULL;
    }
    for (int i = 0; i < NN_MAX; i++) {
        if (!nodes[i].mounted)
            continue;
        if (opt.keep) {
            /* The tmpfs goes away: keep a copy of the data for a post-mortem. */
            char cmd[700];
            snprintf(cmd, sizeof cmd, "cp -a '%s' '%s.data' 2>/dev/null", nodes[i].dir,
                     nodes[i].dir);
            if (system(cmd) != 0)
                fprintf(stderr, "faultrun: could not copy %s\n", nodes[i].dir);
        }
        umount2(nodes[i].dir, MNT_DETACH);
        nodes[i].mounted = 0;
    }
    nn_destroy(&nw);
    if (workdir[0] && !opt.keep) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
        if (system(cmd) != 0)
            fprintf(stderr, "faultrun: could not remove %s\n", workdir);
    }
}

static volatile sig_atomic_t checking; /* the workload is over */

static void on_crash(int sig);

/* SIGINT, SIGTERM, SIGHUP: the workload stops and the run cleans up; once
 * the checkers run (which may take long), or at a second signal, at once. */
static void on_signal(int sig)
{
    if (checking || interrupted) {
        on_crash(sig);
        return;
    }
    interrupted = sig;
    atomic_store(&stop_workload, 1);
}

/* A crash of the runner itself (ASan aborts, a segfault): stop the nodes
 * and remove the network before dying of the same signal. */
static void on_crash(int sig)
{
    for (int i = 0; i < NN_MAX; i++) {
        if (nodes[i].pid > 0)
            kill(nodes[i].pid, SIGKILL);
        if (sentinels[i] > 0)
            kill(sentinels[i], SIGKILL);
    }
    cleanup();
    signal(sig, SIG_DFL);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
        _exit(130);
    raise(sig);
}

/* One command to node i on a fresh connection with short timeouts (NULL:
 * no answer). */
static kv_reply *node_cmdv(int i, int argc, const char *const *argv)
{
    kv_options o;
    kv_options_init(&o);
    o.connect_timeout_ms = 1000;
    o.io_timeout_ms = 2000;
    kv_client *c;
    if (kv_client_new(&c, &o) != 0)
        return NULL;
    kv_reply *r = NULL;
    if (kv_client_connect_tcp(c, nw.ip[i], PORT) != 0 ||
        kv_client_command(c, argc, argv, NULL, &r) != 0)
        r = NULL;
    kv_client_free(c);
    return r;
}

/* INFO replication of node i into buf ("" when it does not answer). */
static void node_info(int i, char *buf, size_t len)
{
    buf[0] = 0;
    if (nodes[i].pid <= 0 || nodes[i].stopped)
        return;
    const char *argv[] = {"INFO", "replication"};
    kv_reply *r = node_cmdv(i, 2, argv);
    if (r && r->type == KV_REPLY_STRING)
        snprintf(buf, len, "%s", r->str);
    kv_reply_free(r);
}

/* A field of an INFO text ("" if absent). */
static void info_field(const char *info, const char *field, char *out, size_t len)
{
    out[0] = 0;
    char key[64];
    snprintf(key, sizeof key, "\n%s:", field);
    const char *p = strstr(info, key);
    if (!p)
        return;
    p += strlen(key);
    size_t n = strcspn(p, "\r\n");
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
}

static long long info_num(const char *info, const char *field)
{
    char v[64];
    info_field(info, field, v, sizeof v);
    return v[0] ? atoll(v) : -1;
}

/* The node whose raft role is leader (-1: none answers so). */
static int find_primary(void)
{
    char info[8192], role[32];
    int best = -1;
    long long best_replicas = -1;
    for (int i = 0; i < opt.nodes; i++) {
        node_info(i, info, sizeof info);
        if (!opt.redis) {
            info_field(info, "raft_role", role, sizeof role);
            if (!strcmp(role, "leader"))
                return i;
            continue;
        }
        /* Redis: a master; with several (split brain), the one with most
         * replicas. */
        info_field(info, "role", role, sizeof role);
        long long nrep = info_num(info, "connected_slaves");
        if (!strcmp(role, "master") && nrep > best_replicas)
            best = i, best_replicas = nrep;
    }
    return best;
}

/* The config epoch Sentinel i knows for the master (-1: no answer). */
static long long sentinel_epoch(int i)
{
    kv_options o;
    kv_options_init(&o);
    o.connect_timeout_ms = 1000;
    o.io_timeout_ms = 2000;
    kv_client *c;
    if (kv_client_new(&c, &o) != 0)
        return -1;
    long long epoch = -1;
    kv_reply *r = NULL;
    const char *argv[] = {"SENTINEL", "MASTER", "kv"};
    if (kv_client_connect_tcp(c, nw.ip[i], SENTINEL_PORT) == 0 &&
        kv_client_command(c, 3, argv, NULL, &r) == 0 && r && r->type == KV_REPLY_ARRAY)
        for (size_t k = 0; k + 1 < r->elements; k += 2)
            if (r->element[k]->str && !strcmp(r->element[k]->str, "config-epoch") &&
                r->element[k + 1]->str)
                epoch = atoll(r->element[k + 1]->str);
    kv_reply_free(r);
    kv_client_free(c);
    return epoch;
}

/* kvnode: the highest term; Redis: the highest Sentinel config epoch. */
static long long max_term(void)
{
    char info[8192];
    long long t = -1;
    for (int i = 0; i < opt.nodes; i++) {
        long long x;
        if (opt.redis) {
            x = sentinel_epoch(i);
        } else {
            node_info(i, info, sizeof info);
            x = info_num(info, "term");
        }
        if (x > t)
            t = x;
    }
    return t;
}

/* ------------------------------------------------------------------------ */
/* Histories                                                                */
/* ------------------------------------------------------------------------ */

typedef struct hist {
    fr_op *ops;
    size_t n, cap;
} hist;

static fr_op *hist_add(hist *h)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 4096;
        h->ops = realloc(h->ops, h->cap * sizeof *h->ops);
        if (!h->ops) {
            fprintf(stderr, "faultrun: out of memory\n");
            abort();
        }
    }
    fr_op *o = &h->ops[h->n++];
    memset(o, 0, sizeof *o);
    return o;
}

static void hist_free(hist *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->ops[i].rlist);
    free(h->ops);
    memset(h, 0, sizeof *h);
}

static atomic_llong next_value = 1; /* unique written values */
static atomic_llong reg_ops, list_ops, set_ops;
static atomic_ullong next_session = 1;

/* How a call ended, for the history: an error reply means refused unless
 * the server says the outcome is unknown (a WAL failure); a
 * lost connection after sending is unknown; not sent at all is a refusal. */
static fr_status outcome(int rc, const kv_reply *r)
{
    if (rc == 0 && r) {
        if (r->type != KV_REPLY_ERROR)
            return FR_OK;
        /* kvnode's WAL failed while the write waited for it (server.c);
         * every other error, MISCONF refusals included, ran nothing. */
        if (r->str && strstr(r->str, "outcome of this write is unknown"))
            return FR_UNKNOWN;
        return FR_FAIL;
    }
    if (rc == KV_ENOPRIMARY)
        return FR_FAIL;
    return FR_UNKNOWN;
}

static int parse_i64(const kv_reply *r, int64_t *out)
{
    if (!r || (r->type != KV_REPLY_STRING && r->type != KV_REPLY_STATUS) || !r->str)
        return -1;
    char *end;
    long long v = strtoll(r->str, &end, 10);
    if (end == r->str || *end)
        return -1;
    *out = v;
    return 0;
}

/* A reply array of decimal strings into a malloc'd list. */
static int parse_list(const kv_reply *r, int64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!r || (r->type != KV_REPLY_ARRAY && r->type != KV_REPLY_SET))
        return -1;
    int64_t *v = malloc((r->elements ? r->elements : 1) * sizeof *v);
    for (size_t i = 0; i < r->elements; i++)
        if (parse_i64(r->element[i], &v[i]) < 0) {
            free(v);
            return -1;
        }
    *out = v;
    *n = r->elements;
    return 0;
}

static kv_cluster *new_cluster(void)
{
    kv_options o;
    kv_options_init(&o);
    o.connect_timeout_ms = 1000;
    o.io_timeout_ms = 3000;
    o.failover_timeout_ms = 5000;
    kv_cluster *cl = NULL;
    if (kv_cluster_new(&cl, seeds, &o) != 0)
        return NULL;
    return cl;
}

typedef struct worker {
    pthread_t th;
    int id;
    int on_sets; /* a collection worker on sets (else lists) */
    uint64_t rng;
    hist regs, lists, sets;
} worker;

static void key_name(char *buf, size_t len, char kind, int64_t k)
{
    snprintf(buf, len, "%c:%" PRId64, kind, k);
}

/* Registers: GET, SET of a unique value, SET IFEQ the last value this
 * client saw; KEY_OPS operations per key (shared by the register workers). */
static void *register_worker(void *arg)
{
    worker *w = arg;
    kv_cluster *cl = new_cluster();
    int64_t last_key = -1, last_seen = -1;
    while (cl && !atomic_load(&stop_workload)) {
        int64_t k = atomic_fetch_add(&reg_ops, 1) / KEY_OPS;
        if (k != last_key) {
            last_key = k;
            last_seen = -1;
        }
        char key[32], val[32], exp[32];
        key_name(key, sizeof key, 'r', k);
        int dice = (int)(rnd(&w->rng) % 100);
        fr_op *o = hist_add(&w->regs);
        o->client = w->id;
        o->key = k;
        o->rvalue = -1;
        kv_reply *r = NULL;
        int rc;
        if (dice < 40 || (dice >= 75 && last_seen < 0)) {
            o->kind = FR_GET;
            const char *argv[] = {"GET", key};
            o->t_invoke = now_us();
            rc = kv_cluster_command(cl, KV_CMD_IDEMPOTENT, 2, argv, NULL, &r);
            o->t_complete = now_us();
            o->st = outcome(rc, r);
            if (o->st == FR_OK) {
                if (r->type == KV_REPLY_NIL)
                    o->rvalue = -1;
                else if (parse_i64(r, &o->rvalue) < 0)
                    o->st = FR_FAIL;
                else
                    last_seen = o->rvalue;
            }
        } else if (dice < 75) {
            o->kind = FR_SET;
            o->value = atomic_fetch_add(&next_value, 1);
            snprintf(val, sizeof val, "%" PRId64, o->value);
            const char *argv[] = {"SET", key, val};
            o->t_invoke = now_us();
            rc = kv_cluster_command(cl, 0, 3, argv, NULL, &r);
            o->t_complete = now_us();
            o->st = outcome(rc, r);
            if (o->st == FR_OK)
                last_seen = o->value;
        } else {
            o->kind = FR_CAS;
            o->value = atomic_fetch_add(&next_value, 1);
            o->expect = last_seen;
            snprintf(val, sizeof val, "%" PRId64, o->value);
            snprintf(exp, sizeof exp, "%" PRId64, o->expect);
            const char *argv[] = {"SET", key, val, "IFEQ", exp};
            o->t_invoke = now_us();
            rc = kv_cluster_command(cl, 0, 5, argv, NULL, &r);
            o->t_complete = now_us();
            o->st = outcome(rc, r);
            if (o->st == FR_OK) {
                o->rvalue = r->type == KV_REPLY_NIL ? 0 : 1;
                if (o->rvalue)
                    last_seen = o->value;
            }
        }
        if (o->st != FR_OK)
            o->t_complete = o->st == FR_UNKNOWN ? FR_NEVER : o->t_complete;
        kv_reply_free(r);
        if (o->st == FR_FAIL)
            nap(20); /* refused (a full disk, no primary): do not spin */
    }
    kv_cluster_free(cl);
    return NULL;
}

/* MULTI; RPUSH key v; LRANGE key 0 -1; EXEC on a plain connection to the
 * primary the cluster handle last found. */
static void txn(worker *w, kv_cluster *cl, kv_client **tx, char *tx_host, int *tx_port,
                const char *key, fr_op *o)
{
    char host[64], val[32];
    int port;
    o->kind = FR_TXN;
    o->t_invoke = now_us();
    o->st = FR_FAIL;
    if (kv_cluster_primary(cl, host, sizeof host, &port) != 0)
        goto done;
    if (!*tx || !kv_client_is_connected(*tx) || strcmp(host, tx_host) || port != *tx_port) {
        kv_options op;
        kv_options_init(&op);
        op.connect_timeout_ms = 1000;
        op.io_timeout_ms = 3000;
        if (!*tx && kv_client_new(tx, &op) != 0)
            goto done;
        if (kv_client_connect_tcp(*tx, host, port) != 0)
            goto done; /* nothing sent */
        snprintf(tx_host, 64, "%s", host);
        *tx_port = port;
    }
    snprintf(val, sizeof val, "%" PRId64, o->value);
    const char *multi[] = {"MULTI"}, *push[] = {"RPUSH", key, val},
               *range[] = {"LRANGE", key, "0", "-1"}, *exec[] = {"EXEC"};
    if (kv_client_append(*tx, 1, multi, NULL) || kv_client_append(*tx, 3, push, NULL) ||
        kv_client_append(*tx, 4, range, NULL) || kv_client_append(*tx, 1, exec, NULL)) {
        kv_client_close(*tx);
        goto done;
    }
    kv_reply *rep[4] = {0};
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++)
        rc = kv_client_read(*tx, &rep[i]);
    o->t_complete = now_us();
    if (rc != 0) {
        /* The EXEC may have run: unknown. */
        o->st = FR_UNKNOWN;
        kv_client_close(*tx);
    } else {
        o->st = outcome(0, rep[3]);
        if (o->st == FR_OK) {
            const kv_reply *e = rep[3];
            if (e->type != KV_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != KV_REPLY_INTEGER ||
                parse_list(e->element[1], &o->rlist, &o->nrlist) < 0) {
                /* Not the reply a transaction of ours gets: it may have run. */
                o->st = FR_UNKNOWN;
            } else {
                o->rvalue = e->element[0]->integer;
            }
        }
    }
    for (int i = 0; i < 4; i++)
        kv_reply_free(rep[i]);
    (void)w;
    return;
done:
    o->t_complete = now_us();
}

/* Lists: RPUSH, LRANGE and the transaction above; sets: SADD, SMEMBERS. */
static void *collection_worker(void *arg)
{
    worker *w = arg;
    kv_cluster *cl = new_cluster();
    kv_client *tx = NULL;
    char tx_host[64] = "";
    int tx_port = 0;
    int sets = w->on_sets;
    while (cl && !atomic_load(&stop_workload)) {
        int dice = (int)(rnd(&w->rng) % 100);
        char key[32], val[32];
        kv_reply *r = NULL;
        int rc;
        fr_op *o;
        if (sets) {
            int64_t k = atomic_fetch_add(&set_ops, 1) / KEY_OPS;
            key_name(key, sizeof key, 's', k);
            o = hist_add(&w->sets);
            o->key = k;
            o->client = w->id;
            if (dice < 70) {
                o->kind = FR_SADD;
                o->value = atomic_fetch_add(&next_value, 1);
                snprintf(val, sizeof val, "%" PRId64, o->value);
                const char *argv[] = {"SADD", key, val};
                o->t_invoke = now_us();
                rc = kv_cluster_command(cl, 0, 3, argv, NULL, &r);
                o->t_complete = now_us();
                o->st = outcome(rc, r);
            } else {
                o->kind = FR_SREAD;
                const char *argv[] = {"SMEMBERS", key};
                o->t_invoke = now_us();
                rc = kv_cluster_command(cl, KV_CMD_IDEMPOTENT, 2, argv, NULL, &r);
                o->t_complete = now_us();
                o->st = outcome(rc, r);
                if (o->st == FR_OK && parse_list(r, &o->rlist, &o->nrlist) < 0)
                    o->st = FR_FAIL;
            }
        } else {
            int64_t k = atomic_fetch_add(&list_ops, 1) / KEY_OPS;
            key_name(key, sizeof key, 'l', k);
            o = hist_add(&w->lists);
            o->key = k;
            o->client = w->id;
            if (dice < 50) {
                o->kind = FR_APPEND;
                o->value = atomic_fetch_add(&next_value, 1);
                snprintf(val, sizeof val, "%" PRId64, o->value);
                const char *argv[] = {"RPUSH", key, val};
                o->t_invoke = now_us();
                rc = kv_cluster_command(cl, 0, 3, argv, NULL, &r);
                o->t_complete = now_us();
                o->st = outcome(rc, r);
                if (o->st == FR_OK)
                    o->rvalue = r->type == KV_REPLY_INTEGER ? r->integer : 0;
            } else if (dice < 80) {
                o->kind = FR_LREAD;
                const char *argv[] = {"LRANGE", key, "0", "-1"};
                o->t_invoke = now_us();
                rc = kv_cluster_command(cl, KV_CMD_IDEMPOTENT, 4, argv, NULL, &r);
                o->t_complete = now_us();
                o->st = outcome(rc, r);
                if (o->st == FR_OK && parse_list(r, &o->rlist, &o->nrlist) < 0)
                    o->st = FR_FAIL;
            } else {
                o->value = atomic_fetch_add(&next_value, 1);
                txn(w, cl, &tx, tx_host, &tx_port, key, o);
                if (o->st == FR_UNKNOWN)
                    kv_cluster_discover(cl);
            }
        }
        if (o->st == FR_UNKNOWN)
            o->t_complete = FR_NEVER;
        kv_reply_free(r);
        if (o->st == FR_FAIL)
            nap(20);
    }
    kv_client_free(tx);
    kv_cluster_free(cl);
    return NULL;
}

/* Reads on any node (replicas mostly): one session is one connection to
 * one node; its reads must be prefixes of the final lists (subsets of the
 * final sets) and never go back. */
static void *replica_reader(void *arg)
{
    worker *w = arg;
    kv_options o;
    kv_options_init(&o);
    o.connect_timeout_ms = 1000;
    o.io_timeout_ms = 2000;
    while (!atomic_load(&stop_workload)) {
        int i = (int)(rnd(&w->rng) % (uint64_t)opt.nodes);
        uint64_t session = atomic_fetch_add(&next_session, 1);
        kv_client *c = NULL;
        if (kv_client_new(&c, &o) != 0 || kv_client_connect_tcp(c, nw.ip[i], PORT) != 0) {
            kv_client_free(c);
            nap(100);
            continue;
        }
        for (int n = 0; n < 40 && !atomic_load(&stop_workload); n++) {
            int sets = n % 2;
            int64_t k = (sets ? atomic_load(&set_ops) : atomic_load(&list_ops)) / KEY_OPS;
            char key[32];
            key_name(key, sizeof key, sets ? 's' : 'l', k);
            fr_op *op = hist_add(sets ? &w->sets : &w->lists);
            op->client = w->id;
            op->replica = 1;
            op->session = session;
            op->key = k;
            op->kind = sets ? FR_SREAD : FR_LREAD;
            const char *lr[] = {"LRANGE", key, "0", "-1"}, *sm[] = {"SMEMBERS", key};
            kv_reply *r = NULL;
            op->t_invoke = now_us();
            int rc = kv_client_command(c, sets ? 2 : 4, sets ? sm : lr, NULL, &r);
            op->t_complete = now_us();
            op->st = outcome(rc, r);
            if (op->st == FR_OK && parse_list(r, &op->rlist, &op->nrlist) < 0)
                op->st = FR_FAIL;
            kv_reply_free(r);
            if (rc != 0)
                break;
            nap(20);
        }
        kv_client_free(c);
    }
    return NULL;
}

/* The negative control: writes nobody records (an LPOP of an acknowledged
 * append, an SREM, a SET of a value no client wrote). The checkers must
 * report them; a run that does not is a broken harness. */
static void *saboteur(void *arg)
{
    worker *w = arg;
    kv_cluster *cl = new_cluster();
    while (cl && !atomic_load(&stop_workload)) {
        nap(1500);
        char key[32], val[32];
        kv_reply *r = NULL;
        int what = (int)(rnd(&w->rng) % 3);
        if (what == 0) {
            key_name(key, sizeof key, 'l', atomic_load(&list_ops) / KEY_OPS);
            const char *argv[] = {"LPOP", key};
            kv_cluster_command(cl, 0, 2, argv, NULL, &r);
        } else if (what == 1) {
            key_name(key, sizeof key, 's', atomic_load(&set_ops) / KEY_OPS);
            const char *argv[] = {"SPOP", key};
            kv_cluster_command(cl, 0, 2, argv, NULL, &r);
        } else {
            key_name(key, sizeof key, 'r', atomic_load(&reg_ops) / KEY_OPS);
            snprintf(val, sizeof val, "%lld", 1000000000000LL + atomic_fetch_add(&next_value, 1));
            const char *argv[] = {"SET", key, val};
            kv_cluster_command(cl, 0, 3, argv, NULL, &r);
        }
        kv_reply_free(r);
    }
    kv_cluster_free(cl);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Faults                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum ftype {
    F_KILL,
    F_STOP_SHORT,
    F_STOP_LONG,
    F_ISOLATE_PRIMARY,
    F_ISOLATE_NODE,
    F_ONEWAY,
    F_BRIDGE,
    F_FAILOVER,
    F_TERM,
    F_DISKFULL,
    F_CLOCK,
    F_MEMBER,
    F_DELAY,
    F_LOSS,
    F_FSYNC_STALL,
    F_FSYNC_ERROR,
    F_NTYPES
} ftype;

static const char *const fnames[F_NTYPES] = {
    "kill9",    "stop-short", "stop-long", "isolate-primary", "isolate-node",
    "one-way",  "bridge",     "failover",  "sigterm",         "disk-full",
    "clock-skew", "membership", "delay",   "loss",            "fsync-stall",
    "fsync-error",
};
static const int fweight[F_NTYPES] = {4, 2, 2, 3, 2, 2, 2, 1, 2, 2, 1, 1, 2, 2, 1, 1};

typedef struct fault {
    ftype type;
    int dur_ms, gap_ms;
    int primary;   /* aim at the primary (else node `target`) */
    int target, other;
    int skew_s; /* clock-skew: the offset */
    int p1, p2; /* delay: lo/hi ms; loss: stall %, reset per mille; fsync-stall: ms */
    int skipped;
    /* measured */
    int64_t t_start, t_heal, t_end;
    long long term_before, term_after;
    char what[96];
} fault;

static fault *sched;
static int nsched;
static int ndone; /* faults run so far */

static int fault_enabled(ftype t)
{
    if (!opt.faults[0])
        return 1;
    char list[258];
    snprintf(list, sizeof list, ",%s,", opt.faults);
    char needle[40];
    snprintf(needle, sizeof needle, ",%s,", fnames[t]);
    return strstr(list, needle) != NULL;
}

/* The schedule is a function of (seed, nodes, seconds, faults). */
static void make_schedule(void)
{
    uint64_t s = opt.seed;
    int enabled = 0;
    for (int t = 0; t < F_NTYPES; t++)
        enabled += fault_enabled((ftype)t);
    int64_t budget_ms = (int64_t)opt.seconds * 1000 - 5000 /* warm-up */ - 5000 /* tail */;
    sched = calloc(256, sizeof *sched);
    nsched = 0;
    if (opt.no_faults || !enabled)
        return;
    int deck[256], deck_n = 0, deck_left = 0, round = 0;
    while (budget_ms > 0 && nsched < 256) {
        fault *f = &sched[nsched];
        /* Every enabled type once first (shuffled), then by weight: a
         * short run still sees each kind of fault. */
        if (deck_left == 0) {
            deck_n = 0;
            for (int t = 0; t < F_NTYPES; t++)
                for (int c = 0; c < (round ? fweight[t] : 1); c++)
                    if (fault_enabled((ftype)t))
                        deck[deck_n++] = t;
            for (int i = deck_n - 1; i > 0; i--) {
                int j = (int)(rnd(&s) % (uint64_t)(i + 1)), tmp = deck[i];
                deck[i] = deck[j];
                deck[j] = tmp;
            }
            deck_left = round ? deck_n / 2 : deck_n; /* later rounds: half a deck */
            round++;
        }
        int t = deck[deck_n - deck_left--];
        f->type = (ftype)t;
        f->dur_ms = rnd_in(&s, 2000, 8000);
        if (f->type == F_STOP_SHORT)
            f->dur_ms = rnd_in(&s, 200, 700); /* below the 1 s election timeout */
        f->gap_ms = rnd_in(&s, 3000, 6000);   /* after healing: ~10 s per fault */
        if (f->type == F_CLOCK) /* an offset of 30 s .. 10 min, either way */
            f->skew_s = (rnd(&s) % 2 ? 1 : -1) * rnd_in(&s, 30, 600);
        if (f->type == F_DELAY) { /* up to 50..600 ms each way */
            f->p2 = rnd_in(&s, 50, 600);
            f->p1 = f->p2 / 5;
        }
        if (f->type == F_LOSS) { /* stalls 10..40 % per 100 ms, resets 2..6 % */
            f->p1 = rnd_in(&s, 10, 40);
            f->p2 = rnd_in(&s, 20, 60);
        }
        if (f->type == F_FSYNC_STALL) /* every fsync sleeps 100 ms .. 1.5 s */
            f->p1 = rnd_in(&s, 100, 1500);
        f->primary = f->type == F_ISOLATE_PRIMARY || f->type == F_FAILOVER ||
                     ((f->type == F_KILL || f->type == F_TERM || f->type == F_STOP_LONG ||
                       f->type == F_STOP_SHORT || f->type == F_ONEWAY ||
                       f->type == F_DISKFULL || f->type == F_DELAY || f->type == F_LOSS ||
                       f->type == F_FSYNC_STALL || f->type == F_FSYNC_ERROR) &&
                      rnd(&s) % 2);
        f->target = (int)(rnd(&s) % (uint64_t)opt.nodes);
        f->other = (f->target + 1 + (int)(rnd(&s) % (uint64_t)(opt.nodes - 1))) % opt.nodes;
        budget_ms -= f->dur_ms + f->gap_ms;
        if (budget_ms < 0)
            break;
        nsched++;
    }
}

/* Restart node i, waiting (bounded) until it answers. */
static void restart(int i)
{
    node_reap(i);
    if (nodes[i].pid > 0)
        return;
    if (node_start(i) < 0) {
        say("cannot restart node %d", i);
        return;
    }
    for (int t = 0; t < 300 && !interrupted; t++) {
        const char *argv[] = {"PING"};
        kv_reply *r = node_cmdv(i, 1, argv);
        int ok = r != NULL;
        kv_reply_free(r);
        if (ok)
            return;
        if (node_reap(i))
            return;
        nap(100);
    }
}

/* Set node i's wall-clock offset (libfaketime reads the file at most once
 * a second). */
static int write_clock(int i, int offset_s)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", nodes[i].clock);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%+ds\n", offset_s);
    fclose(f);
    return rename(tmp, nodes[i].clock);
}

/* Node i's fsync failpoint (fsio.c): "" (none), "fsync-stall MS" or
 * "fsync-error"; replaced atomically, read by the node at its next sync. */
static int write_failpoint(int i, const char *what)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", nodes[i].failpoint);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%s\n", what);
    fclose(f);
    return rename(tmp, nodes[i].failpoint);
}

/* A delay or loss fault on node t's peer links, both ways: t's own proxy
 * (its inbound links) for every connection, the others' for those coming
 * from t. f NULL: clear every proxy. */
static void proxies_set(int t, const fr_pfault *f)
{
    for (int i = 0; i < opt.nodes; i++) {
        fr_pfault x = {.mode = FP_NONE};
        if (f) {
            x = *f;
            if (i == t)
                x.from[0] = 0;
            else
                snprintf(x.from, sizeof x.from, "%s", nw.ip[t]);
        }
        fp_set(proxies[i], &x);
    }
}

/* A node whose WAL failed (a full disk, an fsync error) refuses data
 * commands until restarted: restart it (as an operator would) and say so. */
static void restart_if_wal_failed(fault *f, int tgt, off_t logpos)
{
    if (!log_has_since(nodes[tgt].log, logpos, "WAL failed"))
        return;
    size_t l = strlen(f->what);
    snprintf(f->what + l, sizeof f->what - l, " (its WAL failed: restarted)");
    say("  node %d's WAL failed: restarting it", tgt);
    node_stop(tgt, SIGKILL, 5000);
    restart(tgt);
}

static off_t log_size(int i)
{
    struct stat st;
    return stat(nodes[i].log, &st) == 0 ? st.st_size : 0;
}

/* Take every free byte of the file system holding path's directory. */
static void fill_disk(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return;
    struct statvfs vs;
    if (fstatvfs(fd, &vs) == 0) {
        off_t len = (off_t)vs.f_bavail * (off_t)vs.f_bsize;
        /* In steps: whatever fits, down to a page. */
        off_t at = 0;
        for (off_t step = len; step >= 4096 && at < len;) {
            if (posix_fallocate(fd, at, step) == 0)
                at += step;
            else
                step /= 2;
        }
    }
    close(fd);
}

/* Did the file gain a line containing `what` after offset `from`? */
static int log_has_since(const char *path, off_t from, const char *what)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int found = 0;
    char line[1024];
    if (fseeko(f, from, SEEK_SET) == 0)
        while (!found && fgets(line, sizeof line, f))
            found = strstr(line, what) != NULL;
    fclose(f);
    return found;
}

/* Faults a run cannot inject stay in the schedule (so a seed means the same
 * schedule everywhere) and are skipped when their turn comes. */
static const char *cannot_inject(ftype t)
{
    if (t == F_CLOCK && !faketime_lib[0])
        return "libfaketime is not installed";
    /* libfaketime recurses inside redis-server's clock_gettime. */
    if (t == F_CLOCK && opt.redis)
        return "not with Redis";
    if (t == F_MEMBER && opt.redis)
        return "KVCLUSTER is kvnode's";
    if ((t == F_FSYNC_STALL || t == F_FSYNC_ERROR) && opt.redis)
        return "kvnode's test failpoints";
#ifndef KV_FAILPOINTS
    if (t == F_FSYNC_STALL || t == F_FSYNC_ERROR)
        return "kvnode built without KV_FAILPOINTS";
#endif
    return NULL;
}

static void run_fault(fault *f)
{
    const char *why_not = cannot_inject(f->type);
    if (why_not) {
        f->t_start = f->t_heal = now_us();
        f->term_before = max_term();
        snprintf(f->what, sizeof f->what, "%s skipped: %s", fnames[f->type], why_not);
        say("%s", f->what);
        f->skipped = 1;
        return;
    }
    int tgt = f->target;
    if (f->primary) {
        int p = find_primary();
        if (p >= 0) {
            tgt = p;
            if (f->other == tgt)
                f->other = (tgt + 1) % opt.nodes;
        }
    }
    int other = f->other == tgt ? (tgt + 1) % opt.nodes : f->other;
    f->term_before = max_term();
    f->t_start = now_us();
    switch (f->type) {
    case F_KILL:
    case F_TERM:
        snprintf(f->what, sizeof f->what, "%s node %d%s for %d ms", fnames[f->type], tgt,
                 f->primary ? " (primary)" : "", f->dur_ms);
        say("fault: %s", f->what);
        node_stop(tgt, f->type == F_KILL ? SIGKILL : SIGTERM, 15000);
        nap(f->dur_ms);
        f->t_heal = now_us();
        restart(tgt);
        break;
    case F_STOP_SHORT:
    case F_STOP_LONG:
        snprintf(f->what, sizeof f->what, "SIGSTOP node %d%s for %d ms", tgt,
                 f->primary ? " (primary)" : "", f->dur_ms);
        say("fault: %s", f->what);
        if (nodes[tgt].pid > 0) {
            kill(nodes[tgt].pid, SIGSTOP);
            nodes[tgt].stopped = 1;
        }
        nap(f->dur_ms);
        if (nodes[tgt].pid > 0)
            kill(nodes[tgt].pid, SIGCONT);
        nodes[tgt].stopped = 0;
        f->t_heal = now_us();
        break;
    case F_ISOLATE_PRIMARY:
    case F_ISOLATE_NODE:
        snprintf(f->what, sizeof f->what, "isolate node %d%s from its peers for %d ms", tgt,
                 f->primary ? " (primary)" : "", f->dur_ms);
        say("fault: %s", f->what);
        nn_isolate(&nw, tgt, 0);
        nap(f->dur_ms);
        nn_heal(&nw);
        f->t_heal = now_us();
        break;
    case F_ONEWAY:
        snprintf(f->what, sizeof f->what, "node %d drops what node %d sends for %d ms", other,
                 tgt, f->dur_ms);
        say("fault: %s", f->what);
        nn_cut_oneway(&nw, tgt, other);
        nap(f->dur_ms);
        nn_heal(&nw);
        f->t_heal = now_us();
        break;
    case F_BRIDGE: {
        /* Two sides that only node `tgt` connects. */
        int side[NN_MAX], k = 0;
        for (int i = 0; i < opt.nodes; i++)
            if (i != tgt)
                side[i] = k++ % 2;
        char desc[64] = "";
        for (int a = 0; a < opt.nodes; a++)
            for (int b = a + 1; b < opt.nodes; b++)
                if (a != tgt && b != tgt && side[a] != side[b]) {
                    nn_cut(&nw, a, b);
                    size_t l = strlen(desc);
                    snprintf(desc + l, sizeof desc - l, " %d-%d", a, b);
                }
        snprintf(f->what, sizeof f->what, "bridge through node %d, cut%s, for %d ms", tgt, desc,
                 f->dur_ms);
        say("fault: %s", f->what);
        nap(f->dur_ms);
        nn_heal(&nw);
        f->t_heal = now_us();
        break;
    }
    case F_FAILOVER: {
        snprintf(f->what, sizeof f->what, "FAILOVER TO node %d (from %d)", other, tgt);
        say("fault: %s", f->what);
        char port[16];
        snprintf(port, sizeof port, "%d", PORT);
        const char *argv[] = {"FAILOVER", "TO", nw.ip[other], port, "TIMEOUT", "5000"};
        kv_reply *r = node_cmdv(tgt, 6, argv);
        if (r && r->type == KV_REPLY_ERROR)
            say("  FAILOVER answered: %s", r->str);
        kv_reply_free(r);
        nap(f->dur_ms);
        f->t_heal = now_us();
        break;
    }
    case F_DISKFULL: {
        /* Fill the node's tmpfs; free it after the duration. A node whose
         * WAL failed refuses data commands until restarted: restart it
         * (as an operator would) and say so. */
        snprintf(f->what, sizeof f->what, "disk full on node %d%s for %d ms", tgt,
                 f->primary ? " (primary)" : "", f->dur_ms);
        say("fault: %s", f->what);
        off_t logpos = log_size(tgt);
        char filler[300];
        snprintf(filler, sizeof filler, "%s/kvfr-filler", nodes[tgt].dir);
        fill_disk(filler);
        nap(f->dur_ms);
        unlink(filler);
        f->t_heal = now_us();
        restart_if_wal_failed(f, tgt, logpos);
        break;
    }
    case F_DELAY:
    case F_LOSS: {
        fr_pfault pf = {.mode = f->type == F_DELAY ? FP_DELAY : FP_LOSS};
        if (f->type == F_DELAY) {
            pf.lo_ms = f->p1;
            pf.hi_ms = f->p2;
            snprintf(f->what, sizeof f->what, "delay %d..%d ms on node %d%s's peer links for %d ms",
                     f->p1, f->p2, tgt, f->primary ? " (primary)" : "", f->dur_ms);
        } else {
            pf.stall_pct = f->p1;
            pf.reset_pct = f->p2;
            snprintf(f->what, sizeof f->what,
                     "loss on node %d%s's peer links (stalls %d%%/100ms, resets %d/1000) for %d ms",
                     tgt, f->primary ? " (primary)" : "", f->p1, f->p2, f->dur_ms);
        }
        say("fault: %s", f->what);
        fr_pstats before[NN_MAX], after[NN_MAX];
        for (int i = 0; i < opt.nodes; i++)
            fp_stats(proxies[i], &before[i]);
        proxies_set(tgt, &pf);
        nap(f->dur_ms);
        proxies_set(tgt, NULL);
        f->t_heal = now_us();
        long resets = 0, stalls = 0;
        long long delayed = 0;
        for (int i = 0; i < opt.nodes; i++) {
            fp_stats(proxies[i], &after[i]);
            resets += after[i].resets - before[i].resets;
            stalls += after[i].stalls - before[i].stalls;
            delayed += after[i].delayed_bytes - before[i].delayed_bytes;
        }
        say("  proxies: %lld bytes delayed, %ld stalls, %ld connections reset", delayed, stalls,
            resets);
        break;
    }
    case F_FSYNC_STALL:
    case F_FSYNC_ERROR: {
        char fpv[64];
        if (f->type == F_FSYNC_STALL) {
            snprintf(fpv, sizeof fpv, "fsync-stall %d", f->p1);
            snprintf(f->what, sizeof f->what, "every fsync on node %d%s stalls %d ms for %d ms",
                     tgt, f->primary ? " (primary)" : "", f->p1, f->dur_ms);
        } else {
            snprintf(fpv, sizeof fpv, "fsync-error");
            snprintf(f->what, sizeof f->what, "fsync fails (EIO) on node %d%s for %d ms", tgt,
                     f->primary ? " (primary)" : "", f->dur_ms);
        }
        say("fault: %s", f->what);
        off_t logpos = log_size(tgt);
        write_failpoint(tgt, fpv);
        nap(f->dur_ms);
        write_failpoint(tgt, "");
        f->t_heal = now_us();
        /* EIO from fsync: the node must not acknowledge what it could not
         * make durable; its WAL fails and it refuses writes until restarted. */
        restart_if_wal_failed(f, tgt, logpos);
        break;
    }
    case F_CLOCK:
        snprintf(f->what, sizeof f->what, "wall clock of node %d%s %+d s for %d ms", tgt,
                 f->primary ? " (primary)" : "", f->skew_s, f->dur_ms);
        say("fault: %s", f->what);
        write_clock(tgt, f->skew_s);
        nap(f->dur_ms);
        write_clock(tgt, 0);
        f->t_heal = now_us();
        break;
    case F_MEMBER: {
        /* Remove a follower from the cluster, wipe it, and let it join again
         * as a new node (learner, then voter once caught up). */
        int p = find_primary();
        int x = tgt == p ? other : tgt;
        if (p < 0 || x == p) {
            snprintf(f->what, sizeof f->what, "membership change skipped: no primary");
            say("fault: %s", f->what);
            f->t_heal = now_us();
            break;
        }
        snprintf(f->what, sizeof f->what,
                 "remove node %d, wipe it, %d ms later it joins again as a new node", x,
                 f->dur_ms);
        say("fault: %s", f->what);
        char addr[64];
        snprintf(addr, sizeof addr, "%s:%d", nw.ip[x], PORT);
        const char *argv[] = {"KVCLUSTER", "REMOVE", addr};
        kv_reply *r = node_cmdv(p, 3, argv);
        int removed = r && r->type != KV_REPLY_ERROR;
        if (!removed)
            say("  KVCLUSTER REMOVE answered: %s", r && r->str ? r->str : "(nothing)");
        kv_reply_free(r);
        if (removed) {
            /* The removal is committed once the leader lists one member less. */
            char info[8192];
            for (int t = 0; t < 100; t++) {
                node_info(p, info, sizeof info);
                if (info_num(info, "members") == opt.nodes - 1)
                    break;
                nap(100);
            }
            node_stop(x, SIGKILL, 5000);
            char cmd[400];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'/* '%s'/.[!.]*", nodes[x].dir, nodes[x].dir);
            nn_sh("%s", cmd);
        }
        nap(f->dur_ms);
        f->t_heal = now_us();
        if (removed) {
            nodes[x].join = p;
            restart(x);
        }
        break;
    }
    case F_NTYPES:
        break;
    }
    for (int i = 0; i < opt.nodes; i++)
        if (node_reap(i))
            say("node %d had died: restarting it", i), restart(i);
}

/* ------------------------------------------------------------------------ */
/* Convergence and final state                                              */
/* ------------------------------------------------------------------------ */

/* One leader, one term, commit == applied everywhere and the same DEBUG
 * DIGEST on every node. Returns 1 and fills why on failure. */
static int converged_redis(char *why, size_t len);

static int converged(char *why, size_t len)
{
    if (opt.redis)
        return converged_redis(why, len);
    char info[8192], lead[64], lid0[64] = "", dig0[64] = "", role[32];
    long long term0 = -1, commit0 = -1;
    int leaders = 0;
    for (int i = 0; i < opt.nodes; i++) {
        node_info(i, info, sizeof info);
        if (!info[0]) {
            snprintf(why, len, "node %d does not answer", i);
            return 0;
        }
        long long term = info_num(info, "term"), commit = info_num(info, "commit_lsn"),
                  applied = info_num(info, "applied_lsn");
        if (info_num(info, "voters") != opt.nodes || info_num(info, "members") != opt.nodes) {
            snprintf(why, len, "node %d: %lld voters, %lld members (want %d)", i,
                     info_num(info, "voters"), info_num(info, "members"), opt.nodes);
            return 0;
        }
        info_field(info, "leader_id", lead, sizeof lead);
        info_field(info, "raft_role", role, sizeof role);
        leaders += !strcmp(role, "leader");
        if (i == 0) {
            term0 = term;
            commit0 = commit;
            snprintf(lid0, sizeof lid0, "%s", lead);
        }
        if (term != term0 || strcmp(lead, lid0) || !lead[0]) {
            snprintf(why, len, "node %d: term %lld leader '%s', node 0: term %lld leader '%s'", i,
                     term, lead, term0, lid0);
            return 0;
        }
        if (commit != applied || commit != commit0) {
            snprintf(why, len, "node %d: commit %lld applied %lld (node 0 commit %lld)", i, commit,
                     applied, commit0);
            return 0;
        }
        const char *argv[] = {"DEBUG", "DIGEST"};
        kv_reply *r = node_cmdv(i, 2, argv);
        char dig[64] = "";
        if (r && (r->type == KV_REPLY_STATUS || r->type == KV_REPLY_STRING))
            snprintf(dig, sizeof dig, "%s", r->str);
        kv_reply_free(r);
        if (i == 0)
            snprintf(dig0, sizeof dig0, "%s", dig);
        if (!dig[0] || strcmp(dig, dig0)) {
            snprintf(why, len, "node %d: DEBUG DIGEST '%s', node 0 '%s'", i, dig, dig0);
            return 0;
        }
    }
    if (leaders != 1) {
        snprintf(why, len, "%d nodes say they lead", leaders);
        return 0;
    }
    return 1;
}

/* Redis: one master, every other node its replica with the link up and
 * the same replication offset, and the same DEBUG DIGEST everywhere. */
static int converged_redis(char *why, size_t len)
{
    int m = find_primary();
    if (m < 0) {
        snprintf(why, len, "no master");
        return 0;
    }
    char info[8192], v[64], dig0[64] = "";
    node_info(m, info, sizeof info);
    long long off = info_num(info, "master_repl_offset");
    for (int i = 0; i < opt.nodes; i++) {
        node_info(i, info, sizeof info);
        info_field(info, "role", v, sizeof v);
        if (i != m) {
            char host[64], link[16];
            info_field(info, "master_host", host, sizeof host);
            info_field(info, "master_link_status", link, sizeof link);
            if (strcmp(v, "slave") || strcmp(host, nw.ip[m]) || strcmp(link, "up") ||
                info_num(info, "master_repl_offset") != off) {
                snprintf(why, len,
                         "node %d: role %s, master %s, link %s, offset %lld (master %d: %lld)", i,
                         v, host, link, info_num(info, "master_repl_offset"), m, off);
                return 0;
            }
        }
        const char *argv[] = {"DEBUG", "DIGEST"};
        kv_reply *r = node_cmdv(i, 2, argv);
        char dig[64] = "";
        if (r && (r->type == KV_REPLY_STATUS || r->type == KV_REPLY_STRING))
            snprintf(dig, sizeof dig, "%s", r->str);
        else
            snprintf(why, len, "node %d: DEBUG DIGEST answered %s", i,
                     r && r->str ? r->str : "nothing");
        kv_reply_free(r);
        if (!dig[0])
            return 0;
        if (!dig0[0])
            snprintf(dig0, sizeof dig0, "%s", dig);
        if (!dig[0] || strcmp(dig, dig0)) {
            snprintf(why, len, "node %d: DEBUG DIGEST '%s', others '%s'", i, dig, dig0);
            return 0;
        }
    }
    return 1;
}

/* The final contents of every list or set key, read on the primary. */
static int read_finals(kv_cluster *cl, char kind, int64_t nkeys, fr_final **out)
{
    fr_final *f = calloc((size_t)(nkeys ? nkeys : 1), sizeof *f);
    *out = f;
    for (int64_t k = 0; k < nkeys; k++) {
        char key[32];
        key_name(key, sizeof key, kind, k);
        const char *lr[] = {"LRANGE", key, "0", "-1"}, *sm[] = {"SMEMBERS", key};
        kv_reply *r = NULL;
        int rc = kv_cluster_command(cl, KV_CMD_IDEMPOTENT, kind == 'l' ? 4 : 2,
                                    kind == 'l' ? lr : sm, NULL, &r);
        int64_t *vals = NULL;
        size_t n = 0;
        if (rc != 0 || parse_list(r, &vals, &n) < 0) {
            say("final read of %s failed", key);
            kv_reply_free(r);
            return -1;
        }
        kv_reply_free(r);
        f[k] = (fr_final){k, vals, n};
    }
    return 0;
}

static void free_finals(fr_final *f, int64_t n)
{
    for (int64_t k = 0; f && k < n; k++)
        free((void *)f[k].vals);
    free(f);
}

/* ------------------------------------------------------------------------ */
/* Report                                                                   */
/* ------------------------------------------------------------------------ */

/* The figures of one run, per fault type and per checker: printed, and
 * written to --summary for a --compare-redis parent to print side by side. */
typedef struct typefig {
    int n;
    long long elec;
    long ok, fail, unk;
    long long med_ms, max_ms; /* write unavailability */
    long anom;                /* anomalies whose operation ran in this fault's window */
} typefig;

typedef struct runfig {
    long ops, ok, fail, unk;
    double warm_rate;
    typefig tf[F_NTYPES];
    fr_verdict v[3];
    int conv;
    double conv_s;
    long outside, unattributed; /* anomalies in no fault's window / of no operation */
} runfig;

static runfig fig;

/* Which fault was active, or last injected, when the operation of an
 * anomaly was invoked: a fault's share runs from its start to the start of
 * the next fault injected (its heal and aftermath included: an isolated
 * Redis master acknowledges writes until Sentinel demotes it, after the
 * heal). Anomalies before the first fault count apart. */
static void on_anomaly(void *arg, int64_t t)
{
    (void)arg;
    if (t < 0) {
        fig.unattributed++;
        return;
    }
    int last = -1;
    for (int i = 0; i < ndone && sched[i].t_start <= t; i++)
        if (!sched[i].skipped)
            last = i;
    if (last >= 0)
        fig.tf[sched[last].type].anom++;
    else
        fig.outside++;
}

static const char *const vnames[3] = {"registers", "lists", "sets"};

static void write_summary(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f, "ops %ld %ld %ld %ld %.1f\n", fig.ops, fig.ok, fig.fail, fig.unk, fig.warm_rate);
    for (int t = 0; t < F_NTYPES; t++) {
        const typefig *x = &fig.tf[t];
        fprintf(f, "fault %s %d %lld %ld %ld %ld %lld %lld %ld\n", fnames[t], x->n, x->elec, x->ok,
                x->fail, x->unk, x->med_ms, x->max_ms, x->anom);
    }
    for (int k = 0; k < 3; k++) {
        const fr_verdict *v = &fig.v[k];
        fprintf(f, "checker %s %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld\n", vnames[k], v->keys,
                v->ops, v->lost, v->duplicated, v->phantom, v->misplaced, v->stale, v->aborted,
                v->reordered, v->nonmonotonic, v->nonlinear, v->budget);
    }
    fprintf(f, "conv %d %.1f\noutside %ld %ld\n", fig.conv, fig.conv_s, fig.outside,
            fig.unattributed);
    fclose(f);
}

static int read_summary(const char *path, runfig *r)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    memset(r, 0, sizeof *r);
    char line[512], name[64];
    int got = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "ops ", 4)) {
            got |= sscanf(line, "ops %ld %ld %ld %ld %lf", &r->ops, &r->ok, &r->fail, &r->unk,
                          &r->warm_rate) == 5;
        } else if (!strncmp(line, "fault ", 6)) {
            typefig x = {0};
            if (sscanf(line, "fault %63s %d %lld %ld %ld %ld %lld %lld %ld", name, &x.n, &x.elec,
                       &x.ok, &x.fail, &x.unk, &x.med_ms, &x.max_ms, &x.anom) == 9)
                for (int t = 0; t < F_NTYPES; t++)
                    if (!strcmp(name, fnames[t]))
                        r->tf[t] = x;
        } else if (!strncmp(line, "checker ", 8)) {
            fr_verdict v = {0};
            if (sscanf(line, "checker %63s %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld", name,
                       &v.keys, &v.ops, &v.lost, &v.duplicated, &v.phantom, &v.misplaced,
                       &v.stale, &v.aborted, &v.reordered, &v.nonmonotonic, &v.nonlinear,
                       &v.budget) == 13)
                for (int k = 0; k < 3; k++)
                    if (!strcmp(name, vnames[k]))
                        r->v[k] = v;
        } else if (!strncmp(line, "conv ", 5)) {
            got |= (sscanf(line, "conv %d %lf", &r->conv, &r->conv_s) == 2) << 1;
        } else if (!strncmp(line, "outside ", 8)) {
            sscanf(line, "outside %ld %ld", &r->outside, &r->unattributed);
        }
    }
    fclose(f);
    return got == 3 ? 0 : -1;
}

static long total_anomalies(const runfig *r)
{
    return fr_anomalies(&r->v[0]) + fr_anomalies(&r->v[1]) + fr_anomalies(&r->v[2]);
}

/* kvnode's figures next to Redis's for the same seed and schedule. */
static void print_compare(const runfig *k, const runfig *r)
{
    printf("\n== kvnode vs Redis 7 + Sentinel (appendfsync always): %d nodes, seed %" PRIu64
           ", the same fault schedule ==\n",
           opt.nodes, opt.seed);
    printf("%-16s | %-38s | %-38s\n", "", "kvnode", "Redis + Sentinel");
    printf("%-16s | %3s %5s %8s %8s %6s %4s | %3s %5s %8s %8s %6s %4s\n", "fault", "n", "elect",
           "unav med", "unav max", "unknwn", "anom", "n", "elect", "unav med", "unav max",
           "unknwn", "anom");
    for (int t = 0; t < F_NTYPES; t++) {
        const typefig *a = &k->tf[t], *b = &r->tf[t];
        if (!a->n && !b->n)
            continue;
        char l[64] = "", rr[64] = "";
        if (a->n)
            snprintf(l, sizeof l, "%3d %5lld %8lld %8lld %6ld %4ld", a->n, a->elec, a->med_ms,
                     a->max_ms, a->unk, a->anom);
        else
            snprintf(l, sizeof l, "%3s %36s", "-", "(not injected)");
        if (b->n)
            snprintf(rr, sizeof rr, "%3d %5lld %8lld %8lld %6ld %4ld", b->n, b->elec, b->med_ms,
                     b->max_ms, b->unk, b->anom);
        else
            snprintf(rr, sizeof rr, "%3s %36s", "-", "(skipped)");
        printf("%-16s | %-38s | %-38s\n", fnames[t], l, rr);
    }
    printf("%-16s | %38ld | %38ld\n", "anom. no fault", k->outside + k->unattributed,
           r->outside + r->unattributed);
    printf("\n%-26s | %20s | %20s\n", "", "kvnode", "Redis + Sentinel");
    printf("%-26s | %20ld | %20ld\n", "operations", k->ops, r->ops);
    printf("%-26s | %20ld | %20ld\n", "  ok", k->ok, r->ok);
    printf("%-26s | %20ld | %20ld\n", "  failed", k->fail, r->fail);
    printf("%-26s | %20ld | %20ld\n", "  unknown", k->unk, r->unk);
    static const char *const what[] = {"lost", "duplicated", "phantom", "misplaced", "stale",
                                       "aborted", "reordered", "non-monotonic", "non-linearizable",
                                       "over budget"};
    for (int c = 0; c < 10; c++)
        for (int x = 0; x < 3; x++) {
            long a[2];
            for (int side = 0; side < 2; side++) {
                const fr_verdict *v = &(side ? r : k)->v[x];
                long vals[10] = {v->lost,    v->duplicated, v->phantom,      v->misplaced,
                                 v->stale,   v->aborted,    v->reordered,    v->nonmonotonic,
                                 v->nonlinear, v->budget};
                a[side] = vals[c];
            }
            if (!a[0] && !a[1])
                continue;
            char label[64];
            snprintf(label, sizeof label, "%s %s", vnames[x], what[c]);
            printf("%-26s | %20ld | %20ld\n", label, a[0], a[1]);
        }
    printf("%-26s | %20ld | %20ld\n", "anomalies, all", total_anomalies(k), total_anomalies(r));
    printf("%-26s | %15s %4.1fs | %15s %4.1fs\n", "converged", k->conv ? "yes" : "NO", k->conv_s,
           r->conv ? "yes" : "NO", r->conv_s);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Longest stretch inside [from, to) without a successful write: the write
 * unavailability clients saw. */
static int64_t longest_gap(const int64_t *okt, size_t n, int64_t from, int64_t to)
{
    int64_t last = from, gap = 0;
    size_t i = 0;
    /* okt is sorted */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (okt[mid] < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (i = lo; i < n && okt[i] < to; i++) {
        if (okt[i] - last > gap)
            gap = okt[i] - last;
        last = okt[i];
    }
    if (to - last > gap)
        gap = to - last;
    return gap;
}

static void replay_line(void)
{
    printf("replay: faultrun --nodes %d --seed %" PRIu64 " --seconds %d%s%s%s%s%s%s\n", opt.nodes, opt.seed, opt.seconds, opt.no_faults ? " --no-faults" : "",
           opt.faults[0] ? " --faults " : "", opt.faults, opt.sabotage ? " --sabotage" : "",
           opt.expect_anomalies ? " --expect-anomalies" : "", opt.redis ? " --redis" : "");

}

static void usage(void)
{
    fprintf(stderr,
            "usage: faultrun [--nodes 3|5] [--seed S] [--seconds T | --minutes M]\n"
            "                [--kvnode PATH] [--keep] [--no-faults] [--faults a,b,...]\n"
            "                [--sabotage] [--expect-anomalies] [--redis | --compare-redis]\n"
            "faults:");
    for (int t = 0; t < F_NTYPES; t++)
        fprintf(stderr, " %s", fnames[t]);
    fprintf(stderr, "\n");
}

static int parse_args(int argc, char **argv)
{
    opt.nodes = 3;
    opt.seed = (uint64_t)time(NULL);
    opt.seconds = 180;
    opt.kvnode = getenv("KVNODE_BIN") && *getenv("KVNODE_BIN") ? getenv("KVNODE_BIN") : KVNODE_BIN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--nodes") && v)
            opt.nodes = atoi(v), i++;
        else if (!strcmp(a, "--seed") && v)
            opt.seed = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--seconds") && v)
            opt.seconds = atoi(v), i++;
        else if (!strcmp(a, "--minutes") && v)
            opt.seconds = atoi(v) * 60, i++;
        else if (!strcmp(a, "--kvnode") && v)
            opt.kvnode = v, i++;
        else if (!strcmp(a, "--faults") && v)
            snprintf(opt.faults, sizeof opt.faults, "%s", v), i++;
        else if (!strcmp(a, "--keep"))
            opt.keep = 1;
        else if (!strcmp(a, "--no-faults"))
            opt.no_faults = 1;
        else if (!strcmp(a, "--sabotage"))
            opt.sabotage = 1;
        else if (!strcmp(a, "--expect-anomalies"))
            opt.expect_anomalies = 1;
        else if (!strcmp(a, "--redis"))
            opt.redis = 1;
        else if (!strcmp(a, "--compare-redis"))
            opt.compare_redis = 1;
        else if (!strcmp(a, "--summary") && v)
            opt.summary = v, i++;
        else {
            usage();
            return -1;
        }
    }
    if (opt.nodes < 3 || opt.nodes > NN_MAX || opt.seconds < 15 ||
        (opt.redis && opt.compare_redis)) {
        usage();
        return -1;
    }
    return 0;
}

/* Does every Sentinel know the other Sentinels and every replica? */
static int sentinels_ready(void)
{
    for (int i = 0; i < opt.nodes; i++) {
        kv_options o;
        kv_options_init(&o);
        o.connect_timeout_ms = 1000;
        o.io_timeout_ms = 2000;
        kv_client *c;
        kv_reply *r = NULL;
        const char *argv[] = {"SENTINEL", "MASTER", "kv"};
        long long others = -1, reps = -1;
        if (kv_client_new(&c, &o) != 0)
            return 0;
        if (kv_client_connect_tcp(c, nw.ip[i], SENTINEL_PORT) == 0 &&
            kv_client_command(c, 3, argv, NULL, &r) == 0 && r && r->type == KV_REPLY_ARRAY)
            for (size_t k = 0; k + 1 < r->elements; k += 2) {
                if (!r->element[k]->str || !r->element[k + 1]->str)
                    continue;
                if (!strcmp(r->element[k]->str, "num-other-sentinels"))
                    others = atoll(r->element[k + 1]->str);
                if (!strcmp(r->element[k]->str, "num-slaves"))
                    reps = atoll(r->element[k + 1]->str);
            }
        kv_reply_free(r);
        kv_client_free(c);
        if (others != opt.nodes - 1 || reps != opt.nodes - 1)
            return 0;
    }
    return 1;
}

/* --compare-redis: this run's network and nodes go, then the same seed,
 * node count, length and fault subset run against Redis + Sentinel in a
 * child faultrun (--redis --summary FILE), and both sets of figures are
 * printed side by side. The exit status stays kvnode's. */
static void compare_redis(void)
{
    cleanup();
    char self[512], summary[128], nodes_s[16], seed_s[32], secs_s[16];
    ssize_t l = readlink("/proc/self/exe", self, sizeof self - 1);
    if (l <= 0) {
        printf("compare-redis: cannot find this program\n");
        return;
    }
    self[l] = 0;
    snprintf(summary, sizeof summary, "/tmp/kvfr-summary-%ld.txt", (long)getpid());
    snprintf(nodes_s, sizeof nodes_s, "%d", opt.nodes);
    snprintf(seed_s, sizeof seed_s, "%" PRIu64, opt.seed);
    snprintf(secs_s, sizeof secs_s, "%d", opt.seconds);
    const char *argv[16];
    int a = 0;
    argv[a++] = self;
    argv[a++] = "--redis";
    argv[a++] = "--nodes";
    argv[a++] = nodes_s;
    argv[a++] = "--seed";
    argv[a++] = seed_s;
    argv[a++] = "--seconds";
    argv[a++] = secs_s;
    argv[a++] = "--summary";
    argv[a++] = summary;
    if (opt.faults[0]) {
        argv[a++] = "--faults";
        argv[a++] = opt.faults;
    }
    if (opt.no_faults)
        argv[a++] = "--no-faults";
    argv[a] = NULL;
    printf("\n== compare-redis: the same schedule against Redis 7 + Sentinel ==\n");
    fflush(stdout);
    unlink(summary);
    pid_t pid = fork();
    if (pid == 0) {
        execv(self, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) {
        printf("compare-redis: cannot run %s\n", self);
        return;
    }
    runfig r;
    if (!WIFEXITED(st) || WEXITSTATUS(st) == 77 || read_summary(summary, &r) < 0) {
        printf("compare-redis: the Redis run gave no figures (%s %d)\n",
               WIFEXITED(st) ? "status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        unlink(summary);
        return;
    }
    unlink(summary);
    print_compare(&fig, &r);
}

static int have_tool(const char *name)
{
    return nn_sh("command -v %s", name) == 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t0_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    }
    if (parse_args(argc, argv) < 0)
        return 2;
    if (geteuid() != 0) {
        printf("SKIPPED: faultrun needs root (network namespaces, nftables)\n");
        return 77;
    }
    if (!have_tool("ip") || !have_tool("nft")) {
        printf("SKIPPED: faultrun needs iproute2 (ip) and nftables (nft)\n");
        return 77;
    }
    if (opt.redis && (access("/usr/bin/redis-server", X_OK) || access("/usr/bin/redis-sentinel", X_OK))) {
        printf("SKIPPED: --redis needs redis-server and redis-sentinel (Debian)\n");
        return 77;
    }
    if (!opt.redis && access(opt.kvnode, X_OK) != 0) {
        printf("faultrun: cannot run %s\n", opt.kvnode);
        return 1;
    }
    static const char *const ft[] = {"/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                                     "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
                                     "/usr/lib/faketime/libfaketimeMT.so.1"};
    for (size_t i = 0; i < sizeof ft / sizeof *ft && !faketime_lib[0]; i++)
        if (access(ft[i], R_OK) == 0)
            snprintf(faketime_lib, sizeof faketime_lib, "%s", ft[i]);
    if (!faketime_lib[0])
        printf("faultrun: libfaketime is not installed: clock-skew faults are skipped\n");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGSEGV, on_crash);
    signal(SIGABRT, on_crash);
    signal(SIGBUS, on_crash);
    atexit(cleanup);

    char err[256];
    if (nn_create(&nw, opt.nodes, err, sizeof err) < 0) {
        nn_destroy(&nw);
        /* No namespaces here at all (a container without the right): skip. */
        if (!nw.run) {
            printf("SKIPPED: %s\n", err);
            return 77;
        }
        printf("faultrun: %s\n", err);
        return 1;
    }
    snprintf(workdir, sizeof workdir, "/tmp/kvfr-%d-%ld", nw.run, (long)getpid());
    mkdir(workdir, 0755);
    nn_note_workdir(&nw, workdir);
    printf("faultrun: %d nodes, seed %" PRIu64 ", %d s, run %d, bridge %s, data and logs in %s\n",
           opt.nodes, opt.seed, opt.seconds, nw.run, nw.bridge, workdir);
    replay_line();
    size_t sl = 0;
    for (int i = 0; i < opt.nodes; i++) {
        snprintf(nodes[i].dir, sizeof nodes[i].dir, "%s/n%d", workdir, i);
        snprintf(nodes[i].log, sizeof nodes[i].log, "%s/n%d.log", workdir, i);
        snprintf(nodes[i].clock, sizeof nodes[i].clock, "%s/n%d.clock", workdir, i);
        snprintf(nodes[i].failpoint, sizeof nodes[i].failpoint, "%s/n%d.failpoint", workdir, i);
        nodes[i].join = -1;
        write_clock(i, 0);
        write_failpoint(i, "");
        /* The peer-link proxy: kvnode announces its port as the peer port;
         * Redis replicates (and Sentinels monitor) over the client port,
         * so there connections from the other namespaces are redirected to
         * it (the clients' own, from the bridge, are not). */
        char nspath[128], perr[256];
        snprintf(nspath, sizeof nspath, "/var/run/netns/%s", nw.ns[i]);
        proxies[i] = fp_start(nspath, nw.ip[i], PROXY_PORT, opt.redis ? PORT : PEER_PORT,
                              opt.seed * 31 + (uint64_t)i + 1, perr, sizeof perr);
        if (!proxies[i] || (opt.redis && nn_redirect_peers(&nw, i, PORT, PROXY_PORT) < 0)) {
            printf("faultrun: %s\n", proxies[i] ? "cannot redirect peer links (nft nat)" : perr);
            return 1;
        }
        /* Each node's data on a tmpfs of its own, which disk-full fills. */
        char src[32];
        snprintf(src, sizeof src, "kvfr%dn%d", nw.run, i);
        if (mkdir(nodes[i].dir, 0755) < 0 ||
            mount(src, nodes[i].dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=0755") < 0) {
            printf("faultrun: cannot mount a tmpfs on %s: %s\n", nodes[i].dir, strerror(errno));
            return 1;
        }
        nodes[i].mounted = 1;
        sl += (size_t)snprintf(seeds + sl, sizeof seeds - sl, "%s%s:%d", i ? "," : "", nw.ip[i],
                               PORT);
    }

    int rc = 1;
    /* Form the cluster: node 0 founds, the others join it. */
    int ok = node_start(0) == 0;
    for (int t = 0; ok && t < 300; t++) {
        const char *p[] = {"PING"};
        kv_reply *r = node_cmdv(0, 1, p);
        int up = r && r->type != KV_REPLY_ERROR;
        kv_reply_free(r);
        if (up)
            break;
        if (node_reap(0) || t == 299)
            ok = 0;
        nap(100);
    }
    for (int i = 1; ok && i < opt.nodes; i++)
        ok = node_start(i) == 0;
    int formed = 0;
    for (int t = 0; ok && t < 600 && !interrupted; t++) {
        char info[8192];
        node_info(0, info, sizeof info);
        if (opt.redis ? info_num(info, "connected_slaves") == opt.nodes - 1
                      : info_num(info, "voters") == opt.nodes &&
                            info_num(info, "members") == opt.nodes) {
            formed = 1;
            break;
        }
        nap(100);
    }
    for (int i = 0; formed && opt.redis && i < opt.nodes; i++)
        if (sentinel_start(i) < 0)
            formed = 0;
    /* Sentinels: wait until each knows the others and the replicas. */
    for (int t = 0; formed && opt.redis && t < 300 && !interrupted; t++) {
        int all = sentinels_ready();
        if (all)
            break;
        if (t == 299)
            formed = 0;
        nap(100);
    }
    if (!formed) {
        printf("FAILED: the cluster did not form (%d voters) within 60 s; logs in %s\n",
               opt.nodes, workdir);
        opt.keep = 1;
        return 1;
    }
    if (opt.redis)
        say("Redis formed: a master, %d replicas, %d sentinels that see each other",
            opt.nodes - 1, opt.nodes);
    else
        say("cluster formed: %d voters", opt.nodes);

    make_schedule();
    printf("schedule (%d faults):", nsched);
    for (int i = 0; i < nsched; i++)
        printf(" %s/%s/%dms", fnames[sched[i].type],
               sched[i].primary ? "primary" : (char[8]){'n', (char)('0' + sched[i].target), 0},
               sched[i].dur_ms);
    printf("\n");
    int nreg = 5, ncol = 4;
    int nworkers = nreg + ncol + 1 + (opt.sabotage ? 1 : 0);
    worker *ws = calloc((size_t)nworkers, sizeof *ws);
    uint64_t ws_seed = opt.seed ^ 0xabcdef;
    for (int i = 0; i < nworkers; i++) {
        ws[i].id = i;
        ws[i].rng = rnd(&ws_seed);
        void *(*fn)(void *) = i < nreg          ? register_worker
                              : i < nreg + ncol ? collection_worker
                              : i == nreg + ncol ? replica_reader
                                                 : saboteur;
        ws[i].on_sets = i >= nreg + ncol - 2; /* two list workers, two set workers */
        if (pthread_create(&ws[i].th, NULL, fn, &ws[i]) != 0) {
            fprintf(stderr, "faultrun: pthread_create failed\n");
            atomic_store(&stop_workload, 1);
            nworkers = i;
            break;
        }
    }

    /* Warm-up, then the schedule, then a quiet tail. */
    int64_t t_run = now_us(), t_end = t_run + (int64_t)opt.seconds * 1000000;
    nap(5000);
    int64_t t_first = now_us();
    long long warm_ops = atomic_load(&reg_ops) + atomic_load(&list_ops) + atomic_load(&set_ops);
    say("warm-up: %.0f ops/s before the first fault",
        (double)warm_ops / ((double)(t_first - t_run) / 1e6));
    int done = 0;
    for (; done < nsched && !interrupted && now_us() < t_end - 5000000; done++) {
        run_fault(&sched[done]);
        nap(sched[done].gap_ms);
        sched[done].t_end = now_us();
        sched[done].term_after = max_term();
        ndone = done + 1;
    }
    while (!interrupted && now_us() < t_end)
        nap(100);
    atomic_store(&stop_workload, 1);
    for (int i = 0; i < nworkers; i++)
        pthread_join(ws[i].th, NULL);
    int64_t t_stop = now_us();
    if (interrupted) {
        printf("faultrun: interrupted (signal %d); stopping every node and removing the network\n",
               (int)interrupted);
        replay_line();
        rc = 130;
        goto out;
    }

    checking = 1;
    /* Heal everything and wait for convergence. */
    nn_heal(&nw);
    proxies_set(0, NULL);
    for (int i = 0; i < opt.nodes; i++)
        write_failpoint(i, "");
    for (int i = 0; i < opt.nodes; i++) {
        if (nodes[i].stopped && nodes[i].pid > 0)
            kill(nodes[i].pid, SIGCONT), nodes[i].stopped = 0;
        if (nodes[i].pid <= 0 || node_reap(i))
            restart(i);
    }
    char why[256] = "";
    int conv = 0;
    int64_t t_heal = now_us();
    while (!interrupted && now_us() - t_heal < 30000000) {
        if (converged(why, sizeof why)) {
            conv = 1;
            break;
        }
        nap(200);
    }
    double conv_s = (double)(now_us() - t_heal) / 1e6;
    if (conv)
        say("converged %.1f s after the last heal: one leader, one term, commit == applied, "
            "same DEBUG DIGEST on all %d nodes", conv_s, opt.nodes);
    else
        say("NOT converged 30 s after the last heal: %s", why);

    /* Merge histories. */
    hist regs = {0}, lists = {0}, sets = {0};
    for (int i = 0; i < nworkers; i++) {
        hist *src[3] = {&ws[i].regs, &ws[i].lists, &ws[i].sets};
        hist *dst[3] = {&regs, &lists, &sets};
        for (int k = 0; k < 3; k++) {
            for (size_t j = 0; j < src[k]->n; j++)
                *hist_add(dst[k]) = src[k]->ops[j];
            free(src[k]->ops);
            memset(src[k], 0, sizeof *src[k]);
        }
    }
    /* Figures per fault type, from the history. */
    size_t nall = regs.n + lists.n + sets.n, nok = 0;
    int64_t *okt = malloc((nall ? nall : 1) * sizeof *okt);
    long tot[3] = {0};
    hist *hs[3] = {&regs, &lists, &sets};
    for (int k = 0; k < 3; k++)
        for (size_t j = 0; j < hs[k]->n; j++) {
            const fr_op *o = &hs[k]->ops[j];
            tot[o->st]++;
            if (o->st == FR_OK && !o->replica && o->kind != FR_GET && o->kind != FR_LREAD &&
                o->kind != FR_SREAD)
                okt[nok++] = o->t_complete;
        }
    qsort(okt, nok, sizeof *okt, cmp_i64);

    fr_final *lf = NULL, *sf = NULL;
    int64_t nl = (atomic_load(&list_ops) + KEY_OPS - 1) / KEY_OPS + 1,
            ns = (atomic_load(&set_ops) + KEY_OPS - 1) / KEY_OPS + 1;
    kv_cluster *cl = new_cluster();
    int finals = cl && read_finals(cl, 'l', nl, &lf) == 0 && read_finals(cl, 's', ns, &sf) == 0;
    kv_cluster_free(cl);

    fr_verdict vr = {0}, vl = {0}, vs = {0};
    vr.on_anomaly = vl.on_anomaly = vs.on_anomaly = on_anomaly;
    fr_check_registers(regs.ops, regs.n, 10000, &vr);
    if (finals) {
        fr_check_lists(lists.ops, lists.n, lf, (size_t)nl, &vl);
        fr_check_sets(sets.ops, sets.n, sf, (size_t)ns, &vs);
    }

    printf("\n== fault run report (%s): %d nodes, seed %" PRIu64 ", %.0f s of workload ==\n",
           opt.redis ? "Redis 7 + Sentinel, appendfsync always" : "kvnode", opt.nodes, opt.seed, (double)(t_stop - t_run) / 1e6);
    printf("operations: %zu (ok %ld, failed %ld, unknown %ld), %.0f ops/s before the first fault\n",
           nall, tot[FR_OK], tot[FR_FAIL], tot[FR_UNKNOWN],
           (double)warm_ops / ((double)(t_first - t_run) / 1e6));
    fig.ops = (long)nall;
    fig.ok = tot[FR_OK];
    fig.fail = tot[FR_FAIL];
    fig.unk = tot[FR_UNKNOWN];
    fig.warm_rate = (double)warm_ops / ((double)(t_first - t_run) / 1e6);
    fig.conv = conv;
    fig.conv_s = conv_s;
    printf("\n%-16s %4s %9s %9s %7s %7s %24s %9s\n", "fault", "n", "elections", "ops ok", "fail",
           "unknown", "write unavail med/max ms", "anomalies");
    for (int t = 0; t < F_NTYPES; t++) {
        int n = 0;
        long long elec = 0;
        long fok = 0, ffail = 0, funk = 0;
        int64_t gaps[256];
        for (int i = 0; i < done; i++) {
            fault *f = &sched[i];
            if ((int)f->type != t || f->skipped)
                continue;
            if (f->term_after >= 0 && f->term_before >= 0)
                elec += f->term_after - f->term_before;
            gaps[n++] = longest_gap(okt, nok, f->t_start, f->t_end);
            for (int k = 0; k < 3; k++)
                for (size_t j = 0; j < hs[k]->n; j++) {
                    const fr_op *o = &hs[k]->ops[j];
                    if (o->replica || o->t_invoke < f->t_start || o->t_invoke >= f->t_end)
                        continue;
                    fok += o->st == FR_OK;
                    ffail += o->st == FR_FAIL;
                    funk += o->st == FR_UNKNOWN;
                }
        }
        if (!n)
            continue;
        qsort(gaps, (size_t)n, sizeof *gaps, cmp_i64);
        typefig *x = &fig.tf[t];
        x->n = n;
        x->elec = elec;
        x->ok = fok;
        x->fail = ffail;
        x->unk = funk;
        x->med_ms = (long long)(gaps[n / 2] / 1000);
        x->max_ms = (long long)(gaps[n - 1] / 1000);
        printf("%-16s %4d %9lld %9ld %7ld %7ld %9lld/%-14lld %9ld\n", fnames[t], n, elec, fok,
               ffail, funk, x->med_ms, x->max_ms, x->anom);
    }
    printf("anomalies before the first fault: %ld; tied to no operation (a value nobody "
           "wrote, a search over budget): %ld\n",
           fig.outside, fig.unattributed);
    printf("\n%-10s %6s %7s %5s %4s %7s %4s %5s %7s %7s %4s %6s %6s\n", "checker", "keys", "ops",
           "lost", "dup", "phantom", "misp", "stale", "aborted", "reorder", "mono", "nonlin",
           "budget");
    fr_verdict *vv[3] = {&vr, &vl, &vs};
    const char *const *vn = vnames;
    fig.v[0] = vr;
    fig.v[1] = vl;
    fig.v[2] = vs;
    long anomalies = 0;
    for (int k = 0; k < 3; k++) {
        const fr_verdict *v = vv[k];
        printf("%-10s %6ld %7ld %5ld %4ld %7ld %4ld %5ld %7ld %7ld %4ld %6ld %6ld\n", vn[k],
               v->keys, v->ops, v->lost, v->duplicated, v->phantom, v->misplaced, v->stale,
               v->aborted, v->reordered, v->nonmonotonic, v->nonlinear, v->budget);
        anomalies += fr_anomalies(v);
    }
    for (int k = 0; k < 3; k++)
        if (vv[k]->first[0])
            printf("first %s anomaly: %s\n", vn[k], vv[k]->first);
    printf("\nfaults injected:\n");
    for (int i = 0; i < done; i++)
        printf("  %7.2f s  %s; term %lld -> %lld\n", (double)sched[i].t_start / 1e6,
               sched[i].what, sched[i].term_before, sched[i].term_after);
    printf("convergence: %s (%.1f s)%s%s\n", conv ? "yes" : "NO", conv_s, conv ? "" : ": ",
           conv ? "" : why);
    if (!finals)
        printf("final reads: FAILED (lists and sets not checked)\n");

    int bad = anomalies > 0 || !conv || !finals;
    if (opt.redis) {
        /* The comparison reports what the checkers find; it fails only if
         * the run itself broke. */
        rc = finals ? 0 : 1;
        printf("REDIS COMPARISON: %ld anomalies, convergence %s\n", anomalies,
               conv ? "yes" : "no");
    } else if (opt.expect_anomalies) {
        /* The negative control: the checkers must see the sabotage. */
        rc = anomalies > 0 && conv && finals ? 0 : 1;
        printf("%s: %ld anomalies found in a run with unrecorded writes (expected > 0)\n",
               rc ? "FAILED" : "PASSED", anomalies);
    } else {
        rc = bad ? 1 : 0;
        printf("%s: %ld anomalies, convergence %s\n", bad ? "FAILED" : "PASSED", anomalies,
               conv ? "yes" : "no");
    }
    replay_line();
    if (rc) {
        opt.keep = 1;
        printf("node logs and data kept in %s\n", workdir);
    }
    if (opt.summary)
        write_summary(opt.summary);
    if (opt.compare_redis && !interrupted)
        compare_redis();
    free(okt);
    free_finals(lf, nl);
    free_finals(sf, ns);
    hist_free(&regs);
    hist_free(&lists);
    hist_free(&sets);
out:
    for (int i = 0; i < nworkers; i++) {
        hist_free(&ws[i].regs);
        hist_free(&ws[i].lists);
        hist_free(&ws[i].sets);
    }
    free(ws);
    free(sched);
    cleanup();
    return rc;
}
