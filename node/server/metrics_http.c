/* metrics_http.c — the HTTP side of the metrics endpoint (see metrics.h):
 * a strict, bounded HTTP/1.x request parser (pure) and a tiny server on the
 * event loop that answers one request per connection and closes it.
 *
 * Connection states:
 *
 *     READING --head complete or bad--> WRITING --written--> DRAINING --EOF--> closed
 *        |                                  |                     |
 *        +--EOF, error, timeout-------------+---------------------+--------> closed
 *
 * DRAINING half-closes our side and reads (and drops) what the client
 * still sends, so that closing never resets a connection whose response
 * the client has not read yet. Every state is bounded by the deadline. */
#include "metrics.h"

#include "config.h"
#include "err.h"
#include "listen.h"
#include "log.h"
#include "mem.h"
#include "server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Parser                                                                    */
/* ------------------------------------------------------------------------ */

static int is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the line starting at p (its '\n'), or NULL. */
static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl;
}

/* [p, e) without a trailing '\r'. */
static const char *trim_cr(const char *p, const char *e)
{
    return e > p && e[-1] == '\r' ? e - 1 : e;
}

/* The request line [p, e): status of what it asks (0: fine so far). */
static int parse_request_line(const char *p, const char *e, int *head, int *is11, int *metrics)
{
    const char *sp1 = memchr(p, ' ', (size_t)(e - p));
    if (!sp1 || sp1 == p || sp1 - p > 16)
        return 400;
    for (const char *q = p; q < sp1; q++)
        if (!is_tchar(*q))
            return 400;
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', (size_t)(e - t));
    if (!sp2 || sp2 == t)
        return 400;
    if (sp2 - t > METRICS_MAX_TARGET)
        return 414;
    for (const char *q = t; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f)
            return 400;
    const char *v = sp2 + 1;
    size_t vl = (size_t)(e - v);
    if (vl != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1')
        return 505;
    *is11 = v[7] >= '1';
    if (*t != '/')
        return 400; /* only origin-form targets */
    size_t pl = (size_t)(sp2 - t);
    const char *qm = memchr(t, '?', pl);
    if (qm)
        pl = (size_t)(qm - t);
    *metrics = pl == 8 && memcmp(t, "/metrics", 8) == 0;
    size_t ml = (size_t)(sp1 - p);
    if (ml == 3 && !memcmp(p, "GET", 3))
        *head = 0;
    else if (ml == 4 && !memcmp(p, "HEAD", 4))
        *head = 1;
    else
        return 405;
    return 0;
}

int metrics_http_parse(const char *buf, size_t len, http_req *req)
{
    memset(req, 0, sizeof *req);
    const char *end = buf + len;
    const char *le = line_end(buf, end);
    if (!le) {
        if (len > METRICS_MAX_TARGET + 32)
            return 414;
        return 0;
    }
    int head = 0, is11 = 0, metrics = 0;
    int st = parse_request_line(buf, trim_cr(buf, le), &head, &is11, &metrics);
    if (st && st != 405)
        return st;
    int method_ok = st == 0;
    /* Header fields, up to the blank line. */
    const char *p = le + 1;
    int nheaders = 0, host = 0;
    for (;;) {
        const char *e = line_end(p, end);
        if (!e)
            return len >= METRICS_MAX_HEAD ? 431 : 0;
        if ((size_t)(e + 1 - buf) > METRICS_MAX_HEAD)
            return 431;
        const char *le2 = trim_cr(p, e);
        if (le2 == p) {
            req->complete = (int)(e + 1 - buf);
            break;
        }
        if (++nheaders > METRICS_MAX_HEADERS)
            return 431;
        const char *colon = memchr(p, ':', (size_t)(le2 - p));
        if (!colon || colon == p)
            return 400;
        for (const char *q = p; q < colon; q++)
            if (!is_tchar(*q))
                return 400; /* also rejects obsolete line folding */
        for (const char *q = colon + 1; q < le2; q++)
            if ((unsigned char)*q < 0x20 && *q != '\t')
                return 400;
        size_t nl = (size_t)(colon - p);
        const char *val = colon + 1;
        while (val < le2 && (*val == ' ' || *val == '\t'))
            val++;
        const char *vend = le2;
        while (vend > val && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        if (nl == 4 && !strncasecmp(p, "host", 4))
            host++;
        else if (nl == 17 && !strncasecmp(p, "transfer-encoding", 17))
            return 400; /* no request bodies */
        else if (nl == 14 && !strncasecmp(p, "content-length", 14) &&
                 !(vend - val == 1 && *val == '0'))
            return 400;
        p = e + 1;
    }
    if (is11 && host != 1)
        return 400;
    if (!method_ok)
        return 405;
    req->head = head;
    return metrics ? 200 : 404;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

void metrics_http_response(int status, int head, const char *body, size_t bodylen, kbuf *out)
{
    char msg[64];
    if (status != 200) {
        snprintf(msg, sizeof msg, "%d %s\n", status, reason(status));
        body = msg;
        bodylen = strlen(msg);
    }
    kbuf_printf(out,
                "HTTP/1.1 %d %s\r\n"
                "Content-Type: %s\r\n"
                "Content-Length: %zu\r\n"
                "%s"
                "Connection: close\r\n"
                "\r\n",
                status, reason(status),
                status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
                              : "text/plain; charset=utf-8",
                bodylen, status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (!head)
        kbuf_append(out, body, bodylen);
}

/* ------------------------------------------------------------------------ */
/* Server                                                                    */
/* ------------------------------------------------------------------------ */

enum { MC_READING, MC_WRITING, MC_DRAINING, MC_CLOSING };

typedef struct mconn {
    uv_tcp_t tcp;
    struct metrics_srv *m;
    int state;
    char buf[METRICS_MAX_HEAD];
    size_t len;
    int64_t deadline_ms;
    uv_write_t wr;
    uv_shutdown_t sd;
    kbuf out;
    struct mconn *prev, *next;
} mconn;

typedef struct metrics_srv {
    server *s;
    uv_tcp_t listeners[16];
    int nlisteners;
    uv_timer_t timer;
    int timer_open;
    mconn *conns;
    int nconns;
    uint64_t requests, refused;
} metrics_srv;

static void conn_closed(uv_handle_t *h)
{
    mconn *c = h->data;
    metrics_srv *m = c->m;
    if (c->prev)
        c->prev->next = c->next;
    else
        m->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    m->nconns--;
    kbuf_free(&c->out);
    kv_free(c);
}

static void conn_close(mconn *c)
{
    if (c->state == MC_CLOSING)
        return;
    c->state = MC_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    mconn *c = h->data;
    if (c->state == MC_DRAINING || c->len >= sizeof c->buf) {
        /* Draining: what arrives is dropped (read into the same buffer). */
        b->base = c->buf;
        b->len = sizeof c->buf;
        return;
    }
    b->base = c->buf + c->len;
    b->len = sizeof c->buf - c->len;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    mconn *c = req->data;
    if (status < 0 && c->state != MC_CLOSING)
        conn_close(c);
}

static void on_written(uv_write_t *req, int status)
{
    mconn *c = req->data;
    if (c->state == MC_CLOSING)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    c->state = MC_DRAINING;
    c->sd.data = c;
    if (uv_shutdown(&c->sd, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
        conn_close(c);
}

static void respond(mconn *c, int status, int head)
{
    metrics_srv *m = c->m;
    kbuf body = KBUF_INIT;
    if (status == 200)
        metrics_collect(m->s, &body);
    metrics_http_response(status, head, kbuf_data(&body), kbuf_len(&body), &c->out);
    kbuf_free(&body);
    m->requests++;
    c->state = MC_WRITING;
    uv_buf_t b = uv_buf_init(kbuf_data(&c->out), (unsigned)kbuf_len(&c->out));
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0)
        conn_close(c);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    mconn *c = st->data;
    if (c->state == MC_CLOSING)
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (c->state != MC_READING || n == 0)
        return;
    c->len += (size_t)n;
    http_req req;
    int status = metrics_http_parse(c->buf, c->len, &req);
    if (status)
        respond(c, status, req.head);
}

static void on_connection(uv_stream_t *l, int status)
{
    metrics_srv *m = l->data;
    if (status < 0)
        return;
    mconn *c = kv_calloc(1, sizeof *c);
    c->m = m;
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    c->next = m->conns;
    if (m->conns)
        m->conns->prev = c;
    m->conns = c;
    m->nconns++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    if (m->nconns > METRICS_MAX_CONNS || m->s->shutting_down) {
        m->refused++;
        conn_close(c);
        return;
    }
    c->deadline_ms = server_mstime() + METRICS_TIMEOUT_MS;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        conn_close(c);
}

static void on_timer(uv_timer_t *t)
{
    metrics_srv *m = t->data;
    int64_t now = server_mstime();
    for (mconn *c = m->conns, *next; c; c = next) {
        next = c->next;
        if (c->state != MC_CLOSING && now >= c->deadline_ms)
            conn_close(c);
    }
}

static int listen_one(metrics_srv *m, uv_loop_t *loop, const char *addr, int port, char *err,
                      size_t errlen)
{
    uv_tcp_t *t = &m->listeners[m->nlisteners++];
    int rc = kv_tcp_listen(loop, t, addr, port, 64, on_connection, m);
    if (rc == UV_EINVAL)
        return kve_fmt(err, errlen, KVE_INVAL, "metrics-bind: invalid address '%s'", addr);
    if (rc == KV_LISTEN_SKIPPED)
        return 0; /* "-addr" the host does not have (see kv_tcp_listen) */
    if (rc < 0)
        return kve_fmt(err, errlen, KVE_IO, "Could not listen for metrics on %s:%d: %s", addr,
                       port, uv_strerror(rc));
    return 0;
}

int metrics_start(server *s, char *err, size_t errlen)
{
    if (!s->cfg.metrics_port)
        return 0;
    const char *bind = s->cfg.metrics_bind && s->cfg.metrics_bind[0] ? s->cfg.metrics_bind
                                                                     : s->cfg.bind;
    char storage[1024], *addrs[16];
    int n = strlen(bind) < sizeof storage ? config_split_line(bind, addrs, 16, storage) : -1;
    if (n <= 0)
        return kve_fmt(err, errlen, KVE_INVAL, "metrics-bind: 1 to 16 addresses");
    metrics_srv *m = kv_calloc(1, sizeof *m);
    m->s = s;
    s->metrics = m;
    uv_timer_init(s->loop, &m->timer);
    m->timer.data = m;
    m->timer_open = 1;
    uv_timer_start(&m->timer, on_timer, 1000, 1000);
    uv_unref((uv_handle_t *)&m->timer);
    for (int i = 0; i < n; i++) {
        int rc = listen_one(m, s->loop, addrs[i], s->cfg.metrics_port, err, errlen);
        if (rc)
            return rc;
    }
    log_notice("Serving Prometheus metrics on %s port %d (GET /metrics)", bind,
               s->cfg.metrics_port);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    metrics_srv *m = h->data;
    m->timer_open = 0;
}

void metrics_stop(server *s)
{
    metrics_srv *m = s->metrics;
    if (!m)
        return;
    for (int i = 0; i < m->nlisteners; i++)
        if (!uv_is_closing((uv_handle_t *)&m->listeners[i]))
            uv_close((uv_handle_t *)&m->listeners[i], NULL);
    if (m->timer_open && !uv_is_closing((uv_handle_t *)&m->timer))
        uv_close((uv_handle_t *)&m->timer, on_timer_closed);
    for (mconn *c = m->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c);
    }
}

/* After the loop has run the close callbacks. */
void metrics_free(server *s)
{
    kv_free(s->metrics);
    s->metrics = NULL;
}
