/* cmddocs.h — Redis 7.0's documentation of each command beyond what the
 * command tables carry: complexity, doc flags, deprecation, history,
 * command tips and the argument tree, for COMMAND DOCS and COMMAND INFO.
 * The table (cmddocs_table.c) is generated from Redis's command
 * definitions by scripts/gen_cmddocs.py. */
#ifndef KV_CMDDOCS_H
#define KV_CMDDOCS_H

#include <stddef.h>

/* Argument types: index into Redis's names ("string" … "block"). */
enum {
    CAT_STRING, CAT_INTEGER, CAT_DOUBLE, CAT_KEY, CAT_PATTERN, CAT_UNIX_TIME,
    CAT_PURE_TOKEN, CAT_ONEOF, CAT_BLOCK
};
/* Argument flags, in the order Redis names them. */
enum { CAF_OPTIONAL = 1 << 0, CAF_MULTIPLE = 1 << 1, CAF_MULTIPLE_TOKEN = 1 << 2 };
/* Doc flags, in the order Redis names them. */
enum { CDF_DEPRECATED = 1 << 0, CDF_SYSCMD = 1 << 1 };

typedef struct cmd_arg {
    const char *name;
    int type;
    int key_spec_index; /* -1: none */
    const char *token, *summary, *since, *deprecated_since; /* or NULL */
    unsigned flags;
    const struct cmd_arg *subargs; /* oneof / block */
    int nsubargs;
} cmd_arg;

typedef struct cmd_history {
    const char *since, *changes;
} cmd_history;

typedef struct cmd_doc {
    const char *name; /* lowercase; "container|sub" for a subcommand */
    const char *summary, *since, *group; /* group as COMMAND DOCS names it */
    const char *complexity;
    unsigned doc_flags;
    const char *deprecated_since, *replaced_by;
    const cmd_history *history;
    int nhistory;
    const char *const *tips;
    int ntips;
    const cmd_arg *args;
    int nargs;
} cmd_doc;

extern const cmd_doc cmd_docs[];
extern const int cmd_ndocs;

/* The entry for a command's full name (any case), or NULL. */
const cmd_doc *cmddoc_find(const char *name);
/* Redis's name of an argument type. */
const char *cmddoc_arg_type(int type);

#endif
