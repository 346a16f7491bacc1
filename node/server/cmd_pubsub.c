/* cmd_pubsub.c — Pub/Sub as clients see it: SUBSCRIBE, PSUBSCRIBE,
 * SSUBSCRIBE and their UNSUBSCRIBEs, PUBLISH, SPUBLISH, PUBSUB; delivering
 * messages in RESP2 (arrays) and RESP3 (push frames); keyspace
 * notifications (notify-keyspace-events); messages from the primary.
 * Redis 7.0's pubsub.c and notify.c are the reference for every reply.
 *
 * Messages are not data: nothing here touches the WAL. They still obey the
 * reply barrier (server.h): a message delivered while writes are not yet
 * committed — a keyspace event announces one, a PUBLISH may follow one —
 * waits in the subscriber's output until commit_lsn reaches the LSN last
 * assigned, exactly as a read's reply would. So no subscriber learns of a
 * write that a crash could still take back. Deliveries collect on a list
 * and pubsub_settle, called right after whatever delivered them (the end
 * of a request, an active-expiry step, an applied record), adds the marks
 * and flushes. A message to the client whose command is running goes
 * straight into its output if that command's reply has not begun (as Redis
 * 7.0 does; inside EXEC, each queued command counts), else right after
 * that reply (where Redis 7.0 would break the reply in two, as 7.2 does).
 *
 * Replicas. PUBLISH and SPUBLISH on a primary go to the replicas as a
 * non-durable peer message (repl_publish) carrying the LSN after which
 * they were published; a replica delivers them to its own subscribers once
 * it has applied that LSN, so the order of data and messages is the
 * primary's. They never enter the log: Pub/Sub is at-most-once in Redis
 * too (a subscriber that is disconnected, or a replica that is resyncing,
 * misses what was published meanwhile), and replaying old messages after a
 * restart or to a new replica would be wrong, not just wasteful. Keyspace
 * notifications are not sent: a replica announces what it applies itself,
 * as a Redis replica does for the commands its primary streams. */
#include "server.h"

#include "log.h"
#include "mem.h"
#include "repl.h"
#include "reply.h"

#include <string.h>

static const char *const sub_names[PS_KINDS] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_names[PS_KINDS] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

/* ------------------------------------------------------------------------ */
/* Delivery                                                                  */
/* ------------------------------------------------------------------------ */

/* Where a message to c goes: its output, or — when it is the client whose
 * command is running and that command's reply has begun — the side buffer
 * appended after the reply (pubsub_after_command). */
static kbuf *push_target(server *s, client *c)
{
    if (s->current == c && client_out_offset(c) > c->cmd_off)
        return &c->ps_later;
    return &c->out;
}

static void touch(server *s, client *c)
{
    if (c->flags & CL_PS_TOUCHED)
        return;
    c->flags |= CL_PS_TOUCHED;
    c->ps_off = client_out_offset(c);
    c->ps_next = s->ps_touched;
    s->ps_touched = c;
}

void pubsub_untouch(client *c)
{
    if (!(c->flags & CL_PS_TOUCHED))
        return;
    server *s = c->srv;
    for (client **p = &s->ps_touched; *p; p = &(*p)->ps_next) {
        if (*p == c) {
            *p = c->ps_next;
            break;
        }
    }
    c->ps_next = NULL;
    c->flags &= ~CL_PS_TOUCHED;
}

typedef struct delivery {
    server *s;
    int shard;
    const char *ch, *msg;
    size_t chlen, mlen;
} delivery;

int pubsub_push_begin(server *s, client *c, reply *r)
{
    /* Not written: the client is going (QUIT, output limit, killed). */
    if (c->flags & (CL_CLOSING | CL_CLOSE_ASAP | CL_CLOSE_AFTER_REPLY))
        return 0;
    touch(s, c);
    *r = reply_make(push_target(s, c), c->resp);
    return 1;
}

void pubsub_push_end(server *s, client *c, reply *r)
{
    if (s->current == c && r->out == &c->out)
        c->cmd_off = client_out_offset(c); /* a message is not the reply */
    if (client_output_over_limit(c))
        client_close_asap(c);
    else if (clients_mem_limit(s))
        client_mem_update(c); /* maxmemory-clients sees it (Redis does) */
}

static void deliver(void *arg, ps_sub *sub, const char *pat, size_t plen)
{
    delivery *d = arg;
    client *c = sub->owner;
    /* Counted as a receiver (Redis does) even when not written. */
    reply r;
    if (!pubsub_push_begin(d->s, c, &r))
        return;
    if (pat) {
        reply_push(&r, 4);
        reply_bulk(&r, "pmessage", 8);
        reply_bulk(&r, pat, plen);
    } else {
        reply_push(&r, 3);
        if (d->shard)
            reply_bulk(&r, "smessage", 8);
        else
            reply_bulk(&r, "message", 7);
    }
    reply_bulk(&r, d->ch, d->chlen);
    reply_bulk(&r, d->msg, d->mlen);
    pubsub_push_end(d->s, c, &r);
}

long pubsub_publish(server *s, int shard, const char *ch, size_t chlen, const char *msg,
                    size_t mlen)
{
    delivery d = {s, shard, ch, msg, chlen, mlen};
    return ps_publish(&s->pubsub, shard, ch, chlen, deliver, &d);
}

void pubsub_after_command(client *c)
{
    if (kbuf_len(&c->ps_later)) {
        kbuf_append(&c->out, kbuf_data(&c->ps_later), kbuf_len(&c->ps_later));
        kbuf_reset(&c->ps_later);
    }
    if (c->ps_later.cap > 64 * 1024)
        kbuf_free(&c->ps_later);
}

void pubsub_settle(server *s)
{
    client *c = s->ps_touched, *next;
    s->ps_touched = NULL;
    if (c) {
        /* Everything delivered may follow a write not yet committed: hold
         * it for the LSN last assigned, as a read's reply (server.h). A
         * replica's keyspace holds only committed entries; a failed WAL
         * commits nothing more (no data command runs, so nothing to hide). */
        uint64_t need = s->eng ? engine_last_lsn(s->eng) : 0;
        int hold = s->eng && !s->env.replica && need > s->commit_lsn &&
                   !engine_failed(s->eng, NULL);
        for (; c; c = next) {
            next = c->ps_next;
            c->ps_next = NULL;
            c->flags &= ~CL_PS_TOUCHED;
            if (c->flags & CL_CLOSING)
                continue;
            if (hold)
                client_add_mark(c, c->ps_off, need, 0);
            client_flush(c);
        }
    }
    if (s->ps_close_pending) {
        s->ps_close_pending = 0;
        client *cl = s->clients, *nx;
        for (; cl; cl = nx) {
            nx = cl->next;
            if ((cl->flags & CL_CLOSE_ASAP) && !(cl->flags & CL_CLOSING))
                client_close(cl);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Subscriptions                                                             */
/* ------------------------------------------------------------------------ */

/* The count Redis shows in (un)subscribe replies: channels + patterns, or
 * shard channels. */
static long long sub_count(const client *c, int kind)
{
    if (kind == PS_SHARD)
        return (long long)ps_sub_count(&c->ps, PS_SHARD);
    return (long long)(ps_sub_count(&c->ps, PS_CHANNEL) + ps_sub_count(&c->ps, PS_PATTERN));
}

static void update_mode(client *c)
{
    size_t total = 0;
    for (int k = 0; k < PS_KINDS; k++)
        total += ps_sub_count(&c->ps, k);
    if (total)
        c->flags |= CL_PUBSUB;
    else
        c->flags &= ~CL_PUBSUB;
}

void pubsub_client_reset(client *c)
{
    for (int k = 0; k < PS_KINDS; k++)
        ps_unsubscribe_all(&c->srv->pubsub, &c->ps, k, NULL, NULL);
    c->flags &= ~CL_PUBSUB;
}

static void reply_sub(reply *r, const char *what, const char *name, size_t len, long long count)
{
    reply_push(r, 3);
    reply_bulk_cstr(r, what);
    if (name)
        reply_bulk(r, name, len);
    else
        reply_null(r);
    reply_int(r, count);
}

/* Where (un)subscribe confirmations go. They are pushes in Redis (its
 * CLIENT_PUSHING, in RESP2 too), which CLIENT REPLY OFF / SKIP do not
 * silence: for such a client they go after the command's reply, which is
 * dropped (dispatch.c), with the messages to itself (ps_later). */
static reply *confirm_to(cmd_ctx *c, reply *own)
{
    client *cl = c->cl;
    if (!cl || !(cl->flags & (CL_REPLY_OFF | CL_REPLY_SKIP)))
        return &c->r;
    *own = reply_make(&cl->ps_later, cl->resp);
    return own;
}

static void subscribe_generic(cmd_ctx *c, int kind)
{
    client *cl = c->cl;
    if (kind == PS_SHARD && c->srv->in_exec) {
        /* MULTI is a "deny blocking" context; Redis makes an exception
         * for SUBSCRIBE and PSUBSCRIBE only. */
        reply_error(&c->r, "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
        return;
    }
    reply own, *r = confirm_to(c, &own);
    for (int j = 1; j < c->argc; j++) {
        ps_subscribe(&c->srv->pubsub, &cl->ps, kind, c->argv[j], c->lens[j]);
        reply_sub(r, sub_names[kind], c->argv[j], c->lens[j], sub_count(cl, kind));
    }
    cl->flags |= CL_PUBSUB;
}

typedef struct unsub_ctx {
    cmd_ctx *c;
    reply *r;
    int kind;
} unsub_ctx;

static void reply_unsub(void *arg, const char *name, size_t len)
{
    unsub_ctx *u = arg;
    reply_sub(u->r, unsub_names[u->kind], name, len, sub_count(u->c->cl, u->kind));
}

static void unsubscribe_generic(cmd_ctx *c, int kind)
{
    client *cl = c->cl;
    reply own;
    unsub_ctx u = {c, confirm_to(c, &own), kind};
    if (c->argc == 1) {
        if (!ps_unsubscribe_all(&c->srv->pubsub, &cl->ps, kind, reply_unsub, &u))
            reply_sub(u.r, unsub_names[kind], NULL, 0, sub_count(cl, kind));
    } else {
        for (int j = 1; j < c->argc; j++) {
            ps_unsubscribe(&c->srv->pubsub, &cl->ps, kind, c->argv[j], c->lens[j]);
            reply_unsub(&u, c->argv[j], c->lens[j]);
        }
    }
    update_mode(cl);
}

static void cmd_subscribe(cmd_ctx *c)
{
    subscribe_generic(c, PS_CHANNEL);
}

static void cmd_psubscribe(cmd_ctx *c)
{
    subscribe_generic(c, PS_PATTERN);
}

static void cmd_ssubscribe(cmd_ctx *c)
{
    subscribe_generic(c, PS_SHARD);
}

static void cmd_unsubscribe(cmd_ctx *c)
{
    unsubscribe_generic(c, PS_CHANNEL);
}

static void cmd_punsubscribe(cmd_ctx *c)
{
    unsubscribe_generic(c, PS_PATTERN);
}

static void cmd_sunsubscribe(cmd_ctx *c)
{
    unsubscribe_generic(c, PS_SHARD);
}

/* ------------------------------------------------------------------------ */
/* PUBLISH / SPUBLISH                                                        */
/* ------------------------------------------------------------------------ */

static void publish_generic(cmd_ctx *c, int shard)
{
    server *s = c->srv;
    long n = pubsub_publish(s, shard, c->argv[1], c->lens[1], c->argv[2], c->lens[2]);
    if (s->repl && !s->env.replica) {
        /* After the entry being built, if a command before this one (in
         * a MULTI) wrote something: replicas deliver in the same order. */
        uint64_t after = engine_last_lsn(s->eng) + (engine_entry_pending(s->eng) ? 1 : 0);
        repl_publish(s->repl, shard, c->argv[1], c->lens[1], c->argv[2], c->lens[2], after);
    }
    reply_int(&c->r, n);
}

static void cmd_publish(cmd_ctx *c)
{
    publish_generic(c, 0);
}

static void cmd_spublish(cmd_ctx *c)
{
    publish_generic(c, 1);
}

void pubsub_from_primary(server *s, int shard, const char *ch, size_t chlen, const char *msg,
                         size_t mlen)
{
    pubsub_publish(s, shard, ch, chlen, msg, mlen);
    pubsub_settle(s);
}

/* ------------------------------------------------------------------------ */
/* PUBSUB                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct list_ctx {
    reply *r;
    long n;
} list_ctx;

static void list_one(void *arg, const char *name, size_t len)
{
    list_ctx *l = arg;
    reply_bulk(l->r, name, len);
    l->n++;
}

static void channels_generic(cmd_ctx *c, int kind)
{
    if (c->argc > 3) {
        reply_err_subcommand_syntax(&c->r, "PUBSUB", 6, c->argv[1], c->lens[1]);
        return;
    }
    reply_deferred d = reply_defer(&c->r);
    list_ctx l = {&c->r, 0};
    ps_list(&c->srv->pubsub, kind, c->argc == 3 ? c->argv[2] : NULL,
            c->argc == 3 ? c->lens[2] : 0, list_one, &l);
    reply_set_array_len(&c->r, d, l.n);
}

static void numsub_generic(cmd_ctx *c, int kind)
{
    reply_array(&c->r, (long)(c->argc - 2) * 2);
    for (int j = 2; j < c->argc; j++) {
        reply_bulk(&c->r, c->argv[j], c->lens[j]);
        reply_int(&c->r, (long long)ps_numsub(&c->srv->pubsub, kind, c->argv[j], c->lens[j]));
    }
}

static void pubsub_channels_cmd(cmd_ctx *c)
{
    channels_generic(c, PS_CHANNEL);
}

static void pubsub_shardchannels_cmd(cmd_ctx *c)
{
    channels_generic(c, PS_SHARD);
}

static void pubsub_numsub_cmd(cmd_ctx *c)
{
    numsub_generic(c, PS_CHANNEL);
}

static void pubsub_shardnumsub_cmd(cmd_ctx *c)
{
    numsub_generic(c, PS_SHARD);
}

static void pubsub_numpat_cmd(cmd_ctx *c)
{
    reply_int(&c->r, (long long)ps_count(&c->srv->pubsub, PS_PATTERN));
}

static void pubsub_help_cmd(cmd_ctx *c)
{
    static const char *const lines[] = {
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: "
        "'*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        NULL,
    };
    admin_reply_help(c, "PUBSUB", lines);
}

/* ------------------------------------------------------------------------ */
/* Keyspace notifications                                                    */
/* ------------------------------------------------------------------------ */

/* cmd_env.notify: Redis's notifyKeyspaceEvent. */
static void notify_keyspace(void *arg, int db, int type, const char *event, const char *key,
                            size_t klen)
{
    (void)type;
    server *s = arg;
    int flags = s->cfg.notify_keyspace_events;
    static kbuf ch;
    size_t elen = strlen(event);
    if (flags & NOTIFY_KEYSPACE) {
        kbuf_reset(&ch);
        kbuf_printf(&ch, "__keyspace@%d__:", db);
        kbuf_append(&ch, key, klen);
        pubsub_publish(s, 0, kbuf_data(&ch), kbuf_len(&ch), event, elen);
    }
    if (flags & NOTIFY_KEYEVENT) {
        kbuf_reset(&ch);
        kbuf_printf(&ch, "__keyevent@%d__:", db);
        kbuf_append(&ch, event, elen);
        pubsub_publish(s, 0, kbuf_data(&ch), kbuf_len(&ch), key, klen);
    }
    if (ch.cap > 64 * 1024)
        kbuf_free(&ch);
}

void pubsub_apply_config(server *s)
{
    int f = s->cfg.notify_keyspace_events;
    /* Nothing is published without K or E: skip the calls altogether. */
    s->env.notify_flags = (f & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)) ? f : 0;
    s->env.notify = notify_keyspace;
    s->env.notify_arg = s;
}

/* ------------------------------------------------------------------------ */
/* Table                                                                     */
/* ------------------------------------------------------------------------ */

/* Shard channels are Redis "not key" key specs: COMMAND GETKEYS finds no
 * key in SSUBSCRIBE / SUNSUBSCRIBE / SPUBLISH, so none is declared. */
#define PS_FLAGS (CMD_STALE | CMD_NOBARRIER)

const kv_command cmds_pubsub[] = {
    {"subscribe", cmd_subscribe, -2, PS_FLAGS | CMD_LOADING | CMD_NOSCRIPT | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "Listen for messages published to the given channels", "2.0.0", "@pubsub @slow"},
    {"unsubscribe", cmd_unsubscribe, -1, PS_FLAGS | CMD_LOADING | CMD_NOSCRIPT | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "Stop listening for messages posted to the given channels", "2.0.0", "@pubsub @slow"},
    {"psubscribe", cmd_psubscribe, -2, PS_FLAGS | CMD_LOADING | CMD_NOSCRIPT | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "Listen for messages published to channels matching the given patterns", "2.0.0",
     "@pubsub @slow"},
    {"punsubscribe", cmd_punsubscribe, -1, PS_FLAGS | CMD_LOADING | CMD_NOSCRIPT | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "Stop listening for messages posted to channels matching the given patterns", "2.0.0",
     "@pubsub @slow"},
    {"ssubscribe", cmd_ssubscribe, -2, PS_FLAGS | CMD_LOADING | CMD_NOSCRIPT | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "Listen for messages published to the given shard channels", "7.0.0", "@pubsub @slow"},
    {"sunsubscribe", cmd_sunsubscribe, -1, PS_FLAGS | CMD_LOADING | CMD_NOSCRIPT | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "Stop listening for messages posted to the given shard channels", "7.0.0",
     "@pubsub @slow"},
    {"publish", cmd_publish, 3, CMD_MAY_REPLICATE | PS_FLAGS | CMD_FAST | CMD_LOADING | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "Post a message to a channel", "2.0.0", "@pubsub @fast"},
    {"spublish", cmd_spublish, 3, CMD_MAY_REPLICATE | PS_FLAGS | CMD_FAST | CMD_LOADING | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "Post a message to a shard channel", "7.0.0", "@pubsub @fast"},
    {"pubsub", command_container, -2, CMD_NOBARRIER, 0, 0, 0, "pubsub",
     "A container for Pub/Sub commands", "2.8.0", "@slow"},
    {"pubsub|channels", pubsub_channels_cmd, -2, PS_FLAGS | CMD_LOADING | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "List active channels", "2.8.0", "@pubsub @slow"},
    {"pubsub|numsub", pubsub_numsub_cmd, -2, PS_FLAGS | CMD_LOADING | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "Get the count of subscribers for channels", "2.8.0", "@pubsub @slow"},
    {"pubsub|numpat", pubsub_numpat_cmd, 2, PS_FLAGS | CMD_LOADING | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "Get the count of unique patterns pattern subscriptions", "2.8.0", "@pubsub @slow"},
    {"pubsub|shardchannels", pubsub_shardchannels_cmd, -2, PS_FLAGS | CMD_LOADING | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "List active shard channels", "7.0.0", "@pubsub @slow"},
    {"pubsub|shardnumsub", pubsub_shardnumsub_cmd, -2, PS_FLAGS | CMD_LOADING | CMD_PUBSUB, 0, 0, 0, "pubsub",
     "Get the count of subscribers for shard channels", "7.0.0", "@pubsub @slow"},
    {"pubsub|help", pubsub_help_cmd, 2, PS_FLAGS | CMD_LOADING, 0, 0, 0, "pubsub",
     "Show helpful text about the different subcommands", "6.2.0", "@slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
