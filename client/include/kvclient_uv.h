/* kvclient_uv.h — libkvclient's asynchronous client on a libuv loop.
 *
 * A kv_async is one connection driven by a uv_loop_t the caller owns and
 * runs. Commands are pipelined: each is written as soon as the connection
 * allows, and reply callbacks fire in the order the commands were issued.
 *
 * Callback rules (as in libuv's uv.h):
 *   - No callback is ever called from inside a kv_async_* call: all of them
 *     run from the loop.
 *   - If a call that takes a callback returns an error, that callback is
 *     never called.
 *   - Every accepted command's callback is called exactly once.
 *   - Closing from inside a callback is allowed; the library defers the
 *     teardown until its own frames have returned, and frees the handle
 *     only after the last callback (on_disconnect, or a failed on_connect)
 *     has returned. The handle must not be used after that.
 *
 * Lifetime:
 *
 *   kv_async_connect_* ──▶ connecting ──ok──▶ on_connect(0) ──▶ connected
 *                               │                                   │
 *                     fails / closed                  error, kv_async_close,
 *                               ▼                     or drained disconnect
 *            pending callbacks, then                               ▼
 *            on_connect(<0); freed               pending callbacks, then
 *                                                on_disconnect(status); freed
 *
 * The loop must keep running until then (uv_run() returns once the
 * handle's libuv handles are closed). */
#ifndef KVCLIENT_UV_H
#define KVCLIENT_UV_H

#include <uv.h>

#include "kvclient.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kv_async kv_async;

/* status 0: connected (and the AUTH/HELLO handshake done). status < 0:
 * connecting failed (KV_EADDR, KV_ECONNECT, KV_ETIMEDOUT, KV_EAUTH,
 * KV_EIO, or KV_ECANCELED after kv_async_close); ac is freed once this
 * returns. */
typedef void (*kv_async_connect_cb)(kv_async *ac, int status, void *data);

/* A connection that was established has ended. status 0: by
 * kv_async_close() or kv_async_disconnect(); < 0: KV_EIO (a socket error,
 * or the server closed the connection), KV_ETIMEDOUT (io_timeout_ms passed
 * with replies owed), KV_EPROTO or KV_ETOOBIG. ac is freed once this
 * returns. */
typedef void (*kv_async_disconnect_cb)(kv_async *ac, int status, void *data);

/* A command's outcome. status 0: reply is the server's reply, owned by the
 * callback (free it with kv_reply_free; a server error is a
 * KV_REPLY_ERROR reply). status < 0: reply is NULL and
 *   KV_ECANCELED  the command was never written: it certainly did not run;
 *   other codes   it was written (wholly or partly) and the connection
 *                 ended first, so it may or may not have run: KV_EUNKNOWN
 *                 when kv_async_close() ended it, else the reason the
 *                 connection failed (KV_EIO, KV_ETIMEDOUT, KV_EPROTO,
 *                 KV_ETOOBIG). */
typedef void (*kv_async_reply_cb)(kv_async *ac, int status, kv_reply *reply, void *privdata);

/* Start connecting to host:port (names are resolved on libuv's thread
 * pool; each address is tried in turn) within connect_timeout_ms. loop must
 * outlive the handle. opt is copied (NULL: defaults). on_connect and
 * on_disconnect may be NULL; data is passed to both. On success returns 0,
 * sets *out, and on_connect will be called exactly once. On failure
 * (KV_EINVAL, KV_ENOMEM, or a libuv error mapped to KV_EIO) nothing is
 * called and *out is untouched. Commands may be issued at once: they are
 * written after the connection is up and the handshake has succeeded. */
KV_EXTERN int kv_async_connect_tcp(kv_async **out, uv_loop_t *loop, const char *host, int port,
                                   const kv_options *opt, kv_async_connect_cb on_connect,
                                   kv_async_disconnect_cb on_disconnect, void *data);

/* Same for a Unix domain socket path. */
KV_EXTERN int kv_async_connect_unix(kv_async **out, uv_loop_t *loop, const char *path,
                                    const kv_options *opt, kv_async_connect_cb on_connect,
                                    kv_async_disconnect_cb on_disconnect, void *data);

/* Queue a command (arguments copied, binary safe; argvlen NULL for C
 * strings). cb may be NULL to discard the reply. Returns 0, KV_EINVAL,
 * KV_ENOMEM, or KV_ECLOSED once the handle is closing; on error cb is never
 * called.
 *
 * Pub/Sub needs RESP3 (kv_options.resp = 3): messages then arrive as pushes
 * at the push handler, and other commands can share the connection. In
 * RESP3 the server confirms SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their
 * UN- forms with one push per channel instead of a reply; such a command's
 * callback gets the last confirmation (its third element is the number of
 * subscriptions held afterwards), or the server's error. An UNSUBSCRIBE
 * without channels (every subscription) is refused with KV_EINVAL in RESP3:
 * name the channels. In RESP2 a subscribed connection can only be read by
 * the blocking kv_client. */
KV_EXTERN int kv_async_command(kv_async *ac, int argc, const char *const argv[],
                               const size_t argvlen[], kv_async_reply_cb cb, void *privdata);

/* Graceful close: refuse new commands, let every queued command get its
 * reply, then close (on_disconnect status 0). */
KV_EXTERN void kv_async_disconnect(kv_async *ac);

/* Immediate close: stop reading and writing now. Queued commands get
 * KV_ECANCELED (never written) or KV_EUNKNOWN (written, outcome unknown),
 * then on_disconnect(0) — or on_connect(KV_ECANCELED) if the connection
 * was not up yet. Calling it again, or on a closing handle, does nothing. */
KV_EXTERN void kv_async_close(kv_async *ac);

/* Set (or with fn NULL, remove) the RESP3 push handler (see kv_push_fn). */
KV_EXTERN void kv_async_set_push_handler(kv_async *ac, kv_push_fn fn, void *data);

/* Commands whose callbacks have not been called yet. */
KV_EXTERN size_t kv_async_pending(const kv_async *ac);

/* The data pointer given at connect. */
KV_EXTERN void *kv_async_data(const kv_async *ac);

/* Why the connection failed or ended ("" if it has not). Valid until the
 * handle is freed. */
KV_EXTERN const char *kv_async_errmsg(const kv_async *ac);

/* ------------------------------------------------------------------------ */
/* Following the primary: kv_watch                                          */
/* ------------------------------------------------------------------------ */

/* A kv_watch follows the primary of a kvnode cluster (or of a Redis
 * Sentinel deployment) on the caller's loop, and reports each change as it
 * happens, so an application can move its connections at once instead of
 * finding out from a failed command.
 *
 * It keeps one RESP3 connection to one seed at a time (seeds as for
 * kv_cluster_new: "host:port,host:port"; kvnode nodes or redis-sentinel
 * instances), subscribed to Sentinel's +switch-master channel, and asks
 * SENTINEL GET-MASTER-ADDR-BY-NAME master_name when it connects and every
 * KV_WATCH_POLL_MS after, so a change is seen within that time even if its
 * message was missed (say, during a reconnect). It moves to the next seed
 * when the connection fails, a reply takes longer than io_timeout_ms
 * (default for the watch: 2000 — a stopped or partitioned node), or the
 * seed cannot name a primary (a kvnode node names one only while it can
 * vouch for it: see FAILOVER.md §4); pauses between seeds follow
 * backoff_initial_ms/backoff_max_ms. Options used: connect_timeout_ms,
 * io_timeout_ms, user/password, master_name (required: NULL is KV_EINVAL),
 * backoff_*. A report is what a Sentinel-API answer or message said; check
 * ROLE before trusting it with writes (kv_cluster does). */
#define KV_WATCH_POLL_MS 1000

typedef struct kv_watch kv_watch;

/* The primary is host:port: called from the loop the first time a primary
 * is learnt and on every change after, never twice in a row with the same
 * address, and never after kv_watch_stop(). */
typedef void (*kv_watch_cb)(kv_watch *w, const char *host, int port, void *data);

/* Start watching. Returns 0 and sets *out, or KV_EINVAL (bad seeds, no
 * master_name, no callback) or KV_ENOMEM, and then nothing is called. */
KV_EXTERN int kv_watch_start(kv_watch **out, uv_loop_t *loop, const char *seeds,
                             const kv_options *opt, kv_watch_cb cb, void *data);

/* Stop: no callback runs after this returns (it may be called from inside
 * the callback). The watch frees itself once its libuv handles have
 * closed, so the loop must run on until then (uv_run returns). */
KV_EXTERN void kv_watch_stop(kv_watch *w);

/* 1 and the last reported primary, or 0 if none was reported yet. */
KV_EXTERN int kv_watch_primary(const kv_watch *w, char *host, size_t hostcap, int *port);

#ifdef __cplusplus
}
#endif

#endif
