/* follower.c — the replica's link to its primary (states in repl_int.h).
 *
 * The replica stores every record the primary sends in its own WAL, byte
 * for byte, acks what is durable, and applies records only up to the
 * primary's commit point — so applied state never has to be undone unless
 * the replica is later told to truncate below it, and then it rebuilds from
 * disk (engine_truncate) or takes a snapshot. Records received but not yet
 * applied wait in a bounded in-memory queue; past the bound they are read
 * back from the WAL files when their turn comes.
 *
 * Pub/Sub messages (Publish) are not records: they wait, in order, until
 * the keyspace has applied the LSN they followed on the primary, then go
 * to the server (repl_host.publish). At most once, as in Redis: a full
 * queue or a dropped link loses them. */
#include "repl_int.h"

#include "crc32c.h"
#include "err.h"
#include "hmac.h"
#include "log.h"
#include "mem.h"
#include "snapshot.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *state_names[] = {"none", "connect", "connecting", "handshake", "sync",
                                    "connected"};

const char *follower_state_name(const follower *f)
{
    return state_names[f->state];
}

static void schedule_connect(follower *f, int delay_ms);

/* ------------------------------------------------------------------------ */
/* Connection life cycle                                                     */
/* ------------------------------------------------------------------------ */

static void link_closed(peer_conn *c)
{
    follower *f = c->owner;
    if (f && f->c == c) {
        f->c = NULL;
        kbuf_reset(&f->pubs);
        if (f->state != LINK_IDLE) {
            if (!f->link_down_since_ms)
                f->link_down_since_ms = repl_now_ms();
            f->state = LINK_CONNECT;
            schedule_connect(f, f->backoff_ms);
            f->backoff_ms = f->backoff_ms ? f->backoff_ms * 2 : 100;
            if (f->backoff_ms > 2000)
                f->backoff_ms = 2000;
        }
    }
    kv_free(c);
}

static void drop_link(follower *f)
{
    if (f->c)
        peer_close(f->c);
}

static int link_on_message(peer_conn *c, Kv__PeerMessage *m);

static void on_connected(uv_connect_t *req, int status)
{
    peer_conn *c = req->data;
    kv_free(req);
    follower *f = c->owner;
    if (status < 0) {
        if (f)
            log_verbose("connecting to primary %s:%d: %s", f->host, f->peer_port,
                        uv_strerror(status));
        peer_close(c);
        return;
    }
    if (!f || c->closing) {
        peer_close(c);
        return;
    }
    if (peer_start_reading(c) != 0) {
        peer_close(c);
        return;
    }
    f->state = LINK_HANDSHAKE;
    f->last_io_ms = repl_now_ms();
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    follower *f = req->data;
    f->resolving = 0;
    if (f->state == LINK_IDLE) {
        uv_freeaddrinfo(res);
        if (f->timer_closed)
            kv_free(f);
        return;
    }
    if (status < 0 || !res) {
        log_warn("cannot resolve primary host %s: %s", f->host, uv_strerror(status));
        uv_freeaddrinfo(res);
        f->state = LINK_CONNECT;
        schedule_connect(f, 1000);
        return;
    }
    peer_conn *c = kv_malloc(sizeof *c);
    peer_init(c, f->r, f);
    c->on_message = link_on_message;
    c->on_closed = link_closed;
    /* Frames from the primary carry records up to proto-max-bulk-len. */
    c->in.max = WAL_MAX_PAYLOAD + (1u << 20);
    snprintf(c->addr, sizeof c->addr, "%s:%d", f->host, f->peer_port);
    f->c = c;
    f->state = LINK_CONNECTING;
    /* The request is its own allocation: the follower may be freed (shutdown,
     * REPLICAOF) before libuv calls back, even if only to cancel it. */
    uv_connect_t *creq = kv_malloc(sizeof *creq);
    creq->data = c;
    if (uv_tcp_connect(creq, &c->tcp, res->ai_addr, on_connected) != 0) {
        kv_free(creq);
        peer_close(c);
    }
    uv_freeaddrinfo(res);
}

static void start_connect(follower *f)
{
    if (f->c || f->resolving || f->state == LINK_IDLE)
        return;
    char port[16];
    snprintf(port, sizeof port, "%d", f->peer_port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    f->gai.data = f;
    f->resolving = 1;
    if (uv_getaddrinfo(f->r->loop, &f->gai, on_resolved, f->host, port, &hints) != 0) {
        f->resolving = 0;
        schedule_connect(f, 1000);
    }
}

static void on_timer(uv_timer_t *t)
{
    follower *f = t->data;
    if (f->state == LINK_CONNECT) {
        start_connect(f);
        return;
    }
    /* Handshake or stream: give up on a silent primary. */
    if (f->c && repl_now_ms() - f->c->last_recv_ms > f->r->cfg.repl_timeout_ms) {
        log_warn("primary %s:%d silent for %d ms: reconnecting", f->host, f->port,
                 f->r->cfg.repl_timeout_ms);
        drop_link(f);
    }
}

static void schedule_connect(follower *f, int delay_ms)
{
    uv_timer_start(&f->timer, on_timer, (uint64_t)delay_ms, 100);
}

follower *follower_new(repl *r, const char *host, int port)
{
    follower *f = kv_calloc(1, sizeof *f);
    f->r = r;
    snprintf(f->host, sizeof f->host, "%s", host);
    f->port = port;
    f->peer_port = port + 10000;
    f->state = LINK_CONNECT;
    f->link_down_since_ms = repl_now_ms();
    f->queue_dropped = 1; /* applied state may trail the WAL: start from disk */
    uv_timer_init(r->loop, &f->timer);
    f->timer.data = f;
    schedule_connect(f, 0);
    return f;
}

static void timer_closed(uv_handle_t *h)
{
    follower *f = h->data;
    f->timer_closed = 1;
    if (!f->resolving)
        kv_free(f); /* else on_resolved frees it */
}

void follower_free(follower *f)
{
    if (!f)
        return;
    f->state = LINK_IDLE;
    if (f->c) {
        f->c->owner = NULL;
        peer_close(f->c);
        f->c = NULL;
    }
    if (f->snap_fd > 0) {
        close(f->snap_fd);
        f->snap_fd = 0;
    }
    kbuf_free(&f->queue);
    kbuf_free(&f->pubs);
    uv_close((uv_handle_t *)&f->timer, timer_closed);
}

/* ------------------------------------------------------------------------ */
/* Applying committed records                                                */
/* ------------------------------------------------------------------------ */

static int apply_one(follower *f, const wal_record *rec)
{
    char err[512];
    int rc = engine_apply_record(f->r->eng, rec, err, sizeof err);
    if (rc) {
        log_warn("applying LSN %" PRIu64 " from the primary failed: %s", rec->lsn, err);
        return rc;
    }
    repl_applied(f->r, rec->lsn);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Pub/Sub messages                                                          */
/* ------------------------------------------------------------------------ */

/* Queue entry: u64 after_lsn | u8 shard | u32 chlen | u32 mlen | ch | msg. */
#define PUB_HDR 17u

static void deliver_publishes(follower *f)
{
    repl *r = f->r;
    while (kbuf_len(&f->pubs) >= PUB_HDR) {
        const uint8_t *p = (const uint8_t *)kbuf_data(&f->pubs);
        uint64_t after;
        uint32_t chlen, mlen;
        memcpy(&after, p, 8);
        memcpy(&chlen, p + 9, 4);
        memcpy(&mlen, p + 13, 4);
        if (after > r->applied_lsn)
            return;
        if (r->host.publish)
            r->host.publish(r->host.arg, p[8], (const char *)p + PUB_HDR, chlen,
                            (const char *)p + PUB_HDR + chlen, mlen);
        kbuf_consume(&f->pubs, PUB_HDR + chlen + mlen);
    }
}

static void on_publish(follower *f, Kv__Publish *m)
{
    if (f->state != LINK_STREAM)
        return;
    size_t need = PUB_HDR + m->channel.len + m->message.len;
    if (kbuf_len(&f->pubs) + need > REPL_PUBS_MAX) {
        log_verbose("replica: Pub/Sub backlog full, a message from the primary is dropped");
        return;
    }
    uint8_t hdr[PUB_HDR];
    uint64_t after = m->after_lsn;
    uint32_t chlen = (uint32_t)m->channel.len, mlen = (uint32_t)m->message.len;
    memcpy(hdr, &after, 8);
    hdr[8] = m->shard ? 1 : 0;
    memcpy(hdr + 9, &chlen, 4);
    memcpy(hdr + 13, &mlen, 4);
    kbuf_append(&f->pubs, hdr, PUB_HDR);
    kbuf_append(&f->pubs, m->channel.data, chlen);
    kbuf_append(&f->pubs, m->message.data, mlen);
    deliver_publishes(f);
}

/* Apply everything up to min(commit, durable), then the messages that
 * were waiting for it. */
static void apply_records(follower *f);

static void apply_committed(follower *f)
{
    apply_records(f);
    deliver_publishes(f);
}

static void apply_records(follower *f)
{
    repl *r = f->r;
    uint64_t limit = f->commit_lsn;
    uint64_t durable = engine_durable_lsn(r->eng);
    if (durable < limit)
        limit = durable;
    if (r->applied_lsn >= limit)
        return;
    if (!f->queue_dropped) {
        while (r->applied_lsn < limit && kbuf_len(&f->queue)) {
            const uint8_t *p = (const uint8_t *)kbuf_data(&f->queue);
            wal_record rec;
            long n = wal_decode_record(p, kbuf_len(&f->queue), &rec);
            if (n <= 0 || rec.lsn != r->applied_lsn + 1) {
                f->queue_dropped = 1;
                break;
            }
            if (apply_one(f, &rec) < 0) {
                drop_link(f);
                return;
            }
            kbuf_consume(&f->queue, (size_t)n);
        }
        if (r->applied_lsn >= limit)
            return;
    }
    /* From disk: the queue overflowed or a reconnect lost it. */
    kbuf_reset(&f->queue);
    wal_cursor cur = {r->applied_lsn + 1, 0, 0};
    wal_rbuf buf = {0};
    char err[256];
    while (r->applied_lsn < limit) {
        buf.len = 0;
        long n = wal_read(engine_dir(r->eng), &cur, limit, 4 << 20, &buf, err, sizeof err);
        if (n <= 0) {
            log_warn("replica cannot read back LSN %" PRIu64 " to apply it: %s",
                     r->applied_lsn + 1, n ? err : "not written yet");
            break;
        }
        size_t off = 0;
        while (off < buf.len) {
            wal_record rec;
            long m = wal_decode_record(buf.p + off, buf.len - off, &rec);
            if (apply_one(f, &rec) < 0) {
                wal_rbuf_free(&buf);
                drop_link(f);
                return;
            }
            off += (size_t)m;
        }
    }
    wal_rbuf_free(&buf);
    /* Caught up with the files: the queue can take over again when it
     * starts exactly at the next record. */
    if (r->applied_lsn == wal_last_lsn(engine_wal(r->eng)))
        f->queue_dropped = 0;
}

static void send_ack(follower *f)
{
    if (!f->c || f->c->closing || f->state != LINK_STREAM)
        return;
    Kv__Ack a = KV__ACK__INIT;
    a.term = f->r->meta.term;
    a.durable_lsn = engine_durable_lsn(f->r->eng);
    a.applied_lsn = f->r->applied_lsn;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_ACK;
    m.ack = &a;
    peer_send(f->c, &m);
    f->acked_lsn = a.durable_lsn;
}

void follower_on_durable(follower *f)
{
    if (engine_durable_lsn(f->r->eng) > f->acked_lsn)
        send_ack(f);
    apply_committed(f);
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

/* A term on the wire: lower is refused, higher adopted. 0 to go on. */
static int check_term(follower *f, uint64_t term)
{
    repl *r = f->r;
    if (term < r->meta.term) {
        peer_fail(f->c, KV__ERROR__CODE__STALE_TERM,
                  "primary %s:%d is in term %" PRIu64 ", older than this node's %" PRIu64,
                  f->host, f->port, term, r->meta.term);
        return -1;
    }
    if (term > r->meta.term && repl_adopt_term(r, term) < 0) {
        drop_link(f);
        return -1;
    }
    return 0;
}

static void on_challenge(follower *f, Kv__Challenge *ch)
{
    repl *r = f->r;
    if (ch->version != REPL_VERSION) {
        peer_fail(f->c, KV__ERROR__CODE__VERSION,
                  "primary speaks replication protocol version %u, this node speaks %u",
                  ch->version, REPL_VERSION);
        return;
    }
    if (check_term(f, ch->term) < 0)
        return;
    if (ch->secret_required && !repl_has_secret(r)) {
        peer_fail(f->c, KV__ERROR__CODE__AUTH, "the primary requires a cluster-secret");
        return;
    }
    snprintf(f->primary_id, sizeof f->primary_id, "%s", ch->node_id ? ch->node_id : "");
    engine *e = r->eng;
    wal *w = engine_wal(e);
    engine_flush(e); /* the Hello reports what is durable */
    size_t nh;
    const wal_term_start *hist = wal_history(w, &nh);
    Kv__TermStart *ts = kv_calloc(nh ? nh : 1, sizeof *ts);
    Kv__TermStart **tp = kv_calloc(nh ? nh : 1, sizeof *tp);
    for (size_t i = 0; i < nh; i++) {
        kv__term_start__init(&ts[i]);
        ts[i].term = hist[i].term;
        ts[i].first_lsn = hist[i].first_lsn;
        tp[i] = &ts[i];
    }
    Kv__Hello h = KV__HELLO__INIT;
    h.version = REPL_VERSION;
    h.node_id = r->meta.node_id;
    h.term = r->meta.term;
    h.last_lsn = wal_last_lsn(w);
    h.last_term = wal_last_term(w);
    h.history = tp;
    h.n_history = nh;
    h.applied_lsn = r->applied_lsn;
    h.client_port = (uint32_t)r->cfg.client_port;
    uint8_t mac[32];
    if (repl_has_secret(r) && ch->nonce.len == REPL_NONCE_LEN) {
        repl_auth_mac(r, ch->nonce.data, r->meta.node_id, mac);
        h.hmac.data = mac;
        h.hmac.len = sizeof mac;
    }
    if (f->snap_fd > 0 && f->snap_off) {
        h.resume_snapshot_lsn = f->snap_lsn;
        h.resume_snapshot_bytes = f->snap_off;
    }
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_HELLO;
    m.hello = &h;
    peer_send(f->c, &m);
    kv_free(ts);
    kv_free(tp);
}

/* Forget everything local: the next handshake starts from an empty log. */
static void wipe(follower *f)
{
    repl *r = f->r;
    char err[256];
    log_warn("replica state cannot be rebuilt from disk: discarding it for a full resync");
    if (engine_wipe(r->eng, err, sizeof err) != 0)
        log_warn("discarding local state: %s", err);
    r->applied_lsn = 0;
    kbuf_reset(&f->queue);
    f->queue_dropped = 1;
}

static void open_snapshot_tmp(follower *f, uint64_t lsn, uint64_t offset)
{
    engine *e = f->r->eng;
    if (f->snap_fd > 0 && (f->snap_lsn != lsn || f->snap_off != offset)) {
        close(f->snap_fd);
        f->snap_fd = 0;
    }
    if (f->snap_fd <= 0) {
        snprintf(f->snap_tmp, sizeof f->snap_tmp, "%s/snap-recv-%020" PRIu64 ".tmp",
                 engine_dir(e), lsn);
        f->snap_fd = open(f->snap_tmp, O_WRONLY | O_CREAT | (offset ? 0 : O_TRUNC), 0644);
        f->snap_off = offset;
    }
    f->snap_lsn = lsn;
}

static void on_welcome(follower *f, Kv__Welcome *w)
{
    repl *r = f->r;
    engine *e = r->eng;
    if (check_term(f, w->term) < 0)
        return;
    f->commit_lsn = w->commit_lsn;
    f->backoff_ms = 0;
    char err[512];
    switch (w->mode) {
    case KV__WELCOME__MODE__CONTINUE:
        if (w->next_lsn != engine_last_lsn(e) + 1) {
            peer_fail(f->c, KV__ERROR__CODE__PROTOCOL,
                      "primary continues at LSN %" PRIu64 " but this log ends at %" PRIu64,
                      w->next_lsn, engine_last_lsn(e));
            return;
        }
        break;
    case KV__WELCOME__MODE__TRUNCATE: {
        int reload = r->applied_lsn > w->truncate_lsn;
        log_notice("primary asks to cut this log after LSN %" PRIu64 "%s", w->truncate_lsn,
                   reload ? " (rebuilding the keyspace)" : "");
        int rc = engine_truncate(e, w->truncate_lsn, reload, err, sizeof err);
        if (rc == KVE_NOTFOUND || (rc && reload)) {
            wipe(f);
            drop_link(f);
            return;
        }
        if (rc) {
            log_warn("truncating the log: %s", err);
            drop_link(f);
            return;
        }
        if (reload)
            repl_applied(r, w->truncate_lsn);
        kbuf_reset(&f->queue);
        f->queue_dropped = 1;
        break;
    }
    case KV__WELCOME__MODE__SNAPSHOT:
        open_snapshot_tmp(f, w->snapshot_lsn, w->snapshot_offset);
        if (f->snap_fd < 0) {
            log_warn("cannot create %s: %s", f->snap_tmp, strerror(errno));
            f->snap_fd = 0;
            drop_link(f);
            return;
        }
        f->snap_term = w->snapshot_term;
        f->snap_size = w->snapshot_size;
        f->state = LINK_SNAPSHOT;
        log_notice("receiving a snapshot at LSN %" PRIu64 " (%" PRIu64 " bytes) from %s:%d",
                   w->snapshot_lsn, w->snapshot_size, f->host, f->port);
        return;
    default:
        peer_fail(f->c, KV__ERROR__CODE__PROTOCOL, "unknown welcome mode %d", (int)w->mode);
        return;
    }
    f->state = LINK_STREAM;
    f->link_down_since_ms = 0;
    log_notice("replicating from %s:%d from LSN %" PRIu64 " (term %" PRIu64 ")", f->host,
               f->port, engine_last_lsn(e) + 1, r->meta.term);
    send_ack(f);
    apply_committed(f);
}

static void on_chunk(follower *f, Kv__SnapshotChunk *ch)
{
    repl *r = f->r;
    if (f->state != LINK_SNAPSHOT || ch->snapshot_lsn != f->snap_lsn ||
        ch->offset != f->snap_off) {
        peer_fail(f->c, KV__ERROR__CODE__PROTOCOL, "unexpected snapshot chunk at %" PRIu64,
                  ch->offset);
        return;
    }
    if (crc32c(0, ch->data.data, ch->data.len) != ch->crc) {
        peer_fail(f->c, KV__ERROR__CODE__PROTOCOL, "snapshot chunk checksum mismatch");
        return;
    }
    const uint8_t *p = ch->data.data;
    size_t left = ch->data.len;
    off_t off = (off_t)ch->offset;
    while (left) {
        ssize_t n = pwrite(f->snap_fd, p, left, off);
        if (n <= 0) {
            log_warn("writing %s: %s", f->snap_tmp, strerror(errno));
            drop_link(f);
            return;
        }
        p += n;
        left -= (size_t)n;
        off += n;
    }
    f->snap_off += ch->data.len;
    if (!ch->last)
        return;
    int rc = fsync(f->snap_fd);
    close(f->snap_fd);
    f->snap_fd = 0;
    f->snap_off = 0;
    char err[512];
    if (rc == 0)
        rc = engine_install_snapshot(r->eng, f->snap_tmp, f->snap_lsn, f->snap_term, err,
                                     sizeof err);
    else
        snprintf(err, sizeof err, "fsync: %s", strerror(errno));
    if (rc) {
        log_warn("installing the snapshot from %s:%d failed: %s", f->host, f->port, err);
        unlink(f->snap_tmp);
        drop_link(f);
        return;
    }
    repl_applied(r, f->snap_lsn);
    kbuf_reset(&f->queue);
    f->queue_dropped = 0;
    f->state = LINK_STREAM;
    f->link_down_since_ms = 0;
    send_ack(f);
}

static void on_entries(follower *f, Kv__Entries *e)
{
    repl *r = f->r;
    engine *eng = r->eng;
    wal *w = engine_wal(eng);
    if (f->state != LINK_STREAM) {
        peer_fail(f->c, KV__ERROR__CODE__PROTOCOL, "entries before the handshake finished");
        return;
    }
    if (check_term(f, e->term) < 0)
        return;
    if (e->prev_lsn != wal_last_lsn(w) ||
        (e->prev_lsn && e->prev_term != wal_last_term(w))) {
        peer_fail(f->c, KV__ERROR__CODE__LOG_MISMATCH,
                  "entries follow LSN %" PRIu64 "/term %" PRIu64 " but this log ends at %" PRIu64
                  "/%" PRIu64,
                  e->prev_lsn, e->prev_term, wal_last_lsn(w), wal_last_term(w));
        return;
    }
    if (kbuf_len(&f->queue) == 0 && !f->queue_dropped)
        f->queue_first = e->prev_lsn + 1;
    size_t off = 0;
    while (off < e->records.len) {
        wal_record rec;
        long n = wal_decode_record(e->records.data + off, e->records.len - off, &rec);
        if (n <= 0) {
            peer_fail(f->c, KV__ERROR__CODE__PROTOCOL, "invalid record at byte %zu of a batch",
                      off);
            return;
        }
        int rc = engine_append_raw(eng, rec.raw, rec.raw_len);
        if (rc) {
            peer_fail(f->c, KV__ERROR__CODE__LOG_MISMATCH, "cannot store LSN %" PRIu64 ": %s",
                      rec.lsn, kve_str(rc));
            return;
        }
        if (!f->queue_dropped) {
            if (kbuf_len(&f->queue) + (size_t)n > REPL_APPLY_QUEUE_MAX) {
                f->queue_dropped = 1;
                kbuf_reset(&f->queue);
            } else {
                kbuf_append(&f->queue, rec.raw, rec.raw_len);
            }
        }
        off += (size_t)n;
    }
    if (e->commit_lsn > f->commit_lsn)
        f->commit_lsn = e->commit_lsn;
    apply_committed(f);
}

static int link_on_message(peer_conn *c, Kv__PeerMessage *m)
{
    follower *f = c->owner;
    int rc = 0;
    if (!f) {
        kv__peer_message__free_unpacked(m, NULL);
        return -1;
    }
    f->last_io_ms = repl_now_ms();
    switch (m->msg_case) {
    case KV__PEER_MESSAGE__MSG_CHALLENGE:
        if (f->state != LINK_HANDSHAKE)
            goto unexpected;
        on_challenge(f, m->challenge);
        break;
    case KV__PEER_MESSAGE__MSG_WELCOME:
        if (f->state != LINK_HANDSHAKE)
            goto unexpected;
        on_welcome(f, m->welcome);
        break;
    case KV__PEER_MESSAGE__MSG_SNAPSHOT_CHUNK:
        on_chunk(f, m->snapshot_chunk);
        break;
    case KV__PEER_MESSAGE__MSG_ENTRIES:
        on_entries(f, m->entries);
        break;
    case KV__PEER_MESSAGE__MSG_HEARTBEAT:
        if (f->state != LINK_STREAM && f->state != LINK_SNAPSHOT)
            goto unexpected;
        if (check_term(f, m->heartbeat->term) < 0)
            break;
        if (m->heartbeat->commit_lsn > f->commit_lsn)
            f->commit_lsn = m->heartbeat->commit_lsn;
        apply_committed(f);
        send_ack(f);
        break;
    case KV__PEER_MESSAGE__MSG_PUBLISH:
        on_publish(f, m->publish);
        break;
    case KV__PEER_MESSAGE__MSG_ERROR:
        log_warn("primary %s:%d refused replication: %s", f->host, f->port,
                 m->error->message ? m->error->message : "error");
        if (m->error->term > f->r->meta.term)
            repl_adopt_term(f->r, m->error->term);
        peer_close(c);
        rc = -1;
        break;
    default:
    unexpected:
        peer_fail(c, KV__ERROR__CODE__PROTOCOL, "unexpected message %d in state %s",
                  (int)m->msg_case, state_names[f->state]);
        rc = -1;
        break;
    }
    kv__peer_message__free_unpacked(m, NULL);
    return rc;
}
