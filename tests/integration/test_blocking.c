/* test_blocking.c — blocking pops (BLPOP, BLMOVE, BZPOPMIN, BLMPOP, BZMPOP …)
 * on real kvnode processes: what the differential scripts
 * (pubsub/blocking_*.txt) cannot compare with redis-server because it
 * involves client ids, kvnode's own INFO fields, restarts or a cluster.
 *
 * Single node: CLIENT UNBLOCK of real client ids (TIMEOUT, ERROR, WAIT);
 * INFO clients and CLIENT LIST while clients wait; a blocking command
 * counted once in commandstats; FIFO order among many clients; a client
 * that disconnects while blocked; served pops logged so that kill -9 and
 * restart give the same DEBUG DIGEST.
 *
 * Cluster of three: replicas refuse blocking pops (-READONLY); a served pop
 * reaches the replicas; FAILOVER releases the clients blocked on the old
 * primary with Redis's -UNBLOCKED error and they can block again on the
 * new one; a pop served on a primary that can no longer commit is never
 * revealed to its client (closed without it when the primary steps down).
 * A randomized mix checks that no element is ever delivered twice or lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "harness.h"

/* ---- Helpers: raw connections that may wait for a reply ---- */

typedef struct conn {
    int fd;
    kv_reader *rd;
} conn;

static void conn_open(conn *c, int port)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rd = kv_reader_new(NULL);
}

static void conn_close(conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    kv_reader_free(c->rd);
    c->rd = NULL;
}

/* Send a command split on spaces. */
static void conn_send(conn *c, const char *line)
{
    char buf[1024], *argv[32];
    snprintf(buf, sizeof buf, "%s", line);
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 32; t = strtok(NULL, " "))
        argv[argc++] = t;
    char out[2048];
    size_t len;
    assert_int_equal(kv_format_command(out, sizeof out, &len, argc, (const char *const *)argv,
                                       NULL),
                     0);
    assert_int_equal(send(c->fd, out, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* The next reply within ms: 0 and *r, 1 on EOF, -1 on timeout. */
static int conn_read(conn *c, kv_reply **r, int ms)
{
    long long deadline = h_now_ms() + ms;
    *r = NULL;
    for (;;) {
        if (kv_reader_get(c->rd, r) != 0)
            return -1;
        if (*r)
            return 0;
        long long left = deadline - h_now_ms();
        if (left < 0)
            left = 0;
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0) {
            if (left == 0)
                return -1; /* ms 0: only what is there already */
            continue;
        }
        char buf[65536];
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n <= 0)
            return 1;
        kv_reader_feed(c->rd, buf, (size_t)n);
    }
}

/* The next reply's text (h_reply_text), "(eof)" or "(timeout)". */
static void conn_expect(conn *c, int ms, const char *want)
{
    kv_reply *r;
    int rc = conn_read(c, &r, ms);
    char text[1024];
    if (rc == 0)
        h_reply_text(r, text, sizeof text);
    else
        snprintf(text, sizeof text, "%s", rc == 1 ? "(eof)" : "(timeout)");
    kv_reply_free(r);
    if (strcmp(text, want) != 0)
        fail_msg("expected %s, got %s", want, text);
}

static long long cmd_int(kv_client *k, const char *line)
{
    kv_reply *r = h_cmd(k, line);
    assert_non_null(r);
    if (r->type != KV_REPLY_INTEGER)
        fail_msg("%s: not an integer reply (%s)", line, r->str ? r->str : "?");
    long long v = r->integer;
    kv_reply_free(r);
    return v;
}

static void cmd_expect(kv_client *k, const char *line, const char *want)
{
    kv_reply *r = h_cmd(k, line);
    assert_non_null(r);
    char text[1024];
    h_reply_text(r, text, sizeof text);
    kv_reply_free(r);
    if (strcmp(text, want) != 0)
        fail_msg("%s: expected %s, got %s", line, want, text);
}

/* A numeric INFO field of the server k is connected to (-1: absent). */
static long long info_of(kv_client *k, const char *section, const char *field)
{
    char line[64];
    snprintf(line, sizeof line, "INFO %s", section);
    kv_reply *r = h_cmd(k, line);
    long long v = -1;
    char pat[128];
    snprintf(pat, sizeof pat, "\n%s:", field);
    const char *p = r && r->str ? strstr(r->str, pat) : NULL;
    if (p)
        v = atoll(p + strlen(pat));
    kv_reply_free(r);
    return v;
}

typedef struct blocked_want {
    int port;
    long long n;
} blocked_want;

static int blocked_is(void *arg)
{
    blocked_want *w = arg;
    kv_client *k = h_connect(w->port);
    if (!k)
        return 0;
    long long n = info_of(k, "clients", "blocked_clients");
    kv_client_free(k);
    return n == w->n;
}

static void wait_blocked(int port, long long n)
{
    blocked_want w = {port, n};
    if (!h_wait_until(blocked_is, &w, 10000))
        fail_msg("blocked_clients did not reach %lld", n);
}

static void digest(kv_client *k, char out[64])
{
    kv_reply *r = h_cmd(k, "DEBUG DIGEST");
    assert_non_null(r);
    h_reply_text(r, out, 64);
    kv_reply_free(r);
}

/* ---- Fixture ---- */

static h_proc node;
static char *tmp;

static int setup_node(void **state)
{
    (void)state;
    tmp = h_tmpdir("blocking");
    const char *extra[] = {"--save", "", NULL};
    return h_kvnode_start(&node, tmp, extra);
}

/* Does the node's log report a sanitizer finding (a leak shows at exit)? */
static int log_has_sanitizer_report(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "Sanitizer") || strstr(line, "runtime error")) {
            fputs(line, stderr);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

static int teardown_node(void **state)
{
    (void)state;
    int st = h_stop(&node, SIGTERM, 10000);
    int bad = st != 0 || log_has_sanitizer_report(node.log);
    if (bad)
        fprintf(stderr, "kvnode exit status %d; see the report above\n", st);
    h_rmrf(tmp);
    free(tmp);
    return bad ? -1 : 0;
}

static int setup_cluster(void **state)
{
    (void)state;
    hc_setup("blocking");
    return 0;
}

static int teardown_cluster(void **state)
{
    (void)state;
    hc_teardown();
    return 0;
}

/* ---- Tests: one node ---- */

/* CLIENT UNBLOCK ends a block as a timeout (nil) or with -UNBLOCKED, also
 * for WAIT, answers 0 for a client that is not blocked; the client then
 * works normally (Redis's "client unblock tests"). */
static void test_client_unblock(void **state)
{
    (void)state;
    kv_client *k = h_connect(node.port);
    conn a;
    conn_open(&a, node.port);
    conn_send(&a, "CLIENT ID");
    kv_reply *r;
    assert_int_equal(conn_read(&a, &r, 5000), 0);
    long long id = r->integer;
    kv_reply_free(r);
    char line[64];

    conn_send(&a, "BLPOP l 0");
    wait_blocked(node.port, 1);
    snprintf(line, sizeof line, "CLIENT UNBLOCK %lld", id);
    assert_int_equal(cmd_int(k, line), 1);
    conn_expect(&a, 5000, "(nil)");

    conn_send(&a, "BZPOPMIN z 0");
    wait_blocked(node.port, 1);
    snprintf(line, sizeof line, "CLIENT UNBLOCK %lld TIMEOUT", id);
    assert_int_equal(cmd_int(k, line), 1);
    conn_expect(&a, 5000, "(nil)");

    conn_send(&a, "BLMOVE l m LEFT RIGHT 0");
    wait_blocked(node.port, 1);
    snprintf(line, sizeof line, "CLIENT UNBLOCK %lld error", id);
    assert_int_equal(cmd_int(k, line), 1);
    conn_expect(&a, 5000, "-UNBLOCKED client unblocked via CLIENT UNBLOCK");

    /* WAIT on a node without replicas blocks until its timeout. */
    conn_send(&a, "WAIT 1 0");
    wait_blocked(node.port, 1);
    snprintf(line, sizeof line, "CLIENT UNBLOCK %lld", id);
    assert_int_equal(cmd_int(k, line), 1);
    conn_expect(&a, 5000, ":0");

    /* Not blocked (itself, or an unknown id). */
    long long myid = cmd_int(k, "CLIENT ID");
    snprintf(line, sizeof line, "CLIENT UNBLOCK %lld", myid);
    assert_int_equal(cmd_int(k, line), 0);
    assert_int_equal(cmd_int(k, "CLIENT UNBLOCK 99999999"), 0);

    /* Pipelined after the blocking command: runs once it is unblocked. */
    conn_send(&a, "BLPOP l 0");
    conn_send(&a, "PING");
    wait_blocked(node.port, 1);
    snprintf(line, sizeof line, "CLIENT UNBLOCK %lld", id);
    assert_int_equal(cmd_int(k, line), 1);
    conn_expect(&a, 5000, "(nil)");
    conn_expect(&a, 5000, "+PONG");

    /* Still functional. */
    conn_send(&a, "BLPOP l 0");
    wait_blocked(node.port, 1);
    assert_int_equal(cmd_int(k, "LPUSH l foo"), 1);
    conn_expect(&a, 5000, "[\"l\" \"foo\"]");
    conn_close(&a);
    kv_client_free(k);
}

/* While clients wait: INFO clients counts them, the keys they wait on and
 * those with a timeout; CLIENT LIST shows flags=b and the command. A
 * client that disconnects while blocked is forgotten: a later push stays
 * in the list. */
static void test_info_and_disconnect(void **state)
{
    (void)state;
    kv_client *k = h_connect(node.port);
    conn a, b;
    conn_open(&a, node.port);
    conn_open(&b, node.port);
    conn_send(&a, "BLPOP k1 k2 k1 0");
    conn_send(&b, "BZPOPMAX k2 z3 100");
    wait_blocked(node.port, 2);
    assert_int_equal(info_of(k, "clients", "blocked_clients"), 2);
    assert_int_equal(info_of(k, "clients", "total_blocking_keys"), 3);
    assert_int_equal(info_of(k, "clients", "clients_in_timeout_table"), 1);
    kv_reply *r = h_cmd(k, "CLIENT LIST");
    assert_non_null(r);
    assert_non_null(strstr(r->str, "flags=b "));
    assert_non_null(strstr(r->str, "cmd=blpop"));
    assert_non_null(strstr(r->str, "cmd=bzpopmax"));
    kv_reply_free(r);
    conn_close(&a);
    wait_blocked(node.port, 1);
    assert_int_equal(info_of(k, "clients", "total_blocking_keys"), 2);
    conn_close(&b);
    wait_blocked(node.port, 0);
    assert_int_equal(info_of(k, "clients", "total_blocking_keys"), 0);
    assert_int_equal(info_of(k, "clients", "clients_in_timeout_table"), 0);
    assert_int_equal(cmd_int(k, "RPUSH k1 x"), 1);
    assert_int_equal(cmd_int(k, "ZADD k2 1 m"), 1);
    cmd_expect(k, "LRANGE k1 0 -1", "[\"x\"]");
    assert_int_equal(cmd_int(k, "DEL k1 k2"), 2);
    kv_client_free(k);
}

/* A blocking command counts once in commandstats, served or timed out;
 * a served pop counts in rdb_changes_since_last_save with the push (Redis's
 * "BLPOP/BLMOVE should increase dirty"). */
static void test_commandstats_and_dirty(void **state)
{
    (void)state;
    kv_client *k = h_connect(node.port);
    conn a;
    conn_open(&a, node.port);
    cmd_expect(k, "CONFIG RESETSTAT", "+OK");
    long long dirty = info_of(k, "persistence", "rdb_changes_since_last_save");
    conn_send(&a, "BLPOP mylist 0");
    wait_blocked(node.port, 1);
    assert_int_equal(cmd_int(k, "LPUSH mylist 1"), 1);
    conn_expect(&a, 5000, "[\"mylist\" \"1\"]");
    assert_int_equal(info_of(k, "persistence", "rdb_changes_since_last_save"), dirty + 2);
    kv_reply *r = h_cmd(k, "INFO commandstats");
    assert_non_null(strstr(r->str, "cmdstat_blpop:calls=1,"));
    assert_non_null(strstr(r->str, "rejected_calls=0,failed_calls=0"));
    kv_reply_free(r);
    cmd_expect(k, "CONFIG RESETSTAT", "+OK");
    conn_send(&a, "BLPOP mylist 0.05");
    conn_expect(&a, 5000, "(nil)");
    r = h_cmd(k, "INFO commandstats");
    assert_non_null(strstr(r->str, "cmdstat_blpop:calls=1,"));
    kv_reply_free(r);
    conn_close(&a);
    kv_client_free(k);
}

/* Twenty clients blocked on one key are served in the order they blocked,
 * one element each; served pops, moves and sorted set pops are logged so
 * that the node recovers the same keyspace after kill -9. */
static void test_fifo_and_restart(void **state)
{
    (void)state;
    enum { N = 20 };
    kv_client *k = h_connect(node.port);
    conn cs[N];
    for (int i = 0; i < N; i++) {
        conn_open(&cs[i], node.port);
        conn_send(&cs[i], i % 2 ? "BRPOP fifo 0" : "BLPOP fifo 0");
        wait_blocked(node.port, i + 1);
    }
    for (int i = 0; i < N; i++) {
        char line[64], want[64];
        snprintf(line, sizeof line, "RPUSH fifo e%d", i);
        assert_int_equal(cmd_int(k, line), 1);
        snprintf(want, sizeof want, "[\"fifo\" \"e%d\"]", i);
        conn_expect(&cs[i], 5000, want);
    }
    assert_int_equal(cmd_int(k, "EXISTS fifo"), 0);
    /* One of each serve, left with data behind. */
    conn_send(&cs[0], "BLMOVE src dst RIGHT LEFT 0");
    conn_send(&cs[1], "BZPOPMIN zs 0");
    conn_send(&cs[2], "BLMPOP 0 2 m1 m2 LEFT COUNT 2");
    conn_send(&cs[3], "BZMPOP 0 1 zm MAX COUNT 2");
    conn_send(&cs[4], "BRPOPLPUSH src2 dst 0");
    wait_blocked(node.port, 5);
    assert_int_equal(cmd_int(k, "RPUSH src a b c"), 3);
    assert_int_equal(cmd_int(k, "ZADD zs 1 x 2 y 3 z"), 3);
    assert_int_equal(cmd_int(k, "RPUSH m2 1 2 3"), 3);
    assert_int_equal(cmd_int(k, "ZADD zm 1 p 2 q 3 r"), 3);
    assert_int_equal(cmd_int(k, "RPUSH src2 s"), 1);
    conn_expect(&cs[0], 5000, "\"c\"");
    conn_expect(&cs[1], 5000, "[\"zs\" \"x\" \"1\"]");
    conn_expect(&cs[2], 5000, "[\"m2\" [\"1\" \"2\"]]");
    conn_expect(&cs[3], 5000, "[\"zm\" [[\"r\" \"3\"] [\"q\" \"2\"]]]");
    conn_expect(&cs[4], 5000, "\"s\"");
    cmd_expect(k, "LRANGE dst 0 -1", "[\"s\" \"c\"]");
    for (int i = 0; i < N; i++)
        conn_close(&cs[i]);
    char before[64], after[64];
    digest(k, before);
    kv_client_free(k);
    h_stop(&node, SIGKILL, 5000);
    assert_int_equal(h_restart(&node), 0);
    k = h_connect(node.port);
    assert_non_null(k);
    digest(k, after);
    assert_string_equal(before, after);
    cmd_expect(k, "LRANGE src 0 -1", "[\"a\" \"b\"]");
    cmd_expect(k, "ZRANGE zs 0 -1", "[\"y\" \"z\"]");
    cmd_expect(k, "LRANGE m2 0 -1", "[\"3\"]");
    cmd_expect(k, "ZRANGE zm 0 -1", "[\"p\"]");
    kv_client_free(k);
}

/* ---- A randomized mix ---- */

enum { SN = 24, SMAX = 200000 };

typedef struct sconn {
    conn c;
    int pending;   /* a command was sent and not answered */
    int maxtake;   /* elements its pending command may consume */
    long long sent_ms;
    int rolled;    /* decided whether to leave while it waits */
} sconn;

static unsigned char seen[SMAX]; /* element n: times consumed or found */

/* Record the elements a reply consumed ("e<n>" / "z<n>" strings). */
static void note_elems(const kv_reply *r, int nested_skip_scores)
{
    if (!r)
        return;
    if (r->type == KV_REPLY_STRING && r->len > 1 && (r->str[0] == 'e' || r->str[0] == 'z')) {
        long n = atol(r->str + 1);
        if (n >= 0 && n < SMAX)
            seen[n]++;
        return;
    }
    for (size_t i = 0; i < r->elements; i++)
        note_elems(r->element[i], nested_skip_scores);
}

static void sopen(sconn *x, int port)
{
    conn_open(&x->c, port);
    x->pending = 0;
}

/* 24 clients send a random mix of pushes and blocking pops (short and
 * infinite timeouts, several keys, BLMOVE between the lists) and some
 * disconnect while blocked, for about 3 s: no element is ever delivered
 * twice or lost (consumed + left = pushed, but for pops whose client left
 * before reading), the node ends with no blocked client or key, and kill -9
 * recovers the same keyspace. */
static void test_random_mix(void **state)
{
    (void)state;
    memset(seen, 0, sizeof seen);
    static sconn cs[SN];
    for (int i = 0; i < SN; i++)
        sopen(&cs[i], node.port);
    unsigned seed = 12345;
    long next = 0, unread_max = 0;
    long long end = h_now_ms() + 3000;
    while (h_now_ms() < end && next < SMAX - 10) {
        for (int i = 0; i < SN; i++) {
            sconn *x = &cs[i];
            if (x->pending) {
                kv_reply *r;
                int rc = conn_read(&x->c, &r, 0);
                if (rc == 1)
                    fail_msg("connection %d closed by the node", i);
                if (rc == 0) {
                    if (r->type == KV_REPLY_ERROR)
                        fail_msg("error reply: %s", r->str);
                    if (x->maxtake)
                        note_elems(r, 0);
                    kv_reply_free(r);
                    x->pending = 0;
                } else if (!x->rolled && h_now_ms() - x->sent_ms > 40) {
                    x->rolled = 1;
                    seed = seed * 1103515245 + 12345;
                    if ((seed >> 16) % 4)
                        continue;
                    /* Leave while blocked (or while the reply travels). */
                    unread_max += x->maxtake;
                    conn_close(&x->c);
                    sopen(x, node.port);
                }
                continue;
            }
            seed = seed * 1103515245 + 12345;
            int kind = (int)((seed >> 16) % 10), a = (int)((seed >> 8) % 4), b = (a + 1) % 4;
            char line[128];
            x->maxtake = 0;
            switch (kind) {
            case 0:
            case 1:
                snprintf(line, sizeof line, "RPUSH L%d e%ld e%ld", a, next, next + 1);
                next += 2;
                break;
            case 2:
                snprintf(line, sizeof line, "ZADD Z%d %ld z%ld", a % 2, next, next);
                next++;
                break;
            case 3:
                snprintf(line, sizeof line, "BLPOP L%d L%d 0.0%d", a, b, 1 + a);
                x->maxtake = 1;
                break;
            case 4:
                snprintf(line, sizeof line, "BRPOP L%d %s", a, a ? "0.03" : "0");
                x->maxtake = 1;
                break;
            case 5:
                snprintf(line, sizeof line, "BLMOVE L%d L%d LEFT RIGHT 0.0%d", a, b, 1 + b);
                break;
            case 6:
                snprintf(line, sizeof line, "BLMPOP 0.02 2 L%d L%d RIGHT COUNT 2", a, b);
                x->maxtake = 2;
                break;
            case 7:
                snprintf(line, sizeof line, "BZPOPMIN Z%d 0.02", a % 2);
                x->maxtake = 1;
                break;
            case 8:
                snprintf(line, sizeof line, "BZMPOP 0.0%d 2 Z0 Z1 MAX COUNT 3", 1 + a);
                x->maxtake = 3;
                break;
            default:
                snprintf(line, sizeof line, "LPUSH L%d e%ld", b, next);
                next++;
                break;
            }
            conn_send(&x->c, line);
            x->pending = 1;
            x->sent_ms = h_now_ms();
            x->rolled = 0;
        }
    }
    /* Leave: whatever a pending pop took is unknown (bounded). */
    for (int i = 0; i < SN; i++) {
        if (cs[i].pending)
            unread_max += cs[i].maxtake;
        conn_close(&cs[i].c);
    }
    wait_blocked(node.port, 0);
    kv_client *k = h_connect(node.port);
    assert_int_equal(info_of(k, "clients", "total_blocking_keys"), 0);
    assert_int_equal(info_of(k, "clients", "clients_in_timeout_table"), 0);
    for (int i = 0; i < 4; i++) {
        char line[64];
        snprintf(line, sizeof line, "LRANGE L%d 0 -1", i);
        kv_reply *r = h_cmd(k, line);
        note_elems(r, 0);
        kv_reply_free(r);
    }
    for (int i = 0; i < 2; i++) {
        char line[64];
        snprintf(line, sizeof line, "ZRANGE Z%d 0 -1", i);
        kv_reply *r = h_cmd(k, line);
        note_elems(r, 0);
        kv_reply_free(r);
    }
    long missing = 0;
    for (long n = 0; n < next; n++) {
        if (seen[n] > 1)
            fail_msg("element %ld delivered or kept %d times", n, seen[n]);
        missing += seen[n] == 0;
    }
    printf("  %ld elements pushed, %ld taken by clients that left (at most %ld)\n", next,
           missing, unread_max);
    assert_true(next > 100);
    assert_true(missing <= unread_max);
    char before[64], after[64];
    digest(k, before);
    kv_client_free(k);
    h_stop(&node, SIGKILL, 5000);
    assert_int_equal(h_restart(&node), 0);
    k = h_connect(node.port);
    assert_non_null(k);
    digest(k, after);
    assert_string_equal(before, after);
    kv_client_free(k);
}

/* ---- Tests: cluster ---- */

static int leader_is(void *arg)
{
    return hc_leader() == *(int *)arg;
}

static void node_digest(int i, char out[64])
{
    kv_reply *r = hc_cmd(i, "DEBUG DIGEST");
    if (r)
        h_reply_text(r, out, 64);
    else
        snprintf(out, 64, "(no answer)");
    kv_reply_free(r);
}

/* Every node has the same DEBUG DIGEST. */
static int digests_agree(void *arg)
{
    (void)arg;
    char a[64], b[64], c[64];
    node_digest(0, a);
    node_digest(1, b);
    node_digest(2, c);
    return !strcmp(a, b) && !strcmp(a, c) && a[0] == '+';
}

/* Replicas refuse blocking pops like any write; a pop served on the
 * primary reaches them; FAILOVER releases the clients blocked on the old
 * primary with Redis's -UNBLOCKED error (and closes them), and clients
 * block and are served on the new primary. */
static void test_failover_releases_blocked(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    kv_reply *r = hc_cmd(1, "BLPOP q 0");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ERROR);
    assert_string_equal(r->str, "READONLY You can't write against a read only replica.");
    kv_reply_free(r);
    r = hc_cmd(2, "BZMPOP 0 1 z MIN");
    assert_string_equal(r->str, "READONLY You can't write against a read only replica.");
    kv_reply_free(r);

    kv_client *k = h_connect(hc_node[0].port);
    conn served;
    conn_open(&served, hc_node[0].port);
    conn_send(&served, "BLPOP q 0");
    wait_blocked(hc_node[0].port, 1);
    assert_int_equal(cmd_int(k, "RPUSH q a b"), 2);
    conn_expect(&served, 5000, "[\"q\" \"a\"]");
    conn_close(&served);

    enum { N = 4 };
    static const char *const cmds[N] = {"BLPOP w1 0", "BZPOPMIN w2 0", "BLMOVE w3 w4 LEFT LEFT 0",
                                        "BLMPOP 100 2 w5 w6 LEFT"};
    conn cs[N];
    for (int i = 0; i < N; i++) {
        conn_open(&cs[i], hc_node[0].port);
        conn_send(&cs[i], cmds[i]);
    }
    wait_blocked(hc_node[0].port, N);
    char line[64];
    snprintf(line, sizeof line, "FAILOVER TO 127.0.0.1 %d", hc_node[2].port);
    cmd_expect(k, line, "+OK");
    kv_client_free(k);
    int two = 2;
    assert_true(h_wait_until(leader_is, &two, 15000));
    for (int i = 0; i < N; i++) {
        conn_expect(&cs[i], 10000,
                    "-UNBLOCKED force unblock from blocking operation, instance state "
                    "changed (master -> replica?)");
        conn_expect(&cs[i], 10000, "(eof)");
        conn_close(&cs[i]);
    }
    /* Nothing was popped by the release. */
    k = h_connect(hc_node[2].port);
    cmd_expect(k, "LRANGE q 0 -1", "[\"b\"]");
    conn again;
    conn_open(&again, hc_node[2].port);
    conn_send(&again, "BLPOP w1 0");
    wait_blocked(hc_node[2].port, 1);
    assert_int_equal(cmd_int(k, "RPUSH w1 x"), 1);
    conn_expect(&again, 5000, "[\"w1\" \"x\"]");
    conn_close(&again);
    kv_client_free(k);
    r = hc_cmd(0, "BLPOP w1 0");
    assert_string_equal(r->str, "READONLY You can't write against a read only replica.");
    kv_reply_free(r);
    /* The served pops were replicated as their effects: all nodes agree. */
    if (!h_wait_until(digests_agree, NULL, 20000)) {
        char a[64], b[64], c[64];
        node_digest(0, a);
        node_digest(1, b);
        node_digest(2, c);
        for (int i = 0; i < 3; i++) {
            kv_reply *keys = hc_cmd(i, "KEYS *");
            char t[512];
            h_reply_text(keys, t, sizeof t);
            kv_reply_free(keys);
            printf("  node %d: %s\n", i, t);
        }
        hc_dump_logs();
        fail_msg("the nodes' digests differ: %s %s %s", a, b, c);
    }
}

static int not_leader(void *arg)
{
    kv_reply *r = hc_cmd(*(int *)arg, "ROLE");
    int yes = r && r->type == KV_REPLY_ARRAY && r->elements &&
              strcmp(r->element[0]->str, "master") != 0;
    kv_reply_free(r);
    return yes;
}

/* A primary whose followers are gone still takes a push and serves a
 * blocked client with it, but cannot commit: the popped value is never
 * sent. When it steps down, that client is closed without it, and a
 * client still blocked gets -UNBLOCKED. */
static void test_uncommitted_pop_never_revealed(void **state)
{
    (void)state;
    hc_start_cluster(NULL);
    conn served, waiting, pusher;
    conn_open(&served, hc_node[0].port);
    conn_open(&waiting, hc_node[0].port);
    conn_open(&pusher, hc_node[0].port);
    conn_send(&served, "BLPOP lost 0");
    conn_send(&waiting, "BZPOPMIN other 0");
    wait_blocked(hc_node[0].port, 2);
    h_stop(&hc_node[1], SIGKILL, 5000);
    h_stop(&hc_node[2], SIGKILL, 5000);
    hc_up[1] = hc_up[2] = 0;
    conn_send(&pusher, "RPUSH lost v");
    /* The leader may have stepped down already (CheckQuorum): then the
     * push is refused; either way no value reaches the blocked client. */
    int zero = 0;
    assert_true(h_wait_until(not_leader, &zero, 20000));
    kv_reply *r;
    int rc = conn_read(&served, &r, 10000);
    if (rc == 0) {
        char text[512];
        h_reply_text(r, text, sizeof text);
        kv_reply_free(r);
        /* Released before the push was taken: Redis's error, never the value. */
        if (strcmp(text, "-UNBLOCKED force unblock from blocking operation, instance state "
                         "changed (master -> replica?)") != 0)
            fail_msg("the blocked client got %s", text);
    } else {
        assert_int_equal(rc, 1); /* closed without a reply */
    }
    /* The client still blocked is released with Redis's error — or only
     * closed, if its blocking request itself still waited for entries
     * that will never commit (the reply barrier drops what it held). */
    rc = conn_read(&waiting, &r, 10000);
    if (rc == 0) {
        char text[512];
        h_reply_text(r, text, sizeof text);
        kv_reply_free(r);
        if (strcmp(text, "-UNBLOCKED force unblock from blocking operation, instance state "
                         "changed (master -> replica?)") != 0)
            fail_msg("the client still blocked got %s", text);
        conn_expect(&waiting, 10000, "(eof)");
    } else {
        assert_int_equal(rc, 1);
    }
    rc = conn_read(&pusher, &r, 10000);
    if (rc == 0) {
        char text[512];
        h_reply_text(r, text, sizeof text);
        kv_reply_free(r);
        if (text[0] != '-') /* refused, never acknowledged */
            fail_msg("the push was answered %s", text);
    }
    conn_close(&served);
    conn_close(&waiting);
    conn_close(&pusher);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest node_tests[] = {
        cmocka_unit_test(test_client_unblock),
        cmocka_unit_test(test_info_and_disconnect),
        cmocka_unit_test(test_commandstats_and_dirty),
        cmocka_unit_test(test_fifo_and_restart),
        cmocka_unit_test(test_random_mix),
    };
    const struct CMUnitTest cluster_tests[] = {
        cmocka_unit_test_setup_teardown(test_failover_releases_blocked, setup_cluster,
                                        teardown_cluster),
        cmocka_unit_test_setup_teardown(test_uncommitted_pop_never_revealed, setup_cluster,
                                        teardown_cluster),
    };
    int only_cluster = argc > 1 && !strcmp(argv[1], "cluster");
    int only_node = argc > 1 && !strcmp(argv[1], "node");
    int rc = 0;
    if (!only_cluster)
        rc |= cmocka_run_group_tests_name("blocking_node", node_tests, setup_node, teardown_node);
    if (!only_node)
        rc |= cmocka_run_group_tests_name("blocking_cluster", cluster_tests, NULL, NULL);
    return rc;
}
