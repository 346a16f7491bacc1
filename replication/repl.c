/* repl.c — the replication module: role, term, peer listener, commit
 * point, and what INFO and ROLE say (see repl.h).
 *
 * Roles:
 *
 *   primary --REPLICAOF host port--> replica --REPLICAOF NO ONE--> primary (term + 1)
 *      |                                 ^
 *      +--a peer shows a newer term------+ (stepped down: no writes until
 *                                           REPLICAOF or promotion)
 *
 * A node starts as a replica when replicaof is configured, else as a
 * primary. The term is persisted (meta.c) before the node acts in it. */
#include "repl_int.h"

#include "err.h"
#include "hmac.h"
#include "log.h"
#include "mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t repl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* Terms and identity                                                        */
/* ------------------------------------------------------------------------ */

int repl_adopt_term(repl *r, uint64_t term)
{
    if (term <= r->meta.term)
        return 0;
    node_meta m = r->meta;
    m.term = term;
    m.voted_for[0] = '\0';
    char err[256];
    if (meta_store(engine_dir(r->eng), &m, err, sizeof err) != 0) {
        log_warn("cannot persist term %" PRIu64 ": %s", term, err);
        return -1;
    }
    log_notice("term %" PRIu64 " -> %" PRIu64, r->meta.term, term);
    r->meta = m;
    engine_set_term(r->eng, term);
    return 0;
}

uint64_t repl_term(const repl *r)
{
    return r->meta.term;
}

int repl_stale_primary(const repl *r)
{
    return r->stepped_down;
}

const char *repl_node_id(const repl *r)
{
    return r->meta.node_id;
}

int repl_has_secret(const repl *r)
{
    return r->cfg.cluster_secret[0] != '\0';
}

void repl_auth_mac(repl *r, const uint8_t *nonce, const char *node_id, uint8_t out[32])
{
    const char *secret = r->cfg.cluster_secret;
    /* HMAC-SHA256(secret, nonce || node_id) */
    size_t idlen = strlen(node_id);
    uint8_t *msg = kv_malloc(REPL_NONCE_LEN + idlen + 1);
    memcpy(msg, nonce, REPL_NONCE_LEN);
    memcpy(msg + REPL_NONCE_LEN, node_id, idlen);
    hmac_sha256(secret, strlen(secret), msg, REPL_NONCE_LEN, msg + REPL_NONCE_LEN, idlen, out);
    kv_free(msg);
}

/* ------------------------------------------------------------------------ */
/* Commit point                                                              */
/* ------------------------------------------------------------------------ */

static int good(const repl *r, const session *s, int64_t now)
{
    return s->state == SESS_STREAM && !s->c.closing &&
           now - s->last_ack_ms <= r->cfg.repl_timeout_ms;
}

int repl_good_replicas(const repl *r)
{
    int64_t now = repl_now_ms();
    int n = 0;
    for (const session *s = r->sessions; s; s = s->next)
        n += good(r, s, now);
    return n;
}

int repl_replicas_at(const repl *r, uint64_t lsn)
{
    int n = 0;
    for (const session *s = r->sessions; s; s = s->next)
        n += s->state == SESS_STREAM && !s->c.closing && s->durable_lsn >= lsn;
    return n;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static uint64_t compute_commit(const repl *r)
{
    uint64_t local = engine_durable_lsn(r->eng);
    int k = r->cfg.min_replicas_ack;
    if (r->fol || k <= 0)
        return local;
    uint64_t acks[64];
    int n = 0;
    for (const session *s = r->sessions; s && n < 64; s = s->next)
        if (s->state == SESS_STREAM && !s->c.closing)
            acks[n++] = s->durable_lsn;
    if (n < k)
        return r->commit_lsn; /* not enough replicas: no progress */
    qsort(acks, (size_t)n, sizeof *acks, cmp_desc);
    uint64_t kth = acks[k - 1];
    return kth < local ? kth : local;
}

uint64_t repl_commit_lsn(repl *r)
{
    uint64_t c = compute_commit(r);
    if (c > r->commit_lsn)
        r->commit_lsn = c;
    return r->commit_lsn;
}

int repl_is_replica(const repl *r)
{
    return r->fol != NULL;
}

void repl_commit_changed(repl *r)
{
    r->host.commit_advanced(r->host.arg);
}

void repl_applied(repl *r, uint64_t lsn)
{
    r->applied_lsn = lsn;
}

void repl_update_pins(repl *r)
{
    engine_pin_wal(r->eng, primary_wal_needed(r));
}

void repl_on_durable(repl *r)
{
    if (r->fol)
        follower_on_durable(r->fol);
}

/* ------------------------------------------------------------------------ */
/* Loop hooks                                                                */
/* ------------------------------------------------------------------------ */

static void on_tap(void *arg, const uint8_t *rec, size_t len, uint64_t lsn)
{
    repl *r = arg;
    if (!r->fol && r->sessions)
        primary_on_append(r, rec, len, lsn);
}

static void on_check(uv_check_t *h)
{
    repl *r = h->data;
    if (!r->fol && r->sessions)
        primary_flush(r);
}

static void on_timer(uv_timer_t *t)
{
    repl *r = t->data;
    if (!r->fol)
        primary_tick(r);
    repl_update_pins(r);
}

static void on_snapshot(void *arg, uint64_t lsn)
{
    repl *r = arg;
    if (!r->fol)
        primary_on_snapshot(r, lsn);
}

static void on_peer_connection(uv_stream_t *l, int status)
{
    repl *r = l->data;
    if (status < 0 || r->shutting_down)
        return;
    primary_accept(r, l);
}

static int listen_peer(repl *r, char *err, size_t errlen)
{
    int n = r->cfg.nbind;
    r->peer_port = r->cfg.peer_port;
    if (n <= 0 || r->peer_port <= 0 || r->peer_port > 65535)
        return kve_fmt(err, errlen, KVE_INVAL, "no peer port (set port or peer-port)");
    r->listeners = kv_calloc((size_t)n, sizeof *r->listeners);
    for (int i = 0; i < n; i++) {
        const char *addr = r->cfg.bind[i];
        struct sockaddr_storage ss;
        int v6 = strchr(addr, ':') != NULL;
        int rc = v6 ? uv_ip6_addr(addr, r->peer_port, (struct sockaddr_in6 *)&ss)
                    : uv_ip4_addr(addr, r->peer_port, (struct sockaddr_in *)&ss);
        if (rc < 0)
            return kve_fmt(err, errlen, KVE_INVAL, "invalid peer address '%s'", addr);
        uv_tcp_t *t = &r->listeners[r->nlisteners++];
        uv_tcp_init(r->loop, t);
        t->data = r;
        rc = uv_tcp_bind(t, (struct sockaddr *)&ss, v6 ? UV_TCP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)t, r->cfg.tcp_backlog, on_peer_connection);
        if (rc < 0)
            return kve_fmt(err, errlen, KVE_IO, "cannot listen on peer port %s:%d: %s",
                           addr, r->peer_port, uv_strerror(rc));
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Roles                                                                     */
/* ------------------------------------------------------------------------ */

/* Tell the server the role (it keeps CONFIG GET replicaof) and remember
 * whom this node follows in the meta file, so a restarted replica stays a
 * replica instead of starting as a second primary. */
static void set_role(repl *r, const char *host, int port)
{
    char v[300] = "";
    if (host)
        snprintf(v, sizeof v, "%s %d", host, port);
    r->host.role_changed(r->host.arg, host != NULL, host, port);
    if (strcmp(r->meta.following, v) != 0) {
        node_meta m = r->meta;
        snprintf(m.following, sizeof m.following, "%s", v);
        char err[256];
        if (meta_store(engine_dir(r->eng), &m, err, sizeof err) != 0)
            log_warn("cannot remember the primary in the meta file: %s", err);
        else
            r->meta = m;
    }
}

static void become_replica(repl *r, const char *host, int port)
{
    primary_close_all(r);
    if (r->fol)
        follower_free(r->fol);
    /* Everything in the keyspace counts as applied (a former primary
     * applied its own entries as it logged them). */
    r->applied_lsn = engine_last_lsn(r->eng);
    r->fol = follower_new(r, host, port);
    r->stepped_down = 0;
    log_set_role('S');
    set_role(r, host, port);
    /* Replies held for entries this node may never commit now. */
    r->host.fail_pending(r->host.arg);
    log_notice("now a replica of %s:%d", host, port);
}

int repl_replicaof(repl *r, const char *host, int port, char *err, size_t errlen)
{
    if (r->fol && !strcmp(r->fol->host, host) && r->fol->port == port)
        return 1; /* already */
    if (port <= 0 || port > 65535 - 10000) {
        snprintf(err, errlen, "ERR Invalid master port");
        return -1;
    }
    become_replica(r, host, port);
    return 0;
}

int repl_promote(repl *r, char *err, size_t errlen)
{
    engine *e = r->eng;
    if (!r->fol && !r->stepped_down)
        return 0;
    if (r->fol) {
        follower_free(r->fol);
        r->fol = NULL;
    }
    /* The log is now the truth: make it durable and apply all of it. */
    if (engine_flush(e) != 0) {
        snprintf(err, errlen, "ERR the WAL failed: cannot promote");
        return -1;
    }
    wal *w = engine_wal(e);
    if (r->applied_lsn < wal_last_lsn(w)) {
        wal_cursor cur = {r->applied_lsn + 1, 0, 0};
        wal_rbuf buf = {0};
        char why[256];
        while (r->applied_lsn < wal_last_lsn(w)) {
            buf.len = 0;
            long n = wal_read(engine_dir(e), &cur, wal_last_lsn(w), 4 << 20, &buf, why,
                              sizeof why);
            if (n <= 0) {
                wal_rbuf_free(&buf);
                snprintf(err, errlen, "ERR cannot apply the log before promotion: %s",
                         n ? why : "records missing");
                return -1;
            }
            size_t off = 0;
            while (off < buf.len) {
                wal_record rec;
                long m = wal_decode_record(buf.p + off, buf.len - off, &rec);
                if (engine_apply_record(e, &rec, why, sizeof why) != 0) {
                    wal_rbuf_free(&buf);
                    snprintf(err, errlen, "ERR applying LSN %" PRIu64 ": %s", rec.lsn, why);
                    return -1;
                }
                r->applied_lsn = rec.lsn;
                off += (size_t)m;
            }
        }
        wal_rbuf_free(&buf);
    }
    uint64_t term = r->meta.term;
    if (wal_last_term(w) > term)
        term = wal_last_term(w);
    if (repl_adopt_term(r, term + 1) < 0) {
        snprintf(err, errlen, "ERR cannot persist the new term");
        return -1;
    }
    r->stepped_down = 0;
    log_set_role('M');
    set_role(r, NULL, 0);
    /* The new primary's first entry in its term. */
    engine_log_noop(e);
    log_notice("promoted to primary in term %" PRIu64 " at LSN %" PRIu64, r->meta.term,
               engine_last_lsn(e));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Startup and shutdown                                                      */
/* ------------------------------------------------------------------------ */

void repl_reconfigure(repl *r, const repl_config *cfg)
{
    r->cfg.repl_timeout_ms = cfg->repl_timeout_ms;
    r->cfg.min_replicas_ack = cfg->min_replicas_ack;
    r->cfg.retention_bytes = cfg->retention_bytes;
}

int repl_init(repl **out, uv_loop_t *loop, engine *eng, const repl_config *cfg,
              const repl_host *host, char *err, size_t errlen)
{
    repl *r = kv_calloc(1, sizeof *r);
    r->cfg = *cfg;
    r->host = *host;
    r->loop = loop;
    r->eng = eng;
    *out = r;
    int rc = meta_load(engine_dir(eng), cfg->node_id, &r->meta, err, errlen);
    if (rc)
        return rc;
    wal *w = engine_wal(eng);
    if (wal_last_term(w) > r->meta.term && repl_adopt_term(r, wal_last_term(w)) < 0)
        return kve_fmt(err, errlen, KVE_IO, "cannot persist the term");
    char host_buf[256] = "";
    int port = 0;
    if (cfg->replicaof_host[0]) {
        snprintf(host_buf, sizeof host_buf, "%s", cfg->replicaof_host);
        port = cfg->replicaof_port;
    } else if (r->meta.following[0]) {
        log_notice("this node was a replica of %s when it stopped: it follows it again (REPLICAOF "
                   "NO ONE makes it a primary)",
                   r->meta.following);
        if (sscanf(r->meta.following, "%255s %d", host_buf, &port) != 2)
            return kve_fmt(err, errlen, KVE_CORRUPT, "meta file: bad primary '%s'",
                           r->meta.following);
    }
    int replica = host_buf[0] != '\0';
    /* A node that starts as a primary goes on leading the term it led when
     * it stopped (a node that was a replica restarts as one, above; only
     * promotion starts a term). A brand new node starts term 1. */
    if (!replica && r->meta.term == 0 && repl_adopt_term(r, 1) < 0)
        return kve_fmt(err, errlen, KVE_IO, "cannot persist the term");
    engine_set_term(eng, r->meta.term);
    r->applied_lsn = engine_last_lsn(eng);
    r->commit_lsn = engine_durable_lsn(eng);
    rc = listen_peer(r, err, errlen);
    if (rc)
        return rc;
    wal_set_tap(w, on_tap, r);
    engine_on_snapshot(eng, on_snapshot, r);
    uv_check_init(loop, &r->check);
    r->check.data = r;
    uv_check_start(&r->check, on_check);
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, on_timer, REPL_HEARTBEAT_MS, REPL_HEARTBEAT_MS);
    r->handles_open = 2;
    if (replica) {
        become_replica(r, host_buf, port);
    } else {
        log_set_role('M');
    }
    log_notice("node %s, term %" PRIu64 ", peer port %d", r->meta.node_id, r->meta.term,
               r->peer_port);
    return 0;
}

static void handle_closed(uv_handle_t *h)
{
    (void)h;
}

void repl_shutdown(repl *r)
{
    if (!r || r->shutting_down)
        return;
    r->shutting_down = 1;
    primary_close_all(r);
    if (r->fol) {
        follower_free(r->fol);
        r->fol = NULL;
    }
    for (int i = 0; i < r->nlisteners; i++)
        uv_close((uv_handle_t *)&r->listeners[i], handle_closed);
    if (r->handles_open) {
        uv_close((uv_handle_t *)&r->check, handle_closed);
        uv_close((uv_handle_t *)&r->timer, handle_closed);
        r->handles_open = 0;
    }
    wal_set_tap(engine_wal(r->eng), NULL, NULL);
    engine_on_snapshot(r->eng, NULL, NULL);
}

void repl_free(repl *r)
{
    if (!r)
        return;
    kv_free(r->listeners);
    kv_free(r);
}

/* ------------------------------------------------------------------------ */
/* ROLE and INFO                                                             */
/* ------------------------------------------------------------------------ */

void repl_role_reply(repl *r, reply *rp)
{
    if (r->fol) {
        follower *f = r->fol;
        reply_array(rp, 5);
        reply_bulk_cstr(rp, "slave");
        reply_bulk_cstr(rp, f->host);
        reply_int(rp, f->port);
        reply_bulk_cstr(rp, follower_state_name(f));
        reply_int(rp, (long long)engine_last_lsn(r->eng));
        return;
    }
    int n = 0;
    for (session *s = r->sessions; s; s = s->next)
        n += s->state != SESS_HANDSHAKE && !s->c.closing;
    reply_array(rp, 3);
    reply_bulk_cstr(rp, "master");
    reply_int(rp, (long long)engine_last_lsn(r->eng));
    reply_array(rp, n);
    for (session *s = r->sessions; s; s = s->next) {
        if (s->state == SESS_HANDSHAKE || s->c.closing)
            continue;
        char port[16], off[32];
        snprintf(port, sizeof port, "%d", s->client_port);
        snprintf(off, sizeof off, "%" PRIu64, s->durable_lsn);
        reply_array(rp, 3);
        reply_bulk_cstr(rp, s->ip);
        reply_bulk_cstr(rp, port);
        reply_bulk_cstr(rp, off);
    }
}

static const char *session_state(const session *s)
{
    switch (s->state) {
    case SESS_HANDSHAKE: return "handshake";
    case SESS_SNAP_WAIT: return "wait_bgsave";
    case SESS_SNAP_SEND: return "send_bulk";
    default: return "online";
    }
}

void repl_info(repl *r, kbuf *b)
{
    engine *e = r->eng;
    wal *w = engine_wal(e);
    int64_t now = repl_now_ms();
    if (r->fol) {
        follower *f = r->fol;
        int up = f->state == LINK_STREAM;
        kbuf_printf(b, "role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\n", f->host, f->port);
        kbuf_printf(b, "master_link_status:%s\r\n", up ? "up" : "down");
        kbuf_printf(b, "master_last_io_seconds_ago:%lld\r\n",
                    f->last_io_ms ? (long long)((now - f->last_io_ms) / 1000) : -1LL);
        kbuf_printf(b, "master_sync_in_progress:%d\r\n", f->state == LINK_SNAPSHOT);
        kbuf_printf(b, "slave_read_repl_offset:%" PRIu64 "\r\n", wal_last_lsn(w));
        kbuf_printf(b, "slave_repl_offset:%" PRIu64 "\r\n", r->applied_lsn);
        if (f->state == LINK_SNAPSHOT)
            kbuf_printf(b, "master_sync_total_bytes:%" PRIu64 "\r\nmaster_sync_read_bytes:%" PRIu64
                           "\r\n",
                        f->snap_size, f->snap_off);
        if (!up)
            kbuf_printf(b, "master_link_down_since_seconds:%lld\r\n",
                        f->link_down_since_ms ? (long long)((now - f->link_down_since_ms) / 1000)
                                              : -1LL);
        kbuf_printf(b, "slave_priority:100\r\nslave_read_only:1\r\nreplica_announced:1\r\n");
        kbuf_printf(b, "master_node_id:%s\r\n", f->primary_id);
    } else {
        kbuf_printf(b, "role:master\r\n");
    }
    int n = 0;
    for (session *s = r->sessions; s; s = s->next)
        n += s->state != SESS_HANDSHAKE && !s->c.closing;
    kbuf_printf(b, "connected_slaves:%d\r\n", r->fol ? 0 : n);
    if (!r->fol) {
        int i = 0;
        for (session *s = r->sessions; s; s = s->next) {
            if (s->state == SESS_HANDSHAKE || s->c.closing)
                continue;
            kbuf_printf(b, "slave%d:ip=%s,port=%d,state=%s,offset=%" PRIu64 ",lag=%lld\r\n", i++,
                        s->ip, s->client_port, session_state(s), s->durable_lsn,
                        (long long)((now - s->last_ack_ms) / 1000));
        }
        kbuf_printf(b, "min_slaves_good_slaves:%d\r\n", repl_good_replicas(r));
    }
    kbuf_printf(b, "master_failover_state:no-failover\r\n");
    kbuf_printf(b, "master_replid:%s\r\n", r->fol ? r->fol->primary_id : r->meta.node_id);
    kbuf_printf(b, "master_replid2:0000000000000000000000000000000000000000\r\n");
    kbuf_printf(b, "master_repl_offset:%" PRIu64 "\r\n", wal_last_lsn(w));
    kbuf_printf(b, "second_repl_offset:-1\r\n");
    engine_stats st;
    engine_get_stats(e, &st);
    kbuf_printf(b, "repl_backlog_active:1\r\nrepl_backlog_size:%" PRIu64 "\r\n",
                r->cfg.retention_bytes);
    kbuf_printf(b, "repl_backlog_first_byte_offset:%" PRIu64 "\r\n", wal_first_lsn(w));
    kbuf_printf(b, "repl_backlog_histlen:%" PRIu64 "\r\n", st.wal.bytes);
    kbuf_printf(b, "node_id:%s\r\nterm:%" PRIu64 "\r\ncommit_lsn:%" PRIu64 "\r\n",
                r->meta.node_id, r->meta.term, r->commit_lsn);
    kbuf_printf(b, "applied_lsn:%" PRIu64 "\r\n", r->fol ? r->applied_lsn : wal_last_lsn(w));
    kbuf_printf(b, "min_replicas_ack:%d\r\npeer_port:%d\r\n", r->cfg.min_replicas_ack,
                r->peer_port);
    kbuf_printf(b, "stale_primary:%d\r\n", r->stepped_down);
    kbuf_printf(b, "sync_full:%" PRIu64 "\r\nsync_partial_ok:%" PRIu64
                   "\r\nsync_partial_err:%" PRIu64 "\r\n",
                r->sync_full, r->sync_partial_ok, r->sync_partial_err);
}

void repl_sync_stats(const repl *r, uint64_t *full, uint64_t *partial_ok, uint64_t *partial_err)
{
    *full = r->sync_full;
    *partial_ok = r->sync_partial_ok;
    *partial_err = r->sync_partial_err;
}
