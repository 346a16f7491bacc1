/* cmd_conn.c — connection commands: PING, ECHO, AUTH, HELLO, SELECT, QUIT,
 * RESET. */
#include "server.h"

#include "mem.h"
#include "reply.h"

#include <string.h>

static void cmd_ping(cmd_ctx *c)
{
    if (c->argc > 2) {
        reply_err_arity(&c->r, "ping");
        return;
    }
    if (c->cl && (c->cl->flags & CL_PUBSUB) && c->cl->resp == 2) {
        /* RESP2's subscribed mode answers in the shape of a message. */
        reply_array(&c->r, 2);
        reply_bulk(&c->r, "pong", 4);
        if (c->argc == 2)
            reply_bulk(&c->r, c->argv[1], c->lens[1]);
        else
            reply_empty_bulk(&c->r);
        return;
    }
    if (c->argc == 2)
        reply_bulk(&c->r, c->argv[1], c->lens[1]);
    else
        reply_simple(&c->r, "PONG");
}

static void cmd_echo(cmd_ctx *c)
{
    reply_bulk(&c->r, c->argv[1], c->lens[1]);
}

/* 1 if (user, pass) is accepted (c is then authenticated as user);
 * replies WRONGPASS otherwise. */
static int check_user(cmd_ctx *c, const char *user, size_t ulen, const char *pass, size_t plen)
{
    if (acl_authenticate(c->cl, user, ulen, pass, plen, c->argv[0], c->lens[0]) == 0)
        return 1;
    reply_error(&c->r, "WRONGPASS invalid username-password pair or user is disabled.");
    return 0;
}

static void cmd_auth(cmd_ctx *c)
{
    if (c->argc > 3) {
        reply_err_syntax(&c->r);
        return;
    }
    if (c->argc == 2 && acl_default_nopass(c->srv)) {
        reply_error(&c->r, "ERR AUTH <password> called without any password configured for "
                           "the default user. Are you sure your configuration is correct?");
        return;
    }
    const char *user = "default";
    size_t ulen = 7;
    int pi = 1;
    if (c->argc == 3) {
        user = c->argv[1];
        ulen = c->lens[1];
        pi = 2;
    }
    if (check_user(c, user, ulen, c->argv[pi], c->lens[pi]))
        reply_ok(&c->r);
}

static void cmd_hello(cmd_ctx *c)
{
    client *cl = c->cl;
    long long ver = cl->resp;
    int j = 1;
    if (c->argc >= 2) {
        if (arg_ll_msg(c, 1, &ver, "ERR Protocol version is not an integer or out of range") < 0)
            return;
        if (ver < 2 || ver > 3) {
            reply_error(&c->r, "NOPROTO unsupported protocol version");
            return;
        }
        j = 2;
    }
    const char *user = NULL, *pass = NULL, *name = NULL;
    size_t ulen = 0, plen = 0, nlen = 0;
    for (; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (arg_is(c, j, "AUTH") && more >= 2) {
            user = c->argv[j + 1];
            ulen = c->lens[j + 1];
            pass = c->argv[j + 2];
            plen = c->lens[j + 2];
            j += 2;
        } else if (arg_is(c, j, "SETNAME") && more >= 1) {
            name = c->argv[j + 1];
            nlen = c->lens[j + 1];
            j += 1;
        } else {
            reply_errorf(&c->r, "ERR Syntax error in HELLO option '%.*s'", (int)c->lens[j],
                         c->argv[j]);
            return;
        }
    }
    if (user && !check_user(c, user, ulen, pass, plen))
        return;
    if (!cl->authed) {
        reply_error(&c->r, "NOAUTH HELLO must be called with the client already authenticated, "
                           "otherwise the HELLO AUTH <user> <pass> option can be used "
                           "to authenticate the client and select the RESP protocol version at "
                           "the same time");
        return;
    }
    if (name) {
        for (size_t i = 0; i < nlen; i++) {
            if (name[i] <= ' ' || name[i] > '~') {
                reply_error(&c->r, "ERR Client names cannot contain spaces, newlines or special "
                                   "characters.");
                return;
            }
        }
        kv_free(cl->name);
        cl->name = nlen ? kv_memdup(name, nlen) : NULL;
    }
    cl->resp = (int)ver;
    c->r.resp = (int)ver;
    reply_map(&c->r, 7);
    reply_bulk_cstr(&c->r, "server");
    reply_bulk_cstr(&c->r, "redis");
    reply_bulk_cstr(&c->r, "version");
    reply_bulk_cstr(&c->r, KV_REDIS_COMPAT_VERSION);
    reply_bulk_cstr(&c->r, "proto");
    reply_int(&c->r, ver);
    reply_bulk_cstr(&c->r, "id");
    reply_int(&c->r, (long long)cl->id);
    reply_bulk_cstr(&c->r, "mode");
    reply_bulk_cstr(&c->r, "standalone");
    reply_bulk_cstr(&c->r, "role");
    reply_bulk_cstr(&c->r, c->srv->env.replica ? "replica" : "master");
    reply_bulk_cstr(&c->r, "modules");
    reply_empty_array(&c->r);
}

/* SELECT index: the client's database from now on (inside MULTI, for
 * the queued commands after it and after EXEC, as Redis). */
static void cmd_select(cmd_ctx *c)
{
    int db;
    if (arg_db(c, 1, &db) < 0)
        return;
    c->cl->db = db;
    cmd_use_db(c, db);
    reply_ok(&c->r);
}

/* RESET: the connection as new (Redis's clearClientConnectionState): no
 * tracking, no MULTI or WATCH, database 0, RESP2, the default user (unauthenticated
 * again if a password is required), no subscriptions (and no unsubscribe
 * replies), no name. */
static void cmd_reset(cmd_ctx *c)
{
    client *cl = c->cl;
    tracking_disable(cl);
    multi_reset(cl);
    watch_unwatch_all(cl);
    cl->db = 0;
    cmd_use_db(c, 0);
    cl->resp = 2;
    c->r.resp = 2;
    acl_client_default(cl);
    pubsub_client_reset(cl);
    monitor_forget(cl);
    kv_free(cl->name);
    cl->name = NULL;
    reply_simple(&c->r, "RESET");
}

static void cmd_quit(cmd_ctx *c)
{
    reply_ok(&c->r);
    client_close_after_reply(c->cl);
}

const kv_command cmds_conn[] = {
    {"ping", cmd_ping, -1, CMD_FAST | CMD_NOBARRIER, 0, 0, 0, "connection",
     "Returns the server's liveliness response.", "1.0.0", "@fast @connection"},
    {"echo", cmd_echo, 2, CMD_FAST | CMD_NOBARRIER | CMD_LOADING | CMD_STALE, 0, 0, 0, "connection",
     "Returns the given string.", "1.0.0", "@fast @connection"},
    {"auth", cmd_auth, -2, CMD_NOAUTH | CMD_FAST | CMD_STALE | CMD_NOBARRIER | CMD_ALLOW_BUSY | CMD_LOADING | CMD_NOSCRIPT, 0,
     0, 0, "connection", "Authenticates the connection.", "1.0.0", "@fast @connection"},
    {"hello", cmd_hello, -1, CMD_NOAUTH | CMD_FAST | CMD_STALE | CMD_NOBARRIER | CMD_ALLOW_BUSY | CMD_LOADING | CMD_NOSCRIPT, 0,
     0, 0, "connection", "Handshakes with the Redis server.", "6.0.0", "@fast @connection"},
    {"select", cmd_select, 2, CMD_FAST | CMD_STALE | CMD_NOBARRIER | CMD_LOADING, 0, 0, 0, "connection",
     "Changes the selected database.", "1.0.0", "@fast @connection"},
    {"reset", cmd_reset, 1, CMD_NOAUTH | CMD_FAST | CMD_STALE | CMD_NOMULTI | CMD_NOBARRIER | CMD_ALLOW_BUSY | CMD_LOADING | CMD_NOSCRIPT, 0,
     0, 0, "connection", "Reset the connection", "6.2.0", "@fast @connection"},
    {"quit", cmd_quit, -1, CMD_NOAUTH | CMD_FAST | CMD_STALE | CMD_NOMULTI | CMD_NOBARRIER | CMD_ALLOW_BUSY | CMD_LOADING | CMD_NOSCRIPT, 0,
     0, 0, "connection", "Closes the connection.", "1.0.0", "@fast @connection"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
