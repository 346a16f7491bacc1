#!/usr/bin/env python3
"""Writes scripting_libs.txt: the cmsgpack and struct libraries scripts see
(Redis's deps/lua/src/lua_cmsgpack.c and lua_struct.c), EVAL by EVAL:
every MessagePack type and width the encoder picks (fixint, uint/int
8/16/32/64, float 32/64, fixstr/str 8/16/32, fixarray/array 16/32,
fixmap/map 16/32, nil, booleans), array-or-map detection, the nesting
limit, round trips, hand-made input of every type code, truncated and
malformed input, unpack_one/unpack_limit offsets and limits, the Lua
stack limits, argument errors; struct's formats (endianness, alignment,
every integer width, floats, strings) and errors; the libraries inside
the sandbox and in FUNCTION libraries; RESP2 and RESP3.
Deterministic: rerun after editing, commit the output.
Usage: python3 tests/integration/diff/gen_scripting_libs.py"""
import os
import random
import struct as pystruct

HERE = os.path.dirname(os.path.abspath(__file__))

# Helpers every script may use: x(s) hex of s, h(s) bytes of hex s, d(v) a
# canonical text of any value (tables with sorted keys, numbers %.17g,
# strings hex), so replies stay printable and floats keep their bits.
PRE = (
    "local function x(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end "
    "local function h(s) return (s:gsub('..', function(c) return string.char(tonumber(c, 16)) end)) end "
    "local function d(v) local t = type(v) "
    "if t == 'table' then local ks = {} for k in pairs(v) do ks[#ks + 1] = k end "
    "table.sort(ks, function(a, b) return d(a) < d(b) end) local o = {} "
    "for _, k in ipairs(ks) do o[#o + 1] = d(k) .. '=' .. d(v[k]) end "
    "return '{' .. table.concat(o, ',') .. '}' "
    "elseif t == 'number' then return string.format('%.17g', v) "
    "elseif t == 'string' then return 's:' .. x(v) else return tostring(v) end end "
)


def ev(code, nkeys=0, *args):
    assert '"' not in code and "\\" not in code, code
    line = 'eval "%s%s" %d' % (PRE, code, nkeys)
    for a in args:
        line += " " + a
    return line


def pack_lines(w):
    w("# ---- pack: integers, one width boundary at a time ----")
    ints = ["0", "1", "127", "128", "255", "256", "65535", "65536", "2^32-1", "2^32",
            "2^53", "2^62", "-1", "-31", "-32", "-33", "-127", "-128", "-129", "-32767",
            "-32768", "-32769", "-2^31+1", "-2^31", "-2^31-1", "-2^53", "-2^63",
            "-0.0", "3.0", "1e15"]
    for n in ints:
        w(ev("return x(cmsgpack.pack(%s))" % n))
    w("# ---- pack: floats (float 32 when exact, else float 64) and beyond int64 ----")
    floats = ["0.5", "-0.5", "1.5", "0.1", "-0.1", "1/3", "1e300", "-1e300", "1e-300",
              "1/0", "-1/0", "0/0", "2^63", "-2^63-2^11", "2^64", "2^100", "3.4028234663852886e38",
              "3.4028235677973366e38", "1.401298464324817e-45", "2^-149", "2^-150", "16777217.5",
              "123456.75", "-2^40-0.5"]
    for n in floats:
        w(ev("return x(cmsgpack.pack(%s))" % n))
    w("# ---- pack: strings of each header width ----")
    for n in [0, 1, 5, 31, 32, 33, 255, 256, 65535, 65536, 70000]:
        w(ev("local p = cmsgpack.pack(string.rep('a', %d)) return {x(p:sub(1, 6)), #p}" % n))
    w(ev("return x(cmsgpack.pack(h('00ff0a0d')))"))
    w(ev("local s = '' for i = 0, 255 do s = s .. string.char(i) end return x(cmsgpack.pack(s):sub(1, 8))"))
    w("# ---- pack: booleans, nil, values with no MessagePack type ----")
    for v in ["true", "false", "nil", "print", "function() end", "coroutine.create(function() end)",
              "redis.call", "true, false, nil, 1", "nil, nil"]:
        w(ev("return x(cmsgpack.pack(%s))" % v))
    w(ev("return x(cmsgpack.pack())"))
    w(ev("return cmsgpack.pack()"))
    w(ev("return x(cmsgpack.pack(1, 'a', {2}, {b=3}, 0.25, -7))"))
    w(ev("return x(cmsgpack.pack('12', 12, '1.5'))"))


def table_lines(w):
    w("# ---- pack: array or map ----")
    tables = ["{}", "{1}", "{1, 2, 3}", "{'a', 'b'}", "{1, nil, 3}", "{nil, 2}", "{[2] = 1}",
              "{[0] = 1}", "{[-1] = 1}", "{[1.5] = 1}", "{['1'] = 1}", "{[1] = 'a', ['2'] = 'b'}",
              "{1, 2, x = 3}", "{a = 1}", "{a = 1, b = 2}", "{[true] = 1}", "{[2147483647] = 1}",
              "{[2147483648] = 1}", "{[1] = 1, [2] = 2, [4] = 4}", "{[1] = 1, [2] = 2, [3.0] = 3}",
              "{{}}", "{{{}}}", "{{1, 2}, {a = {b = {}}}}", "{a = {1, 2, {c = true}}}",
              "{[{}] = 1}", "{[{1}] = {2}}", "{f = print}", "{print}", "{true, false}",
              "{1.5, -1.5, 2^40}", "{[1] = 1, [1.0] = 2}"]
    for t in tables:
        w(ev("return x(cmsgpack.pack(%s))" % t))
    w(ev("local t = {} for i = 1, 10 do t['k' .. i] = i end return x(cmsgpack.pack(t))"))
    w(ev("local t = {} for i = 1, 10 do t[i] = i end t[5] = nil return x(cmsgpack.pack(t))"))
    w(ev("local t = {1, 2, 3} t[3] = nil return x(cmsgpack.pack(t))"))
    w(ev("local t = setmetatable({1, 2}, {__index = function() return 9 end}) return x(cmsgpack.pack(t))"))
    w(ev("local t = setmetatable({}, {__index = {1, 2}}) return x(cmsgpack.pack(t))"))
    w("# ---- array and map headers: fix, 16 and 32 ----")
    for n in [14, 15, 16, 17, 255, 65535, 65536, 70000]:
        w(ev("local t = {} for i = 1, %d do t[i] = i %% 100 end local p = cmsgpack.pack(t) "
             "return {x(p:sub(1, 8)), #p}" % n))
    for n in [1, 14, 15, 16, 17, 65535, 65536]:
        w(ev("local t = {} for i = 1, %d do t['k' .. i] = true end local p = cmsgpack.pack(t) "
             "return {x(p:sub(1, 5)), #p}" % n))
    w("# ---- the nesting limit: a table at level 16 is nil ----")
    for depth in [14, 15, 16, 17, 20]:
        w(ev("local t = 1 for i = 1, %d do t = {t} end return x(cmsgpack.pack(t))" % depth))
        w(ev("local t = 1 for i = 1, %d do t = {a = t} end return x(cmsgpack.pack(t))" % depth))
    w(ev("local t = 1 for i = 1, 15 do t = {t} end return x(cmsgpack.pack(1, t, t))"))
    w(ev("local t = {} t.t = t return x(cmsgpack.pack(t))"))
    w(ev("local t = {} t[1] = t return x(cmsgpack.pack(t))"))
    w(ev("local t = {} t[t] = 1 return #cmsgpack.pack(t)"))


def roundtrip_lines(w):
    w("# ---- round trips ----")
    vals = ["0", "1", "-1", "127", "128", "-32", "-33", "255", "256", "-128", "-129", "65535",
            "65536", "-32768", "-32769", "2^32-1", "2^32", "-2^31", "-2^31-1", "2^53", "-2^53",
            "-2^63", "0.5", "0.1", "-0.1", "1e300", "1/0", "-1/0", "2^63", "2^64", "1/3",
            "'hello'", "''", "string.rep('x', 40)", "string.rep('y', 300)", "string.rep('z', 70000)",
            "h('00ff80')", "true", "false", "{}", "{1, 2, 3}", "{a = 1, b = {c = {d = 'e'}}}",
            "{1, {2, {3, {4}}}}", "{[1] = 'a', [3] = 'c'}", "{[-5] = -5, [0] = 0}",
            "{[1.5] = 'f', [true] = false}", "{x = {}, y = {{}}}", "{'a', {b = 'c'}, 3.25}",
            "{[2^40] = 1}", "{[{1}] = 'tk'}"]
    for v in vals:
        w(ev("return d(cmsgpack.unpack(cmsgpack.pack(%s)))" % v))
    w(ev("return d({cmsgpack.unpack(cmsgpack.pack(1, 'two', {3}, nil, true, 0.5))})"))
    w(ev("return {cmsgpack.unpack(cmsgpack.pack(1, 2, 3))}"))
    w(ev("local t = {} for i = 1, 300 do t[i] = i * 7 - 1000 end local u = cmsgpack.unpack(cmsgpack.pack(t)) "
         "for i = 1, 300 do if u[i] ~= t[i] then return i end end return #u"))
    w(ev("local t = {} for i = 1, 100 do t['k' .. i] = {i, tostring(i)} end "
         "return d(cmsgpack.unpack(cmsgpack.pack(t))) == d(t)"))
    w(ev("local s = '' for i = 0, 255 do s = s .. string.char(i) end return cmsgpack.unpack(cmsgpack.pack(s)) == s"))
    w("# ---- replies built from unpacked values ----")
    w(ev("return cmsgpack.unpack(cmsgpack.pack({1, 'a', true, false, {2, 3}}))"))
    w(ev("return cmsgpack.unpack(cmsgpack.pack(1.75))"))
    w(ev("return cmsgpack.unpack(cmsgpack.pack('str'))"))
    w(ev("return cmsgpack.unpack(cmsgpack.pack(true))"))
    w(ev("return cmsgpack.unpack(cmsgpack.pack(false))"))
    w(ev("return {cmsgpack.unpack(cmsgpack.pack(nil))}"))
    w(ev("return {cmsgpack.unpack(cmsgpack.pack(nil, 5))}"))
    w(ev("return cmsgpack.unpack(cmsgpack.pack({ok = 'fine'}))"))
    w(ev("return cmsgpack.unpack(cmsgpack.pack({err = 'MY failure'}))"))
    w(ev("return cmsgpack.unpack(cmsgpack.pack({double = '1.5'}))"))


def decode_lines(w):
    w("# ---- unpack of hand-made input: every type code ----")
    good = ["00", "7f", "ff", "e0", "cc00", "ccff", "cd0000", "cdffff", "ce00000000", "ceffffffff",
            "cf0000000000000000", "cf7fffffffffffffff", "cf8000000000000000", "cfffffffffffffffff",
            "d07f", "d080", "d0ff", "d17fff", "d18000", "d1ffff", "d27fffffff", "d280000000",
            "d2ffffffff", "d37fffffffffffffff", "d38000000000000000", "d3ffffffffffffffff",
            "c0", "c2", "c3", "ca3fc00000", "ca7f800000", "caff800000", "ca7fc00000", "ca00000001",
            "ca80000000", "cb3fb999999999999a", "cb7ff0000000000000", "cbfff8000000000000",
            "cb8000000000000000", "cb0000000000000001", "a0", "a3616263", "bf" + "61" * 31,
            "d900", "d90461626364", "da0000", "da0002ffee", "db00000000", "db00000003414243",
            "90", "9101", "9f" + "01" * 15, "dc0000", "dc000201c0", "dd00000000", "dd0000000102",
            "80", "810102", "8fa0" + "00" * 1, "de0000", "de0001a16101", "df00000000",
            "df00000001a16291c3", "92c0c0", "93c001c0", "82c2c3c3c2", "8101c0", "81a0c0"]
    for g in good:
        w(ev("return d({cmsgpack.unpack(h('%s'))})" % g))
    w(ev("return d({cmsgpack.unpack(h('01a161c2c3c092010281a16102'))})"))
    w(ev("return d({cmsgpack.unpack('')})"))
    w(ev("return d({cmsgpack.unpack(123)})"))
    w(ev("return d({cmsgpack.unpack(1.5)})"))
    w("# ---- truncated input: Missing bytes ----")
    for g in ["cc", "cd00", "ce000000", "cf00000000000000", "d0", "d100", "d2000000",
              "d300000000000000", "ca000000", "cb00000000000000", "a1", "a56162", "bf",
              "d9", "d905616263", "da", "da00", "da0003", "db", "db000000", "db00000004616263",
              "dbffffffff", "91", "9201", "dc", "dc00", "dc0001", "dd", "dd000000", "ddffffffff",
              "81", "8101", "de", "de0001", "de000101", "df", "df000000", "dfffffffff",
              "93010203c0cc", "01cc"]:
        w(ev("return d({cmsgpack.unpack(h('%s'))})" % g))
    w("# ---- formats the library does not know: Bad data format ----")
    for g in ["c1", "c400", "c50000", "c6000000", "c7000100", "c800000100", "c9000000000100",
              "d40000", "d5000000", "d6" + "00" * 5, "d7" + "00" * 9, "d8" + "00" * 17,
              "01c1", "91c1", "81c101", "8101c1"]:
        w(ev("return d({cmsgpack.unpack(h('%s'))})" % g))
    w("# ---- keys Lua refuses ----")
    w(ev("return d({cmsgpack.unpack(h('81c0c0'))})"))
    w(ev("return d({cmsgpack.unpack(h('81cbfff8000000000000c0'))})"))
    w(ev("return d({cmsgpack.unpack(h('8101c0'))})"))
    w(ev("return d({cmsgpack.unpack(h('820101'))})"))


def offset_lines(w):
    w("# ---- unpack_one and unpack_limit ----")
    stream = "cmsgpack.pack(1, 'two', {3, 4}, {k = 'v'}, nil, true, 2.5)"
    w(ev("local s = %s local r, o, v = {}, 0 repeat o, v = cmsgpack.unpack_one(s, o) "
         "r[#r + 1] = o r[#r + 1] = d(v) until o == -1 return r" % stream))
    w(ev("local s = %s local r, o = {}, 0 repeat local t = {cmsgpack.unpack_limit(s, 2, o)} o = t[1] "
         "r[#r + 1] = d(t) until o == -1 return r" % stream))
    for off in ["0", "1", "2", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
                "17", "18", "19", "20", "-1", "-2^40", "2^40", "2^63", "1.9", "'3'", "nil", "'x'", "{}",
                "true"]:
        w(ev("local s = %s return d({cmsgpack.unpack_one(s, %s)})" % (stream, off)))
    for lim, off in [("0", "0"), ("0", "nil"), ("0", "1"), ("0", "19"), ("0", "20"), ("1", "0"),
                     ("2", "0"), ("3", "1"), ("7", "0"), ("8", "0"), ("100", "0"), ("100", "5"),
                     ("-1", "0"), ("-1", "4"), ("1", "-1"), ("2^31", "0"), ("1.5", "0"), ("'2'", "1"),
                     ("nil", "0"), ("'x'", "0"), ("{}", "0"), ("1", "'y'"), ("1", "100"), ("1", "20"),
                     ("1", "21")]:
        w(ev("local s = %s return d({cmsgpack.unpack_limit(s, %s, %s)})" % (stream, lim, off)))
    w(ev("return d({cmsgpack.unpack_limit(h('010203'), 2, 0, 'extra', 'args')})"))
    w(ev("return d({cmsgpack.unpack_one(h('010203'), 1, 'extra')})"))
    w(ev("return d({cmsgpack.unpack(h('010203'), 'ignored')})"))
    w(ev("return d({cmsgpack.unpack_one('')})"))
    w(ev("return d({cmsgpack.unpack_limit('', 5)})"))
    w(ev("return d({cmsgpack.unpack_limit('', 0)})"))
    w(ev("return d({cmsgpack.unpack_one(h('cd01'), 0)})"))
    w(ev("return d({cmsgpack.unpack_one(h('01cd01'), 1)})"))
    w(ev("return d({cmsgpack.unpack_one(h('01c1'), 0)})"))
    w(ev("return d({cmsgpack.unpack_one(h('01c1'), 1)})"))
    w(ev("return d({cmsgpack.unpack_one(h('a3616263'), 1)})"))
    w("# ---- argument errors ----")
    for call in ["cmsgpack.unpack()", "cmsgpack.unpack(nil)", "cmsgpack.unpack({})",
                 "cmsgpack.unpack(true)", "cmsgpack.unpack_one()", "cmsgpack.unpack_one({})",
                 "cmsgpack.unpack_limit()", "cmsgpack.unpack_limit('a')", "cmsgpack.unpack_limit(nil, 1)",
                 "cmsgpack.unpack_limit({}, 1)"]:
        w(ev("return d({%s})" % call))
    w(ev("return d({pcall(cmsgpack.unpack, h('cd01'))})"))
    w(ev("return d({pcall(cmsgpack.pack)})"))
    w(ev("local ok, e = pcall(cmsgpack.unpack_one, 'x', 9) return e"))


def stack_lines(w):
    w("# ---- the Lua stack limits (LUAI_MAXCSTACK 8000) ----")
    for n in [7998, 7999, 8000, 9000]:
        w(ev("return #{cmsgpack.unpack(string.rep(h('01'), %d))}" % n))
    for n in [7996, 7997, 7998]:
        w(ev("return #{cmsgpack.unpack_limit(string.rep(h('01'), 9000), %d)}" % n))
        w(ev("return #{cmsgpack.unpack_limit(string.rep(h('01'), 9000), %d, 1)}" % n))
    for n in [3998, 3999, 4000, 4001, 5000]:
        w(ev("local t = {} for i = 1, %d do t[i] = i end return #cmsgpack.pack(unpack(t))" % n))
    for n in [3998, 3999, 4000, 5000]:
        w(ev("return type(cmsgpack.unpack(string.rep(h('91'), %d) .. h('c0')))" % n))
        w(ev("return type(cmsgpack.unpack(string.rep(h('8101'), %d) .. h('c0')))" % n))
    w(ev("return type(cmsgpack.unpack(string.rep(h('dc0001'), 3999) .. h('c0')))"))
    w(ev("return type(cmsgpack.unpack(string.rep(h('df0000000101'), 3999) .. h('c0')))"))


def struct_lines(w):
    w("# ---- struct.pack: every integer option, both byte orders ----")
    cases = [("b", ["0", "1", "-1", "127", "-128", "128", "255", "256", "-129"]),
             ("B", ["0", "255", "256", "-1"]),
             ("h", ["0", "-1", "32767", "-32768", "32768", "65535", "65536"]),
             ("H", ["0", "65535", "65536", "-1"]),
             ("l", ["0", "-1", "2^31", "-2^31", "2^53", "-2^53", "2^62", "-2^63"]),
             ("L", ["0", "2^32", "2^53", "2^63", "2^63+2^11", "2^64-2^11", "2^64", "2^70", "-1",
                    "-2^63", "-2^64", "0/0", "1/0", "-1/0", "1.9", "-1.9", "0.5"]),
             ("T", ["0", "1", "2^40", "-1"]),
             ("i", ["0", "-1", "2^31-1", "-2^31", "2^31", "2^32", "2^40+5"]),
             ("I", ["0", "2^32-1", "2^32", "-1"]),
             ("i1", ["-1", "127"]), ("i2", ["-2", "300"]), ("i3", ["-3", "2^23", "2^24-1"]),
             ("I3", ["2^24-1", "2^24"]), ("i5", ["-5", "2^39"]), ("i7", ["-7"]), ("I8", ["2^63"]),
             ("i8", ["-8", "2^62"]), ("i9", ["-9", "2^63"]), ("I12", ["12", "-12"]),
             ("i16", ["-16", "2^62"]), ("i32", ["-32", "2^50"]), ("i0", ["5"]), ("I0", ["-5"])]
    for opt, vals in cases:
        for e in [">", "<"]:
            w(ev("return {%s}" % ", ".join(
                "x(struct.pack('%s%s', %s))" % (e, opt, v) for v in vals)))
    w("# ---- struct.pack: floats, strings, padding, alignment ----")
    for f in ["'>f', 1.5", "'<f', 1.5", "'>f', 0.1", "'>f', 1e40", "'>f', -1e40", "'>f', 1/0",
              "'>f', 0/0", "'>f', -0.0", "'>d', 0.1", "'<d', 0.1", "'>d', -1/0", "'>d', 2^-1074",
              "'=d', 1", "'>fd', 2, 3", "'f', '1.25'"]:
        w(ev("return x(struct.pack(%s))" % f))
    for f in ["'c', 'abc'", "'c2', 'abc'", "'c3', 'abc'", "'c4', 'abc'", "'c0', 'abc'", "'c0', ''",
              "'c0c0', 'ab', 'cd'", "'s', 'abc'", "'s', ''", "'s', h('610062')", "'c0s', 'x', 'y'",
              "'c1', 12", "'s', 3.5", "'c', {}", "'s'", "'c10'", "'c0', nil",
              "'x'", "'xxx'", "'bxb', 1, 2", "' b b ', 1, 2", "'>b<h', 1, 2", "'<h>h', 1, 2"]:
        w(ev("return x(struct.pack(%s))" % f))
    for f in ["'!bi', 1, 2", "'!4bi', 1, 2", "'!2bi', 1, 2", "'!1bi', 1, 2", "'!8bd', 1, 2",
              "'!4bd', 1, 2", "'!bh', 1, 2", "'!bl', 1, 2", "'!16bl', 1, 2", "'!bT', 1, 2",
              "'!bf', 1, 2", "'!bc3', 1, 'abc'", "'!bs', 1, 'ab'", "'!bsi', 1, 'ab', 3",
              "'!bi3', 1, 2", "'!bi3i3', 1, 2, 3", "'!bi6', 1, 2", "'!bxh', 1, 2",
              "'!4bi!1bi', 1, 2, 3, 4", "'b!4i', 1, 2", "'!4>bi', 1, -2", "'!4<bi', 1, -2",
              "'bi!', 1, 2", "'!0b', 1", "'!3b', 1", "'!6b', 1", "'!64b', 1",
              "'!99999999999b', 1"]:
        w(ev("return x(struct.pack(%s))" % f))
    w("# ---- struct.pack: errors ----")
    for f in ["", "nil", "{}", "'z'", "'b?'", "'i', 'x'", "'i'", "'ii', 1", "'iii', 1",
              "'i', {}", "'i', nil", "'d', 'x'", "'f'", "'i33', 1", "'i99999999999', 1",
              "'c99999999999', 'a'", "'b', 1, 'extra', {}", "'c3', 'ab'", "'bc3', 1, 'ab'",
              "'c', nil", "'s', nil", "'s', {}", "'%', 1", "'i10X', 1", "'\\0'"]:
        if "\\" in f:
            continue
        w(ev("return x(struct.pack(%s))" % f))
    w(ev("return x(struct.pack(string.char(200), 1))"))
    w(ev("return x(struct.pack('b' .. string.char(0) .. 'z', 1))"))
    w(ev("return x(struct.pack(12, 1))"))
    w("# ---- struct.unpack ----")
    for f in ["'>bBhHlLTiI', h('fffffffefffefffffffffffffffd00000000000000030000000000000004fffffffb00000005')",
              "'<bBhHlLTiI', h('fffffefffefffdffffffffffffff03000000000000000400000000000000fbffffff05000000')",
              "'>i3I3', h('800000800000')", "'<i3I3', h('ffffffffffff')", "'>i5', h('ff00000001')",
              "'>i8', h('8000000000000000')", "'>I8', h('ffffffffffffffff')",
              "'<i9', string.rep(h('ff'), 9)", "'<I9', string.rep(h('ff'), 9)",
              "'<i12', string.rep(h('01'), 12)", "'>i12', string.rep(h('80'), 12)",
              "'>i16', h('80') .. string.rep(h('00'), 15)",
              "'>i16', string.rep(h('00'), 8) .. h('80') .. string.rep(h('00'), 7)",
              "'>I16', string.rep(h('ff'), 16)", "'<i32', string.rep(h('fe'), 32)",
              "'i0', 'abc'", "'I0I0', ''", "'>f', h('3fc00000')", "'<f', h('0000c03f')",
              "'>f', h('7fc00000')", "'>d', h('3fb999999999999a')", "'<d', h('9a9999999999b93f')",
              "'>d', h('fff0000000000000')", "'>fd', h('3f800000') .. h('4000000000000000')",
              "'c', 'abc'", "'c2', 'abc'", "'c3', 'abc'", "'c4', 'abc'", "'c0', 'abc'",
              "'bc0', h('0361626364')", "'bc0', h('0561626364')", "'bc0b', h('02616209')",
              "'>hc0', h('0002') .. 'xyz'", "'c1c0', '3abcd'", "'c1c0', 'xabcd'", "'c1c0', '-1abc'",
              "'bxc0', h('02ff6162')", "'c0c0', 'ab'",
              "'s', 'abc'", "'s', h('61626300')", "'ss', h('6100626300')", "'sb', h('610007')",
              "'s', h('00')", "'s', ''",
              "'x', 'a'", "'xb', 'ab'", "'xx', 'a'", "' b b ', 'ab'", "'>b<h>h', h('01020003000400')",
              "'!4bi', h('01000000ffffffff')", "'!4bi', h('01000000ffffff')", "'!2bi', h('0100ffffffff')",
              "'!bd', h('01') .. string.rep(h('00'), 7) .. h('000000000000f03f')", "'!bi3', h('0100020000')",
              "'!0b', 'a'", "'!5b', 'a'", "'z', 'a'", "'b?', 'ab'", "'i33', 'a'",
              "'b', 'abc', 1", "'b', 'abc', 2", "'b', 'abc', 3", "'b', 'abc', 4", "'b', 'abc', 0",
              "'b', 'abc', -1", "'b', 'abc', 2^53", "'b', 'abc', '2'", "'b', 'abc', 'x'",
              "'b', 'abc', 1.9", "'bb', 'abc', 2", "'!4bi', h('0000000100000002'), 2",
              "'s', h('616200636400'), 4", "'c0', 'abc', 2", "'i', 'ab'", "'b'", "nil, 'a'",
              "'b', nil", "'b', {}", "12, 'abc'", "'b', 12"]:
        w(ev("return d({struct.unpack(%s)})" % f))
    w(ev("local s = struct.pack('>bhiLc3sd', -1, 2, -3, 4, 'abc', 'zz', 0.1) return d({struct.unpack('>bhiLc3sd', s)})"))
    w(ev("local s = struct.pack('<!4bhiLc3sd', -1, 2, -3, 4, 'abc', 'zz', 0.1) return d({struct.unpack('<!4bhiLc3sd', s)})"))
    w(ev("local s = struct.pack('>Hc0', 5, 'hello') return d({struct.unpack('>Hc0', s)})"))
    w(ev("local t = {} for i = 1, 100 do t[i] = i end local s = struct.pack(string.rep('b', 100), unpack(t)) "
         "return #{struct.unpack(string.rep('b', 100), s)}"))
    w(ev("return #{struct.unpack(string.rep('x', 9000), string.rep('a', 9000))}"))
    w(ev("return #{struct.unpack(string.rep('b', 3997), string.rep('a', 3997))}"))
    w(ev("return #{struct.unpack(string.rep('b', 7997), string.rep('a', 7997))}"))
    w(ev("return #{struct.unpack(string.rep('b', 7998), string.rep('a', 7998))}"))
    w(ev("return #{struct.unpack(string.rep('b', 8100), string.rep('a', 8100))}"))
    w("# ---- struct.size ----")
    for f in ["''", "'b'", "'B'", "'h'", "'H'", "'l'", "'L'", "'T'", "'i'", "'I'", "'f'", "'d'",
              "'x'", "'c'", "'c7'", "'i3'", "'I16'", "'i0'", "'bhilTfdxc5'", "'!bhilTfdxc5'",
              "'!2bi'", "'!4bi'", "'!bd'", "'!4bd'", "'!bi3'", "'!bxh'", "'>b<h'", "' b '",
              "'zzz'", "'bqb'", "'s'", "'c0'", "'bs'", "'i33'", "'!3'", "'!0'", "'?'", "'b?'", "'%'",
              "'i99999999999'", "nil", "{}", "12", "'!'", "'!1i'", "'c99999'"]:
        w(ev("return d({struct.size(%s)})" % f))
    w(ev("return struct.size(string.char(200))"))


def sandbox_lines(w):
    w("# ---- the libraries in the sandbox ----")
    for code in ["cmsgpack.x = 1", "struct.x = 1", "cmsgpack.pack = nil", "struct.pack = nil",
                 "cmsgpack = nil", "struct = {}", "rawset(cmsgpack, 'x', 1)",
                 "rawset(struct, 'pack', 1)", "setmetatable(cmsgpack, {})", "setmetatable(struct, nil)",
                 "return type(cmsgpack_safe)", "return type(cmsgpack)", "return type(struct)",
                 "return {type(cmsgpack.pack), type(cmsgpack.unpack), type(cmsgpack.unpack_one), type(cmsgpack.unpack_limit)}",
                 "return {type(struct.pack), type(struct.unpack), type(struct.size)}",
                 "return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}",
                 "return {struct._NAME, struct._VERSION, cmsgpack.nosuch, struct.nosuch}",
                 "local m = cmsgpack return x(m.pack(1))", "local p = struct.pack return x(p('b', 1))",
                 "local t = {} for k in pairs(cmsgpack) do t[#t + 1] = k end return t",
                 "local t = {} for k in pairs(struct) do t[#t + 1] = k end return t",
                 "local r = {} for _, l in ipairs({string, math, table, coroutine, bit, cjson, "
                 "cmsgpack, struct, redis}) do local t = {} for k in pairs(l) do t[#t + 1] = k end "
                 "table.sort(t) r[#r + 1] = table.concat(t, ',') end return r",
                 "return {type(next(cmsgpack)), type(next(struct, 'pack')), next({})}",
                 "return {type(rawget(cmsgpack, 'pack')), type(rawget(struct, 'size')), "
                 "rawget(cmsgpack, 'nosuch')}",
                 "return {type(getmetatable(cmsgpack)), type(getmetatable(struct)), "
                 "type(getmetatable(cjson)), type(getmetatable(redis)), type(getmetatable(_G))}",
                 "for k in pairs(cmsgpack) do cmsgpack[k] = 1 end",
                 "return pairs(nil)", "return next(nil)", "return rawget(nil, 1)",
                 "return getmetatable()",
                 "return getmetatable(setmetatable({}, {__metatable = 'locked'}))",
                 "getmetatable('').x = 1 return 1", "getmetatable('').__index.upper = nil return 1",
                 "getmetatable('').__index = {} return 1", "rawset(getmetatable(''), 'x', 1)",
                 "setmetatable(getmetatable(''), {})",
                 "return {getmetatable('').__index == string, getmetatable('') == getmetatable('x'), "
                 "type(getmetatable(getmetatable('')))}",
                 "local s = 'hello' return {s:len(), s:sub(2, 3), #s, s:byte(1), s:upper(), ('%d'):format(5)}",
                 "return ('x'):nosuch()",
                 "return loadstring('return x')", "return x(loadstring('return cmsgpack.pack(7)')())",
                 "return loadstring('return struct.size(\\'i\\')')"]:
        if "\\" in code:
            continue
        w(ev(code))
    w("# ---- packed values through the keyspace ----")
    w(ev("return redis.call('set', KEYS[1], cmsgpack.pack({1, 'a', {b = 2}}))", 1, "mp1"))
    w("GET mp1")
    w("STRLEN mp1")
    w(ev("return d(cmsgpack.unpack(redis.call('get', KEYS[1])))", 1, "mp1"))
    w(ev("return redis.call('set', KEYS[1], struct.pack('>I4c0', 7, ARGV[1]))", 1, "st1", "payload"))
    w("GET st1")
    w(ev("return {struct.unpack('>I4c0', redis.call('get', KEYS[1]))}", 1, "st1"))
    w(ev("redis.call('hset', KEYS[1], 'f', cmsgpack.pack(ARGV[1], tonumber(ARGV[2]))) "
         "return d({cmsgpack.unpack(redis.call('hget', KEYS[1], 'f'))})", 1, "mph", "v", "-300"))
    w("HGET mph f")
    w(ev("return d({cmsgpack.unpack(ARGV[1])})", 0, '"\\x93\\x01\\xa1a\\xc3"'))
    w(ev("return d({cmsgpack.unpack(ARGV[1])})", 0, '"\\xcd\\x01"'))
    w(ev("return d({struct.unpack('<i2', ARGV[1])})", 0, '"\\xfe\\xff"'))
    w("# ---- in FUNCTION libraries: at run time yes, at load time no ----")
    w('FUNCTION LOAD "#!lua name=mplib\\nredis.register_function(\'mpf\', function(keys, args) '
      'return {cmsgpack.unpack(args[1])} end)\\nredis.register_function(\'stf\', function(keys, args) '
      'return struct.pack(\'>I2\', tonumber(args[1])) end)"')
    w('FCALL mpf 0 "\\x93\\x01\\x02\\xa2hi"')
    w("FCALL stf 0 258")
    w('FCALL mpf 0 "\\xc1"')
    w('FUNCTION LOAD "#!lua name=mplib2\\nlocal p = cmsgpack.pack(1)\\n'
      'redis.register_function(\'g\', function() return p end)"')
    w('FUNCTION LOAD "#!lua name=stlib2\\nlocal p = struct.size(\'i\')\\n'
      'redis.register_function(\'g2\', function() return p end)"')
    w("FUNCTION DELETE mplib")


def rand_msgpack(rnd, depth=0):
    """Hex of one random MessagePack value, any type code (ints in any
    width, not only the smallest)."""
    k = rnd.randrange(14 if depth < 3 else 10)
    if k == 0:
        return "%02x" % rnd.randrange(0, 0x80)
    if k == 1:
        return "%02x" % rnd.randrange(0xe0, 0x100)
    if k == 2:
        code, n = rnd.choice([(0xcc, 1), (0xcd, 2), (0xce, 4), (0xcf, 8),
                              (0xd0, 1), (0xd1, 2), (0xd2, 4), (0xd3, 8)])
        return "%02x" % code + "".join("%02x" % rnd.randrange(256) for _ in range(n))
    if k == 3:
        return rnd.choice(["c0", "c2", "c3"])
    if k == 4:
        f = rnd.choice([0.0, -0.0, 1.5, 0.1, 1e38, -3.25, float("inf"), 65504.0])
        return "ca" + pystruct.pack(">f", f).hex()
    if k == 5:
        f = rnd.choice([0.1, -1e300, 2.0 ** 70, 1 / 3, float("-inf"), 123456789.125, 2.0 ** 63])
        return "cb" + pystruct.pack(">d", f).hex()
    if k == 6:
        n = rnd.randrange(0, 32)
        return "%02x" % (0xa0 | n) + "".join("%02x" % rnd.randrange(256) for _ in range(n))
    if k in (7, 8, 9):
        n = rnd.randrange(0, 40)
        body = "".join("%02x" % rnd.randrange(256) for _ in range(n))
        hdr = {7: "d9%02x" % n, 8: "da%04x" % n, 9: "db%08x" % n}[k]
        return hdr + body
    n = rnd.randrange(0, 6)
    if k in (10, 11):
        hdr = rnd.choice(["%02x" % (0x90 | n), "dc%04x" % n, "dd%08x" % n])
        return hdr + "".join(rand_msgpack(rnd, depth + 1) for _ in range(n))
    hdr = rnd.choice(["%02x" % (0x80 | n), "de%04x" % n, "df%08x" % n])
    # keys: never nil (Lua refuses them; the fixed cases cover that)
    keys = []
    for _ in range(n):
        key = rand_msgpack(rnd, depth + 1)
        while key == "c0" or key.startswith("cb7ff8") or key.startswith("cbfff8"):
            key = rand_msgpack(rnd, depth + 1)
        keys.append(key)
    return hdr + "".join(key + rand_msgpack(rnd, depth + 1) for key in keys)


def rand_lua_value(rnd, depth=0):
    k = rnd.randrange(9 if depth < 3 else 6)
    if k == 0:
        return str(rnd.choice([0, 1, -1, 127, 128, -33, 255, 65536, -2 ** 31, 2 ** 40, -2 ** 53]))
    if k == 1:
        return rnd.choice(["0.5", "-0.25", "0.1", "1e100", "2^63", "-2^70", "1/3"])
    if k == 2:
        return "'%s'" % "".join(rnd.choice("abcxyz019 ") for _ in range(rnd.randrange(0, 40)))
    if k == 3:
        return "string.rep('q', %d)" % rnd.choice([31, 32, 255, 256, 65535, 65536])
    if k == 4:
        return rnd.choice(["true", "false", "nil"])
    if k == 5:
        return "{}"
    items = []
    for _ in range(rnd.randrange(0, 6)):
        v = rand_lua_value(rnd, depth + 1)
        kk = rnd.randrange(4)
        if kk == 0:
            items.append(v)
        elif kk == 1:
            items.append("k%d = %s" % (rnd.randrange(9), v))
        elif kk == 2:
            items.append("[%s] = %s" % (rnd.choice(["1", "2", "3", "0", "-1", "1.5", "true", "'1'"]), v))
        else:
            items.append("[%d] = %s" % (rnd.randrange(1, 9), v))
    return "{" + ", ".join(items) + "}"


def random_lines(w):
    """Seeded random cases: hand-made MessagePack of every code (some cut
    short or with a byte changed), random tables to pack, random struct
    formats over random data."""
    rnd = random.Random(13)
    w("# ---- random MessagePack input (valid, truncated, one byte changed) ----")
    for i in range(120):
        n = rnd.randrange(1, 4)
        hx = "".join(rand_msgpack(rnd) for _ in range(n))
        m = rnd.randrange(4)
        if m == 1 and len(hx) > 2:
            hx = hx[: 2 * rnd.randrange(1, len(hx) // 2)]
        elif m == 2:
            at = rnd.randrange(len(hx) // 2)
            hx = hx[: 2 * at] + "%02x" % rnd.randrange(256) + hx[2 * at + 2:]
        if len(hx) > 900:
            hx = hx[:900]
        w(ev("return d({cmsgpack.unpack(h('%s'))})" % hx))
    w("# ---- random values to pack ----")
    for i in range(80):
        args = ", ".join(rand_lua_value(rnd) for _ in range(rnd.randrange(1, 4)))
        w(ev("return x(cmsgpack.pack(%s))" % args))
    w("# ---- random struct formats ----")
    opts = ["b", "B", "h", "H", "l", "L", "T", "i", "I", "i3", "I5", "i12", "f", "d", "x",
            "c2", "c0", "s", "<", ">", "!", "!2", "!4", " "]
    for i in range(60):
        fmt = "".join(rnd.choice(opts) for _ in range(rnd.randrange(1, 7)))
        data = "".join("%02x" % rnd.choice([0, 1, 2, 3, 0x41, 0x7f, 0x80, 0xff, rnd.randrange(256)])
                       for _ in range(rnd.randrange(0, 40)))
        w(ev("return d({struct.unpack('%s', h('%s'))})" % (fmt, data)))
    vals = ["1", "-1", "300", "'ab'", "'123'", "2^40", "-0.5", "'zz'", "7", "2^63"]
    for i in range(40):
        fmt = "".join(rnd.choice(opts) for _ in range(rnd.randrange(1, 6)))
        args = ", ".join(rnd.choice(vals) for _ in range(rnd.randrange(0, 6)))
        w(ev("return x(struct.pack('%s'%s))" % (fmt, ", " + args if args else "")))
        w(ev("return d({struct.size('%s')})" % fmt))


# tests/unit/scripting.tcl's cmsgpack cases (facts from Redis's suite,
# double quotes made single), run as EVAL and as a function body.
TCL_CASES = [
    "local encoded = cmsgpack.pack(0.1) local h = '' for i = 1, #encoded do "
    "h = h .. string.format('%02x', string.byte(encoded, i)) end return h",
    "local encoded = cmsgpack.pack(-1099511627776) local h = '' for i = 1, #encoded do "
    "h = h .. string.format('%02x', string.byte(encoded, i)) end return h",
    "local a = {x = nil, y = 5} local b = {x = a} a['x'] = b local encoded = cmsgpack.pack(a) "
    "local h = '' for i = 1, #encoded do h = h .. string.format('%02x', string.byte(encoded, i)) end "
    "local re = cmsgpack.unpack(encoded) assert(re) assert(re.x) assert(re.x.x.y == re.y) "
    "assert(re.x.x.x.x.y == re.y) assert(re.x.x.x.x.x.x.y == re.y) "
    "assert(re.x.x.x.x.x.x.x.x.x.x.y == re.y) assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.y == re.y) "
    "assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x) assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x == nil) "
    "return {h, re.x.x.x.x.x.x.x.x.y == re.y, re.y == 5}",
    "cmsgpack.pack = function() return 1 end",
    "struct.pack = function() return 1 end",
    "local s = {} local big = {} for i = 1, 100000 do big[i] = i end local m = {} "
    "for i = 1, 1000 do m[tostring(i)] = i end "
    "local v = {a = string.rep('x', 30), b = string.rep('x', 250), c = string.rep('x', 65530), "
    "d = string.rep('x', 100000), e = {1, 2, 3, 4, 5}, f = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}, "
    "g = big, h = {a = 1, b = 2}, i = m} "
    "local u = cmsgpack.unpack(cmsgpack.pack(v)) "
    "for k, x in pairs(v) do if type(x) == 'table' then for kk, xx in pairs(x) do "
    "assert(u[k][kk] == xx, k .. '.' .. kk) end else assert(u[k] == x, k) end end return 'OK'",
]


def tcl_lines(w):
    w("# ---- tests/unit/scripting.tcl's cmsgpack cases, as EVAL and as a function ----")
    for body in TCL_CASES:
        w(ev(body))
    for body in TCL_CASES:
        assert '"' not in body and "\\" not in body
        w('FUNCTION LOAD REPLACE "#!lua name=test\\nredis.register_function(\'test\', '
          'function(KEYS, ARGV)\\n %s \\nend)"' % body)
        w("FCALL test 0")
    w("FUNCTION DELETE test")


def main():
    out = ["# cmsgpack and struct inside scripts against redis-server. Generated by",
           "# gen_scripting_libs.py; every script starts with the helpers x (hex of a",
           "# string), h (bytes of hex) and d (canonical text of any value).", "", "FUNCTION FLUSH"]
    w = out.append
    pack_lines(w)
    table_lines(w)
    roundtrip_lines(w)
    decode_lines(w)
    offset_lines(w)
    stack_lines(w)
    struct_lines(w)
    sandbox_lines(w)
    tcl_lines(w)
    random_lines(w)
    w("# ---- RESP3: the same values as RESP3 replies ----")
    w("@resp 3")
    w(ev("return cmsgpack.unpack(cmsgpack.pack({1, 'a', true, false, {2, 3}}))"))
    w(ev("return cmsgpack.unpack(cmsgpack.pack(true))"))
    w(ev("return cmsgpack.unpack(cmsgpack.pack(false))"))
    w(ev("return {cmsgpack.unpack(h('c2c3c0'))}"))
    w(ev("return cmsgpack.unpack(h('81a36d6170c3'))"))
    w(ev("return cmsgpack.unpack(cmsgpack.pack({double = '2.5'}))"))
    w(ev("return {cmsgpack.unpack_one(h('c3c2'), 1)}"))
    w(ev("return {struct.unpack('>bd', h('ff3ff8000000000000'))}"))
    w(ev("return x(cmsgpack.pack({a = true}, false))"))
    w(ev("return d({cmsgpack.unpack(h('cd01'))})"))
    w(ev("return struct.pack('i33', 1)"))
    w(ev("return struct.unpack('b', '')"))
    w(ev("redis.setresp(3) return cmsgpack.unpack(cmsgpack.pack(redis.call('hgetall', KEYS[1])))", 1, "mph"))
    w(ev("redis.setresp(3) return x(cmsgpack.pack(redis.call('hgetall', KEYS[1])))", 1, "mph"))
    w("@resp 2")
    w("FUNCTION FLUSH")
    w("SCRIPT FLUSH")
    with open(os.path.join(HERE, "scripting_libs.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
