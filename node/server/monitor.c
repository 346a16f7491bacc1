/* monitor.c — MONITOR: a client that sees every command the node runs, as
 * Redis 7.0 shows them.
 *
 * A monitor gets one status line per command:
 *   +<unix seconds>.<microseconds> [<db> <client address>] "arg" "arg" …
 * (the address is "lua" for a script's calls and "unix:<socket path>" for
 * a Unix-socket client; arguments are quoted as Redis's sdscatrepr quotes
 * them). As in Redis 7.0's call(), a command is shown after it ran, in the
 * database it ended in, whether it failed or not; not when it was refused
 * before running (unknown, arity, NOAUTH …), not the admin commands
 * (CONFIG …, DEBUG, MONITOR) and not a blocked command again when it is
 * served. The script commands (EVAL, EVALSHA, FCALL and their _RO forms,
 * flagged skip_monitor) are shown before they run, so that their scripts'
 * calls follow them. A transaction shows MULTI, its commands as EXEC runs
 * them, then EXEC. Passwords are shown as "(redacted)": AUTH's arguments,
 * HELLO's after AUTH, MIGRATE's after AUTH and AUTH2.
 *
 * Lines travel as Pub/Sub messages do (pubsub_push_begin): after the
 * reply of a monitor's own command, and behind the reply barrier, so a
 * monitor never sees a write before it is committed. A replica shows
 * nothing of what it applies from its primary (only its own clients'
 * commands), and neither does recovery. RESET or closing the connection
 * ends monitoring. */
#include "mem.h"
#include "server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

static void add_monitor(server *s, client *c)
{
    if (s->nmonitors == s->capmonitors) {
        s->capmonitors = s->capmonitors ? s->capmonitors * 2 : 4;
        s->monitors = kv_realloc(s->monitors, s->capmonitors * sizeof *s->monitors);
    }
    s->monitors[s->nmonitors++] = c;
    c->flags |= CL_MONITOR;
}

void monitor_forget(client *c)
{
    if (!(c->flags & CL_MONITOR))
        return;
    server *s = c->srv;
    for (size_t i = 0; i < s->nmonitors; i++) {
        if (s->monitors[i] == c) {
            memmove(&s->monitors[i], &s->monitors[i + 1],
                    (s->nmonitors - i - 1) * sizeof *s->monitors);
            s->nmonitors--;
            break;
        }
    }
    c->flags &= ~CL_MONITOR;
}

static int word_is(const char *a, size_t len, const char *word)
{
    return len == strlen(word) && strncasecmp(a, word, len) == 0;
}

void command_redact(const kv_command *cmd, int argc, const char *const *argv, const size_t *lens,
                    char *red)
{
    if (!strcmp(cmd->name, "acl") && argc > 2 && word_is(argv[1], lens[1], "setuser")) {
        /* The user's name and rules (passwords among them). */
        for (int j = 2; j < argc; j++)
            red[j] = 1;
    } else if (!strcmp(cmd->name, "config") && argc > 3 && word_is(argv[1], lens[1], "set")) {
        /* The values of Redis's SENSITIVE_CONFIG options. */
        for (int j = 2; j + 1 < argc; j += 2)
            if (word_is(argv[j], lens[j], "requirepass") ||
                word_is(argv[j], lens[j], "masterauth") || word_is(argv[j], lens[j], "masteruser"))
                red[j + 1] = 1;
    } else if (!strcmp(cmd->name, "auth")) {
        for (int j = 1; j < argc; j++)
            red[j] = 1;
    } else if (!strcmp(cmd->name, "hello")) {
        /* helloCommand's option loop: AUTH user pass, SETNAME name. */
        for (int j = 2; j < argc; j++) {
            int more = argc - 1 - j;
            if (word_is(argv[j], lens[j], "auth") && more >= 2) {
                red[j + 1] = red[j + 2] = 1;
                j += 2;
            } else if (word_is(argv[j], lens[j], "setname") && more >= 1) {
                j++;
            } else {
                break;
            }
        }
    } else if (!strcmp(cmd->name, "migrate")) {
        /* migrateCommand's option loop. */
        for (int j = 6; j < argc; j++) {
            int more = argc - 1 - j;
            if (word_is(argv[j], lens[j], "copy") || word_is(argv[j], lens[j], "replace")) {
                continue;
            } else if (word_is(argv[j], lens[j], "auth") && more >= 1) {
                red[++j] = 1;
            } else if (word_is(argv[j], lens[j], "auth2") && more >= 2) {
                red[j + 1] = red[j + 2] = 1;
                j += 2;
            } else {
                break; /* KEYS (the rest are keys) or a syntax error */
            }
        }
    }
}

void monitor_feed(server *s, client *from, int lua, int db, const kv_command *cmd, int argc,
                  const char *const *argv, const size_t *lens)
{
    if (!s->nmonitors || s->loading)
        return;
    kbuf line;
    kbuf_init(&line);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    kbuf_printf(&line, "+%ld.%06ld ", (long)tv.tv_sec, (long)tv.tv_usec);
    if (lua || !from)
        kbuf_printf(&line, "[%d lua] ", db);
    else if (from->addr[0] == '/')
        kbuf_printf(&line, "[%d unix:%s] ", db, s->cfg.unixsocket ? s->cfg.unixsocket : "");
    else
        kbuf_printf(&line, "[%d %s] ", db, from->addr);
    char red_small[16] = {0};
    char *red = argc <= (int)sizeof red_small ? red_small : kv_calloc((size_t)argc, 1);
    command_redact(cmd, argc, argv, lens, red);
    for (int j = 0; j < argc; j++) {
        if (j)
            kbuf_append(&line, " ", 1);
        if (red[j])
            kbuf_append(&line, "\"(redacted)\"", 12);
        else
            kbuf_append_repr(&line, argv[j], lens[j]);
    }
    if (red != red_small)
        kv_free(red);
    kbuf_append(&line, "\r\n", 2);
    for (size_t i = 0; i < s->nmonitors; i++) {
        client *m = s->monitors[i];
        reply r;
        if (!pubsub_push_begin(s, m, &r))
            continue;
        kbuf_append(r.out, kbuf_data(&line), kbuf_len(&line));
        pubsub_push_end(s, m, &r);
    }
    kbuf_free(&line);
}

int monitor_shows(const kv_command *cmd, int argc, const char *const *argv, const size_t *lens)
{
    if (argc > 1 && command_is_container(cmd)) {
        const kv_command *sub = command_lookup_sub(cmd, argv[1], lens[1]);
        if (sub)
            cmd = sub;
    }
    return !(cmd->flags & (CMD_ADMIN | CMD_SKIP_MONITOR));
}

static void cmd_monitor(cmd_ctx *c)
{
    client *cl = c->cl;
    /* A client that must get one reply per command (inside EXEC) cannot
     * turn into a stream of lines. */
    if (!cl || c->deny_blocking) {
        reply_error(&c->r, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    /* Already monitoring: ignored, with no reply (Redis). */
    if (cl->flags & CL_MONITOR)
        return;
    add_monitor(c->srv, cl);
    reply_ok(&c->r);
}

const kv_command cmds_monitor[] = {
    {"monitor", cmd_monitor, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOBARRIER,
     0, 0, 0, "server", "Listens for all requests received by the server in real-time.", "1.0.0",
     "@admin @slow @dangerous"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
