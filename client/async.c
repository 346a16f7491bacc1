/* async.c — kv_async, the libuv connection (public contract in
 * kvclient_uv.h).
 *
 * Owns: a TCP or pipe handle, one timer (connect deadline, then I/O
 * timeout), the resolver request, the reader, the queue of commands
 * awaiting replies, and two output buffers (the write in flight and the
 * bytes queued behind it, so commands issued during a write go out
 * together in the next one).
 *
 * States:
 *
 *   RESOLVING ─▶ CONNECTING ─▶ [HANDSHAKE] ─▶ READY
 *       │            │              │           │
 *       └────────────┴──────────────┴───────────┴──▶ CLOSING ─▶ DONE
 *
 * CLOSING is entered by start_close() (error, close, drained disconnect):
 * it stops I/O and uv_close()s the handles. User callbacks for the queued
 * commands and on_connect/on_disconnect run only from finish(), called by
 * the last close callback; the handle is freed right after them, so no
 * user callback ever runs with the handle freed beneath it, and no API call
 * ever runs a user callback synchronously. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "kvclient_uv.h"

typedef struct cmd {
    struct cmd *next;
    kv_async_reply_cb cb;
    void *privdata;
    unsigned written : 1;  /* its bytes went into a uv_write */
    unsigned internal : 1; /* the handshake (AUTH/HELLO, SELECT) */
    /* RESP3 (P|S)(UN)SUBSCRIBE: the server answers with one push per
     * channel, whose first element is the command's name (kind). The
     * command completes with the last of them; the earlier ones are
     * dropped. 0 for every other command. */
    size_t confirms;
    char kind[13];
} cmd;

enum state { ST_RESOLVING, ST_CONNECTING, ST_HANDSHAKE, ST_READY, ST_CLOSING, ST_DONE };

struct kv_async {
    uv_loop_t *loop;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } sock;
    int sock_open;
    uv_timer_t timer;
    uv_getaddrinfo_t gai;
    int gai_active;
    struct addrinfo *ai_list, *ai_next;
    uv_connect_t creq;
    uv_write_t wreq;
    int writing;
    kvc_buf wbuf;        /* bytes of the write in flight */
    kvc_buf out;         /* bytes of unwritten commands, in queue order */
    kv_reader *reader;
    kv_options opt;

    cmd *head, *tail;    /* awaiting replies, in order */
    cmd *unwritten;      /* first command whose bytes are still in out */
    size_t npending;     /* user commands in the queue */

    enum state state;
    int connected;       /* on_connect(0) has run */
    int draining;        /* kv_async_disconnect() was called */
    int end_status;      /* why it ended: 0 (closed by the user) or < 0 */
    int open_handles;    /* handles initialised and not yet closed */

    kv_async_connect_cb on_connect;
    kv_async_disconnect_cb on_disconnect;
    void *data;
    kv_push_fn push_fn;
    void *push_data;

    char *where;         /* host or socket path */
    int port;            /* 0 for a Unix socket */
    char rbuf[65536];
    char err[KVC_ERRMSG_MAX];
};

static void start_close(kv_async *ac, int status);
static void maybe_write(kv_async *ac);

/* ---- Helpers ---- */

static int fail(kv_async *ac, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* End the connection because of an error (first error wins). */
static int fail(kv_async *ac, int code, const char *fmt, ...)
{
    if (ac->state >= ST_CLOSING)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ac->err, sizeof ac->err, fmt, ap);
    va_end(ap);
    start_close(ac, code);
    return code;
}

static int map_uv_connect_error(int uverr)
{
    return uverr == UV_ETIMEDOUT ? KV_ETIMEDOUT : KV_ECONNECT;
}

static void free_async(kv_async *ac)
{
    if (ac->ai_list)
        uv_freeaddrinfo(ac->ai_list);
    kv_reader_free(ac->reader);
    kvc_buf_free(&ac->wbuf);
    kvc_buf_free(&ac->out);
    kvc_options_free(&ac->opt);
    free(ac->where);
    free(ac);
}

/* Everything is closed: report to the user and free. */
static void finish(kv_async *ac)
{
    ac->state = ST_DONE;
    while (ac->head) {
        cmd *c = ac->head;
        ac->head = c->next;
        int status = !c->written ? KV_ECANCELED : ac->end_status < 0 ? ac->end_status : KV_EUNKNOWN;
        kv_async_reply_cb cb = c->cb;
        void *pd = c->privdata;
        int internal = c->internal;
        free(c);
        if (internal)
            continue;
        ac->npending--;
        if (cb)
            cb(ac, status, NULL, pd);
    }
    ac->tail = ac->unwritten = NULL;
    if (ac->connected) {
        if (ac->on_disconnect)
            ac->on_disconnect(ac, ac->end_status, ac->data);
    } else if (ac->on_connect) {
        ac->on_connect(ac, ac->end_status < 0 ? ac->end_status : KV_ECANCELED, ac->data);
    }
    free_async(ac);
}

static void maybe_finish(kv_async *ac)
{
    if (ac->state == ST_CLOSING && ac->open_handles == 0 && !ac->gai_active)
        finish(ac);
}

static void on_handle_closed(uv_handle_t *h)
{
    kv_async *ac = h->data;
    ac->open_handles--;
    maybe_finish(ac);
}

static void close_sock(kv_async *ac, uv_close_cb cb)
{
    if (!ac->sock_open)
        return;
    ac->sock_open = 0;
    uv_read_stop(&ac->sock.stream);
    uv_close(&ac->sock.handle, cb);
}

static void start_close(kv_async *ac, int status)
{
    if (ac->state >= ST_CLOSING)
        return;
    ac->state = ST_CLOSING;
    ac->end_status = status;
    if (ac->gai_active)
        uv_cancel((uv_req_t *)&ac->gai);
    close_sock(ac, on_handle_closed);
    uv_timer_stop(&ac->timer);
    uv_close((uv_handle_t *)&ac->timer, on_handle_closed);
}

/* (Re)arm the timer after progress: connect deadline before READY (armed
 * once at start), I/O timeout while replies are owed. */
static void arm_io_timer(kv_async *ac);

static void on_timer(uv_timer_t *t)
{
    kv_async *ac = t->data;
    if (ac->state < ST_READY)
        fail(ac, KV_ETIMEDOUT, "connect %s: timed out after %d ms", ac->where,
             ac->opt.connect_timeout_ms);
    else
        fail(ac, KV_ETIMEDOUT, "no reply within %d ms", ac->opt.io_timeout_ms);
}

static void arm_io_timer(kv_async *ac)
{
    if (ac->state != ST_READY)
        return;
    if (ac->npending > 0 && ac->opt.io_timeout_ms > 0)
        uv_timer_start(&ac->timer, on_timer, (uint64_t)ac->opt.io_timeout_ms, 0);
    else
        uv_timer_stop(&ac->timer);
}

/* ---- Writing ---- */

static void on_written(uv_write_t *req, int status)
{
    kv_async *ac = req->data;
    ac->writing = 0;
    kvc_buf_reset(&ac->wbuf);
    if (ac->state >= ST_CLOSING)
        return;
    if (status < 0) {
        fail(ac, KV_EIO, "write: %s", uv_strerror(status));
        return;
    }
    arm_io_timer(ac);
    maybe_write(ac);
}

static void write_wbuf(kv_async *ac)
{
    uv_buf_t b = uv_buf_init(ac->wbuf.data + ac->wbuf.off, (unsigned)kvc_buf_avail(&ac->wbuf));
    ac->wreq.data = ac;
    int rc = uv_write(&ac->wreq, &ac->sock.stream, &b, 1, on_written);
    if (rc < 0) {
        fail(ac, KV_EIO, "write: %s", uv_strerror(rc));
        return;
    }
    ac->writing = 1;
}

/* Start writing the queued bytes if the connection is ready and idle. */
static void maybe_write(kv_async *ac)
{
    if (ac->state != ST_READY || ac->writing || kvc_buf_avail(&ac->out) == 0)
        return;
    kvc_buf tmp = ac->wbuf;
    ac->wbuf = ac->out;
    ac->out = tmp;
    for (cmd *c = ac->unwritten; c; c = c->next)
        c->written = 1;
    ac->unwritten = NULL;
    write_wbuf(ac);
}

/* ---- Reading ---- */

static void become_ready(kv_async *ac)
{
    ac->state = ST_READY;
    uv_timer_stop(&ac->timer);
    ac->connected = 1;
    if (ac->on_connect)
        ac->on_connect(ac, 0, ac->data);
    if (ac->state != ST_READY)
        return;
    if (ac->draining && ac->npending == 0) {
        start_close(ac, 0);
        return;
    }
    maybe_write(ac);
    arm_io_timer(ac);
}

static void handshake_reply(kv_async *ac, kv_reply *r)
{
    if (r->type == KV_REPLY_ERROR) {
        fail(ac, KV_EAUTH, "handshake: %s", r->str);
        kv_reply_free(r);
        return;
    }
    kv_reply_free(r);
    if (ac->head && ac->head->internal)
        return; /* the SELECT after AUTH/HELLO answers next */
    become_ready(ac);
}

/* A RESP3 push confirming one channel of a (un)subscribe of this kind. */
static int is_confirmation(const kv_reply *r, const char *kind)
{
    return r->elements == 3 && r->element[0]->type == KV_REPLY_STRING &&
           r->element[0]->len == strlen(kind) &&
           strncasecmp(r->element[0]->str, kind, r->element[0]->len) == 0;
}

/* Hand every complete reply to its command, in order, until the input is
 * used up or a callback closed the connection. */
static void dispatch(kv_async *ac)
{
    while (ac->state < ST_CLOSING) {
        kv_reply *r;
        int rc = kv_reader_get(ac->reader, &r);
        if (rc < 0) {
            fail(ac, rc, "read: %s", kv_reader_errmsg(ac->reader));
            return;
        }
        if (r == NULL)
            return;
        cmd *c = ac->head;
        if (r->type == KV_REPLY_PUSH) {
            if (c && c->confirms && is_confirmation(r, c->kind)) {
                if (--c->confirms > 0) {
                    kv_reply_free(r);
                    continue;
                }
                /* the last confirmation answers the command */
            } else {
                if (ac->push_fn)
                    ac->push_fn(ac->push_data, r);
                else
                    kv_reply_free(r);
                continue;
            }
        }
        if (c == NULL) {
            kv_reply_free(r);
            fail(ac, KV_EPROTO, "protocol error: reply with no command waiting");
            return;
        }
        ac->head = c->next;
        if (ac->head == NULL)
            ac->tail = NULL;
        if (c->internal) {
            free(c);
            handshake_reply(ac, r);
            continue;
        }
        kv_async_reply_cb cb = c->cb;
        void *pd = c->privdata;
        free(c);
        ac->npending--;
        if (cb)
            cb(ac, 0, r, pd);
        else
            kv_reply_free(r);
        if (ac->draining && ac->npending == 0 && ac->state == ST_READY)
            start_close(ac, 0);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    kv_async *ac = h->data;
    *buf = uv_buf_init(ac->rbuf, sizeof ac->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    kv_async *ac = s->data;
    (void)buf;
    if (ac->state >= ST_CLOSING || nread == 0)
        return;
    if (nread == UV_EOF) {
        fail(ac, KV_EIO, "server closed the connection");
        return;
    }
    if (nread < 0) {
        fail(ac, KV_EIO, "read: %s", uv_strerror((int)nread));
        return;
    }
    int rc = kv_reader_feed(ac->reader, ac->rbuf, (size_t)nread);
    if (rc < 0) {
        fail(ac, rc, "read: %s", kv_reader_errmsg(ac->reader));
        return;
    }
    dispatch(ac);
    arm_io_timer(ac);
}

/* ---- Connecting ---- */

/* Queue one handshake command before the caller's commands. */
static int queue_internal(kv_async *ac, cmd **last, int argc, const char **argv)
{
    cmd *c = kvc_calloc(1, sizeof *c);
    if (c == NULL || kvc_append_command(&ac->wbuf, argc, argv, NULL) < 0) {
        free(c);
        fail(ac, KV_ENOMEM, "out of memory");
        return -1;
    }
    c->internal = 1;
    c->written = 1;
    /* Nothing was written yet, so the handshake goes first, in order. */
    if (*last) {
        c->next = (*last)->next;
        (*last)->next = c;
    } else {
        c->next = ac->head;
        ac->head = c;
    }
    if (c->next == NULL)
        ac->tail = c;
    *last = c;
    return 0;
}

/* AUTH/HELLO, then SELECT, as the options ask; ready after the last. */
static void start_handshake(kv_async *ac)
{
    const char *argv[7];
    char num[16];
    cmd *last = NULL;
    int argc = kvc_handshake_argv(&ac->opt, argv);
    if (argc && queue_internal(ac, &last, argc, argv) < 0)
        return;
    argc = kvc_select_argv(&ac->opt, argv, num);
    if (argc && queue_internal(ac, &last, argc, argv) < 0)
        return;
    if (last == NULL) {
        become_ready(ac);
        return;
    }
    ac->state = ST_HANDSHAKE;
    write_wbuf(ac);
}

static void try_next_address(kv_async *ac);

static void on_retry_closed(uv_handle_t *h)
{
    kv_async *ac = h->data;
    ac->open_handles--;
    if (ac->state >= ST_CLOSING)
        maybe_finish(ac);
    else
        try_next_address(ac);
}

static void on_connected(uv_connect_t *req, int status)
{
    kv_async *ac = req->data;
    if (ac->state >= ST_CLOSING)
        return;
    if (status < 0) {
        const char *fmt = ac->port == 0 ? "connect %s: %s" : "connect %s:%d: %s";
        if (ac->port == 0)
            snprintf(ac->err, sizeof ac->err, fmt, ac->where, uv_strerror(status));
        else
            snprintf(ac->err, sizeof ac->err, fmt, ac->where, ac->port, uv_strerror(status));
        ac->end_status = map_uv_connect_error(status);
        if (ac->ai_next) {
            close_sock(ac, on_retry_closed);
            return;
        }
        char msg[KVC_ERRMSG_MAX];
        memcpy(msg, ac->err, sizeof msg);
        fail(ac, ac->end_status, "%s", msg);
        return;
    }
    if (ac->port != 0) {
        uv_tcp_nodelay(&ac->sock.tcp, 1);
        uv_tcp_keepalive(&ac->sock.tcp, 1, 60);
    }
    int rc = uv_read_start(&ac->sock.stream, on_alloc, on_read);
    if (rc < 0) {
        fail(ac, KV_EIO, "read: %s", uv_strerror(rc));
        return;
    }
    start_handshake(ac);
}

static void try_next_address(kv_async *ac)
{
    struct addrinfo *ai = ac->ai_next;
    if (ai == NULL) {
        fail(ac, KV_ECONNECT, "connect %s:%d: no usable address", ac->where, ac->port);
        return;
    }
    ac->ai_next = ai->ai_next;
    uv_tcp_init(ac->loop, &ac->sock.tcp);
    ac->sock.handle.data = ac;
    ac->sock_open = 1;
    ac->open_handles++;
    ac->creq.data = ac;
    int rc = uv_tcp_connect(&ac->creq, &ac->sock.tcp, ai->ai_addr, on_connected);
    if (rc < 0) {
        snprintf(ac->err, sizeof ac->err, "connect %s:%d: %s", ac->where, ac->port,
                 uv_strerror(rc));
        ac->end_status = map_uv_connect_error(rc);
        if (ac->ai_next) {
            close_sock(ac, on_retry_closed);
        } else {
            char msg[KVC_ERRMSG_MAX];
            memcpy(msg, ac->err, sizeof msg);
            fail(ac, ac->end_status, "%s", msg);
        }
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    kv_async *ac = req->data;
    ac->gai_active = 0;
    if (ac->state >= ST_CLOSING) {
        if (res)
            uv_freeaddrinfo(res);
        maybe_finish(ac);
        return;
    }
    if (status < 0) {
        fail(ac, KV_EADDR, "resolve %s: %s", ac->where, uv_strerror(status));
        return;
    }
    ac->ai_list = ac->ai_next = res;
    ac->state = ST_CONNECTING;
    try_next_address(ac);
}

/* Allocate and set up what both connect calls share. */
static int new_async(kv_async **out, uv_loop_t *loop, const char *where, const kv_options *opt,
                     kv_async_connect_cb on_connect, kv_async_disconnect_cb on_disconnect,
                     void *data)
{
    if (loop == NULL || where == NULL)
        return KV_EINVAL;
    kv_async *ac = kvc_calloc(1, sizeof *ac);
    if (ac == NULL)
        return KV_ENOMEM;
    int rc = kvc_options_copy(&ac->opt, opt);
    if (rc < 0) {
        free(ac);
        return rc;
    }
    ac->loop = loop;
    ac->on_connect = on_connect;
    ac->on_disconnect = on_disconnect;
    ac->data = data;
    ac->where = kvc_strdup(where);
    ac->reader = kv_reader_new(&ac->opt.limits);
    if (ac->where == NULL || ac->reader == NULL) {
        free_async(ac);
        return KV_ENOMEM;
    }
    *out = ac;
    return 0;
}

/* The timer exists from here until start_close(). */
static void start_timer(kv_async *ac)
{
    uv_timer_init(ac->loop, &ac->timer);
    ac->timer.data = ac;
    ac->open_handles++;
    if (ac->opt.connect_timeout_ms > 0)
        uv_timer_start(&ac->timer, on_timer, (uint64_t)ac->opt.connect_timeout_ms, 0);
}

/* ---- API ---- */

int kv_async_connect_tcp(kv_async **out, uv_loop_t *loop, const char *host, int port,
                         const kv_options *opt, kv_async_connect_cb on_connect,
                         kv_async_disconnect_cb on_disconnect, void *data)
{
    if (out == NULL || port < 1 || port > 65535)
        return KV_EINVAL;
    kv_async *ac;
    int rc = new_async(&ac, loop, host, opt, on_connect, on_disconnect, data);
    if (rc < 0)
        return rc;
    ac->port = port;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    ac->gai.data = ac;
    rc = uv_getaddrinfo(loop, &ac->gai, on_resolved, host, portstr, &hints);
    if (rc < 0) {
        free_async(ac);
        return rc == UV_ENOMEM ? KV_ENOMEM : KV_EIO;
    }
    ac->gai_active = 1;
    ac->state = ST_RESOLVING;
    start_timer(ac);
    *out = ac;
    return 0;
}

int kv_async_connect_unix(kv_async **out, uv_loop_t *loop, const char *path,
                          const kv_options *opt, kv_async_connect_cb on_connect,
                          kv_async_disconnect_cb on_disconnect, void *data)
{
    if (out == NULL || path == NULL || path[0] == '\0')
        return KV_EINVAL;
    kv_async *ac;
    int rc = new_async(&ac, loop, path, opt, on_connect, on_disconnect, data);
    if (rc < 0)
        return rc;
    rc = uv_pipe_init(loop, &ac->sock.pipe, 0);
    if (rc < 0) {
        free_async(ac);
        return KV_EIO;
    }
    ac->sock.handle.data = ac;
    ac->sock_open = 1;
    ac->open_handles++;
    ac->state = ST_CONNECTING;
    ac->creq.data = ac;
    uv_pipe_connect(&ac->creq, &ac->sock.pipe, ac->where, on_connected);
    start_timer(ac);
    *out = ac;
    return 0;
}

/* RESP3 answers the Pub/Sub (un)subscribe commands with pushes only: the
 * name of such a command, lower-cased, into kind; 0 for any other. */
static int subscribe_kind(int argc, const char *const argv[], const size_t argvlen[],
                          char kind[13])
{
    static const char *const names[] = {"subscribe",   "psubscribe",   "ssubscribe",
                                        "unsubscribe", "punsubscribe", "sunsubscribe"};
    if (argc < 1 || argv == NULL || argv[0] == NULL)
        return 0;
    size_t n = argvlen ? argvlen[0] : strlen(argv[0]);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (n == strlen(names[i]) && strncasecmp(argv[0], names[i], n) == 0) {
            memcpy(kind, names[i], n + 1);
            return 1;
        }
    }
    return 0;
}

int kv_async_command(kv_async *ac, int argc, const char *const argv[], const size_t argvlen[],
                     kv_async_reply_cb cb, void *privdata)
{
    if (ac->state >= ST_CLOSING || ac->draining)
        return KV_ECLOSED;
    char kind[13];
    int sub = ac->opt.resp == 3 && subscribe_kind(argc, argv, argvlen, kind);
    /* Without channels an unsubscribe confirms every subscription the
     * server holds, a number only the server knows; a subscribe without
     * channels is an ordinary error reply. */
    if (sub && argc < 2 && strstr(kind, "unsubscribe"))
        return KV_EINVAL;
    cmd *c = kvc_calloc(1, sizeof *c);
    if (c == NULL)
        return KV_ENOMEM;
    if (sub && argc >= 2) {
        c->confirms = (size_t)argc - 1;
        memcpy(c->kind, kind, sizeof kind);
    }
    int rc = kvc_append_command(&ac->out, argc, argv, argvlen);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->cb = cb;
    c->privdata = privdata;
    if (ac->tail)
        ac->tail->next = c;
    else
        ac->head = c;
    ac->tail = c;
    if (ac->unwritten == NULL)
        ac->unwritten = c;
    ac->npending++;
    if (ac->state == ST_READY) {
        maybe_write(ac);
        if (ac->npending == 1)
            arm_io_timer(ac);
    }
    return 0;
}

void kv_async_disconnect(kv_async *ac)
{
    if (ac->state >= ST_CLOSING || ac->draining)
        return;
    ac->draining = 1;
    if (ac->state == ST_READY && ac->npending == 0)
        start_close(ac, 0);
}

void kv_async_close(kv_async *ac)
{
    if (ac->state >= ST_CLOSING)
        return;
    start_close(ac, ac->state == ST_READY ? 0 : KV_ECANCELED);
}

void kv_async_set_push_handler(kv_async *ac, kv_push_fn fn, void *data)
{
    ac->push_fn = fn;
    ac->push_data = data;
}

size_t kv_async_pending(const kv_async *ac)
{
    return ac->npending;
}

void *kv_async_data(const kv_async *ac)
{
    return ac->data;
}

const char *kv_async_errmsg(const kv_async *ac)
{
    return ac->err;
}
