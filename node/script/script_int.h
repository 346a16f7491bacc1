/* script_int.h — what the scripting library's files share (never included
 * outside node/script/). */
#ifndef KV_SCRIPT_INT_H
#define KV_SCRIPT_INT_H

#include "script.h"
#include "script_libs.h"

#include <lua.h>

/* Script flags (shebang "flags=" and register_function's flags), Redis's
 * SCRIPT_FLAG_* bits. */
enum {
    SF_NO_WRITES = 1 << 0,
    SF_ALLOW_OOM = 1 << 1,
    SF_ALLOW_STALE = 1 << 2,
    SF_NO_CLUSTER = 1 << 3,
    SF_EVAL_COMPAT = 1 << 4, /* an EVAL script without a shebang */
    SF_ALLOW_CROSS_SLOT = 1 << 5,
};

/* Flag name -> bit; 0 if unknown. */
int sf_parse(const char *s, size_t n);
/* The names of the bits in flags, in Redis's order; returns the count. */
int sf_names(int flags, const char *out[8]);

/* One run of a script or function (Redis's scriptRunCtx). */
enum {
    RUN_READ_ONLY = 1 << 0,
    RUN_WRITE_DIRTY = 1 << 1,
    RUN_EVAL_MODE = 1 << 2,
    RUN_ALLOW_OOM = 1 << 3, /* shebang/function flag allow-oom */
};
typedef struct run_ctx {
    cmd_ctx *caller;
    const char *funcname; /* the sha (EVAL) or the function name */
    int flags;
    int resp;      /* the script's protocol (redis.setresp), 2 at start */
    int propagate; /* redis.set_repl: 0 after REPL_NONE */
    int64_t start_ms;  /* monotonic start */
    long long busy_ms; /* park after this long (-1: never) */
    int killed;        /* SCRIPT KILL / FUNCTION KILL asked */
} run_ctx;

/* A script that ran past busy-reply-threshold and was parked (a Lua
 * coroutine) while the event loop serves other clients; resumed by
 * script_resume. At most one. */
typedef struct parked {
    lua_State *L, *co;
    int ref;          /* the coroutine in L's registry */
    run_ctx rc;
    cmd_ctx caller;   /* a copy of the caller's ctx (its argv below) */
    char *funcname;
    int argc;
    char **argv;
    size_t *lens;
    kbuf detached;    /* the reply goes here once the caller is gone */
} parked;
extern parked *sc_parked;

/* The host and the current run (one engine per process). */
extern script_host sc_host;
extern run_ctx *sc_run;

/* The debugger (script_ldb.c). Sessions wrap an EVAL's run. */
void sl_ldb_begin(const script_ldb_io *io, const char *src, size_t len);
void sl_ldb_end(void);
/* Stepping in a session: redis.call logs its command and reply, errors
 * pushed to Lua are logged. */
int sl_ldb_logging(void);
void sl_ldb_log_call(int argc, const char *const *argv, const size_t *lens);
void sl_ldb_log_reply(const char *p, size_t n);
void sl_ldb_log_error(const char *s, size_t n);
/* The debugger's hook on the coroutine that runs the debugged script. */
void sl_ldb_install(lua_State *co);
/* redis.breakpoint() and redis.debug(). */
int sl_ldb_breakpoint(lua_State *L);
int sl_ldb_debug(lua_State *L);

/* Build an interpreter with Redis's libraries and sandbox (globals read-
 * only; reading a missing global is an error). funcs: the functions'
 * interpreter (no KEYS/ARGV; the "library API" globals while loading). */
lua_State *sl_new(int funcs);
void sl_free(lua_State *L);
/* Set KEYS and ARGV (EVAL mode) from argv. */
void sl_set_keys_argv(lua_State *L, const char *const *argv, const size_t *lens, int nkeys,
                      int nargs);
/* Push a Lua array of argv. */
void sl_push_array(lua_State *L, const char *const *argv, const size_t *lens, int n);
/* Switch the functions' interpreter between its load globals (only
 * redis.register_function, redis.log …) and its run globals. */
void sl_set_load_mode(lua_State *L, int loading);
/* Call the function at the top of the stack (under its nargs arguments)
 * for run rc and write its result or error to the caller's reply, as
 * Redis's luaCallFunction. Pops all of it. Returns 0, or 1 if the script
 * was parked (rc->caller->parked is set; sc_parked holds the run). */
int sl_call(lua_State *L, run_ctx *rc, int nargs);
/* Reply to r with a Redis-style error string: a leading '-' is dropped,
 * otherwise "ERR " is prefixed (Redis's addReplyErrorLength); CR/LF at the
 * ends are trimmed and inside become spaces. */
void sl_reply_error(reply *r, const char *s, size_t n);
/* Error table {err=…} from a "-CODE msg" or "msg" string, as Redis's
 * luaPushErrorBuff. */
void sl_push_error(lua_State *L, const char *s, size_t n);
/* The "library load" context: set while FUNCTION LOAD runs a library's
 * body (redis.register_function adds to it). */
typedef struct fn_load fn_load;
void sl_set_loading(lua_State *L, fn_load *ld);
/* Called by redis.register_function (script_func.c): 0 or -1 with the
 * error text in err. ref: the callback in the registry. */
int fn_register(fn_load *ld, const char *name, size_t nlen, const char *desc, size_t dlen,
                int flags, int ref, char *err, size_t errlen);
/* Interpreter memory in bytes. */
size_t sl_memory(lua_State *L);
/* Reseedable lrand48 (math.random), Redis's rand.c. */
int32_t sl_lrand48(void);
void sl_srand48(int32_t seed);

/* script_func.c */
void fn_init(void);
void fn_shutdown(void);
void fn_stats(script_stats *st);
uint32_t fn_command_flags(const char *name, size_t nlen, uint32_t flags);
/* script_eval.c */
void ev_init(void);
void ev_shutdown(void);
void ev_stats(script_stats *st);
uint32_t ev_command_flags(int sha, const char *arg, size_t n, uint32_t flags);
uint32_t sc_flags_to_cmd(uint32_t cmd_flags, int script_flags);
/* Redis's scriptPrepareForRun checks that are not the dispatcher's: a
 * write script through an _RO command. Replies and returns -1 on refusal. */
int sc_prepare(cmd_ctx *c, int script_flags, int ro, run_ctx *rc, const char *funcname);

#define SC_BUSY_EVAL "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
#define SC_BUSY_FUNCTION "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
/* SCRIPT KILL (is_eval) / FUNCTION KILL. */
void sc_kill(cmd_ctx *c, int is_eval);

/* Command procs (the table is in script.c). */
void sc_eval(cmd_ctx *c);
void sc_evalsha(cmd_ctx *c);
void sc_eval_ro(cmd_ctx *c);
void sc_evalsha_ro(cmd_ctx *c);
void sc_fcall(cmd_ctx *c);
void sc_fcall_ro(cmd_ctx *c);
void sc_script_exists(cmd_ctx *c);
void sc_script_flush(cmd_ctx *c);
void sc_script_load(cmd_ctx *c);
void sc_script_kill(cmd_ctx *c);
void sc_script_help(cmd_ctx *c);
void sc_function_load(cmd_ctx *c);
void sc_function_delete(cmd_ctx *c);
void sc_function_flush(cmd_ctx *c);
void sc_function_list(cmd_ctx *c);
void sc_function_dump(cmd_ctx *c);
void sc_function_restore(cmd_ctx *c);
void sc_function_stats(cmd_ctx *c);
void sc_function_kill(cmd_ctx *c);
void sc_function_help(cmd_ctx *c);
/* Redis's addReplyHelp: the typed command name upper-cased, then lines. */
void sc_reply_help(cmd_ctx *c, const char *const *lines, size_t n);

#endif
