/* cmd_dump.c — DUMP and RESTORE, as Redis 7.0's cluster.c (dumpCommand,
 * restoreCommand): the payload format is rdb.h's.
 *
 * RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s | FREQ f]:
 * options first (syntax, "Invalid IDLETIME value", "Invalid FREQ value";
 * IDLETIME and FREQ exclude each other), then BUSYKEY (without REPLACE),
 * then the TTL ("Invalid TTL value, must be >= 0"), then the payload's
 * version and checksum ("DUMP payload version or checksum are wrong"),
 * then its contents ("Bad data format"). A relative TTL is made absolute
 * with the command's clock; a time already past stores nothing (deleting
 * a replaced key), answering OK. IDLETIME backdates the key's LRU stamp,
 * FREQ sets its LFU counter, whichever fits maxmemory-policy (evict.c).
 *
 * Logged effect: "RESTORE key <absolute ms, or 0> payload REPLACE ABSTTL"
 * plus the IDLETIME or FREQ given (a replica or a replay sets the stamp
 * relative to its own clock; stamps are not part of snapshots)
 * — the payload as the client sent it, validated here before it is
 * logged, so replaying it (on restart and on replicas) rebuilds the same
 * value with the same code and never meets a payload this node refused.
 * Replay installs the key whatever the clock says (the primary decided
 * it was not yet expired; its later expiry is logged as a DEL). A TTL
 * already past is logged as "DEL key" when it replaced a key, else
 * nothing. Keyspace events as Redis: "new" then "restore", or "del". */
#include "cmd.h"

#include "log.h"
#include "mem.h"
#include "rdb.h"
#include "reply.h"

#include <string.h>

static void cmd_dump(cmd_ctx *c)
{
    kobj *o = db_read(c, c->argv[1], c->lens[1]);
    if (!o) {
        reply_null(&c->r);
        return;
    }
    kbuf b = KBUF_INIT;
    rdb_dump(o, &b);
    reply_bulk(&c->r, kbuf_data(&b), kbuf_len(&b));
    kbuf_free(&b);
}

typedef struct restore_opts {
    int replace, absttl;
    long long idle, freq; /* -1: not given */
} restore_opts;

static int parse_restore_opts(cmd_ctx *c, restore_opts *o)
{
    o->replace = o->absttl = 0;
    o->idle = o->freq = -1;
    for (int j = 4; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (arg_is_c(c, j, "replace")) {
            o->replace = 1;
        } else if (arg_is_c(c, j, "absttl")) {
            o->absttl = 1;
        } else if (arg_is_c(c, j, "idletime") && more >= 1 && o->freq == -1) {
            if (arg_ll(c, j + 1, &o->idle) < 0)
                return -1;
            if (o->idle < 0) {
                reply_error(&c->r, "ERR Invalid IDLETIME value, must be >= 0");
                return -1;
            }
            j++;
        } else if (arg_is_c(c, j, "freq") && more >= 1 && o->idle == -1) {
            if (arg_ll(c, j + 1, &o->freq) < 0)
                return -1;
            if (o->freq < 0 || o->freq > 255) {
                reply_error(&c->r, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return -1;
            }
            j++;
        } else {
            reply_err_syntax(&c->r);
            return -1;
        }
    }
    return 0;
}

static void log_del(cmd_ctx *c)
{
    const char *argv[2] = {"DEL", c->argv[1]};
    size_t lens[2] = {3, c->lens[1]};
    cmd_propagate(c, 2, argv, lens);
}

/* Logged as Redis propagates RESTORE: the client's arguments, with a
 * relative TTL made absolute (at) and ABSTTL appended. REPLACE is appended
 * too when a logically expired key this node had not deleted yet was
 * replaced (db.c), so that replaying finds the same outcome. */
static void log_restore(cmd_ctx *c, long long at, const restore_opts *o, int force_replace)
{
    int argc = c->argc;
    const char **argv = kv_malloc((size_t)(argc + 2) * sizeof *argv);
    size_t *lens = kv_malloc((size_t)(argc + 2) * sizeof *lens);
    memcpy(argv, c->argv, (size_t)argc * sizeof *argv);
    memcpy(lens, c->lens, (size_t)argc * sizeof *lens);
    char ttl[24];
    if (at && !o->absttl) {
        argv[2] = ttl;
        lens[2] = kv_ll2string(ttl, sizeof ttl, at);
        argv[argc] = "ABSTTL";
        lens[argc++] = 6;
    }
    if (force_replace) {
        argv[argc] = "REPLACE";
        lens[argc++] = 7;
    }
    cmd_propagate(c, argc, argv, lens);
    kv_free(argv);
    kv_free(lens);
}

static void cmd_restore(cmd_ctx *c)
{
    restore_opts o;
    if (parse_restore_opts(c, &o) < 0)
        return;
    const char *key = c->argv[1];
    size_t klen = c->lens[1];
    kobj *old = db_write(c, key, klen);
    if (old && !o.replace) {
        reply_error(&c->r, "BUSYKEY Target key name already exists.");
        return;
    }
    long long ttl;
    if (arg_ll(c, 2, &ttl) < 0)
        return;
    if (ttl < 0) {
        reply_error(&c->r, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    /* Replayed (restart, a replica), it was checked when it ran: a payload
     * let in by DEBUG SET-SKIP-CHECKSUM-VALIDATION must replay the same. */
    if (!c->replay && rdb_verify(c->argv[3], c->lens[3]) != RDB_OK) {
        reply_error(&c->r, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    size_t max = c->env->proto_max_bulk_len > 0 ? (size_t)c->env->proto_max_bulk_len
                                                : (size_t)512 << 20;
    rdb_value v;
    if (rdb_load(c->argv[3], c->lens[3], max, &v) != RDB_OK) {
        /* As Redis reports a corrupt payload in RESTORE (at verbose). */
        log_verbose("RESTORE of key '%.*s' refused: %s integrity check failed.",
                    (int)(klen > 128 ? 128 : klen), key, rdb_payload_kind(c->argv[3], c->lens[3]));
        reply_error(&c->r, "ERR Bad data format");
        return;
    }
    int deleted = 0;
    if (old) {
        db_modified(c, key, klen);
        ks_delete(c->k, key, klen);
        deleted = 1;
    }
    /* Redis adds without overflow checks; wrap the same way. */
    if (ttl && !o.absttl)
        ttl = (long long)((unsigned long long)ttl + (unsigned long long)c->now_ms);
    if (ttl && !c->replay && ttl <= c->now_ms) {
        rdb_value_free(&v);
        if (deleted) {
            log_del(c);
            cmd_notify(c, NOTIFY_GENERIC, "del", key, klen);
        }
        reply_ok(&c->r);
        return;
    }
    /* A logically expired key this node could not delete (db.c) goes now. */
    int leftover = 0;
    if (ks_find(c->k, key, klen)) {
        ks_delete(c->k, key, klen);
        leftover = 1;
    }
    kobj *no = rdb_value_install(c->k, key, klen, &v);
    if (ttl)
        no = ks_set_expire(c->k, no, ttl); /* may move the object */
    evict_set_access(c->env, no, o.idle, o.freq, c->now_ms);
    db_modified(c, key, klen);
    log_restore(c, ttl, &o, leftover && !o.replace);
    cmd_notify_new(c, key, klen);
    cmd_notify(c, NOTIFY_GENERIC, "restore", key, klen);
    reply_ok(&c->r);
}

const kv_command cmds_dump[] = {
    {"dump", cmd_dump, 2, CMD_READONLY, 1, 1, 1, "generic",
     "Return a serialized version of the value stored at the specified key.", "2.6.0",
     "@keyspace @read @slow"},
    {"restore", cmd_restore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "generic",
     "Create a key using the provided serialized value, previously obtained using DUMP.",
     "2.6.0", "@keyspace @write @slow @dangerous"},
    /* RESTORE for a cluster's slot migration; without cluster mode (as
     * here) it is RESTORE, as in Redis. */
    {"restore-asking", cmd_restore, -4, CMD_WRITE | CMD_DENYOOM | CMD_ASKING, 1, 1, 1, "server",
     "An internal command for migrating keys in a cluster", "3.0.0",
     "@keyspace @write @slow @dangerous"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
