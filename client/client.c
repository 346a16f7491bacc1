/* client.c — kv_client, the blocking connection.
 *
 * Owns one socket, its reader and its output buffer. The socket is
 * non-blocking; every wait is a poll() bounded by io_timeout_ms (restarted
 * on progress) and, for kv_cluster's calls, by a hard deadline.
 *
 * States:
 *
 *     new ──connect──▶ CONNECTED ──transport error / close──▶ CLOSED
 *      ▲                  ▲                                     │
 *      └──────────────────┴──────────── connect / reconnect ◀───┘
 *
 * CLOSED and new look the same (fd == -1): every I/O call fails with
 * KV_ECLOSED until a connect succeeds. A transport error always closes:
 * after a timeout or a reset, the reply stream can no longer be matched to
 * the commands. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#define READ_CHUNK 16384

enum addr_kind { ADDR_NONE, ADDR_TCP, ADDR_UNIX };

struct kv_client {
    kv_options opt;
    int fd;
    kv_reader *reader;
    kvc_buf out;        /* commands appended but not yet written */
    size_t pending;     /* replies owed by the server */
    kv_push_fn push_fn;
    void *push_data;
    enum addr_kind kind;
    char *where;        /* host (TCP) or path (Unix) of the last connect */
    int port;
    char err[KVC_ERRMSG_MAX];
};

/* ---- Helpers ---- */

static void close_conn(kv_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    kv_reader_free(c->reader);
    c->reader = NULL;
    kvc_buf_reset(&c->out);
    c->pending = 0;
}

/* A transport failure: close and report. */
static int broken(kv_client *c, int code, const char *what, int errnum)
{
    if (errnum)
        kvc_fail(c->err, code, "%s: %s", what, strerror(errnum));
    else
        kvc_fail(c->err, code, "%s", what);
    close_conn(c);
    return code;
}

/* The poll timeout for the next wait: io_timeout_ms capped by hard. */
static int wait_ms(const kv_client *c, int64_t hard)
{
    int64_t d = kvc_deadline(c->opt.io_timeout_ms);
    if (hard < d)
        d = hard;
    return kvc_poll_timeout(d);
}

/* Wait until fd is ready for events. Returns the ready events (> 0),
 * KV_ETIMEDOUT or KV_EIO (errno). */
static int wait_fd(kv_client *c, short events, int64_t hard)
{
    struct pollfd pfd = {.fd = c->fd, .events = events};
    for (;;) {
        int rc = poll(&pfd, 1, wait_ms(c, hard));
        if (rc > 0)
            return pfd.revents;
        if (rc == 0)
            return KV_ETIMEDOUT;
        if (errno != EINTR)
            return KV_EIO;
    }
}

/* While a long pipeline is being written, the server's replies pile up.
 * Take them into the reader so that neither side waits for the other
 * forever; stop taking once the reader holds half its max_buffer. */
static int absorb_replies(kv_client *c)
{
    char buf[READ_CHUNK];
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0)
        return broken(c, KV_EIO, "server closed the connection", 0);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                   ? 0
                   : broken(c, KV_EIO, "read", errno);
    int rc = kv_reader_feed(c->reader, buf, (size_t)n);
    if (rc < 0) {
        kvc_fail(c->err, rc, "read: %s", kv_reader_errmsg(c->reader));
        close_conn(c);
        return rc;
    }
    return 0;
}

/* Write the whole output buffer. *sent becomes 1 once any byte is taken. */
static int flush_out(kv_client *c, int64_t hard, int *sent)
{
    size_t absorbed = 0, absorb_max = c->opt.limits.max_buffer / 2;
    while (kvc_buf_avail(&c->out) > 0) {
        ssize_t n = send(c->fd, c->out.data + c->out.off, kvc_buf_avail(&c->out), MSG_NOSIGNAL);
        if (n > 0) {
            *sent = 1;
            kvc_buf_consume(&c->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            short ev = POLLOUT;
            if (absorbed < absorb_max)
                ev |= POLLIN;
            int rc = wait_fd(c, ev, hard);
            if (rc == KV_ETIMEDOUT)
                return broken(c, rc, "write: timed out", 0);
            if (rc < 0)
                return broken(c, rc, "write: poll", errno);
            if ((rc & POLLIN) && !(rc & POLLOUT)) {
                absorbed += READ_CHUNK;
                if ((rc = absorb_replies(c)) < 0)
                    return rc;
            }
            continue;
        }
        return broken(c, KV_EIO, "write", errno);
    }
    return 0;
}

/* Hand a push to the handler (or drop it). */
static void deliver_push(kv_client *c, kv_reply *r)
{
    if (c->push_fn)
        c->push_fn(c->push_data, r);
    else
        kv_reply_free(r);
}

/* Next reply from what the reader already holds: 1 with *out, 0 if more
 * input is needed, < 0 on a reader error (connection closed). */
static int parsed_reply(kv_client *c, kv_reply **out)
{
    for (;;) {
        kv_reply *r;
        int rc = kv_reader_get(c->reader, &r);
        if (rc < 0) {
            kvc_fail(c->err, rc, "read: %s", kv_reader_errmsg(c->reader));
            close_conn(c);
            return rc;
        }
        if (r == NULL)
            return 0;
        if (r->type == KV_REPLY_PUSH) {
            deliver_push(c, r);
            continue;
        }
        *out = r;
        return 1;
    }
}

/* Receive once into the reader. 0 on data, < 0 on failure (closed). */
static int recv_some(kv_client *c, int64_t hard)
{
    char buf[READ_CHUNK];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n > 0) {
            int rc = kv_reader_feed(c->reader, buf, (size_t)n);
            if (rc < 0) {
                kvc_fail(c->err, rc, "read: %s", kv_reader_errmsg(c->reader));
                close_conn(c);
                return rc;
            }
            return 0;
        }
        if (n == 0)
            return broken(c, KV_EIO, "server closed the connection", 0);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_fd(c, POLLIN, hard);
            if (rc > 0)
                continue;
            if (rc == KV_ETIMEDOUT)
                return broken(c, rc, "read: timed out waiting for a reply", 0);
            if (rc < 0)
                return broken(c, rc, "read: poll", errno);
        }
        return broken(c, KV_EIO, "read", errno);
    }
}

static int read_reply(kv_client *c, int64_t hard, kv_reply **reply)
{
    for (;;) {
        int rc = parsed_reply(c, reply);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            if (c->pending > 0)
                c->pending--;
            return 0;
        }
        if ((rc = recv_some(c, hard)) < 0)
            return rc;
    }
}

/* Before writing on an idle connection, see whether the server has closed
 * it (or reset it) meanwhile: then the command is known not to be sent.
 * Pushes that arrived are delivered. 0 if the connection looks alive. */
static int check_idle(kv_client *c)
{
    for (;;) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int rc = poll(&pfd, 1, 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return 0;
        char buf[READ_CHUNK];
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0)
            return broken(c, KV_ECLOSED, "server closed the idle connection", 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return broken(c, KV_ECLOSED, "idle connection failed", errno);
        }
        if ((rc = kv_reader_feed(c->reader, buf, (size_t)n)) < 0) {
            kvc_fail(c->err, KV_ECLOSED, "read: %s", kv_reader_errmsg(c->reader));
            close_conn(c);
            return KV_ECLOSED;
        }
        kv_reply *r = NULL;
        if ((rc = parsed_reply(c, &r)) < 0)
            return KV_ECLOSED;
        if (rc == 1) {
            /* Nothing was asked: a reply now means the stream is out of step
             * (Redis sends an error just before it drops a client). */
            kvc_fail(c->err, KV_ECLOSED, "unexpected reply on an idle connection: %.*s",
                     r->str ? (int)(r->len < 120 ? r->len : 120) : 0, r->str ? r->str : "");
            kv_reply_free(r);
            close_conn(c);
            return KV_ECLOSED;
        }
    }
}

static int handshake_step(kv_client *c, int argc, const char **argv, int64_t hard)
{
    kv_reply *r = NULL;
    int sent = 0;
    int rc = kvc_client_command(c, argc, argv, NULL, hard, &r, &sent);
    if (rc < 0) {
        char tmp[KVC_ERRMSG_MAX];
        memcpy(tmp, c->err, sizeof tmp);
        return kvc_fail(c->err, rc, "handshake (%s): %s", argv[0], tmp);
    }
    if (r->type == KV_REPLY_ERROR) {
        kvc_fail(c->err, KV_EAUTH, "%s: %s", argv[0], r->str);
        kv_reply_free(r);
        close_conn(c);
        return KV_EAUTH;
    }
    kv_reply_free(r);
    return 0;
}

/* AUTH/HELLO, then SELECT, as the options ask. */
static int handshake(kv_client *c, int64_t hard)
{
    const char *argv[7];
    char num[16];
    int argc = kvc_handshake_argv(&c->opt, argv);
    int rc = argc ? handshake_step(c, argc, argv, hard) : 0;
    if (rc == 0 && (argc = kvc_select_argv(&c->opt, argv, num)) > 0)
        rc = handshake_step(c, argc, argv, hard);
    return rc;
}

/* Set up the reader and run the handshake on a fresh fd. */
static int connected(kv_client *c, int fd, int64_t hard)
{
    c->fd = fd;
    c->reader = kv_reader_new(&c->opt.limits);
    if (c->reader == NULL)
        return broken(c, KV_ENOMEM, "out of memory", 0);
    return handshake(c, hard);
}

static int remember(kv_client *c, enum addr_kind kind, const char *where, int port)
{
    if (c->where != where) {
        char *w = kvc_strdup(where);
        if (w == NULL)
            return kvc_fail(c->err, KV_ENOMEM, "out of memory");
        free(c->where);
        c->where = w;
    }
    c->kind = kind;
    c->port = port;
    return 0;
}

/* ---- Internal API (kv_cluster) ---- */

int kvc_client_connect_tcp(kv_client *c, const char *host, int port, int64_t hard)
{
    close_conn(c);
    if (host == NULL || port < 1 || port > 65535)
        return kvc_fail(c->err, KV_EINVAL, "connect: bad address");
    int rc = remember(c, ADDR_TCP, host, port);
    if (rc < 0)
        return rc;
    int64_t d = kvc_deadline(c->opt.connect_timeout_ms);
    if (hard < d)
        d = hard;
    int fd = kvc_net_connect_tcp(c->where, port, d, c->err);
    if (fd < 0)
        return fd;
    return connected(c, fd, d);
}

int kvc_client_command(kv_client *c, int argc, const char *const argv[],
                       const size_t argvlen[], int64_t hard, kv_reply **reply, int *sent)
{
    *reply = NULL;
    *sent = 0;
    if (c->fd < 0)
        return kvc_fail(c->err, KV_ECLOSED, "not connected");
    if (c->pending > 0 || kvc_buf_avail(&c->out) > 0)
        return kvc_fail(c->err, KV_EBUSY, "%zu appended replies not read yet", c->pending);
    int rc = check_idle(c);
    if (rc < 0)
        return rc;
    if ((rc = kvc_append_command(&c->out, argc, argv, argvlen)) < 0)
        return kvc_fail(c->err, rc, "format command: %s", kv_strerror(rc));
    c->pending = 1;
    if ((rc = flush_out(c, hard, sent)) < 0)
        return rc;
    return read_reply(c, hard, reply);
}

/* ---- API ---- */

int kv_client_new(kv_client **out, const kv_options *opt)
{
    kv_client *c = kvc_calloc(1, sizeof *c);
    if (c == NULL)
        return KV_ENOMEM;
    int rc = kvc_options_copy(&c->opt, opt);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->fd = -1;
    *out = c;
    return 0;
}

void kv_client_free(kv_client *c)
{
    if (c == NULL)
        return;
    close_conn(c);
    kvc_buf_free(&c->out);
    kvc_options_free(&c->opt);
    free(c->where);
    free(c);
}

int kv_client_connect_tcp(kv_client *c, const char *host, int port)
{
    return kvc_client_connect_tcp(c, host, port, INT64_MAX);
}

int kv_client_connect_unix(kv_client *c, const char *path)
{
    close_conn(c);
    if (path == NULL)
        return kvc_fail(c->err, KV_EINVAL, "connect: bad unix socket path");
    int rc = remember(c, ADDR_UNIX, path, 0);
    if (rc < 0)
        return rc;
    int64_t d = kvc_deadline(c->opt.connect_timeout_ms);
    int fd = kvc_net_connect_unix(c->where, d, c->err);
    if (fd < 0)
        return fd;
    return connected(c, fd, d);
}

int kv_client_reconnect(kv_client *c)
{
    switch (c->kind) {
    case ADDR_TCP:
        return kvc_client_connect_tcp(c, c->where, c->port, INT64_MAX);
    case ADDR_UNIX:
        return kv_client_connect_unix(c, c->where);
    default:
        return kvc_fail(c->err, KV_EINVAL, "reconnect: never connected");
    }
}

void kv_client_close(kv_client *c)
{
    close_conn(c);
}

int kv_client_is_connected(const kv_client *c)
{
    return c->fd >= 0;
}

void kv_client_set_io_timeout(kv_client *c, int io_timeout_ms)
{
    c->opt.io_timeout_ms = io_timeout_ms;
}

void kv_client_set_push_handler(kv_client *c, kv_push_fn fn, void *data)
{
    c->push_fn = fn;
    c->push_data = data;
}

int kv_client_command(kv_client *c, int argc, const char *const argv[], const size_t argvlen[],
                      kv_reply **reply)
{
    int sent;
    return kvc_client_command(c, argc, argv, argvlen, INT64_MAX, reply, &sent);
}

int kv_client_append(kv_client *c, int argc, const char *const argv[], const size_t argvlen[])
{
    if (c->fd < 0)
        return kvc_fail(c->err, KV_ECLOSED, "not connected");
    int rc = kvc_append_command(&c->out, argc, argv, argvlen);
    if (rc < 0)
        return kvc_fail(c->err, rc, "format command: %s", kv_strerror(rc));
    c->pending++;
    return 0;
}

int kv_client_read(kv_client *c, kv_reply **reply)
{
    *reply = NULL;
    if (c->fd < 0)
        return kvc_fail(c->err, KV_ECLOSED, "not connected");
    int sent = 0;
    int rc = flush_out(c, INT64_MAX, &sent);
    if (rc < 0)
        return rc;
    return read_reply(c, INT64_MAX, reply);
}

size_t kv_client_pending(const kv_client *c)
{
    return c->pending;
}

int kv_client_fd(const kv_client *c)
{
    return c->fd;
}

const char *kv_client_errmsg(const kv_client *c)
{
    return c->err;
}
