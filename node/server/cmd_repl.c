/* cmd_repl.c — REPLICAOF / SLAVEOF, ROLE, WAIT, FAILOVER, KVCLUSTER.
 *
 * In a kvnode cluster these go through the replication core's rules:
 * REPLICAOF NO ONE starts an election (it never promotes without votes),
 * FAILOVER hands leadership over (writes pause, the target catches up and
 * wins at once), REPLICAOF to another cluster's node joins that cluster. */
#include "server.h"

#include "mem.h"
#include "repl.h"
#include "reply.h"

#include <stdio.h>
#include <string.h>

static void cmd_replicaof(cmd_ctx *c)
{
    server *s = c->srv;
    char err[256];
    if (arg_is(c, 1, "NO") && arg_is(c, 2, "ONE")) {
        /* A user's promotion keeps this node's clients (Redis's does); a
         * failover's closes them (Sentinel's CLIENT KILL TYPE normal). */
        s->sent_quiet_switch = repl_role(s->repl) != REPL_LEADER;
        int rc = repl_promote(s->repl, err, sizeof err);
        if (rc < 0) {
            s->sent_quiet_switch = 0;
            reply_error(&c->r, err);
            return;
        }
        /* Redis's OK means this node is a primary now: answer once it is
         * (an election, or a hand-over, takes a few ms), within 10 s. */
        if (!repl_writable(s->repl) && c->cl && !(c->cl->flags & CL_MULTI) && !s->in_exec) {
            server_block_leads(s, c->cl, server_mstime() + 10000);
            return;
        }
        reply_ok(&c->r);
        return;
    }
    if (c->cl && c->cl->sync) {
        reply_error(&c->r, "ERR Command is not valid when client is a replica.");
        return;
    }
    long long port;
    if (arg_ll_msg(c, 2, &port, "ERR Invalid master port") < 0)
        return;
    if (port < 0 || port > 65535) {
        reply_error(&c->r, "ERR Invalid master port");
        return;
    }
    char host[256];
    if (c->lens[1] >= sizeof host) {
        reply_error(&c->r, "ERR Invalid master host");
        return;
    }
    memcpy(host, c->argv[1], c->lens[1]);
    host[c->lens[1]] = '\0';
    /* A user's REPLICAOF keeps this node's client connections, as Redis's
     * does (a failover closes them: see sentinel_observe), whether it moves
     * a lone node or hands leadership over. Set first: the step-down may
     * be observed inside repl_replicaof. */
    int quiet = s->sent_quiet_switch;
    if (repl_alone(s->repl) || repl_role(s->repl) == REPL_LEADER)
        s->sent_quiet_switch = 1;
    int rc = repl_replicaof(s->repl, host, (int)port, s->in_exec, err,
                            sizeof err);
    if (rc != 0)
        s->sent_quiet_switch = quiet;
    if (rc < 0)
        reply_error(&c->r, err);
    else if (rc == 1)
        reply_simple(&c->r, "OK Already connected to specified master");
    else
        reply_ok(&c->r);
}

/* FAILOVER [TO host port] [TIMEOUT ms] [FORCE] | FAILOVER ABORT, with
 * Redis 7.0's argument checks and errors in its order. FORCE is accepted
 * but never skips the catch-up: a transfer does not lose acknowledged
 * writes. Without TIMEOUT the transfer gives up after 60 s. */
static void cmd_failover(cmd_ctx *c)
{
    server *s = c->srv;
    char err[256];
    if (c->argc == 2 && arg_is(c, 1, "ABORT")) {
        if (repl_failover_abort(s->repl, err, sizeof err) < 0)
            reply_error(&c->r, err);
        else
            reply_ok(&c->r);
        return;
    }
    long long timeout = 0, port = 0;
    int force = 0;
    char host[256] = "";
    int have_host = 0;
    for (int j = 1; j < c->argc; j++) {
        if (arg_is(c, j, "TIMEOUT") && j + 1 < c->argc && timeout == 0) {
            if (arg_ll(c, j + 1, &timeout) < 0)
                return;
            if (timeout <= 0) {
                reply_error(&c->r, "ERR FAILOVER timeout must be greater than 0");
                return;
            }
            j++;
        } else if (arg_is(c, j, "TO") && j + 2 < c->argc && !have_host) {
            if (arg_ll(c, j + 2, &port) < 0)
                return;
            size_t n = c->lens[j + 1] < sizeof host - 1 ? c->lens[j + 1] : sizeof host - 1;
            memcpy(host, c->argv[j + 1], n);
            host[n] = '\0';
            have_host = 1;
            j += 2;
        } else if (arg_is(c, j, "FORCE") && !force) {
            force = 1;
        } else {
            reply_error(&c->r, "ERR syntax error");
            return;
        }
    }
    if (repl_failover_in_progress(s->repl)) {
        reply_error(&c->r, "ERR FAILOVER already in progress.");
        return;
    }
    if (repl_role(s->repl) != REPL_LEADER) {
        reply_error(&c->r, "ERR FAILOVER is not valid when server is a replica.");
        return;
    }
    if (force && (!timeout || !have_host)) {
        reply_error(&c->r,
                    "ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
        return;
    }
    if (repl_failover(s->repl, have_host ? host : NULL, (int)port,
                      timeout ? (uint64_t)timeout : 60000, err, sizeof err) < 0) {
        reply_error(&c->r, err);
        return;
    }
    reply_ok(&c->r);
}

/* KVCLUSTER MEMBERS | REMOVE <node-id | host:port> | HELP — membership. */
static void cmd_kvcluster_members(cmd_ctx *c)
{
    repl_members_reply(c->srv->repl, &c->r);
}

static void cmd_kvcluster_remove(cmd_ctx *c)
{
    char who[300], err[256];
    size_t n = c->lens[2] < sizeof who - 1 ? c->lens[2] : sizeof who - 1;
    memcpy(who, c->argv[2], n);
    who[n] = '\0';
    if (repl_remove_member(c->srv->repl, who, err, sizeof err) < 0)
        reply_error(&c->r, err);
    else
        reply_ok(&c->r);
}

static void cmd_kvcluster_help(cmd_ctx *c)
{
    static const char *const lines[] = {
        "MEMBERS",
        "    The cluster's members: id, client and peer addresses, role, replication state.",
        "REMOVE <node-id|host:port>",
        "    Remove a member (on the leader; one change at a time; not the leader itself:",
        "    hand over with FAILOVER first).",
        NULL,
    };
    admin_reply_help(c, "KVCLUSTER", lines);
}

static void cmd_role(cmd_ctx *c)
{
    repl_extra_replica *x;
    int nx = sync_stream_replicas(c->srv, &x);
    repl_role_reply(c->srv->repl, &c->r, x, nx);
    kv_free(x);
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
    {"replicaof", cmd_replicaof, 3, CMD_ADMIN | CMD_NOBARRIER | CMD_STALE | CMD_NO_ASYNC_LOADING | CMD_NOSCRIPT, 0, 0, 0,
     "server", "Configures a server as replica of another, or promotes it to a master.",
     "5.0.0", "@admin @slow @dangerous"},
    {"slaveof", cmd_replicaof, 3, CMD_ADMIN | CMD_NOBARRIER | CMD_STALE | CMD_NO_ASYNC_LOADING | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Sets a Redis server as a replica of another, or promotes it to being a master.", "1.0.0",
     "@admin @slow @dangerous"},
    {"role", cmd_role, 1, CMD_FAST | CMD_NOBARRIER | CMD_STALE | CMD_LOADING | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Returns the replication role.", "2.8.12", "@admin @fast @dangerous"},
    {"failover", cmd_failover, -1, CMD_ADMIN | CMD_NOBARRIER | CMD_STALE | CMD_NOSCRIPT, 0, 0, 0, "server",
     "Starts a coordinated failover from a server to one of its replicas.", "6.2.0",
     "@admin @slow @dangerous"},
    {"kvcluster", command_container, -2, CMD_NOBARRIER | CMD_STALE, 0, 0, 0, "server",
     "kvnode cluster membership.", "0.1.0", "@admin @slow"},
    {"kvcluster|members", cmd_kvcluster_members, 2, CMD_NOBARRIER | CMD_STALE, 0, 0, 0,
     "server", "Lists the cluster's members.", "0.1.0", "@admin @slow"},
    {"kvcluster|remove", cmd_kvcluster_remove, 3, CMD_ADMIN | CMD_NOBARRIER | CMD_STALE, 0, 0,
     0, "server", "Removes a member from the cluster.", "0.1.0", "@admin @slow @dangerous"},
    {"kvcluster|help", cmd_kvcluster_help, 2, CMD_NOBARRIER | CMD_STALE, 0, 0, 0, "server",
     "Shows helpful text about the different subcommands.", "0.1.0", "@admin @slow"},
    {"wait", cmd_wait, 3, CMD_NOBARRIER | CMD_NOSCRIPT, 0, 0, 0, "generic",
     "Blocks until the asynchronous replication of all preceding write commands sent by the "
     "connection is completed.",
     "3.0.0", "@slow @connection"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
