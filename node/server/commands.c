/* commands.c — the command table: every cmd_*.c file contributes a
 * NULL-terminated array of kv_command; lookup is case-insensitive.
 *
 * Subcommands (Redis 7's "container" commands such as CLIENT or CONFIG):
 * an entry named "<container>|<sub>" is a subcommand of the entry named
 * <container>, whose proc is command_container. Clients cannot call a
 * subcommand by its full name (command_lookup refuses names with '|'); the
 * container dispatches argv[1] to it, checks its arity, and keeps its own
 * statistics, as Redis does ("cmdstat_client|list"). */
#include "server.h"

#include "dict.h"
#include "mem.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

extern const kv_command cmds_conn[];
extern const kv_command cmds_multi[];
extern const kv_command cmds_string[];
extern const kv_command cmds_debug[];
extern const kv_command cmds_keys[];
extern const kv_command cmds_repl[];
extern const kv_command cmds_list[];
extern const kv_command cmds_hash[];
extern const kv_command cmds_set[];
extern const kv_command cmds_zset[];
extern const kv_command cmds_stream[];
extern const kv_command cmds_server[];
extern const kv_command cmds_client[];
extern const kv_command cmds_config[];
extern const kv_command cmds_command[];
extern const kv_command cmds_info[];
extern const kv_command cmds_pubsub[];
extern const kv_command cmds_bitmap[];
extern const kv_command cmds_hll[];
extern const kv_command cmds_sentinel[];
extern const kv_command cmds_dump[];
extern const kv_command cmds_migrate[];
extern const kv_command cmds_sort[];
extern const kv_command cmds_lcs[];
extern const kv_command cmds_memory[];
extern const kv_command cmds_cluster[];
extern const kv_command cmds_geo[];
extern const kv_command cmds_latency[];
extern const kv_command cmds_monitor[];
extern const kv_command cmds_sync[];
extern const kv_command cmds_script[];
extern const kv_command cmds_script_containers[];
extern const kv_command cmds_script_debug[];
extern const kv_command cmds_lolwut[];
extern const kv_command cmds_acl[];

/* Containers whose subcommands are data commands (commands/): OBJECT's in
 * cmd_keys.c, XINFO's and XGROUP's in cmd_stream.c. */
static const kv_command cmds_data_containers[] = {
    {"object", command_container, -2, 0, 0, 0, 0, "generic",
     "A container for object introspection commands", "2.2.3", "@slow"},
    {"xinfo", command_container, -2, 0, 0, 0, 0, "stream",
     "A container for stream introspection commands", "5.0.0", "@slow"},
    {"xgroup", command_container, -2, 0, 0, 0, 0, "stream",
     "A container for consumer groups commands", "5.0.0", "@slow"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

static const kv_command *const tables[] = {
    cmds_conn,
    cmds_multi,
    cmds_string,
    cmds_debug,
    cmds_keys,
    cmds_repl,
    cmds_list,
    cmds_hash,
    cmds_set,
    cmds_zset,
    cmds_stream,
    cmds_server,
    cmds_client,
    cmds_config,
    cmds_command,
    cmds_info,
    cmds_pubsub,
    cmds_bitmap,
    cmds_hll,
    cmds_sentinel,
    cmds_dump,
    cmds_migrate,
    cmds_sort,
    cmds_lcs,
    cmds_memory,
    cmds_cluster,
    cmds_geo,
    cmds_latency,
    cmds_monitor,
    cmds_sync,
    cmds_script_containers,
    cmds_script,
    cmds_script_debug,
    cmds_data_containers,
    cmds_lolwut,
    cmds_acl,
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
/* Containers (entries with subcommands), found once at init. */
static const kv_command *containers[32];
static int ncontainers;

/* Per-command facts asked on every call (command_index, and whether it is
 * a container) without walking the tables: a table addressed by the
 * command's position in memory (entries are array elements, so their
 * addresses divided by the entry size are distinct within a table), each
 * slot holding the one command that owns it; a command whose slot another
 * took is looked up the slow way. */
#define FAST_SLOTS 1024
typedef struct fast_slot {
    const kv_command *cmd;
    int index;
    int container;
} fast_slot;
static fast_slot fast[FAST_SLOTS];

static inline fast_slot *fast_of(const kv_command *cmd)
{
    return &fast[((uintptr_t)cmd / sizeof *cmd) & (FAST_SLOTS - 1)];
}

static int index_slow(const kv_command *cmd);
static int is_container_slow(const kv_command *cmd);

static cmd_node *find(const char *name, size_t len);

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
    for (int i = 0; i < ncommands; i++) {
        const char *bar = strchr(by_index[i]->name, '|');
        if (!bar)
            continue;
        cmd_node *n = find(by_index[i]->name, (size_t)(bar - by_index[i]->name));
        if (n && !is_container_slow(n->cmd) &&
            ncontainers < (int)(sizeof containers / sizeof *containers))
            containers[ncontainers++] = n->cmd;
    }
    for (int i = 0; i < ncommands; i++) {
        fast_slot *f = fast_of(by_index[i]);
        if (!f->cmd)
            *f = (fast_slot){by_index[i], index_slow(by_index[i]), is_container_slow(by_index[i])};
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
    if (memchr(name, '|', len))
        return NULL;
    cmd_node *n = find(name, len);
    return n ? n->cmd : NULL;
}

const kv_command *command_lookup_full(const char *name, size_t len)
{
    const char *bar = memchr(name, '|', len);
    if (bar && memchr(bar + 1, '|', len - (size_t)(bar + 1 - name)))
        return NULL;
    cmd_node *n = find(name, len);
    return n ? n->cmd : NULL;
}

const kv_command *command_lookup_sub(const kv_command *container, const char *sub, size_t len)
{
    char full[64];
    size_t cl = strlen(container->name);
    if (cl + 1 + len >= sizeof full || memchr(sub, '|', len))
        return NULL;
    memcpy(full, container->name, cl);
    full[cl] = '|';
    memcpy(full + cl + 1, sub, len);
    cmd_node *n = find(full, cl + 1 + len);
    return n ? n->cmd : NULL;
}

int command_is_sub(const kv_command *cmd)
{
    return strchr(cmd->name, '|') != NULL;
}

int command_subs(const kv_command *container, const kv_command **out, int max)
{
    size_t cl = strlen(container->name);
    int n = 0;
    for (int i = 0; i < ncommands; i++) {
        const kv_command *c = by_index[i];
        if (!strncmp(c->name, container->name, cl) && c->name[cl] == '|') {
            if (n < max)
                out[n] = c;
            n++;
        }
    }
    return n;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int command_is_container(const kv_command *cmd)
{
    const fast_slot *f = fast_of(cmd);
    return f->cmd == cmd ? f->container : is_container_slow(cmd);
}

static int is_container_slow(const kv_command *cmd)
{
    for (int i = 0; i < ncontainers; i++)
        if (containers[i] == cmd)
            return 1;
    return 0;
}

/* Find and check the subcommand of a container call: NULL after replying
 * the error (an arity error counts as a rejected call of the subcommand). */
static const kv_command *sub_for_call(const kv_command *container, int argc,
                                      const char *const *argv, const size_t *lens, reply *r,
                                      cmd_stat *stats)
{
    const kv_command *sub = command_lookup_sub(container, argv[1], lens[1]);
    if (!sub) {
        reply_err_unknown_subcommand(r, argv[0], lens[0], argv[1], lens[1]);
        return NULL;
    }
    if ((sub->arity > 0 && argc != sub->arity) || (sub->arity < 0 && argc < -sub->arity)) {
        reply_err_arity(r, sub->name);
        if (stats)
            stats[command_index(sub)].rejected++;
        return NULL;
    }
    return sub;
}

int command_check_sub(const kv_command *cmd, int argc, const char *const *argv,
                      const size_t *lens, reply *r, cmd_stat *stats)
{
    return sub_for_call(cmd, argc, argv, lens, r, stats) ? 0 : -1;
}

void command_container(cmd_ctx *c)
{
    server *s = c->srv;
    const kv_command *container = c->cmd;
    /* No statistics on a server without them (replay in a bare test server). */
    cmd_stat *stats = s ? s->cmd_stats : NULL;
    cmd_stat *cst = stats ? &stats[command_index(container)] : NULL;
    const kv_command *sub = sub_for_call(container, c->argc, c->argv, c->lens, &c->r, stats);
    if (!sub) {
        /* The caller counts this call and its error for the container:
         * take them back, Redis counts neither (the error is counted). */
        if (cst) {
            cst->calls--;
            cst->failed--;
        }
        return;
    }
    if (c->cl)
        c->cl->last_cmd = sub->name;
    c->cmd = sub;
    size_t before = kbuf_len(c->r.out);
    int64_t t0 = mono_us();
    sub->proc(c);
    int64_t dur = mono_us() - t0;
    c->cmd = container;
    if (!cst)
        return;
    /* The subcommand's statistics; the caller adds this call to the
     * container's, which must show only calls of the container itself
     * (COMMAND with no subcommand): take them back beforehand. The
     * counters are unsigned, so a CONFIG RESETSTAT in between nets out. */
    int failed = kbuf_len(c->r.out) > before && kbuf_data(c->r.out)[before] == '-';
    cmd_stat *st = &s->cmd_stats[command_index(sub)];
    st->calls++;
    st->usec += (uint64_t)dur;
    st->failed += (uint64_t)failed;
    cst->calls--;
    cst->usec -= (uint64_t)dur;
    cst->failed -= (uint64_t)failed;
}

int command_index(const kv_command *cmd)
{
    const fast_slot *f = fast_of(cmd);
    return f->cmd == cmd ? f->index : index_slow(cmd);
}

static int index_slow(const kv_command *cmd)
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
