/* cmddocs.c — lookups in the generated documentation table (cmddocs.h). */
#include "cmddocs.h"

#include <ctype.h>
#include <string.h>

const cmd_doc *cmddoc_find(const char *name)
{
    char low[128];
    size_t n = strlen(name);
    if (n >= sizeof low)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    int lo = 0, hi = cmd_ndocs - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(cmd_docs[mid].name, low);
        if (c == 0)
            return &cmd_docs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

const char *cmddoc_arg_type(int type)
{
    static const char *const names[] = {"string",  "integer",    "double", "key",  "pattern",
                                        "unix-time", "pure-token", "oneof",  "block"};
    return type >= 0 && type < (int)(sizeof names / sizeof *names) ? names[type] : "string";
}
