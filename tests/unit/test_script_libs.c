/* test_script_libs.c — the cmsgpack and struct libraries (node/script/
 * script_msgpack.c, script_struct.c) in a bare lua_State: MessagePack
 * specification vectors, every truncation of valid input, round trips of
 * random values, struct vectors, and allocation failure mid-call. (Their
 * agreement with redis-server, error texts included, is
 * tests/integration/diff/scripting_libs.txt.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lualib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script_libs.h"

/* ---- Fixture ---- */

/* An allocator that can be told to fail: after `budget` more allocations
 * (growths included) every one fails, until budget is set below 0. */
typedef struct failing_alloc {
    long budget; /* < 0: never fail */
    long failures;
} failing_alloc;

static void *alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize)
{
    failing_alloc *fa = ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (nsize > osize && fa->budget >= 0) {
        if (fa->budget == 0) {
            fa->failures++;
            return NULL;
        }
        fa->budget--;
    }
    return realloc(ptr, nsize);
}

static failing_alloc fa;

static lua_State *new_state(void)
{
    fa.budget = -1;
    fa.failures = 0;
    lua_State *L = lua_newstate(alloc_fn, &fa);
    luaL_openlibs(L);
    lua_pushcfunction(L, sl_open_cmsgpack);
    lua_call(L, 0, 1);
    lua_setglobal(L, "cmsgpack");
    lua_pushcfunction(L, sl_open_struct);
    lua_call(L, 0, 0);
    /* x(s): s in hex. */
    int rc = luaL_dostring(L, "function x(s) return (s:gsub('.', function(c) "
                              "return string.format('%02x', c:byte()) end)) end "
                              "function h(s) return (s:gsub('..', function(c) "
                              "return string.char(tonumber(c, 16)) end)) end");
    assert_int_equal(rc, 0);
    return L;
}

static int setup(void **state)
{
    *state = new_state();
    return 0;
}

static int teardown(void **state)
{
    lua_close(*state);
    return 0;
}

/* ---- Helpers ---- */

/* Run chunk; its one result as a string (an error's message if it fails,
 * prefixed "ERR ", without the chunk's position). Returns a static
 * buffer. */
static const char *run(lua_State *L, const char *chunk)
{
    static char out[8192];
    int rc = luaL_loadstring(L, chunk);
    if (rc == 0)
        rc = lua_pcall(L, 0, 1, 0);
    size_t n = 0;
    const char *s = lua_tolstring(L, -1, &n);
    const char *pos = rc && s ? strstr(s, "]:1: ") : NULL;
    if (pos && !strncmp(s, "[string ", 8)) {
        n -= (size_t)(pos + 5 - s);
        s = pos + 5;
    }
    snprintf(out, sizeof out, "%s%.*s", rc ? "ERR " : "", (int)(s ? n : 0), s ? s : "");
    lua_pop(L, 1);
    return out;
}

static void expect(lua_State *L, const char *chunk, const char *want)
{
    const char *got = run(L, chunk);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "%s\n  want %s\n  got  %s\n", chunk, want, got);
    assert_string_equal(got, want);
}

/* ---- Tests ---- */

/* Values encode as the MessagePack specification's smallest form. */
static void test_pack_vectors(void **state)
{
    lua_State *L = *state;
    static const char *const v[][2] = {
        {"0", "00"}, {"127", "7f"}, {"128", "cc80"}, {"256", "cd0100"},
        {"65536", "ce00010000"}, {"2^32", "cf0000000100000000"}, {"-1", "ff"},
        {"-32", "e0"}, {"-33", "d0df"}, {"-129", "d1ff7f"}, {"-32769", "d2ffff7fff"},
        {"-2^31-1", "d3ffffffff7fffffff"}, {"0.5", "ca3f000000"},
        {"0.1", "cb3fb999999999999a"}, {"1/0", "ca7f800000"}, {"2^63", "ca5f000000"},
        {"true", "c3"}, {"false", "c2"}, {"nil", "c0"}, {"print", "c0"}, {"''", "a0"},
        {"'abc'", "a3616263"}, {"string.rep('a', 32):sub(1, 32)", "d920" "6161616161616161"
                                                                "6161616161616161"
                                                                "6161616161616161"
                                                                "6161616161616161"},
        {"{}", "90"}, {"{1, 2}", "920102"}, {"{a = 1}", "81a16101"},
        {"{[2] = 1}", "810201"}, {"{1, nil, 3}", "8201010303"}, {"{[0] = 1}", "810001"},
        {"1, 'a', {}", "01a16190"}};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        char chunk[256];
        snprintf(chunk, sizeof chunk, "return x(cmsgpack.pack(%s))", v[i][0]);
        expect(L, chunk, v[i][1]);
    }
    /* Header widths of strings, arrays and maps. */
    expect(L, "return x(cmsgpack.pack(string.rep('a', 256))):sub(1, 6)", "da0100");
    expect(L, "return x(cmsgpack.pack(string.rep('a', 65536))):sub(1, 10)", "db00010000");
    expect(L, "local t = {} for i = 1, 16 do t[i] = 0 end return x(cmsgpack.pack(t)):sub(1, 6)",
           "dc0010");
    expect(L, "local t = {} for i = 1, 65536 do t[i] = 0 end return x(cmsgpack.pack(t)):sub(1, 10)",
           "dd00010000");
    expect(L, "local t = {} for i = 1, 16 do t[-i] = 0 end return x(cmsgpack.pack(t)):sub(1, 6)",
           "de0010");
    expect(L, "local t = {} for i = 1, 65536 do t[-i] = 0 end return x(cmsgpack.pack(t)):sub(1, 10)",
           "df00010000");
    /* A table 16 levels down (the outermost is level 0) is nil. */
    expect(L, "local t = 1 for i = 1, 16 do t = {t} end return x(cmsgpack.pack(t))",
           "9191919191919191" "9191919191919191" "01");
    expect(L, "local t = 1 for i = 1, 17 do t = {t} end return x(cmsgpack.pack(t))",
           "9191919191919191" "9191919191919191" "c0");
}

/* Every strict prefix of a valid encoding is "Missing bytes in input."
 * (never a read past the end), the whole decodes, and unpack_one walks a
 * stream value by value to offset -1. */
static void test_truncations(void **state)
{
    lua_State *L = *state;
    static const char *const enc[] = {
        "cc80", "cd0100", "ce00010000", "cfffffffffffffffff", "d0df", "d1ff7f", "d2ffff7fff",
        "d38000000000000000", "ca3f000000", "cb3fb999999999999a", "a3616263", "d903616263",
        "da0003616263", "db00000003616263", "920102", "dc0002c2c3", "dd00000001c0",
        "81a16101", "de0001a16101", "df00000001a16191a0", "92919301c0c3c2"};
    for (size_t i = 0; i < sizeof enc / sizeof *enc; i++) {
        size_t bytes = strlen(enc[i]) / 2;
        for (size_t cut = 1; cut < bytes; cut++) {
            char chunk[256];
            snprintf(chunk, sizeof chunk, "return cmsgpack.unpack(h('%.*s'))", (int)(cut * 2),
                     enc[i]);
            expect(L, chunk, "ERR Missing bytes in input.");
        }
        char chunk[256];
        snprintf(chunk, sizeof chunk, "return x(cmsgpack.pack(cmsgpack.unpack(h('%s'))))",
                 enc[i]);
        const char *got = run(L, chunk);
        assert_true(strncmp(got, "ERR", 3) != 0);
    }
    expect(L,
           "local s, o, v, r = cmsgpack.pack(1, 'b', {2}, true, -0.5), 0, nil, '' "
           "repeat o, v = cmsgpack.unpack_one(s, o) r = r .. o .. ',' until o == -1 return r",
           "1,3,5,6,-1,");
}

/* Random values survive pack then unpack (numbers bit for bit, strings
 * byte for byte, arrays and maps element by element). */
static void test_random_roundtrips(void **state)
{
    lua_State *L = *state;
    expect(L,
           "math.randomseed(7) "
           "local function val(depth) local k = math.random(1, depth < 3 and 7 or 4) "
           "  if k == 1 then return math.random(-2^31, 2^31) * 2^math.random(0, 31) "
           "  elseif k == 2 then return (math.random() - 0.5) * 10^math.random(-30, 30) "
           "  elseif k == 3 then local s = {} for i = 1, math.random(0, 300) do "
           "    s[i] = string.char(math.random(0, 255)) end return table.concat(s) "
           "  elseif k == 4 then return math.random(0, 1) == 1 "
           "  elseif k == 5 then local t = {} for i = 1, math.random(0, 20) do t[i] = val(depth + 1) end return t "
           "  else local t = {} for i = 1, math.random(0, 20) do t['k' .. math.random(1, 50)] = val(depth + 1) end return t end end "
           "local function same(a, b) if type(a) ~= type(b) then return false end "
           "  if type(a) ~= 'table' then return a == b end "
           "  for k, v in pairs(a) do if not same(v, b[k]) then return false end end "
           "  for k in pairs(b) do if a[k] == nil then return false end end return true end "
           "for i = 1, 2000 do local v = val(0) local u = cmsgpack.unpack(cmsgpack.pack(v)) "
           "  if not same(v, u) then return 'differs at ' .. i end end return 'ok'",
           "ok");
}

/* struct packs every option as the format language says, and unpacks it
 * back with the next position. */
static void test_struct_vectors(void **state)
{
    lua_State *L = *state;
    expect(L, "return x(struct.pack('>bBhHiIlLT', -1, 1, -2, 2, -3, 3, -4, 4, 5))",
           "ff01fffe0002fffffffd00000003fffffffffffffffc00000000000000040000000000000005");
    expect(L, "return x(struct.pack('<i3I5', -2, 2^32))", "feffff0000000001");
    expect(L, "return x(struct.pack('!4bibd', 1, 2, 3, 4))",
           "010000000200000003000000" "0000000000001040");
    expect(L, "return x(struct.pack('>fdxc2s', 1.5, -2, 'ab', 'cd'))",
           "3fc00000c00000000000000000616263640" "0");
    expect(L, "return table.concat({struct.unpack('>bc0hs', h('02616200076400'))}, ',')",
           "ab,7,d,8");
    expect(L, "return struct.size('!8bdc3i')", "24");
    expect(L, "return table.concat({struct.unpack('<i9', string.rep(h('ff'), 9))}, ',')", "-1,10");
    expect(L, "return struct.size('s')", "ERR bad argument #1 to 'size' (option 's' has no fixed size)");
    expect(L, "return struct.unpack('b', '', 1)", "ERR bad argument #2 to 'unpack' (data string too short)");
}

/* Allocation failing anywhere inside pack, unpack or struct.pack raises a
 * Lua error (never a crash), leaks nothing (ASan checks at exit), and the
 * state works afterwards. */
static void test_allocation_failure(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        "return cmsgpack.pack({string.rep('a', 70000), {1, 2, {b = string.rep('c', 300)}}}, 1.5)",
        "return cmsgpack.unpack(h('93a3616263') .. cmsgpack.pack({k = {1, 2, 3}, j = string.rep('x', 9000)}))",
        "return struct.pack('>ic0s', 5, string.rep('y', 20000), 'zz')",
    };
    lua_State *L = new_state();
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        long failed = 0;
        for (long budget = 0; budget < 300; budget++) {
            fa.failures = 0;
            fa.budget = budget;
            const char *got = run(L, chunks[c]);
            fa.budget = -1;
            if (fa.failures) {
                failed++;
                assert_true(strncmp(got, "ERR", 3) == 0);
            }
            /* The state still works. */
            expect(L, "return x(cmsgpack.pack({1, 'a'}))", "9201a161");
        }
        assert_true(failed > 0);
    }
    lua_close(L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pack_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_roundtrips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_struct_vectors, setup, teardown),
        cmocka_unit_test(test_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
