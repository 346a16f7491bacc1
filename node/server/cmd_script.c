/* cmd_script.c — the server's side of scripting (node/script/): the
 * SCRIPT and FUNCTION container entries (container dispatch is the
 * server's), and the script_host through which scripts run commands. */
#include "server.h"

#include "script.h"

static const kv_command *host_lookup(void *arg, int argc, const char *const *argv,
                                     const size_t *lens)
{
    (void)arg;
    const kv_command *cmd = command_lookup(argv[0], lens[0]);
    if (cmd && argc > 1 && command_is_container(cmd))
        return command_lookup_sub(cmd, argv[1], lens[1]);
    return cmd;
}

static const char *host_write_refusal(void *arg, cmd_ctx *caller, char *buf, size_t len)
{
    return dispatch_write_refusal(arg, caller->cl, buf, len);
}

static void host_exec(void *arg, cmd_ctx *caller, const kv_command *cmd, int argc,
                      const char *const *argv, const size_t *lens, kbuf *out, int resp,
                      int propagate)
{
    dispatch_script_exec(arg, caller, cmd, argc, argv, lens, out, resp, propagate);
}

static long long host_busy_ms(void *arg, cmd_ctx *caller)
{
    server *s = arg;
    /* Park only a client's own script: not inside EXEC (its block is one
     * entry), not on a replica (its primary's stream must go on applying
     * in order), and never with busy-reply-threshold 0. */
    if (!caller->cl || s->in_exec || s->env.replica || s->cfg.busy_reply_threshold <= 0)
        return -1;
    return s->cfg.busy_reply_threshold;
}

static int host_oom(void *arg, cmd_ctx *caller)
{
    server *s = arg;
    /* Never for what a replica applies or a replay: Redis's mustObeyClient. */
    return caller->cl && !caller->replay && !s->env.replica && s->env.maxmemory &&
           s->pre_command_oom;
}

static void host_rejected(void *arg, const kv_command *cmd, const char *err, size_t len)
{
    server *s = arg;
    if (cmd)
        s->cmd_stats[command_index(cmd)].rejected++;
    if (len && err[0] == '-')
        server_count_error(s, err, len);
    else
        server_count_error(s, "ERR", 3);
}

static const char *host_acl_denied(void *arg, cmd_ctx *caller, const kv_command *cmd, int argc,
                                   const char *const *argv, const size_t *lens, int log)
{
    server *s = arg;
    client *cl = caller->cl;
    if (!cl)
        return NULL; /* replay, a replica applying its primary's stream */
    int pos, r = log ? acl_check_client(cl, cmd, argc, argv, lens, ACL_CTX_LUA)
                     : acl_check(s, cl->user, cmd, argc, argv, lens, &pos);
    switch (r) {
    case ACL_OK:
        return NULL;
    case ACL_DENIED_CMD:
        return "can't run this command or subcommand";
    case ACL_DENIED_KEY:
        return "can't access at least one of the keys mentioned in the command arguments";
    case ACL_DENIED_CHANNEL:
        return "can't publish to the channel mentioned in the command";
    default:
        return "lacking the permissions for the command";
    }
}

static int host_ldb_wanted(void *arg, cmd_ctx *caller)
{
    return ldb_wanted(arg, caller);
}

static int host_ldb_start(void *arg, cmd_ctx *caller, script_ldb_io *io)
{
    return ldb_start(arg, caller, io);
}

static void host_ldb_end(void *arg, cmd_ctx *caller)
{
    ldb_end(arg, caller);
}

void scripting_init(server *s)
{
    script_host h = {.arg = s,
                     .lookup = host_lookup,
                     .write_refusal = host_write_refusal,
                     .exec = host_exec,
                     .busy_ms = host_busy_ms,
                     .oom = host_oom,
                     .rejected = host_rejected,
                     .acl_denied = host_acl_denied,
                     .ldb_wanted = host_ldb_wanted,
                     .ldb_start = host_ldb_start,
                     .ldb_end = host_ldb_end};
    script_init(&h);
}

const kv_command cmds_script_containers[] = {
    {"script", command_container, -2, 0, 0, 0, 0, "scripting",
     "A container for Lua scripts management commands.", "2.6.0", "@slow"},
    {"function", command_container, -2, 0, 0, 0, 0, "scripting",
     "A container for function commands.", "7.0.0", "@slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
