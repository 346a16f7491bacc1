/* cmd_keys.c — commands on whole keys: DEL, EXISTS, TYPE, KEYS, SCAN,
 * RANDOMKEY, RENAME, MOVE, COPY, the EXPIRE family, TTL, PERSIST, TOUCH,
 * OBJECT.
 *
 * Logged effects (cmd.h): EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT are
 * logged as "PEXPIREAT key <absolute ms>", or as "DEL key" when the time
 * is already past (the key is deleted at once, as Redis does on a
 * primary). RENAME, RENAMENX, MOVE, COPY, PERSIST and DEL are
 * deterministic and logged as themselves, in the database they ran in (a
 * lazy-expiry DEL in MOVE's or COPY's destination goes in the
 * destination's, before them). The read commands log nothing of their own; SCAN
 * and RANDOMKEY may delete expired keys they meet, which db.c logs.
 *
 * Keyspace events as Redis 7.0's db.c and expire.c: "del" per deleted key,
 * "new" + "rename_from" + "rename_to", "new" + "copy_to", "new" (in the
 * destination) + "move_from" (source) + "move_to" (destination), "expire" (after
 * the reply) or "del" (a time already past, before it), "persist".
 *
 * OBJECT IDLETIME is not implemented: it needs a per-key access clock
 * that the keyspace does not keep, so it answers Redis's unknown
 * subcommand error rather than a made-up number. */
#include "cmd.h"

#include "mem.h"
#include "reply.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- helpers ---- */

static const char *type_name(const kobj *o)
{
    if (!o)
        return "none";
    switch (kobj_type(o)) {
    case KT_STRING:
        return "string";
    case KT_LIST:
        return "list";
    case KT_SET:
        return "set";
    case KT_ZSET:
        return "zset";
    case KT_STREAM:
        return "stream";
    default:
        return "hash";
    }
}

/* Bytes of argument i up to its first NUL: the C string Redis sees where
 * it formats or compares an argument with C string functions. */
static size_t arg_cstrlen(const cmd_ctx *c, int i)
{
    const char *nul = memchr(c->argv[i], '\0', c->lens[i]);
    return nul ? (size_t)(nul - c->argv[i]) : c->lens[i];
}

static int same_arg(const cmd_ctx *c, int i, int j)
{
    return c->lens[i] == c->lens[j] && memcmp(c->argv[i], c->argv[j], c->lens[i]) == 0;
}

/* ---- DEL / UNLINK / EXISTS / TYPE / TOUCH ---- */

/* DEL and UNLINK key [key ...], the number of keys removed: UNLINK frees large values on the lazyfree
 * thread, DEL does so under lazyfree-lazy-user-del (Redis's delGenericCommand). */
static void del_generic(cmd_ctx *c, int lazy)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++) {
        if (db_delete_lazy(c, c->argv[i], c->lens[i], lazy)) {
            cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[i], c->lens[i]);
            n++;
        }
    }
    reply_int(&c->r, n);
}

static void cmd_del(cmd_ctx *c)
{
    del_generic(c, c->env->lazy_user_del);
}

static void cmd_unlink(cmd_ctx *c)
{
    del_generic(c, 1);
}

/* EXISTS key [key ...]: counts repeated keys repeatedly, as Redis,
 * leaving access stamps alone. */
static void cmd_exists(cmd_ctx *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        n += db_read_notouch(c, c->argv[i], c->lens[i]) != NULL;
    reply_int(&c->r, n);
}

/* TOUCH key [key ...]: the same count, updating each key's access stamp. */
static void cmd_touch(cmd_ctx *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        n += db_read(c, c->argv[i], c->lens[i]) != NULL;
    reply_int(&c->r, n);
}

static void cmd_type(cmd_ctx *c)
{
    reply_simple(&c->r, type_name(db_read_notouch(c, c->argv[1], c->lens[1])));
}

/* ---- KEYS / SCAN / RANDOMKEY ---- */

/* KEYS pattern: expired keys are skipped, not deleted (Redis's
 * keyIsExpired), so KEYS never writes. */
static void cmd_keys(cmd_ctx *c)
{
    const char *pat = c->argv[1];
    size_t plen = c->lens[1];
    int all = plen == 1 && pat[0] == '*';
    reply_deferred d = reply_defer(&c->r);
    long n = 0;
    ks_iter it;
    ks_iter_init(&it, c->k);
    for (kobj *o; (o = ks_iter_next(&it));) {
        size_t klen;
        const char *key = kobj_key(o, &klen);
        if ((all || kv_match(pat, plen, key, klen, 0)) && !db_is_expired(c, o)) {
            reply_bulk(&c->r, key, klen);
            n++;
        }
    }
    ks_iter_done(&it);
    reply_set_array_len(&c->r, d, n);
}

/* Redis's parseScanCursorOrReply: strtoul over the argument as a C string;
 * no leading blank, nothing after the digits, no ERANGE. So "" is 0 and
 * "-1" is ULONG_MAX, as there. */
static int parse_cursor(cmd_ctx *c, int i, uint64_t *cursor)
{
    size_t n = arg_cstrlen(c, i);
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
    *cursor = v;
    return 0;
}

/* Key names one SCAN step found, copied (filtering may delete keys). A
 * length with SCAN_DROP set is a key the filters dropped. */
#define SCAN_DROP ((size_t)1 << (sizeof(size_t) * 8 - 1))
typedef struct scan_found {
    kbuf names;    /* the key bytes, back to back */
    size_t *lens;
    size_t n, cap;
} scan_found;

static void scan_collect(void *arg, kobj *o)
{
    scan_found *f = arg;
    size_t klen;
    const char *key = kobj_key(o, &klen);
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->lens = kv_realloc(f->lens, f->cap * sizeof *f->lens);
    }
    kbuf_append(&f->names, key, klen);
    f->lens[f->n++] = klen;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type], as Redis 7.0's
 * scanGenericCommand: up to COUNT*10 table steps or until COUNT keys were
 * found, then the filters in Redis's order — pattern, type (a lookup that
 * expires the key, so an expired key has type "none"), then expiry. */
static void cmd_scan(cmd_ctx *c)
{
    uint64_t cursor;
    if (parse_cursor(c, 1, &cursor) < 0)
        return;
    long long count = 10;
    const char *pat = NULL;
    size_t plen = 0;
    int type_arg = 0;
    for (int i = 2; i < c->argc; i += 2) {
        int more = c->argc - i >= 2;
        if (more && arg_is_c(c, i, "COUNT")) {
            if (arg_ll(c, i + 1, &count) < 0)
                return;
            if (count < 1) {
                reply_err_syntax(&c->r);
                return;
            }
        } else if (more && arg_is_c(c, i, "MATCH")) {
            pat = c->argv[i + 1];
            plen = c->lens[i + 1];
        } else if (more && arg_is_c(c, i, "TYPE")) {
            type_arg = i + 1;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    int use_pattern = pat && !(plen == 1 && pat[0] == '*');

    scan_found f;
    memset(&f, 0, sizeof f);
    long long steps = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = ks_scan(c->k, cursor, scan_collect, &f);
    } while (cursor && steps-- && f.n < (unsigned long long)count);

    /* Filter first, reply after, as Redis: an expiry found here is
     * announced (keyspace events) before the reply, not inside it. */
    long kept = 0;
    const char *name = kbuf_data(&f.names);
    for (size_t i = 0; i < f.n; name += f.lens[i] & ~SCAN_DROP, i++) {
        size_t klen = f.lens[i];
        int drop = use_pattern && !kv_match(pat, plen, name, klen, 0);
        if (!drop && type_arg) {
            const char *t = type_name(db_read_notouch(c, name, klen));
            size_t tl = arg_cstrlen(c, type_arg);
            drop = tl != strlen(t) || strncasecmp(c->argv[type_arg], t, tl) != 0;
        }
        /* A key already deleted above is not "expired" any more: Redis
         * keeps it in the reply too. */
        kobj *o = drop ? NULL : ks_find(c->k, name, klen);
        if (o && db_expire_if_needed(c, o) != DB_LIVE)
            drop = 1;
        if (drop)
            f.lens[i] |= SCAN_DROP;
        else
            kept++;
    }
    reply_array(&c->r, 2);
    /* Printed as a signed number, as Redis's addReplyBulkLongLong does. */
    reply_bulk_ll(&c->r, (long long)cursor);
    reply_array(&c->r, kept);
    name = kbuf_data(&f.names);
    for (size_t i = 0; i < f.n; i++) {
        size_t klen = f.lens[i] & ~SCAN_DROP;
        if (!(f.lens[i] & SCAN_DROP))
            reply_bulk(&c->r, name, klen);
        name += klen;
    }
    kbuf_free(&f.names);
    kv_free(f.lens);
}

/* RANDOMKEY, as Redis's dbRandomKey: an expired key picked on the primary
 * is deleted (and the DEL logged) and another one tried. Where it cannot
 * be deleted (a replica, or the WAL cannot take the DEL) it is skipped;
 * if every key has a TTL, after 100 such picks the last one is returned
 * anyway, so a keyspace of keys all logically expired cannot loop. */
static void cmd_randomkey(cmd_ctx *c)
{
    int allvolatile = ks_size(c->k) == ks_expires(c->k);
    int tries = 100;
    for (;;) {
        kobj *o = ks_random_fair(c->k, cmd_random());
        if (!o) {
            reply_null(&c->r);
            return;
        }
        size_t klen;
        const char *key = kobj_key(o, &klen);
        if (kobj_expire(o) >= 0) {
            int st = db_expire_if_needed(c, o);
            if (st == DB_EXPIRED_DELETED)
                continue;
            if (st == DB_EXPIRED_KEPT && !(allvolatile && --tries == 0))
                continue;
        }
        reply_bulk(&c->r, key, klen);
        return;
    }
}

/* ---- RENAME / RENAMENX / COPY ---- */

static void rename_generic(cmd_ctx *c, int nx)
{
    kobj *o = db_write(c, c->argv[1], c->lens[1]);
    if (!o) {
        reply_error(&c->r, KV_ERR_NOSUCHKEY);
        return;
    }
    if (same_arg(c, 1, 2)) {
        if (nx)
            reply_int(&c->r, 0);
        else
            reply_ok(&c->r);
        return;
    }
    if (db_write(c, c->argv[2], c->lens[2]) && nx) {
        reply_int(&c->r, 0);
        return;
    }
    ks_rename(c->k, o, c->argv[2], c->lens[2]);
    /* Redis deletes an existing destination and adds the key anew. */
    cmd_notify_new(c, c->argv[2], c->lens[2]);
    db_modified(c, c->argv[1], c->lens[1]);
    db_modified(c, c->argv[2], c->lens[2]);
    cmd_notify(c, NOTIFY_GENERIC, "rename_from", c->argv[1], c->lens[1]);
    cmd_notify(c, NOTIFY_GENERIC, "rename_to", c->argv[2], c->lens[2]);
    if (nx)
        reply_int(&c->r, 1);
    else
        reply_ok(&c->r);
}

static void cmd_rename(cmd_ctx *c)
{
    rename_generic(c, 0);
}

static void cmd_renamenx(cmd_ctx *c)
{
    rename_generic(c, 1);
}

/* MOVE key db, as Redis 7.0's moveCommand: the key keeps its value, TTL
 * and encoding; 0 when it is missing here or exists there. */
static void cmd_move(cmd_ctx *c)
{
    const char *key = c->argv[1];
    size_t klen = c->lens[1];
    int dst;
    if (arg_db(c, 2, &dst) < 0)
        return;
    if (dst == c->db) {
        reply_error(&c->r, "ERR source and destination objects are the same");
        return;
    }
    kobj *o = db_write(c, key, klen);
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    int src = cmd_use_db(c, dst);
    /* Present there (an expired key whose deletion could not be logged
     * stays too: it is in the way all the same). */
    if (db_write(c, key, klen) || ks_find(c->k, key, klen)) {
        cmd_use_db(c, src);
        reply_int(&c->r, 0);
        return;
    }
    ks_move(c->dbs[src], o, c->k);
    cmd_notify_new(c, key, klen);
    db_modified(c, key, klen);
    cmd_use_db(c, src);
    db_modified(c, key, klen);
    cmd_notify(c, NOTIFY_GENERIC, "move_from", key, klen);
    cmd_use_db(c, dst);
    cmd_notify(c, NOTIFY_GENERIC, "move_to", key, klen);
    cmd_use_db(c, src);
    reply_int(&c->r, 1);
}

/* COPY source destination [DB destination-db] [REPLACE], as Redis 7.0's
 * copyCommand: options in order (the first bad one answers), then the
 * same-object check, then the source (a read) and the destination. */
static void cmd_copy(cmd_ctx *c)
{
    int replace = 0, dst = c->db;
    for (int j = 3; j < c->argc; j++) {
        if (arg_is_c(c, j, "REPLACE")) {
            replace = 1;
        } else if (arg_is_c(c, j, "DB") && j + 1 < c->argc) {
            if (arg_db(c, j + 1, &dst) < 0)
                return;
            j++;
        } else {
            reply_err_syntax(&c->r);
            return;
        }
    }
    if (dst == c->db && same_arg(c, 1, 2)) {
        reply_error(&c->r, "ERR source and destination objects are the same");
        return;
    }
    kobj *o = db_read(c, c->argv[1], c->lens[1]);
    if (!o) {
        reply_int(&c->r, 0);
        return;
    }
    int src = cmd_use_db(c, dst);
    if (db_write(c, c->argv[2], c->lens[2]) && !replace) {
        cmd_use_db(c, src);
        reply_int(&c->r, 0);
        return;
    }
    ks_copy(c->k, o, c->argv[2], c->lens[2]);
    cmd_notify_new(c, c->argv[2], c->lens[2]);
    db_modified(c, c->argv[2], c->lens[2]);
    cmd_notify(c, NOTIFY_GENERIC, "copy_to", c->argv[2], c->lens[2]);
    cmd_use_db(c, src);
    reply_int(&c->r, 1);
}

/* ---- EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT ---- */

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

/* Redis 7.0's parseExtendedExpireArgumentsOrReply. */
static int parse_expire_flags(cmd_ctx *c, int *flags)
{
    static const struct {
        const char *name;
        int flag;
    } opts[] = {{"NX", EXP_NX}, {"XX", EXP_XX}, {"GT", EXP_GT}, {"LT", EXP_LT}};
    *flags = 0;
    for (int j = 3; j < c->argc; j++) {
        int f = 0;
        for (size_t i = 0; i < sizeof opts / sizeof *opts && !f; i++)
            if (arg_is_c(c, j, opts[i].name))
                f = opts[i].flag;
        if (!f) {
            reply_errorf(&c->r, "ERR Unsupported option %.*s", (int)arg_cstrlen(c, j),
                         c->argv[j]);
            return -1;
        }
        *flags |= f;
    }
    if ((*flags & EXP_NX) && (*flags & (EXP_XX | EXP_GT | EXP_LT))) {
        reply_error(&c->r, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return -1;
    }
    if ((*flags & EXP_GT) && (*flags & EXP_LT)) {
        reply_error(&c->r, "ERR GT and LT options at the same time are not compatible");
        return -1;
    }
    return 0;
}

/* Does the NX/XX/GT/LT condition allow setting `when` over `current`
 * (-1: no TTL, which counts as infinite)? */
static int expire_allowed(int flags, long long current, long long when)
{
    if ((flags & EXP_NX) && current != -1)
        return 0;
    if ((flags & EXP_XX) && current == -1)
        return 0;
    if ((flags & EXP_GT) && (current == -1 || when <= current))
        return 0;
    if ((flags & EXP_LT) && current != -1 && when >= current)
        return 0;
    return 1;
}

/* Redis 7.0's expireGenericCommand: basetime is now (relative forms) or 0;
 * seconds says the argument's unit. */
static void expire_generic(cmd_ctx *c, long long basetime, int seconds)
{
    int flags;
    if (parse_expire_flags(c, &flags) < 0)
        return;
    long long when;
    if (arg_ll(c, 2, &when) < 0)
        return;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            reply_errorf(&c->r, "ERR invalid expire time in '%s' command", c->cmd->name);
            return;
        }
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) {
        reply_errorf(&c->r, "ERR invalid expire time in '%s' command", c->cmd->name);
        return;
    }
    when += basetime;
    const char *key = c->argv[1];
    size_t klen = c->lens[1];
    kobj *o = db_write(c, key, klen);
    if (!o || !expire_allowed(flags, kobj_expire(o), when)) {
        reply_int(&c->r, 0);
        return;
    }
    if (when <= c->now_ms && !c->replay) {
        /* Already past: delete now and log the deletion. */
        ks_delete(c->k, key, klen);
        db_modified(c, key, klen);
        cmd_notify(c, NOTIFY_GENERIC, "del", key, klen);
        const char *argv[2] = {"DEL", key};
        size_t lens[2] = {3, klen};
        cmd_propagate(c, 2, argv, lens);
        reply_int(&c->r, 1);
        return;
    }
    ks_set_expire(c->k, o, when);
    db_modified(c, key, klen);
    reply_int(&c->r, 1);
    cmd_notify(c, NOTIFY_GENERIC, "expire", key, klen);
    char ms[KV_I64_DIGITS + 1];
    size_t mslen = kv_ll2string(ms, sizeof ms, when);
    const char *argv[3] = {"PEXPIREAT", key, ms};
    size_t lens[3] = {9, klen, mslen};
    cmd_propagate(c, 3, argv, lens);
}

static void cmd_expire(cmd_ctx *c)
{
    expire_generic(c, c->now_ms, 1);
}

static void cmd_pexpire(cmd_ctx *c)
{
    expire_generic(c, c->now_ms, 0);
}

static void cmd_expireat(cmd_ctx *c)
{
    expire_generic(c, 0, 1);
}

static void cmd_pexpireat(cmd_ctx *c)
{
    expire_generic(c, 0, 0);
}

/* ---- TTL / PTTL / EXPIRETIME / PEXPIRETIME / PERSIST ---- */

/* -2 for a missing key, -1 without a TTL; else the remaining (or, with
 * absolute, the unix) time, in ms or rounded to the nearest second. */
static void ttl_generic(cmd_ctx *c, int ms, int absolute)
{
    kobj *o = db_read_notouch(c, c->argv[1], c->lens[1]);
    if (!o) {
        reply_int(&c->r, -2);
        return;
    }
    long long expire = kobj_expire(o);
    if (expire == -1) {
        reply_int(&c->r, -1);
        return;
    }
    long long ttl = absolute ? expire : expire - c->now_ms;
    if (ttl < 0)
        ttl = 0;
    /* ttl + 500 cannot overflow in unsigned arithmetic. */
    reply_int(&c->r, ms ? ttl : (long long)(((unsigned long long)ttl + 500) / 1000));
}

static void cmd_ttl(cmd_ctx *c)
{
    ttl_generic(c, 0, 0);
}

static void cmd_pttl(cmd_ctx *c)
{
    ttl_generic(c, 1, 0);
}

static void cmd_expiretime(cmd_ctx *c)
{
    ttl_generic(c, 0, 1);
}

static void cmd_pexpiretime(cmd_ctx *c)
{
    ttl_generic(c, 1, 1);
}

static void cmd_persist(cmd_ctx *c)
{
    kobj *o = db_write(c, c->argv[1], c->lens[1]);
    if (!o || kobj_expire(o) < 0) {
        reply_int(&c->r, 0);
        return;
    }
    ks_set_expire(c->k, o, -1);
    db_modified(c, c->argv[1], c->lens[1]);
    cmd_notify(c, NOTIFY_GENERIC, "persist", c->argv[1], c->lens[1]);
    reply_int(&c->r, 1);
}

/* ---- OBJECT ---- */

static void object_help(cmd_ctx *c)
{
    static const char *const help[] = {
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof help / sizeof *help;
    reply_array(&c->r, (long)n + 1);
    /* Redis prints the command name as it was typed, upper-cased. */
    size_t cl = arg_cstrlen(c, 0);
    char *name = kv_memdup(c->argv[0], cl);
    for (size_t i = 0; i < cl; i++)
        name[i] = (char)toupper((unsigned char)name[i]);
    kbuf head = KBUF_INIT;
    kbuf_printf(&head, "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", name);
    kv_free(name);
    reply_simple_len(&c->r, kbuf_data(&head), kbuf_len(&head));
    kbuf_free(&head);
    for (size_t i = 0; i < n; i++)
        reply_simple(&c->r, help[i]);
}

static void object_encoding(cmd_ctx *c, kobj *o)
{
    reply_bulk_cstr(&c->r, kobj_encoding(o));
}

static void object_refcount(cmd_ctx *c, kobj *o)
{
    reply_int(&c->r, kobj_refcount(o));
}

/* The access counter of LFU policies (evict.c), after decay. */
static void object_freq(cmd_ctx *c, kobj *o)
{
    if (!(c->env->maxmemory_policy & EVICT_FLAG_LFU)) {
        reply_error(&c->r, "ERR An LFU maxmemory policy is not selected, access frequency not "
                           "tracked. Please note that when switching between policies at runtime "
                           "LRU and LFU data will take some time to adjust.");
        return;
    }
    reply_int(&c->r, (long long)evict_lfu_count(c->env, o, c->now_ms));
}

/* Seconds since the last access (the LRU clock), under any non-LFU policy. */
static void object_idletime(cmd_ctx *c, kobj *o)
{
    if (c->env->maxmemory_policy & EVICT_FLAG_LFU) {
        reply_error(&c->r, "ERR An LFU maxmemory policy is selected, idle time not tracked. "
                           "Please note that when switching between policies at runtime LRU and "
                           "LFU data will take some time to adjust.");
        return;
    }
    reply_int(&c->r, evict_idle_seconds(o, c->now_ms));
}

/* OBJECT <subcommand> <key>: fn on the key's value, or a null reply. The
 * container (the server's command table) has checked the arity. */
static void object_of(cmd_ctx *c, void (*fn)(cmd_ctx *c, kobj *o))
{
    kobj *o = db_read_nonotify(c, c->argv[2], c->lens[2]);
    if (!o) {
        reply_null(&c->r);
        return;
    }
    fn(c, o);
}

static void cmd_object_encoding(cmd_ctx *c)
{
    object_of(c, object_encoding);
}

static void cmd_object_refcount(cmd_ctx *c)
{
    object_of(c, object_refcount);
}

static void cmd_object_freq(cmd_ctx *c)
{
    object_of(c, object_freq);
}

static void cmd_object_idletime(cmd_ctx *c)
{
    object_of(c, object_idletime);
}

/* ---- table ---- */

const kv_command cmds_keys[] = {
    {"del", cmd_del, -2, CMD_WRITE, 1, -1, 1, "generic", "Delete a key", "1.0.0",
     "@keyspace @write @slow"},
    {"unlink", cmd_unlink, -2, CMD_WRITE | CMD_FAST, 1, -1, 1, "generic",
     "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non "
     "blocking.",
     "4.0.0", "@keyspace @write @fast"},
    {"exists", cmd_exists, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "generic",
     "Determine if a key exists", "1.0.0", "@keyspace @read @fast"},
    {"touch", cmd_touch, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "generic",
     "Alters the last access time of a key(s). Returns the number of existing keys "
     "specified.",
     "3.2.1", "@keyspace @read @fast"},
    {"type", cmd_type, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic",
     "Determine the type stored at key", "1.0.0", "@keyspace @read @fast"},
    {"keys", cmd_keys, 2, CMD_READONLY, 0, 0, 0, "generic",
     "Find all keys matching the given pattern", "1.0.0", "@keyspace @read @slow @dangerous"},
    {"scan", cmd_scan, -2, CMD_READONLY, 0, 0, 0, "generic", "Incrementally iterate the keys space",
     "2.8.0", "@keyspace @read @slow"},
    {"randomkey", cmd_randomkey, 1, CMD_READONLY, 0, 0, 0, "generic",
     "Return a random key from the keyspace", "1.0.0", "@keyspace @read @slow"},
    {"rename", cmd_rename, 3, CMD_WRITE, 1, 2, 1, "generic", "Rename a key", "1.0.0",
     "@keyspace @write @slow"},
    {"renamenx", cmd_renamenx, 3, CMD_WRITE | CMD_FAST, 1, 2, 1, "generic",
     "Rename a key, only if the new key does not exist", "1.0.0", "@keyspace @write @fast"},
    {"move", cmd_move, 3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic",
     "Move a key to another database", "1.0.0", "@keyspace @write @fast"},
    {"copy", cmd_copy, -3, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "generic", "Copy a key", "6.2.0",
     "@keyspace @write @slow"},
    {"expire", cmd_expire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic",
     "Set a key's time to live in seconds", "1.0.0", "@keyspace @write @fast"},
    {"pexpire", cmd_pexpire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic",
     "Set a key's time to live in milliseconds", "2.6.0", "@keyspace @write @fast"},
    {"expireat", cmd_expireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic",
     "Set the expiration for a key as a UNIX timestamp", "1.2.0", "@keyspace @write @fast"},
    {"pexpireat", cmd_pexpireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic",
     "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0",
     "@keyspace @write @fast"},
    {"expiretime", cmd_expiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic",
     "Get the expiration Unix timestamp for a key", "7.0.0", "@keyspace @read @fast"},
    {"pexpiretime", cmd_pexpiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic",
     "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0",
     "@keyspace @read @fast"},
    {"ttl", cmd_ttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic",
     "Get the time to live for a key in seconds", "1.0.0", "@keyspace @read @fast"},
    {"pttl", cmd_pttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic",
     "Get the time to live for a key in milliseconds", "2.6.0", "@keyspace @read @fast"},
    {"persist", cmd_persist, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic",
     "Remove the expiration from a key", "2.2.0", "@keyspace @write @fast"},
    /* OBJECT's subcommands (the container is the server's, cmd_command.c). */
    {"object|encoding", cmd_object_encoding, 3, CMD_READONLY, 2, 2, 1, "generic",
     "Inspect the internal encoding of a Redis object", "2.2.3", "@keyspace @read @slow"},
    {"object|freq", cmd_object_freq, 3, CMD_READONLY, 2, 2, 1, "generic",
     "Get the logarithmic access frequency counter of a Redis object", "4.0.0",
     "@keyspace @read @slow"},
    {"object|idletime", cmd_object_idletime, 3, CMD_READONLY, 2, 2, 1, "generic",
     "Get the time since a Redis object was last accessed", "2.2.3", "@keyspace @read @slow"},
    {"object|refcount", cmd_object_refcount, 3, CMD_READONLY, 2, 2, 1, "generic",
     "Get the number of references to the value of the key", "2.2.3", "@keyspace @read @slow"},
    {"object|help", object_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "generic",
     "Show helpful text about the different subcommands", "6.2.0", "@keyspace @slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
