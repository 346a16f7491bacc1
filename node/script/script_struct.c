/* script_struct.c — the struct library Redis 7.0 gives scripts (Roberto
 * Ierusalimschy's struct 1.4 with Redis's overflow fixes, Redis's
 * deps/lua/src/lua_struct.c), written for kvnode because Debian ships no
 * Lua 5.1 build of it.
 *
 *   struct.pack(fmt, v1, …)   a binary string
 *   struct.unpack(fmt, s [, pos])   the values, then the next position
 *   struct.size(fmt)          the bytes fmt packs to
 *
 * The format language (x86-64 sizes):
 *   >  big endian       <  little endian (the default: native)
 *   ![n] max alignment n (a power of 2; bare ! is 8); starts at 1
 *   x  one pad byte     ' ' ignored
 *   b/B char (1)  h/H short (2)  l/L long (8)  T size_t (8)
 *   i[n]/I[n] signed/unsigned integer of n bytes (default 4, at most 32)
 *   c[n] n chars (default 1); packing, c0 is the whole string; unpacking,
 *        c0 takes its length from the value unpacked just before
 *   s  zero-terminated string     f float (4)     d double (8)
 * An item is aligned to min(its size, the max alignment), c and s never.
 * Integers are held in 64 bits: wider i/I fields keep the low 8 bytes, and
 * sign extension uses the mask ~0 << ((8n - 1) mod 64), which is what the
 * original's shift by 8n - 1 does on x86-64. Likewise a number outside
 * the 64-bit range packs as x86-64 converts it (see to_bits).
 *
 * Error texts, argument numbers (including the original's off-by-one in
 * "string too short") and stack use (luaL_Buffer, the nil that separates
 * the arguments from it) are the original's, so a script sees the same
 * messages as on Redis. Must never: read past the data string. */
#include "script_libs.h"

#include <lauxlib.h>

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#define ST_MAXINTSIZE 32
#define ST_MAXALIGN 8 /* of double, on x86-64 */

enum { ST_BIG, ST_LITTLE };

typedef struct st_header {
    int endian;
    int align;
} st_header;

static int st_native(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one ? ST_LITTLE : ST_BIG;
}

static void st_defaults(st_header *h)
{
    h->endian = st_native();
    h->align = 1;
}

/* The decimal number at *fmt (consumed), or df if there is none. */
static int getnum(lua_State *L, const char **fmt, int df)
{
    if (!isdigit((unsigned char)**fmt))
        return df;
    int a = 0;
    do {
        int d = **fmt - '0';
        if (a > INT_MAX / 10 || a * 10 > INT_MAX - d)
            luaL_error(L, "integral size overflow");
        a = a * 10 + d;
        (*fmt)++;
    } while (isdigit((unsigned char)**fmt));
    return a;
}

/* The size of option opt (consuming its number); 0 for the options that
 * take no room or need no alignment. */
static size_t optsize(lua_State *L, int opt, const char **fmt)
{
    switch (opt) {
    case 'B': case 'b': case 'x':
        return 1;
    case 'H': case 'h':
        return 2;
    case 'L': case 'l': case 'T': case 'd':
        return 8;
    case 'f':
        return 4;
    case 'c':
        return (size_t)getnum(L, fmt, 1);
    case 'i': case 'I': {
        int sz = getnum(L, fmt, 4);
        if (sz > ST_MAXINTSIZE)
            luaL_error(L, "integral size %d is larger than limit of %d", sz, ST_MAXINTSIZE);
        return (size_t)sz;
    }
    default:
        return 0;
    }
}

/* Padding before an item of this size at offset len. */
static int gettoalign(size_t len, const st_header *h, int opt, size_t size)
{
    if (size == 0 || opt == 'c')
        return 0;
    if (size > (size_t)h->align)
        size = (size_t)h->align;
    return (int)((size - (len & (size - 1))) & (size - 1));
}

/* The options that only change the header; anything else is an error. */
static void controloptions(lua_State *L, int opt, const char **fmt, st_header *h)
{
    switch (opt) {
    case ' ':
        return;
    case '>':
        h->endian = ST_BIG;
        return;
    case '<':
        h->endian = ST_LITTLE;
        return;
    case '!': {
        int a = getnum(L, fmt, ST_MAXALIGN);
        if (a <= 0 || (a & (a - 1)) != 0)
            luaL_error(L, "alignment %d is not a power of 2", a);
        h->align = a;
        return;
    }
    default:
        luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
    }
}

/* The 64 bits x86-64 makes of a Lua number: a negative one through long,
 * others through unsigned long (gcc's conversion: below 2^63 directly,
 * else n - 2^63 converted and its top bit flipped; an out-of-range or NaN
 * conversion gives 2^63). */
static uint64_t to_bits(lua_Number n)
{
    const uint64_t indefinite = (uint64_t)1 << 63;
    if (n < 0)
        return n >= -9223372036854775808.0 ? (uint64_t)(int64_t)n : indefinite;
    if (n != n)
        return indefinite;
    if (n < 9223372036854775808.0)
        return (uint64_t)(int64_t)n;
    if (n < 18446744073709551616.0)
        return (uint64_t)(int64_t)(n - 9223372036854775808.0) ^ indefinite;
    return 0; /* indefinite ^ indefinite */
}

static void putinteger(lua_State *L, luaL_Buffer *b, int arg, int endian, int size)
{
    uint64_t value = to_bits(luaL_checknumber(L, arg));
    char buff[ST_MAXINTSIZE];
    for (int i = 0; i < size; i++) {
        buff[endian == ST_LITTLE ? i : size - 1 - i] = (char)(value & 0xff);
        value >>= 8;
    }
    luaL_addlstring(b, buff, (size_t)size);
}

/* Reverse b in place unless endian is the machine's. */
static void correctbytes(char *b, int size, int endian)
{
    if (endian == st_native())
        return;
    for (int i = 0, j = size - 1; i < j; i++, j--) {
        char t = b[i];
        b[i] = b[j];
        b[j] = t;
    }
}

static int st_pack(lua_State *L)
{
    luaL_Buffer b;
    const char *fmt = luaL_checkstring(L, 1);
    st_header h;
    int arg = 2;
    size_t total = 0;
    st_defaults(&h);
    lua_pushnil(L); /* separates the arguments from the buffer */
    luaL_buffinit(L, &b);
    while (*fmt) {
        int opt = *fmt++;
        size_t size = optsize(L, opt, &fmt);
        int toalign = gettoalign(total, &h, opt, size);
        total += (size_t)toalign;
        while (toalign-- > 0)
            luaL_addchar(&b, '\0');
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i':
        case 'I':
            putinteger(L, &b, arg++, h.endian, (int)size);
            break;
        case 'x':
            luaL_addchar(&b, '\0');
            break;
        case 'f': {
            float f = (float)luaL_checknumber(L, arg++);
            correctbytes((char *)&f, 4, h.endian);
            luaL_addlstring(&b, (char *)&f, 4);
            break;
        }
        case 'd': {
            double d = luaL_checknumber(L, arg++);
            correctbytes((char *)&d, 8, h.endian);
            luaL_addlstring(&b, (char *)&d, 8);
            break;
        }
        case 'c': case 's': {
            size_t l;
            const char *s = luaL_checklstring(L, arg++, &l);
            if (size == 0)
                size = l;
            /* sic: arg has moved on, as in the original */
            luaL_argcheck(L, l >= size, arg, "string too short");
            luaL_addlstring(&b, s, size);
            if (opt == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
            break;
        }
        default:
            controloptions(L, opt, &fmt, &h);
        }
        total += size;
    }
    luaL_pushresult(&b);
    return 1;
}

/* The integer of size bytes at buff. */
static lua_Number getinteger(const char *buff, int endian, int issigned, int size)
{
    uint64_t l = 0;
    for (int i = 0; i < size; i++) {
        l <<= 8;
        l |= (unsigned char)buff[endian == ST_BIG ? i : size - 1 - i];
    }
    if (!issigned)
        return (lua_Number)l;
    uint64_t mask = ~(uint64_t)0 << ((unsigned)(size * 8 - 1) & 63);
    if (l & mask)
        l |= mask;
    return (lua_Number)(int64_t)l;
}

static int st_unpack(lua_State *L)
{
    st_header h;
    const char *fmt = luaL_checkstring(L, 1);
    size_t ld;
    const char *data = luaL_checklstring(L, 2, &ld);
    size_t pos = (size_t)luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, pos > 0, 3, "offset must be 1 or greater");
    pos--;
    int n = 0; /* results pushed */
    st_defaults(&h);
    while (*fmt) {
        int opt = *fmt++;
        size_t size = optsize(L, opt, &fmt);
        pos += (size_t)gettoalign(pos, &h, opt, size);
        luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i':
        case 'I':
            lua_pushnumber(L, getinteger(data + pos, h.endian, islower(opt), (int)size));
            n++;
            break;
        case 'x':
            break;
        case 'f': {
            float f;
            memcpy(&f, data + pos, 4);
            correctbytes((char *)&f, 4, h.endian);
            lua_pushnumber(L, f);
            n++;
            break;
        }
        case 'd': {
            double d;
            memcpy(&d, data + pos, 8);
            correctbytes((char *)&d, 8, h.endian);
            lua_pushnumber(L, d);
            n++;
            break;
        }
        case 'c':
            if (size == 0) {
                if (n == 0 || !lua_isnumber(L, -1))
                    luaL_error(L, "format 'c0' needs a previous size");
                size = (size_t)to_bits(lua_tonumber(L, -1));
                lua_pop(L, 1);
                n--;
                luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
            }
            lua_pushlstring(L, data + pos, size);
            n++;
            break;
        case 's': {
            const char *e = memchr(data + pos, '\0', ld - pos);
            if (!e)
                luaL_error(L, "unfinished string in data");
            size = (size_t)(e - (data + pos)) + 1;
            lua_pushlstring(L, data + pos, size - 1);
            n++;
            break;
        }
        default:
            controloptions(L, opt, &fmt, &h);
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)(pos + 1));
    return n + 1;
}

static int st_size(lua_State *L)
{
    st_header h;
    const char *fmt = luaL_checkstring(L, 1);
    size_t pos = 0;
    st_defaults(&h);
    while (*fmt) {
        int opt = *fmt++;
        size_t size = optsize(L, opt, &fmt);
        pos += (size_t)gettoalign(pos, &h, opt, size);
        if (opt == 's')
            luaL_argerror(L, 1, "option 's' has no fixed size");
        else if (opt == 'c' && size == 0)
            luaL_argerror(L, 1, "option 'c0' has no fixed size");
        /* Letters other than the options are ignored here (as Redis's). */
        if (!isalnum((unsigned char)opt))
            controloptions(L, opt, &fmt, &h);
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
}

int sl_open_struct(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"pack", st_pack}, {"unpack", st_unpack}, {"size", st_size}, {NULL, NULL}};
    luaL_register(L, "struct", fns);
    return 1;
}
