/* internal.h — names shared by libkvclient's own files; never installed.
 *
 * Everything here has hidden visibility (the library is built with
 * -fvisibility=hidden) and the kvc_ prefix, so it cannot clash with an
 * application's symbols. Only kvclient.h / kvclient_uv.h are public. */
#ifndef KVC_INTERNAL_H
#define KVC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kvclient.h"

#define KVC_ERRMSG_MAX 256

/* ---- Allocation ---- */

/* The library allocates only through these (and frees with free()), so
 * tests can make the n-th allocation fail: when kvc_alloc_budget is ≥ 0,
 * each allocation spends one unit and fails once it is 0. -1 (the
 * default) never fails. Not for use with threads. */
extern long kvc_alloc_budget;
void *kvc_malloc(size_t n);
void *kvc_calloc(size_t n, size_t size);
void *kvc_realloc(void *p, size_t n);
char *kvc_strdup(const char *s);

/* ---- Time (monotonic milliseconds) ---- */

int64_t kvc_now_ms(void);

/* Absolute deadline for a relative timeout; ≤ 0 means "none" (INT64_MAX). */
int64_t kvc_deadline(int timeout_ms);

/* Milliseconds left until deadline for poll(): -1 for no deadline, 0 if
 * already past. */
int kvc_poll_timeout(int64_t deadline);

/* ---- Error messages ---- */

/* Format into buf (KVC_ERRMSG_MAX bytes) and return code, so that
 * `return kvc_fail(c->err, KV_EIO, "read: %s", strerror(errno));` reads
 * naturally. */
int kvc_fail(char *buf, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf that may truncate on purpose (messages): always NUL-terminates
 * when cap > 0. */
void kvc_fmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- Growable byte buffer ---- */

typedef struct kvc_buf {
    char *data;
    size_t len; /* bytes held */
    size_t off; /* bytes already consumed from the front */
    size_t cap;
} kvc_buf;

int kvc_buf_reserve(kvc_buf *b, size_t more); /* room for `more` at the end */
int kvc_buf_append(kvc_buf *b, const void *p, size_t n);
void kvc_buf_consume(kvc_buf *b, size_t n);   /* drop n bytes from the front */
void kvc_buf_reset(kvc_buf *b);
void kvc_buf_free(kvc_buf *b);
static inline size_t kvc_buf_avail(const kvc_buf *b) { return b->len - b->off; }

/* Append the RESP encoding of a command (see kv_format_command). */
int kvc_append_command(kvc_buf *b, int argc, const char *const argv[],
                       const size_t argvlen[]);

/* ---- Replies ---- */

/* A zeroed reply of the given type, or NULL when out of memory. */
kv_reply *kvc_reply_new(kv_reply_type type);

/* 1 if reply is an error whose first word (case-sensitive) is word. */
int kvc_reply_is_error(const kv_reply *reply, const char *word);

/* ---- Options ---- */

/* Validate opt and copy it (user and password duplicated) into dst, with
 * defaults for zero limits. Returns 0, KV_EINVAL or KV_ENOMEM. */
int kvc_options_copy(kv_options *dst, const kv_options *opt);
void kvc_options_free(kv_options *opt);

/* Build the handshake command the options ask for into argv (at most 7
 * entries). Returns argc, 0 when no handshake is needed. */
int kvc_handshake_argv(const kv_options *opt, const char *argv[7]);
/* The SELECT that follows it when opt->db is not 0 (num holds the
 * number's text). Returns argc (2), or 0 when none is needed. */
int kvc_select_argv(const kv_options *opt, const char *argv[2], char num[16]);

/* ---- Blocking sockets (net.c) ---- */

/* Connect a non-blocking, close-on-exec socket to host:port by trying each
 * resolved address before deadline. Returns the fd or a negative code with
 * a message in err. */
int kvc_net_connect_tcp(const char *host, int port, int64_t deadline, char *err);
int kvc_net_connect_unix(const char *path, int64_t deadline, char *err);

/* Parse "host:port" or "[v6]:port" into host (NUL-terminated, hostcap
 * bytes) and *port. Returns 0 or KV_EINVAL. */
int kvc_parse_hostport(const char *s, size_t n, char *host, size_t hostcap, int *port);

/* A node's address, as seeds and Sentinel replies name it. */
#define KVC_HOST_MAX 256
typedef struct kvc_addr {
    char host[KVC_HOST_MAX];
    int port;
} kvc_addr;

/* Parse a comma-separated seed list ("h:p, [v6]:p, ..."; blanks around
 * entries ignored, empty entries skipped) into a new array the caller
 * frees. Returns 0, KV_EINVAL (a bad entry, or none at all) or
 * KV_ENOMEM; on error nothing is allocated. */
int kvc_parse_seeds(const char *list, kvc_addr **out, size_t *n);

/* 1 and *out set if r is a SENTINEL GET-MASTER-ADDR-BY-NAME reply naming
 * a primary (a two-element array of a host and a port 1..65535), else 0. */
int kvc_sentinel_addr(const kv_reply *r, kvc_addr *out);

/* 1 if a and b are the same host string and port. */
int kvc_same_addr(const kvc_addr *a, const kvc_addr *b);

/* ---- Blocking client internals used by kv_cluster ---- */

/* Like kv_client_command, and reports whether any byte of the command was
 * handed to the kernel (*sent = 1) before the failure. hard_deadline, if
 * not INT64_MAX, caps every wait of the call (including io_timeout_ms). */
int kvc_client_command(kv_client *c, int argc, const char *const argv[],
                       const size_t argvlen[], int64_t hard_deadline,
                       kv_reply **reply, int *sent);

/* Connect with every wait capped by hard_deadline as well. */
int kvc_client_connect_tcp(kv_client *c, const char *host, int port, int64_t hard_deadline);

/* The socket of a cluster's primary connection, -1 if none (tests use it
 * to wait for a server's FIN without sleeping). */
int kvc_cluster_fd(const kv_cluster *cl);

#endif
