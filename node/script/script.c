/* script.c — the scripting engine's entry points: initialisation, the
 * effective flags of a script command (Redis's evalGetCommandFlags /
 * fcallGetCommandFlags), the checks Redis's scriptPrepareForRun makes
 * beyond the dispatcher's, and the command table of EVAL…, SCRIPT,
 * FUNCTION and FCALL… (the SCRIPT and FUNCTION container entries are the
 * server's: it owns container dispatch). */
#include "script_int.h"

#include "mem.h"

#include <ctype.h>
#include <string.h>

static int initialized;

void script_init(const script_host *host)
{
    if (initialized)
        script_shutdown();
    initialized = 1;
    sc_host = *host;
    ev_init();
    fn_init();
}

void script_shutdown(void)
{
    if (!initialized)
        return;
    initialized = 0;
    ev_shutdown();
    fn_shutdown();
}

void script_get_stats(script_stats *st)
{
    memset(st, 0, sizeof *st);
    ev_stats(st);
    fn_stats(st);
}

/* ------------------------------------------------------------------------ */
/* Flags                                                                     */
/* ------------------------------------------------------------------------ */

uint32_t sc_flags_to_cmd(uint32_t cmd_flags, int script_flags)
{
    if (script_flags & SF_EVAL_COMPAT)
        return cmd_flags | CMD_READONLY; /* it touches data; its writes are checked each */
    cmd_flags &= ~(uint32_t)(CMD_STALE | CMD_DENYOOM | CMD_WRITE);
    if (!(script_flags & (SF_ALLOW_OOM | SF_NO_WRITES)))
        cmd_flags |= CMD_DENYOOM;
    if (!(script_flags & SF_NO_WRITES))
        cmd_flags |= CMD_WRITE;
    else
        cmd_flags |= CMD_READONLY;
    if (script_flags & SF_ALLOW_STALE)
        cmd_flags |= CMD_STALE;
    /* With flags it is known whether the script writes (Redis's
     * scriptFlagsToCmdFlags). */
    cmd_flags &= ~(uint32_t)CMD_MAY_REPLICATE;
    return cmd_flags;
}


int script_is_script_command(const kv_command *cmd)
{
    return cmd->proc == sc_eval || cmd->proc == sc_evalsha || cmd->proc == sc_eval_ro ||
           cmd->proc == sc_evalsha_ro || cmd->proc == sc_fcall || cmd->proc == sc_fcall_ro;
}

uint32_t script_command_flags(const kv_command *cmd, int argc, const char *const *argv,
                              const size_t *lens)
{
    if (!script_is_script_command(cmd) || argc < 2)
        return cmd->flags;
    if (cmd->proc == sc_fcall || cmd->proc == sc_fcall_ro)
        return fn_command_flags(argv[1], lens[1], cmd->flags);
    int sha = cmd->proc == sc_evalsha || cmd->proc == sc_evalsha_ro;
    return ev_command_flags(sha, argv[1], lens[1], cmd->flags);
}

int sc_prepare(cmd_ctx *c, int script_flags, int ro, run_ctx *rc, const char *funcname)
{
    memset(rc, 0, sizeof *rc);
    if (!(script_flags & SF_EVAL_COMPAT) && !(script_flags & SF_NO_WRITES) && ro) {
        reply_error(&c->r, "ERR Can not execute a script with write flag using *_ro command.");
        return -1;
    }
    rc->caller = c;
    rc->funcname = funcname;
    rc->resp = 2;
    rc->propagate = 1;
    rc->busy_ms = sc_host.busy_ms && !c->replay ? sc_host.busy_ms(sc_host.arg, c) : -1;
    if (ro || (!(script_flags & SF_EVAL_COMPAT) && (script_flags & SF_NO_WRITES)))
        rc->flags |= RUN_READ_ONLY;
    if (!(script_flags & SF_EVAL_COMPAT) && (script_flags & SF_ALLOW_OOM))
        rc->flags |= RUN_ALLOW_OOM;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The command table                                                         */
/* ------------------------------------------------------------------------ */


#define SCRIPTING "@slow @scripting"
#define NOBAR CMD_NOBARRIER

const kv_command cmds_script[] = {
    {"eval", sc_eval, -3, CMD_MAY_REPLICATE | CMD_STALE | CMD_NO_MANDATORY_KEYS | CMD_NOSCRIPT | CMD_SKIP_MONITOR, 0, 0, 0, "scripting", "Executes a server-side Lua script.",
     "2.6.0", SCRIPTING},
    {"evalsha", sc_evalsha, -3, CMD_MAY_REPLICATE | CMD_STALE | CMD_NO_MANDATORY_KEYS | CMD_NOSCRIPT | CMD_SKIP_MONITOR, 0, 0, 0, "scripting",
     "Executes a server-side Lua script by SHA1 digest.", "2.6.0", SCRIPTING},
    {"eval_ro", sc_eval_ro, -3, CMD_STALE | CMD_NO_MANDATORY_KEYS | CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_READONLY, 0, 0, 0, "scripting",
     "Executes a read-only server-side Lua script.", "7.0.0", SCRIPTING},
    {"evalsha_ro", sc_evalsha_ro, -3, CMD_STALE | CMD_NO_MANDATORY_KEYS | CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_READONLY, 0, 0, 0, "scripting",
     "Executes a read-only server-side Lua script by SHA1 digest.", "7.0.0", SCRIPTING},
    {"fcall", sc_fcall, -3, CMD_MAY_REPLICATE | CMD_STALE | CMD_NO_MANDATORY_KEYS | CMD_NOSCRIPT | CMD_SKIP_MONITOR, 0, 0, 0, "scripting", "Invokes a function.", "7.0.0",
     SCRIPTING},
    {"fcall_ro", sc_fcall_ro, -3, CMD_STALE | CMD_NO_MANDATORY_KEYS | CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_READONLY, 0, 0, 0, "scripting",
     "Invokes a read-only function.", "7.0.0", SCRIPTING},
    {"script|exists", sc_script_exists, -3, NOBAR | CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Determines whether server-side Lua scripts exist in the script cache.", "2.6.0",
     SCRIPTING},
    {"script|flush", sc_script_flush, -2, NOBAR | CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Removes all server-side Lua scripts from the script cache.", "2.6.0", SCRIPTING},
    {"script|help", sc_script_help, 2, NOBAR | CMD_STALE | CMD_LOADING, 0, 0, 0, "scripting",
     "Returns helpful text about the different subcommands.", "5.0.0", SCRIPTING},
    {"script|kill", sc_script_kill, 2, NOBAR | CMD_ALLOW_BUSY | CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Terminates a server-side Lua script during execution.", "2.6.0", SCRIPTING},
    {"script|load", sc_script_load, 3, NOBAR | CMD_STALE | CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Loads a server-side Lua script to the script cache.", "2.6.0", SCRIPTING},
    {"function|delete", sc_function_delete, 3, CMD_WRITE | CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Deletes a library and its functions.", "7.0.0", "@write @slow @scripting"},
    {"function|dump", sc_function_dump, 2, CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Dumps all libraries into a serialized binary payload.", "7.0.0", SCRIPTING},
    {"function|flush", sc_function_flush, -2, CMD_WRITE | CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Deletes all libraries and functions.", "7.0.0", "@write @slow @scripting"},
    {"function|help", sc_function_help, 2, NOBAR | CMD_STALE | CMD_LOADING, 0, 0, 0, "scripting",
     "Returns helpful text about the different subcommands.", "7.0.0", SCRIPTING},
    {"function|kill", sc_function_kill, 2, NOBAR | CMD_ALLOW_BUSY | CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Terminates a function during execution.", "7.0.0", SCRIPTING},
    {"function|list", sc_function_list, -2, CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Returns information about all libraries.", "7.0.0", SCRIPTING},
    {"function|load", sc_function_load, -3, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Creates a library.", "7.0.0", "@write @slow @scripting"},
    {"function|restore", sc_function_restore, -3, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, 0, 0, 0,
     "scripting", "Restores all libraries from a payload.", "7.0.0",
     "@write @slow @scripting"},
    {"function|stats", sc_function_stats, 2, CMD_ALLOW_BUSY | CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Returns information about a function during execution.", "7.0.0", SCRIPTING},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

void sc_reply_help(cmd_ctx *c, const char *const *lines, size_t n)
{
    reply_array(&c->r, (long)n + 1);
    size_t cl = strnlen(c->argv[0], c->lens[0]);
    char *name = kv_memdup(c->argv[0], cl);
    for (size_t i = 0; i < cl; i++)
        name[i] = (char)toupper((unsigned char)name[i]);
    kbuf head = KBUF_INIT;
    kbuf_printf(&head, "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", name);
    kv_free(name);
    reply_simple_len(&c->r, kbuf_data(&head), kbuf_len(&head));
    kbuf_free(&head);
    for (size_t i = 0; i < n; i++)
        reply_simple(&c->r, lines[i]);
}

/* Redis's scriptKill. */
void sc_kill(cmd_ctx *c, int is_eval)
{
    parked *p = sc_parked;
    if (!p) {
        reply_error(&c->r, "NOTBUSY No scripts in execution right now.");
        return;
    }
    if (p->rc.flags & RUN_WRITE_DIRTY) {
        reply_error(&c->r, "UNKILLABLE Sorry the script already executed write commands against "
                           "the dataset. You can either wait the script termination or kill the "
                           "server in a hard way using the SHUTDOWN NOSAVE command.");
        return;
    }
    if (is_eval && !(p->rc.flags & RUN_EVAL_MODE)) {
        reply_error(&c->r, SC_BUSY_FUNCTION);
        return;
    }
    if (!is_eval && (p->rc.flags & RUN_EVAL_MODE)) {
        reply_error(&c->r, SC_BUSY_EVAL);
        return;
    }
    p->rc.killed = 1;
    reply_ok(&c->r);
}
