/* cluster.c — see cluster.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

char *hc_tmp;
h_proc hc_node[HC_MAX];
int hc_up[HC_MAX];
int hc_n;

void hc_setup(const char *tag)
{
    hc_tmp = h_tmpdir(tag);
    hc_n = 0;
    memset(hc_node, 0, sizeof hc_node);
    memset(hc_up, 0, sizeof hc_up);
}

void hc_teardown(void)
{
    for (int i = 0; i < hc_n; i++)
        h_stop(&hc_node[i], SIGKILL, 5000);
    h_stop_all();
    h_rmrf(hc_tmp);
    free(hc_tmp);
    hc_tmp = NULL;
}


/* Start node i (data in hc_tmp/n<i>) with extra arguments; joining the
 * cluster of node `of` when of >= 0. Election timeout 1 s (the default). */
void hc_start(int i, int of, const char *const *extra)
{
    char dir[600], port[16];
    snprintf(dir, sizeof dir, "%s/n%d", hc_tmp, i);
    const char *args[32];
    int n = 0;
    if (of >= 0) {
        snprintf(port, sizeof port, "%d", hc_node[of].port);
        args[n++] = "--replicaof";
        args[n++] = "127.0.0.1";
        args[n++] = port;
    }
    for (int k = 0; extra && extra[k]; k++)
        args[n++] = extra[k];
    args[n] = NULL;
    assert_int_equal(h_kvnode_start(&hc_node[i], dir, args), 0);
    hc_up[i] = 1;
    if (i >= hc_n)
        hc_n = i + 1;
}

/* The last lines of node i's log, to explain a failure. */
void hc_dump_log(int i)
{
    FILE *f = fopen(hc_node[i].log, "r");
    if (!f)
        return;
    static char lines[60][512];
    int n = 0;
    while (fgets(lines[n % 60], sizeof lines[0], f))
        n++;
    fclose(f);
    fprintf(stderr, "---- last lines of node %d's log (%s) ----\n", i, hc_node[i].log);
    for (int k = n > 60 ? n - 60 : 0; k < n; k++)
        fputs(lines[k % 60], stderr);
}

void hc_dump_logs(void)
{
    for (int i = 0; i < hc_n; i++)
        hc_dump_log(i);
}

/* One command on a new connection to node i; NULL if the node does not
 * accept a connection or never answers. A node closes its ordinary
 * connections when its primary changes (as Sentinel has a Redis do): a
 * connection accepted but closed without a reply is retried, at most 10
 * times. */
kv_reply *hc_cmd(int i, const char *line)
{
    char buf[4096];
    const char *argv[128];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *tok = strtok(buf, " "); tok && argc < 128; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    for (int attempt = 0; attempt < 10; attempt++) {
        kv_client *c = h_connect(hc_node[i].port);
        if (!c)
            return NULL;
        kv_reply *r = NULL;
        int rc = kv_client_command(c, argc, argv, NULL, &r);
        kv_client_free(c);
        if (rc == 0)
            return r;
        if (rc != KV_ECLOSED && rc != KV_EIO && rc != KV_EUNKNOWN)
            return NULL; /* a timeout (a stopped node): no retry */
    }
    return NULL;
}

/* A field of INFO <section> on node i as a number (-1 if absent or the
 * node does not answer). */
long long hc_info(int i, const char *section, const char *field)
{
    char line[64];
    snprintf(line, sizeof line, "INFO %s", section);
    kv_reply *r = hc_cmd(i, line);
    long long v = -1;
    if (r && r->type == KV_REPLY_STRING) {
        char key[128];
        snprintf(key, sizeof key, "\n%s:", field);
        char *p = strstr(r->str, key);
        if (p)
            v = atoll(p + strlen(key));
    }
    kv_reply_free(r);
    return v;
}

/* The node that leads (ROLE says master), or -1. */
int hc_leader(void)
{
    for (int i = 0; i < hc_n; i++) {
        if (!hc_up[i])
            continue;
        kv_reply *r = hc_cmd(i, "ROLE");
        int m = r && r->type == KV_REPLY_ARRAY && r->elements >= 1 &&
                !strcmp(r->element[0]->str, "master");
        kv_reply_free(r);
        if (m)
            return i;
    }
    return -1;
}

/* A leader other than `not`. */
int hc_other_leader(void *arg)
{
    int l = hc_leader();
    return l >= 0 && l != *(int *)arg;
}

int hc_has_voters(void *arg)
{
    hc_voters_want *v = arg;
    return hc_info(v->node, "replication", "voters") == v->voters &&
           hc_info(v->node, "replication", "members") == v->voters;
}

/* A 3-node cluster: node 0 founds it, nodes 1 and 2 join and become voters. */
void hc_start_cluster(const char *const *extra)
{
    hc_start(0, -1, extra);
    hc_start(1, 0, extra);
    hc_start(2, 0, extra);
    hc_voters_want v = {0, 3};
    if (!h_wait_until(hc_has_voters, &v, 30000)) {
        hc_dump_logs();
        fail_msg("the cluster did not reach 3 voters");
    }
}


void hc_digest(int i, char out[64])
{
    kv_reply *r = hc_cmd(i, "DEBUG DIGEST");
    h_reply_text(r, out, 64); /* "(null)"-like text when there is no answer */
    kv_reply_free(r);
}

typedef struct hc_pair {
    int i, l;
} hc_pair;

static int caught_up(void *arg)
{
    hc_pair *p = arg;
    long long last = hc_info(p->l, "replication", "master_repl_offset");
    return last > 0 && hc_info(p->i, "replication", "master_repl_offset") == last &&
           hc_info(p->i, "replication", "applied_lsn") == last &&
           hc_info(p->l, "replication", "commit_lsn") == last;
}

void hc_wait_caught_up(int i, int l, int ms)
{
    hc_pair p = {i, l};
    if (!h_wait_until(caught_up, &p, ms)) {
        hc_dump_logs();
        fail_msg("node %d did not catch up with node %d in %d ms", i, l, ms);
    }
}

typedef struct hc_digest_pair {
    int a, b;
    char x[64], y[64];
} hc_digest_pair;

static int same_digest(void *arg)
{
    hc_digest_pair *d = arg;
    hc_digest(d->a, d->x);
    hc_digest(d->b, d->y);
    return d->x[0] == '+' && strcmp(d->x, d->y) == 0;
}

void hc_assert_same_digest(int a, int b, int ms)
{
    hc_digest_pair d = {a, b, "", ""};
    if (!h_wait_until(same_digest, &d, ms)) {
        hc_dump_logs();
        fail_msg("node %d digest %s, node %d digest %s", a, d.x, b, d.y);
    }
}
