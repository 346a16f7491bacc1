/* kvcli_split.c — splits an interactive line into arguments with
 * redis-cli's quoting rules (sds's sdssplitargs). */
#include <stdlib.h>
#include <string.h>

#include "kvcli.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Read one argument starting at *pp into cur. Returns 0, or -1 on bad
 * quoting. */
static int read_token(const char **pp, cli_str *cur)
{
    const char *p = *pp;
    int inq = 0, insq = 0;
    for (;;) {
        if (inq) {
            if (p[0] == '\\' && p[1] == 'x' && hex_val(p[2]) >= 0 && hex_val(p[3]) >= 0) {
                char byte = (char)(hex_val(p[2]) * 16 + hex_val(p[3]));
                cli_str_cat(cur, &byte, 1);
                p += 4;
                continue;
            }
            if (p[0] == '\\' && p[1]) {
                char c;
                switch (p[1]) {
                case 'n': c = '\n'; break;
                case 'r': c = '\r'; break;
                case 't': c = '\t'; break;
                case 'b': c = '\b'; break;
                case 'a': c = '\a'; break;
                default: c = p[1]; break;
                }
                cli_str_cat(cur, &c, 1);
                p += 2;
                continue;
            }
            if (p[0] == '"') {
                if (p[1] && !is_space(p[1]))
                    return -1;
                p++;
                break;
            }
            if (p[0] == '\0')
                return -1;
            cli_str_cat(cur, p, 1);
            p++;
        } else if (insq) {
            if (p[0] == '\\' && p[1] == '\'') {
                cli_str_cat(cur, "'", 1);
                p += 2;
                continue;
            }
            if (p[0] == '\'') {
                if (p[1] && !is_space(p[1]))
                    return -1;
                p++;
                break;
            }
            if (p[0] == '\0')
                return -1;
            cli_str_cat(cur, p, 1);
            p++;
        } else {
            if (p[0] == '\0' || is_space(p[0]))
                break;
            if (p[0] == '"')
                inq = 1;
            else if (p[0] == '\'')
                insq = 1;
            else
                cli_str_cat(cur, p, 1);
            p++;
        }
    }
    *pp = p;
    return 0;
}

int cli_split(const char *line, int *argc_out, char ***argv_out, size_t **argvlen_out)
{
    int argc = 0, cap = 0;
    char **argv = NULL;
    size_t *lens = NULL;
    const char *p = line;
    for (;;) {
        while (*p && is_space(*p))
            p++;
        if (*p == '\0')
            break;
        cli_str cur = {0};
        cli_str_cat(&cur, "", 0);
        if (read_token(&p, &cur) < 0) {
            cli_str_free(&cur);
            cli_split_free(argc, argv, lens);
            return -1;
        }
        if (argc == cap) {
            cap = cap ? cap * 2 : 8;
            char **na = realloc(argv, (size_t)cap * sizeof *na);
            size_t *nl = na ? realloc(lens, (size_t)cap * sizeof *nl) : NULL;
            if (na == NULL || nl == NULL) {
                abort();
            }
            argv = na;
            lens = nl;
        }
        argv[argc] = cur.p;
        lens[argc] = cur.len;
        argc++;
    }
    *argc_out = argc;
    *argv_out = argv;
    *argvlen_out = lens;
    return 0;
}

void cli_split_free(int argc, char **argv, size_t *argvlen)
{
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
    free(argvlen);
}
