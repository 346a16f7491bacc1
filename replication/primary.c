/* primary.c — the primary's side of replication: one session per replica
 * (states and modes in repl_int.h).
 *
 * Handshake. The primary sends a Challenge (a nonce and its term); the
 * replica answers Hello with its term, the end of its log and its log's
 * term history (and an HMAC when a cluster secret is set). The common
 * point of the two logs is found from the histories: for every term both
 * logs hold, they agree up to the end of the shorter run of that term (one
 * leader per term; Log Matching). Then:
 *   - the replica's log is a prefix of ours       -> CONTINUE after it
 *   - it has entries past the common point        -> TRUNCATE there, continue
 *   - what follows the common point is compacted  -> SNAPSHOT, continue after it
 *
 * Streaming. Entries frames carry WAL records exactly as stored, with the
 * (lsn, term) before them so the replica can check its log matches, and
 * the commit point so it knows what to apply. */
#include "repl_int.h"

#include "crc32c.h"
#include "err.h"
#include "hmac.h"
#include "log.h"
#include "mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

static void session_free(session *s)
{
    kbuf_free(&s->live);
    wal_rbuf_free(&s->rbuf);
    kv_free(s->snap_buf);
    kv_free(s);
}

static void unlink_session(session *s)
{
    repl *r = s->c.r;
    for (session **p = &r->sessions; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
}

static void close_snapshot_file(session *s)
{
    if (s->snap_fd > 0) {
        uv_fs_t req;
        uv_fs_close(NULL, &req, s->snap_fd, NULL);
        uv_fs_req_cleanup(&req);
        s->snap_fd = 0;
    }
}

static void session_closed(peer_conn *c)
{
    session *s = c->owner;
    repl *r = c->r;
    unlink_session(s);
    close_snapshot_file(s);
    log_notice("replica %s (%s) disconnected", s->c.addr, s->node_id[0] ? s->node_id : "?");
    if (s->reading || s->snap_io)
        s->dead = 1; /* a job still refers to s: it frees it */
    else
        session_free(s);
    /* At shutdown the engine may already be gone. */
    if (r->shutting_down)
        return;
    repl_update_pins(r);
    repl_commit_changed(r);
}

static int session_on_message(peer_conn *c, Kv__PeerMessage *m);

void primary_accept(repl *r, uv_stream_t *listener)
{
    session *s = kv_calloc(1, sizeof *s);
    peer_init(&s->c, r, s);
    s->c.on_message = session_on_message;
    s->c.on_closed = session_closed;
    s->created_ms = repl_now_ms();
    s->next = r->sessions;
    r->sessions = s;
    if (uv_accept(listener, (uv_stream_t *)&s->c.tcp) != 0 || peer_start_reading(&s->c) != 0) {
        peer_close(&s->c);
        return;
    }
    if (r->fol || r->stepped_down) {
        peer_fail(&s->c, KV__ERROR__CODE__NOT_PRIMARY, "this node is not a primary");
        return;
    }
    if (getrandom(s->nonce, sizeof s->nonce, 0) != (ssize_t)sizeof s->nonce)
        for (size_t i = 0; i < sizeof s->nonce; i++)
            s->nonce[i] = (uint8_t)rand();
    Kv__Challenge ch = KV__CHALLENGE__INIT;
    ch.version = REPL_VERSION;
    ch.nonce.data = s->nonce;
    ch.nonce.len = sizeof s->nonce;
    ch.node_id = r->meta.node_id;
    ch.term = r->meta.term;
    ch.secret_required = repl_has_secret(r);
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_CHALLENGE;
    m.challenge = &ch;
    peer_send(&s->c, &m);
    s->state = SESS_HANDSHAKE;
}

void primary_close_all(repl *r)
{
    for (session *s = r->sessions; s; s = s->next)
        peer_close(&s->c);
}

/* ------------------------------------------------------------------------ */
/* Handshake                                                                 */
/* ------------------------------------------------------------------------ */

/* Where term t's run ends in a log with history h[0..n) ending at last. */
static uint64_t run_end(const wal_term_start *h, size_t n, size_t i, uint64_t last)
{
    return i + 1 < n ? h[i + 1].first_lsn - 1 : last;
}

/* The highest LSN on which both logs agree (0: none known). */
static uint64_t common_point(const wal_term_start *p, size_t np, uint64_t plast,
                             Kv__TermStart **q, size_t nq, uint64_t qlast)
{
    uint64_t common = 0;
    for (size_t j = 0; j < nq; j++) {
        uint64_t qend = j + 1 < nq ? q[j + 1]->first_lsn - 1 : qlast;
        for (size_t i = 0; i < np; i++) {
            if (p[i].term != q[j]->term)
                continue;
            uint64_t pend = run_end(p, np, i, plast);
            uint64_t start = p[i].first_lsn > q[j]->first_lsn ? p[i].first_lsn : q[j]->first_lsn;
            uint64_t end = pend < qend ? pend : qend;
            if (start <= end && end > common)
                common = end;
        }
    }
    return common;
}

static void send_welcome(session *s, Kv__Welcome__Mode mode, uint64_t next, uint64_t cut)
{
    repl *r = s->c.r;
    Kv__Welcome w = KV__WELCOME__INIT;
    w.mode = mode;
    w.term = r->meta.term;
    w.next_lsn = next;
    w.truncate_lsn = cut;
    w.snapshot_lsn = s->snap_lsn;
    w.snapshot_term = s->snap_term;
    w.snapshot_size = s->snap_size;
    w.snapshot_offset = s->snap_off;
    w.commit_lsn = repl_commit_lsn(r);
    w.node_id = r->meta.node_id;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_WELCOME;
    m.welcome = &w;
    peer_send(&s->c, &m);
    s->sent_commit = w.commit_lsn;
}

/* Pick a snapshot the WAL continues from and start shipping it, or ask for
 * one and wait. */
static void start_snapshot(session *s, uint64_t resume_lsn, uint64_t resume_bytes)
{
    repl *r = s->c.r;
    uint64_t lsn, term;
    char path[4200];
    wal *w = engine_wal(r->eng);
    int have = engine_latest_snapshot(r->eng, &lsn, &term, path, sizeof path) == 0 &&
               lsn + 1 >= wal_first_lsn(w);
    if (!have) {
        s->state = SESS_SNAP_WAIT;
        char err[256];
        int rc = engine_bgsave(r->eng, err, sizeof err);
        if (rc != 0 && rc != KVE_BUSY)
            log_warn("replica %s needs a snapshot but none can be taken: %s", s->c.addr, err);
        log_notice("replica %s needs a snapshot: taking one", s->c.addr);
        return;
    }
    uv_fs_t req;
    int fd = uv_fs_open(NULL, &req, path, UV_FS_O_RDONLY, 0, NULL);
    uv_fs_req_cleanup(&req);
    if (fd < 0) {
        peer_fail(&s->c, KV__ERROR__CODE__INTERNAL, "open %s: %s", path, uv_strerror(fd));
        return;
    }
    uv_fs_fstat(NULL, &req, fd, NULL);
    s->snap_size = req.statbuf.st_size;
    uv_fs_req_cleanup(&req);
    s->snap_fd = fd;
    s->snap_lsn = lsn;
    s->snap_term = term;
    s->snap_off = resume_lsn == lsn && resume_bytes <= s->snap_size ? resume_bytes : 0;
    s->next_lsn = lsn + 1;
    s->state = SESS_SNAP_SEND;
    repl_update_pins(r);
    r->sync_full++;
    log_notice("replica %s: sending snapshot at LSN %" PRIu64 " (%" PRIu64 " bytes%s)",
               s->c.addr, lsn, s->snap_size, s->snap_off ? ", resumed" : "");
    send_welcome(s, KV__WELCOME__MODE__SNAPSHOT, lsn + 1, 0);
}

void primary_on_snapshot(repl *r, uint64_t lsn)
{
    (void)lsn;
    for (session *s = r->sessions; s; s = s->next)
        if (s->state == SESS_SNAP_WAIT && !s->c.closing)
            start_snapshot(s, 0, 0);
}

static void on_hello(session *s, Kv__Hello *h)
{
    repl *r = s->c.r;
    if (h->version != REPL_VERSION) {
        peer_fail(&s->c, KV__ERROR__CODE__VERSION,
                  "replica speaks replication protocol version %u, this node speaks %u",
                  h->version, REPL_VERSION);
        return;
    }
    if (repl_has_secret(r)) {
        uint8_t mac[32];
        repl_auth_mac(r, s->nonce, h->node_id ? h->node_id : "", mac);
        if (h->hmac.len != 32 || !hmac_equal(mac, h->hmac.data)) {
            peer_fail(&s->c, KV__ERROR__CODE__AUTH, "authentication failed (cluster-secret)");
            return;
        }
    }
    if (h->term > r->meta.term) {
        /* A replica from a newer term: this node is a stale primary. */
        repl_adopt_term(r, h->term);
        r->stepped_down = 1;
        log_warn("replica %s is in term %" PRIu64 ": this primary is stale and stops taking "
                 "writes until it is made a replica (REPLICAOF) or promoted again",
                 s->c.addr, h->term);
        peer_fail(&s->c, KV__ERROR__CODE__STALE_TERM, "this primary's term is older than yours");
        return;
    }
    snprintf(s->node_id, sizeof s->node_id, "%s", h->node_id ? h->node_id : "");
    s->client_port = (int)h->client_port;
    snprintf(s->ip, sizeof s->ip, "%s", s->c.addr);
    char *colon = strrchr(s->ip, ':');
    if (colon)
        *colon = '\0';
    s->durable_lsn = h->last_lsn;
    s->applied_lsn = h->applied_lsn;
    s->last_ack_ms = repl_now_ms();

    wal *w = engine_wal(r->eng);
    size_t np;
    const wal_term_start *p = wal_history(w, &np);
    uint64_t mylast = wal_last_lsn(w);
    uint64_t common =
        h->last_lsn ? common_point(p, np, mylast, h->history, h->n_history, h->last_lsn) : 0;
    uint64_t first = wal_first_lsn(w);
    log_notice("replica %s (%s) at LSN %" PRIu64 " term %" PRIu64
               "; our logs agree up to LSN %" PRIu64,
               s->c.addr, s->node_id, h->last_lsn, h->last_term, common);
    if (common + 1 < first) {
        if (h->last_lsn)
            r->sync_partial_err++;
        start_snapshot(s, h->resume_snapshot_lsn, h->resume_snapshot_bytes);
        return;
    }
    s->state = SESS_STREAM;
    s->mode = MODE_DISK;
    s->next_lsn = common + 1;
    s->durable_lsn = common;
    r->sync_partial_ok++;
    if (common < h->last_lsn)
        send_welcome(s, KV__WELCOME__MODE__TRUNCATE, common + 1, common);
    else
        send_welcome(s, KV__WELCOME__MODE__CONTINUE, common + 1, 0);
    repl_update_pins(r);
}

static void on_ack(session *s, Kv__Ack *a)
{
    if (a->durable_lsn > s->durable_lsn)
        s->durable_lsn = a->durable_lsn;
    s->applied_lsn = a->applied_lsn;
    s->last_ack_ms = repl_now_ms();
    repl_commit_changed(s->c.r);
}

static int session_on_message(peer_conn *c, Kv__PeerMessage *m)
{
    session *s = c->owner;
    repl *r = c->r;
    int rc = 0;
    uint64_t term = 0;
    switch (m->msg_case) {
    case KV__PEER_MESSAGE__MSG_HELLO:
        if (s->state != SESS_HANDSHAKE)
            goto unexpected;
        on_hello(s, m->hello);
        break;
    case KV__PEER_MESSAGE__MSG_ACK:
        term = m->ack->term;
        if (s->state == SESS_HANDSHAKE)
            goto unexpected;
        if (term > r->meta.term) {
            repl_adopt_term(r, term);
            r->stepped_down = 1;
            peer_fail(c, KV__ERROR__CODE__STALE_TERM, "replica moved to term %" PRIu64, term);
            rc = -1;
            break;
        }
        on_ack(s, m->ack);
        break;
    case KV__PEER_MESSAGE__MSG_ERROR:
        log_warn("replica %s: %s", c->addr, m->error->message ? m->error->message : "error");
        peer_close(c);
        rc = -1;
        break;
    default:
    unexpected:
        peer_fail(c, KV__ERROR__CODE__PROTOCOL, "unexpected message %d in state %d",
                  (int)m->msg_case, s->state);
        rc = -1;
        break;
    }
    kv__peer_message__free_unpacked(m, NULL);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Streaming                                                                 */
/* ------------------------------------------------------------------------ */

static void send_entries(session *s, const uint8_t *recs, size_t len, uint64_t first_lsn,
                         uint64_t count)
{
    repl *r = s->c.r;
    Kv__Entries e = KV__ENTRIES__INIT;
    e.term = r->meta.term;
    e.prev_lsn = first_lsn - 1;
    e.prev_term = e.prev_lsn ? wal_term_at(engine_wal(r->eng), e.prev_lsn) : 0;
    e.commit_lsn = repl_commit_lsn(r);
    e.records.data = (uint8_t *)recs;
    e.records.len = len;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_ENTRIES;
    m.entries = &e;
    peer_send(&s->c, &m);
    s->next_lsn = first_lsn + count;
    s->sent_commit = e.commit_lsn;
}

static void send_heartbeat(session *s)
{
    repl *r = s->c.r;
    Kv__Heartbeat hb = KV__HEARTBEAT__INIT;
    hb.term = r->meta.term;
    hb.commit_lsn = repl_commit_lsn(r);
    hb.last_lsn = wal_last_lsn(engine_wal(r->eng));
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_HEARTBEAT;
    m.heartbeat = &hb;
    peer_send(&s->c, &m);
    s->sent_commit = hb.commit_lsn;
}

void primary_on_append(repl *r, const uint8_t *rec, size_t len, uint64_t lsn)
{
    for (session *s = r->sessions; s; s = s->next) {
        if (s->state != SESS_STREAM || s->c.closing)
            continue;
        int collect = s->mode == MODE_LIVE || (s->live_from && lsn >= s->live_from);
        if (!collect)
            continue;
        if (!s->live_first) {
            uint64_t want = s->mode == MODE_LIVE ? s->next_lsn : s->live_from;
            if (lsn != want) {
                /* A gap would mean a lost record: fall back to the files. */
                s->mode = MODE_DISK;
                s->live_from = 0;
                continue;
            }
            s->live_first = lsn;
        }
        if (kbuf_len(&s->live) + len > REPL_LIVE_MAX) {
            /* Too far behind to keep in memory: read it back from disk. */
            kbuf_reset(&s->live);
            s->live_first = 0;
            s->live_from = 0;
            s->mode = MODE_DISK;
            continue;
        }
        kbuf_append(&s->live, rec, len);
    }
}

static void read_work(uv_work_t *req)
{
    session *s = req->data;
    s->rbuf.len = 0;
    s->read_rc = wal_read(engine_dir(s->c.r->eng), &s->cur, s->read_upto, REPL_CHUNK, &s->rbuf,
                          s->read_err, sizeof s->read_err);
}

static void read_done(uv_work_t *req, int status)
{
    session *s = req->data;
    s->reading = 0;
    if (s->dead) {
        session_free(s);
        return;
    }
    if (s->c.closing)
        return;
    if (status < 0 || s->read_rc == KVE_NOTFOUND) {
        peer_fail(&s->c, KV__ERROR__CODE__INTERNAL,
                  "LSN %" PRIu64 " is no longer in the WAL: reconnect for a snapshot",
                  s->cur.next_lsn);
        return;
    }
    if (s->read_rc < 0) {
        peer_fail(&s->c, KV__ERROR__CODE__INTERNAL, "reading the WAL: %s", s->read_err);
        return;
    }
    if (s->read_rc > 0)
        send_entries(s, s->rbuf.p, s->rbuf.len, s->next_lsn, (uint64_t)s->read_rc);
    if (!s->live_from)
        s->live_from = wal_last_lsn(engine_wal(s->c.r->eng)) + 1;
}

static void disk_step(session *s)
{
    repl *r = s->c.r;
    wal *w = engine_wal(r->eng);
    if (s->reading || peer_queued(&s->c) > REPL_SEND_HIGH)
        return;
    if (s->live_from && s->next_lsn == s->live_from) {
        /* The files got us to where the tap started collecting: go live. */
        s->mode = MODE_LIVE;
        s->live_from = 0;
        return;
    }
    if (s->next_lsn > wal_last_lsn(w)) {
        s->mode = MODE_LIVE;
        s->live_from = 0;
        kbuf_reset(&s->live);
        s->live_first = 0;
        return;
    }
    uint64_t upto = wal_written_lsn(w);
    if (s->live_from && s->live_from - 1 < upto)
        upto = s->live_from - 1;
    if (s->next_lsn > upto)
        return; /* the records exist but are not written yet */
    if (s->cur.next_lsn != s->next_lsn) {
        s->cur.next_lsn = s->next_lsn;
        s->cur.seg_first = 0;
        s->cur.offset = 0;
    }
    s->read_upto = upto;
    s->reading = 1;
    s->work.data = s;
    if (uv_queue_work(r->loop, &s->work, read_work, read_done) != 0)
        s->reading = 0;
}

static void live_step(session *s)
{
    repl *r = s->c.r;
    if (!kbuf_len(&s->live)) {
        if (s->sent_commit < repl_commit_lsn(r))
            send_heartbeat(s);
        return;
    }
    if (peer_queued(&s->c) > REPL_LIVE_MAX) {
        s->next_lsn = s->live_first;
        kbuf_reset(&s->live);
        s->live_first = 0;
        s->mode = MODE_DISK;
        return;
    }
    /* Count the records (they are back to back and valid: we made them). */
    uint64_t n = 0;
    size_t off = 0, len = kbuf_len(&s->live);
    const uint8_t *p = (const uint8_t *)kbuf_data(&s->live);
    while (off < len) {
        wal_record rec;
        long m = wal_decode_record(p + off, len - off, &rec);
        if (m <= 0)
            break;
        off += (size_t)m;
        n++;
    }
    send_entries(s, p, len, s->live_first, n);
    kbuf_reset(&s->live);
    s->live_first = 0;
}

/* ------------------------------------------------------------------------ */
/* Snapshot shipping                                                         */
/* ------------------------------------------------------------------------ */

static void snap_read_done(uv_fs_t *req)
{
    session *s = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    s->snap_io = 0;
    if (s->dead) {
        session_free(s);
        return;
    }
    if (s->c.closing)
        return;
    if (n < 0) {
        peer_fail(&s->c, KV__ERROR__CODE__INTERNAL, "reading the snapshot: %s",
                  uv_strerror((int)n));
        return;
    }
    int last = s->snap_off + (uint64_t)n >= s->snap_size;
    Kv__SnapshotChunk ch = KV__SNAPSHOT_CHUNK__INIT;
    ch.snapshot_lsn = s->snap_lsn;
    ch.offset = s->snap_off;
    ch.data.data = (uint8_t *)s->snap_buf;
    ch.data.len = (size_t)n;
    ch.crc = crc32c(0, s->snap_buf, (size_t)n);
    ch.last = last;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_SNAPSHOT_CHUNK;
    m.snapshot_chunk = &ch;
    peer_send(&s->c, &m);
    s->snap_off += (uint64_t)n;
    if (last) {
        close_snapshot_file(s);
        s->state = SESS_STREAM;
        s->mode = MODE_DISK;
        s->next_lsn = s->snap_lsn + 1;
        log_notice("replica %s: snapshot sent; streaming from LSN %" PRIu64, s->c.addr,
                   s->next_lsn);
    }
}

static void snap_step(session *s)
{
    if (s->snap_io || peer_queued(&s->c) > REPL_SEND_HIGH)
        return;
    if (!s->snap_buf)
        s->snap_buf = kv_malloc(REPL_CHUNK);
    uint64_t left = s->snap_size - s->snap_off;
    unsigned n = left < REPL_CHUNK ? (unsigned)left : REPL_CHUNK;
    uv_buf_t b = uv_buf_init(s->snap_buf, n);
    s->snap_req.data = s;
    s->snap_io = 1;
    if (uv_fs_read(s->c.r->loop, &s->snap_req, s->snap_fd, &b, 1, (int64_t)s->snap_off,
                   snap_read_done) != 0) {
        s->snap_io = 0;
        peer_fail(&s->c, KV__ERROR__CODE__INTERNAL, "cannot read the snapshot");
    }
}

/* ------------------------------------------------------------------------ */
/* Driving                                                                   */
/* ------------------------------------------------------------------------ */

void primary_flush(repl *r)
{
    for (session *s = r->sessions; s; s = s->next) {
        if (s->c.closing)
            continue;
        if (s->state == SESS_SNAP_SEND)
            snap_step(s);
        else if (s->state == SESS_STREAM && s->mode == MODE_LIVE)
            live_step(s);
        else if (s->state == SESS_STREAM) {
            disk_step(s);
            if (s->mode == MODE_LIVE)
                live_step(s);
        }
    }
}

void primary_tick(repl *r)
{
    int64_t now = repl_now_ms();
    int timeout = r->cfg.repl_timeout_ms;
    session *s = r->sessions, *next;
    for (; s; s = next) {
        next = s->next;
        if (s->c.closing)
            continue;
        if (now - s->c.last_recv_ms > timeout &&
            (s->state == SESS_STREAM || s->state == SESS_HANDSHAKE)) {
            log_warn("replica %s timed out (%d ms without a message)", s->c.addr, timeout);
            peer_close(&s->c);
            continue;
        }
        if (s->state == SESS_STREAM && now - s->c.last_send_ms >= REPL_HEARTBEAT_MS)
            send_heartbeat(s);
    }
}

uint64_t primary_wal_needed(repl *r)
{
    uint64_t need = 0;
    for (session *s = r->sessions; s; s = s->next) {
        if (s->c.closing || s->state == SESS_HANDSHAKE || s->state == SESS_SNAP_WAIT)
            continue;
        uint64_t n = s->next_lsn;
        if (n && (!need || n < need))
            need = n;
    }
    return need;
}

/* ------------------------------------------------------------------------ */
/* Pub/Sub                                                                   */
/* ------------------------------------------------------------------------ */

void repl_publish(repl *r, int shard, const char *ch, size_t chlen, const char *msg, size_t mlen,
                  uint64_t after_lsn)
{
    /* A replica refuses frames past FRAME_MAX_DEFAULT: a message that
     * would not fit stays on the primary. */
    if (chlen + mlen > FRAME_MAX_DEFAULT - 4096)
        return;
    Kv__Publish p = KV__PUBLISH__INIT;
    p.channel.data = (uint8_t *)ch;
    p.channel.len = chlen;
    p.message.data = (uint8_t *)msg;
    p.message.len = mlen;
    p.shard = shard != 0;
    p.after_lsn = after_lsn;
    Kv__PeerMessage m = KV__PEER_MESSAGE__INIT;
    m.msg_case = KV__PEER_MESSAGE__MSG_PUBLISH;
    m.publish = &p;
    for (session *s = r->sessions; s; s = s->next) {
        /* Only to replicas that are streaming and keeping up: a slow one
         * misses messages rather than making the primary buffer them. */
        if (s->state != SESS_STREAM || s->c.closing || peer_queued(&s->c) > REPL_SEND_HIGH)
            continue;
        /* Not a heartbeat: the replica answers heartbeats with acks, so a
         * stream of messages must not put them off. */
        int64_t last_send = s->c.last_send_ms;
        peer_send(&s->c, &m);
        s->c.last_send_ms = last_send;
    }
}
