/* peer.c — a framed connection on the peer port (see repl_int.h).
 *
 * Reads feed a bounded frame_reader; every whole message goes to the
 * owner's on_message. Writes are one heap block per message handed to
 * uv_write. A bad frame closes the connection after logging why; memory is
 * released only in the uv_close callback (on_closed), never while one of
 * the connection's callbacks is on the stack. */
#include "repl_int.h"

#include "log.h"
#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct wreq {
    uv_write_t req;
    size_t len;
    char data[];
} wreq;

void peer_init(peer_conn *c, repl *r, void *owner)
{
    memset(c, 0, sizeof *c);
    c->r = r;
    c->owner = owner;
    frame_reader_init(&c->in, FRAME_MAX_DEFAULT);
    uv_tcp_init(r->loop, &c->tcp);
    c->tcp.data = c;
    c->last_recv_ms = c->last_send_ms = repl_now_ms();
}

static void on_closed(uv_handle_t *h)
{
    peer_conn *c = h->data;
    frame_reader_free(&c->in);
    if (c->on_closed)
        c->on_closed(c);
}

void peer_close(peer_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    kv_free(req->data);
}

int peer_send(peer_conn *c, const Kv__PeerMessage *m)
{
    if (c->closing)
        return -1;
    kbuf b = KBUF_INIT;
    frame_encode(m, &b);
    wreq *w = kv_malloc(sizeof *w + kbuf_len(&b));
    w->len = kbuf_len(&b);
    memcpy(w->data, kbuf_data(&b), w->len);
    kbuf_free(&b);
    w->req.data = w;
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        kv_free(w);
        peer_close(c);
        return -1;
    }
    c->last_send_ms = repl_now_ms();
    return 0;
}

void peer_fail(peer_conn *c, Kv__Error__Code code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_warn("peer %s: %s; closing the connection", c->addr, msg);
    Kv__Error e = KV__ERROR__INIT;
    e.code = code;
    e.message = msg;
    e.term = c->r->meta.term;
    if (c->r->fol) {
        e.leader_host = c->r->fol->host;
        e.leader_port = (uint32_t)c->r->fol->port;
    }
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_ERROR;
    m.error = &e;
    peer_send(c, &m);
    peer_close(c);
}

size_t peer_queued(peer_conn *c)
{
    return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    peer_conn *c = h->data;
    kbuf_reserve(&c->in.in, 64 * 1024);
    buf->base = kbuf_tail(&c->in.in);
    buf->len = kbuf_avail(&c->in.in);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    peer_conn *c = st->data;
    if (c->closing)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            log_verbose("peer %s: %s", c->addr, uv_strerror((int)nread));
        peer_close(c);
        return;
    }
    if (!nread)
        return;
    kbuf_commit(&c->in.in, (size_t)nread);
    c->last_recv_ms = repl_now_ms();
    for (;;) {
        Kv__PeerMessage *m;
        int rc = frame_next(&c->in, &m);
        if (rc == 0)
            break;
        if (rc < 0) {
            peer_fail(c, KV__ERROR__CODE__PROTOCOL, "bad frame: %s", c->in.err);
            return;
        }
        if (c->on_message(c, m) < 0 || c->closing)
            return;
    }
}

int peer_start_reading(peer_conn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char ip[64] = "?";
    int port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    snprintf(c->addr, sizeof c->addr, "%s:%d", ip, port);
    return uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}
