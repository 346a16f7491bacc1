/* kvcli.h — the parts of kvcli that are pure functions (reply formatting
 * and command-line splitting), kept apart from main so tests can call them.
 * Uses only the public client API. */
#ifndef KVCLI_H
#define KVCLI_H

#include <stddef.h>

#include "kvclient.h"

/* A growable output string. Functions abort on allocation failure (kvcli is
 * a command-line tool: there is nothing sensible left to print). */
typedef struct cli_str {
    char *p;
    size_t len;
    size_t cap;
} cli_str;

void cli_str_cat(cli_str *s, const char *p, size_t n);
void cli_str_cats(cli_str *s, const char *p);
void cli_str_printf(cli_str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_str_free(cli_str *s);

/* Append p[0..n) quoted as redis-cli (sds's sdscatrepr) does: "..." with
 * \\ \" \n \r \t \a \b escaped and other non-printable bytes as \xHH. */
void cli_repr(cli_str *out, const char *p, size_t n);

/* Append the reply as redis-cli prints it on a terminal: (integer) 1,
 * "bar", (nil), (error) ERR ..., numbered and indented nested aggregates.
 * prefix is the indentation of nested lines (pass ""). */
void cli_format_tty(cli_str *out, const kv_reply *r, const char *prefix);

/* Append the reply as redis-cli prints it when stdout is not a terminal
 * (or with --raw): bare strings, aggregates one element per line. The
 * caller appends the final newline. */
void cli_format_raw(cli_str *out, const kv_reply *r);

/* Split a line into arguments the way redis-cli does: blanks separate;
 * "..." understands \n \r \t \b \a \xHH and \<char>; '...' understands \'.
 * A closing quote must be followed by a blank or the end. On success
 * returns 0 and sets *argc, *argv and *argvlen (binary-safe lengths), to be
 * freed with cli_split_free(); returns -1 for unbalanced quotes. An empty
 * line gives argc 0. */
int cli_split(const char *line, int *argc, char ***argv, size_t **argvlen);
void cli_split_free(int argc, char **argv, size_t *argvlen);

#endif
