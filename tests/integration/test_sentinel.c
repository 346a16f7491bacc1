/* test_sentinel.c — the Sentinel API every kvnode answers (FAILOVER.md §4):
 * its replies have the shapes of Debian's redis-sentinel 7.0.15 (run here
 * next to it, monitoring a redis-server trio) in RESP2 and RESP3; every
 * node names the primary only when it can vouch for it, follows a kill -9
 * and a switchover, and closes its ordinary connections when the primary
 * changes (after publishing +switch-master to its subscribers); an old
 * primary that was stopped past its lease never names itself; requirepass
 * applies; what Jedis and go-redis send is replayed. Every wait is bounded
 * and asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "harness.h"
#include "kvclient_uv.h"

static int setup(void **state)
{
    (void)state;
    hc_setup("sentinel");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hc_teardown();
    return 0;
}

/* ---- Helpers ---- */

/* One command on a fresh connection to port, in RESP3 after HELLO 3 when
 * resp3 is set. */
static kv_reply *on(int port, int resp3, const char *line)
{
    kv_client *c = h_connect(port);
    if (!c)
        return NULL;
    if (resp3) {
        kv_reply *h = h_cmd(c, "HELLO 3");
        int ok = h && h->type == KV_REPLY_MAP;
        kv_reply_free(h);
        if (!ok) {
            kv_client_free(c);
            return NULL;
        }
    }
    kv_reply *r = h_cmd(c, line);
    kv_client_free(c);
    return r;
}

static const char *type_name(int t)
{
    static const char *const names[] = {"?",    "string", "array", "integer", "nil",
                                        "status", "error", "double", "bool",  "map",
                                        "set",  "attr",   "push",  "bignum",  "verbatim"};
    return t >= 0 && t < (int)(sizeof names / sizeof *names) ? names[t] : "?";
}

/* The value of key in an instance (a RESP3 map or a RESP2 flat array). */
static const kv_reply *field(const kv_reply *inst, const char *key)
{
    for (size_t i = 0; inst && i + 1 < inst->elements; i += 2)
        if (inst->element[i]->str && !strcmp(inst->element[i]->str, key))
            return inst->element[i + 1];
    return NULL;
}

static const char *field_str(const kv_reply *inst, const char *key)
{
    const kv_reply *v = field(inst, key);
    return v && v->str ? v->str : "";
}

/* Fields Redis adds only in some states (a down instance, a failover in
 * progress, scripts configured). */
static int optional_field(const char *k)
{
    static const char *const opt[] = {"s-down-time", "o-down-time", "failover-state",
                                      "notification-script", "client-reconfig-script",
                                      "leader", "leader-epoch", NULL};
    for (int i = 0; opt[i]; i++)
        if (!strcmp(k, opt[i]))
            return 1;
    return 0;
}

/* Ours has every field of theirs (optional ones aside), in the same
 * order, all values bulk strings as theirs are. */
static void same_instance_shape(const kv_reply *ours, const kv_reply *theirs, const char *what)
{
    if (ours->type != theirs->type)
        fail_msg("%s: an instance is a %s here, a %s in redis-sentinel", what,
                 type_name(ours->type), type_name(theirs->type));
    size_t at = 0;
    for (size_t i = 0; i + 1 < theirs->elements; i += 2) {
        const char *k = theirs->element[i]->str;
        if (optional_field(k))
            continue;
        size_t j = at;
        while (j + 1 < ours->elements && strcmp(ours->element[j]->str, k) != 0)
            j += 2;
        if (j + 1 >= ours->elements)
            fail_msg("%s: field '%s' missing or out of redis-sentinel's order", what, k);
        if (ours->element[j + 1]->type != theirs->element[i + 1]->type)
            fail_msg("%s: field '%s' is a %s here, a %s in redis-sentinel", what, k,
                     type_name(ours->element[j + 1]->type),
                     type_name(theirs->element[i + 1]->type));
        at = j + 2;
    }
}

/* A list of instances: an array of maps (arrays in RESP2) on both sides,
 * with `n` entries here. */
static void same_list_shape(const kv_reply *ours, const kv_reply *theirs, size_t n,
                            const char *what)
{
    assert_non_null(ours);
    assert_non_null(theirs);
    if (ours->type != KV_REPLY_ARRAY || theirs->type != KV_REPLY_ARRAY)
        fail_msg("%s: %s here, %s in redis-sentinel", what, type_name(ours->type),
                 type_name(theirs->type));
    if (ours->elements != n)
        fail_msg("%s: %zu entries, expected %zu", what, ours->elements, n);
    if (theirs->elements == 0)
        fail_msg("%s: redis-sentinel listed nothing to compare with", what);
    for (size_t i = 0; i < ours->elements; i++)
        same_instance_shape(ours->element[i], theirs->element[0], what);
}

/* The same reply text and type on both (errors, status lines). */
static void same_reply(const kv_reply *ours, const kv_reply *theirs, const char *what)
{
    char a[512], b[512];
    h_reply_text(ours, a, sizeof a);
    h_reply_text(theirs, b, sizeof b);
    if (!ours || !theirs || ours->type != theirs->type || strcmp(a, b) != 0)
        fail_msg("%s: kvnode says %s, redis-sentinel says %s", what, a, b);
}

/* The port node i names as the primary: >0, 0 for null, -1 for no
 * answer or another shape. */
static int named_port(int i, const char *name)
{
    char line[128];
    snprintf(line, sizeof line, "SENTINEL GET-MASTER-ADDR-BY-NAME %s", name);
    kv_reply *r = hc_cmd(i, line);
    int port = -1;
    if (r && r->type == KV_REPLY_NIL)
        port = 0;
    else if (r && r->type == KV_REPLY_ARRAY && r->elements == 2 &&
             r->element[0]->type == KV_REPLY_STRING && !strcmp(r->element[0]->str, "127.0.0.1") &&
             r->element[1]->type == KV_REPLY_STRING)
        port = atoi(r->element[1]->str);
    kv_reply_free(r);
    return port;
}

typedef struct names_want {
    int nodes[3], n;
    int port; /* every listed node names this port */
} names_want;

static int all_name(void *arg)
{
    names_want *w = arg;
    for (int k = 0; k < w->n; k++)
        if (named_port(w->nodes[k], "kvnode") != w->port)
            return 0;
    return 1;
}

/* Has the server closed this idle connection? */
static int closed_by_server(kv_client *c)
{
    struct pollfd p = {.fd = kv_client_fd(c), .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return 0;
    char b;
    return recv(p.fd, &b, 1, MSG_PEEK) == 0;
}

typedef struct idle_conns {
    kv_client *c[4];
    int n;
} idle_conns;

static int all_closed(void *arg)
{
    idle_conns *ic = arg;
    for (int i = 0; i < ic->n; i++)
        if (!closed_by_server(ic->c[i]))
            return 0;
    return 1;
}

/* ---- Tests ---- */

/* Every subcommand against redis-sentinel 7.0.15 monitoring a redis-server
 * primary with two replicas, watched by three Sentinels: the same types,
 * at least the same fields in the same order, the same errors and status
 * lines, in RESP2 and RESP3. */
static void test_shapes_match_redis_sentinel(void **state)
{
    (void)state;
    if (access("/usr/bin/redis-server", X_OK) != 0) {
        skip();
        return;
    }
    /* The reference: a Redis trio and three Sentinels. */
    h_proc rs[3], sn[3];
    char dir[700], port[16];
    for (int i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/redis%d", hc_tmp, i);
        mkdir(dir, 0755);
        snprintf(port, sizeof port, "%d", rs[0].port);
        const char *rep[] = {"--replicaof", "127.0.0.1", port, NULL};
        assert_int_equal(h_redis_start(&rs[i], dir, i ? rep : NULL), 0);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/sentinel%d", hc_tmp, i);
        assert_int_equal(h_sentinel_start(&sn[i], dir, "kvnode", rs[0].port, 2, 5000), 0);
    }
    /* kvnode: a cluster of three. */
    hc_start_cluster(NULL);
    int l = hc_leader();
    assert_true(l >= 0);
    int f = (l + 1) % 3;
    /* Wait until the Sentinels know both replicas and each other. */
    long long deadline = h_now_ms() + 60000;
    int ready = 0;
    while (!ready && h_now_ms() < deadline) {
        kv_reply *m = on(sn[0].port, 0, "SENTINEL MASTER kvnode");
        ready = m && !strcmp(field_str(m, "num-slaves"), "2") &&
                !strcmp(field_str(m, "num-other-sentinels"), "2");
        kv_reply_free(m);
        if (!ready)
            usleep(100 * 1000);
    }
    assert_true(ready);

    int ports[2] = {hc_node[l].port, hc_node[f].port};
    for (int resp3 = 0; resp3 <= 1; resp3++) {
        for (int k = 0; k < 2; k++) {
            int p = ports[k];
            char what[160];
#define BOTH(line)                                                                              \
    kv_reply *ours = on(p, resp3, line), *theirs = on(sn[0].port, resp3, line);               \
    snprintf(what, sizeof what, "%s (RESP%d, %s)", line, resp3 ? 3 : 2, k ? "replica" : "primary")
            {
                BOTH("SENTINEL MASTERS");
                same_list_shape(ours, theirs, 1, what);
                assert_string_equal(field_str(ours->element[0], "flags"), "master");
                assert_int_equal(atoi(field_str(ours->element[0], "port")), hc_node[l].port);
                assert_string_equal(field_str(ours->element[0], "num-other-sentinels"), "2");
                assert_string_equal(field_str(ours->element[0], "quorum"), "2");
                kv_reply_free(ours);
                kv_reply_free(theirs);
            }
            {
                BOTH("SENTINEL MASTER kvnode");
                assert_non_null(ours);
                assert_non_null(theirs);
                same_instance_shape(ours, theirs, what);
                assert_string_equal(field_str(ours, "name"), "kvnode");
                kv_reply_free(ours);
                kv_reply_free(theirs);
            }
            const char *lists[] = {"SENTINEL REPLICAS kvnode", "SENTINEL SLAVES kvnode",
                                   "SENTINEL SENTINELS kvnode"};
            for (int j = 0; j < 3; j++) {
                BOTH(lists[j]);
                same_list_shape(ours, theirs, 2, what);
                for (size_t e = 0; j < 2 && e < ours->elements; e++) {
                    assert_int_equal(atoi(field_str(ours->element[e], "master-port")),
                                     hc_node[l].port);
                    assert_true(atoi(field_str(ours->element[e], "port")) != hc_node[l].port);
                }
                kv_reply_free(ours);
                kv_reply_free(theirs);
            }
            {
                BOTH("SENTINEL GET-MASTER-ADDR-BY-NAME kvnode");
                assert_non_null(ours);
                assert_non_null(theirs);
                assert_int_equal(ours->type, theirs->type);
                assert_int_equal(ours->elements, 2);
                assert_int_equal(ours->element[0]->type, theirs->element[0]->type);
                assert_int_equal(ours->element[1]->type, theirs->element[1]->type);
                assert_int_equal(atoi(ours->element[1]->str), hc_node[l].port);
                kv_reply_free(ours);
                kv_reply_free(theirs);
            }
            {
                BOTH("SENTINEL MYID");
                assert_non_null(ours);
                assert_int_equal(ours->type, theirs->type);
                assert_int_equal(ours->len, theirs->len);
                kv_reply_free(ours);
                kv_reply_free(theirs);
            }
            {
                BOTH("SENTINEL HELP");
                assert_non_null(ours);
                assert_int_equal(ours->type, theirs->type);
                for (size_t e = 0; e < ours->elements; e++)
                    assert_int_equal(ours->element[e]->type, theirs->element[0]->type);
                kv_reply_free(ours);
                kv_reply_free(theirs);
            }
            /* Same text: nulls, errors in Redis's order, the quorum line. */
            const char *same[] = {
                "SENTINEL GET-MASTER-ADDR-BY-NAME nosuch",
                "SENTINEL MASTER nosuch",
                "SENTINEL REPLICAS nosuch",
                "SENTINEL SLAVES nosuch",
                "SENTINEL SENTINELS nosuch",
                "SENTINEL CKQUORUM nosuch",
                "SENTINEL FAILOVER nosuch",
                "SENTINEL CKQUORUM kvnode",
                "SENTINEL MASTERS extra",
                "SENTINEL MASTER",
                "SENTINEL MASTER kvnode extra",
                "SENTINEL REPLICAS",
                "SENTINEL SENTINELS",
                "SENTINEL GET-MASTER-ADDR-BY-NAME",
                "SENTINEL CKQUORUM",
                "SENTINEL FAILOVER",
                "SENTINEL MYID extra",
                "SENTINEL HELP extra",
                "SENTINEL",
                "SENTINEL NOSUCHSUB",
            };
            for (size_t j = 0; j < sizeof same / sizeof *same; j++) {
                BOTH(same[j]);
                same_reply(ours, theirs, what);
                kv_reply_free(ours);
                kv_reply_free(theirs);
            }
#undef BOTH
        }
    }
    /* Valkey's names answer as the Redis ones. */
    kv_reply *a = on(ports[1], 1, "SENTINEL PRIMARIES");
    kv_reply *b = on(ports[1], 1, "SENTINEL MASTERS");
    same_list_shape(a, b, 1, "SENTINEL PRIMARIES");
    kv_reply_free(a);
    kv_reply_free(b);
    a = on(ports[1], 0, "SENTINEL GET-PRIMARY-ADDR-BY-NAME kvnode");
    assert_int_equal(a->type, KV_REPLY_ARRAY);
    assert_int_equal(atoi(a->element[1]->str), hc_node[l].port);
    kv_reply_free(a);
    /* A switchover asked of either: "+OK". */
    a = on(ports[0], 0, "SENTINEL FAILOVER kvnode");
    b = on(sn[0].port, 0, "SENTINEL FAILOVER kvnode");
    same_reply(a, b, "SENTINEL FAILOVER kvnode");
    kv_reply_free(a);
    kv_reply_free(b);
    for (int i = 0; i < 3; i++) {
        h_stop(&sn[i], SIGKILL, 5000);
        h_stop(&rs[i], SIGKILL, 5000);
    }
}

/* kill -9 of the primary: the survivors name the new one once it is
 * elected (and, until then, only a primary they heard within the election
 * timeout), close their idle client connections, and a restarted old
 * primary names the new one too. */
static void test_kill9_primary_followed(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    int l = hc_leader();
    assert_true(l >= 0);
    int a = (l + 1) % 3, b = (l + 2) % 3;
    names_want w = {{0, 1, 2}, 3, hc_node[l].port};
    assert_true(h_wait_until(all_name, &w, 10000));
    idle_conns ic = {{h_connect(hc_node[a].port), h_connect(hc_node[b].port)}, 2};
    assert_non_null(ic.c[0]);
    assert_non_null(ic.c[1]);
    assert_int_equal(h_stop(&hc_node[l], SIGKILL, 5000) >= 0, 1);
    hc_up[l] = 0;
    long long t0 = h_now_ms();
    int nl = -1;
    while (h_now_ms() - t0 < 20000) {
        int pa = named_port(a, "kvnode"), pb = named_port(b, "kvnode");
        /* Before the election: the old primary (heard lately) or null. */
        if (pa == hc_node[a].port || pa == hc_node[b].port) {
            if (pb == pa) {
                nl = pa == hc_node[a].port ? a : b;
                break;
            }
        } else if (pa != 0 && pa != hc_node[l].port) {
            fail_msg("node %d names port %d", a, pa);
        }
        usleep(20 * 1000);
    }
    if (nl < 0) {
        hc_dump_logs();
        fail_msg("no new primary named by both survivors within 20 s");
    }
    printf("new primary named by both survivors %lld ms after kill -9\n", h_now_ms() - t0);
    assert_true(h_wait_until(all_closed, &ic, 5000));
    kv_client_free(ic.c[0]);
    kv_client_free(ic.c[1]);
    kv_reply *m = hc_cmd(a, "SENTINEL MASTER kvnode");
    assert_string_equal(field_str(m, "flags"), "master");
    assert_int_equal(atoi(field_str(m, "port")), hc_node[nl].port);
    kv_reply_free(m);
    /* The old primary comes back and follows. */
    assert_int_equal(h_restart(&hc_node[l]), 0);
    hc_up[l] = 1;
    names_want all = {{0, 1, 2}, 3, hc_node[nl].port};
    if (!h_wait_until(all_name, &all, 20000)) {
        hc_dump_logs();
        fail_msg("the restarted node does not name the new primary");
    }
}

/* Does node i's SENTINEL REPLICAS list a replica on this port? */
typedef struct replica_port {
    int node, port;
} replica_port;

static int lists_replica_port(void *arg)
{
    replica_port *w = arg;
    kv_reply *r = hc_cmd(w->node, "SENTINEL REPLICAS kvnode");
    int found = 0;
    for (size_t k = 0; r && r->type == KV_REPLY_ARRAY && k < r->elements; k++)
        found |= atoi(field_str(r->element[k], "port")) == w->port;
    kv_reply_free(r);
    return found;
}

/* CONFIG SET port on a running member: the client address the membership
 * config records follows, for the leader (every node then names its new
 * port as the primary's) and for a follower (the leader's replica list
 * shows its new port). */
static void test_port_change_announced(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    int l = hc_leader();
    assert_true(l >= 0);
    names_want w = {{0, 1, 2}, 3, hc_node[l].port};
    assert_true(h_wait_until(all_name, &w, 10000));
    int p1 = h_free_port();
    char line[64];
    snprintf(line, sizeof line, "CONFIG SET port %d", p1);
    kv_reply *r = hc_cmd(l, line);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    hc_node[l].port = p1;
    w.port = p1;
    if (!h_wait_until(all_name, &w, 10000)) {
        hc_dump_logs();
        fail_msg("the nodes do not name the primary's new port %d", p1);
    }
    int a = (l + 1) % 3;
    int p2 = h_free_port();
    snprintf(line, sizeof line, "CONFIG SET port %d", p2);
    r = hc_cmd(a, line);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    hc_node[a].port = p2;
    replica_port rp = {l, p2};
    if (!h_wait_until(lists_replica_port, &rp, 10000)) {
        hc_dump_logs();
        fail_msg("the primary does not list the replica's new port %d", p2);
    }
    /* Reads and writes go on at the new ports. */
    r = hc_cmd(l, "SET moved 1");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
}

/* A primary stopped for longer than the election timeout is replaced;
 * when it resumes, its lease is over: it names nobody (and flags the
 * instance down) until it follows the new primary — never itself. */
static void test_stopped_primary_never_names_itself(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    int l = hc_leader();
    assert_true(l >= 0);
    assert_int_equal(kill(hc_node[l].pid, SIGSTOP), 0);
    hc_up[l] = 0;
    if (!h_wait_until(hc_other_leader, &l, 20000)) {
        kill(hc_node[l].pid, SIGCONT);
        hc_dump_logs();
        fail_msg("no election while the primary was stopped");
    }
    hc_up[l] = 1;
    int nl = -1;
    for (int i = 0; i < 3; i++) {
        if (i == l)
            continue;
        kv_reply *r = hc_cmd(i, "ROLE");
        if (r && r->type == KV_REPLY_ARRAY && !strcmp(r->element[0]->str, "master"))
            nl = i;
        kv_reply_free(r);
    }
    assert_true(nl >= 0);
    assert_int_equal(kill(hc_node[l].pid, SIGCONT), 0);
    long long t0 = h_now_ms();
    int answers = 0, nulls = 0, named = 0;
    while (h_now_ms() - t0 < 15000) {
        int p = named_port(l, "kvnode");
        answers++;
        if (p == hc_node[l].port)
            fail_msg("the resumed old primary named itself (answer %d)", answers);
        if (p == 0) {
            nulls++;
            kv_reply *m = hc_cmd(l, "SENTINEL MASTERS");
            const char *fl = m && m->type == KV_REPLY_ARRAY && m->elements == 1
                                 ? field_str(m->element[0], "flags")
                                 : "";
            /* It may have started following in between. */
            if (strcmp(fl, "master") != 0 && strstr(fl, "s_down") == NULL)
                fail_msg("a primary nobody vouches for has flags '%s'", fl);
            kv_reply_free(m);
        } else if (p == hc_node[nl].port) {
            named = 1;
            break;
        } else if (p != -1) {
            fail_msg("the resumed old primary named port %d", p);
        }
        usleep(10 * 1000);
    }
    printf("resumed old primary: %d answers (%d null) before it named the new primary\n",
           answers, nulls);
    assert_true(named);
}

static int ckquorum_ok3(void *arg)
{
    kv_reply *r = hc_cmd(*(int *)arg, "SENTINEL CKQUORUM kvnode");
    int ok = r && r->type == KV_REPLY_STATUS &&
             !strcmp(r->str,
                     "OK 3 usable Sentinels. Quorum and failover authorization can be reached");
    kv_reply_free(r);
    return ok;
}

/* SENTINEL FAILOVER on the primary hands over to another voter; on a
 * replica, that replica takes over. CKQUORUM on a node left alone says
 * NOQUORUM as Redis words it. */
static void test_sentinel_failover_and_ckquorum(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    int l = hc_leader();
    assert_true(l >= 0);
    kv_reply *r = hc_cmd(l, "SENTINEL FAILOVER kvnode");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    assert_string_equal(r->str, "OK");
    kv_reply_free(r);
    if (!h_wait_until(hc_other_leader, &l, 20000)) {
        hc_dump_logs();
        fail_msg("SENTINEL FAILOVER on the primary did not hand over");
    }
    int f = (hc_leader() + 1) % 3; /* a replica now */
    r = hc_cmd(f, "SENTINEL FAILOVER kvnode");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    names_want w = {{0, 1, 2}, 3, hc_node[f].port};
    if (!h_wait_until(all_name, &w, 20000)) {
        hc_dump_logs();
        fail_msg("SENTINEL FAILOVER on replica %d did not make it the primary", f);
    }
    /* Once the new leader heard both others (right after its election it
     * may have heard one): */
    assert_true(h_wait_until(ckquorum_ok3, &f, 5000));
    /* Alone: the two others killed. */
    int alone = (f + 1) % 3;
    for (int i = 0; i < 3; i++) {
        if (i != alone) {
            h_stop(&hc_node[i], SIGKILL, 5000);
            hc_up[i] = 0;
        }
    }
    long long t0 = h_now_ms();
    char last[512] = "";
    int ok = 0;
    while (!ok && h_now_ms() - t0 < 10000) {
        r = hc_cmd(alone, "SENTINEL CKQUORUM kvnode");
        h_reply_text(r, last, sizeof last);
        ok = r && r->type == KV_REPLY_ERROR &&
             !strcmp(r->str, "NOQUORUM 1 usable Sentinels. Not enough available Sentinels to "
                             "reach the specified quorum for this master. Not enough available "
                             "Sentinels to reach the majority and authorize a failover");
        kv_reply_free(r);
        if (!ok)
            usleep(50 * 1000);
    }
    if (!ok)
        fail_msg("CKQUORUM on a node left alone: %s", last);
    assert_int_equal(named_port(alone, "kvnode"), 0);
}

/* One node: it names itself; no replicas nor other Sentinels; the name is
 * a setting; requirepass applies to SENTINEL as to everything. */
static void test_single_node_name_and_auth(void **state)
{
    (void)state;
    const char *extra[] = {"--requirepass", "s3cret", "--sentinel-master-name", "orders", NULL};
    hc_start(0, -1, extra);
    kv_reply *r = hc_cmd(0, "SENTINEL MASTERS");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "NOAUTH Authentication required.");
    kv_reply_free(r);
    kv_client *c = h_connect(hc_node[0].port);
    r = h_cmd(c, "AUTH s3cret");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    char expect[16];
    snprintf(expect, sizeof expect, "%d", hc_node[0].port);
    r = h_cmd(c, "SENTINEL GET-MASTER-ADDR-BY-NAME orders");
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_string_equal(r->element[1]->str, expect);
    kv_reply_free(r);
    r = h_cmd(c, "SENTINEL GET-MASTER-ADDR-BY-NAME kvnode");
    assert_int_equal(r->type, KV_REPLY_NIL);
    kv_reply_free(r);
    r = h_cmd(c, "SENTINEL REPLICAS orders");
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 0);
    kv_reply_free(r);
    r = h_cmd(c, "SENTINEL SENTINELS orders");
    assert_int_equal(r->elements, 0);
    kv_reply_free(r);
    r = h_cmd(c, "SENTINEL MASTER orders");
    assert_string_equal(field_str(r, "num-other-sentinels"), "0");
    assert_string_equal(field_str(r, "quorum"), "1");
    kv_reply_free(r);
    r = h_cmd(c, "SENTINEL CKQUORUM orders");
    assert_string_equal(r->str,
                        "OK 1 usable Sentinels. Quorum and failover authorization can be reached");
    kv_reply_free(r);
    r = h_cmd(c, "SENTINEL FAILOVER orders");
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "NOGOODSLAVE No suitable replica to promote");
    kv_reply_free(r);
    r = h_cmd(c, "CONFIG SET sentinel-master-name kv2");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    r = h_cmd(c, "SENTINEL MASTER orders");
    assert_string_equal(r->str, "ERR No such master with that name");
    kv_reply_free(r);
    r = h_cmd(c, "SENTINEL MYID");
    kv_reply *id = h_cmd(c, "KVCLUSTER MEMBERS");
    assert_int_equal(r->type, KV_REPLY_STRING);
    assert_non_null(id);
    assert_int_equal(id->type, KV_REPLY_ARRAY);
    assert_string_equal(field_str(id->element[0], "id"), r->str);
    kv_reply_free(id);
    kv_reply_free(r);
    kv_client_free(c);
}

/* A subscriber's next message on channel (a RESP2 array or a RESP3
 * push "message" ch payload); its payload copied into out. 0 or -1. */
static int next_message(kv_client *c, const char *ch, char *out, size_t outlen)
{
    for (;;) {
        kv_reply *r;
        if (kv_client_read(c, &r) != 0)
            return -1;
        int ok = (r->type == KV_REPLY_ARRAY || r->type == KV_REPLY_PUSH) && r->elements == 3 &&
                 !strcmp(r->element[0]->str, "message") && !strcmp(r->element[1]->str, ch);
        if (ok)
            snprintf(out, outlen, "%s", r->element[2]->str);
        kv_reply_free(r);
        if (ok)
            return 0;
    }
}

/* A raw RESP3 connection (as go-redis opens one): commands written as
 * RESP, everything the server sends parsed with libkvclient's reader. */
typedef struct raw3 {
    int fd;
    kv_reader *rd;
} raw3;

static int raw3_open(raw3 *c, int port)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    c->rd = kv_reader_new(NULL);
    return c->rd ? 0 : -1;
}

static void raw3_close(raw3 *c)
{
    if (c->fd >= 0)
        close(c->fd);
    kv_reader_free(c->rd);
}

static int raw3_send(raw3 *c, int argc, const char *const *argv)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "$%zu\r\n%s\r\n", strlen(argv[i]),
                      argv[i]);
    return write(c->fd, buf, (size_t)n) == n ? 0 : -1;
}

/* The next thing the server sends (bounded: 10 s), or NULL. */
static kv_reply *raw3_next(raw3 *c)
{
    long long t0 = h_now_ms();
    for (;;) {
        kv_reply *r = NULL;
        if (kv_reader_get(c->rd, &r) != 0)
            return NULL;
        if (r)
            return r;
        long long left = 10000 - (h_now_ms() - t0);
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return NULL;
        char buf[4096];
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n <= 0 || kv_reader_feed(c->rd, buf, (size_t)n) != 0)
            return NULL;
    }
}

/* The next push `kind` on channel ch (payload or count into out). */
static int raw3_push(raw3 *c, const char *kind, const char *ch, char *out, size_t outlen)
{
    for (;;) {
        kv_reply *r = raw3_next(c);
        if (!r)
            return -1;
        int ok = r->type == KV_REPLY_PUSH && r->elements == 3 &&
                 !strcmp(r->element[0]->str, kind) && !strcmp(r->element[1]->str, ch);
        if (ok) {
            if (r->element[2]->type == KV_REPLY_INTEGER)
                snprintf(out, outlen, "%lld", r->element[2]->integer);
            else
                snprintf(out, outlen, "%s", r->element[2]->str);
        }
        kv_reply_free(r);
        if (ok)
            return 0;
    }
}

/* What Jedis (JedisSentinelPool) and go-redis (NewFailoverClient) send,
 * replayed: GET-MASTER-ADDR-BY-NAME on every node, SENTINEL SENTINELS to
 * learn the others, a subscription to +switch-master on each (RESP2, and
 * RESP3 with +replica-reconf-done as go-redis asks); after kill -9 of the
 * primary every surviving node tells its subscriber "+switch-master kvnode
 * <old> <new>" (and a replica "+slave-reconf-done"), keeps the subscriber
 * connected, and the address it names is a writable primary. */
static void test_jedis_goredis_transcripts(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    int l = hc_leader();
    assert_true(l >= 0);
    names_want w = {{0, 1, 2}, 3, hc_node[l].port};
    assert_true(h_wait_until(all_name, &w, 10000));
    kv_reply *r = hc_cmd((l + 1) % 3, "SENTINEL SENTINELS kvnode");
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    kv_reply_free(r);
    kv_client *jedis[3] = {0};
    raw3 goredis[3];
    for (int i = 0; i < 3; i++) {
        jedis[i] = h_connect(hc_node[i].port);
        assert_non_null(jedis[i]);
        r = h_cmd(jedis[i], "SUBSCRIBE +switch-master");
        assert_int_equal(r->type, KV_REPLY_ARRAY);
        assert_string_equal(r->element[0]->str, "subscribe");
        assert_string_equal(r->element[1]->str, "+switch-master");
        assert_int_equal(r->element[2]->integer, 1);
        kv_reply_free(r);
        assert_int_equal(raw3_open(&goredis[i], hc_node[i].port), 0);
        const char *hello[] = {"HELLO", "3"};
        assert_int_equal(raw3_send(&goredis[i], 2, hello), 0);
        r = raw3_next(&goredis[i]);
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_MAP);
        kv_reply_free(r);
        const char *chans[] = {"+switch-master", "+replica-reconf-done", "+slave-reconf-done"};
        const char *argv[] = {"SUBSCRIBE", chans[0], chans[1], chans[2]};
        assert_int_equal(raw3_send(&goredis[i], 4, argv), 0);
        for (int k = 0; k < 3; k++) {
            char n[16];
            assert_int_equal(raw3_push(&goredis[i], "subscribe", chans[k], n, sizeof n), 0);
            assert_int_equal(atoi(n), k + 1);
        }
    }
    assert_true(h_stop(&hc_node[l], SIGKILL, 5000) >= 0);
    hc_up[l] = 0;
    int nl = -1;
    for (int i = 0; i < 3; i++) {
        if (i == l)
            continue;
        char msg[512], expect_prefix[128];
        assert_int_equal(next_message(jedis[i], "+switch-master", msg, sizeof msg), 0);
        snprintf(expect_prefix, sizeof expect_prefix, "kvnode 127.0.0.1 %d 127.0.0.1 ",
                 hc_node[l].port);
        if (strncmp(msg, expect_prefix, strlen(expect_prefix)) != 0)
            fail_msg("node %d published +switch-master '%s'", i, msg);
        int port = atoi(msg + strlen(expect_prefix));
        char got[512];
        assert_int_equal(raw3_push(&goredis[i], "message", "+switch-master", got, sizeof got), 0);
        assert_string_equal(got, msg);
        if (nl < 0) {
            for (int k = 0; k < 3; k++)
                if (hc_node[k].port == port)
                    nl = k;
        }
        assert_int_equal(port, hc_node[nl].port);
        if (i != nl) {
            char reconf[512], want[512];
            assert_int_equal(
                raw3_push(&goredis[i], "message", "+slave-reconf-done", reconf, sizeof reconf), 0);
            snprintf(want, sizeof want, "slave 127.0.0.1:%d 127.0.0.1 %d @ kvnode 127.0.0.1 %d",
                     hc_node[i].port, hc_node[i].port, port);
            assert_string_equal(reconf, want);
        }
        /* Still subscribed: subscribers are not closed on the switch. */
        const char *ping[] = {"PING"};
        assert_int_equal(kv_client_append(jedis[i], 1, ping, NULL), 0);
        assert_int_equal(kv_client_read(jedis[i], &r), 0);
        assert_int_equal(r->type, KV_REPLY_ARRAY);
        assert_string_equal(r->element[0]->str, "pong");
        kv_reply_free(r);
    }
    assert_true(nl >= 0 && nl != l);
    /* The client's next step: the named address is a writable primary. */
    r = hc_cmd(nl, "ROLE");
    assert_string_equal(r->element[0]->str, "master");
    kv_reply_free(r);
    long long t0 = h_now_ms();
    int ok = 0;
    while (!ok && h_now_ms() - t0 < 10000) {
        r = hc_cmd(nl, "SET after-switch 1");
        ok = r && r->type == KV_REPLY_STATUS;
        kv_reply_free(r);
        if (!ok)
            usleep(20 * 1000);
    }
    assert_true(ok);
    for (int i = 0; i < 3; i++) {
        kv_client_free(jedis[i]);
        raw3_close(&goredis[i]);
    }
}

/* ---- kv_watch (libkvclient's libuv follower) ---- */

typedef struct watch_log {
    int port[16]; /* every reported primary, in order */
    int n;
} watch_log;

static void on_watch(kv_watch *w, const char *host, int port, void *data)
{
    (void)w;
    watch_log *log = data;
    assert_string_equal(host, "127.0.0.1");
    assert_true(log->n < 16);
    log->port[log->n++] = port;
}

typedef struct loop_wait {
    int (*pred)(void *arg);
    void *arg;
    long long deadline;
    int held;
} loop_wait;

static void on_check(uv_timer_t *t)
{
    loop_wait *lw = t->data;
    if (lw->pred(lw->arg))
        lw->held = 1;
    if (lw->held || h_now_ms() >= lw->deadline)
        uv_stop(t->loop);
}

/* Run the loop until pred holds (checked every 10 ms) or timeout_ms pass;
 * 1 if it held. */
static int loop_until(uv_loop_t *loop, int (*pred)(void *arg), void *arg, int timeout_ms)
{
    loop_wait lw = {pred, arg, h_now_ms() + timeout_ms, 0};
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &lw;
    uv_timer_start(&t, on_check, 10, 10);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return lw.held;
}

typedef struct want_report {
    watch_log *log;
    int count; /* at least this many reports */
} want_report;

static int has_reports(void *arg)
{
    want_report *w = arg;
    return w->log->n >= w->count;
}

/* kv_watch on the three nodes reports the primary, then each change: a
 * SENTINEL FAILOVER (from the +switch-master message) and a kill -9 of the
 * new primary (the connection drops; the next node names the winner once
 * it is elected) — the reports are exactly the primaries, in order, and
 * stopping leaves nothing running on the loop. */
static void test_kv_watch_follows_failovers(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    int l = hc_leader();
    assert_true(l >= 0);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    char seeds[128];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", hc_node[0].port,
             hc_node[1].port, hc_node[2].port);
    kv_options o;
    kv_options_init(&o);
    watch_log log = {{0}, 0};
    kv_watch *w = NULL;
    assert_int_equal(kv_watch_start(&w, &loop, "not a seed list", &o, on_watch, &log), KV_EINVAL);
    assert_int_equal(kv_watch_start(&w, &loop, seeds, &o, on_watch, &log), 0);
    want_report one = {&log, 1};
    if (!loop_until(&loop, has_reports, &one, 10000))
        fail_msg("kv_watch reported no primary within 10 s");
    assert_int_equal(log.port[0], hc_node[l].port);
    char host[64];
    int port = 0;
    assert_true(kv_watch_primary(w, host, sizeof host, &port));
    assert_int_equal(port, hc_node[l].port);

    /* A switchover: the node the watch listens to publishes +switch-master. */
    kv_reply *r = hc_cmd(l, "SENTINEL FAILOVER kvnode");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    long long t0 = h_now_ms();
    want_report two = {&log, 2};
    if (!loop_until(&loop, has_reports, &two, 20000)) {
        hc_dump_logs();
        fail_msg("kv_watch saw no switchover within 20 s");
    }
    printf("kv_watch reported the switchover %lld ms after SENTINEL FAILOVER\n",
           h_now_ms() - t0);
    int nl = hc_leader();
    assert_true(nl >= 0 && nl != l);
    assert_int_equal(log.port[1], hc_node[nl].port);

    /* kill -9 of the new primary. */
    assert_true(h_stop(&hc_node[nl], SIGKILL, 5000) >= 0);
    hc_up[nl] = 0;
    t0 = h_now_ms();
    want_report three = {&log, 3};
    if (!loop_until(&loop, has_reports, &three, 20000)) {
        hc_dump_logs();
        fail_msg("kv_watch saw no new primary within 20 s of kill -9");
    }
    printf("kv_watch reported the new primary %lld ms after kill -9\n", h_now_ms() - t0);
    assert_true(log.port[2] != hc_node[nl].port);
    int winner = log.port[2] == hc_node[l].port ? l : (3 - l - nl);
    assert_int_equal(log.port[2], hc_node[winner].port);
    names_want both = {{l, 3 - l - nl}, 2, hc_node[winner].port};
    assert_true(h_wait_until(all_name, &both, 10000));
    assert_int_equal(log.n, 3);

    kv_watch_stop(w);
    kv_watch_stop(w); /* twice is harmless */
    uv_run(&loop, UV_RUN_DEFAULT); /* returns once the watch has closed */
    assert_int_equal(log.n, 3);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* kv_watch on three redis-sentinel 7.0.15 watching a redis-server trio:
 * the same client follows Redis Sentinel's failover — the primary, then
 * the replica Sentinel promotes. */
static void test_kv_watch_follows_redis_sentinel(void **state)
{
    (void)state;
    if (access("/usr/bin/redis-server", X_OK) != 0 || access("/usr/bin/redis-sentinel", X_OK) != 0) {
        skip();
        return;
    }
    h_proc rs[3], sn[3];
    char dir[700], port[16];
    for (int i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/wredis%d", hc_tmp, i);
        mkdir(dir, 0755);
        snprintf(port, sizeof port, "%d", rs[0].port);
        const char *rep[] = {"--replicaof", "127.0.0.1", port, NULL};
        assert_int_equal(h_redis_start(&rs[i], dir, i ? rep : NULL), 0);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/wsentinel%d", hc_tmp, i);
        assert_int_equal(h_sentinel_start(&sn[i], dir, "kvnode", rs[0].port, 2, 5000), 0);
    }
    long long deadline = h_now_ms() + 60000;
    int ready = 0;
    while (!ready && h_now_ms() < deadline) {
        kv_reply *m = on(sn[0].port, 0, "SENTINEL MASTER kvnode");
        ready = m && !strcmp(field_str(m, "num-slaves"), "2") &&
                !strcmp(field_str(m, "num-other-sentinels"), "2");
        kv_reply_free(m);
        if (!ready)
            usleep(100 * 1000);
    }
    assert_true(ready);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    char seeds[128];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", sn[0].port,
             sn[1].port, sn[2].port);
    watch_log log = {{0}, 0};
    kv_watch *w = NULL;
    assert_int_equal(kv_watch_start(&w, &loop, seeds, NULL, on_watch, &log), 0);
    want_report one = {&log, 1};
    assert_true(loop_until(&loop, has_reports, &one, 10000));
    assert_int_equal(log.port[0], rs[0].port);
    kv_reply *r = on(sn[0].port, 0, "SENTINEL FAILOVER kvnode");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    long long t0 = h_now_ms();
    want_report two = {&log, 2};
    assert_true(loop_until(&loop, has_reports, &two, 60000));
    printf("kv_watch reported Redis Sentinel's failover %lld ms after SENTINEL FAILOVER\n",
           h_now_ms() - t0);
    assert_true(log.port[1] == rs[1].port || log.port[1] == rs[2].port);
    kv_watch_stop(w);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    for (int i = 0; i < 3; i++) {
        h_stop(&sn[i], SIGKILL, 5000);
        h_stop(&rs[i], SIGKILL, 5000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_node_name_and_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shapes_match_redis_sentinel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_primary_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_change_announced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped_primary_never_names_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel_failover_and_ckquorum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jedis_goredis_transcripts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv_watch_follows_failovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv_watch_follows_redis_sentinel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
