/* cmd_sentinel.c — the part of Redis Sentinel's API that clients use to
 * find the primary (shared/FAILOVER.md §4), answered by every node on its
 * client port for the one service the cluster is: `sentinel-master-name`.
 *
 * Each member of the cluster plays a Sentinel: MASTERS / MASTER describe
 * the leader, REPLICAS / SLAVES the other members, SENTINELS the other
 * members again (every node answers this API). Replies carry the fields
 * and shapes of Redis 7.0's sentinel.c: maps (flat arrays in RESP2) of
 * bulk strings.
 *
 * The safety rule: a node names a primary only when it can vouch for it —
 * it is that primary inside its lease, or it follows it in its current
 * term and heard from it within the election timeout. Otherwise
 * GET-MASTER-ADDR-BY-NAME answers null and MASTERS flags the instance
 * s_down, so a client that takes the first answer (go-redis) is never sent
 * to a cut-off old primary.
 *
 * sentinel_observe (called on every role or leader change) keeps the
 * leader last vouched for and, when a different one takes over, publishes
 * Sentinel's +switch-master (and +slave-reconf-done on a replica) to this
 * node's subscribers, then closes its ordinary client connections, as
 * Sentinel's reconfiguration does with CLIENT KILL TYPE normal: clients
 * that only re-resolve on a dropped connection (ioredis) follow the new
 * primary, those that listen (Jedis, go-redis) hear of it first. */
#include "server.h"

#include "log.h"
#include "repl.h"
#include "reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Instances                                                                 */
/* ------------------------------------------------------------------------ */

#define MAX_FIELDS 32

typedef struct fields {
    const char *k[MAX_FIELDS];
    char v[MAX_FIELDS][320];
    int n;
} fields;

static void add(fields *f, const char *k, const char *v)
{
    if (f->n == MAX_FIELDS)
        return;
    f->k[f->n] = k;
    snprintf(f->v[f->n], sizeof f->v[f->n], "%s", v);
    f->n++;
}

static void add_ll(fields *f, const char *k, long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    add(f, k, b);
}

static void reply_fields(reply *r, const fields *f)
{
    reply_map(r, f->n);
    for (int i = 0; i < f->n; i++) {
        reply_bulk_cstr(r, f->k[i]);
        reply_bulk_cstr(r, f->v[i]);
    }
}

/* Redis's flag list, in its order (s_down, o_down, master | slave |
 * sentinel, disconnected). */
static void flags(char *out, size_t n, int sdown, int odown, const char *kind, int disconnected)
{
    snprintf(out, n, "%s%s%s%s", sdown ? "s_down," : "", odown ? "o_down," : "", kind,
             disconnected ? ",disconnected" : "");
}

static const char *service(const server *s)
{
    return s->cfg.sentinel_master_name && s->cfg.sentinel_master_name[0]
               ? s->cfg.sentinel_master_name
               : "kvnode";
}

static int64_t since(int64_t t)
{
    int64_t now = server_mstime();
    return t && now > t ? now - t : 0;
}

/* The primary: the leader this node can vouch for, else the last one it
 * knew (flagged down), else this node's own address, flagged down. */
static void master_fields(server *s, const repl_sentinel_view *v, fields *f)
{
    const char *host = v->leader_host;
    int port = v->leader_port;
    const char *id = v->leader_id;
    if (!host[0] && s->sent_leader_host[0]) {
        host = s->sent_leader_host;
        port = s->sent_leader_port;
        id = s->sent_leader_id;
    }
    int down = !v->vouch;
    char fl[96];
    flags(fl, sizeof fl, down, down, "master", !host[0]);
    int64_t contact = v->leader_contact_ms < 0 ? 0 : v->leader_contact_ms;
    add(f, "name", service(s));
    add(f, "ip", host[0] ? host : "?");
    add_ll(f, "port", host[0] ? port : 0);
    add(f, "runid", id);
    add(f, "flags", fl);
    add(f, "link-pending-commands", "0");
    add(f, "link-refcount", "1");
    add(f, "last-ping-sent", "0");
    add_ll(f, "last-ok-ping-reply", contact);
    add_ll(f, "last-ping-reply", contact);
    if (down) {
        add_ll(f, "s-down-time", since(s->sent_down_since_ms));
        add_ll(f, "o-down-time", since(s->sent_down_since_ms));
    }
    add_ll(f, "down-after-milliseconds", v->election_timeout_ms);
    add_ll(f, "info-refresh", contact);
    add(f, "role-reported", "master");
    add_ll(f, "role-reported-time", since(s->sent_leader_since_ms));
    add_ll(f, "config-epoch", (long long)v->term);
    int replicas = v->nmembers > 0 ? v->nmembers - 1 : 0;
    add_ll(f, "num-slaves", replicas);
    add_ll(f, "num-other-sentinels", v->nmembers > 0 ? v->nmembers - 1 : 0);
    add_ll(f, "quorum", v->election_quorum);
    add_ll(f, "failover-timeout", 60000);
    add_ll(f, "parallel-syncs", replicas > 0 ? replicas : 1);
}

static void replica_fields(server *s, const repl_sentinel_view *v,
                           const repl_sentinel_member *m, fields *f)
{
    char name[300], fl[96];
    snprintf(name, sizeof name, "%s:%d", m->host, m->port);
    int down = m->known && !m->reachable;
    flags(fl, sizeof fl, down, 0, "slave", down);
    long long contact = m->last_ack_ms < 0 ? 0 : m->last_ack_ms;
    add(f, "name", name);
    add(f, "ip", m->host);
    add_ll(f, "port", m->port);
    add(f, "runid", m->id);
    add(f, "flags", fl);
    add(f, "link-pending-commands", "0");
    add(f, "link-refcount", "1");
    add(f, "last-ping-sent", "0");
    add_ll(f, "last-ok-ping-reply", contact);
    add_ll(f, "last-ping-reply", contact);
    if (down)
        add_ll(f, "s-down-time", contact);
    add_ll(f, "down-after-milliseconds", v->election_timeout_ms);
    add_ll(f, "info-refresh", contact);
    add(f, "role-reported", "slave");
    add_ll(f, "role-reported-time", since(s->sent_leader_since_ms));
    add_ll(f, "master-link-down-time", down ? contact : 0);
    add(f, "master-link-status", down || !v->leader_host[0] ? "err" : "ok");
    add(f, "master-host", v->leader_host[0] ? v->leader_host : "?");
    add_ll(f, "master-port", v->leader_host[0] ? v->leader_port : 0);
    /* Learners are never elected: Sentinel's "never promote" priority. */
    add_ll(f, "slave-priority", m->voter ? 100 : 0);
    add_ll(f, "slave-repl-offset", (long long)m->match_lsn);
    add(f, "replica-announced", "1");
}

static void sentinel_fields(const repl_sentinel_view *v, const repl_sentinel_member *m,
                            fields *f)
{
    char fl[96];
    int down = m->known && !m->reachable;
    flags(fl, sizeof fl, down, 0, "sentinel", down);
    long long contact = m->last_ack_ms < 0 ? 0 : m->last_ack_ms;
    add(f, "name", m->id);
    add(f, "ip", m->host);
    add_ll(f, "port", m->port);
    add(f, "runid", m->id);
    add(f, "flags", fl);
    add(f, "link-pending-commands", "0");
    add(f, "link-refcount", "1");
    add(f, "last-ping-sent", "0");
    add_ll(f, "last-ok-ping-reply", contact);
    add_ll(f, "last-ping-reply", contact);
    if (down)
        add_ll(f, "s-down-time", contact);
    add_ll(f, "down-after-milliseconds", v->election_timeout_ms);
    add_ll(f, "last-hello-message", contact);
    add(f, "voted-leader", "?");
    add_ll(f, "voted-leader-epoch", 0);
}

/* ------------------------------------------------------------------------ */
/* Subcommands                                                               */
/* ------------------------------------------------------------------------ */

/* Is argv[i] our service name? Otherwise Sentinel's error. */
static int known_name(cmd_ctx *c, int i)
{
    const char *name = service(c->srv);
    if (c->lens[i] == strlen(name) && !memcmp(c->argv[i], name, c->lens[i]))
        return 1;
    reply_error(&c->r, "ERR No such master with that name");
    return 0;
}

static void view(cmd_ctx *c, repl_sentinel_view *v)
{
    repl_sentinel_view_get(c->srv->repl, v);
}

static void sentinel_masters(cmd_ctx *c)
{
    repl_sentinel_view v;
    view(c, &v);
    fields f = {0};
    master_fields(c->srv, &v, &f);
    reply_array(&c->r, 1);
    reply_fields(&c->r, &f);
}

static void sentinel_master(cmd_ctx *c)
{
    if (!known_name(c, 2))
        return;
    repl_sentinel_view v;
    view(c, &v);
    fields f = {0};
    master_fields(c->srv, &v, &f);
    reply_fields(&c->r, &f);
}

static void sentinel_replicas(cmd_ctx *c)
{
    if (!known_name(c, 2))
        return;
    repl_sentinel_view v;
    view(c, &v);
    long n = 0;
    for (int i = 0; i < v.nmembers; i++)
        n += !v.m[i].is_leader && v.m[i].host[0];
    reply_array(&c->r, n);
    for (int i = 0; i < v.nmembers; i++) {
        if (v.m[i].is_leader || !v.m[i].host[0])
            continue;
        fields f = {0};
        replica_fields(c->srv, &v, &v.m[i], &f);
        reply_fields(&c->r, &f);
    }
}

static void sentinel_sentinels(cmd_ctx *c)
{
    if (!known_name(c, 2))
        return;
    repl_sentinel_view v;
    view(c, &v);
    long n = 0;
    for (int i = 0; i < v.nmembers; i++)
        n += !v.m[i].self && v.m[i].host[0];
    reply_array(&c->r, n);
    for (int i = 0; i < v.nmembers; i++) {
        if (v.m[i].self || !v.m[i].host[0])
            continue;
        fields f = {0};
        sentinel_fields(&v, &v.m[i], &f);
        reply_fields(&c->r, &f);
    }
}

static void sentinel_get_addr(cmd_ctx *c)
{
    const char *name = service(c->srv);
    repl_sentinel_view v;
    view(c, &v);
    if (c->lens[2] != strlen(name) || memcmp(c->argv[2], name, c->lens[2]) != 0 || !v.vouch) {
        reply_null_array(&c->r);
        return;
    }
    reply_array(&c->r, 2);
    reply_bulk_cstr(&c->r, v.leader_host);
    reply_bulk_ll(&c->r, v.leader_port);
}

static void sentinel_myid(cmd_ctx *c)
{
    reply_bulk_cstr(&c->r, repl_node_id(c->srv->repl));
}

/* Usable "Sentinels": voters that can take part in an election — those
 * the leader heard within the election timeout, itself included (a
 * follower that hears its leader has its count; one that does not counts
 * itself). */
static void sentinel_ckquorum(cmd_ctx *c)
{
    if (!known_name(c, 2))
        return;
    repl_sentinel_view v;
    view(c, &v);
    int usable = v.reachable_voters;
    if (usable >= v.election_quorum) {
        char ok[160];
        snprintf(ok, sizeof ok,
                 "OK %d usable Sentinels. Quorum and failover authorization can be reached",
                 usable);
        reply_simple(&c->r, ok);
        return;
    }
    /* The quorum is the voters' majority: both parts apply. */
    reply_errorf(&c->r,
                 "NOQUORUM %d usable Sentinels. Not enough available Sentinels to reach the "
                 "specified quorum for this master. Not enough available Sentinels to reach the "
                 "majority and authorize a failover",
                 usable);
}

/* A graceful handover: on the primary to the most caught-up voter; on a
 * voter, to itself. */
static void sentinel_failover(cmd_ctx *c)
{
    if (!known_name(c, 2))
        return;
    server *s = c->srv;
    char err[256];
    if (repl_failover_in_progress(s->repl)) {
        reply_error(&c->r, "INPROG Failover already in progress");
        return;
    }
    int rc = repl_role(s->repl) == REPL_LEADER
                 ? repl_failover(s->repl, NULL, 0, 60000, err, sizeof err)
                 : repl_promote(s->repl, err, sizeof err);
    if (rc < 0) {
        log_notice("SENTINEL FAILOVER refused: %s", err);
        reply_error(&c->r, "NOGOODSLAVE No suitable replica to promote");
        return;
    }
    log_warn("Executing user requested FAILOVER of '%s'", service(s));
    reply_ok(&c->r);
}

static void sentinel_help(cmd_ctx *c)
{
    static const char *const lines[] = {
        "CKQUORUM <master-name>",
        "    Check if the cluster can elect a primary: enough voters are reachable.",
        "GET-MASTER-ADDR-BY-NAME <master-name>",
        "    Return the ip and port number of the primary, if this node can vouch for it.",
        "    (Alias: GET-PRIMARY-ADDR-BY-NAME.)",
        "FAILOVER <master-name>",
        "    Hand the primary's role over: from the primary to a caught-up voter, or from",
        "    a voter to itself.",
        "MASTER <master-name>",
        "    Show the state and info of the primary. (Alias: PRIMARY.)",
        "MASTERS",
        "    Show the primary of this cluster and its state. (Alias: PRIMARIES.)",
        "MYID",
        "    Return the ID of this node.",
        "REPLICAS <master-name>",
        "    Show the other members (replicas) and their state. (Alias: SLAVES.)",
        "SENTINELS <master-name>",
        "    Show the other members, each answering this API, and their state.",
        "The service name is set by the sentinel-master-name option. The cluster elects",
        "its own primary: use KVCLUSTER for membership (no MONITOR, REMOVE, SET).",
        NULL,
    };
    admin_reply_help(c, "SENTINEL", lines);
}

/* ------------------------------------------------------------------------ */
/* Following the primary                                                     */
/* ------------------------------------------------------------------------ */

/* Close the ordinary connections — not subscribers (Sentinel's CLIENT KILL
 * TYPE normal), and not the one whose command runs now: it closes after
 * its reply. */
static void close_normal_clients(server *s)
{
    client *cl = s->clients, *next;
    long n = 0;
    for (; cl; cl = next) {
        next = cl->next;
        if (cl->flags & (CL_CLOSING | CL_CLOSE_AFTER_REPLY | CL_PUBSUB))
            continue;
        n++;
        if (cl == s->current)
            client_close_after_reply(cl);
        else
            client_close(cl);
    }
    if (n)
        log_notice("closed %ld client connection(s): the primary changed", n);
}

static void publish_reconf_done(server *s, const repl_sentinel_view *v)
{
    for (int i = 0; i < v->nmembers; i++) {
        const repl_sentinel_member *m = &v->m[i];
        if (!m->self || !m->host[0])
            continue;
        char msg[900];
        snprintf(msg, sizeof msg, "slave %s:%d %s %d @ %s %s %d", m->host, m->port, m->host,
                 m->port, service(s), v->leader_host, v->leader_port);
        pubsub_publish(s, 0, "+slave-reconf-done", 18, msg, strlen(msg));
    }
}

void sentinel_observe(server *s)
{
    if (!s->repl)
        return;
    repl_sentinel_view v;
    repl_sentinel_view_get(s->repl, &v);
    int64_t now = server_mstime();
    if (!v.vouch) {
        if (!s->sent_down_since_ms)
            s->sent_down_since_ms = now;
    } else {
        s->sent_down_since_ms = 0;
    }
    int leading = v.is_leader && v.vouch;
    int stepped_down = s->sent_was_leader && !v.is_leader;
    /* A primary that is new to this node: a leader it can vouch for (on the
     * leader: ready for writes), other than the one it knew. */
    int ready = v.is_leader ? repl_writable(s->repl) : v.vouch;
    int fresh = ready && v.leader_host[0] && strcmp(v.leader_id, s->sent_leader_id) != 0;
    if (fresh) {
        int had = s->sent_leader_id[0] != '\0';
        char msg[700];
        if (had) {
            /* Sentinel's events, published first: +switch-master
             * "<name> <old-ip> <old-port> <new-ip> <new-port>", and on a
             * replica +slave-reconf-done with its instance details. */
            snprintf(msg, sizeof msg, "%s %s %d %s %d", service(s), s->sent_leader_host,
                     s->sent_leader_port, v.leader_host, v.leader_port);
            log_notice("+switch-master %s", msg);
            pubsub_publish(s, 0, "+switch-master", 14, msg, strlen(msg));
            if (!v.is_leader)
                publish_reconf_done(s, &v);
            pubsub_settle(s);
        }
        snprintf(s->sent_leader_id, sizeof s->sent_leader_id, "%s", v.leader_id);
        snprintf(s->sent_leader_host, sizeof s->sent_leader_host, "%s", v.leader_host);
        s->sent_leader_port = v.leader_port;
        s->sent_leader_since_ms = now;
        if (had && !s->sent_quiet_switch)
            close_normal_clients(s);
        s->sent_quiet_switch = 0;
    } else if (stepped_down && !s->sent_quiet_switch) {
        close_normal_clients(s);
    }
    if (v.is_leader)
        s->sent_was_leader = 1;
    else if (stepped_down)
        s->sent_was_leader = 0;
    (void)leading;
}

/* ------------------------------------------------------------------------ */
/* Table                                                                     */
/* ------------------------------------------------------------------------ */

#define SFLAGS (CMD_NOBARRIER | CMD_STALE | CMD_FAST)

const kv_command cmds_sentinel[] = {
    {"sentinel", command_container, -2, CMD_NOBARRIER | CMD_STALE, 0, 0, 0, "sentinel",
     "A container for Sentinel commands (the discovery part, answered by every node).",
     "2.8.4", "@admin @slow @dangerous"},
    {"sentinel|masters", sentinel_masters, 2, SFLAGS, 0, 0, 0, "sentinel",
     "Returns a list of monitored Redis masters.", "2.8.4", "@admin @slow @dangerous"},
    {"sentinel|primaries", sentinel_masters, 2, SFLAGS, 0, 0, 0, "sentinel",
     "Returns a list of monitored primaries (Valkey's name).", "8.0.0",
     "@admin @slow @dangerous"},
    {"sentinel|master", sentinel_master, 3, SFLAGS, 0, 0, 0, "sentinel",
     "Returns the state of a master.", "2.8.4", "@admin @slow @dangerous"},
    {"sentinel|primary", sentinel_master, 3, SFLAGS, 0, 0, 0, "sentinel",
     "Returns the state of a primary (Valkey's name).", "8.0.0", "@admin @slow @dangerous"},
    {"sentinel|replicas", sentinel_replicas, 3, SFLAGS, 0, 0, 0, "sentinel",
     "Returns a list of the monitored replicas.", "5.0.0", "@admin @slow @dangerous"},
    {"sentinel|slaves", sentinel_replicas, 3, SFLAGS, 0, 0, 0, "sentinel",
     "Returns a list of the monitored replicas.", "2.8.0", "@admin @slow @dangerous"},
    {"sentinel|sentinels", sentinel_sentinels, 3, SFLAGS, 0, 0, 0, "sentinel",
     "Returns a list of Sentinel instances.", "2.8.4", "@admin @slow @dangerous"},
    {"sentinel|get-master-addr-by-name", sentinel_get_addr, 3, SFLAGS, 0, 0, 0, "sentinel",
     "Returns the port and address of a master instance.", "2.8.4",
     "@admin @slow @dangerous"},
    {"sentinel|get-primary-addr-by-name", sentinel_get_addr, 3, SFLAGS, 0, 0, 0, "sentinel",
     "Returns the port and address of a primary instance (Valkey's name).", "8.0.0",
     "@admin @slow @dangerous"},
    {"sentinel|myid", sentinel_myid, 2, SFLAGS, 0, 0, 0, "sentinel",
     "Returns the Sentinel instance ID.", "6.2.0", "@admin @slow @dangerous"},
    {"sentinel|ckquorum", sentinel_ckquorum, 3, SFLAGS, 0, 0, 0, "sentinel",
     "Checks for a Redis Sentinel quorum.", "2.8.4", "@admin @slow @dangerous"},
    {"sentinel|failover", sentinel_failover, 3, CMD_ADMIN | CMD_NOBARRIER | CMD_STALE, 0, 0, 0,
     "sentinel", "Forces a Redis Sentinel failover.", "2.8.4", "@admin @slow @dangerous"},
    {"sentinel|help", sentinel_help, 2, SFLAGS, 0, 0, 0, "sentinel",
     "Returns helpful text about the different subcommands.", "6.2.0",
     "@admin @slow @dangerous"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
