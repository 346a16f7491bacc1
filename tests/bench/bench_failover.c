/* bench_failover.c — one failover trial, measured from a client's seat.
 *
 * A writer thread SETs unique keys, one at a time (no pipelining), to the
 * primary of a kvnode cluster (found and followed by libkvclient's
 * kv_cluster) or of a Redis + Sentinel group (found by asking the sentinels
 * SENTINEL GET-MASTER-ADDR-BY-NAME, as Jedis and go-redis do, again after a
 * connection error or a -READONLY). Once the writer has run warmup_ms, the
 * main thread injects the failure into the primary — kill -9, SIGSTOP (then
 * SIGCONT), or a graceful switchover (FAILOVER on a kvnode primary,
 * SENTINEL FAILOVER on a sentinel) — and watches until the writer has been
 * acknowledged for tail_ms by the node the cluster itself names as primary
 * (ROLE on every kvnode node; a majority of the sentinels). Then it stops
 * the writer and reads every acknowledged key back from that primary.
 *
 * Measured (monotonic clock):
 *   unavailability  from the injection to the first acknowledgement by the
 *                   final primary of a write that the failed node did not
 *                   answer before the failure (for a failed node that is
 *                   still the primary at the end: of a write begun after the
 *                   injection). Acks by another node meanwhile (e.g. an old
 *                   Redis master that sentinel has not yet demoted) do not
 *                   end it: they are counted as "stale".
 *   lost            acknowledged keys missing on the final primary, or with
 *                   another value.
 *   unknown         writes whose outcome the client could not know (sent,
 *                   connection lost before the reply); and how many of them
 *                   the final primary holds.
 *   refused         writes given up without being executed (no primary
 *                   found within the client's deadline).
 *
 * Prints one line, "RESULT key=value ...", on stdout; a timeline on stderr.
 * Exit status 0 when the trial ran (whatever it measured), 2 when it could
 * not (no primary before the injection, bad arguments).
 *
 *   bench_failover --system kvnode|redis --nodes h:p,h:p,h:p --pids p,p,p
 *                  [--sentinels h:p,...] --scenario kill|stop|switchover
 *                  --prefix key-prefix [options, see usage()]
 *
 * A program that prints figures; it asserts nothing about time. */
#include "kvclient.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_NODES 8
#define HOST_MAX 64
#define MAX_RECORDS (50u * 1000 * 1000)
#define VERIFY_BATCH 256

/* ---- Settings ---- */

enum { SYS_KVNODE, SYS_REDIS };
enum { SC_KILL, SC_STOP, SC_SWITCHOVER };

typedef struct addr {
    char host[HOST_MAX];
    int port;
} addr;

typedef struct settings {
    int system, scenario;
    addr nodes[MAX_NODES];
    int nnodes;
    long pids[MAX_NODES];
    int npids;
    addr sentinels[MAX_NODES];
    int nsentinels;
    const char *master_name;
    const char *prefix;
    int connect_timeout_ms, io_timeout_ms, deadline_ms;
    int warmup_ms, tail_ms, grace_ms, max_ms;
    int stop_min_ms, stop_max_ms;
} settings;

static settings S = {
    .master_name = "mymaster",
    .connect_timeout_ms = 250,
    .io_timeout_ms = 1000,
    .deadline_ms = 10000,
    .warmup_ms = 1000,
    .tail_ms = 1000,
    .grace_ms = 15000,
    .max_ms = 180000,
    .stop_min_ms = 3000,
    .stop_max_ms = 120000,
};

/* ---- Helpers ---- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double ms_between(int64_t a, int64_t b)
{
    return (double)(b - a) / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int64_t t_origin;

/* A timeline line on stderr: milliseconds since the program started. */
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%9.1f ms] ", ms_between(t_origin, now_ns()));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_failover: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static int parse_addrs(const char *list, addr *out, int max)
{
    int n = 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (n == max || colon == NULL || (size_t)(colon - p) >= HOST_MAX)
            die("bad address list \"%s\"", list);
        memcpy(out[n].host, p, (size_t)(colon - p));
        out[n].host[colon - p] = '\0';
        out[n].port = atoi(colon + 1);
        if (out[n].port < 1 || out[n].port > 65535)
            die("bad port in \"%s\"", list);
        n++;
        p = end ? end + 1 : p + len;
    }
    return n;
}

static int node_index(const char *host, int port)
{
    for (int i = 0; i < S.nnodes; i++)
        if (S.nodes[i].port == port && strcmp(S.nodes[i].host, host) == 0)
            return i;
    return -1;
}

/* "host:port" of node i ("?" when unknown); valid until the next call. */
static const char *node_name(int i)
{
    static char buf[HOST_MAX + 8];
    if (i < 0 || i >= S.nnodes)
        return "?";
    snprintf(buf, sizeof buf, "%s:%d", S.nodes[i].host, S.nodes[i].port);
    return buf;
}

static int reply_is(const kv_reply *r, const char *s)
{
    return r && (r->type == KV_REPLY_STATUS || r->type == KV_REPLY_STRING) &&
           r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

static int error_word(const kv_reply *r, const char *word)
{
    size_t n = strlen(word);
    return r && r->type == KV_REPLY_ERROR && r->len >= n && memcmp(r->str, word, n) == 0 &&
           (r->len == n || r->str[n] == ' ');
}

/* Error replies that mean "not executed here, no primary here": the client
 * finds the primary again and resends (kv_cluster's list). */
static int refused_not_primary(const kv_reply *r)
{
    static const char *const words[] = {"READONLY", "MASTERDOWN", "CLUSTERDOWN",
                                        "TRYAGAIN", "LOADING",    "NOPRIMARY"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (error_word(r, words[i]))
            return 1;
    return 0;
}

static kv_client *connect_to(const addr *a, int connect_ms, int io_ms)
{
    kv_options o;
    kv_options_init(&o);
    o.connect_timeout_ms = connect_ms;
    o.io_timeout_ms = io_ms;
    kv_client *c;
    if (kv_client_new(&c, &o) < 0)
        return NULL;
    if (kv_client_connect_tcp(c, a->host, a->port) < 0) {
        kv_client_free(c);
        return NULL;
    }
    return c;
}

/* ---- The cluster's own answer: who is the primary now ---- */

/* Short-lived probes with tight timeouts, so that a stopped node costs a
 * poll at most one connect + I/O timeout. */
static kv_client *probe_conn[MAX_NODES];

static kv_reply *probe(int slot, const addr *a, int argc, const char *const *argv)
{
    if (probe_conn[slot] == NULL)
        probe_conn[slot] = connect_to(a, 200, 200);
    if (probe_conn[slot] == NULL)
        return NULL;
    kv_reply *r = NULL;
    if (kv_client_command(probe_conn[slot], argc, argv, NULL, &r) < 0) {
        kv_client_free(probe_conn[slot]);
        probe_conn[slot] = NULL;
        return NULL;
    }
    return r;
}

/* kvnode: the one node whose ROLE says master (-1: none or several). */
static int authority_kvnode(void)
{
    const char *argv[] = {"ROLE"};
    int found = -1, count = 0;
    for (int i = 0; i < S.nnodes; i++) {
        kv_reply *r = probe(i, &S.nodes[i], 1, argv);
        if (r && r->type == KV_REPLY_ARRAY && r->elements >= 1 &&
            reply_is(r->element[0], "master")) {
            found = i;
            count++;
        }
        kv_reply_free(r);
    }
    return count == 1 ? found : -1;
}

/* Redis: the address a majority of the sentinels name (-1: no majority). */
static int authority_redis(void)
{
    const char *argv[] = {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", S.master_name};
    int votes[MAX_NODES] = {0};
    for (int i = 0; i < S.nsentinels; i++) {
        kv_reply *r = probe(i, &S.sentinels[i], 3, argv);
        if (r && r->type == KV_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == KV_REPLY_STRING && r->element[1]->type == KV_REPLY_STRING) {
            int idx = node_index(r->element[0]->str, atoi(r->element[1]->str));
            if (idx >= 0)
                votes[idx]++;
        }
        kv_reply_free(r);
    }
    for (int i = 0; i < S.nnodes; i++)
        if (votes[i] * 2 > S.nsentinels)
            return i;
    return -1;
}

static int authority(void)
{
    return S.system == SYS_KVNODE ? authority_kvnode() : authority_redis();
}

/* ---- Clients: one SET at a time, following the primary ---- */

enum { W_ACK = 0, W_UNKNOWN = 1, W_REFUSED = 2, W_ERROR = 3 };

typedef struct writer_client {
    /* kvnode */
    kv_cluster *cl;
    /* redis */
    kv_client *conn;
    int conn_node;
    kv_client *sentinel[MAX_NODES];
    uint64_t rng;
    char last_error[160];
} writer_client;

static void client_init(writer_client *w)
{
    memset(w, 0, sizeof *w);
    w->conn_node = -1;
    w->rng = (uint64_t)now_ns() | 1;
    if (S.system == SYS_KVNODE) {
        char seeds[MAX_NODES * (HOST_MAX + 8)];
        size_t used = 0;
        for (int i = 0; i < S.nnodes; i++)
            used += (size_t)snprintf(seeds + used, sizeof seeds - used, "%s%s:%d", i ? "," : "",
                                     S.nodes[i].host, S.nodes[i].port);
        kv_options o;
        kv_options_init(&o);
        o.connect_timeout_ms = S.connect_timeout_ms;
        o.io_timeout_ms = S.io_timeout_ms;
        o.failover_timeout_ms = S.deadline_ms;
        if (kv_cluster_new(&w->cl, seeds, &o) < 0)
            die("kv_cluster_new(%s) failed", seeds);
    }
}

static void client_free(writer_client *w)
{
    kv_cluster_free(w->cl);
    kv_client_free(w->conn);
    for (int i = 0; i < S.nsentinels; i++)
        kv_client_free(w->sentinel[i]);
}

static int write_kvnode(writer_client *w, const char *const argv[], int *node)
{
    kv_reply *r = NULL;
    int rc = kv_cluster_command(w->cl, 0, 3, argv, NULL, &r);
    if (rc == KV_EUNKNOWN || rc == KV_ENOPRIMARY) {
        snprintf(w->last_error, sizeof w->last_error, "%s", kv_cluster_errmsg(w->cl));
        return rc == KV_EUNKNOWN ? W_UNKNOWN : W_REFUSED;
    }
    if (rc < 0)
        die("kv_cluster_command: %s", kv_strerror(rc));
    int out = W_ACK;
    if (r->type == KV_REPLY_ERROR) {
        snprintf(w->last_error, sizeof w->last_error, "%.*s", (int)(r->len < 150 ? r->len : 150),
                 r->str);
        out = W_ERROR;
    } else {
        char host[HOST_MAX];
        int port;
        *node = kv_cluster_primary(w->cl, host, sizeof host, &port) == 0 ? node_index(host, port)
                                                                          : -1;
    }
    kv_reply_free(r);
    return out;
}

/* The pause before retry `attempt` (1-based): kv_cluster's schedule with
 * its default settings (none before the first retry, then 50 ms doubling
 * to 250 ms, jittered in [b/2, b]), so both systems' clients wait alike. */
static int backoff_ms(writer_client *w, int attempt)
{
    if (attempt <= 1)
        return 0;
    int b = 50;
    for (int i = 2; i < attempt && b < 250; i++)
        b *= 2;
    if (b > 250)
        b = 250;
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return b / 2 + (int)(w->rng % (uint64_t)(b / 2 + 1));
}

/* ROLE says master (within the connection's I/O timeout). */
static int is_master(kv_client *c)
{
    const char *argv[] = {"ROLE"};
    kv_reply *r = NULL;
    int ok = kv_client_command(c, 1, argv, NULL, &r) == 0 && r->type == KV_REPLY_ARRAY &&
             r->elements >= 1 && reply_is(r->element[0], "master");
    kv_reply_free(r);
    return ok;
}

/* Ask the sentinels in order; connect to the first address one names and
 * check, within the connect timeout, that it says it is a master (as
 * ioredis does with INFO; kv_cluster asks ROLE the same way). */
static void resolve_redis(writer_client *w)
{
    const char *argv[] = {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", S.master_name};
    for (int i = 0; i < S.nsentinels && w->conn == NULL; i++) {
        if (w->sentinel[i] == NULL)
            w->sentinel[i] = connect_to(&S.sentinels[i], S.connect_timeout_ms, S.io_timeout_ms);
        if (w->sentinel[i] == NULL)
            continue;
        kv_reply *r = NULL;
        if (kv_client_command(w->sentinel[i], 3, argv, NULL, &r) < 0) {
            kv_client_free(w->sentinel[i]);
            w->sentinel[i] = NULL;
            continue;
        }
        if (r->type == KV_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == KV_REPLY_STRING && r->element[1]->type == KV_REPLY_STRING) {
            addr a;
            snprintf(a.host, sizeof a.host, "%s", r->element[0]->str);
            a.port = atoi(r->element[1]->str);
            w->conn = connect_to(&a, S.connect_timeout_ms, S.connect_timeout_ms);
            w->conn_node = w->conn ? node_index(a.host, a.port) : -1;
            if (w->conn == NULL)
                snprintf(w->last_error, sizeof w->last_error, "connect %s:%d failed", a.host,
                         a.port);
            else if (!is_master(w->conn)) {
                snprintf(w->last_error, sizeof w->last_error, "%s:%d is not a master (yet)",
                         a.host, a.port);
                kv_client_free(w->conn);
                w->conn = NULL;
            }
            if (w->conn)
                kv_client_set_io_timeout(w->conn, S.io_timeout_ms);
        }
        kv_reply_free(r);
    }
}

/* kv_cluster's rules, with the sentinels as the source of the address. */
static int write_redis(writer_client *w, const char *const argv[], int *node)
{
    int64_t deadline = now_ns() + (int64_t)S.deadline_ms * 1000000;
    for (int attempt = 1;; attempt++) {
        if (w->conn == NULL)
            resolve_redis(w);
        if (w->conn) {
            kv_reply *r = NULL;
            int rc = kv_client_command(w->conn, 3, argv, NULL, &r);
            if (rc == 0 && !refused_not_primary(r)) {
                int out = W_ACK;
                if (r->type == KV_REPLY_ERROR) {
                    snprintf(w->last_error, sizeof w->last_error, "%.*s",
                             (int)(r->len < 150 ? r->len : 150), r->str);
                    out = W_ERROR;
                }
                *node = w->conn_node;
                kv_reply_free(r);
                return out;
            }
            if (rc == 0) {
                snprintf(w->last_error, sizeof w->last_error, "refused: %.*s",
                         (int)(r->len < 150 ? r->len : 150), r->str);
                kv_reply_free(r);
            } else {
                snprintf(w->last_error, sizeof w->last_error, "%s", kv_client_errmsg(w->conn));
            }
            kv_client_free(w->conn);
            w->conn = NULL;
            /* Written but no reply: the outcome is unknown; never resent. */
            if (rc < 0 && rc != KV_ECLOSED)
                return W_UNKNOWN;
        }
        if (attempt >= 64 || now_ns() >= deadline)
            return W_REFUSED;
        int pause = backoff_ms(w, attempt);
        int64_t left = (deadline - now_ns()) / 1000000;
        sleep_ms(pause < left ? pause : (int)(left > 0 ? left : 0));
    }
}

/* ---- The writer thread ---- */

typedef struct record {
    int64_t t0, t1;
    int8_t outcome;
    int8_t node;
} record;

static struct {
    pthread_mutex_t mu;
    int stop;
    /* The current run of consecutive acks by one node. */
    int streak_node;
    int64_t streak_start;
    int last_ack_node;
    int64_t last_ack_t;
    uint64_t acks;
    record *rec;
    uint32_t n, cap;
    char last_error[160];
    uint64_t counts[4];
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .streak_node = -1, .last_ack_node = -1};

static void key_of(uint32_t seq, char *key, size_t cap, char *val, size_t vcap)
{
    snprintf(key, cap, "%s:%u", S.prefix, seq);
    snprintf(val, vcap, "v%u-%s", seq, "0123456789abcdefghijklmnopqrstuv");
}

static void *writer_main(void *arg)
{
    (void)arg;
    writer_client wc;
    client_init(&wc);
    for (uint32_t seq = 0;; seq++) {
        pthread_mutex_lock(&W.mu);
        int stop = W.stop;
        pthread_mutex_unlock(&W.mu);
        if (stop || seq >= MAX_RECORDS)
            break;
        if (seq == W.cap) {
            uint32_t cap = W.cap ? W.cap * 2 : 65536;
            record *rec = realloc(W.rec, (size_t)cap * sizeof *rec);
            if (rec == NULL)
                die("out of memory for %u records", cap);
            pthread_mutex_lock(&W.mu);
            W.rec = rec;
            W.cap = cap;
            pthread_mutex_unlock(&W.mu);
        }
        char key[128], val[128];
        key_of(seq, key, sizeof key, val, sizeof val);
        const char *argv[] = {"SET", key, val};
        int node = -1;
        int64_t t0 = now_ns();
        int out = S.system == SYS_KVNODE ? write_kvnode(&wc, argv, &node)
                                         : write_redis(&wc, argv, &node);
        int64_t t1 = now_ns();
        pthread_mutex_lock(&W.mu);
        W.rec[seq] = (record){.t0 = t0, .t1 = t1, .outcome = (int8_t)out, .node = (int8_t)node};
        W.n = seq + 1;
        W.counts[out]++;
        if (out == W_ACK) {
            if (node != W.streak_node) {
                W.streak_node = node;
                W.streak_start = t1;
            }
            W.last_ack_node = node;
            W.last_ack_t = t1;
            W.acks++;
        } else {
            W.streak_node = -1;
            memcpy(W.last_error, wc.last_error, sizeof W.last_error);
        }
        pthread_mutex_unlock(&W.mu);
    }
    client_free(&wc);
    return NULL;
}

/* ---- Injection ---- */

static const char *scenario_name(int sc)
{
    return sc == SC_KILL ? "kill" : sc == SC_STOP ? "stop" : "switchover";
}

/* A graceful switchover, retried every 100 ms for up to 10 s while the
 * system refuses it (a sentinel that has not yet judged a replica good
 * answers -NOGOODSLAVE). Returns the time the accepted request was sent. */
static int64_t switchover(int primary)
{
    int64_t give_up = now_ns() + 10000LL * 1000000;
    for (;;) {
        const addr *a = S.system == SYS_KVNODE ? &S.nodes[primary] : &S.sentinels[0];
        kv_client *c = connect_to(a, 1000, 5000);
        int64_t t = now_ns();
        kv_reply *r = NULL;
        int rc = -1;
        if (c) {
            if (S.system == SYS_KVNODE) {
                const char *argv[] = {"FAILOVER"};
                rc = kv_client_command(c, 1, argv, NULL, &r);
            } else {
                const char *argv[] = {"SENTINEL", "FAILOVER", S.master_name};
                rc = kv_client_command(c, 3, argv, NULL, &r);
            }
        }
        int ok = rc == 0 && reply_is(r, "OK");
        if (!ok)
            say("switchover request refused: %s",
                rc < 0 ? "no connection or no reply" : r->str ? r->str : "?");
        kv_reply_free(r);
        kv_client_free(c);
        if (ok)
            return t;
        if (now_ns() > give_up)
            die("the switchover was refused for 10 s");
        sleep_ms(100);
    }
}

/* ---- Verification ---- */

/* Read every acknowledged (and unknown-outcome) key back from node `at`.
 * Returns 0, or -1 if it could not read them. */
static int verify(int at, uint64_t *lost, uint64_t *unknown_present, uint32_t *first_lost)
{
    kv_client *c = connect_to(&S.nodes[at], 5000, 10000);
    if (c == NULL)
        return -1;
    *lost = *unknown_present = 0;
    *first_lost = UINT32_MAX;
    uint32_t idx[VERIFY_BATCH];
    char keys[VERIFY_BATCH][128];
    const char *argv[VERIFY_BATCH + 1];
    argv[0] = "MGET";
    for (uint32_t s = 0; s < W.n;) {
        int k = 0;
        for (; s < W.n && k < VERIFY_BATCH; s++) {
            if (W.rec[s].outcome != W_ACK && W.rec[s].outcome != W_UNKNOWN)
                continue;
            char val[128];
            key_of(s, keys[k], sizeof keys[k], val, sizeof val);
            argv[k + 1] = keys[k];
            idx[k++] = s;
        }
        if (k == 0)
            break;
        /* A node that just became primary may answer a retryable error for
         * a moment: retry those for up to 5 s. */
        kv_reply *r = NULL;
        for (int tries = 0;; tries++) {
            if (kv_client_command(c, k + 1, argv, NULL, &r) < 0) {
                say("verification: %s", kv_client_errmsg(c));
                kv_client_free(c);
                return -1;
            }
            if (r->type != KV_REPLY_ERROR || tries == 50)
                break;
            kv_reply_free(r);
            sleep_ms(100);
        }
        if (r->type != KV_REPLY_ARRAY || r->elements != (size_t)k) {
            say("verification: unexpected MGET reply (type %d)", (int)r->type);
            kv_reply_free(r);
            kv_client_free(c);
            return -1;
        }
        for (int j = 0; j < k; j++) {
            char key[128], val[128];
            key_of(idx[j], key, sizeof key, val, sizeof val);
            const kv_reply *e = r->element[j];
            int present = e->type == KV_REPLY_STRING && e->len == strlen(val) &&
                          memcmp(e->str, val, e->len) == 0;
            if (W.rec[idx[j]].outcome == W_ACK && !present) {
                (*lost)++;
                if (idx[j] < *first_lost)
                    *first_lost = idx[j];
            } else if (W.rec[idx[j]].outcome == W_UNKNOWN && present) {
                (*unknown_present)++;
            }
        }
        kv_reply_free(r);
    }
    kv_client_free(c);
    return 0;
}

/* ---- The trial ---- */

/* The wall-clock time (HH:MM:SS.mmm, local) of monotonic instant t, to
 * find the moment in the servers' logs. */
static void wall_clock(int64_t t, char *out, size_t cap)
{
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t real = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - (now_ns() - t);
    time_t secs = (time_t)(real / 1000000000);
    struct tm tm;
    localtime_r(&secs, &tm);
    char hms[16];
    strftime(hms, sizeof hms, "%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03d", hms, (int)(real % 1000000000 / 1000000));
}

/* The timeline of writes that took 300 ms or more (the first 20), relative
 * to the injection: where the time went. */
static void slow_writes(int64_t t_inj)
{
    static const char *const names[] = {"acknowledged", "unknown", "refused", "error"};
    int shown = 0;
    for (uint32_t s = 0; s < W.n && shown < 20; s++) {
        const record *r = &W.rec[s];
        if (r->t1 - r->t0 < 300LL * 1000000)
            continue;
        say("  write %u: %+.0f .. %+.0f ms, %s%s%s", s, ms_between(t_inj, r->t0),
            ms_between(t_inj, r->t1), names[r->outcome], r->outcome == W_ACK ? " by " : "",
            r->outcome == W_ACK ? node_name(r->node) : "");
        shown++;
    }
}

static void usage(void)
{
    fputs("usage: bench_failover --system kvnode|redis --nodes h:p,... --pids p,...\n"
          "         [--sentinels h:p,...] [--master-name mymaster]\n"
          "         --scenario kill|stop|switchover --prefix P\n"
          "         [--connect-timeout-ms 250] [--io-timeout-ms 1000] [--deadline-ms 10000]\n"
          "         [--warmup-ms 1000] [--tail-ms 1000] [--grace-ms 15000] [--max-ms 180000]\n"
          "         [--stop-min-ms 3000] [--stop-max-ms 120000]\n",
          stderr);
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"system", 1, 0, 's'},          {"nodes", 1, 0, 'n'},
        {"pids", 1, 0, 'p'},            {"sentinels", 1, 0, 'S'},
        {"master-name", 1, 0, 'm'},     {"scenario", 1, 0, 'c'},
        {"prefix", 1, 0, 'x'},          {"connect-timeout-ms", 1, 0, 1},
        {"io-timeout-ms", 1, 0, 2},     {"deadline-ms", 1, 0, 3},
        {"warmup-ms", 1, 0, 4},         {"tail-ms", 1, 0, 5},
        {"grace-ms", 1, 0, 6},          {"max-ms", 1, 0, 7},
        {"stop-min-ms", 1, 0, 8},       {"stop-max-ms", 1, 0, 9},
        {0, 0, 0, 0}};
    int o;
    S.system = S.scenario = -1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            S.system = !strcmp(optarg, "kvnode") ? SYS_KVNODE : !strcmp(optarg, "redis") ? SYS_REDIS : -1;
            break;
        case 'n': S.nnodes = parse_addrs(optarg, S.nodes, MAX_NODES); break;
        case 'S': S.nsentinels = parse_addrs(optarg, S.sentinels, MAX_NODES); break;
        case 'p':
            for (char *p = optarg; *p && S.npids < MAX_NODES;) {
                S.pids[S.npids++] = strtol(p, &p, 10);
                if (*p == ',')
                    p++;
            }
            break;
        case 'm': S.master_name = optarg; break;
        case 'c':
            S.scenario = !strcmp(optarg, "kill") ? SC_KILL
                         : !strcmp(optarg, "stop") ? SC_STOP
                         : !strcmp(optarg, "switchover") ? SC_SWITCHOVER : -1;
            break;
        case 'x': S.prefix = optarg; break;
        case 1: S.connect_timeout_ms = atoi(optarg); break;
        case 2: S.io_timeout_ms = atoi(optarg); break;
        case 3: S.deadline_ms = atoi(optarg); break;
        case 4: S.warmup_ms = atoi(optarg); break;
        case 5: S.tail_ms = atoi(optarg); break;
        case 6: S.grace_ms = atoi(optarg); break;
        case 7: S.max_ms = atoi(optarg); break;
        case 8: S.stop_min_ms = atoi(optarg); break;
        case 9: S.stop_max_ms = atoi(optarg); break;
        default: usage();
        }
    }
    if (S.system < 0 || S.scenario < 0 || S.nnodes < 1 || S.npids != S.nnodes || !S.prefix ||
        (S.system == SYS_REDIS && S.nsentinels < 1))
        usage();
}

int main(int argc, char **argv)
{
    t_origin = now_ns();
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);

    int failed = -1;
    for (int i = 0; i < 100 && failed < 0; i++) {
        failed = authority();
        if (failed < 0)
            sleep_ms(100);
    }
    if (failed < 0)
        die("no primary agreed on before the trial");
    say("primary before the trial: %s:%d (pid %ld)", S.nodes[failed].host, S.nodes[failed].port,
        S.pids[failed]);

    pthread_t th;
    if (pthread_create(&th, NULL, writer_main, NULL) != 0)
        die("pthread_create failed");

    /* Warm up: writes flowing to the primary for warmup_ms. */
    int64_t start = now_ns(), warm_deadline = start + 30000LL * 1000000;
    for (;;) {
        pthread_mutex_lock(&W.mu);
        int ok = W.streak_node == failed && now_ns() - W.streak_start >= (int64_t)S.warmup_ms * 1000000;
        pthread_mutex_unlock(&W.mu);
        if (ok)
            break;
        if (now_ns() > warm_deadline) {
            pthread_mutex_lock(&W.mu);
            W.stop = 1;
            pthread_mutex_unlock(&W.mu);
            pthread_join(th, NULL);
            die("writes did not flow to %s:%d for %d ms within 30 s (last error: %s)",
                S.nodes[failed].host, S.nodes[failed].port, S.warmup_ms, W.last_error);
        }
        sleep_ms(5);
    }
    uint64_t before = W.acks;

    /* Inject. */
    int64_t t_inj, t_release, t_cont = 0;
    pid_t pid = (pid_t)S.pids[failed];
    if (S.scenario == SC_SWITCHOVER) {
        t_inj = switchover(failed);
    } else {
        t_inj = now_ns();
        if (kill(pid, S.scenario == SC_KILL ? SIGKILL : SIGSTOP) < 0)
            die("kill %ld: %s", (long)pid, strerror(errno));
    }
    t_release = t_inj;
    char wall[32];
    wall_clock(t_inj, wall, sizeof wall);
    say("injected %s into %s:%d after %llu acknowledged writes (at %s, the nodes' log clock)",
        scenario_name(S.scenario), S.nodes[failed].host, S.nodes[failed].port,
        (unsigned long long)before, wall);

    /* Watch until the writer has been acknowledged by the cluster's primary
     * for tail_ms (see the header for the rules), or max_ms. */
    int auth = -1, last_auth = -2, timed_out = 0;
    int64_t next_auth = 0;
    for (;;) {
        int64_t now = now_ns();
        pthread_mutex_lock(&W.mu);
        int streak = W.streak_node, last_node = W.last_ack_node;
        int64_t streak_start = W.streak_start, last_t = W.last_ack_t;
        pthread_mutex_unlock(&W.mu);
        if (S.scenario == SC_STOP && t_cont == 0) {
            int elsewhere = last_node >= 0 && last_node != failed && last_t > t_inj;
            if (now - t_inj >= (int64_t)S.stop_min_ms * 1000000 &&
                (elsewhere || now - t_inj >= (int64_t)S.stop_max_ms * 1000000)) {
                kill(pid, SIGCONT);
                t_cont = t_release = now_ns();
                say("SIGCONT after %.0f ms stopped", ms_between(t_inj, t_cont));
            }
        }
        if (now >= next_auth) {
            auth = authority();
            next_auth = now_ns() + 100LL * 1000000;
            if (auth != last_auth && auth >= 0)
                say("the cluster names %s:%d as primary (%.0f ms after the injection)",
                    S.nodes[auth].host, S.nodes[auth].port, ms_between(t_inj, now_ns()));
            else if (auth != last_auth)
                say("the cluster names no primary (%.0f ms after the injection)",
                    ms_between(t_inj, now_ns()));
            last_auth = auth;
        }
        int released = S.scenario != SC_STOP || t_cont != 0;
        int64_t from = streak_start > t_release ? streak_start : t_release;
        if (released && streak >= 0 && streak == auth && now - from >= (int64_t)S.tail_ms * 1000000 &&
            (streak != failed || now - t_release >= (int64_t)S.grace_ms * 1000000))
            break;
        if (now - t_inj >= (int64_t)S.max_ms * 1000000) {
            timed_out = 1;
            say("no steady primary within %d ms", S.max_ms);
            break;
        }
        sleep_ms(10);
    }
    if (S.scenario == SC_STOP && t_cont == 0) {
        kill(pid, SIGCONT);
        t_cont = now_ns();
    }
    pthread_mutex_lock(&W.mu);
    W.stop = 1;
    pthread_mutex_unlock(&W.mu);
    pthread_join(th, NULL);

    /* The final primary: the cluster's answer now. */
    int final = -1;
    for (int i = 0; i < 50 && final < 0; i++) {
        final = authority();
        if (final < 0)
            sleep_ms(100);
    }

    /* Figures. */
    int64_t first_ack = -1, first_other = -1;
    uint64_t stale = 0;
    for (uint32_t s = 0; s < W.n; s++) {
        const record *r = &W.rec[s];
        if (r->outcome != W_ACK || r->t1 < t_inj)
            continue;
        if (first_other < 0 && r->node != failed)
            first_other = r->t1;
        if (first_ack < 0 && r->node == final && (final != failed || r->t0 >= t_inj))
            first_ack = r->t1;
        if (r->t0 >= t_inj && r->node != final)
            stale++;
    }
    uint64_t lost = 0, unknown_present = 0;
    uint32_t first_lost = UINT32_MAX;
    int vrc = final >= 0 ? verify(final, &lost, &unknown_present, &first_lost) : -1;
    if (vrc < 0)
        say("could not read the keys back from the final primary");
    if (lost)
        say("LOST %llu acknowledged writes; the first is %s:%u (acknowledged %+.1f ms from the "
            "injection by %s)",
            (unsigned long long)lost, S.prefix, first_lost,
            ms_between(t_inj, W.rec[first_lost].t1), node_name(W.rec[first_lost].node));

    slow_writes(t_inj);
    say("writes: %llu acknowledged, %llu unknown, %llu refused, %llu errors (last: %s)",
        (unsigned long long)W.counts[W_ACK], (unsigned long long)W.counts[W_UNKNOWN],
        (unsigned long long)W.counts[W_REFUSED], (unsigned long long)W.counts[W_ERROR],
        W.last_error);
    printf("RESULT system=%s scenario=%s failed=%s:%d final=%s:%d unavail_ms=%.1f "
           "first_other_ms=%.1f stop_ms=%.0f acked=%llu lost=%lld unknown=%llu "
           "unknown_applied=%llu refused=%llu errors=%llu stale=%llu timed_out=%d\n",
           S.system == SYS_KVNODE ? "kvnode" : "redis", scenario_name(S.scenario),
           S.nodes[failed].host, S.nodes[failed].port, final >= 0 ? S.nodes[final].host : "-",
           final >= 0 ? S.nodes[final].port : 0,
           first_ack >= 0 ? ms_between(t_inj, first_ack) : -1.0,
           first_other >= 0 ? ms_between(t_inj, first_other) : -1.0,
           t_cont ? ms_between(t_inj, t_cont) : 0.0, (unsigned long long)W.counts[W_ACK],
           vrc < 0 ? -1LL : (long long)lost, (unsigned long long)W.counts[W_UNKNOWN],
           (unsigned long long)unknown_present, (unsigned long long)W.counts[W_REFUSED],
           (unsigned long long)W.counts[W_ERROR], (unsigned long long)stale, timed_out);
    fflush(stdout);
    for (int i = 0; i < MAX_NODES; i++)
        kv_client_free(probe_conn[i]);
    free(W.rec);
    return 0;
}
