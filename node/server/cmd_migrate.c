/* cmd_migrate.c — MIGRATE host port key|"" destination-db timeout [COPY]
 * [REPLACE] [AUTH password | AUTH2 username password] [KEYS key ...], as
 * Redis 7.0's cluster.c migrateCommand, without blocking the event loop.
 *
 * Redis talks to the target synchronously; kvnode parks the client
 * instead and runs the exchange on the loop, then runs the command again
 * to finish it. A migration goes through these states:
 *
 *   run 1 (the command) --keys found--> [next loop turn] --cached connection--> WRITING
 *        |                                  |                                     |
 *        +--none: "+NOKEY"                  +--> RESOLVING --> CONNECTING --> WRITING
 *                                                                                 |
 *   READING <---------------------------------------------------------------------+
 *     |  a socket error before any RESTORE reply (not a timeout): once more,
 *     |  on a new connection (Redis's retry; a cached connection the target
 *     |  closed fails this way)
 *     v
 *   DONE <--- every reply line read, an I/O error, or `timeout` ms idle
 *     |
 *     +--> run 2 (the command again, cl->migrate->state == DONE): deletes
 *          the acknowledged keys (unless COPY; one "DEL k1 k2 ..." entry in
 *          the WAL) and answers. A connection without a socket error goes
 *          to the cache (per "host:port", at most 64, closed after 10 s
 *          unused; INFO migrate_cached_sockets), as Redis's.
 *
 * What goes to the target, in one pipeline written in 64 KB chunks: AUTH
 * (with AUTH/AUTH2), SELECT db (always; Redis skips it on a cached
 * connection already in that db, which only the target's stats can tell),
 * then per key "RESTORE key ttl payload [REPLACE]" with the remaining TTL
 * in ms (at least 1) and rdb_dump's payload. Each reply is one line
 * (Redis's syncReadLine). Answers as Redis: "+NOKEY" when none of the keys
 * exists; "IOERR error or timeout connecting to the client" when the host
 * does not resolve or the connection times out (a refused one fails
 * "writing", as in Redis, whose connect only waits for the socket to be
 * writable); "IOERR error or timeout writing to|reading to target
 * instance" (Redis's wording); the first error the target sent (AUTH's,
 * SELECT's, or a RESTORE's) as "ERR Target instance replied with error:
 * <error>"; else +OK. `timeout` (ms, <= 0 meaning 1000) bounds each step:
 * the connection, each chunk written, each reply line.
 *
 * Differences that come from not blocking: a key modified (its payload or
 * TTL differ) while its migration was in flight is not deleted by run 2
 * (the target holds the older value; the newer write stays here); MIGRATE
 * inside MULTI/EXEC or a script answers an error, since it cannot wait
 * there; a client that disconnects abandons the migration (keys stay). */
#include "server.h"

#include "mem.h"
#include "rdb.h"
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_CHUNK (64 * 1024)
#define MIGRATE_LINE 1024

enum { M_RESOLVING, M_CONNECTING, M_WRITING, M_READING, M_DONE };

typedef struct migrate_key {
    char *key;
    size_t klen;
    char *payload; /* what was sent, to tell whether the key changed since */
    size_t plen;
    int64_t expire;
    int acked;     /* the target answered +OK to its RESTORE */
} migrate_key;

struct migrate_job {
    client *cl;           /* NULL once the client is gone */
    int state;
    int copy, auth;
    int64_t timeout_ms;
    migrate_key *keys;
    int nkeys;
    /* the command, to run again */
    int argc;
    char **argv;
    size_t *lens;
    /* I/O */
    server *srv;
    char name[300];       /* "host:port", the connection cache's key */
    char host[256], port[32];
    int retried, timed_out;
    uv_getaddrinfo_t gai;
    uv_tcp_t *tcp;        /* kv_malloc'd; handed to the cache on success */
    uv_timer_t timer;
    uv_connect_t conn;
    uv_write_t wr;
    int tcp_open, timer_open, gai_pending;
    kbuf out;
    size_t out_pos, chunk;
    char rbuf[4096];
    char line[MIGRATE_LINE];
    size_t linelen;
    int lines;            /* reply lines read */
    /* results */
    const char *io_error; /* "connecting" / "writing" / "reading", or NULL */
    char target_error[MIGRATE_LINE]; /* the first error line, without '-' */
    int has_error;
    int head_failed;      /* AUTH or SELECT answered an error */
    int consumed;         /* run 2 is over (or nobody will run it) */
};


/* ------------------------------------------------------------------------ */
/* Connection cache (Redis's migrate_cached_sockets)                         */
/* ------------------------------------------------------------------------ */

/* A connection that served a MIGRATE without a socket error is kept, per
 * "host:port", for the next one; at most 64, each closed after 10 s
 * unused (Redis's MIGRATE_SOCKET_CACHE_ITEMS / _TTL). A connection is
 * taken out of the cache while a migration uses it. */
#define MIGRATE_CACHE_ITEMS 64
#define MIGRATE_CACHE_TTL_MS 10000

typedef struct cached_conn {
    char name[300];
    uv_tcp_t *tcp;
    int64_t last_use_ms;
} cached_conn;

struct migrate_cache {
    cached_conn v[MIGRATE_CACHE_ITEMS];
    int n;
    uv_timer_t cron;
    int cron_on;
};

static void on_tcp_closed(uv_handle_t *h);

static void cache_close_at(struct migrate_cache *mc, int i)
{
    mc->v[i].tcp->data = NULL;
    uv_close((uv_handle_t *)mc->v[i].tcp, on_tcp_closed);
    mc->v[i] = mc->v[--mc->n];
}

static void on_cache_cron(uv_timer_t *t)
{
    struct migrate_cache *mc = t->data;
    int64_t now = server_mstime();
    for (int i = mc->n - 1; i >= 0; i--)
        if (now - mc->v[i].last_use_ms > MIGRATE_CACHE_TTL_MS)
            cache_close_at(mc, i);
    if (!mc->n) {
        uv_timer_stop(&mc->cron);
        mc->cron_on = 0;
    }
}

static struct migrate_cache *cache_get(server *s)
{
    if (!s->migrate_cache) {
        struct migrate_cache *mc = kv_calloc(1, sizeof *mc);
        uv_timer_init(s->loop, &mc->cron);
        mc->cron.data = mc;
        s->migrate_cache = mc;
    }
    return s->migrate_cache;
}

/* The cached connection to name, taken out of the cache, or NULL. */
static uv_tcp_t *cache_take(server *s, const char *name)
{
    struct migrate_cache *mc = s->migrate_cache;
    for (int i = 0; mc && i < mc->n; i++) {
        if (!strcmp(mc->v[i].name, name)) {
            uv_tcp_t *t = mc->v[i].tcp;
            mc->v[i] = mc->v[--mc->n];
            return t;
        }
    }
    return NULL;
}

static void cache_put(server *s, const char *name, uv_tcp_t *tcp)
{
    struct migrate_cache *mc = cache_get(s);
    for (int i = 0; i < mc->n; i++)
        if (!strcmp(mc->v[i].name, name)) {
            /* Another migration to the same target cached its own first. */
            tcp->data = NULL;
            uv_close((uv_handle_t *)tcp, on_tcp_closed);
            return;
        }
    if (mc->n == MIGRATE_CACHE_ITEMS)
        cache_close_at(mc, 0);
    cached_conn *c = &mc->v[mc->n++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->tcp = tcp;
    tcp->data = NULL;
    c->last_use_ms = server_mstime();
    if (!mc->cron_on) {
        mc->cron_on = 1;
        uv_timer_start(&mc->cron, on_cache_cron, 1000, 1000);
    }
}

size_t migrate_cached_sockets(const server *s)
{
    return s->migrate_cache ? (size_t)s->migrate_cache->n : 0;
}

static void on_cache_timer_closed(uv_handle_t *h)
{
    kv_free(h->data);
}

void migrate_cache_free(server *s)
{
    struct migrate_cache *mc = s->migrate_cache;
    if (!mc)
        return;
    while (mc->n)
        cache_close_at(mc, mc->n - 1);
    s->migrate_cache = NULL;
    uv_close((uv_handle_t *)&mc->cron, on_cache_timer_closed);
}

/* ------------------------------------------------------------------------ */
/* Lifetime                                                                  */
/* ------------------------------------------------------------------------ */

static void job_free(migrate_job *j)
{
    for (int i = 0; i < j->nkeys; i++) {
        kv_free(j->keys[i].key);
        kv_free(j->keys[i].payload);
    }
    kv_free(j->keys);
    for (int i = 0; i < j->argc; i++)
        kv_free(j->argv[i]);
    kv_free(j->argv);
    kv_free(j->lens);
    kbuf_free(&j->out);
    kv_free(j);
}

/* Freed once its handles are closed and its result is consumed. */
static void job_maybe_free(migrate_job *j)
{
    if (j->consumed && !j->tcp_open && !j->timer_open && !j->gai_pending)
        job_free(j);
}

static void on_tcp_closed(uv_handle_t *h)
{
    migrate_job *j = h->data;
    kv_free(h);
    if (j) {
        j->tcp_open = 0;
        job_maybe_free(j);
    }
}

static void on_timer_closed(uv_handle_t *h)
{
    migrate_job *j = h->data;
    j->timer_open = 0;
    job_maybe_free(j);
}

static void job_close_tcp(migrate_job *j)
{
    if (j->tcp_open == 1) {
        j->tcp_open = 2; /* closing */
        uv_close((uv_handle_t *)j->tcp, on_tcp_closed);
    }
}

static void job_close_handles(migrate_job *j)
{
    job_close_tcp(j);
    if (j->timer_open == 1) {
        j->timer_open = 2;
        uv_close((uv_handle_t *)&j->timer, on_timer_closed);
    }
}

void migrate_forget(client *cl)
{
    migrate_job *j = cl->migrate;
    if (!j)
        return;
    cl->migrate = NULL;
    j->cl = NULL;
    j->consumed = 1;
    if (j->state != M_DONE)
        j->state = M_DONE;
    job_close_handles(j);
    job_maybe_free(j);
}

/* The exchange is over: run the command again to finish it. */
static void job_done(migrate_job *j)
{
    if (j->state == M_DONE)
        return;
    j->state = M_DONE;
    if (!j->io_error && j->tcp_open == 1) {
        /* No socket error: keep the connection for the next MIGRATE. */
        uv_read_stop((uv_stream_t *)j->tcp);
        cache_put(j->srv, j->name, j->tcp);
        j->tcp = NULL;
        j->tcp_open = 0;
    }
    job_close_handles(j);
    client *cl = j->cl;
    if (!cl) {
        j->consumed = 1;
        job_maybe_free(j);
        return;
    }
    cl->flags &= ~CL_BLOCKED;
    cl->flags |= CL_IN_CALLBACK;
    dispatch_command(cl, j->argc, (const char *const *)j->argv, j->lens);
    cl->flags &= ~CL_IN_CALLBACK;
    if (cl->migrate == j) {
        /* The second run was refused before it reached the command (the
         * node became a replica, …): nothing more to do. */
        cl->migrate = NULL;
        j->consumed = 1;
    }
    j->cl = NULL;
    job_maybe_free(j);
    if (cl->flags & CL_FREE_PENDING) {
        client_close(cl);
        return;
    }
    client_unblock(cl);
    client_flush(cl);
}

static void job_connect(migrate_job *j, int use_cache);

/* A socket error. As Redis, one retry on a new connection unless it was a
 * timeout or a RESTORE reply was read already (a cached connection the
 * target closed fails this way). */
static void job_fail(migrate_job *j, const char *what)
{
    if (j->state == M_DONE)
        return;
    if (!j->timed_out && !j->retried && j->lines <= j->auth + 1) {
        j->retried = 1;
        if (j->tcp_open == 1) {
            j->tcp->data = NULL;
            uv_close((uv_handle_t *)j->tcp, on_tcp_closed);
        }
        j->tcp = NULL;
        j->tcp_open = 0;
        j->out_pos = 0;
        j->lines = 0;
        j->linelen = 0;
        j->has_error = 0;
        j->head_failed = 0;
        j->target_error[0] = '\0';
        job_connect(j, 0);
        return;
    }
    j->io_error = what;
    job_done(j);
}

/* ------------------------------------------------------------------------ */
/* I/O                                                                       */
/* ------------------------------------------------------------------------ */

static const char *state_io_name(int state)
{
    return state == M_WRITING ? "writing" : state == M_READING ? "reading" : "connecting";
}

static void on_timeout(uv_timer_t *t)
{
    migrate_job *j = t->data;
    j->timed_out = 1;
    job_fail(j, state_io_name(j->state));
}

static void arm_timer(migrate_job *j)
{
    uv_timer_start(&j->timer, on_timeout, (uint64_t)j->timeout_ms, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    migrate_job *j = h->data;
    buf->base = j->rbuf;
    buf->len = sizeof j->rbuf;
}

/* One reply line (without "\r\n"): the AUTH reply, SELECT's, then one per
 * key, as Redis reads them. */
static void on_line(migrate_job *j)
{
    int idx = j->lines++;
    int is_err = j->linelen > 0 && j->line[0] == '-';
    if (is_err && !j->has_error) {
        size_t n = j->linelen - 1;
        memcpy(j->target_error, j->line + 1, n);
        j->target_error[n] = '\0';
        j->has_error = 1;
    }
    if (is_err && idx <= j->auth)
        j->head_failed = 1;
    int k = idx - j->auth - 1;
    if (k >= 0 && k < j->nkeys)
        j->keys[k].acked = !is_err;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    migrate_job *j = st->data;
    if (j->state != M_READING)
        return;
    if (nread < 0) {
        job_fail(j, "reading");
        return;
    }
    int want = j->auth + 1 + j->nkeys;
    for (ssize_t i = 0; i < nread && j->state == M_READING; i++) {
        char ch = buf->base[i];
        if (ch == '\n') {
            if (j->linelen && j->line[j->linelen - 1] == '\r')
                j->linelen--;
            on_line(j);
            j->linelen = 0;
            arm_timer(j);
            if (j->lines == want) {
                uv_read_stop(st);
                job_done(j);
                return;
            }
        } else if (j->linelen < sizeof j->line - 1) {
            j->line[j->linelen++] = ch;
        }
    }
}

static void write_next(migrate_job *j);

static void on_written(uv_write_t *w, int status)
{
    migrate_job *j = w->data;
    if (j->state != M_WRITING)
        return;
    if (status < 0) {
        job_fail(j, "writing");
        return;
    }
    j->out_pos += j->chunk;
    write_next(j);
}

static void write_next(migrate_job *j)
{
    size_t left = kbuf_len(&j->out) - j->out_pos;
    if (!left) {
        j->state = M_READING;
        arm_timer(j);
        if (uv_read_start((uv_stream_t *)j->tcp, on_alloc, on_read) < 0)
            job_fail(j, "reading");
        return;
    }
    j->chunk = left > MIGRATE_CHUNK ? MIGRATE_CHUNK : left;
    uv_buf_t b = uv_buf_init((char *)kbuf_data(&j->out) + j->out_pos, (unsigned)j->chunk);
    j->wr.data = j;
    arm_timer(j);
    if (uv_write(&j->wr, (uv_stream_t *)j->tcp, &b, 1, on_written) < 0)
        job_fail(j, "writing");
}

static void on_connected(uv_connect_t *req, int status)
{
    migrate_job *j = req->data;
    if (j->state != M_CONNECTING)
        return;
    if (status < 0) {
        /* Redis's connect waits for the socket to be writable, which a
         * refused connection is: its failure shows when writing. */
        job_fail(j, "writing");
        return;
    }
    uv_tcp_nodelay(j->tcp, 1);
    j->state = M_WRITING;
    write_next(j);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    migrate_job *j = req->data;
    j->gai_pending = 0;
    if (j->state != M_RESOLVING) {
        uv_freeaddrinfo(res);
        job_maybe_free(j);
        return;
    }
    if (status < 0 || !res) {
        uv_freeaddrinfo(res);
        job_fail(j, "connecting");
        return;
    }
    j->state = M_CONNECTING;
    j->conn.data = j;
    int rc = uv_tcp_connect(&j->conn, j->tcp, res->ai_addr, on_connected);
    uv_freeaddrinfo(res);
    if (rc < 0)
        job_fail(j, "connecting");
}


/* Start (or restart) the exchange: on a cached connection to the target,
 * or resolve and connect. Runs from a loop callback, never inside the
 * command, so a failure can run the command again. */
static void job_connect(migrate_job *j, int use_cache)
{
    uv_tcp_t *cached = use_cache ? cache_take(j->srv, j->name) : NULL;
    arm_timer(j);
    if (cached) {
        j->tcp = cached;
        cached->data = j;
        j->tcp_open = 1;
        j->state = M_WRITING;
        write_next(j);
        return;
    }
    j->tcp = kv_malloc(sizeof *j->tcp);
    uv_tcp_init(j->srv->loop, j->tcp);
    j->tcp->data = j;
    j->tcp_open = 1;
    j->state = M_RESOLVING;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    j->gai.data = j;
    j->gai_pending = 1;
    if (uv_getaddrinfo(j->srv->loop, &j->gai, on_resolved, j->host, j->port, &hints) < 0) {
        j->gai_pending = 0;
        job_fail(j, "connecting");
    }
}

static void on_start(uv_timer_t *t)
{
    job_connect(t->data, 1);
}

/* ------------------------------------------------------------------------ */
/* The command                                                               */
/* ------------------------------------------------------------------------ */

static void put_bulk(kbuf *b, const char *s, size_t n)
{
    char hdr[32];
    int h = snprintf(hdr, sizeof hdr, "$%zu\r\n", n);
    kbuf_append(b, hdr, (size_t)h);
    kbuf_append(b, s, n);
    kbuf_append(b, "\r\n", 2);
}

static void put_count(kbuf *b, int n)
{
    char hdr[32];
    int h = snprintf(hdr, sizeof hdr, "*%d\r\n", n);
    kbuf_append(b, hdr, (size_t)h);
}

static void put_ll(kbuf *b, long long v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%lld", v);
    put_bulk(b, num, (size_t)n);
}

/* Run 2: the exchange is over; delete what the target acknowledged. */
static void migrate_finish(cmd_ctx *c, migrate_job *j)
{
    c->cl->migrate = NULL;
    j->consumed = 1;
    if (j->io_error && !strcmp(j->io_error, "connecting")) {
        reply_error(&c->r, "IOERR error or timeout connecting to the client");
        return;
    }
    /* As Redis: the target's error is reported once a RESTORE reply was
     * read (AUTH's or SELECT's error first: they come first); keys whose
     * RESTORE was answered +OK go, unless AUTH or SELECT failed. */
    int keys_read = j->lines - j->auth - 1;
    int from_target = keys_read > 0 && j->has_error;
    const char **dargv = kv_malloc(((size_t)j->nkeys + 1) * sizeof *dargv);
    size_t *dlens = kv_malloc(((size_t)j->nkeys + 1) * sizeof *dlens);
    int nd = 1;
    dargv[0] = "DEL";
    dlens[0] = 3;
    for (int i = 0; i < keys_read && !j->head_failed && !j->copy; i++) {
        migrate_key *k = &j->keys[i];
        if (!k->acked)
            continue;
        kobj *o = db_read_notouch(c, k->key, k->klen);
        if (!o)
            continue;
        /* Changed while in flight: the newer value stays here. */
        kbuf now = KBUF_INIT;
        rdb_dump(o, &now);
        int same = kbuf_len(&now) == k->plen && !memcmp(kbuf_data(&now), k->payload, k->plen) &&
                   kobj_expire(o) == k->expire;
        kbuf_free(&now);
        if (!same)
            continue;
        if (db_delete(c, k->key, k->klen)) {
            cmd_notify(c, NOTIFY_GENERIC, "del", k->key, k->klen);
            c->dirty++;
            dargv[nd] = k->key;
            dlens[nd++] = k->klen;
        }
    }
    if (nd > 1)
        cmd_propagate(c, nd, dargv, dlens);
    kv_free(dargv);
    kv_free(dlens);
    if (from_target) {
        char msg[MIGRATE_LINE + 64];
        snprintf(msg, sizeof msg, "ERR Target instance replied with error: %s", j->target_error);
        reply_error(&c->r, msg);
    } else if (j->io_error) {
        char msg[128];
        snprintf(msg, sizeof msg, "IOERR error or timeout %s to target instance", j->io_error);
        reply_error(&c->r, msg);
    } else {
        reply_ok(&c->r);
    }
}

/* Run 1: check the arguments, serialize the keys, start the exchange. */
static void cmd_migrate(cmd_ctx *c)
{
    client *cl = c->cl;
    if (cl && cl->migrate && cl->migrate->state == M_DONE) {
        migrate_finish(c, cl->migrate);
        return;
    }
    int copy = 0, replace = 0, first_key = 3, num_keys = 1;
    const char *password = NULL, *username = NULL;
    size_t plen = 0, ulen = 0;
    for (int j = 6; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is_c(c, j, "copy")) {
            copy = 1;
        } else if (arg_is_c(c, j, "replace")) {
            replace = 1;
        } else if (arg_is_c(c, j, "auth")) {
            if (!more) {
                reply_err_syntax(&c->r);
                return;
            }
            j++;
            password = c->argv[j];
            plen = c->lens[j];
            username = NULL;
        } else if (arg_is_c(c, j, "auth2")) {
            if (more < 2) {
                reply_err_syntax(&c->r);
                return;
            }
            username = c->argv[++j];
            ulen = c->lens[j];
            password = c->argv[++j];
            plen = c->lens[j];
        } else if (arg_is_c(c, j, "keys")) {
            if (c->lens[3] != 0) {
                reply_error(&c->r, "ERR When using MIGRATE KEYS option, the key argument must "
                                   "be set to the empty string");
                return;
            }
            first_key = j + 1;
            num_keys = c->argc - j - 1;
            break;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    long long timeout, dbid;
    if (arg_ll(c, 5, &timeout) < 0 || arg_ll(c, 4, &dbid) < 0)
        return;
    if (timeout <= 0)
        timeout = 1000;
    /* Which keys are here (a missing or expired one is skipped). */
    int *idx = kv_malloc(((size_t)num_keys + 1) * sizeof *idx);
    int n = 0;
    for (int j = 0; j < num_keys; j++)
        if (db_read(c, c->argv[first_key + j], c->lens[first_key + j]))
            idx[n++] = first_key + j;
    if (n == 0) {
        kv_free(idx);
        reply_simple(&c->r, "NOKEY");
        return;
    }
    /* A script's commands reply into the script's buffer, not the
     * client's: only a client's own command can wait. */
    if (!cl || c->deny_blocking || c->srv->in_exec || c->r.out != &cl->out) {
        /* It would have to wait for the target here. */
        kv_free(idx);
        reply_error(&c->r, "ERR MIGRATE cannot wait for its target inside MULTI or a script");
        return;
    }
    migrate_job *m = kv_calloc(1, sizeof *m);
    m->copy = copy;
    m->auth = password != NULL;
    m->timeout_ms = timeout;
    m->keys = kv_calloc((size_t)n, sizeof *m->keys);
    kbuf_init(&m->out);
    if (password) {
        put_count(&m->out, username ? 3 : 2);
        put_bulk(&m->out, "AUTH", 4);
        if (username)
            put_bulk(&m->out, username, ulen);
        put_bulk(&m->out, password, plen);
    }
    put_count(&m->out, 2);
    put_bulk(&m->out, "SELECT", 6);
    put_ll(&m->out, dbid);
    for (int j = 0; j < n; j++) {
        const char *key = c->argv[idx[j]];
        size_t klen = c->lens[idx[j]];
        kobj *o = db_read_notouch(c, key, klen);
        if (!o)
            continue;
        long long ttl = 0;
        int64_t at = kobj_expire(o);
        if (at >= 0) {
            ttl = at - c->now_ms;
            if (ttl < 0)
                continue;
            if (ttl < 1)
                ttl = 1;
        }
        migrate_key *k = &m->keys[m->nkeys++];
        k->key = kv_memdup(key, klen);
        k->klen = klen;
        k->expire = at;
        kbuf p = KBUF_INIT;
        rdb_dump(o, &p);
        k->plen = kbuf_len(&p);
        k->payload = kv_memdup(kbuf_data(&p), k->plen);
        kbuf_free(&p);
        put_count(&m->out, replace ? 5 : 4);
        put_bulk(&m->out, "RESTORE", 7);
        put_bulk(&m->out, key, klen);
        put_ll(&m->out, ttl);
        put_bulk(&m->out, k->payload, k->plen);
        if (replace)
            put_bulk(&m->out, "REPLACE", 7);
    }
    kv_free(idx);
    m->argc = c->argc;
    m->argv = kv_malloc((size_t)c->argc * sizeof *m->argv);
    m->lens = kv_malloc((size_t)c->argc * sizeof *m->lens);
    for (int i = 0; i < c->argc; i++) {
        m->argv[i] = kv_memdup(c->argv[i], c->lens[i]);
        m->lens[i] = c->lens[i];
    }
    /* Start on the next turn of the loop (job_connect). */
    server *s = c->srv;
    m->srv = s;
    m->cl = cl;
    m->state = M_RESOLVING;
    snprintf(m->host, sizeof m->host, "%.*s", (int)(c->lens[1] < 255 ? c->lens[1] : 255),
             c->argv[1]);
    snprintf(m->port, sizeof m->port, "%.*s", (int)(c->lens[2] < 31 ? c->lens[2] : 31),
             c->argv[2]);
    snprintf(m->name, sizeof m->name, "%s:%s", m->host, m->port);
    uv_timer_init(s->loop, &m->timer);
    m->timer.data = m;
    m->timer_open = 1;
    cl->migrate = m;
    cl->flags |= CL_BLOCKED;
    uv_timer_start(&m->timer, on_start, 0, 0);
}

const kv_command cmds_migrate[] = {
    {"migrate", cmd_migrate, -6, CMD_WRITE, 3, 3, 1, "generic",
     "Atomically transfer a key from a Redis instance to another one.", "2.6.0",
     "@keyspace @write @slow @dangerous"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
