/* script.h — Lua scripting and functions, as Redis 7.0 has them (EVAL,
 * EVALSHA, SCRIPT, FUNCTION, FCALL and their _RO forms).
 *
 * Layering: this library sits between commands/ and server/. It sees the
 * data commands' world (cmd.h: cmd_ctx, kv_command, the reply encoder) and
 * reaches the command dispatcher, which lives in server/, only through the
 * script_host callbacks the server fills in (as replication reaches the
 * server through repl_host). The server links it and lists its command
 * tables; nothing here may include server.h (the build makes that an error).
 *
 * Durability: a script's effects are the effects of the commands it calls;
 * the host runs them into the WAL entry the caller's request is building,
 * so all of a script's writes form one entry (as a MULTI/EXEC block), and a
 * script that reads the clock or draws random members is replayed by its
 * effects, never re-run. Function libraries are durable: FUNCTION LOAD,
 * DELETE, FLUSH and RESTORE log their effect (FUNCTION LOAD REPLACE <code>
 * per library, FUNCTION FLUSH, FUNCTION DELETE <name>) and the libraries'
 * code lives in the keyspace's aux records (ks_aux_*), so snapshots carry
 * it; the Lua side is rebuilt from there whenever it changes under us
 * (a snapshot load, DEBUG RELOAD, a replica's resync).
 *
 * Long scripts: a script runs on its own stack (a fiber) so that after
 * busy-reply-threshold ms it can be parked while the event loop turns
 * (other clients get BUSY, SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE
 * are served) and resumed, as Redis processes events from its Lua hook. */
#ifndef KV_SCRIPT_H
#define KV_SCRIPT_H

#include "cmd.h"

#include <stddef.h>
#include <stdint.h>

typedef struct script_engine script_engine;

/* How the scripting engine reaches the command dispatcher (server/). Every
 * callback runs on the loop thread. */
typedef struct script_host {
    void *arg;
    /* The command argv names (a subcommand when argv[0] is a container and
     * argc > 1), or NULL if there is none. */
    const kv_command *(*lookup)(void *arg, int argc, const char *const *argv,
                                const size_t *lens);
    /* Why the node refuses a command with these flags now (READONLY,
     * MISCONF, NOREPLICAS …, as the dispatcher would answer it), or NULL. */
    const char *(*refusal)(void *arg, uint32_t flags, char *buf, size_t len);
    /* Run cmd on behalf of the script whose caller is `caller` (the
     * caller's ctx), its reply into out in protocol resp. Its effects join
     * the entry being built (unless propagate is 0: redis.set_repl). */
    void (*exec)(void *arg, cmd_ctx *caller, const kv_command *cmd, int argc,
                 const char *const *argv, const size_t *lens, kbuf *out, int resp,
                 int propagate);
    /* The running script was parked (busy) or finished after having been
     * parked: the server switches BUSY replies on / off. */
    void (*busy_changed)(void *arg, int busy);
    /* Log verbosity threshold (redis.log drops what is below it). */
    int (*verbosity)(void *arg);
} script_host;

/* The engine: two Lua interpreters (EVAL's and the functions'), the script
 * cache and the function libraries. busy_ms is busy-reply-threshold. */
script_engine *script_new(const script_host *host, ks *k);
void script_free(script_engine *se);
void script_set_busy_threshold(script_engine *se, long long ms);

/* ---- running scripts ---- */
/* A script was parked and waits to be resumed (by script_resume). */
int script_parked(const script_engine *se);
/* A script is running or parked (its caller is in the middle of it). */
int script_running(const script_engine *se);
/* The parked script belongs to an EVAL (1) or an FCALL (0): which BUSY
 * text to answer. */
int script_is_eval(const script_engine *se);
/* Resume the parked script for one slice. Returns 1 when it has finished
 * (its reply is written to its caller's output: the host completes the
 * request), 0 if it parked again. */
int script_resume(script_engine *se);
/* The caller client of the running script (opaque), NULL if none. */
client *script_caller(const script_engine *se);
/* Stop the running script at its next instruction, whatever it wrote
 * (SHUTDOWN NOSAVE, a node that stopped leading): it ends with an error. */
void script_abort(script_engine *se);
/* The running script wrote something. */
int script_wrote(const script_engine *se);

/* ---- effective command flags (for the dispatcher's checks) ---- */
/* EVAL/EVALSHA/FCALL (and _RO) take their WRITE/DENYOOM/STALE flags from
 * the script's shebang or the function's flags, as Redis's
 * evalGetCommandFlags: returns cmd->flags adjusted. */
uint32_t script_command_flags(script_engine *se, const kv_command *cmd, int argc,
                              const char *const *argv, const size_t *lens);

/* ---- INFO ---- */
typedef struct script_stats {
    size_t lua_memory;        /* EVAL interpreter */
    size_t functions_memory;  /* functions interpreter */
    size_t scripts;           /* cached scripts */
    size_t scripts_memory;    /* their bodies */
    size_t functions, libraries;
} script_stats;
void script_get_stats(script_engine *se, script_stats *st);

/* Command tables (commands.c lists them). */
extern const kv_command cmds_script[];

/* The engine the command procs use (set by the server after script_new;
 * one per process). */
void script_set_current(script_engine *se);

#endif
