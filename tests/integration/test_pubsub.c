/* test_pubsub.c — Pub/Sub and keyspace notifications against redis-server.
 *
 * Part 1, differential: every tests/integration/pubsub/<name>.txt script
 * runs on a real redis-server (Debian's 7.0) and on kvnode, with up to 26
 * connections per server (subscribers, publishers), over raw sockets read
 * with libkvclient's pure RESP reader, so RESP2 subscribed mode and RESP3
 * push frames are seen exactly as sent. After each command every open
 * connection is synchronized (a PING with a unique argument, answered in
 * the shape of its mode) and everything each connection received meanwhile
 * — replies, messages, pushes, in order — must be identical on both
 * servers. Script syntax:
 *
 *   # comment                     (blank lines too)
 *   A: SUBSCRIBE ch               run on connection A (opened on first use)
 *   @sorted B: PUBSUB CHANNELS    compare array replies with sorted elements
 *   @unordered A: UNSUBSCRIBE     compare frames in any order, their counts
 *                                 as a sorted list (Redis's dict order)
 *   @run A: HELLO 3               run, do not compare (ids differ)
 *   @noint A: CLIENT TRACKINGINFO compare with every integer masked (a
 *                                 client id inside a reply or a push)
 *   @await A: MSET a 1            (RESP3) read A's reply (and the pushes
 *                                 before it) before synchronizing A, so
 *                                 that what the server sends after that
 *                                 reply in the same turn (a broadcast
 *                                 invalidation) is not raced by the PING
 *   A: CLIENT TRACKING on REDIRECT $B
 *                                 an argument $X is connection X's client id
 *                                 on each server (opened if need be)
 *   @fields f1,f2 A: CLIENT INFO  compare only these fields of the reply
 *                                 ("f=v" words or "f:v" lines)
 *   @close A                      close connection A on both servers
 *   @sleep MS                     pause (expiry)
 *   @waitempty                    wait (bounded) until both databases are
 *                                 empty (active expiry has run)
 *   @block A: BLPOP l 0           send without waiting for a reply; wait
 *                                 (bounded) until the server counts one more
 *                                 blocked client; A is not synchronized
 *                                 until @sync A
 *   @sync A                       synchronize A again: what it received
 *                                 meanwhile (its blocked command's reply)
 *                                 is compared
 *
 * A connection inside MULTI is not synchronized (its PING would be
 * queued): what it receives is compared at its next synchronization. Each
 * script starts from an empty database and notify-keyspace-events "".
 *
 * Part 2, kvnode's own guarantees: a subscriber that stops reading is cut
 * off by the pubsub output buffer limit (Redis's log line and stat) while
 * other clients keep being served; subscribers on a replica receive what
 * is published on the primary, after the data written before it, and the
 * replica announces the keyspace events of what it applies; and a message
 * is held, like a reply, until the writes before it are committed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"

#define IO_TIMEOUT_MS 10000
#define NCONN 26

/* ---- Raw connections ---- */

typedef struct conn {
    int fd;          /* -1: closed */
    kv_reader *rd;
    int in_multi;
    int blocked;     /* sent a blocking command: not synchronized until @sync */
} conn;

/* A connection's frames received during one step (NULL: it closed). */
typedef struct frames {
    kv_reply **r;
    size_t n, cap;
} frames;

/* Takes r (NULL records the connection's end). */
static void frames_add(frames *f, kv_reply *r)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->r = realloc(f->r, f->cap * sizeof *f->r);
    }
    f->r[f->n++] = r;
}

static void frames_free(frames *f)
{
    for (size_t i = 0; i < f->n; i++)
        kv_reply_free(f->r[i]);
    free(f->r);
    memset(f, 0, sizeof *f);
}

static int conn_open(conn *c, int port)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rd = kv_reader_new(NULL);
    c->in_multi = 0;
    c->blocked = 0;
    return 0;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    kv_reader_free(c->rd);
    c->rd = NULL;
}

static int conn_send(conn *c, int argc, const char *const *argv, const size_t *lens)
{
    size_t need = 0;
    kv_format_command(NULL, 0, &need, argc, argv, lens);
    char *buf = malloc(need);
    size_t len;
    kv_format_command(buf, need, &len, argc, argv, lens);
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n <= 0) {
            free(buf);
            return -1;
        }
        off += (size_t)n;
    }
    free(buf);
    return 0;
}

/* The next frame, waiting at most timeout_ms for bytes. 0 and *r; 1 on
 * EOF; -1 on timeout or error. */
static int conn_read(conn *c, kv_reply **r, int timeout_ms)
{
    long long deadline = h_now_ms() + timeout_ms;
    for (;;) {
        if (kv_reader_get(c->rd, r) != 0)
            return -1;
        if (*r)
            return 0;
        long long left = deadline - h_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char buf[65536];
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0)
            return 1;
        if (n < 0)
            return -1;
        kv_reader_feed(c->rd, buf, (size_t)n);
    }
}

static int is_marker(const kv_reply *r, const char *mk)
{
    size_t ml = strlen(mk);
    if (r->type == KV_REPLY_STRING)
        return r->len == ml && !memcmp(r->str, mk, ml);
    /* RESP2 subscribed mode: ["pong", mk] (an array, never a push). */
    return r->type == KV_REPLY_ARRAY && r->elements == 2 &&
           r->element[0]->type == KV_REPLY_STRING && r->element[0]->len == 4 &&
           !memcmp(r->element[0]->str, "pong", 4) && is_marker(r->element[1], mk);
}

/* Everything c receives up to the reply to a PING with a fresh marker. 0,
 * 1 if the connection ended (recorded in f, and c closed), or -1 on a
 * timeout, with what came so far in f. */
static int conn_sync(conn *c, frames *f)
{
    static unsigned seq;
    char mk[32];
    snprintf(mk, sizeof mk, "~sync~%u", ++seq);
    const char *argv[2] = {"PING", mk};
    conn_send(c, 2, argv, NULL); /* a closed peer shows as EOF below */
    for (;;) {
        kv_reply *r = NULL;
        int rc = conn_read(c, &r, IO_TIMEOUT_MS);
        if (rc == 1) {
            frames_add(f, NULL);
            conn_close(c);
            return 1;
        }
        if (rc)
            return -1;
        if (is_marker(r, mk)) {
            kv_reply_free(r);
            return 0;
        }
        frames_add(f, r);
    }
}

/* ---- Fixture ---- */

static h_proc redis, kv;
static char *tmp;
static conn rconn[NCONN], kconn[NCONN];

static void close_all(void)
{
    for (int i = 0; i < NCONN; i++) {
        conn_close(&rconn[i]);
        conn_close(&kconn[i]);
    }
}

static int group_setup(void **state)
{
    (void)state;
    tmp = h_tmpdir("pubsub");
    char rdir[600], kdir[600];
    snprintf(rdir, sizeof rdir, "%s/redis", tmp);
    snprintf(kdir, sizeof kdir, "%s/kv", tmp);
    mkdir(rdir, 0755);
    const char *rextra[] = {"--enable-debug-command", "yes", NULL};
    if (h_redis_start(&redis, rdir, rextra) != 0)
        return -1;
    const char *extra[] = {"--save", "", NULL};
    if (h_kvnode_start(&kv, kdir, extra) != 0)
        return -1;
    for (int i = 0; i < NCONN; i++)
        rconn[i].fd = kconn[i].fd = -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    close_all();
    h_stop(&kv, SIGTERM, 10000);
    h_stop(&redis, SIGTERM, 10000);
    h_rmrf(tmp);
    free(tmp);
    return 0;
}

/* ---- Helpers ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The listed fields of a text reply ("f=v" words or "f:v" lines). */
static void pick_fields(const char *text, const char *fields, char *out, size_t len)
{
    out[0] = '\0';
    char list[256];
    snprintf(list, sizeof list, "%s", fields);
    for (char *f = strtok(list, ","); f; f = strtok(NULL, ",")) {
        size_t fl = strlen(f);
        const char *p = text, *v = NULL;
        while (text && (p = strstr(p, f))) {
            int start = p == text || p[-1] == ' ' || p[-1] == '\n';
            if (start && (p[fl] == '=' || p[fl] == ':')) {
                v = p + fl + 1;
                break;
            }
            p += fl;
        }
        size_t vl = v ? strcspn(v, " \r\n") : 0;
        size_t at = strlen(out);
        snprintf(out + at, len - at, "%s=%.*s ", f, (int)vl, v ? v : "?");
    }
}

/* Every integer of r (and its elements) set to 0 (@noint). */
static void mask_ints(kv_reply *r)
{
    if (!r)
        return;
    if (r->type == KV_REPLY_INTEGER)
        r->integer = 0;
    for (size_t i = 0; i < r->elements; i++)
        mask_ints(r->element[i]);
}

static void text_of(const kv_reply *r, char *buf, size_t len)
{
    if (r)
        h_reply_text(r, buf, len);
    else
        snprintf(buf, len, "(connection closed)");
}

/* The text of an array reply with its elements sorted (Redis lists
 * channels in its dict's order). */
static void sorted_text(const kv_reply *r, char *buf, size_t len)
{
    if (!r || r->type != KV_REPLY_ARRAY) {
        text_of(r, buf, len);
        return;
    }
    char **items = calloc(r->elements ? r->elements : 1, sizeof *items);
    for (size_t i = 0; i < r->elements; i++) {
        items[i] = malloc(4096);
        h_reply_text(r->element[i], items[i], 4096);
    }
    if (r->elements)
        qsort(items, r->elements, sizeof *items, cmp_str);
    size_t at = (size_t)snprintf(buf, len, "sorted[");
    for (size_t i = 0; i < r->elements; i++) {
        if (at < len)
            at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? " " : "", items[i]);
        free(items[i]);
    }
    if (at < len)
        snprintf(buf + at, len - at, "]");
    free(items);
}

/* Canonical text of one connection's frames under a mode:
 *   exact      every frame in order
 *   sorted     the same, each array reply's elements sorted
 *   unordered  frames in any order; a confirmation's count (the last
 *              element of [(un)subscribe name count]) is taken out and
 *              the counts compared as a sorted list, since they depend on
 *              the order (Redis's dict order for UNSUBSCRIBE with no
 *              names, for the patterns matching one message)
 *   fields     only the listed fields of string replies */
static void canon(frames *f, const char *mode, const char *fields, char *out, size_t len)
{
    out[0] = '\0';
    char **texts = calloc(f->n ? f->n : 1, sizeof *texts);
    long long *counts = calloc(f->n ? f->n : 1, sizeof *counts);
    size_t ncounts = 0;
    for (size_t i = 0; i < f->n; i++) {
        kv_reply *r = f->r[i];
        texts[i] = malloc(1 << 16);
        if (!strcmp(mode, "noint"))
            mask_ints(r);
        if (fields) {
            pick_fields(r && r->str ? r->str : NULL, fields, texts[i], 1 << 16);
        } else if (!strcmp(mode, "sorted")) {
            sorted_text(r, texts[i], 1 << 16);
        } else if (!strcmp(mode, "unordered") && r &&
                   (r->type == KV_REPLY_ARRAY || r->type == KV_REPLY_PUSH) && r->elements == 3 &&
                   r->element[2]->type == KV_REPLY_INTEGER) {
            counts[ncounts++] = r->element[2]->integer;
            r->element[2]->integer = -999;
            text_of(r, texts[i], 1 << 16);
        } else {
            text_of(r, texts[i], 1 << 16);
        }
    }
    if (!strcmp(mode, "unordered") && f->n) {
        qsort(texts, f->n, sizeof *texts, cmp_str);
        for (size_t i = 1; i < ncounts; i++)
            for (size_t j = i; j > 0 && counts[j - 1] > counts[j]; j--) {
                long long t = counts[j];
                counts[j] = counts[j - 1];
                counts[j - 1] = t;
            }
    }
    size_t at = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (at < len)
            at += (size_t)snprintf(out + at, len - at, "%s | ", texts[i]);
        free(texts[i]);
    }
    for (size_t i = 0; i < ncounts && at < len; i++)
        at += (size_t)snprintf(out + at, len - at, "%scount %lld", i ? ", " : "", counts[i]);
    free(texts);
    free(counts);
}

static int ensure_open(conn *c, int port)
{
    return c->fd >= 0 ? 0 : conn_open(c, port);
}

/* INFO clients' blocked_clients of the server on port, or -1. */
static long long blocked_clients(int port)
{
    kv_client *k = h_connect(port);
    if (!k)
        return -1;
    kv_reply *r = h_cmd(k, "INFO clients");
    long long n = -1;
    const char *p = r && r->type != KV_REPLY_ERROR && r->str ? strstr(r->str, "blocked_clients:")
                                                             : NULL;
    if (p)
        n = atoll(p + 16);
    kv_reply_free(r);
    kv_client_free(k);
    return n;
}

/* Wait (at most 5 s) until the server on port counts `want` blocked
 * clients. */
static int wait_blocked(int port, long long want)
{
    long long deadline = h_now_ms() + 5000;
    for (;;) {
        long long n = blocked_clients(port);
        if (n == want)
            return 0;
        if (h_now_ms() > deadline)
            return -1;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The client id the server on port gave connection c: its CLIENT LIST
 * line, found by c's address. -1 if not found. */
static long long conn_id(conn *c, int port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    if (getsockname(c->fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    char needle[64];
    snprintf(needle, sizeof needle, " addr=127.0.0.1:%d ", ntohs(a.sin_port));
    kv_client *k = h_connect(port);
    if (!k)
        return -1;
    kv_reply *r = h_cmd(k, "CLIENT LIST");
    long long id = -1;
    const char *at = r && r->str ? strstr(r->str, needle) : NULL;
    if (at) {
        const char *line = at;
        while (line > r->str && line[-1] != '\n')
            line--;
        if (!strncmp(line, "id=", 3))
            id = atoll(line + 3);
    }
    kv_reply_free(r);
    kv_client_free(k);
    return id;
}

/* Replace each argument "$X" (X a connection letter) by X's client id on
 * the server of cs (ids[] holds the text). 0, or -1 with why. */
static int subst_ids(conn *cs, int port, int argc, char **argv, size_t *lens, char ids[][24],
                     char *why, size_t wlen)
{
    for (int i = 0; i < argc; i++) {
        if (lens[i] != 2 || argv[i][0] != '$' || argv[i][1] < 'A' || argv[i][1] > 'Z')
            continue;
        conn *x = &cs[argv[i][1] - 'A'];
        long long id = ensure_open(x, port) < 0 ? -1 : conn_id(x, port);
        if (id < 0) {
            snprintf(why, wlen, "no client id for %s", argv[i]);
            return -1;
        }
        snprintf(ids[i], 24, "%lld", id);
        argv[i] = ids[i];
        lens[i] = strlen(ids[i]);
    }
    return 0;
}

/* A command on a connection of one server; its frames and every other
 * connection's since the last step, into got[]. block: the command blocks
 * (see @block). 0, or -1 with why. */
static int step(conn *cs, int port, int who, int argc, const char *const *argv,
                const size_t *lens, frames *got, char *why, size_t wlen, int block, int await)
{
    conn *c = &cs[who];
    if (ensure_open(c, port) < 0) {
        snprintf(why, wlen, "cannot connect");
        return -1;
    }
    long long before = block ? blocked_clients(port) : 0;
    if (conn_send(c, argc, argv, lens) < 0) {
        snprintf(why, wlen, "send failed");
        return -1;
    }
    if (block) {
        c->blocked = 1;
        if (before < 0 || wait_blocked(port, before + 1) < 0) {
            snprintf(why, wlen, "connection %c did not block", 'A' + who);
            return -1;
        }
    }
    int multi = !strcasecmp(argv[0], "MULTI");
    int ends = !strcasecmp(argv[0], "EXEC") || !strcasecmp(argv[0], "DISCARD") ||
               !strcasecmp(argv[0], "RESET");
    if (block) {
        /* no reply yet */
    } else if (!strcasecmp(argv[0], "QUIT") || ((multi || c->in_multi) && !ends)) {
        /* Exactly one reply (QUEUED, +OK …); QUIT's is followed by EOF. */
        kv_reply *r = NULL;
        if (conn_read(c, &r, IO_TIMEOUT_MS) != 0) {
            snprintf(why, wlen, "no reply");
            return -1;
        }
        if (multi && r->type == KV_REPLY_STATUS)
            c->in_multi = 1;
        frames_add(&got[who], r);
        if (!strcasecmp(argv[0], "QUIT")) {
            r = NULL;
            int rc = conn_read(c, &r, IO_TIMEOUT_MS);
            kv_reply_free(r);
            conn_close(c);
            if (rc != 1) {
                snprintf(why, wlen, "QUIT did not close the connection");
                return -1;
            }
        }
    } else {
        if (ends)
            c->in_multi = 0;
        while (await) {
            kv_reply *r = NULL;
            if (conn_read(c, &r, IO_TIMEOUT_MS) != 0) {
                snprintf(why, wlen, "no reply");
                return -1;
            }
            await = r->type == KV_REPLY_PUSH;
            frames_add(&got[who], r);
        }
        if (conn_sync(c, &got[who]) < 0) {
            snprintf(why, wlen, "connection %c did not answer", 'A' + who);
            return -1;
        }
    }
    for (int i = 0; i < NCONN; i++) {
        if (i == who || cs[i].fd < 0 || cs[i].in_multi || cs[i].blocked)
            continue;
        if (conn_sync(&cs[i], &got[i]) < 0) {
            snprintf(why, wlen, "connection %c did not answer", 'A' + i);
            return -1;
        }
    }
    return 0;
}

/* Fresh state on both servers: no connections, no data, no events. */
static void reset_servers(void)
{
    close_all();
    h_proc *procs[2] = {&redis, &kv};
    for (int i = 0; i < 2; i++) {
        kv_client *c = h_connect(procs[i]->port);
        assert_non_null(c);
        const char *cmds[] = {"FLUSHALL", "DEBUG SET-ACTIVE-EXPIRE 1", NULL};
        for (int k = 0; cmds[k]; k++)
            kv_reply_free(h_cmd(c, cmds[k]));
        const char *n[] = {"CONFIG", "SET", "notify-keyspace-events", ""};
        kv_reply_free(h_cmdv(c, 4, n, NULL));
        const char *o[] = {"CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60"};
        kv_reply_free(h_cmdv(c, 4, o, NULL));
        kv_client_free(c);
    }
}

/* Wait until a server's DBSIZE is 0 (at most 10 s). */
static int wait_empty(int port)
{
    kv_client *c = h_connect(port);
    if (!c)
        return -1;
    long long deadline = h_now_ms() + 10000;
    int empty = 0;
    while (!empty && h_now_ms() < deadline) {
        kv_reply *r = h_cmd(c, "DBSIZE");
        empty = r && r->type == KV_REPLY_INTEGER && r->integer == 0;
        kv_reply_free(r);
        if (!empty) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    kv_client_free(c);
    return empty ? 0 : -1;
}

static int run_script(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    reset_servers();
    char line[65536];
    static char storage[65536], a[1 << 18], b[1 << 18];
    int lineno = 0, failures = 0, commands = 0;
    while (fgets(line, sizeof line, f) && failures < 20) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        const char *mode = "exact";
        char fields[256] = "";
        int block = 0, await = 0;
        if (*p == '@') {
            char *sp = strchr(p, ' ');
            size_t dl = sp ? (size_t)(sp - p) : strlen(p);
            if (!strncmp(p, "@sleep", dl)) {
                int ms = atoi(sp ? sp + 1 : "0");
                struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
                nanosleep(&ts, NULL);
                continue;
            }
            if (!strncmp(p, "@waitempty", dl)) {
                if (wait_empty(redis.port) < 0 || wait_empty(kv.port) < 0) {
                    fprintf(stderr, "%s:%d: keys did not expire\n", path, lineno);
                    failures++;
                }
                continue;
            }
            if (!strncmp(p, "@close", dl) && sp) {
                int who = sp[1] - 'A';
                if (who >= 0 && who < NCONN) {
                    conn_close(&rconn[who]);
                    conn_close(&kconn[who]);
                }
                continue;
            }
            if (!strncmp(p, "@sync", dl) && sp) {
                int who = sp[1] - 'A';
                if (who < 0 || who >= NCONN || rconn[who].fd < 0 || kconn[who].fd < 0) {
                    fprintf(stderr, "%s:%d: @sync of a connection never opened\n", path, lineno);
                    failures++;
                    continue;
                }
                frames rf = {0}, kf = {0};
                rconn[who].blocked = kconn[who].blocked = 0;
                int rr = conn_sync(&rconn[who], &rf), kr = conn_sync(&kconn[who], &kf);
                canon(&rf, "exact", NULL, a, sizeof a);
                canon(&kf, "exact", NULL, b, sizeof b);
                if (rr < 0 || kr < 0 || strcmp(a, b) != 0) {
                    fprintf(stderr, "%s:%d: %s\n  redis (%d):  %.3000s\n  kvnode (%d): %.3000s\n",
                            path, lineno, p, rr, a, kr, b);
                    failures++;
                }
                frames_free(&rf);
                frames_free(&kf);
                commands++;
                continue;
            }
            if (!strncmp(p, "@block", dl))
                block = 1;
            else if (!strncmp(p, "@await", dl))
                await = 1;
            else if (!strncmp(p, "@sorted", dl))
                mode = "sorted";
            else if (!strncmp(p, "@unordered", dl))
                mode = "unordered";
            else if (!strncmp(p, "@run", dl))
                mode = "run";
            else if (!strncmp(p, "@noint", dl))
                mode = "noint";
            else if (!strncmp(p, "@fields", dl) && sp) {
                char *sp2 = strchr(sp + 1, ' ');
                if (!sp2) {
                    fprintf(stderr, "%s:%d: @fields needs a list and a command\n", path, lineno);
                    failures++;
                    continue;
                }
                snprintf(fields, sizeof fields, "%.*s", (int)(sp2 - sp - 1), sp + 1);
                sp = sp2;
                mode = "fields";
            } else {
                fprintf(stderr, "%s:%d: unknown directive\n", path, lineno);
                failures++;
                continue;
            }
            p = sp ? sp + 1 : p + dl;
        }
        if (p[0] < 'A' || p[0] > 'Z' || p[1] != ':') {
            fprintf(stderr, "%s:%d: expected 'X: command'\n", path, lineno);
            failures++;
            continue;
        }
        int who = p[0] - 'A';
        p += 2;
        char *argv[256];
        int argc = config_split_line(p, argv, 256, storage);
        if (argc <= 0) {
            fprintf(stderr, "%s:%d: cannot split line\n", path, lineno);
            failures++;
            continue;
        }
        size_t lens[256];
        for (int i = 0; i < argc; i++)
            lens[i] = i + 1 < argc ? (size_t)(argv[i + 1] - 1 - argv[i]) : strlen(argv[i]);
        frames rg[NCONN], kg[NCONN];
        memset(rg, 0, sizeof rg);
        memset(kg, 0, sizeof kg);
        char rwhy[128] = "", kwhy[128] = "";
        /* Each server's own client ids for "$X" arguments. */
        static char rids[256][24], kids[256][24];
        char *rargv[256], *kargv[256];
        size_t rlens[256], klens[256];
        memcpy(rargv, argv, (size_t)argc * sizeof *argv);
        memcpy(kargv, argv, (size_t)argc * sizeof *argv);
        memcpy(rlens, lens, (size_t)argc * sizeof *lens);
        memcpy(klens, lens, (size_t)argc * sizeof *lens);
        int rr = subst_ids(rconn, redis.port, argc, rargv, rlens, rids, rwhy, sizeof rwhy);
        int kr = subst_ids(kconn, kv.port, argc, kargv, klens, kids, kwhy, sizeof kwhy);
        if (rr == 0)
            rr = step(rconn, redis.port, who, argc, (const char *const *)rargv, rlens, rg, rwhy,
                      sizeof rwhy, block, await);
        if (kr == 0)
            kr = step(kconn, kv.port, who, argc, (const char *const *)kargv, klens, kg, kwhy,
                      sizeof kwhy, block, await);
        commands++;
        if (rr < 0 || kr < 0) {
            fprintf(stderr, "%s:%d: %s\n  redis: %s\n  kvnode: %s\n", path, lineno, p,
                    rr < 0 ? rwhy : "ok", kr < 0 ? kwhy : "ok");
            failures++;
        }
        if (strcmp(mode, "run") != 0) {
            for (int i = 0; i < NCONN; i++) {
                canon(&rg[i], mode, fields[0] ? fields : NULL, a, sizeof a);
                canon(&kg[i], mode, fields[0] ? fields : NULL, b, sizeof b);
                if (strcmp(a, b) != 0) {
                    fprintf(stderr,
                            "%s:%d: %s\n  on %c, redis:  %.3000s\n  on %c, kvnode: %.3000s\n",
                            path, lineno, p, 'A' + i, a, 'A' + i, b);
                    failures++;
                }
            }
        }
        for (int i = 0; i < NCONN; i++) {
            frames_free(&rg[i]);
            frames_free(&kg[i]);
        }
        if (rr < 0 || kr < 0)
            break;
    }
    fclose(f);
    printf("%s: %d commands, %d mismatches\n", strrchr(path, '/') + 1, commands, failures);
    return failures;
}

/* ---- Tests: scripts ---- */

static void test_script(void **state)
{
    assert_int_equal(run_script(*state), 0);
}

/* ---- Tests: kvnode on its own ---- */

static long long info_field(kv_client *c, const char *section, const char *field)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "INFO %s", section);
    kv_reply *r = h_cmd(c, cmd);
    long long v = -1;
    if (r && r->str) {
        char key[128];
        snprintf(key, sizeof key, "%s:", field);
        const char *p = strstr(r->str, key);
        if (p)
            v = atoll(p + strlen(key));
    }
    kv_reply_free(r);
    return v;
}

static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* A message of that kind on that channel whose payload has len bytes. */
static int str_is(const kv_reply *r, const char *s)
{
    return r->len == strlen(s) && !memcmp(r->str, s, r->len);
}

static int msg_is_len(const kv_reply *r, const char *kind, const char *ch, size_t len)
{
    return r && r->type == KV_REPLY_ARRAY && r->elements == 3 && str_is(r->element[0], kind) &&
           str_is(r->element[1], ch) && r->element[2]->len == len;
}

/* One scenario on one server: a subscriber stops reading while messages
 * pour in; it is cut off once its output passes the pubsub hard limit,
 * the publisher's every PUBLISH is answered meanwhile and another client
 * keeps getting its replies. Returns the increase of INFO's
 * client_output_buffer_limit_disconnections, or -1 where there is no such
 * field (Redis 7.0 added it in 7.2). */
static long long slow_subscriber(int port)
{
    kv_client *ctl = h_connect(port);
    assert_non_null(ctl);
    const char *o[] = {"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0"};
    kv_reply *r = h_cmdv(ctl, 4, o, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    long long before = info_field(ctl, "stats", "client_output_buffer_limit_disconnections");

    /* The subscriber never reads again after its confirmation (until it
     * is cut off: then it reads what the kernel still holds, to EOF). */
    conn sub = {-1, NULL, 0};
    assert_int_equal(conn_open(&sub, port), 0);
    const char *s[] = {"SUBSCRIBE", "slow"};
    assert_int_equal(conn_send(&sub, 2, s, NULL), 0);
    kv_reply *conf = NULL;
    assert_int_equal(conn_read(&sub, &conf, IO_TIMEOUT_MS), 0);
    assert_int_equal(conf->type, KV_REPLY_ARRAY);
    kv_reply_free(conf);

    kv_client *pub = h_connect(port);
    kv_client *other = h_connect(port);
    assert_non_null(pub);
    assert_non_null(other);
    static char payload[16384];
    memset(payload, 'x', sizeof payload);
    const char *pa[3] = {"PUBLISH", "slow", payload};
    size_t pl[3] = {7, 4, sizeof payload};
    long long deadline = h_now_ms() + 60000, after = before;
    int sent = 0, answered = 0, delivered_last = 1;
    /* At most 64 MB published: far past the 1 MB limit. */
    while (sent < 4096 && h_now_ms() < deadline) {
        r = h_cmdv(pub, 3, pa, pl);
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_INTEGER);
        delivered_last = (int)r->integer;
        kv_reply_free(r);
        sent++;
        if (sent % 16 == 0) {
            /* Someone else is served all along. */
            r = h_cmd(other, "INCR served");
            assert_non_null(r);
            assert_int_equal(r->type, KV_REPLY_INTEGER);
            assert_int_equal(r->integer, ++answered);
            kv_reply_free(r);
            if (delivered_last == 0)
                break;
        }
    }
    /* Cut off: the stat counts it, nobody receives the channel any more,
     * and the subscriber reads what was sent before its connection ends. */
    assert_int_equal(delivered_last, 0);
    after = info_field(ctl, "stats", "client_output_buffer_limit_disconnections");
    assert_true(sent * (long long)sizeof payload > 1024 * 1024);
    /* What reached the subscriber before the cut is whole messages, in
     * order; then the connection ends. */
    int eof = 0, got = 0;
    while (!eof && h_now_ms() < deadline) {
        kv_reply *m = NULL;
        int rc = conn_read(&sub, &m, IO_TIMEOUT_MS);
        if (rc == 0) {
            assert_true(msg_is_len(m, "message", "slow", sizeof payload));
            got++;
        }
        kv_reply_free(m);
        eof = rc != 0;
    }
    assert_true(got > 0 && got < sent);
    assert_true(eof);
    conn_close(&sub);
    const char *d[] = {"CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60"};
    kv_reply_free(h_cmdv(ctl, 4, d, NULL));
    kv_client_free(pub);
    kv_client_free(other);
    kv_client_free(ctl);
    return before < 0 ? -1 : after - before;
}

/* A subscriber that stops reading is disconnected by the pubsub output
 * buffer limit — with Redis's log line and stat — while the publisher and
 * another client keep being answered; Redis does the same. */
static void test_slow_subscriber_cut_off(void **state)
{
    (void)state;
    reset_servers();
    assert_int_equal(slow_subscriber(kv.port), 1);
    assert_true(file_contains(kv.log, "scheduled to be closed ASAP for overcoming of output "
                                      "buffer limits."));
    assert_true(file_contains(kv.log, "flags=P"));
    assert_int_equal(slow_subscriber(redis.port), -1);
}

/* ---- Replication ---- */

/* INFO <section> <field> of a node, or -1. */
static long long node_info(int port, const char *section, const char *field)
{
    kv_client *c = h_connect(port);
    if (!c)
        return -1;
    long long v = info_field(c, section, field);
    kv_client_free(c);
    return v;
}


/* The next frame on c that is a message (array or push), or NULL. */
static kv_reply *next_message(conn *c)
{
    kv_reply *r = NULL;
    if (conn_read(c, &r, IO_TIMEOUT_MS) != 0)
        return NULL;
    return r;
}

static int msg_is(const kv_reply *r, const char *kind, const char *ch, const char *payload)
{
    if (!r || (r->type != KV_REPLY_ARRAY && r->type != KV_REPLY_PUSH) || r->elements < 3)
        return 0;
    const kv_reply *k = r->element[0], *c = r->element[r->elements - 2],
                   *p = r->element[r->elements - 1];
    return k->len == strlen(kind) && !memcmp(k->str, kind, k->len) && c->len == strlen(ch) &&
           !memcmp(c->str, ch, c->len) && p->len == strlen(payload) &&
           !memcmp(p->str, payload, p->len);
}

static void subscribe_raw(conn *c, int port, int resp, const char *cmd, const char *name)
{
    assert_int_equal(conn_open(c, port), 0);
    if (resp == 3) {
        const char *h[] = {"HELLO", "3"};
        assert_int_equal(conn_send(c, 2, h, NULL), 0);
        kv_reply *r = NULL;
        assert_int_equal(conn_read(c, &r, IO_TIMEOUT_MS), 0);
        kv_reply_free(r);
    }
    const char *a[] = {cmd, name};
    assert_int_equal(conn_send(c, 2, a, NULL), 0);
    kv_reply *r = NULL;
    assert_int_equal(conn_read(c, &r, IO_TIMEOUT_MS), 0);
    assert_int_equal(r->type, resp == 3 ? KV_REPLY_PUSH : KV_REPLY_ARRAY);
    kv_reply_free(r);
}

/* Subscribers on a replica receive PUBLISH and SPUBLISH done on the
 * primary (RESP2 and RESP3), each after the data written before it is
 * readable on the replica; the replica announces keyspace events for what
 * it applies (a key the primary expires arrives as "del", as on a Redis
 * replica); nothing of it enters the log. */
static void test_replica_receives_messages(void **state)
{
    (void)state;
    char pdir[600], rdir[600], port[16];
    snprintf(pdir, sizeof pdir, "%s/primary", tmp);
    snprintf(rdir, sizeof rdir, "%s/replica", tmp);
    h_proc prim, repl;
    memset(&prim, 0, sizeof prim);
    memset(&repl, 0, sizeof repl);
    const char *pextra[] = {"--save", "", NULL};
    assert_int_equal(h_kvnode_start(&prim, pdir, pextra), 0);
    snprintf(port, sizeof port, "%d", prim.port);
    const char *rextra[] = {"--save", "", "--replicaof", "127.0.0.1", port, NULL};
    assert_int_equal(h_kvnode_start(&repl, rdir, rextra), 0);
    assert_true(h_wait_until(h_link_up, &repl.port, 30000));

    kv_client *p = h_connect(prim.port), *rc = h_connect(repl.port);
    assert_non_null(p);
    assert_non_null(rc);
    kv_reply *r;

    conn s2 = {-1, NULL, 0}, s3 = {-1, NULL, 0}, ss = {-1, NULL, 0}, ks = {-1, NULL, 0};
    subscribe_raw(&s2, repl.port, 2, "SUBSCRIBE", "news");
    subscribe_raw(&s3, repl.port, 3, "PSUBSCRIBE", "ne*");
    subscribe_raw(&ss, repl.port, 2, "SSUBSCRIBE", "shard");

    /* Each message follows a write; whoever gets it reads that write on
     * the replica. */
    for (int i = 0; i < 50; i++) {
        char v[32], cmd[96];
        snprintf(v, sizeof v, "v%d", i);
        snprintf(cmd, sizeof cmd, "SET k %s", v);
        kv_reply_free(h_cmd(p, cmd));
        snprintf(cmd, sizeof cmd, "PUBLISH news %s", v);
        r = h_cmd(p, cmd);
        assert_non_null(r);
        assert_int_equal(r->integer, 0); /* no subscriber on the primary */
        kv_reply_free(r);
        kv_reply *m = next_message(&s2);
        assert_true(msg_is(m, "message", "news", v));
        kv_reply_free(m);
        r = h_cmd(rc, "GET k");
        assert_non_null(r);
        assert_int_equal(r->type, KV_REPLY_STRING);
        assert_string_equal(r->str, v);
        kv_reply_free(r);
        m = next_message(&s3);
        assert_true(msg_is(m, "pmessage", "news", v));
        assert_int_equal(m->type, KV_REPLY_PUSH);
        kv_reply_free(m);
    }
    /* Inside MULTI, after a write in the same block. */
    kv_reply_free(h_cmd(p, "MULTI"));
    kv_reply_free(h_cmd(p, "SET k inmulti"));
    kv_reply_free(h_cmd(p, "SPUBLISH shard after"));
    r = h_cmd(p, "EXEC");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_ARRAY);
    kv_reply_free(r);
    kv_reply *m = next_message(&ss);
    assert_true(msg_is(m, "smessage", "shard", "after"));
    kv_reply_free(m);
    r = h_cmd(rc, "GET k");
    assert_string_equal(r->str, "inmulti");
    kv_reply_free(r);
    /* PUBLISH on the replica reaches its own subscribers only. */
    r = h_cmd(rc, "PUBLISH news local");
    assert_int_equal(r->integer, 2);
    kv_reply_free(r);
    m = next_message(&s2);
    assert_true(msg_is(m, "message", "news", "local"));
    kv_reply_free(m);
    m = next_message(&s3);
    assert_true(msg_is(m, "pmessage", "news", "local"));
    kv_reply_free(m);

    /* Messages alone, for longer than the election timeout: the link stays
     * up (they do not stand in for the heartbeats the replica answers), and
     * none of them is a log entry. */
    long long resyncs = node_info(prim.port, "stats", "sync_partial_ok");
    long long term = node_info(prim.port, "replication", "term");
    long long lsn0 = node_info(prim.port, "persistence", "wal_last_lsn");
    long long t0 = h_now_ms();
    int sent = 0;
    while (h_now_ms() - t0 < 2500) {
        char v[32];
        snprintf(v, sizeof v, "tick%d", sent++);
        const char *pa[] = {"PUBLISH", "news", v};
        kv_reply_free(h_cmdv(p, 3, pa, NULL));
        m = next_message(&s2);
        assert_true(msg_is(m, "message", "news", v));
        kv_reply_free(m);
        m = next_message(&s3);
        assert_true(msg_is(m, "pmessage", "news", v));
        kv_reply_free(m);
        struct timespec pace = {0, 20 * 1000000L};
        nanosleep(&pace, NULL);
    }
    assert_true(sent > 10);
    assert_int_equal(node_info(prim.port, "persistence", "wal_last_lsn"), lsn0);
    assert_int_equal(node_info(prim.port, "stats", "sync_partial_ok"), resyncs);
    assert_int_equal(node_info(prim.port, "replication", "term"), term);
    assert_int_equal(node_info(prim.port, "replication", "connected_slaves"), 1);

    /* Keyspace events on the replica, for what it applies. */
    r = h_cmd(rc, "CONFIG SET notify-keyspace-events KEA");
    assert_int_equal(r->type, KV_REPLY_STATUS);
    kv_reply_free(r);
    subscribe_raw(&ks, repl.port, 2, "PSUBSCRIBE", "__keyevent@0__:*");
    kv_reply_free(h_cmd(p, "RPUSH list a"));
    m = next_message(&ks);
    assert_true(msg_is(m, "pmessage", "__keyevent@0__:rpush", "list"));
    kv_reply_free(m);
    kv_reply_free(h_cmd(p, "INCRBYFLOAT f 1.5")); /* logged, and applied, as SET */
    m = next_message(&ks);
    assert_true(msg_is(m, "pmessage", "__keyevent@0__:set", "f"));
    kv_reply_free(m);
    kv_reply_free(h_cmd(p, "PEXPIRE list 1"));
    m = next_message(&ks);
    assert_true(msg_is(m, "pmessage", "__keyevent@0__:expire", "list"));
    kv_reply_free(m);
    /* The primary expires it (lazily here) and logs a DEL. */
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    kv_reply_free(h_cmd(p, "EXISTS list"));
    m = next_message(&ks);
    assert_true(msg_is(m, "pmessage", "__keyevent@0__:del", "list"));
    kv_reply_free(m);

    conn_close(&s2);
    conn_close(&s3);
    conn_close(&ss);
    conn_close(&ks);
    kv_client_free(p);
    kv_client_free(rc);
    h_stop(&repl, SIGTERM, 10000);
    h_stop(&prim, SIGTERM, 10000);
}

/* Messages follow the reply barrier: a keyspace event, and a message
 * published after a write, reach a subscriber only once that write is
 * committed (here: acknowledged by the replica, min-replicas-ack 1), as a
 * read's reply would. While the replica is stopped nothing arrives; once it
 * resumes the event and the message come, in order, with the write's
 * reply. MONITOR's lines travel the same way: the write's, and the
 * PUBLISH's after it, arrive only then. */
static void test_messages_wait_for_commit(void **state)
{
    (void)state;
    char pdir[600], rdir[600], port[16];
    snprintf(pdir, sizeof pdir, "%s/barrier-primary", tmp);
    snprintf(rdir, sizeof rdir, "%s/barrier-replica", tmp);
    h_proc prim, repl;
    memset(&prim, 0, sizeof prim);
    memset(&repl, 0, sizeof repl);
    /* Elections far off: the stopped replica must not cost the primary its
     * leadership during the test. */
    const char *pextra[] = {"--save", "", "--min-replicas-ack", "1", "--election-timeout",
                            "30000", "--notify-keyspace-events", "KEA", NULL};
    assert_int_equal(h_kvnode_start(&prim, pdir, pextra), 0);
    snprintf(port, sizeof port, "%d", prim.port);
    const char *rextra[] = {"--save", "", "--replicaof", "127.0.0.1", port,
                            "--election-timeout", "30000", NULL};
    assert_int_equal(h_kvnode_start(&repl, rdir, rextra), 0);
    long long deadline = h_now_ms() + 30000;
    while (node_info(prim.port, "replication", "min_slaves_good_slaves") < 1 &&
           h_now_ms() < deadline) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(node_info(prim.port, "replication", "min_slaves_good_slaves") >= 1);

    conn sub = {-1, NULL, 0}, news = {-1, NULL, 0}, writer = {-1, NULL, 0};
    conn mon = {-1, NULL, 0};
    subscribe_raw(&sub, prim.port, 2, "PSUBSCRIBE", "__keyevent@0__:*");
    subscribe_raw(&news, prim.port, 3, "SUBSCRIBE", "news");
    assert_int_equal(conn_open(&writer, prim.port), 0);
    assert_int_equal(conn_open(&mon, prim.port), 0);
    const char *monitor[] = {"MONITOR"};
    assert_int_equal(conn_send(&mon, 1, monitor, NULL), 0);
    kv_reply *ok = NULL;
    assert_int_equal(conn_read(&mon, &ok, IO_TIMEOUT_MS), 0);
    assert_int_equal(ok->type, KV_REPLY_STATUS);
    assert_string_equal(ok->str, "OK");
    kv_reply_free(ok);

    assert_int_equal(kill(repl.pid, SIGSTOP), 0);
    const char *set[] = {"SET", "k", "v"};
    assert_int_equal(conn_send(&writer, 3, set, NULL), 0);
    /* PUBLISH answers at once (its count is not data)… */
    kv_client *p = h_connect(prim.port);
    assert_non_null(p);
    kv_reply *r = h_cmd(p, "PUBLISH news after-k");
    assert_non_null(r);
    assert_int_equal(r->type, KV_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    kv_reply_free(r);
    /* …but nothing reaches the subscribers, nor the writer, while the
     * write is not acknowledged. */
    kv_reply *m = NULL;
    assert_int_equal(conn_read(&sub, &m, 500), -1);
    assert_int_equal(conn_read(&news, &m, 100), -1);
    assert_int_equal(conn_read(&writer, &m, 100), -1);
    assert_int_equal(conn_read(&mon, &m, 100), -1);

    assert_int_equal(kill(repl.pid, SIGCONT), 0);
    assert_int_equal(conn_read(&writer, &m, IO_TIMEOUT_MS), 0);
    assert_int_equal(m->type, KV_REPLY_STATUS);
    kv_reply_free(m);
    m = NULL;
    assert_int_equal(conn_read(&sub, &m, IO_TIMEOUT_MS), 0);
    assert_true(msg_is(m, "pmessage", "__keyevent@0__:set", "k"));
    kv_reply_free(m);
    m = NULL;
    assert_int_equal(conn_read(&news, &m, IO_TIMEOUT_MS), 0);
    assert_true(msg_is(m, "message", "news", "after-k"));
    assert_int_equal(m->type, KV_REPLY_PUSH);
    kv_reply_free(m);
    const char *lines[] = {"\"SET\" \"k\" \"v\"", "\"PUBLISH\" \"news\" \"after-k\""};
    for (int i = 0; i < 2; i++) {
        m = NULL;
        assert_int_equal(conn_read(&mon, &m, IO_TIMEOUT_MS), 0);
        assert_int_equal(m->type, KV_REPLY_STATUS);
        assert_non_null(strstr(m->str, lines[i]));
        kv_reply_free(m);
    }

    conn_close(&mon);
    conn_close(&sub);
    conn_close(&news);
    conn_close(&writer);
    kv_client_free(p);
    h_stop(&repl, SIGTERM, 10000);
    h_stop(&prim, SIGTERM, 10000);
}

int main(int argc, char **argv)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tests/integration/pubsub", h_source_dir());
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "no %s\n", dir);
        return 1;
    }
    struct CMUnitTest tests[130];
    char *paths[128];
    int n = 0, np = 0;
    struct dirent *de;
    while ((de = readdir(d)) && np < 128) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".txt") != 0)
            continue;
        if (argc > 1 && !strstr(de->d_name, argv[1]))
            continue;
        paths[np] = malloc(1200);
        snprintf(paths[np], 1200, "%s/%s", dir, de->d_name);
        struct CMUnitTest t = {strdup(de->d_name), test_script, NULL, NULL, paths[np]};
        tests[n++] = t;
        np++;
    }
    closedir(d);
    if (argc <= 1 || strstr("slow_subscriber", argv[1])) {
        struct CMUnitTest t = {strdup("slow_subscriber"), test_slow_subscriber_cut_off, NULL,
                               NULL, NULL};
        tests[n++] = t;
    }
    if (argc <= 1 || strstr("barrier", argv[1])) {
        struct CMUnitTest t = {strdup("barrier"), test_messages_wait_for_commit, NULL, NULL,
                               NULL};
        tests[n++] = t;
    }
    if (argc <= 1 || strstr("replica", argv[1])) {
        struct CMUnitTest t = {strdup("replica"), test_replica_receives_messages, NULL, NULL,
                               NULL};
        tests[n++] = t;
    }
    int status = _cmocka_run_group_tests("pubsub", tests, (size_t)n, group_setup, group_teardown);
    for (int i = 0; i < n; i++)
        free((char *)tests[i].name);
    for (int i = 0; i < np; i++)
        free(paths[i]);
    return status;
}
