/* commands.c — the command table: every cmd_*.c file contributes a
 * NULL-terminated array of kv_command; lookup is case-insensitive. */
#include "server.h"

#include "dict.h"
#include "mem.h"

#include <ctype.h>
#include <string.h>

extern const kv_command cmds_conn[];
extern const kv_command cmds_multi[];
extern const kv_command cmds_string[];
extern const kv_command cmds_debug[];
extern const kv_command cmds_keys[];
extern const kv_command cmds_repl[];
extern const kv_command cmds_list[];
extern const kv_command cmds_hash[];

static const kv_command *const tables[] = {
    cmds_conn,
    cmds_multi,
    cmds_string,
    cmds_debug,
    cmds_keys,
    cmds_repl,
    cmds_list,
    cmds_hash,
};

#define NTABLES (sizeof tables / sizeof *tables)
static int table_len[NTABLES];

typedef struct cmd_node {
    dict_node dn;
    const kv_command *cmd;
    int index;
    size_t nlen;
} cmd_node;

static void cmd_key_of(const dict_node *n, const void **key, size_t *len)
{
    const cmd_node *c = (const cmd_node *)n;
    *key = c->cmd->name;
    *len = c->nlen;
}

static const dict_type cmd_dict_type = {cmd_key_of};
static dict table;
static const kv_command **by_index;
static int ncommands;

void commands_init(void)
{
    if (ncommands)
        return;
    dict_init(&table, &cmd_dict_type);
    int total = 0;
    for (size_t t = 0; t < NTABLES; t++)
        for (const kv_command *c = tables[t]; c->name; c++, table_len[t]++)
            total++;
    by_index = kv_malloc((size_t)total * sizeof *by_index);
    for (size_t t = 0; t < NTABLES; t++) {
        for (const kv_command *c = tables[t]; c->name; c++) {
            cmd_node *n = kv_calloc(1, sizeof *n);
            n->cmd = c;
            n->nlen = strlen(c->name);
            n->index = ncommands;
            by_index[ncommands++] = c;
            dict_add(&table, &n->dn);
        }
    }
}

static cmd_node *find(const char *name, size_t len)
{
    char low[64];
    if (len >= sizeof low)
        return NULL;
    for (size_t i = 0; i < len; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    return (cmd_node *)dict_find(&table, low, len);
}

const kv_command *command_lookup(const char *name, size_t len)
{
    cmd_node *n = find(name, len);
    return n ? n->cmd : NULL;
}

int command_index(const kv_command *cmd)
{
    /* Tables are arrays: find the one holding cmd by address. */
    int base = 0;
    for (size_t t = 0; t < NTABLES; t++) {
        const kv_command *c = tables[t];
        if (cmd >= c && cmd < c + table_len[t])
            return base + (int)(cmd - c);
        base += table_len[t];
    }
    return 0;
}

int command_count(void)
{
    return ncommands;
}

const kv_command *command_at(int i)
{
    return i >= 0 && i < ncommands ? by_index[i] : NULL;
}
