/* cmd_client.c — CLIENT ID / SETNAME / GETNAME / LIST / KILL / INFO / HELP
 * (CLIENT PAUSE / UNPAUSE are in pause.c).
 *
 * Redis's client types: a connection on Redis's replication stream (SYNC,
 * PSYNC: redis-cli --replica, a redis-server replica) is "replica", one
 * subscribed to something "pubsub", any other "normal"; kvnode's own
 * replication runs on its peer port, so TYPE master selects nothing. */
#include "server.h"

#include "mem.h"
#include "reply.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

/* Redis's client types, by name (getClientTypeByName); -1 if unknown. */
enum { CT_NORMAL = 0, CT_REPLICA = 1, CT_PUBSUB = 2, CT_MASTER = 3 };

static int client_type_by_name(const char *s, size_t n)
{
    static const struct {
        const char *name;
        int type;
    } types[] = {{"normal", CT_NORMAL}, {"slave", CT_REPLICA}, {"replica", CT_REPLICA},
                 {"pubsub", CT_PUBSUB}, {"master", CT_MASTER}};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strlen(types[i].name) == n && !strncasecmp(s, types[i].name, n))
            return types[i].type;
    return -1;
}

static int live(const client *cl)
{
    return !(cl->flags & CL_CLOSING);
}

/* Redis's getClientType: a connection on Redis's replication stream
 * (SYNC / PSYNC, sync_stream.c) is a replica. */
static int client_type(const client *cl)
{
    if (cl->sync)
        return CT_REPLICA;
    return (cl->flags & CL_PUBSUB) ? CT_PUBSUB : CT_NORMAL;
}

/* ---- ID / SETNAME / GETNAME / INFO ---- */

static void client_id_cmd(cmd_ctx *c)
{
    reply_int(&c->r, (long long)c->cl->id);
}

static void client_setname_cmd(cmd_ctx *c)
{
    const char *name = c->argv[2];
    size_t n = c->lens[2];
    for (size_t i = 0; i < n; i++) {
        if (name[i] < '!' || name[i] > '~') {
            reply_error(&c->r,
                        "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
    }
    kv_free(c->cl->name);
    c->cl->name = n ? kv_memdup(name, n) : NULL;
    reply_ok(&c->r);
}

static void client_getname_cmd(cmd_ctx *c)
{
    if (c->cl->name)
        reply_bulk_cstr(&c->r, c->cl->name);
    else
        reply_null(&c->r);
}

static void client_info_cmd(cmd_ctx *c)
{
    kbuf b = KBUF_INIT;
    client_describe(c->cl, &b);
    kbuf_putc(&b, '\n');
    reply_verbatim(&c->r, kbuf_data(&b), kbuf_len(&b), "txt");
    kbuf_free(&b);
}

/* ---- LIST [TYPE type] | [ID id …] ---- */

static int parse_id(cmd_ctx *c, int i, uint64_t *out, const char *msg)
{
    long long v;
    if (!kv_string2ll(c->argv[i], c->lens[i], &v) || v < 1) {
        reply_error(&c->r, msg);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

static void client_list_cmd(cmd_ctx *c)
{
    int type = -1;
    uint64_t *ids = NULL;
    int nids = 0;
    if (c->argc == 4 && arg_is(c, 2, "TYPE")) {
        type = client_type_by_name(c->argv[3], c->lens[3]);
        if (type < 0) {
            reply_errorf(&c->r, "ERR Unknown client type '%.*s'", (int)c->lens[3], c->argv[3]);
            return;
        }
    } else if (c->argc > 3 && arg_is(c, 2, "ID")) {
        nids = c->argc - 3;
        ids = kv_malloc((size_t)nids * sizeof *ids);
        for (int i = 0; i < nids; i++) {
            long long v;
            if (!kv_string2ll(c->argv[3 + i], c->lens[3 + i], &v)) {
                reply_error(&c->r, "ERR Invalid client ID");
                kv_free(ids);
                return;
            }
            ids[i] = v > 0 ? (uint64_t)v : 0; /* ids start at 1: 0 finds nothing */
        }
    } else if (c->argc != 2) {
        reply_err_syntax(&c->r);
        return;
    }
    kbuf b = KBUF_INIT;
    if (nids) {
        /* In the order asked, as Redis (each id once per mention). */
        for (int i = 0; i < nids; i++) {
            for (client *cl = c->srv->clients; cl; cl = cl->next) {
                if (cl->id == ids[i] && live(cl)) {
                    client_describe(cl, &b);
                    kbuf_putc(&b, '\n');
                }
            }
        }
    } else {
        /* Oldest first, as Redis's client list. */
        client *last = c->srv->clients;
        while (last && last->next)
            last = last->next;
        for (client *cl = last; cl; cl = cl->prev) {
            if (!live(cl) || (type != -1 && client_type(cl) != type))
                continue;
            client_describe(cl, &b);
            kbuf_putc(&b, '\n');
        }
    }
    reply_verbatim(&c->r, kbuf_len(&b) ? kbuf_data(&b) : "", kbuf_len(&b), "txt");
    kbuf_free(&b);
    kv_free(ids);
}

/* ---- KILL addr | KILL <filter> <value> … ---- */

typedef struct kill_filter {
    const char *addr, *laddr;
    size_t addr_len, laddr_len;
    uint64_t id;
    int type;
    int skipme;
    const acl_user *user;
} kill_filter;

static int parse_kill_filters(cmd_ctx *c, kill_filter *f)
{
    for (int i = 2; i < c->argc; i += 2) {
        int more = c->argc > i + 1;
        if (more && arg_is(c, i, "ID")) {
            if (parse_id(c, i + 1, &f->id, "ERR client-id should be greater than 0") < 0)
                return -1;
        } else if (more && arg_is(c, i, "TYPE")) {
            f->type = client_type_by_name(c->argv[i + 1], c->lens[i + 1]);
            if (f->type < 0) {
                reply_errorf(&c->r, "ERR Unknown client type '%.*s'", (int)c->lens[i + 1],
                             c->argv[i + 1]);
                return -1;
            }
        } else if (more && arg_is(c, i, "ADDR")) {
            f->addr = c->argv[i + 1];
            f->addr_len = c->lens[i + 1];
        } else if (more && arg_is(c, i, "LADDR")) {
            f->laddr = c->argv[i + 1];
            f->laddr_len = c->lens[i + 1];
        } else if (more && arg_is(c, i, "USER")) {
            f->user = acl_find_user(c->srv, c->argv[i + 1], c->lens[i + 1]);
            if (!f->user) {
                reply_errorf(&c->r, "ERR No such user '%.*s'", (int)c->lens[i + 1],
                             c->argv[i + 1]);
                return -1;
            }
        } else if (more && arg_is(c, i, "SKIPME")) {
            if (arg_is(c, i + 1, "YES"))
                f->skipme = 1;
            else if (arg_is(c, i + 1, "NO"))
                f->skipme = 0;
            else {
                reply_err_syntax(&c->r);
                return -1;
            }
        } else {
            reply_err_syntax(&c->r);
            return -1;
        }
    }
    return 0;
}

static int str_is(const char *a, size_t alen, const char *cstr)
{
    return strlen(cstr) == alen && !memcmp(a, cstr, alen);
}

static int kill_matches(const kill_filter *f, const client *cl, const client *me)
{
    if (f->addr && !str_is(f->addr, f->addr_len, cl->addr))
        return 0;
    if (f->laddr && !str_is(f->laddr, f->laddr_len, cl->laddr))
        return 0;
    if (f->type != -1 && f->type != client_type(cl))
        return 0;
    if (f->id && cl->id != f->id)
        return 0;
    if (f->user && cl->user != f->user)
        return 0;
    if (cl == me && f->skipme)
        return 0;
    return 1;
}

static void client_kill_cmd(cmd_ctx *c)
{
    kill_filter f = {.type = -1, .skipme = 1};
    int old_form = c->argc == 3;
    if (old_form) {
        f.addr = c->argv[2];
        f.addr_len = c->lens[2];
        f.skipme = 0; /* with the old form a client may kill itself */
    } else if (c->argc % 2 == 0) {
        if (parse_kill_filters(c, &f) < 0)
            return;
    } else {
        reply_err_syntax(&c->r);
        return;
    }
    client *me = c->cl;
    int close_me = 0;
    long long killed = 0;
    client *cl = c->srv->clients, *next;
    for (; cl; cl = next) {
        next = cl->next;
        if (!live(cl) || !kill_matches(&f, cl, me))
            continue;
        if (cl == me)
            close_me = 1;
        else
            client_close(cl);
        killed++;
    }
    if (old_form) {
        if (!killed)
            reply_error(&c->r, "ERR No such client");
        else
            reply_ok(&c->r);
    } else {
        reply_int(&c->r, killed);
    }
    /* Only after the reply is queued: it is sent, then the connection
     * closes. */
    if (close_me)
        client_close_after_reply(me);
}

/* ---- UNBLOCK <clientid> [TIMEOUT|ERROR] ---- */

static void client_unblock_cmd(cmd_ctx *c)
{
    if (c->argc > 4) {
        reply_err_subcommand_syntax(&c->r, "client", 6, c->argv[1], c->lens[1]);
        return;
    }
    int error = 0;
    if (c->argc == 4) {
        if (arg_is_c(c, 3, "timeout")) {
            error = 0;
        } else if (arg_is_c(c, 3, "error")) {
            error = 1;
        } else {
            reply_error(&c->r, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    long long id;
    if (arg_ll(c, 2, &id) < 0)
        return;
    server *s = c->srv;
    client *target = NULL;
    for (client *cl = s->clients; cl; cl = cl->next)
        if (cl->id == (uint64_t)id && live(cl))
            target = cl;
    int done = 0;
    if (target && (target->flags & CL_BLOCKED))
        done = target->sblock           ? stream_block_unblock(s, target, error)
               : blocking_on_keys(target) ? blocking_unblock(s, target, error)
                                          : server_unblock_wait(s, target, error);
    reply_int(&c->r, done);
}

static void client_no_evict_cmd(cmd_ctx *c)
{
    if (arg_is_c(c, 2, "on")) {
        c->cl->flags |= CL_NO_EVICT;
    } else if (arg_is_c(c, 2, "off")) {
        c->cl->flags &= ~CL_NO_EVICT;
    } else {
        reply_error(&c->r, "ERR syntax error");
        return;
    }
    client_mem_update(c->cl); /* in or out of maxmemory-clients' sum */
    reply_ok(&c->r);
}

/* CLIENT REPLY ON|OFF|SKIP. OFF and SKIP answer nothing (the dispatcher
 * drops the replies, dispatch.c); SKIP drops the next request's reply, and
 * is ignored while OFF. */
static void client_reply_cmd(cmd_ctx *c)
{
    client *cl = c->cl;
    if (arg_is_c(c, 2, "on")) {
        cl->flags &= ~(CL_REPLY_SKIP | CL_REPLY_OFF);
        reply_ok(&c->r);
    } else if (arg_is_c(c, 2, "off")) {
        cl->flags |= CL_REPLY_OFF;
    } else if (arg_is_c(c, 2, "skip")) {
        if (!(cl->flags & CL_REPLY_OFF))
            cl->flags |= CL_REPLY_SKIP_NEXT;
    } else {
        reply_error(&c->r, "ERR syntax error");
    }
}

static void client_help_cmd(cmd_ctx *c)
{
    static const char *const lines[] = {
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        NULL,
    };
    admin_reply_help(c, "CLIENT", lines);
}

#define CLIENT_FLAGS (CMD_STALE | CMD_NOBARRIER)

const kv_command cmds_client[] = {
    {"client", command_container, -2, CMD_NOBARRIER, 0, 0, 0, "connection",
     "A container for client connection commands.", "2.4.0", "@slow"},
    {"client|id", client_id_cmd, 2, CLIENT_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "connection",
     "Returns the unique client ID of the connection.", "5.0.0", "@slow @connection"},
    {"client|setname", client_setname_cmd, 3, CLIENT_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "connection",
     "Sets the connection name.", "2.6.9", "@slow @connection"},
    {"client|getname", client_getname_cmd, 2, CLIENT_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "connection",
     "Returns the name of the connection.", "2.6.9", "@slow @connection"},
    {"client|list", client_list_cmd, -2, CMD_ADMIN | CLIENT_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "connection",
     "Lists open connections.", "2.4.0", "@admin @slow @dangerous @connection"},
    {"client|info", client_info_cmd, 2, CLIENT_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "connection",
     "Returns information about the connection.", "6.2.0", "@slow @connection"},
    {"client|kill", client_kill_cmd, -3, CMD_ADMIN | CLIENT_FLAGS | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "connection",
     "Terminates open connections.", "2.4.0", "@admin @slow @dangerous @connection"},
    {"client|unblock", client_unblock_cmd, -3, CMD_ADMIN | CMD_NOSCRIPT | CLIENT_FLAGS | CMD_LOADING, 0, 0, 0,
     "connection", "Unblocks a client blocked by a blocking command from a different connection.",
     "5.0.0", "@admin @slow @dangerous @connection"},
    {"client|tracking", client_tracking_cmd, -3, CMD_NOSCRIPT | CLIENT_FLAGS | CMD_LOADING, 0, 0, 0,
     "connection", "Enable or disable server assisted client side caching support", "6.0.0",
     "@slow @connection"},
    {"client|caching", client_caching_cmd, 3, CMD_NOSCRIPT | CLIENT_FLAGS | CMD_LOADING, 0, 0, 0, "connection",
     "Instruct the server about tracking or not keys in the next request", "6.0.0",
     "@slow @connection"},
    {"client|getredir", client_getredir_cmd, 2, CMD_NOSCRIPT | CLIENT_FLAGS | CMD_LOADING, 0, 0, 0,
     "connection", "Get tracking notifications redirection client ID if any", "6.0.0",
     "@slow @connection"},
    {"client|trackinginfo", client_trackinginfo_cmd, 2, CMD_NOSCRIPT | CLIENT_FLAGS | CMD_LOADING, 0, 0, 0,
     "connection",
     "Return information about server assisted client side caching for the current "
     "connection",
     "6.2.0", "@slow @connection"},
    {"client|no-evict", client_no_evict_cmd, 3, CMD_ADMIN | CMD_NOSCRIPT | CLIENT_FLAGS | CMD_LOADING, 0, 0, 0,
     "connection", "Set client eviction mode for the current connection.", "7.0.0",
     "@admin @slow @dangerous @connection"},
    {"client|reply", client_reply_cmd, 3, CMD_NOSCRIPT | CLIENT_FLAGS | CMD_LOADING, 0, 0, 0,
     "connection", "Instruct the server whether to reply to commands", "3.2.0",
     "@slow @connection"},
    {"client|pause", client_pause_cmd, -3, CMD_ADMIN | CMD_NOSCRIPT | CLIENT_FLAGS | CMD_LOADING, 0, 0, 0,
     "connection", "Stop processing commands from clients for some time", "2.9.50",
     "@admin @slow @dangerous @connection"},
    {"client|unpause", client_unpause_cmd, 2, CMD_ADMIN | CMD_NOSCRIPT | CLIENT_FLAGS | CMD_LOADING, 0, 0, 0,
     "connection", "Resume processing of clients that were paused", "6.2.0",
     "@admin @slow @dangerous @connection"},
    {"client|help", client_help_cmd, 2, CLIENT_FLAGS | CMD_LOADING, 0, 0, 0, "connection",
     "Returns helpful text about the different subcommands.", "5.0.0", "@slow @connection"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
