/* script_msgpack.c — the cmsgpack library Redis 7.0 gives scripts
 * (lua-cmsgpack 0.4.0, Redis's deps/lua/src/lua_cmsgpack.c), written for
 * kvnode because Debian ships no Lua 5.1 build of it.
 *
 *   cmsgpack.pack(v1, v2, …)            the values' encodings, concatenated
 *   cmsgpack.unpack(s)                  every value in s
 *   cmsgpack.unpack_one(s [, off])      next offset (-1 at the end), 1 value
 *   cmsgpack.unpack_limit(s, n [, off]) next offset, then up to n values
 *
 * Encoding, as Redis's: a number that is a whole int64 (and not ±inf) is
 * the smallest MessagePack integer holding it (positive fixint, uint
 * 8/16/32/64, negative fixint, int 8/16/32/64); any other number is a
 * float 32 if converting it to float and back loses nothing, else a float
 * 64. Strings are fixstr / str 8 / str 16 / str 32. A table whose keys are
 * exactly the numbers 1..n (each a whole number in C int range; the empty
 * table included) is an array, any other table a map in lua_next order.
 * A table at nesting level 16 (arguments are level 0), functions,
 * userdata, threads and nil encode as nil.
 *
 * Decoding: nil, booleans, all the integer and float widths, str 8/16/32,
 * arrays and maps; a uint 64 above INT64_MAX wraps to a negative number
 * (Redis pushes it as a signed lua_Integer). bin, ext and fixext are "Bad
 * data format in input.", a truncated value "Missing bytes in input.".
 *
 * The stack is used exactly as Redis's library uses it (the same pushes,
 * the same luaL_checkstack calls in the same places), because Lua 5.1
 * limits a C function to LUAI_MAXCSTACK (8000) slots: how many values an
 * unpack may return, how deep a decoded value may nest and how many
 * arguments pack takes before "stack overflow (…)" all follow from that,
 * and scripts see the same limits as on Redis.
 *
 * Must never: read past its input, or keep memory past its lua_State (the
 * pack buffer is a userdata in the registry, freed with the state, reused
 * across calls and so never leaked by an error raised mid-encode). */
#include "script_libs.h"

#include <lauxlib.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>

#define MP_MAX_NESTING 16

/* ---- The pack buffer ---- */

typedef struct mp_buf {
    unsigned char *b;
    size_t len, cap;
    lua_Alloc alloc;
    void *ud;
} mp_buf;

static const char MP_BUF_KEY = 'm'; /* registry: the state's mp_buf userdata */
#define MP_BUF_KEEP 65536           /* a bigger buffer is freed after a pack */

static int mp_buf_gc(lua_State *L)
{
    mp_buf *buf = lua_touserdata(L, 1);
    if (buf && buf->b)
        buf->alloc(buf->ud, buf->b, buf->cap, 0);
    if (buf) {
        buf->b = NULL;
        buf->cap = buf->len = 0;
    }
    return 0;
}

/* The state's buffer, emptied. Leaves the stack as it was. */
static mp_buf *mp_buf_get(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&MP_BUF_KEY);
    lua_rawget(L, LUA_REGISTRYINDEX);
    mp_buf *buf = lua_touserdata(L, -1);
    lua_pop(L, 1);
    buf->len = 0;
    return buf;
}

static void mp_buf_put(lua_State *L, mp_buf *buf, const void *p, size_t n)
{
    if (buf->cap - buf->len < n) {
        size_t want = buf->len + n;
        if (want < buf->len || want >= SIZE_MAX / 2)
            luaL_error(L, "not enough memory");
        want *= 2;
        unsigned char *nb = buf->alloc(buf->ud, buf->b, buf->cap, want);
        if (!nb)
            luaL_error(L, "not enough memory");
        buf->b = nb;
        buf->cap = want;
    }
    memcpy(buf->b + buf->len, p, n);
    buf->len += n;
}

static void mp_buf_trim(mp_buf *buf)
{
    if (buf->cap > MP_BUF_KEEP) {
        buf->alloc(buf->ud, buf->b, buf->cap, 0);
        buf->b = NULL;
        buf->cap = 0;
    }
    buf->len = 0;
}

/* ---- Encoding ---- */

/* A type byte then the low n bytes of v, big endian. */
static void put_be(lua_State *L, mp_buf *buf, unsigned char type, uint64_t v, int n)
{
    unsigned char b[9];
    b[0] = type;
    for (int i = n; i >= 1; i--, v >>= 8)
        b[i] = (unsigned char)(v & 0xff);
    mp_buf_put(L, buf, b, (size_t)n + 1);
}

static void enc_int(lua_State *L, mp_buf *buf, int64_t n)
{
    uint64_t u = (uint64_t)n;
    if (n >= 0) {
        if (n <= 127) {
            unsigned char c = (unsigned char)n;
            mp_buf_put(L, buf, &c, 1);
        } else if (n <= 0xff)
            put_be(L, buf, 0xcc, u, 1);
        else if (n <= 0xffff)
            put_be(L, buf, 0xcd, u, 2);
        else if (n <= 0xffffffffLL)
            put_be(L, buf, 0xce, u, 4);
        else
            put_be(L, buf, 0xcf, u, 8);
    } else {
        if (n >= -32) {
            unsigned char c = (unsigned char)(u & 0xff);
            mp_buf_put(L, buf, &c, 1);
        } else if (n >= -128)
            put_be(L, buf, 0xd0, u, 1);
        else if (n >= -32768)
            put_be(L, buf, 0xd1, u, 2);
        else if (n >= -2147483648LL)
            put_be(L, buf, 0xd2, u, 4);
        else
            put_be(L, buf, 0xd3, u, 8);
    }
}

static void enc_double(lua_State *L, mp_buf *buf, double d)
{
    float f = (float)d;
    if (d == (double)f) {
        uint32_t bits;
        memcpy(&bits, &f, 4);
        put_be(L, buf, 0xca, bits, 4);
    } else {
        uint64_t bits;
        memcpy(&bits, &d, 8);
        put_be(L, buf, 0xcb, bits, 8);
    }
}

/* Redis's IS_INT64_EQUIVALENT: (int64_t)n == n and n not infinite; the
 * range test stands for what x86-64 makes of an out-of-range cast (the
 * "integer indefinite" INT64_MIN, never equal to such an n). */
static int is_int64(lua_Number n)
{
    return n >= -9223372036854775808.0 && n < 9223372036854775808.0 && (lua_Number)(int64_t)n == n;
}

/* A collection header: fix (one byte, tag | n) up to 15, then 16 or 32. */
static void enc_header(lua_State *L, mp_buf *buf, unsigned char fix, unsigned char t16,
                       uint64_t n)
{
    if (n <= 15) {
        unsigned char c = (unsigned char)(fix | (n & 0xf));
        mp_buf_put(L, buf, &c, 1);
    } else if (n <= 65535)
        put_be(L, buf, t16, n, 2);
    else
        put_be(L, buf, (unsigned char)(t16 + 1), n, 4);
}

static void enc_string(lua_State *L, mp_buf *buf)
{
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (len < 32) {
        unsigned char c = (unsigned char)(0xa0 | len);
        mp_buf_put(L, buf, &c, 1);
    } else if (len <= 0xff)
        put_be(L, buf, 0xd9, len, 1);
    else if (len <= 0xffff)
        put_be(L, buf, 0xda, len, 2);
    else
        put_be(L, buf, 0xdb, len, 4);
    mp_buf_put(L, buf, s, len);
}

static void enc_value(lua_State *L, mp_buf *buf, int level);

/* Are the keys of the table on top exactly 1..n? (Each a number that is
 * a whole C int above 0; then max == count means no holes.) */
static int table_is_array(lua_State *L)
{
    int count = 0, max = 0;
    int top = lua_gettop(L);
    luaL_checkstack(L, 2, "in function table_is_an_array");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        lua_Number n;
        if (lua_type(L, -1) != LUA_TNUMBER || (n = lua_tonumber(L, -1)) <= 0 ||
            n > (lua_Number)INT_MAX || (lua_Number)(int)n != n) {
            lua_settop(L, top);
            return 0;
        }
        if ((int)n > max)
            max = (int)n;
        count++;
    }
    lua_settop(L, top);
    return max == count;
}

static void enc_array(lua_State *L, mp_buf *buf, int level)
{
    size_t len = lua_objlen(L, -1);
    enc_header(L, buf, 0x90, 0xdc, len);
    luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
    for (size_t j = 1; j <= len; j++) {
        lua_pushnumber(L, (lua_Number)j);
        lua_gettable(L, -2);
        enc_value(L, buf, level + 1);
    }
}

static void enc_map(lua_State *L, mp_buf *buf, int level)
{
    size_t len = 0;
    luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        len++;
    }
    enc_header(L, buf, 0x80, 0xde, len);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2); /* key value key */
        enc_value(L, buf, level + 1); /* the key */
        enc_value(L, buf, level + 1); /* the value */
    }
}

/* Encode the value on top of the stack and pop it. */
static void enc_value(lua_State *L, mp_buf *buf, int level)
{
    int t = lua_type(L, -1);
    if (t == LUA_TTABLE && level == MP_MAX_NESTING)
        t = LUA_TNIL;
    switch (t) {
    case LUA_TSTRING:
        enc_string(L, buf);
        break;
    case LUA_TBOOLEAN: {
        unsigned char c = lua_toboolean(L, -1) ? 0xc3 : 0xc2;
        mp_buf_put(L, buf, &c, 1);
        break;
    }
    case LUA_TNUMBER: {
        lua_Number n = lua_tonumber(L, -1);
        if (is_int64(n))
            enc_int(L, buf, (int64_t)n);
        else
            enc_double(L, buf, n);
        break;
    }
    case LUA_TTABLE:
        if (table_is_array(L))
            enc_array(L, buf, level);
        else
            enc_map(L, buf, level);
        break;
    default: {
        unsigned char c = 0xc0;
        mp_buf_put(L, buf, &c, 1);
        break;
    }
    }
    lua_pop(L, 1);
}

static int mp_pack(lua_State *L)
{
    int nargs = lua_gettop(L);
    if (nargs == 0)
        return luaL_argerror(L, 0, "MessagePack pack needs input.");
    if (!lua_checkstack(L, nargs))
        return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
    mp_buf *buf = mp_buf_get(L);
    /* Each argument's encoding is pushed, then all are concatenated. */
    for (int i = 1; i <= nargs; i++) {
        luaL_checkstack(L, 1, "in function mp_check");
        lua_pushvalue(L, i);
        buf->len = 0;
        enc_value(L, buf, 0);
        lua_pushlstring(L, (const char *)buf->b, buf->len);
    }
    mp_buf_trim(buf);
    lua_concat(L, nargs);
    return 1;
}

/* ---- Decoding ---- */

enum { MP_OK, MP_EOF, MP_BADFMT };

typedef struct mp_cur {
    const unsigned char *p;
    size_t left;
    int err;
} mp_cur;

/* The big-endian unsigned integer of n bytes at p. */
static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Consume a type byte and its n-byte big-endian argument into *v;
 * 0 (and MP_EOF) if the input is shorter. */
static int take_be(mp_cur *c, int n, uint64_t *v)
{
    if (c->left < (size_t)n + 1) {
        c->err = MP_EOF;
        return 0;
    }
    *v = get_be(c->p + 1, n);
    c->p += n + 1;
    c->left -= (size_t)n + 1;
    return 1;
}

static void dec_value(lua_State *L, mp_cur *c);

static void dec_array(lua_State *L, mp_cur *c, size_t len)
{
    int index = 1;
    lua_newtable(L);
    luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
    while (len--) {
        lua_pushnumber(L, index++);
        dec_value(L, c);
        if (c->err)
            return;
        lua_settable(L, -3);
    }
}

static void dec_map(lua_State *L, mp_cur *c, size_t len)
{
    lua_newtable(L);
    while (len--) {
        dec_value(L, c); /* key */
        if (c->err)
            return;
        dec_value(L, c); /* value */
        if (c->err)
            return;
        lua_settable(L, -3);
    }
}

/* A string of the length in the type byte's n-byte argument. */
static void dec_str(lua_State *L, mp_cur *c, int n)
{
    uint64_t l;
    if (!take_be(c, n, &l))
        return;
    if (c->left < l) {
        c->err = MP_EOF;
        return;
    }
    lua_pushlstring(L, (const char *)c->p, (size_t)l);
    c->p += l;
    c->left -= (size_t)l;
}

/* Decode one value at c to the top of the stack; on error c->err is set
 * (and what was pushed so far stays: the caller raises the error). */
static void dec_value(lua_State *L, mp_cur *c)
{
    uint64_t v;
    if (c->left < 1) {
        c->err = MP_EOF;
        return;
    }
    luaL_checkstack(L, 1,
                    "too many return values at once; use unpack_one or unpack_limit instead.");
    unsigned char t = c->p[0];
    switch (t) {
    case 0xcc: case 0xcd: case 0xce: case 0xcf: /* uint 8/16/32/64 */
        if (take_be(c, 1 << (t - 0xcc), &v))
            lua_pushnumber(L, (lua_Number)(int64_t)v); /* lua_pushinteger of it */
        return;
    case 0xd0:
        if (take_be(c, 1, &v))
            lua_pushnumber(L, (int8_t)(uint8_t)v);
        return;
    case 0xd1:
        if (take_be(c, 2, &v))
            lua_pushnumber(L, (int16_t)(uint16_t)v);
        return;
    case 0xd2:
        if (take_be(c, 4, &v))
            lua_pushnumber(L, (int32_t)(uint32_t)v);
        return;
    case 0xd3:
        if (take_be(c, 8, &v))
            lua_pushnumber(L, (lua_Number)(int64_t)v);
        return;
    case 0xc0:
        lua_pushnil(L);
        c->p++, c->left--;
        return;
    case 0xc2: case 0xc3:
        lua_pushboolean(L, t == 0xc3);
        c->p++, c->left--;
        return;
    case 0xca:
        if (take_be(c, 4, &v)) {
            uint32_t bits = (uint32_t)v;
            float f;
            memcpy(&f, &bits, 4);
            lua_pushnumber(L, f);
        }
        return;
    case 0xcb:
        if (take_be(c, 8, &v)) {
            double d;
            memcpy(&d, &v, 8);
            lua_pushnumber(L, d);
        }
        return;
    case 0xd9:
        dec_str(L, c, 1);
        return;
    case 0xda:
        dec_str(L, c, 2);
        return;
    case 0xdb:
        dec_str(L, c, 4);
        return;
    case 0xdc: case 0xdd:
        if (take_be(c, t == 0xdc ? 2 : 4, &v))
            dec_array(L, c, (size_t)v);
        return;
    case 0xde: case 0xdf:
        if (take_be(c, t == 0xde ? 2 : 4, &v))
            dec_map(L, c, (size_t)v);
        return;
    default:
        break;
    }
    if ((t & 0x80) == 0) { /* positive fixint */
        lua_pushnumber(L, t);
        c->p++, c->left--;
    } else if ((t & 0xe0) == 0xe0) { /* negative fixint */
        lua_pushnumber(L, (int8_t)t);
        c->p++, c->left--;
    } else if ((t & 0xe0) == 0xa0) { /* fixstr */
        size_t l = t & 0x1f;
        if (c->left < 1 + l) {
            c->err = MP_EOF;
            return;
        }
        lua_pushlstring(L, (const char *)c->p + 1, l);
        c->p += 1 + l;
        c->left -= 1 + l;
    } else if ((t & 0xf0) == 0x90) { /* fixarray */
        c->p++, c->left--;
        dec_array(L, c, t & 0xf);
    } else if ((t & 0xf0) == 0x80) { /* fixmap */
        c->p++, c->left--;
        dec_map(L, c, t & 0xf);
    } else {
        c->err = MP_BADFMT;
    }
}

/* Decode up to limit values of the string at 1 from offset; limit and
 * offset both 0 means every value, without the next offset. */
static int unpack_full(lua_State *L, lua_Integer limit, lua_Integer offset)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int all = !limit && !offset;
    if (offset < 0 || limit < 0)
        return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                          (int)offset, (int)len); /* sic: Redis prints the length */
    if ((size_t)offset > len)
        return luaL_error(L, "Start offset %d greater than input length %d.", (int)offset,
                          (int)len);
    if (all)
        limit = INT_MAX;
    mp_cur c = {(const unsigned char *)s + offset, len - (size_t)offset, MP_OK};
    int cnt;
    for (cnt = 0; c.left > 0 && cnt < limit; cnt++) {
        dec_value(L, &c);
        if (c.err == MP_EOF)
            return luaL_error(L, "Missing bytes in input.");
        if (c.err == MP_BADFMT)
            return luaL_error(L, "Bad data format in input.");
    }
    if (!all) {
        luaL_checkstack(L, 1, "in function mp_unpack_full");
        lua_pushinteger(L, c.left == 0 ? -1 : (lua_Integer)(len - c.left));
        lua_insert(L, 2); /* the offset comes first */
        cnt++;
    }
    return cnt;
}

static int mp_unpack(lua_State *L)
{
    return unpack_full(L, 0, 0);
}

static int mp_unpack_one(lua_State *L)
{
    lua_Integer offset = luaL_optinteger(L, 2, 0);
    lua_pop(L, lua_gettop(L) - 1);
    return unpack_full(L, 1, offset);
}

static int mp_unpack_limit(lua_State *L)
{
    lua_Integer limit = luaL_checkinteger(L, 2);
    lua_Integer offset = luaL_optinteger(L, 3, 0);
    lua_pop(L, lua_gettop(L) - 1);
    return unpack_full(L, limit, offset);
}

/* ---- Registration ---- */

int sl_open_cmsgpack(lua_State *L)
{
    mp_buf *buf = lua_newuserdata(L, sizeof *buf);
    memset(buf, 0, sizeof *buf);
    buf->alloc = lua_getallocf(L, &buf->ud);
    lua_newtable(L);
    lua_pushcfunction(L, mp_buf_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_pushlightuserdata(L, (void *)&MP_BUF_KEY);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);

    /* The fields in Redis's order (pairs() walks them the same way). */
    lua_newtable(L);
    lua_pushcfunction(L, mp_pack);
    lua_setfield(L, -2, "pack");
    lua_pushcfunction(L, mp_unpack);
    lua_setfield(L, -2, "unpack");
    lua_pushcfunction(L, mp_unpack_one);
    lua_setfield(L, -2, "unpack_one");
    lua_pushcfunction(L, mp_unpack_limit);
    lua_setfield(L, -2, "unpack_limit");
    lua_pushliteral(L, "cmsgpack");
    lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, "lua-cmsgpack 0.4.0");
    lua_setfield(L, -2, "_VERSION");
    lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
    lua_setfield(L, -2, "_COPYRIGHT");
    lua_pushliteral(L, "MessagePack C implementation for Lua");
    lua_setfield(L, -2, "_DESCRIPTION");
    return 1;
}
