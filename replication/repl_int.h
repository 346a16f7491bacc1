/* repl_int.h — shared between the replication files (repl.c, peer.c,
 * primary.c, follower.c); not for the rest of the server. */
#ifndef KV_REPL_INT_H
#define KV_REPL_INT_H

#include "engine.h"
#include "frame.h"
#include "meta.h"
#include "repl.h"
#include "wal.h"

#include <stdint.h>
#include <uv.h>

#define REPL_VERSION 1u
#define REPL_NONCE_LEN 32
#define REPL_HEARTBEAT_MS 100
#define REPL_CHUNK (1u << 20)          /* snapshot chunk and disk read size */
#define REPL_LIVE_MAX (16u << 20)      /* records buffered for a live replica */
#define REPL_SEND_HIGH (8u << 20)      /* pause reading WAL/snapshot above this queue */
#define REPL_APPLY_QUEUE_MAX (256u << 20)

/* ------------------------------------------------------------------------ */
/* A framed peer connection                                                  */
/* ------------------------------------------------------------------------ */

typedef struct peer_conn peer_conn;
struct peer_conn {
    uv_tcp_t tcp;
    frame_reader in;
    repl *r;
    int closing;
    char addr[64];
    int64_t last_recv_ms;
    int64_t last_send_ms;
    /* A message arrived; the callback owns m (free it). Return -1 to stop
     * reading (the connection is being closed). */
    int (*on_message)(peer_conn *c, Kv__PeerMessage *m);
    /* The connection is gone (after uv_close): the owner frees. */
    void (*on_closed)(peer_conn *c);
    void *owner;
};

void peer_init(peer_conn *c, repl *r, void *owner);
int peer_start_reading(peer_conn *c);
/* Queue one message. Returns 0, or -1 if the connection is closing. */
int peer_send(peer_conn *c, const Kv__PeerMessage *m);
/* Send an Error message (best effort) then close. */
void peer_fail(peer_conn *c, Kv__Error__Code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void peer_close(peer_conn *c);
size_t peer_queued(peer_conn *c);

/* ------------------------------------------------------------------------ */
/* Primary side: one session per connected replica                           */
/* ------------------------------------------------------------------------ */

/* Session states:
 *
 *   HANDSHAKE --Hello ok--> SNAP_WAIT --snapshot ready--> SNAP_SEND --last chunk--> STREAM
 *       |                       ^                                                   ^
 *       +--(log continues)------+-------------------------------------(CONTINUE/TRUNCATE)
 *
 * STREAM sends records in one of two modes: DISK reads them back from the
 * WAL files on the thread pool (a replica that is behind); LIVE takes them
 * from the WAL tap as they are appended (a replica that has caught up). A
 * live replica whose socket falls more than REPL_LIVE_MAX behind drops back
 * to DISK: the primary never buffers without bound for a slow replica. */
enum { SESS_HANDSHAKE, SESS_SNAP_WAIT, SESS_SNAP_SEND, SESS_STREAM };
enum { MODE_DISK, MODE_LIVE };

typedef struct session session;
struct session {
    peer_conn c;
    session *next;
    int state;
    int mode;
    uint8_t nonce[REPL_NONCE_LEN];
    char node_id[48];
    char ip[64];
    int client_port;
    uint64_t next_lsn;     /* next record to send */
    uint64_t durable_lsn;  /* replica's last ack */
    uint64_t applied_lsn;
    uint64_t sent_commit;  /* commit_lsn last told to it */
    int64_t last_ack_ms;
    int64_t created_ms;
    /* LIVE: records from the tap, not yet framed */
    kbuf live;
    uint64_t live_first;   /* LSN of the first record in live (0: empty) */
    uint64_t live_from;    /* in DISK mode: collect tapped records from here (0: no) */
    /* DISK: a read on the thread pool */
    uv_work_t work;
    int reading;
    wal_cursor cur;
    uint64_t read_upto;
    wal_rbuf rbuf;
    long read_rc;
    char read_err[160];
    /* snapshot shipping */
    uv_file snap_fd;
    uint64_t snap_lsn, snap_term, snap_size, snap_off;
    uv_fs_t snap_req;
    char *snap_buf;
    int snap_io;           /* a file operation is in flight */
    int dead;              /* closed while a job was in flight: free when it ends */
};

void primary_accept(repl *r, uv_stream_t *listener);
void primary_on_append(repl *r, const uint8_t *rec, size_t len, uint64_t lsn);
void primary_flush(repl *r);          /* end of loop iteration: send what is queued */
void primary_tick(repl *r);           /* heartbeats, timeouts */
void primary_on_snapshot(repl *r, uint64_t lsn);
void primary_close_all(repl *r);
/* The lowest LSN any session still needs from the WAL (0: none). */
uint64_t primary_wal_needed(repl *r);

/* ------------------------------------------------------------------------ */
/* Replica side: the link to the primary                                     */
/* ------------------------------------------------------------------------ */

/* Link states (Redis's names in ROLE):
 *
 *   CONNECT --timer--> CONNECTING --connected--> HANDSHAKE --Welcome--> SNAPSHOT --> STREAM
 *      ^                                  |            |                   |           |
 *      +---------- error, timeout, close (backoff) ----+-------------------+-----------+
 */
enum { LINK_IDLE, LINK_CONNECT, LINK_CONNECTING, LINK_HANDSHAKE, LINK_SNAPSHOT, LINK_STREAM };

typedef struct follower follower;
struct follower {
    repl *r;
    char host[256];
    int port;             /* the primary's client port */
    int peer_port;
    int state;
    peer_conn *c;         /* NULL when not connected */
    uv_timer_t timer;     /* reconnect backoff / handshake timeout */
    uv_getaddrinfo_t gai;
    int resolving;
    int timer_closed;
    uv_connect_t creq;
    int backoff_ms;
    int64_t link_down_since_ms;
    int64_t last_io_ms;
    uint64_t commit_lsn;  /* the primary's, as last told */
    uint64_t acked_lsn;   /* last durable LSN acked */
    /* records received, not yet applied (lsn applied+1 ..) */
    kbuf queue;
    uint64_t queue_first;
    int queue_dropped;    /* overflowed: apply from disk instead */
    /* snapshot being received */
    uv_file snap_fd;
    char snap_tmp[4200];
    uint64_t snap_lsn, snap_term, snap_size, snap_off;
    char primary_id[48];
};

follower *follower_new(repl *r, const char *host, int port);
void follower_free(follower *f); /* closes the link */
void follower_on_durable(follower *f);
const char *follower_state_name(const follower *f);

/* ------------------------------------------------------------------------ */
/* The module                                                                */
/* ------------------------------------------------------------------------ */

struct repl {
    repl_config cfg;
    repl_host host;
    uv_loop_t *loop;
    engine *eng;
    uint64_t commit_lsn;  /* last commit point handed out (never moves back) */
    node_meta meta;
    uv_tcp_t *listeners;
    int nlisteners;
    int peer_port;
    uv_check_t check;     /* end of loop iteration: flush sessions */
    uv_timer_t timer;     /* heartbeats, timeouts, retries */
    int handles_open;
    session *sessions;
    follower *fol;        /* set while this node is a replica */
    uint64_t applied_lsn; /* replica: last entry applied to the keyspace */
    int stepped_down;     /* a primary that saw a higher term: no writes */
    uint64_t sync_full, sync_partial_ok, sync_partial_err;
    int shutting_down;
    int snapshot_requested; /* a BGSAVE was started for a session */
};

int64_t repl_now_ms(void);
/* Adopt a higher term seen on the wire (persisted first). 0 or -1. */
int repl_adopt_term(repl *r, uint64_t term);
/* The replica side applied entries up to lsn. */
void repl_applied(repl *r, uint64_t lsn);
/* Recompute the commit point and release replies. */
void repl_commit_changed(repl *r);
/* HMAC of (nonce, node_id) under the cluster secret. */
void repl_auth_mac(repl *r, const uint8_t *nonce, const char *node_id, uint8_t out[32]);
int repl_has_secret(const repl *r);
/* Pin the WAL for every session that still needs it. */
void repl_update_pins(repl *r);

#endif
