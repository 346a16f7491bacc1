/* harness.h — fixtures for integration tests: real kvnode and redis-server
 * processes on loopback, started and stopped by PID, with bounded waits.
 *
 * Every process a test starts is recorded; h_stop_all() (also run at exit)
 * kills exactly those PIDs. Nothing here ever signals a process by name. */
#ifndef KV_HARNESS_H
#define KV_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include "kvclient.h"

typedef struct h_proc {
    pid_t pid;
    int port;
    char dir[512];     /* data directory (kvnode) or working dir */
    char log[600];     /* its stdout+stderr */
    char *argv[64];    /* argv it was started with (for restarts), into argbuf */
    int argc;
    char argbuf[8192];
    size_t argused;
} h_proc;

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int h_free_port(void);
/* A fresh temp directory (malloc'd path). */
char *h_tmpdir(const char *tag);
/* Remove path (a file, or a directory and all below it) and the log a
 * kvnode started on that directory keeps beside it (path.log). */
void h_rmrf(const char *path);

/* Start kvnode on a free port with its data in dir (created), plus extra
 * "--name value" arguments (NULL-terminated). Waits until it answers PING
 * (bounded). Returns 0 or -1 (the log is printed). */
int h_kvnode_start(h_proc *p, const char *dir, const char *const *extra);
/* Set a process's argv (copied into p) for h_restart. */
void h_set_args(h_proc *p, const char *const *argv);
/* Start it again with the same arguments (after a kill). */
int h_restart(h_proc *p);
/* The same, without waiting for it to answer (a node still loading). */
int h_respawn(h_proc *p);
/* Start Debian's redis-server on a free port, no persistence unless extra
 * says so. */
int h_redis_start(h_proc *p, const char *dir, const char *const *extra);
/* Start Debian's redis-server in Sentinel mode on a free port (config in
 * dir), monitoring the master at 127.0.0.1:master_port as `name`. */
int h_sentinel_start(h_proc *p, const char *dir, const char *name, int master_port, int quorum,
                     int down_after_ms);
/* Signal the process and wait (bounded) for it to exit. Returns its wait
 * status, or -1 if it had to be SIGKILLed after the deadline. */
int h_stop(h_proc *p, int sig, int timeout_ms);
/* Kill every process this test started (by PID). */
void h_stop_all(void);

/* A raw TCP connection to 127.0.0.1:port (a blocking socket), or -1: for
 * what a client library will not send or read. */
int h_raw_connect(int port);
/* Send all n bytes (MSG_NOSIGNAL): 0, or -1 if the peer is gone. */
int h_raw_send(int fd, const void *p, size_t n);

/* A connected blocking client (io timeout 10 s), or NULL. */
kv_client *h_connect(int port);
/* Run a command given as a C string split on spaces (no quoting). */
kv_reply *h_cmd(kv_client *c, const char *line);
/* Run a command with explicit arguments. */
kv_reply *h_cmdv(kv_client *c, int argc, const char *const *argv, const size_t *lens);
/* Write a reply in a stable text form (for comparisons and messages). */
void h_reply_text(const kv_reply *r, char *buf, size_t len);

/* A redis-server and a kvnode side by side, each with a connected client,
 * for tests that run the same commands on both and compare: data under
 * one temp directory (tag names it), extra arguments for each (NULL for
 * none). h_pair_start returns 0 or -1; h_pair_stop stops both (SIGTERM,
 * bounded) and removes the directory. */
typedef struct h_pair {
    h_proc redis, kv;
    kv_client *rc, *kc;
    char *tmp;
} h_pair;
int h_pair_start(h_pair *p, const char *tag, const char *const *redis_extra,
                 const char *const *kv_extra);
void h_pair_stop(h_pair *p);

/* Wait (bounded by ms) until the node on port answers DEBUG DIGEST — after
 * a restart, say — connecting *c when it is NULL and dropping it after a
 * failed try; the digest's text goes to out. Returns 1, or 0 at the
 * deadline. */
int h_wait_digest(kv_client **c, int port, char *out, size_t len, int ms);

/* The next CRLF-terminated line on a raw connection, without the CRLF,
 * within timeout_ms (one byte at a time: a test, not a benchmark): 0, or
 * -1 when none came. */
int h_raw_line(int fd, char *out, size_t len, int timeout_ms);
/* A numeric field of an INFO section (-1 when absent or on error). */
long long h_info_num(kv_client *c, const char *section, const char *name);
/* Whether p's log holds a line containing needle. */
int h_log_has(const h_proc *p, const char *needle);
/* How many of p's log lines contain needle. */
int h_log_count(const h_proc *p, const char *needle);

/* The kvnode binary and source tree (set by CMake). */
const char *h_kvnode_bin(void);
const char *h_source_dir(void);
/* Milliseconds on a monotonic clock. */
long long h_now_ms(void);
/* Poll pred(arg) every 20 ms until it holds or ms pass; returns its last
 * value. Tests assert the result: every wait is bounded and checked. */
int h_wait_until(int (*pred)(void *arg), void *arg, int ms);
/* A predicate for h_wait_until: the node on port *(int *)arg (a Redis
 * replica, or a kvnode replica) reports master_link_status:up. */
int h_link_up(void *arg);

#endif
