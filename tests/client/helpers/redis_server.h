/* redis_server.h — test fixture: real redis-server processes on loopback.
 *
 * Each server gets a free port, its own temp directory (log, Unix socket)
 * and no persistence. Every wait is bounded; failures print why and make
 * the calling test fail. */
#ifndef TEST_REDIS_SERVER_H
#define TEST_REDIS_SERVER_H

#include <sys/types.h>

#include "kvclient.h"

#define REDIS_SERVER_BIN "/usr/bin/redis-server"

typedef struct redis_server {
    pid_t pid;
    int port;
    char dir[64];   /* temp directory, removed by rs_stop */
    char sock[128]; /* Unix socket path inside dir */
} redis_server;

/* Start redis-server on a free 127.0.0.1 port plus a Unix socket, with
 * extra (NULL-terminated, may be NULL) arguments, and wait (≤ 10 s) until
 * it answers PING. Returns 0, or -1 with a message on stderr. */
int rs_start(redis_server *rs, const char *const extra[]);

/* SIGTERM, wait ≤ 5 s, SIGKILL if needed; remove the directory. Safe to
 * call twice and after rs_kill. */
void rs_stop(redis_server *rs);

/* SIGKILL now and reap (the directory stays until rs_stop). */
void rs_kill(redis_server *rs);

/* A port on 127.0.0.1 nobody listens on right now. */
int rs_free_port(void);

/* Run a command (NULL-terminated C-string arguments) on the server over a
 * fresh connection; returns the reply or NULL (message on stderr). */
kv_reply *rs_cmd(const redis_server *rs, ...);

/* Like rs_cmd, but only reports whether the reply is "+OK" or ":n". */
int rs_ok(const redis_server *rs, ...);

/* Poll pred(arg) every 10 ms until it returns nonzero or timeout_ms pass.
 * Returns 1 if it held, 0 on timeout. */
int wait_until(int (*pred)(void *arg), void *arg, int timeout_ms);

/* 1 if INFO section `section` of rs has field "name:value" (exactly). */
int rs_info_has(const redis_server *rs, const char *section, const char *field);

/* Monotonic milliseconds. */
long long test_now_ms(void);

#endif
