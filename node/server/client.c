/* client.c — one client connection: reading requests, writing replies
 * under the reply barrier, limits, closing.
 *
 * Connection states:
 *
 *   accepted --client_start--> reading <--> paused (output backlog / WAIT)
 *                                 |
 *          QUIT, protocol error   |  EOF, I/O error, limits, CLIENT KILL
 *                 v               v
 *        close-after-reply --> closing (uv_close) --> freed (on_close)
 *
 * Memory is freed only in the uv_close callback, so closing a client from
 * inside one of its own callbacks (a command that kills itself, a write
 * error during a flush) never frees an object whose callback is on the
 * stack; every I/O entry point checks CL_CLOSING first.
 *
 * Output: replies accumulate in `out`. client_flush hands the part the
 * barrier allows to uv_try_write (one syscall in the common case) and
 * only when the socket is full moves the rest into `sending` for uv_write.
 */
#include "server.h"

#include "log.h"
#include "mem.h"
#include "reply.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define READ_CHUNK (16 * 1024)
#define PAUSE_ABOVE (32u << 20)  /* stop reading with this much output pending */
#define RESUME_BELOW (8u << 20)

static const char protected_msg[] =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Redis you may "
    "adopt one of the following solutions: 1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from "
    "the same host the server is running, however MAKE SURE Redis is not publicly accessible "
    "from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    "Alternatively you can just disable the protected mode by editing the Redis configuration "
    "file, and setting the protected mode option to 'no', and then restarting the server. 3) If "
    "you started the server manually just for testing, restart it with the '--protected-mode "
    "no' option. 4) Set up an authentication password for the default user. NOTE: You only "
    "need to do one of the above things in order for the server to start accepting connections "
    "from the outside.\r\n";

/* ------------------------------------------------------------------------ */
/* Barrier marks (a FIFO ring)                                               */
/* ------------------------------------------------------------------------ */

static void wait_list_add(client *c)
{
    if (c->on_wait_list)
        return;
    server *s = c->srv;
    c->wprev = NULL;
    c->wnext = s->waiting;
    if (s->waiting)
        s->waiting->wprev = c;
    s->waiting = c;
    c->on_wait_list = 1;
}

static void wait_list_remove(client *c)
{
    if (!c->on_wait_list)
        return;
    server *s = c->srv;
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        s->waiting = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    c->wprev = c->wnext = NULL;
    c->on_wait_list = 0;
}

void client_add_mark(client *c, uint64_t offset, uint64_t lsn, uint64_t round)
{
    if (c->nmarks) {
        /* The newest mark already needs as much: it holds this reply back
         * (it is later in the stream), nothing to add. */
        barrier_mark *last = &c->marks[(c->mark_head + c->nmarks - 1) % c->capmarks];
        if (last->lsn >= lsn && last->round >= round)
            return;
    }
    if (c->nmarks == c->capmarks) {
        size_t cap = c->capmarks ? c->capmarks * 2 : 8;
        barrier_mark *m = kv_malloc(cap * sizeof *m);
        for (size_t i = 0; i < c->nmarks; i++)
            m[i] = c->marks[(c->mark_head + i) % c->capmarks];
        kv_free(c->marks);
        c->marks = m;
        c->capmarks = cap;
        c->mark_head = 0;
    }
    barrier_mark *m = &c->marks[(c->mark_head + c->nmarks) % c->capmarks];
    m->offset = offset;
    m->lsn = lsn;
    m->round = round;
    c->nmarks++;
    wait_list_add(c);
}

/* `out` holds more capacity than the reply buffer's size (and more than
 * the allocator's rounding of it): given back once empty, down to that
 * size, which stays for the next replies (Redis keeps its c->buf). */
static int out_oversized(const client *c)
{
    return c->out.cap > c->rb_size + c->rb_size / 8;
}

/* Bytes at the front of `out` that the barrier lets go. */
static size_t flushable(client *c)
{
    uint64_t commit = c->srv->commit_lsn, round = c->srv->confirmed_round;
    while (c->nmarks && c->marks[c->mark_head].lsn <= commit &&
           c->marks[c->mark_head].round <= round) {
        c->mark_head = (c->mark_head + 1) % c->capmarks;
        c->nmarks--;
    }
    if (!c->nmarks) {
        wait_list_remove(c);
        return kbuf_len(&c->out);
    }
    uint64_t start = c->marks[c->mark_head].offset;
    return start > c->out_base ? (size_t)(start - c->out_base) : 0;
}

size_t clients_held_bytes(server *s)
{
    size_t n = 0;
    for (client *c = s->waiting; c; c = c->wnext) {
        if (!c->nmarks)
            continue;
        /* The buffer from the first held byte on, its spare room too:
         * all of it is written and given back (OUT_KEEP) once committed. */
        uint64_t start = c->marks[c->mark_head].offset;
        size_t free_to = start > c->out_base ? (size_t)(start - c->out_base) : 0;
        if (c->out.cap > free_to)
            n += c->out.cap - free_to;
    }
    return n;
}

void client_reply_buffer_cron(client *c, int64_t now)
{
    server *s = c->srv;
    if (s->rb_resizing) {
        size_t size = c->rb_size, to = 0;
        if (size / 2 >= RB_MIN && c->rb_peak < size / 2) {
            to = c->rb_peak + 1 > RB_MIN ? c->rb_peak + 1 : RB_MIN;
            s->stats.reply_buffer_shrinks++;
        } else if (size * 2 < RB_CHUNK * 2 && c->rb_peak == size) {
            to = size * 2 < RB_CHUNK ? size * 2 : RB_CHUNK;
            s->stats.reply_buffer_expands++;
        }
        if (to)
            c->rb_size = to;
    }
    if (s->rb_peak_reset_ms >= 0 && now - c->rb_peak_reset_ms >= s->rb_peak_reset_ms) {
        size_t held = kbuf_len(&c->out);
        c->rb_peak = held < c->rb_size ? held : c->rb_size;
        c->rb_peak_reset_ms = now;
    }
    if (!c->writing && kbuf_len(&c->out) == 0 && out_oversized(c))
        kbuf_shrink(&c->out, c->rb_size);
}

uint64_t client_out_offset(const client *c)
{
    return c->out_base + kbuf_len(&c->out);
}

size_t client_pending_bytes(const client *c)
{
    return kbuf_len(&c->out) + kbuf_len(&c->sending);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

void client_apply_limits(client *c)
{
    resp_limits l;
    resp_limits_default(&l);
    l.max_bulk_len = c->srv->cfg.proto_max_bulk_len;
    resp_parser_set_limits(c->parser, &l);
    resp_parser_set_unauth(c->parser, acl_auth_required(c));
}

static void idx_key_of(const dict_node *n, const void **key, size_t *len)
{
    const client_idx *x = (const client_idx *)n;
    *key = &x->id;
    *len = sizeof x->id;
}

static const dict_type idx_type = {idx_key_of};

client *client_by_id(server *s, uint64_t id)
{
    if (!s->clients_by_id.type)
        return NULL;
    client_idx *x = (client_idx *)dict_find(&s->clients_by_id, &id, sizeof id);
    return x ? x->cl : NULL;
}

client *client_new(server *s, int unix_socket)
{
    client *c = kv_calloc(1, sizeof *c);
    c->srv = s;
    c->id = ++s->next_client_id;
    if (!s->clients_by_id.type)
        dict_init(&s->clients_by_id, &idx_type);
    c->idx.id = c->id;
    c->idx.cl = c;
    dict_add(&s->clients_by_id, &c->idx.dn);
    c->resp = 2;
    c->exec_n = -1;
    c->parser = resp_parser_new(NULL);
    acl_client_default(c);
    client_apply_limits(c);
    c->ctime_ms = server_mstime();
    c->last_ms = (int64_t)uv_now(s->loop);
    c->rb_size = RB_CHUNK;
    c->rb_peak_reset_ms = c->last_ms;
    c->last_cmd = "NULL";
    ps_sub_init(&c->ps, c);
    if (unix_socket) {
        uv_pipe_init(s->loop, &c->h.pipe, 0);
        c->flags |= CL_UNIX;
    } else {
        uv_tcp_init(s->loop, &c->h.tcp);
    }
    c->h.handle.data = c;
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    s->nclients++;
    return c;
}

static void on_close(uv_handle_t *h)
{
    client *c = h->data;
    server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nclients--;
    s->closing_mem -= c->mem_closing;
    kbuf_free(&c->query);
    kbuf_free(&c->out);
    kbuf_free(&c->sending);
    kbuf_free(&c->ps_later);
    resp_parser_free(c->parser);
    kv_free(c->marks);
    kv_free(c->name);
    kv_free(c);
}

void client_close(client *c)
{
    if (c->flags & CL_CLOSING)
        return;
    c->flags |= CL_CLOSING;
    dict_remove(&c->srv->clients_by_id, &c->id, sizeof c->id);
    tracking_client_gone(c);
    client_mem_forget(c);
    /* Its buffers are freed when libuv has closed the socket (on_close):
     * until then maxmemory does not count them, as if freed now (Redis
     * frees a client at once), so that evicting a client does not evict
     * keys as well. */
    c->mem_closing = client_memory(c);
    c->srv->closing_mem += c->mem_closing;
    wait_list_remove(c);
    if (c->flags & CL_BLOCKED)
        server_forget_blocked(c->srv, c);
    stream_block_forget(c);
    migrate_forget(c);
    dispatch_script_client_gone(c->srv, c);
    blocking_forget(c->srv, c);
    pause_forget(c->srv, c);
    multi_reset(c);
    watch_unwatch_all(c);
    pubsub_client_reset(c);
    pubsub_untouch(c);
    monitor_forget(c);
    sync_stream_forget(c);
    if (c->srv->current == c)
        c->srv->current = NULL;
    uv_close(&c->h.handle, on_close);
}

static int nothing_pending(const client *c)
{
    return !c->writing && kbuf_len(&c->out) == 0;
}

void client_close_after_reply(client *c)
{
    c->flags |= CL_CLOSE_AFTER_REPLY;
    if (!(c->flags & CL_CLOSING) && !(c->flags & CL_READ_PAUSED)) {
        uv_read_stop(&c->h.stream);
        c->flags |= CL_READ_PAUSED;
    }
}

void client_fail_pending(client *c, const char *error)
{
    if (c->nmarks) {
        uint64_t start = c->marks[c->mark_head].offset;
        size_t keep = start > c->out_base ? (size_t)(start - c->out_base) : 0;
        if (keep < kbuf_len(&c->out))
            kbuf_truncate(&c->out, keep);
        c->nmarks = 0;
        if (error) {
            reply r = reply_make(&c->out, c->resp);
            reply_error(&r, error);
        }
    }
    client_close_after_reply(c);
    client_flush(c);
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */
/* ------------------------------------------------------------------------ */

static void maybe_resume_reading(client *c);

static void on_write(uv_write_t *req, int status)
{
    client *c = req->data;
    c->writing = 0;
    /* What a big reply took is given back once it is out (Redis frees its
     * reply blocks as they are written); a small buffer is kept. */
    if (c->sending.cap > c->rb_size)
        kbuf_free(&c->sending);
    else
        kbuf_reset(&c->sending);
    if (c->flags & CL_CLOSING)
        return;
    if (status < 0) {
        log_verbose("client %s: write error: %s", c->addr, uv_strerror(status));
        client_close(c);
        return;
    }
    client_flush(c);
    if (c->flags & CL_CLOSING)
        return;
    /* maxmemory-clients sees what the write gave back (Redis updates a
     * client's memory after each write); without it, the cron's update
     * will do. */
    if (clients_mem_limit(c->srv))
        client_mem_update(c);
    maybe_resume_reading(c);
}

void client_flush(client *c)
{
    /* A forked debugging session (ldb.c) writes to its own client only,
     * and directly. */
    if ((c->flags & CL_CLOSING) || c->writing || c->srv->ldb_child)
        return;
    size_t n = flushable(c);
    /* The reply buffer's peak: what replies filled of it (Redis's
     * buf_peak, never above its size). */
    size_t held = kbuf_len(&c->out);
    if (held > c->rb_peak)
        c->rb_peak = held < c->rb_size ? held : c->rb_size;
    if (n) {
        uv_buf_t b = uv_buf_init(kbuf_data(&c->out), (unsigned)(n > 1u << 30 ? 1u << 30 : n));
        int w = uv_try_write(&c->h.stream, &b, 1);
        c->srv->stats.writes_processed++;
        if (w < 0 && w != UV_EAGAIN) {
            log_verbose("client %s: write error: %s", c->addr, uv_strerror(w));
            client_close(c);
            return;
        }
        if (w > 0) {
            kbuf_consume(&c->out, (size_t)w);
            c->out_base += (uint64_t)w;
            c->srv->stats.net_output_bytes += (uint64_t)w;
            n -= (size_t)w;
            /* All out: a buffer a big reply grew is given back, as Redis
             * frees its reply blocks once written (it keeps only its reply
             * buffer); kept, it would count against maxmemory for good. */
            if (kbuf_len(&c->out) == 0 && out_oversized(c))
                kbuf_shrink(&c->out, c->rb_size);
        }
        if (n) {
            /* The socket is full: let libuv finish the job. */
            if (n == kbuf_len(&c->out)) {
                kbuf tmp = c->sending;
                c->sending = c->out;
                c->out = tmp;
                kbuf_reset(&c->out);
            } else {
                kbuf_reset(&c->sending);
                kbuf_append(&c->sending, kbuf_data(&c->out), n);
                kbuf_consume(&c->out, n);
            }
            c->out_base += n;
            c->srv->stats.net_output_bytes += n;
            uv_buf_t wb = uv_buf_init(kbuf_data(&c->sending), (unsigned)kbuf_len(&c->sending));
            c->wreq.data = c;
            int rc = uv_write(&c->wreq, &c->h.stream, &wb, 1, on_write);
            if (rc < 0) {
                client_close(c);
                return;
            }
            c->writing = 1;
            return;
        }
    }
    if ((c->flags & CL_CLOSE_AFTER_REPLY) && nothing_pending(c) && !c->nmarks)
        client_close(c);
}

/* Output-buffer limits (client-output-buffer-limit), by Redis's client
 * class: a Redis replica (SYNC) is "replica", a subscribed client
 * "pubsub", any other "normal". A hard limit
 * closes at once; staying above the soft limit for its seconds closes
 * too. */
#define OBUF_FIXED (16 * 1024) /* Redis's PROTO_REPLY_CHUNK_BYTES */

int client_output_over_limit(client *c)
{
    const kv_config *cfg = &c->srv->cfg;
    long long hard = cfg->obuf_hard, soft = cfg->obuf_soft;
    int secs = cfg->obuf_soft_seconds;
    if (c->sync) {
        hard = cfg->obuf_replica_hard;
        soft = cfg->obuf_replica_soft;
        secs = cfg->obuf_replica_soft_seconds;
    } else if (c->flags & CL_PUBSUB) {
        hard = cfg->obuf_pubsub_hard;
        soft = cfg->obuf_pubsub_soft;
        secs = cfg->obuf_pubsub_soft_seconds;
    }
    size_t pending = client_pending_bytes(c) + kbuf_len(&c->ps_later);
    size_t rdb = sync_stream_rdb_pending(c);
    pending = pending > rdb ? pending - rdb : 0;
    /* Redis counts only what is past a client's fixed 16 KB reply buffer
     * (getClientOutputBufferMemoryUsage: the reply list): a reply that
     * fits there is never over a limit, however small. */
    pending = pending > OBUF_FIXED ? pending - OBUF_FIXED : 0;
    int over_hard = hard && pending > (size_t)hard;
    int over_soft = soft && pending > (size_t)soft;
    if (!over_soft)
        c->obuf_soft_since = 0;
    else if (!c->obuf_soft_since)
        c->obuf_soft_since = server_mstime();
    int soft_expired =
        over_soft && secs && server_mstime() - c->obuf_soft_since >= secs * 1000LL;
    if (over_soft && !secs)
        soft_expired = 1;
    return over_hard || soft_expired;
}

static void log_obuf_close(client *c)
{
    kbuf b = KBUF_INIT;
    client_describe(c, &b);
    log_warn("Client %.*s scheduled to be closed ASAP for overcoming of output buffer limits.",
             (int)kbuf_len(&b), kbuf_data(&b));
    kbuf_free(&b);
    c->srv->stats.obuf_disconnects++;
}

void client_close_asap(client *c)
{
    if (c->flags & (CL_CLOSE_ASAP | CL_CLOSING))
        return;
    log_obuf_close(c);
    c->flags |= CL_CLOSE_ASAP;
    c->srv->ps_close_pending = 1;
}

int client_check_output_limits(client *c)
{
    if (!client_output_over_limit(c))
        return 0;
    log_obuf_close(c);
    client_close(c);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Input                                                                     */
/* ------------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    client *c = h->data;
    size_t want = READ_CHUNK;
    size_t need = resp_want(c->parser);
    if (need > kbuf_len(&c->query)) {
        /* An argument is being received: room for the rest of it, in one
         * go (bounded by proto-max-bulk-len, which the parser enforced)
         * and exactly, rather than doubling a big buffer for its last
         * bytes. */
        kbuf_reserve_exact(&c->query, need - kbuf_len(&c->query));
    } else {
        kbuf_reserve(&c->query, want);
    }
    size_t avail = kbuf_avail(&c->query);
    buf->base = kbuf_tail(&c->query);
    buf->len = avail > (1u << 30) ? (1u << 30) : avail;
}

static void pause_reading(client *c);



/* peek_request looks no further than a request of this many elements, so
 * its work per call is bounded (a big MSET arriving in many reads is not
 * scanned again at every read). */
#define PEEK_ARGS_MAX 32

/* The multibulk request at p: where it ends, and its second element (the
 * first key of most commands; NULL when it has one element). NULL when the
 * buffer does not hold a whole well-formed one of at most PEEK_ARGS_MAX
 * elements (the parser, which runs anyway, says what is wrong). */
static const char *peek_request(const char *p, const char *end, const char **key, size_t *klen)
{
    if (p >= end || *p++ != '*')
        return NULL;
    size_t n = 0;
    while (p < end && *p >= '0' && *p <= '9' && n <= PEEK_ARGS_MAX)
        n = n * 10 + (size_t)(*p++ - '0');
    if (n > PEEK_ARGS_MAX || end - p < 2 || p[0] != '\r' || p[1] != '\n')
        return NULL;
    p += 2;
    *key = NULL;
    for (size_t i = 0; i < n; i++) {
        if (p >= end || *p++ != '$')
            return NULL;
        size_t len = 0;
        while (p < end && *p >= '0' && *p <= '9' && len < (1u << 30))
            len = len * 10 + (size_t)(*p++ - '0');
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return NULL;
        p += 2;
        if ((size_t)(end - p) < len + 2)
            return NULL;
        if (i == 1) {
            *key = p;
            *klen = len;
        }
        p += len + 2;
    }
    return p;
}

/* Pipelined requests: the keys of the next KS_PF_DEPTH requests already in
 * the buffer are looked up in the selected database ahead of running them
 * (ks_prefetch_keys), so their cache misses overlap instead of stalling
 * each request in turn. Only hints: a request with no key, or a SELECT
 * among them, costs a wasted fetch. */
static void prefetch_pipeline(client *c)
{
    server *s = c->srv;
    if (!s->dbs || c->db < 0 || c->db >= s->ndbs)
        return;
    const char *p = kbuf_data(&c->query), *end = p + kbuf_len(&c->query);
    const char *keys[KS_PF_DEPTH];
    size_t lens[KS_PF_DEPTH], n = 0;
    for (size_t i = 0; i < KS_PF_DEPTH && p; i++) {
        const char *key = NULL;
        size_t klen = 0;
        p = peek_request(p, end, &key, &klen);
        if (p && key) {
            keys[n] = key;
            lens[n++] = klen;
        }
        if (p == end)
            break;
    }
    if (n >= 2)
        ks_prefetch_keys(s->dbs[c->db], keys, lens, n);
}

static void process_input(client *c)
{
    server *s = c->srv;
    unsigned run = 0;
    while (!(c->flags & (CL_CLOSING | CL_CLOSE_AFTER_REPLY | CL_BLOCKED)) &&
           kbuf_len(&c->query)) {
        /* From the second request on: a lone request (no pipeline) is not
         * scanned twice. */
        if (run++ % KS_PF_DEPTH == 1)
            prefetch_pipeline(c);
        size_t used = 0;
        int rc = resp_parse(c->parser, kbuf_data(&c->query), kbuf_len(&c->query), &used);
        if (rc == RESP_CMD) {
            const size_t *lens;
            const char *const *argv = resp_argv(c->parser, kbuf_data(&c->query), &lens);
            dispatch_command(c, resp_argc(c->parser), argv, lens);
            if (c->flags & CL_POSTPONED)
                break; /* CLIENT PAUSE: the request stays to be parsed again (pause.c) */
            kbuf_consume(&c->query, used);
            if (client_pending_bytes(c) > PAUSE_ABOVE) {
                /* Replies pile up faster than the client reads them: stop
                 * here, with the rest of its requests still buffered, and
                 * go on once the output drains (maybe_resume_reading). The
                 * limits apply to the replies as they were made, before
                 * any is handed to the socket (Redis checks them as it
                 * appends to the buffer): over the hard limit, nothing of
                 * them is sent. */
                if (client_check_output_limits(c))
                    break;
                client_flush(c);
                if (client_pending_bytes(c) > PAUSE_ABOVE) {
                    pause_reading(c);
                    break;
                }
            }
        } else if (rc == RESP_NEED) {
            kbuf_consume(&c->query, used);
            /* A big argument's header has come: make room for all of it
             * now, as Redis does on reading "$<len>" (on_alloc would at
             * the next read). */
            size_t need = resp_want(c->parser);
            if (need > kbuf_len(&c->query) && need - kbuf_len(&c->query) > READ_CHUNK)
                kbuf_reserve_exact(&c->query, need - kbuf_len(&c->query));
            break;
        } else {
            reply r = reply_make(&c->out, c->resp);
            reply_errorf(&r, "ERR %s", resp_error(c->parser));
            s->stats.protocol_errors++;
            log_verbose("Protocol error (%s) from client: id=%llu addr=%s", resp_error(c->parser),
                        (unsigned long long)c->id, c->addr);
            kbuf_reset(&c->query);
            client_close_after_reply(c);
            break;
        }
    }
    /* The room made for a big argument stays, as Redis keeps room for
     * another such argument after one: clients_cron trims it to the recent
     * peak while the connection is busy and frees it after 2 s idle
     * (server.c), and maxmemory-clients counts it meanwhile. */
}

static void pause_reading(client *c)
{
    if (!(c->flags & (CL_READ_PAUSED | CL_CLOSING))) {
        uv_read_stop(&c->h.stream);
        c->flags |= CL_READ_PAUSED;
    }
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void maybe_resume_reading(client *c)
{
    if ((c->flags & (CL_READ_PAUSED | CL_CLOSING | CL_CLOSE_AFTER_REPLY | CL_BLOCKED)) !=
        CL_READ_PAUSED)
        return;
    if (client_pending_bytes(c) > RESUME_BELOW)
        return;
    c->flags &= ~CL_READ_PAUSED;
    uv_read_start(&c->h.stream, on_alloc, on_read);
    /* Requests may already be buffered. */
    process_input(c);
    client_flush(c);
}

void client_unblock(client *c)
{
    c->flags &= ~CL_BLOCKED;
    maybe_resume_reading(c);
    if (!(c->flags & CL_READ_PAUSED) && !(c->flags & CL_CLOSING)) {
        process_input(c);
        client_flush(c);
    }
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    client *c = st->data;
    if (c->flags & CL_CLOSING)
        return;
    if (nread < 0) {
        if (nread == UV_EOF && (c->nmarks || kbuf_len(&c->out) || c->writing)) {
            /* The client half-closed after sending: its replies are still
             * owed (some may be waiting for the WAL); close once sent. */
            client_close_after_reply(c);
            client_flush(c);
            return;
        }
        if (nread != UV_EOF)
            log_verbose("client %s: read error: %s", c->addr, uv_strerror((int)nread));
        client_close(c);
        return;
    }
    if (nread == 0)
        return;
    server *s = c->srv;
    s->stats.reads_processed++;
    kbuf_commit(&c->query, (size_t)nread);
    if (kbuf_len(&c->query) > c->query_peak)
        c->query_peak = kbuf_len(&c->query);
    s->stats.net_input_bytes += (uint64_t)nread;
    /* The loop's clock, read once per iteration: a read costs no clock
     * call (Redis's lastinteraction is its cached unixtime too). */
    c->last_ms = (int64_t)uv_now(s->loop);
    if (s->cfg.client_query_buffer_limit &&
        kbuf_len(&c->query) > (size_t)s->cfg.client_query_buffer_limit) {
        log_warn("Closing client id=%llu addr=%s that reached max query buffer length (%zu "
                 "bytes)",
                 (unsigned long long)c->id, c->addr, kbuf_len(&c->query));
        s->stats.qbuf_disconnects++;
        client_close(c);
        return;
    }
    /* maxmemory-clients sees the input at its largest, before a command
     * consumes it, and the output the commands left. */
    client_mem_update(c);
    if (clients_evict(s, c))
        return;
    process_input(c);
    if (c->flags & CL_CLOSING)
        return;
    /* Before writing: a reply over the hard limit is not sent at all. */
    if (client_check_output_limits(c))
        return;
    client_flush(c);
    if (c->flags & CL_CLOSING)
        return;
    client_mem_update(c);
    if (clients_evict(s, c))
        return;
    if (client_pending_bytes(c) > PAUSE_ABOVE)
        pause_reading(c);
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t n)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof ip);
        port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof ip);
        port = ntohs(a->sin6_port);
    }
    snprintf(out, n, "%s:%d", ip, port);
}

int client_is_local(const client *c)
{
    if (c->flags & CL_UNIX)
        return 1;
    const char *colon = strrchr(c->addr, ':');
    size_t n = colon ? (size_t)(colon - c->addr) : strlen(c->addr);
    return (n == 9 && !strncmp(c->addr, "127.0.0.1", 9)) || (n == 3 && !strncmp(c->addr, "::1", 3));
}

int protected_allowed(int setting, const client *c)
{
    return setting == PROTECT_YES || (setting == PROTECT_LOCAL && c && client_is_local(c));
}

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!memcmp(&a->sin6_addr, v4mapped, 12))
            return a->sin6_addr.s6_addr[12] == 127;
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return 0;
}

/* Write a reply straight to a client that is about to be refused. */
static void refuse(client *c, const char *msg)
{
    kbuf_append_str(&c->out, msg);
    client_close_after_reply(c);
    client_flush(c);
}

void client_start(client *c)
{
    server *s = c->srv;
    s->stats.total_connections++;
    struct sockaddr_storage peer = {0}, local = {0};
    int loopback = 1;
    if (c->flags & CL_UNIX) {
        snprintf(c->addr, sizeof c->addr, "%s:0", s->cfg.unixsocket);
        snprintf(c->laddr, sizeof c->laddr, "%s:0", s->cfg.unixsocket);
    } else {
        int len = sizeof peer;
        uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&peer, &len);
        len = sizeof local;
        uv_tcp_getsockname(&c->h.tcp, (struct sockaddr *)&local, &len);
        format_addr(&peer, c->addr, sizeof c->addr);
        format_addr(&local, c->laddr, sizeof c->laddr);
        loopback = is_loopback(&peer);
        uv_tcp_nodelay(&c->h.tcp, 1);
        if (s->cfg.tcp_keepalive)
            uv_tcp_keepalive(&c->h.tcp, 1, (unsigned)s->cfg.tcp_keepalive);
    }
    if (s->nclients > (size_t)s->cfg.maxclients) {
        s->stats.rejected_connections++;
        refuse(c, "-ERR max number of clients reached\r\n");
        return;
    }
    if (s->cfg.protected_mode && !loopback && acl_default_nopass(s)) {
        s->stats.rejected_connections++;
        refuse(c, protected_msg);
        return;
    }
    if (uv_read_start(&c->h.stream, on_alloc, on_read) < 0)
        client_close(c);
}

/* ------------------------------------------------------------------------ */
/* CLIENT LIST                                                               */
/* ------------------------------------------------------------------------ */

void client_describe(const client *c, kbuf *b)
{
    int64_t now = server_mstime();
    uv_os_fd_t fd = -1;
    uv_fileno(&c->h.handle, &fd);
    char flags[16];
    int nf = 0;
    /* Redis's letters, in its order. */
    if (c->sync)
        flags[nf++] = 'S';
    if (c->flags & CL_MONITOR)
        flags[nf++] = 'O';
    if (c->flags & CL_PUBSUB)
        flags[nf++] = 'P';
    if ((c->flags & CL_MULTI) || c->exec_n >= 0)
        flags[nf++] = 'x';
    if (c->flags & CL_BLOCKED)
        flags[nf++] = 'b';
    if (c->trk & TRK_ON)
        flags[nf++] = 't';
    if (c->trk & TRK_BROKEN_REDIR)
        flags[nf++] = 'R';
    if (c->trk & TRK_BCAST)
        flags[nf++] = 'B';
    if (c->flags & CL_DIRTY_CAS)
        flags[nf++] = 'd';
    if (c->flags & CL_CLOSE_AFTER_REPLY)
        flags[nf++] = 'c';
    if (c->flags & CL_CLOSE_ASAP)
        flags[nf++] = 'A';
    if (c->flags & CL_UNIX)
        flags[nf++] = 'U';
    if (c->flags & CL_NO_EVICT)
        flags[nf++] = 'e';
    if (!nf)
        flags[nf++] = 'N';
    flags[nf] = '\0';
    size_t omem = kbuf_len(&c->out) + kbuf_len(&c->sending);
    /* A request under way: what of it is parsed is out of qbuf and its
     * complete arguments are argv-mem, as Redis has moved them by then. */
    size_t argv_mem = 0, parsed = resp_pending_parsed(c->parser, &argv_mem);
    if (parsed > kbuf_len(&c->query))
        parsed = kbuf_len(&c->query);
    kbuf_printf(b,
                "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%zu "
                "psub=%zu ssub=%zu multi=%d qbuf=%zu qbuf-free=%zu argv-mem=%zu multi-mem=%zu rbs=%zu "
                "rbp=%zu obl=%zu oll=0 omem=%zu tot-mem=%zu events=r cmd=%s user=%s "
                "redir=%lld resp=%d",
                (unsigned long long)c->id, c->addr, c->laddr, (int)fd, c->name ? c->name : "",
                (long long)((now - c->ctime_ms) / 1000), (long long)(((int64_t)uv_now(c->srv->loop) - c->last_ms) / 1000),
                flags, c->db, ps_sub_count(&c->ps, PS_CHANNEL), ps_sub_count(&c->ps, PS_PATTERN),
                ps_sub_count(&c->ps, PS_SHARD), (c->flags & CL_MULTI) ? c->nmq : c->exec_n,
                kbuf_len(&c->query) - parsed, kbuf_avail(&c->query), argv_mem, c->mq_mem, c->rb_size, c->rb_peak, kbuf_len(&c->out), omem,
                client_memory(c), c->last_cmd, c->user ? acl_user_name(c->user) : "default",
                (c->trk & TRK_ON) ? (long long)c->trk_redir : -1LL, c->resp);
}
