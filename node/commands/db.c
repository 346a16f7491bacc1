/* db.c — key lookups with expiry, modification signals, effect logging,
 * argument helpers, and the active expiry cycle (see cmd.h).
 *
 * Expiry by role:
 *   primary   a key found expired is deleted and the deletion logged as
 *             "DEL key" in the same WAL entry, before the command's own
 *             effects, so replay and replicas see exactly what happened;
 *   replica   an expired key reads as missing but is not deleted: only the
 *             primary's DEL removes it (the replica's log is the primary's);
 *   replay    nothing ever expires: the log already says when keys went.
 * While clients are paused (CLIENT PAUSE, env->client_pause) the primary
 * too reads expired keys as missing without deleting them, and the active
 * cycle does nothing (Redis 7.0: the dataset is static during a pause).
 * When the WAL cannot take the DEL (full disk, failed WAL) the key reads as
 * missing and stays, to be deleted later.
 */
#include "cmd.h"

#include "err.h"
#include "mem.h"
#include "reply.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

void cmd_ctx_init(cmd_ctx *c, cmd_env *env, ks **dbs, int ndbs, int db, kbuf *out, int resp)
{
    memset(c, 0, sizeof *c);
    c->env = env;
    c->dbs = dbs;
    c->ndbs = ndbs;
    c->db = db;
    c->k = dbs ? dbs[db] : NULL; /* none while the node loads its data */
    c->r = reply_make(out, resp);
    c->replica = env->replica;
    c->deny_blocking = 1; /* the server allows it to a client's own command */
}

void cmd_xblock(cmd_ctx *c, int64_t deadline_ms, int argc, const char *const *argv,
                const size_t *lens, int key0, int nkeys)
{
    cmd_xblock_release(c);
    c->xblock = 1;
    c->xblock_deadline_ms = deadline_ms;
    c->xblock_argc = argc;
    c->xblock_argv = kv_malloc((size_t)argc * sizeof *c->xblock_argv);
    c->xblock_lens = kv_malloc((size_t)argc * sizeof *c->xblock_lens);
    for (int i = 0; i < argc; i++) {
        c->xblock_argv[i] = kv_memdup(argv[i], lens[i]);
        c->xblock_lens[i] = lens[i];
    }
    c->xblock_key0 = key0;
    c->xblock_nkeys = nkeys;
}

void cmd_xblock_release(cmd_ctx *c)
{
    if (!c->xblock_argv)
        return;
    for (int i = 0; i < c->xblock_argc; i++)
        kv_free(c->xblock_argv[i]);
    kv_free(c->xblock_argv);
    kv_free(c->xblock_lens);
    c->xblock_argv = NULL;
    c->xblock_lens = NULL;
    c->xblock_argc = 0;
    c->xblock = 0;
}

int cmd_use_db(cmd_ctx *c, int db)
{
    int prev = c->db;
    c->db = db;
    c->k = c->dbs ? c->dbs[db] : NULL;
    return prev;
}

static void touched(cmd_env *env, int db, const char *key, size_t klen, int by_command)
{
    if (env->key_touched)
        env->key_touched(env->key_touched_arg, db, key, klen, by_command);
}

/* ------------------------------------------------------------------------ */
/* Keyspace notifications                                                    */
/* ------------------------------------------------------------------------ */

void env_notify(cmd_env *env, int db, int type, const char *event, const char *key,
                size_t klen)
{
    if ((env->notify_flags & type) && env->notify)
        env->notify(env->notify_arg, db, type, event, key, klen);
}

void cmd_notify(cmd_ctx *c, int type, const char *event, const char *key, size_t klen)
{
    if (c->replay && !c->replica_apply)
        return;
    env_notify(c->env, c->db, type, event, key, klen);
}

void cmd_notify_new(cmd_ctx *c, const char *key, size_t klen)
{
    cmd_notify(c, NOTIFY_NEW, "new", key, klen);
}

int db_is_expired(cmd_ctx *c, const kobj *o)
{
    if (c->replay)
        return 0;
    int64_t e = kobj_expire(o);
    return e >= 0 && e <= c->now_ms;
}

void db_log_delete(cmd_env *env, int db, const char *key, size_t klen, int lazy)
{
    const char *argv[2] = {lazy ? "UNLINK" : "DEL", key};
    size_t lens[2] = {lazy ? 6 : 3, klen};
    engine_entry_add(env->eng, db, 2, argv, lens);
}

/* Delete an expired key on the primary, logging the deletion. Returns 1 if
 * deleted, 0 if it could not be logged or the clients are paused (the key
 * stays). for_write: a write is about to replace the key; it goes even
 * during a pause (such a write runs only inside the EXEC that paused). */
int db_expire_key(cmd_env *env, ks *k, int db, kobj *o, int for_write)
{
    if (env->replica || (env->client_pause && !for_write) ||
        engine_can_write(env->eng, 64, NULL) != 0)
        return 0;
    size_t klen;
    const char *key = kobj_key(o, &klen);
    db_log_delete(env, db, key, klen, env->lazy_expire);
    touched(env, db, key, klen, 0);
    /* key points into o: delete only after its last use. */
    char stack[256];
    char *copy = klen <= sizeof stack ? stack : kv_malloc(klen);
    memcpy(copy, key, klen);
    ks_delete_lazy(k, copy, klen, env->lazy_expire);
    env_notify(env, db, NOTIFY_EXPIRED, "expired", copy, klen);
    if (copy != stack)
        kv_free(copy);
    env->expired_keys++;
    return 1;
}

static int expire_now(cmd_ctx *c, kobj *o, int for_write)
{
    if (c->replica)
        return 0;
    return db_expire_key(c->env, c->k, c->db, o, for_write);
}

enum { READ_NONOTIFY = 1, READ_NOTOUCH = 2 };

static kobj *read_key(cmd_ctx *c, const char *key, size_t klen, int flags)
{
    kobj *o = ks_find(c->k, key, klen);
    if (o && db_is_expired(c, o)) {
        expire_now(c, o, 0);
        o = NULL;
    }
    if (!c->replay) {
        if (o) {
            c->env->keyspace_hits++;
            if (!(flags & READ_NOTOUCH))
                evict_touch(c->env, o, c->now_ms);
        } else {
            c->env->keyspace_misses++;
            if (!(flags & READ_NONOTIFY))
                cmd_notify(c, NOTIFY_KEY_MISS, "keymiss", key, klen);
        }
    }
    return o;
}

kobj *db_read(cmd_ctx *c, const char *key, size_t klen)
{
    return read_key(c, key, klen, 0);
}

kobj *db_read_nonotify(cmd_ctx *c, const char *key, size_t klen)
{
    return read_key(c, key, klen, READ_NONOTIFY | READ_NOTOUCH);
}

kobj *db_read_notouch(cmd_ctx *c, const char *key, size_t klen)
{
    return read_key(c, key, klen, READ_NOTOUCH);
}

int db_expire_if_needed(cmd_ctx *c, kobj *o)
{
    if (!db_is_expired(c, o))
        return DB_LIVE;
    return expire_now(c, o, 0) ? DB_EXPIRED_DELETED : DB_EXPIRED_KEPT;
}

kobj *db_write(cmd_ctx *c, const char *key, size_t klen)
{
    kobj *o = ks_find(c->k, key, klen);
    if (o && db_is_expired(c, o)) {
        if (!expire_now(c, o, 1)) {
            /* Could not log the deletion: the write must not proceed on
             * a key that is logically gone but physically there. */
            return NULL;
        }
        o = NULL;
    }
    if (o && !c->replay)
        evict_touch(c->env, o, c->now_ms);
    return o;
}

/* A replica applying its primary's stream signals the change too, as a
 * Redis replica's signalModifiedKey does for its master's commands (WATCH,
 * and clients blocked in XREAD there); recovery does not. */
void db_modified(cmd_ctx *c, const char *key, size_t klen)
{
    c->dirty++;
    if (!c->replay || c->replica_apply)
        touched(c->env, c->db, key, klen, 1);
}

void db_touched(cmd_ctx *c, const char *key, size_t klen)
{
    if (!c->replay || c->replica_apply)
        touched(c->env, c->db, key, klen, 1);
}

int cmd_reply_over_limit(cmd_ctx *c, size_t default_max)
{
    if (!c->cl)
        return 0;
    /* Past the hard limit as the server counts it (beyond a client's
     * fixed 16 KB reply buffer, as Redis): the server then closes the
     * client without sending any of the reply. */
    long long hard = c->env->obuf_hard;
    size_t limit = hard > 0 ? (size_t)hard + 16 * 1024 : default_max;
    if (kbuf_len(c->r.out) <= limit)
        return 0;
    c->close_client = 1;
    return 1;
}

int db_delete(cmd_ctx *c, const char *key, size_t klen)
{
    return db_delete_lazy(c, key, klen, ks_lazy_server_del());
}

int db_delete_lazy(cmd_ctx *c, const char *key, size_t klen, int lazy)
{
    kobj *o = db_write(c, key, klen);
    if (!o)
        return 0;
    db_modified(c, key, klen);
    ks_delete_lazy(c->k, key, klen, lazy);
    return 1;
}

void cmd_propagate(cmd_ctx *c, int argc, const char *const *argv, const size_t *lens)
{
    c->propagated = 1;
    if (c->replay)
        return;
    engine_entry_add(c->env->eng, c->db, argc, (const char **)argv, lens);
}

/* ------------------------------------------------------------------------ */
/* Arguments                                                                 */
/* ------------------------------------------------------------------------ */

int arg_is(const cmd_ctx *c, int i, const char *s)
{
    size_t n = strlen(s);
    return i < c->argc && c->lens[i] == n && strncasecmp(c->argv[i], s, n) == 0;
}

int arg_is_c(const cmd_ctx *c, int i, const char *s)
{
    if (i >= c->argc)
        return 0;
    const char *nul = memchr(c->argv[i], '\0', c->lens[i]);
    size_t len = nul ? (size_t)(nul - c->argv[i]) : c->lens[i];
    size_t n = strlen(s);
    return len == n && strncasecmp(c->argv[i], s, n) == 0;
}

int arg_ll_msg(cmd_ctx *c, int i, long long *out, const char *msg)
{
    long long v;
    if (!kv_string2ll(c->argv[i], c->lens[i], &v)) {
        reply_error(&c->r, msg);
        return -1;
    }
    *out = v;
    return 0;
}

int arg_ll(cmd_ctx *c, int i, long long *out)
{
    return arg_ll_msg(c, i, out, "ERR value is not an integer or out of range");
}

int arg_int(cmd_ctx *c, int i, int *out, const char *msg)
{
    long long v;
    if (!kv_string2ll(c->argv[i], c->lens[i], &v)) {
        reply_error(&c->r, msg ? msg : "ERR value is not an integer or out of range");
        return -1;
    }
    if (v < INT_MIN || v > INT_MAX) {
        reply_error(&c->r, msg ? msg
                               : "ERR value is out of range, value must between -2147483648 "
                                 "and 2147483647");
        return -1;
    }
    *out = (int)v;
    return 0;
}

int arg_db(cmd_ctx *c, int i, int *db)
{
    if (arg_int(c, i, db, NULL) < 0)
        return -1;
    if (*db < 0 || *db >= c->ndbs) {
        reply_error(&c->r, "ERR DB index is out of range");
        return -1;
    }
    return 0;
}

int arg_ld(cmd_ctx *c, int i, long double *out)
{
    if (!kv_string2ld(c->argv[i], c->lens[i], out)) {
        reply_error(&c->r, "ERR value is not a valid float");
        return -1;
    }
    return 0;
}

int arg_timeout(cmd_ctx *c, int i, int64_t *deadline_ms)
{
    long double secs;
    if (!kv_string2ld(c->argv[i], c->lens[i], &secs)) {
        reply_error(&c->r, "ERR timeout is not a float or out of range");
        return -1;
    }
    /* Redis 7.0: (long long)ceill(secs * 1000). A product beyond long
     * long converts to LLONG_MIN there (x86), hence "negative"; a tiny
     * positive timeout is 1 ms, a tiny negative one 0 (forever). */
    long double ms = ceill(secs * 1000.0L);
    long long t = (ms < 9223372036854775808.0L && ms >= -9223372036854775808.0L)
                      ? (long long)ms
                      : LLONG_MIN;
    if (t < 0) {
        reply_error(&c->r, "ERR timeout is negative");
        return -1;
    }
    /* A deadline past the clock's range never comes: forever. */
    *deadline_ms = t == 0 || t > INT64_MAX - c->now_ms ? 0 : c->now_ms + t;
    return 0;
}

int cmd_block_key_active(const cmd_ctx *c, int i)
{
    return !c->serve_key ||
           (c->lens[i] == c->serve_klen && !memcmp(c->argv[i], c->serve_key, c->serve_klen));
}

void cmd_block(cmd_ctx *c, int type, int first, int nkeys, int64_t deadline_ms)
{
    c->block = 1;
    c->block_type = type;
    c->block_first = first;
    c->block_nkeys = nkeys;
    c->block_deadline_ms = deadline_ms;
}

int arg_cursor(cmd_ctx *c, int i, uint64_t *out)
{
    const char *nul = memchr(c->argv[i], '\0', c->lens[i]);
    size_t n = nul ? (size_t)(nul - c->argv[i]) : c->lens[i];
    char *s = kv_memdup(c->argv[i], n);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int bad = isspace((unsigned char)s[0]) || *end != '\0' || errno == ERANGE;
    kv_free(s);
    if (bad) {
        reply_error(&c->r, "ERR invalid cursor");
        return -1;
    }
    *out = v;
    return 0;
}

int scan_parse_opts(cmd_ctx *c, int i, scan_opts *o)
{
    o->count = 10;
    o->pat = NULL;
    o->patlen = 0;
    for (; i < c->argc; i += 2) {
        int more = i + 1 < c->argc;
        if (more && arg_is_c(c, i, "count")) {
            if (arg_ll(c, i + 1, &o->count) < 0)
                return -1;
            if (o->count < 1) {
                reply_err_syntax(&c->r);
                return -1;
            }
        } else if (more && arg_is_c(c, i, "match")) {
            o->pat = c->argv[i + 1];
            o->patlen = c->lens[i + 1];
            if (o->patlen == 1 && o->pat[0] == '*')
                o->pat = NULL;
        } else {
            reply_err_syntax(&c->r);
            return -1;
        }
    }
    return 0;
}

uint64_t cmd_random(void)
{
    static uint64_t s[2];
    if (!s[0] && !s[1]) {
        if (getrandom(s, sizeof s, 0) != sizeof s) {
            s[0] = (uint64_t)time(NULL) ^ 0x9E3779B97F4A7C15ull;
            s[1] = (uint64_t)clock() ^ 0xD1B54A32D192ED03ull;
        }
        s[0] |= 1;
    }
    /* xorshift128+ */
    uint64_t x = s[0], y = s[1];
    s[0] = y;
    x ^= x << 23;
    s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s[1] + y;
}

/* ------------------------------------------------------------------------ */
/* Glob matching (Redis's stringmatchlen)                                    */
/* ------------------------------------------------------------------------ */

static int match_impl(const char *p, size_t plen, const char *s, size_t slen, int nocase,
                      int *skip, int depth)
{
    /* Bound recursion on patterns like "*a*a*a*…" (Redis 7 does the same). */
    if (depth > 1000)
        return 0;
    while (plen && slen) {
        switch (p[0]) {
        case '*':
            while (plen > 1 && p[1] == '*') {
                p++;
                plen--;
            }
            if (plen == 1)
                return 1;
            while (slen) {
                if (match_impl(p + 1, plen - 1, s, slen, nocase, skip, depth + 1))
                    return 1;
                if (*skip)
                    return 0;
                s++;
                slen--;
            }
            *skip = 1;
            return 0;
        case '?':
            s++;
            slen--;
            break;
        case '[': {
            p++;
            plen--;
            int not = plen && p[0] == '^';
            if (not) {
                p++;
                plen--;
            }
            int match = 0;
            for (;;) {
                if (plen >= 2 && p[0] == '\\') {
                    p++;
                    plen--;
                    if (p[0] == s[0])
                        match = 1;
                } else if (plen && p[0] == ']') {
                    break;
                } else if (plen == 0) {
                    p--;
                    plen++;
                    break;
                } else if (plen >= 3 && p[1] == '-') {
                    int start = (unsigned char)p[0], end = (unsigned char)p[2],
                        ch = (unsigned char)s[0];
                    if (start > end) {
                        int t = start;
                        start = end;
                        end = t;
                    }
                    if (nocase) {
                        start = tolower(start);
                        end = tolower(end);
                        ch = tolower(ch);
                    }
                    p += 2;
                    plen -= 2;
                    if (ch >= start && ch <= end)
                        match = 1;
                } else {
                    if (!nocase) {
                        if (p[0] == s[0])
                            match = 1;
                    } else if (tolower((unsigned char)p[0]) == tolower((unsigned char)s[0])) {
                        match = 1;
                    }
                }
                p++;
                plen--;
            }
            if (not)
                match = !match;
            if (!match)
                return 0;
            s++;
            slen--;
            break;
        }
        case '\\':
            if (plen >= 2) {
                p++;
                plen--;
            }
            /* fall through */
        default:
            if (!nocase) {
                if (p[0] != s[0])
                    return 0;
            } else if (tolower((unsigned char)p[0]) != tolower((unsigned char)s[0])) {
                return 0;
            }
            s++;
            slen--;
            break;
        }
        p++;
        plen--;
        if (slen == 0) {
            while (plen && *p == '*') {
                p++;
                plen--;
            }
            break;
        }
    }
    return plen == 0 && slen == 0;
}

int kv_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase)
{
    int skip = 0;
    return match_impl(pat, plen, s, slen, nocase, &skip, 0);
}

/* ------------------------------------------------------------------------ */
/* Active expiry                                                             */
/* ------------------------------------------------------------------------ */

typedef struct expiring {
    cmd_env *env;
    int db;
} expiring;

static void before_expire(void *arg, const char *key, size_t klen)
{
    expiring *x = arg;
    cmd_env *env = x->env;
    db_log_delete(env, x->db, key, klen, env->lazy_expire);
    touched(env, x->db, key, klen, 0);
    env->expired_keys++;
    /* Before the deletion only because the key's bytes go with it:
     * nothing can look at the keyspace in between. */
    env_notify(env, x->db, NOTIFY_EXPIRED, "expired", key, klen);
}

static int64_t elapsed_ns(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000000000L + (t1.tv_nsec - t0->tv_nsec);
}

void db_active_expire(cmd_env *env, ks **dbs, int ndbs, int64_t now_ms)
{
    if (env->replica || env->client_pause)
        return;
    /* Like Redis's activeExpireCycle: visit up to 16 databases in turn;
     * in each, sample 20 keys at a time and go on while more than a
     * quarter of a sample had expired; about a millisecond in all. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int visits = ndbs < 16 ? ndbs : 16;
    for (int v = 0; v < visits; v++) {
        expiring x = {env, env->expire_db < ndbs ? env->expire_db : 0};
        env->expire_db = x.db + 1 < ndbs ? x.db + 1 : 0;
        ks *k = dbs[x.db];
        if (!ks_expires(k))
            continue;
        for (int round = 0; round < 64; round++) {
            if (engine_can_write(env->eng, 4096, NULL) != 0)
                return;
            size_t n = ks_expire_cycle(k, now_ms, 20, before_expire, &x);
            engine_entry_commit(env->eng);
            if (n < 5)
                break;
            if (elapsed_ns(&t0) > 1000000L)
                return;
        }
        if (elapsed_ns(&t0) > 1000000L)
            return;
    }
}
