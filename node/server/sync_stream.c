/* sync_stream.c — SYNC, PSYNC and REPLCONF: Redis's replication stream,
 * for what speaks Redis's replica protocol rather than kvnode's own:
 * a redis-server configured with REPLICAOF <this node>, `redis-cli --rdb`
 * and `--replica`, migration and backup tools, and Redis's test helpers
 * that read a server's replication stream.
 *
 * Such a client ("Redis replica") gets what redis-server 7.0 sends a
 * replica in a full resynchronization:
 *   PSYNC only: "+FULLRESYNC <replid> <offset>\r\n" (never +CONTINUE: a
 *     Redis replica's byte offsets do not name kvnode's log positions, so
 *     every (re)connection is a full sync);
 *   "$<length>\r\n" and an RDB file (version 10, rdb.h's rdb_file_*) of the
 *     keyspace as of the last entry applied, L;
 *   then the WAL entries after L, in order, each as the commands Redis
 *     propagates: the log holds commands in their deterministic effect form
 *     (PXAT, PEXPIREAT, DEL of expired keys …, wal.proto), which is the
 *     form Redis propagates them in. SELECT precedes a command for another
 *     database than the previous one's; an entry of several commands is
 *     wrapped in MULTI/EXEC (one execution unit), except an entry that is
 *     only deletions of single keys (active or lazy expiry, which Redis
 *     does not wrap). PING every repl-ping-replica-period seconds.
 *
 * The stream carries committed entries only: the RDB waits behind the
 * reply barrier for L, and entries are read back from the WAL files up to
 * the commit point (server_commit_advanced calls sync_stream_feed), so a
 * Redis replica never sees a write the cluster could still lose. On a
 * kvnode replica the stream is what it applies from its primary. A Redis
 * replica that falls so far behind that its next entry is no longer in the
 * WAL (or past the replica output-buffer limit) is disconnected and, being
 * a Redis replica, reconnects for a new full sync.
 *
 * The replica's own commands after SYNC (REPLCONF ACK every second) get no
 * reply, as Redis answers nothing to a replica. REPLCONF rdb-only 1 (what
 * `redis-cli --rdb` sends) closes the connection after the RDB; REPLCONF
 * rdb-filter-only "functions" (`redis-cli --functions-rdb`) leaves the keys
 * out. The RDB is built on the event loop in one go (Redis forks for it):
 * about 0.4 s per million small keys. */
#include "server.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "rdb.h"
#include "reply.h"
#include "repl.h"
#include "script.h"
#include "wal.h"
#include "wal.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* Most WAL bytes read back per replica in one feed, so that a replica far
 * behind does not hold the loop. */
#define FEED_READ_MAX (4u << 20)

struct sync_repl {
    wal_cursor cur;     /* next entry to send */
    uint64_t rdb_end;   /* output stream offset where the RDB ends */
    int db;             /* database of the last command sent (-1: none) */
    int64_t last_ping_ms;
    int64_t last_ack_ms; /* last REPLCONF ACK, or when the RDB was out */
    uint64_t ack_off;    /* the offset it acknowledged last */
    int pre_psync;       /* came with SYNC: sends no ACKs, never timed out */
};

enum {
    SYNC_CAPA_EOF = 1 << 0,
    SYNC_RDB_ONLY = 1 << 1,
    SYNC_NO_DATA = 1 << 2,      /* rdb-filter-only: no keys */
    SYNC_NO_FUNCTIONS = 1 << 3, /* rdb-filter-only: no functions */
};

static void add_sync(server *s, client *c)
{
    if (s->nsyncs == s->capsyncs) {
        s->capsyncs = s->capsyncs ? s->capsyncs * 2 : 4;
        s->syncs = kv_realloc(s->syncs, s->capsyncs * sizeof *s->syncs);
    }
    s->syncs[s->nsyncs++] = c;
}

void sync_stream_forget(client *c)
{
    if (!c->sync)
        return;
    server *s = c->srv;
    for (size_t i = 0; i < s->nsyncs; i++) {
        if (s->syncs[i] == c) {
            memmove(&s->syncs[i], &s->syncs[i + 1], (s->nsyncs - i - 1) * sizeof *s->syncs);
            s->nsyncs--;
            break;
        }
    }
    kv_free(c->sync);
    c->sync = NULL;
}

size_t sync_stream_rdb_pending(const client *c)
{
    /* Pending output starts where `sending` (the write in flight) does. */
    uint64_t first = c->out_base - kbuf_len(&c->sending);
    if (!c->sync || c->sync->rdb_end <= first)
        return 0;
    return (size_t)(c->sync->rdb_end - first);
}

int sync_stream_replicas(server *s, repl_extra_replica **out)
{
    *out = NULL;
    if (!s->nsyncs)
        return 0;
    repl_extra_replica *x = kv_calloc(s->nsyncs, sizeof *x);
    int64_t now = server_mstime();
    for (size_t i = 0; i < s->nsyncs; i++) {
        const client *c = s->syncs[i];
        /* Its address as seen (Redis's replica ip), without the port. */
        snprintf(x[i].ip, sizeof x[i].ip, "%s", c->addr);
        char *colon = strrchr(x[i].ip, ':');
        if (colon)
            *colon = '\0';
        x[i].port = c->sync_port;
        x[i].state = sync_stream_rdb_pending(c) ? "send_bulk" : "online";
        x[i].offset = c->sync->ack_off;
        x[i].lag = (now - c->sync->last_ack_ms) / 1000;
    }
    *out = x;
    return (int)s->nsyncs;
}

size_t sync_stream_memory(server *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nsyncs; i++)
        n += client_memory(s->syncs[i]);
    return n;
}

/* ---- the RDB ---- */

static void random_replid(char out[41])
{
    unsigned char b[20];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(server_mstime() >> (i % 8));
    for (int i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void build_rdb(server *s, kbuf *out, const char *replid, uint64_t offset, int filter)
{
    char ctime[32], mem[32], off[32];
    snprintf(ctime, sizeof ctime, "%lld", (long long)(server_mstime() / 1000));
    snprintf(mem, sizeof mem, "%zu", kv_used_memory());
    snprintf(off, sizeof off, "%" PRIu64, offset);
    const char *aux[] = {"redis-ver", KV_REDIS_COMPAT_VERSION, "redis-bits", "64", "ctime", ctime,
                         "used-mem", mem, "repl-stream-db", "0", "repl-id", replid,
                         "repl-offset", off, "aof-base", "0"};
    size_t start = kbuf_len(out);
    rdb_file_begin(out, aux, (int)(sizeof aux / sizeof *aux));
    if (!(filter & SYNC_NO_FUNCTIONS))
        script_functions_rdb(s->dbs[0], out);
    if (!(filter & SYNC_NO_DATA))
        for (int db = 0; db < s->ndbs; db++)
            rdb_file_db(out, db, s->dbs[db]);
    rdb_file_end(out, start);
}

/* ---- SYNC / PSYNC ---- */

static void cmd_sync(cmd_ctx *c)
{
    server *s = c->srv;
    client *cl = c->cl;
    /* Already a replica: ignored (Redis). */
    if (!cl || cl->sync)
        return;
    if (cl->flags & CL_MULTI) {
        /* no_multi: refused, and EXEC will abort (as SAVE). */
        cl->flags |= CL_DIRTY_EXEC;
        reply_error(&c->r, "ERR Command not allowed inside a transaction");
        return;
    }
    int psync = c->lens[0] == 5;
    if (psync && c->argc > 3 && arg_is_c(c, 3, "failover")) {
        /* PSYNC <replid> <offset> FAILOVER: a Redis primary handing over
         * to its replica; kvnode nodes elect their primary themselves. */
        reply_error(&c->r, "ERR PSYNC FAILOVER can't be sent to a master.");
        return;
    }
    if (s->repl && repl_failover_in_progress(s->repl)) {
        reply_error(&c->r, "NOMASTERLINK Can't SYNC while failing over");
        return;
    }
    if (s->env.replica && s->repl && !repl_follower_serving(s->repl)) {
        reply_error(&c->r, "NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    if (client_pending_bytes(cl) > 0) {
        reply_error(&c->r, "ERR SYNC and PSYNC are invalid with pending output");
        return;
    }
    if ((cl->sync_flags & (SYNC_NO_DATA | SYNC_NO_FUNCTIONS)) &&
        !(cl->sync_flags & SYNC_CAPA_EOF)) {
        reply_error(&c->r, "ERR Filtered replica requires EOF capability");
        return;
    }
    long long offset = 0;
    if (psync && arg_ll(c, 2, &offset) < 0)
        return;
    s->stats.redis_sync_full++;
    if (psync && !(c->lens[1] == 1 && c->argv[1][0] == '?'))
        s->stats.redis_sync_partial_err++;
    uint64_t at = engine_applied_lsn(s->eng);
    char replid[41];
    random_replid(replid);
    /* The stream's offsets: the replica counts bytes from here. */
    uint64_t base = at;
    log_notice("Replica %s asks for synchronization (%s); full resync from LSN %" PRIu64,
               cl->addr, psync ? "PSYNC" : "SYNC", at);
    uint64_t from = client_out_offset(cl);
    /* The RDB is built after room for the lines before it, which are then
     * written right-aligned there: the RDB is not copied again. */
    enum { HEAD_ROOM = 128 };
    kbuf rdb = KBUF_INIT;
    kbuf_reserve(&rdb, HEAD_ROOM);
    memset(kbuf_tail(&rdb), 0, HEAD_ROOM);
    kbuf_commit(&rdb, HEAD_ROOM);
    build_rdb(s, &rdb, replid, base, cl->sync_flags);
    size_t rdb_len = kbuf_len(&rdb) - HEAD_ROOM;
    char head[HEAD_ROOM];
    int hl = 0;
    if (psync)
        hl = snprintf(head, sizeof head, "+FULLRESYNC %s %" PRIu64 "\r\n", replid, base);
    hl += snprintf(head + hl, sizeof head - (size_t)hl, "$%zu\r\n", rdb_len);
    memcpy(kbuf_data(&rdb) + HEAD_ROOM - hl, head, (size_t)hl);
    kbuf_consume(&rdb, HEAD_ROOM - (size_t)hl);
    if (c->r.out == &cl->out && kbuf_len(&cl->out) == 0) {
        kbuf empty = cl->out;
        cl->out = rdb;
        rdb = empty;
    } else {
        kbuf_append(c->r.out, kbuf_data(&rdb), kbuf_len(&rdb));
    }
    kbuf_free(&rdb);
    log_notice("Synchronization with replica %s: RDB of %zu bytes queued", cl->addr, rdb_len);
    /* Out only once L is committed, as any reply that saw it. */
    if (at > s->commit_lsn)
        client_add_mark(cl, from, at, 0);
    if (cl->sync_flags & SYNC_RDB_ONLY) {
        client_close_after_reply(cl);
        return;
    }
    cl->sync = kv_calloc(1, sizeof *cl->sync);
    cl->sync->rdb_end = client_out_offset(cl);
    cl->sync->cur.next_lsn = at + 1;
    cl->sync->db = -1;
    cl->sync->last_ping_ms = server_mstime();
    cl->sync->last_ack_ms = cl->sync->last_ping_ms;
    cl->sync->pre_psync = !psync;
    add_sync(s, cl);
}

/* ---- REPLCONF ---- */

static void cmd_replconf(cmd_ctx *c)
{
    client *cl = c->cl;
    if (c->argc % 2 == 0) {
        reply_error(&c->r, "ERR syntax error");
        return;
    }
    int flags = cl ? cl->sync_flags : 0;
    for (int j = 1; j < c->argc; j += 2) {
        if (arg_is_c(c, j, "listening-port")) {
            long long port;
            if (arg_ll(c, j + 1, &port) < 0)
                return;
            if (cl)
                cl->sync_port = (int)port;
        } else if (arg_is_c(c, j, "ip-address")) {
            if (c->lens[j + 1] >= 256) { /* NET_HOST_STR_LEN */
                reply_errorf(&c->r,
                             "ERR REPLCONF ip-address provided by replica instance is too long: "
                             "%zu bytes",
                             c->lens[j + 1]);
                return;
            }
        } else if (arg_is_c(c, j, "capa")) {
            if (arg_is_c(c, j + 1, "eof"))
                flags |= SYNC_CAPA_EOF;
        } else if (arg_is_c(c, j, "ack")) {
            /* A replica's acknowledgement: no reply. */
            long long off;
            if (cl && cl->sync) {
                cl->sync->last_ack_ms = server_mstime();
                if (kv_string2ll(c->argv[j + 1], c->lens[j + 1], &off) && off >= 0)
                    cl->sync->ack_off = (uint64_t)off;
            }
            return;
        } else if (arg_is_c(c, j, "getack")) {
            /* Asked of a replica by its Redis primary; no reply here. */
            return;
        } else if (arg_is_c(c, j, "rdb-only")) {
            long long v;
            if (arg_ll(c, j + 1, &v) < 0)
                return;
            if (v < 0 || v > 1) {
                reply_error(&c->r, "ERR value is out of range, value must between 0 and 1");
                return;
            }
            flags = v ? flags | SYNC_RDB_ONLY : flags & ~SYNC_RDB_ONLY;
        } else if (arg_is_c(c, j, "rdb-filter-only")) {
            /* A space-separated list of what to include; only
             * "functions" exists (Redis 7.0). */
            flags |= SYNC_NO_DATA | SYNC_NO_FUNCTIONS;
            const char *p = c->argv[j + 1], *end = p + c->lens[j + 1];
            while (p < end) {
                while (p < end && *p == ' ')
                    p++;
                const char *w = p;
                while (p < end && *p != ' ')
                    p++;
                if (p == w)
                    break;
                if ((size_t)(p - w) == 9 && !strncasecmp(w, "functions", 9)) {
                    flags &= ~SYNC_NO_FUNCTIONS;
                } else {
                    reply_errorf(&c->r, "ERR Unsupported rdb-filter-only option: %.*s",
                                 (int)(p - w), w);
                    return;
                }
            }
        } else {
            reply_errorf(&c->r, "ERR Unrecognized REPLCONF option: %.*s", (int)c->lens[j],
                         c->argv[j]);
            return;
        }
    }
    if (cl)
        cl->sync_flags = flags;
    reply_ok(&c->r);
}

/* ---- the stream ---- */

/* A command as a replica reads it: a RESP2 array of bulk strings (the
 * reply writer's). */
static void put_command(kbuf *b, size_t argc, const ProtobufCBinaryData *argv)
{
    reply r = reply_make(b, 2);
    reply_array(&r, (long)argc);
    for (size_t i = 0; i < argc; i++)
        reply_bulk(&r, argv[i].data, argv[i].len);
}

static void put_word(kbuf *b, const char *word)
{
    ProtobufCBinaryData a = {strlen(word), (uint8_t *)word};
    put_command(b, 1, &a);
}

static void put_select(kbuf *b, struct sync_repl *r, uint32_t db)
{
    if (r->db == (int)db)
        return;
    char n[16];
    ProtobufCBinaryData a[2] = {{6, (uint8_t *)"SELECT"}, {0, (uint8_t *)n}};
    a[1].len = (size_t)snprintf(n, sizeof n, "%u", db);
    put_command(b, 2, a);
    r->db = (int)db;
}

/* An entry that is only single-key deletions: expiry's, which Redis sends
 * unwrapped. */
static int only_deletions(const Kv__WalEntry *e)
{
    for (size_t i = 0; i < e->n_commands; i++) {
        const Kv__Command *c = e->commands[i];
        if (c->n_argv != 2)
            return 0;
        const ProtobufCBinaryData *a = &c->argv[0];
        if (!((a->len == 3 && !strncasecmp((const char *)a->data, "del", 3)) ||
              (a->len == 6 && !strncasecmp((const char *)a->data, "unlink", 6))))
            return 0;
    }
    return 1;
}

static void put_entry(kbuf *b, struct sync_repl *r, const Kv__WalEntry *e)
{
    if (e->n_commands == 0)
        return;
    int wrap = e->n_commands > 1 && !only_deletions(e);
    if (wrap) {
        /* SELECT goes before MULTI, for the first command's database. */
        put_select(b, r, e->commands[0]->db);
        put_word(b, "MULTI");
    }
    for (size_t i = 0; i < e->n_commands; i++) {
        const Kv__Command *c = e->commands[i];
        if (c->n_argv == 0)
            continue;
        /* FLUSHALL names no database; Redis still sends the SELECT. */
        put_select(b, r, c->db);
        put_command(b, c->n_argv, c->argv);
    }
    if (wrap)
        put_word(b, "EXEC");
}

static void drop_replica(client *c, int asap)
{
    sync_stream_forget(c);
    if (asap)
        client_close_asap(c);
    else
        client_close(c);
}

/* Send c the committed entries it has not had; c is closed instead when
 * its next entry is gone from the WAL or cannot be read, or its output is
 * past its limit. */
static void feed_one(server *s, client *c, uint64_t upto)
{
    struct sync_repl *r = c->sync;
    if (r->cur.next_lsn > upto)
        return;
    wal_rbuf buf = {0};
    char err[256];
    long n = wal_read(engine_dir(s->eng), &r->cur, upto, FEED_READ_MAX, &buf, err, sizeof err);
    if (n < 0) {
        if (n == KVE_NOTFOUND)
            log_warn("Disconnecting Redis replica %s: entry %" PRIu64
                     " is no longer in the WAL (it fell behind); it will sync again",
                     c->addr, r->cur.next_lsn);
        else
            log_warn("Disconnecting Redis replica %s: reading the WAL: %s", c->addr, err);
        wal_rbuf_free(&buf);
        drop_replica(c, 0);
        return;
    }
    kbuf *out = &c->out;
    size_t off = 0;
    while (off < buf.len) {
        /* wal_read checked every record: a stream with a hole would leave
         * the replica behind for good, so one that does not decode ends it. */
        wal_record rec;
        long sz = wal_decode_record(buf.p + off, buf.len - off, &rec);
        Kv__WalEntry *e = NULL;
        if (sz > 0 && rec.type == WAL_REC_COMMANDS &&
            !(e = kv__wal_entry__unpack(NULL, rec.len, rec.payload)))
            sz = -1;
        if (sz <= 0) {
            log_warn("Disconnecting Redis replica %s: an entry of the WAL does not decode",
                     c->addr);
            wal_rbuf_free(&buf);
            drop_replica(c, 0);
            return;
        }
        off += (size_t)sz;
        if (e) {
            put_entry(out, r, e);
            kv__wal_entry__free_unpacked(e, NULL);
        }
    }
    wal_rbuf_free(&buf);
    if (client_output_over_limit(c)) {
        drop_replica(c, 1);
        return;
    }
    client_flush(c);
}

void sync_stream_feed(server *s)
{
    if (!s->nsyncs || !s->eng)
        return;
    uint64_t upto = s->commit_lsn;
    uint64_t applied = engine_applied_lsn(s->eng);
    if (applied < upto)
        upto = applied;
    uint64_t written = wal_written_lsn(engine_wal(s->eng));
    if (written < upto)
        upto = written;
    /* Backwards: feed_one may take c off the list. Not a replica whose
     * own command is running: what it writes is that command's reply,
     * which is dropped (the next feed sends the entries). */
    for (size_t i = s->nsyncs; i-- > 0;) {
        client *c = s->syncs[i];
        if ((c->flags & (CL_CLOSING | CL_CLOSE_ASAP)) || s->current == c)
            continue;
        feed_one(s, c, upto);
    }
}

void sync_stream_cron(server *s, int64_t now)
{
    sync_stream_feed(s);
    int64_t period = (int64_t)s->cfg.repl_ping_replica_period * 1000;
    int64_t timeout = (int64_t)s->cfg.redis_repl_timeout * 1000;
    /* Backwards: a replica timed out is taken off the list. */
    for (size_t i = s->nsyncs; i-- > 0;) {
        client *c = s->syncs[i];
        struct sync_repl *r = c->sync;
        if ((c->flags & (CL_CLOSING | CL_CLOSE_ASAP)) || s->current == c)
            continue;
        /* repl-timeout, as Redis's primary: a PSYNC replica silent that
         * long once its RDB is out is closed. The clock starts when the
         * RDB has been sent (Redis: when the replica comes online). */
        if (sync_stream_rdb_pending(c) > 0) {
            r->last_ack_ms = now;
        } else if (!r->pre_psync && now - r->last_ack_ms > timeout) {
            log_warn("Disconnecting timedout replica (streaming sync): %s", c->addr);
            drop_replica(c, 1);
            continue;
        }
        if (now - r->last_ping_ms < period)
            continue;
        r->last_ping_ms = now;
        put_word(&c->out, "PING");
        client_flush(c);
    }
}

/* clang-format off */
const kv_command cmds_sync[] = {
    {"sync", cmd_sync, 1, CMD_ADMIN | CMD_NOMULTI | CMD_NO_ASYNC_LOADING | CMD_NOT_IN_MULTI | CMD_NOSCRIPT | CMD_NOBARRIER, 0, 0, 0,
     "server", "Internal command used for replication", "1.0.0", "@admin @slow @dangerous"},
    {"psync", cmd_sync, -3, CMD_ADMIN | CMD_NOMULTI | CMD_NO_ASYNC_LOADING | CMD_NOT_IN_MULTI | CMD_NOSCRIPT | CMD_NOBARRIER, 0, 0, 0,
     "server", "Internal command used for replication", "2.8.0", "@admin @slow @dangerous"},
    {"replconf", cmd_replconf, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_ALLOW_BUSY | CMD_NOBARRIER, 0, 0, 0,
     "server", "An internal command for configuring the replication stream", "3.0.0",
     "@admin @slow @dangerous"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
/* clang-format on */
