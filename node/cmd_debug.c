/* cmd_debug.c — DEBUG subcommands. */
#include "server.h"

#include "reply.h"

#include <string.h>

static void debug_digest(cmd_ctx *c)
{
    char d[41];
    ks_digest(c->k, d);
    reply_simple(&c->r, d);
}

typedef struct debug_sub {
    const char *name;
    int argc; /* exact, or -N for at least N (including DEBUG and the name) */
    void (*fn)(cmd_ctx *c);
} debug_sub;

static const debug_sub subs[] = {
    {"digest", 2, debug_digest},
};

static void cmd_debug(cmd_ctx *c)
{
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        if (!arg_is(c, 1, subs[i].name))
            continue;
        int ok = subs[i].argc >= 0 ? c->argc == subs[i].argc : c->argc >= -subs[i].argc;
        if (!ok) {
            reply_err_subcommand_syntax(&c->r, "debug", 5, c->argv[1], c->lens[1]);
            return;
        }
        subs[i].fn(c);
        return;
    }
    reply_err_unknown_subcommand(&c->r, "DEBUG", 5, c->argv[1], c->lens[1]);
}

const kv_command cmds_debug[] = {
    {"debug", cmd_debug, -2, CMD_ADMIN | CMD_READONLY, 0, 0, 0, "server",
     "A container for debugging commands.", "1.0.0", "@admin @slow @dangerous"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
