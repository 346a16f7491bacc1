/* cmd_string.c — string commands: GET, SET and its variants, MGET/MSET,
 * APPEND, STRLEN, GETRANGE/SETRANGE, INCR/DECR and INCRBYFLOAT.
 *
 * Logged effects (cmd.h): every relative or conditional TTL becomes an
 * absolute one (SET … PXAT ms, PEXPIREAT key ms), a TTL already in the
 * past becomes DEL, GETDEL becomes DEL, GETSET becomes SET, INCRBYFLOAT
 * becomes SET key <result> KEEPTTL. Everything else is deterministic given
 * the state and is logged as its own argv.
 *
 * Keyspace events as Redis 7.0's t_string.c: "new" when a key is created,
 * "set", "expire", "del", "persist", "append", "setrange", "incrby" (every
 * INCR/DECR form), "incrbyfloat"; before or after the reply as there. */
#include "cmd.h"

#include "reply.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* ---- helpers ---- */

/* The string at key for reading: NULL if missing; *wrong set (and the
 * WRONGTYPE error replied) if the key holds another type. */
static kobj *read_string(cmd_ctx *c, int i, int *wrong)
{
    *wrong = 0;
    kobj *o = db_read(c, c->argv[i], c->lens[i]);
    if (o && kobj_type(o) != KT_STRING) {
        reply_err_wrongtype(&c->r);
        *wrong = 1;
        return NULL;
    }
    return o;
}

/* The same for modifying: db_write's lookup. */
static kobj *write_string(cmd_ctx *c, int i, int *wrong)
{
    *wrong = 0;
    kobj *o = db_write(c, c->argv[i], c->lens[i]);
    if (o && kobj_type(o) != KT_STRING) {
        reply_err_wrongtype(&c->r);
        *wrong = 1;
        return NULL;
    }
    return o;
}

static void reply_value(cmd_ctx *c, const kobj *o)
{
    size_t n;
    const char *v = kobj_str(o, &n);
    reply_bulk(&c->r, v, n);
}

/* Redis's checkStringLength: would a string of size + append bytes pass
 * proto-max-bulk-len? Replies the error and returns -1 if not. Replay
 * obeys the log whatever the limit is now (Redis's mustObeyClient). */
static int check_string_length(cmd_ctx *c, size_t size, size_t append)
{
    if (c->replay)
        return 0;
    unsigned long long total = (unsigned long long)size + append;
    if (total < size || total > (unsigned long long)c->env->proto_max_bulk_len) {
        reply_error(&c->r, KV_ERR_BULK_TOO_BIG);
        return -1;
    }
    return 0;
}

static void reply_expire_error(cmd_ctx *c)
{
    reply_errorf(&c->r, "ERR invalid expire time in '%s' command", c->cmd->name);
}

/* Redis's getExpireMillisecondsOrReply: argument i as a TTL in seconds or
 * milliseconds, relative to now or absolute, into an absolute unix time in
 * ms. Returns -1 after replying "invalid expire time" or a parse error. */
static int expire_arg(cmd_ctx *c, int i, int seconds, int relative, long long *when)
{
    long long v;
    if (arg_ll(c, i, &v) < 0)
        return -1;
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
        reply_expire_error(c);
        return -1;
    }
    if (seconds)
        v *= 1000;
    if (relative) {
        if (v > LLONG_MAX - c->now_ms) {
            reply_expire_error(c);
            return -1;
        }
        v += c->now_ms;
    }
    *when = v;
    return 0;
}

/* Log "SET key val PXAT ms". */
static void propagate_set_pxat(cmd_ctx *c, const char *key, size_t klen, const char *val,
                               size_t vlen, long long when)
{
    char ms[KV_I64_DIGITS + 1];
    size_t mslen = kv_ll2string(ms, sizeof ms, when);
    const char *argv[5] = {"SET", key, val, "PXAT", ms};
    size_t lens[5] = {3, klen, vlen, 4, mslen};
    cmd_propagate(c, 5, argv, lens);
}

static void propagate_key(cmd_ctx *c, const char *cmd, const char *key, size_t klen)
{
    const char *argv[2] = {cmd, key};
    size_t lens[2] = {strlen(cmd), klen};
    cmd_propagate(c, 2, argv, lens);
}

/* ---- GET ---- */

static void cmd_get(cmd_ctx *c)
{
    int wrong;
    kobj *o = read_string(c, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_null(&c->r);
        return;
    }
    reply_value(c, o);
}

/* ---- SET / GETEX options ---- */

enum {
    SET_NX = 1 << 0,
    SET_XX = 1 << 1,
    SET_GET = 1 << 2,
    SET_KEEPTTL = 1 << 3,
    SET_EX = 1 << 4,
    SET_PX = 1 << 5,
    SET_EXAT = 1 << 6,
    SET_PXAT = 1 << 7,
    SET_IFEQ = 1 << 8,
    SET_PERSIST = 1 << 9,
};

#define SET_EXPIRE_FLAGS (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

enum { OPTS_SET, OPTS_GETEX };

typedef struct str_opts {
    int flags;
    int expire_arg; /* index of the EX/PX/EXAT/PXAT value (the last one given) */
    int ifeq_arg;   /* index of the IFEQ comparison value */
} str_opts;

/* Redis 7.0's parseExtendedStringArgumentsOrReply, for SET (options from
 * argument 3) and GETEX (from 2). As there, an option may be repeated
 * (the last expire value counts); only conflicting ones are an error.
 * IFEQ is our extension (SET only, once, not with NX or XX). Returns 0, or
 * -1 after replying a syntax error. */
static int parse_str_opts(cmd_ctx *c, int type, str_opts *o)
{
    o->flags = 0;
    o->expire_arg = o->ifeq_arg = 0;
    int set = type == OPTS_SET;
    for (int j = set ? 3 : 2; j < c->argc; j++) {
        int f = o->flags, next = j + 1 < c->argc;
        if (set && arg_is_c(c, j, "NX") && !(f & (SET_XX | SET_IFEQ))) {
            o->flags |= SET_NX;
        } else if (set && arg_is_c(c, j, "XX") && !(f & (SET_NX | SET_IFEQ))) {
            o->flags |= SET_XX;
        } else if (set && arg_is_c(c, j, "GET")) {
            o->flags |= SET_GET;
        } else if (set && arg_is_c(c, j, "KEEPTTL") && !(f & (SET_PERSIST | SET_EXPIRE_FLAGS))) {
            o->flags |= SET_KEEPTTL;
        } else if (!set && arg_is_c(c, j, "PERSIST") && !(f & (SET_EXPIRE_FLAGS | SET_KEEPTTL))) {
            o->flags |= SET_PERSIST;
        } else if (set && next && arg_is_c(c, j, "IFEQ") && !(f & (SET_NX | SET_XX | SET_IFEQ))) {
            o->flags |= SET_IFEQ;
            o->ifeq_arg = ++j;
        } else {
            static const struct {
                const char *name;
                int flag;
            } ex[] = {{"EX", SET_EX}, {"PX", SET_PX}, {"EXAT", SET_EXAT}, {"PXAT", SET_PXAT}};
            int flag = 0;
            for (size_t e = 0; e < sizeof ex / sizeof *ex && !flag; e++)
                if (arg_is_c(c, j, ex[e].name))
                    flag = ex[e].flag;
            /* Each excludes the other three, KEEPTTL and PERSIST, not itself. */
            int conflicts = (SET_EXPIRE_FLAGS & ~flag) | SET_KEEPTTL | SET_PERSIST;
            if (!flag || !next || (f & conflicts)) {
                reply_err_syntax(&c->r);
                return -1;
            }
            o->flags |= flag;
            o->expire_arg = ++j;
        }
    }
    return 0;
}

/* The absolute expiry the options ask for (their EX/PX/EXAT/PXAT value).
 * Returns -1 after replying an error. */
static int opts_expire(cmd_ctx *c, const str_opts *o, long long *when)
{
    int seconds = o->flags & (SET_EX | SET_EXAT);
    int relative = o->flags & (SET_EX | SET_PX);
    return expire_arg(c, o->expire_arg, seconds != 0, relative != 0, when);
}

/* ---- SET ---- */

static void cmd_set(cmd_ctx *c)
{
    str_opts opts;
    long long when = -1;
    if (parse_str_opts(c, OPTS_SET, &opts) < 0)
        return;
    int flags = opts.flags;
    if ((flags & SET_EXPIRE_FLAGS) && opts_expire(c, &opts, &when) < 0)
        return;
    const char *key = c->argv[1], *val = c->argv[2];
    size_t klen = c->lens[1], vlen = c->lens[2];
    kobj *o = db_write(c, key, klen);
    if (o && kobj_type(o) != KT_STRING && (flags & (SET_GET | SET_IFEQ))) {
        reply_err_wrongtype(&c->r);
        return;
    }
    int found = o != NULL;
    if ((flags & SET_GET) && !c->replay) {
        /* GET's part is a read lookup in Redis: a hit or a miss. */
        if (found) {
            c->env->keyspace_hits++;
        } else {
            c->env->keyspace_misses++;
            cmd_notify(c, NOTIFY_KEY_MISS, "keymiss", key, klen);
        }
    }
    int ok = !((flags & SET_NX) && found) && !((flags & SET_XX) && !found);
    if (flags & SET_IFEQ) {
        size_t cur_len = 0;
        const char *cur = found ? kobj_str(o, &cur_len) : NULL;
        int ifeq = opts.ifeq_arg;
        ok = found && cur_len == c->lens[ifeq] && !memcmp(cur, c->argv[ifeq], cur_len);
    }
    if (flags & SET_GET) {
        if (found)
            reply_value(c, o);
        else
            reply_null(&c->r);
    }
    if (!ok) {
        if (!(flags & SET_GET))
            reply_null(&c->r);
        return;
    }
    o = ks_set_string(c->k, key, klen, val, vlen, (flags & SET_KEEPTTL) ? KS_KEEPTTL : 0);
    if (!found)
        cmd_notify_new(c, key, klen);
    if (when >= 0)
        ks_set_expire(c->k, o, when);
    db_modified(c, key, klen);
    cmd_notify(c, NOTIFY_STRING, "set", key, klen);
    if (when >= 0)
        cmd_notify(c, NOTIFY_GENERIC, "expire", key, klen);
    if (!(flags & SET_GET))
        reply_ok(&c->r);
    /* Log the effect: an absolute expiry, no conditions left to check. */
    if (when >= 0) {
        propagate_set_pxat(c, key, klen, val, vlen, when);
    } else {
        const char *argv[4] = {"SET", key, val, "KEEPTTL"};
        size_t lens[4] = {3, klen, vlen, 7};
        cmd_propagate(c, (flags & SET_KEEPTTL) ? 4 : 3, argv, lens);
    }
}

/* ---- SETNX / SETEX / PSETEX / GETSET ---- */

static void cmd_setnx(cmd_ctx *c)
{
    if (db_write(c, c->argv[1], c->lens[1])) {
        reply_int(&c->r, 0);
        return;
    }
    ks_set_string(c->k, c->argv[1], c->lens[1], c->argv[2], c->lens[2], 0);
    cmd_notify_new(c, c->argv[1], c->lens[1]);
    db_modified(c, c->argv[1], c->lens[1]);
    cmd_notify(c, NOTIFY_STRING, "set", c->argv[1], c->lens[1]);
    reply_int(&c->r, 1);
}

/* SETEX key seconds value / PSETEX key milliseconds value. */
static void setex_generic(cmd_ctx *c, int seconds)
{
    long long when;
    if (expire_arg(c, 2, seconds, 1, &when) < 0)
        return;
    const char *key = c->argv[1], *val = c->argv[3];
    size_t klen = c->lens[1], vlen = c->lens[3];
    int found = db_write(c, key, klen) != NULL;
    kobj *o = ks_set_string(c->k, key, klen, val, vlen, 0);
    if (!found)
        cmd_notify_new(c, key, klen);
    ks_set_expire(c->k, o, when);
    db_modified(c, key, klen);
    cmd_notify(c, NOTIFY_STRING, "set", key, klen);
    cmd_notify(c, NOTIFY_GENERIC, "expire", key, klen);
    reply_ok(&c->r);
    propagate_set_pxat(c, key, klen, val, vlen, when);
}

static void cmd_setex(cmd_ctx *c)
{
    setex_generic(c, 1);
}

static void cmd_psetex(cmd_ctx *c)
{
    setex_generic(c, 0);
}

static void cmd_getset(cmd_ctx *c)
{
    int wrong;
    kobj *o = read_string(c, 1, &wrong);
    if (wrong)
        return;
    if (o)
        reply_value(c, o);
    else
        reply_null(&c->r);
    ks_set_string(c->k, c->argv[1], c->lens[1], c->argv[2], c->lens[2], 0);
    if (!o)
        cmd_notify_new(c, c->argv[1], c->lens[1]);
    db_modified(c, c->argv[1], c->lens[1]);
    cmd_notify(c, NOTIFY_STRING, "set", c->argv[1], c->lens[1]);
    const char *argv[3] = {"SET", c->argv[1], c->argv[2]};
    size_t lens[3] = {3, c->lens[1], c->lens[2]};
    cmd_propagate(c, 3, argv, lens);
}

/* ---- GETDEL / GETEX ---- */

static void cmd_getdel(cmd_ctx *c)
{
    int wrong;
    kobj *o = read_string(c, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_null(&c->r);
        return;
    }
    reply_value(c, o);
    ks_delete(c->k, c->argv[1], c->lens[1]);
    db_modified(c, c->argv[1], c->lens[1]);
    cmd_notify(c, NOTIFY_GENERIC, "del", c->argv[1], c->lens[1]);
    propagate_key(c, "DEL", c->argv[1], c->lens[1]);
}

static void cmd_getex(cmd_ctx *c)
{
    str_opts opts;
    if (parse_str_opts(c, OPTS_GETEX, &opts) < 0)
        return;
    int wrong;
    kobj *o = read_string(c, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_null(&c->r);
        return;
    }
    /* As Redis: the TTL is validated only once the key is known. */
    long long when = -1;
    if ((opts.flags & SET_EXPIRE_FLAGS) && opts_expire(c, &opts, &when) < 0)
        return;
    reply_value(c, o);
    const char *key = c->argv[1];
    size_t klen = c->lens[1];
    if ((opts.flags & (SET_EXAT | SET_PXAT)) && when <= c->now_ms && !c->replay) {
        /* An absolute time already past: the key goes now. */
        ks_delete(c->k, key, klen);
        db_modified(c, key, klen);
        cmd_notify(c, NOTIFY_GENERIC, "del", key, klen);
        propagate_key(c, "DEL", key, klen);
    } else if (when >= 0) {
        ks_set_expire(c->k, o, when);
        db_modified(c, key, klen);
        cmd_notify(c, NOTIFY_GENERIC, "expire", key, klen);
        char ms[KV_I64_DIGITS + 1];
        size_t mslen = kv_ll2string(ms, sizeof ms, when);
        const char *argv[3] = {"PEXPIREAT", key, ms};
        size_t lens[3] = {9, klen, mslen};
        cmd_propagate(c, 3, argv, lens);
    } else if ((opts.flags & SET_PERSIST) && kobj_expire(o) >= 0) {
        ks_set_expire(c->k, o, -1);
        db_modified(c, key, klen);
        cmd_notify(c, NOTIFY_GENERIC, "persist", key, klen);
        propagate_key(c, "PERSIST", key, klen);
    }
}

/* ---- MGET / MSET / MSETNX ---- */

static void cmd_mget(cmd_ctx *c)
{
    reply_array(&c->r, c->argc - 1);
    for (int i = 1; i < c->argc; i++) {
        kobj *o = db_read(c, c->argv[i], c->lens[i]);
        if (o && kobj_type(o) == KT_STRING)
            reply_value(c, o);
        else
            reply_null(&c->r);
    }
}

static void mset_generic(cmd_ctx *c, int nx)
{
    if (c->argc % 2 == 0) {
        reply_err_arity(&c->r, c->cmd->name);
        return;
    }
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            if (db_write(c, c->argv[j], c->lens[j])) {
                reply_int(&c->r, 0);
                return;
            }
        }
    }
    for (int j = 1; j < c->argc; j += 2) {
        /* Lazy expiry (logged first); MSETNX's checks already did it. */
        int found = (nx ? ks_find(c->k, c->argv[j], c->lens[j])
                        : db_write(c, c->argv[j], c->lens[j])) != NULL;
        ks_set_string(c->k, c->argv[j], c->lens[j], c->argv[j + 1], c->lens[j + 1], 0);
        if (!found)
            cmd_notify_new(c, c->argv[j], c->lens[j]);
        db_modified(c, c->argv[j], c->lens[j]);
        cmd_notify(c, NOTIFY_STRING, "set", c->argv[j], c->lens[j]);
    }
    if (nx)
        reply_int(&c->r, 1);
    else
        reply_ok(&c->r);
}

static void cmd_mset(cmd_ctx *c)
{
    mset_generic(c, 0);
}

static void cmd_msetnx(cmd_ctx *c)
{
    mset_generic(c, 1);
}

/* ---- APPEND / STRLEN / GETRANGE / SETRANGE ---- */

static void cmd_append(cmd_ctx *c)
{
    int wrong;
    kobj *o = write_string(c, 1, &wrong);
    if (wrong)
        return;
    const char *key = c->argv[1], *val = c->argv[2];
    size_t klen = c->lens[1], vlen = c->lens[2], total;
    if (!o) {
        ks_set_string(c->k, key, klen, val, vlen, 0);
        cmd_notify_new(c, key, klen);
        total = vlen;
    } else {
        size_t old;
        kobj_str(o, &old);
        if (check_string_length(c, old, vlen) < 0)
            return;
        /* Even an empty append makes the value "raw", as in Redis. */
        char *p = ks_string_resize(c->k, &o, old + vlen);
        if (vlen)
            memcpy(p + old, val, vlen);
        total = old + vlen;
    }
    db_modified(c, key, klen);
    cmd_notify(c, NOTIFY_STRING, "append", key, klen);
    reply_int(&c->r, (long long)total);
}

static void cmd_strlen(cmd_ctx *c)
{
    int wrong;
    kobj *o = read_string(c, 1, &wrong);
    if (wrong)
        return;
    size_t n = 0;
    if (o)
        kobj_str(o, &n);
    reply_int(&c->r, (long long)n);
}

/* GETRANGE / SUBSTR key start end: Redis 7.0's index rules, including
 * "both negative and start > end is empty" and the wrap of a huge
 * negative index (computed as Redis does, in unsigned arithmetic). */
static void cmd_getrange(cmd_ctx *c)
{
    long long start, end;
    if (arg_ll(c, 2, &start) < 0 || arg_ll(c, 3, &end) < 0)
        return;
    int wrong;
    kobj *o = read_string(c, 1, &wrong);
    if (wrong)
        return;
    if (!o) {
        reply_empty_bulk(&c->r);
        return;
    }
    size_t len;
    const char *s = kobj_str(o, &len);
    if (start < 0 && end < 0 && start > end) {
        reply_empty_bulk(&c->r);
        return;
    }
    if (start < 0)
        start = (long long)((unsigned long long)len + (unsigned long long)start);
    if (end < 0)
        end = (long long)((unsigned long long)len + (unsigned long long)end);
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if ((unsigned long long)end >= len)
        end = (long long)len - 1;
    if (start > end || len == 0)
        reply_empty_bulk(&c->r);
    else
        reply_bulk(&c->r, s + start, (size_t)(end - start + 1));
}

static void cmd_setrange(cmd_ctx *c)
{
    long long offset;
    if (arg_ll(c, 2, &offset) < 0)
        return;
    if (offset < 0) {
        reply_error(&c->r, "ERR offset is out of range");
        return;
    }
    int wrong;
    kobj *o = write_string(c, 1, &wrong);
    if (wrong)
        return;
    const char *key = c->argv[1], *val = c->argv[3];
    size_t klen = c->lens[1], vlen = c->lens[3], old = 0;
    if (o)
        kobj_str(o, &old);
    if (vlen == 0) {
        /* Nothing to write: the length as it is, no key created. */
        reply_int(&c->r, (long long)old);
        return;
    }
    if (check_string_length(c, (size_t)offset, vlen) < 0)
        return;
    if (!o) {
        o = ks_set_string(c->k, key, klen, "", 0, 0);
        cmd_notify_new(c, key, klen);
    }
    size_t end = (size_t)offset + vlen, len = end > old ? end : old;
    char *p = ks_string_resize(c->k, &o, len);
    memcpy(p + offset, val, vlen);
    db_modified(c, key, klen);
    cmd_notify(c, NOTIFY_STRING, "setrange", key, klen);
    reply_int(&c->r, (long long)len);
}

/* ---- INCR / DECR / INCRBY / DECRBY / INCRBYFLOAT ---- */

static void incr_decr(cmd_ctx *c, long long incr)
{
    int wrong;
    kobj *o = write_string(c, 1, &wrong);
    if (wrong)
        return;
    long long value = 0;
    if (o) {
        size_t n;
        const char *s = kobj_str(o, &n);
        if (!kv_string2ll(s, n, &value)) {
            reply_err_notint(&c->r);
            return;
        }
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        reply_error(&c->r, KV_ERR_OVERFLOW);
        return;
    }
    value += incr;
    char buf[KV_I64_DIGITS + 1];
    size_t n = kv_ll2string(buf, sizeof buf, value);
    /* The TTL stays, as Redis's dbOverwrite keeps it. */
    ks_set_string(c->k, c->argv[1], c->lens[1], buf, n, KS_KEEPTTL);
    if (!o)
        cmd_notify_new(c, c->argv[1], c->lens[1]);
    db_modified(c, c->argv[1], c->lens[1]);
    cmd_notify(c, NOTIFY_STRING, "incrby", c->argv[1], c->lens[1]);
    reply_int(&c->r, value);
}

static void cmd_incr(cmd_ctx *c)
{
    incr_decr(c, 1);
}

static void cmd_decr(cmd_ctx *c)
{
    incr_decr(c, -1);
}

static void cmd_incrby(cmd_ctx *c)
{
    long long incr;
    if (arg_ll(c, 2, &incr) < 0)
        return;
    incr_decr(c, incr);
}

static void cmd_decrby(cmd_ctx *c)
{
    long long decr;
    if (arg_ll(c, 2, &decr) < 0)
        return;
    if (decr == LLONG_MIN) {
        reply_error(&c->r, "ERR decrement would overflow");
        return;
    }
    incr_decr(c, -decr);
}

static void cmd_incrbyfloat(cmd_ctx *c)
{
    int wrong;
    kobj *o = write_string(c, 1, &wrong);
    if (wrong)
        return;
    long double value = 0, incr;
    if (o) {
        size_t n;
        const char *s = kobj_str(o, &n);
        if (!kv_string2ld(s, n, &value)) {
            reply_err_notfloat(&c->r);
            return;
        }
    }
    if (arg_ld(c, 2, &incr) < 0)
        return;
    value += incr;
    if (isnan(value) || isinf(value)) {
        reply_error(&c->r, KV_ERR_NANINF);
        return;
    }
    char buf[KV_LD_STR_MAX];
    size_t n = kv_ld2string(buf, sizeof buf, value, KV_LD_HUMAN);
    const char *key = c->argv[1];
    size_t klen = c->lens[1];
    ks_set_string(c->k, key, klen, buf, n, KS_KEEPTTL | KS_NOINT);
    if (!o)
        cmd_notify_new(c, key, klen);
    db_modified(c, key, klen);
    cmd_notify(c, NOTIFY_STRING, "incrbyfloat", key, klen);
    reply_bulk(&c->r, buf, n);
    /* The result, not the increment: float formatting must not differ on
     * replay or on a replica. */
    const char *argv[4] = {"SET", key, buf, "KEEPTTL"};
    size_t lens[4] = {3, klen, n, 7};
    cmd_propagate(c, 4, argv, lens);
}

/* ---- table ---- */

const kv_command cmds_string[] = {
    {"get", cmd_get, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "string", "Get the value of a key",
     "1.0.0", "@read @string @fast"},
    {"set", cmd_set, -3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string",
     "Set the string value of a key", "1.0.0", "@write @string @slow"},
    {"setnx", cmd_setnx, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string",
     "Set the value of a key, only if the key does not exist", "1.0.0",
     "@write @string @fast"},
    {"setex", cmd_setex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string",
     "Set the value and expiration of a key", "2.0.0", "@write @string @slow"},
    {"psetex", cmd_psetex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string",
     "Set the value and expiration in milliseconds of a key", "2.6.0",
     "@write @string @slow"},
    {"getset", cmd_getset, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string",
     "Set the string value of a key and return its old value", "1.0.0",
     "@write @string @fast"},
    {"getdel", cmd_getdel, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string",
     "Get the value of a key and delete the key", "6.2.0", "@write @string @fast"},
    {"getex", cmd_getex, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string",
     "Get the value of a key and optionally set its expiration", "6.2.0",
     "@write @string @fast"},
    {"mget", cmd_mget, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "string",
     "Get the values of all the given keys", "1.0.0", "@read @string @fast"},
    {"mset", cmd_mset, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, "string",
     "Set multiple keys to multiple values", "1.0.1", "@write @string @slow"},
    {"msetnx", cmd_msetnx, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, "string",
     "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1",
     "@write @string @slow"},
    {"append", cmd_append, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string",
     "Append a value to a key", "2.0.0", "@write @string @fast"},
    {"strlen", cmd_strlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "string",
     "Get the length of the value stored in a key", "2.2.0", "@read @string @fast"},
    {"getrange", cmd_getrange, 4, CMD_READONLY, 1, 1, 1, "string",
     "Get a substring of the string stored at a key", "2.4.0", "@read @string @slow"},
    {"substr", cmd_getrange, 4, CMD_READONLY, 1, 1, 1, "string",
     "Get a substring of the string stored at a key", "1.0.0", "@read @string @slow"},
    {"setrange", cmd_setrange, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string",
     "Overwrite part of a string at key starting at the specified offset", "2.2.0",
     "@write @string @slow"},
    {"incr", cmd_incr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string",
     "Increment the integer value of a key by one", "1.0.0", "@write @string @fast"},
    {"decr", cmd_decr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string",
     "Decrement the integer value of a key by one", "1.0.0", "@write @string @fast"},
    {"incrby", cmd_incrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string",
     "Increment the integer value of a key by the given amount", "1.0.0",
     "@write @string @fast"},
    {"decrby", cmd_decrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string",
     "Decrement the integer value of a key by the given number", "1.0.0",
     "@write @string @fast"},
    {"incrbyfloat", cmd_incrbyfloat, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string",
     "Increment the float value of a key by the given amount", "2.6.0",
     "@write @string @fast"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
