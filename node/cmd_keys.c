/* cmd_keys.c — commands on whole keys. */
#include "cmd.h"

#include "reply.h"

#include <string.h>

/* DEL / UNLINK key [key ...]: the number of keys removed. */
static void cmd_del(cmd_ctx *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        n += db_delete(c, c->argv[i], c->lens[i]);
    reply_int(&c->r, n);
}

/* EXISTS key [key ...]: counts repeated keys repeatedly, as Redis. */
static void cmd_exists(cmd_ctx *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        n += db_read(c, c->argv[i], c->lens[i]) != NULL;
    reply_int(&c->r, n);
}

const kv_command cmds_keys[] = {
    {"del", cmd_del, -2, CMD_WRITE, 1, -1, 1, "generic", "Deletes one or more keys.", "1.0.0",
     "@keyspace @write @slow"},
    {"unlink", cmd_del, -2, CMD_WRITE | CMD_FAST, 1, -1, 1, "generic",
     "Asynchronously deletes one or more keys.", "4.0.0", "@keyspace @write @fast"},
    {"exists", cmd_exists, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "generic",
     "Determines whether one or more keys exist.", "1.0.0", "@keyspace @read @fast"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
