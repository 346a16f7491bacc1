/* cmd_debug.c — DEBUG subcommands: DIGEST, POPULATE, SLEEP, SET-ACTIVE-EXPIRE,
 * DIGEST-VALUE, OBJECT, RELOAD, LOADAOF, PROTOCOL, QUICKLIST-PACKED-THRESHOLD,
 * ERROR, LOG, HELP.
 *
 * DEBUG runs only on a serving node (it is a read for the node's state
 * checks) and is never logged. RELOAD takes a snapshot and loads the
 * keyspace back from it (engine_reload). */
#include "server.h"

#include "dict.h"
#include "err.h"
#include "rdb.h"
#include "thash.h"
#include "tset.h"
#include "tzset.h"

#include "log.h"
#include "mem.h"
#include "reply.h"
#include "script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* The argument as a C string (Redis reads these with atoi / strtod). */
static void arg_cstr(const cmd_ctx *c, int i, char *buf, size_t len)
{
    size_t n = c->lens[i] < len - 1 ? c->lens[i] : len - 1;
    memcpy(buf, c->argv[i], n);
    buf[n] = '\0';
}

static void debug_digest(cmd_ctx *c)
{
    char d[41];
    ks_digest_dbs(c->dbs, c->ndbs, d);
    reply_simple(&c->r, d);
}

/* DIGEST-VALUE [key ...]: one status reply per key with the digest of its
 * value (Redis's xorObjectDigest: not the name; all zeros for a missing
 * key). A raw lookup, as Redis's: a logically expired key still digests. */
static void debug_digest_value(cmd_ctx *c)
{
    reply_array(&c->r, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        char d[41];
        ks_digest_value(ks_find(c->k, c->argv[i], c->lens[i]), d);
        reply_simple(&c->r, d);
    }
}

/* SLEEP <seconds>: blocks the event loop, as Redis. Decimals allowed; a
 * value that does not parse sleeps 0. */
/* POPULATE count [prefix] [size]: create keys prefix:0 .. prefix:count-1
 * (existing ones are left alone) with values "value:N", cut or padded with
 * NULs to size, as Redis does. Unlike Redis, the keys are logged (as SETs,
 * in one entry) so they survive a restart and reach replicas. */
static void debug_populate(cmd_ctx *c)
{
    if (c->argc > 5) {
        reply_err_subcommand_syntax(&c->r, "debug", 5, c->argv[1], c->lens[1]);
        return;
    }
    if (c->replica) {
        reply_error(&c->r, "READONLY You can't write against a read only replica.");
        return;
    }
    /* Redis's getPositiveLongFromObjectOrReply: one message for a
     * non-number and a negative number alike. */
    long long count, size = 0;
    if (!kv_string2ll(c->argv[2], c->lens[2], &count) || count < 0 ||
        (c->argc == 5 && (!kv_string2ll(c->argv[4], c->lens[4], &size) || size < 0))) {
        reply_error(&c->r, "ERR value is out of range, must be positive");
        return;
    }
    const char *prefix = c->argc > 3 ? c->argv[3] : "key";
    size_t plen = c->argc > 3 ? c->lens[3] : 3;
    size_t vcap = size > 128 ? (size_t)size : 128;
    char *key = kv_malloc(plen + 32), *val = kv_calloc(1, vcap);
    memcpy(key, prefix, plen);
    key[plen] = ':';
    for (long long i = 0; i < count; i++) {
        size_t klen = plen + 1 + kv_ll2string(key + plen + 1, 24, i);
        if (db_write(c, key, klen))
            continue;
        char buf[64];
        size_t n = (size_t)snprintf(buf, sizeof buf, "value:%lld", i);
        size_t vlen = n;
        if (size) {
            vlen = (size_t)size;
            memset(val, 0, vlen);
            memcpy(val, buf, n < vlen ? n : vlen);
        } else {
            memcpy(val, buf, n);
        }
        ks_set_string(c->k, key, klen, val, vlen, 0);
        cmd_notify_new(c, key, klen); /* Redis's dbAdd announces it */
        db_modified(c, key, klen);
        const char *argv[3] = {"SET", key, val};
        size_t lens[3] = {3, klen, vlen};
        cmd_propagate(c, 3, argv, lens);
    }
    kv_free(key);
    kv_free(val);
    reply_ok(&c->r);
}

static void debug_sleep(cmd_ctx *c)
{
    char buf[64];
    arg_cstr(c, 2, buf, sizeof buf);
    double secs = strtod(buf, NULL);
    long long us = (long long)(secs * 1000000);
    if (us > 0) {
        struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    reply_ok(&c->r);
}

/* DEBUG SEGFAULT: a write to a read-only page (Redis's way, which no
 * compiler optimizes away); the crash report follows (crash-log-enabled). */
static void debug_segfault(cmd_ctx *c)
{
    (void)c;
    log_warn("DEBUG SEGFAULT: crashing on purpose");
    volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED)
        *p = 'x';
    kv_abort(); /* not reached */
}

/* DEBUG PANIC: a fatal internal error, as Redis's serverPanic. */
static void debug_panic(cmd_ctx *c)
{
    (void)c;
    log_warn("------------------------------------------------");
    log_warn("Guru Meditation: DEBUG PANIC called at Unix time %lld", (long long)time(NULL));
    kv_abort();
}

/* DEBUG SET-SKIP-CHECKSUM-VALIDATION <0|1> (atoi): RESTORE checks a
 * payload's version but not its CRC-64 (Redis's, for corrupt-payload
 * tests; the decoder still refuses what does not decode). */
static void debug_set_skip_checksum_validation(cmd_ctx *c)
{
    char buf[32];
    arg_cstr(c, 2, buf, sizeof buf);
    rdb_set_skip_checksum(atoi(buf) != 0);
    reply_ok(&c->r);
}

/* DEBUG PAUSE-CRON <0|1> (any integer, as Redis's atoi). */
static void debug_pause_cron(cmd_ctx *c)
{
    char buf[32];
    arg_cstr(c, 2, buf, sizeof buf);
    c->srv->pause_cron = atoi(buf) != 0;
    reply_ok(&c->r);
}

static void debug_set_active_expire(cmd_ctx *c)
{
    char buf[32];
    arg_cstr(c, 2, buf, sizeof buf);
    int on = atoi(buf) != 0;
    c->srv->active_expire = on;
    c->srv->cfg.active_expire = on;
    reply_ok(&c->r);
}

/* SET-DISABLE-DENY-SCRIPTS <0|1>: let scripts call noscript commands
 * (hidden, as in Redis's DEBUG HELP). */
static void debug_set_disable_deny_scripts(cmd_ctx *c)
{
    char buf[32];
    arg_cstr(c, 2, buf, sizeof buf);
    script_set_deny_disabled(atoi(buf) != 0);
    reply_ok(&c->r);
}

/* Redis's rdbSavedObjectLen: the bytes of the value in an RDB file, which
 * is the DUMP payload less its type byte, RDB version (2) and CRC (8). */
static size_t serialized_length(kobj *o)
{
    kbuf b = KBUF_INIT;
    rdb_dump(o, &b);
    size_t n = kbuf_len(&b) > 11 ? kbuf_len(&b) - 11 : 0;
    kbuf_free(&b);
    return n;
}

/* HTSTATS <dbid>: the keys dict and the expiry index of a database, in
 * Redis's dictGetStats text. */
static void debug_htstats(cmd_ctx *c)
{
    long long db;
    if (arg_ll(c, 2, &db) < 0)
        return;
    if (db < 0 || db >= c->ndbs) {
        reply_error(&c->r, "ERR Out of range database");
        return;
    }
    char buf[4096];
    kbuf b = KBUF_INIT;
    kbuf_append_str(&b, "[Dictionary HT]\n");
    dict_stats(ks_keys_dict(c->dbs[db]), buf, sizeof buf);
    kbuf_append_str(&b, buf);
    kbuf_append_str(&b, "[Expires HT]\n");
    dict_stats(ks_expires_dict(c->dbs[db]), buf, sizeof buf);
    kbuf_append_str(&b, buf);
    reply_verbatim(&c->r, kbuf_data(&b), kbuf_len(&b), "txt");
    kbuf_free(&b);
}

/* HTSTATS-KEY <key>: the same for the hash table of a set, hash or sorted
 * set in its hashtable / skiplist encoding. */
static void debug_htstats_key(cmd_ctx *c)
{
    kobj *o = db_read_nonotify(c, c->argv[2], c->lens[2]);
    if (!o) {
        reply_error(&c->r, "ERR no such key");
        return;
    }
    const dict *d = NULL;
    if (kobj_type(o) == KT_SET)
        d = set_dict(kobj_set(o));
    else if (kobj_type(o) == KT_HASH)
        d = hash_dict(kobj_hash(o));
    else if (kobj_type(o) == KT_ZSET)
        d = zset_dict(kobj_zset(o));
    if (!d) {
        reply_error(&c->r, "ERR The value stored at the specified key is not represented using "
                           "an hash table");
        return;
    }
    char buf[4096];
    size_t n = dict_stats(d, buf, sizeof buf);
    reply_verbatim(&c->r, buf, n, "txt");
}

/* OBJECT <key>: Redis's line. We keep no LRU clock and share no objects,
 * so lru, lru_seconds_idle are 0 and refcount is 1. */
static void debug_object(cmd_ctx *c)
{
    /* A raw lookup, as Redis's: an expired key not yet removed is shown
     * (and stays: nothing is modified or logged). */
    kobj *o = ks_find(c->k, c->argv[2], c->lens[2]);
    if (!o) {
        reply_error(&c->r, "ERR no such key");
        return;
    }
    /* A list: Redis's quicklist figures, for the nodes DUMP writes (Redis
     * keeps each list's fill and compress depth from its creation; these
     * are the current settings). */
    char extra[192] = "";
    if (kobj_type(o) == KT_LIST) {
        kv_list *l = kobj_list(o);
        size_t nodes, bytes;
        rdb_list_layout(l, &nodes, &bytes);
        snprintf(extra, sizeof extra,
                 " ql_nodes:%zu ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d"
                 " ql_uncompressed_size:%zu",
                 nodes, nodes ? (double)list_len(l) / (double)nodes : 0.0,
                 list_max_listpack_size, list_compress_depth != 0, bytes);
    }
    char line[384];
    snprintf(line, sizeof line,
             "Value at:%p refcount:1 encoding:%s serializedlength:%zu lru:0 "
             "lru_seconds_idle:0%s",
             (void *)o, kobj_encoding(o), serialized_length(o), extra);
    reply_simple(&c->r, line);
}

/* RELOAD [MERGE] [NOFLUSH] [NOSAVE]. What is on disk (the snapshots and
 * the WAL) always holds what memory holds, so: NOSAVE rebuilds the
 * keyspace from disk without taking a snapshot; NOFLUSH loads that data on
 * top of itself, where every key and function library already there is a
 * duplicate: refused as Redis refuses a duplicate (nothing changes), or
 * with MERGE replaced by itself, the same as a plain reload. */
static void debug_reload(cmd_ctx *c)
{
    int merge = 0, noflush = 0, nosave = 0;
    for (int i = 2; i < c->argc; i++) {
        if (arg_is(c, i, "MERGE"))
            merge = 1;
        else if (arg_is(c, i, "NOFLUSH"))
            noflush = 1;
        else if (arg_is(c, i, "NOSAVE"))
            nosave = 1;
        else {
            reply_error(&c->r, "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE "
                               "options.");
            return;
        }
    }
    if (noflush && !merge) {
        size_t keys = 0, libs = c->ndbs ? ks_aux_count(c->dbs[0]) : 0;
        for (int db = 0; db < c->ndbs; db++)
            keys += ks_size(c->dbs[db]);
        if (keys || libs) {
            log_warn("DEBUG RELOAD NOFLUSH without MERGE: %zu keys and %zu function libraries "
                     "would load on top of themselves",
                     keys, libs);
            reply_error(&c->r, "ERR Error trying to load the RDB dump");
            return;
        }
    }
    char err[256];
    int rc = nosave ? engine_reload_disk(c->srv->eng, err, sizeof err)
                    : engine_reload(c->srv->eng, err, sizeof err);
    if (rc) {
        reply_errorf(&c->r, "ERR Error trying to reload the snapshot: %s", err);
        return;
    }
    reply_ok(&c->r);
}

/* LOADAOF: Redis reloads the dataset from its AOF; kvnode's WAL is always
 * on, so the keyspace is reloaded the same way as RELOAD (a snapshot taken
 * now, then loaded back), which keeps absolute TTLs as the AOF does. */
static void debug_loadaof(cmd_ctx *c)
{
    char err[256];
    if (engine_reload(c->srv->eng, err, sizeof err)) {
        reply_errorf(&c->r, "ERR Error trying to load the AOF files: %s", err);
        return;
    }
    log_notice("Append Only File loaded by DEBUG LOADAOF");
    reply_ok(&c->r);
}

/* PROTOCOL <type>: a sample reply of each RESP type (client tests). */
static void debug_protocol(cmd_ctx *c)
{
    reply *r = &c->r;
    if (arg_is(c, 2, "string")) {
        reply_bulk_cstr(r, "Hello World");
    } else if (arg_is(c, 2, "integer")) {
        reply_int(r, 12345);
    } else if (arg_is(c, 2, "double")) {
        reply_double(r, 3.141);
    } else if (arg_is(c, 2, "bignum")) {
        reply_bignum(r, "1234567999999999999999999999999999999", 37);
    } else if (arg_is(c, 2, "null")) {
        reply_null(r);
    } else if (arg_is(c, 2, "array") || arg_is(c, 2, "set")) {
        if (arg_is(c, 2, "array"))
            reply_array(r, 3);
        else
            reply_set(r, 3);
        for (int j = 0; j < 3; j++)
            reply_int(r, j);
    } else if (arg_is(c, 2, "map")) {
        reply_map(r, 3);
        for (int j = 0; j < 3; j++) {
            reply_int(r, j);
            reply_bool(r, j == 1);
        }
    } else if (arg_is(c, 2, "attrib")) {
        if (reply_attribute(r, 1)) {
            reply_bulk_cstr(r, "key-popularity");
            reply_array(r, 2);
            reply_bulk_cstr(r, "key:123");
            reply_int(r, 90);
        }
        reply_bulk_cstr(r, "Some real reply following the attribute");
    } else if (arg_is(c, 2, "push")) {
        if (r->resp < 3) {
            reply_error(r, "ERR RESP2 is not supported by this command");
            return;
        }
        reply_push(r, 2);
        reply_bulk_cstr(r, "server-cpu-usage");
        reply_int(r, 42);
        reply_bulk_cstr(r, "Some real reply following the push reply");
    } else if (arg_is(c, 2, "true")) {
        reply_bool(r, 1);
    } else if (arg_is(c, 2, "false")) {
        reply_bool(r, 0);
    } else if (arg_is(c, 2, "verbatim")) {
        reply_verbatim(r, "This is a verbatim\nstring", 25, "txt");
    } else {
        reply_error(r, "ERR Wrong protocol type name. Please use one of the following: "
                       "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|"
                       "true|false");
    }
}

/* ERROR <string>: the string itself as an error reply. */
static void debug_error(cmd_ctx *c)
{
    reply_error_len(&c->r, c->argv[2], c->lens[2]);
}

static void debug_log(cmd_ctx *c)
{
    log_warn("DEBUG LOG: %.*s", (int)c->lens[2], c->argv[2]);
    reply_ok(&c->r);
}

/* QUICKLIST-PACKED-THRESHOLD <size>: Redis's quicklistisSetPackedThreshold.
 * 0 restores the default 1 GB; above 4 GB - 1 MB is refused. Only where
 * Redis would put plain nodes is visible: DUMP writes them so. */
static void debug_quicklist_packed_threshold(cmd_ctx *c)
{
    char buf[160];
    unsigned long long sz = 0;
    arg_cstr(c, 2, buf, sizeof buf);
    if (c->lens[2] >= sizeof buf || config_memtoull(buf, &sz) != 0 ||
        sz > (1ULL << 32) - (1ULL << 20)) {
        reply_error(&c->r, "ERR argument must be a memory value bigger than 1 and smaller than "
                           "4gb");
        return;
    }
    list_packed_threshold = sz ? (size_t)sz : (size_t)1 << 30;
    reply_ok(&c->r);
}

static void debug_help(cmd_ctx *c)
{
    static const char *const lines[] = {
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "ERROR <string>",
        "    Return a Redis protocol error with <string> as message. Useful for clients",
        "    unit tests to simulate Redis errors.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "HTSTATS <dbid>",
        "    Return hash table statistics of the specified Redis database.",
        "HTSTATS-KEY <key>",
        "    Like HTSTATS but for the hash table stored at <key>'s value.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "PANIC",
        "    Make the server crash with a panic (a fatal internal error: abort(), or exit(1)",
        "    with use-exit-on-panic).",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>. If <prefix> is specified it is",
        "    used instead of the 'key' prefix. The keys are logged like any write.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "LOADAOF",
        "    Flush the AOF buffers on disk and reload the AOF in memory.",
        "QUICKLIST-PACKED-THRESHOLD <size>",
        "    Sets the threshold for elements to be inserted as plain vs packed nodes",
        "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
        "RELOAD [option ...]",
        "    Save a snapshot on disk and reload the keyspace back from it. Valid <option> values:",
        "    * MERGE: conflicting keys and function libraries are replaced by what is loaded.",
        "    * NOFLUSH: the existing data is not removed before the load; without MERGE,",
        "      any key or function library is a conflict and the load is refused.",
        "    * NOSAVE: no snapshot is taken; the keyspace is rebuilt from what is on disk",
        "      (the newest snapshot and the WAL after it, which hold every write).",
        "CONFIG-REWRITE-FORCE-ALL",
        "    Like CONFIG REWRITE but writes all configuration options, including",
        "    keywords not listed in original configuration file or default values.",
        "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
        "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
        "    In case NEVER is provided the last observed peak will never be reset",
        "    In case RESET is provided the peak reset time will be restored to the default value",
        "REPLYBUFFER RESIZING <0|1>",
        "    Enable or disable the reply buffer resize cron job",
        "SEGFAULT",
        "    Crash the server with sigsegv.",
        "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
        "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "PAUSE-CRON <0|1>",
        "    Stop periodic cron job processing.",
        NULL,
    };
    admin_reply_help(c, "DEBUG", lines);
}

/* REPLYBUFFER PEAK-RESET-TIME <NEVER|RESET|ms> | RESIZING <0|1>: the reply
 * buffers' cron (client_reply_buffer_cron), as Redis's. */
static void debug_replybuffer(cmd_ctx *c)
{
    server *s = c->srv;
    if (arg_is(c, 2, "peak-reset-time")) {
        if (arg_is(c, 3, "never")) {
            s->rb_peak_reset_ms = -1;
        } else if (arg_is(c, 3, "reset")) {
            s->rb_peak_reset_ms = RB_PEAK_RESET_MS;
        } else {
            long long v;
            if (arg_ll(c, 3, &v) < 0)
                return;
            s->rb_peak_reset_ms = v;
        }
    } else if (arg_is(c, 2, "resizing")) {
        s->rb_resizing = atoi(c->argv[3]) != 0; /* Redis: atoi */
    } else {
        reply_err_subcommand_syntax(&c->r, "DEBUG", 5, c->argv[1], c->lens[1]);
        return;
    }
    reply_ok(&c->r);
}

/* CONFIG-REWRITE-FORCE-ALL: CONFIG REWRITE writing every option, those at
 * their defaults too (Redis's rewriteConfig(file, 1)). */
static void debug_config_rewrite_force_all(cmd_ctx *c)
{
    char err[512];
    char *users = acl_config_lines(c->srv);
    int rc = config_rewrite(&c->srv->cfg, users, 1, err, sizeof err);
    kv_free(users);
    if (rc < 0) {
        reply_errorf(&c->r, "ERR CONFIG-REWRITE-FORCE-ALL failed: %s", err);
        return;
    }
    reply_ok(&c->r);
}

typedef struct debug_sub {
    const char *name;
    int argc; /* exact, or -N for at least N (including DEBUG and the name) */
    void (*fn)(cmd_ctx *c);
} debug_sub;

static const debug_sub subs[] = {
    {"digest", 2, debug_digest},
    {"digest-value", -2, debug_digest_value},
    {"populate", -3, debug_populate},
    {"sleep", 3, debug_sleep},
    {"segfault", 2, debug_segfault},
    {"set-skip-checksum-validation", 3, debug_set_skip_checksum_validation},
    {"panic", 2, debug_panic},
    {"set-active-expire", 3, debug_set_active_expire},
    {"pause-cron", 3, debug_pause_cron},
    {"set-disable-deny-scripts", 3, debug_set_disable_deny_scripts},
    {"object", 3, debug_object},
    {"htstats", 3, debug_htstats},
    {"htstats-key", 3, debug_htstats_key},
    {"replybuffer", 4, debug_replybuffer},
    {"config-rewrite-force-all", 2, debug_config_rewrite_force_all},
    {"reload", -2, debug_reload},
    {"loadaof", -2, debug_loadaof},
    {"protocol", 3, debug_protocol},
    {"quicklist-packed-threshold", 3, debug_quicklist_packed_threshold},
    {"error", 3, debug_error},
    {"log", 3, debug_log},
    {"help", 2, debug_help},
};

static void cmd_debug(cmd_ctx *c)
{
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        if (!arg_is(c, 1, subs[i].name))
            continue;
        int ok = subs[i].argc >= 0 ? c->argc == subs[i].argc : c->argc >= -subs[i].argc;
        if (!ok)
            break;
        subs[i].fn(c);
        return;
    }
    reply_err_subcommand_syntax(&c->r, "DEBUG", 5, c->argv[1], c->lens[1]);
}

const kv_command cmds_debug[] = {
    {"debug", cmd_debug, -2, CMD_ADMIN | CMD_LOADING | CMD_STALE | CMD_NOSCRIPT | CMD_PROTECTED, 0, 0, 0, "server",
     "A container for debugging commands.", "1.0.0", "@admin @slow @dangerous"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
