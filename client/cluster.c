/* cluster.c — kv_cluster: find the primary (the Sentinel API, checked and
 * backed up by ROLE), send commands to it,
 * rediscover and retry when it moves, never re-running a command whose
 * outcome is unknown unless the caller said it is idempotent (the rules are
 * spelled out in kvclient.h).
 *
 * Owns the seed list, the connection to the current primary and the
 * primary's address. Built only on the blocking kv_client.
 *
 * One call:
 *
 *     ┌──────────────▶ no connection? ──▶ discovery round ──fail──┐
 *     │                      │ have one                           │
 *     │                      ▼                                    │
 *     │                   send ──reply──▶ "not primary" error? ───┤
 *     │                      │              │ no                  │
 *     │      failure, not sent / sent+idempotent    ▼             │
 *     │                      │           return reply             │
 *     └── pause (backoff) ◀──┴──◀─────────────────────────────────┘
 *          (until max_attempts or failover_timeout_ms; failure after a
 *           send without KV_CMD_IDEMPOTENT returns KV_EUNKNOWN at once)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define MAX_HOPS 4

typedef kvc_addr node_addr;

struct kv_cluster {
    kv_options opt;
    node_addr *seeds;
    size_t nseeds;
    kv_client *conn;     /* connection to the primary, or NULL */
    node_addr primary;   /* valid when have_primary */
    int have_primary;
    uint64_t rng;
    char err[KVC_ERRMSG_MAX];
};

/* ---- Helpers ---- */

static uint64_t next_random(kv_cluster *cl)
{
    uint64_t x = cl->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    cl->rng = x;
    return x;
}

/* Sleep for ms, but never past deadline. */
static void pause_until(int64_t ms, int64_t deadline)
{
    int64_t until = kvc_now_ms() + ms;
    if (until > deadline)
        until = deadline;
    for (;;) {
        int64_t left = until - kvc_now_ms();
        if (left <= 0)
            return;
        struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
        if (nanosleep(&ts, NULL) == 0)
            return;
        if (errno != EINTR)
            return;
    }
}

static void drop_conn(kv_cluster *cl)
{
    kv_client_free(cl->conn);
    cl->conn = NULL;
}

/* Append "; text" to the discovery message. */
static void note(char *msg, size_t cap, const node_addr *n, const char *text)
{
    size_t used = strlen(msg);
    if (used + 4 >= cap)
        return;
    kvc_fmt(msg + used, cap - used, "%s%s:%d: %s", used ? "; " : "", n->host, n->port, text);
}

static int reply_str_eq(const kv_reply *r, const char *s)
{
    return r && (r->type == KV_REPLY_STRING || r->type == KV_REPLY_STATUS) &&
           r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

/* The ROLE verdict for one node. */
enum role { ROLE_PRIMARY, ROLE_REPLICA, ROLE_OTHER };

static enum role parse_role(const kv_reply *r, node_addr *master, char *why, size_t whycap)
{
    if (r->type == KV_REPLY_ERROR) {
        kvc_fmt(why, whycap, "ROLE failed: %.*s", (int)(r->len < 100 ? r->len : 100), r->str);
        return ROLE_OTHER;
    }
    if (r->type != KV_REPLY_ARRAY || r->elements < 1) {
        kvc_fmt(why, whycap, "unexpected ROLE reply");
        return ROLE_OTHER;
    }
    if (reply_str_eq(r->element[0], "master"))
        return ROLE_PRIMARY;
    if (!reply_str_eq(r->element[0], "slave")) {
        kvc_fmt(why, whycap, "role is neither master nor slave");
        return ROLE_OTHER;
    }
    const kv_reply *h = r->elements >= 3 ? r->element[1] : NULL;
    const kv_reply *p = r->elements >= 3 ? r->element[2] : NULL;
    long long port = -1;
    if (p && p->type == KV_REPLY_INTEGER)
        port = p->integer;
    else if (p && p->type == KV_REPLY_STRING && p->len > 0 && p->len < 6)
        port = strtoll(p->str, NULL, 10);
    if (h == NULL || h->type != KV_REPLY_STRING || h->len == 0 || h->len >= KVC_HOST_MAX ||
        memchr(h->str, '\0', h->len) || port < 1 || port > 65535) {
        kvc_fmt(why, whycap, "replica without a usable primary address");
        return ROLE_OTHER;
    }
    memcpy(master->host, h->str, h->len);
    master->host[h->len] = '\0';
    master->port = (int)port;
    kvc_fmt(why, whycap, "replica of %s:%d", master->host, master->port);
    return ROLE_REPLICA;
}

/* Ask one node its role. On ROLE_PRIMARY *conn holds its connection. */
static enum role probe(kv_cluster *cl, const node_addr *n, int64_t deadline, kv_client **conn,
                       node_addr *master, char *why, size_t whycap)
{
    *conn = NULL;
    kv_client *c;
    if (kv_client_new(&c, &cl->opt) < 0) {
        kvc_fmt(why, whycap, "out of memory");
        return ROLE_OTHER;
    }
    /* Each probe is one connection setup: bounded by connect_timeout_ms. */
    int64_t hard = kvc_deadline(cl->opt.connect_timeout_ms);
    if (deadline < hard)
        hard = deadline;
    int rc = kvc_client_connect_tcp(c, n->host, n->port, hard);
    enum role role = ROLE_OTHER;
    if (rc < 0) {
        kvc_fmt(why, whycap, "%s", kv_client_errmsg(c));
    } else {
        const char *argv[] = {"ROLE"};
        kv_reply *r = NULL;
        int sent;
        rc = kvc_client_command(c, 1, argv, NULL, hard, &r, &sent);
        if (rc < 0)
            kvc_fmt(why, whycap, "ROLE: %s", kv_client_errmsg(c));
        else
            role = parse_role(r, master, why, whycap);
        kv_reply_free(r);
    }
    if (role == ROLE_PRIMARY)
        *conn = c;
    else
        kv_client_free(c);
    return role;
}

/* Ask seed n SENTINEL GET-MASTER-ADDR-BY-NAME: 1 and *out set when it
 * names a primary, else 0 (why says what it answered). */
static int sentinel_ask(kv_cluster *cl, const node_addr *n, int64_t deadline, node_addr *out,
                        char *why, size_t whycap)
{
    kv_client *c;
    if (kv_client_new(&c, &cl->opt) < 0) {
        kvc_fmt(why, whycap, "out of memory");
        return 0;
    }
    int64_t hard = kvc_deadline(cl->opt.connect_timeout_ms);
    if (deadline < hard)
        hard = deadline;
    int found = 0;
    if (kvc_client_connect_tcp(c, n->host, n->port, hard) < 0) {
        kvc_fmt(why, whycap, "%s", kv_client_errmsg(c));
        kv_client_free(c);
        return 0;
    }
    const char *argv[] = {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", cl->opt.master_name};
    kv_reply *r = NULL;
    int sent;
    if (kvc_client_command(c, 3, argv, NULL, hard, &r, &sent) < 0) {
        kvc_fmt(why, whycap, "SENTINEL: %s", kv_client_errmsg(c));
    } else if (kvc_sentinel_addr(r, out)) {
        found = 1;
    } else if (r->type == KV_REPLY_ERROR) {
        kvc_fmt(why, whycap, "SENTINEL: %.*s", (int)(r->len < 100 ? r->len : 100), r->str);
    } else {
        kvc_fmt(why, whycap, "SENTINEL names no primary");
    }
    kv_reply_free(r);
    kv_client_free(c);
    return found;
}

/* Follow one candidate (and the primaries it names) to a primary. */
static int try_candidate(kv_cluster *cl, const node_addr *start, int64_t deadline, char *msg,
                         size_t msgcap)
{
    node_addr cur = *start;
    for (int hop = 0; hop <= MAX_HOPS && kvc_now_ms() < deadline; hop++) {
        kv_client *conn;
        node_addr master;
        char why[160];
        enum role role = probe(cl, &cur, deadline, &conn, &master, why, sizeof why);
        if (role == ROLE_PRIMARY) {
            drop_conn(cl);
            cl->conn = conn;
            cl->primary = cur;
            cl->have_primary = 1;
            return 0;
        }
        note(msg, msgcap, &cur, why);
        if (role != ROLE_REPLICA)
            return KV_ENOPRIMARY;
        cur = master;
    }
    return KV_ENOPRIMARY;
}

/* One pass over the last primary and the seeds. */
static int discover_round(kv_cluster *cl, int64_t deadline)
{
    char msg[KVC_ERRMSG_MAX] = "";
    drop_conn(cl);
    if (cl->have_primary && try_candidate(cl, &cl->primary, deadline, msg, sizeof msg) == 0)
        return 0;
    for (size_t i = 0; i < cl->nseeds && kvc_now_ms() < deadline; i++) {
        if (cl->opt.master_name) {
            node_addr named;
            char why[160];
            if (sentinel_ask(cl, &cl->seeds[i], deadline, &named, why, sizeof why)) {
                if (try_candidate(cl, &named, deadline, msg, sizeof msg) == 0)
                    return 0;
            } else {
                note(msg, sizeof msg, &cl->seeds[i], why);
            }
        }
        if (cl->have_primary && kvc_same_addr(&cl->seeds[i], &cl->primary))
            continue;
        if (try_candidate(cl, &cl->seeds[i], deadline, msg, sizeof msg) == 0)
            return 0;
    }
    return kvc_fail(cl->err, KV_ENOPRIMARY, "no primary found: %s", msg[0] ? msg : "deadline");
}

/* Error replies meaning "this node did not run it; there is no primary
 * here" (see kvclient.h). */
static int refused_not_primary(const kv_reply *r)
{
    static const char *const words[] = {"READONLY", "MASTERDOWN", "CLUSTERDOWN",
                                        "TRYAGAIN", "LOADING", "NOPRIMARY"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (kvc_reply_is_error(r, words[i]))
            return 1;
    return 0;
}

/* The pause before retry number `attempt` (1-based): none before the first
 * retry (a stale connection is the common case), then exponential backoff
 * with jitter in [b/2, b]. */
static int64_t backoff_ms(kv_cluster *cl, int attempt)
{
    if (attempt <= 1)
        return 0;
    int64_t b = cl->opt.backoff_initial_ms;
    for (int i = 2; i < attempt && b < cl->opt.backoff_max_ms; i++)
        b *= 2;
    if (b > cl->opt.backoff_max_ms)
        b = cl->opt.backoff_max_ms;
    if (b <= 1)
        return b;
    return b / 2 + (int64_t)(next_random(cl) % (uint64_t)(b / 2 + 1));
}

/* ---- API ---- */

int kv_cluster_new(kv_cluster **out, const char *seeds, const kv_options *opt)
{
    if (out == NULL || seeds == NULL)
        return KV_EINVAL;
    kv_cluster *cl = kvc_calloc(1, sizeof *cl);
    if (cl == NULL)
        return KV_ENOMEM;
    int rc = kvc_options_copy(&cl->opt, opt);
    if (rc < 0) {
        free(cl);
        return rc;
    }
    if (cl->opt.max_attempts == 0)
        cl->opt.max_attempts = 1;
    if ((rc = kvc_parse_seeds(seeds, &cl->seeds, &cl->nseeds)) < 0) {
        kv_cluster_free(cl);
        return rc;
    }
    cl->rng = (uint64_t)kvc_now_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)cl;
    if (cl->rng == 0)
        cl->rng = 1;
    *out = cl;
    return 0;
}

void kv_cluster_free(kv_cluster *cl)
{
    if (cl == NULL)
        return;
    drop_conn(cl);
    kvc_options_free(&cl->opt);
    free(cl->seeds);
    free(cl);
}

int kv_cluster_discover(kv_cluster *cl)
{
    int64_t deadline = kvc_deadline(cl->opt.failover_timeout_ms);
    for (int attempt = 1;; attempt++) {
        if (discover_round(cl, deadline) == 0)
            return 0;
        if (attempt < cl->opt.max_attempts && kvc_now_ms() < deadline)
            pause_until(backoff_ms(cl, attempt + 1), deadline);
        if (attempt >= cl->opt.max_attempts || kvc_now_ms() >= deadline)
            return KV_ENOPRIMARY;
    }
}

static int give_up(kv_cluster *cl, int maybe_executed, int attempts, const char *why)
{
    if (maybe_executed)
        return kvc_fail(cl->err, KV_EUNKNOWN, "outcome unknown after %d attempts: %s",
                        attempts, why);
    return kvc_fail(cl->err, KV_ENOPRIMARY, "gave up after %d attempts: %s", attempts, why);
}

int kv_cluster_command(kv_cluster *cl, unsigned flags, int argc, const char *const argv[],
                       const size_t argvlen[], kv_reply **reply)
{
    *reply = NULL;
    size_t len;
    int rc = kv_format_command(NULL, 0, &len, argc, argv, argvlen);
    if (rc == KV_EINVAL)
        return kvc_fail(cl->err, rc, "invalid command arguments");
    int64_t deadline = kvc_deadline(cl->opt.failover_timeout_ms);
    int maybe_executed = 0;
    char why[KVC_ERRMSG_MAX] = "";
    for (int attempt = 1;; attempt++) {
        if (cl->conn == NULL) {
            rc = discover_round(cl, deadline);
            if (rc < 0)
                memcpy(why, cl->err, sizeof why);
        }
        if (cl->conn) {
            int sent = 0;
            kv_reply *r = NULL;
            rc = kvc_client_command(cl->conn, argc, argv, argvlen, INT64_MAX, &r, &sent);
            if (rc == 0 && !refused_not_primary(r)) {
                *reply = r;
                return 0;
            }
            if (rc == 0) {
                kvc_fmt(why, sizeof why, "%s:%d refused: %.*s", cl->primary.host,
                         cl->primary.port, (int)(r->len < 100 ? r->len : 100), r->str);
                kv_reply_free(r);
            } else {
                kvc_fmt(why, sizeof why, "%s:%d: %s", cl->primary.host, cl->primary.port,
                         kv_client_errmsg(cl->conn));
                if (rc == KV_ENOMEM) {
                    drop_conn(cl);
                    return kvc_fail(cl->err, rc, "%s", why);
                }
                if (sent) {
                    maybe_executed = 1;
                    if (!(flags & KV_CMD_IDEMPOTENT)) {
                        drop_conn(cl);
                        return kvc_fail(cl->err, KV_EUNKNOWN, "outcome unknown: %s", why);
                    }
                }
            }
            drop_conn(cl);
        }
        if (attempt < cl->opt.max_attempts && kvc_now_ms() < deadline)
            pause_until(backoff_ms(cl, attempt), deadline);
        if (attempt >= cl->opt.max_attempts || kvc_now_ms() >= deadline)
            return give_up(cl, maybe_executed, attempt, why);
    }
}

int kv_cluster_primary(const kv_cluster *cl, char *host, size_t hostcap, int *port)
{
    if (!cl->have_primary)
        return KV_ENOPRIMARY;
    size_t n = strlen(cl->primary.host);
    if (host == NULL || n + 1 > hostcap)
        return KV_ERANGE;
    memcpy(host, cl->primary.host, n + 1);
    if (port)
        *port = cl->primary.port;
    return 0;
}

const char *kv_cluster_errmsg(const kv_cluster *cl)
{
    return cl->err;
}

int kvc_cluster_fd(const kv_cluster *cl)
{
    return cl->conn ? kv_client_fd(cl->conn) : -1;
}
