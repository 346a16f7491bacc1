/* cmddocs.c — lookups in the generated documentation table (cmddocs.h). */
#include "cmddocs.h"

#include "keyspecs.h"

const cmd_doc *cmddoc_find(const char *name)
{
    int i = name_table_find(cmd_docs, cmd_ndocs, sizeof *cmd_docs, name);
    return i < 0 ? NULL : &cmd_docs[i];
}

const char *cmddoc_arg_type(int type)
{
    static const char *const names[] = {"string",  "integer",    "double", "key",  "pattern",
                                        "unix-time", "pure-token", "oneof",  "block"};
    return type >= 0 && type < (int)(sizeof names / sizeof *names) ? names[type] : "string";
}
