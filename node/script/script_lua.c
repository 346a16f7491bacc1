/* script_lua.c — the Lua side of scripting: building a sandboxed
 * interpreter with Redis's libraries and redis.* API, converting replies
 * between the Redis protocol and Lua values, and calling a script under
 * Redis's error handler (the messages are Redis 7.0's, byte for byte).
 *
 * The sandbox: stock Lua 5.1 has no read-only tables (Redis patches its
 * Lua for that), so the globals a script sees are an empty proxy table
 * whose metatable reads through to the real globals (a missing name is
 * "Script attempted to access nonexistent global variable"), and every
 * assignment to it or to the library tables (redis, string, math, table,
 * cjson, bit, cmsgpack, struct, coroutine), which are proxies too, is
 * "Attempt to modify a readonly table"; rawset and setmetatable refuse
 * those proxies the same way, while pairs, next, rawget and getmetatable
 * see through a library's proxy to its table (getmetatable gives nil, as
 * for Redis's read-only tables). The proxy is installed as the thread's
 * globals table, so code made by loadstring runs under it as well.
 * cjson and bit are Debian's lua-cjson and lua-bitop; cmsgpack and
 * struct, which Debian does not package for Lua 5.1, are ours
 * (script_msgpack.c, script_struct.c). */
#include "script_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "sha1.h"

#include <lauxlib.h>
#include <lualib.h>
#include <lua-bitop.h>
#include <lua-cjson.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The Redis version scripts see (redis.REDIS_VERSION): the one kvnode
 * answers as in INFO (server.h's KV_REDIS_COMPAT_VERSION). */
#define SL_REDIS_VERSION "7.0.15"
#define SL_REDIS_VERSION_NUM 0x0007000f

script_host sc_host;
run_ctx *sc_run;

/* ------------------------------------------------------------------------ */
/* Flags                                                                     */
/* ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    int bit;
} flag_names[] = {
    {"no-writes", SF_NO_WRITES},   {"allow-oom", SF_ALLOW_OOM},
    {"allow-stale", SF_ALLOW_STALE}, {"no-cluster", SF_NO_CLUSTER},
    {"allow-cross-slot-keys", SF_ALLOW_CROSS_SLOT},
};

int sf_parse(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof flag_names / sizeof *flag_names; i++)
        if (strlen(flag_names[i].name) == n && !memcmp(flag_names[i].name, s, n))
            return flag_names[i].bit;
    return 0;
}

int sf_names(int flags, const char *out[8])
{
    int n = 0;
    for (size_t i = 0; i < sizeof flag_names / sizeof *flag_names; i++)
        if (flags & flag_names[i].bit)
            out[n++] = flag_names[i].name;
    return n;
}

/* ------------------------------------------------------------------------ */
/* lrand48 (Redis's rand.c: the same sequence on every platform)            */
/* ------------------------------------------------------------------------ */

static uint64_t rand_x = 0x1234ABCD330EULL;

int32_t sl_lrand48(void)
{
    rand_x = (rand_x * 0x5DEECE66DULL + 0xB) & ((1ULL << 48) - 1);
    return (int32_t)(rand_x >> 17);
}

void sl_srand48(int32_t seed)
{
    rand_x = ((uint64_t)(uint32_t)seed << 16) | 0x330E;
}

#define SL_LRAND48_MAX INT32_MAX

static int l_math_random(lua_State *L)
{
    if (!sc_run)
        return luaL_error(L, "math.random can only be called inside a script invocation");
    lua_Number r = (lua_Number)(sl_lrand48() % SL_LRAND48_MAX) / (lua_Number)SL_LRAND48_MAX;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        break;
    case 1: {
        int u = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushnumber(L, floor(r * u) + 1);
        break;
    }
    case 2: {
        int l = luaL_checkint(L, 1);
        int u = luaL_checkint(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushnumber(L, floor(r * (u - l + 1)) + l);
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int l_math_randomseed(lua_State *L)
{
    if (!sc_run)
        return luaL_error(L, "math.randomseed can only be called inside a script invocation");
    sl_srand48(luaL_checkint(L, 1));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

void sl_push_error(lua_State *L, const char *s, size_t n)
{
    const char *code = "ERR", *msg = s;
    size_t clen = 3, mlen = n;
    if (n && s[0] == '-') {
        const char *sp = memchr(s, ' ', n);
        if (!sp) {
            msg = s + 1;
            mlen = n - 1;
        } else {
            code = s + 1;
            clen = (size_t)(sp - s - 1);
            msg = sp + 1;
            mlen = n - (size_t)(sp + 1 - s);
        }
    }
    while (mlen && (msg[0] == '\r' || msg[0] == '\n')) {
        msg++;
        mlen--;
    }
    while (mlen && (msg[mlen - 1] == '\r' || msg[mlen - 1] == '\n'))
        mlen--;
    /* Stepping in the debugger: every error a script gets is shown, as
     * it was given (Redis's luaPushErrorBuff). */
    if (sl_ldb_logging())
        sl_ldb_log_error(s, n);
    luaL_Buffer b;
    lua_newtable(L);
    lua_pushliteral(L, "err");
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, code, clen);
    luaL_addchar(&b, ' ');
    luaL_addlstring(&b, msg, mlen);
    luaL_pushresult(&b);
    lua_settable(L, -3);
}

static void push_error_str(lua_State *L, const char *s)
{
    sl_push_error(L, s, strlen(s));
}

void sl_reply_error(reply *r, const char *s, size_t n)
{
    while (n && (s[0] == '\r' || s[0] == '\n')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n && s[0] == '-') {
        reply_error_len(r, s + 1, n - 1);
        return;
    }
    kbuf b = KBUF_INIT;
    kbuf_append_str(&b, "ERR ");
    kbuf_append(&b, s, n);
    reply_error_len(r, kbuf_data(&b), kbuf_len(&b));
    kbuf_free(&b);
}

/* What Redis's __redis__err__handler does, after the fact: the script
 * runs as a coroutine, whose stack lua_resume leaves in place on an
 * error, so the error value at the top of co becomes a table {err=…}
 * with the source and line of the Lua code that raised it (skipping a C
 * function such as error() or redis.call()). */
static void error_to_table(lua_State *co)
{
    lua_Debug ar;
    int have = 0;
    /* The innermost Lua function of the script (not error() or
     * redis.call, not kvnode's pcall wrapper). */
    for (int level = 0; lua_getstack(co, level, &ar); level++) {
        if (!lua_getinfo(co, "nSl", &ar))
            break;
        if (strcmp(ar.what, "C") && strcmp(ar.source, "=kvnode")) {
            have = 1;
            break;
        }
    }
    int top = lua_gettop(co);
    if (!lua_istable(co, top)) {
        lua_getglobal(co, "tostring");
        lua_pushvalue(co, top);
        lua_call(co, 1, 1);
        lua_newtable(co);
        lua_pushliteral(co, "err");
        lua_pushliteral(co, "ERR ");
        lua_pushvalue(co, -4);
        lua_concat(co, 2);
        lua_settable(co, -3);
        lua_replace(co, top);
        lua_settop(co, top);
    }
    if (have) {
        lua_pushstring(co, ar.source);
        lua_setfield(co, top, "source");
        lua_pushinteger(co, ar.currentline);
        lua_setfield(co, top, "line");
    }
}

/* ------------------------------------------------------------------------ */
/* Read-only tables                                                          */
/* ------------------------------------------------------------------------ */

static const char RO_KEY = 'r';     /* registry: weak set of read-only proxies */
static const char REAL_G_KEY = 'g'; /* registry: the real globals */
static const char LOAD_G_KEY = 'l'; /* registry: the load-time globals */
static const char LOADING_KEY = 'L';/* registry: the fn_load of a FUNCTION LOAD */
static const char PCALL_KEY = 'p';  /* registry: Lua's own pcall */

static int l_ro_newindex(lua_State *L)
{
    return luaL_error(L, "Attempt to modify a readonly table");
}

static int is_ro(lua_State *L, int idx)
{
    if (!lua_istable(L, idx))
        return 0;
    lua_pushlightuserdata(L, (void *)&RO_KEY);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, idx < 0 ? idx - 1 : idx);
    lua_rawget(L, -2);
    int ro = lua_toboolean(L, -1);
    lua_pop(L, 2);
    return ro;
}

static void mark_ro(lua_State *L, int idx)
{
    lua_pushlightuserdata(L, (void *)&RO_KEY);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, idx < 0 ? idx - 1 : idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Replace the table at the top of the stack with a read-only proxy of it. */
static void make_ro_proxy(lua_State *L)
{
    lua_newtable(L);          /* proxy */
    lua_newtable(L);          /* its metatable */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_newtable(L);          /* what getmetatable() shows: read-only too */
    lua_newtable(L);
    lua_pushcfunction(L, l_ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    mark_ro(L, -1);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    mark_ro(L, -1);
    lua_replace(L, -2);
}

/* Raised inside a C function, Redis's message carries no position. */
static int ro_error_nopos(lua_State *L)
{
    lua_pushliteral(L, "Attempt to modify a readonly table");
    return lua_error(L);
}

static int l_rawset(lua_State *L)
{
    if (is_ro(L, 1))
        return ro_error_nopos(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

static int l_setmetatable(lua_State *L)
{
    if (is_ro(L, 1))
        return ro_error_nopos(L);
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argcheck(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table expected");
    if (luaL_getmetafield(L, 1, "__metatable"))
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* A library proxy (cjson, cmsgpack, string …: read-only, its metatable's
 * __index the library's table) is seen through by pairs, next and
 * rawget, and has no metatable for getmetatable, as Redis's read-only
 * tables. Replaces the value at idx with the library's table and returns
 * 1 if it is such a proxy. (The globals proxy, whose __index is a
 * function, is not.) */
static int unproxy(lua_State *L, int idx)
{
    if (!is_ro(L, idx) || !lua_getmetatable(L, idx))
        return 0;
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 2);
        return 0;
    }
    lua_replace(L, idx);
    lua_pop(L, 1);
    return 1;
}

static int l_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    unproxy(L, 1);
    if (lua_next(L, 1))
        return 2;
    lua_pushnil(L);
    return 1;
}

static int l_pairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushvalue(L, lua_upvalueindex(1)); /* l_next */
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int l_rawget(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    lua_settop(L, 2);
    unproxy(L, 1);
    lua_rawget(L, 1);
    return 1;
}

static int l_getmetatable(lua_State *L)
{
    luaL_checkany(L, 1);
    if (unproxy(L, 1) || !lua_getmetatable(L, 1)) {
        lua_pushnil(L);
        return 1;
    }
    luaL_getmetafield(L, 1, "__metatable");
    return 1;
}

/* The globals proxy's __index: the real globals (or, while a library
 * loads, the load globals); a missing name is an error. */
static int l_globals_index(lua_State *L)
{
    const void *key = &REAL_G_KEY;
    lua_pushlightuserdata(L, (void *)&LOADING_KEY);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (!lua_isnil(L, -1))
        key = &LOAD_G_KEY;
    lua_pop(L, 1);
    lua_pushlightuserdata(L, (void *)key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    if (lua_isnil(L, -1)) {
        const char *name = lua_tostring(L, 2);
        return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                          name ? name : "?");
    }
    return 1;
}

/* A table whose every missing field is an error (the load API's). */
static int l_missing_field(lua_State *L)
{
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                      name ? name : "?");
}

static void set_error_metatable(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_missing_field);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
}

/* ------------------------------------------------------------------------ */
/* Redis reply -> Lua                                                        */
/* ------------------------------------------------------------------------ */

typedef struct rp {
    const char *p, *end;
} rp;

static const char *rp_line(rp *r, size_t *n)
{
    const char *s = r->p;
    const char *e = memchr(s, '\r', (size_t)(r->end - s));
    if (!e)
        e = r->end;
    *n = (size_t)(e - s);
    r->p = e + 2 <= r->end ? e + 2 : r->end;
    return s;
}

static long long rp_ll(rp *r)
{
    size_t n;
    const char *s = rp_line(r, &n);
    long long v = 0;
    kv_string2ll(s, n, &v);
    return v;
}

/* Convert one reply at r into a Lua value pushed on L (NULL: skip it). */
static void rp_value(rp *r, lua_State *L)
{
    if (L && !lua_checkstack(L, 5)) {
        log_write(LOG_WARNING, "lua stack limit reach when parsing redis.call reply");
        kv_abort();
    }
    char t = *r->p++;
    size_t n;
    const char *s;
    long long len;
    switch (t) {
    case '+':
        s = rp_line(r, &n);
        if (L) {
            lua_newtable(L);
            lua_pushliteral(L, "ok");
            lua_pushlstring(L, s, n);
            lua_settable(L, -3);
        }
        break;
    case '-':
        s = rp_line(r, &n);
        if (L) {
            kbuf b = KBUF_INIT;
            kbuf_putc(&b, '-');
            kbuf_append(&b, s, n);
            sl_push_error(L, kbuf_data(&b), kbuf_len(&b));
            kbuf_free(&b);
            lua_pushliteral(L, "ignore_error_stats_update");
            lua_pushboolean(L, 1);
            lua_settable(L, -3);
        }
        break;
    case ':':
        len = rp_ll(r);
        if (L)
            lua_pushnumber(L, (lua_Number)len);
        break;
    case '$':
    case '=':
        len = rp_ll(r);
        if (len < 0) {
            if (L)
                lua_pushboolean(L, 0);
            break;
        }
        s = r->p;
        r->p += len + 2;
        if (!L)
            break;
        if (t == '$') {
            lua_pushlstring(L, s, (size_t)len);
        } else {
            lua_newtable(L);
            lua_pushliteral(L, "verbatim_string");
            lua_newtable(L);
            lua_pushliteral(L, "string");
            lua_pushlstring(L, s + 4, len >= 4 ? (size_t)len - 4 : 0);
            lua_settable(L, -3);
            lua_pushliteral(L, "format");
            lua_pushlstring(L, s, len >= 3 ? 3 : (size_t)len);
            lua_settable(L, -3);
            lua_settable(L, -3);
        }
        break;
    case '*':
    case '>':
        len = rp_ll(r);
        if (len < 0) {
            if (L)
                lua_pushboolean(L, 0);
            break;
        }
        if (L)
            lua_newtable(L);
        for (long long j = 0; j < len; j++) {
            if (L)
                lua_pushnumber(L, (lua_Number)(j + 1));
            rp_value(r, L);
            if (L)
                lua_settable(L, -3);
        }
        break;
    case '%':
    case '~':
        len = rp_ll(r);
        if (L) {
            lua_newtable(L);
            lua_pushstring(L, t == '%' ? "map" : "set");
            lua_newtable(L);
        }
        for (long long j = 0; j < len; j++) {
            rp_value(r, L);
            if (t == '%')
                rp_value(r, L);
            else if (L)
                lua_pushboolean(L, 1);
            if (L)
                lua_settable(L, -3);
        }
        if (L)
            lua_settable(L, -3);
        break;
    case '|':
        len = rp_ll(r);
        for (long long j = 0; j < 2 * len; j++)
            rp_value(r, NULL);
        rp_value(r, L);
        break;
    case '_':
        rp_line(r, &n);
        if (L)
            lua_pushnil(L);
        break;
    case '#':
        s = rp_line(r, &n);
        if (L)
            lua_pushboolean(L, n && s[0] == 't');
        break;
    case ',': {
        s = rp_line(r, &n);
        char tmp[128];
        size_t m = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
        memcpy(tmp, s, m);
        tmp[m] = '\0';
        double d = strtod(tmp, NULL);
        if (!strcmp(tmp, "inf"))
            d = HUGE_VAL;
        else if (!strcmp(tmp, "-inf"))
            d = -HUGE_VAL;
        if (L) {
            lua_newtable(L);
            lua_pushliteral(L, "double");
            lua_pushnumber(L, d);
            lua_settable(L, -3);
        }
        break;
    }
    case '(':
        s = rp_line(r, &n);
        if (L) {
            lua_newtable(L);
            lua_pushliteral(L, "big_number");
            lua_pushlstring(L, s, n);
            lua_settable(L, -3);
        }
        break;
    default:
        /* Not a reply we produce: give up on the rest. */
        r->p = r->end;
        if (L)
            lua_pushboolean(L, 0);
    }
}

/* ------------------------------------------------------------------------ */
/* Lua -> Redis reply                                                        */
/* ------------------------------------------------------------------------ */

/* Field k of the table at -1, pushed (raw get). */
static int raw_field(lua_State *L, const char *k)
{
    lua_pushstring(L, k);
    lua_rawget(L, -2);
    return lua_type(L, -1);
}

/* Redis's luaExtractErrorInformation over the table at -1. */
typedef struct err_info {
    const char *msg, *source, *line;
    size_t msglen;
    int nostats; /* ignore_error_stats_update: already counted */
} err_info;

static void extract_error(lua_State *L, err_info *e)
{
    memset(e, 0, sizeof *e);
    lua_getfield(L, -1, "err");
    if (lua_isstring(L, -1))
        e->msg = lua_tolstring(L, -1, &e->msglen);
    lua_pop(L, 1); /* the table keeps the strings alive */
    lua_getfield(L, -1, "source");
    if (lua_isstring(L, -1))
        e->source = lua_tostring(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, -1, "line");
    if (lua_isstring(L, -1))
        e->line = lua_tostring(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, -1, "ignore_error_stats_update");
    e->nostats = lua_toboolean(L, -1);
    lua_pop(L, 1);
}

/* Write the value at the top of L to r and pop it (luaReplyToRedisReply).
 * resp: the script's protocol (redis.setresp). top: the script's caller
 * when this is the script's whole reply (NULL for nested values): an error
 * table already counted marks it err_nostats. */
static void lua_to_reply(lua_State *L, reply *r, int resp, cmd_ctx *top)
{
    if (!lua_checkstack(L, 4)) {
        reply_error(r, "ERR reached lua stack limit");
        lua_pop(L, 1);
        return;
    }
    int t = lua_type(L, -1);
    switch (t) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        reply_bulk(r, s, n);
        break;
    }
    case LUA_TBOOLEAN:
        if (resp == 2) {
            if (lua_toboolean(L, -1))
                reply_int(r, 1);
            else
                reply_null(r);
        } else {
            reply_bool(r, lua_toboolean(L, -1));
        }
        break;
    case LUA_TNUMBER:
        reply_int(r, (long long)lua_tonumber(L, -1));
        break;
    case LUA_TTABLE: {
        if (raw_field(L, "err") == LUA_TSTRING) {
            lua_pop(L, 1);
            err_info e;
            extract_error(L, &e);
            if (top && e.nostats)
                top->err_nostats = 1;
            kbuf b = KBUF_INIT;
            kbuf_putc(&b, '-');
            kbuf_append(&b, e.msg, e.msglen);
            sl_reply_error(r, kbuf_data(&b), kbuf_len(&b));
            kbuf_free(&b);
            break;
        }
        lua_pop(L, 1);
        if (raw_field(L, "ok") == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, -1, &n);
            char *copy = kv_memdup(s, n);
            for (size_t i = 0; i < n; i++)
                if (copy[i] == '\r' || copy[i] == '\n')
                    copy[i] = ' ';
            /* "%s": the status stops at a NUL, as Redis's sdscatprintf. */
            reply_simple_len(r, copy, strnlen(copy, n));
            kv_free(copy);
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        if (raw_field(L, "double") == LUA_TNUMBER) {
            reply_double(r, lua_tonumber(L, -1));
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        if (raw_field(L, "big_number") == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, -1, &n);
            char *copy = kv_memdup(s, n);
            for (size_t i = 0; i < n; i++)
                if (copy[i] == '\r' || copy[i] == '\n')
                    copy[i] = ' ';
            reply_bignum(r, copy, n);
            kv_free(copy);
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        if (raw_field(L, "verbatim_string") == LUA_TTABLE) {
            if (raw_field(L, "format") == LUA_TSTRING) {
                const char *fmt = lua_tostring(L, -1);
                lua_pushliteral(L, "string");
                lua_rawget(L, -3); /* the verbatim_string table */
                if (lua_type(L, -1) == LUA_TSTRING) {
                    size_t n;
                    const char *s = lua_tolstring(L, -1, &n);
                    char ext[4] = {0};
                    strncpy(ext, fmt, 3);
                    reply_verbatim(r, s, n, ext);
                    lua_pop(L, 3);
                    break;
                }
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (raw_field(L, "map") == LUA_TTABLE) {
            reply_deferred d = reply_defer(r);
            long n = 0;
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                lua_pushvalue(L, -2);
                lua_to_reply(L, r, resp, NULL); /* key */
                lua_to_reply(L, r, resp, NULL); /* value */
                n++;
            }
            reply_set_map_len(r, d, n);
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        if (raw_field(L, "set") == LUA_TTABLE) {
            reply_deferred d = reply_defer(r);
            long n = 0;
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                lua_pop(L, 1);
                lua_pushvalue(L, -1);
                lua_to_reply(L, r, resp, NULL);
                n++;
            }
            reply_set_set_len(r, d, n);
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        reply_deferred d = reply_defer(r);
        long n = 0;
        for (int j = 1;; j++) {
            lua_pushnumber(L, j);
            lua_rawget(L, -2);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                break;
            }
            lua_to_reply(L, r, resp, NULL);
            n++;
        }
        reply_set_array_len(r, d, n);
        break;
    }
    default:
        reply_null(r);
    }
    lua_pop(L, 1);
}

/* ------------------------------------------------------------------------ */
/* redis.call / redis.pcall                                                  */
/* ------------------------------------------------------------------------ */

/* Commands Redis flags "noscript" (or "may-replicate" ones a read-only
 * script may not call: publish). */
static int deny_disabled; /* DEBUG SET-DISABLE-DENY-SCRIPTS */

void script_set_deny_disabled(int on)
{
    deny_disabled = on;
}

static int is_noscript(const kv_command *cmd)
{
    /* Redis 7.0's noscript commands carry the flag in their tables (COMMAND
     * shows it); SENTINEL, which redis-server does not have, too. */
    return !deny_disabled && (cmd->flags & CMD_NOSCRIPT) != 0;
}

/* Redis's scriptCall checks, in its order: the error text or NULL. */
static const char *call_refusal(run_ctx *rc, const kv_command *cmd, int argc,
                                const char *const *argv, const size_t *lens, char *buf,
                                size_t len)
{
    if (!cmd)
        return "Unknown Redis command called from script";
    if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity))
        return "Wrong number of args calling Redis command from script";
    if (is_noscript(cmd))
        return "This Redis command is not allowed from script";
    /* Redis's scriptVerifyACL. */
    const char *denied =
        sc_host.acl_denied ? sc_host.acl_denied(sc_host.arg, rc->caller, cmd, argc, argv, lens, 1)
                           : NULL;
    if (denied) {
        snprintf(buf, len, "The user executing the script %s", denied);
        return buf;
    }
    if ((rc->flags & RUN_READ_ONLY) && (cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE)))
        return "Write commands are not allowed from read-only scripts.";
    if (rc->flags & RUN_WRITE_DIRTY)
        return NULL;
    if (cmd->flags & CMD_WRITE) {
        const char *why = sc_host.write_refusal(sc_host.arg, rc->caller, buf + 1, len - 1);
        if (why) {
            /* "-CODE msg" so that the error table keeps the code. */
            buf[0] = '-';
            if (why != buf + 1)
                snprintf(buf + 1, len - 1, "%s", why);
            return buf;
        }
    }
    /* Redis's scriptVerifyOOM: over maxmemory when the script's command
     * started, a script that has not written yet and lacks allow-oom may
     * not run a deny-oom command (once it wrote, it cannot stop halfway). */
    if ((cmd->flags & CMD_DENYOOM) && !(rc->flags & RUN_ALLOW_OOM) && sc_host.oom &&
        sc_host.oom(sc_host.arg, rc->caller))
        return "-" KV_ERR_OOM;
    return NULL;
}

static int generic_call(lua_State *L, int raise)
{
    run_ctx *rc = sc_run;
    if (!rc) {
        push_error_str(L, "redis.call/pcall can only be called inside a script invocation");
        return lua_error(L);
    }
    int argc = lua_gettop(L);
    if (argc == 0) {
        push_error_str(L, "Please specify at least one argument for this redis lib call");
        return raise ? lua_error(L) : 1;
    }
    const char **argv = kv_malloc((size_t)argc * sizeof *argv);
    size_t *lens = kv_malloc((size_t)argc * sizeof *lens);
    char (*nums)[64] = NULL;
    int bad = 0;
    for (int j = 0; j < argc; j++) {
        if (lua_type(L, j + 1) == LUA_TNUMBER) {
            if (!nums)
                nums = kv_malloc((size_t)argc * sizeof *nums);
            lens[j] = (size_t)snprintf(nums[j], sizeof nums[j], "%.17g",
                                       (double)lua_tonumber(L, j + 1));
            argv[j] = nums[j];
        } else {
            argv[j] = lua_tolstring(L, j + 1, &lens[j]);
            if (!argv[j]) {
                bad = 1;
                break;
            }
        }
    }
    static int inuse;
    int ret = 1;
    /* From here on the arguments are only read through argv, and only until
     * the command ran: they leave the Lua stack first thing before a reply
     * is pushed, so a call with thousands of arguments (unpack) still has
     * room for its reply (Redis's luaArgsToRedisArgv pops them too). */
    if (bad) {
        lua_settop(L, 0);
        push_error_str(L, "Lua redis lib command arguments must be strings or integers");
        goto done;
    }
    if (inuse) {
        const char *w = "luaRedisGenericCommand() recursive call detected. "
                        "Are you doing funny stuff with Lua debug hooks?";
        log_write(LOG_WARNING, "%s", w);
        lua_settop(L, 0);
        push_error_str(L, w);
        goto done;
    }
    inuse++;
    if (sl_ldb_logging())
        sl_ldb_log_call(argc, argv, lens);
    const kv_command *cmd = sc_host.lookup(sc_host.arg, argc, argv, lens);
    char buf[600];
    const char *err = call_refusal(rc, cmd, argc, argv, lens, buf, sizeof buf);
    if (err) {
        lua_settop(L, 0);
        if (sc_host.rejected)
            sc_host.rejected(sc_host.arg, cmd, err, strlen(err));
        sl_push_error(L, err, strlen(err));
        lua_pushliteral(L, "ignore_error_stats_update");
        lua_pushboolean(L, 1);
        lua_settable(L, -3);
        inuse--;
        goto done;
    }
    if (cmd->flags & CMD_WRITE)
        rc->flags |= RUN_WRITE_DIRTY;
    kbuf out = KBUF_INIT;
    sc_host.exec(sc_host.arg, rc->caller, cmd, argc, argv, lens, &out, rc->resp, rc->propagate);
    inuse--;
    lua_settop(L, 0);
    if (kbuf_len(&out)) {
        if (raise && kbuf_data(&out)[0] != '-')
            raise = 0;
        rp p = {kbuf_data(&out), kbuf_data(&out) + kbuf_len(&out)};
        rp_value(&p, L);
        if (sl_ldb_logging())
            sl_ldb_log_reply(kbuf_data(&out), kbuf_len(&out));
    } else {
        raise = 0;
        lua_pushboolean(L, 0);
    }
    kbuf_free(&out);
done:
    kv_free(argv);
    kv_free(lens);
    kv_free(nums);
    if (raise)
        return lua_error(L);
    return ret;
}

static int l_call(lua_State *L)
{
    return generic_call(L, 1);
}

static int l_pcall(lua_State *L)
{
    return generic_call(L, 0);
}

/* The global pcall: Redis 7's errors are tables; pcall hands back the
 * message string of a table carrying one, as older versions did. */
static int l_lua_pcall(lua_State *L)
{
    int argc = lua_gettop(L);
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1))
                lua_replace(L, -2);
            else
                lua_pop(L, 1);
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

/* ------------------------------------------------------------------------ */
/* The rest of the redis table                                               */
/* ------------------------------------------------------------------------ */

static int l_sha1hex(lua_State *L)
{
    if (lua_gettop(L) != 1) {
        push_error_str(L, "wrong number of arguments");
        return lua_error(L);
    }
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    sha1_ctx c;
    uint8_t d[20];
    sha1_init(&c);
    sha1_update(&c, s ? s : "", s ? n : 0);
    sha1_final(&c, d);
    char hex[41];
    for (int i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    lua_pushstring(L, hex);
    return 1;
}

static int l_error_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error_str(L, "wrong number or type of arguments");
        return 1;
    }
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    /* "%s": the text stops at a NUL (sdscatfmt / sdsnew). */
    n = strnlen(s, n);
    if (n && s[0] == '-') {
        sl_push_error(L, s, n);
    } else {
        kbuf b = KBUF_INIT;
        kbuf_putc(&b, '-');
        kbuf_append(&b, s, n);
        sl_push_error(L, kbuf_data(&b), kbuf_len(&b));
        kbuf_free(&b);
    }
    return 1;
}

static int l_status_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error_str(L, "wrong number or type of arguments");
        return 1;
    }
    lua_newtable(L);
    lua_pushliteral(L, "ok");
    lua_pushvalue(L, -3);
    lua_settable(L, -3);
    return 1;
}

enum { PROPAGATE_AOF = 1, PROPAGATE_REPL = 2 };

static int l_set_repl(lua_State *L)
{
    if (!sc_run) {
        push_error_str(L, "redis.set_repl can only be called inside a script invocation");
        return lua_error(L);
    }
    if (lua_gettop(L) != 1) {
        push_error_str(L, "redis.set_repl() requires two arguments.");
        return lua_error(L);
    }
    int flags = (int)lua_tonumber(L, -1);
    if (flags & ~(PROPAGATE_AOF | PROPAGATE_REPL)) {
        push_error_str(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or "
                          "REPL_NONE.");
        return lua_error(L);
    }
    /* One log serves both the replicas and durability: it takes the
     * script's writes unless neither was asked for. */
    sc_run->propagate = flags != 0;
    return 0;
}

static int l_setresp(lua_State *L)
{
    if (!sc_run) {
        push_error_str(L, "redis.setresp can only be called inside a script invocation");
        return lua_error(L);
    }
    if (lua_gettop(L) != 1) {
        push_error_str(L, "redis.setresp() requires one argument.");
        return lua_error(L);
    }
    int resp = (int)lua_tonumber(L, -1);
    if (resp != 2 && resp != 3) {
        push_error_str(L, "RESP version must be 2 or 3.");
        return lua_error(L);
    }
    sc_run->resp = resp;
    return 0;
}

static int l_log(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc < 2) {
        push_error_str(L, "redis.log() requires two arguments or more.");
        return lua_error(L);
    }
    if (!lua_isnumber(L, -argc)) {
        push_error_str(L, "First argument must be a number (log level).");
        return lua_error(L);
    }
    int level = (int)lua_tonumber(L, -argc);
    if (level < LOG_DEBUG || level > LOG_WARNING) {
        push_error_str(L, "Invalid debug level.");
        return lua_error(L);
    }
    if (level < log_level)
        return 0;
    kbuf b = KBUF_INIT;
    for (int j = 1; j < argc; j++) {
        size_t n;
        const char *s = lua_tolstring(L, (-argc) + j, &n);
        if (s) {
            if (j != 1)
                kbuf_putc(&b, ' ');
            kbuf_append(&b, s, n);
        }
    }
    log_write(level, "%.*s", (int)kbuf_len(&b), kbuf_data(&b));
    kbuf_free(&b);
    return 0;
}

/* Both are no-ops outside a debugging session (SCRIPT DEBUG), as in
 * Redis. */
static int l_breakpoint(lua_State *L)
{
    return sl_ldb_breakpoint(L);
}

static int l_debug(lua_State *L)
{
    return sl_ldb_debug(L);
}

static int l_replicate_commands(lua_State *L)
{
    lua_pushboolean(L, 1); /* effects replication is the only mode */
    return 1;
}

static int l_acl_check_cmd(lua_State *L)
{
    if (!sc_run) {
        push_error_str(L, "redis.acl_check_cmd can only be called inside a script invocation");
        return lua_error(L);
    }
    int argc = lua_gettop(L);
    if (!argc) {
        push_error_str(L, "Please specify at least one argument for this redis lib call");
        return lua_error(L);
    }
    const char **argv = kv_malloc((size_t)argc * sizeof *argv);
    size_t *lens = kv_malloc((size_t)argc * sizeof *lens);
    int ok = 1;
    for (int j = 0; j < argc; j++) {
        argv[j] = lua_tolstring(L, j + 1, &lens[j]);
        if (!argv[j])
            ok = 0;
    }
    const kv_command *cmd = ok ? sc_host.lookup(sc_host.arg, argc, argv, lens) : NULL;
    int allowed = cmd && (!sc_host.acl_denied ||
                          !sc_host.acl_denied(sc_host.arg, sc_run->caller, cmd, argc, argv, lens, 0));
    kv_free(argv);
    kv_free(lens);
    if (!ok) {
        push_error_str(L, "Lua redis lib command arguments must be strings or integers");
        return lua_error(L);
    }
    if (!cmd) {
        push_error_str(L, "Invalid command passed to redis.acl_check_cmd()");
        return lua_error(L);
    }
    lua_pushboolean(L, allowed);
    return 1;
}

/* redis.register_function (functions interpreter, while loading). */
static int read_flags(lua_State *L, int idx, int *flags)
{
    if (!lua_istable(L, idx))
        return -1;
    int f = 0;
    for (int j = 1;; j++) {
        lua_rawgeti(L, idx, j);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        if (!lua_isstring(L, -1)) {
            lua_pop(L, 1);
            return -1;
        }
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        int bit = sf_parse(s, n);
        lua_pop(L, 1);
        if (!bit)
            return -1;
        f |= bit;
    }
    *flags = f;
    return 0;
}

static int l_register_function(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&LOADING_KEY);
    lua_rawget(L, LUA_REGISTRYINDEX);
    fn_load *ld = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!ld) {
        push_error_str(L, "redis.register_function can only be called on FUNCTION LOAD command");
        return lua_error(L);
    }
    int argc = lua_gettop(L);
    const char *name = NULL, *desc = NULL;
    size_t nlen = 0, dlen = 0;
    int flags = 0, fidx = 0;
    if (argc < 1 || argc > 2) {
        push_error_str(L, "wrong number of arguments to redis.register_function");
        return lua_error(L);
    }
    if (argc == 2) {
        if (!lua_isstring(L, 1)) {
            push_error_str(L, "first argument to redis.register_function must be a string");
            return lua_error(L);
        }
        name = lua_tolstring(L, 1, &nlen);
        if (!lua_isfunction(L, 2)) {
            push_error_str(L, "second argument to redis.register_function must be a function");
            return lua_error(L);
        }
        fidx = 2;
    } else {
        if (!lua_istable(L, 1)) {
            push_error_str(L, "calling redis.register_function with a single argument is only "
                              "applicable to Lua table (representing named arguments).");
            return lua_error(L);
        }
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            if (!lua_isstring(L, -2)) {
                push_error_str(L, "named argument key given to redis.register_function is not "
                                  "a string");
                return lua_error(L);
            }
            const char *key = lua_tostring(L, -2);
            if (!strcasecmp(key, "function_name")) {
                if (!lua_isstring(L, -1)) {
                    push_error_str(L, "function_name argument given to "
                                      "redis.register_function must be a string");
                    return lua_error(L);
                }
                name = lua_tolstring(L, -1, &nlen);
            } else if (!strcasecmp(key, "description")) {
                if (!lua_isstring(L, -1)) {
                    push_error_str(L, "description argument given to redis.register_function "
                                      "must be a string");
                    return lua_error(L);
                }
                desc = lua_tolstring(L, -1, &dlen);
            } else if (!strcasecmp(key, "callback")) {
                if (!lua_isfunction(L, -1)) {
                    push_error_str(L, "callback argument given to redis.register_function "
                                      "must be a function");
                    return lua_error(L);
                }
                fidx = -1; /* found; pushed below */
                lua_pushvalue(L, -1);
                lua_setfield(L, LUA_REGISTRYINDEX, "__kv_register_cb");
            } else if (!strcasecmp(key, "flags")) {
                if (!lua_istable(L, -1)) {
                    push_error_str(L, "flags argument to redis.register_function must be a "
                                      "table representing function flags");
                    return lua_error(L);
                }
                if (read_flags(L, lua_gettop(L), &flags) < 0) {
                    push_error_str(L, "unknown flag given");
                    return lua_error(L);
                }
            } else {
                push_error_str(L, "unknown argument given to redis.register_function");
                return lua_error(L);
            }
            lua_pop(L, 1);
        }
        if (!name) {
            push_error_str(L, "redis.register_function must get a function name argument");
            return lua_error(L);
        }
        if (!fidx) {
            push_error_str(L, "redis.register_function must get a callback argument");
            return lua_error(L);
        }
    }
    if (fidx == 2)
        lua_pushvalue(L, 2);
    else
        lua_getfield(L, LUA_REGISTRYINDEX, "__kv_register_cb");
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    char err[256];
    if (fn_register(ld, name, nlen, desc, dlen, flags, ref, err, sizeof err) < 0) {
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        push_error_str(L, err);
        return lua_error(L);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Building an interpreter                                                   */
/* ------------------------------------------------------------------------ */

static void set_num(lua_State *L, const char *k, lua_Number v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void set_fn(lua_State *L, const char *k, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_setfield(L, -2, k);
}

static void register_log_and_version(lua_State *L)
{
    set_fn(L, "log", l_log);
    set_num(L, "LOG_DEBUG", LOG_DEBUG);
    set_num(L, "LOG_VERBOSE", LOG_VERBOSE);
    set_num(L, "LOG_NOTICE", LOG_NOTICE);
    set_num(L, "LOG_WARNING", LOG_WARNING);
    set_num(L, "REDIS_VERSION_NUM", SL_REDIS_VERSION_NUM);
    lua_pushstring(L, SL_REDIS_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
}

static void open_lib(lua_State *L, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    /* Debian's cjson and bit modules return their table without setting
     * a global: set it. */
    if (*name && lua_istable(L, -1))
        lua_setglobal(L, name);
    else
        lua_pop(L, 1);
}

/* ---- pcall and xpcall that let a long script park ----
 * A C function (Lua's pcall) between a script and its base would stop it
 * from yielding, so a script looping inside pcall could never be parked
 * or killed. pcall and xpcall of a Lua function therefore run it as a
 * coroutine of ours: when the hook parks it, the wrapper yields too, and
 * resumes it once resumed itself. Errors come back as pcall's would
 * (a Redis error table as its message string). loadstring and load
 * refuse binary chunks (as Redis's patched Lua does): bytecode could
 * break out of the sandbox. */
static const char OURS_KEY = 'o'; /* registry: weak set of threads that may park */
/* registry: a coroutine whose last run returned normally, kept for the next
 * run: a fresh thread per script call is garbage the incremental collector
 * (stepped every 50 runs, as Redis) falls behind on, and used_memory_lua
 * would double under a stream of short scripts. A thread whose run ended in
 * an error cannot be resumed again and is dropped. */
static const char SPARE_KEY = 's';
static int hook_yielded;           /* the last yield came from the hook */

static void mark_ours(lua_State *L, lua_State *th)
{
    lua_pushlightuserdata(L, (void *)&OURS_KEY);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_pushthread(th);
    lua_xmove(th, L, 1);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static int is_ours(lua_State *th)
{
    lua_pushlightuserdata(th, (void *)&OURS_KEY);
    lua_rawget(th, LUA_REGISTRYINDEX);
    lua_pushthread(th);
    lua_rawget(th, -2);
    int ours = lua_toboolean(th, -1);
    lua_pop(th, 2);
    return ours;
}

static int l_kv_is_lua(lua_State *L)
{
    lua_pushboolean(L, lua_isfunction(L, 1) && !lua_iscfunction(L, 1));
    return 1;
}

static int l_kv_mark(lua_State *L)
{
    /* Only under a thread that may park itself: a user's coroutine must
     * never see a yield it did not ask for. */
    lua_State *th = lua_tothread(L, 1);
    if (th && is_ours(L))
        mark_ours(L, th);
    return 0;
}

static int l_kv_killed(lua_State *L)
{
    lua_pushboolean(L, sc_run && sc_run->killed);
    return 1;
}

static int l_kv_hooked(lua_State *L)
{
    lua_pushboolean(L, hook_yielded);
    hook_yielded = 0;
    return 1;
}

static int l_lua_xpcall(lua_State *L)
{
    luaL_checkany(L, 2);
    lua_settop(L, 2);
    lua_insert(L, 1); /* put error function under function to be called */
    int status = lua_pcall(L, 0, LUA_MULTRET, 1);
    lua_pushboolean(L, status == 0);
    lua_replace(L, 1);
    return lua_gettop(L);
}

static const char yielding_pcall_src[] =
    "local orig_pcall, orig_xpcall, is_lua, mark, hooked, create, resume, status, yield, "
    "select, unpack, type, killed, error = ...\n"
    "local function pack(...) return {n = select('#', ...), ...} end\n"
    "local function run(f, ...)\n"
    "  local co = create(f)\n"
    "  mark(co)\n"
    "  local res = pack(resume(co, ...))\n"
    "  while status(co) == 'suspended' and hooked() do\n"
    "    yield()\n"
    "    res = pack(resume(co))\n"
    "  end\n"
    "  if not res[1] and killed() then error(res[2], 0) end\n"
    "  return res\n"
    "end\n"
    "pcall = function(f, ...)\n"
    "  if not is_lua(f) then return orig_pcall(f, ...) end\n"
    "  local res = run(f, ...)\n"
    "  if not res[1] and type(res[2]) == 'table' and type(res[2].err) == 'string' then\n"
    "    return false, res[2].err\n"
    "  end\n"
    "  return unpack(res, 1, res.n)\n"
    "end\n"
    "local orig_loadstring, orig_load = loadstring, load\n"
    "loadstring = function(s, ...)\n"
    "  if type(s) == 'string' and s:byte(1) == 27 then return nil, 'binary string' end\n"
    "  return orig_loadstring(s, ...)\n"
    "end\n"
    "load = function(f, ...)\n"
    "  if type(f) ~= 'function' then return orig_load(f, ...) end\n"
    "  local first, bad = true, false\n"
    "  local function reader()\n"
    "    local p = f()\n"
    "    if first and type(p) == 'string' and #p > 0 then\n"
    "      first = false\n"
    "      if p:byte(1) == 27 then bad = true return nil end\n"
    "    end\n"
    "    return p\n"
    "  end\n"
    "  local fn, err = orig_load(reader, ...)\n"
    "  if bad then return nil, 'binary string' end\n"
    "  return fn, err\n"
    "end\n"
    "xpcall = function(f, h)\n"
    "  if not is_lua(f) then return orig_xpcall(f, h) end\n"
    "  local res = run(f)\n"
    "  if not res[1] then return false, h(res[2]) end\n"
    "  return unpack(res, 1, res.n)\n"
    "end\n";

static void install_yielding_pcall(lua_State *L)
{
    if (luaL_loadbuffer(L, yielding_pcall_src, sizeof yielding_pcall_src - 1, "=kvnode")) {
        log_write(LOG_WARNING, "scripting: %s", lua_tostring(L, -1));
        kv_abort();
    }
    lua_pushcfunction(L, l_lua_pcall);
    lua_pushcfunction(L, l_lua_xpcall);
    lua_pushcfunction(L, l_kv_is_lua);
    lua_pushcfunction(L, l_kv_mark);
    lua_pushcfunction(L, l_kv_hooked);
    lua_getglobal(L, "coroutine");
    lua_getfield(L, -1, "create");
    lua_getfield(L, -2, "resume");
    lua_getfield(L, -3, "status");
    lua_getfield(L, -4, "yield");
    lua_remove(L, -5);
    lua_getglobal(L, "select");
    lua_getglobal(L, "unpack");
    lua_getglobal(L, "type");
    lua_pushcfunction(L, l_kv_killed);
    lua_getglobal(L, "error");
    lua_call(L, 14, 0);
}

/* unpack as Lua 5.1's, with the range checked in 64 bits: Debian's build
 * of the original overflows on unpack({}, 0, 2^31 - 1) (Redis patched
 * its copy the same way). */
static int l_unpack(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int i = luaL_optint(L, 2, 1);
    int e = luaL_opt(L, luaL_checkint, 3, (int)lua_objlen(L, 1));
    if (i > e)
        return 0;
    long long n = (long long)e - (long long)i + 1;
    if (n >= INT32_MAX || !lua_checkstack(L, (int)n))
        return luaL_error(L, "too many results to unpack");
    lua_rawgeti(L, 1, i);
    while (i++ < e)
        lua_rawgeti(L, 1, i);
    return (int)n;
}

/* The globals Redis 7.0 leaves to scripts; everything else is removed. */
static const char *const allowed_globals[] = {
    "string", "cjson", "bit", "cmsgpack", "struct", "math", "table", "redis", "xpcall",
    "tostring", "setmetatable", "next", "assert", "tonumber", "rawequal", "collectgarbage",
    "getmetatable", "rawset", "pcall", "coroutine", "type", "_G", "select", "unpack", "gcinfo",
    "pairs", "rawget", "loadstring", "ipairs", "_VERSION", "load", "error", NULL};

static int allowed(const char *k)
{
    for (int i = 0; allowed_globals[i]; i++)
        if (!strcmp(allowed_globals[i], k))
            return 1;
    return 0;
}

lua_State *sl_new(int funcs)
{
    lua_State *L = luaL_newstate();
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, "cjson", luaopen_cjson);
    open_lib(L, "struct", sl_open_struct);
    open_lib(L, "cmsgpack", sl_open_cmsgpack);
    open_lib(L, "bit", luaopen_bit);

    lua_newtable(L); /* weak set of read-only tables */
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushlightuserdata(L, (void *)&RO_KEY);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);

    lua_getglobal(L, "pcall");
    lua_pushlightuserdata(L, (void *)&PCALL_KEY);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, l_lua_pcall);
    lua_setglobal(L, "pcall");
    lua_pushcfunction(L, l_unpack);
    lua_setglobal(L, "unpack");
    lua_newtable(L); /* weak set of the threads that may park */
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushlightuserdata(L, (void *)&OURS_KEY);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    install_yielding_pcall(L);
    lua_pushcfunction(L, l_rawset);
    lua_setglobal(L, "rawset");
    lua_pushcfunction(L, l_setmetatable);
    lua_setglobal(L, "setmetatable");
    lua_pushcfunction(L, l_getmetatable);
    lua_setglobal(L, "getmetatable");
    lua_pushcfunction(L, l_rawget);
    lua_setglobal(L, "rawget");
    lua_pushcfunction(L, l_next);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "next");
    lua_pushcclosure(L, l_pairs, 1);
    lua_setglobal(L, "pairs");

    /* redis */
    lua_newtable(L);
    set_fn(L, "call", l_call);
    set_fn(L, "pcall", l_pcall);
    register_log_and_version(L);
    set_fn(L, "setresp", l_setresp);
    set_fn(L, "sha1hex", l_sha1hex);
    set_fn(L, "error_reply", l_error_reply);
    set_fn(L, "status_reply", l_status_reply);
    set_fn(L, "set_repl", l_set_repl);
    set_num(L, "REPL_NONE", 0);
    set_num(L, "REPL_AOF", PROPAGATE_AOF);
    set_num(L, "REPL_SLAVE", PROPAGATE_REPL);
    set_num(L, "REPL_REPLICA", PROPAGATE_REPL);
    set_num(L, "REPL_ALL", PROPAGATE_AOF | PROPAGATE_REPL);
    set_fn(L, "acl_check_cmd", l_acl_check_cmd);
    set_fn(L, "breakpoint", l_breakpoint);
    set_fn(L, "debug", l_debug);
    set_fn(L, "replicate_commands", l_replicate_commands);
    lua_setglobal(L, "redis");

    lua_getglobal(L, "math");
    set_fn(L, "random", l_math_random);
    set_fn(L, "randomseed", l_math_randomseed);
    lua_pop(L, 1);

    /* Drop what is not allowed (print, dofile, loadfile, getfenv …). */
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    int g = lua_gettop(L);
    for (;;) {
        const char *drop = NULL;
        lua_pushnil(L);
        while (lua_next(L, g)) {
            lua_pop(L, 1);
            if (lua_type(L, -1) == LUA_TSTRING && !allowed(lua_tostring(L, -1))) {
                drop = lua_tostring(L, -1);
                lua_pushnil(L);
                lua_setfield(L, g, drop);
                lua_pop(L, 1);
                break;
            }
        }
        if (!drop)
            break;
    }
    /* The library tables become read-only proxies. */
    static const char *const libs[] = {"redis", "string", "math",     "table",     "cjson",
                                       "bit",   "struct", "cmsgpack", "coroutine", NULL};
    for (int i = 0; libs[i]; i++) {
        lua_getfield(L, g, libs[i]);
        make_ro_proxy(L);
        lua_setfield(L, g, libs[i]);
    }
    /* Strings' metatable: its __index becomes the string proxy, and
     * getmetatable('') a read-only proxy of it (its __metatable), so a
     * script can change neither (Redis: "Attempt to modify a readonly
     * table"). */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        int mt = lua_gettop(L);
        lua_getfield(L, g, "string");
        lua_setfield(L, mt, "__index");
        lua_pushvalue(L, mt);
        make_ro_proxy(L);
        lua_setfield(L, mt, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushlightuserdata(L, (void *)&REAL_G_KEY);
    lua_pushvalue(L, g);
    lua_rawset(L, LUA_REGISTRYINDEX);

    if (funcs) {
        /* The load globals: redis = {register_function, log, …} only. */
        lua_newtable(L);
        lua_newtable(L);
        set_fn(L, "register_function", l_register_function);
        register_log_and_version(L);
        set_error_metatable(L);
        make_ro_proxy(L);
        lua_setfield(L, -2, "redis");
        lua_pushlightuserdata(L, (void *)&LOAD_G_KEY);
        lua_insert(L, -2);
        lua_rawset(L, LUA_REGISTRYINDEX);
    }

    /* The globals proxy, installed as the thread's globals. */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushcfunction(L, l_globals_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_newtable(L);
    make_ro_proxy(L);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    mark_ro(L, -1);
    lua_pushvalue(L, -1);
    lua_setfield(L, g, "_G");
    lua_replace(L, LUA_GLOBALSINDEX);
    lua_settop(L, 0);
    return L;
}

void sl_free(lua_State *L)
{
    if (L)
        lua_close(L);
}

void sl_set_loading(lua_State *L, fn_load *ld)
{
    lua_pushlightuserdata(L, (void *)&LOADING_KEY);
    if (ld)
        lua_pushlightuserdata(L, ld);
    else
        lua_pushnil(L);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void sl_push_array(lua_State *L, const char *const *argv, const size_t *lens, int n)
{
    lua_createtable(L, n, 0);
    for (int j = 0; j < n; j++) {
        lua_pushlstring(L, argv[j], lens[j]);
        lua_rawseti(L, -2, j + 1);
    }
}

void sl_set_keys_argv(lua_State *L, const char *const *argv, const size_t *lens, int nkeys,
                      int nargs)
{
    lua_pushlightuserdata(L, (void *)&REAL_G_KEY);
    lua_rawget(L, LUA_REGISTRYINDEX);
    sl_push_array(L, argv, lens, nkeys);
    lua_setfield(L, -2, "KEYS");
    sl_push_array(L, argv + nkeys, lens + nkeys, nargs);
    lua_setfield(L, -2, "ARGV");
    lua_pop(L, 1);
}

size_t sl_memory(lua_State *L)
{
    return L ? (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0)
             : 0;
}

parked *sc_parked;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Can co yield here? Not with a C function (pcall, a library callback)
 * between the hook and the coroutine's base. */
static int yieldable(lua_State *co)
{
    lua_Debug ar;
    for (int level = 0; lua_getstack(co, level, &ar); level++) {
        if (!lua_getinfo(co, "S", &ar) || !strcmp(ar.what, "C"))
            return 0;
    }
    return 1;
}

/* Every 100,000 instructions: a killed script ends here (and keeps
 * ending at every line, so pcall cannot catch it for good); one that ran
 * past busy-reply-threshold yields to the event loop. */
static void busy_hook(lua_State *co, lua_Debug *ar)
{
    (void)ar;
    run_ctx *rc = sc_run;
    if (!rc)
        return;
    if (rc->killed) {
        log_write(LOG_WARNING, "Lua script killed by user with SCRIPT KILL.");
        lua_sethook(co, busy_hook, LUA_MASKLINE, 0);
        push_error_str(co, "Script killed by user with SCRIPT KILL...");
        lua_error(co);
    }
    if (rc->busy_ms < 0 || mono_ms() - rc->start_ms < rc->busy_ms || !is_ours(co) ||
        !yieldable(co))
        return;
    hook_yielded = 1;
    lua_yield(co, 0);
}

/* The coroutine stopped with status st: write its result or error to
 * rc's caller and release it. */
static void finish_run(lua_State *L, lua_State *co, int ref, run_ctx *rc, int st)
{
    static long gc_count;
    reply *r = &rc->caller->r;
    if (st) {
        if (st == LUA_ERRMEM) {
            const char *msg = lua_isstring(co, -1) ? lua_tostring(co, -1) : "execution failure";
            reply_errorf(r, "ERR Error running script %s, %.100s\n", rc->funcname, msg);
        } else {
            error_to_table(co);
            err_info e;
            extract_error(co, &e);
            if (e.nostats)
                rc->caller->err_nostats = 1;
            kbuf b = KBUF_INIT;
            kbuf_putc(&b, '-');
            if (e.msg)
                kbuf_append(&b, e.msg, e.msglen);
            if (e.line && e.source)
                kbuf_printf(&b, " script: %s, on %s:%s.", rc->funcname, e.source, e.line);
            sl_reply_error(r, kbuf_data(&b), kbuf_len(&b));
            kbuf_free(&b);
        }
    } else {
        if (lua_gettop(co) == 0)
            lua_pushnil(co);
        lua_settop(co, 1);
        lua_to_reply(co, r, rc->resp, rc->caller);
    }
    lua_settop(co, 0);
    if (!st && lua_status(co) == 0) {
        lua_pushlightuserdata(L, (void *)&SPARE_KEY);
        lua_pushthread(co);
        lua_xmove(co, L, 1);
        lua_rawset(L, LUA_REGISTRYINDEX);
    }
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    if (++gc_count == 50) {
        lua_gc(L, LUA_GCSTEP, 50);
        gc_count = 0;
    }
}

static void park(lua_State *L, lua_State *co, int ref, run_ctx *rc)
{
    parked *p = kv_calloc(1, sizeof *p);
    p->L = L;
    p->co = co;
    p->ref = ref;
    p->rc = *rc;
    p->caller = *rc->caller;
    p->rc.caller = &p->caller;
    p->funcname = kv_memdup(rc->funcname, strlen(rc->funcname) + 1);
    p->rc.funcname = p->funcname;
    cmd_ctx *c = rc->caller;
    p->argc = c->argc;
    p->argv = kv_malloc((size_t)c->argc * sizeof *p->argv);
    p->lens = kv_malloc((size_t)c->argc * sizeof *p->lens);
    for (int i = 0; i < c->argc; i++) {
        p->argv[i] = kv_memdup(c->argv[i], c->lens[i]);
        p->lens[i] = c->lens[i];
    }
    p->caller.argv = (const char *const *)p->argv;
    p->caller.lens = p->lens;
    kbuf_init(&p->detached);
    c->parked = 1;
    sc_parked = p;
}

int sl_call(lua_State *L, run_ctx *rc, int nargs)
{
    lua_pushlightuserdata(L, (void *)&SPARE_KEY);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_State *co = lua_tothread(L, -1);
    if (co) {
        lua_pushlightuserdata(L, (void *)&SPARE_KEY);
        lua_pushnil(L);
        lua_rawset(L, LUA_REGISTRYINDEX);
    } else {
        lua_pop(L, 1);
        co = lua_newthread(L);
        mark_ours(L, co);
    }
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_xmove(L, co, nargs + 1);
    run_ctx *saved = sc_run;
    sc_run = rc;
    rc->start_ms = mono_ms();
    /* A debugged EVAL gets the debugger's hook instead, which never
     * parks (Redis's luaCallFunction with debug_enabled). */
    if (script_ldb_active() && (rc->flags & RUN_EVAL_MODE))
        sl_ldb_install(co);
    else
        lua_sethook(co, busy_hook, LUA_MASKCOUNT, 100000);
    int st = lua_resume(co, nargs);
    hook_yielded = 0;
    sc_run = saved;
    if (st == LUA_YIELD) {
        park(L, co, ref, rc);
        return 1;
    }
    finish_run(L, co, ref, rc, st);
    return 0;
}

int script_busy(void)
{
    return sc_parked != NULL;
}

int script_busy_is_eval(void)
{
    return sc_parked && (sc_parked->rc.flags & RUN_EVAL_MODE);
}

void script_detach_caller(void)
{
    if (!sc_parked)
        return;
    sc_parked->caller.r.out = &sc_parked->detached;
    sc_parked->caller.cl = NULL;
}

int script_resume(void)
{
    parked *p = sc_parked;
    if (!p)
        return 1;
    run_ctx *saved = sc_run;
    sc_run = &p->rc;
    int st = lua_resume(p->co, 0);
    hook_yielded = 0;
    sc_run = saved;
    if (st == LUA_YIELD)
        return 0;
    finish_run(p->L, p->co, p->ref, &p->rc, st);
    sc_parked = NULL;
    for (int i = 0; i < p->argc; i++)
        kv_free(p->argv[i]);
    kv_free(p->argv);
    kv_free(p->lens);
    kv_free(p->funcname);
    kbuf_free(&p->detached);
    kv_free(p);
    return 1;
}
