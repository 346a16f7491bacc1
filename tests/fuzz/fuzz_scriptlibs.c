/* fuzz_scriptlibs.c — libFuzzer harness for the cmsgpack and struct
 * libraries scripts see (node/script/script_msgpack.c, script_struct.c),
 * on hostile bytes, in one bare lua_State kept across inputs.
 *
 * Input: byte 0 picks the call (bits 0-2) and a small number n (bits 3-7);
 * byte 1 is an offset; the rest is the payload.
 *   0  cmsgpack.unpack(payload)
 *   1  cmsgpack.unpack_one(payload, offset)
 *   2  cmsgpack.unpack_limit(payload, n, offset)
 *   3  struct.unpack(fmt, data, n + 1): the payload split at its first '|'
 *   4  struct.pack(payload as the format, a fixed mix of arguments)
 *   5  struct.size(payload)
 *   6  cmsgpack.pack of what cmsgpack.unpack(payload) returns
 * These must hold:
 *  - nothing is read or written outside a buffer (ASan), no UB (UBSan),
 *    no leak; every failure is a Lua error caught by pcall;
 *  - the stack is as it was after each call;
 *  - (6) whatever unpack decodes, pack encodes (up to 4000 values, pack's
 *    argument limit), and unpacking that gives as many values again
 *    (unless a table used as a key sat at the nesting limit). */
#include <lauxlib.h>
#include <lualib.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script_libs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                    \
        }                                                                               \
    } while (0)

static lua_State *L;

static void open_state(void)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    lua_pushcfunction(L, sl_open_cmsgpack);
    lua_call(L, 0, 1);
    lua_setglobal(L, "cmsgpack");
    lua_pushcfunction(L, sl_open_struct);
    lua_call(L, 0, 0);
}

/* Push lib.fn. */
static void push_fn(const char *lib, const char *fn)
{
    lua_getglobal(L, lib);
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
}

static char last_error[256];

/* Call the function under nargs arguments in protected mode; the number
 * of results, or -1 after an error (popped, its message in last_error).
 * Leaves room for a few more pushes. */
static int call(int nargs)
{
    int base = lua_gettop(L) - nargs - 1;
    if (lua_pcall(L, nargs, LUA_MULTRET, 0) != 0) {
        CHECK(lua_gettop(L) == base + 1);
        CHECK(lua_isstring(L, -1));
        snprintf(last_error, sizeof last_error, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    CHECK(lua_checkstack(L, 8));
    return lua_gettop(L) - base;
}

static void push_struct_args(void)
{
    lua_pushnumber(L, -1);
    lua_pushliteral(L, "abc");
    lua_pushnumber(L, 18446744073709551616.0);
    lua_pushnumber(L, NAN);
    lua_pushnumber(L, -INFINITY);
    lua_pushliteral(L, "12");
    lua_pushnumber(L, -9223372036854775808.0);
    lua_pushlstring(L, "x\0y", 3);
    lua_pushnumber(L, 0.5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (!L)
        open_state();
    int op = data[0] & 7, n = data[0] >> 3, offset = data[1];
    const char *p = (const char *)data + 2;
    size_t len = size - 2;
    int top = lua_gettop(L), got;
    switch (op) {
    case 0:
        push_fn("cmsgpack", "unpack");
        lua_pushlstring(L, p, len);
        got = call(1);
        break;
    case 1:
        push_fn("cmsgpack", "unpack_one");
        lua_pushlstring(L, p, len);
        lua_pushinteger(L, offset);
        got = call(2);
        CHECK(got == -1 || got >= 1);
        break;
    case 2:
        push_fn("cmsgpack", "unpack_limit");
        lua_pushlstring(L, p, len);
        lua_pushinteger(L, n);
        lua_pushinteger(L, offset);
        got = call(3);
        CHECK(got == -1 || (n == 0 && offset == 0) || (got >= 1 && got <= n + 1));
        break;
    case 3: {
        const char *bar = memchr(p, '|', len);
        size_t fl = bar ? (size_t)(bar - p) : len;
        push_fn("struct", "unpack");
        lua_pushlstring(L, p, fl);
        lua_pushlstring(L, bar ? bar + 1 : "", bar ? len - fl - 1 : 0);
        lua_pushinteger(L, n + 1);
        got = call(3);
        break;
    }
    case 4:
        push_fn("struct", "pack");
        lua_pushlstring(L, p, len);
        push_struct_args();
        got = call(10);
        CHECK(got == -1 || (got == 1 && lua_isstring(L, -1)));
        break;
    case 5:
        push_fn("struct", "size");
        lua_pushlstring(L, p, len);
        got = call(1);
        CHECK(got == -1 || (got == 1 && lua_isnumber(L, -1)));
        break;
    default: {
        push_fn("cmsgpack", "unpack");
        lua_pushlstring(L, p, len);
        int values = call(1);
        got = values;
        if (values <= 0 || values > 4000)
            break;
        /* pack(values…) under the values */
        push_fn("cmsgpack", "pack");
        lua_insert(L, top + 1);
        int packed = call(values);
        CHECK(packed == 1);
        push_fn("cmsgpack", "unpack");
        lua_insert(L, -2);
        got = call(1);
        /* A table key 16 levels down packs as nil, which Lua refuses as a
         * key when it is unpacked again. */
        CHECK(got == values || (got == -1 && strstr(last_error, "table index is nil")));
        break;
    }
    }
    (void)got;
    lua_settop(L, top);
    lua_gc(L, LUA_GCSTEP, 200);
    return 0;
}
