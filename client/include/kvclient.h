/* kvclient.h — libkvclient, the C client of kvnode.
 *
 * kvnode speaks the Redis protocol, so this library also talks to any Redis
 * server. It has four parts:
 *
 *   1. A pure RESP2/RESP3 reader (bytes in, replies out; no sockets) and a
 *      command writer.
 *   2. A blocking client (kv_client): TCP (IPv4/IPv6) or Unix socket, with
 *      connect and I/O timeouts, and pipelining.
 *   3. A libuv client (kv_async) — see kvclient_uv.h.
 *   4. A failover handle (kv_cluster) that finds the primary of a
 *      primary–replica group from a list of seed nodes and follows it when it
 *      moves.
 *
 * Conventions
 *   - Every fallible call returns 0 (KV_OK) or a negative KV_E* code;
 *     kv_strerror() names it. Handles also keep a message with context
 *     ("connect 127.0.0.1:7379: Connection refused"), read with *_errmsg().
 *   - Strings passed in are copied unless a comment says otherwise; nothing
 *     keeps a pointer to caller memory after the call returns.
 *   - Objects returned through an out-parameter belong to the caller, who
 *     frees them with the matching *_free() function. Every *_free()
 *     accepts NULL.
 *   - Handles are not thread-safe: use one handle from one thread at a time.
 *     Distinct handles are independent.
 */
#ifndef KVCLIENT_H
#define KVCLIENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define KV_EXTERN __attribute__((visibility("default")))
#else
#define KV_EXTERN
#endif

#define KV_CLIENT_VERSION_MAJOR 0
#define KV_CLIENT_VERSION_MINOR 1
#define KV_CLIENT_VERSION_PATCH 0

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

enum kv_error {
    KV_OK = 0,
    KV_ENOMEM = -1,      /* out of memory */
    KV_EINVAL = -2,      /* invalid argument */
    KV_ERANGE = -3,      /* output buffer too small */
    KV_EPROTO = -4,      /* malformed RESP from the server */
    KV_ETOOBIG = -5,     /* reply exceeds a reader limit (kv_reader_limits) */
    KV_EADDR = -6,       /* bad address or host name does not resolve */
    KV_ECONNECT = -7,    /* could not connect (refused, unreachable, ...) */
    KV_ETIMEDOUT = -8,   /* connect or I/O timeout expired */
    KV_EIO = -9,         /* socket error on an established connection */
    KV_ECLOSED = -10,    /* not connected, or the connection was found
                            closed before anything was sent */
    KV_ECANCELED = -11,  /* async: command canceled before it was written */
    KV_EUNKNOWN = -12,   /* the command was sent but no reply came back
                            (connection lost or closed): it may or may not
                            have been executed */
    KV_ENOPRIMARY = -13, /* cluster: no primary found before the deadline */
    KV_EAUTH = -14,      /* the connection handshake (AUTH/HELLO) failed */
    KV_EBUSY = -15       /* call not allowed now (e.g. replies still pending) */
};

/* A static, human-readable description of a KV_E* code (or of 0). Never
 * NULL; unknown codes give "unknown error". */
KV_EXTERN const char *kv_strerror(int code);

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */
/* ------------------------------------------------------------------------ */

/* Reply types. The numbering matches hiredis's REDIS_REPLY_* values. */
typedef enum kv_reply_type {
    KV_REPLY_STRING = 1,   /* $  bulk string */
    KV_REPLY_ARRAY = 2,    /* *  array */
    KV_REPLY_INTEGER = 3,  /* :  integer */
    KV_REPLY_NIL = 4,      /* $-1, *-1, RESP3 _ */
    KV_REPLY_STATUS = 5,   /* +  simple string */
    KV_REPLY_ERROR = 6,    /* -  simple error, RESP3 ! blob error */
    KV_REPLY_DOUBLE = 7,   /* ,  double */
    KV_REPLY_BOOL = 8,     /* #  boolean */
    KV_REPLY_MAP = 9,      /* %  map */
    KV_REPLY_SET = 10,     /* ~  set */
    KV_REPLY_ATTR = 11,    /* |  attribute (only ever found in kv_reply.attr) */
    KV_REPLY_PUSH = 12,    /* >  out-of-band push */
    KV_REPLY_BIGNUM = 13,  /* (  big number (decimal text in str) */
    KV_REPLY_VERB = 14     /* =  verbatim string */
} kv_reply_type;

/* One reply. A reply tree is owned as a whole by whoever received its root
 * and freed with kv_reply_free(root); never free an element on its own.
 *
 *   str/len    STRING, STATUS, ERROR, BIGNUM, VERB (payload without the
 *              "txt:" prefix) and DOUBLE (its text as sent). Always
 *              NUL-terminated; binary data may contain NULs, so use len.
 *              NULL for other types.
 *   integer    INTEGER; BOOL (0 or 1).
 *   dval       DOUBLE ("inf", "-inf" and "nan" included).
 *   vtype      VERB: the three-letter format ("txt", "mkd") + NUL.
 *   element    ARRAY, SET, PUSH: `elements` replies. MAP and ATTR:
 *              `elements` = 2 × pairs, keys at even and values at odd
 *              indexes.
 *   attr       A RESP3 attribute (type ATTR) that the server sent in front of
 *              this reply, or NULL. */
typedef struct kv_reply {
    kv_reply_type type;
    long long integer;
    double dval;
    size_t len;
    char *str;
    char vtype[4];
    size_t elements;
    struct kv_reply **element;
    struct kv_reply *attr;
} kv_reply;

/* Free a reply tree. NULL is fine. */
KV_EXTERN void kv_reply_free(kv_reply *reply);

/* ------------------------------------------------------------------------ */
/* Reader: RESP bytes in, replies out                                       */
/* ------------------------------------------------------------------------ */

/* Bounds on what a reader accepts. Exceeding one makes the reader fail with
 * KV_ETOOBIG (a sticky error) instead of allocating without bound. Memory
 * for strings and element arrays grows with the bytes actually received,
 * never with a length the peer merely announces. */
typedef struct kv_reader_limits {
    size_t max_bulk;     /* bytes in one string: bulk, verbatim, blob error,
                            and a simple string/error/big number line */
    size_t max_elements; /* elements in one aggregate (a map of n pairs has
                            2n) */
    size_t max_depth;    /* nesting levels of aggregates (attributes count) */
    size_t max_buffer;   /* input bytes fed but not yet consumed by
                            kv_reader_get(); bulk payloads are moved out of
                            this buffer as they arrive */
} kv_reader_limits;

#define KV_DEFAULT_MAX_BULK ((size_t)512 * 1024 * 1024)
#define KV_DEFAULT_MAX_ELEMENTS ((size_t)1 << 24)
#define KV_DEFAULT_MAX_DEPTH ((size_t)32)
#define KV_DEFAULT_MAX_BUFFER ((size_t)64 * 1024 * 1024)

/* Fill *limits with the KV_DEFAULT_* values. */
KV_EXTERN void kv_reader_limits_init(kv_reader_limits *limits);

typedef struct kv_reader kv_reader;

/* Create a reader. limits is copied; NULL means the defaults. A limit of 0
 * is replaced by its default. Returns NULL only when out of memory. Free
 * with kv_reader_free(). */
KV_EXTERN kv_reader *kv_reader_new(const kv_reader_limits *limits);

/* Free a reader and any partly parsed reply it holds. NULL is fine. */
KV_EXTERN void kv_reader_free(kv_reader *reader);

/* Append len bytes (copied; buf may be NULL only when len is 0) to the
 * reader's input. Chunks may split the
 * protocol anywhere. Returns 0, KV_ETOOBIG if the unconsumed input would
 * exceed max_buffer (nothing is appended; call kv_reader_get() first), or
 * the reader's sticky error. */
KV_EXTERN int kv_reader_feed(kv_reader *reader, const void *buf, size_t len);

/* Parse the next complete reply. Returns 0 with *reply set to a new reply
 * (the caller frees it) or to NULL when more input is needed; or a negative
 * code (KV_EPROTO, KV_ETOOBIG, KV_ENOMEM) with *reply NULL. Errors are
 * sticky: once one is returned the reader returns it forever. */
KV_EXTERN int kv_reader_get(kv_reader *reader, kv_reply **reply);

/* A message describing the reader's error ("" when there is none). Valid
 * until the reader is freed. */
KV_EXTERN const char *kv_reader_errmsg(const kv_reader *reader);

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

/* Encode a command as a RESP array of bulk strings (binary safe).
 * argv[i] has argvlen[i] bytes; argvlen may be NULL, in which case every
 * argv[i] is a NUL-terminated string. argc must be ≥ 1.
 *
 * Returns 0 and sets *len to the bytes written into buf; KV_ERANGE with
 * *len set to the size needed when cap is too small (buf is then left
 * unchanged), or KV_EINVAL. buf may be NULL when cap is 0 to ask for the
 * size. Nothing is NUL-terminated. */
KV_EXTERN int kv_format_command(char *buf, size_t cap, size_t *len, int argc,
                                const char *const argv[], const size_t argvlen[]);

/* ------------------------------------------------------------------------ */
/* Options shared by kv_client, kv_async and kv_cluster                     */
/* ------------------------------------------------------------------------ */

typedef struct kv_options {
    /* Bound on establishing a connection: name resolution, TCP connect and
     * the AUTH/HELLO handshake. ≤ 0 means no bound. Default 5000. */
    int connect_timeout_ms;
    /* Longest wait for the socket to make progress (accept bytes or deliver
     * them) while a reply is awaited; each bit of progress restarts it, like
     * SO_RCVTIMEO. ≤ 0 means no bound. Default 0. */
    int io_timeout_ms;
    /* 2 (default) or 3. With 3 every connection starts with HELLO 3. */
    int resp;
    /* When password is set every connection authenticates (HELLO 3 AUTH or
     * AUTH); user may be NULL for the default user. Both are copied when the
     * handle is created. */
    const char *user;
    const char *password;
    /* Reader bounds for every connection (zeros mean defaults). */
    kv_reader_limits limits;

    /* kv_cluster only. */
    int failover_timeout_ms;  /* overall deadline of one cluster call,
                                 discovery and retries included. Default
                                 10000: several election timeouts of a kvnode
                                 cluster (1-2 s each on defaults). */
    int max_attempts;         /* sends + discovery rounds per call. Default
                                 64 (the deadline usually ends a call first). */
    int backoff_initial_ms;   /* first pause between rounds. Default 50. */
    int backoff_max_ms;       /* pauses double up to this. Default 250, so a
                                 new primary is found within ~250 ms of its
                                 election. */

    /* Database every connection selects after AUTH/HELLO (SELECT db, as
     * redis-py's db= and redis-cli's -n), so it survives reconnects and
     * failovers; a server refusing it (out of range) fails the connect
     * with KV_EAUTH. Default 0: nothing is sent. */
    int db;

    /* kv_cluster only: the service name asked of each seed with SENTINEL
     * GET-MASTER-ADDR-BY-NAME before ROLE (see kv_cluster below). Default
     * "kvnode" (kvnode's sentinel-master-name); NULL: ROLE only. Copied
     * when the handle is created. */
    const char *master_name;
} kv_options;

/* Fill *opt with the defaults above. Always call it before setting fields:
 * fields may be appended in later versions. */
KV_EXTERN void kv_options_init(kv_options *opt);

/* A handler for RESP3 push replies (client-side caching invalidations,
 * Pub/Sub messages in RESP3). It owns `push` and must kv_reply_free() it.
 * Without a handler, pushes are read and discarded so they never take the
 * place of a command's reply. */
typedef void (*kv_push_fn)(void *data, kv_reply *push);

/* ------------------------------------------------------------------------ */
/* Blocking client                                                          */
/* ------------------------------------------------------------------------ */

/* One connection, used in request/response order.
 *
 * State: a handle is created unconnected; a connect call connects it.
 * A transport error (timeout, reset, EOF, protocol error) closes the
 * connection: the byte stream can no longer be trusted, so every later call
 * fails with KV_ECLOSED until kv_client_reconnect() or a connect call
 * succeeds. Server error replies (-ERR ...) are ordinary replies and do not
 * close anything.
 *
 * Whether a failed command ran: KV_ECLOSED means it was not sent — the
 * handle was not connected, or the server had closed the idle connection
 * (checked before every write). Any other transport error — KV_EIO
 * (including the server closing the connection while the reply was
 * awaited), KV_ETIMEDOUT, KV_EPROTO, KV_ETOOBIG — came after writing began:
 * the server may or may not have executed the command. kv_cluster builds
 * its retry rules on this distinction. */
typedef struct kv_client kv_client;

/* Create an unconnected client. opt is copied (NULL: defaults). Returns 0,
 * KV_ENOMEM or KV_EINVAL (bad option). *out is set only on success. */
KV_EXTERN int kv_client_new(kv_client **out, const kv_options *opt);

/* Close the connection (if any) and free the client. NULL is fine. */
KV_EXTERN void kv_client_free(kv_client *c);

/* Connect to host (name, IPv4 or IPv6 literal) and TCP port, trying each
 * resolved address until one answers, within connect_timeout_ms; then
 * run the handshake (HELLO 3 and/or AUTH) if the options ask for one.
 * Any existing connection is closed first. Returns 0, KV_EINVAL, KV_EADDR,
 * KV_ECONNECT, KV_ETIMEDOUT, KV_EAUTH, KV_EIO, KV_ENOMEM. */
KV_EXTERN int kv_client_connect_tcp(kv_client *c, const char *host, int port);

/* Same for a Unix domain socket path. */
KV_EXTERN int kv_client_connect_unix(kv_client *c, const char *path);

/* Connect again to the last address given to a connect call. KV_EINVAL if
 * there is none. */
KV_EXTERN int kv_client_reconnect(kv_client *c);

/* Close the connection but keep the handle (reconnect later). Unread
 * replies are lost. */
KV_EXTERN void kv_client_close(kv_client *c);

/* 1 if connected, 0 if not. */
KV_EXTERN int kv_client_is_connected(const kv_client *c);

/* Change the I/O timeout (see kv_options.io_timeout_ms) from now on. */
KV_EXTERN void kv_client_set_io_timeout(kv_client *c, int io_timeout_ms);

/* Set (or with fn NULL, remove) the RESP3 push handler; data is passed
 * through. The handler runs inside the command and read calls. */
KV_EXTERN void kv_client_set_push_handler(kv_client *c, kv_push_fn fn, void *data);

/* Send one command and wait for its reply. argv/argvlen as in
 * kv_format_command (binary safe; argvlen NULL for C strings). On success
 * returns 0 and *reply holds the reply (owned by the caller; a server error
 * is a KV_REPLY_ERROR reply, not a failure). On failure *reply is NULL.
 * KV_EBUSY if appended commands still await kv_client_read(). A reply the
 * server sends unasked (RESP2 Pub/Sub messages, MONITOR) makes the next
 * kv_client_command fail with KV_ECLOSED: in those modes read with
 * kv_client_read() instead. */
KV_EXTERN int kv_client_command(kv_client *c, int argc, const char *const argv[],
                                const size_t argvlen[], kv_reply **reply);

/* Pipelining: queue a command in the output buffer without sending it.
 * The buffer is written by the next kv_client_read() (or command). Returns
 * 0, KV_EINVAL, KV_ENOMEM or KV_ECLOSED. */
KV_EXTERN int kv_client_append(kv_client *c, int argc, const char *const argv[],
                               const size_t argvlen[]);

/* Write whatever is queued, then wait for the next reply and return it in
 * *reply (owned by the caller). Replies come back in the order commands
 * were appended. Also usable to read replies the server sends on its own
 * (SUBSCRIBE in RESP2, MONITOR). */
KV_EXTERN int kv_client_read(kv_client *c, kv_reply **reply);

/* Replies still owed by the server for appended or sent commands. */
KV_EXTERN size_t kv_client_pending(const kv_client *c);

/* The socket descriptor, or -1 when not connected. The client owns it. */
KV_EXTERN int kv_client_fd(const kv_client *c);

/* The last error's message ("" if none). Valid until the next call on c. */
KV_EXTERN const char *kv_client_errmsg(const kv_client *c);

/* ------------------------------------------------------------------------ */
/* Failover handle                                                          */
/* ------------------------------------------------------------------------ */

/* kv_cluster keeps one connection to the current primary of a
 * primary–replica group and sends every command there.
 *
 * Discovery: the primary last used is asked ROLE first. Then each seed,
 * in order, is asked SENTINEL GET-MASTER-ADDR-BY-NAME master_name (every
 * kvnode node answers it, and so do Redis Sentinels): the address it names
 * is asked ROLE and used if it answers "master" (a ROLE check: a stale
 * answer is never trusted). A seed that names no primary (null, an error,
 * a node without the SENTINEL command) is asked ROLE itself: a node
 * answering "master" is the primary; a node answering "slave" names its
 * primary (host, port), which is asked ROLE in turn (at most 4 hops) and
 * used if it answers "master". With master_name NULL only ROLE is asked.
 * Nodes that fail to connect, time out or answer anything else are
 * skipped. If no primary is
 * found the round is repeated after a pause that starts at
 * backoff_initial_ms and doubles up to backoff_max_ms (with jitter), until
 * failover_timeout_ms or max_attempts is used up.
 *
 * Retries — kv_cluster_command never runs a command twice unless allowed:
 *   - The command was not sent (no primary yet, connect failure, or the
 *     idle connection was found closed before writing): it is sent after
 *     rediscovery. Always safe.
 *   - The server refused it without executing it, with an error reply whose
 *     first word is READONLY, MASTERDOWN, CLUSTERDOWN, TRYAGAIN, LOADING or
 *     NOPRIMARY (a replica or a node without a primary): rediscover and
 *     send again. Always safe.
 *   - The command was written but the connection failed before its reply
 *     (reset, EOF, I/O timeout, protocol error): its outcome is unknown. It
 *     is sent again only if the caller passed KV_CMD_IDEMPOTENT; otherwise
 *     the call fails with KV_EUNKNOWN at once.
 * Every retry counts against max_attempts and failover_timeout_ms. When
 * they run out the call fails with KV_EUNKNOWN if some attempt may have
 * executed the command, else KV_ENOPRIMARY. failover_timeout_ms bounds
 * discovery and retries; the wait for the reply of a command that was sent
 * is bounded by io_timeout_ms alone (so BLPOP key 0 may block).
 *
 * Any other reply, error replies included, is returned as is. Connection
 * state (MULTI, SUBSCRIBE, CLIENT TRACKING, SELECT) does not survive a
 * failover; only AUTH/HELLO and the database (kv_options.db) are redone on
 * new connections.
 */
typedef struct kv_cluster kv_cluster;

/* Flags for kv_cluster_command. */
#define KV_CMD_IDEMPOTENT 0x1u /* may be executed more than once */

/* Create a handle from a comma-separated seed list "host:port,host:port";
 * IPv6 hosts are bracketed ("[::1]:7379"). Neither list nor opt is kept.
 * No I/O happens until the first command (or kv_cluster_discover).
 * Returns 0, KV_EINVAL (empty or malformed list, bad option) or KV_ENOMEM;
 * *out is set only on success. */
KV_EXTERN int kv_cluster_new(kv_cluster **out, const char *seeds, const kv_options *opt);

/* Close the primary connection and free the handle. NULL is fine. */
KV_EXTERN void kv_cluster_free(kv_cluster *cl);

/* Find the primary now (dropping the current connection), under the same
 * deadline and backoff rules as a command. Returns 0, KV_ENOPRIMARY. */
KV_EXTERN int kv_cluster_discover(kv_cluster *cl);

/* Send a command to the primary, following the rules above. flags is 0 or
 * KV_CMD_IDEMPOTENT. On success returns 0 and *reply (owned by the caller)
 * holds the reply; on failure *reply is NULL and the code is KV_EUNKNOWN,
 * KV_ENOPRIMARY, or an argument/memory error. */
KV_EXTERN int kv_cluster_command(kv_cluster *cl, unsigned flags, int argc,
                                 const char *const argv[], const size_t argvlen[],
                                 kv_reply **reply);

/* Copy the address of the primary last found into host (NUL-terminated) and
 * *port. KV_ENOPRIMARY if none is known, KV_ERANGE if hostcap is too small.
 */
KV_EXTERN int kv_cluster_primary(const kv_cluster *cl, char *host, size_t hostcap, int *port);

/* The last error's message ("" if none), with the per-node reasons of the
 * last failed discovery. Valid until the next call on cl. */
KV_EXTERN const char *kv_cluster_errmsg(const kv_cluster *cl);

#ifdef __cplusplus
}
#endif

#endif
