/* peer.c — the peer port's connections (see peer.h).
 *
 * A connection:
 *
 *   inbound:   CHALLENGED --Hello ok--> AUTHED (messages handed up)
 *   outbound:  RESOLVING --> CONNECTING --> WAIT_CHALLENGE --Hello sent--> READY
 *
 * Any error closes the connection; memory is released only in the uv_close
 * callback, never while one of the connection's callbacks is on the stack.
 * An outbound connection that failed is not retried for a backoff that
 * doubles up to 500 ms; messages for it meanwhile are dropped. */
#include "peer.h"

#include "buf.h"
#include "frame.h"
#include "hmac.h"
#include "listen.h"
#include "log.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define NONCE_LEN 32
#define PRE_AUTH_MAX (64u << 10)
#define QUEUE_MAX (64u << 20)      /* bytes queued for a connection not ready */
#define VERSION 2u

enum { C_IN_CHALLENGED, C_IN_AUTHED, C_RESOLVING, C_CONNECTING, C_WAIT_CHALLENGE, C_READY };

typedef struct conn conn;
struct conn {
    peer_net *net;
    conn *prev, *next;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_getaddrinfo_t gai;
    int state;
    int outbound;
    int closing;
    int tcp_open;    /* tcp initialized (needs uv_close) */
    int resolving;
    frame_reader in;
    char addr[160];  /* outbound: the address dialed; inbound: the remote end */
    char id[48];     /* the node on the other end (outbound: as the core names it) */
    uint8_t nonce[NONCE_LEN];
    kbuf queue;      /* outbound frames waiting for READY */
};

typedef struct backoff {
    char addr[160];
    uint64_t until_ms;
    int ms;
} backoff;

struct peer_net {
    uv_loop_t *loop;
    char self[48];
    char secret[512];
    size_t max_frame;
    peer_net_on_message cb;
    void *arg;
    uv_tcp_t *listeners;
    int nlisteners;
    int listeners_open;
    conn *conns;
    backoff *bo;
    size_t nbo, capbo;
    int stopping;
    int open_handles;
    peer_net_stats st;
};

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static void maybe_free_net(peer_net *n)
{
    if (n->stopping && n->open_handles == 0) {
        kv_free(n->listeners);
        kv_free(n->bo);
        kv_free(n);
    }
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */
/* ------------------------------------------------------------------------ */

static void conn_free(conn *c)
{
    peer_net *n = c->net;
    frame_reader_free(&c->in);
    kbuf_free(&c->queue);
    kv_free(c);
    n->open_handles--;
    maybe_free_net(n);
}

static void on_closed(uv_handle_t *h)
{
    conn *c = h->data;
    c->tcp_open = 0;
    if (!c->resolving)
        conn_free(c);
}

static void unlink_conn(conn *c)
{
    peer_net *n = c->net;
    if (c->prev)
        c->prev->next = c->next;
    else if (n->conns == c)
        n->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    if (c->outbound)
        n->st.outbound--;
    else
        n->st.inbound--;
}

static void note_failure(peer_net *n, const char *addr)
{
    for (size_t i = 0; i < n->nbo; i++) {
        if (!strcmp(n->bo[i].addr, addr)) {
            n->bo[i].ms = n->bo[i].ms ? n->bo[i].ms * 2 : 100;
            if (n->bo[i].ms > 500)
                n->bo[i].ms = 500;
            n->bo[i].until_ms = now_ms() + (uint64_t)n->bo[i].ms;
            return;
        }
    }
    if (n->nbo == n->capbo) {
        n->capbo = n->capbo ? n->capbo * 2 : 8;
        n->bo = kv_realloc(n->bo, n->capbo * sizeof *n->bo);
    }
    backoff *b = &n->bo[n->nbo++];
    snprintf(b->addr, sizeof b->addr, "%s", addr);
    b->ms = 100;
    b->until_ms = now_ms() + 100;
}

static void note_success(peer_net *n, const char *addr)
{
    for (size_t i = 0; i < n->nbo; i++)
        if (!strcmp(n->bo[i].addr, addr))
            n->bo[i].ms = 0;
}

static int backing_off(peer_net *n, const char *addr)
{
    for (size_t i = 0; i < n->nbo; i++)
        if (!strcmp(n->bo[i].addr, addr))
            return n->bo[i].ms && now_ms() < n->bo[i].until_ms;
    return 0;
}

static void conn_close(conn *c, int failed)
{
    if (c->closing)
        return;
    c->closing = 1;
    unlink_conn(c);
    if (c->outbound && failed)
        note_failure(c->net, c->addr);
    if (c->tcp_open) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_close((uv_handle_t *)&c->tcp, on_closed);
    } else if (!c->resolving) {
        conn_free(c);
    }
}

static conn *conn_new(peer_net *n, int outbound)
{
    conn *c = kv_calloc(1, sizeof *c);
    c->net = n;
    c->outbound = outbound;
    frame_reader_init(&c->in, PRE_AUTH_MAX);
    c->next = n->conns;
    if (n->conns)
        n->conns->prev = c;
    n->conns = c;
    n->open_handles++;
    if (outbound)
        n->st.outbound++;
    else
        n->st.inbound++;
    return c;
}

typedef struct wreq {
    uv_write_t req;
    char data[];
} wreq;

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    kv_free(req->data);
}

static int write_bytes(conn *c, const void *p, size_t len)
{
    wreq *w = kv_malloc(sizeof *w + len);
    memcpy(w->data, p, len);
    w->req.data = w;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        kv_free(w);
        conn_close(c, 1);
        return -1;
    }
    return 0;
}

static int write_msg(conn *c, const Kv__PeerMessage *m)
{
    kbuf b = KBUF_INIT;
    frame_encode(m, &b);
    int rc = write_bytes(c, kbuf_data(&b), kbuf_len(&b));
    kbuf_free(&b);
    return rc;
}

static void send_error(conn *c, Kv__Error__Code code, const char *why)
{
    log_warn("peer %s: %s; closing the connection", c->addr, why);
    Kv__Error e = KV__ERROR__INIT;
    e.code = code;
    e.message = (char *)why;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_ERROR;
    m.error = &e;
    write_msg(c, &m);
    conn_close(c, 0);
}

static void mac_for(peer_net *n, const uint8_t *nonce, const char *id, uint8_t out[32])
{
    hmac_sha256(n->secret, strlen(n->secret), nonce, NONCE_LEN, id, strlen(id), out);
}

/* ---- inbound ---- */

static int valid_peer_id(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (!len || len > 40)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

static int inbound_message(conn *c, Kv__PeerMessage *m)
{
    peer_net *n = c->net;
    if (c->state == C_IN_CHALLENGED) {
        if (m->msg_case != KV__PEER_MESSAGE__MSG_HELLO) {
            n->st.protocol_errors++;
            send_error(c, KV__ERROR__CODE__PROTOCOL, "expected Hello");
            return -1;
        }
        Kv__Hello *h = m->hello;
        if (h->version != VERSION) {
            n->st.protocol_errors++;
            char why[128];
            snprintf(why, sizeof why, "peer speaks protocol version %u, this node speaks %u",
                     h->version, VERSION);
            send_error(c, KV__ERROR__CODE__VERSION, why);
            return -1;
        }
        if (!valid_peer_id(h->node_id)) {
            n->st.protocol_errors++;
            send_error(c, KV__ERROR__CODE__PROTOCOL, "invalid node id");
            return -1;
        }
        if (n->secret[0]) {
            uint8_t mac[32];
            mac_for(n, c->nonce, h->node_id, mac);
            if (h->hmac.len != 32 || !hmac_equal(mac, h->hmac.data)) {
                n->st.auth_failures++;
                send_error(c, KV__ERROR__CODE__AUTH, "authentication failed (cluster-secret)");
                return -1;
            }
        }
        snprintf(c->id, sizeof c->id, "%s", h->node_id);
        c->state = C_IN_AUTHED;
        c->in.max = n->max_frame;
        return 0;
    }
    switch (m->msg_case) {
    case KV__PEER_MESSAGE__MSG_CHALLENGE:
    case KV__PEER_MESSAGE__MSG_HELLO:
        n->st.protocol_errors++;
        send_error(c, KV__ERROR__CODE__PROTOCOL, "unexpected handshake message");
        return -1;
    case KV__PEER_MESSAGE__MSG_ERROR:
        log_warn("peer %s (%.12s): %s", c->addr, c->id,
                 m->error->message ? m->error->message : "error");
        conn_close(c, 0);
        return -1;
    default:
        n->cb(n->arg, c->id, m);
        return c->closing ? -1 : 0;
    }
}

/* ---- outbound ---- */

static int outbound_message(conn *c, Kv__PeerMessage *m)
{
    peer_net *n = c->net;
    if (m->msg_case == KV__PEER_MESSAGE__MSG_ERROR) {
        log_warn("peer %s refused this node: %s", c->addr,
                 m->error->message ? m->error->message : "error");
        conn_close(c, 1);
        return -1;
    }
    if (c->state != C_WAIT_CHALLENGE || m->msg_case != KV__PEER_MESSAGE__MSG_CHALLENGE) {
        n->st.protocol_errors++;
        conn_close(c, 1);
        return -1;
    }
    Kv__Challenge *ch = m->challenge;
    if (ch->version != VERSION) {
        log_warn("peer %s speaks protocol version %u, this node speaks %u", c->addr,
                 ch->version, VERSION);
        conn_close(c, 1);
        return -1;
    }
    if (ch->secret_required && !n->secret[0]) {
        log_warn("peer %s requires a cluster-secret and this node has none", c->addr);
        conn_close(c, 1);
        return -1;
    }
    Kv__Hello h = KV__HELLO__INIT;
    h.version = VERSION;
    h.node_id = n->self;
    uint8_t mac[32];
    if (n->secret[0] && ch->nonce.len == NONCE_LEN) {
        mac_for(n, ch->nonce.data, n->self, mac);
        h.hmac.data = mac;
        h.hmac.len = sizeof mac;
    }
    Kv__PeerMessage out = KV__PEER_MESSAGE__INIT;
    out.msg_case = KV__PEER_MESSAGE__MSG_HELLO;
    out.hello = &h;
    if (write_msg(c, &out) < 0)
        return -1;
    c->state = C_READY;
    note_success(n, c->addr);
    if (kbuf_len(&c->queue)) {
        if (write_bytes(c, kbuf_data(&c->queue), kbuf_len(&c->queue)) < 0)
            return -1;
        kbuf_reset(&c->queue);
    }
    return 0;
}

/* ---- reading ---- */

#define IN_KEEP (1u << 20) /* input buffer kept between frames */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn *c = h->data;
    kbuf_reserve(&c->in.in, 64 * 1024);
    buf->base = kbuf_tail(&c->in.in);
    buf->len = kbuf_avail(&c->in.in);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    conn *c = st->data;
    if (c->closing)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            log_verbose("peer %s: %s", c->addr, uv_strerror((int)nread));
        conn_close(c, c->outbound);
        return;
    }
    if (!nread)
        return;
    kbuf_commit(&c->in.in, (size_t)nread);
    for (;;) {
        Kv__PeerMessage *m;
        int rc = frame_next(&c->in, &m);
        if (rc == 0)
            break;
        if (rc < 0) {
            c->net->st.protocol_errors++;
            char why[200];
            snprintf(why, sizeof why, "bad frame: %s", c->in.err);
            send_error(c, KV__ERROR__CODE__PROTOCOL, why);
            return;
        }
        int r = c->outbound ? outbound_message(c, m) : inbound_message(c, m);
        kv__peer_message__free_unpacked(m, NULL);
        if (r < 0 || c->closing)
            return;
    }
    /* A big frame (a large value) grew the buffer: give it back once it is
     * read, as Redis trims a replica's query buffer (it counts in
     * used_memory, and maxmemory). */
    if (c->in.in.cap > IN_KEEP && kbuf_len(&c->in.in) < IN_KEEP / 2)
        kbuf_shrink(&c->in.in, 64 * 1024);
}

static void remote_name(conn *c)
{
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
}

static void on_connection(uv_stream_t *l, int status)
{
    peer_net *n = l->data;
    if (status < 0 || n->stopping)
        return;
    conn *c = conn_new(n, 0);
    uv_tcp_init(n->loop, &c->tcp);
    c->tcp.data = c;
    c->tcp_open = 1;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c, 0);
        return;
    }
    n->st.accepted++;
    uv_tcp_nodelay(&c->tcp, 1);
    remote_name(c);
    if (getrandom(c->nonce, sizeof c->nonce, 0) != (ssize_t)sizeof c->nonce)
        for (size_t i = 0; i < sizeof c->nonce; i++)
            c->nonce[i] = (uint8_t)rand();
    c->state = C_IN_CHALLENGED;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c, 0);
        return;
    }
    Kv__Challenge ch = KV__CHALLENGE__INIT;
    ch.version = VERSION;
    ch.nonce.data = c->nonce;
    ch.nonce.len = sizeof c->nonce;
    ch.node_id = n->self;
    ch.secret_required = n->secret[0] != '\0';
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_CHALLENGE;
    m.challenge = &ch;
    write_msg(c, &m);
}

static void on_connected(uv_connect_t *req, int status)
{
    conn *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        c->net->st.connect_failures++;
        log_verbose("connecting to peer %s: %s", c->addr, uv_strerror(status));
        conn_close(c, 1);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->state = C_WAIT_CHALLENGE;
    c->in.max = c->net->max_frame;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c, 1);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    conn *c = req->data;
    c->resolving = 0;
    if (c->closing) {
        uv_freeaddrinfo(res);
        if (!c->tcp_open)
            conn_free(c);
        return;
    }
    if (status < 0 || !res) {
        c->net->st.connect_failures++;
        log_verbose("cannot resolve peer %s: %s", c->addr, uv_strerror(status));
        uv_freeaddrinfo(res);
        conn_close(c, 1);
        return;
    }
    uv_tcp_init(c->net->loop, &c->tcp);
    c->tcp.data = c;
    c->tcp_open = 1;
    c->state = C_CONNECTING;
    c->creq.data = c;
    c->net->st.connects++;
    int rc = uv_tcp_connect(&c->creq, &c->tcp, res->ai_addr, on_connected);
    uv_freeaddrinfo(res);
    if (rc != 0) {
        c->net->st.connect_failures++;
        conn_close(c, 1);
    }
}

int peer_split_addr(const char *addr, char *host, size_t hostlen, int *port)
{
    return kv_split_hostport(addr, host, hostlen, port);
}

static conn *find_out(peer_net *n, const char *addr)
{
    for (conn *c = n->conns; c; c = c->next)
        if (c->outbound && !strcmp(c->addr, addr))
            return c;
    return NULL;
}

static conn *dial(peer_net *n, const char *to_id, const char *addr)
{
    char host[160], port[16];
    int p;
    if (peer_split_addr(addr, host, sizeof host, &p) < 0 || strlen(addr) >= sizeof(((conn *)0)->addr))
        return NULL;
    if (backing_off(n, addr))
        return NULL;
    snprintf(port, sizeof port, "%d", p);
    conn *c = conn_new(n, 1);
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    snprintf(c->id, sizeof c->id, "%s", to_id);
    c->state = C_RESOLVING;
    c->gai.data = c;
    c->resolving = 1;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (uv_getaddrinfo(n->loop, &c->gai, on_resolved, host, port, &hints) != 0) {
        c->resolving = 0;
        conn_close(c, 1);
        return NULL;
    }
    return c;
}

/* ------------------------------------------------------------------------ */
/* API                                                                       */
/* ------------------------------------------------------------------------ */

void peer_net_send(peer_net *n, const char *to_id, const char *to_addr, const Kv__PeerMessage *m)
{
    if (!n || n->stopping)
        return;
    conn *c = find_out(n, to_addr);
    if (!c)
        c = dial(n, to_id, to_addr);
    if (!c) {
        n->st.dropped_msgs++;
        return;
    }
    if (to_id && to_id[0])
        snprintf(c->id, sizeof c->id, "%s", to_id);
    if (c->state == C_READY) {
        write_msg(c, m);
        return;
    }
    if (kbuf_len(&c->queue) > QUEUE_MAX) {
        n->st.dropped_msgs++;
        return;
    }
    frame_encode(m, &c->queue);
}

uint64_t peer_net_backlog(peer_net *n, const char *to_id)
{
    uint64_t b = 0;
    for (conn *c = n->conns; c; c = c->next) {
        if (!c->outbound || strcmp(c->id, to_id) != 0)
            continue;
        b += kbuf_len(&c->queue);
        if (c->tcp_open && c->state == C_READY)
            b += uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    }
    return b;
}

uint64_t peer_net_total_backlog(peer_net *n)
{
    uint64_t b = 0;
    for (conn *c = n->conns; c; c = c->next) {
        if (!c->outbound)
            continue;
        b += kbuf_len(&c->queue);
        if (c->tcp_open && c->state == C_READY)
            b += uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    }
    return b;
}

void peer_net_forget(peer_net *n, const char *to_id)
{
    for (conn *c = n->conns, *next; c; c = next) {
        next = c->next;
        if (c->outbound && !strcmp(c->id, to_id))
            conn_close(c, 0);
    }
}

void peer_net_get_stats(const peer_net *n, peer_net_stats *st)
{
    *st = n->st;
}

static void listener_closed(uv_handle_t *h)
{
    peer_net *n = h->data;
    n->open_handles--;
    maybe_free_net(n);
}

int peer_net_start(peer_net **out, uv_loop_t *loop, const peer_net_config *cfg,
                   peer_net_on_message cb, void *arg, char *err, size_t errlen)
{
    *out = NULL;
    peer_net *n = kv_calloc(1, sizeof *n);
    n->loop = loop;
    snprintf(n->self, sizeof n->self, "%s", cfg->self_id);
    snprintf(n->secret, sizeof n->secret, "%s", cfg->secret ? cfg->secret : "");
    n->max_frame = cfg->max_frame ? cfg->max_frame : FRAME_MAX_DEFAULT;
    n->cb = cb;
    n->arg = arg;
    n->listeners = kv_calloc((size_t)(cfg->nbind ? cfg->nbind : 1), sizeof *n->listeners);
    int rc = 0;
    for (int i = 0; i < cfg->nbind && !rc; i++) {
        const char *a = cfg->bind[i];
        uv_tcp_t *t = &n->listeners[n->nlisteners++];
        n->open_handles++;
        rc = kv_tcp_listen(loop, t, a, cfg->port, cfg->backlog, on_connection, n);
        if (rc == KV_LISTEN_SKIPPED)
            rc = 0; /* "-addr" the host does not have (see kv_tcp_listen) */
        else if (rc == UV_EINVAL)
            snprintf(err, errlen, "invalid peer address '%s'", a);
        else if (rc < 0)
            snprintf(err, errlen, "cannot listen on peer port %s:%d: %s", a, cfg->port,
                     uv_strerror(rc));
    }
    if (rc < 0 || cfg->nbind == 0) {
        if (!cfg->nbind)
            snprintf(err, errlen, "no peer address to listen on");
        peer_net_stop(n);
        return -1;
    }
    *out = n;
    return 0;
}

void peer_net_stop(peer_net *n)
{
    if (!n || n->stopping)
        return;
    n->stopping = 1;
    for (conn *c = n->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c, 0);
    }
    for (int i = 0; i < n->nlisteners; i++)
        uv_close((uv_handle_t *)&n->listeners[i], listener_closed);
    maybe_free_net(n);
}
