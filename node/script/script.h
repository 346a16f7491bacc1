/* script.h — Lua scripting and functions, as Redis 7.0 has them (EVAL,
 * EVALSHA, their _RO forms, SCRIPT, FUNCTION, FCALL, FCALL_RO).
 *
 * Layering: this library sits between commands/ and server/. It sees the
 * data commands' world (cmd.h: cmd_ctx, kv_command, the reply encoder) and
 * reaches the command dispatcher, which lives in server/, only through the
 * script_host callbacks the server fills in (as replication reaches the
 * server through repl_host). The server links it and lists its command
 * table; nothing here includes server.h (the build makes that an error).
 *
 * Durability: a script's effects are the effects of the commands it calls
 * (Redis 7's effects replication): the host runs each of them into the WAL
 * entry the caller's request is building, so all of a script's writes form
 * one entry, applied whole on replay and on replicas, as a MULTI/EXEC
 * block. The script itself is never logged, so a script that draws random
 * numbers or reads the clock replays to the same state. The EVAL script
 * cache is not durable (as in Redis).
 *
 * Function libraries are durable: their code lives in the keyspace's aux
 * records ("fn:<library>", ks_aux_*), so snapshots carry it, and FUNCTION
 * LOAD / DELETE / FLUSH / RESTORE are write commands logged as their argv
 * (replayed by the same procs). The functions' Lua interpreter is derived
 * state: rebuilt from the aux records whenever they changed under it (a
 * snapshot load, DEBUG RELOAD, a replica's full resync).
 *
 * Long scripts: a script runs as a Lua coroutine. Once it has run past
 * busy-reply-threshold it yields (from its instruction-count hook) and is
 * parked: the caller's request stays open, the event loop turns, other
 * clients get -BUSY except for SCRIPT KILL / FUNCTION KILL / FUNCTION
 * STATS / SHUTDOWN and a few connection commands, and the host resumes the
 * script (script_resume) on every loop iteration until it ends. Nothing
 * else touches the keyspace meanwhile, so the script stays atomic. A
 * script cannot yield while a C function (pcall, a library callback) is
 * between it and its base: it then goes on until the next chance. */
#ifndef KV_SCRIPT_H
#define KV_SCRIPT_H

#include "cmd.h"

#include <stddef.h>
#include <stdint.h>

/* How the scripting engine reaches the command dispatcher (server/).
 * Every callback runs on the loop thread. */
struct script_ldb_io;

typedef struct script_host {
    void *arg;
    /* The command argv names: a container's subcommand when argv[0] is a
     * container and argc > 1, the container itself when argc == 1; NULL if
     * there is none (an unknown command or subcommand). */
    const kv_command *(*lookup)(void *arg, int argc, const char *const *argv,
                                const size_t *lens);
    /* Why the node refuses a write now, as the full error with its code
     * ("READONLY You can't write …", "MISCONF …", "NOREPLICAS …"), or
     * NULL. buf is scratch space for a formatted message. */
    const char *(*write_refusal)(void *arg, cmd_ctx *caller, char *buf, size_t len);
    /* Run cmd for the script called by `caller`, its reply into out in
     * protocol resp. Its effects join the WAL entry being built unless
     * propagate is 0 (redis.set_repl(redis.REPL_NONE)). */
    void (*exec)(void *arg, cmd_ctx *caller, const kv_command *cmd, int argc,
                 const char *const *argv, const size_t *lens, kbuf *out, int resp,
                 int propagate);
    /* After how many ms a script called by caller may be parked
     * (busy-reply-threshold), or -1 if it must run to completion (inside
     * EXEC, on a replica applying its primary's stream, while replaying). */
    long long (*busy_ms)(void *arg, cmd_ctx *caller);
    /* The node was over maxmemory, with nothing left to evict, when the
     * command of caller started (Redis's pre_command_oom_state): a script
     * that has not written yet may not run a deny-oom command. */
    int (*oom)(void *arg, cmd_ctx *caller);
    /* The script's call of cmd (NULL: unknown) was refused with err (its
     * code after a '-', else ERR): counted as Redis counts a rejected
     * call (rejected_calls, errorstats). */
    void (*rejected)(void *arg, const kv_command *cmd, const char *err, size_t len);
    /* May the user of caller's client run cmd with these arguments (ACLs)?
     * NULL, or why not ("can't run this command or subcommand", Redis's
     * getAclErrorMessage); log: a denial goes to the ACL log (redis.call,
     * not redis.acl_check_cmd). */
    const char *(*acl_denied)(void *arg, cmd_ctx *caller, const kv_command *cmd, int argc,
                              const char *const *argv, const size_t *lens, int log);
    /* SCRIPT DEBUG: is caller's client in debug mode (YES or SYNC), so
     * that its EVAL opens a debugging session? */
    int (*ldb_wanted)(void *arg, cmd_ctx *caller);
    /* Open the session for caller's EVAL: fill io with the blocking
     * channel to its client and return 1 to run the script here (SYNC, or
     * the child of YES's fork); 0 when it must not run here (the parent
     * of the fork, which gives the client up, or a failed fork, whose
     * error is replied). */
    int (*ldb_start)(void *arg, cmd_ctx *caller, struct script_ldb_io *io);
    /* The session ended (its last logs are sent); the EVAL's reply is in
     * caller's output. A forked child writes it and exits here; SYNC
     * closes the client after it. */
    void (*ldb_end)(void *arg, cmd_ctx *caller);
} script_host;

/* ---- SCRIPT DEBUG (the Lua debugger, script_ldb.c) ---- */
/* The session's channel to the debugging client: blocking, on its
 * socket, bypassing its reply buffer. */
typedef struct script_ldb_io {
    void *arg;
    /* Up to n bytes into buf: how many, or <= 0 when the client is gone. */
    long (*read)(void *arg, char *buf, size_t n);
    /* All of buf, or as much as goes within the send timeout. */
    void (*write)(void *arg, const char *buf, size_t n);
} script_ldb_io;
/* A session is open (a script is being debugged). */
int script_ldb_active(void);

/* Create the process's scripting engine (two Lua interpreters: EVAL's and
 * the functions'). Called once by the server before any command runs. */
void script_init(const script_host *host);
/* DEBUG SET-DISABLE-DENY-SCRIPTS: 1 lets scripts call noscript commands
 * (Redis's script_disable_deny_script, for tests of DEBUG PROTOCOL). */
void script_set_deny_disabled(int on);
void script_shutdown(void);

/* EVAL/EVALSHA/FCALL (and _RO) take their WRITE/DENYOOM/STALE flags from
 * the script's shebang or the function's flags, as Redis's
 * evalGetCommandFlags / fcallGetCommandFlags: returns cmd's flags adjusted
 * (unchanged for any other command). */
uint32_t script_command_flags(const kv_command *cmd, int argc, const char *const *argv,
                              const size_t *lens);
/* Is cmd one of the script-running commands (EVAL…, FCALL…)? */
int script_is_script_command(const kv_command *cmd);

/* ---- parked scripts ---- */
/* A script is parked (the server answers -BUSY). */
int script_busy(void);
/* … and it is an EVAL (not an FCALL): which -BUSY text. */
int script_busy_is_eval(void);
/* Run the parked script for one slice. Returns 1 when it has ended (its
 * reply is in its caller's output: the host completes the request), 0 if
 * it parked again. */
int script_resume(void);
/* The parked script's client is gone: its reply goes nowhere. */
void script_detach_caller(void);

/* INFO memory / COMMAND figures. */
typedef struct script_stats {
    size_t lua_memory;       /* EVAL interpreter (bytes) */
    size_t functions_memory; /* functions interpreter (bytes) */
    size_t scripts;          /* cached EVAL scripts */
    size_t scripts_memory;   /* their bodies (bytes) */
    size_t functions, libraries;
    size_t functions_code;   /* the libraries' code (bytes) */
} script_stats;
void script_get_stats(script_stats *st);
/* Append the function libraries held in k (database 0's aux records) to an
 * RDB file being built (rdb_file_function), in name order. */
void script_functions_rdb(const ks *k, kbuf *out);

/* The command table (commands.c lists it). */
extern const kv_command cmds_script[];

#endif
