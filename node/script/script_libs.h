/* script_libs.h — the Lua libraries kvnode writes itself for scripts, as
 * Redis 7.0 bundles them: cmsgpack (script_msgpack.c) and struct
 * (script_struct.c). They depend on nothing but the Lua 5.1 C API, so the
 * unit tests and fuzzers open them in a bare lua_State; the scripting
 * engine opens them inside its sandbox (script_lua.c). */
#ifndef KV_SCRIPT_LIBS_H
#define KV_SCRIPT_LIBS_H

#include <lua.h>

/* lua_CFunctions: each leaves its library table on the stack and returns 1.
 * sl_open_struct also sets the global "struct" (luaL_register);
 * sl_open_cmsgpack sets no global (the caller names it). The cmsgpack
 * pack buffer belongs to L and is freed by lua_close. */
int sl_open_cmsgpack(lua_State *L);
int sl_open_struct(lua_State *L);

#endif
