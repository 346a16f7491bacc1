/* cmd_repl.c — REPLICAOF / SLAVEOF, ROLE, WAIT. */
#include "server.h"

#include "repl.h"
#include "reply.h"

#include <stdio.h>
#include <string.h>

static void cmd_replicaof(cmd_ctx *c)
{
    server *s = c->srv;
    char err[256];
    if (arg_is(c, 1, "NO") && arg_is(c, 2, "ONE")) {
        if (repl_promote(s->repl, err, sizeof err) < 0) {
            reply_error(&c->r, err);
            return;
        }
        reply_ok(&c->r);
        return;
    }
    long long port;
    if (arg_ll(c, 2, &port) < 0)
        return;
    char host[256];
    if (c->lens[1] >= sizeof host) {
        reply_error(&c->r, "ERR Invalid master host");
        return;
    }
    memcpy(host, c->argv[1], c->lens[1]);
    host[c->lens[1]] = '\0';
    int rc = repl_replicaof(s->repl, host, (int)port, err, sizeof err);
    if (rc < 0)
        reply_error(&c->r, err);
    else if (rc == 1)
        reply_simple(&c->r, "OK Already connected to specified master");
    else
        reply_ok(&c->r);
}

static void cmd_role(cmd_ctx *c)
{
    repl_role_reply(c->srv->repl, &c->r);
}

static void cmd_wait(cmd_ctx *c)
{
    server *s = c->srv;
    if (s->env.replica) {
        reply_error(&c->r, "ERR WAIT cannot be used with replica instances. Please also note "
                           "that since Redis 4.0 if a replica is configured to be writable "
                           "(which is not the default) writes to replicas are just local and "
                           "are not propagated.");
        return;
    }
    long long want, timeout;
    if (arg_ll(c, 1, &want) < 0)
        return;
    if (arg_ll_msg(c, 2, &timeout, "ERR timeout is not an integer or out of range") < 0)
        return;
    if (timeout < 0) {
        reply_error(&c->r, "ERR timeout is negative");
        return;
    }
    uint64_t lsn = engine_last_lsn(s->eng);
    int have = repl_replicas_at(s->repl, lsn);
    if (have >= want || !c->cl || (c->cl->flags & CL_MULTI)) {
        reply_int(&c->r, have);
        return;
    }
    server_block_wait(s, c->cl, lsn, (int)(want > 1000000 ? 1000000 : want),
                      timeout ? server_mstime() + timeout : 0);
}

const kv_command cmds_repl[] = {
    {"replicaof", cmd_replicaof, 3, CMD_ADMIN | CMD_NOBARRIER | CMD_STALE, 0, 0, 0,
     "server", "Configures a server as replica of another, or promotes it to a master.",
     "5.0.0", "@admin @slow @dangerous"},
    {"slaveof", cmd_replicaof, 3, CMD_ADMIN | CMD_NOBARRIER | CMD_STALE, 0, 0, 0, "server",
     "Sets a Redis server as a replica of another, or promotes it to being a master.", "1.0.0",
     "@admin @slow @dangerous"},
    {"role", cmd_role, 1, CMD_FAST | CMD_NOBARRIER | CMD_STALE, 0, 0, 0, "server",
     "Returns the replication role.", "2.8.12", "@admin @fast @dangerous"},
    {"wait", cmd_wait, 3, CMD_NOBARRIER, 0, 0, 0, "generic",
     "Blocks until the asynchronous replication of all preceding write commands sent by the "
     "connection is completed.",
     "3.0.0", "@slow @connection"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
