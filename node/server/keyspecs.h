/* keyspecs.h — Redis 7.0's key specifications: where each command's keys
 * are and what it does with them, as COMMAND INFO shows them and COMMAND
 * GETKEYSANDFLAGS applies them. The table (keyspecs_table.c) is generated
 * from Redis's command definitions by scripts/gen_keyspecs.py. */
#ifndef KV_KEYSPECS_H
#define KV_KEYSPECS_H

#include "reply.h"

#include <stddef.h>

/* Flags, in the order Redis names them (keyspec_reply_flags). */
enum {
    KSF_RO = 1 << 0,
    KSF_RW = 1 << 1,
    KSF_OW = 1 << 2,
    KSF_RM = 1 << 3,
    KSF_ACCESS = 1 << 4,
    KSF_UPDATE = 1 << 5,
    KSF_INSERT = 1 << 6,
    KSF_DELETE = 1 << 7,
    KSF_NOT_KEY = 1 << 8,
    KSF_INCOMPLETE = 1 << 9,
    KSF_VARIABLE_FLAGS = 1 << 10,
};

enum { KSB_UNKNOWN, KSB_INDEX, KSB_KEYWORD };
enum { KSK_UNKNOWN, KSK_RANGE, KSK_KEYNUM };

typedef struct key_spec {
    unsigned flags;
    const char *notes; /* or NULL */
    /* begin_search: the key's index, or the argument after `keyword`
     * searched from `startfrom` (negative: backwards from the end). */
    int bs_type;
    int bs_index;
    const char *bs_keyword;
    int bs_startfrom;
    /* find_keys: range (lastkey, keystep, limit) or keynum (keynumidx,
     * firstkey, keystep). */
    int fk_type;
    int fk_a, fk_b, fk_c;
} key_spec;

typedef struct keyspec_cmd {
    const char *name; /* lower case; "container|sub" for a subcommand */
    const key_spec *specs;
    int n;
} keyspec_cmd;

extern const keyspec_cmd keyspec_cmds[];
extern const int keyspec_ncmds;

/* The index of `name` (any case) in a table of n structs `stride` bytes
 * apart whose first member is a lowercase name, sorted by it (strcmp); -1
 * when absent. For the generated tables (this one, cmddocs_table.c). */
int name_table_find(const void *table, int n, size_t stride, const char *name);

/* The specs of a command or subcommand (name in any case, "object|encoding"
 * for a subcommand), or NULL when it has none. */
const keyspec_cmd *keyspec_find(const char *name);

/* A set of Redis's flag names ("RO", "access" …) as simple strings. */
void keyspec_reply_flags(reply *r, unsigned flags);

/* Redis's getKeysUsingKeySpecs: the positions (into argv, the command name
 * at 0) and flags of the keys the specs find, up to max of them. Returns
 * how many, or -1 when a spec cannot tell (unknown, incomplete, or out of
 * the arguments given). Specs marked NOT_KEY are skipped. */
int keyspec_keys(const keyspec_cmd *kc, int argc, const char *const *argv, const size_t *lens,
                 int *pos, unsigned *flags, int max);

#endif
