/* cmd_string.c — string commands. */
#include "cmd.h"

#include "reply.h"

#include <limits.h>
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
    size_t n;
    const char *v = kobj_str(o, &n);
    reply_bulk(&c->r, v, n);
}

/* ---- SET ---- */

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
};

#define SET_EXPIRE_FLAGS (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

/* Parse SET's options from argument 3 on. Returns 0, or -1 after replying
 * an error. *when is the absolute expiry in ms (when an expire flag is
 * set); *ifeq the comparison argument index. */
static int parse_set_options(cmd_ctx *c, int *flags, long long *when, int *ifeq)
{
    *flags = 0;
    *ifeq = 0;
    int expire_arg = 0;
    for (int j = 3; j < c->argc; j++) {
        int more = j + 1 < c->argc;
        int f = 0;
        if (arg_is(c, j, "NX") && !(*flags & (SET_XX | SET_IFEQ)))
            f = SET_NX;
        else if (arg_is(c, j, "XX") && !(*flags & (SET_NX | SET_IFEQ)))
            f = SET_XX;
        else if (arg_is(c, j, "GET") && !(*flags & SET_GET))
            f = SET_GET;
        else if (arg_is(c, j, "KEEPTTL") && !(*flags & (SET_EXPIRE_FLAGS | SET_KEEPTTL)))
            f = SET_KEEPTTL;
        else if (more && !(*flags & (SET_EXPIRE_FLAGS | SET_KEEPTTL)) &&
                 (arg_is(c, j, "EX") || arg_is(c, j, "PX") || arg_is(c, j, "EXAT") ||
                  arg_is(c, j, "PXAT"))) {
            f = arg_is(c, j, "EX")   ? SET_EX
                : arg_is(c, j, "PX") ? SET_PX
                : arg_is(c, j, "EXAT") ? SET_EXAT
                                       : SET_PXAT;
            expire_arg = ++j;
        } else if (more && arg_is(c, j, "IFEQ") && !(*flags & (SET_NX | SET_XX | SET_IFEQ))) {
            f = SET_IFEQ;
            *ifeq = ++j;
        } else {
            reply_err_syntax(&c->r);
            return -1;
        }
        *flags |= f;
    }
    if (*flags & SET_EXPIRE_FLAGS) {
        long long v;
        if (arg_ll(c, expire_arg, &v) < 0)
            return -1;
        int seconds = *flags & (SET_EX | SET_EXAT);
        if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
            reply_error(&c->r, "ERR invalid expire time in 'set' command");
            return -1;
        }
        if (seconds)
            v *= 1000;
        if (*flags & (SET_EX | SET_PX)) {
            if (v > LLONG_MAX - c->now_ms) {
                reply_error(&c->r, "ERR invalid expire time in 'set' command");
                return -1;
            }
            v += c->now_ms;
        }
        *when = v;
    }
    return 0;
}

static void cmd_set(cmd_ctx *c)
{
    int flags, ifeq;
    long long when = -1;
    if (parse_set_options(c, &flags, &when, &ifeq) < 0)
        return;
    const char *key = c->argv[1], *val = c->argv[2];
    size_t klen = c->lens[1], vlen = c->lens[2];
    kobj *o = db_write(c, key, klen);
    if (o && kobj_type(o) != KT_STRING && (flags & (SET_GET | SET_IFEQ))) {
        reply_err_wrongtype(&c->r);
        return;
    }
    int found = o != NULL;
    int ok = !((flags & SET_NX) && found) && !((flags & SET_XX) && !found);
    if (flags & SET_IFEQ) {
        size_t cur_len = 0;
        const char *cur = found ? kobj_str(o, &cur_len) : NULL;
        ok = found && cur_len == c->lens[ifeq] && !memcmp(cur, c->argv[ifeq], cur_len);
    }
    if (flags & SET_GET) {
        if (found) {
            size_t n;
            const char *v = kobj_str(o, &n);
            reply_bulk(&c->r, v, n);
        } else {
            reply_null(&c->r);
        }
    }
    if (!ok) {
        if (!(flags & SET_GET))
            reply_null(&c->r);
        return;
    }
    o = ks_set_string(c->k, key, klen, val, vlen, (flags & SET_KEEPTTL) ? KS_KEEPTTL : 0);
    if (when >= 0)
        ks_set_expire(c->k, o, when);
    db_modified(c, key, klen);
    if (!(flags & SET_GET))
        reply_ok(&c->r);
    /* Log the effect: an absolute expiry, no conditions left to check. */
    char ms[32];
    size_t mslen = 0;
    const char *argv[5] = {"SET", key, val, NULL, NULL};
    size_t lens[5] = {3, klen, vlen, 0, 0};
    int argc = 3;
    if (when >= 0) {
        mslen = kv_ll2string(ms, sizeof ms, when);
        argv[3] = "PXAT";
        lens[3] = 4;
        argv[4] = ms;
        lens[4] = mslen;
        argc = 5;
    } else if (flags & SET_KEEPTTL) {
        argv[3] = "KEEPTTL";
        lens[3] = 7;
        argc = 4;
    }
    cmd_propagate(c, argc, argv, lens);
}

const kv_command cmds_string[] = {
    {"get", cmd_get, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "string",
     "Returns the string value of a key.", "1.0.0", "@read @string @fast"},
    {"set", cmd_set, -3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string",
     "Sets the string value of a key, ignoring its type. The key is created if it doesn't "
     "exist.",
     "1.0.0", "@write @string @slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
